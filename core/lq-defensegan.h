/* lq-defensegan.h: the Defense-GAN purifier — search z to minimise ‖G(z) − x‖², keep the best.
 *
 * Per image: R restarts z₀ ~ N(0, σ²I) (σ² = 1/latent), each L steps of gradient descent with
 * TensorFlow's momentum (v ← m·v + ∇, z ← z − lr·v; lr 10, m 0.7, lr × 0.1 from step ⌈0.8 L⌉)
 * on the per-pixel mean squared error; the purified image is G(z) for the best z seen (best over
 * every step of every restart, so the best error never rises with L). All restarts of a chunk of
 * images run as one batch through G. z₀ of an image comes from the seed and a hash of its pixels:
 * a batch gives what each image gives alone, and the same image is purified the same way twice.
 */
#pragma once
#include <glib.h>
#include "lq-attack.h"
#include "lq-gan.h"
#include "lq-monitor.h"

G_BEGIN_DECLS

typedef struct {
  int steps;        /* L: 200 */
  int restarts;     /* R: 10 */
  float lr;         /* 10 */
  float momentum;   /* 0.7 */
  float decay;      /* 0.1: lr multiplier once decay_at of the steps are done */
  float decay_at;   /* 0.8 (1 = never) */
  float init_std;   /* σ of z₀; 0 means sqrt(1/latent), Defense-GAN's */
  guint64 seed;     /* 0 */
} LqGanSearch;

typedef struct {
  float *err;     /* [batch] best mean squared error per pixel */
  float *z;       /* [batch, latent] the z that gave it */
  float *trace;   /* [batch, steps + 1] best error after 0, 1, …, L steps */
} LqGanSearchStats; /* each array may be NULL */

LqGanSearch lq_gan_search_defaults (void);
gboolean    lq_gan_search_check (const LqGanSearch *p, GError **error);

/* out[batch, 784] in [0, 1] from x[batch, 784] in [0, 1]. Fails only on bad parameters or when
 * the monitor cancels (progress in gradient steps: batch · restarts · L in all). */
gboolean    lq_defensegan_purify (LqGan *gan, const LqGanSearch *p, const float *x, int batch,
                                  float *out, LqGanSearchStats *stats, const LqMonitor *monitor,
                                  GError **error);

/* classifier ∘ Defense-GAN purifier as an attack target (BPDA): the forward pass runs the whole
 * search; the backward pass takes the purifier as the identity (∂x̂/∂x ≈ I, Athalye et al.
 * 2018), i.e. the classifier's input-gradient at the purified image. Both borrowed; the search
 * parameters are copied and must pass lq_gan_search_check. Implemented in lq-target.c. */
LqTarget   *lq_target_new_defensegan (LqNet *classifier, LqGan *gan, const LqGanSearch *search);

G_END_DECLS

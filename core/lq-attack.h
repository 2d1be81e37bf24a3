/* lq-attack.h: the adversarial attacks of the seed, batched, cancellable, on the [0, 1] scale.
 *
 * An attack sees the model through an LqTarget: logits of a batch and the input-gradient of any
 * combination of them. A plain classifier is one target; classifier ∘ LQ-VAE purifier with the
 * quantizer's backward replaced (BPDA) is another; a substitute classifier gives black-box
 * transfer (attack the substitute, evaluate the result on the target).
 */
#pragma once
#include <glib.h>
#include "lq-monitor.h"
#include "lq-net.h"
#include "lq-vae.h"

G_BEGIN_DECLS

typedef struct _LqTarget LqTarget;
struct _LqTarget {
  int classes;     /* 10 */
  size_t in_size;  /* 784 */
  /* logits[batch, classes] of x[batch, in_size] in [0, 1]. */
  void (*forward) (LqTarget *t, const float *x, int batch, float *logits);
  /* dx = (∂logits/∂x)ᵀ dlogits for the inputs of the last forward (same batch). */
  void (*backward) (LqTarget *t, const float *dlogits, float *dx);
  /* The same for R cotangents at once, dlogits [R][batch][classes] → dx [R][batch][in_size];
   * NULL when the target has no faster way than R backwards (lq_target_backward_stacked). */
  void (*backward_stacked) (LqTarget *t, int R, const float *dlogits, float *dx);
  void (*finalize) (LqTarget *t);
};

/* R backwards through the last forward, by backward_stacked when the target has it. */
void lq_target_backward_stacked (LqTarget *t, int R, int batch, const float *dlogits, float *dx);

/* The classifier itself (borrowed; eval mode). */
LqTarget *lq_target_new_classifier (LqNet *classifier);

typedef enum {
  LQ_BPDA_SOFT,     /* backward of the quantizer through H̃(z) = softsign(500 (t² − z²)) */
  LQ_BPDA_IDENTITY, /* backward of the quantizer as the identity (straight through) */
} LqBpdaMode;

/* classifier ∘ g ∘ H ∘ mu, forward exact, the quantizer's backward replaced (both borrowed). */
LqTarget *lq_target_new_bpda (LqNet *classifier, LqVae *vae, LqBpdaMode mode);
/* The same from the nets: encoder [in] → [2·latent] (mu then logvar) on 2x − 1, decoder [latent] →
 * [classifier input] in [−1, 1], H(mu) = sign(t² − mu²) with sign(0) = +1 (for tests and for
 * purifiers built outside LqVae). */
LqTarget *lq_target_new_bpda_nets (LqNet *classifier, LqNet *encoder, LqNet *decoder, int latent,
                                   float threshold, LqBpdaMode mode);
void      lq_target_free (LqTarget *t);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqTarget, lq_target_free)

typedef enum {
  LQ_ATTACK_FGSM,
  LQ_ATTACK_BIM,       /* iterative FGSM */
  LQ_ATTACK_PGD,
  LQ_ATTACK_DEEPFOOL,
  LQ_ATTACK_CW,        /* Carlini–Wagner L2 */
} LqAttackKind;

typedef enum { LQ_NORM_LINF, LQ_NORM_L2 } LqNorm;

typedef struct {
  LqAttackKind kind;
  gboolean targeted;   /* labels passed to lq_attack_run are then the target classes */
  /* FGSM, BIM, PGD */
  float eps;           /* 0.3 */
  float step;          /* 0.01 */
  int steps;           /* 40 */
  gboolean random_start; /* PGD: TRUE */
  LqNorm norm;         /* PGD: L∞ or L2 */
  /* DeepFool */
  int max_iter;        /* 50 */
  float overshoot;     /* 0.02 */
  /* Carlini–Wagner L2 */
  int cw_search_steps; /* binary search steps */
  int cw_max_iter;
  float cw_lr;
  float cw_c0;         /* initial constant */
  float cw_kappa;      /* confidence */
  gboolean cw_abort_early;
  guint64 seed;        /* random start: image i starts from a generator seeded with seed and a
                        * hash of its pixels, so a batch gives the same images as each alone */
} LqAttackParams;

LqAttackParams lq_attack_defaults (LqAttackKind kind);
/* Sets the CW search steps, iterations, learning rate and initial constant (κ is kept):
 * "full" (9 × 1000, lr 0.01, c0 1e-3; the original runs 10 000 iterations per search step,
 * cut for time on 2 CPU cores), "defense-gan" (1 × 100, lr 10, c 100, as Defense-GAN evaluated
 * CW), "live" (2 × 100, lr 0.1, c0 1: under a second for one image on classifier A). */
gboolean       lq_attack_cw_preset (const char *name, LqAttackParams *params, GError **error);
gboolean       lq_attack_kind_from_string (const char *s, LqAttackKind *kind, GError **error);
const char    *lq_attack_kind_name (LqAttackKind kind); /* "fgsm", "bim", "pgd", "deepfool", "cw" */
gboolean       lq_attack_params_check (const LqAttackParams *p, GError **error);

typedef struct {
  gboolean *success;  /* [batch] prediction changed (untargeted) or equals target (targeted) */
  float *l2, *linf;   /* [batch] norms of adv − x on the [0, 1] scale */
  int *iterations;    /* [batch] gradient steps spent on the image: FGSM 1, BIM/PGD steps,
                       * DeepFool the updates until fooled, CW the Adam steps over all searches */
} LqAttackStats;      /* each array may be NULL */

/* adv[batch, in_size] from x with labels (true classes, or targets when targeted).
 * Never leaves [0, 1]; the eps ball is enforced for FGSM/BIM/PGD. */
gboolean lq_attack_run (const LqAttackParams *p, LqTarget *target, const float *x,
                        const guint8 *labels, int batch, float *adv, LqAttackStats *stats,
                        const LqMonitor *monitor, GError **error);

/* As lq_attack_run, with BIM/PGD starting from start[batch, in_size] (projected onto the eps ball
 * and [0, 1]) instead of x or a random point: fixed-start PGD for reference comparisons, or
 * resuming an attack. start may be NULL; other kinds ignore it. */
gboolean lq_attack_run_from (const LqAttackParams *p, LqTarget *target, const float *x,
                             const float *start, const guint8 *labels, int batch, float *adv,
                             LqAttackStats *stats, const LqMonitor *monitor, GError **error);

G_END_DECLS

/* lq-eval-cell.h: the evaluation loop of `lq eval`, shared by `lq eval --table` and `lq figure`.
 *
 * One attack runs once over the first images of the test split; any number of cells — each a
 * classifier, optionally behind a purifier (LQ-VAE or Defense-GAN), on its own prefix of the
 * images — are scored on the same adversarial images. So the No Defense, LQ-VAE and Defense-GAN
 * columns of a row pay for one attack, and a 500-image Defense-GAN cell finishes (and is reported
 * through on_done) long before its row's 10 000-image cells.
 */
#pragma once
#include <glib.h>
#include "lq-attack.h"
#include "lq-dataset.h"
#include "lq-defensegan.h"
#include "lq-models.h"
#include "lq-vae.h"

typedef struct {
  int n;
  int clean, purified, attacked, attacked_purified;
  double l2, linf, bits_flipped, attack_seconds, purify_seconds;
  double grad_norm;       /* sum over images of ‖∇_x Σ mu‖ on the [−1, 1] scale (the penalty's) */
  double noise_bits;      /* sum over images of the fraction of bits N(0, 0.05²) noise flips */
  double seconds;         /* this cell's share of the attack plus its own classify/purify time */
} LqEvalTotals;

typedef struct {
  LqClassifier *clf;       /* the classifier scored (borrowed) */
  LqVae *vae;              /* purifier: the LQ-VAE (borrowed), or */
  LqGan *gan;              /* Defense-GAN's generator (borrowed) with */
  LqGanSearch search;      /* its z search */
  int n;                   /* the first n images (≤ 0: all the caller loaded) */
  gboolean purify_clean;   /* also purify the clean images (purified accuracy) */
  gboolean latent_stats;   /* LQ-VAE: encoder gradient norm, noise and attack bit flips */
  /* Optional per-image outputs, [n] or [n, latent] (LQ-VAE cells with an attack). */
  float *bit_fractions;    /* fraction of latent bits the attack flipped */
  guint8 *adv_correct;     /* the adversarial image (purified, if the cell purifies) classified correctly */
  float *mu_clean, *mu_adv;/* codes of the clean and the adversarial image */
  LqEvalTotals totals;     /* out */
} LqEvalCell;

typedef void (*LqEvalCellDone) (LqEvalCell *cell, gpointer user_data);

/* Attacks target (NULL: no attack; ap is then ignored) with ap on the first max(cell n) images
 * of test, batch at a time, and scores every cell. on_done (optional) is called as soon as a
 * cell's images are all scored. Fails when the attack or the Defense-GAN search fails or the
 * monitor cancels; cells already reported stay valid. */
gboolean lq_eval_cells (const LqDataset *test, LqTarget *target, const LqAttackParams *ap,
                        LqEvalCell *const *cells, int n_cells, int batch, LqEvalCellDone on_done,
                        gpointer user_data, const LqMonitor *monitor, GError **error);

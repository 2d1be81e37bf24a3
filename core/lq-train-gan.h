/* lq-train-gan.h: WGAN-GP training of Defense-GAN's generator (Gulrajani et al. 2017, with
 * Defense-GAN's MNIST settings).
 *
 * One step = `critic_iters` (5) critic updates, then one generator update. A critic update, on a
 * real batch x and a fake batch G(z), z ~ N(0, I), with x̂ = x + α (G(z) − x), α ~ U[0, 1) per
 * image:
 *   L_D = mean D(G(z)) − mean D(x) + λ · mean_i (‖∇_x̂ D(x̂_i)‖ − 1)²,   λ = 10
 * (the penalty's weight gradient by exact double backprop, lq-penalty.c). A generator update:
 *   L_G = −mean D(G(z)).
 * Two Adams, lr 1e-4, β1 0.5, β2 0.9; batch 50 (their BATCH_SIZE). Batches, z and α are
 * functions of (seed, step) alone, so a run resumed from a checkpoint continues bit for bit.
 */
#pragma once
#include <glib.h>
#include "lq-dataset.h"
#include "lq-gan.h"
#include "lq-monitor.h"

G_BEGIN_DECLS

typedef struct {
  LqGanConfig gan;
  LqDataKind data;
  guint64 seed;
  int batch;          /* 50 */
  int critic_iters;   /* 5 */
  float lr;           /* 1e-4 */
  float beta1, beta2; /* 0.5, 0.9 */
  float gp_weight;    /* λ = 10 */
} LqGanTrainConfig;

typedef struct {
  guint64 step;       /* steps done after this one */
  float critic_loss;  /* L_D of the last critic update */
  float wasserstein;  /* mean D(x) − mean D(G(z)) of the last critic update (the W estimate) */
  float gp;           /* mean (‖∇D‖ − 1)² of the last critic update */
  float grad_norm;    /* mean ‖∇_x̂ D‖ */
  float gen_loss;     /* L_G */
} LqGanTrainStats;

typedef struct _LqGanTrainer LqGanTrainer;

LqGanTrainConfig lq_gan_train_config_default (LqDataKind data);
gboolean      lq_gan_train_config_check (const LqGanTrainConfig *cfg, GError **error);
/* train: the training split (borrowed; must outlive the trainer). The config must pass the check. */
LqGanTrainer *lq_gan_trainer_new (const LqGanTrainConfig *cfg, const LqDataset *train);
void          lq_gan_trainer_free (LqGanTrainer *t);
gboolean      lq_gan_trainer_step (LqGanTrainer *t, LqGanTrainStats *stats, GError **error);
guint64       lq_gan_trainer_steps (const LqGanTrainer *t);
LqGan        *lq_gan_trainer_gan (LqGanTrainer *t);      /* borrowed */
LqNet        *lq_gan_trainer_critic (LqGanTrainer *t);   /* borrowed */
const LqGanTrainConfig *lq_gan_trainer_config (const LqGanTrainer *t);
/* Checkpoint: generator, critic, both optimizers' state and the step, written atomically. */
gboolean      lq_gan_trainer_save (LqGanTrainer *t, const char *path, GHashTable *metadata,
                                   GError **error);
/* Replaces the trainer's state with a checkpoint's (same seed and shapes); a bad file changes
 * nothing. */
gboolean      lq_gan_trainer_resume (LqGanTrainer *t, const char *path, GError **error);

/* Steps until `total` steps are done, reporting (step, total) with the last stats as the status
 * text, and saving the checkpoint (when not NULL) every checkpoint_seconds and at the end. On
 * cancellation the checkpoint is saved first, then LQ_ERROR_CANCELLED is returned. */
gboolean      lq_train_gan (LqGanTrainer *t, guint64 total, const char *checkpoint,
                            double checkpoint_seconds, GHashTable *metadata,
                            const LqMonitor *monitor, GError **error);

/* The critic loss L_D on one batch (real, fake: [batch, 784]; alpha: [batch]); accumulates
 * ∂L_D/∂θ into the critic's gradients (the caller zeroes them). Returns FALSE only when the
 * critic is not piecewise linear. The outputs may be NULL. */
gboolean      lq_wgan_critic_loss (LqNet *critic, const float *real, const float *fake,
                                   const float *alpha, int batch, float gp_weight, float *loss,
                                   float *wasserstein, float *gp, float *grad_norm,
                                   GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqGanTrainer, lq_gan_trainer_free)

G_END_DECLS

/* lq-train-vae.h: Algorithm 1 of the seed — one training step of the LQ-VAE at a time.
 *
 * Per step, on a batch x ∈ [−1, 1]:
 *   (mu, logvar) = f(x); z = mu + t·0.5·exp(logvar/2)·ε; H̃ = softsign(500 (t² − z²)); H = sign(t² − z²)
 *   L_h = 10·MSE(x, h(H̃));  L_g = 10·MSE(x, g(H)) with H constant for g;
 *   L_f = KL/(latent·batch) + L_h + 10·GP,  GP = mean_i (K − ‖∇_x Σ_j mu_j(x_i)‖)²,  K = 0.1
 * θ (f) takes L_f, φ (g) takes L_g, ψ (h) takes L_h; three TF-style RMSProps, lr 3e-4 decayed by
 * 0.98^(step/10000), batch 64. Batches and noise are functions of (seed, step) alone, so a run
 * resumed from a checkpoint continues bit for bit.
 */
#pragma once
#include <glib.h>
#include "lq-dataset.h"
#include "lq-vae.h"

G_BEGIN_DECLS

typedef struct {
  LqVaeConfig vae;
  LqDataKind data;
  guint64 seed;
  int batch;          /* 64 */
  float lr;           /* 3e-4 */
  float decay_rate;   /* 0.98 */
  guint64 decay_steps;/* 10 000 */
  float rec_weight;   /* 10 */
  float gp_weight;    /* 10 */
  float gp_target;    /* K = 0.1 */
  float soft_scale;   /* 500 */
  /* FALSE (default): each step runs the two halves of its batch on two threads, each with its
   * own copy of the nets' buffers and single-threaded GEMMs (data parallelism; the same bits for
   * any thread count). TRUE: the whole batch at once, every GEMM on all threads. The two round
   * differently, so a checkpoint resumes bit-exactly only in the mode that wrote it. */
  gboolean whole_batch;
} LqVaeTrainConfig;

typedef struct {
  guint64 step;       /* steps done after this one */
  float kl, l_h, l_g, gp, grad_norm; /* KL is the scaled KL/(latent·batch) term */
} LqVaeTrainStats;

typedef struct _LqVaeTrainer LqVaeTrainer;

LqVaeTrainConfig lq_vae_train_config_default (LqDataKind data);
/* train: the training split (borrowed; must outlive the trainer). */
LqVaeTrainer *lq_vae_trainer_new (const LqVaeTrainConfig *cfg, const LqDataset *train);
void          lq_vae_trainer_free (LqVaeTrainer *t);
gboolean      lq_vae_trainer_step (LqVaeTrainer *t, LqVaeTrainStats *stats, GError **error);
guint64       lq_vae_trainer_steps (const LqVaeTrainer *t);
LqVae        *lq_vae_trainer_vae (LqVaeTrainer *t); /* borrowed */
const LqVaeTrainConfig *lq_vae_trainer_config (const LqVaeTrainer *t);
/* Checkpoint: all three nets, the optimizers' state and the step, written atomically. */
gboolean      lq_vae_trainer_save (LqVaeTrainer *t, const char *path, GHashTable *metadata,
                                   GError **error);
/* Replaces the trainer's state with a checkpoint's (config must match). */
gboolean      lq_vae_trainer_resume (LqVaeTrainer *t, const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqVaeTrainer, lq_vae_trainer_free)

G_END_DECLS

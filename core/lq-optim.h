/* lq-optim.h: first-order optimizers over a net's parameters.
 *
 * RMSProp comes in the two placements of epsilon people compare:
 *  - LQ_OPTIM_RMSPROP_TF (TensorFlow 1's tf.train.RMSPropOptimizer, used by the LQ-VAE reference
 *    code): ms ← ρ·ms + (1−ρ)·g², ms starts at 1, θ ← θ − lr·g / sqrt(ms + ε), ρ 0.9, ε 1e-10;
 *  - LQ_OPTIM_RMSPROP_TORCH (torch.optim.RMSprop): v ← α·v + (1−α)·g², v starts at 0,
 *    θ ← θ − lr·g / (sqrt(v) + ε), α 0.99, ε 1e-8.
 * Adam is PyTorch's (bias-corrected, ε outside the root); SGD has PyTorch's momentum buffer.
 */
#pragma once
#include <glib.h>
#include "lq-net.h"
#include "lq-safetensors.h"

G_BEGIN_DECLS

typedef enum {
  LQ_OPTIM_SGD,
  LQ_OPTIM_ADAM,
  LQ_OPTIM_RMSPROP_TF,
  LQ_OPTIM_RMSPROP_TORCH,
} LqOptimKind;

typedef struct {
  LqOptimKind kind;
  float lr;
  float momentum;  /* SGD */
  float beta1, beta2; /* Adam; beta2 doubles as RMSProp's decay ρ/α */
  float eps;
} LqOptimConfig;

typedef struct _LqOptim LqOptim;

/* A config with the kind's usual defaults and the given learning rate. */
LqOptimConfig lq_optim_defaults (LqOptimKind kind, float lr);
LqOptim *lq_optim_new (const LqOptimConfig *config, LqNet *net);
void     lq_optim_free (LqOptim *opt);
void     lq_optim_step (LqOptim *opt);
/* One step on the sum of the net's gradients and other's (a net of the same architecture: the
 * replica of a data-parallel step), added element by element as the update reads them. */
void     lq_optim_step_summed (LqOptim *opt, LqNet *other);
void     lq_optim_set_lr (LqOptim *opt, float lr);
float    lq_optim_get_lr (const LqOptim *opt);
guint64  lq_optim_steps (const LqOptim *opt);
void     lq_optim_set_steps (LqOptim *opt, guint64 steps);

/* The optimizer's state tensors with stable names ("<param>.<slot>") for checkpoints. */
int       lq_optim_n_state (const LqOptim *opt);
LqTensor *lq_optim_state (LqOptim *opt, int i, const char **name);
/* For trainers' checkpoints: appends every state tensor (borrowed) to tensors and its name,
 * prefix + name (a new string), to names; and loads them back from a file, each checked for
 * presence and shape. */
void      lq_optim_collect_state (LqOptim *opt, const char *prefix, GPtrArray *names,
                                  GPtrArray *tensors);
gboolean  lq_optim_load_state (LqOptim *opt, const LqSafetensors *st, const char *prefix,
                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqOptim, lq_optim_free)

G_END_DECLS

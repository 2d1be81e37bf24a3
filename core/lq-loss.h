/* lq-loss.h: losses with their gradients. Each returns the loss and writes the gradient with
 * respect to its first argument when the gradient pointer is not NULL. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Mean over the batch of −log softmax(logits)[label]; dlogits = (softmax − onehot) / batch.
 * probs (optional) receives the softmax. */
float lq_softmax_xent (const float *logits, const guint8 *labels, int batch, int classes,
                       float *dlogits, float *probs);
void  lq_softmax (const float *logits, int batch, int classes, float *probs);

/* mean((a − b)²) over n values; da = 2 (a − b) / n. */
float lq_mse (const float *a, const float *b, size_t n, float *da);

/* scale · Σ KL(N(mu, exp(logvar)) ‖ N(0, 1)) = scale · Σ −½ (1 + logvar − mu² − exp(logvar)). */
float lq_kl_normal (const float *mu, const float *logvar, size_t n, float scale, float *dmu,
                    float *dlogvar);

/* Carlini–Wagner margin per sample (loss[i]) and summed as the return value:
 * untargeted, label = true class: max(Z_label − max_{j≠label} Z_j, −κ);
 * targeted, label = target class: max(max_{j≠label} Z_j − Z_label, −κ).
 * dlogits is the gradient of the sum (0 where the max is −κ). */
float lq_cw_margin (const float *logits, const guint8 *labels, int batch, int classes, float kappa,
                    gboolean targeted, float *loss, float *dlogits);

G_END_DECLS

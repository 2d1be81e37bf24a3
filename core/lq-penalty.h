/* lq-penalty.h: the Lipschitz gradient-norm penalty of the LQ-VAE encoder, by double backprop. */
#pragma once
#include <glib.h>
#include "lq-net.h"

G_BEGIN_DECLS

/* After lq_net_forward (net, x, batch): with g_i = ∇_x Σ_j u_j f_j(x_i) (u: out_size weights, the
 * same for every sample; u = 1 on mu and 0 on logvar gives ∇_x Σ mu), the penalty
 * P = mean_i (K − ‖g_i‖₂)². Adds weight · ∂P/∂θ to the parameter gradients (exact for
 * piecewise-linear nets) and returns P in *penalty and mean_i ‖g_i‖ in *mean_norm (both optional).
 * Overwrites the net's backward buffers: run the ordinary backward afterwards. */
gboolean lq_grad_penalty (LqNet *net, const float *u, float K, float weight, float *penalty,
                          float *mean_norm, GError **error);

G_END_DECLS

/* lq-penalty.c: P = mean_i (K − ‖∇_x Σ_j u_j f_j(x_i)‖)² and its exact parameter gradient. */
#include "lq-penalty.h"
#include <math.h>
#include <string.h>

gboolean
lq_grad_penalty (LqNet *net, const float *u, float K, float weight, float *penalty,
                 float *mean_norm, GError **error)
{
  /* The batch is that of the last forward: read it back from the net's buffers' owner. */
  const int batch = lq_net_batch (net);
  const size_t in = lq_net_in_size (net), out = lq_net_out_size (net);
  float *U = lq_floats_new ((size_t) batch * out);
  float *g = lq_floats_new ((size_t) batch * in);
  for (int b = 0; b < batch; b++)
    memcpy (U + (size_t) b * out, u, out * sizeof (float));
  lq_net_backward (net, U, g, FALSE);
  double P = 0, norms = 0;
  for (int b = 0; b < batch; b++)
    {
      float *gi = g + (size_t) b * in;
      double nn = 0;
      for (size_t k = 0; k < in; k++)
        nn += (double) gi[k] * gi[k];
      double norm = sqrt (nn), d = norm - K;
      P += d * d;
      norms += norm;
      /* v_i = weight · ∂P/∂g_i = weight · 2 (‖g_i‖ − K) g_i / (‖g_i‖ · batch); reuse g for v. */
      float s = norm > 0 ? (float) (weight * 2.0 * d / (norm * batch)) : 0.0f;
      for (size_t k = 0; k < in; k++)
        gi[k] *= s;
    }
  gboolean ok = lq_net_double_backward (net, g, error);
  lq_floats_free (U);
  lq_floats_free (g);
  if (penalty)
    *penalty = (float) (P / batch);
  if (mean_norm)
    *mean_norm = (float) (norms / batch);
  return ok;
}

/* lq-attack-deepfool.c: DeepFool, L2, multi-class (Moosavi-Dezfooli et al. 2016, Algorithm 2,
 * as in the authors' deepfool.py), batched.
 *
 * For an image still classified as its label l, at the current point x_i:
 *   w_k = ∇f_k − ∇f_l,  f'_k = f_k − f_l  for every k ≠ l (all classes are candidates),
 *   k̂ = argmin_k |f'_k| / ‖w_k‖,  r_i = (|f'_k̂| / ‖w_k̂‖ + 1e-4) · w_k̂ / ‖w_k̂‖,
 *   r_tot += r_i,  x_{i+1} = clip(x + (1 + overshoot) · r_tot, 0, 1)
 * until the prediction leaves l or max_iter updates were made. The 1e-4 is the original code's;
 * clipping each iterate to the image range (as Foolbox does) makes the image that is checked the
 * image that is returned.
 *
 * Batching: the C − 1 gradients w_k of every still-active image come from ONE forward of the
 * active images and ONE backward pass of the C − 1 cotangents stacked (lq_target_backward_stacked;
 * the cotangent of class k is e_k − e_l on every row, and the backward is linear in it, so this is
 * ∇f_k − ∇f_l directly). The forward that checks which images are still classified as their label
 * is that forward: it is redone only when some image left the active set. Behind ReLUs most of
 * each cotangent's gradient is zero, and the layers take the sparse route of lq-sparse-adjoint.h;
 * for one image (the explorer's case) the C − 1 stacked rows are consecutive and share its ReLU
 * masks, so each weight row needed is loaded once for all of them (docs/PERFORMANCE.md).
 */
#include "lq-attack-private.h"
#include "lq-tensor.h"
#include <math.h>
#include <string.h>

gboolean
lq_attack_deepfool_run (const LqAttackParams *p, LqTarget *t, const float *x, const guint8 *labels,
                        int n, float *adv, int *iterations, const LqAttackProgress *pr,
                        GError **error)
{
  const size_t d = t->in_size;
  const int C = t->classes, R = C - 1;
  const float os = 1.0f + p->overshoot;

  float *rtot = lq_floats_new ((size_t) n * d);       /* [n, d] accumulated r_i */
  float *xa = lq_floats_new ((size_t) n * d);         /* [na, d] active images */
  float *logits = lq_floats_new ((size_t) n * C);     /* [na, C] their logits */
  float *dz = lq_floats_new ((size_t) R * n * C);     /* [R, na, C] e_k − e_l */
  float *w = lq_floats_new ((size_t) R * n * d);      /* [R, na, d] w_k */
  int *active = g_new (int, n), *next = g_new (int, n);
  int na = n;
  for (int s = 0; s < n; s++)
    active[s] = s, iterations[s] = p->max_iter;
  memcpy (adv, x, (size_t) n * d * sizeof (float));

  gboolean ok = TRUE;
  for (int it = 0; it < p->max_iter && na > 0; it++)
    {
      if (!(ok = lq_attack_progress (pr, (guint64) it, error)))
        break;
      /* Which images are still classified as their label? */
      for (int j = 0; j < na; j++)
        memcpy (xa + (size_t) j * d, adv + (size_t) active[j] * d, d * sizeof (float));
      t->forward (t, xa, na, logits);
      int nn = 0;
      for (int j = 0; j < na; j++)
        {
          int s = active[j];
          if (lq_attack_argmax (logits + (size_t) j * C, C) == labels[s])
            next[nn++] = s;
          else
            iterations[s] = it;
        }
      if (nn == 0)
        break;
      if (nn < na) /* the backward needs a forward of exactly the active images */
        {
          for (int j = 0; j < nn; j++)
            memcpy (xa + (size_t) j * d, adv + (size_t) next[j] * d, d * sizeof (float));
          t->forward (t, xa, nn, logits);
        }
      memcpy (active, next, (size_t) nn * sizeof (int));
      na = nn;

      memset (dz, 0, (size_t) R * na * C * sizeof (float));
      for (int r = 0; r < R; r++)
        for (int j = 0; j < na; j++)
          {
            const int l = labels[active[j]], k = r < l ? r : r + 1;
            dz[((size_t) r * na + j) * C + k] = 1.0f;
            dz[((size_t) r * na + j) * C + l] = -1.0f;
          }
      lq_target_backward_stacked (t, R, na, dz, w);

      nn = 0;
      for (int j = 0; j < na; j++)
        {
          const int s = active[j], l = labels[s];
          const float *z = logits + (size_t) j * C;
          double best = INFINITY, best_norm = 0;
          int best_r = -1;
          for (int r = 0; r < R; r++)
            {
              const int k = r < l ? r : r + 1;
              const float *wk = w + ((size_t) r * na + j) * d;
              double sq = 0;
              for (size_t i = 0; i < d; i++)
                sq += (double) wk[i] * wk[i];
              double nrm = sqrt (sq);
              if (!(nrm > 0.0) || !isfinite (nrm))
                continue;
              double pert = fabs ((double) z[k] - z[l]) / nrm;
              if (pert < best)
                best = pert, best_norm = nrm, best_r = r;
            }
          if (best_r < 0) /* flat in every direction: nowhere to go */
            {
              iterations[s] = it;
              continue;
            }
          const float *wk = w + ((size_t) best_r * na + j) * d;
          const float scale = (float) ((best + 1e-4) / best_norm);
          float *rt = rtot + (size_t) s * d, *a = adv + (size_t) s * d;
          const float *xs = x + (size_t) s * d;
          for (size_t i = 0; i < d; i++)
            {
              rt[i] += scale * wk[i];
              a[i] = CLAMP (xs[i] + os * rt[i], 0.0f, 1.0f);
            }
          next[nn++] = s;
        }
      memcpy (active, next, (size_t) nn * sizeof (int));
      na = nn;
    }

  lq_floats_free (rtot);
  lq_floats_free (xa);
  lq_floats_free (logits);
  lq_floats_free (dz);
  lq_floats_free (w);
  g_free (active);
  g_free (next);
  return ok;
}

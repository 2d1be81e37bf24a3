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
 * Batching: the C − 1 gradients w_k of every still-active image come from ONE backward pass: each
 * image is replicated C − 1 times, one forward, and one backward with the cotangent e_k − e_l on
 * the replica of class k (the backward is linear in the cotangent, so this is ∇f_k − ∇f_l
 * directly). Images that are fooled leave the active set; replicated passes are cut into chunks of
 * at most LQ_DEEPFOOL_ROWS rows to bound memory.
 */
#include "lq-attack-private.h"
#include "lq-tensor.h"
#include <math.h>
#include <string.h>

#define LQ_DEEPFOOL_ROWS 288 /* 32 images × 9 replicas for 10 classes */

gboolean
lq_attack_deepfool_run (const LqAttackParams *p, LqTarget *t, const float *x, const guint8 *labels,
                        int n, float *adv, int *iterations, const LqAttackProgress *pr,
                        GError **error)
{
  const size_t d = t->in_size;
  const int C = t->classes, R = C - 1;
  const int per_chunk = MAX (1, LQ_DEEPFOOL_ROWS / R);
  const float os = 1.0f + p->overshoot;

  float *rtot = lq_floats_new ((size_t) n * d);                /* [n, d] accumulated r_i */
  float *xa = lq_floats_new ((size_t) n * d);                  /* [n, d] active images */
  float *logits = lq_floats_new ((size_t) n * C);              /* [n, C] */
  const int m_max = MIN (per_chunk, n);
  float *rep = lq_floats_new ((size_t) m_max * R * d);         /* [m·R, d] replicas */
  float *rlog = lq_floats_new ((size_t) m_max * R * C);        /* [m·R, C] their logits */
  float *dz = lq_floats_new ((size_t) m_max * R * C);          /* [m·R, C] e_k − e_l */
  float *w = lq_floats_new ((size_t) m_max * R * d);           /* [m·R, d] w_k */
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
      memcpy (active, next, (size_t) nn * sizeof (int));
      na = nn;

      nn = 0;
      for (int j0 = 0; j0 < na; j0 += per_chunk)
        {
          const int m = MIN (per_chunk, na - j0);
          memset (dz, 0, (size_t) m * R * C * sizeof (float));
          for (int j = 0; j < m; j++)
            {
              const int s = active[j0 + j], l = labels[s];
              for (int r = 0; r < R; r++)
                {
                  const int k = r < l ? r : r + 1;
                  memcpy (rep + ((size_t) j * R + r) * d, adv + (size_t) s * d, d * sizeof (float));
                  dz[((size_t) j * R + r) * C + k] = 1.0f;
                  dz[((size_t) j * R + r) * C + l] = -1.0f;
                }
            }
          t->forward (t, rep, m * R, rlog);
          t->backward (t, dz, w);
          for (int j = 0; j < m; j++)
            {
              const int s = active[j0 + j], l = labels[s];
              const float *z = rlog + (size_t) j * R * C;
              double best = INFINITY, best_norm = 0;
              int best_r = -1;
              for (int r = 0; r < R; r++)
                {
                  const int k = r < l ? r : r + 1;
                  const float *wk = w + ((size_t) j * R + r) * d;
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
              const float *wk = w + ((size_t) j * R + best_r) * d;
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
        }
      memcpy (active, next, (size_t) nn * sizeof (int));
      na = nn;
    }

  lq_floats_free (rtot);
  lq_floats_free (xa);
  lq_floats_free (logits);
  lq_floats_free (rep);
  lq_floats_free (rlog);
  lq_floats_free (dz);
  lq_floats_free (w);
  g_free (active);
  g_free (next);
  return ok;
}

/* lq-attack-cw.c: Carlini–Wagner L2 (Carlini and Wagner 2017), following the authors'
 * l2_attack.py on the [0, 1] scale, batched over images.
 *
 *   change of variables: x' = (tanh(w) + 1)/2, w = w0 + δ, w0 = atanh((2x − 1)·0.999999), δ = 0
 *     at the start of every search step; distances are taken to x0' = (tanh(w0) + 1)/2, the
 *     image the variables reproduce;
 *   loss per image: ‖x' − x0'‖² + c·f(x'), f = max(Z_l − max_{j≠l} Z_j + κ, 0) untargeted,
 *     max(max_{j≠l} Z_j − Z_l + κ, 0) targeted (lq_cw_margin plus κ);
 *   Adam on δ (TensorFlow's form, as the original: lr_t = lr·√(1−β2ᵗ)/(1−β1ᵗ),
 *     δ −= lr_t·m/(√v + 1e-8), β 0.9/0.999), Adam state reset at every search step;
 *   each iteration's pre-update image counts as found when its logits with κ added to Z_l
 *     (untargeted; subtracted when targeted) are argmax-different from (equal to) l; the smallest
 *     ‖x' − x0'‖² found over all steps is kept;
 *   binary search per image: success → upper = min(upper, c), c = (lower + upper)/2; failure →
 *     lower = max(lower, c), c = (lower + upper)/2 if upper < 1e9 else 10c; upper starts at 1e10;
 *     with 10 or more search steps the last one runs at c = upper (the original's "repeat");
 *   early abort per image (the original does it on the batch's total loss, which would couple
 *     the images of a batch): every max_iter/10 iterations, stop the image's search step when its
 *     loss exceeds 0.9999 × the loss at the previous check.
 * An image never found adversarial is returned unchanged (the original returns zeros).
 *
 * Batching: every Adam iteration runs one forward and one backward over the images still active
 * in the current search step (not aborted), gathered into a compact batch.
 */
#include "lq-attack-private.h"
#include "lq-loss.h"
#include "lq-tensor.h"
#include <math.h>
#include <string.h>

#define CW_BETA1 0.9
#define CW_BETA2 0.999
#define CW_ADAM_EPS 1e-8f
#define CW_UPPER0 1e10

/* The original's compare(): is this score vector adversarial for label l with confidence κ? */
static gboolean
cw_found (const float *z, int C, int l, float kappa, gboolean targeted)
{
  int best = -1;
  float bz = 0;
  for (int k = 0; k < C; k++)
    {
      float v = z[k];
      if (k == l)
        v += targeted ? -kappa : kappa;
      if (best < 0 || v > bz)
        best = k, bz = v;
    }
  return targeted ? best == l : best != l;
}

gboolean
lq_attack_cw_run (const LqAttackParams *p, LqTarget *t, const float *x, const guint8 *labels,
                  int n, float *adv, int *iterations, const LqAttackProgress *pr, GError **error)
{
  const size_t d = t->in_size;
  const int C = t->classes, I = p->cw_max_iter, S = p->cw_search_steps;
  const int check_every = MAX (1, I / 10);
  const gboolean repeat = S >= 10;

  float *w0 = lq_floats_new ((size_t) n * d);     /* [n, d] atanh of the (scaled) input */
  float *x0 = lq_floats_new ((size_t) n * d);     /* [n, d] (tanh(w0) + 1)/2 */
  float *delta = lq_floats_new ((size_t) n * d);  /* [n, d] the optimised modifier */
  float *am = lq_floats_new ((size_t) n * d);     /* [n, d] Adam first moment */
  float *av = lq_floats_new ((size_t) n * d);     /* [n, d] Adam second moment */
  float *xp = lq_floats_new ((size_t) n * d);     /* [na, d] current images, compact */
  float *th = lq_floats_new ((size_t) n * d);     /* [na, d] tanh(w), compact */
  float *gx = lq_floats_new ((size_t) n * d);     /* [na, d] ∂(c·f)/∂x', compact */
  float *logits = lq_floats_new ((size_t) n * C); /* [na, C] */
  float *dlog = lq_floats_new ((size_t) n * C);   /* [na, C] */
  float *margin = lq_floats_new (n);              /* [na] */
  guint8 *alab = g_new (guint8, n);               /* [na] labels of the active images */
  int *active = g_new (int, n);
  double *c = g_new (double, n), *lower = g_new (double, n), *upper = g_new (double, n);
  double *prev = g_new (double, n);
  float *bestl2 = g_new (float, n), *o_bestl2 = g_new (float, n);
  int *bestscore = g_new (int, n);
  gboolean *aborted = g_new (gboolean, n);

  for (size_t i = 0; i < (size_t) n * d; i++)
    {
      w0[i] = atanhf ((2.0f * x[i] - 1.0f) * 0.999999f);
      x0[i] = 0.5f * (tanhf (w0[i]) + 1.0f);
    }
  for (int s = 0; s < n; s++)
    {
      c[s] = p->cw_c0, lower[s] = 0.0, upper[s] = CW_UPPER0;
      o_bestl2[s] = 1e10f;
      iterations[s] = 0;
    }
  memcpy (adv, x, (size_t) n * d * sizeof (float));

  gboolean ok = TRUE;
  for (int outer = 0; ok && outer < S; outer++)
    {
      memset (delta, 0, (size_t) n * d * sizeof (float));
      memset (am, 0, (size_t) n * d * sizeof (float));
      memset (av, 0, (size_t) n * d * sizeof (float));
      for (int s = 0; s < n; s++)
        {
          bestl2[s] = 1e10f, bestscore[s] = -1;
          prev[s] = INFINITY; /* the original starts at 1e6, which aborts at once when c·f > 1e6 */
          aborted[s] = FALSE;
          if (repeat && outer == S - 1)
            c[s] = upper[s];
        }
      for (int it = 0; it < I; it++)
        {
          if (!(ok = lq_attack_progress (pr, (guint64) outer * I + it, error)))
            break;
          int na = 0;
          for (int s = 0; s < n; s++)
            if (!aborted[s])
              active[na++] = s;
          if (na == 0)
            break;
          for (int j = 0; j < na; j++)
            {
              const size_t o = (size_t) active[j] * d, q = (size_t) j * d;
              for (size_t i = 0; i < d; i++)
                {
                  th[q + i] = tanhf (w0[o + i] + delta[o + i]);
                  xp[q + i] = 0.5f * (th[q + i] + 1.0f);
                }
              alab[j] = labels[active[j]];
            }
          t->forward (t, xp, na, logits);
          lq_cw_margin (logits, alab, na, C, p->cw_kappa, p->targeted, margin, dlog);
          const double adam_t = it + 1;
          const float lr_t = (float) (p->cw_lr * sqrt (1.0 - pow (CW_BETA2, adam_t)) /
                                      (1.0 - pow (CW_BETA1, adam_t)));
          int nb = 0; /* images that take an Adam step this iteration */
          for (int j = 0; j < na; j++)
            {
              const int s = active[j];
              const size_t o = (size_t) s * d, q = (size_t) j * d;
              double sq = 0;
              for (size_t i = 0; i < d; i++)
                {
                  double e = (double) xp[q + i] - x0[o + i];
                  sq += e * e;
                }
              const float l2 = (float) sq;
              const double f = (double) margin[j] + p->cw_kappa; /* ≥ 0 */
              const double loss = sq + c[s] * f;
              if (p->cw_abort_early && it % check_every == 0)
                {
                  if (loss > prev[s] * 0.9999)
                    {
                      aborted[s] = TRUE;
                      continue;
                    }
                  prev[s] = loss;
                }
              const float *z = logits + (size_t) j * C;
              if (cw_found (z, C, labels[s], p->cw_kappa, p->targeted))
                {
                  if (l2 < bestl2[s])
                    bestl2[s] = l2, bestscore[s] = lq_attack_argmax (z, C);
                  if (l2 < o_bestl2[s])
                    {
                      o_bestl2[s] = l2;
                      memcpy (adv + o, xp + q, d * sizeof (float));
                    }
                }
              /* keep the row for the backward pass, scaled by c */
              for (int k = 0; k < C; k++)
                dlog[(size_t) j * C + k] *= (float) c[s];
              iterations[s]++;
              nb++;
            }
          /* The backward must see the batch of the last forward; aborted rows get a zero
           * cotangent and no update. */
          for (int j = 0; j < na; j++)
            if (aborted[active[j]])
              memset (dlog + (size_t) j * C, 0, C * sizeof (float));
          if (nb == 0)
            continue;
          t->backward (t, dlog, gx);
          for (int j = 0; j < na; j++)
            {
              const int s = active[j];
              if (aborted[s])
                continue;
              const size_t o = (size_t) s * d, q = (size_t) j * d;
              for (size_t i = 0; i < d; i++)
                {
                  /* ∂/∂x' of ‖x' − x0'‖² + c·f, times ∂x'/∂w = (1 − tanh²)/2 */
                  float g = (2.0f * (xp[q + i] - x0[o + i]) + gx[q + i]) * 0.5f *
                            (1.0f - th[q + i] * th[q + i]);
                  float mi = am[o + i] = (float) CW_BETA1 * am[o + i] + (float) (1 - CW_BETA1) * g;
                  float vi = av[o + i] =
                      (float) CW_BETA2 * av[o + i] + (float) (1 - CW_BETA2) * g * g;
                  delta[o + i] -= lr_t * mi / (sqrtf (vi) + CW_ADAM_EPS);
                }
            }
        }
      if (!ok)
        break;
      /* binary search on c, per image */
      for (int s = 0; s < n; s++)
        {
          const gboolean success =
              bestscore[s] != -1 && (p->targeted ? bestscore[s] == labels[s]
                                                 : bestscore[s] != labels[s]);
          if (success)
            {
              upper[s] = MIN (upper[s], c[s]);
              if (upper[s] < 1e9)
                c[s] = (lower[s] + upper[s]) / 2;
            }
          else
            {
              lower[s] = MAX (lower[s], c[s]);
              if (upper[s] < 1e9)
                c[s] = (lower[s] + upper[s]) / 2;
              else
                c[s] *= 10;
            }
        }
    }

  lq_floats_free (w0);
  lq_floats_free (x0);
  lq_floats_free (delta);
  lq_floats_free (am);
  lq_floats_free (av);
  lq_floats_free (xp);
  lq_floats_free (th);
  lq_floats_free (gx);
  lq_floats_free (logits);
  lq_floats_free (dlog);
  lq_floats_free (margin);
  g_free (alab);
  g_free (active);
  g_free (c);
  g_free (lower);
  g_free (upper);
  g_free (prev);
  g_free (bestl2);
  g_free (o_bestl2);
  g_free (bestscore);
  g_free (aborted);
  return ok;
}

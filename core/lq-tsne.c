/* lq-tsne.c: exact t-SNE with the reference implementation's optimiser (momentum 0.5 then 0.8,
 * delta-bar-delta gains, early exaggeration for 250 iterations). */
#include "lq-tsne.h"
#include <math.h>
#include "lq-error.h"
#include "lq-rng.h"

#define EXAGGERATION_ITERS 250

LqTsneParams
lq_tsne_defaults (void)
{
  return (LqTsneParams) { .perplexity = 30, .iterations = 1000, .learning_rate = 200,
                          .exaggeration = 12, .seed = 1 };
}

/* Row i of the conditional P_{j|i} with the precision found by bisection so that the row's
 * entropy is log(perplexity). d2: squared distances from i; row[i] = 0. */
static void
conditional_row (const double *d2, int n, int i, double log_perp, double *row)
{
  double beta = 1, lo = -INFINITY, hi = INFINITY;
  for (int it = 0; it < 100; it++)
    {
      double sum = 0, sum_dp = 0;
      for (int j = 0; j < n; j++)
        {
          row[j] = j == i ? 0 : exp (-d2[j] * beta);
          sum += row[j];
          sum_dp += d2[j] * row[j];
        }
      if (sum < 1e-300)
        sum = 1e-300;
      double h = log (sum) + beta * sum_dp / sum;  /* entropy of the normalised row */
      for (int j = 0; j < n; j++)
        row[j] /= sum;
      double diff = h - log_perp;
      if (fabs (diff) < 1e-5)
        break;
      if (diff > 0)  /* too flat: sharpen */
        {
          lo = beta;
          beta = isinf (hi) ? beta * 2 : (beta + hi) / 2;
        }
      else
        {
          hi = beta;
          beta = isinf (lo) ? beta / 2 : (beta + lo) / 2;
        }
    }
}

/* Joint P = (P_{j|i} + P_{i|j}) / 2n, n × n. Distances are scaled by their maximum so the
 * bisection starts near the answer whatever the input's units. */
static double *
joint_p (const float *x, int n, int d, double perplexity)
{
  double *p = g_new (double, (size_t) n * n);
  double *d2 = g_new (double, (size_t) n * n);
  double dmax = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      {
        double s = 0;
        for (int k = 0; k < d; k++)
          {
            double t = (double) x[(size_t) i * d + k] - x[(size_t) j * d + k];
            s += t * t;
          }
        d2[(size_t) i * n + j] = s;
        dmax = MAX (dmax, s);
      }
  if (dmax > 0)
    for (size_t k = 0; k < (size_t) n * n; k++)
      d2[k] /= dmax;
  for (int i = 0; i < n; i++)
    conditional_row (d2 + (size_t) i * n, n, i, log (perplexity), p + (size_t) i * n);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      {
        double v = (p[(size_t) i * n + j] + p[(size_t) j * n + i]) / (2.0 * n);
        v = MAX (v, 1e-12);
        p[(size_t) i * n + j] = p[(size_t) j * n + i] = v;
      }
  g_free (d2);
  return p;
}

gboolean
lq_tsne (const float *x, int n, int d, const LqTsneParams *params, float *y,
         const LqMonitor *monitor, GError **error)
{
  LqTsneParams p = params ? *params : lq_tsne_defaults ();
  if (n < 2 || n > LQ_TSNE_MAX_POINTS || d < 1 || !(p.perplexity > 0) || p.iterations < 1 ||
      !(p.learning_rate > 0) || !(p.exaggeration >= 1))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "t-SNE takes 2 to %d points, a positive perplexity, learning rate and "
                   "iteration count, and an exaggeration ≥ 1", LQ_TSNE_MAX_POINTS);
      return FALSE;
    }
  for (size_t k = 0; k < (size_t) n * d; k++)
    if (!isfinite (x[k]))
      {
        g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "t-SNE input is not finite");
        return FALSE;
      }
  p.perplexity = MIN (p.perplexity, MAX (1.0, (n - 1) / 3.0));

  g_autofree double *P = joint_p (x, n, d, p.perplexity);
  g_autofree double *num = g_new (double, (size_t) n * n);
  g_autofree double *Y = g_new (double, 2 * (size_t) n);
  g_autofree double *grad = g_new (double, 2 * (size_t) n);
  g_autofree double *upd = g_new0 (double, 2 * (size_t) n);
  g_autofree double *gains = g_new (double, 2 * (size_t) n);
  LqRng rng;
  lq_rng_seed (&rng, p.seed);
  for (int k = 0; k < 2 * n; k++)
    {
      Y[k] = 1e-2 * lq_rng_normal (&rng);
      gains[k] = 1;
    }

  for (int it = 0; it < p.iterations; it++)
    {
      double exag = it < EXAGGERATION_ITERS ? p.exaggeration : 1;
      double momentum = it < EXAGGERATION_ITERS ? 0.5 : 0.8;
      /* Student-t kernel and its normaliser Z. */
      double z = 0;
      for (int i = 0; i < n; i++)
        {
          num[(size_t) i * n + i] = 0;
          for (int j = i + 1; j < n; j++)
            {
              double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
              double v = 1 / (1 + dx * dx + dy * dy);
              num[(size_t) i * n + j] = num[(size_t) j * n + i] = v;
              z += 2 * v;
            }
        }
      /* dC/dy_i = 4 Σ_j (exag·p_ij − q_ij) num_ij (y_i − y_j). */
      for (int i = 0; i < n; i++)
        {
          double gx = 0, gy = 0;
          const double *pi = P + (size_t) i * n, *ni = num + (size_t) i * n;
          for (int j = 0; j < n; j++)
            {
              if (j == i)
                continue;
              double m = (exag * pi[j] - ni[j] / z) * ni[j];
              gx += m * (Y[2 * i] - Y[2 * j]);
              gy += m * (Y[2 * i + 1] - Y[2 * j + 1]);
            }
          grad[2 * i] = 4 * gx;
          grad[2 * i + 1] = 4 * gy;
        }
      double mean[2] = { 0, 0 };
      for (int k = 0; k < 2 * n; k++)
        {
          /* Gains grow where the gradient keeps pushing against the last step's direction. */
          gains[k] = (grad[k] > 0) != (upd[k] > 0) ? gains[k] + 0.2 : gains[k] * 0.8;
          gains[k] = MAX (gains[k], 0.01);
          upd[k] = momentum * upd[k] - p.learning_rate * gains[k] * grad[k];
          Y[k] += upd[k];
          mean[k % 2] += Y[k] / n;
        }
      for (int k = 0; k < 2 * n; k++)
        Y[k] -= mean[k % 2];
      if ((it % 10 == 9 || it == p.iterations - 1) &&
          !lq_monitor_step (monitor, it + 1, p.iterations, "t-SNE", error))
        return FALSE;
    }
  for (int k = 0; k < 2 * n; k++)
    y[k] = (float) Y[k];
  return TRUE;
}

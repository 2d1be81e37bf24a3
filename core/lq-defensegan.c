/* lq-defensegan.c: the z search of Defense-GAN, batched over images and restarts. */
#include "lq-defensegan.h"
#include "lq-error.h"
#include "lq-rng.h"
#include "lq-tensor.h"
#include <math.h>
#include <string.h>

/* Rows (image × restart) per pass through G: bounds the activation memory (~100 KB a row for
 * the paper's generator) while keeping the GEMMs wide. */
#define LQ_GAN_SEARCH_ROWS 256

LqGanSearch
lq_gan_search_defaults (void)
{
  return (LqGanSearch){ .steps = 200, .restarts = 10, .lr = 10.0f, .momentum = 0.7f,
                        .decay = 0.1f, .decay_at = 0.8f, .init_std = 0.0f, .seed = 0 };
}

gboolean
lq_gan_search_check (const LqGanSearch *p, GError **error)
{
  const char *bad = NULL;
  if (p->steps < 0 || p->steps > 100000)
    bad = "steps L must be in [0, 100000]";
  else if (p->restarts < 1 || p->restarts > 10000)
    bad = "restarts R must be in [1, 10000]";
  else if (!(p->lr >= 0 && isfinite (p->lr)))
    bad = "the learning rate must be finite and ≥ 0";
  else if (!(p->momentum >= 0 && p->momentum < 1))
    bad = "the momentum must be in [0, 1)";
  else if (!(p->decay > 0 && p->decay <= 1))
    bad = "the decay must be in (0, 1]";
  else if (!(p->decay_at >= 0 && p->decay_at <= 1))
    bad = "decay_at must be in [0, 1]";
  else if (!(p->init_std >= 0 && isfinite (p->init_std)))
    bad = "init_std must be finite and ≥ 0";
  if (bad)
    g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "Defense-GAN search: %s", bad);
  return bad == NULL;
}

/* FNV-1a of the pixels mixed into the seed (as the attacks' random starts): z₀ depends on the
 * image and the seed only, not on the image's place in the batch. */
static guint64
image_seed (guint64 seed, const float *x)
{
  guint64 h = 0xcbf29ce484222325ULL;
  const guint8 *b = (const guint8 *) x;
  for (size_t i = 0; i < LQ_IMAGE_SIZE * sizeof (float); i++)
    h = (h ^ b[i]) * 0x100000001b3ULL;
  return seed ^ (h * 0x9e3779b97f4a7c15ULL);
}

gboolean
lq_defensegan_purify (LqGan *gan, const LqGanSearch *p, const float *x, int batch, float *out,
                      LqGanSearchStats *stats, const LqMonitor *monitor, GError **error)
{
  if (!lq_gan_search_check (p, error))
    return FALSE;
  g_return_val_if_fail (batch >= 0, FALSE);
  LqNet *G = lq_gan_generator (gan);
  lq_net_set_training (G, FALSE);
  const int L = p->steps, R = p->restarts, lat = lq_gan_config (gan)->latent;
  const int per_chunk = MAX (1, LQ_GAN_SEARCH_ROWS / R);
  const float sigma = p->init_std > 0 ? p->init_std : sqrtf (1.0f / lat);
  const int decay_step = (int) ceil (p->decay_at * L);
  const size_t rows_max = (size_t) MIN (per_chunk, MAX (batch, 1)) * R;
  float *z = lq_floats_new (rows_max * lat), *v = lq_floats_new (rows_max * lat);
  float *dz = lq_floats_new (rows_max * lat), *dy = lq_floats_new (rows_max * LQ_IMAGE_SIZE);
  double *err = g_new (double, rows_max), *best = g_new (double, MIN (per_chunk, MAX (batch, 1)));
  const guint64 total = (guint64) batch * R * L;
  gboolean ok = TRUE;

  for (int c0 = 0; c0 < batch && ok; c0 += per_chunk)
    {
      const int m = MIN (per_chunk, batch - c0), rows = m * R;
      const float *xc = x + (size_t) c0 * LQ_IMAGE_SIZE;
      for (int i = 0; i < m; i++)
        {
          LqRng rng;
          lq_rng_seed (&rng, image_seed (p->seed, xc + (size_t) i * LQ_IMAGE_SIZE));
          for (size_t k = 0; k < (size_t) R * lat; k++)
            z[(size_t) i * R * lat + k] = sigma * (float) lq_rng_normal (&rng);
          best[i] = INFINITY;
        }
      memset (v, 0, (size_t) rows * lat * sizeof (float));
      for (int t = 0; t <= L; t++)
        {
          const float *y = lq_net_forward (G, z, rows);
          /* e = mean_k (y_k − x_k)², ∂e/∂y = 2 (y − x) / 784; rows are image-major. */
          for (int r = 0; r < rows; r++)
            {
              const float *yr = y + (size_t) r * LQ_IMAGE_SIZE;
              const float *xr = xc + (size_t) (r / R) * LQ_IMAGE_SIZE;
              float *dr = dy + (size_t) r * LQ_IMAGE_SIZE;
              double s = 0;
              for (int k = 0; k < LQ_IMAGE_SIZE; k++)
                {
                  float d = yr[k] - xr[k];
                  s += (double) d * d;
                  dr[k] = d * (2.0f / LQ_IMAGE_SIZE);
                }
              err[r] = s / LQ_IMAGE_SIZE;
            }
          for (int r = 0; r < rows; r++)
            {
              const int i = r / R;
              if (!(err[r] < best[i]))
                continue;
              best[i] = err[r];
              memcpy (out + (size_t) (c0 + i) * LQ_IMAGE_SIZE, y + (size_t) r * LQ_IMAGE_SIZE,
                      LQ_IMAGE_SIZE * sizeof (float));
              if (stats && stats->z)
                memcpy (stats->z + (size_t) (c0 + i) * lat, z + (size_t) r * lat,
                        lat * sizeof (float));
            }
          if (stats && stats->trace)
            for (int i = 0; i < m; i++)
              stats->trace[(size_t) (c0 + i) * (L + 1) + t] = (float) best[i];
          if (t == L)
            break;
          lq_net_backward (G, dy, dz, FALSE);
          const float lr = t >= decay_step ? p->lr * p->decay : p->lr;
          for (size_t k = 0; k < (size_t) rows * lat; k++)
            {
              v[k] = p->momentum * v[k] + dz[k];
              z[k] -= lr * v[k];
            }
          if (!lq_monitor_step (monitor, (guint64) c0 * R * L + (guint64) rows * (t + 1), total,
                                "Defense-GAN search", error))
            {
              ok = FALSE;
              break;
            }
        }
      if (stats && stats->err)
        for (int i = 0; i < m; i++)
          stats->err[c0 + i] = (float) best[i];
    }
  lq_floats_free (z);
  lq_floats_free (v);
  lq_floats_free (dz);
  lq_floats_free (dy);
  g_free (err);
  g_free (best);
  return ok;
}

/* lq-eval-cell.c: one attack, many scored cells (see the header). Moved out of lq-cmd-eval.c. */
#include "lq-eval-cell.h"
#include <math.h>
#include <string.h>
#include "lq-rng.h"

static int
argmax10 (const float *p)
{
  int best = 0;
  for (int k = 1; k < LQ_N_CLASSES; k++)
    if (p[k] > p[best])
      best = k;
  return best;
}

/* Number correct; correct[b] (optional) per image. */
static int
count_correct (LqClassifier *c, const float *x, const guint8 *labels, int n, float *probs,
               guint8 *correct)
{
  int total = 0;
  lq_classifier_predict (c, x, n, probs, NULL);
  for (int b = 0; b < n; b++)
    {
      gboolean ok = argmax10 (probs + (size_t) b * LQ_N_CLASSES) == labels[b];
      if (correct)
        correct[b] = ok;
      total += ok;
    }
  return total;
}

/* Sum over the batch of ‖∇_x Σ_j mu_j(x_i)‖, through the encoder in [−1, 1] space. */
static double
encoder_grad_norm (LqVae *vae, const float *x01, int n)
{
  LqNet *enc = lq_vae_encoder (vae);
  const int L = lq_vae_config (vae)->latent;
  float *xs = lq_floats_new ((size_t) n * LQ_IMAGE_SIZE);
  float *u = lq_floats_new ((size_t) n * 2 * L);
  float *g = lq_floats_new ((size_t) n * LQ_IMAGE_SIZE);
  for (size_t i = 0; i < (size_t) n * LQ_IMAGE_SIZE; i++)
    xs[i] = 2.0f * x01[i] - 1.0f;
  for (int b = 0; b < n; b++)
    for (int j = 0; j < L; j++)
      u[(size_t) b * 2 * L + j] = 1.0f;
  lq_net_set_training (enc, FALSE);
  lq_net_forward (enc, xs, n);
  lq_net_backward (enc, u, g, FALSE);
  double total = 0;
  for (int b = 0; b < n; b++)
    {
      double s = 0;
      for (int k = 0; k < LQ_IMAGE_SIZE; k++)
        s += (double) g[(size_t) b * LQ_IMAGE_SIZE + k] * g[(size_t) b * LQ_IMAGE_SIZE + k];
      total += sqrt (s);
    }
  lq_floats_free (xs);
  lq_floats_free (u);
  lq_floats_free (g);
  return total;
}

/* Sum over the batch of the fraction of bits that differ between the codes mu_a and mu_b. */
static double
bit_flips (LqVae *vae, const float *mu_a, const float *mu_b, int n, float *per_image)
{
  const int L = lq_vae_config (vae)->latent;
  g_autofree guint8 *ba = g_new (guint8, (size_t) n * L), *bb = g_new (guint8, (size_t) n * L);
  lq_vae_quantize (vae, mu_a, (size_t) n * L, NULL, ba);
  lq_vae_quantize (vae, mu_b, (size_t) n * L, NULL, bb);
  double total = 0;
  for (int b = 0; b < n; b++)
    {
      int f = 0;
      for (int j = 0; j < L; j++)
        f += ba[(size_t) b * L + j] != bb[(size_t) b * L + j];
      if (per_image)
        per_image[b] = (float) f / L;
      total += (double) f / L;
    }
  return total;
}

typedef struct {
  float *probs, *pur, *noisy, *mu, *mu2;
  LqRng rng;   /* the noise of the bit-flip statistic: per cell, so cells do not disturb each other */
} CellScratch;

static gboolean
purify (LqEvalCell *c, const float *x, int m, float *out, float *mu, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  if (c->vae)
    lq_vae_purify (c->vae, x, m, out, mu);
  else if (!lq_defensegan_purify (c->gan, &c->search, x, m, out, NULL, NULL, error))
    return FALSE;
  c->totals.purify_seconds += (g_get_monotonic_time () - t0) / 1e6;
  return TRUE;
}

/* Scores images [s, s + m) of one cell; adv is NULL without an attack. */
static gboolean
score (LqEvalCell *c, CellScratch *w, const float *x, const float *adv, const guint8 *y, int s,
       int m, GError **error)
{
  LqEvalTotals *t = &c->totals;
  const gboolean purifier = c->vae || c->gan;
  const int L = c->vae ? lq_vae_config (c->vae)->latent : 0;
  t->clean += count_correct (c->clf, x, y, m, w->probs, NULL);
  if (purifier && (c->purify_clean || c->latent_stats || c->mu_clean || c->bit_fractions))
    {
      if (!purify (c, x, m, w->pur, w->mu, error))
        return FALSE;
      t->purified += count_correct (c->clf, w->pur, y, m, w->probs, NULL);
      if (c->mu_clean)
        memcpy (c->mu_clean + (size_t) s * L, w->mu, sizeof (float) * m * L);
    }
  if (c->vae && c->latent_stats)
    {
      t->grad_norm += encoder_grad_norm (c->vae, x, m);
      for (size_t i = 0; i < (size_t) m * LQ_IMAGE_SIZE; i++)
        {
          /* not inside CLAMP: the macro would draw the noise up to three times */
          float v = x[i] + 0.05f * (float) lq_rng_normal (&w->rng);
          w->noisy[i] = CLAMP (v, 0.0f, 1.0f);
        }
      lq_vae_encode (c->vae, w->noisy, m, w->mu2);
      t->noise_bits += bit_flips (c->vae, w->mu, w->mu2, m, NULL);
    }
  if (adv == NULL)
    return TRUE;
  guint8 *correct = c->adv_correct ? c->adv_correct + s : NULL;  /* of what the cell reports */
  t->attacked += count_correct (c->clf, adv, y, m, w->probs, purifier ? NULL : correct);
  if (!purifier)
    return TRUE;
  if (!purify (c, adv, m, w->pur, w->mu2, error))
    return FALSE;
  t->attacked_purified += count_correct (c->clf, w->pur, y, m, w->probs, correct);
  if (c->mu_adv)
    memcpy (c->mu_adv + (size_t) s * L, w->mu2, sizeof (float) * m * L);
  if (c->vae && (c->latent_stats || c->bit_fractions))
    t->bits_flipped += bit_flips (c->vae, w->mu, w->mu2, m,
                                  c->bit_fractions ? c->bit_fractions + s : NULL);
  return TRUE;
}

gboolean
lq_eval_cells (const LqDataset *test, LqTarget *target, const LqAttackParams *ap,
               LqEvalCell *const *cells, int n_cells, int batch, LqEvalCellDone on_done,
               gpointer user_data, const LqMonitor *monitor, GError **error)
{
  g_return_val_if_fail (batch > 0 && n_cells >= 0, FALSE);
  int total = 0;
  for (int k = 0; k < n_cells; k++)
    {
      LqEvalCell *c = cells[k];
      c->n = c->n > 0 ? MIN (c->n, test->n) : test->n;
      memset (&c->totals, 0, sizeof c->totals);
      c->totals.n = c->n;
      total = MAX (total, c->n);
    }
  g_autofree CellScratch *w = g_new0 (CellScratch, MAX (n_cells, 1));
  for (int k = 0; k < n_cells; k++)
    {
      int L = cells[k]->vae ? lq_vae_config (cells[k]->vae)->latent : 1;
      w[k].probs = lq_floats_new ((size_t) batch * LQ_N_CLASSES);
      w[k].pur = lq_floats_new ((size_t) batch * LQ_IMAGE_SIZE);
      w[k].noisy = lq_floats_new ((size_t) batch * LQ_IMAGE_SIZE);
      w[k].mu = lq_floats_new ((size_t) batch * L);
      w[k].mu2 = lq_floats_new ((size_t) batch * L);
      lq_rng_seed (&w[k].rng, 12345);
    }
  float *adv = lq_floats_new ((size_t) batch * LQ_IMAGE_SIZE);
  g_autofree float *l2 = g_new (float, batch), *linf = g_new (float, batch);
  gboolean ok = TRUE;
  for (int s = 0; ok && s < total; s += batch)
    {
      const int m = MIN (batch, total - s);
      const float *x = test->images + (size_t) s * LQ_IMAGE_SIZE;
      const guint8 *y = test->labels + s;
      double attack_seconds = 0;
      if (target)
        {
          LqAttackStats st = { .l2 = l2, .linf = linf };
          gint64 t0 = g_get_monotonic_time ();
          if (!lq_attack_run (ap, target, x, y, m, adv, &st, NULL, error))
            {
              ok = FALSE;
              break;
            }
          attack_seconds = (g_get_monotonic_time () - t0) / 1e6;
        }
      for (int k = 0; ok && k < n_cells; k++)
        {
          LqEvalCell *c = cells[k];
          if (s >= c->n)
            continue;
          const int mc = MIN (m, c->n - s);
          gint64 t0 = g_get_monotonic_time ();
          ok = score (c, &w[k], x, target ? adv : NULL, y, s, mc, error);
          /* The attack is shared: each cell is charged for the images it uses. */
          c->totals.seconds += (g_get_monotonic_time () - t0) / 1e6 + attack_seconds * mc / m;
          c->totals.attack_seconds += attack_seconds * mc / m;
          for (int b = 0; target && b < mc; b++)
            c->totals.l2 += l2[b], c->totals.linf += linf[b];
          if (ok && s + mc == c->n && on_done)
            on_done (c, user_data);
        }
      if (ok && !lq_monitor_step (monitor, s + m, total, NULL, error))
        ok = FALSE;
    }
  for (int k = 0; k < n_cells; k++)
    {
      float *bufs[] = { w[k].probs, w[k].pur, w[k].noisy, w[k].mu, w[k].mu2 };
      for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
        lq_floats_free (bufs[i]);
    }
  lq_floats_free (adv);
  return ok;
}

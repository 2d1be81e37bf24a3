/* lq-train-classifier.c: Adam on softmax cross-entropy, shuffled mini-batches, seeded. */
#include "lq-train-classifier.h"
#include "lq-attack.h"
#include "lq-error.h"
#include "lq-loss.h"
#include "lq-optim.h"
#include <math.h>
#include <string.h>

LqClassifierTrainConfig
lq_classifier_train_config_default (void)
{
  return (LqClassifierTrainConfig){ .seed = 1, .batch = 128, .epochs = 10, .lr = 1e-3f,
                                    .decay_fraction = 0.3f,
                                    .adv = { LQ_ADV_NONE, 0.3f, 0.01f, 40 } };
}

static const char *const adv_names[] = { "none", "fgsm", "pgd" };

gboolean
lq_adv_kind_from_string (const char *s, LqAdvKind *kind, GError **error)
{
  for (int k = 0; k < (int) G_N_ELEMENTS (adv_names); k++)
    if (g_strcmp0 (s, adv_names[k]) == 0)
      {
        *kind = (LqAdvKind) k;
        return TRUE;
      }
  g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
               "unknown adversarial training '%s': expected none, fgsm or pgd", s ? s : "");
  return FALSE;
}

const char *
lq_adv_kind_name (LqAdvKind kind)
{
  return kind >= 0 && kind < (int) G_N_ELEMENTS (adv_names) ? adv_names[kind] : "?";
}

/* The attack of the adversarial training, on the [0, 1] scale; NULL for plain training. */
static gboolean
adv_params (const LqAdvTraining *adv, LqAttackParams *p, GError **error)
{
  if (adv->kind == LQ_ADV_NONE)
    return TRUE;
  *p = lq_attack_defaults (adv->kind == LQ_ADV_FGSM ? LQ_ATTACK_FGSM : LQ_ATTACK_PGD);
  p->eps = adv->eps;
  p->step = adv->step;
  p->steps = adv->steps;
  return lq_attack_params_check (p, error);
}

int
lq_classifier_decay_epoch (const LqClassifierTrainConfig *cfg)
{
  return cfg->epochs - (int) floorf (cfg->decay_fraction * cfg->epochs);
}

gboolean
lq_train_classifier (LqNet *net, const LqDataset *train, const LqClassifierTrainConfig *cfg,
                     LqClassifierEpochFunc on_epoch, gpointer user_data, const LqMonitor *monitor,
                     GError **error)
{
  if (cfg->batch <= 0 || cfg->epochs <= 0 || !(cfg->lr > 0))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "batch, epochs and learning rate must be positive");
      return FALSE;
    }
  const int B = cfg->batch, per_epoch = train->n / B;
  const int decay_from = lq_classifier_decay_epoch (cfg);
  LqAttackParams ap;
  if (!adv_params (&cfg->adv, &ap, error))
    return FALSE;
  /* FGSM training sees each batch twice (clean, then adversarial): one forward of 2B images, whose
   * mean loss is the half-and-half mix. PGD (Madry) trains on the adversarial images alone. */
  const gboolean mixed = cfg->adv.kind == LQ_ADV_FGSM;
  const int NB = mixed ? 2 * B : B;
  g_autoptr (LqTarget) target = cfg->adv.kind != LQ_ADV_NONE ? lq_target_new_classifier (net) : NULL;
  LqOptimConfig oc = lq_optim_defaults (LQ_OPTIM_ADAM, cfg->lr);
  g_autoptr (LqOptim) opt = lq_optim_new (&oc, net);
  g_autofree guint32 *perm = g_new (guint32, train->n);
  g_autofree guint8 *labels = g_new (guint8, NB);
  float *x = lq_floats_new ((size_t) NB * LQ_IMAGE_SIZE);
  float *adv = target ? lq_floats_new ((size_t) B * LQ_IMAGE_SIZE) : NULL;
  float *dlogits = lq_floats_new ((size_t) NB * LQ_N_CLASSES);
  float *probs = lq_floats_new ((size_t) NB * LQ_N_CLASSES);
  LqRng rng;
  gboolean ok = TRUE;
  lq_rng_seed (&rng, cfg->seed);
  lq_net_seed (net, cfg->seed);
  for (int i = 0; i < train->n; i++)
    perm[i] = i;
  for (int e = 0; e < cfg->epochs && ok; e++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double loss = 0;
      int correct = 0;
      lq_optim_set_lr (opt, e >= decay_from ? cfg->lr * 0.1f : cfg->lr);
      lq_rng_shuffle (&rng, perm, train->n);
      lq_net_set_training (net, TRUE);
      for (int s = 0; s < per_epoch; s++)
        {
          for (int b = 0; b < B; b++)
            {
              guint32 k = perm[(size_t) s * B + b];
              memcpy (x + (size_t) b * LQ_IMAGE_SIZE, train->images + (size_t) k * LQ_IMAGE_SIZE,
                      LQ_IMAGE_SIZE * sizeof (float));
              labels[b] = train->labels[k];
            }
          if (target)
            {
              /* A fresh random start per step and image (the attack hashes pixels with the seed). */
              ap.seed = cfg->seed ^ ((guint64) (e * per_epoch + s) << 20);
              if (!lq_attack_run (&ap, target, x, labels, B, adv, NULL, NULL, error))
                {
                  ok = FALSE;
                  break;
                }
              float *dst = mixed ? x + (size_t) B * LQ_IMAGE_SIZE : x;
              memcpy (dst, adv, (size_t) B * LQ_IMAGE_SIZE * sizeof (float));
              if (mixed)
                memcpy (labels + B, labels, B);
              lq_net_set_training (net, TRUE);
            }
          const float *logits = lq_net_forward (net, x, NB);
          loss += lq_softmax_xent (logits, labels, NB, LQ_N_CLASSES, dlogits, probs);
          for (int b = 0; b < B; b++) /* accuracy on the first B: clean, or PGD images for Madry */
            {
              int best = 0;
              for (int k = 1; k < LQ_N_CLASSES; k++)
                if (probs[b * LQ_N_CLASSES + k] > probs[b * LQ_N_CLASSES + best])
                  best = k;
              correct += best == labels[b];
            }
          lq_net_zero_grad (net);
          lq_net_backward (net, dlogits, NULL, TRUE);
          lq_optim_step (opt);
          guint64 done = (guint64) e * per_epoch * B + (guint64) (s + 1) * B;
          if (!lq_monitor_step (monitor, done, (guint64) cfg->epochs * per_epoch * B, "training",
                                error))
            {
              ok = FALSE;
              break;
            }
        }
      if (ok && !isfinite (loss))
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "training diverged in epoch %d",
                       e + 1);
          ok = FALSE;
        }
      if (ok && on_epoch)
        {
          LqClassifierEpochStats st = { e + 1, (float) (loss / per_epoch),
                                        (float) correct / (per_epoch * B),
                                        (g_get_monotonic_time () - t0) / 1e6 };
          on_epoch (&st, user_data);
        }
    }
  lq_net_set_training (net, FALSE);
  lq_floats_free (x);
  lq_floats_free (adv);
  lq_floats_free (dlogits);
  lq_floats_free (probs);
  return ok;
}

double
lq_classifier_accuracy (LqNet *net, const LqDataset *ds, guint8 *pred)
{
  const int B = 256;
  int correct = 0;
  lq_net_set_training (net, FALSE);
  for (int s = 0; s < ds->n; s += B)
    {
      int n = MIN (B, ds->n - s);
      const float *logits = lq_net_forward (net, ds->images + (size_t) s * LQ_IMAGE_SIZE, n);
      for (int b = 0; b < n; b++)
        {
          int best = 0;
          for (int k = 1; k < LQ_N_CLASSES; k++)
            if (logits[b * LQ_N_CLASSES + k] > logits[b * LQ_N_CLASSES + best])
              best = k;
          correct += best == ds->labels[s + b];
          if (pred)
            pred[s + b] = (guint8) best;
        }
    }
  return ds->n ? (double) correct / ds->n : 0.0;
}

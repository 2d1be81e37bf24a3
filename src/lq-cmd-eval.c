/* lq-cmd-eval.c: `lq eval` — accuracy on the first n held-out test images: clean, purified,
 * attacked, attacked then purified; latent statistics of the LQ-VAE purifier. The purifier is
 * the LQ-VAE or Defense-GAN's z search (--defense defensegan). */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lq-attack.h"
#include "lq-cli-util.h"
#include "lq-cmd.h"
#include "lq-dataset.h"
#include "lq-defensegan.h"
#include "lq-error.h"
#include "lq-models.h"
#include "lq-vae.h"

typedef struct {
  int n;
  int clean, purified, attacked, attacked_purified;
  double l2, linf, bits_flipped, attack_seconds, purify_seconds;
  double grad_norm;       /* mean ‖∇_x Σ mu‖ on the [−1, 1] input scale (the penalty's) */
  double noise_bits;      /* mean fraction of bits that N(0, 0.05²) pixel noise flips */
} EvalTotals;

static int
argmax10 (const float *p)
{
  int best = 0;
  for (int k = 1; k < LQ_N_CLASSES; k++)
    if (p[k] > p[best])
      best = k;
  return best;
}

static int
count_correct (LqClassifier *c, const float *x, const guint8 *labels, int n, float *probs)
{
  int correct = 0;
  lq_classifier_predict (c, x, n, probs, NULL);
  for (int b = 0; b < n; b++)
    correct += argmax10 (probs + (size_t) b * LQ_N_CLASSES) == labels[b];
  return correct;
}

/* Mean ‖∇_x Σ_j mu_j(x_i)‖ over the batch, through the encoder in [−1, 1] space. */
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
  return total / n;
}

static int
count_bit_flips (LqVae *vae, const float *mu_a, const float *mu_b, int n, double *per_image)
{
  const int L = lq_vae_config (vae)->latent;
  g_autofree guint8 *ba = g_new (guint8, (size_t) n * L), *bb = g_new (guint8, (size_t) n * L);
  lq_vae_quantize (vae, mu_a, (size_t) n * L, NULL, ba);
  lq_vae_quantize (vae, mu_b, (size_t) n * L, NULL, bb);
  int total = 0;
  for (int b = 0; b < n; b++)
    {
      int f = 0;
      for (int j = 0; j < L; j++)
        f += ba[(size_t) b * L + j] != bb[(size_t) b * L + j];
      if (per_image)
        per_image[b] = (double) f / L;
      total += f;
    }
  return total;
}

static void
print_json (const EvalTotals *t, const char *data, const char *model, const char *attack,
            const char *defense, gboolean latent_stats)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_add_string_value (b, data);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "attack");
  json_builder_add_string_value (b, attack ? attack : "none");
  json_builder_set_member_name (b, "n");
  json_builder_add_int_value (b, t->n);
  json_builder_set_member_name (b, "clean_accuracy");
  json_builder_add_double_value (b, (double) t->clean / t->n);
  if (defense)
    {
      json_builder_set_member_name (b, "defense");
      json_builder_add_string_value (b, defense);
      json_builder_set_member_name (b, "purified_accuracy");
      json_builder_add_double_value (b, (double) t->purified / t->n);
      if (latent_stats)
        {
          json_builder_set_member_name (b, "encoder_grad_norm");
          json_builder_add_double_value (b, t->grad_norm);
          json_builder_set_member_name (b, "noise_bit_flip_fraction");
          json_builder_add_double_value (b, t->noise_bits);
        }
      json_builder_set_member_name (b, "purify_ms_per_image");
      json_builder_add_double_value (b, 1e3 * t->purify_seconds / t->n);
    }
  if (attack)
    {
      json_builder_set_member_name (b, "attacked_accuracy");
      json_builder_add_double_value (b, (double) t->attacked / t->n);
      if (defense)
        {
          json_builder_set_member_name (b, "attacked_purified_accuracy");
          json_builder_add_double_value (b, (double) t->attacked_purified / t->n);
          if (latent_stats)
            {
              json_builder_set_member_name (b, "bit_flip_fraction");
              json_builder_add_double_value (b, t->bits_flipped / t->n);
            }
        }
      json_builder_set_member_name (b, "mean_l2");
      json_builder_add_double_value (b, t->l2 / t->n);
      json_builder_set_member_name (b, "mean_linf");
      json_builder_add_double_value (b, t->linf / t->n);
      json_builder_set_member_name (b, "attack_ms_per_image");
      json_builder_add_double_value (b, 1e3 * t->attack_seconds / t->n);
    }
  json_builder_end_object (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  g_autofree char *s = json_generator_to_data (gen, NULL);
  printf ("%s\n", s);
}

int
lq_cmd_eval (int argc, char **argv)
{
  g_autofree char *data_s = NULL, *model_s = NULL, *defense_s = NULL, *attack_s = NULL;
  g_autofree char *preset = NULL, *model_file = NULL, *vae_file = NULL, *bpda_s = NULL;
  g_autofree char *gan_file = NULL;
  LqGanSearch search = lq_gan_search_defaults ();
  int n = 0, batch = 100;
  double eps = NAN, step = NAN;
  int steps = 0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data_s, "Data set: mnist or fmnist", "DATA" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model_s, "Classifier: A, B or C", "ARCH" },
    { "model-file", 0, 0, G_OPTION_ARG_FILENAME, &model_file, "Classifier weights instead of the shipped ones", "FILE" },
    { "defense", 0, 0, G_OPTION_ARG_STRING, &defense_s, "none, lqvae (default) or defensegan", "NAME" },
    { "lqvae-file", 0, 0, G_OPTION_ARG_FILENAME, &vae_file, "LQ-VAE weights instead of the shipped ones", "FILE" },
    { "gan-file", 0, 0, G_OPTION_ARG_FILENAME, &gan_file, "Defense-GAN generator instead of the shipped one", "FILE" },
    { "gan-L", 0, 0, G_OPTION_ARG_INT, &search.steps, "Defense-GAN: gradient steps per restart (default 200)", "L" },
    { "gan-R", 0, 0, G_OPTION_ARG_INT, &search.restarts, "Defense-GAN: random restarts (default 10)", "R" },
    { "attack", 0, 0, G_OPTION_ARG_STRING, &attack_s, "fgsm, bim, pgd, deepfool or cw (default: none)", "NAME" },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset, "CW preset: full, defense-gan or live", "NAME" },
    { "eps", 0, 0, G_OPTION_ARG_DOUBLE, &eps, "L∞ budget on the [0, 1] scale (default 0.3)", "E" },
    { "step", 0, 0, G_OPTION_ARG_DOUBLE, &step, "Step size of BIM/PGD (default 0.01)", "S" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Steps of BIM/PGD (default 40)", "N" },
    { "bpda", 0, 0, G_OPTION_ARG_STRING, &bpda_s, "Attack classifier ∘ purifier end to end: soft or identity", "MODE" },
    { "n", 0, 0, G_OPTION_ARG_INT, &n, "First N test images (default: all)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Images per batch (default 100)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };
  if (!lq_cli_parse (&argc, &argv, entries, "Accuracy on the held-out test split"))
    return 2;
  g_autoptr (GError) error = NULL;
  LqDataKind data;
  LqArch arch;
  if (!lq_data_kind_from_string (data_s ? data_s : "mnist", &data, &error) ||
      !lq_arch_from_string (model_s ? model_s : "A", &arch, &error))
    return lq_cli_fail (error, 2);
  gboolean defense = defense_s == NULL || strcmp (defense_s, "lqvae") == 0;
  gboolean defensegan = g_strcmp0 (defense_s, "defensegan") == 0;
  if (defense_s && !defense && !defensegan && strcmp (defense_s, "none") != 0)
    {
      fprintf (stderr, "lq: unknown defense '%s': expected none, lqvae or defensegan\n", defense_s);
      return 2;
    }
  if (!lq_gan_search_check (&search, &error))
    return lq_cli_fail (error, 2);
  /* BPDA through Defense-GAN takes its search as the identity on the backward pass; the soft
   * mode is the LQ-VAE quantizer's and has no meaning there. */
  if (defensegan && bpda_s && strcmp (bpda_s, "identity") != 0)
    {
      fprintf (stderr, "lq: --defense defensegan takes --bpda identity (the z search's backward "
               "is the identity); soft is for the LQ-VAE's quantizer\n");
      return 2;
    }
  LqAttackParams ap = { 0 };
  if (attack_s)
    {
      LqAttackKind kind;
      if (!lq_attack_kind_from_string (attack_s, &kind, &error))
        return lq_cli_fail (error, 2);
      ap = lq_attack_defaults (kind);
      if (preset && !lq_attack_cw_preset (preset, &ap, &error))
        return lq_cli_fail (error, 2);
      if (!isnan (eps))
        ap.eps = (float) eps;
      if (!isnan (step))
        ap.step = (float) step;
      if (steps > 0)
        ap.steps = steps;
      if (!lq_attack_params_check (&ap, &error))
        return lq_cli_fail (error, 2);
    }
  if (batch <= 0)
    {
      fprintf (stderr, "lq: --batch must be positive\n");
      return 2;
    }

  g_autoptr (LqClassifier) clf = model_file ? lq_classifier_load (model_file, &error)
                                            : lq_classifier_load_shipped (data, arch, &error);
  if (clf == NULL || (model_file && !lq_cli_check_data (model_file, clf->data, data, &error)))
    return lq_cli_fail (error, 1);
  g_autoptr (LqVae) vae = NULL;
  g_autoptr (LqGan) gan = NULL;
  if (defensegan)
    {
      gan = gan_file ? lq_gan_load (gan_file, &error) : lq_gan_load_shipped (data, &error);
      if (gan == NULL || (gan_file && !lq_cli_check_data (gan_file, lq_gan_data (gan), data, &error)))
        return lq_cli_fail (error, 1);
    }
  else if (defense || bpda_s)
    {
      vae = vae_file ? lq_vae_load (vae_file, &error) : lq_vae_load_shipped (data, &error);
      if (vae == NULL || (vae_file && !lq_cli_check_data (vae_file, lq_vae_data (vae), data, &error)))
        return lq_cli_fail (error, 1);
    }
  g_autoptr (LqDataset) test = n > 0 ? lq_dataset_load_prefix (data, LQ_SPLIT_TEST, n, &error)
                                     : lq_dataset_load (data, LQ_SPLIT_TEST, &error);
  if (test == NULL)
    return lq_cli_fail (error, 1);

  LqTarget *target = NULL;
  if (attack_s)
    {
      if (bpda_s)
        {
          gboolean soft = strcmp (bpda_s, "soft") == 0;
          if (!soft && strcmp (bpda_s, "identity") != 0)
            {
              fprintf (stderr, "lq: unknown BPDA mode '%s': expected soft or identity\n", bpda_s);
              return 2;
            }
          target = gan ? lq_target_new_defensegan (clf->net, gan, &search)
                       : lq_target_new_bpda (clf->net, vae, soft ? LQ_BPDA_SOFT : LQ_BPDA_IDENTITY);
        }
      else
        target = lq_target_new_classifier (clf->net);
    }

  const int L = vae ? lq_vae_config (vae)->latent : 0;
  float *probs = lq_floats_new ((size_t) batch * LQ_N_CLASSES);
  float *pur = lq_floats_new ((size_t) batch * LQ_IMAGE_SIZE);
  float *adv = lq_floats_new ((size_t) batch * LQ_IMAGE_SIZE);
  float *noisy = lq_floats_new ((size_t) batch * LQ_IMAGE_SIZE);
  float *mu = lq_floats_new ((size_t) batch * MAX (L, 1));
  float *mu2 = lq_floats_new ((size_t) batch * MAX (L, 1));
  g_autofree float *l2 = g_new (float, batch), *linf = g_new (float, batch);
  EvalTotals t = { .n = test->n };
  LqRng rng;
  lq_rng_seed (&rng, 12345);
  LqCliProgress progress = { .label = "eval", .unit = "img" };
  int rc = 0;
  for (int s = 0; s < test->n; s += batch)
    {
      const int m = MIN (batch, test->n - s);
      const float *x = test->images + (size_t) s * LQ_IMAGE_SIZE;
      const guint8 *y = test->labels + s;
      t.clean += count_correct (clf, x, y, m, probs);
      if (vae)
        {
          gint64 t0 = g_get_monotonic_time ();
          lq_vae_purify (vae, x, m, pur, mu);
          t.purify_seconds += (g_get_monotonic_time () - t0) / 1e6;
          t.purified += count_correct (clf, pur, y, m, probs);
          t.grad_norm += encoder_grad_norm (vae, x, m) * m;
          for (size_t i = 0; i < (size_t) m * LQ_IMAGE_SIZE; i++)
            {
              /* not inside CLAMP: the macro would draw the noise up to three times */
              float v = x[i] + 0.05f * (float) lq_rng_normal (&rng);
              noisy[i] = CLAMP (v, 0.0f, 1.0f);
            }
          lq_vae_encode (vae, noisy, m, mu2);
          t.noise_bits += (double) count_bit_flips (vae, mu, mu2, m, NULL) / L;
        }
      else if (gan)
        {
          gint64 t0 = g_get_monotonic_time ();
          if (!lq_defensegan_purify (gan, &search, x, m, pur, NULL, NULL, &error))
            {
              rc = lq_cli_fail (error, 1);
              break;
            }
          t.purify_seconds += (g_get_monotonic_time () - t0) / 1e6;
          t.purified += count_correct (clf, pur, y, m, probs);
        }
      if (target)
        {
          LqAttackStats st = { .l2 = l2, .linf = linf };
          gint64 t0 = g_get_monotonic_time ();
          if (!lq_attack_run (&ap, target, x, y, m, adv, &st, NULL, &error))
            {
              rc = lq_cli_fail (error, 1);
              break;
            }
          t.attack_seconds += (g_get_monotonic_time () - t0) / 1e6;
          for (int b = 0; b < m; b++)
            t.l2 += l2[b], t.linf += linf[b];
          t.attacked += count_correct (clf, adv, y, m, probs);
          if (vae)
            {
              lq_vae_purify (vae, adv, m, pur, mu2);
              t.attacked_purified += count_correct (clf, pur, y, m, probs);
              t.bits_flipped += (double) count_bit_flips (vae, mu, mu2, m, NULL) / L;
            }
          else if (gan)
            {
              if (!lq_defensegan_purify (gan, &search, adv, m, pur, NULL, NULL, &error))
                {
                  rc = lq_cli_fail (error, 1);
                  break;
                }
              t.attacked_purified += count_correct (clf, pur, y, m, probs);
            }
        }
      lq_cli_progress_cb (s + m, test->n, NULL, &progress);
    }
  if (target)
    lq_target_free (target);
  if (rc == 0)
    {
      if (vae)
        t.grad_norm /= t.n;
      if (json)
        print_json (&t, lq_data_kind_name (data), lq_arch_name (arch), attack_s,
                    vae ? "lqvae" : gan ? "defensegan" : NULL, vae != NULL);
      else
        {
          printf ("%s test split, first %d images, classifier %s (%s)\n",
                  lq_data_kind_title (data), t.n, lq_arch_name (arch), clf->path);
          printf ("  clean accuracy                 %6.2f %%\n", 100.0 * t.clean / t.n);
          if (vae)
            {
              printf ("  purified (LQ-VAE) accuracy     %6.2f %%   (%.3f ms/image to purify)\n",
                      100.0 * t.purified / t.n, 1e3 * t.purify_seconds / t.n);
              printf ("  mean ‖∇x Σ mu‖ ([−1,1] scale)  %8.4f  (penalty target K = 0.1)\n", t.grad_norm);
              printf ("  bits flipped by N(0, 0.05²)    %6.2f %%\n", 100.0 * t.noise_bits / t.n);
            }
          if (gan)
            printf ("  purified (Defense-GAN) accuracy %5.2f %%   (L %d, R %d: %.0f ms/image to purify)\n",
                    100.0 * t.purified / t.n, search.steps, search.restarts,
                    1e3 * t.purify_seconds / t.n);
          if (attack_s)
            {
              printf ("  attack %s%s: accuracy %6.2f %%, mean L2 %.3f, mean L∞ %.3f, %.1f ms/image\n",
                      attack_s, bpda_s ? (gan ? " (BPDA through Defense-GAN)" : " (BPDA)") : "",
                      100.0 * t.attacked / t.n, t.l2 / t.n, t.linf / t.n,
                      1e3 * t.attack_seconds / t.n);
              if (vae)
                printf ("  attacked, then purified        %6.2f %%   (%.2f %% of bits flipped)\n",
                        100.0 * t.attacked_purified / t.n, 100.0 * t.bits_flipped / t.n);
              if (gan)
                printf ("  attacked, then purified        %6.2f %%   (Defense-GAN)\n",
                        100.0 * t.attacked_purified / t.n);
            }
        }
    }
  float *bufs[] = { probs, pur, adv, noisy, mu, mu2 };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    lq_floats_free (bufs[i]);
  return rc;
}

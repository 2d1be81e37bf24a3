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
#include "lq-eval-cell.h"
#include "lq-models.h"
#include "lq-vae.h"

static void
print_json (const LqEvalTotals *t, const char *data, const char *model, const char *attack,
            const char *defense, gboolean latent_stats, int skip)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_add_string_value (b, data);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "attack");
  json_builder_add_string_value (b, attack ? attack : "none");
  json_builder_set_member_name (b, "skip");
  json_builder_add_int_value (b, skip);
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
          json_builder_add_double_value (b, t->noise_bits / t->n);
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
  /* `lq eval --table NAME`: the seed's tables (lq-cmd-table.c), with options of their own. */
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--table") == 0 || g_str_has_prefix (argv[i], "--table="))
      return lq_cmd_eval_table (argc, argv);
  g_autofree char *data_s = NULL, *model_s = NULL, *defense_s = NULL, *attack_s = NULL;
  g_autofree char *preset = NULL, *model_file = NULL, *vae_file = NULL, *bpda_s = NULL;
  g_autofree char *gan_file = NULL;
  LqGanSearch search = lq_gan_search_defaults ();
  int n = 0, batch = 100, skip = 0;
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
    { "skip", 0, 0, G_OPTION_ARG_INT, &skip, "Start after the first S test images (to split a long run)", "S" },
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
  if (skip < 0 || (n > 0 && skip > G_MAXINT - n))
    {
      fprintf (stderr, "lq: --skip must be from 0 to the size of the test split\n");
      return 2;
    }

  g_autoptr (LqClassifier) clf = lq_cli_load_classifier (data, arch, model_file, &error);
  if (clf == NULL)
    return lq_cli_fail (error, 1);
  g_autoptr (LqVae) vae = NULL;
  g_autoptr (LqGan) gan = NULL;
  if (defensegan && !(gan = lq_cli_load_gan (data, gan_file, &error)))
    return lq_cli_fail (error, 1);
  if (!defensegan && (defense || bpda_s) && !(vae = lq_cli_load_vae (data, vae_file, &error)))
    return lq_cli_fail (error, 1);
  g_autoptr (LqDataset) test = n > 0 ? lq_dataset_load_prefix (data, LQ_SPLIT_TEST, skip + n, &error)
                                     : lq_dataset_load (data, LQ_SPLIT_TEST, &error);
  if (test == NULL)
    return lq_cli_fail (error, 1);
  if (skip >= test->n)
    {
      fprintf (stderr, "lq: --skip %d leaves none of the %d test images\n", skip, test->n);
      return 2;
    }
  lq_dataset_drop_front (test, skip);

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

  /* The loop is lq_eval_cells (lq-eval-cell.c), shared with `lq eval --table` and `lq figure`. */
  LqEvalCell cell = { .clf = clf, .vae = vae, .gan = gan, .search = search, .n = test->n,
                      .purify_clean = TRUE, .latent_stats = vae != NULL };
  LqEvalCell *cells[] = { &cell };
  LqCliProgress progress = { .label = "eval", .unit = "img" };
  LqMonitor monitor = { lq_cli_progress_cb, &progress, NULL };
  int rc = 0;
  if (!lq_eval_cells (test, target, &ap, cells, 1, batch, NULL, NULL, &monitor, &error))
    rc = lq_cli_fail (error, 1);
  LqEvalTotals t = cell.totals;
  if (target)
    lq_target_free (target);
  if (rc == 0)
    {
      if (vae)
        t.grad_norm /= t.n;
      if (json)
        print_json (&t, lq_data_kind_name (data), lq_arch_name (arch), attack_s,
                    vae ? "lqvae" : gan ? "defensegan" : NULL, vae != NULL, skip);
      else
        {
          if (skip > 0)
            printf ("%s test split, images %d to %d, classifier %s (%s)\n",
                    lq_data_kind_title (data), skip + 1, skip + t.n, lq_arch_name (arch), clf->path);
          else
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
  return rc;
}

/* lq-cmd-attack.c: `lq attack` — attack one image and show what changed.
 *
 *   lq attack --data mnist --model A --attack fgsm|bim|pgd|deepfool|cw [--preset full|defense-gan|live]
 *             [--eps E --step S --steps N --norm linf|l2 --kappa K --seed S] [--target K]
 *             [--index I | --in image.png] [--out adv.png] [--defense lqvae|defensegan]
 *             [--gan-file F --gan-L L --gan-R R] [--bpda soft|identity] [--substitute B]
 *
 * Prints the prediction before and after with its confidence, the L2/L∞ norms, the iterations and
 * the time; with --defense lqvae also the purified predictions and how many latent bits the attack
 * flipped (H(mu) of the clean versus the adversarial image); with --defense defensegan the
 * predictions after Defense-GAN's z search and its reconstruction errors. --bpda attacks
 * classifier ∘ purifier end to end (BPDA; through Defense-GAN only as identity); --substitute
 * makes the example on another classifier and evaluates it on --model (black-box transfer).
 */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lq-attack.h"
#include "lq-cli-image.h"
#include "lq-cli-input.h"
#include "lq-cli-util.h"
#include "lq-cmd.h"
#include "lq-defensegan.h"
#include "lq-error.h"
#include "lq-models.h"
#include "lq-vae.h"

/* A number option given as a string, so that "nan" or "1e" are reported, not taken for absent. */
static gboolean
parse_number (const char *name, const char *s, double *out, GError **error)
{
  if (s == NULL)
    return TRUE;
  char *end = NULL;
  double v = g_ascii_strtod (s, &end);
  if (end == s || *end != '\0')
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "--%s: '%s' is not a number", name,
                   s);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static const char *
class_name (LqDataKind data, int k)
{
  return lq_data_class_names (data)[k];
}

/* "7" for MNIST, "7 (Sneaker)" where classes have names. */
static char *
class_label (LqDataKind data, int k)
{
  g_autofree char *digit = g_strdup_printf ("%d", k);
  const char *name = class_name (data, k);
  return g_strcmp0 (name, digit) == 0 ? g_steal_pointer (&digit)
                                       : g_strdup_printf ("%d (%s)", k, name);
}

static void
print_prediction (const char *what, LqDataKind data, const float *probs, guint8 pred)
{
  g_autofree char *c = class_label (data, pred);
  printf ("%-22s %-16s confidence %5.1f %%\n", what, c, 100.0 * probs[pred]);
}

static void
describe (const LqAttackParams *p, GString *s)
{
  const char *norm = p->norm == LQ_NORM_LINF ? "L∞" : "L2";
  switch (p->kind)
    {
    case LQ_ATTACK_FGSM:
      g_string_append_printf (s, "eps %g, %s", p->eps, norm);
      break;
    case LQ_ATTACK_BIM:
    case LQ_ATTACK_PGD:
      g_string_append_printf (s, "eps %g, step %g, %d steps, %s%s", p->eps, p->step, p->steps, norm,
                              p->kind == LQ_ATTACK_PGD && p->random_start ? ", random start" : "");
      break;
    case LQ_ATTACK_DEEPFOOL:
      g_string_append_printf (s, "%d iterations, overshoot %g", p->max_iter, p->overshoot);
      break;
    case LQ_ATTACK_CW:
      g_string_append_printf (s, "%d search steps × %d iterations, lr %g, c0 %g, κ %g",
                              p->cw_search_steps, p->cw_max_iter, p->cw_lr, p->cw_c0, p->cw_kappa);
      break;
    }
  if (p->targeted)
    g_string_append (s, ", targeted");
}

int
lq_cmd_attack (int argc, char **argv)
{
  g_autofree char *data_s = NULL, *model_s = NULL, *attack_s = NULL, *preset = NULL;
  g_autofree char *eps_s = NULL, *step_s = NULL, *kappa_s = NULL, *norm_s = NULL;
  g_autofree char *in = NULL, *out = NULL, *defense = NULL, *bpda_s = NULL, *subst_s = NULL;
  g_autofree char *gan_file = NULL;
  LqGanSearch search = lq_gan_search_defaults ();
  int steps = -1, index = -1, target = -1, scale = 1;
  gint64 seed = 0;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data_s, "Data set: mnist (default) or fmnist", "DATA" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model_s, "Classifier: A (default), B or C", "ARCH" },
    { "attack", 0, 0, G_OPTION_ARG_STRING, &attack_s, "fgsm (default), bim, pgd, deepfool or cw", "KIND" },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset, "Carlini–Wagner preset: full (default), defense-gan or live", "NAME" },
    { "eps", 0, 0, G_OPTION_ARG_STRING, &eps_s, "Budget on the [0, 1] scale (FGSM/BIM/PGD; default 0.3)", "E" },
    { "step", 0, 0, G_OPTION_ARG_STRING, &step_s, "Step size (BIM/PGD; default 0.01)", "S" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Number of steps (BIM/PGD; default 40)", "N" },
    { "norm", 0, 0, G_OPTION_ARG_STRING, &norm_s, "linf (default) or l2 (FGSM/BIM/PGD)", "NORM" },
    { "kappa", 0, 0, G_OPTION_ARG_STRING, &kappa_s, "Carlini–Wagner confidence κ (default 0)", "K" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of PGD's random start (default 0)", "S" },
    { "target", 0, 0, G_OPTION_ARG_INT, &target, "Targeted attack toward class K", "K" },
    { "index", 0, 0, G_OPTION_ARG_INT, &index, "Attack test image I", "I" },
    { "in", 0, 0, G_OPTION_ARG_FILENAME, &in, "Attack an image file instead (any format gdk-pixbuf reads)", "FILE" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Write the adversarial image (PNG)", "FILE" },
    { "scale", 0, 0, G_OPTION_ARG_INT, &scale, "Nearest-neighbour scale of the PNG (default 1)", "K" },
    { "defense", 0, 0, G_OPTION_ARG_STRING, &defense, "Also show a purifier's answer: lqvae or defensegan", "NAME" },
    { "gan-file", 0, 0, G_OPTION_ARG_FILENAME, &gan_file, "Defense-GAN generator instead of the shipped one", "FILE" },
    { "gan-L", 0, 0, G_OPTION_ARG_INT, &search.steps, "Defense-GAN: gradient steps per restart (default 200)", "L" },
    { "gan-R", 0, 0, G_OPTION_ARG_INT, &search.restarts, "Defense-GAN: random restarts (default 10)", "R" },
    { "bpda", 0, 0, G_OPTION_ARG_STRING, &bpda_s, "Attack classifier ∘ LQ-VAE end to end (BPDA): soft or identity", "MODE" },
    { "substitute", 0, 0, G_OPTION_ARG_STRING, &subst_s, "Black-box transfer: make the example on classifier B/C/A and evaluate it on --model", "ARCH" },
    { NULL },
  };
  if (!lq_cli_parse (&argc, &argv, entries,
                     "Attack one image and show what changed. Budgets are on the [0, 1] pixel scale."))
    return 2;

  g_autoptr (GError) error = NULL;
  LqDataKind data;
  LqArch arch, subst_arch = LQ_ARCH_A;
  LqAttackKind kind;
  if (!lq_data_kind_from_string (data_s ? data_s : "mnist", &data, &error) ||
      !lq_arch_from_string (model_s ? model_s : "A", &arch, &error) ||
      !lq_attack_kind_from_string (attack_s ? attack_s : "fgsm", &kind, &error) ||
      (subst_s && !lq_arch_from_string (subst_s, &subst_arch, &error)))
    return lq_cli_fail (error, 2);

  LqAttackParams p = lq_attack_defaults (kind);
  p.seed = (guint64) seed;
  if (preset)
    {
      if (kind != LQ_ATTACK_CW)
        {
          fprintf (stderr, "lq attack: --preset is for --attack cw\n");
          return 2;
        }
      if (!lq_attack_cw_preset (preset, &p, &error))
        return lq_cli_fail (error, 2);
    }
  double eps = p.eps, step = p.step, kappa = p.cw_kappa;
  if (!parse_number ("eps", eps_s, &eps, &error) || !parse_number ("step", step_s, &step, &error) ||
      !parse_number ("kappa", kappa_s, &kappa, &error))
    return lq_cli_fail (error, 2);
  p.eps = (float) eps, p.step = (float) step, p.cw_kappa = (float) kappa;
  if (steps != -1)
    p.steps = steps;
  if (norm_s)
    {
      if (g_ascii_strcasecmp (norm_s, "linf") == 0 || g_ascii_strcasecmp (norm_s, "inf") == 0)
        p.norm = LQ_NORM_LINF;
      else if (g_ascii_strcasecmp (norm_s, "l2") == 0)
        p.norm = LQ_NORM_L2;
      else
        {
          fprintf (stderr, "lq attack: --norm must be linf or l2\n");
          return 2;
        }
    }
  if (target != -1)
    {
      if (target < 0 || target >= LQ_N_CLASSES)
        {
          fprintf (stderr, "lq attack: --target must be a class from 0 to 9\n");
          return 2;
        }
      p.targeted = TRUE;
    }
  const gboolean defensegan = defense && g_ascii_strcasecmp (defense, "defensegan") == 0;
  if (defense && !defensegan && g_ascii_strcasecmp (defense, "lqvae") != 0)
    {
      fprintf (stderr, "lq attack: --defense must be lqvae or defensegan\n");
      return 2;
    }
  if (!lq_gan_search_check (&search, &error))
    return lq_cli_fail (error, 2);
  LqBpdaMode bpda = LQ_BPDA_SOFT;
  if (bpda_s)
    {
      if (g_ascii_strcasecmp (bpda_s, "soft") == 0)
        bpda = LQ_BPDA_SOFT;
      else if (g_ascii_strcasecmp (bpda_s, "identity") == 0)
        bpda = LQ_BPDA_IDENTITY;
      else
        {
          fprintf (stderr, "lq attack: --bpda must be soft or identity\n");
          return 2;
        }
      if (subst_s)
        {
          fprintf (stderr, "lq attack: --bpda and --substitute do not combine\n");
          return 2;
        }
      if (defensegan && bpda != LQ_BPDA_IDENTITY)
        {
          fprintf (stderr, "lq attack: --defense defensegan takes --bpda identity (the z search's "
                   "backward is the identity); soft is for the LQ-VAE's quantizer\n");
          return 2;
        }
    }
  if (scale < 1 || scale > 64)
    {
      fprintf (stderr, "lq attack: --scale must be 1 to 64\n");
      return 2;
    }
  if (!lq_attack_params_check (&p, &error))
    return lq_cli_fail (error, 2);

  float x[LQ_IMAGE_SIZE], adv[LQ_IMAGE_SIZE];
  guint8 label;
  if (!lq_cli_input_load (data, index, in, x, &label, &error))
    return lq_cli_fail (error, 1);
  g_autoptr (LqClassifier) clf = lq_classifier_load_shipped (data, arch, &error);
  if (clf == NULL)
    return lq_cli_fail (error, 1);
  g_autoptr (LqClassifier) sub = NULL;
  if (subst_s)
    {
      sub = lq_classifier_load_shipped (data, subst_arch, &error);
      if (sub == NULL)
        return lq_cli_fail (error, 1);
    }
  g_autoptr (LqVae) vae = NULL;
  g_autoptr (LqGan) gan = NULL;
  if (defensegan && !(gan = lq_cli_load_gan (data, gan_file, &error)))
    return lq_cli_fail (error, 1);
  if (!defensegan && (defense || bpda_s) && !(vae = lq_cli_load_vae (data, NULL, &error)))
    return lq_cli_fail (error, 1);

  float probs[LQ_N_CLASSES], probs_adv[LQ_N_CLASSES];
  guint8 pred, pred_adv;
  lq_classifier_predict (clf, x, 1, probs, &pred);
  /* untargeted attacks move away from the true class; for a file, from the model's answer */
  guint8 attack_label = p.targeted ? (guint8) target : label != 255 ? label : pred;

  g_autoptr (LqTarget) tgt = NULL;
  if (bpda_s)
    tgt = gan ? lq_target_new_defensegan (clf->net, gan, &search)
              : lq_target_new_bpda (clf->net, vae, bpda);
  else
    tgt = lq_target_new_classifier (sub ? sub->net : clf->net);
  if (tgt == NULL)
    {
      fprintf (stderr, "lq attack: the models do not fit together\n");
      return 1;
    }

  g_autoptr (GString) desc = g_string_new (NULL);
  describe (&p, desc);
  printf ("%-22s %s (%s) on %s model %s%s%s%s\n", "attack", lq_attack_kind_name (kind), desc->str,
          lq_data_kind_title (data), lq_arch_name (arch),
          bpda_s ? (gan ? " ∘ Defense-GAN, BPDA " : " ∘ LQ-VAE, BPDA ") : "",
          bpda_s ? (bpda == LQ_BPDA_SOFT ? "soft" : "identity") : "",
          sub ? " (made on the substitute)" : "");
  if (sub)
    printf ("%-22s model %s\n", "substitute", lq_arch_name (subst_arch));
  if (label != 255)
    {
      g_autofree char *c = class_label (data, label);
      printf ("%-22s test #%d, label %s\n", "image", index, c);
    }
  else
    printf ("%-22s %s\n", "image", in);
  if (p.targeted)
    {
      g_autofree char *c = class_label (data, target);
      printf ("%-22s %s\n", "target", c);
    }
  print_prediction ("before", data, probs, pred);

  LqCliProgress bar = { lq_attack_kind_name (kind), "steps", 0, 0 };
  LqMonitor monitor = { lq_cli_progress_cb, &bar, NULL };
  gboolean success;
  float l2, linf;
  int iterations;
  LqAttackStats stats = { &success, &l2, &linf, &iterations };
  gint64 t0 = g_get_monotonic_time ();
  if (!lq_attack_run (&p, tgt, x, &attack_label, 1, adv, &stats, &monitor, &error))
    return lq_cli_fail (error, 1);
  double ms = (g_get_monotonic_time () - t0) / 1e3;
  if (bar.last)
    fputc ('\n', stderr);

  lq_classifier_predict (clf, adv, 1, probs_adv, &pred_adv);
  if (sub)
    {
      float sp[LQ_N_CLASSES];
      guint8 spred;
      lq_classifier_predict (sub, adv, 1, sp, &spred);
      print_prediction ("after (substitute)", data, sp, spred);
    }
  print_prediction (bpda_s ? "after (no defense)" : "after", data, probs_adv, pred_adv);
  gboolean changed = p.targeted ? pred_adv == target : pred_adv != attack_label;
  const char *result = changed ? (p.targeted ? "reached the target" : "prediction changed")
                               : (p.targeted ? "target not reached" : "prediction unchanged");
  if (!p.targeted && pred != attack_label)
    result = "already misclassified before the attack";
  printf ("%-22s %s\n", "result", result);
  printf ("%-22s L2 %.4f   L∞ %.4f   iterations %d   time %.1f ms\n", "perturbation", l2, linf,
          iterations, ms);

  if (vae)
    {
      const int L = lq_vae_config (vae)->latent;
      float pur[LQ_IMAGE_SIZE], pur_adv[LQ_IMAGE_SIZE], pp[LQ_N_CLASSES], pa[LQ_N_CLASSES];
      g_autofree float *mu = g_new (float, L), *mu_adv = g_new (float, L);
      g_autofree guint8 *bits = g_new (guint8, L), *bits_adv = g_new (guint8, L);
      guint8 ppred, papred;
      lq_vae_purify (vae, x, 1, pur, mu);
      lq_vae_purify (vae, adv, 1, pur_adv, mu_adv);
      lq_vae_quantize (vae, mu, L, NULL, bits);
      lq_vae_quantize (vae, mu_adv, L, NULL, bits_adv);
      int flipped = 0;
      for (int j = 0; j < L; j++)
        flipped += bits[j] != bits_adv[j];
      lq_classifier_predict (clf, pur, 1, pp, &ppred);
      lq_classifier_predict (clf, pur_adv, 1, pa, &papred);
      print_prediction ("LQ-VAE, clean", data, pp, ppred);
      print_prediction ("LQ-VAE, adversarial", data, pa, papred);
      printf ("%-22s %d of %d\n", "latent bits flipped", flipped, L);
      gboolean broken = p.targeted ? papred == target : papred != attack_label;
      printf ("%-22s %s\n", "result with LQ-VAE",
              p.targeted ? (broken ? "reached the target" : "target not reached")
                         : (broken ? "prediction changed" : "prediction unchanged"));
    }

  if (gan)
    {
      float xs[2 * LQ_IMAGE_SIZE], pur[2 * LQ_IMAGE_SIZE], err[2], pp[2 * LQ_N_CLASSES];
      guint8 pred2[2];
      memcpy (xs, x, sizeof x);
      memcpy (xs + LQ_IMAGE_SIZE, adv, sizeof adv);
      LqGanSearchStats gs = { .err = err };
      LqCliProgress gbar = { "Defense-GAN", "steps", 0, 0 };
      LqMonitor gmon = { lq_cli_progress_cb, &gbar, NULL };
      gint64 g0 = g_get_monotonic_time ();
      if (!lq_defensegan_purify (gan, &search, xs, 2, pur, &gs, &gmon, &error))
        return lq_cli_fail (error, 1);
      double gms = (g_get_monotonic_time () - g0) / 1e3 / 2;
      lq_classifier_predict (clf, pur, 2, pp, pred2);
      print_prediction ("Defense-GAN, clean", data, pp, pred2[0]);
      print_prediction ("Defense-GAN, attacked", data, pp + LQ_N_CLASSES, pred2[1]);
      printf ("%-22s clean %.4f, adversarial %.4f (mean squared error per pixel; L %d, R %d, "
              "%.0f ms/image)\n", "reconstruction error", err[0], err[1], search.steps,
              search.restarts, gms);
      gboolean broken = p.targeted ? pred2[1] == target : pred2[1] != attack_label;
      printf ("%-22s %s\n", "result w/ Defense-GAN",
              p.targeted ? (broken ? "reached the target" : "target not reached")
                         : (broken ? "prediction changed" : "prediction unchanged"));
    }

  if (out)
    {
      if (!lq_cli_image_save (out, adv, scale, &error))
        return lq_cli_fail (error, 1);
      printf ("%-22s %s\n", "written", out);
    }
  return 0;
}

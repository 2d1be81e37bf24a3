/* lq-cmd-train.c: `lq train classifier …` and `lq train lqvae …` (`defensegan`: lq-cmd-train-gan.c). */
#include <glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "lq-cmd.h"
#include "lq-cli-util.h"
#include "lq-dataset.h"
#include "lq-error.h"
#include "lq-models.h"
#include "lq-net-io.h"
#include "lq-safetensors.h"
#include "lq-train-classifier.h"
#include "lq-train-vae.h"

static volatile sig_atomic_t interrupted;

static void
on_sigint (int sig)
{
  interrupted = 1;
}

static void
print_epoch (const LqClassifierEpochStats *s, gpointer user_data)
{
  fprintf (stderr, "\repoch %d: loss %.4f, train accuracy %.2f %%, %.0f s (%.0f img/s)\n",
           s->epoch, s->loss, 100 * s->train_acc, s->seconds,
           *(int *) user_data / MAX (s->seconds, 1e-9));
}

static int
train_classifier (int argc, char **argv)
{
  g_autofree char *arch_s = NULL, *data_s = NULL, *out = NULL, *init = NULL, *adv_s = NULL;
  LqClassifierTrainConfig cfg = lq_classifier_train_config_default ();
  gint64 seed = 1;
  double lr = cfg.lr, adv_eps = cfg.adv.eps, adv_step = cfg.adv.step;
  GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch_s, "Architecture: A, B or C", "ARCH" },
    { "data", 0, 0, G_OPTION_ARG_STRING, &data_s, "Data set: mnist or fmnist", "DATA" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &cfg.epochs, "Epochs (default 10)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &cfg.batch, "Batch size (default 128)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Adam learning rate (default 1e-3)", "LR" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "S" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Output file (default DATA-ARCH.safetensors)", "FILE" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, "Start from these weights (fine-tuning)", "FILE" },
    { "adv", 0, 0, G_OPTION_ARG_STRING, &adv_s,
      "Adversarial training: fgsm (Adv Tr: half clean, half FGSM) or pgd (Madry: PGD images only)",
      "KIND" },
    { "adv-eps", 0, 0, G_OPTION_ARG_DOUBLE, &adv_eps, "Its L∞ budget on the [0, 1] scale (default 0.3)", "E" },
    { "adv-step", 0, 0, G_OPTION_ARG_DOUBLE, &adv_step, "PGD step size (default 0.01)", "S" },
    { "adv-steps", 0, 0, G_OPTION_ARG_INT, &cfg.adv.steps, "PGD steps (default 40)", "N" },
    { NULL },
  };
  g_autofree char *cmdline = lq_cli_command_line (argc, argv, "lq train");
  if (!lq_cli_parse (&argc, &argv, entries, "classifier — train classifier A, B or C"))
    return 2;
  g_autoptr (GError) error = NULL;
  LqArch arch;
  LqDataKind data;
  if (!lq_arch_from_string (arch_s ? arch_s : "A", &arch, &error) ||
      !lq_data_kind_from_string (data_s ? data_s : "mnist", &data, &error) ||
      !lq_adv_kind_from_string (adv_s ? adv_s : "none", &cfg.adv.kind, &error))
    return lq_cli_fail (error, 2);
  cfg.seed = (guint64) seed;
  cfg.lr = (float) lr;
  cfg.adv.eps = (float) adv_eps;
  cfg.adv.step = (float) adv_step;
  g_autoptr (LqDataset) train = lq_dataset_load (data, LQ_SPLIT_TRAIN, &error);
  if (train == NULL)
    return lq_cli_fail (error, 1);
  /* The seed's table names: Madry (PGD training) and Adv Tr (FGSM training). */
  const char *suffix = cfg.adv.kind == LQ_ADV_PGD ? "-madry" : cfg.adv.kind == LQ_ADV_FGSM ? "-advtr" : "";
  if (out == NULL)
    out = g_strdup_printf ("%s-%s%s.safetensors", lq_data_kind_name (data), lq_arch_name (arch), suffix);

  g_autoptr (LqNet) net = lq_classifier_new (arch);
  LqRng rng;
  lq_rng_seed (&rng, cfg.seed);
  lq_net_init (net, &rng);
  g_autofree char *init_history = NULL;
  if (init)
    {
      g_autoptr (LqClassifier) start = lq_classifier_load (init, &error);
      if (start == NULL)
        return lq_cli_fail (error, 1);
      if (start->arch != arch || start->data != data)
        {
          fprintf (stderr, "lq: %s holds classifier %s for %s\n", init, lq_arch_name (start->arch),
                   lq_data_kind_name (start->data));
          return 1;
        }
      g_autoptr (LqSafetensors) st = lq_safetensors_load (init, &error);
      if (st == NULL || !lq_net_load_from (net, st, NULL, &error))
        return lq_cli_fail (error, 1);
      /* Keep the whole recipe: the command that made the starting point, then this one. */
      const char *prev = lq_safetensors_metadata (st, "command");
      const char *prev_epochs = lq_safetensors_metadata (st, "epochs");
      init_history = g_strdup_printf ("%s (%s epochs)", prev ? prev : init, prev_epochs ? prev_epochs : "?");
    }
  fprintf (stderr, "training classifier %s on %s (%d images, %d epochs, batch %d, seed %" G_GUINT64_FORMAT "%s%s)\n",
           lq_arch_name (arch), lq_data_kind_title (data), train->n, cfg.epochs, cfg.batch, cfg.seed,
           cfg.adv.kind != LQ_ADV_NONE ? ", adversarial training " : "",
           cfg.adv.kind != LQ_ADV_NONE ? lq_adv_kind_name (cfg.adv.kind) : "");
  LqCliProgress progress = { .label = "train", .unit = "img" };
  LqMonitor monitor = { lq_cli_progress_cb, &progress, NULL };
  gint64 t0 = g_get_monotonic_time ();
  int per_epoch = train->n / cfg.batch * cfg.batch;
  if (!lq_train_classifier (net, train, &cfg, print_epoch, &per_epoch, &monitor, &error))
    return lq_cli_fail (error, 1);
  double seconds = (g_get_monotonic_time () - t0) / 1e6;

  g_autoptr (GHashTable) md = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (md, g_strdup ("arch"), g_strdup_printf ("classifier-%s", lq_arch_name (arch)));
  g_hash_table_insert (md, g_strdup ("dataset"), g_strdup (lq_data_kind_name (data)));
  g_hash_table_insert (md, g_strdup ("seed"), g_strdup_printf ("%" G_GUINT64_FORMAT, cfg.seed));
  g_hash_table_insert (md, g_strdup ("epochs"), g_strdup_printf ("%d", cfg.epochs));
  g_hash_table_insert (md, g_strdup ("recipe"),
                       g_strdup_printf ("Adam lr %g for epochs 1-%d, %g after; batch %d, "
                                        "softmax cross-entropy, no augmentation",
                                        cfg.lr, lq_classifier_decay_epoch (&cfg), cfg.lr * 0.1f,
                                        cfg.batch));
  if (cfg.adv.kind == LQ_ADV_FGSM)
    g_hash_table_insert (md, g_strdup ("adversarial"),
                         g_strdup_printf ("fgsm eps %g; loss half clean, half adversarial", cfg.adv.eps));
  else if (cfg.adv.kind == LQ_ADV_PGD)
    g_hash_table_insert (md, g_strdup ("adversarial"),
                         g_strdup_printf ("pgd eps %g step %g steps %d, random start; loss on the "
                                          "adversarial images only", cfg.adv.eps, cfg.adv.step,
                                          cfg.adv.steps));
  g_hash_table_insert (md, g_strdup ("command"), g_strdup (cmdline));
  if (init_history)
    g_hash_table_insert (md, g_strdup ("init"), g_strdup (init_history));
  g_hash_table_insert (md, g_strdup ("train_seconds"), g_strdup_printf ("%.0f", seconds));
  if (!lq_net_save (net, out, md, LQ_DTYPE_F16, &error))
    return lq_cli_fail (error, 1);
  fprintf (stderr, "saved %s after %.0f s; measure it with: lq eval --data %s --model %s\n", out,
           seconds, lq_data_kind_name (data), lq_arch_name (arch));
  return 0;
}

/* One status line: redrawn in place on a terminal, appended to a log otherwise. */
static void
print_vae_progress (const LqVaeTrainStats *s, guint64 target, double img_s, guint64 start)
{
  const gboolean tty = isatty (STDERR_FILENO);
  double eta = img_s > 0 ? (double) (target - s->step) * 64 / img_s : 0;
  fprintf (stderr,
           "%sstep %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "  KL %.4f  L_h %.4f  L_g %.4f  "
           "GP %.5f  |grad mu| %.4f  %.1f img/s  ETA %02d:%02d:%02d %s",
           tty ? "\r" : "", s->step, target, s->kl, s->l_h, s->l_g, s->gp, s->grad_norm, img_s, (int) eta / 3600,
           (int) eta / 60 % 60, (int) eta % 60, tty ? "" : "\n");
}

static int
train_lqvae (int argc, char **argv)
{
  g_autofree char *data_s = NULL, *out = NULL, *ckpt = NULL, *config = NULL;
  gint64 steps = 20000, seed = 1;
  gboolean resume = FALSE, whole_batch = FALSE;
  double ckpt_minutes = 5;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data_s, "Data set: mnist or fmnist", "DATA" },
    { "steps", 0, 0, G_OPTION_ARG_INT64, &steps, "Total training steps (default 20000)", "N" },
    { "whole-batch", 0, 0, G_OPTION_ARG_NONE, &whole_batch,
      "Each step on the whole batch, not its two halves on two cores (the rounding of checkpoints "
      "from before Dec 3, 2026)", NULL },
    { "config", 0, 0, G_OPTION_ARG_STRING, &config, "paper (default), compact or small (the shipped one)", "NAME" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "S" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume, "Continue from the checkpoint", NULL },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &ckpt,
      "Checkpoint file (default DATA-lqvae.ckpt.safetensors)", "FILE" },
    { "checkpoint-minutes", 0, 0, G_OPTION_ARG_DOUBLE, &ckpt_minutes,
      "Minutes between checkpoints (default 5)", "M" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out,
      "Final weights, encoder + g (default DATA-lqvae.safetensors)", "FILE" },
    { NULL },
  };
  g_autofree char *cmdline = lq_cli_command_line (argc, argv, "lq train");
  if (!lq_cli_parse (&argc, &argv, entries, "lqvae — train the LQ-VAE purifier (Algorithm 1)"))
    return 2;
  g_autoptr (GError) error = NULL;
  LqDataKind data;
  if (!lq_data_kind_from_string (data_s ? data_s : "mnist", &data, &error))
    return lq_cli_fail (error, 2);
  LqVaeTrainConfig cfg = lq_vae_train_config_default (data);
  if (!lq_vae_config_from_name (config ? config : "paper", &cfg.vae, &error))
    return lq_cli_fail (error, 2);
  if (steps <= 0 || !(ckpt_minutes > 0))
    {
      fprintf (stderr, "lq train lqvae: --steps and --checkpoint-minutes must be positive\n");
      return 2;
    }
  cfg.seed = (guint64) seed;
  cfg.whole_batch = whole_batch;
  if (ckpt == NULL)
    ckpt = g_strdup_printf ("%s-lqvae.ckpt.safetensors", lq_data_kind_name (data));
  if (out == NULL)
    out = g_strdup_printf ("%s-lqvae.safetensors", lq_data_kind_name (data));
  g_autoptr (LqDataset) train = lq_dataset_load (data, LQ_SPLIT_TRAIN, &error);
  if (train == NULL)
    return lq_cli_fail (error, 1);
  g_autoptr (LqVaeTrainer) trainer = lq_vae_trainer_new (&cfg, train);
  if (resume)
    {
      if (!lq_vae_trainer_resume (trainer, ckpt, &error))
        return lq_cli_fail (error, 1);
      fprintf (stderr, "resumed %s at step %" G_GUINT64_FORMAT "\n", ckpt,
               lq_vae_trainer_steps (trainer));
    }
  g_autoptr (GHashTable) md = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (md, g_strdup ("config"), g_strdup (config ? config : "paper"));
  g_hash_table_insert (md, g_strdup ("command"), g_strdup (cmdline));
  g_hash_table_insert (md, g_strdup ("recipe"),
                       g_strdup ("Algorithm 1: TF RMSProp lr 3e-4 x 0.98^(step/10000), batch 64, "
                                 "t 0.1, 10 MSE, KL/(latent batch), 10 GP with K 0.1"));

  struct sigaction sa = { .sa_handler = on_sigint };
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  const guint64 start = lq_vae_trainer_steps (trainer);
  fprintf (stderr, "training LQ-VAE (%s: latent %d, width %d, hidden %d) on %s, steps %" G_GUINT64_FORMAT
           " → %" G_GINT64_FORMAT "\n", config ? config : "paper", cfg.vae.latent, cfg.vae.width,
           cfg.vae.hidden, lq_data_kind_title (data), start, steps);
  gint64 t_start = g_get_monotonic_time (), t_ckpt = t_start, t_report = 0;
  guint64 done_here = 0;
  LqVaeTrainStats s = { .step = start };
  while (lq_vae_trainer_steps (trainer) < (guint64) steps && !interrupted)
    {
      if (!lq_vae_trainer_step (trainer, &s, &error))
        return lq_cli_fail (error, 1);
      done_here++;
      gint64 now = g_get_monotonic_time ();
      double img_s = done_here * cfg.batch / ((now - t_start) / 1e6);
      if (now - t_report > (isatty (STDERR_FILENO) ? 500000 : 30000000))
        {
          print_vae_progress (&s, steps, img_s, start);
          t_report = now;
        }
      if (now - t_ckpt > ckpt_minutes * 60e6)
        {
          if (!lq_vae_trainer_save (trainer, ckpt, md, &error))
            return lq_cli_fail (error, 1);
          t_ckpt = now;
        }
    }
  print_vae_progress (&s, steps, done_here * cfg.batch / ((g_get_monotonic_time () - t_start) / 1e6), start);
  fprintf (stderr, "\n");
  if (!lq_vae_trainer_save (trainer, ckpt, md, &error))
    return lq_cli_fail (error, 1);
  if (interrupted)
    {
      fprintf (stderr, "interrupted: checkpoint saved at step %" G_GUINT64_FORMAT " in %s; continue with --resume\n",
               lq_vae_trainer_steps (trainer), ckpt);
      return 130;
    }
  g_hash_table_insert (md, g_strdup ("steps"), g_strdup_printf ("%" G_GUINT64_FORMAT, lq_vae_trainer_steps (trainer)));
  g_hash_table_insert (md, g_strdup ("seed"), g_strdup_printf ("%" G_GUINT64_FORMAT, cfg.seed));
  if (!lq_vae_save (lq_vae_trainer_vae (trainer), out, FALSE, NULL, NULL, md, LQ_DTYPE_F16, &error))
    return lq_cli_fail (error, 1);
  fprintf (stderr, "saved %s (encoder + decoder g) and checkpoint %s\n", out, ckpt);
  return 0;
}

int
lq_cmd_train (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "classifier") == 0)
    return train_classifier (argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "lqvae") == 0)
    return train_lqvae (argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "defensegan") == 0)
    return lq_cmd_train_defensegan (argc - 1, argv + 1);
  fprintf (stderr, "Usage: lq train classifier|lqvae|defensegan [OPTIONS]  (see lq train classifier --help)\n");
  return 2;
}

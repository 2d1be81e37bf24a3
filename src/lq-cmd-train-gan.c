/* lq-cmd-train-gan.c: `lq train defensegan` — WGAN-GP training of Defense-GAN's generator. */
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "lq-cmd.h"
#include "lq-cli-util.h"
#include "lq-error.h"
#include "lq-train-gan.h"

static volatile sig_atomic_t interrupted;

static void
on_signal (int sig)
{
  interrupted = 1;
}

typedef struct {
  GCancellable *cancel;
  guint64 start;       /* step at launch */
  gint64 t0, last;     /* microseconds */
} Progress;

/* One status line: redrawn in place on a terminal, appended every 30 s to a log otherwise. The
 * signal handler only sets a flag; the cancellable is cancelled here, on the training thread. */
static void
on_progress (guint64 done, guint64 total, const char *status, gpointer user_data)
{
  Progress *p = user_data;
  if (interrupted)
    g_cancellable_cancel (p->cancel);
  const gboolean tty = isatty (STDERR_FILENO);
  gint64 now = g_get_monotonic_time ();
  if (now - p->last < (tty ? 500000 : 30000000) && done < total && !interrupted)
    return;
  p->last = now;
  double secs = (now - p->t0) / 1e6, per_step = secs / MAX (done - p->start, 1);
  double eta = per_step * (total - done);
  fprintf (stderr, "%sstep %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "  %s  %.2f s/step  ETA %02d:%02d:%02d %s",
           tty ? "\r" : "", done, total, status, per_step, (int) eta / 3600, (int) eta / 60 % 60,
           (int) eta % 60, tty ? "" : "\n");
}

int
lq_cmd_train_defensegan (int argc, char **argv)
{
  g_autofree char *data_s = NULL, *out = NULL, *ckpt = NULL, *config = NULL;
  gint64 steps = 200000, seed = 1;
  gboolean resume = FALSE;
  double ckpt_minutes = 5;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data_s, "Data set: mnist or fmnist", "DATA" },
    { "steps", 0, 0, G_OPTION_ARG_INT64, &steps,
      "Total generator steps, each after 5 critic steps (default 200000, Defense-GAN's)", "N" },
    { "config", 0, 0, G_OPTION_ARG_STRING, &config, "paper (default) or tiny (smoke tests)", "NAME" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "S" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume, "Continue from the checkpoint", NULL },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &ckpt,
      "Checkpoint file (default DATA-defensegan.ckpt.safetensors)", "FILE" },
    { "checkpoint-minutes", 0, 0, G_OPTION_ARG_DOUBLE, &ckpt_minutes,
      "Minutes between checkpoints (default 5)", "M" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out,
      "Final generator weights (default DATA-defensegan.safetensors)", "FILE" },
    { NULL },
  };
  g_autofree char *cmdline = lq_cli_command_line (argc, argv, "lq train");
  if (!lq_cli_parse (&argc, &argv, entries,
                     "defensegan — train Defense-GAN's WGAN-GP generator (the baseline purifier)"))
    return 2;
  g_autoptr (GError) error = NULL;
  LqDataKind data;
  if (!lq_data_kind_from_string (data_s ? data_s : "mnist", &data, &error))
    return lq_cli_fail (error, 2);
  LqGanTrainConfig cfg = lq_gan_train_config_default (data);
  if (!lq_gan_config_from_name (config ? config : "paper", &cfg.gan, &error))
    return lq_cli_fail (error, 2);
  if (steps <= 0 || !(ckpt_minutes > 0))
    {
      fprintf (stderr, "lq train defensegan: --steps and --checkpoint-minutes must be positive\n");
      return 2;
    }
  cfg.seed = (guint64) seed;
  const char *name = lq_data_kind_name (data);
  if (ckpt == NULL)
    ckpt = g_strdup_printf ("%s-defensegan.ckpt.safetensors", name);
  if (out == NULL)
    out = g_strdup_printf ("%s-defensegan.safetensors", name);
  g_autoptr (LqDataset) train = lq_dataset_load (data, LQ_SPLIT_TRAIN, &error);
  if (train == NULL)
    return lq_cli_fail (error, 1);
  g_autoptr (LqGanTrainer) trainer = lq_gan_trainer_new (&cfg, train);
  if (resume)
    {
      if (!lq_gan_trainer_resume (trainer, ckpt, &error))
        return lq_cli_fail (error, 1);
      fprintf (stderr, "resumed %s at step %" G_GUINT64_FORMAT "\n", ckpt,
               lq_gan_trainer_steps (trainer));
    }
  g_autoptr (GHashTable) md = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (md, g_strdup ("config"), g_strdup (config ? config : "paper"));
  g_hash_table_insert (md, g_strdup ("command"), g_strdup (cmdline));
  g_hash_table_insert (md, g_strdup ("recipe"),
                       g_strdup_printf ("WGAN-GP: %d critic steps per generator step, lambda %g, "
                                        "Adam lr %g beta1 %g beta2 %g, batch %d, z ~ N(0, I)",
                                        cfg.critic_iters, cfg.gp_weight, cfg.lr, cfg.beta1,
                                        cfg.beta2, cfg.batch));

  struct sigaction sa = { .sa_handler = on_signal };
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  Progress prog = { cancel, lq_gan_trainer_steps (trainer), g_get_monotonic_time (), 0 };
  LqMonitor monitor = { on_progress, &prog, cancel };
  fprintf (stderr, "training Defense-GAN (%s: latent %d, d %d) on %s, steps %" G_GUINT64_FORMAT
           " → %" G_GINT64_FORMAT "\n", config ? config : "paper", cfg.gan.latent, cfg.gan.dim,
           lq_data_kind_title (data), prog.start, steps);
  gint64 t0 = g_get_monotonic_time ();
  if (!lq_train_gan (trainer, (guint64) steps, ckpt, ckpt_minutes * 60, md, &monitor, &error))
    {
      fprintf (stderr, "\n");
      if (g_error_matches (error, LQ_ERROR, LQ_ERROR_CANCELLED))
        {
          fprintf (stderr, "interrupted: checkpoint saved at step %" G_GUINT64_FORMAT " in %s; "
                   "continue with --resume\n", lq_gan_trainer_steps (trainer), ckpt);
          return 130;
        }
      return lq_cli_fail (error, 1);
    }
  fprintf (stderr, "\n");
  g_hash_table_insert (md, g_strdup ("steps"),
                       g_strdup_printf ("%" G_GUINT64_FORMAT, lq_gan_trainer_steps (trainer)));
  g_hash_table_insert (md, g_strdup ("seed"), g_strdup_printf ("%" G_GUINT64_FORMAT, cfg.seed));
  g_hash_table_insert (md, g_strdup ("train_seconds_this_run"),
                       g_strdup_printf ("%.0f", (g_get_monotonic_time () - t0) / 1e6));
  if (!lq_gan_save (lq_gan_trainer_gan (trainer), out, NULL, NULL, md, LQ_DTYPE_F16, &error))
    return lq_cli_fail (error, 1);
  fprintf (stderr, "saved %s (generator) and checkpoint %s; use it with: lq eval --data %s "
           "--defense defensegan --gan-file %s\n", out, ckpt, name, out);
  return 0;
}

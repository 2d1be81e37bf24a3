/* lq-cli-util.c */
#include "lq-cli-util.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "lq-error.h"

gboolean
lq_cli_parse (int *argc, char ***argv, const GOptionEntry *entries, const char *summary)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  g_option_context_set_summary (ctx, summary);
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      fprintf (stderr, "lq: %s\n", error->message);
      return FALSE;
    }
  if (*argc > 1)
    {
      fprintf (stderr, "lq: unexpected argument '%s'\n", (*argv)[1]);
      return FALSE;
    }
  return TRUE;
}

int
lq_cli_fail (const GError *error, int code)
{
  /* Messages quote file names as given, which need not be UTF-8. */
  g_autofree char *msg = g_utf8_make_valid (error->message, -1);
  fprintf (stderr, "lq: %s\n", msg);
  return code;
}

gboolean
lq_cli_check_data (const char *path, LqDataKind have, LqDataKind want, GError **error)
{
  if (have == want)
    return TRUE;
  g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
               "%s holds weights for %s, not %s (use --data %s, or weights for %s)", path,
               lq_data_kind_title (have), lq_data_kind_title (want), lq_data_kind_name (have),
               lq_data_kind_title (want));
  return FALSE;
}

LqClassifier *
lq_cli_load_classifier (LqDataKind data, LqArch arch, const char *file, GError **error)
{
  LqClassifier *c = file ? lq_classifier_load (file, error) : lq_classifier_load_shipped (data, arch, error);
  if (c && file && !lq_cli_check_data (file, c->data, data, error))
    g_clear_pointer (&c, lq_classifier_free);
  return c;
}

LqVae *
lq_cli_load_vae (LqDataKind data, const char *file, GError **error)
{
  LqVae *v = file ? lq_vae_load (file, error) : lq_vae_load_shipped (data, error);
  if (v && file && !lq_cli_check_data (file, lq_vae_data (v), data, error))
    g_clear_pointer (&v, lq_vae_free);
  return v;
}

LqGan *
lq_cli_load_gan (LqDataKind data, const char *file, GError **error)
{
  LqGan *g = file ? lq_gan_load (file, error) : lq_gan_load_shipped (data, error);
  if (g && file && !lq_cli_check_data (file, lq_gan_data (g), data, error))
    g_clear_pointer (&g, lq_gan_free);
  return g;
}

char *
lq_cli_command_line (int argc, char **argv, const char *prefix)
{
  GString *s = g_string_new (prefix);
  for (int i = 0; i < argc; i++)
    {
      g_autofree char *q = g_shell_quote (argv[i]);
      g_string_append_c (s, ' ');
      g_string_append (s, strpbrk (argv[i], " '\"\\$") ? q : argv[i]);
    }
  return g_string_free (s, FALSE);
}

void
lq_cli_progress_cb (guint64 done, guint64 total, const char *status, gpointer user_data)
{
  LqCliProgress *p = user_data;
  static int enabled = -1;
  if (enabled < 0)
    enabled = isatty (STDERR_FILENO) || g_strcmp0 (g_getenv ("LQ_PROGRESS"), "1") == 0;
  gint64 now = g_get_monotonic_time ();
  if (p->t0 == 0)
    p->t0 = now;
  if (!enabled || (now - p->last < 250000 && done < total))
    return;
  p->last = now;
  double frac = total ? (double) done / total : 0, secs = (now - p->t0) / 1e6;
  double rate = secs > 0 ? done / secs : 0, eta = rate > 0 ? (total - done) / rate : 0;
  char bar[31];
  int fill = (int) (frac * 30);
  for (int i = 0; i < 30; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[30] = 0;
  fprintf (stderr, "\r%s [%s] %3.0f %% %.0f %s/s ETA %02d:%02d:%02d ", p->label, bar, 100 * frac, rate,
           p->unit, (int) eta / 3600, (int) eta / 60 % 60, (int) eta % 60);
  if (done >= total)
    fprintf (stderr, "\n");
}

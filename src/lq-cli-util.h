/* lq-cli-util.h: what every `lq` subcommand shares — option parsing, errors, a progress bar. */
#pragma once
#include <glib.h>
#include "lq-dataset.h"
#include "lq-gan.h"
#include "lq-models.h"
#include "lq-vae.h"

/* Parses options with GOptionContext; prints the error and returns FALSE on bad usage. */
gboolean lq_cli_parse (int *argc, char ***argv, const GOptionEntry *entries, const char *summary);
/* Prints "lq: <message>" on stderr and returns code. */
int      lq_cli_fail (const GError *error, int code);
/* Checks that the weights in path (made for `have`) fit the command's --data (`want`): weights
 * for the other data set load fine and give meaningless answers. */
gboolean lq_cli_check_data (const char *path, LqDataKind have, LqDataKind want, GError **error);
/* The models of a command: from a file the user named (checked to be for `data`), else the
 * shipped one; NULL with an error saying which file and how to get it. */
LqClassifier *lq_cli_load_classifier (LqDataKind data, LqArch arch, const char *file, GError **error);
LqVae        *lq_cli_load_vae (LqDataKind data, const char *file, GError **error);
LqGan        *lq_cli_load_gan (LqDataKind data, const char *file, GError **error);
/* "lq train lqvae --data mnist …" for weight-file metadata. */
char    *lq_cli_command_line (int argc, char **argv, const char *prefix);

typedef struct {
  const char *label;
  const char *unit;
  gint64 t0;        /* set on the first call */
  gint64 last;      /* last redraw, microseconds */
} LqCliProgress;

/* An LqProgressFunc drawing "label [#####.....] 45 % 1234 unit/s ETA 00:01:02" on stderr (only
 * when stderr is a terminal or LQ_PROGRESS=1; at most 4 redraws a second). */
void     lq_cli_progress_cb (guint64 done, guint64 total, const char *status, gpointer user_data);

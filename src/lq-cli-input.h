/* lq-cli-input.h: the one image a command works on — a test image by index or a file. */
#pragma once
#include <glib.h>
#include "lq-dataset.h"

/* Fills x[784] from --index (a test image; *label gets its class) or --in (a file; *label = 255).
 * Exactly one of index >= 0 and path must be given. */
gboolean lq_cli_input_load (LqDataKind data, int index, const char *path, float *x, guint8 *label,
                            GError **error);

/* lq-cli-image.h: image files for the command line (gdk-pixbuf decodes; the core converts). */
#pragma once
#include <glib.h>

/* Reads any image gdk-pixbuf knows and converts it the MNIST way into out[784] in [0, 1]. */
gboolean lq_cli_image_load (const char *path, float *out, GError **error);
/* Writes a 28×28 image in [0, 1] (ink white on black, as MNIST) as a greyscale PNG scaled by
 * `scale` with nearest neighbour, atomically. */
gboolean lq_cli_image_save (const char *path, const float *img, int scale, GError **error);

/* lq-cmd-purify.c: `lq purify` — x̂ = g(H(mu(x))) for one image, written as a PNG. */
#include <glib.h>
#include <stdio.h>
#include "lq-cli-image.h"
#include "lq-cli-input.h"
#include "lq-cli-util.h"
#include "lq-cmd.h"
#include "lq-models.h"
#include "lq-vae.h"

int
lq_cmd_purify (int argc, char **argv)
{
  g_autofree char *data_s = NULL, *in = NULL, *out = NULL, *vae_file = NULL;
  int index = -1, scale = 1;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data_s, "Data set: mnist or fmnist", "DATA" },
    { "in", 0, 0, G_OPTION_ARG_FILENAME, &in, "Input image (any format gdk-pixbuf reads)", "FILE" },
    { "index", 0, 0, G_OPTION_ARG_INT, &index, "Use test image N instead of --in", "N" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Purified image (PNG)", "FILE" },
    { "scale", 0, 0, G_OPTION_ARG_INT, &scale, "Nearest-neighbour scale of the PNG (default 1)", "K" },
    { "lqvae-file", 0, 0, G_OPTION_ARG_FILENAME, &vae_file, "LQ-VAE weights instead of the shipped ones", "FILE" },
    { NULL },
  };
  if (!lq_cli_parse (&argc, &argv, entries, "Purify an image with the LQ-VAE: g(H(mu(x)))"))
    return 2;
  if (out == NULL || scale < 1 || scale > 64)
    {
      fprintf (stderr, "lq purify: --out is required and --scale must be 1 to 64\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  LqDataKind data;
  if (!lq_data_kind_from_string (data_s ? data_s : "mnist", &data, &error))
    return lq_cli_fail (error, 2);
  float x[LQ_IMAGE_SIZE], y[LQ_IMAGE_SIZE];
  guint8 label;
  if (!lq_cli_input_load (data, index, in, x, &label, &error))
    return lq_cli_fail (error, 1);
  g_autoptr (LqVae) vae = lq_cli_load_vae (data, vae_file, &error);
  if (vae == NULL)
    return lq_cli_fail (error, 1);
  gint64 t0 = g_get_monotonic_time ();
  lq_vae_purify (vae, x, 1, y, NULL);
  double ms = (g_get_monotonic_time () - t0) / 1e3;
  if (!lq_cli_image_save (out, y, scale, &error))
    return lq_cli_fail (error, 1);
  printf ("purified in %.2f ms → %s\n", ms, out);
  return 0;
}

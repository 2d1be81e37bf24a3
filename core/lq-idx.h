/* lq-idx.h: the IDX format of MNIST and Fashion-MNIST (unsigned bytes), plain or gzip.
 * Strict: magic 0x00000803 / 0x00000801 (ubyte, 1 to 4 dims), dims > 0, exact size, no trailing
 * bytes, overflow-checked products; gzip input is recognised by its magic bytes. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Cap on the (decompressed) size of one IDX file: MNIST's largest is 47 MB; a gzip bomb or a
 * lying header stops here instead of exhausting memory. */
#define LQ_IDX_MAX_BYTES ((gsize) 64 << 20)

typedef struct {
  int ndim;
  int dims[4];
  guint8 *data;  /* dims product bytes */
  gsize size;
} LqIdx;

LqIdx   *lq_idx_load (const char *path, GError **error);
LqIdx   *lq_idx_parse (const guint8 *data, gsize len, GError **error); /* plain or gzip bytes */
/* Like lq_idx_load, keeping only the first n items along the first dimension (0 ≤ n ≤ dims[0]);
 * total (may be NULL) gets the file's own dims[0]. The whole file is still checked (exact size; a
 * gzip file is decompressed in full), but a plain file's data past the prefix is not read. */
LqIdx   *lq_idx_load_prefix (const char *path, int n, int *total, GError **error);
/* TRUE when the bytes start with the gzip magic 1f 8b. */
gboolean lq_idx_is_gzip (const guint8 *data, gsize len);
/* Inflates gzip bytes (at most LQ_IDX_MAX_BYTES out; one member, no trailing bytes). */
GBytes  *lq_gunzip (const guint8 *data, gsize len, GError **error);
void     lq_idx_free (LqIdx *idx);
/* Labels file check: one dim, every value < classes. */
gboolean lq_idx_check_labels (const LqIdx *idx, int classes, GError **error);
GBytes  *lq_idx_serialize (const LqIdx *idx);  /* plain IDX bytes */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqIdx, lq_idx_free)

G_END_DECLS

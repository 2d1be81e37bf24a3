/* lq-safetensors.h: the safetensors weight format (F32 and F16; F16 is widened to F32 on load).
 *
 * Reading validates the whole header before touching data: header size cap (100 MB), JSON object
 * of {name: {dtype, shape, data_offsets}} plus an optional "__metadata__" of string→string,
 * overflow-checked offsets, byte size = numel × dtype size, offsets sorted, contiguous and
 * non-overlapping, covering the data section exactly (no trailing bytes), no duplicate names,
 * NaN/Inf values rejected; also duplicate keys at any level (json-glib alone would keep the
 * last), unknown keys in an entry, more than 4 dimensions, and JSON that json-glib tolerates but
 * strict parsers refuse (hex/octal numbers, integers of 19+ digits, comments, trailing data).
 * Unsupported dtypes fail with LQ_ERROR_UNSUPPORTED, other bad files with LQ_ERROR_FORMAT, a
 * missing file with LQ_ERROR_MISSING_DATA.
 * Writing serializes to memory, writes a temporary file beside the target
 * and renames it into place, so a crash never leaves a half file behind.
 */
#pragma once
#include <glib.h>
#include "lq-tensor.h"

G_BEGIN_DECLS

typedef enum { LQ_DTYPE_F32, LQ_DTYPE_F16 } LqDType;

typedef struct _LqSafetensors LqSafetensors;

LqSafetensors *lq_safetensors_load (const char *path, GError **error);
LqSafetensors *lq_safetensors_parse (const guint8 *data, gsize len, GError **error);
void           lq_safetensors_free (LqSafetensors *st);

int            lq_safetensors_n_tensors (const LqSafetensors *st);
const char    *lq_safetensors_name (const LqSafetensors *st, int i);     /* in file order */
LqTensor      *lq_safetensors_get (const LqSafetensors *st, const char *name); /* borrowed, F32 */
LqDType        lq_safetensors_dtype (const LqSafetensors *st, const char *name); /* F32 if absent */
const char    *lq_safetensors_metadata (const LqSafetensors *st, const char *key); /* or NULL */
GHashTable    *lq_safetensors_metadata_table (const LqSafetensors *st); /* borrowed, str → str */

/* names/tensors: n pairs, written in the given order (the reference writer sorts by dtype, then
 * name; we keep the caller's order so that saving a loaded file with its names in file order
 * gives the same bytes). metadata may be NULL (str → str); its keys are written sorted, and an
 * empty table writes no "__metadata__". Header: compact JSON padded with spaces to a multiple of
 * 8. NaN/Inf values, and for F16 values that round past ±65504, are refused. */
GBytes  *lq_safetensors_serialize (int n, const char *const *names, LqTensor *const *tensors,
                                   GHashTable *metadata, LqDType dtype, GError **error);
gboolean lq_safetensors_save (const char *path, int n, const char *const *names,
                              LqTensor *const *tensors, GHashTable *metadata, LqDType dtype,
                              GError **error);

/* IEEE 754 half precision <-> float: exact widening; narrowing rounds to nearest even,
 * keeps inf and NaN, gives ±0 at or below 2^-25 and inf from 65520 up. */
float    lq_half_to_float (guint16 h);
guint16  lq_float_to_half (float f);

/* Writes bytes to path through a temporary file and a rename (shared by every save): the file is
 * unnamed (O_TMPFILE) until complete, so a killed process leaves nothing behind. An existing
 * FIFO or device (/dev/stdout) is written through instead of replaced; a folder is an error. */
/* A new string → string table holding copies of metadata's entries (metadata may be NULL). */
GHashTable *lq_metadata_copy (GHashTable *metadata);

gboolean lq_file_replace_atomically (const char *path, const void *data, gsize len, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqSafetensors, lq_safetensors_free)

G_END_DECLS

/* lq-safetensors.h: the safetensors weight format (F32 and F16; F16 is widened to F32 on load).
 *
 * Reading validates the whole header before touching data: header size cap (100 MB), JSON object
 * of {name: {dtype, shape, data_offsets}} plus an optional "__metadata__" of string→string,
 * overflow-checked offsets, byte size = numel × dtype size, offsets sorted, contiguous and
 * non-overlapping, covering the data section exactly (no trailing bytes), no duplicate names,
 * NaN/Inf values rejected. Writing serializes to memory, writes a temporary file beside the target
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
LqDType        lq_safetensors_dtype (const LqSafetensors *st, const char *name);
const char    *lq_safetensors_metadata (const LqSafetensors *st, const char *key); /* or NULL */
GHashTable    *lq_safetensors_metadata_table (const LqSafetensors *st); /* borrowed, str → str */

/* names/tensors: n pairs, written in the given order. metadata may be NULL (str → str). */
GBytes  *lq_safetensors_serialize (int n, const char *const *names, LqTensor *const *tensors,
                                   GHashTable *metadata, LqDType dtype, GError **error);
gboolean lq_safetensors_save (const char *path, int n, const char *const *names,
                              LqTensor *const *tensors, GHashTable *metadata, LqDType dtype,
                              GError **error);

/* Writes bytes to path through a temporary file and a rename (shared by every save). */
gboolean lq_file_replace_atomically (const char *path, const void *data, gsize len, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqSafetensors, lq_safetensors_free)

G_END_DECLS

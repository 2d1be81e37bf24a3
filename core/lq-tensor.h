/* lq-tensor.h: dense float32 tensors, row-major (NCHW for images), 64-byte aligned. */
#pragma once
#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

#define LQ_MAX_DIMS 4
#define LQ_ALIGN 64

typedef struct {
  int ndim;
  int shape[LQ_MAX_DIMS];
  size_t numel;
  float *data; /* 64-byte aligned, numel floats */
} LqTensor;

/* Aligned float buffers: the only allocator for numeric data in the core. */
float *lq_floats_new (size_t n);  /* zero-filled; n may be 0 */
void   lq_floats_free (float *p);
/* Grows *buf to hold at least n floats (contents not kept); *cap tracks the capacity. */
float *lq_floats_reserve (float **buf, size_t *cap, size_t n);

LqTensor *lq_tensor_new (int ndim, const int *shape);   /* zero-filled */
LqTensor *lq_tensor_new4 (int n, int c, int h, int w);
LqTensor *lq_tensor_new2 (int rows, int cols);
LqTensor *lq_tensor_new1 (int n);
LqTensor *lq_tensor_copy (const LqTensor *t);
void      lq_tensor_free (LqTensor *t);
void      lq_tensor_zero (LqTensor *t);
gboolean  lq_tensor_same_shape (const LqTensor *a, const LqTensor *b);
gboolean  lq_tensor_shape_is (const LqTensor *t, int ndim, const int *shape);
char     *lq_tensor_shape_string (const LqTensor *t); /* "[64, 1, 3, 3]" */
gboolean  lq_tensor_all_finite (const LqTensor *t);

/* Overflow-checked product of dims; FALSE when a dim is negative or the product overflows. */
gboolean  lq_shape_numel (int ndim, const int *shape, size_t *numel);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqTensor, lq_tensor_free)

G_END_DECLS

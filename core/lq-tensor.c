/* lq-tensor.c: aligned float buffers and the small tensor type. */
#include "lq-tensor.h"
#include "lq-error.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (lq-error-quark, lq_error)

float *
lq_floats_new (size_t n)
{
  size_t bytes = (n ? n : 1) * sizeof (float);
  bytes = (bytes + LQ_ALIGN - 1) / LQ_ALIGN * LQ_ALIGN;
  float *p = aligned_alloc (LQ_ALIGN, bytes);
  if (p == NULL)
    g_error ("out of memory allocating %zu bytes", bytes);
  memset (p, 0, bytes);
  return p;
}

void
lq_floats_free (float *p)
{
  free (p);
}

float *
lq_floats_reserve (float **buf, size_t *cap, size_t n)
{
  if (*buf == NULL || *cap < n)
    {
      lq_floats_free (*buf);
      *buf = lq_floats_new (n);
      *cap = n;
    }
  return *buf;
}

gboolean
lq_shape_numel (int ndim, const int *shape, size_t *numel)
{
  size_t n = 1;
  if (ndim < 0 || ndim > LQ_MAX_DIMS)
    return FALSE;
  for (int i = 0; i < ndim; i++)
    {
      if (shape[i] < 0)
        return FALSE;
      if (shape[i] != 0 && n > SIZE_MAX / sizeof (float) / (size_t) shape[i])
        return FALSE;
      n *= (size_t) shape[i];
    }
  *numel = n;
  return TRUE;
}

LqTensor *
lq_tensor_new (int ndim, const int *shape)
{
  size_t numel;
  g_return_val_if_fail (lq_shape_numel (ndim, shape, &numel), NULL);
  LqTensor *t = g_new0 (LqTensor, 1);
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    t->shape[i] = shape[i];
  t->numel = numel;
  t->data = lq_floats_new (numel);
  return t;
}

LqTensor *
lq_tensor_new4 (int n, int c, int h, int w)
{
  int s[4] = { n, c, h, w };
  return lq_tensor_new (4, s);
}

LqTensor *
lq_tensor_new2 (int rows, int cols)
{
  int s[2] = { rows, cols };
  return lq_tensor_new (2, s);
}

LqTensor *
lq_tensor_new1 (int n)
{
  return lq_tensor_new (1, &n);
}

LqTensor *
lq_tensor_copy (const LqTensor *t)
{
  LqTensor *c = lq_tensor_new (t->ndim, t->shape);
  memcpy (c->data, t->data, t->numel * sizeof (float));
  return c;
}

void
lq_tensor_free (LqTensor *t)
{
  if (t == NULL)
    return;
  lq_floats_free (t->data);
  g_free (t);
}

void
lq_tensor_zero (LqTensor *t)
{
  memset (t->data, 0, t->numel * sizeof (float));
}

gboolean
lq_tensor_shape_is (const LqTensor *t, int ndim, const int *shape)
{
  if (t->ndim != ndim)
    return FALSE;
  for (int i = 0; i < ndim; i++)
    if (t->shape[i] != shape[i])
      return FALSE;
  return TRUE;
}

gboolean
lq_tensor_same_shape (const LqTensor *a, const LqTensor *b)
{
  return lq_tensor_shape_is (a, b->ndim, b->shape);
}

char *
lq_tensor_shape_string (const LqTensor *t)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < t->ndim; i++)
    g_string_append_printf (s, i ? ", %d" : "%d", t->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gboolean
lq_tensor_all_finite (const LqTensor *t)
{
  for (size_t i = 0; i < t->numel; i++)
    if (!isfinite (t->data[i]))
      return FALSE;
  return TRUE;
}

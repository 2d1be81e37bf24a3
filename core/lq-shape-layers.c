/* lq-shape-layers.c: dropout, flatten and reshape — layers that move or mask values. */
#include "lq-layer.h"
#include "lq-error.h"
#include <string.h>

typedef struct {
  LqLayer parent;
  float rate;
  int shape[3];       /* reshape target */
  float *mask;        /* dropout: 0 or 1/(1-rate) per element of the last training forward */
  size_t mask_cap;
} LqShapeLayer;

static gboolean
identity_infer (LqLayer *l, const int in[3], int out[3], GError **error)
{
  memcpy (out, in, 3 * sizeof (int));
  return TRUE;
}

static void
copy_forward (LqLayer *l, float *y, const float *x, int batch)
{
  memcpy (y, x, (size_t) batch * l->in_size * sizeof (float));
}

static void
copy_backward (LqLayer *l, float *dx, const float *dy, const float *x, const float *y, int batch,
               gboolean params)
{
  if (dx)
    memcpy (dx, dy, (size_t) batch * l->in_size * sizeof (float));
}

static void
copy_tangent (LqLayer *l, float *ry, const float *rx, const float *x, const float *y, int batch)
{
  memcpy (ry, rx, (size_t) batch * l->in_size * sizeof (float));
}

static void
no_weight_grad (LqLayer *l, const float *rx, const float *dy, int batch)
{
}

/* --- dropout: inverted scaling in training, identity in evaluation --- */

static void
dropout_forward (LqLayer *l, float *y, const float *x, int batch)
{
  LqShapeLayer *d = (LqShapeLayer *) l;
  const size_t n = (size_t) batch * l->in_size;
  if (!l->training || d->rate == 0.0f)
    {
      memcpy (y, x, n * sizeof (float));
      return;
    }
  float *m = lq_floats_reserve (&d->mask, &d->mask_cap, n);
  const float keep = 1.0f / (1.0f - d->rate);
  for (size_t i = 0; i < n; i++)
    {
      m[i] = lq_rng_uniform (&l->rng) < d->rate ? 0.0f : keep;
      y[i] = x[i] * m[i];
    }
}

static void
dropout_apply (LqLayer *l, float *out, const float *in, int batch)
{
  LqShapeLayer *d = (LqShapeLayer *) l;
  const size_t n = (size_t) batch * l->in_size;
  if (!l->training || d->rate == 0.0f)
    memcpy (out, in, n * sizeof (float));
  else
    for (size_t i = 0; i < n; i++)
      out[i] = in[i] * d->mask[i];
}

static void
dropout_backward (LqLayer *l, float *dx, const float *dy, const float *x, const float *y, int batch,
                  gboolean params)
{
  if (dx)
    dropout_apply (l, dx, dy, batch);
}

static void
dropout_tangent (LqLayer *l, float *ry, const float *rx, const float *x, const float *y, int batch)
{
  dropout_apply (l, ry, rx, batch);
}

static void
dropout_finalize (LqLayer *l)
{
  lq_floats_free (((LqShapeLayer *) l)->mask);
}

static const LqLayerClass dropout_class = {
  .kind = "dropout",
  .infer = identity_infer,
  .forward = dropout_forward,
  .backward = dropout_backward,
  .tangent = dropout_tangent,
  .weight_grad = no_weight_grad,
  .finalize = dropout_finalize,
};

LqLayer *
lq_dropout_new (float rate)
{
  g_return_val_if_fail (rate >= 0.0f && rate < 1.0f, NULL);
  LqShapeLayer *d = g_new0 (LqShapeLayer, 1);
  d->parent.klass = &dropout_class;
  d->rate = rate;
  lq_rng_seed (&d->parent.rng, 0);
  return &d->parent;
}

/* --- flatten and reshape: the same bytes under another per-sample shape --- */

static gboolean
reshape_infer (LqLayer *l, const int in[3], int out[3], GError **error)
{
  LqShapeLayer *r = (LqShapeLayer *) l;
  size_t n = (size_t) in[0] * in[1] * in[2];
  if (r->shape[0] == 0) /* flatten */
    {
      out[0] = (int) n, out[1] = out[2] = 1;
      return TRUE;
    }
  if ((size_t) r->shape[0] * r->shape[1] * r->shape[2] != n)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_SHAPE, "reshape: %zu values cannot become %dx%dx%d", n,
                   r->shape[0], r->shape[1], r->shape[2]);
      return FALSE;
    }
  memcpy (out, r->shape, 3 * sizeof (int));
  return TRUE;
}

static const LqLayerClass reshape_class = {
  .kind = "reshape",
  .infer = reshape_infer,
  .forward = copy_forward,
  .backward = copy_backward,
  .tangent = copy_tangent,
  .weight_grad = no_weight_grad,
};

LqLayer *
lq_reshape_new (int c, int h, int w)
{
  LqShapeLayer *r = g_new0 (LqShapeLayer, 1);
  r->parent.klass = &reshape_class;
  r->shape[0] = c, r->shape[1] = h, r->shape[2] = w;
  return &r->parent;
}

LqLayer *
lq_flatten_new (void)
{
  return lq_reshape_new (0, 0, 0);
}

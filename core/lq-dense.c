/* lq-dense.c: fully connected layer, y = x Wᵀ + b with W [out, in] as PyTorch's Linear. */
#include "lq-layer.h"
#include "lq-error.h"
#include "lq-gemm.h"
#include "lq-sparse-adjoint.h"
#include <math.h>

typedef struct {
  LqLayer parent;
  int out_features;
} LqDense;

static gboolean
dense_infer (LqLayer *l, const int in[3], int out[3], GError **error)
{
  LqDense *d = (LqDense *) l;
  int fan_in = in[0] * in[1] * in[2];
  out[0] = d->out_features;
  out[1] = out[2] = 1;
  if (l->n_params == 0)
    {
      lq_layer_add_param (l, "weight", 2, (int[]){ d->out_features, fan_in });
      lq_layer_add_param (l, "bias", 1, (int[]){ d->out_features });
    }
  else if (l->params[0].value->shape[1] != fan_in)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_SHAPE, "%s: expects %d inputs, got %d", l->name,
                   l->params[0].value->shape[1], fan_in);
      return FALSE;
    }
  return TRUE;
}

static void
dense_forward (LqLayer *l, float *y, const float *x, int batch)
{
  const int M = l->out[0], K = (int) l->in_size;
  const float *W = l->params[0].value->data, *b = l->params[1].value->data;
  for (int n = 0; n < batch; n++)
    for (int m = 0; m < M; m++)
      y[(size_t) n * M + m] = b[m];
  lq_gemm (FALSE, TRUE, batch, M, K, 1.0f, x, K, W, K, 1.0f, y, M);
}

static void
dense_tangent (LqLayer *l, float *ry, const float *rx, const float *x, const float *y, int batch)
{
  const int M = l->out[0], K = (int) l->in_size;
  lq_gemm (FALSE, TRUE, batch, M, K, 1.0f, rx, K, l->params[0].value->data, K, 0.0f, ry, M);
}

static void
dense_weight_grad (LqLayer *l, const float *rx, const float *dy, int batch)
{
  const int M = l->out[0], K = (int) l->in_size;
  lq_gemm (TRUE, FALSE, M, K, batch, 1.0f, dy, M, rx, K, 1.0f, l->params[0].grad->data, K);
}

static void
dense_backward (LqLayer *l, float *dx, const float *dy, const float *x, const float *y, int batch,
                gboolean params)
{
  const int M = l->out[0], K = (int) l->in_size;
  const float *W = l->params[0].value->data;
  /* Behind a ReLU most of dy can be zero: when its nonzeros select fewer than half the rows of W,
   * adding just those rows reads less than the GEMM's pass over W (lq-sparse-adjoint.h;
   * classifier A's fc1 on one image: 37 of 128 rows). */
  if (dx && !lq_dense_adjoint_sparse (batch, M, K, dy, W, dx))
    lq_gemm (FALSE, FALSE, batch, K, M, 1.0f, dy, M, W, K, 0.0f, dx, K);
  if (params)
    {
      dense_weight_grad (l, x, dy, batch);
      float *db = l->params[1].grad->data;
      for (int n = 0; n < batch; n++)
        for (int m = 0; m < M; m++)
          db[m] += dy[(size_t) n * M + m];
    }
}

static void
dense_init (LqLayer *l, LqRng *rng)
{
  lq_layer_init_fan_in (l, rng, (double) l->in_size);
}

static const LqLayerClass dense_class = {
  .kind = "dense",
  .infer = dense_infer,
  .forward = dense_forward,
  .backward = dense_backward,
  .tangent = dense_tangent,
  .weight_grad = dense_weight_grad,
  .init = dense_init,
};

LqLayer *
lq_dense_new (const char *name, int out_features)
{
  g_return_val_if_fail (out_features > 0, NULL);
  LqDense *d = g_new0 (LqDense, 1);
  d->parent.klass = &dense_class;
  d->parent.name = g_strdup (name);
  d->out_features = out_features;
  return &d->parent;
}

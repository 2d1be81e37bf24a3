/* lq-conv.c: 2-D convolution (cross-correlation, as PyTorch's Conv2d) by im2col + GEMM.
 * W [out, in, kh, kw] is a row-major [M, K] matrix with K = in·kh·kw; the batch is unfolded in
 * chunks so that one GEMM covers many samples. The GEMM works in the channel-major layout
 * [M][n·OH·OW]; the bias is added while permuting back to NCHW, and the bias gradient is summed
 * from the permuted gradient, so neither costs a pass of its own. A layer with few column rows
 * (K ≤ LQ_THIN_MAX_ROWS: a first layer on one channel) skips GEMM and permutes for the thin
 * kernels of lq-im2col.h. A sample whose output gradient is mostly zero (behind a ReLU) gets its
 * input gradient from the nonzeros alone (lq-sparse-adjoint.h). */
#include "lq-layer.h"
#include "lq-batch-split.h"
#include "lq-error.h"
#include "lq-gemm.h"
#include "lq-im2col.h"
#include "lq-sparse-adjoint.h"
#include "lq-thin-pass.h"
#include <math.h>
#include <string.h>

typedef struct {
  LqLayer parent;
  int out_channels, kh, kw, stride, pt, pl, pb, pr;
  gboolean tf_same;        /* padding computed from the input size, TensorFlow's rule */
  LqConvGeom g;
  LqPartBuffers parts[LQ_PARALLEL_MAX]; /* work buffers of each part of a batch, reused */
  float *wt;               /* the weight channel-last, for the sparse input gradient */
  size_t wt_cap;
  gboolean wt_ready;       /* wt is the current weight: cleared by every forward, since weights
                            * change only between a backward and the next forward */
} LqConv;

static gboolean
conv_infer (LqLayer *l, const int in[3], int out[3], GError **error)
{
  LqConv *c = (LqConv *) l;
  if (c->tf_same)
    {
      int ph = MAX ((((in[1] + c->stride - 1) / c->stride) - 1) * c->stride + c->kh - in[1], 0);
      int pw = MAX ((((in[2] + c->stride - 1) / c->stride) - 1) * c->stride + c->kw - in[2], 0);
      c->pt = ph / 2, c->pb = ph - ph / 2, c->pl = pw / 2, c->pr = pw - pw / 2;
    }
  int oh = (in[1] + c->pt + c->pb - c->kh) / c->stride + 1;
  int ow = (in[2] + c->pl + c->pr - c->kw) / c->stride + 1;
  if (in[1] + c->pt + c->pb < c->kh || in[2] + c->pl + c->pr < c->kw)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_SHAPE, "%s: a %dx%d kernel does not fit a %dx%d input",
                   l->name, c->kh, c->kw, in[1], in[2]);
      return FALSE;
    }
  c->g = (LqConvGeom){ in[0], in[1], in[2], c->kh, c->kw, c->stride, c->pt, c->pl, oh, ow };
  out[0] = c->out_channels, out[1] = oh, out[2] = ow;
  if (l->n_params == 0)
    {
      lq_layer_add_param (l, "weight", 4, (int[]){ c->out_channels, in[0], c->kh, c->kw });
      lq_layer_add_param (l, "bias", 1, (int[]){ c->out_channels });
    }
  else if (l->params[0].value->shape[1] != in[0])
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_SHAPE, "%s: expects %d input channels, got %d",
                   l->name, l->params[0].value->shape[1], in[0]);
      return FALSE;
    }
  return TRUE;
}

/* Few column rows (a first layer on one channel): the thin kernels of lq-im2col.h work straight on
 * NCHW, where a GEMM with a 9-deep inner product and two permute copies would cost more. */
static gboolean
conv_thin (const LqConv *c)
{
  return c->g.C * c->kh * c->kw <= LQ_THIN_MAX_ROWS;
}

typedef struct {
  LqConv *c;
  float *y, *dx;
  const float *x, *dy, *bias;
} ConvCall;

/* y = W * x (+ b when bias is not NULL) for samples [lo, hi). */
static void
apply_range (void *call, LqPartBuffers *b, int lo, int hi, float *dW, float *db)
{
  (void) dW, (void) db;
  const ConvCall *a = call;
  LqConv *c = a->c;
  LqLayer *l = &c->parent;
  const int M = c->out_channels, K = c->g.C * c->kh * c->kw, ohw = c->g.OH * c->g.OW;
  const float *W = l->params[0].value->data;
  float *col, *tmp;
  const int chunk = lq_part_buffers_reserve (b, conv_thin (c), K, M, ohw, hi - lo, &col, &tmp);
  for (int s0 = lo; s0 < hi; s0 += chunk)
    {
      int n = MIN (chunk, hi - s0);
      float *ys = a->y + (size_t) s0 * l->out_size;
      const float *xs = a->x + (size_t) s0 * l->in_size;
      if (tmp == NULL)
        {
          lq_thin_unfold_expand (&c->g, n, xs, M, W, a->bias, ys, col);
          continue;
        }
      lq_im2col (&c->g, xs, n, col);
      lq_gemm (FALSE, FALSE, M, n * ohw, K, 1.0f, W, K, col, n * ohw, 0.0f, tmp, n * ohw);
      lq_cnhw_to_nchw_bias (ys, tmp, n, M, ohw, a->bias);
    }
}

static double
conv_flops (const LqConv *c, int batch)
{
  return 2.0 * c->out_channels * c->g.C * c->kh * c->kw * c->g.OH * c->g.OW * batch;
}

static void
conv_apply (LqConv *c, float *y, const float *x, int batch, const float *bias)
{
  c->wt_ready = FALSE;
  ConvCall a = { .c = c, .y = y, .x = x, .bias = bias };
  lq_batch_split_run (apply_range, &a, batch, conv_flops (c, batch), c->parts, NULL, 0, NULL, 0);
}

static void
conv_forward (LqLayer *l, float *y, const float *x, int batch)
{
  conv_apply ((LqConv *) l, y, x, batch, l->params[1].value->data);
}

static void
conv_tangent (LqLayer *l, float *ry, const float *rx, const float *x, const float *y, int batch)
{
  conv_apply ((LqConv *) l, ry, rx, batch, NULL);
}

/* dx (zeroed) += col2im (Wᵀ dy) for n samples, dy given channel-major in tmp [M][n·OH·OW]. */
static void
conv_input_grad_gemm (LqConv *c, float *dx, const float *tmp, float *col, int n)
{
  const int M = c->out_channels, K = c->g.C * c->kh * c->kw, ohw = c->g.OH * c->g.OW;
  lq_gemm (TRUE, FALSE, K, n * ohw, M, 1.0f, c->parent.params[0].value->data, K, tmp, n * ohw,
           0.0f, col, n * ohw);
  lq_col2im (&c->g, col, n, dx);
}

/* Samples whose output gradient is mostly zero (behind a ReLU) take their input gradient from its
 * nonzeros (lq-sparse-adjoint.h); when there are any, the other samples of the batch go through
 * GEMM + col2im one by one here. The choice is made per sample, so a sample's input gradient does
 * not depend on the batch it came in. FALSE, with nothing done, when no sample is sparse. */
static gboolean
conv_input_grad_sparse (LqConv *c, float *dx, const float *dy, int batch)
{
  LqLayer *l = &c->parent;
  const int M = c->out_channels, K = c->g.C * c->kh * c->kw, ohw = c->g.OH * c->g.OW;
  const size_t limit = (size_t) (LQ_SPARSE_MAX_DENSITY * (double) l->out_size);
  gboolean *sparse = g_new (gboolean, batch);
  int n_sparse = 0;
  for (int s = 0; s < batch; s++)
    n_sparse += sparse[s] = lq_nonzero_at_most (dy + (size_t) s * l->out_size, l->out_size, limit);
  if (n_sparse > 0)
    {
      LqPartBuffers *b = &c->parts[0];
      float *col = lq_floats_reserve (&b->col, &b->col_cap, (size_t) K * ohw);
      float *tmp = lq_floats_reserve (&b->tmp, &b->tmp_cap, (size_t) M * ohw);
      if (!c->wt_ready)
        {
          lq_floats_reserve (&c->wt, &c->wt_cap, (size_t) M * K);
          lq_conv_weights_channel_last (&c->g, M, l->params[0].value->data, c->wt);
          c->wt_ready = TRUE;
        }
      lq_conv_adjoint_sparse (&c->g, batch, dy, M, c->wt, sparse, dx);
      for (int s = 0; s < batch; s++)
        if (!sparse[s])
          {
            float *dxs = dx + (size_t) s * l->in_size;
            memset (dxs, 0, l->in_size * sizeof (float));
            lq_nchw_to_cnhw (tmp, dy + (size_t) s * l->out_size, 1, M, ohw);
            conv_input_grad_gemm (c, dxs, tmp, col, 1);
          }
    }
  g_free (sparse);
  return n_sparse > 0;
}

/* dx = Wᵀ dy (when dx), dW += dy xᵀ (when dW), db += Σ dy (when db), for samples [lo, hi). */
static void
adjoint_range (void *call, LqPartBuffers *b, int lo, int hi, float *dW, float *db)
{
  const ConvCall *a = call;
  LqConv *c = a->c;
  LqLayer *l = &c->parent;
  const int M = c->out_channels, K = c->g.C * c->kh * c->kw, ohw = c->g.OH * c->g.OW;
  const float *W = l->params[0].value->data;
  const gboolean thin = conv_thin (c);
  float *col, *tmp;
  const int chunk = lq_part_buffers_reserve (b, thin, K, M, ohw, hi - lo, &col, &tmp);
  for (int s0 = lo; s0 < hi; s0 += chunk)
    {
      int n = MIN (chunk, hi - s0);
      const float *dys = a->dy + (size_t) s0 * l->out_size;
      const float *xs = a->x ? a->x + (size_t) s0 * l->in_size : NULL; /* read for dW only */
      float *dxs = a->dx ? a->dx + (size_t) s0 * l->in_size : NULL;
      if (thin)
        {
          if (dW)
            lq_thin_unfold_outer (&c->g, n, xs, M, dys, dW, db, NULL, NULL, col);
          else if (db)
            for (int m = 0; m < M; m++)
              {
                double acc = 0.0;
                for (int s = 0; s < n; s++)
                  acc += lq_sum_f32 (dys + ((size_t) s * M + m) * ohw, ohw);
                db[m] += (float) acc;
              }
          if (dxs)
            lq_thin_reduce_fold (&c->g, n, dys, M, W, NULL, dxs, col);
          continue;
        }
      if (dxs) /* col2im adds into dx: zero this chunk just before, while it can stay in cache */
        memset (dxs, 0, (size_t) n * l->in_size * sizeof (float));
      lq_nchw_to_cnhw (tmp, dys, n, M, ohw);
      if (dW)
        {
          lq_im2col (&c->g, xs, n, col);
          lq_gemm (FALSE, TRUE, M, K, n * ohw, 1.0f, tmp, n * ohw, col, n * ohw, 1.0f, dW, K);
        }
      if (db)
        for (int m = 0; m < M; m++)
          db[m] += (float) lq_sum_f32 (tmp + (size_t) m * n * ohw, (size_t) n * ohw);
      if (dxs)
        conv_input_grad_gemm (c, dxs, tmp, col, n);
    }
}

/* dx = Wᵀ dy (when dx); dW += dy xᵀ (when dW); db += Σ dy (when db). */
static void
conv_adjoint (LqConv *c, float *dx, const float *dy, const float *x, int batch, float *dW, float *db)
{
  LqLayer *l = &c->parent;
  if (dx && !conv_thin (c) && conv_input_grad_sparse (c, dx, dy, batch))
    {
      dx = NULL;
      if (!dW && !db)
        return;
    }
  ConvCall a = { .c = c, .dx = dx, .dy = dy, .x = dW ? x : NULL };
  const double flops = conv_flops (c, batch) * ((dx != NULL) + (dW != NULL));
  lq_batch_split_run (adjoint_range, &a, batch, flops, c->parts, dW, l->params[0].value->numel, db,
                      l->out[0]);
}

static void
conv_backward (LqLayer *l, float *dx, const float *dy, const float *x, const float *y, int batch,
               gboolean params)
{
  conv_adjoint ((LqConv *) l, dx, dy, x, batch, params ? l->params[0].grad->data : NULL,
                params ? l->params[1].grad->data : NULL);
}

static void
conv_weight_grad (LqLayer *l, const float *rx, const float *dy, int batch)
{
  conv_adjoint ((LqConv *) l, NULL, dy, rx, batch, l->params[0].grad->data, NULL);
}

static void
conv_init (LqLayer *l, LqRng *rng)
{
  const LqTensor *w = l->params[0].value;
  lq_layer_init_fan_in (l, rng, (double) w->shape[1] * w->shape[2] * w->shape[3]);
}

static void
conv_finalize (LqLayer *l)
{
  LqConv *c = (LqConv *) l;
  lq_part_buffers_free (c->parts);
  lq_floats_free (c->wt);
}

static const LqLayerClass conv_class = {
  .kind = "conv2d",
  .infer = conv_infer,
  .forward = conv_forward,
  .backward = conv_backward,
  .tangent = conv_tangent,
  .weight_grad = conv_weight_grad,
  .init = conv_init,
  .finalize = conv_finalize,
};

LqLayer *
lq_conv2d_new (const char *name, int out_channels, int kh, int kw, int stride, int pad_top,
               int pad_left, int pad_bottom, int pad_right)
{
  g_return_val_if_fail (out_channels > 0 && kh > 0 && kw > 0 && stride > 0, NULL);
  g_return_val_if_fail (pad_top >= 0 && pad_left >= 0 && pad_bottom >= 0 && pad_right >= 0, NULL);
  LqConv *c = g_new0 (LqConv, 1);
  c->parent.klass = &conv_class;
  c->parent.name = g_strdup (name);
  c->out_channels = out_channels, c->kh = kh, c->kw = kw, c->stride = stride;
  c->pt = pad_top, c->pl = pad_left, c->pb = pad_bottom, c->pr = pad_right;
  return &c->parent;
}

LqLayer *
lq_conv2d_new_same (const char *name, int out_channels, int k, int stride)
{
  LqLayer *l = lq_conv2d_new (name, out_channels, k, k, stride, 0, 0, 0, 0);
  ((LqConv *) l)->tf_same = TRUE;
  return l;
}

LqLayer *
lq_conv2d_new_valid (const char *name, int out_channels, int k, int stride)
{
  return lq_conv2d_new (name, out_channels, k, k, stride, 0, 0, 0, 0);
}

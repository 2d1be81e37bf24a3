/* lq-deconv.c: transposed convolution, matching PyTorch's ConvTranspose2d (weight [in, out, k, k],
 * padding, output_padding). It is the adjoint of a convolution from the output space, so its forward
 * is a GEMM followed by col2im and its backward an im2col followed by a GEMM. The bias initialises
 * the output that col2im adds into; a layer with one output channel (K = out·k·k ≤
 * LQ_THIN_MAX_ROWS) uses the thin kernels of lq-im2col.h instead of GEMM and permutes. */
#include "lq-layer.h"
#include "lq-batch-split.h"
#include "lq-error.h"
#include "lq-gemm.h"
#include "lq-im2col.h"
#include "lq-thin-pass.h"
#include <math.h>
#include <string.h>

typedef struct {
  LqLayer parent;
  int out_channels, k, stride, padding, output_padding;
  LqConvGeom g;            /* the convolution from the output space (C = out channels) */
  LqPartBuffers parts[LQ_PARALLEL_MAX]; /* work buffers of each part of a batch, reused */
} LqDeconv;

static gboolean
deconv_infer (LqLayer *l, const int in[3], int out[3], GError **error)
{
  LqDeconv *d = (LqDeconv *) l;
  int oh = (in[1] - 1) * d->stride - 2 * d->padding + d->k + d->output_padding;
  int ow = (in[2] - 1) * d->stride - 2 * d->padding + d->k + d->output_padding;
  if (oh <= 0 || ow <= 0 || d->output_padding >= d->stride)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_SHAPE, "%s: no valid output size for a %dx%d input",
                   l->name, in[1], in[2]);
      return FALSE;
    }
  d->g = (LqConvGeom){ d->out_channels, oh, ow, d->k, d->k, d->stride, d->padding, d->padding,
                       in[1], in[2] };
  out[0] = d->out_channels, out[1] = oh, out[2] = ow;
  if (l->n_params == 0)
    {
      lq_layer_add_param (l, "weight", 4, (int[]){ in[0], d->out_channels, d->k, d->k });
      lq_layer_add_param (l, "bias", 1, (int[]){ d->out_channels });
    }
  else if (l->params[0].value->shape[0] != in[0])
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_SHAPE, "%s: expects %d input channels, got %d",
                   l->name, l->params[0].value->shape[0], in[0]);
      return FALSE;
    }
  return TRUE;
}

/* One output channel (the last layer of a decoder): the thin kernels of lq-im2col.h work straight
 * on NCHW, where a GEMM with a 9-row result and two permute copies would cost more. */
static gboolean
deconv_thin (const LqDeconv *d)
{
  return d->out_channels * d->k * d->k <= LQ_THIN_MAX_ROWS;
}

typedef struct {
  LqDeconv *d;
  float *y, *dx;
  const float *x, *dy, *bias;
} DeconvCall;

static void
apply_range (void *call, LqPartBuffers *b, int lo, int hi, float *dW, float *db)
{
  (void) dW, (void) db;
  const DeconvCall *a = call;
  LqDeconv *d = a->d;
  LqLayer *l = &d->parent;
  const int Cin = l->in[0], K = d->out_channels * d->k * d->k, hw = l->in[1] * l->in[2];
  const int ohw = l->out[1] * l->out[2];
  const float *W = l->params[0].value->data, *bias = a->bias;
  float *col, *tmp;
  const int chunk = lq_part_buffers_reserve (b, deconv_thin (d), K, Cin, hw, hi - lo, &col, &tmp);
  for (int s0 = lo; s0 < hi; s0 += chunk)
    {
      int n = MIN (chunk, hi - s0);
      const float *xs = a->x + (size_t) s0 * l->in_size;
      float *ys = a->y + (size_t) s0 * l->out_size;
      if (tmp == NULL)
        {
          lq_thin_reduce_fold (&d->g, n, xs, Cin, W, bias, ys, col);
          continue;
        }
      lq_nchw_to_cnhw (tmp, xs, n, Cin, hw);
      lq_gemm (TRUE, FALSE, K, n * hw, Cin, 1.0f, W, K, tmp, n * hw, 0.0f, col, n * hw);
      /* col2im adds into y: start the chunk from the bias (or zero), which saves a pass */
      if (bias)
        for (int s = 0; s < n; s++)
          for (int c = 0; c < d->out_channels; c++)
            {
              float *p = ys + ((size_t) s * d->out_channels + c) * ohw;
              for (int q = 0; q < ohw; q++)
                p[q] = bias[c];
            }
      else
        memset (ys, 0, (size_t) n * l->out_size * sizeof (float));
      lq_col2im (&d->g, col, n, ys);
    }
}

static double
deconv_flops (const LqDeconv *d, int batch)
{
  const LqLayer *l = &d->parent;
  return 2.0 * l->in[0] * d->out_channels * d->k * d->k * l->in[1] * l->in[2] * batch;
}

static void
deconv_apply (LqDeconv *d, float *y, const float *x, int batch, const float *bias)
{
  DeconvCall a = { .d = d, .y = y, .x = x, .bias = bias };
  lq_batch_split_run (apply_range, &a, batch, deconv_flops (d, batch), d->parts, NULL, 0, NULL, 0);
}

static void
deconv_forward (LqLayer *l, float *y, const float *x, int batch)
{
  deconv_apply ((LqDeconv *) l, y, x, batch, l->params[1].value->data);
}

static void
deconv_tangent (LqLayer *l, float *ry, const float *rx, const float *x, const float *y, int batch)
{
  deconv_apply ((LqDeconv *) l, ry, rx, batch, NULL);
}

static void
adjoint_range (void *call, LqPartBuffers *b, int lo, int hi, float *dW, float *db)
{
  const DeconvCall *a = call;
  LqDeconv *d = a->d;
  LqLayer *l = &d->parent;
  const int Cin = l->in[0], K = d->out_channels * d->k * d->k, hw = l->in[1] * l->in[2];
  const int ohw = l->out[1] * l->out[2];
  const float *W = l->params[0].value->data;
  const gboolean thin = deconv_thin (d);
  float *col, *tmp;
  const int chunk = lq_part_buffers_reserve (b, thin, K, Cin, hw, hi - lo, &col, &tmp);
  for (int s0 = lo; s0 < hi; s0 += chunk)
    {
      int n = MIN (chunk, hi - s0);
      const float *dys = a->dy + (size_t) s0 * l->out_size;
      const float *xs = dW ? a->x + (size_t) s0 * l->in_size : NULL; /* read for dW only */
      float *dxs = a->dx ? a->dx + (size_t) s0 * l->in_size : NULL;
      if (db)
        for (int c = 0; c < d->out_channels; c++)
          {
            double acc = 0;
            for (int s = 0; s < n; s++)
              acc += lq_sum_f32 (dys + ((size_t) s * d->out_channels + c) * ohw, ohw);
            db[c] += (float) acc;
          }
      if (!dxs && !dW)
        continue;
      if (thin)
        {
          if (dW) /* dy is unfolded once for both gradients */
            lq_thin_unfold_outer (&d->g, n, dys, Cin, xs, dW, NULL, dxs ? W : NULL, dxs, col);
          else
            lq_thin_unfold_expand (&d->g, n, dys, Cin, W, NULL, dxs, col);
          continue;
        }
      lq_im2col (&d->g, dys, n, col);
      if (dW)
        {
          lq_nchw_to_cnhw (tmp, xs, n, Cin, hw);
          lq_gemm (FALSE, TRUE, Cin, K, n * hw, 1.0f, tmp, n * hw, col, n * hw, 1.0f, dW, K);
        }
      if (dxs)
        {
          lq_gemm (FALSE, FALSE, Cin, n * hw, K, 1.0f, W, K, col, n * hw, 0.0f, tmp, n * hw);
          lq_cnhw_to_nchw (dxs, tmp, n, Cin, hw);
        }
    }
}

static void
deconv_adjoint (LqDeconv *d, float *dx, const float *dy, const float *x, int batch, float *dW,
                float *db)
{
  LqLayer *l = &d->parent;
  DeconvCall a = { .d = d, .dx = dx, .dy = dy, .x = x };
  const double flops = deconv_flops (d, batch) * ((dx != NULL) + (dW != NULL));
  lq_batch_split_run (adjoint_range, &a, batch, flops, d->parts, dW, l->params[0].value->numel, db,
                      l->out[0]);
}

static void
deconv_backward (LqLayer *l, float *dx, const float *dy, const float *x, const float *y, int batch,
                 gboolean params)
{
  deconv_adjoint ((LqDeconv *) l, dx, dy, x, batch, params ? l->params[0].grad->data : NULL,
                  params ? l->params[1].grad->data : NULL);
}

static void
deconv_weight_grad (LqLayer *l, const float *rx, const float *dy, int batch)
{
  deconv_adjoint ((LqDeconv *) l, NULL, dy, rx, batch, l->params[0].grad->data, NULL);
}

static void
deconv_init (LqLayer *l, LqRng *rng)
{
  /* PyTorch computes fan_in of ConvTranspose2d from weight.size(1) · k · k. */
  const LqTensor *w = l->params[0].value;
  lq_layer_init_fan_in (l, rng, (double) w->shape[1] * w->shape[2] * w->shape[3]);
}

static void
deconv_finalize (LqLayer *l)
{
  LqDeconv *d = (LqDeconv *) l;
  lq_part_buffers_free (d->parts);
}

static const LqLayerClass deconv_class = {
  .kind = "deconv2d",
  .infer = deconv_infer,
  .forward = deconv_forward,
  .backward = deconv_backward,
  .tangent = deconv_tangent,
  .weight_grad = deconv_weight_grad,
  .init = deconv_init,
  .finalize = deconv_finalize,
};

LqLayer *
lq_deconv2d_new (const char *name, int out_channels, int k, int stride, int padding,
                 int output_padding)
{
  g_return_val_if_fail (out_channels > 0 && k > 0 && stride > 0 && padding >= 0, NULL);
  g_return_val_if_fail (output_padding >= 0, NULL);
  LqDeconv *d = g_new0 (LqDeconv, 1);
  d->parent.klass = &deconv_class;
  d->parent.name = g_strdup (name);
  d->out_channels = out_channels, d->k = k, d->stride = stride;
  d->padding = padding, d->output_padding = output_padding;
  return &d->parent;
}

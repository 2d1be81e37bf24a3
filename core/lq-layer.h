/* lq-layer.h: the layer interface. A layer maps a batch of per-sample tensors (C, H, W) to another.
 *
 * Every layer has forward and backward; gradients of parameters accumulate (the caller zeroes).
 * Layers that are piecewise linear (dense, conv, deconv, ReLU, LeakyReLU, flatten, dropout) also
 * have `tangent` (the Jacobian applied to a direction, bias left out) and `weight_grad` (the weight
 * gradient with another tensor in place of the input): the two passes double backprop is made of.
 */
#pragma once
#include <glib.h>
#include "lq-tensor.h"
#include "lq-rng.h"

G_BEGIN_DECLS

typedef struct {
  char *name;      /* PyTorch state_dict name, e.g. "conv1.weight" */
  LqTensor *value;
  LqTensor *grad;  /* same shape as value, accumulated */
} LqParam;

typedef struct _LqLayer LqLayer;

typedef struct {
  const char *kind;
  /* Per-sample output shape from the input shape; FALSE with an error when they do not fit. */
  gboolean (*infer) (LqLayer *l, const int in[3], int out[3], GError **error);
  /* y[batch, out] from x[batch, in]. */
  void (*forward) (LqLayer *l, float *y, const float *x, int batch);
  /* dx[batch, in] = Jᵀ dy (dx may be NULL); with params, accumulate parameter gradients.
   * x and y are the buffers of the last forward. A layer with parameters is linear in its input
   * and must not read x or y when params is FALSE (lq_net_backward_stacked relies on it). */
  void (*backward) (LqLayer *l, float *dx, const float *dy, const float *x, const float *y,
                    int batch, gboolean params);
  /* ry = J rx with the bias left out (NULL: not piecewise linear). */
  void (*tangent) (LqLayer *l, float *ry, const float *rx, const float *x, const float *y, int batch);
  /* Accumulate the weight gradient as if rx had been the input and dy the output gradient. */
  void (*weight_grad) (LqLayer *l, const float *rx, const float *dy, int batch);
  void (*init) (LqLayer *l, LqRng *rng);          /* NULL: nothing to initialise */
  void (*finalize) (LqLayer *l);                  /* frees what the kind added */
} LqLayerClass;

struct _LqLayer {
  const LqLayerClass *klass;
  char *name;             /* module name ("conv1"); NULL for layers without parameters */
  int in[3], out[3];      /* per-sample (C, H, W), set by infer */
  size_t in_size, out_size;
  LqParam params[2];      /* weight, bias */
  int n_params;
  gboolean training;
  LqRng rng;              /* for stochastic layers (dropout) */
};

void lq_layer_free (LqLayer *l);
/* Adds a parameter named "<layer name>.<suffix>" with the given shape (and its gradient). */
LqParam *lq_layer_add_param (LqLayer *l, const char *suffix, int ndim, const int *shape);
/* PyTorch's default initialisation of a weight and its bias: U(−1/√fan_in, 1/√fan_in). */
void     lq_layer_init_fan_in (LqLayer *l, LqRng *rng, double fan_in);

/* Constructors. */
LqLayer *lq_dense_new (const char *name, int out_features);
LqLayer *lq_conv2d_new (const char *name, int out_channels, int kh, int kw, int stride,
                        int pad_top, int pad_left, int pad_bottom, int pad_right);
/* TensorFlow-style "same" (may pad asymmetrically) and "valid" (no padding). */
LqLayer *lq_conv2d_new_same (const char *name, int out_channels, int k, int stride);
LqLayer *lq_conv2d_new_valid (const char *name, int out_channels, int k, int stride);
LqLayer *lq_deconv2d_new (const char *name, int out_channels, int k, int stride, int padding,
                          int output_padding);
LqLayer *lq_relu_new (void);
LqLayer *lq_leaky_relu_new (float slope);
LqLayer *lq_tanh_new (void);
LqLayer *lq_sigmoid_new (void);
LqLayer *lq_softsign_new (void);

typedef enum {
  LQ_SIGN_STRAIGHT_THROUGH, /* backward passes the gradient unchanged */
  LQ_SIGN_SOFT,             /* backward of softsign(scale·x) */
} LqSignBackward;
LqLayer *lq_sign_new (LqSignBackward mode, float scale);

LqLayer *lq_dropout_new (float rate); /* rate = probability of dropping (PyTorch's reading) */
LqLayer *lq_flatten_new (void);
LqLayer *lq_reshape_new (int c, int h, int w);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqLayer, lq_layer_free)

G_END_DECLS

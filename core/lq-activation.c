/* lq-activation.c: elementwise layers. ReLU and LeakyReLU are piecewise linear (tangent = the
 * same slope mask); tanh, sigmoid, softsign and sign are not and have no tangent. */
#include "lq-layer.h"
#include <math.h>
#include <string.h>

typedef struct {
  LqLayer parent;
  float slope;              /* LeakyReLU slope; 0 for ReLU */
  LqSignBackward sign_mode; /* sign only */
  float scale;              /* sign with soft backward: softsign(scale·x) */
} LqActivation;

static gboolean
same_shape_infer (LqLayer *l, const int in[3], int out[3], GError **error)
{
  memcpy (out, in, 3 * sizeof (int));
  return TRUE;
}

/* --- ReLU / LeakyReLU --- */

/* out[i] = key[i] > 0 ? in[i] : a·in[i], written so that it vectorises: both candidates are
 * computed and one is picked with a bit mask. The obvious `key > 0 ? in : a·in` compiles (at -O3,
 * without -ffast-math) to a compare-and-branch per element, which mispredicts on the ~50 % random
 * signs of pre-activations and runs ~5× slower; the bit select is exact, sign of zero included. */
static void
leaky_kernel (float *out, const float *in, const float *key, size_t n, float a)
{
  for (size_t i = 0; i < n; i++)
    {
      float v = in[i], av = a * v;
      guint32 vi, ai, m = key[i] > 0.0f ? 0xffffffffu : 0u, r;
      memcpy (&vi, &v, sizeof vi);
      memcpy (&ai, &av, sizeof ai);
      r = (vi & m) | (ai & ~m);
      memcpy (&out[i], &r, sizeof r);
    }
}

static void
leaky_forward (LqLayer *l, float *y, const float *x, int batch)
{
  leaky_kernel (y, x, x, (size_t) batch * l->in_size, ((LqActivation *) l)->slope);
}

/* The slope mask comes from the input x of the forward pass. */
static void
leaky_mask (LqLayer *l, float *out, const float *in, const float *x, int batch)
{
  leaky_kernel (out, in, x, (size_t) batch * l->in_size, ((LqActivation *) l)->slope);
}

static void
leaky_backward (LqLayer *l, float *dx, const float *dy, const float *x, const float *y, int batch,
                gboolean params)
{
  if (dx)
    leaky_mask (l, dx, dy, x, batch);
}

static void
leaky_tangent (LqLayer *l, float *ry, const float *rx, const float *x, const float *y, int batch)
{
  leaky_mask (l, ry, rx, x, batch);
}

static void
no_weight_grad (LqLayer *l, const float *rx, const float *dy, int batch)
{
}

static const LqLayerClass leaky_class = {
  .kind = "leaky_relu",
  .infer = same_shape_infer,
  .forward = leaky_forward,
  .backward = leaky_backward,
  .tangent = leaky_tangent,
  .weight_grad = no_weight_grad,
};

static const LqLayerClass relu_class = {
  .kind = "relu",
  .infer = same_shape_infer,
  .forward = leaky_forward,
  .backward = leaky_backward,
  .tangent = leaky_tangent,
  .weight_grad = no_weight_grad,
};

static LqLayer *
activation_new (const LqLayerClass *klass)
{
  LqActivation *a = g_new0 (LqActivation, 1);
  a->parent.klass = klass;
  return &a->parent;
}

LqLayer *
lq_relu_new (void)
{
  return activation_new (&relu_class);
}

LqLayer *
lq_leaky_relu_new (float slope)
{
  LqLayer *l = activation_new (&leaky_class);
  ((LqActivation *) l)->slope = slope;
  return l;
}

/* --- smooth activations: backward from the output (tanh, sigmoid) or the input (softsign) --- */

static void
tanh_forward (LqLayer *l, float *y, const float *x, int batch)
{
  const size_t n = (size_t) batch * l->in_size;
  for (size_t i = 0; i < n; i++)
    y[i] = tanhf (x[i]);
}

static void
tanh_backward (LqLayer *l, float *dx, const float *dy, const float *x, const float *y, int batch,
               gboolean params)
{
  const size_t n = (size_t) batch * l->in_size;
  if (dx)
    for (size_t i = 0; i < n; i++)
      dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

static void
sigmoid_forward (LqLayer *l, float *y, const float *x, int batch)
{
  const size_t n = (size_t) batch * l->in_size;
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] >= 0 ? 1.0f / (1.0f + expf (-x[i])) : expf (x[i]) / (1.0f + expf (x[i]));
}

static void
sigmoid_backward (LqLayer *l, float *dx, const float *dy, const float *x, const float *y, int batch,
                  gboolean params)
{
  const size_t n = (size_t) batch * l->in_size;
  if (dx)
    for (size_t i = 0; i < n; i++)
      dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

static void
softsign_forward (LqLayer *l, float *y, const float *x, int batch)
{
  const size_t n = (size_t) batch * l->in_size;
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] / (1.0f + fabsf (x[i]));
}

static void
softsign_backward (LqLayer *l, float *dx, const float *dy, const float *x, const float *y, int batch,
                   gboolean params)
{
  const size_t n = (size_t) batch * l->in_size;
  if (dx)
    for (size_t i = 0; i < n; i++)
      {
        float d = 1.0f + fabsf (x[i]);
        dx[i] = dy[i] / (d * d);
      }
}

static const LqLayerClass tanh_class = {
  .kind = "tanh", .infer = same_shape_infer, .forward = tanh_forward, .backward = tanh_backward,
};
static const LqLayerClass sigmoid_class = {
  .kind = "sigmoid", .infer = same_shape_infer, .forward = sigmoid_forward,
  .backward = sigmoid_backward,
};
static const LqLayerClass softsign_class = {
  .kind = "softsign", .infer = same_shape_infer, .forward = softsign_forward,
  .backward = softsign_backward,
};

LqLayer *
lq_tanh_new (void)
{
  return activation_new (&tanh_class);
}

LqLayer *
lq_sigmoid_new (void)
{
  return activation_new (&sigmoid_class);
}

LqLayer *
lq_softsign_new (void)
{
  return activation_new (&softsign_class);
}

/* --- sign: forward is sign(x) ∈ {−1, +1} (sign(0) = +1); the backward is a choice --- */

static void
sign_forward (LqLayer *l, float *y, const float *x, int batch)
{
  const size_t n = (size_t) batch * l->in_size;
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] >= 0.0f ? 1.0f : -1.0f;
}

static void
sign_backward (LqLayer *l, float *dx, const float *dy, const float *x, const float *y, int batch,
               gboolean params)
{
  const LqActivation *a = (LqActivation *) l;
  const size_t n = (size_t) batch * l->in_size;
  if (!dx)
    return;
  if (a->sign_mode == LQ_SIGN_STRAIGHT_THROUGH)
    {
      memcpy (dx, dy, n * sizeof (float));
      return;
    }
  for (size_t i = 0; i < n; i++)
    {
      float d = 1.0f + fabsf (a->scale * x[i]);
      dx[i] = dy[i] * a->scale / (d * d);
    }
}

static const LqLayerClass sign_class = {
  .kind = "sign", .infer = same_shape_infer, .forward = sign_forward, .backward = sign_backward,
};

LqLayer *
lq_sign_new (LqSignBackward mode, float scale)
{
  LqLayer *l = activation_new (&sign_class);
  ((LqActivation *) l)->sign_mode = mode;
  ((LqActivation *) l)->scale = scale;
  return l;
}

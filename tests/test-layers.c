/* test-layers.c: every layer of liblq checked against finite differences, naive references and
 * its own algebraic contracts.
 *
 * What is checked, per layer:
 *  - forward against a naive loop reference (conv2d, deconv2d: direct sums; activations: libm in
 *    double), output shapes against the PyTorch/TensorFlow size formulas;
 *  - backward to the input and to every parameter coordinate against central finite differences
 *    of L = ⟨w, f(x)⟩ (w a fixed random upstream gradient). L is accumulated in double from the
 *    float outputs; the step is applied to the float input and the actual float difference
 *    (x+h) − (x−h) is the denominator;
 *  - kinks: ReLU/LeakyReLU/sign inputs are drawn with |x| ≥ 0.1 and any coordinate with
 *    |x| ≤ 2h is skipped as well (the only pre-activation an input coordinate moves is its own);
 *  - gradients accumulate (two backward calls give twice the parameter gradient) while dx is
 *    overwritten (it is pre-filled with NaN);
 *  - a batch gives the same forward and backward as its samples one at a time (also across the
 *    im2col chunk boundary of conv2d and deconv2d);
 *  - tangent: J·r equals the directional finite difference and ⟨J r, dy⟩ = ⟨r, Jᵀ dy⟩;
 *  - weight_grad (rx, dy) equals backward's parameter gradient with x := rx, and leaves the bias alone.
 *
 * Tolerances (err_i = |analytic_i − numeric_i| / (|numeric_i| + 1e-2·max_j |numeric_j| + 1e-6)):
 *  - linear maps (dense, conv, deconv, dropout with a fixed mask, reshape), h = 1e-2: max err ≤ 2e-3
 *    (FD of a linear map is exact up to float rounding of the outputs, ~1e-5 observed);
 *  - smooth activations (tanh, sigmoid, softsign), h = 1e-2: max err ≤ 2e-3 (truncation h²·f'''/6);
 *  - sign with soft backward vs FD in double of softsign(scale·x), h = 1e-6/scale: ≤ 1e-4;
 *  - naive forward references: |y − ref| ≤ 1e-5·max(1, max|ref|);
 *  - batch vs single, accumulation, adjoint and weight_grad identities: ≤ 1e-5 relative
 *    (they differ only by float summation order).
 */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "lq-batch-split.h"
#include "lq-error.h"
#include "lq-gemm.h"
#include "lq-im2col.h"
#include "lq-layer.h"
#include "lq-net.h"
#include "lq-penalty.h"
#include "lq-rng.h"
#include "lq-sparse-adjoint.h"
#include "lq-thin-wide.h"

#define TOL_FD 2e-3
#define TOL_SAME 1e-5
#define TOL_NET 1e-2

/* ---------- helpers ---------- */

static void
fill_uniform (LqRng *r, float *a, size_t n, float lo, float hi)
{
  for (size_t i = 0; i < n; i++)
    a[i] = (float) (lo + (hi - lo) * lq_rng_uniform (r));
}

/* |a| in [lo, hi] with a random sign: inputs kept away from kinks. */
static void
fill_away (LqRng *r, float *a, size_t n, float lo, float hi)
{
  for (size_t i = 0; i < n; i++)
    {
      float m = (float) (lo + (hi - lo) * lq_rng_uniform (r));
      a[i] = lq_rng_uniform (r) < 0.5 ? -m : m;
    }
}

static float *
floats_nan (size_t n)
{
  float *p = lq_floats_new (n);
  for (size_t i = 0; i < n; i++)
    p[i] = NAN;
  return p;
}

static double
dot (const float *a, const float *b, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

static double
max_abs_d (const double *a, size_t n)
{
  double m = 0;
  for (size_t i = 0; i < n; i++)
    m = MAX (m, fabs (a[i]));
  return m;
}

/* The FD comparison of the header. skip may be NULL. Returns the max scaled error. */
static double
fd_error (const char *what, const float *ana, const double *num, const gboolean *skip, size_t n)
{
  double scale = 1e-2 * max_abs_d (num, n) + 1e-6, worst = 0;
  size_t worst_i = 0, checked = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (skip && skip[i])
        continue;
      checked++;
      double e = fabs (ana[i] - num[i]) / (fabs (num[i]) + scale);
      if (e > worst)
        worst = e, worst_i = i;
    }
  g_test_message ("%s: %zu/%zu coordinates checked, max |numeric| %.3g, max scaled error %.3g "
                  "(at %zu: analytic %.7g, numeric %.7g)", what, checked, n, max_abs_d (num, n),
                  worst, worst_i, n ? ana[worst_i] : 0.0, n ? num[worst_i] : 0.0);
  g_assert_cmpuint (checked, >, 0);
  return worst;
}

/* |a − b| ≤ tol · max(1, max|b|) elementwise. */
static void
assert_close (const char *what, const float *a, const float *b, size_t n, double tol)
{
  double mb = 1;
  for (size_t i = 0; i < n; i++)
    mb = MAX (mb, fabs (b[i]));
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < n; i++)
    {
      double e = fabs ((double) a[i] - b[i]);
      if (!(e <= worst)) /* NaN counts as the worst */
        worst = e, wi = i;
    }
  if (!(worst <= tol * mb))
    g_test_message ("%s: max |diff| %.3g at %zu (%.8g vs %.8g), allowed %.3g", what, worst, wi,
                    a[wi], b[wi], tol * mb);
  g_assert_cmpfloat (worst, <=, tol * mb);
}

static void
setup_layer (LqLayer *l, int c, int h, int w)
{
  GError *error = NULL;
  l->in[0] = c, l->in[1] = h, l->in[2] = w;
  gboolean ok = l->klass->infer (l, l->in, l->out, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  l->in_size = (size_t) c * h * w;
  l->out_size = (size_t) l->out[0] * l->out[1] * l->out[2];
}

static void
zero_grads (LqLayer *l)
{
  for (int p = 0; p < l->n_params; p++)
    lq_tensor_zero (l->params[p].grad);
}

/* ---------- the generic checks ---------- */

typedef enum { KIND_LINEAR, KIND_SMOOTH, KIND_KINK } Kind;

typedef struct {
  LqLayer *l;
  int batch;
  float *x, *y, *w; /* input, output, upstream gradient */
  LqRng rng_state;  /* restored before each forward (dropout draws the same mask) */
} Probe;

static double
probe_loss (Probe *p)
{
  p->l->rng = p->rng_state;
  p->l->klass->forward (p->l, p->y, p->x, p->batch);
  return dot (p->w, p->y, (size_t) p->batch * p->l->out_size);
}

/* FD of L with respect to the float at *v. */
static double
fd_at (Probe *p, float *v, double h)
{
  float save = *v;
  *v = (float) (save + h);
  double xp = *v, lp = probe_loss (p);
  *v = (float) (save - h);
  double xm = *v, lm = probe_loss (p);
  *v = save;
  return (lp - lm) / (xp - xm);
}

static void
check_gradients (LqLayer *l, int batch, Kind kind, double h, LqRng *rng)
{
  const size_t nin = (size_t) batch * l->in_size, nout = (size_t) batch * l->out_size;
  Probe p = { l, batch, lq_floats_new (nin), lq_floats_new (nout), lq_floats_new (nout), l->rng };
  if (kind == KIND_LINEAR)
    fill_uniform (rng, p.x, nin, -1, 1);
  else
    fill_away (rng, p.x, nin, 0.1f, 2.0f);
  fill_uniform (rng, p.w, nout, -1, 1);

  /* analytic */
  float *dx = floats_nan (nin);
  zero_grads (l);
  l->rng = p.rng_state;
  l->klass->forward (l, p.y, p.x, batch);
  l->klass->backward (l, dx, p.w, p.x, p.y, batch, TRUE);

  /* input */
  double *num = g_new (double, nin);
  gboolean *skip = g_new0 (gboolean, nin);
  for (size_t i = 0; i < nin; i++)
    {
      if (kind == KIND_KINK && fabs (p.x[i]) <= 2 * h)
        skip[i] = TRUE;
      num[i] = skip[i] ? 0 : fd_at (&p, &p.x[i], h);
    }
  char *what = g_strdup_printf ("%s dL/dx", l->klass->kind);
  g_assert_cmpfloat (fd_error (what, dx, num, skip, nin), <=, TOL_FD);
  g_free (what);
  g_free (num);
  g_free (skip);

  /* parameters */
  for (int q = 0; q < l->n_params; q++)
    {
      LqTensor *v = l->params[q].value, *g = l->params[q].grad;
      num = g_new (double, v->numel);
      for (size_t i = 0; i < v->numel; i++)
        num[i] = fd_at (&p, &v->data[i], h);
      g_assert_cmpfloat (fd_error (l->params[q].name, g->data, num, NULL, v->numel), <=, TOL_FD);
      g_free (num);
    }
  lq_floats_free (dx);
  lq_floats_free (p.x);
  lq_floats_free (p.y);
  lq_floats_free (p.w);
}

/* Accumulation, NaN-prefilled outputs, batch vs single, tangent, adjoint, weight_grad. */
static void
check_contracts (LqLayer *l, int batch, Kind kind, LqRng *rng)
{
  const size_t in = l->in_size, out = l->out_size, nin = batch * in, nout = batch * out;
  const LqRng rs = l->rng;
  float *x = lq_floats_new (nin), *dy = lq_floats_new (nout);
  if (kind == KIND_KINK)
    fill_away (rng, x, nin, 0.1f, 2.0f);
  else
    fill_uniform (rng, x, nin, -1, 1);
  fill_uniform (rng, dy, nout, -1, 1);

  /* forward and dx overwrite NaN-filled buffers; parameter gradients accumulate. */
  float *y = floats_nan (nout), *dx = floats_nan (nin), *dx2 = floats_nan (nin);
  l->rng = rs;
  l->klass->forward (l, y, x, batch);
  for (size_t i = 0; i < nout; i++)
    g_assert_true (isfinite (y[i]));
  zero_grads (l);
  l->klass->backward (l, dx, dy, x, y, batch, TRUE);
  LqTensor *once[2] = { NULL, NULL };
  for (int q = 0; q < l->n_params; q++)
    once[q] = lq_tensor_copy (l->params[q].grad);
  l->klass->backward (l, dx2, dy, x, y, batch, TRUE);
  assert_close ("dx is overwritten, not accumulated", dx2, dx, nin, 0);
  for (int q = 0; q < l->n_params; q++)
    {
      LqTensor *twice = lq_tensor_copy (once[q]);
      for (size_t i = 0; i < twice->numel; i++)
        twice->data[i] *= 2;
      assert_close ("two backward calls double the gradient", l->params[q].grad->data, twice->data,
                    twice->numel, TOL_SAME);
      lq_tensor_free (twice);
    }
  /* backward without params leaves the parameter gradients alone */
  for (int q = 0; q < l->n_params; q++)
    lq_tensor_zero (l->params[q].grad);
  l->klass->backward (l, dx2, dy, x, y, batch, FALSE);
  for (int q = 0; q < l->n_params; q++)
    for (size_t i = 0; i < l->params[q].grad->numel; i++)
      g_assert_cmpfloat (l->params[q].grad->data[i], ==, 0);

  /* batch vs one sample at a time (not for dropout in training: its mask is drawn per call) */
  if (!(l->training && strcmp (l->klass->kind, "dropout") == 0))
    {
      float *ys = lq_floats_new (nout), *dxs = lq_floats_new (nin);
      zero_grads (l);
      for (int s = 0; s < batch; s++)
        {
          l->klass->forward (l, ys + s * out, x + s * in, 1);
          l->klass->backward (l, dxs + s * in, dy + s * out, x + s * in, ys + s * out, 1, TRUE);
        }
      assert_close ("forward: batch = samples one at a time", ys, y, nout, TOL_SAME);
      assert_close ("backward dx: batch = samples one at a time", dxs, dx, nin, TOL_SAME);
      for (int q = 0; q < l->n_params; q++)
        assert_close ("param grad: batch = sum over samples", l->params[q].grad->data,
                      once[q]->data, once[q]->numel, TOL_SAME);
      lq_floats_free (ys);
      lq_floats_free (dxs);
    }

  if (kind == KIND_SMOOTH)
    g_assert_null (l->klass->tangent);
  if (l->klass->tangent)
    {
      g_assert_nonnull (l->klass->weight_grad);
      /* tangent = directional FD (bias cancels in the central difference); kinks: |x| ≥ 0.1 and
       * h·|r| ≤ 1e-2 keeps every pre-activation on its side. */
      float *r = lq_floats_new (nin), *ry = floats_nan (nout), *xp = lq_floats_new (nin);
      float *yp = lq_floats_new (nout), *ym = lq_floats_new (nout);
      fill_uniform (rng, r, nin, -1, 1);
      l->klass->tangent (l, ry, r, x, y, batch);
      const double h = 1e-2;
      for (size_t i = 0; i < nin; i++)
        xp[i] = (float) (x[i] + h * r[i]);
      l->rng = rs;
      l->klass->forward (l, yp, xp, batch);
      for (size_t i = 0; i < nin; i++)
        xp[i] = (float) (x[i] - h * r[i]);
      l->rng = rs;
      l->klass->forward (l, ym, xp, batch);
      double *num = g_new (double, nout);
      for (size_t i = 0; i < nout; i++)
        num[i] = ((double) yp[i] - ym[i]) / (2 * h);
      char *what = g_strdup_printf ("%s tangent vs directional FD", l->klass->kind);
      g_assert_cmpfloat (fd_error (what, ry, num, NULL, nout), <=, TOL_FD);
      g_free (what);
      g_free (num);
      /* ⟨J r, dy⟩ = ⟨r, Jᵀ dy⟩ (the forward that made the mask is restored first) */
      l->rng = rs;
      l->klass->forward (l, y, x, batch);
      l->klass->tangent (l, ry, r, x, y, batch);
      l->klass->backward (l, dx, dy, x, y, batch, FALSE);
      double a = dot (ry, dy, nout), b = dot (r, dx, nin);
      g_test_message ("%s adjoint: <Jr,dy> = %.9g, <r,J'dy> = %.9g", l->klass->kind, a, b);
      g_assert_cmpfloat (fabs (a - b), <=, TOL_SAME * MAX (1.0, fabs (b)) * sqrt ((double) nin));

      /* weight_grad (rx, dy) = backward's weight gradient with x := rx; bias untouched */
      if (l->n_params > 0)
        {
          zero_grads (l);
          l->klass->weight_grad (l, r, dy, batch);
          LqTensor *wg = lq_tensor_copy (l->params[0].grad);
          for (size_t i = 0; i < l->params[1].grad->numel; i++)
            g_assert_cmpfloat (l->params[1].grad->data[i], ==, 0);
          zero_grads (l);
          l->klass->backward (l, NULL, dy, r, y, batch, TRUE);
          assert_close ("weight_grad(rx, dy) = backward's dW with x := rx", wg->data,
                        l->params[0].grad->data, wg->numel, TOL_SAME);
          lq_tensor_free (wg);
        }
      lq_floats_free (r);
      lq_floats_free (ry);
      lq_floats_free (xp);
      lq_floats_free (yp);
      lq_floats_free (ym);
    }
  for (int q = 0; q < l->n_params; q++)
    lq_tensor_free (once[q]);
  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (dy);
  lq_floats_free (dx);
  lq_floats_free (dx2);
}

static void
randomize_params (LqLayer *l, LqRng *rng)
{
  for (int q = 0; q < l->n_params; q++)
    fill_uniform (rng, l->params[q].value->data, l->params[q].value->numel, -0.5f, 0.5f);
}

/* ---------- dense ---------- */

static void
test_dense (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 1);
  g_autoptr (LqLayer) l = lq_dense_new ("fc", 5);
  setup_layer (l, 2, 3, 4);
  g_assert_cmpint (l->out[0], ==, 5);
  g_assert_cmpint (l->out[1] * l->out[2], ==, 1);
  g_assert_cmpstr (l->params[0].name, ==, "fc.weight");
  g_assert_cmpstr (l->params[1].name, ==, "fc.bias");
  g_assert_true (lq_tensor_shape_is (l->params[0].value, 2, (int[]){ 5, 24 }));
  g_assert_true (lq_tensor_shape_is (l->params[1].value, 1, (int[]){ 5 }));
  randomize_params (l, &rng);

  /* naive forward: y = W x + b */
  const int B = 3;
  float *x = lq_floats_new (B * 24), *y = lq_floats_new (B * 5), *ref = lq_floats_new (B * 5);
  fill_uniform (&rng, x, B * 24, -1, 1);
  l->klass->forward (l, y, x, B);
  for (int n = 0; n < B; n++)
    for (int o = 0; o < 5; o++)
      {
        double s = l->params[1].value->data[o];
        for (int k = 0; k < 24; k++)
          s += (double) l->params[0].value->data[o * 24 + k] * x[n * 24 + k];
        ref[n * 5 + o] = (float) s;
      }
  assert_close ("dense forward vs naive", y, ref, B * 5, 1e-5);
  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (ref);

  check_gradients (l, B, KIND_LINEAR, 1e-2, &rng);
  check_contracts (l, B, KIND_LINEAR, &rng);
}

/* Output gradients with few nonzeros (behind a ReLU) take the rows of W they select
 * (lq_dense_adjoint_sparse, bit for bit); with many, the GEMM. Both match the naive Wᵀ dy. */
static void
test_dense_sparse (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 13);
  g_autoptr (LqLayer) l = lq_dense_new ("fc", 40);
  setup_layer (l, 24, 1, 1);
  randomize_params (l, &rng);
  const int B = 2, M = 40, K = 24;
  const float *W = l->params[0].value->data;
  float *x = lq_floats_new (B * K), *y = lq_floats_new (B * M), *dy = lq_floats_new (B * M);
  float *dx = lq_floats_new (B * K), *ref = lq_floats_new (B * K), *one2 = lq_floats_new (B * K);
  fill_uniform (&rng, x, B * K, -1, 1);
  l->klass->forward (l, y, x, B);
  for (int every = 7; every >= 1; every -= 6) /* 12 nonzeros of 80 (sparse), then all (GEMM) */
    {
      fill_uniform (&rng, dy, B * M, -1, 1);
      for (int i = 0; i < B * M; i++)
        if (i % every != 0)
          dy[i] = 0.0f;
      l->klass->backward (l, dx, dy, x, y, B, FALSE);
      for (int n = 0; n < B; n++)
        for (int k = 0; k < K; k++)
          {
            double acc = 0;
            for (int m = 0; m < M; m++)
              acc += (double) W[m * K + k] * dy[n * M + m];
            ref[n * K + k] = (float) acc;
          }
      assert_close ("dense dx vs naive", dx, ref, B * K, 1e-5);
      /* 12 nonzeros select at most 12 of the 40 rows; all 80 select every row */
      gboolean sparse = lq_dense_adjoint_sparse (B, M, K, dy, W, one2);
      g_assert_cmpint (sparse, ==, every > 1);
      if (sparse)
        g_assert_true (memcmp (one2, dx, B * K * sizeof (float)) == 0);
    }
  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (dy);
  lq_floats_free (dx);
  lq_floats_free (ref);
  lq_floats_free (one2);
}

/* ---------- conv2d ---------- */

typedef struct {
  const char *name;
  int cin, h, w, cout, kh, kw, stride;
  int mode; /* 0 explicit pads, 1 TF same, 2 valid */
  int pt, pl, pb, pr;
  int batch;
} ConvCase;

static const ConvCase conv_cases[] = {
  { "3x3-s1-same", 2, 7, 6, 3, 3, 3, 1, 1, 0, 0, 0, 0, 2 },
  { "3x3-s2-same-odd", 2, 7, 6, 3, 3, 3, 2, 1, 0, 0, 0, 0, 2 },
  { "8x8-s2-same-odd", 2, 9, 7, 2, 8, 8, 2, 1, 0, 0, 0, 0, 2 },
  { "5x5-s1-same", 1, 6, 5, 2, 5, 5, 1, 1, 0, 0, 0, 0, 2 },
  { "5x5-s2-valid", 2, 9, 8, 3, 5, 5, 2, 2, 0, 0, 0, 0, 2 },
  { "6x6-s2-valid", 1, 12, 11, 2, 6, 6, 2, 2, 0, 0, 0, 0, 2 },
  { "5x5-s1-valid", 2, 6, 7, 2, 5, 5, 1, 2, 0, 0, 0, 0, 3 },
  { "3x2-s3-explicit-asym", 2, 8, 7, 3, 3, 2, 3, 0, 1, 2, 0, 3, 2 },
  { "3x2-s3-explicit-asym-4ch", 4, 8, 7, 3, 3, 2, 3, 0, 1, 2, 0, 3, 2 },
  { "3x3-s2-same-9ch", 9, 11, 10, 4, 3, 3, 2, 1, 0, 0, 0, 0, 2 },
  { "1x1-s1", 3, 4, 5, 2, 1, 1, 1, 0, 0, 0, 0, 0, 2 },
  { "4x4-s2-pad1", 2, 8, 8, 2, 4, 4, 2, 0, 1, 1, 1, 1, 2 },
  /* one input channel: the thin kernels (K ≤ LQ_THIN_MAX_ROWS), batches split over threads */
  { "3x3-s1-same-thin", 1, 9, 8, 6, 3, 3, 1, 1, 0, 0, 0, 0, 5 },
  { "4x4-s1-valid-thin", 1, 40, 7, 5, 4, 4, 1, 2, 0, 0, 0, 0, 3 },
};

static LqLayer *
conv_from_case (const ConvCase *c, int *pt, int *pl, int *oh, int *ow)
{
  LqLayer *l;
  if (c->mode == 1)
    {
      g_assert_cmpint (c->kh, ==, c->kw);
      l = lq_conv2d_new_same ("conv", c->cout, c->kh, c->stride);
      /* TensorFlow: out = ceil(in/s), total pad = max((out−1)·s + k − in, 0), the smaller half first */
      *oh = (c->h + c->stride - 1) / c->stride, *ow = (c->w + c->stride - 1) / c->stride;
      *pt = MAX ((*oh - 1) * c->stride + c->kh - c->h, 0) / 2;
      *pl = MAX ((*ow - 1) * c->stride + c->kw - c->w, 0) / 2;
    }
  else if (c->mode == 2)
    {
      l = lq_conv2d_new_valid ("conv", c->cout, c->kh, c->stride);
      *pt = *pl = 0;
      *oh = (c->h - c->kh) / c->stride + 1, *ow = (c->w - c->kw) / c->stride + 1;
    }
  else
    {
      l = lq_conv2d_new ("conv", c->cout, c->kh, c->kw, c->stride, c->pt, c->pl, c->pb, c->pr);
      *pt = c->pt, *pl = c->pl;
      *oh = (c->h + c->pt + c->pb - c->kh) / c->stride + 1;
      *ow = (c->w + c->pl + c->pr - c->kw) / c->stride + 1;
    }
  return l;
}

static void
conv_naive (const LqLayer *l, int B, int cin, int h, int w, int cout, int kh, int kw, int s, int pt,
            int pl, int oh, int ow, const float *x, float *y)
{
  const float *W = l->params[0].value->data, *b = l->params[1].value->data;
  for (int n = 0; n < B; n++)
    for (int o = 0; o < cout; o++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
          {
            double acc = b[o];
            for (int c = 0; c < cin; c++)
              for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++)
                  {
                    int iy = oy * s - pt + i, ix = ox * s - pl + j;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                      continue;
                    acc += (double) W[((o * cin + c) * kh + i) * kw + j] *
                           x[((n * cin + c) * h + iy) * w + ix];
                  }
            y[((n * cout + o) * oh + oy) * ow + ox] = (float) acc;
          }
}

static void
test_conv (gconstpointer data)
{
  const ConvCase *c = data;
  LqRng rng;
  lq_rng_seed (&rng, 2);
  int pt, pl, oh, ow;
  g_autoptr (LqLayer) l = conv_from_case (c, &pt, &pl, &oh, &ow);
  setup_layer (l, c->cin, c->h, c->w);
  g_assert_cmpint (l->out[0], ==, c->cout);
  g_assert_cmpint (l->out[1], ==, oh);
  g_assert_cmpint (l->out[2], ==, ow);
  g_assert_true (lq_tensor_shape_is (l->params[0].value, 4, (int[]){ c->cout, c->cin, c->kh, c->kw }));
  randomize_params (l, &rng);

  const int B = c->batch;
  float *x = lq_floats_new (B * l->in_size), *y = lq_floats_new (B * l->out_size);
  float *ref = lq_floats_new (B * l->out_size);
  fill_uniform (&rng, x, B * l->in_size, -1, 1);
  l->klass->forward (l, y, x, B);
  conv_naive (l, B, c->cin, c->h, c->w, c->cout, c->kh, c->kw, c->stride, pt, pl, oh, ow, x, ref);
  assert_close ("conv forward vs naive", y, ref, B * l->out_size, 1e-5);
  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (ref);

  check_gradients (l, B, KIND_LINEAR, 1e-2, &rng);
  check_contracts (l, B, KIND_LINEAR, &rng);
}

/* dx[n][c][iy][ix] = Σ W[o][c][i][j] dy[n][o][oy][ox] over the taps that reach (iy, ix), in double. */
static void
conv_adjoint_naive (const LqLayer *l, int B, int cin, int h, int w, int cout, int kh, int kw, int s,
                    int pt, int pl, int oh, int ow, const float *dy, float *dx)
{
  const float *W = l->params[0].value->data;
  double *acc = g_new0 (double, (size_t) B * cin * h * w);
  for (int n = 0; n < B; n++)
    for (int o = 0; o < cout; o++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
          for (int c = 0; c < cin; c++)
            for (int i = 0; i < kh; i++)
              for (int j = 0; j < kw; j++)
                {
                  int iy = oy * s - pt + i, ix = ox * s - pl + j;
                  if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                    acc[((n * cin + c) * h + iy) * w + ix] +=
                      (double) W[((o * cin + c) * kh + i) * kw + j] *
                      dy[((n * cout + o) * oh + oy) * ow + ox];
                }
  for (size_t i = 0; i < (size_t) B * cin * h * w; i++)
    dx[i] = (float) acc[i];
  g_free (acc);
}

/* A batch whose output gradients are mostly zero (sample 0: one entry in ten, as behind a ReLU),
 * dense (sample 1) and all zero (sample 2): the sparse samples go through lq_conv_adjoint_sparse
 * (bit for bit), the dense one through GEMM + col2im exactly as when it comes alone, and every
 * input gradient matches the naive adjoint. */
static void
test_conv_sparse (gconstpointer data)
{
  const ConvCase *c = data;
  LqRng rng;
  lq_rng_seed (&rng, 12);
  int pt, pl, oh, ow;
  g_autoptr (LqLayer) l = conv_from_case (c, &pt, &pl, &oh, &ow);
  setup_layer (l, c->cin, c->h, c->w);
  randomize_params (l, &rng);
  const int B = 3;
  const size_t in = l->in_size, out = l->out_size;
  float *x = lq_floats_new (B * in), *y = lq_floats_new (B * out), *dy = lq_floats_new (B * out);
  float *dx = lq_floats_new (B * in), *ref = lq_floats_new (B * in), *one = lq_floats_new (in);
  LqConvGeom g = { c->cin, c->h, c->w, c->kh, c->kw, c->stride, pt, pl, oh, ow };
  fill_uniform (&rng, x, B * in, -1, 1);
  fill_uniform (&rng, dy, B * out, -1, 1);
  for (size_t i = 0; i < out; i++)
    if (i % 10 != 3)
      dy[i] = 0.0f;
  memset (dy + 2 * out, 0, out * sizeof (float));
  g_assert_cmpuint (lq_count_nonzero (dy, out), <=, LQ_SPARSE_MAX_DENSITY * out);
  g_assert_cmpuint (lq_count_nonzero (dy, out), >, 0);

  l->klass->forward (l, y, x, B);
  l->klass->backward (l, dx, dy, x, y, B, FALSE);
  conv_adjoint_naive (l, B, c->cin, c->h, c->w, c->cout, c->kh, c->kw, c->stride, pt, pl, oh, ow,
                      dy, ref);
  assert_close ("sparse batch dx vs naive", dx, ref, B * in, 1e-5);

  float *wt = lq_floats_new (l->params[0].value->numel);
  lq_conv_weights_channel_last (&g, c->cout, l->params[0].value->data, wt);
  lq_conv_adjoint_sparse (&g, 1, dy, c->cout, wt, (gboolean[]){ TRUE }, one);
  lq_floats_free (wt);
  g_assert_true (memcmp (one, dx, in * sizeof (float)) == 0);
  l->klass->forward (l, y, x + in, 1);
  l->klass->backward (l, one, dy + out, x + in, y, 1, FALSE);
  g_assert_true (memcmp (one, dx + in, in * sizeof (float)) == 0);
  for (size_t i = 0; i < in; i++)
    g_assert_cmpfloat (dx[2 * in + i], ==, 0.0f);

  /* new weights (as after an optimizer step), a forward, a backward: the layer's channel-last
   * copy of the weight is rebuilt, not reused */
  randomize_params (l, &rng);
  l->klass->forward (l, y, x, B);
  l->klass->backward (l, dx, dy, x, y, B, FALSE);
  conv_adjoint_naive (l, B, c->cin, c->h, c->w, c->cout, c->kh, c->kw, c->stride, pt, pl, oh, ow,
                      dy, ref);
  assert_close ("sparse batch dx vs naive, new weights", dx, ref, B * in, 1e-5);

  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (dy);
  lq_floats_free (dx);
  lq_floats_free (ref);
  lq_floats_free (one);
}

/* Rows whose nonzeros fall on the same places (one sample's class gradients behind one ReLU mask)
 * are summed as a group in lq_conv_adjoint_sparse; each row's result equals the row taken alone. */
static void
test_conv_sparse_grouped (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 14);
  g_autoptr (LqLayer) l = lq_conv2d_new_valid ("conv", 6, 5, 2);
  setup_layer (l, 4, 13, 12);
  randomize_params (l, &rng);
  const int R = 11; /* rows 0–9 share a mask (a group of 10), row 10 has its own */
  const size_t in = l->in_size, out = l->out_size;
  float *dy = lq_floats_new (R * out), *dx = lq_floats_new (R * in), *one = lq_floats_new (in);
  fill_uniform (&rng, dy, R * out, -1, 1);
  for (int r = 0; r < R; r++)
    for (size_t i = 0; i < out; i++)
      if ((r < 10 && i % 7 != 2) || (r == 10 && i % 7 != 5))
        dy[r * out + i] = 0.0f;
  gboolean which[11];
  for (int r = 0; r < R; r++)
    which[r] = TRUE;
  LqConvGeom g = { 4, 13, 12, 5, 5, 2, 0, 0, l->out[1], l->out[2] };
  float *W = lq_floats_new (l->params[0].value->numel);
  lq_conv_weights_channel_last (&g, 6, l->params[0].value->data, W);
  lq_conv_adjoint_sparse (&g, R, dy, 6, W, which, dx);
  float *ref = lq_floats_new (R * in);
  int pt = 0, pl = 0;
  conv_adjoint_naive (l, R, 4, 13, 12, 6, 5, 5, 2, pt, pl, l->out[1], l->out[2], dy, ref);
  assert_close ("grouped sparse dx vs naive", dx, ref, R * in, 1e-5);
  for (int r = 0; r < R; r++)
    {
      lq_conv_adjoint_sparse (&g, 1, dy + r * out, 6, W, which, one);
      for (size_t i = 0; i < in; i++)
        g_assert_cmpfloat (one[i], ==, dx[r * in + i]);
    }
  lq_floats_free (W);
  lq_floats_free (dy);
  lq_floats_free (dx);
  lq_floats_free (one);
  lq_floats_free (ref);
}

static void
test_conv_bad_shape (void)
{
  g_autoptr (LqLayer) l = lq_conv2d_new_valid ("conv", 2, 5, 1);
  GError *error = NULL;
  int in[3] = { 1, 4, 4 }, out[3];
  g_assert_false (l->klass->infer (l, in, out, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_SHAPE);
  g_clear_error (&error);
}

/* ---------- deconv2d ---------- */

typedef struct {
  const char *name;
  int cin, h, w, cout, k, stride, padding, output_padding, batch;
} DeconvCase;

static const DeconvCase deconv_cases[] = {
  { "3x3-s1-p1", 2, 5, 4, 3, 3, 1, 1, 0, 2 },
  { "3x3-s1-p0", 2, 4, 5, 2, 3, 1, 0, 0, 2 },
  { "3x3-s2-p1-op1", 2, 4, 3, 3, 3, 2, 1, 1, 2 },
  { "3x3-s2-p1-op0", 2, 4, 5, 2, 3, 2, 1, 0, 2 },
  { "4x4-s2-p1", 3, 3, 4, 2, 4, 2, 1, 0, 2 },
  { "5x5-s3-p2-op2", 2, 3, 3, 2, 5, 3, 2, 2, 2 },
  { "2x2-s2-p0", 2, 3, 2, 2, 2, 2, 0, 0, 3 },
  /* one output channel: the thin kernels */
  { "3x3-s1-p1-thin", 5, 9, 8, 1, 3, 1, 1, 0, 5 },
  { "4x4-s2-p1-thin", 3, 5, 7, 1, 4, 2, 1, 0, 3 },
};

static void
deconv_naive (const LqLayer *l, int B, int cin, int h, int w, int cout, int k, int s, int p,
              int oh, int ow, const float *x, float *y)
{
  const float *W = l->params[0].value->data, *b = l->params[1].value->data;
  double *acc = g_new0 (double, (size_t) B * cout * oh * ow);
  for (int n = 0; n < B; n++)
    for (int c = 0; c < cin; c++)
      for (int iy = 0; iy < h; iy++)
        for (int ix = 0; ix < w; ix++)
          for (int o = 0; o < cout; o++)
            for (int i = 0; i < k; i++)
              for (int j = 0; j < k; j++)
                {
                  int yy = iy * s - p + i, xx = ix * s - p + j;
                  if (yy < 0 || yy >= oh || xx < 0 || xx >= ow)
                    continue;
                  acc[((n * cout + o) * oh + yy) * ow + xx] +=
                    (double) W[((c * cout + o) * k + i) * k + j] * x[((n * cin + c) * h + iy) * w + ix];
                }
  for (int n = 0; n < B; n++)
    for (int o = 0; o < cout; o++)
      for (int q = 0; q < oh * ow; q++)
        y[(n * cout + o) * oh * ow + q] = (float) (acc[(n * cout + o) * oh * ow + q] + b[o]);
  g_free (acc);
}

static void
test_deconv (gconstpointer data)
{
  const DeconvCase *c = data;
  LqRng rng;
  lq_rng_seed (&rng, 3);
  g_autoptr (LqLayer) l = lq_deconv2d_new ("deconv", c->cout, c->k, c->stride, c->padding,
                                           c->output_padding);
  setup_layer (l, c->cin, c->h, c->w);
  /* PyTorch: (in − 1)·s − 2p + k + output_padding */
  int oh = (c->h - 1) * c->stride - 2 * c->padding + c->k + c->output_padding;
  int ow = (c->w - 1) * c->stride - 2 * c->padding + c->k + c->output_padding;
  g_assert_cmpint (l->out[0], ==, c->cout);
  g_assert_cmpint (l->out[1], ==, oh);
  g_assert_cmpint (l->out[2], ==, ow);
  g_assert_true (lq_tensor_shape_is (l->params[0].value, 4, (int[]){ c->cin, c->cout, c->k, c->k }));
  randomize_params (l, &rng);

  const int B = c->batch;
  float *x = lq_floats_new (B * l->in_size), *y = lq_floats_new (B * l->out_size);
  float *ref = lq_floats_new (B * l->out_size);
  fill_uniform (&rng, x, B * l->in_size, -1, 1);
  l->klass->forward (l, y, x, B);
  deconv_naive (l, B, c->cin, c->h, c->w, c->cout, c->k, c->stride, c->padding, oh, ow, x, ref);
  assert_close ("deconv forward vs naive", y, ref, B * l->out_size, 1e-5);
  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (ref);

  check_gradients (l, B, KIND_LINEAR, 1e-2, &rng);
  check_contracts (l, B, KIND_LINEAR, &rng);
}

static void
test_deconv_bad_shape (void)
{
  /* output_padding must be smaller than the stride (PyTorch's rule) */
  g_autoptr (LqLayer) l = lq_deconv2d_new ("deconv", 2, 3, 2, 1, 2);
  GError *error = NULL;
  int in[3] = { 1, 4, 4 }, out[3];
  g_assert_false (l->klass->infer (l, in, out, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_SHAPE);
  g_clear_error (&error);
}

/* ---------- im2col chunking: batches that span several column chunks ---------- */

static void
check_chunked (LqLayer *l, int B, LqRng *rng)
{
  const size_t in = l->in_size, out = l->out_size;
  randomize_params (l, rng);
  float *x = lq_floats_new (B * in), *dy = lq_floats_new (B * out);
  float *y = lq_floats_new (B * out), *dx = lq_floats_new (B * in);
  float *ys = lq_floats_new (B * out), *dxs = lq_floats_new (B * in);
  fill_uniform (rng, x, B * in, -1, 1);
  fill_uniform (rng, dy, B * out, -1, 1);
  zero_grads (l);
  l->klass->forward (l, y, x, B);
  l->klass->backward (l, dx, dy, x, y, B, TRUE);
  LqTensor *gw = lq_tensor_copy (l->params[0].grad), *gb = lq_tensor_copy (l->params[1].grad);
  zero_grads (l);
  for (int s = 0; s < B; s++)
    {
      l->klass->forward (l, ys + s * out, x + s * in, 1);
      l->klass->backward (l, dxs + s * in, dy + s * out, x + s * in, ys + s * out, 1, TRUE);
    }
  assert_close ("chunked forward = per sample", y, ys, B * out, TOL_SAME);
  assert_close ("chunked dx = per sample", dx, dxs, B * in, TOL_SAME);
  assert_close ("chunked dW = sum per sample", gw->data, l->params[0].grad->data, gw->numel, 1e-4);
  assert_close ("chunked db = sum per sample", gb->data, l->params[1].grad->data, gb->numel, 1e-4);
  lq_tensor_free (gw);
  lq_tensor_free (gb);
  lq_floats_free (x);
  lq_floats_free (dy);
  lq_floats_free (y);
  lq_floats_free (dx);
  lq_floats_free (ys);
  lq_floats_free (dxs);
}

/* The smallest batch that spans two im2col chunks, whatever the chunk budget is. */
static int
two_chunk_batch (size_t rows, size_t cols_per_sample)
{
  int chunk = lq_im2col_chunk (rows, cols_per_sample, G_MAXINT / 2);
  int B = chunk + 2;
  g_assert_cmpint (lq_im2col_chunk (rows, cols_per_sample, B), <, B);
  g_test_message ("chunk of %d samples, batch %d", chunk, B);
  return B;
}

/* A layer whose batch or products are cut over the engine's threads: the outputs and input
 * gradients are bit-identical whatever the thread count (each sample, each element of a product,
 * is computed alone); the parameter gradients are sums over samples, grouped by part, so they
 * agree within rounding. */
static void
check_thread_counts (LqLayer *l, int B, LqRng *rng)
{
  const size_t in = l->in_size, out = l->out_size;
  const int saved = lq_gemm_get_threads ();
  randomize_params (l, rng);
  float *x = lq_floats_new (B * in), *dy = lq_floats_new (B * out);
  fill_uniform (rng, x, B * in, -1, 1);
  fill_uniform (rng, dy, B * out, -1, 1);
  float *y[3], *dx[3];
  LqTensor *gw[3], *gb[3];
  for (int t = 0; t < 3; t++)
    {
      lq_gemm_set_threads (t + 1);
      y[t] = lq_floats_new (B * out), dx[t] = lq_floats_new (B * in);
      zero_grads (l);
      l->klass->forward (l, y[t], x, B);
      l->klass->backward (l, dx[t], dy, x, y[t], B, TRUE);
      gw[t] = lq_tensor_copy (l->params[0].grad), gb[t] = lq_tensor_copy (l->params[1].grad);
    }
  lq_gemm_set_threads (saved);
  for (int t = 1; t < 3; t++)
    {
      g_assert_true (memcmp (y[0], y[t], B * out * sizeof (float)) == 0);
      g_assert_true (memcmp (dx[0], dx[t], B * in * sizeof (float)) == 0);
      assert_close ("dW, threads 1 vs more", gw[t]->data, gw[0]->data, gw[0]->numel, TOL_SAME);
      assert_close ("db, threads 1 vs more", gb[t]->data, gb[0]->data, gb[0]->numel, TOL_SAME);
    }
  for (int t = 0; t < 3; t++)
    {
      lq_floats_free (y[t]);
      lq_floats_free (dx[t]);
      lq_tensor_free (gw[t]);
      lq_tensor_free (gb[t]);
    }
  lq_floats_free (x);
  lq_floats_free (dy);
}

/* Layers on GEMM: a batch cut over the threads (lq-batch-split.h: conv and deconv at batch 12,
 * 43 MFLOP a pass, above LQ_BATCH_SPLIT_COLD_FLOPS) and a product cut by columns (lq_gemm: the
 * dense layer at batch 64, 67 MFLOP, above LQ_GEMM_SPLIT_COLD_FLOPS) give the same outputs and
 * input gradients whatever the thread count, and the same parameter gradients up to their
 * grouping. */
static void
test_split_threads (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 16);
  g_assert_cmpfloat (2.0 * 32 * 32 * 9 * 14 * 14 * 12, >=, LQ_BATCH_SPLIT_COLD_FLOPS);
  g_assert_cmpfloat (2.0 * 64 * 1024 * 512, >=, LQ_GEMM_SPLIT_COLD_FLOPS);
  g_autoptr (LqLayer) conv = lq_conv2d_new_same ("conv", 32, 3, 2);
  setup_layer (conv, 32, 28, 28);
  check_thread_counts (conv, 12, &rng);
  g_autoptr (LqLayer) deconv = lq_deconv2d_new ("deconv", 32, 3, 2, 1, 1);
  setup_layer (deconv, 32, 14, 14);
  check_thread_counts (deconv, 12, &rng);
  g_autoptr (LqLayer) dense = lq_dense_new ("fc", 512);
  setup_layer (dense, 1024, 1, 1);
  check_thread_counts (dense, 64, &rng);
}

static void
test_thin_threads (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 6);
  g_autoptr (LqLayer) conv = lq_conv2d_new_same ("conv", 16, 3, 1); /* 1 → 16 channels: K = 9 */
  setup_layer (conv, 1, 28, 28);
  check_thread_counts (conv, 7, &rng);
  g_autoptr (LqLayer) deconv = lq_deconv2d_new ("deconv", 1, 3, 1, 1, 0); /* 16 → 1 */
  setup_layer (deconv, 16, 28, 28);
  check_thread_counts (deconv, 7, &rng);
}

/* The engine's flop counter over a layer's passes: forward 2·B·MACs; backward with both the input
 * and the weight gradient twice that; a GEMM layer and a thin one of each kind. */
static void
check_flops (LqLayer *l, int B, double macs_per_sample, LqRng *rng)
{
  const size_t in = l->in_size, out = l->out_size;
  randomize_params (l, rng);
  float *x = lq_floats_new (B * in), *y = lq_floats_new (B * out);
  float *dx = lq_floats_new (B * in), *dy = lq_floats_new (B * out);
  fill_uniform (rng, x, B * in, -1, 1);
  fill_uniform (rng, dy, B * out, -1, 1); /* dense: the sparse route (not counted) stays off */
  const guint64 one = (guint64) (2.0 * B * macs_per_sample);
  guint64 f0 = lq_gemm_flops_done ();
  l->klass->forward (l, y, x, B);
  g_assert_cmpuint (lq_gemm_flops_done () - f0, ==, one);
  f0 = lq_gemm_flops_done ();
  l->klass->backward (l, dx, dy, x, y, B, TRUE);
  g_assert_cmpuint (lq_gemm_flops_done () - f0, ==, 2 * one);
  f0 = lq_gemm_flops_done ();
  l->klass->backward (l, NULL, dy, x, y, B, TRUE);
  g_assert_cmpuint (lq_gemm_flops_done () - f0, ==, one);
  lq_floats_free (x), lq_floats_free (y), lq_floats_free (dx), lq_floats_free (dy);
}

static void
test_flops_counted (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 7);
  g_autoptr (LqLayer) conv = lq_conv2d_new_same ("conv", 16, 3, 2); /* 8 → 16, 10×10 → 5×5 */
  setup_layer (conv, 8, 10, 10);
  check_flops (conv, 3, 16.0 * 8 * 9 * 25, &rng);
  g_autoptr (LqLayer) thin = lq_conv2d_new_same ("thin", 12, 3, 1); /* 1 → 12 on 9×9 */
  setup_layer (thin, 1, 9, 9);
  check_flops (thin, 3, 12.0 * 9 * 81, &rng);
  g_autoptr (LqLayer) deconv = lq_deconv2d_new ("deconv", 6, 3, 2, 1, 1); /* 8 → 6, 5×5 → 10×10 */
  setup_layer (deconv, 8, 5, 5);
  check_flops (deconv, 3, 8.0 * 6 * 9 * 25, &rng);
  g_autoptr (LqLayer) dthin = lq_deconv2d_new ("dthin", 1, 3, 1, 1, 0); /* 12 → 1 on 9×9 */
  setup_layer (dthin, 12, 9, 9);
  check_flops (dthin, 3, 12.0 * 9 * 81, &rng);
  g_autoptr (LqLayer) dense = lq_dense_new ("fc", 20);
  setup_layer (dense, 30, 1, 1);
  check_flops (dense, 4, 30.0 * 20, &rng);
}

/* The AVX-512 kernels of 3×3 thin layers (lq-thin-wide.h) give the AVX2 kernels' bits: conv
 * 1 → 14 backward to the input and to its weight and bias (the fused bias sums), deconv 14 → 1
 * forward, on a 28×28 map (49 whole vectors of 16) and a 9×7 one (63 columns: a masked last
 * vector, and a tail of 7 for the eight-lane sums); 14 channels leave 2 over from the blocks of 4. */
static void
test_thin_wide (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 8);
  if (!lq_thin_wide_available ())
    g_test_message ("no AVX-512 here: both runs take the AVX2 kernels");
  const int sizes[][2] = { { 28, 28 }, { 9, 7 } }, C = 14;
  for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
    {
      const int H = sizes[z][0], W = sizes[z][1], B = 3;
      g_autoptr (LqLayer) conv = lq_conv2d_new_same ("conv", C, 3, 1);
      setup_layer (conv, 1, H, W);
      g_autoptr (LqLayer) deconv = lq_deconv2d_new ("deconv", 1, 3, 1, 1, 0);
      setup_layer (deconv, C, H, W);
      randomize_params (conv, &rng);
      randomize_params (deconv, &rng);
      const size_t big = (size_t) B * C * H * W, small = (size_t) B * H * W;
      float *maps = lq_floats_new (big), *img = lq_floats_new (small);
      fill_uniform (&rng, maps, big, -1, 1);
      fill_uniform (&rng, img, small, -1, 1);
      float *dx[2], *y[2], *dw[2], *db[2];
      for (int wide = 0; wide < 2; wide++)
        {
          lq_thin_wide_set_enabled (wide);
          dx[wide] = lq_floats_new (small), y[wide] = lq_floats_new (small);
          conv->klass->backward (conv, dx[wide], maps, img, NULL, B, FALSE);
          deconv->klass->forward (deconv, y[wide], maps, B);
          lq_tensor_zero (conv->params[0].grad);
          lq_tensor_zero (conv->params[1].grad);
          conv->klass->backward (conv, NULL, maps, img, NULL, B, TRUE);
          dw[wide] = g_memdup2 (conv->params[0].grad->data, C * 9 * sizeof (float));
          db[wide] = g_memdup2 (conv->params[1].grad->data, C * sizeof (float));
        }
      lq_thin_wide_set_enabled (TRUE);
      g_assert_true (memcmp (dx[0], dx[1], small * sizeof (float)) == 0);
      g_assert_true (memcmp (y[0], y[1], small * sizeof (float)) == 0);
      g_assert_true (memcmp (dw[0], dw[1], C * 9 * sizeof (float)) == 0);
      g_assert_true (memcmp (db[0], db[1], C * sizeof (float)) == 0);
      for (int i = 0; i < 2; i++)
        lq_floats_free (dx[i]), lq_floats_free (y[i]), g_free (dw[i]), g_free (db[i]);
      lq_floats_free (maps), lq_floats_free (img);
    }
}

/* The image element that column entry e of lq_im2col (n samples) copies, or -1 for padding. */
static gssize
col_entry_source (const LqConvGeom *g, int n, size_t e)
{
  const size_t ohw = (size_t) g->OH * g->OW, row = (size_t) n * ohw;
  const int r = (int) (e / row), s = (int) (e % row / ohw), p = (int) (e % ohw);
  const int c = r / (g->kh * g->kw), i = r / g->kw % g->kh, j = r % g->kw;
  const int y = p / g->OW * g->stride - g->pt + i, x = p % g->OW * g->stride - g->pl + j;
  if (y < 0 || y >= g->H || x < 0 || x >= g->W)
    return -1;
  return (gssize) ((((size_t) s * g->C + c) * g->H + y) * g->W + x);
}

/* lq_im2col and lq_col2im against the loops of their definition (lq-im2col.h), on geometries that
 * take every path: stride 1 with short and long rows, stride 2 (the even/odd planes, whose
 * interleaving runs 4 columns at a time and leaves edges and a tail) and stride 3, with zero,
 * symmetric and asymmetric padding. Into a zeroed image col2im is exact (each element's taps
 * added in (i, j) order); onto an image that held values, stride 2 sums the taps first (≤ 1e-6). */
static void
test_im2col_naive (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 12);
  const LqConvGeom geoms[] = {
    /* C, H, W, kh, kw, stride, pt, pl: OH, OW follow */
    { 2, 7, 7, 3, 3, 1, 1, 1, 0, 0 },   { 3, 28, 28, 3, 3, 1, 1, 1, 0, 0 },
    { 2, 28, 28, 3, 3, 2, 1, 1, 0, 0 }, { 2, 14, 14, 3, 3, 2, 1, 1, 0, 0 },
    { 1, 27, 23, 4, 4, 2, 2, 1, 0, 0 }, { 2, 11, 9, 3, 2, 2, 0, 0, 0, 0 },
    { 1, 13, 17, 5, 5, 3, 2, 2, 0, 0 },
  };
  const int n = 3;
  for (guint q = 0; q < G_N_ELEMENTS (geoms); q++)
    {
      LqConvGeom g = geoms[q];
      g.OH = (g.H + 2 * g.pt - g.kh) / g.stride + 1;
      g.OW = (g.W + 2 * g.pl - g.kw) / g.stride + 1;
      const size_t ohw = (size_t) g.OH * g.OW, rows = (size_t) g.C * g.kh * g.kw;
      const size_t img = (size_t) n * g.C * g.H * g.W, cols = rows * n * ohw;
      float *x = lq_floats_new (img), *col = lq_floats_new (cols), *want = lq_floats_new (cols);
      float *back = lq_floats_new (img), *back_naive = lq_floats_new (img);
      fill_uniform (&rng, x, img, -1, 1);
      for (size_t e = 0; e < cols; e++)
        {
          const gssize from = col_entry_source (&g, n, e);
          want[e] = from >= 0 ? x[from] : 0.0f;
        }
      lq_im2col (&g, x, n, col);
      g_assert_true (memcmp (col, want, cols * sizeof (float)) == 0);

      fill_uniform (&rng, col, cols, -1, 1);
      for (int held = 0; held < 2; held++)
        {
          for (size_t e = 0; e < img; e++)
            back[e] = back_naive[e] = held ? x[e] : 0.0f;
          for (size_t e = 0; e < cols; e++) /* rows in order: each element's taps in (i, j) order */
            {
              const gssize to = col_entry_source (&g, n, e);
              if (to >= 0)
                back_naive[to] += col[e];
            }
          lq_col2im (&g, col, n, back);
          if (!held)
            g_assert_true (memcmp (back, back_naive, img * sizeof (float)) == 0);
          else
            for (size_t e = 0; e < img; e++)
              g_assert_cmpfloat_with_epsilon (back[e], back_naive[e], 1e-6);
        }
      lq_floats_free (x), lq_floats_free (col), lq_floats_free (want);
      lq_floats_free (back), lq_floats_free (back_naive);
    }
}

static void
test_conv_chunked (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 4);
  /* K = 64·3·3 = 576 rows of 28·28 columns per sample */
  g_autoptr (LqLayer) l = lq_conv2d_new_same ("conv", 3, 3, 1);
  setup_layer (l, 64, 28, 28);
  check_chunked (l, two_chunk_batch (64 * 3 * 3, 28 * 28), &rng);
}

static void
test_deconv_chunked (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 5);
  /* K = 64·3·3 = 576 rows of 28·28 input columns per sample */
  g_autoptr (LqLayer) l = lq_deconv2d_new ("deconv", 64, 3, 1, 1, 0);
  setup_layer (l, 2, 28, 28);
  check_chunked (l, two_chunk_batch (64 * 3 * 3, 28 * 28), &rng);
}

/* ---------- activations ---------- */

typedef double (*ScalarFn) (double x);
static double f_relu (double x) { return x > 0 ? x : 0; }
static double f_leaky (double x) { return x > 0 ? x : 0.2 * x; }
static double f_tanh (double x) { return tanh (x); }
static double f_sigmoid (double x) { return 1.0 / (1.0 + exp (-x)); }
static double f_softsign (double x) { return x / (1.0 + fabs (x)); }

typedef struct {
  const char *name;
  LqLayer *(*make) (void);
  ScalarFn f;
  Kind kind;
} ActCase;

static LqLayer *make_relu (void) { return lq_relu_new (); }
static LqLayer *make_leaky (void) { return lq_leaky_relu_new (0.2f); }
static LqLayer *make_tanh (void) { return lq_tanh_new (); }
static LqLayer *make_sigmoid (void) { return lq_sigmoid_new (); }
static LqLayer *make_softsign (void) { return lq_softsign_new (); }

static const ActCase act_cases[] = {
  { "relu", make_relu, f_relu, KIND_KINK },
  { "leaky_relu", make_leaky, f_leaky, KIND_KINK },
  { "tanh", make_tanh, f_tanh, KIND_SMOOTH },
  { "sigmoid", make_sigmoid, f_sigmoid, KIND_SMOOTH },
  { "softsign", make_softsign, f_softsign, KIND_SMOOTH },
};

static void
test_activation (gconstpointer data)
{
  const ActCase *c = data;
  LqRng rng;
  lq_rng_seed (&rng, 6);
  g_autoptr (LqLayer) l = c->make ();
  setup_layer (l, 3, 4, 5);
  g_assert_cmpint (l->out[0], ==, 3);
  g_assert_cmpint (l->out[1], ==, 4);
  g_assert_cmpint (l->out[2], ==, 5);
  g_assert_cmpint (l->n_params, ==, 0);

  /* forward against libm in double, including large |x| (sigmoid's two branches) and 0 */
  const int B = 2, n = B * 60;
  float *x = lq_floats_new (n), *y = lq_floats_new (n), *ref = lq_floats_new (n);
  fill_uniform (&rng, x, n, -4, 4);
  x[0] = 0, x[1] = -30, x[2] = 30, x[3] = -90, x[4] = 90;
  l->klass->forward (l, y, x, B);
  for (int i = 0; i < n; i++)
    ref[i] = (float) c->f (x[i]);
  assert_close ("activation forward vs libm", y, ref, n, 1e-6);
  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (ref);

  check_gradients (l, B, c->kind, 1e-2, &rng);
  check_contracts (l, B, c->kind, &rng);
}

static void
test_sign (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 7);
  const float scales[] = { 1.0f, 5.0f, 500.0f };
  const int B = 2, n = B * 24;
  float *x = lq_floats_new (n), *y = lq_floats_new (n), *dy = lq_floats_new (n);
  float *dx = lq_floats_new (n);
  for (guint si = 0; si < G_N_ELEMENTS (scales); si++)
    {
      const double s = scales[si];
      g_autoptr (LqLayer) soft = lq_sign_new (LQ_SIGN_SOFT, (float) s);
      g_autoptr (LqLayer) st = lq_sign_new (LQ_SIGN_STRAIGHT_THROUGH, (float) s);
      setup_layer (soft, 2, 3, 4);
      setup_layer (st, 2, 3, 4);
      g_assert_null (soft->klass->tangent);
      /* inputs on the scale where softsign(s·x) bends */
      fill_uniform (&rng, x, n, (float) (-3 / s), (float) (3 / s));
      x[0] = 0;
      fill_uniform (&rng, dy, n, -1, 1);
      soft->klass->forward (soft, y, x, B);
      for (int i = 0; i < n; i++)
        g_assert_cmpfloat (y[i], ==, x[i] >= 0 ? 1.0f : -1.0f);
      g_assert_cmpfloat (y[0], ==, 1.0f); /* sign(0) = +1 */

      /* soft backward = dy · d/dx softsign(s·x), the derivative by central FD in double */
      soft->klass->backward (soft, dx, dy, x, y, B, FALSE);
      double *num = g_new (double, n);
      const double h = 1e-6 / s;
      for (int i = 0; i < n; i++)
        num[i] = dy[i] * (f_softsign (s * (x[i] + h)) - f_softsign (s * (x[i] - h))) / (2 * h);
      char *what = g_strdup_printf ("sign soft backward (scale %g) vs FD of softsign(scale x)", s);
      g_assert_cmpfloat (fd_error (what, dx, num, NULL, n), <=, 1e-4);
      g_free (what);
      g_free (num);

      /* straight-through: dx = dy exactly */
      st->klass->forward (st, y, x, B);
      st->klass->backward (st, dx, dy, x, y, B, FALSE);
      g_assert_cmpmem (dx, n * sizeof (float), dy, n * sizeof (float));
    }
  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (dy);
  lq_floats_free (dx);
}

/* ---------- dropout ---------- */

static void
test_dropout_train (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 8);
  const float rate = 0.3f;
  g_autoptr (LqLayer) l = lq_dropout_new (rate);
  setup_layer (l, 4, 5, 5);
  l->training = TRUE;
  lq_rng_seed (&l->rng, 42);

  /* the mask: every output is 0 or x/(1−rate), about rate of them dropped, and backward applies
   * exactly the same mask to dy */
  const int B = 100, n = B * 100;
  float *x = lq_floats_new (n), *y = lq_floats_new (n), *dy = lq_floats_new (n);
  float *dx = lq_floats_new (n);
  fill_away (&rng, x, n, 0.1f, 1.0f);
  fill_away (&rng, dy, n, 0.1f, 1.0f);
  l->klass->forward (l, y, x, B);
  l->klass->backward (l, dx, dy, x, y, B, FALSE);
  int dropped = 0;
  const float keep = 1.0f / (1.0f - rate);
  for (int i = 0; i < n; i++)
    {
      if (y[i] == 0.0f)
        {
          dropped++;
          g_assert_cmpfloat (dx[i], ==, 0.0f);
        }
      else
        {
          g_assert_cmpfloat (y[i], ==, x[i] * keep);
          g_assert_cmpfloat (dx[i], ==, dy[i] * keep);
        }
    }
  /* binomial(10 000, 0.3): sd ≈ 46; allow 5 sd */
  g_test_message ("dropout: %d of %d dropped", dropped, n);
  g_assert_cmpint (abs (dropped - (int) (rate * n)), <, 230);

  /* another forward draws another mask; the same seed gives the same mask */
  float *y2 = lq_floats_new (n);
  l->klass->forward (l, y2, x, B);
  g_assert_true (memcmp (y, y2, n * sizeof (float)) != 0);
  lq_rng_seed (&l->rng, 42);
  l->klass->forward (l, y2, x, B);
  g_assert_cmpmem (y, n * sizeof (float), y2, n * sizeof (float));
  lq_floats_free (y2);
  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (dy);
  lq_floats_free (dx);

  /* with the mask held fixed (rng restored before every forward) it is a linear map: FD + tangent */
  check_gradients (l, 2, KIND_LINEAR, 1e-2, &rng);
  check_contracts (l, 2, KIND_LINEAR, &rng);
}

static void
test_dropout_eval (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 9);
  g_autoptr (LqLayer) l = lq_dropout_new (0.5f);
  setup_layer (l, 2, 3, 3);
  l->training = FALSE;
  const int B = 3, n = B * 18;
  float *x = lq_floats_new (n), *y = lq_floats_new (n), *dx = lq_floats_new (n);
  fill_uniform (&rng, x, n, -1, 1);
  l->klass->forward (l, y, x, B);
  g_assert_cmpmem (y, n * sizeof (float), x, n * sizeof (float));
  l->klass->backward (l, dx, x, x, y, B, FALSE);
  g_assert_cmpmem (dx, n * sizeof (float), x, n * sizeof (float));
  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (dx);
  check_contracts (l, B, KIND_LINEAR, &rng);
}

/* ---------- flatten / reshape ---------- */

static void
test_flatten_reshape (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 10);
  g_autoptr (LqLayer) f = lq_flatten_new ();
  setup_layer (f, 3, 4, 5);
  g_assert_cmpint (f->out[0], ==, 60);
  g_assert_cmpint (f->out[1], ==, 1);
  g_assert_cmpint (f->out[2], ==, 1);
  g_autoptr (LqLayer) r = lq_reshape_new (5, 2, 6);
  setup_layer (r, 3, 4, 5);
  g_assert_cmpint (r->out[0], ==, 5);
  g_assert_cmpint (r->out[1], ==, 2);
  g_assert_cmpint (r->out[2], ==, 6);

  const int B = 2, n = B * 60;
  float *x = lq_floats_new (n), *y = lq_floats_new (n), *dx = lq_floats_new (n);
  fill_uniform (&rng, x, n, -1, 1);
  LqLayer *ls[2] = { f, r };
  for (int k = 0; k < 2; k++)
    {
      ls[k]->klass->forward (ls[k], y, x, B);
      g_assert_cmpmem (y, n * sizeof (float), x, n * sizeof (float));
      ls[k]->klass->backward (ls[k], dx, x, x, y, B, FALSE);
      g_assert_cmpmem (dx, n * sizeof (float), x, n * sizeof (float));
      check_gradients (ls[k], B, KIND_LINEAR, 1e-2, &rng);
      check_contracts (ls[k], B, KIND_LINEAR, &rng);
    }
  lq_floats_free (x);
  lq_floats_free (y);
  lq_floats_free (dx);

  g_autoptr (LqLayer) bad = lq_reshape_new (7, 2, 6);
  GError *error = NULL;
  int in[3] = { 3, 4, 5 }, out[3];
  g_assert_false (bad->klass->infer (bad, in, out, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_SHAPE);
  g_clear_error (&error);
}

/* ---------- a small net: the chain rule through LqNet, kinks skipped by mask comparison ---------- */

static gboolean
masks_equal (LqNet *net, const int *relu_layers, int n_relu, guint8 *base, int batch)
{
  size_t off = 0;
  gboolean same = TRUE;
  for (int k = 0; k < n_relu; k++)
    {
      int li = relu_layers[k];
      const float *pre = lq_net_activation (net, li - 1);
      size_t m = (size_t) batch * lq_net_layer (net, li)->in_size;
      for (size_t i = 0; i < m; i++, off++)
        {
          guint8 s = pre[i] > 0;
          if (base[off] == 2)
            base[off] = s;
          else if (base[off] != s)
            same = FALSE;
        }
    }
  return same;
}

/* lq_net_backward_stacked: R cotangents in one pass give what R backwards give, leave the
 * parameter gradients alone, and work for one sample (whose rows the sparse kernels group) and
 * for several. The net is ReLU-gated like classifier A, with a transposed convolution and a
 * LeakyReLU besides, in eval mode (dropout the identity). */
static void
test_net_backward_stacked (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 15);
  g_autoptr (LqNet) net = lq_net_new (1, 14, 14);
  GError *error = NULL;
  g_assert_true (lq_net_add (net, lq_conv2d_new_same ("c1", 8, 5, 1), &error));
  g_assert_true (lq_net_add (net, lq_relu_new (), &error));
  g_assert_true (lq_net_add (net, lq_conv2d_new_valid ("c2", 8, 5, 2), &error));
  g_assert_true (lq_net_add (net, lq_relu_new (), &error));
  g_assert_true (lq_net_add (net, lq_deconv2d_new ("d1", 4, 3, 1, 1, 0), &error));
  g_assert_true (lq_net_add (net, lq_leaky_relu_new (0.2f), &error));
  g_assert_true (lq_net_add (net, lq_dropout_new (0.25f), &error));
  g_assert_true (lq_net_add (net, lq_flatten_new (), &error));
  g_assert_true (lq_net_add (net, lq_dense_new ("fc1", 32), &error));
  g_assert_true (lq_net_add (net, lq_relu_new (), &error));
  g_assert_true (lq_net_add (net, lq_dense_new ("fc2", 10), &error));
  g_assert_no_error (error);
  lq_net_init (net, &rng);
  lq_net_set_training (net, FALSE);
  /* negative biases turn most units off, as training does: the sparse routes then run */
  const char *gated[] = { "c2.bias", "fc1.bias" };
  const float shift[] = { 0.2f, 0.1f };
  for (int k = 0; k < 2; k++)
    {
      LqParam *b = lq_net_find_param (net, gated[k]);
      for (size_t i = 0; i < b->value->numel; i++)
        b->value->data[i] -= shift[k];
    }
  const int R = 9, C = 10;
  const size_t in = lq_net_in_size (net);
  /* batch 1 (the rows of one sample grouped), 3, 200 and 1400: 9 × 200 rows of the largest
   * layer (8 × 14 × 14) pass lq-net.c's LQ_STACKED_MAX_FLOATS (2 Mi), so the cotangents go in
   * two groups (6 and 3); at 1400 one at a time, through lq_net_backward */
  const int batches[] = { 1, 3, 200, 1400 };
  for (guint bi = 0; bi < G_N_ELEMENTS (batches); bi++)
    {
      const int B = batches[bi];
      float *x = lq_floats_new (B * in), *dy = lq_floats_new (R * B * C);
      float *dx = lq_floats_new (R * B * in), *ref = lq_floats_new (R * B * in);
      fill_uniform (&rng, x, B * in, 0, 1);
      fill_uniform (&rng, dy, R * B * C, -1, 1);
      lq_net_forward (net, x, B);
      const size_t n3 = B * lq_net_layer (net, 3)->out_size, n9 = B * lq_net_layer (net, 9)->out_size;
      g_test_message ("batch %d: %zu of %zu c2 units on, %zu of %zu fc1 units on", B,
                      lq_count_nonzero (lq_net_activation (net, 3), n3), n3,
                      lq_count_nonzero (lq_net_activation (net, 9), n9), n9);
      g_assert_cmpuint (lq_count_nonzero (lq_net_activation (net, 3), n3), <, n3 / 4);
      g_assert_cmpuint (lq_count_nonzero (lq_net_activation (net, 3), n3), >, 0);
      if (B <= 3) /* few enough nonzeros that fc1 takes the sparse route too */
        {
          g_assert_cmpuint (lq_count_nonzero (lq_net_activation (net, 9), n9), <, 16);
          g_assert_cmpuint (lq_count_nonzero (lq_net_activation (net, 9), n9), >, 0);
        }
      for (int r = 0; r < R; r++)
        lq_net_backward (net, dy + r * B * C, ref + r * B * in, FALSE);
      lq_net_zero_grad (net);
      lq_net_backward_stacked (net, R, dy, dx);
      assert_close ("stacked backward = R backwards", dx, ref, R * B * in, TOL_SAME);
      for (int q = 0; q < lq_net_n_params (net); q++)
        {
          const LqTensor *gq = lq_net_param (net, q)->grad;
          for (size_t i = 0; i < gq->numel; i++)
            g_assert_cmpfloat (gq->data[i], ==, 0.0f);
        }
      lq_floats_free (x);
      lq_floats_free (dy);
      lq_floats_free (dx);
      lq_floats_free (ref);
    }
}

static void
test_net_chain (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 11);
  g_autoptr (LqNet) net = lq_net_new (2, 5, 5);
  GError *error = NULL;
  g_assert_true (lq_net_add (net, lq_conv2d_new_same ("c1", 3, 3, 2), &error));
  g_assert_true (lq_net_add (net, lq_relu_new (), &error));
  g_assert_true (lq_net_add (net, lq_deconv2d_new ("d1", 2, 3, 2, 1, 0), &error));
  g_assert_true (lq_net_add (net, lq_leaky_relu_new (0.2f), &error));
  g_assert_true (lq_net_add (net, lq_flatten_new (), &error));
  g_assert_true (lq_net_add (net, lq_dense_new ("fc", 4), &error));
  g_assert_true (lq_net_add (net, lq_tanh_new (), &error));
  g_assert_no_error (error);
  const int relu_layers[] = { 1, 3 };
  lq_net_init (net, &rng);
  const int B = 2;
  const size_t nin = B * lq_net_in_size (net), nout = B * lq_net_out_size (net);
  size_t nmask = 0;
  for (int k = 0; k < 2; k++)
    nmask += B * lq_net_layer (net, relu_layers[k])->in_size;
  float *x = lq_floats_new (nin), *w = lq_floats_new (nout), *dx = lq_floats_new (nin);
  fill_uniform (&rng, x, nin, -1, 1);
  fill_uniform (&rng, w, nout, -1, 1);
  guint8 *base = g_malloc (nmask);
  memset (base, 2, nmask);

  lq_net_zero_grad (net);
  lq_net_forward (net, x, B);
  masks_equal (net, relu_layers, 2, base, B);
  lq_net_backward (net, w, dx, TRUE);

  /* Per coordinate the largest step in {1e-2, 3e-3, 1e-3} under which no ReLU/LeakyReLU
   * pre-activation changes sign (at θ+h and θ−h, compared with θ); skipped when none is. */
  const double steps[] = { 1e-2, 3e-3, 1e-3 };
  guint8 *probe = g_malloc (nmask);
  int skipped = 0, total = 0, smaller = 0;
  for (int q = -1; q < lq_net_n_params (net); q++)
    {
      float *v = q < 0 ? x : lq_net_param (net, q)->value->data;
      const float *ana = q < 0 ? dx : lq_net_param (net, q)->grad->data;
      size_t n = q < 0 ? nin : lq_net_param (net, q)->value->numel;
      double *num = g_new (double, n);
      gboolean *skip = g_new0 (gboolean, n);
      for (size_t i = 0; i < n; i++)
        {
          float save = v[i];
          gboolean same = FALSE;
          for (guint si = 0; si < G_N_ELEMENTS (steps) && !same; si++)
            {
              double lpm[2], vpm[2];
              same = TRUE;
              for (int sgn = 0; sgn < 2; sgn++)
                {
                  v[i] = (float) (save + (sgn ? -steps[si] : steps[si]));
                  vpm[sgn] = v[i];
                  lpm[sgn] = dot (w, lq_net_forward (net, x, B), nout);
                  memcpy (probe, base, nmask);
                  same = masks_equal (net, relu_layers, 2, probe, B) && same;
                }
              num[i] = (lpm[0] - lpm[1]) / (vpm[0] - vpm[1]);
              smaller += same && si > 0;
            }
          v[i] = save;
          total++;
          if (!same)
            skip[i] = TRUE, skipped++;
        }
      char *what = g_strdup_printf ("net chain d/d%s", q < 0 ? "x" : lq_net_param (net, q)->name);
      g_assert_cmpfloat (fd_error (what, ana, num, skip, n), <=, TOL_NET);
      g_free (what);
      g_free (num);
      g_free (skip);
    }
  g_test_message ("net chain: %d of %d coordinates needed a smaller step", smaller, total);
  g_test_message ("net chain: %d of %d coordinates skipped at a kink", skipped, total);
  g_assert_cmpint (skipped, <, total / 5);
  g_free (probe);
  g_free (base);
  lq_floats_free (x);
  lq_floats_free (w);
  lq_floats_free (dx);
}

/* lq_nonzero_at_most agrees with lq_count_nonzero at, below and above the limit, for nonzeros
 * early, late (past the first blocks it checks) and none. */
static void
test_nonzero_at_most (void)
{
  const size_t n = 5000;
  float *p = lq_floats_new (n);
  const size_t where[][2] = { { 0, 40 }, { 4000, 40 }, { 0, 0 } }; /* first nonzero, count */
  for (gsize c = 0; c < G_N_ELEMENTS (where); c++)
    {
      memset (p, 0, n * sizeof (float));
      for (size_t i = 0; i < where[c][1]; i++)
        p[where[c][0] + 3 * i] = (i % 2) ? -1.0f : 2.0f;
      const size_t count = lq_count_nonzero (p, n);
      g_assert_cmpuint (count, ==, where[c][1]);
      for (size_t limit = 0; limit < 50; limit++)
        g_assert_cmpint (lq_nonzero_at_most (p, n, limit), ==, count <= limit);
    }
  lq_floats_free (p);
}

/* A small LQ-VAE-like encoder: strided conv, LeakyReLU, dense head. */
static LqNet *
small_encoder (int width)
{
  LqNet *net = lq_net_new (1, 12, 12);
  GError *error = NULL;
  g_assert_true (lq_net_add (net, lq_conv2d_new_same ("c1", width, 3, 2), &error));
  g_assert_true (lq_net_add (net, lq_leaky_relu_new (0.2f), &error));
  g_assert_true (lq_net_add (net, lq_conv2d_new_same ("c2", width, 3, 1), &error));
  g_assert_true (lq_net_add (net, lq_leaky_relu_new (0.2f), &error));
  g_assert_true (lq_net_add (net, lq_flatten_new (), &error));
  g_assert_true (lq_net_add (net, lq_dense_new ("fc", 6), &error));
  g_assert_no_error (error);
  return net;
}

/* lq_net_share_values, the data parallelism of the LQ-VAE step: a replica computes with the
 * source's weights (and sees their changes), and the gradients of the two halves of a batch,
 * penalty included, add up to the whole batch's. */
static void
test_net_share_values (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 21);
  g_autoptr (LqNet) net = small_encoder (8);
  lq_net_init (net, &rng);
  LqNet *rep = small_encoder (8);
  g_autoptr (LqNet) other = small_encoder (4);
  GError *error = NULL;
  g_assert_false (lq_net_share_values (other, net, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (lq_net_share_values (rep, net, &error));
  g_assert_no_error (error);

  const int B = 8, H = 4;
  const size_t in = lq_net_in_size (net), out = lq_net_out_size (net);
  float *x = lq_floats_new (B * in), *dy = lq_floats_new (B * out), *u = lq_floats_new (out);
  float *dx = lq_floats_new (B * in), *dx2 = lq_floats_new (B * in);
  fill_uniform (&rng, x, B * in, -1, 1);
  fill_uniform (&rng, dy, B * out, -1, 1);
  fill_uniform (&rng, u, out, -1, 1);

  /* the whole batch on the source alone */
  lq_net_zero_grad (net);
  lq_net_forward (net, x, B);
  float P, norm;
  g_assert_true (lq_grad_penalty (net, u, 0.1f, 10.0f, &P, &norm, &error));
  lq_net_backward (net, dy, dx, TRUE);
  GPtrArray *whole = g_ptr_array_new_with_free_func ((GDestroyNotify) lq_tensor_free);
  for (int q = 0; q < lq_net_n_params (net); q++)
    g_ptr_array_add (whole, lq_tensor_copy (lq_net_param (net, q)->grad));

  /* the halves: rows [0, H) on the source, [H, B) on the replica, the penalty weighted by share */
  LqNet *nets[2] = { net, rep };
  float Ph[2], nh[2];
  for (int p = 0; p < 2; p++)
    {
      lq_net_zero_grad (nets[p]);
      const float *y = lq_net_forward (nets[p], x + p * H * in, H);
      if (p == 1) /* the same weights: the replica's rows equal the source's whole-batch rows */
        {
          g_autoptr (LqNet) check = small_encoder (8);
          g_assert_true (lq_net_share_values (check, net, NULL));
          const float *yw = lq_net_forward (check, x, B);
          g_assert_cmpmem (y, H * out * sizeof (float), yw + H * out, H * out * sizeof (float));
        }
      g_assert_true (lq_grad_penalty (nets[p], u, 0.1f, 10.0f * H / B, &Ph[p], &nh[p], &error));
      lq_net_backward (nets[p], dy + p * H * out, dx2 + p * H * in, TRUE);
    }
  g_assert_cmpfloat_with_epsilon ((Ph[0] + Ph[1]) / 2, P, 1e-5 * MAX (1, P));
  g_assert_cmpfloat_with_epsilon ((nh[0] + nh[1]) / 2, norm, 1e-5 * MAX (1, norm));
  assert_close ("halves' input gradients", dx2, dx, B * in, TOL_SAME);
  for (int q = 0; q < lq_net_n_params (net); q++)
    {
      const LqTensor *g0 = lq_net_param (net, q)->grad, *g1 = lq_net_param (rep, q)->grad;
      float *sum = lq_floats_new (g0->numel);
      for (size_t i = 0; i < g0->numel; i++)
        sum[i] = g0->data[i] + g1->data[i];
      assert_close ("halves' parameter gradients", sum,
                    ((LqTensor *) g_ptr_array_index (whole, q))->data, g0->numel, TOL_SAME);
      lq_floats_free (sum);
    }

  /* a change of the source's weights is the replica's */
  LqParam *w = lq_net_find_param (net, "fc.weight");
  w->value->data[0] += 1.0f;
  g_assert_cmpfloat (lq_net_find_param (rep, "fc.weight")->value->data[0], ==, w->value->data[0]);
  lq_net_free (rep); /* leaves the source's weights alone (ASan would see a double free) */
  g_assert_true (isfinite (lq_net_forward (net, x, B)[0]));

  g_ptr_array_unref (whole);
  lq_floats_free (x);
  lq_floats_free (dy);
  lq_floats_free (u);
  lq_floats_free (dx);
  lq_floats_free (dx2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layers/dense", test_dense);
  g_test_add_func ("/layers/dense/sparse-gradient", test_dense_sparse);
  for (guint i = 0; i < G_N_ELEMENTS (conv_cases); i++)
    {
      char *path = g_strdup_printf ("/layers/conv2d/%s", conv_cases[i].name);
      g_test_add_data_func (path, &conv_cases[i], test_conv);
      g_free (path);
      if (conv_cases[i].cin * conv_cases[i].kh * conv_cases[i].kw <= LQ_THIN_MAX_ROWS)
        continue; /* the thin kernels take these whatever dy holds */
      path = g_strdup_printf ("/layers/conv2d/sparse-gradient/%s", conv_cases[i].name);
      g_test_add_data_func (path, &conv_cases[i], test_conv_sparse);
      g_free (path);
    }
  g_test_add_func ("/layers/conv2d/sparse-gradient/grouped", test_conv_sparse_grouped);
  g_test_add_func ("/layers/conv2d/bad-shape", test_conv_bad_shape);
  g_test_add_func ("/layers/conv2d/chunked-batch", test_conv_chunked);
  for (guint i = 0; i < G_N_ELEMENTS (deconv_cases); i++)
    {
      char *path = g_strdup_printf ("/layers/deconv2d/%s", deconv_cases[i].name);
      g_test_add_data_func (path, &deconv_cases[i], test_deconv);
      g_free (path);
    }
  g_test_add_func ("/layers/deconv2d/bad-shape", test_deconv_bad_shape);
  g_test_add_func ("/layers/deconv2d/chunked-batch", test_deconv_chunked);
  g_test_add_func ("/layers/im2col-col2im/naive", test_im2col_naive);
  g_test_add_func ("/layers/thin/thread-counts", test_thin_threads);
  g_test_add_func ("/layers/flops-counted", test_flops_counted);
  g_test_add_func ("/layers/thin/wide-same-bits", test_thin_wide);
  g_test_add_func ("/layers/split-threads", test_split_threads);
  for (guint i = 0; i < G_N_ELEMENTS (act_cases); i++)
    {
      char *path = g_strdup_printf ("/layers/activation/%s", act_cases[i].name);
      g_test_add_data_func (path, &act_cases[i], test_activation);
      g_free (path);
    }
  g_test_add_func ("/layers/activation/sign", test_sign);
  g_test_add_func ("/layers/dropout/train", test_dropout_train);
  g_test_add_func ("/layers/dropout/eval", test_dropout_eval);
  g_test_add_func ("/layers/flatten-reshape", test_flatten_reshape);
  g_test_add_func ("/layers/net-chain", test_net_chain);
  g_test_add_func ("/layers/net-backward-stacked", test_net_backward_stacked);
  g_test_add_func ("/layers/net-share-values", test_net_share_values);
  g_test_add_func ("/layers/nonzero-at-most", test_nonzero_at_most);
  return g_test_run ();
}

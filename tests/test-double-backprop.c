/* test-double-backprop.c: lq_net_double_backward against central finite differences.
 *
 * For a piecewise-linear net f and a batch x, the gradient-norm penalty of the LQ-VAE,
 *   P(θ) = mean_i (K − ‖g_i‖₂)²,  g_i = ∇_x Σ_j f_j(x_i) = Jᵀu with u = ones,  K = 0.1,
 * is differentiated as the encoder's training does it: forward (x), backward (u → g, no parameter
 * gradients), v = dP/dg = (2/B)(‖g_i‖ − K) g_i/‖g_i‖, lq_net_double_backward (v). The result is
 * compared with (P(θ + h e_k) − P(θ − h e_k)) / 2h for EVERY parameter coordinate k (biases
 * included: their exact derivative is 0, the masks being locally constant).
 *
 * Kinks: per coordinate, the largest step h in {1e-2, 3e-3, 1e-3} is used under which no
 * LeakyReLU pre-activation of the batch changes sign at θ + h or θ − h (compared with θ); a
 * coordinate for which none works is skipped, and at most 10 % may be skipped.
 *
 * Tolerance: |analytic − numeric| ≤ 1e-2 · (|numeric| + 1e-2 · max_k |numeric_k|) for every
 * checked coordinate (max over all parameters of the net). Within a mask region g is multilinear
 * in θ and P is smooth, so the error is the O(h²) truncation plus the float rounding of P / 2h.
 */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "lq-error.h"
#include "lq-layer.h"
#include "lq-net.h"
#include "lq-rng.h"

#define K_TARGET 0.1
#define TOL 1e-2

static void
fill_uniform (LqRng *r, float *a, size_t n, float lo, float hi)
{
  for (size_t i = 0; i < n; i++)
    a[i] = (float) (lo + (hi - lo) * lq_rng_uniform (r));
}

typedef struct {
  LqNet *net;
  int batch;
  float *x, *u, *g, *v;
  size_t nin, nout;
  gboolean reseed;  /* nets with dropout in training mode: the same masks on every forward */
  guint8 *mask;     /* sign of every LeakyReLU pre-activation, in layer order */
  size_t nmask;
} Pen;

/* The penalty at the current parameters; fills g, v (= dP/dg) and the mask. */
static double
penalty (Pen *p)
{
  if (p->reseed)
    lq_net_seed (p->net, 1234);
  lq_net_forward (p->net, p->x, p->batch);
  lq_net_backward (p->net, p->u, p->g, FALSE);
  const size_t in = lq_net_in_size (p->net);
  double P = 0;
  for (int i = 0; i < p->batch; i++)
    {
      const float *gi = p->g + i * in;
      double n2 = 0;
      for (size_t k = 0; k < in; k++)
        n2 += (double) gi[k] * gi[k];
      double norm = sqrt (n2);
      P += (K_TARGET - norm) * (K_TARGET - norm);
      for (size_t k = 0; k < in; k++)
        p->v[i * in + k] = (float) (2.0 / p->batch * (norm - K_TARGET) * gi[k] / norm);
    }
  size_t off = 0;
  for (int li = 0; li < lq_net_n_layers (p->net); li++)
    {
      LqLayer *l = lq_net_layer (p->net, li);
      if (strcmp (l->klass->kind, "leaky_relu") != 0 && strcmp (l->klass->kind, "relu") != 0)
        continue;
      const float *pre = lq_net_activation (p->net, li - 1);
      for (size_t k = 0; k < (size_t) p->batch * l->in_size; k++)
        p->mask[off++] = pre[k] > 0;
    }
  g_assert_cmpuint (off, ==, p->nmask);
  return P / p->batch;
}

static Pen *
pen_new (LqNet *net, int batch, gboolean random_u, LqRng *rng)
{
  Pen *p = g_new0 (Pen, 1);
  p->net = net;
  p->batch = batch;
  p->nin = batch * lq_net_in_size (net);
  p->nout = batch * lq_net_out_size (net);
  p->x = lq_floats_new (p->nin);
  p->g = lq_floats_new (p->nin);
  p->v = lq_floats_new (p->nin);
  p->u = lq_floats_new (p->nout);
  fill_uniform (rng, p->x, p->nin, -1, 1);
  if (random_u)
    fill_uniform (rng, p->u, p->nout, -1, 1);
  else
    for (size_t i = 0; i < p->nout; i++)
      p->u[i] = 1.0f;
  for (int li = 0; li < lq_net_n_layers (net); li++)
    {
      LqLayer *l = lq_net_layer (net, li);
      if (strcmp (l->klass->kind, "leaky_relu") == 0 || strcmp (l->klass->kind, "relu") == 0)
        p->nmask += batch * l->in_size;
    }
  p->mask = g_malloc (p->nmask + 1);
  return p;
}

static void
pen_free (Pen *p)
{
  lq_floats_free (p->x);
  lq_floats_free (p->g);
  lq_floats_free (p->v);
  lq_floats_free (p->u);
  g_free (p->mask);
  g_free (p);
}

/* The analytic gradient into the nets' grads, then FD of every parameter coordinate. */
static void
check_penalty_gradient (LqNet *net, int batch, gboolean random_u, gboolean reseed, LqRng *rng)
{
  Pen *p = pen_new (net, batch, random_u, rng);
  p->reseed = reseed;
  GError *error = NULL;

  lq_net_zero_grad (net);
  double P0 = penalty (p);
  guint8 *base = g_memdup2 (p->mask, p->nmask + 1);
  gboolean ok = lq_net_double_backward (net, p->v, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_test_message ("P(theta) = %.6g", P0);

  const int np = lq_net_n_params (net);
  double **num = g_new0 (double *, np);
  gboolean **skip = g_new0 (gboolean *, np);
  const double steps[] = { 1e-2, 3e-3, 1e-3 };
  int total = 0, skipped = 0, smaller = 0;
  double maxnum = 0;
  for (int q = 0; q < np; q++)
    {
      LqParam *pr = lq_net_param (net, q);
      const size_t n = pr->value->numel;
      num[q] = g_new0 (double, n);
      skip[q] = g_new0 (gboolean, n);
      for (size_t i = 0; i < n; i++)
        {
          float *w = &pr->value->data[i], save = *w;
          gboolean same = FALSE;
          for (guint si = 0; si < G_N_ELEMENTS (steps) && !same; si++)
            {
              *w = (float) (save + steps[si]);
              double wp = *w, Pp = penalty (p);
              same = memcmp (p->mask, base, p->nmask) == 0;
              *w = (float) (save - steps[si]);
              double wm = *w, Pm = penalty (p);
              same = same && memcmp (p->mask, base, p->nmask) == 0;
              num[q][i] = (Pp - Pm) / (wp - wm);
              smaller += same && si > 0;
            }
          *w = save;
          total++;
          if (!same)
            skip[q][i] = TRUE, skipped++;
          else
            maxnum = MAX (maxnum, fabs (num[q][i]));
        }
    }
  g_test_message ("%d coordinates: %d needed a smaller step, %d skipped at a kink", total, smaller,
                  skipped);
  g_assert_cmpint (skipped * 10, <=, total);
  g_assert_cmpfloat (maxnum, >, 1e-6); /* the check is not vacuous */

  double worst = 0;
  for (int q = 0; q < np; q++)
    {
      LqParam *pr = lq_net_param (net, q);
      double pw = 0, maxa = 0;
      size_t wi = 0;
      while (wi + 1 < pr->value->numel && skip[q][wi])
        wi++;
      for (size_t i = 0; i < pr->value->numel; i++)
        {
          maxa = MAX (maxa, fabs (pr->grad->data[i]));
          if (skip[q][i])
            continue;
          double e = fabs (pr->grad->data[i] - num[q][i]) / (fabs (num[q][i]) + 1e-2 * maxnum);
          if (e > pw)
            pw = e, wi = i;
        }
      g_test_message ("%-14s max scaled error %.3g (at %zu: analytic %.7g, numeric %.7g), "
                      "max |analytic| %.3g", pr->name, pw, wi, pr->grad->data[wi], num[q][wi], maxa);
      worst = MAX (worst, pw);
      /* biases: the input-gradient does not depend on them */
      if (g_str_has_suffix (pr->name, ".bias"))
        g_assert_cmpfloat (maxa, ==, 0);
      g_free (num[q]);
      g_free (skip[q]);
    }
  g_free (num);
  g_free (skip);
  g_assert_cmpfloat (worst, <=, TOL);

  /* double backward accumulates: a second call doubles the gradients */
  LqTensor **once = g_new (LqTensor *, np);
  for (int q = 0; q < np; q++)
    once[q] = lq_tensor_copy (lq_net_param (net, q)->grad);
  penalty (p);
  ok = lq_net_double_backward (net, p->v, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  for (int q = 0; q < np; q++)
    {
      const LqTensor *gr = lq_net_param (net, q)->grad;
      for (size_t i = 0; i < gr->numel; i++)
        g_assert_cmpfloat (fabs (gr->data[i] - 2 * once[q]->data[i]), <=,
                           1e-6 * MAX (1e-3, fabs (once[q]->data[i])));
      lq_tensor_free (once[q]);
    }
  g_free (once);
  g_free (base);
  pen_free (p);
}

static void
add (LqNet *net, LqLayer *l)
{
  GError *error = NULL;
  gboolean ok = lq_net_add (net, l, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

/* conv → leaky → conv (stride 2) → leaky → flatten → dense → leaky → dense */
static LqNet *
make_encoder (LqRng *rng)
{
  LqNet *net = lq_net_new (2, 7, 7);
  add (net, lq_conv2d_new_same ("conv1", 3, 3, 1));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_conv2d_new_same ("conv2", 4, 3, 2));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_flatten_new ());
  add (net, lq_dense_new ("fc1", 6));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_dense_new ("mu", 3));
  lq_net_init (net, rng);
  return net;
}

static void
test_encoder (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 21);
  g_autoptr (LqNet) net = make_encoder (&rng);
  check_penalty_gradient (net, 3, FALSE, FALSE, &rng);
}

/* The same with a general cotangent u (g = Jᵀu for random u). */
static void
test_encoder_random_u (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 22);
  g_autoptr (LqNet) net = make_encoder (&rng);
  check_penalty_gradient (net, 2, TRUE, FALSE, &rng);
}

/* With deconvolutions: conv (s2) → leaky → deconv (s2, output_padding 1) → leaky → deconv (s1)
 * → leaky → flatten → dense. */
static void
test_deconv_net (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 23);
  g_autoptr (LqNet) net = lq_net_new (2, 5, 5);
  add (net, lq_conv2d_new_same ("conv", 3, 3, 2));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_deconv2d_new ("deconv1", 3, 3, 2, 1, 1));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_deconv2d_new ("deconv2", 2, 3, 1, 1, 0));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_flatten_new ());
  add (net, lq_dense_new ("fc", 3));
  lq_net_init (net, &rng);
  check_penalty_gradient (net, 2, FALSE, FALSE, &rng);
}

/* A decoder-shaped net: dense → leaky → reshape → deconv (s2) → leaky → deconv (s1), and a
 * ReLU and a dropout in training mode (fixed masks: the net is reseeded before each forward). */
static void
test_decoder_net (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 24);
  g_autoptr (LqNet) net = lq_net_new (6, 1, 1);
  add (net, lq_dense_new ("fc", 18));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_dropout_new (0.25f));
  add (net, lq_reshape_new (2, 3, 3));
  add (net, lq_deconv2d_new ("deconv1", 3, 3, 2, 1, 1));
  add (net, lq_relu_new ());
  add (net, lq_deconv2d_new ("deconv2", 1, 3, 1, 1, 0));
  lq_net_init (net, &rng);
  lq_net_set_training (net, TRUE);
  check_penalty_gradient (net, 3, FALSE, TRUE, &rng);
}

/* Layers that are not piecewise linear make double backward fail cleanly and touch nothing. */
static void
test_unsupported (void)
{
  LqLayer *(*makers[]) (void) = { lq_tanh_new, lq_sigmoid_new, lq_softsign_new };
  for (guint k = 0; k < G_N_ELEMENTS (makers) + 1; k++)
    {
      LqRng rng;
      lq_rng_seed (&rng, 25);
      g_autoptr (LqNet) net = lq_net_new (1, 5, 5);
      add (net, lq_conv2d_new_same ("conv", 2, 3, 1));
      add (net, k < G_N_ELEMENTS (makers) ? makers[k] () : lq_sign_new (LQ_SIGN_SOFT, 5.0f));
      add (net, lq_flatten_new ());
      add (net, lq_dense_new ("fc", 2));
      lq_net_init (net, &rng);
      float x[2 * 25], u[2 * 2] = { 1, 1, 1, 1 }, g[2 * 25], v[2 * 25];
      fill_uniform (&rng, x, 50, -1, 1);
      fill_uniform (&rng, v, 50, -1, 1);
      lq_net_zero_grad (net);
      lq_net_forward (net, x, 2);
      lq_net_backward (net, u, g, FALSE);
      GError *error = NULL;
      g_assert_false (lq_net_double_backward (net, v, &error));
      g_assert_error (error, LQ_ERROR, LQ_ERROR_UNSUPPORTED);
      g_test_message ("%s", error->message);
      g_clear_error (&error);
      for (int q = 0; q < lq_net_n_params (net); q++)
        {
          const LqTensor *gr = lq_net_param (net, q)->grad;
          for (size_t i = 0; i < gr->numel; i++)
            g_assert_cmpfloat (gr->data[i], ==, 0);
        }
    }
}

/* Double backward needs a forward and an input-gradient backward of that forward. */
static void
test_needs_backward (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 26);
  g_autoptr (LqNet) net = make_encoder (&rng);
  const int B = 2;
  const size_t nin = B * lq_net_in_size (net), nout = B * lq_net_out_size (net);
  float *x = lq_floats_new (nin), *g = lq_floats_new (nin), *u = lq_floats_new (nout);
  fill_uniform (&rng, x, nin, -1, 1);
  fill_uniform (&rng, u, nout, -1, 1);
  GError *error = NULL;

  lq_net_forward (net, x, B);
  g_assert_false (lq_net_double_backward (net, g, &error)); /* no backward yet */
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  lq_net_backward (net, u, NULL, TRUE); /* parameters only: no input gradient */
  g_assert_false (lq_net_double_backward (net, g, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  lq_net_backward (net, u, g, FALSE);
  lq_net_forward (net, x, B); /* a new forward invalidates the backward */
  g_assert_false (lq_net_double_backward (net, g, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  lq_net_backward (net, u, g, FALSE);
  g_assert_true (lq_net_double_backward (net, g, &error));
  g_assert_no_error (error);
  lq_floats_free (x);
  lq_floats_free (g);
  lq_floats_free (u);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/double-backprop/encoder", test_encoder);
  g_test_add_func ("/double-backprop/encoder-random-u", test_encoder_random_u);
  g_test_add_func ("/double-backprop/deconv-net", test_deconv_net);
  g_test_add_func ("/double-backprop/decoder-net-relu-dropout", test_decoder_net);
  g_test_add_func ("/double-backprop/unsupported", test_unsupported);
  g_test_add_func ("/double-backprop/needs-backward", test_needs_backward);
  return g_test_run ();
}

/* test-torch-fixtures.c: liblq against PyTorch reference values.
 *
 * The fixtures (tests/fixtures/NAME.safetensors, written by tests/gen-fixtures.py with Debian's
 * python3-torch; see tests/fixtures/README.md) hold fixed inputs, parameters, outputs and
 * gradients computed by PyTorch in float64 from float32 inputs. This suite builds the same layer or
 * net in C, copies the parameters in and compares; it does not need PyTorch to run.
 *
 * Tolerances: max |C − ref| ≤ tol · max(1, max |ref|) per tensor, with
 *  - tol = 1e-5 for single layers, activations, losses and the optimizer's gradients,
 *  - tol = 2e-5 for the encoder (mu, input-gradient g, norms, penalty and its parameter gradients
 *    through double backprop, compared with autograd.grad(create_graph=True)),
 *  - tol = 2e-6 for the parameters after each optimizer step (given the same float32 gradient).
 */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "lq-error.h"
#include "lq-layer.h"
#include "lq-loss.h"
#include "lq-net.h"
#include "lq-optim.h"
#include "lq-safetensors.h"

#define TOL_LAYER 1e-5
#define TOL_NET 2e-5
#define TOL_STEP 2e-6

static LqSafetensors *
load_fixture (const char *name)
{
  const char *dir = g_getenv ("LQ_FIXTURES");
  g_autofree char *file = g_strconcat (name, ".safetensors", NULL);
  g_autofree char *path = dir ? g_build_filename (dir, file, NULL)
                              : g_test_build_filename (G_TEST_DIST, "fixtures", file, NULL);
  GError *error = NULL;
  LqSafetensors *st = lq_safetensors_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_assert_cmpstr (lq_safetensors_metadata (st, "generator"), ==, "tests/gen-fixtures.py");
  return st;
}

static const LqTensor *
get (const LqSafetensors *st, const char *name)
{
  const LqTensor *t = lq_safetensors_get (st, name);
  if (t == NULL)
    g_test_message ("fixture tensor %s is missing", name);
  g_assert_nonnull (t);
  return t;
}

/* max |got − ref| ≤ tol · max(1, max |ref|) */
static void
compare (const char *what, const float *got, const LqTensor *ref, size_t n, double tol)
{
  g_assert_cmpuint (n, ==, ref->numel);
  double mref = 1, worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < n; i++)
    mref = MAX (mref, fabs (ref->data[i]));
  for (size_t i = 0; i < n; i++)
    {
      double e = fabs ((double) got[i] - ref->data[i]);
      if (!(e <= worst))
        worst = e, wi = i;
    }
  g_test_message ("%s: max abs error %.3g (%.3g of the allowed %.3g)", what, worst,
                  worst / (tol * mref), tol * mref);
  if (!(worst <= tol * mref))
    g_test_message ("%s: at %zu got %.9g, PyTorch %.9g", what, wi, got[wi], ref->data[wi]);
  g_assert_cmpfloat (worst, <=, tol * mref);
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
copy_param (LqParam *p, const LqTensor *src)
{
  if (!lq_tensor_same_shape (p->value, src))
    {
      g_autofree char *a = lq_tensor_shape_string (p->value), *b = lq_tensor_shape_string (src);
      g_test_message ("%s: C shape %s, PyTorch shape %s", p->name, a, b);
    }
  g_assert_true (lq_tensor_same_shape (p->value, src));
  memcpy (p->value->data, src->data, src->numel * sizeof (float));
}

/* ---------- single layers ---------- */

typedef struct {
  const char *fixture;
  LqLayer *(*make) (void);
  int c, h, w; /* per-sample input shape */
} LayerCase;

static LqLayer *make_dense (void) { return lq_dense_new ("layer", 5); }
static LqLayer *make_conv_same (void) { return lq_conv2d_new_same ("layer", 3, 3, 1); }
static LqLayer *make_conv_valid (void) { return lq_conv2d_new_valid ("layer", 3, 5, 2); }
static LqLayer *make_conv_asym (void) { return lq_conv2d_new_same ("layer", 2, 8, 2); }
static LqLayer *make_conv_asym_explicit (void)
{
  return lq_conv2d_new ("layer", 2, 8, 8, 2, 3, 3, 4, 4);
}
static LqLayer *make_conv_s2_even (void) { return lq_conv2d_new_same ("layer", 3, 3, 2); }
static LqLayer *make_deconv_s1 (void) { return lq_deconv2d_new ("layer", 2, 3, 1, 1, 0); }
static LqLayer *make_deconv_s2 (void) { return lq_deconv2d_new ("layer", 2, 3, 2, 1, 1); }

static const LayerCase layer_cases[] = {
  { "layer-dense", make_dense, 2, 3, 3 },
  { "layer-conv-same", make_conv_same, 2, 7, 6 },
  { "layer-conv-valid", make_conv_valid, 2, 9, 8 },
  { "layer-conv-asym", make_conv_asym, 2, 9, 7 },
  { "layer-conv-asym", make_conv_asym_explicit, 2, 9, 7 },
  { "layer-conv-s2-same-even", make_conv_s2_even, 2, 8, 8 },
  { "layer-deconv-s1", make_deconv_s1, 3, 5, 4 },
  { "layer-deconv-s2", make_deconv_s2, 3, 4, 5 },
};

static void
test_layer (gconstpointer data)
{
  const LayerCase *c = data;
  g_autoptr (LqSafetensors) st = load_fixture (c->fixture);
  g_autoptr (LqLayer) l = c->make ();
  setup_layer (l, c->c, c->h, c->w);
  const LqTensor *x = get (st, "x"), *y = get (st, "y"), *dy = get (st, "dy");
  const int batch = x->shape[0];
  g_assert_cmpuint (x->numel, ==, batch * l->in_size);
  g_assert_cmpuint (y->numel, ==, batch * l->out_size);
  g_assert_cmpint (y->shape[0], ==, batch);
  if (y->ndim == 4)
    {
      g_assert_cmpint (y->shape[1], ==, l->out[0]);
      g_assert_cmpint (y->shape[2], ==, l->out[1]);
      g_assert_cmpint (y->shape[3], ==, l->out[2]);
    }
  copy_param (&l->params[0], get (st, "weight"));
  copy_param (&l->params[1], get (st, "bias"));

  float *out = lq_floats_new (y->numel), *dx = lq_floats_new (x->numel);
  l->klass->forward (l, out, x->data, batch);
  compare ("forward", out, y, y->numel, TOL_LAYER);
  lq_tensor_zero (l->params[0].grad);
  lq_tensor_zero (l->params[1].grad);
  l->klass->backward (l, dx, dy->data, x->data, out, batch, TRUE);
  compare ("dx", dx, get (st, "dx"), x->numel, TOL_LAYER);
  compare ("dweight", l->params[0].grad->data, get (st, "grad.weight"), l->params[0].grad->numel,
           TOL_LAYER);
  compare ("dbias", l->params[1].grad->data, get (st, "grad.bias"), l->params[1].grad->numel,
           TOL_LAYER);
  lq_floats_free (out);
  lq_floats_free (dx);
}

static LqLayer *make_leaky (void) { return lq_leaky_relu_new (0.2f); }

static void
test_activations (void)
{
  g_autoptr (LqSafetensors) st = load_fixture ("activations");
  g_assert_cmpstr (lq_safetensors_metadata (st, "leaky_relu_slope"), ==, "0.2");
  static const struct {
    const char *name;
    LqLayer *(*make) (void);
  } acts[] = {
    { "leaky_relu", make_leaky }, { "relu", lq_relu_new }, { "tanh", lq_tanh_new },
    { "sigmoid", lq_sigmoid_new }, { "softsign", lq_softsign_new },
  };
  for (guint k = 0; k < G_N_ELEMENTS (acts); k++)
    {
      g_autofree char *nx = g_strconcat (acts[k].name, ".x", NULL);
      g_autofree char *ny = g_strconcat (acts[k].name, ".y", NULL);
      g_autofree char *ndy = g_strconcat (acts[k].name, ".dy", NULL);
      g_autofree char *ndx = g_strconcat (acts[k].name, ".dx", NULL);
      const LqTensor *x = get (st, nx);
      g_assert_cmpint (x->ndim, ==, 4);
      g_autoptr (LqLayer) l = acts[k].make ();
      setup_layer (l, x->shape[1], x->shape[2], x->shape[3]);
      const int batch = x->shape[0];
      float *y = lq_floats_new (x->numel), *dx = lq_floats_new (x->numel);
      l->klass->forward (l, y, x->data, batch);
      compare (ny, y, get (st, ny), x->numel, TOL_LAYER);
      l->klass->backward (l, dx, get (st, ndy)->data, x->data, y, batch, FALSE);
      compare (ndx, dx, get (st, ndx), x->numel, TOL_LAYER);
      lq_floats_free (y);
      lq_floats_free (dx);
    }
}

/* ---------- the encoder and its gradient penalty ---------- */

static void
add (LqNet *net, LqLayer *l)
{
  GError *error = NULL;
  gboolean ok = lq_net_add (net, l, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
test_encoder_penalty (void)
{
  g_autoptr (LqSafetensors) st = load_fixture ("encoder-penalty");
  g_autoptr (LqNet) net = lq_net_new (1, 8, 8);
  add (net, lq_conv2d_new_same ("conv1", 4, 3, 1));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_conv2d_new_same ("conv2", 6, 3, 2));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_flatten_new ());
  add (net, lq_dense_new ("fc", 16));
  add (net, lq_leaky_relu_new (0.2f));
  add (net, lq_dense_new ("mu", 3));
  for (int q = 0; q < lq_net_n_params (net); q++)
    {
      LqParam *p = lq_net_param (net, q);
      copy_param (p, get (st, p->name));
    }

  const LqTensor *x = get (st, "x");
  const int B = x->shape[0];
  const size_t in = lq_net_in_size (net), out = lq_net_out_size (net);
  g_assert_cmpuint (x->numel, ==, B * in);
  const float *mu = lq_net_forward (net, x->data, B);
  compare ("mu", mu, get (st, "mu"), B * out, TOL_NET);

  float *u = lq_floats_new (B * out), *g = lq_floats_new (B * in), *v = lq_floats_new (B * in);
  float norms[64];
  g_assert_cmpint (B, <=, 64);
  for (size_t i = 0; i < B * out; i++)
    u[i] = 1.0f;
  lq_net_zero_grad (net);
  lq_net_backward (net, u, g, FALSE);
  compare ("g = grad_x sum mu", g, get (st, "g"), B * in, TOL_NET);

  const double K = 0.1;
  double P = 0;
  for (int i = 0; i < B; i++)
    {
      double n2 = 0;
      for (size_t k = 0; k < in; k++)
        n2 += (double) g[i * in + k] * g[i * in + k];
      norms[i] = (float) sqrt (n2);
      P += (K - norms[i]) * (K - norms[i]) / B;
      for (size_t k = 0; k < in; k++)
        v[i * in + k] = (float) (2.0 / B * (norms[i] - K) * g[i * in + k] / norms[i]);
    }
  compare ("norms", norms, get (st, "norms"), B, TOL_NET);
  float Pf = (float) P;
  compare ("penalty", &Pf, get (st, "penalty"), 1, TOL_NET);

  GError *error = NULL;
  gboolean ok = lq_net_double_backward (net, v, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  for (int q = 0; q < lq_net_n_params (net); q++)
    {
      LqParam *p = lq_net_param (net, q);
      g_autofree char *name = g_strconcat ("penalty_grad.", p->name, NULL);
      compare (name, p->grad->data, get (st, name), p->grad->numel, TOL_NET);
    }
  lq_floats_free (u);
  lq_floats_free (g);
  lq_floats_free (v);
}

/* ---------- optimizers ---------- */

static void
test_optim (gconstpointer data)
{
  const char *name = data;
  g_autoptr (LqSafetensors) st = load_fixture ("optim");
  g_autoptr (LqNet) net = lq_net_new (3, 1, 1);
  add (net, lq_dense_new ("fc", 2));
  LqParam *W = lq_net_param (net, 0), *b = lq_net_param (net, 1);
  copy_param (W, get (st, "w0.weight"));
  copy_param (b, get (st, "w0.bias"));
  LqOptimConfig cfg;
  if (strcmp (name, "sgd") == 0)
    cfg = lq_optim_defaults (LQ_OPTIM_SGD, 0.1f), cfg.momentum = 0.9f;
  else if (strcmp (name, "adam") == 0)
    cfg = lq_optim_defaults (LQ_OPTIM_ADAM, 0.01f);
  else if (strcmp (name, "rmsprop") == 0)
    cfg = lq_optim_defaults (LQ_OPTIM_RMSPROP_TORCH, 0.01f);
  else
    cfg = lq_optim_defaults (LQ_OPTIM_RMSPROP_TF, 0.01f);
  g_autoptr (LqOptim) opt = lq_optim_new (&cfg, net);

  const LqTensor *x = get (st, "x"), *t = get (st, "t");
  const int B = x->shape[0];
  float *dy = lq_floats_new (t->numel);
  for (int k = 1; k <= 5; k++)
    {
      /* the gradient of mean((W x + b − t)²) through the net and lq_mse */
      const float *y = lq_net_forward (net, x->data, B);
      float loss = lq_mse (y, t->data, t->numel, dy);
      g_autofree char *nl = g_strdup_printf ("%s.loss%d", name, k);
      compare (nl, &loss, get (st, nl), 1, TOL_LAYER);
      lq_net_zero_grad (net);
      lq_net_backward (net, dy, NULL, TRUE);
      g_autofree char *ngw = g_strdup_printf ("%s.grad%d.weight", name, k);
      g_autofree char *ngb = g_strdup_printf ("%s.grad%d.bias", name, k);
      compare (ngw, W->grad->data, get (st, ngw), W->grad->numel, TOL_LAYER);
      compare (ngb, b->grad->data, get (st, ngb), b->grad->numel, TOL_LAYER);
      /* the step itself, from exactly PyTorch's (float32-rounded) gradient */
      memcpy (W->grad->data, get (st, ngw)->data, W->grad->numel * sizeof (float));
      memcpy (b->grad->data, get (st, ngb)->data, b->grad->numel * sizeof (float));
      lq_optim_step (opt);
      g_autofree char *nsw = g_strdup_printf ("%s.step%d.weight", name, k);
      g_autofree char *nsb = g_strdup_printf ("%s.step%d.bias", name, k);
      compare (nsw, W->value->data, get (st, nsw), W->value->numel, TOL_STEP);
      compare (nsb, b->value->data, get (st, nsb), b->value->numel, TOL_STEP);
    }
  lq_floats_free (dy);
}

/* ---------- losses ---------- */

static void
test_losses (void)
{
  g_autoptr (LqSafetensors) st = load_fixture ("losses");
  const LqTensor *z = get (st, "xent.logits"), *lab = get (st, "xent.labels");
  const int B = z->shape[0], C = z->shape[1];
  guint8 labels[64];
  g_assert_cmpint (B, <=, 64);
  for (int i = 0; i < B; i++)
    labels[i] = (guint8) lab->data[i];
  float *dz = lq_floats_new (z->numel), *p = lq_floats_new (z->numel);
  float l = lq_softmax_xent (z->data, labels, B, C, dz, p);
  compare ("xent", &l, get (st, "xent.loss"), 1, TOL_LAYER);
  compare ("xent dlogits", dz, get (st, "xent.dlogits"), z->numel, TOL_LAYER);
  compare ("xent probs", p, get (st, "xent.probs"), z->numel, TOL_LAYER);
  lq_softmax (z->data, B, C, p);
  compare ("softmax", p, get (st, "xent.probs"), z->numel, TOL_LAYER);
  lq_floats_free (dz);
  lq_floats_free (p);

  const LqTensor *a = get (st, "mse.a"), *b = get (st, "mse.b");
  float *da = lq_floats_new (a->numel);
  l = lq_mse (a->data, b->data, a->numel, da);
  compare ("mse", &l, get (st, "mse.loss"), 1, TOL_LAYER);
  compare ("mse da", da, get (st, "mse.da"), a->numel, TOL_LAYER);
  lq_floats_free (da);

  const LqTensor *mu = get (st, "kl.mu"), *lv = get (st, "kl.logvar");
  float *dmu = lq_floats_new (mu->numel), *dlv = lq_floats_new (mu->numel);
  l = lq_kl_normal (mu->data, lv->data, mu->numel, get (st, "kl.scale")->data[0], dmu, dlv);
  compare ("kl", &l, get (st, "kl.loss"), 1, TOL_LAYER);
  compare ("kl dmu", dmu, get (st, "kl.dmu"), mu->numel, TOL_LAYER);
  compare ("kl dlogvar", dlv, get (st, "kl.dlogvar"), mu->numel, TOL_LAYER);
  lq_floats_free (dmu);
  lq_floats_free (dlv);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (layer_cases); i++)
    {
      char *path = g_strdup_printf ("/torch/%s%s", layer_cases[i].fixture,
                                    layer_cases[i].make == make_conv_asym_explicit ? "-explicit" : "");
      g_test_add_data_func (path, &layer_cases[i], test_layer);
      g_free (path);
    }
  g_test_add_func ("/torch/activations", test_activations);
  g_test_add_func ("/torch/encoder-penalty", test_encoder_penalty);
  static const char *optims[] = { "sgd", "adam", "rmsprop", "rmsprop_tf" };
  for (guint i = 0; i < G_N_ELEMENTS (optims); i++)
    {
      char *path = g_strdup_printf ("/torch/optim/%s", optims[i]);
      g_test_add_data_func (path, optims[i], test_optim);
      g_free (path);
    }
  g_test_add_func ("/torch/losses", test_losses);
  return g_test_run ();
}

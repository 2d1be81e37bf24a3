/* test-optim.c: the optimizers of lq-optim.h against the update rules computed by hand in double.
 *
 * A net with one dense layer (weight [2, 3], bias [2]) holds the parameters; each step sets the
 * gradients to fixed values (including zeros and sign changes), calls lq_optim_step and compares
 * parameters and optimizer state with a double-precision re-implementation of the documented rule:
 *   SGD (PyTorch):   b ← g (first step), b ← μ b + g;  θ ← θ − lr b
 *   Adam (PyTorch):  m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
 *                    θ ← θ − lr/(1−β1ᵗ) · m / (sqrt(v)/sqrt(1−β2ᵗ) + ε)
 *   RMSProp TF1:     ms ← ρ ms + (1−ρ) g², ms₀ = 1;  θ ← θ − lr g / sqrt(ms + ε)
 *   RMSProp torch:   v ← α v + (1−α) g², v₀ = 0;     θ ← θ − lr g / (sqrt(v) + ε)
 * Tolerance: |θ − θ_ref| ≤ 1e-6 · max(1, |θ_ref|) and the same for every state slot (the float
 * code rounds each operation once; the updates are far below θ's magnitude).
 * The first steps are also checked against closed forms (Adam's first step is lr·sign(g), ...).
 */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "lq-gemm.h"
#include "lq-net.h"
#include "lq-optim.h"
#include "lq-test-util.h"

#define NP 8 /* 6 weights + 2 biases */
#define TOL 1e-6

static LqNet *
make_net (void)
{
  LqNet *net = lq_net_new (3, 1, 1);
  GError *error = NULL;
  g_assert_true (lq_net_add (net, lq_dense_new ("fc", 2), &error));
  g_assert_no_error (error);
  const float w0[NP] = { 0.5f, -1.25f, 2.0f, 0.0f, 3.5f, -0.75f, 0.1f, -0.2f };
  memcpy (lq_net_param (net, 0)->value->data, w0, 6 * sizeof (float));
  memcpy (lq_net_param (net, 1)->value->data, w0 + 6, 2 * sizeof (float));
  return net;
}

/* The gradient of step t (1-based), coordinate i. */
static float
grad_at (int t, int i)
{
  static const float g[5][NP] = {
    { 0.3f, -0.1f, 0.0f, 2.0f, -1.5f, 0.01f, 0.25f, -4.0f },
    { -0.2f, -0.1f, 0.5f, 1.0f, 1.5f, 0.0f, 0.25f, 3.0f },
    { 0.0f, 0.4f, -0.5f, -3.0f, 0.2f, 0.02f, -0.7f, 1e-4f },
    { 1e-3f, 0.4f, 0.0f, 0.5f, -0.2f, -0.05f, 0.9f, -2.0f },
    { 0.6f, -0.3f, 0.1f, 0.0f, 0.0f, 0.0f, -0.1f, 0.5f },
  };
  return g[t - 1][i];
}

static void
set_grads (LqNet *net, int t)
{
  for (int i = 0; i < NP; i++)
    {
      LqParam *p = lq_net_param (net, i < 6 ? 0 : 1);
      p->grad->data[i < 6 ? i : i - 6] = grad_at (t, i);
    }
}

static float
param_at (LqNet *net, int i)
{
  return lq_net_param (net, i < 6 ? 0 : 1)->value->data[i < 6 ? i : i - 6];
}

/* State slot s of coordinate i (the optimizer keeps slots per parameter tensor, in order). */
static float
state_at (LqOptim *o, int slots, int s, int i, const char **name)
{
  int tensor = i < 6 ? 0 : 1;
  return lq_optim_state (o, tensor * slots + s, name)->data[i < 6 ? i : i - 6];
}

static void
assert_near (const char *what, int t, int i, double got, double want)
{
  double tol = TOL * MAX (1.0, fabs (want));
  if (!(fabs (got - want) <= tol))
    g_test_message ("%s, step %d, coordinate %d: got %.9g, want %.9g", what, t, i, got, want);
  g_assert_cmpfloat (fabs (got - want), <=, tol);
}

static void
run_case (const LqOptimConfig *cfg, const char *slot0, const char *slot1, int steps)
{
  g_autoptr (LqNet) net = make_net ();
  g_autoptr (LqOptim) o = lq_optim_new (cfg, net);
  const int slots = slot1 ? 2 : 1;
  g_assert_cmpint (lq_optim_n_state (o), ==, 2 * slots);
  for (int s = 0; s < slots; s++)
    for (int tensor = 0; tensor < 2; tensor++)
      {
        const char *name;
        lq_optim_state (o, tensor * slots + s, &name);
        char *want = g_strdup_printf ("fc.%s.%s", tensor ? "bias" : "weight", s ? slot1 : slot0);
        g_assert_cmpstr (name, ==, want);
        g_free (want);
      }

  double w[NP], s0[NP], s1[NP];
  for (int i = 0; i < NP; i++)
    {
      w[i] = param_at (net, i);
      s0[i] = cfg->kind == LQ_OPTIM_RMSPROP_TF ? 1.0 : 0.0;
      s1[i] = 0;
    }
  for (int t = 1; t <= steps; t++)
    {
      set_grads (net, t);
      lq_optim_step (o);
      g_assert_cmpuint (lq_optim_steps (o), ==, (guint64) t);
      const double lr = cfg->lr, b1 = cfg->beta1, b2 = cfg->beta2, eps = cfg->eps;
      for (int i = 0; i < NP; i++)
        {
          const double g = grad_at (t, i);
          switch (cfg->kind)
            {
            case LQ_OPTIM_SGD:
              s0[i] = t == 1 ? g : cfg->momentum * s0[i] + g;
              w[i] -= lr * s0[i];
              break;
            case LQ_OPTIM_ADAM:
              s0[i] = b1 * s0[i] + (1 - b1) * g;
              s1[i] = b2 * s1[i] + (1 - b2) * g * g;
              w[i] -= lr / (1 - pow (b1, t)) * s0[i] / (sqrt (s1[i]) / sqrt (1 - pow (b2, t)) + eps);
              break;
            case LQ_OPTIM_RMSPROP_TF:
              s0[i] = b2 * s0[i] + (1 - b2) * g * g;
              w[i] -= lr * g / sqrt (s0[i] + eps);
              break;
            case LQ_OPTIM_RMSPROP_TORCH:
              s0[i] = b2 * s0[i] + (1 - b2) * g * g;
              w[i] -= lr * g / (sqrt (s0[i]) + eps);
              break;
            }
          assert_near ("parameter", t, i, param_at (net, i), w[i]);
          assert_near (slot0, t, i, state_at (o, slots, 0, i, NULL), s0[i]);
          if (slot1)
            assert_near (slot1, t, i, state_at (o, slots, 1, i, NULL), s1[i]);
        }
    }
}

static void
test_sgd (void)
{
  LqOptimConfig c = lq_optim_defaults (LQ_OPTIM_SGD, 0.1f);
  g_assert_cmpfloat (c.momentum, ==, 0.9f);
  run_case (&c, "momentum", NULL, 5);
  c.momentum = 0.0f; /* plain SGD */
  run_case (&c, "momentum", NULL, 3);

  /* closed form, two steps: θ₂ = θ₀ − lr g₁ − lr (μ g₁ + g₂) */
  g_autoptr (LqNet) net = make_net ();
  c = lq_optim_defaults (LQ_OPTIM_SGD, 0.1f);
  g_autoptr (LqOptim) o = lq_optim_new (&c, net);
  double w0 = param_at (net, 0);
  set_grads (net, 1);
  lq_optim_step (o);
  assert_near ("sgd step 1", 1, 0, param_at (net, 0), w0 - 0.1 * 0.3);
  set_grads (net, 2);
  lq_optim_step (o);
  assert_near ("sgd step 2", 2, 0, param_at (net, 0), w0 - 0.1 * 0.3 - 0.1 * (0.9 * 0.3 - 0.2));
}

static void
test_adam (void)
{
  LqOptimConfig c = lq_optim_defaults (LQ_OPTIM_ADAM, 1e-2f);
  g_assert_cmpfloat (c.beta1, ==, 0.9f);
  g_assert_cmpfloat (c.beta2, ==, 0.999f);
  g_assert_cmpfloat (c.eps, ==, 1e-8f);
  run_case (&c, "exp_avg", "exp_avg_sq", 5);
  LqOptimConfig c2 = c;
  c2.beta1 = 0.5f, c2.beta2 = 0.9f, c2.eps = 1e-3f, c2.lr = 0.3f;
  run_case (&c2, "exp_avg", "exp_avg_sq", 5);

  /* the first Adam step moves every coordinate with g ≠ 0 by lr·g/(|g| + ε) ≈ lr·sign(g) */
  g_autoptr (LqNet) net = make_net ();
  g_autoptr (LqOptim) o = lq_optim_new (&c, net);
  double w[NP];
  for (int i = 0; i < NP; i++)
    w[i] = param_at (net, i);
  set_grads (net, 1);
  lq_optim_step (o);
  for (int i = 0; i < NP; i++)
    {
      double g = grad_at (1, i);
      assert_near ("adam first step", 1, i, param_at (net, i), w[i] - 1e-2 * g / (fabs (g) + 1e-8));
    }
}

static void
test_rmsprop_tf (void)
{
  LqOptimConfig c = lq_optim_defaults (LQ_OPTIM_RMSPROP_TF, 3e-4f);
  g_assert_cmpfloat (c.beta2, ==, 0.9f);
  g_assert_cmpfloat (c.eps, ==, 1e-10f);
  run_case (&c, "rms", NULL, 5);
  c.lr = 0.1f;
  run_case (&c, "rms", NULL, 5);

  /* first step: ms = 0.9 + 0.1 g² (it starts at 1), θ ← θ − lr g / sqrt(ms + 1e-10) */
  g_autoptr (LqNet) net = make_net ();
  g_autoptr (LqOptim) o = lq_optim_new (&c, net);
  double w3 = param_at (net, 3);
  set_grads (net, 1); /* g[3] = 2: ms = 1.3 */
  lq_optim_step (o);
  assert_near ("rmsprop tf first step", 1, 3, param_at (net, 3), w3 - 0.1 * 2 / sqrt (1.3 + 1e-10));
}

static void
test_rmsprop_torch (void)
{
  LqOptimConfig c = lq_optim_defaults (LQ_OPTIM_RMSPROP_TORCH, 1e-2f);
  g_assert_cmpfloat (c.beta2, ==, 0.99f);
  g_assert_cmpfloat (c.eps, ==, 1e-8f);
  run_case (&c, "square_avg", NULL, 5);

  /* first step: v = 0.01 g², θ ← θ − lr g / (0.1 |g| + ε) ≈ θ − 10 lr sign(g) */
  g_autoptr (LqNet) net = make_net ();
  g_autoptr (LqOptim) o = lq_optim_new (&c, net);
  double w3 = param_at (net, 3);
  set_grads (net, 1);
  lq_optim_step (o);
  assert_near ("rmsprop torch first step", 1, 3, param_at (net, 3), w3 - 1e-2 * 2 / (0.2 + 1e-8));
}

/* Learning rate and step counter can be changed (decay schedules, checkpoint resume). */
static void
test_lr_and_steps (void)
{
  g_autoptr (LqNet) net = make_net ();
  LqOptimConfig c = lq_optim_defaults (LQ_OPTIM_ADAM, 1e-2f);
  g_autoptr (LqOptim) o = lq_optim_new (&c, net);
  g_assert_cmpfloat (lq_optim_get_lr (o), ==, 1e-2f);
  lq_optim_set_lr (o, 5e-3f);
  g_assert_cmpfloat (lq_optim_get_lr (o), ==, 5e-3f);
  /* resuming at step 9: the bias corrections use t = 10 */
  lq_optim_set_steps (o, 9);
  double w0 = param_at (net, 0), g = grad_at (1, 0);
  set_grads (net, 1);
  lq_optim_step (o);
  g_assert_cmpuint (lq_optim_steps (o), ==, 10);
  double m = 0.1 * g, v = 0.001 * g * g;
  double want = w0 - 5e-3 / (1 - pow (0.9, 10)) * m / (sqrt (v) / sqrt (1 - pow (0.999, 10)) + 1e-8);
  assert_near ("adam resumed at step 10", 10, 0, param_at (net, 0), want);
}

/* A dense net with enough weights (1024 × 300) for the update to be cut over the threads. */
static LqNet *
make_wide_net (guint64 seed)
{
  LqNet *net = lq_net_new (1024, 1, 1);
  g_assert_true (lq_net_add (net, lq_dense_new ("fc", 300), NULL));
  LqRng rng;
  lq_rng_seed (&rng, seed);
  lq_net_init (net, &rng);
  for (int i = 0; i < lq_net_n_params (net); i++)
    {
      LqTensor *g = lq_net_param (net, i)->grad;
      for (size_t k = 0; k < g->numel; k++)
        g->data[k] = (float) lq_rng_normal (&rng) * ((k % 7) == 0 ? 0.0f : 0.01f);
    }
  return net;
}

/* lq_optim_step_summed (net, other) is lq_optim_step on a net whose gradient is the float sum of
 * the two, bit for bit, and so is the update cut over two threads against one. */
static void
test_summed_and_threads (void)
{
  const LqOptimKind kinds[] = { LQ_OPTIM_SGD, LQ_OPTIM_ADAM, LQ_OPTIM_RMSPROP_TF, LQ_OPTIM_RMSPROP_TORCH };
  const int threads = lq_gemm_get_threads ();
  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      LqOptimConfig cfg = lq_optim_defaults (kinds[k], 1e-3f);
      g_autoptr (LqNet) a = make_wide_net (1), other = make_wide_net (2), sum = make_wide_net (1);
      g_autoptr (LqNet) one = make_wide_net (1);
      for (int i = 0; i < lq_net_n_params (sum); i++)
        {
          LqTensor *gs = lq_net_param (sum, i)->grad, *go = lq_net_param (other, i)->grad;
          for (size_t e = 0; e < gs->numel; e++)
            gs->data[e] += go->data[e];
        }
      g_autoptr (LqOptim) oa = lq_optim_new (&cfg, a);
      g_autoptr (LqOptim) os = lq_optim_new (&cfg, sum);
      g_autoptr (LqOptim) o1 = lq_optim_new (&cfg, one);
      for (int step = 0; step < 3; step++)
        {
          lq_gemm_set_threads (2);
          lq_optim_step_summed (oa, other);
          lq_optim_step (os);
          lq_gemm_set_threads (1);
          lq_optim_step (o1);
          lq_gemm_set_threads (threads);
        }
      lq_test_assert_nets_equal (a, sum);
      g_autoptr (LqNet) two = make_wide_net (1);
      g_autoptr (LqOptim) o2 = lq_optim_new (&cfg, two);
      lq_gemm_set_threads (2);
      for (int step = 0; step < 3; step++)
        lq_optim_step (o2);
      lq_gemm_set_threads (threads);
      lq_test_assert_nets_equal (one, two);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/optim/sgd-momentum", test_sgd);
  g_test_add_func ("/optim/adam", test_adam);
  g_test_add_func ("/optim/rmsprop-tf", test_rmsprop_tf);
  g_test_add_func ("/optim/rmsprop-torch", test_rmsprop_torch);
  g_test_add_func ("/optim/lr-and-steps", test_lr_and_steps);
  g_test_add_func ("/optim/summed-and-threads", test_summed_and_threads);
  return g_test_run ();
}

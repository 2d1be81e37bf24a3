/* test-losses.c: the losses of lq-loss.h on hand-computed cases and against central finite
 * differences.
 *
 * Hand-computed values: |value − expected| ≤ 1e-6 · max(1, |expected|) (float results of double
 * accumulations).
 * Finite differences: the loss is a float; the step h is applied to the float input and the actual
 * float difference is the denominator. err_i = max(0, |analytic_i − numeric_i| − noise) /
 * (|numeric_i| + 1e-2 · max_j |numeric_j| + 1e-6) ≤ 2e-3, where noise = 2·FLT_EPSILON·|L|/h is
 * four times the bound on what rounding the float loss L to float can do to the quotient
 * (ε|L|/2 per evaluation, two evaluations, over 2h); h = 1e-2 (smooth losses: the
 * truncation error is O(h²); MSE and the CW margin are exact up to rounding). The CW margin's
 * inputs keep every max unique by more than 2h and every margin farther than 2h from −κ (kinks).
 */
#include <float.h>
#include <glib.h>
#include <math.h>
#include <string.h>
#include "lq-loss.h"
#include "lq-rng.h"

#define TOL_VALUE 1e-6
#define TOL_FD 2e-3

static void
assert_value (const char *what, double got, double want)
{
  if (!(fabs (got - want) <= TOL_VALUE * MAX (1.0, fabs (want))))
    g_test_message ("%s: got %.9g, want %.9g", what, got, want);
  g_assert_cmpfloat (fabs (got - want), <=, TOL_VALUE * MAX (1.0, fabs (want)));
}

static void
assert_values (const char *what, const float *got, const double *want, size_t n)
{
  for (size_t i = 0; i < n; i++)
    assert_value (what, got[i], want[i]);
}

static void
fill_uniform (LqRng *r, float *a, size_t n, float lo, float hi)
{
  for (size_t i = 0; i < n; i++)
    a[i] = (float) (lo + (hi - lo) * lq_rng_uniform (r));
}

/* Central FD of loss(x) in every coordinate of x, compared with ana. */
typedef double (*LossFn) (float *x, gpointer data);

static void
check_fd (const char *what, LossFn f, gpointer data, float *x, const float *ana, size_t n, double h)
{
  double *num = g_new (double, n), maxn = 0;
  const double noise = 2 * FLT_EPSILON * fabs (f (x, data)) / h;
  for (size_t i = 0; i < n; i++)
    {
      float save = x[i];
      x[i] = (float) (save + h);
      double xp = x[i], lp = f (x, data);
      x[i] = (float) (save - h);
      double xm = x[i], lm = f (x, data);
      x[i] = save;
      num[i] = (lp - lm) / (xp - xm);
      maxn = MAX (maxn, fabs (num[i]));
    }
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < n; i++)
    {
      double e = MAX (0.0, fabs (ana[i] - num[i]) - noise) / (fabs (num[i]) + 1e-2 * maxn + 1e-6);
      if (e > worst)
        worst = e, wi = i;
    }
  g_test_message ("%s: max |numeric| %.3g, noise %.3g, max scaled error %.3g (at %zu: analytic "
                  "%.7g, numeric %.7g)", what, maxn, noise, worst, wi, ana[wi], num[wi]);
  g_assert_cmpfloat (maxn, >, 0);
  g_assert_cmpfloat (worst, <=, TOL_FD);
  g_free (num);
}

/* ---------- softmax cross-entropy ---------- */

static void
test_xent_values (void)
{
  /* sample 0: z = [1, 2, 3], label 2: log(1 + e⁻¹ + e⁻²); sample 1: z = 0, label 1: log 3 */
  const float z[] = { 1, 2, 3, 0, 0, 0 };
  const guint8 y[] = { 2, 1 };
  float dz[6], p[6];
  double l0 = log (1 + exp (-1.0) + exp (-2.0)), l1 = log (3.0);
  float loss = lq_softmax_xent (z, y, 2, 3, dz, p);
  assert_value ("xent", loss, (l0 + l1) / 2);
  double s = exp (1.0) + exp (2.0) + exp (3.0);
  const double pw[] = { exp (1.0) / s, exp (2.0) / s, exp (3.0) / s, 1 / 3.0, 1 / 3.0, 1 / 3.0 };
  assert_values ("xent probs", p, pw, 6);
  const double dw[] = { pw[0] / 2, pw[1] / 2, (pw[2] - 1) / 2, 1 / 6.0, (1 / 3.0 - 1) / 2, 1 / 6.0 };
  assert_values ("xent dlogits", dz, dw, 6);
  /* the optional outputs change nothing */
  assert_value ("xent without outputs", lq_softmax_xent (z, y, 2, 3, NULL, NULL), loss);
  float p2[6];
  lq_softmax (z, 2, 3, p2);
  assert_values ("lq_softmax", p2, pw, 6);

  /* two classes, equal logits: log 2, gradient ∓½ */
  const float z2[] = { 0.5f, 0.5f };
  const guint8 y2[] = { 0 };
  float d2[2];
  assert_value ("xent log 2", lq_softmax_xent (z2, y2, 1, 2, d2, NULL), log (2.0));
  assert_values ("xent log 2 grad", d2, (const double[]){ -0.5, 0.5 }, 2);

  /* huge logits stay finite */
  const float z3[] = { 1000, 0, -1000, 1000, 1000, 1000 };
  const guint8 y3[] = { 1, 0 };
  float d3[6], p3[6];
  float l3 = lq_softmax_xent (z3, y3, 2, 3, d3, p3);
  assert_value ("xent huge logits", l3, (1000 + log (3.0)) / 2);
  for (int i = 0; i < 6; i++)
    g_assert_true (isfinite (d3[i]) && isfinite (p3[i]));
  assert_values ("xent huge probs", p3, (const double[]){ 1, 0, 0, 1 / 3.0, 1 / 3.0, 1 / 3.0 }, 6);
  lq_softmax (z3, 2, 3, p3);
  assert_values ("softmax huge", p3, (const double[]){ 1, 0, 0, 1 / 3.0, 1 / 3.0, 1 / 3.0 }, 6);
}

typedef struct {
  const guint8 *labels;
  int batch, classes;
} XentData;

static double
xent_fn (float *x, gpointer data)
{
  XentData *d = data;
  return lq_softmax_xent (x, d->labels, d->batch, d->classes, NULL, NULL);
}

static void
test_xent_fd (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 31);
  enum { B = 4, C = 10 };
  float z[B * C], dz[B * C];
  guint8 y[B] = { 3, 0, 9, 3 };
  fill_uniform (&rng, z, B * C, -3, 3);
  lq_softmax_xent (z, y, B, C, dz, NULL);
  XentData d = { y, B, C };
  check_fd ("xent dlogits", xent_fn, &d, z, dz, B * C, 1e-2);
  /* the gradient of each sample sums to zero */
  for (int n = 0; n < B; n++)
    {
      double s = 0;
      for (int k = 0; k < C; k++)
        s += dz[n * C + k];
      g_assert_cmpfloat (fabs (s), <=, 1e-7);
    }
}

/* ---------- MSE ---------- */

static void
test_mse_values (void)
{
  const float a[] = { 1, 2, 3 }, b[] = { 0, 2, 5 };
  float da[3];
  assert_value ("mse", lq_mse (a, b, 3, da), 5.0 / 3);
  assert_values ("mse grad", da, (const double[]){ 2.0 / 3, 0, -4.0 / 3 }, 3);
  assert_value ("mse without grad", lq_mse (a, b, 3, NULL), 5.0 / 3);
  assert_value ("mse of equal", lq_mse (a, a, 3, da), 0);
}

typedef struct {
  const float *b;
  size_t n;
} MseData;

static double
mse_fn (float *x, gpointer data)
{
  MseData *d = data;
  return lq_mse (x, d->b, d->n, NULL);
}

static void
test_mse_fd (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 32);
  enum { N = 50 };
  float a[N], b[N], da[N];
  fill_uniform (&rng, a, N, -1, 1);
  fill_uniform (&rng, b, N, -1, 1);
  lq_mse (a, b, N, da);
  MseData d = { b, N };
  check_fd ("mse da", mse_fn, &d, a, da, N, 1e-2);
}

/* ---------- KL(N(mu, exp(logvar)) ‖ N(0, 1)) ---------- */

static void
test_kl_values (void)
{
  /* per unit: −½(1 + lv − mu² − e^lv) */
  const float mu[] = { 0, 1, 0, -2 }, lv[] = { 0, 0, (float) G_LN2, -1 };
  const double per[] = { 0, 0.5, 0.5 * (1 - G_LN2), -0.5 * (1 - 1 - 4 - exp (-1.0)) };
  float dmu[4], dlv[4];
  const double scale = 0.25;
  float got = lq_kl_normal (mu, lv, 4, (float) scale, dmu, dlv);
  assert_value ("kl", got, scale * (per[0] + per[1] + per[2] + per[3]));
  assert_values ("kl dmu", dmu, (const double[]){ 0, scale * 1, 0, scale * -2 }, 4);
  assert_values ("kl dlogvar", dlv,
                 (const double[]){ 0, 0, scale * 0.5 * (2 - 1), scale * 0.5 * (exp (-1.0) - 1) },
                 4);
  assert_value ("kl without grads", lq_kl_normal (mu, lv, 4, (float) scale, NULL, NULL), got);
  assert_value ("kl of the prior", lq_kl_normal (mu, lv, 1, 1.0f, NULL, NULL), 0);
}

typedef struct {
  float *mu, *lv;
  size_t n;
  float scale;
} KlData;

static double
kl_fn (float *x, gpointer data)
{
  KlData *d = data;
  return lq_kl_normal (d->mu, d->lv, d->n, d->scale, NULL, NULL);
}

static void
test_kl_fd (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 33);
  enum { N = 24 };
  float mu[N], lv[N], dmu[N], dlv[N];
  fill_uniform (&rng, mu, N, -2, 2);
  fill_uniform (&rng, lv, N, -3, 1);
  KlData d = { mu, lv, N, 1.0f / 16 };
  lq_kl_normal (mu, lv, N, d.scale, dmu, dlv);
  check_fd ("kl dmu", kl_fn, &d, mu, dmu, N, 1e-2);
  check_fd ("kl dlogvar", kl_fn, &d, lv, dlv, N, 1e-2);
}

/* ---------- Carlini–Wagner margin ---------- */

static void
test_cw_values (void)
{
  const float z[] = { 1, 3, 2 };
  float loss[1], dz[3];
  const guint8 l1[] = { 1 }, l0[] = { 0 };

  /* untargeted, true class 1: z1 − max(z0, z2) = 1 */
  assert_value ("cw untargeted", lq_cw_margin (z, l1, 1, 3, 0, FALSE, loss, dz), 1);
  assert_value ("cw untargeted per sample", loss[0], 1);
  assert_values ("cw untargeted grad", dz, (const double[]){ 0, 1, -1 }, 3);

  /* untargeted, true class 0: 1 − 3 = −2, clipped at −κ */
  assert_value ("cw clipped", lq_cw_margin (z, l0, 1, 3, 0, FALSE, loss, dz), 0);
  assert_values ("cw clipped grad", dz, (const double[]){ 0, 0, 0 }, 3);
  assert_value ("cw kappa 5", lq_cw_margin (z, l0, 1, 3, 5, FALSE, loss, dz), -2);
  assert_values ("cw kappa 5 grad", dz, (const double[]){ 1, -1, 0 }, 3);

  /* targeted at class 0: max(z1, z2) − z0 = 2 */
  assert_value ("cw targeted", lq_cw_margin (z, l0, 1, 3, 0, TRUE, loss, dz), 2);
  assert_values ("cw targeted grad", dz, (const double[]){ -1, 1, 0 }, 3);
  /* targeted at the class already on top: max(1, 2) − 3 = −1, clipped at −κ = −0.5 */
  assert_value ("cw targeted reached", lq_cw_margin (z, l1, 1, 3, 0.5f, TRUE, loss, dz), -0.5);
  assert_values ("cw targeted reached grad", dz, (const double[]){ 0, 0, 0 }, 3);

  /* a batch: the return value is the sum, loss[] per sample */
  const float zb[] = { 1, 3, 2, 5, 0, -1 };
  const guint8 lb[] = { 1, 0 };
  float lossb[2], dzb[6];
  assert_value ("cw batch", lq_cw_margin (zb, lb, 2, 3, 0, FALSE, lossb, dzb), 1 + 5);
  assert_values ("cw batch losses", lossb, (const double[]){ 1, 5 }, 2);
  assert_values ("cw batch grad", dzb, (const double[]){ 0, 1, -1, 1, -1, 0 }, 6);
}

typedef struct {
  const guint8 *labels;
  int batch, classes;
  float kappa;
  gboolean targeted;
} CwData;

static double
cw_fn (float *x, gpointer data)
{
  CwData *d = data;
  return lq_cw_margin (x, d->labels, d->batch, d->classes, d->kappa, d->targeted, NULL, NULL);
}

static void
test_cw_fd (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 34);
  enum { B = 6, C = 10 };
  const double h = 1e-2;
  guint8 y[B] = { 0, 4, 9, 2, 2, 7 };
  for (int targeted = 0; targeted < 2; targeted++)
    {
      float z[B * C], dz[B * C];
      /* untargeted margins are in [−0.9, 0.1]: κ = 0.35 clips some of them */
      const float kappa = targeted ? 1.0f : 0.35f;
      /* distinct logits 0.1 apart (shuffled), so every max is unique by more than 2h */
      for (int n = 0; n < B; n++)
        {
          guint32 perm[C];
          for (int k = 0; k < C; k++)
            perm[k] = k;
          lq_rng_shuffle (&rng, perm, C);
          for (int k = 0; k < C; k++)
            z[n * C + k] = 0.1f * perm[k] - 0.45f;
        }
      /* keep the raw margins away from −κ */
      int clipped = 0;
      for (int n = 0; n < B; n++)
        {
          float zt = z[n * C + y[n]], zo = -G_MAXFLOAT;
          for (int k = 0; k < C; k++)
            if (k != y[n])
              zo = MAX (zo, z[n * C + k]);
          float m = targeted ? zo - zt : zt - zo;
          g_assert_cmpfloat (fabs (m + kappa), >, 2 * h);
          clipped += m < -kappa;
        }
      g_test_message ("%d of %d margins clipped at -kappa", clipped, B);
      CwData d = { y, B, C, kappa, targeted };
      lq_cw_margin (z, y, B, C, kappa, targeted, NULL, dz);
      check_fd (targeted ? "cw targeted dlogits" : "cw untargeted dlogits", cw_fn, &d, z, dz, B * C, h);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/losses/xent/values", test_xent_values);
  g_test_add_func ("/losses/xent/fd", test_xent_fd);
  g_test_add_func ("/losses/mse/values", test_mse_values);
  g_test_add_func ("/losses/mse/fd", test_mse_fd);
  g_test_add_func ("/losses/kl/values", test_kl_values);
  g_test_add_func ("/losses/kl/fd", test_kl_fd);
  g_test_add_func ("/losses/cw/values", test_cw_values);
  g_test_add_func ("/losses/cw/fd", test_cw_fd);
  return g_test_run ();
}

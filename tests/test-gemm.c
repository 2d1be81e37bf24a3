/* test-gemm.c: lq_gemm (cblas_sgemm) against lq_gemm_naive (three loops in double), and the naive
 * oracle against hand-computed products.
 *
 * Covered: the four transpose combinations; odd and degenerate sizes (1, primes, K = 0) and sizes
 * large enough for OpenBLAS's blocked paths; products that lq_gemm cuts over two threads, by rows
 * and by columns (the same bits as on one thread); leading dimensions larger than the minimum
 * (the gaps are filled with NaN: reading them poisons the result, and the gaps of C must come back
 * untouched); alpha/beta including beta = 0 over a C full of NaN (BLAS does not read C then) and
 * alpha = 0; the flop counter (2·M·N·K a call, cut or not).
 *
 * Tolerance, elementwise (the standard forward error bound of a float dot product of length K):
 *   |C − C_ref| ≤ (K + 4) · 2⁻²³ · (|α| · (|A|·|B|)_ij + |β · C0_ij|) + 1e-30.
 */
#include <glib.h>
#include <math.h>
#include <string.h>
#include "lq-gemm.h"
#include "lq-rng.h"
#include "lq-tensor.h"

typedef struct {
  int M, N, K;
} Size;

static const Size sizes[] = {
  { 1, 1, 1 }, { 1, 7, 3 }, { 5, 1, 9 }, { 7, 5, 3 }, { 3, 4, 0 }, { 33, 17, 65 },
  { 64, 127, 31 }, { 130, 70, 257 }, { 257, 131, 129 }, { 61, 47, 517 }, { 401, 3, 300 },
};

static const float alphas[] = { 1.0f, 0.5f, -1.5f, 2.0f, 0.0f };
static const float betas[] = { 0.0f, 1.0f, 0.25f, -1.0f };

static void
fill (LqRng *r, float *a, size_t n)
{
  for (size_t i = 0; i < n; i++)
    a[i] = (float) (2 * lq_rng_uniform (r) - 1);
}

/* A rows×cols matrix with leading dimension ld ≥ cols; the gap is NaN. */
static float *
padded (LqRng *r, int rows, int cols, int ld)
{
  float *a = lq_floats_new ((size_t) MAX (rows, 1) * ld);
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < ld; j++)
      a[(size_t) i * ld + j] = j < cols ? (float) (2 * lq_rng_uniform (r) - 1) : NAN;
  return a;
}

static double worst_ratio; /* largest error / bound seen in a test */

static void
check_case (LqRng *rng, gboolean ta, gboolean tb, const Size *s, int extra, float alpha, float beta)
{
  const int M = s->M, N = s->N, K = s->K;
  /* stored shapes: op(A) is M×K, so A is K×M when transposed */
  const int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  const int lda = MAX (ac, 1) + extra, ldb = MAX (bc, 1) + extra, ldc = N + extra;
  float *A = padded (rng, ar, ac, lda), *B = padded (rng, br, bc, ldb);
  float *C0 = padded (rng, M, N, ldc);
  if (beta == 0.0f) /* not read: NaN must not leak through */
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++)
        C0[(size_t) i * ldc + j] = NAN;
  float *C = lq_floats_new ((size_t) M * ldc), *R = lq_floats_new ((size_t) M * ldc);
  memcpy (C, C0, (size_t) M * ldc * sizeof (float));
  memcpy (R, C0, (size_t) M * ldc * sizeof (float));

  lq_gemm (ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  lq_gemm_naive (ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);

  double worst = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < ldc; j++)
      {
        size_t o = (size_t) i * ldc + j;
        if (j >= N)
          {
            /* the gap of C is neither read nor written */
            g_assert_true (isnan (C[o]));
            g_assert_true (isnan (R[o]));
            continue;
          }
        double absprod = 0;
        for (int k = 0; k < K; k++)
          {
            double a = ta ? A[(size_t) k * lda + i] : A[(size_t) i * lda + k];
            double b = tb ? B[(size_t) j * ldb + k] : B[(size_t) k * ldb + j];
            absprod += fabs (a * b);
          }
        double c0 = beta == 0.0f ? 0.0 : fabs ((double) beta * C0[o]);
        double bound = (K + 4) * 0x1p-23 * (fabs (alpha) * absprod + c0) + 1e-30;
        double e = fabs ((double) C[o] - R[o]);
        if (!(e <= bound))
          g_test_message ("ta=%d tb=%d M=%d N=%d K=%d lda=%d ldb=%d ldc=%d alpha=%g beta=%g: "
                          "C[%d,%d] = %.9g, oracle %.9g, bound %.3g", ta, tb, M, N, K, lda, ldb,
                          ldc, alpha, beta, i, j, C[o], R[o], bound);
        g_assert_cmpfloat (e, <=, bound);
        if (bound > 1e-30)
          worst = MAX (worst, e / bound);
      }
  worst_ratio = MAX (worst_ratio, worst);
  lq_floats_free (A);
  lq_floats_free (B);
  lq_floats_free (C0);
  lq_floats_free (C);
  lq_floats_free (R);
}

static void
test_transposes (gconstpointer data)
{
  const int combo = GPOINTER_TO_INT (data);
  const gboolean ta = combo & 1, tb = (combo >> 1) & 1;
  LqRng rng;
  lq_rng_seed (&rng, 100 + combo);
  int n = 0;
  worst_ratio = 0;
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (int extra = 0; extra <= 3; extra += 3)
      for (guint a = 0; a < G_N_ELEMENTS (alphas); a++)
        for (guint b = 0; b < G_N_ELEMENTS (betas); b++)
          {
            /* big products (M·N·K > 2e5) with about one in seven alpha/beta/ld choices: time */
            if ((double) sizes[s].M * sizes[s].N * sizes[s].K > 2e5 && (a + 2 * b + extra) % 7 != 0)
              continue;
            check_case (&rng, ta, tb, &sizes[s], extra, alphas[a], betas[b]);
            n++;
          }
  g_test_message ("%d cases, largest error at %.3f of the bound", n, worst_ratio);
}

/* Products above LQ_GEMM_SPLIT_COLD_FLOPS, which lq_gemm always cuts over two threads: by columns
 * (N > M) and by rows, for the four transpose combinations with padded leading dimensions,
 * against the oracle and bit for bit against one thread. */
static void
test_cut (void)
{
  static const Size cut_sizes[] = { { 128, 520, 512 }, { 520, 128, 512 } };
  LqRng rng;
  lq_rng_seed (&rng, 300);
  const int saved = lq_gemm_get_threads ();
  for (gsize s = 0; s < G_N_ELEMENTS (cut_sizes); s++)
    {
      const Size *z = &cut_sizes[s];
      g_assert_cmpfloat (2.0 * z->M * z->N * z->K, >=, LQ_GEMM_SPLIT_COLD_FLOPS);
      for (int combo = 0; combo < 4; combo++)
        {
          const gboolean ta = combo & 1, tb = (combo >> 1) & 1;
          lq_gemm_set_threads (2);
          check_case (&rng, ta, tb, z, 3, 1.5f, 0.25f);
          /* the same product on one thread and on two: the same bits */
          const int lda = (ta ? z->M : z->K) + 3, ldb = (tb ? z->K : z->N) + 3, ldc = z->N + 3;
          float *A = padded (&rng, ta ? z->K : z->M, ta ? z->M : z->K, lda);
          float *B = padded (&rng, tb ? z->N : z->K, tb ? z->K : z->N, ldb);
          float *C1 = padded (&rng, z->M, z->N, ldc), *C2 = lq_floats_new ((size_t) z->M * ldc);
          memcpy (C2, C1, (size_t) z->M * ldc * sizeof (float));
          lq_gemm_set_threads (1);
          lq_gemm (ta, tb, z->M, z->N, z->K, 1.0f, A, lda, B, ldb, 0.5f, C1, ldc);
          lq_gemm_set_threads (2);
          lq_gemm (ta, tb, z->M, z->N, z->K, 1.0f, A, lda, B, ldb, 0.5f, C2, ldc);
          for (int i = 0; i < z->M; i++)
            g_assert_cmpmem (C1 + (size_t) i * ldc, z->N * sizeof (float), C2 + (size_t) i * ldc,
                             z->N * sizeof (float));
          lq_floats_free (A);
          lq_floats_free (B);
          lq_floats_free (C1);
          lq_floats_free (C2);
        }
    }
  lq_gemm_set_threads (saved);
}

/* The oracle itself, on a product done by hand. */
static void
test_naive_by_hand (void)
{
  /* A = [1 2 3; 4 5 6], B = [7 8; 9 10; 11 12]: AB = [58 64; 139 154] */
  const float A[] = { 1, 2, 3, 4, 5, 6 }, B[] = { 7, 8, 9, 10, 11, 12 };
  const float At[] = { 1, 4, 2, 5, 3, 6 }, Bt[] = { 7, 9, 11, 8, 10, 12 };
  const float AB[] = { 58, 64, 139, 154 };
  for (int combo = 0; combo < 4; combo++)
    {
      gboolean ta = combo & 1, tb = combo >> 1;
      float C[4] = { 1, 2, 3, 4 };
      lq_gemm_naive (ta, tb, 2, 2, 3, 2.0f, ta ? At : A, ta ? 2 : 3, tb ? Bt : B, tb ? 3 : 2, -1.0f,
                     C, 2);
      const float want[] = { 2 * AB[0] - 1, 2 * AB[1] - 2, 2 * AB[2] - 3, 2 * AB[3] - 4 };
      g_assert_cmpmem (C, sizeof C, want, sizeof want);
      float D[4] = { 1, 2, 3, 4 };
      lq_gemm (ta, tb, 2, 2, 3, 2.0f, ta ? At : A, ta ? 2 : 3, tb ? Bt : B, tb ? 3 : 2, -1.0f, D, 2);
      g_assert_cmpmem (D, sizeof D, want, sizeof want); /* small integers: exact */
    }
}

/* Same inputs and thread count: the same bits. */
static void
test_deterministic (void)
{
  LqRng rng;
  lq_rng_seed (&rng, 7);
  const int M = 200, N = 150, K = 300;
  float *A = lq_floats_new (M * K), *B = lq_floats_new (K * N);
  float *C1 = lq_floats_new (M * N), *C2 = lq_floats_new (M * N);
  fill (&rng, A, M * K);
  fill (&rng, B, K * N);
  int saved = lq_gemm_get_threads ();
  lq_gemm_set_threads (1);
  g_assert_cmpint (lq_gemm_get_threads (), ==, 1);
  lq_gemm (FALSE, TRUE, M, N, K, 1.0f, A, K, B, K, 0.0f, C1, N);
  lq_gemm (FALSE, TRUE, M, N, K, 1.0f, A, K, B, K, 0.0f, C2, N);
  g_assert_cmpmem (C1, M * N * sizeof (float), C2, M * N * sizeof (float));
  lq_gemm_set_threads (saved);
  lq_floats_free (A);
  lq_floats_free (B);
  lq_floats_free (C1);
  lq_floats_free (C2);
}

/* M or N = 0: nothing is touched. */
static void
test_empty (void)
{
  float A[4] = { 1, 2, 3, 4 }, B[4] = { 1, 2, 3, 4 }, C[4] = { NAN, NAN, NAN, NAN };
  lq_gemm (FALSE, FALSE, 0, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2);
  lq_gemm (FALSE, FALSE, 2, 0, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2);
  for (int i = 0; i < 4; i++)
    g_assert_true (isnan (C[i]));
}

/* The flop counter: 2·M·N·K per call, whether the product is cut over threads or not. */
static void
test_flops_counted (void)
{
  const int saved = lq_gemm_get_threads ();
  const Size cases[] = { { 0, 5, 3 }, { 7, 5, 3 }, { 1, 9, 4 }, { 512, 512, 256 } };
  for (int t = 1; t <= 2; t++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        const int M = cases[i].M, N = cases[i].N, K = cases[i].K;
        lq_gemm_set_threads (t);
        float *A = lq_floats_new ((size_t) MAX (M * K, 1)), *B = lq_floats_new ((size_t) K * N);
        float *C = lq_floats_new ((size_t) MAX (M * N, 1));
        const guint64 before = lq_gemm_flops_done ();
        lq_gemm (FALSE, FALSE, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        g_assert_cmpuint (lq_gemm_flops_done () - before, ==, 2ull * M * N * K);
        lq_floats_free (A);
        lq_floats_free (B);
        lq_floats_free (C);
      }
  lq_gemm_set_threads (saved);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  lq_gemm_set_threads (2);
  static const char *names[] = { "NN", "TN", "NT", "TT" };
  for (int combo = 0; combo < 4; combo++)
    {
      char *path = g_strdup_printf ("/gemm/vs-naive/%s", names[combo]);
      g_test_add_data_func (path, GINT_TO_POINTER (combo), test_transposes);
      g_free (path);
    }
  g_test_add_func ("/gemm/naive-by-hand", test_naive_by_hand);
  g_test_add_func ("/gemm/cut", test_cut);
  g_test_add_func ("/gemm/deterministic", test_deterministic);
  g_test_add_func ("/gemm/empty", test_empty);
  g_test_add_func ("/gemm/flops-counted", test_flops_counted);
  return g_test_run ();
}

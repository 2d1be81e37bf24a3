/* lq-gemm.c: every matrix product of the core goes through lq_gemm. */
#include "lq-gemm.h"
#include "lq-parallel.h"
#include <cblas.h>
#include <string.h>

/* The engine's threads. OpenBLAS itself runs single-threaded: its idle workers spin (sched_yield)
 * for ~0.1 s after every threaded call, on the core the engine's own helper (lq-parallel.c) needs
 * for the work around the GEMMs (unfoldings, the halves of a batch); so the engine cuts large
 * products itself and runs each piece on one core. */
static int engine_threads;
static gsize threads_ready;
static guint64 flops_done; /* atomic: parts of one step add from both threads */

static void
threads_init (void)
{
  if (g_once_init_enter (&threads_ready))
    {
      g_atomic_int_set (&engine_threads, MAX (openblas_get_num_threads (), 1));
      openblas_set_num_threads (1);
      g_once_init_leave (&threads_ready, 1);
    }
}

/* A product with one row or one column of C is a matrix-vector product. sgemm packs (copies) the
 * whole matrix operand first: for a dense layer on one image (1 × 9216 by 9216 × 128) that copy
 * cost 12× the sgemv that streams the matrix once (0.86 vs 0.07 ms, one thread). */
static gboolean
gemm_as_gemv (gboolean trans_a, gboolean trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
  if (K <= 0 || (M != 1 && N != 1))
    return FALSE;
  if (beta == 0.0f) /* BLAS does not read C then: whatever it holds (NaN) must not leak in */
    {
      if (M == 1)
        memset (C, 0, (size_t) N * sizeof (float));
      else
        for (int i = 0; i < M; i++)
          C[(size_t) i * ldc] = 0.0f;
    }
  if (M == 1) /* c = op(B)ᵀ a, a the one row of op(A) */
    cblas_sgemv (CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, trans_b ? N : K,
                 trans_b ? K : N, alpha, B, ldb, A, trans_a ? lda : 1, beta, C, 1);
  else /* N == 1: c = op(A) b, b the one column of op(B), c a column of stride ldc */
    cblas_sgemv (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_a ? K : M,
                 trans_a ? M : K, alpha, A, lda, B, trans_b ? 1 : ldb, beta, C, ldc);
  return TRUE;
}

static void
gemm_serial (gboolean trans_a, gboolean trans_b, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
  if (M <= 0 || N <= 0)
    return;
  if (gemm_as_gemv (trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
    return;
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb,
               beta, C, ldc);
}

typedef struct {
  gboolean trans_a, trans_b, by_columns;
  int M, N, K, lda, ldb, ldc;
  float alpha, beta;
  const float *A, *B;
  float *C;
} GemmJob;

/* Part `part` of C: a run of columns (or rows) rounded to 16, whole vectors of the kernels. Each
 * element of C is the same inner product, in the same order, however C is cut. */
static void
gemm_part (int part, int parts, void *data)
{
  const GemmJob *j = data;
  const int n = j->by_columns ? j->N : j->M, units = (n + 15) / 16;
  int lo, hi;
  lq_parallel_range (units, part, parts, &lo, &hi);
  lo *= 16, hi = MIN (hi * 16, n);
  if (j->by_columns)
    gemm_serial (j->trans_a, j->trans_b, j->M, hi - lo, j->K, j->alpha, j->A, j->lda,
                 j->trans_b ? j->B + (size_t) lo * j->ldb : j->B + lo, j->ldb, j->beta, j->C + lo, j->ldc);
  else
    gemm_serial (j->trans_a, j->trans_b, hi - lo, j->N, j->K, j->alpha,
                 j->trans_a ? j->A + lo : j->A + (size_t) lo * j->lda, j->lda, j->B, j->ldb, j->beta,
                 j->C + (size_t) lo * j->ldc, j->ldc);
}

void
lq_gemm (gboolean trans_a, gboolean trans_b, int M, int N, int K,
         float alpha, const float *A, int lda, const float *B, int ldb,
         float beta, float *C, int ldc)
{
  threads_init ();
  const double flops = 2.0 * M * N * K;
  if (M > 0 && N > 0 && K > 0)
    lq_gemm_add_flops ((guint64) flops);
  const gboolean by_columns = N >= M;
  /* A small product is cut only while a helper is awake: waking one would cost more than the
   * cut saves (single-image DeepFool, whose few products come far apart, was slower with two
   * threads than with one). The bits do not depend on the cut, so neither on this choice. */
  const int parts = lq_parallel_parts_for ((MAX (M, N) + 15) / 16, flops, LQ_GEMM_SPLIT_MIN_FLOPS,
                                           LQ_GEMM_SPLIT_COLD_FLOPS);
  if (parts < 2)
    {
      gemm_serial (trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      return;
    }
  GemmJob j = { trans_a, trans_b, by_columns, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C };
  lq_parallel_run (parts, gemm_part, &j);
}

void
lq_gemm_naive (gboolean trans_a, gboolean trans_b, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc)
{
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++)
      {
        double acc = 0;
        for (int k = 0; k < K; k++)
          {
            double a = trans_a ? A[(size_t) k * lda + i] : A[(size_t) i * lda + k];
            double b = trans_b ? B[(size_t) j * ldb + k] : B[(size_t) k * ldb + j];
            acc += a * b;
          }
        float *c = &C[(size_t) i * ldc + j];
        *c = (float) (alpha * acc + (beta == 0.0f ? 0.0 : (double) beta * *c));
      }
}

void
lq_gemm_set_threads (int n)
{
  threads_init ();
  g_atomic_int_set (&engine_threads, MAX (n, 1));
}

int
lq_gemm_get_threads (void)
{
  threads_init ();
  return g_atomic_int_get (&engine_threads);
}

guint64
lq_gemm_flops_done (void)
{
  return __atomic_load_n (&flops_done, __ATOMIC_RELAXED);
}

void
lq_gemm_add_flops (guint64 flops)
{
  __atomic_fetch_add (&flops_done, flops, __ATOMIC_RELAXED);
}

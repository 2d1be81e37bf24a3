/* lq-gemm.c: every matrix product of the core goes through lq_gemm. */
#include "lq-gemm.h"
#include <cblas.h>
#include <string.h>

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

void
lq_gemm (gboolean trans_a, gboolean trans_b, int M, int N, int K,
         float alpha, const float *A, int lda, const float *B, int ldb,
         float beta, float *C, int ldc)
{
  if (M <= 0 || N <= 0)
    return;
  if (gemm_as_gemv (trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
    return;
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb,
               beta, C, ldc);
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
  openblas_set_num_threads (n);
}

int
lq_gemm_get_threads (void)
{
  return openblas_get_num_threads ();
}

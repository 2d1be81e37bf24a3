/* lq-gemm.c: every matrix product of the core goes through lq_gemm. */
#include "lq-gemm.h"
#include <cblas.h>

void
lq_gemm (gboolean trans_a, gboolean trans_b, int M, int N, int K,
         float alpha, const float *A, int lda, const float *B, int ldb,
         float beta, float *C, int ldc)
{
  if (M <= 0 || N <= 0)
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

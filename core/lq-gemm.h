/* lq-gemm.h: the one GEMM entry point (row-major, BLAS signature) and its naive oracle. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, all row-major. */
void lq_gemm (gboolean trans_a, gboolean trans_b, int M, int N, int K,
              float alpha, const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc);

/* The same contract computed with three loops in double precision: the test oracle. */
void lq_gemm_naive (gboolean trans_a, gboolean trans_b, int M, int N, int K,
                    float alpha, const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc);

/* Number of threads the engine may use (default: OpenBLAS's count at start, the cores). lq_gemm
 * cuts a product over them (lq-parallel.h) when it has at least LQ_GEMM_SPLIT_COLD_FLOPS, or at
 * least LQ_GEMM_SPLIT_MIN_FLOPS while a helper is awake; OpenBLAS itself is kept at one thread.
 * Callers running in a worker decide this deliberately. */
#define LQ_GEMM_SPLIT_MIN_FLOPS 4.0e6
#define LQ_GEMM_SPLIT_COLD_FLOPS 64.0e6
void lq_gemm_set_threads (int n);
int  lq_gemm_get_threads (void);

/* Floating-point operations (2 per multiply-add) of the products the engine has run, summed over
 * its threads since the process started: every lq_gemm call, and the thin convolution kernels
 * (lq-thin-pass.h), which add theirs with lq_gemm_add_flops. The sparse input-gradient route of
 * ReLU networks (lq-sparse-adjoint.h) skips zeros and is not counted. lq bench divides a training
 * step's count by its time. */
guint64 lq_gemm_flops_done (void);
void    lq_gemm_add_flops (guint64 flops);

G_END_DECLS

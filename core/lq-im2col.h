/* lq-im2col.h: unfolding image patches into GEMM columns and folding them back. */
#pragma once
#include <stddef.h>

typedef struct {
  int C, H, W;    /* image side: channels and size */
  int kh, kw, stride;
  int pt, pl;     /* padding top and left (bottom/right follow from OH, OW) */
  int OH, OW;     /* patch grid */
} LqConvGeom;

/* col[(c·kh + i)·kw + j][s·OH·OW + oy·OW + ox] = x[s][c][oy·stride − pt + i][ox·stride − pl + j]
 * (0 outside), for the n samples of x (NCHW). col has C·kh·kw rows of n·OH·OW. */
void lq_im2col (const LqConvGeom *g, const float *x, int n, float *col);
/* The adjoint: adds each column entry back into x (which the caller zeroed or wants accumulated). */
void lq_col2im (const LqConvGeom *g, const float *col, int n, float *x);

/* [n][ch][hw] <-> [ch][n·hw]: the channel-major layout GEMM produces and consumes. */
void lq_nchw_to_cnhw (float *dst, const float *src, int n, int ch, int hw);
void lq_cnhw_to_nchw (float *dst, const float *src, int n, int ch, int hw);
/* The same, adding bias[c] to channel c on the way (bias may be NULL): the bias of a convolution
 * costs no pass of its own. */
void lq_cnhw_to_nchw_bias (float *dst, const float *src, int n, int ch, int hw, const float *bias);

/* Σ p[i], for bias gradients: float partial sums in 4 × 8 lanes over blocks of 4096, the blocks
 * added in double. It vectorises (a single double accumulator does not: without -ffast-math the
 * compiler keeps the sequential order), and the order is fixed, so the result is deterministic. */
double lq_sum_f32 (const float *p, size_t n);

/* How many samples to unfold at a time: the column buffer is kept near 4 MiB with one OpenBLAS
 * thread and 16 MiB with more (see the .c for the measurements behind the figures). */
int lq_im2col_chunk (size_t rows, size_t cols_per_sample, int batch);

/* Thin products, for layers whose column matrix has at most LQ_THIN_MAX_ROWS rows (a first
 * convolution on one channel, a last transposed convolution to one channel). They work straight
 * between a column matrix col [K][n·hw] (as lq_im2col lays it out) and an NCHW tensor y [n][M][hw],
 * so no permute copies are needed, and they are vectorised by hand (AVX2/FMA when the CPU has
 * it, chosen at load time) where a GEMM would pack and multiply 9-deep inner products.
 * A and G are row-major [M][≥K] with leading dimension lda/ldg.
 *   expand: y[s][m][p] = bias[m] + Σ_k A[m][k] col[k][s·hw + p]     (bias may be NULL)
 *   reduce: col[k][s·hw + p] = Σ_m A[m][k] y[s][m][p]
 *   outer:  G[m][k] += Σ_s Σ_p y[s][m][p] col[k][s·hw + p], and gb[m] += Σ_s Σ_p y[s][m][p]
 *           when gb is not NULL (a convolution's bias gradient, summed while y is in cache) */
#define LQ_THIN_MAX_ROWS 16
void lq_thin_expand (int n, int M, int K, int hw, const float *A, int lda, const float *col,
                     const float *bias, float *y);
void lq_thin_reduce (int n, int M, int K, int hw, const float *A, int lda, const float *y, float *col);
void lq_thin_outer (int n, int M, int K, int hw, const float *y, const float *col, float *G, int ldg,
                    float *gb);

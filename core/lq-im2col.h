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

/* How many samples to unfold at a time so the column buffer stays near a cache-friendly size. */
int lq_im2col_chunk (size_t rows, size_t cols_per_sample, int batch);

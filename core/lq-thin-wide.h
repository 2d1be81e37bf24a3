/* lq-thin-wide.h: the thin reduce (lq-im2col.h) for 3×3 kernels with 16-float AVX-512 vectors, on
 * CPUs that have them. The same sums in the same order as the AVX2 kernel, so the same bits. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* col[k][s·hw + p] = Σ_m A[m][k] y[s][m][p] for K = 9 rows; FALSE (and nothing done) when the
 * CPU lacks AVX-512 or the wide kernels are switched off. */
gboolean lq_thin_wide_reduce9 (int n, int M, int hw, const float *A, int lda, const float *y,
                               float *col);

/* Whether this CPU runs them (AVX-512F, AVX-512VL and FMA), and whether they run: available and
 * not switched off. The outer kernel (lq-im2col.c) also has an AVX-512VL build, which sums a
 * convolution's bias gradient with its weight gradient in one pass; it follows the same switch. */
gboolean lq_thin_wide_available (void);
gboolean lq_thin_wide_enabled (void);

/* On by default; the tests switch it off to compare with the AVX2 kernels. */
void lq_thin_wide_set_enabled (gboolean enabled);

G_END_DECLS

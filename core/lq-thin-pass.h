/* lq-thin-pass.h: whole layer passes built from the thin kernels of lq-im2col.h (a convolution
 * whose column matrix has at most LQ_THIN_MAX_ROWS rows: one input channel, or a transposed
 * convolution to one output channel), sample by sample. The layers cut their batch over the
 * engine's threads around these calls (lq-batch-split.h).
 *
 * g describes the convolution whose columns are unfolded: K = g->C·kh·kw rows, hw = OH·OW columns
 * per sample, images of g->C × H × W. The "map" side has M channels of hw values per sample, and
 * A is the row-major [M][K] weight. col is work space of K·hw floats (one sample's columns). */
#pragma once
#include "lq-im2col.h"

/* map[s] = bias + A · unfold(img[s])          (a convolution's forward; bias may be NULL) */
void lq_thin_unfold_expand (const LqConvGeom *g, int n, const float *img, int M, const float *A,
                            const float *bias, float *map, float *col);

/* img[s] = base + fold(Aᵀ · map[s])           (a convolution's backward to its input). img is
 * overwritten: base[c] fills channel c first, or zero when base is NULL. */
void lq_thin_reduce_fold (const LqConvGeom *g, int n, const float *map, int M, const float *A,
                          const float *base, float *img, float *col);

/* G[m][k] += Σ_s (map[s] · unfold(img[s])ᵀ)[m][k], and gb[m] += Σ_s Σ_p map[s][m][p] when gb is
 * not NULL (the weight and bias gradients), sample by sample. When A is not NULL, also
 * expanded[s] = A · unfold(img[s]) from the same
 * columns (a transposed convolution's input gradient unfolds the tensor its weight gradient
 * does). */
void lq_thin_unfold_outer (const LqConvGeom *g, int n, const float *img, int M, const float *map,
                           float *G, float *gb, const float *A, float *expanded, float *col);

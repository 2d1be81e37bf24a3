/* lq-sparse-adjoint.h: backward to the input of a layer whose output gradient is mostly zero.
 *
 * Behind a ReLU, the gradient reaching a layer's output is zero wherever the unit was off: on the
 * shipped MNIST classifier A, 90 % of conv2's outputs and 71 % of fc1's are off for a test image.
 * A dense GEMM multiplies all those zeros; these kernels visit only the nonzeros, each adding one
 * row of the weight (one unit's whole fan-in, contiguous in the PyTorch layout) to the result.
 *
 * Rows that share where their nonzeros are (the nine class gradients DeepFool takes of one image
 * all pass the same ReLU masks) are summed as a group: each weight row is loaded once for the
 * whole group. A row's result does not depend on the group it is in, except that a row may add
 * exact zeros (0·w) where another row of its group is nonzero. */
#pragma once
#include <glib.h>
#include "lq-im2col.h"

/* Below this fraction of nonzeros in a sample's output gradient the sparse kernels are used. */
#define LQ_SPARSE_MAX_DENSITY 0.25
/* At most this many rows in a group. */
#define LQ_SPARSE_MAX_GROUP 16

/* Number of nonzero entries of p[0 … n). */
size_t lq_count_nonzero (const float *p, size_t n);
/* lq_count_nonzero (p, n) ≤ limit, stopping as soon as the count passes limit. */
gboolean lq_nonzero_at_most (const float *p, size_t n, size_t limit);

/* W [M][C][kh][kw] (a Conv2d weight) → Wt [M][kh][kw][C]: each weight row in the channel-last
 * order the sparse kernel adds it in. Depends on W alone: callers keep Wt while W is unchanged. */
void lq_conv_weights_channel_last (const LqConvGeom *g, int M, const float *W, float *Wt);

/* A convolution's backward to its input for n rows (samples): img [n][C][H·W] = Wᵀ ⋆ map,
 * map [n][M][OH·OW], with the weight given channel-last (Wt above). Only the rows with which[s]
 * are written (overwritten); consecutive such rows whose nonzeros fall on the same places are
 * grouped. The groups are split over the engine's threads (lq-parallel.h). */
void lq_conv_adjoint_sparse (const LqConvGeom *g, int n, const float *map, int M, const float *Wt,
                             const gboolean *which, float *img);

/* A dense layer's backward to its input when it pays: dx [n][K] = dy [n][M] · W [M][K], by the
 * rows of W that some row of dy selects, all n rows as groups. FALSE, with nothing done, when
 * those are half of W's rows or more (then a GEMM reads less). */
gboolean lq_dense_adjoint_sparse (int n, int M, int K, const float *dy, const float *W, float *dx);

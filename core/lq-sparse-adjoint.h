/* lq-sparse-adjoint.h: backward to the input of a layer whose output gradient is mostly zero.
 *
 * Behind a ReLU, the gradient reaching a layer's output is zero wherever the unit was off: on the
 * shipped MNIST classifier A, 90 % of conv2's outputs and 71 % of fc1's are off for a test image.
 * A dense GEMM multiplies all those zeros; these kernels visit only the nonzeros, each adding one
 * row of the weight (one unit's whole fan-in, contiguous in the PyTorch layout) to the result.
 * Attacks backpropagate through such nets on one image at a time (DeepFool's nine class
 * gradients in the explorer), where a GEMM also has too few columns to run at full speed. */
#pragma once
#include <glib.h>
#include "lq-im2col.h"

/* Below this fraction of nonzeros in a sample's output gradient the sparse kernels are used. */
#define LQ_SPARSE_MAX_DENSITY 0.25

/* Number of nonzero entries of p[0 … n). */
size_t lq_count_nonzero (const float *p, size_t n);

/* One sample of a convolution's backward to its input: img [C][H·W] = Wᵀ ⋆ map, map [M][OH·OW],
 * W row-major [M][C·kh·kw]. img is overwritten; patch is work space of C·kh·kw floats. */
void lq_conv_adjoint_sparse (const LqConvGeom *g, const float *map, int M, const float *W,
                             float *img, float *patch);

/* The same for the samples s < n with which[s], split over the engine's threads (lq-parallel.h);
 * each sample is computed alone, so the result does not depend on the thread count. map, img:
 * n samples; patches: LQ_PARALLEL_MAX · C·kh·kw floats. */
void lq_conv_adjoint_sparse_batch (const LqConvGeom *g, int n, const float *map, int M,
                                   const float *W, const gboolean *which, float *img,
                                   float *patches);

/* One sample of a dense layer's backward to its input: dx [K] = Wᵀ dy, dy [M], W row-major [M][K]. */
void lq_dense_adjoint_sparse (int M, int K, const float *dy, const float *W, float *dx);

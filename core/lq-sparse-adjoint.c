/* lq-sparse-adjoint.c: input gradients from the nonzeros of the output gradient (see the header).
 *
 * Convolution: for each output position, the weight rows W[o] (C·kh·kw long) of its nonzero
 * channels are summed, scaled, into one patch, and the patch is added once into the image window
 * of that position. Positions where every channel is zero cost one pass over their column. The
 * long axpys are compiled for x86-64-v3 (AVX2 + FMA) besides the baseline and picked at load
 * time, like the kernels of lq-im2col.c; the summation order is fixed (channels in order, then
 * the patch into the image), so the result is deterministic on a given CPU. */
#include "lq-sparse-adjoint.h"
#include "lq-parallel.h"
#include "lq-short-rows.h"
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define LQ_MULTIVERSION __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef LQ_MULTIVERSION
#define LQ_MULTIVERSION
#endif

size_t
lq_count_nonzero (const float *p, size_t n)
{
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    count += p[i] != 0.0f;
  return count;
}

/* y = a·x (first) or y += a·x. */
LQ_MULTIVERSION static void
axpy (float *restrict y, float a, const float *restrict x, size_t n, gboolean first)
{
  if (first)
    for (size_t i = 0; i < n; i++)
      y[i] = a * x[i];
  else
    for (size_t i = 0; i < n; i++)
      y[i] += a * x[i];
}

void
lq_conv_adjoint_sparse (const LqConvGeom *g, const float *map, int M, const float *W, float *img,
                        float *patch)
{
  const size_t K = (size_t) g->C * g->kh * g->kw, ohw = (size_t) g->OH * g->OW;
  memset (img, 0, (size_t) g->C * g->H * g->W * sizeof (float));
  for (int oy = 0; oy < g->OH; oy++)
    for (int ox = 0; ox < g->OW; ox++)
      {
        const size_t q = (size_t) oy * g->OW + ox;
        gboolean empty = TRUE;
        for (int o = 0; o < M; o++)
          {
            const float v = map[o * ohw + q];
            if (v != 0.0f)
              axpy (patch, v, W + o * K, K, empty), empty = FALSE;
          }
        if (empty)
          continue;
        /* the patch's window: rows y0 + i, columns x0 + j, clipped to the image */
        const int y0 = oy * g->stride - g->pt, x0 = ox * g->stride - g->pl;
        const int j0 = MAX (0, -x0), j1 = MIN (g->kw, g->W - x0);
        const int i0 = MAX (0, -y0), i1 = MIN (g->kh, g->H - y0);
        for (int c = 0; c < g->C; c++)
          for (int i = i0; i < i1; i++)
            {
              float *row = img + ((size_t) c * g->H + y0 + i) * g->W + x0;
              add_short (row + j0, patch + ((size_t) c * g->kh + i) * g->kw + j0, j1 - j0);
            }
      }
}

typedef struct {
  const LqConvGeom *g;
  int n, M;
  const float *map, *W;
  float *img, *patches;
  const gboolean *which;
} BatchTask;

static void
batch_part (int part, int parts, void *data)
{
  const BatchTask *t = data;
  const size_t K = (size_t) t->g->C * t->g->kh * t->g->kw;
  const size_t in = (size_t) t->g->C * t->g->H * t->g->W, out = (size_t) t->M * t->g->OH * t->g->OW;
  int lo, hi;
  lq_parallel_range (t->n, part, parts, &lo, &hi);
  for (int s = lo; s < hi; s++)
    if (t->which[s])
      lq_conv_adjoint_sparse (t->g, t->map + s * out, t->M, t->W, t->img + s * in,
                              t->patches + part * K);
}

void
lq_conv_adjoint_sparse_batch (const LqConvGeom *g, int n, const float *map, int M, const float *W,
                              const gboolean *which, float *img, float *patches)
{
  BatchTask t = { g, n, M, map, W, img, patches, which };
  lq_parallel_run (lq_parallel_parts (n), batch_part, &t);
}

void
lq_dense_adjoint_sparse (int M, int K, const float *dy, const float *W, float *dx)
{
  gboolean empty = TRUE;
  for (int m = 0; m < M; m++)
    if (dy[m] != 0.0f)
      axpy (dx, dy[m], W + (size_t) m * K, (size_t) K, empty), empty = FALSE;
  if (empty)
    memset (dx, 0, (size_t) K * sizeof (float));
}

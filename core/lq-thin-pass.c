/* lq-thin-pass.c: thin layer passes (see lq-thin-pass.h), one sample at a time: a sample's
 * columns (K·hw floats, 28 KiB for a 3×3 kernel on 28×28) stay in the L1/L2 cache while its M
 * map planes stream past. A whole batch's columns (~0.9 MiB at 32 samples) were evicted by them:
 * conv1's forward at batch 64 is 7–9 % faster this way (in-process A/B, 31 alternations). */
#include "lq-thin-pass.h"
#include "lq-gemm.h"
#include <string.h>

static int
rows (const LqConvGeom *g)
{
  return g->C * g->kh * g->kw;
}

/* 2 flops per multiply-add of n samples' products: M maps by K rows by hw columns. */
static void
count_flops (const LqConvGeom *g, int n, int M)
{
  lq_gemm_add_flops (2ull * (guint64) n * (guint64) M * (guint64) rows (g) * (guint64) (g->OH * g->OW));
}

static size_t
img_size (const LqConvGeom *g)
{
  return (size_t) g->C * g->H * g->W;
}

void
lq_thin_unfold_expand (const LqConvGeom *g, int n, const float *img, int M, const float *A,
                       const float *bias, float *map, float *col)
{
  count_flops (g, n, M);
  const int K = rows (g), hw = g->OH * g->OW;
  for (int s = 0; s < n; s++)
    {
      lq_im2col (g, img + s * img_size (g), 1, col);
      lq_thin_expand (1, M, K, hw, A, K, col, bias, map + (size_t) s * M * hw);
    }
}

void
lq_thin_reduce_fold (const LqConvGeom *g, int n, const float *map, int M, const float *A,
                     const float *base, float *img, float *col)
{
  count_flops (g, n, M);
  const int K = rows (g), hw = g->OH * g->OW;
  const size_t plane = (size_t) g->H * g->W;
  for (int s = 0; s < n; s++)
    {
      float *is = img + s * img_size (g);
      lq_thin_reduce (1, M, K, hw, A, K, map + (size_t) s * M * hw, col);
      if (base == NULL) /* col2im adds: start from zero (or the base) */
        memset (is, 0, img_size (g) * sizeof (float));
      else
        for (int c = 0; c < g->C; c++)
          for (size_t q = 0; q < plane; q++)
            is[c * plane + q] = base[c];
      lq_col2im (g, col, 1, is);
    }
}

void
lq_thin_unfold_outer (const LqConvGeom *g, int n, const float *img, int M, const float *map,
                      float *G, float *gb, const float *A, float *expanded, float *col)
{
  count_flops (g, A ? 2 * n : n, M); /* with A, each sample is expanded as well */
  const int K = rows (g), hw = g->OH * g->OW;
  for (int s = 0; s < n; s++)
    {
      lq_im2col (g, img + s * img_size (g), 1, col);
      lq_thin_outer (1, M, K, hw, map + (size_t) s * M * hw, col, G, K, gb);
      if (A)
        lq_thin_expand (1, M, K, hw, A, K, col, NULL, expanded + (size_t) s * M * hw);
    }
}

/* lq-im2col.c: patch unfolding for convolutions as GEMM. */
#include "lq-im2col.h"
#include <string.h>

void
lq_im2col (const LqConvGeom *g, const float *x, int n, float *col)
{
  const size_t ohw = (size_t) g->OH * g->OW, ncols = (size_t) n * ohw;
  for (int c = 0; c < g->C; c++)
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++)
        {
          float *row = col + ((size_t) (c * g->kh + i) * g->kw + j) * ncols;
          for (int s = 0; s < n; s++)
            {
              const float *img = x + ((size_t) s * g->C + c) * g->H * g->W;
              float *dst = row + s * ohw;
              for (int oy = 0; oy < g->OH; oy++)
                {
                  int iy = oy * g->stride - g->pt + i;
                  float *d = dst + (size_t) oy * g->OW;
                  if (iy < 0 || iy >= g->H)
                    {
                      memset (d, 0, g->OW * sizeof (float));
                      continue;
                    }
                  const float *srow = img + (size_t) iy * g->W;
                  int ix = -g->pl + j;
                  if (g->stride == 1 && ix >= 0 && ix + g->OW <= g->W)
                    {
                      memcpy (d, srow + ix, g->OW * sizeof (float));
                      continue;
                    }
                  for (int ox = 0; ox < g->OW; ox++, ix += g->stride)
                    d[ox] = (ix >= 0 && ix < g->W) ? srow[ix] : 0.0f;
                }
            }
        }
}

void
lq_col2im (const LqConvGeom *g, const float *col, int n, float *x)
{
  const size_t ohw = (size_t) g->OH * g->OW, ncols = (size_t) n * ohw;
  for (int c = 0; c < g->C; c++)
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++)
        {
          const float *row = col + ((size_t) (c * g->kh + i) * g->kw + j) * ncols;
          for (int s = 0; s < n; s++)
            {
              float *img = x + ((size_t) s * g->C + c) * g->H * g->W;
              const float *src = row + s * ohw;
              for (int oy = 0; oy < g->OH; oy++)
                {
                  int iy = oy * g->stride - g->pt + i;
                  if (iy < 0 || iy >= g->H)
                    continue;
                  float *drow = img + (size_t) iy * g->W;
                  const float *sr = src + (size_t) oy * g->OW;
                  int ix = -g->pl + j;
                  for (int ox = 0; ox < g->OW; ox++, ix += g->stride)
                    if (ix >= 0 && ix < g->W)
                      drow[ix] += sr[ox];
                }
            }
        }
}

void
lq_nchw_to_cnhw (float *dst, const float *src, int n, int ch, int hw)
{
  for (int s = 0; s < n; s++)
    for (int c = 0; c < ch; c++)
      memcpy (dst + ((size_t) c * n + s) * hw, src + ((size_t) s * ch + c) * hw, hw * sizeof (float));
}

void
lq_cnhw_to_nchw (float *dst, const float *src, int n, int ch, int hw)
{
  for (int s = 0; s < n; s++)
    for (int c = 0; c < ch; c++)
      memcpy (dst + ((size_t) s * ch + c) * hw, src + ((size_t) c * n + s) * hw, hw * sizeof (float));
}

int
lq_im2col_chunk (size_t rows, size_t cols_per_sample, int batch)
{
  const size_t budget = (size_t) 16 << 20; /* floats: 16 MiB of columns */
  size_t per = rows * cols_per_sample;
  int chunk = per ? (int) (budget / per) : batch;
  if (chunk < 1)
    chunk = 1;
  return chunk < batch ? chunk : batch;
}

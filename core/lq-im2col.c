/* lq-im2col.c: patch unfolding for convolutions as GEMM, and the small kernels around it.
 *
 * im2col/col2im: the column matrix is written (read) row by row — one row per kernel tap (c, i, j),
 * n·OH·OW long — so the stores (loads) stream sequentially; the valid output range of each tap is
 * computed once, so the inner loops are plain copies or adds without bounds tests (contiguous for
 * stride 1, strided for stride 2, both vectorised by the compiler) and the zero padding is filled
 * by separate short loops. col2im adds the taps of an element in (i, j) order as the naive loop
 * does, so its sums are bit-identical to it. (Measured at batch 64 on the LQ-VAE shapes: 1.5–2×
 * faster than the per-element bounds-tested loop, which also missed the memcpy path on padded rows.)
 */
#include "lq-im2col.h"
#include <string.h>

/* Rows of patch columns shorter than this take scalar loops (see below). */
#define LQ_SMALL_ROW 10

/* Output indices o with 0 ≤ o·stride − pad + tap < size, as [*lo, *hi). */
static void
valid_range (int out, int stride, int pad, int tap, int size, int *lo, int *hi)
{
  int a = pad - tap; /* need o·stride ≥ a */
  int l = a <= 0 ? 0 : (a + stride - 1) / stride;
  int b = size - 1 + pad - tap; /* need o·stride ≤ b */
  int h = b < 0 ? 0 : b / stride + 1;
  *lo = l < out ? l : out;
  *hi = h < out ? (h > *lo ? h : *lo) : out;
}

static inline void
copy_row (float *restrict d, const float *restrict s, int n, int stride)
{
  if (stride == 1)
    for (int k = 0; k < n; k++)
      d[k] = s[k];
  else if (stride == 2)
    for (int k = 0; k < n; k++)
      d[k] = s[2 * k];
  else
    for (int k = 0; k < n; k++)
      d[k] = s[(size_t) k * stride];
}

static inline void
add_row (float *restrict d, const float *restrict s, int n, int stride)
{
  if (stride == 1)
    for (int k = 0; k < n; k++)
      d[k] += s[k];
  else if (stride == 2)
    for (int k = 0; k < n; k++)
      d[2 * k] += s[k];
  else
    for (int k = 0; k < n; k++)
      d[(size_t) k * stride] += s[k];
}

void
lq_im2col (const LqConvGeom *g, const float *x, int n, float *col)
{
  const int OH = g->OH, OW = g->OW, st = g->stride;
  const size_t ohw = (size_t) OH * OW, ncols = (size_t) n * ohw, plane = (size_t) g->H * g->W;
  for (int c = 0; c < g->C; c++)
    for (int i = 0; i < g->kh; i++)
      {
        int ylo, yhi;
        valid_range (OH, st, g->pt, i, g->H, &ylo, &yhi);
        for (int j = 0; j < g->kw; j++)
          {
            int xlo, xhi;
            valid_range (OW, st, g->pl, j, g->W, &xlo, &xhi);
            float *row = col + ((size_t) (c * g->kh + i) * g->kw + j) * ncols;
            for (int s = 0; s < n; s++)
              {
                const float *img = x + ((size_t) s * g->C + c) * plane;
                float *dst = row + s * ohw;
                if (OW < LQ_SMALL_ROW && st == 1)
                  {
                    /* short rows (7 wide in the LQ-VAE): one pass with predictable tests beats
                     * the libc calls the compiler makes of the zero fills and copies below
                     * (measured 20–25 % faster on the 7×7 layers) */
                    for (int oy = 0; oy < OH; oy++)
                      {
                        float *d = dst + (size_t) oy * OW;
                        if (oy < ylo || oy >= yhi)
                          {
                            for (int ox = 0; ox < OW; ox++)
                              d[ox] = 0.0f;
                            continue;
                          }
                        const float *srow = img + (size_t) (oy - g->pt + i) * g->W;
                        const int off = j - g->pl;
                        if (xlo == 0 && xhi == OW)
                          memcpy (d, srow + off, OW * sizeof (float));
                        else
                          for (int ox = 0; ox < OW; ox++)
                            d[ox] = (ox >= xlo && ox < xhi) ? srow[ox + off] : 0.0f;
                      }
                    continue;
                  }
                memset (dst, 0, (size_t) ylo * OW * sizeof (float));
                for (int oy = ylo; oy < yhi; oy++)
                  {
                    float *d = dst + (size_t) oy * OW;
                    const float *srow = img + (size_t) (oy * st - g->pt + i) * g->W;
                    for (int ox = 0; ox < xlo; ox++)
                      d[ox] = 0.0f;
                    copy_row (d + xlo, srow + (xlo * st - g->pl + j), xhi - xlo, st);
                    for (int ox = xhi; ox < OW; ox++)
                      d[ox] = 0.0f;
                  }
                memset (dst + (size_t) yhi * OW, 0, (size_t) (OH - yhi) * OW * sizeof (float));
              }
          }
      }
}

void
lq_col2im (const LqConvGeom *g, const float *col, int n, float *x)
{
  const int OH = g->OH, OW = g->OW, st = g->stride;
  const size_t ohw = (size_t) OH * OW, ncols = (size_t) n * ohw, plane = (size_t) g->H * g->W;
  for (int c = 0; c < g->C; c++)
    for (int i = 0; i < g->kh; i++)
      {
        int ylo, yhi;
        valid_range (OH, st, g->pt, i, g->H, &ylo, &yhi);
        for (int j = 0; j < g->kw; j++)
          {
            int xlo, xhi;
            valid_range (OW, st, g->pl, j, g->W, &xlo, &xhi);
            const float *row = col + ((size_t) (c * g->kh + i) * g->kw + j) * ncols;
            for (int s = 0; s < n; s++)
              {
                float *img = x + ((size_t) s * g->C + c) * plane;
                const float *src = row + s * ohw;
                if (OW < LQ_SMALL_ROW) /* short rows: a plain loop, no vectoriser set-up */
                  for (int oy = ylo; oy < yhi; oy++)
                    {
                      float *drow = img + (size_t) (oy * st - g->pt + i) * g->W + (xlo * st - g->pl + j);
                      const float *sr = src + (size_t) oy * OW + xlo;
                      for (int k = 0; k < xhi - xlo; k++)
                        drow[k * st] += sr[k];
                    }
                else
                  for (int oy = ylo; oy < yhi; oy++)
                    add_row (img + (size_t) (oy * st - g->pt + i) * g->W + (xlo * st - g->pl + j),
                             src + (size_t) oy * OW + xlo, xhi - xlo, st);
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
  lq_cnhw_to_nchw_bias (dst, src, n, ch, hw, NULL);
}

void
lq_cnhw_to_nchw_bias (float *dst, const float *src, int n, int ch, int hw, const float *bias)
{
  for (int s = 0; s < n; s++)
    for (int c = 0; c < ch; c++)
      {
        float *restrict d = dst + ((size_t) s * ch + c) * hw;
        const float *restrict p = src + ((size_t) c * n + s) * hw;
        if (bias == NULL)
          memcpy (d, p, hw * sizeof (float));
        else
          for (int q = 0; q < hw; q++)
            d[q] = p[q] + bias[c];
      }
}

typedef float lq_v4sf __attribute__ ((vector_size (16)));

double
lq_sum_f32 (const float *p, size_t n)
{
  double total = 0.0;
  size_t i = 0;
  while (i < n)
    {
      const size_t end = n - i > 4096 ? i + 4096 : n;
      lq_v4sf a0 = { 0 }, a1 = { 0 };
      float tail = 0.0f;
      for (; i + 8 <= end; i += 8)
        {
          lq_v4sf x0, x1;
          memcpy (&x0, p + i, sizeof x0);
          memcpy (&x1, p + i + 4, sizeof x1);
          a0 += x0;
          a1 += x1;
        }
      for (; i < end; i++)
        tail += p[i];
      a0 += a1;
      total += (double) ((a0[0] + a0[2]) + (a0[1] + a0[3])) + (double) tail;
    }
  return total;
}

/* ---- thin products: column matrices with few rows, straight to and from NCHW ----
 *
 * For conv1 of the LQ-VAE encoder (1 → 64 channels, 3×3: K = 9 rows) and the last deconvolution
 * of its decoders (64 → 1), the GEMM path multiplies 9-deep inner products (OpenBLAS reaches
 * ~40 % of its 1024³ rate there) and permutes a 12.8 MB tensor between NCHW and [C][N·HW] on the
 * way. These kernels read and write NCHW directly, keep a 4×16 (expand) or 8×8 (reduce, outer)
 * block of results in registers, and are compiled twice: for x86-64-v3 (AVX2 + FMA), picked at
 * load time on CPUs that have it, and for the baseline. Each is deterministic (fixed summation
 * order for a given CPU). */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define LQ_MULTIVERSION __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef LQ_MULTIVERSION
#define LQ_MULTIVERSION
#endif

/* Eight floats as one value (GCC/Clang vector extension): one AVX register in the x86-64-v3
 * clone, two SSE registers in the default one. Loads and stores go through an unaligned,
 * may_alias twin of the type; macros rather than functions keep 32-byte vectors out of function
 * signatures (whose ABI depends on the target). */
typedef float lq_v8sf __attribute__ ((vector_size (32)));
typedef float lq_v8sf_u __attribute__ ((vector_size (32), aligned (4), may_alias));
#define V8_LOAD(p) (*(const lq_v8sf_u *) (p))
#define V8_STORE(p, v) (*(lq_v8sf_u *) (p) = (v))
#define V8_SET1(a) ((lq_v8sf){ (a), (a), (a), (a), (a), (a), (a), (a) })
#define V8_HSUM(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))

LQ_MULTIVERSION void
lq_thin_expand (int n, int M, int K, int hw, const float *A, int lda, const float *col,
                const float *bias, float *y)
{
  const size_t ldcol = (size_t) n * hw;
  for (int s = 0; s < n; s++)
    {
      const float *cs = col + (size_t) s * hw;
      float *ys = y + (size_t) s * M * hw;
      int m = 0;
      for (; m + 4 <= M; m += 4)
        {
          const float *a0 = A + (size_t) m * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
          float *y0 = ys + (size_t) m * hw, *y1 = y0 + hw, *y2 = y1 + hw, *y3 = y2 + hw;
          const float b0 = bias ? bias[m] : 0.0f, b1 = bias ? bias[m + 1] : 0.0f;
          const float b2 = bias ? bias[m + 2] : 0.0f, b3 = bias ? bias[m + 3] : 0.0f;
          int p = 0;
          for (; p + 16 <= hw; p += 16)
            {
              lq_v8sf c00 = V8_SET1 (b0), c01 = c00, c10 = V8_SET1 (b1), c11 = c10;
              lq_v8sf c20 = V8_SET1 (b2), c21 = c20, c30 = V8_SET1 (b3), c31 = c30;
              for (int k = 0; k < K; k++)
                {
                  const float *ck = cs + k * ldcol + p;
                  lq_v8sf v0 = V8_LOAD (ck), v1 = V8_LOAD (ck + 8);
                  lq_v8sf w0 = V8_SET1 (a0[k]), w1 = V8_SET1 (a1[k]);
                  lq_v8sf w2 = V8_SET1 (a2[k]), w3 = V8_SET1 (a3[k]);
                  c00 += w0 * v0, c01 += w0 * v1, c10 += w1 * v0, c11 += w1 * v1;
                  c20 += w2 * v0, c21 += w2 * v1, c30 += w3 * v0, c31 += w3 * v1;
                }
              V8_STORE (y0 + p, c00), V8_STORE (y0 + p + 8, c01);
              V8_STORE (y1 + p, c10), V8_STORE (y1 + p + 8, c11);
              V8_STORE (y2 + p, c20), V8_STORE (y2 + p + 8, c21);
              V8_STORE (y3 + p, c30), V8_STORE (y3 + p + 8, c31);
            }
          for (; p < hw; p++)
            {
              float c0 = b0, c1 = b1, c2 = b2, c3 = b3;
              for (int k = 0; k < K; k++)
                {
                  float v = cs[k * ldcol + p];
                  c0 += a0[k] * v, c1 += a1[k] * v, c2 += a2[k] * v, c3 += a3[k] * v;
                }
              y0[p] = c0, y1[p] = c1, y2[p] = c2, y3[p] = c3;
            }
        }
      for (; m < M; m++)
        for (int p = 0; p < hw; p++)
          {
            float c = bias ? bias[m] : 0.0f;
            for (int k = 0; k < K; k++)
              c += A[(size_t) m * lda + k] * cs[k * ldcol + p];
            ys[(size_t) m * hw + p] = c;
          }
    }
}

LQ_MULTIVERSION void
lq_thin_reduce (int n, int M, int K, int hw, const float *A, int lda, const float *y, float *col)
{
  const size_t ldcol = (size_t) n * hw;
  for (int s = 0; s < n; s++)
    {
      const float *ys = y + (size_t) s * M * hw;
      float *cs = col + (size_t) s * hw;
      int k0 = 0;
      for (; k0 + 8 <= K; k0 += 8)
        {
          int p = 0;
          for (; p + 8 <= hw; p += 8)
            {
              lq_v8sf c0 = { 0 }, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
              for (int m = 0; m < M; m++)
                {
                  const float *am = A + (size_t) m * lda + k0;
                  lq_v8sf v = V8_LOAD (ys + (size_t) m * hw + p);
                  c0 += V8_SET1 (am[0]) * v, c1 += V8_SET1 (am[1]) * v;
                  c2 += V8_SET1 (am[2]) * v, c3 += V8_SET1 (am[3]) * v;
                  c4 += V8_SET1 (am[4]) * v, c5 += V8_SET1 (am[5]) * v;
                  c6 += V8_SET1 (am[6]) * v, c7 += V8_SET1 (am[7]) * v;
                }
              float *ck = cs + k0 * ldcol + p;
              V8_STORE (ck, c0), V8_STORE (ck + ldcol, c1), V8_STORE (ck + 2 * ldcol, c2);
              V8_STORE (ck + 3 * ldcol, c3), V8_STORE (ck + 4 * ldcol, c4);
              V8_STORE (ck + 5 * ldcol, c5), V8_STORE (ck + 6 * ldcol, c6);
              V8_STORE (ck + 7 * ldcol, c7);
            }
          for (; p < hw; p++)
            for (int k = k0; k < k0 + 8; k++)
              {
                float c = 0.0f;
                for (int m = 0; m < M; m++)
                  c += A[(size_t) m * lda + k] * ys[(size_t) m * hw + p];
                cs[k * ldcol + p] = c;
              }
        }
      for (; k0 < K; k0++) /* the last rows one at a time */
        {
          int p = 0;
          for (; p + 8 <= hw; p += 8)
            {
              lq_v8sf c = { 0 };
              for (int m = 0; m < M; m++)
                c += V8_SET1 (A[(size_t) m * lda + k0]) * V8_LOAD (ys + (size_t) m * hw + p);
              V8_STORE (cs + k0 * ldcol + p, c);
            }
          for (; p < hw; p++)
            {
              float c = 0.0f;
              for (int m = 0; m < M; m++)
                c += A[(size_t) m * lda + k0] * ys[(size_t) m * hw + p];
              cs[k0 * ldcol + p] = c;
            }
        }
    }
}

/* G[m][k] += Σ_s Σ_p y[s][m][p] col[k][s·hw + p], one sample's partial sums at a time. */
LQ_MULTIVERSION void
lq_thin_outer (int n, int M, int K, int hw, const float *y, const float *col, float *G, int ldg,
               float *gb)
{
  const size_t ldcol = (size_t) n * hw;
  for (int s = 0; s < n; s++)
    {
      const float *cs = col + (size_t) s * hw;
      for (int m = 0; m < M; m++)
        {
          const float *ym = y + ((size_t) s * M + m) * hw;
          float *gm = G + (size_t) m * ldg;
          int k0 = 0;
          for (; k0 + 8 <= K; k0 += 8)
            {
              lq_v8sf c0 = { 0 }, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
              const float *ck = cs + k0 * ldcol;
              int p = 0;
              for (; p + 8 <= hw; p += 8)
                {
                  lq_v8sf v = V8_LOAD (ym + p);
                  c0 += v * V8_LOAD (ck + p), c1 += v * V8_LOAD (ck + ldcol + p);
                  c2 += v * V8_LOAD (ck + 2 * ldcol + p), c3 += v * V8_LOAD (ck + 3 * ldcol + p);
                  c4 += v * V8_LOAD (ck + 4 * ldcol + p), c5 += v * V8_LOAD (ck + 5 * ldcol + p);
                  c6 += v * V8_LOAD (ck + 6 * ldcol + p), c7 += v * V8_LOAD (ck + 7 * ldcol + p);
                }
              float t[8] = { V8_HSUM (c0), V8_HSUM (c1), V8_HSUM (c2), V8_HSUM (c3),
                             V8_HSUM (c4), V8_HSUM (c5), V8_HSUM (c6), V8_HSUM (c7) };
              for (; p < hw; p++)
                for (int k = 0; k < 8; k++)
                  t[k] += ym[p] * ck[k * ldcol + p];
              for (int k = 0; k < 8; k++)
                gm[k0 + k] += t[k];
            }
          for (; k0 < K; k0++)
            {
              const float *ck = cs + k0 * ldcol;
              lq_v8sf c = { 0 };
              int p = 0;
              for (; p + 8 <= hw; p += 8)
                c += V8_LOAD (ym + p) * V8_LOAD (ck + p);
              float t = V8_HSUM (c);
              for (; p < hw; p++)
                t += ym[p] * ck[p];
              gm[k0] += t;
            }
          if (gb) /* the bias gradient while the plane is in L1 */
            {
              lq_v8sf c = { 0 };
              int p = 0;
              for (; p + 8 <= hw; p += 8)
                c += V8_LOAD (ym + p);
              float t = V8_HSUM (c);
              for (; p < hw; p++)
                t += ym[p];
              gb[m] += t;
            }
        }
    }
}

int
lq_im2col_chunk (size_t rows, size_t cols_per_sample, int batch)
{
  /* 4 Mi floats = 16 MiB of columns. Measured on the LQ-VAE shapes at batch 64 (docs/PERFORMANCE.md):
   * with one OpenBLAS thread 1–4 Mi floats is ~10 % faster than 16 Mi (the columns stay nearer the
   * cache between im2col and GEMM); with two threads on a loaded machine, chunks below 4 Mi lose
   * 10–25 % to the per-call thread synchronisation of more, smaller GEMMs. */
  const size_t budget = (size_t) 4 << 20;
  size_t per = rows * cols_per_sample;
  int chunk = per ? (int) (budget / per) : batch;
  if (chunk < 1)
    chunk = 1;
  return chunk < batch ? chunk : batch;
}

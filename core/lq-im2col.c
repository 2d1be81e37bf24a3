/* lq-im2col.c: patch unfolding for convolutions as GEMM, and the small kernels around it.
 *
 * im2col/col2im: the column matrix is written (read) row by row — one row per kernel tap (c, i, j),
 * n·OH·OW long — so the stores (loads) stream sequentially; the valid output range of each tap is
 * computed once, so the inner loops are plain copies or adds without bounds tests and the zero
 * padding is filled by separate short loops. Stride 2 goes through the even and odd columns of
 * each padded input plane instead (im2col_stride2, col2im_stride2), where every tap row is
 * contiguous. col2im adds the taps of an element in (i, j) order as the naive loop does; at
 * stride 1 its sums are bit-identical to it, at stride 2 the taps are summed before being added to
 * what the element held. (Measured at batch 64 on the LQ-VAE shapes: 1.5–2× faster than the
 * per-element bounds-tested loop, which also missed the memcpy path on padded rows.)
 */
#include "lq-im2col.h"
#include "lq-parallel.h"
#include "lq-gemm.h"
#include "lq-multiversion.h"
#include "lq-thin-wide.h"
#include <glib.h>
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

/* Four floats as one value (16-byte SSE vectors, unaligned loads and stores), for the short rows
 * below; v4i selects lanes for __builtin_shuffle. */
typedef float v4 __attribute__ ((vector_size (16), aligned (4), may_alias));
typedef int v4i __attribute__ ((vector_size (16)));

/* n floats, 4 ≤ n ≤ 16 (an output row of the small layers): four 16-byte moves at offsets 0, 4, 8
 * and n − 4, clamped to n − 4 so that they overlap instead of running past the row. Straight-line
 * code: a loop here is turned into a call to memcpy, which costs more than the copy. */
static inline void
copy_short (float *restrict d, const float *restrict s, int n)
{
  if (n < 4 || n > 16)
    {
      memcpy (d, s, (size_t) n * sizeof (float));
      return;
    }
  const int o1 = MIN (4, n - 4), o2 = MIN (8, n - 4), o3 = n - 4;
  v4 a = *(const v4 *) s, b = *(const v4 *) (s + o1), c = *(const v4 *) (s + o2);
  v4 e = *(const v4 *) (s + o3);
  *(v4 *) d = a, *(v4 *) (d + o1) = b, *(v4 *) (d + o2) = c, *(v4 *) (d + o3) = e;
}

/* e = row[xe] and o = row[xe + 1], zero outside the row (the padded edges). */
static inline void
split_edge_pair (const float *row, int W, int xe, float *e, float *o)
{
  *e = xe >= 0 && xe < W ? row[xe] : 0.0f;
  *o = xe + 1 >= 0 && xe + 1 < W ? row[xe + 1] : 0.0f;
}

/* Stride 2: the kw taps of one kernel row read the same input row, at x = 2·ox − pl + j. Each
 * input plane, zero-padded, is split once into its even and odd columns; every tap row is then a
 * contiguous copy of OW floats from one of the two (even taps from the even half, odd taps from
 * the odd) instead of a strided gather. (Classifier A's conv2 at batch 256: im2col was 19 % of an
 * FGSM run; this path writes its columns 2–3× faster.) The split itself takes 8 columns of a row
 * into 4 even and 4 odd with two shuffles: one at a time, it was two thirds of im2col's time in
 * the LQ-VAE conv2's forward (one thread, batch 64: 14.0–14.7 against 15.3–15.6 ms). */
static void
im2col_stride2 (const LqConvGeom *g, const float *x, int n, float *col)
{
  const int OH = g->OH, OW = g->OW, H = g->H, W = g->W, kw = g->kw;
  const size_t ohw = (size_t) OH * OW, ncols = (size_t) n * ohw, plane = (size_t) H * W;
  const int half = (2 * (OW - 1) + kw + 1) / 2; /* padded columns 0 … 2(OW − 1) + kw − 1 */
  const int t0 = (g->pl + 1) / 2, t1 = MIN (half, (W + g->pl) / 2); /* 0 ≤ 2t − pl, 2t+1−pl < W */
  float *even = g_new (float, 2 * (size_t) H * half), *odd = even + (size_t) H * half;
  for (int c = 0; c < g->C; c++)
    for (int s = 0; s < n; s++)
      {
        const float *img = x + ((size_t) s * g->C + c) * plane;
        for (int y = 0; y < H; y++)
          {
            const float *row = img + (size_t) y * W;
            float *e = even + (size_t) y * half, *o = odd + (size_t) y * half;
            for (int t = 0; t < MIN (t0, half); t++)
              split_edge_pair (row, W, 2 * t - g->pl, &e[t], &o[t]);
            for (int t = MAX (t0, t1); t < half; t++)
              split_edge_pair (row, W, 2 * t - g->pl, &e[t], &o[t]);
            int t = t0;
            for (; t + 4 <= t1; t += 4) /* 8 columns of the row into 4 even and 4 odd */
              {
                const float *r = row + 2 * t - g->pl;
                const v4 a = *(const v4 *) r, b = *(const v4 *) (r + 4);
                *(v4 *) (e + t) = __builtin_shuffle (a, b, (v4i){ 0, 2, 4, 6 });
                *(v4 *) (o + t) = __builtin_shuffle (a, b, (v4i){ 1, 3, 5, 7 });
              }
            for (; t < t1; t++)
              e[t] = row[2 * t - g->pl], o[t] = row[2 * t + 1 - g->pl];
          }
        for (int i = 0; i < g->kh; i++)
          {
            float *rows = col + (size_t) (c * g->kh + i) * kw * ncols + s * ohw; /* tap j: + j·ncols */
            for (int oy = 0; oy < OH; oy++)
              {
                const int y = 2 * oy - g->pt + i;
                for (int j = 0; j < kw; j++)
                  {
                    float *d = rows + j * ncols + (size_t) oy * OW;
                    if (y < 0 || y >= H)
                      memset (d, 0, OW * sizeof (float));
                    else
                      copy_short (d, ((j & 1) ? odd : even) + (size_t) y * half + j / 2, OW);
                  }
              }
          }
      }
  g_free (even);
}

/* d[k] += s[k] for a short row (an output row of the small layers): 4-float vector adds, then the
 * remainder one at a time; unrolled by hand for rows of up to 16 (a loop is not vectorised here). */
static inline void
add_short (float *restrict d, const float *restrict s, int n)
{
  int k = 0;
  if (n <= 16)
    {
      if (n >= 4)
        *(v4 *) d += *(const v4 *) s, k = 4;
      if (n >= 8)
        *(v4 *) (d + 4) += *(const v4 *) (s + 4), k = 8;
      if (n >= 12)
        *(v4 *) (d + 8) += *(const v4 *) (s + 8), k = 12;
      if (n >= 16)
        *(v4 *) (d + 12) += *(const v4 *) (s + 12), k = 16;
    }
  for (; k < n; k++)
    d[k] += s[k];
}

/* row[xe] += e and row[xe + 1] += o, for those of the two inside the row (the padded edges). */
static inline void
add_edge_pair (float *row, int W, int xe, float e, float o)
{
  if (xe >= 0 && xe < W)
    row[xe] += e;
  if (xe + 1 >= 0 && xe + 1 < W)
    row[xe + 1] += o;
}

/* The adjoint of im2col_stride2: the taps are summed into the even and odd columns of a zeroed,
 * padded plane, where each tap row is a contiguous add (the stride-2 scatter-add it replaces was a
 * quarter of a DeepFool run at batch 256), then the plane is added into the image, its even and
 * odd columns interleaved four at a time (one at a time, that was a third of col2im's time: the
 * LQ-VAE conv2's backward to its input, one thread, batch 64, 14.6–16.0 against 17.0–18.2 ms).
 * Each element still receives its taps in (i, j) order, but summed apart from what x held
 * before. */
static void
col2im_stride2 (const LqConvGeom *g, const float *col, int n, float *x)
{
  const int OH = g->OH, OW = g->OW, H = g->H, W = g->W, kw = g->kw;
  const size_t ohw = (size_t) OH * OW, ncols = (size_t) n * ohw, plane = (size_t) H * W;
  const int half = (2 * (OW - 1) + kw + 1) / 2;
  float *even = g_new (float, 2 * (size_t) H * half), *odd = even + (size_t) H * half;
  for (int c = 0; c < g->C; c++)
    for (int s = 0; s < n; s++)
      {
        memset (even, 0, 2 * (size_t) H * half * sizeof (float));
        for (int i = 0; i < g->kh; i++)
          {
            const float *rows = col + (size_t) (c * g->kh + i) * kw * ncols + s * ohw;
            for (int oy = 0; oy < OH; oy++)
              {
                const int y = 2 * oy - g->pt + i;
                if (y < 0 || y >= H)
                  continue;
                for (int j = 0; j < kw; j++)
                  add_short (((j & 1) ? odd : even) + (size_t) y * half + j / 2,
                             rows + j * ncols + (size_t) oy * OW, OW);
              }
          }
        float *img = x + ((size_t) s * g->C + c) * plane;
        const int t0 = (g->pl + 1) / 2, t1 = MIN (half, (W + g->pl) / 2); /* 0 ≤ 2t − pl, 2t+1−pl < W */
        for (int y = 0; y < H; y++)
          {
            float *row = img + (size_t) y * W;
            const float *e = even + (size_t) y * half, *o = odd + (size_t) y * half;
            for (int t = 0; t < MIN (t0, half); t++)
              add_edge_pair (row, W, 2 * t - g->pl, e[t], o[t]);
            for (int t = MAX (t0, t1); t < half; t++)
              add_edge_pair (row, W, 2 * t - g->pl, e[t], o[t]);
            int t = t0;
            for (; t + 4 <= t1; t += 4) /* 4 even and 4 odd columns, interleaved: 8 of the row */
              {
                const v4 ev = *(const v4 *) (e + t), ov = *(const v4 *) (o + t);
                float *r = row + 2 * t - g->pl;
                *(v4 *) r += __builtin_shuffle (ev, ov, (v4i){ 0, 4, 1, 5 });
                *(v4 *) (r + 4) += __builtin_shuffle (ev, ov, (v4i){ 2, 6, 3, 7 });
              }
            for (; t < t1; t++)
              row[2 * t - g->pl] += e[t], row[2 * t + 1 - g->pl] += o[t];
          }
      }
  g_free (even);
}

void
lq_im2col (const LqConvGeom *g, const float *x, int n, float *col)
{
  const int OH = g->OH, OW = g->OW, st = g->stride;
  const size_t ohw = (size_t) OH * OW, ncols = (size_t) n * ohw, plane = (size_t) g->H * g->W;
  if (st == 2)
    {
      im2col_stride2 (g, x, n, col);
      return;
    }
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
                          copy_short (d, srow + off, OW);
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
  if (st == 2)
    {
      col2im_stride2 (g, col, n, x);
      return;
    }
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


/* ---- thin products: column matrices with few rows, straight to and from NCHW ----
 *
 * For conv1 of the LQ-VAE encoder (1 → 64 channels, 3×3: K = 9 rows) and the last deconvolution
 * of its decoders (64 → 1), the GEMM path multiplies 9-deep inner products (OpenBLAS reaches
 * ~40 % of its 1024³ rate there) and permutes a 12.8 MB tensor between NCHW and [C][N·HW] on the
 * way. These kernels read and write NCHW directly, keep a 4×16 (expand), 3×32 (reduce) or 4×3 (outer)
 * block of results in registers, and are compiled twice: for x86-64-v3 (AVX2 + FMA), picked at
 * load time on CPUs that have it, and for the baseline. Each is deterministic (fixed summation
 * order for a given CPU). */

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

double
lq_sum_f32 (const float *p, size_t n)
{
  /* Four vectors of eight: fewer would wait on each add's latency rather than on the loads. */
  double total = 0.0;
  size_t i = 0;
  while (i < n)
    {
      const size_t end = n - i > 4096 ? i + 4096 : n;
      lq_v8sf a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
      float tail = 0.0f;
      for (; i + 32 <= end; i += 32)
        {
          a0 += V8_LOAD (p + i), a1 += V8_LOAD (p + i + 8);
          a2 += V8_LOAD (p + i + 16), a3 += V8_LOAD (p + i + 24);
        }
      for (; i + 8 <= end; i += 8)
        a0 += V8_LOAD (p + i);
      for (; i < end; i++)
        tail += p[i];
      total += (double) V8_HSUM ((a0 + a1) + (a2 + a3)) + (double) tail;
    }
  return total;
}

/* The last n < 8 floats at p as a vector, zero in the lanes beyond: sums over a row take its tail
 * in the same eight lanes as the rest, so every clone of a kernel adds in the same order (scalar
 * tail loops were vectorised differently for AVX2 and AVX-512, and rounded differently). */
#define V8_LOAD_TAIL(p, n)                                                                         \
  ({                                                                                               \
    lq_v8sf tail_ = { 0 };                                                                         \
    memcpy (&tail_, (p), (size_t) (n) * sizeof (float));                                           \
    tail_;                                                                                         \
  })

/* Σ_p a[p] b[p] in eight lanes (the tail too), then across them: the outer kernel's order, for
 * the rows its blocks leave over. */
static inline __attribute__ ((always_inline)) float
thin_dot (const float *a, const float *b, int n)
{
  lq_v8sf c = { 0 };
  int p = 0;
  for (; p + 8 <= n; p += 8)
    c += V8_LOAD (a + p) * V8_LOAD (b + p);
  if (p < n)
    c += V8_LOAD_TAIL (a + p, n - p) * V8_LOAD_TAIL (b + p, n - p);
  return V8_HSUM (c);
}

/* Σ_p y[i·hw + p] for the 4 planes i of y into t, in the same order as thin_dot (the fused bias
 * sums of the outer kernel use it too); four sums at once, so that no add waits on the last. */
static inline __attribute__ ((always_inline)) void
plane_sums4 (const float *y, int hw, float t[4])
{
  lq_v8sf a0 = { 0 }, a1 = a0, a2 = a0, a3 = a0;
  int p = 0;
  for (; p + 8 <= hw; p += 8)
    {
      a0 += V8_LOAD (y + p), a1 += V8_LOAD (y + hw + p);
      a2 += V8_LOAD (y + 2 * hw + p), a3 += V8_LOAD (y + 3 * hw + p);
    }
  if (p < hw)
    {
      a0 += V8_LOAD_TAIL (y + p, hw - p), a1 += V8_LOAD_TAIL (y + hw + p, hw - p);
      a2 += V8_LOAD_TAIL (y + 2 * hw + p, hw - p), a3 += V8_LOAD_TAIL (y + 3 * hw + p, hw - p);
    }
  t[0] = V8_HSUM (a0), t[1] = V8_HSUM (a1), t[2] = V8_HSUM (a2), t[3] = V8_HSUM (a3);
}

static inline __attribute__ ((always_inline)) float
plane_sum (const float *y, int hw)
{
  lq_v8sf a = { 0 };
  int p = 0;
  for (; p + 8 <= hw; p += 8)
    a += V8_LOAD (y + p);
  if (p < hw)
    a += V8_LOAD_TAIL (y + p, hw - p);
  return V8_HSUM (a);
}

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
          /* Fetch the next 4 planes for writing while this block computes (after a sample's
           * last block, the next sample's first ones): the stores wait on each line's read for
           * ownership, and four one-plane streams are too short for the hardware prefetcher.
           * conv1's forward, one thread: 0.95 against 1.16 ms (best of 60). */
          float *next = y3 + hw;
          const gboolean fetch_next = m + 8 <= M || s + 1 < n;
          int p = 0;
          for (; p + 16 <= hw; p += 16)
            {
              if (fetch_next)
                __builtin_prefetch (next + p, 1), __builtin_prefetch (next + hw + p, 1),
                  __builtin_prefetch (next + 2 * hw + p, 1), __builtin_prefetch (next + 3 * hw + p, 1);
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

/* reduce: for each sample, blocks of 32 columns (four vectors) by 3 rows of col: 12 accumulators,
 * and per m 3 broadcasts and 4 loads for 12 FMAs, so the loop is bound by the FMA units rather
 * than by the loads (a block of 8 rows by one vector needs 9 loads for 8 FMAs). The 32 columns of
 * y for all m (8 KiB at M = 64) stay in L1 while the row blocks go by. Leftover rows and columns
 * take narrower blocks. */
LQ_MULTIVERSION void
lq_thin_reduce (int n, int M, int K, int hw, const float *A, int lda, const float *y, float *col)
{
  if (K == 9 && lq_thin_wide_reduce9 (n, M, hw, A, lda, y, col)) /* 3×3: all nine rows at once */
    return;
  const size_t ldcol = (size_t) n * hw;
  for (int s = 0; s < n; s++)
    {
      const float *ys = y + (size_t) s * M * hw;
      float *cs = col + (size_t) s * hw;
      int p = 0;
      for (; p + 32 <= hw; p += 32)
        {
          int k = 0;
          for (; k + 3 <= K; k += 3)
            {
              lq_v8sf c00 = { 0 }, c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00;
              lq_v8sf c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00;
              for (int m = 0; m < M; m++)
                {
                  const float *ym = ys + (size_t) m * hw + p, *am = A + (size_t) m * lda + k;
                  /* 64 rows at a stride: more streams than the hardware prefetcher follows */
                  __builtin_prefetch (ym + 64), __builtin_prefetch (ym + 80);
                  lq_v8sf v0 = V8_LOAD (ym), v1 = V8_LOAD (ym + 8);
                  lq_v8sf v2 = V8_LOAD (ym + 16), v3 = V8_LOAD (ym + 24);
                  lq_v8sf a0 = V8_SET1 (am[0]), a1 = V8_SET1 (am[1]), a2 = V8_SET1 (am[2]);
                  c00 += a0 * v0, c01 += a0 * v1, c02 += a0 * v2, c03 += a0 * v3;
                  c10 += a1 * v0, c11 += a1 * v1, c12 += a1 * v2, c13 += a1 * v3;
                  c20 += a2 * v0, c21 += a2 * v1, c22 += a2 * v2, c23 += a2 * v3;
                }
              float *r0 = cs + k * ldcol + p, *r1 = r0 + ldcol, *r2 = r1 + ldcol;
              V8_STORE (r0, c00), V8_STORE (r0 + 8, c01), V8_STORE (r0 + 16, c02), V8_STORE (r0 + 24, c03);
              V8_STORE (r1, c10), V8_STORE (r1 + 8, c11), V8_STORE (r1 + 16, c12), V8_STORE (r1 + 24, c13);
              V8_STORE (r2, c20), V8_STORE (r2 + 8, c21), V8_STORE (r2 + 16, c22), V8_STORE (r2 + 24, c23);
            }
          for (; k < K; k++)
            {
              lq_v8sf c0 = { 0 }, c1 = c0, c2 = c0, c3 = c0;
              for (int m = 0; m < M; m++)
                {
                  const float *ym = ys + (size_t) m * hw + p;
                  lq_v8sf a = V8_SET1 (A[(size_t) m * lda + k]);
                  c0 += a * V8_LOAD (ym), c1 += a * V8_LOAD (ym + 8);
                  c2 += a * V8_LOAD (ym + 16), c3 += a * V8_LOAD (ym + 24);
                }
              float *r = cs + k * ldcol + p;
              V8_STORE (r, c0), V8_STORE (r + 8, c1), V8_STORE (r + 16, c2), V8_STORE (r + 24, c3);
            }
        }
      for (; p + 8 <= hw; p += 8)
        for (int k = 0; k < K; k++)
          {
            lq_v8sf c = { 0 };
            for (int m = 0; m < M; m++)
              c += V8_SET1 (A[(size_t) m * lda + k]) * V8_LOAD (ys + (size_t) m * hw + p);
            V8_STORE (cs + k * ldcol + p, c);
          }
      for (; p < hw; p++)
        for (int k = 0; k < K; k++)
          {
            float c = 0.0f;
            for (int m = 0; m < M; m++)
              c += A[(size_t) m * lda + k] * ys[(size_t) m * hw + p];
            cs[k * ldcol + p] = c;
          }
    }
}

/* One vector of columns in the outer kernel: 3 rows of col (U0–U2) times the 4 planes' vector
 * (V0–V3) into the 12 accumulators, and the planes into the 4 bias sums when `bias`. */
#define OUTER_STEP(U0, U1, U2, V0, V1, V2, V3)                                                     \
  do                                                                                               \
    {                                                                                              \
      const lq_v8sf u0 = (U0), u1 = (U1), u2 = (U2);                                               \
      lq_v8sf v = (V0);                                                                            \
      c00 += v * u0, c01 += v * u1, c02 += v * u2;                                                 \
      if (bias)                                                                                    \
        b0 += v;                                                                                   \
      v = (V1);                                                                                    \
      c10 += v * u0, c11 += v * u1, c12 += v * u2;                                                 \
      if (bias)                                                                                    \
        b1 += v;                                                                                   \
      v = (V2);                                                                                    \
      c20 += v * u0, c21 += v * u1, c22 += v * u2;                                                 \
      if (bias)                                                                                    \
        b2 += v;                                                                                   \
      v = (V3);                                                                                    \
      c30 += v * u0, c31 += v * u1, c32 += v * u2;                                                 \
      if (bias)                                                                                    \
        b3 += v;                                                                                   \
    }                                                                                              \
  while (0)

/* G[m][k] += Σ_s Σ_p y[s][m][p] col[k][s·hw + p], one sample's partial sums at a time: blocks of
 * 4 channels by 3 rows (12 accumulators; 7 loads for 12 FMAs per vector of columns), summed across
 * lanes once per block and sample. gb[m] += Σ_s Σ_p y[s][m][p]: with fuse_bias, the first row
 * block sums the 4 planes from the loads it makes anyway (4 more accumulators: 20 registers, which
 * only AVX-512's 32 hold); otherwise a pass of its own reads the sample's planes a fourth time
 * (13 % of conv1's weight gradient). Every sum runs over p in eight lanes, then across them, so
 * both ways give the same bits. */
static inline __attribute__ ((always_inline)) void
thin_outer (int n, int M, int K, int hw, const float *y, const float *col, float *G, int ldg,
            float *gb, const gboolean fuse_bias)
{
  const size_t ldcol = (size_t) n * hw;
  for (int s = 0; s < n; s++)
    {
      const float *cs = col + (size_t) s * hw, *yss = y + (size_t) s * M * hw;
      int m = 0;
      for (; m + 4 <= M; m += 4)
        {
          const float *y0 = yss + (size_t) m * hw, *y1 = y0 + hw, *y2 = y1 + hw, *y3 = y2 + hw;
          int k = 0;
          for (; k + 3 <= K; k += 3)
            {
              const float *k0 = cs + k * ldcol, *k1 = k0 + ldcol, *k2 = k1 + ldcol;
              const gboolean bias = fuse_bias && gb && k == 0;
              lq_v8sf c00 = { 0 }, c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
              lq_v8sf c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
              lq_v8sf b0 = c00, b1 = c00, b2 = c00, b3 = c00;
              /* The last row block also fetches the next 4 planes (after a sample's last block,
               * the next sample's first ones): four streams of one plane each are too short for
               * the hardware prefetcher to ramp up on. conv1's weight gradient, one thread,
               * operands in cache: 0.78 against 1.17 ms (best of 60). From DRAM that is too late:
               * the first row block asks for the 4 planes after those, into L2. At batch 64,
               * alternated call by call (medians of 300), with the operands evicted: conv1's
               * weight gradient 1.00 against 1.23 ms on two threads, 1.41 against 2.23 on one;
               * in cache 0.65 against 0.62 on two, 1.38 against 1.62 on one. */
              const gboolean fetch_next = k + 6 > K && (m + 8 <= M || s + 1 < n);
              const gboolean fetch_far = k == 0 && (m + 12 <= M || s + 1 < n);
              const float *next = y3 + hw, *far = fetch_far ? next + 4 * hw : next;
              int p = 0;
              for (; p + 8 <= hw; p += 8)
                {
                  if (fetch_next && (p & 15) == 0)
                    __builtin_prefetch (next + p), __builtin_prefetch (next + hw + p),
                      __builtin_prefetch (next + 2 * hw + p), __builtin_prefetch (next + 3 * hw + p);
                  if (fetch_far && (p & 15) == 0)
                    __builtin_prefetch (far + p, 0, 2), __builtin_prefetch (far + hw + p, 0, 2),
                      __builtin_prefetch (far + 2 * hw + p, 0, 2),
                      __builtin_prefetch (far + 3 * hw + p, 0, 2);
                  OUTER_STEP (V8_LOAD (k0 + p), V8_LOAD (k1 + p), V8_LOAD (k2 + p), V8_LOAD (y0 + p),
                              V8_LOAD (y1 + p), V8_LOAD (y2 + p), V8_LOAD (y3 + p));
                }
              if (p < hw)
                {
                  const int r = hw - p;
                  OUTER_STEP (V8_LOAD_TAIL (k0 + p, r), V8_LOAD_TAIL (k1 + p, r),
                              V8_LOAD_TAIL (k2 + p, r), V8_LOAD_TAIL (y0 + p, r),
                              V8_LOAD_TAIL (y1 + p, r), V8_LOAD_TAIL (y2 + p, r),
                              V8_LOAD_TAIL (y3 + p, r));
                }
              const lq_v8sf c[4][3] = {
                { c00, c01, c02 }, { c10, c11, c12 }, { c20, c21, c22 }, { c30, c31, c32 }
              };
              for (int i = 0; i < 4; i++)
                for (int j = 0; j < 3; j++)
                  G[(size_t) (m + i) * ldg + k + j] += V8_HSUM (c[i][j]);
              if (bias)
                gb[m] += V8_HSUM (b0), gb[m + 1] += V8_HSUM (b1), gb[m + 2] += V8_HSUM (b2),
                  gb[m + 3] += V8_HSUM (b3);
            }
          for (; k < K; k++)
            for (int i = 0; i < 4; i++)
              G[(size_t) (m + i) * ldg + k] += thin_dot (yss + (size_t) (m + i) * hw, cs + k * ldcol, hw);
          if (gb && !(fuse_bias && K >= 3)) /* the bias gradient while the sample is in cache */
            {
              float t[4];
              plane_sums4 (y0, hw, t);
              for (int i = 0; i < 4; i++)
                gb[m + i] += t[i];
            }
        }
      for (; m < M; m++)
        {
          for (int k = 0; k < K; k++)
            G[(size_t) m * ldg + k] += thin_dot (yss + (size_t) m * hw, cs + k * ldcol, hw);
          if (gb)
            gb[m] += plane_sum (yss + (size_t) m * hw, hw);
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* The same eight-lane code compiled with AVX-512VL, whose 32 registers hold the bias sums beside
 * the products. conv1's weight gradient, one thread, 32 samples, operands in cache (alternated
 * call by call, best of 200): 0.325 against 0.368 ms for the separate pass. */
__attribute__ ((target ("avx512f,avx512vl,avx2,fma"))) static void
thin_outer_fused (int n, int M, int K, int hw, const float *y, const float *col, float *G, int ldg,
                  float *gb)
{
  thin_outer (n, M, K, hw, y, col, G, ldg, gb, TRUE);
}
#endif

LQ_MULTIVERSION void
lq_thin_outer (int n, int M, int K, int hw, const float *y, const float *col, float *G, int ldg,
               float *gb)
{
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  if (gb && lq_thin_wide_enabled ())
    {
      thin_outer_fused (n, M, K, hw, y, col, G, ldg, gb);
      return;
    }
#endif
  thin_outer (n, M, K, hw, y, col, G, ldg, gb, FALSE);
}

int
lq_im2col_chunk (size_t rows, size_t cols_per_sample, int batch)
{
  /* For a single-threaded GEMM (one engine thread, or a part of a batch cut over the threads:
   * lq-batch-split.h), 256 Ki floats: 1 MiB of columns, written by im2col and read back by the
   * GEMM (or written by the GEMM and folded by col2im) within the core's 1 MiB L2. In-process
   * A/Bs on Dec 3: conv2's backward to the input at batch 64 10.3–10.7 ms against 11.8–12.2
   * with 1 Mi floats, deconv3's three passes ~10 % faster, FGSM on 256 images 226–232 against
   * 245–249 ms (one thread) and 162 against 170 ms (two). For a GEMM cut over two threads, 4 Mi:
   * one LQ-VAE training step ran at 105–119 images/s against 91–99 with 1 Mi (more, smaller
   * GEMMs pay more thread synchronisation; measured when OpenBLAS still ran the threads). */
  const size_t budget = lq_parallel_parts (2) > 1 ? (size_t) 4 << 20 : (size_t) 256 << 10;
  size_t per = rows * cols_per_sample;
  int chunk = per ? (int) (budget / per) : batch;
  if (chunk < 1)
    chunk = 1;
  return chunk < batch ? chunk : batch;
}

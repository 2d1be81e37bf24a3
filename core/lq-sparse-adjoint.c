/* lq-sparse-adjoint.c: input gradients from the nonzeros of the output gradient (see the header).
 *
 * Both layers come down to one kernel, combine: R output rows, each a weighted sum of the same
 * few weight rows W[idx[u]] (u < nu). It keeps a block of up to 6 output rows × 16 floats in
 * registers and loads each weight vector once for the block. It is compiled for x86-64-v3
 * (AVX2 + FMA) besides the baseline and picked at load time, like the kernels of lq-im2col.c; the
 * order of the sums is fixed (weight rows in index order), so results are deterministic on a
 * given CPU.
 *
 * Convolution: for each output position, the channels nonzero there (in any row of the group)
 * select weight rows W[o] (C·kh·kw long: one output unit's whole window); combine sums them into
 * one patch per row, and each patch is added once into its image's window. The weight rows are
 * reordered channel-last for this, and the images built channel-last, so that a window row (kw
 * taps × C channels) is one contiguous add; each image is transposed back to channel-first at
 * the end. Positions where every channel is zero cost one pass over their column. */
#include "lq-sparse-adjoint.h"
#include "lq-multiversion.h"
#include "lq-parallel.h"
#include <string.h>

size_t
lq_count_nonzero (const float *p, size_t n)
{
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    count += p[i] != 0.0f;
  return count;
}

gboolean
lq_nonzero_at_most (const float *p, size_t n, size_t limit)
{
  size_t count = 0;
  for (size_t i0 = 0; i0 < n; i0 += 1024) /* a dense gradient is told from its first blocks */
    {
      const size_t end = MIN (n, i0 + 1024);
      for (size_t i = i0; i < end; i++)
        count += p[i] != 0.0f;
      if (count > limit)
        return FALSE;
    }
  return TRUE;
}

typedef float v8 __attribute__ ((vector_size (32)));
typedef float v8u __attribute__ ((vector_size (32), aligned (4), may_alias));

/* Rows r0 … r0+RB−1 of combine, NV vectors of 8 floats of k at a time from k on while they fit; RB and NV are constants where this is inlined, so the RB·NV sums stay in registers (6 × 2
 * plus two weight vectors and a broadcast: 15 of the 16 AVX registers). */
static inline __attribute__ ((always_inline)) void
combine_block (const int RB, const int NV, int r0, int R, int nu, const int *idx, const float *v,
               const float *W, size_t K, float *out, size_t ldo, size_t k)
{
  for (; k + 8 * NV <= K; k += 8 * NV)
    {
      v8 acc[6][2];
      for (int r = 0; r < RB; r++)
        for (int j = 0; j < NV; j++)
          acc[r][j] = (v8){ 0 };
      for (int u = 0; u < nu; u++)
        {
          const float *wrow = W + (size_t) idx[u] * K + k;
          v8 w[2];
          for (int j = 0; j < NV; j++)
            w[j] = *(const v8u *) (wrow + 8 * j);
          const float *vu = v + (size_t) u * R + r0;
          for (int r = 0; r < RB; r++)
            for (int j = 0; j < NV; j++)
              acc[r][j] += vu[r] * w[j];
        }
      for (int r = 0; r < RB; r++)
        for (int j = 0; j < NV; j++)
          *(v8u *) (out + (size_t) (r0 + r) * ldo + k + 8 * j) = acc[r][j];
    }
}

/* out[r][k] = Σ_u v[u·R + r] · W[idx[u]][k] for r < R, k < K (W rows K long, out rows ldo apart). */
LQ_MULTIVERSION static void
combine (int R, int nu, const int *idx, const float *v, const float *W, size_t K, float *out,
         size_t ldo)
{
  const size_t k16 = K / 16 * 16, k8 = K / 8 * 8;
  for (int r0 = 0; r0 < R;)
    {
      const int rb = R - r0 >= 6 ? 6 : R - r0 >= 3 ? 3 : R - r0 >= 2 ? 2 : 1;
#define COMBINE_ROWS(RB)                                                                          \
  do                                                                                               \
    {                                                                                              \
      combine_block (RB, 2, r0, R, nu, idx, v, W, K, out, ldo, 0);                                 \
      combine_block (RB, 1, r0, R, nu, idx, v, W, K, out, ldo, k16);                               \
    }                                                                                              \
  while (0)
      if (rb == 6)
        COMBINE_ROWS (6);
      else if (rb == 3)
        COMBINE_ROWS (3);
      else if (rb == 2)
        COMBINE_ROWS (2);
      else
        COMBINE_ROWS (1);
#undef COMBINE_ROWS
      for (size_t k = k8; k < K; k++)
        for (int r = r0; r < r0 + rb; r++)
          {
            float acc = 0.0f;
            for (int u = 0; u < nu; u++)
              acc += v[(size_t) u * R + r] * W[(size_t) idx[u] * K + k];
            out[(size_t) r * ldo + k] = acc;
          }
      r0 += rb;
    }
}

/* y[i] += x[i]. */
LQ_MULTIVERSION static void
add_into (float *restrict y, const float *restrict x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    y[i] += x[i];
}

/* --- convolution --- */

typedef struct {
  int start, len;
} Group;

typedef struct {
  const LqConvGeom *g;
  int M;
  const float *map, *Wt;
  float *img;
  const Group *groups;
  int n_groups;
} ConvTask;

void
lq_conv_weights_channel_last (const LqConvGeom *g, int M, const float *W, float *Wt)
{
  const int kk = g->kh * g->kw;
  for (int o = 0; o < M; o++)
    {
      const float *w = W + (size_t) o * g->C * kk;
      float *wt = Wt + (size_t) o * g->C * kk;
      for (int c = 0; c < g->C; c++)
        for (int t = 0; t < kk; t++)
          wt[(size_t) t * g->C + c] = w[(size_t) c * kk + t];
    }
}

typedef int v8i __attribute__ ((vector_size (32)));

/* img [C][HW] = hwc [HW][C]: 8 × 8 tiles transposed in registers (unpack pairs, then 64-bit
 * pairs, then 128-bit halves), the ragged edges one float at a time. */
LQ_MULTIVERSION static void
channel_first (const float *restrict hwc, int C, size_t HW, float *restrict img)
{
  const v8i lo = { 0, 8, 1, 9, 4, 12, 5, 13 }, hi = { 2, 10, 3, 11, 6, 14, 7, 15 };
  const v8i lo2 = { 0, 1, 8, 9, 4, 5, 12, 13 }, hi2 = { 2, 3, 10, 11, 6, 7, 14, 15 };
  const v8i lo4 = { 0, 1, 2, 3, 8, 9, 10, 11 }, hi4 = { 4, 5, 6, 7, 12, 13, 14, 15 };
  const size_t P8 = HW / 8 * 8;
  const int C8 = C / 8 * 8;
  for (size_t p0 = 0; p0 < P8; p0 += 8)
    for (int c0 = 0; c0 < C8; c0 += 8)
      {
        v8 r[8], t[8], u[8];
        for (int i = 0; i < 8; i++)
          r[i] = *(const v8u *) (hwc + (p0 + i) * C + c0);
        for (int i = 0; i < 8; i += 2)
          t[i] = __builtin_shuffle (r[i], r[i + 1], lo), t[i + 1] = __builtin_shuffle (r[i], r[i + 1], hi);
        for (int i = 0; i < 8; i += 4)
          {
            u[i] = __builtin_shuffle (t[i], t[i + 2], lo2);
            u[i + 1] = __builtin_shuffle (t[i], t[i + 2], hi2);
            u[i + 2] = __builtin_shuffle (t[i + 1], t[i + 3], lo2);
            u[i + 3] = __builtin_shuffle (t[i + 1], t[i + 3], hi2);
          }
        for (int j = 0; j < 4; j++)
          {
            *(v8u *) (img + (size_t) (c0 + j) * HW + p0) = __builtin_shuffle (u[j], u[j + 4], lo4);
            *(v8u *) (img + (size_t) (c0 + j + 4) * HW + p0) = __builtin_shuffle (u[j], u[j + 4], hi4);
          }
      }
  for (int c = 0; c < C; c++) /* the edges: pixels from P8 on, and channels from C8 on */
    for (size_t p = c < C8 ? P8 : 0; p < HW; p++)
      img[(size_t) c * HW + p] = hwc[p * C + c];
}

/* The rows of one group: img rows overwritten. Work space: any (M·OH·OW bytes) and hwc
 * (G·C·H·W floats). The patches are summed in the channel-last order (Wt), so that a patch row
 * (kw taps × C channels) is one contiguous run in the channel-last image hwc: a window is kh
 * long adds instead of C·kh adds of kw floats. */
static void
conv_group (const LqConvGeom *g, int G, const float *map, int M, const float *Wt, float *img,
            int *idx, float *v, float *patches, guint8 *any, float *hwc)
{
  const size_t K = (size_t) g->C * g->kh * g->kw, ohw = (size_t) g->OH * g->OW;
  const size_t in = (size_t) g->C * g->H * g->W, out = (size_t) M * ohw;
  const size_t row = (size_t) g->W * g->C; /* one image row, channel-last */
  memset (any, 0, out);
  for (int s = 0; s < G; s++)
    for (size_t i = 0; i < out; i++)
      any[i] |= map[s * out + i] != 0.0f;
  int zeroed = 0; /* image rows [0, zeroed) are zero or hold sums: zeroed just before first use,
                   * so that the G images pass through the cache once, not twice */
  for (int oy = 0; oy <= g->OH; oy++)
    {
      const int to = oy < g->OH ? MIN (g->H, oy * g->stride - g->pt + g->kh) : g->H;
      if (to > zeroed)
        for (int s = 0; s < G; s++)
          memset (hwc + s * in + zeroed * row, 0, (size_t) (to - zeroed) * row * sizeof (float));
      zeroed = MAX (zeroed, to);
      for (int ox = 0; oy < g->OH && ox < g->OW; ox++)
        {
          const size_t q = (size_t) oy * g->OW + ox;
          int nu = 0;
          for (int o = 0; o < M; o++)
            if (any[o * ohw + q])
              {
                idx[nu] = o;
                for (int s = 0; s < G; s++)
                  v[(size_t) nu * G + s] = map[s * out + o * ohw + q];
                nu++;
              }
          if (nu == 0)
            continue;
          combine (G, nu, idx, v, Wt, K, patches, K);
          /* each patch into its image's window: rows y0 + i, columns x0 + j, clipped */
          const int y0 = oy * g->stride - g->pt, x0 = ox * g->stride - g->pl;
          const int j0 = MAX (0, -x0), j1 = MIN (g->kw, g->W - x0);
          const int i0 = MAX (0, -y0), i1 = MIN (g->kh, g->H - y0);
          const size_t run = (size_t) (j1 - j0) * g->C;
          for (int s = 0; s < G; s++)
            for (int i = i0; i < i1; i++)
              add_into (hwc + s * in + (size_t) (y0 + i) * row + (size_t) (x0 + j0) * g->C,
                        patches + s * K + ((size_t) i * g->kw + j0) * g->C, run);
        }
    }
  for (int s = 0; s < G; s++)
    channel_first (hwc + s * in, g->C, (size_t) g->H * g->W, img + s * in);
}

static void
conv_part (int part, int parts, void *data)
{
  const ConvTask *t = data;
  const LqConvGeom *g = t->g;
  const size_t K = (size_t) g->C * g->kh * g->kw, ohw = (size_t) g->OH * g->OW;
  const size_t in = (size_t) g->C * g->H * g->W, out = (size_t) t->M * ohw;
  int lo, hi, max_len = 0;
  lq_parallel_range (t->n_groups, part, parts, &lo, &hi);
  for (int i = lo; i < hi; i++)
    max_len = MAX (max_len, t->groups[i].len);
  int *idx = g_new (int, t->M);
  float *v = g_new (float, (size_t) t->M * LQ_SPARSE_MAX_GROUP);
  float *patches = g_new (float, LQ_SPARSE_MAX_GROUP * K);
  guint8 *any = g_new (guint8, out);
  float *hwc = g_new (float, (size_t) max_len * in);
  for (int i = lo; i < hi; i++)
    {
      const Group *gr = &t->groups[i];
      conv_group (g, gr->len, t->map + gr->start * out, t->M, t->Wt, t->img + gr->start * in, idx,
                  v, patches, any, hwc);
    }
  g_free (hwc);
  g_free (any);
  g_free (idx);
  g_free (v);
  g_free (patches);
}

/* Marks row's nonzeros in mark; returns how many were new, or stops early (returning more than
 * budget, marking nothing) once more than budget would be new. */
static size_t
mark_new (guint8 *mark, const float *row, size_t n, size_t budget)
{
  size_t add = 0;
  for (size_t i = 0; i < n && add <= budget; i++)
    add += row[i] != 0.0f && !mark[i];
  if (add > budget)
    return add;
  for (size_t i = 0; i < n; i++)
    mark[i] |= row[i] != 0.0f;
  return add;
}

void
lq_conv_adjoint_sparse (const LqConvGeom *g, int n, const float *map, int M, const float *Wt,
                        const gboolean *which, float *img)
{
  const size_t out = (size_t) M * g->OH * g->OW;
  Group *groups = g_new (Group, n);
  guint8 *mark = g_new (guint8, out);
  int n_groups = 0;
  /* A row joins the group before it when that adds at most a quarter to the group's nonzero
   * places (rows of one sample behind the same ReLU masks add none). */
  for (int s = 0; s < n;)
    {
      if (!which[s])
        {
          s++;
          continue;
        }
      const int start = s;
      memset (mark, 0, out);
      const size_t first = mark_new (mark, map + s * out, out, out), budget = first / 4;
      size_t added = 0;
      for (s++; s < n && which[s] && s - start < LQ_SPARSE_MAX_GROUP; s++)
        {
          size_t add = mark_new (mark, map + s * out, out, budget - added);
          if (add > budget - added)
            break;
          added += add;
        }
      groups[n_groups++] = (Group){ start, s - start };
    }
  ConvTask t = { g, M, map, Wt, img, groups, n_groups };
  lq_parallel_run (lq_parallel_parts (n_groups), conv_part, &t);
  g_free (groups);
  g_free (mark);
}

/* --- dense --- */

gboolean
lq_dense_adjoint_sparse (int n, int M, int K, const float *dy, const float *W, float *dx)
{
  int *idx = g_new (int, M), nu = 0;
  for (int m = 0; m < M; m++)
    {
      gboolean any = FALSE;
      for (int s = 0; s < n && !any; s++)
        any = dy[(size_t) s * M + m] != 0.0f;
      if (any)
        idx[nu++] = m;
    }
  const gboolean pays = 2 * nu < M;
  if (pays)
    {
      float *v = g_new (float, (size_t) MAX (nu, 1) * n);
      for (int u = 0; u < nu; u++)
        for (int s = 0; s < n; s++)
          v[(size_t) u * n + s] = dy[(size_t) s * M + idx[u]];
      combine (n, nu, idx, v, W, (size_t) K, dx, (size_t) K);
      g_free (v);
    }
  g_free (idx);
  return pays;
}

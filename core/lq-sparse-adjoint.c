/* lq-sparse-adjoint.c: input gradients from the nonzeros of the output gradient (see the header).
 *
 * Both layers come down to one kernel, combine: R output rows, each a weighted sum of the same
 * few weight rows W[idx[u]] (u < nu). It keeps a block of up to 8 output rows × 8 floats in
 * registers and loads each weight vector once for the block. It is compiled for x86-64-v3
 * (AVX2 + FMA) besides the baseline and picked at load time, like the kernels of lq-im2col.c; the
 * order of the sums is fixed (weight rows in index order), so results are deterministic on a
 * given CPU.
 *
 * Convolution: for each output position, the channels nonzero there (in any row of the group)
 * select weight rows W[o] (C·kh·kw long: one output unit's whole window); combine sums them into
 * one patch per row, and each patch is added once into its image's window. Positions where every
 * channel is zero cost one pass over their column. */
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

typedef float v8 __attribute__ ((vector_size (32)));
typedef float v8u __attribute__ ((vector_size (32), aligned (4), may_alias));

/* Rows r0 … r0+RB−1 of combine, NV vectors of 8 floats of k at a time from k = *k0 while they
 * fit; RB and NV are constants where this is inlined, so the RB·NV sums stay in registers (6 × 2
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

/* img[y0 + i][x0 + j] += patch[i][j] over the window's rows i0 … i1−1 and columns j0 … j1−1, for
 * each of C channels (patch [C][kh][kw], img [C][H][W]). A 5- or 3-wide row inside the image is
 * added with a fixed sequence (the common kernels), others by add_short. */
static void
fold_patch (const LqConvGeom *g, const float *patch, float *img, int y0, int x0, int i0, int i1,
            int j0, int j1)
{
  typedef float v4 __attribute__ ((vector_size (16), aligned (4), may_alias));
  const int kw = g->kw, full = j0 == 0 && j1 == kw;
  for (int c = 0; c < g->C; c++)
    for (int i = i0; i < i1; i++)
      {
        float *d = img + ((size_t) c * g->H + y0 + i) * g->W + x0;
        const float *p = patch + ((size_t) c * g->kh + i) * kw;
        if (full && kw == 5)
          *(v4 *) d += *(const v4 *) p, d[4] += p[4];
        else if (full && kw == 3)
          d[0] += p[0], d[1] += p[1], d[2] += p[2];
        else
          add_short (d + j0, p + j0, j1 - j0);
      }
}

/* --- convolution --- */

typedef struct {
  int start, len;
} Group;

typedef struct {
  const LqConvGeom *g;
  int M;
  const float *map, *W;
  float *img;
  const Group *groups;
  int n_groups;
} ConvTask;

/* The rows of one group: img rows overwritten. any: M·OH·OW bytes of work space. */
static void
conv_group (const LqConvGeom *g, int G, const float *map, int M, const float *W, float *img,
            int *idx, float *v, float *patches, guint8 *any)
{
  const size_t K = (size_t) g->C * g->kh * g->kw, ohw = (size_t) g->OH * g->OW;
  const size_t in = (size_t) g->C * g->H * g->W, out = (size_t) M * ohw;
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
          for (int c = 0; c < g->C; c++)
            memset (img + s * in + ((size_t) c * g->H + zeroed) * g->W, 0,
                    (size_t) (to - zeroed) * g->W * sizeof (float));
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
        combine (G, nu, idx, v, W, K, patches, K);
        /* each patch into its image's window: rows y0 + i, columns x0 + j, clipped */
        const int y0 = oy * g->stride - g->pt, x0 = ox * g->stride - g->pl;
        const int j0 = MAX (0, -x0), j1 = MIN (g->kw, g->W - x0);
        const int i0 = MAX (0, -y0), i1 = MIN (g->kh, g->H - y0);
        for (int s = 0; s < G; s++)
          fold_patch (g, patches + s * K, img + s * in, y0, x0, i0, i1, j0, j1);
      }
    }
}

static void
conv_part (int part, int parts, void *data)
{
  const ConvTask *t = data;
  const LqConvGeom *g = t->g;
  const size_t K = (size_t) g->C * g->kh * g->kw, ohw = (size_t) g->OH * g->OW;
  const size_t in = (size_t) g->C * g->H * g->W, out = (size_t) t->M * ohw;
  int lo, hi;
  lq_parallel_range (t->n_groups, part, parts, &lo, &hi);
  int *idx = g_new (int, t->M);
  float *v = g_new (float, (size_t) t->M * LQ_SPARSE_MAX_GROUP);
  float *patches = g_new (float, LQ_SPARSE_MAX_GROUP * K);
  guint8 *any = g_new (guint8, out);
  for (int i = lo; i < hi; i++)
    {
      const Group *gr = &t->groups[i];
      conv_group (g, gr->len, t->map + gr->start * out, t->M, t->W, t->img + gr->start * in, idx, v,
                  patches, any);
    }
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
lq_conv_adjoint_sparse (const LqConvGeom *g, int n, const float *map, int M, const float *W,
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
  ConvTask t = { g, M, map, W, img, groups, n_groups };
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

/* lq-thin-pass.c: thin layer passes split over samples (see lq-thin-pass.h). Part p owns samples
 * [lo, hi) and the slice of col that holds their columns, laid out as its own [K][(hi − lo)·hw]
 * matrix, so parts share nothing they write. */
#include "lq-thin-pass.h"
#include "lq-parallel.h"
#include <string.h>

typedef struct {
  const LqConvGeom *g;
  int n, M, K, hw; /* K column rows, hw columns per sample */
  const float *img, *map, *A, *bias;
  float *out, *col, *gb;
  float *expanded; /* outer: where A · columns goes, when A is set */
  float *partial; /* outer with several parts: [parts][M·K + M] */
} ThinPass;

static int
rows (const LqConvGeom *g)
{
  return g->C * g->kh * g->kw;
}

static size_t
img_size (const LqConvGeom *g)
{
  return (size_t) g->C * g->H * g->W;
}

/* This part's samples; FALSE when it has none. */
static gboolean
part_range (const ThinPass *t, int part, int parts, int *lo, int *n, float **col)
{
  int hi;
  lq_parallel_range (t->n, part, parts, lo, &hi);
  *n = hi - *lo;
  *col = t->col + (size_t) t->K * *lo * t->hw;
  return *n > 0;
}

static void
expand_part (int part, int parts, void *data)
{
  const ThinPass *t = data;
  int lo, n;
  float *col;
  if (!part_range (t, part, parts, &lo, &n, &col))
    return;
  lq_im2col (t->g, t->img + lo * img_size (t->g), n, col);
  lq_thin_expand (n, t->M, t->K, t->hw, t->A, t->K, col, t->bias, t->out + (size_t) lo * t->M * t->hw);
}

static void
reduce_part (int part, int parts, void *data)
{
  const ThinPass *t = data;
  const size_t plane = (size_t) t->g->H * t->g->W;
  int lo, n;
  float *col;
  if (!part_range (t, part, parts, &lo, &n, &col))
    return;
  float *img = t->out + lo * img_size (t->g);
  lq_thin_reduce (n, t->M, t->K, t->hw, t->A, t->K, t->map + (size_t) lo * t->M * t->hw, col);
  if (t->bias == NULL) /* col2im adds: start from zero (or the base), while it stays in cache */
    memset (img, 0, n * img_size (t->g) * sizeof (float));
  else
    for (int s = 0; s < n; s++)
      for (int c = 0; c < t->g->C; c++)
        {
          float *p = img + ((size_t) s * t->g->C + c) * plane;
          for (size_t q = 0; q < plane; q++)
            p[q] = t->bias[c];
        }
  lq_col2im (t->g, col, n, img);
}

static void
outer_part (int part, int parts, void *data)
{
  const ThinPass *t = data;
  int lo, n;
  float *col;
  if (!part_range (t, part, parts, &lo, &n, &col))
    return;
  float *G = t->out, *gb = t->gb; /* one part: straight into the caller's sums */
  if (t->partial)
    {
      G = t->partial + (size_t) part * (t->M * t->K + t->M);
      gb = t->gb ? G + (size_t) t->M * t->K : NULL;
    }
  lq_im2col (t->g, t->img + lo * img_size (t->g), n, col);
  lq_thin_outer (n, t->M, t->K, t->hw, t->map + (size_t) lo * t->M * t->hw, col, G, t->K, gb);
  if (t->A)
    lq_thin_expand (n, t->M, t->K, t->hw, t->A, t->K, col, NULL,
                    t->expanded + (size_t) lo * t->M * t->hw);
}

void
lq_thin_unfold_expand (const LqConvGeom *g, int n, const float *img, int M, const float *A,
                       const float *bias, float *map, float *col)
{
  ThinPass t = { .g = g, .n = n, .M = M, .K = rows (g), .hw = g->OH * g->OW, .img = img, .A = A,
                 .bias = bias, .out = map, .col = col };
  lq_parallel_run (lq_parallel_parts (n), expand_part, &t);
}

void
lq_thin_reduce_fold (const LqConvGeom *g, int n, const float *map, int M, const float *A,
                     const float *base, float *img, float *col)
{
  ThinPass t = { .g = g, .n = n, .M = M, .K = rows (g), .hw = g->OH * g->OW, .map = map, .A = A,
                 .bias = base, .out = img, .col = col };
  lq_parallel_run (lq_parallel_parts (n), reduce_part, &t);
}

void
lq_thin_unfold_outer (const LqConvGeom *g, int n, const float *img, int M, const float *map,
                      float *G, float *gb, const float *A, float *expanded, float *col)
{
  const int K = rows (g), parts = lq_parallel_parts (n);
  const size_t per = (size_t) M * K + M;
  ThinPass t = { .g = g, .n = n, .M = M, .K = K, .hw = g->OH * g->OW, .img = img, .map = map,
                 .A = A, .out = G, .gb = gb, .expanded = expanded, .col = col };
  if (parts > 1)
    t.partial = g_new0 (float, parts * per);
  lq_parallel_run (parts, outer_part, &t);
  if (parts == 1)
    return;
  for (int p = 0; p < parts; p++)
    {
      const float *P = t.partial + p * per;
      for (size_t i = 0; i < (size_t) M * K; i++)
        G[i] += P[i];
      if (gb)
        for (int m = 0; m < M; m++)
          gb[m] += P[(size_t) M * K + m];
    }
  g_free (t.partial);
}

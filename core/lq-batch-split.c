/* lq-batch-split.c: a layer's batch cut over the engine's threads (lq-batch-split.h). */
#include "lq-batch-split.h"
#include "lq-im2col.h"
#include "lq-tensor.h"
#include <string.h>

typedef struct {
  LqBatchRangeFn fn;
  void *layer;
  int batch;
  LqPartBuffers *parts;
  float *dW, *db;
  size_t nw, nb;
} SplitJob;

static void
split_part (int part, int parts, void *data)
{
  SplitJob *j = data;
  int lo, hi;
  lq_parallel_range (j->batch, part, parts, &lo, &hi);
  float *dW = j->dW, *db = j->db;
  LqPartBuffers *b = &j->parts[part];
  if (part > 0 && (dW || db))
    {
      float *sum = lq_floats_reserve (&b->grad, &b->grad_cap, j->nw + j->nb);
      memset (sum, 0, (j->nw + j->nb) * sizeof (float));
      dW = dW ? sum : NULL;
      db = db ? sum + j->nw : NULL;
    }
  if (lo < hi)
    j->fn (j->layer, b, lo, hi, dW, db);
}

static void
add (float *acc, const float *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    acc[i] += v[i];
}

void
lq_batch_split_run (LqBatchRangeFn fn, void *layer, int batch, double flops,
                    LqPartBuffers *parts, float *dW, size_t nw, float *db, size_t nb)
{
  const int n = lq_parallel_parts_for (batch, flops, LQ_BATCH_SPLIT_MIN_FLOPS,
                                       LQ_BATCH_SPLIT_COLD_FLOPS);
  if (n < 2)
    {
      fn (layer, &parts[0], 0, batch, dW, db);
      return;
    }
  SplitJob j = { fn, layer, batch, parts, dW, db, nw, nb };
  lq_parallel_run (n, split_part, &j);
  for (int p = 1; p < n; p++)
    {
      if (dW)
        add (dW, parts[p].grad, nw);
      if (db)
        add (db, parts[p].grad + nw, nb);
    }
}

int
lq_part_buffers_reserve (LqPartBuffers *b, gboolean thin, int rows, int out_rows, int cols,
                         int samples, float **col, float **tmp)
{
  const int chunk = lq_im2col_chunk (rows, cols, samples);
  *col = lq_floats_reserve (&b->col, &b->col_cap, (size_t) rows * (thin ? 1 : chunk) * cols);
  *tmp = thin ? NULL : lq_floats_reserve (&b->tmp, &b->tmp_cap, (size_t) out_rows * chunk * cols);
  return chunk;
}

void
lq_part_buffers_free (LqPartBuffers *parts)
{
  for (int p = 0; p < LQ_PARALLEL_MAX; p++)
    {
      lq_floats_free (parts[p].col);
      lq_floats_free (parts[p].tmp);
      lq_floats_free (parts[p].grad);
      memset (&parts[p], 0, sizeof parts[p]);
    }
}

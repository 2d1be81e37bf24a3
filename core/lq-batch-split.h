/* lq-batch-split.h: a layer's batch cut over the engine's threads. Each part runs the layer's own
 * loop (unfold, GEMM, fold) on a run of samples with buffers of its own and single-threaded
 * GEMMs, so the memory-bound work around the GEMMs runs on every core too. */
#pragma once
#include <glib.h>
#include "lq-parallel.h"

G_BEGIN_DECLS

/* Work buffers of one part, kept across calls. */
typedef struct {
  float *col, *tmp;
  size_t col_cap, tmp_cap;
  float *grad;   /* parts after the first: their weight and bias gradient sums */
  size_t grad_cap;
} LqPartBuffers;

/* A part's work buffers for its loop over `samples` samples, unfolded `rows` × `cols` (columns
 * per sample) at a time, in chunks of lq_im2col_chunk samples; *tmp then holds the product of
 * `out_rows` rows on a chunk's columns. A thin layer (lq-thin-pass.h) unfolds one sample at a
 * time and has no product: *col is one sample's columns and *tmp is NULL. Returns the chunk. */
int lq_part_buffers_reserve (LqPartBuffers *b, gboolean thin, int rows, int out_rows, int cols,
                             int samples, float **col, float **tmp);

/* The layer's loop over samples [lo, hi) with part buffers b; it accumulates dW (nw floats) and
 * db (nb floats) when they are not NULL. */
typedef void (*LqBatchRangeFn) (void *layer, LqPartBuffers *b, int lo, int hi, float *dW, float *db);

/* A cut pays when it has at least this many flops (a part then lasts ~40 µs or more) and a helper
 * is awake, or at least the second number (it then pays for the ~60 µs of waking one):
 * lq_parallel_parts_for. */
#define LQ_BATCH_SPLIT_MIN_FLOPS 8.0e6
#define LQ_BATCH_SPLIT_COLD_FLOPS 32.0e6

/* Runs fn over [0, batch), cut into parts when batch > 1 and flops (of the whole batch) pay for
 * it (see above); parts holds LQ_PARALLEL_MAX buffers. Part 0 accumulates into dW/db; the others into zeroed sums of their own, added to dW/db
 * after the run in part order: results depend on the thread count only through that grouping. */
void lq_batch_split_run (LqBatchRangeFn fn, void *layer, int batch, double flops,
                         LqPartBuffers *parts, float *dW, size_t nw, float *db,
                         size_t nb);
void lq_part_buffers_free (LqPartBuffers *parts);

G_END_DECLS

/* lq-parallel.h: split a loop over samples across the engine's threads, for the kernels that do
 * not go through OpenBLAS (which has its own pool). */
#pragma once
#include <glib.h>

/* fn (part, parts, data) for every part in [0, parts). Part 0 runs on the calling thread, the
 * others on persistent helper threads (created on first use, asleep between calls). When the
 * helpers are busy with another caller's work, every part runs on the caller, in order: the
 * result is the same either way, since what a part computes depends only on its index. */
typedef void (*LqParallelFn) (int part, int parts, void *data);
void lq_parallel_run (int parts, LqParallelFn fn, void *data);

/* How many parts to cut n independent items into: as many as the engine has threads
 * (lq_gemm_get_threads: one thread setting for the whole engine), at most n and at most
 * LQ_PARALLEL_MAX; 1 inside a part (a cut within a cut would only queue behind itself). */
#define LQ_PARALLEL_MAX 8
int lq_parallel_parts (int n);

/* lq_parallel_parts (n) when a cut of `flops` of work pays, else 1. It pays from cold_flops, and
 * from warm_flops while a helper polls for its next job (for a short while after its last one):
 * a job handed to it then starts at once, where a sleeping helper takes ~60 µs to wake. */
int lq_parallel_parts_for (int n, double flops, double warm_flops, double cold_flops);

/* The items of part `part` when n items are cut into `parts` contiguous runs: [*lo, *hi). */
void lq_parallel_range (int n, int part, int parts, int *lo, int *hi);

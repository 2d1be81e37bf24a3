/* lq-parallel.c: a small persistent pool for lq_parallel_run.
 *
 * The kernels it serves take a millisecond or more at training batch sizes, so one futex wake and
 * one wait per call cost little; creating threads per call, or OpenMP (whose idle threads spin and
 * would steal the core OpenBLAS's threads need right after), would cost more. POSIX locks rather
 * than GMutex, which is a bare futex that ThreadSanitizer cannot follow. */
#include "lq-parallel.h"
#include "lq-gemm.h"
#include <pthread.h>

static pthread_mutex_t pool_owner = PTHREAD_MUTEX_INITIALIZER; /* held by the caller whose parts
                                                                  the helpers run */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;       /* guards everything below */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static GThread *helpers[LQ_PARALLEL_MAX];
static int n_helpers;
static guint64 generation; /* bumped for every job */
static LqParallelFn job_fn;
static void *job_data;
static int job_parts, pending;
static __thread gboolean in_part; /* this thread is running a part: nested cuts run whole */

static void
run_part (LqParallelFn fn, int part, int parts, void *data)
{
  const gboolean outer = in_part;
  in_part = TRUE;
  fn (part, parts, data);
  in_part = outer;
}

static gpointer
helper_main (gpointer p)
{
  const int part = GPOINTER_TO_INT (p);
  guint64 seen = 0;
  pthread_mutex_lock (&lock);
  for (;;)
    {
      while (generation == seen)
        pthread_cond_wait (&wake, &lock);
      seen = generation;
      if (part >= job_parts)
        continue;
      LqParallelFn fn = job_fn;
      void *data = job_data;
      int parts = job_parts;
      pthread_mutex_unlock (&lock);
      run_part (fn, part, parts, data);
      pthread_mutex_lock (&lock);
      if (--pending == 0)
        pthread_cond_signal (&done);
    }
  return NULL;
}

void
lq_parallel_run (int parts, LqParallelFn fn, void *data)
{
  parts = CLAMP (parts, 1, LQ_PARALLEL_MAX);
  if (parts == 1 || pthread_mutex_trylock (&pool_owner) != 0)
    {
      for (int p = 0; p < parts; p++)
        run_part (fn, p, parts, data);
      return;
    }
  pthread_mutex_lock (&lock);
  while (n_helpers < parts - 1)
    {
      n_helpers++; /* helper i runs part i; helpers are never joined (they sleep until exit) */
      helpers[n_helpers] = g_thread_new ("lq-parallel", helper_main, GINT_TO_POINTER (n_helpers));
    }
  job_fn = fn, job_data = data, job_parts = parts, pending = parts - 1;
  generation++;
  pthread_cond_broadcast (&wake);
  pthread_mutex_unlock (&lock);

  run_part (fn, 0, parts, data);

  pthread_mutex_lock (&lock);
  while (pending > 0)
    pthread_cond_wait (&done, &lock);
  pthread_mutex_unlock (&lock);
  pthread_mutex_unlock (&pool_owner);
}

int
lq_parallel_parts (int n)
{
  if (in_part)
    return 1;
  int t = lq_gemm_get_threads ();
  return CLAMP (MIN (t, n), 1, LQ_PARALLEL_MAX);
}

void
lq_parallel_range (int n, int part, int parts, int *lo, int *hi)
{
  *lo = (int) ((gint64) n * part / parts);
  *hi = (int) ((gint64) n * (part + 1) / parts);
}

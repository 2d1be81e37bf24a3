/* lq-parallel.c: a small persistent pool for lq_parallel_run: the engine's only threads besides
 * the caller's (OpenBLAS runs single-threaded, lq-gemm.c).
 *
 * Creating threads per call, or OpenMP (whose idle threads spin for long), would cost more than
 * a wake and a short poll. POSIX locks rather than GMutex, which is a bare futex that
 * ThreadSanitizer cannot follow. */
#include "lq-parallel.h"
#include "lq-gemm.h"
#include <pthread.h>

static pthread_mutex_t pool_owner = PTHREAD_MUTEX_INITIALIZER; /* held by the caller whose parts
                                                                  the helpers run */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;       /* guards everything below */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static GThread *helpers[LQ_PARALLEL_MAX];
static int n_helpers;
static gint generation; /* bumped for every job (atomic: polled without the lock) */
static LqParallelFn job_fn;
static void *job_data;
static int job_parts;
static gint pending; /* helpers still running (atomic: polled without the lock) */
static gint polling; /* helpers polling for the next job right now (atomic) */
static gint call_active; /* a caller is inside lq_parallel_run (atomic) */
static gint64 call_end_us; /* when the last call returned (atomic) */
static __thread gboolean in_part; /* this thread is running a part: nested cuts run whole */

static void
run_part (LqParallelFn fn, int part, int parts, void *data)
{
  const gboolean outer = in_part;
  in_part = TRUE;
  fn (part, parts, data);
  in_part = outer;
}

/* Calls come in bursts (a layer's parts, then the next layer's): a helper that has just finished
 * (until SPIN_US after the call returns: poll_for_job), or a caller waiting for its helpers (for
 * SPIN_US), first polls before sleeping on the condition.
 * Waking a sleeping thread costs ~60 µs on these VMs (the idle vCPU takes an interrupt through
 * the hypervisor): a dense pass of 64 × 64 × 1024 took 147 µs with it and 74 µs with the poll
 * (docs/PERFORMANCE.md). Short, unlike OpenBLAS's ~0.1 s, so an idle helper soon leaves the
 * core to others. */
#define SPIN_US 100

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause ()
#else
#define CPU_RELAX() ((void) 0)
#endif

static void
spin_while_equal (const gint *atomic, gint value)
{
  const gint64 until = g_get_monotonic_time () + SPIN_US;
  while (g_atomic_int_get (atomic) == value && g_get_monotonic_time () < until)
    for (int i = 0; i < 32; i++)
      CPU_RELAX ();
}

/* A helper, done with its part, polls for the next job until SPIN_US after the call returns: the
 * caller's part can end later than the helper's (by more than SPIN_US in a 12 ms GEMM half on
 * these VMs), and a helper that went to sleep in between would leave the caller's next small
 * product uncut (lq_parallel_parts_for), and every one after it, since nothing wakes it. A helper
 * that had no part in the call (it has fewer parts than there are helpers) polls for SPIN_US only,
 * rather than spin beside the ones at work. */
static void
poll_for_job (gint seen, gboolean had_part)
{
  if (!had_part)
    {
      spin_while_equal (&generation, seen);
      return;
    }
  while (g_atomic_int_get (&generation) == seen)
    {
      if (!g_atomic_int_get (&call_active) &&
          g_get_monotonic_time () >= __atomic_load_n (&call_end_us, __ATOMIC_ACQUIRE) + SPIN_US)
        return;
      for (int i = 0; i < 32; i++)
        CPU_RELAX ();
    }
}

static gpointer
helper_main (gpointer p)
{
  const int part = GPOINTER_TO_INT (p);
  gint seen = 0;
  gboolean had_part = FALSE;
  g_atomic_int_inc (&polling);
  for (;;)
    {
      poll_for_job (seen, had_part);
      g_atomic_int_add (&polling, -1);
      pthread_mutex_lock (&lock);
      while (g_atomic_int_get (&generation) == seen)
        pthread_cond_wait (&wake, &lock);
      seen = g_atomic_int_get (&generation);
      had_part = part < job_parts;
      if (!had_part)
        {
          pthread_mutex_unlock (&lock);
          g_atomic_int_inc (&polling);
          continue;
        }
      LqParallelFn fn = job_fn;
      void *data = job_data;
      int parts = job_parts;
      pthread_mutex_unlock (&lock);
      run_part (fn, part, parts, data);
      g_atomic_int_inc (&polling); /* counted as polling before the caller can see its part done */
      pthread_mutex_lock (&lock);
      if (g_atomic_int_dec_and_test (&pending))
        pthread_cond_signal (&done);
      pthread_mutex_unlock (&lock);
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
  g_atomic_int_set (&call_active, 1);
  pthread_mutex_lock (&lock);
  while (n_helpers < parts - 1)
    {
      n_helpers++; /* helper i runs part i; helpers are never joined (they sleep until exit) */
      helpers[n_helpers] = g_thread_new ("lq-parallel", helper_main, GINT_TO_POINTER (n_helpers));
    }
  job_fn = fn, job_data = data, job_parts = parts;
  g_atomic_int_set (&pending, parts - 1);
  g_atomic_int_inc (&generation);
  pthread_cond_broadcast (&wake); /* no system call when no helper sleeps */
  pthread_mutex_unlock (&lock);

  run_part (fn, 0, parts, data);

  spin_while_equal (&pending, 1); /* parts − 1 is 1 on two cores; with more, straight to the wait */
  pthread_mutex_lock (&lock);
  while (g_atomic_int_get (&pending) > 0)
    pthread_cond_wait (&done, &lock);
  pthread_mutex_unlock (&lock);
  __atomic_store_n (&call_end_us, g_get_monotonic_time (), __ATOMIC_RELEASE);
  g_atomic_int_set (&call_active, 0);
  pthread_mutex_unlock (&pool_owner);
}

int
lq_parallel_parts_for (int n, double flops, double warm_flops, double cold_flops)
{
  const gboolean pays = flops >= cold_flops || (flops >= warm_flops && g_atomic_int_get (&polling) > 0);
  return pays ? lq_parallel_parts (n) : 1;
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

/* test-parallel.c: the sample-splitting pool of lq-parallel.c. Every part runs exactly once, with
 * the part count it was given; callers on several threads at once all finish (the one that finds
 * the pool busy runs its parts itself); the ranges tile [0, n); inside a part, a nested cut is
 * one part (it would only queue behind its own caller); a helper done with its part stays awake
 * until just after the call returns, however long the caller's part took. */
#include <glib.h>
#include "lq-gemm.h"
#include "lq-parallel.h"

typedef struct {
  int parts;
  gint runs[LQ_PARALLEL_MAX];
  gint wrong_parts;
} Count;

static void
count_part (int part, int parts, void *data)
{
  Count *c = data;
  if (parts != c->parts)
    g_atomic_int_inc (&c->wrong_parts);
  g_atomic_int_inc (&c->runs[part]);
}

static void
test_every_part_once (void)
{
  for (int parts = 1; parts <= LQ_PARALLEL_MAX; parts++)
    for (int rep = 0; rep < 50; rep++)
      {
        Count c = { .parts = parts };
        lq_parallel_run (parts, count_part, &c);
        g_assert_cmpint (c.wrong_parts, ==, 0);
        for (int p = 0; p < LQ_PARALLEL_MAX; p++)
          g_assert_cmpint (c.runs[p], ==, p < parts ? 1 : 0);
      }
}

static void
record_nested_parts (int part, int parts, void *data)
{
  (void) parts;
  ((gint *) data)[part] = lq_parallel_parts (100);
}

static void
test_nested_is_one_part (void)
{
  const int saved = lq_gemm_get_threads ();
  lq_gemm_set_threads (2);
  g_assert_cmpint (lq_parallel_parts (100), ==, 2);
  gint nested[2] = { 0, 0 };
  lq_parallel_run (2, record_nested_parts, nested);
  g_assert_cmpint (nested[0], ==, 1);
  g_assert_cmpint (nested[1], ==, 1);
  g_assert_cmpint (lq_parallel_parts (100), ==, 2); /* back outside */
  lq_gemm_set_threads (saved);
}

static gpointer
caller_main (gpointer data)
{
  for (int rep = 0; rep < 500; rep++)
    {
      Count c = { .parts = 3 };
      lq_parallel_run (3, count_part, &c);
      for (int p = 0; p < 3; p++)
        if (c.runs[p] != 1 || c.wrong_parts != 0)
          return GINT_TO_POINTER (FALSE);
    }
  (void) data;
  return GINT_TO_POINTER (TRUE);
}

static void
test_concurrent_callers (void)
{
  GThread *t[4];
  for (int i = 0; i < 4; i++)
    t[i] = g_thread_new ("caller", caller_main, NULL);
  for (int i = 0; i < 4; i++)
    g_assert_true (GPOINTER_TO_INT (g_thread_join (t[i])));
}

static void
test_ranges_tile (void)
{
  for (int n = 0; n < 40; n++)
    for (int parts = 1; parts <= LQ_PARALLEL_MAX; parts++)
      {
        int expect = 0;
        for (int p = 0; p < parts; p++)
          {
            int lo, hi;
            lq_parallel_range (n, p, parts, &lo, &hi);
            g_assert_cmpint (lo, ==, expect);
            g_assert_cmpint (hi, >=, lo);
            g_assert_cmpint (hi - lo, <=, n / parts + 1);
            expect = hi;
          }
        g_assert_cmpint (expect, ==, n);
      }
}

/* Part 0 (the caller's) takes 3 ms, part 1 (the helper's) nothing. */
static void
slow_first_part (int part, int parts, void *data)
{
  (void) parts, (void) data;
  if (part == 0)
    g_usleep (3000);
}

/* Right after a call whose caller part outlasted the helper's by far more than the helper's poll,
 * a product worth cutting only while a helper is awake is still cut: the helper polled until the
 * call returned. (It used to stop 100 µs after its own part, and the next small product, and every
 * one after it, ran on the caller alone: 0 of 20 here.) At least 15 of 20, not all: on a loaded
 * machine the caller can lose its core for longer than the poll between the return and the check. */
static void
test_helper_awake_after_call (void)
{
  const int saved = lq_gemm_get_threads ();
  lq_gemm_set_threads (2);
  int cut = 0;
  for (int rep = 0; rep < 20; rep++)
    {
      lq_parallel_run (2, slow_first_part, NULL);
      cut += lq_parallel_parts_for (100, 1.0, 1.0, 1e30) == 2;
    }
  g_assert_cmpint (cut, >=, 15);
  lq_gemm_set_threads (saved);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/parallel/every-part-once", test_every_part_once);
  g_test_add_func ("/parallel/concurrent-callers", test_concurrent_callers);
  g_test_add_func ("/parallel/ranges-tile", test_ranges_tile);
  g_test_add_func ("/parallel/nested-is-one-part", test_nested_is_one_part);
  g_test_add_func ("/parallel/helper-awake-after-call", test_helper_awake_after_call);
  return g_test_run ();
}

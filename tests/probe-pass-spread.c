/* probe-pass-spread.c: how one layer pass's time spreads from call to call on this machine. It
 * runs conv1's weight gradient (the LQ-VAE's 1 → 64 3×3 convolution at batch 64: 58 MFLOP and a
 * 12.8 MB operand) in 30 bursts of 40 calls, each burst after a 1024³ GEMM as in `lq bench`, and
 * prints percentiles of the single calls, on the engine's threads (default 2) or on the number
 * given. docs/PERFORMANCE.md quotes it. Not a test (it asserts nothing), so not built by default:
 *
 *   ninja -C build tests/probe-pass-spread && build/tests/probe-pass-spread [threads]
 */
#include <stdio.h>
#include <stdlib.h>
#include "lq-gemm.h"
#include "lq-layer.h"
#include "lq-net.h"
#include "lq-tensor.h"

enum { BATCH = 64, BURSTS = 30, CALLS = 40, N = 1024 };

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  if (argc > 1)
    lq_gemm_set_threads (atoi (argv[1]));
  float *a = lq_floats_new ((size_t) N * N), *b = lq_floats_new ((size_t) N * N);
  float *c = lq_floats_new ((size_t) N * N);
  for (size_t i = 0; i < (size_t) N * N; i++)
    a[i] = b[i] = 1e-3f * (float) (i % 17);
  LqRng rng;
  lq_rng_seed (&rng, 1);
  LqNet *net = lq_net_new (1, 28, 28);
  lq_net_add (net, lq_conv2d_new_same ("conv1", 64, 3, 1), NULL);
  lq_net_init (net, &rng);
  LqLayer *l = lq_net_layer (net, 0);
  float *x = lq_floats_new ((size_t) BATCH * l->in_size);
  float *dy = lq_floats_new ((size_t) BATCH * l->out_size);
  for (size_t i = 0; i < (size_t) BATCH * l->in_size; i++)
    x[i] = 1e-2f * (float) (i % 13);
  for (size_t i = 0; i < (size_t) BATCH * l->out_size; i++)
    dy[i] = 1e-2f * (float) (i % 11) - 0.05f;

  double *t = g_new (double, BURSTS * CALLS), total = 0.0;
  for (int s = 0; s < BURSTS; s++)
    {
      lq_gemm (FALSE, FALSE, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
      for (int q = 0; q < CALLS; q++)
        {
          gint64 t0 = g_get_monotonic_time ();
          l->klass->backward (l, NULL, dy, x, NULL, BATCH, TRUE);
          total += t[s * CALLS + q] = (g_get_monotonic_time () - t0) / 1e3;
        }
    }
  const int n = BURSTS * CALLS;
  qsort (t, n, sizeof *t, cmp_double);
  printf ("conv1 weight gradient, batch %d, %d engine threads, %d calls: ms per call\n", BATCH,
          lq_gemm_get_threads (), n);
  printf ("p5 %.3f  p25 %.3f  p50 %.3f  p75 %.3f  p95 %.3f  mean %.3f\n", t[n / 20], t[n / 4],
          t[n / 2], t[3 * n / 4], t[19 * n / 20], total / n);
  g_free (t);
  lq_floats_free (x), lq_floats_free (dy);
  lq_floats_free (a), lq_floats_free (b), lq_floats_free (c);
  lq_net_free (net);
  return 0;
}

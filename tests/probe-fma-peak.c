/* probe-fma-peak.c: the machine's peak single-precision FMA rate, with 256-bit (AVX2) and
 * 512-bit (AVX-512) vectors, on 1 and 2 threads: twelve independent FMA chains per thread, in
 * registers, no memory traffic. docs/PERFORMANCE.md compares the LQ-VAE step with this ceiling.
 * Not built by Meson (it needs -mavx512f); run it by hand:
 *
 *   gcc -O3 -funroll-loops -mavx512f -mfma -pthread tests/probe-fma-peak.c -o /tmp/fma-peak
 *   /tmp/fma-peak
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

enum { CHAINS = 12, ROUNDS = 20000000 };

static double
now_s (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void *
run_avx2 (void *out)
{
  __m256 a[CHAINS], b = _mm256_set1_ps (0.9999f), c = _mm256_set1_ps (1e-4f);
  for (int i = 0; i < CHAINS; i++)
    a[i] = _mm256_set1_ps (1e-3f * i);
  for (long r = 0; r < ROUNDS; r++)
    for (int i = 0; i < CHAINS; i++)
      a[i] = _mm256_fmadd_ps (a[i], b, c);
  float s = 0;
  for (int i = 0; i < CHAINS; i++)
    s += _mm256_cvtss_f32 (a[i]);
  *(float *) out = s; /* keeps the chains alive */
  return NULL;
}

static void *
run_avx512 (void *out)
{
  __m512 a[CHAINS], b = _mm512_set1_ps (0.9999f), c = _mm512_set1_ps (1e-4f);
  for (int i = 0; i < CHAINS; i++)
    a[i] = _mm512_set1_ps (1e-3f * i);
  for (long r = 0; r < ROUNDS; r++)
    for (int i = 0; i < CHAINS; i++)
      a[i] = _mm512_fmadd_ps (a[i], b, c);
  float s = 0;
  for (int i = 0; i < CHAINS; i++)
    s += _mm512_cvtss_f32 (a[i]);
  *(float *) out = s;
  return NULL;
}

/* GFLOP/s of `threads` threads each running fn (2 flops per lane per FMA). */
static double
measure (void *(*fn) (void *), int lanes, int threads)
{
  pthread_t t[2];
  float sink[2];
  double t0 = now_s ();
  for (int i = 0; i < threads; i++)
    pthread_create (&t[i], NULL, fn, &sink[i]);
  for (int i = 0; i < threads; i++)
    pthread_join (t[i], NULL);
  double s = now_s () - t0;
  return 2.0 * lanes * CHAINS * (double) ROUNDS * threads / s / 1e9;
}

int
main (void)
{
  for (int threads = 1; threads <= 2; threads++)
    {
      double best2 = 0, best5 = 0;
      for (int rep = 0; rep < 3; rep++) /* best of 3: the machine is shared */
        {
          double g2 = measure (run_avx2, 8, threads), g5 = measure (run_avx512, 16, threads);
          best2 = g2 > best2 ? g2 : best2;
          best5 = g5 > best5 ? g5 : best5;
        }
      printf ("%d thread%s: AVX2 %.1f GFLOP/s, AVX-512 %.1f GFLOP/s\n", threads,
              threads > 1 ? "s" : "", best2, best5);
    }
  return 0;
}

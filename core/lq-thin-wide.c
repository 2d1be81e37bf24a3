/* lq-thin-wide.c: the thin reduce for 3×3 kernels (K = 9 rows) with AVX-512.
 *
 * The AVX2 kernel (lq-im2col.c) holds 3 rows × 32 columns in registers, so it reads each vector of
 * y three times and issues a broadcast and a load for every 4 FMAs. With 32 registers of 16
 * floats all nine rows fit (9 accumulators, 16 columns): y is read once, and there are half as
 * many instructions per flop. On this project's machine the 512-bit FMAs run at the same flop
 * rate as the 256-bit ones (tests/probe-fma-peak.c); the gain is in the loads and broadcasts.
 * At batch 64, the two kernels alternated call by call (medians of 300, operands in cache):
 * conv1's backward to the input 0.84 against 1.17 ms on one thread, 0.36 against 0.44 on two;
 * deconv4's forward 0.79 against 1.10 and 0.36 against 0.45. From DRAM the passes are bound by
 * the reads and gain less. The same layout did nothing for expand and outer (their stores and
 * per-block sums dominate), so they stay AVX2 only.
 * Every column sums m = 0, 1, … with one FMA each, like the AVX2 kernel: the same bits. */
#include "lq-thin-wide.h"

static gboolean enabled = TRUE;

void
lq_thin_wide_set_enabled (gboolean on)
{
  enabled = on;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__ ((target ("avx512f,fma"))) static void
reduce9 (int n, int M, int hw, const float *A, int lda, const float *y, float *col)
{
  const size_t ldcol = (size_t) n * hw;
  for (int s = 0; s < n; s++)
    {
      const float *ys = y + (size_t) s * M * hw;
      float *cs = col + (size_t) s * hw;
      for (int p = 0; p < hw; p += 16)
        {
          /* the last block of a row may be short: masked lanes are neither read nor written */
          const __mmask16 mask = hw - p >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (hw - p)) - 1);
          __m512 c0 = _mm512_setzero_ps (), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
          __m512 c6 = c0, c7 = c0, c8 = c0;
          for (int m = 0; m < M; m++)
            {
              const float *ym = ys + (size_t) m * hw + p, *am = A + (size_t) m * lda;
              /* 64 rows at a stride: more streams than the hardware prefetcher follows */
              __builtin_prefetch (ym + 64);
              const __m512 v = _mm512_maskz_loadu_ps (mask, ym);
              c0 = _mm512_fmadd_ps (_mm512_set1_ps (am[0]), v, c0);
              c1 = _mm512_fmadd_ps (_mm512_set1_ps (am[1]), v, c1);
              c2 = _mm512_fmadd_ps (_mm512_set1_ps (am[2]), v, c2);
              c3 = _mm512_fmadd_ps (_mm512_set1_ps (am[3]), v, c3);
              c4 = _mm512_fmadd_ps (_mm512_set1_ps (am[4]), v, c4);
              c5 = _mm512_fmadd_ps (_mm512_set1_ps (am[5]), v, c5);
              c6 = _mm512_fmadd_ps (_mm512_set1_ps (am[6]), v, c6);
              c7 = _mm512_fmadd_ps (_mm512_set1_ps (am[7]), v, c7);
              c8 = _mm512_fmadd_ps (_mm512_set1_ps (am[8]), v, c8);
            }
          float *r = cs + p;
          _mm512_mask_storeu_ps (r, mask, c0);
          _mm512_mask_storeu_ps (r + ldcol, mask, c1);
          _mm512_mask_storeu_ps (r + 2 * ldcol, mask, c2);
          _mm512_mask_storeu_ps (r + 3 * ldcol, mask, c3);
          _mm512_mask_storeu_ps (r + 4 * ldcol, mask, c4);
          _mm512_mask_storeu_ps (r + 5 * ldcol, mask, c5);
          _mm512_mask_storeu_ps (r + 6 * ldcol, mask, c6);
          _mm512_mask_storeu_ps (r + 7 * ldcol, mask, c7);
          _mm512_mask_storeu_ps (r + 8 * ldcol, mask, c8);
        }
    }
}

gboolean
lq_thin_wide_available (void)
{
  static gsize once;
  static gboolean has;
  if (g_once_init_enter (&once))
    {
      has = __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512vl") &&
            __builtin_cpu_supports ("fma");
      g_once_init_leave (&once, 1);
    }
  return has;
}

gboolean
lq_thin_wide_enabled (void)
{
  return enabled && lq_thin_wide_available ();
}

gboolean
lq_thin_wide_reduce9 (int n, int M, int hw, const float *A, int lda, const float *y, float *col)
{
  if (!lq_thin_wide_enabled ())
    return FALSE;
  reduce9 (n, M, hw, A, lda, y, col);
  return TRUE;
}

#else

gboolean
lq_thin_wide_available (void)
{
  return FALSE;
}

gboolean
lq_thin_wide_enabled (void)
{
  return FALSE;
}

gboolean
lq_thin_wide_reduce9 (int n, int M, int hw, const float *A, int lda, const float *y, float *col)
{
  (void) n, (void) M, (void) hw, (void) A, (void) lda, (void) y, (void) col;
  return FALSE;
}

#endif

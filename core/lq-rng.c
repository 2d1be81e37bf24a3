/* lq-rng.c: xoshiro256** seeded through splitmix64. */
#include "lq-rng.h"
#include <math.h>

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void
lq_rng_seed (LqRng *rng, guint64 seed)
{
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&seed);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

guint64
lq_rng_next (LqRng *rng)
{
  guint64 *s = rng->s;
  guint64 result = rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

double
lq_rng_uniform (LqRng *rng)
{
  return (lq_rng_next (rng) >> 11) * 0x1.0p-53;
}

guint32
lq_rng_below (LqRng *rng, guint32 n)
{
  /* Lemire's multiply-shift with rejection: no modulo bias. */
  guint64 m = (guint64) (guint32) (lq_rng_next (rng) >> 32) * n;
  guint32 l = (guint32) m;
  if (l < n)
    {
      guint32 t = -n % n;
      while (l < t)
        {
          m = (guint64) (guint32) (lq_rng_next (rng) >> 32) * n;
          l = (guint32) m;
        }
    }
  return (guint32) (m >> 32);
}

double
lq_rng_normal (LqRng *rng)
{
  double u1 = lq_rng_uniform (rng);
  double u2 = lq_rng_uniform (rng);
  return sqrt (-2.0 * log (1.0 - u1)) * cos (2.0 * G_PI * u2);
}

void
lq_rng_shuffle (LqRng *rng, guint32 *a, guint32 n)
{
  for (guint32 i = n; i > 1; i--)
    {
      guint32 j = lq_rng_below (rng, i);
      guint32 t = a[i - 1];
      a[i - 1] = a[j];
      a[j] = t;
    }
}

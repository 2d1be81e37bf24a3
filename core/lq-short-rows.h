/* lq-short-rows.h: adding one short row of floats into another (an output row of the small
 * layers, a kernel row of a patch), shared by col2im and the sparse adjoint. */
#pragma once
#include <glib.h>

/* d[k] += s[k] for a short row (an output row of the small layers): 4-float vector adds, then the
 * remainder one at a time; unrolled by hand for rows of up to 16 (a loop is not vectorised here). */
static inline void
add_short (float *restrict d, const float *restrict s, int n)
{
  typedef float v4 __attribute__ ((vector_size (16), aligned (4), may_alias));
  int k = 0;
  if (n <= 16)
    {
      if (n >= 4)
        *(v4 *) d += *(const v4 *) s, k = 4;
      if (n >= 8)
        *(v4 *) (d + 4) += *(const v4 *) (s + 4), k = 8;
      if (n >= 12)
        *(v4 *) (d + 8) += *(const v4 *) (s + 8), k = 12;
      if (n >= 16)
        *(v4 *) (d + 12) += *(const v4 *) (s + 12), k = 16;
    }
  for (; k < n; k++)
    d[k] += s[k];
}

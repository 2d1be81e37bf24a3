/* lq-rng.h: a seeded generator passed explicitly (xoshiro256**); no global state. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct { guint64 s[4]; } LqRng;

void    lq_rng_seed (LqRng *rng, guint64 seed);
guint64 lq_rng_next (LqRng *rng);
double  lq_rng_uniform (LqRng *rng);            /* [0, 1) with 53 random bits */
guint32 lq_rng_below (LqRng *rng, guint32 n);    /* uniform in [0, n), unbiased */
double  lq_rng_normal (LqRng *rng);             /* N(0, 1), Box-Muller, no cached spare */
void    lq_rng_shuffle (LqRng *rng, guint32 *a, guint32 n);

G_END_DECLS

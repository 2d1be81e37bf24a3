/* lq-tsne.h: exact t-SNE (van der Maaten & Hinton 2008) for a few thousand points, seeded.
 *
 * O(n²) memory and time per iteration: meant for the latent-map figure (≤ LQ_TSNE_MAX_POINTS
 * codes), not for whole data sets. Same seed and input give the same map.
 */
#pragma once
#include <glib.h>
#include "lq-monitor.h"

G_BEGIN_DECLS

#define LQ_TSNE_MAX_POINTS 2000

typedef struct {
  double perplexity;     /* 30; lowered to (n − 1) / 3 for small n */
  int iterations;        /* 1000 */
  double learning_rate;  /* 200 */
  double exaggeration;   /* 12, for the first 250 iterations */
  guint64 seed;          /* initial positions ~ N(0, 1e-4 I) from this seed */
} LqTsneParams;

LqTsneParams lq_tsne_defaults (void);

/* y[n, 2] from x[n, d]. Progress in iterations; fails on bad parameters, n outside
 * [2, LQ_TSNE_MAX_POINTS], non-finite input or cancellation. */
gboolean lq_tsne (const float *x, int n, int d, const LqTsneParams *params, float *y,
                  const LqMonitor *monitor, GError **error);

G_END_DECLS

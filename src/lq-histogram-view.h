/* lq-histogram-view.h: the distribution of the fraction of latent bits an attack flips, over a
 * batch of test images, as in the seed's figure: one bar per bucket of flipped fraction, labelled
 * with LQ-VAE's purified accuracy on the images in that bucket; the bucket of the image on
 * screen is highlighted. Fills in while the worker computes. */
#pragma once
#include <gtk/gtk.h>
#include "lq-explorer-palette.h"

G_BEGIN_DECLS

#define LQ_TYPE_HISTOGRAM_VIEW (lq_histogram_view_get_type ())
G_DECLARE_FINAL_TYPE (LqHistogramView, lq_histogram_view, LQ, HISTOGRAM_VIEW, GtkWidget)

#define LQ_HISTOGRAM_MAX_BUCKETS 20

GtkWidget *lq_histogram_view_new (void);
/* done of total images so far: fraction of bits flipped and whether purification classified the
 * image correctly. n = 0 clears. */
void lq_histogram_view_set_data (LqHistogramView *self, int done, int total, const float *fractions,
                                 const guint8 *correct);
/* The current image's flipped fraction (< 0: none). */
void lq_histogram_view_set_current (LqHistogramView *self, double fraction);
void lq_histogram_view_set_status (LqHistogramView *self, const char *status);

/* Buckets for the data now held: their number, width (as a fraction) and per bucket the count and
 * accuracy (NaN when empty). Returns the number of buckets. */
int  lq_histogram_view_get_buckets (LqHistogramView *self, double *width, int *counts, double *accuracy);
int  lq_histogram_view_get_current_bucket (LqHistogramView *self);
int  lq_histogram_view_get_done (LqHistogramView *self);

void lq_histogram_view_draw (LqHistogramView *self, cairo_t *cr, int width, int height,
                             const LqExplorerPalette *p);
/* Bounds of bucket b's bar area (full height) for that size. */
void lq_histogram_view_bar_rect (LqHistogramView *self, int width, int height, int b,
                                 graphene_rect_t *rect);

G_END_DECLS

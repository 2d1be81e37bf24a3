/* lq-figure.h: the figures of docs/RESULTS.md drawn with plain Cairo (no GTK, no Pango), so the
 * command line and the tests can render them headless. Every figure shares one plot rectangle
 * (lq_figure_plot_rect) inside a white page, which the tests use to find what was drawn. */
#pragma once
#include <cairo.h>
#include <glib.h>

#define LQ_FIGURE_MAX_BUCKETS 20

/* The data area of a width × height figure. */
void lq_figure_plot_rect (int width, int height, double *x, double *y, double *w, double *h);

/* Bit-flip histogram: per image the fraction of latent bits an attack flipped and whether the
 * purified adversarial image was classified correctly. Buckets are 2, 5, 10 or 20 % of the bits
 * wide (the narrowest that holds the largest fraction in ten); returns the bucket count and
 * fills counts/accuracy (NAN for empty buckets) and *width. */
int  lq_bitflip_buckets (const float *fractions, const guint8 *correct, int n, double *width,
                         int counts[LQ_FIGURE_MAX_BUCKETS], double accuracy[LQ_FIGURE_MAX_BUCKETS]);
void lq_figure_draw_bitflips (cairo_t *cr, int width, int height, const char *title,
                              const float *fractions, const guint8 *correct, int n);

/* Latent map: clean[i] and adv[i] (2-D, e.g. t-SNE of the codes) of n images with their labels;
 * adv may be NULL. An 8 × 8 grid is laid over the plot, as in the seed's figure. */
void lq_figure_draw_latent_map (cairo_t *cr, int width, int height, const char *title,
                                const float *clean, const float *adv, const guint8 *labels, int n,
                                const char *const *class_names);

typedef struct {
  const char *label;
  double rgb[3];
  gboolean dashed;
  int n;
  const double *x, *y;   /* y in [0, 1]; NAN points are skipped */
} LqFigureCurve;

/* Curves over x ∈ [0, x_max], y ∈ [0, 1] shown in %. */
void lq_figure_draw_curves (cairo_t *cr, int width, int height, const char *title,
                            const char *x_label, const char *y_label, double x_max,
                            const LqFigureCurve *curves, int n_curves);

/* The class colours (10) used by the latent map. */
void lq_figure_class_rgb (int c, double rgb[3]);

/* Writes the surface as PNG through a temporary file and a rename. */
gboolean lq_figure_write_png (cairo_surface_t *surface, const char *path, GError **error);

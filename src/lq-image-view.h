/* lq-image-view.h: one panel of the comparison: a 28×28 image scaled up crisply in a frame of
 * its role's colour (original, adversarial, purified), the classifier's prediction with its
 * confidence and a top-3 bar chart; optionally the signed perturbation as a heat map with scale. */
#pragma once
#include <gtk/gtk.h>
#include "lq-explorer-palette.h"

G_BEGIN_DECLS

#define LQ_TYPE_IMAGE_VIEW (lq_image_view_get_type ())
G_DECLARE_FINAL_TYPE (LqImageView, lq_image_view, LQ, IMAGE_VIEW, GtkWidget)

GtkWidget *lq_image_view_new (LqExplorerRole role);
void lq_image_view_set_role (LqImageView *self, LqExplorerRole role);
LqExplorerRole lq_image_view_get_role (LqImageView *self);
void lq_image_view_set_title (LqImageView *self, const char *title, const char *subtitle);
/* image: 784 values in [0, 1] or NULL (then the placeholder text is shown). */
void lq_image_view_set_image (LqImageView *self, const float *image);
/* probs: 10 softmax values or NULL; truth: the true class or -1. */
void lq_image_view_set_probs (LqImageView *self, const float *probs, int truth);
void lq_image_view_set_class_names (LqImageView *self, const char *const *names);
void lq_image_view_set_footer (LqImageView *self, const char *footer);
void lq_image_view_set_placeholder (LqImageView *self, const char *text);
/* The text shown in place of the image (NULL while an image is shown), and the footer. */
const char *lq_image_view_get_placeholder (LqImageView *self);
const char *lq_image_view_get_footer (LqImageView *self);
/* delta: adv − x (784) or NULL; shown instead of the image while heat map mode is on. */
void lq_image_view_set_delta (LqImageView *self, const float *delta);
void lq_image_view_set_heatmap (LqImageView *self, gboolean heatmap);
gboolean lq_image_view_get_heatmap (LqImageView *self);
void lq_image_view_set_busy (LqImageView *self, gboolean busy);
/* The predicted class shown, or -1. */
int  lq_image_view_get_prediction (LqImageView *self, float *confidence);

/* Draws the panel into cr (width × height) with palette p: what the widget shows. */
void lq_image_view_draw (LqImageView *self, cairo_t *cr, int width, int height,
                         const LqExplorerPalette *p);
/* Where the image square lies for that size. */
void lq_image_view_image_rect (LqImageView *self, int width, int height, double *x, double *y,
                               double *side);

G_END_DECLS

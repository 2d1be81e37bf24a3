/* lq-latent-map-view.h: a 2-D map of the test set's latent codes (a PCA projection of mu computed
 * by the worker), one dot per image coloured by its class, a grid overlaid, and the current
 * original (ring) and adversarial (filled) codes marked and joined by an arrow. */
#pragma once
#include <gtk/gtk.h>
#include "lq-explorer-palette.h"

G_BEGIN_DECLS

#define LQ_TYPE_LATENT_MAP_VIEW (lq_latent_map_view_get_type ())
G_DECLARE_FINAL_TYPE (LqLatentMapView, lq_latent_map_view, LQ, LATENT_MAP_VIEW, GtkWidget)

GtkWidget *lq_latent_map_view_new (void);
/* xy: n (x, y) pairs; labels: n classes 0..9. NULL/0 clears. */
void lq_latent_map_view_set_points (LqLatentMapView *self, int n, const float *xy,
                                    const guint8 *labels);
void lq_latent_map_view_set_class_names (LqLatentMapView *self, const char *const *names);
/* orig / adv: a 2-D position each or NULL. */
void lq_latent_map_view_set_markers (LqLatentMapView *self, const float *orig, const float *adv);
void lq_latent_map_view_set_status (LqLatentMapView *self, const char *status);
int  lq_latent_map_view_get_n_points (LqLatentMapView *self);

void lq_latent_map_view_draw (LqLatentMapView *self, cairo_t *cr, int width, int height,
                              const LqExplorerPalette *p);
/* Widget coordinates of a map position for that size (FALSE when there is no map yet). */
gboolean lq_latent_map_view_to_widget (LqLatentMapView *self, int width, int height,
                                       const float *xy, double *wx, double *wy);

G_END_DECLS

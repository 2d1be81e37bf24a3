/* lq-latent-grid-view.h: the 64 latent units of LQ-VAE as an 8×8 grid. Each cell shows the bit of
 * the original code (left half) and of the adversarial code (right half); a filled half is a 1
 * (|mu| < t: inside the cell around 0). Flipped bits are outlined, bits the user flipped by hand
 * carry a dot. Hovering tells mu against t; clicking emits ::cell-activated. */
#pragma once
#include <gtk/gtk.h>
#include "lq-explorer-palette.h"

G_BEGIN_DECLS

#define LQ_LATENT_MAX 256

#define LQ_TYPE_LATENT_GRID_VIEW (lq_latent_grid_view_get_type ())
G_DECLARE_FINAL_TYPE (LqLatentGridView, lq_latent_grid_view, LQ, LATENT_GRID_VIEW, GtkWidget)

GtkWidget *lq_latent_grid_view_new (void);
/* mu_orig / mu_adv: n codes (either may be NULL: nothing to show); t: the threshold. */
void lq_latent_grid_view_set_codes (LqLatentGridView *self, int n, const float *mu_orig,
                                    const float *mu_adv, float threshold);
/* edited: n flags of bits flipped by hand (NULL: none). */
void lq_latent_grid_view_set_edited (LqLatentGridView *self, const guint8 *edited);
int  lq_latent_grid_view_get_n_flipped (LqLatentGridView *self);
/* Bit i of the original (which = 0) or adversarial (1) code: 1, 0, or -1 when not shown. */
int  lq_latent_grid_view_get_bit (LqLatentGridView *self, int which, int i);

void lq_latent_grid_view_draw (LqLatentGridView *self, cairo_t *cr, int width, int height,
                               const LqExplorerPalette *p);
/* The cell under (x, y) for that size, or -1; rect (may be NULL) gets its bounds. */
int  lq_latent_grid_view_cell_at (LqLatentGridView *self, int width, int height, double x, double y);
void lq_latent_grid_view_cell_rect (LqLatentGridView *self, int width, int height, int i,
                                    graphene_rect_t *rect);
/* The tooltip text of cell i (newly allocated). */
char *lq_latent_grid_view_describe_cell (LqLatentGridView *self, int i);

G_END_DECLS

/* lq-explorer-palette.h: the colours that carry meaning in every view (original, adversarial,
 * purified, the ten classes, the signed heat map), light and dark, and the few Cairo/Pango drawing
 * helpers the custom views share. Colours come from style.css (@define-color lq_*) when a widget
 * is given, else from the built-in defaults (tests draw with those). */
#pragma once
#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum {
  LQ_ROLE_ORIGINAL,
  LQ_ROLE_ADVERSARIAL,
  LQ_ROLE_PURIFIED,
  LQ_N_ROLES
} LqExplorerRole;

typedef struct {
  gboolean dark;
  GdkRGBA fg, dim, bg, card, grid;
  GdkRGBA role[LQ_N_ROLES];
  GdkRGBA heat_neg, heat_zero, heat_pos;
  GdkRGBA classes[10];
  char font[64];
} LqExplorerPalette;

void lq_explorer_palette_default (LqExplorerPalette *p, gboolean dark);
void lq_explorer_palette_for_widget (GtkWidget *widget, LqExplorerPalette *p);

/* Diverging colour of v in [-1, 1]. */
void lq_explorer_palette_heat (const LqExplorerPalette *p, float v, GdkRGBA *out);

typedef enum { LQ_ALIGN_LEFT, LQ_ALIGN_CENTER, LQ_ALIGN_RIGHT } LqTextAlign;

/* Draws markup with its top at y; returns the logical width (and height in *h if not NULL).
 * max_width > 0 ellipsizes. */
double lq_explorer_draw_text (cairo_t *cr, const LqExplorerPalette *p, const char *markup,
                              double x, double y, double size_px, LqTextAlign align,
                              const GdkRGBA *color, gboolean bold, double max_width, double *h);
void   lq_explorer_rounded_rect (cairo_t *cr, double x, double y, double w, double h, double r);
/* A 28×28 greyscale image (values in [0, 1], 1 = ink) drawn nearest-neighbour into a square. */
void   lq_explorer_draw_digit (cairo_t *cr, const LqExplorerPalette *p, const float *img,
                               double x, double y, double side);
/* The signed perturbation d (scale: ±scale ↦ full colour) drawn nearest-neighbour. */
void   lq_explorer_draw_heat (cairo_t *cr, const LqExplorerPalette *p, const float *d, float scale,
                              double x, double y, double side);

G_END_DECLS

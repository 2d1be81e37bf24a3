/* lq-explorer-palette.c */
#include "lq-explorer-palette.h"
#include <math.h>
#include <string.h>

static void
rgba (GdkRGBA *c, const char *spec)
{
  gdk_rgba_parse (c, spec);
}

/* Tableau-10: distinct, colour-blind-friendlier than a rainbow, readable on light and dark. */
static const char *class_colours[10] = {
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
};

void
lq_explorer_palette_default (LqExplorerPalette *p, gboolean dark)
{
  memset (p, 0, sizeof *p);
  p->dark = dark;
  if (dark)
    {
      rgba (&p->fg, "#ffffff");
      rgba (&p->dim, "rgba(255,255,255,0.62)");
      rgba (&p->bg, "#242424");
      rgba (&p->card, "#303030");
      rgba (&p->grid, "rgba(255,255,255,0.14)");
      rgba (&p->role[LQ_ROLE_ORIGINAL], "#62a0ea");
      rgba (&p->role[LQ_ROLE_ADVERSARIAL], "#ff7b63");
      rgba (&p->role[LQ_ROLE_PURIFIED], "#57e389");
      rgba (&p->heat_neg, "#b39ddb");
      rgba (&p->heat_zero, "#1e1e1e");
      rgba (&p->heat_pos, "#ffa348");
    }
  else
    {
      rgba (&p->fg, "#1e1e1e");
      rgba (&p->dim, "rgba(0,0,0,0.58)");
      rgba (&p->bg, "#fafafa");
      rgba (&p->card, "#ffffff");
      rgba (&p->grid, "rgba(0,0,0,0.11)");
      rgba (&p->role[LQ_ROLE_ORIGINAL], "#1c71d8");
      rgba (&p->role[LQ_ROLE_ADVERSARIAL], "#c01c28");
      rgba (&p->role[LQ_ROLE_PURIFIED], "#1f8a4c");
      rgba (&p->heat_neg, "#5e3c99");
      rgba (&p->heat_zero, "#ffffff");
      rgba (&p->heat_pos, "#e66100");
    }
  for (int i = 0; i < 10; i++)
    rgba (&p->classes[i], class_colours[i]);
  g_strlcpy (p->font, "Cantarell, DejaVu Sans, Sans", sizeof p->font);
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static void
lookup (GtkStyleContext *ctx, const char *name, GdkRGBA *c)
{
  GdkRGBA v;
  if (gtk_style_context_lookup_color (ctx, name, &v))
    *c = v;
}

void
lq_explorer_palette_for_widget (GtkWidget *widget, LqExplorerPalette *p)
{
  GtkStyleContext *ctx = gtk_widget_get_style_context (widget);
  GdkRGBA fg;
  gtk_style_context_get_color (ctx, &fg);
  gboolean dark = 0.299 * fg.red + 0.587 * fg.green + 0.114 * fg.blue > 0.5;
  lq_explorer_palette_default (p, dark);
  p->fg = fg;
  p->dim = fg;
  p->dim.alpha = fg.alpha * 0.62f;
  lookup (ctx, "view_bg_color", &p->card);
  lookup (ctx, "window_bg_color", &p->bg);
  lookup (ctx, "lq_original", &p->role[LQ_ROLE_ORIGINAL]);
  lookup (ctx, "lq_adversarial", &p->role[LQ_ROLE_ADVERSARIAL]);
  lookup (ctx, "lq_purified", &p->role[LQ_ROLE_PURIFIED]);
  lookup (ctx, "lq_heat_negative", &p->heat_neg);
  lookup (ctx, "lq_heat_zero", &p->heat_zero);
  lookup (ctx, "lq_heat_positive", &p->heat_pos);
  lookup (ctx, "lq_card", &p->card);
  PangoContext *pc = gtk_widget_get_pango_context (widget);
  const PangoFontDescription *fd = pango_context_get_font_description (pc);
  if (fd && pango_font_description_get_family (fd))
    g_snprintf (p->font, sizeof p->font, "%s, Sans", pango_font_description_get_family (fd));
}
G_GNUC_END_IGNORE_DEPRECATIONS

void
lq_explorer_palette_heat (const LqExplorerPalette *p, float v, GdkRGBA *out)
{
  if (!isfinite (v))
    v = 0;
  v = CLAMP (v, -1.f, 1.f);
  const GdkRGBA *a = &p->heat_zero, *b = v < 0 ? &p->heat_neg : &p->heat_pos;
  float t = sqrtf (fabsf (v)); /* small changes stay visible */
  out->red = a->red + (b->red - a->red) * t;
  out->green = a->green + (b->green - a->green) * t;
  out->blue = a->blue + (b->blue - a->blue) * t;
  out->alpha = 1;
}

double
lq_explorer_draw_text (cairo_t *cr, const LqExplorerPalette *p, const char *markup, double x,
                       double y, double size_px, LqTextAlign align, const GdkRGBA *color,
                       gboolean bold, double max_width, double *h)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *fd = pango_font_description_from_string (p->font);
  pango_font_description_set_absolute_size (fd, size_px * PANGO_SCALE);
  if (bold)
    pango_font_description_set_weight (fd, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, fd);
  pango_layout_set_markup (layout, markup, -1);
  if (max_width > 0)
    {
      pango_layout_set_width (layout, (int) (max_width * PANGO_SCALE));
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
    }
  int lw, lh;
  pango_layout_get_pixel_size (layout, &lw, &lh);
  double tx = x;
  if (align == LQ_ALIGN_CENTER)
    tx = x - lw / 2.0;
  else if (align == LQ_ALIGN_RIGHT)
    tx = x - lw;
  cairo_save (cr);
  gdk_cairo_set_source_rgba (cr, color ? color : &p->fg);
  cairo_move_to (cr, round (tx), round (y));
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);
  pango_font_description_free (fd);
  g_object_unref (layout);
  if (h)
    *h = lh;
  return lw;
}

void
lq_explorer_rounded_rect (cairo_t *cr, double x, double y, double w, double h, double r)
{
  r = MIN (r, MIN (w, h) / 2);
  cairo_new_sub_path (cr);
  cairo_arc (cr, x + w - r, y + r, r, -G_PI / 2, 0);
  cairo_arc (cr, x + w - r, y + h - r, r, 0, G_PI / 2);
  cairo_arc (cr, x + r, y + h - r, r, G_PI / 2, G_PI);
  cairo_arc (cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
}

static void
draw_surface_nearest (cairo_t *cr, cairo_surface_t *s, double x, double y, double side)
{
  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_scale (cr, side / 28.0, side / 28.0);
  cairo_set_source_surface (cr, s, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle (cr, 0, 0, 28, 28);
  cairo_fill (cr);
  cairo_restore (cr);
}

static guint32
pack (double r, double g, double b)
{
  return 0xff000000u | ((guint32) lround (CLAMP (r, 0, 1) * 255) << 16)
         | ((guint32) lround (CLAMP (g, 0, 1) * 255) << 8) | (guint32) lround (CLAMP (b, 0, 1) * 255);
}

void
lq_explorer_draw_digit (cairo_t *cr, const LqExplorerPalette *p, const float *img, double x,
                        double y, double side)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 28, 28);
  cairo_surface_flush (s);
  guint8 *data = cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s);
  for (int r = 0; r < 28; r++)
    {
      guint32 *row = (guint32 *) (data + r * stride);
      for (int c = 0; c < 28; c++)
        {
          float v = img[r * 28 + c];
          v = isfinite (v) ? CLAMP (v, 0.f, 1.f) : 0.f;
          /* White ink on black, as MNIST is usually shown: the same in light and dark mode. */
          row[c] = pack (v, v, v);
        }
    }
  cairo_surface_mark_dirty (s);
  draw_surface_nearest (cr, s, x, y, side);
  cairo_surface_destroy (s);
}

void
lq_explorer_draw_heat (cairo_t *cr, const LqExplorerPalette *p, const float *d, float scale,
                       double x, double y, double side)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 28, 28);
  cairo_surface_flush (s);
  guint8 *data = cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s);
  if (!(scale > 0))
    scale = 1;
  for (int r = 0; r < 28; r++)
    {
      guint32 *row = (guint32 *) (data + r * stride);
      for (int c = 0; c < 28; c++)
        {
          GdkRGBA col;
          lq_explorer_palette_heat (p, d[r * 28 + c] / scale, &col);
          row[c] = pack (col.red, col.green, col.blue);
        }
    }
  cairo_surface_mark_dirty (s);
  draw_surface_nearest (cr, s, x, y, side);
  cairo_surface_destroy (s);
}

/* lq-latent-map-view.c */
#include "lq-latent-map-view.h"
#include <math.h>
#include <string.h>

struct _LqLatentMapView {
  GtkWidget parent_instance;
  int n;
  float *xy;
  guint8 *labels;
  float lo[2], hi[2];
  gboolean has_orig, has_adv;
  float orig[2], adv[2];
  char **class_names;
  char *status;
  int legend_rows;   /* from the last draw: class names wrap onto as many rows as they need */
};

G_DEFINE_FINAL_TYPE (LqLatentMapView, lq_latent_map_view, GTK_TYPE_WIDGET)

#define PAD 8.0
#define LEGEND_H 36.0
#define LEGEND_ROW 16.0

static void
plot_rect_rows (int width, int height, int rows, double *x, double *y, double *w, double *h)
{
  *x = PAD;
  *y = PAD;
  *w = MAX (10, width - 2 * PAD);
  *h = MAX (10, height - 2 * PAD - 4 - rows * LEGEND_ROW);
}

gboolean
lq_latent_map_view_to_widget (LqLatentMapView *self, int width, int height, const float *xy,
                              double *wx, double *wy)
{
  if (self->n == 0)
    return FALSE;
  double x, y, w, h;
  plot_rect_rows (width, height, self->legend_rows, &x, &y, &w, &h);
  *wx = x + (xy[0] - self->lo[0]) / (self->hi[0] - self->lo[0]) * w;
  *wy = y + h - (xy[1] - self->lo[1]) / (self->hi[1] - self->lo[1]) * h;
  /* A code outside the test set's range sits on the border rather than off the map. */
  *wx = CLAMP (*wx, x + 6, x + w - 6);
  *wy = CLAMP (*wy, y + 6, y + h - 6);
  return TRUE;
}

static void
update_bounds (LqLatentMapView *self)
{
  for (int d = 0; d < 2; d++)
    {
      float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;
      for (int i = 0; i < self->n; i++)
        {
          lo = MIN (lo, self->xy[2 * i + d]);
          hi = MAX (hi, self->xy[2 * i + d]);
        }
      if (!(hi > lo))
        lo -= 1, hi += 1;
      float m = 0.06f * (hi - lo);
      self->lo[d] = lo - m;
      self->hi[d] = hi + m;
    }
}

static void
marker (cairo_t *cr, double x, double y, const GdkRGBA *c, const LqExplorerPalette *p, gboolean filled)
{
  cairo_save (cr);
  cairo_arc (cr, x, y, 7.5, 0, 2 * G_PI);
  if (filled)
    {
      gdk_cairo_set_source_rgba (cr, c);
      cairo_fill_preserve (cr);
      gdk_cairo_set_source_rgba (cr, &p->card);
      cairo_set_line_width (cr, 2);
      cairo_stroke (cr);
    }
  else
    {
      gdk_cairo_set_source_rgba (cr, &p->card);
      cairo_fill_preserve (cr);
      gdk_cairo_set_source_rgba (cr, c);
      cairo_set_line_width (cr, 3.5);
      cairo_stroke (cr);
    }
  cairo_restore (cr);
}

static void
class_label (LqLatentMapView *self, int c, char *buf, gsize len)
{
  if (self->class_names && c < (int) g_strv_length (self->class_names))
    g_strlcpy (buf, self->class_names[c], len);
  else
    g_snprintf (buf, len, "%d", c);
}

/* Lays the legend out in rows (flowing, in equal columns when they fit); positions in lx/ly
 * relative to the legend's origin. Returns the number of rows. */
static int
legend_layout (LqLatentMapView *self, cairo_t *cr, const LqExplorerPalette *p, double w,
               double lx[10], double ly[10])
{
  double iw[10], widest = 0;
  for (int c = 0; c < 10; c++)
    {
      char name[64];
      class_label (self, c, name, sizeof name);
      g_autofree char *e = g_markup_escape_text (name, -1);
      PangoLayout *layout = pango_cairo_create_layout (cr);
      PangoFontDescription *fd = pango_font_description_from_string (p->font);
      pango_font_description_set_absolute_size (fd, 11 * PANGO_SCALE);
      pango_layout_set_font_description (layout, fd);
      pango_layout_set_markup (layout, e, -1);
      int tw, th;
      pango_layout_get_pixel_size (layout, &tw, &th);
      pango_font_description_free (fd);
      g_object_unref (layout);
      iw[c] = 12 + tw + 8;
      widest = MAX (widest, iw[c]);
    }
  int cols = (int) MAX (1, MIN (5, floor (w / widest)));
  for (int c = 0; c < 10; c++)
    {
      lx[c] = (c % cols) * (w / cols);
      ly[c] = (c / cols) * LEGEND_ROW;
    }
  return (10 + cols - 1) / cols;
}

void
lq_latent_map_view_draw (LqLatentMapView *self, cairo_t *cr, int width, int height,
                         const LqExplorerPalette *p)
{
  double x, y, w, h, lx[10], ly[10];
  self->legend_rows = legend_layout (self, cr, p, width - 2 * PAD, lx, ly);
  plot_rect_rows (width, height, self->legend_rows, &x, &y, &w, &h);
  cairo_save (cr);
  gdk_cairo_set_source_rgba (cr, &p->card);
  cairo_rectangle (cr, x, y, w, h);
  cairo_fill (cr);
  /* The grid: LQ-VAE's latent space is cut into cells; this overlay marks a regular tiling. */
  gdk_cairo_set_source_rgba (cr, &p->grid);
  cairo_set_line_width (cr, 1);
  for (int k = 0; k <= 8; k++)
    {
      double gx = round (x + w * k / 8) + 0.5, gy = round (y + h * k / 8) + 0.5;
      cairo_move_to (cr, gx, y);
      cairo_line_to (cr, gx, y + h);
      cairo_move_to (cr, x, gy);
      cairo_line_to (cr, x + w, gy);
    }
  cairo_stroke (cr);
  cairo_restore (cr);

  if (self->n == 0)
    {
      lq_explorer_draw_text (cr, p, self->status ? self->status : "no latent map yet", x + w / 2,
                             y + h / 2 - 8, 13, LQ_ALIGN_CENTER, &p->dim, FALSE, w - 8, NULL);
    }
  else
    {
      cairo_save (cr);
      for (int i = 0; i < self->n; i++)
        {
          double px, py;
          lq_latent_map_view_to_widget (self, width, height, self->xy + 2 * i, &px, &py);
          const GdkRGBA *c = &p->classes[self->labels[i] % 10];
          cairo_set_source_rgba (cr, c->red, c->green, c->blue, 0.75);
          cairo_arc (cr, px, py, 2.2, 0, 2 * G_PI);
          cairo_fill (cr);
        }
      cairo_restore (cr);
      double ox = 0, oy = 0, ax = 0, ay = 0;
      if (self->has_orig)
        lq_latent_map_view_to_widget (self, width, height, self->orig, &ox, &oy);
      if (self->has_adv)
        lq_latent_map_view_to_widget (self, width, height, self->adv, &ax, &ay);
      if (self->has_orig && self->has_adv && hypot (ax - ox, ay - oy) > 1)
        {
          cairo_save (cr);
          gdk_cairo_set_source_rgba (cr, &p->fg);
          cairo_set_line_width (cr, 2);
          double dx = ax - ox, dy = ay - oy, len = hypot (dx, dy);
          dx /= len, dy /= len;
          double ex = ax - dx * 9, ey = ay - dy * 9;
          cairo_move_to (cr, ox + dx * 8, oy + dy * 8);
          cairo_line_to (cr, ex, ey);
          cairo_stroke (cr);
          if (len > 24)
            {
              cairo_move_to (cr, ex, ey);
              cairo_line_to (cr, ex - dx * 8 - dy * 4.5, ey - dy * 8 + dx * 4.5);
              cairo_line_to (cr, ex - dx * 8 + dy * 4.5, ey - dy * 8 - dx * 4.5);
              cairo_close_path (cr);
              cairo_fill (cr);
            }
          cairo_restore (cr);
        }
      if (self->has_orig)
        marker (cr, ox, oy, &p->role[LQ_ROLE_ORIGINAL], p, FALSE);
      if (self->has_adv)
        marker (cr, ax, ay, &p->role[LQ_ROLE_ADVERSARIAL], p, TRUE);
      if (self->status)
        lq_explorer_draw_text (cr, p, self->status, x + w - 4, y + 3, 11, LQ_ALIGN_RIGHT, &p->dim,
                               FALSE, 0, NULL);
    }

  /* Legend: the classes, flowing onto as many rows as their names need. */
  for (int c = 0; c < 10; c++)
    {
      double ix = x + lx[c], iy = y + h + 5 + ly[c];
      cairo_save (cr);
      gdk_cairo_set_source_rgba (cr, &p->classes[c]);
      cairo_arc (cr, ix + 5, iy + 8, 4, 0, 2 * G_PI);
      cairo_fill (cr);
      cairo_restore (cr);
      char name[64];
      class_label (self, c, name, sizeof name);
      g_autofree char *e = g_markup_escape_text (name, -1);
      lq_explorer_draw_text (cr, p, e, ix + 12, iy, 11, LQ_ALIGN_LEFT, &p->dim, FALSE, 0, NULL);
    }
}

static void
lq_latent_map_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  LqExplorerPalette p;
  lq_explorer_palette_for_widget (widget, &p);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  lq_latent_map_view_draw (LQ_LATENT_MAP_VIEW (widget), cr, w, h, &p);
  cairo_destroy (cr);
}

static void
lq_latent_map_view_measure (GtkWidget *widget, GtkOrientation o, int for_size, int *min,
                            int *nat, int *min_base, int *nat_base)
{
  *min = o == GTK_ORIENTATION_HORIZONTAL ? 180 : (int) (140 + LEGEND_H);
  *nat = o == GTK_ORIENTATION_HORIZONTAL ? 280 : (int) (190 + LEGEND_H);
}

static void
lq_latent_map_view_finalize (GObject *object)
{
  LqLatentMapView *self = LQ_LATENT_MAP_VIEW (object);
  g_free (self->xy);
  g_free (self->labels);
  g_strfreev (self->class_names);
  g_free (self->status);
  G_OBJECT_CLASS (lq_latent_map_view_parent_class)->finalize (object);
}

static void
lq_latent_map_view_class_init (LqLatentMapViewClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lq_latent_map_view_finalize;
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  widget_class->snapshot = lq_latent_map_view_snapshot;
  widget_class->measure = lq_latent_map_view_measure;
  gtk_widget_class_set_css_name (widget_class, "lq-latent-map-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lq_latent_map_view_init (LqLatentMapView *self)
{
  self->legend_rows = 2;
}

GtkWidget *
lq_latent_map_view_new (void)
{
  return g_object_new (LQ_TYPE_LATENT_MAP_VIEW, NULL);
}

void
lq_latent_map_view_set_points (LqLatentMapView *self, int n, const float *xy, const guint8 *labels)
{
  g_clear_pointer (&self->xy, g_free);
  g_clear_pointer (&self->labels, g_free);
  self->n = xy && labels ? n : 0;
  if (self->n > 0)
    {
      self->xy = g_memdup2 (xy, 2 * sizeof (float) * n);
      self->labels = g_memdup2 (labels, n);
    }
  update_bounds (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_latent_map_view_set_class_names (LqLatentMapView *self, const char *const *names)
{
  g_strfreev (self->class_names);
  self->class_names = g_strdupv ((char **) names);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_latent_map_view_set_markers (LqLatentMapView *self, const float *orig, const float *adv)
{
  self->has_orig = orig != NULL;
  self->has_adv = adv != NULL;
  if (orig)
    memcpy (self->orig, orig, sizeof self->orig);
  if (adv)
    memcpy (self->adv, adv, sizeof self->adv);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_latent_map_view_set_status (LqLatentMapView *self, const char *status)
{
  g_free (self->status);
  self->status = g_strdup (status);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

int
lq_latent_map_view_get_n_points (LqLatentMapView *self)
{
  return self->n;
}

/* lq-latent-grid-view.c */
#include "lq-latent-grid-view.h"
#include <math.h>
#include <string.h>

struct _LqLatentGridView {
  GtkWidget parent_instance;
  int n, cols;
  gboolean has_orig, has_adv;
  float mu_orig[LQ_LATENT_MAX], mu_adv[LQ_LATENT_MAX];
  guint8 edited[LQ_LATENT_MAX];
  float t;
  int hover;
};

G_DEFINE_FINAL_TYPE (LqLatentGridView, lq_latent_grid_view, GTK_TYPE_WIDGET)

enum { SIGNAL_CELL_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

#define LEGEND_H 44.0
#define PAD 8.0

static int
bit_of (float mu, float t)
{
  return fabsf (mu) < t ? 1 : 0;
}

int
lq_latent_grid_view_get_bit (LqLatentGridView *self, int which, int i)
{
  if (i < 0 || i >= self->n)
    return -1;
  if (which == 0)
    return self->has_orig ? bit_of (self->mu_orig[i], self->t) : -1;
  return self->has_adv ? bit_of (self->mu_adv[i], self->t) : -1;
}

int
lq_latent_grid_view_get_n_flipped (LqLatentGridView *self)
{
  if (!self->has_orig || !self->has_adv)
    return 0;
  int k = 0;
  for (int i = 0; i < self->n; i++)
    k += bit_of (self->mu_orig[i], self->t) != bit_of (self->mu_adv[i], self->t);
  return k;
}

static double
cell_size (LqLatentGridView *self, int width, int height, double *ox, double *oy)
{
  int rows = (self->n + self->cols - 1) / self->cols;
  double s = floor (MIN ((width - 2 * PAD) / self->cols, (height - LEGEND_H - 2 * PAD) / rows));
  s = MAX (s, 6);
  *ox = round ((width - s * self->cols) / 2);
  *oy = PAD;
  return s;
}

void
lq_latent_grid_view_cell_rect (LqLatentGridView *self, int width, int height, int i,
                               graphene_rect_t *rect)
{
  double ox, oy, s = cell_size (self, width, height, &ox, &oy);
  graphene_rect_init (rect, ox + (i % self->cols) * s, oy + (i / self->cols) * s, s, s);
}

int
lq_latent_grid_view_cell_at (LqLatentGridView *self, int width, int height, double x, double y)
{
  double ox, oy, s = cell_size (self, width, height, &ox, &oy);
  if (x < ox || y < oy)
    return -1;
  int c = (int) ((x - ox) / s), r = (int) ((y - oy) / s);
  if (c >= self->cols)
    return -1;
  int i = r * self->cols + c;
  return i < self->n ? i : -1;
}

void
lq_latent_grid_view_draw (LqLatentGridView *self, cairo_t *cr, int width, int height,
                          const LqExplorerPalette *p)
{
  double ox, oy, s = cell_size (self, width, height, &ox, &oy);
  const GdkRGBA *co = &p->role[LQ_ROLE_ORIGINAL], *ca = &p->role[LQ_ROLE_ADVERSARIAL];
  double g = MAX (2, floor (s * 0.1)); /* gap between cells */
  for (int i = 0; i < self->n; i++)
    {
      double x = ox + (i % self->cols) * s + g / 2, y = oy + (i / self->cols) * s + g / 2;
      double w = s - g, hw = floor (w / 2);
      int bo = self->has_orig ? bit_of (self->mu_orig[i], self->t) : -1;
      int ba = self->has_adv ? bit_of (self->mu_adv[i], self->t) : -1;
      gboolean flipped = bo >= 0 && ba >= 0 && bo != ba;
      cairo_save (cr);
      /* An empty cell: a faint tile. */
      cairo_set_source_rgba (cr, p->fg.red, p->fg.green, p->fg.blue, 0.07);
      cairo_rectangle (cr, x, y, w, w);
      cairo_fill (cr);
      if (bo == 1)
        {
          gdk_cairo_set_source_rgba (cr, co);
          cairo_rectangle (cr, x, y, hw, w);
          cairo_fill (cr);
        }
      if (ba == 1)
        {
          gdk_cairo_set_source_rgba (cr, ca);
          cairo_rectangle (cr, x + hw, y, w - hw, w);
          cairo_fill (cr);
        }
      if (flipped)
        {
          double lw = MAX (2, floor (s * 0.09));
          gdk_cairo_set_source_rgba (cr, &p->fg);
          cairo_set_line_width (cr, lw);
          cairo_rectangle (cr, x - g / 2 + lw / 2, y - g / 2 + lw / 2, s - lw, s - lw);
          cairo_stroke (cr);
        }
      if (self->edited[i])
        {
          gdk_cairo_set_source_rgba (cr, &p->role[LQ_ROLE_PURIFIED]);
          cairo_arc (cr, x + w / 2, y + w / 2, MAX (2.5, w * 0.2), 0, 2 * G_PI);
          cairo_fill_preserve (cr);
          gdk_cairo_set_source_rgba (cr, &p->bg);
          cairo_set_line_width (cr, 1.5);
          cairo_stroke (cr);
        }
      if (i == self->hover)
        {
          cairo_set_source_rgba (cr, p->fg.red, p->fg.green, p->fg.blue, 0.5);
          cairo_set_line_width (cr, 1);
          cairo_rectangle (cr, x - 0.5, y - 0.5, w + 1, w + 1);
          cairo_stroke (cr);
        }
      cairo_restore (cr);
    }

  /* Legend: what a half, an outline and a dot mean, and the count. */
  int rows = (self->n + self->cols - 1) / self->cols;
  double ly = oy + rows * s + 6, lx = ox + 2;
  char buf[160];
  double sw = 10;
  cairo_save (cr);
  gdk_cairo_set_source_rgba (cr, co);
  cairo_rectangle (cr, lx, ly + 3, sw, sw);
  cairo_fill (cr);
  cairo_restore (cr);
  lx += sw + 4 + lq_explorer_draw_text (cr, p, "original", lx + sw + 4, ly, 12, LQ_ALIGN_LEFT, &p->dim, FALSE, 0, NULL) + 10;
  cairo_save (cr);
  gdk_cairo_set_source_rgba (cr, ca);
  cairo_rectangle (cr, lx, ly + 3, sw, sw);
  cairo_fill (cr);
  cairo_restore (cr);
  lx += sw + 4 + lq_explorer_draw_text (cr, p, "adversarial", lx + sw + 4, ly, 12, LQ_ALIGN_LEFT, &p->dim, FALSE, 0, NULL) + 10;
  cairo_save (cr);
  gdk_cairo_set_source_rgba (cr, &p->fg);
  cairo_set_line_width (cr, 2);
  cairo_rectangle (cr, lx + 1, ly + 4, sw - 2, sw - 2);
  cairo_stroke (cr);
  cairo_restore (cr);
  lq_explorer_draw_text (cr, p, "flipped", lx + sw + 4, ly, 12, LQ_ALIGN_LEFT, &p->dim, FALSE, 0, NULL);
  if (self->has_orig && self->has_adv)
    g_snprintf (buf, sizeof buf, "<b>%d of %d</b> bits flipped · filled: |μ| &lt; t",
                lq_latent_grid_view_get_n_flipped (self), self->n);
  else
    g_snprintf (buf, sizeof buf, "no code yet");
  lq_explorer_draw_text (cr, p, buf, ox + 2, ly + 18, 12, LQ_ALIGN_LEFT, &p->fg, FALSE,
                         width - ox - 4, NULL);
}

char *
lq_latent_grid_view_describe_cell (LqLatentGridView *self, int i)
{
  if (i < 0 || i >= self->n || !self->has_orig)
    return NULL;
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "<b>Latent unit %d</b>  (t = %.2f)\n", i, self->t);
  g_string_append_printf (s, "original     μ = %+.3f  →  bit %d\n", self->mu_orig[i],
                          bit_of (self->mu_orig[i], self->t));
  if (self->has_adv)
    {
      g_string_append_printf (s, "adversarial  μ = %+.3f  →  bit %d", self->mu_adv[i],
                              bit_of (self->mu_adv[i], self->t));
      if (bit_of (self->mu_orig[i], self->t) != bit_of (self->mu_adv[i], self->t))
        g_string_append (s, "  <b>flipped</b>");
    }
  if (self->edited[i])
    g_string_append (s, "\nflipped by hand in the decoded code");
  g_string_append (s, "\n<i>click to flip this bit and decode</i>");
  return g_string_free (s, FALSE);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                  gpointer data)
{
  LqLatentGridView *self = LQ_LATENT_GRID_VIEW (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  int i = lq_latent_grid_view_cell_at (self, w, h, x, y);
  g_autofree char *text = lq_latent_grid_view_describe_cell (self, i);
  if (!text)
    return FALSE;
  graphene_rect_t r;
  lq_latent_grid_view_cell_rect (self, w, h, i, &r);
  gtk_tooltip_set_markup (tooltip, text);
  gtk_tooltip_set_tip_area (tooltip, &(GdkRectangle) { (int) r.origin.x, (int) r.origin.y,
                                                       (int) r.size.width, (int) r.size.height });
  return TRUE;
}

static void
on_motion (GtkEventControllerMotion *c, double x, double y, LqLatentGridView *self)
{
  GtkWidget *w = GTK_WIDGET (self);
  int i = lq_latent_grid_view_cell_at (self, gtk_widget_get_width (w), gtk_widget_get_height (w), x, y);
  if (i != self->hover)
    {
      self->hover = i;
      gtk_widget_set_cursor_from_name (w, i >= 0 && self->has_orig ? "pointer" : NULL);
      gtk_widget_queue_draw (w);
    }
}

static void
on_leave (GtkEventControllerMotion *c, LqLatentGridView *self)
{
  self->hover = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_released (GtkGestureClick *g, int n_press, double x, double y, LqLatentGridView *self)
{
  GtkWidget *w = GTK_WIDGET (self);
  int i = lq_latent_grid_view_cell_at (self, gtk_widget_get_width (w), gtk_widget_get_height (w), x, y);
  if (i >= 0 && self->has_orig)
    g_signal_emit (self, signals[SIGNAL_CELL_ACTIVATED], 0, i);
}

static void
lq_latent_grid_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  LqExplorerPalette p;
  lq_explorer_palette_for_widget (widget, &p);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  lq_latent_grid_view_draw (LQ_LATENT_GRID_VIEW (widget), cr, w, h, &p);
  cairo_destroy (cr);
}

static void
lq_latent_grid_view_measure (GtkWidget *widget, GtkOrientation o, int for_size, int *min,
                             int *nat, int *min_base, int *nat_base)
{
  if (o == GTK_ORIENTATION_HORIZONTAL)
    *min = 8 * 18 + 16, *nat = 8 * 28 + 16;
  else
    *min = (int) (8 * 18 + LEGEND_H + 16), *nat = (int) (8 * 22 + LEGEND_H + 16);
}

static void
lq_latent_grid_view_class_init (LqLatentGridViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  widget_class->snapshot = lq_latent_grid_view_snapshot;
  widget_class->measure = lq_latent_grid_view_measure;
  gtk_widget_class_set_css_name (widget_class, "lq-latent-grid-view");
  /* ::cell-activated (int index): the user clicked cell index. */
  signals[SIGNAL_CELL_ACTIVATED] = g_signal_new ("cell-activated", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 1, G_TYPE_INT);
}

static void
lq_latent_grid_view_init (LqLatentGridView *self)
{
  self->n = 64;
  self->cols = 8;
  self->t = 0.1f;
  self->hover = -1;
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
}

GtkWidget *
lq_latent_grid_view_new (void)
{
  return g_object_new (LQ_TYPE_LATENT_GRID_VIEW, NULL);
}

void
lq_latent_grid_view_set_codes (LqLatentGridView *self, int n, const float *mu_orig,
                               const float *mu_adv, float threshold)
{
  n = CLAMP (n, 1, LQ_LATENT_MAX);
  self->n = n;
  self->cols = n == 64 ? 8 : (int) ceil (sqrt (n));
  self->t = threshold;
  self->has_orig = mu_orig != NULL;
  self->has_adv = mu_adv != NULL;
  if (mu_orig)
    memcpy (self->mu_orig, mu_orig, n * sizeof (float));
  if (mu_adv)
    memcpy (self->mu_adv, mu_adv, n * sizeof (float));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_latent_grid_view_set_edited (LqLatentGridView *self, const guint8 *edited)
{
  if (edited)
    memcpy (self->edited, edited, self->n);
  else
    memset (self->edited, 0, sizeof self->edited);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

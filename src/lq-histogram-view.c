/* lq-histogram-view.c */
#include "lq-histogram-view.h"
#include <math.h>
#include <string.h>

struct _LqHistogramView {
  GtkWidget parent_instance;
  int done, total;
  float *fractions;
  guint8 *correct;
  double current;
  char *status;
};

G_DEFINE_FINAL_TYPE (LqHistogramView, lq_histogram_view, GTK_TYPE_WIDGET)

#define PAD 8.0
#define TOP 34.0
#define BOTTOM 46.0

static double
bucket_width (LqHistogramView *self)
{
  double m = self->current > 0 ? self->current : 0;
  for (int i = 0; i < self->done; i++)
    m = MAX (m, self->fractions[i]);
  /* Widths a reader can add up: 2, 5, 10 or 20 % of the bits. */
  static const double widths[] = { 0.02, 0.05, 0.10, 0.20 };
  for (guint k = 0; k < G_N_ELEMENTS (widths); k++)
    if (m < widths[k] * 10 - 1e-9)
      return widths[k];
  return 0.20;
}

static int
n_buckets (LqHistogramView *self, double bw)
{
  double m = self->current > 0 ? self->current : 0;
  for (int i = 0; i < self->done; i++)
    m = MAX (m, self->fractions[i]);
  int nb = (int) floor (m / bw + 1e-9) + 1;
  return CLAMP (nb, 5, MIN (LQ_HISTOGRAM_MAX_BUCKETS, (int) ceil (1.0 / bw - 1e-9)));
}

static int
bucket_of (double f, double bw, int nb)
{
  int b = (int) floor (f / bw + 1e-9);
  return CLAMP (b, 0, nb - 1);
}

int
lq_histogram_view_get_buckets (LqHistogramView *self, double *width, int *counts, double *accuracy)
{
  double bw = bucket_width (self);
  int nb = n_buckets (self, bw);
  int right[LQ_HISTOGRAM_MAX_BUCKETS] = { 0 };
  for (int b = 0; b < nb; b++)
    counts[b] = 0;
  for (int i = 0; i < self->done; i++)
    {
      int b = bucket_of (self->fractions[i], bw, nb);
      counts[b]++;
      right[b] += self->correct[i] != 0;
    }
  for (int b = 0; b < nb; b++)
    accuracy[b] = counts[b] ? (double) right[b] / counts[b] : NAN;
  if (width)
    *width = bw;
  return nb;
}

int
lq_histogram_view_get_current_bucket (LqHistogramView *self)
{
  if (self->current < 0 || self->done == 0)
    return -1;
  double bw = bucket_width (self);
  return bucket_of (self->current, bw, n_buckets (self, bw));
}

int
lq_histogram_view_get_done (LqHistogramView *self)
{
  return self->done;
}

void
lq_histogram_view_bar_rect (LqHistogramView *self, int width, int height, int b,
                            graphene_rect_t *rect)
{
  double bw = bucket_width (self);
  int nb = n_buckets (self, bw);
  double x0 = PAD + 4, w = width - 2 * PAD - 8, slot = w / nb;
  graphene_rect_init (rect, x0 + b * slot + slot * 0.12, TOP, slot * 0.76, height - TOP - BOTTOM);
}

void
lq_histogram_view_draw (LqHistogramView *self, cairo_t *cr, int width, int height,
                        const LqExplorerPalette *p)
{
  char buf[128];
  int counts[LQ_HISTOGRAM_MAX_BUCKETS];
  double acc[LQ_HISTOGRAM_MAX_BUCKETS], bw;
  int nb = lq_histogram_view_get_buckets (self, &bw, counts, acc);
  int cur = lq_histogram_view_get_current_bucket (self);
  int maxc = 1;
  for (int b = 0; b < nb; b++)
    maxc = MAX (maxc, counts[b]);

  double x0 = PAD + 4, w = width - 2 * PAD - 8, base = height - BOTTOM, slot = w / nb;
  /* Axis. */
  cairo_save (cr);
  gdk_cairo_set_source_rgba (cr, &p->dim);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, x0, round (base) + 0.5);
  cairo_line_to (cr, x0 + w, round (base) + 0.5);
  cairo_stroke (cr);
  cairo_restore (cr);

  if (self->done == 0)
    lq_explorer_draw_text (cr, p, self->status ? self->status : "no histogram yet", width / 2.0,
                           (TOP + base) / 2 - 8, 13, LQ_ALIGN_CENTER, &p->dim, FALSE, w, NULL);
  else if (self->status)
    lq_explorer_draw_text (cr, p, self->status, width - PAD, PAD - 2, 11.5, LQ_ALIGN_RIGHT, &p->dim,
                           FALSE, w, NULL);

  const GdkRGBA *cpur = &p->role[LQ_ROLE_PURIFIED], *cadv = &p->role[LQ_ROLE_ADVERSARIAL];
  for (int b = 0; b < nb; b++)
    {
      graphene_rect_t r;
      lq_histogram_view_bar_rect (self, width, height, b, &r);
      double bh = (base - TOP - 16) * counts[b] / maxc;
      if (counts[b] > 0)
        {
          cairo_save (cr);
          if (b == cur)
            gdk_cairo_set_source_rgba (cr, cadv);
          else
            cairo_set_source_rgba (cr, p->fg.red, p->fg.green, p->fg.blue, 0.35);
          cairo_rectangle (cr, r.origin.x, base - MAX (bh, 2), r.size.width, MAX (bh, 2));
          cairo_fill (cr);
          cairo_restore (cr);
          /* Count inside/over the bar, accuracy above it in the purified colour; in narrow slots
           * without the "%" and smaller, so that neighbouring labels ("100%") do not overlap. */
          gboolean narrow = slot < 34;
          g_snprintf (buf, sizeof buf, narrow ? "%.0f" : "%.0f%%", 100 * acc[b]);
          lq_explorer_draw_text (cr, p, buf, r.origin.x + r.size.width / 2, base - bh - 30,
                                 narrow ? 10 : 11.5, LQ_ALIGN_CENTER, cpur, TRUE, 0, NULL);
          g_snprintf (buf, sizeof buf, "%d", counts[b]);
          lq_explorer_draw_text (cr, p, buf, r.origin.x + r.size.width / 2, base - bh - 15, 10.5,
                                 LQ_ALIGN_CENTER, &p->dim, FALSE, 0, NULL);
        }
      else if (b == cur)
        {
          cairo_save (cr);
          gdk_cairo_set_source_rgba (cr, cadv);
          cairo_set_line_width (cr, 1.5);
          cairo_rectangle (cr, r.origin.x + 0.75, base - 6, r.size.width - 1.5, 6);
          cairo_stroke (cr);
          cairo_restore (cr);
        }
      if (b == cur)
        lq_explorer_draw_text (cr, p, "▲", r.origin.x + r.size.width / 2, base + 14, 9,
                               LQ_ALIGN_CENTER, cadv, FALSE, 0, NULL);
      /* Bucket label: the lower edge in % of bits; every other one when narrow. */
      if (slot >= 30 || b % 2 == 0)
        {
          g_snprintf (buf, sizeof buf, "%g", round (100 * b * bw));
          lq_explorer_draw_text (cr, p, buf, x0 + b * slot, base + 3, 10.5, LQ_ALIGN_CENTER, &p->dim,
                                 FALSE, 0, NULL);
        }
    }
  g_autofree char *cs = g_strdup_printf ("#%02x%02x%02x", (int) lround (cpur->red * 255),
                                         (int) lround (cpur->green * 255), (int) lround (cpur->blue * 255));
  g_autofree char *legend = g_strdup_printf ("%% of bits flipped  ·  <span foreground='%s'><b>%%</b> = purified accuracy</span>", cs);
  lq_explorer_draw_text (cr, p, legend, width / 2.0, base + 28, 11, LQ_ALIGN_CENTER, &p->dim, FALSE,
                         w, NULL);
}

static void
lq_histogram_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  LqExplorerPalette p;
  lq_explorer_palette_for_widget (widget, &p);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  lq_histogram_view_draw (LQ_HISTOGRAM_VIEW (widget), cr, w, h, &p);
  cairo_destroy (cr);
}

static void
lq_histogram_view_measure (GtkWidget *widget, GtkOrientation o, int for_size, int *min, int *nat,
                           int *min_base, int *nat_base)
{
  *min = o == GTK_ORIENTATION_HORIZONTAL ? 200 : 160;
  *nat = o == GTK_ORIENTATION_HORIZONTAL ? 300 : 220;
}

static void
lq_histogram_view_finalize (GObject *object)
{
  LqHistogramView *self = LQ_HISTOGRAM_VIEW (object);
  g_free (self->fractions);
  g_free (self->correct);
  g_free (self->status);
  G_OBJECT_CLASS (lq_histogram_view_parent_class)->finalize (object);
}

static void
lq_histogram_view_class_init (LqHistogramViewClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lq_histogram_view_finalize;
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  widget_class->snapshot = lq_histogram_view_snapshot;
  widget_class->measure = lq_histogram_view_measure;
  gtk_widget_class_set_css_name (widget_class, "lq-histogram-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lq_histogram_view_init (LqHistogramView *self)
{
  self->current = -1;
}

GtkWidget *
lq_histogram_view_new (void)
{
  return g_object_new (LQ_TYPE_HISTOGRAM_VIEW, NULL);
}

void
lq_histogram_view_set_data (LqHistogramView *self, int done, int total, const float *fractions,
                            const guint8 *correct)
{
  g_clear_pointer (&self->fractions, g_free);
  g_clear_pointer (&self->correct, g_free);
  self->done = fractions && correct ? MAX (done, 0) : 0;
  self->total = total;
  if (self->done)
    {
      self->fractions = g_memdup2 (fractions, sizeof (float) * self->done);
      self->correct = g_memdup2 (correct, self->done);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_histogram_view_set_current (LqHistogramView *self, double fraction)
{
  self->current = fraction;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_histogram_view_set_status (LqHistogramView *self, const char *status)
{
  g_free (self->status);
  self->status = g_strdup (status);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* lq-sketch-view.c */
#include "lq-sketch-view.h"
#include <math.h>

struct _LqSketchView {
  GtkWidget parent_instance;
  GPtrArray *strokes;   /* of GArray of double (x, y pairs in [0, 1]) */
  GArray *current;      /* borrowed from strokes while drawing */
  double start_x, start_y;
};

G_DEFINE_FINAL_TYPE (LqSketchView, lq_sketch_view, GTK_TYPE_WIDGET)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* Pen width relative to the pad: MNIST strokes are ~2.5 px of a 20 px digit box. */
#define PEN 0.085

static void
pad_rect (int width, int height, double *x, double *y, double *s)
{
  *s = floor (MIN (width, height));
  *x = floor ((width - *s) / 2);
  *y = floor ((height - *s) / 2);
}

static void
trace_strokes (LqSketchView *self, cairo_t *cr, double s)
{
  cairo_set_line_width (cr, PEN * s);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint k = 0; k < self->strokes->len; k++)
    {
      GArray *st = g_ptr_array_index (self->strokes, k);
      int n = st->len / 2;
      if (n == 0)
        continue;
      const double *pt = (const double *) st->data;
      cairo_move_to (cr, pt[0] * s, pt[1] * s);
      if (n == 1)
        cairo_line_to (cr, pt[0] * s + 0.01, pt[1] * s);
      for (int i = 1; i < n; i++)
        cairo_line_to (cr, pt[2 * i] * s, pt[2 * i + 1] * s);
      cairo_stroke (cr);
    }
}

void
lq_sketch_view_draw (LqSketchView *self, cairo_t *cr, int width, int height,
                     const LqExplorerPalette *p)
{
  double x, y, s;
  pad_rect (width, height, &x, &y, &s);
  cairo_save (cr);
  /* Paper: black like MNIST, so what you draw looks like what the classifier sees. */
  cairo_set_source_rgb (cr, 0.07, 0.07, 0.07);
  lq_explorer_rounded_rect (cr, x, y, s, s, 6);
  cairo_fill (cr);
  /* The 20×20 box the digit is fitted into, as a faint guide. */
  cairo_set_source_rgba (cr, 1, 1, 1, 0.12);
  cairo_set_line_width (cr, 1);
  double m = s * 4 / 28;
  cairo_rectangle (cr, round (x + m) + 0.5, round (y + m) + 0.5, round (s - 2 * m), round (s - 2 * m));
  cairo_stroke (cr);
  cairo_translate (cr, x, y);
  cairo_set_source_rgb (cr, 1, 1, 1);
  trace_strokes (self, cr, s);
  cairo_restore (cr);
  if (self->strokes->len == 0)
    lq_explorer_draw_text (cr, p, "draw here", x + s / 2, y + s / 2 - 9, 14, LQ_ALIGN_CENTER,
                           &(GdkRGBA) { 1, 1, 1, 0.45 }, FALSE, 0, NULL);
}

float *
lq_sketch_view_render (LqSketchView *self, int side)
{
  cairo_surface_t *surf = cairo_image_surface_create (CAIRO_FORMAT_RGB24, side, side);
  cairo_t *cr = cairo_create (surf);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  trace_strokes (self, cr, side);
  cairo_destroy (cr);
  cairo_surface_flush (surf);
  const guint8 *data = cairo_image_surface_get_data (surf);
  int stride = cairo_image_surface_get_stride (surf);
  float *grey = g_new (float, (gsize) side * side);
  for (int r = 0; r < side; r++)
    {
      const guint32 *row = (const guint32 *) (data + r * stride);
      for (int c = 0; c < side; c++)
        grey[r * side + c] = ((row[c] >> 8) & 0xff) / 255.0f;
    }
  cairo_surface_destroy (surf);
  return grey;
}

static void
to_pad (LqSketchView *self, double wx, double wy, double *px, double *py)
{
  double x, y, s;
  pad_rect (gtk_widget_get_width (GTK_WIDGET (self)), gtk_widget_get_height (GTK_WIDGET (self)), &x, &y, &s);
  *px = CLAMP ((wx - x) / s, 0, 1);
  *py = CLAMP ((wy - y) / s, 0, 1);
}

static void
on_drag_begin (GtkGestureDrag *g, double x, double y, LqSketchView *self)
{
  self->start_x = x;
  self->start_y = y;
  self->current = g_array_new (FALSE, FALSE, sizeof (double));
  g_ptr_array_add (self->strokes, self->current);
  double p[2];
  to_pad (self, x, y, &p[0], &p[1]);
  g_array_append_vals (self->current, p, 2);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_drag_update (GtkGestureDrag *g, double dx, double dy, LqSketchView *self)
{
  if (!self->current)
    return;
  double p[2];
  to_pad (self, self->start_x + dx, self->start_y + dy, &p[0], &p[1]);
  g_array_append_vals (self->current, p, 2);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_drag_end (GtkGestureDrag *g, double dx, double dy, LqSketchView *self)
{
  if (!self->current)
    return;
  self->current = NULL;
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
lq_sketch_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  LqExplorerPalette p;
  lq_explorer_palette_for_widget (widget, &p);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  lq_sketch_view_draw (LQ_SKETCH_VIEW (widget), cr, w, h, &p);
  cairo_destroy (cr);
}

static void
lq_sketch_view_measure (GtkWidget *widget, GtkOrientation o, int for_size, int *min, int *nat,
                        int *min_base, int *nat_base)
{
  *min = 140;
  *nat = 224;
}

static void
lq_sketch_view_finalize (GObject *object)
{
  LqSketchView *self = LQ_SKETCH_VIEW (object);
  g_ptr_array_unref (self->strokes);
  G_OBJECT_CLASS (lq_sketch_view_parent_class)->finalize (object);
}

static void
lq_sketch_view_class_init (LqSketchViewClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lq_sketch_view_finalize;
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  widget_class->snapshot = lq_sketch_view_snapshot;
  widget_class->measure = lq_sketch_view_measure;
  gtk_widget_class_set_css_name (widget_class, "lq-sketch-view");
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
lq_sketch_view_init (LqSketchView *self)
{
  self->strokes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  GtkGesture *drag = gtk_gesture_drag_new ();
  /* Mouse, pen and touch all draw. */
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "crosshair");
}

GtkWidget *
lq_sketch_view_new (void)
{
  return g_object_new (LQ_TYPE_SKETCH_VIEW, NULL);
}

void
lq_sketch_view_clear (LqSketchView *self)
{
  self->current = NULL;
  g_ptr_array_set_size (self->strokes, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

gboolean
lq_sketch_view_undo (LqSketchView *self)
{
  if (self->strokes->len == 0)
    return FALSE;
  self->current = NULL;
  g_ptr_array_set_size (self->strokes, self->strokes->len - 1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

int
lq_sketch_view_get_n_strokes (LqSketchView *self)
{
  return (int) self->strokes->len;
}

void
lq_sketch_view_add_stroke (LqSketchView *self, const double *xy, int n)
{
  GArray *st = g_array_new (FALSE, FALSE, sizeof (double));
  g_array_append_vals (st, xy, 2 * n);
  g_ptr_array_add (self->strokes, st);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

void
lq_sketch_view_draw_demo (LqSketchView *self)
{
  /* A hand-drawn looking "2": an arc over the top, a diagonal, a base with a little wobble. */
  double pts[2 * 64];
  int n = 0;
  for (int i = 0; i <= 20; i++, n++)
    {
      double a = G_PI * (1.15 - 1.35 * i / 20.0);
      pts[2 * n] = 0.5 + 0.21 * cos (a);
      pts[2 * n + 1] = 0.36 - 0.17 * sin (a);
    }
  for (int i = 1; i <= 12; i++, n++)
    {
      double t = i / 12.0;
      pts[2 * n] = pts[2 * 20] + (0.28 - pts[2 * 20]) * t;
      pts[2 * n + 1] = pts[2 * 20 + 1] + (0.76 - pts[2 * 20 + 1]) * t;
    }
  for (int i = 1; i <= 10; i++, n++)
    {
      double t = i / 10.0;
      pts[2 * n] = 0.28 + 0.46 * t;
      pts[2 * n + 1] = 0.76 + 0.015 * sin (t * G_PI);
    }
  lq_sketch_view_add_stroke (self, pts, n);
}

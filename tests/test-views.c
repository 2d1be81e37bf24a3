/* test-views.c: each custom Cairo view draws known data into an image surface, and the pixels
 * are where and what they should be. Runs under Xvfb (the views are GtkWidgets). */
#include <gtk/gtk.h>
#include <math.h>
#include "lq-image-view.h"
#include "lq-latent-grid-view.h"
#include "lq-latent-map-view.h"
#include "lq-histogram-view.h"
#include "lq-sketch-view.h"
#include "lq-explorer-palette.h"

typedef struct {
  cairo_surface_t *surface;
  cairo_t *cr;
  int w, h;
} Canvas;

static void
canvas_init (Canvas *c, int w, int h, const LqExplorerPalette *p)
{
  c->w = w;
  c->h = h;
  c->surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  /* Freed when the test case ends: its pixels are checked after canvas_done(). */
  g_test_queue_destroy ((GDestroyNotify) cairo_surface_destroy, c->surface);
  c->cr = cairo_create (c->surface);
  gdk_cairo_set_source_rgba (c->cr, &p->bg);
  cairo_paint (c->cr);
}

static void
canvas_done (Canvas *c, const char *name)
{
  cairo_destroy (c->cr);
  cairo_surface_flush (c->surface);
  if (g_getenv ("LQ_TEST_DUMP"))
    {
      g_autofree char *path = g_strdup_printf ("%s/view-%s.png", g_getenv ("LQ_TEST_DUMP"), name);
      cairo_surface_write_to_png (c->surface, path);
    }
}

static void
pixel (Canvas *c, int x, int y, double rgb[3])
{
  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (x, <, c->w);
  g_assert_cmpint (y, <, c->h);
  const guint8 *d = cairo_image_surface_get_data (c->surface);
  guint32 v = *(const guint32 *) (d + y * cairo_image_surface_get_stride (c->surface) + 4 * x);
  rgb[0] = ((v >> 16) & 0xff) / 255.0;
  rgb[1] = ((v >> 8) & 0xff) / 255.0;
  rgb[2] = (v & 0xff) / 255.0;
}

static void
assert_colour (Canvas *c, int x, int y, const GdkRGBA *want, double tol)
{
  double rgb[3];
  pixel (c, x, y, rgb);
  if (fabs (rgb[0] - want->red) > tol || fabs (rgb[1] - want->green) > tol || fabs (rgb[2] - want->blue) > tol)
    g_error ("pixel (%d, %d) is (%.2f %.2f %.2f), expected (%.2f %.2f %.2f)", x, y, rgb[0], rgb[1],
             rgb[2], want->red, want->green, want->blue);
}

static double
grey (Canvas *c, int x, int y)
{
  double rgb[3];
  pixel (c, x, y, rgb);
  return (rgb[0] + rgb[1] + rgb[2]) / 3;
}

/* ------------------------------------------------------------------ image panel */

static void
test_image_view (void)
{
  LqExplorerPalette p;
  lq_explorer_palette_default (&p, FALSE);
  GtkWidget *w = g_object_ref_sink (lq_image_view_new (LQ_ROLE_ADVERSARIAL));
  LqImageView *v = LQ_IMAGE_VIEW (w);
  float img[784] = { 0 }, probs[10] = { 0 };
  for (int r = 10; r < 18; r++)
    for (int c = 10; c < 18; c++)
      img[r * 28 + c] = 1;
  probs[3] = 0.9f;
  probs[8] = 0.07f;
  probs[5] = 0.03f;
  lq_image_view_set_image (v, img);
  lq_image_view_set_probs (v, probs, 3);
  lq_image_view_set_footer (v, "L2 1.00 · L∞ 0.30");
  g_assert_cmpint (lq_image_view_get_prediction (v, NULL), ==, 3);

  Canvas c;
  canvas_init (&c, 320, 460, &p);
  lq_image_view_draw (v, c.cr, c.w, c.h, &p);
  canvas_done (&c, "image");
  double x, y, side;
  lq_image_view_image_rect (v, 320, 460, &x, &y, &side);
  g_assert_cmpfloat (fmod (side, 28), ==, 0); /* integer scale: crisp pixels */
  double px = side / 28;
  /* Ink in the middle, black background in the corner, the frame in the role's colour. */
  g_assert_cmpfloat (grey (&c, (int) (x + 14 * px), (int) (y + 14 * px)), >, 0.95);
  g_assert_cmpfloat (grey (&c, (int) (x + 2 * px), (int) (y + 2 * px)), <, 0.05);
  /* Nearest neighbour: the edge of the square is sharp (no grey in between). */
  g_assert_cmpfloat (grey (&c, (int) (x + 10 * px + 1), (int) (y + 14 * px)), >, 0.95);
  g_assert_cmpfloat (grey (&c, (int) (x + 10 * px - 1), (int) (y + 14 * px)), <, 0.05);
  assert_colour (&c, (int) x - 2, (int) (y + side / 2), &p.role[LQ_ROLE_ADVERSARIAL], 0.02);
  /* The top bar (90 %) is filled in the role's colour most of the way across. */
  gboolean found = FALSE;
  for (int yy = (int) (y + side); yy < c.h && !found; yy++)
    {
      double rgb[3];
      pixel (&c, (int) (x + side * 0.6), yy, rgb);
      found = fabs (rgb[0] - p.role[LQ_ROLE_ADVERSARIAL].red) < 0.03
              && fabs (rgb[1] - p.role[LQ_ROLE_ADVERSARIAL].green) < 0.03
              && fabs (rgb[2] - p.role[LQ_ROLE_ADVERSARIAL].blue) < 0.03;
    }
  g_assert_true (found);

  /* Heat map: + is orange, − is purple, 0 is the neutral colour. */
  float delta[784] = { 0 };
  delta[5 * 28 + 5] = 0.3f;
  delta[20 * 28 + 20] = -0.3f;
  lq_image_view_set_delta (v, delta);
  lq_image_view_set_heatmap (v, TRUE);
  canvas_init (&c, 320, 460, &p);
  lq_image_view_draw (v, c.cr, c.w, c.h, &p);
  canvas_done (&c, "heatmap");
  assert_colour (&c, (int) (x + 5.5 * px), (int) (y + 5.5 * px), &p.heat_pos, 0.02);
  assert_colour (&c, (int) (x + 20.5 * px), (int) (y + 20.5 * px), &p.heat_neg, 0.02);
  assert_colour (&c, (int) (x + 12.5 * px), (int) (y + 2.5 * px), &p.heat_zero, 0.02);

  /* No image: the placeholder area is the card colour, not black. */
  lq_image_view_set_heatmap (v, FALSE);
  lq_image_view_set_image (v, NULL);
  lq_image_view_set_placeholder (v, "nothing");
  canvas_init (&c, 320, 460, &p);
  lq_image_view_draw (v, c.cr, c.w, c.h, &p);
  canvas_done (&c, "placeholder");
  assert_colour (&c, (int) (x + 3), (int) (y + 3), &p.card, 0.02);
  g_object_unref (w);
}

/* ------------------------------------------------------------------ latent grid */

static void
test_latent_grid_view (void)
{
  LqExplorerPalette p;
  lq_explorer_palette_default (&p, FALSE);
  GtkWidget *w = g_object_ref_sink (lq_latent_grid_view_new ());
  LqLatentGridView *v = LQ_LATENT_GRID_VIEW (w);
  float mo[64], ma[64];
  for (int i = 0; i < 64; i++)
    {
      mo[i] = 0.0f;   /* inside the cell: bit 1 */
      ma[i] = 0.5f;   /* outside: bit 0 */
    }
  ma[5] = 0.05f;    /* bit 5 stays 1 */
  lq_latent_grid_view_set_codes (v, 64, mo, ma, 0.1f);
  g_assert_cmpint (lq_latent_grid_view_get_n_flipped (v), ==, 63);
  g_assert_cmpint (lq_latent_grid_view_get_bit (v, 0, 0), ==, 1);
  g_assert_cmpint (lq_latent_grid_view_get_bit (v, 1, 0), ==, 0);
  g_assert_cmpint (lq_latent_grid_view_get_bit (v, 1, 5), ==, 1);

  Canvas c;
  canvas_init (&c, 300, 300, &p);
  lq_latent_grid_view_draw (v, c.cr, c.w, c.h, &p);
  canvas_done (&c, "grid");
  graphene_rect_t r0, r5;
  lq_latent_grid_view_cell_rect (v, 300, 300, 0, &r0);
  lq_latent_grid_view_cell_rect (v, 300, 300, 5, &r5);
  double s = r0.size.width;
  /* Cell 0: left half original colour; right half not adversarial colour (bit 0). */
  assert_colour (&c, (int) (r0.origin.x + s * 0.3), (int) (r0.origin.y + s * 0.5), &p.role[LQ_ROLE_ORIGINAL], 0.02);
  double rgb[3];
  pixel (&c, (int) (r0.origin.x + s * 0.7), (int) (r0.origin.y + s * 0.5), rgb);
  g_assert_false (fabs (rgb[0] - p.role[LQ_ROLE_ADVERSARIAL].red) < 0.05 && fabs (rgb[1] - p.role[LQ_ROLE_ADVERSARIAL].green) < 0.05);
  /* Cell 5: both halves filled. */
  assert_colour (&c, (int) (r5.origin.x + s * 0.3), (int) (r5.origin.y + s * 0.5), &p.role[LQ_ROLE_ORIGINAL], 0.02);
  assert_colour (&c, (int) (r5.origin.x + s * 0.7), (int) (r5.origin.y + s * 0.5), &p.role[LQ_ROLE_ADVERSARIAL], 0.02);
  /* Flipped cell 0 has a dark outline at its edge; unflipped cell 5 does not. */
  g_assert_cmpfloat (grey (&c, (int) r0.origin.x + 1, (int) (r0.origin.y + s / 2)), <, 0.3);
  g_assert_cmpfloat (grey (&c, (int) r5.origin.x + 1, (int) (r5.origin.y + s / 2)), >, 0.3);
  /* Hit testing and the tooltip. */
  graphene_rect_t r9;
  lq_latent_grid_view_cell_rect (v, 300, 300, 9, &r9);
  g_assert_cmpint (lq_latent_grid_view_cell_at (v, 300, 300, r9.origin.x + s / 2, r9.origin.y + s / 2), ==, 9);
  g_assert_cmpint (lq_latent_grid_view_cell_at (v, 300, 300, 1, 299), ==, -1);
  g_autofree char *tip = lq_latent_grid_view_describe_cell (v, 9);
  g_assert_nonnull (strstr (tip, "flipped"));
  g_assert_nonnull (strstr (tip, "+0.500"));
  /* Edited bits get a dot in the purified colour. */
  guint8 edited[64] = { 0 };
  edited[9] = 1;
  lq_latent_grid_view_set_edited (v, edited);
  canvas_init (&c, 300, 300, &p);
  lq_latent_grid_view_draw (v, c.cr, c.w, c.h, &p);
  canvas_done (&c, "grid-edited");
  assert_colour (&c, (int) (r9.origin.x + s / 2), (int) (r9.origin.y + s / 2), &p.role[LQ_ROLE_PURIFIED], 0.02);
  g_object_unref (w);
}

/* ------------------------------------------------------------------ latent map */

static void
test_latent_map_view (void)
{
  LqExplorerPalette p;
  lq_explorer_palette_default (&p, FALSE);
  GtkWidget *w = g_object_ref_sink (lq_latent_map_view_new ());
  LqLatentMapView *v = LQ_LATENT_MAP_VIEW (w);
  /* Two tight clusters: class 0 at (-1, -1), class 1 at (1, 1). */
  float xy[2 * 40];
  guint8 labels[40];
  for (int i = 0; i < 40; i++)
    {
      float base = i < 20 ? -1.f : 1.f;
      xy[2 * i] = base + 0.002f * (i % 5);
      xy[2 * i + 1] = base + 0.002f * (i % 3);
      labels[i] = i < 20 ? 0 : 1;
    }
  lq_latent_map_view_set_points (v, 40, xy, labels);
  g_assert_cmpint (lq_latent_map_view_get_n_points (v), ==, 40);
  float o[2] = { -1, 1 }, a[2] = { 1, -1 };
  lq_latent_map_view_set_markers (v, o, a);
  Canvas c;
  canvas_init (&c, 320, 300, &p);
  lq_latent_map_view_draw (v, c.cr, c.w, c.h, &p);
  canvas_done (&c, "map");
  double x0, y0, x1, y1, ox, oy, ax, ay;
  g_assert_true (lq_latent_map_view_to_widget (v, 320, 300, (float[]) { -1, -1 }, &x0, &y0));
  lq_latent_map_view_to_widget (v, 320, 300, (float[]) { 1, 1 }, &x1, &y1);
  lq_latent_map_view_to_widget (v, 320, 300, o, &ox, &oy);
  lq_latent_map_view_to_widget (v, 320, 300, a, &ax, &ay);
  g_assert_cmpfloat (x0, <, x1);
  g_assert_cmpfloat (y0, >, y1); /* y grows upwards */
  /* Dots in their class colour (drawn with alpha 0.75 over the card). */
  double rgb[3];
  pixel (&c, (int) x0, (int) y0, rgb);
  g_assert_cmpfloat (rgb[2], >, rgb[0]); /* class 0 is blue-ish */
  pixel (&c, (int) x1, (int) y1, rgb);
  g_assert_cmpfloat (rgb[0], >, rgb[2]); /* class 1 is orange */
  /* The adversarial marker is filled; the original marker is a ring in its colour. */
  assert_colour (&c, (int) ax, (int) ay, &p.role[LQ_ROLE_ADVERSARIAL], 0.03);
  assert_colour (&c, (int) ox + 7, (int) oy, &p.role[LQ_ROLE_ORIGINAL], 0.1);
  /* Empty map: the status text, no dots. */
  lq_latent_map_view_set_points (v, 0, NULL, NULL);
  g_assert_false (lq_latent_map_view_to_widget (v, 320, 300, o, &ox, &oy));
  g_object_unref (w);
}

/* ------------------------------------------------------------------ histogram */

static void
test_histogram_view (void)
{
  LqExplorerPalette p;
  lq_explorer_palette_default (&p, FALSE);
  GtkWidget *w = g_object_ref_sink (lq_histogram_view_new ());
  LqHistogramView *v = LQ_HISTOGRAM_VIEW (w);
  float f[15];
  guint8 ok[15];
  for (int i = 0; i < 15; i++)
    {
      f[i] = i < 10 ? 0.0f : 0.125f;
      ok[i] = i < 10;
    }
  lq_histogram_view_set_data (v, 15, 200, f, ok);
  lq_histogram_view_set_current (v, 0.125);
  int counts[LQ_HISTOGRAM_MAX_BUCKETS];
  double acc[LQ_HISTOGRAM_MAX_BUCKETS], bw;
  int nb = lq_histogram_view_get_buckets (v, &bw, counts, acc);
  g_assert_cmpfloat (bw, ==, 0.02);
  g_assert_cmpint (nb, ==, 7);
  g_assert_cmpint (counts[0], ==, 10);
  g_assert_cmpint (counts[6], ==, 5);
  g_assert_cmpfloat (acc[0], ==, 1.0);
  g_assert_cmpfloat (acc[6], ==, 0.0);
  g_assert_true (isnan (acc[3]));
  g_assert_cmpint (lq_histogram_view_get_current_bucket (v), ==, 6);

  Canvas c;
  canvas_init (&c, 360, 280, &p);
  lq_histogram_view_draw (v, c.cr, c.w, c.h, &p);
  canvas_done (&c, "histogram");
  graphene_rect_t r0, r6, r3;
  lq_histogram_view_bar_rect (v, 360, 280, 0, &r0);
  lq_histogram_view_bar_rect (v, 360, 280, 6, &r6);
  lq_histogram_view_bar_rect (v, 360, 280, 3, &r3);
  int base = (int) (r0.origin.y + r0.size.height) - 3;
  /* The current bucket's bar is in the adversarial colour; the others are neutral grey. */
  assert_colour (&c, (int) (r6.origin.x + r6.size.width / 2), base, &p.role[LQ_ROLE_ADVERSARIAL], 0.02);
  double rgb[3];
  pixel (&c, (int) (r0.origin.x + r0.size.width / 2), base, rgb);
  g_assert_cmpfloat (fabs (rgb[0] - rgb[2]), <, 0.05);
  g_assert_cmpfloat (rgb[0], <, 0.8);
  /* The taller bar (10) reaches higher than the shorter (5); an empty bucket has no bar. */
  int top0 = base, top6 = base;
  while (grey (&c, (int) (r0.origin.x + r0.size.width / 2), top0 - 1) < 0.8)
    top0--;
  while (fabs (grey (&c, (int) (r6.origin.x + r6.size.width / 2), top6 - 1) - grey (&c, (int) (r6.origin.x + r6.size.width / 2), base)) < 0.05)
    top6--;
  g_assert_cmpint (base - top0, >, 1.6 * (base - top6));
  assert_colour (&c, (int) (r3.origin.x + r3.size.width / 2), base, &p.bg, 0.02);
  g_object_unref (w);
}

/* ------------------------------------------------------------------ sketch pad */

static void
test_sketch_view (void)
{
  LqExplorerPalette p;
  lq_explorer_palette_default (&p, FALSE);
  GtkWidget *w = g_object_ref_sink (lq_sketch_view_new ());
  LqSketchView *v = LQ_SKETCH_VIEW (w);
  int changed = 0;
  g_signal_connect_swapped (v, "changed", G_CALLBACK (g_atomic_int_inc), &changed);
  double line[] = { 0.2, 0.5, 0.8, 0.5 };
  lq_sketch_view_add_stroke (v, line, 2);
  g_assert_cmpint (lq_sketch_view_get_n_strokes (v), ==, 1);
  g_assert_cmpint (changed, ==, 1);
  g_autofree float *r = lq_sketch_view_render (v, 28);
  g_assert_cmpfloat (r[14 * 28 + 14], <, 0.1);   /* ink on the line */
  g_assert_cmpfloat (r[2 * 28 + 2], >, 0.9);     /* paper elsewhere */
  g_assert_cmpfloat (r[14 * 28 + 2], >, 0.9);    /* not past the ends */

  Canvas c;
  canvas_init (&c, 200, 200, &p);
  lq_sketch_view_draw (v, c.cr, c.w, c.h, &p);
  canvas_done (&c, "sketch");
  g_assert_cmpfloat (grey (&c, 100, 100), >, 0.9);  /* white stroke on the dark pad */
  g_assert_cmpfloat (grey (&c, 100, 30), <, 0.2);

  g_assert_true (lq_sketch_view_undo (v));
  g_assert_cmpint (lq_sketch_view_get_n_strokes (v), ==, 0);
  g_assert_false (lq_sketch_view_undo (v));
  lq_sketch_view_draw_demo (v);
  g_assert_cmpint (lq_sketch_view_get_n_strokes (v), ==, 1);
  lq_sketch_view_clear (v);
  g_assert_cmpint (lq_sketch_view_get_n_strokes (v), ==, 0);
  g_assert_cmpint (changed, ==, 4);
  g_object_unref (w);
}

/* The dark palette keeps the three roles distinct and readable on its background. */
static void
test_palette (void)
{
  for (int dark = 0; dark < 2; dark++)
    {
      LqExplorerPalette p;
      lq_explorer_palette_default (&p, dark);
      for (int a = 0; a < LQ_N_ROLES; a++)
        for (int b = a + 1; b < LQ_N_ROLES; b++)
          {
            const GdkRGBA *x = &p.role[a], *y = &p.role[b];
            double d = fabs (x->red - y->red) + fabs (x->green - y->green) + fabs (x->blue - y->blue);
            g_assert_cmpfloat (d, >, 0.5);
          }
      GdkRGBA c;
      lq_explorer_palette_heat (&p, 0, &c);
      g_assert_cmpfloat (fabs (c.red - p.heat_zero.red), <, 1e-6);
      lq_explorer_palette_heat (&p, 1, &c);
      g_assert_cmpfloat (fabs (c.red - p.heat_pos.red), <, 1e-6);
    }
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/views/image", test_image_view);
  g_test_add_func ("/views/latent-grid", test_latent_grid_view);
  g_test_add_func ("/views/latent-map", test_latent_map_view);
  g_test_add_func ("/views/histogram", test_histogram_view);
  g_test_add_func ("/views/sketch", test_sketch_view);
  g_test_add_func ("/views/palette", test_palette);
  return g_test_run ();
}

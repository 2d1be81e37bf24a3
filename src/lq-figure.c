/* lq-figure.c: plain-Cairo figures (toy text API: a figure needs a few short labels only). */
#include "lq-figure.h"
#include <math.h>
#include "lq-error.h"
#include "lq-safetensors.h"

#define MARGIN_L 64.0
#define MARGIN_R 24.0
#define MARGIN_T 56.0
#define MARGIN_B 72.0

static const double ink[3] = { 0.15, 0.15, 0.18 };
static const double dim[3] = { 0.45, 0.45, 0.50 };
static const double bar_rgb[3] = { 0.33, 0.42, 0.62 };
static const double purified_rgb[3] = { 0.10, 0.55, 0.35 };

void
lq_figure_plot_rect (int width, int height, double *x, double *y, double *w, double *h)
{
  *x = MARGIN_L;
  *y = MARGIN_T;
  *w = MAX (10, width - MARGIN_L - MARGIN_R);
  *h = MAX (10, height - MARGIN_T - MARGIN_B);
}

void
lq_figure_class_rgb (int c, double rgb[3])
{
  /* Tableau 10: distinguishable, and readable on white. */
  static const guint32 hex[10] = { 0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f,
                                   0xedc948, 0xb07aa1, 0xff9da7, 0x9c755f, 0xbab0ac };
  guint32 v = hex[((c % 10) + 10) % 10];
  rgb[0] = (v >> 16 & 0xff) / 255.0;
  rgb[1] = (v >> 8 & 0xff) / 255.0;
  rgb[2] = (v & 0xff) / 255.0;
}

typedef enum { ALIGN_LEFT, ALIGN_CENTER, ALIGN_RIGHT } Align;

/* Text with its baseline at y. */
static void
text (cairo_t *cr, const char *s, double x, double y, double size, Align align, const double rgb[3],
      gboolean bold)
{
  cairo_save (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                          bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, size);
  cairo_text_extents_t e;
  cairo_text_extents (cr, s, &e);
  double dx = align == ALIGN_LEFT ? 0 : align == ALIGN_CENTER ? e.x_advance / 2 : e.x_advance;
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
  cairo_move_to (cr, x - dx, y);
  cairo_show_text (cr, s);
  cairo_restore (cr);
}

/* White page, title, plot frame. */
static void
page (cairo_t *cr, int width, int height, const char *title)
{
  cairo_save (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_restore (cr);
  if (title)
    text (cr, title, width / 2.0, 30, 16, ALIGN_CENTER, ink, TRUE);
}

int
lq_bitflip_buckets (const float *fractions, const guint8 *correct, int n, double *width,
                    int counts[LQ_FIGURE_MAX_BUCKETS], double accuracy[LQ_FIGURE_MAX_BUCKETS])
{
  double m = 0;
  for (int i = 0; i < n; i++)
    m = MAX (m, fractions[i]);
  static const double widths[] = { 0.02, 0.05, 0.10, 0.20 };
  double bw = 0.20;
  for (guint k = 0; k < G_N_ELEMENTS (widths); k++)
    if (m < widths[k] * 10 - 1e-9)
      {
        bw = widths[k];
        break;
      }
  int nb = CLAMP ((int) floor (m / bw + 1e-9) + 1, 5, MIN (LQ_FIGURE_MAX_BUCKETS, (int) ceil (1 / bw - 1e-9)));
  int right[LQ_FIGURE_MAX_BUCKETS] = { 0 };
  for (int b = 0; b < nb; b++)
    counts[b] = 0;
  for (int i = 0; i < n; i++)
    {
      int b = CLAMP ((int) floor (fractions[i] / bw + 1e-9), 0, nb - 1);
      counts[b]++;
      right[b] += correct[i] != 0;
    }
  for (int b = 0; b < nb; b++)
    accuracy[b] = counts[b] ? (double) right[b] / counts[b] : NAN;
  *width = bw;
  return nb;
}

void
lq_figure_draw_bitflips (cairo_t *cr, int width, int height, const char *title,
                         const float *fractions, const guint8 *correct, int n)
{
  int counts[LQ_FIGURE_MAX_BUCKETS];
  double acc[LQ_FIGURE_MAX_BUCKETS], bw, x, y, w, h;
  char buf[64];
  page (cr, width, height, title);
  lq_figure_plot_rect (width, height, &x, &y, &w, &h);
  int nb = lq_bitflip_buckets (fractions, correct, n, &bw, counts, acc);
  int maxc = 1;
  for (int b = 0; b < nb; b++)
    maxc = MAX (maxc, counts[b]);
  double slot = w / nb, base = y + h, top = y + 34;  /* room above the tallest bar for labels */
  for (int b = 0; b < nb; b++)
    {
      double bx = x + b * slot + slot * 0.12, bwid = slot * 0.76;
      double bh = (base - top) * counts[b] / maxc;
      if (counts[b] > 0)
        {
          cairo_set_source_rgb (cr, bar_rgb[0], bar_rgb[1], bar_rgb[2]);
          cairo_rectangle (cr, bx, base - MAX (bh, 2), bwid, MAX (bh, 2));
          cairo_fill (cr);
          g_snprintf (buf, sizeof buf, "%.0f%%", 100 * acc[b]);
          text (cr, buf, bx + bwid / 2, base - bh - 20, 13, ALIGN_CENTER, purified_rgb, TRUE);
          g_snprintf (buf, sizeof buf, "%d", counts[b]);
          text (cr, buf, bx + bwid / 2, base - bh - 6, 11, ALIGN_CENTER, dim, FALSE);
        }
      g_snprintf (buf, sizeof buf, "%g", round (100 * b * bw));
      text (cr, buf, x + b * slot, base + 16, 11, ALIGN_CENTER, dim, FALSE);
    }
  g_snprintf (buf, sizeof buf, "%g", round (100 * nb * bw));
  text (cr, buf, x + w, base + 16, 11, ALIGN_CENTER, dim, FALSE);
  cairo_set_source_rgb (cr, ink[0], ink[1], ink[2]);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, x, round (base) + 0.5);
  cairo_line_to (cr, x + w, round (base) + 0.5);
  cairo_stroke (cr);
  g_snprintf (buf, sizeof buf, "%% of the latent bits flipped (%d images)", n);
  text (cr, buf, x + w / 2, base + 38, 12, ALIGN_CENTER, ink, FALSE);
  text (cr, "bar: images   green: purified accuracy in the bucket", x + w / 2, base + 58, 11,
        ALIGN_CENTER, purified_rgb, FALSE);
}

static void
bounds (const float *a, const float *b, int n, double lo[2], double hi[2])
{
  for (int d = 0; d < 2; d++)
    {
      lo[d] = INFINITY;
      hi[d] = -INFINITY;
      for (int i = 0; i < n; i++)
        {
          lo[d] = MIN (lo[d], a[2 * i + d]), hi[d] = MAX (hi[d], a[2 * i + d]);
          if (b)
            lo[d] = MIN (lo[d], b[2 * i + d]), hi[d] = MAX (hi[d], b[2 * i + d]);
        }
      if (!(hi[d] > lo[d]))
        lo[d] -= 1, hi[d] += 1;
      double m = 0.05 * (hi[d] - lo[d]);
      lo[d] -= m, hi[d] += m;
    }
}

void
lq_figure_draw_latent_map (cairo_t *cr, int width, int height, const char *title,
                           const float *clean, const float *adv, const guint8 *labels, int n,
                           const char *const *class_names)
{
  double x, y, w, h, lo[2], hi[2], rgb[3];
  page (cr, width, height, title);
  lq_figure_plot_rect (width, height, &x, &y, &w, &h);
  bounds (clean, adv, n, lo, hi);
#define PX(p) (x + ((p)[0] - lo[0]) / (hi[0] - lo[0]) * w)
#define PY(p) (y + h - ((p)[1] - lo[1]) / (hi[1] - lo[1]) * h)
  /* The grid: the quantized latent space is a tiling into cells; the overlay suggests it. */
  cairo_set_source_rgb (cr, 0.88, 0.88, 0.90);
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
  if (adv)
    {
      /* Each image's move, faint, under the points. */
      cairo_set_source_rgba (cr, 0.3, 0.3, 0.3, 0.18);
      cairo_set_line_width (cr, 0.8);
      for (int i = 0; i < n; i++)
        {
          cairo_move_to (cr, PX (clean + 2 * i), PY (clean + 2 * i));
          cairo_line_to (cr, PX (adv + 2 * i), PY (adv + 2 * i));
        }
      cairo_stroke (cr);
    }
  for (int i = 0; i < n; i++)
    {
      lq_figure_class_rgb (labels[i], rgb);
      cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], 0.85);
      cairo_arc (cr, PX (clean + 2 * i), PY (clean + 2 * i), 3, 0, 2 * G_PI);
      cairo_fill (cr);
      if (adv)
        {
          double ax = PX (adv + 2 * i), ay = PY (adv + 2 * i);
          cairo_set_line_width (cr, 1.6);
          cairo_move_to (cr, ax - 3.5, ay - 3.5);
          cairo_line_to (cr, ax + 3.5, ay + 3.5);
          cairo_move_to (cr, ax - 3.5, ay + 3.5);
          cairo_line_to (cr, ax + 3.5, ay - 3.5);
          cairo_stroke (cr);
        }
    }
#undef PX
#undef PY
  cairo_set_source_rgb (cr, dim[0], dim[1], dim[2]);
  cairo_rectangle (cr, x + 0.5, y + 0.5, w - 1, h - 1);
  cairo_stroke (cr);
  /* Legend: classes in two rows of five, then the markers. */
  for (int c = 0; c < 10; c++)
    {
      double lx = x + (c % 5) * w / 5, ly = y + h + 20 + (c / 5) * 18;
      lq_figure_class_rgb (c, rgb);
      cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
      cairo_arc (cr, lx + 5, ly - 4, 4, 0, 2 * G_PI);
      cairo_fill (cr);
      char buf[32];
      g_snprintf (buf, sizeof buf, "%d", c);
      text (cr, class_names ? class_names[c] : buf, lx + 13, ly, 11, ALIGN_LEFT, ink, FALSE);
    }
  if (adv)
    text (cr, "dot: clean code   cross: its adversarial code", x + w / 2, height - 6.0, 11,
          ALIGN_CENTER, dim, FALSE);
}

void
lq_figure_draw_curves (cairo_t *cr, int width, int height, const char *title, const char *x_label,
                       const char *y_label, double x_max, const LqFigureCurve *curves, int n_curves)
{
  double x, y, w, h;
  char buf[32];
  page (cr, width, height, title);
  lq_figure_plot_rect (width, height, &x, &y, &w, &h);
  cairo_set_line_width (cr, 1);
  for (int k = 0; k <= 5; k++)   /* 0, 20, …, 100 % */
    {
      double gy = round (y + h - h * k / 5) + 0.5;
      cairo_set_source_rgb (cr, 0.9, 0.9, 0.92);
      cairo_move_to (cr, x, gy);
      cairo_line_to (cr, x + w, gy);
      cairo_stroke (cr);
      g_snprintf (buf, sizeof buf, "%d", 20 * k);
      text (cr, buf, x - 6, gy + 4, 11, ALIGN_RIGHT, dim, FALSE);
    }
  for (int k = 0; k <= 4; k++)
    {
      double v = x_max * k / 4, gx = round (x + w * k / 4) + 0.5;
      g_snprintf (buf, sizeof buf, "%g", round (v * 1000) / 1000);
      text (cr, buf, gx, y + h + 16, 11, ALIGN_CENTER, dim, FALSE);
    }
  cairo_set_source_rgb (cr, ink[0], ink[1], ink[2]);
  cairo_move_to (cr, x + 0.5, y);
  cairo_line_to (cr, x + 0.5, y + h + 0.5);
  cairo_line_to (cr, x + w, y + h + 0.5);
  cairo_stroke (cr);
  text (cr, x_label, x + w / 2, y + h + 36, 12, ALIGN_CENTER, ink, FALSE);
  cairo_save (cr);
  cairo_translate (cr, 16, y + h / 2);
  cairo_rotate (cr, -G_PI / 2);
  text (cr, y_label, 0, 0, 12, ALIGN_CENTER, ink, FALSE);
  cairo_restore (cr);
  for (int c = 0; c < n_curves; c++)
    {
      const LqFigureCurve *cv = &curves[c];
      cairo_set_source_rgb (cr, cv->rgb[0], cv->rgb[1], cv->rgb[2]);
      cairo_set_line_width (cr, 2.2);
      double dash[] = { 7, 4 };
      cairo_set_dash (cr, dash, cv->dashed ? 2 : 0, 0);
      gboolean pen = FALSE;
      for (int i = 0; i < cv->n; i++)
        {
          if (isnan (cv->y[i]))
            {
              pen = FALSE;
              continue;
            }
          double px = x + cv->x[i] / x_max * w, py = y + h - cv->y[i] * h;
          if (pen)
            cairo_line_to (cr, px, py);
          else
            cairo_move_to (cr, px, py);
          pen = TRUE;
        }
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      for (int i = 0; i < cv->n; i++)
        if (!isnan (cv->y[i]))
          {
            cairo_arc (cr, x + cv->x[i] / x_max * w, y + h - cv->y[i] * h, 3, 0, 2 * G_PI);
            cairo_fill (cr);
          }
    }
  /* Legend in the lower left, where accuracy curves (high at ε 0) seldom go. */
  if (n_curves > 0)
    {
      cairo_set_source_rgba (cr, 1, 1, 1, 0.85);
      cairo_rectangle (cr, x + 4, y + h - 26 - (n_curves - 1) * 16, 230, n_curves * 16 + 8);
      cairo_fill (cr);
    }
  for (int c = 0; c < n_curves; c++)
    {
      const LqFigureCurve *cv = &curves[c];
      double lx = x + 12, ly = y + h - 10 - (n_curves - 1 - c) * 16, dash[] = { 7, 4 };
      cairo_set_source_rgb (cr, cv->rgb[0], cv->rgb[1], cv->rgb[2]);
      cairo_set_line_width (cr, 2.2);
      cairo_set_dash (cr, dash, cv->dashed ? 2 : 0, 0);
      cairo_move_to (cr, lx, ly - 4);
      cairo_line_to (cr, lx + 26, ly - 4);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      text (cr, cv->label, lx + 32, ly, 11, ALIGN_LEFT, ink, FALSE);
    }
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

gboolean
lq_figure_write_png (cairo_surface_t *surface, const char *path, GError **error)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  cairo_status_t st = cairo_surface_write_to_png_stream (surface, append_bytes, bytes);
  if (st != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "encoding %s: %s", path, cairo_status_to_string (st));
      return FALSE;
    }
  return lq_file_replace_atomically (path, bytes->data, bytes->len, error);
}

/* lq-image-view.c */
#include "lq-image-view.h"
#include <math.h>
#include <string.h>

struct _LqImageView {
  GtkWidget parent_instance;
  LqExplorerRole role;
  char *title, *subtitle, *footer, *placeholder;
  gboolean has_image, has_probs, has_delta, heatmap, busy;
  float image[784], probs[10], delta[784];
  int truth;
  char **class_names;
};

G_DEFINE_FINAL_TYPE (LqImageView, lq_image_view, GTK_TYPE_WIDGET)

static void update_accessible_label (LqImageView *self);

#define PAD 10.0
#define TITLE_H 22.0
#define INFO_H 118.0
#define SCALE_H 20.0   /* room under the image for the heat map's colour bar */

static const char *role_titles[] = { "Original", "Adversarial", "Purified" };

void
lq_image_view_image_rect (LqImageView *self, int width, int height, double *x, double *y,
                          double *side)
{
  double avail_w = width - 2 * PAD - 6, avail_h = height - TITLE_H - INFO_H - SCALE_H - 2 * PAD - 6;
  double s = MIN (avail_w, avail_h);
  /* Integer scale factors keep every MNIST pixel the same size. */
  if (s >= 56)
    s = floor (s / 28) * 28;
  s = MAX (s, 28);
  *side = s;
  *x = round ((width - s) / 2);
  *y = round (PAD + TITLE_H + 3);
}

static void
class_name (LqImageView *self, int c, char *buf, gsize len)
{
  if (self->class_names && c >= 0 && c < (int) g_strv_length (self->class_names))
    g_strlcpy (buf, self->class_names[c], len);
  else
    g_snprintf (buf, len, "%d", c);
}

static void
top3 (const float *p, int idx[3])
{
  for (int k = 0; k < 3; k++)
    {
      int best = -1;
      for (int c = 0; c < 10; c++)
        {
          gboolean used = FALSE;
          for (int j = 0; j < k; j++)
            used |= idx[j] == c;
          if (!used && (best < 0 || p[c] > p[best]))
            best = c;
        }
      idx[k] = best;
    }
}

void
lq_image_view_draw (LqImageView *self, cairo_t *cr, int width, int height,
                    const LqExplorerPalette *p)
{
  const GdkRGBA *rc = &p->role[self->role];
  double x, y, side;
  char buf[256];

  /* Title: a dot of the role's colour, the title, the subtitle. */
  cairo_save (cr);
  gdk_cairo_set_source_rgba (cr, rc);
  cairo_arc (cr, PAD + 5, PAD + 9, 5, 0, 2 * G_PI);
  cairo_fill (cr);
  cairo_restore (cr);
  g_autofree char *t = g_markup_escape_text (self->title ? self->title : role_titles[self->role], -1);
  double tw = lq_explorer_draw_text (cr, p, t, PAD + 15, PAD, 14, LQ_ALIGN_LEFT, rc, TRUE, 0, NULL);
  if (self->subtitle)
    {
      g_autofree char *st = g_markup_escape_text (self->subtitle, -1);
      lq_explorer_draw_text (cr, p, st, PAD + 22 + tw, PAD + 1, 13, LQ_ALIGN_LEFT, &p->dim, FALSE,
                             width - (PAD + 22 + tw) - PAD, NULL);
    }

  lq_image_view_image_rect (self, width, height, &x, &y, &side);
  /* The frame in the role's colour. */
  cairo_save (cr);
  gdk_cairo_set_source_rgba (cr, rc);
  cairo_rectangle (cr, x - 3, y - 3, side + 6, side + 6);
  cairo_fill (cr);
  cairo_restore (cr);
  gboolean show_heat = self->heatmap && self->has_delta;
  if (show_heat)
    {
      float m = 0;
      for (int i = 0; i < 784; i++)
        m = MAX (m, fabsf (self->delta[i]));
      if (m < 1e-6f)
        m = 1;
      lq_explorer_draw_heat (cr, p, self->delta, m, x, y, side);
      /* Colour bar with its scale, under the heat map. */
      double bw = MIN (side - 90, 160), bx = x + (side - bw) / 2, by = y + side + 8;
      cairo_save (cr);
      for (int i = 0; i < (int) bw; i++)
        {
          GdkRGBA c;
          lq_explorer_palette_heat (p, (i / (bw - 1)) * 2 - 1, &c);
          gdk_cairo_set_source_rgba (cr, &c);
          cairo_rectangle (cr, bx + i, by, 1, 10);
          cairo_fill (cr);
        }
      cairo_set_source_rgba (cr, p->fg.red, p->fg.green, p->fg.blue, 0.4);
      cairo_set_line_width (cr, 1);
      cairo_rectangle (cr, bx - 0.5, by - 0.5, bw + 1, 11);
      cairo_stroke (cr);
      cairo_restore (cr);
      g_snprintf (buf, sizeof buf, "−%.2f", m);
      lq_explorer_draw_text (cr, p, buf, bx - 5, by - 3, 11, LQ_ALIGN_RIGHT, &p->dim, FALSE, 0, NULL);
      g_snprintf (buf, sizeof buf, "+%.2f", m);
      lq_explorer_draw_text (cr, p, buf, bx + bw + 5, by - 3, 11, LQ_ALIGN_LEFT, &p->dim, FALSE, 0, NULL);
    }
  else if (self->has_image)
    lq_explorer_draw_digit (cr, p, self->image, x, y, side);
  else
    {
      cairo_save (cr);
      gdk_cairo_set_source_rgba (cr, &p->card);
      cairo_rectangle (cr, x, y, side, side);
      cairo_fill (cr);
      cairo_restore (cr);
      g_autofree char *ph = g_markup_escape_text (self->placeholder ? self->placeholder : "", -1);
      lq_explorer_draw_text (cr, p, ph, x + side / 2, y + side / 2 - 9, 14, LQ_ALIGN_CENTER,
                             &p->dim, FALSE, side - 12, NULL);
    }
  if (self->busy)
    {
      cairo_save (cr);
      cairo_set_source_rgba (cr, p->bg.red, p->bg.green, p->bg.blue, 0.45);
      cairo_rectangle (cr, x, y, side, side);
      cairo_fill (cr);
      cairo_restore (cr);
    }

  /* Prediction, confidence, top-3 bars. */
  double iy = y + side + 12 + SCALE_H;
  double left = MAX (PAD, x - 3), right = MIN (width - PAD, x + side + 3), iw = right - left;
  if (self->has_probs)
    {
      int idx[3];
      top3 (self->probs, idx);
      char name[64];
      class_name (self, idx[0], name, sizeof name);
      g_autofree char *en = g_markup_escape_text (name, -1);
      g_snprintf (buf, sizeof buf, "%s <span weight='normal' size='80%%'>· %.1f %%</span>", en,
                  100.0 * self->probs[idx[0]]);
      /* Leave room for the verdict on the right, so long class names ellipsize instead of
       * running into it. */
      double verdict_w = self->truth >= 0 ? 64 : 0;
      lq_explorer_draw_text (cr, p, buf, left, iy, 20, LQ_ALIGN_LEFT, &p->fg, TRUE, iw - verdict_w,
                             NULL);
      if (self->truth >= 0)
        {
          gboolean ok = idx[0] == self->truth;
          lq_explorer_draw_text (cr, p, ok ? "correct" : "wrong", right, iy + 6, 12, LQ_ALIGN_RIGHT,
                                 ok ? &p->role[LQ_ROLE_PURIFIED] : &p->role[LQ_ROLE_ADVERSARIAL],
                                 TRUE, 0, NULL);
        }
      iy += 32;
      double name_w = MIN (110, iw * 0.42), pct_w = 52, bar_x = left + name_w + 6;
      double bar_w = MAX (10, iw - name_w - pct_w - 12);
      for (int k = 0; k < 3; k++)
        {
          int c = idx[k];
          class_name (self, c, name, sizeof name);
          g_autofree char *e = g_markup_escape_text (name, -1);
          const GdkRGBA *col = k == 0 ? &p->fg : &p->dim;
          lq_explorer_draw_text (cr, p, e, left, iy, 12.5, LQ_ALIGN_LEFT, col, k == 0, name_w, NULL);
          cairo_save (cr);
          cairo_set_source_rgba (cr, p->fg.red, p->fg.green, p->fg.blue, 0.08);
          lq_explorer_rounded_rect (cr, bar_x, iy + 3, bar_w, 11, 3);
          cairo_fill (cr);
          double fw = bar_w * CLAMP (self->probs[c], 0.f, 1.f);
          if (fw > 0.5)
            {
              cairo_set_source_rgba (cr, rc->red, rc->green, rc->blue, k == 0 ? 1.0 : 0.55);
              lq_explorer_rounded_rect (cr, bar_x, iy + 3, MAX (fw, 3), 11, 3);
              cairo_fill (cr);
            }
          cairo_restore (cr);
          g_snprintf (buf, sizeof buf, "%.1f %%", 100.0 * self->probs[c]);
          lq_explorer_draw_text (cr, p, buf, right, iy, 12.5, LQ_ALIGN_RIGHT, col, FALSE, 0, NULL);
          iy += 19;
        }
    }
  else
    iy += 32 + 57;
  if (self->footer)
    lq_explorer_draw_text (cr, p, self->footer, left, iy + 4, 12.5, LQ_ALIGN_LEFT, &p->dim, FALSE,
                           iw, NULL);
}

static void
lq_image_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LqImageView *self = LQ_IMAGE_VIEW (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  LqExplorerPalette p;
  lq_explorer_palette_for_widget (widget, &p);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  lq_image_view_draw (self, cr, w, h, &p);
  cairo_destroy (cr);
}

static void
lq_image_view_measure (GtkWidget *widget, GtkOrientation o, int for_size, int *min, int *nat,
                       int *min_base, int *nat_base)
{
  if (o == GTK_ORIENTATION_HORIZONTAL)
    *min = 220, *nat = 300;
  else
    *min = (int) (TITLE_H + INFO_H + SCALE_H + 2 * PAD + 6 + 28 * 5), *nat = (int) (TITLE_H + INFO_H + SCALE_H + 2 * PAD + 6 + 28 * 8);
}

static void
lq_image_view_finalize (GObject *object)
{
  LqImageView *self = LQ_IMAGE_VIEW (object);
  g_free (self->title);
  g_free (self->subtitle);
  g_free (self->footer);
  g_free (self->placeholder);
  g_strfreev (self->class_names);
  G_OBJECT_CLASS (lq_image_view_parent_class)->finalize (object);
}

static void
lq_image_view_class_init (LqImageViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->finalize = lq_image_view_finalize;
  widget_class->snapshot = lq_image_view_snapshot;
  widget_class->measure = lq_image_view_measure;
  gtk_widget_class_set_css_name (widget_class, "lq-image-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lq_image_view_init (LqImageView *self)
{
  self->truth = -1;
}

GtkWidget *
lq_image_view_new (LqExplorerRole role)
{
  LqImageView *self = g_object_new (LQ_TYPE_IMAGE_VIEW, NULL);
  self->role = role;
  return GTK_WIDGET (self);
}

void
lq_image_view_set_role (LqImageView *self, LqExplorerRole role)
{
  self->role = role;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

LqExplorerRole
lq_image_view_get_role (LqImageView *self)
{
  return self->role;
}

static void
replace (char **dst, const char *src)
{
  if (g_strcmp0 (*dst, src) != 0)
    {
      g_free (*dst);
      *dst = g_strdup (src);
    }
}

void
lq_image_view_set_title (LqImageView *self, const char *title, const char *subtitle)
{
  replace (&self->title, title);
  replace (&self->subtitle, subtitle);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_image_view_set_image (LqImageView *self, const float *image)
{
  self->has_image = image != NULL;
  if (image)
    memcpy (self->image, image, sizeof self->image);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_image_view_set_probs (LqImageView *self, const float *probs, int truth)
{
  self->has_probs = probs != NULL;
  if (probs)
    memcpy (self->probs, probs, sizeof self->probs);
  self->truth = truth;
  update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_image_view_set_class_names (LqImageView *self, const char *const *names)
{
  g_strfreev (self->class_names);
  self->class_names = g_strdupv ((char **) names);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_image_view_set_footer (LqImageView *self, const char *footer)
{
  replace (&self->footer, footer);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_image_view_set_placeholder (LqImageView *self, const char *text)
{
  replace (&self->placeholder, text);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char *
lq_image_view_get_placeholder (LqImageView *self)
{
  return self->has_image ? NULL : self->placeholder;
}

const char *
lq_image_view_get_footer (LqImageView *self)
{
  return self->footer;
}

void
lq_image_view_set_delta (LqImageView *self, const float *delta)
{
  self->has_delta = delta != NULL;
  if (delta)
    memcpy (self->delta, delta, sizeof self->delta);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
lq_image_view_set_heatmap (LqImageView *self, gboolean heatmap)
{
  self->heatmap = heatmap;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
lq_image_view_get_heatmap (LqImageView *self)
{
  return self->heatmap;
}

void
lq_image_view_set_busy (LqImageView *self, gboolean busy)
{
  if (self->busy != busy)
    {
      self->busy = busy;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

/* What a screen reader says for the panel: its title and what the classifier sees. */
static void
update_accessible_label (LqImageView *self)
{
  char name[64] = "";
  g_autofree char *text = NULL;
  const char *title = self->title ? self->title : role_titles[self->role];
  float conf;
  int c = lq_image_view_get_prediction (self, &conf);
  if (c >= 0)
    {
      class_name (self, c, name, sizeof name);
      text = g_strdup_printf ("%s image, classified as %s with %.0f %% confidence", title, name, 100 * conf);
    }
  else
    text = g_strdup_printf ("%s image: %s", title, self->placeholder ? self->placeholder : "no result");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
}

int
lq_image_view_get_prediction (LqImageView *self, float *confidence)
{
  if (!self->has_probs)
    return -1;
  int idx[3];
  top3 (self->probs, idx);
  if (confidence)
    *confidence = self->probs[idx[0]];
  return idx[0];
}

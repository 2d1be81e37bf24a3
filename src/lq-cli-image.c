/* lq-cli-image.c */
#include "lq-cli-image.h"
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include "lq-dataset.h"
#include "lq-error.h"
#include "lq-image.h"
#include "lq-safetensors.h"
#include "lq-tensor.h"

/* The explorer's limit (LQ_EXPLORER_MAX_PIXELS): 40 megapixels, 160 MB decoded. */
#define LQ_CLI_IMAGE_MAX_PIXELS ((gint64) 40000000)

gboolean
lq_cli_image_load (const char *path, float *out, GError **error)
{
  int w = 0, h = 0;
  if (gdk_pixbuf_get_file_info (path, &w, &h) == NULL)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s: not an image gdk-pixbuf can read", path);
      return FALSE;
    }
  /* Decided from the header, before decoding: a 16384×16384 image within the side limit would
   * still take 1 GB as a pixbuf and 1 GB more as grey floats. */
  if (w <= 0 || h <= 0 || w > LQ_IMAGE_MAX_SIDE || h > LQ_IMAGE_MAX_SIDE
      || (gint64) w * h > LQ_CLI_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "%s: %d×%d is too large (at most %d a side and %d megapixels)", path, w, h,
                   LQ_IMAGE_MAX_SIDE, (int) (LQ_CLI_IMAGE_MAX_PIXELS / 1000000));
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file (path, &local);
  if (pb == NULL)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s: %s", path, local->message);
      return FALSE;
    }
  g_autofree float *grey = lq_image_grey_from_rgb8 (
    gdk_pixbuf_read_pixels (pb), gdk_pixbuf_get_width (pb), gdk_pixbuf_get_height (pb),
    gdk_pixbuf_get_rowstride (pb), gdk_pixbuf_get_n_channels (pb), error);
  if (grey == NULL)
    return FALSE;
  if (!lq_image_to_mnist (grey, gdk_pixbuf_get_width (pb), gdk_pixbuf_get_height (pb),
                          gdk_pixbuf_get_width (pb), out, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  return TRUE;
}

gboolean
lq_cli_image_save (const char *path, const float *img, int scale, GError **error)
{
  const int side = LQ_IMAGE_SIDE * scale;
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, side, side);
  guint8 *px = gdk_pixbuf_get_pixels (pb);
  const int rs = gdk_pixbuf_get_rowstride (pb);
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        float v = img[(y / scale) * LQ_IMAGE_SIDE + x / scale];
        guint8 b = (guint8) lrintf (255.0f * (isfinite (v) ? CLAMP (v, 0.0f, 1.0f) : 0.0f));
        guint8 *p = px + (size_t) y * rs + 3 * x;
        p[0] = p[1] = p[2] = b;
      }
  g_autofree char *buf = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!gdk_pixbuf_save_to_buffer (pb, &buf, &len, "png", &local, NULL))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "%s: %s", path, local->message);
      return FALSE;
    }
  return lq_file_replace_atomically (path, buf, len, error);
}

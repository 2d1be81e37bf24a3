/* fuzz-image.c: lq_image_grey_from_rgb8 and lq_image_to_mnist on arbitrary pixels and layouts.
 *
 * Input: byte 0 picks the path (bit 0: RGB8 bytes through lq_image_grey_from_rgb8, bit 1: with
 * alpha), bytes 1–4 the width and height (little-endian u16: up to 256 a side, or from 0xff00 up
 * one of the edge sizes below), byte 5 the row padding (255: a stride shorter than a row); the
 * rest, repeated, fills the pixels (grey: 0–250 → [0, 1], then -0.25, 1.25, NaN, +Inf, -Inf).
 *
 * Every buffer is allocated at its exact size, the last row without padding as GdkPixbuf lays
 * it out, so AddressSanitizer catches a read or write past it. Checked: a bad size or stride is refused without reading a pixel; row padding (filled with
 * NaN or junk) is never read: the result equals that of the same pixels packed without padding;
 * a non-finite pixel is refused; an accepted image gives 784 values in [0, 1] whose peak is
 * exactly 1 and whose ink fits in a 20×20 box; the same input gives the same output. */
#include "fuzz-common.h"
#include "lq-dataset.h"
#include "lq-error.h"
#include "lq-image.h"
#include <limits.h>
#include <math.h>
#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init_glib ();
  return 0;
}

static int
side (guint16 v)
{
  static const int edge[] = { 0, -1, INT_MIN, LQ_IMAGE_MAX_SIDE, LQ_IMAGE_MAX_SIDE + 1, 20000,
                              INT_MAX };
  if (v >= 0xff00)
    return edge[(v - 0xff00) % G_N_ELEMENTS (edge)];
  return 1 + v % 256;
}

static float
grey_value (guint8 b)
{
  static const float special[] = { -0.25f, 1.25f, NAN, INFINITY, -INFINITY };
  return b <= 250 ? b / 250.0f : special[b - 251];
}

/* Runs the conversion and checks what an accepted result promises; out has 784 floats. */
static gboolean
to_mnist (const float *grey, int w, int h, int stride, float *out, gboolean finite)
{
  GError *error = NULL;
  gboolean ok = lq_image_to_mnist (grey, w, h, stride, out, &error);
  if (!ok)
    {
      FUZZ_CHECK_ERROR (error);
      g_error_free (error);
      return FALSE;
    }
  FUZZ_CHECK (error == NULL && finite);
  float peak = 0;
  int x0 = LQ_IMAGE_SIDE, x1 = -1, y0 = LQ_IMAGE_SIDE, y1 = -1;
  for (int i = 0; i < LQ_IMAGE_SIZE; i++)
    {
      FUZZ_CHECK (out[i] >= 0.0f && out[i] <= 1.0f);
      peak = MAX (peak, out[i]);
      if (out[i] > 0)
        {
          int x = i % LQ_IMAGE_SIDE, y = i / LQ_IMAGE_SIDE;
          x0 = MIN (x0, x), x1 = MAX (x1, x), y0 = MIN (y0, y), y1 = MAX (y1, y);
        }
    }
  FUZZ_CHECK (peak == 1.0f);
  FUZZ_CHECK (x1 - x0 < 20 && y1 - y0 < 20);
  return TRUE;
}

/* A size the core must refuse before it reads a pixel: hand it a 1-byte buffer. */
static void
check_refused_size (int w, int h, gboolean rgb)
{
  guint8 *tiny = calloc (1, 1);
  GError *error = NULL;
  if (rgb)
    {
      float *g = lq_image_grey_from_rgb8 (tiny, w, h, INT_MAX, 4, &error);
      FUZZ_CHECK (g == NULL);
    }
  else
    {
      float *out = g_new (float, LQ_IMAGE_SIZE);
      FUZZ_CHECK (!lq_image_to_mnist ((const float *) (void *) tiny, w, h, INT_MAX, out, &error));
      g_free (out);
    }
  FUZZ_CHECK_ERROR (error);
  g_error_free (error);
  free (tiny);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 6)
    return 0;
  gboolean rgb = data[0] & 1;
  int channels = data[0] & 2 ? 4 : 3;
  int w = side (data[1] | data[2] << 8), h = side (data[3] | data[4] << 8);
  int pad = data[5];
  const guint8 *px = data + 6;
  gsize npx = size - 6;
  if (w <= 0 || h <= 0 || w > LQ_IMAGE_MAX_SIDE || h > LQ_IMAGE_MAX_SIDE)
    {
      check_refused_size (w, h, rgb);
      return 0;
    }
  /* A full-size side stays legal; keep the other side small so one run stays fast. */
  if (w > 256 && h > 64)
    h = 64;
  if (h > 256 && w > 64)
    w = 64;
  gsize n = (gsize) w * (gsize) h;

  /* The packed grey image (stride = width), from grey values or through the RGB8 conversion. */
  float *grey;
  if (rgb)
    {
      gsize row = (gsize) w * channels;
      int stride = pad == 255 ? (int) row - 1 : (int) row + pad % 8;
      gsize bytes = pad == 255 ? row * h : (gsize) stride * (h - 1) + row; /* the last row short */
      guint8 *pixels = g_malloc (bytes);
      for (gsize i = 0; i < bytes; i++)
        pixels[i] = npx ? px[i % npx] : 0;
      GError *error = NULL;
      grey = lq_image_grey_from_rgb8 (pixels, w, h, stride, channels, &error);
      if (pad == 255)
        {
          FUZZ_CHECK (grey == NULL);
          FUZZ_CHECK_ERROR (error);
          g_error_free (error);
          g_free (pixels);
          return 0;
        }
      FUZZ_CHECK (grey != NULL && error == NULL);
      /* The same pixels packed without padding give the same grey values. */
      guint8 *packed = g_malloc (row * h);
      for (int y = 0; y < h; y++)
        memcpy (packed + row * y, pixels + (gsize) stride * y, row);
      float *grey2 = lq_image_grey_from_rgb8 (packed, w, h, (int) row, channels, NULL);
      FUZZ_CHECK (grey2 != NULL && memcmp (grey, grey2, n * sizeof (float)) == 0);
      for (gsize i = 0; i < n; i++)
        FUZZ_CHECK (grey[i] >= 0.0f && grey[i] <= 1.0f);
      g_free (grey2);
      g_free (packed);
      g_free (pixels);
    }
  else
    {
      grey = g_malloc (n * sizeof (float));
      for (gsize i = 0; i < n; i++)
        grey[i] = grey_value (npx ? px[i % npx] : 0);
    }
  gboolean finite = TRUE;
  for (gsize i = 0; i < n; i++)
    finite &= isfinite (grey[i]);

  float *out = g_new (float, LQ_IMAGE_SIZE);
  gboolean ok = to_mnist (grey, w, h, w, out, finite);
  if (!finite)
    FUZZ_CHECK (!ok);

  /* The same image again: identical result. */
  float *again = g_new (float, LQ_IMAGE_SIZE);
  FUZZ_CHECK (to_mnist (grey, w, h, w, again, finite) == ok);
  FUZZ_CHECK (!ok || memcmp (out, again, sizeof (float) * LQ_IMAGE_SIZE) == 0);

  /* With row padding full of NaN (never to be read) and the last row unpadded, or with a
   * stride shorter than a row (refused). */
  int stride = pad == 255 ? w - 1 : w + pad % 8;
  gsize len = pad == 255 ? n : (gsize) stride * (h - 1) + w;
  float *padded = g_malloc (MAX (len, 1) * sizeof (float));
  for (gsize i = 0; i < len; i++)
    padded[i] = NAN;
  for (int y = 0; pad != 255 && y < h; y++)
    memcpy (padded + (gsize) stride * y, grey + (gsize) w * y, (gsize) w * sizeof (float));
  gboolean ok2 = to_mnist (padded, w, h, stride, again, finite);
  if (pad == 255)
    FUZZ_CHECK (!ok2);
  else
    FUZZ_CHECK (ok2 == ok && (!ok || memcmp (out, again, sizeof (float) * LQ_IMAGE_SIZE) == 0));

  g_free (padded);
  g_free (again);
  g_free (out);
  g_free (grey);
  return 0;
}

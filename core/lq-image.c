/* lq-image.c: a user's picture to an MNIST-style 28×28 image.
 *
 * MNIST's recipe (LeCun et al.): the NIST digits, bilevel, were fitted into a 20×20 box keeping
 * their aspect ratio, anti-aliased, and placed in a 28×28 frame so that their centre of mass is at
 * the frame's centre. In MNIST itself that centre of mass, in pixel-index coordinates, lies within
 * half a pixel of (14, 14) for every image: the shift was a whole number of pixels. We do the same:
 *
 * 1. background level = median of the border pixels; a light border (> 0.5) means dark ink on
 *    light paper, so the values are inverted; the background level is then subtracted and the
 *    rest stretched to [0, 1] (paper that is grey in a photo is not ink);
 * 2. crop to the bounding box of pixels with more than LQ_INK_THRESHOLD ink;
 * 3. scale by s = 20 / max(w, h) with exact area coverage (each source pixel spreads its ink over
 *    the output pixels it overlaps, in proportion to the overlap): one pass over the source, no
 *    intermediate image, so a 4000×4000 picture costs one read of its pixels;
 * 4. stretch so the darkest output pixel is full ink (the NIST originals were bilevel, so MNIST
 *    strokes reach full intensity whatever the pen width of the picture);
 * 5. place in 28×28, shifted by the rounded offset from the centre of mass to (14, 14), clipped so
 *    the 20×20 box stays inside the frame. */
#include "lq-image.h"
#include "lq-dataset.h"
#include "lq-error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LQ_INK_THRESHOLD 0.1f
#define BOX 20

static gboolean
check_size (int width, int height, GError **error)
{
  if (width <= 0 || height <= 0)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "the image is empty (%d×%d)",
                   width, height);
      return FALSE;
    }
  if (width > LQ_IMAGE_MAX_SIDE || height > LQ_IMAGE_MAX_SIDE)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "the image is too large (%d×%d; at most %d pixels a side)", width, height,
                   LQ_IMAGE_MAX_SIDE);
      return FALSE;
    }
  return TRUE;
}

float *
lq_image_grey_from_rgb8 (const guint8 *pixels, int width, int height, int rowstride,
                         int channels, GError **error)
{
  if (!check_size (width, height, error))
    return NULL;
  if (pixels == NULL || (channels != 3 && channels != 4)
      || rowstride < width * channels)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "unsupported pixel layout (%d channels, row stride %d for width %d)",
                   channels, rowstride, width);
      return NULL;
    }
  /* Up to 16384² floats: ask, and fail cleanly instead of aborting. Freed with g_free. */
  float *grey = g_try_malloc_n ((gsize) width * (gsize) height, sizeof (float));
  if (grey == NULL)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "not enough memory for a %d×%d image", width, height);
      return NULL;
    }
  for (int y = 0; y < height; y++)
    {
      const guint8 *p = pixels + (size_t) y * (size_t) rowstride;
      float *g = grey + (size_t) y * (size_t) width;
      for (int x = 0; x < width; x++, p += channels)
        {
          /* ITU-R BT.601 luma, then alpha composited on white paper. */
          float v = (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) / 255.0f;
          if (channels == 4)
            {
              float a = p[3] / 255.0f;
              v = a * v + (1.0f - a);
            }
          g[x] = v;
        }
    }
  return grey;
}

static int
float_cmp (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* For one axis: source pixel i of n covers [i·s, (i+1)·s) in output units; its overlap with output
 * pixel o is its weight there. first[i] is the first output it touches, w[i·k + j] the weights
 * for first[i] + j (k per pixel). */
static void
axis_weights (int n, double s, int out_len, int k, int *first, float *w)
{
  for (int i = 0; i < n; i++)
    {
      double a = i * s, b = (i + 1) * s;
      int o0 = (int) floor (a);
      first[i] = o0;
      for (int j = 0; j < k; j++)
        {
          int o = o0 + j;
          double ov = MIN (b, (double) o + 1) - MAX (a, (double) o);
          w[(size_t) i * k + j] = (o < out_len && ov > 0) ? (float) ov : 0.0f;
        }
    }
}

gboolean
lq_image_to_mnist (const float *grey, int width, int height, int stride, float *out,
                   GError **error)
{
  if (!check_size (width, height, error))
    return FALSE;
  if (grey == NULL || out == NULL || stride < width)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "bad pixel buffer (row stride %d for width %d)", stride, width);
      return FALSE;
    }
#define PX(x, y) (grey[(size_t) (y) * (size_t) stride + (size_t) (x)])

  /* Every pixel must be a number; values outside [0, 1] are clamped. */
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      if (!isfinite (PX (x, y)))
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                       "pixel (%d, %d) is not a finite number", x, y);
          return FALSE;
        }

  /* 1. The background: median of the border (robust to strokes that touch the edge). */
  gsize nb = 2 * (gsize) width + 2 * (gsize) height;
  float *border = g_new (float, nb);
  gsize k = 0;
  for (int x = 0; x < width; x++)
    {
      border[k++] = CLAMP (PX (x, 0), 0.0f, 1.0f);
      border[k++] = CLAMP (PX (x, height - 1), 0.0f, 1.0f);
    }
  for (int y = 0; y < height; y++)
    {
      border[k++] = CLAMP (PX (0, y), 0.0f, 1.0f);
      border[k++] = CLAMP (PX (width - 1, y), 0.0f, 1.0f);
    }
  qsort (border, nb, sizeof (float), float_cmp);
  float median = border[nb / 2];
  g_free (border);
  gboolean invert = median > 0.5f;
  float bg = invert ? 1.0f - median : median; /* background ink level, ≤ 0.5 */
  float gain = 1.0f / (1.0f - bg);
#define INK(x, y)                                                                            \
  ({                                                                                         \
    float v_ = CLAMP (PX (x, y), 0.0f, 1.0f);                                                \
    v_ = ((invert ? 1.0f - v_ : v_) - bg) * gain;                                            \
    CLAMP (v_, 0.0f, 1.0f);                                                                  \
  })

  /* 2. The ink's bounding box. */
  int x0 = width, x1 = -1, y0 = height, y1 = -1;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      if (INK (x, y) > LQ_INK_THRESHOLD)
        {
          x0 = MIN (x0, x), x1 = MAX (x1, x);
          y0 = MIN (y0, y), y1 = MAX (y1, y);
        }
  if (x1 < 0)
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "the image has no ink");
      return FALSE;
    }
  int bw = x1 - x0 + 1, bh = y1 - y0 + 1;

  /* 3. Area-coverage scaling into at most 20×20. */
  double s = (double) BOX / MAX (bw, bh);
  int ow = MIN (BOX, MAX (1, (int) ceil (bw * s - 1e-9)));
  int oh = MIN (BOX, MAX (1, (int) ceil (bh * s - 1e-9)));
  int kk = (int) ceil (s) + 1; /* outputs one source pixel can touch */
  int *fx = g_new (int, bw), *fy = g_new (int, bh);
  float *wx = g_new (float, (size_t) bw * kk), *wy = g_new (float, (size_t) bh * kk);
  axis_weights (bw, s, ow, kk, fx, wx);
  axis_weights (bh, s, oh, kk, fy, wy);
  double acc[BOX][BOX] = { { 0 } };
  double row[BOX + 1];
  for (int y = 0; y < bh; y++)
    {
      memset (row, 0, sizeof row);
      gboolean any = FALSE;
      for (int x = 0; x < bw; x++)
        {
          float v = INK (x0 + x, y0 + y);
          if (v <= 0.0f)
            continue;
          any = TRUE;
          const float *w = wx + (size_t) x * kk;
          for (int j = 0; j < kk; j++)
            if (w[j] > 0.0f)
              row[fx[x] + j] += (double) v * w[j];
        }
      if (!any)
        continue;
      const float *w = wy + (size_t) y * kk;
      for (int j = 0; j < kk; j++)
        if (w[j] > 0.0f)
          for (int o = 0; o < ow; o++)
            acc[fy[y] + j][o] += w[j] * row[o];
    }
  g_free (fx), g_free (fy), g_free (wx), g_free (wy);
#undef INK
#undef PX

  /* 4. Full ink at the strongest pixel; centre of mass of the patch. */
  double peak = 0, mass = 0, mx = 0, my = 0;
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      peak = MAX (peak, acc[y][x]);
  if (!(peak > 0))
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "the image has no ink");
      return FALSE;
    }
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      {
        double v = acc[y][x] / peak;
        acc[y][x] = v;
        mass += v, mx += v * x, my += v * y;
      }
  mx /= mass, my /= mass;

  /* 5. Shift so the centre of mass lands on (14, 14), by a whole number of pixels. */
  int ox = (int) lround (14.0 - mx), oy = (int) lround (14.0 - my);
  ox = CLAMP (ox, 0, LQ_IMAGE_SIDE - ow);
  oy = CLAMP (oy, 0, LQ_IMAGE_SIDE - oh);
  memset (out, 0, LQ_IMAGE_SIZE * sizeof (float));
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      out[(oy + y) * LQ_IMAGE_SIDE + ox + x] = (float) CLAMP (acc[y][x], 0.0, 1.0);
  return TRUE;
}

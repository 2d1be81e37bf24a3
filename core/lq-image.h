/* lq-image.h: turning a user's picture into an MNIST-style 28×28 image, the way MNIST was made:
 * greyscale, inverted when the background is light, cropped to the ink's bounding box, scaled to
 * fit 20×20 keeping the aspect ratio (area averaging), placed so that the centre of mass is at the
 * centre of the 28×28 frame. The core takes pixels; callers decode files. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define LQ_IMAGE_MAX_SIDE 16384

/* grey[height × stride] in [0, 1] (1 = white paper, 0 = black ink, or the reverse: the
 * background is detected from the border). out: 784 floats in [0, 1], ink = 1.
 * Fails with a clear error for empty, too large or non-finite input, or a blank image. */
gboolean lq_image_to_mnist (const float *grey, int width, int height, int stride, float *out,
                            GError **error);
/* RGBA8 or RGB8 (channels 3 or 4, alpha composited on white) to grey in [0, 1]. */
float   *lq_image_grey_from_rgb8 (const guint8 *pixels, int width, int height, int rowstride,
                                  int channels, GError **error);

G_END_DECLS

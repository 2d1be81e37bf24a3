/* lq-cli-input.c */
#include "lq-cli-input.h"
#include <string.h>
#include "lq-cli-image.h"
#include "lq-error.h"

gboolean
lq_cli_input_load (LqDataKind data, int index, const char *path, float *x, guint8 *label,
                   GError **error)
{
  if ((index >= 0) == (path != NULL))
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                           "give exactly one of --index and --in");
      return FALSE;
    }
  if (path)
    {
      *label = 255;
      return lq_cli_image_load (path, x, error);
    }
  g_autoptr (LqDataset) test = lq_dataset_load (data, LQ_SPLIT_TEST, error);
  if (test == NULL)
    return FALSE;
  if (index >= test->n)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "--index %d is outside the test split (0 to %d)", index, test->n - 1);
      return FALSE;
    }
  memcpy (x, test->images + (size_t) index * LQ_IMAGE_SIZE, LQ_IMAGE_SIZE * sizeof (float));
  *label = test->labels[index];
  return TRUE;
}

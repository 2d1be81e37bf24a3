/* lq-classifier.c: Defense-GAN's classifiers A, B, C and the shipped-weights lookup.
 *
 * Defense-GAN's network_builder passes its dropout numbers to TF1 as keep probabilities; we use
 * the paper's reading (drop rates), as DESIGN.md says. */
#include "lq-models.h"
#include "lq-error.h"
#include "lq-loss.h"
#include "lq-net-io.h"
#include "lq-safetensors.h"
#include <string.h>

gboolean
lq_arch_from_string (const char *s, LqArch *arch, GError **error)
{
  if (s && s[0] && !s[1])
    switch (g_ascii_toupper (s[0]))
      {
      case 'A': *arch = LQ_ARCH_A; return TRUE;
      case 'B': *arch = LQ_ARCH_B; return TRUE;
      case 'C': *arch = LQ_ARCH_C; return TRUE;
      default: break;
      }
  g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
               "unknown classifier '%s': expected A, B or C", s ? s : "");
  return FALSE;
}

const char *
lq_arch_name (LqArch arch)
{
  static const char *names[] = { "A", "B", "C" };
  return names[arch];
}

static void
add (LqNet *net, LqLayer *l)
{
  g_autoptr (GError) error = NULL;
  if (!lq_net_add (net, l, &error))
    g_error ("building a fixed architecture: %s", error->message); /* a programming error */
}

LqNet *
lq_classifier_new (LqArch arch)
{
  LqNet *net = lq_net_new (1, LQ_IMAGE_SIDE, LQ_IMAGE_SIDE);
  switch (arch)
    {
    case LQ_ARCH_A: /* conv5x5(64,s1,same) conv5x5(64,s2,valid) drop .25 fc128 drop .5 fc10 */
    case LQ_ARCH_C: /* conv3x3(128,s1,same) conv5x5(64,s2,valid) drop .25 fc128 drop .5 fc10 */
      add (net, arch == LQ_ARCH_A ? lq_conv2d_new_same ("conv1", 64, 5, 1)
                                  : lq_conv2d_new_same ("conv1", 128, 3, 1));
      add (net, lq_relu_new ());
      add (net, lq_conv2d_new_valid ("conv2", 64, 5, 2));
      add (net, lq_relu_new ());
      add (net, lq_flatten_new ());
      add (net, lq_dropout_new (0.25f));
      add (net, lq_dense_new ("fc1", 128));
      add (net, lq_relu_new ());
      add (net, lq_dropout_new (0.5f));
      add (net, lq_dense_new ("fc2", LQ_N_CLASSES));
      break;
    case LQ_ARCH_B: /* drop .2 conv8x8(64,s2,same) conv6x6(128,s2,valid) conv5x5(128,s1,valid) drop .5 fc10 */
      add (net, lq_dropout_new (0.2f));
      add (net, lq_conv2d_new_same ("conv1", 64, 8, 2));
      add (net, lq_relu_new ());
      add (net, lq_conv2d_new_valid ("conv2", 128, 6, 2));
      add (net, lq_relu_new ());
      add (net, lq_conv2d_new_valid ("conv3", 128, 5, 1));
      add (net, lq_relu_new ());
      add (net, lq_dropout_new (0.5f));
      add (net, lq_flatten_new ());
      add (net, lq_dense_new ("fc", LQ_N_CLASSES));
      break;
    }
  return net;
}

void
lq_classifier_free (LqClassifier *c)
{
  if (c == NULL)
    return;
  lq_net_free (c->net);
  g_free (c->path);
  g_free (c);
}

LqClassifier *
lq_classifier_load (const char *path, GError **error)
{
  g_autoptr (LqSafetensors) st = lq_safetensors_load (path, error);
  if (st == NULL)
    return NULL;
  LqArch arch;
  LqDataKind data;
  const char *a = lq_safetensors_metadata (st, "arch");
  const char *d = lq_safetensors_metadata (st, "dataset");
  if (a == NULL || !g_str_has_prefix (a, "classifier-") || d == NULL)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "%s: not a classifier file (metadata 'arch' and 'dataset' missing)", path);
      return NULL;
    }
  if (!lq_arch_from_string (a + strlen ("classifier-"), &arch, error) ||
      !lq_data_kind_from_string (d, &data, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  LqClassifier *c = g_new0 (LqClassifier, 1);
  c->net = lq_classifier_new (arch);
  c->arch = arch;
  c->data = data;
  c->path = g_strdup (path);
  if (!lq_net_load_from (c->net, st, NULL, error))
    {
      g_prefix_error (error, "%s: ", path);
      lq_classifier_free (c);
      return NULL;
    }
  lq_net_set_training (c->net, FALSE);
  return c;
}

char *
lq_weights_path (const char *basename, GError **error)
{
  const char *dirs[] = { g_getenv ("LQ_WEIGHTS_DIR"), LQ_SOURCE_DATA_DIR, LQ_PKGDATADIR };
  for (gsize i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      if (dirs[i] == NULL || !*dirs[i])
        continue;
      char *p = g_build_filename (dirs[i], basename, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        return p;
      g_free (p);
    }
  g_set_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA,
               "the weight file %s is not installed (looked in $LQ_WEIGHTS_DIR, %s and %s)",
               basename, LQ_SOURCE_DATA_DIR, LQ_PKGDATADIR);
  return NULL;
}

LqClassifier *
lq_classifier_load_shipped (LqDataKind data, LqArch arch, GError **error)
{
  g_autofree char *base = g_strdup_printf ("%s-%s.safetensors", lq_data_kind_name (data),
                                           lq_arch_name (arch));
  g_autofree char *path = lq_weights_path (base, error);
  if (path == NULL)
    return NULL;
  LqClassifier *c = lq_classifier_load (path, error);
  if (c && (c->data != data || c->arch != arch))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s holds classifier %s for %s, not %s for %s",
                   path, lq_arch_name (c->arch), lq_data_kind_name (c->data), lq_arch_name (arch),
                   lq_data_kind_name (data));
      g_clear_pointer (&c, lq_classifier_free);
    }
  return c;
}

void
lq_classifier_predict (LqClassifier *c, const float *x, int batch, float *probs, guint8 *pred)
{
  lq_net_set_training (c->net, FALSE);
  const float *logits = lq_net_forward (c->net, x, batch);
  lq_softmax (logits, batch, LQ_N_CLASSES, probs);
  if (pred)
    for (int n = 0; n < batch; n++)
      {
        const float *p = probs + (size_t) n * LQ_N_CLASSES;
        int best = 0;
        for (int k = 1; k < LQ_N_CLASSES; k++)
          if (p[k] > p[best])
            best = k;
        pred[n] = (guint8) best;
      }
}

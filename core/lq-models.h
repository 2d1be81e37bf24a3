/* lq-models.h: the architectures of the seed (DESIGN.md) as nets with PyTorch module names,
 * and classifiers bundled with what they were trained for. Classifiers take images in [0, 1]. */
#pragma once
#include <glib.h>
#include "lq-net.h"
#include "lq-dataset.h"

G_BEGIN_DECLS

typedef enum { LQ_ARCH_A, LQ_ARCH_B, LQ_ARCH_C } LqArch;

gboolean    lq_arch_from_string (const char *s, LqArch *arch, GError **error); /* "A", "b", … */
const char *lq_arch_name (LqArch arch);                                        /* "A" */

/* Defense-GAN's models A, B, C: 1×28×28 → 10 logits; dropout is a drop rate. */
LqNet *lq_classifier_new (LqArch arch);

typedef struct {
  LqNet *net;
  LqArch arch;
  LqDataKind data;
  char *path;   /* file it was loaded from, or NULL */
} LqClassifier;

LqClassifier *lq_classifier_load (const char *path, GError **error); /* arch/data from metadata */
void          lq_classifier_free (LqClassifier *c);
/* Where the shipped weights of a model live: <datadir>/<data>-<arch>.safetensors, looking first in
 * $LQ_WEIGHTS_DIR, then the source tree's data/ and the installed pkgdatadir. NULL with an error
 * when there is no such file. */
char *lq_weights_path (const char *basename, GError **error);
LqClassifier *lq_classifier_load_shipped (LqDataKind data, LqArch arch, GError **error);

/* probs[batch, 10] (softmax) and, when pred is not NULL, the argmax per image. Eval mode. */
void lq_classifier_predict (LqClassifier *c, const float *x, int batch, float *probs, guint8 *pred);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqClassifier, lq_classifier_free)

G_END_DECLS

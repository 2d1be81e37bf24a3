/* lq-explorer-samples.h: the images the explorer browses — the test split when it is installed,
 * else the 100 bundled samples in the GResource. Reference counted and immutable once made, so
 * worker threads may read them while the UI keeps browsing. */
#pragma once
#include <glib.h>
#include "lq-dataset.h"

G_BEGIN_DECLS

typedef struct {
  LqDataKind kind;
  int n;
  const float *images;   /* n × 784 in [0, 1] */
  const guint8 *labels;  /* n */
  gboolean full;         /* the whole test split (else the bundled samples) */
  /*< private >*/
  LqDataset *ds;
  float *own_images;
  guint8 *own_labels;
} LqExplorerSamples;

#define LQ_EXPLORER_SAMPLES_MAGIC "LQS1"

/* Parses the bundled format (see resources/make-samples.py). */
LqExplorerSamples *lq_explorer_samples_parse (LqDataKind kind, const guint8 *data, gsize len,
                                              GError **error);
/* From /org/lqvae/Explorer/samples-<kind>.bin. */
LqExplorerSamples *lq_explorer_samples_load_bundled (LqDataKind kind, GError **error);
/* Takes ownership of ds. */
LqExplorerSamples *lq_explorer_samples_new_from_dataset (LqDataset *ds);
LqExplorerSamples *lq_explorer_samples_ref (LqExplorerSamples *s);
void               lq_explorer_samples_unref (LqExplorerSamples *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqExplorerSamples, lq_explorer_samples_unref)

G_END_DECLS

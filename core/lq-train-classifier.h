/* lq-train-classifier.h: supervised training of a classifier with Adam and softmax cross-entropy. */
#pragma once
#include <glib.h>
#include "lq-dataset.h"
#include "lq-monitor.h"
#include "lq-net.h"

G_BEGIN_DECLS

typedef struct {
  guint64 seed;
  int batch;         /* 128 */
  int epochs;
  float lr;          /* Adam 1e-3; ×0.1 for the last `decay_fraction` of the epochs */
  float decay_fraction;
} LqClassifierTrainConfig;

typedef struct {
  int epoch;         /* 1-based, the epoch just finished */
  float loss;        /* mean training loss over the epoch */
  float train_acc;   /* running accuracy on the training batches (dropout on) */
  double seconds;
} LqClassifierEpochStats;

typedef void (*LqClassifierEpochFunc) (const LqClassifierEpochStats *stats, gpointer user_data);

LqClassifierTrainConfig lq_classifier_train_config_default (void);
/* Number of epochs trained at the full learning rate (the rest use a tenth of it). */
int lq_classifier_decay_epoch (const LqClassifierTrainConfig *cfg);
/* Trains net (already initialised) in place on the training split. Progress through monitor in
 * images; epoch summaries through on_epoch (optional). */
gboolean lq_train_classifier (LqNet *net, const LqDataset *train, const LqClassifierTrainConfig *cfg,
                              LqClassifierEpochFunc on_epoch, gpointer user_data,
                              const LqMonitor *monitor, GError **error);

/* Fraction of ds classified correctly (eval mode, batches of 256); pred (optional, ds->n). */
double lq_classifier_accuracy (LqNet *net, const LqDataset *ds, guint8 *pred);

G_END_DECLS

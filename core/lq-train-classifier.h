/* lq-train-classifier.h: supervised training of a classifier with Adam and softmax cross-entropy. */
#pragma once
#include <glib.h>
#include "lq-dataset.h"
#include "lq-monitor.h"
#include "lq-net.h"

G_BEGIN_DECLS

/* Adversarial training, the seed's two baselines: "Adv Tr" (Goodfellow et al.: each batch's loss is
 * half on the clean images, half on their FGSM images) and "Madry" (the loss on PGD images only). The
 * attack runs on the current weights in eval mode (no dropout), before each update. */
typedef enum { LQ_ADV_NONE, LQ_ADV_FGSM, LQ_ADV_PGD } LqAdvKind;

typedef struct {
  LqAdvKind kind;
  float eps;         /* 0.3 */
  float step;        /* PGD step, 0.01 */
  int steps;         /* PGD steps, 40 */
} LqAdvTraining;

typedef struct {
  guint64 seed;
  int batch;         /* 128 */
  int epochs;
  float lr;          /* Adam 1e-3; ×0.1 for the last `decay_fraction` of the epochs */
  float decay_fraction;
  LqAdvTraining adv; /* kind LQ_ADV_NONE: plain training */
} LqClassifierTrainConfig;

typedef struct {
  int epoch;         /* 1-based, the epoch just finished */
  float loss;        /* mean training loss over the epoch */
  float train_acc;   /* running accuracy on the training batches (dropout on) */
  double seconds;
} LqClassifierEpochStats;

typedef void (*LqClassifierEpochFunc) (const LqClassifierEpochStats *stats, gpointer user_data);

LqClassifierTrainConfig lq_classifier_train_config_default (void);
gboolean    lq_adv_kind_from_string (const char *s, LqAdvKind *kind, GError **error);
const char *lq_adv_kind_name (LqAdvKind kind); /* "none", "fgsm", "pgd" */
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

/* lq-model-store.h: the weight files `lq eval --table` and `lq figure` need, looked up in one
 * weights directory, loaded once, hashed (for the table cache's keys), and — when missing —
 * described by the exact `lq train …` command that makes them, or trained on the spot. */
#pragma once
#include <glib.h>
#include "lq-dataset.h"
#include "lq-defensegan.h"
#include "lq-models.h"
#include "lq-vae.h"

typedef struct _LqModelStore LqModelStore;

/* weights_dir NULL: $LQ_WEIGHTS_DIR, else the source tree's data/. */
LqModelStore *lq_model_store_new (const char *weights_dir, gboolean train_missing);
void          lq_model_store_free (LqModelStore *s);
const char   *lq_model_store_dir (LqModelStore *s);
/* Use path for the LQ-VAE / Defense-GAN of the data set named in its metadata. */
gboolean      lq_model_store_set_vae_file (LqModelStore *s, const char *path, GError **error);
gboolean      lq_model_store_set_gan_file (LqModelStore *s, const char *path, GError **error);

/* Each returns the loaded model (owned by the store) and its file's SHA-256 in *sha (borrowed),
 * or NULL: with *train_cmd (borrowed) set and no error when the file does not exist (and
 * train_missing is off), or with an error when it exists but does not load, or training failed.
 * suffix: "" (plain), "-madry" (PGD adversarial training) or "-advtr" (FGSM). */
LqClassifier *lq_model_store_classifier (LqModelStore *s, LqDataKind data, LqArch arch,
                                         const char *suffix, const char **sha,
                                         const char **train_cmd, GError **error);
LqVae        *lq_model_store_vae (LqModelStore *s, LqDataKind data, const char **sha,
                                  const char **train_cmd, GError **error);
LqGan        *lq_model_store_gan (LqModelStore *s, LqDataKind data, const char **sha,
                                  const char **train_cmd, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqModelStore, lq_model_store_free)

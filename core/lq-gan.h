/* lq-gan.h: Defense-GAN's WGAN-GP generator and critic for 28×28×1 images (Samangouei et al.
 * 2018, models/dataset_models.py of their code, MNIST and Fashion-MNIST, no batch norm):
 *
 *   generator G: z ∈ R^latent → dense(4·4·4d) → ReLU → reshape (4d, 4, 4)
 *                → deconv5x5(2d, s2) 7×7 → ReLU → deconv5x5(d, s2) 14×14 → ReLU
 *                → deconv5x5(1, s2) 28×28 → sigmoid: images in [0, 1], as their MNIST model
 *   critic D:    x → conv5x5(d, s2, same) → LReLU(0.2) → conv5x5(2d, s2, same) → LReLU
 *                → conv5x5(4d, s2, same) → LReLU → flatten → dense(1)
 *
 * with d = 64 and latent 128. The critic is piecewise linear, as the gradient penalty's exact
 * double backprop needs. A weights file holds "generator.*" (and "critic.*" in checkpoints).
 */
#pragma once
#include <glib.h>
#include "lq-dataset.h"
#include "lq-net.h"
#include "lq-safetensors.h"

G_BEGIN_DECLS

typedef struct {
  int latent;  /* 128 */
  int dim;     /* d = 64 (their NET_DIM) */
} LqGanConfig;

LqGanConfig lq_gan_config_paper (void);
/* "paper" (latent 128, d 64) or "tiny" (latent 8, d 2: for tests and smoke runs). */
gboolean    lq_gan_config_from_name (const char *name, LqGanConfig *cfg, GError **error);

LqNet *lq_gan_generator_new (const LqGanConfig *cfg);  /* latent → 1×28×28, uninitialised */
LqNet *lq_gan_critic_new (const LqGanConfig *cfg);     /* 1×28×28 → 1, uninitialised */

/* A generator with what it was trained on. Not thread-safe: one LqGan per thread. */
typedef struct _LqGan LqGan;

LqGan      *lq_gan_new (const LqGanConfig *cfg, guint64 seed);  /* PyTorch default init */
/* Metadata: arch "defensegan", dataset, latent, dim. */
LqGan      *lq_gan_load (const char *path, GError **error);
/* <weights dir>/<data>-defensegan.safetensors; a missing file names where it looked. */
LqGan      *lq_gan_load_shipped (LqDataKind data, GError **error);
void        lq_gan_free (LqGan *gan);
const LqGanConfig *lq_gan_config (const LqGan *gan);
LqDataKind  lq_gan_data (const LqGan *gan);
void        lq_gan_set_data (LqGan *gan, LqDataKind data);
LqNet      *lq_gan_generator (LqGan *gan);                      /* borrowed */

/* out[batch, 784] = G(z) in [0, 1] for z[batch, latent]. */
void        lq_gan_generate (LqGan *gan, const float *z, int batch, float *out);

/* Saves "generator.*" plus extra tensors (checkpoints add the critic and optimizer state);
 * metadata gets arch, dataset, latent, dim and the caller's entries. Atomic. */
gboolean    lq_gan_save (LqGan *gan, const char *path, GPtrArray *extra_names,
                         GPtrArray *extra_tensors, GHashTable *metadata, LqDType dtype,
                         GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqGan, lq_gan_free)

G_END_DECLS

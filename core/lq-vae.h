/* lq-vae.h: the LQ-VAE purifier (DESIGN.md, Algorithm 1 of the seed).
 *
 *   encoder f: x ∈ [−1, 1]^{1×28×28} → (mu, logvar) ∈ R^latent × R^latent
 *   bits     : H(z) = sign(t² − z²) ∈ {−1, +1} per unit (t = 0.1): +1 inside the cell around 0
 *   decoder g: H(mu) → x̂ ∈ [−1, 1] (tanh); h is its continuous twin, used in training only
 *   purify   : x̂ = g(H(mu(x))): one deterministic pass
 *
 * Public calls take and give images in [0, 1]. Not thread-safe: one LqVae per thread.
 */
#pragma once
#include <glib.h>
#include "lq-net.h"
#include "lq-dataset.h"
#include "lq-monitor.h"

G_BEGIN_DECLS

typedef struct {
  int latent;         /* 64 */
  int width;          /* channel width multiplier base: 64 in the paper (conv 64, 64, 128, 128) */
  int hidden;         /* dense width: 1024 in the paper */
  float threshold;    /* t = 0.1 */
} LqVaeConfig;

LqVaeConfig lq_vae_config_paper (void);
/* Named configurations: "paper" (width 64, hidden 1024) and "compact" (width 64, hidden 512: half
 * the dense weights, for the size budget of the shipped files and for training time). */
gboolean    lq_vae_config_from_name (const char *name, LqVaeConfig *cfg, GError **error);

typedef struct _LqVae LqVae;

LqVae   *lq_vae_new (const LqVaeConfig *cfg, gboolean with_h, guint64 seed);
/* A file holds "encoder.*" and "decoder.*" (g), and "decoder_h.*" in training checkpoints. */
LqVae   *lq_vae_load (const char *path, GError **error);
LqVae   *lq_vae_load_shipped (LqDataKind data, GError **error);
/* The same nets sharing source's parameter values, with their own buffers and gradients
 * (lq_net_share_values): the second half of a data-parallel training step. */
LqVae   *lq_vae_new_replica (LqVae *source);
void     lq_vae_free (LqVae *vae);
const LqVaeConfig *lq_vae_config (const LqVae *vae);
LqDataKind lq_vae_data (const LqVae *vae);

LqNet   *lq_vae_encoder (LqVae *vae);  /* 1×28×28 → 2·latent (mu then logvar) */
LqNet   *lq_vae_decoder (LqVae *vae);  /* g: latent → 1×28×28 (tanh) */
LqNet   *lq_vae_decoder_h (LqVae *vae);/* h or NULL */

/* mu[batch, latent] of images x in [0, 1]. */
void     lq_vae_encode (LqVae *vae, const float *x, int batch, float *mu);
/* H(mu) as ±1 floats, and as bits (1 where |mu| < t) when bits is not NULL. */
void     lq_vae_quantize (const LqVae *vae, const float *mu, size_t n, float *h, guint8 *bits);
/* g(h) in [0, 1] for ±1 codes h[batch, latent]. */
void     lq_vae_decode (LqVae *vae, const float *h, int batch, float *out);
/* out = g(H(mu(x))) in [0, 1]; mu (optional) receives the codes. */
void     lq_vae_purify (LqVae *vae, const float *x, int batch, float *out, float *mu);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqVae, lq_vae_free)

G_END_DECLS

#include "lq-safetensors.h"
G_BEGIN_DECLS
void     lq_vae_set_data (LqVae *vae, LqDataKind data);
/* Saves encoder ("encoder.*"), g ("decoder.*"), h ("decoder_h.*") when with_h, plus extra tensors
 * (checkpoints add optimizer state); metadata gets arch, dataset, latent, width, hidden,
 * threshold, and the caller's entries. */
gboolean lq_vae_save (LqVae *vae, const char *path, gboolean with_h, GPtrArray *extra_names,
                      GPtrArray *extra_tensors, GHashTable *metadata, LqDType dtype,
                      GError **error);
G_END_DECLS

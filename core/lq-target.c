/* lq-target.c: what an attack sees of a model — logits of a batch in [0, 1] and the input
 * gradient of any combination of them.
 *
 *  - classifier: the net itself, in eval mode;
 *  - BPDA (Athalye et al. 2018): classifier ∘ g ∘ H ∘ mu with the exact forward pass of the LQ-VAE
 *    purifier and, on the backward pass, the quantizer H(mu) = sign(t² − mu²) replaced by
 *      soft:     dH/dmu ≈ d/dmu softsign(500 (t² − mu²)) = 500·(−2 mu) / (1 + |500 (t² − mu²)|)²
 *      identity: dH/dmu ≈ 1 (H treated as the identity map on mu, "straight through").
 *
 * Scales: targets take x in [0, 1]; the encoder takes 2x − 1, the decoder gives y in [−1, 1] and
 * the classifier sees (y + 1)/2, so the chain rule picks up a factor 2 at the input and ½ at the
 * decoder output.
 *
 *  - Defense-GAN: classifier ∘ (z search of lq-defensegan.c) with the search's backward taken as
 *    the identity, x̂ ≈ x (Athalye et al.'s attack on it; differentiating the L·R unrolled steps
 *    instead would cost as much as L more purifications per gradient).
 */
#include "lq-attack.h"
#include "lq-defensegan.h"
#include "lq-error.h"
#include "lq-tensor.h"
#include <math.h>
#include <string.h>

#define LQ_BPDA_SOFT_SCALE 500.0f

void
lq_target_free (LqTarget *t)
{
  if (t == NULL)
    return;
  if (t->finalize)
    t->finalize (t);
  g_free (t);
}

void
lq_target_backward_stacked (LqTarget *t, int R, int batch, const float *dlogits, float *dx)
{
  if (t->backward_stacked)
    {
      t->backward_stacked (t, R, dlogits, dx);
      return;
    }
  for (int r = 0; r < R; r++)
    t->backward (t, dlogits + (size_t) r * batch * t->classes, dx + (size_t) r * batch * t->in_size);
}

/* --- the classifier itself --- */

typedef struct {
  LqTarget parent;
  LqNet *net; /* borrowed */
} ClassifierTarget;

static void
classifier_forward (LqTarget *t, const float *x, int batch, float *logits)
{
  ClassifierTarget *c = (ClassifierTarget *) t;
  lq_net_set_training (c->net, FALSE); /* borrowed: someone may have switched it since */
  const float *y = lq_net_forward (c->net, x, batch);
  memcpy (logits, y, (size_t) batch * t->classes * sizeof (float));
}

static void
classifier_backward (LqTarget *t, const float *dlogits, float *dx)
{
  ClassifierTarget *c = (ClassifierTarget *) t;
  lq_net_backward (c->net, dlogits, dx, FALSE);
}

static void
classifier_backward_stacked (LqTarget *t, int R, const float *dlogits, float *dx)
{
  lq_net_backward_stacked (((ClassifierTarget *) t)->net, R, dlogits, dx);
}

LqTarget *
lq_target_new_classifier (LqNet *classifier)
{
  g_return_val_if_fail (classifier != NULL, NULL);
  g_return_val_if_fail (lq_net_n_layers (classifier) > 0, NULL);
  ClassifierTarget *c = g_new0 (ClassifierTarget, 1);
  c->net = classifier;
  c->parent.classes = (int) lq_net_out_size (classifier);
  c->parent.in_size = lq_net_in_size (classifier);
  c->parent.forward = classifier_forward;
  c->parent.backward = classifier_backward;
  c->parent.backward_stacked = classifier_backward_stacked;
  lq_net_set_training (classifier, FALSE);
  return &c->parent;
}

/* --- classifier ∘ purifier with the quantizer's backward replaced --- */

typedef struct {
  LqTarget parent;
  LqNet *classifier, *encoder, *decoder; /* borrowed */
  LqVae *vae;                            /* borrowed, may be NULL (nets given directly) */
  int latent;
  float threshold;
  LqBpdaMode mode;
  int batch;                 /* of the last forward */
  size_t img;                /* decoder output size = classifier input size */
  float *xs;                 /* [batch, in]      2x − 1 */
  float *mu;                 /* [batch, latent]  encoder means */
  float *code;               /* [batch, latent]  H(mu), ±1 */
  float *xp;                 /* [batch, img]     purified image in [0, 1] */
  float *dxp;                /* [batch, img]     gradient at the classifier input */
  float *dcode;              /* [batch, latent]  gradient at the decoder input */
  float *denc;               /* [batch, 2·latent] gradient at the encoder output (logvar: 0) */
  float *dxs;                /* [batch, in]      gradient at the encoder input */
  size_t cap_xs, cap_mu, cap_code, cap_xp, cap_dxp, cap_dcode, cap_denc, cap_dxs;
} BpdaTarget;

static void
bpda_finalize (LqTarget *t)
{
  BpdaTarget *b = (BpdaTarget *) t;
  lq_floats_free (b->xs);
  lq_floats_free (b->mu);
  lq_floats_free (b->code);
  lq_floats_free (b->xp);
  lq_floats_free (b->dxp);
  lq_floats_free (b->dcode);
  lq_floats_free (b->denc);
  lq_floats_free (b->dxs);
}

static void
bpda_forward (LqTarget *t, const float *x, int batch, float *logits)
{
  BpdaTarget *b = (BpdaTarget *) t;
  const size_t in = t->in_size, L = (size_t) b->latent, n = (size_t) batch;
  float *xs = lq_floats_reserve (&b->xs, &b->cap_xs, n * in);
  float *mu = lq_floats_reserve (&b->mu, &b->cap_mu, n * L);
  float *code = lq_floats_reserve (&b->code, &b->cap_code, n * L);
  float *xp = lq_floats_reserve (&b->xp, &b->cap_xp, n * b->img);
  b->batch = batch;

  lq_net_set_training (b->encoder, FALSE);
  lq_net_set_training (b->decoder, FALSE);
  lq_net_set_training (b->classifier, FALSE);

  for (size_t i = 0; i < n * in; i++)
    xs[i] = 2.0f * x[i] - 1.0f;
  const float *enc = lq_net_forward (b->encoder, xs, batch); /* [batch, 2L]: mu then logvar */
  for (size_t s = 0; s < n; s++)
    memcpy (mu + s * L, enc + s * 2 * L, L * sizeof (float));
  if (b->vae)
    lq_vae_quantize (b->vae, mu, n * L, code, NULL); /* exactly the purifier's H */
  else
    {
      const float t2 = b->threshold * b->threshold;
      for (size_t i = 0; i < n * L; i++)
        code[i] = t2 - mu[i] * mu[i] >= 0.0f ? 1.0f : -1.0f; /* sign(0) = +1 */
    }
  const float *y = lq_net_forward (b->decoder, code, batch); /* [batch, img] in [−1, 1] */
  for (size_t i = 0; i < n * b->img; i++)
    xp[i] = 0.5f * (y[i] + 1.0f);
  const float *z = lq_net_forward (b->classifier, xp, batch);
  memcpy (logits, z, n * t->classes * sizeof (float));
}

static void
bpda_backward (LqTarget *t, const float *dlogits, float *dx)
{
  BpdaTarget *b = (BpdaTarget *) t;
  const int batch = b->batch;
  const size_t in = t->in_size, L = (size_t) b->latent, n = (size_t) batch;
  float *dxp = lq_floats_reserve (&b->dxp, &b->cap_dxp, n * b->img);
  float *dcode = lq_floats_reserve (&b->dcode, &b->cap_dcode, n * L);
  float *denc = lq_floats_reserve (&b->denc, &b->cap_denc, n * 2 * L);
  float *dxs = lq_floats_reserve (&b->dxs, &b->cap_dxs, n * in);

  lq_net_backward (b->classifier, dlogits, dxp, FALSE);
  for (size_t i = 0; i < n * b->img; i++)
    dxp[i] *= 0.5f; /* xp = (y + 1)/2 */
  lq_net_backward (b->decoder, dxp, dcode, FALSE);
  memset (denc, 0, n * 2 * L * sizeof (float));
  const float t2 = b->threshold * b->threshold;
  for (size_t s = 0; s < n; s++)
    for (size_t j = 0; j < L; j++)
      {
        float m = b->mu[s * L + j], g = dcode[s * L + j];
        if (b->mode == LQ_BPDA_SOFT)
          {
            float d = 1.0f + fabsf (LQ_BPDA_SOFT_SCALE * (t2 - m * m));
            g *= LQ_BPDA_SOFT_SCALE * (-2.0f * m) / (d * d);
          }
        denc[s * 2 * L + j] = g; /* the logvar head does not reach the output */
      }
  lq_net_backward (b->encoder, denc, dxs, FALSE);
  for (size_t i = 0; i < n * in; i++)
    dx[i] = 2.0f * dxs[i]; /* xs = 2x − 1 */
}

LqTarget *
lq_target_new_bpda_nets (LqNet *classifier, LqNet *encoder, LqNet *decoder, int latent,
                         float threshold, LqBpdaMode mode)
{
  g_return_val_if_fail (classifier && encoder && decoder, NULL);
  g_return_val_if_fail (latent > 0 && isfinite (threshold) && threshold >= 0.0f, NULL);
  g_return_val_if_fail (mode == LQ_BPDA_SOFT || mode == LQ_BPDA_IDENTITY, NULL);
  g_return_val_if_fail (lq_net_out_size (encoder) == 2 * (size_t) latent, NULL);
  g_return_val_if_fail (lq_net_in_size (decoder) == (size_t) latent, NULL);
  g_return_val_if_fail (lq_net_out_size (decoder) == lq_net_in_size (classifier), NULL);
  BpdaTarget *b = g_new0 (BpdaTarget, 1);
  b->classifier = classifier;
  b->encoder = encoder;
  b->decoder = decoder;
  b->latent = latent;
  b->threshold = threshold;
  b->mode = mode;
  b->img = lq_net_in_size (classifier);
  b->parent.classes = (int) lq_net_out_size (classifier);
  b->parent.in_size = lq_net_in_size (encoder);
  b->parent.forward = bpda_forward;
  b->parent.backward = bpda_backward;
  b->parent.finalize = bpda_finalize;
  return &b->parent;
}

LqTarget *
lq_target_new_bpda (LqNet *classifier, LqVae *vae, LqBpdaMode mode)
{
  g_return_val_if_fail (classifier != NULL && vae != NULL, NULL);
  const LqVaeConfig *cfg = lq_vae_config (vae);
  LqTarget *t = lq_target_new_bpda_nets (classifier, lq_vae_encoder (vae), lq_vae_decoder (vae),
                                         cfg->latent, cfg->threshold, mode);
  if (t)
    ((BpdaTarget *) t)->vae = vae;
  return t;
}

/* --- classifier ∘ Defense-GAN purifier, the purifier's backward taken as the identity --- */

typedef struct {
  LqTarget parent;
  LqNet *classifier;   /* borrowed */
  LqGan *gan;          /* borrowed */
  LqGanSearch search;
  float *xp;           /* [batch, in] purified images */
  size_t cap_xp;
} DefenseGanTarget;

static void
defensegan_finalize (LqTarget *t)
{
  lq_floats_free (((DefenseGanTarget *) t)->xp);
}

static void
defensegan_forward (LqTarget *t, const float *x, int batch, float *logits)
{
  DefenseGanTarget *d = (DefenseGanTarget *) t;
  float *xp = lq_floats_reserve (&d->xp, &d->cap_xp, (size_t) batch * t->in_size);
  /* Parameters were checked at construction and there is no monitor: this cannot fail. */
  if (!lq_defensegan_purify (d->gan, &d->search, x, batch, xp, NULL, NULL, NULL))
    g_assert_not_reached ();
  lq_net_set_training (d->classifier, FALSE);
  const float *z = lq_net_forward (d->classifier, xp, batch);
  memcpy (logits, z, (size_t) batch * t->classes * sizeof (float));
}

static void
defensegan_backward (LqTarget *t, const float *dlogits, float *dx)
{
  /* BPDA: ∂x̂/∂x ≈ I, so the gradient at x is the classifier's at x̂. */
  lq_net_backward (((DefenseGanTarget *) t)->classifier, dlogits, dx, FALSE);
}

LqTarget *
lq_target_new_defensegan (LqNet *classifier, LqGan *gan, const LqGanSearch *search)
{
  g_return_val_if_fail (classifier != NULL && gan != NULL && search != NULL, NULL);
  g_return_val_if_fail (lq_gan_search_check (search, NULL), NULL);
  g_return_val_if_fail (lq_net_in_size (classifier) == LQ_IMAGE_SIZE, NULL);
  DefenseGanTarget *d = g_new0 (DefenseGanTarget, 1);
  d->classifier = classifier;
  d->gan = gan;
  d->search = *search;
  d->parent.classes = (int) lq_net_out_size (classifier);
  d->parent.in_size = LQ_IMAGE_SIZE;
  d->parent.forward = defensegan_forward;
  d->parent.backward = defensegan_backward;
  d->parent.finalize = defensegan_finalize;
  return &d->parent;
}

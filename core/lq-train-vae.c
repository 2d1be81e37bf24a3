/* lq-train-vae.c: the LQ-VAE training step (Algorithm 1) and its checkpoints. */
#include "lq-train-vae.h"
#include "lq-error.h"
#include "lq-loss.h"
#include "lq-net-io.h"
#include "lq-optim.h"
#include "lq-parallel.h"
#include "lq-penalty.h"
#include "lq-safetensors.h"
#include <math.h>
#include <string.h>

struct _LqVaeTrainer {
  LqVaeTrainConfig cfg;
  const LqDataset *train;
  LqVae *vae;
  LqVae *replica;      /* shares vae's weights: the second half of each batch (NULL at batch 1) */
  LqOptim *opt_f, *opt_g, *opt_h;
  guint64 step;
  guint32 *perm;       /* permutation of the current epoch */
  guint64 perm_epoch;  /* epoch perm belongs to, G_MAXUINT64 before the first */
  /* per-step buffers: [B × 784] images, [B × latent] codes and their gradients */
  float *x, *u, *z, *eps, *soft, *hard, *dsoft, *dz, *dout, *dimg;
};

LqVaeTrainConfig
lq_vae_train_config_default (LqDataKind data)
{
  return (LqVaeTrainConfig){
    .vae = lq_vae_config_paper (), .data = data, .seed = 1, .batch = 64, .lr = 3e-4f,
    .decay_rate = 0.98f, .decay_steps = 10000, .rec_weight = 10.0f, .gp_weight = 10.0f,
    .gp_target = 0.1f, .soft_scale = 500.0f,
  };
}

static LqOptim *
rmsprop (LqNet *net, float lr)
{
  LqOptimConfig oc = lq_optim_defaults (LQ_OPTIM_RMSPROP_TF, lr);
  return lq_optim_new (&oc, net);
}

LqVaeTrainer *
lq_vae_trainer_new (const LqVaeTrainConfig *cfg, const LqDataset *train)
{
  LqVaeTrainer *t = g_new0 (LqVaeTrainer, 1);
  const size_t B = cfg->batch, L = cfg->vae.latent;
  t->cfg = *cfg;
  t->train = train;
  t->vae = lq_vae_new (&cfg->vae, TRUE, cfg->seed);
  lq_vae_set_data (t->vae, cfg->data);
  t->replica = cfg->batch >= 2 && !cfg->whole_batch ? lq_vae_new_replica (t->vae) : NULL;
  t->opt_f = rmsprop (lq_vae_encoder (t->vae), cfg->lr);
  t->opt_g = rmsprop (lq_vae_decoder (t->vae), cfg->lr);
  t->opt_h = rmsprop (lq_vae_decoder_h (t->vae), cfg->lr);
  t->perm = g_new (guint32, train->n);
  t->perm_epoch = G_MAXUINT64;
  t->x = lq_floats_new (B * LQ_IMAGE_SIZE);
  t->dimg = lq_floats_new (B * LQ_IMAGE_SIZE);
  t->u = lq_floats_new (2 * L);
  for (size_t j = 0; j < L; j++)
    t->u[j] = 1.0f; /* ∇_x Σ_j mu_j: weight 1 on mu, 0 on logvar */
  t->z = lq_floats_new (B * L);
  t->eps = lq_floats_new (B * L);
  t->soft = lq_floats_new (B * L);
  t->hard = lq_floats_new (B * L);
  t->dsoft = lq_floats_new (B * L);
  t->dz = lq_floats_new (B * L);
  t->dout = lq_floats_new (B * 2 * L);
  return t;
}

void
lq_vae_trainer_free (LqVaeTrainer *t)
{
  if (t == NULL)
    return;
  lq_optim_free (t->opt_f);
  lq_optim_free (t->opt_g);
  lq_optim_free (t->opt_h);
  lq_vae_free (t->replica); /* before the weights it borrows */
  lq_vae_free (t->vae);
  g_free (t->perm);
  float *bufs[] = { t->x, t->u, t->z, t->eps, t->soft, t->hard, t->dsoft, t->dz, t->dout, t->dimg };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    lq_floats_free (bufs[i]);
  g_free (t);
}

/* Batch `step` of the epoch-wise shuffled training set, scaled to [−1, 1]. */
static void
load_batch (LqVaeTrainer *t)
{
  const guint64 per_epoch = t->train->n / t->cfg.batch;
  const guint64 epoch = t->step / per_epoch, pos = (t->step % per_epoch) * t->cfg.batch;
  if (epoch != t->perm_epoch)
    {
      LqRng rng;
      lq_rng_seed (&rng, t->cfg.seed * 0x9E3779B97F4A7C15ULL + epoch + 1);
      for (int i = 0; i < t->train->n; i++)
        t->perm[i] = i;
      lq_rng_shuffle (&rng, t->perm, t->train->n);
      t->perm_epoch = epoch;
    }
  for (int b = 0; b < t->cfg.batch; b++)
    {
      const float *src = t->train->images + (size_t) t->perm[pos + b] * LQ_IMAGE_SIZE;
      float *dst = t->x + (size_t) b * LQ_IMAGE_SIZE;
      for (int k = 0; k < LQ_IMAGE_SIZE; k++)
        dst[k] = 2.0f * src[k] - 1.0f;
    }
}

/* One half of a batch, run by one thread on its own nets (which share the weights). Losses are
 * means over the whole batch, so each half contributes share = n/B of them. */
typedef struct {
  LqVaeTrainer *t;
  LqVae *vae;
  int lo, n;
  LqVaeTrainStats s;
  gboolean ok;
  GError *error;
} Half;

/* Reconstruction through a decoder: forward on the half's codes, weighted MSE to its images,
 * backward with parameter gradients; the codes' gradient goes to dcode when not NULL. */
static float
decoder_step (Half *hf, LqNet *dec, const float *code, float *dcode)
{
  LqVaeTrainer *t = hf->t;
  const size_t n = (size_t) hf->n * LQ_IMAGE_SIZE;
  const float w = t->cfg.rec_weight * hf->n / t->cfg.batch;
  const float *x = t->x + (size_t) hf->lo * LQ_IMAGE_SIZE;
  float *dimg = t->dimg + (size_t) hf->lo * LQ_IMAGE_SIZE;
  lq_net_zero_grad (dec);
  const float *y = lq_net_forward (dec, code, hf->n);
  float loss = w * lq_mse (y, x, n, dimg);
  for (size_t i = 0; i < n; i++)
    dimg[i] *= w;
  lq_net_backward (dec, dimg, dcode, TRUE);
  return loss;
}

/* Algorithm 1 on rows [lo, lo + n): every gradient, no update. */
static void
half_step (Half *hf)
{
  LqVaeTrainer *t = hf->t;
  const LqVaeTrainConfig *c = &t->cfg;
  const int B = c->batch, L = c->vae.latent, n = hf->n;
  const float th = c->vae.threshold, t2 = th * th, share = (float) n / B;
  LqNet *f = lq_vae_encoder (hf->vae), *g = lq_vae_decoder (hf->vae), *h = lq_vae_decoder_h (hf->vae);
  LqVaeTrainStats *s = &hf->s;
  const size_t row = (size_t) hf->lo * L; /* first code of the half */
  float *z = t->z + row, *eps = t->eps + row, *soft = t->soft + row, *hard = t->hard + row;
  float *dsoft = t->dsoft + row, *dz = t->dz + row, *dout = t->dout + 2 * row;

  lq_net_set_training (f, TRUE);
  lq_net_zero_grad (f);
  const float *out = lq_net_forward (f, t->x + (size_t) hf->lo * LQ_IMAGE_SIZE, n); /* mu, logvar */

  /* 10·GP first: it needs the backward buffers of this forward and leaves them overwritten. */
  hf->ok = lq_grad_penalty (f, t->u, c->gp_target, c->gp_weight * share, &s->gp, &s->grad_norm,
                            &hf->error);
  if (!hf->ok)
    return;
  s->gp *= share, s->grad_norm *= share;

  for (int b = 0; b < n; b++)
    for (int j = 0; j < L; j++)
      {
        const size_t k = (size_t) b * L + j;
        float mu = out[(size_t) b * 2 * L + j], lv = out[(size_t) b * 2 * L + L + j];
        z[k] = mu + th * 0.5f * expf (0.5f * lv) * eps[k];
        float a = c->soft_scale * (t2 - z[k] * z[k]);
        soft[k] = a / (1.0f + fabsf (a));
        hard[k] = a >= 0.0f ? 1.0f : -1.0f;
      }

  s->l_h = decoder_step (hf, h, soft, dsoft);
  s->l_g = decoder_step (hf, g, hard, NULL);

  /* Encoder gradient: KL/(L·B) + L_h through H̃ and the sampling. The forward buffers of f are
   * intact (the penalty only overwrote the backward ones). */
  for (size_t k = 0; k < (size_t) n * L; k++)
    {
      float a = c->soft_scale * (t2 - z[k] * z[k]);
      float d = 1.0f + fabsf (a);
      dz[k] = dsoft[k] * c->soft_scale * (-2.0f * z[k]) / (d * d);
    }
  s->kl = 0;
  for (int b = 0; b < n; b++)
    {
      const float *mu = out + (size_t) b * 2 * L, *lv = mu + L;
      float *dm = dout + (size_t) b * 2 * L, *dl = dm + L;
      s->kl += lq_kl_normal (mu, lv, L, 1.0f / (L * B), dm, dl);
      for (int j = 0; j < L; j++)
        {
          const size_t k = (size_t) b * L + j;
          dm[j] += dz[k];
          dl[j] += dz[k] * th * 0.5f * 0.5f * expf (0.5f * lv[j]) * eps[k];
        }
    }
  lq_net_backward (f, dout, NULL, TRUE);
}

static void
half_part (int part, int parts, void *data)
{
  (void) parts;
  half_step ((Half *) data + part);
}

gboolean
lq_vae_trainer_step (LqVaeTrainer *t, LqVaeTrainStats *stats, GError **error)
{
  const LqVaeTrainConfig *c = &t->cfg;
  const int B = c->batch, L = c->vae.latent;

  float lr = c->lr * powf (c->decay_rate, (float) t->step / (float) c->decay_steps);
  lq_optim_set_lr (t->opt_f, lr);
  lq_optim_set_lr (t->opt_g, lr);
  lq_optim_set_lr (t->opt_h, lr);

  load_batch (t);
  LqRng rng;
  lq_rng_seed (&rng, c->seed * 0xD1B54A32D192ED03ULL + t->step * 2 + 1);
  for (size_t k = 0; k < (size_t) B * L; k++)
    t->eps[k] = (float) lq_rng_normal (&rng);

  /* Data parallelism: the two halves of the batch on the two cores, each with single-threaded
   * GEMMs, rather than one batch with both cores on every GEMM and one idle through everything
   * else (the unfoldings, activations, losses). Inside a part every nested cut runs as one
   * part (lq-parallel.h), so the GEMMs stay on the part's core. The cut is the same for any
   * thread count, so are the bits. */
  const int parts = t->replica ? 2 : 1;
  Half hv[2];
  for (int p = 0; p < parts; p++)
    {
      int lo, hi;
      lq_parallel_range (B, p, parts, &lo, &hi);
      hv[p] = (Half){ .t = t, .vae = p == 0 ? t->vae : t->replica, .lo = lo, .n = hi - lo };
    }
  if (parts > 1 && lq_parallel_parts (parts) == parts)
    lq_parallel_run (parts, half_part, hv);
  else /* one thread (or one half): the halves one after the other, on one thread as well */
    for (int p = 0; p < parts; p++)
      half_step (&hv[p]);

  LqVaeTrainStats s = { 0 };
  gboolean ok = TRUE;
  for (int p = 0; p < parts; p++)
    {
      if (!hv[p].ok && ok)
        g_propagate_error (error, g_steal_pointer (&hv[p].error));
      g_clear_error (&hv[p].error);
      ok = ok && hv[p].ok;
      s.kl += hv[p].s.kl, s.l_h += hv[p].s.l_h, s.l_g += hv[p].s.l_g;
      s.gp += hv[p].s.gp, s.grad_norm += hv[p].s.grad_norm;
    }
  if (!ok)
    return FALSE;

  if (t->replica)
    {
      lq_optim_step_summed (t->opt_f, lq_vae_encoder (t->replica));
      lq_optim_step_summed (t->opt_g, lq_vae_decoder (t->replica));
      lq_optim_step_summed (t->opt_h, lq_vae_decoder_h (t->replica));
    }
  else
    {
      lq_optim_step (t->opt_f);
      lq_optim_step (t->opt_g);
      lq_optim_step (t->opt_h);
    }
  t->step++;
  s.step = t->step;
  if (!isfinite (s.l_g) || !isfinite (s.l_h) || !isfinite (s.gp))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "training diverged at step %" G_GUINT64_FORMAT " (a loss is not finite)", t->step);
      return FALSE;
    }
  if (stats)
    *stats = s;
  return TRUE;
}

guint64
lq_vae_trainer_steps (const LqVaeTrainer *t)
{
  return t->step;
}

LqVae *
lq_vae_trainer_vae (LqVaeTrainer *t)
{
  return t->vae;
}

const LqVaeTrainConfig *
lq_vae_trainer_config (const LqVaeTrainer *t)
{
  return &t->cfg;
}

gboolean
lq_vae_trainer_save (LqVaeTrainer *t, const char *path, GHashTable *metadata, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors = g_ptr_array_new ();
  lq_optim_collect_state (t->opt_f, "optim_f.", names, tensors);
  lq_optim_collect_state (t->opt_g, "optim_g.", names, tensors);
  lq_optim_collect_state (t->opt_h, "optim_h.", names, tensors);
  g_autoptr (GHashTable) md = lq_metadata_copy (metadata);
  g_hash_table_replace (md, g_strdup ("steps"), g_strdup_printf ("%" G_GUINT64_FORMAT, t->step));
  g_hash_table_replace (md, g_strdup ("seed"), g_strdup_printf ("%" G_GUINT64_FORMAT, t->cfg.seed));
  g_hash_table_replace (md, g_strdup ("batch"), g_strdup_printf ("%d", t->cfg.batch));
  return lq_vae_save (t->vae, path, TRUE, names, tensors, md, LQ_DTYPE_F32, error);
}

gboolean
lq_vae_trainer_resume (LqVaeTrainer *t, const char *path, GError **error)
{
  g_autoptr (LqSafetensors) st = lq_safetensors_load (path, error);
  if (st == NULL)
    return FALSE;
  const char *steps = lq_safetensors_metadata (st, "steps");
  const char *seed = lq_safetensors_metadata (st, "seed");
  guint64 step, sd;
  if (!steps || !seed || !g_ascii_string_to_unsigned (steps, 10, 0, G_MAXUINT64, &step, NULL) ||
      !g_ascii_string_to_unsigned (seed, 10, 0, G_MAXUINT64, &sd, NULL))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s: not a training checkpoint", path);
      return FALSE;
    }
  const char *ds = lq_safetensors_metadata (st, "dataset");
  if (g_strcmp0 (ds, lq_data_kind_name (t->cfg.data)) != 0)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "%s is a checkpoint for %s, not %s",
                   path, ds ? ds : "an unknown data set", lq_data_kind_name (t->cfg.data));
      return FALSE;
    }
  if (sd != t->cfg.seed)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "%s was trained with seed %" G_GUINT64_FORMAT ", not %" G_GUINT64_FORMAT, path,
                   sd, t->cfg.seed);
      return FALSE;
    }
  /* Validate into a scratch trainer first, so a bad file leaves this one untouched. */
  g_autoptr (LqVaeTrainer) tmp = lq_vae_trainer_new (&t->cfg, t->train);
  if (!lq_net_load_from (lq_vae_encoder (tmp->vae), st, "encoder.", error) ||
      !lq_net_load_from (lq_vae_decoder (tmp->vae), st, "decoder.", error) ||
      !lq_net_load_from (lq_vae_decoder_h (tmp->vae), st, "decoder_h.", error) ||
      !lq_optim_load_state (tmp->opt_f, st, "optim_f.", error) ||
      !lq_optim_load_state (tmp->opt_g, st, "optim_g.", error) ||
      !lq_optim_load_state (tmp->opt_h, st, "optim_h.", error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  LqVae *v = t->vae, *r = t->replica; /* the replica goes with the weights it borrows */
  LqOptim *of = t->opt_f, *og = t->opt_g, *oh = t->opt_h;
  t->vae = tmp->vae, t->replica = tmp->replica;
  t->opt_f = tmp->opt_f, t->opt_g = tmp->opt_g, t->opt_h = tmp->opt_h;
  tmp->vae = v, tmp->replica = r, tmp->opt_f = of, tmp->opt_g = og, tmp->opt_h = oh;
  t->step = step;
  lq_optim_set_steps (t->opt_f, step);
  lq_optim_set_steps (t->opt_g, step);
  lq_optim_set_steps (t->opt_h, step);
  return TRUE;
}

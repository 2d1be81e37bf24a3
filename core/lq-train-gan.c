/* lq-train-gan.c: the WGAN-GP step of Defense-GAN's generator and its checkpoints. */
#include "lq-train-gan.h"
#include "lq-error.h"
#include "lq-net-io.h"
#include "lq-optim.h"
#include "lq-penalty.h"
#include "lq-safetensors.h"
#include <math.h>
#include <string.h>

struct _LqGanTrainer {
  LqGanTrainConfig cfg;
  const LqDataset *train;
  LqGan *gan;
  LqNet *critic;
  LqOptim *opt_g, *opt_d;
  guint64 step;
  guint32 *perm;        /* permutation of the current epoch */
  guint64 perm_epoch;   /* epoch perm belongs to, G_MAXUINT64 before the first */
  float *real, *fake;   /* [B, 784] */
  float *z, *alpha;     /* [B, latent], [B] */
  float *dy, *dfake;    /* [B] critic output gradient, [B, 784] its input gradient */
};

LqGanTrainConfig
lq_gan_train_config_default (LqDataKind data)
{
  return (LqGanTrainConfig){
    .gan = lq_gan_config_paper (), .data = data, .seed = 1, .batch = 50, .critic_iters = 5,
    .lr = 1e-4f, .beta1 = 0.5f, .beta2 = 0.9f, .gp_weight = 10.0f,
  };
}

gboolean
lq_gan_train_config_check (const LqGanTrainConfig *c, GError **error)
{
  const char *bad = NULL;
  if (c->gan.latent < 1 || c->gan.latent > 4096 || c->gan.dim < 1 || c->gan.dim > 1024)
    bad = "latent must be in [1, 4096] and dim in [1, 1024]";
  else if (c->batch < 1 || c->batch > 4096)
    bad = "the batch must be in [1, 4096]";
  else if (c->critic_iters < 1 || c->critic_iters > 100)
    bad = "critic iterations must be in [1, 100]";
  else if (!(c->lr > 0 && isfinite (c->lr)) || !(c->beta1 >= 0 && c->beta1 < 1) ||
           !(c->beta2 >= 0 && c->beta2 < 1))
    bad = "Adam needs lr > 0 and β1, β2 in [0, 1)";
  else if (!(c->gp_weight >= 0 && isfinite (c->gp_weight)))
    bad = "the penalty weight must be finite and ≥ 0";
  if (bad)
    g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "WGAN-GP training: %s", bad);
  return bad == NULL;
}

static LqOptim *
adam (const LqGanTrainConfig *c, LqNet *net)
{
  LqOptimConfig oc = lq_optim_defaults (LQ_OPTIM_ADAM, c->lr);
  oc.beta1 = c->beta1;
  oc.beta2 = c->beta2;
  return lq_optim_new (&oc, net);
}

LqGanTrainer *
lq_gan_trainer_new (const LqGanTrainConfig *cfg, const LqDataset *train)
{
  g_return_val_if_fail (lq_gan_train_config_check (cfg, NULL), NULL);
  g_return_val_if_fail (train != NULL && train->n >= cfg->batch, NULL);
  LqGanTrainer *t = g_new0 (LqGanTrainer, 1);
  const size_t B = cfg->batch;
  t->cfg = *cfg;
  t->train = train;
  t->gan = lq_gan_new (&cfg->gan, cfg->seed);
  lq_gan_set_data (t->gan, cfg->data);
  t->critic = lq_gan_critic_new (&cfg->gan);
  LqRng rng;
  lq_rng_seed (&rng, cfg->seed * 0x9E3779B97F4A7C15ULL + 0xC817); /* not the generator's stream */
  lq_net_init (t->critic, &rng);
  t->opt_g = adam (cfg, lq_gan_generator (t->gan));
  t->opt_d = adam (cfg, t->critic);
  t->perm = g_new (guint32, train->n);
  t->perm_epoch = G_MAXUINT64;
  t->real = lq_floats_new (B * LQ_IMAGE_SIZE);
  t->fake = lq_floats_new (B * LQ_IMAGE_SIZE);
  t->dfake = lq_floats_new (B * LQ_IMAGE_SIZE);
  t->z = lq_floats_new (B * cfg->gan.latent);
  t->alpha = lq_floats_new (B);
  t->dy = lq_floats_new (B);
  return t;
}

void
lq_gan_trainer_free (LqGanTrainer *t)
{
  if (t == NULL)
    return;
  lq_optim_free (t->opt_g);
  lq_optim_free (t->opt_d);
  lq_gan_free (t->gan);
  lq_net_free (t->critic);
  g_free (t->perm);
  float *bufs[] = { t->real, t->fake, t->dfake, t->z, t->alpha, t->dy };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    lq_floats_free (bufs[i]);
  g_free (t);
}

/* Real batch number `index` of the epoch-wise shuffled training set (images stay in [0, 1]:
 * Defense-GAN's MNIST model works on x/255). */
static void
load_batch (LqGanTrainer *t, guint64 index)
{
  const guint64 per_epoch = t->train->n / t->cfg.batch;
  const guint64 epoch = index / per_epoch, pos = (index % per_epoch) * t->cfg.batch;
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
    memcpy (t->real + (size_t) b * LQ_IMAGE_SIZE,
            t->train->images + (size_t) t->perm[pos + b] * LQ_IMAGE_SIZE,
            LQ_IMAGE_SIZE * sizeof (float));
}

/* z ~ N(0, I) (and α ~ U[0, 1) when alpha is not NULL) for update k of the current step. */
static void
draw_noise (LqGanTrainer *t, int k, float *alpha)
{
  LqRng rng;
  lq_rng_seed (&rng, t->cfg.seed * 0xD1B54A32D192ED03ULL +
                       (t->step * (guint64) (t->cfg.critic_iters + 1) + (guint64) k) * 2 + 1);
  for (size_t i = 0; i < (size_t) t->cfg.batch * t->cfg.gan.latent; i++)
    t->z[i] = (float) lq_rng_normal (&rng);
  for (int b = 0; alpha && b < t->cfg.batch; b++)
    alpha[b] = (float) lq_rng_uniform (&rng);
}

gboolean
lq_wgan_critic_loss (LqNet *critic, const float *real, const float *fake, const float *alpha,
                     int batch, float gp_weight, float *loss, float *wasserstein, float *gp,
                     float *grad_norm, GError **error)
{
  const size_t n = (size_t) batch * LQ_IMAGE_SIZE;
  float *xs = lq_floats_new (2 * n); /* x̂, then real and fake side by side */
  float *dy = lq_floats_new (2 * (size_t) batch);
  for (int b = 0; b < batch; b++)
    for (int k = 0; k < LQ_IMAGE_SIZE; k++)
      {
        const size_t i = (size_t) b * LQ_IMAGE_SIZE + k;
        xs[i] = real[i] + alpha[b] * (fake[i] - real[i]);
      }
  lq_net_set_training (critic, TRUE);
  lq_net_forward (critic, xs, batch);
  const float one = 1.0f;
  float P = 0, norm = 0;
  gboolean ok = lq_grad_penalty (critic, &one, 1.0f, gp_weight, &P, &norm, error);
  if (ok)
    {
      memcpy (xs, real, n * sizeof (float));
      memcpy (xs + n, fake, n * sizeof (float));
      const float *d = lq_net_forward (critic, xs, 2 * batch);
      double dr = 0, df = 0;
      for (int b = 0; b < batch; b++)
        {
          dr += d[b];
          df += d[batch + b];
          dy[b] = -1.0f / batch;
          dy[batch + b] = 1.0f / batch;
        }
      lq_net_backward (critic, dy, NULL, TRUE);
      const float W = (float) ((dr - df) / batch);
      if (loss)
        *loss = -W + gp_weight * P;
      if (wasserstein)
        *wasserstein = W;
      if (gp)
        *gp = P;
      if (grad_norm)
        *grad_norm = norm;
    }
  lq_floats_free (xs);
  lq_floats_free (dy);
  return ok;
}

gboolean
lq_gan_trainer_step (LqGanTrainer *t, LqGanTrainStats *stats, GError **error)
{
  const LqGanTrainConfig *c = &t->cfg;
  const int B = c->batch;
  LqNet *G = lq_gan_generator (t->gan);
  LqGanTrainStats s = { 0 };

  for (int k = 0; k < c->critic_iters; k++)
    {
      load_batch (t, t->step * c->critic_iters + k);
      draw_noise (t, k, t->alpha);
      lq_gan_generate (t->gan, t->z, B, t->fake);
      lq_net_zero_grad (t->critic);
      if (!lq_wgan_critic_loss (t->critic, t->real, t->fake, t->alpha, B, c->gp_weight,
                                &s.critic_loss, &s.wasserstein, &s.gp, &s.grad_norm, error))
        return FALSE;
      lq_optim_step (t->opt_d);
    }

  /* Generator: L_G = −mean D(G(z)), through the critic's input gradient. */
  draw_noise (t, c->critic_iters, NULL);
  lq_net_set_training (G, TRUE);
  const float *y = lq_net_forward (G, t->z, B);
  const float *d = lq_net_forward (t->critic, y, B);
  double sum = 0;
  for (int b = 0; b < B; b++)
    {
      sum += d[b];
      t->dy[b] = -1.0f / B;
    }
  s.gen_loss = (float) (-sum / B);
  lq_net_backward (t->critic, t->dy, t->dfake, FALSE);
  lq_net_zero_grad (G);
  lq_net_backward (G, t->dfake, NULL, TRUE);
  lq_optim_step (t->opt_g);

  t->step++;
  s.step = t->step;
  if (!isfinite (s.critic_loss) || !isfinite (s.gen_loss))
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
lq_gan_trainer_steps (const LqGanTrainer *t)
{
  return t->step;
}

LqGan *
lq_gan_trainer_gan (LqGanTrainer *t)
{
  return t->gan;
}

LqNet *
lq_gan_trainer_critic (LqGanTrainer *t)
{
  return t->critic;
}

const LqGanTrainConfig *
lq_gan_trainer_config (const LqGanTrainer *t)
{
  return &t->cfg;
}

gboolean
lq_gan_trainer_save (LqGanTrainer *t, const char *path, GHashTable *metadata, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors = g_ptr_array_new ();
  lq_net_collect (t->critic, "critic.", names, tensors);
  lq_optim_collect_state (t->opt_g, "optim_g.", names, tensors);
  lq_optim_collect_state (t->opt_d, "optim_d.", names, tensors);
  g_autoptr (GHashTable) md = lq_metadata_copy (metadata);
  g_hash_table_replace (md, g_strdup ("steps"), g_strdup_printf ("%" G_GUINT64_FORMAT, t->step));
  g_hash_table_replace (md, g_strdup ("seed"), g_strdup_printf ("%" G_GUINT64_FORMAT, t->cfg.seed));
  g_hash_table_replace (md, g_strdup ("batch"), g_strdup_printf ("%d", t->cfg.batch));
  g_hash_table_replace (md, g_strdup ("critic_iters"), g_strdup_printf ("%d", t->cfg.critic_iters));
  return lq_gan_save (t->gan, path, names, tensors, md, LQ_DTYPE_F32, error);
}

static gboolean
meta_u64 (const LqSafetensors *st, const char *key, guint64 *out)
{
  const char *s = lq_safetensors_metadata (st, key);
  return s && g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT64, out, NULL);
}

gboolean
lq_gan_trainer_resume (LqGanTrainer *t, const char *path, GError **error)
{
  g_autoptr (LqSafetensors) st = lq_safetensors_load (path, error);
  if (st == NULL)
    return FALSE;
  guint64 step, seed, batch, iters;
  if (!meta_u64 (st, "steps", &step) || !meta_u64 (st, "seed", &seed) ||
      !meta_u64 (st, "batch", &batch) || !meta_u64 (st, "critic_iters", &iters))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s: not a Defense-GAN training checkpoint",
                   path);
      return FALSE;
    }
  if (seed != t->cfg.seed || batch != (guint64) t->cfg.batch ||
      iters != (guint64) t->cfg.critic_iters)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "%s was trained with seed %" G_GUINT64_FORMAT ", batch %" G_GUINT64_FORMAT
                   ", %" G_GUINT64_FORMAT " critic iterations, not %" G_GUINT64_FORMAT ", %d, %d",
                   path, seed, batch, iters, t->cfg.seed, t->cfg.batch, t->cfg.critic_iters);
      return FALSE;
    }
  /* Load into a scratch trainer first, so that a bad file leaves this one untouched. */
  g_autoptr (LqGanTrainer) tmp = lq_gan_trainer_new (&t->cfg, t->train);
  if (!lq_net_load_from (lq_gan_generator (tmp->gan), st, "generator.", error) ||
      !lq_net_load_from (tmp->critic, st, "critic.", error) ||
      !lq_optim_load_state (tmp->opt_g, st, "optim_g.", error) ||
      !lq_optim_load_state (tmp->opt_d, st, "optim_d.", error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  LqGan *gan = t->gan;
  LqNet *critic = t->critic;
  LqOptim *og = t->opt_g, *od = t->opt_d;
  t->gan = tmp->gan, t->critic = tmp->critic, t->opt_g = tmp->opt_g, t->opt_d = tmp->opt_d;
  tmp->gan = gan, tmp->critic = critic, tmp->opt_g = og, tmp->opt_d = od;
  t->step = step;
  lq_optim_set_steps (t->opt_g, step);
  lq_optim_set_steps (t->opt_d, step * t->cfg.critic_iters);
  return TRUE;
}

gboolean
lq_train_gan (LqGanTrainer *t, guint64 total, const char *checkpoint, double checkpoint_seconds,
              GHashTable *metadata, const LqMonitor *monitor, GError **error)
{
  gint64 last_save = g_get_monotonic_time ();
  char status[160];
  while (t->step < total)
    {
      LqGanTrainStats s;
      if (!lq_gan_trainer_step (t, &s, error))
        return FALSE;
      g_snprintf (status, sizeof status, "W %.4f  L_D %.4f  GP %.4f  |grad D| %.3f  L_G %.4f",
                  s.wasserstein, s.critic_loss, s.gp, s.grad_norm, s.gen_loss);
      g_autoptr (GError) cancelled = NULL;
      gboolean go = lq_monitor_step (monitor, t->step, total, status, &cancelled);
      gint64 now = g_get_monotonic_time ();
      if (checkpoint && (!go || now - last_save >= checkpoint_seconds * 1e6))
        {
          if (!lq_gan_trainer_save (t, checkpoint, metadata, error))
            return FALSE;
          last_save = now;
        }
      if (!go)
        {
          g_propagate_error (error, g_steal_pointer (&cancelled));
          return FALSE;
        }
    }
  return checkpoint == NULL || lq_gan_trainer_save (t, checkpoint, metadata, error);
}

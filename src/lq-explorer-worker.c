/* lq-explorer-worker.c */
#include "lq-explorer-worker.h"
#include "lq-error.h"
#include "lq-gemm.h"
#include "lq-image.h"
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- attacks as the UI names them */

static const struct {
  const char *id, *title;
} attack_info[LQ_EXPLORER_N_ATTACKS] = {
  { "fgsm", "FGSM" },
  { "bim", "BIM" },
  { "pgd", "PGD" },
  { "deepfool", "DeepFool" },
  { "cw", "CW-L2" },
  { "bpda", "BPDA" },
};

const char *
lq_explorer_attack_id (LqExplorerAttack a)
{
  return a < LQ_EXPLORER_N_ATTACKS ? attack_info[a].id : "fgsm";
}

const char *
lq_explorer_attack_title (LqExplorerAttack a)
{
  return a < LQ_EXPLORER_N_ATTACKS ? attack_info[a].title : "FGSM";
}

gboolean
lq_explorer_attack_from_id (const char *id, LqExplorerAttack *a)
{
  for (int i = 0; i < LQ_EXPLORER_N_ATTACKS; i++)
    if (id && g_ascii_strcasecmp (id, attack_info[i].id) == 0)
      {
        *a = i;
        return TRUE;
      }
  return FALSE;
}

gboolean
lq_explorer_attack_uses_eps (LqExplorerAttack a)
{
  return a == LQ_EXPLORER_ATTACK_FGSM || a == LQ_EXPLORER_ATTACK_BIM || a == LQ_EXPLORER_ATTACK_PGD
         || a == LQ_EXPLORER_ATTACK_BPDA;
}

LqAttackParams
lq_explorer_attack_defaults (LqExplorerAttack a)
{
  static const LqAttackKind kinds[] = { LQ_ATTACK_FGSM, LQ_ATTACK_BIM, LQ_ATTACK_PGD,
                                        LQ_ATTACK_DEEPFOOL, LQ_ATTACK_CW, LQ_ATTACK_PGD };
  LqAttackParams p = lq_attack_defaults (kinds[MIN (a, LQ_EXPLORER_N_ATTACKS - 1)]);
  if (a == LQ_EXPLORER_ATTACK_CW)
    lq_attack_cw_preset ("live", &p, NULL);
  return p;
}

/* ---------------------------------------------------------------- jobs */

char *
lq_explorer_file_display_name (GFile *file)
{
  /* Basenames are bytes (not always UTF-8); labels and messages need UTF-8. */
  g_autofree char *base = g_file_get_basename (file);
  return base ? g_filename_display_name (base) : g_strdup ("?");
}

LqExplorerJob *
lq_explorer_job_new (LqExplorerJobKind kind)
{
  LqExplorerJob *j = g_new0 (LqExplorerJob, 1);
  j->kind = kind;
  j->label = -1;
  j->n = 200;
  j->params = lq_explorer_attack_defaults (LQ_EXPLORER_ATTACK_FGSM);
  j->search = lq_gan_search_defaults ();
  return j;
}

void
lq_explorer_job_free (LqExplorerJob *j)
{
  if (!j)
    return;
  g_clear_pointer (&j->samples, lq_explorer_samples_unref);
  g_clear_object (&j->file);
  g_free (j->gan_file);
  g_free (j->gan_error);
  g_free (j->vae_error);
  g_free (j->xy);
  g_free (j->labels);
  g_free (j->fractions);
  g_free (j->correct);
  g_free (j);
}

void
lq_explorer_job_project (const LqExplorerJob *map, const float *mu, float xy[2])
{
  for (int k = 0; k < 2; k++)
    {
      double s = 0;
      for (int i = 0; i < map->latent; i++)
        s += (mu[i] - map->pca_mean[i]) * map->pca_axes[k][i];
      xy[k] = (float) s;
    }
}

/* ---------------------------------------------------------------- models, two sets */

typedef struct {
  GMutex lock;
  LqDataKind data;
  LqClassifier *clf[3];
  LqVae *vae;
  /* What does not change while the slider moves: the original's prediction and code. */
  gboolean cached;
  LqArch cache_arch;
  float cache_image[784], cache_probs[10], cache_mu[LQ_EXPLORER_LATENT_MAX];
  gboolean cache_has_mu;
  /* Defense-GAN (interactive set only), behind its own lock: a search holds it for seconds. */
  GMutex gan_lock;
  LqGan *gan;
  char *gan_file;  /* what gan was loaded from; NULL: the shipped file */
} Bundle;

enum { GROUP_INTERACTIVE, GROUP_BACKGROUND, N_GROUPS };

struct _LqExplorerWorker {
  GObject parent_instance;
  Bundle bundles[N_GROUPS][2];
  GCancellable *current[LQ_N_JOB_KINDS];
  guint64 serial;
  guint n_dropped, n_running;
  gboolean shut_down;
  /* Background jobs step aside while an interactive one runs: on two cores they would share
   * the memory bandwidth and caches with it (and the UI thread wants the other core). */
  GMutex yield_lock;
  GCond yield_cond;
  int n_interactive;
};

G_DEFINE_FINAL_TYPE (LqExplorerWorker, lq_explorer_worker, G_TYPE_OBJECT)

static LqClassifier *
bundle_classifier (Bundle *b, LqArch arch, GError **error)
{
  if (!b->clf[arch])
    b->clf[arch] = lq_classifier_load_shipped (b->data, arch, error);
  return b->clf[arch];
}

static LqVae *
bundle_vae (Bundle *b, GError **error)
{
  if (!b->vae)
    {
      b->vae = lq_vae_load_shipped (b->data, error);
      if (b->vae && lq_vae_config (b->vae)->latent > LQ_EXPLORER_LATENT_MAX)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_UNSUPPORTED, "latent size %d is more than the explorer shows (%d)",
                       lq_vae_config (b->vae)->latent, LQ_EXPLORER_LATENT_MAX);
          g_clear_pointer (&b->vae, lq_vae_free);
        }
    }
  return b->vae;
}

/* Loaded once per data set (and again only when another file is asked for). */
static LqGan *
bundle_gan (Bundle *b, const char *file, GError **error)
{
  if (b->gan && g_strcmp0 (b->gan_file, file) == 0)
    return b->gan;
  g_clear_pointer (&b->gan, lq_gan_free);
  g_clear_pointer (&b->gan_file, g_free);
  LqGan *gan = file ? lq_gan_load (file, error) : lq_gan_load_shipped (b->data, error);
  if (gan && lq_gan_data (gan) != b->data)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "%s holds a Defense-GAN for %s, not %s",
                   file ? file : "the shipped file",
                   lq_data_kind_title (lq_gan_data (gan)), lq_data_kind_title (b->data));
      g_clear_pointer (&gan, lq_gan_free);
    }
  b->gan = gan;
  b->gan_file = gan ? g_strdup (file) : NULL;
  return gan;
}

static gboolean
check_cancel (GCancellable *c, GError **error)
{
  if (c && g_cancellable_is_cancelled (c))
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_CANCELLED, "cancelled");
      return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------- interactive first */

static void
interactive_begin (LqExplorerWorker *self)
{
  g_mutex_lock (&self->yield_lock);
  self->n_interactive++;
  g_mutex_unlock (&self->yield_lock);
}

static void
interactive_end (LqExplorerWorker *self)
{
  g_mutex_lock (&self->yield_lock);
  self->n_interactive--;
  g_cond_broadcast (&self->yield_cond);
  g_mutex_unlock (&self->yield_lock);
}

/* Called by background jobs between steps: waits while an interactive job runs (polling the
 * cancellable, which does not signal the condition). */
static void
yield_to_interactive (LqExplorerWorker *self, GCancellable *c)
{
  g_mutex_lock (&self->yield_lock);
  while (self->n_interactive > 0 && !g_cancellable_is_cancelled (c))
    g_cond_wait_until (&self->yield_cond, &self->yield_lock,
                       g_get_monotonic_time () + 20 * G_TIME_SPAN_MILLISECOND);
  g_mutex_unlock (&self->yield_lock);
}

typedef struct {
  LqExplorerWorker *worker;
  GCancellable *cancellable;
} YieldCtx;

/* An attack's progress hook in a background job: yields at every iteration. */
static void
yield_progress (guint64 done, guint64 total, const char *status, gpointer user_data)
{
  YieldCtx *y = user_data;
  yield_to_interactive (y->worker, y->cancellable);
}

/* ---------------------------------------------------------------- progress to the UI */

typedef struct {
  LqExplorerProgressFunc progress;
  LqExplorerDoneFunc done;
  gpointer user_data;
  LqExplorerJob *job;
  GMainContext *context;
  gint64 last_post;
} JobData;

typedef struct {
  LqExplorerWorker *worker;
  GCancellable *cancellable;
  JobData *jd;   /* borrowed: the task outlives the message (it is freed after completion, which
                    is queued behind this message in the same context) */
  GTask *task;
  double fraction;
  char *status;
  LqExplorerJob *partial;
} ProgressMsg;

static gboolean
deliver_progress (gpointer data)
{
  ProgressMsg *m = data;
  if (!m->worker->shut_down && m->worker->current[m->partial->kind] == m->cancellable
      && !g_cancellable_is_cancelled (m->cancellable) && m->jd->progress)
    m->jd->progress (m->worker, m->partial, m->fraction, m->status, m->jd->user_data);
  return G_SOURCE_REMOVE;
}

static void
progress_msg_free (gpointer data)
{
  ProgressMsg *m = data;
  g_object_unref (m->worker);
  g_object_unref (m->cancellable);
  g_object_unref (m->task);
  g_free (m->status);
  lq_explorer_job_free (m->partial);
  g_free (m);
}

static void
post_progress (GTask *task, double fraction, const char *status, gboolean force)
{
  if (!task)
    return;
  JobData *jd = g_task_get_task_data (task);
  gint64 now = g_get_monotonic_time ();
  if (!force && now - jd->last_post < 40000)
    return;  /* ~25 updates a second is plenty */
  jd->last_post = now;
  ProgressMsg *m = g_new0 (ProgressMsg, 1);
  m->worker = g_object_ref (g_task_get_source_object (task));
  m->cancellable = g_object_ref (g_task_get_cancellable (task));
  m->task = g_object_ref (task);
  m->jd = jd;
  m->fraction = fraction;
  m->status = g_strdup (status);
  m->partial = lq_explorer_job_new (jd->job->kind);
  m->partial->serial = jd->job->serial;
  if (jd->job->kind == LQ_JOB_HISTOGRAM && jd->job->done > 0)
    {
      m->partial->done = jd->job->done;
      m->partial->n = jd->job->n;
      m->partial->fractions = g_memdup2 (jd->job->fractions, sizeof (float) * jd->job->done);
      m->partial->correct = g_memdup2 (jd->job->correct, jd->job->done);
    }
  g_main_context_invoke_full (jd->context, G_PRIORITY_DEFAULT, deliver_progress, m, progress_msg_free);
}

static void
monitor_progress (guint64 done, guint64 total, const char *status, gpointer user_data)
{
  post_progress (user_data, total ? (double) done / total : 0, status, FALSE);
}

/* ---------------------------------------------------------------- the computations */

static double
ms_since (gint64 t)
{
  return (g_get_monotonic_time () - t) / 1000.0;
}

static LqTarget *
make_target (LqExplorerAttack attack, LqClassifier *clf, LqVae *vae, GError **error)
{
  if (attack == LQ_EXPLORER_ATTACK_BPDA)
    {
      if (!vae)
        {
          g_set_error_literal (error, LQ_ERROR, LQ_ERROR_MISSING_DATA,
                               "BPDA attacks through LQ-VAE, whose weights are not installed");
          return NULL;
        }
      return lq_target_new_bpda (clf->net, vae, LQ_BPDA_SOFT);
    }
  return lq_target_new_classifier (clf->net);
}

static gboolean
run_analyze (LqExplorerWorker *self, LqExplorerJob *j, GTask *task, GCancellable *c, GError **error)
{
  Bundle *b = &self->bundles[GROUP_INTERACTIVE][j->data];
  g_mutex_lock (&b->lock);
  gboolean ok = FALSE;
  LqTarget *tg = NULL;
  /* Declared before the first goto: an autoptr a goto jumps over is freed uninitialised. */
  g_autoptr (GError) vae_error = NULL;
  if (!check_cancel (c, error))
    goto out;
  LqClassifier *clf = bundle_classifier (b, j->arch, error);
  if (!clf)
    goto out;
  LqVae *vae = bundle_vae (b, &vae_error);
  if (!vae)
    j->vae_error = g_strdup (vae_error->message);
  j->has_vae = vae != NULL;
  j->threshold = vae ? lq_vae_config (vae)->threshold : 0.1f;
  j->latent = vae ? lq_vae_config (vae)->latent : 64;

  /* The frame's time: from here on, models are loaded. */
  gint64 t0 = g_get_monotonic_time (), t = t0;
  guint8 pred0 = 0;
  gboolean hit = b->cached && b->cache_arch == j->arch && b->cache_has_mu == (vae != NULL)
                 && memcmp (b->cache_image, j->image, sizeof j->image) == 0;
  if (hit)
    memcpy (j->probs[0], b->cache_probs, sizeof j->probs[0]);
  else
    {
      lq_classifier_predict (clf, j->image, 1, j->probs[0], NULL);
      b->cached = FALSE;
    }
  for (int k = 1; k < 10; k++)
    if (j->probs[0][k] > j->probs[0][pred0])
      pred0 = (guint8) k;
  double ms_classify = ms_since (t);
  guint8 lab = j->params.targeted ? (guint8) j->target : (guint8) (j->label >= 0 ? j->label : pred0);

  tg = make_target (j->attack, clf, vae, error);
  if (!tg)
    goto out;
  LqMonitor mon = { monitor_progress, task, c };
  LqAttackStats st = { &j->success, &j->l2, &j->linf, &j->iterations };
  t = g_get_monotonic_time ();
  if (!lq_attack_run (&j->params, tg, j->image, &lab, 1, j->adv, &st, &mon, error))
    goto out;
  j->ms_attack = ms_since (t);

  float x2[2 * 784], p2[2 * 10];
  t = g_get_monotonic_time ();
  if (vae)
    {
      float h[LQ_EXPLORER_LATENT_MAX];
      if (hit)
        {
          memcpy (j->mu[0], b->cache_mu, sizeof (float) * j->latent);
          lq_vae_encode (vae, j->adv, 1, j->mu[1]);
        }
      else
        {
          float mu2[2 * LQ_EXPLORER_LATENT_MAX];
          memcpy (x2, j->image, sizeof j->image);
          memcpy (x2 + 784, j->adv, sizeof j->adv);
          lq_vae_encode (vae, x2, 2, mu2);
          memcpy (j->mu[0], mu2, sizeof (float) * j->latent);
          memcpy (j->mu[1], mu2 + j->latent, sizeof (float) * j->latent);
        }
      if (j->defense)
        {
          lq_vae_quantize (vae, j->mu[1], j->latent, h, NULL);
          lq_vae_decode (vae, h, 1, j->purified);
        }
    }
  if (!hit)
    {
      b->cached = TRUE;
      b->cache_arch = j->arch;
      b->cache_has_mu = vae != NULL;
      memcpy (b->cache_image, j->image, sizeof j->image);
      memcpy (b->cache_probs, j->probs[0], sizeof b->cache_probs);
      if (vae)
        memcpy (b->cache_mu, j->mu[0], sizeof (float) * j->latent);
    }
  j->ms_purify = ms_since (t);
  t = g_get_monotonic_time ();
  memcpy (x2, j->adv, sizeof j->adv);
  memcpy (x2 + 784, j->purified, sizeof j->purified);
  int nb = vae && j->defense ? 2 : 1;
  lq_classifier_predict (clf, x2, nb, p2, NULL);
  memcpy (j->probs[1], p2, sizeof j->probs[1]);
  if (nb == 2)
    memcpy (j->probs[2], p2 + 10, sizeof j->probs[2]);
  j->ms_classify = ms_classify + ms_since (t);
  j->ms_total = ms_since (t0);
  ok = TRUE;
out:
  if (tg)
    lq_target_free (tg);
  g_mutex_unlock (&b->lock);
  return ok;
}

static gboolean
run_decode (LqExplorerWorker *self, LqExplorerJob *j, GCancellable *c, GError **error)
{
  Bundle *b = &self->bundles[GROUP_INTERACTIVE][j->data];
  g_mutex_lock (&b->lock);
  gboolean ok = FALSE;
  if (!check_cancel (c, error))
    goto out;
  LqClassifier *clf = bundle_classifier (b, j->arch, error);
  LqVae *vae = clf ? bundle_vae (b, error) : NULL;
  if (!vae)
    goto out;
  j->latent = lq_vae_config (vae)->latent;
  j->threshold = lq_vae_config (vae)->threshold;
  j->has_vae = TRUE;
  gint64 t = g_get_monotonic_time ();
  lq_vae_decode (vae, j->code, 1, j->decoded);
  lq_classifier_predict (clf, j->decoded, 1, j->probs[0], NULL);
  j->ms_total = ms_since (t);
  ok = TRUE;
out:
  g_mutex_unlock (&b->lock);
  return ok;
}

/* The search runs under the generator's lock only; the classifier is borrowed for one pass at the
 * end, so slider frames and decodes of the same data set never wait seconds for it. */
static gboolean
run_gan_purify (LqExplorerWorker *self, LqExplorerJob *j, GTask *task, GCancellable *c, GError **error)
{
  Bundle *b = &self->bundles[GROUP_INTERACTIVE][j->data];
  g_autoptr (GError) gan_error = NULL;
  if (!check_cancel (c, error))
    return FALSE;
  g_mutex_lock (&b->gan_lock);
  gboolean ok = TRUE;
  LqGan *gan = bundle_gan (b, j->gan_file, &gan_error);
  if (gan)
    {
      LqMonitor mon = { monitor_progress, task, c };
      gint64 t = g_get_monotonic_time ();
      ok = lq_defensegan_purify (gan, &j->search, j->image, 1, j->purified, NULL, &mon, error);
      j->ms_purify = ms_since (t);
    }
  g_mutex_unlock (&b->gan_lock);
  j->has_gan = gan != NULL;
  if (!gan)
    {
      /* Not a failure of the job: the window says inline what is missing. */
      j->gan_missing = !j->gan_file && g_error_matches (gan_error, LQ_ERROR, LQ_ERROR_MISSING_DATA);
      j->gan_error = g_strdup (gan_error->message);
      return TRUE;
    }
  if (!ok || !check_cancel (c, error))
    return FALSE;
  g_mutex_lock (&b->lock);
  LqClassifier *clf = bundle_classifier (b, j->arch, error);
  if (clf)
    {
      gint64 t = g_get_monotonic_time ();
      guint8 pred;
      lq_classifier_predict (clf, j->purified, 1, j->probs[2], &pred);
      j->gan_pred = pred;
      j->ms_classify = ms_since (t);
    }
  g_mutex_unlock (&b->lock);
  return clf != NULL;
}

static gboolean
run_dataset (LqExplorerWorker *self, LqExplorerJob *j, GCancellable *c, GError **error)
{
  LqDataset *ds = lq_dataset_load (j->data, LQ_SPLIT_TEST, error);
  if (!ds)
    return FALSE;
  j->samples = lq_explorer_samples_new_from_dataset (ds);
  return check_cancel (c, error);
}

/* Top-2 principal axes of the codes by power iteration with deflation (64×64 covariance). */
static void
pca2 (const float *mu, int n, int d, float *mean, float axes[2][LQ_EXPLORER_LATENT_MAX])
{
  double *m = g_new0 (double, d), *cov = g_new0 (double, (gsize) d * d);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < d; k++)
      m[k] += mu[(gsize) i * d + k] / n;
  for (int i = 0; i < n; i++)
    {
      const float *x = mu + (gsize) i * d;
      for (int a = 0; a < d; a++)
        for (int bb = a; bb < d; bb++)
          cov[a * d + bb] += (x[a] - m[a]) * (x[bb] - m[bb]) / MAX (n - 1, 1);
    }
  for (int a = 0; a < d; a++)
    for (int bb = 0; bb < a; bb++)
      cov[a * d + bb] = cov[bb * d + a];
  double *v = g_new (double, d), *w = g_new (double, d);
  for (int comp = 0; comp < 2; comp++)
    {
      for (int k = 0; k < d; k++)
        v[k] = 1.0 / sqrt (d) * (1 + 0.01 * k);
      double lambda = 0;
      for (int it = 0; it < 300; it++)
        {
          double norm = 0;
          for (int a = 0; a < d; a++)
            {
              double s = 0;
              for (int bb = 0; bb < d; bb++)
                s += cov[a * d + bb] * v[bb];
              w[a] = s;
              norm += s * s;
            }
          norm = sqrt (norm);
          if (norm < 1e-20)
            break;
          lambda = norm;
          for (int a = 0; a < d; a++)
            v[a] = w[a] / norm;
        }
      /* Sign: the largest entry positive, so the map does not flip between runs. */
      int big = 0;
      for (int a = 1; a < d; a++)
        if (fabs (v[a]) > fabs (v[big]))
          big = a;
      double sign = v[big] < 0 ? -1 : 1;
      for (int a = 0; a < d; a++)
        axes[comp][a] = (float) (sign * v[a]);
      for (int a = 0; a < d; a++)
        for (int bb = 0; bb < d; bb++)
          cov[a * d + bb] -= lambda * v[a] * v[bb];
    }
  for (int k = 0; k < d; k++)
    mean[k] = (float) m[k];
  g_free (m);
  g_free (cov);
  g_free (v);
  g_free (w);
}

static gboolean
run_map (LqExplorerWorker *self, LqExplorerJob *j, GTask *task, GCancellable *c, GError **error)
{
  Bundle *b = &self->bundles[GROUP_BACKGROUND][j->data];
  g_mutex_lock (&b->lock);
  gboolean ok = FALSE;
  float *mu = NULL;
  if (!check_cancel (c, error))
    goto out;
  LqVae *vae = bundle_vae (b, error);
  if (!vae)
    goto out;
  int d = j->latent = lq_vae_config (vae)->latent;
  j->threshold = lq_vae_config (vae)->threshold;
  int n = MIN (j->n, j->samples->n);
  mu = g_new (float, (gsize) n * d);
  const int chunk = 50;
  for (int i = 0; i < n; i += chunk)
    {
      int m = MIN (chunk, n - i);
      yield_to_interactive (self, c);
      lq_vae_encode (vae, j->samples->images + (gsize) i * 784, m, mu + (gsize) i * d);
      post_progress (task, (double) (i + m) / n, "encoding test images", FALSE);
      if (!check_cancel (c, error))
        goto out;
    }
  pca2 (mu, n, d, j->pca_mean, j->pca_axes);
  j->n_points = n;
  j->xy = g_new (float, 2 * n);
  j->labels = g_memdup2 (j->samples->labels, n);
  for (int i = 0; i < n; i++)
    lq_explorer_job_project (j, mu + (gsize) i * d, j->xy + 2 * i);
  ok = TRUE;
out:
  g_free (mu);
  g_mutex_unlock (&b->lock);
  return ok;
}

static gboolean
run_histogram (LqExplorerWorker *self, LqExplorerJob *j, GTask *task, GCancellable *c, GError **error)
{
  Bundle *b = &self->bundles[GROUP_BACKGROUND][j->data];
  g_mutex_lock (&b->lock);
  gboolean ok = FALSE;
  LqTarget *tg = NULL;
  float *adv = NULL, *x2 = NULL, *mu = NULL, *h = NULL, *pur = NULL, *probs = NULL;
  guint8 *labels = NULL, *pred = NULL;
  if (!check_cancel (c, error))
    goto out;
  LqClassifier *clf = bundle_classifier (b, j->arch, error);
  LqVae *vae = clf ? bundle_vae (b, error) : NULL;
  if (!vae)
    goto out;
  tg = make_target (j->attack, clf, vae, error);
  if (!tg)
    goto out;
  int d = j->latent = lq_vae_config (vae)->latent;
  float t = j->threshold = lq_vae_config (vae)->threshold;
  int n = j->n = MIN (j->n, j->samples->n);
  /* Small chunks for the slow attacks, so progress (and cancel) come often. */
  int chunk = j->attack == LQ_EXPLORER_ATTACK_CW || j->attack == LQ_EXPLORER_ATTACK_DEEPFOOL ? 10 : 25;
  j->fractions = g_new0 (float, n);
  j->correct = g_new0 (guint8, n);
  adv = g_new (float, (gsize) chunk * 784);
  x2 = g_new (float, (gsize) 2 * chunk * 784);
  mu = g_new (float, (gsize) 2 * chunk * d);
  h = g_new (float, (gsize) chunk * d);
  pur = g_new (float, (gsize) chunk * 784);
  probs = g_new (float, (gsize) chunk * 10);
  labels = g_new (guint8, chunk);
  pred = g_new (guint8, chunk);
  YieldCtx yc = { self, c };
  LqMonitor mon = { yield_progress, &yc, c };
  post_progress (task, 0, "attacking test images", TRUE);
  for (int i = 0; i < n; i += chunk)
    {
      int m = MIN (chunk, n - i);
      const float *x = j->samples->images + (gsize) i * 784;
      for (int k = 0; k < m; k++)
        labels[k] = j->params.targeted ? (guint8) j->target : j->samples->labels[i + k];
      if (!lq_attack_run (&j->params, tg, x, labels, m, adv, NULL, &mon, error))
        goto out;
      yield_to_interactive (self, c);
      memcpy (x2, x, sizeof (float) * m * 784);
      memcpy (x2 + (gsize) m * 784, adv, sizeof (float) * m * 784);
      lq_vae_encode (vae, x2, 2 * m, mu);
      lq_vae_quantize (vae, mu + (gsize) m * d, (size_t) m * d, h, NULL);
      lq_vae_decode (vae, h, m, pur);
      lq_classifier_predict (clf, pur, m, probs, pred);
      for (int k = 0; k < m; k++)
        {
          int flipped = 0;
          for (int u = 0; u < d; u++)
            flipped += (fabsf (mu[(gsize) k * d + u]) < t) != (fabsf (mu[(gsize) (m + k) * d + u]) < t);
          j->fractions[i + k] = (float) flipped / d;
          j->correct[i + k] = pred[k] == j->samples->labels[i + k];
        }
      j->done = i + m;
      char status[64];
      g_snprintf (status, sizeof status, "%d of %d images", j->done, n);
      post_progress (task, (double) j->done / n, status, j->done == n);
      if (!check_cancel (c, error))
        goto out;
    }
  ok = TRUE;
out:
  if (tg)
    lq_target_free (tg);
  g_free (adv);
  g_free (x2);
  g_free (mu);
  g_free (h);
  g_free (pur);
  g_free (probs);
  g_free (labels);
  g_free (pred);
  g_mutex_unlock (&b->lock);
  return ok;
}

typedef struct {
  int width, height;
  gboolean too_large;
} SizeCheck;

static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, SizeCheck *sc)
{
  sc->width = width;
  sc->height = height;
  if (width > LQ_IMAGE_MAX_SIDE || height > LQ_IMAGE_MAX_SIDE
      || (gint64) width * height > LQ_EXPLORER_MAX_PIXELS)
    {
      sc->too_large = TRUE;
      gdk_pixbuf_loader_set_size (loader, 1, 1);  /* do not decode the whole thing */
    }
}

static gboolean
run_import (LqExplorerWorker *self, LqExplorerJob *j, GCancellable *c, GError **error)
{
  g_autofree char *name = lq_explorer_file_display_name (j->file);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileInfo) info = g_file_query_info (j->file, G_FILE_ATTRIBUTE_STANDARD_SIZE ","
                                                  G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                                  G_FILE_QUERY_INFO_NONE, c, &local);
  if (!info)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "Could not read “%s”: %s", name, local->message);
      return FALSE;
    }
  if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "“%s” is a folder, not an image", name);
      return FALSE;
    }
  if (g_file_info_get_size (info) > LQ_EXPLORER_MAX_FILE_BYTES)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "“%s” is too large (%" G_GOFFSET_FORMAT " MB; the limit is %d MB)", name,
                   g_file_info_get_size (info) >> 20, (int) (LQ_EXPLORER_MAX_FILE_BYTES >> 20));
      return FALSE;
    }
  g_autoptr (GBytes) bytes = g_file_load_bytes (j->file, c, NULL, &local);
  if (!bytes)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "Could not read “%s”: %s", name, local->message);
      return FALSE;
    }
  g_autoptr (GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  SizeCheck sc = { 0 };
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &sc);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  if (len == 0 || !gdk_pixbuf_loader_write (loader, data, len, &local)
      || !gdk_pixbuf_loader_close (loader, local ? NULL : &local))
    {
      gdk_pixbuf_loader_close (loader, NULL);
      if (!sc.too_large)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "“%s” is not an image gdk-pixbuf can read", name);
          return FALSE;
        }
    }
  if (sc.too_large)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "“%s” is too large (%d × %d pixels; the limit is %d on a side and %d megapixels)",
                   name, sc.width, sc.height, LQ_IMAGE_MAX_SIDE, (int) (LQ_EXPLORER_MAX_PIXELS / 1000000));
      return FALSE;
    }
  GdkPixbuf *pb = gdk_pixbuf_loader_get_pixbuf (loader);
  if (!pb)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "“%s” is not an image gdk-pixbuf can read", name);
      return FALSE;
    }
  int w = gdk_pixbuf_get_width (pb), hgt = gdk_pixbuf_get_height (pb);
  g_autofree float *grey = lq_image_grey_from_rgb8 (gdk_pixbuf_read_pixels (pb), w, hgt,
                                                    gdk_pixbuf_get_rowstride (pb),
                                                    gdk_pixbuf_get_n_channels (pb), &local);
  if (!grey || !lq_image_to_mnist (grey, w, hgt, w, j->imported, &local))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "“%s”: %s", name, local->message);
      return FALSE;
    }
  j->import_width = w;
  j->import_height = hgt;
  return TRUE;
}

static gboolean
run_job (LqExplorerWorker *self, LqExplorerJob *j, GTask *task, GCancellable *c, GError **error)
{
  /* Batch-1 work gains little from a second engine thread, and two workers share two cores. */
  lq_gemm_set_threads (1);
  gboolean ok;
  switch (j->kind)
    {
    case LQ_JOB_ANALYZE:
      interactive_begin (self);
      ok = run_analyze (self, j, task, c, error);
      interactive_end (self);
      return ok;
    case LQ_JOB_DECODE:
      interactive_begin (self);
      ok = run_decode (self, j, c, error);
      interactive_end (self);
      return ok;
    case LQ_JOB_DATASET:
      return run_dataset (self, j, c, error);
    case LQ_JOB_MAP:
      return run_map (self, j, task, c, error);
    case LQ_JOB_HISTOGRAM:
      return run_histogram (self, j, task, c, error);
    case LQ_JOB_IMPORT:
      return run_import (self, j, c, error);
    case LQ_JOB_GAN_PURIFY:
      /* The user waits for this panel: background work steps aside as for an analysis. */
      interactive_begin (self);
      ok = run_gan_purify (self, j, task, c, error);
      interactive_end (self);
      return ok;
    default:
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT, "unknown job");
      return FALSE;
    }
}

gboolean
lq_explorer_worker_run_sync (LqExplorerWorker *self, LqExplorerJob *job, GCancellable *c,
                             GError **error)
{
  return run_job (self, job, NULL, c, error);
}

static void
task_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *c)
{
  JobData *jd = task_data;
  GError *error = NULL;
  if (run_job (source, jd->job, task, c, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
job_data_free (gpointer data)
{
  JobData *jd = data;
  lq_explorer_job_free (jd->job);
  g_main_context_unref (jd->context);
  g_free (jd);
}

static void
on_task_done (GObject *source, GAsyncResult *res, gpointer data)
{
  LqExplorerWorker *self = LQ_EXPLORER_WORKER (source);
  GTask *task = G_TASK (res);
  JobData *jd = g_task_get_task_data (task);
  GCancellable *c = g_task_get_cancellable (task);
  g_autoptr (GError) error = NULL;
  g_task_propagate_boolean (task, &error);
  self->n_running--;
  LqExplorerJobKind kind = jd->job->kind;
  gboolean current = !self->shut_down && self->current[kind] == c && !g_cancellable_is_cancelled (c);
  if (self->current[kind] == c)
    g_clear_object (&self->current[kind]);
  if (!current)
    {
      self->n_dropped++;  /* stale: a newer job of this kind replaced it, or it was cancelled */
      return;
    }
  if (jd->done)
    jd->done (self, jd->job, error, jd->user_data);
}

guint64
lq_explorer_worker_submit (LqExplorerWorker *self, LqExplorerJob *job, LqExplorerProgressFunc progress,
                           LqExplorerDoneFunc done, gpointer user_data)
{
  g_return_val_if_fail (job && job->kind < LQ_N_JOB_KINDS, 0);
  lq_explorer_worker_cancel (self, job->kind);
  GCancellable *c = g_cancellable_new ();
  self->current[job->kind] = c;
  job->serial = ++self->serial;
  JobData *jd = g_new0 (JobData, 1);
  jd->progress = progress;
  jd->done = done;
  jd->user_data = user_data;
  jd->job = job;
  jd->context = g_main_context_ref_thread_default ();
  GTask *task = g_task_new (self, c, on_task_done, NULL);
  g_task_set_source_tag (task, lq_explorer_worker_submit);
  g_task_set_task_data (task, jd, job_data_free);
  self->n_running++;
  g_task_run_in_thread (task, task_thread);
  g_object_unref (task);
  return job->serial;
}

void
lq_explorer_worker_cancel (LqExplorerWorker *self, LqExplorerJobKind kind)
{
  if (self->current[kind])
    {
      g_cancellable_cancel (self->current[kind]);
      g_clear_object (&self->current[kind]);
    }
}

void
lq_explorer_worker_shutdown (LqExplorerWorker *self)
{
  self->shut_down = TRUE;
  for (int k = 0; k < LQ_N_JOB_KINDS; k++)
    lq_explorer_worker_cancel (self, k);
}

gboolean
lq_explorer_worker_is_busy (LqExplorerWorker *self, int kind)
{
  if (kind >= 0)
    return self->current[kind] != NULL;
  for (int k = 0; k < LQ_N_JOB_KINDS; k++)
    if (self->current[k])
      return TRUE;
  return FALSE;
}

guint
lq_explorer_worker_get_n_dropped (LqExplorerWorker *self)
{
  return self->n_dropped;
}

guint
lq_explorer_worker_get_n_running (LqExplorerWorker *self)
{
  return self->n_running;
}

static void
lq_explorer_worker_finalize (GObject *object)
{
  LqExplorerWorker *self = LQ_EXPLORER_WORKER (object);
  for (int g = 0; g < N_GROUPS; g++)
    for (int d = 0; d < 2; d++)
      {
        Bundle *b = &self->bundles[g][d];
        for (int a = 0; a < 3; a++)
          g_clear_pointer (&b->clf[a], lq_classifier_free);
        g_clear_pointer (&b->vae, lq_vae_free);
        g_clear_pointer (&b->gan, lq_gan_free);
        g_free (b->gan_file);
        g_mutex_clear (&b->lock);
        g_mutex_clear (&b->gan_lock);
      }
  for (int k = 0; k < LQ_N_JOB_KINDS; k++)
    g_clear_object (&self->current[k]);
  g_mutex_clear (&self->yield_lock);
  g_cond_clear (&self->yield_cond);
  G_OBJECT_CLASS (lq_explorer_worker_parent_class)->finalize (object);
}

static void
lq_explorer_worker_class_init (LqExplorerWorkerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lq_explorer_worker_finalize;
}

static void
lq_explorer_worker_init (LqExplorerWorker *self)
{
  for (int g = 0; g < N_GROUPS; g++)
    for (int d = 0; d < 2; d++)
      {
        g_mutex_init (&self->bundles[g][d].lock);
        g_mutex_init (&self->bundles[g][d].gan_lock);
        self->bundles[g][d].data = d;
      }
  g_mutex_init (&self->yield_lock);
  g_cond_init (&self->yield_cond);
}

LqExplorerWorker *
lq_explorer_worker_new (void)
{
  return g_object_new (LQ_TYPE_EXPLORER_WORKER, NULL);
}

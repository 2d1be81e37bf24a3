/* test-gan.c: the Defense-GAN baseline — the WGAN-GP critic loss's exact gradient against finite
 * differences, training moves the critic the right way, exact resume, generator files, and the
 * z search (monotone, recovers a planted image, batch = single, cancellable, BPDA target). */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "lq-defensegan.h"
#include "lq-error.h"
#include "lq-gan.h"
#include "lq-models.h"
#include "lq-net-io.h"
#include "lq-train-gan.h"
#include "lq-test-util.h"

static LqGanConfig
tiny (void)
{
  LqGanConfig c;
  g_assert_true (lq_gan_config_from_name ("tiny", &c, NULL));
  return c;
}

static void
fill_normal (float *a, size_t n, float scale, guint64 seed)
{
  LqRng rng;
  lq_rng_seed (&rng, seed);
  for (size_t i = 0; i < n; i++)
    a[i] = scale * (float) lq_rng_normal (&rng);
}

/* Blurry blobs at a few places: something a critic can tell from a fresh generator's output. */
static LqDataset *
blob_set (int n, guint64 seed)
{
  LqDataset *ds = g_new0 (LqDataset, 1);
  LqRng rng;
  lq_rng_seed (&rng, seed);
  ds->n = n;
  ds->images = lq_floats_new ((size_t) n * LQ_IMAGE_SIZE);
  ds->labels = g_new0 (guint8, n);
  for (int i = 0; i < n; i++)
    {
      float cy = 8 + 12 * (float) lq_rng_uniform (&rng), cx = 8 + 12 * (float) lq_rng_uniform (&rng);
      for (int y = 0; y < LQ_IMAGE_SIDE; y++)
        for (int x = 0; x < LQ_IMAGE_SIDE; x++)
          ds->images[(size_t) i * LQ_IMAGE_SIZE + y * LQ_IMAGE_SIDE + x] =
            expf (-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / 18.0f);
    }
  return ds;
}

static void
free_set (LqDataset *ds)
{
  lq_floats_free (ds->images);
  g_free (ds->labels);
  g_free (ds);
}

/* --- the nets --- */

static void
test_shapes (void)
{
  LqGanConfig paper = lq_gan_config_paper ();
  g_assert_cmpint (paper.latent, ==, 128);
  g_assert_cmpint (paper.dim, ==, 64);
  g_autoptr (LqNet) g = lq_gan_generator_new (&paper);
  g_autoptr (LqNet) d = lq_gan_critic_new (&paper);
  int s[3];
  lq_net_out_shape (g, s);
  g_assert_cmpint (s[0], ==, 1);
  g_assert_cmpint (s[1], ==, 28);
  g_assert_cmpint (s[2], ==, 28);
  g_assert_cmpuint (lq_net_in_size (g), ==, 128);
  g_assert_cmpuint (lq_net_out_size (d), ==, 1);
  g_assert_cmpuint (lq_net_n_weights (g), ==,
                    128 * 4096 + 4096 + 256 * 128 * 25 + 128 + 128 * 64 * 25 + 64 + 64 * 25 + 1);
  g_assert_cmpuint (lq_net_n_weights (d), ==,
                    64 * 25 + 64 + 64 * 128 * 25 + 128 + 128 * 256 * 25 + 256 + 256 * 16 + 1);
  g_assert_nonnull (lq_net_find_param (g, "deconv3.weight"));
  g_assert_nonnull (lq_net_find_param (d, "fc.weight"));

  g_autoptr (LqGan) gan = lq_gan_new (&paper, 1);
  float z[2 * 128], out[2 * LQ_IMAGE_SIZE];
  fill_normal (z, G_N_ELEMENTS (z), 1.0f, 2);
  lq_gan_generate (gan, z, 2, out);
  for (int i = 0; i < 2 * LQ_IMAGE_SIZE; i++)
    g_assert_true (out[i] > 0.0f && out[i] < 1.0f);

  LqGanConfig bad;
  g_autoptr (GError) error = NULL;
  g_assert_false (lq_gan_config_from_name ("huge", &bad, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
}

/* --- the critic loss's gradient --- */

#define FD_B 2

typedef struct {
  float real[FD_B * LQ_IMAGE_SIZE], fake[FD_B * LQ_IMAGE_SIZE], alpha[FD_B];
} CriticBatch;

static double
critic_loss (LqNet *d, const CriticBatch *cb)
{
  float loss;
  lq_net_zero_grad (d);
  g_assert_true (lq_wgan_critic_loss (d, cb->real, cb->fake, cb->alpha, FD_B, 10.0f, &loss, NULL,
                                      NULL, NULL, NULL));
  return loss;
}

/* The LeakyReLU slopes taken on x̂, real and fake: the loss is smooth where none of them flips. */
static GByteArray *
masks (LqNet *d, const CriticBatch *cb)
{
  GByteArray *m = g_byte_array_new ();
  float xs[3 * FD_B * LQ_IMAGE_SIZE];
  for (int b = 0; b < FD_B; b++)
    for (int k = 0; k < LQ_IMAGE_SIZE; k++)
      {
        const size_t i = (size_t) b * LQ_IMAGE_SIZE + k;
        xs[i] = cb->real[i] + cb->alpha[b] * (cb->fake[i] - cb->real[i]);
      }
  memcpy (xs + FD_B * LQ_IMAGE_SIZE, cb->real, sizeof cb->real);
  memcpy (xs + 2 * FD_B * LQ_IMAGE_SIZE, cb->fake, sizeof cb->fake);
  lq_net_forward (d, xs, 3 * FD_B);
  for (int i = 0; i < lq_net_n_layers (d); i++)
    {
      LqLayer *l = lq_net_layer (d, i);
      if (strcmp (l->klass->kind, "leaky_relu") != 0)
        continue;
      const float *a = lq_net_activation (d, i);
      for (size_t k = 0; k < 3 * FD_B * l->out_size; k++)
        {
          guint8 s = a[k] > 0;
          g_byte_array_append (m, &s, 1);
        }
    }
  return m;
}

static gboolean
same_masks (GByteArray *a, GByteArray *b)
{
  return a->len == b->len && memcmp (a->data, b->data, a->len) == 0;
}

/* ∂L_D/∂θ (Wasserstein terms + 10 · exact double-backprop penalty) against central differences
 * on a tiny critic, for a spread of entries of every parameter (biases included: the penalty
 * does not depend on them, the Wasserstein terms do). */
static void
test_critic_loss_gradient (void)
{
  LqGanConfig c = tiny ();
  g_autoptr (LqNet) d = lq_gan_critic_new (&c);
  LqRng rng;
  lq_rng_seed (&rng, 7);
  lq_net_init (d, &rng);
  CriticBatch *cb = g_new0 (CriticBatch, 1);
  for (int i = 0; i < FD_B * LQ_IMAGE_SIZE; i++)
    {
      cb->real[i] = (float) lq_rng_uniform (&rng);
      cb->fake[i] = (float) lq_rng_uniform (&rng);
    }
  for (int b = 0; b < FD_B; b++)
    cb->alpha[b] = (float) lq_rng_uniform (&rng);

  float gp;
  lq_net_zero_grad (d);
  g_assert_true (lq_wgan_critic_loss (d, cb->real, cb->fake, cb->alpha, FD_B, 10.0f, NULL, NULL,
                                      &gp, NULL, NULL));
  g_test_message ("penalty %g", gp);
  g_assert_cmpfloat (gp, >, 1e-3);
  /* Keep the analytic gradient: every finite-difference evaluation overwrites the grads. */
  g_autoptr (GPtrArray) analytic_all = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < lq_net_n_params (d); i++)
    {
      LqTensor *g = lq_net_param (d, i)->grad;
      g_ptr_array_add (analytic_all, g_memdup2 (g->data, g->numel * sizeof (float)));
    }
  int checked = 0, skipped = 0;
  for (int i = 0; i < lq_net_n_params (d); i++)
    {
      LqParam *p = lq_net_param (d, i);
      const float *analytic = g_ptr_array_index (analytic_all, i);
      const size_t stride = MAX (1, p->value->numel / 10);
      for (size_t k = 0; k < p->value->numel; k += stride)
        {
          const float w0 = p->value->data[k], h = 1e-2f * MAX (fabsf (w0), 0.05f);
          g_autoptr (GByteArray) m0 = masks (d, cb);
          p->value->data[k] = w0 + h;
          double lp = critic_loss (d, cb);
          g_autoptr (GByteArray) mp = masks (d, cb);
          p->value->data[k] = w0 - h;
          double lm = critic_loss (d, cb);
          g_autoptr (GByteArray) mm = masks (d, cb);
          p->value->data[k] = w0;
          if (!same_masks (m0, mp) || !same_masks (m0, mm))
            {
              skipped++; /* a kink between the two points: differences mean nothing there */
              continue;
            }
          double fd = (lp - lm) / (2.0 * h), an = analytic[k];
          if (fabs (fd - an) > 2e-2 * MAX (fabs (fd), fabs (an)) + 2e-3)
            g_test_message ("%s[%zu]: analytic %g, finite difference %g", p->name, k, an, fd);
          g_assert_cmpfloat (fabs (fd - an), <=, 2e-2 * MAX (fabs (fd), fabs (an)) + 2e-3);
          checked++;
        }
    }
  g_test_message ("%d entries checked, %d skipped at kinks", checked, skipped);
  g_assert_cmpint (checked, >=, 30);
  g_assert_cmpint (checked, >=, skipped);
  g_free (cb);
}

/* --- training --- */

static LqGanTrainConfig
tiny_train (void)
{
  LqGanTrainConfig cfg = lq_gan_train_config_default (LQ_DATA_MNIST);
  cfg.gan = tiny ();
  cfg.batch = 16;
  cfg.seed = 3;
  return cfg;
}

/* W on a fixed pair of batches: mean D(real) − mean D(G(z)). */
static double
wasserstein (LqGanTrainer *t, const LqDataset *ds, const float *z, int n)
{
  LqNet *d = lq_gan_trainer_critic (t);
  float *fake = lq_floats_new ((size_t) n * LQ_IMAGE_SIZE);
  lq_gan_generate (lq_gan_trainer_gan (t), z, n, fake);
  double w = 0;
  const float *y = lq_net_forward (d, ds->images, n);
  for (int b = 0; b < n; b++)
    w += y[b];
  y = lq_net_forward (d, fake, n);
  for (int b = 0; b < n; b++)
    w -= y[b];
  lq_floats_free (fake);
  return w / n;
}

/* 30 tiny steps: the critic learns to tell data from samples (W estimate rises, its loss falls)
 * and the penalty brings its gradient norm from ~0 to ~1. */
static void
test_training_moves_critic (void)
{
  LqDataset *ds = blob_set (64, 1);
  LqGanTrainConfig cfg = tiny_train ();
  cfg.lr = 1e-3f;
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_gan_train_config_check (&cfg, &error));
  g_autoptr (LqGanTrainer) t = lq_gan_trainer_new (&cfg, ds);
  float z[32 * 8];
  fill_normal (z, G_N_ELEMENTS (z), 1.0f, 11);
  double w0 = wasserstein (t, ds, z, 32);
  LqGanTrainStats first = { 0 }, s = { 0 };
  for (int i = 0; i < 30; i++)
    {
      g_assert_true (lq_gan_trainer_step (t, &s, &error));
      g_assert_no_error (error);
      if (i == 0)
        first = s;
    }
  double w1 = wasserstein (t, ds, z, 32);
  g_test_message ("W %g -> %g; L_D %g -> %g; GP %g -> %g", w0, w1, first.critic_loss,
                  s.critic_loss, first.gp, s.gp);
  g_assert_cmpuint (s.step, ==, 30);
  g_assert_cmpfloat (w1, >, w0 + 0.05);
  g_assert_cmpfloat (s.critic_loss, <, first.critic_loss);
  g_assert_cmpfloat (s.wasserstein, >, first.wasserstein);
  g_assert_cmpfloat (fabs (s.grad_norm - 1.0), <, 0.5); /* the penalty pulls ‖∇D‖ to 1 */
  free_set (ds);
}

/* 5 steps straight, or 3 + checkpoint + resume in a new trainer + 2: the same bits (the data
 * wraps around an epoch on the way: 32 images, batch 16, 5 critic batches a step). */
static void
test_resume_is_exact (void)
{
  LqDataset *ds = blob_set (32, 2);
  LqGanTrainConfig cfg = tiny_train ();
  g_autofree char *dir = g_dir_make_tmp ("lq-gan-XXXXXX", NULL);
  g_autofree char *ckpt = g_build_filename (dir, "ckpt.safetensors", NULL);
  g_autoptr (GError) error = NULL;

  g_autoptr (LqGanTrainer) straight = lq_gan_trainer_new (&cfg, ds);
  g_assert_true (lq_train_gan (straight, 5, NULL, 0, NULL, NULL, &error));
  g_assert_no_error (error);

  g_autoptr (LqGanTrainer) first = lq_gan_trainer_new (&cfg, ds);
  g_assert_true (lq_train_gan (first, 3, ckpt, 1e9, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (LqGanTrainer) resumed = lq_gan_trainer_new (&cfg, ds);
  g_assert_true (lq_gan_trainer_resume (resumed, ckpt, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (lq_gan_trainer_steps (resumed), ==, 3);
  g_assert_true (lq_train_gan (resumed, 5, NULL, 0, NULL, NULL, &error));

  lq_test_assert_nets_equal (lq_gan_generator (lq_gan_trainer_gan (straight)),
                     lq_gan_generator (lq_gan_trainer_gan (resumed)));
  lq_test_assert_nets_equal (lq_gan_trainer_critic (straight), lq_gan_trainer_critic (resumed));

  /* Another seed is refused and leaves the trainer as it was. */
  LqGanTrainConfig other = cfg;
  other.seed = 9;
  g_autoptr (LqGanTrainer) wrong = lq_gan_trainer_new (&other, ds);
  g_assert_false (lq_gan_trainer_resume (wrong, ckpt, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (lq_gan_trainer_steps (wrong), ==, 0);

  g_unlink (ckpt);
  g_rmdir (dir);
  free_set (ds);
}

static void
cancel_at_2 (guint64 done, guint64 total, const char *status, gpointer user_data)
{
  g_assert_nonnull (strstr (status, "W "));
  if (done == 2)
    g_cancellable_cancel (user_data);
}

/* Cancelling saves the checkpoint first, at the step reached. */
static void
test_train_cancel_saves (void)
{
  LqDataset *ds = blob_set (32, 3);
  LqGanTrainConfig cfg = tiny_train ();
  g_autofree char *dir = g_dir_make_tmp ("lq-gan-XXXXXX", NULL);
  g_autofree char *ckpt = g_build_filename (dir, "ckpt.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  LqMonitor mon = { cancel_at_2, cancel, cancel };
  g_autoptr (LqGanTrainer) t = lq_gan_trainer_new (&cfg, ds);
  g_assert_false (lq_train_gan (t, 100, ckpt, 1e9, NULL, &mon, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_CANCELLED);
  g_autoptr (LqGanTrainer) r = lq_gan_trainer_new (&cfg, ds);
  g_clear_error (&error);
  g_assert_true (lq_gan_trainer_resume (r, ckpt, &error));
  g_assert_cmpuint (lq_gan_trainer_steps (r), ==, 2);
  g_unlink (ckpt);
  g_rmdir (dir);
  free_set (ds);
}

/* --- generator files --- */

static void
test_file_round_trip (void)
{
  LqGanConfig c = tiny ();
  g_autoptr (LqGan) gan = lq_gan_new (&c, 5);
  lq_gan_set_data (gan, LQ_DATA_FMNIST);
  g_autofree char *dir = g_dir_make_tmp ("lq-gan-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "fmnist-defensegan.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) md = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (md, "command", "lq train defensegan --data fmnist");
  g_assert_true (lq_gan_save (gan, path, NULL, NULL, md, LQ_DTYPE_F32, &error));
  g_assert_no_error (error);

  g_autoptr (LqGan) back = lq_gan_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lq_gan_data (back), ==, LQ_DATA_FMNIST);
  g_assert_cmpint (lq_gan_config (back)->latent, ==, c.latent);
  lq_test_assert_nets_equal (lq_gan_generator (gan), lq_gan_generator (back));
  g_autoptr (LqSafetensors) st = lq_safetensors_load (path, &error);
  g_assert_cmpstr (lq_safetensors_metadata (st, "arch"), ==, "defensegan");
  g_assert_cmpstr (lq_safetensors_metadata (st, "command"), ==, "lq train defensegan --data fmnist");

  /* The shipped lookup: found under $LQ_WEIGHTS_DIR, refused for the other data set. */
  g_autofree char *saved = g_strdup (g_getenv ("LQ_WEIGHTS_DIR"));
  g_setenv ("LQ_WEIGHTS_DIR", dir, TRUE);
  g_autoptr (LqGan) shipped = lq_gan_load_shipped (LQ_DATA_FMNIST, &error);
  g_assert_no_error (error);
  g_assert_nonnull (shipped);
  /* A missing file names the file and where it looked (unless a real one is in data/). */
  g_autoptr (LqGan) missing = lq_gan_load_shipped (LQ_DATA_MNIST, &error);
  if (missing == NULL)
    {
      g_assert_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA);
      g_assert_nonnull (strstr (error->message, "mnist-defensegan.safetensors"));
      g_assert_nonnull (strstr (error->message, dir));
      g_assert_nonnull (strstr (error->message, "lq train defensegan"));
      g_clear_error (&error);
    }
  if (saved)
    g_setenv ("LQ_WEIGHTS_DIR", saved, TRUE);
  else
    g_unsetenv ("LQ_WEIGHTS_DIR");

  /* A classifier file is not a generator. */
  g_autoptr (LqNet) clf = lq_classifier_new (LQ_ARCH_A);
  g_autofree char *other = g_build_filename (dir, "clf.safetensors", NULL);
  g_assert_true (lq_net_save (clf, other, NULL, LQ_DTYPE_F32, NULL));
  g_assert_null (lq_gan_load (other, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);

  g_unlink (path);
  g_unlink (other);
  g_rmdir (dir);
}

/* --- the z search --- */

/* A tiny generator with weights large enough that different z give clearly different images. */
static LqGan *
tiny_generator (void)
{
  LqGanConfig c = tiny ();
  LqGan *gan = lq_gan_new (&c, 21);
  LqNet *g = lq_gan_generator (gan);
  for (int i = 0; i < lq_net_n_params (g); i++)
    {
      LqTensor *w = lq_net_param (g, i)->value;
      for (size_t k = 0; k < w->numel; k++)
        w->data[k] *= 4.0f;
    }
  return gan;
}

static float
max_abs_diff (const float *a, const float *b, size_t n)
{
  float m = 0;
  for (size_t i = 0; i < n; i++)
    m = MAX (m, fabsf (a[i] - b[i]));
  return m;
}

/* Plant x = G(z*): the search finds an image within a small fraction of where it started, the best
 * error never rises along the steps, and the returned image is G of the returned z. */
static void
test_search_recovers_planted (void)
{
  g_autoptr (LqGan) gan = tiny_generator ();
  const int n = 3;
  float zs[3 * 8], x[3 * LQ_IMAGE_SIZE], out[3 * LQ_IMAGE_SIZE], again[3 * LQ_IMAGE_SIZE];
  float err[3], zf[3 * 8];
  fill_normal (zs, G_N_ELEMENTS (zs), 0.5f, 31);
  lq_gan_generate (gan, zs, n, x);
  LqGanSearch p = lq_gan_search_defaults ();
  p.init_std = 0.5f;
  g_autofree float *trace = g_new (float, n * (p.steps + 1));
  LqGanSearchStats st = { .err = err, .z = zf, .trace = trace };
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_defensegan_purify (gan, &p, x, n, out, &st, NULL, &error));
  g_assert_no_error (error);
  for (int i = 0; i < n; i++)
    {
      const float *tr = trace + (size_t) i * (p.steps + 1);
      for (int t = 1; t <= p.steps; t++)
        g_assert_cmpfloat (tr[t], <=, tr[t - 1]);
      g_assert_cmpfloat (tr[p.steps], ==, err[i]);
      g_test_message ("image %d: best error %g at the start, %g after %d steps", i, tr[0], err[i],
                      p.steps);
      g_assert_cmpfloat (err[i], <, 1e-3 * tr[0]);
      g_assert_cmpfloat (err[i], <, 1e-6);
    }
  lq_gan_generate (gan, zf, n, again);
  g_assert_cmpfloat (max_abs_diff (again, out, (size_t) n * LQ_IMAGE_SIZE), <=, 1e-6);
}

/* Each image purified alone gives what it gives inside a batch (z₀ is drawn per image), and the
 * same image twice gives the same result. */
static void
test_search_batch_is_single (void)
{
  g_autoptr (LqGan) gan = tiny_generator ();
  const int n = 4;
  float *x = lq_floats_new ((size_t) n * LQ_IMAGE_SIZE), *out = lq_floats_new ((size_t) n * LQ_IMAGE_SIZE);
  float one[LQ_IMAGE_SIZE], err[4], err1;
  for (size_t i = 0; i < (size_t) n * LQ_IMAGE_SIZE; i++)
    x[i] = (float) ((i * 2654435761u) % 1000) / 1000.0f;
  LqGanSearch p = lq_gan_search_defaults ();
  p.steps = 20;
  p.restarts = 3;
  LqGanSearchStats st = { .err = err }, st1 = { .err = &err1 };
  g_assert_true (lq_defensegan_purify (gan, &p, x, n, out, &st, NULL, NULL));
  for (int i = 0; i < n; i++)
    {
      g_assert_true (lq_defensegan_purify (gan, &p, x + (size_t) i * LQ_IMAGE_SIZE, 1, one, &st1,
                                           NULL, NULL));
      g_assert_cmpfloat (max_abs_diff (one, out + (size_t) i * LQ_IMAGE_SIZE, LQ_IMAGE_SIZE), <=, 1e-5);
      g_assert_cmpfloat (fabsf (err1 - err[i]), <=, 1e-6);
    }
  lq_floats_free (x);
  lq_floats_free (out);
}

static void
test_search_params_and_cancel (void)
{
  g_autoptr (LqGan) gan = tiny_generator ();
  float x[LQ_IMAGE_SIZE] = { 0 }, out[LQ_IMAGE_SIZE];
  g_autoptr (GError) error = NULL;
  LqGanSearch p = lq_gan_search_defaults ();
  g_assert_cmpint (p.steps, ==, 200);
  g_assert_cmpint (p.restarts, ==, 10);
  p.restarts = 0;
  g_assert_false (lq_defensegan_purify (gan, &p, x, 1, out, NULL, NULL, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p = lq_gan_search_defaults ();
  p.lr = NAN;
  g_assert_false (lq_gan_search_check (&p, &error));
  g_clear_error (&error);

  /* L = 0: the best of the random restarts, no gradient step. */
  p = lq_gan_search_defaults ();
  p.steps = 0;
  g_assert_true (lq_defensegan_purify (gan, &p, x, 1, out, NULL, NULL, &error));

  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  LqMonitor mon = { NULL, NULL, cancel };
  p = lq_gan_search_defaults ();
  g_assert_false (lq_defensegan_purify (gan, &p, x, 1, out, NULL, &mon, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_CANCELLED);
}

/* BPDA through Defense-GAN: logits are the classifier's on the purified image, and the gradient
 * is the classifier's input-gradient there (the search taken as the identity). */
static void
test_target_identity_backward (void)
{
  g_autoptr (LqGan) gan = tiny_generator ();
  g_autoptr (LqNet) clf = lq_classifier_new (LQ_ARCH_A);
  LqRng rng;
  lq_rng_seed (&rng, 4);
  lq_net_init (clf, &rng);
  LqGanSearch p = lq_gan_search_defaults ();
  p.steps = 10;
  p.restarts = 2;
  g_autoptr (LqTarget) t = lq_target_new_defensegan (clf, gan, &p);
  g_assert_nonnull (t);
  const int n = 2;
  float x[2 * LQ_IMAGE_SIZE], xp[2 * LQ_IMAGE_SIZE], logits[2 * 10], want[2 * 10];
  float dl[2 * 10], dx[2 * LQ_IMAGE_SIZE], dref[2 * LQ_IMAGE_SIZE];
  for (int i = 0; i < n * LQ_IMAGE_SIZE; i++)
    x[i] = (float) lq_rng_uniform (&rng);
  fill_normal (dl, G_N_ELEMENTS (dl), 1.0f, 5);
  t->forward (t, x, n, logits);
  t->backward (t, dl, dx);
  g_assert_true (lq_defensegan_purify (gan, &p, x, n, xp, NULL, NULL, NULL));
  lq_net_set_training (clf, FALSE);
  memcpy (want, lq_net_forward (clf, xp, n), sizeof want);
  lq_net_backward (clf, dl, dref, FALSE);
  g_assert_cmpfloat (max_abs_diff (logits, want, G_N_ELEMENTS (want)), <=, 1e-6);
  g_assert_cmpfloat (max_abs_diff (dx, dref, G_N_ELEMENTS (dref)), <=, 1e-6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gan/shapes", test_shapes);
  g_test_add_func ("/gan/critic-loss-gradient", test_critic_loss_gradient);
  g_test_add_func ("/gan/train/critic-learns", test_training_moves_critic);
  g_test_add_func ("/gan/train/resume-exact", test_resume_is_exact);
  g_test_add_func ("/gan/train/cancel-saves", test_train_cancel_saves);
  g_test_add_func ("/gan/file-round-trip", test_file_round_trip);
  g_test_add_func ("/gan/search/recovers-planted", test_search_recovers_planted);
  g_test_add_func ("/gan/search/batch-is-single", test_search_batch_is_single);
  g_test_add_func ("/gan/search/params-and-cancel", test_search_params_and_cancel);
  g_test_add_func ("/gan/target/identity-backward", test_target_identity_backward);
  return g_test_run ();
}

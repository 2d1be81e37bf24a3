/* test-train.c: LQ-VAE training (the paper's architecture trains; losses fall), exact resume from a
 * checkpoint, and classifier training on a small synthetic problem. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "lq-attack.h"
#include "lq-error.h"
#include "lq-gemm.h"
#include "lq-models.h"
#include "lq-net-io.h"
#include "lq-train-classifier.h"
#include "lq-train-vae.h"
#include "lq-test-util.h"

/* A synthetic set: per class a bar at a class-specific position, plus pixel noise. */
static LqDataset *
synthetic_set (int n, guint64 seed)
{
  LqDataset *ds = g_new0 (LqDataset, 1);
  LqRng rng;
  lq_rng_seed (&rng, seed);
  ds->n = n;
  ds->images = lq_floats_new ((size_t) n * LQ_IMAGE_SIZE);
  ds->labels = g_new (guint8, n);
  for (int i = 0; i < n; i++)
    {
      int k = i % LQ_N_CLASSES;
      float *img = ds->images + (size_t) i * LQ_IMAGE_SIZE;
      ds->labels[i] = (guint8) k;
      for (int y = 4; y < 24; y++)
        for (int x = 0; x < 3; x++)
          img[y * LQ_IMAGE_SIDE + 4 + 2 * k + x] = 1.0f;
      for (int p = 0; p < LQ_IMAGE_SIZE; p++)
        {
          /* not inside CLAMP: the macro would draw the noise up to three times */
          float v = img[p] + 0.1f * (float) lq_rng_normal (&rng);
          img[p] = CLAMP (v, 0.0f, 1.0f);
        }
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

/* The paper's architecture (latent 64, width 64, hidden 1024) learns: reconstruction losses of
 * both decoders fall over a few steps. */
static void
test_paper_vae_losses_fall (void)
{
  LqDataset *ds = synthetic_set (256, 1);
  LqVaeTrainConfig cfg = lq_vae_train_config_default (LQ_DATA_MNIST);
  cfg.batch = 16;
  cfg.lr = 1e-3f; /* a few steps must show the trend; the recipe's 3e-4 is tested below */
  g_autoptr (LqVaeTrainer) t = lq_vae_trainer_new (&cfg, ds);
  g_assert_cmpint (lq_vae_config (lq_vae_trainer_vae (t))->hidden, ==, 1024);
  const int steps = 12;
  double first_g = 0, last_g = 0, first_h = 0, last_h = 0;
  for (int i = 0; i < steps; i++)
    {
      LqVaeTrainStats s;
      g_autoptr (GError) error = NULL;
      g_assert_true (lq_vae_trainer_step (t, &s, &error));
      g_assert_no_error (error);
      g_assert_true (isfinite (s.kl) && isfinite (s.gp) && s.grad_norm > 0);
      if (i < 3)
        first_g += s.l_g, first_h += s.l_h;
      if (i >= steps - 3)
        last_g += s.l_g, last_h += s.l_h;
    }
  g_test_message ("L_g %.3f → %.3f, L_h %.3f → %.3f", first_g / 3, last_g / 3, first_h / 3,
                  last_h / 3);
  g_assert_cmpfloat (last_g, <, 0.9 * first_g);
  g_assert_cmpfloat (last_h, <, 0.9 * first_h);
  free_set (ds);
}

static LqVaeTrainConfig
tiny_config (void)
{
  LqVaeTrainConfig cfg = lq_vae_train_config_default (LQ_DATA_FMNIST);
  cfg.vae.width = 4;
  cfg.vae.hidden = 16;
  cfg.vae.latent = 8;
  cfg.batch = 8;
  cfg.seed = 7;
  return cfg;
}

/* Train 6 steps straight, or 4 steps + checkpoint + resume in a new trainer + 2 steps: the
 * weights must be the same bits. */
static void
test_resume_is_exact (void)
{
  LqDataset *ds = synthetic_set (64, 2);
  LqVaeTrainConfig cfg = tiny_config ();
  g_autofree char *dir = g_dir_make_tmp ("lq-train-XXXXXX", NULL);
  g_autofree char *ckpt = g_build_filename (dir, "ckpt.safetensors", NULL);
  g_autoptr (GError) error = NULL;

  g_autoptr (LqVaeTrainer) straight = lq_vae_trainer_new (&cfg, ds);
  for (int i = 0; i < 6; i++)
    g_assert_true (lq_vae_trainer_step (straight, NULL, &error));

  g_autoptr (LqVaeTrainer) first = lq_vae_trainer_new (&cfg, ds);
  for (int i = 0; i < 4; i++)
    g_assert_true (lq_vae_trainer_step (first, NULL, &error));
  g_assert_true (lq_vae_trainer_save (first, ckpt, NULL, &error));
  g_assert_no_error (error);

  g_autoptr (LqVaeTrainer) resumed = lq_vae_trainer_new (&cfg, ds);
  g_assert_true (lq_vae_trainer_resume (resumed, ckpt, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (lq_vae_trainer_steps (resumed), ==, 4);
  for (int i = 0; i < 2; i++)
    g_assert_true (lq_vae_trainer_step (resumed, NULL, &error));

  LqVae *a = lq_vae_trainer_vae (straight), *b = lq_vae_trainer_vae (resumed);
  lq_test_assert_nets_equal (lq_vae_encoder (a), lq_vae_encoder (b));
  lq_test_assert_nets_equal (lq_vae_decoder (a), lq_vae_decoder (b));
  lq_test_assert_nets_equal (lq_vae_decoder_h (a), lq_vae_decoder_h (b));

  /* A different seed is refused and leaves the trainer as it was. */
  LqVaeTrainConfig other = cfg;
  other.seed = 8;
  g_autoptr (LqVaeTrainer) wrong = lq_vae_trainer_new (&other, ds);
  g_assert_false (lq_vae_trainer_resume (wrong, ckpt, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (lq_vae_trainer_steps (wrong), ==, 0);

  g_unlink (ckpt);
  g_rmdir (dir);
  free_set (ds);
}

/* The halves of the data-parallel step add up to the whole batch: same losses, and the same
 * weight change (the RMSProp update, lr·g/√ms, so a wrong gradient shows) within float
 * rounding, after one step and after three. */
static void
test_halves_equal_whole_batch (void)
{
  LqDataset *ds = synthetic_set (64, 5);
  LqVaeTrainConfig cfg = tiny_config ();
  cfg.lr = 1e-2f; /* large steps, so that the second and third steps see different weights */
  LqVaeTrainConfig whole = cfg;
  whole.whole_batch = TRUE;
  g_autoptr (GError) error = NULL;
  g_autoptr (LqVaeTrainer) split = lq_vae_trainer_new (&cfg, ds);
  g_autoptr (LqVaeTrainer) ref = lq_vae_trainer_new (&whole, ds);
  LqNet *nets[2][3];
  for (int k = 0; k < 2; k++)
    {
      LqVae *v = lq_vae_trainer_vae (k ? ref : split);
      nets[k][0] = lq_vae_encoder (v), nets[k][1] = lq_vae_decoder (v), nets[k][2] = lq_vae_decoder_h (v);
    }
  for (int i = 0; i < 3; i++)
    {
      GPtrArray *before = g_ptr_array_new_with_free_func ((GDestroyNotify) lq_tensor_free);
      for (int n = 0; n < 3; n++)
        for (int q = 0; q < lq_net_n_params (nets[1][n]); q++)
          g_ptr_array_add (before, lq_tensor_copy (lq_net_param (nets[1][n], q)->value));
      LqVaeTrainStats a, b;
      g_assert_true (lq_vae_trainer_step (split, &a, &error));
      g_assert_true (lq_vae_trainer_step (ref, &b, &error));
      g_assert_no_error (error);
      g_assert_cmpfloat_with_epsilon (a.l_h, b.l_h, 1e-4 * b.l_h);
      g_assert_cmpfloat_with_epsilon (a.l_g, b.l_g, 1e-4 * b.l_g);
      g_assert_cmpfloat_with_epsilon (a.kl, b.kl, 1e-4 * fabsf (b.kl) + 1e-7);
      g_assert_cmpfloat_with_epsilon (a.gp, b.gp, 1e-4 * b.gp + 1e-7);
      g_assert_cmpfloat_with_epsilon (a.grad_norm, b.grad_norm, 1e-4 * b.grad_norm);
      guint t = 0;
      for (int n = 0; n < 3; n++)
        for (int q = 0; q < lq_net_n_params (nets[1][n]); q++, t++)
          {
            const LqTensor *w0 = g_ptr_array_index (before, t);
            const LqTensor *ws = lq_net_param (nets[0][n], q)->value, *wr = lq_net_param (nets[1][n], q)->value;
            double worst = 0, scale = 0;
            for (size_t e = 0; e < w0->numel; e++)
              {
                const double ds_ = (double) ws->data[e] - w0->data[e], dr = (double) wr->data[e] - w0->data[e];
                worst = MAX (worst, fabs (ds_ - dr));
                scale = MAX (scale, fabs (dr));
              }
            if (worst > 1e-3 * scale + 1e-6) /* float rounding of w0 itself bounds the last term */
              g_error ("step %d, %s: weight change differs by %g (largest change %g)", i + 1,
                       lq_net_param (nets[1][n], q)->name, worst, scale);
          }
      g_ptr_array_unref (before);
    }
  free_set (ds);
}

/* The step runs the two halves of its batch on two threads (or one after the other): the
 * weights after a few steps are the same bits for one thread and for two, for an even batch and
 * for an odd one (halves of 2 and 3). */
static void
test_step_same_bits_any_threads (void)
{
  LqDataset *ds = synthetic_set (64, 4);
  const int threads = lq_gemm_get_threads ();
  const int batches[] = { 8, 5 };
  for (gsize bi = 0; bi < G_N_ELEMENTS (batches); bi++)
    {
      LqVaeTrainConfig cfg = tiny_config ();
      cfg.batch = batches[bi];
      g_autoptr (GError) error = NULL;
      g_autoptr (LqVaeTrainer) one = lq_vae_trainer_new (&cfg, ds);
      g_autoptr (LqVaeTrainer) two = lq_vae_trainer_new (&cfg, ds);
      LqVaeTrainStats s1, s2;
      for (int i = 0; i < 3; i++)
        {
          lq_gemm_set_threads (1);
          g_assert_true (lq_vae_trainer_step (one, &s1, &error));
          lq_gemm_set_threads (2);
          g_assert_true (lq_vae_trainer_step (two, &s2, &error));
          lq_gemm_set_threads (threads);
          g_assert_no_error (error);
          g_assert_cmpfloat (s1.l_h, ==, s2.l_h);
          g_assert_cmpfloat (s1.gp, ==, s2.gp);
          g_assert_cmpfloat (s1.kl, ==, s2.kl);
        }
      LqVae *a = lq_vae_trainer_vae (one), *b = lq_vae_trainer_vae (two);
      lq_test_assert_nets_equal (lq_vae_encoder (a), lq_vae_encoder (b));
      lq_test_assert_nets_equal (lq_vae_decoder (a), lq_vae_decoder (b));
      lq_test_assert_nets_equal (lq_vae_decoder_h (a), lq_vae_decoder_h (b));
    }
  free_set (ds);
}

/* The saved inference file (encoder + g) loads back and purifies identically. */
static void
test_vae_file_round_trip (void)
{
  LqDataset *ds = synthetic_set (16, 3);
  LqVaeTrainConfig cfg = tiny_config ();
  g_autofree char *dir = g_dir_make_tmp ("lq-train-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "vae.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LqVaeTrainer) t = lq_vae_trainer_new (&cfg, ds);
  g_assert_true (lq_vae_trainer_step (t, NULL, &error));
  LqVae *v = lq_vae_trainer_vae (t);
  g_assert_true (lq_vae_save (v, path, FALSE, NULL, NULL, NULL, LQ_DTYPE_F32, &error));
  g_assert_no_error (error);
  g_autoptr (LqVae) w = lq_vae_load (path, &error);
  g_assert_no_error (error);
  g_assert_null (lq_vae_decoder_h (w));
  g_assert_cmpint (lq_vae_data (w), ==, LQ_DATA_FMNIST);
  g_assert_cmpint (lq_vae_config (w)->latent, ==, 8);
  float a[4 * LQ_IMAGE_SIZE], b[4 * LQ_IMAGE_SIZE];
  lq_vae_purify (v, ds->images, 4, a, NULL);
  lq_vae_purify (w, ds->images, 4, b, NULL);
  g_assert_true (memcmp (a, b, sizeof a) == 0);
  for (int i = 0; i < 4 * LQ_IMAGE_SIZE; i++)
    g_assert_true (a[i] >= 0.0f && a[i] <= 1.0f);
  /* A classifier file is not an LQ-VAE. */
  g_autoptr (LqNet) clf = lq_classifier_new (LQ_ARCH_B);
  g_autoptr (GHashTable) md = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (md, "arch", "classifier-B");
  g_hash_table_insert (md, "dataset", "mnist");
  g_assert_true (lq_net_save (clf, path, md, LQ_DTYPE_F32, &error));
  g_assert_null (lq_vae_load (path, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_unlink (path);
  g_rmdir (dir);
  free_set (ds);
}

static void
test_classifier_learns (void)
{
  LqDataset *train = synthetic_set (640, 4), *test = synthetic_set (200, 5);
  g_autoptr (LqNet) net = lq_classifier_new (LQ_ARCH_A);
  LqRng rng;
  lq_rng_seed (&rng, 1);
  lq_net_init (net, &rng);
  double before = lq_classifier_accuracy (net, test, NULL);
  LqClassifierTrainConfig cfg = lq_classifier_train_config_default ();
  cfg.epochs = 2;
  cfg.batch = 32;
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_train_classifier (net, train, &cfg, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  double after = lq_classifier_accuracy (net, test, NULL);
  g_test_message ("held-out accuracy %.3f → %.3f", before, after);
  g_assert_cmpfloat (after, >, 0.9);
  g_assert_cmpfloat (after, >, before);
  free_set (train);
  free_set (test);
}

/* A dropout-free MLP, so that two trainings differ only by what they are fed. */
static LqNet *
tiny_mlp (void)
{
  LqNet *net = lq_net_new (1, LQ_IMAGE_SIDE, LQ_IMAGE_SIDE);
  g_assert_true (lq_net_add (net, lq_flatten_new (), NULL));
  g_assert_true (lq_net_add (net, lq_dense_new ("fc1", 32), NULL));
  g_assert_true (lq_net_add (net, lq_relu_new (), NULL));
  g_assert_true (lq_net_add (net, lq_dense_new ("fc2", LQ_N_CLASSES), NULL));
  LqRng rng;
  lq_rng_seed (&rng, 3);
  lq_net_init (net, &rng);
  return net;
}

static double
attack_accuracy (LqNet *net, const LqDataset *ds, const LqAttackParams *p)
{
  g_autoptr (LqTarget) t = lq_target_new_classifier (net);
  float *adv = lq_floats_new ((size_t) ds->n * LQ_IMAGE_SIZE);
  g_assert_true (lq_attack_run (p, t, ds->images, ds->labels, ds->n, adv, NULL, NULL, NULL));
  LqDataset attacked = *ds;
  attacked.images = adv;
  double acc = lq_classifier_accuracy (net, &attacked, NULL);
  lq_floats_free (adv);
  return acc;
}

/* FGSM training with eps 0 feeds every image twice, clean: the mean loss and its gradient are
 * those of plain training, so the weights come out the same. */
static void
test_adv_fgsm_eps0_is_plain (void)
{
  LqDataset *train = synthetic_set (320, 8);
  g_autoptr (LqNet) a = tiny_mlp ();
  g_autoptr (LqNet) b = tiny_mlp ();
  LqClassifierTrainConfig cfg = lq_classifier_train_config_default ();
  cfg.epochs = 1;
  cfg.batch = 32;
  g_assert_true (lq_train_classifier (a, train, &cfg, NULL, NULL, NULL, NULL));
  cfg.adv.kind = LQ_ADV_FGSM;
  cfg.adv.eps = 0;
  g_autoptr (GError) error = NULL;
  gboolean trained = lq_train_classifier (b, train, &cfg, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (trained);
  double worst = 0;
  for (int i = 0; i < lq_net_n_params (a); i++)
    {
      const LqTensor *va = lq_net_param (a, i)->value, *vb = lq_net_param (b, i)->value;
      for (size_t k = 0; k < va->numel; k++)
        worst = MAX (worst, fabsf (va->data[k] - vb->data[k]));
    }
  g_test_message ("largest weight difference %.3g", worst);
  g_assert_cmpfloat (worst, <, 1e-5);
  free_set (train);
}

/* What adversarial training is for: on held-out images, the attack it trained against hurts the
 * adversarially trained model (Adv Tr: FGSM; Madry: PGD) much less than the plainly trained one.
 * Madry's PGD training of this small MLP collapses at eps 0.3 within a few epochs (as it does for
 * small models in Madry et al.), so its check uses a smaller budget. */
static void
check_adv_training (LqAdvKind kind, float eps, int epochs)
{
  LqDataset *train = synthetic_set (640, 9), *test = synthetic_set (300, 10);
  LqClassifierTrainConfig cfg = lq_classifier_train_config_default ();
  cfg.epochs = epochs;
  cfg.batch = 32;
  LqAttackParams attack = lq_attack_defaults (kind == LQ_ADV_FGSM ? LQ_ATTACK_FGSM : LQ_ATTACK_PGD);
  attack.eps = eps;
  attack.step = eps / 4;
  attack.steps = 10;
  double clean[2], attacked[2];
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (LqNet) net = tiny_mlp ();
      cfg.adv = (LqAdvTraining){ i ? kind : LQ_ADV_NONE, eps, attack.step, attack.steps };
      g_autoptr (GError) error = NULL;
      gboolean trained = lq_train_classifier (net, train, &cfg, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (trained);
      clean[i] = lq_classifier_accuracy (net, test, NULL);
      attacked[i] = attack_accuracy (net, test, &attack);
      g_test_message ("%s training: clean %.3f, %s eps %.2f %.3f", lq_adv_kind_name (cfg.adv.kind),
                      clean[i], lq_attack_kind_name (attack.kind), eps, attacked[i]);
    }
  g_assert_cmpfloat (clean[0], >, 0.9);
  g_assert_cmpfloat (clean[1], >, 0.9);
  g_assert_cmpfloat (attacked[1], >, 0.9);
  g_assert_cmpfloat (attacked[1], >, attacked[0] + 0.2);
  free_set (train);
  free_set (test);
}

static void
test_adv_fgsm_training_is_robust (void)
{
  check_adv_training (LQ_ADV_FGSM, 0.4f, 6);
}

static void
test_adv_pgd_training_is_robust (void)
{
  check_adv_training (LQ_ADV_PGD, 0.15f, 6);
}

static void
test_adv_bad_params (void)
{
  LqDataset *train = synthetic_set (64, 11);
  g_autoptr (LqNet) net = tiny_mlp ();
  LqClassifierTrainConfig cfg = lq_classifier_train_config_default ();
  cfg.adv = (LqAdvTraining){ LQ_ADV_PGD, -0.1f, 0.01f, 40 };
  g_autoptr (GError) error = NULL;
  g_assert_false (lq_train_classifier (net, train, &cfg, NULL, NULL, NULL, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  LqAdvKind kind;
  g_clear_error (&error);
  g_assert_false (lq_adv_kind_from_string ("madry", &kind, &error));
  g_assert_true (lq_adv_kind_from_string ("pgd", &kind, NULL) && kind == LQ_ADV_PGD);
  free_set (train);
}

static void
test_classifier_cancel (void)
{
  LqDataset *train = synthetic_set (256, 6);
  g_autoptr (LqNet) net = lq_classifier_new (LQ_ARCH_C);
  LqRng rng;
  lq_rng_seed (&rng, 1);
  lq_net_init (net, &rng);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  LqMonitor m = { NULL, NULL, cancel };
  LqClassifierTrainConfig cfg = lq_classifier_train_config_default ();
  cfg.batch = 32;
  g_autoptr (GError) error = NULL;
  g_assert_false (lq_train_classifier (net, train, &cfg, NULL, NULL, &m, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_CANCELLED);
  free_set (train);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train/vae/paper-losses-fall", test_paper_vae_losses_fall);
  g_test_add_func ("/train/vae/resume-exact", test_resume_is_exact);
  g_test_add_func ("/train/vae/same-bits-any-threads", test_step_same_bits_any_threads);
  g_test_add_func ("/train/vae/halves-equal-whole-batch", test_halves_equal_whole_batch);
  g_test_add_func ("/train/vae/file-round-trip", test_vae_file_round_trip);
  g_test_add_func ("/train/classifier/learns", test_classifier_learns);
  g_test_add_func ("/train/classifier/cancel", test_classifier_cancel);
  g_test_add_func ("/train/classifier/adv-fgsm-eps0-is-plain", test_adv_fgsm_eps0_is_plain);
  g_test_add_func ("/train/classifier/adv-fgsm-training-is-robust", test_adv_fgsm_training_is_robust);
  g_test_add_func ("/train/classifier/adv-pgd-training-is-robust", test_adv_pgd_training_is_robust);
  g_test_add_func ("/train/classifier/adv-bad-params", test_adv_bad_params);
  return g_test_run ();
}

/* test-explorer-stress.c: the explorer under stress, under Xvfb (docs/ROBUSTNESS.md): 1000 rapid
 * ε changes, 100 bad files opened in a row, the data set switched while Carlini–Wagner runs, a
 * window closed with work in flight. No crash, no warning (G_DEBUG=fatal-warnings), and what is
 * shown at the end is the answer to the last request, checked against the core computed here.
 * Everything runs with the classifiers alone; tests that need the LQ-VAE weights skip cleanly
 * without them. */
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include "lq-explorer-application.h"
#include "lq-explorer-window.h"
#include "lq-gemm.h"
#include "lq-gui-test-util.h"

static GtkApplication *app;

/* Runs the main loop until nothing that changes the panels is pending; FALSE on timeout. */
static gboolean
wait_idle (LqExplorerWindow *win, double timeout_s)
{
  return lq_test_wait_idle (win, FALSE, timeout_s, 0.05, NULL);
}

static gboolean
have_file (const char *basename)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *p = lq_weights_path (basename, &error);
  return p != NULL;
}

#define NEED(file)                                                                    \
  if (!have_file (file))                                                              \
    {                                                                                 \
      g_test_skip (file " is not installed (data/): this test needs it");            \
      return;                                                                         \
    }

static LqExplorerWindow *
new_window (void)
{
  return lq_test_new_window (app, 20);
}

/* The window closes, finalizes, and its worker's late results are dropped. */
static void
close_window (LqExplorerWindow *win)
{
  gpointer weak = win;
  g_object_add_weak_pointer (G_OBJECT (win), &weak);
  gtk_window_destroy (GTK_WINDOW (win));
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (weak && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (weak);
}

/* The shown result is the core's answer for the window's current request. */
static void
assert_result_is_current (LqExplorerWindow *win)
{
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  g_assert_nonnull (r);
  int label;
  const float *x = lq_explorer_window_get_image (win, &label);
  LqAttackParams p = lq_explorer_window_get_params (win);
  g_assert_cmpint (r->data, ==, lq_explorer_window_get_data (win));
  g_assert_cmpint (r->arch, ==, lq_explorer_window_get_model (win));
  g_assert_cmpint (r->attack, ==, lq_explorer_window_get_attack (win));
  g_assert_cmpmem (r->image, sizeof r->image, x, sizeof r->image);
  /* Field by field: the struct has padding, which copies need not keep. */
  g_assert_cmpint (r->params.kind, ==, p.kind);
  g_assert_cmpint (r->params.targeted, ==, p.targeted);
  g_assert_cmpfloat (r->params.eps, ==, p.eps);
  g_assert_cmpfloat (r->params.step, ==, p.step);
  g_assert_cmpint (r->params.steps, ==, p.steps);
  g_assert_cmpint (r->params.cw_max_iter, ==, p.cw_max_iter);
  g_assert_cmpint (r->params.cw_search_steps, ==, p.cw_search_steps);

  g_autoptr (GError) error = NULL;
  g_autoptr (LqClassifier) clf = lq_classifier_load_shipped (r->data, r->arch, &error);
  g_assert_no_error (error);
  float probs[10], adv[784];
  guint8 pred;
  lq_classifier_predict (clf, x, 1, probs, &pred);
  guint8 lab = p.targeted ? (guint8) r->target : (guint8) (label >= 0 ? label : pred);
  g_assert_cmpint (r->attack, !=, LQ_EXPLORER_ATTACK_BPDA);  /* needs the LQ-VAE */
  LqTarget *t = lq_target_new_classifier (clf->net);
  g_assert_true (lq_attack_run (&p, t, x, &lab, 1, adv, NULL, NULL, &error));
  lq_target_free (t);
  float maxdiff = 0;
  for (int i = 0; i < 784; i++)
    maxdiff = MAX (maxdiff, fabsf (adv[i] - r->adv[i]));
  g_assert_cmpfloat (maxdiff, <, 1e-4);
  lq_classifier_predict (clf, adv, 1, probs, &pred);
  g_assert_cmpint (lq_image_view_get_prediction (lq_explorer_window_get_panel (win, LQ_ROLE_ADVERSARIAL), NULL), ==, pred);
}

/* ------------------------------------------------------------------ tests */

static void
test_slider_1000 (void)
{
  NEED ("mnist-A.safetensors");
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, 60));
  LqExplorerWorker *worker = lq_explorer_window_get_worker (win);
  GtkAdjustment *adj = lq_explorer_window_get_eps_adjustment (win);
  guint dropped0 = lq_explorer_worker_get_n_dropped (worker);
  GRand *rand = g_rand_new_with_seed (1000);
  double last = 0;
  gint64 t0 = g_get_monotonic_time ();
  for (int i = 0; i < 1000; i++)
    {
      last = 0.01 + 0.001 * g_rand_int_range (rand, 0, 400);
      gtk_adjustment_set_value (adj, last);
      if (i % 4 == 0)  /* the UI runs between some of the moves, as it would under a drag */
        g_main_context_iteration (NULL, FALSE);
    }
  g_rand_free (rand);
  double submit_ms = (g_get_monotonic_time () - t0) / 1000.0;
  g_assert_true (wait_idle (win, 120));
  guint dropped = lq_explorer_worker_get_n_dropped (worker) - dropped0;
  g_test_message ("1000 ε changes submitted in %.0f ms, settled after %.0f ms; %u stale results dropped",
                  submit_ms, (g_get_monotonic_time () - t0) / 1000.0, dropped);
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  g_assert_cmpfloat (fabs (lq_explorer_window_get_eps (win) - last), <, 1e-6);
  g_assert_cmpfloat (fabs (r->params.eps - last), <, 1e-6);
  g_assert_cmpfloat (r->linf, <=, last + 1e-5);
  assert_result_is_current (win);
  g_assert_cmpuint (dropped, >, 0);
  /* Every one of the 1000 jobs has finished: none is stuck or leaked in the worker. */
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (lq_explorer_worker_get_n_running (worker) > 0 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (lq_explorer_worker_get_n_running (worker), ==, 0);
  close_window (win);
}

typedef struct {
  char *path;
  char *shown;  /* how the error names it (UTF-8) */
} BadFile;

static void
bad_file_add (GArray *files, const char *dir, const char *name, const void *data, gssize len)
{
  BadFile f;
  f.path = g_build_filename (dir, name, NULL);
  if (len >= 0)
    g_assert_true (g_file_set_contents (f.path, data, len, NULL));
  f.shown = g_filename_display_basename (f.path);
  g_array_append_val (files, f);
}

static void
bad_file_clear (gpointer p)
{
  BadFile *f = p;
  g_free (f->path);
  g_free (f->shown);
}

/* Copies a fixture image into dir under name. */
static void
bad_fixture_add (GArray *files, const char *dir, const char *name, const char *fixture)
{
  g_autofree char *src = g_build_filename (g_getenv ("LQ_SOURCE_DIR"), "tests", "fixtures",
                                           "robustness", fixture, NULL);
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (src, &bytes, &len, NULL));
  bad_file_add (files, dir, name, bytes, (gssize) len);
}

static void
test_bad_files_100 (void)
{
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, 60));
  float before[784];
  memcpy (before, lq_explorer_window_get_image (win, NULL), sizeof before);
  int index = lq_explorer_window_get_index (win);
  g_autofree char *dir = g_dir_make_tmp ("lq-stress-XXXXXX", NULL);
  g_autoptr (GArray) files = g_array_new (FALSE, FALSE, sizeof (BadFile));
  g_array_set_clear_func (files, bad_file_clear);
  bad_file_add (files, dir, "empty.png", "", 0);
  bad_file_add (files, dir, "notes.png", "these are notes, not pixels\n", -1);
  bad_file_add (files, dir, "d\xe9j\xe0-notes.png", "not UTF-8, not an image", -1);
  bad_file_add (files, dir, "absent.png", NULL, -1);
  bad_fixture_add (files, dir, "truncated.png", "truncated.png");
  bad_fixture_add (files, dir, "huge-20000.png", "huge-20000.png");
  bad_fixture_add (files, dir, "big-10000.png", "big-10000.png");
  bad_fixture_add (files, dir, "one-pixel.png", "one-pixel.png");
  BadFile folder = { g_build_filename (dir, "folder.png", NULL), g_strdup ("folder.png") };
  g_assert_cmpint (g_mkdir (folder.path, 0700), ==, 0);
  g_array_append_val (files, folder);
  const guint nf = files->len;

  /* One after the other, each waited for: each error names its file. */
  for (int i = 0; i < 100; i++)
    {
      BadFile *f = &g_array_index (files, BadFile, i % nf);
      g_autoptr (GFile) file = g_file_new_for_path (f->path);
      lq_explorer_window_open_file (win, file);
      g_assert_true (wait_idle (win, 30));
      const char *err = lq_explorer_window_get_error (win);
      g_assert_nonnull (err);
      g_assert_true (g_utf8_validate (err, -1, NULL));
      if (strstr (err, f->shown) == NULL)
        g_error ("opening %s: the error '%s' does not name it", f->shown, err);
    }
  /* 100 in a burst: only the last one's answer is shown. */
  LqExplorerWorker *worker = lq_explorer_window_get_worker (win);
  guint dropped0 = lq_explorer_worker_get_n_dropped (worker);
  for (int i = 0; i < 100; i++)
    {
      g_autoptr (GFile) file = g_file_new_for_path (g_array_index (files, BadFile, (i * 7) % nf).path);
      lq_explorer_window_open_file (win, file);
    }
  g_assert_true (wait_idle (win, 60));
  const char *last = g_array_index (files, BadFile, (99 * 7) % nf).shown;
  g_assert_nonnull (strstr (lq_explorer_window_get_error (win), last));
  g_test_message ("100 bad files in a burst: %u answers dropped as stale",
                  lq_explorer_worker_get_n_dropped (worker) - dropped0);
  /* Nothing the user had is lost. */
  g_assert_cmpmem (before, sizeof before, lq_explorer_window_get_image (win, NULL), sizeof before);
  g_assert_cmpint (lq_explorer_window_get_source (win), ==, LQ_SOURCE_SAMPLE);
  g_assert_cmpint (lq_explorer_window_get_index (win), ==, index);

  /* A good image whose name is not UTF-8 opens, and the window names it without warnings. */
  BadFile good = { 0 };
  {
    g_autoptr (GArray) one = g_array_new (FALSE, FALSE, sizeof (BadFile));
    bad_fixture_add (one, dir, "d\xe9j\xe0.png", "digit.png");
    good = g_array_index (one, BadFile, 0);
  }
  g_autoptr (GFile) gf = g_file_new_for_path (good.path);
  lq_explorer_window_open_file (win, gf);
  g_assert_true (wait_idle (win, 30));
  g_assert_cmpint (lq_explorer_window_get_source (win), ==, LQ_SOURCE_FILE);
  g_assert_true (lq_explorer_window_get_error (win) == NULL
                 || strstr (lq_explorer_window_get_error (win), "png") == NULL);
  lq_test_spin (0.2);  /* let the labels draw */
  close_window (win);
  for (guint i = 0; i < nf; i++)
    {
      BadFile *f = &g_array_index (files, BadFile, i);
      if (g_file_test (f->path, G_FILE_TEST_IS_DIR))
        g_rmdir (f->path);
      else
        g_unlink (f->path);
    }
  g_unlink (good.path);
  bad_file_clear (&good);
  g_rmdir (dir);
}

static void
test_switch_data_during_cw (void)
{
  NEED ("mnist-A.safetensors");
  NEED ("fmnist-A.safetensors");
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, 60));
  GActionGroup *ag = G_ACTION_GROUP (win);
  g_action_group_activate_action (ag, "show-sample", g_variant_new_int32 (5));
  g_assert_true (wait_idle (win, 60));
  g_action_group_activate_action (ag, "attack", g_variant_new_string ("cw"));
  /* Switch at once: the live CW preset takes only a few hundred ms on an idle machine. */
  g_assert_true (lq_explorer_window_is_busy (win, FALSE));
  g_action_group_activate_action (ag, "data", g_variant_new_string ("fmnist"));
  g_assert_cmpint (lq_explorer_window_get_data (win), ==, LQ_DATA_FMNIST);
  g_assert_true (wait_idle (win, 120));
  g_assert_cmpint (lq_explorer_window_get_result (win)->data, ==, LQ_DATA_FMNIST);
  g_assert_cmpint (lq_explorer_window_get_index (win), ==, 5);
  assert_result_is_current (win);

  /* Back and forth while CW runs, with the UI turning in between: the last choice wins. */
  for (int i = 0; i < 9; i++)
    {
      g_action_group_activate_action (ag, "data", g_variant_new_string (i % 2 ? "fmnist" : "mnist"));
      lq_test_spin (0.02 * (i % 4));
    }
  g_assert_cmpint (lq_explorer_window_get_data (win), ==, LQ_DATA_MNIST);
  g_assert_true (wait_idle (win, 120));
  assert_result_is_current (win);
  g_assert_cmpint (lq_explorer_window_get_result (win)->attack, ==, LQ_EXPLORER_ATTACK_CW);
  close_window (win);
}

static void
test_flip_bits_storm (void)
{
  NEED ("mnist-A.safetensors");
  NEED ("mnist-lqvae.safetensors");
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, 60));
  GRand *rand = g_rand_new_with_seed (7);
  int flips[64] = { 0 };
  for (int i = 0; i < 300; i++)
    {
      int bit = g_rand_int_range (rand, 0, 64);
      flips[bit] ^= 1;
      g_signal_emit_by_name (lq_explorer_window_get_grid (win), "cell-activated", bit);
      if (i % 3 == 0)
        g_main_context_iteration (NULL, FALSE);
    }
  g_rand_free (rand);
  g_assert_true (wait_idle (win, 60));
  int n = 0;
  for (int i = 0; i < 64; i++)
    n += flips[i];
  g_assert_cmpint (lq_explorer_window_get_n_edited (win), ==, n);
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  const LqExplorerJob *d = lq_explorer_window_get_decoded (win);
  if (n == 0)
    g_assert_null (d);
  else
    for (int i = 0; i < r->latent; i++)
      {
        float bit = fabsf (r->mu[1][i]) < r->threshold ? 1.f : -1.f;
        g_assert_cmpfloat (d->code[i], ==, flips[i] ? -bit : bit);
      }
  close_window (win);
}

static void
test_close_in_flight (void)
{
  NEED ("mnist-A.safetensors");
  LqExplorerWindow *win = new_window ();
  lq_test_spin (0.1);
  GtkAdjustment *adj = lq_explorer_window_get_eps_adjustment (win);
  for (int i = 0; i < 200; i++)
    gtk_adjustment_set_value (adj, 0.05 + 0.001 * i);
  g_action_group_activate_action (G_ACTION_GROUP (win), "attack", g_variant_new_string ("cw"));
  close_window (win);
  lq_test_spin (1.0);  /* late results arrive and are dropped without touching the window */
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  app = lq_test_app_new ();  /* one BLAS thread, as the worker: the core's answers match to the bit */

  g_test_add_func ("/explorer-stress/slider-1000", test_slider_1000);
  g_test_add_func ("/explorer-stress/bad-files-100", test_bad_files_100);
  g_test_add_func ("/explorer-stress/switch-data-during-cw", test_switch_data_during_cw);
  g_test_add_func ("/explorer-stress/flip-bits-storm", test_flip_bits_storm);
  g_test_add_func ("/explorer-stress/close-in-flight", test_close_in_flight);
  int status = g_test_run ();
  lq_test_app_free (app);
  return status;
}

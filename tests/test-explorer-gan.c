/* test-explorer-gan.c: Defense-GAN as the explorer's second purifier, under Xvfb. Without a
 * generator the panel and the error bar say it is not installed and name the command, and LQ-VAE
 * still works; with a toy generator (the tiny config trained here for a few steps) "both" shows
 * four panels whose Defense-GAN image and prediction equal the core's, both times are shown, and
 * Cancel or a newer request stops the search without drawing a stale result.
 * Skipped (not failed) when the trained classifier and LQ-VAE are not installed. */
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include "lq-defensegan.h"
#include "lq-explorer-application.h"
#include "lq-explorer-render.h"
#include "lq-explorer-window.h"
#include "lq-gemm.h"
#include "lq-tensor.h"
#include "lq-train-gan.h"
#include "lq-gui-test-util.h"

static GtkApplication *app;
static char *toy_dir, *toy_path;  /* the toy generator, made once in main () */

static gboolean
wait_idle (LqExplorerWindow *win, double timeout_s)
{
  return lq_test_wait_idle (win, FALSE, timeout_s, 0.1, NULL);
}

/* Runs the loop until cond (win) holds; FALSE on timeout. */
static gboolean
wait_for (LqExplorerWindow *win, gboolean (*cond) (LqExplorerWindow *), double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  guint id = g_timeout_add (5, lq_test_tick, NULL);
  while (!cond (win) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  return cond (win);
}

static gboolean
have_weights (void)
{
  g_autoptr (GError) e1 = NULL, e2 = NULL;
  g_autofree char *pa = lq_weights_path ("mnist-A.safetensors", &e1);
  g_autofree char *pv = lq_weights_path ("mnist-lqvae.safetensors", &e2);
  return pa && pv;
}

#define NEED_WEIGHTS()                                                             \
  if (!have_weights ())                                                            \
    {                                                                              \
      g_test_skip ("trained weights for MNIST are not installed");                \
      return;                                                                      \
    }

static LqExplorerWindow *
new_window (void)
{
  return lq_test_new_window (app, 20);
}

static void
activate (LqExplorerWindow *win, const char *action, GVariant *param)
{
  g_action_group_activate_action (G_ACTION_GROUP (win), action, param);
}

static int
n_visible_panels (LqExplorerWindow *win)
{
  int n = 0;
  for (GtkWidget *c = gtk_widget_get_first_child (lq_explorer_window_get_panels_box (win)); c;
       c = gtk_widget_get_next_sibling (c))
    n += gtk_widget_get_visible (c);
  return n;
}

static int
argmax10 (const float *p)
{
  int best = 0;
  for (int k = 1; k < 10; k++)
    if (p[k] > p[best])
      best = k;
  return best;
}

/* The largest difference (of 255) between the panel's image square, as rendered, and img. */
static int
panel_image_diff (LqImageView *panel, const float *img)
{
  GtkWidget *w = GTK_WIDGET (panel);
  double x, y, side;
  lq_image_view_image_rect (panel, gtk_widget_get_width (w), gtk_widget_get_height (w), &x, &y, &side);
  int tw, th;
  g_autofree guint32 *px = lq_test_render_pixels (w, &tw, &th);
  int worst = 0;
  for (int r = 0; r < 28; r++)
    for (int c = 0; c < 28; c++)
      {
        int xx = (int) (x + (c + 0.5) * side / 28), yy = (int) (y + (r + 0.5) * side / 28);
        g_assert_true (xx < tw && yy < th);
        int grey = (px[(gsize) yy * tw + xx] >> 8) & 0xff;
        worst = MAX (worst, abs (grey - (int) lroundf (CLAMP (img[r * 28 + c], 0.f, 1.f) * 255)));
      }
  return worst;
}

static LqGanSearch
small_search (void)
{
  LqGanSearch s = lq_gan_search_defaults ();
  s.steps = 5;
  s.restarts = 2;
  return s;
}

/* ------------------------------------------------------------------ tests */

static void
test_not_installed (void)
{
  NEED_WEIGHTS ();
  g_autoptr (GError) local = NULL;
  g_autofree char *shipped = lq_weights_path ("mnist-defensegan.safetensors", &local);
  if (shipped)
    {
      g_test_skip ("a Defense-GAN generator is installed");
      return;
    }
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, 30));
  g_assert_cmpint (lq_explorer_window_get_purifier (win), ==, LQ_PURIFIER_LQVAE);
  g_assert_null (lq_explorer_window_get_gan_panel (win));
  g_assert_cmpint (n_visible_panels (win), ==, 3);

  /* Defense-GAN in LQ-VAE's place: the panel and the error bar say what is missing and how to
   * make it; nothing crashes, no image is made up. */
  activate (win, "purifier", g_variant_new_string ("defensegan"));
  g_assert_true (wait_idle (win, 30));
  LqImageView *gp = lq_explorer_window_get_gan_panel (win);
  g_assert_true (gp == lq_explorer_window_get_panel (win, LQ_ROLE_PURIFIED));
  g_assert_cmpint (lq_image_view_get_prediction (gp, NULL), ==, -1);
  g_assert_nonnull (strstr (lq_image_view_get_placeholder (gp), "not installed"));
  g_assert_nonnull (strstr (lq_image_view_get_placeholder (gp), "lq train defensegan\n--data mnist"));
  g_assert_nonnull (strstr (lq_image_view_get_footer (gp), "data/"));
  const LqExplorerJob *g = lq_explorer_window_get_gan_result (win);
  g_assert_nonnull (g);
  g_assert_false (g->has_gan);
  g_assert_true (g->gan_missing);
  const char *err = lq_explorer_window_get_error (win);
  g_assert_nonnull (err);
  g_assert_nonnull (strstr (err, "not installed"));
  g_assert_nonnull (strstr (err, "lq train defensegan --data mnist"));
  g_assert_nonnull (strstr (err, "data/"));
  g_assert_nonnull (strstr (lq_explorer_window_get_timing_text (win), "not installed"));

  /* Both: four panels, LQ-VAE's still equal to what the core computes. */
  activate (win, "purifier", g_variant_new_string ("both"));
  g_assert_true (wait_idle (win, 30));
  g_assert_cmpint (n_visible_panels (win), ==, 4);
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  g_assert_nonnull (r);
  g_autoptr (GError) error = NULL;
  g_autoptr (LqClassifier) clf = lq_classifier_load_shipped (LQ_DATA_MNIST, LQ_ARCH_A, &error);
  g_autoptr (LqVae) vae = lq_vae_load_shipped (LQ_DATA_MNIST, &error);
  g_assert_no_error (error);
  float pur[784], probs[10];
  guint8 pred;
  lq_vae_purify (vae, r->adv, 1, pur, NULL);
  lq_classifier_predict (clf, pur, 1, probs, &pred);
  g_assert_cmpint (lq_image_view_get_prediction (lq_explorer_window_get_panel (win, LQ_ROLE_PURIFIED), NULL), ==, pred);
  g_assert_cmpint (lq_image_view_get_prediction (lq_explorer_window_get_gan_panel (win), NULL), ==, -1);
  g_assert_nonnull (strstr (lq_explorer_window_get_error (win), "lq train defensegan"));

  /* Back to LQ-VAE alone: the message goes, three panels. */
  activate (win, "purifier", g_variant_new_string ("lqvae"));
  g_assert_true (wait_idle (win, 30));
  g_assert_null (lq_explorer_window_get_error (win));
  g_assert_cmpint (n_visible_panels (win), ==, 3);
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_toy_generator (void)
{
  NEED_WEIGHTS ();
  LqExplorerWindow *win = new_window ();
  lq_explorer_window_set_gan_file (win, toy_path);
  LqGanSearch search = small_search ();
  lq_explorer_window_set_gan_search (win, &search);
  g_assert_true (wait_idle (win, 30));
  /* The UI's default is the reference search; only this window was given a small one. */
  LqExplorerWindow *other = new_window ();
  g_assert_cmpint (lq_explorer_window_get_gan_search (other).steps, ==, 200);
  g_assert_cmpint (lq_explorer_window_get_gan_search (other).restarts, ==, 10);
  gtk_window_destroy (GTK_WINDOW (other));

  activate (win, "purifier", g_variant_new_string ("both"));
  g_assert_true (wait_idle (win, 30));
  g_assert_cmpint (n_visible_panels (win), ==, 4);
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  const LqExplorerJob *g = lq_explorer_window_get_gan_result (win);
  g_assert_nonnull (r);
  g_assert_nonnull (g);
  g_assert_true (g->has_gan);
  g_assert_null (lq_explorer_window_get_error (win));

  /* The panel's image is the core's search on the same adversarial image, same settings. */
  g_autoptr (GError) error = NULL;
  g_autoptr (LqGan) gan = lq_gan_load (toy_path, &error);
  g_assert_no_error (error);
  float out[784];
  g_assert_true (lq_defensegan_purify (gan, &search, r->adv, 1, out, NULL, NULL, &error));
  float maxdiff = 0;
  for (int i = 0; i < 784; i++)
    maxdiff = MAX (maxdiff, fabsf (out[i] - g->purified[i]));
  g_assert_cmpfloat (maxdiff, <, 1e-5);
  /* Its prediction is the classifier's on that image. */
  g_autoptr (LqClassifier) clf = lq_classifier_load_shipped (LQ_DATA_MNIST, LQ_ARCH_A, &error);
  g_assert_no_error (error);
  float probs[10];
  guint8 pred;
  lq_classifier_predict (clf, out, 1, probs, &pred);
  LqImageView *gp = lq_explorer_window_get_gan_panel (win);
  g_assert_true (gp != lq_explorer_window_get_panel (win, LQ_ROLE_PURIFIED));
  g_assert_cmpint (lq_image_view_get_prediction (gp, NULL), ==, pred);
  g_assert_cmpint (argmax10 (g->probs[2]), ==, pred);
  g_assert_null (lq_image_view_get_placeholder (gp));
  g_assert_nonnull (strstr (lq_image_view_get_footer (gp), " ms"));  /* its time, under it */
  g_assert_nonnull (strstr (lq_image_view_get_footer (lq_explorer_window_get_panel (win, LQ_ROLE_PURIFIED)), " ms"));
  g_assert_cmpint (panel_image_diff (gp, g->purified), <=, 1);  /* drawn, crisp */
  /* Both times, and their ratio in the status bar. */
  g_assert_cmpfloat (r->ms_purify, >, 0);
  g_assert_cmpfloat (g->ms_purify, >, 0);
  const char *timing = lq_explorer_window_get_timing_text (win);
  g_test_message ("%s", timing);
  g_assert_nonnull (strstr (timing, "LQ-VAE "));
  g_assert_nonnull (strstr (timing, "Defense-GAN "));
  g_assert_nonnull (strstr (timing, "(1 : "));

  /* Defense-GAN in LQ-VAE's place: the same result, no new search. */
  activate (win, "purifier", g_variant_new_string ("defensegan"));
  g_assert_false (lq_explorer_window_is_busy (win, FALSE));
  g_assert_cmpint (n_visible_panels (win), ==, 3);
  gp = lq_explorer_window_get_gan_panel (win);
  g_assert_true (gp == lq_explorer_window_get_panel (win, LQ_ROLE_PURIFIED));
  g_assert_cmpint (lq_image_view_get_prediction (gp, NULL), ==, pred);

  /* The comparison export carries the panels on screen (four with "both"). */
  activate (win, "purifier", g_variant_new_string ("both"));
  g_autoptr (GdkTexture) cmp = lq_explorer_window_render_comparison (win);
  g_assert_cmpint (gdk_texture_get_width (cmp), ==, 4 * 320);
  gtk_window_destroy (GTK_WINDOW (win));
}

static gboolean
gan_searching (LqExplorerWindow *win)
{
  return lq_explorer_worker_is_busy (lq_explorer_window_get_worker (win), LQ_JOB_GAN_PURIFY);
}

static void
test_cancel_and_newer_request (void)
{
  NEED_WEIGHTS ();
  LqExplorerWindow *win = new_window ();
  lq_explorer_window_set_gan_file (win, toy_path);
  LqGanSearch slow = lq_gan_search_defaults ();
  slow.steps = 100000;  /* long enough to be caught running */
  slow.restarts = 100;
  lq_explorer_window_set_gan_search (win, &slow);
  g_assert_true (wait_idle (win, 30));
  LqExplorerWorker *worker = lq_explorer_window_get_worker (win);

  /* Cancel during the search: it stops, and nothing it computed is drawn. */
  activate (win, "purifier", g_variant_new_string ("both"));
  g_assert_true (wait_for (win, gan_searching, 10));
  lq_test_spin (0.3);
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (win), "cancel"));
  g_assert_nonnull (strstr (lq_image_view_get_placeholder (lq_explorer_window_get_gan_panel (win)), "searching"));
  guint dropped0 = lq_explorer_worker_get_n_dropped (worker);
  activate (win, "cancel", NULL);
  g_assert_false (lq_explorer_worker_is_busy (worker, LQ_JOB_GAN_PURIFY));
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (lq_explorer_worker_get_n_running (worker) > 0 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  lq_test_spin (0.3);
  g_assert_cmpuint (lq_explorer_worker_get_n_dropped (worker), >, dropped0);
  g_assert_null (lq_explorer_window_get_gan_result (win));
  g_assert_cmpint (lq_image_view_get_prediction (lq_explorer_window_get_gan_panel (win), NULL), ==, -1);
  g_assert_cmpstr (lq_image_view_get_placeholder (lq_explorer_window_get_gan_panel (win)), ==, "cancelled");
  g_assert_null (strstr (lq_explorer_window_get_timing_text (win), "(1 : "));
  /* LQ-VAE's panel is untouched. */
  g_assert_cmpint (lq_image_view_get_prediction (lq_explorer_window_get_panel (win, LQ_ROLE_PURIFIED), NULL), >=, 0);

  /* Choosing it again restarts it; a slider move cancels it and searches the new image. */
  activate (win, "purifier", g_variant_new_string ("both"));
  g_assert_true (wait_for (win, gan_searching, 10));
  lq_explorer_window_set_eps (win, 0.25);
  g_assert_false (lq_explorer_worker_is_busy (worker, LQ_JOB_GAN_PURIFY));
  /* A drag: each frame's search is cancelled by the next frame; the LQ-VAE panel keeps up. */
  for (int i = 0; i < 50; i++)
    {
      lq_explorer_window_set_eps (win, 0.1 + 0.002 * i);
      for (int k = 0; k < 3; k++)
        g_main_context_iteration (NULL, FALSE);
    }
  lq_explorer_window_set_eps (win, 0.2);
  LqGanSearch search = small_search ();
  lq_explorer_window_set_gan_search (win, &search);
  g_assert_true (wait_idle (win, 30));
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  const LqExplorerJob *g = lq_explorer_window_get_gan_result (win);
  g_assert_cmpfloat (fabsf (r->params.eps - 0.2f), <, 1e-6);
  g_assert_nonnull (g);
  g_assert_true (g->has_gan);
  g_assert_cmpint (g->search.steps, ==, 5);
  g_assert_cmpint (lq_image_view_get_prediction (lq_explorer_window_get_gan_panel (win), NULL), ==,
                   argmax10 (g->probs[2]));
  gtk_window_destroy (GTK_WINDOW (win));
}

/* ------------------------------------------------------------------ the toy generator */

/* The tiny config trained for a few steps on the bundled MNIST samples through the core API. */
static void
make_toy_generator (void)
{
  g_autoptr (LqExplorerSamples) s = lq_explorer_samples_load_bundled (LQ_DATA_MNIST, NULL);
  g_assert_nonnull (s);
  LqDataset ds = { .kind = LQ_DATA_MNIST, .split = LQ_SPLIT_TRAIN, .n = s->n };
  ds.images = lq_floats_new ((size_t) s->n * LQ_IMAGE_SIZE);
  ds.labels = (guint8 *) s->labels;
  memcpy (ds.images, s->images, sizeof (float) * s->n * LQ_IMAGE_SIZE);
  LqGanTrainConfig cfg = lq_gan_train_config_default (LQ_DATA_MNIST);
  g_assert_true (lq_gan_config_from_name ("tiny", &cfg.gan, NULL));
  cfg.batch = 16;
  cfg.seed = 3;
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_gan_train_config_check (&cfg, &error));
  g_autoptr (LqGanTrainer) t = lq_gan_trainer_new (&cfg, &ds);
  g_assert_true (lq_train_gan (t, 3, NULL, 0, NULL, NULL, &error));
  g_assert_no_error (error);
  toy_dir = g_dir_make_tmp ("lq-explorer-gan-XXXXXX", NULL);
  toy_path = g_build_filename (toy_dir, "mnist-toy-defensegan.safetensors", NULL);
  g_assert_true (lq_gan_save (lq_gan_trainer_gan (t), toy_path, NULL, NULL, NULL, LQ_DTYPE_F32, &error));
  g_assert_no_error (error);
  lq_floats_free (ds.images);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  make_toy_generator ();
  app = lq_test_app_new ();

  g_test_add_func ("/explorer-gan/not-installed", test_not_installed);
  g_test_add_func ("/explorer-gan/toy-generator", test_toy_generator);
  g_test_add_func ("/explorer-gan/cancel-and-newer-request", test_cancel_and_newer_request);
  int status = g_test_run ();
  lq_test_app_free (app);
  g_unlink (toy_path);
  g_rmdir (toy_dir);
  g_free (toy_path);
  g_free (toy_dir);
  return status;
}

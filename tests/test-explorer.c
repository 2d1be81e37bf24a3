/* test-explorer.c: the explorer driven as a user would, under Xvfb: the window is built, a sample
 * loaded, FGSM, CW (live) and DeepFool run through the actions, and what the panels show is
 * compared with what the core computes on its own; the views drew; a latent bit is flipped; a bad
 * file opened; the slider dragged 200 times; the window closed and finalized.
 * Model-dependent tests are skipped (not failed) when the trained weights are not installed. */
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include "lq-explorer-application.h"
#include "lq-explorer-render.h"
#include "lq-explorer-window.h"
#include "lq-gemm.h"
#include "lq-gui-test-util.h"

static GtkApplication *app;

/* When the last wait_idle saw the window become idle: latencies are measured to this moment,
 * not to the end of the settling frames that follow it. */
static gint64 idle_at;

/* Runs the main loop until the window has nothing pending, then 0.1 s of frames for the views;
 * FALSE on timeout. */
static gboolean
wait_idle (LqExplorerWindow *win, gboolean background, double timeout_s)
{
  return lq_test_wait_idle (win, background, timeout_s, 0.1, &idle_at);
}

static gboolean
strict_timing (void)
{
  return g_strcmp0 (g_getenv ("LQ_TEST_STRICT_TIMING"), "1") == 0;
}

static gboolean
have_weights (LqDataKind data)
{
  g_autoptr (GError) e1 = NULL, e2 = NULL;
  g_autofree char *a = g_strdup_printf ("%s-A.safetensors", lq_data_kind_name (data));
  g_autofree char *v = g_strdup_printf ("%s-lqvae.safetensors", lq_data_kind_name (data));
  g_autofree char *pa = lq_weights_path (a, &e1);
  g_autofree char *pv = lq_weights_path (v, &e2);
  return pa && pv;
}

#define NEED_WEIGHTS(d)                                                            \
  if (!have_weights (d))                                                           \
    {                                                                              \
      g_test_skip ("trained weights for " #d " are not installed");               \
      return;                                                                      \
    }

static LqExplorerWindow *
new_window (void)
{
  /* A small background histogram: the default (200) is checked once, in the default view. */
  gboolean default_view = g_str_equal (g_test_get_path (), "/explorer/default-view");
  return lq_test_new_window (app, default_view ? 200 : 20);
}

/* What the core says, computed here without the explorer's worker. */
typedef struct {
  int pred[3];   /* original, adversarial, purified */
  float adv[784];
  float mu_adv[64];
} Expect;

static void
core_expect (LqDataKind data, LqArch arch, LqExplorerAttack attack, const LqAttackParams *p,
             const float *x, int label, int target, Expect *e)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LqClassifier) clf = lq_classifier_load_shipped (data, arch, &error);
  g_assert_no_error (error);
  g_autoptr (LqVae) vae = lq_vae_load_shipped (data, &error);
  g_assert_no_error (error);
  float probs[10];
  guint8 pred;
  lq_classifier_predict (clf, x, 1, probs, &pred);
  e->pred[0] = pred;
  guint8 lab = p->targeted ? (guint8) target : (guint8) (label >= 0 ? label : pred);
  LqTarget *t = attack == LQ_EXPLORER_ATTACK_BPDA ? lq_target_new_bpda (clf->net, vae, LQ_BPDA_SOFT)
                                                 : lq_target_new_classifier (clf->net);
  g_assert_true (lq_attack_run (p, t, x, &lab, 1, e->adv, NULL, NULL, &error));
  g_assert_no_error (error);
  lq_target_free (t);
  lq_classifier_predict (clf, e->adv, 1, probs, &pred);
  e->pred[1] = pred;
  float pur[784];
  lq_vae_purify (vae, e->adv, 1, pur, e->mu_adv);
  lq_classifier_predict (clf, pur, 1, probs, &pred);
  e->pred[2] = pred;
}

static void
assert_panels_match_core (LqExplorerWindow *win)
{
  int label;
  const float *x = lq_explorer_window_get_image (win, &label);
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  g_assert_nonnull (r);
  LqAttackParams p = lq_explorer_window_get_params (win);
  Expect e;
  core_expect (lq_explorer_window_get_data (win), lq_explorer_window_get_model (win),
               lq_explorer_window_get_attack (win), &p, x, label, 0, &e);
  for (int role = 0; role < 3; role++)
    g_assert_cmpint (lq_image_view_get_prediction (lq_explorer_window_get_panel (win, role), NULL), ==, e.pred[role]);
  float maxdiff = 0;
  for (int i = 0; i < 784; i++)
    maxdiff = MAX (maxdiff, fabsf (r->adv[i] - e.adv[i]));
  g_assert_cmpfloat (maxdiff, <, 1e-4);
}

/* Fraction of pixels of a widget, as rendered, that differ from its top-left pixel. */
static double
ink_fraction (GtkWidget *w, int x0, int y0, int x1, int y1)
{
  int tw, th;
  g_autofree guint32 *px = lq_test_render_pixels (w, &tw, &th);
  x1 = x1 < 0 ? tw : MIN (x1, tw);
  y1 = y1 < 0 ? th : MIN (y1, th);
  guint32 bg = px[0];
  int n = 0, diff = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++, n++)
      diff += px[(gsize) y * tw + x] != bg;
  return n ? (double) diff / n : 0;
}

static void
activate (LqExplorerWindow *win, const char *action, GVariant *param)
{
  g_action_group_activate_action (G_ACTION_GROUP (win), action, param);
}

/* ------------------------------------------------------------------ tests */

static void
test_default_view (void)
{
  gint64 t0 = g_get_monotonic_time ();
  LqExplorerWindow *win = new_window ();
  g_assert_cmpint (lq_explorer_window_get_data (win), ==, LQ_DATA_MNIST);
  g_assert_cmpint (lq_explorer_window_get_model (win), ==, LQ_ARCH_A);
  g_assert_cmpint (lq_explorer_window_get_attack (win), ==, LQ_EXPLORER_ATTACK_FGSM);
  g_assert_cmpfloat (fabs (lq_explorer_window_get_eps (win) - 0.3), <, 1e-6);
  g_assert_true (lq_explorer_window_get_defense (win));
  g_assert_nonnull (lq_explorer_window_get_image (win, NULL));
  /* GNOME conventions: the shortcuts window, About and Quit are actions with accelerators. */
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (win), "show-help-overlay"));
  g_assert_nonnull (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (win)));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "about"));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "quit"));
  g_auto (GStrv) accels = gtk_application_get_accels_for_action (app, "win.open");
  g_assert_cmpstr (accels[0], ==, "<Control>o");
  /* The shortcuts window and the About dialog open without a warning (fatal here). */
  activate (win, "show-help-overlay", NULL);
  lq_test_spin (0.2);
  GtkWidget *overlay = GTK_WIDGET (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (win)));
  g_assert_true (gtk_widget_get_visible (overlay));
  gtk_widget_set_visible (overlay, FALSE);
  g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);
  lq_test_spin (0.2);
  GtkWidget *about = NULL;
  GListModel *tops = gtk_window_get_toplevels ();  /* transfer none */
  for (guint i = 0; i < g_list_model_get_n_items (tops); i++)
    {
      g_autoptr (GObject) w = g_list_model_get_item (tops, i);
      if (GTK_IS_ABOUT_DIALOG (w))
        about = GTK_WIDGET (w);
    }
  g_assert_nonnull (about);
  g_assert_cmpstr (gtk_about_dialog_get_program_name (GTK_ABOUT_DIALOG (about)), ==, "LQ-VAE Explorer");
  gtk_window_destroy (GTK_WINDOW (about));
  if (!have_weights (LQ_DATA_MNIST))
    {
      g_assert_true (wait_idle (win, FALSE, 20));
      /* Without weights: an inline error naming the missing file, and the original still shown. */
      g_assert_nonnull (lq_explorer_window_get_error (win));
      g_assert_nonnull (strstr (lq_explorer_window_get_error (win), "safetensors"));
      gtk_window_destroy (GTK_WINDOW (win));
      g_test_skip ("trained weights not installed");
      return;
    }
  /* The first result (models loaded, attacked, purified) comes in under a second. */
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint id = g_timeout_add (2, lq_test_tick, NULL);
  while (!lq_explorer_window_get_result (win) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  double first_ms = (g_get_monotonic_time () - t0) / 1000.0;
  g_test_message ("first frame with a result after %.0f ms", first_ms);
  g_assert_nonnull (lq_explorer_window_get_result (win));
  /* The issue asks < 1 s; that holds on an idle machine (LQ_TEST_STRICT_TIMING=1 checks it).
   * With training jobs on both cores the bound only catches work done on the UI thread. */
  g_assert_cmpfloat (first_ms, <, strict_timing () ? 1000 : 10000);
  g_assert_true (wait_idle (win, FALSE, 30));
  assert_panels_match_core (win);
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  g_assert_cmpfloat (r->linf, <=, 0.3f + 1e-5f);
  g_assert_true (r->has_vae);

  /* Every view drew: ink in the image squares, in the grid, on the map. */
  for (int role = 0; role < 3; role++)
    {
      GtkWidget *panel = GTK_WIDGET (lq_explorer_window_get_panel (win, role));
      double x, y, side;
      lq_image_view_image_rect (LQ_IMAGE_VIEW (panel), gtk_widget_get_width (panel),
                                gtk_widget_get_height (panel), &x, &y, &side);
      g_assert_cmpfloat (ink_fraction (panel, (int) x, (int) y, (int) (x + side), (int) (y + side)), >, 0.05);
      g_assert_cmpfloat (ink_fraction (panel, 0, (int) (y + side + 5), -1, -1), >, 0.01);
    }
  g_assert_cmpfloat (ink_fraction (GTK_WIDGET (lq_explorer_window_get_grid (win)), 0, 0, -1, -1), >, 0.1);
  g_assert_true (wait_idle (win, TRUE, 60));
  g_assert_cmpint (lq_latent_map_view_get_n_points (lq_explorer_window_get_map (win)), >=, 100);
  g_assert_cmpfloat (ink_fraction (GTK_WIDGET (lq_explorer_window_get_map (win)), 0, 0, -1, -1), >, 0.1);
  /* The histogram filled in the background (default 200 images, or all the bundled ones). */
  LqHistogramView *hist = lq_explorer_window_get_histogram (win);
  g_assert_cmpint (lq_histogram_view_get_done (hist), ==, MIN (200, lq_explorer_window_get_n_samples (win)));
  g_assert_cmpint (lq_histogram_view_get_current_bucket (hist), >=, 0);
  g_assert_cmpfloat (ink_fraction (GTK_WIDGET (hist), 0, 0, -1, -1), >, 0.02);
  /* The whole window renders (what --screenshot does). */
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) shot = lq_explorer_render_widget (GTK_WIDGET (win), &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (shot), >=, 1000);
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_attacks_through_actions (void)
{
  NEED_WEIGHTS (LQ_DATA_MNIST);
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, FALSE, 30));
  activate (win, "show-sample", g_variant_new_int32 (3));
  g_assert_true (wait_idle (win, FALSE, 30));
  g_assert_cmpint (lq_explorer_window_get_index (win), ==, 3);
  assert_panels_match_core (win);

  /* CW with the live preset: progress, then a result equal to the core's, in about 1.5 s. */
  gint64 t = g_get_monotonic_time ();
  activate (win, "attack", g_variant_new_string ("cw"));
  g_assert_cmpint (lq_explorer_window_get_attack (win), ==, LQ_EXPLORER_ATTACK_CW);
  g_assert_true (lq_explorer_window_is_busy (win, FALSE));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (win), "cancel"));
  g_assert_true (wait_idle (win, FALSE, 60));
  double cw_ms = (idle_at - t) / 1000.0;
  g_test_message ("CW live: %.0f ms", cw_ms);
  g_assert_cmpfloat (cw_ms, <, strict_timing () ? 1500 : 30000);
  assert_panels_match_core (win);

  /* DeepFool. */
  t = g_get_monotonic_time ();
  activate (win, "attack", g_variant_new_string ("deepfool"));
  g_assert_true (wait_idle (win, FALSE, 30));
  double df_ms = (idle_at - t) / 1000.0;
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  g_test_message ("DeepFool: %.0f ms (the job: attack %.1f, purify %.1f, classify %.1f, total %.1f ms; "
                  "%d iterations)", df_ms, r->ms_attack, r->ms_purify, r->ms_classify, r->ms_total,
                  r->iterations);
  g_assert_cmpfloat (df_ms, <, strict_timing () ? 100 : 30000);
  assert_panels_match_core (win);
  g_assert_cmpfloat (r->l2, >, 0);

  /* Heat map toggle through its action. */
  activate (win, "heatmap", NULL);
  g_assert_true (lq_explorer_window_get_heatmap (win));
  g_assert_true (lq_image_view_get_heatmap (lq_explorer_window_get_panel (win, LQ_ROLE_ADVERSARIAL)));

  /* Cancel a CW run: nothing stale is drawn afterwards, the last result stays. */
  activate (win, "attack", g_variant_new_string ("cw"));
  activate (win, "cancel", NULL);
  g_assert_false (lq_explorer_window_is_busy (win, FALSE));
  lq_test_spin (0.3);
  g_assert_cmpint (lq_explorer_window_get_result (win)->attack, ==, LQ_EXPLORER_ATTACK_DEEPFOOL);

  /* Targeted FGSM makes the request targeted. */
  activate (win, "attack", g_variant_new_string ("fgsm"));
  lq_explorer_window_set_targeted (win, TRUE, 2);
  g_assert_true (wait_idle (win, FALSE, 30));
  g_assert_true (lq_explorer_window_get_result (win)->params.targeted);
  g_assert_cmpint (lq_explorer_window_get_result (win)->target, ==, 2);
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_flip_bit (void)
{
  NEED_WEIGHTS (LQ_DATA_MNIST);
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, FALSE, 30));
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  g_assert_nonnull (r);
  /* A click on cell 7 flips bit 7 of the adversarial code. */
  g_signal_emit_by_name (lq_explorer_window_get_grid (win), "cell-activated", 7);
  g_assert_true (wait_idle (win, FALSE, 30));
  g_assert_cmpint (lq_explorer_window_get_n_edited (win), ==, 1);
  const LqExplorerJob *d = lq_explorer_window_get_decoded (win);
  g_assert_nonnull (d);
  float code[64];
  r = lq_explorer_window_get_result (win);
  for (int i = 0; i < r->latent; i++)
    code[i] = fabsf (r->mu[1][i]) < r->threshold ? 1.f : -1.f;
  g_assert_cmpfloat (code[7], ==, -d->code[7]);
  code[7] = -code[7];
  g_autoptr (GError) error = NULL;
  g_autoptr (LqVae) vae = lq_vae_load_shipped (LQ_DATA_MNIST, &error);
  g_autoptr (LqClassifier) clf = lq_classifier_load_shipped (LQ_DATA_MNIST, LQ_ARCH_A, &error);
  g_assert_no_error (error);
  float img[784], probs[10];
  guint8 pred;
  lq_vae_decode (vae, code, 1, img);
  lq_classifier_predict (clf, img, 1, probs, &pred);
  float maxdiff = 0;
  for (int i = 0; i < 784; i++)
    maxdiff = MAX (maxdiff, fabsf (img[i] - d->decoded[i]));
  g_assert_cmpfloat (maxdiff, <, 1e-4);
  g_assert_cmpint (lq_image_view_get_prediction (lq_explorer_window_get_panel (win, LQ_ROLE_PURIFIED), NULL), ==, pred);
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (win), "reset-code"));
  /* Clicking again restores the purified image. */
  g_signal_emit_by_name (lq_explorer_window_get_grid (win), "cell-activated", 7);
  g_assert_true (wait_idle (win, FALSE, 30));
  g_assert_cmpint (lq_explorer_window_get_n_edited (win), ==, 0);
  g_assert_null (lq_explorer_window_get_decoded (win));
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_bad_file (void)
{
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, FALSE, 30));
  float before[784];
  memcpy (before, lq_explorer_window_get_image (win, NULL), sizeof before);
  g_autofree char *dir = g_dir_make_tmp ("lq-explorer-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (path, "these are notes, not pixels\n", -1, NULL));
  g_autoptr (GFile) file = g_file_new_for_path (path);
  lq_explorer_window_open_file (win, file);
  g_assert_true (wait_idle (win, FALSE, 30));
  const char *err = lq_explorer_window_get_error (win);
  g_assert_nonnull (err);
  g_assert_nonnull (strstr (err, "notes.txt"));
  g_assert_nonnull (strstr (err, "not an image"));
  /* Nothing the user had is lost. */
  g_assert_cmpmem (before, sizeof before, lq_explorer_window_get_image (win, NULL), sizeof before);
  g_assert_cmpint (lq_explorer_window_get_source (win), ==, LQ_SOURCE_SAMPLE);
  /* A missing file and a folder say so too. */
  g_autofree char *missing = g_build_filename (dir, "nope.png", NULL);
  g_autoptr (GFile) f2 = g_file_new_for_path (missing);
  lq_explorer_window_open_file (win, f2);
  g_assert_true (wait_idle (win, FALSE, 30));
  g_assert_nonnull (strstr (lq_explorer_window_get_error (win), "nope.png"));
  g_autoptr (GFile) f3 = g_file_new_for_path (dir);
  lq_explorer_window_open_file (win, f3);
  g_assert_true (wait_idle (win, FALSE, 30));
  g_assert_nonnull (strstr (lq_explorer_window_get_error (win), "folder"));
  /* A real image is converted the MNIST way and becomes the input. */
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 90, 120);
  gdk_pixbuf_fill (pb, 0xffffffff);
  guint8 *px = gdk_pixbuf_get_pixels (pb);
  for (int yy = 20; yy < 100; yy++)
    for (int xx = 40; xx < 52; xx++)
      memset (px + yy * gdk_pixbuf_get_rowstride (pb) + 3 * xx, 0, 3);
  g_autofree char *png = g_build_filename (dir, "one.png", NULL);
  g_assert_true (gdk_pixbuf_save (pb, png, "png", NULL, NULL));
  g_autoptr (GFile) f4 = g_file_new_for_path (png);
  lq_explorer_window_open_file (win, f4);
  g_assert_true (wait_idle (win, FALSE, 30));
  if (have_weights (LQ_DATA_MNIST))
    g_assert_null (lq_explorer_window_get_error (win));
  else  /* only the missing weights are complained about */
    g_assert_null (strstr (lq_explorer_window_get_error (win), "one.png"));
  g_assert_cmpint (lq_explorer_window_get_source (win), ==, LQ_SOURCE_FILE);
  const float *img = lq_explorer_window_get_image (win, NULL);
  g_assert_cmpfloat (img[14 * 28 + 14], >, 0.5);  /* a vertical bar of ink in the centre */
  g_assert_cmpfloat (img[14 * 28 + 3], <, 0.1);

  /* Dropping a file on the window opens it the same way. */
  lq_explorer_window_show_sample (win, 2);
  g_assert_true (wait_idle (win, FALSE, 30));
  GtkDropTarget *drop = NULL;
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (win));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_DROP_TARGET (c))
        drop = GTK_DROP_TARGET (c);
    }
  g_assert_nonnull (drop);
  GValue value = G_VALUE_INIT;
  g_value_init (&value, G_TYPE_FILE);
  g_value_set_object (&value, f4);
  gboolean accepted = FALSE;
  g_signal_emit_by_name (drop, "drop", &value, 10.0, 10.0, &accepted);
  g_value_unset (&value);
  g_assert_true (accepted);
  g_assert_true (wait_idle (win, FALSE, 30));
  g_assert_cmpint (lq_explorer_window_get_source (win), ==, LQ_SOURCE_FILE);
  g_unlink (png);
  g_unlink (path);
  g_rmdir (dir);
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_slider_storm (void)
{
  NEED_WEIGHTS (LQ_DATA_MNIST);
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, FALSE, 30));
  GtkAdjustment *adj = lq_explorer_window_get_eps_adjustment (win);
  guint dropped0 = lq_explorer_worker_get_n_dropped (lq_explorer_window_get_worker (win));
  double last = 0;
  for (int i = 0; i < 200; i++)
    {
      last = 0.01 + 0.002 * ((i * 37) % 200);
      gtk_adjustment_set_value (adj, last);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_true (wait_idle (win, FALSE, 30));
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  g_assert_cmpfloat (fabs (lq_explorer_window_get_eps (win) - last), <, 1e-6);
  g_assert_cmpfloat (fabs (r->params.eps - last), <, 1e-6);
  g_assert_cmpfloat (r->linf, <=, last + 1e-5);
  assert_panels_match_core (win);
  guint dropped = lq_explorer_worker_get_n_dropped (lq_explorer_window_get_worker (win)) - dropped0;
  g_test_message ("200 slider moves: %u stale results dropped", dropped);
  g_assert_cmpuint (dropped, >, 0);
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_browse_and_draw (void)
{
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, FALSE, 30));
  int n = lq_explorer_window_get_n_samples (win);
  g_assert_cmpint (n, >=, 100);
  activate (win, "next", NULL);
  g_assert_cmpint (lq_explorer_window_get_index (win), ==, 1);
  activate (win, "previous", NULL);
  activate (win, "previous", NULL);
  g_assert_cmpint (lq_explorer_window_get_index (win), ==, n - 1);
  activate (win, "show-sample", g_variant_new_int32 (17));
  g_assert_cmpint (lq_explorer_window_get_index (win), ==, 17);
  lq_explorer_window_set_class_filter (win, 4);
  int label;
  lq_explorer_window_get_image (win, &label);
  g_assert_cmpint (label, ==, 4);
  for (int i = 0; i < 5; i++)
    {
      activate (win, i % 2 ? "next" : "random", NULL);
      lq_explorer_window_get_image (win, &label);
      g_assert_cmpint (label, ==, 4);
    }
  lq_explorer_window_set_class_filter (win, -1);

  /* Draw: the pad's strokes become the input, undo and clear work through their actions. */
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (win), "undo-stroke"));
  activate (win, "draw", NULL);
  g_assert_true (lq_explorer_window_get_draw_mode (win));
  LqSketchView *sketch = lq_explorer_window_get_sketch (win);
  lq_sketch_view_draw_demo (sketch);
  g_assert_cmpint (lq_explorer_window_get_source (win), ==, LQ_SOURCE_SKETCH);
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (win), "undo-stroke"));
  const float *img = lq_explorer_window_get_image (win, &label);
  g_assert_cmpint (label, ==, -1);
  double mass = 0;
  for (int i = 0; i < 784; i++)
    mass += img[i];
  g_assert_cmpfloat (mass, >, 20);
  g_assert_true (wait_idle (win, FALSE, 30));
  activate (win, "undo-stroke", NULL);
  g_assert_cmpint (lq_sketch_view_get_n_strokes (sketch), ==, 0);
  lq_sketch_view_draw_demo (sketch);
  activate (win, "clear-sketch", NULL);
  g_assert_cmpint (lq_sketch_view_get_n_strokes (sketch), ==, 0);
  g_assert_true (wait_idle (win, FALSE, 30));
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_data_switch_and_export (void)
{
  LqExplorerWindow *win = new_window ();
  g_assert_true (wait_idle (win, FALSE, 30));
  activate (win, "data", g_variant_new_string ("fmnist"));
  g_assert_cmpint (lq_explorer_window_get_data (win), ==, LQ_DATA_FMNIST);
  g_assert_true (wait_idle (win, FALSE, 30));
  if (have_weights (LQ_DATA_FMNIST))
    {
      g_assert_null (lq_explorer_window_get_error (win));
      assert_panels_match_core (win);
    }
  activate (win, "model", g_variant_new_string ("B"));
  g_assert_cmpint (lq_explorer_window_get_model (win), ==, LQ_ARCH_B);
  activate (win, "model", g_variant_new_string ("A"));
  activate (win, "data", g_variant_new_string ("mnist"));
  g_assert_true (wait_idle (win, FALSE, 30));
  if (!have_weights (LQ_DATA_MNIST))
    {
      gtk_window_destroy (GTK_WINDOW (win));
      g_test_skip ("trained weights not installed");
      return;
    }
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (win), "export-comparison"));
  g_autofree char *dir = g_dir_make_tmp ("lq-export-XXXXXX", NULL);
  g_autofree char *cmp = g_build_filename (dir, "comparison.png", NULL);
  g_autofree char *adv = g_build_filename (dir, "adversarial.png", NULL);
  g_autoptr (GFile) fc = g_file_new_for_path (cmp);
  g_autoptr (GFile) fa = g_file_new_for_path (adv);
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_explorer_window_export_comparison (win, fc, &error));
  g_assert_true (lq_explorer_window_export_adversarial (win, fa, &error));
  g_assert_no_error (error);
  g_autoptr (GdkPixbuf) pc = gdk_pixbuf_new_from_file (cmp, &error);
  g_autoptr (GdkPixbuf) pa = gdk_pixbuf_new_from_file (adv, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pc), ==, 960);
  g_assert_cmpint (gdk_pixbuf_get_width (pa), ==, 28);
  g_assert_cmpint (gdk_pixbuf_get_height (pa), ==, 28);
  /* The exported pixels are the adversarial image's, to 8 bits. */
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  const guint8 *px = gdk_pixbuf_read_pixels (pa);
  int rs = gdk_pixbuf_get_rowstride (pa), nc = gdk_pixbuf_get_n_channels (pa);
  for (int i = 0; i < 784; i += 13)
    g_assert_cmpint (abs (px[(i / 28) * rs + (i % 28) * nc] - (int) lroundf (r->adv[i] * 255)), <=, 1);
  activate (win, "copy", NULL);
  g_unlink (cmp);
  g_unlink (adv);
  g_rmdir (dir);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* The per-frame cost of the live slider: FGSM + purify + three classifications on one image. */
static void
test_live_latency (void)
{
  NEED_WEIGHTS (LQ_DATA_MNIST);
  g_autoptr (LqExplorerWorker) worker = lq_explorer_worker_new ();
  g_autoptr (LqExplorerSamples) s = lq_explorer_samples_load_bundled (LQ_DATA_MNIST, NULL);
  double total[40], parts[3] = { 0 };
  int n = 0;
  for (int i = 0; i < 45; i++)
    {
      g_autoptr (LqExplorerJob) job = lq_explorer_job_new (LQ_JOB_ANALYZE);
      job->defense = TRUE;
      job->label = s->labels[i % s->n];
      job->params.eps = 0.1f + 0.005f * i;
      memcpy (job->image, s->images + (gsize) (i % s->n) * 784, sizeof job->image);
      g_autoptr (GError) error = NULL;
      g_assert_true (lq_explorer_worker_run_sync (worker, job, NULL, &error));
      if (i >= 5)  /* the first runs load the models */
        {
          total[n++] = job->ms_total;
          parts[0] += job->ms_attack / 40;
          parts[1] += job->ms_purify / 40;
          parts[2] += job->ms_classify / 40;
        }
    }
  /* Median, robust to a training job stealing a core now and then. */
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (total[j] < total[i])
        {
          double t = total[i];
          total[i] = total[j];
          total[j] = t;
        }
  g_test_message ("FGSM live frame (attack + purify + 3 classifications): median %.2f ms, min %.2f, max %.2f",
                  total[n / 2], total[0], total[n - 1]);
  g_print ("# FGSM frame: median %.2f ms (min %.2f, max %.2f); mean attack %.2f, purify %.2f, classify %.2f ms\n",
           total[n / 2], total[0], total[n - 1], parts[0], parts[1], parts[2]);
  g_assert_cmpfloat (total[n / 2], <=, strict_timing () ? 16.0 : 250.0);
}

static void
test_finalize (void)
{
  LqExplorerWindow *win = new_window ();
  gpointer weak = win;
  g_object_add_weak_pointer (G_OBJECT (win), &weak);
  /* Close it while work is in flight: the worker's late results must not touch it. */
  lq_explorer_window_set_eps (win, 0.2);
  gtk_window_close (GTK_WINDOW (win));
  lq_test_spin (0.05);
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (weak && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (weak);
  lq_test_spin (0.5);  /* late results arrive and are dropped */
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  app = lq_test_app_new ();

  g_test_add_func ("/explorer/default-view", test_default_view);
  g_test_add_func ("/explorer/attacks-through-actions", test_attacks_through_actions);
  g_test_add_func ("/explorer/flip-bit", test_flip_bit);
  g_test_add_func ("/explorer/bad-file", test_bad_file);
  g_test_add_func ("/explorer/slider-storm", test_slider_storm);
  g_test_add_func ("/explorer/browse-and-draw", test_browse_and_draw);
  g_test_add_func ("/explorer/data-switch-and-export", test_data_switch_and_export);
  g_test_add_func ("/explorer/live-latency", test_live_latency);
  g_test_add_func ("/explorer/finalize", test_finalize);
  int status = g_test_run ();
  lq_test_app_free (app);
  return status;
}

/* lq-gui-test-util.h: what the explorer's GUI test programs share — running the main loop until
 * the window is idle, the application their windows belong to, and a widget's rendered pixels
 * (header-only: each test is its own executable). */
#pragma once
#include <gtk/gtk.h>
#include "lq-explorer-application.h"
#include "lq-explorer-render.h"
#include "lq-explorer-window.h"
#include "lq-gemm.h"

/* A timeout that keeps g_main_context_iteration () from sleeping longer than 5 ms. */
static inline gboolean
lq_test_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static inline void
lq_test_spin (double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  guint id = g_timeout_add (5, lq_test_tick, NULL);
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
}

/* Runs the main loop until the window has nothing pending (background work too when asked),
 * then lets the views draw for settle_s; FALSE on timeout. *idle_at (may be NULL) receives the
 * moment it became idle, before the settling frames. */
static inline gboolean
lq_test_wait_idle (LqExplorerWindow *win, gboolean background, double timeout_s, double settle_s,
                   gint64 *idle_at)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  guint id = g_timeout_add (5, lq_test_tick, NULL);
  while (lq_explorer_window_is_busy (win, background) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  if (idle_at)
    *idle_at = g_get_monotonic_time ();
  lq_test_spin (settle_s);
  return !lq_explorer_window_is_busy (win, background);
}

/* A 1280×800 window, presented, with histogram_size images in its background histogram. */
static inline LqExplorerWindow *
lq_test_new_window (GtkApplication *app, int histogram_size)
{
  LqExplorerWindow *win = lq_explorer_window_new (app);
  lq_explorer_window_set_histogram_size (win, histogram_size);
  gtk_window_set_default_size (GTK_WINDOW (win), 1280, 800);
  gtk_window_present (GTK_WINDOW (win));
  return win;
}

static inline void
lq_test_on_activate (GApplication *a)
{
}

/* The registered, held explorer application the test windows are made in (one BLAS thread, as
 * the explorer's workers use). */
static inline GtkApplication *
lq_test_app_new (void)
{
  lq_gemm_set_threads (1);
  GtkApplication *app = GTK_APPLICATION (lq_explorer_application_new ());
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_signal_connect (app, "activate", G_CALLBACK (lq_test_on_activate), NULL);
  g_autoptr (GError) error = NULL;
  if (!g_application_register (G_APPLICATION (app), NULL, &error))
    g_error ("%s", error->message);
  g_application_hold (G_APPLICATION (app));
  return app;
}

static inline void
lq_test_app_free (GtkApplication *app)
{
  g_application_release (G_APPLICATION (app));
  g_object_unref (app);
}

/* A widget as rendered, as 32-bit pixels (row-major, *w × *h; free with g_free). */
static inline guint32 *
lq_test_render_pixels (GtkWidget *widget, int *w, int *h)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) t = lq_explorer_render_widget (widget, &error);
  g_assert_no_error (error);
  *w = gdk_texture_get_width (t), *h = gdk_texture_get_height (t);
  guint32 *px = g_new (guint32, (gsize) *w * *h);
  gdk_texture_download (t, (guint8 *) px, (gsize) *w * 4);
  return px;
}

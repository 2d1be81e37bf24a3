/* lq-explorer-application.c */
#include "lq-explorer-application.h"
#include "lq-explorer-actions.h"
#include "lq-explorer-render.h"
#include "lq-explorer-window.h"
#include "lq-gemm.h"

#ifndef LQ_EXPLORER_VERSION
#define LQ_EXPLORER_VERSION "0"
#endif

#define SCREENSHOT_TIMEOUT_S 300

struct _LqExplorerApplication {
  GtkApplication parent_instance;
  /* options */
  char *screenshot, *data, *model, *attack, *open, *purifier, *gan_file;
  int index, histogram_size;
  double eps;
  gboolean heatmap, draw_demo, histogram, dark, no_defense;
  /* screenshot mode */
  LqExplorerWindow *shot_window;
  guint shot_poll;
  gint64 shot_start;
  int shot_frames, exit_status;
};

G_DEFINE_FINAL_TYPE (LqExplorerApplication, lq_explorer_application, GTK_TYPE_APPLICATION)

/* ------------------------------------------------------------------ style */

static GtkCssProvider *dark_provider;
static gboolean forced_dark;

static gboolean
want_dark (void)
{
  if (forced_dark)
    return TRUE;
  GtkSettings *s = gtk_settings_get_default ();
  gboolean prefer = FALSE;
  g_autofree char *theme = NULL;
  g_object_get (s, "gtk-application-prefer-dark-theme", &prefer, "gtk-theme-name", &theme, NULL);
  return prefer || (theme && (g_str_has_suffix (theme, "-dark") || g_str_has_suffix (theme, ":dark")));
}

static void
apply_dark (void)
{
  GdkDisplay *display = gdk_display_get_default ();
  if (!display || !dark_provider)
    return;
  gtk_style_context_remove_provider_for_display (display, GTK_STYLE_PROVIDER (dark_provider));
  if (want_dark ())
    gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (dark_provider),
                                                GTK_STYLE_PROVIDER_PRIORITY_APPLICATION + 1);
}

static void
on_settings_changed (GtkSettings *s, GParamSpec *pspec, gpointer data)
{
  apply_dark ();
}

static void
on_color_scheme_changed (GSettings *gs, const char *key, gpointer data)
{
  g_autofree char *scheme = g_settings_get_string (gs, "color-scheme");
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme",
                g_strcmp0 (scheme, "prefer-dark") == 0, NULL);
}

void
lq_explorer_application_load_style (gboolean force_dark)
{
  GdkDisplay *display = gdk_display_get_default ();
  if (!display)
    return;
  forced_dark = force_dark;
  if (!dark_provider)
    {
      GtkCssProvider *base = gtk_css_provider_new ();
      gtk_css_provider_load_from_resource (base, "/org/lqvae/Explorer/style.css");
      gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (base),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
      g_object_unref (base);
      dark_provider = gtk_css_provider_new ();
      gtk_css_provider_load_from_resource (dark_provider, "/org/lqvae/Explorer/style-dark.css");
      GtkSettings *s = gtk_settings_get_default ();
      g_signal_connect (s, "notify::gtk-application-prefer-dark-theme", G_CALLBACK (on_settings_changed), NULL);
      g_signal_connect (s, "notify::gtk-theme-name", G_CALLBACK (on_settings_changed), NULL);
    }
  if (force_dark)
    g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
  apply_dark ();
}

/* Plain GTK 4.8 does not read the desktop's dark preference: follow GNOME's setting. */
static void
follow_system_scheme (LqExplorerApplication *self)
{
  GSettingsSchemaSource *src = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = src ? g_settings_schema_source_lookup (src, "org.gnome.desktop.interface", TRUE) : NULL;
  if (!schema || !g_settings_schema_has_key (schema, "color-scheme") || self->screenshot)
    return;
  GSettings *gs = g_settings_new ("org.gnome.desktop.interface");
  g_signal_connect (gs, "changed::color-scheme", G_CALLBACK (on_color_scheme_changed), NULL);
  on_color_scheme_changed (gs, "color-scheme", NULL);
  g_object_set_data_full (G_OBJECT (self), "interface-settings", gs, g_object_unref);
}

/* ------------------------------------------------------------------ app actions */

static void
act_about (GSimpleAction *a, GVariant *p, gpointer app)
{
  static const char *authors[] = { "The LQ-VAE Explorer developers", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (app));
  gtk_show_about_dialog (parent,
                         "program-name", "LQ-VAE Explorer",
                         "logo-icon-name", LQ_EXPLORER_APP_ID,
                         "version", LQ_EXPLORER_VERSION,
                         "comments", "See an adversarial attack and what LQ-VAE undoes: pick or draw "
                                     "an image, drag the attack strength, and watch the adversarial "
                                     "and purified images, the classifier's beliefs and the latent "
                                     "bits that flipped.",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "authors", authors,
                         NULL);
}

static void
act_quit (GSimpleAction *a, GVariant *p, gpointer app)
{
  GList *windows;
  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))))
    gtk_window_destroy (windows->data);
  g_application_quit (G_APPLICATION (app));
}

static const GActionEntry app_entries[] = {
  { "about", act_about },
  { "quit", act_quit },
};

/* ------------------------------------------------------------------ screenshot mode */

static gboolean
shot_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  LqExplorerApplication *self = data;
  /* Two frames after the work is done: the views have drawn the final state. */
  if (++self->shot_frames < 3)
    return G_SOURCE_CONTINUE;
  g_autoptr (GError) error = NULL;
  if (!lq_explorer_render_widget_to_png (widget, self->screenshot, &error))
    {
      g_printerr ("lq-explorer: screenshot failed: %s\n", error->message);
      self->exit_status = 1;
    }
  else
    g_print ("%s\n", self->screenshot);
  gtk_window_destroy (GTK_WINDOW (widget));
  return G_SOURCE_REMOVE;
}

static gboolean
shot_poll (gpointer data)
{
  LqExplorerApplication *self = data;
  LqExplorerWindow *win = self->shot_window;
  gboolean timed_out = g_get_monotonic_time () - self->shot_start > (gint64) SCREENSHOT_TIMEOUT_S * G_USEC_PER_SEC;
  if (!timed_out && (lq_explorer_window_is_busy (win, TRUE) || !gtk_widget_get_mapped (GTK_WIDGET (win))))
    return G_SOURCE_CONTINUE;
  if (timed_out)
    {
      g_printerr ("lq-explorer: work not done after %d s; rendering what there is\n", SCREENSHOT_TIMEOUT_S);
      self->exit_status = 2;
    }
  self->shot_poll = 0;
  self->shot_frames = 0;
  gtk_widget_queue_draw (GTK_WIDGET (win));
  gtk_widget_add_tick_callback (GTK_WIDGET (win), shot_tick, self, NULL);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ options and lifetime */

static void
apply_options (LqExplorerApplication *self, LqExplorerWindow *win)
{
  if (self->data)
    {
      LqDataKind d;
      if (lq_data_kind_from_string (self->data, &d, NULL))
        lq_explorer_window_set_data (win, d);
      else
        g_printerr ("lq-explorer: unknown data set “%s” (mnist or fmnist)\n", self->data);
    }
  if (self->model)
    {
      LqArch arch;
      if (lq_arch_from_string (self->model, &arch, NULL))
        lq_explorer_window_set_model (win, arch);
      else
        g_printerr ("lq-explorer: unknown classifier “%s” (A, B or C)\n", self->model);
    }
  if (self->attack)
    {
      LqExplorerAttack a;
      if (lq_explorer_attack_from_id (self->attack, &a))
        lq_explorer_window_set_attack (win, a);
      else
        g_printerr ("lq-explorer: unknown attack “%s” (fgsm, bim, pgd, deepfool, cw, bpda)\n", self->attack);
    }
  if (self->eps >= 0)
    lq_explorer_window_set_eps (win, self->eps);
  /* The file before the choice, so the first search already uses it. */
  if (self->gan_file)
    lq_explorer_window_set_gan_file (win, self->gan_file);
  if (self->purifier)
    {
      LqExplorerPurifier p;
      if (lq_explorer_purifier_from_id (self->purifier, &p))
        lq_explorer_window_set_purifier (win, p);
      else
        g_printerr ("lq-explorer: unknown purifier “%s” (lqvae, defensegan or both)\n", self->purifier);
    }
  if (self->no_defense)
    lq_explorer_window_set_defense (win, FALSE);
  if (self->index >= 0)
    lq_explorer_window_show_sample (win, self->index);
  if (self->heatmap)
    lq_explorer_window_set_heatmap (win, TRUE);
  if (self->draw_demo)
    {
      lq_explorer_window_set_draw_mode (win, TRUE);
      lq_sketch_view_draw_demo (lq_explorer_window_get_sketch (win));
    }
  if (self->open)
    {
      g_autoptr (GFile) f = g_file_new_for_commandline_arg (self->open);
      lq_explorer_window_open_file (win, f);
    }
  if (self->histogram_size > 0)
    lq_explorer_window_set_histogram_size (win, self->histogram_size);
  if (self->histogram)
    lq_explorer_window_compute_histogram (win);
}

static void
lq_explorer_application_activate (GApplication *app)
{
  LqExplorerApplication *self = LQ_EXPLORER_APPLICATION (app);
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (!win)
    {
      win = GTK_WINDOW (lq_explorer_window_new (GTK_APPLICATION (app)));
      apply_options (self, LQ_EXPLORER_WINDOW (win));
      if (self->screenshot)
        {
          self->shot_window = LQ_EXPLORER_WINDOW (win);
          self->shot_start = g_get_monotonic_time ();
          self->shot_poll = g_timeout_add (50, shot_poll, self);
        }
    }
  gtk_window_present (win);
}

static void
lq_explorer_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  lq_explorer_application_activate (app);
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (n_files > 0 && win)
    lq_explorer_window_open_file (LQ_EXPLORER_WINDOW (win), files[0]);
}

static void
lq_explorer_application_startup (GApplication *app)
{
  LqExplorerApplication *self = LQ_EXPLORER_APPLICATION (app);
  G_APPLICATION_CLASS (lq_explorer_application_parent_class)->startup (app);
  /* Each worker thread runs batch-1 work on one engine thread; two workers share two cores. */
  lq_gemm_set_threads (1);
  g_action_map_add_action_entries (G_ACTION_MAP (app), app_entries, G_N_ELEMENTS (app_entries), app);
  lq_explorer_actions_set_accels (GTK_APPLICATION (app));
  follow_system_scheme (self);
  lq_explorer_application_load_style (self->dark);
}

static int
lq_explorer_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  LqExplorerApplication *self = LQ_EXPLORER_APPLICATION (app);
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("lq-explorer %s\n", LQ_EXPLORER_VERSION);
      return 0;
    }
  if (self->screenshot)
    g_application_set_flags (app, g_application_get_flags (app) | G_APPLICATION_NON_UNIQUE);
  return -1;
}

static void
lq_explorer_application_finalize (GObject *object)
{
  LqExplorerApplication *self = LQ_EXPLORER_APPLICATION (object);
  g_clear_handle_id (&self->shot_poll, g_source_remove);
  g_free (self->screenshot);
  g_free (self->data);
  g_free (self->model);
  g_free (self->attack);
  g_free (self->open);
  g_free (self->purifier);
  g_free (self->gan_file);
  G_OBJECT_CLASS (lq_explorer_application_parent_class)->finalize (object);
}

int
lq_explorer_application_get_exit_status (LqExplorerApplication *self)
{
  return self->exit_status;
}

static void
lq_explorer_application_class_init (LqExplorerApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);
  object_class->finalize = lq_explorer_application_finalize;
  app_class->activate = lq_explorer_application_activate;
  app_class->open = lq_explorer_application_open;
  app_class->startup = lq_explorer_application_startup;
  app_class->handle_local_options = lq_explorer_application_handle_local_options;
}

static void
lq_explorer_application_init (LqExplorerApplication *self)
{
  self->index = -1;
  self->eps = -1;
  const GOptionEntry entries[] = {
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &self->screenshot,
      "Render the window to a PNG once its work is done, and exit", "FILE" },
    { "data", 0, 0, G_OPTION_ARG_STRING, &self->data, "Data set: mnist or fmnist", "SET" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &self->model, "Classifier: A, B or C", "ARCH" },
    { "attack", 0, 0, G_OPTION_ARG_STRING, &self->attack,
      "Attack: fgsm, bim, pgd, deepfool, cw or bpda", "ATTACK" },
    { "eps", 0, 0, G_OPTION_ARG_DOUBLE, &self->eps, "Attack budget ε on the [0, 1] scale", "EPS" },
    { "index", 0, 0, G_OPTION_ARG_INT, &self->index, "Show test image N", "N" },
    { "heatmap", 0, 0, G_OPTION_ARG_NONE, &self->heatmap, "Show the perturbation heat map", NULL },
    { "draw-demo", 0, 0, G_OPTION_ARG_NONE, &self->draw_demo, "Draw a demo digit on the sketch pad", NULL },
    { "histogram", 0, 0, G_OPTION_ARG_NONE, &self->histogram,
      "Compute the bit-flip histogram right away (it also starts by itself after the first frame)", NULL },
    { "histogram-size", 0, 0, G_OPTION_ARG_INT, &self->histogram_size,
      "Test images in the bit-flip histogram (default 200)", "N" },
    { "open", 0, 0, G_OPTION_ARG_FILENAME, &self->open, "Open an image file", "FILE" },
    { "no-defense", 0, 0, G_OPTION_ARG_NONE, &self->no_defense, "Start with purification off", NULL },
    { "purifier", 0, 0, G_OPTION_ARG_STRING, &self->purifier,
      "Purifier: lqvae, defensegan (in LQ-VAE's place) or both (side by side)", "NAME" },
    { "gan-file", 0, 0, G_OPTION_ARG_FILENAME, &self->gan_file,
      "Defense-GAN generator file (default: data/<data>-defensegan.safetensors)", "FILE" },
    { "dark", 0, 0, G_OPTION_ARG_NONE, &self->dark, "Use the dark style", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version", NULL },
    { NULL }
  };
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), "[IMAGE]");
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            "Attack an image live and watch LQ-VAE purify it.");
}

LqExplorerApplication *
lq_explorer_application_new (void)
{
  return g_object_new (LQ_TYPE_EXPLORER_APPLICATION, "application-id", LQ_EXPLORER_APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN, NULL);
}

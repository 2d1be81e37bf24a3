/* lq-explorer-actions.c: the window's GActions. Handlers call the window's functions; one
 * function, lq_explorer_actions_update(), decides what is enabled. */
#include "lq-explorer-actions.h"

#define WIN(p) LQ_EXPLORER_WINDOW (p)

static void
act_open (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_open_dialog (WIN (win));
}

static void
act_previous (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_step_sample (WIN (win), -1);
}

static void
act_next (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_step_sample (WIN (win), 1);
}

static void
act_random (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_random_sample (WIN (win));
}

static void
act_jump (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_focus_index (WIN (win));
}

static void
act_show_sample (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_show_sample (WIN (win), g_variant_get_int32 (p));
}

static void
act_export_comparison (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_export_dialog (WIN (win), FALSE);
}

static void
act_export_adversarial (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_export_dialog (WIN (win), TRUE);
}

static void
act_copy (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_copy (WIN (win));
}

static void
act_cancel (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_cancel (WIN (win));
}

static void
act_histogram (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_compute_histogram (WIN (win));
}

static void
act_clear_sketch (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_sketch_clear (WIN (win));
}

static void
act_undo_stroke (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_sketch_undo (WIN (win));
}

static void
act_reset_code (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_reset_code (WIN (win));
}

static void
act_dismiss_error (GSimpleAction *a, GVariant *p, gpointer win)
{
  lq_explorer_window_dismiss_error (WIN (win));
}

static void
toggle (GSimpleAction *a, GVariant *p, gpointer win)
{
  GVariant *state = g_action_get_state (G_ACTION (a));
  g_action_change_state (G_ACTION (a), g_variant_new_boolean (!g_variant_get_boolean (state)));
  g_variant_unref (state);
}

static void
change_bool (GSimpleAction *a, GVariant *v, gpointer win)
{
  const char *name = g_action_get_name (G_ACTION (a));
  gboolean on = g_variant_get_boolean (v);
  g_simple_action_set_state (a, v);
  if (g_str_equal (name, "draw"))
    lq_explorer_window_set_draw_mode (WIN (win), on);
  else if (g_str_equal (name, "heatmap"))
    lq_explorer_window_set_heatmap (WIN (win), on);
  else if (g_str_equal (name, "defense"))
    lq_explorer_window_set_defense (WIN (win), on);
  else if (g_str_equal (name, "targeted"))
    lq_explorer_window_set_targeted (WIN (win), on, -1);
}

static void
change_string (GSimpleAction *a, GVariant *v, gpointer win)
{
  const char *name = g_action_get_name (G_ACTION (a));
  const char *s = g_variant_get_string (v, NULL);
  if (g_str_equal (name, "data"))
    {
      LqDataKind d;
      if (lq_data_kind_from_string (s, &d, NULL))
        {
          g_simple_action_set_state (a, v);
          lq_explorer_window_set_data (WIN (win), d);
        }
    }
  else if (g_str_equal (name, "model"))
    {
      LqArch arch;
      if (lq_arch_from_string (s, &arch, NULL))
        {
          g_simple_action_set_state (a, v);
          lq_explorer_window_set_model (WIN (win), arch);
        }
    }
  else if (g_str_equal (name, "purifier"))
    {
      LqExplorerPurifier pu;
      if (lq_explorer_purifier_from_id (s, &pu))
        {
          g_simple_action_set_state (a, v);
          lq_explorer_window_set_purifier (WIN (win), pu);
        }
    }
  else if (g_str_equal (name, "attack"))
    {
      LqExplorerAttack at;
      if (lq_explorer_attack_from_id (s, &at))
        {
          g_simple_action_set_state (a, v);
          lq_explorer_window_set_attack (WIN (win), at);
        }
    }
}

static const GActionEntry entries[] = {
  { "open", act_open },
  { "previous", act_previous },
  { "next", act_next },
  { "random", act_random },
  { "jump", act_jump },
  { "show-sample", act_show_sample, "i" },
  { "export-comparison", act_export_comparison },
  { "export-adversarial", act_export_adversarial },
  { "copy", act_copy },
  { "cancel", act_cancel },
  { "histogram", act_histogram },
  { "clear-sketch", act_clear_sketch },
  { "undo-stroke", act_undo_stroke },
  { "reset-code", act_reset_code },
  { "dismiss-error", act_dismiss_error },
  { "draw", toggle, NULL, "false", change_bool },
  { "heatmap", toggle, NULL, "false", change_bool },
  { "defense", toggle, NULL, "true", change_bool },
  { "targeted", toggle, NULL, "false", change_bool },
  { "data", NULL, "s", "'mnist'", change_string },
  { "model", NULL, "s", "'A'", change_string },
  { "attack", NULL, "s", "'fgsm'", change_string },
  { "purifier", NULL, "s", "'lqvae'", change_string },
};

void
lq_explorer_actions_install (LqExplorerWindow *win)
{
  g_action_map_add_action_entries (G_ACTION_MAP (win), entries, G_N_ELEMENTS (entries), win);
}

static void
enable (LqExplorerWindow *win, const char *name, gboolean on)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (win), name);
  if (a)
    g_simple_action_set_enabled (G_SIMPLE_ACTION (a), on);
}

void
lq_explorer_actions_update (LqExplorerWindow *win)
{
  gboolean result = lq_explorer_window_has_result (win);
  gboolean busy = lq_explorer_window_is_busy (win, TRUE);
  gboolean strokes = lq_sketch_view_get_n_strokes (lq_explorer_window_get_sketch (win)) > 0;
  gboolean draw = lq_explorer_window_get_draw_mode (win);
  const LqExplorerJob *r = lq_explorer_window_get_result (win);
  gboolean vae = r && r->has_vae;

  enable (win, "export-comparison", result);
  enable (win, "export-adversarial", result);
  enable (win, "copy", result);
  enable (win, "cancel", busy);
  enable (win, "clear-sketch", draw && strokes);
  enable (win, "undo-stroke", draw && strokes);
  enable (win, "reset-code", vae && lq_explorer_window_get_n_edited (win) > 0);
  enable (win, "dismiss-error", lq_explorer_window_get_error (win) != NULL);
  enable (win, "heatmap", TRUE);
  enable (win, "histogram", TRUE);
}

static void
set_state (LqExplorerWindow *win, const char *name, GVariant *v)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (win), name);
  if (a)
    g_simple_action_set_state (G_SIMPLE_ACTION (a), v);
  else
    g_variant_unref (g_variant_ref_sink (v));
}

void
lq_explorer_actions_sync_state (LqExplorerWindow *win)
{
  set_state (win, "draw", g_variant_new_boolean (lq_explorer_window_get_draw_mode (win)));
  set_state (win, "heatmap", g_variant_new_boolean (lq_explorer_window_get_heatmap (win)));
  set_state (win, "defense", g_variant_new_boolean (lq_explorer_window_get_defense (win)));
  set_state (win, "targeted", g_variant_new_boolean (lq_explorer_window_get_targeted (win)));
  set_state (win, "data", g_variant_new_string (lq_data_kind_name (lq_explorer_window_get_data (win))));
  set_state (win, "model", g_variant_new_string (lq_arch_name (lq_explorer_window_get_model (win))));
  set_state (win, "attack", g_variant_new_string (lq_explorer_attack_id (lq_explorer_window_get_attack (win))));
  set_state (win, "purifier", g_variant_new_string (lq_explorer_purifier_id (lq_explorer_window_get_purifier (win))));
}

void
lq_explorer_actions_set_accels (GtkApplication *app)
{
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "win.open", { "<Control>o", NULL } },
    { "win.draw", { "<Control>d", NULL } },
    { "win.previous", { "<Alt>Left", "Page_Up", NULL } },
    { "win.next", { "<Alt>Right", "Page_Down", NULL } },
    { "win.random", { "<Control>r", NULL } },
    { "win.jump", { "<Control>j", NULL } },
    { "win.export-comparison", { "<Control>s", NULL } },
    { "win.export-adversarial", { "<Control><Shift>s", NULL } },
    { "win.copy", { "<Control><Shift>c", NULL } },
    { "win.cancel", { "Escape", NULL } },
    { "win.histogram", { "<Control>b", NULL } },
    { "win.clear-sketch", { "<Control>Delete", NULL } },
    { "win.undo-stroke", { "<Control>z", NULL } },
    { "win.reset-code", { "<Control><Shift>z", NULL } },
    { "win.heatmap", { "<Control>h", NULL } },
    { "win.defense", { "<Control>l", NULL } },
    { "win.purifier::lqvae", { "<Control><Shift>l", NULL } },
    { "win.purifier::defensegan", { "<Control>g", NULL } },
    { "win.purifier::both", { "<Control><Shift>g", NULL } },
    { "win.targeted", { "<Control>t", NULL } },
    { "win.data::mnist", { "<Alt>m", NULL } },
    { "win.data::fmnist", { "<Alt>f", NULL } },
    { "win.model::A", { "<Control>1", NULL } },
    { "win.model::B", { "<Control>2", NULL } },
    { "win.model::C", { "<Control>3", NULL } },
    { "win.attack::fgsm", { "<Alt>1", NULL } },
    { "win.attack::bim", { "<Alt>2", NULL } },
    { "win.attack::pgd", { "<Alt>3", NULL } },
    { "win.attack::deepfool", { "<Alt>4", NULL } },
    { "win.attack::cw", { "<Alt>5", NULL } },
    { "win.attack::bpda", { "<Alt>6", NULL } },
    { "app.quit", { "<Control>q", NULL } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (app, accels[i].action, accels[i].accels);
}

/* lq-explorer-actions.h: every command of the window as a GAction (win.*), their keyboard
 * shortcuts, and the one function that decides which of them are enabled. */
#pragma once
#include <gtk/gtk.h>
#include "lq-explorer-window.h"

G_BEGIN_DECLS

void lq_explorer_actions_install (LqExplorerWindow *win);
/* Sets the enabled state of every action from the window's state; call after any change. */
void lq_explorer_actions_update (LqExplorerWindow *win);
/* Keeps the stateful actions' states in line with the window (after a change not made by them). */
void lq_explorer_actions_sync_state (LqExplorerWindow *win);
void lq_explorer_actions_set_accels (GtkApplication *app);

G_END_DECLS

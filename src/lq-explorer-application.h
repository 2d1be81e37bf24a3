/* lq-explorer-application.h: the GtkApplication (org.lqvae.Explorer): app actions (about, quit),
 * shortcuts, style (light/dark following the system), command-line options, and the
 * --screenshot mode that renders the window once all its work is done and exits. */
#pragma once
#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LQ_EXPLORER_APP_ID "org.lqvae.Explorer"

#define LQ_TYPE_EXPLORER_APPLICATION (lq_explorer_application_get_type ())
G_DECLARE_FINAL_TYPE (LqExplorerApplication, lq_explorer_application, LQ, EXPLORER_APPLICATION, GtkApplication)

LqExplorerApplication *lq_explorer_application_new (void);
/* Non-zero when --screenshot failed (1) or timed out (2). */
int lq_explorer_application_get_exit_status (LqExplorerApplication *self);
/* Loads style.css (and style-dark.css when dark) for the default display. */
void lq_explorer_application_load_style (gboolean force_dark);

G_END_DECLS

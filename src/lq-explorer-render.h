/* lq-explorer-render.h: a widget as it is on screen, rendered offscreen through its window's
 * GskRenderer (or a Cairo renderer) into a texture: for --screenshot and the GUI tests. */
#pragma once
#include <gtk/gtk.h>

G_BEGIN_DECLS

GdkTexture *lq_explorer_render_widget (GtkWidget *widget, GError **error);
gboolean    lq_explorer_render_widget_to_png (GtkWidget *widget, const char *path, GError **error);

G_END_DECLS

/* lq-explorer-render.c */
#include "lq-explorer-render.h"

GdkTexture *
lq_explorer_render_widget (GtkWidget *widget, GError **error)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  if (w <= 0 || h <= 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the widget has no size (not shown yet)");
      return NULL;
    }
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  if (!node)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the widget drew nothing");
      return NULL;
    }
  GtkNative *native = gtk_widget_get_native (widget);
  GskRenderer *renderer = native ? gtk_native_get_renderer (native) : NULL;
  g_autoptr (GskRenderer) own = NULL;
  if (!renderer)
    {
      own = gsk_cairo_renderer_new ();
      if (!gsk_renderer_realize (own, NULL, error))
        return NULL;
      renderer = own;
    }
  GdkTexture *t = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  if (own)
    gsk_renderer_unrealize (own);
  return t;
}

gboolean
lq_explorer_render_widget_to_png (GtkWidget *widget, const char *path, GError **error)
{
  g_autoptr (GdkTexture) t = lq_explorer_render_widget (widget, error);
  if (!t)
    return FALSE;
  if (!gdk_texture_save_to_png (t, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write %s", path);
      return FALSE;
    }
  return TRUE;
}

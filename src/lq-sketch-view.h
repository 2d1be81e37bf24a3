/* lq-sketch-view.h: a square pad to draw a digit or a garment on with the mouse or a pen.
 * Strokes are kept (so undo takes back the last one); ::changed is emitted while drawing and
 * when a stroke ends, undone or cleared. render() rasterises the strokes as dark ink on white
 * paper for lq_image_to_mnist. */
#pragma once
#include <gtk/gtk.h>
#include "lq-explorer-palette.h"

G_BEGIN_DECLS

#define LQ_TYPE_SKETCH_VIEW (lq_sketch_view_get_type ())
G_DECLARE_FINAL_TYPE (LqSketchView, lq_sketch_view, LQ, SKETCH_VIEW, GtkWidget)

GtkWidget *lq_sketch_view_new (void);
void     lq_sketch_view_clear (LqSketchView *self);
gboolean lq_sketch_view_undo (LqSketchView *self);   /* FALSE when there was nothing to undo */
int      lq_sketch_view_get_n_strokes (LqSketchView *self);
/* Adds a whole stroke of n points in pad coordinates [0, 1]² (tests and --draw-demo). */
void     lq_sketch_view_add_stroke (LqSketchView *self, const double *xy, int n);
/* The strokes as grey[side × side] in [0, 1]: 1 = paper, 0 = ink. */
float   *lq_sketch_view_render (LqSketchView *self, int side);
/* Draws a demo digit "2" (for --draw-demo and the screenshots). */
void     lq_sketch_view_draw_demo (LqSketchView *self);

void     lq_sketch_view_draw (LqSketchView *self, cairo_t *cr, int width, int height,
                              const LqExplorerPalette *p);

G_END_DECLS

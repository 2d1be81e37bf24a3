/* lq-explorer-window.h: the explorer's main window. Every command is also a function here, so the
 * actions module, the application (--screenshot options) and the tests drive one code path. */
#pragma once
#include <gtk/gtk.h>
#include "lq-explorer-worker.h"
#include "lq-image-view.h"
#include "lq-latent-grid-view.h"
#include "lq-latent-map-view.h"
#include "lq-histogram-view.h"
#include "lq-sketch-view.h"

G_BEGIN_DECLS

#define LQ_TYPE_EXPLORER_WINDOW (lq_explorer_window_get_type ())
G_DECLARE_FINAL_TYPE (LqExplorerWindow, lq_explorer_window, LQ, EXPLORER_WINDOW, GtkApplicationWindow)

typedef enum { LQ_SOURCE_SAMPLE, LQ_SOURCE_FILE, LQ_SOURCE_SKETCH } LqExplorerSource;

/* Which purifier the panels show: LQ-VAE, Defense-GAN in its place, or both side by side. */
typedef enum {
  LQ_PURIFIER_LQVAE,
  LQ_PURIFIER_DEFENSEGAN,
  LQ_PURIFIER_BOTH,
  LQ_N_PURIFIERS
} LqExplorerPurifier;

const char *lq_explorer_purifier_id (LqExplorerPurifier p);  /* "lqvae", "defensegan", "both" */
gboolean    lq_explorer_purifier_from_id (const char *id, LqExplorerPurifier *p);

LqExplorerWindow *lq_explorer_window_new (GtkApplication *app);

/* Choices. */
void lq_explorer_window_set_data (LqExplorerWindow *self, LqDataKind data);
LqDataKind lq_explorer_window_get_data (LqExplorerWindow *self);
void lq_explorer_window_set_model (LqExplorerWindow *self, LqArch arch);
LqArch lq_explorer_window_get_model (LqExplorerWindow *self);
void lq_explorer_window_set_attack (LqExplorerWindow *self, LqExplorerAttack attack);
LqExplorerAttack lq_explorer_window_get_attack (LqExplorerWindow *self);
void lq_explorer_window_set_eps (LqExplorerWindow *self, double eps);
double lq_explorer_window_get_eps (LqExplorerWindow *self);
GtkAdjustment *lq_explorer_window_get_eps_adjustment (LqExplorerWindow *self);
void lq_explorer_window_set_targeted (LqExplorerWindow *self, gboolean targeted, int target);
gboolean lq_explorer_window_get_targeted (LqExplorerWindow *self);
void lq_explorer_window_set_defense (LqExplorerWindow *self, gboolean on);
gboolean lq_explorer_window_get_defense (LqExplorerWindow *self);
/* Defense-GAN: the purifier choice, another generator file (NULL: the shipped one), the search
 * settings (default L 200, R 10; tests use small ones). */
void lq_explorer_window_set_purifier (LqExplorerWindow *self, LqExplorerPurifier purifier);
LqExplorerPurifier lq_explorer_window_get_purifier (LqExplorerWindow *self);
void lq_explorer_window_set_gan_file (LqExplorerWindow *self, const char *path);
void lq_explorer_window_set_gan_search (LqExplorerWindow *self, const LqGanSearch *search);
LqGanSearch lq_explorer_window_get_gan_search (LqExplorerWindow *self);
void lq_explorer_window_set_heatmap (LqExplorerWindow *self, gboolean on);
gboolean lq_explorer_window_get_heatmap (LqExplorerWindow *self);
/* The parameters the next attack of the current kind will use (as the sidebar shows them). */
LqAttackParams lq_explorer_window_get_params (LqExplorerWindow *self);

/* Input. */
void lq_explorer_window_show_sample (LqExplorerWindow *self, int index);
int  lq_explorer_window_get_index (LqExplorerWindow *self);
void lq_explorer_window_step_sample (LqExplorerWindow *self, int delta);
void lq_explorer_window_random_sample (LqExplorerWindow *self);
void lq_explorer_window_focus_index (LqExplorerWindow *self);
void lq_explorer_window_set_class_filter (LqExplorerWindow *self, int cls); /* -1: any */
int  lq_explorer_window_get_n_samples (LqExplorerWindow *self);
void lq_explorer_window_open_file (LqExplorerWindow *self, GFile *file);
void lq_explorer_window_open_dialog (LqExplorerWindow *self);
void lq_explorer_window_set_image (LqExplorerWindow *self, const float *image, int label,
                                   LqExplorerSource source, const char *name);
const float *lq_explorer_window_get_image (LqExplorerWindow *self, int *label);
LqExplorerSource lq_explorer_window_get_source (LqExplorerWindow *self);
void lq_explorer_window_set_draw_mode (LqExplorerWindow *self, gboolean on);
gboolean lq_explorer_window_get_draw_mode (LqExplorerWindow *self);
LqSketchView *lq_explorer_window_get_sketch (LqExplorerWindow *self);
void lq_explorer_window_sketch_clear (LqExplorerWindow *self);
void lq_explorer_window_sketch_undo (LqExplorerWindow *self);

/* Latent edits: flips bit i of the adversarial code and decodes (again: restores). */
void lq_explorer_window_flip_bit (LqExplorerWindow *self, int i);
void lq_explorer_window_reset_code (LqExplorerWindow *self);
int  lq_explorer_window_get_n_edited (LqExplorerWindow *self);

/* Background work. */
void lq_explorer_window_compute_histogram (LqExplorerWindow *self);
void lq_explorer_window_set_histogram_size (LqExplorerWindow *self, int n);
void lq_explorer_window_cancel (LqExplorerWindow *self);
/* TRUE while any job that changes what is shown is pending (histogram included if asked). */
gboolean lq_explorer_window_is_busy (LqExplorerWindow *self, gboolean include_background);
LqExplorerWorker *lq_explorer_window_get_worker (LqExplorerWindow *self);

/* Results: the last analysis shown (NULL before the first), and the views. */
const LqExplorerJob *lq_explorer_window_get_result (LqExplorerWindow *self);
const LqExplorerJob *lq_explorer_window_get_decoded (LqExplorerWindow *self);
/* The Defense-GAN result for the adversarial image on screen (NULL while none matches it), and
 * the panel showing it (NULL when the purifier is LQ-VAE alone). */
const LqExplorerJob *lq_explorer_window_get_gan_result (LqExplorerWindow *self);
LqImageView *lq_explorer_window_get_gan_panel (LqExplorerWindow *self);
const char *lq_explorer_window_get_timing_text (LqExplorerWindow *self);
LqImageView *lq_explorer_window_get_panel (LqExplorerWindow *self, LqExplorerRole role);
LqLatentGridView *lq_explorer_window_get_grid (LqExplorerWindow *self);
LqLatentMapView *lq_explorer_window_get_map (LqExplorerWindow *self);
LqHistogramView *lq_explorer_window_get_histogram (LqExplorerWindow *self);
GtkWidget *lq_explorer_window_get_panels_box (LqExplorerWindow *self);

/* Errors and status, inline. */
void lq_explorer_window_show_error (LqExplorerWindow *self, const char *message);
void lq_explorer_window_dismiss_error (LqExplorerWindow *self);
const char *lq_explorer_window_get_error (LqExplorerWindow *self);

/* Export: the visible panels with their labels, and the adversarial image alone (28×28). */
GdkTexture *lq_explorer_window_render_comparison (LqExplorerWindow *self);
gboolean lq_explorer_window_export_comparison (LqExplorerWindow *self, GFile *file, GError **error);
gboolean lq_explorer_window_export_adversarial (LqExplorerWindow *self, GFile *file, GError **error);
void lq_explorer_window_export_dialog (LqExplorerWindow *self, gboolean adversarial_only);
void lq_explorer_window_copy (LqExplorerWindow *self);

/* State the actions module reads. */
gboolean lq_explorer_window_has_result (LqExplorerWindow *self);

G_END_DECLS

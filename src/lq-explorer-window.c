/* lq-explorer-window.c */
#include "lq-explorer-window.h"
#include "lq-explorer-actions.h"
#include "lq-image.h"
#include "lq-explorer-resources.h"
#include <math.h>
#include <string.h>

#define SKETCH_RASTER 280
#define MAP_CODES 1000
#define HISTOGRAM_DELAY_MS 400

struct _LqExplorerWindow {
  GtkApplicationWindow parent_instance;

  /* template children */
  GtkToggleButton *draw_button;
  GtkDropDown *data_dropdown, *model_dropdown, *attack_dropdown, *cw_preset_dropdown;
  GtkDropDown *target_dropdown, *filter_dropdown, *purifier_dropdown;
  GtkToggleButton *defense_button;
  GtkMenuButton *export_button;
  GtkStack *param_stack;
  GtkLabel *attack_heading, *eps_value, *source_label, *grid_heading, *map_heading, *hist_heading;
  GtkLabel *error_label, *status_label, *timing_label;
  GtkAdjustment *eps_adjustment, *steps_adjustment, *step_adjustment, *overshoot_adjustment;
  GtkAdjustment *maxiter_adjustment, *kappa_adjustment, *cw_iter_adjustment, *cw_search_adjustment;
  GtkAdjustment *index_adjustment, *hist_n_adjustment;
  GtkWidget *iter_grid, *panels_box, *eps_scale, *index_spin, *help_label;
  GtkSwitch *targeted_switch;
  GtkRevealer *sketch_revealer, *error_revealer;
  GtkProgressBar *progress_bar;
  GtkWidget *cancel_button;
  LqSketchView *sketch_view;
  LqImageView *original_view, *adversarial_view, *purified_view, *gan_view;
  LqLatentGridView *grid_view;
  LqLatentMapView *map_view;
  LqHistogramView *hist_view;

  /* state */
  LqExplorerWorker *worker;
  LqExplorerSamples *samples[2];
  gboolean dataset_tried[2];
  LqDataKind data;
  LqArch arch;
  LqExplorerAttack attack;
  LqAttackParams params[LQ_EXPLORER_N_ATTACKS];
  int cw_preset;
  gboolean targeted, defense, heatmap, draw_mode;
  int target;
  LqExplorerSource source;
  int index, filter;
  char *source_name;
  gboolean has_input;
  float input[784];
  int input_label;
  LqExplorerJob *result;       /* last analysis (owned copy) */
  LqExplorerJob *decoded;      /* decode of the edited code */
  guint8 edited[LQ_EXPLORER_LATENT_MAX];
  LqExplorerJob *map[2];
  int hist_n;
  gboolean hist_wanted;
  guint hist_timeout;
  char *error;
  GRand *rand;
  int syncing;
  gboolean started;           /* the first analysis came back: background work may begin */
  /* Defense-GAN, the second purifier */
  LqExplorerPurifier purifier;
  LqGanSearch gan_search;
  char *gan_file;
  LqExplorerJob *gan;          /* last search result (owned copy); shown only if it matches */
  double gan_fraction;         /* progress of the running search */
  gboolean gan_cancelled;
};

G_DEFINE_FINAL_TYPE (LqExplorerWindow, lq_explorer_window, GTK_TYPE_APPLICATION_WINDOW)

/* Latent maps are the same for every window of the process: computed once per data set. */
static LqExplorerJob *map_cache[2];

static void request_analysis (LqExplorerWindow *self);
static void request_gan (LqExplorerWindow *self);
static void fill_gan_panel (LqExplorerWindow *self, LqImageView *view);
static char *timing_text (LqExplorerWindow *self);
static void schedule_histogram (LqExplorerWindow *self);
static void request_map (LqExplorerWindow *self);
static void update_views (LqExplorerWindow *self);
static void update_status (LqExplorerWindow *self);
static void describe_source (LqExplorerWindow *self);

static const char *const *
class_names (LqExplorerWindow *self)
{
  return lq_data_class_names (self->data);
}

/* ------------------------------------------------------------------ copies of results */

static LqExplorerJob *
copy_result (const LqExplorerJob *j)
{
  LqExplorerJob *c = g_memdup2 (j, sizeof *j);
  c->samples = NULL;
  c->file = NULL;
  c->vae_error = g_strdup (j->vae_error);
  c->gan_file = g_strdup (j->gan_file);
  c->gan_error = g_strdup (j->gan_error);
  c->xy = j->xy ? g_memdup2 (j->xy, sizeof (float) * 2 * j->n_points) : NULL;
  c->labels = j->labels ? g_memdup2 (j->labels, j->n_points) : NULL;
  c->fractions = j->fractions ? g_memdup2 (j->fractions, sizeof (float) * j->done) : NULL;
  c->correct = j->correct ? g_memdup2 (j->correct, j->done) : NULL;
  return c;
}

/* ------------------------------------------------------------------ status and errors */

void
lq_explorer_window_show_error (LqExplorerWindow *self, const char *message)
{
  g_free (self->error);
  self->error = g_utf8_make_valid (message, -1);  /* messages may quote file names' bytes */
  gtk_label_set_text (self->error_label, self->error);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
  lq_explorer_actions_update (self);
}

void
lq_explorer_window_dismiss_error (LqExplorerWindow *self)
{
  g_clear_pointer (&self->error, g_free);
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
  lq_explorer_actions_update (self);
}

const char *
lq_explorer_window_get_error (LqExplorerWindow *self)
{
  return self->error;
}

static void
set_progress (LqExplorerWindow *self, gboolean visible, double fraction)
{
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), visible);
  gtk_widget_set_visible (self->cancel_button, visible);
  if (visible)
    gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (fraction, 0, 1));
}

/* ------------------------------------------------------------------ parameters */

static LqAttackParams *
cur_params (LqExplorerWindow *self)
{
  return &self->params[self->attack];
}

static void
sync_param_widgets (LqExplorerWindow *self)
{
  LqAttackParams *p = cur_params (self);
  self->syncing++;
  const char *page = "eps";
  if (self->attack == LQ_EXPLORER_ATTACK_DEEPFOOL)
    page = "deepfool";
  else if (self->attack == LQ_EXPLORER_ATTACK_CW)
    page = "cw";
  gtk_stack_set_visible_child_name (self->param_stack, page);
  gtk_widget_set_visible (self->iter_grid, self->attack != LQ_EXPLORER_ATTACK_FGSM);
  gtk_adjustment_set_value (self->eps_adjustment, p->eps);
  gtk_adjustment_set_value (self->steps_adjustment, p->steps);
  gtk_adjustment_set_value (self->step_adjustment, p->step);
  gtk_adjustment_set_value (self->overshoot_adjustment, p->overshoot);
  gtk_adjustment_set_value (self->maxiter_adjustment, p->max_iter);
  gtk_adjustment_set_value (self->kappa_adjustment, p->cw_kappa);
  gtk_adjustment_set_value (self->cw_iter_adjustment, p->cw_max_iter);
  gtk_adjustment_set_value (self->cw_search_adjustment, p->cw_search_steps);
  gtk_drop_down_set_selected (self->cw_preset_dropdown, self->cw_preset);
  char buf[64];
  g_snprintf (buf, sizeof buf, "%.2f", p->eps);
  gtk_label_set_text (self->eps_value, buf);
  g_autofree char *heading = g_strdup_printf ("Attack · %s", lq_explorer_attack_title (self->attack));
  gtk_label_set_text (self->attack_heading, heading);
  gtk_drop_down_set_selected (self->attack_dropdown, self->attack);
  gtk_drop_down_set_selected (self->data_dropdown, self->data);
  gtk_drop_down_set_selected (self->model_dropdown, self->arch);
  gtk_widget_set_sensitive (GTK_WIDGET (self->target_dropdown), self->targeted);
  gtk_drop_down_set_selected (self->target_dropdown, self->target);
  self->syncing--;
}

static void
params_changed (LqExplorerWindow *self)
{
  request_analysis (self);
  schedule_histogram (self);
}

static void
on_param_value_changed (GtkAdjustment *adj, LqExplorerWindow *self)
{
  if (self->syncing)
    return;
  LqAttackParams *p = cur_params (self);
  double v = gtk_adjustment_get_value (adj);
  if (adj == self->eps_adjustment)
    {
      p->eps = (float) v;
      char buf[32];
      g_snprintf (buf, sizeof buf, "%.2f", v);
      gtk_label_set_text (self->eps_value, buf);
    }
  else if (adj == self->steps_adjustment)
    p->steps = (int) v;
  else if (adj == self->step_adjustment)
    p->step = (float) v;
  else if (adj == self->overshoot_adjustment)
    p->overshoot = (float) v;
  else if (adj == self->maxiter_adjustment)
    p->max_iter = (int) v;
  else if (adj == self->kappa_adjustment)
    p->cw_kappa = (float) v;
  else if (adj == self->cw_iter_adjustment)
    p->cw_max_iter = (int) v;
  else if (adj == self->cw_search_adjustment)
    p->cw_search_steps = (int) v;
  params_changed (self);
}

static void
on_cw_preset (GtkDropDown *dd, GParamSpec *pspec, LqExplorerWindow *self)
{
  if (self->syncing)
    return;
  static const char *presets[] = { "live", "defense-gan", "full" };
  guint i = gtk_drop_down_get_selected (dd);
  if (i >= G_N_ELEMENTS (presets))
    return;
  self->cw_preset = i;
  LqAttackParams *p = &self->params[LQ_EXPLORER_ATTACK_CW];
  gboolean targeted = p->targeted;
  g_autoptr (GError) error = NULL;
  if (!lq_attack_cw_preset (presets[i], p, &error))
    lq_explorer_window_show_error (self, error->message);
  p->targeted = targeted;
  sync_param_widgets (self);
  params_changed (self);
}

LqAttackParams
lq_explorer_window_get_params (LqExplorerWindow *self)
{
  LqAttackParams p = *cur_params (self);
  p.targeted = self->targeted;
  return p;
}

/* ------------------------------------------------------------------ choices */

static void
fill_class_dropdowns (LqExplorerWindow *self)
{
  const char *const *names = class_names (self);
  self->syncing++;
  GtkStringList *targets = gtk_string_list_new (NULL);
  GtkStringList *filters = gtk_string_list_new (NULL);
  gtk_string_list_append (filters, "Any class");
  for (int c = 0; c < LQ_N_CLASSES; c++)
    {
      gtk_string_list_append (targets, names[c]);
      gtk_string_list_append (filters, names[c]);
    }
  gtk_drop_down_set_model (self->target_dropdown, G_LIST_MODEL (targets));
  gtk_drop_down_set_model (self->filter_dropdown, G_LIST_MODEL (filters));
  gtk_drop_down_set_selected (self->target_dropdown, self->target);
  gtk_drop_down_set_selected (self->filter_dropdown, self->filter + 1);
  g_object_unref (targets);
  g_object_unref (filters);
  self->syncing--;
  for (int r = 0; r < LQ_N_ROLES; r++)
    lq_image_view_set_class_names (lq_explorer_window_get_panel (self, r), names);
  lq_image_view_set_class_names (self->gan_view, names);
  lq_latent_map_view_set_class_names (self->map_view, names);
}

static LqExplorerSamples *
cur_samples (LqExplorerWindow *self)
{
  return self->samples[self->data];
}

static void
on_dataset_done (LqExplorerWorker *w, LqExplorerJob *job, const GError *error, gpointer data)
{
  LqExplorerWindow *self = data;
  self->dataset_tried[job->data] = TRUE;
  if (!error && job->samples)
    {
      g_clear_pointer (&self->samples[job->data], lq_explorer_samples_unref);
      self->samples[job->data] = lq_explorer_samples_ref (job->samples);
    }
  if (job->data == self->data)
    {
      self->syncing++;
      gtk_adjustment_set_upper (self->index_adjustment, cur_samples (self)->n - 1);
      self->syncing--;
      describe_source (self);
      update_status (self);
      request_map (self);
      if (self->hist_wanted)
        schedule_histogram (self);
    }
}

static void
request_dataset (LqExplorerWindow *self)
{
  /* Background loads wait for the first frame: on two cores they would slow it down. */
  if (!self->started || self->dataset_tried[self->data]
      || lq_explorer_worker_is_busy (self->worker, LQ_JOB_DATASET))
    return;
  LqExplorerJob *job = lq_explorer_job_new (LQ_JOB_DATASET);
  job->data = self->data;
  lq_explorer_worker_submit (self->worker, job, NULL, on_dataset_done, self);
}

void
lq_explorer_window_set_data (LqExplorerWindow *self, LqDataKind data)
{
  if (data == self->data && self->has_input)
    return;
  self->data = data;
  lq_explorer_worker_cancel (self->worker, LQ_JOB_DATASET);
  lq_explorer_worker_cancel (self->worker, LQ_JOB_MAP);
  fill_class_dropdowns (self);
  self->syncing++;
  gtk_drop_down_set_selected (self->data_dropdown, data);
  gtk_adjustment_set_upper (self->index_adjustment, cur_samples (self)->n - 1);
  self->syncing--;
  lq_latent_map_view_set_points (self->map_view, 0, NULL, NULL);
  lq_latent_map_view_set_markers (self->map_view, NULL, NULL);
  if (self->map[data])
    request_map (self);
  lq_histogram_view_set_data (self->hist_view, 0, 0, NULL, NULL);
  g_clear_pointer (&self->result, lq_explorer_job_free);
  request_dataset (self);
  /* A drawing or a file stays the input; a test image becomes the same index of the other set. */
  if (self->source == LQ_SOURCE_SAMPLE || !self->has_input)
    lq_explorer_window_show_sample (self, MIN (self->index, cur_samples (self)->n - 1));
  else
    request_analysis (self);
  if (self->dataset_tried[data])
    request_map (self);
  schedule_histogram (self);
  lq_explorer_actions_sync_state (self);
}

LqDataKind
lq_explorer_window_get_data (LqExplorerWindow *self)
{
  return self->data;
}

void
lq_explorer_window_set_model (LqExplorerWindow *self, LqArch arch)
{
  if (arch == self->arch)
    return;
  self->arch = arch;
  self->syncing++;
  gtk_drop_down_set_selected (self->model_dropdown, arch);
  self->syncing--;
  params_changed (self);
  lq_explorer_actions_sync_state (self);
}

LqArch
lq_explorer_window_get_model (LqExplorerWindow *self)
{
  return self->arch;
}

void
lq_explorer_window_set_attack (LqExplorerWindow *self, LqExplorerAttack attack)
{
  if (attack >= LQ_EXPLORER_N_ATTACKS || attack == self->attack)
    return;
  self->attack = attack;
  sync_param_widgets (self);
  params_changed (self);
  lq_explorer_actions_sync_state (self);
}

LqExplorerAttack
lq_explorer_window_get_attack (LqExplorerWindow *self)
{
  return self->attack;
}

void
lq_explorer_window_set_eps (LqExplorerWindow *self, double eps)
{
  gtk_adjustment_set_value (self->eps_adjustment, eps);
}

double
lq_explorer_window_get_eps (LqExplorerWindow *self)
{
  return cur_params (self)->eps;
}

GtkAdjustment *
lq_explorer_window_get_eps_adjustment (LqExplorerWindow *self)
{
  return self->eps_adjustment;
}

void
lq_explorer_window_set_targeted (LqExplorerWindow *self, gboolean targeted, int target)
{
  if (target >= 0 && target < LQ_N_CLASSES)
    self->target = target;
  self->targeted = targeted;
  self->syncing++;
  gtk_widget_set_sensitive (GTK_WIDGET (self->target_dropdown), targeted);
  gtk_drop_down_set_selected (self->target_dropdown, self->target);
  self->syncing--;
  params_changed (self);
  lq_explorer_actions_sync_state (self);
}

gboolean
lq_explorer_window_get_targeted (LqExplorerWindow *self)
{
  return self->targeted;
}

void
lq_explorer_window_set_defense (LqExplorerWindow *self, gboolean on)
{
  if (on == self->defense)
    return;
  self->defense = on;
  request_analysis (self);
  lq_explorer_actions_sync_state (self);
}

gboolean
lq_explorer_window_get_defense (LqExplorerWindow *self)
{
  return self->defense;
}

void
lq_explorer_window_set_heatmap (LqExplorerWindow *self, gboolean on)
{
  self->heatmap = on;
  lq_image_view_set_heatmap (self->adversarial_view, on);
  update_views (self);
  lq_explorer_actions_sync_state (self);
}

gboolean
lq_explorer_window_get_heatmap (LqExplorerWindow *self)
{
  return self->heatmap;
}

static void
on_dropdown_selected (GtkDropDown *dd, GParamSpec *pspec, LqExplorerWindow *self)
{
  if (self->syncing)
    return;
  guint i = gtk_drop_down_get_selected (dd);
  if (i == GTK_INVALID_LIST_POSITION)
    return;
  if (dd == self->data_dropdown)
    lq_explorer_window_set_data (self, (LqDataKind) i);
  else if (dd == self->model_dropdown)
    lq_explorer_window_set_model (self, (LqArch) i);
  else if (dd == self->attack_dropdown)
    lq_explorer_window_set_attack (self, (LqExplorerAttack) i);
  else if (dd == self->target_dropdown)
    lq_explorer_window_set_targeted (self, self->targeted, (int) i);
  else if (dd == self->filter_dropdown)
    lq_explorer_window_set_class_filter (self, (int) i - 1);
  else if (dd == self->purifier_dropdown)
    lq_explorer_window_set_purifier (self, (LqExplorerPurifier) i);
}

/* ------------------------------------------------------------------ input */

static void
describe_source (LqExplorerWindow *self)
{
  g_autofree char *text = NULL;
  LqExplorerSamples *s = cur_samples (self);
  const char *const *names = class_names (self);
  if (self->source == LQ_SOURCE_SAMPLE)
    text = g_strdup_printf ("%s test image %d of %d · label %s%s", lq_data_kind_title (self->data),
                            self->index, s->n, names[self->input_label],
                            s->full ? "" : "\nBundled samples only: run `lq data import` for the full test split.");
  else if (self->source == LQ_SOURCE_FILE)
    text = g_strdup_printf ("Your image “%s”, converted the MNIST way (no true label)", self->source_name);
  else
    text = g_strdup ("Your drawing, converted the MNIST way (no true label)");
  gtk_label_set_text (self->source_label, text);
}

void
lq_explorer_window_set_image (LqExplorerWindow *self, const float *image, int label,
                              LqExplorerSource source, const char *name)
{
  memcpy (self->input, image, sizeof self->input);
  self->input_label = label;
  self->source = source;
  g_free (self->source_name);
  self->source_name = g_strdup (name);
  self->has_input = TRUE;
  describe_source (self);
  lq_image_view_set_image (self->original_view, self->input);
  request_analysis (self);
}

const float *
lq_explorer_window_get_image (LqExplorerWindow *self, int *label)
{
  if (label)
    *label = self->input_label;
  return self->has_input ? self->input : NULL;
}

LqExplorerSource
lq_explorer_window_get_source (LqExplorerWindow *self)
{
  return self->source;
}

void
lq_explorer_window_show_sample (LqExplorerWindow *self, int index)
{
  LqExplorerSamples *s = cur_samples (self);
  index = CLAMP (index, 0, s->n - 1);
  self->index = index;
  self->syncing++;
  gtk_adjustment_set_value (self->index_adjustment, index);
  self->syncing--;
  lq_explorer_window_set_image (self, s->images + (gsize) index * 784, s->labels[index],
                                LQ_SOURCE_SAMPLE, NULL);
}

int
lq_explorer_window_get_index (LqExplorerWindow *self)
{
  return self->index;
}

int
lq_explorer_window_get_n_samples (LqExplorerWindow *self)
{
  return cur_samples (self)->n;
}

void
lq_explorer_window_step_sample (LqExplorerWindow *self, int delta)
{
  LqExplorerSamples *s = cur_samples (self);
  int i = self->index;
  if (self->source != LQ_SOURCE_SAMPLE && delta != 0)
    i -= delta;  /* back to browsing: the first step lands on the image we left */
  for (int k = 0; k < s->n; k++)
    {
      i = ((i + delta) % s->n + s->n) % s->n;
      if (self->filter < 0 || s->labels[i] == self->filter)
        break;
    }
  lq_explorer_window_show_sample (self, i);
}

void
lq_explorer_window_random_sample (LqExplorerWindow *self)
{
  LqExplorerSamples *s = cur_samples (self);
  int n = 0;
  for (int i = 0; i < s->n; i++)
    n += self->filter < 0 || s->labels[i] == self->filter;
  if (n == 0)
    return;
  int pick = g_rand_int_range (self->rand, 0, n);
  for (int i = 0; i < s->n; i++)
    if (self->filter < 0 || s->labels[i] == self->filter)
      if (pick-- == 0)
        {
          lq_explorer_window_show_sample (self, i);
          return;
        }
}

void
lq_explorer_window_focus_index (LqExplorerWindow *self)
{
  gtk_widget_grab_focus (self->index_spin);
}

void
lq_explorer_window_set_class_filter (LqExplorerWindow *self, int cls)
{
  self->filter = cls >= 0 && cls < LQ_N_CLASSES ? cls : -1;
  self->syncing++;
  gtk_drop_down_set_selected (self->filter_dropdown, self->filter + 1);
  self->syncing--;
  LqExplorerSamples *s = cur_samples (self);
  if (self->filter >= 0 && (self->source != LQ_SOURCE_SAMPLE || s->labels[self->index] != self->filter))
    {
      if (self->source != LQ_SOURCE_SAMPLE)
        self->source = LQ_SOURCE_SAMPLE;
      lq_explorer_window_step_sample (self, 1);
    }
}

static void
on_index_changed (GtkAdjustment *adj, LqExplorerWindow *self)
{
  if (self->syncing)
    return;
  lq_explorer_window_show_sample (self, (int) gtk_adjustment_get_value (adj));
}

static void
on_import_done (LqExplorerWorker *w, LqExplorerJob *job, const GError *error, gpointer data)
{
  LqExplorerWindow *self = data;
  if (error)
    {
      /* Nothing the user had is lost: the current image and results stay. */
      lq_explorer_window_show_error (self, error->message);
      update_status (self);
      return;
    }
  g_autofree char *name = lq_explorer_file_display_name (job->file);
  lq_explorer_window_dismiss_error (self);
  lq_explorer_window_set_image (self, job->imported, -1, LQ_SOURCE_FILE, name);
}

void
lq_explorer_window_open_file (LqExplorerWindow *self, GFile *file)
{
  LqExplorerJob *job = lq_explorer_job_new (LQ_JOB_IMPORT);
  job->file = g_object_ref (file);
  lq_explorer_worker_submit (self->worker, job, NULL, on_import_done, self);
  update_status (self);
}

static void
on_open_response (GtkNativeDialog *dialog, int response, LqExplorerWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file)
        lq_explorer_window_open_file (self, file);
    }
  g_object_unref (dialog);
}

void
lq_explorer_window_open_dialog (LqExplorerWindow *self)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new ("Open an Image", GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_OPEN,
                                                              "_Open", "_Cancel");
  GtkFileFilter *images = gtk_file_filter_new ();
  gtk_file_filter_set_name (images, "Images");
  gtk_file_filter_add_pixbuf_formats (images);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), images);
  GtkFileFilter *all = gtk_file_filter_new ();
  gtk_file_filter_set_name (all, "All files");
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), all);
  g_object_unref (images);
  g_object_unref (all);
  g_signal_connect (dialog, "response", G_CALLBACK (on_open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
use_texture (LqExplorerWindow *self, GdkTexture *texture)
{
  int w = gdk_texture_get_width (texture), h = gdk_texture_get_height (texture);
  if ((gint64) w * h > LQ_EXPLORER_MAX_PIXELS || w > LQ_IMAGE_MAX_SIDE || h > LQ_IMAGE_MAX_SIDE)
    {
      lq_explorer_window_show_error (self, "The dropped image is too large");
      return;
    }
  gsize stride = (gsize) w * 4;
  g_autofree guint8 *bgra = g_malloc ((gsize) h * stride);
  gdk_texture_download (texture, bgra, stride);
  /* Cairo's premultiplied BGRA to straight RGBA. */
  for (gsize i = 0; i < (gsize) w * h; i++)
    {
      guint8 *px = bgra + 4 * i, b = px[0], g = px[1], r = px[2], a = px[3];
      px[0] = a ? (guint8) MIN (255, r * 255 / a) : 0;
      px[1] = a ? (guint8) MIN (255, g * 255 / a) : 0;
      px[2] = a ? (guint8) MIN (255, b * 255 / a) : 0;
      px[3] = a;
    }
  g_autoptr (GError) error = NULL;
  g_autofree float *grey = lq_image_grey_from_rgb8 (bgra, w, h, (int) stride, 4, &error);
  float img[784];
  if (!grey || !lq_image_to_mnist (grey, w, h, w, img, &error))
    {
      lq_explorer_window_show_error (self, error->message);
      return;
    }
  lq_explorer_window_dismiss_error (self);
  lq_explorer_window_set_image (self, img, -1, LQ_SOURCE_FILE, "dropped image");
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, LqExplorerWindow *self)
{
  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = gdk_file_list_get_files (g_value_get_boxed (value));
      if (!files)
        return FALSE;
      lq_explorer_window_open_file (self, files->data);
      g_slist_free (files);
      return TRUE;
    }
  if (G_VALUE_HOLDS (value, G_TYPE_FILE))
    {
      lq_explorer_window_open_file (self, g_value_get_object (value));
      return TRUE;
    }
  if (G_VALUE_HOLDS (value, GDK_TYPE_TEXTURE))
    {
      use_texture (self, g_value_get_object (value));
      return TRUE;
    }
  return FALSE;
}

/* ------------------------------------------------------------------ the sketch pad */

static void
use_sketch (LqExplorerWindow *self)
{
  if (lq_sketch_view_get_n_strokes (self->sketch_view) == 0)
    return;
  g_autofree float *grey = lq_sketch_view_render (self->sketch_view, SKETCH_RASTER);
  float img[784];
  g_autoptr (GError) error = NULL;
  if (!lq_image_to_mnist (grey, SKETCH_RASTER, SKETCH_RASTER, SKETCH_RASTER, img, &error))
    return;  /* a blank pad: keep what is shown */
  lq_explorer_window_set_image (self, img, -1, LQ_SOURCE_SKETCH, NULL);
}

static void
on_sketch_changed (LqSketchView *sketch, LqExplorerWindow *self)
{
  use_sketch (self);
  lq_explorer_actions_update (self);
}

void
lq_explorer_window_set_draw_mode (LqExplorerWindow *self, gboolean on)
{
  self->draw_mode = on;
  gtk_revealer_set_reveal_child (self->sketch_revealer, on);
  /* The pad takes the sidebar's room: the reading help steps aside for it. */
  gtk_widget_set_visible (self->help_label, !on);
  if (on)
    use_sketch (self);
  lq_explorer_actions_sync_state (self);
  lq_explorer_actions_update (self);
}

gboolean
lq_explorer_window_get_draw_mode (LqExplorerWindow *self)
{
  return self->draw_mode;
}

LqSketchView *
lq_explorer_window_get_sketch (LqExplorerWindow *self)
{
  return self->sketch_view;
}

void
lq_explorer_window_sketch_clear (LqExplorerWindow *self)
{
  lq_sketch_view_clear (self->sketch_view);
}

void
lq_explorer_window_sketch_undo (LqExplorerWindow *self)
{
  lq_sketch_view_undo (self->sketch_view);
}

/* ------------------------------------------------------------------ analysis */

static void
on_analysis_progress (LqExplorerWorker *w, const LqExplorerJob *partial, double fraction,
                      const char *status, gpointer data)
{
  LqExplorerWindow *self = data;
  set_progress (self, TRUE, fraction);
  g_autofree char *text = g_strdup_printf ("%s running… %.0f %%", lq_explorer_attack_title (self->attack),
                                           100 * fraction);
  gtk_label_set_text (self->status_label, text);
}

static void
on_analysis_done (LqExplorerWorker *w, LqExplorerJob *job, const GError *error, gpointer data)
{
  LqExplorerWindow *self = data;
  set_progress (self, FALSE, 0);
  if (error)
    {
      g_clear_pointer (&self->result, lq_explorer_job_free);
      lq_explorer_window_show_error (self, error->message);
    }
  else
    {
      g_clear_pointer (&self->result, lq_explorer_job_free);
      self->result = copy_result (job);
      if (self->error && job->vae_error == NULL && g_str_has_prefix (self->error, "LQ-VAE"))
        lq_explorer_window_dismiss_error (self);
      if (job->vae_error && !self->error)
        {
          g_autofree char *m = g_strdup_printf ("LQ-VAE is not available: %s", job->vae_error);
          lq_explorer_window_show_error (self, m);
        }
    }
  update_views (self);
  update_status (self);
  if (!self->started)
    {
      self->started = TRUE;
      request_dataset (self);
    }
  /* The LQ-VAE result is drawn; Defense-GAN's panel fills in when its search is done. */
  if (!error)
    request_gan (self);
  lq_explorer_actions_update (self);
}

static void
request_analysis (LqExplorerWindow *self)
{
  if (!self->has_input || !self->worker)
    return;
  memset (self->edited, 0, sizeof self->edited);
  g_clear_pointer (&self->decoded, lq_explorer_job_free);
  lq_explorer_worker_cancel (self->worker, LQ_JOB_DECODE);
  /* A new adversarial image is coming: a search on the old one is wasted work. */
  lq_explorer_worker_cancel (self->worker, LQ_JOB_GAN_PURIFY);
  LqExplorerJob *job = lq_explorer_job_new (LQ_JOB_ANALYZE);
  job->data = self->data;
  job->arch = self->arch;
  job->attack = self->attack;
  job->params = lq_explorer_window_get_params (self);
  job->defense = self->defense;
  job->label = self->input_label;
  job->target = self->target;
  memcpy (job->image, self->input, sizeof job->image);
  lq_explorer_worker_submit (self->worker, job, on_analysis_progress, on_analysis_done, self);
  lq_image_view_set_busy (self->adversarial_view, TRUE);
  lq_image_view_set_busy (self->purified_view, TRUE);
  if (self->attack == LQ_EXPLORER_ATTACK_CW)
    {
      set_progress (self, TRUE, 0);
      g_autofree char *text = g_strdup_printf ("%s running…", lq_explorer_attack_title (self->attack));
      gtk_label_set_text (self->status_label, text);
    }
  lq_explorer_actions_update (self);
}

static void
flipped_stats (LqExplorerWindow *self, int *flipped, int *latent)
{
  *flipped = 0;
  *latent = self->result ? self->result->latent : 64;
  if (!self->result || !self->result->has_vae)
    return;
  float t = self->result->threshold;
  for (int i = 0; i < *latent; i++)
    *flipped += (fabsf (self->result->mu[0][i]) < t) != (fabsf (self->result->mu[1][i]) < t);
}

static char *
attack_subtitle (LqExplorerWindow *self, const LqAttackParams *p)
{
  const char *title = lq_explorer_attack_title (self->attack);
  g_autofree char *target = self->targeted
    ? g_strdup_printf (" → %s", class_names (self)[self->target]) : g_strdup ("");
  static const char *presets[] = { "live", "defense-gan", "full" };
  switch (self->attack)
    {
    case LQ_EXPLORER_ATTACK_FGSM:
      return g_strdup_printf ("%s ε %.2f%s", title, p->eps, target);
    case LQ_EXPLORER_ATTACK_BIM:
    case LQ_EXPLORER_ATTACK_PGD:
    case LQ_EXPLORER_ATTACK_BPDA:
      return g_strdup_printf ("%s ε %.2f × %d%s", title, p->eps, p->steps, target);
    case LQ_EXPLORER_ATTACK_CW:
      return g_strdup_printf ("%s %s%s", title, presets[MIN (self->cw_preset, 2)], target);
    default:
      return g_strdup_printf ("%s%s", title, target);
    }
}

static void
update_views (LqExplorerWindow *self)
{
  LqExplorerJob *r = self->result;
  const char *const *names = class_names (self);
  char buf[256];

  /* Original. */
  const char *src = self->source == LQ_SOURCE_SAMPLE ? NULL : self->source == LQ_SOURCE_FILE ? "your image" : "your drawing";
  g_autofree char *osub = self->source == LQ_SOURCE_SAMPLE ? g_strdup_printf ("test #%d", self->index) : g_strdup (src);
  lq_image_view_set_title (self->original_view, "Original", osub);
  lq_image_view_set_image (self->original_view, self->has_input ? self->input : NULL);
  lq_image_view_set_probs (self->original_view, r ? r->probs[0] : NULL, self->input_label);
  if (self->input_label >= 0)
    g_snprintf (buf, sizeof buf, "true class: %s", names[self->input_label]);
  else
    g_snprintf (buf, sizeof buf, "no true label");
  lq_image_view_set_footer (self->original_view, buf);

  /* Adversarial. */
  LqAttackParams p = lq_explorer_window_get_params (self);
  g_autofree char *asub = attack_subtitle (self, &p);
  lq_image_view_set_title (self->adversarial_view, "Adversarial", asub);
  lq_image_view_set_busy (self->adversarial_view, lq_explorer_worker_is_busy (self->worker, LQ_JOB_ANALYZE));
  lq_image_view_set_busy (self->purified_view, lq_explorer_worker_is_busy (self->worker, LQ_JOB_ANALYZE)
                                               || lq_explorer_worker_is_busy (self->worker, LQ_JOB_DECODE));
  if (r)
    {
      float delta[784];
      for (int i = 0; i < 784; i++)
        delta[i] = r->adv[i] - r->image[i];
      lq_image_view_set_image (self->adversarial_view, r->adv);
      lq_image_view_set_delta (self->adversarial_view, delta);
      lq_image_view_set_probs (self->adversarial_view, r->probs[1], self->input_label);
      g_snprintf (buf, sizeof buf, "L2 %.2f · L∞ %.2f · %.1f ms", r->l2, r->linf, r->ms_attack);
      lq_image_view_set_footer (self->adversarial_view, buf);
    }
  else
    {
      lq_image_view_set_image (self->adversarial_view, NULL);
      lq_image_view_set_delta (self->adversarial_view, NULL);
      lq_image_view_set_probs (self->adversarial_view, NULL, -1);
      lq_image_view_set_placeholder (self->adversarial_view, self->error ? "no result" : "attacking…");
      lq_image_view_set_footer (self->adversarial_view, NULL);
    }
  lq_image_view_set_heatmap (self->adversarial_view, self->heatmap);

  /* Purified (or the decode of a hand-edited code). */
  int flipped, latent;
  flipped_stats (self, &flipped, &latent);
  int n_edited = lq_explorer_window_get_n_edited (self);
  if (self->defense && self->purifier == LQ_PURIFIER_DEFENSEGAN && !(n_edited > 0 && self->decoded))
    fill_gan_panel (self, self->purified_view);  /* a hand-edited code still shows what g decodes */
  else if (!self->defense)
    {
      lq_image_view_set_title (self->purified_view, "Purified", "LQ-VAE off");
      lq_image_view_set_image (self->purified_view, NULL);
      lq_image_view_set_probs (self->purified_view, NULL, -1);
      lq_image_view_set_placeholder (self->purified_view, "Defense off (Ctrl+L)");
      lq_image_view_set_footer (self->purified_view, NULL);
    }
  else if (r && !r->has_vae)
    {
      lq_image_view_set_title (self->purified_view, "Purified", "LQ-VAE");
      lq_image_view_set_image (self->purified_view, NULL);
      lq_image_view_set_probs (self->purified_view, NULL, -1);
      lq_image_view_set_placeholder (self->purified_view, "LQ-VAE weights not installed");
      lq_image_view_set_footer (self->purified_view, NULL);
    }
  else if (r && n_edited > 0 && self->decoded)
    {
      g_snprintf (buf, sizeof buf, "g(code) · %d bit%s flipped by hand", n_edited, n_edited == 1 ? "" : "s");
      lq_image_view_set_title (self->purified_view, "Decoded", buf);
      lq_image_view_set_image (self->purified_view, self->decoded->decoded);
      lq_image_view_set_probs (self->purified_view, self->decoded->probs[0], self->input_label);
      g_snprintf (buf, sizeof buf, "edited code decoded in %.1f ms · click the bits again to undo",
                  self->decoded->ms_total);
      lq_image_view_set_footer (self->purified_view, buf);
    }
  else if (r)
    {
      lq_image_view_set_title (self->purified_view, "Purified", "LQ-VAE");
      lq_image_view_set_image (self->purified_view, r->purified);
      lq_image_view_set_probs (self->purified_view, r->probs[2], self->input_label);
      g_snprintf (buf, sizeof buf, "%d of %d bits flipped · %.1f ms", flipped, latent, r->ms_purify);
      lq_image_view_set_footer (self->purified_view, buf);
    }
  else
    {
      lq_image_view_set_title (self->purified_view, "Purified", "LQ-VAE");
      lq_image_view_set_image (self->purified_view, NULL);
      lq_image_view_set_probs (self->purified_view, NULL, -1);
      lq_image_view_set_placeholder (self->purified_view, self->error ? "no result" : "purifying…");
      lq_image_view_set_footer (self->purified_view, NULL);
    }

  gtk_widget_set_visible (GTK_WIDGET (self->gan_view), self->purifier == LQ_PURIFIER_BOTH);
  if (self->purifier == LQ_PURIFIER_BOTH)
    fill_gan_panel (self, self->gan_view);

  /* Latent views. */
  if (r && r->has_vae)
    {
      lq_latent_grid_view_set_codes (self->grid_view, r->latent, r->mu[0], r->mu[1], r->threshold);
      lq_latent_grid_view_set_edited (self->grid_view, self->edited);
      g_snprintf (buf, sizeof buf, "Latent code · %d bits · t = %.2f", r->latent, r->threshold);
      gtk_label_set_text (self->grid_heading, buf);
      lq_histogram_view_set_current (self->hist_view, (double) flipped / latent);
    }
  else
    {
      lq_latent_grid_view_set_codes (self->grid_view, 64, NULL, NULL, 0.1f);
      lq_histogram_view_set_current (self->hist_view, -1);
    }
  LqExplorerJob *map = self->map[self->data];
  if (map && r && r->has_vae && map->latent == r->latent)
    {
      float o[2], a[2];
      lq_explorer_job_project (map, r->mu[0], o);
      lq_explorer_job_project (map, r->mu[1], a);
      lq_latent_map_view_set_markers (self->map_view, o, a);
    }
  else
    lq_latent_map_view_set_markers (self->map_view, NULL, NULL);

  if (r)
    {
      g_autofree char *timing = timing_text (self);
      gtk_label_set_text (self->timing_label, timing);
    }
}

static void
update_status (LqExplorerWindow *self)
{
  LqExplorerJob *r = self->result;
  const char *const *names = class_names (self);
  if (lq_explorer_worker_is_busy (self->worker, LQ_JOB_IMPORT))
    {
      gtk_label_set_text (self->status_label, "Reading the image…");
      return;
    }
  if (!r)
    {
      gtk_label_set_text (self->status_label, self->error ? "" : "Working…");
      return;
    }
  int p0 = lq_image_view_get_prediction (self->original_view, NULL);
  int p1 = lq_image_view_get_prediction (self->adversarial_view, NULL);
  gboolean lq_shown = self->defense && self->purifier != LQ_PURIFIER_DEFENSEGAN;
  int p2 = lq_shown && r->has_vae ? lq_image_view_get_prediction (self->purified_view, NULL) : -1;
  const LqExplorerJob *g = lq_explorer_window_get_gan_result (self);
  int p3 = self->defense && g && g->has_gan ? g->gan_pred : -1;
  const char *verdict = p1 != p0 ? "the attack changed the prediction" : "the attack did not change the prediction";
  if (p0 < 0 || p1 < 0)
    {
      gtk_label_set_text (self->status_label, "");
      return;
    }
  GString *text = g_string_new (NULL);
  g_string_printf (text, "Classifier %s on %s: %s → %s (%s)", lq_arch_name (self->arch),
                   lq_data_kind_title (self->data), names[p0], names[p1], verdict);
  if (p2 >= 0)
    g_string_append_printf (text, "; LQ-VAE gives back %s", names[p2]);
  if (p3 >= 0)
    g_string_append_printf (text, "; Defense-GAN gives back %s", names[p3]);
  g_string_append_c (text, '.');
  gtk_label_set_text (self->status_label, text->str);
  g_string_free (text, TRUE);
}

/* ------------------------------------------------------------------ Defense-GAN */

static const char *const purifier_ids[LQ_N_PURIFIERS] = { "lqvae", "defensegan", "both" };

const char *
lq_explorer_purifier_id (LqExplorerPurifier p)
{
  return p < LQ_N_PURIFIERS ? purifier_ids[p] : purifier_ids[0];
}

gboolean
lq_explorer_purifier_from_id (const char *id, LqExplorerPurifier *p)
{
  for (int i = 0; i < LQ_N_PURIFIERS; i++)
    if (id && g_ascii_strcasecmp (id, purifier_ids[i]) == 0)
      {
        *p = i;
        return TRUE;
      }
  return FALSE;
}

static gboolean
wants_gan (LqExplorerWindow *self)
{
  return self->defense && self->purifier != LQ_PURIFIER_LQVAE;
}

const LqExplorerJob *
lq_explorer_window_get_gan_result (LqExplorerWindow *self)
{
  /* A result belongs to one adversarial image: for any other it would be stale. */
  LqExplorerJob *r = self->result, *g = self->gan;
  if (!r || !g || g->data != r->data || g->arch != r->arch
      || memcmp (g->image, r->adv, sizeof g->image) != 0)
    return NULL;
  return g;
}

LqImageView *
lq_explorer_window_get_gan_panel (LqExplorerWindow *self)
{
  return self->purifier == LQ_PURIFIER_BOTH ? self->gan_view
         : self->purifier == LQ_PURIFIER_DEFENSEGAN ? self->purified_view : NULL;
}

/* What to type when no generator is installed (training takes days on two cores). */
static char *
gan_install_hint (LqExplorerWindow *self)
{
  const char *name = lq_data_kind_name (self->data);
  return g_strdup_printf ("Defense-GAN is not installed: there is no %s-defensegan.safetensors. Make "
                          "one with `lq train defensegan --data %s` (days of CPU at the reference "
                          "length; --steps N for a shorter run), then move %s-defensegan.safetensors "
                          "into data/ (or start the explorer with --gan-file FILE).",
                          name, name, name);
}

static void
fill_gan_panel (LqExplorerWindow *self, LqImageView *view)
{
  const LqExplorerJob *g = lq_explorer_window_get_gan_result (self);
  gboolean running = lq_explorer_worker_is_busy (self->worker, LQ_JOB_GAN_PURIFY);
  char buf[256];
  lq_image_view_set_title (view, "Purified", "Defense-GAN");
  lq_image_view_set_busy (view, lq_explorer_worker_is_busy (self->worker, LQ_JOB_ANALYZE));
  if (self->defense && g && g->has_gan)
    {
      lq_image_view_set_image (view, g->purified);
      lq_image_view_set_probs (view, g->probs[2], self->input_label);
      g_snprintf (buf, sizeof buf, "L %d × R %d · %.1f ms", g->search.steps, g->search.restarts,
                  g->ms_purify);
      lq_image_view_set_footer (view, buf);
      return;
    }
  lq_image_view_set_image (view, NULL);
  lq_image_view_set_probs (view, NULL, -1);
  if (!self->defense)
    {
      lq_image_view_set_placeholder (view, "Defense off (Ctrl+L)");
      lq_image_view_set_footer (view, NULL);
    }
  else if (g && g->gan_missing)
    {
      g_snprintf (buf, sizeof buf, "Defense-GAN generator\nnot installed. Make one:\nlq train defensegan\n--data %s",
                  lq_data_kind_name (self->data));
      lq_image_view_set_placeholder (view, buf);
      lq_image_view_set_footer (view, "then move it into data/");
    }
  else if (g)
    {
      lq_image_view_set_placeholder (view, "Defense-GAN\nnot available");
      lq_image_view_set_footer (view, "see the message below");
    }
  else if (running)
    {
      g_snprintf (buf, sizeof buf, "searching z… %.0f %%", 100 * self->gan_fraction);
      lq_image_view_set_placeholder (view, buf);
      g_snprintf (buf, sizeof buf, "L %d × R %d · Escape cancels",
                  self->gan_search.steps, self->gan_search.restarts);
      lq_image_view_set_footer (view, buf);
    }
  else if (self->gan_cancelled)
    {
      lq_image_view_set_placeholder (view, "cancelled");
      lq_image_view_set_footer (view, "choose Defense-GAN again to restart");
    }
  else
    {
      lq_image_view_set_placeholder (view, self->error ? "no result" : "waiting for the attack…");
      lq_image_view_set_footer (view, NULL);
    }
}

static void
format_ms (double ms, char *buf, gsize n)
{
  if (ms < 1000)
    g_snprintf (buf, n, "%.1f ms", ms);
  else
    g_snprintf (buf, n, "%.2f s", ms / 1000);
}

/* The status bar's times; with Defense-GAN, both purifiers' and their ratio (the seed's speed
 * claim: one encoder and one decoder pass against L × R generator passes). */
static char *
timing_text (LqExplorerWindow *self)
{
  LqExplorerJob *r = self->result;
  const LqExplorerJob *g = lq_explorer_window_get_gan_result (self);
  if (!wants_gan (self) || !r->has_vae)
    return g_strdup_printf ("attack %.1f · purify %.1f · classify %.1f · total %.1f ms",
                            r->ms_attack, r->ms_purify, r->ms_classify, r->ms_total);
  char lq[32], gan[64];
  format_ms (r->ms_purify, lq, sizeof lq);
  if (g && g->has_gan)
    {
      format_ms (g->ms_purify, gan, sizeof gan);
      double ratio = g->ms_purify / MAX (r->ms_purify, 1e-3);
      return g_strdup_printf ("attack %.1f ms · LQ-VAE %s · Defense-GAN %s (1 : %.*f)", r->ms_attack,
                              lq, gan, ratio < 10 ? 1 : 0, ratio);
    }
  const char *state = g ? (g->gan_missing ? "not installed" : "not available")
                      : self->gan_cancelled ? "cancelled" : "searching…";
  return g_strdup_printf ("attack %.1f ms · LQ-VAE %s · Defense-GAN %s", r->ms_attack, lq, state);
}

const char *
lq_explorer_window_get_timing_text (LqExplorerWindow *self)
{
  return gtk_label_get_text (self->timing_label);
}

static void
on_gan_progress (LqExplorerWorker *w, const LqExplorerJob *partial, double fraction,
                 const char *status, gpointer data)
{
  LqExplorerWindow *self = data;
  self->gan_fraction = fraction;
  /* The bar and the panel show it; the status line keeps the verdict LQ-VAE already gave. */
  set_progress (self, TRUE, fraction);
  LqImageView *view = lq_explorer_window_get_gan_panel (self);
  if (view)
    fill_gan_panel (self, view);
}

static void
on_gan_done (LqExplorerWorker *w, LqExplorerJob *job, const GError *error, gpointer data)
{
  LqExplorerWindow *self = data;
  set_progress (self, FALSE, 0);
  g_clear_pointer (&self->gan, lq_explorer_job_free);
  if (error)
    {
      g_autofree char *m = g_strdup_printf ("Defense-GAN failed: %s", error->message);
      lq_explorer_window_show_error (self, m);
    }
  else
    {
      self->gan = copy_result (job);
      if (job->has_gan && self->error && g_str_has_prefix (self->error, "Defense-GAN"))
        lq_explorer_window_dismiss_error (self);
      else if (!job->has_gan && !self->error)
        {
          g_autofree char *m = job->gan_missing ? gan_install_hint (self)
                               : g_strdup_printf ("Defense-GAN is not available: %s", job->gan_error);
          lq_explorer_window_show_error (self, m);
        }
    }
  update_views (self);
  update_status (self);
  lq_explorer_actions_update (self);
}

/* After each analysis (and when the choice, file or settings change): search for the adversarial
 * image on screen unless its result is there already. A newer request cancels an older search. */
static void
request_gan (LqExplorerWindow *self)
{
  lq_explorer_worker_cancel (self->worker, LQ_JOB_GAN_PURIFY);
  self->gan_cancelled = FALSE;
  self->gan_fraction = 0;
  if (wants_gan (self) && self->result && !lq_explorer_window_get_gan_result (self))
    {
      LqExplorerJob *job = lq_explorer_job_new (LQ_JOB_GAN_PURIFY);
      job->data = self->result->data;
      job->arch = self->result->arch;
      job->label = self->input_label;
      job->search = self->gan_search;
      job->gan_file = g_strdup (self->gan_file);
      memcpy (job->image, self->result->adv, sizeof job->image);
      lq_explorer_worker_submit (self->worker, job, on_gan_progress, on_gan_done, self);
      set_progress (self, TRUE, 0);
    }
  else if (!lq_explorer_worker_is_busy (self->worker, LQ_JOB_ANALYZE))
    set_progress (self, FALSE, 0);
  update_views (self);
  lq_explorer_actions_update (self);
}

void
lq_explorer_window_set_purifier (LqExplorerWindow *self, LqExplorerPurifier purifier)
{
  if (purifier >= LQ_N_PURIFIERS)
    return;
  self->purifier = purifier;
  self->syncing++;
  gtk_drop_down_set_selected (self->purifier_dropdown, purifier);
  self->syncing--;
  if (purifier == LQ_PURIFIER_LQVAE && self->error && g_str_has_prefix (self->error, "Defense-GAN"))
    lq_explorer_window_dismiss_error (self);
  /* Choosing it again after a Cancel restarts the search. */
  request_gan (self);
  update_status (self);
  lq_explorer_actions_sync_state (self);
}

LqExplorerPurifier
lq_explorer_window_get_purifier (LqExplorerWindow *self)
{
  return self->purifier;
}

void
lq_explorer_window_set_gan_file (LqExplorerWindow *self, const char *path)
{
  g_free (self->gan_file);
  self->gan_file = g_strdup (path);
  g_clear_pointer (&self->gan, lq_explorer_job_free);
  request_gan (self);
}

void
lq_explorer_window_set_gan_search (LqExplorerWindow *self, const LqGanSearch *search)
{
  self->gan_search = *search;
  g_clear_pointer (&self->gan, lq_explorer_job_free);
  request_gan (self);
}

LqGanSearch
lq_explorer_window_get_gan_search (LqExplorerWindow *self)
{
  return self->gan_search;
}

/* ------------------------------------------------------------------ latent edits */

static void
on_decode_done (LqExplorerWorker *w, LqExplorerJob *job, const GError *error, gpointer data)
{
  LqExplorerWindow *self = data;
  if (error)
    lq_explorer_window_show_error (self, error->message);
  else
    {
      g_clear_pointer (&self->decoded, lq_explorer_job_free);
      self->decoded = copy_result (job);
    }
  update_views (self);
  lq_explorer_actions_update (self);
}

static void
request_decode (LqExplorerWindow *self)
{
  LqExplorerJob *r = self->result;
  if (lq_explorer_window_get_n_edited (self) == 0)
    {
      lq_explorer_worker_cancel (self->worker, LQ_JOB_DECODE);
      g_clear_pointer (&self->decoded, lq_explorer_job_free);
      update_views (self);
      lq_explorer_actions_update (self);
      return;
    }
  LqExplorerJob *job = lq_explorer_job_new (LQ_JOB_DECODE);
  job->data = self->data;
  job->arch = self->arch;
  for (int i = 0; i < r->latent; i++)
    {
      float h = fabsf (r->mu[1][i]) < r->threshold ? 1.f : -1.f;
      job->code[i] = self->edited[i] ? -h : h;
    }
  lq_explorer_worker_submit (self->worker, job, NULL, on_decode_done, self);
  lq_image_view_set_busy (self->purified_view, TRUE);
  lq_explorer_actions_update (self);
}

void
lq_explorer_window_flip_bit (LqExplorerWindow *self, int i)
{
  if (!self->result || !self->result->has_vae || i < 0 || i >= self->result->latent)
    return;
  self->edited[i] ^= 1;
  lq_latent_grid_view_set_edited (self->grid_view, self->edited);
  request_decode (self);
}

void
lq_explorer_window_reset_code (LqExplorerWindow *self)
{
  memset (self->edited, 0, sizeof self->edited);
  lq_latent_grid_view_set_edited (self->grid_view, self->edited);
  request_decode (self);
}

int
lq_explorer_window_get_n_edited (LqExplorerWindow *self)
{
  int n = 0;
  for (int i = 0; i < LQ_EXPLORER_LATENT_MAX; i++)
    n += self->edited[i];
  return n;
}

static void
on_cell_activated (LqLatentGridView *grid, int i, LqExplorerWindow *self)
{
  lq_explorer_window_flip_bit (self, i);
}

/* ------------------------------------------------------------------ map and histogram */

static void
on_map_progress (LqExplorerWorker *w, const LqExplorerJob *partial, double fraction,
                 const char *status, gpointer data)
{
  LqExplorerWindow *self = data;
  g_autofree char *text = g_strdup_printf ("encoding test images… %.0f %%", 100 * fraction);
  lq_latent_map_view_set_status (self->map_view, text);
}

static void
on_map_done (LqExplorerWorker *w, LqExplorerJob *job, const GError *error, gpointer data)
{
  LqExplorerWindow *self = data;
  if (error)
    {
      g_autofree char *text = g_strdup_printf ("no map: %s", error->message);
      lq_latent_map_view_set_status (self->map_view, text);
      return;
    }
  g_clear_pointer (&self->map[job->data], lq_explorer_job_free);
  self->map[job->data] = copy_result (job);
  if (!map_cache[job->data] || map_cache[job->data]->n_points < job->n_points)
    {
      g_clear_pointer (&map_cache[job->data], lq_explorer_job_free);
      map_cache[job->data] = copy_result (job);
    }
  if (job->data == self->data)
    request_map (self);
  update_views (self);
}

static void
request_map (LqExplorerWindow *self)
{
  LqExplorerSamples *s = cur_samples (self);
  int want = MIN (MAP_CODES, s->n);
  if (!self->map[self->data] && map_cache[self->data] && map_cache[self->data]->n_points >= want)
    self->map[self->data] = copy_result (map_cache[self->data]);
  LqExplorerJob *map = self->map[self->data];
  if (map && map->n_points >= want)
    {
      lq_latent_map_view_set_points (self->map_view, map->n_points, map->xy, map->labels);
      lq_latent_map_view_set_status (self->map_view, NULL);
      g_autofree char *h = g_strdup_printf ("Latent map · PCA of %d test codes", map->n_points);
      gtk_label_set_text (self->map_heading, h);
      return;
    }
  if (lq_explorer_worker_is_busy (self->worker, LQ_JOB_MAP))
    return;
  LqExplorerJob *job = lq_explorer_job_new (LQ_JOB_MAP);
  job->data = self->data;
  job->n = want;
  job->samples = lq_explorer_samples_ref (s);
  lq_latent_map_view_set_status (self->map_view, "encoding test images…");
  lq_explorer_worker_submit (self->worker, job, on_map_progress, on_map_done, self);
}

static void
set_hist_heading (LqExplorerWindow *self, int n)
{
  LqAttackParams p = lq_explorer_window_get_params (self);
  g_autofree char *sub = attack_subtitle (self, &p);
  g_autofree char *h = g_strdup_printf ("Bit flips · %d test images · %s", n, sub);
  gtk_label_set_text (self->hist_heading, h);
}

static void
on_hist_progress (LqExplorerWorker *w, const LqExplorerJob *partial, double fraction,
                  const char *status, gpointer data)
{
  LqExplorerWindow *self = data;
  if (partial->done > 0)
    lq_histogram_view_set_data (self->hist_view, partial->done, partial->n, partial->fractions,
                                partial->correct);
  g_autofree char *text = g_strdup_printf ("computing… %s", status ? status : "");
  lq_histogram_view_set_status (self->hist_view, text);
}

static void
on_hist_done (LqExplorerWorker *w, LqExplorerJob *job, const GError *error, gpointer data)
{
  LqExplorerWindow *self = data;
  if (error)
    {
      g_autofree char *text = g_strdup_printf ("no histogram: %s", error->message);
      lq_histogram_view_set_data (self->hist_view, 0, 0, NULL, NULL);
      lq_histogram_view_set_status (self->hist_view, text);
    }
  else
    {
      lq_histogram_view_set_data (self->hist_view, job->done, job->n, job->fractions, job->correct);
      int right = 0;
      for (int i = 0; i < job->done; i++)
        right += job->correct[i];
      g_autofree char *text = g_strdup_printf ("purified accuracy %.1f %% over %d", 100.0 * right / MAX (job->done, 1), job->done);
      lq_histogram_view_set_status (self->hist_view, text);
      set_hist_heading (self, job->done);
    }
  lq_explorer_actions_update (self);
}

void
lq_explorer_window_compute_histogram (LqExplorerWindow *self)
{
  g_clear_handle_id (&self->hist_timeout, g_source_remove);
  self->hist_wanted = TRUE;
  if (!self->dataset_tried[self->data])
    {
      /* It runs on the test split: once that is loaded (or known missing), it starts. */
      lq_histogram_view_set_status (self->hist_view, "waiting for the test split…");
      return;
    }
  LqExplorerJob *job = lq_explorer_job_new (LQ_JOB_HISTOGRAM);
  job->data = self->data;
  job->arch = self->arch;
  job->attack = self->attack;
  job->params = lq_explorer_window_get_params (self);
  job->target = self->target;
  job->n = MIN (self->hist_n, cur_samples (self)->n);
  job->samples = lq_explorer_samples_ref (cur_samples (self));
  set_hist_heading (self, job->n);
  lq_histogram_view_set_data (self->hist_view, 0, job->n, NULL, NULL);
  lq_histogram_view_set_status (self->hist_view, "computing…");
  lq_explorer_worker_submit (self->worker, job, on_hist_progress, on_hist_done, self);
  lq_explorer_actions_update (self);
}

static gboolean
hist_timeout_cb (gpointer data)
{
  LqExplorerWindow *self = data;
  self->hist_timeout = 0;
  lq_explorer_window_compute_histogram (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_histogram (LqExplorerWindow *self)
{
  if (!self->worker || !self->hist_wanted)
    return;
  lq_explorer_worker_cancel (self->worker, LQ_JOB_HISTOGRAM);
  /* The data set first: the histogram runs on the test split once it is there. */
  if (!self->dataset_tried[self->data])
    return;
  g_clear_handle_id (&self->hist_timeout, g_source_remove);
  self->hist_timeout = g_timeout_add (HISTOGRAM_DELAY_MS, hist_timeout_cb, self);
  lq_histogram_view_set_status (self->hist_view, "waiting for the settings to settle…");
}

void
lq_explorer_window_set_histogram_size (LqExplorerWindow *self, int n)
{
  gtk_adjustment_set_value (self->hist_n_adjustment, n);
}

static void
on_hist_n_changed (GtkAdjustment *adj, LqExplorerWindow *self)
{
  self->hist_n = (int) gtk_adjustment_get_value (adj);
  schedule_histogram (self);
}

void
lq_explorer_window_cancel (LqExplorerWindow *self)
{
  gboolean analysis = lq_explorer_worker_is_busy (self->worker, LQ_JOB_ANALYZE);
  gboolean hist = lq_explorer_worker_is_busy (self->worker, LQ_JOB_HISTOGRAM) || self->hist_timeout;
  gboolean gan = lq_explorer_worker_is_busy (self->worker, LQ_JOB_GAN_PURIFY);
  lq_explorer_worker_cancel (self->worker, LQ_JOB_ANALYZE);
  lq_explorer_worker_cancel (self->worker, LQ_JOB_GAN_PURIFY);
  lq_explorer_worker_cancel (self->worker, LQ_JOB_DECODE);
  lq_explorer_worker_cancel (self->worker, LQ_JOB_HISTOGRAM);
  lq_explorer_worker_cancel (self->worker, LQ_JOB_IMPORT);
  g_clear_handle_id (&self->hist_timeout, g_source_remove);
  set_progress (self, FALSE, 0);
  if (hist)
    lq_histogram_view_set_status (self->hist_view, "cancelled · press Compute (Ctrl+B)");
  self->gan_cancelled |= gan;
  update_views (self);
  if (analysis)
    gtk_label_set_text (self->status_label, "Cancelled: the panels show the last finished result.");
  else if (gan)
    gtk_label_set_text (self->status_label, "Cancelled the Defense-GAN search: choose Defense-GAN again to restart it.");
  lq_explorer_actions_update (self);
}

gboolean
lq_explorer_window_is_busy (LqExplorerWindow *self, gboolean include_background)
{
  for (int k = 0; k < LQ_N_JOB_KINDS; k++)
    if (lq_explorer_worker_is_busy (self->worker, k) && (include_background || k != LQ_JOB_HISTOGRAM))
      return TRUE;
  return include_background && self->hist_timeout != 0;
}

LqExplorerWorker *
lq_explorer_window_get_worker (LqExplorerWindow *self)
{
  return self->worker;
}

/* ------------------------------------------------------------------ accessors */

const LqExplorerJob *
lq_explorer_window_get_result (LqExplorerWindow *self)
{
  return self->result;
}

const LqExplorerJob *
lq_explorer_window_get_decoded (LqExplorerWindow *self)
{
  return self->decoded;
}

LqImageView *
lq_explorer_window_get_panel (LqExplorerWindow *self, LqExplorerRole role)
{
  return role == LQ_ROLE_ORIGINAL ? self->original_view
         : role == LQ_ROLE_ADVERSARIAL ? self->adversarial_view : self->purified_view;
}

LqLatentGridView *
lq_explorer_window_get_grid (LqExplorerWindow *self)
{
  return self->grid_view;
}

LqLatentMapView *
lq_explorer_window_get_map (LqExplorerWindow *self)
{
  return self->map_view;
}

LqHistogramView *
lq_explorer_window_get_histogram (LqExplorerWindow *self)
{
  return self->hist_view;
}

GtkWidget *
lq_explorer_window_get_panels_box (LqExplorerWindow *self)
{
  return self->panels_box;
}

gboolean
lq_explorer_window_has_result (LqExplorerWindow *self)
{
  return self->result != NULL;
}

/* ------------------------------------------------------------------ export */

#define EXPORT_PANEL_W 320
#define EXPORT_PANEL_H 440

GdkTexture *
lq_explorer_window_render_comparison (LqExplorerWindow *self)
{
  LqImageView *panels[] = { self->original_view, self->adversarial_view, self->purified_view, self->gan_view };
  int n = self->purifier == LQ_PURIFIER_BOTH ? 4 : 3;
  int w = n * EXPORT_PANEL_W, h = EXPORT_PANEL_H + 30;
  LqExplorerPalette p;
  lq_explorer_palette_for_widget (GTK_WIDGET (self->original_view), &p);
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create (s);
  gdk_cairo_set_source_rgba (cr, &p.bg);
  cairo_paint (cr);
  for (int i = 0; i < n; i++)
    {
      cairo_save (cr);
      cairo_translate (cr, i * EXPORT_PANEL_W, 0);
      lq_image_view_draw (panels[i], cr, EXPORT_PANEL_W, EXPORT_PANEL_H, &p);
      cairo_restore (cr);
    }
  g_autofree char *caption = g_strdup_printf ("LQ-VAE Explorer · %s · classifier %s · %s",
                                              lq_data_kind_title (self->data), lq_arch_name (self->arch),
                                              gtk_label_get_text (self->timing_label));
  g_autofree char *esc = g_markup_escape_text (caption, -1);
  lq_explorer_draw_text (cr, &p, esc, 12, EXPORT_PANEL_H + 6, 12, LQ_ALIGN_LEFT, &p.dim, FALSE, w - 24, NULL);
  cairo_destroy (cr);
  cairo_surface_flush (s);
  GBytes *bytes = g_bytes_new (cairo_image_surface_get_data (s), (gsize) cairo_image_surface_get_stride (s) * h);
  GdkTexture *t = gdk_memory_texture_new (w, h, GDK_MEMORY_DEFAULT, bytes, cairo_image_surface_get_stride (s));
  g_bytes_unref (bytes);
  cairo_surface_destroy (s);
  return t;
}

static gboolean
replace_file (GFile *file, GBytes *bytes, GError **error)
{
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  return g_file_replace_contents (file, data, len, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                  NULL, NULL, error);
}

gboolean
lq_explorer_window_export_comparison (LqExplorerWindow *self, GFile *file, GError **error)
{
  g_autoptr (GdkTexture) t = lq_explorer_window_render_comparison (self);
  g_autoptr (GBytes) png = gdk_texture_save_to_png_bytes (t);
  return replace_file (file, png, error);
}

gboolean
lq_explorer_window_export_adversarial (LqExplorerWindow *self, GFile *file, GError **error)
{
  if (!self->result)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "There is no adversarial image yet");
      return FALSE;
    }
  /* The exact 28×28 pixels, 8-bit grey (as RGB): what a researcher feeds elsewhere. */
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 28, 28);
  guint8 *px = gdk_pixbuf_get_pixels (pb);
  int stride = gdk_pixbuf_get_rowstride (pb);
  for (int r = 0; r < 28; r++)
    for (int c = 0; c < 28; c++)
      {
        float v = CLAMP (self->result->adv[r * 28 + c], 0.f, 1.f);
        guint8 g = (guint8) lroundf (v * 255);
        px[r * stride + 3 * c] = px[r * stride + 3 * c + 1] = px[r * stride + 3 * c + 2] = g;
      }
  gchar *buf = NULL;
  gsize len = 0;
  if (!gdk_pixbuf_save_to_buffer (pb, &buf, &len, "png", error, NULL))
    return FALSE;
  g_autoptr (GBytes) bytes = g_bytes_new_take (buf, len);
  return replace_file (file, bytes, error);
}

typedef struct {
  LqExplorerWindow *self;
  gboolean adversarial_only;
} ExportData;

static void
on_export_response (GtkNativeDialog *dialog, int response, gpointer data)
{
  ExportData *ed = data;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autoptr (GError) error = NULL;
      gboolean ok = ed->adversarial_only ? lq_explorer_window_export_adversarial (ed->self, file, &error)
                                         : lq_explorer_window_export_comparison (ed->self, file, &error);
      if (!ok)
        lq_explorer_window_show_error (ed->self, error->message);
      else
        {
          g_autofree char *name = g_file_get_basename (file);
          g_autofree char *text = g_strdup_printf ("Saved “%s”.", name);
          gtk_label_set_text (ed->self->status_label, text);
        }
    }
  g_free (ed);
  g_object_unref (dialog);
}

void
lq_explorer_window_export_dialog (LqExplorerWindow *self, gboolean adversarial_only)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (
    adversarial_only ? "Save the Adversarial Image" : "Save the Comparison", GTK_WINDOW (self),
    GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
  g_autofree char *name = NULL;
  const char *what = self->source == LQ_SOURCE_SAMPLE ? NULL : self->source == LQ_SOURCE_FILE ? "image" : "drawing";
  g_autofree char *which = what ? g_strdup (what) : g_strdup_printf ("%d", self->index);
  name = g_strdup_printf ("%s-%s-%s-%s%s.png", lq_data_kind_name (self->data), which,
                          lq_arch_name (self->arch), lq_explorer_attack_id (self->attack),
                          adversarial_only ? "-adversarial" : "-comparison");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  ExportData *ed = g_new0 (ExportData, 1);
  ed->self = self;
  ed->adversarial_only = adversarial_only;
  g_signal_connect (dialog, "response", G_CALLBACK (on_export_response), ed);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

void
lq_explorer_window_copy (LqExplorerWindow *self)
{
  g_autoptr (GdkTexture) t = lq_explorer_window_render_comparison (self);
  gdk_clipboard_set_texture (gtk_widget_get_clipboard (GTK_WIDGET (self)), t);
  gtk_label_set_text (self->status_label, "Copied the comparison to the clipboard.");
}

/* ------------------------------------------------------------------ GObject */

static void
lq_explorer_window_dispose (GObject *object)
{
  LqExplorerWindow *self = LQ_EXPLORER_WINDOW (object);
  g_clear_handle_id (&self->hist_timeout, g_source_remove);
  if (self->worker)
    {
      lq_explorer_worker_shutdown (self->worker);
      g_clear_object (&self->worker);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), LQ_TYPE_EXPLORER_WINDOW);
  G_OBJECT_CLASS (lq_explorer_window_parent_class)->dispose (object);
}

static void
lq_explorer_window_finalize (GObject *object)
{
  LqExplorerWindow *self = LQ_EXPLORER_WINDOW (object);
  for (int d = 0; d < 2; d++)
    {
      g_clear_pointer (&self->samples[d], lq_explorer_samples_unref);
      g_clear_pointer (&self->map[d], lq_explorer_job_free);
    }
  g_clear_pointer (&self->result, lq_explorer_job_free);
  g_clear_pointer (&self->decoded, lq_explorer_job_free);
  g_clear_pointer (&self->gan, lq_explorer_job_free);
  g_free (self->gan_file);
  g_free (self->source_name);
  g_free (self->error);
  g_rand_free (self->rand);
  G_OBJECT_CLASS (lq_explorer_window_parent_class)->finalize (object);
}

static void
lq_explorer_window_class_init (LqExplorerWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = lq_explorer_window_dispose;
  object_class->finalize = lq_explorer_window_finalize;

  /* Referencing the resource keeps its object (and constructor) in the static link. */
  (void) lq_explorer_get_resource ();
  g_type_ensure (LQ_TYPE_IMAGE_VIEW);
  g_type_ensure (LQ_TYPE_LATENT_GRID_VIEW);
  g_type_ensure (LQ_TYPE_LATENT_MAP_VIEW);
  g_type_ensure (LQ_TYPE_HISTOGRAM_VIEW);
  g_type_ensure (LQ_TYPE_SKETCH_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/lqvae/Explorer/ui/lq-explorer-window.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, LqExplorerWindow, name)
  CHILD (draw_button);
  CHILD (data_dropdown);
  CHILD (model_dropdown);
  CHILD (attack_dropdown);
  CHILD (cw_preset_dropdown);
  CHILD (target_dropdown);
  CHILD (filter_dropdown);
  CHILD (purifier_dropdown);
  CHILD (defense_button);
  CHILD (export_button);
  CHILD (param_stack);
  CHILD (attack_heading);
  CHILD (eps_value);
  CHILD (source_label);
  CHILD (grid_heading);
  CHILD (map_heading);
  CHILD (hist_heading);
  CHILD (error_label);
  CHILD (status_label);
  CHILD (timing_label);
  CHILD (eps_adjustment);
  CHILD (steps_adjustment);
  CHILD (step_adjustment);
  CHILD (overshoot_adjustment);
  CHILD (maxiter_adjustment);
  CHILD (kappa_adjustment);
  CHILD (cw_iter_adjustment);
  CHILD (cw_search_adjustment);
  CHILD (index_adjustment);
  CHILD (hist_n_adjustment);
  CHILD (iter_grid);
  CHILD (panels_box);
  CHILD (eps_scale);
  CHILD (index_spin);
  CHILD (help_label);
  CHILD (targeted_switch);
  CHILD (sketch_revealer);
  CHILD (error_revealer);
  CHILD (progress_bar);
  CHILD (cancel_button);
  CHILD (sketch_view);
  CHILD (original_view);
  CHILD (adversarial_view);
  CHILD (purified_view);
  CHILD (gan_view);
  CHILD (grid_view);
  CHILD (map_view);
  CHILD (hist_view);
#undef CHILD
}

static void
lq_explorer_window_init (LqExplorerWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->worker = lq_explorer_worker_new ();
  self->rand = g_rand_new_with_seed (17);
  self->defense = TRUE;
  self->filter = -1;
  self->target = 0;
  self->hist_n = 200;
  self->hist_wanted = TRUE;
  self->input_label = -1;
  self->data = LQ_DATA_MNIST;
  self->arch = LQ_ARCH_A;
  self->attack = LQ_EXPLORER_ATTACK_FGSM;
  for (int a = 0; a < LQ_EXPLORER_N_ATTACKS; a++)
    self->params[a] = lq_explorer_attack_defaults (a);
  for (int d = 0; d < 2; d++)
    {
      g_autoptr (GError) error = NULL;
      self->samples[d] = lq_explorer_samples_load_bundled (d, &error);
      if (!self->samples[d])
        g_error ("the bundled samples are missing from the GResource: %s", error->message);
    }
  lq_image_view_set_role (self->original_view, LQ_ROLE_ORIGINAL);
  lq_image_view_set_role (self->adversarial_view, LQ_ROLE_ADVERSARIAL);
  lq_image_view_set_role (self->purified_view, LQ_ROLE_PURIFIED);
  lq_image_view_set_role (self->gan_view, LQ_ROLE_PURIFIED);
  self->gan_search = lq_gan_search_defaults ();

  GtkDropDown *dds[] = { self->data_dropdown, self->model_dropdown, self->attack_dropdown,
                         self->target_dropdown, self->filter_dropdown, self->purifier_dropdown };
  for (guint i = 0; i < G_N_ELEMENTS (dds); i++)
    g_signal_connect (dds[i], "notify::selected", G_CALLBACK (on_dropdown_selected), self);
  g_signal_connect (self->cw_preset_dropdown, "notify::selected", G_CALLBACK (on_cw_preset), self);
  GtkAdjustment *adjs[] = { self->eps_adjustment, self->steps_adjustment, self->step_adjustment,
                            self->overshoot_adjustment, self->maxiter_adjustment, self->kappa_adjustment,
                            self->cw_iter_adjustment, self->cw_search_adjustment };
  for (guint i = 0; i < G_N_ELEMENTS (adjs); i++)
    g_signal_connect (adjs[i], "value-changed", G_CALLBACK (on_param_value_changed), self);
  g_signal_connect (self->index_adjustment, "value-changed", G_CALLBACK (on_index_changed), self);
  g_signal_connect (self->hist_n_adjustment, "value-changed", G_CALLBACK (on_hist_n_changed), self);
  g_signal_connect (self->sketch_view, "changed", G_CALLBACK (on_sketch_changed), self);
  g_signal_connect (self->grid_view, "cell-activated", G_CALLBACK (on_cell_activated), self);

  GtkDropTarget *drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, (GType[]) { GDK_TYPE_FILE_LIST, G_TYPE_FILE, GDK_TYPE_TEXTURE }, 3);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  lq_explorer_actions_install (self);
  fill_class_dropdowns (self);
  sync_param_widgets (self);
  gtk_adjustment_set_upper (self->index_adjustment, cur_samples (self)->n - 1);
  lq_explorer_window_show_sample (self, 0);
  request_dataset (self);
  lq_explorer_actions_sync_state (self);
  lq_explorer_actions_update (self);
}

LqExplorerWindow *
lq_explorer_window_new (GtkApplication *app)
{
  return g_object_new (LQ_TYPE_EXPLORER_WINDOW, "application", app, NULL);
}

/* lq-cmd-figure.c: `lq figure bitflips|latent-map|eps-curve` — the figures of docs/RESULTS.md as
 * PNG, computed with the evaluation loop of `lq eval` and drawn by lq-figure.c. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lq-cli-util.h"
#include "lq-cmd.h"
#include "lq-error.h"
#include "lq-eval-cell.h"
#include "lq-figure.h"
#include "lq-table-run.h"
#include "lq-tsne.h"

typedef struct {
  LqDataKind data;
  LqArch arch;
  int n;
  const char *preset;
  LqModelStore *store;
  const char *out;
  int width, height;
  guint64 seed;
  char *cache;
} Options;

static gboolean
save (cairo_surface_t *surface, const char *out, GError **error)
{
  if (!lq_figure_write_png (surface, out, error))
    return FALSE;
  fprintf (stderr, "wrote %s\n", out);
  return TRUE;
}

/* The classifier and LQ-VAE a latent figure needs; a missing one names its `lq train` command. */
static gboolean
load_pair (Options *o, LqClassifier **clf, LqVae **vae, GError **error)
{
  const char *sha, *cmd = NULL;
  *clf = lq_model_store_classifier (o->store, o->data, o->arch, "", &sha, &cmd, error);
  if (*clf)
    *vae = lq_model_store_vae (o->store, o->data, &sha, &cmd, error);
  if (cmd)
    g_set_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA, "a model is not trained; make it with: %s", cmd);
  return *clf && *vae;
}

/* CW on the classifier, the LQ-VAE purifying: per-image bit flips, correctness and codes. */
static gboolean
cw_codes (Options *o, LqEvalCell *cell, LqDataset **test, GError **error)
{
  LqClassifier *clf;
  LqVae *vae;
  if (!load_pair (o, &clf, &vae, error))
    return FALSE;
  *test = lq_dataset_load_prefix (o->data, LQ_SPLIT_TEST, o->n, error);
  if (*test == NULL)
    return FALSE;
  LqAttackParams ap = lq_attack_defaults (LQ_ATTACK_CW);
  if (!lq_attack_cw_preset (o->preset, &ap, error))
    return FALSE;
  const int L = lq_vae_config (vae)->latent;
  *cell = (LqEvalCell) { .clf = clf, .vae = vae, .n = o->n };
  cell->bit_fractions = g_new0 (float, o->n);
  cell->adv_correct = g_new0 (guint8, o->n);
  cell->mu_clean = g_new0 (float, (size_t) o->n * L);
  cell->mu_adv = g_new0 (float, (size_t) o->n * L);
  g_autoptr (LqTarget) target = lq_target_new_classifier (clf->net);
  LqCliProgress progress = { .label = "cw", .unit = "img" };
  LqMonitor monitor = { lq_cli_progress_cb, &progress, NULL };
  LqEvalCell *cells[] = { cell };
  if (!lq_eval_cells (*test, target, &ap, cells, 1, 100, NULL, NULL, &monitor, error))
    return FALSE;
  fprintf (stderr, "CW (%s) on %s classifier %s, %d images: %.2f %% of bits flipped on average, "
           "%.2f %% accurate after purification, %.1f s\n", o->preset, lq_data_kind_title (o->data),
           lq_arch_name (o->arch), cell->n, 100 * cell->totals.bits_flipped / cell->n,
           100.0 * cell->totals.attacked_purified / cell->n, cell->totals.seconds);
  return TRUE;
}

static void
cell_clear (LqEvalCell *c)
{
  g_free (c->bit_fractions);
  g_free (c->adv_correct);
  g_free (c->mu_clean);
  g_free (c->mu_adv);
}

static gboolean
figure_bitflips (Options *o, GError **error)
{
  LqEvalCell cell = { 0 };
  g_autoptr (LqDataset) test = NULL;
  gboolean ok = cw_codes (o, &cell, &test, error);
  if (ok)
    {
      cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, o->width, o->height);
      cairo_t *cr = cairo_create (s);
      g_autofree char *title = g_strdup_printf ("Latent bits flipped by CW (%s), %s, classifier %s",
                                                o->preset, lq_data_kind_title (o->data), lq_arch_name (o->arch));
      lq_figure_draw_bitflips (cr, o->width, o->height, title, cell.bit_fractions, cell.adv_correct, cell.n);
      cairo_destroy (cr);
      ok = save (s, o->out, error);
      cairo_surface_destroy (s);
    }
  cell_clear (&cell);
  return ok;
}

static gboolean
figure_latent_map (Options *o, GError **error)
{
  if (o->n * 2 > LQ_TSNE_MAX_POINTS)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "the latent map takes at most %d images (clean and CW codes: %d points for t-SNE)",
                   LQ_TSNE_MAX_POINTS / 2, LQ_TSNE_MAX_POINTS);
      return FALSE;
    }
  LqEvalCell cell = { 0 };
  g_autoptr (LqDataset) test = NULL;
  gboolean ok = cw_codes (o, &cell, &test, error);
  if (ok)
    {
      const int n = cell.n, L = lq_vae_config (cell.vae)->latent;
      g_autofree float *codes = g_new (float, (size_t) 2 * n * L);
      g_autofree float *xy = g_new (float, (size_t) 4 * n);
      memcpy (codes, cell.mu_clean, sizeof (float) * n * L);
      memcpy (codes + (size_t) n * L, cell.mu_adv, sizeof (float) * n * L);
      LqTsneParams tp = lq_tsne_defaults ();
      tp.seed = o->seed;
      LqCliProgress progress = { .label = "t-SNE", .unit = "it" };
      LqMonitor monitor = { lq_cli_progress_cb, &progress, NULL };
      gint64 t0 = g_get_monotonic_time ();
      ok = lq_tsne (codes, 2 * n, L, &tp, xy, &monitor, error);
      if (ok)
        {
          fprintf (stderr, "t-SNE of %d codes: %.1f s\n", 2 * n, (g_get_monotonic_time () - t0) / 1e6);
          cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, o->width, o->height);
          cairo_t *cr = cairo_create (s);
          g_autofree char *title = g_strdup_printf ("t-SNE of LQ-VAE codes: clean and CW (%s), %s",
                                                    o->preset, lq_data_kind_title (o->data));
          lq_figure_draw_latent_map (cr, o->width, o->height, title, xy, xy + 2 * n, test->labels, n,
                                     lq_data_class_names (o->data));
          cairo_destroy (cr);
          ok = save (s, o->out, error);
          cairo_surface_destroy (s);
        }
    }
  cell_clear (&cell);
  return ok;
}

#define N_EPS 9   /* 0, 0.05, …, 0.4 */

static gboolean
figure_eps_curve (Options *o, GError **error)
{
  static const LqColumn cols[] = { LQ_COLUMN_NO_DEFENSE, LQ_COLUMN_LQVAE, LQ_COLUMN_DEFENSEGAN,
                                   LQ_COLUMN_MADRY, LQ_COLUMN_ADVTR };
  static const double rgb[][3] = { { 0.45, 0.45, 0.48 }, { 0.10, 0.55, 0.35 }, { 0.20, 0.40, 0.80 },
                                   { 0.90, 0.50, 0.10 }, { 0.60, 0.30, 0.65 } };
  static const LqAttackKind kinds[] = { LQ_ATTACK_FGSM, LQ_ATTACK_PGD };
  g_autoptr (LqTableCache) cache = lq_table_cache_open (o->cache, error);
  if (cache == NULL)
    return FALSE;
  g_autofree char *name = g_strdup_printf ("eps-curve-%s-%s", lq_data_kind_name (o->data), lq_arch_name (o->arch));
  g_autofree char *title = g_strdup_printf ("Accuracy against ε, %s, classifier %s (%d images)",
                                            lq_data_kind_title (o->data), lq_arch_name (o->arch), o->n);
  g_autoptr (LqTable) t = lq_table_new (name, title);
  t->shown[LQ_COLUMN_NO_ATTACK] = FALSE;
  LqTableRun run = { .n = o->n, .batch = 100, .cw_preset = o->preset,
                     .search = lq_gan_search_defaults (), .store = o->store, .cache = cache };
  LqAttackSpec specs[2][N_EPS];
  double eps[N_EPS];
  for (int a = 0; a < 2; a++)
    for (int e = 0; e < N_EPS; e++)
      {
        eps[e] = 0.05 * e;
        const char *kind = lq_attack_kind_name (kinds[a]);
        specs[a][e] = (LqAttackSpec) { kind, a == 0 ? "FGSM" : "PGD", kinds[a], (float) eps[e], FALSE, 0 };
        g_autofree char *id = g_strdup_printf ("%s-%.2f", kind, eps[e]);
        g_autofree char *settings = g_strdup_printf ("ε %.2f", eps[e]);
        LqRowSpec r = { lq_table_add_row (t, id, specs[a][e].title, settings, lq_arch_name (o->arch), FALSE),
                        o->data, &specs[a][e], o->arch, -1, FALSE };
        /* ε 0 is the clean image: PGD's random start in a ball of radius 0 changes nothing. */
        lq_table_run_row (&run, t, &r);
      }
  lq_table_run_clear (&run);
  g_autofree char *md = lq_table_to_markdown (t);
  printf ("%s\n", md);

  LqFigureCurve curves[G_N_ELEMENTS (cols) * 2];
  double ys[G_N_ELEMENTS (cols) * 2][N_EPS];
  char *labels[G_N_ELEMENTS (cols) * 2] = { NULL };
  int nc = 0;
  for (gsize c = 0; c < G_N_ELEMENTS (cols); c++)
    for (int a = 0; a < 2; a++)
      {
        int done = 0;
        for (int e = 0; e < N_EPS; e++)
          {
            const LqCell *cell = &((LqTableRow *) t->rows->pdata[a * N_EPS + e])->cells[cols[c]];
            ys[nc][e] = cell->state == LQ_CELL_DONE ? cell->accuracy : NAN;
            done += cell->state == LQ_CELL_DONE;
          }
        if (done == 0)
          continue;   /* the defense is not available: no curve */
        labels[nc] = g_strdup_printf ("%s, %s", lq_column_title (cols[c]), a == 0 ? "FGSM" : "PGD-40");
        curves[nc] = (LqFigureCurve) { labels[nc], { rgb[c][0], rgb[c][1], rgb[c][2] }, a == 1, N_EPS,
                                       eps, ys[nc] };
        nc++;
      }
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, o->width, o->height);
  cairo_t *cr = cairo_create (s);
  lq_figure_draw_curves (cr, o->width, o->height, title, "ε (L∞, [0, 1] scale)", "accuracy (%)",
                         eps[N_EPS - 1], curves, nc);
  cairo_destroy (cr);
  gboolean ok = save (s, o->out, error);
  cairo_surface_destroy (s);
  for (int i = 0; i < nc; i++)
    g_free (labels[i]);
  return ok;
}

int
lq_cmd_figure (int argc, char **argv)
{
  g_autofree char *data_s = NULL, *model_s = NULL, *out = NULL, *preset = NULL;
  g_autofree char *vae_file = NULL, *gan_file = NULL, *weights_dir = NULL, *cache = NULL;
  Options o = { .n = 0, .width = 900, .height = 620 };
  gint64 seed = 1;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data_s, "Data set: mnist (default) or fmnist", "DATA" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model_s, "Classifier: A (default), B or C", "ARCH" },
    { "n", 0, 0, G_OPTION_ARG_INT, &o.n, "First N test images (default 500)", "N" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "PNG to write", "FILE" },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset, "CW preset (default defense-gan)", "NAME" },
    { "lqvae-file", 0, 0, G_OPTION_ARG_FILENAME, &vae_file, "LQ-VAE weights", "FILE" },
    { "gan-file", 0, 0, G_OPTION_ARG_FILENAME, &gan_file, "Defense-GAN generator", "FILE" },
    { "weights-dir", 0, 0, G_OPTION_ARG_FILENAME, &weights_dir, "Where the models are (default $LQ_WEIGHTS_DIR or data/)", "DIR" },
    { "cache", 0, 0, G_OPTION_ARG_FILENAME, &cache, "eps-curve: cache of finished points (default the tables')", "FILE" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "t-SNE seed (default 1)", "S" },
    { "width", 0, 0, G_OPTION_ARG_INT, &o.width, "Pixels (default 900)", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &o.height, "Pixels (default 620)", "H" },
    { NULL },
  };
  const char *which = argc >= 2 ? argv[1] : NULL;
  if (which == NULL || (strcmp (which, "bitflips") != 0 && strcmp (which, "latent-map") != 0 &&
                        strcmp (which, "eps-curve") != 0))
    {
      fprintf (stderr, "Usage: lq figure bitflips|latent-map|eps-curve --out FILE.png [OPTIONS]\n");
      return 2;
    }
  argc--, argv++;
  if (!lq_cli_parse (&argc, &argv, entries, "Draw a figure of docs/RESULTS.md as PNG"))
    return 2;
  g_autoptr (GError) error = NULL;
  if (!lq_data_kind_from_string (data_s ? data_s : "mnist", &o.data, &error) ||
      !lq_arch_from_string (model_s ? model_s : "A", &o.arch, &error))
    return lq_cli_fail (error, 2);
  if (out == NULL || o.n < 0 || o.width < 200 || o.height < 200)
    {
      fprintf (stderr, "lq: figure needs --out FILE.png, a non-negative --n and at least 200 × 200 pixels\n");
      return 2;
    }
  o.n = o.n > 0 ? o.n : 500;
  o.preset = preset ? preset : "defense-gan";
  o.out = out;
  o.seed = (guint64) seed;
  o.cache = cache ? g_strdup (cache) : g_build_filename (g_get_user_cache_dir (), "lq-explorer", "tables.json", NULL);
  LqAttackParams probe = lq_attack_defaults (LQ_ATTACK_CW);
  if (!lq_attack_cw_preset (o.preset, &probe, &error))
    return lq_cli_fail (error, 2);
  g_autoptr (LqModelStore) store = lq_model_store_new (weights_dir, FALSE);
  if ((vae_file && !lq_model_store_set_vae_file (store, vae_file, &error)) ||
      (gan_file && !lq_model_store_set_gan_file (store, gan_file, &error)))
    return lq_cli_fail (error, 1);
  o.store = store;
  gboolean ok = strcmp (which, "bitflips") == 0     ? figure_bitflips (&o, &error)
                : strcmp (which, "latent-map") == 0 ? figure_latent_map (&o, &error)
                                                    : figure_eps_curve (&o, &error);
  g_free (o.cache);
  return ok ? 0 : lq_cli_fail (error, 1);
}

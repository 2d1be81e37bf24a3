/* test-table.c: the result-table machinery and the figures (docs/RESULTS.md).
 *
 * Without data: marked sections replaced exactly, CSV equal to the Markdown, the cell cache,
 * t-SNE separating clusters, the Cairo figures drawing where they should. With MNIST installed:
 * `lq eval --table` and `lq figure` end to end on a few images, with a randomly initialised
 * LQ-VAE and Defense-GAN generator saved by the test (argv[1] is the `lq` executable).
 */
#include <cairo.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "lq-dataset.h"
#include "lq-error.h"
#include "lq-figure.h"
#include "lq-gan.h"
#include "lq-table-cache.h"
#include "lq-table.h"
#include "lq-tsne.h"
#include "lq-vae.h"
#include "lq-test-util.h"

static const char *lq_path;

/* ---- markers ---- */

static void
test_markers (void)
{
  const char *doc = "# Results\n\nintro\n\n<!-- lq-table:a -->\nold a\n<!-- /lq-table -->\n\nmiddle\n"
                    "<!-- lq-table:b -->\nold b\n<!-- /lq-table -->\ntail\n";
  g_autoptr (GError) error = NULL;
  g_autofree char *r = lq_markers_replace (doc, "a", "new a\nline 2\n", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (r, ==, "# Results\n\nintro\n\n<!-- lq-table:a -->\nnew a\nline 2\n<!-- /lq-table -->\n\n"
                          "middle\n<!-- lq-table:b -->\nold b\n<!-- /lq-table -->\ntail\n");
  /* Idempotent, and the body needs no trailing newline. */
  g_autofree char *r2 = lq_markers_replace (r, "a", "new a\nline 2", &error);
  g_assert_cmpstr (r2, ==, r);
  g_autofree char *rb = lq_markers_replace (r, "b", "B", &error);
  g_assert_nonnull (strstr (rb, "<!-- lq-table:b -->\nB\n<!-- /lq-table -->\ntail\n"));
  g_assert_nonnull (strstr (rb, "new a\nline 2\n<!-- /lq-table -->\n\nmiddle\n"));
  /* A name that is a prefix of another is not confused with it. */
  g_autofree char *rc = lq_markers_replace (doc, "c", "C\n", &error);
  g_assert_true (g_str_has_prefix (rc, doc));
  g_assert_cmpstr (rc + strlen (doc), ==, "\n<!-- lq-table:c -->\nC\n<!-- /lq-table -->\n");
  /* Opened, never closed: refused. */
  g_autofree char *bad = lq_markers_replace ("x\n<!-- lq-table:a -->\nno end\n", "a", "y", &error);
  g_assert_null (bad);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
}

/* ---- Markdown and CSV ---- */

static LqTable *
sample_table (void)
{
  LqTable *t = lq_table_new ("mnist-whitebox", "Sample");
  LqTableRow *r = lq_table_add_row (t, "fgsm-A", "FGSM", "ε 0.3, \"quoted\", comma", "A", TRUE);
  for (int c = 0; c < LQ_N_COLUMNS; c++)
    {
      r->cells[c].state = LQ_CELL_DONE;
      r->cells[c].accuracy = 0.1 * c + 0.01234;
      r->cells[c].n = c == LQ_COLUMN_DEFENSEGAN ? 500 : 10000;
      r->cells[c].seconds = c;
      r->cells[c].purify_ms = c == LQ_COLUMN_LQVAE ? 0.5 : c == LQ_COLUMN_DEFENSEGAN ? 400 : NAN;
      r->cells[c].seed = lq_seed_number ("mnist-whitebox", "fgsm", "A", c);
    }
  r->cells[LQ_COLUMN_MADRY].state = LQ_CELL_NOT_TRAINED;
  lq_cell_set_note (&r->cells[LQ_COLUMN_MADRY], "not trained: `lq train classifier --adv pgd`");
  LqTableRow *r2 = lq_table_add_row (t, "pgd-B", "PGD", "ε 0.3", "B", FALSE);
  r2->cells[LQ_COLUMN_NO_DEFENSE].state = LQ_CELL_DONE;
  r2->cells[LQ_COLUMN_NO_DEFENSE].accuracy = 0.5;
  r2->cells[LQ_COLUMN_NO_DEFENSE].n = 1000;
  return t;
}

/* The Markdown cells of the row whose first three cells are attack | settings | model. */
static char **
markdown_row (const char *md, const char *attack, const char *settings, const char *model)
{
  g_auto (GStrv) lines = g_strsplit (md, "\n", -1);
  g_autofree char *prefix = g_strdup_printf ("| %s | %s | %s |", attack, settings, model);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix (*l, prefix))
      return g_strsplit (*l + strlen (prefix), " |", -1);
  return NULL;
}

/* Which Markdown column (after the first three) shows a column id. */
static int
markdown_column (const char *md, const char *id)
{
  const char *title = NULL;
  for (int c = 0; c < LQ_N_COLUMNS; c++)
    if (strcmp (lq_column_id (c), id) == 0)
      title = lq_column_title (c);
  g_assert_nonnull (title);
  g_auto (GStrv) lines = g_strsplit (md, "\n", -1);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix (*l, "| Attack | Settings | Model |"))
      {
        g_auto (GStrv) cells = g_strsplit (*l + strlen ("| Attack | Settings | Model |"), " |", -1);
        for (int k = 0; cells[k]; k++)
          if (strcmp (g_strstrip (cells[k]), title) == 0)
            return k;
      }
  return -1;
}

/* Minimal RFC 4180 split of one CSV line. */
static GPtrArray *
csv_split (const char *line)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GString *f = g_string_new (NULL);
  gboolean quoted = FALSE;
  for (const char *p = line;; p++)
    {
      if (quoted && *p == '"' && p[1] == '"')
        g_string_append_c (f, '"'), p++;
      else if (*p == '"')
        quoted = !quoted;
      else if ((*p == ',' && !quoted) || *p == 0)
        {
          g_ptr_array_add (out, g_string_free (f, FALSE));
          if (*p == 0)
            break;
          f = g_string_new (NULL);
        }
      else
        g_string_append_c (f, *p);
    }
  return out;
}

/* Every CSV line's accuracy and seed number are what the Markdown shows in that cell. */
static void
assert_csv_matches_markdown (const char *csv, const char *md, int expect_lines)
{
  g_auto (GStrv) lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "table,row,attack,settings,model,column,state,accuracy,seed,n,"
                                 "seconds,purify_ms,note");
  int checked = 0;
  for (int i = 1; lines[i] && *lines[i]; i++)
    {
      g_autoptr (GPtrArray) f = csv_split (lines[i]);
      g_assert_cmpuint (f->len, ==, 13);
      g_auto (GStrv) cells = markdown_row (md, f->pdata[2], f->pdata[3], f->pdata[4]);
      g_assert_nonnull (cells);
      int k = markdown_column (md, f->pdata[5]);
      g_assert_cmpint (k, >=, 0);
      const char *cell = g_strstrip (cells[k]);
      const char *state = f->pdata[6], *acc = f->pdata[7], *seed = f->pdata[8];
      g_autofree char *want_seed = g_strdup_printf ("/ %s", *seed ? seed : "?");
      if (strcmp (state, "done") == 0)
        g_assert_true (g_str_has_prefix (cell, acc));
      else if (strcmp (state, "not-trained") == 0)
        g_assert_true (g_str_has_prefix (cell, "not trained"));
      g_assert_nonnull (strstr (cell, want_seed));
      checked++;
    }
  if (expect_lines >= 0)
    g_assert_cmpint (checked, ==, expect_lines);
  g_assert_cmpint (checked, >, 0);
}

static void
test_csv_markdown (void)
{
  g_autoptr (LqTable) t = sample_table ();
  g_autofree char *md = lq_table_to_markdown (t);
  g_autofree char *csv = lq_table_to_csv (t);
  assert_csv_matches_markdown (csv, md, 2 * LQ_N_COLUMNS);
  /* The seed's number sits beside ours; unknown ones print "?". */
  g_assert_nonnull (strstr (md, "1.23 / 99.40 |"));
  g_assert_nonnull (strstr (md, "31.23 / ? (n 500) |"));
  g_assert_nonnull (strstr (md, "not trained / ?"));
  g_assert_nonnull (strstr (md, "`lq train classifier --adv pgd`"));
  /* The purification times and their ratio (400 ms / 0.5 ms). */
  g_assert_nonnull (strstr (md, "| LQ-VAE | 0.500 ms | 1 : 800 |"));
  /* The Average row covers in_average rows only, with the seed's LQ-VAE average. */
  g_assert_nonnull (strstr (md, "| **Average** | the 1 rows marked in the notes | |"));
  g_assert_nonnull (strstr (md, "21.23 / 93.76 |"));
  /* With rows of the seed's average filtered away (--rows), the Average says it is partial. */
  t->average_rows_left_out = 2;
  g_autofree char *filtered = lq_table_to_markdown (t);
  g_assert_nonnull (strstr (filtered, "that are shown (2 left out: partial) | |"));
  g_assert_nonnull (strstr (filtered, "21.23 / 93.76 (partial) |"));
}

/* The seed's numbers: the most specific entry answers, wildcards fill the No Attack column, a
 * number of one table never leaks into another, and unknown cells are NaN ("?"). */
static void
test_seed_numbers (void)
{
  g_assert_cmpfloat (lq_seed_number ("fmnist-whitebox", "deepfool", "B", LQ_COLUMN_LQVAE), ==, 79.41);
  g_assert_cmpfloat (lq_seed_number ("fmnist-whitebox", "fgsm", "C", LQ_COLUMN_ADVTR), ==, 66.43);
  g_assert_cmpfloat (lq_seed_number ("fmnist-whitebox", "fgsm", "A", LQ_COLUMN_NO_ATTACK), ==, 92.76);
  g_assert_cmpfloat (lq_seed_number ("fmnist-whitebox", "average", "*", LQ_COLUMN_LQVAE), ==, 77.40);
  g_assert_true (isnan (lq_seed_number ("fmnist-whitebox", "deepfool", "C", LQ_COLUMN_LQVAE)));
  g_assert_true (isnan (lq_seed_number ("fmnist-blackbox", "deepfool", "B", LQ_COLUMN_LQVAE)));
  g_assert_true (isnan (lq_seed_number ("fmnist-whitebox", "average", "*", LQ_COLUMN_MADRY)));
  g_assert_true (isnan (lq_seed_number ("mnist-whitebox", "fgsm", "A", LQ_COLUMN_LQVAE)));
}

/* ---- cache ---- */

static void
test_cache (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lq-table-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "sub", "cache.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LqTableCache) c = lq_table_cache_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lq_table_cache_size (c), ==, 0);
  LqCell cell = { .state = LQ_CELL_DONE, .accuracy = 0.75, .n = 20, .seconds = 1.5, .purify_ms = NAN };
  g_assert_true (lq_table_cache_store (c, "t/r/lqvae", "key 1", &cell, &error));
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  g_autoptr (LqTableCache) again = lq_table_cache_open (path, &error);
  g_assert_no_error (error);
  LqCell got = { .seed = 12 };
  g_assert_false (lq_table_cache_lookup (again, "t/r/lqvae", "key 2", &got));  /* changed */
  g_assert_false (lq_table_cache_lookup (again, "t/r/madry", "key 1", &got));
  g_assert_true (lq_table_cache_lookup (again, "t/r/lqvae", "key 1", &got));
  g_assert_cmpfloat (got.accuracy, ==, 0.75);
  g_assert_cmpint (got.n, ==, 20);
  g_assert_true (got.cached && isnan (got.purify_ms) && got.seed == 12);
  /* Storing under a new key replaces the stale entry. */
  cell.accuracy = 0.5;
  g_assert_true (lq_table_cache_store (again, "t/r/lqvae", "key 2", &cell, &error));
  g_assert_cmpint (lq_table_cache_size (again), ==, 1);
  g_assert_false (lq_table_cache_lookup (again, "t/r/lqvae", "key 1", &got));

  /* A file that is not a cache is an error and is left alone. */
  g_assert_true (g_file_set_contents (path, "{\"cells\": []}", -1, NULL));
  g_autoptr (LqTableCache) bad = lq_table_cache_open (path, &error);
  g_assert_null (bad);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "{\"cells\": []}");
  g_remove (path);
  g_autofree char *sub = g_path_get_dirname (path);
  g_rmdir (sub);
  g_rmdir (dir);
}

/* ---- t-SNE ---- */

static void
test_tsne_clusters (void)
{
  enum { K = 3, PER = 40, D = 10, N = K * PER };
  g_autofree float *x = g_new (float, N * D);
  float y[2 * N], y2[2 * N];
  guint32 state = 7;
  for (int i = 0; i < N; i++)
    for (int d = 0; d < D; d++)
      {
        state = state * 1664525u + 1013904223u;
        float noise = ((state >> 8) / 16777216.0f - 0.5f) * 0.5f;
        x[i * D + d] = (d == i / PER ? 10.0f : 0.0f) + noise;  /* centres 10 apart */
      }
  LqTsneParams p = lq_tsne_defaults ();
  p.seed = 3;
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_tsne (x, N, D, &p, y, NULL, &error));
  g_assert_no_error (error);
  /* Each point's nearest neighbour in the map is from its own cluster, and clusters are far
   * apart compared with their size. */
  double intra = 0, inter = 0;
  int ni = 0, ne = 0;
  for (int i = 0; i < N; i++)
    {
      int best = -1;
      double bd = INFINITY;
      for (int j = 0; j < N; j++)
        {
          if (j == i)
            continue;
          double d = hypot (y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]);
          if (d < bd)
            bd = d, best = j;
          if (i / PER == j / PER)
            intra += d, ni++;
          else
            inter += d, ne++;
        }
      g_assert_cmpint (best / PER, ==, i / PER);
    }
  g_assert_cmpfloat ((intra / ni) / (inter / ne), <, 0.25);
  /* Seeded: the same map again. */
  g_assert_true (lq_tsne (x, N, D, &p, y2, NULL, &error));
  g_assert_cmpmem (y, sizeof y, y2, sizeof y2);
  /* Bad input is refused. */
  g_assert_false (lq_tsne (x, 1, D, &p, y, NULL, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
}

/* ---- figures ---- */

typedef struct {
  cairo_surface_t *s;
  int w, h;
} Image;

/* RGB of a pixel (the surfaces are RGB24/ARGB32, native-endian words). */
static void
pixel (cairo_surface_t *s, int x, int y, int rgb[3])
{
  cairo_surface_flush (s);
  const guint8 *row = cairo_image_surface_get_data (s) + (size_t) y * cairo_image_surface_get_stride (s);
  guint32 v = ((const guint32 *) row)[x];
  rgb[0] = v >> 16 & 0xff, rgb[1] = v >> 8 & 0xff, rgb[2] = v & 0xff;
}

/* White or the light grey of grid lines: not ink. */
static gboolean
is_white (cairo_surface_t *s, int x, int y)
{
  int c[3];
  pixel (s, x, y, c);
  return c[0] >= 200 && c[1] >= 200 && c[2] >= 200;
}

/* Pixels with ink (text, bars, points, curves) in a rectangle. */
static int
ink (cairo_surface_t *s, double x0, double y0, double x1, double y1)
{
  int k = 0;
  for (int y = (int) y0; y < (int) y1; y++)
    for (int x = (int) x0; x < (int) x1; x++)
      k += !is_white (s, x, y);
  return k;
}

static cairo_surface_t *
new_surface (int w, int h, cairo_t **cr)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  *cr = cairo_create (s);
  return s;
}

static void
test_figure_bitflips (void)
{
  enum { N = 40 };
  float f[N];
  guint8 ok[N];
  for (int i = 0; i < N; i++)
    {
      f[i] = i < 30 ? 0.01f : 0.09f;   /* 30 in the first 2 % bucket, 10 in the fifth */
      ok[i] = i < 30;
    }
  int counts[LQ_FIGURE_MAX_BUCKETS];
  double acc[LQ_FIGURE_MAX_BUCKETS], bw;
  int nb = lq_bitflip_buckets (f, ok, N, &bw, counts, acc);
  g_assert_cmpfloat (bw, ==, 0.02);
  g_assert_cmpint (nb, ==, 5);
  g_assert_cmpint (counts[0], ==, 30);
  g_assert_cmpint (counts[4], ==, 10);
  g_assert_cmpfloat (acc[0], ==, 1.0);
  g_assert_cmpfloat (acc[4], ==, 0.0);
  g_assert_true (isnan (acc[1]));

  cairo_t *cr;
  const int W = 600, H = 400;
  cairo_surface_t *s = new_surface (W, H, &cr);
  lq_figure_draw_bitflips (cr, W, H, "bits", f, ok, N);
  cairo_destroy (cr);
  double x, y, w, h;
  lq_figure_plot_rect (W, H, &x, &y, &w, &h);
  double slot = w / nb;
  /* Bars at the bottom of buckets 0 and 4, nothing in bucket 2; the first bar is the tallest. */
  g_assert_cmpint (ink (s, x + slot * 0.3, y + h - 20, x + slot * 0.7, y + h - 4), >, 0.9 * 0.4 * slot * 16);
  g_assert_cmpint (ink (s, x + slot * 4.3, y + h - 20, x + slot * 4.7, y + h - 4), >, 0.9 * 0.4 * slot * 16);
  g_assert_cmpint (ink (s, x + slot * 2.2, y + 40, x + slot * 2.8, y + h - 4), ==, 0);
  g_assert_false (is_white (s, (int) (x + slot * 0.5), (int) (y + h * 0.5)));
  g_assert_true (is_white (s, (int) (x + slot * 4.5), (int) (y + h * 0.4)));
  cairo_surface_destroy (s);
}

static void
test_figure_latent_map (void)
{
  float clean[] = { 0, 0, 0.1f, 0.1f, 10, 10 }, adv[] = { 0, 10, 0.1f, 9.9f, 10, 0 };
  guint8 labels[] = { 0, 0, 1 };
  cairo_t *cr;
  const int W = 500, H = 500;
  cairo_surface_t *s = new_surface (W, H, &cr);
  lq_figure_draw_latent_map (cr, W, H, "map", clean, adv, labels, 3, NULL);
  cairo_destroy (cr);
  double x, y, w, h;
  lq_figure_plot_rect (W, H, &x, &y, &w, &h);
  /* Bounds pad by 5 %: (0, 0) maps to the lower left, (10, 10) to the upper right. */
  double px0 = x + w * 0.05 / 1.1, py0 = y + h - h * 0.05 / 1.1;
  double px1 = x + w * 1.05 / 1.1, py1 = y + h - h * 1.05 / 1.1;
  int rgb[3], want[3];
  double c0[3], c1[3];
  lq_figure_class_rgb (0, c0);
  lq_figure_class_rgb (1, c1);
  pixel (s, (int) px0, (int) py0, rgb);
  for (int k = 0; k < 3; k++)
    want[k] = (int) (255 * c0[k]);
  for (int k = 0; k < 3; k++)
    g_assert_cmpint (abs (rgb[k] - want[k]), <, 60);
  pixel (s, (int) px1, (int) py1, rgb);
  for (int k = 0; k < 3; k++)
    g_assert_cmpint (abs (rgb[k] - (int) (255 * c1[k])), <, 60);
  /* The adversarial crosses at the other corners; the grid crosses the empty middle. */
  g_assert_cmpint (ink (s, px0 - 4, py1 - 4, px0 + 4, py1 + 4), >, 8);
  g_assert_cmpint (ink (s, px1 - 4, py0 - 4, px1 + 4, py0 + 4), >, 8);
  /* The grid crosses the empty middle, in light grey. */
  pixel (s, (int) (x + w / 2), (int) (y + h / 4), rgb);
  g_assert_true (rgb[0] < 245 && rgb[0] > 200);
  pixel (s, (int) (x + w / 2) + 5, (int) (y + h / 4) + 5, rgb);
  g_assert_cmpint (rgb[0], ==, 255);
  cairo_surface_destroy (s);
}

static void
test_figure_curves (void)
{
  double xs[] = { 0, 0.2, 0.4 }, ys[] = { 1, 0.5, 0 };
  LqFigureCurve c = { "falling", { 0.9, 0.1, 0.1 }, FALSE, 3, xs, ys };
  cairo_t *cr;
  const int W = 600, H = 400;
  cairo_surface_t *s = new_surface (W, H, &cr);
  lq_figure_draw_curves (cr, W, H, "curve", "eps", "accuracy", 0.4, &c, 1);
  cairo_destroy (cr);
  double x, y, w, h;
  lq_figure_plot_rect (W, H, &x, &y, &w, &h);
  int rgb[3];
  /* On the line at a quarter of the way, red; the upper right is empty. */
  pixel (s, (int) round (x + w * 0.25), (int) round (y + h * 0.25), rgb);
  g_assert_cmpint (rgb[0], >, 180);
  g_assert_cmpint (rgb[1], <, 90);
  g_assert_cmpint (ink (s, x + w * 0.7, y + 4, x + w - 4, y + h * 0.3), ==, 0);
  cairo_surface_destroy (s);
}

/* ---- end to end ---- */

typedef struct {
  char *dir, *weights, *vae, *vae2, *gan, *cache, *results, *csv_dir;
} Fixture;

static gboolean
have_mnist (void)
{
  g_autoptr (LqDataset) ds = lq_dataset_load_prefix (LQ_DATA_MNIST, LQ_SPLIT_TEST, 1, NULL);
  return ds != NULL;
}

static void
save_vae (const char *path, guint64 seed)
{
  LqVaeConfig cfg;
  g_assert_true (lq_vae_config_from_name ("small", &cfg, NULL));
  g_autoptr (LqVae) vae = lq_vae_new (&cfg, FALSE, seed);
  lq_vae_set_data (vae, LQ_DATA_MNIST);
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_vae_save (vae, path, FALSE, NULL, NULL, NULL, LQ_DTYPE_F32, &error));
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("lq-table-e2e-XXXXXX", NULL);
  f->weights = g_build_filename (f->dir, "weights", NULL);
  g_mkdir (f->weights, 0755);
  /* Only classifier A: Madry and Adv Tr are "not trained" whatever data/ holds. */
  g_autofree char *src = g_build_filename (g_getenv ("LQ_SOURCE_DIR"), "data", "mnist-A.safetensors", NULL);
  g_autofree char *dst = g_build_filename (f->weights, "mnist-A.safetensors", NULL);
  g_assert_cmpint (symlink (src, dst), ==, 0);
  f->vae = g_build_filename (f->dir, "vae.safetensors", NULL);
  f->vae2 = g_build_filename (f->dir, "vae2.safetensors", NULL);
  save_vae (f->vae, 1);
  save_vae (f->vae2, 2);
  LqGanConfig gcfg;
  g_assert_true (lq_gan_config_from_name ("tiny", &gcfg, NULL));
  g_autoptr (LqGan) gan = lq_gan_new (&gcfg, 1);
  lq_gan_set_data (gan, LQ_DATA_MNIST);
  f->gan = g_build_filename (f->dir, "gan.safetensors", NULL);
  g_assert_true (lq_gan_save (gan, f->gan, NULL, NULL, NULL, LQ_DTYPE_F32, NULL));
  f->cache = g_build_filename (f->dir, "cache.json", NULL);
  f->csv_dir = g_build_filename (f->dir, "tables", NULL);
  /* A copy of the project's RESULTS.md. */
  g_autofree char *results_src = g_build_filename (g_getenv ("LQ_SOURCE_DIR"), "docs", "RESULTS.md", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (results_src, &text, NULL, NULL));
  f->results = g_build_filename (f->dir, "RESULTS.md", NULL);
  g_assert_true (g_file_set_contents (f->results, text, -1, NULL));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  lq_test_rm_rf (f->dir);
  char **ps[] = { &f->dir, &f->weights, &f->vae, &f->vae2, &f->gan, &f->cache, &f->results, &f->csv_dir };
  for (gsize i = 0; i < G_N_ELEMENTS (ps); i++)
    g_clear_pointer (ps[i], g_free);
}

/* Runs lq with the arguments (NULL-terminated); returns stdout, asserts exit status 0. */
static char *
run_lq (const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) lq_path);
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  char *out = NULL, *err = NULL;
  int status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &err, &status, &error));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("lq failed:\n%s", err);
  g_test_message ("%s", err);
  g_free (err);
  return out;
}

#define TABLE_ARGS(f, n) "eval", "--table", "mnist-whitebox", "--rows", "fgsm-A", "--n", n, \
  "--gan-file", (f)->gan, "--gan-L", "2", "--gan-R", "1", "--weights-dir", (f)->weights, \
  "--cache", (f)->cache, "--results", (f)->results, "--csv-dir", (f)->csv_dir

/* doc split around the mnist-whitebox section: up to and with the opening marker's line, the
 * body, from the closing marker on. Without the section, head is doc and the rest empty. */
static void
split_section (const char *doc, char **head, char **body, char **tail)
{
  const char *open = "<!-- lq-table:mnist-whitebox -->\n";
  const char *a = strstr (doc, open);
  const char *z = a ? strstr (a, "<!-- /lq-table -->") : NULL;
  if (a == NULL || z == NULL)
    {
      *head = g_strdup (doc);
      if (body)
        *body = g_strdup ("");
      *tail = g_strdup ("");
      return;
    }
  a += strlen (open);
  *head = g_strndup (doc, a - doc);
  if (body)
    *body = g_strndup (a, z - a);
  *tail = g_strdup (z);
}

static JsonObject *
cells_of (JsonParser *p, const char *json)
{
  g_assert_true (json_parser_load_from_data (p, json, -1, NULL));
  JsonArray *tables = json_node_get_array (json_parser_get_root (p));
  g_assert_cmpuint (json_array_get_length (tables), ==, 1);
  JsonArray *rows = json_object_get_array_member (json_array_get_object_element (tables, 0), "rows");
  g_assert_cmpuint (json_array_get_length (rows), ==, 1);
  return json_object_get_object_member (json_array_get_object_element (rows, 0), "cells");
}

static JsonObject *
cell (JsonObject *cells, const char *col)
{
  return json_object_get_object_member (cells, col);
}

static void
test_table_e2e (Fixture *f, gconstpointer data)
{
  if (!have_mnist ())
    {
      g_test_skip ("MNIST is not installed (lq data import --data mnist)");
      return;
    }
  g_autofree char *before = NULL;
  g_assert_true (g_file_get_contents (f->results, &before, NULL, NULL));

  /* First run: every available cell computed; Madry and Adv Tr name their training command. */
  g_autofree char *j1 = run_lq (TABLE_ARGS (f, "20"), "--lqvae-file", f->vae, "--json", NULL);
  g_autoptr (JsonParser) p1 = json_parser_new ();
  JsonObject *c1 = cells_of (p1, j1);
  const char *done_cols[] = { "no-attack", "no-defense", "lqvae", "defensegan" };
  for (gsize i = 0; i < G_N_ELEMENTS (done_cols); i++)
    {
      JsonObject *c = cell (c1, done_cols[i]);
      g_assert_cmpstr (json_object_get_string_member (c, "state"), ==, "done");
      g_assert_false (json_object_get_boolean_member (c, "cached"));
      g_assert_cmpint (json_object_get_int_member (c, "n"), ==, 20);
      double acc = json_object_get_double_member (c, "accuracy");
      g_assert_true (acc >= 0 && acc <= 1);
    }
  /* Classifier A is accurate on clean images, FGSM ε 0.3 hurts it. */
  g_assert_cmpfloat (json_object_get_double_member (cell (c1, "no-attack"), "accuracy"), >=, 0.9);
  g_assert_cmpfloat (json_object_get_double_member (cell (c1, "no-defense"), "accuracy"), <, 0.9);
  g_assert_cmpfloat (json_object_get_double_member (cell (c1, "no-attack"), "seed_percent"), ==, 99.40);
  const char *madry = json_object_get_string_member (cell (c1, "madry"), "note");
  g_assert_cmpstr (json_object_get_string_member (cell (c1, "madry"), "state"), ==, "not-trained");
  g_assert_nonnull (strstr (madry, "lq train classifier --arch A --data mnist --adv pgd --out "));
  g_assert_nonnull (strstr (json_object_get_string_member (cell (c1, "advtr"), "note"), "--adv fgsm"));

  /* The section of the copy of RESULTS.md was replaced (or appended); the rest is untouched. */
  g_autofree char *after = NULL;
  g_assert_true (g_file_get_contents (f->results, &after, NULL, NULL));
  g_autofree char *head0 = NULL, *tail0 = NULL, *head1 = NULL, *tail1 = NULL, *body1 = NULL;
  split_section (before, &head0, NULL, &tail0);
  split_section (after, &head1, &body1, &tail1);
  if (*tail0)
    {
      g_assert_cmpstr (head1, ==, head0);
      g_assert_cmpstr (tail1, ==, tail0);
    }
  else  /* no section yet: appended */
    {
      g_assert_true (g_str_has_prefix (head1, before));
      g_assert_cmpstr (tail1, ==, "<!-- /lq-table -->\n");
    }
  g_assert_true (g_str_has_prefix (body1, "### MNIST, white-box attacks\n"));

  /* Second run, Markdown this time: all from the cache; the printed table is the section
   * written, the CSV says the same, and the document did not change. */
  g_autofree char *md = run_lq (TABLE_ARGS (f, "20"), "--lqvae-file", f->vae, NULL);
  g_autofree char *after2 = NULL;
  g_assert_true (g_file_get_contents (f->results, &after2, NULL, NULL));
  g_assert_cmpstr (after2, ==, after);
  g_assert_true (g_str_has_suffix (md, "\n\n"));
  md[strlen (md) - 1] = 0;  /* printf added a newline after the table */
  g_assert_cmpstr (body1, ==, md);
  g_autofree char *csv_path = g_build_filename (f->csv_dir, "mnist-whitebox.csv", NULL);
  g_autofree char *csv = NULL;
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
  assert_csv_matches_markdown (csv, md, LQ_N_COLUMNS);

  /* A finished cell is reused as stored (tamper with it to see), an unchanged one is not
   * recomputed, and a cell whose weights changed is. */
  g_autofree char *cache_text = NULL;
  g_assert_true (g_file_get_contents (f->cache, &cache_text, NULL, NULL));
  g_autoptr (JsonParser) cp = json_parser_new ();
  g_assert_true (json_parser_load_from_data (cp, cache_text, -1, NULL));
  JsonObject *cells = json_object_get_object_member (json_node_get_object (json_parser_get_root (cp)), "cells");
  g_assert_cmpuint (json_object_get_size (cells), ==, 4);
  json_object_set_double_member (json_object_get_object_member (cells, "mnist-whitebox/fgsm-A/no-defense"),
                                 "accuracy", 0.123);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, json_parser_get_root (cp));
  g_assert_true (json_generator_to_file (gen, f->cache, NULL));

  g_autofree char *j3 = run_lq (TABLE_ARGS (f, "20"), "--lqvae-file", f->vae2, "--json", NULL);
  g_autoptr (JsonParser) p3 = json_parser_new ();
  JsonObject *c3 = cells_of (p3, j3);
  g_assert_true (json_object_get_boolean_member (cell (c3, "no-defense"), "cached"));
  g_assert_cmpfloat (json_object_get_double_member (cell (c3, "no-defense"), "accuracy"), ==, 0.123);
  g_assert_true (json_object_get_boolean_member (cell (c3, "no-attack"), "cached"));
  g_assert_true (json_object_get_boolean_member (cell (c3, "defensegan"), "cached"));
  g_assert_false (json_object_get_boolean_member (cell (c3, "lqvae"), "cached"));

  /* Another N is another cell. */
  g_autofree char *j4 = run_lq (TABLE_ARGS (f, "10"), "--lqvae-file", f->vae2, "--json", NULL);
  g_autoptr (JsonParser) p4 = json_parser_new ();
  JsonObject *c4 = cells_of (p4, j4);
  for (gsize i = 0; i < G_N_ELEMENTS (done_cols); i++)
    {
      g_assert_false (json_object_get_boolean_member (cell (c4, done_cols[i]), "cached"));
      g_assert_cmpint (json_object_get_int_member (cell (c4, done_cols[i]), "n"), ==, 10);
    }
}

static cairo_surface_t *
load_png (const char *path, int w, int h)
{
  cairo_surface_t *s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, w);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, h);
  return s;
}

static void
test_figures_e2e (Fixture *f, gconstpointer data)
{
  if (!have_mnist ())
    {
      g_test_skip ("MNIST is not installed (lq data import --data mnist)");
      return;
    }
  double x, y, w, h;
  lq_figure_plot_rect (900, 620, &x, &y, &w, &h);
  g_autofree char *bits = g_build_filename (f->dir, "bits.png", NULL);
  g_free (run_lq ("figure", "bitflips", "--data", "mnist", "--n", "8", "--preset", "live",
                  "--weights-dir", f->weights, "--lqvae-file", f->vae, "--out", bits, NULL));
  cairo_surface_t *s = load_png (bits, 900, 620);
  g_assert_cmpint (ink (s, x, y + h - 30, x + w, y + h - 2), >, 100);   /* bars */
  cairo_surface_destroy (s);

  g_autofree char *map = g_build_filename (f->dir, "map.png", NULL);
  g_free (run_lq ("figure", "latent-map", "--data", "mnist", "--n", "8", "--preset", "live",
                  "--weights-dir", f->weights, "--lqvae-file", f->vae, "--out", map, NULL));
  s = load_png (map, 900, 620);
  g_assert_cmpint (ink (s, x + 2, y + 2, x + w - 2, y + h - 2), >, 50);  /* points and crosses */
  cairo_surface_destroy (s);

  g_autofree char *curve = g_build_filename (f->dir, "curve.png", NULL);
  g_autofree char *md = run_lq ("figure", "eps-curve", "--data", "mnist", "--n", "6", "--weights-dir",
                                f->weights, "--lqvae-file", f->vae, "--cache", f->cache, "--out",
                                curve, NULL);
  g_assert_nonnull (strstr (md, "| FGSM | ε 0.40 | A |"));
  s = load_png (curve, 900, 620);
  /* At ε 0 classifier A is right on (almost) all six images: the No Defense curve starts at
   * the top left. */
  g_assert_cmpint (ink (s, x + 3, y - 3, x + 14, y + h * 0.25), >, 5);
  cairo_surface_destroy (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  lq_path = argc > 1 ? argv[1] : NULL;
  g_test_add_func ("/table/markers", test_markers);
  g_test_add_func ("/table/csv-markdown", test_csv_markdown);
  g_test_add_func ("/table/cache", test_cache);
  g_test_add_func ("/table/seed-numbers", test_seed_numbers);
  g_test_add_func ("/tsne/clusters", test_tsne_clusters);
  g_test_add_func ("/figure/bitflips", test_figure_bitflips);
  g_test_add_func ("/figure/latent-map", test_figure_latent_map);
  g_test_add_func ("/figure/curves", test_figure_curves);
  if (lq_path)
    {
      g_test_add ("/table/e2e", Fixture, NULL, fixture_setup, test_table_e2e, fixture_teardown);
      g_test_add ("/figure/e2e", Fixture, NULL, fixture_setup, test_figures_e2e, fixture_teardown);
    }
  return g_test_run ();
}

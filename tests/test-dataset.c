/* test-dataset.c: finding, loading and importing MNIST and Fashion-MNIST.
 *
 * Tests on the real data skip when it is not installed (`lq data import`); the others build
 * their own data directories under a temporary folder and point $LQ_DATA_DIR at them. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>
#include "lq-dataset.h"
#include "lq-error.h"
#include "lq-idx.h"
#include "lq-test-util.h"

static char *real_data_dir; /* the data directory the suite was started with */

static void
use_data_dir (const char *dir)
{
  g_setenv ("LQ_DATA_DIR", dir, TRUE);
}

static gboolean
installed (LqDataKind kind)
{
  use_data_dir (real_data_dir);
  for (int i = 0; i < LQ_DATA_N_FILES; i++)
    {
      g_autofree char *p = lq_data_file_path (kind, i);
      if (p == NULL)
        {
          g_autofree char *msg = g_strdup_printf ("%s is not installed in %s: run `lq data import`",
                                                  lq_data_kind_title (kind), real_data_dir);
          g_test_skip (msg);
          return FALSE;
        }
    }
  return TRUE;
}

static int
count_entries (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return -1;
  int n = 0;
  while (g_dir_read_name (d))
    n++;
  g_dir_close (d);
  return n;
}

static void
write_idx (const char *path, int ndim, const int *dims, const guint8 *data)
{
  LqIdx idx = { .ndim = ndim };
  gsize n = 1;
  for (int i = 0; i < ndim; i++)
    idx.dims[i] = dims[i], n *= (gsize) dims[i];
  idx.data = (guint8 *) data;
  idx.size = n;
  g_autoptr (GBytes) b = lq_idx_serialize (&idx);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (b, NULL), g_bytes_get_size (b),
                                      NULL));
}

static void
test_names (void)
{
  LqDataKind k;
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_data_kind_from_string ("mnist", &k, &error));
  g_assert_cmpint (k, ==, LQ_DATA_MNIST);
  g_assert_true (lq_data_kind_from_string ("fmnist", &k, &error));
  g_assert_cmpint (k, ==, LQ_DATA_FMNIST);
  g_assert_true (lq_data_kind_from_string ("Fashion-MNIST", &k, &error));
  g_assert_cmpint (k, ==, LQ_DATA_FMNIST);
  g_assert_false (lq_data_kind_from_string ("cifar", &k, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);

  g_assert_cmpstr (lq_data_kind_name (LQ_DATA_MNIST), ==, "mnist");
  g_assert_cmpstr (lq_data_kind_name (LQ_DATA_FMNIST), ==, "fmnist");
  g_assert_cmpstr (lq_data_kind_title (LQ_DATA_FMNIST), ==, "Fashion-MNIST");
  const char *const *m = lq_data_class_names (LQ_DATA_MNIST);
  const char *const *f = lq_data_class_names (LQ_DATA_FMNIST);
  g_assert_cmpuint (g_strv_length ((char **) m), ==, 10);
  g_assert_cmpuint (g_strv_length ((char **) f), ==, 10);
  g_assert_cmpstr (m[7], ==, "7");
  g_assert_cmpstr (f[0], ==, "T-shirt/top");
  g_assert_cmpstr (f[9], ==, "Ankle boot");

  use_data_dir ("/some/where");
  g_assert_cmpstr (lq_data_dir (), ==, "/some/where");
  g_autofree char *set = lq_data_set_dir (LQ_DATA_FMNIST);
  g_assert_cmpstr (set, ==, "/some/where/fmnist");
  /* Unset: the XDG default. */
  g_unsetenv ("LQ_DATA_DIR");
  g_autofree char *def = g_build_filename (g_get_user_data_dir (), "lq-explorer", "datasets", NULL);
  g_assert_cmpstr (lq_data_dir (), ==, def);
}

static void
test_missing (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("lq-ds-XXXXXX", NULL);
  use_data_dir (tmp);
  for (int k = 0; k < 2; k++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LqDataset) ds = lq_dataset_load ((LqDataKind) k, LQ_SPLIT_TEST, &error);
      g_assert_null (ds);
      g_assert_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA);
      g_autofree char *set = lq_data_set_dir ((LqDataKind) k);
      g_autofree char *want = g_strdup_printf ("%s is not installed in %s: run `lq data import`.",
                                               lq_data_kind_title ((LqDataKind) k), set);
      g_assert_cmpstr (error->message, ==, want);
    }

  /* A set with one file missing names that file, still in one sentence. */
  g_autofree char *mdir = g_build_filename (tmp, "mnist", NULL);
  g_assert_cmpint (g_mkdir (mdir, 0755), ==, 0);
  guint8 img[2 * 28 * 28] = { 0 };
  int idims[3] = { 2, 28, 28 };
  g_autofree char *ip = g_build_filename (mdir, "t10k-images-idx3-ubyte", NULL);
  write_idx (ip, 3, idims, img);
  g_autoptr (GError) error = NULL;
  g_autoptr (LqDataset) ds = lq_dataset_load (LQ_DATA_MNIST, LQ_SPLIT_TEST, &error);
  g_assert_null (ds);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA);
  g_assert_nonnull (strstr (error->message, "t10k-labels-idx1-ubyte"));
  g_assert_nonnull (strstr (error->message, "`lq data import`"));
  g_assert_true (g_str_has_suffix (error->message, "."));
  lq_test_rm_rf (tmp);
}

/* A small hand-made set: loads, converts to [0, 1], and bad files are refused with the path. */
static void
test_small_set (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("lq-ds-XXXXXX", NULL);
  use_data_dir (tmp);
  g_autofree char *mdir = g_build_filename (tmp, "mnist", NULL);
  g_assert_cmpint (g_mkdir (mdir, 0755), ==, 0);
  enum { N = 5 };
  guint8 img[N * 28 * 28];
  for (int i = 0; i < N * 28 * 28; i++)
    img[i] = (guint8) (i % 256);
  guint8 lab[N] = { 3, 1, 4, 1, 5 };
  int idims[3] = { N, 28, 28 }, ldims[1] = { N };
  g_autofree char *ip = g_build_filename (mdir, "t10k-images-idx3-ubyte", NULL);
  g_autofree char *lp = g_build_filename (mdir, "t10k-labels-idx1-ubyte", NULL);
  write_idx (ip, 3, idims, img);
  write_idx (lp, 1, ldims, lab);

  g_autoptr (GError) error = NULL;
  g_autoptr (LqDataset) ds = lq_dataset_load (LQ_DATA_MNIST, LQ_SPLIT_TEST, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->n, ==, N);
  g_assert_cmpint (ds->kind, ==, LQ_DATA_MNIST);
  g_assert_cmpint (ds->split, ==, LQ_SPLIT_TEST);
  g_assert_cmpuint ((guintptr) ds->images % 64, ==, 0);
  for (int i = 0; i < N * 28 * 28; i++)
    g_assert_cmpfloat_with_epsilon (ds->images[i], (i % 256) / 255.0f, 1e-7);
  g_assert_cmpmem (ds->labels, N, lab, N);

  g_autoptr (LqDataset) p2 = lq_dataset_load_prefix (LQ_DATA_MNIST, LQ_SPLIT_TEST, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (p2->n, ==, 2);
  g_assert_cmpmem (p2->images, 2 * 784 * sizeof (float), ds->images, 2 * 784 * sizeof (float));
  g_autoptr (LqDataset) p6 = lq_dataset_load_prefix (LQ_DATA_MNIST, LQ_SPLIT_TEST, 6, &error);
  g_assert_null (p6);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A label of 10 is refused, naming the file. */
  lab[2] = 10;
  write_idx (lp, 1, ldims, lab);
  g_autoptr (LqDataset) bad = lq_dataset_load (LQ_DATA_MNIST, LQ_SPLIT_TEST, &error);
  g_assert_null (bad);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, lp));
  g_clear_error (&error);

  /* Counts that disagree between images and labels. */
  lab[2] = 4;
  int ldims4[1] = { 4 };
  write_idx (lp, 1, ldims4, lab);
  g_autoptr (LqDataset) bad2 = lq_dataset_load (LQ_DATA_MNIST, LQ_SPLIT_TEST, &error);
  g_assert_null (bad2);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_clear_error (&error);

  /* Images that are not 28×28. */
  write_idx (lp, 1, ldims, lab);
  int wrong[3] = { N, 14, 56 };
  write_idx (ip, 3, wrong, img);
  g_autoptr (LqDataset) bad3 = lq_dataset_load (LQ_DATA_MNIST, LQ_SPLIT_TEST, &error);
  g_assert_null (bad3);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, ip));
  lq_test_rm_rf (tmp);
}

/* A source that is not the published data is refused and nothing is written. */
static void
test_import_refuses (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("lq-ds-XXXXXX", NULL);
  g_autofree char *src = g_build_filename (tmp, "src", NULL);
  g_autofree char *data = g_build_filename (tmp, "data", NULL);
  g_assert_cmpint (g_mkdir (src, 0755), ==, 0);
  use_data_dir (data);

  /* Missing files. */
  g_autoptr (GError) error = NULL;
  g_assert_false (lq_data_import (LQ_DATA_MNIST, src, NULL, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA);
  g_assert_nonnull (strstr (error->message, src));
  g_clear_error (&error);

  /* Well-formed IDX files of the wrong size. */
  const LqDataFile *files = lq_data_files (LQ_DATA_MNIST);
  guint8 zeros[3 * 784] = { 0 };
  for (int i = 0; i < LQ_DATA_N_FILES; i++)
    {
      g_autofree char *p = g_build_filename (src, files[i].name, NULL);
      int dims[3] = { 3, 28, 28 };
      write_idx (p, files[i].labels ? 1 : 3, dims, zeros);
    }
  g_assert_false (lq_data_import (LQ_DATA_MNIST, src, NULL, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_clear_error (&error);
  g_assert_false (g_file_test (data, G_FILE_TEST_EXISTS));
  lq_test_rm_rf (tmp);
}

/* The real MNIST: the facts everyone can check. */
static void
test_mnist_facts (void)
{
  if (!installed (LQ_DATA_MNIST))
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (LqDataset) train = lq_dataset_load (LQ_DATA_MNIST, LQ_SPLIT_TRAIN, &error);
  g_assert_no_error (error);
  g_assert_cmpint (train->n, ==, 60000);
  const guint8 first[10] = { 5, 0, 4, 1, 9, 2, 1, 3, 1, 4 };
  g_assert_cmpmem (train->labels, 10, first, 10);
  int counts[10] = { 0 };
  for (int i = 0; i < train->n; i++)
    {
      g_assert_cmpuint (train->labels[i], <, 10);
      counts[train->labels[i]]++;
    }
  g_assert_cmpint (counts[0], ==, 5923);
  g_assert_cmpint (counts[1], ==, 6742);
  /* Pixels in [0, 1], with both ends used, and a mean near MNIST's well-known 0.1307. */
  double sum = 0;
  float lo = 1, hi = 0;
  for (size_t i = 0; i < (size_t) train->n * 784; i++)
    {
      float v = train->images[i];
      sum += v;
      lo = MIN (lo, v);
      hi = MAX (hi, v);
    }
  g_assert_cmpfloat (lo, ==, 0.0f);
  g_assert_cmpfloat (hi, ==, 1.0f);
  g_assert_cmpfloat_with_epsilon (sum / (train->n * 784.0), 0.1307, 5e-4);

  g_autoptr (LqDataset) test = lq_dataset_load (LQ_DATA_MNIST, LQ_SPLIT_TEST, &error);
  g_assert_no_error (error);
  g_assert_cmpint (test->n, ==, 10000);
  g_autoptr (LqDataset) pre = lq_dataset_load_prefix (LQ_DATA_MNIST, LQ_SPLIT_TRAIN, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pre->n, ==, 100);
  g_assert_cmpmem (pre->labels, 100, train->labels, 100);
  g_assert_cmpmem (pre->images, 100 * 784 * sizeof (float), train->images,
                   100 * 784 * sizeof (float));
  g_autoptr (LqDataset) over = lq_dataset_load_prefix (LQ_DATA_MNIST, LQ_SPLIT_TEST, 10001, &error);
  g_assert_null (over);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
}

static void
test_fmnist_facts (void)
{
  if (!installed (LQ_DATA_FMNIST))
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (LqDataset) test = lq_dataset_load (LQ_DATA_FMNIST, LQ_SPLIT_TEST, &error);
  g_assert_no_error (error);
  g_assert_cmpint (test->n, ==, 10000);
  int counts[10] = { 0 };
  for (int i = 0; i < test->n; i++)
    counts[test->labels[i]]++;
  for (int c = 0; c < 10; c++)
    g_assert_cmpint (counts[c], ==, 1000);
  /* The first Fashion-MNIST test image is an ankle boot. */
  g_assert_cmpuint (test->labels[0], ==, 9);
  g_autoptr (LqDataset) pre = lq_dataset_load_prefix (LQ_DATA_FMNIST, LQ_SPLIT_TRAIN, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pre->n, ==, 10);
}

/* Import from the installed copy into a fresh directory, verify, and that a source whose last file
 * is corrupted (one label changed) writes nothing. */
static void
test_import_real (void)
{
  if (!installed (LQ_DATA_MNIST))
    return;
  g_autofree char *src = lq_data_set_dir (LQ_DATA_MNIST);
  g_autofree char *tmp = g_dir_make_tmp ("lq-ds-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (tmp, "data", NULL);
  g_autofree char *bad = g_build_filename (tmp, "bad", NULL);
  use_data_dir (data);

  g_autoptr (GError) error = NULL;
  g_assert_true (lq_data_import (LQ_DATA_MNIST, src, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *set = lq_data_set_dir (LQ_DATA_MNIST);
  g_assert_cmpint (count_entries (set), ==, 4); /* no temporary files left */
  const LqDataFile *files = lq_data_files (LQ_DATA_MNIST);
  for (int i = 0; i < LQ_DATA_N_FILES; i++)
    {
      g_autofree char *p = lq_data_file_path (LQ_DATA_MNIST, i);
      g_assert_nonnull (p);
      g_autofree char *sum = lq_data_file_sha256 (p, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (sum, ==, files[i].sha256);
    }
  g_autoptr (LqDataset) ds = lq_dataset_load_prefix (LQ_DATA_MNIST, LQ_SPLIT_TEST, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ds->labels[0], ==, 7);

  /* Corrupted source: symlinks to the good files, and a test-labels file with one label changed. */
  g_assert_cmpint (g_mkdir (bad, 0755), ==, 0);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *from = lq_data_file_path (LQ_DATA_MNIST, i);
      g_autofree char *to = g_build_filename (bad, files[i].name, NULL);
      g_assert_cmpint (symlink (from, to), ==, 0);
    }
  g_autofree char *lp = lq_data_file_path (LQ_DATA_MNIST, 3);
  g_autoptr (LqIdx) lab = lq_idx_load (lp, &error);
  g_assert_no_error (error);
  lab->data[0] = (lab->data[0] + 1) % 10;
  g_autoptr (GBytes) lb = lq_idx_serialize (lab);
  g_autofree char *blp = g_build_filename (bad, files[3].name, NULL);
  g_assert_true (g_file_set_contents (blp, g_bytes_get_data (lb, NULL), g_bytes_get_size (lb),
                                      NULL));
  g_autofree char *data2 = g_build_filename (tmp, "data2", NULL);
  use_data_dir (data2);
  g_assert_false (lq_data_import (LQ_DATA_MNIST, bad, NULL, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "SHA-256"));
  g_assert_nonnull (strstr (error->message, blp));
  g_assert_false (g_file_test (data2, G_FILE_TEST_EXISTS));
  lq_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  real_data_dir = lq_data_dir_dup ();
  g_test_add_func ("/dataset/names", test_names);
  g_test_add_func ("/dataset/missing", test_missing);
  g_test_add_func ("/dataset/small-set", test_small_set);
  g_test_add_func ("/dataset/import-refuses", test_import_refuses);
  g_test_add_func ("/dataset/mnist-facts", test_mnist_facts);
  g_test_add_func ("/dataset/fmnist-facts", test_fmnist_facts);
  g_test_add_func ("/dataset/import-real", test_import_real);
  int rc = g_test_run ();
  g_free (real_data_dir);
  return rc;
}

/* test-robustness.c: the bad inputs of docs/ROBUSTNESS.md ("Bad inputs"), one test each, through
 * the core API and the command line's image reader (src/lq-cli-image.c, compiled in): every
 * bad input gets an error that names the file and the problem, and nothing on disk changes.
 * Image fixtures: tests/fixtures/robustness (made by tests/gen-robustness-fixtures.py). */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lq-attack.h"
#include "lq-cli-image.h"
#include "lq-error.h"
#include "lq-image.h"
#include "lq-models.h"
#include "lq-net-io.h"
#include "lq-safetensors.h"
#include "lq-train-vae.h"
#include "lq-vae.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static char *
fixture (const char *name)
{
  const char *dir = g_getenv ("LQ_FIXTURES");
  g_assert_nonnull (dir);
  return g_build_filename (dir, "robustness", name, NULL);
}

static int
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in a folder, sorted, with each file's size or its kind: "a:12 b/ c| d@". */
static char *
listing (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *n;
  while ((n = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, n, NULL);
      GStatBuf sb;
      g_assert_cmpint (g_lstat (p, &sb), ==, 0);
      if (S_ISREG (sb.st_mode))
        g_ptr_array_add (names, g_strdup_printf ("%s:%lld", n, (long long) sb.st_size));
      else
        g_ptr_array_add (names, g_strdup_printf ("%s%s", n, S_ISDIR (sb.st_mode) ? "/"
                                                 : S_ISFIFO (sb.st_mode) ? "|" : "@"));
    }
  g_ptr_array_sort (names, cmp_str);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
assert_file_bytes (const char *path, const void *want, gsize len)
{
  g_autofree char *have = NULL;
  gsize n = 0;
  g_assert_true (g_file_get_contents (path, &have, &n, NULL));
  g_assert_cmpmem (have, n, want, len);
}

/* error is set, in LQ_ERROR, and its message holds every needle. */
static void
assert_error_mentions (const GError *error, const char *needle1, const char *needle2)
{
  g_assert_nonnull (error);
  g_assert_true (error->domain == LQ_ERROR);
  for (const char *n = needle1; n; n = n == needle1 ? needle2 : NULL)
    if (strstr (error->message, n) == NULL)
      g_error ("error '%s' does not mention '%s'", error->message, n);
}

typedef struct {
  char *dir;
} Tmp;

static void
tmp_setup (Tmp *t, gconstpointer data)
{
  t->dir = g_dir_make_tmp ("lq-robust-XXXXXX", NULL);
  g_assert_nonnull (t->dir);
}

static void
rm_rf (const char *path)
{
  GStatBuf sb;
  if (g_lstat (path, &sb) != 0)
    return;
  if (S_ISDIR (sb.st_mode))
    {
      g_chmod (path, 0700);
      g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
      const char *n;
      while (d && (n = g_dir_read_name (d)))
        {
          g_autofree char *p = g_build_filename (path, n, NULL);
          rm_rf (p);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
tmp_teardown (Tmp *t, gconstpointer data)
{
  rm_rf (t->dir);
  g_free (t->dir);
}

static GHashTable *
classifier_metadata (const char *arch, const char *data)
{
  GHashTable *md = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (md, g_strdup ("arch"), g_strdup (arch));
  g_hash_table_insert (md, g_strdup ("dataset"), g_strdup (data));
  return md;
}

/* A valid classifier weight file (random weights) as bytes. */
static GBytes *
classifier_bytes (LqArch arch, const char *arch_meta, const char *data, LqDType dtype)
{
  g_autoptr (LqNet) net = lq_classifier_new (arch);
  LqRng rng;
  lq_rng_seed (&rng, 7);
  lq_net_init (net, &rng);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors = g_ptr_array_new ();
  lq_net_collect (net, NULL, names, tensors);
  g_autoptr (GHashTable) md = classifier_metadata (arch_meta, data);
  g_autoptr (GError) error = NULL;
  GBytes *b = lq_safetensors_serialize ((int) names->len, (const char *const *) names->pdata,
                                        (LqTensor *const *) tensors->pdata, md, dtype, &error);
  g_assert_no_error (error);
  return b;
}

static char *
write_bytes (const char *dir, const char *name, const void *data, gsize len)
{
  char *p = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (p, data, (gssize) len, NULL));
  return p;
}

/* Every loader of weights refuses path with a message holding path and needle. */
static void
assert_weights_refused (const char *path, const char *needle)
{
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;
  g_autoptr (LqSafetensors) st = lq_safetensors_load (path, &e1);
  g_assert_null (st);
  assert_error_mentions (e1, path, needle);
  g_autoptr (LqClassifier) c = lq_classifier_load (path, &e2);
  g_assert_null (c);
  assert_error_mentions (e2, path, needle);
  g_autoptr (LqVae) v = lq_vae_load (path, &e3);
  g_assert_null (v);
  assert_error_mentions (e3, path, needle);
  g_autoptr (LqNet) net = lq_classifier_new (LQ_ARCH_A);
  g_assert_false (lq_net_load (net, path, NULL, &e4));
  assert_error_mentions (e4, path, needle);
}

/* ---- weight files ------------------------------------------------------------------------ */

static void
test_weights_empty (Tmp *t, gconstpointer data)
{
  g_autofree char *p = write_bytes (t->dir, "empty.safetensors", "", 0);
  g_autofree char *before = listing (t->dir);
  assert_weights_refused (p, "too short");
  g_autofree char *after = listing (t->dir);
  g_assert_cmpstr (before, ==, after);
}

static void
test_weights_directory (Tmp *t, gconstpointer data)
{
  g_autofree char *p = g_build_filename (t->dir, "weights.safetensors", NULL);
  g_assert_cmpint (g_mkdir (p, 0700), ==, 0);
  assert_weights_refused (p, "not a regular file");
  g_autofree char *missing = g_build_filename (t->dir, "absent.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (lq_classifier_load (missing, &error));
  assert_error_mentions (error, missing, "No such file");
  g_assert_cmpint (error->code, ==, LQ_ERROR_MISSING_DATA);
}

static void
test_weights_truncated (Tmp *t, gconstpointer data)
{
  g_autoptr (GBytes) whole = classifier_bytes (LQ_ARCH_A, "classifier-A", "mnist", LQ_DTYPE_F16);
  gsize len;
  const guint8 *b = g_bytes_get_data (whole, &len);
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = hlen << 8 | b[i];
  /* Cut in the length field, in the header, at its end, in the data, one byte short. */
  const struct { gsize cut; const char *needle; } cuts[] = {
    { 3, "too short" },
    { 8, "runs past the end" },
    { 8 + hlen / 2, "runs past the end" },
    { 8 + hlen, "truncated" },
    { 8 + hlen + 1000, "truncated" },
    { len / 2, "truncated" },
    { len - 1, "truncated" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autofree char *name = g_strdup_printf ("cut-%zu.safetensors", cuts[i].cut);
      g_autofree char *p = write_bytes (t->dir, name, b, cuts[i].cut);
      assert_weights_refused (p, cuts[i].needle);
      assert_file_bytes (p, b, cuts[i].cut);  /* a failed load never writes */
    }
}

/* Header text + data → file bytes (header padded with spaces to 8, as the reference does). */
static GBytes *
raw_file (const char *json, const void *data, gsize data_len)
{
  gsize n = strlen (json), padded = (n + 7) / 8 * 8;
  GByteArray *a = g_byte_array_new ();
  for (int i = 0; i < 8; i++)
    {
      guint8 c = (guint8) ((guint64) padded >> (8 * i));
      g_byte_array_append (a, &c, 1);
    }
  g_byte_array_append (a, (const guint8 *) json, (guint) n);
  for (gsize i = n; i < padded; i++)
    g_byte_array_append (a, (const guint8 *) " ", 1);
  g_byte_array_append (a, data, (guint) data_len);
  return g_byte_array_free_to_bytes (a);
}

static void
test_weights_lying (Tmp *t, gconstpointer data)
{
  float v[4] = { 1, 2, 3, 4 };
  const struct { const char *json; gsize data_len; const char *needle; } lies[] = {
    /* offsets past the end of the data */
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1600000000]}}", 16, "needs 16" },
    /* shape promising more values than the offsets hold */
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[400000,400000],\"data_offsets\":[0,16]}}", 16, "needs 640000000000" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "the file is truncated" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, "overlaps" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (lies); i++)
    {
      g_autoptr (GBytes) b = raw_file (lies[i].json, v, lies[i].data_len);
      g_autofree char *name = g_strdup_printf ("lie-%zu.safetensors", i);
      gsize len;
      const void *bytes = g_bytes_get_data (b, &len);
      g_autofree char *p = write_bytes (t->dir, name, bytes, len);
      assert_weights_refused (p, lies[i].needle);
    }
  /* The length field claims 2^62 bytes of header. */
  guint8 huge[16] = { 0, 0, 0, 0, 0, 0, 0, 0x40, '{', '}' };
  g_autofree char *p = write_bytes (t->dir, "huge-header.safetensors", huge, sizeof huge);
  assert_weights_refused (p, "exceeds");
}

/* A classifier file with one value replaced by the 4 (F32) bytes at `bits`: the loaders must
 * name the tensor that holds it. */
static void
check_poisoned (Tmp *t, LqDType dtype, guint32 bits, const char *what)
{
  g_autoptr (GBytes) whole = classifier_bytes (LQ_ARCH_A, "classifier-A", "mnist", dtype);
  gsize len;
  const guint8 *b = g_bytes_get_data (whole, &len);
  g_autoptr (GError) error = NULL;
  g_autoptr (LqSafetensors) st = lq_safetensors_parse (b, len, &error);
  g_assert_no_error (error);
  /* The last tensor in file order ends at the end of the file: poison its last value. */
  const char *victim = lq_safetensors_name (st, lq_safetensors_n_tensors (st) - 1);
  g_autofree guint8 *copy = g_memdup2 (b, len);
  if (dtype == LQ_DTYPE_F32)
    memcpy (copy + len - 4, &bits, 4);
  else
    {
      float f;
      memcpy (&f, &bits, 4);
      guint16 h = lq_float_to_half (f);
      copy[len - 2] = (guint8) h, copy[len - 1] = (guint8) (h >> 8);
    }
  g_autofree char *name = g_strdup_printf ("poisoned-%s-%s.safetensors", what,
                                           dtype == LQ_DTYPE_F32 ? "f32" : "f16");
  g_autofree char *p = write_bytes (t->dir, name, copy, len);
  g_autofree char *quoted = g_strdup_printf ("'%s'", victim);
  assert_weights_refused (p, quoted);
  g_autoptr (GError) e2 = NULL;
  g_autoptr (LqClassifier) c = lq_classifier_load (p, &e2);
  assert_error_mentions (e2, what, quoted);
}

static void
test_weights_nan_inf (Tmp *t, gconstpointer data)
{
  union { float f; guint32 u; } nan = { .f = NAN }, inf = { .f = INFINITY }, ninf = { .f = -INFINITY };
  for (int d = 0; d < 2; d++)
    {
      LqDType dt = d ? LQ_DTYPE_F16 : LQ_DTYPE_F32;
      check_poisoned (t, dt, nan.u, "NaN");
      check_poisoned (t, dt, inf.u, "Inf");
      check_poisoned (t, dt, ninf.u, "Inf");
    }
  /* A net keeps its weights when a load fails. */
  g_autoptr (LqNet) net = lq_classifier_new (LQ_ARCH_A);
  LqRng rng;
  lq_rng_seed (&rng, 3);
  lq_net_init (net, &rng);
  LqParam *p0 = lq_net_param (net, 0);
  float first = p0->value->data[0];
  g_autofree char *p = g_build_filename (t->dir, "poisoned-NaN-f32.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_false (lq_net_load (net, p, NULL, &error));
  g_assert_cmpfloat (p0->value->data[0], ==, first);
}

static void
test_weights_wrong_arch (Tmp *t, gconstpointer data)
{
  /* B's weights under A's name: the shapes give it away, and the message names the tensor. */
  g_autoptr (GBytes) b_as_a = classifier_bytes (LQ_ARCH_B, "classifier-A", "mnist", LQ_DTYPE_F16);
  gsize len;
  const void *bytes = g_bytes_get_data (b_as_a, &len);
  g_autofree char *p = write_bytes (t->dir, "b-as-a.safetensors", bytes, len);
  g_autoptr (GError) e1 = NULL;
  g_assert_null (lq_classifier_load (p, &e1));
  assert_error_mentions (e1, p, "conv1.weight");
  /* A classifier is not an LQ-VAE and the other way round. */
  g_autoptr (GBytes) a = classifier_bytes (LQ_ARCH_A, "classifier-A", "mnist", LQ_DTYPE_F16);
  bytes = g_bytes_get_data (a, &len);
  g_autofree char *pa = write_bytes (t->dir, "a.safetensors", bytes, len);
  g_autoptr (GError) e2 = NULL;
  g_assert_null (lq_vae_load (pa, &e2));
  assert_error_mentions (e2, pa, "not an LQ-VAE file");
  LqVaeConfig cfg;
  g_assert_true (lq_vae_config_from_name ("small", &cfg, NULL));
  g_autoptr (LqVae) vae = lq_vae_new (&cfg, FALSE, 1);
  g_autofree char *pv = g_build_filename (t->dir, "vae.safetensors", NULL);
  g_autoptr (GError) e3 = NULL;
  g_assert_true (lq_vae_save (vae, pv, FALSE, NULL, NULL, NULL, LQ_DTYPE_F16, &e3));
  g_assert_no_error (e3);
  g_assert_null (lq_classifier_load (pv, &e3));
  assert_error_mentions (e3, pv, "not a classifier file");
  /* lq_net_load's architecture check. */
  g_autoptr (LqNet) net = lq_classifier_new (LQ_ARCH_A);
  g_autoptr (GError) e4 = NULL;
  g_assert_false (lq_net_load (net, pa, "classifier-C", &e4));
  assert_error_mentions (e4, pa, "classifier-C");
}

static void
test_weights_wrong_dataset (Tmp *t, gconstpointer data)
{
  /* The shipped-weights lookup finds "mnist-A.safetensors" that was trained on Fashion-MNIST. */
  g_autoptr (GBytes) b = classifier_bytes (LQ_ARCH_A, "classifier-A", "fmnist", LQ_DTYPE_F16);
  gsize len;
  const void *bytes = g_bytes_get_data (b, &len);
  g_autofree char *p = write_bytes (t->dir, "mnist-A.safetensors", bytes, len);
  g_autofree char *old = g_strdup (g_getenv ("LQ_WEIGHTS_DIR"));
  g_setenv ("LQ_WEIGHTS_DIR", t->dir, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (LqClassifier) c = lq_classifier_load_shipped (LQ_DATA_MNIST, LQ_ARCH_A, &error);
  if (old)
    g_setenv ("LQ_WEIGHTS_DIR", old, TRUE);
  else
    g_unsetenv ("LQ_WEIGHTS_DIR");
  g_assert_null (c);
  assert_error_mentions (error, p, "fmnist");
  g_clear_error (&error);

  /* A training checkpoint of one data set is refused when resuming on the other. */
  LqDataset fake = { .kind = LQ_DATA_MNIST, .n = 128 };
  fake.images = lq_floats_new (128 * LQ_IMAGE_SIZE);
  fake.labels = g_new0 (guint8, 128);
  LqVaeTrainConfig cfg = lq_vae_train_config_default (LQ_DATA_MNIST);
  g_assert_true (lq_vae_config_from_name ("small", &cfg.vae, NULL));
  g_autofree char *ck = g_build_filename (t->dir, "ck.safetensors", NULL);
  {
    g_autoptr (LqVaeTrainer) tr = lq_vae_trainer_new (&cfg, &fake);
    g_assert_true (lq_vae_trainer_save (tr, ck, NULL, &error));
    g_assert_no_error (error);
  }
  cfg.data = LQ_DATA_FMNIST;
  fake.kind = LQ_DATA_FMNIST;
  {
    g_autoptr (LqVaeTrainer) tr = lq_vae_trainer_new (&cfg, &fake);
    g_assert_false (lq_vae_trainer_resume (tr, ck, &error));
    assert_error_mentions (error, ck, "checkpoint for mnist");
    g_assert_cmpuint (lq_vae_trainer_steps (tr), ==, 0);
  }
  lq_floats_free (fake.images);
  g_free (fake.labels);
}

/* ---- pixels and images ------------------------------------------------------------------- */

static void
test_pixels_nan_inf (void)
{
  const float bad[] = { NAN, INFINITY, -INFINITY };
  float out[LQ_IMAGE_SIZE];
  g_autofree float *grey = g_new (float, 40 * 30);
  for (gsize k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      for (int i = 0; i < 40 * 30; i++)
        grey[i] = (i % 40 > 15 && i % 40 < 22) ? 0.0f : 1.0f;
      grey[5 * 40 + 3] = bad[k];
      g_autoptr (GError) error = NULL;
      g_assert_false (lq_image_to_mnist (grey, 40, 30, 40, out, &error));
      assert_error_mentions (error, "pixel (3, 5)", "not a finite number");
    }
  /* The attacks refuse them too (and anything outside [0, 1]), before touching the model. */
  g_autoptr (LqNet) net = lq_classifier_new (LQ_ARCH_A);
  LqRng rng;
  lq_rng_seed (&rng, 1);
  lq_net_init (net, &rng);
  lq_net_set_training (net, FALSE);
  LqTarget *tg = lq_target_new_classifier (net);
  float x[LQ_IMAGE_SIZE] = { 0 }, adv[LQ_IMAGE_SIZE];
  guint8 label = 3;
  LqAttackParams p = lq_attack_defaults (LQ_ATTACK_FGSM);
  for (gsize k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      x[100] = bad[k];
      g_autoptr (GError) error = NULL;
      g_assert_false (lq_attack_run (&p, tg, x, &label, 1, adv, NULL, NULL, &error));
      assert_error_mentions (error, "pixel 100", "outside [0, 1]");
    }
  lq_target_free (tg);
}

static void
load_image (const char *name, float *out)
{
  g_autofree char *p = fixture (name);
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_cli_image_load (p, out, &error));
  g_assert_no_error (error);
}

static void
assert_image_refused (const char *path, const char *needle)
{
  float out[LQ_IMAGE_SIZE];
  g_autoptr (GError) error = NULL;
  g_assert_false (lq_cli_image_load (path, out, &error));
  assert_error_mentions (error, path, needle);
}

static void
test_image_one_pixel (void)
{
  g_autofree char *p = fixture ("one-pixel.png");
  assert_image_refused (p, "no ink");
  float px = 0.0f, out[LQ_IMAGE_SIZE];
  g_autoptr (GError) error = NULL;
  g_assert_false (lq_image_to_mnist (&px, 1, 1, 1, out, &error));
  assert_error_mentions (error, "no ink", NULL);
}

/* Huge images are refused from their header, before any decoding: in a child whose address
 * space is capped 200 MB above what it uses now, a decoder that went ahead would fail with
 * "insufficient memory", not with our message. */
static void
test_image_huge (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *status = NULL;
      g_assert_true (g_file_get_contents ("/proc/self/statm", &status, NULL, NULL));
      long pages = strtol (status, NULL, 10);
      struct rlimit rl;
      rl.rlim_cur = rl.rlim_max = (rlim_t) pages * sysconf (_SC_PAGESIZE) + ((rlim_t) 200 << 20);
      g_assert_cmpint (setrlimit (RLIMIT_AS, &rl), ==, 0);
      g_autofree char *huge = fixture ("huge-20000.png");
      assert_image_refused (huge, "20000×20000 is too large");
      g_autofree char *big = fixture ("big-10000.png");
      assert_image_refused (big, "10000×10000 is too large");
      /* The core's own limit, for callers that decode themselves. */
      float px = 1.0f, out[LQ_IMAGE_SIZE];
      g_autoptr (GError) error = NULL;
      g_assert_false (lq_image_to_mnist (&px, 20000, 20000, 20000, out, &error));
      assert_error_mentions (error, "too large", NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_image_animated (void)
{
  /* An animated GIF gives its first frame (gdk-pixbuf's static image of the animation). */
  float gif[LQ_IMAGE_SIZE], png[LQ_IMAGE_SIZE], second[LQ_IMAGE_SIZE];
  load_image ("digit.gif", gif);
  load_image ("digit.png", png);
  load_image ("frame2.png", second);
  g_assert_cmpmem (gif, sizeof gif, png, sizeof png);
  g_assert_true (memcmp (gif, second, sizeof gif) != 0);
}

static void
test_image_16bit (void)
{
  /* A 16-bit PNG is read at 8 bits (its high bytes): the same picture as the 8-bit file. */
  float deep[LQ_IMAGE_SIZE], png[LQ_IMAGE_SIZE];
  load_image ("digit-16bit.png", deep);
  load_image ("digit.png", png);
  g_assert_cmpmem (deep, sizeof deep, png, sizeof png);
  double ink = 0;
  for (int i = 0; i < LQ_IMAGE_SIZE; i++)
    ink += deep[i];
  g_assert_cmpfloat (ink, >, 20);
}

static void
test_image_not_images (Tmp *t, gconstpointer data)
{
  g_autofree char *empty = write_bytes (t->dir, "empty.png", "", 0);
  g_autofree char *text = write_bytes (t->dir, "notes.png", "just text\n", 10);
  g_autofree char *trunc = fixture ("truncated.png");
  g_autofree char *missing = g_build_filename (t->dir, "absent.png", NULL);
  g_autofree char *before = listing (t->dir);
  assert_image_refused (empty, "not an image");
  assert_image_refused (text, "not an image");
  assert_image_refused (trunc, "Fatal error");
  assert_image_refused (missing, "not an image");
  assert_image_refused (t->dir, "not an image");
  g_autofree char *after = listing (t->dir);
  g_assert_cmpstr (before, ==, after);
}

/* ---- paths ------------------------------------------------------------------------------- */

static void
test_paths_non_utf8 (Tmp *t, gconstpointer data)
{
  /* Latin-1 "déjà.png": not UTF-8. File names are bytes on Linux; they must work as given. */
  g_autofree char *name = g_build_filename (t->dir, "d\xe9j\xe0.png", NULL);
  g_assert_false (g_utf8_validate (name, -1, NULL));
  g_autofree char *src = fixture ("digit.png");
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (src, &bytes, &len, NULL));
  g_assert_true (g_file_set_contents (name, bytes, (gssize) len, NULL));
  float a[LQ_IMAGE_SIZE], b[LQ_IMAGE_SIZE];
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_cli_image_load (name, a, &error));
  g_assert_no_error (error);
  load_image ("digit.png", b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  /* Saving to such a name, weights and images, and reading them back. */
  g_autofree char *out = g_build_filename (t->dir, "\xff\xfe-out.png", NULL);
  g_assert_true (lq_cli_image_save (out, a, 2, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  g_autoptr (GBytes) w = classifier_bytes (LQ_ARCH_A, "classifier-A", "mnist", LQ_DTYPE_F16);
  const void *wb = g_bytes_get_data (w, &len);
  g_autofree char *wp = g_build_filename (t->dir, "\xe9t\xe9.safetensors", NULL);
  g_assert_true (lq_file_replace_atomically (wp, wb, len, &error));
  g_autoptr (LqClassifier) c = lq_classifier_load (wp, &error);
  g_assert_no_error (error);
  g_assert_nonnull (c);
  /* Errors name such a file by its bytes. */
  g_autofree char *bad = g_build_filename (t->dir, "\xe9-missing.safetensors", NULL);
  g_autoptr (LqClassifier) none = lq_classifier_load (bad, &error);
  g_assert_null (none);
  assert_error_mentions (error, bad, NULL);
}

/* ---- saves ------------------------------------------------------------------------------- */

static const char old_content[] = "the previous file, which a failed save must leave alone";

/* Tries every kind of save into dir/target (which holds old_content); all must fail naming the
 * target and mentioning `why`, and leave the folder exactly as it was. */
static void
assert_saves_fail (const char *dir, const char *target, const char *why)
{
  g_autofree char *before = listing (dir);
  g_autofree guint8 *big = g_malloc0 (1 << 20);
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL;
  g_assert_false (lq_file_replace_atomically (target, big, 1 << 20, &e1));
  assert_error_mentions (e1, target, why);
  g_autoptr (LqNet) net = lq_classifier_new (LQ_ARCH_A);
  g_assert_false (lq_net_save (net, target, NULL, LQ_DTYPE_F32, &e2));
  assert_error_mentions (e2, target, why);
  float img[LQ_IMAGE_SIZE];
  for (int i = 0; i < LQ_IMAGE_SIZE; i++)
    img[i] = (float) (i % 7) / 7;  /* noise: the PNG does not compress to nothing */
  g_assert_false (lq_cli_image_save (target, img, 64, &e3));
  assert_error_mentions (e3, target, why);
  g_autofree char *after = listing (dir);
  g_assert_cmpstr (before, ==, after);
  assert_file_bytes (target, old_content, sizeof old_content);
}

static void
test_save_read_only_folder (Tmp *t, gconstpointer data)
{
  g_autofree char *target = write_bytes (t->dir, "out.png", old_content, sizeof old_content);
  g_assert_cmpint (g_chmod (t->dir, 0555), ==, 0);
  /* root ignores permissions: the check runs in a child that has become "nobody". */
  g_setenv ("LQ_ROBUST_DIR", t->dir, TRUE);
  g_test_trap_subprocess ("/robustness/save/read-only-folder/subprocess", 60 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  g_assert_cmpint (g_chmod (t->dir, 0700), ==, 0);
}

/* Only run as the child of the test above (GLib skips "/subprocess" paths otherwise). */
static void
test_save_read_only_folder_child (void)
{
  const char *dir = g_getenv ("LQ_ROBUST_DIR");
  g_autofree char *target = g_build_filename (dir, "out.png", NULL);
  if (geteuid () == 0)
    {
      g_assert_cmpint (setgid (65534), ==, 0);
      g_assert_cmpint (setuid (65534), ==, 0);
    }
  assert_saves_fail (dir, target, "Permission denied");
}

static void
test_save_full_disk (Tmp *t, gconstpointer data)
{
  g_autofree char *target = write_bytes (t->dir, "out.png", old_content, sizeof old_content);
  /* A disk that fills up: the file-size limit (ulimit -f) makes writes past 4 KB fail with
   * EFBIG, which a save meets exactly where it would meet ENOSPC. SIGXFSZ is ignored, as `lq`
   * does, so the write returns the error instead of killing the process. */
  if (g_test_subprocess ())
    {
      signal (SIGXFSZ, SIG_IGN);
      struct rlimit rl = { 4096, 4096 };
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &rl), ==, 0);
      assert_saves_fail (t->dir, target, "File too large");
      return;
    }
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  assert_file_bytes (target, old_content, sizeof old_content);
  /* And a real ENOSPC: a link to /dev/full is written through (a device is not replaced by a
   * file), so the write fails as on a full disk, and the link stays. */
  g_autofree char *full = g_build_filename (t->dir, "full.png", NULL);
  g_assert_cmpint (symlink ("/dev/full", full), ==, 0);
  g_autofree char *before = listing (t->dir);
  float img[LQ_IMAGE_SIZE] = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_false (lq_cli_image_save (full, img, 1, &error));
  assert_error_mentions (error, full, "No space left on device");
  g_autofree char *after = listing (t->dir);
  g_assert_cmpstr (before, ==, after);
  g_assert_true (g_file_test (full, G_FILE_TEST_IS_SYMLINK));
}

static void
test_save_special_targets (Tmp *t, gconstpointer data)
{
  /* A folder as the target: refused, untouched. */
  g_autofree char *sub = g_build_filename (t->dir, "sub", NULL);
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_false (lq_file_replace_atomically (sub, "x", 1, &error));
  assert_error_mentions (error, sub, "Is a directory");
  g_assert_true (g_file_test (sub, G_FILE_TEST_IS_DIR));
  g_clear_error (&error);
  /* A missing folder. */
  g_autofree char *lost = g_build_filename (t->dir, "no-such-dir", "w.safetensors", NULL);
  g_assert_false (lq_file_replace_atomically (lost, "x", 1, &error));
  assert_error_mentions (error, lost, "No such file or directory");
  g_clear_error (&error);
  /* A FIFO (as `--out /dev/stdout` into a pipe): written through, still a FIFO afterwards. */
  g_autofree char *fifo = g_build_filename (t->dir, "pipe", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  int rfd = open (fifo, O_RDONLY | O_NONBLOCK);
  g_assert_cmpint (rfd, >=, 0);
  g_assert_true (lq_file_replace_atomically (fifo, "hello", 5, &error));
  g_assert_no_error (error);
  char buf[16] = { 0 };
  g_assert_cmpint (read (rfd, buf, sizeof buf), ==, 5);
  g_assert_cmpstr (buf, ==, "hello");
  close (rfd);
  GStatBuf sb;
  g_assert_cmpint (g_lstat (fifo, &sb), ==, 0);
  g_assert_true (S_ISFIFO (sb.st_mode));
  g_autofree char *names = listing (t->dir);
  g_assert_cmpstr (names, ==, "pipe| sub/");
}

/* A save killed half way (SIGKILL, no chance to clean up) leaves the old file and nothing else. */
static void
test_save_killed (Tmp *t, gconstpointer data)
{
  g_autofree char *target = write_bytes (t->dir, "weights.safetensors", old_content, sizeof old_content);
  const gsize len = (gsize) 256 << 20;  /* long enough to be mid-write after 20 ms */
  g_autofree guint8 *big = g_malloc (len);
  memset (big, 0x5a, len);
  int killed = 0;
  for (int round = 0; round < 3; round++)
    {
      int fds[2];
      g_assert_cmpint (pipe (fds), ==, 0);
      pid_t pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          close (fds[0]);
          if (write (fds[1], "go", 2) != 2)
            _exit (2);
          lq_file_replace_atomically (target, big, len, NULL);
          _exit (0);
        }
      close (fds[1]);
      char go[2];
      g_assert_cmpint (read (fds[0], go, 2), ==, 2);
      close (fds[0]);
      g_usleep (10000 + 10000 * round);
      kill (pid, SIGKILL);
      int status;
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      if (WIFSIGNALED (status))
        {
          killed++;
          g_autofree char *names = listing (t->dir);
          g_autofree char *want = g_strdup_printf ("weights.safetensors:%zu", sizeof old_content);
          g_assert_cmpstr (names, ==, want);
          assert_file_bytes (target, old_content, sizeof old_content);
        }
    }
  /* Each child must really have died mid-save, or this test proved nothing. */
  g_assert_cmpint (killed, ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define TMP_TEST(path, fn) g_test_add (path, Tmp, NULL, tmp_setup, fn, tmp_teardown)
  TMP_TEST ("/robustness/weights/empty-file", test_weights_empty);
  TMP_TEST ("/robustness/weights/directory", test_weights_directory);
  TMP_TEST ("/robustness/weights/truncated", test_weights_truncated);
  TMP_TEST ("/robustness/weights/lying", test_weights_lying);
  TMP_TEST ("/robustness/weights/nan-inf", test_weights_nan_inf);
  TMP_TEST ("/robustness/weights/wrong-arch", test_weights_wrong_arch);
  TMP_TEST ("/robustness/weights/wrong-dataset", test_weights_wrong_dataset);
  g_test_add_func ("/robustness/pixels/nan-inf", test_pixels_nan_inf);
  g_test_add_func ("/robustness/image/one-pixel", test_image_one_pixel);
  g_test_add_func ("/robustness/image/huge", test_image_huge);
  g_test_add_func ("/robustness/image/animated-gif", test_image_animated);
  g_test_add_func ("/robustness/image/16-bit", test_image_16bit);
  TMP_TEST ("/robustness/image/not-images", test_image_not_images);
  TMP_TEST ("/robustness/paths/non-utf8", test_paths_non_utf8);
  TMP_TEST ("/robustness/save/read-only-folder", test_save_read_only_folder);
  g_test_add_func ("/robustness/save/read-only-folder/subprocess", test_save_read_only_folder_child);
  TMP_TEST ("/robustness/save/full-disk", test_save_full_disk);
  TMP_TEST ("/robustness/save/special-targets", test_save_special_targets);
  TMP_TEST ("/robustness/save/killed", test_save_killed);
  return g_test_run ();
}

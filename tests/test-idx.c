/* test-idx.c: the IDX reader, plain and gzip: round trips, every truncated prefix, lying files. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>
#include "lq-error.h"
#include "lq-idx.h"

/* A 3×4×5 image file with recognisable bytes. */
static GBytes *
make_images (void)
{
  LqIdx idx = { .ndim = 3, .dims = { 3, 4, 5 }, .size = 60 };
  guint8 data[60];
  for (int i = 0; i < 60; i++)
    data[i] = (guint8) (i * 7 + 1);
  idx.data = data;
  return lq_idx_serialize (&idx);
}

static GBytes *
gzip_bytes (const guint8 *data, gsize len)
{
  z_stream zs = { 0 };
  g_assert_cmpint (deflateInit2 (&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), ==,
                   Z_OK);
  gsize cap = deflateBound (&zs, len) + 64;
  guint8 *out = g_malloc (cap);
  zs.next_in = (Bytef *) data;
  zs.avail_in = len;
  zs.next_out = out;
  zs.avail_out = cap;
  g_assert_cmpint (deflate (&zs, Z_FINISH), ==, Z_STREAM_END);
  gsize n = zs.total_out;
  deflateEnd (&zs);
  return g_bytes_new_take (out, n);
}

/* Fails with a format error whose message mentions needle (when given). */
static void
expect_format_error_with (const guint8 *data, gsize len, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LqIdx) idx = lq_idx_parse (data, len, &error);
  g_assert_null (idx);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_assert_cmpuint (strlen (error->message), >, 10);
  if (needle && strstr (error->message, needle) == NULL)
    g_error ("'%s' does not mention '%s'", error->message, needle);
}

static void
expect_format_error (const guint8 *data, gsize len)
{
  expect_format_error_with (data, len, NULL);
}

static void
test_round_trip (void)
{
  g_autoptr (GBytes) b = make_images ();
  gsize len;
  const guint8 *p = g_bytes_get_data (b, &len);
  g_assert_cmpuint (len, ==, 16 + 60);
  g_assert_cmpuint (p[2], ==, 0x08);
  g_assert_cmpuint (p[3], ==, 3);
  g_autoptr (GError) error = NULL;
  g_autoptr (LqIdx) idx = lq_idx_parse (p, len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (idx->ndim, ==, 3);
  g_assert_cmpint (idx->dims[0], ==, 3);
  g_assert_cmpint (idx->dims[1], ==, 4);
  g_assert_cmpint (idx->dims[2], ==, 5);
  g_assert_cmpuint (idx->size, ==, 60);
  for (int i = 0; i < 60; i++)
    g_assert_cmpuint (idx->data[i], ==, (guint8) (i * 7 + 1));
  g_autoptr (GBytes) again = lq_idx_serialize (idx);
  g_assert_true (g_bytes_equal (b, again));

  /* The same bytes gzip-compressed parse to the same thing. */
  g_autoptr (GBytes) gz = gzip_bytes (p, len);
  gsize gz_len;
  const guint8 *gp = g_bytes_get_data (gz, &gz_len);
  g_assert_true (lq_idx_is_gzip (gp, gz_len));
  g_autoptr (LqIdx) idx2 = lq_idx_parse (gp, gz_len, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) again2 = lq_idx_serialize (idx2);
  g_assert_true (g_bytes_equal (b, again2));
}

static void
test_truncated_prefixes (void)
{
  g_autoptr (GBytes) b = make_images ();
  gsize len;
  const guint8 *p = g_bytes_get_data (b, &len);
  for (gsize i = 0; i < len; i++)
    expect_format_error (p, i);

  g_autoptr (GBytes) gz = gzip_bytes (p, len);
  gsize gz_len;
  const guint8 *gp = g_bytes_get_data (gz, &gz_len);
  for (gsize i = 0; i < gz_len; i++)
    expect_format_error (gp, i);
}

static void
test_lying_files (void)
{
  g_autoptr (GBytes) b = make_images ();
  gsize len;
  const guint8 *orig = g_bytes_get_data (b, &len);
  guint8 buf[256];

  /* Trailing byte. */
  memcpy (buf, orig, len);
  buf[len] = 0;
  expect_format_error_with (buf, len + 1, "trailing");

  /* Bad magic: floats (0x0d), wrong leading bytes, 0 and 5 dimensions. */
  const guint8 bad_magic[][4] = { { 0, 0, 0x0d, 3 }, { 1, 0, 8, 3 }, { 0, 0, 8, 0 }, { 0, 0, 8, 5 },
                                  { 0x1f, 0x8c, 8, 3 } };
  for (gsize k = 0; k < G_N_ELEMENTS (bad_magic); k++)
    {
      memcpy (buf, orig, len);
      memcpy (buf, bad_magic[k], 4);
      expect_format_error_with (buf, len, "magic");
    }

  /* A zero dimension. */
  memcpy (buf, orig, len);
  buf[4 + 4 + 3] = 0;
  expect_format_error_with (buf, len, "dimension 1 is 0");

  /* Absurd dimensions: 2^31 and a product past the cap and past 2^64. */
  const guint8 huge[][4] = { { 0x80, 0, 0, 0 }, { 0x7f, 0xff, 0xff, 0xff }, { 0, 0x10, 0, 0 } };
  for (gsize k = 0; k < G_N_ELEMENTS (huge); k++)
    for (int d = 0; d < 3; d++)
      {
        memcpy (buf, orig, len);
        memcpy (buf + 4 + 4 * d, huge[k], 4);
        memcpy (buf + 4 + 4 * ((d + 1) % 3), huge[k], 4);
        expect_format_error (buf, len);
      }

  /* The header claims one more row than the data holds. */
  memcpy (buf, orig, len);
  buf[4 + 3] = 4;
  expect_format_error_with (buf, len, "truncated");

  /* Gzip with trailing garbage and with a corrupted CRC. */
  g_autoptr (GBytes) gz = gzip_bytes (orig, len);
  gsize gz_len;
  const guint8 *gp = g_bytes_get_data (gz, &gz_len);
  g_assert_cmpuint (gz_len + 1, <, sizeof buf);
  memcpy (buf, gp, gz_len);
  buf[gz_len] = 7;
  expect_format_error_with (buf, gz_len + 1, "trailing bytes after the gzip");
  memcpy (buf, gp, gz_len);
  buf[gz_len - 6] ^= 0x55;
  expect_format_error (buf, gz_len);
}

/* A gzip bomb (64 MiB + 1 of zeros compresses to ~65 KB) stops at the cap. */
static void
test_gzip_bomb (void)
{
  gsize n = LQ_IDX_MAX_BYTES + 1;
  guint8 *zeros = g_malloc0 (n);
  zeros[2] = 8, zeros[3] = 1;
  guint32 d = (guint32) (n - 8);
  zeros[4] = d >> 24, zeros[5] = d >> 16, zeros[6] = d >> 8, zeros[7] = d;
  g_autoptr (GBytes) gz = gzip_bytes (zeros, n);
  g_free (zeros);
  gsize gz_len;
  const guint8 *gp = g_bytes_get_data (gz, &gz_len);
  g_assert_cmpuint (gz_len, <, 1 << 20);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = lq_gunzip (gp, gz_len, &error);
  g_assert_null (out);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "more than"));
}

static void
test_labels (void)
{
  guint8 labels[] = { 0, 0, 8, 1, 0, 0, 0, 5, 5, 0, 4, 1, 9 };
  g_autoptr (GError) error = NULL;
  g_autoptr (LqIdx) idx = lq_idx_parse (labels, sizeof labels, &error);
  g_assert_no_error (error);
  g_assert_true (lq_idx_check_labels (idx, 10, &error));
  g_assert_no_error (error);
  g_assert_false (lq_idx_check_labels (idx, 9, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_clear_error (&error);

  g_autoptr (GBytes) img = make_images ();
  g_autoptr (LqIdx) idx3 = lq_idx_parse (g_bytes_get_data (img, NULL), g_bytes_get_size (img),
                                         &error);
  g_assert_no_error (error);
  g_assert_false (lq_idx_check_labels (idx3, 255, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
}

static void
test_files (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lq-idx-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *plain = g_build_filename (dir, "plain", NULL);
  g_autofree char *gzp = g_build_filename (dir, "plain.gz", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad", NULL);
  g_autoptr (GBytes) b = make_images ();
  g_autoptr (GBytes) gz = gzip_bytes (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
  g_assert_true (g_file_set_contents (plain, g_bytes_get_data (b, NULL), g_bytes_get_size (b), NULL));
  g_assert_true (g_file_set_contents (gzp, g_bytes_get_data (gz, NULL), g_bytes_get_size (gz), NULL));
  g_assert_true (g_file_set_contents (bad, "\0\0\x08\x03\0\0\0\x03", 8, NULL));

  const char *paths[] = { plain, gzp };
  for (int k = 0; k < 2; k++)
    {
      g_autoptr (LqIdx) all = lq_idx_load (paths[k], &error);
      g_assert_no_error (error);
      g_autoptr (GBytes) again = lq_idx_serialize (all);
      g_assert_true (g_bytes_equal (b, again));

      int total = -1;
      g_autoptr (LqIdx) two = lq_idx_load_prefix (paths[k], 2, &total, &error);
      g_assert_no_error (error);
      g_assert_cmpint (two->dims[0], ==, 2);
      g_assert_cmpint (total, ==, 3);
      g_assert_cmpint (two->dims[1], ==, 4);
      g_assert_cmpuint (two->size, ==, 40);
      g_assert_cmpmem (two->data, 40, all->data, 40);

      g_autoptr (LqIdx) none = lq_idx_load_prefix (paths[k], 4, NULL, &error);
      g_assert_null (none);
      g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }

  /* Errors name the file. */
  g_autoptr (LqIdx) b1 = lq_idx_load (bad, &error);
  g_assert_null (b1);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, bad));
  g_clear_error (&error);
  g_autoptr (LqIdx) b2 = lq_idx_load_prefix (bad, 1, NULL, &error);
  g_assert_null (b2);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, bad));
  g_clear_error (&error);

  /* A directory and a missing file. */
  g_autoptr (LqIdx) d1 = lq_idx_load (dir, &error);
  g_assert_null (d1);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_IO);
  g_clear_error (&error);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autoptr (LqIdx) m1 = lq_idx_load (missing, &error);
  g_assert_null (m1);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  g_remove (plain);
  g_remove (gzp);
  g_remove (bad);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/idx/round-trip", test_round_trip);
  g_test_add_func ("/idx/truncated-prefixes", test_truncated_prefixes);
  g_test_add_func ("/idx/lying-files", test_lying_files);
  g_test_add_func ("/idx/gzip-bomb", test_gzip_bomb);
  g_test_add_func ("/idx/labels", test_labels);
  g_test_add_func ("/idx/files", test_files);
  return g_test_run ();
}

/* test-safetensors.c: the safetensors reader and writer, half precision, atomic saves, and
 * loading nets from weight files. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "lq-error.h"
#include "lq-net-io.h"
#include "lq-safetensors.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static LqTensor *
tensor_seq (int ndim, const int *shape, float scale, float shift)
{
  LqTensor *t = lq_tensor_new (ndim, shape);
  for (size_t i = 0; i < t->numel; i++)
    t->data[i] = scale * (float) i + shift;
  return t;
}

/* A file with a header given as text (padded to 8 like the reference) and raw data bytes. */
static GBytes *
make_file (const char *json, const void *data, gsize data_len)
{
  gsize n = strlen (json);
  gsize padded = (n + 7) / 8 * 8;
  GByteArray *a = g_byte_array_new ();
  guint8 len8[8];
  for (int i = 0; i < 8; i++)
    len8[i] = (guint8) ((guint64) padded >> (8 * i));
  g_byte_array_append (a, len8, 8);
  g_byte_array_append (a, (const guint8 *) json, n);
  for (gsize i = n; i < padded; i++)
    g_byte_array_append (a, (const guint8 *) " ", 1);
  if (data_len)
    g_byte_array_append (a, data, data_len);
  return g_byte_array_free_to_bytes (a);
}

static void
expect_fail_bytes (const guint8 *p, gsize len, int code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LqSafetensors) st = lq_safetensors_parse (p, len, &error);
  if (st != NULL)
    g_error ("accepted a bad file (%zu bytes, expected: %s)", len, needle ? needle : "any error");
  g_assert_nonnull (error);
  g_assert_true (error->domain == LQ_ERROR);
  if (code >= 0)
    g_assert_cmpint (error->code, ==, code);
  if (needle && strstr (error->message, needle) == NULL)
    g_error ("error '%s' does not mention '%s'", error->message, needle);
}

static void
expect_fail (const char *json, const void *data, gsize data_len, int code, const char *needle)
{
  g_autoptr (GBytes) b = make_file (json, data, data_len);
  gsize len;
  const guint8 *p = g_bytes_get_data (b, &len);
  expect_fail_bytes (p, len, code, needle);
}

static LqSafetensors *
expect_ok (const char *json, const void *data, gsize data_len)
{
  g_autoptr (GBytes) b = make_file (json, data, data_len);
  g_autoptr (GError) error = NULL;
  LqSafetensors *st = lq_safetensors_parse (g_bytes_get_data (b, NULL), g_bytes_get_size (b),
                                            &error);
  g_assert_no_error (error);
  return st;
}

/* Three tensors of several ranks, and metadata. */
static GBytes *
sample_file (LqDType dtype)
{
  int s4[4] = { 2, 1, 3, 3 }, s1[1] = { 2 }, s2[2] = { 3, 4 };
  g_autoptr (LqTensor) a = tensor_seq (4, s4, 0.25f, -2.0f);
  g_autoptr (LqTensor) b = tensor_seq (1, s1, 1.0f, 0.5f);
  g_autoptr (LqTensor) c = tensor_seq (2, s2, -0.125f, 1.0f);
  const char *names[] = { "conv1.weight", "conv1.bias", "fc.weight" };
  LqTensor *ts[] = { a, b, c };
  g_autoptr (GHashTable) md = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (md, "arch", "test");
  g_hash_table_insert (md, "dataset", "mnist");
  g_autoptr (GError) error = NULL;
  GBytes *bytes = lq_safetensors_serialize (3, names, ts, md, dtype, &error);
  g_assert_no_error (error);
  return bytes;
}

/* ---- format ------------------------------------------------------------------------------ */

/* The reference implementation's own test vectors, byte for byte. */
static void
test_reference_bytes (void)
{
  int shape[3] = { 1, 2, 3 };
  g_autoptr (LqTensor) t = tensor_seq (3, shape, 1.0f, 0.0f);
  const char *names[] = { "attn.0" };
  LqTensor *ts[] = { t };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) b = lq_safetensors_serialize (1, names, ts, NULL, LQ_DTYPE_F32, &error);
  g_assert_no_error (error);
  const guint8 want[] = {
    64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
    116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
    58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
    101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
    0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64
  };
  g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), want, sizeof want);

  g_autoptr (GBytes) empty = lq_safetensors_serialize (0, NULL, NULL, NULL, LQ_DTYPE_F32, &error);
  g_assert_no_error (error);
  const guint8 want_empty[] = { 8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32 };
  g_assert_cmpmem (g_bytes_get_data (empty, NULL), g_bytes_get_size (empty), want_empty,
                   sizeof want_empty);

  g_autoptr (GHashTable) md = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (md, "framework", "pt");
  g_autoptr (GBytes) meta = lq_safetensors_serialize (0, NULL, NULL, md, LQ_DTYPE_F32, &error);
  g_assert_no_error (error);
  const guint8 want_meta[] = {
    40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
    95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
    116, 34, 125, 125, 32, 32, 32, 32, 32
  };
  g_assert_cmpmem (g_bytes_get_data (meta, NULL), g_bytes_get_size (meta), want_meta,
                   sizeof want_meta);

  /* And they read back. */
  g_autoptr (LqSafetensors) st = lq_safetensors_parse (want, sizeof want, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lq_safetensors_n_tensors (st), ==, 1);
  LqTensor *r = lq_safetensors_get (st, "attn.0");
  g_assert_nonnull (r);
  g_assert_true (lq_tensor_shape_is (r, 3, shape));
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (r->data[i], ==, (float) i);
}

static void
check_round_trip (LqDType dtype)
{
  g_autoptr (GBytes) bytes = sample_file (dtype);
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);
  g_assert_cmpuint (((guint64) p[0] | (guint64) p[1] << 8) % 8, ==, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (LqSafetensors) st = lq_safetensors_parse (p, len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lq_safetensors_n_tensors (st), ==, 3);
  g_assert_cmpstr (lq_safetensors_name (st, 0), ==, "conv1.weight");
  g_assert_cmpstr (lq_safetensors_name (st, 1), ==, "conv1.bias");
  g_assert_cmpstr (lq_safetensors_name (st, 2), ==, "fc.weight");
  g_assert_cmpstr (lq_safetensors_metadata (st, "arch"), ==, "test");
  g_assert_cmpstr (lq_safetensors_metadata (st, "dataset"), ==, "mnist");
  g_assert_null (lq_safetensors_metadata (st, "nothing"));
  g_assert_cmpuint (g_hash_table_size (lq_safetensors_metadata_table (st)), ==, 2);
  g_assert_null (lq_safetensors_get (st, "nothing"));
  g_assert_cmpint (lq_safetensors_dtype (st, "fc.weight"), ==, dtype);

  /* The sample values (multiples of 1/8 near 0) are exact in half precision too. */
  LqTensor *a = lq_safetensors_get (st, "conv1.weight");
  int s4[4] = { 2, 1, 3, 3 };
  g_assert_true (lq_tensor_shape_is (a, 4, s4));
  g_assert_cmpuint ((guintptr) a->data % 64, ==, 0);
  for (size_t i = 0; i < a->numel; i++)
    g_assert_cmpfloat (a->data[i], ==, 0.25f * i - 2.0f);
  LqTensor *c = lq_safetensors_get (st, "fc.weight");
  for (size_t i = 0; i < c->numel; i++)
    g_assert_cmpfloat (c->data[i], ==, -0.125f * i + 1.0f);

  /* Saving what was loaded, in file order, gives the same bytes. */
  int n = lq_safetensors_n_tensors (st);
  const char *names[3];
  LqTensor *ts[3];
  for (int i = 0; i < n; i++)
    names[i] = lq_safetensors_name (st, i), ts[i] = lq_safetensors_get (st, names[i]);
  g_autoptr (GBytes) again = lq_safetensors_serialize (n, names, ts,
                                                       lq_safetensors_metadata_table (st), dtype,
                                                       &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (bytes, again));
}

static void
test_round_trip (void)
{
  check_round_trip (LQ_DTYPE_F32);
  check_round_trip (LQ_DTYPE_F16);
}

/* Scalars and empty tensors are legal safetensors; they survive a round trip too. */
static void
test_odd_shapes (void)
{
  int s0[1] = { 0 }, s23[2] = { 2, 0 };
  g_autoptr (LqTensor) scalar = lq_tensor_new (0, NULL);
  scalar->data[0] = 3.5f;
  g_autoptr (LqTensor) e1 = lq_tensor_new (1, s0);
  g_autoptr (LqTensor) e2 = lq_tensor_new (2, s23);
  const char *names[] = { "z", "e1", "s", "e2" };
  LqTensor *ts[] = { e1, e2, scalar, e1 };
  names[3] = "e3";
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) b = lq_safetensors_serialize (4, names, ts, NULL, LQ_DTYPE_F32, &error);
  g_assert_no_error (error);
  g_autoptr (LqSafetensors) st = lq_safetensors_parse (g_bytes_get_data (b, NULL),
                                                       g_bytes_get_size (b), &error);
  g_assert_no_error (error);
  g_assert_cmpint (lq_safetensors_n_tensors (st), ==, 4);
  for (int i = 0; i < 4; i++)
    g_assert_cmpstr (lq_safetensors_name (st, i), ==, names[i]);
  g_assert_cmpint (lq_safetensors_get (st, "s")->ndim, ==, 0);
  g_assert_cmpfloat (lq_safetensors_get (st, "s")->data[0], ==, 3.5f);
  g_assert_cmpuint (lq_safetensors_get (st, "e1")->numel, ==, 0);
  g_assert_true (lq_tensor_shape_is (lq_safetensors_get (st, "e1"), 2, s23));
  const char *nm[4];
  LqTensor *tt[4];
  for (int i = 0; i < 4; i++)
    nm[i] = lq_safetensors_name (st, i), tt[i] = lq_safetensors_get (st, nm[i]);
  g_autoptr (GBytes) again = lq_safetensors_serialize (4, nm, tt, NULL, LQ_DTYPE_F32, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (b, again));
}

/* A header written by hand in another order and style (spaces, offsets listed out of order)
 * loads, and its tensors come back in offset order. */
static void
test_foreign_header (void)
{
  float data[3] = { 1.0f, 2.0f, 3.0f };
  g_autoptr (LqSafetensors) st = expect_ok (
    "  { \"b\" : {\"data_offsets\": [4, 12], \"shape\": [2], \"dtype\": \"F32\"},\n"
    "\"a\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]},"
    " \"__metadata__\": {\"format\": \"pt\"} }", data, sizeof data);
  g_assert_cmpstr (lq_safetensors_name (st, 0), ==, "a");
  g_assert_cmpstr (lq_safetensors_name (st, 1), ==, "b");
  g_assert_cmpfloat (lq_safetensors_get (st, "b")->data[1], ==, 3.0f);
  g_assert_cmpstr (lq_safetensors_metadata (st, "format"), ==, "pt");
}

static void
test_truncated (void)
{
  for (int d = 0; d < 2; d++)
    {
      g_autoptr (GBytes) bytes = sample_file (d ? LQ_DTYPE_F16 : LQ_DTYPE_F32);
      gsize len;
      const guint8 *p = g_bytes_get_data (bytes, &len);
      for (gsize i = 0; i < len; i++)
        {
          /* A fresh copy of exactly i bytes, so a read past the end is caught by valgrind. */
          g_autofree guint8 *copy = g_memdup2 (p, i);
          expect_fail_bytes (copy, i, LQ_ERROR_FORMAT, NULL);
        }
    }
}

static void
test_lying (void)
{
  float d3[3] = { 1, 2, 3 };
  float d5[5] = { 1, 2, 3, 4, 5 };
  const char *ok1 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}";
  g_autoptr (LqSafetensors) fine = expect_ok (ok1, d3, sizeof d3);

  /* Sizes that do not add up. */
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "needs 8");
  expect_fail ("{\"a\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "needs 6");
  /* Overlap, gap, not starting at 0, ending before it begins. */
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "overlaps");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", d5, 20,
               LQ_ERROR_FORMAT, "gap");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "gap");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", d3, 12,
               LQ_ERROR_FORMAT, NULL);
  /* Trailing bytes, and a data section shorter than the offsets say. */
  expect_fail (ok1, d5, 16, LQ_ERROR_FORMAT, "trailing");
  expect_fail (ok1, d3, 8, LQ_ERROR_FORMAT, "truncated");
  /* Absurd dims: huge but multiplying to a lie, past INT_MAX, overflowing 64 bits. */
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647,4],"
               "\"data_offsets\":[0,12]}}", d3, 12, LQ_ERROR_FORMAT, NULL);
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296],\"data_offsets\":[0,12]}}", d3,
               12, LQ_ERROR_FORMAT, "too large");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[-3],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "non-negative");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3.0],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_FORMAT, NULL);
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,3],\"data_offsets\":[0,12]}}", d3,
               12, LQ_ERROR_UNSUPPORTED, "dimensions");
  /* Numbers a lax parser would misread: hex, octal, float, past 2^64 (wraps to 12). */
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,0xc]}}", d3, 12,
               LQ_ERROR_FORMAT, NULL);
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,014]}}", d3, 12,
               LQ_ERROR_FORMAT, NULL);
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12.0]}}", d3, 12,
               LQ_ERROR_FORMAT, NULL);
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,1.2e1]}}", d3, 12,
               LQ_ERROR_FORMAT, NULL);
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,18446744073709551628]}}",
               d3, 12, LQ_ERROR_FORMAT, "too large");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[18446744073709551615,11]}}",
               d3, 12, LQ_ERROR_FORMAT, NULL);
  /* Duplicate names: tensors, keys of an entry, metadata keys. */
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "duplicate name 'a'");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "duplicate name 'a'");
  expect_fail ("{\"a\":{\"dtype\":\"F16\",\"dtype\":\"F32\",\"shape\":[3],"
               "\"data_offsets\":[0,12]}}", d3, 12, LQ_ERROR_FORMAT, "duplicate name 'dtype'");
  expect_fail ("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "duplicate name 'k'");
  /* Names json-glib would cut at \u0000 into the same string. */
  expect_fail ("{\"a\\u0000x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\\u0000y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", d3, 12,
               LQ_ERROR_FORMAT, NULL);
  expect_fail ("{\"a\\u0000x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "NUL");
  /* UTF-16 surrogates must pair up; a proper pair is a legal name. */
  expect_fail ("{\"a\\ud800\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "surrogate");
  expect_fail ("{\"a\\udc00x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d3,
               12, LQ_ERROR_FORMAT, "surrogate");
  expect_fail ("{\"a\\ud800\\u0041\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}",
               d3, 12, LQ_ERROR_FORMAT, "surrogate");
  {
    g_autoptr (LqSafetensors) pair = expect_ok (
      "{\"\\ud83d\\ude00\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d3, 12);
    g_assert_nonnull (lq_safetensors_get (pair, "\xf0\x9f\x98\x80"));
  }
  /* Unsupported dtypes. */
  expect_fail ("{\"a\":{\"dtype\":\"BF16\",\"shape\":[6],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_UNSUPPORTED, "unsupported dtype 'BF16'");
  expect_fail ("{\"a\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_UNSUPPORTED, "unsupported dtype");
  expect_fail ("{\"a\":{\"dtype\":7,\"shape\":[3],\"data_offsets\":[0,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "dtype");
  /* Malformed entries. */
  expect_fail ("{\"a\":[1,2]}", NULL, 0, LQ_ERROR_FORMAT, NULL);
  expect_fail ("{\"a\":{\"shape\":[3],\"data_offsets\":[0,12]}}", d3, 12, LQ_ERROR_FORMAT,
               "dtype");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,12]}}", d3, 12, LQ_ERROR_FORMAT,
               "shape");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3]}}", d3, 12, LQ_ERROR_FORMAT,
               "data_offsets");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12,12]}}", d3, 12,
               LQ_ERROR_FORMAT, "data_offsets");
  expect_fail ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12],\"x\":1}}", d3,
               12, LQ_ERROR_FORMAT, "unexpected key");
  expect_fail ("{\"__metadata__\":{\"k\":1}}", NULL, 0, LQ_ERROR_FORMAT, "not a string");
  expect_fail ("{\"__metadata__\":[]}", NULL, 0, LQ_ERROR_FORMAT, "__metadata__");
  /* A raw newline inside a string (json-glib would take it). */
  expect_fail ("{\"__metadata__\":{\"k\":\"x\ny\"}}", NULL, 0, LQ_ERROR_FORMAT, "control");
  /* Headers that are not one JSON object. */
  const char *not_objects[] = { "", "   ", "[]", "\"x\"", "12", "null", "{", "{}}", "{}{}",
                                "{} x", "{\"a\":1,}", "{'a':{}}", "{/* c */}", "{\"a\":tru}",
                                "{\"a\":\"x\ny\"}", "{\"a\":NaN}", "{\"a\":\"\\q\"}",
                                "{\"a\":\"\\u12\"}", "{\"a\":\"unterminated}" };
  for (gsize i = 0; i < G_N_ELEMENTS (not_objects); i++)
    expect_fail (not_objects[i], NULL, 0, LQ_ERROR_FORMAT, NULL);
  /* Deep nesting is refused before json-glib recurses. */
  GString *deep = g_string_new ("{\"__metadata__\":");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  expect_fail (deep->str, NULL, 0, LQ_ERROR_FORMAT, "deeper");
  g_string_free (deep, TRUE);
  /* Invalid UTF-8 and a NUL byte inside the header. */
  expect_fail ("{\"\xff\":{}}", NULL, 0, LQ_ERROR_FORMAT, "UTF-8");
  {
    guint8 raw[8 + 8] = { 8, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, ' ', ' ', ' ', ' ', ' ' };
    expect_fail_bytes (raw, sizeof raw, LQ_ERROR_FORMAT, NULL);
  }

  /* NaN and Inf values, F32 and F16. */
  float nan3[3] = { 1, NAN, 3 }, inf3[3] = { 1, 2, -INFINITY };
  expect_fail (ok1, nan3, 12, LQ_ERROR_FORMAT, "NaN at index 1");
  expect_fail (ok1, inf3, 12, LQ_ERROR_FORMAT, "Inf at index 2");
  guint16 h_nan[2] = { 0x3c00, 0x7e00 }, h_inf[2] = { 0xfc00, 0x3c00 };
  const char *h2 = "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
  expect_fail (h2, h_nan, 4, LQ_ERROR_FORMAT, "NaN");
  expect_fail (h2, h_inf, 4, LQ_ERROR_FORMAT, "Inf");

  /* Header lengths that lie: past the file, past the cap, 2^64 - 1; and a file that is not
   * safetensors at all (a PNG signature). */
  {
    g_autoptr (GBytes) b = make_file (ok1, d3, 12);
    gsize len = g_bytes_get_size (b);
    g_autofree guint8 *p = g_memdup2 (g_bytes_get_data (b, NULL), len);
    p[0] += 8;
    expect_fail_bytes (p, len, LQ_ERROR_FORMAT, NULL);
    p[0] -= 16;
    expect_fail_bytes (p, len, LQ_ERROR_FORMAT, NULL);
    guint64 lens[] = { len - 7, 100000001, G_MAXUINT64, (guint64) 1 << 63 };
    for (gsize k = 0; k < G_N_ELEMENTS (lens); k++)
      {
        for (int i = 0; i < 8; i++)
          p[i] = (guint8) (lens[k] >> (8 * i));
        expect_fail_bytes (p, len, LQ_ERROR_FORMAT, NULL);
      }
    const guint8 png[16] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H',
                             'D', 'R' };
    expect_fail_bytes (png, sizeof png, LQ_ERROR_FORMAT, "cap");
  }
}

/* ---- half precision ---------------------------------------------------------------------- */

/* A signalling NaN whose payload sits only in bits that narrowing drops. */
static float
bits_nan_payload (void)
{
  guint32 u = 0x7f800001u;
  float f;
  memcpy (&f, &u, 4);
  return f;
}

static gboolean
half_is_nan (guint16 h)
{
  return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
}

/* The nearest half to f (ties to even), by search: the oracle for lq_float_to_half. */
static guint16
nearest_half (float f)
{
  double v = fabs ((double) f);
  guint16 sign = signbit (f) ? 0x8000 : 0;
  if (v >= 65520.0)
    return sign | 0x7c00;
  /* Halves are ordered like their bit patterns; binary search the largest ≤ v. */
  guint16 lo = 0, hi = 0x7bff;
  while (lo < hi)
    {
      guint16 mid = (guint16) ((lo + hi + 1) / 2);
      if ((double) lq_half_to_float (mid) <= v)
        lo = mid;
      else
        hi = mid - 1;
    }
  if (lo == 0x7bff)
    return sign | lo; /* between 65504 and 65520 */
  double a = lq_half_to_float (lo), b = lq_half_to_float (lo + 1);
  guint16 r;
  if (v - a < b - v)
    r = lo;
  else if (v - a > b - v)
    r = lo + 1;
  else
    r = (lo & 1) ? lo + 1 : lo;
  return sign | r;
}

static void
test_half (void)
{
  /* Known values. */
  g_assert_cmpfloat (lq_half_to_float (0x3c00), ==, 1.0f);
  g_assert_cmpfloat (lq_half_to_float (0xc000), ==, -2.0f);
  g_assert_cmpfloat (lq_half_to_float (0x7bff), ==, 65504.0f);
  g_assert_cmpfloat (lq_half_to_float (0x0001), ==, ldexpf (1, -24));
  g_assert_cmpfloat (lq_half_to_float (0x03ff), ==, ldexpf (1023, -24));
  g_assert_cmpfloat (lq_half_to_float (0x0400), ==, ldexpf (1, -14));
  g_assert_true (isinf (lq_half_to_float (0x7c00)) && lq_half_to_float (0xfc00) < 0);
  g_assert_true (isnan (lq_half_to_float (0x7e00)));
  g_assert_true (signbit (lq_half_to_float (0x8000)));
  g_assert_cmphex (lq_float_to_half (65504.0f), ==, 0x7bff);
  g_assert_cmphex (lq_float_to_half (65519.99f), ==, 0x7bff);
  g_assert_cmphex (lq_float_to_half (65520.0f), ==, 0x7c00);
  g_assert_cmphex (lq_float_to_half (-1e10f), ==, 0xfc00);
  g_assert_cmphex (lq_float_to_half (ldexpf (1, -24)), ==, 0x0001);
  g_assert_cmphex (lq_float_to_half (ldexpf (1, -25)), ==, 0x0000);          /* tie to even */
  g_assert_cmphex (lq_float_to_half (ldexpf (3, -25)), ==, 0x0002);          /* tie to even */
  g_assert_cmphex (lq_float_to_half (ldexpf (1.0001f, -25)), ==, 0x0001);
  g_assert_cmphex (lq_float_to_half (1.0f + ldexpf (1, -11)), ==, 0x3c00);   /* tie to even */
  g_assert_cmphex (lq_float_to_half (1.0f + ldexpf (3, -11)), ==, 0x3c02);   /* tie to even */
  g_assert_cmphex (lq_float_to_half (ldexpf (2047, -25)), ==, 0x0400);       /* into normals */
  g_assert_cmphex (lq_float_to_half (-0.0f), ==, 0x8000);
  g_assert_cmphex (lq_float_to_half (INFINITY), ==, 0x7c00);
  g_assert_true (half_is_nan (lq_float_to_half (NAN)));
  g_assert_true (half_is_nan (lq_float_to_half (bits_nan_payload ())));

  /* Every half widens and narrows back to itself. */
  for (guint32 h = 0; h < 0x10000; h++)
    {
      float f = lq_half_to_float ((guint16) h);
      if (half_is_nan ((guint16) h))
        {
          g_assert_true (isnan (f));
          g_assert_true (half_is_nan (lq_float_to_half (f)));
        }
      else
        g_assert_cmphex (lq_float_to_half (f), ==, h);
    }
  /* Floats across the whole range (a stride through the bit patterns, plus every float next
   * to a halfway point) narrow to the nearest half. */
  for (guint64 u = 0; u < 0x100000000ull; u += 65521)
    {
      guint32 b = (guint32) u;
      float f;
      memcpy (&f, &b, 4);
      if (isnan (f))
        continue;
      guint16 got = lq_float_to_half (f), want = nearest_half (f);
      if (got != want)
        g_error ("float %a (0x%08x) narrowed to 0x%04x, nearest is 0x%04x", f, b, got, want);
    }
  for (guint32 h = 0; h < 0x7bff; h++)
    {
      float mid = (lq_half_to_float ((guint16) h) + lq_half_to_float ((guint16) (h + 1))) / 2;
      float cands[3] = { nextafterf (mid, 0), mid, nextafterf (mid, INFINITY) };
      for (int k = 0; k < 3; k++)
        {
          g_assert_cmphex (lq_float_to_half (cands[k]), ==, nearest_half (cands[k]));
          g_assert_cmphex (lq_float_to_half (-cands[k]), ==, nearest_half (-cands[k]));
        }
    }
#ifdef __FLT16_MAX__
  /* The compiler's own conversion agrees. */
  for (guint64 u = 0; u < 0x100000000ull; u += 4099)
    {
      guint32 b = (guint32) u;
      float f;
      memcpy (&f, &b, 4);
      if (isnan (f))
        continue;
      _Float16 h = (_Float16) f;
      guint16 hb;
      memcpy (&hb, &h, 2);
      g_assert_cmphex (lq_float_to_half (f), ==, hb);
    }
#endif
}

/* F16 saves refuse values outside the half range; every save refuses NaN and Inf. */
static void
test_save_refuses (void)
{
  int s[1] = { 3 };
  g_autoptr (LqTensor) t = lq_tensor_new (1, s);
  const char *names[] = { "w" };
  LqTensor *ts[] = { t };
  g_autoptr (GError) error = NULL;
  t->data[1] = 65504.0f;
  g_autoptr (GBytes) ok = lq_safetensors_serialize (1, names, ts, NULL, LQ_DTYPE_F16, &error);
  g_assert_no_error (error);
  t->data[1] = -70000.0f;
  g_autoptr (GBytes) b1 = lq_safetensors_serialize (1, names, ts, NULL, LQ_DTYPE_F16, &error);
  g_assert_null (b1);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "F16 range"));
  g_clear_error (&error);
  g_autoptr (GBytes) b2 = lq_safetensors_serialize (1, names, ts, NULL, LQ_DTYPE_F32, &error);
  g_assert_no_error (error); /* fine in F32 */
  t->data[2] = NAN;
  g_autoptr (GBytes) b3 = lq_safetensors_serialize (1, names, ts, NULL, LQ_DTYPE_F32, &error);
  g_assert_null (b3);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* Duplicate and reserved names. */
  t->data[2] = 0;
  const char *dup[] = { "w", "w" };
  LqTensor *ts2[] = { t, t };
  g_autoptr (GBytes) b4 = lq_safetensors_serialize (2, dup, ts2, NULL, LQ_DTYPE_F32, &error);
  g_assert_null (b4);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  const char *res[] = { "__metadata__" };
  g_autoptr (GBytes) b5 = lq_safetensors_serialize (1, res, ts, NULL, LQ_DTYPE_F32, &error);
  g_assert_null (b5);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
}

/* ---- files ------------------------------------------------------------------------------- */

static int
count_entries (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  int n = 0;
  while (g_dir_read_name (d))
    n++;
  g_dir_close (d);
  return n;
}

static void
test_files (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lq-st-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "w.safetensors", NULL);
  int s[2] = { 4, 5 };
  g_autoptr (LqTensor) t = tensor_seq (2, s, 0.5f, -1.0f);
  const char *names[] = { "fc.weight" };
  LqTensor *ts[] = { t };
  g_assert_true (lq_safetensors_save (path, 1, names, ts, NULL, LQ_DTYPE_F32, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_entries (dir), ==, 1); /* no temporary file left */
  g_autoptr (GBytes) want = lq_safetensors_serialize (1, names, ts, NULL, LQ_DTYPE_F32, &error);
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpmem (contents, len, g_bytes_get_data (want, NULL), g_bytes_get_size (want));
  g_autoptr (LqSafetensors) st = lq_safetensors_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (lq_safetensors_get (st, "fc.weight")->data, 80, t->data, 80);

  /* A failed save (NaN) leaves the old file as it was. */
  t->data[3] = NAN;
  g_assert_false (lq_safetensors_save (path, 1, names, ts, NULL, LQ_DTYPE_F32, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  g_autofree char *after = NULL;
  gsize after_len;
  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_cmpmem (after, after_len, contents, len);
  g_assert_cmpint (count_entries (dir), ==, 1);
  t->data[3] = 0;

  /* Saving into a directory that does not exist, or onto a directory: errors, no leftovers. */
  g_autofree char *nodir = g_build_filename (dir, "missing", "w.safetensors", NULL);
  g_assert_false (lq_safetensors_save (nodir, 1, names, ts, NULL, LQ_DTYPE_F32, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_IO);
  g_assert_nonnull (strstr (error->message, nodir));
  g_clear_error (&error);
  g_autofree char *sub = g_build_filename (dir, "sub", NULL);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_assert_false (lq_safetensors_save (sub, 1, names, ts, NULL, LQ_DTYPE_F32, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_IO);
  g_clear_error (&error);
  g_assert_true (g_file_test (sub, G_FILE_TEST_IS_DIR));
  g_assert_cmpint (count_entries (sub), ==, 0);
  g_assert_cmpint (count_entries (dir), ==, 2);

  /* A read-only directory (root ignores the mode, so only checked for other users). */
  if (geteuid () != 0)
    {
      g_autofree char *ro = g_build_filename (sub, "w.safetensors", NULL);
      g_assert_cmpint (g_chmod (sub, 0555), ==, 0);
      g_assert_false (lq_safetensors_save (ro, 1, names, ts, NULL, LQ_DTYPE_F32, &error));
      g_assert_error (error, LQ_ERROR, LQ_ERROR_IO);
      g_clear_error (&error);
      g_assert_cmpint (count_entries (sub), ==, 0);
      g_chmod (sub, 0755);
    }

  /* Loading: a missing file, a directory, an empty file, every truncation of a real file. */
  g_autofree char *missing = g_build_filename (dir, "nothing.safetensors", NULL);
  g_autoptr (LqSafetensors) m = lq_safetensors_load (missing, &error);
  g_assert_null (m);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  g_autoptr (LqSafetensors) d = lq_safetensors_load (sub, &error);
  g_assert_null (d);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_IO);
  g_clear_error (&error);
  g_autofree char *cut = g_build_filename (dir, "cut.safetensors", NULL);
  for (gsize i = 0; i < len; i++)
    {
      g_assert_true (g_file_set_contents (cut, contents, (gssize) i, NULL));
      g_autoptr (LqSafetensors) c = lq_safetensors_load (cut, &error);
      g_assert_null (c);
      g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
      g_assert_nonnull (strstr (error->message, cut));
      g_clear_error (&error);
    }
  /* And one byte too many. */
  g_autofree char *longer = g_malloc (len + 1);
  memcpy (longer, contents, len);
  longer[len] = 0;
  g_assert_true (g_file_set_contents (cut, longer, (gssize) len + 1, NULL));
  g_autoptr (LqSafetensors) c2 = lq_safetensors_load (cut, &error);
  g_assert_null (c2);
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_clear_error (&error);

  g_unlink (cut);
  g_unlink (path);
  g_rmdir (sub);
  g_rmdir (dir);
}

/* ---- nets -------------------------------------------------------------------------------- */

static LqNet *
small_net (int fc_out, guint64 seed)
{
  LqNet *net = lq_net_new (1, 6, 6);
  g_autoptr (GError) error = NULL;
  g_assert_true (lq_net_add (net, lq_conv2d_new_same ("conv1", 3, 3, 2), &error));
  g_assert_true (lq_net_add (net, lq_leaky_relu_new (0.2f), &error));
  g_assert_true (lq_net_add (net, lq_flatten_new (), &error));
  g_assert_true (lq_net_add (net, lq_dense_new ("fc", fc_out), &error));
  g_assert_no_error (error);
  LqRng rng;
  lq_rng_seed (&rng, seed);
  lq_net_init (net, &rng);
  return net;
}

static GPtrArray *
snapshot (LqNet *net)
{
  GPtrArray *a = g_ptr_array_new_with_free_func ((GDestroyNotify) lq_tensor_free);
  for (int i = 0; i < lq_net_n_params (net); i++)
    g_ptr_array_add (a, lq_tensor_copy (lq_net_param (net, i)->value));
  return a;
}

static gboolean
same_params (LqNet *net, GPtrArray *snap)
{
  for (int i = 0; i < lq_net_n_params (net); i++)
    {
      LqTensor *a = lq_net_param (net, i)->value, *b = snap->pdata[i];
      if (!lq_tensor_same_shape (a, b) || memcmp (a->data, b->data, a->numel * 4) != 0)
        return FALSE;
    }
  return TRUE;
}

static void
test_net_io (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lq-st-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "net.safetensors", NULL);
  g_autofree char *path16 = g_build_filename (dir, "net16.safetensors", NULL);
  g_autoptr (LqNet) a = small_net (4, 1);
  g_autoptr (LqNet) b = small_net (4, 2);
  g_autoptr (GPtrArray) snap_a = snapshot (a);
  g_assert_false (same_params (b, snap_a));
  g_autoptr (GHashTable) md = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (md, "arch", "small");
  g_assert_true (lq_net_save (a, path, md, LQ_DTYPE_F32, &error));
  g_assert_no_error (error);

  /* The file holds exactly the net's parameters under their PyTorch names. */
  g_autoptr (LqSafetensors) st = lq_safetensors_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lq_safetensors_n_tensors (st), ==, 4);
  g_assert_cmpstr (lq_safetensors_name (st, 0), ==, "conv1.weight");
  g_assert_cmpstr (lq_safetensors_name (st, 3), ==, "fc.bias");
  g_assert_cmpstr (lq_safetensors_metadata (st, "arch"), ==, "small");

  /* Wrong arch: refused, net unchanged. */
  g_autoptr (GPtrArray) snap_b = snapshot (b);
  g_assert_false (lq_net_load (b, path, "other", &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  g_assert_true (same_params (b, snap_b));
  g_assert_true (lq_net_load (b, path, "small", &error));
  g_assert_no_error (error);
  g_assert_true (same_params (b, snap_a));

  /* A net with another shape: refused, unchanged. */
  g_autoptr (LqNet) c = small_net (5, 3);
  g_autoptr (GPtrArray) snap_c = snapshot (c);
  g_assert_false (lq_net_load (c, path, NULL, &error));
  g_assert_error (error, LQ_ERROR, LQ_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "fc.weight"));
  g_clear_error (&error);
  g_assert_true (same_params (c, snap_c));

  /* A missing parameter, and one the net does not have: refused, unchanged. */
  {
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GPtrArray) tensors = g_ptr_array_new ();
    lq_net_collect (a, NULL, names, tensors);
    g_autoptr (LqNet) d = small_net (4, 4);
    g_autoptr (GPtrArray) snap_d = snapshot (d);
    g_assert_true (lq_safetensors_save (path, 3, (const char *const *) names->pdata,
                                        (LqTensor *const *) tensors->pdata, NULL, LQ_DTYPE_F32,
                                        &error));
    g_assert_false (lq_net_load (d, path, NULL, &error));
    g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "fc.bias"));
    g_clear_error (&error);
    g_assert_true (same_params (d, snap_d));

    g_ptr_array_add (names, g_strdup ("fc2.weight"));
    g_ptr_array_add (tensors, tensors->pdata[0]);
    g_assert_true (lq_safetensors_save (path, 5, (const char *const *) names->pdata,
                                        (LqTensor *const *) tensors->pdata, NULL, LQ_DTYPE_F32,
                                        &error));
    g_assert_false (lq_net_load (d, path, NULL, &error));
    g_assert_error (error, LQ_ERROR, LQ_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "fc2.weight"));
    g_clear_error (&error);
    g_assert_true (same_params (d, snap_d));
  }

  /* Two nets in one file under prefixes; each loads its own part. */
  {
    g_autoptr (LqNet) e1 = small_net (4, 5), e2 = small_net (5, 6);
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GPtrArray) tensors = g_ptr_array_new ();
    lq_net_collect (e1, "encoder.", names, tensors);
    lq_net_collect (e2, "decoder.", names, tensors);
    g_assert_cmpstr (names->pdata[0], ==, "encoder.conv1.weight");
    g_autoptr (GBytes) bytes = lq_safetensors_serialize ((int) names->len,
                                                         (const char *const *) names->pdata,
                                                         (LqTensor *const *) tensors->pdata,
                                                         NULL, LQ_DTYPE_F32, &error);
    g_assert_no_error (error);
    g_autoptr (LqSafetensors) both = lq_safetensors_parse (g_bytes_get_data (bytes, NULL),
                                                           g_bytes_get_size (bytes), &error);
    g_assert_no_error (error);
    g_autoptr (LqNet) f1 = small_net (4, 7), f2 = small_net (5, 8);
    g_autoptr (GPtrArray) s1 = snapshot (e1), s2 = snapshot (e2), s3 = snapshot (f1);
    g_assert_true (lq_net_load_from (f1, both, "encoder.", &error));
    g_assert_true (lq_net_load_from (f2, both, "decoder.", &error));
    g_assert_no_error (error);
    g_assert_true (same_params (f1, s1));
    g_assert_true (same_params (f2, s2));
    /* Without a prefix every name counts, and the decoder's are foreign to f1. */
    g_autoptr (LqNet) f3 = small_net (4, 9);
    g_autoptr (GPtrArray) s4 = snapshot (f3);
    g_assert_false (lq_net_load_from (f3, both, NULL, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_assert_true (same_params (f3, s4));
    (void) s3;
  }

  /* F16: values come back rounded to half precision, and re-saving gives the same bytes. */
  g_assert_true (lq_net_save (a, path16, md, LQ_DTYPE_F16, &error));
  g_assert_no_error (error);
  g_autoptr (LqNet) h = small_net (4, 10);
  g_assert_true (lq_net_load (h, path16, "small", &error));
  g_assert_no_error (error);
  for (int i = 0; i < lq_net_n_params (a); i++)
    {
      LqTensor *x = lq_net_param (a, i)->value, *y = lq_net_param (h, i)->value;
      for (size_t j = 0; j < x->numel; j++)
        {
          g_assert_cmpfloat (y->data[j], ==, lq_half_to_float (lq_float_to_half (x->data[j])));
          g_assert_cmpfloat (fabsf (y->data[j] - x->data[j]), <=, fabsf (x->data[j]) / 1024 + 1e-7);
        }
    }
  g_autofree char *path16b = g_build_filename (dir, "net16b.safetensors", NULL);
  g_assert_true (lq_net_save (h, path16b, md, LQ_DTYPE_F16, &error));
  g_autofree char *c1 = NULL, *c2 = NULL;
  gsize l1, l2;
  g_assert_true (g_file_get_contents (path16, &c1, &l1, NULL));
  g_assert_true (g_file_get_contents (path16b, &c2, &l2, NULL));
  g_assert_cmpmem (c1, l1, c2, l2);

  g_unlink (path);
  g_unlink (path16);
  g_unlink (path16b);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/reference-bytes", test_reference_bytes);
  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/odd-shapes", test_odd_shapes);
  g_test_add_func ("/safetensors/foreign-header", test_foreign_header);
  g_test_add_func ("/safetensors/truncated", test_truncated);
  g_test_add_func ("/safetensors/lying", test_lying);
  g_test_add_func ("/safetensors/half", test_half);
  g_test_add_func ("/safetensors/save-refuses", test_save_refuses);
  g_test_add_func ("/safetensors/files", test_files);
  g_test_add_func ("/safetensors/net-io", test_net_io);
  return g_test_run ();
}

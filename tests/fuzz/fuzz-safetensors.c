/* fuzz-safetensors.c: lq_safetensors_parse and lq_safetensors_load on arbitrary bytes.
 *
 * On an accepted input:
 * - the tensors, in file order, tile the data section: each one's values are the input's bytes
 *   at its offset (F32 bit for bit; F16 widened exactly, so narrowing gives the raw half back),
 *   numel is the product of the shape, and the sizes add up to the data section exactly;
 * - every shorter prefix is rejected (all cut points inside the header, the first 32 tensor
 *   boundaries and up to 64 evenly spaced cut points in the data);
 * - the file loader gives the same tensors as the buffer parser;
 * - re-saving. The writer emits one canonical header (compact JSON, "__metadata__" first with
 *   sorted keys and left out when empty, tensors in file order, one dtype, space padding to a
 *   multiple of 8), while a reader must accept any key order, spacing, escapes and padding, so
 *   a foreign header re-saves to other bytes. What holds, and is checked: the re-saved file
 *   loads back to the same names, shapes, bit-exact values and metadata; re-saving that gives
 *   the same bytes again (a fixed point); and an input whose header is already the canonical
 *   one re-saves to identical bytes (the data section carries no freedom).
 * On a rejected input: an LQ_ERROR with a message, and the file loader rejects it with the
 * same code. */
#include "fuzz-common.h"
#include "lq-error.h"
#include "lq-safetensors.h"
#include <math.h>
#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init_glib ();
  return 0;
}

static guint64
read_le64 (const guint8 *p)
{
  guint64 v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void
expect_reject (const guint8 *data, gsize len)
{
  GError *error = NULL;
  LqSafetensors *st = lq_safetensors_parse (data, len, &error);
  FUZZ_CHECK (st == NULL);
  FUZZ_CHECK_ERROR (error);
  g_error_free (error);
}

/* Same names in the same order, shapes, bit-identical values, metadata; dtypes if asked. */
static void
check_same (const LqSafetensors *a, const LqSafetensors *b, gboolean dtypes)
{
  int n = lq_safetensors_n_tensors (a);
  FUZZ_CHECK (lq_safetensors_n_tensors (b) == n);
  for (int i = 0; i < n; i++)
    {
      const char *name = lq_safetensors_name (a, i);
      FUZZ_CHECK (strcmp (name, lq_safetensors_name (b, i)) == 0);
      LqTensor *x = lq_safetensors_get (a, name), *y = lq_safetensors_get (b, name);
      FUZZ_CHECK (lq_tensor_same_shape (x, y) && x->numel == y->numel);
      FUZZ_CHECK (memcmp (x->data, y->data, x->numel * sizeof (float)) == 0);
      FUZZ_CHECK (!dtypes || lq_safetensors_dtype (a, name) == lq_safetensors_dtype (b, name));
    }
  GHashTable *ma = lq_safetensors_metadata_table (a), *mb = lq_safetensors_metadata_table (b);
  FUZZ_CHECK (g_hash_table_size (ma) == g_hash_table_size (mb));
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, ma);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const char *w = g_hash_table_lookup (mb, k);
      FUZZ_CHECK (w != NULL && strcmp (v, w) == 0);
    }
}

static GBytes *
resave (const LqSafetensors *st, LqDType dtype)
{
  int n = lq_safetensors_n_tensors (st);
  const char **names = g_new (const char *, MAX (n, 1));
  LqTensor **ts = g_new (LqTensor *, MAX (n, 1));
  for (int i = 0; i < n; i++)
    names[i] = lq_safetensors_name (st, i), ts[i] = lq_safetensors_get (st, names[i]);
  GError *error = NULL;
  GBytes *b = lq_safetensors_serialize (n, names, ts, lq_safetensors_metadata_table (st), dtype,
                                        &error);
  if (b == NULL)
    fprintf (stderr, "re-save failed: %s\n", error->message);
  FUZZ_CHECK (b != NULL);
  g_free (names);
  g_free (ts);
  return b;
}

static void
check_accepted (const guint8 *data, gsize len, LqSafetensors *st)
{
  guint64 hlen = read_le64 (data);
  FUZZ_CHECK (len >= 8 && hlen <= len - 8);
  const guint8 *base = data + 8 + hlen;
  gsize dlen = len - 8 - (gsize) hlen;

  /* The tensors tile the data section, and hold exactly its bytes. */
  int n = lq_safetensors_n_tensors (st);
  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GArray) cuts = g_array_new (FALSE, FALSE, sizeof (gsize));
  gboolean mixed = FALSE;
  LqDType dtype0 = LQ_DTYPE_F32;
  gsize off = 0;
  for (int i = 0; i < n; i++)
    {
      const char *name = lq_safetensors_name (st, i);
      FUZZ_CHECK (name != NULL && strcmp (name, "__metadata__") != 0);
      FUZZ_CHECK (g_hash_table_add (names, (gpointer) name));
      LqTensor *t = lq_safetensors_get (st, name);
      FUZZ_CHECK (t != NULL && t->ndim >= 0 && t->ndim <= LQ_MAX_DIMS);
      FUZZ_CHECK ((guintptr) t->data % LQ_ALIGN == 0);
      size_t numel = 1;
      for (int d = 0; d < t->ndim; d++)
        numel *= (size_t) t->shape[d];
      FUZZ_CHECK (t->numel == numel);
      LqDType dt = lq_safetensors_dtype (st, name);
      if (i == 0)
        dtype0 = dt;
      mixed |= dt != dtype0;
      gsize esize = dt == LQ_DTYPE_F32 ? 4 : 2;
      FUZZ_CHECK (t->numel <= (dlen - off) / esize);
      const guint8 *raw = base + off;
      for (size_t j = 0; j < t->numel; j++)
        {
          FUZZ_CHECK (isfinite (t->data[j]));
          if (dt == LQ_DTYPE_F32)
            FUZZ_CHECK (memcmp (&t->data[j], raw + 4 * j, 4) == 0); /* little-endian host */
          else
            FUZZ_CHECK (lq_float_to_half (t->data[j]) == (raw[2 * j] | raw[2 * j + 1] << 8));
        }
      if (off > 0 && off < dlen && cuts->len < 32)
        g_array_append_val (cuts, off);
      off += t->numel * esize;
    }
  FUZZ_CHECK (off == dlen);

  /* Every shorter prefix fails: inside the header (cheap: refused from the length field)… */
  for (gsize k = 0; k < MIN (len, 8 + hlen); k++)
    expect_reject (data, k);
  /* …and inside the data, where each attempt parses the whole header again. */
  gsize step = MAX (dlen / 64, 1);
  for (gsize k = 0; k < dlen; k += step)
    expect_reject (data, 8 + hlen + k);
  if (dlen > 0)
    expect_reject (data, len - 1);
  for (guint i = 0; i < cuts->len; i++)
    expect_reject (data, 8 + hlen + g_array_index (cuts, gsize, i));

  /* Re-save, re-load, re-save: the same contents, then the same bytes. */
  LqDType dtype = mixed ? LQ_DTYPE_F32 : dtype0;
  g_autoptr (GBytes) s1 = resave (st, dtype);
  gsize len1;
  const guint8 *p1 = g_bytes_get_data (s1, &len1);
  GError *error = NULL;
  g_autoptr (LqSafetensors) st1 = lq_safetensors_parse (p1, len1, &error);
  if (st1 == NULL)
    fprintf (stderr, "re-saved file refused: %s\n", error->message);
  FUZZ_CHECK (st1 != NULL);
  check_same (st, st1, !mixed);
  g_autoptr (GBytes) s2 = resave (st1, dtype);
  FUZZ_CHECK (g_bytes_equal (s1, s2));
  /* A canonical header: identical bytes. */
  if (read_le64 (p1) == hlen && memcmp (p1, data, 8 + hlen) == 0)
    FUZZ_CHECK (len1 == len && memcmp (p1, data, len) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  LqSafetensors *st = lq_safetensors_parse (data, size, &error);

  /* The file loader reads differently (header first, then straight into the tensors): it must
   * reach the same verdict and the same tensors. */
  GError *ferror = NULL;
  LqSafetensors *fst = lq_safetensors_load (fuzz_write_scratch (data, size), &ferror);
  FUZZ_CHECK ((st == NULL) == (fst == NULL));

  if (st == NULL)
    {
      FUZZ_CHECK_ERROR (error);
      FUZZ_CHECK_ERROR (ferror);
      FUZZ_CHECK (error->code == ferror->code);
      g_error_free (error);
      g_error_free (ferror);
      return 0;
    }
  FUZZ_CHECK (error == NULL && ferror == NULL);
  check_same (st, fst, TRUE);
  lq_safetensors_free (fst);
  check_accepted (data, size, st);
  lq_safetensors_free (st);
  return 0;
}

/* fuzz-idx.c: lq_idx_parse, lq_idx_load and lq_idx_load_prefix on arbitrary bytes.
 *
 * On an accepted plain input: 1 to 4 dims, all > 0, size = their product = the input minus the
 * header, data = the input's payload bytes, lq_idx_serialize gives the input back byte for byte,
 * and every shorter prefix is rejected (all of them: a refusal costs no copy).
 * On an accepted gzip input: lq_gunzip gives plain IDX bytes that serialize back identically,
 * and shorter prefixes are rejected (up to 64 cut points plus the 8-byte trailer: each one
 * inflates the stream again).
 * Always: lq_idx_load on the same bytes in a file reaches the same verdict (same error code)
 * and the same contents; lq_idx_load_prefix gives the first n items for n = 0, dims[0] / 2 and
 * dims[0] and refuses n = dims[0] + 1; lq_idx_check_labels only accepts 1-D labels < 10. */
#include "fuzz-common.h"
#include "lq-error.h"
#include "lq-idx.h"
#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init_glib ();
  return 0;
}

static void
expect_reject (const guint8 *data, gsize len)
{
  GError *error = NULL;
  LqIdx *idx = lq_idx_parse (data, len, &error);
  FUZZ_CHECK (idx == NULL);
  FUZZ_CHECK_ERROR (error);
  g_error_free (error);
}

static void
check_same (const LqIdx *a, const LqIdx *b)
{
  FUZZ_CHECK (a->ndim == b->ndim && memcmp (a->dims, b->dims, sizeof a->dims) == 0);
  FUZZ_CHECK (a->size == b->size && memcmp (a->data, b->data, a->size) == 0);
}

static void
check_prefix (const char *path, const LqIdx *idx, int n)
{
  GError *error = NULL;
  int total = -1;
  LqIdx *p = lq_idx_load_prefix (path, n, &total, &error);
  if (n > idx->dims[0])
    {
      FUZZ_CHECK (p == NULL);
      FUZZ_CHECK_ERROR (error);
      g_error_free (error);
      return;
    }
  FUZZ_CHECK (p != NULL && error == NULL && total == idx->dims[0]);
  gsize item = idx->size / (gsize) idx->dims[0];
  FUZZ_CHECK (p->ndim == idx->ndim && p->dims[0] == n);
  FUZZ_CHECK (memcmp (p->dims + 1, idx->dims + 1, 3 * sizeof (int)) == 0);
  FUZZ_CHECK (p->size == item * (gsize) n && memcmp (p->data, idx->data, p->size) == 0);
  lq_idx_free (p);
}

static void
check_accepted (const guint8 *data, gsize len, const LqIdx *idx)
{
  FUZZ_CHECK (idx->ndim >= 1 && idx->ndim <= 4);
  gsize prod = 1;
  for (int i = 0; i < 4; i++)
    {
      FUZZ_CHECK (i < idx->ndim ? idx->dims[i] > 0 : idx->dims[i] == 0);
      if (i < idx->ndim)
        prod *= (gsize) idx->dims[i];
    }
  FUZZ_CHECK (idx->size == prod && idx->size <= LQ_IDX_MAX_BYTES);
  gsize hl = 4 + 4 * (gsize) idx->ndim;

  g_autoptr (GBytes) plain = lq_idx_serialize (idx);
  gsize plen;
  const guint8 *p = g_bytes_get_data (plain, &plen);
  FUZZ_CHECK (plen == hl + idx->size);
  if (!lq_idx_is_gzip (data, len))
    {
      /* The payload is the input's bytes after the header, and nothing else. */
      FUZZ_CHECK (len == plen && memcmp (data, p, len) == 0);
      for (gsize k = 0; k < len; k++)
        expect_reject (data, k);
      return;
    }
  GError *error = NULL;
  g_autoptr (GBytes) raw = lq_gunzip (data, len, &error);
  FUZZ_CHECK (raw != NULL && error == NULL && g_bytes_equal (raw, plain));
  gsize step = MAX (len / 64, 1);
  for (gsize k = 0; k < len; k += step)
    expect_reject (data, k);
  for (gsize k = len > 8 ? len - 8 : 0; k < len; k++)
    expect_reject (data, k);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  LqIdx *idx = lq_idx_parse (data, size, &error);

  const char *path = fuzz_write_scratch (data, size);
  GError *ferror = NULL;
  LqIdx *fidx = lq_idx_load (path, &ferror);
  FUZZ_CHECK ((idx == NULL) == (fidx == NULL));
  if (idx == NULL)
    {
      FUZZ_CHECK_ERROR (error);
      FUZZ_CHECK_ERROR (ferror);
      FUZZ_CHECK (error->code == ferror->code);
      g_clear_error (&ferror);
      /* A refused file is refused whatever prefix is asked for. */
      LqIdx *p = lq_idx_load_prefix (path, 0, NULL, &ferror);
      FUZZ_CHECK (p == NULL);
      FUZZ_CHECK_ERROR (ferror);
      g_error_free (ferror);
      g_error_free (error);
      return 0;
    }
  FUZZ_CHECK (error == NULL && ferror == NULL);
  check_same (idx, fidx);
  lq_idx_free (fidx);

  check_accepted (data, size, idx);
  check_prefix (path, idx, 0);
  check_prefix (path, idx, idx->dims[0] / 2);
  check_prefix (path, idx, idx->dims[0]);
  check_prefix (path, idx, idx->dims[0] + 1);

  gboolean labels = lq_idx_check_labels (idx, 10, &error);
  gboolean expect = idx->ndim == 1;
  for (gsize i = 0; expect && i < idx->size; i++)
    expect = idx->data[i] < 10;
  FUZZ_CHECK (labels == expect);
  if (!labels)
    {
      FUZZ_CHECK_ERROR (error);
      g_error_free (error);
    }
  lq_idx_free (idx);
  return 0;
}

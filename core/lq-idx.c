/* lq-idx.c: strict IDX reader (plain or gzip) and writer.
 *
 * Layout: magic 00 00 08 N (unsigned bytes, N dims), N big-endian u32 dims, then the product of the
 * dims in bytes, nothing after. Every size is checked before anything is allocated from it. */
#include "lq-idx.h"
#include "lq-error.h"
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_UBYTE 0x08

gboolean
lq_idx_is_gzip (const guint8 *data, gsize len)
{
  return len >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | (guint32) p[3];
}

/* Checks the header in the first avail bytes; fills ndim, dims, the header length and the
 * payload size (product of dims). Does not look at the payload. */
static gboolean
parse_header (const guint8 *p, gsize avail, int *ndim, int dims[4], gsize *hdr_len,
              gsize *payload, GError **error)
{
  if (avail < 4)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "not an IDX file: %" G_GSIZE_FORMAT " bytes is too short for the magic number",
                   avail);
      return FALSE;
    }
  guint32 magic = read_be32 (p);
  if (p[0] != 0 || p[1] != 0 || p[2] != IDX_UBYTE || p[3] < 1 || p[3] > 4)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "not an IDX file of unsigned bytes: magic 0x%08x (expected 0x00000801 to "
                   "0x00000804)", magic);
      return FALSE;
    }
  int nd = p[3];
  gsize hl = 4 + 4 * (gsize) nd;
  if (avail < hl)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "truncated IDX header: %d dimensions need %" G_GSIZE_FORMAT " bytes, the file "
                   "has %" G_GSIZE_FORMAT, nd, hl, avail);
      return FALSE;
    }
  gsize n = 1;
  for (int i = 0; i < nd; i++)
    {
      guint32 d = read_be32 (p + 4 + 4 * i);
      if (d == 0)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "IDX dimension %d is 0", i);
          return FALSE;
        }
      if (d > INT_MAX || n > LQ_IDX_MAX_BYTES / d)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                       "IDX dimension %d is %u: the data would exceed %" G_GSIZE_FORMAT " bytes",
                       i, d, LQ_IDX_MAX_BYTES);
          return FALSE;
        }
      n *= d;
      dims[i] = (int) d;
    }
  for (int i = nd; i < 4; i++)
    dims[i] = 0;
  *ndim = nd;
  *hdr_len = hl;
  *payload = n;
  return TRUE;
}

static gboolean
check_total (gsize hl, gsize payload, gsize len, GError **error)
{
  if (len - hl < payload)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "truncated IDX data: the header promises %" G_GSIZE_FORMAT " bytes, the file "
                   "holds %" G_GSIZE_FORMAT, payload, len - hl);
      return FALSE;
    }
  if (len - hl > payload)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "%" G_GSIZE_FORMAT " trailing bytes after the IDX data", len - hl - payload);
      return FALSE;
    }
  return TRUE;
}

/* Parses plain IDX bytes. When owned is the buffer data points into, the payload is moved to its
 * front and the buffer is taken (no second copy of a 47 MB file); otherwise it is copied. On
 * failure an owned buffer is freed. */
static LqIdx *
parse_plain (const guint8 *data, gsize len, guint8 *owned, GError **error)
{
  int ndim, dims[4];
  gsize hl, payload;
  if (!parse_header (data, len, &ndim, dims, &hl, &payload, error)
      || !check_total (hl, payload, len, error))
    {
      g_free (owned);
      return NULL;
    }
  LqIdx *idx = g_new0 (LqIdx, 1);
  idx->ndim = ndim;
  memcpy (idx->dims, dims, sizeof dims);
  idx->size = payload;
  if (owned)
    {
      memmove (owned, owned + hl, payload);
      idx->data = g_realloc (owned, payload);
    }
  else
    idx->data = g_memdup2 (data + hl, payload);
  return idx;
}

/* Inflates one gzip member into a new buffer of at most LQ_IDX_MAX_BYTES. */
static gboolean
gunzip_buffer (const guint8 *data, gsize len, guint8 **out, gsize *out_len, GError **error)
{
  z_stream zs = { 0 };
  if (inflateInit2 (&zs, 16 + MAX_WBITS) != Z_OK)
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_IO, "cannot initialise zlib");
      return FALSE;
    }
  /* The gzip trailer's ISIZE is a hint for the first allocation only; it is not trusted beyond
   * deflate's maximum ratio (1032:1), so a truncated or lying file cannot ask for 64 MiB. */
  gsize cap = 1 << 16;
  if (len >= 18)
    {
      const guint8 *t = data + len - 4;
      gsize hint = (gsize) t[0] | (gsize) t[1] << 8 | (gsize) t[2] << 16 | (gsize) t[3] << 24;
      gsize most = MIN (LQ_IDX_MAX_BYTES + 1, len * 1032 + cap);
      cap = CLAMP (hint + 1, cap, most);
    }
  guint8 *buf = g_malloc (cap);
  gsize in_off = 0;
  zs.next_out = buf;
  zs.avail_out = (uInt) cap;
  gboolean ok = FALSE;
  for (;;)
    {
      if (zs.avail_in == 0 && in_off < len)
        {
          gsize chunk = MIN (len - in_off, (gsize) 1 << 30);
          zs.next_in = (Bytef *) data + in_off;
          zs.avail_in = (uInt) chunk;
          in_off += chunk;
        }
      if (zs.avail_out == 0)
        {
          if (cap > LQ_IDX_MAX_BYTES)
            {
              g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                           "gzip data decompresses to more than %" G_GSIZE_FORMAT " bytes",
                           LQ_IDX_MAX_BYTES);
              break;
            }
          gsize used = cap;
          cap = MIN (cap * 2, LQ_IDX_MAX_BYTES + 1);
          buf = g_realloc (buf, cap);
          zs.next_out = buf + used;
          zs.avail_out = (uInt) (cap - used);
        }
      int r = inflate (&zs, Z_NO_FLUSH);
      if (r == Z_STREAM_END)
        {
          if (zs.total_out > LQ_IDX_MAX_BYTES)
            g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                         "gzip data decompresses to more than %" G_GSIZE_FORMAT " bytes",
                         LQ_IDX_MAX_BYTES);
          else if (zs.avail_in != 0 || in_off < len)
            g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                         "%" G_GSIZE_FORMAT " trailing bytes after the gzip stream",
                         (gsize) zs.avail_in + (len - in_off));
          else
            ok = TRUE;
          break;
        }
      if (r == Z_OK)
        continue;
      if (r == Z_BUF_ERROR && zs.avail_out == 0)
        continue; /* room runs out: grow and go on */
      if (r == Z_BUF_ERROR)
        g_set_error_literal (error, LQ_ERROR, LQ_ERROR_FORMAT, "truncated gzip data");
      else if (r == Z_MEM_ERROR)
        g_set_error_literal (error, LQ_ERROR, LQ_ERROR_IO, "out of memory in zlib");
      else
        g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "corrupt gzip data (%s)",
                     zs.msg ? zs.msg : "invalid stream");
      break;
    }
  gsize total = (gsize) zs.total_out;
  inflateEnd (&zs);
  if (!ok)
    {
      g_free (buf);
      return FALSE;
    }
  *out = g_realloc (buf, MAX (total, 1));
  *out_len = total;
  return TRUE;
}

GBytes *
lq_gunzip (const guint8 *data, gsize len, GError **error)
{
  guint8 *out;
  gsize out_len;
  if (!gunzip_buffer (data, len, &out, &out_len, error))
    return NULL;
  return g_bytes_new_take (out, out_len);
}

LqIdx *
lq_idx_parse (const guint8 *data, gsize len, GError **error)
{
  if (lq_idx_is_gzip (data, len))
    {
      guint8 *raw;
      gsize raw_len;
      if (!gunzip_buffer (data, len, &raw, &raw_len, error))
        return NULL;
      return parse_plain (raw, raw_len, raw, error);
    }
  return parse_plain (data, len, NULL, error);
}

/* Opens a regular file no larger than the IDX cap; fills its size. */
static int
open_capped (const char *path, gsize *size, GError **error)
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO,
                   "%s: cannot open: %s", path, g_strerror (e));
      return -1;
    }
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "%s: not a regular file", path);
      close (fd);
      return -1;
    }
  if ((guint64) st.st_size > LQ_IDX_MAX_BYTES)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "%s: %" G_GUINT64_FORMAT " bytes is larger than any IDX file this reader "
                   "accepts (%" G_GSIZE_FORMAT ")", path, (guint64) st.st_size, LQ_IDX_MAX_BYTES);
      close (fd);
      return -1;
    }
  *size = (gsize) st.st_size;
  return fd;
}

/* Reads exactly len bytes; a short read (file shrank) is an error. */
static gboolean
read_full (int fd, const char *path, guint8 *buf, gsize len, GError **error)
{
  gsize done = 0;
  while (done < len)
    {
      ssize_t r = read (fd, buf + done, MIN (len - done, (gsize) 1 << 30));
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "%s: read failed: %s", path,
                       r < 0 ? g_strerror (errno) : "unexpected end of file");
          return FALSE;
        }
      done += (gsize) r;
    }
  return TRUE;
}

static guint8 *
read_file (const char *path, gsize *len, GError **error)
{
  gsize size;
  int fd = open_capped (path, &size, error);
  if (fd < 0)
    return NULL;
  guint8 *buf = g_malloc (MAX (size, 1));
  if (!read_full (fd, path, buf, size, error))
    {
      g_free (buf);
      close (fd);
      return NULL;
    }
  close (fd);
  *len = size;
  return buf;
}

LqIdx *
lq_idx_load (const char *path, GError **error)
{
  gsize len;
  guint8 *buf = read_file (path, &len, error);
  if (buf == NULL)
    return NULL;
  LqIdx *idx;
  if (lq_idx_is_gzip (buf, len))
    {
      guint8 *raw;
      gsize raw_len;
      gboolean ok = gunzip_buffer (buf, len, &raw, &raw_len, error);
      g_free (buf);
      idx = ok ? parse_plain (raw, raw_len, raw, error) : NULL;
    }
  else
    idx = parse_plain (buf, len, buf, error);
  if (idx == NULL)
    g_prefix_error (error, "%s: ", path);
  return idx;
}

static gboolean
check_prefix (const LqIdx *idx, int n, const char *path, GError **error)
{
  if (n < 0 || n > idx->dims[0])
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "%s: asked for the first %d items of %d", path, n, idx->dims[0]);
      return FALSE;
    }
  return TRUE;
}

LqIdx *
lq_idx_load_prefix (const char *path, int n, int *total, GError **error)
{
  gsize size;
  int fd = open_capped (path, &size, error);
  if (fd < 0)
    return NULL;
  guint8 head[4 + 4 * 4];
  gsize head_len = MIN (size, sizeof head);
  if (!read_full (fd, path, head, head_len, error))
    {
      close (fd);
      return NULL;
    }
  if (lq_idx_is_gzip (head, head_len))
    {
      /* A gzip member can only be checked by inflating all of it. */
      close (fd);
      LqIdx *idx = lq_idx_load (path, error);
      if (idx == NULL)
        return NULL;
      if (!check_prefix (idx, n, path, error))
        {
          lq_idx_free (idx);
          return NULL;
        }
      gsize item = idx->size / (gsize) idx->dims[0];
      if (total)
        *total = idx->dims[0];
      idx->dims[0] = n;
      idx->size = item * (gsize) n;
      idx->data = g_realloc (idx->data, MAX (idx->size, 1));
      return idx;
    }
  int ndim, dims[4];
  gsize hl, payload;
  if (!parse_header (head, head_len, &ndim, dims, &hl, &payload, error)
      || !check_total (hl, payload, size, error))
    {
      g_prefix_error (error, "%s: ", path);
      close (fd);
      return NULL;
    }
  LqIdx tmp = { .ndim = ndim };
  memcpy (tmp.dims, dims, sizeof dims);
  if (!check_prefix (&tmp, n, path, error) || lseek (fd, (off_t) hl, SEEK_SET) != (off_t) hl)
    {
      if (error && *error == NULL)
        g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "%s: seek failed", path);
      close (fd);
      return NULL;
    }
  gsize want = payload / (gsize) dims[0] * (gsize) n;
  guint8 *data = g_malloc (MAX (want, 1));
  if (!read_full (fd, path, data, want, error))
    {
      g_free (data);
      close (fd);
      return NULL;
    }
  close (fd);
  if (total)
    *total = dims[0];
  LqIdx *idx = g_new0 (LqIdx, 1);
  *idx = tmp;
  idx->dims[0] = n;
  idx->data = data;
  idx->size = want;
  return idx;
}

void
lq_idx_free (LqIdx *idx)
{
  if (idx == NULL)
    return;
  g_free (idx->data);
  g_free (idx);
}

gboolean
lq_idx_check_labels (const LqIdx *idx, int classes, GError **error)
{
  if (idx->ndim != 1)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "a labels file has one dimension, this one has %d", idx->ndim);
      return FALSE;
    }
  for (gsize i = 0; i < idx->size; i++)
    if (idx->data[i] >= classes)
      {
        g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                     "label %u at index %" G_GSIZE_FORMAT " is not below %d", idx->data[i], i,
                     classes);
        return FALSE;
      }
  return TRUE;
}

GBytes *
lq_idx_serialize (const LqIdx *idx)
{
  g_return_val_if_fail (idx != NULL && idx->ndim >= 1 && idx->ndim <= 4, NULL);
  gsize hl = 4 + 4 * (gsize) idx->ndim;
  guint8 *out = g_malloc (hl + idx->size);
  out[0] = 0, out[1] = 0, out[2] = IDX_UBYTE, out[3] = (guint8) idx->ndim;
  for (int i = 0; i < idx->ndim; i++)
    {
      guint32 d = (guint32) idx->dims[i];
      guint8 *p = out + 4 + 4 * i;
      p[0] = d >> 24, p[1] = d >> 16, p[2] = d >> 8, p[3] = d;
    }
  memcpy (out + hl, idx->data, idx->size);
  return g_bytes_new_take (out, hl + idx->size);
}

/* lq-safetensors.c: safetensors read/write (F32, F16) and atomic file replacement. */
#define _GNU_SOURCE /* O_TMPFILE */
#include "lq-safetensors.h"
#include "lq-error.h"
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The reference implementation's cap on the JSON header. */
#define HEADER_MAX 100000000u
/* Our files nest three deep; a deeper header is refused before json-glib recurses into it. */
#define JSON_MAX_DEPTH 16

typedef struct {
  char *name;
  LqDType dtype;
  int ndim;
  int shape[LQ_MAX_DIMS];
  guint64 begin, end;
  guint order;       /* position in the header object: the tie-break for equal offsets */
  LqTensor *tensor;  /* F32 values */
} Entry;

struct _LqSafetensors {
  GPtrArray *entries;    /* Entry*, owned, in file (offset) order */
  GHashTable *by_name;   /* name → Entry*, borrowed */
  GHashTable *metadata;  /* str → str, owned */
};

static void
entry_free (gpointer p)
{
  Entry *e = p;
  g_free (e->name);
  lq_tensor_free (e->tensor);
  g_free (e);
}

static LqSafetensors *
st_new (void)
{
  LqSafetensors *st = g_new0 (LqSafetensors, 1);
  st->entries = g_ptr_array_new_with_free_func (entry_free);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return st;
}

void
lq_safetensors_free (LqSafetensors *st)
{
  if (st == NULL)
    return;
  g_hash_table_unref (st->by_name);
  g_ptr_array_unref (st->entries);
  g_hash_table_unref (st->metadata);
  g_free (st);
}

/* ---- half precision ---------------------------------------------------------------------- */

static inline guint32
float_bits (float f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  return u;
}

static inline float
bits_float (guint32 u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

float
lq_half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  if (exp == 0)
    {
      /* Zero or subnormal: mant · 2^-24, exact in float. */
      float v = ldexpf ((float) mant, -24);
      return sign ? -v : v;
    }
  if (exp == 31) /* inf, or NaN with its payload kept */
    return bits_float (sign | 0x7f800000u | (mant << 13));
  return bits_float (sign | ((exp + 112) << 23) | (mant << 13));
}

guint16
lq_float_to_half (float f)
{
  guint32 x = float_bits (f);
  guint16 sign = (guint16) ((x >> 16) & 0x8000);
  guint32 ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) /* inf stays inf; NaN stays a (quiet) NaN */
    return sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0);
  if (ax >= 0x477ff000u) /* ≥ 65520 rounds (ties to even) past 65504: overflow */
    return sign | 0x7c00;
  if (ax < 0x38800000u)
    {
      /* Below 2^-14: a subnormal half, in units of 2^-24, rounded to nearest even. */
      if (ax < 0x33000000u) /* below 2^-25: rounds to zero */
        return sign;
      guint32 e = ax >> 23;
      guint32 m = (ax & 0x7fffffu) | 0x800000u;
      guint32 shift = 126 - e; /* 14 … 24 */
      guint32 q = m >> shift;
      guint32 rem = m & ((1u << shift) - 1);
      guint32 halfway = 1u << (shift - 1);
      if (rem > halfway || (rem == halfway && (q & 1)))
        q++; /* may carry into the smallest normal, which is the right answer */
      return sign | (guint16) q;
    }
  guint32 q = ((ax >> 23) - 112) << 10 | ((ax & 0x7fffffu) >> 13);
  guint32 rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (q & 1)))
    q++; /* a carry into the exponent is correct; it cannot reach inf below 65520 */
  return sign | (guint16) q;
}

/* ---- header validation ------------------------------------------------------------------- */

static guint
hex4 (const char *p)
{
  guint v = 0;
  for (int k = 0; k < 4; k++)
    v = v << 4 | (guint) g_ascii_xdigit_value (p[k]);
  return v;
}

/* json-glib is lenient where the reference's serde_json is not: it reads 0x10 and 012 (octal),
 * wraps integers past 2^63, accepts comments, single quotes, raw control characters in strings
 * and data after the root value, and cuts strings at \u0000. This scan only checks the tokens
 * (json-glib still does all of the parsing) so those inputs are refused as the reference would. */
static gboolean
check_json_tokens (const char *s, gsize n, GError **error)
{
  gsize i = 0;
  int depth = 0;
  gboolean root_done = FALSE;
#define FAIL(...)                                                                             \
  do                                                                                          \
    {                                                                                         \
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, __VA_ARGS__);                            \
      return FALSE;                                                                           \
    }                                                                                         \
  while (0)
  for (;;)
    {
      while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
      if (i == n)
        break;
      char c = s[i];
      if (root_done)
        FAIL ("data after the header's JSON object at byte %" G_GSIZE_FORMAT, i);
      if (depth == 0 && c != '{')
        FAIL ("the header is not a JSON object");
      if (c == '{' || c == '[')
        {
          if (++depth > JSON_MAX_DEPTH)
            FAIL ("the header nests deeper than %d levels", JSON_MAX_DEPTH);
          i++;
        }
      else if (c == '}' || c == ']')
        {
          if (--depth == 0)
            root_done = TRUE;
          i++;
        }
      else if (c == ',' || c == ':')
        i++;
      else if (c == '"')
        {
          for (i++;; i++)
            {
              if (i >= n)
                FAIL ("unterminated string in the header");
              guchar ch = (guchar) s[i];
              if (ch == '"')
                break;
              if (ch < 0x20)
                FAIL ("control character in a header string at byte %" G_GSIZE_FORMAT, i);
              if (ch != '\\')
                continue;
              if (++i >= n || !strchr ("\"\\/bfnrtu", s[i]))
                FAIL ("bad escape in a header string at byte %" G_GSIZE_FORMAT, i);
              if (s[i] == 'u')
                {
                  if (n - i < 5 || !g_ascii_isxdigit (s[i + 1]) || !g_ascii_isxdigit (s[i + 2])
                      || !g_ascii_isxdigit (s[i + 3]) || !g_ascii_isxdigit (s[i + 4]))
                    FAIL ("bad \\u escape in a header string at byte %" G_GSIZE_FORMAT, i);
                  guint cp = hex4 (s + i + 1);
                  if (cp == 0)
                    FAIL ("NUL character in a header string");
                  i += 4;
                  /* UTF-16 surrogates only as a high + low pair, as strict parsers demand. */
                  if (cp >= 0xdc00 && cp <= 0xdfff)
                    FAIL ("lone surrogate \\u%04x in a header string", cp);
                  if (cp >= 0xd800 && cp <= 0xdbff)
                    {
                      guint lo = 0;
                      if (n - i >= 7 && s[i + 1] == '\\' && s[i + 2] == 'u'
                          && g_ascii_isxdigit (s[i + 3]) && g_ascii_isxdigit (s[i + 4])
                          && g_ascii_isxdigit (s[i + 5]) && g_ascii_isxdigit (s[i + 6]))
                        lo = hex4 (s + i + 3);
                      if (lo < 0xdc00 || lo > 0xdfff)
                        FAIL ("lone surrogate \\u%04x in a header string", cp);
                      i += 6;
                    }
                }
            }
          i++;
        }
      else if (c == '-' || g_ascii_isdigit (c))
        {
          gsize start = i;
          gboolean integer = TRUE;
          if (s[i] == '-')
            i++;
          if (i < n && s[i] == '0')
            i++;
          else if (i < n && s[i] >= '1' && s[i] <= '9')
            while (i < n && g_ascii_isdigit (s[i]))
              i++;
          else
            FAIL ("bad number in the header at byte %" G_GSIZE_FORMAT, start);
          if (i < n && s[i] == '.')
            {
              integer = FALSE;
              gsize d = ++i;
              while (i < n && g_ascii_isdigit (s[i]))
                i++;
              if (i == d)
                FAIL ("bad number in the header at byte %" G_GSIZE_FORMAT, start);
            }
          if (i < n && (s[i] == 'e' || s[i] == 'E'))
            {
              integer = FALSE;
              i++;
              if (i < n && (s[i] == '+' || s[i] == '-'))
                i++;
              gsize d = i;
              while (i < n && g_ascii_isdigit (s[i]))
                i++;
              if (i == d)
                FAIL ("bad number in the header at byte %" G_GSIZE_FORMAT, start);
            }
          if (i < n && !strchr (" \t\r\n,]}", s[i]))
            FAIL ("bad number in the header at byte %" G_GSIZE_FORMAT, start);
          /* 19 digits reach past INT64_MAX, where json-glib would wrap around. */
          gsize digits = i - start - (s[start] == '-');
          if (integer && digits > 18)
            FAIL ("integer too large in the header at byte %" G_GSIZE_FORMAT, start);
        }
      else if (n - i >= 4 && (strncmp (s + i, "true", 4) == 0 || strncmp (s + i, "null", 4) == 0))
        i += 4;
      else if (n - i >= 5 && strncmp (s + i, "false", 5) == 0)
        i += 5;
      else
        FAIL ("unexpected character '%c' in the header at byte %" G_GSIZE_FORMAT,
              g_ascii_isprint (c) ? c : '?', i);
      if (depth < 0)
        FAIL ("unbalanced brackets in the header");
    }
  if (!root_done)
    FAIL (depth > 0 ? "the header's JSON object is not closed" : "the header is empty");
#undef FAIL
  return TRUE;
}

/* json-glib keeps only the last of two members with the same name; catch the second one as
 * the parser reports it. */
typedef struct {
  GHashTable *seen;  /* JsonObject* → GHashTable of names */
  char *duplicate;   /* the first duplicated name */
} DupCheck;

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *name, gpointer user_data)
{
  DupCheck *d = user_data;
  if (d->duplicate)
    return; /* after a replacement, freed objects' addresses may be reused: stop here */
  GHashTable *names = g_hash_table_lookup (d->seen, object);
  if (names == NULL)
    {
      names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (d->seen, object, names);
    }
  if (!g_hash_table_add (names, g_strdup (name)))
    d->duplicate = g_strdup (name);
}

static gboolean
node_to_u64 (JsonNode *node, guint64 *out)
{
  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

static gboolean
parse_entry (const char *name, JsonNode *node, guint order, Entry **out, GError **error)
{
#define FAIL(code, ...)                                                                       \
  do                                                                                          \
    {                                                                                         \
      g_set_error (error, LQ_ERROR, code, __VA_ARGS__);                                       \
      return FALSE;                                                                           \
    }                                                                                         \
  while (0)
  if (!JSON_NODE_HOLDS_OBJECT (node))
    FAIL (LQ_ERROR_FORMAT, "tensor '%s': its entry is not a JSON object", name);
  JsonObject *o = json_node_get_object (node);
  g_autoptr (GList) members = json_object_get_members (o);
  for (GList *l = members; l; l = l->next)
    if (strcmp (l->data, "dtype") != 0 && strcmp (l->data, "shape") != 0
        && strcmp (l->data, "data_offsets") != 0)
      FAIL (LQ_ERROR_FORMAT, "tensor '%s': unexpected key '%s'", name, (char *) l->data);

  JsonNode *dt = json_object_get_member (o, "dtype");
  if (dt == NULL || JSON_NODE_TYPE (dt) != JSON_NODE_VALUE
      || json_node_get_value_type (dt) != G_TYPE_STRING)
    FAIL (LQ_ERROR_FORMAT, "tensor '%s': dtype is missing or not a string", name);
  const char *dts = json_node_get_string (dt);
  LqDType dtype;
  gsize dsize;
  if (strcmp (dts, "F32") == 0)
    dtype = LQ_DTYPE_F32, dsize = 4;
  else if (strcmp (dts, "F16") == 0)
    dtype = LQ_DTYPE_F16, dsize = 2;
  else
    FAIL (LQ_ERROR_UNSUPPORTED, "tensor '%s': unsupported dtype '%s' (only F32 and F16 are "
          "supported)", name, dts);

  JsonNode *sh = json_object_get_member (o, "shape");
  if (sh == NULL || !JSON_NODE_HOLDS_ARRAY (sh))
    FAIL (LQ_ERROR_FORMAT, "tensor '%s': shape is missing or not an array", name);
  JsonArray *sa = json_node_get_array (sh);
  guint ndim = json_array_get_length (sa);
  if (ndim > LQ_MAX_DIMS)
    FAIL (LQ_ERROR_UNSUPPORTED, "tensor '%s' has %u dimensions (at most %d are supported)",
          name, ndim, LQ_MAX_DIMS);
  int shape[LQ_MAX_DIMS] = { 0 };
  guint64 numel = 1;
  gboolean overflow = FALSE;
  for (guint i = 0; i < ndim; i++)
    {
      guint64 d;
      if (!node_to_u64 (json_array_get_element (sa, i), &d))
        FAIL (LQ_ERROR_FORMAT, "tensor '%s': shape[%u] is not a non-negative integer", name, i);
      if (d > INT_MAX)
        FAIL (LQ_ERROR_FORMAT, "tensor '%s': shape[%u] = %" G_GUINT64_FORMAT " is too large",
              name, i, d);
      shape[i] = (int) d;
      if (d != 0 && numel > G_MAXUINT64 / d)
        overflow = TRUE;
      else
        numel *= d;
    }
  /* The running product must not overflow even when a later dimension is 0: the reference
   * refuses [2^31-1, 2^31-1, 2^31-1, 0] too, and lq_tensor_new would refuse it (regression
   * input: tests/fuzz/corpus-safetensors/regress-zero-dim-huge-shape.safetensors). */
  size_t tensor_numel;
  if (overflow || numel > G_MAXUINT64 / dsize
      || !lq_shape_numel ((int) ndim, shape, &tensor_numel))
    FAIL (LQ_ERROR_FORMAT, "tensor '%s': its shape's size overflows", name);

  JsonNode *of = json_object_get_member (o, "data_offsets");
  if (of == NULL || !JSON_NODE_HOLDS_ARRAY (of) || json_array_get_length (json_node_get_array (of)) != 2)
    FAIL (LQ_ERROR_FORMAT, "tensor '%s': data_offsets is missing or not a [begin, end] pair",
          name);
  guint64 begin, end;
  if (!node_to_u64 (json_array_get_element (json_node_get_array (of), 0), &begin)
      || !node_to_u64 (json_array_get_element (json_node_get_array (of), 1), &end))
    FAIL (LQ_ERROR_FORMAT, "tensor '%s': data_offsets are not non-negative integers", name);
  if (end < begin)
    FAIL (LQ_ERROR_FORMAT, "tensor '%s': data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
          "] end before they begin", name, begin, end);
  if (end - begin != numel * dsize)
    FAIL (LQ_ERROR_FORMAT, "tensor '%s': data_offsets span %" G_GUINT64_FORMAT " bytes but a %s "
          "tensor of this shape needs %" G_GUINT64_FORMAT, name, end - begin, dts, numel * dsize);
#undef FAIL
  Entry *e = g_new0 (Entry, 1);
  e->name = g_strdup (name);
  e->dtype = dtype;
  e->ndim = (int) ndim;
  memcpy (e->shape, shape, sizeof shape);
  e->begin = begin;
  e->end = end;
  e->order = order;
  *out = e;
  return TRUE;
}

static gint
entry_cmp (gconstpointer a, gconstpointer b)
{
  const Entry *x = *(Entry *const *) a, *y = *(Entry *const *) b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Validates the JSON header against a data section of data_len bytes; no tensor is allocated. */
static LqSafetensors *
parse_header (const char *json, gsize n, guint64 data_len, GError **error)
{
  if (!g_utf8_validate_len (json, n, NULL))
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_FORMAT, "the header is not valid UTF-8");
      return NULL;
    }
  if (!check_json_tokens (json, n, error))
    return NULL;

  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  DupCheck dup = { g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                          (GDestroyNotify) g_hash_table_unref), NULL };
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &dup);
  GError *jerr = NULL;
  gboolean ok = json_parser_load_from_data (parser, json, (gssize) n, &jerr);
  g_hash_table_unref (dup.seen);
  g_autofree char *duplicate = dup.duplicate;
  if (!ok)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "the header is not valid JSON: %s",
                   jerr->message);
      g_error_free (jerr);
      return NULL;
    }
  if (duplicate)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "duplicate name '%s' in the header",
                   duplicate);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_FORMAT, "the header is not a JSON object");
      return NULL;
    }

  g_autoptr (LqSafetensors) st = st_new ();
  JsonObject *obj = json_node_get_object (root);
  g_autoptr (GList) members = json_object_get_members (obj);
  guint order = 0;
  for (GList *l = members; l; l = l->next, order++)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (obj, name);
      if (strcmp (name, "__metadata__") == 0)
        {
          if (!JSON_NODE_HOLDS_OBJECT (node))
            {
              g_set_error_literal (error, LQ_ERROR, LQ_ERROR_FORMAT,
                                   "__metadata__ is not a JSON object");
              return NULL;
            }
          JsonObject *mo = json_node_get_object (node);
          g_autoptr (GList) keys = json_object_get_members (mo);
          for (GList *k = keys; k; k = k->next)
            {
              JsonNode *v = json_object_get_member (mo, k->data);
              if (JSON_NODE_TYPE (v) != JSON_NODE_VALUE
                  || json_node_get_value_type (v) != G_TYPE_STRING)
                {
                  g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                               "__metadata__ value of '%s' is not a string", (char *) k->data);
                  return NULL;
                }
              g_hash_table_insert (st->metadata, g_strdup (k->data),
                                   g_strdup (json_node_get_string (v)));
            }
          continue;
        }
      Entry *e;
      if (!parse_entry (name, node, order, &e, error))
        return NULL;
      g_ptr_array_add (st->entries, e);
      g_hash_table_insert (st->by_name, e->name, e);
    }

  /* Sorted by offset, the tensors must tile the data section from 0 to its end exactly. */
  g_ptr_array_sort (st->entries, entry_cmp);
  guint64 pos = 0;
  for (guint i = 0; i < st->entries->len; i++)
    {
      Entry *e = st->entries->pdata[i];
      if (e->begin != pos)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                       "tensor '%s': data begins at %" G_GUINT64_FORMAT " where %" G_GUINT64_FORMAT
                       " was expected (%s)", e->name, e->begin, pos,
                       e->begin < pos ? "it overlaps the tensor before it" : "a gap precedes it");
          return NULL;
        }
      pos = e->end;
    }
  if (pos != data_len)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "the tensors cover %" G_GUINT64_FORMAT " bytes but the data section holds %"
                   G_GUINT64_FORMAT " (%s)", pos, data_len,
                   pos < data_len ? "trailing bytes" : "the file is truncated");
      return NULL;
    }
  return g_steal_pointer (&st);
}

static gboolean
check_finite (const Entry *e, GError **error)
{
  const float *v = e->tensor->data;
  for (size_t i = 0; i < e->tensor->numel; i++)
    if (!isfinite (v[i]))
      {
        g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "tensor '%s' holds %s at index %zu",
                     e->name, isnan (v[i]) ? "NaN" : "Inf", i);
        return FALSE;
      }
  return TRUE;
}

/* Converts the raw little-endian values of e into its F32 tensor; NaN/Inf are refused. */
static gboolean
fill_entry (Entry *e, const guint8 *raw, GError **error)
{
  e->tensor = lq_tensor_new (e->ndim, e->shape);
  float *dst = e->tensor->data;
  size_t n = e->tensor->numel;
  if (e->dtype == LQ_DTYPE_F32)
    {
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      memcpy (dst, raw, n * 4);
#else
      for (size_t i = 0; i < n; i++)
        {
          guint32 u;
          memcpy (&u, raw + 4 * i, 4);
          dst[i] = bits_float (GUINT32_FROM_LE (u));
        }
#endif
    }
  else
    for (size_t i = 0; i < n; i++)
      dst[i] = lq_half_to_float ((guint16) (raw[2 * i] | raw[2 * i + 1] << 8));
  return check_finite (e, error);
}

static guint64
read_le64 (const guint8 *p)
{
  guint64 v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

/* Checks the 8-byte length against the cap and the total size; fills the header length. */
static gboolean
check_header_len (const guint8 *p, guint64 total, guint64 *n_out, GError **error)
{
  if (total < 8)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "%" G_GUINT64_FORMAT " bytes is too short for a safetensors file", total);
      return FALSE;
    }
  guint64 n = read_le64 (p);
  if (n > HEADER_MAX)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "header length %" G_GUINT64_FORMAT " exceeds the %u-byte cap", n, HEADER_MAX);
      return FALSE;
    }
  if (n > total - 8)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                   "header length %" G_GUINT64_FORMAT " runs past the end of the file (%"
                   G_GUINT64_FORMAT " bytes)", n, total);
      return FALSE;
    }
  *n_out = n;
  return TRUE;
}

LqSafetensors *
lq_safetensors_parse (const guint8 *data, gsize len, GError **error)
{
  guint64 n;
  if (!check_header_len (data, len, &n, error))
    return NULL;
  g_autoptr (LqSafetensors) st = parse_header ((const char *) data + 8, n, len - 8 - n, error);
  if (st == NULL)
    return NULL;
  const guint8 *base = data + 8 + n;
  for (guint i = 0; i < st->entries->len; i++)
    {
      Entry *e = st->entries->pdata[i];
      if (!fill_entry (e, base + e->begin, error))
        return NULL;
    }
  return g_steal_pointer (&st);
}

static gboolean
read_exact (int fd, void *buf, gsize len, GError **error)
{
  guint8 *p = buf;
  while (len > 0)
    {
      ssize_t r = read (fd, p, MIN (len, (gsize) 1 << 30));
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "read failed: %s",
                       r < 0 ? g_strerror (errno) : "the file shrank while being read");
          return FALSE;
        }
      p += r;
      len -= (gsize) r;
    }
  return TRUE;
}

LqSafetensors *
lq_safetensors_load (const char *path, GError **error)
{
  /* Reads the header, validates it against the file size, and only then reads the data,
   * straight into the tensors: a lying header never causes a large allocation. */
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, LQ_ERROR, e == ENOENT ? LQ_ERROR_MISSING_DATA : LQ_ERROR_IO,
                   "%s: cannot open: %s", path, g_strerror (e));
      return NULL;
    }
  LqSafetensors *st = NULL;
  guint8 *buf = NULL;
  struct stat sb;
  guint8 len8[8];
  guint64 n;
  if (fstat (fd, &sb) != 0 || !S_ISREG (sb.st_mode))
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "%s: not a regular file", path);
      goto out;
    }
  guint64 total = (guint64) sb.st_size;
  if (total >= 8 && !read_exact (fd, len8, 8, error))
    goto fail;
  if (!check_header_len (len8, total, &n, error))
    goto fail;
  buf = g_malloc (MAX (n, 1));
  if (!read_exact (fd, buf, n, error))
    goto fail;
  st = parse_header ((const char *) buf, n, total - 8 - n, error);
  g_clear_pointer (&buf, g_free);
  if (st == NULL)
    goto fail;
  /* The entries are sorted and contiguous, so the data is read front to back. */
  for (guint i = 0; i < st->entries->len; i++)
    {
      Entry *e = st->entries->pdata[i];
      gsize bytes = e->end - e->begin;
      gboolean ok;
      if (e->dtype == LQ_DTYPE_F32 && G_BYTE_ORDER == G_LITTLE_ENDIAN)
        {
          e->tensor = lq_tensor_new (e->ndim, e->shape); /* read straight into the tensor */
          ok = read_exact (fd, e->tensor->data, bytes, error) && check_finite (e, error);
        }
      else
        {
          buf = g_malloc (MAX (bytes, 1));
          ok = read_exact (fd, buf, bytes, error) && fill_entry (e, buf, error);
          g_clear_pointer (&buf, g_free);
        }
      if (!ok)
        goto fail;
    }
  goto out;
fail:
  g_clear_pointer (&st, lq_safetensors_free);
  g_prefix_error (error, "%s: ", path);
out:
  g_free (buf);
  close (fd);
  return st;
}

/* ---- atomic replace ---------------------------------------------------------------------- */

static gboolean
write_all (int fd, const guint8 *p, gsize len, int *err)
{
  while (len > 0)
    {
      ssize_t w = write (fd, p, MIN (len, (gsize) 1 << 30));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          *err = w < 0 ? errno : ENOSPC;
          return FALSE;
        }
      p += w;
      len -= (gsize) w;
    }
  return TRUE;
}

/* A target that exists and is not a regular file (a FIFO, /dev/stdout, /dev/full) is a stream:
 * written in place. Renaming over it would replace the pipe or device node with a file. */
static gboolean
write_in_place (const char *path, const GStatBuf *sb, const void *data, gsize len, GError **error)
{
  int err = EISDIR;
  if (!S_ISDIR (sb->st_mode))
    {
      int fd = g_open (path, O_WRONLY | O_CLOEXEC, 0);
      gboolean ok = fd >= 0 && write_all (fd, data, len, &err);
      if (fd < 0)
        err = errno;
      if (fd >= 0 && close (fd) != 0 && ok)
        ok = FALSE, err = errno;
      if (ok)
        return TRUE;
    }
  g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "cannot write %s: %s", path, g_strerror (err));
  return FALSE;
}

/* Writes data to an unnamed file (O_TMPFILE) in path's folder and links it in under a fresh
 * name beside path: until it is complete the file has no name, so a process killed while
 * writing leaves nothing behind. Returns that name, or NULL with *err set (0 when O_TMPFILE or
 * /proc is not available here: the caller then uses a named temporary file). */
static char *
write_unnamed (const char *path, const void *data, gsize len, int *err)
{
  *err = 0;
#ifdef O_TMPFILE
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = g_open (dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    return NULL;
  char *name = NULL;
  if (write_all (fd, data, len, err) && (fsync (fd) == 0 || (*err = errno, FALSE)))
    {
      char proc[64];
      g_snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
      for (int i = 0; i < 100 && name == NULL; i++)
        {
          name = g_strdup_printf ("%s.tmp-%08x", path, g_random_int ());
          if (linkat (AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) != 0)
            {
              gboolean taken = errno == EEXIST;
              g_clear_pointer (&name, g_free);
              if (!taken)
                break;
            }
        }
    }
  close (fd);
  return name;
#else
  return NULL;
#endif
}

gboolean
lq_file_replace_atomically (const char *path, const void *data, gsize len, GError **error)
{
  /* The temporary file sits beside the target so that rename() stays within one file system
   * and is atomic: readers see the old file or the new one, never a half-written one. */
  GStatBuf sb;
  if (g_stat (path, &sb) == 0 && !S_ISREG (sb.st_mode))
    return write_in_place (path, &sb, data, len, error);
  int err;
  g_autofree char *tmp = write_unnamed (path, data, len, &err);
  if (tmp == NULL && err == 0)
    {
      /* Without O_TMPFILE: a named temporary file, removed on failure (not after a kill). */
      tmp = g_strconcat (path, ".tmp-XXXXXX", NULL);
      int fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0666);
      gboolean ok = fd >= 0 && write_all (fd, data, len, &err);
      if (fd < 0)
        err = errno;
      if (ok && fsync (fd) != 0)
        ok = FALSE, err = errno;
      if (fd >= 0 && close (fd) != 0 && ok)
        ok = FALSE, err = errno;
      if (!ok)
        {
          if (fd >= 0)
            g_unlink (tmp);
          g_clear_pointer (&tmp, g_free);
        }
    }
  if (tmp && g_rename (tmp, path) != 0)
    {
      err = errno;
      g_unlink (tmp);
      g_clear_pointer (&tmp, g_free);
    }
  if (tmp == NULL)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "cannot write %s: %s", path, g_strerror (err));
      return FALSE;
    }
  /* Make the rename itself durable; failing to sync a directory is not worth failing the save. */
  g_autofree char *dir = g_path_get_dirname (path);
  int dfd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd >= 0)
    {
      fsync (dfd);
      close (dfd);
    }
  return TRUE;
}

/* ---- access ------------------------------------------------------------------------------ */

int
lq_safetensors_n_tensors (const LqSafetensors *st)
{
  return (int) st->entries->len;
}

const char *
lq_safetensors_name (const LqSafetensors *st, int i)
{
  g_return_val_if_fail (i >= 0 && (guint) i < st->entries->len, NULL);
  return ((Entry *) st->entries->pdata[i])->name;
}

LqTensor *
lq_safetensors_get (const LqSafetensors *st, const char *name)
{
  Entry *e = g_hash_table_lookup (st->by_name, name);
  return e ? e->tensor : NULL;
}

LqDType
lq_safetensors_dtype (const LqSafetensors *st, const char *name)
{
  Entry *e = g_hash_table_lookup (st->by_name, name);
  return e ? e->dtype : LQ_DTYPE_F32;
}

const char *
lq_safetensors_metadata (const LqSafetensors *st, const char *key)
{
  return g_hash_table_lookup (st->metadata, key);
}

GHashTable *
lq_safetensors_metadata_table (const LqSafetensors *st)
{
  return st->metadata;
}

/* ---- writing ----------------------------------------------------------------------------- */

static gint
str_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (a, b);
}

GBytes *
lq_safetensors_serialize (int n, const char *const *names, LqTensor *const *tensors,
                          GHashTable *metadata, LqDType dtype, GError **error)
{
  /* Tensors are written in the order given (the reference sorts by dtype, then name): a file
   * loaded and saved again with its names in file order comes out byte for byte the same.
   * Metadata keys are written sorted, so the bytes never depend on hash table order. */
  if (n < 0 || (n > 0 && (names == NULL || tensors == NULL))
      || (dtype != LQ_DTYPE_F32 && dtype != LQ_DTYPE_F16))
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                           "bad arguments to lq_safetensors_serialize");
      return NULL;
    }
  gsize dsize = dtype == LQ_DTYPE_F32 ? 4 : 2;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint64 data_len = 0;
  for (int i = 0; i < n; i++)
    {
      const char *name = names[i];
      const LqTensor *t = tensors[i];
      if (name == NULL || t == NULL || !g_utf8_validate (name, -1, NULL)
          || strcmp (name, "__metadata__") == 0)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                       "tensor %d has no usable name or no data", i);
          return NULL;
        }
      if (!g_hash_table_add (seen, (gpointer) name))
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                       "tensor name '%s' is given twice", name);
          return NULL;
        }
      for (size_t j = 0; j < t->numel; j++)
        {
          float v = t->data[j];
          if (!isfinite (v))
            {
              g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                           "tensor '%s' holds %s at index %zu", name, isnan (v) ? "NaN" : "Inf",
                           j);
              return NULL;
            }
          if (dtype == LQ_DTYPE_F16 && (lq_float_to_half (v) & 0x7fff) == 0x7c00)
            {
              g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                           "tensor '%s' value %g at index %zu is outside the F16 range "
                           "(±65504)", name, v, j);
              return NULL;
            }
        }
      data_len += (guint64) t->numel * dsize;
    }

  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  if (metadata && g_hash_table_size (metadata) > 0)
    {
      g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (metadata), str_cmp);
      json_builder_set_member_name (b, "__metadata__");
      json_builder_begin_object (b);
      for (GList *l = keys; l; l = l->next)
        {
          const char *k = l->data;
          const char *v = g_hash_table_lookup (metadata, k);
          if (v == NULL || !g_utf8_validate (k, -1, NULL) || !g_utf8_validate (v, -1, NULL))
            {
              g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                           "metadata '%s' is not a valid UTF-8 string pair", k);
              return NULL;
            }
          json_builder_set_member_name (b, k);
          json_builder_add_string_value (b, v);
        }
      json_builder_end_object (b);
    }
  guint64 offset = 0;
  for (int i = 0; i < n; i++)
    {
      const LqTensor *t = tensors[i];
      json_builder_set_member_name (b, names[i]);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, dtype == LQ_DTYPE_F32 ? "F32" : "F16");
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (int d = 0; d < t->ndim; d++)
        json_builder_add_int_value (b, t->shape[d]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) offset);
      offset += (guint64) t->numel * dsize;
      json_builder_add_int_value (b, (gint64) offset);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  gsize hlen;
  g_autofree char *header = json_generator_to_data (gen, &hlen);
  /* Padded with spaces to a multiple of 8, as the reference does, so the data is aligned. */
  gsize padded = (hlen + 7) / 8 * 8;
  if (padded > HEADER_MAX || data_len > G_MAXSIZE - 8 - padded)
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                           "too many tensors for one safetensors file");
      return NULL;
    }
  gsize total = 8 + padded + (gsize) data_len;
  guint8 *out = g_malloc (total);
  for (int i = 0; i < 8; i++)
    out[i] = (guint8) ((guint64) padded >> (8 * i));
  memcpy (out + 8, header, hlen);
  memset (out + 8 + hlen, ' ', padded - hlen);
  guint8 *p = out + 8 + padded;
  for (int i = 0; i < n; i++)
    {
      const LqTensor *t = tensors[i];
      if (dtype == LQ_DTYPE_F32)
        {
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
          memcpy (p, t->data, t->numel * 4);
          p += t->numel * 4;
#else
          for (size_t j = 0; j < t->numel; j++, p += 4)
            {
              guint32 u = GUINT32_TO_LE (float_bits (t->data[j]));
              memcpy (p, &u, 4);
            }
#endif
        }
      else
        for (size_t j = 0; j < t->numel; j++, p += 2)
          {
            guint16 h = lq_float_to_half (t->data[j]);
            p[0] = (guint8) h, p[1] = (guint8) (h >> 8);
          }
    }
  return g_bytes_new_take (out, total);
}

gboolean
lq_safetensors_save (const char *path, int n, const char *const *names, LqTensor *const *tensors,
                     GHashTable *metadata, LqDType dtype, GError **error)
{
  g_autoptr (GBytes) bytes = lq_safetensors_serialize (n, names, tensors, metadata, dtype, error);
  if (bytes == NULL)
    {
      g_prefix_error (error, "cannot save %s: ", path);
      return FALSE;
    }
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  return lq_file_replace_atomically (path, data, len, error);
}

GHashTable *
lq_metadata_copy (GHashTable *metadata)
{
  GHashTable *md = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (metadata)
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, metadata);
      while (g_hash_table_iter_next (&it, &k, &v))
        g_hash_table_insert (md, g_strdup (k), g_strdup (v));
    }
  return md;
}

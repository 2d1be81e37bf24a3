/* lq-table-cache.c */
#include "lq-table-cache.h"
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "lq-error.h"
#include "lq-safetensors.h"

struct _LqTableCache {
  char *path;
  JsonObject *cells;   /* id → {key, accuracy, n, seconds, purify_ms, date} */
};

LqTableCache *
lq_table_cache_open (const char *path, GError **error)
{
  g_autoptr (JsonObject) cells = NULL;
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr (GError) local = NULL;
  if (g_file_get_contents (path, &text, &len, &local))
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonNode *root;
      JsonObject *o;
      if (!json_parser_load_from_data (parser, text, len, NULL) ||
          !JSON_NODE_HOLDS_OBJECT (root = json_parser_get_root (parser)) ||
          json_object_get_int_member_with_default (o = json_node_get_object (root), "version", 0) != 1 ||
          !json_object_has_member (o, "cells") ||
          !JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "cells")))
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                       "%s is not a table cache (version 1); move it away or pass another --cache",
                       path);
          return NULL;
        }
      cells = json_object_ref (json_object_get_object_member (o, "cells"));
    }
  else if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    cells = json_object_new ();
  else
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  LqTableCache *c = g_new0 (LqTableCache, 1);
  c->path = g_strdup (path);
  c->cells = g_steal_pointer (&cells);
  return c;
}

void
lq_table_cache_free (LqTableCache *c)
{
  if (c == NULL)
    return;
  g_free (c->path);
  json_object_unref (c->cells);
  g_free (c);
}

int
lq_table_cache_size (LqTableCache *c)
{
  return (int) json_object_get_size (c->cells);
}

gboolean
lq_table_cache_lookup (LqTableCache *c, const char *id, const char *key, LqCell *cell)
{
  JsonNode *node = json_object_get_member (c->cells, id);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  JsonObject *o = json_node_get_object (node);
  if (g_strcmp0 (json_object_get_string_member_with_default (o, "key", NULL), key) != 0)
    return FALSE;
  double acc = json_object_get_double_member_with_default (o, "accuracy", NAN);
  gint64 n = json_object_get_int_member_with_default (o, "n", 0);
  if (!(acc >= 0 && acc <= 1) || n <= 0 || n > G_MAXINT)
    return FALSE;
  cell->state = LQ_CELL_DONE;
  cell->accuracy = acc;
  cell->n = (int) n;
  cell->seconds = json_object_get_double_member_with_default (o, "seconds", 0);
  JsonNode *p = json_object_get_member (o, "purify_ms");
  cell->purify_ms = p && JSON_NODE_HOLDS_VALUE (p) ? json_node_get_double (p) : NAN;
  cell->cached = TRUE;
  return TRUE;
}

gboolean
lq_table_cache_store (LqTableCache *c, const char *id, const char *key, const LqCell *cell,
                      GError **error)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "key", key);
  json_object_set_double_member (o, "accuracy", cell->accuracy);
  json_object_set_int_member (o, "n", cell->n);
  json_object_set_double_member (o, "seconds", cell->seconds);
  if (isnan (cell->purify_ms))
    json_object_set_null_member (o, "purify_ms");
  else
    json_object_set_double_member (o, "purify_ms", cell->purify_ms);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (now);
  json_object_set_string_member (o, "date", date);
  json_object_set_object_member (c->cells, id, o);

  g_autoptr (JsonObject) root = json_object_new ();
  json_object_set_int_member (root, "version", 1);
  json_object_set_object_member (root, "cells", json_object_ref (c->cells));
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), root);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  gsize len;
  g_autofree char *text = json_generator_to_data (gen, &len);
  g_autofree char *dir = g_path_get_dirname (c->path);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_IO, "cannot create %s", dir);
      return FALSE;
    }
  return lq_file_replace_atomically (c->path, text, len, error);
}

char *
lq_file_sha256 (const char *path, GError **error)
{
  /* Keyed by path, size and modification time: a retrained file gets a new hash. */
  static GHashTable *memo;
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_MISSING_DATA, "cannot read %s", path);
      return NULL;
    }
  g_autofree char *memo_key = g_strdup_printf ("%s\n%" G_GINT64_FORMAT "\n%" G_GINT64_FORMAT, path,
                                               (gint64) st.st_size, (gint64) st.st_mtime);
  if (memo == NULL)
    memo = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *hit = g_hash_table_lookup (memo, memo_key);
  if (hit)
    return g_strdup (hit);
  g_autoptr (GMappedFile) f = g_mapped_file_new (path, FALSE, error);
  if (f == NULL)
    return NULL;
  char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                           (const guchar *) g_mapped_file_get_contents (f),
                                           g_mapped_file_get_length (f));
  g_hash_table_insert (memo, g_steal_pointer (&memo_key), g_strdup (sum));
  return sum;
}

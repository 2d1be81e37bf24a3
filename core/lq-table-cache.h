/* lq-table-cache.h: finished table cells on disk, so a killed `lq eval --table` run resumes.
 *
 * A JSON file {"version": 1, "cells": {"<table>/<row>/<column>": {"key": …, "accuracy": …, …}}}.
 * The key spells out everything the number depends on (N, attack settings, the SHA-256 of every
 * weight file); a cell is reused only when its stored key equals the one asked for, and storing
 * it again replaces the stale entry. Every store rewrites the file atomically.
 */
#pragma once
#include <glib.h>
#include "lq-table.h"

G_BEGIN_DECLS

typedef struct _LqTableCache LqTableCache;

/* A missing file is an empty cache; an unreadable or malformed one is an error (it is never
 * overwritten behind the user's back). */
LqTableCache *lq_table_cache_open (const char *path, GError **error);
void          lq_table_cache_free (LqTableCache *cache);
/* Fills cell (state DONE, accuracy, n, seconds, purify_ms, cached) when id holds key. */
gboolean      lq_table_cache_lookup (LqTableCache *cache, const char *id, const char *key,
                                     LqCell *cell);
gboolean      lq_table_cache_store (LqTableCache *cache, const char *id, const char *key,
                                    const LqCell *cell, GError **error);
int           lq_table_cache_size (LqTableCache *cache);

/* Hex SHA-256 of a file's bytes, memoised per path for the life of the process. */
char         *lq_file_sha256 (const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqTableCache, lq_table_cache_free)

G_END_DECLS

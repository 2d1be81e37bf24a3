/* lq-table.c: result tables, their Markdown/CSV/JSON forms and the marked sections of a file. */
#include "lq-table.h"
#include <math.h>
#include <string.h>
#include "lq-error.h"
#include "lq-safetensors.h"

static const char *const column_ids[LQ_N_COLUMNS] = {
  "no-attack", "no-defense", "lqvae", "defensegan", "madry", "advtr",
};
static const char *const column_titles[LQ_N_COLUMNS] = {
  "No Attack", "No Defense", "LQ-VAE", "Defense-GAN", "Madry", "Adv Tr",
};

const char *
lq_column_id (LqColumn c)
{
  return c < LQ_N_COLUMNS ? column_ids[c] : NULL;
}

const char *
lq_column_title (LqColumn c)
{
  return c < LQ_N_COLUMNS ? column_titles[c] : NULL;
}

static void
row_free (gpointer p)
{
  LqTableRow *r = p;
  g_free (r->id);
  g_free (r->attack);
  g_free (r->settings);
  g_free (r->model);
  for (int c = 0; c < LQ_N_COLUMNS; c++)
    g_free (r->cells[c].note);
  g_free (r);
}

LqTable *
lq_table_new (const char *name, const char *title)
{
  LqTable *t = g_new0 (LqTable, 1);
  t->name = g_strdup (name);
  t->title = g_strdup (title);
  t->rows = g_ptr_array_new_with_free_func (row_free);
  for (int c = 0; c < LQ_N_COLUMNS; c++)
    t->shown[c] = TRUE;
  return t;
}

void
lq_table_free (LqTable *t)
{
  if (t == NULL)
    return;
  g_free (t->name);
  g_free (t->title);
  g_free (t->notes);
  g_ptr_array_unref (t->rows);
  g_free (t);
}

LqTableRow *
lq_table_add_row (LqTable *t, const char *id, const char *attack, const char *settings,
                  const char *model, gboolean in_average)
{
  LqTableRow *r = g_new0 (LqTableRow, 1);
  r->id = g_strdup (id);
  r->attack = g_strdup (attack);
  r->settings = g_strdup (settings);
  r->model = g_strdup (model);
  r->in_average = in_average;
  for (int c = 0; c < LQ_N_COLUMNS; c++)
    {
      r->cells[c].seed = NAN;
      r->cells[c].purify_ms = NAN;
    }
  g_ptr_array_add (t->rows, r);
  return r;
}

LqTableRow *
lq_table_find_row (LqTable *t, const char *id)
{
  for (guint i = 0; i < t->rows->len; i++)
    {
      LqTableRow *r = g_ptr_array_index (t->rows, i);
      if (strcmp (r->id, id) == 0)
        return r;
    }
  return NULL;
}

void
lq_cell_set_note (LqCell *cell, const char *note)
{
  g_free (cell->note);
  cell->note = g_strdup (note);
}

double
lq_table_column_average (const LqTable *t, LqColumn c, int *count, int *total)
{
  double sum = 0;
  int k = 0, rows = 0;
  for (guint i = 0; i < t->rows->len; i++)
    {
      const LqTableRow *r = g_ptr_array_index (t->rows, i);
      if (!r->in_average)
        continue;
      rows++;
      if (r->cells[c].state == LQ_CELL_DONE)
        sum += 100 * r->cells[c].accuracy, k++;
    }
  if (count)
    *count = k;
  if (total)
    *total = rows;
  return k ? sum / k : NAN;
}

double
lq_table_purify_ms (const LqTable *t, LqColumn c)
{
  double ms = 0;
  long n = 0;
  for (guint i = 0; i < t->rows->len; i++)
    {
      const LqCell *cell = &((LqTableRow *) g_ptr_array_index (t->rows, i))->cells[c];
      if (cell->state == LQ_CELL_DONE && !isnan (cell->purify_ms))
        ms += cell->purify_ms * cell->n, n += cell->n;
    }
  return n ? ms / n : NAN;
}

static char *
percent (double v)
{
  return isnan (v) ? g_strdup ("?") : g_strdup_printf ("%.2f", v);
}

char *
lq_cell_format (const LqCell *cell)
{
  g_autofree char *seed = percent (cell->seed);
  switch (cell->state)
    {
    case LQ_CELL_DONE:
      return g_strdup_printf ("%.2f / %s", 100 * cell->accuracy, seed);
    case LQ_CELL_NOT_TRAINED:
      return g_strdup_printf ("not trained / %s", seed);
    case LQ_CELL_FAILED:
      return g_strdup_printf ("failed / %s", seed);
    case LQ_CELL_PENDING:
    default:
      return g_strdup_printf ("— / %s", seed);
    }
}

/* The image count most done cells of a row share: the row's N; other cells say theirs. */
static int
row_n (const LqTableRow *r)
{
  int best = 0, best_count = 0;
  for (int c = 0; c < LQ_N_COLUMNS; c++)
    {
      int k = 0;
      for (int d = 0; d < LQ_N_COLUMNS; d++)
        k += r->cells[d].state == LQ_CELL_DONE && r->cells[d].n == r->cells[c].n;
      if (r->cells[c].state == LQ_CELL_DONE && k > best_count)
        best = r->cells[c].n, best_count = k;
    }
  return best;
}

static char *
duration (double s)
{
  if (s < 60)
    return g_strdup_printf ("%.1f s", s);
  if (s < 3600)
    return g_strdup_printf ("%.1f min", s / 60);
  return g_strdup_printf ("%.1f h", s / 3600);
}

char *
lq_table_to_markdown (const LqTable *t)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "### %s\n\n| Attack | Settings | Model |", t->title);
  for (int c = 0; c < LQ_N_COLUMNS; c++)
    if (t->shown[c])
      g_string_append_printf (s, " %s |", lq_column_title (c));
  g_string_append (s, " N | Time |\n| --- | --- | --- |");
  for (int c = 0; c < LQ_N_COLUMNS; c++)
    if (t->shown[c])
      g_string_append (s, " --- |");
  g_string_append (s, " --- | --- |\n");
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < t->rows->len; i++)
    {
      const LqTableRow *r = g_ptr_array_index (t->rows, i);
      int n = row_n (r);
      double secs = 0;
      g_string_append_printf (s, "| %s | %s | %s |", r->attack, r->settings, r->model);
      for (int c = 0; c < LQ_N_COLUMNS; c++)
        {
          const LqCell *cell = &r->cells[c];
          if (!t->shown[c])
            continue;
          g_autofree char *f = lq_cell_format (cell);
          g_string_append_printf (s, " %s", f);
          if (cell->state == LQ_CELL_DONE)
            {
              secs += cell->seconds;
              if (cell->n != n)
                g_string_append_printf (s, " (n %d)", cell->n);
            }
          g_string_append (s, " |");
          if ((cell->state == LQ_CELL_NOT_TRAINED || cell->state == LQ_CELL_FAILED) && cell->note &&
              !g_ptr_array_find_with_equal_func (notes, cell->note, g_str_equal, NULL))
            g_ptr_array_add (notes, g_strdup (cell->note));
        }
      g_autofree char *d = duration (secs);
      if (n > 0)
        g_string_append_printf (s, " %d | %s |\n", n, d);
      else
        g_string_append (s, " — | — |\n");
    }
  /* The Average row: over the attacks the seed reports, so it compares with the seed's. */
  int rows = 0;
  lq_table_column_average (t, 0, NULL, &rows);
  if (rows > 0)
    {
      if (t->average_rows_left_out > 0)
        g_string_append_printf (s, "| **Average** | the %d rows marked in the notes that are shown "
                                   "(%d left out: partial) | |", rows, t->average_rows_left_out);
      else
        g_string_append_printf (s, "| **Average** | the %d rows marked in the notes | |", rows);
      for (int c = 0; c < LQ_N_COLUMNS; c++)
        {
          if (!t->shown[c])
            continue;
          int k;
          double ours = lq_table_column_average (t, c, &k, NULL);
          double seed = lq_seed_number (t->name, "average", "*", c);
          g_autofree char *a = isnan (ours) ? g_strdup ("—") : g_strdup_printf ("%.2f", ours);
          g_autofree char *b = percent (seed);
          g_string_append_printf (s, " %s / %s%s |", a, b, k > 0 && (k < rows || t->average_rows_left_out > 0) ? " (partial)" : "");
        }
      g_string_append (s, " | |\n");
    }
  g_string_append (s, "\nEach cell: our accuracy / the seed's, in % (\"?\": the seed's number is not "
                      "known to this project yet; \"—\": not computed yet). Time: the row's cells "
                      "added up (a shared attack is charged to each cell by the images it uses).\n");
  if (t->notes)
    g_string_append_printf (s, "\n%s\n", t->notes);
  double lq = lq_table_purify_ms (t, LQ_COLUMN_LQVAE), dg = lq_table_purify_ms (t, LQ_COLUMN_DEFENSEGAN);
  if (!isnan (lq) || !isnan (dg))
    {
      g_string_append (s, "\n| Purifier | purification per image | LQ-VAE : Defense-GAN |\n"
                          "| --- | --- | --- |\n");
      g_autofree char *ratio = !isnan (lq) && !isnan (dg) && lq > 0
                                 ? g_strdup_printf ("1 : %.3g", dg / lq) : g_strdup ("—");
      if (!isnan (lq))
        g_string_append_printf (s, "| LQ-VAE | %.3f ms | %s |\n", lq, ratio);
      if (!isnan (dg))
        g_string_append_printf (s, "| Defense-GAN | %.1f ms | %s |\n", dg, ratio);
    }
  for (guint i = 0; i < notes->len; i++)
    g_string_append_printf (s, "%s- %s\n", i == 0 ? "\nMissing cells:\n\n" : "",
                            (char *) g_ptr_array_index (notes, i));
  return g_string_free (s, FALSE);
}

/* RFC 4180 quoting where needed. */
static void
csv_field (GString *s, const char *v, gboolean last)
{
  if (v && strpbrk (v, ",\"\n"))
    {
      g_string_append_c (s, '"');
      for (const char *p = v; *p; p++)
        {
          if (*p == '"')
            g_string_append_c (s, '"');
          g_string_append_c (s, *p);
        }
      g_string_append_c (s, '"');
    }
  else if (v)
    g_string_append (s, v);
  g_string_append_c (s, last ? '\n' : ',');
}

static const char *
state_name (LqCellState st)
{
  static const char *const names[] = { "pending", "done", "not-trained", "failed" };
  return names[st];
}

char *
lq_table_to_csv (const LqTable *t)
{
  GString *s = g_string_new ("table,row,attack,settings,model,column,state,accuracy,seed,n,"
                             "seconds,purify_ms,note\n");
  for (guint i = 0; i < t->rows->len; i++)
    {
      const LqTableRow *r = g_ptr_array_index (t->rows, i);
      for (int c = 0; c < LQ_N_COLUMNS; c++)
        {
          const LqCell *cell = &r->cells[c];
          if (!t->shown[c])
            continue;
          gboolean done = cell->state == LQ_CELL_DONE;
          g_autofree char *acc = done ? g_strdup_printf ("%.2f", 100 * cell->accuracy) : g_strdup ("");
          g_autofree char *seed = isnan (cell->seed) ? g_strdup ("") : g_strdup_printf ("%.2f", cell->seed);
          g_autofree char *n = done ? g_strdup_printf ("%d", cell->n) : g_strdup ("");
          g_autofree char *secs = done ? g_strdup_printf ("%.3f", cell->seconds) : g_strdup ("");
          g_autofree char *pms = done && !isnan (cell->purify_ms)
                                   ? g_strdup_printf ("%.4f", cell->purify_ms) : g_strdup ("");
          const char *fields[] = { t->name, r->id, r->attack, r->settings, r->model,
                                   lq_column_id (c), state_name (cell->state), acc, seed, n, secs,
                                   pms, cell->note };
          for (gsize k = 0; k < G_N_ELEMENTS (fields); k++)
            csv_field (s, fields[k], k + 1 == G_N_ELEMENTS (fields));
        }
    }
  return g_string_free (s, FALSE);
}

static void
add_number (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  if (isnan (v))
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, v);
}

JsonNode *
lq_table_to_json (const LqTable *t)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "table");
  json_builder_add_string_value (b, t->name);
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, t->title);
  json_builder_set_member_name (b, "rows");
  json_builder_begin_array (b);
  for (guint i = 0; i < t->rows->len; i++)
    {
      const LqTableRow *r = g_ptr_array_index (t->rows, i);
      json_builder_begin_object (b);
      const char *keys[] = { "id", "attack", "settings", "model" };
      const char *vals[] = { r->id, r->attack, r->settings, r->model };
      for (gsize k = 0; k < G_N_ELEMENTS (keys); k++)
        {
          json_builder_set_member_name (b, keys[k]);
          json_builder_add_string_value (b, vals[k]);
        }
      json_builder_set_member_name (b, "cells");
      json_builder_begin_object (b);
      for (int c = 0; c < LQ_N_COLUMNS; c++)
        {
          const LqCell *cell = &r->cells[c];
          if (!t->shown[c])
            continue;
          json_builder_set_member_name (b, lq_column_id (c));
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "state");
          json_builder_add_string_value (b, state_name (cell->state));
          gboolean done = cell->state == LQ_CELL_DONE;
          add_number (b, "accuracy", done ? cell->accuracy : NAN);
          add_number (b, "seed_percent", cell->seed);
          add_number (b, "n", done ? cell->n : NAN);
          add_number (b, "seconds", done ? cell->seconds : NAN);
          add_number (b, "purify_ms_per_image", done ? cell->purify_ms : NAN);
          json_builder_set_member_name (b, "cached");
          json_builder_add_boolean_value (b, cell->cached);
          if (cell->note)
            {
              json_builder_set_member_name (b, "note");
              json_builder_add_string_value (b, cell->note);
            }
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  add_number (b, "lqvae_purify_ms", lq_table_purify_ms (t, LQ_COLUMN_LQVAE));
  add_number (b, "defensegan_purify_ms", lq_table_purify_ms (t, LQ_COLUMN_DEFENSEGAN));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

#define END_MARKER "<!-- /lq-table -->"

char *
lq_markers_replace (const char *doc, const char *name, const char *body, GError **error)
{
  g_autofree char *start = g_strdup_printf ("<!-- lq-table:%s -->", name);
  const char *nl = body[0] && body[strlen (body) - 1] != '\n' ? "\n" : "";
  const char *a = strstr (doc, start);
  if (a == NULL)
    {
      size_t len = strlen (doc);
      const char *sep = len == 0 ? "" : doc[len - 1] == '\n' ? "\n" : "\n\n";
      return g_strconcat (doc, sep, start, "\n", body, nl, END_MARKER, "\n", NULL);
    }
  const char *open_end = a + strlen (start);
  const char *z = strstr (open_end, END_MARKER);
  if (z == NULL)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "the marker %s has no closing %s", start,
                   END_MARKER);
      return NULL;
    }
  g_autofree char *head = g_strndup (doc, open_end - doc);
  return g_strconcat (head, "\n", body, nl, z, NULL);
}

gboolean
lq_markers_replace_in_file (const char *path, const char *name, const char *body, GError **error)
{
  g_autofree char *doc = NULL;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &doc, NULL, &local))
    {
      if (!g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      doc = g_strdup ("");
    }
  g_autofree char *out = lq_markers_replace (doc, name, body, error);
  return out && lq_file_replace_atomically (path, out, strlen (out), error);
}

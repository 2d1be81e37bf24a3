/* lq-table.h: the seed's result tables as data — rows attack × model, the defense columns, our
 * number beside the seed's in every cell — and their Markdown, CSV and JSON forms, plus the
 * marked sections of docs/RESULTS.md they are written into. No evaluation here (that is
 * src/lq-cmd-table.c); everything is testable without weights.
 */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  LQ_COLUMN_NO_ATTACK,
  LQ_COLUMN_NO_DEFENSE,
  LQ_COLUMN_LQVAE,
  LQ_COLUMN_DEFENSEGAN,
  LQ_COLUMN_MADRY,
  LQ_COLUMN_ADVTR,
  LQ_N_COLUMNS
} LqColumn;

const char *lq_column_id (LqColumn c);     /* "no-attack", "no-defense", "lqvae", … */
const char *lq_column_title (LqColumn c);  /* "No Attack", "No Defense", "LQ-VAE", … */

typedef enum {
  LQ_CELL_PENDING,     /* not computed (yet) */
  LQ_CELL_DONE,
  LQ_CELL_NOT_TRAINED, /* a model it needs is missing; note holds the command that trains it */
  LQ_CELL_FAILED,      /* note holds the error */
} LqCellState;

typedef struct {
  LqCellState state;
  double accuracy;     /* [0, 1] when done */
  int n;               /* images */
  double seconds;      /* wall time it took (its share of a shared attack included) */
  double purify_ms;    /* purification per image, NAN for cells without a purifier */
  gboolean cached;     /* read from the cache rather than computed by this run */
  char *note;
  double seed;         /* the seed's number in %, NAN when unknown */
} LqCell;

typedef struct {
  char *id;            /* unique in the table: "fgsm-A", "mnist-pgd-A", "A-B" */
  char *attack;        /* "FGSM", "PGD-40 (BPDA)" */
  char *settings;      /* "ε 0.3 ([0, 1] scale)" */
  char *model;         /* "A", or "A/B" (classifier/substitute) */
  gboolean in_average; /* counted in the Average row (the attacks the seed reports) */
  LqCell cells[LQ_N_COLUMNS];
} LqTableRow;

typedef struct {
  char *name;          /* "mnist-whitebox": marker and file name */
  char *title;
  char *notes;         /* Markdown printed under the table: protocol, N, eps scale, timings */
  gboolean shown[LQ_N_COLUMNS];
  GPtrArray *rows;     /* LqTableRow*, owned */
  int average_rows_left_out; /* rows the seed's Average covers that this table leaves out
                              * (filtered away): the Average row is then partial */
} LqTable;

LqTable    *lq_table_new (const char *name, const char *title);
void        lq_table_free (LqTable *t);
/* A new row with every cell pending and seed NAN (strings copied). */
LqTableRow *lq_table_add_row (LqTable *t, const char *id, const char *attack, const char *settings,
                              const char *model, gboolean in_average);
LqTableRow *lq_table_find_row (LqTable *t, const char *id);
void        lq_cell_set_note (LqCell *cell, const char *note);

/* Mean accuracy (in %) of a column over the done cells of rows with in_average; NAN if none.
 * *count (optional) receives the number of cells averaged and *total the rows counted. */
double      lq_table_column_average (const LqTable *t, LqColumn c, int *count, int *total);
/* Purification time per image of a column, weighted by images; NAN without purifier cells. */
double      lq_table_purify_ms (const LqTable *t, LqColumn c);

/* "97.31 / 99.40": ours / the seed's, in %, "?" for unknown, "—" for pending, "not trained". */
char       *lq_cell_format (const LqCell *cell);
char       *lq_table_to_markdown (const LqTable *t);
/* One line per shown cell: table,row,attack,settings,model,column,state,accuracy,seed,n,seconds,
 * purify_ms,note (accuracy and seed in %, with the Markdown's two decimals). */
char       *lq_table_to_csv (const LqTable *t);
JsonNode   *lq_table_to_json (const LqTable *t);

/* doc with the text between "<!-- lq-table:NAME -->" and the next "<!-- /lq-table -->"
 * replaced by body (markers kept, each on its own line); the section is appended at the end
 * when the document has no such marker. NULL with an error for an opening marker without a
 * closing one. */
char       *lq_markers_replace (const char *doc, const char *name, const char *body, GError **error);
/* The same on a file, written atomically; a missing file is created. */
gboolean    lq_markers_replace_in_file (const char *path, const char *name, const char *body,
                                        GError **error);

/* The seed's published number for a cell (in %), NAN when /work/shared and the issues do not
 * give it. table: "mnist-whitebox", …; row_kind: "average" or an attack id ("fgsm", "cw", …);
 * model: the classifier evaluated ("A"). Sources in lq-seed-numbers.c. */
double      lq_seed_number (const char *table, const char *row_kind, const char *model, LqColumn c);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqTable, lq_table_free)

G_END_DECLS

/* lq-seed-numbers.c: the seed's published numbers, in %, each with where this project read it.
 *
 * Only numbers quoted in the project's own documents are here; every other seed cell prints "?".
 * Add a number only with its source (table and row of the seed paper, or the issue quoting it).
 */
#include <math.h>
#include <string.h>
#include "lq-table.h"

typedef struct {
  const char *table;     /* "mnist-whitebox", …, or "*" */
  const char *row_kind;  /* "average", an attack id ("fgsm", …), or "*" for every attack row */
  const char *model;     /* classifier evaluated, or "*" */
  LqColumn column;
  double value;
  const char *source;
} SeedNumber;

static const SeedNumber seed_numbers[] = {
  /* Clean accuracy of the undefended classifiers, i.e. the No Attack column: issue #3 ("Train and
   * ship the models"), "the seed reports 99.40 / 99.41 / 98.37" (MNIST A/B/C) and
   * "92.76 / 91.17 / 89.06" (Fashion-MNIST A/B/C). */
  { "mnist-whitebox", "*", "A", LQ_COLUMN_NO_ATTACK, 99.40, "issue #3" },
  { "mnist-whitebox", "*", "B", LQ_COLUMN_NO_ATTACK, 99.41, "issue #3" },
  { "mnist-whitebox", "*", "C", LQ_COLUMN_NO_ATTACK, 98.37, "issue #3" },
  { "fmnist-whitebox", "*", "A", LQ_COLUMN_NO_ATTACK, 92.76, "issue #3" },
  { "fmnist-whitebox", "*", "B", LQ_COLUMN_NO_ATTACK, 91.17, "issue #3" },
  { "fmnist-whitebox", "*", "C", LQ_COLUMN_NO_ATTACK, 89.06, "issue #3" },
  { "fmnist-blackbox", "*", "A", LQ_COLUMN_NO_ATTACK, 92.76, "issue #3" },
  { "fmnist-blackbox", "*", "B", LQ_COLUMN_NO_ATTACK, 91.17, "issue #3" },
  { "fmnist-blackbox", "*", "C", LQ_COLUMN_NO_ATTACK, 89.06, "issue #3" },
  /* The LQ-VAE column's average: issue #6, "the seed's on MNIST (93.76) and Fashion-MNIST
   * white-box (77.40)". */
  { "mnist-whitebox", "average", "*", LQ_COLUMN_LQVAE, 93.76, "issue #6" },
  { "fmnist-whitebox", "average", "*", LQ_COLUMN_LQVAE, 77.40, "issue #6" },
};

static gboolean
matches (const char *pattern, const char *s)
{
  return strcmp (pattern, "*") == 0 || strcmp (pattern, s) == 0;
}

double
lq_seed_number (const char *table, const char *row_kind, const char *model, LqColumn c)
{
  gboolean average = strcmp (row_kind, "average") == 0;
  for (gsize i = 0; i < G_N_ELEMENTS (seed_numbers); i++)
    {
      const SeedNumber *s = &seed_numbers[i];
      /* "*" rows are attack rows only: an average is never a wildcard's. */
      if (s->column == c && matches (s->table, table) && matches (s->model, model) &&
          (average ? strcmp (s->row_kind, "average") == 0
                   : strcmp (s->row_kind, "average") != 0 && matches (s->row_kind, row_kind)))
        return s->value;
    }
  return NAN;
}

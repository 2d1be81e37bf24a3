/* lq-seed-numbers.c: the seed's published numbers, in %, each with where this project read it.
 *
 * Only numbers with a source are here: quoted in the project's own documents, or read from a copy
 * of the paper's tables (said where); every other seed cell prints "?". Add a number only with its
 * source (table and row of the seed paper, or the issue quoting it).
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
  /* The seed's Fashion-MNIST white-box table, FGSM (ε 0.3) and DeepFool rows, columns No Defense,
   * LQ-VAE, Defense-GAN, Madry, Adv Tr, as transcribed on a third-party page of arXiv:1903.09940
   * (tomesphere.com/paper/1903.09940; not checked against the PDF). Its No Attack column equals
   * issue #3's figures above. The page's DeepFool C row was cut off: not here. */
#define FM(kind, model, c, v) { "fmnist-whitebox", kind, model, c, v, "arXiv:1903.09940 via tomesphere.com" }
  FM ("fgsm", "A", LQ_COLUMN_NO_DEFENSE, 11.50), FM ("fgsm", "A", LQ_COLUMN_LQVAE, 77.00),
  FM ("fgsm", "A", LQ_COLUMN_DEFENSEGAN, 69.75), FM ("fgsm", "A", LQ_COLUMN_MADRY, 78.87),
  FM ("fgsm", "A", LQ_COLUMN_ADVTR, 53.72),
  FM ("fgsm", "B", LQ_COLUMN_NO_DEFENSE, 10.14), FM ("fgsm", "B", LQ_COLUMN_LQVAE, 69.41),
  FM ("fgsm", "B", LQ_COLUMN_DEFENSEGAN, 56.72), FM ("fgsm", "B", LQ_COLUMN_MADRY, 76.94),
  FM ("fgsm", "B", LQ_COLUMN_ADVTR, 59.79),
  FM ("fgsm", "C", LQ_COLUMN_NO_DEFENSE, 11.60), FM ("fgsm", "C", LQ_COLUMN_LQVAE, 67.07),
  FM ("fgsm", "C", LQ_COLUMN_DEFENSEGAN, 56.34), FM ("fgsm", "C", LQ_COLUMN_MADRY, 64.16),
  FM ("fgsm", "C", LQ_COLUMN_ADVTR, 66.43),
  FM ("deepfool", "A", LQ_COLUMN_NO_DEFENSE, 5.29), FM ("deepfool", "A", LQ_COLUMN_LQVAE, 79.30),
  FM ("deepfool", "A", LQ_COLUMN_DEFENSEGAN, 77.48), FM ("deepfool", "A", LQ_COLUMN_MADRY, 57.17),
  FM ("deepfool", "A", LQ_COLUMN_ADVTR, 6.52),
  FM ("deepfool", "B", LQ_COLUMN_NO_DEFENSE, 6.54), FM ("deepfool", "B", LQ_COLUMN_LQVAE, 79.41),
  FM ("deepfool", "B", LQ_COLUMN_DEFENSEGAN, 74.97), FM ("deepfool", "B", LQ_COLUMN_MADRY, 52.58),
  FM ("deepfool", "B", LQ_COLUMN_ADVTR, 14.74),
#undef FM
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

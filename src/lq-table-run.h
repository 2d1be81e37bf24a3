/* lq-table-run.h: computing the rows of a result table (lq-table.h). Shared by
 * `lq eval --table` and `lq figure eps-curve`, which is a table of (attack, ε) rows. */
#pragma once
#include <glib.h>
#include "lq-attack.h"
#include "lq-defensegan.h"
#include "lq-model-store.h"
#include "lq-table-cache.h"
#include "lq-table.h"

#define LQ_DEFENSEGAN_N 500  /* the minimum for Defense-GAN cells: ~200 × 10 steps per image */

typedef struct {
  const char *kind;     /* row id prefix and the seed lookup's attack id */
  const char *title;
  LqAttackKind attack;
  float eps;            /* < 0: the attack's default (ε 0 is a real budget: the clean image) */
  gboolean in_average;  /* one of the attacks the seed's white-box tables average over */
  int default_n;        /* 0: the whole test split */
} LqAttackSpec;

typedef struct {
  LqTableRow *row;
  LqDataKind data;
  const LqAttackSpec *attack;
  LqArch arch;          /* the classifier scored */
  int substitute;       /* black-box: the arch the attack is made on; −1 otherwise */
  gboolean bpda;        /* LQ-VAE and Defense-GAN columns attack through the purifier */
} LqRowSpec;

typedef struct {
  int n;                 /* caps every cell's images (0: no cap) */
  int batch;
  const char *cw_preset;
  LqGanSearch search;
  char **row_patterns;   /* row id globs to keep (NULL: all) */
  LqModelStore *store;
  LqTableCache *cache;
  LqDataset *test[2];    /* loaded on first use */
  int computed, cached;  /* cells so far */
} LqTableRun;

LqAttackParams lq_table_run_attack_params (const LqTableRun *run, const LqAttackSpec *a);
/* Fills the shown cells of r->row: from the cache, else computed (one attack per attack source,
 * scored by every cell that shares it) and cached as each finishes; a missing model marks its
 * cells "not trained" with the command, a failure marks them failed, and the run goes on. */
void           lq_table_run_row (LqTableRun *run, LqTable *t, const LqRowSpec *r);
void           lq_table_run_clear (LqTableRun *run);

/* lq-table-run.c: filling a table's rows — cached cells reused, the rest computed by
 * lq_eval_cells, one attack per attack source, each finished cell cached at once. */
#include "lq-table-run.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lq-cli-util.h"
#include "lq-eval-cell.h"

LqAttackParams
lq_table_run_attack_params (const LqTableRun *ctx, const LqAttackSpec *a)
{
  LqAttackParams ap = lq_attack_defaults (a->attack);
  if (a->attack == LQ_ATTACK_CW)
    lq_attack_cw_preset (ctx->cw_preset, &ap, NULL);  /* checked when the options were parsed */
  if (a->eps >= 0)
    ap.eps = a->eps;
  return ap;
}

/* Everything an attack's result depends on, for the cache key. */
static char *
attack_key (const LqAttackParams *p)
{
  return g_strdup_printf ("attack=%s targeted=%d eps=%g step=%g steps=%d rs=%d norm=%d "
                          "df=%d/%g cw=%d/%d/%g/%g/%g/%d seed=%" G_GUINT64_FORMAT,
                          lq_attack_kind_name (p->kind), p->targeted, p->eps, p->step, p->steps,
                          p->random_start, p->norm, p->max_iter, p->overshoot, p->cw_search_steps,
                          p->cw_max_iter, p->cw_lr, p->cw_c0, p->cw_kappa, p->cw_abort_early, p->seed);
}

typedef enum { SRC_NONE, SRC_CLASSIFIER, SRC_BPDA_LQVAE, SRC_BPDA_DEFENSEGAN } SourceKind;

typedef struct {
  LqEvalCell ev;         /* first: on_done gets this pointer */
  LqColumn column;
  LqCell *cell;
  char *id, *key;
  SourceKind source;
  LqClassifier *source_clf;  /* attacked classifier (SRC_CLASSIFIER), or the pipeline's */
  const char *table;
  LqTableRun *ctx;
} Job;

static void
job_free (gpointer p)
{
  Job *j = p;
  g_free (j->id);
  g_free (j->key);
  g_free (j);
}

static void
job_done (LqEvalCell *ev, gpointer user_data)
{
  Job *j = (Job *) ev;
  const LqEvalTotals *t = &ev->totals;
  LqCell *c = j->cell;
  gboolean purifier = ev->vae || ev->gan;
  int right = j->column == LQ_COLUMN_NO_ATTACK ? t->clean : purifier ? t->attacked_purified : t->attacked;
  c->state = LQ_CELL_DONE;
  c->accuracy = (double) right / t->n;
  c->n = t->n;
  c->seconds = t->seconds;
  c->purify_ms = purifier ? 1e3 * t->purify_seconds / t->n : NAN;
  c->cached = FALSE;
  j->ctx->computed++;
  g_autoptr (GError) error = NULL;
  if (!lq_table_cache_store (j->ctx->cache, j->id, j->key, c, &error))
    fprintf (stderr, "lq: warning: the cell was not cached: %s\n", error->message);
  fprintf (stderr, "%s: %.2f %% (n %d, %.1f s)\n", j->id, 100 * c->accuracy, c->n, c->seconds);
}

static const LqDataset *
test_set (LqTableRun *ctx, LqDataKind data, GError **error)
{
  if (ctx->test[data] == NULL)
    ctx->test[data] = ctx->n > 0 ? lq_dataset_load_prefix (data, LQ_SPLIT_TEST, ctx->n, error)
                                 : lq_dataset_load (data, LQ_SPLIT_TEST, error);
  return ctx->test[data];
}

/* The cell's models; FALSE when one is missing (cell marked) or fails to load (error). */
static gboolean
cell_models (LqTableRun *ctx, const LqRowSpec *r, LqColumn col, Job *j, GString *key, GError **error)
{
  const char *sha, *cmd = NULL;
  const char *suffix = col == LQ_COLUMN_MADRY ? "-madry" : col == LQ_COLUMN_ADVTR ? "-advtr" : "";
  LqClassifier *clf = lq_model_store_classifier (ctx->store, r->data, r->arch, suffix, &sha, &cmd, error);
  if (clf)
    g_string_append_printf (key, " clf=%s", sha);
  LqClassifier *sub = NULL;
  if (clf && r->substitute >= 0 && col != LQ_COLUMN_NO_ATTACK &&
      (sub = lq_model_store_classifier (ctx->store, r->data, r->substitute, "", &sha, &cmd, error)))
    g_string_append_printf (key, " substitute=%s", sha);
  if (clf && (r->substitute < 0 || sub || col == LQ_COLUMN_NO_ATTACK))
    {
      if (col == LQ_COLUMN_LQVAE && (j->ev.vae = lq_model_store_vae (ctx->store, r->data, &sha, &cmd, error)))
        g_string_append_printf (key, " lqvae=%s", sha);
      if (col == LQ_COLUMN_DEFENSEGAN &&
          (j->ev.gan = lq_model_store_gan (ctx->store, r->data, &sha, &cmd, error)))
        {
          j->ev.search = ctx->search;
          const LqGanSearch *s = &ctx->search;
          g_string_append_printf (key, " defensegan=%s L=%d R=%d lr=%g m=%g decay=%g@%g std=%g seed=%" G_GUINT64_FORMAT,
                                  sha, s->steps, s->restarts, s->lr, s->momentum, s->decay,
                                  s->decay_at, s->init_std, s->seed);
        }
    }
  if (cmd)
    {
      j->cell->state = LQ_CELL_NOT_TRAINED;
      g_autofree char *note = g_strdup_printf ("not trained: `%s`", cmd);
      lq_cell_set_note (j->cell, note);
      return FALSE;
    }
  if (clf == NULL || (r->substitute >= 0 && col != LQ_COLUMN_NO_ATTACK && sub == NULL) ||
      (col == LQ_COLUMN_LQVAE && j->ev.vae == NULL) || (col == LQ_COLUMN_DEFENSEGAN && j->ev.gan == NULL))
    return FALSE;  /* error set */
  j->ev.clf = clf;
  j->source = col == LQ_COLUMN_NO_ATTACK ? SRC_NONE
              : r->bpda && col == LQ_COLUMN_LQVAE ? SRC_BPDA_LQVAE
              : r->bpda && col == LQ_COLUMN_DEFENSEGAN ? SRC_BPDA_DEFENSEGAN : SRC_CLASSIFIER;
  j->source_clf = sub ? sub : clf;
  /* White-box LQ-VAE and Defense-GAN cells attack the plain classifier, as No Defense does. */
  return TRUE;
}

static LqTarget *
make_target (Job *j)
{
  switch (j->source)
    {
    case SRC_CLASSIFIER:
      return lq_target_new_classifier (j->source_clf->net);
    case SRC_BPDA_LQVAE:
      return lq_target_new_bpda (j->source_clf->net, j->ev.vae, LQ_BPDA_SOFT);
    case SRC_BPDA_DEFENSEGAN:
      return lq_target_new_defensegan (j->source_clf->net, j->ev.gan, &j->ev.search);
    case SRC_NONE:
    default:
      return NULL;
    }
}

static gboolean
same_source (const Job *a, const Job *b)
{
  if (a->source != b->source || a->source_clf != b->source_clf)
    return FALSE;
  /* A plain attack on a classifier is the same whatever purifier scores it afterwards. */
  return a->source == SRC_NONE || a->source == SRC_CLASSIFIER ||
         (a->ev.vae == b->ev.vae && a->ev.gan == b->ev.gan);
}

/* Fills every cell of a row: from the cache, or by running one attack per source; a failure
 * marks the cells it concerns and the run goes on. */
void
lq_table_run_row (LqTableRun *ctx, LqTable *t, const LqRowSpec *r)
{
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func (job_free);
  LqAttackParams ap = lq_table_run_attack_params (ctx, r->attack);
  g_autofree char *akey = attack_key (&ap);
  for (int c = 0; c < LQ_N_COLUMNS; c++)
    {
      if (!t->shown[c])
        continue;
      /* In the BPDA table, No Defense is the plain attack on the classifier. */
      Job *j = g_new0 (Job, 1);
      j->column = c;
      j->cell = &r->row->cells[c];
      j->id = g_strdup_printf ("%s/%s/%s", t->name, r->row->id, lq_column_id (c));
      j->ctx = ctx;
      j->table = t->name;
      int n = c == LQ_COLUMN_NO_ATTACK ? 0 : r->attack->default_n;
      if (c == LQ_COLUMN_DEFENSEGAN)
        n = n > 0 ? MIN (n, LQ_DEFENSEGAN_N) : LQ_DEFENSEGAN_N;
      if (ctx->n > 0)
        n = n > 0 ? MIN (n, ctx->n) : ctx->n;
      g_autoptr (GError) error = NULL;
      const LqDataset *test = test_set (ctx, r->data, &error);
      g_autoptr (GString) key = g_string_new (NULL);
      if (test == NULL || !cell_models (ctx, r, c, j, key, &error))
        {
          if (error)
            {
              j->cell->state = LQ_CELL_FAILED;
              lq_cell_set_note (j->cell, error->message);
            }
          fprintf (stderr, "%s: %s\n", j->id, j->cell->note);
          job_free (j);
          continue;
        }
      n = n > 0 ? MIN (n, test->n) : test->n;
      j->ev.n = n;
      j->key = g_strdup_printf ("v1 n=%d data=%s source=%d bpda=%d %s%s", n,
                                lq_data_kind_name (r->data), j->source, r->bpda,
                                c == LQ_COLUMN_NO_ATTACK ? "attack=none" : akey, key->str);
      if (lq_table_cache_lookup (ctx->cache, j->id, j->key, j->cell))
        {
          ctx->cached++;
          fprintf (stderr, "%s: %.2f %% (cached)\n", j->id, 100 * j->cell->accuracy);
          job_free (j);
          continue;
        }
      g_ptr_array_add (jobs, j);
    }
  /* One attack per source, scored by every cell that shares it. */
  while (jobs->len > 0)
    {
      Job *first = g_ptr_array_index (jobs, 0);
      g_autoptr (GPtrArray) group = g_ptr_array_new ();
      for (guint i = 0; i < jobs->len; i++)
        if (same_source (first, g_ptr_array_index (jobs, i)))
          g_ptr_array_add (group, g_ptr_array_index (jobs, i));
      LqTarget *target = make_target (first);
      g_autofree char *label = g_strdup_printf ("%s %s", r->row->id, first->source == SRC_NONE ? "clean" : "attack");
      LqCliProgress progress = { .label = label, .unit = "img" };
      LqMonitor monitor = { lq_cli_progress_cb, &progress, NULL };
      g_autoptr (GError) error = NULL;
      if (!lq_eval_cells (ctx->test[r->data], target, &ap, (LqEvalCell *const *) group->pdata,
                          (int) group->len, ctx->batch, job_done, NULL, &monitor, &error))
        for (guint i = 0; i < group->len; i++)
          {
            Job *j = g_ptr_array_index (group, i);
            if (j->cell->state != LQ_CELL_DONE)
              {
                j->cell->state = LQ_CELL_FAILED;
                lq_cell_set_note (j->cell, error->message);
                fprintf (stderr, "%s: failed: %s\n", j->id, error->message);
              }
          }
      if (target)
        lq_target_free (target);
      for (guint i = 0; i < group->len; i++)
        g_ptr_array_remove_fast (jobs, g_ptr_array_index (group, i));
    }
}

void
lq_table_run_clear (LqTableRun *run)
{
  for (int d = 0; d < 2; d++)
    g_clear_pointer (&run->test[d], lq_dataset_free);
}

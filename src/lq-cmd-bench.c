/* lq-cmd-bench.c: `lq bench [--json] [--quick] [--threads N] [--attacks]` — the speed of the engine,
 * in one run.
 *
 * Everything is measured in one process so that the ratios compare like with like on a shared,
 * noisy machine: each figure is the median of several samples, a sample repeats its operation
 * until it lasts a few milliseconds, and every ratio is the median of ratios of *paired* samples
 * taken back to back (a layer sample, then a raw-GEMM sample), so a load change during the run
 * moves both sides of a pair alike. Sections:
 *   1. raw cblas_sgemm at 1024³ (median of all the samples paired with the layers): lq_gemm, which
 *      cuts the product over the engine's threads with OpenBLAS on one thread each, and, in pairs
 *      before and after the layers, OpenBLAS's own threaded sgemm against that cut; the faster of
 *      the two is the reference;
 *   2. every conv/deconv/dense layer of the LQ-VAE encoder and decoder at batch 64: forward,
 *      backward to the input and weight gradient (dW and db), each through the LqLayerClass
 *      vtable, in GFLOP/s (2·MACs) and as a fraction of the raw GEMM; the samples are taken in
 *      rounds, one of every pass per round, so a burst of load hits few samples of each;
 *   3. the gradient-norm penalty (backward to the input + double backprop) as a multiple of one
 *      encoder forward + backward (parameter gradients, no input gradient: a training backward),
 *      paired the same way;
 *   4. training steps: the LQ-VAE (paper config, batch 64, synthetic images) and classifier A
 *      (batch 64), in images/s;
 *   5. attacks: a table of entries on classifier A (the shipped MNIST weights when present,
 *      otherwise randomly initialised — said in the output).
 */
#include <cblas.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lq-attack.h"
#include "lq-cli-util.h"
#include "lq-cmd.h"
#include "lq-dataset.h"
#include "lq-gemm.h"
#include "lq-loss.h"
#include "lq-models.h"
#include "lq-net.h"
#include "lq-optim.h"
#include "lq-penalty.h"
#include "lq-train-vae.h"
#include "lq-vae.h"

#define BENCH_BATCH 64
#define ATTACK_BATCH 256
#define LAYER_TARGET 0.5   /* fraction of raw GEMM GFLOP/s (issue 2) */
#define PENALTY_TARGET 4.0 /* × one encoder forward + backward (issue 2) */

typedef struct {
  int samples;         /* samples per figure (the median is reported) */
  double min_sample_s; /* a sample repeats its operation until it lasts this long */
  gboolean quick;
  gboolean attacks_only; /* section 5 alone */
  gboolean steps_only;   /* section 4 alone */
} BenchPlan;

typedef void (*BenchFunc) (gpointer data);

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Calls of fn in one sample, so that a sample lasts about min_sample_s (after one warm-up call). */
static int
calibrate (const BenchPlan *plan, BenchFunc fn, gpointer data)
{
  double t0 = now_s ();
  fn (data);
  double once = now_s () - t0;
  int reps = once > 0 ? (int) ceil (plan->min_sample_s / once) : 1000;
  return CLAMP (reps, 1, 1000);
}

static double
sample (BenchFunc fn, gpointer data, int reps)
{
  double t0 = now_s ();
  for (int r = 0; r < reps; r++)
    fn (data);
  return (now_s () - t0) / reps;
}

/* Median seconds per call of fn over plan->samples samples. */
static double
time_median (const BenchPlan *plan, BenchFunc fn, gpointer data)
{
  int reps = calibrate (plan, fn, data);
  double *v = g_new (double, plan->samples);
  for (int s = 0; s < plan->samples; s++)
    v[s] = sample (fn, data, reps);
  double m = median (v, plan->samples);
  g_free (v);
  return m;
}

/* Paired samples of a and b, back to back: the median seconds per call of each, and the median
 * of the per-pair ratios t_a / t_b. */
static void
time_paired (const BenchPlan *plan, BenchFunc a, gpointer a_data, BenchFunc b, gpointer b_data,
             double *a_s, double *b_s, double *ratio)
{
  int ra = calibrate (plan, a, a_data), rb = calibrate (plan, b, b_data);
  double *ta = g_new (double, plan->samples), *tb = g_new (double, plan->samples);
  double *q = g_new (double, plan->samples);
  for (int s = 0; s < plan->samples; s++)
    {
      ta[s] = sample (a, a_data, ra);
      tb[s] = sample (b, b_data, rb);
      q[s] = ta[s] / tb[s];
    }
  *a_s = median (ta, plan->samples);
  *b_s = median (tb, plan->samples);
  *ratio = median (q, plan->samples);
  g_free (ta);
  g_free (tb);
  g_free (q);
}

static void
fill_uniform (LqRng *rng, float *p, size_t n, float lo, float hi)
{
  for (size_t i = 0; i < n; i++)
    p[i] = lo + (hi - lo) * (float) lq_rng_uniform (rng);
}

/* --- 1. raw GEMM --- */

typedef struct {
  int n;
  float *a, *b, *c;
} GemmCtx;

static void
gemm_run (gpointer data)
{
  GemmCtx *g = data;
  lq_gemm (FALSE, FALSE, g->n, g->n, g->n, 1.0f, g->a, g->n, g->b, g->n, 0.0f, g->c, g->n);
}

/* The raw-GEMM reference: 1024³, random operands in [-1, 1]. */
static GemmCtx
gemm_ctx_init (LqRng *rng)
{
  GemmCtx g = { .n = 1024 };
  const size_t nn = (size_t) g.n * g.n;
  g.a = lq_floats_new (nn), g.b = lq_floats_new (nn), g.c = lq_floats_new (nn);
  fill_uniform (rng, g.a, nn, -1.0f, 1.0f);
  fill_uniform (rng, g.b, nn, -1.0f, 1.0f);
  return g;
}

static void
gemm_ctx_clear (GemmCtx *g)
{
  lq_floats_free (g->a);
  lq_floats_free (g->b);
  lq_floats_free (g->c);
}

/* The same product by OpenBLAS's own threads (lq_gemm keeps OpenBLAS at one). */
static void
blas_run (gpointer data)
{
  GemmCtx *g = data;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->n, g->n, 1.0f, g->a, g->n, g->b,
               g->n, 0.0f, g->c, g->n);
}

/* After a threaded call, OpenBLAS's idle workers spin (sched_yield) for ~0.1 s on the cores the
 * engine's threads need. */
#define OPENBLAS_SPIN_US 300000

/* OpenBLAS's own threads against lq_gemm's cut, in pairs: each engine sample waits until
 * OpenBLAS's workers have gone to sleep, and runs with OpenBLAS back at one thread, as the engine
 * always does. In four runs of 9 such rounds (Dec 3), the cut taken straight after OpenBLAS's
 * sample ran at 88–96 GFLOP/s beside the spinning workers, and at 139–155 with OpenBLAS still at
 * two threads (each part's sgemm then threads again); after the wait, at 158–182, against
 * 168–179 for OpenBLAS's own threads in the same rounds. Appends plan->samples pairs of seconds
 * per call to own and engine: the bench takes a block before the layers and one after, since the
 * ratio of their medians scales every layer ratio. */
static void
time_own_vs_engine (const BenchPlan *plan, GemmCtx *g, GArray *own, GArray *engine)
{
  const int threads = lq_gemm_get_threads ();
  openblas_set_num_threads (threads);
  const int ro = calibrate (plan, blas_run, g);
  openblas_set_num_threads (1);
  g_usleep (OPENBLAS_SPIN_US);
  const int re = calibrate (plan, gemm_run, g);
  for (int s = 0; s < plan->samples; s++)
    {
      openblas_set_num_threads (threads);
      const double to = sample (blas_run, g, ro);
      openblas_set_num_threads (1);
      g_usleep (OPENBLAS_SPIN_US);
      const double te = sample (gemm_run, g, re);
      g_array_append_val (own, to);
      g_array_append_val (engine, te);
    }
}

/* Medians of the pairs time_own_vs_engine took: seconds per call of each, and of their ratios. */
static void
own_vs_engine_medians (GArray *own, GArray *engine, double *own_s, double *engine_s, double *ratio)
{
  const int n = (int) own->len;
  double *q = g_new (double, n);
  for (int i = 0; i < n; i++)
    q[i] = g_array_index (own, double, i) / g_array_index (engine, double, i);
  *ratio = median (q, n);
  *own_s = median ((double *) own->data, n);
  *engine_s = median ((double *) engine->data, n);
  g_free (q);
}

/* --- 2. layers --- */

typedef enum { PASS_FORWARD, PASS_BACKWARD_INPUT, PASS_WEIGHT_GRAD, N_PASSES } LayerPass;
static const char *const pass_names[N_PASSES] = { "forward", "backward_input", "weight_grad" };
static const char *const pass_titles[N_PASSES] = { "fwd", "bwd-in", "wgrad" };

typedef struct {
  LqLayer *l;
  const float *x, *y;
  float *out, *dx, *dy;
  int batch;
  LayerPass pass;
} LayerCtx;

static void
layer_run (gpointer data)
{
  LayerCtx *c = data;
  const LqLayerClass *k = c->l->klass;
  switch (c->pass)
    {
    case PASS_FORWARD:
      k->forward (c->l, c->out, c->x, c->batch);
      break;
    case PASS_BACKWARD_INPUT:
      k->backward (c->l, c->dx, c->dy, c->x, c->y, c->batch, FALSE);
      break;
    case PASS_WEIGHT_GRAD:
      k->backward (c->l, NULL, c->dy, c->x, c->y, c->batch, TRUE);
      break;
    default:
      g_assert_not_reached ();
    }
}

typedef struct {
  const char *net;
  char *layer;
  const char *kind;
  int in[3], out[3];
  double macs;                 /* per batch */
  double seconds[N_PASSES];
  double ratio[N_PASSES];      /* GFLOP/s over raw GEMM GFLOP/s, median of paired samples */
} LayerResult;

static void
layer_result_clear (gpointer p)
{
  g_free (((LayerResult *) p)->layer);
}

static gboolean
is_gemm_layer (const LqLayer *l)
{
  const char *k = l->klass->kind;
  return strcmp (k, "conv2d") == 0 || strcmp (k, "deconv2d") == 0 || strcmp (k, "dense") == 0;
}

/* Multiply-accumulates of one forward pass over the batch; backward and weight gradient are the
 * same count (the transposed products). */
static double
layer_macs (const LqLayer *l, int batch)
{
  const LqTensor *w = l->params[0].value;
  const char *k = l->klass->kind;
  if (strcmp (k, "dense") == 0)
    return (double) batch * l->in_size * l->out[0];
  if (strcmp (k, "conv2d") == 0) /* out channels × (in·kh·kw) per output pixel */
    return (double) batch * l->out[1] * l->out[2] * w->shape[0] * w->shape[1] * w->shape[2] *
           w->shape[3];
  /* deconv2d: every input pixel scatters in·out·k·k products */
  return (double) batch * l->in[1] * l->in[2] * w->shape[0] * w->shape[1] * w->shape[2] *
         w->shape[3];
}

#define GEMM_FLOP (2.0 * 1024.0 * 1024.0 * 1024.0)

/* One timed pass of one layer, with its buffers and its samples (section 2). */
typedef struct {
  LayerCtx c;
  int result;  /* index in the results array */
  int reps;    /* calls per sample (calibrate) */
  double *t, *q; /* per sample: seconds per call, and the ratio to the paired raw-GEMM sample */
} PassTimer;

/* Adds a net's GEMM layers to results and one PassTimer per pass of each to timers (their
 * buffers owned by the timer, in c.out/c.dx/c.dy); times the elementwise layers at once, summed
 * into *other_s. The net's activations must stay as lq_net_forward left them until the timers
 * have run. */
static void
net_pass_timers (const BenchPlan *plan, const char *net_name, LqNet *net, const float *input,
                 LqRng *rng, GArray *results, GArray *timers, double *other_s)
{
  const int B = BENCH_BATCH;
  lq_net_set_training (net, TRUE);
  lq_net_forward (net, input, B);
  for (int i = 0; i < lq_net_n_layers (net); i++)
    {
      LqLayer *l = lq_net_layer (net, i);
      LayerCtx c = { .l = l, .x = lq_net_activation (net, i - 1), .y = lq_net_activation (net, i),
                     .batch = B };
      if (!is_gemm_layer (l))
        {
          /* activations, reshape: forward + backward to the input, summed per net */
          c.out = lq_floats_new ((size_t) B * l->out_size);
          c.dx = lq_floats_new ((size_t) B * l->in_size);
          c.dy = lq_floats_new ((size_t) B * l->out_size);
          fill_uniform (rng, c.dy, (size_t) B * l->out_size, -1.0f, 1.0f);
          c.pass = PASS_FORWARD;
          *other_s += time_median (plan, layer_run, &c);
          c.pass = PASS_BACKWARD_INPUT;
          *other_s += time_median (plan, layer_run, &c);
          lq_floats_free (c.out), lq_floats_free (c.dx), lq_floats_free (c.dy);
          continue;
        }
      LayerResult r = { .net = net_name, .layer = g_strdup (l->name), .kind = l->klass->kind,
                        .macs = layer_macs (l, B) };
      memcpy (r.in, l->in, sizeof r.in);
      memcpy (r.out, l->out, sizeof r.out);
      g_array_append_val (results, r);
      for (int p = 0; p < N_PASSES; p++)
        {
          PassTimer t = { .c = c, .result = (int) results->len - 1 };
          t.c.pass = p;
          t.c.out = lq_floats_new ((size_t) B * l->out_size);
          t.c.dx = lq_floats_new ((size_t) B * l->in_size);
          t.c.dy = lq_floats_new ((size_t) B * l->out_size);
          fill_uniform (rng, t.c.dy, (size_t) B * l->out_size, -1.0f, 1.0f);
          t.t = g_new (double, plan->samples), t.q = g_new (double, plan->samples);
          g_array_append_val (timers, t);
        }
    }
}

/* The passes' samples in rounds: each round takes one sample of every pass, each paired with a
 * raw-GEMM sample right after it. A burst of load from elsewhere on the host (these VMs share
 * cores and L3) then lands on one sample of several passes, which their medians drop, rather
 * than on every sample of one pass. */
static void
time_passes (const BenchPlan *plan, GArray *timers, GemmCtx *gemm, GArray *gemm_t, GArray *results)
{
  const int rg = calibrate (plan, gemm_run, gemm);
  for (guint i = 0; i < timers->len; i++)
    {
      PassTimer *t = &g_array_index (timers, PassTimer, i);
      t->reps = calibrate (plan, layer_run, &t->c);
    }
  for (int s = 0; s < plan->samples; s++)
    for (guint i = 0; i < timers->len; i++)
      {
        PassTimer *t = &g_array_index (timers, PassTimer, i);
        t->t[s] = sample (layer_run, &t->c, t->reps);
        double tg = sample (gemm_run, gemm, rg);
        t->q[s] = t->t[s] / tg;
        g_array_append_val (gemm_t, tg);
      }
  for (guint i = 0; i < timers->len; i++)
    {
      PassTimer *t = &g_array_index (timers, PassTimer, i);
      LayerResult *r = &g_array_index (results, LayerResult, t->result);
      r->seconds[t->c.pass] = median (t->t, plan->samples);
      r->ratio[t->c.pass] = 2.0 * r->macs / GEMM_FLOP / median (t->q, plan->samples);
      g_free (t->t), g_free (t->q);
      lq_floats_free (t->c.out), lq_floats_free (t->c.dx), lq_floats_free (t->c.dy);
    }
}

/* --- 3. penalty --- */

typedef struct {
  LqNet *net;
  const float *x, *u;
  float *dy;
  int batch;
} PenaltyCtx;

static void
encoder_fwd_bwd_run (gpointer data)
{
  PenaltyCtx *c = data;
  lq_net_forward (c->net, c->x, c->batch);
  lq_net_backward (c->net, c->dy, NULL, TRUE);
}

static void
penalty_run (gpointer data)
{
  PenaltyCtx *c = data;
  g_autoptr (GError) error = NULL;
  if (!lq_grad_penalty (c->net, c->u, 0.1f, 10.0f, NULL, NULL, &error))
    g_error ("penalty: %s", error->message);
}

/* --- 4. training steps --- */

typedef struct {
  LqVaeTrainer *t;
} VaeStepCtx;

static void
vae_step_run (gpointer data)
{
  VaeStepCtx *c = data;
  g_autoptr (GError) error = NULL;
  if (!lq_vae_trainer_step (c->t, NULL, &error))
    g_error ("LQ-VAE step: %s", error->message);
}

/* What lq_train_classifier does per batch: forward, cross-entropy, zero, backward, Adam. */
typedef struct {
  LqNet *net;
  LqOptim *opt;
  float *x, *dlogits, *probs;
  guint8 *labels;
  int batch;
} ClassifierStepCtx;

static void
classifier_step_run (gpointer data)
{
  ClassifierStepCtx *c = data;
  const float *logits = lq_net_forward (c->net, c->x, c->batch);
  lq_softmax_xent (logits, c->labels, c->batch, LQ_N_CLASSES, c->dlogits, c->probs);
  lq_net_zero_grad (c->net);
  lq_net_backward (c->net, c->dlogits, NULL, TRUE);
  lq_optim_step (c->opt);
}

/* --- 5. attacks --- */

typedef struct {
  char *name;
  int batch;
  double seconds;     /* per call (the whole batch), wall time */
  double cpu_seconds; /* per call, CPU time of the process (all its threads) */
  char *note;
} AttackResult;

static double
cpu_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Medians of the wall time and of the process CPU time per call. On a machine whose cores are
 * taken by higher-priority jobs the wall time mostly measures waiting; with one engine thread
 * the CPU time is the work itself. */
static void
time_attack (const BenchPlan *plan, BenchFunc fn, gpointer data, double *wall, double *cpu)
{
  int reps = calibrate (plan, fn, data);
  double *w = g_new (double, plan->samples), *c = g_new (double, plan->samples);
  for (int s = 0; s < plan->samples; s++)
    {
      double c0 = cpu_s ();
      w[s] = sample (fn, data, reps);
      c[s] = (cpu_s () - c0) / reps;
    }
  *wall = median (w, plan->samples);
  *cpu = median (c, plan->samples);
  g_free (w);
  g_free (c);
}

static void
attack_result_clear (gpointer p)
{
  AttackResult *r = p;
  g_free (r->name);
  g_free (r->note);
}

typedef struct {
  LqAttackParams params;
  LqTarget *target;
  const float *x;
  const guint8 *labels;
  float *adv;
  int batch;
} AttackCtx;

static void
attack_run (gpointer data)
{
  AttackCtx *c = data;
  g_autoptr (GError) error = NULL;
  if (!lq_attack_run (&c->params, c->target, c->x, c->labels, c->batch, c->adv, NULL, NULL, &error))
    g_error ("attack: %s", error->message);
}

/* The attack entries: add a row here to measure another attack. */
typedef struct {
  const char *name;
  LqAttackKind kind;
  const char *cw_preset; /* CW only */
  int batch;             /* 1: the latency of one live image in the explorer */
  int quick_batch;       /* batch under --quick (CI smoke test) */
} AttackEntry;

static const AttackEntry attack_entries[] = {
  { "fgsm", LQ_ATTACK_FGSM, NULL, 1, 1 },
  { "deepfool", LQ_ATTACK_DEEPFOOL, NULL, 1, 1 },
  { "cw-live", LQ_ATTACK_CW, "live", 1, 1 },
  { "fgsm", LQ_ATTACK_FGSM, NULL, ATTACK_BATCH, 32 },
  { "pgd-40", LQ_ATTACK_PGD, NULL, ATTACK_BATCH, 8 },
  { "deepfool", LQ_ATTACK_DEEPFOOL, NULL, ATTACK_BATCH, 8 },
};

static void
bench_attacks (const BenchPlan *plan, GArray *results, gboolean *trained, char **classifier_desc,
               char **data_desc)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LqClassifier) shipped = lq_classifier_load_shipped (LQ_DATA_MNIST, LQ_ARCH_A, &error);
  g_autoptr (LqNet) random_net = NULL;
  LqNet *net;
  *trained = shipped != NULL;
  if (shipped)
    {
      net = shipped->net;
      *classifier_desc = g_strdup_printf ("classifier A, trained MNIST weights (%s)", shipped->path);
    }
  else
    {
      LqRng rng;
      random_net = lq_classifier_new (LQ_ARCH_A);
      lq_rng_seed (&rng, 7);
      lq_net_init (random_net, &rng);
      net = random_net;
      *classifier_desc = g_strdup_printf ("classifier A, RANDOMLY INITIALISED (no trained weights: "
                                          "%s); DeepFool/CW iteration counts differ from a trained "
                                          "model's",
                                          error->message);
    }
  lq_net_set_training (net, FALSE);

  int max_batch = 1;
  for (gsize i = 0; i < G_N_ELEMENTS (attack_entries); i++)
    max_batch = MAX (max_batch, plan->quick ? attack_entries[i].quick_batch : attack_entries[i].batch);
  float *x = lq_floats_new ((size_t) max_batch * LQ_IMAGE_SIZE);
  float *adv = lq_floats_new ((size_t) max_batch * LQ_IMAGE_SIZE);
  guint8 *labels = g_new0 (guint8, max_batch);
  g_autoptr (GError) derr = NULL;
  g_autoptr (LqDataset) test = lq_dataset_load_prefix (LQ_DATA_MNIST, LQ_SPLIT_TEST, max_batch, &derr);
  if (test)
    {
      memcpy (x, test->images, (size_t) max_batch * LQ_IMAGE_SIZE * sizeof (float));
      memcpy (labels, test->labels, max_batch);
      *data_desc = g_strdup_printf ("the first %d MNIST test images", max_batch);
    }
  else
    {
      LqRng rng;
      lq_rng_seed (&rng, 11);
      fill_uniform (&rng, x, (size_t) max_batch * LQ_IMAGE_SIZE, 0.0f, 1.0f);
      for (int b = 0; b < max_batch; b++)
        labels[b] = (guint8) lq_rng_below (&rng, LQ_N_CLASSES);
      *data_desc = g_strdup ("uniform random images (MNIST not installed: lq data import)");
    }

  g_autoptr (LqTarget) target = lq_target_new_classifier (net);
  /* A batch attack runs for up to seconds: fewer samples than the layers. A single image takes
   * milliseconds, where one descheduling of this process on the shared machine would be the whole
   * figure: it gets as many samples as the layers, each repeating the attack for 40 ms. */
  BenchPlan ap = { .samples = plan->quick ? 1 : 3, .min_sample_s = 0.0, .quick = plan->quick };
  BenchPlan ap1 = { .samples = plan->samples, .min_sample_s = plan->min_sample_s,
                    .quick = plan->quick };
  for (gsize i = 0; i < G_N_ELEMENTS (attack_entries); i++)
    {
      const AttackEntry *e = &attack_entries[i];
      AttackCtx c = { .params = lq_attack_defaults (e->kind), .target = target, .x = x,
                      .labels = labels, .adv = adv,
                      .batch = plan->quick ? e->quick_batch : e->batch };
      if (e->cw_preset)
        lq_attack_cw_preset (e->cw_preset, &c.params, NULL);
      AttackResult r = { .name = g_strdup (e->name), .batch = c.batch };
      time_attack (c.batch == 1 ? &ap1 : &ap, attack_run, &c, &r.seconds, &r.cpu_seconds);
      if (e->kind == LQ_ATTACK_PGD)
        r.note = g_strdup_printf ("%d steps of %.2g, eps %.2g, random start", c.params.steps,
                                  c.params.step, c.params.eps);
      else if (e->kind == LQ_ATTACK_DEEPFOOL)
        r.note = g_strdup_printf ("up to %d iterations, early stop per image", c.params.max_iter);
      else if (e->kind == LQ_ATTACK_CW)
        r.note = g_strdup_printf ("preset %s: %d × %d Adam steps, early abort", e->cw_preset,
                                  c.params.cw_search_steps, c.params.cw_max_iter);
      else
        r.note = g_strdup_printf ("eps %.2g", c.params.eps);
      g_array_append_val (results, r);
    }
  lq_floats_free (x);
  lq_floats_free (adv);
  g_free (labels);
}

/* --- output --- */

typedef struct {
  char *cpu;
  int cores, threads;
  char *blas_config;
  gboolean quick;
  int samples;
  double gemm_s;            /* per 1024³ call: the reference (the faster of the two below) */
  double engine_gemm_s, blas_gemm_s; /* lq_gemm's cut and OpenBLAS's own threads, paired block */
  GArray *layers;           /* LayerResult */
  double other_s[2];        /* encoder, decoder: elementwise layers fwd + bwd */
  double enc_fwd_bwd_s, penalty_s, penalty_ratio; /* ratio: median of paired samples */
  double vae_step_s, clf_step_s;
  double vae_step_gflop;    /* counted by the engine (lq_gemm_flops_done) over one step */
  double vae_step_raw_s;    /* raw GEMM (lq_gemm, 1024³) paired with the step's samples */
  double vae_step_raw_frac; /* the step's GFLOP/s over raw GEMM's, median of the pairs */
  GArray *attacks;          /* AttackResult */
  char *attack_classifier, *attack_data;
  gboolean attack_trained;  /* FALSE: classifier A randomly initialised */
  gboolean attacks_only;    /* sections 1–4 were not run */
  gboolean steps_only;      /* sections 1–3 and 5 were not run */
} BenchReport;

static double
gemm_gflops (const BenchReport *r)
{
  return GEMM_FLOP / r->gemm_s / 1e9;
}

static int
count_layer_misses (const BenchReport *r, int *total)
{
  int miss = 0;
  *total = 0;
  for (guint i = 0; i < r->layers->len; i++)
    {
      const LayerResult *l = &g_array_index (r->layers, LayerResult, i);
      for (int p = 0; p < N_PASSES; p++)
        {
          (*total)++;
          miss += l->ratio[p] < LAYER_TARGET;
        }
    }
  return miss;
}

static void
print_text_engine (const BenchReport *r)
{
  const double peak = gemm_gflops (r);
  printf ("Raw cblas_sgemm 1024x1024x1024: %.1f GFLOP/s (%.2f ms), the faster of OpenBLAS's own %d "
          "threads (%.1f GFLOP/s) and\nthe engine's cut over %d threads of one-thread OpenBLAS "
          "(%.1f GFLOP/s), measured side by side before and after the layers\n\n",
          peak, 1e3 * r->gemm_s, r->threads, GEMM_FLOP / r->blas_gemm_s / 1e9, r->threads,
          GEMM_FLOP / r->engine_gemm_s / 1e9);

  printf ("Layers at batch %d (GFLOP/s = 2*MACs/s; ratio = fraction of raw GEMM; target >= %.2f)\n",
          BENCH_BATCH, LAYER_TARGET);
  printf ("%-8s %-8s %-9s %-10s %-10s %7s", "net", "layer", "kind", "in", "out", "GFLOP");
  for (int p = 0; p < N_PASSES; p++)
    printf (" | %-6s %7s %6s %5s", pass_titles[p], "ms", "GF/s", "ratio");
  printf ("\n");
  for (guint i = 0; i < r->layers->len; i++)
    {
      const LayerResult *l = &g_array_index (r->layers, LayerResult, i);
      g_autofree char *in = g_strdup_printf ("%dx%dx%d", l->in[0], l->in[1], l->in[2]);
      g_autofree char *out = g_strdup_printf ("%dx%dx%d", l->out[0], l->out[1], l->out[2]);
      printf ("%-8s %-8s %-9s %-10s %-10s %7.3f", l->net, l->layer, l->kind, in, out,
              2.0 * l->macs / 1e9);
      for (int p = 0; p < N_PASSES; p++)
        {
          double gf = 2.0 * l->macs / l->seconds[p] / 1e9;
          printf (" | %-6s %7.3f %6.1f %4.2f%s", "", 1e3 * l->seconds[p], gf, l->ratio[p],
                  l->ratio[p] < LAYER_TARGET ? "!" : " ");
        }
      printf ("\n");
    }
  int total, miss = count_layer_misses (r, &total);
  printf ("%d of %d layer passes at >= %.0f %% of raw GEMM ('!' marks a miss).\n", total - miss,
          total, 100 * LAYER_TARGET);
  printf ("Elementwise layers (LeakyReLU, tanh, reshape), forward + backward per batch: encoder "
          "%.2f ms, decoder %.2f ms\n\n",
          1e3 * r->other_s[0], 1e3 * r->other_s[1]);

  double pr = r->penalty_ratio;
  printf ("Gradient-norm penalty (double backprop) at batch %d: %.2f ms = %.2f x one encoder "
          "forward+backward (%.2f ms); target <= %.1f x: %s\n\n",
          BENCH_BATCH, 1e3 * r->penalty_s, pr, 1e3 * r->enc_fwd_bwd_s, PENALTY_TARGET,
          pr <= PENALTY_TARGET ? "met" : "MISSED");
}

static void
print_text_steps (const BenchReport *r)
{
  printf ("Training steps at batch %d:\n", BENCH_BATCH);
  printf ("  LQ-VAE (paper config, 3 nets + penalty + 3 RMSProp): %7.1f ms  %7.1f images/s\n",
          1e3 * r->vae_step_s, BENCH_BATCH / r->vae_step_s);
  printf ("    its products: %.2f GFLOP a step (counted), %.1f GFLOP/s = %.2f of raw GEMM\n"
          "    (lq_gemm 1024³: %.1f GFLOP/s; median ratio of paired samples)\n",
          r->vae_step_gflop, r->vae_step_gflop / r->vae_step_s, r->vae_step_raw_frac,
          GEMM_FLOP / r->vae_step_raw_s / 1e9);
  printf ("  classifier A (Adam, dropout on):                     %7.1f ms  %7.1f images/s\n\n",
          1e3 * r->clf_step_s, BENCH_BATCH / r->clf_step_s);
}

static void
print_text (const BenchReport *r)
{
  printf ("lq bench%s — %s, %d cores, %d engine threads (%s)\n", r->quick ? " --quick" : "",
          r->cpu, r->cores, r->threads, r->blas_config);
  if (r->steps_only)
    {
      printf ("Every figure is the median of %d samples.\n\n", r->samples);
      print_text_steps (r);
      return;
    }
  if (r->attacks_only)
    printf ("Single images: median of %d samples; batches: median of %d. cpu ms is the CPU time of\n"
            "the process (with --threads 1, the work itself, whatever the machine's load).\n\n",
            r->samples, r->quick ? 1 : 3);
  else
    {
      printf ("Every figure is the median of %d samples; each ratio is the median over pairs of\n"
              "back-to-back samples (layer, raw GEMM), so load changes during the run cancel.\n"
              "The layers' samples are taken in rounds, one of every pass per round.\n\n",
              r->samples);
      print_text_engine (r);
      print_text_steps (r);
    }
  printf ("Attacks — %s;\n  inputs: %s\n", r->attack_classifier, r->attack_data);
  printf ("  %-10s %6s %10s %12s %10s %12s  %s\n", "attack", "batch", "ms", "images/s", "cpu ms",
          "images/cpu-s", "settings");
  for (guint i = 0; i < r->attacks->len; i++)
    {
      const AttackResult *a = &g_array_index (r->attacks, AttackResult, i);
      printf ("  %-10s %6d %10.2f %12.1f %10.2f %12.1f  %s\n", a->name, a->batch, 1e3 * a->seconds,
              a->batch / a->seconds, 1e3 * a->cpu_seconds, a->batch / a->cpu_seconds, a->note);
    }
}

static void
json_pass (JsonBuilder *b, const char *name, double seconds, double macs, double ratio)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "ms");
  json_builder_add_double_value (b, 1e3 * seconds);
  json_builder_set_member_name (b, "gflops");
  json_builder_add_double_value (b, 2.0 * macs / seconds / 1e9);
  json_builder_set_member_name (b, "ratio");
  json_builder_add_double_value (b, ratio);
  json_builder_end_object (b);
}

static void
json_shape (JsonBuilder *b, const char *name, const int s[3])
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (int i = 0; i < 3; i++)
    json_builder_add_int_value (b, s[i]);
  json_builder_end_array (b);
}

#define JSON_D(b, key, v) (json_builder_set_member_name (b, key), json_builder_add_double_value (b, v))
#define JSON_I(b, key, v) (json_builder_set_member_name (b, key), json_builder_add_int_value (b, v))
#define JSON_S(b, key, v) (json_builder_set_member_name (b, key), json_builder_add_string_value (b, v))
#define JSON_B(b, key, v) (json_builder_set_member_name (b, key), json_builder_add_boolean_value (b, v))

static void
json_engine (JsonBuilder *b, const BenchReport *r)
{
  const double peak = gemm_gflops (r);
  json_builder_set_member_name (b, "gemm");
  json_builder_begin_object (b);
  JSON_I (b, "n", 1024);
  JSON_D (b, "ms", 1e3 * r->gemm_s);
  JSON_D (b, "gflops", peak);
  JSON_D (b, "openblas_threads_gflops", GEMM_FLOP / r->blas_gemm_s / 1e9);
  JSON_D (b, "engine_cut_gflops", GEMM_FLOP / r->engine_gemm_s / 1e9);
  json_builder_end_object (b);

  int total, miss = count_layer_misses (r, &total);
  json_builder_set_member_name (b, "layers");
  json_builder_begin_object (b);
  JSON_I (b, "batch", BENCH_BATCH);
  JSON_D (b, "target_ratio", LAYER_TARGET);
  JSON_I (b, "passes", total);
  JSON_I (b, "passes_below_target", miss);
  JSON_D (b, "elementwise_encoder_ms", 1e3 * r->other_s[0]);
  JSON_D (b, "elementwise_decoder_ms", 1e3 * r->other_s[1]);
  json_builder_set_member_name (b, "entries");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->layers->len; i++)
    {
      const LayerResult *l = &g_array_index (r->layers, LayerResult, i);
      json_builder_begin_object (b);
      JSON_S (b, "net", l->net);
      JSON_S (b, "layer", l->layer);
      JSON_S (b, "kind", l->kind);
      json_shape (b, "in", l->in);
      json_shape (b, "out", l->out);
      JSON_D (b, "gflop", 2.0 * l->macs / 1e9);
      for (int p = 0; p < N_PASSES; p++)
        json_pass (b, pass_names[p], l->seconds[p], l->macs, l->ratio[p]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "penalty");
  json_builder_begin_object (b);
  JSON_D (b, "ms", 1e3 * r->penalty_s);
  JSON_D (b, "encoder_forward_backward_ms", 1e3 * r->enc_fwd_bwd_s);
  JSON_D (b, "ratio", r->penalty_ratio);
  JSON_D (b, "target_ratio", PENALTY_TARGET);
  json_builder_end_object (b);
}

static void
json_steps (JsonBuilder *b, const BenchReport *r)
{
  json_builder_set_member_name (b, "training");
  json_builder_begin_array (b);
  const char *names[] = { "lqvae", "classifier-A" };
  double secs[] = { r->vae_step_s, r->clf_step_s };
  for (int i = 0; i < 2; i++)
    {
      json_builder_begin_object (b);
      JSON_S (b, "name", names[i]);
      JSON_I (b, "batch", BENCH_BATCH);
      JSON_D (b, "ms", 1e3 * secs[i]);
      JSON_D (b, "images_per_s", BENCH_BATCH / secs[i]);
      if (i == 0)
        {
          JSON_D (b, "gflop", r->vae_step_gflop);
          JSON_D (b, "gflops", r->vae_step_gflop / r->vae_step_s);
          JSON_D (b, "raw_gemm_gflops", GEMM_FLOP / r->vae_step_raw_s / 1e9);
          JSON_D (b, "raw_gemm_fraction", r->vae_step_raw_frac);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
json_attacks (JsonBuilder *b, const BenchReport *r)
{
  json_builder_set_member_name (b, "attacks");
  json_builder_begin_object (b);
  JSON_S (b, "classifier", r->attack_classifier);
  JSON_B (b, "classifier_trained", r->attack_trained);
  JSON_S (b, "inputs", r->attack_data);
  json_builder_set_member_name (b, "entries");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->attacks->len; i++)
    {
      const AttackResult *a = &g_array_index (r->attacks, AttackResult, i);
      json_builder_begin_object (b);
      JSON_S (b, "name", a->name);
      JSON_I (b, "batch", a->batch);
      JSON_D (b, "ms", 1e3 * a->seconds);
      JSON_D (b, "images_per_s", a->batch / a->seconds);
      JSON_D (b, "cpu_ms", 1e3 * a->cpu_seconds);
      JSON_D (b, "images_per_cpu_s", a->batch / a->cpu_seconds);
      JSON_S (b, "settings", a->note);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
print_json (const BenchReport *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "machine");
  json_builder_begin_object (b);
  JSON_S (b, "cpu", r->cpu);
  JSON_I (b, "cores", r->cores);
  JSON_I (b, "blas_threads", r->threads);
  JSON_S (b, "blas_config", r->blas_config);
  json_builder_end_object (b);
  JSON_B (b, "quick", r->quick);
  JSON_I (b, "samples", r->samples);

  if (!r->attacks_only && !r->steps_only)
    json_engine (b, r);
  if (!r->attacks_only)
    json_steps (b, r);
  if (!r->steps_only)
    json_attacks (b, r);
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

static char *
cpu_model (void)
{
  g_autofree char *info = NULL;
  char *model = NULL;
  if (g_file_get_contents ("/proc/cpuinfo", &info, NULL, NULL))
    {
      g_auto (GStrv) lines = g_strsplit (info, "\n", -1);
      for (char **p = lines; *p && !model; p++)
        if (g_str_has_prefix (*p, "model name") && strchr (*p, ':'))
          model = g_strstrip (g_strdup (strchr (*p, ':') + 1));
    }
  return model ? model : g_strdup ("unknown CPU");
}

/* Sections 1–3: raw GEMM, layers, penalty. */
static void
bench_engine (const BenchPlan *plan, BenchReport *rp)
{
  LqRng rng;
  lq_rng_seed (&rng, 2024);
  const int B = BENCH_BATCH;

  /* 1. raw GEMM: its samples are taken paired with the layer samples below */
  GemmCtx gc = gemm_ctx_init (&rng);
  g_autoptr (GArray) gemm_t = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) own_t = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) engine_t = g_array_new (FALSE, FALSE, sizeof (double));
  time_own_vs_engine (plan, &gc, own_t, engine_t);

  /* 2. layers of the paper's LQ-VAE */
  LqVaeConfig cfg = lq_vae_config_paper ();
  g_autoptr (LqVae) vae = lq_vae_new (&cfg, FALSE, 1);
  LqNet *enc = lq_vae_encoder (vae), *dec = lq_vae_decoder (vae);
  float *xin = lq_floats_new ((size_t) B * LQ_IMAGE_SIZE);
  fill_uniform (&rng, xin, (size_t) B * LQ_IMAGE_SIZE, -1.0f, 1.0f);
  float *codes = lq_floats_new ((size_t) B * cfg.latent);
  for (size_t i = 0; i < (size_t) B * cfg.latent; i++)
    codes[i] = lq_rng_uniform (&rng) < 0.5 ? -1.0f : 1.0f;
  g_autoptr (GArray) timers = g_array_new (FALSE, FALSE, sizeof (PassTimer));
  net_pass_timers (plan, "encoder", enc, xin, &rng, rp->layers, timers, &rp->other_s[0]);
  net_pass_timers (plan, "decoder", dec, codes, &rng, rp->layers, timers, &rp->other_s[1]);
  time_passes (plan, timers, &gc, gemm_t, rp->layers);
  lq_net_zero_grad (enc);
  lq_net_zero_grad (dec);
  rp->gemm_s = median ((double *) gemm_t->data, (int) gemm_t->len);
  time_own_vs_engine (plan, &gc, own_t, engine_t);
  double own_over_engine;
  own_vs_engine_medians (own_t, engine_t, &rp->blas_gemm_s, &rp->engine_gemm_s, &own_over_engine);
  if (own_over_engine < 1.0) /* OpenBLAS's threads were faster: compare the layers with them */
    {
      rp->gemm_s *= own_over_engine;
      for (guint i = 0; i < rp->layers->len; i++)
        for (int p = 0; p < N_PASSES; p++)
          g_array_index (rp->layers, LayerResult, i).ratio[p] *= own_over_engine;
    }
  gemm_ctx_clear (&gc);

  /* 3. penalty vs encoder forward + backward */
  {
    PenaltyCtx pc = { .net = enc, .x = xin, .batch = B };
    const size_t out = lq_net_out_size (enc);
    float *u = lq_floats_new (out);
    for (int j = 0; j < cfg.latent; j++)
      u[j] = 1.0f;
    pc.u = u;
    pc.dy = lq_floats_new ((size_t) B * out);
    fill_uniform (&rng, pc.dy, (size_t) B * out, -1.0f, 1.0f);
    lq_net_set_training (enc, TRUE);
    /* The penalty reuses the forward's buffers, as in training: each penalty sample follows a
     * forward + backward sample on the same batch. */
    encoder_fwd_bwd_run (&pc);
    time_paired (plan, penalty_run, &pc, encoder_fwd_bwd_run, &pc, &rp->penalty_s, &rp->enc_fwd_bwd_s,
                 &rp->penalty_ratio);
    lq_floats_free (u);
    lq_floats_free (pc.dy);
  }
  lq_floats_free (xin);
  lq_floats_free (codes);
}

/* Section 4: training steps on synthetic images (the step's cost does not depend on the pixels). */
static void
bench_steps (const BenchPlan *plan, BenchReport *rp)
{
  LqRng rng;
  lq_rng_seed (&rng, 2025);
  const int B = BENCH_BATCH;
  {
    const int n = 8 * B;
    LqDataset ds = { .kind = LQ_DATA_MNIST, .split = LQ_SPLIT_TRAIN, .n = n };
    ds.images = lq_floats_new ((size_t) n * LQ_IMAGE_SIZE);
    ds.labels = g_new (guint8, n);
    fill_uniform (&rng, ds.images, (size_t) n * LQ_IMAGE_SIZE, 0.0f, 1.0f);
    for (int i = 0; i < n; i++)
      ds.labels[i] = (guint8) lq_rng_below (&rng, LQ_N_CLASSES);

    LqVaeTrainConfig tc = lq_vae_train_config_default (LQ_DATA_MNIST);
    tc.batch = B;
    VaeStepCtx vc = { .t = lq_vae_trainer_new (&tc, &ds) };
    BenchPlan sp = { .samples = plan->samples, .min_sample_s = 0.0, .quick = plan->quick };
    /* How much of the machine the step uses: its products' flops (counted, not modelled) per
     * second against raw GEMM's, each step sample paired with a raw-GEMM sample. */
    const guint64 f0 = lq_gemm_flops_done ();
    vae_step_run (&vc);
    rp->vae_step_gflop = (double) (lq_gemm_flops_done () - f0) / 1e9;
    GemmCtx gc = gemm_ctx_init (&rng);
    double step_over_gemm;
    time_paired (&sp, vae_step_run, &vc, gemm_run, &gc, &rp->vae_step_s, &rp->vae_step_raw_s,
                 &step_over_gemm);
    rp->vae_step_raw_frac = rp->vae_step_gflop / (GEMM_FLOP / 1e9) / step_over_gemm;
    gemm_ctx_clear (&gc);
    lq_vae_trainer_free (vc.t);

    ClassifierStepCtx cc = { .net = lq_classifier_new (LQ_ARCH_A), .batch = B };
    lq_net_init (cc.net, &rng);
    lq_net_seed (cc.net, 1);
    lq_net_set_training (cc.net, TRUE);
    LqOptimConfig oc = lq_optim_defaults (LQ_OPTIM_ADAM, 1e-3f);
    cc.opt = lq_optim_new (&oc, cc.net);
    cc.x = ds.images;
    cc.labels = ds.labels;
    cc.dlogits = lq_floats_new ((size_t) B * LQ_N_CLASSES);
    cc.probs = lq_floats_new ((size_t) B * LQ_N_CLASSES);
    rp->clf_step_s = time_median (&sp, classifier_step_run, &cc);
    lq_optim_free (cc.opt);
    lq_net_free (cc.net);
    lq_floats_free (cc.dlogits);
    lq_floats_free (cc.probs);
    lq_floats_free (ds.images);
    g_free (ds.labels);
  }
}

int
lq_cmd_bench (int argc, char **argv)
{
  gboolean json = FALSE, quick = FALSE, attacks_only = FALSE, steps_only = FALSE;
  int threads = 0;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the figures as JSON", NULL },
    { "quick", 0, 0, G_OPTION_ARG_NONE, &quick, "Fewer repetitions and smaller attack batches (CI)",
      NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads,
      "Engine threads (default: the number of cores; OpenBLAS itself runs on one)", "N" },
    { "attacks", 0, 0, G_OPTION_ARG_NONE, &attacks_only, "Measure the attacks only", NULL },
    { "steps", 0, 0, G_OPTION_ARG_NONE, &steps_only, "Measure the training steps only", NULL },
    { NULL },
  };
  if (!lq_cli_parse (&argc, &argv, entries,
                     "Measures raw GEMM, every LQ-VAE layer at batch 64, the gradient penalty,\n"
                     "training steps and attacks, in one run (medians; ratios within the run)."))
    return 2;
  if (attacks_only && steps_only)
    {
      fprintf (stderr, "lq: --attacks and --steps exclude each other\n");
      return 2;
    }
  if (threads < 0)
    {
      fprintf (stderr, "lq: --threads must be positive\n");
      return 2;
    }

  /* The thread count is decided here, not by the environment, so runs compare. */
  BenchReport r = { .quick = quick, .attacks_only = attacks_only, .steps_only = steps_only };
  r.cores = (int) g_get_num_processors ();
  r.threads = threads > 0 ? threads : r.cores;
  lq_gemm_set_threads (r.threads);
  r.cpu = cpu_model ();
  r.blas_config = g_strstrip (g_strdup (openblas_get_config ()));
  BenchPlan plan = { .samples = quick ? 3 : 9, .min_sample_s = quick ? 0.005 : 0.04,
                     .quick = quick, .attacks_only = attacks_only, .steps_only = steps_only };
  r.samples = plan.samples;
  r.layers = g_array_new (FALSE, TRUE, sizeof (LayerResult));
  g_array_set_clear_func (r.layers, layer_result_clear);
  r.attacks = g_array_new (FALSE, TRUE, sizeof (AttackResult));
  g_array_set_clear_func (r.attacks, attack_result_clear);

  if (!attacks_only && !steps_only)
    bench_engine (&plan, &r);
  if (!attacks_only)
    bench_steps (&plan, &r);

  /* 5. attacks */
  if (!steps_only)
    bench_attacks (&plan, r.attacks, &r.attack_trained, &r.attack_classifier, &r.attack_data);

  if (json)
    print_json (&r);
  else
    print_text (&r);

  g_array_unref (r.layers);
  g_array_unref (r.attacks);
  g_free (r.cpu);
  g_free (r.blas_config);
  g_free (r.attack_classifier);
  g_free (r.attack_data);
  return 0;
}

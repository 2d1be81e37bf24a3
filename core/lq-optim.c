/* lq-optim.c: SGD with momentum, Adam and the two RMSProps. */
#include "lq-optim.h"
#include "lq-error.h"
#include "lq-parallel.h"
#include <string.h>
#include <math.h>

struct _LqOptim {
  LqOptimConfig cfg;
  LqNet *net;          /* borrowed */
  guint64 t;           /* steps taken */
  GPtrArray *state;    /* LqTensor*: one or two slots per parameter */
  GPtrArray *names;
  int slots;
};

LqOptimConfig
lq_optim_defaults (LqOptimKind kind, float lr)
{
  LqOptimConfig c = { .kind = kind, .lr = lr };
  switch (kind)
    {
    case LQ_OPTIM_SGD: c.momentum = 0.9f; break;
    case LQ_OPTIM_ADAM: c.beta1 = 0.9f, c.beta2 = 0.999f, c.eps = 1e-8f; break;
    case LQ_OPTIM_RMSPROP_TF: c.beta2 = 0.9f, c.eps = 1e-10f; break;
    case LQ_OPTIM_RMSPROP_TORCH: c.beta2 = 0.99f, c.eps = 1e-8f; break;
    }
  return c;
}

LqOptim *
lq_optim_new (const LqOptimConfig *config, LqNet *net)
{
  static const char *slot_names[][2] = {
    [LQ_OPTIM_SGD] = { "momentum", NULL },
    [LQ_OPTIM_ADAM] = { "exp_avg", "exp_avg_sq" },
    [LQ_OPTIM_RMSPROP_TF] = { "rms", NULL },
    [LQ_OPTIM_RMSPROP_TORCH] = { "square_avg", NULL },
  };
  LqOptim *o = g_new0 (LqOptim, 1);
  o->cfg = *config;
  o->net = net;
  o->slots = config->kind == LQ_OPTIM_ADAM ? 2 : 1;
  o->state = g_ptr_array_new_with_free_func ((GDestroyNotify) lq_tensor_free);
  o->names = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < lq_net_n_params (net); i++)
    {
      LqParam *p = lq_net_param (net, i);
      for (int s = 0; s < o->slots; s++)
        {
          LqTensor *t = lq_tensor_new (p->value->ndim, p->value->shape);
          if (config->kind == LQ_OPTIM_RMSPROP_TF)
            for (size_t k = 0; k < t->numel; k++)
              t->data[k] = 1.0f;
          g_ptr_array_add (o->state, t);
          g_ptr_array_add (o->names, g_strdup_printf ("%s.%s", p->name, slot_names[config->kind][s]));
        }
    }
  return o;
}

void
lq_optim_free (LqOptim *o)
{
  if (o == NULL)
    return;
  g_ptr_array_unref (o->state);
  g_ptr_array_unref (o->names);
  g_free (o);
}

/* The update of elements [lo, hi) of parameter i with gradient g (+ g2 when not NULL). */
static void
update (LqOptim *o, int i, const float *g2, size_t lo, size_t hi)
{
  /* A local copy: the compiler then knows the weight stores cannot change it, and the loops
   * vectorize (with -fno-math-errno, sqrtf is one instruction; results are bit-identical). */
  const LqOptimConfig cfg = o->cfg, *c = &cfg;
  const guint64 t = o->t;
  LqParam *p = lq_net_param (o->net, i);
  float *w = p->value->data + lo;
  const float *g1 = p->grad->data + lo;
  float *s0 = ((LqTensor *) g_ptr_array_index (o->state, i * o->slots))->data + lo;
  const size_t n = hi - lo;
  const double bc1 = 1.0 - pow (c->beta1, (double) t), bc2 = 1.0 - pow (c->beta2, (double) t);
  float gs[256];
  for (size_t k0 = 0; k0 < n; k0 += G_N_ELEMENTS (gs))
    {
      /* The summed gradient, a block at a time, so the loops below stay one shape. */
      const size_t m = MIN (G_N_ELEMENTS (gs), n - k0);
      const float *g = g1 + k0;
      if (g2)
        {
          for (size_t k = 0; k < m; k++)
            gs[k] = g1[k0 + k] + g2[lo + k0 + k];
          g = gs;
        }
      float *wk = w + k0, *s = s0 + k0;
      switch (c->kind)
        {
        case LQ_OPTIM_SGD:
          for (size_t k = 0; k < m; k++)
            {
              s[k] = (t == 1) ? g[k] : c->momentum * s[k] + g[k];
              wk[k] -= c->lr * s[k];
            }
          break;
        case LQ_OPTIM_ADAM:
          {
            float *s1 = ((LqTensor *) g_ptr_array_index (o->state, i * o->slots + 1))->data + lo + k0;
            const float step = (float) (c->lr / bc1);
            const float rbc2 = (float) sqrt (bc2);
            for (size_t k = 0; k < m; k++)
              {
                s[k] = c->beta1 * s[k] + (1.0f - c->beta1) * g[k];
                s1[k] = c->beta2 * s1[k] + (1.0f - c->beta2) * g[k] * g[k];
                wk[k] -= step * s[k] / (sqrtf (s1[k]) / rbc2 + c->eps);
              }
          }
          break;
        case LQ_OPTIM_RMSPROP_TF:
          for (size_t k = 0; k < m; k++)
            {
              s[k] = c->beta2 * s[k] + (1.0f - c->beta2) * g[k] * g[k];
              wk[k] -= c->lr * g[k] / sqrtf (s[k] + c->eps);
            }
          break;
        case LQ_OPTIM_RMSPROP_TORCH:
          for (size_t k = 0; k < m; k++)
            {
              s[k] = c->beta2 * s[k] + (1.0f - c->beta2) * g[k] * g[k];
              wk[k] -= c->lr * g[k] / (sqrtf (s[k]) + c->eps);
            }
          break;
        }
    }
}

#define LQ_OPTIM_PARALLEL_MIN (1 << 18) /* parameter floats */

typedef struct {
  LqOptim *o;
  LqNet *other;
} StepJob;

/* Part `part` of every parameter: the update is elementwise, so any cut gives the same bits. */
static void
step_part (int part, int parts, void *data)
{
  StepJob *j = data;
  for (int i = 0; i < lq_net_n_params (j->o->net); i++)
    {
      const size_t n = lq_net_param (j->o->net, i)->value->numel;
      const size_t lo = n * part / parts, hi = n * (part + 1) / parts;
      update (j->o, i, j->other ? lq_net_param (j->other, i)->grad->data : NULL, lo, hi);
    }
}

static void
step_with (LqOptim *o, LqNet *other)
{
  o->t++;
  StepJob j = { o, other };
  /* Small nets in one part: waking a helper costs more than their update. */
  const int parts = lq_net_n_weights (o->net) >= LQ_OPTIM_PARALLEL_MIN ? lq_parallel_parts (LQ_PARALLEL_MAX) : 1;
  lq_parallel_run (parts, step_part, &j);
}

void
lq_optim_step (LqOptim *o)
{
  step_with (o, NULL);
}

void
lq_optim_step_summed (LqOptim *o, LqNet *other)
{
  g_return_if_fail (lq_net_n_params (other) == lq_net_n_params (o->net));
  step_with (o, other);
}

void
lq_optim_set_lr (LqOptim *o, float lr)
{
  o->cfg.lr = lr;
}

float
lq_optim_get_lr (const LqOptim *o)
{
  return o->cfg.lr;
}

guint64
lq_optim_steps (const LqOptim *o)
{
  return o->t;
}

void
lq_optim_set_steps (LqOptim *o, guint64 steps)
{
  o->t = steps;
}

int
lq_optim_n_state (const LqOptim *o)
{
  return (int) o->state->len;
}

LqTensor *
lq_optim_state (LqOptim *o, int i, const char **name)
{
  if (name)
    *name = g_ptr_array_index (o->names, i);
  return g_ptr_array_index (o->state, i);
}

void
lq_optim_collect_state (LqOptim *o, const char *prefix, GPtrArray *names, GPtrArray *tensors)
{
  for (int i = 0; i < lq_optim_n_state (o); i++)
    {
      const char *name;
      LqTensor *s = lq_optim_state (o, i, &name);
      g_ptr_array_add (names, g_strconcat (prefix, name, NULL));
      g_ptr_array_add (tensors, s);
    }
}

gboolean
lq_optim_load_state (LqOptim *o, const LqSafetensors *st, const char *prefix, GError **error)
{
  for (int i = 0; i < lq_optim_n_state (o); i++)
    {
      const char *name;
      LqTensor *s = lq_optim_state (o, i, &name);
      g_autofree char *full = g_strconcat (prefix, name, NULL);
      LqTensor *src = lq_safetensors_get (st, full);
      if (src == NULL || !lq_tensor_same_shape (src, s))
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "checkpoint lacks optimizer state %s", full);
          return FALSE;
        }
      memcpy (s->data, src->data, s->numel * sizeof (float));
    }
  return TRUE;
}

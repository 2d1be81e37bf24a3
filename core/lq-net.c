/* lq-net.c: the layer chain, its buffers and double backprop. */
#include "lq-net.h"
#include "lq-error.h"
#include <string.h>

struct _LqNet {
  GPtrArray *layers;   /* LqLayer*, owned */
  GPtrArray *params;   /* LqParam*, borrowed from the layers */
  int in[3];
  int batch;           /* batch of the last forward */
  /* acts[0] = input copy, acts[i+1] = output of layer i; grads[i+1] = ∂/∂ output of layer i. */
  float **acts, **grads;
  size_t *act_cap, *grad_cap;
  float *tan_a, *tan_b; /* tangent ping-pong buffers */
  size_t tan_a_cap, tan_b_cap;
  float *stk_a, *stk_b; /* lq_net_backward_stacked's ping-pong buffers */
  size_t stk_a_cap, stk_b_cap;
  gboolean have_backward;
  gboolean borrows_values; /* parameter values are another net's (lq_net_share_values) */
};

LqNet *
lq_net_new (int c, int h, int w)
{
  LqNet *net = g_new0 (LqNet, 1);
  net->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) lq_layer_free);
  net->params = g_ptr_array_new ();
  net->in[0] = c, net->in[1] = h, net->in[2] = w;
  return net;
}

static void
free_buffers (LqNet *net)
{
  for (guint i = 0; net->acts && i <= net->layers->len; i++)
    {
      lq_floats_free (net->acts[i]);
      lq_floats_free (net->grads[i]);
    }
  g_clear_pointer (&net->acts, g_free);
  g_clear_pointer (&net->grads, g_free);
  g_clear_pointer (&net->act_cap, g_free);
  g_clear_pointer (&net->grad_cap, g_free);
}

void
lq_net_free (LqNet *net)
{
  if (net == NULL)
    return;
  free_buffers (net);
  lq_floats_free (net->tan_a);
  lq_floats_free (net->tan_b);
  lq_floats_free (net->stk_a);
  lq_floats_free (net->stk_b);
  for (guint i = 0; net->borrows_values && i < net->params->len; i++)
    ((LqParam *) g_ptr_array_index (net->params, i))->value->data = NULL;
  g_ptr_array_unref (net->params);
  g_ptr_array_unref (net->layers);
  g_free (net);
}

void
lq_net_in_shape (const LqNet *net, int shape[3])
{
  memcpy (shape, net->in, sizeof net->in);
}

void
lq_net_out_shape (const LqNet *net, int shape[3])
{
  if (net->layers->len == 0)
    memcpy (shape, net->in, sizeof net->in);
  else
    memcpy (shape, ((LqLayer *) g_ptr_array_index (net->layers, net->layers->len - 1))->out,
            3 * sizeof (int));
}

size_t
lq_net_in_size (const LqNet *net)
{
  return (size_t) net->in[0] * net->in[1] * net->in[2];
}

size_t
lq_net_out_size (const LqNet *net)
{
  int s[3];
  lq_net_out_shape (net, s);
  return (size_t) s[0] * s[1] * s[2];
}

gboolean
lq_net_add (LqNet *net, LqLayer *layer, GError **error)
{
  int in[3];
  lq_net_out_shape (net, in);
  memcpy (layer->in, in, sizeof in);
  if (!layer->klass->infer (layer, in, layer->out, error))
    {
      lq_layer_free (layer);
      return FALSE;
    }
  layer->in_size = (size_t) in[0] * in[1] * in[2];
  layer->out_size = (size_t) layer->out[0] * layer->out[1] * layer->out[2];
  free_buffers (net); /* their count depends on the number of layers */
  g_ptr_array_add (net->layers, layer);
  for (int i = 0; i < layer->n_params; i++)
    g_ptr_array_add (net->params, &layer->params[i]);
  return TRUE;
}

void
lq_net_init (LqNet *net, LqRng *rng)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      LqLayer *l = g_ptr_array_index (net->layers, i);
      if (l->klass->init)
        l->klass->init (l, rng);
    }
}

void
lq_net_seed (LqNet *net, guint64 seed)
{
  for (guint i = 0; i < net->layers->len; i++)
    lq_rng_seed (&((LqLayer *) g_ptr_array_index (net->layers, i))->rng, seed * 1000003u + i);
}

void
lq_net_set_training (LqNet *net, gboolean training)
{
  for (guint i = 0; i < net->layers->len; i++)
    ((LqLayer *) g_ptr_array_index (net->layers, i))->training = training;
}

int
lq_net_batch (const LqNet *net)
{
  return net->batch;
}

int
lq_net_n_layers (const LqNet *net)
{
  return (int) net->layers->len;
}

LqLayer *
lq_net_layer (LqNet *net, int i)
{
  return g_ptr_array_index (net->layers, i);
}

int
lq_net_n_params (const LqNet *net)
{
  return (int) net->params->len;
}

LqParam *
lq_net_param (LqNet *net, int i)
{
  return g_ptr_array_index (net->params, i);
}

LqParam *
lq_net_find_param (LqNet *net, const char *name)
{
  for (guint i = 0; i < net->params->len; i++)
    {
      LqParam *p = g_ptr_array_index (net->params, i);
      if (strcmp (p->name, name) == 0)
        return p;
    }
  return NULL;
}

size_t
lq_net_n_weights (const LqNet *net)
{
  size_t n = 0;
  for (guint i = 0; i < net->params->len; i++)
    n += ((LqParam *) g_ptr_array_index (net->params, i))->value->numel;
  return n;
}

gboolean
lq_net_share_values (LqNet *replica, LqNet *source, GError **error)
{
  gboolean same = replica->params->len == source->params->len && !replica->borrows_values;
  for (guint i = 0; same && i < replica->params->len; i++)
    {
      LqParam *r = g_ptr_array_index (replica->params, i), *s = g_ptr_array_index (source->params, i);
      same = strcmp (r->name, s->name) == 0 && lq_tensor_same_shape (r->value, s->value);
    }
  if (!same)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "a net can only share the parameters of a net of its own architecture");
      return FALSE;
    }
  for (guint i = 0; i < replica->params->len; i++)
    {
      LqParam *r = g_ptr_array_index (replica->params, i), *s = g_ptr_array_index (source->params, i);
      lq_floats_free (r->value->data);
      r->value->data = s->value->data;
    }
  replica->borrows_values = TRUE;
  return TRUE;
}

void
lq_net_zero_grad (LqNet *net)
{
  for (guint i = 0; i < net->params->len; i++)
    lq_tensor_zero (((LqParam *) g_ptr_array_index (net->params, i))->grad);
}

static size_t
buffer_size (LqNet *net, int i) /* per sample, i = 0 is the input */
{
  return i == 0 ? lq_net_in_size (net)
                : ((LqLayer *) g_ptr_array_index (net->layers, i - 1))->out_size;
}

static void
ensure_buffers (LqNet *net, int batch)
{
  guint n = net->layers->len + 1;
  if (net->acts == NULL)
    {
      net->acts = g_new0 (float *, n);
      net->grads = g_new0 (float *, n);
      net->act_cap = g_new0 (size_t, n);
      net->grad_cap = g_new0 (size_t, n);
    }
  for (guint i = 0; i < n; i++)
    {
      lq_floats_reserve (&net->acts[i], &net->act_cap[i], (size_t) batch * buffer_size (net, i));
      lq_floats_reserve (&net->grads[i], &net->grad_cap[i], (size_t) batch * buffer_size (net, i));
    }
}

const float *
lq_net_forward (LqNet *net, const float *x, int batch)
{
  g_return_val_if_fail (batch > 0, NULL);
  ensure_buffers (net, batch);
  net->batch = batch;
  net->have_backward = FALSE;
  memcpy (net->acts[0], x, (size_t) batch * lq_net_in_size (net) * sizeof (float));
  for (guint i = 0; i < net->layers->len; i++)
    {
      LqLayer *l = g_ptr_array_index (net->layers, i);
      l->klass->forward (l, net->acts[i + 1], net->acts[i], batch);
    }
  return net->acts[net->layers->len];
}

const float *
lq_net_activation (LqNet *net, int i)
{
  return net->acts[i + 1];
}

void
lq_net_backward (LqNet *net, const float *dy, float *dx, gboolean params)
{
  const int L = (int) net->layers->len, batch = net->batch;
  g_return_if_fail (batch > 0);
  memcpy (net->grads[L], dy, (size_t) batch * buffer_size (net, L) * sizeof (float));
  for (int i = L - 1; i >= 0; i--)
    {
      LqLayer *l = g_ptr_array_index (net->layers, i);
      float *gin = (i == 0 && dx == NULL) ? NULL : net->grads[i];
      l->klass->backward (l, gin, net->grads[i + 1], net->acts[i], net->acts[i + 1], batch, params);
    }
  if (dx)
    memcpy (dx, net->grads[0], (size_t) batch * lq_net_in_size (net) * sizeof (float));
  net->have_backward = dx != NULL;
}

/* Stacked backwards of R cotangents use two buffers of R·batch rows beside the net's own; past
 * this many floats (8 MiB) a buffer holds fewer cotangents, and when it would hold one the net's
 * own backward is used. Only the rows of one sample share their ReLU masks (what stacking is
 * for, and they are adjacent only for one sample), so a batch loses nothing by this: DeepFool
 * at lq eval's batch of 100 would otherwise hold 2 × 60 MB more on classifier A. */
#define LQ_STACKED_MAX_FLOATS ((size_t) 2 << 20)

void
lq_net_backward_stacked (LqNet *net, int R, const float *dy, float *dx)
{
  const int L = (int) net->layers->len, batch = net->batch;
  g_return_if_fail (batch > 0 && R > 0 && dx != NULL);
  size_t maxsz = 0;
  for (int i = 0; i <= L; i++)
    maxsz = MAX (maxsz, buffer_size (net, i));
  const int step = (int) CLAMP (LQ_STACKED_MAX_FLOATS / ((size_t) batch * maxsz), 1, (size_t) R);
  const size_t in = lq_net_in_size (net), out = buffer_size (net, L);
  if (step == 1) /* one at a time: the net's own buffers will do */
    {
      for (int r = 0; r < R; r++)
        lq_net_backward (net, dy + (size_t) r * batch * out, dx + (size_t) r * batch * in, FALSE);
      net->have_backward = FALSE;
      return;
    }
  float *a = lq_floats_reserve (&net->stk_a, &net->stk_a_cap, (size_t) step * batch * maxsz);
  float *b = lq_floats_reserve (&net->stk_b, &net->stk_b_cap, (size_t) step * batch * maxsz);
  for (int r0 = 0; r0 < R; r0 += step)
    {
      const int Rc = MIN (step, R - r0);
      const size_t rows = (size_t) Rc * batch;
      float *p = a, *q = b;
      memcpy (p, dy + (size_t) r0 * batch * out, rows * out * sizeof (float));
      for (int i = L - 1; i >= 0; i--)
        {
          LqLayer *l = g_ptr_array_index (net->layers, i);
          if (l->n_params > 0) /* linear in its input: x and y are not read without params */
            l->klass->backward (l, q, p, net->acts[i], net->acts[i + 1], (int) rows, FALSE);
          else
            for (int r = 0; r < Rc; r++)
              l->klass->backward (l, q + (size_t) r * batch * l->in_size,
                                  p + (size_t) r * batch * l->out_size, net->acts[i],
                                  net->acts[i + 1], batch, FALSE);
          float *t = p;
          p = q, q = t;
        }
      memcpy (dx + (size_t) r0 * batch * in, p, rows * in * sizeof (float));
    }
  net->have_backward = FALSE;
}

gboolean
lq_net_double_backward (LqNet *net, const float *v, GError **error)
{
  const int L = (int) net->layers->len, batch = net->batch;
  if (!net->have_backward)
    {
      g_set_error (error, LQ_ERROR, LQ_ERROR_INVALID_ARGUMENT,
                   "double backward needs a forward and an input-gradient backward first");
      return FALSE;
    }
  size_t maxsz = 0;
  for (int i = 0; i <= L; i++)
    maxsz = MAX (maxsz, buffer_size (net, i));
  for (int i = 0; i < L; i++)
    {
      LqLayer *l = g_ptr_array_index (net->layers, i);
      if (l->klass->tangent == NULL || l->klass->weight_grad == NULL)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_UNSUPPORTED,
                       "double backprop needs a piecewise-linear net; layer %d is %s", i,
                       l->klass->kind);
          return FALSE;
        }
    }
  float *ra = lq_floats_reserve (&net->tan_a, &net->tan_a_cap, (size_t) batch * maxsz);
  float *rb = lq_floats_reserve (&net->tan_b, &net->tan_b_cap, (size_t) batch * maxsz);
  memcpy (ra, v, (size_t) batch * lq_net_in_size (net) * sizeof (float));
  /* ⟨v, Jᵀu⟩ = ⟨J v, u⟩: push the tangent r forward; layer i's weight sees r as its input and the
   * u-cotangent at its output, exactly as in an ordinary weight gradient. */
  for (int i = 0; i < L; i++)
    {
      LqLayer *l = g_ptr_array_index (net->layers, i);
      if (l->n_params > 0)
        l->klass->weight_grad (l, ra, net->grads[i + 1], batch);
      if (i + 1 < L)
        {
          l->klass->tangent (l, rb, ra, net->acts[i], net->acts[i + 1], batch);
          float *t = ra;
          ra = rb, rb = t;
        }
    }
  return TRUE;
}

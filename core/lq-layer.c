/* lq-layer.c: what all layers share. */
#include "lq-layer.h"
#include <math.h>

LqParam *
lq_layer_add_param (LqLayer *l, const char *suffix, int ndim, const int *shape)
{
  g_assert (l->n_params < (int) G_N_ELEMENTS (l->params));
  LqParam *p = &l->params[l->n_params++];
  p->name = g_strdup_printf ("%s.%s", l->name, suffix);
  p->value = lq_tensor_new (ndim, shape);
  p->grad = lq_tensor_new (ndim, shape);
  return p;
}

void
lq_layer_free (LqLayer *l)
{
  if (l == NULL)
    return;
  for (int i = 0; i < l->n_params; i++)
    {
      g_free (l->params[i].name);
      lq_tensor_free (l->params[i].value);
      lq_tensor_free (l->params[i].grad);
    }
  g_free (l->name);
  if (l->klass->finalize)
    l->klass->finalize (l);
  g_free (l);
}

void
lq_layer_init_fan_in (LqLayer *l, LqRng *rng, double fan_in)
{
  double bound = 1.0 / sqrt (fan_in);
  for (int p = 0; p < l->n_params; p++)
    for (size_t i = 0; i < l->params[p].value->numel; i++)
      l->params[p].value->data[i] = (float) ((2.0 * lq_rng_uniform (rng) - 1.0) * bound);
}

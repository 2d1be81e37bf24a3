/* lq-net-io.c: a net's parameters to and from safetensors files. */
#include "lq-net-io.h"
#include "lq-error.h"
#include <string.h>

gboolean
lq_net_load_from (LqNet *net, const LqSafetensors *st, const char *prefix, GError **error)
{
  if (prefix == NULL)
    prefix = "";
  gsize plen = strlen (prefix);
  int np = lq_net_n_params (net);

  /* Everything is checked before anything is copied, so a bad file leaves the net as it was. */
  g_autofree LqTensor **src = g_new0 (LqTensor *, MAX (np, 1));
  for (int i = 0; i < np; i++)
    {
      LqParam *p = lq_net_param (net, i);
      g_autofree char *full = g_strconcat (prefix, p->name, NULL);
      LqTensor *t = lq_safetensors_get (st, full);
      if (t == NULL)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "the weights lack parameter '%s'", full);
          return FALSE;
        }
      if (!lq_tensor_same_shape (t, p->value))
        {
          g_autofree char *have = lq_tensor_shape_string (t);
          g_autofree char *want = lq_tensor_shape_string (p->value);
          g_set_error (error, LQ_ERROR, LQ_ERROR_SHAPE,
                       "parameter '%s' has shape %s in the weights but %s in the network", full,
                       have, want);
          return FALSE;
        }
      if (!lq_tensor_all_finite (t))
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT, "parameter '%s' holds NaN or Inf", full);
          return FALSE;
        }
      src[i] = t;
    }
  for (int i = 0; i < lq_safetensors_n_tensors (st); i++)
    {
      const char *name = lq_safetensors_name (st, i);
      if (strncmp (name, prefix, plen) != 0)
        continue;
      if (lq_net_find_param (net, name + plen) == NULL)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                       "the weights hold '%s', which this network does not have", name);
          return FALSE;
        }
    }
  for (int i = 0; i < np; i++)
    {
      LqParam *p = lq_net_param (net, i);
      memcpy (p->value->data, src[i]->data, p->value->numel * sizeof (float));
    }
  return TRUE;
}

gboolean
lq_net_load (LqNet *net, const char *path, const char *expect_arch, GError **error)
{
  g_autoptr (LqSafetensors) st = lq_safetensors_load (path, error);
  if (st == NULL)
    return FALSE;
  if (expect_arch)
    {
      const char *arch = lq_safetensors_metadata (st, "arch");
      if (arch == NULL || strcmp (arch, expect_arch) != 0)
        {
          g_set_error (error, LQ_ERROR, LQ_ERROR_FORMAT,
                       "%s: holds weights for architecture '%s', not '%s'", path,
                       arch ? arch : "(none)", expect_arch);
          return FALSE;
        }
    }
  if (!lq_net_load_from (net, st, NULL, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  return TRUE;
}

void
lq_net_collect (LqNet *net, const char *prefix, GPtrArray *names, GPtrArray *tensors)
{
  for (int i = 0; i < lq_net_n_params (net); i++)
    {
      LqParam *p = lq_net_param (net, i);
      g_ptr_array_add (names, g_strconcat (prefix ? prefix : "", p->name, NULL));
      g_ptr_array_add (tensors, p->value);
    }
}

gboolean
lq_net_save (LqNet *net, const char *path, GHashTable *metadata, LqDType dtype, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors = g_ptr_array_new ();
  lq_net_collect (net, NULL, names, tensors);
  return lq_safetensors_save (path, (int) names->len, (const char *const *) names->pdata,
                              (LqTensor *const *) tensors->pdata, metadata, dtype, error);
}

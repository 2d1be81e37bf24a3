/* lq-net-io.h: a net's parameters to and from safetensors files, under PyTorch state_dict names. */
#pragma once
#include <glib.h>
#include "lq-net.h"
#include "lq-safetensors.h"

G_BEGIN_DECLS

/* Copies every parameter "<prefix><name>" from st into net. Fails (net unchanged) when a parameter
 * is missing, has another shape, or holds NaN/Inf. Names in st outside the prefix are ignored;
 * names inside it that the net does not have are an error. prefix may be NULL or "". */
gboolean lq_net_load_from (LqNet *net, const LqSafetensors *st, const char *prefix, GError **error);
/* Loads a file holding exactly this net's parameters (and checks metadata "arch" when
 * expect_arch is not NULL). */
gboolean lq_net_load (LqNet *net, const char *path, const char *expect_arch, GError **error);
/* Saves the parameters (metadata may be NULL). */
gboolean lq_net_save (LqNet *net, const char *path, GHashTable *metadata, LqDType dtype,
                      GError **error);

/* Adds the net's parameters with a name prefix to (names, tensors) arrays, for files holding
 * several nets (names are newly allocated strings, tensors borrowed). */
void     lq_net_collect (LqNet *net, const char *prefix, GPtrArray *names, GPtrArray *tensors);

G_END_DECLS

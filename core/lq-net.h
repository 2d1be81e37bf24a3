/* lq-net.h: a chain of layers that owns its parameters (PyTorch names and layouts) and the
 * activation and gradient buffers of the last batch.
 *
 * Not thread-safe: a net holds the buffers of its last pass; use one net per thread.
 */
#pragma once
#include <glib.h>
#include "lq-layer.h"

G_BEGIN_DECLS

typedef struct _LqNet LqNet;

LqNet   *lq_net_new (int c, int h, int w);
void     lq_net_free (LqNet *net);
/* Appends a layer (the net takes it, also on failure) and infers its shapes. */
gboolean lq_net_add (LqNet *net, LqLayer *layer, GError **error);
/* Initialises every parameter as PyTorch's default init would, from rng. */
void     lq_net_init (LqNet *net, LqRng *rng);
/* Seeds the stochastic layers (dropout), each from its own stream derived from seed. */
void     lq_net_seed (LqNet *net, guint64 seed);
void     lq_net_set_training (LqNet *net, gboolean training);

int      lq_net_n_layers (const LqNet *net);
LqLayer *lq_net_layer (LqNet *net, int i);
void     lq_net_in_shape (const LqNet *net, int shape[3]);
void     lq_net_out_shape (const LqNet *net, int shape[3]);
size_t   lq_net_in_size (const LqNet *net);   /* per sample */
size_t   lq_net_out_size (const LqNet *net);
int      lq_net_batch (const LqNet *net);   /* batch of the last forward */

/* Parameters, in layer order (weight then bias). */
int      lq_net_n_params (const LqNet *net);
LqParam *lq_net_param (LqNet *net, int i);
LqParam *lq_net_find_param (LqNet *net, const char *name);
size_t   lq_net_n_weights (const LqNet *net);  /* total number of parameter floats */
void     lq_net_zero_grad (LqNet *net);
/* Data parallelism: replica (a net of the same architecture) reads and writes source's parameter
 * values from now on, keeping its own buffers and gradients, so the two can run the halves of a
 * batch on two threads. source must outlive replica. Fails when the parameters differ. */
gboolean lq_net_share_values (LqNet *replica, LqNet *source, GError **error);

/* y[batch, out] for x[batch, in]; the returned buffer belongs to the net until its next forward. */
const float *lq_net_forward (LqNet *net, const float *x, int batch);
/* Backward through the last forward: dx (may be NULL) = Jᵀ dy, and parameter gradients are
 * accumulated when params is TRUE. Keeps the gradient of every layer's output for
 * lq_net_double_backward. */
void     lq_net_backward (LqNet *net, const float *dy, float *dx, gboolean params);

/* R input gradients through the last forward in one pass: dy holds R cotangents [R][batch][out],
 * dx receives [R][batch][in] (dx[r] = Jᵀ dy[r]); no parameter gradient, and no double backward
 * after it. Each weighted layer sees the R·batch rows at once (the sparse kernels of
 * lq-sparse-adjoint.h then load each weight row once for the R rows of a sample); the other
 * layers take the R blocks one by one against the forward's activations. A large batch goes
 * through a few cotangents at a time, to bound the buffers. */
void     lq_net_backward_stacked (LqNet *net, int R, const float *dy, float *dx);

/* Double backprop. After lq_net_forward (x) and lq_net_backward (u, g, …), which made g = Jᵀu,
 * accumulates ∂⟨v, g⟩/∂θ into the parameter gradients for any v of x's shape. Exact for
 * piecewise-linear nets (every layer has a tangent); fails with LQ_ERROR_UNSUPPORTED otherwise.
 * Biases get no gradient: the input-gradient of such a net does not depend on them. */
gboolean lq_net_double_backward (LqNet *net, const float *v, GError **error);

/* The last forward's output of layer i (i = -1 gives the input copy). */
const float *lq_net_activation (LqNet *net, int i);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqNet, lq_net_free)

G_END_DECLS

/* lq-attack-private.h: what lq-attack.c (dispatcher, checks, stats) shares with the attack
 * implementations. Not installed; not for callers outside core/. */
#pragma once
#include "lq-attack.h"
#include "lq-error.h"

G_BEGIN_DECLS

/* Progress of one attack call: an implementation reports done ∈ [0, units] for its chunk, the
 * monitor sees base + done out of total. */
typedef struct {
  const LqMonitor *monitor;
  guint64 base, total;
  const char *status;
} LqAttackProgress;

static inline gboolean
lq_attack_progress (const LqAttackProgress *pr, guint64 done, GError **error)
{
  return lq_monitor_step (pr->monitor, pr->base + done, pr->total, pr->status, error);
}

/* Work units of one chunk (for the progress total). */
guint64 lq_attack_units (const LqAttackParams *p);

/* Each runs on a chunk of n images (x, labels, adv of n rows), writes adv and iterations[n]
 * (never NULL). Parameters are checked; the dispatcher clips and verifies the result. */
gboolean lq_attack_gradient_run (const LqAttackParams *p, LqTarget *t, const float *x,
                                 const float *start, const guint8 *labels, int n, float *adv,
                                 int *iterations, const LqAttackProgress *pr, GError **error);
gboolean lq_attack_deepfool_run (const LqAttackParams *p, LqTarget *t, const float *x,
                                 const guint8 *labels, int n, float *adv, int *iterations,
                                 const LqAttackProgress *pr, GError **error);
gboolean lq_attack_cw_run (const LqAttackParams *p, LqTarget *t, const float *x,
                           const guint8 *labels, int n, float *adv, int *iterations,
                           const LqAttackProgress *pr, GError **error);

/* Projects adv (n rows of d) onto the eps ball of norm around x, then onto [0, 1]. Clipping to
 * [0, 1] after the projection never leaves the ball: x is in [0, 1], so each coordinate of
 * adv − x only shrinks in magnitude. */
void lq_attack_project (LqNorm norm, float eps, const float *x, float *adv, int n, size_t d);

int lq_attack_argmax (const float *z, int classes);

G_END_DECLS

/* lq-attack-gradient.c: FGSM (Goodfellow et al. 2015), iterative FGSM / BIM (Kurakin et al.
 * 2017) and PGD (Madry et al. 2018), in L∞ and L2.
 *
 * All three are the same loop on the softmax cross-entropy of the labels: `steps` steps of size
 * `step` along sign(∇) (L∞) or ∇/‖∇‖₂ (L2), each followed by the projection onto the eps ball
 * around x and onto [0, 1]. Untargeted steps ascend the loss of the true class, targeted steps
 * descend the loss of the target class.
 *   FGSM: one step of size eps from x (step and steps are ignored);
 *   BIM:  from x (no random start whatever random_start says);
 *   PGD:  from a uniform point of the eps ball when random_start (L∞: each coordinate uniform in
 *         [−eps, eps]; L2: uniform in the ball, a Gaussian direction and radius eps·u^(1/d)),
 *         clipped to [0, 1].
 * Every iterate the model sees is inside the ball and [0, 1], not only the last.
 */
#include "lq-attack-private.h"
#include "lq-loss.h"
#include "lq-rng.h"
#include "lq-tensor.h"
#include <math.h>
#include <string.h>

/* FNV-1a of the pixels mixed into the seed: the random start of an image depends on the seed
 * and the image only, not on its place in the batch. */
static guint64
image_seed (guint64 seed, const float *x, size_t d)
{
  guint64 h = 0xcbf29ce484222325ULL;
  const guint8 *b = (const guint8 *) x;
  for (size_t i = 0; i < d * sizeof (float); i++)
    h = (h ^ b[i]) * 0x100000001b3ULL;
  return seed ^ (h * 0x9e3779b97f4a7c15ULL);
}

static void
random_start (const LqAttackParams *p, const float *x, float *a, size_t d)
{
  LqRng rng;
  lq_rng_seed (&rng, image_seed (p->seed, x, d));
  if (p->norm == LQ_NORM_LINF)
    for (size_t i = 0; i < d; i++)
      a[i] = x[i] + p->eps * (float) (2.0 * lq_rng_uniform (&rng) - 1.0);
  else
    {
      double sq = 0;
      for (size_t i = 0; i < d; i++)
        {
          double g = lq_rng_normal (&rng);
          a[i] = (float) g;
          sq += g * g;
        }
      double r = p->eps * pow (lq_rng_uniform (&rng), 1.0 / (double) d);
      float scale = sq > 0 ? (float) (r / sqrt (sq)) : 0.0f;
      for (size_t i = 0; i < d; i++)
        a[i] = x[i] + a[i] * scale;
    }
}

static inline float
sgn (float v)
{
  return (float) ((v > 0.0f) - (v < 0.0f)); /* 0 for 0 and NaN */
}

gboolean
lq_attack_gradient_run (const LqAttackParams *p, LqTarget *t, const float *x, const float *start,
                        const guint8 *labels, int n, float *adv, int *iterations,
                        const LqAttackProgress *pr, GError **error)
{
  const size_t d = t->in_size;
  const int C = t->classes;
  const gboolean fgsm = p->kind == LQ_ATTACK_FGSM;
  const int steps = fgsm ? 1 : p->steps;
  const float step = fgsm ? p->eps : p->step;
  /* untargeted: ascend the loss of the true class; targeted: descend toward the target */
  const float dir = p->targeted ? -1.0f : 1.0f;

  if (!fgsm && start)
    memcpy (adv, start, (size_t) n * d * sizeof (float));
  else if (p->kind == LQ_ATTACK_PGD && p->random_start)
    for (int s = 0; s < n; s++)
      random_start (p, x + (size_t) s * d, adv + (size_t) s * d, d);
  else
    memcpy (adv, x, (size_t) n * d * sizeof (float));
  lq_attack_project (p->norm, p->eps, x, adv, n, d);

  float *logits = lq_floats_new ((size_t) n * C);    /* [n, C] */
  float *dlogits = lq_floats_new ((size_t) n * C);   /* [n, C] per-sample ∂loss/∂logits */
  float *grad = lq_floats_new ((size_t) n * d);      /* [n, d] */
  gboolean ok = TRUE;
  for (int it = 0; it < steps; it++)
    {
      if (!(ok = lq_attack_progress (pr, (guint64) it, error)))
        break;
      t->forward (t, adv, n, logits);
      lq_softmax (logits, n, C, dlogits);
      for (int s = 0; s < n; s++)
        dlogits[(size_t) s * C + labels[s]] -= 1.0f; /* softmax − onehot, not divided by n */
      t->backward (t, dlogits, grad);
      for (int s = 0; s < n; s++)
        {
          float *a = adv + (size_t) s * d;
          const float *g = grad + (size_t) s * d;
          if (p->norm == LQ_NORM_LINF)
            for (size_t i = 0; i < d; i++)
              a[i] += dir * step * sgn (g[i]);
          else
            {
              double sq = 0;
              for (size_t i = 0; i < d; i++)
                sq += (double) g[i] * g[i];
              if (!(sq > 0.0 && isfinite (sq)))
                continue; /* no direction: stay */
              float scale = dir * step / (float) sqrt (sq);
              for (size_t i = 0; i < d; i++)
                a[i] += scale * g[i];
            }
        }
      lq_attack_project (p->norm, p->eps, x, adv, n, d);
    }
  for (int s = 0; s < n; s++)
    iterations[s] = steps;
  lq_floats_free (logits);
  lq_floats_free (dlogits);
  lq_floats_free (grad);
  return ok;
}

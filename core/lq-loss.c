/* lq-loss.c: cross-entropy, MSE, Gaussian KL and the Carlini–Wagner margin. */
#include "lq-loss.h"
#include <math.h>
#include <string.h>

void
lq_softmax (const float *logits, int batch, int classes, float *probs)
{
  for (int n = 0; n < batch; n++)
    {
      const float *z = logits + (size_t) n * classes;
      float *p = probs + (size_t) n * classes;
      float mx = z[0];
      for (int k = 1; k < classes; k++)
        mx = MAX (mx, z[k]);
      double sum = 0;
      for (int k = 0; k < classes; k++)
        sum += (p[k] = expf (z[k] - mx));
      for (int k = 0; k < classes; k++)
        p[k] = (float) (p[k] / sum);
    }
}

float
lq_softmax_xent (const float *logits, const guint8 *labels, int batch, int classes,
                 float *dlogits, float *probs)
{
  double loss = 0;
  for (int n = 0; n < batch; n++)
    {
      const float *z = logits + (size_t) n * classes;
      float mx = z[0];
      for (int k = 1; k < classes; k++)
        mx = MAX (mx, z[k]);
      double sum = 0;
      for (int k = 0; k < classes; k++)
        sum += exp ((double) z[k] - mx);
      double lse = mx + log (sum);
      loss += lse - z[labels[n]];
      for (int k = 0; k < classes; k++)
        {
          double p = exp (z[k] - lse);
          if (probs)
            probs[(size_t) n * classes + k] = (float) p;
          if (dlogits)
            dlogits[(size_t) n * classes + k] = (float) ((p - (k == labels[n])) / batch);
        }
    }
  return (float) (loss / batch);
}

float
lq_mse (const float *a, const float *b, size_t n, float *da)
{
  double acc = 0;
  for (size_t i = 0; i < n; i++)
    {
      double d = (double) a[i] - b[i];
      acc += d * d;
      if (da)
        da[i] = (float) (2.0 * d / n);
    }
  return (float) (acc / n);
}

float
lq_kl_normal (const float *mu, const float *logvar, size_t n, float scale, float *dmu,
              float *dlogvar)
{
  double acc = 0;
  for (size_t i = 0; i < n; i++)
    {
      double e = exp (logvar[i]);
      acc += -0.5 * (1.0 + logvar[i] - (double) mu[i] * mu[i] - e);
      if (dmu)
        dmu[i] = scale * mu[i];
      if (dlogvar)
        dlogvar[i] = (float) (scale * 0.5 * (e - 1.0));
    }
  return (float) (scale * acc);
}

float
lq_cw_margin (const float *logits, const guint8 *labels, int batch, int classes, float kappa,
              gboolean targeted, float *loss, float *dlogits)
{
  double total = 0;
  if (dlogits)
    memset (dlogits, 0, (size_t) batch * classes * sizeof (float));
  for (int n = 0; n < batch; n++)
    {
      const float *z = logits + (size_t) n * classes;
      int t = labels[n], other = -1;
      for (int k = 0; k < classes; k++)
        if (k != t && (other < 0 || z[k] > z[other]))
          other = k;
      float margin = targeted ? z[other] - z[t] : z[t] - z[other];
      float l = MAX (margin, -kappa);
      if (loss)
        loss[n] = l;
      total += l;
      if (dlogits && margin > -kappa)
        {
          float s = targeted ? 1.0f : -1.0f;
          dlogits[(size_t) n * classes + other] = s;
          dlogits[(size_t) n * classes + t] = -s;
        }
    }
  return (float) total;
}

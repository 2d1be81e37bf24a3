/* lq-monitor.c */
#include "lq-monitor.h"
#include "lq-error.h"

gboolean
lq_monitor_cancelled (const LqMonitor *m)
{
  return m && m->cancellable && g_cancellable_is_cancelled (m->cancellable);
}

gboolean
lq_monitor_step (const LqMonitor *m, guint64 done, guint64 total, const char *status, GError **error)
{
  if (m && m->progress)
    m->progress (done, total, status, m->user_data);
  if (lq_monitor_cancelled (m))
    {
      g_set_error_literal (error, LQ_ERROR, LQ_ERROR_CANCELLED, "cancelled");
      return FALSE;
    }
  return TRUE;
}

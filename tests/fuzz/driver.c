/* driver.c: runs a fuzz harness without libFuzzer, as an ordinary test: every file named on the
 * command line, or found in a directory named there, goes through LLVMFuzzerTestOneInput once.
 * Each input is handed over in a buffer of its exact size (no NUL after it), so that a
 * sanitizer build catches a read past its end. */
#include "fuzz-common.h"
#include <string.h>

static gint
str_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  LLVMFuzzerInitialize (&argc, &argv);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GDir) dir = g_dir_open (argv[i], 0, NULL);
      if (dir == NULL)
        {
          g_ptr_array_add (files, g_strdup (argv[i]));
          continue;
        }
      /* Sorted, so that a failure always happens at the same input. */
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
        if (name[0] != '.')
          g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
      g_ptr_array_sort (names, str_cmp);
      g_ptr_array_extend_and_steal (files, g_steal_pointer (&names));
    }
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = files->pdata[i];
      g_autofree char *contents = NULL;
      gsize len;
      g_autoptr (GError) error = NULL;
      if (!g_file_get_contents (path, &contents, &len, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      guint8 *exact = g_memdup2 (contents, len);
      printf ("%s (%" G_GSIZE_FORMAT " bytes)\n", path, len);
      fflush (stdout);
      LLVMFuzzerTestOneInput (exact, len);
      g_free (exact);
    }
  printf ("%u inputs passed\n", files->len);
  /* An empty corpus would test nothing: that is a failure, not a pass. */
  return files->len > 0 ? 0 : 1;
}

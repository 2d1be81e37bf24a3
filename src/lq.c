/* lq.c: the command line — train, attack, purify, eval, bench, import data. */
#include <glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "lq-cmd.h"

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} LqCommand;

static const LqCommand commands[] = {
  { "data", lq_cmd_data, "import and inspect MNIST and Fashion-MNIST" },
  { "train", lq_cmd_train, "train a classifier or the LQ-VAE" },
  { "eval", lq_cmd_eval, "accuracy on the test split; --table NAME: the seed's tables" },
  { "attack", lq_cmd_attack, "attack one image and show what changed" },
  { "purify", lq_cmd_purify, "purify an image with the LQ-VAE" },
  { "encode", lq_cmd_encode, "print the latent bits of an image" },
  { "bench", lq_cmd_bench, "measure GEMM, layer, training and attack speed" },
  { "figure", lq_cmd_figure, "draw the figures of docs/RESULTS.md as PNG" },
};

static void
usage (FILE *out)
{
  fprintf (out, "Usage: lq COMMAND [OPTIONS]\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun 'lq COMMAND --help' for a command's options.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* Over a file-size limit (ulimit -f), a write should fail with EFBIG and the save report it and
   * clean up, instead of SIGXFSZ killing the process mid-write. */
  signal (SIGXFSZ, SIG_IGN);
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "lq: unknown command '%s'\n", argv[1]);
  usage (stderr);
  return 2;
}

/* lq-cmd-train.c: placeholder until the subcommand lands. */
#include <stdio.h>
#include "lq-cmd.h"

int
lq_cmd_train (int argc, char **argv)
{
  fprintf (stderr, "lq train: not built yet\n");
  return 1;
}

/* lq-cmd-bench.c: placeholder until the subcommand lands. */
#include <stdio.h>
#include "lq-cmd.h"

int
lq_cmd_bench (int argc, char **argv)
{
  fprintf (stderr, "lq bench: not built yet\n");
  return 1;
}

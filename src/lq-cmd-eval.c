/* lq-cmd-eval.c: placeholder until the subcommand lands. */
#include <stdio.h>
#include "lq-cmd.h"

int
lq_cmd_eval (int argc, char **argv)
{
  fprintf (stderr, "lq eval: not built yet\n");
  return 1;
}

/* lq-cmd-purify.c: placeholder until the subcommand lands. */
#include <stdio.h>
#include "lq-cmd.h"

int
lq_cmd_purify (int argc, char **argv)
{
  fprintf (stderr, "lq purify: not built yet\n");
  return 1;
}

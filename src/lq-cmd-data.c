/* lq-cmd-data.c: placeholder until the subcommand lands. */
#include <stdio.h>
#include "lq-cmd.h"

int
lq_cmd_data (int argc, char **argv)
{
  fprintf (stderr, "lq data: not built yet\n");
  return 1;
}

/* lq-cmd-attack.c: placeholder until the subcommand lands. */
#include <stdio.h>
#include "lq-cmd.h"

int
lq_cmd_attack (int argc, char **argv)
{
  fprintf (stderr, "lq attack: not built yet\n");
  return 1;
}

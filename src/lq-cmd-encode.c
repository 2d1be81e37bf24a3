/* lq-cmd-encode.c: placeholder until the subcommand lands. */
#include <stdio.h>
#include "lq-cmd.h"

int
lq_cmd_encode (int argc, char **argv)
{
  fprintf (stderr, "lq encode: not built yet\n");
  return 1;
}

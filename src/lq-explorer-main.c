/* lq-explorer-main.c: the explorer's entry point; everything else is in liblq-explorer. */
#include "lq-explorer-application.h"

int
main (int argc, char **argv)
{
  g_autoptr (LqExplorerApplication) app = lq_explorer_application_new ();
  int status = g_application_run (G_APPLICATION (app), argc, argv);
  return status ? status : lq_explorer_application_get_exit_status (app);
}

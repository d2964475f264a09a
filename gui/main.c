/* main.c: curator-gui, the review desk. */
#include "curator-application.h"

int
main (int argc, char *argv[])
{
  g_autoptr(CuratorApplication) app = curator_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}

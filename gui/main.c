/* main.c: curator-gui, the review desk. */
#include "curator-application.h"
#include "curator-features.h"

int
main (int argc, char *argv[])
{
  /* Before anything else: OpenBLAS may have chosen kernels 5x too slow for
   * the analyze job (see curator_blas_ensure_fast_kernels). */
  curator_blas_ensure_fast_kernels (argv, TRUE);

  g_autoptr(CuratorApplication) app = curator_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}

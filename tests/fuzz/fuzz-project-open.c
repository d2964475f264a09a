/* fuzz-project-open.c: libFuzzer harness for opening a project file.
 *
 * Writes the input to a file in a private temporary folder and opens it as
 * an existing project (create FALSE), then closes it: a damaged or hostile
 * project file must give an error, never a crash. Opening may upgrade an
 * old schema (writing a backup) and SQLite may leave -wal/-shm files, so the
 * folder is emptied after every input. Seeds: real projects, written by
 * make-seeds. */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "curator-db.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static char *fuzz_dir;
static char *fuzz_path;

static void
empty_dir (void)
{
  g_autoptr(GDir) dir = g_dir_open (fuzz_dir, 0, NULL);
  const char *name;

  if (dir == NULL)
    abort ();
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fuzz_dir, name, NULL);
      g_unlink (path);
    }
}

static void
remove_dir (void)
{
  empty_dir ();
  g_rmdir (fuzz_dir);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GError) error = NULL;
  CuratorDb *db;

  if (fuzz_dir == NULL)
    {
      fuzz_dir = g_dir_make_tmp ("curator-fuzz-project-XXXXXX", NULL);
      if (fuzz_dir == NULL)
        abort ();
      fuzz_path = g_build_filename (fuzz_dir, "project.curator", NULL);
      atexit (remove_dir);
    }
  if (!g_file_set_contents (fuzz_path, (const char *) data, (gssize) size, NULL))
    abort ();
  db = curator_db_open (fuzz_path, FALSE, &error);
  if (db != NULL)
    {
      g_assert (curator_db_get_schema_version (db) > 0);
      curator_db_close (db);
    }
  else
    g_assert (error != NULL && error->message != NULL);
  empty_dir ();
  return 0;
}

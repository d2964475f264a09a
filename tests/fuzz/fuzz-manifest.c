/* fuzz-manifest.c: libFuzzer harness for the CSV manifest parser.
 *
 * Parses the input with no dataset root (the file system is never
 * touched), then walks the result and checks the invariants the header
 * promises: every entry has a relative path, every problem a message, line
 * numbers start at 1. Any crash, sanitizer report or leak is a finding. */

#include <string.h>

#include <glib.h>

#include "curator-manifest.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(CuratorManifest) manifest = NULL;
  g_autoptr(GError) error = NULL;

  manifest = curator_manifest_parse ((const char *) data, size, NULL, &error);
  if (manifest == NULL)
    {
      g_assert (error != NULL && error->message != NULL);
      return 0;
    }
  g_assert (manifest->file_column != NULL);
  for (guint i = 0; i < manifest->entries->len; i++)
    {
      CuratorManifestEntry *entry = g_ptr_array_index (manifest->entries, i);
      g_assert (entry->file != NULL && entry->file[0] != '\0' && entry->file[0] != '/');
      g_assert (entry->line >= 2);
      g_assert (entry->label == NULL || g_utf8_validate (entry->label, -1, NULL));
    }
  for (guint i = 0; i < manifest->problems->len; i++)
    {
      CuratorManifestProblem *problem = g_ptr_array_index (manifest->problems, i);
      g_assert (problem->message != NULL && problem->line >= 1);
    }
  return 0;
}

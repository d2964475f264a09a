/* curator-builtin-import.c: the built-in importers, the ImageFolder walk and
 * the CSV manifest, described through the plugin ABI (curator-plugin.h):
 * `curator index` lists every dataset through the registry ("imagefolder",
 * or "csv" with --manifest), and `--import csv:FILE` runs the same path an
 * importer module does. The walk is curator-index.c's, the parsing
 * curator-manifest.c's; bad rows become warnings with their line number.
 * Failures keep their error code (_curator_plugin_builtin_fail). */
#include "curator-config.h"

#include "curator-error.h"
#include "curator-index.h"
#include "curator-manifest.h"
#include "curator-plugins.h"

static int
imagefolder_list (const CuratorPluginContext *ctx, const char *arg, CuratorImportEmit emit, void *emit_data,
                  char *error, size_t error_size)
{
  GError *local = NULL;

  if (arg != NULL && *arg != '\0')
    return _curator_plugin_builtin_fail (g_error_new_literal (CURATOR_ERROR, CURATOR_ERROR_INVALID,
                                                              "imagefolder takes no argument: it walks the "
                                                              "dataset root"),
                                         error, error_size);
  if (ctx->root == NULL)
    return _curator_plugin_builtin_fail (g_error_new_literal (CURATOR_ERROR, CURATOR_ERROR_INVALID,
                                                              "imagefolder needs the dataset root"),
                                         error, error_size);
  if (!_curator_index_walk (ctx, emit, emit_data, &local))
    return _curator_plugin_builtin_fail (local, error, error_size);
  return 0;
}

static const CuratorImporterTable imagefolder_table = {
  .list = imagefolder_list,
};

const CuratorPluginDescriptor _curator_builtin_import_imagefolder = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION,
  .id = "imagefolder",
  .name = "ImageFolder: ROOT/CLASS/file, ROOT/SPLIT/CLASS/file, ROOT/_unlabeled",
  .version = CURATOR_VERSION,
  .kind = CURATOR_PLUGIN_KIND_IMPORTER,
  .table.importer = &imagefolder_table,
};

static int
csv_list (const CuratorPluginContext *ctx, const char *arg, CuratorImportEmit emit, void *emit_data,
          char *error, size_t error_size)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(CuratorManifest) manifest = NULL;

  if (arg == NULL || *arg == '\0')
    return _curator_plugin_builtin_fail (g_error_new_literal (CURATOR_ERROR, CURATOR_ERROR_INVALID,
                                                              "csv needs the manifest file: csv:FILE"),
                                         error, error_size);
  manifest = curator_manifest_read (arg, ctx->root, &local);
  if (manifest == NULL)
    return _curator_plugin_builtin_fail (g_steal_pointer (&local), error, error_size);
  for (guint i = 0; i < manifest->problems->len; i++)
    {
      CuratorManifestProblem *p = g_ptr_array_index (manifest->problems, i);
      g_autofree char *line = g_strdup_printf ("%s:%u: %s", arg, p->line, p->message);

      if (ctx->warn != NULL)
        ctx->warn (ctx->host_data, line);
    }
  for (guint i = 0; i < manifest->entries->len; i++)
    {
      CuratorManifestEntry *e = g_ptr_array_index (manifest->entries, i);

      if (emit (emit_data, e->file, e->label, e->split) != 0)
        break;
    }
  return 0;
}

static const CuratorImporterTable csv_table = {
  .list = csv_list,
};

const CuratorPluginDescriptor _curator_builtin_import_csv = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION,
  .id = "csv",
  .name = "CSV manifest (file,label[,split])",
  .version = CURATOR_VERSION,
  .kind = CURATOR_PLUGIN_KIND_IMPORTER,
  .table.importer = &csv_table,
};

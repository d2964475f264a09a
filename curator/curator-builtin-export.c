/* curator-builtin-export.c: the export layouts (imagefolder, csv, jsonl)
 * described through the plugin ABI (curator-plugin.h) as exporters, so that
 * an export writes its layout's manifests through the registry exactly as it
 * runs an exporter module, into the temporary folder before the rename.
 *
 * The writing is curator-export.c's: a layout's manifests depend on the
 * whole plan (the split folders' safe names, whether files were written),
 * which the records do not carry, so these take the plan the export passes
 * with the call (_curator_plugin_context_peek_builtin_data). Called from
 * anywhere else they refuse, with a message saying where they belong. */
#include "curator-config.h"

#include "curator-error.h"
#include "curator-export.h"
#include "curator-plugins.h"

static int
layout_write (CuratorExportLayout layout, const CuratorPluginContext *ctx, const char *out_dir,
              char *error, size_t error_size)
{
  const CuratorExportPlan *plan = _curator_plugin_context_peek_builtin_data (ctx);
  GError *local = NULL;

  if (plan == NULL)
    return _curator_plugin_builtin_fail (g_error_new (CURATOR_ERROR, CURATOR_ERROR_INVALID,
                                                      "the %s layout is written by an export itself "
                                                      "(curator export --layout %s)",
                                                      curator_export_layout_to_string (layout),
                                                      curator_export_layout_to_string (layout)),
                                         error, error_size);
  if (!_curator_export_write_layout (plan, layout, out_dir, &local))
    return _curator_plugin_builtin_fail (local, error, error_size);
  return 0;
}

static int
imagefolder_write (const CuratorPluginContext *ctx, const char *out_dir, const CuratorExportRecord *records,
                   size_t n_records, char *error, size_t error_size)
{
  return layout_write (CURATOR_EXPORT_LAYOUT_IMAGEFOLDER, ctx, out_dir, error, error_size);
}

static int
csv_write (const CuratorPluginContext *ctx, const char *out_dir, const CuratorExportRecord *records,
           size_t n_records, char *error, size_t error_size)
{
  return layout_write (CURATOR_EXPORT_LAYOUT_CSV, ctx, out_dir, error, error_size);
}

static int
jsonl_write (const CuratorPluginContext *ctx, const char *out_dir, const CuratorExportRecord *records,
             size_t n_records, char *error, size_t error_size)
{
  return layout_write (CURATOR_EXPORT_LAYOUT_JSONL, ctx, out_dir, error, error_size);
}

static const CuratorExporterTable imagefolder_table = { .write = imagefolder_write };
static const CuratorExporterTable csv_table = { .write = csv_write };
static const CuratorExporterTable jsonl_table = { .write = jsonl_write };

const CuratorPluginDescriptor _curator_builtin_export_imagefolder = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION,
  .id = "imagefolder",
  .name = "ImageFolder: OUT/SPLIT/CLASS/file (torchvision, Keras)",
  .version = CURATOR_VERSION,
  .kind = CURATOR_PLUGIN_KIND_EXPORTER,
  .table.exporter = &imagefolder_table,
};

const CuratorPluginDescriptor _curator_builtin_export_csv = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION,
  .id = "csv",
  .name = "CSV: OUT/labels.csv (split,file,label) and OUT/SPLIT.csv",
  .version = CURATOR_VERSION,
  .kind = CURATOR_PLUGIN_KIND_EXPORTER,
  .table.exporter = &csv_table,
};

const CuratorPluginDescriptor _curator_builtin_export_jsonl = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION,
  .id = "jsonl",
  .name = "JSON Lines: OUT/SPLIT/metadata.jsonl (Hugging Face imagefolder)",
  .version = CURATOR_VERSION,
  .kind = CURATOR_PLUGIN_KIND_EXPORTER,
  .table.exporter = &jsonl_table,
};

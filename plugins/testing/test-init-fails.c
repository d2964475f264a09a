/* test-init-fails.c: a plugin whose init fails, for test-plugins: the host
 * must report the message and skip it. */
#include <stdio.h>

#include "curator-plugin.h"

static int
failing_init (char *error, size_t error_size)
{
  snprintf (error, error_size, "no licence key in LICENCE_FILE");
  return 1;
}

static int
never_list (const CuratorPluginContext *ctx, const char *arg, CuratorImportEmit emit, void *emit_data,
            char *error, size_t error_size)
{
  return 1;
}

static const CuratorImporterTable table = {
  .list = never_list,
};

static const CuratorPluginDescriptor descriptor = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION,
  .id = "init-fails",
  .name = "fails to start",
  .version = "0",
  .kind = CURATOR_PLUGIN_KIND_IMPORTER,
  .init = failing_init,
  .table.importer = &table,
};

CURATOR_PLUGIN_EXPORT const CuratorPluginDescriptor *
curator_plugin_describe (void)
{
  return &descriptor;
}

/* test-bad-abi.c: a plugin built for another ABI version, for test-plugins.
 * Its init aborts: if the loader read past the version and called it, the
 * test would crash instead of seeing the refusal. */
#include <stdlib.h>

#include "curator-plugin.h"

static int
bad_init (char *error, size_t error_size)
{
  abort ();
}

static const CuratorPluginDescriptor descriptor = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION + 41,
  .id = "bad-abi",
  .name = "built for another ABI",
  .version = "0",
  .kind = CURATOR_PLUGIN_KIND_FEATURES,
  .init = bad_init,
};

CURATOR_PLUGIN_EXPORT const CuratorPluginDescriptor *
curator_plugin_describe (void)
{
  return &descriptor;
}

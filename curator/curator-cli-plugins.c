/* curator-cli-plugins.c: `curator plugins`: what the registry holds (the
 * built-ins and every module found on the search path), with kind, version
 * and origin, and the modules that were refused and why. */
#include "curator-config.h"

#include "curator-cli-private.h"
#include "curator-export.h"
#include "curator-plugins.h"

int
cli_cmd_plugins (int argc, char **argv)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr(GOptionContext) context = g_option_context_new ("- list feature extractors, importers and exporters");
  CliCommon common = { 0 };
  CuratorPluginRegistry *registry;
  GPtrArray *plugins, *problems;
  g_auto(GStrv) path = NULL;
  int code = CLI_EXIT_OK;

  g_option_context_set_description (context,
    "Modules are searched in $CURATOR_PLUGIN_PATH (colon separated), then in\n"
    CURATOR_PLUGIN_DIR ".\n"
    "Use one with analyze --features NAME[:ARG], index --import NAME[:ARG] or export --format NAME.");
  if (!cli_parse (context, entries, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 1)
    {
      code = cli_usage (context, "plugins takes no arguments");
      goto out;
    }
  registry = curator_plugins_get_default ();
  plugins = curator_plugin_registry_get_plugins (registry);
  problems = curator_plugin_registry_get_problems (registry);
  path = curator_plugin_search_path ();

  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_object (b);
      cli_json_add_int (b, "abi_version", CURATOR_PLUGIN_ABI_VERSION);
      json_builder_set_member_name (b, "search_path");
      json_builder_begin_array (b);
      for (char **p = path; *p != NULL; p++)
        json_builder_add_string_value (b, *p);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "plugins");
      json_builder_begin_array (b);
      for (guint i = 0; i < plugins->len; i++)
        {
          const CuratorPlugin *p = g_ptr_array_index (plugins, i);

          json_builder_begin_object (b);
          cli_json_add_string (b, "id", p->descriptor->id);
          cli_json_add_string (b, "kind", curator_plugin_kind_to_string (p->descriptor->kind));
          cli_json_add_string (b, "name", p->descriptor->name);
          cli_json_add_string (b, "version", p->descriptor->version);
          cli_json_add_string (b, "origin", p->origin);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "problems");
      json_builder_begin_array (b);
      for (guint i = 0; i < problems->len; i++)
        {
          const CuratorPluginProblem *p = g_ptr_array_index (problems, i);

          json_builder_begin_object (b);
          cli_json_add_string (b, "path", p->path);
          cli_json_add_string (b, "message", p->message);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
    }
  else
    {
      g_print ("%-9s %-12s %-10s %s\n", "KIND", "NAME", "VERSION", "ORIGIN");
      for (guint i = 0; i < plugins->len; i++)
        {
          const CuratorPlugin *p = g_ptr_array_index (plugins, i);

          g_print ("%-9s %-12s %-10s %s\n", curator_plugin_kind_to_string (p->descriptor->kind),
                   p->descriptor->id, p->descriptor->version, p->origin);
        }
      for (guint i = 0; i < problems->len; i++)
        {
          const CuratorPluginProblem *p = g_ptr_array_index (problems, i);

          g_printerr ("curator: plugin not loaded: %s\n", p->message);
        }
    }

out:
  cli_common_clear (&common);
  return code;
}

/* ---- export --format NAME with an exporter ------------------------------ */

/* The exporter itself runs inside curator_export_write (options.exporter),
 * on the temporary folder: its manifests appear with the export or not at
 * all. */
gboolean
cli_export_format_is_plugin (const char *name, GError **error)
{
  CuratorExportLayout layout;

  if (curator_export_layout_from_string (name, &layout))
    return FALSE;
  if (curator_plugin_registry_find (curator_plugins_get_default (), CURATOR_PLUGIN_KIND_EXPORTER, name) == NULL)
    g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                 "--format: '%s' is neither a layout (imagefolder, csv, jsonl) nor an exporter plugin "
                 "(see `curator plugins`)", name);
  return TRUE;
}

/* ---- index --import NAME[:ARG] with an importer ------------------------- */

char *
cli_index_import (const char *spec, const char *root, const char *project, GError **error)
{
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *id = NULL;
  g_autofree char *arg = NULL;
  g_autofree char *abs_root = g_canonicalize_filename (root, NULL);
  char *manifest;

  entries = curator_plugin_import (NULL, spec, abs_root, warnings, error);
  for (guint i = 0; i < warnings->len; i++)
    g_printerr ("curator: %s\n", (const char *) g_ptr_array_index (warnings, i));
  if (entries == NULL)
    return NULL;
  /* The indexer reads manifests; the importer's listing becomes one, kept
   * beside the project so that the project's record of it stays true. */
  curator_plugin_split_spec (spec, &id, &arg);
  manifest = g_strdup_printf ("%s.import-%s.csv", project, id);
  if (!curator_plugin_import_write_manifest (entries, manifest, error))
    g_clear_pointer (&manifest, g_free);
  return manifest;
}

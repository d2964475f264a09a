/* curator-cli-export.c: `curator export OUT`, a cleaned, rebalanced,
 * leak-free split written by the core (curator-export.h), with a summary for
 * people or, with --json, for scripts. */
#include "curator-config.h"

#include <math.h>
#include <string.h>

#include "curator-cli-private.h"
#include "curator-export.h"

static JsonNode *
summary_json (const CuratorExportPlan *plan, const CuratorExportReport *report)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "out");
  json_builder_add_string_value (b, report->out);
  json_builder_set_member_name (b, "replaced");
  json_builder_add_boolean_value (b, report->replaced);
  cli_json_add_int (b, "run", plan->run_id);
  cli_json_add_int (b, "samples", report->n_samples);
  cli_json_add_int (b, "entries", report->n_entries);
  json_builder_set_member_name (b, "splits");
  json_builder_begin_object (b);
  for (guint s = 0; s < plan->n_splits; s++)
    {
      json_builder_set_member_name (b, plan->splits[s].name);
      json_builder_begin_object (b);
      cli_json_add_int (b, "samples", plan->splits[s].n_samples);
      cli_json_add_int (b, "entries", plan->splits[s].n_entries);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "removed");
  json_builder_begin_object (b);
  for (guint d = 0; d < CURATOR_EXPORT_N_DROPS; d++)
    cli_json_add_int (b, curator_export_drop_to_string (d), plan->n_removed_by[d]);
  json_builder_end_object (b);
  cli_json_add_int (b, "relabelled", plan->relabels->len);
  cli_json_add_int (b, "flagged_kept", plan->n_flagged_kept);
  cli_json_add_int (b, "leaks", plan->n_leaks);
  cli_json_add_int (b, "rebalance_target", plan->rebalance_target);
  json_builder_set_member_name (b, "files");
  json_builder_begin_object (b);
  cli_json_add_int (b, "hard_links", report->n_linked);
  cli_json_add_int (b, "symbolic_links", report->n_symlinked);
  cli_json_add_int (b, "copies", report->n_copied);
  cli_json_add_int (b, "copies_where_a_link_was_impossible", report->n_copy_fallbacks);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "notes");
  json_builder_begin_array (b);
  for (guint i = 0; report->notes != NULL && i < report->notes->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (report->notes, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
print_summary (const CuratorExportPlan *plan, const CuratorExportReport *report)
{
  gsize n_removed = plan->removals->len;

  g_print ("Exported %" G_GSIZE_FORMAT " samples (%" G_GSIZE_FORMAT " entries) to %s%s\n",
           report->n_samples, report->n_entries, report->out, report->replaced ? " (replaced)" : "");
  for (guint s = 0; s < plan->n_splits; s++)
    {
      g_print ("  %-10s %8" G_GINT64_FORMAT " samples", plan->splits[s].name, plan->splits[s].n_samples);
      if (plan->splits[s].n_entries != plan->splits[s].n_samples)
        g_print (", %" G_GINT64_FORMAT " entries after rebalancing", plan->splits[s].n_entries);
      g_print ("\n");
    }
  if (n_removed > 0)
    {
      g_print ("Left out %" G_GSIZE_FORMAT ":", n_removed);
      for (guint d = 0, first = 1; d < CURATOR_EXPORT_N_DROPS; d++)
        if (plan->n_removed_by[d] > 0)
          {
            g_print ("%s %" G_GSIZE_FORMAT " %s", first ? "" : ",", plan->n_removed_by[d],
                     curator_export_drop_to_string (d));
            first = 0;
          }
      g_print ("\n");
    }
  if (plan->relabels->len > 0)
    g_print ("Relabelled %u\n", plan->relabels->len);
  if (plan->n_leaks > 0)
    g_print ("Leaks: %" G_GSIZE_FORMAT " duplicate pairs sit in different splits kept from the source "
             "(see README.md)\n", plan->n_leaks);
  for (guint i = 0; report->notes != NULL && i < report->notes->len; i++)
    g_print ("Note: %s\n", (const char *) g_ptr_array_index (report->notes, i));
  g_print ("The dataset card is %s/README.md\n", report->out);
}

int
cli_cmd_export (int argc, char **argv)
{
  g_autofree char *split = NULL;
  g_autofree char *flagged = NULL;
  g_autofree char *rebalance = NULL;
  g_autofree char *target = NULL;
  g_autofree char *layout = NULL;
  g_autofree char *format = NULL;
  g_autofree char *files = NULL;
  g_autofree char *seed = NULL;
  gboolean keep_splits = FALSE, force = FALSE;
  const GOptionEntry entries[] = {
    { "split", 0, 0, G_OPTION_ARG_STRING, &split,
      "Split fractions: 80/10/10 (train/val/test) or train=0.8,val=0.1,test=0.1", "SPEC" },
    { "keep-splits", 0, 0, G_OPTION_ARG_NONE, &keep_splits,
      "Samples keep the split their source had (train/ test/ folders, a split column)", NULL },
    { "flagged", 0, 0, G_OPTION_ARG_STRING, &flagged,
      "Unreviewed flagged samples: drop (default), keep or relabel-if-confident", "POLICY" },
    { "rebalance", 0, 0, G_OPTION_ARG_STRING, &rebalance,
      "Training split only: none (default), oversample, undersample or weights", "HOW" },
    { "target", 0, 0, G_OPTION_ARG_STRING, &target,
      "Samples per class to rebalance to: max, median, min or N "
      "(default max for oversample, min for undersample)", "N" },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &layout, "imagefolder (default), csv or jsonl", "LAYOUT" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format,
      "A layout, or an exporter plugin that adds its manifests (see `curator plugins`)", "NAME" },
    { "files", 0, 0, G_OPTION_ARG_STRING, &files,
      "link (hard links, default; copies across file systems), symlink, copy or none", "HOW" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed, "Random seed (default 1); same seed, same export", "S" },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, "Replace an earlier export at OUT", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("OUT - write a cleaned, rebalanced split");
  CliCommon common = { 0 };
  CuratorExportOptions options;
  CuratorExportReport report = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorExportPlan) plan = NULL;
  GCancellable *cancellable;
  int code = CLI_EXIT_OK;

  curator_export_options_init (&options, NULL);
  g_option_context_set_description (context,
    "Stratified per class; exact, perceptual-hash and feature-space duplicates stay in one split.\n"
    "Relabelled and accepted samples use their new label, confirmed ones keep theirs, excluded,\n"
    "corrupt, missing and unlabelled samples are left out. Only the training split is rebalanced.\n"
    "Layouts: imagefolder OUT/SPLIT/CLASS/file; csv OUT/labels.csv + OUT/SPLIT.csv;\n"
    "jsonl OUT/SPLIT/metadata.jsonl (Hugging Face imagefolder). OUT/README.md is the dataset card,\n"
    "OUT/curation.json the same for scripts. OUT appears only when complete; an existing OUT is\n"
    "replaced only with --force and only if it is an earlier export.");
  if (!cli_parse (context, entries, &common, &argc, &argv))
    {
      curator_export_options_clear (&options);
      return CLI_EXIT_USAGE;
    }
  if (argc != 2)
    {
      code = cli_usage (context, "export needs the output folder OUT");
      goto out;
    }
  options.out = g_strdup (argv[1]);
  options.keep_splits = keep_splits;
  options.force = force;
  if (split != NULL && !curator_export_options_set_splits (&options, split, &error))
    goto usage;
  if (target != NULL && !curator_export_options_set_target (&options, target, &error))
    goto usage;
  if (flagged != NULL && !curator_export_flagged_from_string (flagged, &options.flagged))
    {
      code = cli_usage (context, "--flagged: '%s' is not drop, keep or relabel-if-confident", flagged);
      goto out;
    }
  if (rebalance != NULL && !curator_export_rebalance_from_string (rebalance, &options.rebalance))
    {
      code = cli_usage (context, "--rebalance: '%s' is not none, oversample, undersample or weights", rebalance);
      goto out;
    }
  if (layout != NULL && !curator_export_layout_from_string (layout, &options.layout))
    {
      code = cli_usage (context, "--layout: '%s' is not imagefolder, csv or jsonl", layout);
      goto out;
    }
  /* --format: a built-in layout, or an exporter that adds its manifests
   * (written inside the export, before it appears at OUT). */
  if (format != NULL && !cli_export_format_is_plugin (format, &error))
    curator_export_layout_from_string (format, &options.layout);
  else if (format != NULL && error == NULL)
    options.exporter = g_strdup (format);
  if (error != NULL)
    goto usage;
  if (files != NULL && !curator_export_files_from_string (files, &options.files))
    {
      code = cli_usage (context, "--files: '%s' is not link, symlink, copy or none", files);
      goto out;
    }
  if (seed != NULL)
    {
      char *end = NULL;
      guint64 value = g_ascii_strtoull (seed, &end, 10);

      if (end == seed || *end != '\0' || seed[0] == '-')
        {
          code = cli_usage (context, "--seed: '%s' is not a number", seed);
          goto out;
        }
      options.seed = value;
    }

  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  cancellable = cli_interrupt_begin ();
  if (!curator_export_run (db, &options, &report, &plan, cancellable, cli_progress, NULL, &error))
    {
      cli_progress_done ();
      cli_interrupt_end (cancellable);
      code = cli_fail (error);
      goto out;
    }
  cli_progress_done ();
  cli_interrupt_end (cancellable);

  if (common.json)
    {
      g_autoptr(JsonNode) node = summary_json (plan, &report);

      cli_print_json (node);
    }
  else
    print_summary (plan, &report);
  goto out;

usage:
  code = cli_usage (context, "%s", error->message);

out:
  curator_export_report_clear (&report);
  curator_export_options_clear (&options);
  cli_common_clear (&common);
  return code;
}

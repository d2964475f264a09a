/* curator-cli.c: the `curator` command: the table of subcommands, what they
 * share (options, opening the project, exit codes, JSON, progress, Ctrl-C),
 * and the project-wide commands (index, status, classes). The per-sample
 * commands live in curator-cli-samples.c. */
#include "curator-config.h"

#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "curator-cli-private.h"
#include "curator-features.h"
#include "curator-index.h"

/* ---- shared helpers ------------------------------------------------------ */

gboolean
cli_parse (GOptionContext *context, const GOptionEntry *entries,
           CliCommon *common, int *argc, char ***argv)
{
  const GOptionEntry common_entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &common->project,
      "Project file (default: $CURATOR_PROJECT)", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &common->json, "Print JSON for scripts", NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;

  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_main_entries (context, common_entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("curator: %s\n", error->message);
      return FALSE;
    }
  return TRUE;
}

void
cli_common_clear (CliCommon *common)
{
  g_clear_pointer (&common->project, g_free);
}

int
cli_fail (const GError *error)
{
  g_printerr ("curator: %s\n", error->message);
  if (error->domain != CURATOR_ERROR)
    return error->domain == G_IO_ERROR && error->code == G_IO_ERROR_NOT_FOUND
           ? CLI_EXIT_NOT_FOUND : CLI_EXIT_FAILED;
  switch ((CuratorError) error->code)
    {
    case CURATOR_ERROR_NOT_FOUND:
      return CLI_EXIT_NOT_FOUND;
    case CURATOR_ERROR_DB_TOO_NEW:
    case CURATOR_ERROR_DB:
      return CLI_EXIT_PROJECT;
    case CURATOR_ERROR_BUSY:
      return CLI_EXIT_BUSY;
    case CURATOR_ERROR_CANCELLED:
      return CLI_EXIT_CANCELLED;
    case CURATOR_ERROR_INVALID:
      return CLI_EXIT_USAGE;
    case CURATOR_ERROR_FAILED:
    case CURATOR_ERROR_CORRUPT_IMAGE:
    case CURATOR_ERROR_UNSUPPORTED_FORMAT:
    case CURATOR_ERROR_PLUGIN_ABI:
    case CURATOR_ERROR_IO:
    default:
      return CLI_EXIT_FAILED;
    }
}

int
cli_usage (GOptionContext *context, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;
  g_autofree char *help = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  help = g_option_context_get_help (context, TRUE, NULL);
  g_printerr ("curator: %s\n\n%s", message, help);
  return CLI_EXIT_USAGE;
}

CuratorDb *
cli_open_project (CliCommon *common, gboolean create, int *exit_code)
{
  const char *path = common->project != NULL ? common->project : g_getenv ("CURATOR_PROJECT");
  g_autoptr(GError) error = NULL;
  CuratorDb *db;

  if (path == NULL || *path == '\0')
    {
      g_printerr ("curator: no project given: use --project FILE or set CURATOR_PROJECT\n");
      *exit_code = CLI_EXIT_USAGE;
      return NULL;
    }
  db = curator_db_open (path, create, &error);
  if (db == NULL)
    *exit_code = cli_fail (error);
  return db;
}

void
cli_json_add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
cli_json_add_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

void
cli_json_add_double (JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name (b, name);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
cli_json_add_bool (JsonBuilder *b, const char *name, gboolean value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

void
cli_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
}

/* Ctrl-C: a thread runs a main loop whose only source is the signal watch,
 * so the work itself needs no main loop and polls its GCancellable. */
typedef struct {
  GMainContext *context;
  GMainLoop    *loop;
  GThread      *thread;
  GCancellable *cancellable;
} Interrupt;

static Interrupt *interrupt;

static gboolean
on_signal (gpointer user_data)
{
  Interrupt *it = user_data;

  if (g_cancellable_is_cancelled (it->cancellable))
    {
      /* Second signal: the user means it. Everything written is committed
       * or rolled back by SQLite, so dying now loses nothing written. */
      signal (SIGINT, SIG_DFL);
      raise (SIGINT);
      return G_SOURCE_REMOVE;
    }
  if (isatty (STDERR_FILENO))
    g_printerr ("\ncurator: stopping (press Ctrl-C again to stop at once)\n");
  g_cancellable_cancel (it->cancellable);
  return G_SOURCE_CONTINUE;
}

static gpointer
interrupt_thread (gpointer data)
{
  Interrupt *it = data;

  g_main_context_push_thread_default (it->context);
  g_main_loop_run (it->loop);
  g_main_context_pop_thread_default (it->context);
  return NULL;
}

GCancellable *
cli_interrupt_begin (void)
{
  g_return_val_if_fail (interrupt == NULL, NULL);

  interrupt = g_new0 (Interrupt, 1);
  interrupt->context = g_main_context_new ();
  interrupt->loop = g_main_loop_new (interrupt->context, FALSE);
  interrupt->cancellable = g_cancellable_new ();
  for (guint i = 0; i < 2; i++)
    {
      GSource *source = g_unix_signal_source_new (i == 0 ? SIGINT : SIGTERM);

      g_source_set_callback (source, on_signal, interrupt, NULL);
      g_source_attach (source, interrupt->context);
      g_source_unref (source);
    }
  interrupt->thread = g_thread_new ("curator-signals", interrupt_thread, interrupt);
  return g_object_ref (interrupt->cancellable);
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
cli_interrupt_end (GCancellable *cancellable)
{
  if (interrupt == NULL)
    return;
  g_main_context_invoke (interrupt->context, quit_loop, interrupt->loop);
  g_thread_join (interrupt->thread);
  g_main_loop_unref (interrupt->loop);
  g_main_context_unref (interrupt->context);
  g_object_unref (interrupt->cancellable);
  g_clear_pointer (&interrupt, g_free);
  g_clear_object (&cancellable);
}

static gboolean progress_shown;
static gint64 progress_started_us;

void
cli_progress (double fraction, const char *message, gpointer user_data)
{
  gint64 now = g_get_monotonic_time ();
  double elapsed;

  if (!isatty (STDERR_FILENO))
    return;
  if (!progress_shown)
    progress_started_us = now;
  progress_shown = TRUE;
  elapsed = (now - progress_started_us) / (double) G_USEC_PER_SEC;
  if (fraction > 0.01 && fraction < 1.0 && elapsed > 1.0)
    g_printerr ("\r\033[K[%3.0f%%] %s, %.0f s left", fraction * 100.0, message ? message : "",
                elapsed / fraction - elapsed);
  else if (fraction >= 0)
    g_printerr ("\r\033[K[%3.0f%%] %s", fraction * 100.0, message ? message : "");
  else
    g_printerr ("\r\033[K%s", message ? message : "");
}

void
cli_progress_done (void)
{
  if (progress_shown)
    g_printerr ("\n");
  progress_shown = FALSE;
}

GHashTable *
cli_class_names (CuratorDb *db, GError **error)
{
  g_autoptr(GPtrArray) classes = curator_db_list_classes (db, error);
  GHashTable *names;

  if (classes == NULL)
    return NULL;
  names = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  for (guint i = 0; i < classes->len; i++)
    {
      CuratorDbClass *k = g_ptr_array_index (classes, i);

      g_hash_table_insert (names, g_memdup2 (&k->id, sizeof k->id), g_strdup (k->name));
    }
  return names;
}

const char *
cli_class_name (GHashTable *names, gint64 class_id)
{
  if (class_id == 0)
    return NULL;
  return g_hash_table_lookup (names, &class_id);
}

CuratorDbSample *
cli_find_sample (CuratorDb *db, const char *name, int *exit_code)
{
  g_autoptr(GError) error = NULL;
  CuratorDbSample *sample;
  gint64 id;
  char *end = NULL;

  id = g_ascii_strtoll (name, &end, 10);
  if (end != name && *end == '\0' && id > 0)
    sample = curator_db_get_sample (db, id, &error);
  else
    sample = curator_db_get_sample_by_path (db, name, &error);
  if (sample == NULL)
    *exit_code = cli_fail (error);
  return sample;
}

/* ---- index --------------------------------------------------------------- */

static int
cmd_index (int argc, char **argv)
{
  g_autofree char *manifest = NULL;
  g_autofree char *import = NULL;
  gboolean reread = FALSE;
  int n_threads = 0;
  const GOptionEntry entries[] = {
    { "manifest", 'm', 0, G_OPTION_ARG_FILENAME, &manifest,
      "CSV manifest with columns file,label[,split]; paths relative to ROOT", "FILE" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &n_threads, "Decoding threads (default: one per core)", "N" },
    { "reread", 0, 0, G_OPTION_ARG_NONE, &reread, "Read every file again, even unchanged ones", NULL },
    { "import", 0, 0, G_OPTION_ARG_STRING, &import,
      "List the files with an importer, e.g. csv:FILE (see `curator plugins`)", "NAME[:ARG]" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("ROOT - index a dataset into the project");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  CuratorIndexReport report = { 0 };
  CuratorIndexOptions options = { 0 };
  GCancellable *cancellable;
  gboolean ok;
  int code = CLI_EXIT_OK;

  g_option_context_set_description (context,
    "ROOT holds one folder per class (ROOT/CLASS/image.jpg); images directly under ROOT\n"
    "or under ROOT/_unlabeled are unlabelled; ROOT/train|val|test/CLASS/... keeps the split.\n"
    "With --manifest, the CSV decides which files and labels are used.\n"
    "Indexing again reads only what changed and marks vanished files missing.");
  if (!cli_parse (context, entries, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 2)
    {
      code = cli_usage (context, "index needs the dataset folder ROOT");
      goto out;
    }
  if (n_threads < 0)
    {
      code = cli_usage (context, "--threads must be positive");
      goto out;
    }
  db = cli_open_project (&common, TRUE, &code);
  if (db == NULL)
    goto out;

  if (import != NULL)
    {
      if (manifest != NULL)
        {
          code = cli_usage (context, "--import and --manifest exclude each other");
          goto out;
        }
      manifest = cli_index_import (import, argv[1], curator_db_get_path (db), &error);
      if (manifest == NULL)
        {
          code = cli_fail (error);
          goto out;
        }
    }
  options.root = argv[1];
  options.manifest = manifest;
  options.n_threads = n_threads;
  options.reread = reread;
  cancellable = cli_interrupt_begin ();
  ok = curator_index_run (db, &options, &report, cancellable, cli_progress, NULL, &error);
  cli_progress_done ();
  cli_interrupt_end (cancellable);

  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "complete");
      json_builder_add_boolean_value (b, ok);
      if (!ok)
        {
          json_builder_set_member_name (b, "error");
          json_builder_add_string_value (b, error->message);
        }
      cli_json_add_int (b, "files", report.n_files);
      cli_json_add_int (b, "added", report.n_added);
      cli_json_add_int (b, "changed", report.n_changed);
      cli_json_add_int (b, "unchanged", report.n_unchanged);
      cli_json_add_int (b, "relabelled", report.n_relabelled);
      cli_json_add_int (b, "missing", report.n_missing);
      cli_json_add_int (b, "corrupt", report.n_corrupt);
      cli_json_add_int (b, "decoded", report.n_decoded);
      json_builder_set_member_name (b, "problems");
      json_builder_begin_array (b);
      for (guint i = 0; report.problems != NULL && i < report.problems->len; i++)
        json_builder_add_string_value (b, g_ptr_array_index (report.problems, i));
      json_builder_end_array (b);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
    }
  else
    {
      for (guint i = 0; report.problems != NULL && i < report.problems->len; i++)
        g_printerr ("curator: %s\n", (const char *) g_ptr_array_index (report.problems, i));
      g_print ("%" G_GINT64_FORMAT " files: %" G_GINT64_FORMAT " added, %" G_GINT64_FORMAT
               " changed, %" G_GINT64_FORMAT " unchanged, %" G_GINT64_FORMAT " relabelled, %"
               G_GINT64_FORMAT " corrupt, %" G_GINT64_FORMAT " newly missing (%" G_GINT64_FORMAT
               " decoded)\n",
               report.n_files, report.n_added, report.n_changed, report.n_unchanged,
               report.n_relabelled, report.n_corrupt, report.n_missing, report.n_decoded);
    }
  if (!ok)
    code = cli_fail (error);

out:
  curator_index_report_clear (&report);
  cli_common_clear (&common);
  return code;
}

/* ---- status and classes -------------------------------------------------- */

static int
cmd_status (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- counts by class and status");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) classes = NULL;
  g_autoptr(GArray) counts = NULL;
  g_autofree char *root = NULL;
  gint64 by_status[3] = { 0 }, n_excluded = 0, n_unlabelled = 0, total = 0;
  int code = CLI_EXIT_OK;

  if (!cli_parse (context, NULL, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 1)
    {
      code = cli_usage (context, "status takes no arguments");
      goto out;
    }
  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  classes = curator_db_list_classes (db, &error);
  counts = classes != NULL ? curator_db_count_samples (db, &error) : NULL;
  if (counts == NULL)
    {
      code = cli_fail (error);
      goto out;
    }
  root = curator_db_dup_setting (db, "root");
  for (guint i = 0; i < counts->len; i++)
    {
      CuratorDbCount *c = &g_array_index (counts, CuratorDbCount, i);

      by_status[c->status] += c->n_samples;
      total += c->n_samples;
      n_excluded += c->n_excluded;
      if (c->class_id == 0 && c->status == CURATOR_SAMPLE_OK)
        n_unlabelled += c->n_samples;
    }

  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "project");
      json_builder_add_string_value (b, curator_db_get_path (db));
      json_builder_set_member_name (b, "root");
      json_builder_add_string_value (b, root);
      json_builder_set_member_name (b, "samples");
      json_builder_add_int_value (b, total);
      for (int s = 0; s < 3; s++)
        {
          json_builder_set_member_name (b, curator_sample_status_to_string (s));
          json_builder_add_int_value (b, by_status[s]);
        }
      json_builder_set_member_name (b, "excluded");
      json_builder_add_int_value (b, n_excluded);
      json_builder_set_member_name (b, "unlabelled");
      json_builder_add_int_value (b, n_unlabelled);
      json_builder_set_member_name (b, "classes");
      json_builder_begin_array (b);
      for (guint i = 0; i < classes->len; i++)
        {
          CuratorDbClass *k = g_ptr_array_index (classes, i);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, k->name);
          json_builder_set_member_name (b, "given");
          json_builder_add_int_value (b, k->n_given);
          json_builder_set_member_name (b, "current");
          json_builder_add_int_value (b, k->n_current);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
      goto out;
    }

  g_print ("Project  %s\n", curator_db_get_path (db));
  g_print ("Dataset  %s\n", root != NULL ? root : "(not indexed yet)");
  g_print ("Samples  %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT " ok, %" G_GINT64_FORMAT
           " corrupt, %" G_GINT64_FORMAT " missing; %" G_GINT64_FORMAT " excluded, %"
           G_GINT64_FORMAT " unlabelled\n\n",
           total, by_status[CURATOR_SAMPLE_OK], by_status[CURATOR_SAMPLE_CORRUPT],
           by_status[CURATOR_SAMPLE_MISSING], n_excluded, n_unlabelled);
  g_print ("%-24s %8s %8s\n", "class", "given", "current");
  for (guint i = 0; i < classes->len; i++)
    {
      CuratorDbClass *k = g_ptr_array_index (classes, i);

      g_print ("%-24s %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT "\n", k->name, k->n_given, k->n_current);
    }

out:
  cli_common_clear (&common);
  return code;
}

static int
cmd_classes (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- list the classes");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) classes = NULL;
  int code = CLI_EXIT_OK;

  if (!cli_parse (context, NULL, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 1)
    {
      code = cli_usage (context, "classes takes no arguments");
      goto out;
    }
  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  classes = curator_db_list_classes (db, &error);
  if (classes == NULL)
    {
      code = cli_fail (error);
      goto out;
    }
  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_array (b);
      for (guint i = 0; i < classes->len; i++)
        {
          CuratorDbClass *k = g_ptr_array_index (classes, i);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_int_value (b, k->id);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, k->name);
          json_builder_set_member_name (b, "position");
          json_builder_add_int_value (b, k->position);
          json_builder_set_member_name (b, "given");
          json_builder_add_int_value (b, k->n_given);
          json_builder_set_member_name (b, "current");
          json_builder_add_int_value (b, k->n_current);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
    }
  else
    for (guint i = 0; i < classes->len; i++)
      {
        CuratorDbClass *k = g_ptr_array_index (classes, i);

        g_print ("%s\n", k->name);
      }

out:
  cli_common_clear (&common);
  return code;
}

/* ---- the table ----------------------------------------------------------- */

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "index",   cmd_index,       "Index a dataset folder or manifest into the project" },
  { "status",  cmd_status,      "Counts by class and status" },
  { "classes", cmd_classes,     "List the classes" },
  { "analyze", cli_cmd_analyze, "Cross-validated predictions for every sample (a new run)" },
  { "runs",    cli_cmd_runs,    "List analysis runs" },
  { "ls",      cli_cmd_ls,      "List samples (filter by class or status)" },
  { "show",    cli_cmd_show,    "Everything known about one sample, with its history" },
  { "relabel", cli_cmd_relabel, "Give samples a new label" },
  { "confirm", cli_cmd_confirm, "Confirm samples' labels are right (\"not an error\")" },
  { "verify",  cli_cmd_confirm, "The same as confirm" },
  { "exclude", cli_cmd_exclude, "Leave samples out of training and export" },
  { "restore", cli_cmd_restore, "Bring excluded samples back" },
  { "undo",    cli_cmd_undo,    "Revert the last decision" },
  { "redo",    cli_cmd_redo,    "Re-apply the last undone decision" },
  { "history", cli_cmd_history, "The decision log" },
  { "issues",  cli_cmd_issues,  "What the latest analysis flagged, worst first" },
  { "accept",  cli_cmd_accept,  "Accept the suggested labels (by sample or by confidence)" },
  { "report",  cli_cmd_report,  "A summary of the latest analysis for a person to read" },
  { "eval",    cli_cmd_eval,    "Score the latest analysis against a file of true labels" },
  { "export",  cli_cmd_export,  "Write a cleaned, rebalanced, leak-free train/val/test split" },
  { "plugins", cli_cmd_plugins, "List feature extractors, importers and exporters (built-in and loaded)" },
};

static void
print_help (FILE *out)
{
  fprintf (out, "Usage: curator COMMAND [OPTIONS] [ARGS]\n\n"
                "Find and fix mislabelled images in a classification dataset.\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nEvery command takes --project FILE (or $CURATOR_PROJECT), --json and --help.\n"
                "\nExit codes: 0 done, 1 failed, 2 bad command line, 3 not found,\n"
                "4 project unusable (newer or damaged), 5 project busy, 130 interrupted.\n");
}

int
main (int argc, char **argv)
{
  /* Before anything else: OpenBLAS may have chosen kernels 5x too slow.
   * Only analyze multiplies matrices. */
  curator_blas_ensure_fast_kernels (argv, argc < 2 || strcmp (argv[1], "analyze") == 0);
  setlocale (LC_ALL, "");

  if (argc < 2)
    {
      print_help (stderr);
      return CLI_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_help (stdout);
      return CLI_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      g_print ("curator %s\n", CURATOR_VERSION);
      return CLI_EXIT_OK;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
        /* The command sees itself as argv[0] so that its --help reads
         * "curator COMMAND". */
        g_autofree char *prgname = g_strconcat ("curator ", commands[i].name, NULL);

        g_set_prgname (prgname);
        return commands[i].run (argc - 1, argv + 1);
      }
  g_printerr ("curator: unknown command '%s'\n\n", argv[1]);
  print_help (stderr);
  return CLI_EXIT_USAGE;
}

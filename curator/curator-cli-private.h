/* curator-cli-private.h: what the `curator` command's files share.
 *
 * The command line is a table of subcommands (curator-cli.c). Each parses its
 * own options with GOptionContext (so each has --help), opens the project,
 * calls the core, and prints for people or, with --json, for scripts. Errors
 * become exit codes through one function, so a code always means the same. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "curator-db.h"
#include "curator-export.h"
#include "curator-progress.h"

G_BEGIN_DECLS

/* Exit codes, documented in `curator --help` and the README. */
enum {
  CLI_EXIT_OK        = 0,
  CLI_EXIT_FAILED    = 1,   /* the work failed (I/O, disk full, bad data) */
  CLI_EXIT_USAGE     = 2,   /* bad command line */
  CLI_EXIT_NOT_FOUND = 3,   /* no such project, sample, class, file */
  CLI_EXIT_PROJECT   = 4,   /* project unusable: newer schema, not a project, corrupt */
  CLI_EXIT_BUSY      = 5,   /* another process holds the project */
  CLI_EXIT_CANCELLED = 130, /* interrupted (Ctrl-C) */
};

/* Options every command takes. */
typedef struct {
  char     *project;
  gboolean  json;
} CliCommon;

/* Adds --project and --json to @context and parses @argv. Prints the error
 * and returns FALSE on a bad command line. */
gboolean cli_parse (GOptionContext *context, const GOptionEntry *entries,
                    CliCommon *common, int *argc, char ***argv);
void     cli_common_clear (CliCommon *common);

/* Opens the project named by --project (or $CURATOR_PROJECT). @create makes
 * it when absent. Prints the error; NULL sets *exit_code. */
CuratorDb *cli_open_project (CliCommon *common, gboolean create, int *exit_code);

/* Prints "curator: MESSAGE" on stderr and returns the exit code for @error. */
int  cli_fail (const GError *error);
/* Prints a usage problem and returns CLI_EXIT_USAGE. */
int  cli_usage (GOptionContext *context, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Members of the object being built: NULL strings and non-finite numbers
 * become null. */
void cli_json_add_string (JsonBuilder *b, const char *name, const char *value);
void cli_json_add_int    (JsonBuilder *b, const char *name, gint64 value);
void cli_json_add_double (JsonBuilder *b, const char *name, double value);
void cli_json_add_bool   (JsonBuilder *b, const char *name, gboolean value);

/* Prints @node as pretty JSON on stdout, with a final newline. */
void cli_print_json (JsonNode *node);

/* A cancellable cancelled by SIGINT/SIGTERM for as long as it lives; a
 * second signal ends the process the default way. */
GCancellable *cli_interrupt_begin (void);
void          cli_interrupt_end   (GCancellable *cancellable);

/* Progress on stderr, only when it is a terminal; cli_progress_done ends the line. */
void cli_progress      (double fraction, const char *message, gpointer user_data);
void cli_progress_done (void);

/* Class id -> name for printing; 0 -> NULL. (transfer full) */
GHashTable *cli_class_names (CuratorDb *db, GError **error);
const char *cli_class_name  (GHashTable *names, gint64 class_id);

/* Resolves a sample named by id or by relative path. Prints the error. */
CuratorDbSample *cli_find_sample (CuratorDb *db, const char *name, int *exit_code);

/* Builds the JSON object for one event. */
JsonNode *cli_event_to_json (const CuratorDbEvent *event, GHashTable *class_names);

/* Scores of the latest finished run, by sample id (gint64 *) -> CuratorDbScore.
 * Empty, with *run_out NULL, when there is no run. (transfer full) */
GHashTable *cli_latest_scores (CuratorDb *db, CuratorDbRun **run_out, GError **error);

int cli_cmd_analyze  (int argc, char **argv);
int cli_cmd_runs     (int argc, char **argv);
int cli_cmd_ls       (int argc, char **argv);
int cli_cmd_show     (int argc, char **argv);
int cli_cmd_relabel  (int argc, char **argv);
int cli_cmd_confirm  (int argc, char **argv);
int cli_cmd_exclude  (int argc, char **argv);
int cli_cmd_restore  (int argc, char **argv);
int cli_cmd_undo     (int argc, char **argv);
int cli_cmd_redo     (int argc, char **argv);
int cli_cmd_history  (int argc, char **argv);
int cli_cmd_issues   (int argc, char **argv);
int cli_cmd_accept   (int argc, char **argv);
int cli_cmd_eval     (int argc, char **argv);
int cli_cmd_report   (int argc, char **argv);
int cli_cmd_export   (int argc, char **argv);
int cli_cmd_plugins  (int argc, char **argv);

/* export --format NAME (curator-cli-plugins.c): TRUE when @name is an
 * exporter plugin rather than a built-in layout (with @error set when it is
 * neither); the export then runs it in its temporary folder. */
gboolean cli_export_format_is_plugin (const char *name, GError **error);
/* index --import NAME[:ARG]: runs the importer on @root and writes its
 * listing as a manifest beside @project (PROJECT.import-NAME.csv), whose
 * path it returns for CuratorIndexOptions.manifest. (transfer full) */
char    *cli_index_import            (const char *spec, const char *root, const char *project,
                                      GError **error);

G_END_DECLS

/* test-cli.c: the `curator` command end to end on a generated tree: index,
 * status, classes, ls, show, relabel/confirm/exclude/restore, undo/redo,
 * history; --json output parsed back; exit codes; --help everywhere. */
#include <string.h>
#include <sys/wait.h>

#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "testutil.h"

typedef struct {
  char *tmp;
  char *root;
  char *project;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->tmp = tu_mkdtemp ();
  f->root = g_build_filename (f->tmp, "data", NULL);
  f->project = g_build_filename (f->tmp, "p.curator", NULL);
  for (int i = 0; i < 6; i++)
    {
      g_autofree char *cat = g_strdup_printf ("cat/c%d.png", i);
      g_autofree char *dog = g_strdup_printf ("dog/d%d.jpg", i);

      tu_write_png (f->root, cat, 32, 32, i);
      tu_write_jpeg (f->root, dog, 32, 32, 100 + i);
    }
  tu_write_png (f->root, "bird/b0.png", 32, 32, 200);
  tu_write_png (f->root, "_unlabeled/u0.png", 32, 32, 300);
  static const char broken[] = "\xff\xd8\xff\xe0 garbage";

  tu_write_bytes (f->root, "cat/broken.jpg", broken, sizeof broken - 1);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  tu_rmdir (f->tmp);
  g_free (f->tmp);
  g_free (f->root);
  g_free (f->project);
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

/* Runs curator with --project and --json appended and returns the parsed
 * output; asserts the exit code. */
#define RUN_JSON(f, expected, ...) run_json (f, expected, __VA_ARGS__, "--project", (f)->project, "--json", NULL)

static JsonNode *
run_json (Fixture *f, int expected, const char *first, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  const char *arg;
  va_list ap;
  int status, code;

  g_ptr_array_add (args, (char *) g_getenv ("CURATOR_EXE"));
  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  if (code != expected)
    g_printerr ("stdout: %s\nstderr: %s\n", out, err);
  g_assert_cmpint (code, ==, expected);
  return expected == 0 ? parse_json (out) : NULL;
}

static gint64
member_int (JsonNode *node, const char *name)
{
  return json_object_get_int_member (json_node_get_object (node), name);
}

static gint64
find_id (Fixture *f, const char *path)
{
  g_autoptr(JsonNode) list = RUN_JSON (f, 0, "ls");
  JsonArray *a = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (strcmp (json_object_get_string_member (o, "file"), path) == 0)
        return json_object_get_int_member (o, "id");
    }
  g_assert_not_reached ();
}

static void
test_index_status (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonNode) report = RUN_JSON (f, 0, "index", f->root);
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(JsonNode) classes = NULL;
  g_autoptr(JsonNode) corrupt = NULL;

  g_assert_cmpint (member_int (report, "files"), ==, 15);
  g_assert_cmpint (member_int (report, "added"), ==, 15);
  g_assert_cmpint (member_int (report, "corrupt"), ==, 1);

  status = RUN_JSON (f, 0, "status");
  g_assert_cmpint (member_int (status, "samples"), ==, 15);
  g_assert_cmpint (member_int (status, "ok"), ==, 14);
  g_assert_cmpint (member_int (status, "corrupt"), ==, 1);
  g_assert_cmpint (member_int (status, "unlabelled"), ==, 1);

  classes = RUN_JSON (f, 0, "classes");
  g_assert_cmpint (json_array_get_length (json_node_get_array (classes)), ==, 3);

  corrupt = RUN_JSON (f, 0, "ls", "--status", "corrupt");
  g_assert_cmpint (json_array_get_length (json_node_get_array (corrupt)), ==, 1);

  again = RUN_JSON (f, 0, "index", f->root);
  g_assert_cmpint (member_int (again, "decoded"), ==, 0);
  g_assert_cmpint (member_int (again, "unchanged"), ==, 15);
}

static const char *
label_of (Fixture *f, gint64 id)
{
  g_autofree char *sid = g_strdup_printf ("%" G_GINT64_FORMAT, id);
  g_autoptr(JsonNode) show = RUN_JSON (f, 0, "show", sid);
  JsonObject *o = json_node_get_object (show);

  if (json_object_get_null_member (o, "label"))
    return NULL;
  return g_intern_string (json_object_get_string_member (o, "label"));
}

static void
test_decisions_and_undo (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonNode) report = RUN_JSON (f, 0, "index", f->root);
  gint64 id = find_id (f, "cat/c0.png");
  g_autofree char *sid = g_strdup_printf ("%" G_GINT64_FORMAT, id);
  g_autoptr(JsonNode) show = NULL;
  g_autoptr(JsonNode) cats = NULL;
  JsonArray *history;

  g_assert_cmpstr (label_of (f, id), ==, "cat");
  json_node_unref (RUN_JSON (f, 0, "relabel", sid, "dog"));
  g_assert_cmpstr (label_of (f, id), ==, "dog");
  /* By path works too. */
  json_node_unref (RUN_JSON (f, 0, "relabel", "cat/c0.png", "bird"));
  g_assert_cmpstr (label_of (f, id), ==, "bird");

  json_node_unref (RUN_JSON (f, 0, "undo"));
  g_assert_cmpstr (label_of (f, id), ==, "dog");
  json_node_unref (RUN_JSON (f, 0, "undo"));
  g_assert_cmpstr (label_of (f, id), ==, "cat");
  json_node_unref (RUN_JSON (f, 0, "redo"));
  g_assert_cmpstr (label_of (f, id), ==, "dog");

  show = RUN_JSON (f, 0, "show", sid);
  history = json_object_get_array_member (json_node_get_object (show), "history");
  g_assert_cmpint (json_array_get_length (history), ==, 5);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (show), "given_label"), ==, "cat");

  json_node_unref (RUN_JSON (f, 0, "exclude", sid));
  {
    g_autoptr(JsonNode) excluded = RUN_JSON (f, 0, "show", sid);
    g_assert_true (json_object_get_boolean_member (json_node_get_object (excluded), "excluded"));
  }
  json_node_unref (RUN_JSON (f, 0, "restore", sid));
  json_node_unref (RUN_JSON (f, 0, "confirm", sid));

  /* ls --class follows the current label. */
  cats = RUN_JSON (f, 0, "ls", "--class", "cat");
  g_assert_cmpint (json_array_get_length (json_node_get_array (cats)), ==, 6); /* 7 files, 1 relabelled */

  /* A batch with one bad sample records nothing. */
  run_json (f, 3, "relabel", "cat/c1.png", "99999", "dog", "--project", f->project, NULL);
  g_assert_cmpstr (label_of (f, find_id (f, "cat/c1.png")), ==, "cat");

  /* A command on several samples is one step for undo and for redo. */
  {
    g_autoptr(JsonNode) undone = NULL;
    json_node_unref (RUN_JSON (f, 0, "relabel", "cat/c1.png", "cat/c2.png", "cat/c3.png", "bird"));
    g_assert_cmpstr (label_of (f, find_id (f, "cat/c2.png")), ==, "bird");
    undone = RUN_JSON (f, 0, "undo");
    g_assert_cmpint (member_int (undone, "n_decisions"), ==, 3);
    for (int i = 1; i <= 3; i++)
      {
        g_autofree char *path = g_strdup_printf ("cat/c%d.png", i);
        g_assert_cmpstr (label_of (f, find_id (f, path)), ==, "cat");
      }
    json_node_unref (RUN_JSON (f, 0, "redo"));
    for (int i = 1; i <= 3; i++)
      {
        g_autofree char *path = g_strdup_printf ("cat/c%d.png", i);
        g_assert_cmpstr (label_of (f, find_id (f, path)), ==, "bird");
      }
  }
}

static void
test_exit_codes (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonNode) report = RUN_JSON (f, 0, "index", f->root);

  g_assert_cmpint (tu_run (NULL, NULL, "status", NULL), ==, 2);          /* no project */
  g_assert_cmpint (tu_run (NULL, NULL, "frobnicate", NULL), ==, 2);      /* no such command */
  g_assert_cmpint (tu_run (NULL, NULL, "show", "424242", "--project", f->project, NULL), ==, 3);
  g_assert_cmpint (tu_run (NULL, NULL, "relabel", "1", "no-such-class", "--project", f->project, NULL), ==, 3);
  g_assert_cmpint (tu_run (NULL, NULL, "status", "--project", "/nonexistent/p.curator", NULL), ==, 3);
  g_assert_cmpint (tu_run (NULL, NULL, "ls", "--status", "weird", "--project", f->project, NULL), ==, 2);
  g_assert_cmpint (tu_run (NULL, &err, "index", "/nonexistent/data", "--project", f->project, NULL), ==, 3);
  g_assert_nonnull (strstr (err, "does not exist"));

  /* A project from a newer Curator is refused with its own code, untouched. */
  {
    sqlite3 *handle = NULL;
    g_assert_cmpint (sqlite3_open (f->project, &handle), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (handle, "PRAGMA user_version = 999", NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close (handle);
  }
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tu_run (NULL, &err, "status", "--project", f->project, NULL), ==, 4);
  g_assert_nonnull (strstr (err, "newer"));
}

static void
test_help_everywhere (Fixture *f, gconstpointer data)
{
  const char *commands[] = { "index", "status", "classes", "ls", "show", "relabel", "confirm", "verify",
                             "exclude", "restore", "undo", "redo", "history" };
  g_autofree char *top = NULL;

  g_assert_cmpint (tu_run (&top, NULL, "--help", NULL), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *out = NULL;

      g_assert_nonnull (strstr (top, commands[i]));
      g_assert_cmpint (tu_run (&out, NULL, commands[i], "--help", NULL), ==, 0);
      g_assert_nonnull (strstr (out, "--project"));
    }
}

static void
test_human_output (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (tu_run (NULL, NULL, "index", f->root, "--project", f->project, NULL), ==, 0);
  g_assert_cmpint (tu_run (&out, NULL, "status", "--project", f->project, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "15: 14 ok, 1 corrupt"));
  g_assert_nonnull (strstr (out, "dog"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (tu_run (&out, NULL, "show", "cat/broken.jpg", "--project", f->project, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "corrupt"));
}

/* The demo maker writes a stratified, seeded, noisy dataset that indexes
 * cleanly, with the truth beside it. */
static void
test_make_demo (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->tmp, "demo", "fashion", NULL);
  g_autofree char *csv_path = g_build_filename (out, "labels.csv", NULL);
  g_autofree char *csv = NULL;
  g_autofree char *project = g_build_filename (f->tmp, "demo.curator", NULL);
  g_auto(GStrv) lines = NULL;
  const char *argv[] = { g_getenv ("CURATOR_MAKE_DEMO"), out, "--count", "200", "--noise", "0.25",
                         "--seed", "3", NULL };
  int status, wrong = 0, rows = 0;
  g_autoptr(GError) error = NULL;

  if (!g_file_test ("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Debian's dataset-fashion-mnist is not installed");
      return;
    }
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
  lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "file,given_label,true_label");
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;

      if (*lines[i] == '\0')
        continue;
      fields = g_strsplit (lines[i], ",", -1);
      g_assert_cmpint (g_strv_length (fields), ==, 3);
      rows++;
      if (g_strcmp0 (fields[1], fields[2]) != 0)
        wrong++;
      /* The folder is the given label. */
      g_assert_true (g_str_has_prefix (fields[0], fields[1]));
    }
  g_assert_cmpint (rows, ==, 200);
  g_assert_cmpint (wrong, ==, 50);
  {
    g_autoptr(JsonNode) report = run_json (f, 0, "index", out, "--project", project, "--json", NULL);
    g_assert_cmpint (member_int (report, "added"), ==, 200);
    g_assert_cmpint (member_int (report, "corrupt"), ==, 0);
  }
  /* Refuses to overwrite. */
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, NULL, NULL, &status, &error);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) != 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/cli/" name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("index-status", test_index_status);
  ADD ("decisions-and-undo", test_decisions_and_undo);
  ADD ("exit-codes", test_exit_codes);
  ADD ("help-everywhere", test_help_everywhere);
  ADD ("human-output", test_human_output);
  ADD ("make-demo", test_make_demo);
#undef ADD
  return g_test_run ();
}

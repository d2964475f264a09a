/* test-crash.c: crash consistency of the project file and of exports. The
 * real `curator` program ($CURATOR_EXE) runs batch decisions, `index`,
 * `analyze` and `export` in a child process that is killed with SIGKILL at
 * random (seeded: rerun with --seed to repeat) points. After every kill the
 * project passes PRAGMA integrity_check and the library's own consistency
 * check, every decision acknowledged before the kill (the command exited 0 or
 * printed its acknowledgement) is in the log, the next run completes, and an
 * export folder is either complete or absent. A second test interrupts
 * `analyze` and `index` with SIGINT at random points and measures how long
 * they take to stop (reported; only a hang fails).
 *
 * The number of kills is CURATOR_CRASH_KILLS (default 56, about 30 s in an
 * optimised build; 16 under AddressSanitizer, where every child is slower). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "curator-db.h"
#include "testutil.h"

/* Under AddressSanitizer every child is several times slower: fewer kills,
 * and no relearning ones (the optimised build covers that stage). */
#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_KILLS 16
#define SANITIZED TRUE
#else
#define DEFAULT_KILLS 56
#define SANITIZED FALSE
#endif

#define N_CLASSES 4
#define N_PER_CLASS 50
#define BATCH 3            /* samples per decision command */
#define MAX_LATENCY_S 5.0  /* SIGINT to exit: a hang, not slowness, fails */

static const char *const class_names[N_CLASSES] = { "ant", "bee", "cat", "dog" };

/* Small and quick, but the whole pipeline: dictionary, features, folds. */
#define ANALYZE_ARGS "--folds", "2", "--rounds", "1", "--centroids", "16", "--epochs", "5"

typedef struct {
  char       *tmp;
  char       *root;
  char       *project;
  char       *out;        /* export folder */
  GHashTable *acked;      /* note -> expected number of events (GINT_TO_POINTER) */
  guint       n_kills;
  guint       n_partial;  /* killed batches found half recorded */
  guint       n_stale_tmp;
  guint       n_commands; /* decision commands run, for unique notes */
} Fixture;

typedef struct {
  int      status;    /* exit code, or 128 + signal */
  gboolean killed;    /* we sent the signal before it ended */
  char    *out;
  char    *err;
  double   seconds;   /* from spawn, or from the signal when killed */
} Outcome;

static void
outcome_clear (Outcome *o)
{
  g_clear_pointer (&o->out, g_free);
  g_clear_pointer (&o->err, g_free);
}

static guint
kills_wanted (void)
{
  const char *env = g_getenv ("CURATOR_CRASH_KILLS");
  char *end = NULL;
  gint64 n;

  if (env == NULL)
    return DEFAULT_KILLS;
  n = g_ascii_strtoll (env, &end, 10);
  g_assert_true (end != env && *end == '\0' && n >= 4 && n <= 10000);
  return (guint) n;
}

static char *
read_back (int fd)
{
  g_autoptr(GString) text = g_string_new (NULL);
  char buf[4096];
  ssize_t n;

  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  while ((n = read (fd, buf, sizeof buf)) > 0)
    g_string_append_len (text, buf, n);
  close (fd);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static int
scratch_fd (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->tmp, "output-XXXXXX", NULL);
  int fd = g_mkstemp (path);

  g_assert_cmpint (fd, >=, 0);
  g_unlink (path);
  return fd;
}

/* Runs curator with @args (NULL-terminated, without the program) and sends
 * it @signum once @after_us have passed, unless it ended before. A negative
 * @after_us never signals. */
static void
run_curator (Fixture *f, const char *const *args, gint64 after_us, int signum, Outcome *o)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int out_fd = scratch_fd (f), err_fd = scratch_fd (f);
  gint64 start, signalled = 0;
  GPid pid;
  int status = 0;

  memset (o, 0, sizeof *o);
  g_ptr_array_add (argv, (char *) g_getenv ("CURATOR_EXE"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  start = g_get_monotonic_time ();
  g_spawn_async_with_pipes_and_fds (NULL, (const char *const *) argv->pdata, NULL,
                                    G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                    -1, out_fd, err_fd, NULL, NULL, 0,
                                    &pid, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (;;)
    {
      pid_t done = waitpid (pid, &status, signalled ? 0 : WNOHANG);

      if (done == pid)
        break;
      g_assert_true (done == 0 || (done < 0 && errno == EINTR));
      if (done == 0 && after_us >= 0 && g_get_monotonic_time () - start >= after_us)
        {
          g_assert_cmpint (kill (pid, signum), ==, 0);
          signalled = g_get_monotonic_time ();
          o->killed = TRUE;
        }
      else if (done == 0)
        g_usleep (200);
    }
  o->seconds = (g_get_monotonic_time () - (signalled ? signalled : start)) / (double) G_USEC_PER_SEC;
  g_spawn_close_pid (pid);
  o->status = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  o->out = read_back (out_fd);
  o->err = read_back (err_fd);
}

/* Runs curator to its end and asserts it exited 0. */
static void
run_ok (Fixture *f, const char *const *args)
{
  Outcome o;

  run_curator (f, args, -1, 0, &o);
  if (o.status != 0)
    g_error ("curator %s exited %d: %s", args[0], o.status, o.err);
  outcome_clear (&o);
}

/* A random point in [0, 1.1 * typical_us): kills land anywhere from process
 * start to just after a normal end. */
static gint64
random_point (gint64 typical_us)
{
  return g_test_rand_int_range (0, (gint32) MAX (2, MIN (typical_us * 11 / 10, G_MAXINT32)));
}

static gint64
time_run (Fixture *f, const char *const *args)
{
  gint64 start = g_get_monotonic_time ();

  run_ok (f, args);
  return g_get_monotonic_time () - start;
}

/* ---- checks -------------------------------------------------------------- */

/* SQLite's own check, with a connection of our own rather than the
 * library's; then the library's check (foreign keys, derived labels = what
 * the events say); then every acknowledged decision is in the log. */
static void
check_project (Fixture *f, const char *project, gboolean with_decisions)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GHashTable) by_note = NULL;
  GHashTableIter iter;
  gpointer key, value;
  sqlite3 *s = NULL;
  sqlite3_stmt *stmt = NULL;

  if (!g_file_test (project, G_FILE_TEST_EXISTS))
    return;   /* killed before it was created */
  g_assert_cmpint (sqlite3_open_v2 (project, &s, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (s, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (s, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
  sqlite3_close (s);

  db = curator_db_open (project, FALSE, &error);
  if (db == NULL && g_error_matches (error, CURATOR_ERROR, CURATOR_ERROR_INVALID) &&
      strstr (error->message, "empty file") != NULL)
    return;   /* killed before the schema's first transaction committed */
  g_assert_no_error (error);
  g_assert_true (curator_db_check_integrity (db, &error));
  g_assert_no_error (error);
  if (!with_decisions)
    return;

  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  by_note = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < events->len; i++)
    {
      CuratorDbEvent *e = g_ptr_array_index (events, i);

      if (e->note != NULL)
        g_hash_table_insert (by_note, e->note,
                             GINT_TO_POINTER (GPOINTER_TO_INT (g_hash_table_lookup (by_note, e->note)) + 1));
    }
  g_hash_table_iter_init (&iter, f->acked);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      int found = GPOINTER_TO_INT (g_hash_table_lookup (by_note, key));

      if (found != GPOINTER_TO_INT (value))
        g_error ("acknowledged decision '%s': %d of %d events in the log",
                 (const char *) key, found, GPOINTER_TO_INT (value));
    }
}

static char *
export_card (const char *out)
{
  return g_build_filename (out, "curation.json", NULL);
}

/* An export folder is complete: its card says it is Curator's, and every
 * file its sources.csv lists is there. */
static void
check_export_complete (const char *out)
{
  g_autofree char *card = export_card (out);
  g_autofree char *readme = g_build_filename (out, "README.md", NULL);
  g_autofree char *sources = g_build_filename (out, "sources.csv", NULL);
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  guint n_files = 0;

  g_assert_true (json_parser_load_from_file (parser, card, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)), "tool"),
                   ==, "curator");
  g_assert_true (g_file_test (readme, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_get_contents (sources, &text, NULL, &error));
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  g_assert_true (g_str_has_prefix (lines[0], "split,file,"));
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      g_autofree char *path = NULL;

      if (lines[i][0] == '\0')
        continue;
      fields = g_strsplit (lines[i], ",", 3);
      g_assert_nonnull (fields[1]);
      path = g_build_filename (out, fields[1], NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        g_error ("export %s is incomplete: %s is missing", out, fields[1]);
      n_files++;
    }
  g_assert_cmpuint (n_files, >, 0);
}

/* Temporary export folders a killed export left next to OUT (hidden, never
 * under OUT's name). */
static guint
count_stale_exports (Fixture *f)
{
  g_autoptr(GDir) dir = g_dir_open (f->tmp, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, ".out.curator-tmp-"))
      n++;
  return n;
}

/* ---- fixture ------------------------------------------------------------- */

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->tmp = tu_mkdtemp ();
  f->root = g_build_filename (f->tmp, "data", NULL);
  f->project = g_build_filename (f->tmp, "p.curator", NULL);
  f->out = g_build_filename (f->tmp, "out", NULL);
  f->acked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Every fifth picture is larger, so that index and export last long
   * enough for kills to land inside their loops, not only around them. */
  for (int c = 0; c < N_CLASSES; c++)
    for (int i = 0; i < N_PER_CLASS; i++)
      {
        g_autofree char *rel = g_strdup_printf ("%s/%s%02d.%s", class_names[c], class_names[c], i,
                                                i % 5 == 0 ? "jpg" : "png");
        guint seed = (guint) (c * 1000 + i);

        if (i % 5 == 0)
          tu_write_jpeg (f->root, rel, 256, 192, seed);
        else
          tu_write_png (f->root, rel, 32, 32, seed);
      }
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  tu_rmdir (f->tmp);
  g_free (f->tmp);
  g_free (f->root);
  g_free (f->project);
  g_free (f->out);
  g_hash_table_unref (f->acked);
}

/* ---- decisions ----------------------------------------------------------- */

/* One batch command valid for the project's current state (a relabel to a
 * label a sample already has, or excluding an excluded one, is refused, and
 * a killed command may or may not have landed): fills @args and returns the
 * number of samples it decides on. */
static int
plan_decision (Fixture *f, GPtrArray *args, const char *note)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = curator_db_open (f->project, FALSE, &error);
  g_autoptr(GPtrArray) samples = NULL;
  g_autoptr(GPtrArray) pool = g_ptr_array_new ();
  gboolean used[N_CLASSES] = { FALSE };
  int kind = g_test_rand_int_range (0, 3);   /* relabel, confirm, exclude/restore */
  gboolean restore = g_test_rand_int_range (0, 2);

  g_assert_no_error (error);
  samples = curator_db_list_samples (db, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < samples->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, i);

      if (kind != 2 || (restore ? s->excluded : !s->excluded))
        g_ptr_array_add (pool, s);
    }
  if (pool->len < BATCH)
    {
      /* Nothing to restore yet: exclude instead. */
      g_assert_true (kind == 2 && restore);
      return plan_decision (f, args, note);
    }
  g_ptr_array_add (args, g_strdup (kind == 0 ? "relabel" : kind == 1 ? "confirm"
                                   : restore ? "restore" : "exclude"));
  for (int b = 0; b < BATCH; b++)
    {
      guint pick = g_test_rand_int_range (0, (gint32) pool->len);
      CuratorDbSample *s = g_ptr_array_steal_index_fast (pool, pick);
      g_autofree char *name = NULL;

      for (int c = 0; c < N_CLASSES; c++)
        if (s->current_label == curator_db_lookup_class (db, class_names[c]))
          used[c] = TRUE;
      g_ptr_array_add (args, g_strdup_printf ("%" G_GINT64_FORMAT, s->id));
    }
  if (kind == 0)
    for (int c = 0; c < N_CLASSES; c++)
      if (!used[c])
        {
          g_ptr_array_add (args, g_strdup (class_names[c]));
          break;
        }
  g_ptr_array_add (args, g_strdup ("--note"));
  g_ptr_array_add (args, g_strdup (note));
  g_ptr_array_add (args, g_strdup ("--project"));
  g_ptr_array_add (args, g_strdup (f->project));
  g_ptr_array_add (args, NULL);
  return BATCH;
}

static int
events_with_note (Fixture *f, const char *note)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = curator_db_open (f->project, FALSE, &error);
  g_autoptr(GPtrArray) events = NULL;
  int n = 0;

  g_assert_no_error (error);
  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < events->len; i++)
    if (g_strcmp0 (((CuratorDbEvent *) g_ptr_array_index (events, i))->note, note) == 0)
      n++;
  return n;
}

/* Runs a few decision commands one after another and kills whichever runs
 * when the random moment comes. */
static void
kill_decisions (Fixture *f, guint n_kills, gint64 typical_us)
{
  guint iteration = 0;

  for (guint k = 0; k < n_kills; iteration++)
    {
      gint64 deadline = g_get_monotonic_time () + random_point (3 * typical_us);

      g_assert_cmpuint (iteration, <, 20 * n_kills);
      for (int n_run = 0; n_run < 3; n_run++)
        {
          g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
          g_autofree char *note = g_strdup_printf ("crash-%u", f->n_commands++);
          int n = plan_decision (f, args, note);
          gint64 left = deadline - g_get_monotonic_time ();
          Outcome o;

          if (left <= 0)
            break;
          run_curator (f, (const char *const *) args->pdata, left, SIGKILL, &o);
          if (o.status == 0 || strstr (o.out, " sample") != NULL)
            g_hash_table_insert (f->acked, g_strdup (note), GINT_TO_POINTER (n));
          else
            g_assert_true (o.killed);   /* a refusal would be our bug or curator's */
          if (o.killed && o.status == 128 + SIGKILL)
            {
              int landed;

              k++;
              check_project (f, f->project, TRUE);
              /* One transaction per batch gives 0 or all; counted, not
               * asserted, so that per-sample commits also pass. */
              landed = events_with_note (f, note);
              if (landed != 0 && landed != n)
                f->n_partial++;
              outcome_clear (&o);
              break;
            }
          outcome_clear (&o);
        }
    }
  f->n_kills += n_kills;
}

/* ---- index --------------------------------------------------------------- */

static gint64
count_ok_samples (const char *project)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = curator_db_open (project, FALSE, &error);
  g_autoptr(GPtrArray) samples = NULL;
  gint64 n = 0;

  g_assert_no_error (error);
  samples = curator_db_list_samples (db, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < samples->len; i++)
    if (((CuratorDbSample *) g_ptr_array_index (samples, i))->status == CURATOR_SAMPLE_OK)
      n++;
  return n;
}

static void
remove_project (const char *project)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *path = g_strconcat (project, suffixes[i], NULL);

      g_unlink (path);
    }
}

/* Even kills: a fresh project (creation, schema, first index); odd ones:
 * `index --reread` of the main project, which holds decisions. After each,
 * the next index completes with every file read. */
static void
kill_index (Fixture *f, guint n_kills)
{
  g_autofree char *fresh = g_build_filename (f->tmp, "fresh.curator", NULL);
  const char *fresh_args[] = { "index", f->root, "--project", fresh, NULL };
  const char *reread_args[] = { "index", "--reread", f->root, "--project", f->project, NULL };
  gint64 typical_fresh, typical_reread;
  guint iteration = 0;

  typical_fresh = time_run (f, fresh_args);
  typical_reread = time_run (f, reread_args);
  for (guint k = 0; k < n_kills; iteration++)
    {
      gboolean is_fresh = k % 2 == 0;
      const char *project = is_fresh ? fresh : f->project;
      const char *const *args = is_fresh ? fresh_args : reread_args;
      Outcome o;

      g_assert_cmpuint (iteration, <, 20 * n_kills);
      if (is_fresh)
        remove_project (fresh);
      run_curator (f, args, random_point (is_fresh ? typical_fresh : typical_reread), SIGKILL, &o);
      if (o.killed && o.status == 128 + SIGKILL)
        {
          k++;
          check_project (f, project, !is_fresh);
        }
      else
        g_assert_cmpint (o.status, ==, 0);
      outcome_clear (&o);
      /* The next run completes: every picture indexed and readable. */
      run_ok (f, args);
      g_assert_cmpint (count_ok_samples (project), ==, N_CLASSES * N_PER_CLASS);
      check_project (f, project, !is_fresh);
    }
  f->n_kills += n_kills;
}

/* ---- analyze ------------------------------------------------------------- */

static void
count_runs (const char *project, guint *n_done, guint *n_running)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = curator_db_open (project, FALSE, &error);
  g_autoptr(GPtrArray) runs = NULL;

  g_assert_no_error (error);
  runs = curator_db_list_runs (db, &error);
  g_assert_no_error (error);
  *n_done = *n_running = 0;
  for (guint i = 0; i < runs->len; i++)
    {
      const char *status = ((CuratorDbRun *) g_ptr_array_index (runs, i))->status;

      *n_done += g_strcmp0 (status, "done") == 0;
      *n_running += g_strcmp0 (status, "running") == 0;
    }
}

/* One kill in four relearns the dictionary (the longest stage on tiny
 * data), the others use the cached one and so land in the later stages;
 * after the last, an analysis runs to its end. */
static void
kill_analyze (Fixture *f, guint n_kills)
{
  const char *relearn_args[] = { "analyze", ANALYZE_ARGS, "--relearn", "--project", f->project, NULL };
  const char *cached_args[] = { "analyze", ANALYZE_ARGS, "--project", f->project, NULL };
  gint64 typical_relearn, typical_cached;
  guint n_done_before, n_done, n_running;
  guint iteration = 0;

  typical_relearn = time_run (f, relearn_args);
  typical_cached = time_run (f, cached_args);
  count_runs (f->project, &n_done_before, &n_running);
  g_assert_cmpuint (n_running, ==, 0);
  for (guint k = 0; k < n_kills; iteration++)
    {
      gboolean relearn = k % 4 == 0 && !SANITIZED;
      Outcome o;

      g_assert_cmpuint (iteration, <, 20 * n_kills);
      run_curator (f, relearn ? relearn_args : cached_args,
                   random_point (relearn ? typical_relearn : typical_cached), SIGKILL, &o);
      if (o.killed && o.status == 128 + SIGKILL)
        {
          k++;
          check_project (f, f->project, TRUE);
        }
      else
        g_assert_cmpint (o.status, ==, 0);
      outcome_clear (&o);
    }
  /* The lock died with its holder: the next analysis runs, to the end. */
  run_ok (f, cached_args);
  check_project (f, f->project, TRUE);
  count_runs (f->project, &n_done, &n_running);
  g_assert_cmpuint (n_done, >, n_done_before);
  /* The next analysis closed the runs killed ones began. */
  g_assert_cmpuint (n_running, ==, 0);
  f->n_kills += n_kills;
}

/* ---- export -------------------------------------------------------------- */

/* Alternates a first export (OUT absent) and a replacing one (--force over
 * an earlier export): either way, OUT is absent or complete after a kill,
 * and after a replacing kill it still exists (the old or the new one). */
static void
kill_export (Fixture *f, guint n_kills)
{
  const char *first_args[] = { "export", f->out, "--flagged", "keep", "--files", "copy",
                               "--project", f->project, NULL };
  const char *force_args[] = { "export", f->out, "--flagged", "keep", "--files", "copy", "--force",
                               "--project", f->project, NULL };
  gint64 typical;
  guint iteration = 0;

  typical = time_run (f, first_args);
  check_export_complete (f->out);
  for (guint k = 0; k < n_kills; iteration++)
    {
      gboolean replace = k % 2 == 1;
      Outcome o;

      g_assert_cmpuint (iteration, <, 20 * n_kills);
      if (!replace)
        tu_rmdir (f->out);
      run_curator (f, replace ? force_args : first_args, random_point (typical), SIGKILL, &o);
      if (o.killed && o.status == 128 + SIGKILL)
        {
          k++;
          if (replace)
            g_assert_true (g_file_test (f->out, G_FILE_TEST_IS_DIR));
          if (g_file_test (f->out, G_FILE_TEST_EXISTS))
            check_export_complete (f->out);
          check_project (f, f->project, TRUE);
        }
      else
        g_assert_cmpint (o.status, ==, 0);
      outcome_clear (&o);
      /* The next export completes. */
      run_ok (f, g_file_test (f->out, G_FILE_TEST_EXISTS) ? force_args : first_args);
      check_export_complete (f->out);
    }
  f->n_stale_tmp = count_stale_exports (f);
  f->n_kills += n_kills;
}

static void
test_kill_anywhere (Fixture *f, gconstpointer data)
{
  const char *index_args[] = { "index", f->root, "--project", f->project, NULL };
  guint total = kills_wanted ();
  guint n_decide = total * 3 / 7, n_rest = (total - n_decide) / 3;
  gint64 typical_decision, t;

  run_ok (f, index_args);
  {
    /* How long one decision command takes here, for the kill points. */
    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
    int n = plan_decision (f, args, "warm-up");
    gint64 start = g_get_monotonic_time ();

    run_ok (f, (const char *const *) args->pdata);
    typical_decision = g_get_monotonic_time () - start;
    g_hash_table_insert (f->acked, g_strdup ("warm-up"), GINT_TO_POINTER (n));
  }

  t = g_get_monotonic_time ();
  kill_decisions (f, n_decide, typical_decision);
  g_test_message ("decisions: %u kills in %.1f s", n_decide, (g_get_monotonic_time () - t) / 1e6);
  t = g_get_monotonic_time ();
  kill_index (f, n_rest);
  g_test_message ("index: %u kills in %.1f s", n_rest, (g_get_monotonic_time () - t) / 1e6);
  t = g_get_monotonic_time ();
  kill_analyze (f, n_rest);
  g_test_message ("analyze: %u kills in %.1f s", n_rest, (g_get_monotonic_time () - t) / 1e6);
  t = g_get_monotonic_time ();
  kill_export (f, total - n_decide - 2 * n_rest);
  g_test_message ("export: %u kills in %.1f s", total - n_decide - 2 * n_rest, (g_get_monotonic_time () - t) / 1e6);
  /* More decisions after all that, then everything acknowledged is there. */
  kill_decisions (f, 2, typical_decision);
  check_project (f, f->project, TRUE);

  g_assert_cmpuint (f->n_kills, >=, total);
  g_test_message ("%u SIGKILLs survived; %u acknowledged decision commands all present; "
                  "%u killed batches half recorded; %u temporary export folders left behind",
                  f->n_kills, g_hash_table_size (f->acked), f->n_partial, f->n_stale_tmp);
}

/* A run that a killed analysis began is closed as "failed" by the next
 * analysis, which holds the lock and so knows no other is alive. */
static void
test_killed_run_closed (Fixture *f, gconstpointer data)
{
  const char *index_args[] = { "index", f->root, "--project", f->project, NULL };
  const char *analyze_args[] = { "analyze", ANALYZE_ARGS, "--relearn", "--project", f->project, NULL };
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  guint n_done, n_running;
  GPid pid;
  int status;

  run_ok (f, index_args);
  g_ptr_array_add (argv, (char *) g_getenv ("CURATOR_EXE"));
  for (guint i = 0; analyze_args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) analyze_args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_async (NULL, (char **) argv->pdata, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  /* Killed once its run is recorded (relearning takes seconds). */
  for (n_running = 0; n_running == 0;)
    {
      g_assert_cmpint (waitpid (pid, &status, WNOHANG), ==, 0);
      g_usleep (G_USEC_PER_SEC / 100);
      count_runs (f->project, &n_done, &n_running);
    }
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);

  run_ok (f, analyze_args);
  check_project (f, f->project, FALSE);
  count_runs (f->project, &n_done, &n_running);
  g_assert_cmpuint (n_done, ==, 1);
  g_assert_cmpuint (n_running, ==, 0);
}

/* ---- SIGINT -------------------------------------------------------------- */

/* Interrupts the command at random points of a typical run and returns the
 * slowest stop, with where in the run (0..1) the signal came. A stop is exit
 * code 130 (cancelled), death by the signal itself (before the handler is
 * in place) or 0 (it had finished). */
static double
interrupt_at_random (Fixture *f, const char *const *args, guint n_trials, guint *n_cancelled,
                     double *slowest_at)
{
  gint64 typical = time_run (f, args);
  double slowest = 0;

  *n_cancelled = 0;
  *slowest_at = 0;
  for (guint t = 0; t < n_trials; t++)
    {
      gint64 at = random_point (typical);
      Outcome o;

      run_curator (f, args, at, SIGINT, &o);
      if (o.killed)
        {
          g_assert_true (o.status == 130 || o.status == 128 + SIGINT || o.status == 0);
          *n_cancelled += o.status == 130;
          if (o.seconds > slowest)
            {
              slowest = o.seconds;
              *slowest_at = at / (double) typical;
            }
        }
      else
        g_assert_cmpint (o.status, ==, 0);
      outcome_clear (&o);
    }
  return slowest;
}

static void
test_interrupt (Fixture *f, gconstpointer data)
{
  const char *index_args[] = { "index", "--reread", f->root, "--project", f->project, NULL };
  /* Default epochs and self-training rounds: every stage of the pipeline
   * (under ASan without relearning the dictionary after the first run). */
  const char *analyze_args[] = { "analyze", "--folds", "2", "--centroids", "16", "--project", f->project,
                                 SANITIZED ? NULL : "--relearn", NULL };
  guint n_trials = SANITIZED ? 2 : 5;
  guint n_index, n_analyze, n_done, n_running;
  double index_s, analyze_s, index_at, analyze_at;

  run_ok (f, index_args);
  index_s = interrupt_at_random (f, index_args, n_trials, &n_index, &index_at);
  analyze_s = interrupt_at_random (f, analyze_args, n_trials, &n_analyze, &analyze_at);
  g_test_message ("SIGINT to exit, slowest of %u: index %.3f s (%u cancelled; signal at %.0f%% of a run), "
                  "analyze %.3f s (%u cancelled; at %.0f%%)", n_trials, index_s, n_index, 100 * index_at,
                  analyze_s, n_analyze, 100 * analyze_at);
  g_assert_cmpfloat (index_s, <, MAX_LATENCY_S);
  g_assert_cmpfloat (analyze_s, <, MAX_LATENCY_S);
  /* A cancelled analysis records itself as such, never left "running". */
  check_project (f, f->project, FALSE);
  count_runs (f->project, &n_done, &n_running);
  g_assert_cmpuint (n_running, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("CURATOR_EXE") == NULL)
    {
      g_printerr ("test-crash needs CURATOR_EXE (run it through meson test)\n");
      return 77;
    }
  g_test_add ("/crash/kill-anywhere", Fixture, NULL, fixture_set_up, test_kill_anywhere, fixture_tear_down);
  g_test_add ("/crash/killed-run-closed", Fixture, NULL, fixture_set_up, test_killed_run_closed, fixture_tear_down);
  g_test_add ("/crash/interrupt", Fixture, NULL, fixture_set_up, test_interrupt, fixture_tear_down);
  return g_test_run ();
}

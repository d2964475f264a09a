/* test-concurrency.c: one project written by several programs at once, as
 * happens when the desktop program is open while a script runs the CLI.
 *
 * - The core library used the way the GUI uses it (curator_db_open once,
 *   then one curator_db_record_decision per key press) records decisions in
 *   this process while `curator relabel|confirm|exclude|restore` children
 *   and a `curator index --reread` write the same file: every decision
 *   lands, every command exits 0, and no "database is locked" (or any busy
 *   error) reaches the user; each sample ends with exactly the label its
 *   own decisions give it.
 * - Two `curator analyze` at once: the second is refused at once with a
 *   clear message and exit code 5 (busy), the first completes, and the
 *   project stays consistent; the same when the analysis holding the lock
 *   runs inside this process (the GUI's worker thread), which is then
 *   cancelled and recorded as such. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "curator-analyze.h"
#include "curator-db.h"
#include "testutil.h"

#define N_CLASSES 4
#define N_PER_CLASS 24
#define N_CLI_THREADS 2
#define CLI_BATCH 3
#if defined(__SANITIZE_ADDRESS__)
#define CLI_COMMANDS 10       /* per CLI thread; each child is slow here */
#else
#define CLI_COMMANDS 24
#endif
#define GUI_PAUSE_US 2000     /* between in-process decisions: still far faster than a person */
#define GUI_DECISIONS 160
#define N_INDEX_RUNS 3

static const char *const class_names[N_CLASSES] = { "ant", "bee", "cat", "dog" };

typedef struct {
  char *tmp;
  char *root;
  char *project;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;

  f->tmp = tu_mkdtemp ();
  f->root = g_build_filename (f->tmp, "data", NULL);
  f->project = g_build_filename (f->tmp, "p.curator", NULL);
  for (int c = 0; c < N_CLASSES; c++)
    for (int i = 0; i < N_PER_CLASS; i++)
      {
        g_autofree char *rel = g_strdup_printf ("%s/%02d.png", class_names[c], i);

        tu_write_png (f->root, rel, 32, 32, (guint) (c * 100 + i));
      }
  if (tu_run (&out, &err, "index", f->root, "--project", f->project, NULL) != 0)
    g_error ("index failed: %s", err);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  tu_rmdir (f->tmp);
  g_free (f->tmp);
  g_free (f->root);
  g_free (f->project);
}

/* What reached the user from one command, if anything went wrong. */
static gboolean
mentions_busy (const char *text)
{
  g_autofree char *lower = g_ascii_strdown (text != NULL ? text : "", -1);

  return strstr (lower, "locked") != NULL || strstr (lower, "busy") != NULL ||
         strstr (lower, "in use by another") != NULL;
}

/* ---- decisions from everywhere at once ----------------------------------- */

/* A writer owns a set of samples and knows their state, since nobody else
 * decides on them: so every decision it makes is valid, and the expected
 * final label of each is known. */
typedef struct {
  Fixture   *f;
  int        id;            /* 0: the in-process "GUI"; 1..: CLI threads */
  gint64    *samples;       /* owned */
  int       *label;         /* class index per owned sample */
  gboolean  *excluded;
  int        n_samples;
  guint      n_events;      /* decisions that were acknowledged */
  GString   *failures;      /* what went wrong, for the assertion message */
  gint      *n_others;      /* atomic: child-process writers still at work */
} Writer;

static void
writer_fail (Writer *w, const char *what, const char *detail)
{
  g_string_append_printf (w->failures, "writer %d: %s: %s\n", w->id, what, detail ? detail : "");
}

/* The step-th decision of a cycle on owned sample @i: relabel to the next
 * class, confirm, exclude, restore. */
static CuratorAction
cycle_action (guint step)
{
  static const CuratorAction cycle[] = { CURATOR_ACTION_RELABEL, CURATOR_ACTION_CONFIRM,
                                         CURATOR_ACTION_EXCLUDE, CURATOR_ACTION_RESTORE };

  return cycle[step % G_N_ELEMENTS (cycle)];
}

static void
writer_apply (Writer *w, int i, CuratorAction action)
{
  if (action == CURATOR_ACTION_RELABEL)
    w->label[i] = (w->label[i] + 1) % N_CLASSES;
  else if (action == CURATOR_ACTION_EXCLUDE)
    w->excluded[i] = TRUE;
  else if (action == CURATOR_ACTION_RESTORE)
    w->excluded[i] = FALSE;
}

/* The GUI's way: one connection, one decision per call, no explicit
 * transaction; each decision's error would go to an info bar. */
static gpointer
gui_writer (gpointer data)
{
  Writer *w = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = curator_db_open (w->f->project, FALSE, &error);
  gint64 class_ids[N_CLASSES];

  if (db == NULL)
    {
      writer_fail (w, "open", error->message);
      return NULL;
    }
  for (int c = 0; c < N_CLASSES; c++)
    class_ids[c] = curator_db_lookup_class (db, class_names[c]);
  /* At least GUI_DECISIONS, and on for as long as the children write. */
  for (guint n = 0; n < GUI_DECISIONS || g_atomic_int_get (w->n_others) > 0; n++)
    {
      int i = n % w->n_samples;
      CuratorAction action = cycle_action (n / w->n_samples);
      g_autofree char *note = g_strdup_printf ("gui-%u", n);
      gint64 event;

      event = curator_db_record_decision (db, w->samples[i], action,
                                          class_ids[(w->label[i] + 1) % N_CLASSES],
                                          CURATOR_ACTOR_HUMAN, 0, note, &error);
      if (event <= 0)
        {
          writer_fail (w, note, error->message);
          g_clear_error (&error);
          continue;
        }
      writer_apply (w, i, action);
      w->n_events++;
      g_usleep (GUI_PAUSE_US);
    }
  return NULL;
}

static gpointer
cli_writer (gpointer data)
{
  Writer *w = data;
  int n_batches = w->n_samples / CLI_BATCH;

  for (guint n = 0; n < CLI_COMMANDS; n++)
    {
      int b = n % n_batches;
      CuratorAction action = cycle_action (n / n_batches);
      g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GError) error = NULL;
      g_autofree char *out = NULL, *err = NULL;
      g_autofree char *note = g_strdup_printf ("cli%d-%u", w->id, n);
      int status;

      g_ptr_array_add (args, g_strdup (g_getenv ("CURATOR_EXE")));
      g_ptr_array_add (args, g_strdup (curator_action_to_string (action)));
      for (int j = 0; j < CLI_BATCH; j++)
        g_ptr_array_add (args, g_strdup_printf ("%" G_GINT64_FORMAT, w->samples[b * CLI_BATCH + j]));
      if (action == CURATOR_ACTION_RELABEL)
        /* The samples of a batch always share a label: they move together. */
        g_ptr_array_add (args, g_strdup (class_names[(w->label[b * CLI_BATCH] + 1) % N_CLASSES]));
      g_ptr_array_add (args, g_strdup ("--note"));
      g_ptr_array_add (args, g_strdup (note));
      g_ptr_array_add (args, g_strdup ("--project"));
      g_ptr_array_add (args, g_strdup (w->f->project));
      g_ptr_array_add (args, NULL);
      if (!g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                         &out, &err, &status, &error))
        {
          writer_fail (w, note, error->message);
          continue;
        }
      if (!WIFEXITED (status) || WEXITSTATUS (status) != 0 || mentions_busy (err))
        {
          g_autofree char *what = g_strdup_printf ("%s exited %d", note,
                                                   WIFEXITED (status) ? WEXITSTATUS (status) : -1);
          writer_fail (w, what, err);
          continue;
        }
      for (int j = 0; j < CLI_BATCH; j++)
        writer_apply (w, b * CLI_BATCH + j, action);
      w->n_events += CLI_BATCH;
    }
  g_atomic_int_add (w->n_others, -1);
  return NULL;
}

/* A long writer in between: re-reads every file and rewrites every sample. */
static gpointer
index_writer (gpointer data)
{
  Writer *w = data;

  for (guint n = 0; n < N_INDEX_RUNS; n++)
    {
      g_autofree char *out = NULL, *err = NULL;
      int code = tu_run (&out, &err, "index", "--reread", w->f->root, "--project", w->f->project, NULL);

      if (code != 0 || mentions_busy (err))
        {
          g_autofree char *what = g_strdup_printf ("index exited %d", code);
          writer_fail (w, what, err);
        }
    }
  g_atomic_int_add (w->n_others, -1);
  return NULL;
}

static void
test_decisions_everywhere (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = curator_db_open (f->project, FALSE, &error);
  g_autoptr(GPtrArray) samples = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GString) failures = g_string_new (NULL);
  Writer writers[1 + N_CLI_THREADS + 1];
  GThread *threads[G_N_ELEMENTS (writers)];
  int n_writers = 1 + N_CLI_THREADS;
  guint n_gui = 0, n_cli = 0, expected_gui = 0, expected_cli = 0;
  gint n_others = N_CLI_THREADS + 1;

  g_assert_no_error (error);
  samples = curator_db_list_samples (db, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (samples->len, ==, N_CLASSES * N_PER_CLASS);
  curator_db_close (g_steal_pointer (&db));

  /* Deal the samples out: sample k goes to writer k % n_writers; the CLI
   * writers' batches are samples of one class, so they share a label. */
  memset (writers, 0, sizeof writers);
  for (int w = 0; w < (int) G_N_ELEMENTS (writers); w++)
    {
      writers[w].f = f;
      writers[w].id = w;
      writers[w].samples = g_new0 (gint64, samples->len);
      writers[w].label = g_new0 (int, samples->len);
      writers[w].excluded = g_new0 (gboolean, samples->len);
      writers[w].failures = failures;
      writers[w].n_others = &n_others;
    }
  for (guint k = 0; k < samples->len; k++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, k);
      Writer *w = &writers[(k / CLI_BATCH) % n_writers];
      int c;

      for (c = 0; c < N_CLASSES; c++)
        if (g_str_has_prefix (s->path, class_names[c]))
          break;
      g_assert_cmpint (c, <, N_CLASSES);
      w->samples[w->n_samples] = s->id;
      w->label[w->n_samples] = c;
      w->n_samples++;
    }

  /* Writers that share nothing but the file, all at once. */
  threads[0] = g_thread_new ("gui", gui_writer, &writers[0]);
  for (int w = 1; w <= N_CLI_THREADS; w++)
    threads[w] = g_thread_new ("cli", cli_writer, &writers[w]);
  threads[n_writers] = g_thread_new ("index", index_writer, &writers[n_writers]);
  for (int w = 0; w <= n_writers; w++)
    g_thread_join (threads[w]);
  if (failures->len > 0)
    g_error ("concurrent writers failed:\n%s", failures->str);

  /* Every acknowledged decision is in the log, and each sample carries the
   * label and exclusion its own writer gave it. */
  db = curator_db_open (f->project, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (curator_db_check_integrity (db, &error));
  g_assert_no_error (error);
  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < events->len; i++)
    {
      const char *note = ((CuratorDbEvent *) g_ptr_array_index (events, i))->note;

      n_gui += g_str_has_prefix (note != NULL ? note : "", "gui-");
      n_cli += g_str_has_prefix (note != NULL ? note : "", "cli");
    }
  expected_gui = writers[0].n_events;
  for (int w = 1; w <= N_CLI_THREADS; w++)
    expected_cli += writers[w].n_events;
  g_assert_cmpuint (expected_gui, >=, GUI_DECISIONS);
  g_test_message ("%u decisions in process, %u from %d CLI writers, %d index runs, all at once",
                  expected_gui, expected_cli, N_CLI_THREADS, N_INDEX_RUNS);
  g_assert_cmpuint (expected_cli, ==, N_CLI_THREADS * CLI_COMMANDS * CLI_BATCH);
  g_assert_cmpuint (n_gui, ==, expected_gui);
  g_assert_cmpuint (n_cli, ==, expected_cli);
  for (int w = 0; w < n_writers; w++)
    for (int i = 0; i < writers[w].n_samples; i++)
      {
        g_autoptr(CuratorDbSample) s = curator_db_get_sample (db, writers[w].samples[i], &error);

        g_assert_no_error (error);
        g_assert_cmpint (s->current_label, ==, curator_db_lookup_class (db, class_names[writers[w].label[i]]));
        g_assert_cmpint (s->excluded, ==, writers[w].excluded[i]);
        g_assert_cmpint (s->status, ==, CURATOR_SAMPLE_OK);
      }
  for (int w = 0; w <= n_writers; w++)
    {
      g_free (writers[w].samples);
      g_free (writers[w].label);
      g_free (writers[w].excluded);
    }
}

/* ---- two analyses -------------------------------------------------------- */

static void
count_runs (Fixture *f, guint *n_done, guint *n_running)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = curator_db_open (f->project, FALSE, &error);
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

/* The second analysis, started while the first holds the project. */
static void
assert_second_refused (Fixture *f)
{
  g_autofree char *out = NULL, *err = NULL;
  int code = tu_run (&out, &err, "analyze", "--folds", "2", "--rounds", "1", "--centroids", "8",
                     "--project", f->project, NULL);

  g_assert_cmpint (code, ==, 5);
  g_assert_nonnull (strstr (err, "Another analysis is running"));
  /* Said once, plainly: not an SQLite message. */
  g_assert_null (strstr (err, "locked"));
}

static void
test_two_cli_analyses (Fixture *f, gconstpointer data)
{
  const char *argv[] = { g_getenv ("CURATOR_EXE"), "analyze", "--folds", "2", "--rounds", "1",
                         "--centroids", "8", "--relearn", "--project", f->project, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = NULL;
  guint n_done, n_running;
  GPid pid;
  int status = 0;
  pid_t done = 0;

  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  /* The first holds the lock once its run is recorded. */
  for (n_running = 0; n_running == 0;)
    {
      done = waitpid (pid, &status, WNOHANG);
      g_assert_cmpint (done, ==, 0);   /* relearning takes seconds: not over yet */
      g_usleep (G_USEC_PER_SEC / 100);
      count_runs (f, &n_done, &n_running);
    }
  assert_second_refused (f);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  count_runs (f, &n_done, &n_running);
  g_assert_cmpuint (n_done, ==, 1);
  g_assert_cmpuint (n_running, ==, 0);
  db = curator_db_open (f->project, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (curator_db_check_integrity (db, &error));
  g_assert_no_error (error);
}

typedef struct {
  Fixture      *f;
  GCancellable *cancellable;
  gboolean      ok;
  GError       *error;
  gint          finished;   /* atomic */
} InProcess;

static gpointer
analyze_in_process (gpointer data)
{
  InProcess *ip = data;
  g_autoptr(CuratorDb) db = curator_db_open (ip->f->project, FALSE, &ip->error);
  CuratorAnalyzeOptions options;
  CuratorAnalyzeReport report;

  if (db == NULL)
    {
      g_atomic_int_set (&ip->finished, 1);
      return NULL;
    }
  curator_analyze_options_init_default (&options);
  options.patch.n_centroids = 8;
  options.classifier.n_folds = 2;
  options.rounds = 1;
  options.relearn = TRUE;
  ip->ok = curator_analyze_run (db, &options, &report, ip->cancellable, NULL, NULL, &ip->error);
  g_atomic_int_set (&ip->finished, 1);
  return NULL;
}

/* The GUI runs analyses in a worker thread of its own process: the CLI is
 * refused while it works, and the run is then cancelled cleanly. */
static void
test_gui_and_cli_analyses (Fixture *f, gconstpointer data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  InProcess ip = { f, cancellable, FALSE, NULL, 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = NULL;
  guint n_done, n_running;
  GThread *thread;

  thread = g_thread_new ("analyze", analyze_in_process, &ip);
  for (n_running = 0; n_running == 0;)
    {
      /* Relearning takes seconds: it cannot have ended yet. */
      g_assert_cmpint (g_atomic_int_get (&ip.finished), ==, 0);
      g_usleep (G_USEC_PER_SEC / 100);
      count_runs (f, &n_done, &n_running);
    }
  assert_second_refused (f);
  g_cancellable_cancel (cancellable);
  g_thread_join (thread);
  g_assert_false (ip.ok);
  g_assert_error (ip.error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
  g_clear_error (&ip.error);

  count_runs (f, &n_done, &n_running);
  g_assert_cmpuint (n_running, ==, 0);
  db = curator_db_open (f->project, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (curator_db_check_integrity (db, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("CURATOR_EXE") == NULL)
    {
      g_printerr ("test-concurrency needs CURATOR_EXE (run it through meson test)\n");
      return 77;
    }
#define ADD(name, fn) g_test_add ("/concurrency/" name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("decisions-everywhere", test_decisions_everywhere);
  ADD ("two-cli-analyses", test_two_cli_analyses);
  ADD ("gui-and-cli-analyses", test_gui_and_cli_analyses);
#undef ADD
  return g_test_run ();
}

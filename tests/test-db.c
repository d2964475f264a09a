/* test-db.c: facts about the project file (db/).
 *
 * Every test works in a fresh temporary folder. Old, foreign and broken files
 * are made here: real schema-1 and schema-3 projects through the private
 * hook, the rest with plain SQLite or plain bytes. Lock contention uses two connections in
 * one process, which SQLite locks against each other exactly as it locks two
 * processes (WAL shared memory and file locks). */
#include "curator-config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "curator-db.h"
#include "curator-db-private.h"

typedef struct {
  char *dir;
  char *path;  /* dir/project.curator, not created */
} Fixture;

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir && (name = g_dir_read_name (dir)))
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          rm_rf (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("curator-test-db-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "project.curator", NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static CuratorDb *
open_new (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  CuratorDb *db = curator_db_open (f->path, TRUE, &error);

  g_assert_no_error (error);
  g_assert_nonnull (db);
  return db;
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

/* Runs SQL through a plain SQLite connection, as another program would.
 * Returns the SQLite result code; @message gets the error text. */
static int
raw_exec (const char  *path,
          const char  *sql,
          char       **message)
{
  sqlite3 *s = NULL;
  char *errmsg = NULL;
  int rc;

  g_assert_cmpint (sqlite3_open (path, &s), ==, SQLITE_OK);
  sqlite3_busy_timeout (s, 5000);
  rc = sqlite3_exec (s, sql, NULL, NULL, &errmsg);
  if (message)
    *message = g_strdup (errmsg);
  sqlite3_free (errmsg);
  sqlite3_close (s);
  return rc;
}

static gint64
raw_int (const char *path,
         const char *sql)
{
  sqlite3 *s = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open (path, &s), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (s, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (s);
  return value;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* A canonical text of a database's content: versions, schema, and every
 * table's rows (sorted, so page layout does not matter). Read through
 * SQLite, so WAL content counts. */
static char *
dump_database (const char *path)
{
  GString *out = g_string_new (NULL);
  g_autoptr(GPtrArray) tables = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *s = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &s, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);

  g_assert_cmpint (sqlite3_prepare_v2 (s, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_string_append_printf (out, "version %d\n", sqlite3_column_int (stmt, 0));
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (s, "PRAGMA application_id", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_string_append_printf (out, "application_id %d\n", sqlite3_column_int (stmt, 0));
  sqlite3_finalize (stmt);

  g_assert_cmpint (sqlite3_prepare_v2 (s,
    "SELECT type, name, ifnull (sql, '') FROM sqlite_schema ORDER BY type, name",
    -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *type = (const char *) sqlite3_column_text (stmt, 0);
      const char *name = (const char *) sqlite3_column_text (stmt, 1);

      g_string_append_printf (out, "%s %s: %s\n", type, name, sqlite3_column_text (stmt, 2));
      if (strcmp (type, "table") == 0 && !g_str_has_prefix (name, "sqlite_"))
        g_ptr_array_add (tables, g_strdup (name));
    }
  sqlite3_finalize (stmt);

  for (guint t = 0; t < tables->len; t++)
    {
      g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
      char *sql = sqlite3_mprintf ("SELECT * FROM \"%w\"", (const char *) tables->pdata[t]);

      g_assert_cmpint (sqlite3_prepare_v2 (s, sql, -1, &stmt, NULL), ==, SQLITE_OK);
      sqlite3_free (sql);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          GString *row = g_string_new (NULL);

          for (int c = 0; c < sqlite3_column_count (stmt); c++)
            {
              int type = sqlite3_column_type (stmt, c);

              if (type == SQLITE_BLOB)
                {
                  const guint8 *blob = sqlite3_column_blob (stmt, c);
                  int n = sqlite3_column_bytes (stmt, c);

                  g_string_append (row, "x'");
                  for (int i = 0; i < n; i++)
                    g_string_append_printf (row, "%02x", blob[i]);
                  g_string_append (row, "'|");
                }
              else if (type == SQLITE_NULL)
                g_string_append (row, "NULL|");
              else
                g_string_append_printf (row, "%d:%s|", type, sqlite3_column_text (stmt, c));
            }
          g_ptr_array_add (rows, g_string_free (row, FALSE));
        }
      sqlite3_finalize (stmt);
      g_ptr_array_sort (rows, compare_strings);
      g_string_append_printf (out, "rows of %s:\n", (const char *) tables->pdata[t]);
      for (guint r = 0; r < rows->len; r++)
        g_string_append_printf (out, "  %s\n", (const char *) rows->pdata[r]);
    }

  sqlite3_close (s);
  return g_string_free (out, FALSE);
}

static gint64
add_sample (CuratorDb   *db,
            const char  *path,
            gint64       given_label)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbSample) sample = curator_db_sample_new ();

  sample->path = g_strdup (path);
  sample->given_label = given_label;
  sample->width = 28;
  sample->height = 28;
  sample->channels = 1;
  g_assert_true (curator_db_put_sample (db, sample, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sample->id, >, 0);
  return sample->id;
}

static CuratorDbSample *
get_sample (CuratorDb *db,
            gint64     id)
{
  g_autoptr(GError) error = NULL;
  CuratorDbSample *sample = curator_db_get_sample (db, id, &error);

  g_assert_no_error (error);
  g_assert_nonnull (sample);
  return sample;
}

static gint64
current_label (CuratorDb *db,
               gint64     id)
{
  g_autoptr(CuratorDbSample) sample = get_sample (db, id);
  return sample->current_label;
}

static gint64
decide (CuratorDb     *db,
        gint64         sample_id,
        CuratorAction  action,
        gint64         new_label,
        CuratorActor   actor)
{
  g_autoptr(GError) error = NULL;
  gint64 id = curator_db_record_decision (db, sample_id, action, new_label, actor, 0, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static void
assert_integrity (CuratorDb *db)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (curator_db_check_integrity (db, &error));
  g_assert_no_error (error);
}

/* ---- batches: one undo step for many decisions (schema 4) -------------------- */

/* The ids of the events that revert one of @reverted (a NULL-terminated
 * list), and the batch they share (asserted to be one). */
static gint64
undo_batch_of (CuratorDb    *db,
               const gint64 *reverted,
               guint         n_reverted,
               guint        *n_found)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = curator_db_list_events (db, 0, &error);
  gint64 batch = -1;

  g_assert_no_error (error);
  *n_found = 0;
  /* The newest UNDO of each reverted event. */
  for (guint k = 0; k < n_reverted; k++)
    for (guint i = events->len; i-- > 0;)
      {
        CuratorDbEvent *e = events->pdata[i];

        if (e->action != CURATOR_ACTION_UNDO || e->reverts != reverted[k])
          continue;
        if (batch < 0)
          batch = e->batch_id;
        g_assert_cmpint (e->batch_id, ==, batch);
        (*n_found)++;
        break;
      }
  return batch;
}

static void
test_batch_undo_redo (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  g_autoptr(GPtrArray) events = NULL;
  gint64 A = curator_db_ensure_class (db, "A", &error);
  gint64 B = curator_db_ensure_class (db, "B", &error);
  gint64 s[3], e[3], undos[3], single, batch, undo_batch, redo_batch;
  guint n;

  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *path = g_strdup_printf ("A/%u.png", i);
      s[i] = add_sample (db, path, A);
    }

  batch = curator_db_begin_batch (db, &error);
  g_assert_no_error (error);
  g_assert_cmpint (batch, >, 0);
  /* Batches do not nest; undo waits for the batch to end. */
  g_assert_cmpint (curator_db_begin_batch (db, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  for (guint i = 0; i < 3; i++)
    e[i] = decide (db, s[i], CURATOR_ACTION_RELABEL, B, CURATOR_ACTOR_CLI);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_CLI, &error), ==, -1);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (curator_db_end_batch (db, TRUE, &error));
  g_assert_no_error (error);

  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (((CuratorDbEvent *) events->pdata[i])->batch_id, ==, batch);
  g_clear_pointer (&events, g_ptr_array_unref);

  /* A single decision after the batch is undone on its own. */
  single = decide (db, s[0], CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_CLI);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_CLI, &error), ==, single);
  g_assert_no_error (error);
  {
    g_autoptr(CuratorDbSample) s0 = get_sample (db, s[0]);
    g_assert_false (s0->excluded);
    g_assert_cmpint (s0->current_label, ==, B);
  }
  g_assert_cmpint (current_label (db, s[1]), ==, B);
  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (((CuratorDbEvent *) events->pdata[events->len - 1])->batch_id, ==, 0);
  g_clear_pointer (&events, g_ptr_array_unref);

  /* One undo reverts the whole batch; it names the batch's newest event. */
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_CLI, &error), ==, e[2]);
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CuratorDbSample) si = get_sample (db, s[i]);
      g_assert_cmpint (si->current_label, ==, A);
      g_assert_cmpstr (si->label_source, ==, "given");
      g_assert_false (si->verified);
    }
  undo_batch = undo_batch_of (db, e, 3, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (undo_batch, >, 0);
  g_assert_cmpint (undo_batch, !=, batch);

  /* One redo re-applies the whole batch, again as one step. */
  g_assert_cmpint (curator_db_redo (db, CURATOR_ACTOR_CLI, &error), >, 0);
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (current_label (db, s[i]), ==, B);
  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  for (guint i = 0, k = 0; i < events->len; i++)
    {
      CuratorDbEvent *ev = events->pdata[i];
      if (ev->action == CURATOR_ACTION_UNDO && ev->batch_id == undo_batch)
        undos[k++] = ev->id;
    }
  g_clear_pointer (&events, g_ptr_array_unref);
  redo_batch = undo_batch_of (db, undos, 3, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (redo_batch, >, 0);
  g_assert_cmpint (redo_batch, !=, undo_batch);

  /* As in an editor, the single decision undone before the batch is next
   * to redo, alone; then there is nothing more. */
  g_assert_cmpint (curator_db_redo (db, CURATOR_ACTOR_CLI, &error), >, 0);
  {
    g_autoptr(CuratorDbSample) s0 = get_sample (db, s[0]);
    g_assert_true (s0->excluded);
  }
  g_assert_cmpint (current_label (db, s[1]), ==, B);
  g_assert_cmpint (curator_db_redo (db, CURATOR_ACTOR_CLI, &error), ==, 0);
  g_assert_no_error (error);

  /* Undo: the single decision, then the redone batch as one once more,
   * then nothing is left. */
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, single);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, e[2]);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (current_label (db, s[i]), ==, A);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, 0);
  g_assert_no_error (error);
  assert_integrity (db);
}

static void
test_batch_rollback (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  CuratorDb *db = open_new (f);
  g_autoptr(GPtrArray) events = NULL;
  gint64 A = curator_db_ensure_class (db, "A", &error);
  gint64 B = curator_db_ensure_class (db, "B", &error);
  gint64 C = curator_db_ensure_class (db, "C", &error);
  gint64 s1 = add_sample (db, "A/1.png", A);
  gint64 s2 = add_sample (db, "A/2.png", A);
  gint64 s3 = add_sample (db, "A/3.png", A);
  gint64 batch, kept;

  g_assert_no_error (error);

  /* Ended with commit FALSE: nothing of it is left. */
  batch = curator_db_begin_batch (db, &error);
  g_assert_cmpint (batch, >, 0);
  decide (db, s1, CURATOR_ACTION_RELABEL, B, CURATOR_ACTOR_HUMAN);
  decide (db, s2, CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_HUMAN);
  decide (db, s3, CURATOR_ACTION_CONFIRM, 0, CURATOR_ACTOR_HUMAN);
  g_assert_true (curator_db_end_batch (db, FALSE, &error));
  g_assert_no_error (error);
  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 0);
  g_clear_pointer (&events, g_ptr_array_unref);
  {
    g_autoptr(CuratorDbSample) a = get_sample (db, s1);
    g_autoptr(CuratorDbSample) b = get_sample (db, s2);
    g_autoptr(CuratorDbSample) c = get_sample (db, s3);
    g_assert_cmpint (a->current_label, ==, A);
    g_assert_false (b->excluded);
    g_assert_false (c->verified);
  }
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, 0);
  g_assert_no_error (error);

  /* A batch that decides nothing leaves no trace either way. */
  g_assert_cmpint (curator_db_begin_batch (db, &error), >, 0);
  g_assert_true (curator_db_end_batch (db, TRUE, &error));
  g_assert_no_error (error);

  /* A refused decision inside a batch leaves the batch open with what came
   * before it; the caller chooses. */
  batch = curator_db_begin_batch (db, &error);
  g_assert_cmpint (batch, >, 0);
  kept = decide (db, s1, CURATOR_ACTION_RELABEL, C, CURATOR_ACTOR_HUMAN);
  g_assert_cmpint (curator_db_record_decision (db, s1, CURATOR_ACTION_RELABEL, C,
                                               CURATOR_ACTOR_HUMAN, 0, NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  decide (db, s2, CURATOR_ACTION_RELABEL, C, CURATOR_ACTOR_HUMAN);
  g_assert_true (curator_db_end_batch (db, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (current_label (db, s1), ==, C);
  g_assert_cmpint (current_label (db, s2), ==, C);
  g_assert_cmpint (kept, >, 0);

  /* Inside an outer transaction the batch is a savepoint: dropping it keeps
   * what the transaction did before. */
  g_assert_true (curator_db_begin (db, &error));
  decide (db, s3, CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_HUMAN);
  g_assert_cmpint (curator_db_begin_batch (db, &error), >, 0);
  decide (db, s3, CURATOR_ACTION_RELABEL, B, CURATOR_ACTOR_HUMAN);
  g_assert_true (curator_db_end_batch (db, FALSE, &error));
  g_assert_true (curator_db_commit (db, &error));
  g_assert_no_error (error);
  {
    g_autoptr(CuratorDbSample) c = get_sample (db, s3);
    g_assert_true (c->excluded);
    g_assert_cmpint (c->current_label, ==, A);
  }
  assert_integrity (db);
  curator_db_close (db);

  /* Of the five batches begun, one holds decisions. */
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM batches"), ==, 1);
  g_assert_cmpint (raw_int (f->path, "SELECT count(DISTINCT batch_id) FROM events"), ==, 1);
}

/* A version-3 project (the last without batches, and with CHECK (x IN ...)
 * constraints) comes up to version 4 with every row, id, reference, index
 * and trigger; old decisions are single undo steps. */
static void
test_upgrade_from_v3 (Fixture       *f,
                      gconstpointer  data)
{
  const char *samples_sql = "SELECT group_concat (id || ':' || path || ':' || ifnull (given_label, '-')"
                            " || ':' || ifnull (current_label, '-') || ':' || label_source"
                            " || ':' || verified || ':' || excluded || ':' || status, ';')"
                            " FROM (SELECT * FROM samples ORDER BY id)";
  const char *events_sql = "SELECT group_concat (id || ':' || sample_id || ':' || action || ':'"
                           " || ifnull (old_label, '-') || ':' || ifnull (new_label, '-') || ':'"
                           " || actor || ':' || time_us || ':' || ifnull (note, '-') || ':'"
                           " || ifnull (reverts, '-'), ';')"
                           " FROM (SELECT * FROM events ORDER BY id)";
  g_autoptr(GError) error = NULL;
  g_autofree char *backup_path = g_strdup_printf ("%s.bak-v3", f->path);
  g_autofree char *samples_before = NULL, *samples_after = NULL;
  g_autofree char *events_before = NULL, *events_after = NULL;
  g_autofree char *message = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(CuratorDbScore) score = curator_db_score_new ();
  CuratorDb *db;
  sqlite3 *raw = NULL;
  gint64 cat, dog, a, b, c, e1, e2, e3, run, d;

  db = _curator_db_open_at_version (f->path, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpint (curator_db_get_schema_version (db), ==, 3);
  cat = curator_db_ensure_class (db, "cat", &error);
  dog = curator_db_ensure_class (db, "dog", &error);
  g_assert_no_error (error);
  a = add_sample (db, "cat/a.png", cat);
  b = add_sample (db, "dog/b.png", dog);
  c = add_sample (db, "dog/c.png", dog);
  e1 = decide (db, a, CURATOR_ACTION_RELABEL, dog, CURATOR_ACTOR_HUMAN);
  e2 = decide (db, b, CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_CLI);
  e3 = decide (db, c, CURATOR_ACTION_CONFIRM, 0, CURATOR_ACTOR_HUMAN);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), >, 0);
  g_assert_no_error (error);
  run = curator_db_begin_run (db, (gint64[]) { cat, dog }, 2, NULL, NULL, &error);
  g_assert_no_error (error);
  score->sample_id = b;
  score->suggested_label = cat;
  g_assert_true (curator_db_put_scores (db, run, &score, 1, &error));
  g_assert_true (curator_db_put_neighbours (db, run, (gint64[]) { a }, 1, (gint64[]) { b },
                                            (float[]) { 0.5f }, 1, &error));
  g_assert_no_error (error);
  curator_db_close (db);
  g_assert_cmpint (raw_int (f->path, "PRAGMA user_version"), ==, 3);
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM sqlite_schema"
                                     " WHERE name = 'samples' AND sql LIKE '% IN (%'"), ==, 1);
  {
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_open (f->path, &raw), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_prepare_v2 (raw, samples_sql, -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    samples_before = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    g_assert_cmpint (sqlite3_prepare_v2 (raw, events_sql, -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    events_before = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    sqlite3_close (raw);
  }
  g_assert_nonnull (samples_before);
  g_assert_nonnull (events_before);

  db = curator_db_open (f->path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (curator_db_get_schema_version (db), ==, 4);
  g_assert_true (g_file_test (backup_path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (raw_int (backup_path, "PRAGMA user_version"), ==, 3);
  assert_integrity (db);

  /* Old decisions are single steps: the confirm of c, undone before the
   * upgrade, is redone alone, then undo takes them back one by one. */
  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 4);
  for (guint i = 0; i < events->len; i++)
    g_assert_cmpint (((CuratorDbEvent *) events->pdata[i])->batch_id, ==, 0);
  g_assert_cmpint (curator_db_redo (db, CURATOR_ACTOR_HUMAN, &error), >, 0);
  {
    g_autoptr(CuratorDbSample) sc = get_sample (db, c);
    g_assert_true (sc->verified);
  }
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, e3);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, e2);
  g_assert_cmpint (current_label (db, a), ==, dog);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, e1);
  g_assert_cmpint (current_label (db, a), ==, cat);
  g_assert_no_error (error);
  /* New samples and decisions go on from the old ids. */
  d = add_sample (db, "cat/d.png", cat);
  g_assert_cmpint (d, >, c);
  g_assert_cmpint (curator_db_begin_batch (db, &error), >, 0);
  decide (db, d, CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_CLI);
  g_assert_true (curator_db_end_batch (db, TRUE, &error));
  g_assert_no_error (error);
  {
    g_autoptr(CuratorDbScore) got = curator_db_get_score (db, run, b, &error);
    g_assert_no_error (error);
    g_assert_cmpint (got->suggested_label, ==, cat);
  }
  assert_integrity (db);
  curator_db_close (db);

  /* The rows as they were (compared on the first four events: the rest were
   * appended above). */
  {
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_open (f->path, &raw), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_prepare_v2 (raw,
      "SELECT group_concat (id || ':' || path || ':' || ifnull (given_label, '-')"
      " || ':' || ifnull (current_label, '-') || ':' || label_source"
      " || ':' || verified || ':' || excluded || ':' || status, ';')"
      " FROM (SELECT * FROM samples WHERE id <= ?1 ORDER BY id)", -1, &stmt, NULL), ==, SQLITE_OK);
    sqlite3_bind_int64 (stmt, 1, c);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    samples_after = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    g_assert_cmpint (sqlite3_prepare_v2 (raw,
      "SELECT group_concat (id || ':' || sample_id || ':' || action || ':'"
      " || ifnull (old_label, '-') || ':' || ifnull (new_label, '-') || ':'"
      " || actor || ':' || time_us || ':' || ifnull (note, '-') || ':'"
      " || ifnull (reverts, '-'), ';')"
      " FROM (SELECT * FROM events WHERE id <= 4 ORDER BY id)", -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    events_after = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    sqlite3_close (raw);
  }
  g_assert_cmpstr (events_after, ==, events_before);
  /* The undos above changed the labels and flags of all three; what no
   * decision changes (id, path, given label) came through the upgrade. */
  {
    g_auto(GStrv) before = g_strsplit (samples_before, ";", -1);
    g_auto(GStrv) after = g_strsplit (samples_after, ";", -1);

    g_assert_cmpuint (g_strv_length (before), ==, 3);
    g_assert_cmpuint (g_strv_length (after), ==, 3);
    for (guint i = 0; i < 3; i++)
      {
        g_auto(GStrv) fb = g_strsplit (before[i], ":", -1);
        g_auto(GStrv) fa = g_strsplit (after[i], ":", -1);
        g_assert_cmpstr (fb[0], ==, fa[0]);  /* id */
        g_assert_cmpstr (fb[1], ==, fa[1]);  /* path */
        g_assert_cmpstr (fb[2], ==, fa[2]);  /* given label */
      }
  }

  /* The rebuilt tables: no IN lists left, and the indexes, triggers,
   * CHECKs and foreign keys are all there. */
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM sqlite_schema"
                                     " WHERE name IN ('samples', 'events') AND sql LIKE '% IN (%'"), ==, 0);
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM sqlite_schema WHERE name IN"
                                     " ('samples_by_given', 'samples_by_current',"
                                     "  'events_by_sample', 'events_by_batch', 'events_no_update',"
                                     "  'events_no_delete')"), ==, 6);
  /* The one index no statement used is gone. */
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM sqlite_schema"
                                     " WHERE name = 'samples_by_pixel_hash'"), ==, 0);
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%_v4'"), ==, 0);
  g_assert_cmpint (raw_exec (f->path, "DELETE FROM events", &message), ==, SQLITE_CONSTRAINT);
  g_assert_nonnull (strstr (message, "append-only"));
  g_clear_pointer (&message, g_free);
  g_assert_cmpint (raw_exec (f->path, "UPDATE samples SET status = 'lost'", NULL), ==, SQLITE_CONSTRAINT);
  g_assert_cmpint (raw_exec (f->path, "UPDATE samples SET label_source = 'guess'", NULL), ==, SQLITE_CONSTRAINT);
  g_assert_cmpint (raw_exec (f->path, "UPDATE samples SET status = 'missing' WHERE id = 1", NULL), ==, SQLITE_OK);
  g_assert_cmpint (raw_exec (f->path,
                             "PRAGMA foreign_keys = ON;"
                             "INSERT INTO events (sample_id, action, actor, time_us)"
                             "  VALUES (9999, 'exclude', 'cli', 0)", NULL), ==, SQLITE_CONSTRAINT);
  g_assert_cmpint (raw_exec (f->path,
                             "INSERT INTO events (sample_id, action, actor, time_us)"
                             "  VALUES (1, 'vanish', 'cli', 0)", NULL), ==, SQLITE_CONSTRAINT);
  g_assert_cmpint (raw_exec (f->path,
                             "PRAGMA foreign_keys = ON;"
                             "DELETE FROM scores; DELETE FROM neighbours;"
                             "DELETE FROM samples WHERE id = 2", NULL), ==, SQLITE_CONSTRAINT);
}

/* ---- opening ---------------------------------------------------------------- */

static void
test_create_close (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *created = NULL;
  g_autofree char *program_version = NULL;
  CuratorDb *db;

  /* Without create, a missing file is NOT_FOUND and stays missing. */
  db = curator_db_open (f->path, FALSE, &error);
  g_assert_null (db);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  db = open_new (f);
  g_assert_cmpint (curator_db_get_schema_version (db), ==, CURATOR_DB_SCHEMA_VERSION);
  g_assert_cmpstr (curator_db_get_path (db), ==, f->path);
  created = curator_db_dup_setting (db, "created");
  program_version = curator_db_dup_setting (db, "program_version");
  g_assert_nonnull (created);
  g_assert_cmpstr (program_version, ==, CURATOR_VERSION);
  assert_integrity (db);
  curator_db_close (db);

  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (raw_int (f->path, "PRAGMA user_version"), ==, CURATOR_DB_SCHEMA_VERSION);
  g_assert_cmpint (raw_int (f->path, "PRAGMA application_id"), ==, CURATOR_DB_APPLICATION_ID);
  /* New projects get 8 KiB pages (fewer WAL frames per indexed sample). */
  g_assert_cmpint (raw_int (f->path, "PRAGMA page_size"), ==, 8192);

  db = curator_db_open (f->path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (db);
  curator_db_close (db);
}

static void
test_reopen_keeps_data (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  g_autoptr(CuratorDbSample) in = curator_db_sample_new ();
  g_autoptr(CuratorDbSample) out = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autofree char *root = NULL;
  gint64 cat, dog;

  g_assert_true (curator_db_set_setting (db, "root", "/data/pets", &error));
  g_assert_no_error (error);
  cat = curator_db_ensure_class (db, "cat", &error);
  dog = curator_db_ensure_class (db, "dog", &error);
  g_assert_no_error (error);

  in->path = g_strdup ("cat/001.png");
  in->file_hash = g_strdup ("f1le");
  in->pixel_hash = g_strdup ("p1xel");
  in->phash = G_GUINT64_CONSTANT (0xfedcba9876543210);
  in->n_bytes = 1234;
  in->mtime_us = 1700000000000000;
  in->width = 32;
  in->height = 24;
  in->channels = 3;
  in->format = g_strdup ("png");
  in->luma_p05 = 5.5;
  in->luma_p50 = 128.25;
  in->luma_p95 = 250.0;
  in->contrast = 40.125;
  in->entropy = 7.5;
  in->blur = 1234.5;
  in->is_grey = TRUE;
  in->given_label = cat;
  in->split = g_strdup ("train");
  in->indexed_us = 1700000000000001;
  g_assert_true (curator_db_put_sample (db, in, &error));
  g_assert_no_error (error);
  decide (db, in->id, CURATOR_ACTION_RELABEL, dog, CURATOR_ACTOR_HUMAN);

  g_clear_pointer (&db, curator_db_close);
  db = curator_db_open (f->path, FALSE, &error);
  g_assert_no_error (error);

  root = curator_db_dup_setting (db, "root");
  g_assert_cmpstr (root, ==, "/data/pets");
  g_assert_cmpint (curator_db_lookup_class (db, "cat"), ==, cat);
  g_assert_cmpint (curator_db_lookup_class (db, "dog"), ==, dog);

  out = curator_db_get_sample_by_path (db, "cat/001.png", &error);
  g_assert_no_error (error);
  g_assert_cmpint (out->id, ==, in->id);
  g_assert_cmpstr (out->file_hash, ==, "f1le");
  g_assert_cmpstr (out->pixel_hash, ==, "p1xel");
  g_assert_cmpuint (out->phash, ==, G_GUINT64_CONSTANT (0xfedcba9876543210));
  g_assert_cmpint (out->n_bytes, ==, 1234);
  g_assert_cmpint (out->mtime_us, ==, 1700000000000000);
  g_assert_cmpint (out->width, ==, 32);
  g_assert_cmpint (out->height, ==, 24);
  g_assert_cmpint (out->channels, ==, 3);
  g_assert_cmpstr (out->format, ==, "png");
  g_assert_cmpint (out->status, ==, CURATOR_SAMPLE_OK);
  g_assert_null (out->reason);
  g_assert_cmpfloat (out->luma_p05, ==, 5.5);
  g_assert_cmpfloat (out->luma_p50, ==, 128.25);
  g_assert_cmpfloat (out->luma_p95, ==, 250.0);
  g_assert_cmpfloat (out->contrast, ==, 40.125);
  g_assert_cmpfloat (out->entropy, ==, 7.5);
  g_assert_cmpfloat (out->blur, ==, 1234.5);
  g_assert_true (out->is_grey);
  g_assert_cmpint (out->given_label, ==, cat);
  g_assert_cmpint (out->current_label, ==, dog);
  g_assert_cmpstr (out->label_source, ==, "human");
  g_assert_true (out->verified);
  g_assert_false (out->excluded);
  g_assert_cmpstr (out->split, ==, "train");
  g_assert_cmpint (out->indexed_us, ==, 1700000000000001);

  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 1);
}

/* ---- schema versions ---------------------------------------------------------- */

static void
test_upgrade_from_v1 (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *backup_path = g_strdup_printf ("%s.bak-v1", f->path);
  g_autofree char *backup_v2 = g_strdup_printf ("%s.bak-v2", f->path);
  g_autofree char *wal_path = g_strdup_printf ("%s-wal", f->path);
  g_autofree char *before = NULL;
  g_autofree char *backup = NULL;
  g_autoptr(GPtrArray) events = NULL;
  CuratorDb *db;
  sqlite3 *holder = NULL;
  gint64 cat, dog, a, b, run;
  GStatBuf st;

  db = _curator_db_open_at_version (f->path, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (curator_db_get_schema_version (db), ==, 1);
  cat = curator_db_ensure_class (db, "cat", &error);
  dog = curator_db_ensure_class (db, "dog", &error);
  g_assert_no_error (error);
  a = add_sample (db, "cat/a.png", cat);
  b = add_sample (db, "dog/b.png", dog);
  decide (db, a, CURATOR_ACTION_RELABEL, dog, CURATOR_ACTOR_HUMAN);
  decide (db, b, CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_CLI);

  /* A second connection stays open so that closing ours does not checkpoint:
   * the newest data then lives only in the WAL, and the backup must still
   * have it. */
  g_assert_cmpint (sqlite3_open (f->path, &holder), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (holder, "SELECT count(*) FROM samples", NULL, NULL, NULL), ==, SQLITE_OK);
  curator_db_close (db);
  g_assert_cmpint (g_stat (wal_path, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 0);
  g_assert_cmpint (raw_int (f->path, "PRAGMA user_version"), ==, 1);
  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM sqlite_schema WHERE name = 'runs'"), ==, 0);
  before = dump_database (f->path);

  db = curator_db_open (f->path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (db);
  g_assert_cmpint (curator_db_get_schema_version (db), ==, CURATOR_DB_SCHEMA_VERSION);

  /* The backup is the version-1 project as it was, WAL content included. */
  g_assert_true (g_file_test (backup_path, G_FILE_TEST_IS_REGULAR));
  backup = dump_database (backup_path);
  g_assert_cmpstr (backup, ==, before);
  g_assert_cmpint (raw_int (backup_path, "PRAGMA user_version"), ==, 1);

  /* The data came along, and the version-2 tables work. */
  g_assert_cmpint (current_label (db, a), ==, dog);
  {
    g_autoptr(CuratorDbSample) sb = get_sample (db, b);
    g_assert_true (sb->excluded);
  }
  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 2);
  run = curator_db_begin_run (db, (gint64[]) { cat, dog }, 2, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run, >, 0);
  /* And the version-3 ones. */
  g_assert_true (curator_db_put_neighbours (db, run, (gint64[]) { a }, 1, (gint64[]) { b },
                                            (float[]) { 0.5f }, 1, &error));
  g_assert_no_error (error);
  {
    g_autoptr(GArray) nb = curator_db_get_neighbours (db, run, a, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (nb->len, ==, 1);
    g_assert_cmpint (g_array_index (nb, CuratorDbNeighbour, 0).sample_id, ==, b);
  }
  assert_integrity (db);
  curator_db_close (db);
  sqlite3_close (holder);

  /* A file already at the current version is not backed up again. */
  db = curator_db_open (f->path, FALSE, &error);
  g_assert_no_error (error);
  curator_db_close (db);
  g_assert_false (g_file_test (backup_v2, G_FILE_TEST_EXISTS));
}

static void
test_step_must_advance (Fixture       *f,
                        gconstpointer  data)
{
  static const CuratorDbMigration skips[] = {
    { 1, "SELECT 1" },
    { 3, "CREATE TABLE skipped (x)" },  /* 1 -> 3: does not advance by one */
  };
  static const CuratorDbMigration fails[] = {
    { 1, "SELECT 1" },
    { 2, "CREATE TABLE half (x); SELECT * FROM no_such_table" },
  };
  g_autoptr(GError) error = NULL;
  CuratorDb *db;

  db = _curator_db_open_at_version (f->path, 1, &error);
  g_assert_no_error (error);

  g_assert_false (_curator_db_migrate_with (db, skips, G_N_ELEMENTS (skips), 2, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_DB);
  g_clear_error (&error);
  g_assert_cmpint (curator_db_get_schema_version (db), ==, 1);

  /* A step that fails half way leaves nothing of itself behind. */
  g_assert_false (_curator_db_migrate_with (db, fails, G_N_ELEMENTS (fails), 2, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_DB);
  g_clear_error (&error);
  curator_db_close (db);

  g_assert_cmpint (raw_int (f->path, "PRAGMA user_version"), ==, 1);
  g_assert_cmpint (raw_int (f->path,
                            "SELECT count(*) FROM sqlite_schema WHERE name IN ('skipped', 'half')"),
                   ==, 0);

  /* The real steps still take it up. */
  db = curator_db_open (f->path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (curator_db_get_schema_version (db), ==, CURATOR_DB_SCHEMA_VERSION);
  curator_db_close (db);
}

static void
test_refuse_newer (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autofree char *expected = NULL;
  CuratorDb *db = open_new (f);

  curator_db_close (db);
  g_assert_cmpint (raw_exec (f->path, "PRAGMA user_version = 99", NULL), ==, SQLITE_OK);
  before = read_bytes (f->path);

  for (int create = 0; create <= 1; create++)
    {
      db = curator_db_open (f->path, create, &error);
      g_assert_null (db);
      g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_DB_TOO_NEW);
      expected = g_strdup_printf ("written by a newer Curator (schema 99, this program reads up to %d)",
                                  CURATOR_DB_SCHEMA_VERSION);
      g_assert_nonnull (strstr (error->message, expected));
      g_clear_pointer (&expected, g_free);
      g_clear_error (&error);
    }

  after = read_bytes (f->path);
  g_assert_true (g_bytes_equal (before, after));
  g_assert_cmpint (raw_int (f->path, "PRAGMA user_version"), ==, 99);
}

static void
test_refuse_foreign_sqlite (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  CuratorDb *db;

  g_assert_cmpint (raw_exec (f->path,
                             "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);"
                             "INSERT INTO photos (name) VALUES ('holiday.jpg');",
                             NULL), ==, SQLITE_OK);
  before = read_bytes (f->path);

  for (int create = 0; create <= 1; create++)
    {
      db = curator_db_open (f->path, create, &error);
      g_assert_null (db);
      g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "not a Curator project"));
      g_clear_error (&error);
    }

  after = read_bytes (f->path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_refuse_garbage (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) after = NULL;
  GString *garbage = g_string_new (NULL);
  g_autoptr(GBytes) before = NULL;
  CuratorDb *db;

  while (garbage->len < 8192)
    g_string_append (garbage, "file,label\ncat/001.png,cat\n");
  g_file_set_contents (f->path, garbage->str, (gssize) garbage->len, &error);
  g_assert_no_error (error);
  before = g_string_free_to_bytes (garbage);

  for (int create = 0; create <= 1; create++)
    {
      db = curator_db_open (f->path, create, &error);
      g_assert_null (db);
      g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "not an SQLite database"));
      g_clear_error (&error);
    }

  after = read_bytes (f->path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_empty_file (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  CuratorDb *db;

  g_file_set_contents (f->path, "", 0, &error);
  g_assert_no_error (error);

  /* Not a project yet: opening without create refuses it... */
  db = curator_db_open (f->path, FALSE, &error);
  g_assert_null (db);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);

  /* ...and create makes one of it. */
  db = curator_db_open (f->path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (curator_db_get_schema_version (db), ==, CURATOR_DB_SCHEMA_VERSION);
  curator_db_close (db);
}

/* ---- the event log ---------------------------------------------------------------- */

static void
test_events_append_only (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  CuratorDb *db = open_new (f);
  gint64 cat = curator_db_ensure_class (db, "cat", &error);
  gint64 dog = curator_db_ensure_class (db, "dog", &error);
  gint64 s = add_sample (db, "cat/1.png", cat);

  decide (db, s, CURATOR_ACTION_RELABEL, dog, CURATOR_ACTOR_HUMAN);
  curator_db_close (db);

  g_assert_cmpint (raw_exec (f->path, "UPDATE events SET note = 'rewritten'", &message),
                   ==, SQLITE_CONSTRAINT);
  g_assert_nonnull (strstr (message, "append-only"));
  g_clear_pointer (&message, g_free);
  g_assert_cmpint (raw_exec (f->path, "DELETE FROM events", &message), ==, SQLITE_CONSTRAINT);
  g_assert_nonnull (strstr (message, "append-only"));

  g_assert_cmpint (raw_int (f->path, "SELECT count(*) FROM events WHERE note IS NULL"), ==, 1);
}

static void
test_relabel_undo_redo (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  g_autoptr(GPtrArray) events = NULL;
  gint64 A = curator_db_ensure_class (db, "A", &error);
  gint64 B = curator_db_ensure_class (db, "B", &error);
  gint64 C = curator_db_ensure_class (db, "C", &error);
  gint64 s1 = add_sample (db, "A/1.png", A);
  gint64 s2 = add_sample (db, "B/2.png", B);
  gint64 e1, e2, e3, e4, undo_s1_c = 0;
  CuratorDbEvent *last;

  g_assert_no_error (error);

  e1 = decide (db, s1, CURATOR_ACTION_RELABEL, B, CURATOR_ACTOR_HUMAN);
  {
    g_autoptr(CuratorDbSample) s = get_sample (db, s1);
    g_assert_cmpint (s->current_label, ==, B);
    g_assert_cmpint (s->given_label, ==, A);
    g_assert_cmpstr (s->label_source, ==, "human");
    g_assert_true (s->verified);
  }

  /* Refusals change nothing. */
  g_assert_cmpint (curator_db_record_decision (db, s1, CURATOR_ACTION_RELABEL, B,
                                               CURATOR_ACTOR_HUMAN, 0, NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (curator_db_record_decision (db, s1, CURATOR_ACTION_RELABEL, 9999,
                                               CURATOR_ACTOR_HUMAN, 0, NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (curator_db_record_decision (db, 4242, CURATOR_ACTION_RELABEL, C,
                                               CURATOR_ACTOR_HUMAN, 0, NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  e2 = decide (db, s2, CURATOR_ACTION_RELABEL, C, CURATOR_ACTOR_HUMAN);
  e3 = decide (db, s1, CURATOR_ACTION_RELABEL, C, CURATOR_ACTOR_CLI);
  g_assert_cmpint (current_label (db, s1), ==, C);
  g_assert_cmpint (current_label (db, s2), ==, C);

  /* Undo walks back across samples, newest first. */
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, e3);
  g_assert_cmpint (current_label (db, s1), ==, B);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, e2);
  {
    g_autoptr(CuratorDbSample) s = get_sample (db, s2);
    g_assert_cmpint (s->current_label, ==, B);
    g_assert_cmpstr (s->label_source, ==, "given");
    g_assert_false (s->verified);
  }
  g_assert_no_error (error);

  /* Redo brings them back, the last undone first. */
  g_assert_cmpint (curator_db_redo (db, CURATOR_ACTOR_HUMAN, &error), >, 0);
  g_assert_cmpint (current_label (db, s2), ==, C);
  g_assert_cmpint (current_label (db, s1), ==, B);
  g_assert_cmpint (curator_db_redo (db, CURATOR_ACTOR_HUMAN, &error), >, 0);
  g_assert_cmpint (current_label (db, s1), ==, C);
  g_assert_cmpint (curator_db_redo (db, CURATOR_ACTOR_HUMAN, &error), ==, 0);
  g_assert_no_error (error);

  /* A new decision after an undo ends what can be redone. */
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, e3);
  g_assert_cmpint (current_label (db, s1), ==, B);
  {
    events = curator_db_list_events (db, s1, &error);
    g_assert_no_error (error);
    last = events->pdata[events->len - 1];
    g_assert_cmpint (last->action, ==, CURATOR_ACTION_UNDO);
    g_assert_cmpint (last->reverts, ==, e3);
    g_assert_cmpint (last->old_label, ==, C);
    g_assert_cmpint (last->new_label, ==, B);
    undo_s1_c = last->id;
    g_clear_pointer (&events, g_ptr_array_unref);
  }
  e4 = decide (db, s2, CURATOR_ACTION_ACCEPT, A, CURATOR_ACTOR_HUMAN);
  g_assert_cmpint (current_label (db, s2), ==, A);
  g_assert_cmpint (curator_db_redo (db, CURATOR_ACTOR_HUMAN, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpint (current_label (db, s1), ==, B);

  /* Undo everything; then there is nothing left to undo. */
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, e4);
  g_assert_cmpint (current_label (db, s2), ==, C);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, e2);
  g_assert_cmpint (current_label (db, s2), ==, B);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, e1);
  g_assert_cmpint (current_label (db, s1), ==, A);
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), ==, 0);
  g_assert_no_error (error);

  /* Redo now restores the last one undone, e1 (s1 -> B); e3 stays undone. */
  g_assert_cmpint (curator_db_redo (db, CURATOR_ACTOR_CLI, &error), >, 0);
  g_assert_cmpint (current_label (db, s1), ==, B);
  g_assert_cmpint (undo_s1_c, >, 0);
  assert_integrity (db);
}

static void
test_confirm_exclude_restore (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  gint64 A = curator_db_ensure_class (db, "A", &error);
  gint64 B = curator_db_ensure_class (db, "B", &error);
  gint64 s = add_sample (db, "A/1.png", A);
  gint64 unlabelled = add_sample (db, "loose.png", 0);

  decide (db, s, CURATOR_ACTION_CONFIRM, 0, CURATOR_ACTOR_HUMAN);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_assert_cmpint (x->current_label, ==, A);
    g_assert_cmpstr (x->label_source, ==, "human");
    g_assert_true (x->verified);
    g_assert_false (x->excluded);
  }

  g_assert_cmpint (curator_db_record_decision (db, s, CURATOR_ACTION_RESTORE, 0,
                                               CURATOR_ACTOR_HUMAN, 0, NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (curator_db_record_decision (db, unlabelled, CURATOR_ACTION_CONFIRM, 0,
                                               CURATOR_ACTOR_HUMAN, 0, NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (curator_db_record_decision (db, s, CURATOR_ACTION_ACCEPT, B,
                                               CURATOR_ACTOR_MODEL, 77, NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);  /* no run 77 */
  g_clear_error (&error);

  decide (db, s, CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_CLI);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_autoptr(GPtrArray) classes = curator_db_list_classes (db, &error);
    CuratorDbClass *a = classes->pdata[0];

    g_assert_true (x->excluded);
    g_assert_true (x->verified);  /* exclusion does not forget the confirmation */
    g_assert_cmpint (a->id, ==, A);
    g_assert_cmpint (a->n_given, ==, 1);
    g_assert_cmpint (a->n_current, ==, 0);
  }
  g_assert_cmpint (curator_db_record_decision (db, s, CURATOR_ACTION_EXCLUDE, 0,
                                               CURATOR_ACTOR_HUMAN, 0, NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);

  decide (db, s, CURATOR_ACTION_RESTORE, 0, CURATOR_ACTOR_HUMAN);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_assert_false (x->excluded);
  }
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), >, 0);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_assert_true (x->excluded);
  }
  g_assert_cmpint (curator_db_redo (db, CURATOR_ACTOR_HUMAN, &error), >, 0);
  g_assert_no_error (error);

  /* A pseudo-label accepted by self-training is not verified; by a person it is. */
  decide (db, s, CURATOR_ACTION_ACCEPT, B, CURATOR_ACTOR_MODEL);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_assert_cmpint (x->current_label, ==, B);
    g_assert_cmpstr (x->label_source, ==, "pseudo");
    g_assert_false (x->verified);
  }
  decide (db, s, CURATOR_ACTION_ACCEPT, B, CURATOR_ACTOR_HUMAN);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_assert_cmpstr (x->label_source, ==, "pseudo");
    g_assert_true (x->verified);
  }
  assert_integrity (db);
}

static void
test_put_sample_rederives (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  gint64 A = curator_db_ensure_class (db, "A", &error);
  gint64 B = curator_db_ensure_class (db, "B", &error);
  gint64 C = curator_db_ensure_class (db, "C", &error);
  gint64 s = add_sample (db, "x/1.png", A);

  /* The file moved to another class folder: the new given label shows. */
  g_assert_cmpint (add_sample (db, "x/1.png", B), ==, s);
  g_assert_cmpint (current_label (db, s), ==, B);

  /* A decision overrides any given label... */
  decide (db, s, CURATOR_ACTION_RELABEL, C, CURATOR_ACTOR_HUMAN);
  add_sample (db, "x/1.png", A);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_assert_cmpint (x->given_label, ==, A);
    g_assert_cmpint (x->current_label, ==, C);
    g_assert_true (x->verified);
  }
  /* ...until it is undone. */
  g_assert_cmpint (curator_db_undo (db, CURATOR_ACTOR_HUMAN, &error), >, 0);
  g_assert_cmpint (current_label (db, s), ==, A);

  /* A confirmation is about the label the person saw. */
  decide (db, s, CURATOR_ACTION_CONFIRM, 0, CURATOR_ACTOR_HUMAN);
  add_sample (db, "x/1.png", B);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_assert_cmpint (x->current_label, ==, B);
    g_assert_false (x->verified);
    g_assert_cmpstr (x->label_source, ==, "given");
  }
  add_sample (db, "x/1.png", A);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_assert_true (x->verified);
  }

  /* Re-indexing keeps an exclusion. */
  decide (db, s, CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_HUMAN);
  add_sample (db, "x/1.png", A);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_assert_true (x->excluded);
  }

  g_assert_true (curator_db_mark_missing (db, s, "file vanished", &error));
  g_assert_no_error (error);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_assert_cmpint (x->status, ==, CURATOR_SAMPLE_MISSING);
    g_assert_cmpstr (x->reason, ==, "file vanished");
    g_assert_true (x->excluded);
  }
  g_assert_false (curator_db_mark_missing (db, 999, "nope", &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  {
    g_autoptr(CuratorDbSample) bad = curator_db_sample_new ();

    bad->path = g_strdup ("x/2.png");
    bad->given_label = 4242;  /* no such class */
    g_assert_false (curator_db_put_sample (db, bad, &error));
    g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
    g_clear_error (&error);
  }

  /* Inside a batch, a new sample that fails leaves nothing behind and the
   * batch goes on; a new one gets what its given label says. */
  {
    g_autoptr(CuratorDbSample) good = curator_db_sample_new ();
    g_autoptr(CuratorDbSample) bad = curator_db_sample_new ();
    g_autoptr(CuratorDbSample) after = curator_db_sample_new ();
    g_autoptr(CuratorDbSample) gone = NULL;

    g_assert_true (curator_db_begin (db, &error));
    good->path = g_strdup ("y/1.png");
    good->given_label = A;
    g_assert_true (curator_db_put_sample (db, good, &error));
    g_assert_cmpint (good->id, >, 0);
    g_assert_cmpint (good->current_label, ==, A);
    g_assert_cmpstr (good->label_source, ==, "given");
    bad->path = g_strdup ("y/2.png");
    bad->given_label = 4242;
    g_assert_false (curator_db_put_sample (db, bad, &error));
    g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
    g_clear_error (&error);
    after->path = g_strdup ("y/3.png");
    g_assert_true (curator_db_put_sample (db, after, &error));
    g_assert_true (curator_db_commit (db, &error));
    g_assert_no_error (error);

    g_assert_cmpint (current_label (db, good->id), ==, A);
    g_assert_cmpint (current_label (db, after->id), ==, 0);
    gone = curator_db_get_sample_by_path (db, "y/2.png", &error);
    g_assert_null (gone);
    g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  g_assert_null (curator_db_get_sample_by_path (db, "not/there.png", &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (curator_db_get_sample (db, 999, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  assert_integrity (db);
}

/* ---- classes, listing, counting ------------------------------------------------------- */

static gint64
add_sample_with_status (CuratorDb           *db,
                        const char          *path,
                        gint64               given,
                        CuratorSampleStatus  status)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbSample) sample = curator_db_sample_new ();

  sample->path = g_strdup (path);
  sample->given_label = given;
  sample->status = status;
  if (status != CURATOR_SAMPLE_OK)
    sample->reason = g_strdup ("truncated JPEG");
  g_assert_true (curator_db_put_sample (db, sample, &error));
  g_assert_no_error (error);
  return sample->id;
}

static void
assert_ids (GPtrArray    *samples,
            const gint64 *ids,
            guint         n_ids)
{
  g_assert_cmpuint (samples->len, ==, n_ids);
  for (guint i = 0; i < n_ids; i++)
    g_assert_cmpint (((CuratorDbSample *) samples->pdata[i])->id, ==, ids[i]);
}

static void
test_classes_and_lists (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  g_autoptr(GPtrArray) classes = NULL;
  g_autoptr(GArray) counts = NULL;
  gint64 A, B, C, a, b, c, d, e, x;

  A = curator_db_ensure_class (db, "A", &error);
  B = curator_db_ensure_class (db, "B", &error);
  C = curator_db_ensure_class (db, "C", &error);
  g_assert_no_error (error);
  g_assert_cmpint (curator_db_ensure_class (db, "B", &error), ==, B);
  g_assert_cmpint (curator_db_lookup_class (db, "Z"), ==, 0);
  g_assert_cmpint (curator_db_ensure_class (db, "", &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);

  a = add_sample_with_status (db, "A/a.png", A, CURATOR_SAMPLE_OK);
  b = add_sample_with_status (db, "A/b.png", A, CURATOR_SAMPLE_OK);
  c = add_sample_with_status (db, "B/c.png", B, CURATOR_SAMPLE_OK);
  d = add_sample_with_status (db, "A/d.jpg", A, CURATOR_SAMPLE_CORRUPT);
  e = add_sample_with_status (db, "e.png", 0, CURATOR_SAMPLE_OK);
  x = add_sample_with_status (db, "B/x.png", B, CURATOR_SAMPLE_OK);
  decide (db, x, CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_HUMAN);
  decide (db, b, CURATOR_ACTION_RELABEL, C, CURATOR_ACTOR_HUMAN);

  classes = curator_db_list_classes (db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (classes->len, ==, 3);
  {
    CuratorDbClass *ka = classes->pdata[0], *kb = classes->pdata[1], *kc = classes->pdata[2];

    g_assert_cmpstr (ka->name, ==, "A");
    g_assert_cmpint (ka->position, ==, 0);
    g_assert_cmpint (kb->position, ==, 1);
    g_assert_cmpint (kc->position, ==, 2);
    g_assert_cmpint (ka->n_given, ==, 2);    /* a, b (d is corrupt) */
    g_assert_cmpint (ka->n_current, ==, 1);  /* a */
    g_assert_cmpint (kb->n_given, ==, 2);    /* c, x */
    g_assert_cmpint (kb->n_current, ==, 1);  /* c (x excluded) */
    g_assert_cmpint (kc->n_given, ==, 0);
    g_assert_cmpint (kc->n_current, ==, 1);  /* b */
  }

  {
    CuratorDbSampleFilter by_a = { A, -1, FALSE };
    CuratorDbSampleFilter none = { -1, -1, FALSE };
    CuratorDbSampleFilter corrupt = { 0, CURATOR_SAMPLE_CORRUPT, FALSE };
    CuratorDbSampleFilter included_b = { B, CURATOR_SAMPLE_OK, TRUE };
    g_autoptr(GPtrArray) all = curator_db_list_samples (db, NULL, &error);
    g_autoptr(GPtrArray) in_a = curator_db_list_samples (db, &by_a, &error);
    g_autoptr(GPtrArray) unlabelled = curator_db_list_samples (db, &none, &error);
    g_autoptr(GPtrArray) broken = curator_db_list_samples (db, &corrupt, &error);
    g_autoptr(GPtrArray) b_included = curator_db_list_samples (db, &included_b, &error);

    g_assert_no_error (error);
    assert_ids (all, (gint64[]) { a, b, c, d, e, x }, 6);
    assert_ids (in_a, (gint64[]) { a, d }, 2);
    assert_ids (unlabelled, (gint64[]) { e }, 1);
    assert_ids (broken, (gint64[]) { d }, 1);
    g_assert_cmpstr (((CuratorDbSample *) broken->pdata[0])->reason, ==, "truncated JPEG");
    assert_ids (b_included, (gint64[]) { c }, 1);
  }

  counts = curator_db_count_samples (db, &error);
  g_assert_no_error (error);
  {
    gint64 total = 0;
    gboolean saw_b_ok = FALSE, saw_unlabelled = FALSE;

    for (guint i = 0; i < counts->len; i++)
      {
        CuratorDbCount *k = &g_array_index (counts, CuratorDbCount, i);

        total += k->n_samples;
        if (k->class_id == B && k->status == CURATOR_SAMPLE_OK)
          {
            saw_b_ok = TRUE;
            g_assert_cmpint (k->n_samples, ==, 2);
            g_assert_cmpint (k->n_excluded, ==, 1);
          }
        if (k->class_id == 0)
          {
            saw_unlabelled = TRUE;
            g_assert_cmpint (k->n_samples, ==, 1);
          }
      }
    g_assert_cmpint (total, ==, 6);
    g_assert_true (saw_b_ok);
    g_assert_true (saw_unlabelled);
  }
}

/* ---- caches and analysis ------------------------------------------------------------- */

static void
test_thumbnails (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  g_autoptr(GBytes) png = g_bytes_new_static ("\x89PNG\r\n\x1a\nfake", 12);
  g_autoptr(GBytes) jpeg = g_bytes_new_static ("\xff\xd8\xff", 3);
  g_autoptr(GBytes) got = NULL;
  g_autofree char *format = NULL;

  g_assert_false (curator_db_has_thumbnail (db, "h1"));
  g_assert_null (curator_db_get_thumbnail (db, "h1", &format, &error));
  g_assert_no_error (error);
  g_assert_null (format);

  g_assert_true (curator_db_put_thumbnail (db, "h1", "png", 64, 48, png, &error));
  g_assert_no_error (error);
  g_assert_true (curator_db_has_thumbnail (db, "h1"));
  got = curator_db_get_thumbnail (db, "h1", &format, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (got, png));
  g_assert_cmpstr (format, ==, "png");
  g_clear_pointer (&got, g_bytes_unref);
  g_clear_pointer (&format, g_free);

  g_assert_true (curator_db_put_thumbnail (db, "h1", "jpeg", 64, 48, jpeg, &error));
  got = curator_db_get_thumbnail (db, "h1", &format, &error);
  g_assert_true (g_bytes_equal (got, jpeg));
  g_assert_cmpstr (format, ==, "jpeg");
}

static void
test_runs (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  g_autoptr(CuratorDbRun) run = NULL;
  g_autoptr(GPtrArray) runs = NULL;
  gint64 A = curator_db_ensure_class (db, "A", &error);
  gint64 B = curator_db_ensure_class (db, "B", &error);
  gint64 r1, r2, r3;

  g_assert_null (curator_db_get_run (db, 0, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  r1 = curator_db_begin_run (db, (gint64[]) { B, A }, 2, "{\"folds\":5}", "{\"curator\":\"0.1.0\"}", &error);
  g_assert_no_error (error);
  run = curator_db_get_run (db, r1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (run->status, ==, "running");
  g_assert_cmpint (run->n_classes, ==, 2);
  g_assert_cmpint (run->class_ids[0], ==, B);
  g_assert_cmpint (run->class_ids[1], ==, A);
  g_assert_cmpstr (run->params_json, ==, "{\"folds\":5}");
  g_assert_cmpstr (run->versions_json, ==, "{\"curator\":\"0.1.0\"}");
  g_assert_cmpint (run->started_us, >, 0);
  g_assert_cmpint (run->finished_us, ==, 0);
  g_assert_null (run->metrics_json);
  g_clear_pointer (&run, curator_db_run_free);

  /* Running is not done. */
  g_assert_null (curator_db_get_run (db, 0, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (curator_db_finish_run (db, r1, "done", "{\"features_s\":1.5}", "{\"f1\":0.62}", &error));
  g_assert_no_error (error);
  g_assert_false (curator_db_finish_run (db, r1, "failed", NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (curator_db_finish_run (db, 999, "done", NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  r2 = curator_db_begin_run (db, (gint64[]) { A }, 1, NULL, NULL, &error);
  g_assert_true (curator_db_finish_run (db, r2, "failed", NULL, NULL, &error));
  g_assert_no_error (error);
  run = curator_db_get_run (db, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->id, ==, r1);
  g_assert_cmpstr (run->status, ==, "done");
  g_assert_cmpint (run->finished_us, >=, run->started_us);
  g_assert_cmpstr (run->timings_json, ==, "{\"features_s\":1.5}");
  g_assert_cmpstr (run->metrics_json, ==, "{\"f1\":0.62}");
  g_clear_pointer (&run, curator_db_run_free);

  r3 = curator_db_begin_run (db, (gint64[]) { A, B }, 2, NULL, NULL, &error);
  g_assert_true (curator_db_finish_run (db, r3, "done", NULL, NULL, &error));
  run = curator_db_get_run (db, 0, &error);
  g_assert_cmpint (run->id, ==, r3);

  runs = curator_db_list_runs (db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 3);
  g_assert_cmpint (((CuratorDbRun *) runs->pdata[0])->id, ==, r1);
  g_assert_cmpstr (((CuratorDbRun *) runs->pdata[1])->status, ==, "failed");
  g_assert_cmpint (((CuratorDbRun *) runs->pdata[2])->id, ==, r3);

  /* Bad input is refused, and no run is left behind by it. */
  g_assert_cmpint (curator_db_begin_run (db, (gint64[]) { A }, 1, "{not json", NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (curator_db_begin_run (db, (gint64[]) { A, 4242 }, 2, NULL, NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&runs, g_ptr_array_unref);
  runs = curator_db_list_runs (db, &error);
  g_assert_cmpuint (runs->len, ==, 3);
}

static void
test_scores (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  gint64 A = curator_db_ensure_class (db, "A", &error);
  gint64 B = curator_db_ensure_class (db, "B", &error);
  gint64 C = curator_db_ensure_class (db, "C", &error);
  gint64 s1 = add_sample (db, "A/1.png", A);
  gint64 s2 = add_sample (db, "B/2.png", B);
  gint64 run = curator_db_begin_run (db, (gint64[]) { A, B, C }, 3, NULL, NULL, &error);
  g_autoptr(CuratorDbScore) one = curator_db_score_new ();
  g_autoptr(CuratorDbScore) two = curator_db_score_new ();
  g_autoptr(CuratorDbScore) got = NULL;
  g_autoptr(GPtrArray) list = NULL;
  CuratorDbScore *both[2];

  g_assert_no_error (error);
  one->sample_id = s1;
  one->n_probs = 3;
  one->probs = g_new (float, 3);
  one->probs[0] = 0.125f;
  one->probs[1] = 0.75f;
  one->probs[2] = 0.125f;
  one->predicted_label = B;
  one->p_label = 0.125;
  one->suggested_label = B;
  one->suggestion_confidence = 0.75;
  one->label_quality = 0.0625;
  one->issues = 0x80000005u;
  one->outlier_score = 1.5;
  one->duplicate_group = 7;
  one->reason = g_strdup ("looks like B");
  two->sample_id = s2;  /* no probabilities, no suggestion */
  two->predicted_label = B;
  two->p_label = 0.9;
  two->label_quality = 0.9;
  both[0] = two;
  both[1] = one;

  g_assert_true (curator_db_put_scores (db, run, both, 2, &error));
  g_assert_no_error (error);

  got = curator_db_get_score (db, run, s1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got->run_id, ==, run);
  g_assert_cmpint (got->sample_id, ==, s1);
  g_assert_cmpint (got->n_probs, ==, 3);
  g_assert_cmpfloat (got->probs[0], ==, 0.125f);
  g_assert_cmpfloat (got->probs[1], ==, 0.75f);
  g_assert_cmpfloat (got->probs[2], ==, 0.125f);
  g_assert_cmpint (got->predicted_label, ==, B);
  g_assert_cmpfloat (got->p_label, ==, 0.125);
  g_assert_cmpint (got->suggested_label, ==, B);
  g_assert_cmpfloat (got->suggestion_confidence, ==, 0.75);
  g_assert_cmpfloat (got->label_quality, ==, 0.0625);
  g_assert_cmphex (got->issues, ==, 0x80000005u);
  g_assert_cmpfloat (got->outlier_score, ==, 1.5);
  g_assert_cmpint (got->duplicate_group, ==, 7);
  g_assert_cmpstr (got->reason, ==, "looks like B");
  g_clear_pointer (&got, curator_db_score_free);

  list = curator_db_list_scores (db, run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpint (((CuratorDbScore *) list->pdata[0])->sample_id, ==, s1);
  g_assert_cmpint (((CuratorDbScore *) list->pdata[1])->sample_id, ==, s2);
  g_assert_null (((CuratorDbScore *) list->pdata[1])->probs);
  g_assert_cmpint (((CuratorDbScore *) list->pdata[1])->suggested_label, ==, 0);

  /* Writing again replaces. */
  one->label_quality = 0.5;
  g_assert_true (curator_db_put_scores (db, run, &one, 1, &error));
  got = curator_db_get_score (db, run, s1, &error);
  g_assert_cmpfloat (got->label_quality, ==, 0.5);
  g_clear_pointer (&got, curator_db_score_free);

  /* Probabilities must match the run's classes. */
  one->n_probs = 2;
  g_assert_false (curator_db_put_scores (db, run, &one, 1, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  one->n_probs = 3;

  g_assert_false (curator_db_put_scores (db, 999, &one, 1, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (curator_db_get_score (db, run, 12345, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* put_scores joins an open transaction: rolled back with it. */
  {
    gint64 run2 = curator_db_begin_run (db, (gint64[]) { A, B, C }, 3, NULL, NULL, &error);
    g_autoptr(GPtrArray) none = NULL;

    g_assert_true (curator_db_begin (db, &error));
    g_assert_true (curator_db_put_scores (db, run2, both, 2, &error));
    g_assert_no_error (error);
    curator_db_rollback (db);
    none = curator_db_list_scores (db, run2, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (none->len, ==, 0);
  }
}

static void
test_features (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  float vector[1000];
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(GBytes) got = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (vector); i++)
    vector[i] = (float) i / 7.0f;
  blob = g_bytes_new (vector, sizeof vector);

  g_assert_false (curator_db_has_features (db, "kmeans-400", "h1"));
  g_assert_null (curator_db_get_features (db, "kmeans-400", "h1"));

  g_assert_true (curator_db_put_features (db, "kmeans-400", "h1", blob, &error));
  g_assert_true (curator_db_put_features (db, "kmeans-400", "h2", empty, &error));
  g_assert_true (curator_db_put_features (db, "colour-hist", "h1", empty, &error));
  g_assert_no_error (error);

  g_assert_true (curator_db_has_features (db, "kmeans-400", "h1"));
  got = curator_db_get_features (db, "kmeans-400", "h1");
  g_assert_nonnull (got);
  g_assert_true (g_bytes_equal (got, blob));
  g_clear_pointer (&got, g_bytes_unref);
  got = curator_db_get_features (db, "kmeans-400", "h2");
  g_assert_nonnull (got);
  g_assert_cmpuint (g_bytes_get_size (got), ==, 0);
  g_clear_pointer (&got, g_bytes_unref);

  g_assert_true (curator_db_delete_features (db, "kmeans-400", &error));
  g_assert_no_error (error);
  g_assert_false (curator_db_has_features (db, "kmeans-400", "h1"));
  g_assert_false (curator_db_has_features (db, "kmeans-400", "h2"));
  g_assert_true (curator_db_has_features (db, "colour-hist", "h1"));
}

static void
test_models (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  g_autoptr(GBytes) v1 = g_bytes_new_static ("dictionary v1", 13);
  g_autoptr(GBytes) v2 = g_bytes_new_static ("dictionary v2!", 14);
  g_autoptr(GBytes) got = NULL;
  gint64 created_us = -1;

  g_assert_null (curator_db_get_model (db, "kmeans/400", &created_us, &error));
  g_assert_no_error (error);
  g_assert_cmpint (created_us, ==, 0);

  g_assert_true (curator_db_put_model (db, "kmeans/400", v1, &error));
  got = curator_db_get_model (db, "kmeans/400", &created_us, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (got, v1));
  g_assert_cmpint (created_us, >, 0);
  g_clear_pointer (&got, g_bytes_unref);

  g_assert_true (curator_db_put_model (db, "kmeans/400", v2, &error));
  got = curator_db_get_model (db, "kmeans/400", NULL, &error);
  g_assert_true (g_bytes_equal (got, v2));
  g_clear_pointer (&got, g_bytes_unref);

  g_assert_true (curator_db_delete_model (db, "kmeans/400", &error));
  g_assert_no_error (error);
  g_assert_null (curator_db_get_model (db, "kmeans/400", NULL, &error));
  g_assert_no_error (error);
}

/* ---- transactions and other connections ----------------------------------------------- */

static void
test_transactions (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  g_autoptr(CuratorDb) other = NULL;
  g_autofree char *value = NULL;
  gint64 A = curator_db_ensure_class (db, "A", &error);
  gint64 s = add_sample (db, "A/1.png", A);

  other = curator_db_open (f->path, FALSE, &error);
  g_assert_no_error (error);

  g_assert_true (curator_db_begin (db, &error));
  g_assert_true (curator_db_set_setting (db, "outer", "1", &error));

  /* Another connection does not see uncommitted work. */
  value = curator_db_dup_setting (other, "outer");
  g_assert_null (value);

  /* A nested rollback undoes only the nested part. */
  g_assert_true (curator_db_begin (db, &error));
  g_assert_true (curator_db_set_setting (db, "inner", "2", &error));
  curator_db_rollback (db);

  /* A refused decision inside the transaction does not spoil it. */
  g_assert_cmpint (curator_db_record_decision (db, s, CURATOR_ACTION_RESTORE, 0,
                                               CURATOR_ACTOR_HUMAN, 0, NULL, &error), ==, 0);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (curator_db_commit (db, &error));
  g_assert_no_error (error);

  value = curator_db_dup_setting (other, "outer");
  g_assert_cmpstr (value, ==, "1");
  g_clear_pointer (&value, g_free);
  value = curator_db_dup_setting (other, "inner");
  g_assert_null (value);

  /* An outer rollback undoes everything. */
  g_assert_true (curator_db_begin (db, &error));
  decide (db, s, CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_HUMAN);
  curator_db_rollback (db);
  {
    g_autoptr(CuratorDbSample) x = get_sample (db, s);
    g_autoptr(GPtrArray) events = curator_db_list_events (db, s, &error);

    g_assert_false (x->excluded);
    g_assert_cmpuint (events->len, ==, 0);
  }
}

typedef struct {
  const char *path;
  GMutex      lock;
  GCond       cond;
  gboolean    holding;
  gint64      first_class;
} HolderData;

/* Opens its own connection, takes the write lock, writes, keeps the lock
 * a little while, commits. */
static gpointer
hold_lock_thread (gpointer user_data)
{
  HolderData *h = user_data;
  g_autoptr(GError) error = NULL;
  CuratorDb *db = curator_db_open (h->path, FALSE, &error);

  g_assert_no_error (error);
  g_assert_true (curator_db_begin (db, &error));
  h->first_class = curator_db_ensure_class (db, "first", &error);
  g_assert_no_error (error);

  g_mutex_lock (&h->lock);
  h->holding = TRUE;
  g_cond_signal (&h->cond);
  g_mutex_unlock (&h->lock);

  g_usleep (300 * G_TIME_SPAN_MILLISECOND);
  g_assert_true (curator_db_commit (db, &error));
  g_assert_no_error (error);
  curator_db_close (db);
  return NULL;
}

static void
test_writer_waits (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  g_autoptr(GPtrArray) classes = NULL;
  HolderData h = { .path = f->path };
  GThread *thread;
  gint64 second;

  g_mutex_init (&h.lock);
  g_cond_init (&h.cond);
  thread = g_thread_new ("holder", hold_lock_thread, &h);

  g_mutex_lock (&h.lock);
  while (!h.holding)
    g_cond_wait (&h.cond, &h.lock);
  g_mutex_unlock (&h.lock);

  /* The other connection holds the write lock now: this waits for it
   * instead of failing, and so comes after "first". */
  second = curator_db_ensure_class (db, "second", &error);
  g_assert_no_error (error);
  g_assert_cmpint (second, >, 0);
  g_thread_join (thread);

  classes = curator_db_list_classes (db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (classes->len, ==, 2);
  g_assert_cmpstr (((CuratorDbClass *) classes->pdata[0])->name, ==, "first");
  g_assert_cmpint (((CuratorDbClass *) classes->pdata[0])->id, ==, h.first_class);
  g_assert_cmpstr (((CuratorDbClass *) classes->pdata[1])->name, ==, "second");
  g_assert_cmpint (((CuratorDbClass *) classes->pdata[1])->position, ==, 1);

  g_mutex_clear (&h.lock);
  g_cond_clear (&h.cond);
}

typedef struct {
  const char *path;
  const char *prefix;
  gint64      class_id;
} WriterData;

#define N_WRITES 100

static gpointer
writer_thread (gpointer user_data)
{
  WriterData *w = user_data;
  g_autoptr(GError) error = NULL;
  CuratorDb *db = curator_db_open (w->path, FALSE, &error);

  g_assert_no_error (error);
  for (int i = 0; i < N_WRITES; i++)
    {
      g_autoptr(CuratorDbSample) sample = curator_db_sample_new ();

      sample->path = g_strdup_printf ("%s/%03d.png", w->prefix, i);
      sample->given_label = w->class_id;
      g_assert_true (curator_db_put_sample (db, sample, &error));
      g_assert_no_error (error);
      if (i % 10 == 0)
        decide (db, sample->id, CURATOR_ACTION_EXCLUDE, 0, CURATOR_ACTOR_CLI);
    }
  curator_db_close (db);
  return NULL;
}

static void
test_two_writers (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = open_new (f);
  g_autoptr(GPtrArray) samples = NULL;
  g_autoptr(GPtrArray) events = NULL;
  WriterData w1 = { f->path, "left", 0 };
  WriterData w2 = { f->path, "right", 0 };
  GThread *t1, *t2;

  w1.class_id = curator_db_ensure_class (db, "left", &error);
  w2.class_id = curator_db_ensure_class (db, "right", &error);
  g_assert_no_error (error);

  t1 = g_thread_new ("writer-1", writer_thread, &w1);
  t2 = g_thread_new ("writer-2", writer_thread, &w2);
  g_thread_join (t1);
  g_thread_join (t2);

  samples = curator_db_list_samples (db, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (samples->len, ==, 2 * N_WRITES);
  events = curator_db_list_events (db, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 2 * N_WRITES / 10);
  assert_integrity (db);
}

/* The parent side of the two-process test: writes until it has seen a row
 * of the child process, so the two are known to have written at the same
 * time. */
typedef struct {
  const char *path;
  gint64      class_id;
  int         n_written;
} OverlapData;

static gpointer
overlap_writer_thread (gpointer user_data)
{
  OverlapData *o = user_data;
  g_autoptr(GError) error = NULL;
  CuratorDb *db = curator_db_open (o->path, FALSE, &error);

  g_assert_no_error (error);
  for (int i = 0; i < 100000; i++)
    {
      g_autoptr(CuratorDbSample) sample = curator_db_sample_new ();
      g_autoptr(CuratorDbSample) theirs = NULL;

      sample->path = g_strdup_printf ("parent/%05d.png", i);
      sample->given_label = o->class_id;
      g_assert_true (curator_db_put_sample (db, sample, &error));
      g_assert_no_error (error);
      o->n_written = i + 1;

      theirs = curator_db_get_sample_by_path (db, "child/050.png", NULL);
      if (o->n_written >= N_WRITES && theirs != NULL)
        break;
    }
  curator_db_close (db);
  return NULL;
}

/* The child process cannot be handed the fixture's path, so both sides use
 * a folder that main() made (and exported) before any thread existed. */
static char *
two_processes_path (void)
{
  const char *dir = g_getenv ("CURATOR_TEST_DB_SHARED_DIR");

  g_assert_nonnull (dir);
  return g_build_filename (dir, "two-processes.curator", NULL);
}

static void
test_two_processes_child (void)
{
  g_autofree char *path = two_processes_path ();
  WriterData w = { path, "child", 0 };
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      g_test_skip ("runs only as the child process of /db/concurrent/two-processes");
      return;
    }
  {
    CuratorDb *db = curator_db_open (w.path, FALSE, &error);
    g_assert_no_error (error);
    w.class_id = curator_db_lookup_class (db, "child");
    g_assert_cmpint (w.class_id, >, 0);
    curator_db_close (db);
  }
  writer_thread (&w);
}

static void
test_two_processes (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = two_processes_path ();
  g_autoptr(CuratorDb) db = curator_db_open (path, TRUE, &error);
  g_autoptr(GPtrArray) samples = NULL;
  OverlapData o = { path, 0, 0 };
  GThread *thread;

  g_assert_no_error (error);

  o.class_id = curator_db_ensure_class (db, "parent", &error);
  g_assert_cmpint (curator_db_ensure_class (db, "child", &error), >, 0);
  g_assert_no_error (error);

  thread = g_thread_new ("parent-writer", overlap_writer_thread, &o);
  g_test_trap_subprocess ("/db/concurrent/two-processes/child", 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  g_thread_join (thread);

  samples = curator_db_list_samples (db, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (samples->len, ==, o.n_written + N_WRITES);
  g_assert_cmpint (o.n_written, >=, N_WRITES);
  g_test_message ("the parent wrote %d samples while the child wrote %d", o.n_written, N_WRITES);
  assert_integrity (db);
}

static void
test_busy_error (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) holder = open_new (f);
  g_autoptr(CuratorDb) waiter = NULL;
  g_autofree char *value = NULL;

  waiter = curator_db_open (f->path, FALSE, &error);
  g_assert_no_error (error);
  _curator_db_set_busy_timeout (waiter, 50);

  g_assert_true (curator_db_begin (holder, &error));
  g_assert_no_error (error);

  g_assert_false (curator_db_set_setting (waiter, "k", "v", &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_false (curator_db_begin (waiter, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_BUSY);
  g_clear_error (&error);

  /* Readers are never blocked by a writer. */
  value = curator_db_dup_setting (waiter, "created");
  g_assert_nonnull (value);

  /* Once the lock is gone the same call goes through. */
  g_assert_true (curator_db_commit (holder, &error));
  g_assert_true (curator_db_set_setting (waiter, "k", "v", &error));
  g_assert_no_error (error);
}

static void
test_integrity_detects_drift (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  CuratorDb *db = open_new (f);
  gint64 A = curator_db_ensure_class (db, "A", &error);
  gint64 B = curator_db_ensure_class (db, "B", &error);
  gint64 s1 = add_sample (db, "A/1.png", A);
  gint64 s2 = add_sample (db, "A/2.png", A);
  g_autofree char *sql = NULL;

  decide (db, s1, CURATOR_ACTION_RELABEL, B, CURATOR_ACTOR_HUMAN);
  assert_integrity (db);
  curator_db_close (db);

  /* Another program edits the cached label behind the log's back. */
  sql = g_strdup_printf ("UPDATE samples SET current_label = %" G_GINT64_FORMAT
                         " WHERE id = %" G_GINT64_FORMAT, A, s1);
  g_assert_cmpint (raw_exec (f->path, sql, NULL), ==, SQLITE_OK);
  db = curator_db_open (f->path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_false (curator_db_check_integrity (db, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_DB);
  g_clear_error (&error);
  curator_db_close (db);

  /* Same for a sample that has no events at all (s1 put right again). */
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("UPDATE samples SET current_label = %" G_GINT64_FORMAT
                         " WHERE id = %" G_GINT64_FORMAT ";"
                         "UPDATE samples SET verified = 1 WHERE id = %" G_GINT64_FORMAT,
                         B, s1, s2);
  g_assert_cmpint (raw_exec (f->path, sql, NULL), ==, SQLITE_OK);
  db = curator_db_open (f->path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_false (curator_db_check_integrity (db, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_DB);
  g_assert_nonnull (strstr (error->message, "has no decisions"));
  curator_db_close (db);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *shared_dir = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  /* A child started by g_test_trap_subprocess inherits the parent's. */
  if (g_getenv ("CURATOR_TEST_DB_SHARED_DIR") == NULL)
    {
      shared_dir = g_dir_make_tmp ("curator-test-db-shared-XXXXXX", NULL);
      g_assert_nonnull (shared_dir);
      g_setenv ("CURATOR_TEST_DB_SHARED_DIR", shared_dir, TRUE);
    }

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/db/open/create-close", test_create_close);
  ADD ("/db/open/reopen-keeps-data", test_reopen_keeps_data);
  ADD ("/db/open/refuse-newer", test_refuse_newer);
  ADD ("/db/open/refuse-foreign-sqlite", test_refuse_foreign_sqlite);
  ADD ("/db/open/refuse-garbage", test_refuse_garbage);
  ADD ("/db/open/empty-file", test_empty_file);
  ADD ("/db/schema/upgrade-from-v1", test_upgrade_from_v1);
  ADD ("/db/schema/step-must-advance", test_step_must_advance);
  ADD ("/db/schema/upgrade-from-v3", test_upgrade_from_v3);
  ADD ("/db/events/append-only", test_events_append_only);
  ADD ("/db/events/relabel-undo-redo", test_relabel_undo_redo);
  ADD ("/db/events/confirm-exclude-restore", test_confirm_exclude_restore);
  ADD ("/db/events/batch-undo-redo", test_batch_undo_redo);
  ADD ("/db/events/batch-rollback", test_batch_rollback);
  ADD ("/db/samples/put-rederives", test_put_sample_rederives);
  ADD ("/db/samples/classes-and-lists", test_classes_and_lists);
  ADD ("/db/cache/thumbnails", test_thumbnails);
  ADD ("/db/analysis/runs", test_runs);
  ADD ("/db/analysis/scores", test_scores);
  ADD ("/db/cache/features", test_features);
  ADD ("/db/cache/models", test_models);
  ADD ("/db/tx/nesting", test_transactions);
  ADD ("/db/concurrent/writer-waits", test_writer_waits);
  ADD ("/db/concurrent/two-writers", test_two_writers);
  ADD ("/db/concurrent/two-processes", test_two_processes);
  g_test_add_func ("/db/concurrent/two-processes/child", test_two_processes_child);
  ADD ("/db/concurrent/busy-error", test_busy_error);
  ADD ("/db/integrity/detects-drift", test_integrity_detects_drift);

  status = g_test_run ();
  if (shared_dir)
    rm_rf (shared_dir);
  return status;
}

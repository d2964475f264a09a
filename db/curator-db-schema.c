/* curator-db-schema.c: the schema of the project file and how a file gets there.
 *
 * The version is PRAGMA user_version; PRAGMA application_id marks the file as
 * a Curator project. Opening a file first decides whether it is ours at all
 * and whether we can read it, before anything is written: a file that is not a
 * project, or is newer than this program, is refused untouched. An older
 * project is copied to "PATH.bak-vN" and then taken up one version at a time,
 * each step in its own transaction that also writes the new version, so a
 * failed step leaves the file at the last good version.
 *
 * To change the schema: append a step, bump CURATOR_DB_SCHEMA_VERSION, never
 * edit a step that has shipped. */
#include "curator-config.h"

#include <glib/gstdio.h>

#include "curator-db-private.h"

/* Version 1: the dataset, the labels and the decisions. */
static const char schema_step_1[] =
  "CREATE TABLE settings ("
  "  key   TEXT PRIMARY KEY NOT NULL,"
  "  value TEXT NOT NULL"
  ");"
  "CREATE TABLE classes ("
  "  id       INTEGER PRIMARY KEY,"
  "  name     TEXT NOT NULL UNIQUE,"
  "  position INTEGER NOT NULL,"
  "  hotkey   TEXT,"
  "  colour   TEXT"
  ");"
  /* current_label, label_source, verified and excluded are a cache of what
   * the events say; curator-db.c rewrites them in the transaction that
   * appends an event. Labels are NULL for "unlabelled" so that the foreign
   * keys hold. */
  "CREATE TABLE samples ("
  "  id            INTEGER PRIMARY KEY,"
  "  path          TEXT NOT NULL UNIQUE,"
  "  file_hash     TEXT,"
  "  pixel_hash    TEXT,"
  "  phash         INTEGER NOT NULL DEFAULT 0,"
  "  n_bytes       INTEGER NOT NULL DEFAULT 0,"
  "  mtime_us      INTEGER NOT NULL DEFAULT 0,"
  "  width         INTEGER NOT NULL DEFAULT 0,"
  "  height        INTEGER NOT NULL DEFAULT 0,"
  "  channels      INTEGER NOT NULL DEFAULT 0,"
  "  format        TEXT,"
  "  status        TEXT NOT NULL DEFAULT 'ok'"
  "                CHECK (status IN ('ok', 'corrupt', 'missing')),"
  "  reason        TEXT,"
  "  luma_p05      REAL,"
  "  luma_p50      REAL,"
  "  luma_p95      REAL,"
  "  contrast      REAL,"
  "  entropy       REAL,"
  "  blur          REAL,"
  "  is_grey       INTEGER NOT NULL DEFAULT 0,"
  "  given_label   INTEGER REFERENCES classes (id),"
  "  current_label INTEGER REFERENCES classes (id),"
  "  label_source  TEXT NOT NULL DEFAULT 'given'"
  "                CHECK (label_source IN ('given', 'human', 'pseudo')),"
  "  verified      INTEGER NOT NULL DEFAULT 0,"
  "  excluded      INTEGER NOT NULL DEFAULT 0,"
  "  split         TEXT,"
  "  indexed_us    INTEGER NOT NULL DEFAULT 0"
  ");"
  /* Covering the class counts (list_classes), which the sidebar asks for
   * after every decision. */
  "CREATE INDEX samples_by_given ON samples (given_label, status);"
  "CREATE INDEX samples_by_current ON samples (current_label, status, excluded);"
  "CREATE INDEX samples_by_pixel_hash ON samples (pixel_hash);"
  "CREATE TABLE thumbnails ("
  "  pixel_hash TEXT PRIMARY KEY NOT NULL,"
  "  format     TEXT NOT NULL,"
  "  width      INTEGER NOT NULL,"
  "  height     INTEGER NOT NULL,"
  "  data       BLOB NOT NULL,"
  "  created_us INTEGER NOT NULL"
  ");"
  /* The decision log. Rows are only ever appended: undo is a new row that
   * names the row it reverts, and the triggers below make the rule hold for
   * any program that opens the file, not only for ours. */
  "CREATE TABLE events ("
  "  id        INTEGER PRIMARY KEY,"
  "  sample_id INTEGER NOT NULL REFERENCES samples (id),"
  "  action    TEXT NOT NULL"
  "            CHECK (action IN ('relabel', 'accept', 'confirm', 'exclude', 'restore', 'undo')),"
  "  old_label INTEGER REFERENCES classes (id),"
  "  new_label INTEGER REFERENCES classes (id),"
  "  actor     TEXT NOT NULL CHECK (actor IN ('human', 'cli', 'model')),"
  "  run_id    INTEGER,"
  "  time_us   INTEGER NOT NULL,"
  "  note      TEXT,"
  "  reverts   INTEGER REFERENCES events (id),"
  "  CHECK ((action = 'undo') = (reverts IS NOT NULL))"
  ");"
  "CREATE INDEX events_by_sample ON events (sample_id, id);"
  "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
  "  BEGIN SELECT RAISE (ABORT, 'the event log is append-only'); END;"
  "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
  "  BEGIN SELECT RAISE (ABORT, 'the event log is append-only'); END;"
  "INSERT INTO settings (key, value)"
  "  VALUES ('created', strftime ('%Y-%m-%dT%H:%M:%SZ', 'now'));";

/* Version 2: analysis runs, their per-sample scores, and the caches that
 * spare re-analysis the expensive parts (features, learned dictionaries). */
static const char schema_step_2[] =
  "CREATE TABLE runs ("
  "  id          INTEGER PRIMARY KEY,"
  "  started_us  INTEGER NOT NULL,"
  "  finished_us INTEGER NOT NULL DEFAULT 0,"
  "  status      TEXT NOT NULL"
  "              CHECK (status IN ('running', 'done', 'failed', 'cancelled')),"
  "  n_classes   INTEGER NOT NULL CHECK (n_classes >= 0),"
  "  class_ids   TEXT NOT NULL CONSTRAINT class_ids_json CHECK (json_valid (class_ids)),"
  "  params      TEXT CONSTRAINT params_json CHECK (params IS NULL OR json_valid (params)),"
  "  versions    TEXT CONSTRAINT versions_json CHECK (versions IS NULL OR json_valid (versions)),"
  "  timings     TEXT CONSTRAINT timings_json CHECK (timings IS NULL OR json_valid (timings)),"
  "  metrics     TEXT CONSTRAINT metrics_json CHECK (metrics IS NULL OR json_valid (metrics))"
  ");"
  "CREATE INDEX runs_by_status ON runs (status, id);"
  /* probs: little-endian float32, n_probs of them, in the order of the
   * run's class_ids. */
  "CREATE TABLE scores ("
  "  run_id                INTEGER NOT NULL REFERENCES runs (id),"
  "  sample_id             INTEGER NOT NULL REFERENCES samples (id),"
  "  probs                 BLOB,"
  "  n_probs               INTEGER NOT NULL DEFAULT 0,"
  "  predicted_label       INTEGER REFERENCES classes (id),"
  "  p_label               REAL,"
  "  suggested_label       INTEGER REFERENCES classes (id),"
  "  suggestion_confidence REAL,"
  "  label_quality         REAL,"
  "  issues                INTEGER NOT NULL DEFAULT 0,"
  "  outlier_score         REAL,"
  "  duplicate_group       INTEGER NOT NULL DEFAULT 0,"
  "  reason                TEXT,"
  "  PRIMARY KEY (run_id, sample_id)"
  ") WITHOUT ROWID;"
  "CREATE INDEX scores_by_sample ON scores (sample_id, run_id);"
  /* Feature vectors are kilobytes each: a rowid table keeps them out of the
   * key's b-tree. */
  "CREATE TABLE features ("
  "  id            INTEGER PRIMARY KEY,"
  "  extractor_key TEXT NOT NULL,"
  "  pixel_hash    TEXT NOT NULL,"
  "  data          BLOB NOT NULL,"
  "  created_us    INTEGER NOT NULL,"
  "  UNIQUE (extractor_key, pixel_hash)"
  ");"
  "CREATE TABLE models ("
  "  key        TEXT PRIMARY KEY NOT NULL,"
  "  data       BLOB NOT NULL,"
  "  created_us INTEGER NOT NULL"
  ");";

/* Version 3: what an analysis run finds beyond one score row per sample:
 * each sample's nearest neighbours (the GUI shows them beside the sample),
 * and per-class figures (counts, estimated true counts, minority, the row of
 * the confident joint). Blobs are little-endian: neighbours n_neighbours x
 * (int64 sample id, float32 cosine similarity), nearest first; joint float32
 * counts in the order of the run's class_ids. */
static const char schema_step_3[] =
  "CREATE TABLE neighbours ("
  "  run_id       INTEGER NOT NULL REFERENCES runs (id),"
  "  sample_id    INTEGER NOT NULL REFERENCES samples (id),"
  "  n_neighbours INTEGER NOT NULL CHECK (n_neighbours >= 0),"
  "  data         BLOB NOT NULL,"
  "  PRIMARY KEY (run_id, sample_id)"
  ") WITHOUT ROWID;"
  "CREATE TABLE run_classes ("
  "  run_id             INTEGER NOT NULL REFERENCES runs (id),"
  "  class_id           INTEGER NOT NULL REFERENCES classes (id),"
  "  n_labelled         INTEGER NOT NULL DEFAULT 0,"
  "  n_label_issues     INTEGER NOT NULL DEFAULT 0,"
  "  n_estimated        REAL,"
  "  ratio_to_largest   REAL,"
  "  ratio_to_median    REAL,"
  "  minority           INTEGER NOT NULL DEFAULT 0,"
  "  mean_label_quality REAL,"
  "  joint              BLOB,"
  "  PRIMARY KEY (run_id, class_id)"
  ") WITHOUT ROWID;";

/* Version 4: undo steps of several decisions (batches), and the samples and
 * events tables rebuilt without `x IN (...)` CHECK constraints.
 *
 * A batch is a row of its own so that its id exists before its first
 * decision and is never handed out twice; events.batch_id names it (NULL = a
 * decision undone on its own).
 *
 * SQLite evaluates a CHECK (x IN ('a', 'b', 'c')) by building and dropping a
 * temporary b-tree for every row written; the same test spelled with = and
 * OR costs nothing of the sort (measured: 17 -> 12 us per sample indexed).
 * A CHECK cannot be altered, so the two tables written per sample and per
 * decision are rebuilt the way SQLite documents (create, copy with the same
 * ids, drop, rename, then indexes and triggers again), with foreign keys off
 * during the step and checked before it commits (see the migration loop).
 * Other tables that refer to samples or events name them by name, so they
 * refer to the new tables after the rename. `runs` keeps its CHECK: one row
 * per analysis does not pay for a rebuild. The index of samples by pixel
 * hash goes (see below). */
static const char schema_step_4[] =
  "CREATE TABLE batches ("
  "  id         INTEGER PRIMARY KEY,"
  "  started_us INTEGER NOT NULL"
  ");"
  "CREATE TABLE samples_v4 ("
  "  id            INTEGER PRIMARY KEY,"
  "  path          TEXT NOT NULL UNIQUE,"
  "  file_hash     TEXT,"
  "  pixel_hash    TEXT,"
  "  phash         INTEGER NOT NULL DEFAULT 0,"
  "  n_bytes       INTEGER NOT NULL DEFAULT 0,"
  "  mtime_us      INTEGER NOT NULL DEFAULT 0,"
  "  width         INTEGER NOT NULL DEFAULT 0,"
  "  height        INTEGER NOT NULL DEFAULT 0,"
  "  channels      INTEGER NOT NULL DEFAULT 0,"
  "  format        TEXT,"
  "  status        TEXT NOT NULL DEFAULT 'ok'"
  "                CHECK (status = 'ok' OR status = 'corrupt' OR status = 'missing'),"
  "  reason        TEXT,"
  "  luma_p05      REAL,"
  "  luma_p50      REAL,"
  "  luma_p95      REAL,"
  "  contrast      REAL,"
  "  entropy       REAL,"
  "  blur          REAL,"
  "  is_grey       INTEGER NOT NULL DEFAULT 0,"
  "  given_label   INTEGER REFERENCES classes (id),"
  "  current_label INTEGER REFERENCES classes (id),"
  "  label_source  TEXT NOT NULL DEFAULT 'given'"
  "                CHECK (label_source = 'given' OR label_source = 'human'"
  "                       OR label_source = 'pseudo'),"
  "  verified      INTEGER NOT NULL DEFAULT 0,"
  "  excluded      INTEGER NOT NULL DEFAULT 0,"
  "  split         TEXT,"
  "  indexed_us    INTEGER NOT NULL DEFAULT 0"
  ");"
  "INSERT INTO samples_v4 (id, path, file_hash, pixel_hash, phash, n_bytes, mtime_us, width,"
  "    height, channels, format, status, reason, luma_p05, luma_p50, luma_p95, contrast,"
  "    entropy, blur, is_grey, given_label, current_label, label_source, verified, excluded,"
  "    split, indexed_us)"
  "  SELECT id, path, file_hash, pixel_hash, phash, n_bytes, mtime_us, width,"
  "    height, channels, format, status, reason, luma_p05, luma_p50, luma_p95, contrast,"
  "    entropy, blur, is_grey, given_label, current_label, label_source, verified, excluded,"
  "    split, indexed_us"
  "  FROM samples ORDER BY id;"
  "DROP TABLE samples;"
  "ALTER TABLE samples_v4 RENAME TO samples;"
  "CREATE INDEX samples_by_given ON samples (given_label, status);"
  "CREATE INDEX samples_by_current ON samples (current_label, status, excluded);"
  /* samples_by_pixel_hash is not made again: no statement looks samples up
   * by pixel hash (duplicates are grouped in memory), and keeping it cost
   * an insert at a random place of a b-tree keyed by 64-character hashes
   * for every sample indexed. */
  "CREATE TABLE events_v4 ("
  "  id        INTEGER PRIMARY KEY,"
  "  sample_id INTEGER NOT NULL REFERENCES samples (id),"
  "  action    TEXT NOT NULL"
  "            CHECK (action = 'relabel' OR action = 'accept' OR action = 'confirm'"
  "                   OR action = 'exclude' OR action = 'restore' OR action = 'undo'),"
  "  old_label INTEGER REFERENCES classes (id),"
  "  new_label INTEGER REFERENCES classes (id),"
  "  actor     TEXT NOT NULL"
  "            CHECK (actor = 'human' OR actor = 'cli' OR actor = 'model'),"
  "  run_id    INTEGER,"
  "  time_us   INTEGER NOT NULL,"
  "  note      TEXT,"
  "  reverts   INTEGER REFERENCES events (id),"
  "  batch_id  INTEGER REFERENCES batches (id),"
  "  CHECK ((action = 'undo') = (reverts IS NOT NULL))"
  ");"
  "INSERT INTO events_v4 (id, sample_id, action, old_label, new_label, actor, run_id, time_us,"
  "    note, reverts, batch_id)"
  "  SELECT id, sample_id, action, old_label, new_label, actor, run_id, time_us,"
  "    note, reverts, NULL"
  "  FROM events ORDER BY id;"
  "DROP TABLE events;"
  "ALTER TABLE events_v4 RENAME TO events;"
  "CREATE INDEX events_by_sample ON events (sample_id, id);"
  /* Undo finds where a batch starts; only batch rows are in the index. */
  "CREATE INDEX events_by_batch ON events (batch_id, id) WHERE batch_id IS NOT NULL;"
  "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
  "  BEGIN SELECT RAISE (ABORT, 'the event log is append-only'); END;"
  "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
  "  BEGIN SELECT RAISE (ABORT, 'the event log is append-only'); END;";

/* steps[i] takes version i to version i + 1. */
static const CuratorDbMigration schema_steps[] = {
  { 1, schema_step_1 },
  { 2, schema_step_2 },
  { 3, schema_step_3 },
  { 4, schema_step_4 },
};

G_STATIC_ASSERT (G_N_ELEMENTS (schema_steps) == CURATOR_DB_SCHEMA_VERSION);

/* Copies the file as it is now (WAL content included, since VACUUM INTO reads
 * through the connection) to PATH.bak-vN. It is written under a temporary
 * name and renamed, so a crash never leaves a half backup under the real
 * name. */
static gboolean
backup_before_upgrade (CuratorDb  *db,
                       int         version,
                       GError    **error)
{
  g_autofree char *backup_path = g_strdup_printf ("%s.bak-v%d", db->path, version);
  g_autofree char *tmp_path = g_strdup_printf ("%s.tmp", backup_path);
  g_autofree char *purpose = g_strdup_printf ("back up the project to %s", backup_path);
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (g_unlink (tmp_path) != 0 && errno != ENOENT)
    {
      int saved_errno = errno;
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                   "Could not remove the stale file %s: %s", tmp_path, g_strerror (saved_errno));
      return FALSE;
    }

  rc = sqlite3_prepare_v2 (db->sqlite, "VACUUM INTO ?1", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, tmp_path, -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  if (rc != SQLITE_OK)
    {
      _curator_db_set_error (db, error, rc, purpose);
      sqlite3_finalize (stmt);
      g_unlink (tmp_path);
      return FALSE;
    }
  sqlite3_finalize (stmt);

  if (g_rename (tmp_path, backup_path) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                   "Could not %s: %s", purpose, g_strerror (saved_errno));
      g_unlink (tmp_path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_version (CuratorDb  *db,
              int        *version,
              GError    **error)
{
  gint64 v = 0;

  if (!_curator_db_pragma_int (db, "user_version", &v, error))
    return FALSE;
  *version = (int) v;
  return TRUE;
}

static gboolean
run_one_step (CuratorDb                *db,
              const CuratorDbMigration *step,
              int                       from_version,
              GError                  **error)
{
  g_autofree char *purpose = g_strdup_printf ("upgrade the project from schema %d to %d",
                                              from_version, step->to_version);
  g_autofree char *set_version = NULL;
  sqlite3_stmt *stmt = NULL;
  int reached = -1;
  int rc;

  if (step->to_version != from_version + 1)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                   "Could not %s: the step is for schema %d, so it does not advance by one",
                   purpose, step->to_version);
      return FALSE;
    }

  if (!_curator_db_exec (db, step->sql, purpose, error))
    return FALSE;

  /* Foreign keys are off during the steps (see _curator_db_migrate_with):
   * what SQLite did not check row by row is checked here, once. */
  rc = sqlite3_prepare_v2 (db->sqlite, "PRAGMA foreign_key_check", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                       "Could not %s: row %" G_GINT64_FORMAT " of %s refers to a missing row of %s",
                       purpose, (gint64) sqlite3_column_int64 (stmt, 1),
                       (const char *) sqlite3_column_text (stmt, 0),
                       (const char *) sqlite3_column_text (stmt, 2));
          sqlite3_finalize (stmt);
          return FALSE;
        }
      if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  if (rc != SQLITE_OK)
    {
      _curator_db_set_error (db, error, rc, purpose);
      sqlite3_finalize (stmt);
      return FALSE;
    }
  sqlite3_finalize (stmt);
  stmt = NULL;

  if (from_version == 0)
    {
      g_autofree char *set_id = g_strdup_printf ("PRAGMA application_id = %d",
                                                 CURATOR_DB_APPLICATION_ID);
      if (!_curator_db_exec (db, set_id, purpose, error))
        return FALSE;
    }

  set_version = g_strdup_printf ("PRAGMA user_version = %d", step->to_version);
  if (!_curator_db_exec (db, set_version, purpose, error))
    return FALSE;

  /* Which program last changed the schema, for whoever opens the file
   * later. Not cached: this runs once per step. */
  rc = sqlite3_prepare_v2 (db->sqlite,
                           "INSERT INTO settings (key, value) VALUES ('program_version', ?1)"
                           " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, CURATOR_VERSION, -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  if (rc != SQLITE_OK)
    {
      _curator_db_set_error (db, error, rc, purpose);
      sqlite3_finalize (stmt);
      return FALSE;
    }
  sqlite3_finalize (stmt);

  /* The SQL of a step could itself have written a version; what counts is
   * what the file says now. */
  if (!read_version (db, &reached, error))
    return FALSE;
  if (reached != step->to_version)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                   "Could not %s: the file is at schema %d after the step",
                   purpose, reached);
      return FALSE;
    }
  return TRUE;
}

static gboolean
migrate_steps (CuratorDb                *db,
               const CuratorDbMigration *steps,
               int                       target_version,
               GError                  **error)
{
  for (;;)
    {
      int version = 0;

      /* The version is read again under the write lock: another process may
       * have upgraded the file while we waited for it. */
      if (!curator_db_begin (db, error))
        return FALSE;
      if (!read_version (db, &version, error))
        goto fail;
      if (version >= target_version)
        {
          if (!curator_db_commit (db, error))
            return FALSE;
          db->schema_version = version;
          return TRUE;
        }
      if (version < 0)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                       "The project %s has a negative schema version (%d)", db->path, version);
          goto fail;
        }
      if (!run_one_step (db, &steps[version], version, error))
        goto fail;
      if (!curator_db_commit (db, error))
        return FALSE;
      db->schema_version = version + 1;
      continue;

    fail:
      curator_db_rollback (db);
      return FALSE;
    }
}

gboolean
_curator_db_migrate_with (CuratorDb                *db,
                          const CuratorDbMigration *steps,
                          guint                     n_steps,
                          int                       target_version,
                          GError                  **error)
{
  gboolean ok;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (db->tx_depth == 0, FALSE);
  g_return_val_if_fail (target_version >= 0 && (guint) target_version <= n_steps, FALSE);

  /* SQLite's way to change a table's constraints is to rebuild it, and a
   * rebuilt table that others refer to must be dropped with foreign keys
   * off (with them on, the drop deletes every row first and fails on the
   * references). The pragma is ignored inside a transaction, hence here,
   * around all the steps; each step checks the keys before committing. */
  if (!_curator_db_exec (db, "PRAGMA foreign_keys = OFF", "prepare the upgrade", error))
    return FALSE;
  ok = migrate_steps (db, steps, target_version, error);
  if (!_curator_db_exec (db, "PRAGMA foreign_keys = ON", "finish the upgrade",
                         ok ? error : NULL))
    ok = FALSE;
  return ok;
}

gboolean
_curator_db_prepare_schema (CuratorDb  *db,
                            gboolean    create,
                            int         target_version,
                            GError    **error)
{
  gint64 application_id = 0;
  gint64 n_objects = 0;
  int version = 0;
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_return_val_if_fail (target_version >= 1 && target_version <= CURATOR_DB_SCHEMA_VERSION, FALSE);

  /* Everything up to the journal mode only reads: a file we refuse must not
   * change by a single byte. The first read is also where SQLite notices a
   * file that is not a database at all. */
  if (!_curator_db_pragma_int (db, "application_id", &application_id, error))
    return FALSE;
  if (!read_version (db, &version, error))
    return FALSE;
  rc = sqlite3_prepare_v2 (db->sqlite, "SELECT count(*) FROM sqlite_schema", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          n_objects = sqlite3_column_int64 (stmt, 0);
          rc = SQLITE_OK;
        }
    }
  if (rc != SQLITE_OK)
    {
      _curator_db_set_error (db, error, rc, "read the project's schema");
      sqlite3_finalize (stmt);
      return FALSE;
    }
  sqlite3_finalize (stmt);

  if (n_objects > 0 || version != 0)
    {
      if (application_id != CURATOR_DB_APPLICATION_ID)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "%s is not a Curator project: it is an SQLite database of some other program",
                       db->path);
          return FALSE;
        }
      if (version > CURATOR_DB_SCHEMA_VERSION)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB_TOO_NEW,
                       "%s was written by a newer Curator (schema %d, this program reads up to %d)",
                       db->path, version, CURATOR_DB_SCHEMA_VERSION);
          return FALSE;
        }
      if (version <= 0)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "%s is a damaged Curator project: it has tables but no schema version",
                       db->path);
          return FALSE;
        }
    }
  else if (!create)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s is an empty file, not a Curator project", db->path);
      return FALSE;
    }

  /* A new file gets 8 KiB pages (SQLite's default is 4 KiB): indexing writes
   * a sample row and a thumbnail of about a kilobyte per picture, and with
   * pages twice as large a commit writes half as many WAL frames and the
   * b-trees keyed by 64-character hashes are a level shallower. Measured
   * with tests/bench/bench-index-parts on 10,000 CIFAR pictures: commit
   * 3.8-5.0 -> 1.1-1.5 us per sample, all writes 13-16 -> 10-11 us. The
   * size is fixed once the file holds anything; older projects keep
   * theirs. */
  if (n_objects == 0 && version == 0 &&
      !_curator_db_exec (db, "PRAGMA page_size = 8192", "set up the new project", error))
    return FALSE;

  /* From here on the file is ours. WAL lets readers (the GUI's grid) go on
   * while a writer (an analysis) commits; NORMAL is durable enough in WAL:
   * a power cut may lose the last commits, never corrupt the file. */
  rc = sqlite3_prepare_v2 (db->sqlite, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          const char *mode = (const char *) sqlite3_column_text (stmt, 0);
          rc = SQLITE_OK;
          if (g_strcmp0 (mode, "wal") != 0)
            {
              g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                           "Could not switch %s to write-ahead logging (journal mode is %s)",
                           db->path, mode ? mode : "unknown");
              sqlite3_finalize (stmt);
              return FALSE;
            }
        }
    }
  if (rc != SQLITE_OK)
    {
      _curator_db_set_error (db, error, rc, "switch the project to write-ahead logging");
      sqlite3_finalize (stmt);
      return FALSE;
    }
  sqlite3_finalize (stmt);

  if (!_curator_db_exec (db,
                         "PRAGMA synchronous = NORMAL;"
                         "PRAGMA foreign_keys = ON;",
                         "set up the connection", error))
    return FALSE;

  if (version < target_version)
    {
      if (version >= 1 && !backup_before_upgrade (db, version, error))
        return FALSE;
      if (!_curator_db_migrate_with (db, schema_steps, G_N_ELEMENTS (schema_steps),
                                     target_version, error))
        return FALSE;
    }

  /* Read once more: a newer Curator may have upgraded the file since the
   * first look, and then we must not go on writing into it. */
  if (!read_version (db, &version, error))
    return FALSE;
  if (version > CURATOR_DB_SCHEMA_VERSION)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB_TOO_NEW,
                   "%s was written by a newer Curator (schema %d, this program reads up to %d)",
                   db->path, version, CURATOR_DB_SCHEMA_VERSION);
      return FALSE;
    }
  db->schema_version = version;
  return TRUE;
}

/* curator-db.c: every read and write of the project file except the schema.
 *
 * Statements are prepared once per connection and kept in a table keyed by
 * their SQL; a statement is reset when the scope that used it ends
 * (g_autoptr (CuratorDbStmt)), so a failure half way through never leaves one
 * holding a read lock.
 *
 * The invariant this file keeps: a sample's current_label, label_source,
 * verified and excluded columns are exactly what replaying its active events
 * over its given label yields. Every function that appends an event or changes
 * a given label recomputes them in the same transaction. */
#include "curator-config.h"

#include <math.h>
#include <string.h>

#include "curator-db-private.h"

/* ---- enums <-> names ----------------------------------------------------- */

static const char *const status_names[] = { "ok", "corrupt", "missing" };
static const char *const actor_names[] = { "human", "cli", "model" };
static const char *const action_names[] = {
  "relabel", "accept", "confirm", "exclude", "restore", "undo",
};

static gboolean
name_to_index (const char *const *names,
               guint               n_names,
               const char         *name,
               int                *out)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < n_names; i++)
    if (strcmp (names[i], name) == 0)
      {
        *out = (int) i;
        return TRUE;
      }
  return FALSE;
}

const char *
curator_sample_status_to_string (CuratorSampleStatus status)
{
  g_return_val_if_fail ((guint) status < G_N_ELEMENTS (status_names), NULL);
  return status_names[status];
}

gboolean
curator_sample_status_from_string (const char          *name,
                                   CuratorSampleStatus *out)
{
  int i;

  if (!name_to_index (status_names, G_N_ELEMENTS (status_names), name, &i))
    return FALSE;
  if (out)
    *out = (CuratorSampleStatus) i;
  return TRUE;
}

const char *
curator_actor_to_string (CuratorActor actor)
{
  g_return_val_if_fail ((guint) actor < G_N_ELEMENTS (actor_names), NULL);
  return actor_names[actor];
}

gboolean
curator_actor_from_string (const char   *name,
                           CuratorActor *out)
{
  int i;

  if (!name_to_index (actor_names, G_N_ELEMENTS (actor_names), name, &i))
    return FALSE;
  if (out)
    *out = (CuratorActor) i;
  return TRUE;
}

const char *
curator_action_to_string (CuratorAction action)
{
  g_return_val_if_fail ((guint) action < G_N_ELEMENTS (action_names), NULL);
  return action_names[action];
}

gboolean
curator_action_from_string (const char    *name,
                            CuratorAction *out)
{
  int i;

  if (!name_to_index (action_names, G_N_ELEMENTS (action_names), name, &i))
    return FALSE;
  if (out)
    *out = (CuratorAction) i;
  return TRUE;
}

/* ---- errors and statements ------------------------------------------------ */

void
_curator_db_set_error (CuratorDb   *db,
                       GError     **error,
                       int          rc,
                       const char  *purpose)
{
  const char *path = db && db->path ? db->path : "(no path)";
  const char *message = db && db->sqlite ? sqlite3_errmsg (db->sqlite) : sqlite3_errstr (rc);

  switch (rc & 0xff)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_BUSY,
                   "Could not %s: the project %s is in use by another process that did not "
                   "let go within %.1f s (%s)",
                   purpose, path, (db ? db->busy_timeout_ms : 0) / 1000.0, message);
      break;
    case SQLITE_NOTADB:
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s is not a Curator project: it is not an SQLite database", path);
      break;
    case SQLITE_CONSTRAINT:
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "Could not %s: %s", purpose, message);
      break;
    case SQLITE_INTERRUPT:
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED,
                   "Could not %s: interrupted", purpose);
      break;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                   "Could not %s: %s (%s)", purpose, message, path);
      break;
    default:  /* FULL, IOERR, CORRUPT, NOMEM, SCHEMA, ERROR, ... */
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                   "Could not %s: %s (%s)", purpose, message, path);
      break;
    }
}

/* A cached statement on loan; g_autoptr gives it back reset. */
typedef sqlite3_stmt CuratorDbStmt;

static void
stmt_give_back (CuratorDbStmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorDbStmt, stmt_give_back)

static void
stmt_finalize (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

/* The statement cache's hash: the length and the first and last 32 bytes
 * of the SQL text. Equal texts hash equal, and g_str_equal still decides;
 * hashing a whole 600-byte INSERT byte by byte, twice per sample written,
 * cost more than the lookup it serves. */
static guint
sql_hash (gconstpointer key)
{
  const char *sql = key;
  gsize n = strlen (sql);
  guint hash = (guint) n;

  for (gsize i = 0; i < MIN (n, 32); i++)
    hash = hash * 31 + (guchar) sql[i];
  for (gsize i = n > 32 ? n - 32 : 0; i < n; i++)
    hash = hash * 31 + (guchar) sql[i];
  return hash;
}

static CuratorDbStmt *
db_prepare (CuratorDb   *db,
            const char  *sql,
            const char  *purpose,
            GError     **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (db->stmts, sql);

  if (stmt == NULL)
    {
      int rc = sqlite3_prepare_v3 (db->sqlite, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
      if (rc != SQLITE_OK)
        {
          _curator_db_set_error (db, error, rc, purpose);
          sqlite3_finalize (stmt);
          return NULL;
        }
      g_hash_table_insert (db->stmts, g_strdup (sql), stmt);
    }

  /* One loan at a time: a statement still stepping here means two scopes
   * share it, which would silently cut the first one's results short. */
  g_assert (!sqlite3_stmt_busy (stmt));
  return stmt;
}

typedef enum {
  STEP_ERROR = -1,
  STEP_DONE  = 0,
  STEP_ROW   = 1,
} StepResult;

static StepResult
db_step (CuratorDb     *db,
         sqlite3_stmt  *stmt,
         const char    *purpose,
         GError       **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    return STEP_ROW;
  if (rc == SQLITE_DONE)
    return STEP_DONE;
  _curator_db_set_error (db, error, rc, purpose);
  return STEP_ERROR;
}

/* Runs a statement that returns no rows the caller wants. */
static gboolean
db_run (CuratorDb     *db,
        sqlite3_stmt  *stmt,
        const char    *purpose,
        GError       **error)
{
  StepResult r;

  while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
    ;
  return r == STEP_DONE;
}

gboolean
_curator_db_exec (CuratorDb   *db,
                  const char  *sql,
                  const char  *purpose,
                  GError     **error)
{
  int rc = sqlite3_exec (db->sqlite, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      _curator_db_set_error (db, error, rc, purpose);
      return FALSE;
    }
  return TRUE;
}

gboolean
_curator_db_pragma_int (CuratorDb   *db,
                        const char  *pragma,
                        gint64      *out,
                        GError     **error)
{
  g_autofree char *sql = g_strdup_printf ("PRAGMA %s", pragma);
  g_autofree char *purpose = g_strdup_printf ("read the project's %s", pragma);
  sqlite3_stmt *stmt = NULL;
  int rc;

  /* Not cached: these run while opening, before the cache matters. */
  rc = sqlite3_prepare_v2 (db->sqlite, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          *out = sqlite3_column_int64 (stmt, 0);
          rc = SQLITE_OK;
        }
    }
  if (rc != SQLITE_OK)
    {
      _curator_db_set_error (db, error, rc, purpose);
      sqlite3_finalize (stmt);
      return FALSE;
    }
  sqlite3_finalize (stmt);
  return TRUE;
}

/* Bound values stay valid until the statement is given back, which clears
 * its bindings: SQLITE_STATIC is safe for anything the caller holds. */
static void
bind_text (sqlite3_stmt *stmt,
           int           index,
           const char   *text)
{
  if (text)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, index);
}

/* Ids: 0 means "none" in the API and NULL in the file (foreign keys). */
static void
bind_id (sqlite3_stmt *stmt,
         int           index,
         gint64        id)
{
  if (id != 0)
    sqlite3_bind_int64 (stmt, index, id);
  else
    sqlite3_bind_null (stmt, index);
}

static gboolean
bind_bytes (CuratorDb     *db,
            sqlite3_stmt  *stmt,
            int            index,
            GBytes        *bytes,
            const char    *purpose,
            GError       **error)
{
  gsize size = 0;
  gconstpointer data = g_bytes_get_data (bytes, &size);
  int rc;

  /* A NULL pointer would bind NULL, not an empty blob. */
  if (size == 0)
    rc = sqlite3_bind_zeroblob (stmt, index, 0);
  else if (size > G_MAXINT)
    rc = SQLITE_TOOBIG;
  else
    rc = sqlite3_bind_blob (stmt, index, data, (int) size, SQLITE_STATIC);
  if (rc != SQLITE_OK)
    {
      _curator_db_set_error (db, error, rc, purpose);
      return FALSE;
    }
  return TRUE;
}

static char *
column_dup_text (sqlite3_stmt *stmt,
                 int           column)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, column));
}

static GBytes *
column_bytes (sqlite3_stmt *stmt,
              int           column)
{
  const void *data = sqlite3_column_blob (stmt, column);
  int size = sqlite3_column_bytes (stmt, column);

  return g_bytes_new (data, (gsize) size);
}

/* ---- opening -------------------------------------------------------------- */

/* Process-wide SQLite settings, made once before SQLite initialises itself
 * (after that sqlite3_config refuses with SQLITE_MISUSE, which is harmless:
 * the defaults then stay).
 *
 * No memory statistics: nothing here reads them, and keeping them takes a
 * global mutex on every allocation SQLite makes.
 *
 * No initial bulk allocation of page-cache memory: by default every page
 * cache, including that of each temporary b-tree, starts with 20 pages in
 * one ~87 KB allocation. Schema 3's CHECK (x IN (...)) constraints made
 * SQLite build and drop two such b-trees for every row inserted into
 * samples; freeing 174 KB at the top of the heap each time made glibc hand
 * it back to the kernel and fault it in again for the next row (18,000 brk
 * calls for 10,000 samples, a fifth of the indexer's CPU time). Schema 4
 * has no such CHECKs, but RETURNING and IN lists in queries still make
 * temporary b-trees. Pages are then allocated one at a time, as the cache
 * needs them. */
static void
configure_sqlite_once (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      sqlite3_config (SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
      sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
      sqlite3_initialize ();
      g_once_init_leave (&done, 1);
    }
}

static CuratorDb *
open_project (const char  *path,
              gboolean     create,
              int          target_version,
              GError     **error)
{
  CuratorDb *db;
  int rc;

  if (!create && !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                   "There is no project at %s", path);
      return NULL;
    }

  configure_sqlite_once ();
  db = g_new0 (CuratorDb, 1);
  db->path = g_strdup (path);
  db->stmts = g_hash_table_new_full (sql_hash, g_str_equal, g_free, stmt_finalize);
  db->busy_timeout_ms = CURATOR_DB_BUSY_TIMEOUT_MS;

  /* NOMUTEX: a CuratorDb is used by one thread at a time (see the header),
   * so SQLite need not lock the connection around each of the dozens of
   * calls a sample's write takes. */
  rc = sqlite3_open_v2 (path, &db->sqlite,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                        (create ? SQLITE_OPEN_CREATE : 0),
                        NULL);
  if (rc != SQLITE_OK)
    {
      _curator_db_set_error (db, error, rc, "open the project");
      curator_db_close (db);
      return NULL;
    }
  sqlite3_extended_result_codes (db->sqlite, 1);
  sqlite3_busy_timeout (db->sqlite, db->busy_timeout_ms);

  if (!_curator_db_prepare_schema (db, create, target_version, error))
    {
      curator_db_close (db);
      return NULL;
    }
  /* An 8 MiB page cache (SQLite's default is 2 MiB): an index run's
   * transaction inserts into three indexes keyed by hashes, at random
   * places, and with the default their pages were evicted (spilled to the
   * WAL and read back) before the commit. */
  if (!_curator_db_exec (db, "PRAGMA cache_size = -8192", "set up the connection", error))
    {
      curator_db_close (db);
      return NULL;
    }
  return db;
}

CuratorDb *
curator_db_open (const char  *path,
                 gboolean     create,
                 GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return open_project (path, create, CURATOR_DB_SCHEMA_VERSION, error);
}

CuratorDb *
_curator_db_open_at_version (const char  *path,
                             int          target_version,
                             GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (target_version >= 1 && target_version <= CURATOR_DB_SCHEMA_VERSION, NULL);

  return open_project (path, TRUE, target_version, error);
}

void
_curator_db_set_busy_timeout (CuratorDb *db,
                              int        timeout_ms)
{
  g_return_if_fail (db != NULL);
  g_return_if_fail (timeout_ms >= 0);

  db->busy_timeout_ms = timeout_ms;
  sqlite3_busy_timeout (db->sqlite, timeout_ms);
}

void
curator_db_close (CuratorDb *db)
{
  if (db == NULL)
    return;

  if (db->tx_depth > 0)
    {
      g_warning ("Closing %s with a transaction open: its changes are rolled back", db->path);
      db->tx_depth = 1;
      curator_db_rollback (db);
    }
  g_clear_pointer (&db->stmts, g_hash_table_destroy);
  if (db->sqlite && sqlite3_close (db->sqlite) != SQLITE_OK)
    g_warning ("Could not close %s cleanly: %s", db->path, sqlite3_errmsg (db->sqlite));
  g_free (db->path);
  g_free (db);
}

const char *
curator_db_get_path (CuratorDb *db)
{
  g_return_val_if_fail (db != NULL, NULL);
  return db->path;
}

int
curator_db_get_schema_version (CuratorDb *db)
{
  g_return_val_if_fail (db != NULL, 0);
  return db->schema_version;
}

/* ---- transactions ----------------------------------------------------------- */

/* Transaction control runs once or twice per write: prepared once, like the
 * rest, rather than parsed on every call. */
static gboolean
exec_cached (CuratorDb   *db,
             const char  *sql,
             const char  *purpose,
             GError     **error)
{
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db, sql, purpose, error);

  return stmt != NULL && db_run (db, stmt, purpose, error);
}

/* SQLite rolls a whole transaction back by itself after some failures (disk
 * full, I/O). Our depth counter then still says "inside"; this turns that
 * state into an error instead of letting later writes autocommit one by one. */
static gboolean
check_transaction_alive (CuratorDb  *db,
                         GError    **error)
{
  if (db->tx_depth > 0 && sqlite3_get_autocommit (db->sqlite))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                   "The open transaction on %s was rolled back after an earlier error",
                   db->path);
      return FALSE;
    }
  return TRUE;
}

gboolean
curator_db_begin (CuratorDb  *db,
                  GError    **error)
{
  g_return_val_if_fail (db != NULL, FALSE);

  if (db->tx_depth == 0)
    {
      if (!exec_cached (db, "BEGIN IMMEDIATE", "start a transaction", error))
        return FALSE;
    }
  else
    {
      g_autofree char *sql = g_strdup_printf ("SAVEPOINT curator_%d", db->tx_depth);

      if (!check_transaction_alive (db, error))
        return FALSE;
      if (!exec_cached (db, sql, "start a nested transaction", error))
        return FALSE;
    }
  db->tx_depth++;
  return TRUE;
}

gboolean
curator_db_commit (CuratorDb  *db,
                   GError    **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (db->tx_depth > 0, FALSE);

  if (!check_transaction_alive (db, error))
    {
      db->tx_depth--;
      return FALSE;
    }

  if (db->tx_depth == 1)
    {
      db->tx_depth = 0;
      if (!exec_cached (db, "COMMIT", "commit", error))
        {
          if (!sqlite3_get_autocommit (db->sqlite))
            sqlite3_exec (db->sqlite, "ROLLBACK", NULL, NULL, NULL);
          return FALSE;
        }
    }
  else
    {
      g_autofree char *sql = g_strdup_printf ("RELEASE curator_%d", db->tx_depth - 1);

      db->tx_depth--;
      if (!exec_cached (db, sql, "commit a nested transaction", error))
        return FALSE;
    }
  return TRUE;
}

void
curator_db_rollback (CuratorDb *db)
{
  g_return_if_fail (db != NULL);

  if (db->tx_depth == 0)
    return;

  db->tx_depth--;
  if (sqlite3_get_autocommit (db->sqlite))
    return;  /* SQLite has already rolled everything back */

  if (db->tx_depth == 0)
    {
      if (sqlite3_exec (db->sqlite, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
        g_warning ("Could not roll back on %s: %s", db->path, sqlite3_errmsg (db->sqlite));
    }
  else
    {
      g_autofree char *sql = g_strdup_printf ("ROLLBACK TO curator_%d; RELEASE curator_%d",
                                              db->tx_depth, db->tx_depth);
      if (sqlite3_exec (db->sqlite, sql, NULL, NULL, NULL) != SQLITE_OK)
        g_warning ("Could not roll back a nested transaction on %s: %s",
                   db->path, sqlite3_errmsg (db->sqlite));
    }
}

/* Ends a write that began with curator_db_begin: commit when @ok, else roll
 * back. Returns whether the write as a whole succeeded. */
static gboolean
finish_write (CuratorDb  *db,
              gboolean    ok,
              GError    **error)
{
  if (!ok)
    {
      curator_db_rollback (db);
      return FALSE;
    }
  return curator_db_commit (db, error);
}

/* A read that spans several statements sees one snapshot: inside the caller's
 * transaction if there is one, else in a read transaction of its own. */
static gboolean
read_begin (CuratorDb  *db,
            gboolean   *began,
            GError    **error)
{
  *began = FALSE;
  if (db->tx_depth > 0 || !sqlite3_get_autocommit (db->sqlite))
    return check_transaction_alive (db, error);
  if (!_curator_db_exec (db, "BEGIN DEFERRED", "start reading", error))
    return FALSE;
  *began = TRUE;
  return TRUE;
}

static void
read_end (CuratorDb *db,
          gboolean   began)
{
  if (began && !sqlite3_get_autocommit (db->sqlite))
    sqlite3_exec (db->sqlite, "COMMIT", NULL, NULL, NULL);
}

/* ---- integrity -------------------------------------------------------------- */

typedef struct {
  gint64        id;
  CuratorAction action;
  gint64        new_label;
  CuratorActor  actor;
  gint64        reverts;
} EventStep;

typedef struct {
  gint64      current_label;
  const char *label_source;  /* static string */
  gboolean    verified;
  gboolean    excluded;
} DerivedState;

static gboolean derive_sample (CuratorDb       *db,
                               gint64           sample_id,
                               gint64           given_label,
                               const EventStep *pending,
                               DerivedState    *out,
                               GError         **error);

static gboolean
check_derived_state (CuratorDb  *db,
                     GError    **error)
{
  const char *purpose = "check the samples against the event log";
  g_autoptr(GArray) with_events = g_array_new (FALSE, FALSE, sizeof (gint64));
  StepResult r;

  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
      "SELECT s.id FROM samples s"
      " WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.sample_id = s.id)"
      "   AND (s.current_label IS NOT s.given_label OR s.label_source != 'given'"
      "        OR s.verified != 0 OR s.excluded != 0)"
      " LIMIT 1", purpose, error);
    if (stmt == NULL)
      return FALSE;
    r = db_step (db, stmt, purpose, error);
    if (r == STEP_ERROR)
      return FALSE;
    if (r == STEP_ROW)
      {
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                     "The project %s is inconsistent: sample %" G_GINT64_FORMAT " has no "
                     "decisions but its current label or flags differ from its given label",
                     db->path, (gint64) sqlite3_column_int64 (stmt, 0));
        return FALSE;
      }
  }

  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
      "SELECT DISTINCT sample_id FROM events ORDER BY sample_id", purpose, error);
    if (stmt == NULL)
      return FALSE;
    while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
      {
        gint64 id = sqlite3_column_int64 (stmt, 0);
        g_array_append_val (with_events, id);
      }
    if (r == STEP_ERROR)
      return FALSE;
  }

  for (guint i = 0; i < with_events->len; i++)
    {
      gint64 id = g_array_index (with_events, gint64, i);
      g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
        "SELECT ifnull (given_label, 0), ifnull (current_label, 0), label_source,"
        "       verified, excluded"
        "  FROM samples WHERE id = ?1", purpose, error);
      DerivedState state;

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, id);
      r = db_step (db, stmt, purpose, error);
      if (r == STEP_ERROR)
        return FALSE;
      if (r == STEP_DONE)
        continue;  /* an event for a missing sample: foreign_key_check reports it */
      if (!derive_sample (db, id, sqlite3_column_int64 (stmt, 0), NULL, &state, error))
        return FALSE;
      if (state.current_label != sqlite3_column_int64 (stmt, 1) ||
          g_strcmp0 (state.label_source, (const char *) sqlite3_column_text (stmt, 2)) != 0 ||
          state.verified != (sqlite3_column_int (stmt, 3) != 0) ||
          state.excluded != (sqlite3_column_int (stmt, 4) != 0))
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                       "The project %s is inconsistent: sample %" G_GINT64_FORMAT "'s current "
                       "label or flags are not what its events say",
                       db->path, id);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
curator_db_check_integrity (CuratorDb  *db,
                            GError    **error)
{
  const char *purpose = "check the project's integrity";
  gboolean began;
  gboolean ok = FALSE;
  StepResult r;

  g_return_val_if_fail (db != NULL, FALSE);

  if (!read_begin (db, &began, error))
    return FALSE;

  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db, "PRAGMA integrity_check", purpose, error);
    if (stmt == NULL)
      goto out;
    r = db_step (db, stmt, purpose, error);
    if (r == STEP_ERROR)
      goto out;
    if (r == STEP_ROW && g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") != 0)
      {
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                     "The project %s is damaged: %s",
                     db->path, (const char *) sqlite3_column_text (stmt, 0));
        goto out;
      }
  }

  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db, "PRAGMA foreign_key_check", purpose, error);
    if (stmt == NULL)
      goto out;
    r = db_step (db, stmt, purpose, error);
    if (r == STEP_ERROR)
      goto out;
    if (r == STEP_ROW)
      {
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                     "The project %s is damaged: row %" G_GINT64_FORMAT " of %s refers to a "
                     "missing row of %s",
                     db->path, (gint64) sqlite3_column_int64 (stmt, 1),
                     (const char *) sqlite3_column_text (stmt, 0),
                     (const char *) sqlite3_column_text (stmt, 2));
        goto out;
      }
  }

  ok = check_derived_state (db, error);

out:
  read_end (db, began);
  return ok;
}

/* ---- settings ----------------------------------------------------------------- */

char *
curator_db_dup_setting (CuratorDb  *db,
                        const char *key)
{
  const char *purpose = "read a project setting";
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  stmt = db_prepare (db, "SELECT value FROM settings WHERE key = ?1", purpose, &error);
  if (stmt == NULL)
    {
      g_warning ("%s", error->message);
      return NULL;
    }
  bind_text (stmt, 1, key);
  r = db_step (db, stmt, purpose, &error);
  if (r == STEP_ERROR)
    g_warning ("%s", error->message);
  return r == STEP_ROW ? column_dup_text (stmt, 0) : NULL;
}

gboolean
curator_db_set_setting (CuratorDb   *db,
                        const char  *key,
                        const char  *value,
                        GError     **error)
{
  const char *purpose = "save a project setting";
  gboolean ok;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db, value
      ? "INSERT INTO settings (key, value) VALUES (?1, ?2)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
      : "DELETE FROM settings WHERE key = ?1", purpose, error);
    ok = stmt != NULL;
    if (ok)
      {
        bind_text (stmt, 1, key);
        if (value)
          bind_text (stmt, 2, value);
        ok = db_run (db, stmt, purpose, error);
      }
  }
  return finish_write (db, ok, error);
}

/* ---- classes -------------------------------------------------------------------- */

void
curator_db_class_free (CuratorDbClass *klass)
{
  if (klass == NULL)
    return;
  g_free (klass->name);
  g_free (klass->hotkey);
  g_free (klass->colour);
  g_free (klass);
}

static gboolean
lookup_class (CuratorDb   *db,
              const char  *name,
              gint64      *out_id,
              GError     **error)
{
  const char *purpose = "look up a class";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db, "SELECT id FROM classes WHERE name = ?1",
                                              purpose, error);
  StepResult r;

  *out_id = 0;
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, name);
  r = db_step (db, stmt, purpose, error);
  if (r == STEP_ROW)
    *out_id = sqlite3_column_int64 (stmt, 0);
  return r != STEP_ERROR;
}

static gboolean
class_exists (CuratorDb   *db,
              gint64       class_id,
              gboolean    *exists,
              GError     **error)
{
  const char *purpose = "look up a class";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db, "SELECT 1 FROM classes WHERE id = ?1",
                                              purpose, error);
  StepResult r;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, class_id);
  r = db_step (db, stmt, purpose, error);
  *exists = r == STEP_ROW;
  return r != STEP_ERROR;
}

gint64
curator_db_ensure_class (CuratorDb   *db,
                         const char  *name,
                         GError     **error)
{
  const char *purpose = "add a class";
  gint64 id = 0;
  gboolean ok;

  g_return_val_if_fail (db != NULL, 0);
  g_return_val_if_fail (name != NULL, 0);

  if (*name == '\0')
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "A class needs a name");
      return 0;
    }

  /* The common case (the class exists) needs no write lock. */
  if (!lookup_class (db, name, &id, error))
    return 0;
  if (id != 0)
    return id;

  if (!curator_db_begin (db, error))
    return 0;
  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
      "INSERT OR IGNORE INTO classes (name, position)"
      " SELECT ?1, ifnull (max (position) + 1, 0) FROM classes", purpose, error);
    ok = stmt != NULL;
    if (ok)
      {
        bind_text (stmt, 1, name);
        ok = db_run (db, stmt, purpose, error);
      }
  }
  /* Read back under the lock: another process may have added it first. */
  ok = ok && lookup_class (db, name, &id, error);
  if (ok && id == 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                   "Could not %s: the class \"%s\" is not there after adding it", purpose, name);
      ok = FALSE;
    }
  if (!finish_write (db, ok, error))
    return 0;
  return id;
}

gint64
curator_db_lookup_class (CuratorDb  *db,
                         const char *name)
{
  g_autoptr(GError) error = NULL;
  gint64 id = 0;

  g_return_val_if_fail (db != NULL, 0);
  g_return_val_if_fail (name != NULL, 0);

  if (!lookup_class (db, name, &id, &error))
    g_warning ("%s", error->message);
  return id;
}

GPtrArray *
curator_db_list_classes (CuratorDb  *db,
                         GError    **error)
{
  const char *purpose = "list the classes";
  g_autoptr(GPtrArray) classes = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_class_free);
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);

  stmt = db_prepare (db,
    "SELECT c.id, c.name, c.position, c.hotkey, c.colour,"
    "       (SELECT count(*) FROM samples s"
    "         WHERE s.given_label = c.id AND s.status = 'ok'),"
    "       (SELECT count(*) FROM samples s"
    "         WHERE s.current_label = c.id AND s.status = 'ok' AND s.excluded = 0)"
    "  FROM classes c ORDER BY c.position, c.id", purpose, error);
  if (stmt == NULL)
    return NULL;

  while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
    {
      CuratorDbClass *klass = g_new0 (CuratorDbClass, 1);

      klass->id = sqlite3_column_int64 (stmt, 0);
      klass->name = column_dup_text (stmt, 1);
      klass->position = sqlite3_column_int (stmt, 2);
      klass->hotkey = column_dup_text (stmt, 3);
      klass->colour = column_dup_text (stmt, 4);
      klass->n_given = sqlite3_column_int64 (stmt, 5);
      klass->n_current = sqlite3_column_int64 (stmt, 6);
      g_ptr_array_add (classes, klass);
    }
  if (r == STEP_ERROR)
    return NULL;
  return g_steal_pointer (&classes);
}

/* ---- samples ---------------------------------------------------------------------- */

CuratorDbSample *
curator_db_sample_new (void)
{
  CuratorDbSample *sample = g_new0 (CuratorDbSample, 1);

  sample->status = CURATOR_SAMPLE_OK;
  return sample;
}

void
curator_db_sample_free (CuratorDbSample *sample)
{
  if (sample == NULL)
    return;
  g_free (sample->path);
  g_free (sample->file_hash);
  g_free (sample->pixel_hash);
  g_free (sample->format);
  g_free (sample->reason);
  g_free (sample->label_source);
  g_free (sample->split);
  g_free (sample);
}

#define SAMPLE_COLUMNS \
  "id, path, file_hash, pixel_hash, phash, n_bytes, mtime_us, width, height, channels," \
  " format, status, reason, luma_p05, luma_p50, luma_p95, contrast, entropy, blur, is_grey," \
  " ifnull (given_label, 0), ifnull (current_label, 0), label_source, verified, excluded," \
  " split, indexed_us"

static CuratorDbSample *
read_sample_row (CuratorDb     *db,
                 sqlite3_stmt  *stmt,
                 GError       **error)
{
  g_autoptr(CuratorDbSample) sample = curator_db_sample_new ();
  const char *status = (const char *) sqlite3_column_text (stmt, 11);

  sample->id = sqlite3_column_int64 (stmt, 0);
  sample->path = column_dup_text (stmt, 1);
  sample->file_hash = column_dup_text (stmt, 2);
  sample->pixel_hash = column_dup_text (stmt, 3);
  sample->phash = (guint64) sqlite3_column_int64 (stmt, 4);
  sample->n_bytes = sqlite3_column_int64 (stmt, 5);
  sample->mtime_us = sqlite3_column_int64 (stmt, 6);
  sample->width = sqlite3_column_int (stmt, 7);
  sample->height = sqlite3_column_int (stmt, 8);
  sample->channels = sqlite3_column_int (stmt, 9);
  sample->format = column_dup_text (stmt, 10);
  if (!curator_sample_status_from_string (status, &sample->status))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                   "The project %s is damaged: sample %" G_GINT64_FORMAT " has the unknown "
                   "status \"%s\"", db->path, sample->id, status ? status : "");
      return NULL;
    }
  sample->reason = column_dup_text (stmt, 12);
  sample->luma_p05 = sqlite3_column_double (stmt, 13);
  sample->luma_p50 = sqlite3_column_double (stmt, 14);
  sample->luma_p95 = sqlite3_column_double (stmt, 15);
  sample->contrast = sqlite3_column_double (stmt, 16);
  sample->entropy = sqlite3_column_double (stmt, 17);
  sample->blur = sqlite3_column_double (stmt, 18);
  sample->is_grey = sqlite3_column_int (stmt, 19) != 0;
  sample->given_label = sqlite3_column_int64 (stmt, 20);
  sample->current_label = sqlite3_column_int64 (stmt, 21);
  sample->label_source = column_dup_text (stmt, 22);
  sample->verified = sqlite3_column_int (stmt, 23) != 0;
  sample->excluded = sqlite3_column_int (stmt, 24) != 0;
  sample->split = column_dup_text (stmt, 25);
  sample->indexed_us = sqlite3_column_int64 (stmt, 26);
  return g_steal_pointer (&sample);
}

/* Reads the events of one sample, oldest first. */
static gboolean
load_event_steps (CuratorDb  *db,
                  gint64      sample_id,
                  GArray     *steps,
                  GError    **error)
{
  const char *purpose = "read a sample's decisions";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
    "SELECT id, action, ifnull (new_label, 0), actor, ifnull (reverts, 0)"
    "  FROM events WHERE sample_id = ?1 ORDER BY id", purpose, error);
  StepResult r;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, sample_id);
  while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
    {
      EventStep step = { 0 };
      const char *action = (const char *) sqlite3_column_text (stmt, 1);
      const char *actor = (const char *) sqlite3_column_text (stmt, 3);

      step.id = sqlite3_column_int64 (stmt, 0);
      step.new_label = sqlite3_column_int64 (stmt, 2);
      step.reverts = sqlite3_column_int64 (stmt, 4);
      if (!curator_action_from_string (action, &step.action) ||
          !curator_actor_from_string (actor, &step.actor))
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                       "The project %s is damaged: event %" G_GINT64_FORMAT " has an unknown "
                       "action or actor", db->path, step.id);
          return FALSE;
        }
      g_array_append_val (steps, step);
    }
  return r == STEP_DONE;
}

/* The rule that makes the event log the truth. An event is active unless an
 * active UNDO reverts it; an UNDO always comes after what it reverts, so one
 * pass from the newest event back decides every event. Then the active
 * decisions are applied in order over the given label. */
static void
replay_events (gint64           given_label,
               const EventStep *steps,
               guint            n_steps,
               DerivedState    *out)
{
  g_autoptr(GHashTable) reverted = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autofree gboolean *active = g_new0 (gboolean, n_steps ? n_steps : 1);

  for (guint i = n_steps; i-- > 0;)
    {
      active[i] = !g_hash_table_contains (reverted, &steps[i].id);
      if (active[i] && steps[i].action == CURATOR_ACTION_UNDO)
        g_hash_table_add (reverted, (gpointer) &steps[i].reverts);
    }

  out->current_label = given_label;
  out->label_source = "given";
  out->verified = FALSE;
  out->excluded = FALSE;

  for (guint i = 0; i < n_steps; i++)
    {
      const EventStep *step = &steps[i];

      if (!active[i])
        continue;
      switch (step->action)
        {
        case CURATOR_ACTION_RELABEL:
          out->current_label = step->new_label;
          out->label_source = "human";
          out->verified = TRUE;
          break;
        case CURATOR_ACTION_ACCEPT:
          /* A pseudo-label stays a pseudo-label; it is verified when a person
           * accepted it, not when self-training did. */
          out->current_label = step->new_label;
          out->label_source = "pseudo";
          out->verified = step->actor != CURATOR_ACTOR_MODEL;
          break;
        case CURATOR_ACTION_CONFIRM:
          /* A confirmation is about the label the person saw (recorded as
           * new_label). If the given label has changed since, it no longer
           * applies: nobody has confirmed the new one. */
          if (step->new_label == out->current_label)
            {
              out->label_source = "human";
              out->verified = TRUE;
            }
          break;
        case CURATOR_ACTION_EXCLUDE:
          out->excluded = TRUE;
          break;
        case CURATOR_ACTION_RESTORE:
          out->excluded = FALSE;
          break;
        case CURATOR_ACTION_UNDO:
          break;
        default:
          g_assert_not_reached ();
        }
    }
}

/* Derives a sample's state from its events, plus @pending (an event about
 * to be appended, or NULL). */
static gboolean
derive_sample (CuratorDb       *db,
               gint64           sample_id,
               gint64           given_label,
               const EventStep *pending,
               DerivedState    *out,
               GError         **error)
{
  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (EventStep));

  if (!load_event_steps (db, sample_id, steps, error))
    return FALSE;
  if (pending)
    g_array_append_val (steps, *pending);
  replay_events (given_label, (const EventStep *) (void *) steps->data, steps->len, out);
  return TRUE;
}

static gboolean
write_derived_state (CuratorDb          *db,
                     gint64              sample_id,
                     const DerivedState *state,
                     GError            **error)
{
  const char *purpose = "update a sample's label";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
    "UPDATE samples SET current_label = ?2, label_source = ?3, verified = ?4, excluded = ?5"
    " WHERE id = ?1", purpose, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, sample_id);
  bind_id (stmt, 2, state->current_label);
  bind_text (stmt, 3, state->label_source);
  sqlite3_bind_int (stmt, 4, state->verified);
  sqlite3_bind_int (stmt, 5, state->excluded);
  return db_run (db, stmt, purpose, error);
}

/* The file fields of @sample as ?1..?22, in the column order of the two
 * INSERT statements below. */
static void
bind_sample_fields (sqlite3_stmt          *stmt,
                    const CuratorDbSample *sample)
{
  bind_text (stmt, 1, sample->path);
  bind_text (stmt, 2, sample->file_hash);
  bind_text (stmt, 3, sample->pixel_hash);
  sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) sample->phash);
  sqlite3_bind_int64 (stmt, 5, sample->n_bytes);
  sqlite3_bind_int64 (stmt, 6, sample->mtime_us);
  sqlite3_bind_int (stmt, 7, sample->width);
  sqlite3_bind_int (stmt, 8, sample->height);
  sqlite3_bind_int (stmt, 9, sample->channels);
  bind_text (stmt, 10, sample->format);
  bind_text (stmt, 11, curator_sample_status_to_string (sample->status));
  bind_text (stmt, 12, sample->reason);
  sqlite3_bind_double (stmt, 13, sample->luma_p05);
  sqlite3_bind_double (stmt, 14, sample->luma_p50);
  sqlite3_bind_double (stmt, 15, sample->luma_p95);
  sqlite3_bind_double (stmt, 16, sample->contrast);
  sqlite3_bind_double (stmt, 17, sample->entropy);
  sqlite3_bind_double (stmt, 18, sample->blur);
  sqlite3_bind_int (stmt, 19, sample->is_grey ? 1 : 0);
  bind_id (stmt, 20, sample->given_label);
  bind_text (stmt, 21, sample->split);
  sqlite3_bind_int64 (stmt, 22, sample->indexed_us);
}

#define SAMPLE_INSERT \
  "INSERT INTO samples (path, file_hash, pixel_hash, phash, n_bytes, mtime_us, width," \
  "    height, channels, format, status, reason, luma_p05, luma_p50, luma_p95, contrast," \
  "    entropy, blur, is_grey, given_label, split, indexed_us, current_label)" \
  "  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17," \
  "    ?18, ?19, ?20, ?21, ?22, ?20)"

typedef enum {
  INSERT_FAILED,
  INSERT_DONE,
  INSERT_PATH_TAKEN,
} InsertResult;

/* The common case of indexing: a path the project has never seen. One
 * statement, no savepoint and no RETURNING (whose buffer is an ephemeral
 * table per call): a new row has no events, so what they say is the given
 * label, which the INSERT writes as the current one along with the column
 * defaults ('given', not verified, not excluded). Ids are never reused
 * (samples are never deleted), so no event can name the new id. */
static InsertResult
insert_new_sample (CuratorDb        *db,
                   CuratorDbSample  *sample,
                   GError          **error)
{
  const char *purpose = "save a sample";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
    SAMPLE_INSERT " ON CONFLICT (path) DO NOTHING", purpose, error);

  if (stmt == NULL)
    return INSERT_FAILED;
  bind_sample_fields (stmt, sample);
  if (!db_run (db, stmt, purpose, error))
    return INSERT_FAILED;
  if (sqlite3_changes (db->sqlite) == 0)
    return INSERT_PATH_TAKEN;

  sample->id = sqlite3_last_insert_rowid (db->sqlite);
  sample->current_label = sample->given_label;
  g_free (sample->label_source);
  sample->label_source = g_strdup ("given");
  sample->verified = FALSE;
  sample->excluded = FALSE;
  return INSERT_DONE;
}

static gboolean
put_sample_locked (CuratorDb        *db,
                   CuratorDbSample  *sample,
                   GError          **error)
{
  const char *purpose = "save a sample";
  DerivedState state;
  DerivedState stored = { 0 };
  g_autofree char *stored_source = NULL;
  gint64 id = 0;

  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
      SAMPLE_INSERT
      "  ON CONFLICT (path) DO UPDATE SET"
      "    file_hash = excluded.file_hash, pixel_hash = excluded.pixel_hash,"
      "    phash = excluded.phash, n_bytes = excluded.n_bytes, mtime_us = excluded.mtime_us,"
      "    width = excluded.width, height = excluded.height, channels = excluded.channels,"
      "    format = excluded.format, status = excluded.status, reason = excluded.reason,"
      "    luma_p05 = excluded.luma_p05, luma_p50 = excluded.luma_p50,"
      "    luma_p95 = excluded.luma_p95, contrast = excluded.contrast,"
      "    entropy = excluded.entropy, blur = excluded.blur, is_grey = excluded.is_grey,"
      "    given_label = excluded.given_label, split = excluded.split,"
      "    indexed_us = excluded.indexed_us"
      "  RETURNING id, ifnull (current_label, 0), label_source, verified, excluded", purpose, error);
    StepResult r;

    if (stmt == NULL)
      return FALSE;
    bind_sample_fields (stmt, sample);

    r = db_step (db, stmt, purpose, error);
    if (r == STEP_ERROR)
      return FALSE;
    if (r == STEP_ROW)
      {
        id = sqlite3_column_int64 (stmt, 0);
        stored.current_label = sqlite3_column_int64 (stmt, 1);
        stored_source = column_dup_text (stmt, 2);
        stored.verified = sqlite3_column_int (stmt, 3) != 0;
        stored.excluded = sqlite3_column_int (stmt, 4) != 0;
      }
    if (!db_run (db, stmt, purpose, error))
      return FALSE;
    if (id == 0)
      {
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                     "Could not %s: no row came back for %s", purpose, sample->path);
        return FALSE;
      }
  }

  if (!derive_sample (db, id, sample->given_label, NULL, &state, error))
    return FALSE;
  /* Most re-indexed files change nothing here: spare the row a second write. */
  if ((state.current_label != stored.current_label ||
       g_strcmp0 (state.label_source, stored_source) != 0 ||
       state.verified != stored.verified ||
       state.excluded != stored.excluded) &&
      !write_derived_state (db, id, &state, error))
    return FALSE;

  sample->id = id;
  sample->current_label = state.current_label;
  g_free (sample->label_source);
  sample->label_source = g_strdup (state.label_source);
  sample->verified = state.verified;
  sample->excluded = state.excluded;
  return TRUE;
}

gboolean
curator_db_put_sample (CuratorDb        *db,
                       CuratorDbSample  *sample,
                       GError          **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (sample != NULL, FALSE);
  g_return_val_if_fail (sample->path != NULL && sample->path[0] != '\0', FALSE);
  g_return_val_if_fail ((guint) sample->status < G_N_ELEMENTS (status_names), FALSE);

  /* A new path is one statement, atomic by itself; an existing one takes
   * several (update, read its events, maybe rewrite the derived state),
   * hence a transaction or savepoint of their own. */
  if (!check_transaction_alive (db, error))
    return FALSE;
  switch (insert_new_sample (db, sample, error))
    {
    case INSERT_FAILED:
      return FALSE;
    case INSERT_DONE:
      return TRUE;
    case INSERT_PATH_TAKEN:
      break;
    }
  if (!curator_db_begin (db, error))
    return FALSE;
  return finish_write (db, put_sample_locked (db, sample, error), error);
}

gboolean
curator_db_mark_missing (CuratorDb   *db,
                         gint64       sample_id,
                         const char  *reason,
                         GError     **error)
{
  const char *purpose = "mark a sample missing";
  gboolean ok;

  g_return_val_if_fail (db != NULL, FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
      "UPDATE samples SET status = 'missing', reason = ?2 WHERE id = ?1", purpose, error);
    ok = stmt != NULL;
    if (ok)
      {
        sqlite3_bind_int64 (stmt, 1, sample_id);
        bind_text (stmt, 2, reason);
        ok = db_run (db, stmt, purpose, error);
      }
    if (ok && sqlite3_changes (db->sqlite) == 0)
      {
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                     "There is no sample %" G_GINT64_FORMAT, sample_id);
        ok = FALSE;
      }
  }
  return finish_write (db, ok, error);
}

static CuratorDbSample *
get_sample_where (CuratorDb   *db,
                  const char  *sql,
                  gint64       id,
                  const char  *path,
                  GError     **error)
{
  const char *purpose = "read a sample";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db, sql, purpose, error);
  StepResult r;

  if (stmt == NULL)
    return NULL;
  if (path)
    bind_text (stmt, 1, path);
  else
    sqlite3_bind_int64 (stmt, 1, id);
  r = db_step (db, stmt, purpose, error);
  if (r == STEP_ERROR)
    return NULL;
  if (r == STEP_DONE)
    {
      if (path)
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                     "There is no sample with the path %s", path);
      else
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                     "There is no sample %" G_GINT64_FORMAT, id);
      return NULL;
    }
  return read_sample_row (db, stmt, error);
}

CuratorDbSample *
curator_db_get_sample (CuratorDb  *db,
                       gint64      id,
                       GError    **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  return get_sample_where (db, "SELECT " SAMPLE_COLUMNS " FROM samples WHERE id = ?1",
                           id, NULL, error);
}

CuratorDbSample *
curator_db_get_sample_by_path (CuratorDb   *db,
                               const char  *path,
                               GError     **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);
  return get_sample_where (db, "SELECT " SAMPLE_COLUMNS " FROM samples WHERE path = ?1",
                           0, path, error);
}

GPtrArray *
curator_db_list_samples (CuratorDb                   *db,
                         const CuratorDbSampleFilter *filter,
                         GError                     **error)
{
  const char *purpose = "list the samples";
  CuratorDbSampleFilter all = CURATOR_DB_SAMPLE_FILTER_ALL;
  g_autoptr(GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_sample_free);
  g_autoptr(GString) sql = g_string_new ("SELECT " SAMPLE_COLUMNS " FROM samples WHERE 1");
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);
  if (filter == NULL)
    filter = &all;
  g_return_val_if_fail (filter->status < (int) G_N_ELEMENTS (status_names), NULL);

  /* Each filter shape is its own SQL text, hence its own cached statement
   * with a plan that can use the label index. */
  if (filter->class_id > 0)
    g_string_append (sql, " AND current_label = ?1");
  else if (filter->class_id < 0)
    g_string_append (sql, " AND current_label IS NULL");
  if (filter->status >= 0)
    g_string_append (sql, " AND status = ?2");
  if (filter->only_included)
    g_string_append (sql, " AND excluded = 0");
  g_string_append (sql, " ORDER BY id");

  stmt = db_prepare (db, sql->str, purpose, error);
  if (stmt == NULL)
    return NULL;
  if (filter->class_id > 0)
    sqlite3_bind_int64 (stmt, 1, filter->class_id);
  if (filter->status >= 0)
    bind_text (stmt, 2, status_names[filter->status]);

  while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
    {
      CuratorDbSample *sample = read_sample_row (db, stmt, error);
      if (sample == NULL)
        return NULL;
      g_ptr_array_add (samples, sample);
    }
  if (r == STEP_ERROR)
    return NULL;
  return g_steal_pointer (&samples);
}

GArray *
curator_db_count_samples (CuratorDb  *db,
                          GError    **error)
{
  const char *purpose = "count the samples";
  g_autoptr(GArray) counts = g_array_new (FALSE, TRUE, sizeof (CuratorDbCount));
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);

  stmt = db_prepare (db,
    "SELECT ifnull (current_label, 0), status, count(*), sum (excluded != 0)"
    "  FROM samples GROUP BY 1, 2 ORDER BY 1, 2", purpose, error);
  if (stmt == NULL)
    return NULL;
  while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
    {
      CuratorDbCount count = { 0 };
      const char *status = (const char *) sqlite3_column_text (stmt, 1);

      count.class_id = sqlite3_column_int64 (stmt, 0);
      if (!curator_sample_status_from_string (status, &count.status))
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                       "The project %s is damaged: a sample has the unknown status \"%s\"",
                       db->path, status ? status : "");
          return NULL;
        }
      count.n_samples = sqlite3_column_int64 (stmt, 2);
      count.n_excluded = sqlite3_column_int64 (stmt, 3);
      g_array_append_val (counts, count);
    }
  if (r == STEP_ERROR)
    return NULL;
  return g_steal_pointer (&counts);
}

/* ---- thumbnails ------------------------------------------------------------------- */

gboolean
curator_db_put_thumbnail (CuratorDb   *db,
                          const char  *pixel_hash,
                          const char  *format,
                          int          width,
                          int          height,
                          GBytes      *data,
                          GError     **error)
{
  const char *purpose = "save a thumbnail";
  gboolean ok;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (pixel_hash != NULL, FALSE);
  g_return_val_if_fail (format != NULL, FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  /* One statement: atomic by itself, so no savepoint (see put_sample). */
  if (!check_transaction_alive (db, error))
    return FALSE;
  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
      "INSERT INTO thumbnails (pixel_hash, format, width, height, data, created_us)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
      " ON CONFLICT (pixel_hash) DO UPDATE SET format = excluded.format,"
      "   width = excluded.width, height = excluded.height, data = excluded.data,"
      "   created_us = excluded.created_us", purpose, error);
    ok = stmt != NULL;
    if (ok)
      {
        bind_text (stmt, 1, pixel_hash);
        bind_text (stmt, 2, format);
        sqlite3_bind_int (stmt, 3, width);
        sqlite3_bind_int (stmt, 4, height);
        sqlite3_bind_int64 (stmt, 6, g_get_real_time ());
        ok = bind_bytes (db, stmt, 5, data, purpose, error) &&
             db_run (db, stmt, purpose, error);
      }
  }
  return ok;
}

GBytes *
curator_db_get_thumbnail (CuratorDb   *db,
                          const char  *pixel_hash,
                          char       **format,
                          GError     **error)
{
  const char *purpose = "read a thumbnail";
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (pixel_hash != NULL, NULL);

  if (format)
    *format = NULL;
  stmt = db_prepare (db, "SELECT data, format FROM thumbnails WHERE pixel_hash = ?1",
                     purpose, error);
  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, pixel_hash);
  r = db_step (db, stmt, purpose, error);
  if (r != STEP_ROW)
    return NULL;
  if (format)
    *format = column_dup_text (stmt, 1);
  return column_bytes (stmt, 0);
}

gboolean
curator_db_has_thumbnail (CuratorDb  *db,
                          const char *pixel_hash)
{
  const char *purpose = "look up a thumbnail";
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (pixel_hash != NULL, FALSE);

  stmt = db_prepare (db, "SELECT 1 FROM thumbnails WHERE pixel_hash = ?1", purpose, &error);
  if (stmt == NULL)
    {
      g_warning ("%s", error->message);
      return FALSE;
    }
  bind_text (stmt, 1, pixel_hash);
  r = db_step (db, stmt, purpose, &error);
  if (r == STEP_ERROR)
    g_warning ("%s", error->message);
  return r == STEP_ROW;
}

/* ---- decisions ----------------------------------------------------------------------- */

void
curator_db_event_free (CuratorDbEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->note);
  g_free (event);
}

static gboolean
run_exists (CuratorDb   *db,
            gint64       run_id,
            gboolean    *exists,
            GError     **error)
{
  const char *purpose = "look up a run";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db, "SELECT 1 FROM runs WHERE id = ?1",
                                              purpose, error);
  StepResult r;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, run_id);
  r = db_step (db, stmt, purpose, error);
  *exists = r == STEP_ROW;
  return r != STEP_ERROR;
}

/* Appends one event row; returns its id or 0. */
static gint64
insert_event (CuratorDb     *db,
              gint64         sample_id,
              CuratorAction  action,
              gint64         old_label,
              gint64         new_label,
              CuratorActor   actor,
              gint64         run_id,
              const char    *note,
              gint64         reverts,
              gint64         batch_id,
              GError       **error)
{
  const char *purpose = "record a decision";
  /* Only the tests' hook opens a file below schema 4 (to write a real old
   * one); such a file has no batches. */
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db, db->schema_version >= 4
    ? "INSERT INTO events (sample_id, action, old_label, new_label, actor, run_id, time_us,"
      "    note, reverts, batch_id)"
      "  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id"
    : "INSERT INTO events (sample_id, action, old_label, new_label, actor, run_id, time_us,"
      "    note, reverts)"
      "  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id", purpose, error);
  gint64 id = 0;
  StepResult r;

  if (stmt == NULL)
    return 0;
  sqlite3_bind_int64 (stmt, 1, sample_id);
  bind_text (stmt, 2, curator_action_to_string (action));
  bind_id (stmt, 3, old_label);
  bind_id (stmt, 4, new_label);
  bind_text (stmt, 5, curator_actor_to_string (actor));
  bind_id (stmt, 6, run_id);
  sqlite3_bind_int64 (stmt, 7, g_get_real_time ());
  bind_text (stmt, 8, note);
  bind_id (stmt, 9, reverts);
  if (db->schema_version >= 4)
    bind_id (stmt, 10, batch_id);

  r = db_step (db, stmt, purpose, error);
  if (r == STEP_ERROR)
    return 0;
  if (r == STEP_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  if (!db_run (db, stmt, purpose, error))
    return 0;
  return id;
}

typedef struct {
  gint64   given_label;
  gint64   current_label;
  gboolean excluded;
} SampleLabels;

static gboolean
read_sample_labels (CuratorDb     *db,
                    gint64         sample_id,
                    SampleLabels  *out,
                    GError       **error)
{
  const char *purpose = "read a sample's label";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
    "SELECT ifnull (given_label, 0), ifnull (current_label, 0), excluded"
    "  FROM samples WHERE id = ?1", purpose, error);
  StepResult r;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, sample_id);
  r = db_step (db, stmt, purpose, error);
  if (r == STEP_ERROR)
    return FALSE;
  if (r == STEP_DONE)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                   "There is no sample %" G_GINT64_FORMAT, sample_id);
      return FALSE;
    }
  out->given_label = sqlite3_column_int64 (stmt, 0);
  out->current_label = sqlite3_column_int64 (stmt, 1);
  out->excluded = sqlite3_column_int (stmt, 2) != 0;
  return TRUE;
}

static gint64
record_decision_locked (CuratorDb     *db,
                        gint64         sample_id,
                        CuratorAction  action,
                        gint64         new_label,
                        CuratorActor   actor,
                        gint64         run_id,
                        const char    *note,
                        GError       **error)
{
  SampleLabels labels;
  EventStep pending = { 0 };
  DerivedState state;
  gint64 event_id;

  if (!read_sample_labels (db, sample_id, &labels, error))
    return 0;

  switch (action)
    {
    case CURATOR_ACTION_RELABEL:
    case CURATOR_ACTION_ACCEPT:
      {
        gboolean exists = FALSE;

        if (new_label <= 0)
          {
            g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                         "A %s needs a class to label sample %" G_GINT64_FORMAT " with",
                         curator_action_to_string (action), sample_id);
            return 0;
          }
        if (!class_exists (db, new_label, &exists, error))
          return 0;
        if (!exists)
          {
            g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                         "There is no class %" G_GINT64_FORMAT, new_label);
            return 0;
          }
        if (action == CURATOR_ACTION_RELABEL && new_label == labels.current_label)
          {
            g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                         "Sample %" G_GINT64_FORMAT " already has that label", sample_id);
            return 0;
          }
      }
      break;
    case CURATOR_ACTION_CONFIRM:
      if (labels.current_label == 0)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "Sample %" G_GINT64_FORMAT " has no label to confirm", sample_id);
          return 0;
        }
      new_label = labels.current_label;
      break;
    case CURATOR_ACTION_EXCLUDE:
      if (labels.excluded)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "Sample %" G_GINT64_FORMAT " is already excluded", sample_id);
          return 0;
        }
      new_label = labels.current_label;
      break;
    case CURATOR_ACTION_RESTORE:
      if (!labels.excluded)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "Sample %" G_GINT64_FORMAT " is not excluded, there is nothing to restore",
                       sample_id);
          return 0;
        }
      new_label = labels.current_label;
      break;
    case CURATOR_ACTION_UNDO:
    default:
      g_assert_not_reached ();
    }

  if (run_id != 0)
    {
      gboolean exists = FALSE;

      if (!run_exists (db, run_id, &exists, error))
        return 0;
      if (!exists)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                       "There is no run %" G_GINT64_FORMAT, run_id);
          return 0;
        }
    }

  /* The new state is worked out before the row goes in because rows in
   * the log cannot be touched afterwards. */
  pending.id = G_MAXINT64;
  pending.action = action;
  pending.new_label = new_label;
  pending.actor = actor;
  if (!derive_sample (db, sample_id, labels.given_label, &pending, &state, error))
    return 0;

  event_id = insert_event (db, sample_id, action, labels.current_label, new_label,
                           actor, run_id, note, 0, db->batch_id, error);
  if (event_id == 0)
    return 0;
  if (!write_derived_state (db, sample_id, &state, error))
    return 0;
  return event_id;
}

gint64
curator_db_record_decision (CuratorDb     *db,
                            gint64         sample_id,
                            CuratorAction  action,
                            gint64         new_label,
                            CuratorActor   actor,
                            gint64         run_id,
                            const char    *note,
                            GError       **error)
{
  gint64 event_id;

  g_return_val_if_fail (db != NULL, 0);
  g_return_val_if_fail ((guint) action < CURATOR_ACTION_UNDO, 0);  /* undo has its own call */
  g_return_val_if_fail ((guint) actor < G_N_ELEMENTS (actor_names), 0);

  if (!curator_db_begin (db, error))
    return 0;
  event_id = record_decision_locked (db, sample_id, action, new_label, actor, run_id, note, error);
  if (!finish_write (db, event_id != 0, error))
    return 0;
  return event_id;
}

/* A new row in batches: the id every event of one undo step carries. */
static gint64
insert_batch (CuratorDb  *db,
              GError    **error)
{
  const char *purpose = "start a batch of decisions";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
    "INSERT INTO batches (started_us) VALUES (?1)", purpose, error);

  if (stmt == NULL)
    return 0;
  sqlite3_bind_int64 (stmt, 1, g_get_real_time ());
  if (!db_run (db, stmt, purpose, error))
    return 0;
  return sqlite3_last_insert_rowid (db->sqlite);
}

gint64
curator_db_begin_batch (CuratorDb  *db,
                        GError    **error)
{
  gint64 batch_id;

  g_return_val_if_fail (db != NULL, 0);

  if (db->batch_id != 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "Batch %" G_GINT64_FORMAT " is still open: batches of decisions do not nest",
                   db->batch_id);
      return 0;
    }
  if (!curator_db_begin (db, error))
    return 0;
  batch_id = insert_batch (db, error);
  if (batch_id == 0)
    {
      curator_db_rollback (db);
      return 0;
    }
  db->batch_id = batch_id;
  db->batch_depth = db->tx_depth;
  return batch_id;
}

gboolean
curator_db_end_batch (CuratorDb  *db,
                      gboolean    commit,
                      GError    **error)
{
  const char *purpose = "end a batch of decisions";
  gint64 batch_id = db ? db->batch_id : 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (db->batch_id != 0, FALSE);
  /* Every begin inside the batch has had its commit or rollback. */
  g_return_val_if_fail (db->tx_depth == db->batch_depth, FALSE);

  db->batch_id = 0;
  db->batch_depth = 0;
  if (!commit)
    {
      curator_db_rollback (db);
      return TRUE;
    }

  /* A batch that decided nothing leaves no row behind. */
  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
      "DELETE FROM batches WHERE id = ?1"
      "   AND NOT EXISTS (SELECT 1 FROM events WHERE batch_id = ?1)", purpose, error);
    ok = stmt != NULL;
    if (ok)
      {
        sqlite3_bind_int64 (stmt, 1, batch_id);
        ok = check_transaction_alive (db, error) && db_run (db, stmt, purpose, error);
      }
  }
  return finish_write (db, ok, error);
}

/* Appends an UNDO of @target (an event of @sample_id), as part of
 * @batch_id (0 = none), and brings the sample up to date. */
static gboolean
append_undo (CuratorDb     *db,
             gint64         target,
             gint64         sample_id,
             CuratorActor   actor,
             gint64         batch_id,
             GError       **error)
{
  SampleLabels labels;
  EventStep pending = { 0 };
  DerivedState state;

  if (!read_sample_labels (db, sample_id, &labels, error))
    return FALSE;
  pending.id = G_MAXINT64;
  pending.action = CURATOR_ACTION_UNDO;
  pending.actor = actor;
  pending.reverts = target;
  if (!derive_sample (db, sample_id, labels.given_label, &pending, &state, error))
    return FALSE;
  if (insert_event (db, sample_id, CURATOR_ACTION_UNDO, labels.current_label,
                    state.current_label, actor, 0, NULL, target, batch_id, error) == 0)
    return FALSE;
  return write_derived_state (db, sample_id, &state, error);
}

typedef enum {
  FIND_UNDO_TARGET,  /* the newest active decision that is not an UNDO */
  FIND_REDO_TARGET,  /* the newest active UNDO of a decision, if nothing was decided since */
} FindWhat;

/* One event to revert. */
typedef struct {
  gint64 id;
  gint64 sample_id;
} Target;

/* Where batch @batch_id starts in the log. */
static gboolean
batch_first_event (CuratorDb  *db,
                   gint64      batch_id,
                   gint64     *first,
                   GError    **error)
{
  const char *purpose = "find where a batch of decisions starts";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
    "SELECT ifnull (min (id), 0) FROM events WHERE batch_id = ?1", purpose, error);
  StepResult r;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, batch_id);
  r = db_step (db, stmt, purpose, error);
  *first = r == STEP_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
  return r != STEP_ERROR;
}

/* Walks the log from the newest event back, deciding which events are
 * active as it goes (see replay_events), and stops at the first event that
 * @what asks for. Undo looks past any number of undone events; redo stops at
 * the first decision, because a new decision after an undo ends what can be
 * redone. When that event belongs to a batch, the walk goes on down to the
 * batch's first event and collects every active event of the batch of the
 * same kind: the undo step is the batch. Fills @targets newest first (empty
 * when there is nothing to do) and @out_batch_id with their batch (0 =
 * none). Every event that decides whether a batch event is active (an UNDO
 * of it, or an UNDO of such an UNDO) is newer than it, so the walk has seen
 * it by the time it gets there. */
static gboolean
find_targets (CuratorDb  *db,
              FindWhat    what,
              GArray     *targets,
              gint64     *out_batch_id,
              GError    **error)
{
  const char *purpose = what == FIND_UNDO_TARGET ? "find the decision to undo"
                                                 : "find the undo to redo";
  g_autoptr(GHashTable) reverted = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  /* Below schema 4 (the tests' hook only) there are no batches. */
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db, db->schema_version >= 4
    ? "SELECT e.id, e.sample_id, e.action = 'undo', ifnull (e.reverts, 0), t.action = 'undo',"
      "       ifnull (e.batch_id, 0)"
      "  FROM events e LEFT JOIN events t ON t.id = e.reverts"
      " ORDER BY e.id DESC"
    : "SELECT e.id, e.sample_id, e.action = 'undo', ifnull (e.reverts, 0), t.action = 'undo', 0"
      "  FROM events e LEFT JOIN events t ON t.id = e.reverts"
      " ORDER BY e.id DESC", purpose, error);
  gint64 batch_id = 0, batch_first = 0;
  StepResult r;

  *out_batch_id = 0;
  if (stmt == NULL)
    return FALSE;

  while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      gboolean is_undo = sqlite3_column_int (stmt, 2) != 0;
      gint64 reverts = sqlite3_column_int64 (stmt, 3);
      gboolean reverts_undo = sqlite3_column_int (stmt, 4) != 0;
      gint64 event_batch = sqlite3_column_int64 (stmt, 5);
      gboolean active = !g_hash_table_contains (reverted, &id);
      gboolean wanted = active && (what == FIND_UNDO_TARGET ? !is_undo
                                                            : is_undo && !reverts_undo);

      if (targets->len > 0)
        {
          /* Collecting the rest of the batch. */
          if (id < batch_first)
            break;
          if (wanted && event_batch == batch_id)
            {
              Target t = { id, sqlite3_column_int64 (stmt, 1) };
              g_array_append_val (targets, t);
            }
        }
      else if (wanted)
        {
          Target t = { id, sqlite3_column_int64 (stmt, 1) };

          g_array_append_val (targets, t);
          if (event_batch == 0)
            break;
          batch_id = event_batch;
          /* The statement stays on this row while another one reads. */
          if (!batch_first_event (db, batch_id, &batch_first, error))
            return FALSE;
          *out_batch_id = batch_id;
        }
      else if (!is_undo && what == FIND_REDO_TARGET)
        break;

      if (is_undo && active)
        g_hash_table_add (reverted, g_memdup2 (&reverts, sizeof reverts));
    }
  return r != STEP_ERROR;
}

static gint64
undo_or_redo (CuratorDb     *db,
              FindWhat       what,
              CuratorActor   actor,
              GError       **error)
{
  g_autoptr(GArray) targets = g_array_new (FALSE, FALSE, sizeof (Target));
  gint64 target_batch = 0, batch_id = 0;
  gboolean ok;

  g_return_val_if_fail (db != NULL, -1);
  g_return_val_if_fail ((guint) actor < G_N_ELEMENTS (actor_names), -1);

  if (db->batch_id != 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "Cannot %s while batch %" G_GINT64_FORMAT " is open",
                   what == FIND_UNDO_TARGET ? "undo" : "redo", db->batch_id);
      return -1;
    }
  if (!curator_db_begin (db, error))
    return -1;
  ok = find_targets (db, what, targets, &target_batch, error);
  /* The UNDO events of a batch are a batch of their own, so that the step
   * they make is redone (undone again) as one. */
  if (ok && target_batch != 0)
    {
      batch_id = insert_batch (db, error);
      ok = batch_id != 0;
    }
  for (guint i = 0; ok && i < targets->len; i++)
    {
      const Target *t = &g_array_index (targets, Target, i);
      ok = append_undo (db, t->id, t->sample_id, actor, batch_id, error);
    }
  if (!finish_write (db, ok, error))
    return -1;
  return targets->len > 0 ? g_array_index (targets, Target, 0).id : 0;
}

gint64
curator_db_undo (CuratorDb     *db,
                 CuratorActor   actor,
                 GError       **error)
{
  return undo_or_redo (db, FIND_UNDO_TARGET, actor, error);
}

gint64
curator_db_redo (CuratorDb     *db,
                 CuratorActor   actor,
                 GError       **error)
{
  return undo_or_redo (db, FIND_REDO_TARGET, actor, error);
}

GPtrArray *
curator_db_list_events (CuratorDb  *db,
                        gint64      sample_id,
                        GError    **error)
{
  const char *purpose = "read the decisions";
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_event_free);
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);

  stmt = db_prepare (db, sample_id != 0
    ? "SELECT id, sample_id, action, ifnull (old_label, 0), ifnull (new_label, 0), actor,"
      "       ifnull (run_id, 0), time_us, note, ifnull (reverts, 0), ifnull (batch_id, 0)"
      "  FROM events WHERE sample_id = ?1 ORDER BY id"
    : "SELECT id, sample_id, action, ifnull (old_label, 0), ifnull (new_label, 0), actor,"
      "       ifnull (run_id, 0), time_us, note, ifnull (reverts, 0), ifnull (batch_id, 0)"
      "  FROM events ORDER BY id", purpose, error);
  if (stmt == NULL)
    return NULL;
  if (sample_id != 0)
    sqlite3_bind_int64 (stmt, 1, sample_id);

  while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
    {
      g_autoptr(CuratorDbEvent) event = g_new0 (CuratorDbEvent, 1);

      event->id = sqlite3_column_int64 (stmt, 0);
      event->sample_id = sqlite3_column_int64 (stmt, 1);
      event->old_label = sqlite3_column_int64 (stmt, 3);
      event->new_label = sqlite3_column_int64 (stmt, 4);
      event->run_id = sqlite3_column_int64 (stmt, 6);
      event->time_us = sqlite3_column_int64 (stmt, 7);
      event->note = column_dup_text (stmt, 8);
      event->reverts = sqlite3_column_int64 (stmt, 9);
      event->batch_id = sqlite3_column_int64 (stmt, 10);
      if (!curator_action_from_string ((const char *) sqlite3_column_text (stmt, 2), &event->action) ||
          !curator_actor_from_string ((const char *) sqlite3_column_text (stmt, 5), &event->actor))
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                       "The project %s is damaged: event %" G_GINT64_FORMAT " has an unknown "
                       "action or actor", db->path, event->id);
          return NULL;
        }
      g_ptr_array_add (events, g_steal_pointer (&event));
    }
  if (r == STEP_ERROR)
    return NULL;
  return g_steal_pointer (&events);
}

/* ---- runs ------------------------------------------------------------------------------ */

static const char *const run_statuses[] = { "running", "done", "failed", "cancelled" };

void
curator_db_run_free (CuratorDbRun *run)
{
  if (run == NULL)
    return;
  g_free (run->status);
  g_free (run->class_ids);
  g_free (run->params_json);
  g_free (run->versions_json);
  g_free (run->timings_json);
  g_free (run->metrics_json);
  g_free (run);
}

/* class_ids are kept as a JSON array of integers so that the file reads
 * well in any SQLite shell. */
static char *
class_ids_to_json (const gint64 *class_ids,
                   int           n_classes)
{
  GString *json = g_string_new ("[");

  for (int i = 0; i < n_classes; i++)
    g_string_append_printf (json, "%s%" G_GINT64_FORMAT, i ? "," : "", class_ids[i]);
  g_string_append_c (json, ']');
  return g_string_free (json, FALSE);
}

static gboolean
class_ids_from_json (const char  *json,
                     gint64     **out_ids,
                     int         *out_n,
                     GError     **error)
{
  g_autofree char *inner = NULL;
  g_auto(GStrv) parts = NULL;
  g_autofree gint64 *ids = NULL;
  gsize len;
  int n = 0;

  *out_ids = NULL;
  *out_n = 0;
  if (json == NULL || (len = strlen (json)) < 2 || json[0] != '[' || json[len - 1] != ']')
    goto malformed;

  inner = g_strndup (json + 1, len - 2);
  g_strstrip (inner);
  if (*inner == '\0')
    return TRUE;

  parts = g_strsplit (inner, ",", -1);
  ids = g_new0 (gint64, g_strv_length (parts));
  for (char **p = parts; *p; p++)
    {
      gint64 value = 0;

      g_strstrip (*p);
      if (!g_ascii_string_to_signed (*p, 10, 1, G_MAXINT64, &value, NULL))
        goto malformed;
      ids[n++] = value;
    }
  *out_ids = g_steal_pointer (&ids);
  *out_n = n;
  return TRUE;

malformed:
  g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
               "A run in the project has a malformed class list: %s", json ? json : "(null)");
  return FALSE;
}

#define RUN_COLUMNS \
  "id, started_us, finished_us, status, class_ids, params, versions, timings, metrics"

static CuratorDbRun *
read_run_row (sqlite3_stmt  *stmt,
              GError       **error)
{
  g_autoptr(CuratorDbRun) run = g_new0 (CuratorDbRun, 1);

  run->id = sqlite3_column_int64 (stmt, 0);
  run->started_us = sqlite3_column_int64 (stmt, 1);
  run->finished_us = sqlite3_column_int64 (stmt, 2);
  run->status = column_dup_text (stmt, 3);
  if (!class_ids_from_json ((const char *) sqlite3_column_text (stmt, 4),
                            &run->class_ids, &run->n_classes, error))
    return NULL;
  run->params_json = column_dup_text (stmt, 5);
  run->versions_json = column_dup_text (stmt, 6);
  run->timings_json = column_dup_text (stmt, 7);
  run->metrics_json = column_dup_text (stmt, 8);
  return g_steal_pointer (&run);
}

static gint64
begin_run_locked (CuratorDb     *db,
                  const gint64  *class_ids,
                  int            n_classes,
                  const char    *params_json,
                  const char    *versions_json,
                  GError       **error)
{
  const char *purpose = "start an analysis run";
  g_autofree char *ids_json = NULL;
  g_autoptr(CuratorDbStmt) stmt = NULL;
  gint64 run_id = 0;
  StepResult r;

  for (int i = 0; i < n_classes; i++)
    {
      gboolean exists = FALSE;

      if (!class_exists (db, class_ids[i], &exists, error))
        return 0;
      if (!exists)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                       "Could not %s: there is no class %" G_GINT64_FORMAT,
                       purpose, class_ids[i]);
          return 0;
        }
    }

  stmt = db_prepare (db,
    "INSERT INTO runs (started_us, status, n_classes, class_ids, params, versions)"
    " VALUES (?1, 'running', ?2, ?3, ?4, ?5) RETURNING id", purpose, error);
  if (stmt == NULL)
    return 0;
  ids_json = class_ids_to_json (class_ids, n_classes);
  sqlite3_bind_int64 (stmt, 1, g_get_real_time ());
  sqlite3_bind_int (stmt, 2, n_classes);
  bind_text (stmt, 3, ids_json);
  bind_text (stmt, 4, params_json);
  bind_text (stmt, 5, versions_json);
  r = db_step (db, stmt, purpose, error);
  if (r == STEP_ERROR)
    return 0;
  if (r == STEP_ROW)
    run_id = sqlite3_column_int64 (stmt, 0);
  if (!db_run (db, stmt, purpose, error))
    return 0;
  return run_id;
}

gint64
curator_db_begin_run (CuratorDb     *db,
                      const gint64  *class_ids,
                      int            n_classes,
                      const char    *params_json,
                      const char    *versions_json,
                      GError       **error)
{
  gint64 run_id;

  g_return_val_if_fail (db != NULL, 0);
  g_return_val_if_fail (n_classes >= 0, 0);
  g_return_val_if_fail (class_ids != NULL || n_classes == 0, 0);

  if (!curator_db_begin (db, error))
    return 0;
  run_id = begin_run_locked (db, class_ids, n_classes, params_json, versions_json, error);
  if (!finish_write (db, run_id != 0, error))
    return 0;
  return run_id;
}

/* The run's status and number of classes; NOT_FOUND when there is no such run. */
static gboolean
read_run_state (CuratorDb   *db,
                gint64       run_id,
                char       **status,
                int         *n_classes,
                GError     **error)
{
  const char *purpose = "read a run";
  g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
    "SELECT status, n_classes FROM runs WHERE id = ?1", purpose, error);
  StepResult r;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, run_id);
  r = db_step (db, stmt, purpose, error);
  if (r == STEP_ERROR)
    return FALSE;
  if (r == STEP_DONE)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                   "There is no run %" G_GINT64_FORMAT, run_id);
      return FALSE;
    }
  if (status)
    *status = column_dup_text (stmt, 0);
  if (n_classes)
    *n_classes = sqlite3_column_int (stmt, 1);
  return TRUE;
}

static gboolean
finish_run_locked (CuratorDb   *db,
                   gint64       run_id,
                   const char  *status,
                   const char  *timings_json,
                   const char  *metrics_json,
                   GError     **error)
{
  const char *purpose = "finish an analysis run";
  g_autofree char *old_status = NULL;
  g_autoptr(CuratorDbStmt) stmt = NULL;

  if (!read_run_state (db, run_id, &old_status, NULL, error))
    return FALSE;
  if (g_strcmp0 (old_status, "running") != 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "Run %" G_GINT64_FORMAT " has already finished (%s)", run_id, old_status);
      return FALSE;
    }

  stmt = db_prepare (db,
    "UPDATE runs SET status = ?2, finished_us = ?3, timings = ?4, metrics = ?5"
    " WHERE id = ?1", purpose, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, run_id);
  bind_text (stmt, 2, status);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
  bind_text (stmt, 4, timings_json);
  bind_text (stmt, 5, metrics_json);
  return db_run (db, stmt, purpose, error);
}

gboolean
curator_db_finish_run (CuratorDb   *db,
                       gint64       run_id,
                       const char  *status,
                       const char  *timings_json,
                       const char  *metrics_json,
                       GError     **error)
{
  int index = -1;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (name_to_index (run_statuses, G_N_ELEMENTS (run_statuses), status, &index) &&
                        index > 0, FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  return finish_write (db,
                       finish_run_locked (db, run_id, status, timings_json, metrics_json, error),
                       error);
}

CuratorDbRun *
curator_db_get_run (CuratorDb  *db,
                    gint64      run_id,
                    GError    **error)
{
  const char *purpose = "read a run";
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (run_id >= 0, NULL);

  stmt = db_prepare (db, run_id != 0
    ? "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?1"
    : "SELECT " RUN_COLUMNS " FROM runs WHERE status = 'done' ORDER BY id DESC LIMIT 1",
    purpose, error);
  if (stmt == NULL)
    return NULL;
  if (run_id != 0)
    sqlite3_bind_int64 (stmt, 1, run_id);
  r = db_step (db, stmt, purpose, error);
  if (r == STEP_ERROR)
    return NULL;
  if (r == STEP_DONE)
    {
      if (run_id != 0)
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                     "There is no run %" G_GINT64_FORMAT, run_id);
      else
        g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                             "No analysis has finished yet");
      return NULL;
    }
  return read_run_row (stmt, error);
}

GPtrArray *
curator_db_list_runs (CuratorDb  *db,
                      GError    **error)
{
  const char *purpose = "list the runs";
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_run_free);
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);

  stmt = db_prepare (db, "SELECT " RUN_COLUMNS " FROM runs ORDER BY id", purpose, error);
  if (stmt == NULL)
    return NULL;
  while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
    {
      CuratorDbRun *run = read_run_row (stmt, error);
      if (run == NULL)
        return NULL;
      g_ptr_array_add (runs, run);
    }
  if (r == STEP_ERROR)
    return NULL;
  return g_steal_pointer (&runs);
}

/* ---- scores ------------------------------------------------------------------------------ */

CuratorDbScore *
curator_db_score_new (void)
{
  return g_new0 (CuratorDbScore, 1);
}

void
curator_db_score_free (CuratorDbScore *score)
{
  if (score == NULL)
    return;
  g_free (score->probs);
  g_free (score->reason);
  g_free (score);
}

/* Probabilities are stored little-endian whatever the machine, so a project
 * file can move between machines. */
static GBytes *
probs_to_bytes (const float *probs,
                int          n_probs)
{
  guint32 *words = g_new (guint32, n_probs ? n_probs : 1);

  for (int i = 0; i < n_probs; i++)
    {
      guint32 word;

      memcpy (&word, &probs[i], sizeof word);
      words[i] = GUINT32_TO_LE (word);
    }
  return g_bytes_new_take (words, (gsize) n_probs * sizeof (guint32));
}

static float *
probs_from_column (sqlite3_stmt *stmt,
                   int           column,
                   int           n_probs)
{
  const guint8 *data = sqlite3_column_blob (stmt, column);
  int size = sqlite3_column_bytes (stmt, column);
  float *probs;

  if (n_probs <= 0 || size != n_probs * (int) sizeof (guint32))
    return NULL;
  probs = g_new (float, n_probs);
  for (int i = 0; i < n_probs; i++)
    {
      guint32 word;

      memcpy (&word, data + (gsize) i * sizeof word, sizeof word);
      word = GUINT32_FROM_LE (word);
      memcpy (&probs[i], &word, sizeof word);
    }
  return probs;
}

static gboolean
put_scores_locked (CuratorDb       *db,
                   gint64           run_id,
                   CuratorDbScore **scores,
                   guint            n_scores,
                   GError         **error)
{
  const char *purpose = "save the analysis scores";
  g_autoptr(CuratorDbStmt) stmt = NULL;
  int n_classes = 0;

  if (!read_run_state (db, run_id, NULL, &n_classes, error))
    return FALSE;

  stmt = db_prepare (db,
    "INSERT OR REPLACE INTO scores (run_id, sample_id, probs, n_probs, predicted_label,"
    "    p_label, suggested_label, suggestion_confidence, label_quality, issues,"
    "    outlier_score, duplicate_group, reason)"
    "  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)", purpose, error);
  if (stmt == NULL)
    return FALSE;

  for (guint i = 0; i < n_scores; i++)
    {
      const CuratorDbScore *score = scores[i];
      g_autoptr(GBytes) probs = NULL;
      gboolean ok;

      g_return_val_if_fail (score != NULL, FALSE);
      g_return_val_if_fail (score->n_probs == 0 || score->probs != NULL, FALSE);

      if (score->n_probs != 0 && score->n_probs != n_classes)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "Could not %s: sample %" G_GINT64_FORMAT " has %d probabilities, "
                       "run %" G_GINT64_FORMAT " has %d classes",
                       purpose, score->sample_id, score->n_probs, run_id, n_classes);
          return FALSE;
        }

      sqlite3_bind_int64 (stmt, 1, run_id);
      sqlite3_bind_int64 (stmt, 2, score->sample_id);
      if (score->n_probs > 0)
        {
          probs = probs_to_bytes (score->probs, score->n_probs);
          if (!bind_bytes (db, stmt, 3, probs, purpose, error))
            return FALSE;
        }
      sqlite3_bind_int (stmt, 4, score->n_probs);
      bind_id (stmt, 5, score->predicted_label);
      sqlite3_bind_double (stmt, 6, score->p_label);
      bind_id (stmt, 7, score->suggested_label);
      sqlite3_bind_double (stmt, 8, score->suggestion_confidence);
      sqlite3_bind_double (stmt, 9, score->label_quality);
      sqlite3_bind_int64 (stmt, 10, score->issues);
      sqlite3_bind_double (stmt, 11, score->outlier_score);
      sqlite3_bind_int64 (stmt, 12, score->duplicate_group);
      bind_text (stmt, 13, score->reason);
      ok = db_run (db, stmt, purpose, error);
      /* Next row: the blob bound above dies with this iteration. */
      stmt_give_back (stmt);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

gboolean
curator_db_put_scores (CuratorDb       *db,
                       gint64           run_id,
                       CuratorDbScore **scores,
                       guint            n_scores,
                       GError         **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (scores != NULL || n_scores == 0, FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  return finish_write (db, put_scores_locked (db, run_id, scores, n_scores, error), error);
}

#define SCORE_COLUMNS \
  "run_id, sample_id, probs, n_probs, ifnull (predicted_label, 0), p_label," \
  " ifnull (suggested_label, 0), suggestion_confidence, label_quality, issues," \
  " outlier_score, duplicate_group, reason"

static CuratorDbScore *
read_score_row (CuratorDb     *db,
                sqlite3_stmt  *stmt,
                GError       **error)
{
  g_autoptr(CuratorDbScore) score = curator_db_score_new ();

  score->run_id = sqlite3_column_int64 (stmt, 0);
  score->sample_id = sqlite3_column_int64 (stmt, 1);
  score->n_probs = sqlite3_column_int (stmt, 3);
  if (score->n_probs != 0)
    {
      score->probs = probs_from_column (stmt, 2, score->n_probs);
      if (score->probs == NULL)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                       "The project %s is damaged: the probabilities of sample %"
                       G_GINT64_FORMAT " in run %" G_GINT64_FORMAT " have the wrong size",
                       db->path, score->sample_id, score->run_id);
          return NULL;
        }
    }
  score->predicted_label = sqlite3_column_int64 (stmt, 4);
  score->p_label = sqlite3_column_double (stmt, 5);
  score->suggested_label = sqlite3_column_int64 (stmt, 6);
  score->suggestion_confidence = sqlite3_column_double (stmt, 7);
  score->label_quality = sqlite3_column_double (stmt, 8);
  score->issues = (guint32) sqlite3_column_int64 (stmt, 9);
  score->outlier_score = sqlite3_column_double (stmt, 10);
  score->duplicate_group = sqlite3_column_int64 (stmt, 11);
  score->reason = column_dup_text (stmt, 12);
  return g_steal_pointer (&score);
}

GPtrArray *
curator_db_list_scores (CuratorDb  *db,
                        gint64      run_id,
                        GError    **error)
{
  const char *purpose = "read the analysis scores";
  g_autoptr(GPtrArray) scores = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_score_free);
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);

  stmt = db_prepare (db,
    "SELECT " SCORE_COLUMNS " FROM scores WHERE run_id = ?1 ORDER BY sample_id",
    purpose, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
    {
      CuratorDbScore *score = read_score_row (db, stmt, error);
      if (score == NULL)
        return NULL;
      g_ptr_array_add (scores, score);
    }
  if (r == STEP_ERROR)
    return NULL;
  return g_steal_pointer (&scores);
}

CuratorDbScore *
curator_db_get_score (CuratorDb  *db,
                      gint64      run_id,
                      gint64      sample_id,
                      GError    **error)
{
  const char *purpose = "read a sample's scores";
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);

  stmt = db_prepare (db,
    "SELECT " SCORE_COLUMNS " FROM scores WHERE run_id = ?1 AND sample_id = ?2",
    purpose, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  sqlite3_bind_int64 (stmt, 2, sample_id);
  r = db_step (db, stmt, purpose, error);
  if (r == STEP_ERROR)
    return NULL;
  if (r == STEP_DONE)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                   "Sample %" G_GINT64_FORMAT " has no scores in run %" G_GINT64_FORMAT,
                   sample_id, run_id);
      return NULL;
    }
  return read_score_row (db, stmt, error);
}

/* ---- feature cache ------------------------------------------------------------------------- */

gboolean
curator_db_put_features (CuratorDb   *db,
                         const char  *extractor_key,
                         const char  *pixel_hash,
                         GBytes      *features,
                         GError     **error)
{
  const char *purpose = "cache a feature vector";
  gboolean ok;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (extractor_key != NULL, FALSE);
  g_return_val_if_fail (pixel_hash != NULL, FALSE);
  g_return_val_if_fail (features != NULL, FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
      "INSERT INTO features (extractor_key, pixel_hash, data, created_us)"
      " VALUES (?1, ?2, ?3, ?4)"
      " ON CONFLICT (extractor_key, pixel_hash) DO UPDATE SET data = excluded.data,"
      "   created_us = excluded.created_us", purpose, error);
    ok = stmt != NULL;
    if (ok)
      {
        bind_text (stmt, 1, extractor_key);
        bind_text (stmt, 2, pixel_hash);
        sqlite3_bind_int64 (stmt, 4, g_get_real_time ());
        ok = bind_bytes (db, stmt, 3, features, purpose, error) &&
             db_run (db, stmt, purpose, error);
      }
  }
  return finish_write (db, ok, error);
}

GBytes *
curator_db_get_features (CuratorDb  *db,
                         const char *extractor_key,
                         const char *pixel_hash)
{
  const char *purpose = "read a cached feature vector";
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (extractor_key != NULL, NULL);
  g_return_val_if_fail (pixel_hash != NULL, NULL);

  stmt = db_prepare (db,
    "SELECT data FROM features WHERE extractor_key = ?1 AND pixel_hash = ?2", purpose, &error);
  if (stmt == NULL)
    {
      g_warning ("%s", error->message);
      return NULL;
    }
  bind_text (stmt, 1, extractor_key);
  bind_text (stmt, 2, pixel_hash);
  r = db_step (db, stmt, purpose, &error);
  if (r == STEP_ERROR)
    g_warning ("%s", error->message);
  return r == STEP_ROW ? column_bytes (stmt, 0) : NULL;
}

gboolean
curator_db_has_features (CuratorDb  *db,
                         const char *extractor_key,
                         const char *pixel_hash)
{
  const char *purpose = "look up a cached feature vector";
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (extractor_key != NULL, FALSE);
  g_return_val_if_fail (pixel_hash != NULL, FALSE);

  stmt = db_prepare (db,
    "SELECT 1 FROM features WHERE extractor_key = ?1 AND pixel_hash = ?2", purpose, &error);
  if (stmt == NULL)
    {
      g_warning ("%s", error->message);
      return FALSE;
    }
  bind_text (stmt, 1, extractor_key);
  bind_text (stmt, 2, pixel_hash);
  r = db_step (db, stmt, purpose, &error);
  if (r == STEP_ERROR)
    g_warning ("%s", error->message);
  return r == STEP_ROW;
}

gboolean
curator_db_delete_features (CuratorDb   *db,
                            const char  *extractor_key,
                            GError     **error)
{
  const char *purpose = "drop cached feature vectors";
  gboolean ok;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (extractor_key != NULL, FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
      "DELETE FROM features WHERE extractor_key = ?1", purpose, error);
    ok = stmt != NULL;
    if (ok)
      {
        bind_text (stmt, 1, extractor_key);
        ok = db_run (db, stmt, purpose, error);
      }
  }
  return finish_write (db, ok, error);
}

/* ---- models ---------------------------------------------------------------------------------- */

gboolean
curator_db_put_model (CuratorDb   *db,
                      const char  *key,
                      GBytes      *data,
                      GError     **error)
{
  const char *purpose = "save a learned model";
  gboolean ok;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db,
      "INSERT INTO models (key, data, created_us) VALUES (?1, ?2, ?3)"
      " ON CONFLICT (key) DO UPDATE SET data = excluded.data,"
      "   created_us = excluded.created_us", purpose, error);
    ok = stmt != NULL;
    if (ok)
      {
        bind_text (stmt, 1, key);
        sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
        ok = bind_bytes (db, stmt, 2, data, purpose, error) &&
             db_run (db, stmt, purpose, error);
      }
  }
  return finish_write (db, ok, error);
}

GBytes *
curator_db_get_model (CuratorDb   *db,
                      const char  *key,
                      gint64      *created_us,
                      GError     **error)
{
  const char *purpose = "read a learned model";
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);

  if (created_us)
    *created_us = 0;
  stmt = db_prepare (db, "SELECT data, created_us FROM models WHERE key = ?1", purpose, error);
  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, key);
  r = db_step (db, stmt, purpose, error);
  if (r != STEP_ROW)
    return NULL;
  if (created_us)
    *created_us = sqlite3_column_int64 (stmt, 1);
  return column_bytes (stmt, 0);
}

gboolean
curator_db_delete_model (CuratorDb   *db,
                         const char  *key,
                         GError     **error)
{
  const char *purpose = "drop a learned model";
  gboolean ok;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  {
    g_autoptr(CuratorDbStmt) stmt = db_prepare (db, "DELETE FROM models WHERE key = ?1",
                                                purpose, error);
    ok = stmt != NULL;
    if (ok)
      {
        bind_text (stmt, 1, key);
        ok = db_run (db, stmt, purpose, error);
      }
  }
  return finish_write (db, ok, error);
}

/* ---- neighbours (schema 3) ----------------------------------------------------------------- */

/* A blob of n x (int64 id, float32 similarity), little-endian. */
#define NEIGHBOUR_BYTES 12

gboolean
curator_db_put_neighbours (CuratorDb     *db,
                           gint64         run_id,
                           const gint64  *sample_ids,
                           gsize          n_samples,
                           const gint64  *neighbour_ids,
                           const float   *similarities,
                           int            k,
                           GError       **error)
{
  const char *purpose = "save the samples' neighbours";
  g_autoptr(CuratorDbStmt) stmt = NULL;
  g_autofree guint8 *blob = NULL;
  gboolean ok = TRUE;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (k >= 0, FALSE);
  g_return_val_if_fail (n_samples == 0 || sample_ids != NULL, FALSE);
  g_return_val_if_fail (n_samples == 0 || k == 0 || (neighbour_ids != NULL && similarities != NULL), FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  ok = read_run_state (db, run_id, NULL, NULL, error);
  if (ok)
    stmt = db_prepare (db,
      "INSERT OR REPLACE INTO neighbours (run_id, sample_id, n_neighbours, data)"
      "  VALUES (?1, ?2, ?3, ?4)", purpose, error);
  ok = ok && stmt != NULL;
  blob = g_malloc ((gsize) MAX (k, 1) * NEIGHBOUR_BYTES);
  for (gsize i = 0; ok && i < n_samples; i++)
    {
      int m;

      for (m = 0; m < k && neighbour_ids[i * k + m] != 0; m++)
        {
          guint64 id = GUINT64_TO_LE ((guint64) neighbour_ids[i * k + m]);
          guint32 word;

          memcpy (&word, &similarities[i * k + m], sizeof word);
          word = GUINT32_TO_LE (word);
          memcpy (blob + (gsize) m * NEIGHBOUR_BYTES, &id, sizeof id);
          memcpy (blob + (gsize) m * NEIGHBOUR_BYTES + 8, &word, sizeof word);
        }
      sqlite3_bind_int64 (stmt, 1, run_id);
      sqlite3_bind_int64 (stmt, 2, sample_ids[i]);
      sqlite3_bind_int (stmt, 3, m);
      if (m > 0)
        sqlite3_bind_blob (stmt, 4, blob, m * NEIGHBOUR_BYTES, SQLITE_STATIC);
      else
        sqlite3_bind_zeroblob (stmt, 4, 0);
      ok = db_run (db, stmt, purpose, error);
      stmt_give_back (stmt);
    }
  return finish_write (db, ok, error);
}

GArray *
curator_db_get_neighbours (CuratorDb  *db,
                           gint64      run_id,
                           gint64      sample_id,
                           GError    **error)
{
  const char *purpose = "read a sample's neighbours";
  g_autoptr(CuratorDbStmt) stmt = NULL;
  g_autoptr(GArray) out = NULL;
  const guint8 *data;
  int n, size;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);

  stmt = db_prepare (db,
    "SELECT n_neighbours, data FROM neighbours WHERE run_id = ?1 AND sample_id = ?2",
    purpose, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  sqlite3_bind_int64 (stmt, 2, sample_id);
  r = db_step (db, stmt, purpose, error);
  if (r == STEP_ERROR)
    return NULL;
  if (r == STEP_DONE)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                   "Sample %" G_GINT64_FORMAT " has no neighbours in run %" G_GINT64_FORMAT,
                   sample_id, run_id);
      return NULL;
    }
  n = sqlite3_column_int (stmt, 0);
  data = sqlite3_column_blob (stmt, 1);
  size = sqlite3_column_bytes (stmt, 1);
  if (n < 0 || size != n * NEIGHBOUR_BYTES)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                   "The project %s is damaged: the neighbours of sample %" G_GINT64_FORMAT
                   " in run %" G_GINT64_FORMAT " have the wrong size", db->path, sample_id, run_id);
      return NULL;
    }
  out = g_array_sized_new (FALSE, FALSE, sizeof (CuratorDbNeighbour), (guint) n);
  for (int m = 0; m < n; m++)
    {
      CuratorDbNeighbour nb;
      guint64 id;
      guint32 word;

      memcpy (&id, data + (gsize) m * NEIGHBOUR_BYTES, sizeof id);
      memcpy (&word, data + (gsize) m * NEIGHBOUR_BYTES + 8, sizeof word);
      nb.sample_id = (gint64) GUINT64_FROM_LE (id);
      word = GUINT32_FROM_LE (word);
      memcpy (&nb.similarity, &word, sizeof word);
      g_array_append_val (out, nb);
    }
  return g_steal_pointer (&out);
}

/* ---- per-class figures of a run (schema 3) ------------------------------------------------- */

CuratorDbRunClass *
curator_db_run_class_new (void)
{
  CuratorDbRunClass *klass = g_new0 (CuratorDbRunClass, 1);

  klass->n_estimated = NAN;
  klass->ratio_to_largest = NAN;
  klass->ratio_to_median = NAN;
  klass->mean_label_quality = NAN;
  return klass;
}

void
curator_db_run_class_free (CuratorDbRunClass *klass)
{
  if (klass == NULL)
    return;
  g_free (klass->joint);
  g_free (klass);
}

/* NaN is "unknown": NULL in the file (SQLite would store NULL anyway). */
static void
bind_real (sqlite3_stmt *stmt,
           int           index,
           double        value)
{
  if (isnan (value))
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_double (stmt, index, value);
}

static double
column_real (sqlite3_stmt *stmt,
             int           column)
{
  return sqlite3_column_type (stmt, column) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, column);
}

static gboolean
put_run_classes_locked (CuratorDb          *db,
                        gint64              run_id,
                        CuratorDbRunClass **rows,
                        guint               n,
                        GError            **error)
{
  const char *purpose = "save the per-class figures of a run";
  g_autoptr(CuratorDbStmt) stmt = NULL;
  int n_classes = 0;

  if (!read_run_state (db, run_id, NULL, &n_classes, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      gboolean exists = FALSE;

      g_return_val_if_fail (rows[i] != NULL, FALSE);
      g_return_val_if_fail (rows[i]->n_joint == 0 || rows[i]->joint != NULL, FALSE);
      if (!class_exists (db, rows[i]->class_id, &exists, error))
        return FALSE;
      if (!exists)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                       "There is no class %" G_GINT64_FORMAT, rows[i]->class_id);
          return FALSE;
        }
      if (rows[i]->n_joint != 0 && rows[i]->n_joint != n_classes)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "Could not %s: class %" G_GINT64_FORMAT " has %d joint counts, "
                       "run %" G_GINT64_FORMAT " has %d classes",
                       purpose, rows[i]->class_id, rows[i]->n_joint, run_id, n_classes);
          return FALSE;
        }
    }

  stmt = db_prepare (db,
    "INSERT OR REPLACE INTO run_classes (run_id, class_id, n_labelled, n_label_issues,"
    "    n_estimated, ratio_to_largest, ratio_to_median, minority, mean_label_quality, joint)"
    "  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", purpose, error);
  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      const CuratorDbRunClass *row = rows[i];
      g_autoptr(GBytes) joint = NULL;
      gboolean ok;

      sqlite3_bind_int64 (stmt, 1, run_id);
      sqlite3_bind_int64 (stmt, 2, row->class_id);
      sqlite3_bind_int64 (stmt, 3, row->n_labelled);
      sqlite3_bind_int64 (stmt, 4, row->n_label_issues);
      bind_real (stmt, 5, row->n_estimated);
      bind_real (stmt, 6, row->ratio_to_largest);
      bind_real (stmt, 7, row->ratio_to_median);
      sqlite3_bind_int (stmt, 8, row->minority ? 1 : 0);
      bind_real (stmt, 9, row->mean_label_quality);
      if (row->n_joint > 0)
        {
          joint = probs_to_bytes (row->joint, row->n_joint);
          if (!bind_bytes (db, stmt, 10, joint, purpose, error))
            return FALSE;
        }
      ok = db_run (db, stmt, purpose, error);
      stmt_give_back (stmt);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

gboolean
curator_db_put_run_classes (CuratorDb          *db,
                            gint64              run_id,
                            CuratorDbRunClass **rows,
                            guint               n,
                            GError            **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (rows != NULL || n == 0, FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  return finish_write (db, put_run_classes_locked (db, run_id, rows, n, error), error);
}

GPtrArray *
curator_db_list_run_classes (CuratorDb  *db,
                             gint64      run_id,
                             GError    **error)
{
  const char *purpose = "read the per-class figures of a run";
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_run_class_free);
  g_autoptr(CuratorDbStmt) stmt = NULL;
  StepResult r;

  g_return_val_if_fail (db != NULL, NULL);

  stmt = db_prepare (db,
    "SELECT class_id, n_labelled, n_label_issues, n_estimated, ratio_to_largest,"
    "    ratio_to_median, minority, mean_label_quality, joint"
    "  FROM run_classes WHERE run_id = ?1 ORDER BY class_id", purpose, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  while ((r = db_step (db, stmt, purpose, error)) == STEP_ROW)
    {
      CuratorDbRunClass *row = curator_db_run_class_new ();
      int size = sqlite3_column_bytes (stmt, 8);

      g_ptr_array_add (rows, row);
      row->run_id = run_id;
      row->class_id = sqlite3_column_int64 (stmt, 0);
      row->n_labelled = sqlite3_column_int64 (stmt, 1);
      row->n_label_issues = sqlite3_column_int64 (stmt, 2);
      row->n_estimated = column_real (stmt, 3);
      row->ratio_to_largest = column_real (stmt, 4);
      row->ratio_to_median = column_real (stmt, 5);
      row->minority = sqlite3_column_int (stmt, 6) != 0;
      row->mean_label_quality = column_real (stmt, 7);
      if (sqlite3_column_type (stmt, 8) != SQLITE_NULL && size > 0)
        {
          row->n_joint = size / (int) sizeof (guint32);
          row->joint = probs_from_column (stmt, 8, row->n_joint);
          if (row->joint == NULL)
            {
              g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_DB,
                           "The project %s is damaged: the joint counts of class %"
                           G_GINT64_FORMAT " in run %" G_GINT64_FORMAT " have the wrong size",
                           db->path, row->class_id, run_id);
              return NULL;
            }
        }
    }
  if (r == STEP_ERROR)
    return NULL;
  return g_steal_pointer (&rows);
}

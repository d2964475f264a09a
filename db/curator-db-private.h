/* curator-db-private.h: what curator-db.c and curator-db-schema.c share, and
 * the hooks the tests use to build old files and provoke lock timeouts.
 *
 * Nothing outside db/ and tests/test-db.c includes this. */
#pragma once

#include <sqlite3.h>

#include "curator-db.h"

G_BEGIN_DECLS

/* 'CURA' in PRAGMA application_id: how a Curator project is told apart from
 * any other SQLite file. */
#define CURATOR_DB_APPLICATION_ID 0x43555241

/* Default busy timeout: how long a writer waits for another process's lock. */
#define CURATOR_DB_BUSY_TIMEOUT_MS 10000

struct _CuratorDb {
  /* owned */
  sqlite3    *sqlite;
  char       *path;
  GHashTable *stmts;           /* SQL text -> sqlite3_stmt *, finalized on close */

  int         schema_version;  /* after opening and upgrading */
  int         tx_depth;        /* 0 = no transaction; >1 = savepoints inside one */
  int         busy_timeout_ms;
  gint64      batch_id;        /* the open batch (curator_db_begin_batch), 0 = none */
  int         batch_depth;     /* tx_depth right after the batch began */
};

/* One migration step: its SQL takes a file at to_version - 1 to to_version.
 * The loop that runs it writes the version itself. */
typedef struct {
  int         to_version;
  const char *sql;
} CuratorDbMigration;

/* The one place a SQLite result code becomes a GError. @purpose says what we
 * were doing, in words for a person ("save the sample"). */
void _curator_db_set_error (CuratorDb   *db,
                            GError     **error,
                            int          rc,
                            const char  *purpose);

/* Runs SQL without results (several statements allowed). */
gboolean _curator_db_exec (CuratorDb   *db,
                           const char  *sql,
                           const char  *purpose,
                           GError     **error);

/* Reads a single integer PRAGMA such as "user_version". */
gboolean _curator_db_pragma_int (CuratorDb   *db,
                                 const char  *pragma,
                                 gint64      *out,
                                 GError     **error);

/* curator-db-schema.c: refuses what is not ours or too new, takes the
 * backup, and runs the real steps up to @target_version. */
gboolean _curator_db_prepare_schema (CuratorDb  *db,
                                     gboolean    create,
                                     int         target_version,
                                     GError    **error);

/* Runs @steps (in order) until the file is at @target_version; each step in
 * its own transaction that also writes the new version. A step that does not
 * take the file exactly one version up is an error and changes nothing.
 * Foreign keys are off while the steps run (a step may rebuild a table that
 * others refer to, SQLite's way to change a CHECK constraint), and each step
 * must leave PRAGMA foreign_key_check empty before it commits. */
gboolean _curator_db_migrate_with (CuratorDb                *db,
                                   const CuratorDbMigration *steps,
                                   guint                     n_steps,
                                   int                       target_version,
                                   GError                  **error);

/* Test hooks. Opens (creating) the project at @path and upgrades it only as
 * far as @target_version (1..CURATOR_DB_SCHEMA_VERSION), so a test can make a
 * real old file. */
CuratorDb *_curator_db_open_at_version (const char  *path,
                                        int          target_version,
                                        GError     **error);

/* How long to wait for another connection's lock before CURATOR_ERROR_BUSY. */
void _curator_db_set_busy_timeout (CuratorDb *db,
                                   int        timeout_ms);

G_END_DECLS

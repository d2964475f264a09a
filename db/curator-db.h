/* curator-db.h: the project file.
 *
 * A project is one SQLite file. db/ owns every line of SQL in the tree: the
 * schema and its migrations, prepared statements, and the append-only event log
 * from which a sample's current label always follows. Nothing here knows about
 * images or models; callers hand in plain values.
 *
 * Threading: a CuratorDb is used from one thread at a time. Other processes may
 * hold the same file open (WAL mode, busy timeout); a lock that does not clear
 * in time is reported as CURATOR_ERROR_BUSY.
 *
 * Ownership: structs returned by _get_/_list_ functions belong to the caller
 * and are freed with the matching _free (a GPtrArray from _list_ owns its
 * elements: g_ptr_array_unref frees them). */
#pragma once

#include <glib.h>

#include "curator-error.h"

G_BEGIN_DECLS

/* Version of the schema this program writes. A file with a higher
 * PRAGMA user_version is refused with CURATOR_ERROR_DB_TOO_NEW. */
#define CURATOR_DB_SCHEMA_VERSION 4

typedef struct _CuratorDb CuratorDb;

typedef enum {
  CURATOR_SAMPLE_OK,
  CURATOR_SAMPLE_CORRUPT,  /* could not be read or decoded; reason says why */
  CURATOR_SAMPLE_MISSING,  /* was indexed once, has vanished since; kept with its history */
} CuratorSampleStatus;

const char *curator_sample_status_to_string (CuratorSampleStatus status);
/* Returns FALSE for an unknown name. */
gboolean    curator_sample_status_from_string (const char *name, CuratorSampleStatus *out);

/* Who made a decision. */
typedef enum {
  CURATOR_ACTOR_HUMAN,  /* a person in the GUI */
  CURATOR_ACTOR_CLI,    /* a person or script through the command line */
  CURATOR_ACTOR_MODEL,  /* self-training */
} CuratorActor;

const char *curator_actor_to_string (CuratorActor actor);
gboolean    curator_actor_from_string (const char *name, CuratorActor *out);

/* What a decision does. Every row of the event log is one of these. */
typedef enum {
  CURATOR_ACTION_RELABEL,  /* new label chosen by hand */
  CURATOR_ACTION_ACCEPT,   /* the suggestion (pseudo-label) accepted */
  CURATOR_ACTION_CONFIRM,  /* given label confirmed: "not an error", verified */
  CURATOR_ACTION_EXCLUDE,  /* left out of training and export */
  CURATOR_ACTION_RESTORE,  /* an excluded sample brought back */
  CURATOR_ACTION_UNDO,     /* reverts the event named in `reverts` */
} CuratorAction;

const char *curator_action_to_string (CuratorAction action);
gboolean    curator_action_from_string (const char *name, CuratorAction *out);

/* ---- opening ------------------------------------------------------------ */

/* Opens (and with @create, creates) the project at @path. An older schema is
 * first copied to "@path.bak-vN" (N = old version), then upgraded one step per
 * version, each step in its own transaction that also writes the new version.
 * A newer schema is refused, never touched. WAL mode, foreign keys on, a busy
 * timeout so that concurrent writers wait instead of failing.
 * A missing file without @create is CURATOR_ERROR_NOT_FOUND. A file that is
 * not an SQLite database, or one that holds tables but is not a Curator
 * project, is CURATOR_ERROR_INVALID and is left untouched. */
CuratorDb *curator_db_open  (const char  *path,
                             gboolean     create,
                             GError     **error);
void       curator_db_close (CuratorDb   *db);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorDb, curator_db_close)

const char *curator_db_get_path           (CuratorDb *db);
int         curator_db_get_schema_version (CuratorDb *db);

/* Transactions. begin is BEGIN IMMEDIATE (takes the write lock up front, so a
 * batch never fails half way on a lock). Calls that write open their own
 * transaction when none is open, and join the open one otherwise.
 * Nested begin/commit pairs are savepoints inside the one transaction: a
 * nested rollback undoes only what was done since its begin, the outermost
 * rollback undoes everything. If SQLite itself abandons the transaction (disk
 * full, I/O error), every later call inside it fails until the outermost
 * commit or rollback. */
gboolean curator_db_begin    (CuratorDb *db, GError **error);
gboolean curator_db_commit   (CuratorDb *db, GError **error);
void     curator_db_rollback (CuratorDb *db);

/* Runs PRAGMA integrity_check and foreign_key_check, and checks that every
 * sample's current label, label source, verified and excluded flags are what
 * its events say; FALSE with the first problem in @error. */
gboolean curator_db_check_integrity (CuratorDb *db, GError **error);

/* ---- project settings (key/value) --------------------------------------- */

/* Keys in use: "root" (absolute dataset root), "manifest" (absolute path of
 * the manifest last indexed, if any), "created", "program_version". */
char    *curator_db_dup_setting (CuratorDb *db, const char *key);  /* NULL if unset */
/* A NULL @value removes the setting. */
gboolean curator_db_set_setting (CuratorDb *db, const char *key, const char *value, GError **error);

/* ---- classes ------------------------------------------------------------ */

typedef struct {
  gint64  id;
  char   *name;
  int     position;   /* order in lists and hotkeys; 0-based, new classes go last */
  char   *hotkey;     /* may be NULL */
  char   *colour;     /* "#rrggbb", may be NULL */
  gint64  n_given;    /* OK samples whose given label is this class */
  gint64  n_current;  /* OK, not excluded samples whose current label is this class */
} CuratorDbClass;

void curator_db_class_free (CuratorDbClass *klass);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorDbClass, curator_db_class_free)

/* Returns the id of the class called @name, creating it when absent. */
gint64     curator_db_ensure_class  (CuratorDb *db, const char *name, GError **error);
/* 0 when there is no such class. */
gint64     curator_db_lookup_class  (CuratorDb *db, const char *name);
/* (transfer full) array of CuratorDbClass, ordered by position. */
GPtrArray *curator_db_list_classes  (CuratorDb *db, GError **error);

/* ---- samples ------------------------------------------------------------ */

typedef struct {
  gint64  id;
  char   *path;           /* relative to the dataset root, '/' separated */
  char   *file_hash;      /* hex digest of the file's bytes */
  char   *pixel_hash;     /* hex digest of the decoded 8-bit RGB pixels + size */
  guint64 phash;          /* 64-bit perceptual hash */
  gint64  n_bytes;
  gint64  mtime_us;       /* file modification time, microseconds since the epoch */
  int     width, height, channels;
  char   *format;         /* "png", "jpeg", or NULL when unknown */
  CuratorSampleStatus status;
  char   *reason;         /* why corrupt or missing; NULL when OK */

  /* image statistics, all on 0..255 luma unless said otherwise */
  double  luma_p05, luma_p50, luma_p95;
  double  contrast;       /* standard deviation of luma */
  double  entropy;        /* Shannon entropy of the luma histogram, bits */
  double  blur;           /* variance of the Laplacian; low = blurry */
  gboolean is_grey;       /* stored with colour channels but every pixel has R=G=B */

  gint64  given_label;    /* class id; 0 = unlabelled */
  gint64  current_label;  /* class id; 0 = unlabelled. Always what the events say. */
  char   *label_source;   /* "given", "human" or "pseudo" */
  gboolean verified;      /* a person confirmed or chose the current label */
  gboolean excluded;
  char   *split;          /* split the source already had ("train", "test"...), or NULL */
  gint64  indexed_us;     /* when the file was last read */
} CuratorDbSample;

CuratorDbSample *curator_db_sample_new  (void);
void             curator_db_sample_free (CuratorDbSample *sample);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorDbSample, curator_db_sample_free)

/* Inserts a sample by path or updates the one with that path: every file
 * field (hashes, size, stats, status, reason, given label, split) is replaced;
 * decisions are kept, and the current label is re-derived from the events
 * (a new given label shows through unless a decision overrides it).
 * Sets sample->id. */
gboolean curator_db_put_sample (CuratorDb *db, CuratorDbSample *sample, GError **error);

/* Marks a sample missing with @reason; nothing else about it changes. */
gboolean curator_db_mark_missing (CuratorDb *db, gint64 sample_id, const char *reason, GError **error);

/* NULL with CURATOR_ERROR_NOT_FOUND when absent. */
CuratorDbSample *curator_db_get_sample         (CuratorDb *db, gint64 id, GError **error);
CuratorDbSample *curator_db_get_sample_by_path (CuratorDb *db, const char *path, GError **error);

typedef struct {
  gint64   class_id;      /* current label; 0 = any, -1 = unlabelled only */
  int      status;        /* a CuratorSampleStatus, or -1 for any */
  gboolean only_included; /* leave out excluded samples */
} CuratorDbSampleFilter;

#define CURATOR_DB_SAMPLE_FILTER_ALL ((CuratorDbSampleFilter) { 0, -1, FALSE })

/* (transfer full) array of CuratorDbSample ordered by id. @filter may be NULL. */
GPtrArray *curator_db_list_samples (CuratorDb *db, const CuratorDbSampleFilter *filter, GError **error);

/* Counts of samples per (current label, status): fills @out with rows of
 * CuratorDbCount. */
typedef struct {
  gint64 class_id;        /* 0 = unlabelled */
  CuratorSampleStatus status;
  gint64 n_samples;
  gint64 n_excluded;
} CuratorDbCount;

GArray *curator_db_count_samples (CuratorDb *db, GError **error);

/* ---- thumbnails (cache keyed by pixel hash) ------------------------------ */

gboolean curator_db_put_thumbnail (CuratorDb    *db,
                                   const char   *pixel_hash,
                                   const char   *format,  /* "png" or "jpeg" */
                                   int           width,
                                   int           height,
                                   GBytes       *data,
                                   GError      **error);
/* NULL (no error) when not cached. @format may be NULL. */
GBytes  *curator_db_get_thumbnail (CuratorDb    *db,
                                   const char   *pixel_hash,
                                   char        **format,
                                   GError      **error);
gboolean curator_db_has_thumbnail (CuratorDb *db, const char *pixel_hash);

/* ---- decisions (the event log) ------------------------------------------ */

typedef struct {
  gint64        id;
  gint64        sample_id;
  CuratorAction action;
  gint64        old_label;  /* class id or 0 */
  gint64        new_label;  /* class id or 0 */
  CuratorActor  actor;
  gint64        run_id;     /* 0 when not from an analysis run */
  gint64        time_us;
  char         *note;       /* may be NULL */
  gint64        reverts;    /* for UNDO: the event it reverts; else 0 */
  gint64        batch_id;   /* the undo step it belongs to (schema 4); 0 = a
                             * single decision, undone on its own */
} CuratorDbEvent;

void curator_db_event_free (CuratorDbEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorDbEvent, curator_db_event_free)

/* Appends a decision and updates the sample's derived state (current label,
 * label source, verified, excluded) in the same transaction. @new_label is
 * used by RELABEL and ACCEPT, ignored otherwise. Returns the event id, or 0
 * with @error (NOT_FOUND for an unknown sample, class or run; INVALID for an
 * action that makes no sense: RELABEL to the current label, CONFIRM of an
 * unlabelled sample, EXCLUDE of an excluded or RESTORE of an included one).
 *
 * The derived state is the replay of the sample's active events (an event is
 * active unless an active UNDO reverts it) over its given label:
 *   RELABEL  label = new, source "human", verified
 *   ACCEPT   label = new, source "pseudo", verified unless the actor is MODEL
 *   CONFIRM  source "human", verified; it confirms the label current when it
 *            was made (stored as its new_label) and lapses if the given label
 *            has changed underneath since
 *   EXCLUDE / RESTORE  excluded on / off */
gint64 curator_db_record_decision (CuratorDb     *db,
                                   gint64         sample_id,
                                   CuratorAction  action,
                                   gint64         new_label,
                                   CuratorActor   actor,
                                   gint64         run_id,
                                   const char    *note,
                                   GError       **error);

/* Decisions recorded from here until curator_db_end_batch form one undo step:
 * curator_db_undo / curator_db_redo revert or re-apply all of them together.
 * The batch is one transaction as well (all or nothing). Batches do not nest.
 * Returns the batch id (> 0), or 0 with @error.
 *
 * The batch's transaction joins an open one (as a savepoint, see
 * curator_db_begin); begin/commit pairs inside the batch nest in it. A
 * decision that fails inside the batch leaves the batch open and the
 * decisions before it in place: the caller chooses whether to end it with
 * @commit TRUE or FALSE. Beginning a batch while one is open, and undo or
 * redo inside one, are CURATOR_ERROR_INVALID. */
gint64   curator_db_begin_batch (CuratorDb *db, GError **error);
/* Ends the batch: @commit TRUE keeps its decisions, FALSE drops them all.
 * When the commit itself fails, the batch is rolled back and FALSE returned;
 * either way the batch is over. */
gboolean curator_db_end_batch   (CuratorDb *db, gboolean commit, GError **error);

/* Reverts the most recent undo step that is not yet reverted: the newest
 * decision that is not an undo, or when that decision belongs to a batch,
 * every still active decision of that batch. One UNDO event is appended per
 * reverted decision; the UNDO events of a batch share a new batch id of their
 * own, so that redo re-applies the batch as one step too. Returns the id of
 * the reverted event (for a batch, its newest reverted decision), 0 when
 * there is nothing to undo (no error), or -1 with @error. The log is shared:
 * this undoes the latest decision of any sample, made by anyone. */
gint64 curator_db_undo (CuratorDb *db, CuratorActor actor, GError **error);
/* Reverts the most recent active undo step (redo): the newest active UNDO of
 * a decision, and when it belongs to a batch every active UNDO of that batch,
 * by appending an UNDO of each UNDO (again under one new batch id). As in any
 * editor, a new decision made after an undo ends what can be redone: then
 * this returns 0. Same returns as undo; the id returned is that of the
 * newest reverted UNDO event. */
gint64 curator_db_redo (CuratorDb *db, CuratorActor actor, GError **error);

/* (transfer full) array of CuratorDbEvent, oldest first. @sample_id 0 = all. */
GPtrArray *curator_db_list_events (CuratorDb *db, gint64 sample_id, GError **error);

/* ---- analysis runs (schema 2) -------------------------------------------- */

/* A run's status: "running", "done", "failed" or "cancelled". */
typedef struct {
  gint64  id;
  gint64  started_us;
  gint64  finished_us;    /* 0 while running */
  char   *status;
  gint64 *class_ids;      /* the classes, in the order probability vectors follow */
  int     n_classes;
  char   *params_json;    /* JSON texts, each may be NULL */
  char   *versions_json;
  char   *timings_json;
  char   *metrics_json;
} CuratorDbRun;

void curator_db_run_free (CuratorDbRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorDbRun, curator_db_run_free)

/* Starts a run over @n_classes classes (each must exist: NOT_FOUND
 * otherwise). The JSON texts may be NULL; text that is not valid JSON is
 * INVALID. Returns the run id, or 0 with @error. */
gint64   curator_db_begin_run  (CuratorDb     *db,
                                const gint64  *class_ids,
                                int            n_classes,
                                const char    *params_json,
                                const char    *versions_json,
                                GError       **error);
/* Ends a running run with @status "done", "failed" or "cancelled". NOT_FOUND
 * for an unknown run, INVALID for one already finished. */
gboolean curator_db_finish_run (CuratorDb     *db,
                                gint64         run_id,
                                const char    *status,
                                const char    *timings_json,
                                const char    *metrics_json,
                                GError       **error);
/* @run_id 0 = the latest run with status "done". NULL with NOT_FOUND when
 * there is none. */
CuratorDbRun *curator_db_get_run   (CuratorDb *db, gint64 run_id, GError **error);
/* (transfer full) array of CuratorDbRun, oldest first. */
GPtrArray    *curator_db_list_runs (CuratorDb *db, GError **error);

/* One sample's scores in one run. */
typedef struct {
  gint64   run_id;
  gint64   sample_id;
  float   *probs;                 /* n_probs out-of-sample probabilities, in the
                                   * order of the run's class_ids; NULL when 0 */
  int      n_probs;               /* 0 or the run's n_classes */
  gint64   predicted_label;       /* class id, 0 = none */
  double   p_label;               /* probability of the sample's label at run time */
  gint64   suggested_label;       /* class id, 0 = no suggestion */
  double   suggestion_confidence;
  double   label_quality;
  guint32  issues;                /* bit flags; their meaning belongs to the caller */
  double   outlier_score;
  gint64   duplicate_group;       /* 0 = none */
  char    *reason;                /* may be NULL */
} CuratorDbScore;

CuratorDbScore *curator_db_score_new  (void);
void            curator_db_score_free (CuratorDbScore *score);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorDbScore, curator_db_score_free)

/* Writes (or replaces) @n_scores scores of @run_id in one transaction, joining
 * an open one. score->run_id is ignored. NOT_FOUND for an unknown run;
 * INVALID when n_probs is neither 0 nor the run's number of classes. */
gboolean        curator_db_put_scores (CuratorDb       *db,
                                       gint64           run_id,
                                       CuratorDbScore **scores,
                                       guint            n_scores,
                                       GError         **error);
/* (transfer full) array of CuratorDbScore ordered by sample id. */
GPtrArray      *curator_db_list_scores (CuratorDb *db, gint64 run_id, GError **error);
/* NULL with NOT_FOUND when the sample has no score in that run. */
CuratorDbScore *curator_db_get_score   (CuratorDb *db, gint64 run_id, gint64 sample_id, GError **error);

/* ---- feature cache (schema 2), keyed by extractor and pixel hash --------- */

/* @extractor_key names the extractor and every parameter that changes its
 * output; the blob is opaque to db/. */
gboolean curator_db_put_features    (CuratorDb  *db,
                                     const char *extractor_key,
                                     const char *pixel_hash,
                                     GBytes     *features,
                                     GError    **error);
/* NULL when absent (a database failure is logged and also gives NULL). */
GBytes  *curator_db_get_features    (CuratorDb *db, const char *extractor_key, const char *pixel_hash);
gboolean curator_db_has_features    (CuratorDb *db, const char *extractor_key, const char *pixel_hash);
/* Drops every cached vector of @extractor_key. */
gboolean curator_db_delete_features (CuratorDb *db, const char *extractor_key, GError **error);

/* ---- learned models (schema 2): small blobs by key, e.g. a k-means
 * dictionary ---------------------------------------------------------------- */

gboolean curator_db_put_model    (CuratorDb *db, const char *key, GBytes *data, GError **error);
/* NULL (no error) when absent. @created_us may be NULL. */
GBytes  *curator_db_get_model    (CuratorDb *db, const char *key, gint64 *created_us, GError **error);
gboolean curator_db_delete_model (CuratorDb *db, const char *key, GError **error);

/* ---- neighbours and per-class figures of a run (schema 3) ----------------- */

typedef struct {
  gint64 sample_id;
  float  similarity;   /* cosine similarity of the features */
} CuratorDbNeighbour;

/* Writes (or replaces) the nearest neighbours of @n_samples samples of
 * @run_id in one transaction (joining an open one): sample @sample_ids[i]
 * gets @neighbour_ids[i * k .. i * k + k) with their @similarities, nearest
 * first; an id of 0 ends a sample's list early. NOT_FOUND for an unknown
 * run. */
gboolean curator_db_put_neighbours (CuratorDb     *db,
                                    gint64         run_id,
                                    const gint64  *sample_ids,
                                    gsize          n_samples,
                                    const gint64  *neighbour_ids,
                                    const float   *similarities,
                                    int            k,
                                    GError       **error);
/* (transfer full) array of CuratorDbNeighbour, nearest first; NULL with
 * NOT_FOUND when the run stored none for the sample. */
GArray  *curator_db_get_neighbours (CuratorDb     *db,
                                    gint64         run_id,
                                    gint64         sample_id,
                                    GError       **error);

/* One class's figures in one run. */
typedef struct {
  gint64   run_id;
  gint64   class_id;
  gint64   n_labelled;          /* samples with this label in the run */
  gint64   n_label_issues;      /* of those, flagged as label issues */
  double   n_estimated;         /* estimated number truly of this class; NaN = unknown */
  double   ratio_to_largest;    /* NaN = unknown */
  double   ratio_to_median;     /* NaN = unknown */
  gboolean minority;
  double   mean_label_quality;  /* NaN = unknown */
  float   *joint;               /* n_joint counts: how many given this class are
                                 * estimated to be each class of the run (the
                                 * confident joint's row), or NULL */
  int      n_joint;             /* 0 or the run's n_classes */
} CuratorDbRunClass;

CuratorDbRunClass *curator_db_run_class_new  (void);
void               curator_db_run_class_free (CuratorDbRunClass *klass);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorDbRunClass, curator_db_run_class_free)

/* Writes (or replaces) @n rows of @run_id in one transaction (joining an
 * open one); row->run_id is ignored. NOT_FOUND for an unknown run or class;
 * INVALID when n_joint is neither 0 nor the run's number of classes. */
gboolean   curator_db_put_run_classes  (CuratorDb          *db,
                                        gint64              run_id,
                                        CuratorDbRunClass **rows,
                                        guint               n,
                                        GError            **error);
/* (transfer full) array of CuratorDbRunClass ordered by class id; empty when
 * the run stored none. */
GPtrArray *curator_db_list_run_classes (CuratorDb          *db,
                                        gint64              run_id,
                                        GError            **error);

G_END_DECLS

/* curator-index.c: the indexer.
 *
 * Three phases. (1) List the candidates: walk the class folders or read the
 * manifest, giving (relative path, label, split) sorted by path. (2) Compare
 * each with what the project holds, by size and mtime, and send only the ones
 * that need reading to a thread pool; a worker hashes the file and, unless the
 * bytes turn out unchanged, decodes it and computes every fact. (3) The
 * calling thread writes results in candidate order (a reorder window), in one
 * transaction per batch, then marks vanished samples missing — only after a
 * complete pass, so a cancelled run never marks anything missing wrongly. */
#include "curator-config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "curator-image.h"
#include "curator-index.h"
#include "curator-manifest.h"
#include "curator-path.h"

/* How many results may wait for their turn to be written, and how many
 * samples one transaction holds. */
#define WINDOW_SIZE 2048
#define BATCH_SIZE  256
#define PROGRESS_INTERVAL_US (G_USEC_PER_SEC / 5)

static const char *const image_suffixes[] = { ".jpg", ".jpeg", ".png" };
static const char *const split_names[] = { "train", "val", "valid", "validation", "test" };
static const char unlabelled_folder[] = "_unlabeled";

typedef struct {
  char *path;      /* relative, '/' separated */
  char *label;     /* NULL = unlabelled */
  char *split;     /* NULL = none */
  char *problem;   /* set when the candidate cannot be read at all (e.g. symlink out) */
} Candidate;

static void
candidate_free (gpointer data)
{
  Candidate *c = data;

  g_free (c->path);
  g_free (c->label);
  g_free (c->split);
  g_free (c->problem);
  g_free (c);
}

static int
candidate_compare (gconstpointer a, gconstpointer b)
{
  const Candidate *ca = *(Candidate *const *) a;
  const Candidate *cb = *(Candidate *const *) b;

  return strcmp (ca->path, cb->path);
}

static int
name_compare (gconstpointer a, gconstpointer b)
{
  /* g_ptr_array_sort passes pointers to the elements. */
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
has_image_suffix (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (image_suffixes); i++)
    {
      gsize n = strlen (name), m = strlen (image_suffixes[i]);

      if (n > m && g_ascii_strcasecmp (name + n - m, image_suffixes[i]) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
is_split_name (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (split_names); i++)
    if (g_ascii_strcasecmp (name, split_names[i]) == 0)
      return TRUE;
  return FALSE;
}

/* ---- phase 1: the walk --------------------------------------------------- */

typedef struct {
  const char *root;
  CuratorPathRoot *checked_root; /* resolves names read from disk, byte for byte */
  GPtrArray  *candidates;   /* of Candidate */
  GHashTable *visited;      /* "dev:ino" of folders walked, against symlink loops */
  GPtrArray  *problems;
  GCancellable *cancellable;
} Walk;

static void
walk_add (Walk *walk, const char *rel, const char *label, const char *split, char *problem)
{
  Candidate *c = g_new0 (Candidate, 1);

  c->path = g_strdup (rel);
  c->label = g_strdup (label);
  c->split = g_strdup (split);
  c->problem = problem;
  g_ptr_array_add (walk->candidates, c);
}

/* Walks the folder @rel (relative to the root, "" for the root itself).
 * @depth counts folders below the root; @label/@split are what the folders
 * above decided; at depth 0 the layout rules apply. */
static gboolean
walk_folder (Walk        *walk,
             const char  *rel,
             int          depth,
             const char  *label,
             const char  *split,
             GError     **error)
{
  g_autofree char *abs = g_build_filename (walk->root, rel, NULL);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GStatBuf st;
  const char *name;
  g_autoptr(GError) local_error = NULL;

  if (g_cancellable_set_error_if_cancelled (walk->cancellable, error))
    return FALSE;

  if (g_stat (abs, &st) != 0)
    {
      g_ptr_array_add (walk->problems,
                       g_strdup_printf ("%s: cannot read folder: %s", *rel ? rel : ".", g_strerror (errno)));
      return TRUE;
    }
  {
    char *key = g_strdup_printf ("%ju:%ju", (uintmax_t) st.st_dev, (uintmax_t) st.st_ino);

    if (!g_hash_table_add (walk->visited, key))
      {
        g_ptr_array_add (walk->problems,
                         g_strdup_printf ("%s: folder already walked (symlink loop?), skipped", rel));
        return TRUE;
      }
  }

  dir = g_dir_open (abs, 0, &local_error);
  if (dir == NULL)
    {
      if (depth == 0)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                       "Cannot read the dataset folder %s: %s", walk->root, local_error->message);
          return FALSE;
        }
      g_ptr_array_add (walk->problems, g_strdup_printf ("%s: %s", rel, local_error->message));
      return TRUE;
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, name_compare);

  for (guint i = 0; i < names->len; i++)
    {
      const char *child = g_ptr_array_index (names, i);
      g_autofree char *child_rel = *rel ? g_strconcat (rel, "/", child, NULL) : g_strdup (child);
      g_autofree char *child_abs = g_build_filename (walk->root, child_rel, NULL);
      GStatBuf lst;
      gboolean is_dir;

      if (g_lstat (child_abs, &lst) != 0)
        continue;

      if (S_ISLNK (lst.st_mode))
        {
          g_autoptr(GError) link_error = NULL;
          g_autofree char *resolved = curator_path_root_resolve_native (walk->checked_root, child_rel,
                                                                        &link_error);

          if (resolved == NULL)
            {
              if (has_image_suffix (child))
                walk_add (walk, child_rel, NULL, NULL, g_strdup (link_error->message));
              else
                g_ptr_array_add (walk->problems,
                                 g_strdup_printf ("%s: %s", child_rel, link_error->message));
              continue;
            }
          if (g_stat (child_abs, &st) != 0)
            continue;
          is_dir = S_ISDIR (st.st_mode);
        }
      else
        is_dir = S_ISDIR (lst.st_mode);

      if (is_dir && !has_image_suffix (child))
        {
          const char *child_label = label;
          const char *child_split = split;

          if (depth == 0 && strcmp (child, unlabelled_folder) == 0)
            child_label = NULL;
          else if (depth == 0 && is_split_name (child))
            child_split = child;
          else if (label == NULL && (depth == 0 || (depth == 1 && split != NULL)))
            {
              if (depth == 1 && strcmp (child, unlabelled_folder) == 0)
                child_label = NULL;
              else
                child_label = child;
            }

          /* A split folder's children are class folders: pass depth 0-like
           * rules down by keeping depth at 1 with the split set. */
          if (!walk_folder (walk, child_rel, depth + 1, child_label, child_split, error))
            return FALSE;
        }
      else if (has_image_suffix (child))
        {
          /* Images (or things named like them: directories, FIFOs) are all
           * candidates; reading them tells what they really are. */
          gboolean in_split_root = depth == 1 && split != NULL && label == NULL;

          walk_add (walk, child_rel, in_split_root ? NULL : label, split, NULL);
        }
    }
  return TRUE;
}

static GPtrArray *
list_from_manifest (const char *root, const char *manifest_path, GPtrArray *problems, GError **error)
{
  g_autoptr(CuratorManifest) manifest = curator_manifest_read (manifest_path, root, error);
  GPtrArray *candidates;

  if (manifest == NULL)
    return NULL;

  candidates = g_ptr_array_new_with_free_func (candidate_free);
  for (guint i = 0; i < manifest->entries->len; i++)
    {
      CuratorManifestEntry *e = g_ptr_array_index (manifest->entries, i);
      Candidate *c = g_new0 (Candidate, 1);

      c->path = g_strdup (e->file);
      c->label = e->label != NULL && *e->label ? g_strdup (e->label) : NULL;
      c->split = e->split != NULL && *e->split ? g_strdup (e->split) : NULL;
      g_ptr_array_add (candidates, c);
    }
  for (guint i = 0; i < manifest->problems->len; i++)
    {
      CuratorManifestProblem *p = g_ptr_array_index (manifest->problems, i);

      g_ptr_array_add (problems, g_strdup_printf ("%s:%u: %s", manifest_path, p->line, p->message));
    }
  return candidates;
}

/* ---- phase 2: the workers ------------------------------------------------ */

typedef enum {
  JOB_DECODE,      /* new or changed file: read everything */
  JOB_CHECK,       /* size or mtime changed: hash, decode only if bytes differ */
} JobKind;

typedef struct {
  guint               index;      /* position in the candidate list */
  JobKind             kind;
  char               *abs_path;
  char               *old_hash;   /* for JOB_CHECK */
  /* results */
  CuratorImageFacts  *facts;      /* NULL when unchanged or failed */
  gboolean            unchanged;  /* JOB_CHECK found the same bytes */
  GError             *error;
  gboolean            cancelled;  /* skipped because the run was cancelled */
  gboolean            finished;   /* set by the writing thread when it pops the job */
  gint64              n_bytes;
  gint64              mtime_us;
} Job;

static void
job_free (Job *job)
{
  if (job == NULL)
    return;
  g_free (job->abs_path);
  g_free (job->old_hash);
  g_clear_pointer (&job->facts, curator_image_facts_free);
  g_clear_error (&job->error);
  g_free (job);
}

static char *
hash_file (const char *path, gint64 *n_bytes, GError **error)
{
  g_autofree char *data = NULL;
  gsize length;

  if (!g_file_get_contents (path, &data, &length, error))
    return NULL;
  *n_bytes = length;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, length);
}

typedef struct {
  GAsyncQueue  *done;
  GCancellable *cancellable;
} Pool;

static void
job_run (gpointer data, gpointer user_data)
{
  Job *job = data;
  Pool *pool = user_data;

  if (g_cancellable_is_cancelled (pool->cancellable))
    {
      job->cancelled = TRUE;
      g_async_queue_push (pool->done, job);
      return;
    }
  if (job->kind == JOB_CHECK)
    {
      gint64 n_bytes = 0;
      g_autofree char *hash = hash_file (job->abs_path, &n_bytes, NULL);

      if (hash != NULL && g_strcmp0 (hash, job->old_hash) == 0)
        job->unchanged = TRUE;
    }
  if (!job->unchanged)
    job->facts = curator_image_facts_from_file (job->abs_path, &job->error);
  g_async_queue_push (pool->done, job);
}

/* ---- phase 3: writing ---------------------------------------------------- */

typedef struct {
  CuratorDb          *db;
  CuratorIndexReport *report;
  GHashTable         *class_ids;   /* name -> id (gint64 *) */
  GHashTable         *known;       /* path -> CuratorDbSample (owned by known_list) */
  guint               in_batch;
} Writer;

static gint64
writer_class_id (Writer *w, const char *label, GError **error)
{
  gint64 *cached;
  gint64 id;

  if (label == NULL)
    return 0;
  cached = g_hash_table_lookup (w->class_ids, label);
  if (cached != NULL)
    return *cached;
  id = curator_db_ensure_class (w->db, label, error);
  if (id <= 0)
    return -1;
  cached = g_new (gint64, 1);
  *cached = id;
  g_hash_table_insert (w->class_ids, g_strdup (label), cached);
  return id;
}

static gboolean
writer_flush (Writer *w, GError **error)
{
  if (w->in_batch == 0)
    return TRUE;
  w->in_batch = 0;
  return curator_db_commit (w->db, error);
}

static gboolean
writer_put (Writer *w, CuratorDbSample *sample, GError **error)
{
  if (w->in_batch == 0 && !curator_db_begin (w->db, error))
    return FALSE;
  if (!curator_db_put_sample (w->db, sample, error))
    {
      curator_db_rollback (w->db);
      w->in_batch = 0;
      return FALSE;
    }
  if (++w->in_batch >= BATCH_SIZE)
    return writer_flush (w, error);
  return TRUE;
}

static void
sample_take_facts (CuratorDbSample *s, CuratorImageFacts *f)
{
  g_free (s->file_hash);
  s->file_hash = g_strdup (f->file_hash);
  g_free (s->pixel_hash);
  s->pixel_hash = g_strdup (f->pixel_hash);
  s->phash = f->phash;
  s->width = f->info.width;
  s->height = f->info.height;
  s->channels = f->info.channels;
  g_free (s->format);
  s->format = g_strdup (curator_image_format_to_string (f->info.format));
  s->status = CURATOR_SAMPLE_OK;
  g_clear_pointer (&s->reason, g_free);
  s->luma_p05 = f->luma_p05;
  s->luma_p50 = f->luma_p50;
  s->luma_p95 = f->luma_p95;
  s->contrast = f->contrast;
  s->entropy = f->entropy;
  s->blur = f->blur;
  s->is_grey = f->is_grey;
}

/* Writes the result of one candidate: @job is NULL when nothing had to be
 * read (only the label or split may have changed). */
static gboolean
writer_finish (Writer *w, Candidate *c, Job *job, GError **error)
{
  CuratorDbSample *known = g_hash_table_lookup (w->known, c->path);
  g_autoptr(CuratorDbSample) s = curator_db_sample_new ();
  gint64 label_id = writer_class_id (w, c->label, error);
  gboolean label_changed;

  if (label_id < 0)
    return FALSE;

  label_changed = known != NULL &&
                  (known->given_label != label_id || g_strcmp0 (known->split, c->split) != 0);

  if (known != NULL)
    {
      /* Start from what the project holds; the file facts are replaced below
       * only when the file was read. */
      g_autoptr(CuratorDbSample) copy = curator_db_get_sample (w->db, known->id, error);

      if (copy == NULL)
        return FALSE;
      curator_db_sample_free (g_steal_pointer (&s));
      s = g_steal_pointer (&copy);
    }
  else
    s->path = g_strdup (c->path);

  s->given_label = label_id;
  g_free (s->split);
  s->split = g_strdup (c->split);

  if (c->problem != NULL)
    {
      s->status = CURATOR_SAMPLE_CORRUPT;
      g_free (s->reason);
      s->reason = g_strdup (c->problem);
      w->report->n_corrupt++;
      g_ptr_array_add (w->report->problems, g_strdup_printf ("%s: %s", c->path, c->problem));
    }
  else if (job == NULL || job->unchanged)
    {
      /* The bytes are what the project holds (same size and mtime, or the
       * same hash): no decoding. Only the label, split or mtime may differ. */
      if (job != NULL)
        {
          s->n_bytes = job->n_bytes;
          s->mtime_us = job->mtime_us;
        }
      if (label_changed)
        w->report->n_relabelled++;
      else
        w->report->n_unchanged++;
      if (job == NULL && !label_changed)
        return TRUE;
    }
  else
    {
      s->n_bytes = job->n_bytes;
      s->mtime_us = job->mtime_us;
      s->indexed_us = g_get_real_time ();
      w->report->n_decoded++;
      if (known == NULL)
        w->report->n_added++;
      else
        w->report->n_changed++;

      if (job->facts != NULL)
        {
          CuratorImageFacts *f = job->facts;

          sample_take_facts (s, f);
          if (!curator_db_has_thumbnail (w->db, f->pixel_hash))
            {
              if (w->in_batch == 0 && !curator_db_begin (w->db, error))
                return FALSE;
              w->in_batch++;
              if (!curator_db_put_thumbnail (w->db, f->pixel_hash, f->thumb_format,
                                             f->thumb_width, f->thumb_height, f->thumb, error))
                {
                  curator_db_rollback (w->db);
                  w->in_batch = 0;
                  return FALSE;
                }
            }
        }
      else
        {
          s->status = CURATOR_SAMPLE_CORRUPT;
          g_free (s->reason);
          s->reason = g_strdup (job->error != NULL ? job->error->message : "unreadable");
          g_clear_pointer (&s->file_hash, g_free);
          g_clear_pointer (&s->pixel_hash, g_free);
          w->report->n_corrupt++;
          g_ptr_array_add (w->report->problems, g_strdup_printf ("%s: %s", c->path, s->reason));
        }
    }
  return writer_put (w, s, error);
}

void
curator_index_report_clear (CuratorIndexReport *report)
{
  g_clear_pointer (&report->problems, g_ptr_array_unref);
  memset (report, 0, sizeof *report);
}

static gint64
stat_mtime_us (const GStatBuf *st)
{
  return (gint64) st->st_mtim.tv_sec * G_USEC_PER_SEC + st->st_mtim.tv_nsec / 1000;
}

static void
report_progress (CuratorProgressFunc progress, gpointer data, gint64 *last_us,
                 guint done, guint total, gboolean force)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *message = NULL;

  if (progress == NULL || (!force && now - *last_us < PROGRESS_INTERVAL_US))
    return;
  *last_us = now;
  message = g_strdup_printf ("Indexed %u of %u files", done, total);
  progress (total > 0 ? (double) done / total : 1.0, message, data);
}

gboolean
curator_index_run (CuratorDb                  *db,
                   const CuratorIndexOptions  *options,
                   CuratorIndexReport         *report,
                   GCancellable               *cancellable,
                   CuratorProgressFunc         progress,
                   gpointer                    progress_data,
                   GError                    **error)
{
  g_autofree char *root = NULL;
  g_autoptr(GPtrArray) candidates = NULL;
  g_autoptr(GPtrArray) known_list = NULL;
  g_autoptr(GHashTable) known = NULL;
  g_autoptr(GHashTable) class_ids = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GAsyncQueue) done = NULL;
  GThreadPool *thread_pool = NULL;
  Job **jobs = NULL;
  Pool pool;
  Writer writer = { 0 };
  guint next_submit = 0, next_write = 0, in_flight = 0;
  gint64 last_progress = 0;
  gboolean ok = FALSE;
  GError *local_error = NULL;
  int n_threads;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (options != NULL && options->root != NULL, FALSE);
  g_return_val_if_fail (report != NULL, FALSE);

  memset (report, 0, sizeof *report);
  report->problems = g_ptr_array_new_with_free_func (g_free);

  root = realpath (options->root, NULL);
  if (root == NULL || !g_file_test (root, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                   "The dataset folder %s does not exist or is not a folder", options->root);
      return FALSE;
    }

  /* Phase 1. */
  if (options->manifest != NULL)
    {
      candidates = list_from_manifest (root, options->manifest, report->problems, error);
      if (candidates == NULL)
        return FALSE;
    }
  else
    {
      g_autoptr(CuratorPathRoot) checked_root = curator_path_root_new (root, error);
      Walk walk = { root, checked_root, g_ptr_array_new_with_free_func (candidate_free),
                    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
                    report->problems, cancellable };

      if (checked_root == NULL)
        return FALSE;
      candidates = walk.candidates;
      ok = walk_folder (&walk, "", 0, NULL, NULL, error);
      g_hash_table_unref (walk.visited);
      if (!ok)
        return FALSE;
      ok = FALSE;
    }
  g_ptr_array_sort (candidates, candidate_compare);
  report->n_files = candidates->len;

  if (!curator_db_set_setting (db, "root", root, error))
    return FALSE;
  if (!curator_db_set_setting (db, "manifest", options->manifest, error))
    return FALSE;

  known_list = curator_db_list_samples (db, NULL, error);
  if (known_list == NULL)
    return FALSE;
  known = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < known_list->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (known_list, i);
      g_hash_table_insert (known, s->path, s);
    }

  class_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  writer = (Writer) { db, report, class_ids, known, 0 };

  done = g_async_queue_new ();
  pool.done = done;
  pool.cancellable = cancellable;
  n_threads = options->n_threads > 0 ? options->n_threads : (int) g_get_num_processors ();
  thread_pool = g_thread_pool_new (job_run, &pool, n_threads, FALSE, NULL);
  jobs = g_new0 (Job *, candidates->len + 1);

  /* Phases 2 and 3 interleaved: keep the pool fed up to the window, write
   * results in candidate order as they become ready. jobs[i] is NULL for a
   * candidate that needs no reading; it is written when its turn comes. */
  while (next_write < candidates->len)
    {
      Job *job;
      gboolean stop = FALSE;

      while (next_submit < candidates->len && next_submit < next_write + WINDOW_SIZE &&
             !g_cancellable_is_cancelled (cancellable))
        {
          Candidate *c = g_ptr_array_index (candidates, next_submit);
          CuratorDbSample *k = g_hash_table_lookup (known, c->path);
          g_autofree char *abs = g_build_filename (root, c->path, NULL);
          GStatBuf st;

          g_hash_table_add (seen, c->path);
          if (c->problem == NULL && g_stat (abs, &st) != 0)
            c->problem = g_strdup_printf ("cannot read file: %s", g_strerror (errno));

          /* A corrupt file with the same size and mtime stays corrupt
           * without being read again. */
          if (c->problem == NULL &&
              (options->reread || k == NULL || k->status == CURATOR_SAMPLE_MISSING ||
               k->n_bytes != (gint64) st.st_size || k->mtime_us != stat_mtime_us (&st)))
            {
              job = g_new0 (Job, 1);
              job->index = next_submit;
              job->abs_path = g_steal_pointer (&abs);
              job->n_bytes = st.st_size;
              job->mtime_us = stat_mtime_us (&st);
              if (k != NULL && k->status == CURATOR_SAMPLE_OK && k->file_hash != NULL && !options->reread)
                {
                  job->kind = JOB_CHECK;
                  job->old_hash = g_strdup (k->file_hash);
                }
              else
                job->kind = JOB_DECODE;
              jobs[next_submit] = job;
              in_flight++;
              g_thread_pool_push (thread_pool, job, NULL);
            }
          next_submit++;
        }

      /* Write everything that is ready, in order. */
      while (next_write < next_submit)
        {
          Candidate *c = g_ptr_array_index (candidates, next_write);
          job = jobs[next_write];

          if (job != NULL && !job->finished)
            break;  /* still being read */
          if (job != NULL && job->cancelled)
            {
              stop = TRUE;
              break;
            }
          if (!writer_finish (&writer, c, job, &local_error))
            goto out;
          g_clear_pointer (&jobs[next_write], job_free);
          next_write++;
        }

      report_progress (progress, progress_data, &last_progress, next_write, candidates->len, FALSE);

      if (stop || (g_cancellable_is_cancelled (cancellable) && next_write == next_submit))
        break;
      if (in_flight == 0)
        continue;  /* nothing to wait for: submit or write more */

      job = g_async_queue_timeout_pop (done, G_USEC_PER_SEC / 10);
      if (job != NULL)
        {
          in_flight--;
          job->finished = TRUE;
        }
    }

  if (!writer_flush (&writer, &local_error))
    goto out;

  if (g_cancellable_is_cancelled (cancellable) && next_write < candidates->len)
    {
      g_set_error (&local_error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED,
                   "Indexing cancelled after %u of %u files; run it again to continue",
                   next_write, candidates->len);
      goto out;
    }

  /* Everything listed was written: what the project knows and the dataset no
   * longer has is missing. */
  for (guint i = 0; i < known_list->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (known_list, i);

      if (s->status == CURATOR_SAMPLE_MISSING || g_hash_table_contains (seen, s->path))
        continue;
      if (writer.in_batch == 0 && !curator_db_begin (db, &local_error))
        goto out;
      writer.in_batch++;
      if (!curator_db_mark_missing (db, s->id,
                                    options->manifest != NULL ? "not listed in the manifest"
                                                              : "file no longer in the dataset",
                                    &local_error))
        {
          curator_db_rollback (db);
          writer.in_batch = 0;
          goto out;
        }
      report->n_missing++;
    }
  if (!writer_flush (&writer, &local_error))
    goto out;

  report_progress (progress, progress_data, &last_progress, next_write, candidates->len, TRUE);
  ok = TRUE;

out:
  if (writer.in_batch > 0)
    {
      /* Keep what is complete: an error mid-batch was rolled back already;
       * a cancellation commits the finished samples. */
      if (!curator_db_commit (db, local_error == NULL ? &local_error : NULL))
        curator_db_rollback (db);
    }
  /* Drop jobs not started, wait for the running ones; every job is owned by
   * jobs[], whatever state it reached. */
  g_thread_pool_free (thread_pool, TRUE, TRUE);
  for (guint i = 0; i < candidates->len; i++)
    job_free (jobs[i]);
  g_free (jobs);
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return ok;
}

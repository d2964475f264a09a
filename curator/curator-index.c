/* curator-index.c: the indexer.
 *
 * Three phases. (1) List the candidates through an importer of the plugin
 * registry: "imagefolder" (the walk of class folders below, which is that
 * built-in importer's code) or "csv" with the manifest, giving (relative
 * path, label, split), then sorted by path. (2) Hand
 * them in chunks to a thread pool; a worker looks at each file (a known one
 * by size and mtime first), reads it once, and unless its bytes turn out
 * unchanged decodes it and computes every fact. Workers do everything but
 * SQLite. (3) The calling thread writes results in candidate order (a
 * reorder window), in few large transactions, then marks vanished samples
 * missing — only after a complete pass, so a cancelled run never marks
 * anything missing wrongly. */
#include "curator-config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "curator-image.h"
#include "curator-index.h"
#include "curator-path.h"
#include "curator-plugins.h"

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

/* A folder entry as read: its d_type (DT_UNKNOWN when the file system does
 * not say) in the first byte, then its name. */
static char *
folder_entry_new (unsigned char  type,
                  const char    *name)
{
  gsize n = strlen (name);
  char *entry = g_malloc (n + 2);

  entry[0] = (char) type;
  memcpy (entry + 1, name, n + 1);
  return entry;
}

static int
folder_entry_compare (gconstpointer a, gconstpointer b)
{
  /* g_ptr_array_sort passes pointers to the elements. */
  return strcmp (*(const char *const *) a + 1, *(const char *const *) b + 1);
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

/* ---- phase 1: the walk (the imagefolder importer) ------------------------- */

typedef struct {
  const char *root;
  CuratorPathRoot *checked_root; /* resolves names read from disk, byte for byte */
  CuratorImportEmit emit;
  void       *emit_data;
  gboolean    stopped;      /* emit asked to stop */
  GHashTable *visited;      /* "dev:ino" of folders walked, against symlink loops */
  const CuratorPluginContext *ctx;
} Walk;

static void
walk_problem (Walk *walk, char *message)
{
  if (walk->ctx->warn != NULL)
    walk->ctx->warn (walk->ctx->host_data, message);
  g_free (message);
}

/* FALSE when the host wants no more. */
static gboolean
walk_add (Walk *walk, const char *rel, const char *label, const char *split)
{
  if (walk->emit (walk->emit_data, rel, label, split) != 0)
    walk->stopped = TRUE;
  return !walk->stopped;
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
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GStatBuf st;
  DIR *dir;
  struct dirent *entry;

  if (g_stat (abs, &st) != 0)
    {
      walk_problem (walk, g_strdup_printf ("%s: cannot read folder: %s", *rel ? rel : ".", g_strerror (errno)));
      return TRUE;
    }
  {
    char *key = g_strdup_printf ("%ju:%ju", (uintmax_t) st.st_dev, (uintmax_t) st.st_ino);

    if (!g_hash_table_add (walk->visited, key))
      {
        walk_problem (walk, g_strdup_printf ("%s: folder already walked (symlink loop?), skipped", rel));
        return TRUE;
      }
  }

  /* readdir rather than GDir: its d_type spares an lstat per file on the
   * file systems that fill it in, which is nearly all of them. */
  dir = opendir (abs);
  if (dir == NULL)
    {
      int saved_errno = errno;

      if (depth == 0)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                       "Cannot read the dataset folder %s: %s", walk->root, g_strerror (saved_errno));
          return FALSE;
        }
      walk_problem (walk, g_strdup_printf ("%s: cannot read folder: %s", rel, g_strerror (saved_errno)));
      return TRUE;
    }
  while ((entry = readdir (dir)) != NULL)
    if (entry->d_name[0] != '.')
      g_ptr_array_add (names, folder_entry_new (entry->d_type, entry->d_name));
  closedir (dir);
  g_ptr_array_sort (names, folder_entry_compare);

  for (guint i = 0; i < names->len; i++)
    {
      const char *child = (const char *) g_ptr_array_index (names, i) + 1;
      unsigned char type = *(const unsigned char *) g_ptr_array_index (names, i);
      g_autofree char *child_rel = *rel ? g_strconcat (rel, "/", child, NULL) : g_strdup (child);
      g_autofree char *child_abs = NULL;
      GStatBuf lst;
      gboolean is_dir;

      if (type == DT_REG)
        is_dir = FALSE;
      else if (type == DT_DIR)
        is_dir = TRUE;
      else
        {
          /* A symbolic link, or a file system that does not say. */
          child_abs = g_build_filename (walk->root, child_rel, NULL);
          if (g_lstat (child_abs, &lst) != 0)
            continue;
          if (S_ISLNK (lst.st_mode))
            {
              g_autoptr(GError) link_error = NULL;
              g_autofree char *resolved = curator_path_root_resolve_native (walk->checked_root,
                                                                            child_rel, &link_error);

              if (resolved == NULL)
                {
                  /* A picture is still a candidate, recorded as unreadable
                   * with this reason: the indexer checks every symbolic
                   * link an importer lists against the root again. */
                  if (has_image_suffix (child))
                    {
                      if (!walk_add (walk, child_rel, NULL, NULL))
                        return FALSE;
                    }
                  else
                    walk_problem (walk, g_strdup_printf ("%s: %s", child_rel, link_error->message));
                  continue;
                }
              if (g_stat (child_abs, &st) != 0)
                continue;
              is_dir = S_ISDIR (st.st_mode);
            }
          else
            is_dir = S_ISDIR (lst.st_mode);
        }

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

          if (!walk_add (walk, child_rel, in_split_root ? NULL : label, split))
            return FALSE;
        }
    }
  return TRUE;
}

gboolean
_curator_index_walk (const CuratorPluginContext *ctx,
                     CuratorImportEmit           emit,
                     void                       *emit_data,
                     GError                    **error)
{
  g_autoptr(CuratorPathRoot) checked_root = NULL;
  g_autoptr(GHashTable) visited = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Walk walk = { ctx->root, NULL, emit, emit_data, FALSE, visited, ctx };

  g_return_val_if_fail (ctx->root != NULL && emit != NULL, FALSE);

  checked_root = curator_path_root_new (ctx->root, error);
  if (checked_root == NULL)
    return FALSE;
  walk.checked_root = checked_root;
  /* Stopped by the host is not a failure. */
  return walk_folder (&walk, "", 0, NULL, NULL, error) || walk.stopped;
}

/* How the listing of the importer reaches phase 2. */
typedef struct {
  GPtrArray    *candidates;
  GCancellable *cancellable;
} Listing;

static int
listing_emit (void *data, const char *path, const char *label, const char *split)
{
  Listing *listing = data;
  Candidate *c;

  if (g_cancellable_is_cancelled (listing->cancellable))
    return 1;
  if (path == NULL)
    return 0;
  c = g_new0 (Candidate, 1);
  c->path = g_strdup (path);
  c->label = label != NULL && *label != '\0' ? g_strdup (label) : NULL;
  c->split = split != NULL && *split != '\0' ? g_strdup (split) : NULL;
  g_ptr_array_add (listing->candidates, c);
  return 0;
}

/* ---- phase 2: the workers ------------------------------------------------ */

/* Candidates go to the workers in chunks of consecutive ones: one queue
 * round trip (two futex wake-ups) per chunk rather than per file, which
 * matters when a file takes 30 us. Everything but SQLite happens on the
 * workers, looking at the file included, so the writing thread does nothing
 * per file it need not do. */
#define CHUNK_SIZE 16

typedef enum {
  ITEM_UNCHANGED,   /* same size and mtime as the project says: not read */
  ITEM_SAME_BYTES,  /* size or mtime changed, but the bytes hash the same */
  ITEM_READ,        /* read: facts, or error */
  ITEM_PROBLEM,     /* cannot even be looked at: candidate->problem says why */
  ITEM_CANCELLED,   /* not looked at: the run was cancelled */
} ItemState;

typedef struct {
  /* set by the writing thread, read-only for the worker */
  Candidate             *candidate;  /* borrowed */
  const CuratorDbSample *known;      /* borrowed from the known list; NULL = new */
  /* set by the worker */
  ItemState              state;
  CuratorImageFacts     *facts;      /* ITEM_READ and decoded */
  GError                *error;      /* ITEM_READ and not decoded */
  gint64                 n_bytes;
  gint64                 mtime_us;
} Item;

typedef struct {
  guint    n_items;
  gboolean finished;   /* set by the writing thread when it pops the chunk */
  Item     items[CHUNK_SIZE];
} Chunk;

static void
chunk_free (Chunk *chunk)
{
  if (chunk == NULL)
    return;
  for (guint i = 0; i < chunk->n_items; i++)
    {
      g_clear_pointer (&chunk->items[i].facts, curator_image_facts_free);
      g_clear_error (&chunk->items[i].error);
    }
  g_free (chunk);
}

typedef struct {
  const char   *root;
  const CuratorPathRoot *checked_root;
  gboolean      reread;
  GAsyncQueue  *done;
  GCancellable *cancellable;
} Pool;

static gint64
stat_mtime_us (const GStatBuf *st)
{
  return (gint64) st->st_mtim.tv_sec * G_USEC_PER_SEC + st->st_mtim.tv_nsec / 1000;
}

/* Looks at one candidate. A new file is read straight away (its size and
 * mtime come with the read); a known one is looked at (stat) first and read
 * only when its size or mtime changed. */
static void
item_run (Item       *item,
          const Pool *pool)
{
  Candidate *c = item->candidate;
  const CuratorDbSample *k = item->known;
  g_autofree char *abs = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GStatBuf st;

  if (c->problem != NULL)
    {
      item->state = ITEM_PROBLEM;
      return;
    }
  abs = g_build_filename (pool->root, c->path, NULL);

  /* A symbolic link an importer listed may lead out of the root (the walk
   * lists such pictures so they are recorded): checked here, on the
   * workers, and only for links, so a plain file costs one lstat. */
  if (g_lstat (abs, &st) == 0 && S_ISLNK (st.st_mode))
    {
      g_autoptr(GError) link_error = NULL;
      g_autofree char *resolved = curator_path_root_resolve_native (pool->checked_root, c->path,
                                                                    &link_error);

      if (resolved == NULL)
        {
          /* Only this worker touches the candidate until its chunk is done. */
          c->problem = g_strdup (link_error->message);
          item->state = ITEM_PROBLEM;
          return;
        }
    }

  /* A corrupt file with the same size and mtime stays corrupt without being
   * read again. */
  if (k != NULL && !pool->reread)
    {
      if (g_stat (abs, &st) != 0)
        goto stat_failed;
      item->n_bytes = st.st_size;
      item->mtime_us = stat_mtime_us (&st);
      if (k->status != CURATOR_SAMPLE_MISSING &&
          k->n_bytes == item->n_bytes && k->mtime_us == item->mtime_us)
        {
          item->state = ITEM_UNCHANGED;
          return;
        }
    }

  item->state = ITEM_READ;
  bytes = curator_image_read_file (abs, &item->mtime_us, &item->error);
  if (bytes == NULL)
    {
      /* Recorded as corrupt, with the size and mtime it has, so that the
       * next run leaves it alone unless it changes; gone altogether, it is
       * a problem like any file that cannot be looked at. */
      if (g_stat (abs, &st) != 0)
        goto stat_failed;
      item->n_bytes = st.st_size;
      item->mtime_us = stat_mtime_us (&st);
      return;
    }
  item->n_bytes = (gint64) g_bytes_get_size (bytes);

  if (!pool->reread && k != NULL && k->status == CURATOR_SAMPLE_OK && k->file_hash != NULL)
    {
      gsize n;
      const guint8 *data = g_bytes_get_data (bytes, &n);
      g_autofree char *hash = curator_image_file_hash (data, n);

      if (strcmp (hash, k->file_hash) == 0)
        {
          item->state = ITEM_SAME_BYTES;
          return;
        }
    }
  item->facts = curator_image_facts_from_gbytes (bytes, &item->error);
  return;

stat_failed:
  /* Only this worker touches the candidate until its chunk is done. */
  c->problem = g_strdup_printf ("cannot read file: %s", g_strerror (errno));
  g_clear_error (&item->error);
  item->state = ITEM_PROBLEM;
}

static void
chunk_run (gpointer data,
           gpointer user_data)
{
  Chunk *chunk = data;
  Pool *pool = user_data;

  for (guint i = 0; i < chunk->n_items; i++)
    {
      if (g_cancellable_is_cancelled (pool->cancellable))
        chunk->items[i].state = ITEM_CANCELLED;
      else
        item_run (&chunk->items[i], pool);
    }
  g_async_queue_push (pool->done, chunk);
}

/* ---- phase 3: writing ---------------------------------------------------- */

/* A transaction ends after this many samples or this long, whichever comes
 * first. Few, large transactions matter here: each commit rewrites every
 * page it dirtied, and the three indexes keyed by hashes get their entries
 * at random places, so a small batch rewrites nearly as many index pages as
 * it has samples. The time bound keeps progress visible to other readers
 * of the project and bounds the work a crash takes back. */
#define BATCH_MAX_SAMPLES 8192
#define BATCH_MAX_US      (G_USEC_PER_SEC / 2)

typedef struct {
  CuratorDb          *db;
  CuratorIndexReport *report;
  GHashTable         *class_ids;   /* name -> id (gint64 *) */
  GHashTable         *known_pixels; /* pixel hashes of the samples known at the start */
  GHashTable         *thumbs;      /* pixel hashes whose thumbnail this run wrote (owned) */
  gboolean            in_transaction;
  guint               n_in_batch;  /* samples written in the open transaction */
  gint64              batch_start_us;
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
  if (!w->in_transaction)
    return TRUE;
  w->in_transaction = FALSE;
  w->n_in_batch = 0;
  return curator_db_commit (w->db, error);
}

/* Makes sure a transaction is open for the next write. */
static gboolean
writer_begin (Writer *w, GError **error)
{
  if (w->in_transaction)
    return TRUE;
  if (!curator_db_begin (w->db, error))
    return FALSE;
  w->in_transaction = TRUE;
  w->batch_start_us = g_get_monotonic_time ();
  return TRUE;
}

/* Counts a write done inside the transaction and commits when the batch is
 * full. A failed write rolls the batch back: the project stays as the last
 * commit left it. */
static gboolean
writer_done (Writer *w, gboolean ok, GError **error)
{
  if (!ok)
    {
      curator_db_rollback (w->db);
      w->in_transaction = FALSE;
      w->n_in_batch = 0;
      return FALSE;
    }
  if (++w->n_in_batch >= BATCH_MAX_SAMPLES ||
      ((w->n_in_batch & 63) == 0 && g_get_monotonic_time () - w->batch_start_us >= BATCH_MAX_US))
    return writer_flush (w, error);
  return TRUE;
}

static gboolean
writer_put (Writer *w, CuratorDbSample *sample, GError **error)
{
  if (!writer_begin (w, error))
    return FALSE;
  return writer_done (w, curator_db_put_sample (w->db, sample, error), error);
}

/* Moves the facts' strings into @s: they are not needed twice. */
static void
sample_take_facts (CuratorDbSample *s, CuratorImageFacts *f)
{
  g_free (s->file_hash);
  s->file_hash = g_steal_pointer (&f->file_hash);
  g_free (s->pixel_hash);
  s->pixel_hash = g_steal_pointer (&f->pixel_hash);
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

/* Writes the result of one candidate. */
static gboolean
writer_finish (Writer *w, Item *item, GError **error)
{
  Candidate *c = item->candidate;
  const CuratorDbSample *known = item->known;
  g_autoptr(CuratorDbSample) s = NULL;
  gint64 label_id = writer_class_id (w, c->label, error);
  gboolean label_changed;

  if (label_id < 0)
    return FALSE;

  label_changed = known != NULL &&
                  (known->given_label != label_id || g_strcmp0 (known->split, c->split) != 0);

  /* Nothing to write: the commonest case of a second run. */
  if (item->state == ITEM_UNCHANGED && !label_changed)
    {
      w->report->n_unchanged++;
      return TRUE;
    }

  if (known != NULL)
    {
      /* Start from what the project holds; the file facts are replaced below
       * only when the file was read. */
      s = curator_db_get_sample (w->db, known->id, error);
      if (s == NULL)
        return FALSE;
    }
  else
    {
      s = curator_db_sample_new ();
      s->path = g_strdup (c->path);
    }

  s->given_label = label_id;
  g_free (s->split);
  s->split = g_strdup (c->split);

  if (item->state == ITEM_PROBLEM)
    {
      s->status = CURATOR_SAMPLE_CORRUPT;
      g_free (s->reason);
      s->reason = g_strdup (c->problem);
      w->report->n_corrupt++;
      g_ptr_array_add (w->report->problems, g_strdup_printf ("%s: %s", c->path, c->problem));
    }
  else if (item->state == ITEM_UNCHANGED || item->state == ITEM_SAME_BYTES)
    {
      /* The bytes are what the project holds (same size and mtime, or the
       * same hash): no decoding. Only the label, split or mtime may differ. */
      s->n_bytes = item->n_bytes;
      s->mtime_us = item->mtime_us;
      if (label_changed)
        w->report->n_relabelled++;
      else
        w->report->n_unchanged++;
    }
  else
    {
      g_assert (item->state == ITEM_READ);
      s->n_bytes = item->n_bytes;
      s->mtime_us = item->mtime_us;
      s->indexed_us = g_get_real_time ();
      w->report->n_decoded++;
      if (known == NULL)
        w->report->n_added++;
      else
        w->report->n_changed++;

      if (item->facts != NULL)
        {
          CuratorImageFacts *f = item->facts;

          /* One thumbnail per picture. Only a picture the project knew
           * before this run can have one already; anything else would be
           * an orphan of equal pixels, which writing replaces with its
           * equal. So no lookup for new pictures. */
          if (!g_hash_table_contains (w->thumbs, f->pixel_hash) &&
              (!g_hash_table_contains (w->known_pixels, f->pixel_hash) ||
               !curator_db_has_thumbnail (w->db, f->pixel_hash)))
            {
              if (!writer_begin (w, error))
                return FALSE;
              if (!curator_db_put_thumbnail (w->db, f->pixel_hash, f->thumb_format,
                                             f->thumb_width, f->thumb_height, f->thumb, error))
                return writer_done (w, FALSE, error);
              g_hash_table_add (w->thumbs, g_strdup (f->pixel_hash));
            }
          sample_take_facts (s, f);
        }
      else
        {
          s->status = CURATOR_SAMPLE_CORRUPT;
          g_free (s->reason);
          s->reason = g_strdup (item->error != NULL ? item->error->message : "unreadable");
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
  g_autoptr(CuratorPathRoot) checked_root = NULL;
  g_autoptr(GPtrArray) candidates = NULL;
  g_autoptr(GPtrArray) known_list = NULL;
  g_autoptr(GHashTable) known = NULL;
  g_autoptr(GHashTable) class_ids = NULL;
  g_autoptr(GHashTable) known_pixels = NULL;
  g_autoptr(GHashTable) thumbs = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GAsyncQueue) done = NULL;
  GThreadPool *thread_pool = NULL;
  Chunk **chunks = NULL;
  Pool pool;
  Writer writer = { 0 };
  guint n_chunks, next_submit = 0, next_write = 0, in_flight = 0;
  guint n_written = 0;
  gint64 last_progress = 0;
  gboolean ok = FALSE, stop = FALSE;
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

  /* Phase 1, through the registry as any importer. */
  checked_root = curator_path_root_new (root, error);
  if (checked_root == NULL)
    return FALSE;
  {
    g_autofree char *spec = options->manifest != NULL ? g_strconcat ("csv:", options->manifest, NULL)
                                                      : g_strdup ("imagefolder");
    Listing listing = { g_ptr_array_new_with_free_func (candidate_free), cancellable };

    candidates = listing.candidates;
    if (!curator_plugin_import_each (NULL, spec, root, listing_emit, &listing, report->problems, error))
      return FALSE;
    if (g_cancellable_set_error_if_cancelled (cancellable, error))
      return FALSE;
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
  known_pixels = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < known_list->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (known_list, i);
      g_hash_table_insert (known, s->path, s);
      if (s->pixel_hash != NULL)
        g_hash_table_add (known_pixels, s->pixel_hash);
    }

  class_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  thumbs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  writer = (Writer) { db, report, class_ids, known_pixels, thumbs, FALSE, 0, 0 };

  done = g_async_queue_new ();
  pool = (Pool) { root, checked_root, options->reread, done, cancellable };
  n_threads = options->n_threads > 0 ? options->n_threads : (int) g_get_num_processors ();
  thread_pool = g_thread_pool_new (chunk_run, &pool, n_threads, FALSE, NULL);
  n_chunks = (candidates->len + CHUNK_SIZE - 1) / CHUNK_SIZE;
  chunks = g_new0 (Chunk *, n_chunks + 1);

  /* Phases 2 and 3 interleaved: keep the pool fed up to the window, write
   * results in candidate order as they become ready. The window is topped up
   * after every chunk written, not after a run of them: the workers outpace
   * the writer on small files, so they would otherwise sit idle while it
   * catches up with a full window. */
  while (next_write < n_chunks && !stop)
    {
      Chunk *chunk;

      while (next_submit < n_chunks && next_submit < next_write + WINDOW_SIZE / CHUNK_SIZE &&
             !g_cancellable_is_cancelled (cancellable))
        {
          guint first = next_submit * CHUNK_SIZE;

          chunk = g_new0 (Chunk, 1);
          chunk->n_items = MIN (CHUNK_SIZE, candidates->len - first);
          for (guint i = 0; i < chunk->n_items; i++)
            {
              Candidate *c = g_ptr_array_index (candidates, first + i);

              chunk->items[i].candidate = c;
              chunk->items[i].known = g_hash_table_lookup (known, c->path);
            }
          chunks[next_submit++] = chunk;
          in_flight++;
          g_thread_pool_push (thread_pool, chunk, NULL);
        }

      while ((chunk = g_async_queue_try_pop (done)) != NULL)
        {
          in_flight--;
          chunk->finished = TRUE;
        }

      if (next_write < next_submit && chunks[next_write]->finished)
        {
          /* The next chunk in order is ready: write it. */
          chunk = chunks[next_write];
          for (guint i = 0; i < chunk->n_items && !stop; i++)
            {
              if (chunk->items[i].state == ITEM_CANCELLED)
                stop = TRUE;
              else if (!writer_finish (&writer, &chunk->items[i], &local_error))
                goto out;
              else
                n_written++;
            }
          if (!stop)
            {
              g_clear_pointer (&chunks[next_write], chunk_free);
              next_write++;
            }
          report_progress (progress, progress_data, &last_progress, n_written, candidates->len, FALSE);
          continue;
        }

      if (g_cancellable_is_cancelled (cancellable) && next_write == next_submit)
        break;
      if (in_flight == 0)
        continue;  /* nothing to wait for: submit or write more */

      chunk = g_async_queue_timeout_pop (done, G_USEC_PER_SEC / 10);
      if (chunk != NULL)
        {
          in_flight--;
          chunk->finished = TRUE;
        }
      report_progress (progress, progress_data, &last_progress, n_written, candidates->len, FALSE);
    }

  if (!writer_flush (&writer, &local_error))
    goto out;

  if (n_written < candidates->len)
    {
      g_set_error (&local_error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED,
                   "Indexing cancelled after %u of %u files; run it again to continue",
                   n_written, candidates->len);
      goto out;
    }

  /* Everything listed was written: what the project knows and the dataset no
   * longer has is missing. */
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < candidates->len; i++)
    g_hash_table_add (seen, ((Candidate *) g_ptr_array_index (candidates, i))->path);
  for (guint i = 0; i < known_list->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (known_list, i);

      if (s->status == CURATOR_SAMPLE_MISSING || g_hash_table_contains (seen, s->path))
        continue;
      if (!writer_begin (&writer, &local_error))
        goto out;
      if (!writer_done (&writer,
                        curator_db_mark_missing (db, s->id,
                                                 options->manifest != NULL
                                                 ? "not listed in the manifest"
                                                 : "file no longer in the dataset",
                                                 &local_error),
                        &local_error))
        goto out;
      report->n_missing++;
    }
  if (!writer_flush (&writer, &local_error))
    goto out;

  report_progress (progress, progress_data, &last_progress, n_written, candidates->len, TRUE);
  ok = TRUE;

out:
  if (writer.in_transaction)
    {
      /* Keep what is complete: an error mid-batch was rolled back already;
       * a cancellation commits the finished samples. */
      if (!curator_db_commit (db, local_error == NULL ? &local_error : NULL))
        curator_db_rollback (db);
    }
  /* Drop chunks not started, wait for the running ones; every chunk is owned
   * by chunks[], whatever state it reached. */
  g_thread_pool_free (thread_pool, TRUE, TRUE);
  for (guint i = 0; i < n_chunks; i++)
    chunk_free (chunks[i]);
  g_free (chunks);
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return ok;
}

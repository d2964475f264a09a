/* curator-thumbnail-loader.c: see curator-thumbnail-loader.h.
 *
 * Threads: `pool` runs decode_job on its workers; `lock` guards `wanted`,
 * `results` and `idle_id`, which is what workers and the main thread share.
 * Everything else is main-thread state. */
#include "curator-thumbnail-loader.h"

#define N_WORKERS 2

static void queue_job (CuratorThumbnailLoader *self, const char *key);

typedef struct {
  char       *key;
  GBytes     *bytes;     /* encoded thumbnail */
  guint64     sequence;  /* newer requests sort first */
  guint       generation;
  CuratorRgb *rgb;       /* the result; NULL when it did not decode */
} Job;

typedef struct {
  CuratorThumbnailReadyFunc func;
  gpointer                  user_data;
} Waiter;

typedef struct {
  char       *key;
  GdkTexture *texture;
  gsize       n_bytes;
  GList      *link;      /* in lru, head = most recent */
} Entry;

struct _CuratorThumbnailLoader
{
  GObject parent_instance;

  /* borrowed */
  CuratorDb   *db;

  /* owned, main thread */
  GHashTable  *cache;     /* key -> Entry */
  GQueue       lru;       /* of Entry */
  gsize        cache_bytes;
  GHashTable  *broken;    /* keys without a usable thumbnail (set) */
  GHashTable  *pending;   /* keys queued or decoding (set) */
  GHashTable  *waiters;   /* key -> GArray of Waiter */
  guint64      sequence;
  GThreadPool *pool;

  /* shared with workers, under lock */
  GMutex       lock;
  GHashTable  *wanted;    /* key -> number of cells showing it */
  GQueue       results;   /* finished Jobs */
  guint        idle_id;
  guint        generation;
};

G_DEFINE_FINAL_TYPE (CuratorThumbnailLoader, curator_thumbnail_loader, G_TYPE_OBJECT)

enum { SIGNAL_READY, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
job_free (Job *job)
{
  g_free (job->key);
  g_clear_pointer (&job->bytes, g_bytes_unref);
  g_clear_pointer (&job->rgb, curator_rgb_free);
  g_free (job);
}

static void
entry_free (Entry *entry)
{
  g_free (entry->key);
  g_clear_object (&entry->texture);
  g_free (entry);
}

GdkTexture *
curator_texture_new_from_rgb (CuratorRgb *rgb)
{
  g_autoptr(GBytes) bytes = NULL;
  GdkTexture *texture;

  g_return_val_if_fail (rgb != NULL, NULL);

  bytes = g_bytes_new_take (g_steal_pointer (&rgb->pixels), (gsize) rgb->width * rgb->height * 3);
  texture = gdk_memory_texture_new (rgb->width, rgb->height, GDK_MEMORY_R8G8B8, bytes,
                                    (gsize) rgb->width * 3);
  curator_rgb_free (rgb);
  return texture;
}

/* ---- the main-thread side of results -------------------------------------- */

/* Tells @key's waiters, then everyone else (::ready). */
static void
announce (CuratorThumbnailLoader *self, const char *key, GdkTexture *texture)
{
  gpointer stolen_key = NULL, stolen = NULL;

  /* stolen first: a callback may request or release again */
  if (g_hash_table_steal_extended (self->waiters, key, &stolen_key, &stolen))
    {
      g_autoptr(GArray) waiters = stolen;

      for (guint i = 0; i < waiters->len; i++)
        {
          Waiter *w = &g_array_index (waiters, Waiter, i);

          w->func (self, key, texture, w->user_data);
        }
      g_free (stolen_key);
    }
  g_signal_emit (self, signals[SIGNAL_READY], 0, key, texture);
}

static void
cache_evict (CuratorThumbnailLoader *self)
{
  while (self->cache_bytes > CURATOR_THUMBNAIL_CACHE_BYTES && self->lru.tail != NULL)
    {
      Entry *entry = self->lru.tail->data;

      g_queue_delete_link (&self->lru, entry->link);
      self->cache_bytes -= entry->n_bytes;
      g_hash_table_remove (self->cache, entry->key);
      entry_free (entry);
    }
}

static void
cache_insert (CuratorThumbnailLoader *self, const char *key, GdkTexture *texture)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->key = g_strdup (key);
  entry->texture = g_object_ref (texture);
  entry->n_bytes = (gsize) gdk_texture_get_width (texture) * gdk_texture_get_height (texture) * 3;
  g_queue_push_head (&self->lru, entry);
  entry->link = self->lru.head;
  self->cache_bytes += entry->n_bytes;
  g_hash_table_replace (self->cache, entry->key, entry);
  cache_evict (self);
}

static gboolean
deliver_results (gpointer user_data)
{
  CuratorThumbnailLoader *self = user_data;
  GQueue results = G_QUEUE_INIT;
  guint generation;

  g_mutex_lock (&self->lock);
  results = self->results;
  g_queue_init (&self->results);
  self->idle_id = 0;
  generation = self->generation;
  g_mutex_unlock (&self->lock);

  for (Job *job; (job = g_queue_pop_head (&results)) != NULL; job_free (job))
    {
      g_autoptr(GdkTexture) texture = NULL;

      if (job->generation != generation)
        continue;
      g_hash_table_remove (self->pending, job->key);
      if (job->rgb != NULL)
        {
          texture = curator_texture_new_from_rgb (g_steal_pointer (&job->rgb));
          cache_insert (self, job->key, texture);
        }
      else if (job->bytes != NULL)
        g_hash_table_add (self->broken, g_strdup (job->key));
      else
        {
          gboolean wanted;

          /* Skipped because nobody wanted it then; a cell may have asked
           * again since, while this job still counted as pending. */
          g_mutex_lock (&self->lock);
          wanted = GPOINTER_TO_UINT (g_hash_table_lookup (self->wanted, job->key)) > 0;
          g_mutex_unlock (&self->lock);
          if (wanted && self->db != NULL)
            queue_job (self, job->key);
          continue;
        }
      announce (self, job->key, texture);
    }
  return G_SOURCE_REMOVE;
}

/* ---- workers -------------------------------------------------------------- */

static void
decode_job (gpointer data, gpointer user_data)
{
  CuratorThumbnailLoader *self = user_data;
  Job *job = data;
  gboolean wanted;

  g_mutex_lock (&self->lock);
  wanted = job->generation == self->generation
           && GPOINTER_TO_UINT (g_hash_table_lookup (self->wanted, job->key)) > 0;
  g_mutex_unlock (&self->lock);

  if (wanted)
    {
      g_autoptr(GError) error = NULL;

      job->rgb = curator_image_decode (g_bytes_get_data (job->bytes, NULL),
                                       g_bytes_get_size (job->bytes), 0, NULL, &error);
      if (job->rgb == NULL)
        g_debug ("thumbnail %s does not decode: %s", job->key, error->message);
    }
  else
    g_clear_pointer (&job->bytes, g_bytes_unref);

  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->results, job);
  if (self->idle_id == 0)
    self->idle_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, deliver_results, self, NULL);
  g_mutex_unlock (&self->lock);
}

static int
newest_first (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Job *x = a, *y = b;

  return (x->sequence < y->sequence) - (x->sequence > y->sequence);
}

/* ---- API ------------------------------------------------------------------ */

static void
forget_everything (CuratorThumbnailLoader *self)
{
  g_mutex_lock (&self->lock);
  self->generation++;
  g_hash_table_remove_all (self->wanted);
  g_mutex_unlock (&self->lock);

  g_hash_table_remove_all (self->cache);
  g_queue_clear_full (&self->lru, (GDestroyNotify) entry_free);
  self->cache_bytes = 0;
  g_hash_table_remove_all (self->broken);
  g_hash_table_remove_all (self->pending);
  g_hash_table_remove_all (self->waiters);
}

void
curator_thumbnail_loader_set_db (CuratorThumbnailLoader *self, CuratorDb *db)
{
  g_return_if_fail (CURATOR_IS_THUMBNAIL_LOADER (self));

  self->db = db;
  forget_everything (self);
}

GdkTexture *
curator_thumbnail_loader_lookup (CuratorThumbnailLoader *self, const char *key)
{
  Entry *entry;

  g_return_val_if_fail (CURATOR_IS_THUMBNAIL_LOADER (self), NULL);

  if (key == NULL)
    return NULL;
  entry = g_hash_table_lookup (self->cache, key);
  if (entry == NULL)
    return NULL;
  g_queue_unlink (&self->lru, entry->link);
  g_queue_push_head_link (&self->lru, entry->link);
  return entry->texture;
}

gboolean
curator_thumbnail_loader_is_broken (CuratorThumbnailLoader *self, const char *key)
{
  g_return_val_if_fail (CURATOR_IS_THUMBNAIL_LOADER (self), TRUE);
  return key == NULL || g_hash_table_contains (self->broken, key);
}

/* Reads @key's bytes from the project and hands them to the workers. */
static void
queue_job (CuratorThumbnailLoader *self, const char *key)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes;
  Job *job;

  bytes = curator_db_get_thumbnail (self->db, key, NULL, &error);
  if (bytes == NULL)
    {
      if (error != NULL)
        g_warning ("Cannot read thumbnail %s: %s", key, error->message);
      g_hash_table_add (self->broken, g_strdup (key));
      announce (self, key, NULL);
      return;
    }

  job = g_new0 (Job, 1);
  job->key = g_strdup (key);
  job->bytes = bytes;
  job->sequence = ++self->sequence;
  job->generation = self->generation;
  g_hash_table_add (self->pending, g_strdup (key));
  g_thread_pool_push (self->pool, job, NULL);
}

void
curator_thumbnail_loader_request (CuratorThumbnailLoader *self, const char *key)
{
  guint n;

  g_return_if_fail (CURATOR_IS_THUMBNAIL_LOADER (self));
  g_return_if_fail (key != NULL);

  g_mutex_lock (&self->lock);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (self->wanted, key));
  g_hash_table_insert (self->wanted, g_strdup (key), GUINT_TO_POINTER (n + 1));
  g_mutex_unlock (&self->lock);

  if (self->db == NULL || g_hash_table_contains (self->cache, key)
      || g_hash_table_contains (self->broken, key) || g_hash_table_contains (self->pending, key))
    return;
  queue_job (self, key);
}

void
curator_thumbnail_loader_release (CuratorThumbnailLoader *self, const char *key)
{
  guint n;

  g_return_if_fail (CURATOR_IS_THUMBNAIL_LOADER (self));

  if (key == NULL)
    return;
  g_mutex_lock (&self->lock);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (self->wanted, key));
  if (n <= 1)
    g_hash_table_remove (self->wanted, key);
  else
    g_hash_table_insert (self->wanted, g_strdup (key), GUINT_TO_POINTER (n - 1));
  g_mutex_unlock (&self->lock);
}

void
curator_thumbnail_loader_request_full (CuratorThumbnailLoader    *self,
                                       const char                *key,
                                       CuratorThumbnailReadyFunc  func,
                                       gpointer                   user_data)
{
  GArray *waiters;
  Waiter w = { func, user_data };

  g_return_if_fail (CURATOR_IS_THUMBNAIL_LOADER (self));
  g_return_if_fail (key != NULL && func != NULL);

  waiters = g_hash_table_lookup (self->waiters, key);
  if (waiters == NULL)
    {
      waiters = g_array_sized_new (FALSE, FALSE, sizeof (Waiter), 1);
      g_hash_table_insert (self->waiters, g_strdup (key), waiters);
    }
  g_array_append_val (waiters, w);
  /* may announce at once (a thumbnail the project lacks) */
  curator_thumbnail_loader_request (self, key);
}

void
curator_thumbnail_loader_release_full (CuratorThumbnailLoader *self, const char *key, gpointer user_data)
{
  GArray *waiters;

  g_return_if_fail (CURATOR_IS_THUMBNAIL_LOADER (self));

  if (key == NULL)
    return;
  waiters = g_hash_table_lookup (self->waiters, key);
  for (guint i = 0; waiters != NULL && i < waiters->len; i++)
    if (g_array_index (waiters, Waiter, i).user_data == user_data)
      {
        g_array_remove_index_fast (waiters, i);
        break;
      }
  if (waiters != NULL && waiters->len == 0)
    g_hash_table_remove (self->waiters, key);
  curator_thumbnail_loader_release (self, key);
}

guint
curator_thumbnail_loader_get_n_cached (CuratorThumbnailLoader *self)
{
  g_return_val_if_fail (CURATOR_IS_THUMBNAIL_LOADER (self), 0);
  return g_hash_table_size (self->cache);
}

/* ---- GObject -------------------------------------------------------------- */

static void
curator_thumbnail_loader_dispose (GObject *object)
{
  CuratorThumbnailLoader *self = CURATOR_THUMBNAIL_LOADER (object);

  if (self->pool != NULL)
    {
      /* drop queued jobs, wait for the running ones */
      g_thread_pool_free (g_steal_pointer (&self->pool), TRUE, TRUE);
    }
  g_mutex_lock (&self->lock);
  g_clear_handle_id (&self->idle_id, g_source_remove);
  g_queue_clear_full (&self->results, (GDestroyNotify) job_free);
  g_mutex_unlock (&self->lock);
  self->db = NULL;
  G_OBJECT_CLASS (curator_thumbnail_loader_parent_class)->dispose (object);
}

static void
curator_thumbnail_loader_finalize (GObject *object)
{
  CuratorThumbnailLoader *self = CURATOR_THUMBNAIL_LOADER (object);

  forget_everything (self);
  g_hash_table_unref (self->cache);
  g_hash_table_unref (self->broken);
  g_hash_table_unref (self->pending);
  g_hash_table_unref (self->waiters);
  g_hash_table_unref (self->wanted);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (curator_thumbnail_loader_parent_class)->finalize (object);
}

static void
curator_thumbnail_loader_class_init (CuratorThumbnailLoaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = curator_thumbnail_loader_dispose;
  object_class->finalize = curator_thumbnail_loader_finalize;

  /* ::ready (key, texture or NULL when it has no usable thumbnail) */
  signals[SIGNAL_READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 2, G_TYPE_STRING, GDK_TYPE_TEXTURE);
}

static void
curator_thumbnail_loader_init (CuratorThumbnailLoader *self)
{
  /* the table does not own its keys: they are the entries' */
  self->cache = g_hash_table_new (g_str_hash, g_str_equal);
  self->broken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->wanted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->waiters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  g_mutex_init (&self->lock);
  self->pool = g_thread_pool_new (decode_job, self, N_WORKERS, FALSE, NULL);
  g_thread_pool_set_sort_function (self->pool, newest_first, NULL);
}

CuratorThumbnailLoader *
curator_thumbnail_loader_new (void)
{
  return g_object_new (CURATOR_TYPE_THUMBNAIL_LOADER, NULL);
}

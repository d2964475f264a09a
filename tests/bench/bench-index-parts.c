/* bench-index-parts.c: where the time of `curator index` goes, per file, on
 * one thread. Reads every image under FOLDER into memory first, then times
 * separately: a plain full-size decode (the baseline), computing the facts
 * from the bytes (decode, hashes,
 * statistics, thumbnail), and writing samples and thumbnails into a fresh
 * project in one transaction, as the indexer does. Run it by hand:
 *
 *   bench-index-parts FOLDER [MAX_FILES] */
#include "curator-config.h"

#include <time.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "curator-db.h"
#include "curator-image.h"

static void
collect (const char *folder,
         GPtrArray  *paths,
         guint       max_files)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len && paths->len < max_files; i++)
    {
      const char *n = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (folder, n, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        collect (path, paths, max_files);
      else if (g_str_has_suffix (n, ".jpg") || g_str_has_suffix (n, ".jpeg") || g_str_has_suffix (n, ".png"))
        g_ptr_array_add (paths, g_steal_pointer (&path));
    }
}

/* The best of a few rounds, in CPU time of this thread (user + system):
 * the machine is shared, and wall-clock time would measure the neighbours. */
#define ROUNDS 3

static gint64
cpu_time_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) contents = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) facts = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_image_facts_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  guint max_files = G_MAXUINT;
  gint64 n_thumb_bytes = 0;
  double best_decode = G_MAXDOUBLE, best_facts = G_MAXDOUBLE, best_db = G_MAXDOUBLE;
  double best_thumbs = 0, best_samples = 0, best_commit = 0;

  if (argc < 2 || argc > 3)
    {
      g_printerr ("usage: bench-index-parts FOLDER [MAX_FILES]\n");
      return 2;
    }
  if (argc == 3)
    max_files = (guint) g_ascii_strtoull (argv[2], NULL, 10);
  collect (argv[1], paths, max_files);
  for (guint i = 0; i < paths->len; i++)
    {
      char *data;
      gsize n;

      if (!g_file_get_contents (g_ptr_array_index (paths, i), &data, &n, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      g_ptr_array_add (contents, g_bytes_new_take (data, n));
    }

  /* The baseline: a full-size decode, nothing else. */
  for (int round = 0; round < ROUNDS; round++)
    {
      gint64 start = cpu_time_us ();

      for (guint i = 0; i < contents->len; i++)
        {
          gsize n;
          const guint8 *data = g_bytes_get_data (g_ptr_array_index (contents, i), &n);
          g_autoptr(CuratorRgb) image = curator_image_decode (data, n, 0, NULL, &error);

          g_assert_no_error (error);
        }
      best_decode = MIN (best_decode, (cpu_time_us () - start) / (double) contents->len);
    }

  for (int round = 0; round < ROUNDS; round++)
    {
      gint64 start = cpu_time_us ();

      g_ptr_array_set_size (facts, 0);
      for (guint i = 0; i < contents->len; i++)
        {
          gsize n;
          const guint8 *data = g_bytes_get_data (g_ptr_array_index (contents, i), &n);
          CuratorImageFacts *f = curator_image_facts_from_bytes (data, n, &error);

          if (f == NULL)
            {
              g_printerr ("%s: %s\n", (char *) g_ptr_array_index (paths, i), error->message);
              return 1;
            }
          g_ptr_array_add (facts, f);
        }
      best_facts = MIN (best_facts, (cpu_time_us () - start) / (double) contents->len);
    }
  for (guint i = 0; i < facts->len; i++)
    n_thumb_bytes += g_bytes_get_size (((CuratorImageFacts *) g_ptr_array_index (facts, i))->thumb);

  tmp = g_dir_make_tmp ("bench-index-parts-XXXXXX", &error);
  g_assert_no_error (error);
  for (int round = 0; round < ROUNDS; round++)
    {
      g_autofree char *project = g_strdup_printf ("%s/p%d.curator", tmp, round);
      g_autoptr(CuratorDb) db = curator_db_open (project, TRUE, &error);
      gint64 class_id, start, t0, thumbs_us = 0, samples_us = 0, commit_us;

      g_assert_no_error (error);
      class_id = curator_db_ensure_class (db, "class", &error);
      g_assert_no_error (error);
      start = cpu_time_us ();
      /* As the indexer writes: one transaction, a thumbnail then a sample. */
      if (!curator_db_begin (db, &error))
        g_assert_no_error (error);
      for (guint i = 0; i < facts->len; i++)
        {
          CuratorImageFacts *f = g_ptr_array_index (facts, i);
          g_autoptr(CuratorDbSample) s = curator_db_sample_new ();

          s->path = g_strdup (g_ptr_array_index (paths, i));
          s->file_hash = g_strdup (f->file_hash);
          s->pixel_hash = g_strdup (f->pixel_hash);
          s->phash = f->phash;
          s->width = f->info.width;
          s->height = f->info.height;
          s->channels = f->info.channels;
          s->format = g_strdup (curator_image_format_to_string (f->info.format));
          s->given_label = class_id;
          t0 = cpu_time_us ();
          if (!curator_db_put_thumbnail (db, f->pixel_hash, f->thumb_format, f->thumb_width,
                                         f->thumb_height, f->thumb, &error))
            break;
          thumbs_us += cpu_time_us () - t0;
          t0 = cpu_time_us ();
          if (!curator_db_put_sample (db, s, &error))
            break;
          samples_us += cpu_time_us () - t0;
        }
      g_assert_no_error (error);
      t0 = cpu_time_us ();
      if (!curator_db_commit (db, &error))
        g_assert_no_error (error);
      commit_us = cpu_time_us () - t0;
      if ((cpu_time_us () - start) / (double) facts->len < best_db)
        {
          best_db = (cpu_time_us () - start) / (double) facts->len;
          best_thumbs = thumbs_us / (double) facts->len;
          best_samples = samples_us / (double) facts->len;
          best_commit = commit_us / (double) facts->len;
        }
      g_clear_pointer (&db, curator_db_close);
      for (const char *const *suffix = (const char *const[]) { "", "-wal", "-shm", NULL }; *suffix; suffix++)
        {
          g_autofree char *file = g_strconcat (project, *suffix, NULL);
          g_unlink (file);
        }
    }
  g_rmdir (tmp);

  g_print ("%u files: full decode %.1f us/file, facts %.1f us/file, db writes %.1f us/sample "
           "(thumbnail %.1f, sample %.1f, commit %.1f, the rest making the sample), "
           "thumbnails %.0f bytes/file (best of %d, CPU time of one thread)\n",
           contents->len, best_decode, best_facts, best_db, best_thumbs, best_samples, best_commit,
           (double) n_thumb_bytes / facts->len, ROUNDS);
  return 0;
}

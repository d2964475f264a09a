/* test-index.c: the indexer over generated trees: layouts (class folders,
 * unlabelled, splits, manifest), incremental runs (add, change, touch,
 * remove, relabel), corrupt files recorded and indexing going on, paths that
 * leave the root refused, symlink loops, and cancellation that leaves a
 * consistent project the next run completes. */
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include <glib/gstdio.h>

#include "curator-db.h"
#include "curator-image.h"
#include "curator-index.h"
#include "testutil.h"

typedef struct {
  char      *root;     /* the dataset */
  char      *tmp;      /* holds root and the project */
  char      *project;
  CuratorDb *db;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->tmp = tu_mkdtemp ();
  f->root = g_build_filename (f->tmp, "data", NULL);
  f->project = g_build_filename (f->tmp, "p.curator", NULL);
  g_mkdir (f->root, 0755);
  f->db = curator_db_open (f->project, TRUE, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->db, curator_db_close);
  tu_rmdir (f->tmp);
  g_free (f->tmp);
  g_free (f->root);
  g_free (f->project);
}

static gboolean
run_index (Fixture *f, const char *manifest, CuratorIndexReport *report, GError **error)
{
  CuratorIndexOptions options = { f->root, manifest, 2, FALSE };

  return curator_index_run (f->db, &options, report, NULL, NULL, NULL, error);
}

static CuratorDbSample *
sample (Fixture *f, const char *path)
{
  g_autoptr(GError) error = NULL;
  CuratorDbSample *s = curator_db_get_sample_by_path (f->db, path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (s);
  return s;
}

static const char *
label_of (Fixture *f, const CuratorDbSample *s)
{
  g_autoptr(GPtrArray) classes = curator_db_list_classes (f->db, NULL);

  for (guint i = 0; i < classes->len; i++)
    {
      CuratorDbClass *k = g_ptr_array_index (classes, i);
      if (k->id == s->current_label)
        return g_intern_string (k->name);
    }
  return NULL;
}

static void
test_image_folder (Fixture *f, gconstpointer data)
{
  CuratorIndexReport report = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) classes = NULL;

  tu_write_png (f->root, "cat/a.png", 32, 32, 1);
  tu_write_jpeg (f->root, "cat/b.JPG", 40, 30, 2);
  tu_write_png (f->root, "dog/c.png", 32, 32, 3);
  tu_write_png (f->root, "dog/deeper/d.png", 32, 32, 4);
  tu_write_png (f->root, "loose.png", 32, 32, 5);
  tu_write_png (f->root, "_unlabeled/e.png", 32, 32, 6);
  tu_write_bytes (f->root, "dog/readme.txt", "not an image", 12);
  tu_write_bytes (f->root, "dog/.hidden.png", "x", 1);

  g_assert_true (run_index (f, NULL, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.n_files, ==, 6);
  g_assert_cmpint (report.n_added, ==, 6);
  g_assert_cmpint (report.n_corrupt, ==, 0);

  {
    g_autoptr(CuratorDbSample) a = sample (f, "cat/a.png");
    g_autoptr(CuratorDbSample) b = sample (f, "cat/b.JPG");
    g_autoptr(CuratorDbSample) d = sample (f, "dog/deeper/d.png");
    g_autoptr(CuratorDbSample) loose = sample (f, "loose.png");
    g_autoptr(CuratorDbSample) e = sample (f, "_unlabeled/e.png");

    g_assert_cmpstr (label_of (f, a), ==, "cat");
    g_assert_cmpstr (label_of (f, d), ==, "dog");
    g_assert_cmpint (loose->current_label, ==, 0);
    g_assert_cmpint (e->current_label, ==, 0);
    g_assert_cmpstr (b->format, ==, "jpeg");
    g_assert_cmpint (b->width, ==, 40);
    g_assert_cmpint (b->height, ==, 30);
    g_assert_cmpint (a->status, ==, CURATOR_SAMPLE_OK);
    g_assert_nonnull (a->pixel_hash);
    g_assert_true (curator_db_has_thumbnail (f->db, a->pixel_hash));
  }
  classes = curator_db_list_classes (f->db, &error);
  g_assert_cmpint (classes->len, ==, 2);
  curator_index_report_clear (&report);
}

static void
test_splits (Fixture *f, gconstpointer data)
{
  CuratorIndexReport report = { 0 };
  g_autoptr(GError) error = NULL;

  tu_write_png (f->root, "train/cat/a.png", 16, 16, 1);
  tu_write_png (f->root, "test/dog/b.png", 16, 16, 2);
  g_assert_true (run_index (f, NULL, &report, &error));
  {
    g_autoptr(CuratorDbSample) a = sample (f, "train/cat/a.png");
    g_autoptr(CuratorDbSample) b = sample (f, "test/dog/b.png");

    g_assert_cmpstr (a->split, ==, "train");
    g_assert_cmpstr (label_of (f, a), ==, "cat");
    g_assert_cmpstr (b->split, ==, "test");
    g_assert_cmpstr (label_of (f, b), ==, "dog");
  }
  curator_index_report_clear (&report);
}

static void
test_corrupt_files_recorded (Fixture *f, gconstpointer data)
{
  CuratorIndexReport report = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *png_path = NULL;
  g_autofree char *png = NULL;
  gsize n;

  tu_write_png (f->root, "cat/good.png", 32, 32, 1);
  tu_write_png (f->root, "cat/truncated.png", 32, 32, 2);
  png_path = g_build_filename (f->root, "cat/truncated.png", NULL);
  g_assert_true (g_file_get_contents (png_path, &png, &n, NULL));
  tu_write_bytes (f->root, "cat/truncated.png", png, n / 2);
  tu_write_bytes (f->root, "cat/empty.jpg", "", 0);
  tu_write_bytes (f->root, "cat/text.jpg", "hello, world", 12);
  {
    g_autofree char *dir = g_build_filename (f->root, "cat", "folder.jpg", NULL);
    g_autofree char *fifo = g_build_filename (f->root, "cat", "fifo.png", NULL);

    g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
    g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  }

  g_assert_true (run_index (f, NULL, &report, &error));
  g_assert_no_error (error);
  /* truncated, empty, text, fifo, and the folder named like an image */
  g_assert_cmpint (report.n_corrupt, ==, 5);
  {
    g_autoptr(CuratorDbSample) good = sample (f, "cat/good.png");
    g_autoptr(CuratorDbSample) trunc = sample (f, "cat/truncated.png");
    g_autoptr(CuratorDbSample) empty = sample (f, "cat/empty.jpg");
    g_autoptr(CuratorDbSample) text = sample (f, "cat/text.jpg");
    g_autoptr(CuratorDbSample) fifo = sample (f, "cat/fifo.png");
    g_autoptr(CuratorDbSample) folder = sample (f, "cat/folder.jpg");

    g_assert_cmpint (good->status, ==, CURATOR_SAMPLE_OK);
    g_assert_cmpint (trunc->status, ==, CURATOR_SAMPLE_CORRUPT);
    g_assert_nonnull (trunc->reason);
    g_assert_cmpint (empty->status, ==, CURATOR_SAMPLE_CORRUPT);
    g_assert_nonnull (strstr (empty->reason, "empty"));
    g_assert_cmpint (text->status, ==, CURATOR_SAMPLE_CORRUPT);
    g_assert_cmpint (fifo->status, ==, CURATOR_SAMPLE_CORRUPT);
    g_assert_cmpint (folder->status, ==, CURATOR_SAMPLE_CORRUPT);
  }
  curator_index_report_clear (&report);

  /* Unchanged corrupt files are not read again. */
  g_assert_true (run_index (f, NULL, &report, &error));
  g_assert_cmpint (report.n_decoded, ==, 0);
  curator_index_report_clear (&report);
}

static void
set_mtime (const char *root, const char *rel, time_t when)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  struct utimbuf times = { when, when };

  g_assert_cmpint (utime (path, &times), ==, 0);
}

static void
test_incremental (Fixture *f, gconstpointer data)
{
  CuratorIndexReport report = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *old_hash = NULL;
  gint64 old_id;

  for (int i = 0; i < 20; i++)
    {
      g_autofree char *rel = g_strdup_printf ("%s/%02d.png", i % 2 ? "cat" : "dog", i);
      tu_write_png (f->root, rel, 24, 24, i);
    }
  g_assert_true (run_index (f, NULL, &report, &error));
  g_assert_cmpint (report.n_added, ==, 20);
  g_assert_cmpint (report.n_decoded, ==, 20);
  curator_index_report_clear (&report);

  /* Nothing changed: nothing decoded. */
  g_assert_true (run_index (f, NULL, &report, &error));
  g_assert_cmpint (report.n_decoded, ==, 0);
  g_assert_cmpint (report.n_unchanged, ==, 20);
  curator_index_report_clear (&report);

  {
    g_autoptr(CuratorDbSample) s = sample (f, "cat/01.png");
    old_hash = g_strdup (s->pixel_hash);
    old_id = s->id;
  }
  /* Touched only: hashed, not decoded. Changed: decoded. Removed: missing.
   * Added: added. */
  set_mtime (f->root, "dog/00.png", 1000000000);
  tu_write_png (f->root, "cat/01.png", 24, 24, 99);
  set_mtime (f->root, "cat/01.png", 1000000001);
  {
    g_autofree char *gone = g_build_filename (f->root, "dog/02.png", NULL);
    g_assert_cmpint (g_unlink (gone), ==, 0);
  }
  tu_write_png (f->root, "cat/new.png", 24, 24, 100);

  g_assert_true (run_index (f, NULL, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.n_added, ==, 1);
  g_assert_cmpint (report.n_changed, ==, 1);
  g_assert_cmpint (report.n_missing, ==, 1);
  g_assert_cmpint (report.n_decoded, ==, 2);
  curator_index_report_clear (&report);
  {
    g_autoptr(CuratorDbSample) changed = sample (f, "cat/01.png");
    g_autoptr(CuratorDbSample) gone = sample (f, "dog/02.png");

    g_assert_cmpint (changed->id, ==, old_id);
    g_assert_cmpstr (changed->pixel_hash, !=, old_hash);
    g_assert_cmpint (gone->status, ==, CURATOR_SAMPLE_MISSING);
    g_assert_nonnull (gone->reason);
  }

  /* A missing file that comes back is OK again. */
  tu_write_png (f->root, "dog/02.png", 24, 24, 2);
  g_assert_true (run_index (f, NULL, &report, &error));
  {
    g_autoptr(CuratorDbSample) back = sample (f, "dog/02.png");
    g_assert_cmpint (back->status, ==, CURATOR_SAMPLE_OK);
  }
  curator_index_report_clear (&report);
}

static void
test_missing_keeps_history (Fixture *f, gconstpointer data)
{
  CuratorIndexReport report = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;
  gint64 id, dog;

  tu_write_png (f->root, "cat/a.png", 16, 16, 1);
  tu_write_png (f->root, "dog/b.png", 16, 16, 2);
  g_assert_true (run_index (f, NULL, &report, &error));
  curator_index_report_clear (&report);
  {
    g_autoptr(CuratorDbSample) a = sample (f, "cat/a.png");
    id = a->id;
  }
  dog = curator_db_lookup_class (f->db, "dog");
  g_assert_cmpint (curator_db_record_decision (f->db, id, CURATOR_ACTION_RELABEL, dog,
                                               CURATOR_ACTOR_CLI, 0, NULL, &error), >, 0);
  {
    g_autofree char *gone = g_build_filename (f->root, "cat/a.png", NULL);
    g_unlink (gone);
  }
  g_assert_true (run_index (f, NULL, &report, &error));
  curator_index_report_clear (&report);
  {
    g_autoptr(CuratorDbSample) a = sample (f, "cat/a.png");
    g_assert_cmpint (a->status, ==, CURATOR_SAMPLE_MISSING);
    g_assert_cmpint (a->current_label, ==, dog);
  }
  events = curator_db_list_events (f->db, id, &error);
  g_assert_cmpint (events->len, ==, 1);
}

static void
test_manifest (Fixture *f, gconstpointer data)
{
  CuratorIndexReport report = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *manifest = g_build_filename (f->tmp, "m.csv", NULL);
  const char *csv =
    "file,label\n"
    "imgs/a.png,cat\n"
    "imgs/b.png,\"dog\"\n"
    "/etc/passwd,cat\n"
    "../outside.png,cat\n"
    "imgs/none.png,dog\n"
    "imgs/c.png,\n";

  tu_write_png (f->root, "imgs/a.png", 16, 16, 1);
  tu_write_png (f->root, "imgs/b.png", 16, 16, 2);
  tu_write_png (f->root, "imgs/c.png", 16, 16, 3);
  tu_write_png (f->root, "imgs/unlisted.png", 16, 16, 4);
  tu_write_png (f->tmp, "outside.png", 16, 16, 5);
  g_assert_true (g_file_set_contents (manifest, csv, -1, NULL));

  g_assert_true (run_index (f, manifest, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.n_added, ==, 3);
  g_assert_cmpint (report.problems->len, ==, 3);  /* absolute, escaping, missing */
  {
    g_autoptr(CuratorDbSample) b = sample (f, "imgs/b.png");
    g_autoptr(CuratorDbSample) c = sample (f, "imgs/c.png");
    g_autoptr(GError) not_found = NULL;
    g_autoptr(CuratorDbSample) u = curator_db_get_sample_by_path (f->db, "imgs/unlisted.png", &not_found);

    g_assert_cmpstr (label_of (f, b), ==, "dog");
    g_assert_cmpint (c->current_label, ==, 0);
    g_assert_null (u);
  }
  curator_index_report_clear (&report);

  /* A new label in the manifest shows through without decoding. */
  g_assert_true (g_file_set_contents (manifest, "file,label\nimgs/a.png,dog\nimgs/b.png,dog\nimgs/c.png,\n", -1, NULL));
  g_assert_true (run_index (f, manifest, &report, &error));
  g_assert_cmpint (report.n_relabelled, ==, 1);
  g_assert_cmpint (report.n_decoded, ==, 0);
  {
    g_autoptr(CuratorDbSample) a = sample (f, "imgs/a.png");
    g_assert_cmpstr (label_of (f, a), ==, "dog");
  }
  curator_index_report_clear (&report);
}

static void
test_symlinks (Fixture *f, gconstpointer data)
{
  CuratorIndexReport report = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *loop = g_build_filename (f->root, "cat", "loop", NULL);
  g_autofree char *out_link = g_build_filename (f->root, "cat", "out.png", NULL);
  g_autofree char *outside = g_build_filename (f->tmp, "outside.png", NULL);
  g_autofree char *in_link = g_build_filename (f->root, "cat", "alias.png", NULL);

  tu_write_png (f->root, "cat/a.png", 16, 16, 1);
  tu_write_png (f->tmp, "outside.png", 16, 16, 2);
  g_assert_cmpint (symlink ("..", loop), ==, 0);          /* cat/loop -> root: a loop */
  g_assert_cmpint (symlink (outside, out_link), ==, 0);   /* leaves the root */
  g_assert_cmpint (symlink ("a.png", in_link), ==, 0);    /* stays inside: fine */

  g_assert_true (run_index (f, NULL, &report, &error));
  g_assert_no_error (error);
  {
    g_autoptr(CuratorDbSample) out = sample (f, "cat/out.png");
    g_autoptr(CuratorDbSample) alias = sample (f, "cat/alias.png");

    g_assert_cmpint (out->status, ==, CURATOR_SAMPLE_CORRUPT);
    g_assert_null (out->pixel_hash);
    g_assert_cmpint (alias->status, ==, CURATOR_SAMPLE_OK);
  }
  curator_index_report_clear (&report);
}

static void
cancel_at_first_progress (double fraction, const char *message, gpointer data)
{
  g_cancellable_cancel (data);
}

static void
test_cancel_and_resume (Fixture *f, gconstpointer data)
{
  CuratorIndexReport report = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) samples = NULL;
  CuratorIndexOptions options = { f->root, NULL, 2, FALSE };
  const int n = 3000;
  gint64 written;

  for (int i = 0; i < n; i++)
    {
      g_autofree char *rel = g_strdup_printf ("c%d/%04d.png", i % 3, i);
      tu_write_png (f->root, rel, 8, 8, i);
    }
  g_assert_false (curator_index_run (f->db, &options, &report, cancellable,
                                     cancel_at_first_progress, cancellable, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_true (curator_db_check_integrity (f->db, &error));
  samples = curator_db_list_samples (f->db, NULL, &error);
  written = samples->len;
  g_assert_cmpint (written, <, n);
  for (guint i = 0; i < samples->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, i);
      /* Everything written is complete; nothing was marked missing. */
      g_assert_cmpint (s->status, ==, CURATOR_SAMPLE_OK);
      g_assert_nonnull (s->pixel_hash);
    }
  curator_index_report_clear (&report);

  g_assert_true (curator_index_run (f->db, &options, &report, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.n_added, ==, n - written);
  g_assert_cmpint (report.n_decoded, ==, n - written);
  curator_index_report_clear (&report);
}

/* Many files over several worker chunks and threads are still written in
 * path order (ids follow the paths, whatever the timing); a small file that
 * fits the thumbnail is stored as its own thumbnail, a larger picture gets
 * a 256 px one; a touched file keeps its facts and takes the new mtime. */
static void
test_order_and_thumbnails (Fixture *f, gconstpointer data)
{
  CuratorIndexReport report = { 0 };
  CuratorIndexOptions options = { f->root, NULL, 3, FALSE };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) samples = NULL;
  g_autofree char *small_path = NULL;
  g_autofree char *small_file = NULL;
  gsize small_n;

  for (int i = 0; i < 150; i++)
    {
      g_autofree char *rel = g_strdup_printf ("c%d/%03d.jpg", i % 3, i);

      if (i == 7)
        tu_write_jpeg (f->root, rel, 400, 300, i);
      else
        tu_write_jpeg (f->root, rel, 32, 32, i);
    }
  g_assert_true (curator_index_run (f->db, &options, &report, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.n_added, ==, 150);
  curator_index_report_clear (&report);

  samples = curator_db_list_samples (f->db, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (samples->len, ==, 150);
  for (guint i = 1; i < samples->len; i++)
    {
      CuratorDbSample *a = g_ptr_array_index (samples, i - 1);
      CuratorDbSample *b = g_ptr_array_index (samples, i);

      g_assert_cmpint (a->id, <, b->id);
      g_assert_cmpstr (a->path, <, b->path);
    }

  {
    g_autoptr(CuratorDbSample) small = sample (f, "c1/001.jpg");
    g_autoptr(CuratorDbSample) big = sample (f, "c1/007.jpg");
    g_autofree char *format = NULL;
    g_autoptr(GBytes) thumb = curator_db_get_thumbnail (f->db, small->pixel_hash, &format, &error);
    g_autoptr(GBytes) big_thumb = NULL;
    g_autoptr(CuratorRgb) decoded = NULL;

    g_assert_no_error (error);
    small_path = g_build_filename (f->root, small->path, NULL);
    g_assert_true (g_file_get_contents (small_path, &small_file, &small_n, NULL));
    g_assert_cmpstr (format, ==, "jpeg");
    g_assert_cmpmem (g_bytes_get_data (thumb, NULL), g_bytes_get_size (thumb), small_file, small_n);

    g_clear_pointer (&format, g_free);
    big_thumb = curator_db_get_thumbnail (f->db, big->pixel_hash, &format, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (format, ==, "jpeg");
    decoded = curator_image_decode (g_bytes_get_data (big_thumb, NULL), g_bytes_get_size (big_thumb),
                                    0, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (decoded->width, ==, 256);
    g_assert_cmpint (decoded->height, ==, 192);
    g_assert_cmpint (big->width, ==, 400);
    g_assert_cmpint (big->height, ==, 300);
  }

  /* Touched: the same bytes, so not decoded, but the new size and mtime are
   * kept for the next run to compare with. */
  set_mtime (f->root, "c1/001.jpg", 1000000000);
  g_assert_true (curator_index_run (f->db, &options, &report, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.n_decoded, ==, 0);
  g_assert_cmpint (report.n_unchanged, ==, 150);
  curator_index_report_clear (&report);
  {
    g_autoptr(CuratorDbSample) small = sample (f, "c1/001.jpg");

    g_assert_cmpint (small->mtime_us, ==, G_GINT64_CONSTANT (1000000000) * G_USEC_PER_SEC);
    g_assert_cmpint (small->n_bytes, ==, small_n);
  }
}

static void
test_root_missing (Fixture *f, gconstpointer data)
{
  CuratorIndexReport report = { 0 };
  g_autoptr(GError) error = NULL;
  CuratorIndexOptions options = { "/nonexistent/dataset", NULL, 1, FALSE };

  g_assert_false (curator_index_run (f->db, &options, &report, NULL, NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  curator_index_report_clear (&report);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/index/" name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("image-folder", test_image_folder);
  ADD ("splits", test_splits);
  ADD ("corrupt-files-recorded", test_corrupt_files_recorded);
  ADD ("incremental", test_incremental);
  ADD ("missing-keeps-history", test_missing_keeps_history);
  ADD ("manifest", test_manifest);
  ADD ("symlinks", test_symlinks);
  ADD ("cancel-and-resume", test_cancel_and_resume);
  ADD ("root-missing", test_root_missing);
  ADD ("order-and-thumbnails", test_order_and_thumbnails);
#undef ADD
  return g_test_run ();
}

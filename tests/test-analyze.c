/* test-analyze.c: the analysis pipeline over a real (small, generated)
 * project: a run is stored with probabilities for every sample; a planted
 * wrong label is flagged with the right suggestion; the dictionary and the
 * features come from the cache the second time, with identical results;
 * the same seed gives the same run; a second analysis at once is refused;
 * cancellation is prompt and recorded. */
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "curator-analyze.h"
#include "curator-db.h"
#include "curator-image.h"
#include "curator-index.h"
#include "testutil.h"

typedef struct {
  char      *tmp;
  char      *root;
  char      *project;
  CuratorDb *db;
  gint64     planted;   /* sample whose given label is wrong */
} Fixture;

/* Two classes that a linear model on patch features tells apart easily:
 * "warm" pictures are red/yellow blobs, "cool" ones blue/green stripes. */
static void
write_picture (const char *root, const char *rel, gboolean warm, guint seed)
{
  g_autoptr(CuratorRgb) image = curator_rgb_new (32, 32);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) png = NULL;
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autofree char *folder = g_path_get_dirname (path);
  int cx = g_rand_int_range (rand, 8, 24), cy = g_rand_int_range (rand, 8, 24);

  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      {
        guint8 *p = image->pixels + (y * 32 + x) * 3;
        int noise = g_rand_int_range (rand, -20, 21);

        if (warm)
          {
            gboolean in = (x - cx) * (x - cx) + (y - cy) * (y - cy) < 64;
            p[0] = CLAMP ((in ? 240 : 150) + noise, 0, 255);
            p[1] = CLAMP ((in ? 200 : 80) + noise, 0, 255);
            p[2] = CLAMP (30 + noise, 0, 255);
          }
        else
          {
            gboolean stripe = ((x + y + cx) / 4) % 2 == 0;
            p[0] = CLAMP (30 + noise, 0, 255);
            p[1] = CLAMP ((stripe ? 160 : 90) + noise, 0, 255);
            p[2] = CLAMP ((stripe ? 230 : 120) + noise, 0, 255);
          }
      }
  png = curator_image_encode_png (image, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (png, NULL), g_bytes_get_size (png), NULL));
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  CuratorIndexReport report = { 0 };
  CuratorIndexOptions options = { 0 };

  f->tmp = tu_mkdtemp ();
  f->root = g_build_filename (f->tmp, "data", NULL);
  f->project = g_build_filename (f->tmp, "p.curator", NULL);
  for (int i = 0; i < 40; i++)
    {
      g_autofree char *warm = g_strdup_printf ("warm/w%02d.png", i);
      g_autofree char *cool = g_strdup_printf ("cool/c%02d.png", i);

      write_picture (f->root, warm, TRUE, i);
      write_picture (f->root, cool, FALSE, 1000 + i);
    }
  /* A cool picture filed under warm. */
  write_picture (f->root, "warm/planted.png", FALSE, 5000);
  f->db = curator_db_open (f->project, TRUE, &error);
  g_assert_no_error (error);
  options.root = f->root;
  g_assert_true (curator_index_run (f->db, &options, &report, NULL, NULL, NULL, &error));
  curator_index_report_clear (&report);
  {
    g_autoptr(CuratorDbSample) s = curator_db_get_sample_by_path (f->db, "warm/planted.png", &error);
    g_assert_no_error (error);
    f->planted = s->id;
  }
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

/* Small and quick, but the real pipeline. */
static void
small_options (CuratorAnalyzeOptions *o)
{
  curator_analyze_options_init_default (o);
  o->patch.n_centroids = 24;
  o->patch.n_train_patches = 8000;
  o->patch.kmeans_iterations = 5;
  o->classifier.n_folds = 4;
  o->classifier.draws_min = 0;  /* the stated epochs, not the small-set floor: quick */
  o->issues.knn_k = 5;
}

static GPtrArray *
scores_of (Fixture *f, gint64 run_id)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *scores = curator_db_list_scores (f->db, run_id, &error);

  g_assert_no_error (error);
  return scores;
}

static void
test_run_and_flags (Fixture *f, gconstpointer data)
{
  CuratorAnalyzeOptions options;
  CuratorAnalyzeReport report;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) scores = NULL;
  g_autoptr(CuratorDbRun) run = NULL;
  gint64 cool = curator_db_lookup_class (f->db, "cool");
  gboolean planted_seen = FALSE;

  small_options (&options);
  g_assert_true (curator_analyze_run (f->db, &options, &report, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.n_samples, ==, 81);
  g_assert_cmpint (report.n_classes, ==, 2);
  g_assert_false (report.dictionary_cached);
  g_assert_cmpint (report.n_features_computed, ==, 81);
  /* 80 of the 81 labels are right and the classes are easy. */
  g_assert_cmpfloat (report.accuracy, >=, 0.95);

  run = curator_db_get_run (f->db, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->id, ==, report.run_id);
  g_assert_cmpstr (run->status, ==, "done");
  g_assert_nonnull (strstr (run->metrics_json, "\"accuracy\""));
  g_assert_nonnull (strstr (run->timings_json, "\"classifier\""));

  scores = scores_of (f, report.run_id);
  g_assert_cmpint (scores->len, ==, 81);
  for (guint i = 0; i < scores->len; i++)
    {
      CuratorDbScore *s = g_ptr_array_index (scores, i);
      double sum = 0;

      g_assert_cmpint (s->n_probs, ==, 2);
      for (int c = 0; c < 2; c++)
        sum += s->probs[c];
      g_assert_cmpfloat (fabs (sum - 1.0), <, 1e-4);
      if (s->sample_id == f->planted)
        {
          planted_seen = TRUE;
          g_assert_cmpint (s->predicted_label, ==, cool);
          g_assert_true (s->issues & CURATOR_ISSUE_LABEL);
          g_assert_cmpint (s->suggested_label, ==, cool);
          g_assert_nonnull (s->reason);
        }
    }
  g_assert_true (planted_seen);
}

static void
test_cache_and_determinism (Fixture *f, gconstpointer data)
{
  CuratorAnalyzeOptions options;
  CuratorAnalyzeReport first, second;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) a = NULL;
  g_autoptr(GPtrArray) b = NULL;

  small_options (&options);
  options.rounds = 1;
  g_assert_true (curator_analyze_run (f->db, &options, &first, NULL, NULL, NULL, &error));
  g_assert_true (curator_analyze_run (f->db, &options, &second, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (second.dictionary_cached);
  g_assert_cmpint (second.n_features_cached, ==, 81);
  g_assert_cmpint (second.n_features_computed, ==, 0);

  /* Fresh and cached features give the very same probabilities. */
  a = scores_of (f, first.run_id);
  b = scores_of (f, second.run_id);
  g_assert_cmpint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      CuratorDbScore *sa = g_ptr_array_index (a, i), *sb = g_ptr_array_index (b, i);

      g_assert_cmpint (sa->sample_id, ==, sb->sample_id);
      g_assert_cmpmem (sa->probs, sizeof (float) * sa->n_probs, sb->probs, sizeof (float) * sb->n_probs);
    }
}

static void
test_one_at_a_time (Fixture *f, gconstpointer data)
{
  CuratorAnalyzeOptions options;
  CuratorAnalyzeReport report;
  g_autoptr(GError) error = NULL;
  g_autofree char *lock_path = g_strconcat (f->project, ".analyze-lock", NULL);
  int fd = open (lock_path, O_RDWR | O_CREAT, 0644);

  /* Another process (here: this one, through another descriptor) holds the lock. */
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX | LOCK_NB), ==, 0);
  small_options (&options);
  g_assert_false (curator_analyze_run (f->db, &options, &report, NULL, NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "Another analysis"));
  close (fd);
}

static gboolean
cancel_soon (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gpointer
cancel_thread (gpointer data)
{
  g_usleep (G_USEC_PER_SEC / 5);
  cancel_soon (data);
  return NULL;
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  CuratorAnalyzeOptions options;
  CuratorAnalyzeReport report;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) runs = NULL;
  GThread *thread;
  gint64 start;
  double seconds;

  /* Big enough that it cannot finish in 0.2 s: many centroids and epochs. */
  curator_analyze_options_init_default (&options);
  options.classifier.epochs = 2000;
  thread = g_thread_new ("cancel", cancel_thread, cancellable);
  start = g_get_monotonic_time ();
  g_assert_false (curator_analyze_run (f->db, &options, &report, cancellable, NULL, NULL, &error));
  seconds = (g_get_monotonic_time () - start) / 1e6;
  g_thread_join (thread);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
  /* Recorded as cancelled, promptly (generous bound for sanitizer builds;
   * speed itself is measured in tests/bench, this only catches a hang). */
  g_assert_cmpfloat (seconds, <, 30.0);
  runs = curator_db_list_runs (f->db, NULL);
  g_assert_cmpint (runs->len, ==, 1);
  g_assert_cmpstr (((CuratorDbRun *) g_ptr_array_index (runs, 0))->status, ==, "cancelled");
}

static void
test_needs_two_classes (Fixture *f, gconstpointer data)
{
  CuratorAnalyzeOptions options;
  CuratorAnalyzeReport report;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) samples = curator_db_list_samples (f->db, NULL, NULL);

  /* Exclude every cool sample: one class is left. */
  for (guint i = 0; i < samples->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, i);
      if (g_str_has_prefix (s->path, "cool/"))
        g_assert_cmpint (curator_db_record_decision (f->db, s->id, CURATOR_ACTION_EXCLUDE, 0,
                                                     CURATOR_ACTOR_CLI, 0, NULL, &error), >, 0);
    }
  small_options (&options);
  g_assert_false (curator_analyze_run (f->db, &options, &report, NULL, NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/analyze/" name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("run-and-flags", test_run_and_flags);
  ADD ("cache-and-determinism", test_cache_and_determinism);
  ADD ("one-at-a-time", test_one_at_a_time);
  ADD ("cancel", test_cancel);
  ADD ("needs-two-classes", test_needs_two_classes);
#undef ADD
  return g_test_run ();
}

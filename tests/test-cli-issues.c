/* test-cli-issues.c: `curator issues`, `curator accept`, `curator eval` and
 * `curator report` end to end on a generated tree.
 *
 * The run is made here (through the project API and curator_issues_analyze
 * on chosen probabilities) rather than by `curator analyze`, so that which
 * samples are flagged is known. Facts: issues lists the flagged samples
 * worst first with suggestion and reason; accept --min-confidence records
 * ACCEPT decisions in one go and leaves samples a person decided alone
 * (unless named), and does nothing twice; eval scores the run's flags
 * against a truth file, judging each sample by the label it had when the
 * run started, and prints the estimated precision next to the measured one;
 * report gives the noise matrix, per-class figures, the trust statement and
 * the decisions, within 80 columns; bad kinds and missing runs give the
 * documented exit codes. */
#include "curator-config.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include <json-glib/json-glib.h>

#include "curator-issues.h"
#include "testutil.h"

#define N_PER_CLASS 10

static const char *const class_names[] = { "bird", "cat", "dog" };

typedef struct {
  char   *tmp;
  char   *root;
  char   *project;
  gint64  flip_id;      /* a bird labelled dog, the classifier sure it is a bird */
  gint64  second_id;    /* a cat labelled dog, flagged too */
} Fixture;

static int
run (Fixture *f, char **out, const char *first, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  const char *arg;
  va_list ap;
  int status;

  g_ptr_array_add (args, (char *) g_getenv ("CURATOR_EXE"));
  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, (char *) "--project");
  g_ptr_array_add (args, f->project);
  g_ptr_array_add (args, NULL);
  g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, &err, &status, &error);
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_test_message ("%s: %s%s", first, out ? *out : "", err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static JsonObject *
run_json (Fixture *f, JsonNode **keep, const char *first, ...)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *out = NULL, *err = NULL;
  const char *arg;
  va_list ap;
  int status;

  g_ptr_array_add (args, (char *) g_getenv ("CURATOR_EXE"));
  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, (char *) "--project");
  g_ptr_array_add (args, f->project);
  g_ptr_array_add (args, (char *) "--json");
  g_ptr_array_add (args, NULL);
  g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_printerr ("stdout: %s\nstderr: %s\n", out, err);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  *keep = json_node_copy (json_parser_get_root (parser));
  return json_node_get_object (*keep);
}

/* Indexes the tree, then makes run 1 by hand: every sample's probabilities
 * favour its folder's class, except two samples filed in the wrong folder. */
static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GPtrArray) samples = NULL;
  g_autoptr(GPtrArray) scores = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_score_free);
  g_autoptr(CuratorIssuesResult) result = NULL;
  g_autofree char *out = NULL;
  g_autofree float *probs = NULL;
  g_autofree gint *labels = NULL;
  g_autofree gint64 *sample_ids = NULL;
  gint64 class_ids[3];
  gint64 run_id;
  gsize n;

  f->tmp = tu_mkdtemp ();
  f->root = g_build_filename (f->tmp, "data", NULL);
  f->project = g_build_filename (f->tmp, "p.curator", NULL);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < N_PER_CLASS; i++)
      {
        g_autofree char *rel = g_strdup_printf ("%s/%s%d.png", class_names[c], class_names[c], i);
        tu_write_png (f->root, rel, 32, 32, (guint) (c * 100 + i));
      }
  g_assert_cmpint (run (f, &out, "index", f->root, NULL), ==, 0);

  db = curator_db_open (f->project, FALSE, &error);
  g_assert_no_error (error);
  for (int c = 0; c < 3; c++)
    class_ids[c] = curator_db_lookup_class (db, class_names[c]);
  samples = curator_db_list_samples (db, NULL, &error);
  g_assert_no_error (error);
  n = samples->len;
  g_assert_cmpuint (n, ==, 3 * N_PER_CLASS);
  probs = g_new (float, n * 3);
  labels = g_new (gint, n);
  sample_ids = g_new (gint64, n);
  for (gsize i = 0; i < n; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, i);
      int label = 0;

      for (int c = 0; c < 3; c++)
        if (s->current_label == class_ids[c])
          label = c;
      labels[i] = label;
      sample_ids[i] = s->id;
      for (int c = 0; c < 3; c++)
        probs[i * 3 + c] = c == label ? 0.8f + 0.01f * (float) (i % 10) : 0.1f - 0.005f * (float) (i % 10);
      if (strcmp (s->path, "dog/dog3.png") == 0)
        {
          f->flip_id = s->id;   /* truly a bird */
          probs[i * 3 + 0] = 0.96f;
          probs[i * 3 + 1] = 0.02f;
          probs[i * 3 + 2] = 0.02f;
        }
      if (strcmp (s->path, "dog/dog5.png") == 0)
        {
          f->second_id = s->id;   /* truly a cat */
          probs[i * 3 + 0] = 0.03f;
          probs[i * 3 + 1] = 0.94f;
          probs[i * 3 + 2] = 0.03f;
        }
    }
  g_assert_cmpint (f->flip_id, >, 0);
  g_assert_cmpint (f->second_id, >, 0);

  {
    CuratorIssuesInput in = { n, 3, (const char *const *) class_names, probs, labels, NULL, 0, NULL, NULL,
                              (CuratorDbSample *const *) samples->pdata };
    result = curator_issues_analyze (&in, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  run_id = curator_db_begin_run (db, class_ids, 3, NULL, NULL, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < n; i++)
    {
      CuratorDbScore *score = curator_db_score_new ();
      int best = 0;

      for (int c = 1; c < 3; c++)
        if (probs[i * 3 + c] > probs[i * 3 + best])
          best = c;
      score->sample_id = sample_ids[i];
      score->n_probs = 3;
      score->probs = g_memdup2 (probs + i * 3, sizeof (float) * 3);
      score->predicted_label = class_ids[best];
      score->p_label = probs[i * 3 + labels[i]];
      curator_issues_fill_score (result, i, class_ids, score);
      g_ptr_array_add (scores, score);
    }
  g_assert_true (curator_db_put_scores (db, run_id, (CuratorDbScore **) scores->pdata, scores->len, &error));
  g_assert_true (curator_issues_store (db, run_id, sample_ids, class_ids, result, &error));
  g_assert_true (curator_db_finish_run (db, run_id, "done", NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (result->n_label_issues, ==, 2);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  tu_rmdir (f->tmp);
  g_free (f->tmp);
  g_free (f->root);
  g_free (f->project);
}

static void
test_issues (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonNode) keep = NULL;
  g_autoptr(JsonNode) keep_kind = NULL;
  g_autofree char *out = NULL;
  JsonObject *o = run_json (f, &keep, "issues", NULL);
  JsonArray *list = json_object_get_array_member (o, "samples");
  JsonObject *first, *second;

  g_assert_cmpint (json_object_get_int_member (o, "run"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (o, "counts"), "label"), ==, 2);
  g_assert_cmpuint (json_array_get_length (list), >=, 2);
  /* Worst first: the bird is the surer of the two. */
  first = json_array_get_object_element (list, 0);
  second = json_array_get_object_element (list, 1);
  g_assert_cmpint (json_object_get_int_member (first, "id"), ==, f->flip_id);
  g_assert_cmpstr (json_object_get_string_member (first, "label"), ==, "dog");
  g_assert_cmpstr (json_object_get_string_member (first, "suggested"), ==, "bird");
  g_assert_cmpfloat (json_object_get_double_member (first, "confidence"), >, 0.9);
  g_assert_nonnull (strstr (json_object_get_string_member (first, "reason"), "'bird' 0.96"));
  g_assert_cmpint (json_object_get_int_member (second, "id"), ==, f->second_id);
  g_assert_cmpstr (json_object_get_string_member (second, "suggested"), ==, "cat");

  /* --class and --kind narrow; --limit cuts. */
  o = run_json (f, &keep_kind, "issues", "--kind", "label", "--class", "cat", NULL);
  g_assert_cmpint (json_object_get_int_member (o, "total"), ==, 0);
  g_clear_pointer (&keep_kind, json_node_unref);
  o = run_json (f, &keep_kind, "issues", "--kind", "label", "--limit", "1", NULL);
  g_assert_cmpint (json_object_get_int_member (o, "total"), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "samples")), ==, 1);

  /* The human form names the suggestion and the reason. */
  g_assert_cmpint (run (f, &out, "issues", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "dog/dog3.png  dog -> bird (0.96)"));
  g_assert_nonnull (strstr (out, "the classifier gives 'bird' 0.96"));

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, &out, "issues", "--kind", "nonsense", NULL), ==, 2);
}

static void
test_accept (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonNode) dry = NULL;
  g_autoptr(JsonNode) done = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(JsonNode) named = NULL;
  g_autoptr(JsonNode) show = NULL;
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, f->second_id);
  g_autofree char *out = NULL;
  JsonObject *o;
  JsonArray *accepted;

  /* A person confirms the cat-labelled-dog: "not an error". */
  g_assert_cmpint (run (f, &out, "confirm", id, NULL), ==, 0);

  o = run_json (f, &dry, "accept", "--min-confidence", "0.5", "--dry-run", NULL);
  accepted = json_object_get_array_member (o, "accepted");
  g_assert_cmpuint (json_array_get_length (accepted), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (accepted, 0), "id"), ==, f->flip_id);
  g_assert_cmpint (json_object_get_int_member (o, "skipped"), ==, 1);

  o = run_json (f, &done, "accept", "--min-confidence", "0.5", NULL);
  accepted = json_object_get_array_member (o, "accepted");
  g_assert_cmpuint (json_array_get_length (accepted), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (accepted, 0), "to"), ==, "bird");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (accepted, 0), "event"), >, 0);
  {
    g_autofree char *flip = g_strdup_printf ("%" G_GINT64_FORMAT, f->flip_id);
    o = run_json (f, &show, "show", flip, NULL);
    g_assert_cmpstr (json_object_get_string_member (o, "label"), ==, "bird");
    g_assert_cmpstr (json_object_get_string_member (o, "label_source"), ==, "pseudo");
  }

  /* Nothing left to accept. */
  o = run_json (f, &again, "accept", "--min-confidence", "0.5", NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "accepted")), ==, 0);

  /* Named, the confirmed sample's suggestion is taken after all. */
  o = run_json (f, &named, "accept", id, NULL);
  accepted = json_object_get_array_member (o, "accepted");
  g_assert_cmpuint (json_array_get_length (accepted), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (accepted, 0), "to"), ==, "cat");

  /* A sample without a suggestion cannot be accepted. */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, &out, "accept", "cat/cat1.png", NULL), ==, 3);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, &out, "accept", NULL), ==, 2);
}

static void
test_eval (Fixture *f, gconstpointer data)
{
  g_autofree char *truth = g_build_filename (f->tmp, "truth.csv", NULL);
  g_autoptr(GString) csv = g_string_new ("file,given_label,true_label\r\n");
  g_autoptr(JsonNode) keep = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autofree char *out = NULL;
  g_autofree char *flip = g_strdup_printf ("%" G_GINT64_FORMAT, f->flip_id);
  JsonObject *o;

  /* dog3 is a bird and dog5 a cat; dog7 is a cat too, and nobody noticed. */
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < N_PER_CLASS; i++)
      {
        const char *t = class_names[c];

        if (c == 2 && i == 3)
          t = "bird";
        else if (c == 2 && (i == 5 || i == 7))
          t = "cat";
        g_string_append_printf (csv, "%s/%s%d.png,%s,\"%s\"\r\n", class_names[c], class_names[c], i,
                                class_names[c], t);
      }
  g_assert_true (g_file_set_contents (truth, csv->str, -1, NULL));

  o = run_json (f, &keep, "eval", "--truth", truth, NULL);
  g_assert_cmpint (json_object_get_int_member (o, "samples"), ==, 30);
  g_assert_cmpint (json_object_get_int_member (o, "errors"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (o, "flagged"), ==, 2);
  g_assert_cmpfloat (json_object_get_double_member (o, "precision"), ==, 1.0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "recall"), 2.0 / 3.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "f1"), 0.8, 1e-9);
  g_assert_cmpfloat (json_object_get_double_member (o, "error_suggestion_accuracy"), ==, 1.0);
  /* The classifier's one miss is dog7. */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "accuracy"), 29.0 / 30.0, 1e-9);

  /* Accepting the suggestion after the run does not change how the run is
   * judged: the flag was about the label it had then. */
  g_assert_cmpint (run (f, &out, "accept", flip, NULL), ==, 0);
  o = run_json (f, &after, "eval", "--truth", truth, NULL);
  g_assert_cmpint (json_object_get_int_member (o, "errors"), ==, 3);
  g_assert_cmpfloat (json_object_get_double_member (o, "precision"), ==, 1.0);

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, &out, "eval", "--truth", truth, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "precision 1.000, recall 0.667, F1 0.800"));
  g_assert_nonnull (strstr (out, "(measured 1.000); the run warned that its model is too weak"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, &out, "eval", NULL), ==, 2);
}

static void
test_report (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonNode) keep = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autofree char *out = NULL;
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, f->second_id);
  JsonObject *o, *trust;
  JsonArray *matrix, *per_class;
  g_auto(GStrv) lines = NULL;
  double dog_off_diagonal = 0, dog_sum = 0;

  o = run_json (f, &keep, "report", NULL);
  g_assert_cmpint (json_object_get_int_member (o, "run"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "samples"), ==, 30);
  g_assert_cmpint (json_object_get_int_member (o, "labelled"), ==, 30);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (o, "counts"), "label"), ==, 2);

  /* The noise matrix: rows are the given classes (bird, cat, dog), each
   * summing to its labelled count; only the dog row, where the two flips
   * are, has anything off the diagonal. */
  matrix = json_object_get_array_member (o, "noise_matrix");
  g_assert_cmpuint (json_array_get_length (matrix), ==, 3);
  for (guint c = 0; c < 3; c++)
    {
      JsonArray *row = json_array_get_array_element (matrix, c);
      double sum = 0;

      for (guint t = 0; t < 3; t++)
        {
          sum += json_array_get_double_element (row, t);
          if (c == 2 && t != 2)
            dog_off_diagonal += json_array_get_double_element (row, t);
          if (c != 2 && t != c)
            g_assert_cmpfloat (json_array_get_double_element (row, t), ==, 0.0);
        }
      if (c == 2)
        dog_sum = sum;
      else
        g_assert_cmpfloat (sum, ==, N_PER_CLASS);
    }
  g_assert_cmpfloat (dog_sum, ==, N_PER_CLASS);
  g_assert_cmpfloat (dog_off_diagonal, >=, 2.0);

  per_class = json_object_get_array_member (o, "per_class");
  g_assert_cmpuint (json_array_get_length (per_class), ==, 3);
  {
    JsonObject *dog = json_array_get_object_element (per_class, 2);

    g_assert_cmpstr (json_object_get_string_member (dog, "class"), ==, "dog");
    g_assert_cmpint (json_object_get_int_member (dog, "labelled"), ==, N_PER_CLASS);
    g_assert_cmpint (json_object_get_int_member (dog, "label_issues"), ==, 2);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (dog, "noise_rate"),
                                    dog_off_diagonal / N_PER_CLASS, 1e-9);
    /* The flags' suggestions move one dog to bird and one to cat. */
    g_assert_cmpfloat (json_object_get_double_member (dog, "estimated"), ==, N_PER_CLASS - 2);
    g_assert_false (json_object_get_boolean_member (dog, "minority"));
  }

  /* 30 labelled samples for 3 classes are too few to vouch for anything. */
  trust = json_object_get_object_member (o, "trust");
  g_assert_cmpint (json_object_get_int_member (trust, "flagged"), ==, 2);
  g_assert_true (json_object_get_boolean_member (trust, "weak"));
  g_assert_nonnull (strstr (json_object_get_string_member (trust, "statement"),
                            "only 30 labelled samples for 3 classes"));
  g_assert_cmpfloat (json_object_get_double_member (trust, "agreement"), ==, 28.0 / 30.0);

  /* A decision shows up in the counts. */
  g_assert_cmpint (run (f, &out, "confirm", id, NULL), ==, 0);
  o = run_json (f, &after, "report", NULL);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (o, "decisions"), "verified"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (o, "decisions"),
                                               "label_issues_decided"), ==, 1);

  /* The human form: the table with class names, the warning, and nothing
   * wider than 80 columns. */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, &out, "report", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Rows: given label; columns: estimated true label"));
  g_assert_nonnull (strstr (out, "  bird   cat   dog\n"));
  g_assert_nonnull (strstr (out, "Warning: the model is too weak"));
  g_assert_nonnull (strstr (out, "1 of the run's 2 label issues decided or excluded"));
  lines = g_strsplit (out, "\n", -1);
  for (int l = 0; lines[l] != NULL; l++)
    g_assert_cmpint (g_utf8_strlen (lines[l], -1), <=, 80);
}

static void
test_no_run (void)
{
  Fixture f = { 0 };
  g_autofree char *out = NULL;

  f.tmp = tu_mkdtemp ();
  f.root = g_build_filename (f.tmp, "data", NULL);
  f.project = g_build_filename (f.tmp, "p.curator", NULL);
  tu_write_png (f.root, "cat/a.png", 16, 16, 1);
  g_assert_cmpint (run (&f, &out, "index", f.root, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (&f, &out, "issues", NULL), ==, 3);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (&f, &out, "accept", "--min-confidence", "0.9", NULL), ==, 3);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (&f, &out, "report", NULL), ==, 3);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (&f, &out, "report", "extra", NULL), ==, 2);
  fixture_tear_down (&f, NULL);
}

static void
test_no_executable (void)
{
  g_test_skip ("CURATOR_EXE is not set: run through meson test");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("CURATOR_EXE") == NULL)
    {
      g_test_add_func ("/cli-issues/no-executable", test_no_executable);
      return g_test_run ();
    }
  g_test_add ("/cli-issues/issues", Fixture, NULL, fixture_set_up, test_issues, fixture_tear_down);
  g_test_add ("/cli-issues/accept", Fixture, NULL, fixture_set_up, test_accept, fixture_tear_down);
  g_test_add ("/cli-issues/eval", Fixture, NULL, fixture_set_up, test_eval, fixture_tear_down);
  g_test_add ("/cli-issues/report", Fixture, NULL, fixture_set_up, test_report, fixture_tear_down);
  g_test_add_func ("/cli-issues/no-run", test_no_run);
  return g_test_run ();
}

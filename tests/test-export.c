/* test-export.c: the export end to end over generated datasets, and its
 * pure split assignment on random inputs.
 *
 * Facts checked: largest-remainder targets and stratification; no duplicate
 * group (exact, perceptual-hash, feature-space) ever spans two splits, also
 * on random groupings; --keep-splits and its leak report; every policy for
 * flagged, decided, excluded, corrupt, missing and unlabelled samples;
 * rebalancing numbers; each layout's files and manifests read back against
 * the project; link/symlink/copy/none; an existing OUT; a source file that
 * vanishes mid-way, a read-only target and a full disk leave no OUT and no
 * temporary folder; temporary folders of killed exports are removed, those
 * of live ones (locked) kept; an extra exporter writes inside the export and
 * an unknown one is refused before anything is written; hostile class names
 * stay inside OUT; two exports are byte-identical. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "curator-db.h"
#include "curator-export.h"
#include "curator-index.h"
#include "curator-issues.h"
#include "testutil.h"

/* ---- fixture -------------------------------------------------------------- */

typedef struct {
  char      *tmp;      /* holds everything */
  char      *root;     /* the dataset */
  char      *project;
  CuratorDb *db;
  guint      next_seed;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->tmp = tu_mkdtemp ();
  f->root = g_build_filename (f->tmp, "data", NULL);
  f->project = g_build_filename (f->tmp, "p.curator", NULL);
  g_assert_cmpint (g_mkdir (f->root, 0755), ==, 0);
  f->db = curator_db_open (f->project, TRUE, &error);
  g_assert_no_error (error);
  f->next_seed = 1000;
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

/* Writes @n distinct pictures ROOT/PREFIX/CLASS/CLASS-i.png. */
static void
add_class (Fixture *f, const char *prefix, const char *klass, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *rel = prefix != NULL ? g_strdup_printf ("%s/%s/%s-%02u.png", prefix, klass, klass, i)
                                            : g_strdup_printf ("%s/%s-%02u.png", klass, klass, i);

      tu_write_png (f->root, rel, 16, 16, f->next_seed++);
    }
}

static void
index_dataset (Fixture *f, const char *manifest)
{
  g_autoptr(GError) error = NULL;
  CuratorIndexOptions options = { f->root, manifest, 2, FALSE };
  CuratorIndexReport report = { 0 };

  g_assert_true (curator_index_run (f->db, &options, &report, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  curator_index_report_clear (&report);
}

static CuratorDbSample *
sample_at (Fixture *f, const char *path)
{
  g_autoptr(GError) error = NULL;
  CuratorDbSample *s = curator_db_get_sample_by_path (f->db, path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (s);
  return s;
}

static gint64
class_id (Fixture *f, const char *name)
{
  gint64 id = curator_db_lookup_class (f->db, name);

  g_assert_cmpint (id, >, 0);
  return id;
}

static void
decide (Fixture *f, const char *path, CuratorAction action, const char *label)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbSample) s = sample_at (f, path);

  g_assert_cmpint (curator_db_record_decision (f->db, s->id, action, label != NULL ? class_id (f, label) : 0,
                                               CURATOR_ACTOR_CLI, 0, NULL, &error), >, 0);
  g_assert_no_error (error);
}

static char *
out_path (Fixture *f, const char *name)
{
  return g_build_filename (f->tmp, name, NULL);
}

static CuratorExportPlan *
export (Fixture *f, CuratorExportOptions *o)
{
  g_autoptr(GError) error = NULL;
  CuratorExportReport report = { 0 };
  CuratorExportPlan *plan = NULL;

  g_assert_true (curator_export_run (f->db, o, &report, &plan, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  curator_export_report_clear (&report);
  return plan;
}

/* ---- reading exports back --------------------------------------------------- */

/* A CSV file as rows of fields (RFC 4180 quoting), header included. */
static GPtrArray *
read_csv (const char *path)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GPtrArray *row = NULL;
  GString *field = g_string_new (NULL);
  gboolean quoted = FALSE;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  for (const char *p = text; *p != '\0'; p++)
    {
      if (row == NULL)
        row = g_ptr_array_new_with_free_func (g_free);
      if (quoted)
        {
          if (*p == '"' && p[1] == '"')
            {
              g_string_append_c (field, '"');
              p++;
            }
          else if (*p == '"')
            quoted = FALSE;
          else
            g_string_append_c (field, *p);
          continue;
        }
      if (*p == '"')
        quoted = TRUE;
      else if (*p == ',')
        {
          g_ptr_array_add (row, g_strdup (field->str));
          g_string_truncate (field, 0);
        }
      else if (*p == '\n')
        {
          g_ptr_array_add (row, g_strdup (field->str));
          g_string_truncate (field, 0);
          g_ptr_array_add (rows, row);
          row = NULL;
        }
      else
        g_string_append_c (field, *p);
    }
  g_assert_null (row);   /* every row ends with a newline */
  g_string_free (field, TRUE);
  return rows;
}

#define CELL(rows, r, c) ((const char *) g_ptr_array_index ((GPtrArray *) g_ptr_array_index (rows, r), c))

/* sources.csv: split,file,label,sample,source,repeat */
typedef struct {
  GPtrArray  *rows;
  GHashTable *split_of;   /* source path -> split (repeat 0 rows) */
  GHashTable *label_of;   /* source path -> label */
} Sources;

static void
sources_clear (Sources *s)
{
  g_clear_pointer (&s->rows, g_ptr_array_unref);
  g_clear_pointer (&s->split_of, g_hash_table_unref);
  g_clear_pointer (&s->label_of, g_hash_table_unref);
}

static void
read_sources (const char *out, Sources *s)
{
  g_autofree char *path = g_build_filename (out, "sources.csv", NULL);

  s->rows = read_csv (path);
  s->split_of = g_hash_table_new (g_str_hash, g_str_equal);
  s->label_of = g_hash_table_new (g_str_hash, g_str_equal);
  g_assert_cmpstr (CELL (s->rows, 0, 0), ==, "split");
  g_assert_cmpstr (CELL (s->rows, 0, 4), ==, "source");
  for (guint r = 1; r < s->rows->len; r++)
    if (strcmp (CELL (s->rows, r, 5), "0") == 0)
      {
        g_assert_false (g_hash_table_contains (s->split_of, CELL (s->rows, r, 4)));
        g_hash_table_insert (s->split_of, (gpointer) CELL (s->rows, r, 4), (gpointer) CELL (s->rows, r, 0));
        g_hash_table_insert (s->label_of, (gpointer) CELL (s->rows, r, 4), (gpointer) CELL (s->rows, r, 2));
      }
}

static JsonObject *
read_card (const char *out, JsonParser *parser)
{
  g_autofree char *path = g_build_filename (out, "curation.json", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* The object in @array whose member @key is @value (string or int). */
static JsonObject *
find_in (JsonArray *array, const char *key, const char *value)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);
      JsonNode *n = json_object_get_member (o, key);
      g_autofree char *text = NULL;

      if (n == NULL)
        continue;
      text = json_node_get_value_type (n) == G_TYPE_STRING ? g_strdup (json_node_get_string (n))
                                                           : g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (n));
      if (g_strcmp0 (text, value) == 0)
        return o;
    }
  return NULL;
}

static guint
count_files (const char *folder)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  guint n = 0;

  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Entries of @folder other than the ones named. */
static guint
count_strays (const char *folder, const char *const *allowed)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (!g_strv_contains (allowed, name))
      {
        g_test_message ("stray entry %s in %s", name, folder);
        n++;
      }
  return n;
}

/* ---- the pure part ---------------------------------------------------------- */

static void
test_targets (void)
{
  const double fractions[][3] = { { 0.8, 0.1, 0.1 }, { 0.7, 0.2, 0.1 }, { 1, 1, 1 }, { 0.5, 0.5, 0 } };

  for (guint f = 0; f < G_N_ELEMENTS (fractions); f++)
    for (gint64 n = 0; n <= 200; n++)
      {
        gint64 counts[3];
        gint64 sum = 0;
        double total = fractions[f][0] + fractions[f][1] + fractions[f][2];
        guint n_positive = 0;

        curator_export_split_targets (n, fractions[f], 3, counts);
        for (guint s = 0; s < 3; s++)
          {
            double exact = n * fractions[f][s] / total;

            sum += counts[s];
            n_positive += fractions[f][s] > 0;
            if (fractions[f][s] == 0)
              g_assert_cmpint (counts[s], ==, 0);
            /* Within one of the exact share, except where a share under one
             * was raised to one (and the split it came from). */
            if (n * fractions[f][0] / total >= 1 && n * fractions[f][1] / total >= 1 &&
                (fractions[f][2] == 0 || n * fractions[f][2] / total >= 1))
              g_assert_cmpfloat (fabs (counts[s] - exact), <, 1.0);
            if (n >= (gint64) n_positive && fractions[f][s] > 0 && s == 2)
              for (guint t = 0; t < 3; t++)
                if (fractions[f][t] > 0)
                  g_assert_cmpint (counts[t], >=, 1);
          }
        g_assert_cmpint (sum, ==, n);
      }

  /* The exact numbers for a few cases. */
  {
    gint64 c[3];
    const double f811[3] = { 0.8, 0.1, 0.1 };

    curator_export_split_targets (10, f811, 3, c);
    g_assert_cmpint (c[0], ==, 8); g_assert_cmpint (c[1], ==, 1); g_assert_cmpint (c[2], ==, 1);
    curator_export_split_targets (45, f811, 3, c);   /* 36, 4.5, 4.5: the tie goes to the earlier split */
    g_assert_cmpint (c[0], ==, 36); g_assert_cmpint (c[1], ==, 5); g_assert_cmpint (c[2], ==, 4);
    curator_export_split_targets (3, f811, 3, c);    /* 2.4, 0.3, 0.3: one in each */
    g_assert_cmpint (c[0], ==, 1); g_assert_cmpint (c[1], ==, 1); g_assert_cmpint (c[2], ==, 1);
    curator_export_split_targets (2, f811, 3, c);    /* too few for every split */
    g_assert_cmpint (c[0], ==, 2); g_assert_cmpint (c[1], ==, 0); g_assert_cmpint (c[2], ==, 0);
  }
}

static void
test_assign_stratified (void)
{
  const guint n_classes = 7, n = 2000;
  const double fractions[3] = { 0.7, 0.2, 0.1 };
  g_autofree gint *labels = g_new (gint, n);
  g_autofree gint *splits = g_new (gint, n);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  gint64 per_class[7] = { 0 }, counts[7][3] = { { 0 } };

  for (guint i = 0; i < n; i++)
    {
      /* Skewed: class 6 is rare. */
      labels[i] = g_rand_int_range (rand, 0, 100) < 2 ? 6 : g_rand_int_range (rand, 0, 6);
      splits[i] = -1;
      per_class[labels[i]]++;
    }
  g_assert_true (curator_export_assign_splits (labels, NULL, n, n_classes, fractions, 3, 42, splits));
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpint (splits[i], >=, 0);
      g_assert_cmpint (splits[i], <, 3);
      counts[labels[i]][splits[i]]++;
    }
  for (guint k = 0; k < n_classes; k++)
    for (guint s = 0; s < 3; s++)
      {
        g_assert_cmpfloat (fabs (counts[k][s] - per_class[k] * fractions[s]), <, 1.0);
        g_assert_cmpint (counts[k][s], >=, 1);   /* every class in every split */
      }
}

/* Property: on random groupings, no group spans two splits, every sample is
 * assigned, and the split sizes stay near the asked ratio. */
static void
test_assign_groups_property (void)
{
  const double fractions[3] = { 0.8, 0.1, 0.1 };

  for (guint trial = 0; trial < 200; trial++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed (trial);
      guint n = g_rand_int_range (rand, 1, 400);
      guint n_classes = g_rand_int_range (rand, 1, 6);
      guint n_groups = g_rand_int_range (rand, 0, n / 3 + 1);
      g_autofree gint *labels = g_new (gint, n);
      g_autofree guint *groups = g_new0 (guint, n);
      g_autofree gint *splits = g_new (gint, n);
      g_autofree gint *group_split = g_new (gint, n_groups + 1);
      guint per_split[3] = { 0 };

      for (guint i = 0; i < n; i++)
        {
          labels[i] = g_rand_int_range (rand, 0, n_classes);
          /* about a third in groups; group numbers need not be dense */
          groups[i] = n_groups > 0 && g_rand_int_range (rand, 0, 3) == 0
                      ? 7 * g_rand_int_range (rand, 1, n_groups + 1) : 0;
          splits[i] = -1;
        }
      g_assert_true (curator_export_assign_splits (labels, groups, n, n_classes, fractions, 3,
                                                   trial, splits));
      for (guint g = 0; g <= n_groups; g++)
        group_split[g] = -1;
      for (guint i = 0; i < n; i++)
        {
          g_assert_cmpint (splits[i], >=, 0);
          g_assert_cmpint (splits[i], <, 3);
          per_split[splits[i]]++;
          if (groups[i] == 0)
            continue;
          if (group_split[groups[i] / 7] < 0)
            group_split[groups[i] / 7] = splits[i];
          g_assert_cmpint (splits[i], ==, group_split[groups[i] / 7]);
        }
      if (n >= 200 && n_groups > 0)
        /* groups of a few samples cannot push the training share far */
        g_assert_cmpfloat (fabs (per_split[0] / (double) n - 0.8), <, 0.1);
    }
}

static void
test_assign_fixed (void)
{
  /* 0,1 fixed in split 2; 2 is free but grouped with 1; 3..9 free. */
  const gint labels[10] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
  const guint groups[10] = { 0, 5, 5, 0, 0, 0, 0, 0, 0, 0 };
  gint splits[10] = { 2, 2, -1, -1, -1, -1, -1, -1, -1, -1 };
  const double fractions[3] = { 1, 1, 0 };

  g_assert_true (curator_export_assign_splits (labels, groups, 10, 1, fractions, 3, 1, splits));
  g_assert_cmpint (splits[0], ==, 2);
  g_assert_cmpint (splits[1], ==, 2);
  g_assert_cmpint (splits[2], ==, 2);   /* joined its group's fixed split */
  for (guint i = 3; i < 10; i++)
    g_assert_cmpint (splits[i], !=, 2); /* fraction 0: never chosen for free samples */
}

static void
test_options (void)
{
  CuratorExportOptions o;
  g_autoptr(GError) error = NULL;

  curator_export_options_init (&o, "x");
  g_assert_true (curator_export_options_set_splits (&o, "70/30", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (o.n_splits, ==, 2);
  g_assert_cmpstr (o.split_names[0], ==, "train");
  g_assert_cmpstr (o.split_names[1], ==, "test");
  g_assert_cmpfloat_with_epsilon (o.split_fractions[0], 0.7, 1e-12);
  g_assert_true (curator_export_options_set_splits (&o, "train=8,val=1,test=1,holdout=10", &error));
  g_assert_cmpuint (o.n_splits, ==, 4);
  g_assert_cmpstr (o.split_names[3], ==, "holdout");
  g_assert_cmpfloat_with_epsilon (o.split_fractions[3], 0.5, 1e-12);
  g_assert_false (curator_export_options_set_splits (&o, "train=0.8,../x=0.2", &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (curator_export_options_set_splits (&o, "train=0.8,train=0.2", &error));
  g_clear_error (&error);
  g_assert_false (curator_export_options_set_splits (&o, "80/-10/10", &error));
  g_clear_error (&error);
  g_assert_false (curator_export_options_set_splits (&o, "1/1/1/1", &error));
  g_clear_error (&error);
  g_assert_cmpuint (o.n_splits, ==, 4);  /* failures leave the options alone */
  g_assert_true (curator_export_options_set_target (&o, "median", &error));
  g_assert_cmpint (o.target, ==, CURATOR_EXPORT_TARGET_MEDIAN);
  g_assert_true (curator_export_options_set_target (&o, "12", &error));
  g_assert_cmpint (o.target_count, ==, 12);
  g_assert_false (curator_export_options_set_target (&o, "0", &error));
  g_clear_error (&error);
  curator_export_options_clear (&o);
}

/* ---- exports ------------------------------------------------------------------ */

/* A plain export without any analysis: stratified, every class in every
 * split, hard links, the card and curation.json. */
static void
test_plain (Fixture *f, gconstpointer data)
{
  g_autofree char *out = out_path (f, "out");
  g_autoptr(CuratorExportPlan) plan = NULL;
  CuratorExportOptions o;
  Sources src = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *card;
  const char *names[] = { "cat", "dog", "owl" };
  const guint sizes[] = { 20, 10, 3 };

  for (guint k = 0; k < 3; k++)
    add_class (f, NULL, names[k], sizes[k]);
  index_dataset (f, NULL);
  curator_export_options_init (&o, out);
  plan = export (f, &o);

  read_sources (out, &src);
  g_assert_cmpuint (src.rows->len - 1, ==, 33);
  for (guint k = 0; k < 3; k++)
    {
      guint per_split[3] = { 0 };
      const char *splits[] = { "train", "val", "test" };

      for (guint r = 1; r < src.rows->len; r++)
        if (strcmp (CELL (src.rows, r, 2), names[k]) == 0)
          for (guint s = 0; s < 3; s++)
            per_split[s] += strcmp (CELL (src.rows, r, 0), splits[s]) == 0;
      for (guint s = 0; s < 3; s++)
        {
          g_autofree char *folder = g_build_filename (out, splits[s], names[k], NULL);

          g_assert_cmpuint (per_split[s], >=, 1);
          g_assert_cmpuint (count_files (folder), ==, per_split[s]);
        }
      g_assert_cmpuint (per_split[0], ==, sizes[k] == 3 ? 1 : (guint) (sizes[k] * 0.8));
    }
  /* Each file is a hard link to its source, under its label's folder. */
  for (guint r = 1; r < src.rows->len; r++)
    {
      g_autofree char *file = g_build_filename (out, CELL (src.rows, r, 1), NULL);
      g_autofree char *source = g_build_filename (f->root, CELL (src.rows, r, 4), NULL);
      g_autofree char *expected_prefix = g_strdup_printf ("%s/%s/", CELL (src.rows, r, 0), CELL (src.rows, r, 2));
      GStatBuf a, b;

      g_assert_true (g_str_has_prefix (CELL (src.rows, r, 1), expected_prefix));
      g_assert_cmpint (g_stat (file, &a), ==, 0);
      g_assert_cmpint (g_stat (source, &b), ==, 0);
      g_assert_cmpuint (a.st_ino, ==, b.st_ino);
    }
  card = read_card (out, parser);
  g_assert_cmpstr (json_object_get_string_member (card, "tool"), ==, "curator");
  g_assert_true (json_object_get_null_member (card, "run"));
  g_assert_cmpint (json_object_get_int_member (card, "seed"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (card, "leaks_total"), ==, 0);
  {
    JsonObject *cat = find_in (json_object_get_array_member (card, "classes"), "name", "cat");

    g_assert_nonnull (cat);
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (cat, "before"), "given"), ==, 20);
    g_assert_true (json_object_get_null_member (cat, "remaining_noise"));
  }
  {
    g_autofree char *readme = g_build_filename (out, "README.md", NULL);
    g_autofree char *text = NULL;

    g_assert_true (g_file_get_contents (readme, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "no finished analysis run"));
    g_assert_nonnull (strstr (text, "Unlabelled samples are not exported"));
  }
  sources_clear (&src);
  curator_export_options_clear (&o);
}

/* A run with the given scores: @probs[i] is the probability of each class
 * for sample @paths[i] (classes in @classes order). Every other OK sample
 * gets 0.8 for its label. */
typedef struct {
  const char *path;
  float       probs[3];
  guint32     issues;
  const char *suggested;
  gint64      duplicate_group;
} ScoreSpec;

static gint64
add_run (Fixture *f, const char *const *classes, const ScoreSpec *specs, guint n_specs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) samples = curator_db_list_samples (f->db, NULL, &error);
  g_autoptr(GPtrArray) scores = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_score_free);
  gint64 ids[3];
  gint64 run;

  for (guint k = 0; k < 3; k++)
    ids[k] = class_id (f, classes[k]);
  run = curator_db_begin_run (f->db, ids, 3, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < samples->len; i++)
    {
      const CuratorDbSample *s = g_ptr_array_index (samples, i);
      CuratorDbScore *score;
      const ScoreSpec *spec = NULL;

      if (s->status != CURATOR_SAMPLE_OK)
        continue;
      for (guint j = 0; j < n_specs; j++)
        if (strcmp (specs[j].path, s->path) == 0)
          spec = &specs[j];
      score = curator_db_score_new ();
      score->sample_id = s->id;
      score->n_probs = 3;
      score->probs = g_new (float, 3);
      for (guint k = 0; k < 3; k++)
        score->probs[k] = spec != NULL ? spec->probs[k] : (ids[k] == s->current_label ? 0.8f : 0.1f);
      if (spec != NULL)
        {
          score->issues = spec->issues;
          score->suggested_label = spec->suggested != NULL ? class_id (f, spec->suggested) : 0;
          score->suggestion_confidence = spec->suggested != NULL ? 0.9 : 0;
          score->duplicate_group = spec->duplicate_group;
          score->reason = g_strdup ("test flag");
        }
      g_ptr_array_add (scores, score);
    }
  g_assert_true (curator_db_put_scores (f->db, run, (CuratorDbScore **) scores->pdata, scores->len, &error));
  g_assert_no_error (error);
  g_assert_true (curator_db_finish_run (f->db, run, "done", NULL, NULL, &error));
  g_assert_no_error (error);
  return run;
}

/* Exact duplicates (same pixels), perceptual-hash near duplicates and the
 * run's feature-space groups each stay inside one split. */
static void
test_duplicates (Fixture *f, gconstpointer data)
{
  const char *const classes[] = { "cat", "dog", "owl" };
  g_autofree char *out = out_path (f, "out");
  g_autoptr(CuratorExportPlan) plan = NULL;
  CuratorExportOptions o;
  Sources src = { 0 };
  /* pairs that must share a split */
  const char *pairs[][2] = {
    { "cat/dup-a.png", "cat/dup-b.png" },   /* exact, same class */
    { "cat/dup-a.png", "dog/dup-c.png" },   /* exact, across classes */
    { "dog/near-a.png", "owl/near-b.png" }, /* perceptual hash 2 bits apart */
    { "owl/feat-a.png", "cat/feat-b.png" }, /* the run's feature-space group */
  };
  const ScoreSpec specs[] = {
    { "owl/feat-a.png", { 0.1f, 0.1f, 0.8f }, CURATOR_ISSUE_NEAR_DUPLICATE, NULL, 77 },
    { "cat/feat-b.png", { 0.8f, 0.1f, 0.1f }, CURATOR_ISSUE_NEAR_DUPLICATE, NULL, 77 },
  };

  for (guint k = 0; k < 3; k++)
    add_class (f, NULL, classes[k], 12);
  tu_write_png (f->root, "cat/dup-a.png", 16, 16, 7);
  tu_write_png (f->root, "cat/dup-b.png", 16, 16, 7);
  tu_write_png (f->root, "dog/dup-c.png", 16, 16, 7);
  tu_write_png (f->root, "dog/near-a.png", 16, 16, 8);
  tu_write_png (f->root, "owl/near-b.png", 16, 16, 9);
  tu_write_png (f->root, "owl/feat-a.png", 16, 16, 10);
  tu_write_png (f->root, "cat/feat-b.png", 16, 16, 11);
  index_dataset (f, NULL);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(CuratorDbSample) a = sample_at (f, "dog/near-a.png");
    g_autoptr(CuratorDbSample) b = sample_at (f, "owl/near-b.png");

    /* Plant the perceptual hashes: a well-spread hash and one 2 bits off. */
    a->phash = G_GUINT64_CONSTANT (0x5a5a5a5a0f0f0f0f);
    b->phash = a->phash ^ 0x11;
    g_assert_true (curator_db_put_sample (f->db, a, &error));
    g_assert_true (curator_db_put_sample (f->db, b, &error));
    g_assert_no_error (error);
  }
  add_run (f, classes, specs, G_N_ELEMENTS (specs));

  /* Several seeds: with 80/10/10 a pair placed at random would split often. */
  for (guint seed = 1; seed <= 8; seed++)
    {
      g_autoptr(CuratorExportPlan) p = NULL;

      curator_export_options_init (&o, out);
      o.seed = seed;
      o.force = TRUE;
      o.files = CURATOR_EXPORT_FILES_NONE;
      o.layout = CURATOR_EXPORT_LAYOUT_CSV;
      p = export (f, &o);
      g_assert_cmpuint (p->n_leaks, ==, 0);
      g_assert_cmpuint (p->n_groups, ==, 3);      /* dup a/b/c, near a/b, feat a/b */
      g_assert_cmpuint (p->n_grouped, ==, 7);
      read_sources (out, &src);
      for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
        {
          const char *a = pairs[i][0], *b = pairs[i][1];
          const char *sa = g_hash_table_lookup (src.split_of, a), *sb = g_hash_table_lookup (src.split_of, b);

          g_assert_nonnull (sa);
          g_assert_nonnull (sb);
          g_assert_cmpstr (sa, ==, sb);
        }
      sources_clear (&src);
      curator_export_options_clear (&o);
    }
}

/* --keep-splits: the source's train/test folders decide; a duplicate pair
 * across them is reported as a leak with its reason. */
static void
test_keep_splits (Fixture *f, gconstpointer data)
{
  g_autofree char *out = out_path (f, "out");
  g_autoptr(CuratorExportPlan) plan = NULL;
  CuratorExportOptions o;
  Sources src = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *card, *leak;

  const char *const classes[] = { "cat", "dog", "owl" };
  const ScoreSpec specs[] = {
    { "train/owl/feat.png", { 0.1f, 0.1f, 0.8f }, CURATOR_ISSUE_NEAR_DUPLICATE, NULL, 5 },
    { "test/cat/feat.png", { 0.8f, 0.1f, 0.1f }, CURATOR_ISSUE_NEAR_DUPLICATE, NULL, 5 },
  };
  const char *reasons[] = { "exact duplicate", "perceptual-hash near duplicate", "feature-space near duplicate" };

  add_class (f, "train", "cat", 6);
  add_class (f, "train", "dog", 6);
  add_class (f, "train", "owl", 6);
  add_class (f, "test", "cat", 2);
  add_class (f, "test", "dog", 2);
  add_class (f, "test", "owl", 2);
  tu_write_png (f->root, "train/cat/same.png", 16, 16, 3);
  tu_write_png (f->root, "test/cat/same.png", 16, 16, 3);
  tu_write_png (f->root, "train/dog/near.png", 16, 16, 4);
  tu_write_png (f->root, "test/owl/near.png", 16, 16, 5);
  tu_write_png (f->root, "train/owl/feat.png", 16, 16, 6);
  tu_write_png (f->root, "test/cat/feat.png", 16, 16, 7);
  index_dataset (f, NULL);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(CuratorDbSample) a = sample_at (f, "train/dog/near.png");
    g_autoptr(CuratorDbSample) b = sample_at (f, "test/owl/near.png");

    a->phash = G_GUINT64_CONSTANT (0x3c3c3c3cf0f0f0f0);
    b->phash = a->phash ^ 0x8001;
    g_assert_true (curator_db_put_sample (f->db, a, &error));
    g_assert_true (curator_db_put_sample (f->db, b, &error));
    g_assert_no_error (error);
  }
  add_run (f, classes, specs, G_N_ELEMENTS (specs));

  curator_export_options_init (&o, out);
  o.keep_splits = TRUE;
  plan = export (f, &o);
  g_assert_cmpuint (plan->n_splits, ==, 2);   /* no val: every sample had a split */
  g_assert_cmpstr (plan->splits[0].name, ==, "train");
  g_assert_cmpstr (plan->splits[1].name, ==, "test");
  read_sources (out, &src);
  for (guint r = 1; r < src.rows->len; r++)
    g_assert_true (g_str_has_prefix (CELL (src.rows, r, 4), CELL (src.rows, r, 0)));
  g_assert_cmpuint (plan->n_leaks, ==, 3);
  card = read_card (out, parser);
  g_assert_cmpint (json_object_get_int_member (card, "leaks_total"), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      leak = find_in (json_object_get_array_member (card, "leaks"), "reason", reasons[i]);
      g_assert_nonnull (leak);
      g_assert_cmpstr (json_object_get_string_member (leak, "split_a"), !=,
                       json_object_get_string_member (leak, "split_b"));
    }
  g_assert_cmpint (json_object_get_int_member (find_in (json_object_get_array_member (card, "leaks"), "reason",
                                                        reasons[1]), "phash_distance"), ==, 2);
  {
    g_autofree char *readme = g_build_filename (out, "README.md", NULL);
    g_autofree char *text = NULL;

    g_assert_true (g_file_get_contents (readme, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "3 pairs of duplicates sit in different splits"));
  }
  sources_clear (&src);
  curator_export_options_clear (&o);

  /* Without --keep-splits the same pair is kept together: no leak. */
  g_clear_pointer (&plan, curator_export_plan_free);
  curator_export_options_init (&o, out);
  o.force = TRUE;
  plan = export (f, &o);
  g_assert_cmpuint (plan->n_leaks, ==, 0);
  curator_export_options_clear (&o);
}

/* The policies, one project: decisions, flags, and files that cannot go out. */
static void
test_policies (Fixture *f, gconstpointer data)
{
  const char *const classes[] = { "cat", "dog", "owl" };
  /* cat/cat-00: flagged, suggestion dog at 0.9 (dog's threshold ~0.8): confident
   * cat/cat-01: flagged, suggestion owl at 0.5: not confident
   * cat/cat-02: flagged but confirmed by a person: kept as cat
   * cat/cat-03: relabelled to owl by a person
   * cat/cat-04: excluded
   * dog/dog-00: accepted suggestion owl (pseudo, verified) */
  const ScoreSpec specs[] = {
    { "cat/cat-00.png", { 0.05f, 0.9f, 0.05f }, CURATOR_ISSUE_LABEL, "dog", 0 },
    { "cat/cat-01.png", { 0.3f, 0.2f, 0.5f }, CURATOR_ISSUE_LABEL, "owl", 0 },
    { "cat/cat-02.png", { 0.1f, 0.8f, 0.1f }, CURATOR_ISSUE_LABEL, "dog", 0 },
    { "owl/owl-00.png", { 0.1f, 0.1f, 0.8f }, CURATOR_ISSUE_OUTLIER, NULL, 0 },  /* not a label flag */
  };
  const char *policies[] = { "drop", "keep", "relabel-if-confident" };

  for (guint k = 0; k < 3; k++)
    add_class (f, NULL, classes[k], 10);
  tu_write_bytes (f->root, "dog/broken.png", "\x89PNG\r\n\x1a\nnope", 12);
  tu_write_png (f->root, "dog/gone.png", 16, 16, 4);
  tu_write_png (f->root, "loose.png", 16, 16, 5);   /* unlabelled */
  index_dataset (f, NULL);
  {
    g_autofree char *gone = g_build_filename (f->root, "dog/gone.png", NULL);

    g_assert_cmpint (g_unlink (gone), ==, 0);
    index_dataset (f, NULL);   /* marks it missing */
  }
  decide (f, "cat/cat-02.png", CURATOR_ACTION_CONFIRM, NULL);
  decide (f, "cat/cat-03.png", CURATOR_ACTION_RELABEL, "owl");
  decide (f, "cat/cat-04.png", CURATOR_ACTION_EXCLUDE, NULL);
  decide (f, "dog/dog-00.png", CURATOR_ACTION_ACCEPT, "owl");
  add_run (f, classes, specs, G_N_ELEMENTS (specs));

  for (guint p = 0; p < G_N_ELEMENTS (policies); p++)
    {
      g_autofree char *out = out_path (f, policies[p]);
      g_autoptr(CuratorExportPlan) plan = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();
      CuratorExportOptions o;
      Sources src = { 0 };
      JsonObject *card;
      JsonArray *removed, *relabelled;
      const char *c0 = "cat/cat-00.png";
      const char *c1 = "cat/cat-01.png";
      const char *c2 = "cat/cat-02.png";
      const char *c3 = "cat/cat-03.png";
      const char *c4 = "cat/cat-04.png";
      const char *d0 = "dog/dog-00.png";
      const char *o0 = "owl/owl-00.png";
      const char *broken = "dog/broken.png";
      const char *gone = "dog/gone.png";
      const char *loose = "loose.png";

      curator_export_options_init (&o, out);
      g_assert_true (curator_export_flagged_from_string (policies[p], &o.flagged));
      o.layout = CURATOR_EXPORT_LAYOUT_CSV;
      plan = export (f, &o);
      read_sources (out, &src);
      card = read_card (out, parser);
      removed = json_object_get_array_member (card, "removed");
      relabelled = json_object_get_array_member (card, "relabelled");

      /* Never exported, whatever the policy. */
      g_assert_false (g_hash_table_contains (src.split_of, c4));
      g_assert_false (g_hash_table_contains (src.split_of, broken));
      g_assert_false (g_hash_table_contains (src.split_of, gone));
      g_assert_false (g_hash_table_contains (src.split_of, loose));
      g_assert_cmpuint (plan->n_removed_by[CURATOR_EXPORT_DROP_EXCLUDED], ==, 1);
      g_assert_cmpuint (plan->n_removed_by[CURATOR_EXPORT_DROP_CORRUPT], ==, 1);
      g_assert_cmpuint (plan->n_removed_by[CURATOR_EXPORT_DROP_MISSING], ==, 1);
      g_assert_cmpuint (plan->n_removed_by[CURATOR_EXPORT_DROP_UNLABELLED], ==, 1);
      {
        g_autoptr(CuratorDbSample) s = sample_at (f, "dog/broken.png");
        g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, s->id);
        JsonObject *r = find_in (removed, "sample", id);

        g_assert_nonnull (r);
        g_assert_cmpstr (json_object_get_string_member (r, "why"), ==, "corrupt");
      }

      /* Decisions settle the label. */
      g_assert_cmpstr (g_hash_table_lookup (src.label_of, c2), ==, "cat");
      g_assert_cmpstr (g_hash_table_lookup (src.label_of, c3), ==, "owl");
      g_assert_cmpstr (g_hash_table_lookup (src.label_of, d0), ==, "owl");
      g_assert_cmpstr (g_hash_table_lookup (src.label_of, o0), ==, "owl");
      {
        g_autoptr(CuratorDbSample) s3 = sample_at (f, "cat/cat-03.png");
        g_autoptr(CuratorDbSample) sd = sample_at (f, "dog/dog-00.png");
        g_autofree char *id3 = g_strdup_printf ("%" G_GINT64_FORMAT, s3->id);
        g_autofree char *idd = g_strdup_printf ("%" G_GINT64_FORMAT, sd->id);
        JsonObject *r3 = find_in (relabelled, "sample", id3), *rd = find_in (relabelled, "sample", idd);

        g_assert_nonnull (r3);
        g_assert_cmpstr (json_object_get_string_member (r3, "old"), ==, "cat");
        g_assert_cmpstr (json_object_get_string_member (r3, "new"), ==, "owl");
        g_assert_cmpstr (json_object_get_string_member (r3, "source"), ==, "human");
        g_assert_nonnull (rd);
        g_assert_cmpstr (json_object_get_string_member (rd, "source"), ==, "accepted");
      }

      switch (o.flagged)
        {
        case CURATOR_EXPORT_FLAGGED_DROP:
          g_assert_false (g_hash_table_contains (src.split_of, c0));
          g_assert_false (g_hash_table_contains (src.split_of, c1));
          g_assert_cmpuint (plan->n_removed_by[CURATOR_EXPORT_DROP_FLAGGED], ==, 2);
          break;
        case CURATOR_EXPORT_FLAGGED_KEEP:
          g_assert_cmpstr (g_hash_table_lookup (src.label_of, c0), ==, "cat");
          g_assert_cmpstr (g_hash_table_lookup (src.label_of, c1), ==, "cat");
          g_assert_cmpuint (plan->n_flagged_kept, ==, 2);
          break;
        case CURATOR_EXPORT_FLAGGED_RELABEL_IF_CONFIDENT:
          {
            g_autoptr(CuratorDbSample) s0 = sample_at (f, "cat/cat-00.png");
            g_autofree char *id0 = g_strdup_printf ("%" G_GINT64_FORMAT, s0->id);
            JsonObject *r0 = find_in (relabelled, "sample", id0);

            g_assert_cmpstr (g_hash_table_lookup (src.label_of, c0), ==, "dog");
            g_assert_false (g_hash_table_contains (src.split_of, c1));
            g_assert_cmpuint (plan->n_removed_by[CURATOR_EXPORT_DROP_NOT_CONFIDENT], ==, 1);
            g_assert_nonnull (r0);
            g_assert_cmpstr (json_object_get_string_member (r0, "source"), ==, "relabel-if-confident");
            /* dog's threshold: the mean p(dog) over the samples labelled dog now */
            g_assert_cmpfloat (json_object_get_double_member (r0, "confidence"), >=,
                               json_object_get_double_member (r0, "threshold"));
            g_assert_cmpfloat (fabs (json_object_get_double_member (r0, "threshold") - 0.8), <, 0.01);
          }
          break;
        default:
          g_assert_not_reached ();
        }

      /* The run's estimate of what noise is left is there for every class. */
      {
        JsonObject *cat = find_in (json_object_get_array_member (card, "classes"), "name", "cat");

        g_assert_false (json_object_get_null_member (cat, "remaining_noise"));
      }
      sources_clear (&src);
      curator_export_options_clear (&o);
    }
}

/* Rebalancing of the training split only, with the exact numbers. */
static void
test_rebalance (Fixture *f, gconstpointer data)
{
  const char *names[] = { "big", "mid", "small" };
  const guint sizes[] = { 32, 16, 8 };   /* train gets half of each: 16, 8, 4 */
  struct {
    CuratorExportRebalance how;
    const char *target;
    guint train[3];
  } cases[] = {
    { CURATOR_EXPORT_REBALANCE_NONE, NULL, { 16, 8, 4 } },
    { CURATOR_EXPORT_REBALANCE_OVERSAMPLE, NULL, { 16, 16, 16 } },
    { CURATOR_EXPORT_REBALANCE_OVERSAMPLE, "median", { 16, 8, 8 } },
    { CURATOR_EXPORT_REBALANCE_OVERSAMPLE, "10", { 16, 10, 10 } },
    { CURATOR_EXPORT_REBALANCE_UNDERSAMPLE, NULL, { 4, 4, 4 } },
    { CURATOR_EXPORT_REBALANCE_UNDERSAMPLE, "6", { 6, 6, 4 } },
    { CURATOR_EXPORT_REBALANCE_WEIGHTS, NULL, { 16, 8, 4 } },
  };

  for (guint k = 0; k < 3; k++)
    add_class (f, NULL, names[k], sizes[k]);
  index_dataset (f, NULL);

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    for (guint layout = 0; layout < 2; layout++)
      {
        g_autofree char *out = out_path (f, "out");
        g_autoptr(CuratorExportPlan) plan = NULL;
        g_autoptr(GError) error = NULL;
        CuratorExportOptions o;
        Sources src = { 0 };

        curator_export_options_init (&o, out);
        o.force = TRUE;
        o.rebalance = cases[c].how;
        o.layout = layout == 0 ? CURATOR_EXPORT_LAYOUT_IMAGEFOLDER : CURATOR_EXPORT_LAYOUT_CSV;
        g_assert_true (curator_export_options_set_splits (&o, "train=1,test=1", &error));
        if (cases[c].target != NULL)
          g_assert_true (curator_export_options_set_target (&o, cases[c].target, &error));
        g_assert_no_error (error);
        plan = export (f, &o);
        read_sources (out, &src);
        for (guint k = 0; k < 3; k++)
          {
            guint train = 0, test = 0;
            g_autofree char *folder = g_build_filename (out, "train", names[k], NULL);

            for (guint r = 1; r < src.rows->len; r++)
              if (strcmp (CELL (src.rows, r, 2), names[k]) == 0)
                {
                  train += strcmp (CELL (src.rows, r, 0), "train") == 0;
                  test += strcmp (CELL (src.rows, r, 0), "test") == 0;
                }
            g_assert_cmpuint (train, ==, cases[c].train[k]);
            g_assert_cmpuint (test, ==, sizes[k] / 2);   /* never rebalanced */
            /* imagefolder: a file per entry (repeats as hard links); csv: a
             * repeat is a row naming the same file. */
            g_assert_cmpuint (count_files (folder), ==,
                              layout == 0 ? cases[c].train[k] : MIN (cases[c].train[k], sizes[k] / 2));
          }
        if (cases[c].how == CURATOR_EXPORT_REBALANCE_OVERSAMPLE && layout == 0)
          {
            /* A repeat is the same bytes as its sample: a link, not a copy. */
            g_assert_cmpuint (count_files (out), >, 0);
            for (guint r = 1; r < src.rows->len; r++)
              if (strcmp (CELL (src.rows, r, 5), "0") != 0)
                {
                  g_autofree char *file = g_build_filename (out, CELL (src.rows, r, 1), NULL);
                  g_autofree char *source = g_build_filename (f->root, CELL (src.rows, r, 4), NULL);
                  GStatBuf a, b;

                  g_assert_true (strstr (CELL (src.rows, r, 1), "__rep") != NULL);
                  g_assert_cmpint (g_stat (file, &a), ==, 0);
                  g_assert_cmpint (g_stat (source, &b), ==, 0);
                  g_assert_cmpuint (a.st_ino, ==, b.st_ino);
                }
          }
        if (cases[c].how == CURATOR_EXPORT_REBALANCE_UNDERSAMPLE)
          g_assert_cmpuint (plan->n_removed_by[CURATOR_EXPORT_DROP_UNDERSAMPLED], ==,
                            (16 + 8 + 4) - (cases[c].train[0] + cases[c].train[1] + cases[c].train[2]));
        if (cases[c].how == CURATOR_EXPORT_REBALANCE_WEIGHTS)
          {
            g_autofree char *path = g_build_filename (out, "class_weights.json", NULL);
            g_autoptr(JsonParser) parser = json_parser_new ();
            JsonObject *w;
            JsonArray *inv, *eff;
            /* sorted folders: big, mid, small; N = 28, K = 3 */
            const double n_k[3] = { 16, 8, 4 };
            double raw[3], raw_sum = 0;

            g_assert_true (json_parser_load_from_file (parser, path, NULL));
            w = json_node_get_object (json_parser_get_root (parser));
            inv = json_object_get_array_member (w, "inverse_frequency");
            eff = json_object_get_array_member (w, "effective_number");
            g_assert_cmpint (json_object_get_int_member (w, "n_samples"), ==, 28);
            g_assert_cmpfloat_with_epsilon (json_object_get_double_member (w, "beta"), 0.999, 1e-12);
            for (guint k = 0; k < 3; k++)
              {
                raw[k] = (1 - 0.999) / (1 - pow (0.999, n_k[k]));
                raw_sum += raw[k];
              }
            for (guint k = 0; k < 3; k++)
              {
                g_assert_cmpfloat_with_epsilon (json_array_get_double_element (inv, k), 28.0 / (3 * n_k[k]), 1e-12);
                g_assert_cmpfloat_with_epsilon (json_array_get_double_element (eff, k), raw[k] * 3 / raw_sum, 1e-12);
              }
          }
        else
          {
            g_autofree char *path = g_build_filename (out, "class_weights.json", NULL);

            g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
          }
        sources_clear (&src);
        curator_export_options_clear (&o);
      }
}


static char *
label_in_project (Fixture *f, const char *sample_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbSample) s = curator_db_get_sample (f->db, g_ascii_strtoll (sample_id, NULL, 10), &error);
  g_autoptr(GPtrArray) classes = curator_db_list_classes (f->db, &error);

  g_assert_no_error (error);
  for (guint k = 0; k < classes->len; k++)
    {
      CuratorDbClass *c = g_ptr_array_index (classes, k);

      if (c->id == s->current_label)
        return g_strdup (c->name);
    }
  return NULL;
}

/* Each layout read back: every manifest row names a file that exists and
 * whose label is the sample's label in the project. */
static void
test_layouts (Fixture *f, gconstpointer data)
{
  const char *names[] = { "cat", "dog" };

  for (guint k = 0; k < 2; k++)
    add_class (f, NULL, names[k], 10);
  tu_write_png (f->root, "cat/sub/cat-00.png", 16, 16, 1);  /* same name as cat/cat-00.png */
  tu_write_png (f->root, "cat/a,b \"q\".png", 16, 16, 2);    /* needs CSV quoting */
  index_dataset (f, NULL);
  decide (f, "dog/dog-03.png", CURATOR_ACTION_RELABEL, "cat");

  for (guint layout = 0; layout < 3; layout++)
    {
      g_autofree char *out = out_path (f, layout == 0 ? "imagefolder" : layout == 1 ? "csv" : "jsonl");
      g_autoptr(CuratorExportPlan) plan = NULL;
      g_autoptr(GHashTable) sample_of = g_hash_table_new (g_str_hash, g_str_equal);
      g_autoptr(GError) error = NULL;
      CuratorExportOptions o;
      Sources src = { 0 };
      guint n_rows = 0;

      curator_export_options_init (&o, out);
      o.layout = (CuratorExportLayout) layout;
      g_assert_true (curator_export_options_set_splits (&o, "train=0.5,test=0.5", &error));
      plan = export (f, &o);
      read_sources (out, &src);
      g_assert_cmpuint (src.rows->len - 1, ==, 22);
      for (guint r = 1; r < src.rows->len; r++)
        {
          g_autofree char *file = g_build_filename (out, CELL (src.rows, r, 1), NULL);
          g_autofree char *label = label_in_project (f, CELL (src.rows, r, 3));

          g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
          g_assert_cmpstr (CELL (src.rows, r, 2), ==, label);
          g_assert_false (g_hash_table_contains (sample_of, CELL (src.rows, r, 1)));  /* distinct files */
          g_hash_table_insert (sample_of, (gpointer) CELL (src.rows, r, 1), (gpointer) CELL (src.rows, r, 3));
        }

      if (layout == 0)
        /* The folder is the label. */
        for (guint r = 1; r < src.rows->len; r++)
          {
            g_auto(GStrv) parts = g_strsplit (CELL (src.rows, r, 1), "/", -1);

            g_assert_cmpuint (g_strv_length (parts), ==, 3);
            g_assert_cmpstr (parts[0], ==, CELL (src.rows, r, 0));
            g_assert_cmpstr (parts[1], ==, CELL (src.rows, r, 2));
          }
      else if (layout == 1)
        {
          g_autofree char *all_path = g_build_filename (out, "labels.csv", NULL);
          g_autoptr(GPtrArray) all = read_csv (all_path);

          g_assert_cmpstr (CELL (all, 0, 0), ==, "split");
          g_assert_cmpstr (CELL (all, 0, 1), ==, "file");
          g_assert_cmpstr (CELL (all, 0, 2), ==, "label");
          for (guint r = 1; r < all->len; r++)
            {
              const char *id = g_hash_table_lookup (sample_of, CELL (all, r, 1));
              g_autofree char *label = NULL;

              g_assert_nonnull (id);
              label = label_in_project (f, id);
              g_assert_cmpstr (CELL (all, r, 2), ==, label);
              n_rows++;
            }
          for (guint s = 0; s < 2; s++)
            {
              const char *split = s == 0 ? "train" : "test";
              g_autofree char *name = g_strconcat (split, ".csv", NULL);
              g_autofree char *path = g_build_filename (out, name, NULL);
              g_autoptr(GPtrArray) one = read_csv (path);
              guint expected = 0;

              g_assert_cmpstr (CELL (one, 0, 0), ==, "file");
              for (guint r = 1; r < all->len; r++)
                if (strcmp (CELL (all, r, 0), split) == 0)
                  {
                    expected++;
                    g_assert_cmpstr (CELL (one, expected, 0), ==, CELL (all, r, 1));
                    g_assert_cmpstr (CELL (one, expected, 1), ==, CELL (all, r, 2));
                  }
              g_assert_cmpuint (one->len - 1, ==, expected);
            }
          g_assert_cmpuint (n_rows, ==, 22);
        }
      else
        for (guint s = 0; s < 2; s++)
          {
            const char *split = s == 0 ? "train" : "test";
            g_autofree char *path = g_build_filename (out, split, "metadata.jsonl", NULL);
            g_autofree char *text = NULL;
            g_auto(GStrv) lines = NULL;

            g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
            lines = g_strsplit (text, "\n", -1);
            for (guint l = 0; lines[l] != NULL && lines[l][0] != '\0'; l++)
              {
                g_autoptr(JsonParser) parser = json_parser_new ();
                JsonObject *row;
                g_autofree char *rel = NULL;
                g_autofree char *label = NULL;
                const char *id;

                g_assert_true (json_parser_load_from_data (parser, lines[l], -1, NULL));
                row = json_node_get_object (json_parser_get_root (parser));
                /* file_name is relative to the metadata file's folder */
                rel = g_strconcat (split, "/", json_object_get_string_member (row, "file_name"), NULL);
                id = g_hash_table_lookup (sample_of, rel);
                g_assert_nonnull (id);
                label = label_in_project (f, id);
                g_assert_cmpstr (json_object_get_string_member (row, "label"), ==, label);
                n_rows++;
              }
          }
      if (layout == 2)
        g_assert_cmpuint (n_rows, ==, 22);
      sources_clear (&src);
      curator_export_options_clear (&o);
    }

  /* Two files called cat-00.png in one folder: the first in path order keeps
   * its name, the other gets ~2; the same every time. */
  {
    g_autofree char *out = out_path (f, "collide");
    g_autoptr(CuratorExportPlan) plan = NULL;
    CuratorExportOptions o;
    Sources src = { 0 };

    curator_export_options_init (&o, out);
    g_assert_true (curator_export_options_set_splits (&o, "train=1", NULL));
    plan = export (f, &o);
    read_sources (out, &src);
    for (guint r = 1; r < src.rows->len; r++)
      {
        if (strcmp (CELL (src.rows, r, 4), "cat/cat-00.png") == 0)
          g_assert_cmpstr (CELL (src.rows, r, 1), ==, "train/cat/cat-00.png");
        if (strcmp (CELL (src.rows, r, 4), "cat/sub/cat-00.png") == 0)
          g_assert_cmpstr (CELL (src.rows, r, 1), ==, "train/cat/cat-00~2.png");
        if (strcmp (CELL (src.rows, r, 4), "cat/a,b \"q\".png") == 0)
          g_assert_cmpstr (CELL (src.rows, r, 1), ==, "train/cat/a,b \"q\".png");
      }
    g_assert_cmpuint (count_files (out), ==, 4);   /* README.md, curation.json, sources.csv, train */
    sources_clear (&src);
    curator_export_options_clear (&o);
  }
}

/* link / symlink / copy / none. */
static void
test_files (Fixture *f, gconstpointer data)
{
  add_class (f, NULL, "cat", 6);
  add_class (f, NULL, "dog", 6);
  index_dataset (f, NULL);

  for (guint mode = 0; mode < 4; mode++)
    {
      g_autofree char *out = out_path (f, "out");
      g_autoptr(CuratorExportPlan) plan = NULL;
      g_autoptr(GError) error = NULL;
      CuratorExportOptions o;
      CuratorExportReport report = { 0 };
      Sources src = { 0 };

      curator_export_options_init (&o, out);
      o.force = TRUE;
      o.files = (CuratorExportFiles) mode;
      o.layout = CURATOR_EXPORT_LAYOUT_CSV;
      g_assert_true (curator_export_run (f->db, &o, &report, &plan, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      read_sources (out, &src);
      g_assert_cmpuint (src.rows->len - 1, ==, 12);
      for (guint r = 1; r < src.rows->len; r++)
        {
          g_autofree char *source = g_build_filename (f->root, CELL (src.rows, r, 4), NULL);
          g_autofree char *file = g_build_filename (out, CELL (src.rows, r, 1), NULL);
          g_autofree char *a_bytes = NULL;
          g_autofree char *b_bytes = NULL;
          gsize a_n = 0, b_n = 0;
          GStatBuf a, b;

          g_assert_cmpint (g_stat (source, &b), ==, 0);
          switch (o.files)
            {
            case CURATOR_EXPORT_FILES_LINK:
              g_assert_cmpint (g_stat (file, &a), ==, 0);
              g_assert_cmpuint (a.st_ino, ==, b.st_ino);
              break;
            case CURATOR_EXPORT_FILES_SYMLINK:
              {
                g_autofree char *target = g_file_read_link (file, &error);

                g_assert_no_error (error);
                g_assert_cmpstr (target, ==, source);
              }
              break;
            case CURATOR_EXPORT_FILES_COPY:
              g_assert_cmpint (g_lstat (file, &a), ==, 0);
              g_assert_true (S_ISREG (a.st_mode));
              g_assert_cmpuint (a.st_ino, !=, b.st_ino);
              g_assert_true (g_file_get_contents (file, &a_bytes, &a_n, NULL));
              g_assert_true (g_file_get_contents (source, &b_bytes, &b_n, NULL));
              g_assert_cmpmem (a_bytes, a_n, b_bytes, b_n);
              break;
            case CURATOR_EXPORT_FILES_NONE:
              /* the manifest names the source itself */
              g_assert_cmpstr (CELL (src.rows, r, 1), ==, source);
              break;
            default:
              g_assert_not_reached ();
            }
        }
      g_assert_cmpuint (report.n_linked, ==, mode == CURATOR_EXPORT_FILES_LINK ? 12 : 0);
      g_assert_cmpuint (report.n_symlinked, ==, mode == CURATOR_EXPORT_FILES_SYMLINK ? 12 : 0);
      g_assert_cmpuint (report.n_copied, ==, mode == CURATOR_EXPORT_FILES_COPY ? 12 : 0);
      g_assert_cmpuint (report.n_copy_fallbacks, ==, 0);
      if (mode == CURATOR_EXPORT_FILES_NONE)
        {
          g_autofree char *train = g_build_filename (out, "train", NULL);

          g_assert_false (g_file_test (train, G_FILE_TEST_EXISTS));   /* no image files */
        }
      curator_export_report_clear (&report);
      sources_clear (&src);
      curator_export_options_clear (&o);
    }

  /* imagefolder with no files makes no sense: refused. */
  {
    g_autofree char *out = out_path (f, "nothing");
    g_autoptr(GError) error = NULL;
    CuratorExportOptions o;

    curator_export_options_init (&o, out);
    o.files = CURATOR_EXPORT_FILES_NONE;
    g_assert_false (curator_export_run (f->db, &o, NULL, NULL, NULL, NULL, NULL, &error));
    g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
    g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
    curator_export_options_clear (&o);
  }
}

static const char *const fixture_entries[] = {
  "data", "p.curator", "p.curator-wal", "p.curator-shm", "out", "mine", NULL
};

/* An existing OUT: refused without --force; with it, only an earlier
 * export or an empty folder is replaced. */
static void
test_existing (Fixture *f, gconstpointer data)
{
  g_autofree char *out = out_path (f, "out");
  g_autofree char *mine = out_path (f, "mine");
  g_autofree char *marker = g_build_filename (out, "marker.txt", NULL);
  g_autofree char *keep = g_build_filename (mine, "keep.txt", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorExportPlan) plan = NULL;
  CuratorExportOptions o;
  CuratorExportReport report = { 0 };

  add_class (f, NULL, "cat", 5);
  add_class (f, NULL, "dog", 5);
  index_dataset (f, NULL);
  curator_export_options_init (&o, out);
  plan = export (f, &o);
  g_assert_true (g_file_set_contents (marker, "x", 1, NULL));

  g_assert_false (curator_export_run (f->db, &o, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "--force"));
  g_clear_error (&error);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));   /* untouched */

  o.force = TRUE;
  g_assert_true (curator_export_run (f->db, &o, &report, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (report.replaced);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));  /* the old export is gone */
  curator_export_report_clear (&report);

  /* Not an export: never replaced. */
  g_assert_cmpint (g_mkdir (mine, 0755), ==, 0);
  g_assert_true (g_file_set_contents (keep, "precious", -1, NULL));
  g_free (o.out);
  o.out = g_strdup (mine);
  g_assert_false (curator_export_run (f->db, &o, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (g_file_test (keep, G_FILE_TEST_EXISTS));

  /* Never inside the dataset (the next index would read it as a class). */
  {
    g_autofree char *inside = g_build_filename (f->root, "export", NULL);
    CuratorExportOptions e;

    curator_export_options_init (&e, inside);
    g_assert_false (curator_export_run (f->db, &e, NULL, NULL, NULL, NULL, NULL, &error));
    g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_false (g_file_test (inside, G_FILE_TEST_EXISTS));
    g_free (e.out);
    e.out = g_strdup (f->root);
    e.force = TRUE;
    g_assert_false (curator_export_run (f->db, &e, NULL, NULL, NULL, NULL, NULL, &error));
    g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
    g_clear_error (&error);
    curator_export_options_clear (&e);
  }

  /* Nothing left to export: refused, nothing written. */
  {
    g_autofree char *empty = out_path (f, "empty");
    CuratorExportOptions e;

    for (guint i = 0; i < 5; i++)
      {
        g_autofree char *a = g_strdup_printf ("cat/cat-%02u.png", i);
        g_autofree char *b = g_strdup_printf ("dog/dog-%02u.png", i);

        decide (f, a, CURATOR_ACTION_EXCLUDE, NULL);
        decide (f, b, CURATOR_ACTION_EXCLUDE, NULL);
      }
    curator_export_options_init (&e, empty);
    g_assert_false (curator_export_run (f->db, &e, NULL, NULL, NULL, NULL, NULL, &error));
    g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "nothing to export"));
    g_clear_error (&error);
    g_assert_false (g_file_test (empty, G_FILE_TEST_EXISTS));
    curator_export_options_clear (&e);
    for (guint i = 0; i < 10; i++)
      g_assert_cmpint (curator_db_undo (f->db, CURATOR_ACTOR_CLI, &error), >, 0);
  }

  /* An empty folder is fine to fill. */
  g_assert_cmpint (g_unlink (keep), ==, 0);
  g_assert_true (curator_export_run (f->db, &o, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_strays (f->tmp, fixture_entries), ==, 0);   /* no temporary folders left */
  curator_export_options_clear (&o);
}

typedef struct {
  const CuratorExportPlan *plan;
  gboolean                 removed;
} Saboteur;

/* Progress comes before the first file is written: remove the last source
 * still there, one the export reaches late. */
static void
remove_a_source (double fraction, const char *message, gpointer data)
{
  Saboteur *s = data;

  for (guint i = s->plan->entries->len; i > 0 && !s->removed; i--)
    {
      const CuratorExportEntry *e = &g_array_index (s->plan->entries, CuratorExportEntry, i - 1);

      s->removed = g_unlink (e->source) == 0;
    }
}

static void
test_vanished_source (Fixture *f, gconstpointer data)
{
  g_autofree char *out = out_path (f, "out");
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorExportPlan) plan = NULL;
  CuratorExportOptions o;
  Saboteur saboteur = { 0 };

  add_class (f, NULL, "cat", 30);
  add_class (f, NULL, "dog", 30);
  index_dataset (f, NULL);
  for (guint mode = 0; mode < 2; mode++)
    {
      curator_export_options_init (&o, out);
      o.files = mode == 0 ? CURATOR_EXPORT_FILES_LINK : CURATOR_EXPORT_FILES_COPY;
      plan = curator_export_plan_new (f->db, &o, &error);
      g_assert_no_error (error);
      saboteur.plan = plan;
      saboteur.removed = FALSE;
      g_assert_false (curator_export_write (plan, NULL, NULL, remove_a_source, &saboteur, &error));
      g_assert_true (saboteur.removed);
      g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
      g_assert_nonnull (strstr (error->message, "vanished"));
      g_clear_error (&error);
      g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
      g_assert_cmpuint (count_strays (f->tmp, fixture_entries), ==, 0);
      g_clear_pointer (&plan, curator_export_plan_free);
      curator_export_options_clear (&o);
    }
}

/* Runs `curator export` inside a private mount namespace where @dir is a
 * read-only bind mount (@how "ro"), a 64 KiB tmpfs ("full") or a roomy
 * tmpfs ("tmpfs": another file system than the dataset's). Prints the exit
 * code, what @dir holds afterwards and the export's curation.json, from
 * inside the namespace (the mount goes with it). Returns FALSE when the
 * namespace cannot be made here. */
static gboolean
run_confined (Fixture *f, const char *how, const char *dir, const char *files,
              char **out_text, char **err_text)
{
  const char *script =
    "dir=\"$1\"; how=\"$2\"; shift 2\n"
    "case \"$how\" in\n"
    "  ro) mount --bind \"$dir\" \"$dir\" && mount -o remount,bind,ro \"$dir\" || exit 97 ;;\n"
    "  full) mount -t tmpfs -o size=64k curator-test \"$dir\" || exit 97 ;;\n"
    "  *) mount -t tmpfs -o size=16m curator-test \"$dir\" || exit 97 ;;\n"
    "esac\n"
    "echo confined\n"
    "export LC_ALL=C LANGUAGE=\n"   /* messages checked below are in English */
    "\"$@\"; echo \"exit=$?\"\n"
    "ls -A \"$dir\"\n"
    "echo ---\n"
    "cat \"$dir/out/curation.json\" 2>/dev/null\n";
  g_autofree char *out = g_build_filename (dir, "out", NULL);
  const char *argv[] = {
    "unshare", "-rm", "sh", "-c", script, "sh", dir, how,
    g_getenv ("CURATOR_EXE"), "export", out, "--project", f->project, "--files", files, NULL
  };
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_nonnull (argv[8]);
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     out_text, err_text, &status, &error))
    return FALSE;
  return strstr (*out_text, "confined\n") != NULL;
}

static void
test_read_only_and_full (Fixture *f, gconstpointer data)
{
  g_autofree char *target = out_path (f, "target");
  const char *hows[] = { "ro", "full" };

  /* 40 files: more than a 64 KiB tmpfs holds (a file takes at least a page). */
  add_class (f, NULL, "cat", 20);
  add_class (f, NULL, "dog", 20);
  index_dataset (f, NULL);
  g_assert_cmpint (g_mkdir (target, 0755), ==, 0);

  for (guint h = 0; h < G_N_ELEMENTS (hows); h++)
    {
      g_autofree char *out_text = NULL;
      g_autofree char *err_text = NULL;
      g_auto(GStrv) lines = NULL;

      if (!run_confined (f, hows[h], target, "copy", &out_text, &err_text))
        {
          g_test_skip ("cannot make a private mount namespace here (unshare -rm): "
                       "read-only and full-disk targets not tested");
          return;
        }
      g_test_message ("%s: stdout %s stderr %s", hows[h], out_text, err_text);
      /* Failed with a message that says why, and left nothing behind. */
      g_assert_nonnull (strstr (out_text, "exit=1\n"));
      g_assert_nonnull (strstr (err_text, h == 0 ? "Read-only file system" : "No space left on device"));
      lines = g_strsplit (out_text, "\n", -1);
      g_assert_cmpstr (lines[0], ==, "confined");
      g_assert_true (g_str_has_prefix (lines[1], "exit="));
      g_assert_cmpstr (lines[2], ==, "---");   /* `ls -A` of the target: empty */
    }
  g_assert_cmpuint (count_files (target), ==, 0);

  /* Hard links cannot cross file systems: copies, and the card says so. */
  {
    g_autofree char *out_text = NULL;
    g_autofree char *err_text = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *files;
    const char *json;

    g_assert_true (run_confined (f, "tmpfs", target, "link", &out_text, &err_text));
    g_assert_nonnull (strstr (out_text, "exit=0\n"));
    json = strstr (out_text, "---\n");
    g_assert_nonnull (json);
    g_assert_true (json_parser_load_from_data (parser, json + 4, -1, NULL));
    files = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "files");
    g_assert_cmpint (json_object_get_int_member (files, "hard_links"), ==, 0);
    g_assert_cmpint (json_object_get_int_member (files, "copies_where_a_link_was_impossible"), ==, 40);
  }
}

/* Hostile class names stay inside OUT, and two classes never share a folder. */
/* A killed export leaves its temporary folder next to OUT; the next export
 * removes it, but not the folder of an export still writing (its lock is
 * held, here by the test). */
static void
test_stale_temp (Fixture *f, gconstpointer data)
{
  g_autofree char *out = out_path (f, "out");
  g_autofree char *stale = out_path (f, ".out.curator-tmp-AAAAAA");
  g_autofree char *stale_file = g_build_filename (stale, "train", "cat", "x.png", NULL);
  g_autofree char *live = out_path (f, ".out.curator-tmp-BBBBBB");
  g_autofree char *live_file = g_build_filename (live, "sources.csv", NULL);
  g_autofree char *other = out_path (f, ".other.curator-tmp-CCCCCC");
  g_autoptr(GError) error = NULL;
  CuratorExportOptions o;
  CuratorExportReport report = { 0 };
  int live_fd;

  add_class (f, NULL, "cat", 5);
  add_class (f, NULL, "dog", 5);
  index_dataset (f, NULL);

  g_assert_cmpint (g_mkdir_with_parents (stale_file, 0755), ==, 0);   /* a folder named like a file: any tree */
  g_assert_cmpint (g_mkdir (live, 0755), ==, 0);
  g_assert_true (g_file_set_contents (live_file, "split,file\n", -1, NULL));
  g_assert_cmpint (g_mkdir (other, 0755), ==, 0);
  live_fd = open (live, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (live_fd, >=, 0);
  g_assert_cmpint (flock (live_fd, LOCK_EX | LOCK_NB), ==, 0);

  curator_export_options_init (&o, out);
  g_assert_true (curator_export_run (f->db, &o, &report, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (live_file, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (other, G_FILE_TEST_IS_DIR));            /* another OUT's: not ours */
  g_assert_cmpuint (report.notes->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (report.notes, 0), ".out.curator-tmp-AAAAAA"));
  curator_export_report_clear (&report);

  /* Once its writer is gone (the lock released), it is stale too; the
   * export's own temporary folder never stays behind. */
  close (live_fd);
  o.force = TRUE;
  g_assert_true (curator_export_run (f->db, &o, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (live, G_FILE_TEST_EXISTS));
  {
    g_autoptr(GDir) dir = g_dir_open (f->tmp, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_false (g_str_has_prefix (name, ".out.curator-tmp-"));
  }
  curator_export_options_clear (&o);
}

/* options.exporter: a second exporter of the registry writes its manifests
 * inside the export; an unknown one is refused before OUT exists. */
static void
test_exporter (Fixture *f, gconstpointer data)
{
  g_autofree char *out = out_path (f, "out");
  g_autofree char *labels = g_build_filename (out, "labels.csv", NULL);
  g_autofree char *sources = g_build_filename (out, "sources.csv", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorExportPlan) plan = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  CuratorExportOptions o;

  add_class (f, NULL, "cat", 5);
  add_class (f, NULL, "dog", 5);
  index_dataset (f, NULL);

  curator_export_options_init (&o, out);
  o.exporter = g_strdup ("no-such-exporter");
  g_assert_false (curator_export_run (f->db, &o, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "no-such-exporter"));
  g_clear_error (&error);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  /* The csv layout's manifest over an imagefolder export. */
  g_free (o.exporter);
  o.exporter = g_strdup ("csv");
  plan = export (f, &o);
  g_assert_true (g_file_test (labels, G_FILE_TEST_IS_REGULAR));
  rows = read_csv (labels);
  g_assert_cmpuint (rows->len, ==, plan->entries->len + 1);
  for (guint i = 1; i < rows->len; i++)
    {
      GPtrArray *row = g_ptr_array_index (rows, i);
      g_autofree char *file = g_build_filename (out, (const char *) g_ptr_array_index (row, 1), NULL);

      g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
    }
  g_assert_true (g_file_test (sources, G_FILE_TEST_IS_REGULAR));
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *card = read_card (out, parser);
    JsonObject *options = json_object_get_object_member (card, "options");

    g_assert_cmpstr (json_object_get_string_member (options, "exporter"), ==, "csv");
  }
  curator_export_options_clear (&o);
}

static void
test_hostile_names (Fixture *f, gconstpointer data)
{
  const char *hostile[] = {
    "../evil", "..", ".", "a/b", "a_b", "A_B", "/abs", "..\\..\\win", "tab\there", "bell\007",
    "\xff\xfe not utf-8", "metadata.jsonl", ".hidden", NULL /* long, below */,
  };
  g_autofree char *long_name = g_strnfill (300, 'x');
  guint n = G_N_ELEMENTS (hostile);

  hostile[n - 1] = long_name;
  add_class (f, NULL, "plain", n * 2);
  index_dataset (f, NULL);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (curator_db_ensure_class (f->db, hostile[i], &error), >, 0);
      g_assert_no_error (error);
      for (guint j = 0; j < 2; j++)
        {
          g_autofree char *path = g_strdup_printf ("plain/plain-%02u.png", 2 * i + j);

          decide (f, path, CURATOR_ACTION_RELABEL, hostile[i]);
        }
    }

  for (guint layout = 0; layout < 3; layout++)
    {
      g_autofree char *out = out_path (f, "out");
      g_autoptr(CuratorExportPlan) plan = NULL;
      g_autoptr(GHashTable) folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      CuratorExportOptions o;
      Sources src = { 0 };

      curator_export_options_init (&o, out);
      o.force = TRUE;
      o.layout = (CuratorExportLayout) layout;
      o.rebalance = CURATOR_EXPORT_REBALANCE_WEIGHTS;
      g_assert_true (curator_export_options_set_splits (&o, "train=1", NULL));
      plan = export (f, &o);
      g_assert_cmpuint (count_strays (f->tmp, fixture_entries), ==, 0);
      read_sources (out, &src);
      g_assert_cmpuint (src.rows->len - 1, ==, 2 * n);
      for (guint r = 1; r < src.rows->len; r++)
        {
          g_auto(GStrv) parts = g_strsplit (CELL (src.rows, r, 1), "/", -1);
          g_autofree char *file = g_build_filename (out, CELL (src.rows, r, 1), NULL);
          g_autofree char *real = realpath (file, NULL);
          g_autofree char *real_out = realpath (out, NULL);

          /* OUT/train/CLASS/file, each part a safe name */
          g_assert_cmpuint (g_strv_length (parts), ==, 3);
          for (guint p = 0; p < 3; p++)
            {
              g_assert_cmpuint (strlen (parts[p]), >, 0);
              g_assert_cmpuint (strlen (parts[p]), <=, 255);
              g_assert_true (parts[p][0] != '.');
              g_assert_true (g_utf8_validate (parts[p], -1, NULL));
              for (const char *c = parts[p]; *c != '\0'; c++)
                g_assert_true ((guchar) *c >= 0x20 && *c != '\\');
            }
          g_assert_nonnull (real);
          g_assert_true (g_str_has_prefix (real, real_out));
          if (layout == CURATOR_EXPORT_LAYOUT_JSONL)
            g_assert_cmpstr (parts[1], !=, "metadata.jsonl");
          g_hash_table_add (folders, g_utf8_casefold (parts[1], -1));
        }
      /* every class its own folder, case-insensitively too */
      g_assert_cmpuint (g_hash_table_size (folders), ==, n);
      sources_clear (&src);
      curator_export_options_clear (&o);
    }
  {
    g_autofree char *evil = out_path (f, "evil");

    g_assert_false (g_file_test (evil, G_FILE_TEST_EXISTS));
  }
}

static gboolean
same_file (const char *a_dir, const char *b_dir, const char *name)
{
  g_autofree char *a = g_build_filename (a_dir, name, NULL);
  g_autofree char *b = g_build_filename (b_dir, name, NULL);
  g_autofree char *a_text = NULL;
  g_autofree char *b_text = NULL;
  gsize a_n, b_n;

  g_assert_true (g_file_get_contents (a, &a_text, &a_n, NULL));
  g_assert_true (g_file_get_contents (b, &b_text, &b_n, NULL));
  return a_n == b_n && memcmp (a_text, b_text, a_n) == 0;
}

/* The same project, options and seed: byte-identical manifests and card. */
static void
test_determinism (Fixture *f, gconstpointer data)
{
  const char *const classes[] = { "cat", "dog", "owl" };
  const char *files[] = {
    "labels.csv", "train.csv", "val.csv", "test.csv", "sources.csv", "curation.json", "README.md",
    "class_weights.json", NULL
  };
  const ScoreSpec specs[] = {
    { "cat/cat-00.png", { 0.05f, 0.9f, 0.05f }, CURATOR_ISSUE_LABEL, "dog", 0 },
    { "dog/dog-01.png", { 0.3f, 0.2f, 0.5f }, CURATOR_ISSUE_LABEL, "owl", 0 },
  };
  g_autofree char *out1 = out_path (f, "one");
  g_autofree char *out2 = out_path (f, "two");
  g_autofree char *out3 = out_path (f, "three");

  add_class (f, NULL, "cat", 25);
  add_class (f, NULL, "dog", 14);
  add_class (f, NULL, "owl", 9);
  tu_write_png (f->root, "cat/copy.png", 16, 16, 1001);   /* an exact duplicate of cat-01 */
  index_dataset (f, NULL);
  add_run (f, classes, specs, G_N_ELEMENTS (specs));

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CuratorExportPlan) plan = NULL;
      CuratorExportOptions o;

      curator_export_options_init (&o, i == 0 ? out1 : i == 1 ? out2 : out3);
      o.layout = CURATOR_EXPORT_LAYOUT_CSV;
      o.flagged = CURATOR_EXPORT_FLAGGED_RELABEL_IF_CONFIDENT;
      o.rebalance = CURATOR_EXPORT_REBALANCE_WEIGHTS;
      o.seed = i == 2 ? 99 : 5;
      plan = export (f, &o);
      curator_export_options_clear (&o);
    }
  for (guint i = 0; files[i] != NULL; i++)
    g_assert_true (same_file (out1, out2, files[i]));
  /* ...and the seed matters. */
  g_assert_false (same_file (out1, out3, "sources.csv"));
}

/* The command line over the same code. */
static void
test_cli (Fixture *f, gconstpointer data)
{
  g_autofree char *out = out_path (f, "out");
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;

  add_class (f, NULL, "cat", 10);
  add_class (f, NULL, "dog", 10);
  index_dataset (f, NULL);
  g_clear_pointer (&f->db, curator_db_close);

  g_assert_cmpint (tu_run (&stdout_text, &stderr_text, "export", out, "--project", f->project,
                           "--split", "70/30", "--layout", "jsonl", "--rebalance", "oversample",
                           "--seed", "3", "--json", NULL), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, stdout_text, -1, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (o, "samples"), ==, 20);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (
                     json_object_get_object_member (o, "splits"), "train"), "samples"), ==, 14);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (o, "files"), "hard_links"), ==, 20);
  {
    g_autofree char *meta = g_build_filename (out, "test", "metadata.jsonl", NULL);

    g_assert_true (g_file_test (meta, G_FILE_TEST_IS_REGULAR));
  }
  g_clear_pointer (&stdout_text, g_free);
  g_clear_pointer (&stderr_text, g_free);

  /* Exists: refused without --force; fine with it. */
  g_assert_cmpint (tu_run (NULL, &stderr_text, "export", out, "--project", f->project, NULL), ==, 2);
  g_assert_nonnull (strstr (stderr_text, "--force"));
  g_assert_cmpint (tu_run (NULL, NULL, "export", out, "--project", f->project, "--force",
                           "--split", "train=0.6,val=0.2,test=0.2", "--flagged", "keep",
                           "--target", "median", "--files", "symlink", NULL), ==, 0);
  /* Bad options. */
  g_assert_cmpint (tu_run (NULL, NULL, "export", out, "--project", f->project, "--flagged", "maybe", NULL), ==, 2);
  g_assert_cmpint (tu_run (NULL, NULL, "export", out, "--project", f->project, "--split", "1/2/3/4", NULL), ==, 2);
  g_assert_cmpint (tu_run (NULL, NULL, "export", out, "--project", f->project, "--layout", "tar", NULL), ==, 2);
  g_assert_cmpint (tu_run (NULL, NULL, "export", "--project", f->project, NULL), ==, 2);
  g_assert_cmpint (tu_run (NULL, NULL, "export", out, "--project", "/nonexistent/p.curator", NULL), ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/export/split-targets", test_targets);
  g_test_add_func ("/export/assign/stratified", test_assign_stratified);
  g_test_add_func ("/export/assign/groups-property", test_assign_groups_property);
  g_test_add_func ("/export/assign/fixed", test_assign_fixed);
  g_test_add_func ("/export/options", test_options);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/export/plain", test_plain);
  ADD ("/export/duplicates", test_duplicates);
  ADD ("/export/keep-splits", test_keep_splits);
  ADD ("/export/policies", test_policies);
  ADD ("/export/rebalance", test_rebalance);
  ADD ("/export/layouts", test_layouts);
  ADD ("/export/files", test_files);
  ADD ("/export/existing", test_existing);
  ADD ("/export/vanished-source", test_vanished_source);
  ADD ("/export/read-only-and-full", test_read_only_and_full);
  ADD ("/export/stale-temp", test_stale_temp);
  ADD ("/export/exporter", test_exporter);
  ADD ("/export/hostile-names", test_hostile_names);
  ADD ("/export/determinism", test_determinism);
  ADD ("/export/cli", test_cli);
#undef ADD
  return g_test_run ();
}

/* test-issues.c: one run's issues put together (curator-issues.h).
 *
 * Facts: a flipped label among look-alikes is flagged, with the right
 * suggestion and a reason that names the classifier's view and the
 * neighbours' labels; the clean samples around it are left alone; a label a
 * person confirmed is not flagged again unless the classifier's probability
 * of it fell by more than the drop since; unlabelled samples get
 * suggestions; a small class is a minority, with its estimated true count;
 * exact copies with different labels are a conflict, resolved towards the
 * group; the evaluation against a truth computes what it says; results
 * survive a round trip through the project file, and the reference for a
 * decided sample is read from the run before the decision. */
#include "curator-config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "curator-issues.h"

#define DIMS 16

typedef struct {
  gsize     n;
  guint     k;
  gint     *truth;
  gint     *labels;
  float    *features;
  float    *probs;
  gboolean *verified;
  double   *reference;
  GPtrArray *samples;   /* CuratorDbSample, for hashes and statistics */
  const char *names[4];
} Data;

static void
data_free (Data *d)
{
  g_free (d->truth);
  g_free (d->labels);
  g_free (d->features);
  g_free (d->probs);
  g_free (d->verified);
  g_free (d->reference);
  g_ptr_array_unref (d->samples);
  g_free (d);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Data, data_free)

/* @sizes[c] samples of class c: features around orthogonal centres, and a
 * "classifier" that gives the true class most of the probability (as an
 * out-of-sample model does for a sample whose label is wrong). */
static Data *
make_data (const gsize *sizes, guint k, guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  Data *d = g_new0 (Data, 1);
  static const char *names[4] = { "cat", "dog", "bird", "frog" };
  gsize i = 0;

  d->k = k;
  for (guint c = 0; c < k; c++)
    d->n += sizes[c];
  d->truth = g_new (gint, d->n);
  d->labels = g_new (gint, d->n);
  d->features = g_new (float, d->n * DIMS);
  d->probs = g_new (float, d->n * k);
  d->verified = g_new0 (gboolean, d->n);
  d->reference = g_new (double, d->n);
  d->samples = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_sample_free);
  memcpy (d->names, names, sizeof names);
  for (guint c = 0; c < k; c++)
    for (gsize m = 0; m < sizes[c]; m++, i++)
      {
        CuratorDbSample *s = curator_db_sample_new ();
        double p_true = g_rand_double_range (rand, 0.6, 0.95);

        d->truth[i] = d->labels[i] = (gint) c;
        d->reference[i] = NAN;
        for (gsize j = 0; j < DIMS; j++)
          d->features[i * DIMS + j] = (float) g_rand_double_range (rand, -0.15, 0.15) + (j == c ? 1.0f : 0.0f);
        for (guint q = 0; q < k; q++)
          d->probs[i * k + q] = (float) (q == c ? p_true : (1.0 - p_true) / (k - 1));

        s->id = (gint64) i + 1;
        s->status = CURATOR_SAMPLE_OK;
        s->pixel_hash = g_strdup_printf ("pixels-%" G_GSIZE_FORMAT, i);
        s->phash = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
        s->width = s->height = 32;
        s->channels = 3;
        s->luma_p05 = 20;
        s->luma_p50 = 110;
        s->luma_p95 = 220;
        s->contrast = 50;
        s->entropy = 7;
        s->blur = 2000;
        g_ptr_array_add (d->samples, s);
      }
  return d;
}

static CuratorIssuesResult *
analyze (Data *d, const CuratorIssuesOptions *options)
{
  CuratorIssuesInput in = {
    d->n, d->k, d->names, d->probs, d->labels, d->features, DIMS, d->verified, d->reference,
    (CuratorDbSample *const *) d->samples->pdata,
  };
  g_autoptr(GError) error = NULL;
  CuratorIssuesResult *r = curator_issues_analyze (&in, options, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

static void
test_planted_flip (void)
{
  const gsize sizes[] = { 100, 100, 100 };
  g_autoptr(Data) d = make_data (sizes, 3, 1);
  g_autoptr(CuratorIssuesResult) r = NULL;
  gsize flip = 5, n_flagged = 0;

  /* A cat the classifier is sure of, labelled dog. */
  d->labels[flip] = 1;
  d->probs[flip * 3 + 0] = 0.9f;
  d->probs[flip * 3 + 1] = 0.04f;
  d->probs[flip * 3 + 2] = 0.06f;
  r = analyze (d, NULL);
  g_assert_true (r->issues[flip] & CURATOR_ISSUE_LABEL);
  g_assert_cmpint (r->suggested[flip], ==, 0);
  g_assert_cmpfloat (r->suggestion_confidence[flip], >, 0.5);
  g_assert_cmpfloat (r->knn_agreement[flip], <, 0.2);
  g_test_message ("reason: %s", r->reasons[flip]);
  g_assert_nonnull (strstr (r->reasons[flip], "the classifier gives 'cat'"));
  g_assert_nonnull (strstr (r->reasons[flip], "of its 10 nearest neighbours are labelled 'cat'"));
  g_assert_nonnull (strstr (r->reasons[flip], "'dog'"));
  /* It is the worst-ranked sample. */
  for (gsize i = 0; i < d->n; i++)
    {
      if (i != flip)
        g_assert_cmpfloat (r->label_quality[i], >, r->label_quality[flip]);
      n_flagged += (r->issues[i] & CURATOR_ISSUE_LABEL) != 0;
    }
  g_assert_cmpuint (n_flagged, ==, 1);
  g_assert_cmpuint (r->n_label_issues, ==, 1);
  /* Nothing else is wrong with these samples. */
  for (gsize i = 0; i < d->n; i++)
    if (i != flip)
      {
        g_assert_cmphex (r->issues[i] & ~(guint32) CURATOR_ISSUE_OUTLIER, ==, 0);
        g_assert_null (r->issues[i] ? NULL : r->reasons[i]);
      }
  g_assert_cmpuint (r->classes[1].n_label_issues, ==, 1);
  g_assert_cmpuint (r->classes[1].n_labelled, ==, 101);
}

static void
test_mixing_helps_when_classifier_is_unsure (void)
{
  const gsize sizes[] = { 100, 100, 100 };
  g_autoptr(Data) d = make_data (sizes, 3, 2);
  g_autoptr(CuratorIssuesResult) with = NULL;
  g_autoptr(CuratorIssuesResult) without = NULL;
  CuratorIssuesOptions o;
  gsize flip = 7;

  /* The classifier hesitates between the label and the truth; the
   * neighbours do not. */
  d->labels[flip] = 1;
  d->probs[flip * 3 + 0] = 0.48f;
  d->probs[flip * 3 + 1] = 0.42f;
  d->probs[flip * 3 + 2] = 0.10f;
  curator_issues_options_init_default (&o);
  with = analyze (d, &o);
  o.knn_weight = 0;
  without = analyze (d, &o);
  g_assert_cmpfloat (with->label_quality[flip], <, without->label_quality[flip]);
  g_assert_cmpfloat (with->classifier_quality[flip], ==, without->label_quality[flip]);
  g_assert_cmpfloat_with_epsilon (with->label_quality[flip],
                                  0.7 * 0.42 + 0.3 * with->knn_agreement[flip], 1e-6);
}

static void
test_confirmed (void)
{
  const gsize sizes[] = { 100, 100, 100 };
  g_autoptr(Data) d = make_data (sizes, 3, 3);
  gsize flip = 5;

  d->labels[flip] = 1;
  d->probs[flip * 3 + 0] = 0.9f;
  d->probs[flip * 3 + 1] = 0.04f;
  d->probs[flip * 3 + 2] = 0.06f;
  d->verified[flip] = TRUE;
  /* Confirmed, no run before the decision: trusted. */
  {
    g_autoptr(CuratorIssuesResult) r = analyze (d, NULL);
    g_assert_false (r->issues[flip] & CURATOR_ISSUE_LABEL);
    g_assert_cmpint (r->suggested[flip], ==, -1);
    g_assert_null (r->reasons[flip]);
  }
  /* It looked as doubtful when the person confirmed it: still trusted. */
  d->reference[flip] = d->probs[flip * 3 + 1] + 0.2;
  {
    g_autoptr(CuratorIssuesResult) r = analyze (d, NULL);
    g_assert_false (r->issues[flip] & CURATOR_ISSUE_LABEL);
  }
  /* The classifier was sure of it then and is not now: flagged again. */
  d->reference[flip] = 0.9;
  {
    g_autoptr(CuratorIssuesResult) r = analyze (d, NULL);
    g_assert_true (r->issues[flip] & CURATOR_ISSUE_LABEL);
    g_assert_cmpint (r->suggested[flip], ==, 0);
    g_assert_nonnull (strstr (r->reasons[flip], "decided by a person"));
    g_assert_nonnull (strstr (r->reasons[flip], "fell from 0.90"));
  }
}

static void
test_unlabelled (void)
{
  const gsize sizes[] = { 100, 100, 100 };
  g_autoptr(Data) d = make_data (sizes, 3, 4);
  g_autoptr(CuratorIssuesResult) r = NULL;
  const gsize unlabelled[] = { 3, 150, 299 };

  for (guint u = 0; u < G_N_ELEMENTS (unlabelled); u++)
    d->labels[unlabelled[u]] = -1;
  r = analyze (d, NULL);
  for (guint u = 0; u < G_N_ELEMENTS (unlabelled); u++)
    {
      gsize i = unlabelled[u];

      g_assert_true (r->issues[i] & CURATOR_ISSUE_UNLABELLED);
      g_assert_false (r->issues[i] & CURATOR_ISSUE_LABEL);
      g_assert_cmpint (r->suggested[i], ==, d->truth[i]);
      g_assert_cmpfloat (r->suggestion_confidence[i], >, 0.5);
      g_assert_true (isnan (r->label_quality[i]));
      g_assert_nonnull (g_str_has_prefix (r->reasons[i], "unlabelled") ? r->reasons[i] : NULL);
    }
  g_assert_cmpuint (r->n_suggestions, >=, 3);
}

static void
test_minority (void)
{
  const gsize sizes[] = { 200, 200, 200, 20 };
  g_autoptr(Data) d = make_data (sizes, 4, 5);
  g_autoptr(CuratorIssuesResult) r = analyze (d, NULL);

  for (guint c = 0; c < 3; c++)
    {
      g_assert_false (r->classes[c].minority);
      g_assert_cmpuint (r->classes[c].n_labelled, ==, 200);
    }
  g_assert_true (r->classes[3].minority);
  g_assert_cmpuint (r->classes[3].n_labelled, ==, 20);
  g_assert_cmpfloat (fabs (r->classes[3].n_estimated - 20), <, 3);
  g_assert_cmpfloat (fabs (r->classes[3].ratio_to_median - 0.1), <, 0.02);
  g_assert_cmpfloat (fabs (r->classes[3].ratio_to_largest - 0.1), <, 0.02);
  g_assert_true (r->issues[610] & CURATOR_ISSUE_MINORITY);
  g_assert_nonnull (strstr (r->reasons[610], "'frog' is a minority class"));
  g_assert_false (r->issues[10] & CURATOR_ISSUE_MINORITY);
}

static void
test_duplicate_conflict (void)
{
  const gsize sizes[] = { 100, 100, 100 };
  g_autoptr(Data) d = make_data (sizes, 3, 6);
  g_autoptr(CuratorIssuesResult) r = NULL;
  CuratorDbSample *a = g_ptr_array_index (d->samples, 20);
  CuratorDbSample *b = g_ptr_array_index (d->samples, 120);
  CuratorDbSample *c = g_ptr_array_index (d->samples, 30);
  CuratorDbSample *e = g_ptr_array_index (d->samples, 40);

  /* 120 is a copy of cat 20 (same pixels, same features and probabilities)
   * filed as a dog; 30 and 40 are two cats with the same pixels. */
  g_free (b->pixel_hash);
  b->pixel_hash = g_strdup (a->pixel_hash);
  b->phash = a->phash;
  memcpy (d->features + 120 * DIMS, d->features + 20 * DIMS, sizeof (float) * DIMS);
  memcpy (d->probs + 120 * 3, d->probs + 20 * 3, sizeof (float) * 3);
  g_free (e->pixel_hash);
  e->pixel_hash = g_strdup (c->pixel_hash);
  e->phash = c->phash;
  r = analyze (d, NULL);

  g_assert_cmpuint (r->duplicate_group[20], !=, 0);
  g_assert_cmpuint (r->duplicate_group[20], ==, r->duplicate_group[120]);
  g_assert_cmpuint (r->duplicate_group[30], ==, r->duplicate_group[40]);
  g_assert_cmpuint (r->duplicate_group[30], !=, r->duplicate_group[20]);
  g_assert_cmpuint (r->n_duplicate_groups, ==, 2);
  g_assert_true (r->issues[20] & CURATOR_ISSUE_DUPLICATE);
  g_assert_true (r->issues[120] & CURATOR_ISSUE_DUPLICATE_LABEL_CONFLICT);
  g_assert_true (r->issues[20] & CURATOR_ISSUE_DUPLICATE_LABEL_CONFLICT);
  g_assert_false (r->issues[30] & CURATOR_ISSUE_DUPLICATE_LABEL_CONFLICT);
  g_assert_true (r->issues[30] & CURATOR_ISSUE_DUPLICATE);
  /* The dog copy is told to be a cat; the cat keeps its label. */
  g_assert_cmpint (r->suggested[120], ==, 0);
  g_assert_cmpint (r->suggested[20], ==, -1);
  g_assert_nonnull (strstr (r->reasons[120], "exact copy of 1 other sample"));
}

static void
test_without_features_or_samples (void)
{
  const gsize sizes[] = { 50, 50 };
  g_autoptr(Data) d = make_data (sizes, 2, 7);
  CuratorIssuesInput in = { d->n, d->k, d->names, d->probs, d->labels, NULL, 0, NULL, NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorIssuesResult) r = NULL;

  d->labels[3] = 1;
  d->probs[3 * 2 + 0] = 0.95f;
  d->probs[3 * 2 + 1] = 0.05f;
  r = curator_issues_analyze (&in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (r->knn);
  g_assert_true (isnan (r->outlier_score[0]));
  g_assert_true (r->issues[3] & CURATOR_ISSUE_LABEL);
  g_assert_cmpint (r->suggested[3], ==, 0);
  g_assert_null (strstr (r->reasons[3], "neighbours"));
}

static void
test_empty (void)
{
  const char *names[] = { "cat", "dog" };
  CuratorIssuesInput in = { 0, 2, names, NULL, NULL, NULL, 0, NULL, NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorIssuesResult) r = curator_issues_analyze (&in, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  g_assert_cmpuint (r->n_label_issues, ==, 0);
  g_assert_cmpuint (r->classes[1].n_labelled, ==, 0);
  g_assert_false (r->classes[1].minority);
}

static void
test_deterministic (void)
{
  const gsize sizes[] = { 150, 150, 150 };
  g_autoptr(Data) d = make_data (sizes, 3, 8);
  g_autoptr(CuratorIssuesResult) a = NULL;
  g_autoptr(CuratorIssuesResult) b = NULL;

  for (gsize i = 0; i < d->n; i += 37)
    d->labels[i] = (d->labels[i] + 1) % 3;
  a = analyze (d, NULL);
  b = analyze (d, NULL);
  g_assert_cmpmem (a->issues, d->n * sizeof (guint32), b->issues, d->n * sizeof (guint32));
  g_assert_cmpmem (a->label_quality, d->n * sizeof (double), b->label_quality, d->n * sizeof (double));
  g_assert_cmpmem (a->knn->neighbours, d->n * 10 * sizeof (guint32), b->knn->neighbours, d->n * 10 * sizeof (guint32));
  for (gsize i = 0; i < d->n; i++)
    g_assert_cmpstr (a->reasons[i], ==, b->reasons[i]);
}

/* A graph handed in (the previous self-training round's) gives exactly
 * what building it again gives, with no time spent on it. */
static void
test_reuse_graph (void)
{
  const gsize sizes[] = { 150, 150, 150 };
  g_autoptr(Data) d = make_data (sizes, 3, 8);
  g_autoptr(CuratorIssuesResult) a = NULL;
  g_autoptr(CuratorIssuesResult) b = NULL;
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < d->n; i += 37)
    d->labels[i] = (d->labels[i] + 1) % 3;
  a = analyze (d, NULL);
  {
    CuratorIssuesInput in = {
      d->n, d->k, d->names, d->probs, d->labels, d->features, DIMS, d->verified, d->reference,
      (CuratorDbSample *const *) d->samples->pdata, a->knn,
    };

    /* Different probabilities, as in a later round: the graph is reused,
     * the rest follows the new probabilities. */
    d->probs[0] = 0.96f;
    d->probs[1] = 0.02f;
    d->probs[2] = 0.02f;
    b = curator_issues_analyze (&in, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  g_assert_true (b->knn != a->knn);
  g_assert_cmpfloat (b->seconds_knn, ==, 0.0);
  g_assert_cmpfloat (b->seconds_project, ==, 0.0);
  g_assert_cmpmem (a->knn->neighbours, d->n * 10 * sizeof (guint32), b->knn->neighbours, d->n * 10 * sizeof (guint32));
  g_assert_cmpfloat (a->outlier_threshold, ==, b->outlier_threshold);
  g_assert_cmpmem (a->outlier_score, d->n * sizeof (double), b->outlier_score, d->n * sizeof (double));
  g_assert_cmpmem (a->duplicate_group, d->n * sizeof (guint), b->duplicate_group, d->n * sizeof (guint));
  /* Sample 0 (a cat labelled dog): the new probabilities are sure it is a
   * cat. */
  g_assert_cmpint (d->labels[0], ==, 1);
  g_assert_true (b->issues[0] & CURATOR_ISSUE_LABEL);
  g_assert_cmpint (b->suggested[0], ==, 0);
  for (gsize i = 1; i < d->n; i++)
    g_assert_cmpuint (a->issues[i] & ~CURATOR_ISSUE_LABEL, ==, b->issues[i] & ~CURATOR_ISSUE_LABEL);
}

static void
test_evaluate (void)
{
  /* 6 samples: 1, 3 and 4 are wrong. Flags on 0, 1, 3: two hits, one miss. */
  const gint labels[] = { 0, 1, 1, 0, 2, 2 };
  const gint truth[] = { 0, 0, 1, 1, 1, 2 };
  const gboolean flagged[] = { TRUE, TRUE, FALSE, TRUE, FALSE, FALSE };
  const double quality[] = { 0.2, 0.1, 0.9, 0.05, 0.6, 0.8 };
  const gint suggested[] = { 1, 0, -1, 2, -1, -1 };
  const gint predicted[] = { 0, 0, 1, 1, 2, 2 };
  g_autoptr(CuratorIssuesEval) e = curator_issues_evaluate (labels, truth, flagged, quality, suggested,
                                                           predicted, 6, 3);

  g_assert_cmpuint (e->n_samples, ==, 6);
  g_assert_cmpuint (e->n_errors, ==, 3);
  g_assert_cmpuint (e->n_flagged, ==, 3);
  g_assert_cmpuint (e->n_flagged_errors, ==, 2);
  g_assert_cmpfloat_with_epsilon (e->precision, 2.0 / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (e->recall, 2.0 / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (e->f1, 2.0 / 3.0, 1e-12);
  /* Errors have quality 0.1, 0.05, 0.6; correct ones 0.2, 0.9, 0.8: of the
   * 9 (error, correct) pairs the error is lower in 3 + 3 + 2 = 8. */
  g_assert_cmpfloat_with_epsilon (e->auroc, 8.0 / 9.0, 1e-12);
  /* Fewer samples than 100: precision over all of them. */
  g_assert_cmpfloat_with_epsilon (e->precision_at[0], 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (e->accuracy, 5.0 / 6.0, 1e-12);
  /* Suggestions on flagged samples: 0 -> 1 (wrong), 1 -> 0 (right), 3 -> 2
   * (wrong); on flagged errors (1, 3): one of two. */
  g_assert_cmpuint (e->n_suggestions, ==, 3);
  g_assert_cmpfloat_with_epsilon (e->suggestion_accuracy, 1.0 / 3.0, 1e-12);
  g_assert_cmpuint (e->n_error_suggestions, ==, 2);
  g_assert_cmpfloat_with_epsilon (e->error_suggestion_accuracy, 0.5, 1e-12);
  g_assert_cmpuint (e->class_errors[0], ==, 1);
  g_assert_cmpuint (e->class_flagged_errors[1], ==, 1);

  /* Ties share their rank: all qualities equal is a coin toss. */
  {
    const double flat[] = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 };
    g_autoptr(CuratorIssuesEval) t = curator_issues_evaluate (labels, truth, flagged, flat, NULL, NULL, 6, 3);
    g_assert_cmpfloat_with_epsilon (t->auroc, 0.5, 1e-12);
    g_assert_true (isnan (t->accuracy));
  }
}

static void
test_names (void)
{
  guint32 mask = 0;
  g_autofree char *text = curator_issues_to_string (CURATOR_ISSUE_LABEL | CURATOR_ISSUE_GREY_AS_RGB);

  g_assert_cmpstr (text, ==, "label, grey-as-rgb");
  g_assert_cmpstr (curator_issue_to_string (CURATOR_ISSUE_NEAR_DUPLICATE), ==, "near-duplicate");
  g_assert_true (curator_issue_mask_from_string ("duplicate", &mask));
  g_assert_cmphex (mask, ==, CURATOR_ISSUES_KIND_DUPLICATE);
  g_assert_null (curator_issue_to_string (CURATOR_ISSUE_LABEL | CURATOR_ISSUE_OUTLIER));
  g_assert_true (curator_issue_mask_from_string ("quality", &mask));
  g_assert_cmphex (mask, ==, CURATOR_ISSUES_KIND_QUALITY);
  g_assert_true (curator_issue_mask_from_string ("unlabelled", &mask));
  g_assert_cmphex (mask, ==, CURATOR_ISSUE_UNLABELLED);
  g_assert_false (curator_issue_mask_from_string ("nonsense", &mask));
  for (int b = 0; b < CURATOR_ISSUE_N_BITS; b++)
    {
      g_assert_true (curator_issue_mask_from_string (curator_issue_to_string (1u << b), &mask));
      g_assert_cmphex (mask, ==, (b == 0) ? CURATOR_ISSUES_KIND_LABEL : 1u << b);
    }
}

/* ---- with a project ---------------------------------------------------------------- */

static void
test_store_and_reference (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("curator-test-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "p.curator", NULL);
  const gsize sizes[] = { 30, 30 };
  g_autoptr(Data) d = make_data (sizes, 2, 9);
  g_autoptr(CuratorIssuesResult) r = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GArray) nb = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  CuratorDb *db;
  gint64 class_ids[2], sample_ids[60], run1, run2;
  double reference[60];

  g_assert_no_error (error);
  db = curator_db_open (path, TRUE, &error);
  g_assert_no_error (error);
  class_ids[0] = curator_db_ensure_class (db, "cat", &error);
  class_ids[1] = curator_db_ensure_class (db, "dog", &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < d->n; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (d->samples, i);

      g_free (s->path);
      s->path = g_strdup_printf ("img%02" G_GSIZE_FORMAT ".png", i);
      s->given_label = class_ids[d->labels[i]];
      g_assert_true (curator_db_put_sample (db, s, &error));
      g_assert_no_error (error);
      sample_ids[i] = s->id;
    }

  /* Run 1, with its scores, before the person confirms sample 4. */
  run1 = curator_db_begin_run (db, class_ids, 2, NULL, NULL, &error);
  g_assert_no_error (error);
  r = analyze (d, NULL);
  {
    g_autoptr(GPtrArray) scores = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_score_free);

    for (gsize i = 0; i < d->n; i++)
      {
        CuratorDbScore *score = curator_db_score_new ();

        score->sample_id = sample_ids[i];
        score->n_probs = 2;
        score->probs = g_memdup2 (d->probs + i * 2, sizeof (float) * 2);
        curator_issues_fill_score (r, i, class_ids, score);
        g_ptr_array_add (scores, score);
      }
    g_assert_true (curator_db_put_scores (db, run1, (CuratorDbScore **) scores->pdata, scores->len, &error));
    g_assert_no_error (error);
  }
  g_assert_true (curator_issues_store (db, run1, sample_ids, class_ids, r, &error));
  g_assert_no_error (error);
  g_assert_true (curator_db_finish_run (db, run1, "done", NULL, NULL, &error));
  g_assert_no_error (error);

  /* The trust estimate reads back as it was computed, and agrees with the
   * one computed from the stored scores. */
  {
    CuratorIssuesTrust loaded, from_scores;
    g_autoptr(GPtrArray) scores = curator_db_list_scores (db, run1, &error);

    g_assert_no_error (error);
    g_assert_true (curator_issues_trust_load (db, run1, &loaded, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (loaded.n_labelled, ==, r->trust.n_labelled);
    g_assert_cmpuint (loaded.n_flagged, ==, r->n_label_issues);
    g_assert_cmpfloat (loaded.noise_rate, ==, r->trust.noise_rate);
    g_assert_cmpint (loaded.weak, ==, r->trust.weak);
    g_assert_true ((isnan (loaded.precision) && isnan (r->trust.precision)) ||
                   loaded.precision == r->trust.precision);
    for (guint i = 0; i < scores->len; i++)
      {
        CuratorDbScore *score = g_ptr_array_index (scores, i);
        gsize pos = 0;

        while (sample_ids[pos] != score->sample_id)
          pos++;
        score->p_label = d->probs[pos * 2 + d->labels[pos]];
      }
    curator_issues_trust_from_scores ((CuratorDbScore *const *) scores->pdata, scores->len, 2, &from_scores);
    g_assert_cmpfloat_with_epsilon (from_scores.accuracy, loaded.accuracy, 1e-12);
    g_assert_cmpfloat_with_epsilon (from_scores.noise_rate, loaded.noise_rate, 1e-12);
    g_assert_false (curator_issues_trust_load (db, run1 + 100, &loaded, &error));
    g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  /* Neighbours and class figures read back. */
  nb = curator_db_get_neighbours (db, run1, sample_ids[0], &error);
  g_assert_no_error (error);
  g_assert_cmpuint (nb->len, ==, 10);
  for (guint m = 0; m < nb->len; m++)
    {
      g_assert_cmpint (g_array_index (nb, CuratorDbNeighbour, m).sample_id, ==,
                       sample_ids[r->knn->neighbours[m]]);
      g_assert_cmpfloat (g_array_index (nb, CuratorDbNeighbour, m).similarity, ==, r->knn->similarities[m]);
    }
  rows = curator_db_list_run_classes (db, run1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 2);
  {
    CuratorDbRunClass *cat = g_ptr_array_index (rows, 0);

    g_assert_cmpint (cat->class_id, ==, class_ids[0]);
    g_assert_cmpint (cat->n_labelled, ==, 30);
    g_assert_cmpint (cat->n_joint, ==, 2);
    g_assert_cmpfloat (cat->joint[0] + cat->joint[1], ==, 30);
    g_assert_false (cat->minority);
    g_assert_cmpfloat_with_epsilon (cat->mean_label_quality, r->classes[0].mean_label_quality, 1e-9);
  }
  stored = curator_db_list_scores (db, run1, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < stored->len; i++)
    {
      CuratorDbScore *score = g_ptr_array_index (stored, i);

      g_assert_cmpint (score->duplicate_group, ==, r->duplicate_group[i]);
      g_assert_cmpuint (score->issues, ==, r->issues[i]);
    }

  /* The person confirms sample 4 and relabels sample 5. */
  g_usleep (2000);
  g_assert_cmpint (curator_db_record_decision (db, sample_ids[4], CURATOR_ACTION_CONFIRM, 0,
                                               CURATOR_ACTOR_HUMAN, 0, NULL, &error), >, 0);
  g_assert_cmpint (curator_db_record_decision (db, sample_ids[5], CURATOR_ACTION_RELABEL, class_ids[1],
                                               CURATOR_ACTOR_HUMAN, 0, NULL, &error), >, 0);
  g_assert_no_error (error);
  run2 = curator_db_begin_run (db, class_ids, 2, NULL, NULL, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GPtrArray) now = curator_db_list_samples (db, NULL, &error);

    g_assert_no_error (error);
    g_assert_true (curator_issues_reference_p_label (db, (CuratorDbSample *const *) now->pdata, now->len,
                                                     run2, reference, &error));
    g_assert_no_error (error);
  }
  /* Confirmed: what run 1 gave its label; relabelled to dog: what run 1
   * gave dog; undecided: none. */
  g_assert_cmpfloat (reference[4], ==, d->probs[4 * 2 + 0]);
  g_assert_cmpfloat (reference[5], ==, d->probs[5 * 2 + 1]);
  g_assert_true (isnan (reference[6]));

  curator_db_close (db);
  {
    g_autoptr(GDir) gdir = g_dir_open (dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (gdir)) != NULL)
      {
        g_autofree char *file = g_build_filename (dir, name, NULL);
        g_unlink (file);
      }
  }
  g_rmdir (dir);
}

/* The trust estimate, worked by hand (formula in curator-issues.h). */
static void
test_trust (void)
{
  double p_label[60], p_top[60];
  gboolean flagged[60];
  CuratorIssuesTrust t;
  double a, c, pi, eps, p_true, right;
  g_autofree char *text = NULL;

  /* 40 samples the model agrees with at 0.8, 20 it gives 0.1 (top 0.8), ten
   * of those flagged. */
  for (int i = 0; i < 60; i++)
    {
      p_top[i] = 0.8;
      p_label[i] = i < 40 ? 0.8 : 0.1;
      flagged[i] = i >= 50;
    }
  curator_issues_trust_estimate (p_label, p_top, flagged, 60, 3, &t);
  a = 40.0 / 60.0;
  c = 0.8;
  pi = (c - a) / (c - (1 - c) / 2);
  eps = pi / 2;
  p_true = (0.1 - eps) / (1 - 3 * eps);
  right = (1 - pi) * p_true / 0.1;
  g_assert_cmpuint (t.n_labelled, ==, 60);
  g_assert_cmpuint (t.n_flagged, ==, 10);
  g_assert_cmpfloat_with_epsilon (t.accuracy, a, 1e-12);
  g_assert_cmpfloat_with_epsilon (t.confidence, c, 1e-12);
  g_assert_cmpfloat_with_epsilon (t.noise_rate, pi, 1e-12);
  g_assert_cmpfloat_with_epsilon (t.precision, 1 - right, 1e-12);
  g_assert_cmpfloat (t.precision, >, 0.9);
  g_assert_false (t.weak);
  text = curator_issues_trust_describe (&t);
  g_assert_nonnull (strstr (text, "Estimated precision of the 10 label flags: 95%"));
  g_assert_null (strstr (text, "Warning"));
  g_clear_pointer (&text, g_free);

  /* A model exactly as accurate as it claims (mean top probability
   * (40 x 0.8 + 20 x 0.4) / 60 = 2/3, the share it agrees with) sees no
   * noise: its flags are its own confusions, estimated precision 0, and the
   * warning says so. */
  for (int i = 40; i < 60; i++)
    {
      p_top[i] = 0.4;
      p_label[i] = 0.05;
    }
  curator_issues_trust_estimate (p_label, p_top, flagged, 60, 3, &t);
  g_assert_cmpfloat (t.confidence, <, t.accuracy + 1e-12);
  g_assert_cmpfloat (t.noise_rate, ==, 0.0);
  g_assert_cmpfloat (t.precision, ==, 0.0);
  g_assert_true (t.weak);
  text = curator_issues_trust_describe (&t);
  g_assert_nonnull (strstr (text, "\nWarning: the model is too weak to vouch for these flags (fewer than half"));
  g_clear_pointer (&text, g_free);

  /* A model that claims to be right less than half the time vouches for
   * nothing, whatever the estimate. */
  for (int i = 0; i < 60; i++)
    {
      p_top[i] = 0.45;
      p_label[i] = i < 20 ? 0.45 : 0.01;
    }
  curator_issues_trust_estimate (p_label, p_top, flagged, 60, 3, &t);
  g_assert_cmpfloat (t.precision, >, 0.5);
  g_assert_true (t.weak);
  g_clear_pointer (&text, g_free);
  text = curator_issues_trust_describe (&t);
  g_assert_nonnull (strstr (text, "it expects to be right only 45% of the time"));
  g_clear_pointer (&text, g_free);

  /* Too few labelled samples for three classes: weak whatever the numbers;
   * unlabelled samples (NaN) are left out. */
  for (int i = 0; i < 60; i++)
    {
      p_top[i] = 0.8;
      p_label[i] = i < 40 ? 0.8 : 0.1;
    }
  for (int i = 0; i < 30; i++)
    p_label[i] = NAN;
  curator_issues_trust_estimate (p_label, p_top, flagged, 60, 3, &t);
  g_assert_cmpuint (t.n_labelled, ==, 30);
  g_assert_true (t.weak);
  text = curator_issues_trust_describe (&t);
  g_assert_nonnull (strstr (text, "only 30 labelled samples for 3 classes"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/issues/planted-flip", test_planted_flip);
  g_test_add_func ("/issues/mixing-helps", test_mixing_helps_when_classifier_is_unsure);
  g_test_add_func ("/issues/confirmed", test_confirmed);
  g_test_add_func ("/issues/unlabelled", test_unlabelled);
  g_test_add_func ("/issues/minority", test_minority);
  g_test_add_func ("/issues/duplicate-conflict", test_duplicate_conflict);
  g_test_add_func ("/issues/without-features", test_without_features_or_samples);
  g_test_add_func ("/issues/empty", test_empty);
  g_test_add_func ("/issues/deterministic", test_deterministic);
  g_test_add_func ("/issues/evaluate", test_evaluate);
  g_test_add_func ("/issues/names", test_names);
  g_test_add_func ("/issues/store-and-reference", test_store_and_reference);
  g_test_add_func ("/issues/trust", test_trust);
  g_test_add_func ("/issues/reuse-graph", test_reuse_graph);
  return g_test_run ();
}

/* test-cl.c: confident learning against cleanlab's own answers.
 *
 * The golden cases (../shared/testdata/confident-learning-vectors.json,
 * written by cleanlab 2.9) pin every output: thresholds, both joints, py,
 * the noise matrices, num_label_issues, the flags of each filter, the
 * ranking and the three label-quality scores. The hand-made cases state what
 * a user relies on: clean data flags nothing, an obvious flip is flagged and
 * ranked first, unlabelled samples change nothing, degenerate class
 * layouts give finite numbers. */
#include "curator-config.h"

#include "curator-cl.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#define TOLERANCE 1e-6

/* ---- golden vectors ----------------------------------------------------- */

typedef struct {
  gsize   n;
  guint   k;
  gint   *labels;
  double *probs;
} Inputs;

static void
inputs_clear (Inputs *in)
{
  g_clear_pointer (&in->labels, g_free);
  g_clear_pointer (&in->probs, g_free);
}

static void
read_inputs (JsonObject *c,
             Inputs     *in)
{
  JsonArray *labels = json_object_get_array_member (c, "labels");
  JsonArray *probs = json_object_get_array_member (c, "pred_probs");

  in->n = (gsize) json_object_get_int_member (c, "n");
  in->k = (guint) json_object_get_int_member (c, "k");
  g_assert_cmpuint (json_array_get_length (labels), ==, in->n);
  g_assert_cmpuint (json_array_get_length (probs), ==, in->n);
  in->labels = g_new (gint, in->n);
  in->probs = g_new (double, in->n * in->k);
  for (gsize i = 0; i < in->n; i++)
    {
      JsonArray *row = json_array_get_array_element (probs, (guint) i);

      in->labels[i] = (gint) json_array_get_int_element (labels, (guint) i);
      g_assert_cmpuint (json_array_get_length (row), ==, in->k);
      for (guint j = 0; j < in->k; j++)
        in->probs[i * in->k + j] = json_array_get_double_element (row, j);
    }
}

/* A golden mismatch is reported and the comparison goes on, so one run
 * shows every output that differs; the test fails at the end. */
G_GNUC_PRINTF (1, 2)
static void
mismatch (const char *format,
          ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_test_message ("MISMATCH %s", message);
  g_test_fail ();
}

static void
assert_doubles (const char *what,
                JsonArray  *expected,
                const double *got,
                gsize       n)
{
  g_assert_cmpuint (json_array_get_length (expected), ==, n);
  for (gsize i = 0; i < n; i++)
    {
      double want = json_array_get_double_element (expected, (guint) i);

      if (!(fabs (want - got[i]) <= TOLERANCE))
        mismatch ("%s[%" G_GSIZE_FORMAT "]: expected %.9g, got %.9g", what, i, want, got[i]);
    }
}

/* A k x k matrix given as an array of rows. */
static void
assert_matrix (const char *what,
               JsonArray  *expected,
               const double *got,
               guint       k)
{
  g_assert_cmpuint (json_array_get_length (expected), ==, k);
  for (guint r = 0; r < k; r++)
    {
      g_autofree char *name = g_strdup_printf ("%s row %u", what, r);

      assert_doubles (name, json_array_get_array_element (expected, r), got + (gsize) r * k, k);
    }
}

static void
assert_joint (const char   *what,
              JsonArray    *expected,
              const gint64 *got,
              guint         k)
{
  g_assert_cmpuint (json_array_get_length (expected), ==, k);
  for (guint r = 0; r < k; r++)
    {
      JsonArray *row = json_array_get_array_element (expected, r);

      for (guint c = 0; c < k; c++)
        if (json_array_get_int_element (row, c) != got[(gsize) r * k + c])
          mismatch ("%s[%u][%u]: expected %" G_GINT64_FORMAT ", got %" G_GINT64_FORMAT,
                   what, r, c, json_array_get_int_element (row, c), got[(gsize) r * k + c]);
    }
}

static void
assert_positions (const char  *what,
                  JsonArray   *expected,
                  const gsize *got,
                  gsize        n_got)
{
  gsize n_want = json_array_get_length (expected);

  for (gsize i = 0; i < MIN (n_want, n_got); i++)
    if ((gsize) json_array_get_int_element (expected, (guint) i) != got[i])
      {
        mismatch ("%s: entry %" G_GSIZE_FORMAT " is %" G_GSIZE_FORMAT ", expected %" G_GINT64_FORMAT
                  " (%" G_GSIZE_FORMAT " expected, %" G_GSIZE_FORMAT " got)",
                  what, i, got[i], json_array_get_int_element (expected, (guint) i), n_want, n_got);
        return;
      }
  if (n_got != n_want)
    mismatch ("%s: %" G_GSIZE_FORMAT " positions, expected %" G_GSIZE_FORMAT, what, n_got, n_want);
}

static gsize
mask_to_positions (const gboolean *mask,
                   gsize           n,
                   gsize          *positions)
{
  gsize m = 0;

  for (gsize i = 0; i < n; i++)
    if (mask[i])
      positions[m++] = i;
  return m;
}

static void
test_golden_case (gconstpointer data)
{
  JsonObject *c = json_node_get_object ((JsonNode *) data);
  JsonObject *issues = json_object_get_object_member (c, "issues");
  JsonObject *scores = json_object_get_object_member (c, "scores");
  Inputs in = { 0 };
  read_inputs (c, &in);
  gsize n = in.n, kk = (gsize) in.k * in.k;
  g_autofree double *thresholds = g_new (double, in.k);
  g_autofree gint64 *joint = g_new (gint64, kk);
  g_autofree double *py = g_new (double, in.k);
  g_autofree double *noise = g_new (double, kk);
  g_autofree double *inverse = g_new (double, kk);
  g_autofree gboolean *mask = g_new (gboolean, n);
  g_autofree gsize *positions = g_new (gsize, n);
  g_autofree double *quality = g_new (double, n);

  g_assert_true (curator_cl_thresholds (in.labels, in.probs, n, in.k, thresholds));
  assert_doubles ("thresholds", json_object_get_array_member (c, "thresholds"), thresholds, in.k);

  g_assert_true (curator_cl_confident_joint (in.labels, in.probs, n, in.k, NULL, FALSE, joint, NULL));
  assert_joint ("confident_joint_uncalibrated",
                json_object_get_array_member (c, "confident_joint_uncalibrated"), joint, in.k);
  g_assert_true (curator_cl_confident_joint (in.labels, in.probs, n, in.k, thresholds, TRUE, joint, NULL));
  assert_joint ("confident_joint_calibrated",
                json_object_get_array_member (c, "confident_joint_calibrated"), joint, in.k);

  g_assert_true (curator_cl_estimate (in.labels, n, joint, in.k, py, noise, inverse));
  assert_doubles ("py", json_object_get_array_member (c, "py"), py, in.k);
  assert_matrix ("noise_matrix", json_object_get_array_member (c, "noise_matrix"), noise, in.k);
  assert_matrix ("inverse_noise_matrix",
                 json_object_get_array_member (c, "inverse_noise_matrix"), inverse, in.k);

  g_assert_cmpint ((gint64) curator_cl_num_label_issues (in.labels, in.probs, n, in.k), ==,
                   json_object_get_int_member (c, "num_label_issues_off_diagonal"));

  for (guint f = CURATOR_CL_PRUNE_BY_NOISE_RATE; f <= CURATOR_CL_PREDICTED_NEQ_GIVEN; f++)
    {
      const char *name = curator_cl_filter_to_string ((CuratorClFilter) f);

      g_assert_true (curator_cl_find_label_issues (in.labels, in.probs, n, in.k,
                                                   (CuratorClFilter) f, mask));
      assert_positions (name, json_object_get_array_member (issues, name),
                        positions, mask_to_positions (mask, n, positions));
    }

  for (guint m = CURATOR_CL_RANK_SELF_CONFIDENCE; m <= CURATOR_CL_RANK_CONFIDENCE_WEIGHTED_ENTROPY; m++)
    {
      const char *name = curator_cl_rank_to_string ((CuratorClRank) m);

      g_assert_true (curator_cl_label_quality (in.labels, in.probs, n, in.k,
                                               (CuratorClRank) m, quality));
      assert_doubles (name, json_object_get_array_member (scores, name), quality, n);
    }

  /* The one-call API agrees with the pieces, with cleanlab's defaults. */
  g_autoptr(CuratorClResult) result = curator_cl_analyze (in.labels, in.probs, n, in.k,
                                                          CURATOR_CL_PRUNE_BY_NOISE_RATE,
                                                          CURATOR_CL_RANK_SELF_CONFIDENCE);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->n_labelled, ==, n);
  assert_doubles ("result thresholds", json_object_get_array_member (c, "thresholds"),
                  result->thresholds, in.k);
  assert_joint ("result confident_joint",
                json_object_get_array_member (c, "confident_joint_calibrated"),
                result->confident_joint, in.k);
  assert_doubles ("result py", json_object_get_array_member (c, "py"), result->py, in.k);
  assert_matrix ("result noise_matrix", json_object_get_array_member (c, "noise_matrix"),
                 result->noise_matrix, in.k);
  assert_matrix ("result inverse_noise_matrix",
                 json_object_get_array_member (c, "inverse_noise_matrix"),
                 result->inverse_noise_matrix, in.k);
  g_assert_cmpint ((gint64) result->num_label_issues, ==,
                   json_object_get_int_member (c, "num_label_issues_off_diagonal"));
  assert_positions ("result prune_by_noise_rate",
                    json_object_get_array_member (issues, "prune_by_noise_rate"),
                    positions, mask_to_positions (result->is_issue, n, positions));
  assert_positions ("ranked_by_self_confidence",
                    json_object_get_array_member (c, "ranked_by_self_confidence"),
                    result->ranked_issues, result->n_issues);
  assert_doubles ("result self_confidence",
                  json_object_get_array_member (scores, "self_confidence"),
                  result->label_quality, n);

  inputs_clear (&in);
}

static void
test_golden_absent (gconstpointer data)
{
  g_autofree char *message =
    g_strdup_printf ("golden vectors not found at %s (set CURATOR_SHARED_DIR to the shared/ folder)",
                     (const char *) data);
  g_test_skip (message);
}

/* ---- generated data ----------------------------------------------------- */

/* n samples of k classes: a true class, probabilities that favour it by
 * @confidence, and the given label flipped to another class with
 * probability @noise. Deterministic for a seed. */
static void
make_dataset (guint32  seed,
              gsize    n,
              guint    k,
              double   confidence,
              double   noise,
              Inputs  *in)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  in->n = n;
  in->k = k;
  in->labels = g_new (gint, n);
  in->probs = g_new (double, n * k);
  for (gsize i = 0; i < n; i++)
    {
      guint truth = (guint) g_rand_int_range (rand, 0, (gint32) k);
      double *row = in->probs + i * k;
      double sum = 0.;

      for (guint j = 0; j < k; j++)
        {
          row[j] = exp (g_rand_double_range (rand, -1.0, 1.0)
                        + (j == truth ? confidence * g_rand_double (rand) : 0.0));
          sum += row[j];
        }
      for (guint j = 0; j < k; j++)
        row[j] /= sum;
      in->labels[i] = (gint) truth;
      if (g_rand_double (rand) < noise)
        in->labels[i] = (gint) ((truth + (guint) g_rand_int_range (rand, 1, (gint32) k)) % k);
    }
}

static void
assert_all_finite (const double *values,
                   gsize         n)
{
  for (gsize i = 0; i < n; i++)
    g_assert_true (isfinite (values[i]));
}

/* Samples labelled with what the model confidently predicts: nothing to flag. */
static void
test_clean_flags_nothing (void)
{
  Inputs in = { 0 };

  make_dataset (7, 120, 4, 6.0, 0.0, &in);
  /* every given label is the argmax */
  for (gsize i = 0; i < in.n; i++)
    {
      guint best = 0;

      for (guint j = 1; j < in.k; j++)
        if (in.probs[i * in.k + j] > in.probs[i * in.k + best])
          best = j;
      in.labels[i] = (gint) best;
    }

  g_autofree gboolean *mask = g_new (gboolean, in.n);
  for (guint f = CURATOR_CL_PRUNE_BY_NOISE_RATE; f <= CURATOR_CL_PREDICTED_NEQ_GIVEN; f++)
    {
      g_assert_true (curator_cl_find_label_issues (in.labels, in.probs, in.n, in.k,
                                                   (CuratorClFilter) f, mask));
      for (gsize i = 0; i < in.n; i++)
        g_assert_false (mask[i]);
    }
  g_assert_cmpuint (curator_cl_num_label_issues (in.labels, in.probs, in.n, in.k), ==, 0);

  g_autoptr(CuratorClResult) result = curator_cl_analyze (in.labels, in.probs, in.n, in.k,
                                                          CURATOR_CL_PRUNE_BY_NOISE_RATE,
                                                          CURATOR_CL_RANK_SELF_CONFIDENCE);
  g_assert_cmpuint (result->n_issues, ==, 0);
  inputs_clear (&in);
}

/* One sample given class 0 that the model is sure is class 1, among clean
 * samples and a few the model only mildly disagrees with. */
static void
test_obvious_flip (void)
{
  const guint k = 3;
  const gsize n = 31, flip = 17;
  g_autofree gint *labels = g_new (gint, n);
  g_autofree double *probs = g_new (double, n * k);

  for (gsize i = 0; i < n; i++)
    {
      guint c = (guint) (i % k);

      labels[i] = (gint) c;
      for (guint j = 0; j < k; j++)
        probs[i * k + j] = j == c ? 0.90 - 0.002 * (double) i : 0.05 + 0.001 * (double) i;
    }
  /* mild disagreements: the argmax is another class, by a little */
  for (gsize i = 3; i < 12; i += 4)
    {
      guint c = (guint) labels[i], other = (c + 1) % k;

      probs[i * k + c] = 0.40;
      probs[i * k + other] = 0.45;
      probs[i * k + (other + 1) % k] = 0.15;
    }
  labels[flip] = 0;
  probs[flip * k + 0] = 0.01;
  probs[flip * k + 1] = 0.98;
  probs[flip * k + 2] = 0.01;

  g_autofree gboolean *mask = g_new (gboolean, n);
  for (guint f = CURATOR_CL_PRUNE_BY_NOISE_RATE; f <= CURATOR_CL_PREDICTED_NEQ_GIVEN; f++)
    {
      g_assert_true (curator_cl_find_label_issues (labels, probs, n, k, (CuratorClFilter) f, mask));
      g_assert_true (mask[flip]);
    }

  for (guint m = CURATOR_CL_RANK_SELF_CONFIDENCE; m <= CURATOR_CL_RANK_CONFIDENCE_WEIGHTED_ENTROPY; m++)
    {
      g_autoptr(CuratorClResult) result = curator_cl_analyze (labels, probs, n, k,
                                                              CURATOR_CL_PREDICTED_NEQ_GIVEN,
                                                              (CuratorClRank) m);
      /* the flip and the three mild disagreements */
      g_assert_cmpuint (result->n_issues, ==, 4);
      g_assert_cmpuint (result->ranked_issues[0], ==, flip);
      for (gsize r = 1; r < result->n_issues; r++)
        g_assert_cmpfloat (result->label_quality[result->ranked_issues[r - 1]], <=,
                           result->label_quality[result->ranked_issues[r]]);
    }
}

/* Adding unlabelled samples (label -1, any probabilities) anywhere changes
 * none of the numbers and none of the flags of the labelled ones. */
static void
test_unlabelled_ignored (void)
{
  Inputs base = { 0 };
  make_dataset (11, 150, 4, 3.0, 0.25, &base);
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  gsize n = base.n * 3 / 2;
  guint k = base.k;
  g_autofree gint *labels = g_new (gint, n);
  g_autofree double *probs = g_new (double, n * k);
  g_autofree gsize *base_of = g_new (gsize, n);   /* position in base, or G_MAXSIZE */
  gsize b = 0;

  for (gsize i = 0; i < n; i++)
    {
      gboolean unlabelled = b == base.n || (n - i > base.n - b && g_rand_boolean (rand));

      if (unlabelled)
        {
          /* confidently "wrong"-looking rows: they would move thresholds and joints */
          labels[i] = i % 2 ? -1 : -7;
          for (guint j = 0; j < k; j++)
            probs[i * k + j] = j == (guint) (i % k) ? 0.97 : 0.01;
          base_of[i] = G_MAXSIZE;
        }
      else
        {
          labels[i] = base.labels[b];
          memcpy (probs + i * k, base.probs + b * k, sizeof (double) * k);
          base_of[i] = b++;
        }
    }
  g_assert_cmpuint (b, ==, base.n);

  for (guint f = CURATOR_CL_PRUNE_BY_NOISE_RATE; f <= CURATOR_CL_PREDICTED_NEQ_GIVEN; f++)
    {
      g_autoptr(CuratorClResult) want = curator_cl_analyze (base.labels, base.probs, base.n, k,
                                                            (CuratorClFilter) f,
                                                            CURATOR_CL_RANK_NORMALIZED_MARGIN);
      g_autoptr(CuratorClResult) got = curator_cl_analyze (labels, probs, n, k,
                                                           (CuratorClFilter) f,
                                                           CURATOR_CL_RANK_NORMALIZED_MARGIN);

      g_assert_cmpuint (got->n_samples, ==, n);
      g_assert_cmpuint (got->n_labelled, ==, base.n);
      g_assert_cmpmem (got->thresholds, sizeof (double) * k, want->thresholds, sizeof (double) * k);
      g_assert_cmpmem (got->confident_joint, sizeof (gint64) * k * k,
                       want->confident_joint, sizeof (gint64) * k * k);
      g_assert_cmpmem (got->py, sizeof (double) * k, want->py, sizeof (double) * k);
      g_assert_cmpmem (got->noise_matrix, sizeof (double) * k * k,
                       want->noise_matrix, sizeof (double) * k * k);
      g_assert_cmpmem (got->inverse_noise_matrix, sizeof (double) * k * k,
                       want->inverse_noise_matrix, sizeof (double) * k * k);
      g_assert_cmpuint (got->num_label_issues, ==, want->num_label_issues);
      g_assert_cmpuint (got->n_issues, ==, want->n_issues);
      g_assert_cmpuint (want->n_issues, >, 0);
      for (gsize i = 0; i < n; i++)
        {
          if (base_of[i] == G_MAXSIZE)
            {
              g_assert_false (got->is_issue[i]);
              g_assert_true (isnan (got->label_quality[i]));
            }
          else
            {
              g_assert_cmpint (got->is_issue[i], ==, want->is_issue[base_of[i]]);
              g_assert_cmpfloat (got->label_quality[i], ==, want->label_quality[base_of[i]]);
            }
        }
      for (gsize r = 0; r < got->n_issues; r++)
        g_assert_cmpuint (base_of[got->ranked_issues[r]], ==, want->ranked_issues[r]);
    }
  inputs_clear (&base);
}

static void
assert_result_sane (const CuratorClResult *result)
{
  guint k = result->n_classes;
  gint64 joint_sum = 0;
  double py_sum = 0.;

  assert_all_finite (result->thresholds, k);
  assert_all_finite (result->py, k);
  assert_all_finite (result->noise_matrix, (gsize) k * k);
  assert_all_finite (result->inverse_noise_matrix, (gsize) k * k);
  for (gsize c = 0; c < (gsize) k * k; c++)
    {
      g_assert_cmpint (result->confident_joint[c], >=, 0);
      joint_sum += result->confident_joint[c];
    }
  g_assert_cmpint (joint_sum, ==, (gint64) result->n_labelled);
  for (guint j = 0; j < k; j++)
    {
      g_assert_cmpfloat (result->py[j], >, 0.0);
      py_sum += result->py[j];
    }
  g_assert_cmpfloat_with_epsilon (py_sum, 1.0, 1e-9);
  for (gsize i = 0; i < result->n_samples; i++)
    if (result->is_issue[i])
      g_assert_true (isfinite (result->label_quality[i]));
}

/* A class nobody is given, k = 2, everything one class, nothing labelled:
 * finite numbers, no crash, and the empty class can never be pruned. */
static void
test_degenerate (void)
{
  Inputs in = { 0 };

  /* class 2 of 3 has no given samples, though the model predicts it */
  make_dataset (21, 90, 3, 3.0, 0.2, &in);
  for (gsize i = 0; i < in.n; i++)
    if (in.labels[i] == 2)
      in.labels[i] = (gint) (i % 2);
  for (guint f = CURATOR_CL_PRUNE_BY_NOISE_RATE; f <= CURATOR_CL_PREDICTED_NEQ_GIVEN; f++)
    for (guint m = CURATOR_CL_RANK_SELF_CONFIDENCE; m <= CURATOR_CL_RANK_CONFIDENCE_WEIGHTED_ENTROPY; m++)
      {
        g_autoptr(CuratorClResult) result = curator_cl_analyze (in.labels, in.probs, in.n, in.k,
                                                                (CuratorClFilter) f,
                                                                (CuratorClRank) m);
        assert_result_sane (result);
        g_assert_cmpfloat (result->thresholds[2], ==, 2.0);
        /* nobody is given class 2, so no joint cell in its row */
        for (guint t = 0; t < in.k; t++)
          g_assert_cmpint (result->confident_joint[2 * in.k + t], ==, 0);
        assert_all_finite (result->label_quality, in.n);
      }
  inputs_clear (&in);

  /* k = 2, every sample given class 0 */
  make_dataset (22, 40, 2, 2.0, 0.0, &in);
  for (gsize i = 0; i < in.n; i++)
    in.labels[i] = 0;
  for (guint f = CURATOR_CL_PRUNE_BY_NOISE_RATE; f <= CURATOR_CL_PREDICTED_NEQ_GIVEN; f++)
    {
      g_autoptr(CuratorClResult) result = curator_cl_analyze (in.labels, in.probs, in.n, in.k,
                                                              (CuratorClFilter) f,
                                                              CURATOR_CL_RANK_CONFIDENCE_WEIGHTED_ENTROPY);
      assert_result_sane (result);
      /* a sample the model puts in class 1 is still a candidate */
      for (gsize i = 0; i < in.n; i++)
        if (result->is_issue[i])
          g_assert_cmpfloat (in.probs[i * 2 + 1], >, in.probs[i * 2]);
    }
  inputs_clear (&in);

  /* a single sample in a class is never pruned (min_examples_per_class) */
  make_dataset (23, 60, 3, 3.0, 0.0, &in);
  for (gsize i = 0; i < in.n; i++)
    if (in.labels[i] == 1)
      in.labels[i] = 0;
  in.labels[5] = 1;
  in.probs[5 * 3 + 0] = 0.9;
  in.probs[5 * 3 + 1] = 0.05;
  in.probs[5 * 3 + 2] = 0.05;
  {
    g_autofree gboolean *mask = g_new (gboolean, in.n);

    for (guint f = CURATOR_CL_PRUNE_BY_NOISE_RATE; f <= CURATOR_CL_BOTH; f++)
      {
        g_assert_true (curator_cl_find_label_issues (in.labels, in.probs, in.n, in.k,
                                                     (CuratorClFilter) f, mask));
        g_assert_false (mask[5]);
      }
    g_assert_true (curator_cl_find_label_issues (in.labels, in.probs, in.n, in.k,
                                                 CURATOR_CL_PREDICTED_NEQ_GIVEN, mask));
    g_assert_true (mask[5]);
  }
  inputs_clear (&in);

  /* nothing labelled at all, and no samples at all */
  make_dataset (24, 10, 3, 3.0, 0.0, &in);
  for (gsize i = 0; i < in.n; i++)
    in.labels[i] = -1;
  {
    g_autoptr(CuratorClResult) result = curator_cl_analyze (in.labels, in.probs, in.n, in.k,
                                                            CURATOR_CL_PRUNE_BY_NOISE_RATE,
                                                            CURATOR_CL_RANK_SELF_CONFIDENCE);
    assert_result_sane (result);
    g_assert_cmpuint (result->n_issues, ==, 0);
    g_assert_cmpuint (result->num_label_issues, ==, 0);
  }
  {
    g_autoptr(CuratorClResult) result = curator_cl_analyze (NULL, NULL, 0, 3,
                                                            CURATOR_CL_BOTH,
                                                            CURATOR_CL_RANK_SELF_CONFIDENCE);
    assert_result_sane (result);
    g_assert_cmpuint (result->n_issues, ==, 0);
  }
  inputs_clear (&in);
}

static void
test_names (void)
{
  for (guint f = CURATOR_CL_PRUNE_BY_NOISE_RATE; f <= CURATOR_CL_PREDICTED_NEQ_GIVEN; f++)
    {
      CuratorClFilter back = CURATOR_CL_PRUNE_BY_NOISE_RATE;

      g_assert_true (curator_cl_filter_from_string (curator_cl_filter_to_string ((CuratorClFilter) f),
                                                    &back));
      g_assert_cmpint (back, ==, f);
    }
  for (guint m = CURATOR_CL_RANK_SELF_CONFIDENCE; m <= CURATOR_CL_RANK_CONFIDENCE_WEIGHTED_ENTROPY; m++)
    {
      CuratorClRank back = CURATOR_CL_RANK_SELF_CONFIDENCE;

      g_assert_true (curator_cl_rank_from_string (curator_cl_rank_to_string ((CuratorClRank) m),
                                                  &back));
      g_assert_cmpint (back, ==, m);
    }
  CuratorClFilter filter = CURATOR_CL_BOTH;
  g_assert_false (curator_cl_filter_from_string ("prune_by_noise", &filter));
  g_assert_cmpint (filter, ==, CURATOR_CL_BOTH);
  CuratorClRank rank = CURATOR_CL_RANK_NORMALIZED_MARGIN;
  g_assert_false (curator_cl_rank_from_string ("margin", &rank));
  g_assert_cmpint (rank, ==, CURATOR_CL_RANK_NORMALIZED_MARGIN);
}

/* A label past the last class is a caller's bug: refused loudly. */
static void
test_bad_label (void)
{
  if (g_test_subprocess ())
    {
      gint labels[] = { 0, 1, 3 };
      double probs[] = { 0.9, 0.1, 0.2, 0.8, 0.5, 0.5 };
      gboolean mask[3];

      curator_cl_find_label_issues (labels, probs, 3, 2, CURATOR_CL_PRUNE_BY_NOISE_RATE, mask);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*has label 3, but there are 2 classes*");
}

int
main (int argc, char **argv)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *golden = NULL;
  const char *shared = g_getenv ("CURATOR_SHARED_DIR");

  g_test_init (&argc, &argv, NULL);

  golden = g_build_filename (shared != NULL ? shared : "(CURATOR_SHARED_DIR unset)",
                             "testdata", "confident-learning-vectors.json", NULL);
  if (shared != NULL && g_file_test (golden, G_FILE_TEST_IS_REGULAR))
    {
      g_autoptr(GError) error = NULL;
      JsonArray *cases;

      parser = json_parser_new ();
      if (!json_parser_load_from_file (parser, golden, &error))
        g_error ("%s: %s", golden, error->message);
      cases = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                            "cases");
      g_assert_nonnull (cases);
      for (guint c = 0; c < json_array_get_length (cases); c++)
        {
          g_autofree char *path = g_strdup_printf ("/cl/golden/case-%u", c);

          g_test_add_data_func (path, json_array_get_element (cases, c), test_golden_case);
        }
    }
  else
    g_test_add_data_func ("/cl/golden", golden, test_golden_absent);

  g_test_add_func ("/cl/clean-flags-nothing", test_clean_flags_nothing);
  g_test_add_func ("/cl/obvious-flip", test_obvious_flip);
  g_test_add_func ("/cl/unlabelled-ignored", test_unlabelled_ignored);
  g_test_add_func ("/cl/degenerate", test_degenerate);
  g_test_add_func ("/cl/names", test_names);
  g_test_add_func ("/cl/bad-label", test_bad_label);

  return g_test_run ();
}

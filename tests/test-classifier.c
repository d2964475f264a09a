/* test-classifier.c: the cross-validated classifier keeps its promises.
 *
 * Fixtures are Gaussian blobs made here with a fixed seed: separable ones
 * (every sample must be predicted right), overlapping ones (so that labels
 * matter at the margin), an imbalanced one, and mirrored copies that stand in
 * for flipped-image features. */
#include "curator-config.h"

#include <math.h>
#include <string.h>

#include "curator-classifier.h"
#include "curator-error.h"

typedef struct {
  gsize  n;
  gsize  d;
  int    k;
  float *x;
  float *x_flip;
  int   *labels;
  int   *truth;
} Blobs;

static void
blobs_free (Blobs *b)
{
  g_free (b->x);
  g_free (b->x_flip);
  g_free (b->labels);
  g_free (b->truth);
  g_free (b);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Blobs, blobs_free)

static double
gauss (GRand *rand)
{
  double u1 = g_rand_double_range (rand, 1e-12, 1.0);
  double u2 = g_rand_double (rand);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

/* @per_class[c] samples of class c around a random centre at distance
 * @separation scale from the others, unit noise. The mirror of a sample is
 * the sample with its feature order reversed in the second half, plus a
 * little noise: it carries the same class information. */
static Blobs *
blobs_new (int k, const gsize *per_class, gsize d, double separation, guint32 seed)
{
  Blobs *b = g_new0 (Blobs, 1);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autofree double *centres = g_new (double, (gsize) k * d);
  gsize i = 0;

  b->k = k;
  b->d = d;
  for (int c = 0; c < k; c++)
    b->n += per_class[c];
  b->x = g_new (float, b->n * d);
  b->x_flip = g_new (float, b->n * d);
  b->labels = g_new (int, b->n);
  b->truth = g_new (int, b->n);

  for (gsize j = 0; j < (gsize) k * d; j++)
    centres[j] = separation * gauss (rand);
  /* Samples of all classes interleaved so that index order says nothing. */
  g_autofree int *order = g_new (int, b->n);
  for (int c = 0; c < k; c++)
    for (gsize m = 0; m < per_class[c]; m++)
      order[i++] = c;
  for (gsize m = b->n; m > 1; m--)
    {
      gsize j = (gsize) g_rand_int_range (rand, 0, (gint32) m);
      int t = order[m - 1];
      order[m - 1] = order[j];
      order[j] = t;
    }
  for (i = 0; i < b->n; i++)
    {
      int c = order[i];
      b->labels[i] = b->truth[i] = c;
      for (gsize j = 0; j < d; j++)
        b->x[i * d + j] = (float) (centres[(gsize) c * d + j] + gauss (rand));
      for (gsize j = 0; j < d; j++)
        b->x_flip[i * d + j] = b->x[i * d + j] + (float) (0.3 * gauss (rand));
    }
  return b;
}

/* Small and quick: logistic regression, few epochs, fixed L2 unless a test
 * says otherwise. */
static void
quick_params (CuratorClassifierParams *params)
{
  curator_classifier_params_init_default (params);
  params->model = CURATOR_MODEL_LOGREG;
  params->epochs = 15;
  params->draws_min = 0;
  params->batch_size = 32;
  params->learning_rate = 0.01;
  params->l2 = 1e-3;
  params->calibrate = FALSE;
}

static float *
run_ok (const CuratorClassifierParams *params, const Blobs *b, const float *x_flip,
        const int *labels, const float *weights, CuratorClassifierReport *report)
{
  g_autoptr(GError) error = NULL;
  float *probs = g_new (float, b->n * (gsize) b->k);
  gboolean ok = curator_classifier_cross_val_predict (params, b->x, x_flip, labels, weights, NULL,
                                                      b->n, b->d, b->k, probs, report, NULL,
                                                      NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  return probs;
}

static void
assert_valid_probs (const float *probs, gsize n, int k)
{
  for (gsize i = 0; i < n; i++)
    {
      double sum = 0.0;
      for (int c = 0; c < k; c++)
        {
          float p = probs[i * (gsize) k + c];
          g_assert_true (isfinite (p));
          g_assert_cmpfloat (p, >=, 0.0f);
          g_assert_cmpfloat (p, <=, 1.0f);
          sum += p;
        }
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
    }
}

static void
test_separable (void)
{
  const gsize per_class[] = { 60, 60, 60, 60 };
  g_autoptr(Blobs) b = blobs_new (4, per_class, 12, 4.0, 11);
  CuratorClassifierParams params;

  /* Both model kinds, with flips, chosen L2 and calibration. */
  for (int kind = 0; kind < 2; kind++)
    {
      CuratorClassifierReport report;
      quick_params (&params);
      params.model = kind == 0 ? CURATOR_MODEL_LOGREG : CURATOR_MODEL_MLP;
      params.hidden = 32;
      params.l2 = 0.0;
      params.calibrate = TRUE;
      g_autofree float *probs = run_ok (&params, b, b->x_flip, b->labels, NULL, &report);
      assert_valid_probs (probs, b->n, b->k);
      g_assert_cmpfloat (curator_classifier_accuracy (probs, b->truth, b->n, b->k), ==, 1.0);
      g_assert_cmpfloat (curator_classifier_macro_f1 (probs, b->truth, b->n, b->k), ==, 1.0);
      g_assert_cmpint (report.n_grid, ==, params.n_grid);
      g_assert_cmpfloat (report.oof_accuracy, ==, 1.0);
      for (int f = 0; f < params.n_folds; f++)
        {
          g_assert_cmpfloat (report.fold_temperature[f], >, 0.0);
          g_assert_cmpfloat (report.fold_l2[f], >, 0.0);
        }
    }
}

static void
test_projection (void)
{
  const gsize per_class[] = { 50, 50, 50 };
  g_autoptr(Blobs) b = blobs_new (3, per_class, 40, 2.0, 12);
  CuratorClassifierParams params;
  CuratorClassifierReport report;

  quick_params (&params);
  params.project_dims = 8;
  g_autofree float *probs = run_ok (&params, b, b->x_flip, b->labels, NULL, &report);
  assert_valid_probs (probs, b->n, b->k);
  g_assert_cmpint (report.feature_dims, ==, 8);
  /* The class centres span 2 directions of large variance: 8 keep them. */
  g_assert_cmpfloat (curator_classifier_accuracy (probs, b->truth, b->n, b->k), >=, 0.98);
}

/* The central promise: probs[i] never depends on labels[i]. Checked for
 * several samples and for every option that reads labels (chosen L2,
 * temperature, balancing, seeds, repeats, MLP, flips, projection). */
static void
test_out_of_sample (void)
{
  const gsize per_class[] = { 40, 40, 25 };
  g_autoptr(Blobs) b = blobs_new (3, per_class, 10, 0.8, 13);
  const gsize probe[] = { 0, 17, 58, 104 };

  for (int variant = 0; variant < 3; variant++)
    {
      CuratorClassifierParams params;
      quick_params (&params);
      params.l2 = 0.0;
      params.calibrate = TRUE;
      params.balance = TRUE;
      params.n_seeds = 2;
      params.n_repeats = 2;
      params.epochs = 6;
      if (variant == 1)
        {
          params.model = CURATOR_MODEL_MLP;
          params.hidden = 16;
          params.dropout = 0.2;
        }
      if (variant == 2)
        params.project_dims = 6;

      /* Weights, and some unlabelled samples, take part too. */
      g_autofree float *weights = g_new (float, b->n);
      g_autofree int *given = g_memdup2 (b->labels, sizeof (int) * b->n);
      for (gsize i = 0; i < b->n; i++)
        {
          weights[i] = 1.0f + (float) (i % 3);
          if (variant == 2 && i % 9 == 3)
            given[i] = -1;
        }

      g_autofree float *base = run_ok (&params, b, b->x_flip, given, weights, NULL);
      for (gsize p = 0; p < G_N_ELEMENTS (probe); p++)
        {
          gsize i = probe[p];
          g_autofree int *labels = g_memdup2 (given, sizeof (int) * b->n);
          gboolean others_changed = FALSE;

          g_assert_cmpint (labels[i], >=, 0);
          labels[i] = (labels[i] + 1) % b->k;
          g_autofree float *probs = run_ok (&params, b, b->x_flip, labels, weights, NULL);
          for (int c = 0; c < b->k; c++)
            g_assert_cmpfloat (probs[i * b->k + c], ==, base[i * b->k + c]);
          /* ...while the label did reach the models that train on it. */
          for (gsize j = 0; j < b->n * (gsize) b->k; j++)
            others_changed |= probs[j] != base[j];
          g_assert_true (others_changed);
        }
    }
}

static void
test_deterministic (void)
{
  const gsize per_class[] = { 40, 40, 40 };
  g_autoptr(Blobs) b = blobs_new (3, per_class, 10, 0.8, 14);
  CuratorClassifierParams params;

  quick_params (&params);
  params.model = CURATOR_MODEL_MLP;
  params.hidden = 24;
  params.dropout = 0.1;
  params.l2 = 0.0;
  params.calibrate = TRUE;
  params.n_seeds = 2;

  g_autofree float *first = run_ok (&params, b, b->x_flip, b->labels, NULL, NULL);
  g_autofree float *second = run_ok (&params, b, b->x_flip, b->labels, NULL, NULL);
  g_assert_cmpmem (first, b->n * b->k * sizeof (float), second, b->n * b->k * sizeof (float));
  assert_valid_probs (first, b->n, b->k);

  /* The number of threads does not matter either. */
  for (int n_threads = 1; n_threads <= 3; n_threads++)
    {
      params.n_threads = n_threads;
      g_autofree float *threaded = run_ok (&params, b, b->x_flip, b->labels, NULL, NULL);
      g_assert_cmpmem (first, b->n * b->k * sizeof (float), threaded,
                       b->n * b->k * sizeof (float));
    }
  params.n_threads = 0;

  /* ...and the seed matters. */
  params.seed = 2;
  g_autofree float *other = run_ok (&params, b, b->x_flip, b->labels, NULL, NULL);
  g_assert_true (memcmp (first, other, b->n * b->k * sizeof (float)) != 0);
}

static void
test_valid_probabilities (void)
{
  const gsize per_class[] = { 30, 30, 30, 30, 30 };
  g_autoptr(Blobs) b = blobs_new (5, per_class, 6, 0.5, 15);
  CuratorClassifierParams params;
  g_autofree float *weights = g_new (float, b->n);

  for (gsize i = 0; i < b->n; i++)
    weights[i] = (i % 3 == 0) ? 3.0f : 1.0f;
  quick_params (&params);
  params.calibrate = TRUE;
  g_autofree float *probs = run_ok (&params, b, NULL, b->labels, weights, NULL);
  assert_valid_probs (probs, b->n, b->k);

  params.model = CURATOR_MODEL_MLP;
  params.hidden = 16;
  g_autofree float *mlp = run_ok (&params, b, b->x_flip, b->labels, weights, NULL);
  assert_valid_probs (mlp, b->n, b->k);
}

static void
test_unlabelled (void)
{
  const gsize per_class[] = { 50, 50, 50 };
  g_autoptr(Blobs) b = blobs_new (3, per_class, 8, 3.0, 16);
  CuratorClassifierParams params;
  g_autofree int *labels = g_memdup2 (b->labels, sizeof (int) * b->n);
  gsize n_unlabelled = 0, n_right = 0;

  for (gsize i = 0; i < b->n; i += 4)
    {
      labels[i] = -1;
      n_unlabelled++;
    }
  quick_params (&params);
  params.l2 = 0.0;
  params.calibrate = TRUE;
  g_autofree float *probs = run_ok (&params, b, b->x_flip, labels, NULL, NULL);
  assert_valid_probs (probs, b->n, b->k);

  /* They are predicted, and well: the blobs are separable. */
  for (gsize i = 0; i < b->n; i += 4)
    {
      int predicted;
      curator_classifier_argmax (probs + i * b->k, 1, b->k, &predicted);
      n_right += predicted == b->truth[i];
    }
  g_assert_cmpuint (n_right, ==, n_unlabelled);

  /* They are not trained on: scrambling their features leaves every labelled
   * sample's prediction as it was. */
  g_autoptr(Blobs) scrambled = blobs_new (3, per_class, 8, 3.0, 16);
  for (gsize i = 0; i < b->n; i += 4)
    for (gsize j = 0; j < b->d; j++)
      {
        scrambled->x[i * b->d + j] = (float) (j * 7 % 5) - 20.0f;
        scrambled->x_flip[i * b->d + j] = (float) (j * 3 % 4) + 20.0f;
      }
  g_autofree float *again = run_ok (&params, scrambled, scrambled->x_flip, labels, NULL, NULL);
  for (gsize i = 0; i < b->n; i++)
    if (labels[i] >= 0)
      for (int c = 0; c < b->k; c++)
        g_assert_cmpfloat (again[i * b->k + c], ==, probs[i * b->k + c]);
}

static double
recall (const float *probs, const int *truth, gsize n, int k, int cls)
{
  gsize hit = 0, total = 0;
  for (gsize i = 0; i < n; i++)
    {
      int predicted;
      if (truth[i] != cls)
        continue;
      curator_classifier_argmax (probs + i * (gsize) k, 1, k, &predicted);
      total++;
      hit += predicted == cls;
    }
  return total > 0 ? (double) hit / (double) total : 0.0;
}

static void
test_balance (void)
{
  const gsize per_class[] = { 300, 300, 20 };
  g_autoptr(Blobs) b = blobs_new (3, per_class, 6, 0.6, 17);
  CuratorClassifierParams params;

  quick_params (&params);
  params.balance = FALSE;
  g_autofree float *plain = run_ok (&params, b, NULL, b->labels, NULL, NULL);
  params.balance = TRUE;
  params.balance_power = 0.5;
  g_autofree float *sqrt_balanced = run_ok (&params, b, NULL, b->labels, NULL, NULL);
  params.balance_power = 1.0;
  g_autofree float *balanced = run_ok (&params, b, NULL, b->labels, NULL, NULL);

  double r_plain = recall (plain, b->truth, b->n, b->k, 2);
  double r_sqrt = recall (sqrt_balanced, b->truth, b->n, b->k, 2);
  double r_balanced = recall (balanced, b->truth, b->n, b->k, 2);
  g_test_message ("minority recall: plain %.2f, square-root balanced %.2f, balanced %.2f",
                  r_plain, r_sqrt, r_balanced);
  g_assert_cmpfloat (r_sqrt, >, r_plain);
  g_assert_cmpfloat (r_balanced, >=, r_sqrt);
  g_assert_cmpfloat (r_balanced, >=, r_plain + 0.3);
}

typedef struct {
  GCancellable *cancellable;
  int           n_calls;
  double        last_fraction;
} CancelState;

static void
cancel_on_first_progress (double fraction, const char *message, gpointer user_data)
{
  CancelState *state = user_data;
  g_assert_nonnull (message);
  g_assert_cmpfloat (fraction, >=, state->last_fraction);
  state->last_fraction = fraction;
  state->n_calls++;
  g_cancellable_cancel (state->cancellable);
}

static void
test_cancel (void)
{
  const gsize per_class[] = { 200, 200 };
  g_autoptr(Blobs) b = blobs_new (2, per_class, 16, 1.0, 18);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  CuratorClassifierParams params;
  CancelState state = { cancellable, 0, 0.0 };
  g_autoptr(GError) error = NULL;
  g_autofree float *probs = g_new (float, b->n * (gsize) b->k);

  quick_params (&params);
  params.epochs = 1000; /* would take long if the cancel were ignored */
  params.batch_size = 8;
  params.n_threads = 1; /* with more, each running model may report its epoch */
  gboolean ok = curator_classifier_cross_val_predict (&params, b->x, b->x_flip, b->labels, NULL, NULL,
                                                      b->n, b->d, b->k, probs, NULL, cancellable,
                                                      cancel_on_first_progress, &state, &error);
  g_assert_false (ok);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
  /* The first progress report came after one epoch; the next batch saw the cancel. */
  g_assert_cmpint (state.n_calls, ==, 1);

  /* Cancelled before it starts: nothing runs. */
  g_clear_error (&error);
  state.n_calls = 0;
  ok = curator_classifier_cross_val_predict (&params, b->x, NULL, b->labels, NULL, NULL, b->n, b->d,
                                             b->k, probs, NULL, cancellable,
                                             cancel_on_first_progress, &state, &error);
  g_assert_false (ok);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
  g_assert_cmpint (state.n_calls, ==, 0);

  /* With several threads every model stops at its next batch. */
  g_clear_error (&error);
  g_cancellable_reset (cancellable);
  state.n_calls = 0;
  state.last_fraction = 0.0;
  params.n_threads = 2;
  ok = curator_classifier_cross_val_predict (&params, b->x, NULL, b->labels, NULL, NULL, b->n, b->d,
                                             b->k, probs, NULL, cancellable,
                                             cancel_on_first_progress, &state, &error);
  g_assert_false (ok);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
  g_assert_cmpint (state.n_calls, >=, 1);
  g_assert_cmpint (state.n_calls, <=, 2);
}

static void
test_too_few_labels (void)
{
  const gsize per_class[] = { 3, 3 };
  g_autoptr(Blobs) b = blobs_new (2, per_class, 4, 1.0, 19);
  CuratorClassifierParams params;
  g_autoptr(GError) error = NULL;
  g_autofree float *probs = g_new (float, b->n * (gsize) b->k);

  quick_params (&params);
  g_assert_false (curator_classifier_cross_val_predict (&params, b->x, NULL, b->labels, NULL, NULL,
                                                        b->n, b->d, b->k, probs, NULL, NULL,
                                                        NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);

  g_clear_error (&error);
  b->x[5] = NAN;
  params.n_folds = 2;
  g_assert_false (curator_classifier_cross_val_predict (&params, b->x, NULL, b->labels, NULL, NULL,
                                                        b->n, b->d, b->k, probs, NULL, NULL,
                                                        NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
}

/* One-hot rows for given predictions. */
static float *
one_hot (const int *predicted, gsize n, int k)
{
  float *probs = g_new0 (float, n * (gsize) k);
  for (gsize i = 0; i < n; i++)
    probs[i * (gsize) k + predicted[i]] = 1.0f;
  return probs;
}

static void
test_metrics (void)
{
  /* 4 classes; class 3 occurs nowhere and must not count. The unlabelled
   * sample's prediction (class 2) must not count either.
   *   class 0: TP 1, true 2, predicted 2 -> F1 0.5
   *   class 1: TP 2, true 2, predicted 3 -> F1 0.8
   *   class 2: TP 0, true 1, predicted 0 -> F1 0 */
  const int labels[] = { 0, 0, 1, 1, 2, -1 };
  const int predicted[] = { 0, 1, 1, 1, 0, 2 };
  g_autofree float *probs = one_hot (predicted, 6, 4);
  int argmax[6];

  g_assert_cmpfloat_with_epsilon (curator_classifier_macro_f1 (probs, labels, 6, 4),
                                  (0.5 + 0.8 + 0.0) / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (curator_classifier_accuracy (probs, labels, 6, 4), 0.6, 1e-12);

  /* Ties go to the lowest class. */
  const float tie[] = { 0.4f, 0.4f, 0.2f };
  curator_classifier_argmax (tie, 1, 3, argmax);
  g_assert_cmpint (argmax[0], ==, 0);

  /* Perfect and empty cases. */
  g_autofree float *perfect = one_hot ((const int[]) { 0, 0, 1, 1, 2, 0 }, 6, 4);
  g_assert_cmpfloat (curator_classifier_macro_f1 (perfect, labels, 6, 4), ==, 1.0);
  const int none[] = { -1, -1 };
  g_assert_cmpfloat (curator_classifier_accuracy (probs, none, 2, 4), ==, 0.0);
  g_assert_cmpfloat (curator_classifier_macro_f1 (probs, none, 2, 4), ==, 0.0);
}

static void
test_model_names (void)
{
  CuratorModelKind kind;

  g_assert_true (curator_model_kind_from_string ("mlp", &kind));
  g_assert_cmpint (kind, ==, CURATOR_MODEL_MLP);
  g_assert_cmpstr (curator_model_kind_to_string (CURATOR_MODEL_LOGREG), ==, "logreg");
  g_assert_false (curator_model_kind_from_string ("svm", &kind));
}

static float *
run_grouped (const CuratorClassifierParams *params, const Blobs *b, const guint32 *groups)
{
  g_autoptr(GError) error = NULL;
  float *probs = g_new (float, b->n * (gsize) b->k);
  gboolean ok = curator_classifier_cross_val_predict (params, b->x, NULL, b->labels, NULL, groups,
                                                      b->n, b->d, b->k, probs, NULL, NULL,
                                                      NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  return probs;
}

/* Pure noise with random labels, every picture stored twice. A model that
 * trained on one copy recalls its label for the other (more dimensions than
 * samples: it can memorise), so without groups the "out-of-sample" accuracy
 * is far above chance; with the copies grouped into one fold it is chance,
 * as it must be when features carry no information. Singleton groups are
 * exactly the per-sample folds. */
static void
test_copies_share_a_fold (void)
{
  const gsize unique = 150, d = 400;
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autoptr(Blobs) b = g_new0 (Blobs, 1);
  g_autofree guint32 *groups = g_new (guint32, 2 * unique);
  g_autofree guint32 *singletons = g_new (guint32, 2 * unique);
  CuratorClassifierParams params;

  b->n = 2 * unique;
  b->d = d;
  b->k = 2;
  b->x = g_new (float, b->n * d);
  b->labels = g_new (int, b->n);
  for (gsize i = 0; i < unique; i++)
    {
      b->labels[i] = b->labels[i + unique] = g_rand_boolean (rand) ? 1 : 0;
      for (gsize j = 0; j < d; j++)
        b->x[i * d + j] = b->x[(i + unique) * d + j] = (float) gauss (rand);
      groups[i] = groups[i + unique] = (guint32) (1000 + 7 * i);
    }
  for (gsize i = 0; i < b->n; i++)
    singletons[i] = (guint32) (b->n - i);

  quick_params (&params);
  params.epochs = 40;
  g_autofree float *leaky = run_grouped (&params, b, NULL);
  g_autofree float *grouped = run_grouped (&params, b, groups);
  g_autofree float *single = run_grouped (&params, b, singletons);
  double acc_leaky = curator_classifier_accuracy (leaky, b->labels, b->n, b->k);
  double acc_grouped = curator_classifier_accuracy (grouped, b->labels, b->n, b->k);

  g_test_message ("accuracy on copies: per-sample folds %.3f, grouped %.3f", acc_leaky, acc_grouped);
  g_assert_cmpfloat (acc_leaky, >, 0.85);
  g_assert_cmpfloat (acc_grouped, <, 0.65);
  g_assert_cmpmem (single, sizeof (float) * b->n * 2, leaky, sizeof (float) * b->n * 2);
}

/* A draws cap is the same as asking for the number of passes it allows. */
static void
test_draws_cap (void)
{
  const gsize per_class[3] = { 100, 100, 100 };
  g_autoptr(Blobs) b = blobs_new (3, per_class, 8, 1.0, 5);
  CuratorClassifierParams capped, fixed;

  quick_params (&capped);
  capped.epochs = 15;
  capped.draws_cap = 3 * 240;   /* 5 folds: 240 training rows, so 3 passes */
  capped.draws_min = 0;
  fixed = capped;
  fixed.epochs = 3;
  fixed.draws_cap = 0;
  fixed.draws_min = 0;
  g_autofree float *a = run_ok (&capped, b, NULL, b->labels, NULL, NULL);
  g_autofree float *c = run_ok (&fixed, b, NULL, b->labels, NULL, NULL);
  CuratorClassifierParams uncapped = capped;
  uncapped.draws_cap = 0;
  g_autofree float *full = run_ok (&uncapped, b, NULL, b->labels, NULL, NULL);

  g_assert_cmpmem (a, sizeof (float) * b->n * 3, c, sizeof (float) * b->n * 3);
  g_assert_true (memcmp (a, full, sizeof (float) * b->n * 3) != 0);

  /* And a floor is the same as asking for the passes it needs: 240 rows x 2
   * passes are under 1,000 draws, so 5 passes (rounded up). */
  CuratorClassifierParams floored = fixed, five = fixed;
  floored.epochs = 2;
  floored.draws_min = 1000;
  five.epochs = 5;
  g_autofree float *f = run_ok (&floored, b, NULL, b->labels, NULL, NULL);
  g_autofree float *g = run_ok (&five, b, NULL, b->labels, NULL, NULL);
  g_assert_cmpmem (f, sizeof (float) * b->n * 3, g, sizeof (float) * b->n * 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/classifier/separable", test_separable);
  g_test_add_func ("/classifier/projection", test_projection);
  g_test_add_func ("/classifier/out-of-sample", test_out_of_sample);
  g_test_add_func ("/classifier/deterministic", test_deterministic);
  g_test_add_func ("/classifier/valid-probabilities", test_valid_probabilities);
  g_test_add_func ("/classifier/unlabelled", test_unlabelled);
  g_test_add_func ("/classifier/balance", test_balance);
  g_test_add_func ("/classifier/cancel", test_cancel);
  g_test_add_func ("/classifier/too-few-labels", test_too_few_labels);
  g_test_add_func ("/classifier/metrics", test_metrics);
  g_test_add_func ("/classifier/model-names", test_model_names);
  g_test_add_func ("/classifier/copies-share-a-fold", test_copies_share_a_fold);
  g_test_add_func ("/classifier/draws-cap", test_draws_cap);

  return g_test_run ();
}

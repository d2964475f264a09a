/* curator-classifier.c: K-fold cross-validated, calibrated, out-of-sample
 * class probabilities (the contract is in curator-classifier.h).
 *
 * Per repeat and fold f:
 *   1. training part T = labelled samples outside f; held-out = samples in f;
 *   2. standardisation statistics from T's features (and their mirrors);
 *   3. if the L2 strength is to be chosen or a temperature fitted: an inner
 *      split of T (by a seeded hash of sample indices) into T_in and V; one
 *      model per L2 candidate on T_in; the candidate with the lowest
 *      temperature-scaled NLL on V wins, and its temperature is the fold's;
 *   4. n_seeds models on all of T; their logits on the held-out samples (and
 *      on every unlabelled sample) are averaged, divided by the temperature
 *      and turned into probabilities.
 * Every decision in 1-4 reads labels of T only, so a held-out sample's label
 * cannot reach its own prediction. */
#include "curator-config.h"

#include <math.h>
#include <string.h>

#include "curator-classifier-private.h"
#include "curator-error.h"

/* Purposes of the PRNG streams (see _curator_derive_seed). */
enum {
  STREAM_FOLDS = 1,
  STREAM_INNER_SPLIT,
  STREAM_INNER_MODEL,
  STREAM_MODEL,
  STREAM_PROJECT,
};

const char *
curator_model_kind_to_string (CuratorModelKind kind)
{
  switch (kind)
    {
    case CURATOR_MODEL_LOGREG:
      return "logreg";
    case CURATOR_MODEL_MLP:
      return "mlp";
    default:
      return NULL;
    }
}

gboolean
curator_model_kind_from_string (const char *name, CuratorModelKind *kind)
{
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (kind != NULL, FALSE);

  if (g_strcmp0 (name, "logreg") == 0)
    *kind = CURATOR_MODEL_LOGREG;
  else if (g_strcmp0 (name, "mlp") == 0)
    *kind = CURATOR_MODEL_MLP;
  else
    return FALSE;
  return TRUE;
}

void
curator_classifier_params_init_default (CuratorClassifierParams *params)
{
  g_return_if_fail (params != NULL);

  memset (params, 0, sizeof *params);
  params->model = CURATOR_MODEL_MLP;
  params->hidden = 512;
  params->dropout = 0.0;
  params->label_smoothing = 0.1;
  params->balance = TRUE;
  params->stratify = FALSE;
  params->n_folds = 5;
  params->n_repeats = 1;
  params->n_seeds = 1;
  params->epochs = 20;
  params->batch_size = 256;
  params->learning_rate = 1e-3;
  params->l2 = 0.0;
  params->n_grid = 3;
  params->l2_grid[0] = 1e-4;
  params->l2_grid[1] = 1e-3;
  params->l2_grid[2] = 1e-2;
  params->inner_fraction = 0.2;
  params->project_dims = 0;
  params->calibrate = TRUE;
  params->seed = 1;
}

/* ---- metrics ---- */

void
curator_classifier_argmax (const float *probs, gsize n_samples, int n_classes, int *predicted)
{
  g_return_if_fail (probs != NULL || n_samples == 0);
  g_return_if_fail (predicted != NULL || n_samples == 0);
  g_return_if_fail (n_classes > 0);

  for (gsize i = 0; i < n_samples; i++)
    {
      const float *row = probs + i * (gsize) n_classes;
      int best = 0;
      for (int c = 1; c < n_classes; c++)
        if (row[c] > row[best])
          best = c;
      predicted[i] = best;
    }
}

double
curator_classifier_accuracy (const float *probs, const int *labels, gsize n_samples, int n_classes)
{
  gsize n_labelled = 0, n_right = 0;

  g_return_val_if_fail (probs != NULL || n_samples == 0, 0.0);
  g_return_val_if_fail (labels != NULL || n_samples == 0, 0.0);
  g_return_val_if_fail (n_classes > 0, 0.0);

  for (gsize i = 0; i < n_samples; i++)
    {
      int predicted;
      if (labels[i] < 0)
        continue;
      curator_classifier_argmax (probs + i * (gsize) n_classes, 1, n_classes, &predicted);
      n_labelled++;
      n_right += predicted == labels[i];
    }
  return n_labelled > 0 ? (double) n_right / (double) n_labelled : 0.0;
}

double
curator_classifier_macro_f1 (const float *probs, const int *labels, gsize n_samples, int n_classes)
{
  g_return_val_if_fail (probs != NULL || n_samples == 0, 0.0);
  g_return_val_if_fail (labels != NULL || n_samples == 0, 0.0);
  g_return_val_if_fail (n_classes > 0, 0.0);

  g_autofree gsize *tp = g_new0 (gsize, n_classes);
  g_autofree gsize *n_true = g_new0 (gsize, n_classes);
  g_autofree gsize *n_pred = g_new0 (gsize, n_classes);
  double sum = 0.0;
  int n_seen = 0;

  for (gsize i = 0; i < n_samples; i++)
    {
      int predicted;
      if (labels[i] < 0)
        continue;
      g_return_val_if_fail (labels[i] < n_classes, 0.0);
      curator_classifier_argmax (probs + i * (gsize) n_classes, 1, n_classes, &predicted);
      n_true[labels[i]]++;
      n_pred[predicted]++;
      tp[labels[i]] += predicted == labels[i];
    }
  for (int c = 0; c < n_classes; c++)
    {
      if (n_true[c] + n_pred[c] == 0)
        continue;
      n_seen++;
      /* F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (true + predicted) */
      sum += 2.0 * (double) tp[c] / (double) (n_true[c] + n_pred[c]);
    }
  return n_seen > 0 ? sum / n_seen : 0.0;
}

/* ---- folds and splits ---- */

/* fold[i] in 0..K-1. Without stratification a seeded permutation of sample
 * indices cut into K near-equal runs: no label is read. With it, each class
 * (and the unlabelled) is shuffled and dealt round-robin, the dealing
 * continuing from class to class so the folds stay within one of equal size. */
static void
assign_folds (const CuratorClassifierParams *params,
              const int                     *labels,
              gsize                          n_samples,
              int                            n_classes,
              int                            repeat,
              int                           *fold)
{
  int n_folds = params->n_folds;
  g_autofree guint32 *perm = g_new (guint32, n_samples);
  _CuratorRng rng;

  if (!params->stratify)
    {
      for (gsize i = 0; i < n_samples; i++)
        perm[i] = (guint32) i;
      _curator_rng_init (&rng, _curator_derive_seed (params->seed, STREAM_FOLDS, (guint64) repeat, 0));
      _curator_rng_shuffle (&rng, perm, n_samples);
      for (gsize p = 0; p < n_samples; p++)
        fold[perm[p]] = (int) ((guint64) p * (guint64) n_folds / n_samples);
      return;
    }

  gsize dealt = 0;
  for (int c = -1; c < n_classes; c++)
    {
      gsize m = 0;
      for (gsize i = 0; i < n_samples; i++)
        if ((c < 0 && labels[i] < 0) || labels[i] == c)
          perm[m++] = (guint32) i;
      _curator_rng_init (&rng, _curator_derive_seed (params->seed, STREAM_FOLDS, (guint64) repeat,
                                                     (guint64) (c + 2)));
      _curator_rng_shuffle (&rng, perm, m);
      for (gsize p = 0; p < m; p++)
        fold[perm[p]] = (int) ((dealt + p) % (gsize) n_folds);
      dealt += m;
    }
}

typedef struct {
  guint64 key;
  guint32 row;
} KeyedRow;

static int
keyed_row_compare (gconstpointer a, gconstpointer b)
{
  const KeyedRow *x = a, *y = b;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->row < y->row ? -1 : (x->row > y->row ? 1 : 0);
}

static int
row_compare (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : (x > y ? 1 : 0);
}

/* Splits @train into @inner_train and @inner_val (the first @n_val rows in an
 * order given by a seeded hash of the row index: no label read). */
static void
inner_split (const guint32 *train, gsize n_train, gsize n_val, guint64 seed,
             guint32 *inner_train, guint32 *inner_val)
{
  g_autofree KeyedRow *keyed = g_new (KeyedRow, n_train);

  for (gsize i = 0; i < n_train; i++)
    {
      keyed[i].row = train[i];
      keyed[i].key = _curator_mix64 (seed ^ _curator_mix64 (train[i] + 1));
    }
  qsort (keyed, n_train, sizeof *keyed, keyed_row_compare);
  for (gsize i = 0; i < n_val; i++)
    inner_val[i] = keyed[i].row;
  for (gsize i = n_val; i < n_train; i++)
    inner_train[i - n_val] = keyed[i].row;
  qsort (inner_val, n_val, sizeof (guint32), row_compare);
  qsort (inner_train, n_train - n_val, sizeof (guint32), row_compare);
}

/* Mean and 1/sd per feature over @rows (and their mirrors), in double and in
 * row order. A feature that is constant on the rows gets inv_sd 0: it cannot
 * help, and dividing by its spread would blow up held-out noise. */
static void
standardisation (const float   *features,
                 const float   *features_flip,
                 gsize          n_dims,
                 const guint32 *rows,
                 gsize          n_rows,
                 float         *mean_out,
                 float         *inv_sd_out)
{
  g_autofree double *sum = g_new0 (double, n_dims);
  g_autofree double *sum2 = g_new0 (double, n_dims);
  double n = 0.0, mean_var = 0.0;

  for (int pass = 0; pass < 2; pass++)
    {
      const float *x = pass == 0 ? features : features_flip;
      if (x == NULL)
        continue;
      for (gsize i = 0; i < n_rows; i++)
        {
          const float *row = x + (gsize) rows[i] * n_dims;
          for (gsize j = 0; j < n_dims; j++)
            {
              sum[j] += row[j];
              sum2[j] += (double) row[j] * row[j];
            }
        }
      n += (double) n_rows;
    }
  for (gsize j = 0; j < n_dims; j++)
    {
      double mean = sum[j] / n;
      sum2[j] = MAX (0.0, sum2[j] / n - mean * mean); /* now the variance */
      sum[j] = mean;
      mean_var += sum2[j];
    }
  mean_var /= (double) n_dims;
  for (gsize j = 0; j < n_dims; j++)
    {
      mean_out[j] = (float) sum[j];
      /* The small floor (relative to the typical variance) damps features
       * that barely vary, as Coates et al. regularise their normalisation. */
      inv_sd_out[j] = sum2[j] > 1e-12 * mean_var
                      ? (float) (1.0 / sqrt (sum2[j] + 1e-4 * mean_var))
                      : 0.0f;
    }
}

/* ---- calibration ---- */

/* Mean NLL of @labels under softmax(beta * logits), in double. */
static double
scaled_nll (const float *logits, const int *labels, const guint32 *rows, gsize n_rows,
            int n_classes, double beta)
{
  double total = 0.0;

  for (gsize i = 0; i < n_rows; i++)
    {
      const float *z = logits + i * (gsize) n_classes;
      double max = z[0], sum = 0.0;
      for (int c = 1; c < n_classes; c++)
        max = MAX (max, (double) z[c]);
      for (int c = 0; c < n_classes; c++)
        sum += exp (beta * (z[c] - max));
      total += log (sum) - beta * (z[labels[rows[i]]] - max);
    }
  return n_rows > 0 ? total / (double) n_rows : 0.0;
}

/* The temperature T minimising the NLL of softmax(logits / T), T in
 * [0.05, 20]; golden-section search on log(1/T) (the NLL is convex in 1/T). */
static double
fit_temperature (const float *logits, const int *labels, const guint32 *rows, gsize n_rows,
                 int n_classes, double *nll_out)
{
  const double phi = 0.6180339887498949;
  double a = log (0.05), b = log (20.0);
  double x1 = b - phi * (b - a), x2 = a + phi * (b - a);
  double f1 = scaled_nll (logits, labels, rows, n_rows, n_classes, exp (x1));
  double f2 = scaled_nll (logits, labels, rows, n_rows, n_classes, exp (x2));

  for (int it = 0; it < 48; it++)
    {
      if (f1 <= f2)
        {
          b = x2;
          x2 = x1;
          f2 = f1;
          x1 = b - phi * (b - a);
          f1 = scaled_nll (logits, labels, rows, n_rows, n_classes, exp (x1));
        }
      else
        {
          a = x1;
          x1 = x2;
          f1 = f2;
          x2 = a + phi * (b - a);
          f2 = scaled_nll (logits, labels, rows, n_rows, n_classes, exp (x2));
        }
    }
  double beta = exp (0.5 * (a + b));
  if (nll_out != NULL)
    *nll_out = scaled_nll (logits, labels, rows, n_rows, n_classes, beta);
  return 1.0 / beta;
}

static double
logits_accuracy (const float *logits, const int *labels, const guint32 *rows, gsize n_rows,
                 int n_classes)
{
  gsize right = 0;
  for (gsize i = 0; i < n_rows; i++)
    {
      int predicted;
      curator_classifier_argmax (logits + i * (gsize) n_classes, 1, n_classes, &predicted);
      right += predicted == labels[rows[i]];
    }
  return n_rows > 0 ? (double) right / (double) n_rows : 0.0;
}

/* probs += softmax(logits / T) row by row; count += 1. */
static void
accumulate_probs (const float *logits, const guint32 *rows, gsize n_rows, int n_classes,
                  double temperature, double *acc, int *count)
{
  g_autofree double *p = g_new (double, n_classes);

  for (gsize i = 0; i < n_rows; i++)
    {
      const float *z = logits + i * (gsize) n_classes;
      double max = z[0], sum = 0.0;
      for (int c = 1; c < n_classes; c++)
        max = MAX (max, (double) z[c]);
      for (int c = 0; c < n_classes; c++)
        sum += p[c] = exp ((z[c] - max) / temperature);
      for (int c = 0; c < n_classes; c++)
        acc[(gsize) rows[i] * n_classes + c] += p[c] / sum;
      count[rows[i]]++;
    }
}

/* ---- the cross-validation ---- */

typedef struct {
  const CuratorClassifierParams *params;
  _CuratorDataView view;
  gsize n_samples;
  _CuratorProgress progress;
  CuratorClassifierReport *report;
  double grid_nll_sum[CURATOR_CLASSIFIER_MAX_GRID];
  double grid_acc_sum[CURATOR_CLASSIFIER_MAX_GRID];
  int    n_grid_folds;
} Run;

static _CuratorTrainOptions
train_options (const CuratorClassifierParams *params, double l2, guint64 seed)
{
  _CuratorTrainOptions options = {
    .kind = params->model,
    .hidden = params->hidden,
    .dropout = params->dropout,
    .label_smoothing = params->label_smoothing,
    .balance = params->balance,
    .epochs = params->epochs,
    .batch_size = params->batch_size,
    .learning_rate = params->learning_rate,
    .l2 = l2,
    .seed = seed,
  };
  return options;
}

/* Step 3 of the header comment: picks the fold's L2 and temperature. */
static gboolean
select_on_inner_split (Run           *run,
                       const guint32 *train,
                       gsize          n_train,
                       guint64        fold_key,
                       int            fold_label,
                       double        *l2_out,
                       double        *temperature_out,
                       GError       **error)
{
  const CuratorClassifierParams *params = run->params;
  gsize n_val = (gsize) MAX (1.0, floor (params->inner_fraction * (double) n_train + 0.5));
  gboolean choose = params->l2 <= 0.0;
  int n_candidates = choose ? params->n_grid : 1;
  double best_nll = G_MAXDOUBLE;
  int k = run->view.n_classes;

  if (n_val >= n_train)
    n_val = n_train - 1;
  g_autofree guint32 *inner_train = g_new (guint32, n_train - n_val);
  g_autofree guint32 *inner_val = g_new (guint32, n_val);
  g_autofree float *logits = g_new (float, n_val * (gsize) k);

  inner_split (train, n_train, n_val,
               _curator_derive_seed (params->seed, STREAM_INNER_SPLIT, fold_key, 0),
               inner_train, inner_val);

  *l2_out = choose ? params->l2_grid[0] : params->l2;
  *temperature_out = 1.0;
  for (int g = 0; g < n_candidates; g++)
    {
      double l2 = choose ? params->l2_grid[g] : params->l2;
      _CuratorTrainOptions options =
        train_options (params, l2, _curator_derive_seed (params->seed, STREAM_INNER_MODEL,
                                                         fold_key, (guint64) g));
      g_autoptr(_CuratorModel) model = NULL;
      double nll, temperature;

      g_snprintf (run->progress.message, sizeof run->progress.message,
                  "fold %d/%d: inner validation, L2 %g", fold_label, params->n_folds, l2);
      model = _curator_model_train (&options, &run->view, inner_train, n_train - n_val,
                                    &run->progress, error);
      if (model == NULL)
        return FALSE;
      run->report->n_models++;
      _curator_model_logits (model, &run->view, inner_val, n_val, logits);
      temperature = fit_temperature (logits, run->view.labels, inner_val, n_val, k, &nll);
      if (choose)
        {
          run->grid_nll_sum[g] += nll;
          run->grid_acc_sum[g] += logits_accuracy (logits, run->view.labels, inner_val, n_val, k);
        }
      if (nll < best_nll)
        {
          best_nll = nll;
          *l2_out = l2;
          *temperature_out = params->calibrate ? temperature : 1.0;
        }
    }
  if (choose)
    run->n_grid_folds++;
  return TRUE;
}

/* Trains the fold's models on @train and adds their calibrated predictions
 * for @groups (held-out rows; unlabelled rows of other folds). */
static gboolean
train_and_predict (Run            *run,
                   const guint32  *train,
                   gsize           n_train,
                   const guint32 **groups,
                   const gsize    *n_group,
                   int             n_groups,
                   guint64         fold_key,
                   int             fold_label,
                   double          l2,
                   double          temperature,
                   double         *acc,
                   int            *count,
                   GError        **error)
{
  const CuratorClassifierParams *params = run->params;
  gsize k = (gsize) run->view.n_classes;
  g_autofree float **sums = g_new0 (float *, n_groups);
  gboolean ok = TRUE;

  for (int g = 0; g < n_groups; g++)
    sums[g] = g_new0 (float, MAX (1, n_group[g]) * k);

  for (int s = 0; s < params->n_seeds && ok; s++)
    {
      _CuratorTrainOptions options =
        train_options (params, l2, _curator_derive_seed (params->seed, STREAM_MODEL, fold_key,
                                                         (guint64) s));
      g_autoptr(_CuratorModel) model = NULL;
      gint64 t0 = g_get_monotonic_time ();

      g_snprintf (run->progress.message, sizeof run->progress.message,
                  "fold %d/%d: training model %d/%d", fold_label, params->n_folds, s + 1,
                  params->n_seeds);
      model = _curator_model_train (&options, &run->view, train, n_train, &run->progress, error);
      if (model == NULL)
        {
          ok = FALSE;
          break;
        }
      run->report->n_models++;
      gint64 t1 = g_get_monotonic_time ();
      run->report->seconds_train += (double) (t1 - t0) / G_USEC_PER_SEC;

      for (int g = 0; g < n_groups; g++)
        {
          if (n_group[g] == 0)
            continue;
          g_autofree float *logits = g_new (float, n_group[g] * k);
          _curator_model_logits (model, &run->view, groups[g], n_group[g], logits);
          for (gsize i = 0; i < n_group[g] * k; i++)
            sums[g][i] += logits[i];
        }
      run->report->seconds_predict += (double) (g_get_monotonic_time () - t1) / G_USEC_PER_SEC;
    }

  for (int g = 0; g < n_groups && ok; g++)
    {
      for (gsize i = 0; i < n_group[g] * k; i++)
        sums[g][i] /= (float) params->n_seeds;
      accumulate_probs (sums[g], groups[g], n_group[g], (int) k, temperature, acc, count);
    }
  for (int g = 0; g < n_groups; g++)
    g_free (sums[g]);
  return ok;
}

static gboolean
features_finite (const float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

gboolean
curator_classifier_cross_val_predict (const CuratorClassifierParams *params,
                                      const float                   *features,
                                      const float                   *features_flip,
                                      const int                     *labels,
                                      const float                   *weights,
                                      gsize                          n_samples,
                                      gsize                          n_dims,
                                      int                            n_classes,
                                      float                         *probs_out,
                                      CuratorClassifierReport       *report_out,
                                      GCancellable                  *cancellable,
                                      CuratorProgressFunc            progress,
                                      gpointer                       progress_data,
                                      GError                       **error)
{
  CuratorClassifierReport report_local;
  CuratorClassifierReport *report = report_out != NULL ? report_out : &report_local;
  gint64 start_time = g_get_monotonic_time ();
  g_autofree float *projected = NULL;
  g_autofree float *projected_flip = NULL;
  gsize n_labelled = 0;
  int k = n_classes;
  Run run;

  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (features != NULL, FALSE);
  g_return_val_if_fail (labels != NULL, FALSE);
  g_return_val_if_fail (probs_out != NULL, FALSE);
  g_return_val_if_fail (n_samples > 0 && n_samples < G_MAXINT32, FALSE);
  g_return_val_if_fail (n_dims > 0 && n_dims < G_MAXINT32, FALSE);
  g_return_val_if_fail (n_classes >= 2, FALSE);
  g_return_val_if_fail (params->n_folds >= 2 && params->n_folds <= CURATOR_CLASSIFIER_MAX_FOLDS,
                        FALSE);
  g_return_val_if_fail (params->n_repeats >= 1 && params->n_seeds >= 1, FALSE);
  g_return_val_if_fail (params->epochs >= 1 && params->batch_size >= 1, FALSE);
  g_return_val_if_fail (params->model != CURATOR_MODEL_MLP || params->hidden >= 1, FALSE);
  g_return_val_if_fail (params->dropout >= 0.0 && params->dropout < 1.0, FALSE);
  g_return_val_if_fail (params->label_smoothing >= 0.0 && params->label_smoothing < 1.0, FALSE);
  g_return_val_if_fail (params->l2 > 0.0 || (params->n_grid >= 1
                                             && params->n_grid <= CURATOR_CLASSIFIER_MAX_GRID),
                        FALSE);
  g_return_val_if_fail (params->inner_fraction > 0.0 && params->inner_fraction < 1.0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (report, 0, sizeof *report);
  report->n_folds = params->n_folds;
  report->n_repeats = params->n_repeats;

  for (gsize i = 0; i < n_samples; i++)
    {
      g_return_val_if_fail (labels[i] < n_classes, FALSE);
      g_return_val_if_fail (weights == NULL || weights[i] >= 0.0f, FALSE);
      n_labelled += labels[i] >= 0;
    }
  if (n_labelled < 2 * (gsize) params->n_folds)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%" G_GSIZE_FORMAT " labelled samples are too few for %d-fold "
                   "cross-validation", n_labelled, params->n_folds);
      return FALSE;
    }
  if (!features_finite (features, n_samples * n_dims)
      || (features_flip != NULL && !features_finite (features_flip, n_samples * n_dims)))
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "A feature value is not a finite number");
      return FALSE;
    }

  memset (&run, 0, sizeof run);
  run.params = params;
  run.n_samples = n_samples;
  run.report = report;
  run.progress.cancellable = cancellable;
  run.progress.func = progress;
  run.progress.data = progress_data;

  /* Progress is counted in row-epochs; a projection step costs about an epoch
   * over all samples. */
  {
    gboolean inner = params->l2 <= 0.0 || params->calibrate;
    int n_inner = inner ? (params->l2 <= 0.0 ? params->n_grid : 1) : 0;
    double per_fold_rows = (double) n_labelled * (params->n_folds - 1) / params->n_folds;
    double per_fold = per_fold_rows * params->epochs
                      * (params->n_seeds + n_inner * (1.0 - params->inner_fraction));
    run.progress.total = per_fold * params->n_folds * params->n_repeats;
    if (params->project_dims > 0 && (gsize) params->project_dims < n_dims)
      run.progress.total += 4.0 * (double) n_samples;
  }

  const float *x = features, *x_flip = features_flip;
  gsize d = n_dims;
  if (params->project_dims > 0 && (gsize) params->project_dims < n_dims)
    {
      g_strlcpy (run.progress.message, "projecting features", sizeof run.progress.message);
      if (!_curator_project_pca (features, features_flip, n_samples, n_dims,
                                 (gsize) params->project_dims,
                                 _curator_derive_seed (params->seed, STREAM_PROJECT, 0, 0),
                                 &projected, features_flip != NULL ? &projected_flip : NULL,
                                 &run.progress, error))
        return FALSE;
      x = projected;
      x_flip = projected_flip;
      d = (gsize) params->project_dims;
    }
  report->feature_dims = (int) d;
  report->seconds_project = (double) (g_get_monotonic_time () - start_time) / G_USEC_PER_SEC;

  g_autofree float *mean = g_new (float, d);
  g_autofree float *inv_sd = g_new (float, d);
  run.view.features = x;
  run.view.features_flip = x_flip;
  run.view.n_dims = d;
  run.view.n_classes = k;
  run.view.labels = labels;
  run.view.weights = weights;
  run.view.mean = mean;
  run.view.inv_sd = inv_sd;

  g_autofree double *acc = g_new0 (double, n_samples * (gsize) k);
  g_autofree int *count = g_new0 (int, n_samples);
  g_autofree int *fold = g_new (int, n_samples);
  g_autofree guint32 *train = g_new (guint32, n_samples);
  g_autofree guint32 *held_out = g_new (guint32, n_samples);
  g_autofree guint32 *unlabelled = g_new (guint32, n_samples);

  for (int r = 0; r < params->n_repeats; r++)
    {
      assign_folds (params, labels, n_samples, k, r, fold);
      for (int f = 0; f < params->n_folds; f++)
        {
          guint64 fold_key = (guint64) r * CURATOR_CLASSIFIER_MAX_FOLDS + (guint64) f;
          gsize n_train = 0, n_held = 0, n_unl = 0;
          double l2 = params->l2, temperature = 1.0;

          for (gsize i = 0; i < n_samples; i++)
            {
              if (fold[i] == f)
                held_out[n_held++] = (guint32) i;
              else if (labels[i] >= 0)
                train[n_train++] = (guint32) i;
              else
                unlabelled[n_unl++] = (guint32) i;
            }
          if (n_train < 2)
            {
              g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "Fold %d has fewer than 2 labelled training samples", f + 1);
              return FALSE;
            }

          standardisation (x, x_flip, d, train, n_train, mean, inv_sd);

          if (params->l2 <= 0.0 || params->calibrate)
            {
              gint64 t0 = g_get_monotonic_time ();
              if (!select_on_inner_split (&run, train, n_train, fold_key, f + 1, &l2,
                                          &temperature, error))
                return FALSE;
              report->seconds_select += (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
            }
          if (r == 0)
            {
              report->fold_l2[f] = l2;
              report->fold_temperature[f] = temperature;
            }

          const guint32 *groups[2] = { held_out, unlabelled };
          gsize n_group[2] = { n_held, n_unl };
          if (!train_and_predict (&run, train, n_train, groups, n_group, 2, fold_key, f + 1,
                                  l2, temperature, acc, count, error))
            return FALSE;
        }
    }

  for (gsize i = 0; i < n_samples; i++)
    {
      g_assert (count[i] > 0);
      double sum = 0.0;
      for (int c = 0; c < k; c++)
        sum += acc[i * (gsize) k + c];
      for (int c = 0; c < k; c++)
        probs_out[i * (gsize) k + c] = (float) (acc[i * (gsize) k + c] / sum);
    }

  if (params->l2 <= 0.0 && run.n_grid_folds > 0)
    {
      report->n_grid = params->n_grid;
      for (int g = 0; g < params->n_grid; g++)
        {
          report->grid_l2[g] = params->l2_grid[g];
          report->grid_inner_nll[g] = run.grid_nll_sum[g] / run.n_grid_folds;
          report->grid_inner_accuracy[g] = run.grid_acc_sum[g] / run.n_grid_folds;
        }
    }
  report->oof_accuracy = curator_classifier_accuracy (probs_out, labels, n_samples, k);
  report->oof_macro_f1 = curator_classifier_macro_f1 (probs_out, labels, n_samples, k);
  report->seconds_total = (double) (g_get_monotonic_time () - start_time) / G_USEC_PER_SEC;

  if (progress != NULL)
    progress (1.0, "done", progress_data);
  return TRUE;
}

/* curator-classifier.c: K-fold cross-validated, calibrated, out-of-sample
 * class probabilities (the contract is in curator-classifier.h).
 *
 * Three phases, the first two spread over threads as independent jobs:
 *   1. per repeat and fold f: the training part T (labelled samples outside
 *      f), the held-out part (every sample of f) and standardisation
 *      statistics from T's features and their mirrors;
 *   2. per fold, L2 candidate and seed: one model trained on T, its logits
 *      on the held-out samples and on every unlabelled sample;
 *   3. in fold order: seeds averaged; for every held-out sample the L2
 *      candidate and temperature that minimise the NLL of the fold's other
 *      labelled samples; probabilities accumulated.
 * Nothing in 1-3 reads a held-out sample's own label for its prediction. */
#include "curator-config.h"

#include <math.h>
#include <string.h>
#include <cblas.h>

#include "curator-classifier-private.h"
#include "curator-error.h"

/* Purposes of the PRNG streams (see _curator_derive_seed). */
enum {
  STREAM_FOLDS = 1,
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

/* Measured on the practice set (10,000 CIFAR-10 images, 20% noise, the
 * 3600-dimensional patch features; tests/bench/bench-classifier.c): an MLP
 * with 256 hidden units and dropout 0.3, 5-fold cross-validation repeated
 * twice, reaches 0.665-0.670 out-of-sample accuracy against the true labels
 * (three seeds) in about 30 CPU-seconds; logistic regression 0.64. Two
 * repeats beat two seeds per fold at the same cost (different training sets
 * make a more diverse ensemble). Six epochs are enough: more let the model
 * learn the noisy labels and lower accuracy. Class balance by square-root
 * sampling: on the long-tailed practice set (3,405 images, 1000 -> 50) it
 * gives the best macro-F1, 0.527 against 0.507 without balancing and 0.500
 * with every class drawn equally often (which also repeats the minority
 * classes' many wrong labels most). The L2 strength changes the
 * result by less than the seed does, so it is fixed here; choosing it from
 * l2_grid (l2 = 0) costs one set of models per candidate.
 *
 * Speed: a training step is two large products (forward and the first
 * layer's gradient) plus an Adam update of every weight, which is memory
 * bound (perf: sgemm 55%, Adam 18%, gathering the batch 8%). Batches of 384
 * at rate 1.5e-3 take a third fewer Adam steps for the same accuracy
 * (0.6669-0.6675 against 0.6675 at 256 / 1e-3). draws_cap keeps a large set
 * from costing epochs x its size: at 80,000 draws a 10,000-sample set still
 * gets its six passes (8,000 training rows each), a 50,000-sample set two
 * passes of 40,000 rows. draws_min does the opposite for small sets: the
 * long-tail practice set (3,405 samples, 2,724 training rows) got 43 steps
 * from six passes; at 48,000 draws (18 passes) flag F1 0.685 -> 0.711,
 * AUROC 0.930 -> 0.937, accuracy vs truth 0.677 -> 0.712. Cheaper choices
 * cost accuracy: hidden 128 0.661, four epochs 0.658, a 1024-direction
 * projection 0.597. */
void
curator_classifier_params_init_default (CuratorClassifierParams *params)
{
  g_return_if_fail (params != NULL);

  memset (params, 0, sizeof *params);
  params->model = CURATOR_MODEL_MLP;
  params->hidden = 256;
  params->dropout = 0.3;
  params->label_smoothing = 0.1;
  params->balance = TRUE;
  params->balance_power = 0.5;
  params->stratify = FALSE;
  params->n_folds = 5;
  params->n_repeats = 2;
  params->n_seeds = 1;
  params->epochs = 6;
  params->draws_cap = 80000;
  params->draws_min = 48000;
  params->batch_size = 384;
  params->learning_rate = 1.5e-3;
  params->l2 = 1e-3;
  params->n_grid = 3;
  params->l2_grid[0] = 1e-4;
  params->l2_grid[1] = 1e-3;
  params->l2_grid[2] = 1e-2;
  params->project_dims = 0;
  params->calibrate = TRUE;
  params->n_threads = 0;
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

/* fold[i] in 0..K-1. Folds are dealt in units: a unit is a group of copies
 * (@groups) or, without groups, one sample, and every member of a unit gets
 * its fold. Without stratification a seeded permutation of the units is cut
 * into K runs of near-equal sample counts: no label is read. With it, the
 * units of each class (the class of a unit's first member; the unlabelled
 * count as a class) are shuffled and dealt round-robin, the dealing continuing
 * from class to class so the folds stay near equal. With singleton units both
 * are exactly the per-sample folds. */
static void
assign_folds (const CuratorClassifierParams *params,
              const int                     *labels,
              const guint32                 *groups,
              gsize                          n_samples,
              int                            n_classes,
              int                            repeat,
              int                           *fold)
{
  int n_folds = params->n_folds;
  g_autofree guint32 *unit_of = g_new (guint32, n_samples);
  g_autofree guint32 *first = g_new (guint32, n_samples);  /* per unit: its first sample */
  g_autofree guint32 *size = g_new0 (guint32, n_samples);  /* per unit: its sample count */
  g_autofree guint32 *perm = g_new (guint32, n_samples);
  g_autofree int *unit_fold = g_new (int, n_samples);
  gsize n_units = 0;
  _CuratorRng rng;

  if (groups == NULL)
    {
      for (gsize i = 0; i < n_samples; i++)
        {
          unit_of[i] = first[i] = (guint32) i;
          size[i] = 1;
        }
      n_units = n_samples;
    }
  else
    {
      g_autoptr(GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
      for (gsize i = 0; i < n_samples; i++)
        {
          gpointer value;
          if (g_hash_table_lookup_extended (seen, GUINT_TO_POINTER (groups[i]), NULL, &value))
            unit_of[i] = GPOINTER_TO_UINT (value);
          else
            {
              unit_of[i] = (guint32) n_units;
              first[n_units++] = (guint32) i;
              g_hash_table_insert (seen, GUINT_TO_POINTER (groups[i]), GUINT_TO_POINTER (unit_of[i]));
            }
          size[unit_of[i]]++;
        }
    }

  if (!params->stratify)
    {
      gsize before = 0;
      for (gsize u = 0; u < n_units; u++)
        perm[u] = (guint32) u;
      _curator_rng_init (&rng, _curator_derive_seed (params->seed, STREAM_FOLDS, (guint64) repeat, 0));
      _curator_rng_shuffle (&rng, perm, n_units);
      for (gsize p = 0; p < n_units; p++)
        {
          unit_fold[perm[p]] = (int) ((guint64) before * (guint64) n_folds / n_samples);
          before += size[perm[p]];
        }
    }
  else
    {
      gsize dealt = 0;
      for (int c = -1; c < n_classes; c++)
        {
          gsize m = 0;
          for (gsize u = 0; u < n_units; u++)
            {
              int label = labels[first[u]];
              if ((c < 0 && label < 0) || label == c)
                perm[m++] = (guint32) u;
            }
          _curator_rng_init (&rng, _curator_derive_seed (params->seed, STREAM_FOLDS, (guint64) repeat,
                                                         (guint64) (c + 2)));
          _curator_rng_shuffle (&rng, perm, m);
          for (gsize p = 0; p < m; p++)
            unit_fold[perm[p]] = (int) ((dealt + p) % (gsize) n_folds);
          dealt += m;
        }
    }

  for (gsize i = 0; i < n_samples; i++)
    fold[i] = unit_fold[unit_of[i]];
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

/* ---- choosing L2 and temperature, leaving the sample out ---- */

/* Candidate inverse temperatures beta = 1/T, log-spaced over [1/20, 1/0.05]
 * (5% apart), refined by a parabola through the best three. */
#define N_BETA 121

static double
beta_at (int b, int n_beta)
{
  if (n_beta == 1)
    return 1.0;
  return exp (log (0.05) + (log (20.0) - log (0.05)) * b / (n_beta - 1));
}

/* Minimum of @f over the beta grid; writes the refined beta. */
static double
grid_minimum (const double *f, int n_beta, double *beta_out)
{
  int best = 0;

  for (int b = 1; b < n_beta; b++)
    if (f[b] < f[best])
      best = b;
  *beta_out = beta_at (best, n_beta);
  if (best == 0 || best == n_beta - 1)
    return f[best];

  double fm = f[best - 1], f0 = f[best], fp = f[best + 1];
  double curvature = fm - 2.0 * f0 + fp;
  if (!(curvature > 0.0))
    return f0;
  double delta = 0.5 * (fm - fp) / curvature; /* in grid steps, within [-0.5, 0.5] */
  double step = (log (20.0) - log (0.05)) / (n_beta - 1);
  *beta_out = exp (log (*beta_out) + delta * step);
  return f0 - 0.25 * (fm - fp) * delta;
}

/* log(sum exp(beta z)) - beta z[y] */
static double
row_nll (const float *z, int n_classes, int y, double beta)
{
  double max = z[0], sum = 0.0;
  for (int c = 1; c < n_classes; c++)
    max = MAX (max, (double) z[c]);
  for (int c = 0; c < n_classes; c++)
    sum += exp (beta * (z[c] - max));
  return log (sum) - beta * (z[y] - max);
}

/* out = softmax(beta z), in double */
static void
softmax_row (const float *z, int n_classes, double beta, double *out)
{
  double max = z[0], sum = 0.0;

  for (int c = 1; c < n_classes; c++)
    max = MAX (max, (double) z[c]);
  for (int c = 0; c < n_classes; c++)
    sum += out[c] = exp (beta * (z[c] - max));
  for (int c = 0; c < n_classes; c++)
    out[c] /= sum;
}

/* ---- the run: jobs over folds and models ---- */

typedef struct {
  int      repeat;
  int      fold;
  guint64  key;      /* names the fold in seed derivation */
  guint32 *train;    /* labelled samples outside the fold */
  gsize    n_train;
  guint32 *held;     /* every sample of the fold */
  gsize    n_held;
  guint32 *unl;      /* unlabelled samples outside the fold */
  gsize    n_unl;
  float   *mean;
  float   *inv_sd;
  float  **logits;   /* per candidate and seed: (n_held + n_unl) x k */
  /* what calibrate_job makes of them */
  double  *probs;    /* (n_held + n_unl) x k */
  int      choice;   /* the whole fold's candidate and temperature */
  double   beta;
  double   grid_nll[CURATOR_CLASSIFIER_MAX_GRID];
  double   grid_accuracy[CURATOR_CLASSIFIER_MAX_GRID];
} FoldJob;

typedef struct _Run Run;
typedef gboolean (*JobFunc) (Run *run, int job, GError **error);

struct _Run {
  const CuratorClassifierParams *params;
  const float *x;
  const float *x_flip;
  gsize        d;
  gsize        n_samples;
  int          k;
  const int   *labels;
  const float *weights;
  const int   *fold_of;       /* n_repeats x n_samples */
  int          n_candidates;
  FoldJob     *folds;         /* n_repeats x n_folds */
  int          n_fold_jobs;
  _CuratorProgress progress;
  /* the job queue */
  JobFunc      job_func;
  int          n_jobs;
  gint         next_job;      /* atomic */
  GMutex       error_lock;
  GError      *error;         /* the first failure */
};

static double
candidate_l2 (const Run *run, int candidate)
{
  return run->params->l2 > 0.0 ? run->params->l2 : run->params->l2_grid[candidate];
}

static gpointer
worker (gpointer data)
{
  Run *run = data;

  for (;;)
    {
      GError *error = NULL;
      int job = g_atomic_int_add (&run->next_job, 1);

      if (job >= run->n_jobs || g_atomic_int_get (&run->progress.failed))
        break;
      if (!run->job_func (run, job, &error))
        {
          g_atomic_int_set (&run->progress.failed, 1);
          g_mutex_lock (&run->error_lock);
          if (run->error == NULL)
            run->error = error;
          else
            g_clear_error (&error);
          g_mutex_unlock (&run->error_lock);
        }
    }
  return NULL;
}

/* Runs jobs 0..n_jobs-1 of @func on up to n_threads threads (the caller's
 * included). Jobs write only their own outputs, so the order they run in
 * does not matter. */
static gboolean
run_jobs (Run *run, int n_jobs, JobFunc func, GError **error)
{
  int n_threads = run->params->n_threads > 0 ? run->params->n_threads
                                             : (int) g_get_num_processors ();
  int n_workers = CLAMP (MIN (n_threads, n_jobs), 1, 64);
  GThread *threads[64];

  run->job_func = func;
  run->n_jobs = n_jobs;
  g_atomic_int_set (&run->next_job, 0);
  for (int w = 1; w < n_workers; w++)
    threads[w] = g_thread_new ("curator-classifier", worker, run);
  worker (run);
  for (int w = 1; w < n_workers; w++)
    g_thread_join (threads[w]);

  if (g_atomic_int_get (&run->progress.failed))
    {
      if (run->error != NULL)
        g_propagate_error (error, g_steal_pointer (&run->error));
      else
        g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_FAILED, "Training failed");
      return FALSE;
    }
  return TRUE;
}

/* Job: the fold's sample lists and standardisation. */
static gboolean
fold_setup_job (Run *run, int job, GError **error)
{
  FoldJob *fj = &run->folds[job];
  const int *fold_of = run->fold_of + (gsize) fj->repeat * run->n_samples;

  fj->train = g_new (guint32, run->n_samples);
  fj->held = g_new (guint32, run->n_samples);
  fj->unl = g_new (guint32, run->n_samples);
  for (gsize i = 0; i < run->n_samples; i++)
    {
      if (fold_of[i] == fj->fold)
        fj->held[fj->n_held++] = (guint32) i;
      else if (run->labels[i] >= 0)
        fj->train[fj->n_train++] = (guint32) i;
      else
        fj->unl[fj->n_unl++] = (guint32) i;
    }
  if (fj->n_train < 2)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "Fold %d has fewer than 2 labelled training samples; use fewer folds",
                   fj->fold + 1);
      return FALSE;
    }
  fj->mean = g_new (float, run->d);
  fj->inv_sd = g_new (float, run->d);
  standardisation (run->x, run->x_flip, run->d, fj->train, fj->n_train, fj->mean, fj->inv_sd);
  fj->logits = g_new0 (float *, run->n_candidates * run->params->n_seeds);
  return TRUE;
}

/* Job: one model (fold, candidate, seed), trained and applied. */
static gboolean
model_job (Run *run, int job, GError **error)
{
  const CuratorClassifierParams *params = run->params;
  int per_fold = run->n_candidates * params->n_seeds;
  FoldJob *fj = &run->folds[job / per_fold];
  int candidate = (job % per_fold) / params->n_seeds;
  int seed_index = job % params->n_seeds;
  gsize k = (gsize) run->k;
  _CuratorDataView view = {
    .features = run->x,
    .features_flip = run->x_flip,
    .n_dims = run->d,
    .n_classes = run->k,
    .labels = run->labels,
    .weights = run->weights,
    .mean = fj->mean,
    .inv_sd = fj->inv_sd,
  };
  /* Candidates share the seed: the same initialisation and batch order,
   * so that they differ only in what is being compared. */
  _CuratorTrainOptions options = {
    .kind = params->model,
    .hidden = params->hidden,
    .dropout = params->dropout,
    .label_smoothing = params->label_smoothing,
    .balance = params->balance,
    .balance_power = params->balance_power,
    .epochs = params->epochs,
    .draws_cap = params->draws_cap,
    .draws_min = params->draws_min,
    .batch_size = params->batch_size,
    .learning_rate = params->learning_rate,
    .l2 = candidate_l2 (run, candidate),
    .seed = _curator_derive_seed (params->seed, STREAM_MODEL, fj->key, (guint64) seed_index),
  };
  g_autoptr(_CuratorModel) model = NULL;
  g_autofree char *label = NULL;

  if (params->n_repeats > 1)
    label = g_strdup_printf ("repeat %d/%d, fold %d/%d: model %d/%d", fj->repeat + 1,
                             params->n_repeats, fj->fold + 1, params->n_folds,
                             job % per_fold + 1, per_fold);
  else
    label = g_strdup_printf ("fold %d/%d: model %d/%d", fj->fold + 1, params->n_folds,
                             job % per_fold + 1, per_fold);

  model = _curator_model_train (&options, &view, fj->train, fj->n_train, &run->progress, label,
                                error);
  if (model == NULL)
    return FALSE;

  float *logits = g_new (float, (fj->n_held + fj->n_unl) * k);
  _curator_model_logits (model, &view, fj->held, fj->n_held, logits);
  _curator_model_logits (model, &view, fj->unl, fj->n_unl, logits + fj->n_held * k);
  fj->logits[candidate * params->n_seeds + seed_index] = logits;
  return TRUE;
}

/* Job: averages the fold's seeds, chooses the candidate and temperature for
 * each held-out sample leaving it out (see the header) and writes the
 * probabilities of the fold's rows. */
static gboolean
calibrate_job (Run *run, int job, GError **error)
{
  FoldJob *fj = &run->folds[job];
  const CuratorClassifierParams *params = run->params;
  int n_cand = run->n_candidates;
  int n_beta = params->calibrate ? N_BETA : 1;
  gsize k = (gsize) run->k;
  gsize n_rows = fj->n_held + fj->n_unl;
  gsize m = 0;
  g_autofree gsize *pos = g_new (gsize, MAX (fj->n_held, 1));
  g_autofree double *betas = g_new (double, n_beta);
  g_autofree float **mean_logits = g_new0 (float *, n_cand);
  g_autofree double **prefix = g_new0 (double *, n_cand);
  g_autofree double **suffix = g_new0 (double *, n_cand);
  g_autofree double *f = g_new (double, n_beta);
  int fold_choice = 0;
  double fold_beta = 1.0, fold_best = G_MAXDOUBLE;

  fj->probs = g_new (double, MAX (n_rows, 1) * k);

  for (gsize j = 0; j < fj->n_held; j++)
    if (run->labels[fj->held[j]] >= 0)
      pos[m++] = j;
  for (int b = 0; b < n_beta; b++)
    betas[b] = beta_at (b, n_beta);

  for (int g = 0; g < n_cand; g++)
    {
      float *mean = mean_logits[g] = g_new0 (float, MAX (n_rows, 1) * k);
      for (int s = 0; s < params->n_seeds; s++)
        {
          const float *l = fj->logits[g * params->n_seeds + s];
          for (gsize i = 0; i < n_rows * k; i++)
            mean[i] += l[i];
        }
      for (gsize i = 0; i < n_rows * k; i++)
        mean[i] /= (float) params->n_seeds;

      /* prefix[j][b] = sum over labelled rows before j, suffix[j][b] = from j on. */
      double *pre = prefix[g] = g_new0 (double, (m + 1) * (gsize) n_beta);
      double *suf = suffix[g] = g_new0 (double, (m + 1) * (gsize) n_beta);
      g_autofree double *nll = g_new (double, MAX (m, 1) * (gsize) n_beta);
      gsize right = 0;
      for (gsize j = 0; j < m; j++)
        {
          const float *z = mean + pos[j] * k;
          int y = run->labels[fj->held[pos[j]]];
          int predicted;
          for (int b = 0; b < n_beta; b++)
            nll[j * n_beta + b] = row_nll (z, (int) k, y, betas[b]);
          curator_classifier_argmax (z, 1, (int) k, &predicted);
          right += predicted == y;
        }
      for (gsize j = 0; j < m; j++)
        for (int b = 0; b < n_beta; b++)
          pre[(j + 1) * n_beta + b] = pre[j * n_beta + b] + nll[j * n_beta + b];
      for (gsize j = m; j-- > 0;)
        for (int b = 0; b < n_beta; b++)
          suf[j * n_beta + b] = suf[(j + 1) * n_beta + b] + nll[j * n_beta + b];

      /* The whole fold's choice: for unlabelled samples and the report. */
      double beta = 1.0, best = m > 0 ? grid_minimum (pre + m * n_beta, n_beta, &beta) : 0.0;
      if (best < fold_best)
        {
          fold_best = best;
          fold_choice = g;
          fold_beta = m > 0 ? beta : 1.0;
        }
      if (m > 0)
        {
          fj->grid_nll[g] = best / (double) m;
          fj->grid_accuracy[g] = (double) right / (double) m;
        }
    }

  /* Labelled held-out rows: the choice without their own term. */
  gsize next_labelled = 0;
  for (gsize j = 0; j < fj->n_held; j++)
    {
      int choice = fold_choice;
      double beta = fold_beta;

      if (next_labelled < m && pos[next_labelled] == j)
        {
          gsize t = next_labelled++;
          double best = G_MAXDOUBLE;
          choice = 0;
          beta = 1.0;
          if (m >= 3) /* at least two others to fit on */
            for (int g = 0; g < n_cand; g++)
              {
                double b_g;
                for (int b = 0; b < n_beta; b++)
                  f[b] = prefix[g][t * n_beta + b] + suffix[g][(t + 1) * n_beta + b];
                double v = grid_minimum (f, n_beta, &b_g);
                if (v < best)
                  {
                    best = v;
                    choice = g;
                    beta = b_g;
                  }
              }
        }
      softmax_row (mean_logits[choice] + j * k, (int) k, beta, fj->probs + j * k);
    }
  for (gsize j = fj->n_held; j < n_rows; j++)
    softmax_row (mean_logits[fold_choice] + j * k, (int) k, fold_beta, fj->probs + j * k);

  fj->choice = fold_choice;
  fj->beta = fold_beta;
  for (int g = 0; g < n_cand; g++)
    {
      g_free (mean_logits[g]);
      g_free (prefix[g]);
      g_free (suffix[g]);
    }
  return !_curator_progress_cancelled (&run->progress, error);
}

static void
fold_job_clear (FoldJob *fj, int n_logits)
{
  g_free (fj->train);
  g_free (fj->held);
  g_free (fj->unl);
  g_free (fj->mean);
  g_free (fj->inv_sd);
  if (fj->logits != NULL)
    for (int i = 0; i < n_logits; i++)
      g_free (fj->logits[i]);
  g_free (fj->logits);
  g_free (fj->probs);
}

static gboolean
features_finite (const float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

static double
seconds_since (gint64 t0)
{
  return (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
}

gboolean
curator_classifier_cross_val_predict (const CuratorClassifierParams *params,
                                      const float                   *features,
                                      const float                   *features_flip,
                                      const int                     *labels,
                                      const float                   *weights,
                                      const guint32                 *groups,
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
  g_autofree int *fold_of = NULL;
  gsize n_labelled = 0;
  int k = n_classes;
  gboolean ok = FALSE;
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
  g_return_val_if_fail (params->draws_cap >= 0 && params->draws_min >= 0, FALSE);
  g_return_val_if_fail (params->model != CURATOR_MODEL_MLP || params->hidden >= 1, FALSE);
  g_return_val_if_fail (params->dropout >= 0.0 && params->dropout < 1.0, FALSE);
  g_return_val_if_fail (params->label_smoothing >= 0.0 && params->label_smoothing < 1.0, FALSE);
  g_return_val_if_fail (params->balance_power >= 0.0 && params->balance_power <= 1.0, FALSE);
  g_return_val_if_fail (params->l2 > 0.0 || (params->n_grid >= 1
                                             && params->n_grid <= CURATOR_CLASSIFIER_MAX_GRID),
                        FALSE);
  g_return_val_if_fail (params->project_dims >= 0 && params->n_threads >= 0, FALSE);
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
  run.k = k;
  run.labels = labels;
  run.weights = weights;
  run.n_candidates = params->l2 > 0.0 ? 1 : params->n_grid;
  run.progress.cancellable = cancellable;
  run.progress.func = progress;
  run.progress.data = progress_data;
  g_mutex_init (&run.progress.lock);
  g_mutex_init (&run.error_lock);

  gboolean project = params->project_dims > 0 && (gsize) params->project_dims < n_dims;
  double n_train = (double) n_labelled * (params->n_folds - 1) / params->n_folds;
  run.progress.total = n_train * _curator_effective_epochs (params->epochs, params->draws_cap, params->draws_min,
                                                        (gsize) n_train)
                       * run.n_candidates * params->n_seeds
                       * params->n_folds * params->n_repeats
                       + (project ? 4.0 * (double) n_samples : 0.0);

  run.x = features;
  run.x_flip = features_flip;
  run.d = n_dims;
  if (project)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!_curator_project_pca (features, features_flip, n_samples, n_dims,
                                 (gsize) params->project_dims,
                                 _curator_derive_seed (params->seed, STREAM_PROJECT, 0, 0),
                                 &projected, features_flip != NULL ? &projected_flip : NULL,
                                 &run.progress, error))
        goto out;
      run.x = projected;
      run.x_flip = projected_flip;
      run.d = (gsize) params->project_dims;
      report->seconds_project = seconds_since (t0);
    }
  report->feature_dims = (int) run.d;

  fold_of = g_new (int, (gsize) params->n_repeats * n_samples);
  for (int r = 0; r < params->n_repeats; r++)
    assign_folds (params, labels, groups, n_samples, k, r, fold_of + (gsize) r * n_samples);
  run.fold_of = fold_of;
  run.n_fold_jobs = params->n_repeats * params->n_folds;
  run.folds = g_new0 (FoldJob, run.n_fold_jobs);
  for (int j = 0; j < run.n_fold_jobs; j++)
    {
      run.folds[j].repeat = j / params->n_folds;
      run.folds[j].fold = j % params->n_folds;
      run.folds[j].key = (guint64) j;
    }

  {
    /* Models, not GEMMs, go to the cores (see the header); restored below. */
    int blas_threads = openblas_get_num_threads ();
    gint64 t0 = g_get_monotonic_time ();
    gboolean trained;

    openblas_set_num_threads (1);
    trained = run_jobs (&run, run.n_fold_jobs, fold_setup_job, error);
    report->seconds_standardise = seconds_since (t0);
    t0 = g_get_monotonic_time ();
    trained = trained
              && run_jobs (&run, run.n_fold_jobs * run.n_candidates * params->n_seeds, model_job,
                           error);
    openblas_set_num_threads (blas_threads);
    report->seconds_train = seconds_since (t0);
    if (!trained)
      goto out;
    report->n_models = run.n_fold_jobs * run.n_candidates * params->n_seeds;
  }

  {
    gint64 t0 = g_get_monotonic_time ();
    g_autofree double *acc = NULL;
    g_autofree int *count = NULL;

    if (!run_jobs (&run, run.n_fold_jobs, calibrate_job, error))
      goto out;

    /* In fold order, so that the sums of unlabelled samples' predictions
     * do not depend on which thread finished first. */
    acc = g_new0 (double, n_samples * (gsize) k);
    count = g_new0 (int, n_samples);
    for (int j = 0; j < run.n_fold_jobs; j++)
      {
        const FoldJob *fj = &run.folds[j];
        for (gsize r = 0; r < fj->n_held + fj->n_unl; r++)
          {
            guint32 row = r < fj->n_held ? fj->held[r] : fj->unl[r - fj->n_held];
            for (int c = 0; c < k; c++)
              acc[(gsize) row * k + c] += fj->probs[r * (gsize) k + c];
            count[row]++;
          }
        if (fj->repeat == 0)
          {
            report->fold_l2[fj->fold] = candidate_l2 (&run, fj->choice);
            report->fold_temperature[fj->fold] = 1.0 / fj->beta;
          }
      }
    for (gsize i = 0; i < n_samples; i++)
      {
        g_assert (count[i] > 0);
        for (int c = 0; c < k; c++)
          probs_out[i * (gsize) k + c] = (float) (acc[i * (gsize) k + c] / count[i]);
      }
    if (params->l2 <= 0.0)
      {
        report->n_grid = params->n_grid;
        for (int g = 0; g < params->n_grid; g++)
          {
            report->grid_l2[g] = params->l2_grid[g];
            for (int j = 0; j < run.n_fold_jobs; j++)
              {
                report->grid_heldout_nll[g] += run.folds[j].grid_nll[g] / run.n_fold_jobs;
                report->grid_heldout_accuracy[g] += run.folds[j].grid_accuracy[g]
                                                    / run.n_fold_jobs;
              }
          }
      }
    report->seconds_calibrate = seconds_since (t0);
  }

  report->oof_accuracy = curator_classifier_accuracy (probs_out, labels, n_samples, k);
  report->oof_macro_f1 = curator_classifier_macro_f1 (probs_out, labels, n_samples, k);
  report->seconds_total = seconds_since (start_time);
  if (progress != NULL)
    progress (1.0, "done", progress_data);
  ok = TRUE;

out:
  if (run.folds != NULL)
    for (int j = 0; j < run.n_fold_jobs; j++)
      fold_job_clear (&run.folds[j], run.n_candidates * params->n_seeds);
  g_free (run.folds);
  g_clear_error (&run.error);
  g_mutex_clear (&run.progress.lock);
  g_mutex_clear (&run.error_lock);
  return ok;
}

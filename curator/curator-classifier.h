/* curator-classifier.h: out-of-sample class probabilities for every sample.
 *
 * Analyze needs, for each sample, a probability vector from a model that
 * never saw that sample's label: confident learning compares it with the
 * given label. curator_classifier_cross_val_predict() trains small models
 * (multinomial logistic regression or a one-hidden-layer MLP) with K-fold
 * cross-validation on precomputed features and returns the held-out
 * predictions.
 *
 * The guarantee, tested: the probabilities of sample i do not depend on
 * labels[i]. Changing only labels[i] (to another class) leaves probs[i]
 * bit-identical. Everything that decides how i is predicted reads only the
 * other samples' labels:
 *
 *  - folds come from a seeded permutation of sample indices, not of labels.
 *    Classic label-stratified folds would move i (and its class mates) to
 *    other folds when labels[i] changes. With a few hundred samples per
 *    class a random split is within a few percent of stratified; the price
 *    is that a class with only a handful of samples may be unevenly spread.
 *    params.stratify turns label stratification on for callers who prefer
 *    it and do not need the exact guarantee.
 *  - the models predicting fold f train on the labelled samples outside f;
 *    standardisation statistics and class-balanced sampling see only those.
 *  - the L2 strength (when chosen) and the calibration temperature are
 *    fitted on fold f's held-out predictions *leaving sample i out*: for i
 *    they minimise the summed NLL of the given labels of the other labelled
 *    samples of f. Those predictions come from models that never saw any
 *    label of f, so this is honest validation for i; the sums are built as
 *    prefix + suffix so that i's term is never added, not even to be
 *    subtracted again (which would leave rounding traces of labels[i]).
 *    This is cleanlab's "calibrate on the out-of-fold predictions", made
 *    exact by leaving i out, and it needs no inner models.
 *
 * Unlabelled samples (label -1) are never trained on. They are predicted by
 * every fold model (each is out-of-sample for them), with the fold's
 * choice fitted on all its labelled samples, and the predictions averaged.
 *
 * Deterministic for a seed, whatever the number of threads: every model is
 * its own job with its own PRNG stream, runs on one thread with
 * single-threaded BLAS (models, not GEMMs, are spread over the cores; that is
 * also faster, since these skinny GEMMs gain nothing from OpenBLAS threads),
 * and results are merged in a fixed order. While training runs, OpenBLAS is
 * set to one thread process-wide and restored afterwards. The optional
 * projection uses threaded BLAS; its last bits may depend on
 * OPENBLAS_NUM_THREADS. */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#ifndef CURATOR_PROGRESS_FUNC_DEFINED
#define CURATOR_PROGRESS_FUNC_DEFINED
/* Reports progress of long work: @fraction in [0, 1], rising; @message is a
 * short phrase for a person ("fold 2/5: training"). Called on the worker's
 * thread. */
typedef void (*CuratorProgressFunc) (double      fraction,
                                     const char *message,
                                     gpointer    user_data);
#endif

typedef enum {
  CURATOR_MODEL_LOGREG, /* multinomial logistic regression */
  CURATOR_MODEL_MLP,    /* one hidden ReLU layer, then softmax */
} CuratorModelKind;

const char *curator_model_kind_to_string (CuratorModelKind kind); /* "logreg", "mlp" */
/* Returns FALSE for an unknown name. */
gboolean    curator_model_kind_from_string (const char *name, CuratorModelKind *kind);

#define CURATOR_CLASSIFIER_MAX_FOLDS 32
#define CURATOR_CLASSIFIER_MAX_GRID  8

typedef struct {
  CuratorModelKind model;
  int      hidden;          /* MLP hidden units */
  double   dropout;         /* MLP: dropout probability on the hidden layer, 0 = off */
  double   label_smoothing; /* target = (1 - s) one-hot + s / k */
  gboolean balance;         /* class-balanced sampling: minority classes are drawn
                             * more often than their size says (repeating within an
                             * epoch), majority classes less */
  double   balance_power;   /* with balance, class c's share of the draws goes as
                             * n_c^(1 - balance_power): 1 = every class equally often,
                             * 0.5 = as the square root of its size, 0 = as its size */
  gboolean stratify;        /* label-stratified folds; breaks the exact out-of-sample
                             * guarantee described above, default FALSE */
  int      n_folds;         /* K, >= 2 */
  int      n_repeats;       /* repeated K-fold with different fold permutations; each
                             * sample's prediction averages its n_repeats held-out ones */
  int      n_seeds;         /* models per fold (different initialisation and batch order),
                             * averaged; they share the fold's L2 and temperature */
  int      epochs;          /* passes over the training part per model */
  int      draws_cap;       /* > 0: a model draws at most about this many training rows
                             * in all: on a large set it makes fewer passes (rounded,
                             * at least one), since each pass already holds more
                             * examples; 0: no cap */
  int      draws_min;       /* > 0: a model draws at least about this many training rows:
                             * on a small set it makes more passes (rounded up), since a
                             * few hundred rows x @epochs is only a handful of steps;
                             * 0: no floor */
  int      batch_size;
  double   learning_rate;   /* Adam step size at the start of the cosine schedule */
  double   l2;              /* > 0: this L2 strength; <= 0: one set of models per
                             * l2_grid value, the one with the lowest held-out NLL
                             * (leaving the sample out, see above) predicts */
  int      n_grid;
  double   l2_grid[CURATOR_CLASSIFIER_MAX_GRID];
  int      project_dims;    /* > 0: first project all features onto their top
                             * project_dims principal directions (label-free,
                             * computed on all samples); 0: train on the features.
                             * Cheaper models, but on the practice set's patch
                             * features 512 or 1024 directions cost logistic
                             * regression 4 points of accuracy: off by default */
  gboolean calibrate;       /* fit a temperature (per fold, leaving the sample out) */
  int      n_threads;       /* models trained at once; 0: one per processor */
  guint64  seed;
} CuratorClassifierParams;

/* Fills @params with the defaults that meet the accuracy and time targets on
 * the CIFAR-10 practice set (see tests/bench/bench-classifier.c). */
void curator_classifier_params_init_default (CuratorClassifierParams *params);

/* What cross_val_predict did, for the run's record. Fold arrays are per fold of
 * the first repeat, fitted on all the fold's labelled samples (the per-sample
 * leave-one-out choices differ from them slightly). */
typedef struct {
  int    n_folds;
  int    n_repeats;
  int    n_models;                                  /* models trained */
  int    feature_dims;                              /* after projection */
  double fold_l2[CURATOR_CLASSIFIER_MAX_FOLDS];
  double fold_temperature[CURATOR_CLASSIFIER_MAX_FOLDS];
  int    n_grid;                                    /* 0 when L2 was given */
  double grid_l2[CURATOR_CLASSIFIER_MAX_GRID];
  double grid_heldout_accuracy[CURATOR_CLASSIFIER_MAX_GRID]; /* mean over folds, vs the */
  double grid_heldout_nll[CURATOR_CLASSIFIER_MAX_GRID];      /* given labels, after T */
  double oof_accuracy;                              /* vs the given labels */
  double oof_macro_f1;
  double seconds_project;
  double seconds_standardise;
  double seconds_train;                             /* training and predicting, wall */
  double seconds_calibrate;                         /* choice of L2 and temperature */
  double seconds_total;
} CuratorClassifierReport;

/* Trains with K-fold cross-validation and writes the out-of-sample class
 * probabilities of every sample to @probs_out (@n_samples x @n_classes, row
 * major; each row sums to 1).
 *
 * @features: @n_samples x @n_dims, row major.
 * @features_flip: NULL, or the features of the horizontally mirrored images
 *   (same shape). Models then train on a random one of the two per draw and
 *   predict from the mean of the two logits.
 * @labels: 0..@n_classes-1, or -1 for no label.
 * @weights: NULL, or a non-negative weight per sample (e.g. verified samples
 *   count more); normalised to mean 1 over each training part.
 * @groups: NULL, or a group id per sample: samples with the same id (exact
 *   copies of one picture) always fall in the same fold, so that no model
 *   predicts a sample after training on its copy's label, which would make
 *   a copied wrong label look right. Ids must not be derived from labels.
 * @report_out: NULL, or filled.
 *
 * @progress is called from worker threads, one call at a time.
 *
 * Errors: CURATOR_ERROR_CANCELLED when @cancellable fires (checked every
 * mini-batch); CURATOR_ERROR_INVALID when there are too few labelled samples
 * (fewer than 2 per fold) or a feature is not finite. */
gboolean curator_classifier_cross_val_predict (const CuratorClassifierParams *params,
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
                                               GError                       **error);

/* ---- metrics over probabilities (rows of @probs, argmax as the prediction) ---- */

/* Argmax of each row into @predicted (ties: the lowest class). */
void   curator_classifier_argmax   (const float *probs, gsize n_samples, int n_classes,
                                    int *predicted);
/* Share of samples with a label >= 0 whose argmax equals it; 0 if none. */
double curator_classifier_accuracy (const float *probs, const int *labels,
                                    gsize n_samples, int n_classes);
/* Unweighted mean of the per-class F1 over classes that occur among the labels
 * or the predictions of samples with a label >= 0 (as scikit-learn's
 * f1_score(average="macro")); a class never predicted has F1 0. */
double curator_classifier_macro_f1 (const float *probs, const int *labels,
                                    gsize n_samples, int n_classes);

G_END_DECLS

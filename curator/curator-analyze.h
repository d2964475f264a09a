/* curator-analyze.h: one analysis run over a project.
 *
 * Loads every readable, not excluded sample's picture from the project's
 * thumbnail cache, computes (or takes from the feature cache) the k-means
 * patch features and the colour/gradient features, trains the classifier
 * with K-fold cross-validation so that every sample gets an out-of-sample
 * probability vector, finds what is wrong (curator-issues.h: label issues,
 * outliers, duplicates, image quality, minority classes, suggestions), and
 * stores it all in a new run with its parameters, versions, stage timings
 * and metrics. With rounds > 1 it self-trains: the next round's classifier
 * learns from the previous round's confident suggestions. The GUI calls this same function in a
 * worker thread; the CLI calls it directly. */
#pragma once

#include <gio/gio.h>

#include "curator-classifier.h"
#include "curator-db.h"
#include "curator-features.h"
#include "curator-issues.h"
#include "curator-progress.h"

G_BEGIN_DECLS

typedef struct {
  CuratorPatchParams      patch;          /* k-means patch features */
  gboolean                color_hog;      /* add the colour + gradient histograms */
  gboolean                flip;           /* horizontal-flip augmentation */
  CuratorClassifierParams classifier;
  double                  verified_weight;/* training weight of labels a person chose or confirmed */
  gboolean                relearn;        /* learn a new dictionary even when one is cached */
  CuratorIssuesOptions    issues;         /* what is flagged, and how */
  int                     rounds;         /* self-training rounds (>= 1; 1 = none): each round
                                           * after the first trains on the previous round's
                                           * confident suggestions in place of the labels
                                           * they replace; a person's labels are never replaced */
  int                     early_repeats;  /* > 0: rounds before the last repeat their K-fold
                                           * at most this often (they only choose the
                                           * pseudo-labels); 0: as classifier.n_repeats */
  const char             *features;       /* NULL: the patch + colour/gradient features above;
                                           * else an extractor "NAME[:ARG]" from the plugin
                                           * registry (curator-plugins.h) whose features take
                                           * their place, e.g. "embeddings:FILE" (borrowed) */
} CuratorAnalyzeOptions;

void curator_analyze_options_init_default (CuratorAnalyzeOptions *options);

typedef struct {
  gint64 run_id;
  gsize  n_samples;        /* analysed (ok, not excluded) */
  gsize  n_labelled;
  int    n_classes;
  int    n_dims;           /* feature dimensions fed to the classifier */
  gsize  n_features_cached;
  gsize  n_features_computed;
  gboolean dictionary_cached;
  double accuracy;         /* out-of-sample, against the current labels */
  double macro_f1;
  int    rounds;           /* self-training rounds run */
  gsize  n_pseudo_labels;  /* training labels replaced by suggestions in the last round */
  gsize  n_label_issues;   /* flagged as likely mislabelled */
  gsize  n_suggestions;
  double gemm_gflops_per_core; /* feature stage's matrix products per worker thread, when computed */
  double seconds_load, seconds_dictionary, seconds_features, seconds_classifier,
         seconds_issues, seconds_store, seconds_total;
  CuratorClassifierReport classifier;
} CuratorAnalyzeReport;

/* Runs one analysis. Only one analysis runs on a project at a time: a second
 * one fails with CURATOR_ERROR_BUSY ("another analysis is running"). A
 * cancelled run is recorded with status "cancelled" and fails with
 * CURATOR_ERROR_CANCELLED. INVALID when fewer than two classes have labelled
 * samples. */
gboolean curator_analyze_run (CuratorDb                   *db,
                              const CuratorAnalyzeOptions *options,
                              CuratorAnalyzeReport        *report,
                              GCancellable                *cancellable,
                              CuratorProgressFunc          progress,
                              gpointer                     progress_data,
                              GError                     **error);

/* Features round-trip through half precision so that what the cache gives
 * back is bit-identical to what was computed (cached and fresh runs agree). */
void curator_half_encode (const float *in, guint16 *out, gsize n);
void curator_half_decode (const guint16 *in, float *out, gsize n);

G_END_DECLS

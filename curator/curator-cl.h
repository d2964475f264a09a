/* curator-cl.h: confident learning — which given labels are probably wrong.
 *
 * The method of Northcutt, Jiang & Chuang (JAIR 2021), computed the way
 * cleanlab 2.x computes it (find_label_issues, compute_confident_joint,
 * calibrate_confident_joint, estimate_latent, get_label_quality_scores), so
 * that our flags are the ones the reference implementation gives on the same
 * out-of-sample probabilities. tests/test-cl.c checks that against golden
 * vectors written by cleanlab 2.9.
 *
 * Every function is pure: it reads
 *   labels      gint[n_samples], the given label of each sample, 0..n_classes-1,
 *               or any negative value for a sample that is unlabelled or
 *               excluded. Such a sample is ignored by everything: it counts
 *               towards no threshold, joint or class count, is never flagged
 *               and gets no score (NaN) — as if it were not in the arrays.
 *   pred_probs  double[n_samples * n_classes], row-major: row i is sample i's
 *               out-of-sample probability vector (finite, in [0, 1]; rows are
 *               expected to sum to 1, which is not checked).
 * and writes into arrays the caller provides, sized as each function says.
 * A label >= n_classes, a probability outside [0, 1] or NaN, n_classes < 2
 * are programmer errors: the function emits a critical warning and returns
 * FALSE without writing its outputs.
 *
 * Matrices are row-major n_classes x n_classes with cleanlab's orientation:
 *   confident_joint[given * k + true]       counts of (given label, true label)
 *   noise_matrix[given * k + true]          P(given label | true label); columns sum to 1
 *   inverse_noise_matrix[true * k + given]  P(true label | given label); columns sum to 1
 * (k = n_classes). Sample positions are 0-based indices into the arrays.
 *
 * Defaults are cleanlab's: calibrated joint, frac_noise = 1.0,
 * min_examples_per_class = 1 (a class with at most one given sample is never
 * pruned), py_method = "cnt", converge_latent_estimates = FALSE.
 *
 * Where cleanlab's answer depends on the order numpy's np.argsort gives equal
 * values (which cell a rounding bumps, which of equally suspicious samples a
 * prune count takes, the order of equal scores in a ranking), ours is the
 * same: we run a transcription of numpy's sort. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Which samples find_label_issues flags (cleanlab's filter_by). For every
 * filter a sample whose most probable class is its given label is never
 * flagged. */
typedef enum {
  CURATOR_CL_PRUNE_BY_NOISE_RATE, /* per off-diagonal cell (given k, true j) of the calibrated joint, that
                                     many class-k samples with the largest p[j] - p[k] (cleanlab's default) */
  CURATOR_CL_PRUNE_BY_CLASS,      /* per class k, (count - diagonal cell) class-k samples with the lowest p[k] */
  CURATOR_CL_BOTH,                /* flagged by both of the above */
  CURATOR_CL_CONFIDENT_LEARNING,  /* off-diagonal samples of the (uncalibrated) confident joint */
  CURATOR_CL_PREDICTED_NEQ_GIVEN, /* argmax of the probabilities differs from the given label */
} CuratorClFilter;

/* Label-quality score (cleanlab's rank_by / get_label_quality_scores method):
 * in [0, 1], lower means the given label is more likely wrong. */
typedef enum {
  CURATOR_CL_RANK_SELF_CONFIDENCE,             /* p[given] */
  CURATOR_CL_RANK_NORMALIZED_MARGIN,           /* (p[given] - max_{j != given} p[j] + 1) / 2 */
  CURATOR_CL_RANK_CONFIDENCE_WEIGHTED_ENTROPY, /* log(1 + H/p[given]) / (H/p[given]), H normalised entropy */
} CuratorClRank;

/* Everything one confident-learning pass produces (curator_cl_analyze).
 * All arrays are owned by the struct. */
typedef struct {
  gsize     n_samples;            /* including unlabelled ones */
  guint     n_classes;
  gsize     n_labelled;           /* samples with a label >= 0 */

  double   *thresholds;           /* [n_classes] per-class confident thresholds */
  gint64   *confident_joint;      /* [k * k] calibrated, [given * k + true]; sums to n_labelled */
  double   *py;                   /* [n_classes] estimated prior of the true labels */
  double   *noise_matrix;         /* [k * k] P(given | true), [given * k + true] */
  double   *inverse_noise_matrix; /* [k * k] P(true | given), [true * k + given] */
  gsize     num_label_issues;     /* cleanlab num_label_issues(), "off_diagonal" estimate */

  gboolean *is_issue;             /* [n_samples] flagged by the chosen filter */
  double   *label_quality;        /* [n_samples] score by the chosen rank method; NaN if unlabelled */
  gsize     n_issues;             /* number of flagged samples */
  gsize    *ranked_issues;        /* [n_issues] flagged positions, lowest label quality first */
} CuratorClResult;

void curator_cl_result_free (CuratorClResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorClResult, curator_cl_result_free)

/* The names cleanlab uses ("prune_by_noise_rate", ..., "self_confidence", ...),
 * for options, JSON and run parameters. _to_string returns a static string;
 * _from_string returns FALSE for an unknown name and leaves *out alone. */
const char *curator_cl_filter_to_string   (CuratorClFilter filter);
gboolean    curator_cl_filter_from_string (const char      *name,
                                           CuratorClFilter *out);
const char *curator_cl_rank_to_string     (CuratorClRank    method);
gboolean    curator_cl_rank_from_string   (const char      *name,
                                           CuratorClRank   *out);

/* thresholds[n_classes]: the mean predicted probability of class j over the
 * samples given label j (cleanlab get_confident_thresholds). A class that no
 * sample is given gets 2.0, which no probability reaches. */
gboolean curator_cl_thresholds (const gint   *labels,
                                const double *pred_probs,
                                gsize         n_samples,
                                guint         n_classes,
                                double       *thresholds);

/* confident_joint[n_classes * n_classes] (cleanlab compute_confident_joint).
 * A sample counts for every class j with p[j] >= thresholds[j] - 1e-6; if
 * there are several, for the argmax of its whole row; a sample above no
 * threshold is not counted. Each diagonal cell is then raised to at least 1.
 * With @calibrate, rows are rescaled to the given-label counts, the joint to
 * sum to n_labelled, and each row rounded to integers preserving its sum.
 * @thresholds may be NULL (computed as curator_cl_thresholds does).
 * @off_diagonal (nullable, [n_samples]) receives TRUE for each counted sample
 * whose true-label guess differs from its given label — cleanlab's
 * return_indices_of_off_diagonals, which does not depend on @calibrate. */
gboolean curator_cl_confident_joint (const gint   *labels,
                                     const double *pred_probs,
                                     gsize         n_samples,
                                     guint         n_classes,
                                     const double *thresholds,
                                     gboolean      calibrate,
                                     gint64       *confident_joint,
                                     gboolean     *off_diagonal);

/* py[n_classes], noise_matrix[k * k], inverse_noise_matrix[k * k] from a
 * (calibrated) confident joint and the given labels (cleanlab estimate_latent
 * with py_method "cnt"): py = inverse_noise_matrix . p(given), clipped to
 * [1e-5, 1] and renormalised; off-diagonal noise rates clipped to [0, 0.9999]
 * and columns renormalised. Any output may be NULL. */
gboolean curator_cl_estimate (const gint   *labels,
                              gsize         n_samples,
                              const gint64 *confident_joint,
                              guint         n_classes,
                              double       *py,
                              double       *noise_matrix,
                              double       *inverse_noise_matrix);

/* cleanlab num_label_issues() with its default "off_diagonal" estimate: the
 * off-diagonal samples of the confident joint, less those whose given label
 * would be the argmax with 1e-6 added to its probability. This is the number
 * cleanlab suggests as "how many issues", not the size of any filter's set.
 * Returns 0 (and a critical) on bad inputs. */
gsize curator_cl_num_label_issues (const gint   *labels,
                                   const double *pred_probs,
                                   gsize         n_samples,
                                   guint         n_classes);

/* is_issue[n_samples]: cleanlab find_label_issues with filter_by = @filter. */
gboolean curator_cl_find_label_issues (const gint      *labels,
                                       const double    *pred_probs,
                                       gsize            n_samples,
                                       guint            n_classes,
                                       CuratorClFilter  filter,
                                       gboolean        *is_issue);

/* scores[n_samples]: label quality by @method (cleanlab
 * get_label_quality_scores, adjust_pred_probs = FALSE); NaN where the label
 * is negative. */
gboolean curator_cl_label_quality (const gint    *labels,
                                   const double  *pred_probs,
                                   gsize          n_samples,
                                   guint          n_classes,
                                   CuratorClRank  method,
                                   double        *scores);

/* Writes the positions i with is_issue[i] (and labels[i] >= 0) into
 * order[], lowest label quality by @method first, equal scores in numpy's
 * argsort order (cleanlab order_label_issues); returns how many it wrote.
 * @order must have room for every flagged sample (n_samples is enough). */
gsize curator_cl_rank_issues (const gint     *labels,
                              const double   *pred_probs,
                              gsize           n_samples,
                              guint           n_classes,
                              const gboolean *is_issue,
                              CuratorClRank   method,
                              gsize          *order);

/* All of the above in one pass: thresholds, calibrated joint, py and noise
 * matrices, num_label_issues, the flags of @filter and their ranking by
 * @method. Returns NULL (with a critical) on bad inputs.
 * (transfer full): free with curator_cl_result_free. */
CuratorClResult *curator_cl_analyze (const gint      *labels,
                                     const double    *pred_probs,
                                     gsize            n_samples,
                                     guint            n_classes,
                                     CuratorClFilter  filter,
                                     CuratorClRank    method);

G_END_DECLS

/* curator-issues.h: everything an analysis run says is wrong with the
 * dataset, per sample and per class, from the out-of-sample probabilities,
 * the features and the statistics the index keeps.
 *
 * One call (curator_issues_analyze) puts the pieces together:
 *
 *   neighbours  PCA-projected features -> exact cosine k-NN graph
 *               (curator-neighbours.h): the neighbours' label vote, outlier
 *               scores, feature-space near duplicates
 *   duplicates  pixel hashes, perceptual hashes and the near pairs above,
 *               joined into groups (curator-duplicates.h); a group whose
 *               labelled members disagree is a label conflict
 *   quality     dark, overexposed, blurry, ... (curator-quality.h)
 *   labels      confident learning (curator-cl.h, cleanlab 2.x semantics) on
 *               the *mixed* probabilities
 *                   p_mix = (1 - w) p_classifier + w votes_knn
 *               (w = knn_weight; a sample without labelled neighbours keeps
 *               p_classifier; neighbours in the sample's own duplicate group
 *               do not vote, see curator_knn_label_votes). The label quality is cleanlab's score of the
 *               given label under p_mix. Mixing the two before confident
 *               learning lets a sample whose look-alikes all carry another
 *               label count as confidently that label, and damps the
 *               classifier's own systematic confusions. On the practice
 *               sets (curator eval, table in curator-issues.c) w = 0.3 is as
 *               good as none on the balanced set (F1 0.668 / 0.669), better
 *               on the long tail (F1 0.623 -> 0.657, AUROC 0.899 -> 0.917)
 *               and on the clean set (flags 7.0% -> 4.5%); 0.5 is worse.
 *   gate        confident learning flags the samples its estimate of the
 *               noise says are wrong, and that estimate counts the model's
 *               own confusions as noise: on the practice set relabelled to
 *               its true labels it still flags 15% of the (correct) labels.
 *               A flag therefore also needs p_mix[given] < 0.7 / k
 *               (max_given_vs_chance, 0.07 with 10 classes): the evidence
 *               gives the label less than 70% of a blind guess's chance.
 *               Calibrated probabilities rarely say that of a correct
 *               label. Measured (10,000 CIFAR-10 images, w = 0.3): on the
 *               noisy set F1 0.662 -> 0.668 (precision 0.55 -> 0.79, recall
 *               0.83 -> 0.58), on the clean set flags 15.2% -> 4.5%. The
 *               ranking (label quality) is not affected. Relative to chance
 *               because probabilities calibrated on noisy labels give a wrong
 *               label about its share of the noise: with 3 classes and 20%
 *               noise that is 0.1, and a fixed 0.07 let through almost no
 *               flag (perfect embeddings, tests/test-plugins.c: flag F1 0.26
 *               with 0.07, 0.86 with no gate).
 *   decisions   labels a person chose or confirmed (verified) are trusted: a
 *               verified sample is flagged as a label issue only if
 *               confident learning flags it *and* the classifier's
 *               probability of its label fell by more than confirmed_drop
 *               (0.3) since the run the person saw when deciding
 *               (reference_p_label; without a reference it is never
 *               flagged).
 *   suggestions for every label issue the most probable class under p_mix
 *               (never the given label), its probability as the confidence;
 *               the same for every unlabelled sample; for a duplicate
 *               conflict, the label the group agrees on.
 *   classes     counts, estimated true counts (each class's count once the
 *               suggestions of the label issues are taken), ratios to the
 *               largest and the median class, and the minority flag: a class
 *               under minority_ratio (0.5) of the median class's estimated
 *               count. On the long-tail practice set (1000 down to 50, 16%
 *               noise) that is exactly the three rarest classes (estimated
 *               100, 75, 58 against true 97, 70, 50; median 234).
 *
 *   trust       an estimate, without any truth, of the share of the label
 *               flags that are real errors, and a warning when the model is
 *               too weak to vouch for them (CuratorIssuesTrust, below).
 *
 * Pure: no project access except in the helpers at the end that read
 * references and store results. */
#pragma once

#include <gio/gio.h>

#include "curator-cl.h"
#include "curator-db.h"
#include "curator-neighbours.h"
#include "curator-quality.h"

G_BEGIN_DECLS

/* Issue bits, as stored in CuratorDbScore.issues. Never renumber: runs in
 * project files keep them. */
typedef enum {
  CURATOR_ISSUE_LABEL                    = 1u << 0,  /* given label probably wrong */
  CURATOR_ISSUE_OUTLIER                  = 1u << 1,  /* far from every other sample */
  CURATOR_ISSUE_DUPLICATE                = 1u << 2,  /* same pixels as another sample */
  CURATOR_ISSUE_NEAR_DUPLICATE           = 1u << 3,  /* nearly the same picture as another */
  CURATOR_ISSUE_DUPLICATE_LABEL_CONFLICT = 1u << 4,  /* its duplicates carry other labels */
  CURATOR_ISSUE_DARK                     = 1u << 5,
  CURATOR_ISSUE_OVEREXPOSED              = 1u << 6,
  CURATOR_ISSUE_BLURRY                   = 1u << 7,
  CURATOR_ISSUE_LOW_INFORMATION          = 1u << 8,
  CURATOR_ISSUE_ODD_SIZE                 = 1u << 9,
  CURATOR_ISSUE_ODD_ASPECT               = 1u << 10,
  CURATOR_ISSUE_GREY_AS_RGB              = 1u << 11,
  CURATOR_ISSUE_MINORITY                 = 1u << 12, /* its class is a minority class */
  CURATOR_ISSUE_UNLABELLED               = 1u << 13, /* no label: has a suggestion */
} CuratorIssue;

#define CURATOR_ISSUE_N_BITS 14

/* The kinds `curator issues --kind` offers, as masks. */
#define CURATOR_ISSUES_KIND_LABEL     (CURATOR_ISSUE_LABEL | CURATOR_ISSUE_DUPLICATE_LABEL_CONFLICT)
#define CURATOR_ISSUES_KIND_DUPLICATE (CURATOR_ISSUE_DUPLICATE | CURATOR_ISSUE_NEAR_DUPLICATE | \
                                       CURATOR_ISSUE_DUPLICATE_LABEL_CONFLICT)
#define CURATOR_ISSUES_KIND_QUALITY   (CURATOR_ISSUE_DARK | CURATOR_ISSUE_OVEREXPOSED | \
                                       CURATOR_ISSUE_BLURRY | CURATOR_ISSUE_LOW_INFORMATION | \
                                       CURATOR_ISSUE_ODD_SIZE | CURATOR_ISSUE_ODD_ASPECT | \
                                       CURATOR_ISSUE_GREY_AS_RGB)

/* "label", "outlier", "exact-duplicate", "near-duplicate",
 * "duplicate-label-conflict", "dark", ..., "minority", "unlabelled" for one
 * bit; NULL for anything else. */
const char *curator_issue_to_string   (CuratorIssue issue);
/* Accepts the names above and the kinds "label", "duplicate", "quality"
 * (masks above: "label" is the kind, label issues and duplicate conflicts);
 * FALSE for an unknown name. */
gboolean    curator_issue_mask_from_string (const char *name, guint32 *mask);
/* "label, outlier" for a set of bits; (transfer full). */
char       *curator_issues_to_string  (guint32 issues);

typedef struct {
  CuratorClFilter filter;          /* prune_by_noise_rate */
  CuratorClRank   rank;            /* self_confidence */
  guint    knn_k;                  /* 10; 0 = no neighbours */
  double   knn_weight;             /* 0.3: weight of the neighbours' vote in p_mix */
  guint    project_dims;           /* 128: PCA dimensions before the k-NN search */
  gboolean standardise;            /* TRUE: unit variance per feature before the PCA */
  double   whiten;                 /* 0.5: partial whitening of the PCA components */
  double   outlier_iqr;            /* 1.7: Q3 + 1.7 IQR of the outlier score */
  double   near_duplicate_ratio;   /* 0.1: pairs closer than 0.1 x the median nearest
                                    * distance; on the practice set 13 pairs, every one
                                    * the same photograph shifted in colour or brightness */
  int      phash_radius;           /* CURATOR_PHASH_RADIUS_DEFAULT; < 0 = off */
  double   minority_ratio;         /* 0.5: a class under half the median class is a minority */
  double   confirmed_drop;         /* 0.3 */
  double   max_given_vs_chance;    /* 0.7: see "gate" above; >= k turns it off */
  CuratorQualityThresholds quality;
  int      n_threads;              /* 0 = one per processor */
  guint64  seed;                   /* for the PCA's random start */
} CuratorIssuesOptions;

void curator_issues_options_init_default (CuratorIssuesOptions *options);

typedef struct {
  gsize                  n_samples;
  guint                  n_classes;
  const char *const     *class_names;       /* [n_classes], for the reasons */
  const float           *probs;             /* [n_samples * n_classes] out-of-sample, rows sum to 1 */
  const gint            *labels;            /* [n_samples] 0..n_classes-1, or -1: unlabelled */
  const float           *features;          /* [n_samples * n_dims], or NULL: no neighbours */
  gsize                  n_dims;
  const gboolean        *verified;          /* [n_samples] a person chose or confirmed the label; or NULL */
  const double          *reference_p_label; /* [n_samples] see "decisions" above; NaN = none; or NULL */
  CuratorDbSample *const *samples;          /* [n_samples] hashes and statistics; or NULL */
  const CuratorKnn      *knn;               /* the graph an earlier call built on these same
                                             * features with the same options (copied: e.g.
                                             * the previous self-training round's), or NULL:
                                             * projected and built here. The graph is most of
                                             * the work and depends on the features only. */
} CuratorIssuesInput;

typedef struct {
  gsize    n_labelled;          /* samples given this label */
  gsize    n_label_issues;      /* of those, flagged as label issues */
  double   n_estimated;         /* estimated number of samples truly of this class:
                                 * the count with the label issues' suggestions taken */
  double   ratio_to_largest;    /* n_estimated / the largest class's */
  double   ratio_to_median;     /* n_estimated / the median class's */
  gboolean minority;           /* ratio_to_median < minority_ratio */
  double   mean_label_quality;  /* over its labelled samples; NaN if none */
} CuratorIssuesClass;

/* ---- how far to trust the label flags ------------------------------------------ */

/* A weak model makes confident learning flag many correct labels: its own
 * confusions look like noise. This is the run's estimate of how many of its
 * label flags are real errors, from the classifier's out-of-sample
 * probabilities alone (no truth):
 *
 *   a  = share of labelled samples whose most probable class is the given label
 *   c  = mean top probability (what the model claims its accuracy is)
 *   pi = clamp ((c - a) / (c - (1 - c) / (k - 1)), 0, 0.9)
 *        the noise rate that explains the gap between the two if the model
 *        were calibrated against the true labels and wrong labels were spread
 *        evenly over the other k - 1 classes (a = c (1 - pi) + (1 - c) pi / (k - 1))
 *   e  = pi / (k - 1)
 *   for a flagged sample with given label g and classifier probability p of g,
 *   reading p as calibrated against the *given* labels under that noise,
 *   P(true = g | x) = max (0, (p - e) / (1 - k e)) and, by Bayes,
 *   P(label right | x, given g) = min (1, (1 - pi) P(true = g | x) / p)
 *   precision = 1 - the mean of that over the flagged samples.
 *
 * Measured with `curator eval` (estimated / measured precision of the
 * flags, after `curator analyze` at default settings): noisy20 0.733 /
 * 0.754, long tail 0.608 / 0.713, clean (noisy20 relabelled to the truth)
 * 0.230 / 0.000, a 400-sample subset of noisy20 (a weak model: agrees with
 * 40% of the labels, claims 46% accuracy) 0.680 / 0.553 (0.45 to 0.68 over
 * three runs: on so few samples the estimate is itself unsteady). It errs
 * low on noisy data (a model trained on noisy labels partly learns the
 * noise, which narrows the gap) and high on clean data and on weak models
 * (their tail probabilities are over-confident); it separates the cases,
 * which is what the warning needs.
 *
 * weak (the warning) when the estimated precision is under
 * CURATOR_ISSUES_TRUST_MIN_PRECISION (fires on the clean set), when the
 * model's own claimed accuracy c is under CURATOR_ISSUES_TRUST_MIN_CONFIDENCE
 * (a model that expects to be wrong more often than right vouches for
 * nothing; fires on the 400-sample subset, c = 0.46, not on the full sets,
 * c = 0.64 to 0.72), or when there are fewer than
 * CURATOR_ISSUES_TRUST_MIN_PER_CLASS labelled samples per class (too few for
 * any estimate). */
#define CURATOR_ISSUES_TRUST_MIN_PRECISION  0.5
#define CURATOR_ISSUES_TRUST_MIN_CONFIDENCE 0.5
#define CURATOR_ISSUES_TRUST_MIN_PER_CLASS  20

typedef struct {
  gsize    n_labelled;
  gsize    n_flagged;      /* label issues */
  guint    n_classes;
  double   accuracy;       /* a above; NaN without labelled samples */
  double   confidence;     /* c above */
  double   noise_rate;     /* pi above */
  double   precision;      /* estimated share of the flags that are wrong labels; NaN when none */
  gboolean weak;           /* too weak to vouch for the flags */
} CuratorIssuesTrust;

/* @p_label[i]: the classifier's probability of sample i's given label (NaN =
 * unlabelled: left out); @p_top[i]: its largest probability; @flagged[i]: a
 * label issue. */
void  curator_issues_trust_estimate (const double       *p_label,
                                     const double       *p_top,
                                     const gboolean     *flagged,
                                     gsize               n_samples,
                                     guint               n_classes,
                                     CuratorIssuesTrust *trust);
/* Plain words for a person: one line with the estimate, and when weak a
 * second line starting "Warning:" that says why. (transfer full) */
char *curator_issues_trust_describe (const CuratorIssuesTrust *trust);

typedef struct {
  gsize     n_samples;
  guint     n_classes;

  guint32  *issues;                 /* [n] CuratorIssue bits */
  double   *label_quality;          /* [n] combined (p_mix) score of the given label; NaN unlabelled */
  double   *classifier_quality;     /* [n] the same from the classifier alone */
  double   *knn_agreement;          /* [n] the neighbours' vote for the given label; NaN
                                     * when unlabelled or no labelled neighbour */
  double   *mixed_probs;            /* [n * k] p_mix */
  gint     *suggested;              /* [n] suggested class, -1 = none */
  double   *suggestion_confidence;  /* [n] p_mix of the suggestion, 0 = none */
  char    **reasons;                /* [n] words for a person, NULL when nothing is flagged */
  double   *outlier_score;          /* [n] mean cosine distance to the neighbours; NaN without */
  double    outlier_threshold;
  guint    *duplicate_group;        /* [n] 0 = none */
  guint     n_duplicate_groups;
  float    *quality;                /* [n * CURATOR_QUALITY_N_CHECKS] severities */
  CuratorQualityContext quality_context;

  CuratorKnn *knn;                  /* the graph (NULL without features) */
  GArray   *near_duplicate_pairs;   /* guint32 pairs from the features */
  double    near_duplicate_distance;

  CuratorClResult   *cl;            /* noise matrices, thresholds... on p_mix */
  CuratorIssuesClass *classes;      /* [n_classes] */

  CuratorIssuesTrust trust;         /* how far to trust the label flags */

  gsize     n_label_issues;
  gsize     n_cl_issues;            /* flagged by confident learning before the gate */
  gsize     n_suggestions;
  double    seconds_project, seconds_knn, seconds_total;
} CuratorIssuesResult;

void curator_issues_result_free (CuratorIssuesResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorIssuesResult, curator_issues_result_free)

/* The whole analysis above. CURATOR_ERROR_CANCELLED when @cancellable fires;
 * CURATOR_ERROR_INVALID when the features cannot be projected.
 * (transfer full) */
CuratorIssuesResult *curator_issues_analyze (const CuratorIssuesInput   *input,
                                             const CuratorIssuesOptions *options,
                                             GCancellable               *cancellable,
                                             GError                    **error);

/* ---- with the project -------------------------------------------------------- */

/* Copies sample @i's results into @score (suggested_label,
 * suggestion_confidence, label_quality, issues, outlier_score,
 * duplicate_group, reason); @class_ids maps class positions to ids. Leaves
 * the probabilities and the prediction alone. */
void curator_issues_fill_score (const CuratorIssuesResult *result,
                                gsize                      i,
                                const gint64              *class_ids,
                                CuratorDbScore            *score);

/* Stores what does not fit in a score row: each sample's neighbours and the
 * per-class figures (curator_db_put_neighbours, curator_db_put_run_classes),
 * and the trust estimate (a small key file kept under the model key
 * "issues-trust:RUN_ID", curator_issues_trust_load).
 * @sample_ids and @class_ids map positions to ids. */
gboolean curator_issues_store (CuratorDb                 *db,
                               gint64                     run_id,
                               const gint64              *sample_ids,
                               const gint64              *class_ids,
                               const CuratorIssuesResult *result,
                               GError                   **error);

/* The trust estimate curator_issues_store kept for @run_id. FALSE with
 * CURATOR_ERROR_NOT_FOUND when it kept none (a run made before there was
 * one). */
gboolean curator_issues_trust_load (CuratorDb          *db,
                                    gint64              run_id,
                                    CuratorIssuesTrust *trust,
                                    GError            **error);

/* The same estimate from a run's stored scores (p_label, probs, the
 * label-issue and unlabelled bits), for runs stored without one. */
void curator_issues_trust_from_scores (CuratorDbScore *const *scores,
                                       gsize                  n_scores,
                                       guint                  n_classes,
                                       CuratorIssuesTrust    *trust);

/* reference_p_label for the samples a person decided: for each verified
 * sample, the probability that the latest finished run before its latest
 * decision (and before @before_run_id, 0 = any) gave its current label; NaN
 * when there is none (or the sample is not verified). */
gboolean curator_issues_reference_p_label (CuratorDb              *db,
                                           CuratorDbSample *const *samples,
                                           gsize                   n_samples,
                                           gint64                  before_run_id,
                                           double                 *reference,
                                           GError                **error);

/* ---- measuring against the truth ------------------------------------------------ */

#define CURATOR_ISSUES_EVAL_N_AT 4   /* precision at the first 100, 250, 500, 1000 */

typedef struct {
  guint   n_classes;
  gsize   n_samples;             /* labelled samples with a known truth */
  gsize   n_errors;              /* whose label differs from the truth */
  gsize   n_flagged;             /* flagged as label issues */
  gsize   n_flagged_errors;      /* flagged and wrong: true positives */
  double  precision, recall, f1; /* of the flags; NaN when undefined */
  double  auroc;                 /* of the label quality ranking (low = error) */
  gsize   at[CURATOR_ISSUES_EVAL_N_AT];          /* 100, 250, 500, 1000 */
  double  precision_at[CURATOR_ISSUES_EVAL_N_AT];/* share of errors among the worst ranked */
  double  accuracy, macro_f1;    /* predictions against the truth */
  gsize   n_suggestions;         /* flagged samples with a suggestion */
  double  suggestion_accuracy;   /* share of those equal to the truth */
  gsize   n_error_suggestions;   /* flagged true errors with a suggestion */
  double  error_suggestion_accuracy; /* share of those equal to the truth */
  /* per given class, [n_classes] */
  gsize  *class_samples, *class_errors, *class_flagged, *class_flagged_errors;
} CuratorIssuesEval;

void curator_issues_eval_free (CuratorIssuesEval *eval);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorIssuesEval, curator_issues_eval_free)

/* Scores flags, ranking and suggestions against known true labels. Samples
 * with labels[i] < 0 or truth[i] < 0 are left out. @flagged[i]: flagged as
 * a label issue; @quality: the ranking score (low = likely wrong; NaN ranks
 * last); @suggested: -1 = none; @predicted: the model's class (nullable: no
 * accuracy). (transfer full) */
CuratorIssuesEval *curator_issues_evaluate (const gint     *labels,
                                            const gint     *truth,
                                            const gboolean *flagged,
                                            const double   *quality,
                                            const gint     *suggested,
                                            const gint     *predicted,
                                            gsize           n_samples,
                                            guint           n_classes);

G_END_DECLS

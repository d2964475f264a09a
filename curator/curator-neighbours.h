/* curator-neighbours.h: the k-nearest-neighbour graph of the samples.
 *
 * Outliers, feature-space near duplicates and the neighbours' label vote all
 * come from one graph: for every sample, its k most similar other samples by
 * cosine similarity of their features. The graph is exact (no approximate
 * index): rows are L2-normalised and the similarities computed tile by tile
 * with single-precision GEMMs, keeping only the best k per row, so memory
 * stays at a few tiles whatever the number of samples.
 *
 * The patch features are thousands of dimensions; a label-free PCA
 * projection to a couple of hundred keeps the products cheap (50,000 samples
 * in seconds) and, by dropping the noisiest directions, makes the neighbours
 * slightly better, not worse.
 *
 * Everything is deterministic: each row's neighbours are ordered by
 * similarity, ties by position, and no result depends on the number of
 * threads (every tile is one single-threaded GEMM of fixed shape). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* ---- projection ----------------------------------------------------------- */

/* Projects @x (@n_samples x @n_dims, row major) onto the top @n_components
 * principal directions of its centred rows (largest variance first),
 * estimated by subspace iteration from at most CURATOR_PCA_MAX_FIT_ROWS
 * evenly spaced rows. With @standardise, every dimension is first scaled to
 * unit variance (so that groups of features on different scales weigh
 * alike). @whiten in [0, 1] divides component c by its standard deviation
 * to the power @whiten: 0 keeps the geometry of the centred rows (the basis
 * is orthonormal), 1 gives every direction unit variance. Partial whitening
 * (0.5) makes cosine neighbours of the patch features agree with the true
 * class markedly more often (58.8% against 53.4% on the practice set).
 * When @n_components is not below @n_dims, the rows are only centred (and
 * scaled), whatever @whiten. Deterministic for @seed.
 * Returns @n_samples x MIN (@n_components, @n_dims) floats, (transfer full);
 * NULL with CURATOR_ERROR_INVALID when the rows span too few directions, or
 * CURATOR_ERROR_CANCELLED. */
#define CURATOR_PCA_MAX_FIT_ROWS 8192

float *curator_pca_project (const float   *x,
                            gsize          n_samples,
                            gsize          n_dims,
                            gsize          n_components,
                            gboolean       standardise,
                            double         whiten,
                            guint64        seed,
                            GCancellable  *cancellable,
                            GError       **error);

/* ---- the graph ------------------------------------------------------------ */

typedef struct {
  gsize    n_samples;
  guint    k;              /* neighbours per sample: MIN (requested, n_samples - 1) */
  guint32 *neighbours;     /* [n_samples * k] positions, most similar first; never the sample */
  float   *similarities;   /* [n_samples * k] cosine similarities, non-increasing per row */
} CuratorKnn;

void curator_knn_free (CuratorKnn *knn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorKnn, curator_knn_free)

/* The exact cosine k-NN graph of the rows of @x (@n_samples x @n_dims).
 * A zero row has similarity 0 with everything. Ties are broken by position
 * (the lower one is nearer). @n_threads 0 = one per processor.
 * (transfer full); NULL only with CURATOR_ERROR_CANCELLED. */
CuratorKnn *curator_knn_new (const float   *x,
                             gsize          n_samples,
                             gsize          n_dims,
                             guint          k,
                             int            n_threads,
                             GCancellable  *cancellable,
                             GError       **error);

/* ---- what the graph says -------------------------------------------------- */

/* The neighbours' vote on each sample's class: votes[i * n_classes + c] is
 * the similarity-weighted share of sample i's neighbours labelled c, each
 * neighbour weighing max (similarity, 0) (the weights of a row sum to 1; if
 * all are 0, labelled neighbours count equally). Neighbours with a negative
 * label do not vote, and a sample never votes on itself (it is not its own
 * neighbour). With @groups (nullable, [n_samples], 0 = none), a neighbour
 * in the sample's own duplicate group does not vote either: a copy carries
 * the same labelling decision, not a second opinion (on a set where every
 * picture is stored five times, the copies' votes alone kept every wrong
 * label above the flagging gate). A row without any labelled neighbour is
 * all zero and n_voters[i] (nullable) is 0. */
void curator_knn_label_votes (const CuratorKnn *knn,
                              const gint       *labels,
                              const guint      *groups,
                              guint             n_classes,
                              double           *votes,
                              guint            *n_voters);

/* scores[i]: the mean cosine distance (1 - similarity) from sample i to its
 * neighbours: high for a sample far from everything. Returns the flagging
 * threshold Q3 + @iqr_factor * (Q3 - Q1) of the scores (quartiles with
 * linear interpolation, as numpy's percentile); a sample scoring above it is
 * an outlier. Returns +inf when there are no neighbours. */
double curator_knn_outlier_scores (const CuratorKnn *knn,
                                   double            iqr_factor,
                                   double           *scores);

/* Feature-space near duplicates: pairs (i, j), i < j, with j among i's
 * neighbours or i among j's, whose cosine distance is below @ratio times the
 * typical nearest distance (the median over samples of the distance to the
 * nearest neighbour). The pairs come as consecutive guint32 pairs, sorted,
 * each once. *threshold_out (nullable) receives the distance used. */
GArray *curator_knn_near_duplicates (const CuratorKnn *knn,
                                     double            ratio,
                                     double           *threshold_out);

G_END_DECLS

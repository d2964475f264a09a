/* curator-features.h: image features learned without pretrained weights.
 *
 * The main extractor is the single-layer k-means network of Coates, Lee and
 * Ng (AISTATS 2011): every 6x6x3 patch of a small square RGB image (stride 1)
 * is contrast-normalised, ZCA-whitened and compared with a dictionary of
 * centroids learned by k-means on random patches; the "triangle" activation
 * f_k = max (0, mean_j (z_j) - z_k), z_k the distance to centroid k, is
 * sum-pooled over a pool x pool grid and optionally square-rooted. The
 * feature of an image has n_centroids * pool * pool values.
 *
 * The heavy work is two matrix products per batch of images (whitening and
 * patch-centroid dot products), done with CBLAS; everything else is tight
 * loops. Batches have a fixed composition and each batch is computed by one
 * thread with single-threaded BLAS, so results depend on the seed and the
 * images only, never on thread timing or the number of threads (on one
 * machine: another CPU may take other SIMD paths and round differently).
 *
 * A cheap second extractor (colour histogram + HOG-like gradient histogram)
 * and the numeric building blocks (Jacobi eigen-solver, ZCA, k-means) are
 * public too: the tests check them one by one.
 *
 * Inputs are arrays of pointers to packed 8-bit RGB rasters (row-major,
 * height x width x 3, stride width * 3) already resized to side x side. */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#ifndef CURATOR_PROGRESS_FUNC_DEFINED
#define CURATOR_PROGRESS_FUNC_DEFINED
/* @fraction is 0..1, or negative when unknown. @message may be NULL. */
typedef void (*CuratorProgressFunc) (double fraction, const char *message, gpointer user_data);
#endif

/* ---- the Coates et al. patch network ----------------------------------- */

typedef struct {
  int      side;              /* input images are side x side: 32 (default) or 64, at most 256 */
  int      patch;             /* patch side in pixels: 6 */
  int      n_centroids;       /* dictionary size: 400 */
  int      pool;              /* pooling grid per axis: 3 (3x3, default) or 2 (quadrants) */
  gboolean sqrt_norm;         /* square root of the pooled sums: TRUE */
  int      n_train_patches;   /* random patches k-means learns from: 400000 */
  int      kmeans_iterations; /* Lloyd iterations (fewer if it converges): 10 */
  guint64  seed;              /* patch sampling and k-means initialisation: 1 */
  double   contrast_eps;      /* patch / sqrt (var + contrast_eps), values 0..255: 10 */
  double   zca_eps;           /* added to the covariance eigenvalues: 0.1 */
  int      n_threads;         /* workers, 0 = one per core; not part of the key:
                               * results do not depend on it */
} CuratorPatchParams;

void curator_patch_params_init_default (CuratorPatchParams *params);

/* Checks that the parameters describe a network that can be built.
 * Errors: CURATOR_ERROR_INVALID, saying which value is wrong. */
gboolean curator_patch_params_validate (const CuratorPatchParams *params,
                                        GError                  **error);

/* A stable text naming the algorithm version and every parameter that
 * changes the learned model (all but n_threads). Two trainings on the same
 * images with the same key give the same model. (transfer full) */
char *curator_patch_params_dup_key (const CuratorPatchParams *params);

typedef struct _CuratorPatchModel CuratorPatchModel;

/* Learns the whitening and the dictionary from @n_images images (at least
 * one), each params->side square. Checks @cancellable between steps and
 * batches (a cancel takes effect within a fraction of a second) and calls
 * @progress from the calling thread. Errors: CURATOR_ERROR_INVALID (bad
 * params), CURATOR_ERROR_CANCELLED. (transfer full) */
CuratorPatchModel *curator_patch_model_train (const CuratorPatchParams *params,
                                              const guint8 *const      *images,
                                              gsize                     n_images,
                                              GCancellable             *cancellable,
                                              CuratorProgressFunc       progress,
                                              gpointer                  progress_data,
                                              GError                  **error);

/* A patch is the vector of its pixels row by row, left to right, R G B
 * (index (dy * patch + dx) * 3 + channel).
 *
 * Builds a model from its parts (copied): @mean has patch*patch*3 values,
 * @zca is that dimension squared (row-major, applied as (x - mean) * zca),
 * @centroids is n_centroids rows of it. For tests and for models made
 * elsewhere. Errors: CURATOR_ERROR_INVALID. (transfer full) */
CuratorPatchModel *curator_patch_model_new (const CuratorPatchParams *params,
                                            const float              *mean,
                                            const float              *zca,
                                            const float              *centroids,
                                            GError                  **error);

void curator_patch_model_free (CuratorPatchModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorPatchModel, curator_patch_model_free)

/* The parameters the model was built with. (transfer none) */
const CuratorPatchParams *curator_patch_model_get_params (const CuratorPatchModel *model);

/* Length of one image's feature vector: n_centroids * pool * pool. */
int curator_patch_model_get_dim (const CuratorPatchModel *model);

/* Borrowed views of the learned parts, laid out as curator_patch_model_new()
 * takes them. (transfer none) */
const float *curator_patch_model_get_mean      (const CuratorPatchModel *model);
const float *curator_patch_model_get_zca       (const CuratorPatchModel *model);
const float *curator_patch_model_get_centroids (const CuratorPatchModel *model);

/* What one extraction did, for benchmarks. CPU times are the workers' own
 * (thread CPU clocks), so they hold even when other programs share the
 * cores; wall times do not. */
typedef struct {
  double gemm_flops;       /* floating-point operations in the matrix products */
  double gemm_seconds;     /* wall time inside them, summed over workers */
  double gemm_cpu_seconds; /* CPU time inside them, summed over workers */
  double cpu_seconds;      /* CPU time of whole batches, summed over workers */
  double wall_seconds;     /* the whole call */
  int    n_workers;        /* threads that computed batches */
  int    batch_images;     /* images per batch */
} CuratorPatchStats;

/* Writes @n_images rows of curator_patch_model_get_dim() floats to @out
 * (row-major, in input order; cell-major: cell (row * pool + column) holds
 * values [cell * n_centroids, (cell + 1) * n_centroids)). The values are
 * non-negative; a linear classifier wants them standardised per column, as
 * the paper does. With @flip every image is mirrored left to right first:
 * the features of the mirrored image, for augmentation.
 * While it (or training) runs, OpenBLAS is switched to one thread (the
 * workers are the parallelism); the previous setting is restored on return.
 * A model is read-only once built: several threads may extract with it at
 * once. @stats may be NULL. Errors: CURATOR_ERROR_CANCELLED (@out is then
 * partly written). */
gboolean curator_patch_model_extract (const CuratorPatchModel *model,
                                      const guint8 *const     *images,
                                      gsize                    n_images,
                                      gboolean                 flip,
                                      float                   *out,
                                      CuratorPatchStats       *stats,
                                      GCancellable            *cancellable,
                                      CuratorProgressFunc      progress,
                                      gpointer                 progress_data,
                                      GError                 **error);

/* A self-contained little-endian blob ("CURPATCH", format version,
 * parameters, mean, ZCA matrix, centroids, SHA-256 of all before it), for a
 * cache. (transfer full) */
GBytes *curator_patch_model_serialize (const CuratorPatchModel *model);

/* Errors: CURATOR_ERROR_INVALID when @bytes is not a model of a format
 * version this program reads, is truncated or fails its checksum. */
CuratorPatchModel *curator_patch_model_deserialize (GBytes  *bytes,
                                                    GError **error);

/* The parameter key followed by a hash of the learned content: names the
 * features this model produces, for a feature cache. (transfer full) */
char *curator_patch_model_dup_key (const CuratorPatchModel *model);

/* ---- colour + gradient histogram --------------------------------------- */

/* A cheap global descriptor with no learning:
 *  - 64 values: a 4x4x4 RGB histogram (each channel cut into 4 equal bins),
 *    counts divided by the number of pixels, then square-rooted (Hellinger
 *    mapping, so that a dot product compares distributions sensibly);
 *  - 144 values: HOG-like gradients of luma (0.299 R + 0.587 G + 0.114 B),
 *    centred differences with clamped borders, 9 unsigned orientation bins
 *    over 0..180 degrees (each vote split linearly between the two nearest
 *    bins, weighted by gradient magnitude) in each cell of a 4x4 grid; the
 *    144 values are L2-normalised, clipped at 0.2 and normalised again (as
 *    SIFT does, so a few strong edges do not dominate).
 * Works for any side >= 4. Flip mirrors each image first. */
#define CURATOR_COLOR_HOG_DIM 208

/* Names this descriptor's definition, for a feature cache. */
#define CURATOR_COLOR_HOG_KEY "colorhog-v1;rgb4x4x4-sqrt;hog4x4x9-l2clip0.2"

gboolean curator_color_hog_extract (const guint8 *const *images,
                                    gsize                n_images,
                                    int                  side,
                                    gboolean             flip,
                                    float               *out,
                                    GCancellable        *cancellable,
                                    CuratorProgressFunc  progress,
                                    gpointer             progress_data,
                                    GError             **error);

/* ---- building blocks --------------------------------------------------- */

/* Eigen-decomposition of the symmetric @n x @n matrix @a (row-major,
 * destroyed) by cyclic Jacobi rotations. @eigenvalues (n) come out in
 * decreasing order and column j of @eigenvectors (n x n, row-major) is the
 * unit eigenvector of eigenvalue j. Meant for small matrices (n ~ 100). */
void curator_symmetric_eigen (double *a,
                              int     n,
                              double *eigenvalues,
                              double *eigenvectors);

/* ZCA whitening fitted to @n_points rows of @dim floats: @mean_out (dim) and
 * the symmetric @zca_out (dim x dim) = U diag (1 / sqrt (lambda + eps)) U^T
 * of the covariance (divided by n - 1), so that (x - mean) * zca has about
 * identity covariance. Needs @n_points >= 2. */
void curator_zca_fit (const float *points,
                      gsize        n_points,
                      int          dim,
                      double       eps,
                      float       *mean_out,
                      float       *zca_out);

/* Lloyd's k-means of @n_points rows of @dim floats into @n_clusters
 * clusters (n_points >= n_clusters), k-means++ seeded from @seed on a
 * subsample, at most @max_iterations rounds (stops earlier once no point
 * changes cluster). A cluster that empties is re-seeded with the point
 * farthest from its centre. Writes @centroids (n_clusters x dim) and, when
 * not NULL, @assignment (n_points). Deterministic for a given seed.
 * Errors: CURATOR_ERROR_CANCELLED. */
gboolean curator_kmeans (const float         *points,
                         gsize                n_points,
                         int                  dim,
                         int                  n_clusters,
                         int                  max_iterations,
                         guint64              seed,
                         float               *centroids,
                         int                 *assignment,
                         GCancellable        *cancellable,
                         CuratorProgressFunc  progress,
                         gpointer             progress_data,
                         GError             **error);

/* ---- BLAS -------------------------------------------------------------- */

/* OpenBLAS chooses its kernels when it is loaded, from the CPU model. On a
 * CPU newer than the library (this happens with Debian 12's 0.3.21 on
 * recent Xeons, which it takes for a 2004 "Prescott") it falls back to SSE3
 * kernels that run 5x slower. When that happened and the CPU can do better,
 * this returns the OPENBLAS_CORETYPE value to set ("SkylakeX" or "Haswell")
 * before the library loads, i.e. in the environment of a re-executed
 * program; otherwise (also when OPENBLAS_CORETYPE is already set) NULL. */
const char *curator_blas_suggest_coretype (void);

/* Call first thing in main() with main's argv, before anything else reads
 * it: when curator_blas_suggest_coretype() names better kernels, sets
 * OPENBLAS_CORETYPE and re-executes the program with the same arguments, so
 * this returns only when the kernels are already right (or re-executing
 * failed, which costs speed, not correctness). A program that will do no
 * matrix work passes @uses_blas FALSE: the re-executed one then also gets
 * OPENBLAS_NUM_THREADS=1 (unless set), since OpenBLAS's idle worker threads
 * spin for a while after start-up and took ~10% off `curator index`. */
void curator_blas_ensure_fast_kernels (char **argv, gboolean uses_blas);

/* The kernel set OpenBLAS uses, e.g. "SkylakeX". (transfer none) */
const char *curator_blas_get_corename (void);

G_END_DECLS

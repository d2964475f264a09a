/* curator-neighbours.c: PCA projection, the exact cosine k-NN graph, and
 * what is read off the graph (label votes, outlier scores, near duplicates).
 *
 * The graph: the normalised rows are cut into row blocks, handed out to
 * worker threads one at a time; a worker multiplies its block by one column
 * tile after another (one single-threaded SGEMM each, so tiles of fixed shape
 * give the same bits whatever the thread count). Similarity is symmetric, so
 * a block starting at row r0 only visits the columns from r0 on: each pair
 * i < j is computed once, in one tile, and offered both to i's list and to
 * j's, which halves the products (50,000 samples x 128 dimensions, 256 x
 * 2048 tiles: 7.5 s of processor time down to 4.2 s, the same neighbours bit
 * for bit). A candidate
 * can thus land in any row's list, so each worker keeps its own list of the
 * k best per row, and the lists are merged at the end. Lists are ordered by
 * similarity, then by position (the lower wins a tie), a total order: the
 * result does not depend on the order candidates arrive in, nor on which
 * worker saw them.
 *
 * The projection: subspace iteration (Halko, Martinsson & Tropp 2011) on at
 * most CURATOR_PCA_MAX_FIT_ROWS rows; orthonormalisation by modified
 * Gram-Schmidt in double precision, run twice (the second pass repairs what
 * the first loses); then a Rayleigh-Ritz step (the small r x r covariance
 * diagonalised by cyclic Jacobi) turns the subspace into principal
 * directions with their variances, which whitening needs. */
#include "curator-config.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "curator-error.h"
#include "curator-neighbours.h"

#define PCA_POWER_STEPS 3
/* Measured on this 2-core machine (50,000 x 128, tests/bench/bench-scoring
 * and a k-NN-only driver): 256 x 2048 tiles 4.6 to 5.3 s of processor time,
 * 512 x 512 3.9 to 4.4 s, 512 x 1024 3.8 s. */
#define KNN_ROW_BLOCK   512
#define KNN_COL_TILE    1024
#define SCAN_CHUNK      16

/* ---- small helpers ---------------------------------------------------------- */

static gboolean
cancelled (GCancellable *cancellable, GError **error)
{
  if (cancellable == NULL || !g_cancellable_is_cancelled (cancellable))
    return FALSE;
  g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED, "Neighbour search cancelled");
  return TRUE;
}

/* A fixed 64-bit generator (splitmix64) so that the random start basis is
 * the same on every platform and GLib version. */
static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double
uniform_open (guint64 *state)
{
  return ((splitmix64 (state) >> 11) + 0.5) / 9007199254740992.0;
}

static double
gaussian (guint64 *state)
{
  double u = uniform_open (state), v = uniform_open (state);

  return sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);
}

/* ---- projection ------------------------------------------------------------- */

/* Makes the @rows rows of @b (each @cols long) orthonormal in place, by
 * modified Gram-Schmidt. A row that vanishes (the span is smaller than
 * @rows) is replaced by a fresh random direction, at most a few times;
 * FALSE if that does not help. */
static gboolean
orthonormalise_rows (double *b, gsize rows, gsize cols, guint64 *rng)
{
  for (gsize i = 0; i < rows; i++)
    {
      double *bi = b + i * cols;
      int attempts = 0;

      for (;;)
        {
          double before = cblas_dnrm2 ((int) cols, bi, 1), after;

          for (int pass = 0; pass < 2; pass++)
            for (gsize j = 0; j < i; j++)
              {
                const double *bj = b + j * cols;
                double dot = cblas_ddot ((int) cols, bi, 1, bj, 1);

                cblas_daxpy ((int) cols, -dot, bj, 1, bi, 1);
              }
          after = cblas_dnrm2 ((int) cols, bi, 1);
          if (after > 1e-10 * MAX (before, 1e-300) && after > 0)
            {
              cblas_dscal ((int) cols, 1.0 / after, bi, 1);
              break;
            }
          if (++attempts > 3)
            return FALSE;
          for (gsize c = 0; c < cols; c++)
            bi[c] = gaussian (rng);
        }
    }
  return TRUE;
}

/* Eigen-decomposition of the symmetric @n x @n matrix @a (destroyed: its
 * diagonal ends up holding the eigenvalues) by cyclic Jacobi rotations;
 * @v receives the eigenvectors as columns. Plenty fast for a few hundred. */
static void
jacobi_eigen (double *a, double *v, gsize n)
{
  for (gsize i = 0; i < n * n; i++)
    v[i] = 0;
  for (gsize i = 0; i < n; i++)
    v[i * n + i] = 1;
  for (int sweep = 0; sweep < 60; sweep++)
    {
      double off = 0, diag = 0;

      for (gsize p = 0; p < n; p++)
        {
          diag += a[p * n + p] * a[p * n + p];
          for (gsize q = p + 1; q < n; q++)
            off += a[p * n + q] * a[p * n + q];
        }
      if (off <= 1e-24 * diag || off == 0)
        break;
      for (gsize p = 0; p < n; p++)
        for (gsize q = p + 1; q < n; q++)
          {
            double apq = a[p * n + q], theta, t, c, s;

            if (apq == 0)
              continue;
            theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
            t = (theta >= 0 ? 1.0 : -1.0) / (fabs (theta) + sqrt (theta * theta + 1));
            c = 1 / sqrt (t * t + 1);
            s = t * c;
            for (gsize m = 0; m < n; m++)
              {
                double amp = a[m * n + p], amq = a[m * n + q];
                a[m * n + p] = c * amp - s * amq;
                a[m * n + q] = s * amp + c * amq;
              }
            for (gsize m = 0; m < n; m++)
              {
                double apm = a[p * n + m], aqm = a[q * n + m];
                a[p * n + m] = c * apm - s * aqm;
                a[q * n + m] = s * apm + c * aqm;
              }
            for (gsize m = 0; m < n; m++)
              {
                double vmp = v[m * n + p], vmq = v[m * n + q];
                v[m * n + p] = c * vmp - s * vmq;
                v[m * n + q] = s * vmp + c * vmq;
              }
          }
    }
}

typedef struct {
  double value;
  gsize  index;
} Eigen;

static int
compare_eigen_desc (gconstpointer a, gconstpointer b)
{
  const Eigen *x = a, *y = b;

  if (x->value != y->value)
    return x->value > y->value ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

float *
curator_pca_project (const float   *x,
                     gsize          n_samples,
                     gsize          n_dims,
                     gsize          n_components,
                     gboolean       standardise,
                     double         whiten,
                     guint64        seed,
                     GCancellable  *cancellable,
                     GError       **error)
{
  gsize d = n_dims;
  gsize r = MIN (n_components, n_dims);
  gsize n_fit = MIN (n_samples, (gsize) CURATOR_PCA_MAX_FIT_ROWS);
  g_autofree double *mean = g_new0 (double, MAX (d, 1));
  g_autofree double *scale = g_new (double, MAX (d, 1));
  g_autofree float *meanf = g_new (float, MAX (d, 1));
  g_autofree float *scalef = g_new (float, MAX (d, 1));
  g_autofree float *xs = NULL;
  g_autofree double *basis = NULL;
  g_autofree float *bf = NULL;
  g_autofree float *y = NULL;
  g_autofree float *z = NULL;
  g_autofree float *offset = NULL;
  float *out;
  guint64 rng = seed;

  g_return_val_if_fail (x != NULL || n_samples == 0, NULL);
  g_return_val_if_fail (n_dims > 0 && n_components > 0, NULL);

  /* Mean and scale from the fitting rows: evenly spaced, so the estimate
   * does not depend on how the samples happen to be ordered in blocks. */
  xs = g_new (float, MAX (n_fit, 1) * d);
  for (gsize i = 0; i < n_fit; i++)
    {
      gsize src = (gsize) ((guint64) i * n_samples / n_fit);

      memcpy (xs + i * d, x + src * d, sizeof (float) * d);
    }
  for (gsize i = 0; i < n_fit; i++)
    for (gsize j = 0; j < d; j++)
      mean[j] += xs[i * d + j];
  for (gsize j = 0; j < d; j++)
    {
      mean[j] /= MAX (n_fit, 1);
      scale[j] = 1.0;
    }
  if (standardise)
    {
      g_autofree double *var = g_new0 (double, d);

      for (gsize i = 0; i < n_fit; i++)
        for (gsize j = 0; j < d; j++)
          {
            double v = xs[i * d + j] - mean[j];
            var[j] += v * v;
          }
      /* A constant dimension stays as it is (zero after centring). */
      for (gsize j = 0; j < d; j++)
        scale[j] = var[j] > 0 ? 1.0 / sqrt (var[j] / MAX (n_fit, 1)) : 1.0;
    }
  for (gsize j = 0; j < d; j++)
    {
      meanf[j] = (float) mean[j];
      scalef[j] = (float) scale[j];
    }

  if (r >= d)
    {
      /* Nothing to drop: centre (and scale) only. */
      out = g_new (float, MAX (n_samples, 1) * d);
      for (gsize i = 0; i < n_samples; i++)
        for (gsize j = 0; j < d; j++)
          out[i * d + j] = (x[i * d + j] - meanf[j]) * scalef[j];
      return out;
    }

  for (gsize i = 0; i < n_fit; i++)
    for (gsize j = 0; j < d; j++)
      xs[i * d + j] = (xs[i * d + j] - meanf[j]) * scalef[j];

  /* basis: r x d, one direction per row. */
  basis = g_new (double, r * d);
  bf = g_new (float, r * d);
  y = g_new (float, MAX (n_fit, 1) * r);
  z = g_new (float, r * d);
  for (gsize i = 0; i < r * d; i++)
    basis[i] = gaussian (&rng);
  if (!orthonormalise_rows (basis, r, d, &rng))
    goto too_few;

  for (int step = 0; step < PCA_POWER_STEPS; step++)
    {
      if (cancelled (cancellable, error))
        return NULL;
      for (gsize i = 0; i < r * d; i++)
        bf[i] = (float) basis[i];
      /* Y = Xc B^T (n_fit x r), then Z = Y^T Xc (r x d): one step of
       * B <- orth (B Xc^T Xc). */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n_fit, (int) r, (int) d,
                   1.0f, xs, (int) d, bf, (int) d, 0.0f, y, (int) r);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) r, (int) d, (int) n_fit,
                   1.0f, y, (int) r, xs, (int) d, 0.0f, z, (int) d);
      for (gsize i = 0; i < r * d; i++)
        basis[i] = z[i];
      if (!orthonormalise_rows (basis, r, d, &rng))
        goto too_few;
    }

  /* Rayleigh-Ritz: the covariance of the projected fitting rows, its
   * eigenvectors turn the basis into principal directions (largest
   * variance first) and its eigenvalues say how much each to shrink. */
  {
    g_autofree double *cov = g_new0 (double, r * r);
    g_autofree double *vec = g_new (double, r * r);
    g_autofree double *rotated = g_new0 (double, r * d);
    g_autofree Eigen *order = g_new (Eigen, r);
    double top;

    for (gsize i = 0; i < r * d; i++)
      bf[i] = (float) basis[i];
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n_fit, (int) r, (int) d,
                 1.0f, xs, (int) d, bf, (int) d, 0.0f, y, (int) r);
    for (gsize i = 0; i < n_fit; i++)
      for (gsize a = 0; a < r; a++)
        {
          double ya = y[i * r + a];

          for (gsize b = a; b < r; b++)
            cov[a * r + b] += ya * y[i * r + b];
        }
    for (gsize a = 0; a < r; a++)
      for (gsize b = a; b < r; b++)
        cov[b * r + a] = cov[a * r + b] /= MAX (n_fit, 1);
    jacobi_eigen (cov, vec, r);
    for (gsize c = 0; c < r; c++)
      {
        order[c].value = cov[c * r + c];
        order[c].index = c;
      }
    qsort (order, r, sizeof (Eigen), compare_eigen_desc);
    top = MAX (order[0].value, 1e-300);
    for (gsize c = 0; c < r; c++)
      {
        gsize e = order[c].index;
        double shrink = whiten > 0 ? pow (MAX (order[c].value, 1e-9 * top), -whiten / 2) : 1.0;

        for (gsize a = 0; a < r; a++)
          cblas_daxpy ((int) d, vec[a * r + e] * shrink, basis + a * d, 1, rotated + c * d, 1);
      }
    memcpy (basis, rotated, sizeof (double) * r * d);
  }
  g_clear_pointer (&xs, g_free);
  g_clear_pointer (&y, g_free);

  /* out = ((X - mean) * scale) B^T = X (B diag(scale))^T - (B diag(scale) mean). */
  offset = g_new0 (float, r);
  for (gsize c = 0; c < r; c++)
    {
      double o = 0;

      for (gsize j = 0; j < d; j++)
        {
          bf[c * d + j] = (float) (basis[c * d + j] * scale[j]);
          o += basis[c * d + j] * scale[j] * mean[j];
        }
      offset[c] = (float) o;
    }
  if (cancelled (cancellable, error))
    return NULL;
  out = g_new (float, MAX (n_samples, 1) * r);
  if (n_samples > 0)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n_samples, (int) r, (int) d,
                 1.0f, x, (int) d, bf, (int) d, 0.0f, out, (int) r);
  for (gsize i = 0; i < n_samples; i++)
    for (gsize c = 0; c < r; c++)
      out[i * r + c] -= offset[c];
  return out;

too_few:
  g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
               "The features span fewer than %" G_GSIZE_FORMAT " directions; "
               "project onto fewer", r);
  return NULL;
}

/* ---- the graph -------------------------------------------------------------- */

void
curator_knn_free (CuratorKnn *knn)
{
  if (knn == NULL)
    return;
  g_free (knn->neighbours);
  g_free (knn->similarities);
  g_free (knn);
}

/* Each worker keeps its own best lists for every row (a candidate can reach
 * any row: see the file comment), merged once all tiles are done. */
typedef struct {
  float   *sims;        /* [n * k] */
  guint32 *idx;         /* [n * k] */
  guint   *filled;      /* [n] */
} KnnLists;

typedef struct {
  const float  *rows;       /* normalised, n x d */
  gsize         n, d;
  guint         k;
  KnnLists     *lists;      /* [n_workers] */
  GCancellable *cancellable;
  gint          next_block; /* atomic */
  gint          next_worker;/* atomic: which lists a worker takes */
  gint          stop;       /* atomic: set on cancellation */
} KnnJob;

/* (s, j) ranks before (t, i) when s > t, or s == t and j < i: the order the
 * result is defined by, whatever order candidates arrive in. */
static inline gboolean
ranks_before (float s, guint32 j, float t, guint32 i)
{
  return s > t || (s == t && j < i);
}

/* Offers (s, j) to a row's best list (sims[0..k) in rank order, *filled
 * entries). */
static inline void
offer (float *sims, guint32 *idx, guint k, guint *filled, float s, guint32 j)
{
  guint pos;

  if (*filled == k)
    {
      if (!ranks_before (s, j, sims[k - 1], idx[k - 1]))
        return;
      pos = k - 1;
    }
  else
    pos = (*filled)++;
  while (pos > 0 && ranks_before (s, j, sims[pos - 1], idx[pos - 1]))
    {
      sims[pos] = sims[pos - 1];
      idx[pos] = idx[pos - 1];
      pos--;
    }
  sims[pos] = s;
  idx[pos] = j;
}

/* The similarity a row's list must reach (ties are settled by offer). */
static inline float
entry_bar (const KnnLists *l, gsize i, guint k)
{
  return l->filled[i] == k ? l->sims[i * k + k - 1] : -INFINITY;
}

static gpointer
knn_worker (gpointer data)
{
  KnnJob *job = data;
  gsize n = job->n, d = job->d;
  guint k = job->k;
  KnnLists *l = &job->lists[g_atomic_int_add (&job->next_worker, 1)];
  g_autofree float *tile = g_new (float, (gsize) KNN_ROW_BLOCK * KNN_COL_TILE);
  g_autofree float *col_bar = g_new (float, KNN_COL_TILE);

  for (;;)
    {
      gsize block = (gsize) g_atomic_int_add (&job->next_block, 1);
      gsize r0 = block * KNN_ROW_BLOCK;
      gsize rows = r0 < n ? MIN ((gsize) KNN_ROW_BLOCK, n - r0) : 0;

      if (rows == 0 || g_atomic_int_get (&job->stop))
        break;
      if (job->cancellable != NULL && g_cancellable_is_cancelled (job->cancellable))
        {
          g_atomic_int_set (&job->stop, 1);
          break;
        }
      /* Only the columns from r0 on: the pairs (i, j) with i < j, each
       * computed once and offered both ways. */
      for (gsize c0 = r0; c0 < n; c0 += KNN_COL_TILE)
        {
          gsize cols = MIN ((gsize) KNN_COL_TILE, n - c0);

          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) rows, (int) cols, (int) d,
                       1.0f, job->rows + r0 * d, (int) d, job->rows + c0 * d, (int) d,
                       0.0f, tile, (int) cols);
          for (gsize q = 0; q < cols; q++)
            col_bar[q] = entry_bar (l, c0 + q, k);
          for (gsize r = 0; r < rows; r++)
            {
              gsize i = r0 + r;
              const float *s = tile + r * cols;
              float *sims = l->sims + i * k;
              guint32 *idx = l->idx + i * k;
              guint f = l->filled[i];
              float bar = f == k ? sims[k - 1] : -INFINITY;
              /* Only j > i: in the tile that holds the diagonal, the
               * columns past it. */
              gsize first = c0 > i ? 0 : i - c0 + 1;

              for (gsize c = first; c < cols; c += SCAN_CHUNK)
                {
                  gsize end = MIN (c + SCAN_CHUNK, cols);
                  int any = 0;

                  /* The common case: nothing in the chunk reaches row i's
                   * bar nor any column's. A fixed-length test the compiler
                   * vectorises. */
                  if (end - c == SCAN_CHUNK)
                    {
                      for (int q = 0; q < SCAN_CHUNK; q++)
                        any |= (s[c + q] >= bar) | (s[c + q] >= col_bar[c + q]);
                      if (!any)
                        continue;
                    }
                  for (gsize q = c; q < end; q++)
                    {
                      guint32 j = (guint32) (c0 + q);

                      if (s[q] >= bar)
                        {
                          offer (sims, idx, k, &f, s[q], j);
                          bar = f == k ? sims[k - 1] : -INFINITY;
                        }
                      if (s[q] >= col_bar[q])
                        {
                          offer (l->sims + (gsize) j * k, l->idx + (gsize) j * k, k, &l->filled[j],
                                 s[q], (guint32) i);
                          col_bar[q] = entry_bar (l, j, k);
                        }
                    }
                }
              l->filled[i] = f;
              /* Row i may itself be a column of this tile (the diagonal
               * tile): keep its bar there in step. */
              if (i >= c0 && i < c0 + cols)
                col_bar[i - c0] = entry_bar (l, i, k);
            }
        }
    }
  return NULL;
}

CuratorKnn *
curator_knn_new (const float   *x,
                 gsize          n_samples,
                 gsize          n_dims,
                 guint          k,
                 int            n_threads,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(CuratorKnn) knn = g_new0 (CuratorKnn, 1);
  g_autofree float *rows = NULL;
  g_autofree GThread **threads = NULL;
  KnnJob job = { 0 };
  gsize n = n_samples, d = n_dims;
  gsize n_blocks;
  int n_workers, blas_threads;

  g_return_val_if_fail (x != NULL || n_samples == 0, NULL);
  g_return_val_if_fail (n_dims > 0, NULL);
  g_return_val_if_fail (n_samples < G_MAXUINT32, NULL);

  knn->n_samples = n;
  knn->k = n > 1 ? (guint) MIN ((gsize) k, n - 1) : 0;
  knn->neighbours = g_new0 (guint32, MAX (n * knn->k, 1));
  knn->similarities = g_new0 (float, MAX (n * knn->k, 1));
  if (knn->k == 0)
    return g_steal_pointer (&knn);
  if (cancelled (cancellable, error))
    return NULL;

  rows = g_new (float, n * d);
  for (gsize i = 0; i < n; i++)
    {
      const float *src = x + i * d;
      float *dst = rows + i * d;
      double norm = 0;

      for (gsize j = 0; j < d; j++)
        norm += (double) src[j] * src[j];
      norm = sqrt (norm);
      for (gsize j = 0; j < d; j++)
        dst[j] = norm > 0 ? (float) (src[j] / norm) : 0.0f;
    }

  n_blocks = (n + KNN_ROW_BLOCK - 1) / KNN_ROW_BLOCK;
  n_workers = n_threads > 0 ? n_threads : (int) g_get_num_processors ();
  n_workers = (int) CLAMP ((gsize) n_workers, 1, MIN (n_blocks, (gsize) 64));
  job.rows = rows;
  job.n = n;
  job.d = d;
  job.k = knn->k;
  job.cancellable = cancellable;
  job.lists = g_new0 (KnnLists, n_workers);
  for (int t = 0; t < n_workers; t++)
    {
      job.lists[t].sims = g_new (float, n * knn->k);
      job.lists[t].idx = g_new (guint32, n * knn->k);
      job.lists[t].filled = g_new0 (guint, n);
    }

  /* Tiles, not GEMMs, go to the cores: each GEMM runs on its worker's
   * thread alone. */
  blas_threads = openblas_get_num_threads ();
  openblas_set_num_threads (1);
  threads = g_new0 (GThread *, n_workers);
  for (int t = 1; t < n_workers; t++)
    threads[t] = g_thread_new ("curator-knn", knn_worker, &job);
  knn_worker (&job);
  for (int t = 1; t < n_workers; t++)
    g_thread_join (threads[t]);
  openblas_set_num_threads (blas_threads);

  /* Merge the workers' lists. Every pair was offered to exactly one
   * worker, so the lists hold distinct candidates, and the rank order
   * makes the merge independent of which worker saw what. */
  for (gsize i = 0; i < n && !g_atomic_int_get (&job.stop); i++)
    {
      float *sims = knn->similarities + i * knn->k;
      guint32 *idx = knn->neighbours + i * knn->k;
      guint f = 0;

      for (int t = 0; t < n_workers; t++)
        for (guint m = 0; m < job.lists[t].filled[i]; m++)
          offer (sims, idx, knn->k, &f, job.lists[t].sims[i * knn->k + m], job.lists[t].idx[i * knn->k + m]);
    }
  for (int t = 0; t < n_workers; t++)
    {
      g_free (job.lists[t].sims);
      g_free (job.lists[t].idx);
      g_free (job.lists[t].filled);
    }
  g_free (job.lists);

  if (g_atomic_int_get (&job.stop) || cancelled (cancellable, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED, "Neighbour search cancelled");
      return NULL;
    }
  return g_steal_pointer (&knn);
}

/* ---- what the graph says ---------------------------------------------------- */

void
curator_knn_label_votes (const CuratorKnn *knn,
                         const gint       *labels,
                         const guint      *groups,
                         guint             n_classes,
                         double           *votes,
                         guint            *n_voters)
{
  g_return_if_fail (knn != NULL && labels != NULL && votes != NULL && n_classes > 0);

  for (gsize i = 0; i < knn->n_samples; i++)
    {
      double *v = votes + i * n_classes;
      double total = 0;
      guint voters = 0;

      memset (v, 0, sizeof (double) * n_classes);
      for (guint m = 0; m < knn->k; m++)
        {
          guint32 j = knn->neighbours[i * knn->k + m];
          gint label = labels[j];
          double w = MAX ((double) knn->similarities[i * knn->k + m], 0.0);

          if (label < 0 || (groups != NULL && groups[i] != 0 && groups[j] == groups[i]))
            continue;
          g_return_if_fail ((guint) label < n_classes);
          v[label] += w;
          total += w;
          voters++;
        }
      if (voters > 0 && total <= 0)
        {
          /* Every labelled neighbour is orthogonal or opposite: count them
           * equally rather than not at all. */
          for (guint m = 0; m < knn->k; m++)
            {
              guint32 j = knn->neighbours[i * knn->k + m];
              gint label = labels[j];

              if (label >= 0 && !(groups != NULL && groups[i] != 0 && groups[j] == groups[i]))
                v[label] += 1.0;
            }
          total = voters;
        }
      if (total > 0)
        for (guint c = 0; c < n_classes; c++)
          v[c] /= total;
      if (n_voters != NULL)
        n_voters[i] = voters;
    }
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* numpy's default percentile: linear interpolation between order statistics. */
static double
percentile_sorted (const double *sorted, gsize n, double q)
{
  double pos = q * (double) (n - 1);
  gsize lo = (gsize) floor (pos);
  gsize hi = MIN (lo + 1, n - 1);
  double frac = pos - (double) lo;

  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

double
curator_knn_outlier_scores (const CuratorKnn *knn,
                            double            iqr_factor,
                            double           *scores)
{
  g_autofree double *sorted = NULL;
  double q1, q3;
  gsize n;

  g_return_val_if_fail (knn != NULL && scores != NULL, INFINITY);

  n = knn->n_samples;
  if (knn->k == 0)
    {
      for (gsize i = 0; i < n; i++)
        scores[i] = NAN;
      return INFINITY;
    }
  for (gsize i = 0; i < n; i++)
    {
      double sum = 0;

      for (guint m = 0; m < knn->k; m++)
        sum += 1.0 - (double) knn->similarities[i * knn->k + m];
      scores[i] = sum / knn->k;
    }
  sorted = g_memdup2 (scores, sizeof (double) * n);
  qsort (sorted, n, sizeof (double), compare_double);
  q1 = percentile_sorted (sorted, n, 0.25);
  q3 = percentile_sorted (sorted, n, 0.75);
  return q3 + iqr_factor * (q3 - q1);
}

static int
compare_pair (gconstpointer a, gconstpointer b)
{
  const guint32 *p = a, *q = b;

  if (p[0] != q[0])
    return p[0] < q[0] ? -1 : 1;
  return (p[1] > q[1]) - (p[1] < q[1]);
}

GArray *
curator_knn_near_duplicates (const CuratorKnn *knn,
                             double            ratio,
                             double           *threshold_out)
{
  GArray *pairs = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autofree double *nearest = NULL;
  double threshold;
  gsize n, kept;

  g_return_val_if_fail (knn != NULL, pairs);

  n = knn->n_samples;
  if (threshold_out != NULL)
    *threshold_out = 0;
  if (knn->k == 0)
    return pairs;
  nearest = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    nearest[i] = 1.0 - (double) knn->similarities[i * knn->k];
  qsort (nearest, n, sizeof (double), compare_double);
  threshold = ratio * percentile_sorted (nearest, n, 0.5);
  if (threshold_out != NULL)
    *threshold_out = threshold;

  for (gsize i = 0; i < n; i++)
    for (guint m = 0; m < knn->k; m++)
      {
        double distance = 1.0 - (double) knn->similarities[i * knn->k + m];
        guint32 j = knn->neighbours[i * knn->k + m];
        guint32 pair[2];

        if (!(distance < threshold))
          break;  /* rows are sorted: no nearer one follows */
        pair[0] = MIN ((guint32) i, j);
        pair[1] = MAX ((guint32) i, j);
        g_array_append_vals (pairs, pair, 2);
      }
  /* Each pair once, in order. */
  if (pairs->len > 0)
    qsort (pairs->data, pairs->len / 2, 2 * sizeof (guint32), compare_pair);
  kept = 0;
  for (gsize p = 0; p < pairs->len / 2; p++)
    {
      guint32 *src = &g_array_index (pairs, guint32, 2 * p);

      if (kept > 0 && compare_pair (src, &g_array_index (pairs, guint32, 2 * (kept - 1))) == 0)
        continue;
      g_array_index (pairs, guint32, 2 * kept) = src[0];
      g_array_index (pairs, guint32, 2 * kept + 1) = src[1];
      kept++;
    }
  g_array_set_size (pairs, 2 * kept);
  return pairs;
}

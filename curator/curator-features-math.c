/* curator-features-math.c: the numeric building blocks of the patch
 * features: a Jacobi eigen-solver, ZCA whitening, k-means, and the
 * deterministic parallel loop they and the extractor run on.
 *
 * Determinism is the rule everywhere here: every reduction whose order
 * could depend on thread timing is either done in one thread in a fixed
 * order, or split into fixed chunks that write disjoint outputs. */
#include "curator-config.h"

#include "curator-features-private.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "curator-error.h"

/* ---- cancellation, BLAS threads, the parallel loop ---------------------- */

gboolean
_curator_check_cancelled (GCancellable *cancellable,
                          const char   *what,
                          GError      **error)
{
  if (cancellable == NULL || !g_cancellable_is_cancelled (cancellable))
    return FALSE;
  g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED, "%s cancelled", what);
  return TRUE;
}

static GMutex blas_mutex;
static int blas_depth;
static int blas_saved_threads;

void
_curator_blas_single_begin (void)
{
  g_mutex_lock (&blas_mutex);
  if (blas_depth++ == 0)
    {
      blas_saved_threads = openblas_get_num_threads ();
      if (blas_saved_threads != 1)
        openblas_set_num_threads (1);
    }
  g_mutex_unlock (&blas_mutex);
}

void
_curator_blas_single_end (void)
{
  g_mutex_lock (&blas_mutex);
  g_assert (blas_depth > 0);
  if (--blas_depth == 0 && blas_saved_threads != 1)
    openblas_set_num_threads (blas_saved_threads);
  g_mutex_unlock (&blas_mutex);
}

int
_curator_parallel_n_workers (int requested, gsize n_chunks)
{
  int n = requested > 0 ? requested : (int) g_get_num_processors ();

  n = CLAMP (n, 1, 256);
  if ((gsize) n > n_chunks)
    n = (int) MAX (n_chunks, 1);
  return n;
}

typedef struct {
  const CuratorParallel *job;
  gint     next;       /* next chunk to take */
  gint     done;       /* chunks finished */
  gint     stop;       /* set once cancelled */
  gint64   last_report_us;
} ParallelState;

typedef struct {
  ParallelState *state;
  int            worker;
} ParallelWorker;

static void
parallel_report (ParallelState *state, gboolean force)
{
  const CuratorParallel *job = state->job;
  gint64 now = g_get_monotonic_time ();
  double fraction;

  if (job->progress == NULL)
    return;
  /* At most ten reports a second: a GUI turns each into main-loop work. */
  if (!force && now - state->last_report_us < 100000)
    return;
  state->last_report_us = now;
  fraction = job->fraction_from + (job->fraction_to - job->fraction_from)
             * (double) g_atomic_int_get (&state->done) / (double) MAX (job->n_chunks, 1);
  job->progress (fraction, job->message, job->progress_data);
}

static void
parallel_loop (ParallelState *state, int worker)
{
  const CuratorParallel *job = state->job;

  for (;;)
    {
      gint chunk;

      if (g_atomic_int_get (&state->stop))
        break;
      if (job->cancellable != NULL && g_cancellable_is_cancelled (job->cancellable))
        {
          g_atomic_int_set (&state->stop, 1);
          break;
        }
      chunk = g_atomic_int_add (&state->next, 1);
      if ((gsize) chunk >= job->n_chunks)
        break;
      job->func (job->ctx, worker, (gsize) chunk);
      g_atomic_int_inc (&state->done);
      if (worker == 0)
        parallel_report (state, FALSE);
    }
}

static gpointer
parallel_thread (gpointer data)
{
  ParallelWorker *w = data;

  parallel_loop (w->state, w->worker);
  return NULL;
}

gboolean
_curator_parallel_run (const CuratorParallel *job, GError **error)
{
  ParallelState state = { .job = job };
  int n_workers;
  g_autofree GThread **threads = NULL;
  g_autofree ParallelWorker *workers = NULL;

  g_return_val_if_fail (job->n_chunks < G_MAXINT, FALSE);

  if (job->n_chunks == 0)
    return !_curator_check_cancelled (job->cancellable, job->message, error);

  n_workers = _curator_parallel_n_workers (job->n_workers, job->n_chunks);
  threads = g_new0 (GThread *, n_workers);
  workers = g_new0 (ParallelWorker, n_workers);
  for (int i = 1; i < n_workers; i++)
    {
      workers[i].state = &state;
      workers[i].worker = i;
      threads[i] = g_thread_new ("curator-features", parallel_thread, &workers[i]);
    }
  parallel_loop (&state, 0);
  for (int i = 1; i < n_workers; i++)
    g_thread_join (threads[i]);

  if (g_atomic_int_get (&state.stop)
      || (job->cancellable != NULL && g_cancellable_is_cancelled (job->cancellable)))
    return !_curator_check_cancelled (job->cancellable, job->message, error);
  parallel_report (&state, TRUE);
  return TRUE;
}

/* ---- Jacobi eigen-solver ------------------------------------------------- */

void
curator_symmetric_eigen (double *a,
                         int     n,
                         double *eigenvalues,
                         double *eigenvectors)
{
  double *v = eigenvectors;
  g_autofree int *order = NULL;
  g_autofree double *sorted = NULL;
  double total = 0.0;

  g_return_if_fail (a != NULL && n > 0 && eigenvalues != NULL && eigenvectors != NULL);

  memset (v, 0, sizeof (double) * (gsize) n * (gsize) n);
  for (int i = 0; i < n; i++)
    v[i * n + i] = 1.0;
  for (gsize i = 0; i < (gsize) n * (gsize) n; i++)
    total += a[i] * a[i];

  /* Cyclic Jacobi: sweep every off-diagonal pair, rotating it to zero, until
   * the off-diagonal mass is negligible. Convergence is quadratic once
   * close; 108x108 covariance matrices take 8-10 sweeps. */
  for (int sweep = 0; sweep < 100; sweep++)
    {
      double off = 0.0;

      for (int p = 0; p < n; p++)
        for (int q = p + 1; q < n; q++)
          off += a[p * n + q] * a[p * n + q];
      if (off <= 1e-30 * total || off == 0.0)
        break;

      for (int p = 0; p < n - 1; p++)
        for (int q = p + 1; q < n; q++)
          {
            double apq = a[p * n + q];
            double theta, t, c, s;

            if (apq == 0.0)
              continue;
            /* Rotation angle that zeroes a[p][q] (Numerical Recipes 11.1),
             * with the smaller root of t^2 + 2 t theta - 1 = 0 for stability. */
            theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
            t = 1.0 / (fabs (theta) + sqrt (theta * theta + 1.0));
            if (theta < 0.0)
              t = -t;
            c = 1.0 / sqrt (t * t + 1.0);
            s = t * c;

            for (int k = 0; k < n; k++)   /* A <- A J (columns p, q) */
              {
                double akp = a[k * n + p], akq = a[k * n + q];
                a[k * n + p] = c * akp - s * akq;
                a[k * n + q] = s * akp + c * akq;
              }
            for (int k = 0; k < n; k++)   /* A <- J^T A (rows p, q) */
              {
                double apk = a[p * n + k], aqk = a[q * n + k];
                a[p * n + k] = c * apk - s * aqk;
                a[q * n + k] = s * apk + c * aqk;
              }
            a[p * n + q] = a[q * n + p] = 0.0;
            for (int k = 0; k < n; k++)   /* V <- V J */
              {
                double vkp = v[k * n + p], vkq = v[k * n + q];
                v[k * n + p] = c * vkp - s * vkq;
                v[k * n + q] = s * vkp + c * vkq;
              }
          }
    }

  /* Decreasing order; a stable insertion sort keeps ties in index order. */
  order = g_new (int, n);
  for (int i = 0; i < n; i++)
    order[i] = i;
  for (int i = 1; i < n; i++)
    {
      int o = order[i], j = i;
      while (j > 0 && a[order[j - 1] * n + order[j - 1]] < a[o * n + o])
        {
          order[j] = order[j - 1];
          j--;
        }
      order[j] = o;
    }
  sorted = g_new (double, (gsize) n * (gsize) n);
  for (int j = 0; j < n; j++)
    {
      eigenvalues[j] = a[order[j] * n + order[j]];
      for (int i = 0; i < n; i++)
        sorted[i * n + j] = v[i * n + order[j]];
    }
  memcpy (v, sorted, sizeof (double) * (gsize) n * (gsize) n);
}

/* ---- ZCA ------------------------------------------------------------------ */

#define ZCA_CHUNK_ROWS 4096

void
curator_zca_fit (const float *points,
                 gsize        n_points,
                 int          dim,
                 double       eps,
                 float       *mean_out,
                 float       *zca_out)
{
  g_autofree double *mean = NULL;
  g_autofree double *cov = NULL;
  g_autofree double *chunk = NULL;
  g_autofree double *lambda = NULL;
  g_autofree double *u = NULL;
  g_autofree double *scale = NULL;

  g_return_if_fail (points != NULL && n_points >= 2 && dim > 0);
  g_return_if_fail (mean_out != NULL && zca_out != NULL && eps >= 0.0);

  mean = g_new0 (double, dim);
  for (gsize i = 0; i < n_points; i++)
    for (int j = 0; j < dim; j++)
      mean[j] += points[i * dim + j];
  for (int j = 0; j < dim; j++)
    mean[j] /= (double) n_points;

  /* Covariance in double, chunk by chunk with SYRK (upper triangle): the
   * sum over 400k patches would lose digits in float. */
  cov = g_new0 (double, (gsize) dim * dim);
  chunk = g_new (double, (gsize) ZCA_CHUNK_ROWS * dim);
  _curator_blas_single_begin ();
  for (gsize start = 0; start < n_points; start += ZCA_CHUNK_ROWS)
    {
      gsize rows = MIN (ZCA_CHUNK_ROWS, n_points - start);
      for (gsize i = 0; i < rows; i++)
        for (int j = 0; j < dim; j++)
          chunk[i * dim + j] = points[(start + i) * dim + j] - mean[j];
      cblas_dsyrk (CblasRowMajor, CblasUpper, CblasTrans, dim, (int) rows,
                   1.0, chunk, dim, 1.0, cov, dim);
    }
  _curator_blas_single_end ();
  for (int i = 0; i < dim; i++)
    for (int j = i; j < dim; j++)
      {
        cov[i * dim + j] /= (double) (n_points - 1);
        cov[j * dim + i] = cov[i * dim + j];
      }

  lambda = g_new (double, dim);
  u = g_new (double, (gsize) dim * dim);
  curator_symmetric_eigen (cov, dim, lambda, u);

  /* zca = U diag (1 / sqrt (lambda + eps)) U^T; rounding can leave tiny
   * negative eigenvalues of a singular covariance, which are zero. */
  scale = g_new (double, dim);
  for (int k = 0; k < dim; k++)
    scale[k] = 1.0 / sqrt (MAX (lambda[k], 0.0) + eps);
  for (int i = 0; i < dim; i++)
    for (int j = i; j < dim; j++)
      {
        double s = 0.0;
        for (int k = 0; k < dim; k++)
          s += u[i * dim + k] * u[j * dim + k] * scale[k];
        zca_out[i * dim + j] = zca_out[j * dim + i] = (float) s;
      }
  for (int j = 0; j < dim; j++)
    mean_out[j] = (float) mean[j];
}

/* ---- k-means -------------------------------------------------------------- */

/* Rows per assignment chunk: its scores (rows x K floats) stay in L2. */
#define KMEANS_CHUNK_ROWS 1024

typedef struct {
  const float *points;
  gsize        n_points;
  int          dim;
  int          k;
  const float *centroids;
  const float *c2;        /* |c|^2 per centroid */
  const float *x2;        /* |x|^2 per point */
  int         *labels;
  float       *min_d2;    /* squared distance to the assigned centroid */
  float      **dots;      /* per worker: KMEANS_CHUNK_ROWS x k */
} KmeansCtx;

/* 16 lanes as one value, for the one loop below that the vectoriser
 * handles badly by itself (it keeps conditional updates in memory). */
typedef float   V16f __attribute__ ((vector_size (64)));
typedef gint32  V16i __attribute__ ((vector_size (64)));

/* Index of the smallest a + b (the first of equal ones) and that value.
 * Each of 16 lanes keeps its running minimum and where it was. */
_CURATOR_HOT static int
argmin_sum (const float *restrict a, const float *restrict b, int n, float *min_out)
{
  V16f least;
  V16i at, index = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
  float m = G_MAXFLOAT;
  int best = n;
  int j = 0;

  for (int l = 0; l < 16; l++)
    {
      least[l] = G_MAXFLOAT;
      at[l] = n;
    }
  for (; j + 16 <= n; j += 16)
    {
      V16f va, vb, v;
      V16i better;

      memcpy (&va, a + j, sizeof va);
      memcpy (&vb, b + j, sizeof vb);
      v = va + vb;
      better = v < least;   /* -1 where the new value is smaller */
      least = (V16f) (((V16i) v & better) | ((V16i) least & ~better));
      at = (index & better) | (at & ~better);
      index += 16;
    }
  for (int l = 0; l < 16; l++)
    if (least[l] < m || (least[l] == m && at[l] < best))
      {
        m = least[l];
        best = at[l];
      }
  for (; j < n; j++)
    if (a[j] + b[j] < m)
      {
        m = a[j] + b[j];
        best = j;
      }
  *min_out = m;
  return best < n ? best : 0;   /* n only if everything was NaN */
}

static void
kmeans_assign_chunk (gpointer data, int worker, gsize chunk)
{
  KmeansCtx *ctx = data;
  gsize start = chunk * KMEANS_CHUNK_ROWS;
  gsize rows = MIN (KMEANS_CHUNK_ROWS, ctx->n_points - start);
  float *scores = ctx->dots[worker];
  int k = ctx->k;

  /* |x - c|^2 = |x|^2 + (|c|^2 - 2 x.c): the bracket decides. */
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) rows, k, ctx->dim,
               -2.0f, ctx->points + start * ctx->dim, ctx->dim,
               ctx->centroids, ctx->dim, 0.0f, scores, k);
  for (gsize i = 0; i < rows; i++)
    {
      float best_score;
      ctx->labels[start + i] = argmin_sum (ctx->c2, scores + i * k, k, &best_score);
      ctx->min_d2[start + i] = MAX (ctx->x2[start + i] + best_score, 0.0f);
    }
}

static void
norms_squared (const float *rows, gsize n_rows, int dim, float *out)
{
  for (gsize i = 0; i < n_rows; i++)
    {
      float s = 0.0f;
      for (int j = 0; j < dim; j++)
        s += rows[i * dim + j] * rows[i * dim + j];
      out[i] = s;
    }
}

/* d2[i] = min (d2[i], |x_i - c|^2), from |x|^2 + |c|^2 + (-2 x.c). */
_CURATOR_HOT static void
update_min_distance (float *restrict d2, const float *restrict x2, float c2,
                     const float *restrict dots, gsize n)
{
  gsize i = 0;

  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; l++)
      {
        float d = x2[i + l] + c2 + dots[i + l];
        d = d > 0.0f ? d : 0.0f;
        d2[i + l] = d < d2[i + l] ? d : d2[i + l];
      }
  for (; i < n; i++)
    {
      float d = x2[i] + c2 + dots[i];
      d = d > 0.0f ? d : 0.0f;
      d2[i] = d < d2[i] ? d : d2[i];
    }
}

/* k-means++ (Arthur and Vassilvitskii 2007) on a random subsample: the
 * seeding needs one pass over the sample per centre, which on all 400k
 * points would cost more than the Lloyd rounds it saves. The sample is
 * copied together so that each pass is one SGEMV. */
static gboolean
kmeans_plus_plus (const float  *points,
                  gsize         n_points,
                  int           dim,
                  int           k,
                  CuratorRng   *rng,
                  float        *centroids,
                  GCancellable *cancellable,
                  GError      **error)
{
  gsize n_sample = MIN (n_points, MAX ((gsize) k * 25, (gsize) 5000));
  g_autofree guint32 *index = NULL;
  g_autofree float *sample = NULL;
  g_autofree float *s2 = NULL;
  g_autofree float *d2 = NULL;
  g_autofree float *dots = NULL;

  g_return_val_if_fail (n_points < G_MAXUINT32, FALSE);

  /* Distinct sample indices by a partial Fisher-Yates shuffle. */
  index = g_new (guint32, n_points);
  for (gsize i = 0; i < n_points; i++)
    index[i] = (guint32) i;
  for (gsize i = 0; i < n_sample; i++)
    {
      gsize j = i + _curator_rng_below (rng, (guint32) (n_points - i));
      guint32 t = index[i];
      index[i] = index[j];
      index[j] = t;
    }
  sample = g_new (float, n_sample * dim);
  for (gsize i = 0; i < n_sample; i++)
    memcpy (sample + i * dim, points + (gsize) index[i] * dim, sizeof (float) * dim);
  s2 = g_new (float, n_sample);
  norms_squared (sample, n_sample, dim, s2);
  d2 = g_new (float, n_sample);
  dots = g_new (float, n_sample);
  for (gsize i = 0; i < n_sample; i++)
    d2[i] = G_MAXFLOAT;

  for (int c = 0; c < k; c++)
    {
      gsize pick = n_sample - 1;
      double total = 0.0;

      if (c % 32 == 0 && _curator_check_cancelled (cancellable, "k-means", error))
        return FALSE;
      if (c > 0)
        for (gsize i = 0; i < n_sample; i++)
          total += d2[i];
      if (total > 0.0)
        {
          /* Draw with probability proportional to d2. */
          double target = _curator_rng_uniform (rng) * total;
          for (gsize i = 0; i < n_sample; i++)
            {
              target -= d2[i];
              if (target < 0.0)
                {
                  pick = i;
                  break;
                }
            }
        }
      else   /* the first centre, or all points alike */
        pick = _curator_rng_below (rng, (guint32) n_sample);
      memcpy (centroids + (gsize) c * dim, sample + pick * dim, sizeof (float) * dim);

      cblas_sgemv (CblasRowMajor, CblasNoTrans, (int) n_sample, dim, -2.0f, sample, dim,
                   sample + pick * dim, 1, 0.0f, dots, 1);
      update_min_distance (d2, s2, s2[pick], dots, n_sample);
      d2[pick] = 0.0f;   /* exactly, whatever the rounding above */
    }
  return TRUE;
}

_CURATOR_HOT static void
add_to_sum (double *restrict sum, const float *restrict x, int dim)
{
  int j = 0;

  for (; j + 8 <= dim; j += 8)
    for (int l = 0; l < 8; l++)
      sum[j + l] += x[j + l];
  for (; j < dim; j++)
    sum[j] += x[j];
}

gboolean
curator_kmeans (const float         *points,
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
                GError             **error)
{
  return _curator_kmeans (points, n_points, dim, n_clusters, max_iterations, seed, 0,
                          centroids, assignment, cancellable, progress, progress_data, error);
}

gboolean
_curator_kmeans (const float         *points,
                 gsize                n_points,
                 int                  dim,
                 int                  n_clusters,
                 int                  max_iterations,
                 guint64              seed,
                 int                  n_threads,
                 float               *centroids,
                 int                 *assignment,
                 GCancellable        *cancellable,
                 CuratorProgressFunc  progress,
                 gpointer             progress_data,
                 GError             **error)
{
  KmeansCtx ctx = { 0 };
  CuratorParallel job = { 0 };
  CuratorRng rng;
  gsize n_chunks;
  int n_workers, k = n_clusters;
  gboolean ok = FALSE;
  g_autofree int *labels = NULL;
  g_autofree float *min_d2 = NULL;
  g_autofree float *x2 = NULL;
  g_autofree float *c2 = NULL;
  g_autofree double *sums = NULL;
  g_autofree gsize *counts = NULL;
  g_autofree float **dots = NULL;
  g_autofree char *message = NULL;

  g_return_val_if_fail (points != NULL && dim > 0 && centroids != NULL, FALSE);
  g_return_val_if_fail (n_clusters > 0 && n_points >= (gsize) n_clusters, FALSE);
  g_return_val_if_fail (max_iterations >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  _curator_rng_init (&rng, seed, 0x6b6d65616e73 /* "kmeans" */);
  _curator_blas_single_begin ();
  ok = kmeans_plus_plus (points, n_points, dim, k, &rng, centroids, cancellable, error);
  _curator_blas_single_end ();
  if (!ok)
    return FALSE;
  ok = FALSE;

  labels = g_new (int, n_points);
  min_d2 = g_new (float, n_points);
  x2 = g_new (float, n_points);
  c2 = g_new (float, k);
  sums = g_new (double, (gsize) k * dim);
  counts = g_new (gsize, k);
  norms_squared (points, n_points, dim, x2);
  for (gsize i = 0; i < n_points; i++)
    labels[i] = -1;

  n_chunks = (n_points + KMEANS_CHUNK_ROWS - 1) / KMEANS_CHUNK_ROWS;
  n_workers = _curator_parallel_n_workers (n_threads, n_chunks);
  dots = g_new0 (float *, n_workers);
  for (int w = 0; w < n_workers; w++)
    dots[w] = g_new (float, (gsize) KMEANS_CHUNK_ROWS * k);

  ctx.points = points;
  ctx.n_points = n_points;
  ctx.dim = dim;
  ctx.k = k;
  ctx.centroids = centroids;
  ctx.c2 = c2;
  ctx.x2 = x2;
  ctx.min_d2 = min_d2;
  ctx.dots = dots;

  job.n_chunks = n_chunks;
  job.n_workers = n_workers;
  job.func = kmeans_assign_chunk;
  job.ctx = &ctx;
  job.cancellable = cancellable;
  job.progress = progress;
  job.progress_data = progress_data;

  _curator_blas_single_begin ();
  for (int it = 0; it <= max_iterations; it++)
    {
      g_autofree int *old = g_memdup2 (labels, sizeof (int) * n_points);
      gsize changed = 0;
      int n_empty = 0;

      norms_squared (centroids, k, dim, c2);
      g_free (message);
      message = g_strdup_printf ("k-means round %d of %d", it + 1, max_iterations + 1);
      job.message = message;
      job.fraction_from = (double) it / (max_iterations + 1);
      job.fraction_to = (double) (it + 1) / (max_iterations + 1);
      ctx.labels = labels;
      if (!_curator_parallel_run (&job, error))
        goto out;
      for (gsize i = 0; i < n_points; i++)
        changed += labels[i] != old[i];
      if (changed == 0 || it == max_iterations)
        break;

      /* Update in one thread, in point order: the sums are the same
       * whatever the number of workers. */
      memset (sums, 0, sizeof (double) * (gsize) k * dim);
      memset (counts, 0, sizeof (gsize) * k);
      for (gsize i = 0; i < n_points; i++)
        {
          counts[labels[i]]++;
          add_to_sum (sums + (gsize) labels[i] * dim, points + i * dim, dim);
        }
      for (int c = 0; c < k; c++)
        {
          if (counts[c] == 0)
            {
              n_empty++;
              continue;
            }
          for (int j = 0; j < dim; j++)
            centroids[(gsize) c * dim + j] = (float) (sums[(gsize) c * dim + j] / (double) counts[c]);
        }
      /* An empty cluster restarts at the point worst served by the current
       * centres (ties to the lowest index); taking its distance out keeps
       * two empty clusters from restarting at the same point. */
      for (int c = 0; c < k && n_empty > 0; c++)
        {
          gsize far = 0;

          if (counts[c] != 0)
            continue;
          for (gsize i = 1; i < n_points; i++)
            if (min_d2[i] > min_d2[far])
              far = i;
          memcpy (centroids + (gsize) c * dim, points + far * dim, sizeof (float) * dim);
          min_d2[far] = -1.0f;
          n_empty--;
        }
    }

  /* The loop always ends right after an assignment: labels are current. */
  if (assignment != NULL)
    memcpy (assignment, labels, sizeof (int) * n_points);
  ok = TRUE;

out:
  _curator_blas_single_end ();
  for (int w = 0; w < n_workers; w++)
    g_free (dots[w]);
  return ok;
}

/* curator-classifier-project.c: an optional label-free linear projection.
 *
 * Thousands of pooled patch features are strongly correlated; their top few
 * hundred principal directions carry most of what a classifier uses. Training
 * on the projection makes every model (and an MLP's first layer above all)
 * several times cheaper, which buys more folds, seeds and epochs in the same
 * time. The projection is fitted on the features of all samples, never on
 * labels, so it cannot carry a sample's label into its own prediction; it
 * plays the same role as the k-means dictionary of the feature extractor,
 * which is also learnt from all images.
 *
 * Subspace iteration (a randomised range finder with power steps): P <- orth
 * (Xc^T Xc P), where Xc is X centred, never materialised. Orthonormalisation
 * is Cholesky-QR done twice in double precision (BLAS 3 throughout; the
 * repetition repairs what one pass loses on ill-conditioned columns). At most
 * PCA_MAX_ROWS evenly spaced rows estimate the subspace: beyond that more rows
 * change it little and cost linearly. */
#include "curator-config.h"

#include <math.h>
#include <string.h>
#include <cblas.h>

#include "curator-classifier-private.h"
#include "curator-error.h"

#define PCA_POWER_STEPS 3
#define PCA_MAX_ROWS    12000

/* In place: @a (rows x cols, row major, double) gets orthonormal columns
 * spanning the same space. Returns FALSE if the columns are rank deficient
 * beyond repair. */
static gboolean
cholesky_qr (double *a, gsize rows, gsize cols)
{
  g_autofree double *g = g_new (double, cols * cols);

  for (int pass = 0; pass < 2; pass++)
    {
      double trace = 0.0;
      cblas_dgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) cols, (int) cols, (int) rows,
                   1.0, a, (int) cols, a, (int) cols, 0.0, g, (int) cols);
      for (gsize i = 0; i < cols; i++)
        trace += g[i * cols + i];
      if (!(trace > 0.0))
        return FALSE;
      /* A tiny shift keeps the factorisation defined when columns are nearly
       * dependent; the second pass removes its effect on orthogonality. */
      for (gsize i = 0; i < cols; i++)
        g[i * cols + i] += 1e-13 * trace;

      /* Cholesky G = R^T R, R upper triangular, stored in the upper half. */
      for (gsize j = 0; j < cols; j++)
        {
          double s = g[j * cols + j];
          for (gsize p = 0; p < j; p++)
            s -= g[p * cols + j] * g[p * cols + j];
          if (!(s > 0.0))
            return FALSE;
          double r = sqrt (s);
          g[j * cols + j] = r;
          for (gsize i = j + 1; i < cols; i++)
            {
              double t = g[j * cols + i];
              for (gsize p = 0; p < j; p++)
                t -= g[p * cols + j] * g[p * cols + i];
              g[j * cols + i] = t / r;
            }
        }
      /* A <- A R^-1 */
      cblas_dtrsm (CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit,
                   (int) rows, (int) cols, 1.0, g, (int) cols, a, (int) cols);
    }
  return TRUE;
}

gboolean
_curator_project_pca (const float      *features,
                      const float      *features_flip,
                      gsize             n_samples,
                      gsize             n_dims,
                      gsize             n_out,
                      guint64           seed,
                      float           **projected_out,
                      float           **projected_flip_out,
                      _CuratorProgress *progress,
                      GError          **error)
{
  gsize d = n_dims, r = n_out;
  gsize n_fit = MIN (n_samples, (gsize) PCA_MAX_ROWS);
  _CuratorRng rng;

  g_return_val_if_fail (n_out > 0 && n_out <= n_dims, FALSE);

  /* The rows the subspace is estimated from, evenly spaced, copied once so
   * that the power steps run on one contiguous matrix. */
  g_autofree float *xs = g_new (float, n_fit * d);
  g_autofree double *mean = g_new0 (double, d);
  g_autofree float *meanf = g_new (float, d);
  for (gsize i = 0; i < n_fit; i++)
    {
      gsize src = (gsize) ((guint64) i * n_samples / n_fit);
      memcpy (xs + i * d, features + src * d, sizeof (float) * d);
    }
  for (gsize i = 0; i < n_fit; i++)
    for (gsize j = 0; j < d; j++)
      mean[j] += xs[i * d + j];
  for (gsize j = 0; j < d; j++)
    meanf[j] = (float) (mean[j] / (double) n_fit);

  g_autofree double *basis = g_new (double, d * r);
  g_autofree float *pf = g_new (float, d * r);
  g_autofree float *y = g_new (float, n_fit * r);
  g_autofree float *colsum = g_new (float, r);
  g_autofree float *xty = g_new (float, d * r);

  _curator_rng_init (&rng, seed);
  for (gsize i = 0; i < d * r; i++)
    basis[i] = _curator_rng_normal (&rng);
  if (!cholesky_qr (basis, d, r))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_FAILED,
                   "Could not orthonormalise a random basis of %" G_GSIZE_FORMAT " directions",
                   r);
      return FALSE;
    }

  for (int step = 0; step < PCA_POWER_STEPS; step++)
    {
      if (_curator_progress_cancelled (progress, error))
        return FALSE;
      for (gsize i = 0; i < d * r; i++)
        pf[i] = (float) basis[i];
      /* Y = Xc P = X P - 1 (mean^T P) */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) n_fit, (int) r, (int) d,
                   1.0f, xs, (int) d, pf, (int) r, 0.0f, y, (int) r);
      cblas_sgemv (CblasRowMajor, CblasTrans, (int) d, (int) r, 1.0f, pf, (int) r,
                   meanf, 1, 0.0f, colsum, 1);
      for (gsize i = 0; i < n_fit; i++)
        for (gsize j = 0; j < r; j++)
          y[i * r + j] -= colsum[j];
      /* Xc^T Y = X^T Y - mean (1^T Y); 1^T Y is zero up to rounding since Y is
       * centred, so X^T Y is enough. */
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) d, (int) r, (int) n_fit,
                   1.0f, xs, (int) d, y, (int) r, 0.0f, xty, (int) r);
      for (gsize i = 0; i < d * r; i++)
        basis[i] = xty[i];
      if (!cholesky_qr (basis, d, r))
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "The features span fewer than %" G_GSIZE_FORMAT " directions; "
                       "use fewer projection dimensions", r);
          return FALSE;
        }
      _curator_progress_advance (progress, (double) n_samples, "projecting features");
    }

  for (gsize i = 0; i < d * r; i++)
    pf[i] = (float) basis[i];
  g_clear_pointer (&xs, g_free);
  g_clear_pointer (&y, g_free);

  g_autofree float *out = g_new (float, n_samples * r);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) n_samples, (int) r, (int) d,
               1.0f, features, (int) d, pf, (int) r, 0.0f, out, (int) r);
  g_autofree float *out_flip = NULL;
  if (features_flip != NULL)
    {
      out_flip = g_new (float, n_samples * r);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) n_samples, (int) r,
                   (int) d, 1.0f, features_flip, (int) d, pf, (int) r, 0.0f, out_flip, (int) r);
    }
  _curator_progress_advance (progress, (double) n_samples, "projecting features");

  *projected_out = g_steal_pointer (&out);
  if (projected_flip_out != NULL)
    *projected_flip_out = g_steal_pointer (&out_flip);
  return TRUE;
}

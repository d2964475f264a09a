/* curator-cl.c: confident learning as cleanlab 2.x computes it.
 *
 * The aim is the reference's flags exactly, so the code follows cleanlab's
 * arithmetic rather than a tidier equivalent; each of these changes a flag
 * or a count on the golden vectors when it is done the obvious way:
 *   - floats are summed as numpy sums them (pairwise, in memory order, and
 *     the calibrated joint is column-major in numpy);
 *   - the row rounding bumps the cells np.argsort picks, and np.argsort is
 *     numpy's own unstable quicksort, transcribed below, because equal keys
 *     are common (equal counts, probabilities given to 6 decimals);
 *   - rounding is half to even (nearbyint in the default rounding mode).
 * The rest follows the cleanlab source: 1e-6 under every threshold, the
 * whole-row argmax for a sample confident in several classes, exact counts
 * pruned per cell, the 1e-6 nudge in num_label_issues. Unlabelled samples
 * (label < 0) are skipped in every loop, which is the same as leaving them
 * out of the arrays.
 *
 * The argsort below (aquicksort_ and aheapsort_) is transcribed from numpy's
 * npysort, Copyright (c) 2005-2024 NumPy Developers, BSD 3-Clause licence:
 * redistribution with or without modification is permitted provided the
 * copyright notice, this list of conditions and the disclaimer are retained;
 * see LICENSE.txt in the numpy sources. */
#include "curator-config.h"

#include "curator-cl.h"

#include <math.h>
#include <string.h>

/* cleanlab.internal.constants */
#define CL_FLOATING_POINT_COMPARISON 1e-6   /* taken off every threshold */
#define CL_THRESHOLD_LOWER_BOUND     2e-6   /* thresholds are clipped up to this */
#define CL_CLIPPING_LOWER_BOUND      1e-6   /* self-confidence and entropy ratio floor */
#define CL_TINY_VALUE                1e-100 /* divisor floor */

#define CL_MISSING_CLASS_THRESHOLD   2.0    /* cleanlab's BIG_VALUE: no probability reaches it */
#define CL_PY_MIN                    1e-5   /* compute_py clips py to [1e-5, 1] */
#define CL_NOISE_RATE_MAX            0.9999 /* clip_noise_rates */
#define CL_MIN_EXAMPLES_PER_CLASS    1      /* find_label_issues default */

/* ---- numpy's arithmetic ------------------------------------------------- */

/* numpy's pairwise summation (np.add.reduce on a contiguous float64 array):
 * thresholds and the calibration total must round exactly as the reference
 * does, or a probability sitting on a threshold lands on the other side. */
static double
np_sum (const double *a,
        gsize         n)
{
  if (n < 8)
    {
      double res = 0.;

      for (gsize i = 0; i < n; i++)
        res += a[i];
      return res;
    }
  if (n <= 128)
    {
      double r[8];
      gsize i;

      for (guint j = 0; j < 8; j++)
        r[j] = a[j];
      for (i = 8; i < n - (n % 8); i += 8)
        for (guint j = 0; j < 8; j++)
          r[j] += a[i + j];
      double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++)
        res += a[i];
      return res;
    }
  gsize n2 = n / 2;
  n2 -= n2 % 8;
  return np_sum (a, n2) + np_sum (a + n2, n - n2);
}

/* np.argmax: the first maximum. */
static guint
row_argmax (const double *row,
            guint         n_classes)
{
  guint best = 0;

  for (guint j = 1; j < n_classes; j++)
    if (row[j] > row[best])
      best = j;
  return best;
}

/* cleanlab count._reduce_issues: the given label, nudged up by 1e-6, is the
 * (first) argmax of the row. num_label_issues drops such samples; the
 * filters of find_label_issues use the plain argmax instead. */
static gboolean
given_label_within_reach (const double *row,
                          guint         n_classes,
                          gint          label)
{
  double own = row[label] + CL_FLOATING_POINT_COMPARISON;

  for (guint j = 0; j < n_classes; j++)
    {
      if ((gint) j < label && row[j] >= own)
        return FALSE;
      if ((gint) j > label && row[j] > own)
        return FALSE;
    }
  return TRUE;
}

/* numpy's comparison for floats: NaN sorts last. */
static inline gboolean
np_less (double a,
         double b)
{
  return a < b || (b != b && a == a);
}

#define NP_SMALL_QUICKSORT 15
#define NP_QS_STACK        128  /* NPY_BITSOF_INTP * 2 */

/* aheapsort_, numpy's fallback when the quicksort recurses too deep;
 * 1-based heap indices as in numpy, hence the "- 1" on every access. */
static void
np_aheapsort (const double *v,
              gsize        *tosort,
              gsize         n)
{
  gsize i, j, l, tmp;

  for (l = n >> 1; l > 0; --l)
    {
      tmp = tosort[l - 1];
      for (i = l, j = l << 1; j <= n;)
        {
          if (j < n && np_less (v[tosort[j - 1]], v[tosort[j]]))
            j += 1;
          if (np_less (v[tmp], v[tosort[j - 1]]))
            {
              tosort[i - 1] = tosort[j - 1];
              i = j;
              j += j;
            }
          else
            break;
        }
      tosort[i - 1] = tmp;
    }

  for (; n > 1;)
    {
      tmp = tosort[n - 1];
      tosort[n - 1] = tosort[0];
      n -= 1;
      for (i = 1, j = 2; j <= n;)
        {
          if (j < n && np_less (v[tosort[j - 1]], v[tosort[j]]))
            j++;
          if (np_less (v[tmp], v[tosort[j - 1]]))
            {
              tosort[i - 1] = tosort[j - 1];
              i = j;
              j += j;
            }
          else
            break;
        }
      tosort[i - 1] = tmp;
    }
}

/* np.argsort(v) with the default kind: numpy's aquicksort_ (median-of-3
 * quicksort, insertion sort below 16 elements, heapsort past 2*log2(n)
 * levels). It is not stable, and cleanlab's results depend on how it orders
 * equal keys: which cell the rounding bumps, which of several samples with
 * the same margin is pruned, the ranking of equal scores. So this is a
 * transcription, step for step. The golden vectors were evidently made by
 * this sort, not by the AVX-512 x86-simd-sort that numpy uses on some CPUs
 * (whose networks order ties differently). order[] receives 0..n-1 sorted. */
static void
np_argsort (const double *v,
            gsize         n,
            gsize        *order)
{
  gsize *stack[NP_QS_STACK];
  gsize **sptr = stack;
  int depth[NP_QS_STACK];
  int *psdepth = depth;
  gsize *pl = order, *pr, *pi, *pj, *pk, *pm;
  gsize vi;
  double vp;
  int cdepth = 0;

  for (gsize i = 0; i < n; i++)
    order[i] = i;
  if (n < 2)
    return;
  for (gsize m = n; m >>= 1;)
    cdepth++;
  cdepth *= 2;
  pr = order + n - 1;

#define NP_SWAP(a, b) G_STMT_START { gsize t_ = (a); (a) = (b); (b) = t_; } G_STMT_END
  for (;;)
    {
      if (G_UNLIKELY (cdepth < 0))
        {
          np_aheapsort (v, pl, (gsize) (pr - pl) + 1);
          goto stack_pop;
        }
      while ((pr - pl) > NP_SMALL_QUICKSORT)
        {
          pm = pl + ((pr - pl) >> 1);
          if (np_less (v[*pm], v[*pl]))
            NP_SWAP (*pm, *pl);
          if (np_less (v[*pr], v[*pm]))
            NP_SWAP (*pr, *pm);
          if (np_less (v[*pm], v[*pl]))
            NP_SWAP (*pm, *pl);
          vp = v[*pm];
          pi = pl;
          pj = pr - 1;
          NP_SWAP (*pm, *pj);
          for (;;)
            {
              do
                ++pi;
              while (np_less (v[*pi], vp));
              do
                --pj;
              while (np_less (vp, v[*pj]));
              if (pi >= pj)
                break;
              NP_SWAP (*pi, *pj);
            }
          pk = pr - 1;
          NP_SWAP (*pi, *pk);
          /* push the larger partition, go on with the smaller */
          if (pi - pl < pr - pi)
            {
              *sptr++ = pi + 1;
              *sptr++ = pr;
              pr = pi - 1;
            }
          else
            {
              *sptr++ = pl;
              *sptr++ = pi - 1;
              pl = pi + 1;
            }
          *psdepth++ = --cdepth;
        }

      for (pi = pl + 1; pi <= pr; ++pi)
        {
          vi = *pi;
          vp = v[vi];
          pj = pi;
          pk = pi - 1;
          while (pj > pl && np_less (vp, v[*pk]))
            *pj-- = *pk--;
          *pj = vi;
        }
    stack_pop:
      if (sptr == stack)
        break;
      pr = *(--sptr);
      pl = *(--sptr);
      cdepth = *(--psdepth);
    }
#undef NP_SWAP
}

/* cleanlab.internal.util.round_preserving_sum: round half to even, then
 * move the sum back to the rounded original one unit per cell, taking
 * np.argsort(values - rounded)[::-increment][:changes]: up the cells with
 * the largest remainders, down those with the smallest. Equal remainders are
 * common (equal counts in a row scale equally), so the tie order of
 * np_argsort decides which cell moves. @values is read with @stride, the way
 * numpy walks a row of the column-major calibrated joint. */
static void
round_preserving_sum (const double *values,
                      gsize         stride,
                      guint         n_values,
                      gint64       *out)
{
  g_autofree double *floats = g_new (double, n_values);
  g_autofree double *ints = g_new (double, n_values);
  g_autofree double *keys = g_new (double, n_values);
  g_autofree gsize *order = g_new (gsize, n_values);

  for (guint j = 0; j < n_values; j++)
    {
      floats[j] = values[j * stride];
      ints[j] = nearbyint (floats[j]);
    }
  double orig_sum = nearbyint (np_sum (floats, n_values));
  double int_sum = nearbyint (np_sum (ints, n_values));

  while (fabs (int_sum - orig_sum) > CL_FLOATING_POINT_COMPARISON)
    {
      double diff = nearbyint (orig_sum - int_sum);
      double increment = diff < 0.0 ? -1.0 : 1.0;
      guint changes = (guint) MIN (fabs (diff), (double) n_values);

      for (guint j = 0; j < n_values; j++)
        keys[j] = floats[j] - ints[j];
      np_argsort (keys, n_values, order);
      for (guint c = 0; c < changes; c++)
        ints[order[increment > 0 ? n_values - 1 - c : c]] += increment;
      int_sum = nearbyint (np_sum (ints, n_values));
    }

  for (guint j = 0; j < n_values; j++)
    out[j] = (gint64) ints[j];
}

/* ---- inputs ------------------------------------------------------------- */

static gboolean
inputs_valid (const gint   *labels,
              const double *pred_probs,
              gsize         n_samples,
              guint         n_classes)
{
  if (n_classes < 2 || n_classes > G_MAXINT)
    {
      g_critical ("confident learning needs 2 to G_MAXINT classes, got %u", n_classes);
      return FALSE;
    }
  if (n_samples > 0 && (labels == NULL || pred_probs == NULL))
    {
      g_critical ("confident learning: labels and pred_probs must not be NULL");
      return FALSE;
    }
  for (gsize i = 0; i < n_samples; i++)
    {
      if (labels[i] >= (gint) n_classes)
        {
          g_critical ("sample %" G_GSIZE_FORMAT " has label %d, but there are %u classes",
                      i, labels[i], n_classes);
          return FALSE;
        }
      for (guint j = 0; j < n_classes; j++)
        {
          double p = pred_probs[i * n_classes + j];

          /* written so that NaN fails too */
          if (!(p >= 0.0 && p <= 1.0))
            {
              g_critical ("sample %" G_GSIZE_FORMAT " has probability %g for class %u, "
                          "outside [0, 1]", i, p, j);
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* The labelled samples grouped by class, positions ascending within a class:
 * members[offsets[j] .. offsets[j + 1]) are the samples given label j. */
typedef struct {
  guint   n_classes;
  gsize  *offsets;  /* [n_classes + 1] */
  gsize  *members;  /* [n_labelled] */
  gint64 *counts;   /* [n_classes] given-label counts (value_counts_fill_missing_classes) */
  gsize   n_labelled;
} ClClasses;

static void
cl_classes_free (ClClasses *classes)
{
  g_free (classes->offsets);
  g_free (classes->members);
  g_free (classes->counts);
  g_free (classes);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClClasses, cl_classes_free)

static ClClasses *
cl_classes_new (const gint *labels,
                gsize       n_samples,
                guint       n_classes)
{
  ClClasses *classes = g_new0 (ClClasses, 1);
  g_autofree gsize *fill = g_new0 (gsize, n_classes);

  classes->n_classes = n_classes;
  classes->counts = g_new0 (gint64, n_classes);
  classes->offsets = g_new0 (gsize, n_classes + 1);
  for (gsize i = 0; i < n_samples; i++)
    if (labels[i] >= 0)
      {
        classes->counts[labels[i]]++;
        classes->n_labelled++;
      }
  for (guint j = 0; j < n_classes; j++)
    classes->offsets[j + 1] = classes->offsets[j] + (gsize) classes->counts[j];
  classes->members = g_new (gsize, MAX (classes->n_labelled, 1));
  for (gsize i = 0; i < n_samples; i++)
    if (labels[i] >= 0)
      {
        guint j = (guint) labels[i];

        classes->members[classes->offsets[j] + fill[j]++] = i;
      }
  return classes;
}

/* ---- thresholds and the confident joint --------------------------------- */

static void
compute_thresholds (const ClClasses *classes,
                    const double    *pred_probs,
                    double          *thresholds)
{
  guint k = classes->n_classes;
  g_autofree double *values = g_new (double, MAX (classes->n_labelled, 1));

  for (guint j = 0; j < k; j++)
    {
      gsize count = classes->offsets[j + 1] - classes->offsets[j];
      double t;

      if (count == 0)
        t = CL_MISSING_CLASS_THRESHOLD;
      else
        {
          for (gsize m = 0; m < count; m++)
            values[m] = pred_probs[classes->members[classes->offsets[j] + m] * k + j];
          t = np_sum (values, count) / (double) count;
        }
      thresholds[j] = MAX (t, CL_THRESHOLD_LOWER_BOUND);
    }
}

/* The uncalibrated joint, diagonal raised to 1. */
static void
count_joint (const gint   *labels,
             const double *pred_probs,
             gsize         n_samples,
             guint         n_classes,
             const double *thresholds,
             gint64       *joint,
             gboolean     *off_diagonal)
{
  g_autofree double *cut = g_new (double, n_classes);

  for (guint j = 0; j < n_classes; j++)
    cut[j] = thresholds[j] - CL_FLOATING_POINT_COMPARISON;
  memset (joint, 0, sizeof (gint64) * n_classes * n_classes);

  for (gsize i = 0; i < n_samples; i++)
    {
      const double *row = pred_probs + i * n_classes;
      guint n_confident = 0, first_confident = 0, guess;

      if (off_diagonal != NULL)
        off_diagonal[i] = FALSE;
      if (labels[i] < 0)
        continue;
      for (guint j = n_classes; j-- > 0;)
        if (row[j] >= cut[j])
          {
            n_confident++;
            first_confident = j;
          }
      if (n_confident == 0)
        continue;
      /* Above several thresholds: cleanlab takes the argmax of the whole row,
       * not of the confident classes only. */
      guess = n_confident > 1 ? row_argmax (row, n_classes) : first_confident;
      joint[(gsize) labels[i] * n_classes + guess]++;
      if (off_diagonal != NULL)
        off_diagonal[i] = (gint) guess != labels[i];
    }

  for (guint j = 0; j < n_classes; j++)
    joint[(gsize) j * n_classes + j] = MAX (joint[(gsize) j * n_classes + j], 1);
}

/* calibrate_confident_joint, in place, with cleanlab's order of operations.
 * The rescaled joint is held column-major because numpy's is (it comes out
 * of two transposes), and np.sum adds it in memory order: the total must be
 * the same double, or 32.5 becomes 32.49999999999999 and rounds the other
 * way (golden case 2 depends on exactly that). */
static void
calibrate_joint (gint64          *joint,
                 const ClClasses *classes)
{
  guint k = classes->n_classes;
  g_autofree double *cal = g_new (double, (gsize) k * k);  /* cal[true * k + given] */

  for (guint g = 0; g < k; g++)
    {
      gint64 row_sum = 0;

      for (guint t = 0; t < k; t++)
        row_sum += joint[(gsize) g * k + t];
      double divisor = MAX ((double) row_sum, CL_TINY_VALUE);
      for (guint t = 0; t < k; t++)
        cal[(gsize) t * k + g] = (double) joint[(gsize) g * k + t] / divisor
                                 * (double) classes->counts[g];
    }
  double total = MAX (np_sum (cal, (gsize) k * k), CL_TINY_VALUE);
  for (gsize c = 0; c < (gsize) k * k; c++)
    cal[c] = cal[c] / total * (double) classes->n_labelled;
  /* round_preserving_row_totals: each given-label row, read across columns */
  for (guint g = 0; g < k; g++)
    round_preserving_sum (cal + g, k, k, joint + (gsize) g * k);
}

static void
confident_joint (const gint      *labels,
                 const double    *pred_probs,
                 gsize            n_samples,
                 const ClClasses *classes,
                 const double    *thresholds,
                 gboolean         calibrate,
                 gint64          *joint,
                 gboolean        *off_diagonal)
{
  guint k = classes->n_classes;
  g_autofree double *own_thresholds = NULL;

  if (thresholds == NULL)
    {
      own_thresholds = g_new (double, k);
      compute_thresholds (classes, pred_probs, own_thresholds);
      thresholds = own_thresholds;
    }
  count_joint (labels, pred_probs, n_samples, k, thresholds, joint, off_diagonal);
  if (calibrate)
    calibrate_joint (joint, classes);
}

/* ---- latent estimates --------------------------------------------------- */

/* clip_noise_rates: off-diagonal entries into [0, 0.9999], then columns
 * renormalised; the diagonal is not a noise rate and is kept. */
static void
clip_noise_rates (double *matrix,
                  guint   n_classes)
{
  for (guint r = 0; r < n_classes; r++)
    for (guint c = 0; c < n_classes; c++)
      if (r != c)
        matrix[(gsize) r * n_classes + c] = CLAMP (matrix[(gsize) r * n_classes + c],
                                                   0.0, CL_NOISE_RATE_MAX);
  for (guint c = 0; c < n_classes; c++)
    {
      double col_sum = 0.;

      for (guint r = 0; r < n_classes; r++)
        col_sum += matrix[(gsize) r * n_classes + c];
      col_sum = MAX (col_sum, CL_TINY_VALUE);
      for (guint r = 0; r < n_classes; r++)
        matrix[(gsize) r * n_classes + c] /= col_sum;
    }
}

static void
estimate_latent (const gint64    *joint,
                 const ClClasses *classes,
                 double          *py_out,
                 double          *noise_out,
                 double          *inverse_out)
{
  guint k = classes->n_classes;
  gsize kk = (gsize) k * k;
  g_autofree double *ps = g_new (double, k);
  g_autofree double *row_sums = g_new0 (double, k);
  g_autofree double *col_sums = g_new0 (double, k);
  g_autofree double *noise = g_new (double, kk);
  g_autofree double *inverse = g_new (double, kk);
  g_autofree double *py = g_new (double, k);

  for (guint j = 0; j < k; j++)
    ps[j] = classes->n_labelled > 0
            ? (double) classes->counts[j] / (double) classes->n_labelled : 0.0;
  for (guint g = 0; g < k; g++)
    for (guint t = 0; t < k; t++)
      {
        row_sums[g] += (double) joint[(gsize) g * k + t];
        col_sums[t] += (double) joint[(gsize) g * k + t];
      }
  for (guint g = 0; g < k; g++)
    for (guint t = 0; t < k; t++)
      {
        double cell = (double) joint[(gsize) g * k + t];

        noise[(gsize) g * k + t] = cell / MAX (col_sums[t], CL_TINY_VALUE);
        inverse[(gsize) t * k + g] = cell / MAX (row_sums[g], CL_TINY_VALUE);
      }

  /* compute_py, py_method "cnt": from the unclipped inverse noise matrix */
  double py_sum = 0.;
  for (guint t = 0; t < k; t++)
    {
      double v = 0.;

      for (guint g = 0; g < k; g++)
        v += inverse[(gsize) t * k + g] * ps[g];
      py[t] = CLAMP (v, CL_PY_MIN, 1.0);
    }
  py_sum = MAX (np_sum (py, k), CL_TINY_VALUE);
  for (guint t = 0; t < k; t++)
    py[t] = py[t] * 1.0 / py_sum;

  clip_noise_rates (noise, k);
  clip_noise_rates (inverse, k);

  if (py_out != NULL)
    memcpy (py_out, py, sizeof (double) * k);
  if (noise_out != NULL)
    memcpy (noise_out, noise, sizeof (double) * kk);
  if (inverse_out != NULL)
    memcpy (inverse_out, inverse, sizeof (double) * kk);
}

/* ---- filters ------------------------------------------------------------ */

/* _keep_at_least_n_per_class on the prune-count matrix pcm = joint
 * transposed, pcm[true * k + given]: a diagonal cell under the minimum is
 * raised and the difference taken evenly from the column's nonzero cells,
 * negatives cut to 0. cleanlab then applies _reduce_prune_counts, which with
 * frac_noise = 1.0 changes no value but ends in astype(int): the fractions
 * are truncated, not rounded (the row-preserving rounding after it then has
 * nothing left to do). Only a class whose calibrated diagonal is 0 gets here
 * with anything to change. */
static void
prune_count_matrix (const gint64 *joint,
                    guint         n_classes,
                    gint64        min_per_class,
                    gint64       *pcm)
{
  guint k = n_classes;

  for (guint c = 0; c < k; c++)
    {
      gint64 diag = joint[(gsize) c * k + c];
      gint64 new_diag = MAX (diag, min_per_class);
      guint nonzero = 0;

      for (guint r = 0; r < k; r++)
        if (joint[(gsize) c * k + r] != 0)
          nonzero++;
      double per_cell = (double) (new_diag - diag) / MAX ((double) nonzero - 1.0, 1.0);
      for (guint r = 0; r < k; r++)
        {
          double v = (double) joint[(gsize) c * k + r] - per_cell;

          pcm[(gsize) r * k + c] = r == c ? new_diag : (gint64) MAX (v, 0.0);
        }
    }
}

/* _prune_by_count for given class k: for each true class j, the pcm[j][k]
 * first class-k samples of np.argsort(-(p[j] - p[k])), i.e. the largest
 * margins, exactly that many (equal margins at the cut: the sort decides). */
static void
prune_by_noise_rate (const ClClasses *classes,
                     const double    *pred_probs,
                     const gint64    *pcm,
                     guint            k,
                     gboolean        *mask)
{
  guint n_classes = classes->n_classes;
  const gsize *members = classes->members + classes->offsets[k];
  gsize count = classes->offsets[k + 1] - classes->offsets[k];
  g_autofree double *neg_margins = NULL;
  g_autofree gsize *order = NULL;

  if (classes->counts[k] <= CL_MIN_EXAMPLES_PER_CLASS)
    return;
  neg_margins = g_new (double, count);
  order = g_new (gsize, count);
  for (guint j = 0; j < n_classes; j++)
    {
      gint64 n_prune = pcm[(gsize) j * n_classes + k];

      if (j == k || n_prune <= 0)
        continue;
      for (gsize m = 0; m < count; m++)
        {
          const double *row = pred_probs + members[m] * n_classes;

          neg_margins[m] = -(row[j] - row[k]);
        }
      np_argsort (neg_margins, count, order);
      for (gsize r = 0; r < MIN ((gsize) n_prune, count); r++)
        mask[members[order[r]]] = TRUE;
    }
}

/* _prune_by_class for class k: the (count - pcm[k][k]) class-k samples first
 * in np.argsort(p[k]), the lowest self-confidence. */
static void
prune_by_class (const ClClasses *classes,
                const double    *pred_probs,
                const gint64    *pcm,
                guint            k,
                gboolean        *mask)
{
  guint n_classes = classes->n_classes;
  const gsize *members = classes->members + classes->offsets[k];
  gsize count = classes->offsets[k + 1] - classes->offsets[k];
  g_autofree double *self_confidence = NULL;
  g_autofree gsize *order = NULL;

  if (classes->counts[k] <= CL_MIN_EXAMPLES_PER_CLASS)
    return;
  gint64 n_issues = classes->counts[k] - pcm[(gsize) k * n_classes + k];
  if (n_issues < 1)
    return;
  self_confidence = g_new (double, count);
  order = g_new (gsize, count);
  for (gsize m = 0; m < count; m++)
    self_confidence[m] = pred_probs[members[m] * n_classes + k];
  np_argsort (self_confidence, count, order);
  for (gsize r = 0; r < MIN ((gsize) n_issues, count); r++)
    mask[members[order[r]]] = TRUE;
}

static void
find_label_issues (const gint      *labels,
                   const double    *pred_probs,
                   gsize            n_samples,
                   const ClClasses *classes,
                   CuratorClFilter  filter,
                   gboolean        *is_issue)
{
  guint k = classes->n_classes;
  g_autofree gint64 *joint = g_new (gint64, (gsize) k * k);
  g_autofree gint64 *pcm = NULL;
  g_autofree gboolean *by_class = NULL;

  memset (is_issue, 0, sizeof (gboolean) * n_samples);

  switch (filter)
    {
    case CURATOR_CL_PRUNE_BY_NOISE_RATE:
    case CURATOR_CL_PRUNE_BY_CLASS:
    case CURATOR_CL_BOTH:
      confident_joint (labels, pred_probs, n_samples, classes, NULL, TRUE, joint, NULL);
      pcm = g_new (gint64, (gsize) k * k);
      prune_count_matrix (joint, k, CL_MIN_EXAMPLES_PER_CLASS, pcm);
      if (filter != CURATOR_CL_PRUNE_BY_NOISE_RATE)
        {
          by_class = g_new0 (gboolean, MAX (n_samples, 1));
          for (guint c = 0; c < k; c++)
            prune_by_class (classes, pred_probs, pcm, c, by_class);
        }
      if (filter == CURATOR_CL_PRUNE_BY_CLASS)
        memcpy (is_issue, by_class, sizeof (gboolean) * n_samples);
      else
        {
          for (guint c = 0; c < k; c++)
            prune_by_noise_rate (classes, pred_probs, pcm, c, is_issue);
          if (filter == CURATOR_CL_BOTH)
            for (gsize i = 0; i < n_samples; i++)
              is_issue[i] = is_issue[i] && by_class[i];
        }
      break;

    case CURATOR_CL_CONFIDENT_LEARNING:
      confident_joint (labels, pred_probs, n_samples, classes, NULL, TRUE, joint, is_issue);
      break;

    case CURATOR_CL_PREDICTED_NEQ_GIVEN:
      for (gsize i = 0; i < n_samples; i++)
        is_issue[i] = labels[i] >= 0;
      break;

    default:
      g_assert_not_reached ();
    }

  /* Never flag a sample the model agrees with, nor an unlabelled one. */
  for (gsize i = 0; i < n_samples; i++)
    if (labels[i] < 0
        || (gint) row_argmax (pred_probs + i * k, k) == labels[i])
      is_issue[i] = FALSE;
}

/* cleanlab num_label_issues(), estimation_method "off_diagonal". */
static gsize
num_label_issues (const gint      *labels,
                  const double    *pred_probs,
                  gsize            n_samples,
                  const ClClasses *classes)
{
  guint k = classes->n_classes;
  g_autofree gint64 *joint = g_new (gint64, (gsize) k * k);
  g_autofree gboolean *off_diagonal = g_new (gboolean, MAX (n_samples, 1));
  gsize n_issues = 0;

  confident_joint (labels, pred_probs, n_samples, classes, NULL, FALSE, joint, off_diagonal);
  for (gsize i = 0; i < n_samples; i++)
    if (off_diagonal[i]
        && !given_label_within_reach (pred_probs + i * k, k, labels[i]))
      n_issues++;
  return n_issues;
}

/* ---- label quality ------------------------------------------------------ */

static double
label_quality (const double  *row,
               guint          n_classes,
               guint          label,
               CuratorClRank  method)
{
  double self_confidence = row[label];

  switch (method)
    {
    case CURATOR_CL_RANK_SELF_CONFIDENCE:
      return self_confidence;

    case CURATOR_CL_RANK_NORMALIZED_MARGIN:
      {
        double max_other = -G_MAXDOUBLE;

        for (guint j = 0; j < n_classes; j++)
          if (j != label)
            max_other = MAX (max_other, row[j]);
        return (self_confidence - max_other + 1) / 2;
      }

    case CURATOR_CL_RANK_CONFIDENCE_WEIGHTED_ENTROPY:
      {
        double terms[64];
        g_autofree double *big = NULL;
        double *t = terms;

        if (n_classes > G_N_ELEMENTS (terms))
          t = big = g_new (double, n_classes);
        /* get_normalized_entropy clips at the smallest normal double so
         * log never sees 0 (0 * log(tiny) is 0). */
        for (guint j = 0; j < n_classes; j++)
          t[j] = row[j] * log (MAX (row[j], G_MINDOUBLE));
        double entropy = -np_sum (t, n_classes) / log ((double) n_classes);
        double score = entropy / MAX (self_confidence, CL_CLIPPING_LOWER_BOUND);
        return log (score + 1) / MAX (score, CL_CLIPPING_LOWER_BOUND);
      }

    default:
      g_assert_not_reached ();
    }
  return NAN;
}

static void
fill_label_quality (const gint    *labels,
                    const double  *pred_probs,
                    gsize          n_samples,
                    guint          n_classes,
                    CuratorClRank  method,
                    double        *scores)
{
  for (gsize i = 0; i < n_samples; i++)
    scores[i] = labels[i] < 0
                ? NAN
                : label_quality (pred_probs + i * n_classes, n_classes,
                                 (guint) labels[i], method);
}

/* order_label_issues: the flagged positions ordered by
 * np.argsort(scores of the flagged, in position order). */
static gsize
rank_issues (const gint     *labels,
             const double   *pred_probs,
             gsize           n_samples,
             guint           n_classes,
             const gboolean *is_issue,
             CuratorClRank   method,
             gsize          *order)
{
  g_autofree gsize *positions = NULL;
  g_autofree double *scores = NULL;
  g_autofree gsize *sorted = NULL;
  gsize n_ranked = 0;

  for (gsize i = 0; i < n_samples; i++)
    if (is_issue[i] && labels[i] >= 0)
      n_ranked++;
  positions = g_new (gsize, MAX (n_ranked, 1));
  scores = g_new (double, MAX (n_ranked, 1));
  sorted = g_new (gsize, MAX (n_ranked, 1));
  n_ranked = 0;
  for (gsize i = 0; i < n_samples; i++)
    if (is_issue[i] && labels[i] >= 0)
      {
        scores[n_ranked] = label_quality (pred_probs + i * n_classes, n_classes,
                                          (guint) labels[i], method);
        positions[n_ranked++] = i;
      }
  np_argsort (scores, n_ranked, sorted);
  for (gsize r = 0; r < n_ranked; r++)
    order[r] = positions[sorted[r]];
  return n_ranked;
}

/* ---- public API --------------------------------------------------------- */

static const char *const filter_names[] = {
  [CURATOR_CL_PRUNE_BY_NOISE_RATE] = "prune_by_noise_rate",
  [CURATOR_CL_PRUNE_BY_CLASS] = "prune_by_class",
  [CURATOR_CL_BOTH] = "both",
  [CURATOR_CL_CONFIDENT_LEARNING] = "confident_learning",
  [CURATOR_CL_PREDICTED_NEQ_GIVEN] = "predicted_neq_given",
};

static const char *const rank_names[] = {
  [CURATOR_CL_RANK_SELF_CONFIDENCE] = "self_confidence",
  [CURATOR_CL_RANK_NORMALIZED_MARGIN] = "normalized_margin",
  [CURATOR_CL_RANK_CONFIDENCE_WEIGHTED_ENTROPY] = "confidence_weighted_entropy",
};

const char *
curator_cl_filter_to_string (CuratorClFilter filter)
{
  g_return_val_if_fail ((guint) filter < G_N_ELEMENTS (filter_names), NULL);
  return filter_names[filter];
}

gboolean
curator_cl_filter_from_string (const char      *name,
                               CuratorClFilter *out)
{
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  for (guint f = 0; f < G_N_ELEMENTS (filter_names); f++)
    if (g_str_equal (name, filter_names[f]))
      {
        *out = (CuratorClFilter) f;
        return TRUE;
      }
  return FALSE;
}

const char *
curator_cl_rank_to_string (CuratorClRank method)
{
  g_return_val_if_fail ((guint) method < G_N_ELEMENTS (rank_names), NULL);
  return rank_names[method];
}

gboolean
curator_cl_rank_from_string (const char    *name,
                             CuratorClRank *out)
{
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  for (guint m = 0; m < G_N_ELEMENTS (rank_names); m++)
    if (g_str_equal (name, rank_names[m]))
      {
        *out = (CuratorClRank) m;
        return TRUE;
      }
  return FALSE;
}

gboolean
curator_cl_thresholds (const gint   *labels,
                       const double *pred_probs,
                       gsize         n_samples,
                       guint         n_classes,
                       double       *thresholds)
{
  g_return_val_if_fail (thresholds != NULL, FALSE);
  g_return_val_if_fail (inputs_valid (labels, pred_probs, n_samples, n_classes), FALSE);

  g_autoptr(ClClasses) classes = cl_classes_new (labels, n_samples, n_classes);
  compute_thresholds (classes, pred_probs, thresholds);
  return TRUE;
}

gboolean
curator_cl_confident_joint (const gint   *labels,
                            const double *pred_probs,
                            gsize         n_samples,
                            guint         n_classes,
                            const double *thresholds,
                            gboolean      calibrate,
                            gint64       *joint,
                            gboolean     *off_diagonal)
{
  g_return_val_if_fail (joint != NULL, FALSE);
  g_return_val_if_fail (inputs_valid (labels, pred_probs, n_samples, n_classes), FALSE);

  g_autoptr(ClClasses) classes = cl_classes_new (labels, n_samples, n_classes);
  confident_joint (labels, pred_probs, n_samples, classes, thresholds, calibrate,
                   joint, off_diagonal);
  return TRUE;
}

gboolean
curator_cl_estimate (const gint   *labels,
                     gsize         n_samples,
                     const gint64 *joint,
                     guint         n_classes,
                     double       *py,
                     double       *noise_matrix,
                     double       *inverse_noise_matrix)
{
  g_return_val_if_fail (n_classes >= 2, FALSE);
  g_return_val_if_fail (joint != NULL, FALSE);
  g_return_val_if_fail (n_samples == 0 || labels != NULL, FALSE);
  for (gsize i = 0; i < n_samples; i++)
    g_return_val_if_fail (labels[i] < (gint) n_classes, FALSE);
  for (gsize c = 0; c < (gsize) n_classes * n_classes; c++)
    g_return_val_if_fail (joint[c] >= 0, FALSE);

  g_autoptr(ClClasses) classes = cl_classes_new (labels, n_samples, n_classes);
  estimate_latent (joint, classes, py, noise_matrix, inverse_noise_matrix);
  return TRUE;
}

gsize
curator_cl_num_label_issues (const gint   *labels,
                             const double *pred_probs,
                             gsize         n_samples,
                             guint         n_classes)
{
  g_return_val_if_fail (inputs_valid (labels, pred_probs, n_samples, n_classes), 0);

  g_autoptr(ClClasses) classes = cl_classes_new (labels, n_samples, n_classes);
  return num_label_issues (labels, pred_probs, n_samples, classes);
}

gboolean
curator_cl_find_label_issues (const gint      *labels,
                              const double    *pred_probs,
                              gsize            n_samples,
                              guint            n_classes,
                              CuratorClFilter  filter,
                              gboolean        *is_issue)
{
  g_return_val_if_fail ((guint) filter < G_N_ELEMENTS (filter_names), FALSE);
  g_return_val_if_fail (n_samples == 0 || is_issue != NULL, FALSE);
  g_return_val_if_fail (inputs_valid (labels, pred_probs, n_samples, n_classes), FALSE);

  g_autoptr(ClClasses) classes = cl_classes_new (labels, n_samples, n_classes);
  find_label_issues (labels, pred_probs, n_samples, classes, filter, is_issue);
  return TRUE;
}

gboolean
curator_cl_label_quality (const gint    *labels,
                          const double  *pred_probs,
                          gsize          n_samples,
                          guint          n_classes,
                          CuratorClRank  method,
                          double        *scores)
{
  g_return_val_if_fail ((guint) method < G_N_ELEMENTS (rank_names), FALSE);
  g_return_val_if_fail (n_samples == 0 || scores != NULL, FALSE);
  g_return_val_if_fail (inputs_valid (labels, pred_probs, n_samples, n_classes), FALSE);

  fill_label_quality (labels, pred_probs, n_samples, n_classes, method, scores);
  return TRUE;
}

gsize
curator_cl_rank_issues (const gint     *labels,
                        const double   *pred_probs,
                        gsize           n_samples,
                        guint           n_classes,
                        const gboolean *is_issue,
                        CuratorClRank   method,
                        gsize          *order)
{
  g_return_val_if_fail ((guint) method < G_N_ELEMENTS (rank_names), 0);
  g_return_val_if_fail (n_samples == 0 || (is_issue != NULL && order != NULL), 0);
  g_return_val_if_fail (inputs_valid (labels, pred_probs, n_samples, n_classes), 0);

  return rank_issues (labels, pred_probs, n_samples, n_classes, is_issue, method, order);
}

void
curator_cl_result_free (CuratorClResult *result)
{
  if (result == NULL)
    return;
  g_free (result->thresholds);
  g_free (result->confident_joint);
  g_free (result->py);
  g_free (result->noise_matrix);
  g_free (result->inverse_noise_matrix);
  g_free (result->is_issue);
  g_free (result->label_quality);
  g_free (result->ranked_issues);
  g_free (result);
}

CuratorClResult *
curator_cl_analyze (const gint      *labels,
                    const double    *pred_probs,
                    gsize            n_samples,
                    guint            n_classes,
                    CuratorClFilter  filter,
                    CuratorClRank    method)
{
  g_return_val_if_fail ((guint) filter < G_N_ELEMENTS (filter_names), NULL);
  g_return_val_if_fail ((guint) method < G_N_ELEMENTS (rank_names), NULL);
  g_return_val_if_fail (inputs_valid (labels, pred_probs, n_samples, n_classes), NULL);

  g_autoptr(ClClasses) classes = cl_classes_new (labels, n_samples, n_classes);
  g_autoptr(CuratorClResult) result = g_new0 (CuratorClResult, 1);
  gsize kk = (gsize) n_classes * n_classes;
  g_autofree gsize *order = g_new (gsize, MAX (n_samples, 1));

  result->n_samples = n_samples;
  result->n_classes = n_classes;
  result->n_labelled = classes->n_labelled;

  result->thresholds = g_new (double, n_classes);
  compute_thresholds (classes, pred_probs, result->thresholds);
  result->confident_joint = g_new (gint64, kk);
  confident_joint (labels, pred_probs, n_samples, classes, result->thresholds, TRUE,
                   result->confident_joint, NULL);
  result->py = g_new (double, n_classes);
  result->noise_matrix = g_new (double, kk);
  result->inverse_noise_matrix = g_new (double, kk);
  estimate_latent (result->confident_joint, classes, result->py,
                   result->noise_matrix, result->inverse_noise_matrix);
  result->num_label_issues = num_label_issues (labels, pred_probs, n_samples, classes);

  result->is_issue = g_new0 (gboolean, MAX (n_samples, 1));
  find_label_issues (labels, pred_probs, n_samples, classes, filter, result->is_issue);
  result->label_quality = g_new (double, MAX (n_samples, 1));
  fill_label_quality (labels, pred_probs, n_samples, n_classes, method,
                      result->label_quality);
  result->n_issues = rank_issues (labels, pred_probs, n_samples, n_classes,
                                  result->is_issue, method, order);
  result->ranked_issues = g_new (gsize, MAX (result->n_issues, 1));
  memcpy (result->ranked_issues, order, sizeof (gsize) * result->n_issues);

  return g_steal_pointer (&result);
}

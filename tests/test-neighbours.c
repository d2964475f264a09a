/* test-neighbours.c: the k-NN graph and what is read off it.
 *
 * Facts: the blocked GEMM search finds exactly the neighbours a brute-force
 * scan finds (several tiles, ragged edges), ties go to the lower position,
 * the result does not depend on the number of threads; a planted far point
 * is an outlier and a planted near copy a near duplicate; the label vote is
 * weighted, ignores unlabelled neighbours and never counts the sample; the
 * PCA projection keeps the geometry of data that lives in few directions. */
#include "curator-config.h"

#include <math.h>
#include <string.h>

#include "curator-error.h"
#include "curator-neighbours.h"

static float *
random_rows (GRand *rand, gsize n, gsize d)
{
  float *x = g_new (float, n * d);

  for (gsize i = 0; i < n * d; i++)
    x[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  return x;
}

/* Cosine similarities in double precision, the reference. */
static double
cosine (const float *a, const float *b, gsize d)
{
  double ab = 0, aa = 0, bb = 0;

  for (gsize j = 0; j < d; j++)
    {
      ab += (double) a[j] * b[j];
      aa += (double) a[j] * a[j];
      bb += (double) b[j] * b[j];
    }
  return aa > 0 && bb > 0 ? ab / sqrt (aa * bb) : 0.0;
}

static int
compare_desc (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x < y) - (x > y);
}

static void
check_against_brute_force (gsize n, gsize d, guint k, guint64 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);
  g_autofree float *x = random_rows (rand, n, d);
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorKnn) knn = curator_knn_new (x, n, d, k, 0, NULL, &error);
  g_autofree double *row = g_new (double, n);

  g_assert_no_error (error);
  g_assert_nonnull (knn);
  g_assert_cmpuint (knn->k, ==, MIN (k, n - 1));
  for (gsize i = 0; i < n; i++)
    {
      gsize m = 0;

      for (gsize j = 0; j < n; j++)
        if (j != i)
          row[m++] = cosine (x + i * d, x + j * d, d);
      qsort (row, m, sizeof (double), compare_desc);
      for (guint r = 0; r < knn->k; r++)
        {
          guint32 j = knn->neighbours[i * knn->k + r];
          double truth = cosine (x + i * d, x + (gsize) j * d, d);

          g_assert_cmpuint (j, !=, i);
          g_assert_cmpuint (j, <, n);
          for (guint q = 0; q < r; q++)
            g_assert_cmpuint (knn->neighbours[i * knn->k + q], !=, j);
          /* The r-th best similarity is the brute force's r-th (to float
           * rounding), and the neighbour really has it. */
          g_assert_cmpfloat_with_epsilon (knn->similarities[i * knn->k + r], row[r], 1e-5);
          g_assert_cmpfloat_with_epsilon (knn->similarities[i * knn->k + r], truth, 1e-5);
          if (r > 0)
            g_assert_cmpfloat (knn->similarities[i * knn->k + r], <=, knn->similarities[i * knn->k + r - 1]);
        }
    }
}

static void
test_brute_force_small (void)
{
  check_against_brute_force (50, 7, 10, 1);
  check_against_brute_force (5, 3, 10, 2);   /* fewer samples than k */
}

static void
test_brute_force_tiles (void)
{
  /* More rows than one row block and columns than one tile, neither a
   * multiple: every edge case of the tiling. */
  check_against_brute_force (2600, 12, 10, 3);
}

static void
test_ties_and_self (void)
{
  /* Rows 0-2 point the same way; row 3 is orthogonal to them. */
  const float x[] = { 1, 0,  2, 0,  3, 0,  0, 1 };
  g_autoptr(CuratorKnn) knn = curator_knn_new (x, 4, 2, 3, 1, NULL, NULL);

  g_assert_cmpuint (knn->k, ==, 3);
  /* Row 0: 1 and 2 tie at similarity 1, the lower first; then 3. */
  g_assert_cmpuint (knn->neighbours[0], ==, 1);
  g_assert_cmpuint (knn->neighbours[1], ==, 2);
  g_assert_cmpuint (knn->neighbours[2], ==, 3);
  g_assert_cmpfloat (knn->similarities[0], ==, 1.0f);
  /* Row 3: all tie at 0, in order of position. */
  g_assert_cmpuint (knn->neighbours[9], ==, 0);
  g_assert_cmpuint (knn->neighbours[10], ==, 1);
  g_assert_cmpuint (knn->neighbours[11], ==, 2);
  g_assert_cmpfloat (knn->similarities[9], ==, 0.0f);
}

static void
test_threads_do_not_matter (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);
  gsize n = 1500, d = 20;
  g_autofree float *x = random_rows (rand, n, d);
  g_autoptr(CuratorKnn) one = curator_knn_new (x, n, d, 10, 1, NULL, NULL);
  g_autoptr(CuratorKnn) three = curator_knn_new (x, n, d, 10, 3, NULL, NULL);

  g_assert_cmpmem (one->neighbours, n * 10 * sizeof (guint32), three->neighbours, n * 10 * sizeof (guint32));
  g_assert_cmpmem (one->similarities, n * 10 * sizeof (float), three->similarities, n * 10 * sizeof (float));
}

static void
test_cancelled (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autofree float *x = random_rows (rand, 600, 4);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  CuratorKnn *knn;

  g_cancellable_cancel (cancellable);
  knn = curator_knn_new (x, 600, 4, 10, 0, cancellable, &error);
  g_assert_null (knn);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
}

/* Three tight clusters around orthogonal directions, plus what a test plants. */
static float *
clusters (GRand *rand, gsize n, gsize d, double spread)
{
  float *x = g_new0 (float, n * d);

  for (gsize i = 0; i < n; i++)
    {
      for (gsize j = 0; j < d; j++)
        x[i * d + j] = (float) g_rand_double_range (rand, -spread, spread);
      x[i * d + i % 3] += 1.0f;
    }
  return x;
}

static void
test_outlier (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (6);
  gsize n = 300, d = 8, planted = 123, n_flagged = 0;
  g_autofree float *x = clusters (rand, n, d, 0.15);
  g_autofree double *scores = g_new (double, n);
  g_autoptr(CuratorKnn) knn = NULL;
  double threshold;

  /* A point along a direction no cluster uses. */
  memset (x + planted * d, 0, sizeof (float) * d);
  x[planted * d + 7] = 1.0f;
  knn = curator_knn_new (x, n, d, 10, 0, NULL, NULL);
  threshold = curator_knn_outlier_scores (knn, 1.7, scores);
  g_assert_cmpfloat (scores[planted], >, threshold);
  for (gsize i = 0; i < n; i++)
    {
      n_flagged += scores[i] > threshold;
      if (i != planted)
        g_assert_cmpfloat (scores[i], <, scores[planted]);
    }
  /* The IQR rule leaves the tail of a cluster alone, give or take a few. */
  g_assert_cmpuint (n_flagged, <=, n / 20);
}

static void
test_near_duplicates (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  gsize n = 300, d = 8;
  g_autofree float *x = clusters (rand, n, d, 0.3);
  g_autoptr(CuratorKnn) knn = NULL;
  g_autoptr(GArray) pairs = NULL;
  double threshold = -1;
  gboolean found = FALSE;

  /* Sample 200 is sample 17 with a whisper of noise. */
  for (gsize j = 0; j < d; j++)
    x[200 * d + j] = x[17 * d + j] * 1.0001f + (j == 0 ? 1e-4f : 0.0f);
  knn = curator_knn_new (x, n, d, 10, 0, NULL, NULL);
  pairs = curator_knn_near_duplicates (knn, 0.1, &threshold);
  g_assert_cmpfloat (threshold, >, 0);
  g_assert_cmpuint (pairs->len % 2, ==, 0);
  for (guint p = 0; p < pairs->len; p += 2)
    {
      guint32 a = g_array_index (pairs, guint32, p), b = g_array_index (pairs, guint32, p + 1);

      g_assert_cmpuint (a, <, b);
      if (p > 0)
        g_assert_true (g_array_index (pairs, guint32, p - 2) < a ||
                       (g_array_index (pairs, guint32, p - 2) == a && g_array_index (pairs, guint32, p - 1) < b));
      if (a == 17 && b == 200)
        found = TRUE;
    }
  g_assert_true (found);
  /* Random points in a cluster are not near duplicates of each other. */
  g_assert_cmpuint (pairs->len / 2, <=, 3);
}

static void
test_label_votes (void)
{
  /* 0 and 1 and 2 along x (sim 1 with each other), 3 along y, 4 between. */
  const float x[] = { 1, 0,  1, 0,  1, 0,  0, 1,  1, 1 };
  const gint labels[] = { 0, 1, -1, 1, -1 };
  g_autoptr(CuratorKnn) knn = curator_knn_new (x, 5, 2, 4, 1, NULL, NULL);
  double votes[5 * 2];
  guint voters[5];

  curator_knn_label_votes (knn, labels, NULL, 2, votes, voters);
  /* Sample 0: neighbours 1 (sim 1, label 1), 2 (unlabelled), 4 (sim .71,
   * unlabelled), 3 (sim 0, label 1): only label 1 votes; itself never. */
  g_assert_cmpuint (voters[0], ==, 2);
  g_assert_cmpfloat_with_epsilon (votes[0], 0.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (votes[1], 1.0, 1e-12);
  /* Sample 4: 0 and 1 and 3 at .71 each: 1/3 for class 0, 2/3 for class 1. */
  g_assert_cmpuint (voters[4], ==, 3);
  g_assert_cmpfloat_with_epsilon (votes[8], 1.0 / 3.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (votes[9], 2.0 / 3.0, 1e-6);
  /* Sample 3: 4 (unlabelled, .71), then 0, 1, 2 at similarity 0: the
   * labelled ones count equally since all weights are 0. */
  g_assert_cmpuint (voters[3], ==, 2);
  g_assert_cmpfloat_with_epsilon (votes[6], 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (votes[7], 0.5, 1e-12);

  /* 0 and 1 are copies (one duplicate group): 1 no longer votes on 0, nor
   * 0 on 1; 4, in no group, hears both. */
  {
    const guint groups[] = { 1, 1, 0, 0, 0 };

    curator_knn_label_votes (knn, labels, groups, 2, votes, voters);
    g_assert_cmpuint (voters[0], ==, 1);
    g_assert_cmpfloat_with_epsilon (votes[1], 1.0, 1e-12);   /* 3 alone, at weight 0 */
    g_assert_cmpuint (voters[1], ==, 1);
    g_assert_cmpfloat_with_epsilon (votes[3], 1.0, 1e-12);
    g_assert_cmpuint (voters[4], ==, 3);
    g_assert_cmpfloat_with_epsilon (votes[8], 1.0 / 3.0, 1e-6);
  }
}

static void
test_pca_keeps_geometry (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (8);
  gsize n = 400, d = 60, r = 3;
  g_autofree float *basis = random_rows (rand, r, d);
  g_autofree float *x = g_new (float, n * d);
  g_autofree float *y = NULL;
  g_autoptr(GError) error = NULL;
  double worst = 0;

  /* Rows in a 3-dimensional subspace, offset from the origin, plus a little
   * noise in every direction. */
  for (gsize i = 0; i < n; i++)
    {
      double c[3];

      for (gsize q = 0; q < r; q++)
        c[q] = g_rand_double_range (rand, -3, 3);
      for (gsize j = 0; j < d; j++)
        {
          double v = 5.0 + g_rand_double_range (rand, -0.001, 0.001);

          for (gsize q = 0; q < r; q++)
            v += c[q] * basis[q * d + j];
          x[i * d + j] = (float) v;
        }
    }
  y = curator_pca_project (x, n, d, r, FALSE, 0.0, 1, NULL, &error);
  g_assert_no_error (error);
  for (gsize a = 0; a < n; a += 7)
    for (gsize b = a + 1; b < n; b += 13)
      {
        double dx = 0, dy = 0;

        for (gsize j = 0; j < d; j++)
          dx += pow ((double) x[a * d + j] - x[b * d + j], 2);
        for (gsize q = 0; q < r; q++)
          dy += pow ((double) y[a * r + q] - y[b * r + q], 2);
        worst = MAX (worst, fabs (sqrt (dx) - sqrt (dy)));
      }
  g_assert_cmpfloat (worst, <, 0.05);

  /* Projected rows are centred. */
  for (gsize q = 0; q < r; q++)
    {
      double mean = 0;

      for (gsize i = 0; i < n; i++)
        mean += y[i * r + q];
      g_assert_cmpfloat (fabs (mean / n), <, 0.05);
    }
}

static void
test_pca_deterministic (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  gsize n = 300, d = 40;
  g_autofree float *x = random_rows (rand, n, d);
  g_autofree float *a = curator_pca_project (x, n, d, 10, TRUE, 0.5, 5, NULL, NULL);
  g_autofree float *b = curator_pca_project (x, n, d, 10, TRUE, 0.5, 5, NULL, NULL);
  g_autofree float *all = curator_pca_project (x, n, d, 100, FALSE, 0.5, 5, NULL, NULL);

  g_assert_cmpmem (a, n * 10 * sizeof (float), b, n * 10 * sizeof (float));
  /* Asking for as many directions as there are only centres. */
  for (gsize j = 0; j < d; j++)
    {
      double mean = 0;
      for (gsize i = 0; i < n; i++)
        mean += x[i * d + j];
      mean /= n;
      g_assert_cmpfloat_with_epsilon (all[5 * d + j], x[5 * d + j] - mean, 1e-5);
    }
}

static void
test_pca_whitens (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (10);
  gsize n = 2000, d = 30, r = 4;
  g_autofree float *x = g_new (float, n * d);
  g_autofree float *y = NULL;
  double cov[4][4] = { { 0 } }, variance[4] = { 0 };
  g_autofree float *plain = NULL;

  /* Four directions (the first four axes) of very different spread. */
  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < d; j++)
      x[i * d + j] = (float) (g_rand_double_range (rand, -1, 1) * (j < r ? 10.0 / (j + 1) : 0.01));
  y = curator_pca_project (x, n, d, r, FALSE, 1.0, 3, NULL, NULL);
  for (gsize i = 0; i < n; i++)
    for (gsize a = 0; a < r; a++)
      for (gsize b = 0; b < r; b++)
        cov[a][b] += (double) y[i * r + a] * y[i * r + b] / n;
  /* Fully whitened: unit variance, uncorrelated. */
  for (gsize a = 0; a < r; a++)
    for (gsize b = 0; b < r; b++)
      g_assert_cmpfloat (fabs (cov[a][b] - (a == b ? 1.0 : 0.0)), <, 0.05);

  /* Unwhitened, the components come largest variance first. */
  plain = curator_pca_project (x, n, d, r, FALSE, 0.0, 3, NULL, NULL);
  for (gsize i = 0; i < n; i++)
    for (gsize a = 0; a < r; a++)
      variance[a] += (double) plain[i * r + a] * plain[i * r + a] / n;
  for (gsize a = 1; a < r; a++)
    g_assert_cmpfloat (variance[a], <, variance[a - 1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/neighbours/brute-force/small", test_brute_force_small);
  g_test_add_func ("/neighbours/brute-force/tiles", test_brute_force_tiles);
  g_test_add_func ("/neighbours/ties-and-self", test_ties_and_self);
  g_test_add_func ("/neighbours/threads-do-not-matter", test_threads_do_not_matter);
  g_test_add_func ("/neighbours/cancelled", test_cancelled);
  g_test_add_func ("/neighbours/outlier", test_outlier);
  g_test_add_func ("/neighbours/near-duplicates", test_near_duplicates);
  g_test_add_func ("/neighbours/label-votes", test_label_votes);
  g_test_add_func ("/neighbours/pca/keeps-geometry", test_pca_keeps_geometry);
  g_test_add_func ("/neighbours/pca/deterministic", test_pca_deterministic);
  g_test_add_func ("/neighbours/pca/whitens", test_pca_whitens);
  return g_test_run ();
}

/* test-features.c: the patch network and its building blocks.
 *
 * Each numeric piece is checked against a fact that does not depend on our
 * code: eigenpairs satisfy A v = lambda v, ZCA-whitened data has identity
 * covariance, k-means finds the centres of well separated blobs, a pooled
 * activation equals the paper's formula computed here in double. The model
 * as a whole: same seed gives the same bytes (also with another number of
 * threads), a serialised model gives the same features, flipping equals
 * extracting from mirrored pixels, and cancelling stops with
 * CURATOR_ERROR_CANCELLED. All fixtures are generated here. */
#include "curator-config.h"

#include "curator-features.h"

#include <math.h>
#include <string.h>

#include "curator-error.h"

/* ---- fixtures --------------------------------------------------------------- */

/* Smooth colour gradients with a few blobs and some noise: images with the
 * local structure patches are about, different per seed. */
static guint8 *
make_image (int side, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  guint8 *pixels = g_new (guint8, (gsize) side * side * 3);
  double base[3], gx[3], gy[3], cx, cy, r, blob[3];

  for (int c = 0; c < 3; c++)
    {
      base[c] = g_rand_double_range (rand, 40, 200);
      gx[c] = g_rand_double_range (rand, -3, 3);
      gy[c] = g_rand_double_range (rand, -3, 3);
      blob[c] = g_rand_double_range (rand, -80, 80);
    }
  cx = g_rand_double_range (rand, 0, side);
  cy = g_rand_double_range (rand, 0, side);
  r = g_rand_double_range (rand, 2, side / 3.0);
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      for (int c = 0; c < 3; c++)
        {
          double v = base[c] + gx[c] * (x - side / 2.0) + gy[c] * (y - side / 2.0)
                     + g_rand_double_range (rand, -12, 12);
          if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r)
            v += blob[c];
          pixels[((gsize) y * side + x) * 3 + c] = (guint8) CLAMP (lround (v), 0, 255);
        }
  g_rand_free (rand);
  return pixels;
}

typedef struct {
  guint8 **pixels;
  gsize    n;
} Images;

static Images *
images_new (gsize n, int side, guint32 seed)
{
  Images *im = g_new0 (Images, 1);

  im->n = n;
  im->pixels = g_new0 (guint8 *, n);
  for (gsize i = 0; i < n; i++)
    im->pixels[i] = make_image (side, seed + (guint32) i);
  return im;
}

static void
images_free (Images *im)
{
  for (gsize i = 0; i < im->n; i++)
    g_free (im->pixels[i]);
  g_free (im->pixels);
  g_free (im);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Images, images_free)

static const guint8 *const *
images_view (const Images *im)
{
  return (const guint8 *const *) im->pixels;
}

static void
small_params (CuratorPatchParams *p)
{
  curator_patch_params_init_default (p);
  p->n_centroids = 24;
  p->n_train_patches = 6000;
  p->kmeans_iterations = 6;
  p->seed = 7;
}

/* ---- eigen, ZCA, k-means -------------------------------------------------------- */

static void
test_eigen_pairs (void)
{
  const int n = 24;
  GRand *rand = g_rand_new_with_seed (3);
  g_autofree double *a = g_new (double, n * n);
  g_autofree double *copy = NULL;
  g_autofree double *lambda = g_new (double, n);
  g_autofree double *v = g_new (double, n * n);

  for (int i = 0; i < n; i++)
    for (int j = i; j < n; j++)
      a[i * n + j] = a[j * n + i] = g_rand_double_range (rand, -1, 1);
  g_rand_free (rand);
  copy = g_memdup2 (a, sizeof (double) * n * n);

  curator_symmetric_eigen (a, n, lambda, v);

  for (int j = 0; j < n; j++)
    {
      if (j > 0)
        g_assert_cmpfloat (lambda[j - 1], >=, lambda[j]);
      for (int i = 0; i < n; i++)   /* (A v)_i = lambda v_i */
        {
          double av = 0.0;
          for (int k = 0; k < n; k++)
            av += copy[i * n + k] * v[k * n + j];
          g_assert_cmpfloat_with_epsilon (av, lambda[j] * v[i * n + j], 1e-9);
        }
      for (int l = 0; l < n; l++)   /* orthonormal columns */
        {
          double dot = 0.0;
          for (int k = 0; k < n; k++)
            dot += v[k * n + j] * v[k * n + l];
          g_assert_cmpfloat_with_epsilon (dot, j == l ? 1.0 : 0.0, 1e-9);
        }
    }
}

static void
test_zca_whitens (void)
{
  const int dim = 6;
  const gsize n = 20000;
  /* A mixing matrix with very different scales: strongly correlated data. */
  static const double mix[6][6] = {
    { 5.0, 0.0, 0.0, 0.0, 0.0, 0.0 },
    { 4.0, 1.0, 0.0, 0.0, 0.0, 0.0 },
    { 3.0, 0.5, 0.2, 0.0, 0.0, 0.0 },
    { -2.0, 1.0, 0.3, 2.0, 0.0, 0.0 },
    { 0.0, 0.0, 0.0, 0.0, 0.05, 0.0 },
    { 1.0, 1.0, 1.0, 1.0, 1.0, 1.0 },
  };
  static const double offset[6] = { 10, -3, 0.5, 100, 0, 7 };
  GRand *rand = g_rand_new_with_seed (11);
  g_autofree float *x = g_new (float, n * dim);
  g_autofree float *mean = g_new (float, dim);
  g_autofree float *zca = g_new (float, dim * dim);
  g_autofree double *w = g_new (double, n * dim);
  double cov[6][6] = { { 0 } };

  for (gsize i = 0; i < n; i++)
    {
      double z[6];
      for (int k = 0; k < dim; k++)   /* unit-variance, zero-mean sources */
        z[k] = g_rand_double_range (rand, -sqrt (3.0), sqrt (3.0));
      for (int r = 0; r < dim; r++)
        {
          double s = offset[r];
          for (int k = 0; k < dim; k++)
            s += mix[r][k] * z[k];
          x[i * dim + r] = (float) s;
        }
    }
  g_rand_free (rand);

  curator_zca_fit (x, n, dim, 1e-7, mean, zca);

  for (int j = 0; j < dim; j++)
    g_assert_cmpfloat_with_epsilon (mean[j], offset[j], 0.15);
  for (int i = 0; i < dim; i++)   /* ZCA is symmetric */
    for (int j = 0; j < dim; j++)
      g_assert_cmpfloat (zca[i * dim + j], ==, zca[j * dim + i]);
  for (gsize i = 0; i < n; i++)
    for (int c = 0; c < dim; c++)
      {
        double s = 0.0;
        for (int k = 0; k < dim; k++)
          s += ((double) x[i * dim + k] - mean[k]) * zca[k * dim + c];
        w[i * dim + c] = s;
      }
  for (gsize i = 0; i < n; i++)
    for (int a = 0; a < dim; a++)
      for (int b = 0; b < dim; b++)
        cov[a][b] += w[i * dim + a] * w[i * dim + b] / (double) (n - 1);
  for (int a = 0; a < dim; a++)
    for (int b = 0; b < dim; b++)
      g_assert_cmpfloat_with_epsilon (cov[a][b], a == b ? 1.0 : 0.0, 0.01);
}

static void
test_kmeans_blobs (void)
{
  const int dim = 8, k = 6;
  const gsize per_blob = 300, n = per_blob * 6;
  GRand *rand = g_rand_new_with_seed (5);
  g_autofree float *centres = g_new (float, k * dim);
  g_autofree float *x = g_new (float, n * dim);
  g_autofree float *found = g_new (float, k * dim);
  g_autofree int *assignment = g_new (int, n);
  g_autoptr(GError) error = NULL;

  for (int c = 0; c < k; c++)
    for (int j = 0; j < dim; j++)
      centres[c * dim + j] = (float) g_rand_double_range (rand, -20, 20);
  /* Blobs interleaved in the input so that order says nothing. */
  for (gsize i = 0; i < n; i++)
    for (int j = 0; j < dim; j++)
      x[i * dim + j] = centres[(i % k) * dim + j] + (float) g_rand_double_range (rand, -0.5, 0.5);
  g_rand_free (rand);

  g_assert_true (curator_kmeans (x, n, dim, k, 20, 99, found, assignment, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  /* Every true centre has a found centroid within noise / sqrt (300), and
   * every point of a blob shares that centroid. */
  for (int c = 0; c < k; c++)
    {
      int best = -1;
      double best_d = G_MAXDOUBLE;
      for (int f = 0; f < k; f++)
        {
          double d = 0.0;
          for (int j = 0; j < dim; j++)
            d += pow (found[f * dim + j] - centres[c * dim + j], 2);
          if (d < best_d)
            {
              best_d = d;
              best = f;
            }
        }
      g_assert_cmpfloat (sqrt (best_d), <, 0.1);
      for (gsize i = c; i < n; i += k)
        g_assert_cmpint (assignment[i], ==, best);
    }
}

/* Fewer distinct points than clusters: the seeding must still give k
 * centres, and the result stays deterministic. */
static void
test_kmeans_degenerate (void)
{
  const int dim = 3, k = 4;
  const gsize n = 40;
  g_autofree float *x = g_new0 (float, n * dim);
  g_autofree float *a = g_new (float, k * dim);
  g_autofree float *b = g_new (float, k * dim);
  g_autofree int *assignment = g_new (int, n);

  for (gsize i = 0; i < n; i++)
    x[i * dim] = (i % 2) ? 1.0f : -1.0f;   /* two distinct points */
  g_assert_true (curator_kmeans (x, n, dim, k, 10, 1, a, assignment, NULL, NULL, NULL, NULL));
  g_assert_true (curator_kmeans (x, n, dim, k, 10, 1, b, NULL, NULL, NULL, NULL, NULL));
  g_assert_cmpmem (a, sizeof (float) * k * dim, b, sizeof (float) * k * dim);
  for (gsize i = 2; i < n; i++)   /* equal points, equal clusters */
    g_assert_cmpint (assignment[i], ==, assignment[i % 2]);
  g_assert_cmpint (assignment[0], !=, assignment[1]);
}

/* ---- one pooled value by hand ----------------------------------------------------- */

static void
test_pooled_value (void)
{
  const int side = 8, patch = 6, dim = patch * patch * 3, k = 2;
  CuratorPatchParams p;
  GRand *rand = g_rand_new_with_seed (21);
  g_autofree guint8 *image = make_image (side, 4);
  g_autofree float *mean = g_new (float, dim);
  g_autofree float *zca = g_new0 (float, dim * dim);
  g_autofree float *centroids = g_new (float, k * dim);
  g_autoptr(CuratorPatchModel) model = NULL;
  g_autoptr(CuratorPatchModel) model_sqrt = NULL;
  g_autofree float *out = NULL;
  g_autofree float *out_sqrt = NULL;
  const guint8 *images[1] = { image };
  g_autoptr(GError) error = NULL;
  double expected[4][2] = { { 0 } };

  curator_patch_params_init_default (&p);
  p.side = side;
  p.patch = patch;
  p.n_centroids = k;
  p.pool = 2;               /* 3 positions per axis: bands {0, 1} and {2} */
  p.sqrt_norm = FALSE;
  p.n_train_patches = k;
  for (int j = 0; j < dim; j++)
    {
      mean[j] = (float) g_rand_double_range (rand, -0.2, 0.2);
      zca[j * dim + j] = 0.8f;
      centroids[j] = (float) g_rand_double_range (rand, -1, 1);
      centroids[dim + j] = (float) g_rand_double_range (rand, -1, 1);
    }
  for (int j = 0; j + 1 < dim; j++)   /* a symmetric, non-diagonal whitening */
    zca[j * dim + j + 1] = zca[(j + 1) * dim + j] = 0.1f;
  g_rand_free (rand);

  model = curator_patch_model_new (&p, mean, zca, centroids, &error);
  g_assert_no_error (error);
  g_assert_cmpint (curator_patch_model_get_dim (model), ==, 8);
  out = g_new (float, 8);
  g_assert_true (curator_patch_model_extract (model, images, 1, FALSE, out, NULL,
                                              NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  /* The paper's formula in double, patch by patch. */
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 3; x++)
      {
        double v[108], nv[108], w[108], s = 0.0, s2 = 0.0, var, z[2], mu;
        int cell = (y < 2 ? 0 : 2) + (x < 2 ? 0 : 1);

        for (int dy = 0; dy < patch; dy++)
          for (int dx = 0; dx < patch; dx++)
            for (int c = 0; c < 3; c++)
              v[(dy * patch + dx) * 3 + c] = image[((y + dy) * side + x + dx) * 3 + c];
        for (int j = 0; j < dim; j++)
          s += v[j];
        for (int j = 0; j < dim; j++)
          s2 += (v[j] - s / dim) * (v[j] - s / dim);
        var = s2 / (dim - 1);
        for (int j = 0; j < dim; j++)
          nv[j] = (v[j] - s / dim) / sqrt (var + 10.0) - mean[j];
        for (int c = 0; c < dim; c++)
          {
            w[c] = 0.0;
            for (int j = 0; j < dim; j++)
              w[c] += nv[j] * zca[j * dim + c];
          }
        for (int kk = 0; kk < k; kk++)
          {
            double d = 0.0;
            for (int j = 0; j < dim; j++)
              d += pow (w[j] - centroids[kk * dim + j], 2);
            z[kk] = sqrt (d);
          }
        mu = (z[0] + z[1]) / 2.0;
        for (int kk = 0; kk < k; kk++)
          expected[cell][kk] += MAX (0.0, mu - z[kk]);
      }

  for (int cell = 0; cell < 4; cell++)
    for (int kk = 0; kk < k; kk++)
      g_assert_cmpfloat_with_epsilon (out[cell * k + kk], expected[cell][kk],
                                      1e-4 * MAX (1.0, expected[cell][kk]));
  /* Something was actually activated. */
  g_assert_cmpfloat (expected[0][0] + expected[0][1], >, 0.1);

  p.sqrt_norm = TRUE;
  model_sqrt = curator_patch_model_new (&p, mean, zca, centroids, &error);
  g_assert_no_error (error);
  out_sqrt = g_new (float, 8);
  g_assert_true (curator_patch_model_extract (model_sqrt, images, 1, FALSE, out_sqrt, NULL,
                                              NULL, NULL, NULL, &error));
  for (int j = 0; j < 8; j++)
    g_assert_cmpfloat_with_epsilon (out_sqrt[j], sqrt (out[j]), 1e-6);
}

/* ---- the trained model ------------------------------------------------------------ */

static void
test_deterministic (void)
{
  CuratorPatchParams p;
  g_autoptr(Images) im = images_new (60, 32, 100);
  g_autoptr(CuratorPatchModel) a = NULL;
  g_autoptr(CuratorPatchModel) b = NULL;
  g_autoptr(CuratorPatchModel) c = NULL;
  g_autoptr(GBytes) ba = NULL;
  g_autoptr(GBytes) bb = NULL;
  g_autoptr(GBytes) bc = NULL;
  g_autofree float *fa = NULL;
  g_autofree float *fb = NULL;
  g_autofree char *key_a = NULL;
  g_autofree char *key_c = NULL;
  g_autoptr(GError) error = NULL;
  int dim;
  gsize n_feat;

  small_params (&p);
  p.n_threads = 2;
  a = curator_patch_model_train (&p, images_view (im), im->n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  p.n_threads = 1;
  b = curator_patch_model_train (&p, images_view (im), im->n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  ba = curator_patch_model_serialize (a);
  bb = curator_patch_model_serialize (b);
  g_assert_true (g_bytes_equal (ba, bb));

  dim = curator_patch_model_get_dim (a);
  g_assert_cmpint (dim, ==, 24 * 9);
  n_feat = im->n * dim;
  fa = g_new (float, n_feat);
  fb = g_new (float, n_feat);
  g_assert_true (curator_patch_model_extract (a, images_view (im), im->n, FALSE, fa, NULL,
                                              NULL, NULL, NULL, &error));
  g_assert_true (curator_patch_model_extract (b, images_view (im), im->n, FALSE, fb, NULL,
                                              NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (fa, n_feat * sizeof (float), fb, n_feat * sizeof (float));
  for (gsize i = 0; i < n_feat; i++)
    g_assert_true (isfinite (fa[i]) && fa[i] >= 0.0f);

  /* Another seed, another dictionary and another key. */
  p.seed = 8;
  c = curator_patch_model_train (&p, images_view (im), im->n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  bc = curator_patch_model_serialize (c);
  g_assert_false (g_bytes_equal (ba, bc));
  key_a = curator_patch_model_dup_key (a);
  key_c = curator_patch_model_dup_key (c);
  g_assert_cmpstr (key_a, !=, key_c);
}

static void
test_serialize_round_trip (void)
{
  CuratorPatchParams p;
  g_autoptr(Images) im = images_new (20, 32, 300);
  g_autoptr(CuratorPatchModel) model = NULL;
  g_autoptr(CuratorPatchModel) back = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) again = NULL;
  g_autoptr(GBytes) damaged = NULL;
  g_autoptr(GBytes) truncated = NULL;
  g_autofree guint8 *copy = NULL;
  g_autofree float *fa = NULL;
  g_autofree float *fb = NULL;
  g_autofree char *key = NULL;
  g_autofree char *key_back = NULL;
  g_autoptr(GError) error = NULL;
  gsize n_bytes, n_feat;

  small_params (&p);
  p.pool = 2;
  p.sqrt_norm = FALSE;
  model = curator_patch_model_train (&p, images_view (im), im->n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  bytes = curator_patch_model_serialize (model);
  back = curator_patch_model_deserialize (bytes, &error);
  g_assert_no_error (error);
  again = curator_patch_model_serialize (back);
  g_assert_true (g_bytes_equal (bytes, again));

  key = curator_patch_model_dup_key (model);
  key_back = curator_patch_model_dup_key (back);
  g_assert_cmpstr (key, ==, key_back);
  g_assert_true (g_str_has_prefix (key, "coates-v1;side=32;patch=6;k=24;pool=2;sqrt=0;"));
  g_assert_nonnull (strstr (key, ";model="));

  n_feat = im->n * curator_patch_model_get_dim (model);
  fa = g_new (float, n_feat);
  fb = g_new (float, n_feat);
  g_assert_true (curator_patch_model_extract (model, images_view (im), im->n, FALSE, fa, NULL,
                                              NULL, NULL, NULL, &error));
  g_assert_true (curator_patch_model_extract (back, images_view (im), im->n, FALSE, fb, NULL,
                                              NULL, NULL, NULL, &error));
  g_assert_cmpmem (fa, n_feat * sizeof (float), fb, n_feat * sizeof (float));

  /* One flipped bit in a centroid, or a missing tail, is refused. */
  copy = g_bytes_unref_to_data (g_bytes_ref (bytes), &n_bytes);
  copy[n_bytes - 100] ^= 0x10;
  damaged = g_bytes_new (copy, n_bytes);
  g_assert_null (curator_patch_model_deserialize (damaged, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  truncated = g_bytes_new_from_bytes (bytes, 0, n_bytes - 4);
  g_assert_null (curator_patch_model_deserialize (truncated, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
}

static void
test_flip_is_mirror (void)
{
  CuratorPatchParams p;
  g_autoptr(Images) im = images_new (12, 32, 500);
  g_autoptr(Images) mirrored = images_new (12, 32, 500);
  g_autoptr(CuratorPatchModel) model = NULL;
  g_autofree float *flipped = NULL;
  g_autofree float *direct = NULL;
  g_autofree float *plain = NULL;
  g_autoptr(GError) error = NULL;
  gsize n_feat;

  for (gsize i = 0; i < im->n; i++)
    for (int y = 0; y < 32; y++)
      for (int x = 0; x < 32; x++)
        memcpy (mirrored->pixels[i] + (y * 32 + 31 - x) * 3, im->pixels[i] + (y * 32 + x) * 3, 3);

  small_params (&p);
  model = curator_patch_model_train (&p, images_view (im), im->n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  n_feat = im->n * curator_patch_model_get_dim (model);
  flipped = g_new (float, n_feat);
  direct = g_new (float, n_feat);
  plain = g_new (float, n_feat);
  g_assert_true (curator_patch_model_extract (model, images_view (im), im->n, TRUE, flipped,
                                              NULL, NULL, NULL, NULL, &error));
  g_assert_true (curator_patch_model_extract (model, images_view (mirrored), im->n, FALSE,
                                              direct, NULL, NULL, NULL, NULL, &error));
  g_assert_true (curator_patch_model_extract (model, images_view (im), im->n, FALSE, plain,
                                              NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (flipped, n_feat * sizeof (float), direct, n_feat * sizeof (float));
  g_assert_true (memcmp (flipped, plain, n_feat * sizeof (float)) != 0);
}

typedef struct {
  GCancellable *cancellable;
  int           calls;
  double        last;
} ProgressLog;

static void
cancel_on_first_progress (double fraction, const char *message, gpointer user_data)
{
  ProgressLog *log = user_data;

  log->calls++;
  log->last = fraction;
  g_cancellable_cancel (log->cancellable);
}

static void
count_progress (double fraction, const char *message, gpointer user_data)
{
  ProgressLog *log = user_data;

  g_assert_cmpfloat (fraction, >=, log->last);
  g_assert_cmpfloat (fraction, <=, 1.0);
  log->calls++;
  log->last = fraction;
}

static void
test_cancel (void)
{
  CuratorPatchParams p;
  g_autoptr(Images) im = images_new (200, 32, 700);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(CuratorPatchModel) model = NULL;
  g_autoptr(CuratorPatchModel) refused = NULL;
  g_autofree float *out = NULL;
  g_autofree float *hog = NULL;
  g_autoptr(GError) error = NULL;
  ProgressLog log = { cancellable, 0, 0.0 };
  ProgressLog counted = { NULL, 0, 0.0 };

  small_params (&p);
  p.n_threads = 2;
  model = curator_patch_model_train (&p, images_view (im), im->n, NULL, count_progress,
                                     &counted, &error);
  g_assert_no_error (error);
  g_assert_cmpint (counted.calls, >, 0);
  out = g_new (float, im->n * curator_patch_model_get_dim (model));

  /* Cancelled from the progress callback: the batches still queued are not
   * run. */
  g_assert_false (curator_patch_model_extract (model, images_view (im), im->n, FALSE, out,
                                               NULL, cancellable, cancel_on_first_progress,
                                               &log, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
  g_assert_cmpint (log.calls, >=, 1);
  g_clear_error (&error);

  /* Already cancelled: training and both extractors stop at once. */
  refused = curator_patch_model_train (&p, images_view (im), im->n, cancellable, NULL, NULL,
                                       &error);
  g_assert_null (refused);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (curator_patch_model_extract (model, images_view (im), im->n, TRUE, out,
                                               NULL, cancellable, NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
  g_clear_error (&error);
  hog = g_new (float, im->n * CURATOR_COLOR_HOG_DIM);
  g_assert_false (curator_color_hog_extract (images_view (im), im->n, 32, FALSE, hog,
                                             cancellable, NULL, NULL, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED);
}

static void
test_params (void)
{
  CuratorPatchParams p, q;
  g_autofree char *key_p = NULL;
  g_autofree char *key_q = NULL;
  g_autoptr(GError) error = NULL;

  curator_patch_params_init_default (&p);
  g_assert_true (curator_patch_params_validate (&p, &error));
  g_assert_no_error (error);
  key_p = curator_patch_params_dup_key (&p);
  g_assert_cmpstr (key_p, ==, "coates-v1;side=32;patch=6;k=400;pool=3;sqrt=1;ceps=10;zeps=0.1;"
                              "ntrain=400000;iters=10;seed=1");
  q = p;
  q.n_threads = 1;   /* not part of the key */
  key_q = curator_patch_params_dup_key (&q);
  g_assert_cmpstr (key_p, ==, key_q);

  q = p;
  q.pool = 27;   /* one cell per patch position is the most there is */
  g_assert_true (curator_patch_params_validate (&q, NULL));
  q.pool = 28;
  g_assert_false (curator_patch_params_validate (&q, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  q = p;
  q.side = 5;
  g_assert_false (curator_patch_params_validate (&q, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_clear_error (&error);
  q = p;
  q.n_train_patches = 10;
  g_assert_false (curator_patch_params_validate (&q, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
}

/* 64-pixel images: another number of positions per batch and pooling
 * bands of unequal width (59 positions in 3 bands). */
static void
test_side_64 (void)
{
  CuratorPatchParams p;
  g_autoptr(Images) im = images_new (8, 64, 900);
  g_autoptr(CuratorPatchModel) model = NULL;
  g_autofree float *out = NULL;
  g_autoptr(GError) error = NULL;
  int dim;

  small_params (&p);
  p.side = 64;
  model = curator_patch_model_train (&p, images_view (im), im->n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  dim = curator_patch_model_get_dim (model);
  out = g_new (float, im->n * dim);
  g_assert_true (curator_patch_model_extract (model, images_view (im), im->n, FALSE, out,
                                              NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  /* Each cell pooled something in every image. */
  for (gsize i = 0; i < im->n; i++)
    for (int cell = 0; cell < 9; cell++)
      {
        double s = 0.0;
        for (int k = 0; k < p.n_centroids; k++)
          s += out[i * dim + cell * p.n_centroids + k];
        g_assert_cmpfloat (s, >, 0.0);
      }
}

/* ---- colour + gradient histogram ---------------------------------------------------- */

static void
test_color_hog (void)
{
  const int side = 16;
  g_autofree guint8 *flat = g_new (guint8, side * side * 3);
  g_autofree guint8 *edge = g_new (guint8, side * side * 3);
  g_autofree guint8 *textured = make_image (side, 42);
  g_autofree guint8 *mirrored = g_new (guint8, side * side * 3);
  const guint8 *images[4];
  float out[4][CURATOR_COLOR_HOG_DIM], flipped[4][CURATOR_COLOR_HOG_DIM];
  g_autoptr(GError) error = NULL;
  double sum2;

  for (int i = 0; i < side * side; i++)
    {
      int x = i % side;
      flat[i * 3] = 200, flat[i * 3 + 1] = 10, flat[i * 3 + 2] = 100;
      /* Dark left half, light right half: one vertical edge. */
      memset (edge + i * 3, x < side / 2 ? 20 : 220, 3);
    }
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      memcpy (mirrored + (y * side + side - 1 - x) * 3, textured + (y * side + x) * 3, 3);
  images[0] = flat;
  images[1] = edge;
  images[2] = textured;
  images[3] = mirrored;

  g_assert_true (curator_color_hog_extract (images, 4, side, FALSE, &out[0][0], NULL, NULL,
                                            NULL, &error));
  g_assert_no_error (error);

  /* Flat colour: one colour bin holds everything, no gradient at all. */
  g_assert_cmpfloat (out[0][(200 >> 6) * 16 + (10 >> 6) * 4 + (100 >> 6)], ==, 1.0f);
  for (int j = 64; j < CURATOR_COLOR_HOG_DIM; j++)
    g_assert_cmpfloat (out[0][j], ==, 0.0f);

  /* A vertical edge has horizontal gradients: orientation 0, split evenly
   * between the bins centred at 10 and 170 degrees, in the two middle cell
   * columns only. */
  for (int cy = 0; cy < 4; cy++)
    for (int cx = 0; cx < 4; cx++)
      for (int b = 0; b < 9; b++)
        {
          float v = out[1][64 + (cy * 4 + cx) * 9 + b];
          if ((cx == 1 || cx == 2) && (b == 0 || b == 8))
            g_assert_cmpfloat (v, >, 0.1f);
          else
            g_assert_cmpfloat (v, ==, 0.0f);
        }

  /* Histograms are unit vectors after the square root / normalisation. */
  for (int i = 1; i < 4; i++)
    {
      sum2 = 0.0;
      for (int j = 0; j < 64; j++)
        sum2 += out[i][j] * out[i][j];
      g_assert_cmpfloat_with_epsilon (sum2, 1.0, 1e-5);
      sum2 = 0.0;
      for (int j = 64; j < CURATOR_COLOR_HOG_DIM; j++)
        sum2 += out[i][j] * out[i][j];
      g_assert_cmpfloat_with_epsilon (sum2, 1.0, 1e-5);
    }

  /* Flip = mirrored pixels. */
  g_assert_true (curator_color_hog_extract (images, 4, side, TRUE, &flipped[0][0], NULL, NULL,
                                            NULL, &error));
  g_assert_cmpmem (flipped[2], sizeof flipped[2], out[3], sizeof out[3]);
  g_assert_cmpmem (flipped[3], sizeof flipped[3], out[2], sizeof out[2]);
}

static void
test_blas_advice (void)
{
  const char *saved = g_getenv ("OPENBLAS_CORETYPE");
  g_autofree char *saved_copy = g_strdup (saved);

  g_assert_nonnull (curator_blas_get_corename ());
  /* Once the user has chosen, we have nothing to suggest. */
  g_setenv ("OPENBLAS_CORETYPE", "Haswell", TRUE);
  g_assert_null (curator_blas_suggest_coretype ());
  if (saved_copy != NULL)
    g_setenv ("OPENBLAS_CORETYPE", saved_copy, TRUE);
  else
    g_unsetenv ("OPENBLAS_CORETYPE");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/features/eigen-pairs", test_eigen_pairs);
  g_test_add_func ("/features/zca-whitens", test_zca_whitens);
  g_test_add_func ("/features/kmeans-blobs", test_kmeans_blobs);
  g_test_add_func ("/features/kmeans-degenerate", test_kmeans_degenerate);
  g_test_add_func ("/features/pooled-value", test_pooled_value);
  g_test_add_func ("/features/deterministic", test_deterministic);
  g_test_add_func ("/features/serialize-round-trip", test_serialize_round_trip);
  g_test_add_func ("/features/flip-is-mirror", test_flip_is_mirror);
  g_test_add_func ("/features/cancel", test_cancel);
  g_test_add_func ("/features/params", test_params);
  g_test_add_func ("/features/side-64", test_side_64);
  g_test_add_func ("/features/color-hog", test_color_hog);
  g_test_add_func ("/features/blas-advice", test_blas_advice);

  return g_test_run ();
}

/* bench-classifier.c: how accurate and how fast is the cross-validated
 * classifier on real features?
 *
 * Reads a feature dump (written by bench-features: FILE.f32 = n x dim
 * float32 rows, FILE-flip.f32 = the mirrored images, FILE.txt = "n dim" then
 * per row "given_label_index true_label_index"), runs
 * curator_classifier_cross_val_predict() on the GIVEN labels and scores the
 * out-of-sample predictions against the TRUE and the given labels. Options
 * switch off each ingredient (smoothing, balancing, flips, ensemble,
 * calibration) so their effect can be measured one at a time.
 *
 * Without a dump, --standin DIR computes a quick stand-in from an unpacked
 * practice set (DIR/labels.csv, DIR/CLASS/file.jpg): single-layer patch
 * features in the manner of Coates et al. (normalised, ZCA-whitened 6x6
 * colour patches, a spherical k-means dictionary, triangle activation, 3x3
 * sum pooling, square root). It is a development aid, not the product's
 * extractor, and is cached next to --out.
 *
 * Like bench-features, it re-executes itself with the OPENBLAS_CORETYPE that
 * curator_blas_suggest_coretype() names unless --keep-coretype is given.
 *
 *   bench-classifier [--features /tmp/feat/cifar] [options]
 *   bench-classifier --standin /tmp/noisy20 --out /tmp/clfw/standin [options]
 */
#include "curator-config.h"

#include <stdio.h>   /* before jpeglib.h, which needs FILE and size_t */

#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cblas.h>
#include <jpeglib.h>

#include "curator-classifier.h"
#include "curator-error.h"
#include "curator-features.h"

/* ---- the dump ---- */

typedef struct {
  gsize  n;
  gsize  dim;
  float *x;
  float *x_flip;
  int   *given;
  int   *truth;
  int    k;
} Dump;

static gboolean
read_floats (const char *path, gsize n_floats, float **out, GError **error)
{
  g_autofree char *bytes = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &bytes, &length, error))
    return FALSE;
  if (length != n_floats * sizeof (float))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s has %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT, path, length,
                   n_floats * sizeof (float));
      return FALSE;
    }
  *out = (float *) g_steal_pointer (&bytes);
  return TRUE;
}

static gboolean
parse_size (const char *s, gsize *out)
{
  guint64 v;
  if (!g_ascii_string_to_unsigned (s, 10, 0, G_MAXINT32, &v, NULL))
    return FALSE;
  *out = (gsize) v;
  return TRUE;
}

static gboolean
dump_read (const char *stem, gboolean want_flip, Dump *dump, GError **error)
{
  g_autofree char *meta_path = g_strconcat (stem, ".txt", NULL);
  g_autofree char *x_path = g_strconcat (stem, ".f32", NULL);
  g_autofree char *flip_path = g_strconcat (stem, "-flip.f32", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (meta_path, &text, NULL, error))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  {
    g_auto(GStrv) head = g_strsplit_set (lines[0], " \t", -1);
    if (g_strv_length (head) < 2 || !parse_size (head[0], &dump->n)
        || !parse_size (head[1], &dump->dim))
      {
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "%s: bad header", meta_path);
        return FALSE;
      }
  }
  dump->given = g_new (int, dump->n);
  dump->truth = g_new (int, dump->n);
  dump->k = 0;
  for (gsize i = 0; i < dump->n; i++)
    {
      gsize g, t;
      g_auto(GStrv) f = lines[i + 1] != NULL ? g_strsplit_set (lines[i + 1], " \t", -1) : NULL;
      if (f == NULL || g_strv_length (f) < 2 || !parse_size (f[0], &g) || !parse_size (f[1], &t))
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "%s: bad row %" G_GSIZE_FORMAT,
                       meta_path, i + 1);
          return FALSE;
        }
      dump->given[i] = (int) g;
      dump->truth[i] = (int) t;
      dump->k = MAX (dump->k, (int) MAX (g, t) + 1);
    }
  if (!read_floats (x_path, dump->n * dump->dim, &dump->x, error))
    return FALSE;
  if (want_flip && g_file_test (flip_path, G_FILE_TEST_EXISTS)
      && !read_floats (flip_path, dump->n * dump->dim, &dump->x_flip, error))
    return FALSE;
  return TRUE;
}

static gboolean
dump_write (const char *stem, const Dump *dump, GError **error)
{
  g_autofree char *meta_path = g_strconcat (stem, ".txt", NULL);
  g_autofree char *x_path = g_strconcat (stem, ".f32", NULL);
  g_autofree char *flip_path = g_strconcat (stem, "-flip.f32", NULL);
  g_autoptr(GString) meta = g_string_new (NULL);

  g_string_append_printf (meta, "%" G_GSIZE_FORMAT " %" G_GSIZE_FORMAT "\n", dump->n, dump->dim);
  for (gsize i = 0; i < dump->n; i++)
    g_string_append_printf (meta, "%d %d\n", dump->given[i], dump->truth[i]);
  return g_file_set_contents (meta_path, meta->str, (gssize) meta->len, error)
         && g_file_set_contents (x_path, (const char *) dump->x,
                                 (gssize) (dump->n * dump->dim * sizeof (float)), error)
         && g_file_set_contents (flip_path, (const char *) dump->x_flip,
                                 (gssize) (dump->n * dump->dim * sizeof (float)), error);
}

/* ---- the stand-in features ---- */

#define IMG      32
#define PATCH    6
#define POS      (IMG - PATCH + 1)        /* 27 positions per axis */
#define PDIM     (PATCH * PATCH * 3)      /* 108 */
#define N_CENT   400
#define POOL     3
#define FDIM     (N_CENT * POOL * POOL)   /* 3600 */

static gboolean
decode_jpeg (const char *path, guint8 *rgb, GError **error)
{
  g_autofree guint8 *bytes = NULL;
  gsize length;
  struct jpeg_decompress_struct cinfo;
  struct jpeg_error_mgr jerr;

  if (!g_file_get_contents (path, (char **) &bytes, &length, error))
    return FALSE;
  cinfo.err = jpeg_std_error (&jerr);
  jpeg_create_decompress (&cinfo);
  jpeg_mem_src (&cinfo, bytes, length);
  jpeg_read_header (&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress (&cinfo);
  if (cinfo.output_width != IMG || cinfo.output_height != IMG)
    {
      jpeg_destroy_decompress (&cinfo);
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "%s is not 32x32", path);
      return FALSE;
    }
  while (cinfo.output_scanline < cinfo.output_height)
    {
      JSAMPROW row = rgb + cinfo.output_scanline * IMG * 3;
      jpeg_read_scanlines (&cinfo, &row, 1);
    }
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  return TRUE;
}

/* Patch at (py, px) of an image, mirrored if @flip, brightness/contrast
 * normalised. */
static void
patch_at (const guint8 *rgb, int py, int px, gboolean flip, float *out)
{
  double sum = 0.0, sum2 = 0.0;
  int at = 0;
  for (int dy = 0; dy < PATCH; dy++)
    for (int dx = 0; dx < PATCH; dx++)
      {
        int x = px + dx;
        if (flip)
          x = IMG - 1 - x;
        for (int c = 0; c < 3; c++)
          {
            float v = rgb[((py + dy) * IMG + x) * 3 + c];
            out[at++] = v;
            sum += v;
            sum2 += (double) v * v;
          }
      }
  double mean = sum / PDIM;
  double inv = 1.0 / sqrt (sum2 / PDIM - mean * mean + 10.0);
  for (int j = 0; j < PDIM; j++)
    out[j] = (float) ((out[j] - mean) * inv);
}

/* Eigen-decomposition of a symmetric matrix by cyclic Jacobi (fine at 108). */
static void
jacobi_eigen (double *a, int n, double *values, double *vectors)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      vectors[i * n + j] = i == j;
  for (int sweep = 0; sweep < 50; sweep++)
    {
      double off = 0.0;
      for (int p = 0; p < n; p++)
        for (int q = p + 1; q < n; q++)
          off += a[p * n + q] * a[p * n + q];
      if (off < 1e-22)
        break;
      for (int p = 0; p < n; p++)
        for (int q = p + 1; q < n; q++)
          {
            double apq = a[p * n + q];
            if (fabs (apq) < 1e-300)
              continue;
            double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
            double t = (theta >= 0 ? 1.0 : -1.0) / (fabs (theta) + sqrt (theta * theta + 1.0));
            double c = 1.0 / sqrt (t * t + 1.0), s = t * c;
            for (int r = 0; r < n; r++)
              {
                double arp = a[r * n + p], arq = a[r * n + q];
                a[r * n + p] = c * arp - s * arq;
                a[r * n + q] = s * arp + c * arq;
              }
            for (int r = 0; r < n; r++)
              {
                double apr = a[p * n + r], aqr = a[q * n + r];
                a[p * n + r] = c * apr - s * aqr;
                a[q * n + r] = s * apr + c * aqr;
              }
            for (int r = 0; r < n; r++)
              {
                double vrp = vectors[r * n + p], vrq = vectors[r * n + q];
                vectors[r * n + p] = c * vrp - s * vrq;
                vectors[r * n + q] = s * vrp + c * vrq;
              }
          }
    }
  for (int i = 0; i < n; i++)
    values[i] = a[i * n + i];
}

typedef struct {
  float white[PDIM * PDIM]; /* x_white = (x - mean) white */
  float mean[PDIM];
  float *centroids;         /* N_CENT x PDIM, unit rows */
  float cnorm[N_CENT];
} Dictionary;

static void
learn_dictionary (guint8 **images, gsize n_images, Dictionary *dict)
{
  const gsize n_patches = 100000;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autofree float *x = g_new (float, n_patches * PDIM);
  g_autofree double *cov = g_new0 (double, PDIM * PDIM);
  double values[PDIM];
  g_autofree double *vectors = g_new (double, PDIM * PDIM);

  for (gsize i = 0; i < n_patches; i++)
    patch_at (images[g_rand_int_range (rand, 0, (gint32) n_images)],
              g_rand_int_range (rand, 0, POS), g_rand_int_range (rand, 0, POS), FALSE,
              x + i * PDIM);
  memset (dict->mean, 0, sizeof dict->mean);
  for (gsize i = 0; i < n_patches; i++)
    for (int j = 0; j < PDIM; j++)
      dict->mean[j] += x[i * PDIM + j] / (float) n_patches;
  for (gsize i = 0; i < n_patches; i++)
    for (int j = 0; j < PDIM; j++)
      x[i * PDIM + j] -= dict->mean[j];
  {
    g_autofree float *covf = g_new (float, PDIM * PDIM);
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, PDIM, PDIM, (int) n_patches,
                 1.0f / (float) n_patches, x, PDIM, x, PDIM, 0.0f, covf, PDIM);
    for (int j = 0; j < PDIM * PDIM; j++)
      cov[j] = covf[j];
  }
  jacobi_eigen (cov, PDIM, values, vectors);
  for (int i = 0; i < PDIM; i++)
    for (int j = 0; j < PDIM; j++)
      {
        double s = 0.0;
        for (int e = 0; e < PDIM; e++)
          s += vectors[i * PDIM + e] * vectors[j * PDIM + e] / sqrt (MAX (values[e], 0.0) + 0.1);
        dict->white[i * PDIM + j] = (float) s;
      }
  {
    g_autofree float *w = g_new (float, n_patches * PDIM);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) n_patches, PDIM, PDIM,
                 1.0f, x, PDIM, dict->white, PDIM, 0.0f, w, PDIM);
    memcpy (x, w, sizeof (float) * n_patches * PDIM);
  }

  /* Spherical k-means. */
  dict->centroids = g_new (float, N_CENT * PDIM);
  g_autofree float *dots = g_new (float, n_patches * N_CENT);
  g_autofree double *acc = g_new (double, N_CENT * PDIM);
  for (int c = 0; c < N_CENT; c++)
    memcpy (dict->centroids + c * PDIM, x + (gsize) g_rand_int_range (rand, 0, (gint32) n_patches) * PDIM,
            sizeof (float) * PDIM);
  for (int it = 0; it <= 10; it++)
    {
      for (int c = 0; c < N_CENT; c++)
        {
          double s = 0.0;
          for (int j = 0; j < PDIM; j++)
            s += (double) dict->centroids[c * PDIM + j] * dict->centroids[c * PDIM + j];
          s = 1.0 / sqrt (s + 1e-12);
          for (int j = 0; j < PDIM; j++)
            dict->centroids[c * PDIM + j] *= (float) s;
        }
      if (it == 10)
        break;
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n_patches, N_CENT, PDIM, 1.0f,
                   x, PDIM, dict->centroids, PDIM, 0.0f, dots, N_CENT);
      memset (acc, 0, sizeof (double) * N_CENT * PDIM);
      for (gsize i = 0; i < n_patches; i++)
        {
          int best = 0;
          for (int c = 1; c < N_CENT; c++)
            if (dots[i * N_CENT + c] > dots[i * N_CENT + best])
              best = c;
          for (int j = 0; j < PDIM; j++)
            acc[best * PDIM + j] += dots[i * N_CENT + best] * x[i * PDIM + j];
        }
      for (int c = 0; c < N_CENT; c++)
        {
          double s = 0.0;
          for (int j = 0; j < PDIM; j++)
            s += acc[c * PDIM + j] * acc[c * PDIM + j];
          if (s < 1e-9)
            for (int j = 0; j < PDIM; j++)
              acc[c * PDIM + j] = x[(gsize) g_rand_int_range (rand, 0, (gint32) n_patches) * PDIM + j];
          for (int j = 0; j < PDIM; j++)
            dict->centroids[c * PDIM + j] = (float) acc[c * PDIM + j];
        }
    }
  for (int c = 0; c < N_CENT; c++)
    dict->cnorm[c] = 1.0f;
}

static void
encode_image (const Dictionary *dict, const guint8 *rgb, gboolean flip, float *patches,
              float *white, float *dist, float *out)
{
  for (int py = 0; py < POS; py++)
    for (int px = 0; px < POS; px++)
      {
        float *p = patches + (py * POS + px) * PDIM;
        patch_at (rgb, py, px, flip, p);
        for (int j = 0; j < PDIM; j++)
          p[j] -= dict->mean[j];
      }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, POS * POS, PDIM, PDIM, 1.0f, patches,
               PDIM, dict->white, PDIM, 0.0f, white, PDIM);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, POS * POS, N_CENT, PDIM, -2.0f, white,
               PDIM, dict->centroids, PDIM, 0.0f, dist, N_CENT);
  memset (out, 0, sizeof (float) * FDIM);
  for (int q = 0; q < POS * POS; q++)
    {
      float *z = dist + q * N_CENT;
      double xx = 0.0, mean = 0.0;
      for (int j = 0; j < PDIM; j++)
        xx += (double) white[q * PDIM + j] * white[q * PDIM + j];
      for (int c = 0; c < N_CENT; c++)
        {
          z[c] = sqrtf (MAX (0.0f, (float) xx + z[c] + dict->cnorm[c]));
          mean += z[c];
        }
      mean /= N_CENT;
      int region = ((q / POS) / (POS / POOL)) * POOL + (q % POS) / (POS / POOL);
      float *o = out + region * N_CENT;
      for (int c = 0; c < N_CENT; c++)
        o[c] += MAX (0.0f, (float) mean - z[c]);
    }
  for (int j = 0; j < FDIM; j++)
    out[j] = sqrtf (out[j]);
}

static gboolean
standin_compute (const char *dir, Dump *dump, GError **error)
{
  g_autofree char *csv_path = g_build_filename (dir, "labels.csv", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  Dictionary dict;
  gint64 t0 = g_get_monotonic_time ();

  if (!g_file_get_contents (csv_path, &text, NULL, error))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  for (int i = 1; lines[i] != NULL; i++)
    {
      char **f = g_strsplit (lines[i], ",", -1);
      for (int j = 0; f[j] != NULL; j++)
        g_strstrip (f[j]);
      if (g_strv_length (f) < 3)
        {
          g_strfreev (f);
          continue;
        }
      g_ptr_array_add (rows, f);
      for (int j = 1; j <= 2; j++)
        {
          gboolean seen = FALSE;
          for (guint c = 0; c < names->len; c++)
            seen |= g_strcmp0 (names->pdata[c], f[j]) == 0;
          if (!seen)
            g_ptr_array_add (names, g_strdup (f[j]));
        }
    }
  /* Class index = position of the name in sorted order. */
  for (guint a = 0; a < names->len; a++)
    for (guint b = a + 1; b < names->len; b++)
      if (g_strcmp0 (names->pdata[a], names->pdata[b]) > 0)
        {
          gpointer t = names->pdata[a];
          names->pdata[a] = names->pdata[b];
          names->pdata[b] = t;
        }

  dump->n = rows->len;
  dump->dim = FDIM;
  dump->k = (int) names->len;
  dump->given = g_new (int, dump->n);
  dump->truth = g_new (int, dump->n);
  g_autofree guint8 *pixels = g_new (guint8, dump->n * IMG * IMG * 3);
  g_autofree guint8 **images = g_new (guint8 *, dump->n);
  for (gsize i = 0; i < dump->n; i++)
    {
      char **f = rows->pdata[i];
      g_autofree char *path = g_build_filename (dir, f[0], NULL);
      images[i] = pixels + i * IMG * IMG * 3;
      if (!decode_jpeg (path, images[i], error))
        return FALSE;
      for (guint c = 0; c < names->len; c++)
        {
          if (g_strcmp0 (names->pdata[c], f[1]) == 0)
            dump->given[i] = (int) c;
          if (g_strcmp0 (names->pdata[c], f[2]) == 0)
            dump->truth[i] = (int) c;
        }
    }
  learn_dictionary (images, dump->n, &dict);
  fprintf (stderr, "stand-in: dictionary after %.1f s\n",
           (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);

  dump->x = g_new (float, dump->n * FDIM);
  dump->x_flip = g_new (float, dump->n * FDIM);
  g_autofree float *patches = g_new (float, POS * POS * PDIM);
  g_autofree float *white = g_new (float, POS * POS * PDIM);
  g_autofree float *dist = g_new (float, POS * POS * N_CENT);
  for (gsize i = 0; i < dump->n; i++)
    {
      encode_image (&dict, images[i], FALSE, patches, white, dist, dump->x + i * FDIM);
      encode_image (&dict, images[i], TRUE, patches, white, dist, dump->x_flip + i * FDIM);
    }
  g_free (dict.centroids);
  fprintf (stderr, "stand-in: %" G_GSIZE_FORMAT " images encoded after %.1f s\n", dump->n,
           (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
  return TRUE;
}

/* ---- the run ---- */

static void
print_progress (double fraction, const char *message, gpointer user_data)
{
  static gint64 last;
  gint64 now = g_get_monotonic_time ();
  if (now - last > 2 * G_USEC_PER_SEC || fraction >= 1.0)
    {
      fprintf (stderr, "  %5.1f%% %s\n", 100.0 * fraction, message);
      last = now;
    }
}

/* Of the samples ranked most likely mislabelled (lowest probability of the
 * given label), the share that really is: the figure the review queue lives
 * by. */
static double
precision_at (const float *probs, const Dump *dump, gsize top)
{
  g_autofree double *score = g_new (double, dump->n);
  g_autofree gsize *order = g_new (gsize, dump->n);
  gsize hit = 0;

  for (gsize i = 0; i < dump->n; i++)
    {
      score[i] = probs[i * (gsize) dump->k + dump->given[i]];
      order[i] = i;
    }
  /* Partial selection sort is plenty for a bench. */
  top = MIN (top, dump->n);
  for (gsize a = 0; a < top; a++)
    {
      gsize best = a;
      for (gsize b = a + 1; b < dump->n; b++)
        if (score[order[b]] < score[order[best]])
          best = b;
      gsize t = order[a];
      order[a] = order[best];
      order[best] = t;
      hit += dump->given[order[a]] != dump->truth[order[a]];
    }
  return top > 0 ? (double) hit / (double) top : 0.0;
}

int
main (int argc, char **argv)
{
  g_autofree char *features = NULL;
  g_autofree char *standin = NULL;
  g_autofree char *out = NULL;
  g_autofree char *model = NULL;
  g_autofree char *probs_path = NULL;
  g_autofree char *grid = NULL;
  gboolean no_smoothing = FALSE, no_balance = FALSE, no_flip = FALSE, no_ensemble = FALSE;
  gboolean no_calibrate = FALSE, stratify = FALSE, keep_coretype = FALSE;
  int hidden = -1, epochs = -1, folds = -1, seeds = -1, repeats = -1, batch = -1;
  int project = -1, limit = 0, threads = -1, replicate = 1;
  double l2 = -1.0, smoothing = -1.0, lr = -1.0, dropout = -1.0, balance_power = -1.0;
  gint64 seed = -1;
  GOptionEntry entries[] = {
    { "features", 'f', 0, G_OPTION_ARG_FILENAME, &features, "Dump stem (default /tmp/feat/cifar)", "STEM" },
    { "standin", 0, 0, G_OPTION_ARG_FILENAME, &standin, "Compute stand-in features from an unpacked practice set", "DIR" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Stem to cache stand-in features at", "STEM" },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "logreg or mlp", "KIND" },
    { "hidden", 0, 0, G_OPTION_ARG_INT, &hidden, "MLP hidden units", "N" },
    { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &dropout, "MLP dropout", "P" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Epochs per model", "N" },
    { "folds", 0, 0, G_OPTION_ARG_INT, &folds, "K", "N" },
    { "seeds", 0, 0, G_OPTION_ARG_INT, &seeds, "Models per fold", "N" },
    { "repeats", 0, 0, G_OPTION_ARG_INT, &repeats, "Repeated K-fold", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Mini-batch size", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Adam learning rate", "X" },
    { "l2", 0, 0, G_OPTION_ARG_DOUBLE, &l2, "L2 strength (0: choose by inner validation)", "X" },
    { "grid", 0, 0, G_OPTION_ARG_STRING, &grid, "L2 candidates, comma-separated (with --l2 0)", "LIST" },
    { "smoothing", 0, 0, G_OPTION_ARG_DOUBLE, &smoothing, "Label smoothing", "X" },
    { "project", 0, 0, G_OPTION_ARG_INT, &project, "Project onto N principal directions (0: off)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed", "N" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "Use the first N samples only", "N" },
    { "replicate", 0, 0, G_OPTION_ARG_INT, &replicate, "Repeat every sample N times (for timing larger sets; the accuracy is then meaningless)", "N" },
    { "no-smoothing", 0, 0, G_OPTION_ARG_NONE, &no_smoothing, "Label smoothing off", NULL },
    { "balance-power", 0, 0, G_OPTION_ARG_DOUBLE, &balance_power, "1: classes drawn equally often, 0.5: as sqrt of size", "P" },
    { "no-balance", 0, 0, G_OPTION_ARG_NONE, &no_balance, "Class-balanced sampling off", NULL },
    { "no-flip", 0, 0, G_OPTION_ARG_NONE, &no_flip, "Ignore the mirrored features", NULL },
    { "no-ensemble", 0, 0, G_OPTION_ARG_NONE, &no_ensemble, "One model per fold, no repeats", NULL },
    { "no-calibrate", 0, 0, G_OPTION_ARG_NONE, &no_calibrate, "No temperature", NULL },
    { "stratify", 0, 0, G_OPTION_ARG_NONE, &stratify, "Label-stratified folds", NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Models trained at once (0: per processor)", "N" },
    { "keep-coretype", 0, 0, G_OPTION_ARG_NONE, &keep_coretype, "Do not fix OpenBLAS's kernel choice", NULL },
    { "probs", 0, 0, G_OPTION_ARG_FILENAME, &probs_path, "Write the probabilities (float32) here", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- benchmark the classifier");
  g_autoptr(GError) error = NULL;
  CuratorClassifierParams params;
  CuratorClassifierReport report;
  Dump dump = { 0 };
  g_auto(GStrv) original_argv = g_strdupv (argv); /* parsing edits argv */
  const char *suggestion;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 2;
    }
  suggestion = curator_blas_suggest_coretype ();
  if (suggestion != NULL && !keep_coretype)
    {
      fprintf (stderr, "OpenBLAS picked %s kernels on a CPU that runs %s ones: re-executing with "
               "OPENBLAS_CORETYPE=%s\n", curator_blas_get_corename (), suggestion, suggestion);
      g_setenv ("OPENBLAS_CORETYPE", suggestion, TRUE);
      execv ("/proc/self/exe", original_argv);
      fprintf (stderr, "re-exec failed, going on\n");
    }

  if (standin != NULL)
    {
      if (out == NULL)
        out = g_strdup ("/tmp/standin");
      g_autofree char *cached = g_strconcat (out, ".f32", NULL);
      if (!g_file_test (cached, G_FILE_TEST_EXISTS))
        {
          if (!standin_compute (standin, &dump, &error) || !dump_write (out, &dump, &error))
            {
              fprintf (stderr, "%s\n", error->message);
              return 1;
            }
          g_clear_pointer (&dump.x, g_free);
          g_clear_pointer (&dump.x_flip, g_free);
          g_clear_pointer (&dump.given, g_free);
          g_clear_pointer (&dump.truth, g_free);
        }
      g_free (features);
      features = g_strdup (out);
    }
  if (features == NULL)
    features = g_strdup ("/tmp/feat/cifar");
  if (!dump_read (features, !no_flip, &dump, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  if (limit > 0 && (gsize) limit < dump.n)
    dump.n = (gsize) limit;
  if (replicate > 1)
    {
      gsize n = dump.n * (gsize) replicate, row = dump.dim;
      float *x = g_new (float, n * row);
      float *xf = dump.x_flip != NULL ? g_new (float, n * row) : NULL;
      int *given = g_new (int, n), *truth = g_new (int, n);
      for (gsize i = 0; i < n; i++)
        {
          gsize src = i % dump.n;
          memcpy (x + i * row, dump.x + src * row, sizeof (float) * row);
          if (xf != NULL)
            memcpy (xf + i * row, dump.x_flip + src * row, sizeof (float) * row);
          given[i] = dump.given[src];
          truth[i] = dump.truth[src];
        }
      g_free (dump.x);
      g_free (dump.x_flip);
      g_free (dump.given);
      g_free (dump.truth);
      dump.x = x;
      dump.x_flip = xf;
      dump.given = given;
      dump.truth = truth;
      dump.n = n;
    }

  curator_classifier_params_init_default (&params);
  if (model != NULL && !curator_model_kind_from_string (model, &params.model))
    {
      fprintf (stderr, "unknown model %s\n", model);
      return 2;
    }
  if (hidden > 0) params.hidden = hidden;
  if (dropout >= 0) params.dropout = dropout;
  if (epochs > 0) params.epochs = epochs;
  if (folds > 0) params.n_folds = folds;
  if (seeds > 0) params.n_seeds = seeds;
  if (repeats > 0) params.n_repeats = repeats;
  if (batch > 0) params.batch_size = batch;
  if (lr > 0) params.learning_rate = lr;
  if (l2 >= 0) params.l2 = l2;
  if (smoothing >= 0) params.label_smoothing = smoothing;
  if (project >= 0) params.project_dims = project;
  if (seed >= 0) params.seed = (guint64) seed;
  if (no_smoothing) params.label_smoothing = 0.0;
  if (no_balance) params.balance = FALSE;
  if (balance_power >= 0) params.balance_power = balance_power;
  if (no_ensemble) params.n_seeds = params.n_repeats = 1;
  if (no_calibrate) params.calibrate = FALSE;
  if (stratify) params.stratify = TRUE;
  if (threads >= 0) params.n_threads = threads;
  if (grid != NULL)
    {
      g_auto(GStrv) values = g_strsplit (grid, ",", -1);
      params.n_grid = 0;
      for (int i = 0; values[i] != NULL && i < CURATOR_CLASSIFIER_MAX_GRID; i++)
        params.l2_grid[params.n_grid++] = g_ascii_strtod (values[i], NULL);
    }

  fprintf (stderr, "%" G_GSIZE_FORMAT " samples x %" G_GSIZE_FORMAT " features, %d classes, flips %s; "
           "blas %s, %d threads\n", dump.n, dump.dim, dump.k, dump.x_flip ? "yes" : "no",
           openblas_get_corename (), openblas_get_num_threads ());
  fprintf (stderr, "%s hidden %d dropout %.2f smoothing %.2f balance %d (power %.2f) folds %d repeats %d seeds %d "
           "epochs %d batch %d lr %g l2 %g project %d calibrate %d stratify %d seed %" G_GUINT64_FORMAT "\n",
           curator_model_kind_to_string (params.model), params.hidden, params.dropout,
           params.label_smoothing, params.balance, params.balance_power, params.n_folds, params.n_repeats, params.n_seeds,
           params.epochs, params.batch_size, params.learning_rate, params.l2, params.project_dims,
           params.calibrate, params.stratify, params.seed);

  g_autofree float *probs = g_new (float, dump.n * (gsize) dump.k);
  if (!curator_classifier_cross_val_predict (&params, dump.x, dump.x_flip, dump.given, NULL, NULL, dump.n,
                                             dump.dim, dump.k, probs, &report, NULL, print_progress,
                                             NULL, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  struct rusage usage;
  getrusage (RUSAGE_SELF, &usage);

  gsize n_noisy = 0;
  for (gsize i = 0; i < dump.n; i++)
    n_noisy += dump.given[i] != dump.truth[i];
  printf ("noise %.3f\n", (double) n_noisy / (double) dump.n);
  printf ("accuracy_true %.4f\nmacro_f1_true %.4f\n",
          curator_classifier_accuracy (probs, dump.truth, dump.n, dump.k),
          curator_classifier_macro_f1 (probs, dump.truth, dump.n, dump.k));
  printf ("accuracy_given %.4f\nmacro_f1_given %.4f\n",
          curator_classifier_accuracy (probs, dump.given, dump.n, dump.k),
          curator_classifier_macro_f1 (probs, dump.given, dump.n, dump.k));
  {
    /* Calibration: NLL and expected calibration error (15 bins of the top
     * probability) against the given labels, which are all the model knows. */
    double nll = 0.0, ece = 0.0;
    double bin_conf[15] = { 0 }, bin_right[15] = { 0 }, bin_n[15] = { 0 };
    for (gsize i = 0; i < dump.n; i++)
      {
        const float *p = probs + i * (gsize) dump.k;
        int top = 0;
        for (int c = 1; c < dump.k; c++)
          if (p[c] > p[top])
            top = c;
        nll -= log (MAX (p[dump.given[i]], 1e-12f));
        int bin = MIN (14, (int) (p[top] * 15));
        bin_conf[bin] += p[top];
        bin_right[bin] += top == dump.given[i];
        bin_n[bin] += 1;
      }
    for (int b = 0; b < 15; b++)
      if (bin_n[b] > 0)
        ece += fabs (bin_conf[b] - bin_right[b]) / (double) dump.n;
    printf ("nll_given %.4f\nece_given %.4f\n", nll / (double) dump.n, ece);
  }
  printf ("mislabelled_in_worst_250 %.3f\nmislabelled_in_worst_500 %.3f\n",
          precision_at (probs, &dump, 250), precision_at (probs, &dump, 500));
  printf ("seconds %.2f (project %.2f, standardise %.2f, train %.2f, calibrate %.2f)\n",
          report.seconds_total, report.seconds_project, report.seconds_standardise,
          report.seconds_train, report.seconds_calibrate);
  printf ("models %d, dims %d\n", report.n_models, report.feature_dims);
  for (int g = 0; g < report.n_grid; g++)
    printf ("grid l2 %g: held-out accuracy %.4f nll %.4f (vs given labels)\n", report.grid_l2[g],
            report.grid_heldout_accuracy[g], report.grid_heldout_nll[g]);
  printf ("fold l2:");
  for (int f = 0; f < report.n_folds; f++)
    printf (" %g", report.fold_l2[f]);
  printf ("\nfold temperature:");
  for (int f = 0; f < report.n_folds; f++)
    printf (" %.3f", report.fold_temperature[f]);
  printf ("\npeak_rss_mib %.1f\n", usage.ru_maxrss / 1024.0);
  printf ("cpu_seconds %.1f (whole process, all threads)\n",
          (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
          + (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6);

  if (probs_path != NULL
      && !g_file_set_contents (probs_path, (const char *) probs,
                               (gssize) (dump.n * (gsize) dump.k * sizeof (float)), &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  g_free (dump.x);
  g_free (dump.x_flip);
  g_free (dump.given);
  g_free (dump.truth);
  return 0;
}

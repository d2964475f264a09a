/* bench-features.c: how fast the patch features are, measured against this
 * machine's own SGEMM in the same run, and whether they are any good.
 *
 *   bench-features [OPTIONS] FOLDER
 *
 * FOLDER holds CLASS/file.jpg and labels.csv (file,given_label,true_label),
 * like the practice sets in ../shared/data. The JPEGs are decoded here with
 * plain libjpeg (the benchmark does not depend on the project's decoder),
 * resized to --side if needed, then: train the model, extract features of
 * the images and of their mirror images, and print
 *   - plain cblas_sgemm GFLOP/s on the shapes the extractor uses (one
 *     single-threaded product per worker at once, as the extractor runs
 *     them) and with OpenBLAS's own threads on one large product;
 *   - GFLOP/s of the extractor's products, its whole-stage GFLOP/s, the
 *     ratio to plain SGEMM;
 *   - stage timings and peak RSS;
 *   - with --classify, a rough quality check: out-of-fold accuracy (5 folds)
 *     of a small softmax regression trained on the given (noisy) labels,
 *     scored against the true labels.
 * --dump PREFIX writes PREFIX.f32 and PREFIX-flip.f32 (n x dim float32,
 * row-major, rows in labels.csv order) and PREFIX.txt ("n dim", then one
 * line per row: "given_index true_index", classes numbered in sorted name
 * order).
 *
 * OpenBLAS 0.3.21 mistakes recent Xeons for a 2004 CPU and runs SSE3
 * kernels; unless --keep-coretype is given the benchmark re-executes itself
 * with the OPENBLAS_CORETYPE that curator_blas_suggest_coretype() names, and
 * says so. */
#include "curator-config.h"

#include <stdio.h>   /* before jpeglib.h, which needs FILE and size_t */

#include <jpeglib.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <glib.h>

#include "curator-features.h"

/* ---- options ------------------------------------------------------------- */

static int opt_side = 32;
static int opt_centroids = 400;
static int opt_pool = 3;
static gboolean opt_no_sqrt;
static int opt_train_patches = 400000;
static int opt_iterations = 10;
static gint64 opt_seed = 1;
static int opt_threads;
static char *opt_dump;
static gboolean opt_no_flip;
static gboolean opt_classify;
static gboolean opt_keep_coretype;
static char *opt_save_model;
static gboolean opt_train_only;

static GOptionEntry entries[] = {
  { "side", 0, 0, G_OPTION_ARG_INT, &opt_side, "Image side (32)", "N" },
  { "centroids", 'k', 0, G_OPTION_ARG_INT, &opt_centroids, "Dictionary size (400)", "K" },
  { "pool", 0, 0, G_OPTION_ARG_INT, &opt_pool, "Pooling grid per axis (3)", "N" },
  { "no-sqrt", 0, 0, G_OPTION_ARG_NONE, &opt_no_sqrt, "No square root of pooled values", NULL },
  { "train-patches", 0, 0, G_OPTION_ARG_INT, &opt_train_patches, "k-means patches (400000)", "N" },
  { "iterations", 0, 0, G_OPTION_ARG_INT, &opt_iterations, "k-means iterations (10)", "N" },
  { "seed", 0, 0, G_OPTION_ARG_INT64, &opt_seed, "Seed (1)", "N" },
  { "threads", 0, 0, G_OPTION_ARG_INT, &opt_threads, "Workers (0 = one per core)", "N" },
  { "dump", 0, 0, G_OPTION_ARG_FILENAME, &opt_dump, "Write PREFIX.f32, PREFIX-flip.f32, PREFIX.txt", "PREFIX" },
  { "save-model", 0, 0, G_OPTION_ARG_FILENAME, &opt_save_model, "Write the serialised model", "FILE" },
  { "no-flip", 0, 0, G_OPTION_ARG_NONE, &opt_no_flip, "Skip mirrored features", NULL },
  { "classify", 0, 0, G_OPTION_ARG_NONE, &opt_classify, "Rough quality check (softmax, 5 folds)", NULL },
  { "train-only", 0, 0, G_OPTION_ARG_NONE, &opt_train_only, "Stop after training", NULL },
  { "keep-coretype", 0, 0, G_OPTION_ARG_NONE, &opt_keep_coretype, "Do not fix OpenBLAS's kernel choice", NULL },
  { NULL }
};

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* CPU time of the whole process: holds when other programs share the cores. */
static double
process_cpu_s (void)
{
  struct rusage u;

  getrusage (RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

/* ---- reading the dataset --------------------------------------------------- */

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf               jump;
} ErrorMgr;

static void
on_error (j_common_ptr cinfo)
{
  longjmp (((ErrorMgr *) cinfo->err)->jump, 1);
}

static void
on_message (j_common_ptr cinfo)
{
}

/* Bilinear resample of an RGB raster (only used when the files are not
 * already side x side). */
static guint8 *
resize (const guint8 *src, int w, int h, int side)
{
  guint8 *dst = g_new (guint8, (gsize) side * side * 3);

  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        double sx = (x + 0.5) * w / side - 0.5, sy = (y + 0.5) * h / side - 0.5;
        int x0 = CLAMP ((int) floor (sx), 0, w - 1), y0 = CLAMP ((int) floor (sy), 0, h - 1);
        int x1 = MIN (x0 + 1, w - 1), y1 = MIN (y0 + 1, h - 1);
        double fx = CLAMP (sx - x0, 0.0, 1.0), fy = CLAMP (sy - y0, 0.0, 1.0);
        for (int c = 0; c < 3; c++)
          {
            double v = (1 - fy) * ((1 - fx) * src[(y0 * w + x0) * 3 + c] + fx * src[(y0 * w + x1) * 3 + c])
                       + fy * ((1 - fx) * src[(y1 * w + x0) * 3 + c] + fx * src[(y1 * w + x1) * 3 + c]);
            dst[((gsize) y * side + x) * 3 + c] = (guint8) CLAMP (lround (v), 0, 255);
          }
      }
  return dst;
}

static guint8 *
decode_jpeg (const char *path, int side, GError **error)
{
  g_autofree char *bytes = NULL;
  gsize length;
  struct jpeg_decompress_struct cinfo;
  ErrorMgr err;
  guint8 *volatile pixels = NULL;
  int w, h;

  if (!g_file_get_contents (path, &bytes, &length, error))
    return NULL;
  cinfo.err = jpeg_std_error (&err.pub);
  err.pub.error_exit = on_error;
  err.pub.output_message = on_message;
  if (setjmp (err.jump))
    {
      jpeg_destroy_decompress (&cinfo);
      g_free (pixels);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a readable JPEG", path);
      return NULL;
    }
  jpeg_create_decompress (&cinfo);
  jpeg_mem_src (&cinfo, (const unsigned char *) bytes, length);
  jpeg_read_header (&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress (&cinfo);
  w = (int) cinfo.output_width;
  h = (int) cinfo.output_height;
  pixels = g_malloc ((gsize) w * h * 3);
  while (cinfo.output_scanline < cinfo.output_height)
    {
      JSAMPROW row = pixels + (gsize) cinfo.output_scanline * w * 3;
      jpeg_read_scanlines (&cinfo, &row, 1);
    }
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  if (w != side || h != side)
    {
      guint8 *resized = resize (pixels, w, h, side);
      g_free (pixels);
      return resized;
    }
  return pixels;
}

typedef struct {
  GPtrArray *files;        /* relative paths, labels.csv order */
  GArray    *given;        /* int class index */
  GArray    *truth;
  GPtrArray *classes;      /* sorted names */
} Labels;

static int
class_index (GPtrArray *classes, const char *name)
{
  for (guint i = 0; i < classes->len; i++)
    if (strcmp (g_ptr_array_index (classes, i), name) == 0)
      return (int) i;
  return -1;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
read_labels (const char *folder, Labels *out, GError **error)
{
  g_autofree char *path = g_build_filename (folder, "labels.csv", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) given_names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) true_names = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  out->files = g_ptr_array_new_with_free_func (g_free);
  out->classes = g_ptr_array_new_with_free_func (g_free);
  out->given = g_array_new (FALSE, FALSE, sizeof (int));
  out->truth = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) f = NULL;
      g_strchomp (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      f = g_strsplit (lines[i], ",", -1);
      if (g_strv_length (f) != 3)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%u: expected 3 fields", path, i + 1);
          return FALSE;
        }
      g_ptr_array_add (out->files, g_strdup (f[0]));
      g_ptr_array_add (given_names, g_strdup (f[1]));
      g_ptr_array_add (true_names, g_strdup (f[2]));
      if (class_index (out->classes, f[1]) < 0)
        g_ptr_array_add (out->classes, g_strdup (f[1]));
      if (class_index (out->classes, f[2]) < 0)
        g_ptr_array_add (out->classes, g_strdup (f[2]));
    }
  g_ptr_array_sort (out->classes, compare_strings);
  for (guint i = 0; i < out->files->len; i++)
    {
      int g = class_index (out->classes, g_ptr_array_index (given_names, i));
      int t = class_index (out->classes, g_ptr_array_index (true_names, i));
      g_array_append_val (out->given, g);
      g_array_append_val (out->truth, t);
    }
  return TRUE;
}

/* ---- plain SGEMM for comparison ---------------------------------------------- */

static double
thread_cpu_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
  int     m, n, k;
  double  seconds;       /* how long to keep multiplying */
  double  flops;         /* out */
  double  elapsed;       /* out: wall */
  double  cpu;           /* out: this thread's CPU time */
} GemmJob;

static gpointer
gemm_loop (gpointer data)
{
  GemmJob *job = data;
  g_autofree float *a = g_new (float, (gsize) job->m * job->k);
  g_autofree float *b = g_new (float, (gsize) job->n * job->k);
  g_autofree float *c = g_new (float, (gsize) job->m * job->n);
  double start, cpu;

  for (gsize i = 0; i < (gsize) job->m * job->k; i++)
    a[i] = (float) ((i * 7919) % 1000) / 1000.0f - 0.5f;
  for (gsize i = 0; i < (gsize) job->n * job->k; i++)
    b[i] = (float) ((i * 104729) % 1000) / 1000.0f - 0.5f;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, job->m, job->n, job->k, 1.0f,
               a, job->k, b, job->k, 0.0f, c, job->n);   /* warm-up */
  start = now_s ();
  cpu = thread_cpu_s ();
  do
    {
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, job->m, job->n, job->k, 1.0f,
                   a, job->k, b, job->k, 0.0f, c, job->n);
      job->flops += 2.0 * job->m * job->n * job->k;
    }
  while (now_s () - start < job->seconds);
  job->elapsed = now_s () - start;
  job->cpu = thread_cpu_s () - cpu;
  return NULL;
}

typedef struct {
  double wall;      /* aggregate GFLOP/s over the threads, by wall clock */
  double per_core;  /* GFLOP per CPU-second */
} Rate;

/* @n_threads threads each multiplying m x k by k x n with single-threaded
 * OpenBLAS, as the extractor's workers do. */
static Rate
gemm_rate (int n_threads, int m, int n, int k, double seconds)
{
  g_autofree GemmJob *jobs = g_new0 (GemmJob, n_threads);
  g_autofree GThread **threads = g_new0 (GThread *, n_threads);
  int saved = openblas_get_num_threads ();
  double flops = 0.0, cpu = 0.0;
  Rate rate = { 0 };

  openblas_set_num_threads (1);
  for (int i = 0; i < n_threads; i++)
    {
      jobs[i] = (GemmJob) { .m = m, .n = n, .k = k, .seconds = seconds };
      threads[i] = g_thread_new ("gemm", gemm_loop, &jobs[i]);
    }
  for (int i = 0; i < n_threads; i++)
    {
      g_thread_join (threads[i]);
      rate.wall += jobs[i].flops / jobs[i].elapsed / 1e9;
      flops += jobs[i].flops;
      cpu += jobs[i].cpu;
    }
  rate.per_core = flops / cpu / 1e9;
  openblas_set_num_threads (saved);
  return rate;
}

/* OpenBLAS's own threads on one large product (wall clock). */
static double
gemm_rate_threaded (int m, int n, int k, double seconds)
{
  GemmJob job = { .m = m, .n = n, .k = k, .seconds = seconds };

  gemm_loop (&job);
  return job.flops / job.elapsed / 1e9;
}

/* ---- a rough classifier --------------------------------------------------------- */

static void
softmax_rows (float *z, int n, int c)
{
  for (int i = 0; i < n; i++)
    {
      float *r = z + (gsize) i * c, m = r[0], s = 0.0f;
      for (int j = 1; j < c; j++)
        m = MAX (m, r[j]);
      for (int j = 0; j < c; j++)
        s += (r[j] = expf (r[j] - m));
      for (int j = 0; j < c; j++)
        r[j] /= s;
    }
}

/* Multinomial logistic regression by mini-batch SGD with momentum and L2,
 * on rows @train (indices into @x), returns weights (dim + 1) x c. */
static float *
softmax_fit (const float *x, int dim, const int *rows, int n_rows, const int *label, int c)
{
  const int batch = 256, epochs = 30;
  const float l2 = 0.03f, momentum = 0.9f;   /* tuned on the practice set: 1e-4 0.609, 1e-2 0.629, 0.03 0.641, 0.1 0.639 */
  float *w = g_new0 (float, (gsize) (dim + 1) * c);
  g_autofree float *vel = g_new0 (float, (gsize) (dim + 1) * c);
  g_autofree float *xb = g_new (float, (gsize) batch * dim);
  g_autofree float *z = g_new (float, (gsize) batch * c);
  g_autofree float *grad = g_new (float, (gsize) dim * c);
  g_autofree int *order = g_new (int, n_rows);
  GRand *rand = g_rand_new_with_seed (1);

  for (int i = 0; i < n_rows; i++)
    order[i] = rows[i];
  for (int e = 0; e < epochs; e++)
    {
      float lr = 0.01f * (1.0f - (float) e / epochs) + 0.0005f;
      for (int i = n_rows - 1; i > 0; i--)
        {
          int j = g_rand_int_range (rand, 0, i + 1), t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
      for (int s = 0; s < n_rows; s += batch)
        {
          int b = MIN (batch, n_rows - s);
          for (int i = 0; i < b; i++)
            memcpy (xb + (gsize) i * dim, x + (gsize) order[s + i] * dim, sizeof (float) * dim);
          for (int i = 0; i < b; i++)
            memcpy (z + (gsize) i * c, w + (gsize) dim * c, sizeof (float) * c);
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, b, c, dim, 1.0f, xb, dim,
                       w, c, 1.0f, z, c);
          softmax_rows (z, b, c);
          for (int i = 0; i < b; i++)
            z[(gsize) i * c + label[order[s + i]]] -= 1.0f;
          cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, dim, c, b, 1.0f / b, xb, dim,
                       z, c, 0.0f, grad, c);
          for (gsize j = 0; j < (gsize) dim * c; j++)
            {
              vel[j] = momentum * vel[j] - lr * (grad[j] + l2 * w[j]);
              w[j] += vel[j];
            }
          for (int j = 0; j < c; j++)
            {
              float g = 0.0f;
              for (int i = 0; i < b; i++)
                g += z[(gsize) i * c + j] / b;
              vel[(gsize) dim * c + j] = momentum * vel[(gsize) dim * c + j] - lr * g;
              w[(gsize) dim * c + j] += vel[(gsize) dim * c + j];
            }
        }
    }
  g_rand_free (rand);
  return w;
}

static void
softmax_predict (const float *x, int dim, const int *rows, int n_rows, const float *w, int c,
                 float *probs /* n_rows x c, added to */)
{
  g_autofree float *xb = g_new (float, (gsize) n_rows * dim);
  g_autofree float *z = g_new (float, (gsize) n_rows * c);

  for (int i = 0; i < n_rows; i++)
    {
      memcpy (xb + (gsize) i * dim, x + (gsize) rows[i] * dim, sizeof (float) * dim);
      memcpy (z + (gsize) i * c, w + (gsize) dim * c, sizeof (float) * c);
    }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n_rows, c, dim, 1.0f, xb, dim,
               w, c, 1.0f, z, c);
  softmax_rows (z, n_rows, c);
  for (gsize j = 0; j < (gsize) n_rows * c; j++)
    probs[j] += z[j];
}

/* Standardises columns in place with the statistics of @ref (n x dim). */
static void
standardise (float *x, const float *ref, gsize n, int dim, gboolean compute, double *mean, double *sd)
{
  if (compute)
    {
      for (int j = 0; j < dim; j++)
        mean[j] = sd[j] = 0.0;
      for (gsize i = 0; i < n; i++)
        for (int j = 0; j < dim; j++)
          mean[j] += ref[i * dim + j];
      for (int j = 0; j < dim; j++)
        mean[j] /= (double) n;
      for (gsize i = 0; i < n; i++)
        for (int j = 0; j < dim; j++)
          sd[j] += pow (ref[i * dim + j] - mean[j], 2);
      for (int j = 0; j < dim; j++)
        sd[j] = sqrt (sd[j] / (double) n + 0.01);
    }
  for (gsize i = 0; i < n; i++)
    for (int j = 0; j < dim; j++)
      x[i * dim + j] = (float) ((x[i * dim + j] - mean[j]) / sd[j]);
}

static void
classify (float *feat, float *feat_flip, gsize n, int dim, const Labels *labels)
{
  const int n_folds = 5, c = (int) labels->classes->len;
  g_autofree double *mean = g_new (double, dim);
  g_autofree double *sd = g_new (double, dim);
  g_autofree float *both = NULL;
  g_autofree int *label2 = g_new (int, 2 * n);
  g_autofree float *probs = g_new0 (float, n * c);
  int correct_truth = 0, correct_given = 0, correct_truth_noflip = 0;
  double t0 = now_s ();

  standardise (feat, feat, n, dim, TRUE, mean, sd);
  if (feat_flip != NULL)
    standardise (feat_flip, feat_flip, n, dim, FALSE, mean, sd);
  /* Rows 0..n-1 originals, n..2n-1 mirrors. */
  both = g_new (float, 2 * n * dim);
  memcpy (both, feat, sizeof (float) * n * dim);
  if (feat_flip != NULL)
    memcpy (both + n * dim, feat_flip, sizeof (float) * n * dim);
  for (gsize i = 0; i < n; i++)
    label2[i] = label2[n + i] = g_array_index (labels->given, int, i);

  for (int fold = 0; fold < n_folds; fold++)
    {
      g_autoptr(GArray) train = g_array_new (FALSE, FALSE, sizeof (int));
      g_autoptr(GArray) test = g_array_new (FALSE, FALSE, sizeof (int));
      g_autoptr(GArray) test_flip = g_array_new (FALSE, FALSE, sizeof (int));
      g_autofree float *w = NULL;
      g_autofree float *p = NULL;
      g_autofree float *p0 = NULL;

      for (gsize i = 0; i < n; i++)
        {
          int row = (int) i, mirror = (int) (n + i);
          if ((int) (i % n_folds) == fold)
            {
              g_array_append_val (test, row);
              g_array_append_val (test_flip, mirror);
            }
          else
            {
              g_array_append_val (train, row);
              if (feat_flip != NULL)
                g_array_append_val (train, mirror);
            }
        }
      w = softmax_fit (both, dim, (int *) train->data, (int) train->len, label2, c);
      p = g_new0 (float, (gsize) test->len * c);
      p0 = g_new0 (float, (gsize) test->len * c);
      softmax_predict (both, dim, (int *) test->data, (int) test->len, w, c, p);
      memcpy (p0, p, sizeof (float) * test->len * c);
      if (feat_flip != NULL)
        softmax_predict (both, dim, (int *) test_flip->data, (int) test_flip->len, w, c, p);
      for (guint t = 0; t < test->len; t++)
        {
          int i = g_array_index (test, int, t), best = 0, best0 = 0;
          for (int j = 1; j < c; j++)
            {
              if (p[t * c + j] > p[t * c + best])
                best = j;
              if (p0[t * c + j] > p0[t * c + best0])
                best0 = j;
            }
          correct_truth += best == g_array_index (labels->truth, int, i);
          correct_given += best == g_array_index (labels->given, int, i);
          correct_truth_noflip += best0 == g_array_index (labels->truth, int, i);
        }
    }
  printf ("classify: softmax on given labels, %d-fold out-of-fold accuracy: vs truth %.4f "
          "(without test-time flip %.4f), vs given %.4f (%.1f s)\n",
          n_folds, (double) correct_truth / n, (double) correct_truth_noflip / n,
          (double) correct_given / n, now_s () - t0);
}

/* ---- main ------------------------------------------------------------------------ */

static gboolean
write_floats (const char *path, const float *v, gsize n, GError **error)
{
  return g_file_set_contents (path, (const char *) v, (gssize) (n * sizeof (float)), error);
}

static void
print_progress (double fraction, const char *message, gpointer user_data)
{
  if (isatty (2))
    fprintf (stderr, "\r%-40s %5.1f%%", message != NULL ? message : "", 100.0 * fraction);
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("FOLDER");
  g_autoptr(GError) error = NULL;
  Labels labels = { 0 };
  CuratorPatchParams params;
  g_autoptr(CuratorPatchModel) model = NULL;
  CuratorPatchStats stats = { 0 }, stats_flip = { 0 };
  g_autofree guint8 **images = NULL;
  g_autofree float *feat = NULL;
  g_autofree float *feat_flip = NULL;
  g_autofree float *hog = NULL;
  g_autofree char *key = NULL;
  const char *suggestion;
  double t0, t_decode, t_train, t_extract, t_flip = 0.0, t_hog, c0, c_train, c_hog;
  gsize n;
  int dim, batch_rows;
  struct rusage usage;

  g_auto(GStrv) original_argv = g_strdupv (argv);   /* parsing edits argv */

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("%s\n", error != NULL ? error->message : "usage: bench-features [OPTIONS] FOLDER");
      return 2;
    }

  suggestion = curator_blas_suggest_coretype ();
  if (suggestion != NULL && !opt_keep_coretype)
    {
      g_printerr ("OpenBLAS picked %s kernels on a CPU that runs %s ones: re-executing with "
                  "OPENBLAS_CORETYPE=%s\n", curator_blas_get_corename (), suggestion, suggestion);
      curator_blas_ensure_fast_kernels (original_argv, TRUE);
      g_printerr ("re-exec failed, going on\n");
    }
  printf ("OpenBLAS %s kernels, %d cores\n", curator_blas_get_corename (), g_get_num_processors ());

  if (!read_labels (argv[1], &labels, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  n = labels.files->len;

  t0 = now_s ();
  images = g_new0 (guint8 *, n);
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *path = g_build_filename (argv[1], g_ptr_array_index (labels.files, i), NULL);
      images[i] = decode_jpeg (path, opt_side, &error);
      if (images[i] == NULL)
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
    }
  t_decode = now_s () - t0;
  printf ("decoded %" G_GSIZE_FORMAT " images to %dx%d in %.2f s, %u classes\n",
          n, opt_side, opt_side, t_decode, labels.classes->len);

  curator_patch_params_init_default (&params);
  params.side = opt_side;
  params.n_centroids = opt_centroids;
  params.pool = opt_pool;
  params.sqrt_norm = !opt_no_sqrt;
  params.n_train_patches = opt_train_patches;
  params.kmeans_iterations = opt_iterations;
  params.seed = (guint64) opt_seed;
  params.n_threads = opt_threads;

  t0 = now_s ();
  c0 = process_cpu_s ();
  model = curator_patch_model_train (&params, (const guint8 *const *) images, n, NULL,
                                     print_progress, NULL, &error);
  if (isatty (2))
    fprintf (stderr, "\r%60s\r", "");
  if (model == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  t_train = now_s () - t0;
  c_train = process_cpu_s () - c0;
  key = curator_patch_model_dup_key (model);
  dim = curator_patch_model_get_dim (model);
  printf ("model %s\ntrain: %.2f s wall, %.2f s CPU (%d patches, %d centroids, %d iterations)\n",
          key, t_train, c_train, params.n_train_patches, params.n_centroids, params.kmeans_iterations);
  if (opt_save_model != NULL)
    {
      g_autoptr(GBytes) bytes = curator_patch_model_serialize (model);
      if (!g_file_set_contents (opt_save_model, g_bytes_get_data (bytes, NULL),
                                (gssize) g_bytes_get_size (bytes), &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
    }

  if (opt_train_only)
    return 0;

  feat = g_new (float, n * dim);
  t0 = now_s ();
  if (!curator_patch_model_extract (model, (const guint8 *const *) images, n, FALSE, feat, &stats,
                                    NULL, print_progress, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  t_extract = now_s () - t0;
  if (!opt_no_flip)
    {
      feat_flip = g_new (float, n * dim);
      t0 = now_s ();
      if (!curator_patch_model_extract (model, (const guint8 *const *) images, n, TRUE, feat_flip,
                                        &stats_flip, NULL, print_progress, NULL, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      t_flip = now_s () - t0;
    }
  if (isatty (2))
    fprintf (stderr, "\r%60s\r", "");

  t0 = now_s ();
  c0 = process_cpu_s ();
  hog = g_new (float, n * CURATOR_COLOR_HOG_DIM);
  if (!curator_color_hog_extract ((const guint8 *const *) images, n, opt_side, FALSE, hog,
                                  NULL, NULL, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  t_hog = now_s () - t0;
  c_hog = process_cpu_s () - c0;

  /* Same workers, same shapes, nothing else to do: the ceiling. Rates per
   * CPU-second hold when other programs share the cores; wall rates do not. */
  {
    int d = 3 * params.patch * params.patch, k = params.n_centroids;
    Rate dist, white, mix;
    double threaded;

    batch_rows = stats.batch_images * (opt_side - params.patch + 1) * (opt_side - params.patch + 1);
    dist = gemm_rate (stats.n_workers, batch_rows, k, d, 1.5);
    white = gemm_rate (stats.n_workers, batch_rows, d, d, 1.5);
    threaded = gemm_rate_threaded (4 * batch_rows, k, d, 1.5);
    /* The extractor's mix: rows x d x d whitening and rows x d x K distances. */
    mix.per_core = (double) (d + k) / (d / white.per_core + k / dist.per_core);
    mix.wall = (double) (d + k) / (d / white.wall + k / dist.wall);

    printf ("plain sgemm per core: %.1f GFLOP/s (%d x %d x %d), %.1f GFLOP/s (%d x %d x %d), "
            "mix %.1f\n", dist.per_core, batch_rows, k, d, white.per_core, batch_rows, d, d,
            mix.per_core);
    printf ("plain sgemm wall: %d workers x 1 thread mix %.1f GFLOP/s; OpenBLAS's %d threads on "
            "%d x %d x %d: %.1f GFLOP/s\n", stats.n_workers, mix.wall, g_get_num_processors (),
            4 * batch_rows, k, d, threaded);
    for (int pass = 0; pass < (feat_flip != NULL ? 2 : 1); pass++)
      {
        const CuratorPatchStats *st = pass == 0 ? &stats : &stats_flip;
        double t = pass == 0 ? t_extract : t_flip;
        double products = st->gemm_flops / st->gemm_cpu_seconds / 1e9;
        double stage = st->gemm_flops / st->cpu_seconds / 1e9;

        printf ("extract%s: %.2f s wall, %.2f s CPU, %" G_GSIZE_FORMAT " images (%.0f images/s), "
                "dim %d, %d workers, %d images per batch\n",
                pass == 0 ? "" : " mirrored", t, st->cpu_seconds, n, n / t, dim, st->n_workers,
                st->batch_images);
        printf ("  products %.1f GFLOP: %.1f GFLOP/s per core = %.0f%% of plain sgemm; "
                "whole stage %.1f GFLOP/s per core = %.0f%%; by wall clock %.1f GFLOP/s = %.0f%%\n",
                st->gemm_flops / 1e9, products, 100.0 * products / mix.per_core, stage,
                100.0 * stage / mix.per_core, st->gemm_flops / t / 1e9,
                100.0 * st->gemm_flops / t / 1e9 / mix.wall);
      }
  }
  printf ("colour+HOG: %.3f s wall, %.3f s CPU (%.0f images/s), dim %d\n", t_hog, c_hog,
          n / t_hog, CURATOR_COLOR_HOG_DIM);
  printf ("features total (train + extract%s): %.2f s wall, %.2f s CPU\n",
          feat_flip != NULL ? " + mirrored" : "", t_train + t_extract + t_flip,
          c_train + stats.cpu_seconds + stats_flip.cpu_seconds);

  /* The promise of the header: another number of workers, the same bytes. */
  {
    gsize n_check = MIN (n, (gsize) 300);
    g_autofree float *one = g_new (float, n_check * dim);
    CuratorPatchParams single = params;
    g_autoptr(GBytes) bytes = curator_patch_model_serialize (model);
    g_autoptr(CuratorPatchModel) copy = NULL;

    /* A model's workers come from its params: change them on a copy. */
    single.n_threads = params.n_threads == 1 ? 2 : 1;
    copy = curator_patch_model_new (&single, curator_patch_model_get_mean (model),
                                    curator_patch_model_get_zca (model),
                                    curator_patch_model_get_centroids (model), &error);
    g_assert_no_error (error);
    curator_patch_model_extract (copy, (const guint8 *const *) images, n_check, FALSE, one,
                                 NULL, NULL, NULL, NULL, &error);
    printf ("same features with %d worker(s): %s\n", single.n_threads,
            memcmp (one, feat, n_check * dim * sizeof (float)) == 0 ? "yes" : "NO");
  }

  if (opt_dump != NULL)
    {
      g_autofree char *f32 = g_strconcat (opt_dump, ".f32", NULL);
      g_autofree char *f32_flip = g_strconcat (opt_dump, "-flip.f32", NULL);
      g_autofree char *txt = g_strconcat (opt_dump, ".txt", NULL);
      g_autoptr(GString) s = g_string_new (NULL);

      g_string_append_printf (s, "%" G_GSIZE_FORMAT " %d\n", n, dim);
      for (gsize i = 0; i < n; i++)
        g_string_append_printf (s, "%d %d\n", g_array_index (labels.given, int, i),
                                g_array_index (labels.truth, int, i));
      if (!write_floats (f32, feat, n * dim, &error)
          || (feat_flip != NULL && !write_floats (f32_flip, feat_flip, n * dim, &error))
          || !g_file_set_contents (txt, s->str, (gssize) s->len, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      printf ("dumped %s, %s, %s\n", f32, feat_flip != NULL ? f32_flip : "(no flips)", txt);
    }

  getrusage (RUSAGE_SELF, &usage);
  printf ("peak RSS: %.0f MiB\n", usage.ru_maxrss / 1024.0);

  if (opt_classify)
    classify (feat, feat_flip, n, dim, &labels);

  for (gsize i = 0; i < n; i++)
    g_free (images[i]);
  g_ptr_array_unref (labels.files);
  g_ptr_array_unref (labels.classes);
  g_array_unref (labels.given);
  g_array_unref (labels.truth);
  return 0;
}

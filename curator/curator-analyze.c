/* curator-analyze.c: the analysis pipeline, stage by stage:
 *
 *   load        pictures of the samples that need them, from the thumbnail
 *               cache (or the file when no thumbnail exists), at side x side
 *   dictionary  the k-means patch model: cached in the project per parameter
 *               set and reused, learned from the pictures otherwise
 *   features    per sample from the feature cache (keyed by pixel hash and
 *               the model's key), computed in large batches when absent
 *   classifier  K-fold cross-validated out-of-sample probabilities
 *   store       one run row and one score row per sample
 *
 * Only the calling thread touches the project. A lock file beside the
 * project keeps a second analysis from running at the same time; the kernel
 * drops it if the process dies, so a crash never leaves it stuck. */
#include "curator-config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cblas.h>
#include <json-glib/json-glib.h>

#include "curator-analyze.h"
#include "curator-image.h"
#include "curator-duplicates.h"
#include "curator-plugins.h"

#define LOAD_CHUNK 1024
#define STORE_CHUNK 512
#define FEATURE_CHUNK 2048

/* Self-training: how much a suggestion the next round trains on weighs. */
#define PSEUDO_LABEL_WEIGHT 1.0

void
curator_analyze_options_init_default (CuratorAnalyzeOptions *options)
{
  memset (options, 0, sizeof *options);
  curator_patch_params_init_default (&options->patch);
  curator_classifier_params_init_default (&options->classifier);
  options->color_hog = TRUE;
  options->flip = TRUE;
  options->verified_weight = 2.0;
  options->relearn = FALSE;
  curator_issues_options_init_default (&options->issues);
  options->rounds = 2;
  /* The first round only chooses pseudo-labels, so it makes one K-fold pass
   * instead of two: a quarter less classifier time. Measured on the noisy
   * practice set, this with six epochs against two first-round passes with
   * five epochs (about the same time): flag F1 0.686 vs 0.696, AUROC 0.924 vs
   * 0.925, suggestions right on 75.4% vs 74.7% of true errors (the bar is
   * 75%), accuracy vs truth 0.691 vs 0.685. */
  options->early_repeats = 1;
}

/* ---- half precision ------------------------------------------------------ */

void
curator_half_encode (const float *in, guint16 *out, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      guint32 x;
      guint32 sign, exponent, mantissa;

      memcpy (&x, &in[i], sizeof x);
      sign = (x >> 16) & 0x8000;
      exponent = (x >> 23) & 0xff;
      mantissa = x & 0x7fffff;
      if (exponent == 0xff)
        out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0);             /* Inf, NaN */
      else if (exponent > 142)
        out[i] = sign | 0x7c00;                                        /* overflow */
      else if (exponent < 113)
        {
          /* Subnormal half (or zero): shift with round to nearest even. */
          guint32 shift = 126 - exponent;
          if (shift > 24)
            out[i] = sign;
          else
            {
              guint32 m = mantissa | 0x800000;
              guint32 half = m >> shift;
              guint32 rest = m & ((1u << shift) - 1);
              guint32 mid = 1u << (shift - 1);
              if (rest > mid || (rest == mid && (half & 1)))
                half++;
              out[i] = sign | half;
            }
        }
      else
        {
          guint32 h = ((exponent - 112) << 10) | (mantissa >> 13);
          guint32 rest = mantissa & 0x1fff;
          if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
            h++;  /* may carry into the exponent, which is right */
          out[i] = sign | h;
        }
    }
}

void
curator_half_decode (const guint16 *in, float *out, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      guint32 h = in[i];
      guint32 sign = (h & 0x8000) << 16;
      guint32 exponent = (h >> 10) & 0x1f;
      guint32 mantissa = h & 0x3ff;
      guint32 x;

      if (exponent == 0x1f)
        x = sign | 0x7f800000 | (mantissa << 13);
      else if (exponent == 0)
        {
          if (mantissa == 0)
            x = sign;
          else
            {
              /* Normalise the subnormal. */
              int e = -1;
              do
                {
                  e++;
                  mantissa <<= 1;
                }
              while ((mantissa & 0x400) == 0);
              x = sign | ((guint32) (112 - e) << 23) | ((mantissa & 0x3ff) << 13);
            }
        }
      else
        x = sign | ((exponent + 112) << 23) | (mantissa << 13);
      memcpy (&out[i], &x, sizeof x);
    }
}

/* ---- progress across stages ---------------------------------------------- */

typedef struct {
  CuratorProgressFunc func;
  gpointer            data;
  double              start, span;   /* this stage's share of the whole */
} Stage;

static void
stage_progress (double fraction, const char *message, gpointer user_data)
{
  Stage *stage = user_data;

  if (stage != NULL && stage->func != NULL)
    stage->func (stage->start + stage->span * CLAMP (fraction, 0.0, 1.0), message, stage->data);
}

static void
stage_enter (Stage *stage, double start, double span, const char *message)
{
  stage->start = start;
  stage->span = span;
  stage_progress (0.0, message, stage);
}

static double
seconds_since (gint64 start_us)
{
  return (g_get_monotonic_time () - start_us) / (double) G_USEC_PER_SEC;
}

/* ---- the lock ------------------------------------------------------------ */

static int
take_lock (CuratorDb *db, GError **error)
{
  g_autofree char *path = g_strconcat (curator_db_get_path (db), ".analyze-lock", NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

  if (fd < 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO, "Cannot create %s: %s", path, g_strerror (errno));
      return -1;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      close (fd);
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_BUSY,
                   "Another analysis is running on this project; wait for it to finish");
      return -1;
    }
  return fd;
}

/* ---- loading pictures ---------------------------------------------------- */

typedef struct {
  GBytes     *thumb;     /* encoded thumbnail, or NULL: read the file */
  char       *file;      /* absolute path, when no thumbnail */
  guint8     *out;       /* side * side * 3 */
  int         side;
  char       *error;
} LoadJob;

static void
load_one (gpointer data, gpointer user_data)
{
  LoadJob *job = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorRgb) image = NULL;
  g_autoptr(CuratorRgb) small = NULL;
  g_autofree char *contents = NULL;
  const guint8 *bytes;
  gsize n;

  if (job->thumb != NULL)
    bytes = g_bytes_get_data (job->thumb, &n);
  else if (g_file_get_contents (job->file, &contents, &n, &error))
    bytes = (const guint8 *) contents;
  else
    {
      job->error = g_strdup (error->message);
      return;
    }
  image = curator_image_decode (bytes, n, job->side, NULL, &error);
  if (image == NULL)
    {
      job->error = g_strdup (error->message);
      return;
    }
  /* Squash to a square: the classifier sees every picture whole. */
  small = curator_rgb_resize (image, job->side, job->side);
  memcpy (job->out, small->pixels, (gsize) job->side * job->side * 3);
}

/* Fills pixels[i] (side x side RGB) for every i in @which. */
static gboolean
load_pictures (CuratorDb *db, GPtrArray *samples, const guint *which, gsize n_which, int side,
               guint8 *pixels, GCancellable *cancellable, Stage *stage, GError **error)
{
  g_autofree char *root = curator_db_dup_setting (db, "root");
  g_autofree LoadJob *jobs = g_new0 (LoadJob, LOAD_CHUNK);
  gsize frame = (gsize) side * side * 3;
  gboolean ok = TRUE;

  for (gsize start = 0; start < n_which && ok; start += LOAD_CHUNK)
    {
      gsize m = MIN (LOAD_CHUNK, n_which - start);
      GThreadPool *pool;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      /* The project is read here, on the calling thread; workers decode. */
      for (gsize j = 0; j < m; j++)
        {
          CuratorDbSample *s = g_ptr_array_index (samples, which[start + j]);
          LoadJob *job = &jobs[j];

          memset (job, 0, sizeof *job);
          job->side = side;
          job->out = pixels + frame * which[start + j];
          job->thumb = curator_db_get_thumbnail (db, s->pixel_hash, NULL, NULL);
          if (job->thumb == NULL)
            job->file = g_build_filename (root != NULL ? root : ".", s->path, NULL);
        }
      pool = g_thread_pool_new (load_one, NULL, (int) g_get_num_processors (), TRUE, NULL);
      for (gsize j = 0; j < m; j++)
        g_thread_pool_push (pool, &jobs[j], NULL);
      g_thread_pool_free (pool, FALSE, TRUE);

      for (gsize j = 0; j < m; j++)
        {
          LoadJob *job = &jobs[j];

          if (job->error != NULL && ok)
            {
              CuratorDbSample *s = g_ptr_array_index (samples, which[start + j]);

              g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                           "Cannot load the picture of sample %" G_GINT64_FORMAT " (%s): %s; "
                           "index the dataset again", s->id, s->path, job->error);
              ok = FALSE;
            }
          g_clear_pointer (&job->thumb, g_bytes_unref);
          g_free (job->file);
          g_free (job->error);
        }
      stage_progress ((double) (start + m) / n_which, "Loading pictures", stage);
    }
  return ok;
}

/* ---- features ------------------------------------------------------------ */

typedef struct {
  CuratorDb              *db;
  const CuratorAnalyzeOptions *options;
  CuratorPatchModel      *model;
  char                   *key;        /* cache key of the plain features */
  char                   *flip_key;   /* and of the mirrored ones */
  int                     patch_dim;
  int                     dim;        /* patch_dim + colour/gradient */
} Features;

static char *
features_key (const CuratorPatchModel *model, gboolean color_hog, gboolean flip)
{
  g_autofree char *model_key = curator_patch_model_dup_key (model);

  return g_strdup_printf ("%s%s%s;f16", model_key, color_hog ? "+" CURATOR_COLOR_HOG_KEY : "",
                          flip ? ";flip" : "");
}

/* Computes the features of @m samples (pixels given), plain or mirrored,
 * rounds them through half precision, stores them in the cache and in rows
 * @rows of @out. */
static gboolean
features_compute (Features *f, GPtrArray *samples, const guint *rows, gsize m,
                  const guint8 *pixels, gboolean flip, float *out, double *gflop_seconds,
                  double *flops, GCancellable *cancellable, GError **error)
{
  int side = f->options->patch.side;
  gsize frame = (gsize) side * side * 3;
  g_autofree const guint8 **images = g_new (const guint8 *, m);
  g_autofree float *patch = g_new (float, m * f->patch_dim);
  g_autofree float *hog = f->options->color_hog ? g_new (float, m * CURATOR_COLOR_HOG_DIM) : NULL;
  g_autofree guint16 *half = g_new (guint16, f->dim);
  CuratorPatchStats stats = { 0 };
  const char *key = flip ? f->flip_key : f->key;

  for (gsize j = 0; j < m; j++)
    images[j] = pixels + frame * rows[j];
  if (!curator_patch_model_extract (f->model, images, m, flip, patch, &stats, cancellable, NULL, NULL, error))
    return FALSE;
  *gflop_seconds += stats.gemm_seconds;
  *flops += stats.gemm_flops;
  if (hog != NULL &&
      !curator_color_hog_extract (images, m, side, flip, hog, cancellable, NULL, NULL, error))
    return FALSE;

  if (!curator_db_begin (f->db, error))
    return FALSE;
  for (gsize j = 0; j < m; j++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, rows[j]);
      float *row = out + (gsize) rows[j] * f->dim;
      g_autoptr(GBytes) blob = NULL;

      memcpy (row, patch + j * f->patch_dim, sizeof (float) * f->patch_dim);
      if (hog != NULL)
        memcpy (row + f->patch_dim, hog + j * CURATOR_COLOR_HOG_DIM, sizeof (float) * CURATOR_COLOR_HOG_DIM);
      curator_half_encode (row, half, f->dim);
      curator_half_decode (half, row, f->dim);
      blob = g_bytes_new (half, sizeof (guint16) * f->dim);
      if (!curator_db_put_features (f->db, key, s->pixel_hash, blob, error))
        {
          curator_db_rollback (f->db);
          return FALSE;
        }
    }
  return curator_db_commit (f->db, error);
}

/* Takes the cached features of every sample it can; returns the positions
 * of those it could not (in @missing). FALSE only when cancelled. */
static gboolean
features_from_cache (Features *f, GPtrArray *samples, const char *key, float *out, GArray *missing,
                     GCancellable *cancellable, GError **error)
{
  for (guint i = 0; i < samples->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, i);

      if (i % 256 == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      g_autoptr(GBytes) blob = curator_db_get_features (f->db, key, s->pixel_hash);
      gsize n = 0;
      const guint16 *data = blob != NULL ? g_bytes_get_data (blob, &n) : NULL;

      if (data == NULL || n != sizeof (guint16) * f->dim)
        {
          g_array_append_val (missing, i);
          continue;
        }
      curator_half_decode (data, out + (gsize) i * f->dim, f->dim);
    }
  return TRUE;
}

/* Features from an extractor of the plugin registry (options->features),
 * in place of the built-in pair: the classifier and the neighbours see them
 * exactly as they would see ours. */
typedef struct {
  CuratorDb *db;
  GPtrArray *samples;
} PluginPictures;

static gboolean
plugin_pictures (gpointer data, const guint *which, gsize n_which, int side, guint8 *pixels,
                 GCancellable *cancellable, GError **error)
{
  PluginPictures *pp = data;

  return load_pictures (pp->db, pp->samples, which, n_which, side, pixels, cancellable, NULL, error);
}

static gboolean
features_from_plugin (CuratorDb *db, const CuratorAnalyzeOptions *options, GPtrArray *samples,
                      float **x, float **x_flip, int *dim, CuratorAnalyzeReport *report,
                      GCancellable *cancellable, GError **error)
{
  PluginPictures pp = { db, samples };
  CuratorPluginFeaturesReport fr = { 0 };
  gboolean ok;

  ok = curator_plugin_features_compute (NULL, db, options->features, samples, options->patch.side,
                                        options->flip, plugin_pictures, &pp, x, x_flip, &fr,
                                        cancellable, error);
  if (ok)
    {
      *dim = fr.dim;
      report->n_dims = fr.dim;
      report->n_features_cached = fr.n_cached;
      report->n_features_computed = fr.n_computed;
    }
  for (guint i = 0; fr.warnings != NULL && i < fr.warnings->len; i++)
    g_message ("%s", (const char *) g_ptr_array_index (fr.warnings, i));
  curator_plugin_features_report_clear (&fr);
  return ok;
}

/* ---- storing ------------------------------------------------------------- */

static char *
params_to_json (const CuratorAnalyzeOptions *o)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *patch_key = curator_patch_params_dup_key (&o->patch);
  const CuratorClassifierParams *c = &o->classifier;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "features");
  json_builder_add_string_value (b, o->features != NULL ? o->features : patch_key);
  json_builder_set_member_name (b, "side");
  json_builder_add_int_value (b, o->patch.side);
  json_builder_set_member_name (b, "centroids");
  json_builder_add_int_value (b, o->patch.n_centroids);
  json_builder_set_member_name (b, "pool");
  json_builder_add_int_value (b, o->patch.pool);
  json_builder_set_member_name (b, "color_hog");
  json_builder_add_boolean_value (b, o->color_hog);
  json_builder_set_member_name (b, "flip");
  json_builder_add_boolean_value (b, o->flip);
  json_builder_set_member_name (b, "rounds");
  json_builder_add_int_value (b, o->rounds);
  json_builder_set_member_name (b, "early_repeats");
  json_builder_add_int_value (b, o->early_repeats);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, curator_model_kind_to_string (c->model));
  json_builder_set_member_name (b, "hidden");
  json_builder_add_int_value (b, c->hidden);
  json_builder_set_member_name (b, "label_smoothing");
  json_builder_add_double_value (b, c->label_smoothing);
  json_builder_set_member_name (b, "balance");
  json_builder_add_boolean_value (b, c->balance);
  json_builder_set_member_name (b, "folds");
  json_builder_add_int_value (b, c->n_folds);
  json_builder_set_member_name (b, "repeats");
  json_builder_add_int_value (b, c->n_repeats);
  json_builder_set_member_name (b, "seeds");
  json_builder_add_int_value (b, c->n_seeds);
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, c->epochs);
  json_builder_set_member_name (b, "draws_cap");
  json_builder_add_int_value (b, c->draws_cap);
  json_builder_set_member_name (b, "draws_min");
  json_builder_add_int_value (b, c->draws_min);
  json_builder_set_member_name (b, "batch_size");
  json_builder_add_int_value (b, c->batch_size);
  json_builder_set_member_name (b, "l2");
  json_builder_add_double_value (b, c->l2);
  json_builder_set_member_name (b, "calibrate");
  json_builder_add_boolean_value (b, c->calibrate);
  json_builder_set_member_name (b, "verified_weight");
  json_builder_add_double_value (b, o->verified_weight);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) c->seed);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static char *
versions_to_json (void)
{
  g_autofree char *glib = g_strdup_printf ("%u.%u.%u", glib_major_version, glib_minor_version, glib_micro_version);
  g_autofree char *blas = g_strescape (openblas_get_config (), NULL);

  return g_strdup_printf ("{\"curator\":\"%s\",\"glib\":\"%s\",\"openblas\":\"%s\"}",
                          CURATOR_VERSION, glib, blas);
}

static char *
report_timings_json (const CuratorAnalyzeReport *r)
{
  return g_strdup_printf ("{\"load\":%.3f,\"dictionary\":%.3f,\"features\":%.3f,"
                          "\"classifier\":%.3f,\"issues\":%.3f,\"store\":%.3f,\"total\":%.3f}",
                          r->seconds_load, r->seconds_dictionary, r->seconds_features,
                          r->seconds_classifier, r->seconds_issues, r->seconds_store, r->seconds_total);
}

static char *
report_metrics_json (const CuratorAnalyzeReport *r)
{
  char acc[G_ASCII_DTOSTR_BUF_SIZE], f1[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (acc, sizeof acc, "%.6f", r->accuracy);
  g_ascii_formatd (f1, sizeof f1, "%.6f", r->macro_f1);
  return g_strdup_printf ("{\"samples\":%" G_GSIZE_FORMAT ",\"labelled\":%" G_GSIZE_FORMAT
                          ",\"classes\":%d,\"dims\":%d,\"accuracy\":%s,\"macro_f1\":%s,"
                          "\"features_cached\":%" G_GSIZE_FORMAT ",\"features_computed\":%" G_GSIZE_FORMAT
                          ",\"rounds\":%d,\"pseudo_labels\":%" G_GSIZE_FORMAT ",\"label_issues\":%" G_GSIZE_FORMAT
                          ",\"suggestions\":%" G_GSIZE_FORMAT "}",
                          r->n_samples, r->n_labelled, r->n_classes, r->n_dims, acc, f1,
                          r->n_features_cached, r->n_features_computed, r->rounds, r->n_pseudo_labels,
                          r->n_label_issues, r->n_suggestions);
}

static gboolean
store_scores (CuratorDb *db, gint64 run_id, GPtrArray *samples, const int *labels,
              const gint64 *class_ids, int k, const float *probs,
              const CuratorIssuesResult *issues, GError **error)
{
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_score_free);

  if (!curator_db_begin (db, error))
    return FALSE;
  for (guint i = 0; i < samples->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, i);
      CuratorDbScore *score = curator_db_score_new ();
      const float *p = probs + (gsize) i * k;
      int best = 0;

      for (int c = 1; c < k; c++)
        if (p[c] > p[best])
          best = c;
      score->sample_id = s->id;
      score->n_probs = k;
      score->probs = g_memdup2 (p, sizeof (float) * k);
      score->predicted_label = class_ids[best];
      score->p_label = labels[i] >= 0 ? p[labels[i]] : 0.0;
      curator_issues_fill_score (issues, i, class_ids, score);
      g_ptr_array_add (batch, score);
      if (batch->len == STORE_CHUNK || i + 1 == samples->len)
        {
          if (!curator_db_put_scores (db, run_id, (CuratorDbScore **) batch->pdata, batch->len, error))
            {
              curator_db_rollback (db);
              return FALSE;
            }
          g_ptr_array_set_size (batch, 0);
        }
    }
  return curator_db_commit (db, error);
}

/* ---- the run ------------------------------------------------------------- */

/* A run still "running" while we hold the analysis lock belongs to a
 * process that was killed: no live analysis can own it. Mark it failed so
 * that no list shows it running forever. */
static gboolean
close_abandoned_runs (CuratorDb *db, GError **error)
{
  g_autoptr(GPtrArray) runs = curator_db_list_runs (db, error);

  if (runs == NULL)
    return FALSE;
  for (guint i = 0; i < runs->len; i++)
    {
      CuratorDbRun *run = g_ptr_array_index (runs, i);

      if (g_strcmp0 (run->status, "running") == 0 &&
          !curator_db_finish_run (db, run->id, "failed", NULL,
                                  "{\"error\":\"the analysis stopped without finishing "
                                  "(the process was killed)\"}", error))
        return FALSE;
    }
  return TRUE;
}

/* Samples with the same decoded pixels share a group, so that the classifier
 * keeps copies in one fold (see curator_classifier_cross_val_predict): a set
 * with a picture stored five times otherwise learns each copy's label from the
 * other four and flags nothing. The groups are curator_duplicate_groups on
 * the pixel hashes alone. */
static guint32 *
copy_groups (GPtrArray *samples)
{
  gsize n = samples->len;
  g_autofree const char **pixel_hashes = g_new (const char *, MAX (n, 1));
  g_autofree guint *exact = NULL;
  guint32 *groups = g_new (guint32, MAX (n, 1));
  guint n_groups = 0;

  for (gsize i = 0; i < n; i++)
    pixel_hashes[i] = ((CuratorDbSample *) g_ptr_array_index (samples, i))->pixel_hash;
  exact = curator_duplicate_groups (pixel_hashes, NULL, n, -1, NULL, 0, &n_groups);
  /* A sample in no group is a group of its own, numbered after the others. */
  for (gsize i = 0; i < n; i++)
    groups[i] = exact[i] != 0 ? exact[i] : (guint32) (n_groups + 1 + i);
  return groups;
}

gboolean
curator_analyze_run (CuratorDb                   *db,
                     const CuratorAnalyzeOptions *options,
                     CuratorAnalyzeReport        *report,
                     GCancellable                *cancellable,
                     CuratorProgressFunc          progress,
                     gpointer                     progress_data,
                     GError                     **error)
{
  CuratorDbSampleFilter filter = { 0, CURATOR_SAMPLE_OK, TRUE };
  g_autoptr(GPtrArray) classes = NULL;
  g_autoptr(GPtrArray) samples = NULL;
  g_autofree gint64 *class_ids = NULL;
  g_autofree int *labels = NULL;
  g_autofree float *weights = NULL;
  g_autofree guint8 *pixels = NULL;
  g_autofree float *x = NULL;
  g_autofree float *x_flip = NULL;
  g_autofree float *probs = NULL;
  g_autoptr(GHashTable) class_index = NULL;
  g_autoptr(CuratorIssuesResult) issues = NULL;
  g_autofree int *train_labels = NULL;
  g_autofree float *train_weights = NULL;
  g_autofree guint32 *groups = NULL;
  g_autofree gboolean *verified = NULL;
  g_autofree double *reference = NULL;
  g_autofree const char **class_names = NULL;
  g_autoptr(GArray) missing = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) missing_flip = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree char *params_json = NULL;
  g_autofree char *versions_json = NULL;
  g_autofree char *model_key = NULL;
  Features f = { db, options, NULL, NULL, NULL, 0, 0 };
  Stage stage = { progress, progress_data, 0, 0 };
  GError *local_error = NULL;
  gint64 started = g_get_monotonic_time (), t;
  gint64 run_id = 0;
  int k, lock_fd, n_labelled_classes = 0;
  gsize n, frame;
  gboolean need_all_pictures, ok = FALSE;
  double gemm_seconds = 0, gemm_flops = 0;

  g_return_val_if_fail (db != NULL && options != NULL && report != NULL, FALSE);
  memset (report, 0, sizeof *report);

  if (!curator_patch_params_validate (&options->patch, error))
    return FALSE;
  lock_fd = take_lock (db, error);
  if (lock_fd < 0)
    return FALSE;
  if (!close_abandoned_runs (db, &local_error))
    goto out;

  /* What is analysed: every readable, included sample; the labels are the
   * current ones, in class-position order. */
  classes = curator_db_list_classes (db, &local_error);
  samples = classes != NULL ? curator_db_list_samples (db, &filter, &local_error) : NULL;
  if (samples == NULL)
    goto out;
  k = classes->len;
  n = samples->len;
  class_ids = g_new (gint64, MAX (k, 1));
  class_index = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  for (int c = 0; c < k; c++)
    {
      CuratorDbClass *klass = g_ptr_array_index (classes, c);
      int *index = g_new (int, 1);

      *index = c;
      class_ids[c] = klass->id;
      g_hash_table_insert (class_index, &class_ids[c], index);
      if (klass->n_current > 0)
        n_labelled_classes++;
    }
  if (n_labelled_classes < 2)
    {
      g_set_error (&local_error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "Analysis needs labelled samples in at least two classes (this project has %d)",
                   n_labelled_classes);
      goto out;
    }
  labels = g_new (int, n);
  weights = g_new (float, n);
  verified = g_new (gboolean, n);
  class_names = g_new0 (const char *, k + 1);
  for (int c = 0; c < k; c++)
    class_names[c] = ((CuratorDbClass *) g_ptr_array_index (classes, c))->name;
  for (gsize i = 0; i < n; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, i);
      int *index = s->current_label != 0 ? g_hash_table_lookup (class_index, &s->current_label) : NULL;

      labels[i] = index != NULL ? *index : -1;
      verified[i] = s->verified && labels[i] >= 0;
      weights[i] = verified[i] ? (float) options->verified_weight : 1.0f;
      if (labels[i] >= 0)
        report->n_labelled++;
    }
  report->n_samples = n;
  report->n_classes = k;
  groups = copy_groups (samples);

  params_json = params_to_json (options);
  versions_json = versions_to_json ();
  run_id = curator_db_begin_run (db, class_ids, k, params_json, versions_json, &local_error);
  if (run_id <= 0)
    goto out;
  report->run_id = run_id;

  /* An extractor named on the command line replaces the built-in features. */
  if (options->features != NULL)
    {
      t = g_get_monotonic_time ();
      stage_enter (&stage, 0.0, 0.5, "Computing features");
      if (!features_from_plugin (db, options, samples, &x, &x_flip, &f.dim, report, cancellable,
                                 &local_error))
        goto out;
      report->seconds_features = seconds_since (t);
      goto classify;
    }

  /* Dictionary: the cached one for these parameters, unless asked to learn anew. */
  t = g_get_monotonic_time ();
  {
    g_autofree char *params_key = curator_patch_params_dup_key (&options->patch);
    model_key = g_strconcat ("patch-model:", params_key, NULL);
  }
  if (!options->relearn)
    {
      g_autoptr(GBytes) blob = curator_db_get_model (db, model_key, NULL, NULL);

      if (blob != NULL)
        f.model = curator_patch_model_deserialize (blob, NULL);
    }
  report->dictionary_cached = f.model != NULL;
  need_all_pictures = f.model == NULL;

  frame = (gsize) options->patch.side * options->patch.side * 3;
  pixels = g_try_malloc0 (frame * MAX (n, 1));
  if (pixels == NULL)
    {
      g_set_error (&local_error, CURATOR_ERROR, CURATOR_ERROR_FAILED, "Out of memory for %" G_GSIZE_FORMAT " pictures", n);
      goto out;
    }

  if (need_all_pictures)
    {
      g_autofree guint *all = g_new (guint, MAX (n, 1));
      g_autofree const guint8 **images = g_new (const guint8 *, MAX (n, 1));
      g_autoptr(GBytes) blob = NULL;

      for (gsize i = 0; i < n; i++)
        all[i] = i;
      stage_enter (&stage, 0.0, 0.1, "Loading pictures");
      if (!load_pictures (db, samples, all, n, options->patch.side, pixels, cancellable, &stage, &local_error))
        goto out;
      report->seconds_load = seconds_since (t);

      t = g_get_monotonic_time ();
      stage_enter (&stage, 0.1, 0.1, "Learning the patch dictionary");
      for (gsize i = 0; i < n; i++)
        images[i] = pixels + frame * i;
      f.model = curator_patch_model_train (&options->patch, images, n, cancellable,
                                           stage_progress, &stage, &local_error);
      if (f.model == NULL)
        goto out;
      blob = curator_patch_model_serialize (f.model);
      if (!curator_db_put_model (db, model_key, blob, &local_error))
        goto out;
      report->seconds_dictionary = seconds_since (t);
    }

  /* Features: from the cache where they are, computed where not. */
  t = g_get_monotonic_time ();
  f.patch_dim = curator_patch_model_get_dim (f.model);
  f.dim = f.patch_dim + (options->color_hog ? CURATOR_COLOR_HOG_DIM : 0);
  f.key = features_key (f.model, options->color_hog, FALSE);
  f.flip_key = features_key (f.model, options->color_hog, TRUE);
  report->n_dims = f.dim;
  x = g_try_malloc (sizeof (float) * f.dim * MAX (n, 1));
  x_flip = options->flip ? g_try_malloc (sizeof (float) * f.dim * MAX (n, 1)) : NULL;
  if (x == NULL || (options->flip && x_flip == NULL))
    {
      g_set_error (&local_error, CURATOR_ERROR, CURATOR_ERROR_FAILED,
                   "Out of memory for %" G_GSIZE_FORMAT " x %d features", n, f.dim);
      goto out;
    }
  stage_enter (&stage, 0.2, 0.3, "Computing features");
  if (!features_from_cache (&f, samples, f.key, x, missing, cancellable, &local_error) ||
      (x_flip != NULL &&
       !features_from_cache (&f, samples, f.flip_key, x_flip, missing_flip, cancellable, &local_error)))
    goto out;
  report->n_features_cached = n - missing->len;
  report->n_features_computed = missing->len;

  if (missing->len > 0 || missing_flip->len > 0)
    {
      /* Pictures are needed for every sample missing either variant. */
      g_autoptr(GArray) need = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autofree gboolean *mark = g_new0 (gboolean, n);

      for (guint j = 0; j < missing->len; j++)
        mark[g_array_index (missing, guint, j)] = TRUE;
      for (guint j = 0; j < missing_flip->len; j++)
        mark[g_array_index (missing_flip, guint, j)] = TRUE;
      for (gsize i = 0; i < n; i++)
        if (mark[i])
          g_array_append_val (need, i);
      if (!need_all_pictures &&
          !load_pictures (db, samples, (guint *) need->data, need->len, options->patch.side, pixels,
                          cancellable, NULL, &local_error))
        goto out;

      for (int variant = 0; variant < 2; variant++)
        {
          GArray *list = variant == 0 ? missing : missing_flip;
          float *out = variant == 0 ? x : x_flip;

          if (out == NULL)
            continue;
          for (guint start = 0; start < list->len; start += FEATURE_CHUNK)
            {
              gsize m = MIN (FEATURE_CHUNK, list->len - start);

              if (!features_compute (&f, samples, &g_array_index (list, guint, start), m, pixels,
                                     variant == 1, out, &gemm_seconds, &gemm_flops, cancellable,
                                     &local_error))
                goto out;
              stage_progress ((0.5 * variant) + 0.5 * (double) (start + m) / list->len,
                              "Computing features", &stage);
            }
        }
    }
  g_clear_pointer (&pixels, g_free);
  /* gemm_seconds is summed over the worker threads: this is a per-core rate. */
  report->gemm_gflops_per_core = gemm_seconds > 0 ? gemm_flops / gemm_seconds / 1e9 : 0;
  report->seconds_features = seconds_since (t);

classify:
  /* Out-of-sample probabilities, then what is wrong; with self-training,
   * again on the confident suggestions. */
  reference = g_new (double, MAX (n, 1));
  if (!curator_issues_reference_p_label (db, (CuratorDbSample *const *) samples->pdata, n, run_id,
                                         reference, &local_error))
    goto out;
  probs = g_new (float, n * k);
  train_labels = g_memdup2 (labels, sizeof (int) * MAX (n, 1));
  train_weights = g_memdup2 (weights, sizeof (float) * MAX (n, 1));
  report->rounds = MAX (options->rounds, 1);
  for (int round = 0; round < report->rounds; round++)
    {
      CuratorIssuesInput input = {
        n, k, class_names, probs, labels, x, f.dim, verified, reference,
        (CuratorDbSample *const *) samples->pdata
      };
      double share = 0.47 / report->rounds;
      g_autofree char *message = report->rounds > 1
        ? g_strdup_printf ("Training the classifier (round %d of %d)", round + 1, report->rounds)
        : g_strdup ("Training the classifier");

      t = g_get_monotonic_time ();
      stage_enter (&stage, 0.5 + share * round, share * 0.9, message);
      CuratorClassifierParams params = options->classifier;
      if (round + 1 < report->rounds && options->early_repeats > 0)
        params.n_repeats = MIN (params.n_repeats, options->early_repeats);
      if (!curator_classifier_cross_val_predict (&params, x, x_flip, train_labels, train_weights, groups, n,
                                                 f.dim, k, probs, &report->classifier, cancellable,
                                                 stage_progress, &stage, &local_error))
        goto out;
      report->seconds_classifier += seconds_since (t);

      t = g_get_monotonic_time ();
      stage_enter (&stage, 0.5 + share * (round + 0.9), share * 0.1, "Looking for problems");
      {
        /* The features do not change between rounds: the next round
         * reuses this one's neighbour graph (most of the scoring work). */
        CuratorIssuesResult *next;

        if (issues != NULL)
          input.knn = issues->knn;
        next = curator_issues_analyze (&input, &options->issues, cancellable, &local_error);
        g_clear_pointer (&issues, curator_issues_result_free);
        issues = next;
      }
      if (issues == NULL)
        goto out;
      report->seconds_issues += seconds_since (t);

      if (round + 1 < report->rounds)
        {
          /* The next round learns from confident suggestions: a sample
           * flagged as mislabelled (or unlabelled) whose suggestion clears
           * its class's confident threshold (the mean self-probability of
           * that class, the bar confident learning itself uses) trains with
           * the suggestion. Measured end to end (`curator eval`): on the
           * noisy practice set flag F1 0.661 without self-training, 0.696
           * with this rule (0.681 with confidence >= 0.5 at weight 0.5;
           * 0.639 replacing every confident-learning flag, the naive way);
           * the long-tail set 0.694; a clean set stays under 5% flagged.
           * A person's label is never replaced; the project is not touched. */
          report->n_pseudo_labels = 0;
          memcpy (train_labels, labels, sizeof (int) * n);
          for (gsize i = 0; i < n; i++)
            {
              int suggestion = issues->suggested[i];

              train_weights[i] = weights[i];
              if (verified[i] || suggestion < 0 || suggestion == labels[i])
                continue;
              if (labels[i] >= 0 && !(issues->issues[i] & CURATOR_ISSUE_LABEL))
                continue;
              if (issues->suggestion_confidence[i] < issues->cl->thresholds[suggestion])
                continue;
              train_labels[i] = suggestion;
              train_weights[i] = (float) (weights[i] * PSEUDO_LABEL_WEIGHT);
              report->n_pseudo_labels++;
            }
        }
    }
  report->accuracy = curator_classifier_accuracy (probs, labels, n, k);
  report->macro_f1 = curator_classifier_macro_f1 (probs, labels, n, k);
  report->n_label_issues = issues->n_label_issues;
  report->n_suggestions = issues->n_suggestions;

  t = g_get_monotonic_time ();
  stage_enter (&stage, 0.97, 0.03, "Storing the results");
  if (!store_scores (db, run_id, samples, labels, class_ids, k, probs, issues, &local_error))
    goto out;
  {
    /* The neighbours and the per-class figures (minority classes). */
    g_autofree gint64 *sample_ids = g_new (gint64, MAX (n, 1));

    for (gsize i = 0; i < n; i++)
      sample_ids[i] = ((CuratorDbSample *) g_ptr_array_index (samples, i))->id;
    if (!curator_issues_store (db, run_id, sample_ids, class_ids, issues, &local_error))
      goto out;
  }
  report->seconds_store = seconds_since (t);
  report->seconds_total = seconds_since (started);
  {
    g_autofree char *timings = report_timings_json (report);
    g_autofree char *metrics = report_metrics_json (report);

    if (!curator_db_finish_run (db, run_id, "done", timings, metrics, &local_error))
      goto out;
  }
  stage_enter (&stage, 1.0, 0.0, "Done");
  ok = TRUE;

out:
  if (!ok && run_id > 0)
    {
      gboolean cancelled = g_error_matches (local_error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED) ||
                           g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_autofree char *timings = NULL;

      report->seconds_total = seconds_since (started);
      timings = report_timings_json (report);
      curator_db_finish_run (db, run_id, cancelled ? "cancelled" : "failed", timings, NULL, NULL);
    }
  if (local_error != NULL && local_error->domain == G_IO_ERROR && local_error->code == G_IO_ERROR_CANCELLED)
    {
      g_clear_error (&local_error);
      g_set_error (&local_error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED, "Analysis cancelled");
    }
  g_clear_pointer (&f.model, curator_patch_model_free);
  g_free (f.key);
  g_free (f.flip_key);
  close (lock_fd);
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return ok;
}

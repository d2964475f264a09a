/* curator-features.c: the Coates-Lee-Ng patch network: parameters, the
 * model (training, extraction, serialisation, cache keys), and a word with
 * OpenBLAS about which kernels it runs.
 *
 * Extraction of a batch of images, per worker:
 *   1. im2col: every patch becomes a row of patch*patch*3 floats, contrast-
 *      normalised and with the training mean taken out (one tight loop);
 *   2. whitening: rows * ZCA, one SGEMM;
 *   3. dot products with the centroids, one SGEMM (rows x dim x K), scaled
 *      by -2 so that |x - c|^2 = |x|^2 + |c|^2 + dot needs one add;
 *   4. triangle activation and sum-pooling, row by row while the row is in
 *      L1, then a square root per pooled value.
 * Batches hold a fixed number of images and each runs on one worker with
 * single-threaded BLAS: the workers are the parallelism, the per-row work of
 * steps 1 and 4 overlaps the other worker's products, and a batch's result
 * does not depend on which worker computed it. */
#include "curator-config.h"

#include "curator-features-private.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <unistd.h>

#include "curator-error.h"

/* Bumped whenever the features an unchanged model produces change. */
#define PATCH_ALGORITHM "coates-v1"
#define MODEL_MAGIC "CURPATCH"
#define MODEL_FORMAT_VERSION 1
#define MODEL_HASH_BYTES 32

/* Patch rows per batch (4 images of 32 pixels, 1 of 64): SGEMM is near
 * its peak from about a thousand rows, and a batch this small keeps the
 * products' outputs (rows x K floats) close to the worker's L2 cache for
 * the activation pass. Measured in CPU time per image: 729 to 2916 rows
 * alike, 5832 about 15% and 8192 about 25% slower. */
#define BATCH_TARGET_ROWS 2916

struct _CuratorPatchModel {
  CuratorPatchParams params;
  int    dim;          /* patch * patch * 3 */
  float *mean;         /* dim */
  float *zca;          /* dim x dim, symmetric */
  float *centroids;    /* n_centroids x dim, in whitened space */
  float *c2;           /* |centroid|^2 */
  char  *content_hash; /* hex SHA-256 of the serialised model */
};

/* ---- parameters ---------------------------------------------------------- */

void
curator_patch_params_init_default (CuratorPatchParams *params)
{
  g_return_if_fail (params != NULL);

  *params = (CuratorPatchParams) {
    .side = 32,
    .patch = 6,
    .n_centroids = 400,
    .pool = 3,
    .sqrt_norm = TRUE,
    .n_train_patches = 400000,
    .kmeans_iterations = 10,
    .seed = 1,
    .contrast_eps = 10.0,
    .zca_eps = 0.1,
    .n_threads = 0,
  };
}

gboolean
curator_patch_params_validate (const CuratorPatchParams *params,
                               GError                  **error)
{
  g_return_val_if_fail (params != NULL, FALSE);

#define INVALID(...) \
  G_STMT_START { \
    g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, __VA_ARGS__); \
    return FALSE; \
  } G_STMT_END

  if (params->patch < 1 || params->patch > 32)
    INVALID ("Patch size %d is not between 1 and 32", params->patch);
  /* The extractor holds all patches of an image at once: 256 pixels
   * already make 63,000 patches, a few hundred megabytes per worker. */
  if (params->side < params->patch || params->side > 256)
    INVALID ("Image side %d is not between the patch size %d and 256",
             params->side, params->patch);
  if (params->n_centroids < 1 || params->n_centroids > 65536)
    INVALID ("Number of centroids %d is not between 1 and 65536", params->n_centroids);
  if (params->pool < 1 || params->pool > params->side - params->patch + 1)
    INVALID ("Pooling grid %d is not between 1 and the %d patch positions per side",
             params->pool, params->side - params->patch + 1);
  if (params->n_train_patches < params->n_centroids || params->n_train_patches > 50000000)
    INVALID ("Training patches %d are fewer than the %d centroids or more than 50 million",
             params->n_train_patches, params->n_centroids);
  if (params->kmeans_iterations < 0 || params->kmeans_iterations > 1000)
    INVALID ("k-means iterations %d are not between 0 and 1000", params->kmeans_iterations);
  if (!(params->contrast_eps >= 0.0 && params->contrast_eps < 1e9))
    INVALID ("Contrast epsilon %g is not a non-negative number", params->contrast_eps);
  if (!(params->zca_eps > 0.0 && params->zca_eps < 1e9))
    INVALID ("Whitening epsilon %g is not a positive number", params->zca_eps);
  if (params->contrast_eps == 0.0 && params->patch == 1)
    INVALID ("A 1-pixel patch needs a positive contrast epsilon");
#undef INVALID
  return TRUE;
}

char *
curator_patch_params_dup_key (const CuratorPatchParams *params)
{
  char ceps[G_ASCII_DTOSTR_BUF_SIZE], zeps[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (params != NULL, NULL);

  g_ascii_formatd (ceps, sizeof ceps, "%.9g", params->contrast_eps);
  g_ascii_formatd (zeps, sizeof zeps, "%.9g", params->zca_eps);
  return g_strdup_printf (PATCH_ALGORITHM ";side=%d;patch=%d;k=%d;pool=%d;sqrt=%d;"
                          "ceps=%s;zeps=%s;ntrain=%d;iters=%d;seed=%" G_GUINT64_FORMAT,
                          params->side, params->patch, params->n_centroids, params->pool,
                          params->sqrt_norm ? 1 : 0, ceps, zeps, params->n_train_patches,
                          params->kmeans_iterations, params->seed);
}

/* ---- the model ----------------------------------------------------------- */

void
curator_patch_model_free (CuratorPatchModel *model)
{
  if (model == NULL)
    return;
  g_free (model->mean);
  g_free (model->zca);
  g_free (model->centroids);
  g_free (model->c2);
  g_free (model->content_hash);
  g_free (model);
}

/* Takes the three arrays. */
static CuratorPatchModel *
model_new_take (const CuratorPatchParams *params,
                float                    *mean,
                float                    *zca,
                float                    *centroids)
{
  CuratorPatchModel *model = g_new0 (CuratorPatchModel, 1);
  g_autoptr(GBytes) bytes = NULL;
  gsize n_bytes;
  const guint8 *data;

  model->params = *params;
  model->dim = params->patch * params->patch * 3;
  model->mean = mean;
  model->zca = zca;
  model->centroids = centroids;
  model->c2 = g_new (float, params->n_centroids);
  for (int k = 0; k < params->n_centroids; k++)
    {
      const float *c = centroids + (gsize) k * model->dim;
      double s = 0.0;
      for (int j = 0; j < model->dim; j++)
        s += (double) c[j] * c[j];
      model->c2[k] = (float) s;
    }

  /* The serialised form ends with the SHA-256 of everything before it. */
  bytes = curator_patch_model_serialize (model);
  data = g_bytes_get_data (bytes, &n_bytes);
  model->content_hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data,
                                                     n_bytes - MODEL_HASH_BYTES);
  return model;
}

CuratorPatchModel *
curator_patch_model_new (const CuratorPatchParams *params,
                         const float              *mean,
                         const float              *zca,
                         const float              *centroids,
                         GError                  **error)
{
  gsize dim;

  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (mean != NULL && zca != NULL && centroids != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!curator_patch_params_validate (params, error))
    return NULL;
  dim = (gsize) params->patch * params->patch * 3;
  return model_new_take (params,
                         g_memdup2 (mean, sizeof (float) * dim),
                         g_memdup2 (zca, sizeof (float) * dim * dim),
                         g_memdup2 (centroids, sizeof (float) * dim * params->n_centroids));
}

const CuratorPatchParams *
curator_patch_model_get_params (const CuratorPatchModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return &model->params;
}

int
curator_patch_model_get_dim (const CuratorPatchModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->params.n_centroids * model->params.pool * model->params.pool;
}

const float *
curator_patch_model_get_mean (const CuratorPatchModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->mean;
}

const float *
curator_patch_model_get_zca (const CuratorPatchModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->zca;
}

const float *
curator_patch_model_get_centroids (const CuratorPatchModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->centroids;
}

char *
curator_patch_model_dup_key (const CuratorPatchModel *model)
{
  g_autofree char *params_key = NULL;

  g_return_val_if_fail (model != NULL, NULL);

  params_key = curator_patch_params_dup_key (&model->params);
  return g_strdup_printf ("%s;model=%.16s", params_key, model->content_hash);
}

/* ---- serialisation ------------------------------------------------------- */

static void
put_u32 (GByteArray *out, guint32 v)
{
  guint32 le = GUINT32_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &le, 4);
}

static void
put_u64 (GByteArray *out, guint64 v)
{
  guint64 le = GUINT64_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &le, 8);
}

static void
put_f64 (GByteArray *out, double v)
{
  guint64 bits;
  memcpy (&bits, &v, 8);
  put_u64 (out, bits);
}

static void
put_floats (GByteArray *out, const float *v, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, &v[i], 4);
      put_u32 (out, bits);
    }
}

GBytes *
curator_patch_model_serialize (const CuratorPatchModel *model)
{
  const CuratorPatchParams *p;
  GByteArray *out;
  GChecksum *checksum;
  guint8 digest[MODEL_HASH_BYTES];
  gsize digest_len = sizeof digest;
  gsize dim;

  g_return_val_if_fail (model != NULL, NULL);

  p = &model->params;
  dim = model->dim;
  out = g_byte_array_new ();
  g_byte_array_append (out, (const guint8 *) MODEL_MAGIC, 8);
  put_u32 (out, MODEL_FORMAT_VERSION);
  put_u32 (out, (guint32) p->side);
  put_u32 (out, (guint32) p->patch);
  put_u32 (out, (guint32) p->n_centroids);
  put_u32 (out, (guint32) p->pool);
  put_u32 (out, p->sqrt_norm ? 1 : 0);
  put_u32 (out, (guint32) p->n_train_patches);
  put_u32 (out, (guint32) p->kmeans_iterations);
  put_u64 (out, p->seed);
  put_f64 (out, p->contrast_eps);
  put_f64 (out, p->zca_eps);
  put_floats (out, model->mean, dim);
  put_floats (out, model->zca, dim * dim);
  put_floats (out, model->centroids, dim * p->n_centroids);

  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, out->data, out->len);
  g_checksum_get_digest (checksum, digest, &digest_len);
  g_checksum_free (checksum);
  g_byte_array_append (out, digest, MODEL_HASH_BYTES);
  return g_byte_array_free_to_bytes (out);
}

typedef struct {
  const guint8 *data;
  gsize         len;
  gsize         pos;
} Reader;

static gboolean
get_u32 (Reader *r, guint32 *v)
{
  guint32 le;
  if (r->len - r->pos < 4)
    return FALSE;
  memcpy (&le, r->data + r->pos, 4);
  r->pos += 4;
  *v = GUINT32_FROM_LE (le);
  return TRUE;
}

static gboolean
get_int (Reader *r, int *v)
{
  guint32 u;
  if (!get_u32 (r, &u) || u > G_MAXINT)
    return FALSE;
  *v = (int) u;
  return TRUE;
}

static gboolean
get_u64 (Reader *r, guint64 *v)
{
  guint64 le;
  if (r->len - r->pos < 8)
    return FALSE;
  memcpy (&le, r->data + r->pos, 8);
  r->pos += 8;
  *v = GUINT64_FROM_LE (le);
  return TRUE;
}

static gboolean
get_f64 (Reader *r, double *v)
{
  guint64 bits;
  if (!get_u64 (r, &bits))
    return FALSE;
  memcpy (v, &bits, 8);
  return TRUE;
}

static float *
get_floats (Reader *r, gsize n)
{
  float *v;

  if ((r->len - r->pos) / 4 < n)
    return NULL;
  v = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      guint32 bits = 0;
      get_u32 (r, &bits);   /* cannot fail: the length was checked */
      memcpy (&v[i], &bits, 4);
    }
  return v;
}

CuratorPatchModel *
curator_patch_model_deserialize (GBytes  *bytes,
                                 GError **error)
{
  Reader r = { 0 };
  CuratorPatchParams p;
  guint32 version, sqrt_norm;
  g_autofree char *expected = NULL;
  g_autofree char *found = NULL;
  g_autofree float *mean = NULL;
  g_autofree float *zca = NULL;
  g_autofree float *centroids = NULL;
  gsize dim;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  r.data = g_bytes_get_data (bytes, &r.len);
  if (r.len < 8 + MODEL_HASH_BYTES || memcmp (r.data, MODEL_MAGIC, 8) != 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "Not a Curator patch model");
      return NULL;
    }
  r.pos = 8;
  if (!get_u32 (&r, &version))
    goto truncated;
  if (version != MODEL_FORMAT_VERSION)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "Patch model format version %u is not the version %d this program reads",
                   version, MODEL_FORMAT_VERSION);
      return NULL;
    }
  found = g_compute_checksum_for_data (G_CHECKSUM_SHA256, r.data, r.len - MODEL_HASH_BYTES);
  expected = g_malloc (2 * MODEL_HASH_BYTES + 1);
  for (int i = 0; i < MODEL_HASH_BYTES; i++)
    g_snprintf (expected + 2 * i, 3, "%02x", r.data[r.len - MODEL_HASH_BYTES + i]);
  if (strcmp (found, expected) != 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "Patch model is damaged (checksum mismatch)");
      return NULL;
    }
  r.len -= MODEL_HASH_BYTES;

  curator_patch_params_init_default (&p);
  if (!get_int (&r, &p.side) || !get_int (&r, &p.patch) || !get_int (&r, &p.n_centroids)
      || !get_int (&r, &p.pool) || !get_u32 (&r, &sqrt_norm) || !get_int (&r, &p.n_train_patches)
      || !get_int (&r, &p.kmeans_iterations) || !get_u64 (&r, &p.seed)
      || !get_f64 (&r, &p.contrast_eps) || !get_f64 (&r, &p.zca_eps))
    goto truncated;
  p.sqrt_norm = sqrt_norm != 0;
  if (!curator_patch_params_validate (&p, error))
    {
      g_prefix_error (error, "Patch model: ");
      return NULL;
    }
  dim = (gsize) p.patch * p.patch * 3;
  mean = get_floats (&r, dim);
  zca = mean != NULL ? get_floats (&r, dim * dim) : NULL;
  centroids = zca != NULL ? get_floats (&r, dim * p.n_centroids) : NULL;
  if (centroids == NULL)
    goto truncated;
  if (r.pos != r.len)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "Patch model has %" G_GSIZE_FORMAT " unexpected trailing bytes",
                   r.len - r.pos);
      return NULL;
    }
  return model_new_take (&p, g_steal_pointer (&mean), g_steal_pointer (&zca),
                         g_steal_pointer (&centroids));

truncated:
  g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "Patch model is truncated");
  return NULL;
}

/* ---- the per-row kernels --------------------------------------------------- */

/* Every patch of one side x side image as a row of dim floats, contrast-
 * normalised: (v - mean_patch) / sqrt (var_patch + eps), var with n - 1 as
 * in the paper's code, minus @mean (the training mean of normalised
 * patches; NULL while training). The patch sums are exact integers, from sliding
 * sums along rows and then down columns; each pixel becomes a float once.
 * @scratch holds side * side * 3 floats and 2 * side * n_pos integers. */
_CURATOR_HOT static void
image_to_rows (const guint8 *restrict pixels,
               int                   side,
               int                   patch,
               float                 contrast_eps,
               const float *restrict mean,
               float *restrict       rows,
               float *restrict       scratch)
{
  int n_pos = side - patch + 1;
  int row_len = patch * 3;
  int dim = patch * row_len;
  gsize stride = (gsize) side * 3;
  float *image = scratch;
  guint32 *row_sum = (guint32 *) (scratch + stride * side);   /* side x n_pos */
  guint32 *row_sum2 = row_sum + (gsize) side * n_pos;

  for (gsize i = 0; i < stride * side; i++)
    image[i] = pixels[i];
  for (int y = 0; y < side; y++)
    {
      const guint8 *p = pixels + y * stride;
      guint32 s = 0, s2 = 0;

      for (int i = 0; i < row_len; i++)
        {
          s += p[i];
          s2 += (guint32) p[i] * p[i];
        }
      row_sum[y * n_pos] = s;
      row_sum2[y * n_pos] = s2;
      for (int x = 1; x < n_pos; x++)
        {
          for (int c = 0; c < 3; c++)
            {
              guint32 in = p[(x - 1) * 3 + row_len + c], out = p[(x - 1) * 3 + c];
              s += in - out;
              s2 += in * in - out * out;
            }
          row_sum[y * n_pos + x] = s;
          row_sum2[y * n_pos + x] = s2;
        }
    }

  for (int y = 0; y < n_pos; y++)
    for (int x = 0; x < n_pos; x++)
      {
        float *dst = rows + ((gsize) y * n_pos + x) * dim;
        guint32 sum = 0, sum2 = 0;
        gint64 spread;
        float mu, inv;

        for (int dy = 0; dy < patch; dy++)
          {
            sum += row_sum[(y + dy) * n_pos + x];
            sum2 += row_sum2[(y + dy) * n_pos + x];
          }
        /* n sum2 - sum^2 = n (n - 1) var, exactly. */
        spread = (gint64) dim * sum2 - (gint64) sum * sum;
        mu = (float) sum / (float) dim;
        inv = (float) (1.0 / sqrt ((double) spread / ((double) dim * (dim - 1)) + contrast_eps));
        for (int dy = 0; dy < patch; dy++)
          {
            const float *src = image + (y + dy) * stride + (gsize) x * 3;
            float *d = dst + dy * row_len;
            int i = 0;

            if (mean != NULL)
              {
                const float *m = mean + dy * row_len;
                for (; i + 16 <= row_len; i += 16)
                  for (int l = 0; l < 16; l++)
                    d[i + l] = (src[i + l] - mu) * inv - m[i + l];
                for (; i < row_len; i++)
                  d[i] = (src[i] - mu) * inv - m[i];
              }
            else
              {
                for (; i + 16 <= row_len; i += 16)
                  for (int l = 0; l < 16; l++)
                    d[i + l] = (src[i + l] - mu) * inv;
                for (; i < row_len; i++)
                  d[i] = (src[i] - mu) * inv;
              }
          }
      }
}

/* Scratch floats image_to_rows () needs. */
static gsize
image_scratch_floats (int side, int patch)
{
  return (gsize) side * side * 3 + 2 * (gsize) side * (side - patch + 1);
}

/* Sum of squares, in a fixed order of 16 partial sums. */
_CURATOR_HOT static float
row_norm2 (const float *restrict x, int n)
{
  float part[16] = { 0 };
  int j = 0;

  for (; j + 16 <= n; j += 16)
    for (int l = 0; l < 16; l++)
      part[l] += x[j + l] * x[j + l];
  for (; j < n; j++)
    part[j & 15] += x[j] * x[j];
  for (int w = 8; w > 0; w /= 2)
    for (int l = 0; l < w; l++)
      part[l] += part[l + w];
  return part[0];
}

/* Triangle activation of one patch, added to its pooling cell: @d holds
 * -2 x.c_k on entry and is overwritten with the distances z_k. (Starting
 * the product from |c_k|^2 with beta = 1 would save the add, but copying
 * |c|^2 into every row costs more than SGEMM's own zeroing pass.) */
_CURATOR_HOT static void
activate_and_pool (float *restrict       d,
                   const float *restrict c2,
                   float                 x2,
                   int                   k_total,
                   float *restrict       cell)
{
  float part[16] = { 0 };
  float mu;
  int k = 0;

  for (; k + 16 <= k_total; k += 16)
    for (int l = 0; l < 16; l++)
      {
        float z2 = x2 + c2[k + l] + d[k + l];
        float z = sqrtf (z2 > 0.0f ? z2 : 0.0f);   /* rounding can make z2 < 0 */
        d[k + l] = z;
        part[l] += z;
      }
  for (; k < k_total; k++)
    {
      float z2 = x2 + c2[k] + d[k];
      float z = sqrtf (z2 > 0.0f ? z2 : 0.0f);
      d[k] = z;
      part[k & 15] += z;
    }
  for (int w = 8; w > 0; w /= 2)
    for (int l = 0; l < w; l++)
      part[l] += part[l + w];
  mu = part[0] / (float) k_total;

  for (k = 0; k + 16 <= k_total; k += 16)
    for (int l = 0; l < 16; l++)
      {
        float f = mu - d[k + l];
        cell[k + l] += f > 0.0f ? f : 0.0f;
      }
  for (; k < k_total; k++)
    {
      float f = mu - d[k];
      cell[k] += f > 0.0f ? f : 0.0f;
    }
}

static void
mirror_image (const guint8 *src, int side, guint8 *dst)
{
  for (int y = 0; y < side; y++)
    {
      const guint8 *s = src + (gsize) y * side * 3;
      guint8 *t = dst + (gsize) y * side * 3;
      for (int x = 0; x < side; x++)
        memcpy (t + (gsize) (side - 1 - x) * 3, s + (gsize) x * 3, 3);
    }
}

/* Cell index of every patch position: @pool bands per axis, band b covering
 * positions [round (b n / pool), round ((b + 1) n / pool)) as in the paper's
 * code (27 positions in 2 bands: 14 + 13). */
static int *
cell_of_position (int n_pos, int pool)
{
  int *cell = g_new (int, (gsize) n_pos * n_pos);
  g_autofree int *band = g_new (int, n_pos);

  for (int b = 0; b < pool; b++)
    {
      int from = (b * n_pos * 2 + pool) / (2 * pool);
      int to = ((b + 1) * n_pos * 2 + pool) / (2 * pool);
      for (int i = from; i < to; i++)
        band[i] = b;
    }
  for (int y = 0; y < n_pos; y++)
    for (int x = 0; x < n_pos; x++)
      cell[y * n_pos + x] = band[y] * pool + band[x];
  return cell;
}

/* ---- extraction ------------------------------------------------------------ */

/* For the statistics only. */
static double
thread_cpu_seconds (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return 0.0;
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
  float  *rows;      /* batch rows x dim */
  float  *white;     /* batch rows x dim */
  float  *dots;      /* batch rows x K */
  float  *x2;        /* batch rows */
  float  *cells;     /* pool^2 x K */
  guint8 *mirrored;  /* side^2 x 3 */
  float  *image;     /* image_to_rows () scratch */
  double  gemm_seconds;
  double  gemm_cpu_seconds;
  double  cpu_seconds;
} ExtractScratch;

typedef struct {
  const CuratorPatchModel *model;
  const guint8 *const     *images;
  gsize                    n_images;
  gboolean                 flip;
  float                   *out;
  int                      batch_images;
  int                      n_pos;      /* patch positions per axis */
  int                     *cell_of;    /* per patch position */
  ExtractScratch          *scratch;    /* per worker */
} ExtractCtx;

static void
extract_batch (gpointer data, int worker, gsize batch)
{
  ExtractCtx *ctx = data;
  const CuratorPatchModel *m = ctx->model;
  const CuratorPatchParams *p = &m->params;
  ExtractScratch *s = &ctx->scratch[worker];
  gsize first = batch * ctx->batch_images;
  int n_images = (int) MIN ((gsize) ctx->batch_images, ctx->n_images - first);
  int n_patches = ctx->n_pos * ctx->n_pos;
  int n_rows = n_images * n_patches;
  int dim = m->dim, k = p->n_centroids;
  int n_cells = p->pool * p->pool;
  int out_dim = n_cells * k;
  double cpu0 = thread_cpu_seconds (), t0, c0;

  for (int i = 0; i < n_images; i++)
    {
      const guint8 *pixels = ctx->images[first + i];
      if (ctx->flip)
        {
          mirror_image (pixels, p->side, s->mirrored);
          pixels = s->mirrored;
        }
      image_to_rows (pixels, p->side, p->patch, (float) p->contrast_eps, m->mean,
                     s->rows + (gsize) i * n_patches * dim, s->image);
    }

  t0 = g_get_monotonic_time () / 1e6;
  c0 = thread_cpu_seconds ();
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n_rows, dim, dim,
               1.0f, s->rows, dim, m->zca, dim, 0.0f, s->white, dim);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n_rows, k, dim,
               -2.0f, s->white, dim, m->centroids, dim, 0.0f, s->dots, k);
  s->gemm_seconds += g_get_monotonic_time () / 1e6 - t0;
  s->gemm_cpu_seconds += thread_cpu_seconds () - c0;

  for (int r = 0; r < n_rows; r++)
    s->x2[r] = row_norm2 (s->white + (gsize) r * dim, dim);

  for (int i = 0; i < n_images; i++)
    {
      float *out = ctx->out + (first + i) * out_dim;

      memset (s->cells, 0, sizeof (float) * out_dim);
      for (int q = 0; q < n_patches; q++)
        {
          int r = i * n_patches + q;
          activate_and_pool (s->dots + (gsize) r * k, m->c2, s->x2[r], k,
                             s->cells + (gsize) ctx->cell_of[q] * k);
        }
      if (p->sqrt_norm)
        for (int j = 0; j < out_dim; j++)
          out[j] = sqrtf (s->cells[j]);
      else
        memcpy (out, s->cells, sizeof (float) * out_dim);
    }
  s->cpu_seconds += thread_cpu_seconds () - cpu0;
}

gboolean
curator_patch_model_extract (const CuratorPatchModel *model,
                             const guint8 *const     *images,
                             gsize                    n_images,
                             gboolean                 flip,
                             float                   *out,
                             CuratorPatchStats       *stats,
                             GCancellable            *cancellable,
                             CuratorProgressFunc      progress,
                             gpointer                 progress_data,
                             GError                 **error)
{
  const CuratorPatchParams *p;
  ExtractCtx ctx = { 0 };
  CuratorParallel job = { 0 };
  gint64 started = g_get_monotonic_time ();
  g_autofree int *cell_of = NULL;
  g_autofree ExtractScratch *scratch = NULL;
  gsize n_batches, n_rows;
  int n_workers, n_patches;
  gboolean ok;

  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (images != NULL || n_images == 0, FALSE);
  g_return_val_if_fail (out != NULL || n_images == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  p = &model->params;
  ctx.n_pos = p->side - p->patch + 1;
  n_patches = ctx.n_pos * ctx.n_pos;
  ctx.batch_images = MAX (1, BATCH_TARGET_ROWS / n_patches);
  n_batches = (n_images + ctx.batch_images - 1) / ctx.batch_images;
  n_workers = _curator_parallel_n_workers (p->n_threads, n_batches);
  n_rows = (gsize) ctx.batch_images * n_patches;

  cell_of = cell_of_position (ctx.n_pos, p->pool);
  scratch = g_new0 (ExtractScratch, n_workers);
  for (int w = 0; w < n_workers; w++)
    {
      scratch[w].rows = g_new (float, n_rows * model->dim);
      scratch[w].white = g_new (float, n_rows * model->dim);
      scratch[w].dots = g_new (float, n_rows * p->n_centroids);
      scratch[w].x2 = g_new (float, n_rows);
      scratch[w].cells = g_new (float, (gsize) p->pool * p->pool * p->n_centroids);
      scratch[w].mirrored = g_new (guint8, (gsize) p->side * p->side * 3);
      scratch[w].image = g_new (float, image_scratch_floats (p->side, p->patch));
    }

  ctx.model = model;
  ctx.images = images;
  ctx.n_images = n_images;
  ctx.flip = flip;
  ctx.out = out;
  ctx.cell_of = cell_of;
  ctx.scratch = scratch;

  job.n_chunks = n_batches;
  job.n_workers = n_workers;
  job.func = extract_batch;
  job.ctx = &ctx;
  job.cancellable = cancellable;
  job.progress = progress;
  job.progress_data = progress_data;
  job.fraction_from = 0.0;
  job.fraction_to = 1.0;
  job.message = flip ? "Patch features (mirrored)" : "Patch features";

  _curator_blas_single_begin ();
  ok = _curator_parallel_run (&job, error);
  _curator_blas_single_end ();

  if (stats != NULL)
    {
      double per_row = 2.0 * model->dim * ((double) model->dim + p->n_centroids);
      *stats = (CuratorPatchStats) {
        .gemm_flops = per_row * (double) n_images * n_patches,
        .wall_seconds = (g_get_monotonic_time () - started) / 1e6,
        .n_workers = n_workers,
        .batch_images = ctx.batch_images,
      };
      for (int w = 0; w < n_workers; w++)
        {
          stats->gemm_seconds += scratch[w].gemm_seconds;
          stats->gemm_cpu_seconds += scratch[w].gemm_cpu_seconds;
          stats->cpu_seconds += scratch[w].cpu_seconds;
        }
    }
  for (int w = 0; w < n_workers; w++)
    {
      g_free (scratch[w].rows);
      g_free (scratch[w].white);
      g_free (scratch[w].dots);
      g_free (scratch[w].x2);
      g_free (scratch[w].cells);
      g_free (scratch[w].mirrored);
      g_free (scratch[w].image);
    }
  return ok;
}

/* ---- training -------------------------------------------------------------- */

typedef struct {
  float       *rows;   /* n x dim, whitened in place */
  gsize        n_rows;
  int          dim;
  const float *mean;
  const float *zca;
  float      **tmp;    /* per worker: WHITEN_CHUNK_ROWS x dim */
} WhitenCtx;

#define WHITEN_CHUNK_ROWS 8192

static void
whiten_chunk (gpointer data, int worker, gsize chunk)
{
  WhitenCtx *ctx = data;
  gsize start = chunk * WHITEN_CHUNK_ROWS;
  gsize n = MIN (WHITEN_CHUNK_ROWS, ctx->n_rows - start);
  float *rows = ctx->rows + start * ctx->dim;

  for (gsize i = 0; i < n; i++)
    for (int j = 0; j < ctx->dim; j++)
      rows[i * ctx->dim + j] -= ctx->mean[j];
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) n, ctx->dim, ctx->dim,
               1.0f, rows, ctx->dim, ctx->zca, ctx->dim, 0.0f, ctx->tmp[worker], ctx->dim);
  memcpy (rows, ctx->tmp[worker], sizeof (float) * n * ctx->dim);
}

typedef struct {
  CuratorProgressFunc progress;
  gpointer            data;
  double              from, to;
} ProgressSpan;

static void
progress_in_span (double fraction, const char *message, gpointer user_data)
{
  ProgressSpan *span = user_data;
  span->progress (span->from + (span->to - span->from) * CLAMP (fraction, 0.0, 1.0),
                  message, span->data);
}

CuratorPatchModel *
curator_patch_model_train (const CuratorPatchParams *params,
                           const guint8 *const      *images,
                           gsize                     n_images,
                           GCancellable             *cancellable,
                           CuratorProgressFunc       progress,
                           gpointer                  progress_data,
                           GError                  **error)
{
  CuratorRng rng;
  WhitenCtx wctx = { 0 };
  CuratorParallel job = { 0 };
  ProgressSpan span = { progress, progress_data, 0.15, 1.0 };
  gsize n = 0, dim;
  int n_pos, n_workers;
  gboolean ok;
  g_autofree float *rows = NULL;
  g_autofree float *mean = NULL;
  g_autofree float *zca = NULL;
  g_autofree float *centroids = NULL;
  g_autofree float **tmp = NULL;

  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (images != NULL && n_images > 0, NULL);
  g_return_val_if_fail (n_images < G_MAXUINT32, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!curator_patch_params_validate (params, error))
    return NULL;

  n = (gsize) params->n_train_patches;
  dim = (gsize) params->patch * params->patch * 3;
  n_pos = params->side - params->patch + 1;

  /* Random patches, contrast-normalised. One stream in a fixed order. */
  if (progress != NULL)
    progress (0.0, "Sampling patches", progress_data);
  _curator_rng_init (&rng, params->seed, 0x7061746368 /* "patch" */);
  rows = g_new (float, n * dim);
  {
    g_autofree guint8 *window = g_new (guint8, dim);
    g_autofree float *window_scratch = g_new (float, image_scratch_floats (params->patch, params->patch));

    for (gsize i = 0; i < n; i++)
      {
        const guint8 *pixels = images[_curator_rng_below (&rng, (guint32) n_images)];
        int y = (int) _curator_rng_below (&rng, (guint32) n_pos);
        int x = (int) _curator_rng_below (&rng, (guint32) n_pos);

        if (i % 65536 == 0 && _curator_check_cancelled (cancellable, "Training patch features", error))
          return NULL;
        /* A patch-sized image: image_to_rows () then gives that one patch. */
        for (int dy = 0; dy < params->patch; dy++)
          memcpy (window + (gsize) dy * params->patch * 3,
                  pixels + ((gsize) (y + dy) * params->side + x) * 3, (gsize) params->patch * 3);
        image_to_rows (window, params->patch, params->patch, (float) params->contrast_eps,
                       NULL, rows + i * dim, window_scratch);
      }
  }

  if (progress != NULL)
    progress (0.05, "Whitening", progress_data);
  if (_curator_check_cancelled (cancellable, "Training patch features", error))
    return NULL;
  mean = g_new (float, dim);
  zca = g_new (float, dim * dim);
  curator_zca_fit (rows, n, (int) dim, params->zca_eps, mean, zca);

  wctx.rows = rows;
  wctx.n_rows = n;
  wctx.dim = (int) dim;
  wctx.mean = mean;
  wctx.zca = zca;
  job.n_chunks = (n + WHITEN_CHUNK_ROWS - 1) / WHITEN_CHUNK_ROWS;
  n_workers = _curator_parallel_n_workers (params->n_threads, job.n_chunks);
  tmp = g_new0 (float *, n_workers);
  for (int w = 0; w < n_workers; w++)
    tmp[w] = g_new (float, (gsize) WHITEN_CHUNK_ROWS * dim);
  wctx.tmp = tmp;
  job.n_workers = n_workers;
  job.func = whiten_chunk;
  job.ctx = &wctx;
  job.cancellable = cancellable;
  job.progress = progress;
  job.progress_data = progress_data;
  job.fraction_from = 0.10;
  job.fraction_to = 0.15;
  job.message = "Whitening";
  _curator_blas_single_begin ();
  ok = _curator_parallel_run (&job, error);
  _curator_blas_single_end ();
  for (int w = 0; w < n_workers; w++)
    g_free (tmp[w]);
  if (!ok)
    return NULL;

  centroids = g_new (float, (gsize) params->n_centroids * dim);
  if (!_curator_kmeans (rows, n, (int) dim, params->n_centroids, params->kmeans_iterations,
                        params->seed, params->n_threads, centroids, NULL, cancellable,
                        progress != NULL ? progress_in_span : NULL, &span, error))
    return NULL;

  return model_new_take (params, g_steal_pointer (&mean), g_steal_pointer (&zca),
                         g_steal_pointer (&centroids));
}

/* ---- BLAS kernels ---------------------------------------------------------- */

const char *
curator_blas_get_corename (void)
{
  return openblas_get_corename ();
}

/* 2: AVX-512 kernels, 1: AVX2, 0: older. */
static int
core_level (const char *name)
{
  static const char *const avx512[] = { "skylakex", "cooperlake", "sapphirerapids" };
  static const char *const avx2[] = { "haswell", "zen", "skylake", "excavator" };

  for (gsize i = 0; i < G_N_ELEMENTS (avx512); i++)
    if (g_ascii_strcasecmp (name, avx512[i]) == 0)
      return 2;
  for (gsize i = 0; i < G_N_ELEMENTS (avx2); i++)
    if (g_ascii_strcasecmp (name, avx2[i]) == 0)
      return 1;
  return 0;
}

const char *
curator_blas_suggest_coretype (void)
{
  int can = 0;
  const char *name;

  if (g_getenv ("OPENBLAS_CORETYPE") != NULL)
    return NULL;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  /* __builtin_cpu_supports also checks that the OS saves the registers. */
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512vl") && __builtin_cpu_supports ("avx512dq"))
    can = 2;
  else if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    can = 1;
#endif
  name = openblas_get_corename ();
  if (name == NULL || can <= core_level (name))
    return NULL;
  return can == 2 ? "SkylakeX" : "Haswell";
}

void
curator_blas_ensure_fast_kernels (char **argv, gboolean uses_blas)
{
  const char *suggestion = curator_blas_suggest_coretype ();
  gboolean set_threads = !uses_blas && g_getenv ("OPENBLAS_NUM_THREADS") == NULL;

  if (suggestion == NULL || g_getenv ("CURATOR_NO_BLAS_REEXEC") != NULL)
    return;
  g_setenv ("OPENBLAS_CORETYPE", suggestion, TRUE);
  if (set_threads)
    g_setenv ("OPENBLAS_NUM_THREADS", "1", TRUE);
  execv ("/proc/self/exe", argv);
  /* Still here: keep the slow kernels; results are the same. */
  g_unsetenv ("OPENBLAS_CORETYPE");
  if (set_threads)
    g_unsetenv ("OPENBLAS_NUM_THREADS");
}

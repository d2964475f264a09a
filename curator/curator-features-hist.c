/* curator-features-hist.c: the cheap colour + gradient descriptor (see
 * curator-features.h for its definition). No learning and no BLAS: a
 * fraction of a millisecond per small image; chunks of images run on the
 * feature workers. */
#include "curator-config.h"

#include "curator-features-private.h"

#include <math.h>
#include <string.h>

#include "curator-error.h"

#define COLOR_BINS 64           /* 4 x 4 x 4 */
#define HOG_GRID 4
#define HOG_ORIENTATIONS 9
#define HOG_DIM (HOG_GRID * HOG_GRID * HOG_ORIENTATIONS)
#define HOG_CLIP 0.2f

G_STATIC_ASSERT (COLOR_BINS + HOG_DIM == CURATOR_COLOR_HOG_DIM);

static void
color_histogram (const guint8 *pixels, int side, float *out)
{
  gsize n = (gsize) side * side;
  guint32 counts[COLOR_BINS] = { 0 };

  for (gsize i = 0; i < n; i++)
    {
      const guint8 *p = pixels + i * 3;
      counts[(p[0] >> 6) * 16 + (p[1] >> 6) * 4 + (p[2] >> 6)]++;
    }
  for (int b = 0; b < COLOR_BINS; b++)
    out[b] = sqrtf ((float) counts[b] / (float) n);
}

static void
l2_normalise (float *v, int n)
{
  double s = 0.0;

  for (int i = 0; i < n; i++)
    s += (double) v[i] * v[i];
  if (s > 0.0)
    {
      float inv = (float) (1.0 / sqrt (s));
      for (int i = 0; i < n; i++)
        v[i] *= inv;
    }
}

static void
gradient_histogram (const guint8 *pixels, int side, float *luma, float *out)
{
  const float bin_width = (float) G_PI / HOG_ORIENTATIONS;

  for (gsize i = 0; i < (gsize) side * side; i++)
    {
      const guint8 *p = pixels + i * 3;
      luma[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    }
  memset (out, 0, sizeof (float) * HOG_DIM);

  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        int xl = MAX (x - 1, 0), xr = MIN (x + 1, side - 1);
        int yu = MAX (y - 1, 0), yd = MIN (y + 1, side - 1);
        float gx = luma[y * side + xr] - luma[y * side + xl];
        float gy = luma[yd * side + x] - luma[yu * side + x];
        float magnitude = sqrtf (gx * gx + gy * gy);
        float angle, position, frac;
        int b0, b1;
        float *cell;

        if (magnitude == 0.0f)
          continue;
        /* Unsigned orientation: a dark-to-light edge and its mirror
         * light-to-dark edge fall in the same bin. */
        angle = atan2f (gy, gx);
        if (angle < 0.0f)
          angle += (float) G_PI;
        if (angle >= (float) G_PI)
          angle -= (float) G_PI;
        /* Bin centres at (b + 0.5) * width; split the vote between the two
         * nearest, wrapping round at 180 degrees. */
        position = angle / bin_width - 0.5f;
        b0 = (int) floorf (position);
        frac = position - (float) b0;
        b1 = b0 + 1;
        b0 = (b0 + HOG_ORIENTATIONS) % HOG_ORIENTATIONS;
        b1 = b1 % HOG_ORIENTATIONS;
        cell = out + ((y * HOG_GRID / side) * HOG_GRID + (x * HOG_GRID / side)) * HOG_ORIENTATIONS;
        cell[b0] += (1.0f - frac) * magnitude;
        cell[b1] += frac * magnitude;
      }

  l2_normalise (out, HOG_DIM);
  for (int i = 0; i < HOG_DIM; i++)
    out[i] = MIN (out[i], HOG_CLIP);
  l2_normalise (out, HOG_DIM);
}

#define CHUNK_IMAGES 64

typedef struct {
  const guint8 *const *images;
  gsize                n_images;
  int                  side;
  gboolean             flip;
  float               *out;
  float              **luma;      /* per worker */
  guint8             **mirrored;  /* per worker */
} HistCtx;

static void
hist_chunk (gpointer data, int worker, gsize chunk)
{
  HistCtx *ctx = data;
  int side = ctx->side;
  gsize end = MIN ((chunk + 1) * CHUNK_IMAGES, ctx->n_images);

  for (gsize i = chunk * CHUNK_IMAGES; i < end; i++)
    {
      const guint8 *pixels = ctx->images[i];
      float *row = ctx->out + i * CURATOR_COLOR_HOG_DIM;

      if (ctx->flip)
        {
          guint8 *m = ctx->mirrored[worker];
          for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
              memcpy (m + ((gsize) y * side + (side - 1 - x)) * 3,
                      pixels + ((gsize) y * side + x) * 3, 3);
          pixels = m;
        }
      color_histogram (pixels, side, row);
      gradient_histogram (pixels, side, ctx->luma[worker], row + COLOR_BINS);
    }
}

gboolean
curator_color_hog_extract (const guint8 *const *images,
                           gsize                n_images,
                           int                  side,
                           gboolean             flip,
                           float               *out,
                           GCancellable        *cancellable,
                           CuratorProgressFunc  progress,
                           gpointer             progress_data,
                           GError             **error)
{
  HistCtx ctx = { images, n_images, side, flip, out, NULL, NULL };
  CuratorParallel job = { 0 };
  int n_workers;
  gboolean ok;

  g_return_val_if_fail (images != NULL || n_images == 0, FALSE);
  g_return_val_if_fail (out != NULL || n_images == 0, FALSE);
  g_return_val_if_fail (side >= HOG_GRID && side <= 4096, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  job.n_chunks = (n_images + CHUNK_IMAGES - 1) / CHUNK_IMAGES;
  n_workers = _curator_parallel_n_workers (0, job.n_chunks);
  ctx.luma = g_new0 (float *, n_workers);
  ctx.mirrored = g_new0 (guint8 *, n_workers);
  for (int w = 0; w < n_workers; w++)
    {
      ctx.luma[w] = g_new (float, (gsize) side * side);
      ctx.mirrored[w] = g_new (guint8, (gsize) side * side * 3);
    }
  job.n_workers = n_workers;
  job.func = hist_chunk;
  job.ctx = &ctx;
  job.cancellable = cancellable;
  job.progress = progress;
  job.progress_data = progress_data;
  job.fraction_from = 0.0;
  job.fraction_to = 1.0;
  job.message = "Colour and gradient features";
  ok = _curator_parallel_run (&job, error);

  for (int w = 0; w < n_workers; w++)
    {
      g_free (ctx.luma[w]);
      g_free (ctx.mirrored[w]);
    }
  g_free (ctx.luma);
  g_free (ctx.mirrored);
  return ok;
}

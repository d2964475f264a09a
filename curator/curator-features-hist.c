/* curator-features-hist.c: the cheap colour + gradient descriptor (see
 * curator-features.h for its definition). No learning and no BLAS: a
 * fraction of a millisecond per small image, so one thread does it. */
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
  g_autofree float *luma = NULL;
  g_autofree guint8 *mirrored = NULL;
  gint64 last_report = 0;

  g_return_val_if_fail (images != NULL || n_images == 0, FALSE);
  g_return_val_if_fail (out != NULL || n_images == 0, FALSE);
  g_return_val_if_fail (side >= HOG_GRID && side <= 4096, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  luma = g_new (float, (gsize) side * side);
  mirrored = g_new (guint8, (gsize) side * side * 3);
  for (gsize i = 0; i < n_images; i++)
    {
      const guint8 *pixels = images[i];
      float *row = out + i * CURATOR_COLOR_HOG_DIM;

      if (i % 256 == 0)
        {
          gint64 now = g_get_monotonic_time ();
          if (_curator_check_cancelled (cancellable, "Colour and gradient features", error))
            return FALSE;
          if (progress != NULL && now - last_report >= 100000)
            {
              last_report = now;
              progress ((double) i / (double) n_images, "Colour and gradient features",
                        progress_data);
            }
        }
      if (flip)
        {
          for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
              memcpy (mirrored + ((gsize) y * side + (side - 1 - x)) * 3,
                      pixels + ((gsize) y * side + x) * 3, 3);
          pixels = mirrored;
        }
      color_histogram (pixels, side, row);
      gradient_histogram (pixels, side, luma, row + COLOR_BINS);
    }
  if (progress != NULL)
    progress (1.0, "Colour and gradient features", progress_data);
  return TRUE;
}

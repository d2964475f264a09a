/* curator-image.c: the format-neutral half of image handling.
 *
 * Sniffing by magic bytes, the CuratorRgb raster, resizing, EXIF orientation
 * of a raster, and the decode entry point that hands the bytes to the PNG or
 * JPEG decoder. Everything here works on memory the caller owns and keeps no
 * state, so it is safe from any thread. */
#include "curator-config.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "curator-error.h"
#include "curator-image.h"
#include "curator-image-private.h"

static const guint8 png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
static const guint8 jpeg_signature[3] = { 0xff, 0xd8, 0xff };

const char *
curator_image_format_to_string (CuratorImageFormat format)
{
  switch (format)
    {
    case CURATOR_IMAGE_FORMAT_PNG:
      return "png";
    case CURATOR_IMAGE_FORMAT_JPEG:
      return "jpeg";
    case CURATOR_IMAGE_FORMAT_UNKNOWN:
    default:
      return NULL;
    }
}

CuratorImageFormat
curator_image_sniff_format (const guint8 *data,
                            gsize         n_bytes)
{
  g_return_val_if_fail (data != NULL || n_bytes == 0, CURATOR_IMAGE_FORMAT_UNKNOWN);

  if (n_bytes >= sizeof png_signature
      && memcmp (data, png_signature, sizeof png_signature) == 0)
    return CURATOR_IMAGE_FORMAT_PNG;
  if (n_bytes >= sizeof jpeg_signature
      && memcmp (data, jpeg_signature, sizeof jpeg_signature) == 0)
    return CURATOR_IMAGE_FORMAT_JPEG;
  return CURATOR_IMAGE_FORMAT_UNKNOWN;
}

/* A file cut off inside its signature is a truncated image, not a foreign
 * format: the person wants to hear the former. Two bytes are asked for so
 * that a lone 0x89 or 0xff byte is not taken for an image. */
static gboolean
is_truncated_signature (const guint8 *data,
                        gsize         n_bytes)
{
  if (n_bytes < 2)
    return FALSE;
  if (n_bytes < sizeof png_signature && memcmp (data, png_signature, n_bytes) == 0)
    return TRUE;
  if (n_bytes < sizeof jpeg_signature && memcmp (data, jpeg_signature, n_bytes) == 0)
    return TRUE;
  return FALSE;
}

/* ---- rasters ----------------------------------------------------------- */

CuratorRgb *
curator_rgb_new (int width,
                 int height)
{
  CuratorRgb *image;

  g_return_val_if_fail (width > 0 && height > 0, NULL);
  g_return_val_if_fail ((guint64) width * (guint64) height <= (guint64) CURATOR_IMAGE_MAX_PIXELS, NULL);

  image = g_new (CuratorRgb, 1);
  image->width = width;
  image->height = height;
  image->pixels = g_malloc0_n ((gsize) width * (gsize) height, 3);
  return image;
}

void
curator_rgb_free (CuratorRgb *image)
{
  if (image == NULL)
    return;
  g_free (image->pixels);
  g_free (image);
}

CuratorRgb *
_curator_rgb_try_new (int      width,
                      int      height,
                      GError **error)
{
  CuratorRgb *image;
  guint8 *pixels;

  g_return_val_if_fail (width > 0 && height > 0, NULL);

  pixels = g_try_malloc_n ((gsize) width * (gsize) height, 3);
  if (pixels == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_CORRUPT_IMAGE,
                   "not enough memory to decode a %dx%d image", width, height);
      return NULL;
    }
  image = g_new (CuratorRgb, 1);
  image->width = width;
  image->height = height;
  image->pixels = pixels;
  return image;
}

gboolean
_curator_image_check_size (guint64   width,
                           guint64   height,
                           GError  **error)
{
  /* Both factors are below 2^32 in every caller, so the product fits. */
  if (width == 0 || height == 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_CORRUPT_IMAGE,
                   "image header claims %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT " pixels",
                   width, height);
      return FALSE;
    }
  if (width * height > (guint64) CURATOR_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_CORRUPT_IMAGE,
                   "image header claims %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                   " pixels (limit %d Mpx)",
                   width, height, (int) (CURATOR_IMAGE_MAX_PIXELS / 1000000));
      return FALSE;
    }
  return TRUE;
}

/* ---- resizing ------------------------------------------------------------
 *
 * Separable and exact in integers. Each axis gets a table of taps: for
 * output i, source samples first[i] .. first[i] + n_taps - 1 with integer
 * weights that sum to the axis's denominator. Shrinking uses area coverage:
 * measured in units of 1/out of a source pixel, output i covers
 * [i*in, (i+1)*in) and source j covers [j*out, (j+1)*out), so the overlaps
 * are integers summing to `in`; an integer factor therefore gives exactly
 * the rounded mean of the block. Growing is bilinear between pixel centres
 * (in units of 1/(2*out), again integers). The result is
 * round(sum / (denom_x * denom_y)), never above 255 since the weights are
 * convex. */

/* Far beyond any decodable image (PNG <= 10^6 rows, JPEG <= 65500). */
#define RESIZE_MAX_HEIGHT (1 << 23)

typedef struct {
  int     *first;
  int     *n_taps;
  guint32 *weights;   /* n_out * max_taps, taps past n_taps[i] have weight 0 */
  int      max_taps;
  guint32  denom;
} Taps;

static void
taps_clear (Taps *taps)
{
  g_free (taps->first);
  g_free (taps->n_taps);
  g_free (taps->weights);
}

static void
taps_init (Taps *taps,
           int   n_in,
           int   n_out)
{
  taps->first = g_new (int, n_out);
  taps->n_taps = g_new (int, n_out);

  if (n_out <= n_in)
    {
      gint64 in = n_in, out = n_out;

      /* An output spans in/out source pixels, touching at most two partly. */
      taps->max_taps = (int) ((in + out - 1) / out) + 1;
      taps->weights = g_new0 (guint32, (gsize) n_out * (gsize) taps->max_taps);
      taps->denom = (guint32) n_in;
      for (gint64 i = 0; i < out; i++)
        {
          gint64 lo = i * in, hi = (i + 1) * in;
          gint64 first = lo / out, last = (hi - 1) / out;
          guint32 *w = taps->weights + i * taps->max_taps;

          g_assert (last - first < taps->max_taps);
          taps->first[i] = (int) first;
          taps->n_taps[i] = (int) (last - first + 1);
          for (gint64 j = first; j <= last; j++)
            w[j - first] = (guint32) (MIN ((j + 1) * out, hi) - MAX (j * out, lo));
        }
    }
  else
    {
      gint64 in = n_in, out = n_out, d = 2 * out;

      taps->max_taps = 2;
      taps->weights = g_new0 (guint32, (gsize) n_out * 2);
      taps->denom = (guint32) d;
      for (gint64 i = 0; i < out; i++)
        {
          gint64 s = (2 * i + 1) * in - out;   /* centre of output i, in 1/d source px */
          guint32 *w = taps->weights + i * 2;

          if (s <= 0)
            {
              taps->first[i] = 0;
              taps->n_taps[i] = 1;
              w[0] = (guint32) d;
            }
          else if (s / d >= in - 1)
            {
              taps->first[i] = (int) (in - 1);
              taps->n_taps[i] = 1;
              w[0] = (guint32) d;
            }
          else
            {
              taps->first[i] = (int) (s / d);
              taps->n_taps[i] = 2;
              w[0] = (guint32) (d - s % d);
              w[1] = (guint32) (s % d);
            }
        }
    }
}

/* The vertical pass: a weighted source row into the accumulators. It
 * touches every source byte, so it gets SSE2 (part of x86-64; GCC's -O2
 * does not vectorise this loop): 16 bytes widened to 32 bits per step. */
static void
accumulate_row (guint32       *restrict acc,
                const guint8  *restrict row,
                guint32                 weight,
                gsize                   n,
                gboolean                first)
{
  gsize k = 0;

#ifdef __SSE2__
  if (weight <= G_MAXUINT16)
    {
      const __m128i w = _mm_set1_epi16 ((short) weight);
      const __m128i zero = _mm_setzero_si128 ();

      for (; k + 16 <= n; k += 16)
        {
          __m128i v = _mm_loadu_si128 ((const __m128i *) (row + k));
          __m128i lo = _mm_unpacklo_epi8 (v, zero), hi = _mm_unpackhi_epi8 (v, zero);
          __m128i lo_l = _mm_mullo_epi16 (lo, w), lo_h = _mm_mulhi_epu16 (lo, w);
          __m128i hi_l = _mm_mullo_epi16 (hi, w), hi_h = _mm_mulhi_epu16 (hi, w);
          __m128i p[4] = {
            _mm_unpacklo_epi16 (lo_l, lo_h), _mm_unpackhi_epi16 (lo_l, lo_h),
            _mm_unpacklo_epi16 (hi_l, hi_h), _mm_unpackhi_epi16 (hi_l, hi_h),
          };
          __m128i *a = (__m128i *) (acc + k);

          for (int i = 0; i < 4; i++)
            _mm_storeu_si128 (a + i, first ? p[i] : _mm_add_epi32 (p[i], _mm_loadu_si128 (a + i)));
        }
    }
#endif

  if (first)
    for (; k < n; k++)
      acc[k] = weight * row[k];
  else
    for (; k < n; k++)
      acc[k] += weight * row[k];
}

/* round(sum / denom) as (sum + denom/2) / denom, exactly, without a 64-bit
 * division per sample: a floating-point estimate, then corrected (once for
 * any sane shape; the loops only matter for sums beyond 2^52). */
static inline guint8
divide_rounded (guint64 sum,
                guint64 denom,
                guint64 half,
                double  inverse)
{
  guint64 n = sum + half;
  guint64 q = (guint64) ((double) n * inverse);

  while (q * denom > n)
    q--;
  while ((q + 1) * denom <= n)
    q++;
  return (guint8) q;
}

/* Resizes a packed raster of @channels 8-bit channels (1 to 4). Vertical
 * taps are summed into one row of accumulators first, so the scratch memory
 * is one source row whatever the size. The 32-bit accumulators hold at most
 * 255 * denom_y, which RESIZE_MAX_HEIGHT keeps below 2^32. */
void
_curator_resize_u8 (const guint8 *src,
                    int           src_width,
                    int           src_height,
                    int           channels,
                    guint8       *dst,
                    int           dst_width,
                    int           dst_height)
{
  Taps tx, ty;
  g_autofree guint32 *acc = NULL;
  gsize src_stride = (gsize) src_width * channels;
  guint64 denom, half;
  double inverse;

  g_assert (channels >= 1 && channels <= 4);
  g_assert (src_height <= RESIZE_MAX_HEIGHT && dst_height <= RESIZE_MAX_HEIGHT / 2);

  if (src_width == dst_width && src_height == dst_height)
    {
      memcpy (dst, src, src_stride * src_height);
      return;
    }

  taps_init (&tx, src_width, dst_width);
  taps_init (&ty, src_height, dst_height);
  denom = (guint64) tx.denom * ty.denom;
  half = denom / 2;
  inverse = 1.0 / (double) denom;
  acc = g_new (guint32, src_stride);

  for (int y = 0; y < dst_height; y++)
    {
      const guint32 *wy = ty.weights + (gsize) y * ty.max_taps;
      guint8 *out = dst + (gsize) y * dst_width * channels;

      for (int t = 0; t < ty.n_taps[y]; t++)
        accumulate_row (acc, src + (gsize) (ty.first[y] + t) * src_stride, wy[t], src_stride, t == 0);

      if (channels == 3)
        for (int x = 0; x < dst_width; x++)
          {
            const guint32 *wx = tx.weights + (gsize) x * tx.max_taps;
            const guint32 *a = acc + (gsize) tx.first[x] * 3;
            guint64 r = 0, g = 0, b = 0;

            for (int t = 0; t < tx.n_taps[x]; t++, a += 3)
              {
                r += (guint64) wx[t] * a[0];
                g += (guint64) wx[t] * a[1];
                b += (guint64) wx[t] * a[2];
              }
            out[3 * x + 0] = divide_rounded (r, denom, half, inverse);
            out[3 * x + 1] = divide_rounded (g, denom, half, inverse);
            out[3 * x + 2] = divide_rounded (b, denom, half, inverse);
          }
      else
        for (int x = 0; x < dst_width; x++)
          {
            const guint32 *wx = tx.weights + (gsize) x * tx.max_taps;
            const guint32 *a = acc + (gsize) tx.first[x] * channels;
            guint64 sum[4] = { 0, 0, 0, 0 };

            for (int t = 0; t < tx.n_taps[x]; t++, a += channels)
              for (int c = 0; c < channels; c++)
                sum[c] += (guint64) wx[t] * a[c];
            for (int c = 0; c < channels; c++)
              out[x * channels + c] = divide_rounded (sum[c], denom, half, inverse);
          }
    }

  taps_clear (&tx);
  taps_clear (&ty);
}

CuratorRgb *
curator_rgb_resize (const CuratorRgb *image,
                    int               width,
                    int               height)
{
  CuratorRgb *result;

  g_return_val_if_fail (image != NULL, NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);
  g_return_val_if_fail (image->height <= RESIZE_MAX_HEIGHT && height <= RESIZE_MAX_HEIGHT / 2, NULL);

  result = curator_rgb_new (width, height);
  _curator_resize_u8 (image->pixels, image->width, image->height, 3,
                      result->pixels, width, height);
  return result;
}

/* ---- EXIF orientation ----------------------------------------------------
 *
 * For output pixel (ox, oy) of an oriented W x H raster, which stored pixel
 * to take. Orientations 5..8 swap the sides. */
CuratorRgb *
_curator_rgb_orient (CuratorRgb  *image,
                     int          orientation,
                     GError     **error)
{
  int w = image->width, h = image->height;
  gboolean swap = orientation >= 5 && orientation <= 8;
  int out_w = swap ? h : w, out_h = swap ? w : h;
  CuratorRgb *result;

  if (orientation < 2 || orientation > 8)
    return image;

  result = _curator_rgb_try_new (out_w, out_h, error);
  if (result == NULL)
    {
      curator_rgb_free (image);
      return NULL;
    }

  for (int oy = 0; oy < out_h; oy++)
    {
      guint8 *out = result->pixels + (gsize) oy * out_w * 3;

      for (int ox = 0; ox < out_w; ox++)
        {
          int ix, iy;
          const guint8 *in;

          switch (orientation)
            {
            case 2: ix = w - 1 - ox; iy = oy;         break; /* mirrored */
            case 3: ix = w - 1 - ox; iy = h - 1 - oy; break; /* upside down */
            case 4: ix = ox;         iy = h - 1 - oy; break; /* flipped */
            case 5: ix = oy;         iy = ox;         break; /* transposed */
            case 6: ix = oy;         iy = h - 1 - ox; break; /* needs 90 clockwise */
            case 7: ix = w - 1 - oy; iy = h - 1 - ox; break; /* transversed */
            case 8: ix = w - 1 - oy; iy = ox;         break; /* needs 90 anticlockwise */
            default: g_assert_not_reached ();
            }
          in = image->pixels + ((gsize) iy * w + ix) * 3;
          out[ox * 3 + 0] = in[0];
          out[ox * 3 + 1] = in[1];
          out[ox * 3 + 2] = in[2];
        }
    }

  curator_rgb_free (image);
  return result;
}

/* ---- decoding ----------------------------------------------------------- */

CuratorRgb *
_curator_image_decode_scaled (const guint8      *data,
                              gsize              n_bytes,
                              int                max_side,
                              CuratorScaleRule   rule,
                              CuratorImageInfo  *info,
                              int               *scale_num,
                              GError           **error)
{
  CuratorImageInfo local_info;
  int local_scale;

  g_return_val_if_fail (data != NULL || n_bytes == 0, NULL);
  g_return_val_if_fail (max_side >= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (info == NULL)
    info = &local_info;
  if (scale_num == NULL)
    scale_num = &local_scale;
  memset (info, 0, sizeof *info);
  *scale_num = _CURATOR_JPEG_SCALE_DENOM;

  if (n_bytes == 0)
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_CORRUPT_IMAGE,
                           "file is empty");
      return NULL;
    }

  switch (curator_image_sniff_format (data, n_bytes))
    {
    case CURATOR_IMAGE_FORMAT_PNG:
      return _curator_png_decode (data, n_bytes, info, error);
    case CURATOR_IMAGE_FORMAT_JPEG:
      return _curator_jpeg_decode (data, n_bytes, max_side, rule, info, scale_num, error);
    case CURATOR_IMAGE_FORMAT_UNKNOWN:
    default:
      break;
    }

  if (is_truncated_signature (data, n_bytes))
    g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_CORRUPT_IMAGE,
                         "file is truncated");
  else
    g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_UNSUPPORTED_FORMAT,
                         "not a PNG or JPEG file");
  return NULL;
}

CuratorRgb *
curator_image_decode (const guint8      *data,
                      gsize              n_bytes,
                      int                max_side,
                      CuratorImageInfo  *info,
                      GError           **error)
{
  return _curator_image_decode_scaled (data, n_bytes, max_side, CURATOR_SCALE_COVER_SHORT_SIDE,
                                       info, NULL, error);
}

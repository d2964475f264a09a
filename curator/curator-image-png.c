/* curator-image-png.c: PNG to 8-bit RGB with libpng, and RGB to PNG.
 *
 * libpng reports errors by calling a function that must not return; ours
 * copies the message into the decoder and longjmps back to the one setjmp,
 * where it becomes a GError. Warnings are dropped: libpng never prints.
 * Everything that lives across the setjmp is in a struct reached through a
 * pointer, so nothing depends on the value of a non-volatile local after
 * longjmp.
 *
 * Every PNG flavour is brought to 8-bit RGB by libpng's transformations
 * (expand palette, low-bit grey and tRNS; scale 16 bit with rounding; grey to
 * RGB). Alpha is then composited over white, in integers, so transparent
 * pixels read as a page would show them and the result is exact and
 * repeatable. No gamma or colour-profile correction is done: the pixels are
 * the stored values. */
#include "curator-config.h"

#include <png.h>
#include <string.h>

#include "curator-error.h"
#include "curator-image.h"
#include "curator-image-private.h"

/* Chunks other than the image's own are not needed; these bound what a
 * hostile file can make libpng keep around. */
#define PNG_CHUNK_CACHE_MAX 128
#define PNG_CHUNK_MALLOC_MAX (8 * 1024 * 1024)

typedef struct {
  /* input */
  const guint8 *data;
  gsize         n_bytes;
  gsize         pos;

  /* owned, freed by the caller of png_decode_run whatever happens */
  png_structp   png;
  png_infop     png_info;
  CuratorRgb   *image;
  guint8       *scratch;         /* one RGBA row, or the whole RGBA image when interlaced */
  png_bytep    *rows;            /* row pointers for interlaced images */

  /* result */
  GError       *error;           /* set before a longjmp when the text is ours */
  char          message[256];    /* libpng's text otherwise */
} PngDecoder;

static void
png_error_cb (png_structp     png,
              png_const_charp message)
{
  PngDecoder *d = png_get_error_ptr (png);
  const char *suffix = ": CRC error";

  /* png_chunk_error writes "NAME: CRC error"; say what it means. */
  if (g_str_has_suffix (message, suffix) && strlen (message) == 4 + strlen (suffix))
    g_snprintf (d->message, sizeof d->message, "bad CRC in PNG chunk %.4s", message);
  else
    g_strlcpy (d->message, message, sizeof d->message);
  png_longjmp (png, 1);
}

static void
png_warning_cb (png_structp     png,
                png_const_charp message)
{
}

static void
png_read_cb (png_structp png,
             png_bytep   out,
             png_size_t  length)
{
  PngDecoder *d = png_get_io_ptr (png);

  if (d->n_bytes - d->pos < length)
    png_error (png, "file is truncated");
  memcpy (out, d->data + d->pos, length);
  d->pos += length;
}

/* out = c * a + 255 * (1 - a), in 0..255 integers, rounded. */
static inline guint8
over_white (guint c,
            guint a)
{
  return (guint8) ((c * a + 255u * (255u - a) + 127u) / 255u);
}

static void
composite_row (guint8       *out,
               const guint8 *rgba,
               int           width)
{
  for (int x = 0; x < width; x++)
    {
      guint a = rgba[3];

      out[0] = over_white (rgba[0], a);
      out[1] = over_white (rgba[1], a);
      out[2] = over_white (rgba[2], a);
      out += 3;
      rgba += 4;
    }
}

/* Runs libpng on @d. The only setjmp; returns FALSE after a longjmp with
 * d->error or d->message telling why. */
static gboolean
png_decode_run (PngDecoder       *d,
                CuratorImageInfo *info)
{
  png_uint_32 width, height;
  int bit_depth, color_type, interlace, n_passes, channels;
  gboolean has_trns;

  if (setjmp (png_jmpbuf (d->png)))
    return FALSE;

  png_set_read_fn (d->png, d, png_read_cb);
  png_set_user_limits (d->png, PNG_USER_WIDTH_MAX, PNG_USER_HEIGHT_MAX);
  png_set_chunk_cache_max (d->png, PNG_CHUNK_CACHE_MAX);
  png_set_chunk_malloc_max (d->png, PNG_CHUNK_MALLOC_MAX);
  /* Text, profiles, gamma and private chunks carry nothing we use (the
   * negative count keeps IHDR, PLTE, tRNS, IDAT and IEND); skipping them
   * also spares decompressing zTXt and iCCP. */
  png_set_keep_unknown_chunks (d->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);

  png_read_info (d->png, d->png_info);
  png_get_IHDR (d->png, d->png_info, &width, &height, &bit_depth, &color_type,
                &interlace, NULL, NULL);

  if (!_curator_image_check_size (width, height, &d->error))
    png_longjmp (d->png, 1);

  has_trns = png_get_valid (d->png, d->png_info, PNG_INFO_tRNS) != 0;
  switch (color_type)
    {
    case PNG_COLOR_TYPE_GRAY:       info->channels = has_trns ? 2 : 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: info->channels = 2;                break;
    case PNG_COLOR_TYPE_PALETTE:    info->channels = has_trns ? 4 : 3; break;
    case PNG_COLOR_TYPE_RGB:        info->channels = has_trns ? 4 : 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA:  info->channels = 4;                break;
    default:
      png_error (d->png, "unknown PNG colour type");
    }
  info->format = CURATOR_IMAGE_FORMAT_PNG;
  info->width = (int) width;
  info->height = (int) height;

  png_set_expand (d->png);
  png_set_scale_16 (d->png);
  png_set_gray_to_rgb (d->png);
  n_passes = png_set_interlace_handling (d->png);
  png_read_update_info (d->png, d->png_info);

  channels = png_get_channels (d->png, d->png_info);
  if ((channels != 3 && channels != 4)
      || png_get_bit_depth (d->png, d->png_info) != 8
      || png_get_rowbytes (d->png, d->png_info) != (gsize) width * channels)
    png_error (d->png, "PNG transformations gave an unexpected pixel layout");

  d->image = _curator_rgb_try_new ((int) width, (int) height, &d->error);
  if (d->image == NULL)
    png_longjmp (d->png, 1);

  if (channels == 3)
    {
      /* Straight into the raster. */
      for (int pass = 0; pass < n_passes; pass++)
        for (png_uint_32 y = 0; y < height; y++)
          png_read_row (d->png, d->image->pixels + (gsize) y * width * 3, NULL);
    }
  else if (n_passes == 1)
    {
      d->scratch = g_try_malloc ((gsize) width * 4);
      if (d->scratch == NULL)
        png_error (d->png, "not enough memory for a PNG row");
      for (png_uint_32 y = 0; y < height; y++)
        {
          png_read_row (d->png, d->scratch, NULL);
          composite_row (d->image->pixels + (gsize) y * width * 3, d->scratch, (int) width);
        }
    }
  else
    {
      /* Interlaced passes refine rows already read: keep all of RGBA. */
      d->scratch = g_try_malloc_n ((gsize) width * height, 4);
      d->rows = g_try_new (png_bytep, height);
      if (d->scratch == NULL || d->rows == NULL)
        png_error (d->png, "not enough memory for an interlaced PNG");
      for (png_uint_32 y = 0; y < height; y++)
        d->rows[y] = d->scratch + (gsize) y * width * 4;
      png_read_image (d->png, d->rows);
      for (png_uint_32 y = 0; y < height; y++)
        composite_row (d->image->pixels + (gsize) y * width * 3, d->rows[y], (int) width);
    }

  /* Reading up to IEND checks the trailing CRCs and notices a cut file. */
  png_read_end (d->png, NULL);
  return TRUE;
}

CuratorRgb *
_curator_png_decode (const guint8      *data,
                     gsize              n_bytes,
                     CuratorImageInfo  *info,
                     GError           **error)
{
  PngDecoder d = { .data = data, .n_bytes = n_bytes };
  gboolean ok;

  d.png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &d, png_error_cb, png_warning_cb);
  if (d.png != NULL)
    d.png_info = png_create_info_struct (d.png);
  if (d.png == NULL || d.png_info == NULL)
    {
      png_destroy_read_struct (&d.png, NULL, NULL);
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_CORRUPT_IMAGE,
                           "cannot start the PNG decoder (out of memory)");
      return NULL;
    }

  ok = png_decode_run (&d, info);

  png_destroy_read_struct (&d.png, &d.png_info, NULL);
  g_free (d.scratch);
  g_free (d.rows);
  if (!ok)
    {
      curator_rgb_free (d.image);
      if (d.error != NULL)
        g_propagate_error (error, d.error);
      else
        g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_CORRUPT_IMAGE,
                             d.message[0] != '\0' ? d.message : "invalid PNG file");
      return NULL;
    }
  return d.image;
}

/* ---- encoding ----------------------------------------------------------- */

typedef struct {
  png_structp  png;
  png_infop    png_info;
  GByteArray  *out;
  char         message[256];
} PngEncoder;

static void
png_write_cb (png_structp png,
              png_bytep   data,
              png_size_t  length)
{
  PngEncoder *e = png_get_io_ptr (png);

  g_byte_array_append (e->out, data, (guint) length);
}

static void
png_flush_cb (png_structp png)
{
}

static void
png_encode_error_cb (png_structp     png,
                     png_const_charp message)
{
  PngEncoder *e = png_get_error_ptr (png);

  g_strlcpy (e->message, message, sizeof e->message);
  png_longjmp (png, 1);
}

/* The PNG encoder serves the thumbnail cache, whose PNGs are the tiny
 * ones (both sides <= 64 px, ~12 KiB of pixels at most). At that size
 * zlib's fixed costs dominate: any compression level costs ~8 times what
 * decoding the source took, to save about a third of a few KiB. So the data
 * is stored, not deflated (level 0; still a valid, lossless PNG), and zlib's
 * state is sized to the data rather than its 256 KiB default. */
#define PNG_ENCODE_ZLIB_LEVEL 0

static void
png_set_encode_tuning (png_structp       png,
                       const CuratorRgb *image)
{
  gsize n_bytes = (gsize) image->height * ((gsize) image->width * 3 + 1);
  int window_bits = 9;

  while (window_bits < 15 && ((gsize) 1 << window_bits) < n_bytes)
    window_bits++;
  png_set_compression_level (png, PNG_ENCODE_ZLIB_LEVEL);
  png_set_compression_window_bits (png, window_bits);
  png_set_compression_mem_level (png, n_bytes <= 64 * 1024 ? 5 : 8);
  png_set_filter (png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
}

/* A picture whose every pixel has R = G = B is written as a grey PNG: the
 * same pixels, a third of the data, and read back as grey (1 channel). */
static gboolean
rgb_is_exactly_grey (const CuratorRgb *image)
{
  gsize n = (gsize) image->width * image->height;

  for (gsize i = 0; i < n; i++)
    {
      const guint8 *p = image->pixels + i * 3;
      if (p[0] != p[1] || p[1] != p[2])
        return FALSE;
    }
  return TRUE;
}

static gboolean
png_encode_run (PngEncoder       *e,
                const CuratorRgb *image,
                guint8           *grey_row)  /* width bytes, or NULL for colour */
{
  if (setjmp (png_jmpbuf (e->png)))
    return FALSE;

  png_set_write_fn (e->png, e, png_write_cb, png_flush_cb);
  png_set_encode_tuning (e->png, image);
  png_set_IHDR (e->png, e->png_info, (png_uint_32) image->width, (png_uint_32) image->height,
                8, grey_row != NULL ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info (e->png, e->png_info);
  for (int y = 0; y < image->height; y++)
    {
      const guint8 *rgb = image->pixels + (gsize) y * image->width * 3;

      if (grey_row == NULL)
        {
          png_write_row (e->png, rgb);
          continue;
        }
      for (int x = 0; x < image->width; x++)
        grey_row[x] = rgb[x * 3];
      png_write_row (e->png, grey_row);
    }
  png_write_end (e->png, NULL);
  return TRUE;
}

GBytes *
curator_image_encode_png (const CuratorRgb  *image,
                          GError           **error)
{
  PngEncoder e = { 0 };
  guint8 *grey_row;
  gboolean ok;

  g_return_val_if_fail (image != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  e.png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &e, png_encode_error_cb, png_warning_cb);
  if (e.png != NULL)
    e.png_info = png_create_info_struct (e.png);
  if (e.png == NULL || e.png_info == NULL)
    {
      png_destroy_write_struct (&e.png, NULL);
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_FAILED,
                           "cannot start the PNG encoder (out of memory)");
      return NULL;
    }
  e.out = g_byte_array_sized_new (64 + (guint) image->width * (guint) image->height);
  grey_row = rgb_is_exactly_grey (image) ? g_malloc (image->width) : NULL;

  ok = png_encode_run (&e, image, grey_row);
  g_free (grey_row);

  png_destroy_write_struct (&e.png, &e.png_info);
  if (!ok)
    {
      g_byte_array_unref (e.out);
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_FAILED,
                   "PNG encoding failed: %s", e.message);
      return NULL;
    }
  return g_byte_array_free_to_bytes (e.out);
}

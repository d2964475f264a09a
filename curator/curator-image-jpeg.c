/* curator-image-jpeg.c: JPEG to 8-bit RGB with libjpeg-turbo, and RGB to JPEG.
 *
 * libjpeg calls error_exit, which must not return; ours formats the message
 * into the decoder and longjmps back to the one setjmp, where it becomes a
 * GError. Nothing is printed: output_message and emit_message are silent,
 * except that a premature end of data (JWRN_JPEG_EOF, after which libjpeg
 * would quietly pad the picture with grey) is an error, "file is truncated".
 * Everything that lives across the setjmp sits in a struct reached through a
 * pointer.
 *
 * Defences against hostile files: the header's size is checked against
 * CURATOR_IMAGE_MAX_PIXELS before jpeg_start_decompress allocates anything
 * big; a progress monitor refuses a file with more than JPEG_MAX_SCANS scans
 * (a progressive file can repeat cheap scans that each cost a pass over the
 * whole coefficient buffer); libjpeg's own memory ceiling is set so a large
 * progressive buffer fails cleanly rather than exhausting the machine.
 *
 * Scaled decoding uses the IDCT at M/8 (libjpeg-turbo supports all M in
 * 1..8), so a large photo wanted only for a thumbnail costs a fraction of a
 * full decode. EXIF orientation is read from APP1 and applied to the raster. */
#include "curator-config.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "curator-error.h"
#include "curator-image.h"
#include "curator-image-private.h"

/* Real encoders write ~10 scans; a thousand is no picture anyone made. */
#define JPEG_MAX_SCANS 1000
/* Enough for the coefficients of a 100 Mpx CMYK progressive file. */
#define JPEG_MAX_MEMORY (G_GINT64_CONSTANT (2) * 1024 * 1024 * 1024)
/* Rows handed to jpeg_read_scanlines per call. */
#define JPEG_ROWS_PER_CALL 16

/* ---- EXIF ---------------------------------------------------------------- */

static guint
exif_u16 (const guint8 *p,
          gboolean      little_endian)
{
  return little_endian ? (guint) p[0] | (guint) p[1] << 8
                       : (guint) p[0] << 8 | (guint) p[1];
}

static guint32
exif_u32 (const guint8 *p,
          gboolean      little_endian)
{
  return little_endian
    ? (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24
    : (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | (guint32) p[3];
}

int
_curator_exif_orientation (const guint8 *payload,
                           gsize         n_bytes)
{
  static const guint8 exif_id[6] = { 'E', 'x', 'i', 'f', 0, 0 };
  const guint8 *tiff;
  gsize n_tiff;
  gboolean le;
  guint32 ifd;
  guint n_entries;

  if (payload == NULL || n_bytes < sizeof exif_id + 8
      || memcmp (payload, exif_id, sizeof exif_id) != 0)
    return 1;

  /* Offsets inside EXIF count from the TIFF header. */
  tiff = payload + sizeof exif_id;
  n_tiff = n_bytes - sizeof exif_id;
  if (tiff[0] == 'I' && tiff[1] == 'I')
    le = TRUE;
  else if (tiff[0] == 'M' && tiff[1] == 'M')
    le = FALSE;
  else
    return 1;
  if (exif_u16 (tiff + 2, le) != 42)
    return 1;

  ifd = exif_u32 (tiff + 4, le);
  if (ifd > n_tiff || n_tiff - ifd < 2)
    return 1;
  n_entries = exif_u16 (tiff + ifd, le);

  for (guint i = 0; i < n_entries; i++)
    {
      gsize entry = (gsize) ifd + 2 + (gsize) i * 12;
      guint type, value;

      if (entry > n_tiff || n_tiff - entry < 12)
        break;
      if (exif_u16 (tiff + entry, le) != 0x0112)
        continue;

      /* SHORT as the standard says; LONG from a few sloppy writers. */
      type = exif_u16 (tiff + entry + 2, le);
      if (exif_u32 (tiff + entry + 4, le) < 1)
        return 1;
      if (type == 3)
        value = exif_u16 (tiff + entry + 8, le);
      else if (type == 4)
        value = exif_u32 (tiff + entry + 8, le);
      else
        return 1;
      return value >= 1 && value <= 8 ? (int) value : 1;
    }
  return 1;
}

/* ---- decoding -------------------------------------------------------------- */

typedef struct {
  /* First member: libjpeg's callbacks get the decoder back from their cinfo. */
  struct jpeg_decompress_struct cinfo;
  struct jpeg_error_mgr         err;
  struct jpeg_progress_mgr      progress;
  jmp_buf                       jmp;

  /* owned, freed by the caller of jpeg_decode_run whatever happens */
  CuratorRgb *image;
  guint8     *cmyk_row;

  /* result */
  int         orientation;
  int         scale_num;
  GError     *error;              /* set before a longjmp when the text is ours */
  int         error_code;         /* else this code ... */
  char        message[JMSG_LENGTH_MAX + 64]; /* ... and libjpeg's text */
} JpegDecoder;

G_STATIC_ASSERT (G_STRUCT_OFFSET (JpegDecoder, cinfo) == 0);

static G_NORETURN void
jpeg_fail (JpegDecoder *d,
           int          code,
           const char  *message)
{
  d->error_code = code;
  g_strlcpy (d->message, message, sizeof d->message);
  longjmp (d->jmp, 1);
}

static void
jpeg_error_exit_cb (j_common_ptr cinfo)
{
  JpegDecoder *d = (JpegDecoder *) cinfo;
  char text[JMSG_LENGTH_MAX];
  int code = CURATOR_ERROR_CORRUPT_IMAGE;

  (*cinfo->err->format_message) (cinfo, text);
  switch (cinfo->err->msg_code)
    {
    /* Valid JPEG, but a kind libjpeg-turbo does not read (lossless,
     * hierarchical, 12-bit): not the file's fault. */
    case JERR_SOF_UNSUPPORTED:
    case JERR_BAD_PRECISION:
    case JERR_ARITH_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL:
      code = CURATOR_ERROR_UNSUPPORTED_FORMAT;
      break;
    default:
      break;
    }
  jpeg_fail (d, code, text);
}

static void
jpeg_output_message_cb (j_common_ptr cinfo)
{
}

static void
jpeg_emit_message_cb (j_common_ptr cinfo,
                      int          msg_level)
{
  /* Other warnings (extraneous bytes, odd progression) leave a usable
   * picture; a premature end leaves grey padding where the picture was. */
  if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    jpeg_fail ((JpegDecoder *) cinfo, CURATOR_ERROR_CORRUPT_IMAGE, "file is truncated");
}

static void
jpeg_silent_emit_cb (j_common_ptr cinfo,
                     int          msg_level)
{
}

static void
jpeg_progress_cb (j_common_ptr cinfo)
{
  JpegDecoder *d = (JpegDecoder *) cinfo;

  if (d->cinfo.input_scan_number > JPEG_MAX_SCANS)
    {
      char text[64];

      g_snprintf (text, sizeof text, "JPEG has more than %d scans", JPEG_MAX_SCANS);
      jpeg_fail (d, CURATOR_ERROR_CORRUPT_IMAGE, text);
    }
}

/* (x * y) / 255 rounded, for x, y in 0..255. */
static inline guint8
mul255 (guint x,
        guint y)
{
  guint t = x * y + 128;

  return (guint8) ((t + (t >> 8)) >> 8);
}

/* Naive CMYK without a profile, which is what viewers without colour
 * management show. Adobe writes CMYK inverted (0 = full ink) and flags it
 * with its APP14 marker; other writers store ink amounts. */
static void
cmyk_row_to_rgb (guint8       *out,
                 const guint8 *cmyk,
                 int           width,
                 gboolean      inverted)
{
  for (int x = 0; x < width; x++)
    {
      guint c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];

      if (!inverted)
        {
          c = 255 - c;
          m = 255 - m;
          y = 255 - y;
          k = 255 - k;
        }
      out[0] = mul255 (c, k);
      out[1] = mul255 (m, k);
      out[2] = mul255 (y, k);
      out += 3;
      cmyk += 4;
    }
}

/* The smallest M for which the decode at M/8 still covers what @rule asks
 * of @max_side (0: full size). */
static void
jpeg_choose_scale (JpegDecoder      *d,
                   int               max_side,
                   CuratorScaleRule  rule)
{
  struct jpeg_decompress_struct *cinfo = &d->cinfo;
  gboolean long_side = rule == CURATOR_SCALE_COVER_LONG_SIDE;
  JDIMENSION full = long_side ? MAX (cinfo->image_width, cinfo->image_height)
                              : MIN (cinfo->image_width, cinfo->image_height);
  JDIMENSION need = MIN ((JDIMENSION) max_side, full);

  /* A picture no larger than asked for is decoded whole, also when a
   * smaller M would round up to the same size: the full-size IDCT is the
   * exact one. */
  cinfo->scale_denom = _CURATOR_JPEG_SCALE_DENOM;
  for (d->scale_num = max_side == 0 || (JDIMENSION) max_side >= full ? _CURATOR_JPEG_SCALE_DENOM : 1;
       d->scale_num < _CURATOR_JPEG_SCALE_DENOM;
       d->scale_num++)
    {
      JDIMENSION got;

      cinfo->scale_num = (unsigned int) d->scale_num;
      jpeg_calc_output_dimensions (cinfo);
      got = long_side ? MAX (cinfo->output_width, cinfo->output_height)
                      : MIN (cinfo->output_width, cinfo->output_height);
      if (got >= need)
        break;
    }
  cinfo->scale_num = (unsigned int) d->scale_num;
}

/* Runs libjpeg on @d. The only setjmp; returns FALSE after a longjmp. */
static gboolean
jpeg_decode_run (JpegDecoder      *d,
                 const guint8     *data,
                 gsize             n_bytes,
                 int               max_side,
                 CuratorScaleRule  rule,
                 CuratorImageInfo *info)
{
  struct jpeg_decompress_struct *cinfo = &d->cinfo;
  gboolean cmyk;
  int width, height;

  if (setjmp (d->jmp))
    return FALSE;

  jpeg_create_decompress (cinfo);
  cinfo->mem->max_memory_to_use = JPEG_MAX_MEMORY;
  d->progress.progress_monitor = jpeg_progress_cb;
  cinfo->progress = &d->progress;

  jpeg_mem_src (cinfo, data, (unsigned long) n_bytes);
  jpeg_save_markers (cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header (cinfo, TRUE);

  if (!_curator_image_check_size (cinfo->image_width, cinfo->image_height, &d->error))
    longjmp (d->jmp, 1);

  switch (cinfo->jpeg_color_space)
    {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
      cinfo->out_color_space = JCS_RGB;
      cmyk = FALSE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo->out_color_space = JCS_CMYK;
      cmyk = TRUE;
      break;
    default:
      {
        char text[96];

        g_snprintf (text, sizeof text, "JPEG with %d colour components of unknown meaning",
                    cinfo->num_components);
        jpeg_fail (d, CURATOR_ERROR_UNSUPPORTED_FORMAT, text);
      }
    }

  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next)
    if (m->marker == JPEG_APP0 + 1)
      {
        d->orientation = _curator_exif_orientation (m->data, m->data_length);
        if (d->orientation != 1)
          break;
      }

  info->format = CURATOR_IMAGE_FORMAT_JPEG;
  info->channels = cinfo->num_components;
  info->width = (int) (d->orientation >= 5 ? cinfo->image_height : cinfo->image_width);
  info->height = (int) (d->orientation >= 5 ? cinfo->image_width : cinfo->image_height);

  jpeg_choose_scale (d, max_side, rule);
  jpeg_start_decompress (cinfo);

  width = (int) cinfo->output_width;
  height = (int) cinfo->output_height;
  d->image = _curator_rgb_try_new (width, height, &d->error);
  if (d->image == NULL)
    longjmp (d->jmp, 1);

  if (!cmyk)
    {
      JSAMPROW rows[JPEG_ROWS_PER_CALL];

      while (cinfo->output_scanline < cinfo->output_height)
        {
          JDIMENSION y = cinfo->output_scanline;
          JDIMENSION n = MIN (JPEG_ROWS_PER_CALL, cinfo->output_height - y);

          for (JDIMENSION i = 0; i < n; i++)
            rows[i] = d->image->pixels + (gsize) (y + i) * width * 3;
          jpeg_read_scanlines (cinfo, rows, n);
        }
    }
  else
    {
      JSAMPROW row;

      d->cmyk_row = g_try_malloc ((gsize) width * 4);
      if (d->cmyk_row == NULL)
        jpeg_fail (d, CURATOR_ERROR_CORRUPT_IMAGE, "not enough memory for a JPEG row");
      row = d->cmyk_row;
      while (cinfo->output_scanline < cinfo->output_height)
        {
          JDIMENSION y = cinfo->output_scanline;

          jpeg_read_scanlines (cinfo, &row, 1);
          cmyk_row_to_rgb (d->image->pixels + (gsize) y * width * 3, d->cmyk_row, width,
                           cinfo->saw_Adobe_marker);
        }
    }

  /* Reads on to EOI, so a file cut after its last scan is noticed too. */
  jpeg_finish_decompress (cinfo);
  return TRUE;
}

CuratorRgb *
_curator_jpeg_decode (const guint8      *data,
                      gsize              n_bytes,
                      int                max_side,
                      CuratorScaleRule   rule,
                      CuratorImageInfo  *info,
                      int               *scale_num,
                      GError           **error)
{
  g_autofree JpegDecoder *d = g_new0 (JpegDecoder, 1);
  gboolean ok;

  d->cinfo.err = jpeg_std_error (&d->err);
  d->err.error_exit = jpeg_error_exit_cb;
  d->err.output_message = jpeg_output_message_cb;
  d->err.emit_message = jpeg_emit_message_cb;
  d->orientation = 1;
  d->scale_num = _CURATOR_JPEG_SCALE_DENOM;

  ok = jpeg_decode_run (d, data, n_bytes, max_side, rule, info);

  /* Safe after a failed jpeg_create_decompress too: it checks cinfo->mem. */
  jpeg_destroy_decompress (&d->cinfo);
  g_free (d->cmyk_row);

  if (!ok)
    {
      curator_rgb_free (d->image);
      if (d->error != NULL)
        g_propagate_error (error, d->error);
      else
        g_set_error_literal (error, CURATOR_ERROR, d->error_code, d->message);
      return NULL;
    }

  *scale_num = d->scale_num;
  return _curator_rgb_orient (d->image, d->orientation, error);
}

/* ---- encoding ------------------------------------------------------------- */

typedef struct {
  struct jpeg_compress_struct cinfo;   /* first, as above */
  struct jpeg_error_mgr       err;
  jmp_buf                     jmp;
  unsigned char              *buffer;  /* malloc()ed by libjpeg */
  unsigned long               n_bytes;
  char                        message[JMSG_LENGTH_MAX];
} JpegEncoder;

G_STATIC_ASSERT (G_STRUCT_OFFSET (JpegEncoder, cinfo) == 0);

static void
jpeg_encode_error_exit_cb (j_common_ptr cinfo)
{
  JpegEncoder *e = (JpegEncoder *) cinfo;

  (*cinfo->err->format_message) (cinfo, e->message);
  longjmp (e->jmp, 1);
}

static gboolean
jpeg_encode_run (JpegEncoder      *e,
                 const CuratorRgb *image,
                 int               quality)
{
  struct jpeg_compress_struct *cinfo = &e->cinfo;

  if (setjmp (e->jmp))
    return FALSE;

  jpeg_create_compress (cinfo);
  jpeg_mem_dest (cinfo, &e->buffer, &e->n_bytes);
  cinfo->image_width = (JDIMENSION) image->width;
  cinfo->image_height = (JDIMENSION) image->height;
  cinfo->input_components = 3;
  cinfo->in_color_space = JCS_RGB;
  jpeg_set_defaults (cinfo);
  jpeg_set_quality (cinfo, quality, TRUE);
  jpeg_start_compress (cinfo, TRUE);
  while (cinfo->next_scanline < cinfo->image_height)
    {
      JSAMPROW row = image->pixels + (gsize) cinfo->next_scanline * image->width * 3;

      jpeg_write_scanlines (cinfo, &row, 1);
    }
  jpeg_finish_compress (cinfo);
  return TRUE;
}

GBytes *
curator_image_encode_jpeg (const CuratorRgb  *image,
                           int                quality,
                           GError           **error)
{
  g_autofree JpegEncoder *e = g_new0 (JpegEncoder, 1);
  gboolean ok;

  g_return_val_if_fail (image != NULL, NULL);
  g_return_val_if_fail (quality >= 1 && quality <= 100, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  e->cinfo.err = jpeg_std_error (&e->err);
  e->err.error_exit = jpeg_encode_error_exit_cb;
  e->err.output_message = jpeg_output_message_cb;
  e->err.emit_message = jpeg_silent_emit_cb;

  ok = jpeg_encode_run (e, image, quality);
  jpeg_destroy_compress (&e->cinfo);

  if (!ok)
    {
      free (e->buffer);
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_FAILED,
                   "JPEG encoding failed: %s", e->message);
      return NULL;
    }
  return g_bytes_new_with_free_func (e->buffer, e->n_bytes, free, e->buffer);
}

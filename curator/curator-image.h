/* curator-image.h: reading one image file into everything the index keeps.
 *
 * PNG (every bit depth and colour type, palette, tRNS, interlaced) and JPEG
 * (grey, RGB, CMYK/YCCK, progressive; EXIF orientation applied) decode to
 * 8-bit RGB. Errors of libpng and libjpeg become GErrors: the decoders never
 * exit, abort or print. They are safe to call from many threads at once.
 *
 * Scaled decoding: a caller says the smallest size it needs (max_side). For
 * JPEG the DCT scaling of libjpeg-turbo decodes straight to the smallest
 * scale M/8 whose result still covers it, so a large photo is never fully
 * decoded when only a thumbnail and statistics are wanted. */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* Images whose header claims more than this many pixels are refused as
 * corrupt before any allocation (decompression bombs, bogus headers). */
#define CURATOR_IMAGE_MAX_PIXELS (G_GINT64_CONSTANT (100) * 1000 * 1000)
/* Files larger than this are refused without reading. */
#define CURATOR_IMAGE_MAX_FILE_BYTES (G_GINT64_CONSTANT (512) * 1024 * 1024)

typedef enum {
  CURATOR_IMAGE_FORMAT_UNKNOWN,
  CURATOR_IMAGE_FORMAT_PNG,
  CURATOR_IMAGE_FORMAT_JPEG,
} CuratorImageFormat;

const char *curator_image_format_to_string (CuratorImageFormat format); /* "png", "jpeg", NULL */

/* By sniffing magic bytes, never by file name. */
CuratorImageFormat curator_image_sniff_format (const guint8 *data, gsize n_bytes);

/* An 8-bit RGB raster, rows packed (stride = width * 3). */
typedef struct {
  int     width;
  int     height;
  guint8 *pixels;
} CuratorRgb;

CuratorRgb *curator_rgb_new  (int width, int height);  /* zeroed */
void        curator_rgb_free (CuratorRgb *image);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorRgb, curator_rgb_free)

/* Area-averaged resize (box filter for shrinking, bilinear for growing),
 * each axis on its own, in exact integer arithmetic: shrinking by an
 * integer factor gives each block's mean rounded half up. Heights up to
 * 2^23 rows in and 2^22 out (far beyond any decodable image). */
CuratorRgb *curator_rgb_resize (const CuratorRgb *image, int width, int height);

/* What decoding a file told us besides its pixels. */
typedef struct {
  CuratorImageFormat format;
  int width;       /* full size, after EXIF orientation */
  int height;
  int channels;    /* as stored: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or CMYK;
                    * a PNG palette counts as 3, a tRNS chunk adds the alpha */
} CuratorImageInfo;

/* Decodes @data. With @max_side > 0 the result may be smaller than the full
 * image (JPEG DCT scaling) but its shorter side is never below
 * MIN(@max_side, full shorter side); with 0 it is full size. @info (may be
 * NULL) gets the full-size facts. Transparency is composited over white;
 * 16-bit samples are rounded to 8; no gamma or ICC correction is applied;
 * CMYK is converted naively (Adobe's inverted CMYK recognised).
 * Errors: CURATOR_ERROR_UNSUPPORTED_FORMAT ("not a PNG or JPEG file", or a
 * JPEG variant libjpeg-turbo does not read: 12-bit, lossless),
 * CURATOR_ERROR_CORRUPT_IMAGE with a reason a person understands ("file is
 * empty", "file is truncated", "bad CRC in PNG chunk IHDR", "image header
 * claims 100000x100000 pixels (limit 100 Mpx)", libpng's or libjpeg's own
 * words otherwise). Messages never name the file: the caller knows it. */
CuratorRgb *curator_image_decode (const guint8      *data,
                                  gsize              n_bytes,
                                  int                max_side,
                                  CuratorImageInfo  *info,
                                  GError           **error);

/* Encodes for the thumbnail cache. PNG is written uncompressed (zlib level
 * 0, see curator-image-png.c): it serves only the tiny thumbnails. */
GBytes *curator_image_encode_png  (const CuratorRgb *image, GError **error);
GBytes *curator_image_encode_jpeg (const CuratorRgb *image, int quality, GError **error);

/* ---- everything the index keeps about one file ---------------------------- */

#define CURATOR_THUMB_MAX_PX 256

typedef struct {
  CuratorImageInfo info;
  char    *file_hash;    /* hex SHA-256 of the file bytes */
  char    *pixel_hash;   /* hex SHA-256 of width, height and the RGB pixels as decoded
                          * (see the scale rule below); equal for the same picture
                          * stored as PNG and as lossless data */
  guint64  phash;        /* 64-bit DCT perceptual hash of a 32x32 grey version */
  /* Luma (Rec. 601, 0..255) statistics, measured on the thumbnail raster so
   * that they mean the same whatever the file's size: */
  double   luma_p05, luma_p50, luma_p95;
  double   contrast;     /* std-dev of luma 0..255 */
  double   entropy;      /* bits, of the 256-bin luma histogram */
  double   blur;         /* variance of the 4-neighbour Laplacian of luma; low = blurry */
  gboolean is_grey;      /* R=G=B everywhere in the decoded raster (to a tolerance
                          * of 2): TRUE for grey files and for colour files that
                          * hold a grey picture */
  GBytes  *thumb;        /* encoded thumbnail, longest side <= CURATOR_THUMB_MAX_PX:
                          * a picture that fits and whose file is at most 64 KiB is
                          * its own thumbnail (the file's bytes, its format; decoding
                          * them applies EXIF orientation as for the file);
                          * otherwise PNG when both sides <= 64, else JPEG q90 */
  char    *thumb_format; /* "png" or "jpeg" */
  int      thumb_width, thumb_height;
} CuratorImageFacts;

void curator_image_facts_free (CuratorImageFacts *facts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorImageFacts, curator_image_facts_free)

/* Reads the whole file at @path, refusing non-regular files, FIFOs,
 * directories, files over CURATOR_IMAGE_MAX_FILE_BYTES and unreadable ones
 * with CURATOR_ERROR_IO, a missing one with CURATOR_ERROR_NOT_FOUND and an
 * empty one with CURATOR_ERROR_CORRUPT_IMAGE ("file is empty"); symbolic
 * links are followed. @mtime_us (may be NULL) gets the modification time,
 * in microseconds since the epoch, of the file as it was opened; the size is
 * that of the result. (transfer full) */
GBytes *curator_image_read_file (const char  *path,
                                 gint64      *mtime_us,
                                 GError     **error);

/* Reads the file at @path (as curator_image_read_file) and computes every
 * fact above, decoding once.
 *
 * Scale rule: a JPEG is decoded at the smallest DCT scale M/8 whose longer
 * side still covers the thumbnail, because nothing kept needs more pixels
 * (a JPEG whose longest side is <= CURATOR_THUMB_MAX_PX is decoded whole).
 * When M < 8 the pixel hash is taken over that scaled raster, prefixed with
 * the scale so that it can never equal the hash of a full-size raster: it
 * still identifies exact duplicates of the same JPEG content, but not a
 * large JPEG and a PNG of its decoded pixels. PNG is always decoded whole. */
CuratorImageFacts *curator_image_facts_from_file   (const char    *path,
                                                    GError       **error);
CuratorImageFacts *curator_image_facts_from_bytes  (const guint8  *data,
                                                    gsize          n_bytes,
                                                    GError       **error);
/* As from_bytes; a file that is its own thumbnail shares @bytes (no copy). */
CuratorImageFacts *curator_image_facts_from_gbytes (GBytes        *bytes,
                                                    GError       **error);

/* The file_hash the facts of @data would have. (transfer full) */
char *curator_image_file_hash (const guint8 *data, gsize n_bytes);

/* Hamming distance between two perceptual hashes. */
static inline int
curator_phash_distance (guint64 a, guint64 b)
{
  return __builtin_popcountll (a ^ b);
}

G_END_DECLS

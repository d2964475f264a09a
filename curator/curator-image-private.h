/* curator-image-private.h: what the image files share and nobody else sees.
 *
 * The decoders return the scale they decoded at, which the public decode
 * call hides but the facts need (a pixel hash of a scaled raster must never
 * look like one of a full raster). Rasters are allocated with g_try_malloc so
 * that a large but legal header cannot abort the process. */
#pragma once

#include "curator-image.h"

G_BEGIN_DECLS

/* libjpeg-turbo decodes at M/8 for M in 1..8; 8 means full size. */
#define _CURATOR_JPEG_SCALE_DENOM 8

/* Like curator_rgb_new but neither zeroed nor aborting: NULL with @error
 * set (CURATOR_ERROR_CORRUPT_IMAGE) when the memory is not there. */
CuratorRgb *_curator_rgb_try_new (int       width,
                                  int       height,
                                  GError  **error);

/* Sets @error to "image header claims WxH pixels (limit 100 Mpx)" and
 * returns FALSE when the product is over CURATOR_IMAGE_MAX_PIXELS or a side
 * is not positive. */
gboolean _curator_image_check_size (guint64   width,
                                    guint64   height,
                                    GError  **error);

/* Full-size decode. */
CuratorRgb *_curator_png_decode (const guint8      *data,
                                 gsize              n_bytes,
                                 CuratorImageInfo  *info,
                                 GError           **error);

/* How a decode with max_side > 0 picks M of M/8 (JPEG; PNG is always full
 * size). */
typedef enum {
  /* The smallest M whose shorter side is at least MIN(max_side, full shorter
   * side): what curator_image_decode promises. */
  CURATOR_SCALE_COVER_SHORT_SIDE = 0,
  /* The smallest M whose longer side is at least MIN(max_side, full longer
   * side): then both sides cover those of a thumbnail whose longest side is
   * max_side, which is all the facts need (a 1024x768 photo decodes at 2/8,
   * straight to its 256x192 thumbnail). */
  CURATOR_SCALE_COVER_LONG_SIDE = 1,
} CuratorScaleRule;

/* @max_side as in curator_image_decode, M chosen by @rule.
 * *@scale_num gets M of the M/8 the raster was decoded at (8: full size). */
CuratorRgb *_curator_jpeg_decode (const guint8      *data,
                                  gsize              n_bytes,
                                  int                max_side,
                                  CuratorScaleRule   rule,
                                  CuratorImageInfo  *info,
                                  int               *scale_num,
                                  GError           **error);

/* curator_image_decode with the scale rule chosen and the scale told:
 * *@scale_num is M of M/8 (8 for every PNG and for full-size JPEG decodes). */
CuratorRgb *_curator_image_decode_scaled (const guint8      *data,
                                          gsize              n_bytes,
                                          int                max_side,
                                          CuratorScaleRule   rule,
                                          CuratorImageInfo  *info,
                                          int               *scale_num,
                                          GError           **error);

/* The EXIF orientation (1..8) in an APP1 marker's payload, or 1 when the
 * payload is not Exif, is malformed, or has no valid orientation tag.
 * Exposed for tests: it reads untrusted bytes and must never overrun. */
int _curator_exif_orientation (const guint8 *payload,
                               gsize         n_bytes);

/* The resize behind curator_rgb_resize for any number of interleaved 8-bit
 * channels (the perceptual hash resizes a grey plane). */
void _curator_resize_u8 (const guint8 *src,
                         int           src_width,
                         int           src_height,
                         int           channels,
                         guint8       *dst,
                         int           dst_width,
                         int           dst_height);

/* Applies EXIF orientation @orientation (1..8) to @image: returns @image
 * itself for 1, else a new raster (and frees @image). NULL with @error set
 * only when memory runs out. */
CuratorRgb *_curator_rgb_orient (CuratorRgb  *image,
                                 int          orientation,
                                 GError     **error);

/* SHA-256 with the CPU's SHA instructions when it has them, GChecksum
 * otherwise (curator-image-sha256.c). Same digest either way. */
typedef struct {
  GChecksum *fallback;       /* non-NULL when not using the SHA instructions */
  guint32    state[8];
  guint8     pending[64];
  gsize      n_pending;
  guint64    n_total;
} CuratorSha256;

/* @allow_hardware FALSE forces GChecksum (tests compare the two). */
void  _curator_sha256_init       (CuratorSha256 *sha,
                                  gboolean       allow_hardware);
void  _curator_sha256_update     (CuratorSha256 *sha,
                                  const guint8  *data,
                                  gsize          n_bytes);
/* Finishes and returns the lowercase hex digest (transfer full). */
char *_curator_sha256_finish_hex (CuratorSha256 *sha);
char *_curator_sha256_hex        (const guint8  *data,
                                  gsize          n_bytes);

G_END_DECLS

/* test-image.c: decoding, hashing, statistics and thumbnails of one image.
 *
 * Every fixture is written here with libpng and libjpeg directly (not with
 * Curator's encoders, which are under test too), so each flavour the
 * decoders must read — bit depths, colour types, palettes, tRNS, Adam7, CMYK,
 * progressive, EXIF orientations — is produced on purpose. Broken files are
 * made by cutting and patching good ones. */
#include "curator-config.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jpeglib.h>
#include <png.h>

#include "curator-error.h"
#include "curator-image.h"
#include "curator-image-private.h"

/* ---- fixture writers ----------------------------------------------------- */

/* The value of channel @c at (@x, @y), in the range of the bit depth. */
typedef guint (*SampleFn) (int x, int y, int c, gconstpointer user);

typedef struct {
  int             width, height;
  int             color_type, bit_depth;
  gboolean        interlaced;
  const png_color *palette;
  int             n_palette;
  const guint8   *palette_alpha;
  int             n_palette_alpha;
  const png_color_16 *trans_color;
  SampleFn        sample;
  gconstpointer   user;
} PngSpec;

typedef struct {
  png_structp png;
  png_infop   info;
  GByteArray *out;
  png_bytep  *rows;
} PngWriter;

static void
png_append_cb (png_structp png, png_bytep data, png_size_t n)
{
  g_byte_array_append (png_get_io_ptr (png), data, (guint) n);
}

static void
png_flush_cb (png_structp png)
{
}

static gboolean
png_write_run (PngWriter *w, const PngSpec *s)
{
  if (setjmp (png_jmpbuf (w->png)))
    return FALSE;
  png_set_write_fn (w->png, w->out, png_append_cb, png_flush_cb);
  png_set_IHDR (w->png, w->info, s->width, s->height, s->bit_depth, s->color_type,
                s->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (s->palette != NULL)
    png_set_PLTE (w->png, w->info, s->palette, s->n_palette);
  if (s->palette_alpha != NULL)
    png_set_tRNS (w->png, w->info, s->palette_alpha, s->n_palette_alpha, NULL);
  if (s->trans_color != NULL)
    png_set_tRNS (w->png, w->info, NULL, 0, s->trans_color);
  png_write_info (w->png, w->info);
  png_write_image (w->png, w->rows);
  png_write_end (w->png, NULL);
  return TRUE;
}

static int
png_channels_of (int color_type)
{
  switch (color_type)
    {
    case PNG_COLOR_TYPE_GRAY:       return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_PALETTE:    return 1;
    case PNG_COLOR_TYPE_RGB:        return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA:  return 4;
    default: g_assert_not_reached ();
    }
}

static GBytes *
make_png (const PngSpec *s)
{
  PngWriter w = { 0 };
  int channels = png_channels_of (s->color_type);
  gsize rowbytes = ((gsize) s->width * channels * s->bit_depth + 7) / 8;
  g_autofree guint8 *pixels = g_malloc0 (rowbytes * s->height);
  g_autofree png_bytep *rows = g_new (png_bytep, s->height);

  for (int y = 0; y < s->height; y++)
    {
      guint8 *row = rows[y] = pixels + rowbytes * y;

      for (int x = 0; x < s->width; x++)
        for (int c = 0; c < channels; c++)
          {
            gsize i = (gsize) x * channels + c;
            guint v = s->sample (x, y, c, s->user);

            g_assert_cmpuint (v, <, 1u << s->bit_depth);
            if (s->bit_depth == 16)
              {
                row[2 * i] = (guint8) (v >> 8);
                row[2 * i + 1] = (guint8) v;
              }
            else if (s->bit_depth == 8)
              row[i] = (guint8) v;
            else
              {
                gsize bit = i * s->bit_depth;

                row[bit / 8] |= (guint8) (v << (8 - s->bit_depth - bit % 8));
              }
          }
    }

  w.png = png_create_write_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  w.info = png_create_info_struct (w.png);
  w.out = g_byte_array_new ();
  w.rows = rows;
  if (!png_write_run (&w, s))
    g_error ("writing a test PNG failed");
  png_destroy_write_struct (&w.png, &w.info);
  return g_byte_array_free_to_bytes (w.out);
}

typedef struct {
  int                   width, height;
  int                   components;      /* 1, 3 or 4 */
  J_COLOR_SPACE         jpeg_space;      /* JCS_UNKNOWN: libjpeg's default for the input */
  int                   quality;
  gboolean              progressive;
  gboolean              no_adobe_marker;
  const jpeg_scan_info *scans;
  int                   n_scans;
  GBytes               *app1;
  SampleFn              sample;
  gconstpointer         user;
} JpegSpec;

typedef struct {
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr       err;
  jmp_buf                     jmp;
  unsigned char              *buffer;
  unsigned long               n_bytes;
  guint8                     *row;
} JpegWriter;

static void
jpeg_writer_error_cb (j_common_ptr cinfo)
{
  longjmp (((JpegWriter *) cinfo)->jmp, 1);
}

static gboolean
jpeg_write_run (JpegWriter *w, const JpegSpec *s)
{
  struct jpeg_compress_struct *cinfo = &w->cinfo;

  if (setjmp (w->jmp))
    return FALSE;
  jpeg_create_compress (cinfo);
  jpeg_mem_dest (cinfo, &w->buffer, &w->n_bytes);
  cinfo->image_width = s->width;
  cinfo->image_height = s->height;
  cinfo->input_components = s->components;
  cinfo->in_color_space = s->components == 1 ? JCS_GRAYSCALE : s->components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults (cinfo);
  if (s->jpeg_space != JCS_UNKNOWN)
    jpeg_set_colorspace (cinfo, s->jpeg_space);
  if (s->no_adobe_marker)
    cinfo->write_Adobe_marker = FALSE;
  jpeg_set_quality (cinfo, s->quality > 0 ? s->quality : 95, TRUE);
  if (s->progressive)
    jpeg_simple_progression (cinfo);
  if (s->scans != NULL)
    {
      cinfo->scan_info = s->scans;
      cinfo->num_scans = s->n_scans;
    }
  jpeg_start_compress (cinfo, TRUE);
  if (s->app1 != NULL)
    jpeg_write_marker (cinfo, JPEG_APP0 + 1, g_bytes_get_data (s->app1, NULL),
                       (unsigned int) g_bytes_get_size (s->app1));
  while (cinfo->next_scanline < cinfo->image_height)
    {
      JSAMPROW row = w->row;

      for (int x = 0; x < s->width; x++)
        for (int c = 0; c < s->components; c++)
          w->row[x * s->components + c] = (guint8) s->sample (x, (int) cinfo->next_scanline, c, s->user);
      jpeg_write_scanlines (cinfo, &row, 1);
    }
  jpeg_finish_compress (cinfo);
  return TRUE;
}

static GBytes *
make_jpeg (const JpegSpec *s)
{
  g_autofree JpegWriter *w = g_new0 (JpegWriter, 1);
  GBytes *bytes;

  w->cinfo.err = jpeg_std_error (&w->err);
  w->err.error_exit = jpeg_writer_error_cb;
  w->row = g_malloc ((gsize) s->width * s->components);
  if (!jpeg_write_run (w, s))
    {
      char text[JMSG_LENGTH_MAX];

      (*w->err.format_message) ((j_common_ptr) &w->cinfo, text);
      g_error ("writing a test JPEG failed: %s", text);
    }
  jpeg_destroy_compress (&w->cinfo);
  bytes = g_bytes_new (w->buffer, w->n_bytes);
  free (w->buffer);
  g_free (w->row);
  return bytes;
}

/* An APP1 Exif payload with a Make tag before the orientation tag. */
static GBytes *
make_exif (int orientation, gboolean little_endian)
{
  GByteArray *a = g_byte_array_new ();
  guint8 b[4];
#define PUT16(v) (little_endian ? (b[0] = (v) & 0xff, b[1] = (v) >> 8) : (b[0] = (v) >> 8, b[1] = (v) & 0xff), g_byte_array_append (a, b, 2))
#define PUT32(v) (little_endian ? (b[0] = (v) & 0xff, b[1] = ((v) >> 8) & 0xff, b[2] = ((v) >> 16) & 0xff, b[3] = (v) >> 24) \
                                : (b[0] = (v) >> 24, b[1] = ((v) >> 16) & 0xff, b[2] = ((v) >> 8) & 0xff, b[3] = (v) & 0xff), \
                  g_byte_array_append (a, b, 4))

  g_byte_array_append (a, (const guint8 *) "Exif\0\0", 6);
  g_byte_array_append (a, (const guint8 *) (little_endian ? "II" : "MM"), 2);
  PUT16 (42);
  PUT32 (8u);
  PUT16 (2);
  PUT16 (0x010f); PUT16 (2); PUT32 (4u); g_byte_array_append (a, (const guint8 *) "abc", 4);
  PUT16 (0x0112); PUT16 (3); PUT32 (1u); PUT16 (orientation); PUT16 (0);
  PUT32 (0u);
#undef PUT16
#undef PUT32
  return g_byte_array_free_to_bytes (a);
}

/* ---- pictures -------------------------------------------------------------- */

static guint
sample_const (int x, int y, int c, gconstpointer user)
{
  return GPOINTER_TO_UINT (user);
}

/* Grey ramp over the full range of a bit depth (user = bit depth); at 16
 * bits, 8-bit values times 257 so that the 8-bit result is exact. */
static guint
sample_ramp (int x, int y, int c, gconstpointer user)
{
  guint depth = GPOINTER_TO_UINT (user);

  if (depth == 16)
    return ((guint) (5 * x + 7 * y) % 256) * 257;
  return (guint) (x + 7 * y) % (1u << depth);
}

/* The 8-bit value sample_ramp stands for: low depths scale to 0..255. */
static guint8
ramp_8bit (int x, int y, int bit_depth)
{
  guint max = (1u << bit_depth) - 1;

  if (bit_depth == 16)
    return (guint8) ((5 * x + 7 * y) % 256);
  return (guint8) lround (((guint) (x + 7 * y) % (max + 1)) * 255.0 / max);
}

/* Distinct colour per pixel in every channel (user = bit depth, 8 or 16). */
static guint
sample_rgb (int x, int y, int c, gconstpointer user)
{
  guint v8 = (guint) (x * 29 + y * 53 + c * 101) & 0xff;

  return GPOINTER_TO_UINT (user) == 16 ? v8 * 257 : v8;
}

static guint8
rgb_8bit (int x, int y, int c)
{
  return (guint8) ((x * 29 + y * 53 + c * 101) & 0xff);
}

/* Alpha in the last channel sweeping 0..255. */
static guint
sample_rgba (int x, int y, int c, gconstpointer user)
{
  return c == 3 ? (guint) (x * 17 + y * 5) & 0xff : rgb_8bit (x, y, c);
}

static guint8
over_white (double value, double alpha)
{
  return (guint8) lround (value * alpha / 255.0 + 255.0 * (1.0 - alpha / 255.0));
}

/* Four flat quadrants: red, green, blue, white (RGB), for lossy formats. */
static const guint8 quadrant_colours[4][3] = {
  { 220, 30, 30 }, { 30, 200, 40 }, { 20, 40, 210 }, { 250, 250, 250 },
};

typedef struct {
  int width, height;
} Size;

static int
quadrant_of (int x, int y, int width, int height)
{
  return (x >= width / 2) + 2 * (y >= height / 2);
}

static guint
sample_quadrants (int x, int y, int c, gconstpointer user)
{
  const Size *size = user;

  return quadrant_colours[quadrant_of (x, y, size->width, size->height)][c];
}

static guint
sample_checker (int x, int y, int c, gconstpointer user)
{
  return ((x + y) & 1) ? 255 : 0;
}

/* A scene with shapes at a few scales, like a photo's large structures
 * (for perceptual hashing); user = a brightness offset. */
static guint
sample_scene (int x, int y, int c, gconstpointer user)
{
  double v = 60 + 0.4 * x + 0.2 * y;
  int offset = GPOINTER_TO_INT (user);

  if ((x - 50) * (x - 50) + (y - 40) * (y - 40) < 25 * 25)
    v += c == 0 ? 110 : 60;
  if (x > 100 && x < 140 && y > 60 && y < 110)
    v -= 50;
  if ((x - 30) * (x - 30) / 4 + (y - 95) * (y - 95) < 15 * 15)
    v += c == 2 ? 90 : 20;
  return (guint) CLAMP (lround (v) + offset, 0, 255);
}

static guint
sample_other_scene (int x, int y, int c, gconstpointer user)
{
  double v = 128 + 90 * cos (x * 0.11 - y * 0.07) * sin (y * 0.03 + c);

  return (guint) CLAMP (lround (v), 0, 255);
}

/* ---- helpers -------------------------------------------------------------------- */

static CuratorRgb *
decode (GBytes *bytes, int max_side, CuratorImageInfo *info)
{
  g_autoptr (GError) error = NULL;
  gsize n;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  CuratorRgb *image = curator_image_decode (data, n, max_side, info, &error);

  g_assert_no_error (error);
  g_assert_nonnull (image);
  return image;
}

/* Decodes @bytes expecting an error of @code whose message contains
 * @fragment (NULL: any non-empty message). */
static void
assert_decode_fails (const guint8 *data, gsize n, int code, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) facts_error = NULL;
  g_autoptr (CuratorRgb) image = NULL;
  g_autoptr (CuratorImageFacts) facts = NULL;
  g_autofree guint8 *copy = g_memdup2 (data, n);   /* exact size, so ASan sees overreads */
  CuratorImageInfo info;

  image = curator_image_decode (copy, n, 0, &info, &error);
  g_assert_null (image);
  g_assert_error (error, CURATOR_ERROR, code);
  g_assert_cmpstr (error->message, !=, "");
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("expected \"%s\" in the error, got \"%s\"", fragment, error->message);

  facts = curator_image_facts_from_bytes (copy, n, &facts_error);
  g_assert_null (facts);
  g_assert_error (facts_error, CURATOR_ERROR, code);
}

static const guint8 *
px (const CuratorRgb *image, int x, int y)
{
  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (x, <, image->width);
  g_assert_cmpint (y, <, image->height);
  return image->pixels + ((gsize) y * image->width + x) * 3;
}

static void
assert_colour_near (const CuratorRgb *image, int x, int y, const guint8 want[3], int tolerance)
{
  const guint8 *p = px (image, x, y);

  for (int c = 0; c < 3; c++)
    if (ABS ((int) p[c] - (int) want[c]) > tolerance)
      g_error ("pixel (%d,%d) is %d,%d,%d; want %d,%d,%d within %d", x, y,
               p[0], p[1], p[2], want[0], want[1], want[2], tolerance);
}

static CuratorImageFacts *
facts_of (GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  gsize n;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  CuratorImageFacts *facts = curator_image_facts_from_bytes (data, n, &error);

  g_assert_no_error (error);
  g_assert_nonnull (facts);
  return facts;
}

static guint32
crc32_of (const guint8 *data, gsize n)
{
  guint32 crc = 0xffffffffu;

  for (gsize i = 0; i < n; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
  return crc ^ 0xffffffffu;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

/* Offset of the first chunk of @type in a PNG, or -1. */
static gssize
png_find_chunk (const guint8 *data, gsize n, const char *type)
{
  gsize pos = 8;

  while (pos + 8 <= n)
    {
      guint32 length = (guint32) data[pos] << 24 | data[pos + 1] << 16 | data[pos + 2] << 8 | data[pos + 3];

      if (memcmp (data + pos + 4, type, 4) == 0)
        return (gssize) pos;
      pos += 12 + (gsize) length;
    }
  return -1;
}

static GBytes *
make_small_png (void)
{
  PngSpec s = { .width = 40, .height = 30, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                .sample = sample_rgb, .user = GUINT_TO_POINTER (8) };

  return make_png (&s);
}

static Size quad_size_64 = { 64, 48 };

static GBytes *
make_small_jpeg (gboolean progressive)
{
  JpegSpec s = { .width = 64, .height = 48, .components = 3, .progressive = progressive,
                 .sample = sample_quadrants, .user = &quad_size_64 };

  return make_jpeg (&s);
}

/* ---- format sniffing --------------------------------------------------------- */

static void
test_sniff (void)
{
  g_autoptr (GBytes) png = make_small_png ();
  g_autoptr (GBytes) jpeg = make_small_jpeg (FALSE);
  const guint8 text[] = "just some text, named .jpg or not";

  g_assert_cmpint (curator_image_sniff_format (g_bytes_get_data (png, NULL), g_bytes_get_size (png)),
                   ==, CURATOR_IMAGE_FORMAT_PNG);
  g_assert_cmpint (curator_image_sniff_format (g_bytes_get_data (jpeg, NULL), g_bytes_get_size (jpeg)),
                   ==, CURATOR_IMAGE_FORMAT_JPEG);
  g_assert_cmpint (curator_image_sniff_format (text, sizeof text), ==, CURATOR_IMAGE_FORMAT_UNKNOWN);
  g_assert_cmpint (curator_image_sniff_format (NULL, 0), ==, CURATOR_IMAGE_FORMAT_UNKNOWN);
  /* A PNG signature cut short is no PNG to the sniffer. */
  g_assert_cmpint (curator_image_sniff_format (g_bytes_get_data (png, NULL), 7), ==, CURATOR_IMAGE_FORMAT_UNKNOWN);

  g_assert_cmpstr (curator_image_format_to_string (CURATOR_IMAGE_FORMAT_PNG), ==, "png");
  g_assert_cmpstr (curator_image_format_to_string (CURATOR_IMAGE_FORMAT_JPEG), ==, "jpeg");
  g_assert_null (curator_image_format_to_string (CURATOR_IMAGE_FORMAT_UNKNOWN));
}

/* ---- PNG ------------------------------------------------------------------------ */

static void
test_png_grey_depths (void)
{
  static const int depths[] = { 1, 2, 4, 8, 16 };

  for (gsize i = 0; i < G_N_ELEMENTS (depths); i++)
    for (int interlaced = 0; interlaced <= 1; interlaced++)
      {
        int depth = depths[i];
        PngSpec s = { .width = 37, .height = 11, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = depth,
                      .interlaced = interlaced, .sample = sample_ramp, .user = GUINT_TO_POINTER (depth) };
        g_autoptr (GBytes) bytes = make_png (&s);
        CuratorImageInfo info;
        g_autoptr (CuratorRgb) image = decode (bytes, 0, &info);

        g_test_message ("grey %d-bit%s", depth, interlaced ? " interlaced" : "");
        g_assert_cmpint (info.format, ==, CURATOR_IMAGE_FORMAT_PNG);
        g_assert_cmpint (info.width, ==, 37);
        g_assert_cmpint (info.height, ==, 11);
        g_assert_cmpint (info.channels, ==, 1);
        g_assert_cmpint (image->width, ==, 37);
        g_assert_cmpint (image->height, ==, 11);
        for (int y = 0; y < s.height; y++)
          for (int x = 0; x < s.width; x++)
            {
              const guint8 *p = px (image, x, y);
              guint8 want = ramp_8bit (x, y, depth);

              g_assert_cmpuint (p[0], ==, want);
              g_assert_cmpuint (p[1], ==, want);
              g_assert_cmpuint (p[2], ==, want);
            }
      }
}

static void
test_png_grey_alpha (void)
{
  PngSpec s = { .width = 20, .height = 20, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA, .bit_depth = 8,
                .sample = sample_rgba };
  g_autoptr (GBytes) bytes = make_png (&s);
  CuratorImageInfo info;
  g_autoptr (CuratorRgb) image = decode (bytes, 0, &info);

  g_assert_cmpint (info.channels, ==, 2);
  /* Channel 0 is grey, channel 1 (sample_rgba's c == 1) is alpha here. */
  for (int y = 0; y < 20; y++)
    for (int x = 0; x < 20; x++)
      {
        guint8 want = over_white (rgb_8bit (x, y, 0), rgb_8bit (x, y, 1));
        const guint8 *p = px (image, x, y);

        g_assert_cmpuint (p[0], ==, want);
        g_assert_cmpuint (p[1], ==, want);
        g_assert_cmpuint (p[2], ==, want);
      }
}

static void
test_png_rgb (void)
{
  for (int depth = 8; depth <= 16; depth += 8)
    for (int interlaced = 0; interlaced <= 1; interlaced++)
      {
        PngSpec s = { .width = 33, .height = 17, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = depth,
                      .interlaced = interlaced, .sample = sample_rgb, .user = GUINT_TO_POINTER (depth) };
        g_autoptr (GBytes) bytes = make_png (&s);
        CuratorImageInfo info;
        g_autoptr (CuratorRgb) image = decode (bytes, 0, &info);

        g_assert_cmpint (info.channels, ==, 3);
        for (int y = 0; y < s.height; y++)
          for (int x = 0; x < s.width; x++)
            for (int c = 0; c < 3; c++)
              g_assert_cmpuint (px (image, x, y)[c], ==, rgb_8bit (x, y, c));
      }
}

static void
test_png_rgba (void)
{
  for (int interlaced = 0; interlaced <= 1; interlaced++)
    {
      PngSpec s = { .width = 31, .height = 19, .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 8,
                    .interlaced = interlaced, .sample = sample_rgba };
      g_autoptr (GBytes) bytes = make_png (&s);
      CuratorImageInfo info;
      g_autoptr (CuratorRgb) image = decode (bytes, 0, &info);
      gboolean saw_clear = FALSE, saw_opaque = FALSE;

      g_assert_cmpint (info.channels, ==, 4);
      for (int y = 0; y < s.height; y++)
        for (int x = 0; x < s.width; x++)
          {
            guint alpha = sample_rgba (x, y, 3, NULL);

            saw_clear |= alpha == 0;
            saw_opaque |= alpha == 255;
            for (int c = 0; c < 3; c++)
              g_assert_cmpuint (px (image, x, y)[c], ==, over_white (rgb_8bit (x, y, c), alpha));
          }
      /* Fully transparent pixels read white, opaque ones unchanged. */
      g_assert_true (saw_clear && saw_opaque);
    }
}

static const png_color test_palette[4] = {
  { 255, 0, 0 }, { 0, 128, 0 }, { 10, 20, 250 }, { 200, 200, 200 },
};

static guint
sample_index (int x, int y, int c, gconstpointer user)
{
  return (guint) (x / 3 + y) % 4;
}

static guint
sample_palette_rgb (int x, int y, int c, gconstpointer user)
{
  const png_color *p = &test_palette[sample_index (x, y, 0, NULL)];

  return c == 0 ? p->red : c == 1 ? p->green : p->blue;
}

static void
test_png_palette (void)
{
  static const guint8 alpha[3] = { 255, 0, 128 };   /* index 3 opaque by omission */
  PngSpec s = { .width = 21, .height = 9, .color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 2,
                .palette = test_palette, .n_palette = 4, .sample = sample_index };
  g_autoptr (GBytes) plain = make_png (&s);
  g_autoptr (GBytes) transparent = NULL;
  g_autoptr (CuratorRgb) a = NULL;
  g_autoptr (CuratorRgb) b = NULL;
  CuratorImageInfo info;

  a = decode (plain, 0, &info);
  g_assert_cmpint (info.channels, ==, 3);
  for (int y = 0; y < s.height; y++)
    for (int x = 0; x < s.width; x++)
      {
        const png_color *want = &test_palette[sample_index (x, y, 0, NULL)];
        const guint8 *p = px (a, x, y);

        g_assert_cmpuint (p[0], ==, want->red);
        g_assert_cmpuint (p[1], ==, want->green);
        g_assert_cmpuint (p[2], ==, want->blue);
      }

  s.palette_alpha = alpha;
  s.n_palette_alpha = G_N_ELEMENTS (alpha);
  s.interlaced = TRUE;
  transparent = make_png (&s);
  b = decode (transparent, 0, &info);
  g_assert_cmpint (info.channels, ==, 4);
  for (int y = 0; y < s.height; y++)
    for (int x = 0; x < s.width; x++)
      {
        guint index = sample_index (x, y, 0, NULL);
        const png_color *col = &test_palette[index];
        double al = index < 3 ? alpha[index] : 255;
        const guint8 *p = px (b, x, y);

        g_assert_cmpuint (p[0], ==, over_white (col->red, al));
        g_assert_cmpuint (p[1], ==, over_white (col->green, al));
        g_assert_cmpuint (p[2], ==, over_white (col->blue, al));
      }
}

static void
test_png_trns_colour (void)
{
  /* Grey 4-bit with value 5 transparent; RGB 16-bit with one colour transparent. */
  png_color_16 grey_key = { .gray = 5 };
  png_color_16 rgb_key = { .red = rgb_8bit (2, 1, 0) * 257, .green = rgb_8bit (2, 1, 1) * 257,
                           .blue = rgb_8bit (2, 1, 2) * 257 };
  PngSpec grey = { .width = 16, .height = 4, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4,
                   .trans_color = &grey_key, .sample = sample_ramp, .user = GUINT_TO_POINTER (4) };
  PngSpec rgb = { .width = 16, .height = 4, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 16,
                  .trans_color = &rgb_key, .sample = sample_rgb, .user = GUINT_TO_POINTER (16) };
  g_autoptr (GBytes) grey_bytes = make_png (&grey);
  g_autoptr (GBytes) rgb_bytes = make_png (&rgb);
  CuratorImageInfo info;
  g_autoptr (CuratorRgb) g = decode (grey_bytes, 0, &info);
  g_autoptr (CuratorRgb) c = NULL;

  g_assert_cmpint (info.channels, ==, 2);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 16; x++)
      {
        guint v = sample_ramp (x, y, 0, GUINT_TO_POINTER (4));

        g_assert_cmpuint (px (g, x, y)[0], ==, v == 5 ? 255 : ramp_8bit (x, y, 4));
      }

  c = decode (rgb_bytes, 0, &info);
  g_assert_cmpint (info.channels, ==, 4);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 16; x++)
      {
        gboolean keyed = rgb_8bit (x, y, 0) == rgb_8bit (2, 1, 0) && rgb_8bit (x, y, 1) == rgb_8bit (2, 1, 1)
                         && rgb_8bit (x, y, 2) == rgb_8bit (2, 1, 2);

        for (int ch = 0; ch < 3; ch++)
          g_assert_cmpuint (px (c, x, y)[ch], ==, keyed ? 255 : rgb_8bit (x, y, ch));
      }
  g_assert_cmpuint (px (c, 2, 1)[0], ==, 255);
}

/* The pixel hash identifies the picture, not its encoding. */
static void
test_png_pixel_hash_across_encodings (void)
{
  PngSpec rgb = { .width = 21, .height = 9, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                  .sample = sample_palette_rgb };
  PngSpec pal = { .width = 21, .height = 9, .color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 8,
                  .palette = test_palette, .n_palette = 4, .sample = sample_index };
  PngSpec interlaced = pal;
  g_autoptr (GBytes) b_rgb = NULL, b_pal = NULL, b_int = NULL;
  g_autoptr (CuratorImageFacts) f_rgb = NULL, f_pal = NULL, f_int = NULL;

  interlaced.interlaced = TRUE;
  interlaced.bit_depth = 2;
  b_rgb = make_png (&rgb);
  b_pal = make_png (&pal);
  b_int = make_png (&interlaced);
  f_rgb = facts_of (b_rgb);
  f_pal = facts_of (b_pal);
  f_int = facts_of (b_int);

  g_assert_cmpstr (f_rgb->pixel_hash, ==, f_pal->pixel_hash);
  g_assert_cmpstr (f_rgb->pixel_hash, ==, f_int->pixel_hash);
  g_assert_cmpstr (f_rgb->file_hash, !=, f_pal->file_hash);
  g_assert_cmpuint (f_rgb->phash, ==, f_pal->phash);
  g_assert_cmpint (strlen (f_rgb->pixel_hash), ==, 64);
}

/* ---- JPEG --------------------------------------------------------------------- */

static void
assert_quadrants (const CuratorRgb *image, int tolerance)
{
  int w = image->width, h = image->height;
  int xs[2] = { w / 4, 3 * w / 4 }, ys[2] = { h / 4, 3 * h / 4 };

  for (int q = 0; q < 4; q++)
    assert_colour_near (image, xs[q & 1], ys[q >> 1], quadrant_colours[q], tolerance);
}

static void
test_jpeg_grey (void)
{
  Size size = { 48, 32 };
  JpegSpec s = { .width = 48, .height = 32, .components = 1, .sample = sample_quadrants, .user = &size };
  g_autoptr (GBytes) bytes = make_jpeg (&s);
  CuratorImageInfo info;
  g_autoptr (CuratorRgb) image = decode (bytes, 0, &info);

  g_assert_cmpint (info.format, ==, CURATOR_IMAGE_FORMAT_JPEG);
  g_assert_cmpint (info.channels, ==, 1);
  g_assert_cmpint (image->width, ==, 48);
  g_assert_cmpint (image->height, ==, 32);
  for (int q = 0; q < 4; q++)
    {
      /* Channel 0 of each quadrant colour was written as grey. */
      guint8 v = quadrant_colours[q][0];
      guint8 want[3] = { v, v, v };

      assert_colour_near (image, (q & 1) ? 36 : 12, (q >> 1) ? 24 : 8, want, 3);
    }
  for (gsize i = 0; i < (gsize) 48 * 32; i++)
    {
      g_assert_cmpuint (image->pixels[3 * i], ==, image->pixels[3 * i + 1]);
      g_assert_cmpuint (image->pixels[3 * i], ==, image->pixels[3 * i + 2]);
    }
}

static void
test_jpeg_rgb_and_progressive (void)
{
  g_autoptr (GBytes) baseline = make_small_jpeg (FALSE);
  g_autoptr (GBytes) progressive = make_small_jpeg (TRUE);
  CuratorImageInfo info;
  g_autoptr (CuratorRgb) a = decode (baseline, 0, &info);
  g_autoptr (CuratorRgb) b = NULL;

  g_assert_cmpint (info.channels, ==, 3);
  g_assert_cmpint (a->width, ==, 64);
  g_assert_cmpint (a->height, ==, 48);
  assert_quadrants (a, 8);

  g_assert_false (g_bytes_equal (baseline, progressive));
  b = decode (progressive, 0, &info);
  g_assert_cmpint (info.channels, ==, 3);
  assert_quadrants (b, 8);
  for (gsize i = 0; i < (gsize) 64 * 48 * 3; i++)
    g_assert_cmpint (ABS ((int) a->pixels[i] - (int) b->pixels[i]), <=, 4);
}

/* Ink amounts per quadrant: cyan, magenta+yellow (red), 50% black, none. */
static const guint8 ink[4][4] = {
  { 255, 0, 0, 0 }, { 0, 255, 255, 0 }, { 0, 0, 0, 128 }, { 0, 0, 0, 0 },
};
static const guint8 ink_rgb[4][3] = {
  { 0, 255, 255 }, { 255, 0, 0 }, { 127, 127, 127 }, { 255, 255, 255 },
};

static guint
sample_ink (int x, int y, int c, gconstpointer user)
{
  return ink[quadrant_of (x, y, 32, 32)][c];
}

/* What Photoshop writes: 255 means no ink. */
static guint
sample_ink_inverted (int x, int y, int c, gconstpointer user)
{
  return 255 - ink[quadrant_of (x, y, 32, 32)][c];
}

static void
test_jpeg_cmyk (void)
{
  JpegSpec adobe = { .width = 32, .height = 32, .components = 4, .jpeg_space = JCS_CMYK,
                     .sample = sample_ink_inverted };
  JpegSpec ycck = adobe;
  JpegSpec plain = { .width = 32, .height = 32, .components = 4, .jpeg_space = JCS_CMYK,
                     .no_adobe_marker = TRUE, .sample = sample_ink };
  JpegSpec *specs[] = { &adobe, &ycck, &plain };

  ycck.jpeg_space = JCS_YCCK;
  for (gsize i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      g_autoptr (GBytes) bytes = make_jpeg (specs[i]);
      CuratorImageInfo info;
      g_autoptr (CuratorRgb) image = decode (bytes, 0, &info);

      g_test_message ("CMYK variant %" G_GSIZE_FORMAT, i);
      g_assert_cmpint (info.channels, ==, 4);
      for (int q = 0; q < 4; q++)
        assert_colour_near (image, (q & 1) ? 24 : 8, (q >> 1) ? 24 : 8, ink_rgb[q], 8);
    }
}

/* Sets up a 3-component script of 2090 scans, each bit of each coefficient
 * on its own: valid JPEG, but far over the decoder's limit. With one
 * component the same scheme gives 704 scans, which must still decode. */
static jpeg_scan_info *
make_many_scans (int n_components, int *n_scans)
{
  jpeg_scan_info *scans = g_new0 (jpeg_scan_info, 11 + 63 * 11 * n_components);
  int n = 0;

  for (int al = 10; al >= 0; al--)
    {
      jpeg_scan_info *s = &scans[n++];

      s->comps_in_scan = n_components;
      for (int c = 0; c < n_components; c++)
        s->component_index[c] = c;
      s->Ss = s->Se = 0;
      s->Ah = al == 10 ? 0 : al + 1;
      s->Al = al;
    }
  for (int c = 0; c < n_components; c++)
    for (int k = 1; k < 64; k++)
      for (int al = 10; al >= 0; al--)
        {
          jpeg_scan_info *s = &scans[n++];

          s->comps_in_scan = 1;
          s->component_index[0] = c;
          s->Ss = s->Se = k;
          s->Ah = al == 10 ? 0 : al + 1;
          s->Al = al;
        }
  *n_scans = n;
  return scans;
}

static void
test_jpeg_scan_limit (void)
{
  Size size = { 16, 16 };
  int n_grey, n_colour;
  g_autofree jpeg_scan_info *grey_scans = make_many_scans (1, &n_grey);
  g_autofree jpeg_scan_info *colour_scans = make_many_scans (3, &n_colour);
  JpegSpec grey = { .width = 16, .height = 16, .components = 1, .scans = grey_scans, .n_scans = n_grey,
                    .sample = sample_quadrants, .user = &size };
  JpegSpec colour = { .width = 16, .height = 16, .components = 3, .scans = colour_scans,
                      .n_scans = n_colour, .sample = sample_quadrants, .user = &size };
  g_autoptr (GBytes) grey_bytes = make_jpeg (&grey);
  g_autoptr (GBytes) colour_bytes = make_jpeg (&colour);
  g_autoptr (CuratorRgb) image = decode (grey_bytes, 0, NULL);

  g_assert_cmpint (n_grey, ==, 704);
  g_assert_cmpint (n_colour, ==, 2090);
  g_assert_cmpint (image->width, ==, 16);
  assert_decode_fails (g_bytes_get_data (colour_bytes, NULL), g_bytes_get_size (colour_bytes),
                       CURATOR_ERROR_CORRUPT_IMAGE, "scans");
}

/* A 64x32 picture, grey with a red block at the stored top left and a blue
 * one at the stored top right; for each orientation, where they must show. */
enum { TL, TR, BR, BL };

static guint
sample_marked (int x, int y, int c, gconstpointer user)
{
  if (y < 16 && x < 16)
    return c == 0 ? 230 : 20;
  if (y < 16 && x >= 48)
    return c == 2 ? 230 : 20;
  return 128;
}

static void
assert_corner (const CuratorRgb *image, int corner, const guint8 colour[3])
{
  int x = (corner == TL || corner == BL) ? 5 : image->width - 6;
  int y = (corner == TL || corner == TR) ? 5 : image->height - 6;

  assert_colour_near (image, x, y, colour, 12);
}

static void
test_jpeg_exif_orientation (void)
{
  static const int red_at[9] = { 0, TL, TR, BR, BL, TL, TR, BR, BL };
  static const int blue_at[9] = { 0, TR, TL, BL, BR, BL, BR, TR, TL };
  static const guint8 red[3] = { 230, 20, 20 }, blue[3] = { 20, 20, 230 };

  for (int orientation = 1; orientation <= 8; orientation++)
    for (int le = 0; le <= 1; le++)
      {
        g_autoptr (GBytes) exif = make_exif (orientation, le);
        JpegSpec s = { .width = 64, .height = 32, .components = 3, .app1 = exif, .sample = sample_marked };
        g_autoptr (GBytes) bytes = make_jpeg (&s);
        CuratorImageInfo info;
        g_autoptr (CuratorRgb) image = decode (bytes, 0, &info);
        gboolean swapped = orientation >= 5;

        g_test_message ("orientation %d, %s", orientation, le ? "II" : "MM");
        g_assert_cmpint (_curator_exif_orientation (g_bytes_get_data (exif, NULL), g_bytes_get_size (exif)),
                         ==, orientation);
        g_assert_cmpint (info.width, ==, swapped ? 32 : 64);
        g_assert_cmpint (info.height, ==, swapped ? 64 : 32);
        g_assert_cmpint (image->width, ==, info.width);
        g_assert_cmpint (image->height, ==, info.height);
        assert_corner (image, red_at[orientation], red);
        assert_corner (image, blue_at[orientation], blue);
      }
}

/* Orientation applies to a scaled decode as well: 512x256 stored, turned
 * upright to 256x512, decoded at 2/8. */
static guint
sample_marked_big (int x, int y, int c, gconstpointer user)
{
  return sample_marked (x / 8, y / 8, c, user);
}

static void
test_jpeg_exif_orientation_scaled (void)
{
  static const guint8 red[3] = { 230, 20, 20 }, blue[3] = { 20, 20, 230 };
  g_autoptr (GBytes) exif = make_exif (6, FALSE);
  JpegSpec s = { .width = 512, .height = 256, .components = 3, .app1 = exif, .sample = sample_marked_big };
  g_autoptr (GBytes) bytes = make_jpeg (&s);
  g_autoptr (GError) error = NULL;
  g_autoptr (CuratorRgb) image = NULL;
  CuratorImageInfo info;
  int scale = 0;

  image = _curator_image_decode_scaled (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                        64, 0, &info, &scale, &error);
  g_assert_no_error (error);
  g_assert_cmpint (scale, ==, 2);
  g_assert_cmpint (info.width, ==, 256);
  g_assert_cmpint (info.height, ==, 512);
  g_assert_cmpint (image->width, ==, 64);
  g_assert_cmpint (image->height, ==, 128);
  assert_corner (image, TR, red);
  assert_corner (image, BR, blue);
}

/* The EXIF reader sees untrusted bytes: every prefix and a few lies. */
static void
test_exif_malformed (void)
{
  g_autoptr (GBytes) exif = make_exif (6, TRUE);
  gsize n;
  const guint8 *good = g_bytes_get_data (exif, &n);
  g_autofree guint8 *bad = g_memdup2 (good, n);

  for (gsize len = 0; len < n; len++)
    {
      g_autofree guint8 *prefix = g_memdup2 (good, MAX (len, 1));
      int o = _curator_exif_orientation (len > 0 ? prefix : NULL, len);

      /* The tag sits at the end; until its value is in, nothing is found. */
      g_assert_cmpint (o, ==, len >= n - 4 ? 6 : 1);
    }

  /* IFD offset past the end, entry count too large, wrong type, bad value. */
  memcpy (bad, good, n);
  bad[10] = 0xff; bad[11] = 0xff; bad[12] = 0xff; bad[13] = 0x7f;
  g_assert_cmpint (_curator_exif_orientation (bad, n), ==, 1);
  memcpy (bad, good, n);
  bad[14] = 0xff; bad[15] = 0xff;
  /* 65535 entries claimed: reads the two there, stops at the end. */
  g_assert_cmpint (_curator_exif_orientation (bad, n), ==, 6);
  memcpy (bad, good, n);
  bad[6 + 8 + 2 + 12 + 2] = 7;   /* orientation type: UNDEFINED */
  g_assert_cmpint (_curator_exif_orientation (bad, n), ==, 1);
  memcpy (bad, good, n);
  bad[6 + 8 + 2 + 12 + 8] = 9;   /* orientation 9 does not exist */
  g_assert_cmpint (_curator_exif_orientation (bad, n), ==, 1);
  memcpy (bad, good, n);
  bad[6] = 'X';
  g_assert_cmpint (_curator_exif_orientation (bad, n), ==, 1);
}

static Size big_size = { 2048, 1536 };

static GBytes *
make_big_jpeg (void)
{
  JpegSpec s = { .width = 2048, .height = 1536, .components = 3, .quality = 85,
                 .sample = sample_quadrants, .user = &big_size };

  return make_jpeg (&s);
}

static void
test_jpeg_dct_scaling (void)
{
  g_autoptr (GBytes) bytes = make_big_jpeg ();
  gsize n;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  CuratorImageInfo info;
  g_autoptr (CuratorRgb) small = decode (bytes, 256, &info);
  g_autoptr (CuratorRgb) smaller = NULL;
  g_autoptr (CuratorRgb) full = NULL;
  g_autoptr (CuratorImageFacts) facts = NULL;
  g_autoptr (CuratorImageFacts) png_facts = NULL;
  g_autoptr (GBytes) png = NULL;
  g_autoptr (GError) error = NULL;
  int scale = 0;

  /* Smallest M/8 with a shorter side >= 256: 1536 * 2/8 = 384. */
  g_assert_cmpint (info.width, ==, 2048);
  g_assert_cmpint (info.height, ==, 1536);
  g_assert_cmpint (small->width, ==, 512);
  g_assert_cmpint (small->height, ==, 384);
  assert_quadrants (small, 8);

  smaller = _curator_image_decode_scaled (data, n, 100, 0, &info, &scale, &error);
  g_assert_no_error (error);
  g_assert_cmpint (scale, ==, 1);
  g_assert_cmpint (smaller->width, ==, 256);
  g_assert_cmpint (smaller->height, ==, 192);

  full = decode (bytes, 0, &info);
  g_assert_cmpint (full->width, ==, 2048);
  g_assert_cmpint (full->height, ==, 1536);
  assert_quadrants (full, 8);

  /* The facts of a large JPEG come from the scaled decode ... */
  facts = facts_of (bytes);
  g_assert_cmpint (facts->info.width, ==, 2048);
  g_assert_cmpint (facts->info.height, ==, 1536);
  g_assert_cmpint (facts->thumb_width, ==, 256);
  g_assert_cmpint (facts->thumb_height, ==, 192);
  g_assert_cmpstr (facts->thumb_format, ==, "jpeg");
  /* ... and the scaled raster's hash never equals that of the same pixels
   * decoded at full size from another file. */
  png = curator_image_encode_png (small, &error);
  g_assert_no_error (error);
  png_facts = facts_of (png);
  g_assert_cmpint (png_facts->info.width, ==, 512);
  g_assert_cmpstr (png_facts->pixel_hash, !=, facts->pixel_hash);
}

/* ---- broken inputs ------------------------------------------------------------ */

static void
test_broken_basic (void)
{
  static const guint8 soi[] = { 0xff, 0xd8 };
  static const guint8 soi_eoi[] = { 0xff, 0xd8, 0xff, 0xd9 };
  static const guint8 text[] = "hello, this is not a picture\n";
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  guint8 noise[1000];

  for (gsize i = 0; i < sizeof noise; i++)
    noise[i] = (guint8) g_rand_int (rand);
  noise[0] = 0x42;   /* never by chance a signature */

  assert_decode_fails (NULL, 0, CURATOR_ERROR_CORRUPT_IMAGE, "file is empty");
  assert_decode_fails (noise, sizeof noise, CURATOR_ERROR_UNSUPPORTED_FORMAT, "not a PNG or JPEG file");
  assert_decode_fails (text, sizeof text - 1, CURATOR_ERROR_UNSUPPORTED_FORMAT, "not a PNG or JPEG file");
  assert_decode_fails (soi, sizeof soi, CURATOR_ERROR_CORRUPT_IMAGE, "file is truncated");
  assert_decode_fails (soi_eoi, sizeof soi_eoi, CURATOR_ERROR_CORRUPT_IMAGE, NULL);
}

static void
test_broken_png (void)
{
  g_autoptr (GBytes) bytes = make_small_png ();
  gsize n;
  const guint8 *good = g_bytes_get_data (bytes, &n);
  g_autofree guint8 *bad = g_memdup2 (good, n);
  gssize idat = png_find_chunk (good, n, "IDAT");
  gssize iend = png_find_chunk (good, n, "IEND");
  guint32 idat_length;
  /* Cut inside the signature, the IHDR length, the IHDR data, the IDAT
   * data, just before IEND, inside the IEND CRC. */
  gsize cuts[] = { 4, 10, 20, 0, 0, n - 1 };

  g_assert_cmpint (idat, >, 0);
  g_assert_cmpint (iend, >, idat);
  idat_length = (guint32) good[idat] << 24 | good[idat + 1] << 16 | good[idat + 2] << 8 | good[idat + 3];
  cuts[3] = (gsize) idat + 8 + idat_length / 2;
  cuts[4] = (gsize) iend;
  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_test_message ("PNG cut at %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT, cuts[i], n);
      assert_decode_fails (good, cuts[i], CURATOR_ERROR_CORRUPT_IMAGE, "file is truncated");
    }

  /* A flipped bit in IHDR's data: its CRC no longer matches. */
  bad[16 + 3] ^= 0x01;
  assert_decode_fails (bad, n, CURATOR_ERROR_CORRUPT_IMAGE, "bad CRC in PNG chunk IHDR");
  memcpy (bad, good, n);
  bad[idat + 8 + idat_length] ^= 0x01;
  assert_decode_fails (bad, n, CURATOR_ERROR_CORRUPT_IMAGE, "bad CRC in PNG chunk IDAT");

  /* Damaged compressed data under a CRC made right: zlib notices instead. */
  memcpy (bad, good, n);
  bad[idat + 8 + 5] ^= 0x40;
  put_be32 (bad + idat + 8 + idat_length, crc32_of (bad + idat + 4, 4 + idat_length));
  assert_decode_fails (bad, n, CURATOR_ERROR_CORRUPT_IMAGE, NULL);

  /* A header that claims 100000x100000 pixels, with a valid CRC. */
  memcpy (bad, good, n);
  put_be32 (bad + 16, 100000);
  put_be32 (bad + 20, 100000);
  put_be32 (bad + 29, crc32_of (bad + 12, 17));
  assert_decode_fails (bad, n, CURATOR_ERROR_CORRUPT_IMAGE,
                       "image header claims 100000x100000 pixels (limit 100 Mpx)");
}

static void
test_broken_jpeg (void)
{
  g_autoptr (GBytes) bytes = make_small_jpeg (FALSE);
  g_autoptr (GBytes) progressive = make_small_jpeg (TRUE);
  gsize n, n_prog;
  const guint8 *good = g_bytes_get_data (bytes, &n);
  const guint8 *good_prog = g_bytes_get_data (progressive, &n_prog);
  g_autofree guint8 *bad = g_memdup2 (good, n);
  gssize sof = -1, sos = -1;

  for (gsize i = 2; i + 1 < n; i++)
    {
      if (good[i] == 0xff && good[i + 1] == 0xc0 && sof < 0)
        sof = (gssize) i;
      if (good[i] == 0xff && good[i + 1] == 0xda && sos < 0)
        sos = (gssize) i;
    }
  g_assert_cmpint (sof, >, 0);
  g_assert_cmpint (sos, >, sof);

  /* Mid-scan, right after the header, and just the EOI missing. */
  assert_decode_fails (good, (gsize) sos + (n - (gsize) sos) / 2, CURATOR_ERROR_CORRUPT_IMAGE, "file is truncated");
  assert_decode_fails (good, (gsize) sos, CURATOR_ERROR_CORRUPT_IMAGE, "file is truncated");
  assert_decode_fails (good, n - 2, CURATOR_ERROR_CORRUPT_IMAGE, "file is truncated");
  assert_decode_fails (good_prog, n_prog / 2, CURATOR_ERROR_CORRUPT_IMAGE, "file is truncated");
  assert_decode_fails (good, 3, CURATOR_ERROR_CORRUPT_IMAGE, "file is truncated");

  /* SOF0: FF C0, length(2), precision(1), height(2), width(2). */
  bad[sof + 5] = 65000 >> 8;
  bad[sof + 6] = 65000 & 0xff;
  bad[sof + 7] = 65000 >> 8;
  bad[sof + 8] = 65000 & 0xff;
  assert_decode_fails (bad, n, CURATOR_ERROR_CORRUPT_IMAGE,
                       "image header claims 65000x65000 pixels (limit 100 Mpx)");

  /* A zero height: libjpeg's own words. */
  memcpy (bad, good, n);
  bad[sof + 5] = 0;
  bad[sof + 6] = 0;
  assert_decode_fails (bad, n, CURATOR_ERROR_CORRUPT_IMAGE, NULL);
}

/* Random damage to good files: any outcome but a crash, a hang or an
 * unexpected error code. */
static void
test_broken_mutations (void)
{
  g_autoptr (GBytes) png = make_small_png ();
  g_autoptr (GBytes) jpeg = make_small_jpeg (FALSE);
  g_autoptr (GBytes) prog = make_small_jpeg (TRUE);
  GBytes *inputs[] = { png, jpeg, prog };
  g_autoptr (GRand) rand = g_rand_new_with_seed (20240601);
  int n_failed = 0, n_ok = 0;

  for (gsize k = 0; k < G_N_ELEMENTS (inputs); k++)
    for (int round = 0; round < 150; round++)
      {
        gsize n;
        const guint8 *good = g_bytes_get_data (inputs[k], &n);
        g_autofree guint8 *bad = g_memdup2 (good, n);
        g_autoptr (GError) error = NULL;
        g_autoptr (CuratorRgb) image = NULL;
        gsize len = n;
        int n_flips = g_rand_int_range (rand, 1, 6);

        for (int i = 0; i < n_flips; i++)
          bad[g_rand_int_range (rand, 2, (gint32) n)] ^= (guint8) g_rand_int_range (rand, 1, 256);
        if (g_rand_boolean (rand))
          len = (gsize) g_rand_int_range (rand, 1, (gint32) n);

        image = curator_image_decode (bad, len, 0, NULL, &error);
        if (image == NULL)
          {
            g_assert_true (g_error_matches (error, CURATOR_ERROR, CURATOR_ERROR_CORRUPT_IMAGE)
                           || g_error_matches (error, CURATOR_ERROR, CURATOR_ERROR_UNSUPPORTED_FORMAT));
            n_failed++;
          }
        else
          {
            g_assert_no_error (error);
            g_assert_cmpint (image->width, >, 0);
            n_ok++;
          }
      }
  g_test_message ("%d damaged files refused, %d decoded", n_failed, n_ok);
  g_assert_cmpint (n_failed, >, 0);
}

/* ---- files ---------------------------------------------------------------------- */

typedef struct {
  char *dir;
} FileFixture;

static void
file_fixture_setup (FileFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("curator-test-image-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
file_fixture_teardown (FileFixture *f, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      g_chmod (path, 0700);
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        g_rmdir (path);
      else
        g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static char *
write_file (FileFixture *f, const char *name, const void *data, gsize n)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (f->dir, name, NULL);

  g_file_set_contents (path, data, (gssize) n, &error);
  g_assert_no_error (error);
  return path;
}

static void
assert_file_fails (const char *path, int code, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CuratorImageFacts) facts = curator_image_facts_from_file (path, &error);

  g_assert_null (facts);
  g_assert_error (error, CURATOR_ERROR, code);
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("expected \"%s\" in the error, got \"%s\"", fragment, error->message);
}

static void
test_file_good (FileFixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_small_jpeg (FALSE);
  g_autofree char *path = write_file (f, "a.png", g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_autofree char *link = g_build_filename (f->dir, "link.jpg", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CuratorImageFacts) from_file = curator_image_facts_from_file (path, &error);
  g_autoptr (CuratorImageFacts) from_link = NULL;
  g_autoptr (CuratorImageFacts) from_bytes = facts_of (bytes);
  g_autofree char *want_hash = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);

  /* Named .png, sniffed as what it is. */
  g_assert_no_error (error);
  g_assert_cmpint (from_file->info.format, ==, CURATOR_IMAGE_FORMAT_JPEG);
  g_assert_cmpstr (from_file->file_hash, ==, want_hash);
  g_assert_cmpstr (from_file->file_hash, ==, from_bytes->file_hash);
  g_assert_cmpstr (from_file->pixel_hash, ==, from_bytes->pixel_hash);
  g_assert_cmpuint (from_file->phash, ==, from_bytes->phash);

  /* One read serves the hash and the thumbnail, which is the file itself. */
  {
    gint64 mtime_us = 0;
    g_autoptr (GBytes) read = curator_image_read_file (path, &mtime_us, &error);
    GStatBuf st;

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (read, bytes));
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_assert_cmpint (mtime_us, ==, (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000);
    g_assert_true (g_bytes_equal (from_file->thumb, bytes));
    g_assert_cmpstr (from_file->thumb_format, ==, "jpeg");
  }

  /* Symbolic links inside a dataset are followed. */
  g_assert_cmpint (symlink (path, link), ==, 0);
  from_link = curator_image_facts_from_file (link, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (from_link->file_hash, ==, want_hash);
}

static void
test_file_refused (FileFixture *f, gconstpointer data)
{
  static const char text[] = "name,label\nnot,an image\n";
  g_autofree char *dir = g_build_filename (f->dir, "x.jpg", NULL);
  g_autofree char *fifo = g_build_filename (f->dir, "x.png", NULL);
  g_autofree char *empty = write_file (f, "empty.png", "", 0);
  g_autofree char *txt = write_file (f, "notes.jpg", text, sizeof text - 1);
  g_autofree char *missing = g_build_filename (f->dir, "missing.png", NULL);

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);

  assert_file_fails (dir, CURATOR_ERROR_IO, "directory");
  /* Would block forever in open() without O_NONBLOCK. */
  assert_file_fails (fifo, CURATOR_ERROR_IO, "FIFO");
  assert_file_fails (empty, CURATOR_ERROR_CORRUPT_IMAGE, "file is empty");
  assert_file_fails (txt, CURATOR_ERROR_UNSUPPORTED_FORMAT, "not a PNG or JPEG file");
  assert_file_fails (missing, CURATOR_ERROR_NOT_FOUND, NULL);

  /* Over the size limit: refused from its size alone (a sparse file, so
   * nothing is written or read). */
  {
    g_autofree char *huge = write_file (f, "huge.jpg", "\xff\xd8\xff", 3);

    g_assert_cmpint (truncate (huge, CURATOR_IMAGE_MAX_FILE_BYTES + 1), ==, 0);
    assert_file_fails (huge, CURATOR_ERROR_IO, "larger than");
  }
}

static void
test_file_unreadable (FileFixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_small_png ();
  g_autofree char *path = write_file (f, "locked.png", g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

  g_assert_cmpint (g_chmod (path, 0), ==, 0);
  if (geteuid () == 0)
    {
      g_test_skip ("running as root, which may read a file of mode 000");
      return;
    }
  assert_file_fails (path, CURATOR_ERROR_IO, g_strerror (EACCES));
}

/* ---- statistics ------------------------------------------------------------------ */

static void
test_stats_flat (void)
{
  PngSpec s = { .width = 40, .height = 30, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8,
                .sample = sample_const, .user = GUINT_TO_POINTER (97) };
  g_autoptr (GBytes) bytes = make_png (&s);
  g_autoptr (CuratorImageFacts) f = facts_of (bytes);

  g_assert_cmpfloat (f->contrast, ==, 0);
  g_assert_cmpfloat (f->entropy, ==, 0);
  g_assert_cmpfloat (f->blur, ==, 0);
  g_assert_cmpfloat (f->luma_p05, ==, 97);
  g_assert_cmpfloat (f->luma_p50, ==, 97);
  g_assert_cmpfloat (f->luma_p95, ==, 97);
  g_assert_true (f->is_grey);
  g_assert_cmpint (f->info.channels, ==, 1);
}

static void
test_stats_checkerboard (void)
{
  PngSpec s = { .width = 40, .height = 30, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8,
                .sample = sample_checker };
  PngSpec scene = { .width = 40, .height = 30, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                    .sample = sample_scene };
  g_autoptr (GBytes) bytes = make_png (&s);
  g_autoptr (GBytes) scene_bytes = make_png (&scene);
  g_autoptr (CuratorImageFacts) f = facts_of (bytes);
  g_autoptr (CuratorImageFacts) smooth = facts_of (scene_bytes);

  /* Two values in equal shares: one bit, std-dev half the range. */
  g_assert_cmpfloat_with_epsilon (f->entropy, 1.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (f->contrast, 127.5, 1e-9);
  g_assert_cmpfloat (f->luma_p05, ==, 0);
  g_assert_cmpfloat (f->luma_p95, ==, 255);
  /* Every interior Laplacian is +-1020. */
  g_assert_cmpfloat_with_epsilon (f->blur, 1020.0 * 1020.0, 1e-6);
  g_assert_cmpfloat (f->blur, >, 1000 * smooth->blur);
  g_assert_false (smooth->is_grey);
  g_assert_cmpfloat (smooth->contrast, >, 10);
  g_assert_cmpfloat (smooth->luma_p05, <, smooth->luma_p50);
  g_assert_cmpfloat (smooth->luma_p50, <, smooth->luma_p95);
}

static guint
sample_nearly_grey (int x, int y, int c, gconstpointer user)
{
  int dot = GPOINTER_TO_INT (user);

  if (dot && x == 7 && y == 3)
    return c == 1 ? 200 : 100;
  return (guint) ((x * 9 + y * 4) % 250) + (guint) c;   /* channels differ by up to 2 */
}

static void
test_stats_grey_tolerance (void)
{
  PngSpec s = { .width = 20, .height = 10, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                .sample = sample_nearly_grey, .user = GINT_TO_POINTER (0) };
  g_autoptr (GBytes) nearly = make_png (&s);
  g_autoptr (GBytes) dotted = NULL;
  g_autoptr (CuratorImageFacts) a = facts_of (nearly);
  g_autoptr (CuratorImageFacts) b = NULL;

  g_assert_true (a->is_grey);
  s.user = GINT_TO_POINTER (1);
  dotted = make_png (&s);
  b = facts_of (dotted);
  g_assert_false (b->is_grey);
}

/* ---- resize --------------------------------------------------------------------- */

static CuratorRgb *
raster_from (int w, int h, const guint8 *values)   /* one value per pixel, copied to R, G, B */
{
  CuratorRgb *image = curator_rgb_new (w, h);

  for (int i = 0; i < w * h; i++)
    memset (image->pixels + 3 * i, values[i], 3);
  return image;
}

/* The area-weighted mean of the source over output pixel (ox, oy), in
 * floating point from the definition. */
static double
area_mean (const CuratorRgb *src, int out_w, int out_h, int ox, int oy, int c)
{
  double sx = (double) src->width / out_w, sy = (double) src->height / out_h;
  double x0 = ox * sx, x1 = (ox + 1) * sx, y0 = oy * sy, y1 = (oy + 1) * sy;
  double sum = 0, area = 0;

  for (int y = (int) floor (y0); y < (int) ceil (y1); y++)
    for (int x = (int) floor (x0); x < (int) ceil (x1); x++)
      {
        double w = (MIN (x + 1, x1) - MAX (x, x0)) * (MIN (y + 1, y1) - MAX (y, y0));

        sum += w * px (src, x, y)[c];
        area += w;
      }
  return sum / area;
}

static void
test_resize_box (void)
{
  static const guint8 v4[16] = {
    10, 20, 100, 101,
    30, 40, 102, 104,
    0, 0, 255, 255,
    0, 1, 255, 254,
  };
  g_autoptr (CuratorRgb) src = raster_from (4, 4, v4);
  g_autoptr (CuratorRgb) half = curator_rgb_resize (src, 2, 2);
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  g_autoptr (CuratorRgb) big = curator_rgb_new (12, 9);

  /* (10+20+30+40)/4 = 25; 407/4 = 101.75 -> 102; 1/4 -> 0; 1019/4 = 254.75 -> 255. */
  g_assert_cmpuint (px (half, 0, 0)[0], ==, 25);
  g_assert_cmpuint (px (half, 1, 0)[0], ==, 102);
  g_assert_cmpuint (px (half, 0, 1)[0], ==, 0);
  g_assert_cmpuint (px (half, 1, 1)[0], ==, 255);

  /* Integer factors 3x3 and 4x3 on random data: the exact rounded mean. */
  for (gsize i = 0; i < (gsize) 12 * 9 * 3; i++)
    big->pixels[i] = (guint8) g_rand_int_range (rand, 0, 256);
  for (int shape = 0; shape < 2; shape++)
    {
      int ow = shape == 0 ? 4 : 3, oh = 3;
      g_autoptr (CuratorRgb) small = curator_rgb_resize (big, ow, oh);

      for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
          for (int c = 0; c < 3; c++)
            g_assert_cmpuint (px (small, x, y)[c], ==, (guint) floor (area_mean (big, ow, oh, x, y, c) + 0.5));
    }
}

static void
test_resize_non_integer (void)
{
  static const guint8 v3[9] = {
    0, 90, 180,
    30, 120, 210,
    60, 150, 240,
  };
  g_autoptr (CuratorRgb) src = raster_from (3, 3, v3);
  g_autoptr (CuratorRgb) two = curator_rgb_resize (src, 2, 2);
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  g_autoptr (CuratorRgb) noise = curator_rgb_new (37, 23);

  /* 3 -> 2: output 0 covers source 0 and half of 1, weights 2:1 per axis. */
  g_assert_cmpuint (px (two, 0, 0)[0], ==, 40);    /* (4*0 + 2*90 + 2*30 + 120) / 9 = 40 */
  g_assert_cmpuint (px (two, 1, 1)[0], ==, 200);
  g_assert_cmpuint (px (two, 1, 0)[0], <, px (two, 1, 1)[0]);
  g_assert_cmpuint (px (two, 0, 1)[0], >, px (two, 0, 0)[0]);

  for (gsize i = 0; i < (gsize) 37 * 23 * 3; i++)
    noise->pixels[i] = (guint8) g_rand_int_range (rand, 0, 256);
  {
    static const int sizes[][2] = { { 10, 7 }, { 36, 22 }, { 5, 23 }, { 1, 1 }, { 25, 4 } };

    for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
      {
        int ow = sizes[s][0], oh = sizes[s][1];
        g_autoptr (CuratorRgb) out = curator_rgb_resize (noise, ow, oh);

        for (int y = 0; y < oh; y++)
          for (int x = 0; x < ow; x++)
            for (int c = 0; c < 3; c++)
              {
                double want = area_mean (noise, ow, oh, x, y, c);

                g_assert_cmpfloat (fabs (px (out, x, y)[c] - want), <=, 0.5 + 1e-9);
              }
      }
  }
}

/* A box weight is the overlap in units of 1/out of a source pixel, so an
 * output over 65535 rows gives weights above 16 bits, which take the scalar
 * path of the vertical pass: checked against the definition. */
static void
test_resize_tall (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  g_autoptr (CuratorRgb) tall = curator_rgb_new (6, 70001);
  g_autoptr (CuratorRgb) out = NULL;

  for (gsize i = 0; i < (gsize) 6 * 70001 * 3; i++)
    tall->pixels[i] = (guint8) g_rand_int_range (rand, 0, 256);
  out = curator_rgb_resize (tall, 6, 66000);
  for (int y = 0; y < 66000; y += 97)
    for (int x = 0; x < 6; x++)
      for (int c = 0; c < 3; c++)
        g_assert_cmpfloat (fabs (px (out, x, y)[c] - area_mean (tall, 6, 66000, x, y, c)), <=, 0.5 + 1e-9);
}

static void
test_resize_grow (void)
{
  static const guint8 v2[4] = { 0, 100, 200, 40 };
  g_autoptr (CuratorRgb) src = raster_from (2, 2, v2);
  g_autoptr (CuratorRgb) grown = curator_rgb_resize (src, 4, 4);
  g_autoptr (CuratorRgb) flat = curator_rgb_new (3, 5);
  g_autoptr (CuratorRgb) mixed = NULL;

  /* Bilinear between pixel centres: corners keep their value, the
   * in-between samples lie between their neighbours. */
  g_assert_cmpuint (px (grown, 0, 0)[0], ==, 0);
  g_assert_cmpuint (px (grown, 3, 0)[0], ==, 100);
  g_assert_cmpuint (px (grown, 0, 3)[0], ==, 200);
  g_assert_cmpuint (px (grown, 3, 3)[0], ==, 40);
  g_assert_cmpuint (px (grown, 1, 0)[0], ==, 25);   /* 3/4 of 0 + 1/4 of 100 */
  g_assert_cmpuint (px (grown, 2, 0)[0], ==, 75);

  /* A flat image stays flat whichever way each axis goes. */
  memset (flat->pixels, 77, 3 * 5 * 3);
  mixed = curator_rgb_resize (flat, 11, 2);
  for (gsize i = 0; i < (gsize) 11 * 2 * 3; i++)
    g_assert_cmpuint (mixed->pixels[i], ==, 77);
}

/* ---- perceptual hash and thumbnails ------------------------------------------- */

static void
test_phash (void)
{
  PngSpec base = { .width = 160, .height = 120, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                   .sample = sample_scene, .user = GINT_TO_POINTER (0) };
  PngSpec bright = base, other = base;
  JpegSpec as_jpeg = { .width = 160, .height = 120, .components = 3, .quality = 75,
                       .sample = sample_scene, .user = GINT_TO_POINTER (0) };
  g_autoptr (CuratorImageFacts) f_base = NULL, f_bright = NULL, f_other = NULL, f_jpeg = NULL;
  g_autoptr (GBytes) b0 = NULL, b1 = NULL, b2 = NULL, b3 = NULL;

  bright.user = GINT_TO_POINTER (12);
  other.sample = sample_other_scene;
  b0 = make_png (&base);
  b1 = make_png (&bright);
  b2 = make_png (&other);
  b3 = make_jpeg (&as_jpeg);
  f_base = facts_of (b0);
  f_bright = facts_of (b1);
  f_other = facts_of (b2);
  f_jpeg = facts_of (b3);

  g_test_message ("distances: brighter %d, jpeg %d, other %d",
                  curator_phash_distance (f_base->phash, f_bright->phash),
                  curator_phash_distance (f_base->phash, f_jpeg->phash),
                  curator_phash_distance (f_base->phash, f_other->phash));
  g_assert_cmpstr (f_base->pixel_hash, !=, f_bright->pixel_hash);
  g_assert_cmpint (curator_phash_distance (f_base->phash, f_bright->phash), <=, 6);
  g_assert_cmpint (curator_phash_distance (f_base->phash, f_jpeg->phash), <=, 6);
  g_assert_cmpint (curator_phash_distance (f_base->phash, f_other->phash), >=, 20);
  g_assert_cmpint (curator_phash_distance (f_base->phash, f_base->phash), ==, 0);
}

static void
assert_thumb (const CuratorImageFacts *f, const char *format, int width, int height)
{
  g_autoptr (GError) error = NULL;
  gsize n;
  const guint8 *data = g_bytes_get_data (f->thumb, &n);
  CuratorImageInfo info;
  g_autoptr (CuratorRgb) thumb = curator_image_decode (data, n, 0, &info, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (f->thumb_format, ==, format);
  g_assert_cmpstr (curator_image_format_to_string (info.format), ==, format);
  g_assert_cmpint (f->thumb_width, ==, width);
  g_assert_cmpint (f->thumb_height, ==, height);
  g_assert_cmpint (thumb->width, ==, width);
  g_assert_cmpint (thumb->height, ==, height);
}

static void
test_thumbnails (void)
{
  PngSpec tiny = { .width = 32, .height = 32, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                   .sample = sample_rgb, .user = GUINT_TO_POINTER (8) };
  PngSpec wide = { .width = 300, .height = 200, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                   .sample = sample_scene };
  PngSpec small = { .width = 64, .height = 10, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                    .sample = sample_rgb, .user = GUINT_TO_POINTER (8) };
  Size tall_size = { 100, 700 };
  JpegSpec tall = { .width = 100, .height = 700, .components = 3, .sample = sample_quadrants, .user = &tall_size };
  g_autoptr (GBytes) b_tiny = make_png (&tiny), b_wide = make_png (&wide), b_small = make_png (&small);
  g_autoptr (GBytes) b_tall = make_jpeg (&tall);
  g_autoptr (CuratorImageFacts) f_tiny = facts_of (b_tiny), f_wide = facts_of (b_wide);
  g_autoptr (CuratorImageFacts) f_small = facts_of (b_small), f_tall = facts_of (b_tall);
  g_autoptr (CuratorRgb) tiny_decoded = decode (b_tiny, 0, NULL);
  g_autoptr (CuratorRgb) tiny_thumb = NULL;

  /* Small images are never enlarged; a small file that fits is its own
   * thumbnail. */
  assert_thumb (f_tiny, "png", 32, 32);
  g_assert_true (g_bytes_equal (f_tiny->thumb, b_tiny));
  tiny_thumb = decode (f_tiny->thumb, 0, NULL);
  g_assert_cmpmem (tiny_thumb->pixels, 32 * 32 * 3, tiny_decoded->pixels, 32 * 32 * 3);
  assert_thumb (f_small, "png", 64, 10);
  assert_thumb (f_wide, "jpeg", 256, 171);
  assert_thumb (f_tall, "jpeg", 37, 256);
}

/* Fine-grained noise: nothing for a compressor to find. */
static guint
sample_noise (int x, int y, int c, gconstpointer user)
{
  guint32 h = ((guint32) x * 73856093u) ^ ((guint32) y * 19349663u) ^ ((guint32) c * 83492791u);

  h ^= h >> 13;
  h *= 0x5bd1e995u;
  return (h ^ (h >> 15)) & 0xff;
}

/* A picture that fits the thumbnail is its own thumbnail when its file is
 * small: the same bytes, its own format, and decoding them gives what the
 * file gives, EXIF orientation included. A large file is re-encoded. */
static void
test_thumbnail_own_file (void)
{
  g_autoptr (GBytes) exif = make_exif (6, FALSE);
  JpegSpec turned = { .width = 64, .height = 32, .components = 3, .app1 = exif, .sample = sample_marked };
  PngSpec noisy = { .width = 200, .height = 200, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                    .sample = sample_noise };
  g_autoptr (GBytes) b_turned = make_jpeg (&turned), b_noisy = make_png (&noisy);
  g_autoptr (CuratorImageFacts) f_turned = facts_of (b_turned), f_noisy = facts_of (b_noisy);
  g_autoptr (CuratorRgb) turned_file = decode (b_turned, 0, NULL);
  g_autoptr (CuratorRgb) turned_thumb = NULL;

  assert_thumb (f_turned, "jpeg", 32, 64);
  g_assert_true (g_bytes_equal (f_turned->thumb, b_turned));
  turned_thumb = decode (f_turned->thumb, 0, NULL);
  g_assert_cmpint (turned_thumb->width, ==, 32);
  g_assert_cmpmem (turned_thumb->pixels, 32 * 64 * 3, turned_file->pixels, 32 * 64 * 3);

  g_assert_cmpuint (g_bytes_get_size (b_noisy), >, 64 * 1024);
  assert_thumb (f_noisy, "jpeg", 200, 200);
  g_assert_cmpuint (g_bytes_get_size (f_noisy->thumb), <, g_bytes_get_size (b_noisy));
}

/* The facts decode a JPEG at the smallest DCT scale whose longer side
 * covers the thumbnail; one that fits is decoded whole, so its pixel hash
 * equals that of the same pixels stored as PNG, while a scaled one's never
 * does. */
static void
test_facts_scale_rule (void)
{
  Size fits_size = { 256, 100 }, wide_size = { 300, 200 }, photo_size = { 1024, 768 };
  JpegSpec fits = { .width = 256, .height = 100, .components = 3, .sample = sample_quadrants, .user = &fits_size };
  JpegSpec wide = { .width = 300, .height = 200, .components = 3, .sample = sample_quadrants, .user = &wide_size };
  JpegSpec photo = { .width = 1024, .height = 768, .components = 3, .sample = sample_quadrants,
                     .user = &photo_size };
  JpegSpec tiny = { .width = 6, .height = 6, .components = 3, .sample = sample_rgb, .user = GUINT_TO_POINTER (1) };
  g_autoptr (GBytes) b_fits = make_jpeg (&fits), b_wide = make_jpeg (&wide);
  g_autoptr (GBytes) b_photo = make_jpeg (&photo), b_tiny = make_jpeg (&tiny);
  g_autoptr (GError) error = NULL;
  CuratorImageInfo info;
  int scale = 0;

  {
    g_autoptr (CuratorRgb) full = decode (b_fits, 0, NULL);
    g_autoptr (GBytes) png = curator_image_encode_png (full, &error);
    g_autoptr (CuratorImageFacts) f_jpeg = facts_of (b_fits);
    g_autoptr (CuratorImageFacts) f_png = NULL;

    g_assert_no_error (error);
    f_png = facts_of (png);
    g_assert_cmpstr (f_jpeg->pixel_hash, ==, f_png->pixel_hash);
  }
  {
    g_autoptr (CuratorRgb) scaled = NULL;
    g_autoptr (CuratorRgb) full = decode (b_wide, 0, NULL);
    g_autoptr (GBytes) png = curator_image_encode_png (full, &error);
    g_autoptr (CuratorImageFacts) f_jpeg = facts_of (b_wide);
    g_autoptr (CuratorImageFacts) f_png = NULL;

    /* 300 * 7/8 = 262.5, the first to reach 256. */
    scaled = _curator_image_decode_scaled (g_bytes_get_data (b_wide, NULL), g_bytes_get_size (b_wide),
                                           CURATOR_THUMB_MAX_PX, CURATOR_SCALE_COVER_LONG_SIDE,
                                           &info, &scale, &error);
    g_assert_no_error (error);
    g_assert_cmpint (scale, ==, 7);
    g_assert_cmpint (scaled->width, ==, 263);
    g_assert_cmpint (scaled->height, ==, 175);
    g_assert_no_error (error);
    f_png = facts_of (png);
    g_assert_cmpint (f_jpeg->thumb_width, ==, 256);
    g_assert_cmpint (f_jpeg->thumb_height, ==, 171);
    g_assert_cmpstr (f_jpeg->pixel_hash, !=, f_png->pixel_hash);
  }
  {
    /* 1024x768 at 2/8 is exactly its thumbnail. */
    g_autoptr (CuratorRgb) scaled = NULL;

    scaled = _curator_image_decode_scaled (g_bytes_get_data (b_photo, NULL), g_bytes_get_size (b_photo),
                                           CURATOR_THUMB_MAX_PX, CURATOR_SCALE_COVER_LONG_SIDE,
                                           &info, &scale, &error);
    g_assert_no_error (error);
    g_assert_cmpint (scale, ==, 2);
    g_assert_cmpint (scaled->width, ==, 256);
    g_assert_cmpint (scaled->height, ==, 192);
    g_assert_cmpint (info.width, ==, 1024);
  }
  {
    /* Smaller than asked for: whole, not at a 7/8 that rounds up to the
     * same 6 pixels. */
    g_autoptr (CuratorRgb) whole = NULL;

    whole = _curator_image_decode_scaled (g_bytes_get_data (b_tiny, NULL), g_bytes_get_size (b_tiny),
                                          CURATOR_THUMB_MAX_PX, CURATOR_SCALE_COVER_SHORT_SIDE,
                                          &info, &scale, &error);
    g_assert_no_error (error);
    g_assert_cmpint (scale, ==, 8);
    g_assert_cmpint (whole->width, ==, 6);
  }
}

/* ---- encoders --------------------------------------------------------------------- */

static void
test_encode_roundtrip (void)
{
  g_autoptr (GBytes) src = make_small_png ();
  g_autoptr (CuratorRgb) image = decode (src, 0, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) png = curator_image_encode_png (image, &error);
  g_autoptr (GBytes) jpeg = NULL;
  g_autoptr (CuratorRgb) back = NULL;
  g_autoptr (CuratorRgb) quads = curator_rgb_new (64, 48);
  CuratorImageInfo info;

  g_assert_no_error (error);
  back = decode (png, 0, &info);
  g_assert_cmpint (info.format, ==, CURATOR_IMAGE_FORMAT_PNG);
  g_assert_cmpmem (back->pixels, 40 * 30 * 3, image->pixels, 40 * 30 * 3);
  g_clear_pointer (&back, curator_rgb_free);

  for (int y = 0; y < 48; y++)
    for (int x = 0; x < 64; x++)
      memcpy (quads->pixels + (y * 64 + x) * 3, quadrant_colours[quadrant_of (x, y, 64, 48)], 3);
  jpeg = curator_image_encode_jpeg (quads, 90, &error);
  g_assert_no_error (error);
  back = decode (jpeg, 0, &info);
  g_assert_cmpint (info.format, ==, CURATOR_IMAGE_FORMAT_JPEG);
  assert_quadrants (back, 8);
}

/* ---- SHA-256 ------------------------------------------------------------------ */

static char *
sha256_in_pieces (const guint8 *data, gsize n, gsize piece, gboolean hardware)
{
  CuratorSha256 sha;

  _curator_sha256_init (&sha, hardware);
  for (gsize done = 0; done < n; done += piece)
    _curator_sha256_update (&sha, data + done, MIN (piece, n - done));
  return _curator_sha256_finish_hex (&sha);
}

/* Whichever implementation runs, the digest is GChecksum's SHA-256: for
 * every length around the padding boundaries, and fed in odd pieces. */
static void
test_sha256 (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (99);
  gsize n_big = 1000003;
  g_autofree guint8 *data = g_malloc (n_big);
  static const gsize pieces[] = { 1, 7, 63, 64, 65, 1000 };

  for (gsize i = 0; i < n_big; i++)
    data[i] = (guint8) g_rand_int (rand);

  for (gsize n = 0; n <= 300; n++)
    for (int hardware = 0; hardware <= 1; hardware++)
      {
        g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, n);
        g_autofree char *whole = NULL;
        CuratorSha256 sha;

        _curator_sha256_init (&sha, hardware);
        _curator_sha256_update (&sha, data, n);
        whole = _curator_sha256_finish_hex (&sha);
        g_assert_cmpstr (whole, ==, want);
        for (gsize p = 0; p < G_N_ELEMENTS (pieces); p++)
          {
            g_autofree char *split = sha256_in_pieces (data, n, pieces[p], hardware);

            g_assert_cmpstr (split, ==, want);
          }
      }

  {
    g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, n_big);
    g_autofree char *one = _curator_sha256_hex (data, n_big);
    g_autofree char *split = sha256_in_pieces (data, n_big, 4099, TRUE);
    g_autofree char *empty = _curator_sha256_hex (NULL, 0);

    g_assert_cmpstr (one, ==, want);
    g_assert_cmpstr (split, ==, want);
    g_assert_cmpstr (empty, ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }
}

/* ---- threads ------------------------------------------------------------------- */

typedef struct {
  GBytes *inputs[4];
  char   *hashes[4];
  int     n_mismatch;
} ThreadShared;

static gpointer
thread_worker (gpointer data)
{
  ThreadShared *shared = data;

  for (int round = 0; round < 5; round++)
    for (int i = 0; i < 4; i++)
      {
        g_autoptr (CuratorImageFacts) f = facts_of (shared->inputs[i]);

        if (g_strcmp0 (f->pixel_hash, shared->hashes[i]) != 0)
          g_atomic_int_inc (&shared->n_mismatch);
      }
  return NULL;
}

static void
test_threads (void)
{
  ThreadShared shared = { 0 };
  GThread *threads[4];

  shared.inputs[0] = make_small_png ();
  shared.inputs[1] = make_small_jpeg (FALSE);
  shared.inputs[2] = make_small_jpeg (TRUE);
  {
    PngSpec s = { .width = 50, .height = 50, .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 8,
                  .interlaced = TRUE, .sample = sample_rgba };

    shared.inputs[3] = make_png (&s);
  }
  for (int i = 0; i < 4; i++)
    {
      g_autoptr (CuratorImageFacts) f = facts_of (shared.inputs[i]);

      shared.hashes[i] = g_strdup (f->pixel_hash);
    }
  for (int t = 0; t < 4; t++)
    threads[t] = g_thread_new ("decode", thread_worker, &shared);
  for (int t = 0; t < 4; t++)
    g_thread_join (threads[t]);
  g_assert_cmpint (shared.n_mismatch, ==, 0);
  for (int i = 0; i < 4; i++)
    {
      g_bytes_unref (shared.inputs[i]);
      g_free (shared.hashes[i]);
    }
}

/* The encoder writes a grey picture as a 1-channel PNG, losslessly, and a
 * colour one as RGB. */
static void
test_encode_png_grey (void)
{
  g_autoptr(CuratorRgb) grey = curator_rgb_new (5, 3);
  g_autoptr(CuratorRgb) colour = curator_rgb_new (5, 3);
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 15; i++)
    {
      memset (grey->pixels + i * 3, i * 17, 3);
      colour->pixels[i * 3] = colour->pixels[i * 3 + 1] = colour->pixels[i * 3 + 2] = i * 17;
    }
  colour->pixels[7 * 3 + 2] ^= 1;   /* one pixel off grey */
  for (int pass = 0; pass < 2; pass++)
    {
      CuratorRgb *image = pass == 0 ? grey : colour;
      g_autoptr(GBytes) png = curator_image_encode_png (image, &error);
      CuratorImageInfo info;
      g_autoptr(CuratorRgb) back = NULL;

      g_assert_no_error (error);
      back = curator_image_decode (g_bytes_get_data (png, NULL), g_bytes_get_size (png), 0, &info, &error);
      g_assert_no_error (error);
      g_assert_cmpint (info.channels, ==, pass == 0 ? 1 : 3);
      g_assert_cmpmem (back->pixels, 45, image->pixels, 45);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image/png/encode-grey", test_encode_png_grey);

  g_test_add_func ("/image/sniff", test_sniff);
  g_test_add_func ("/image/png/grey-depths", test_png_grey_depths);
  g_test_add_func ("/image/png/grey-alpha", test_png_grey_alpha);
  g_test_add_func ("/image/png/rgb", test_png_rgb);
  g_test_add_func ("/image/png/rgba", test_png_rgba);
  g_test_add_func ("/image/png/palette", test_png_palette);
  g_test_add_func ("/image/png/trns-colour", test_png_trns_colour);
  g_test_add_func ("/image/png/pixel-hash-across-encodings", test_png_pixel_hash_across_encodings);
  g_test_add_func ("/image/jpeg/grey", test_jpeg_grey);
  g_test_add_func ("/image/jpeg/rgb-and-progressive", test_jpeg_rgb_and_progressive);
  g_test_add_func ("/image/jpeg/cmyk", test_jpeg_cmyk);
  g_test_add_func ("/image/jpeg/scan-limit", test_jpeg_scan_limit);
  g_test_add_func ("/image/jpeg/exif-orientation", test_jpeg_exif_orientation);
  g_test_add_func ("/image/jpeg/exif-orientation-scaled", test_jpeg_exif_orientation_scaled);
  g_test_add_func ("/image/jpeg/exif-malformed", test_exif_malformed);
  g_test_add_func ("/image/jpeg/dct-scaling", test_jpeg_dct_scaling);
  g_test_add_func ("/image/broken/basic", test_broken_basic);
  g_test_add_func ("/image/broken/png", test_broken_png);
  g_test_add_func ("/image/broken/jpeg", test_broken_jpeg);
  g_test_add_func ("/image/broken/mutations", test_broken_mutations);
  g_test_add ("/image/file/good", FileFixture, NULL, file_fixture_setup, test_file_good, file_fixture_teardown);
  g_test_add ("/image/file/refused", FileFixture, NULL, file_fixture_setup, test_file_refused, file_fixture_teardown);
  g_test_add ("/image/file/unreadable", FileFixture, NULL, file_fixture_setup, test_file_unreadable,
              file_fixture_teardown);
  g_test_add_func ("/image/stats/flat", test_stats_flat);
  g_test_add_func ("/image/stats/checkerboard", test_stats_checkerboard);
  g_test_add_func ("/image/stats/grey-tolerance", test_stats_grey_tolerance);
  g_test_add_func ("/image/resize/box", test_resize_box);
  g_test_add_func ("/image/resize/non-integer", test_resize_non_integer);
  g_test_add_func ("/image/resize/tall", test_resize_tall);
  g_test_add_func ("/image/resize/grow", test_resize_grow);
  g_test_add_func ("/image/phash", test_phash);
  g_test_add_func ("/image/thumbnails", test_thumbnails);
  g_test_add_func ("/image/thumbnail-own-file", test_thumbnail_own_file);
  g_test_add_func ("/image/facts-scale-rule", test_facts_scale_rule);
  g_test_add_func ("/image/encode-roundtrip", test_encode_roundtrip);
  g_test_add_func ("/image/sha256", test_sha256);
  g_test_add_func ("/image/threads", test_threads);

  return g_test_run ();
}

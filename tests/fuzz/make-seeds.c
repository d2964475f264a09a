/* make-seeds.c: writes the tiny valid images that seed the fuzzers' corpora
 * (tests/fuzz/corpus/) and from which tests/fixtures/bad/make-bad.py derives
 * the broken files. They are committed; this program says how they were made.
 *
 * It uses libpng and libjpeg directly rather than Curator's encoders so that
 * the seeds cover what Curator never writes itself: progressive and grey
 * JPEG, palette, grey+alpha, 16-bit and interlaced PNG.
 *
 * The project seeds of fuzz-project-open are not committed (SQLite pages
 * make them tens of KB): "make-seeds --project FILE" writes a new, empty
 * project at the current schema version, from which the fuzzer starts.
 *
 * Usage: make-seeds OUTDIR | make-seeds --project FILE */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <png.h>
#include <jpeglib.h>

#include "curator-db.h"

#define SEED_W 16
#define SEED_H 12

static guint8
pattern (int x, int y, int c)
{
  return (guint8) ((x * 16 + y * 7 + c * 85) & 0xff);
}

static void
write_jpeg (const char *dir, const char *name, int components, gboolean progressive)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  FILE *f = fopen (path, "wb");
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr jerr;
  guint8 row[SEED_W * 3];

  if (f == NULL)
    g_error ("cannot write %s", path);
  cinfo.err = jpeg_std_error (&jerr);
  jpeg_create_compress (&cinfo);
  jpeg_stdio_dest (&cinfo, f);
  cinfo.image_width = SEED_W;
  cinfo.image_height = SEED_H;
  cinfo.input_components = components;
  cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults (&cinfo);
  jpeg_set_quality (&cinfo, 50, TRUE);
  if (progressive)
    jpeg_simple_progression (&cinfo);
  jpeg_start_compress (&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height)
    {
      JSAMPROW r = row;
      for (int x = 0; x < SEED_W; x++)
        for (int c = 0; c < components; c++)
          row[x * components + c] = pattern (x, (int) cinfo.next_scanline, c);
      jpeg_write_scanlines (&cinfo, &r, 1);
    }
  jpeg_finish_compress (&cinfo);
  jpeg_destroy_compress (&cinfo);
  fclose (f);
}

static void
write_png (const char *dir, const char *name, int colour_type, int bit_depth, gboolean interlaced)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  FILE *f = fopen (path, "wb");
  png_structp png;
  png_infop info;
  int channels;
  int bytes_per_sample = bit_depth == 16 ? 2 : 1;
  guint8 row[SEED_W * 4 * 2];

  if (f == NULL)
    g_error ("cannot write %s", path);
  png = png_create_write_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  info = png_create_info_struct (png);
  if (setjmp (png_jmpbuf (png)))
    g_error ("libpng failed on %s", path);
  png_init_io (png, f);
  png_set_IHDR (png, info, SEED_W, SEED_H, bit_depth, colour_type,
                interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  switch (colour_type)
    {
    case PNG_COLOR_TYPE_GRAY: channels = 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: channels = 2; break;
    case PNG_COLOR_TYPE_RGB: channels = 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: channels = 4; break;
    default: channels = 1; break; /* palette */
    }
  if (colour_type == PNG_COLOR_TYPE_PALETTE)
    {
      png_color palette[4] = { { 0, 0, 0 }, { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 } };
      png_byte alpha[4] = { 255, 128, 0, 255 };
      png_set_PLTE (png, info, palette, 4);
      png_set_tRNS (png, info, alpha, 4, NULL);
    }
  png_write_info (png, info);
  if (interlaced)
    png_set_interlace_handling (png);
  for (int pass = 0; pass < (interlaced ? 7 : 1); pass++)
    for (int y = 0; y < SEED_H; y++)
      {
        memset (row, 0, sizeof row);
        if (colour_type == PNG_COLOR_TYPE_PALETTE)
          for (int x = 0; x < SEED_W; x++)
            {
              /* bit depth 2: four pixels per byte */
              int v = (x + y) & 3;
              row[x / 4] |= (guint8) (v << (6 - 2 * (x % 4)));
            }
        else
          for (int x = 0; x < SEED_W; x++)
            for (int c = 0; c < channels; c++)
              for (int b = 0; b < bytes_per_sample; b++)
                row[(x * channels + c) * bytes_per_sample + b] = pattern (x, y, c + b);
        png_write_row (png, row);
      }
  png_write_end (png, info);
  png_destroy_write_struct (&png, &info);
  fclose (f);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && g_str_equal (argv[1], "--project"))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CuratorDb) db = NULL;

      g_unlink (argv[2]);
      db = curator_db_open (argv[2], TRUE, &error);
      if (db == NULL)
        {
          fprintf (stderr, "%s: %s\n", argv[2], error->message);
          return 1;
        }
      return 0;
    }
  if (argc != 2)
    {
      fprintf (stderr, "usage: %s OUTDIR | %s --project FILE\n", argv[0], argv[0]);
      return 2;
    }
  g_mkdir_with_parents (argv[1], 0755);
  write_jpeg (argv[1], "baseline.jpg", 3, FALSE);
  write_jpeg (argv[1], "progressive.jpg", 3, TRUE);
  write_jpeg (argv[1], "grey.jpg", 1, FALSE);
  write_png (argv[1], "rgb8.png", PNG_COLOR_TYPE_RGB, 8, FALSE);
  write_png (argv[1], "rgba16.png", PNG_COLOR_TYPE_RGB_ALPHA, 16, FALSE);
  write_png (argv[1], "grey-alpha-interlaced.png", PNG_COLOR_TYPE_GRAY_ALPHA, 8, TRUE);
  write_png (argv[1], "palette2-trns.png", PNG_COLOR_TYPE_PALETTE, 2, FALSE);
  return 0;
}

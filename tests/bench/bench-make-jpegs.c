/* bench-make-jpegs.c: writes N synthetic photographs-like JPEGs of WxH
 * (smooth gradients, soft blobs, fine noise: sizes and decode costs close to
 * real camera pictures) into OUT/CLASS/, for the index benchmark. Seeded. */
#include <math.h>
#include <stdio.h>

#include <jpeglib.h>

#include <glib.h>
#include <glib/gstdio.h>

int
main (int argc, char **argv)
{
  int n, width, height;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autofree guint8 *pixels = NULL;

  if (argc != 5)
    {
      g_printerr ("usage: bench-make-jpegs OUT N WIDTH HEIGHT\n");
      return 2;
    }
  n = (int) g_ascii_strtoll (argv[2], NULL, 10);
  width = (int) g_ascii_strtoll (argv[3], NULL, 10);
  height = (int) g_ascii_strtoll (argv[4], NULL, 10);
  if (n <= 0 || width <= 0 || height <= 0 || width > 8192 || height > 8192)
    {
      g_printerr ("bench-make-jpegs: bad size\n");
      return 2;
    }
  pixels = g_malloc ((gsize) width * height * 3);

  for (int i = 0; i < n; i++)
    {
      g_autofree char *folder = g_strdup_printf ("%s/class%d", argv[1], i % 4);
      g_autofree char *path = g_strdup_printf ("%s/img%05d.jpg", folder, i);
      double cx = g_rand_double (rand) * width, cy = g_rand_double (rand) * height;
      double r0 = g_rand_double_range (rand, 0.1, 0.4) * width;
      double hue[3] = { g_rand_double (rand), g_rand_double (rand), g_rand_double (rand) };
      struct jpeg_compress_struct cinfo;
      struct jpeg_error_mgr jerr;
      FILE *out;

      g_mkdir_with_parents (folder, 0755);
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            double d = hypot (x - cx, y - cy) / r0;
            double blob = exp (-d * d);
            for (int c = 0; c < 3; c++)
              {
                double v = 60 + 120 * hue[c] * (double) y / height + 90 * blob * hue[(c + 1) % 3]
                           + 20 * sin (x * 0.05 * (c + 1)) + g_rand_int_range (rand, -12, 13);
                pixels[((gsize) y * width + x) * 3 + c] = (guint8) CLAMP (v, 0, 255);
              }
          }
      out = fopen (path, "wb");
      if (out == NULL)
        {
          g_printerr ("bench-make-jpegs: cannot write %s\n", path);
          return 1;
        }
      cinfo.err = jpeg_std_error (&jerr);
      jpeg_create_compress (&cinfo);
      jpeg_stdio_dest (&cinfo, out);
      cinfo.image_width = width;
      cinfo.image_height = height;
      cinfo.input_components = 3;
      cinfo.in_color_space = JCS_RGB;
      jpeg_set_defaults (&cinfo);
      jpeg_set_quality (&cinfo, 90, TRUE);
      jpeg_start_compress (&cinfo, TRUE);
      while (cinfo.next_scanline < cinfo.image_height)
        {
          JSAMPROW row = pixels + (gsize) cinfo.next_scanline * width * 3;
          jpeg_write_scanlines (&cinfo, &row, 1);
        }
      jpeg_finish_compress (&cinfo);
      jpeg_destroy_compress (&cinfo);
      fclose (out);
    }
  return 0;
}

/* bench-decode.c: the baseline for the index benchmark. Decodes every JPEG
 * under a folder at full size with plain libjpeg-turbo, on all cores, and
 * prints images per second. Nothing else: no hashing, no database. */
#include <setjmp.h>
#include <stdio.h>

#include <jpeglib.h>
#include <string.h>

#include <glib.h>

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf               jump;
} ErrorMgr;

static void
on_error (j_common_ptr cinfo)
{
  longjmp (((ErrorMgr *) cinfo->err)->jump, 1);
}

static void
on_message (j_common_ptr cinfo)
{
}

static gint n_failed;
static gint64 n_pixels;

static void
decode_one (gpointer data, gpointer user_data)
{
  const char *path = data;
  g_autofree char *bytes = NULL;
  gsize length;
  struct jpeg_decompress_struct cinfo;
  ErrorMgr err;
  guint8 *volatile pixels = NULL;

  if (!g_file_get_contents (path, &bytes, &length, NULL))
    {
      g_atomic_int_inc (&n_failed);
      return;
    }
  cinfo.err = jpeg_std_error (&err.pub);
  err.pub.error_exit = on_error;
  err.pub.output_message = on_message;
  if (setjmp (err.jump))
    {
      jpeg_destroy_decompress (&cinfo);
      g_free (pixels);
      g_atomic_int_inc (&n_failed);
      return;
    }
  jpeg_create_decompress (&cinfo);
  jpeg_mem_src (&cinfo, (const unsigned char *) bytes, length);
  jpeg_read_header (&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress (&cinfo);
  pixels = g_malloc ((gsize) cinfo.output_width * cinfo.output_height * 3);
  while (cinfo.output_scanline < cinfo.output_height)
    {
      JSAMPROW row = pixels + (gsize) cinfo.output_scanline * cinfo.output_width * 3;
      jpeg_read_scanlines (&cinfo, &row, 1);
    }
  g_atomic_pointer_add (&n_pixels, (gssize) cinfo.output_width * cinfo.output_height);
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  g_free (pixels);
}

static void
collect (const char *folder, GPtrArray *paths)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        collect (path, paths);
      else if (g_str_has_suffix (name, ".jpg") || g_str_has_suffix (name, ".jpeg"))
        g_ptr_array_add (paths, g_steal_pointer (&path));
    }
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  GThreadPool *pool;
  gint64 start, end;
  int n_threads = (int) g_get_num_processors ();

  if (argc != 2)
    {
      g_printerr ("usage: bench-decode FOLDER\n");
      return 2;
    }
  collect (argv[1], paths);
  start = g_get_monotonic_time ();
  pool = g_thread_pool_new (decode_one, NULL, n_threads, TRUE, NULL);
  for (guint i = 0; i < paths->len; i++)
    g_thread_pool_push (pool, g_ptr_array_index (paths, i), NULL);
  g_thread_pool_free (pool, FALSE, TRUE);
  end = g_get_monotonic_time ();
  printf ("decode-only: %u images (%d failed), %d threads, %.2f s, %.1f images/s, %.1f Mpx/s\n",
          paths->len, n_failed, n_threads, (end - start) / 1e6,
          paths->len / ((end - start) / 1e6), n_pixels / 1e6 / ((end - start) / 1e6));
  return n_failed == 0 ? 0 : 1;
}

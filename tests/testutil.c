/* testutil.c: see testutil.h. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <gio/gio.h>

#include "curator-image.h"
#include "testutil.h"

char *
tu_mkdtemp (void)
{
  g_autoptr(GError) error = NULL;
  char *path = g_dir_make_tmp ("curator-test-XXXXXX", &error);

  g_assert_no_error (error);
  return path;
}

void
tu_rmdir (const char *path)
{
  g_autofree char *quoted = g_shell_quote (path);
  g_autofree char *script = g_strdup_printf ("chmod -R u+rwx %s 2>/dev/null; rm -rf %s", quoted, quoted);
  const char *argv[] = { "/bin/sh", "-c", script, NULL };

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               NULL, NULL, NULL, NULL));
}

static CuratorRgb *
make_picture (int width, int height, guint seed)
{
  CuratorRgb *image = curator_rgb_new (width, height);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  int cx = g_rand_int_range (rand, 0, width), cy = g_rand_int_range (rand, 0, height);
  guint8 base[3], blob[3];

  for (int c = 0; c < 3; c++)
    {
      base[c] = g_rand_int_range (rand, 0, 256);
      blob[c] = g_rand_int_range (rand, 0, 256);
    }
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        gboolean in_blob = (x - cx) * (x - cx) + (y - cy) * (y - cy) < (width * width) / 9;
        guint8 *p = image->pixels + ((gsize) y * width + x) * 3;

        for (int c = 0; c < 3; c++)
          p[c] = (in_blob ? blob[c] : base[c]) ^ (((x / 4 + y / 4) & 1) ? 0x10 : 0);
      }
  return image;
}

static void
write_bytes (const char *root, const char *rel, GBytes *bytes)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autofree char *folder = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;
  gsize n;
  const char *data = g_bytes_get_data (bytes, &n);

  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_file_set_contents (path, data, n, &error);
  g_assert_no_error (error);
}

void
tu_write_png (const char *root, const char *rel, int width, int height, guint seed)
{
  g_autoptr(CuratorRgb) image = make_picture (width, height, seed);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = curator_image_encode_png (image, &error);

  g_assert_no_error (error);
  write_bytes (root, rel, bytes);
}

void
tu_write_jpeg (const char *root, const char *rel, int width, int height, guint seed)
{
  g_autoptr(CuratorRgb) image = make_picture (width, height, seed);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = curator_image_encode_jpeg (image, 90, &error);

  g_assert_no_error (error);
  write_bytes (root, rel, bytes);
}

void
tu_write_bytes (const char *root, const char *rel, const void *data, gsize n)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, n);

  write_bytes (root, rel, bytes);
}

int
tu_run (char **out, char **err, const char *first_arg, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *exe = g_getenv ("CURATOR_EXE");
  const char *arg;
  va_list ap;
  int status = 0;

  g_assert_nonnull (exe);
  g_ptr_array_add (args, (char *) exe);
  va_start (ap, first_arg);
  for (arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  /* Output not asked for must not reach the TAP stream. */
  g_spawn_sync (NULL, (char **) args->pdata, NULL,
                (out == NULL ? G_SPAWN_STDOUT_TO_DEV_NULL : 0) |
                (err == NULL ? G_SPAWN_STDERR_TO_DEV_NULL : 0),
                NULL, NULL, out, err, &status, &error);
  g_assert_no_error (error);
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  return 128 + WTERMSIG (status);
}

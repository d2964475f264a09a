/* test-bad-inputs.c: every broken or hostile input yields its documented
 * error, and none crashes, hangs or eats memory past a fixed bound.
 *
 * The committed files live in tests/fixtures/bad/ (made by make-bad.py there)
 * and EXPECTED.csv says what each must give: an error code and a substring of
 * its message, or OK for a file that is fine despite its name. Inputs that
 * cannot live in git (a directory or FIFO named like an image, an unreadable
 * file, a device, dangling and looping symbolic links, a non-UTF-8 name, a
 * path longer than PATH_MAX) are made here, at run time.
 *
 * Each input is read in a child process (g_test_trap_subprocess) so that a
 * crash fails one case instead of the whole program, a hang is cut off after
 * CHILD_TIMEOUT_S, and memory can be bounded: the child sets RLIMIT_AS to
 * MEMORY_BOUND_BYTES (1 GiB), so an allocation past it fails and the case
 * fails with it. Under AddressSanitizer the bound is not set, because ASan
 * reserves terabytes of address space for its shadow memory up front; the
 * plain build enforces it. */

#include "curator-config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "curator-error.h"
#include "curator-image.h"

#if defined(__SANITIZE_ADDRESS__)
#define BAD_INPUTS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BAD_INPUTS_ASAN 1
#endif
#endif

#define MEMORY_BOUND_BYTES (G_GUINT64_CONSTANT (1) << 30)
/* A hang guard, not a speed assertion: the slowest input takes milliseconds. */
#define CHILD_TIMEOUT_S 60

typedef struct {
  char *file;
  int   code;      /* -1 = must succeed */
  char *substring;
} BadRow;

static GPtrArray *rows;  /* (element-type BadRow) */

static void
bad_row_free (gpointer data)
{
  BadRow *row = data;

  g_free (row->file);
  g_free (row->substring);
  g_free (row);
}

static int
code_from_name (const char *name)
{
  static const struct { const char *name; int code; } codes[] = {
    { "OK", -1 },
    { "FAILED", CURATOR_ERROR_FAILED },
    { "NOT_FOUND", CURATOR_ERROR_NOT_FOUND },
    { "CORRUPT_IMAGE", CURATOR_ERROR_CORRUPT_IMAGE },
    { "UNSUPPORTED_FORMAT", CURATOR_ERROR_UNSUPPORTED_FORMAT },
    { "IO", CURATOR_ERROR_IO },
    { "INVALID", CURATOR_ERROR_INVALID },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
    if (g_str_equal (codes[i].name, name))
      return codes[i].code;
  g_error ("EXPECTED.csv: unknown error code name \"%s\"", name);
  return -2;
}

static const char *
bad_dir (void)
{
  static char *dir;

  if (dir == NULL)
    dir = g_test_build_filename (G_TEST_DIST, "fixtures", "bad", NULL);
  return dir;
}

static void
load_rows (void)
{
  g_autofree char *path = g_build_filename (bad_dir (), "EXPECTED.csv", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, &error))
    g_error ("%s", error->message);
  rows = g_ptr_array_new_with_free_func (bad_row_free);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      BadRow *row;

      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      /* The message substring is the rest of the line, commas and all. */
      fields = g_strsplit (lines[i], ",", 3);
      if (g_strv_length (fields) != 3)
        g_error ("EXPECTED.csv line %u: want file,code,substring", i + 1);
      row = g_new0 (BadRow, 1);
      row->file = g_strdup (fields[0]);
      row->code = code_from_name (fields[1]);
      row->substring = g_strdup (fields[2]);
      g_ptr_array_add (rows, row);
    }
}

static void
limit_memory (void)
{
#ifndef BAD_INPUTS_ASAN
  struct rlimit limit = { MEMORY_BOUND_BYTES, MEMORY_BOUND_BYTES };

  g_assert_no_errno (setrlimit (RLIMIT_AS, &limit));
#endif
}

/* Reads @path and checks the outcome; runs in the child. */
static void
check_facts (const char *path,
             int         code,
             const char *substring)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorImageFacts) facts = curator_image_facts_from_file (path, &error);

  if (code < 0)
    {
      g_assert_no_error (error);
      g_assert_nonnull (facts);
      g_assert_cmpint (facts->info.width, >, 0);
      return;
    }
  g_assert_null (facts);
  g_assert_error (error, CURATOR_ERROR, code);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  if (substring != NULL && strstr (error->message, substring) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, substring);
}

static void
run_in_child (void)
{
  g_test_trap_subprocess (NULL, (guint64) CHILD_TIMEOUT_S * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_fixture (gconstpointer data)
{
  const BadRow *row = data;

  if (g_test_subprocess ())
    {
      g_autofree char *path = g_build_filename (bad_dir (), row->file, NULL);

      limit_memory ();
      check_facts (path, row->code, row->substring);
      return;
    }
  run_in_child ();
}

/* The bound the other cases rely on is really in force in the child. */
static void
test_memory_bound (void)
{
#ifdef BAD_INPUTS_ASAN
  g_test_skip ("no RLIMIT_AS under AddressSanitizer (its shadow memory needs terabytes)");
#else
  if (g_test_subprocess ())
    {
      gpointer block;

      limit_memory ();
      block = g_try_malloc (MEMORY_BOUND_BYTES);
      g_assert_null (block);
      block = g_try_malloc (1 << 20);
      g_assert_nonnull (block);
      g_free (block);
      return;
    }
  run_in_child ();
#endif
}

/* Every committed file is listed, and there are enough of them. */
static void
test_manifest_complete (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (bad_dir (), 0, &error);
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  const char *name;
  guint n_files = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < rows->len; i++)
    {
      BadRow *row = g_ptr_array_index (rows, i);
      g_assert_true (g_hash_table_add (listed, row->file));  /* no duplicates */
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (g_str_equal (name, "EXPECTED.csv") || g_str_equal (name, "make-bad.py"))
        continue;
      if (!g_hash_table_contains (listed, name))
        g_error ("%s is in tests/fixtures/bad/ but not in EXPECTED.csv", name);
      n_files++;
    }
  g_assert_cmpuint (n_files, ==, rows->len);
  g_assert_cmpuint (n_files, >=, 30);
}

/* ---- inputs made at run time --------------------------------------------- */

static char *
read_fixture (const char *name, gsize *len)
{
  g_autofree char *path = g_build_filename (bad_dir (), name, NULL);
  g_autoptr(GError) error = NULL;
  char *data = NULL;

  g_file_get_contents (path, &data, len, &error);
  g_assert_no_error (error);
  return data;
}

/* Not g_file_set_contents: its temporary name would not fit NAME_MAX. */
static void
write_file (const char *path, const char *data, gsize len)
{
  int fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, data, len), ==, (gssize) len);
  g_assert_no_errno (close (fd));
}

static void
test_directory_named_like_image (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;

  if (!g_test_subprocess ())
    {
      run_in_child ();
      return;
    }
  limit_memory ();
  tmp = g_dir_make_tmp ("curator-bad-XXXXXX", NULL);
  path = g_build_filename (tmp, "photo.jpg", NULL);
  g_assert_no_errno (g_mkdir (path, 0700));
  check_facts (path, CURATOR_ERROR_IO, NULL);
  g_assert_no_errno (g_rmdir (path));
  g_assert_no_errno (g_rmdir (tmp));
}

/* Opening a FIFO for reading blocks until a writer comes: the reader must
 * look before it opens (the trap's timeout catches a hang). */
static void
test_fifo (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;

  if (!g_test_subprocess ())
    {
      run_in_child ();
      return;
    }
  limit_memory ();
  tmp = g_dir_make_tmp ("curator-bad-XXXXXX", NULL);
  path = g_build_filename (tmp, "pipe.png", NULL);
  g_assert_no_errno (mkfifo (path, 0600));
  check_facts (path, CURATOR_ERROR_IO, NULL);
  g_assert_no_errno (g_unlink (path));
  g_assert_no_errno (g_rmdir (tmp));
}

/* A character device never ends: /dev/zero behind an image name. */
static void
test_device (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;

  if (!g_test_subprocess ())
    {
      run_in_child ();
      return;
    }
  limit_memory ();
  tmp = g_dir_make_tmp ("curator-bad-XXXXXX", NULL);
  path = g_build_filename (tmp, "zero.jpg", NULL);
  g_assert_no_errno (symlink ("/dev/zero", path));
  check_facts (path, CURATOR_ERROR_IO, NULL);
  g_assert_no_errno (g_unlink (path));
  g_assert_no_errno (g_rmdir (tmp));
}

/* TRUE when this user can read a file whose permission bits say no (root,
 * CAP_DAC_OVERRIDE): then there is nothing to test. */
static gboolean
permissions_apply (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("curator-bad-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "probe", NULL);
  int fd;

  write_file (path, "x", 1);
  g_assert_no_errno (g_chmod (path, 0));
  fd = g_open (path, O_RDONLY, 0);
  if (fd >= 0)
    close (fd);
  g_assert_no_errno (g_unlink (path));
  g_assert_no_errno (g_rmdir (tmp));
  return fd < 0;
}

static void
test_permission_denied (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_test_subprocess ())
    {
      if (!permissions_apply ())
        g_test_skip ("permission bits do not apply to this user (root?)");
      else
        run_in_child ();
      return;
    }
  limit_memory ();
  tmp = g_dir_make_tmp ("curator-bad-XXXXXX", NULL);
  path = g_build_filename (tmp, "secret.png", NULL);
  data = read_fixture ("png-named.jpg", &len);
  write_file (path, data, len);
  g_assert_no_errno (g_chmod (path, 0));
  check_facts (path, CURATOR_ERROR_IO, NULL);
  g_assert_no_errno (g_unlink (path));
  g_assert_no_errno (g_rmdir (tmp));
}

static void
test_missing_and_links (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *dangling = NULL;
  g_autofree char *loop_a = NULL;
  g_autofree char *loop_b = NULL;

  if (!g_test_subprocess ())
    {
      run_in_child ();
      return;
    }
  limit_memory ();
  tmp = g_dir_make_tmp ("curator-bad-XXXXXX", NULL);
  missing = g_build_filename (tmp, "missing.png", NULL);
  dangling = g_build_filename (tmp, "dangling.png", NULL);
  loop_a = g_build_filename (tmp, "loop-a.jpg", NULL);
  loop_b = g_build_filename (tmp, "loop-b.jpg", NULL);
  g_assert_no_errno (symlink (missing, dangling));
  g_assert_no_errno (symlink (loop_b, loop_a));
  g_assert_no_errno (symlink (loop_a, loop_b));

  check_facts (missing, CURATOR_ERROR_NOT_FOUND, NULL);
  check_facts (dangling, CURATOR_ERROR_NOT_FOUND, NULL);
  check_facts (loop_a, CURATOR_ERROR_IO, NULL);

  g_assert_no_errno (g_unlink (dangling));
  g_assert_no_errno (g_unlink (loop_a));
  g_assert_no_errno (g_unlink (loop_b));
  g_assert_no_errno (g_rmdir (tmp));
}

/* File names are bytes: a name that is not UTF-8 reads like any other, and
 * the message (which never names the file) stays valid UTF-8. */
static void
test_non_utf8_name (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *good = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *good_data = NULL;
  g_autofree char *bad_data = NULL;
  gsize good_len = 0, bad_len = 0;

  if (!g_test_subprocess ())
    {
      run_in_child ();
      return;
    }
  limit_memory ();
  tmp = g_dir_make_tmp ("curator-bad-XXXXXX", NULL);
  good = g_build_filename (tmp, "caf\xe9-\xff\xfe.png", NULL);
  bad = g_build_filename (tmp, "caf\xe9-\xff\xfe-cut.png", NULL);
  g_assert_false (g_utf8_validate (good, -1, NULL));
  good_data = read_fixture ("png-named.jpg", &good_len);
  bad_data = read_fixture ("png-cut-in-idat.png", &bad_len);
  write_file (good, good_data, good_len);
  write_file (bad, bad_data, bad_len);

  check_facts (good, -1, NULL);
  check_facts (bad, CURATOR_ERROR_CORRUPT_IMAGE, "file is truncated");

  g_assert_no_errno (g_unlink (good));
  g_assert_no_errno (g_unlink (bad));
  g_assert_no_errno (g_rmdir (tmp));
}

#define LONG_COMPONENT_LEN 200
#define LONG_DEPTH 25  /* 25 * 201 bytes: beyond PATH_MAX (4096) */

/* A file whose absolute path is longer than PATH_MAX (made by walking down
 * with chdir, as no single call can name it) is refused with an error, and a
 * file name of the longest length a file system allows still reads. */
static void
test_long_paths (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *component = NULL;
  g_autofree char *longest_name = NULL;
  g_autofree char *longest = NULL;
  g_autofree char *data = NULL;
  g_autoptr(GString) deep = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorImageFacts) facts = NULL;
  gsize len = 0;

  if (!g_test_subprocess ())
    {
      run_in_child ();
      return;
    }
  limit_memory ();
  tmp = g_dir_make_tmp ("curator-bad-XXXXXX", NULL);
  data = read_fixture ("png-named.jpg", &len);

  /* NAME_MAX (255) bytes. */
  longest_name = g_strnfill (251, 'n');
  longest = g_strconcat (tmp, "/", longest_name, ".png", NULL);
  write_file (longest, data, len);
  check_facts (longest, -1, NULL);
  g_assert_no_errno (g_unlink (longest));

  component = g_strnfill (LONG_COMPONENT_LEN, 'd');
  deep = g_string_new (tmp);
  g_assert_no_errno (chdir (tmp));
  for (int i = 0; i < LONG_DEPTH; i++)
    {
      g_assert_no_errno (g_mkdir (component, 0700));
      g_assert_no_errno (chdir (component));
      g_string_append_printf (deep, "/%s", component);
    }
  write_file ("x.png", data, len);
  g_string_append (deep, "/x.png");
  g_assert_cmpuint (deep->len, >, 4096);

  facts = curator_image_facts_from_file (deep->str, &error);
  g_assert_null (facts);
  g_assert_nonnull (error);
  g_assert_true (error->domain == CURATOR_ERROR);
  g_assert_true (error->code == CURATOR_ERROR_IO || error->code == CURATOR_ERROR_NOT_FOUND);
  g_test_message ("path of %zu bytes: %s", deep->len, error->message);

  g_assert_no_errno (g_unlink ("x.png"));
  for (int i = 0; i < LONG_DEPTH; i++)
    {
      g_assert_no_errno (chdir (".."));
      g_assert_no_errno (g_rmdir (component));
    }
  g_assert_no_errno (chdir ("/"));
  g_assert_no_errno (g_rmdir (tmp));
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  load_rows ();

  g_test_add_func ("/bad-inputs/expected-csv-complete", test_manifest_complete);
  g_test_add_func ("/bad-inputs/memory-bound", test_memory_bound);
  for (guint i = 0; i < rows->len; i++)
    {
      BadRow *row = g_ptr_array_index (rows, i);
      g_autofree char *name = g_strdup_printf ("/bad-inputs/fixture/%s", row->file);
      g_test_add_data_func (name, row, test_fixture);
    }
  g_test_add_func ("/bad-inputs/runtime/directory-named-like-image", test_directory_named_like_image);
  g_test_add_func ("/bad-inputs/runtime/fifo", test_fifo);
  g_test_add_func ("/bad-inputs/runtime/device", test_device);
  g_test_add_func ("/bad-inputs/runtime/permission-denied", test_permission_denied);
  g_test_add_func ("/bad-inputs/runtime/missing-and-links", test_missing_and_links);
  g_test_add_func ("/bad-inputs/runtime/non-utf8-name", test_non_utf8_name);
  g_test_add_func ("/bad-inputs/runtime/long-paths", test_long_paths);

  status = g_test_run ();
  g_ptr_array_unref (rows);
  return status;
}

/* test-manifest.c: reading CSV manifests. Each test writes its manifest as a
 * string, parses it against a small dataset root made in a temporary folder
 * (class folders, a folder where a file is expected, a link out of the root),
 * and checks the entries and the per-line problems with their line numbers. */
#include "curator-config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "curator-manifest.h"

typedef struct {
  char *tmp;
  char *root;
} Fixture;

static void
write_file (const char *path, const char *contents, gssize len)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, len, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->tmp = g_dir_make_tmp ("curator-test-manifest-XXXXXX", &error);
  g_assert_no_error (error);
  f->root = g_build_filename (f->tmp, "root", NULL);

  const char *dirs[] = { "cat", "dog", "dir" };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *dir = g_build_filename (f->root, dirs[i], NULL);
      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    }
  const char *files[] = { "cat/1.png", "cat/2.png", "dog/1.png", "odd, name.png",
                          "say \"hi\".png", "new\nline.png" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *file = g_build_filename (f->root, files[i], NULL);
      write_file (file, "x", 1);
    }

  g_autofree char *outside = g_build_filename (f->tmp, "outside.png", NULL);
  g_autofree char *link = g_build_filename (f->root, "link-out.png", NULL);
  write_file (outside, "x", 1);
  g_assert_cmpint (symlink (outside, link), ==, 0);
}

static void
remove_tree (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->root);
}

/* ---- helpers ---------------------------------------------------------------- */

static CuratorManifest *
parse_ok (const char *text, gssize len, const char *root)
{
  g_autoptr(GError) error = NULL;
  CuratorManifest *manifest;

  manifest = curator_manifest_parse (text, len < 0 ? strlen (text) : (gsize) len, root, &error);
  g_assert_no_error (error);
  g_assert_nonnull (manifest);
  return manifest;
}

static void
assert_entry (CuratorManifest *manifest, guint i, guint line, const char *file,
              const char *label, const char *split)
{
  g_assert_cmpuint (i, <, manifest->entries->len);

  CuratorManifestEntry *entry = g_ptr_array_index (manifest->entries, i);
  g_assert_cmpuint (entry->line, ==, line);
  g_assert_cmpstr (entry->file, ==, file);
  g_assert_cmpstr (entry->label, ==, label);
  g_assert_cmpstr (entry->split, ==, split);
}

static void
assert_problem (CuratorManifest *manifest, guint line, const char *message_part)
{
  for (guint i = 0; i < manifest->problems->len; i++)
    {
      CuratorManifestProblem *problem = g_ptr_array_index (manifest->problems, i);

      if (problem->line != line)
        continue;
      if (strstr (problem->message, message_part) == NULL)
        g_error ("line %u: expected a problem with \"%s\", got \"%s\"",
                 line, message_part, problem->message);
      return;
    }
  g_error ("no problem reported on line %u (expected \"%s\")", line, message_part);
}

static void
assert_no_problems (CuratorManifest *manifest)
{
  for (guint i = 0; i < manifest->problems->len; i++)
    {
      CuratorManifestProblem *problem = g_ptr_array_index (manifest->problems, i);
      g_error ("unexpected problem on line %u: %s", problem->line, problem->message);
    }
}

static void
assert_parse_fails (const char *text, gsize len, const char *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorManifest) manifest = curator_manifest_parse (text, len, NULL, &error);

  g_assert_null (manifest);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  if (strstr (error->message, message_part) == NULL)
    g_error ("expected an error with \"%s\", got \"%s\"", message_part, error->message);
}

/* ---- tests -------------------------------------------------------------------- */

static void
test_good (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorManifest) m = parse_ok ("file,label,split\n"
                                           "cat/1.png,cat,train\n"
                                           "cat/2.png,cat,val\n"
                                           "dog/1.png,dog,test\n", -1, f->root);

  assert_no_problems (m);
  g_assert_cmpuint (m->entries->len, ==, 3);
  assert_entry (m, 0, 2, "cat/1.png", "cat", "train");
  assert_entry (m, 1, 3, "cat/2.png", "cat", "val");
  assert_entry (m, 2, 4, "dog/1.png", "dog", "test");
  g_assert_cmpstr (m->file_column, ==, "file");
  g_assert_cmpstr (m->label_column, ==, "label");
  g_assert_cmpstr (m->split_column, ==, "split");
}

static void
test_no_trailing_newline_and_blank_lines (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorManifest) m = parse_ok ("\n"
                                           "file,label\n"
                                           "\n"
                                           "cat/1.png,cat\n"
                                           "   \n"
                                           "dog/1.png,dog", -1, f->root);

  assert_no_problems (m);
  g_assert_cmpuint (m->entries->len, ==, 2);
  assert_entry (m, 0, 4, "cat/1.png", "cat", NULL);
  assert_entry (m, 1, 6, "dog/1.png", "dog", NULL);
  g_assert_null (m->split_column);

  g_autoptr(CuratorManifest) trailing = parse_ok ("file,label\ncat/1.png,cat\n\n\n\r\n", -1, f->root);
  assert_no_problems (trailing);
  g_assert_cmpuint (trailing->entries->len, ==, 1);
}

static void
test_quoted (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorManifest) m = parse_ok ("\"file\",\"note\",\"label\"\n"
                                           "\"odd, name.png\",\"a, b\",cat\n"
                                           "\"say \"\"hi\"\".png\",\"\"\"\",\"dog\"\n"
                                           "cat/1.png,\"two\nlines, \"\"quoted\"\"\",\"big cat\"\n"
                                           "cat/2.png,x,\"a,b\"\n"
                                           "  \"dog/1.png\"  ,  note  ,  dog  \n", -1, f->root);

  assert_no_problems (m);
  g_assert_cmpuint (m->entries->len, ==, 5);
  assert_entry (m, 0, 2, "odd, name.png", "cat", NULL);
  assert_entry (m, 1, 3, "say \"hi\".png", "dog", NULL);
  assert_entry (m, 2, 4, "cat/1.png", "big cat", NULL);
  /* The row before spans lines 4 and 5. */
  assert_entry (m, 3, 6, "cat/2.png", "a,b", NULL);
  /* Spaces around fields, quoted or not, are not part of them. */
  assert_entry (m, 4, 7, "dog/1.png", "dog", NULL);
}

static void
test_quoted_keeps_spaces (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorManifest) m = parse_ok ("file,label\n"
                                           "cat/1.png,\" big cat \"\n", -1, NULL);

  assert_no_problems (m);
  assert_entry (m, 0, 2, "cat/1.png", " big cat ", NULL);
}

static void
test_line_endings (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorManifest) crlf = parse_ok ("file,label\r\n"
                                              "cat/1.png,cat\r\n"
                                              "\"dog/1.png\",\"do\r\ng\"\r\n"
                                              "cat/2.png,\r\n", -1, f->root);

  g_assert_cmpuint (crlf->entries->len, ==, 2);
  assert_entry (crlf, 0, 2, "cat/1.png", "cat", NULL);
  assert_problem (crlf, 3, "control character");
  assert_entry (crlf, 1, 5, "cat/2.png", NULL, NULL);

  g_autoptr(CuratorManifest) cr = parse_ok ("file,label\r"
                                            "cat/1.png,cat\r"
                                            "cat/2.png,cat\r", -1, f->root);
  assert_no_problems (cr);
  assert_entry (cr, 0, 2, "cat/1.png", "cat", NULL);
  assert_entry (cr, 1, 3, "cat/2.png", "cat", NULL);
}

static void
test_bom (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorManifest) m = parse_ok ("\xEF\xBB\xBF" "file,label\r\ncat/1.png,cat\r\n", -1, f->root);

  assert_no_problems (m);
  g_assert_cmpstr (m->file_column, ==, "file");
  assert_entry (m, 0, 2, "cat/1.png", "cat", NULL);

  /* Only at the very start: elsewhere the bytes are part of a field. */
  g_autoptr(CuratorManifest) inner = parse_ok ("file,label\n\xEF\xBB\xBF" "cat/1.png,cat\n", -1, f->root);
  g_assert_cmpuint (inner->entries->len, ==, 0);
  assert_problem (inner, 2, "file not found");
}

static void
test_alias_columns (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorManifest) practice = parse_ok ("file,given_label,true_label\n"
                                                  "cat/1.png,cat,dog\n", -1, f->root);
  assert_no_problems (practice);
  g_assert_cmpstr (practice->label_column, ==, "given_label");
  assert_entry (practice, 0, 2, "cat/1.png", "cat", NULL);

  g_autoptr(CuratorManifest) path_class = parse_ok ("id,class,path\n7,cat,cat/1.png\n", -1, f->root);
  assert_no_problems (path_class);
  g_assert_cmpstr (path_class->file_column, ==, "path");
  g_assert_cmpstr (path_class->label_column, ==, "class");
  assert_entry (path_class, 0, 2, "cat/1.png", "cat", NULL);

  g_autoptr(CuratorManifest) filename = parse_ok ("filename\ncat/1.png\n", -1, f->root);
  assert_entry (filename, 0, 2, "cat/1.png", NULL, NULL);
  g_assert_null (filename->label_column);

  g_autoptr(CuratorManifest) image = parse_ok (" Image , Label , SPLIT \ncat/1.png,cat,train\n", -1, f->root);
  g_assert_cmpstr (image->file_column, ==, "Image");
  assert_entry (image, 0, 2, "cat/1.png", "cat", "train");

  /* "label" wins over "given_label" and "class"; "file" over "path". */
  g_autoptr(CuratorManifest) both = parse_ok ("class,path,given_label,label,file\n"
                                              "a,cat/2.png,b,c,cat/1.png\n", -1, f->root);
  assert_no_problems (both);
  g_assert_cmpstr (both->file_column, ==, "file");
  g_assert_cmpstr (both->label_column, ==, "label");
  assert_entry (both, 0, 2, "cat/1.png", "c", NULL);

  g_autoptr(CuratorManifest) given = parse_ok ("class,given_label,file\na,b,cat/1.png\n", -1, f->root);
  assert_entry (given, 0, 2, "cat/1.png", "b", NULL);
}

static void
test_header_errors (Fixture *f, gconstpointer data)
{
  assert_parse_fails ("name,label\ncat/1.png,cat\n", 25, "no file column");
  assert_parse_fails ("cat/1.png,cat\ndog/1.png,dog\n", 28, "no file column");
  assert_parse_fails ("", 0, "empty");
  assert_parse_fails ("\xEF\xBB\xBF", 3, "empty");
  assert_parse_fails ("\n\r\n  \n", 6, "empty");
  assert_parse_fails ("file,label,File\n", 16, "names the column \"file\" twice");
  assert_parse_fails ("\"file,label\nx,y\n", 16, "no closing quote");
  assert_parse_fails ("fi\0le,label\nx,y\n", 16, "NUL byte");

  /* An unreadable root is an error, not a problem per line. */
  g_autoptr(GError) error = NULL;
  g_autofree char *no_root = g_build_filename (f->tmp, "nope", NULL);
  g_autoptr(CuratorManifest) m = curator_manifest_parse ("file\ncat/1.png\n", 15, no_root, &error);
  g_assert_null (m);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
}

static void
test_problems (Fixture *f, gconstpointer data)
{
  static const char text[] =
    "file,label\n"                    /* 1 */
    "cat/1.png,cat\n"                 /* 2 ok */
    "cat/2.png\n"                     /* 3 too few fields */
    "cat/2.png,cat,extra\n"           /* 4 too many fields */
    "/etc/passwd,cat\n"               /* 5 absolute */
    "../outside.png,cat\n"            /* 6 leaves the root */
    "cat/1.png,dog\n"                 /* 7 listed twice */
    "cat/nope.png,cat\n"              /* 8 missing */
    "dir,cat\n"                       /* 9 a folder */
    "link-out.png,cat\n"              /* 10 link out of the root */
    "\"cat/2.png\"x,cat\n"            /* 11 text after a closing quote */
    "cat/2.png,\"ca\0t\"\n"           /* 12 NUL */
    ",cat\n"                          /* 13 empty path */
    "cat/2.png,\xff\xfe\n"            /* 14 label not UTF-8 */
    "C:\\data\\x.png,cat\n"           /* 15 drive letter */
    "\"new\nline.png\",cat\n"         /* 16-17 control character in the path */
    "cat/2.png,\"cat\n"               /* 18 unterminated quote */
    "dog/1.png,dog\n";                /* 19 ok: reading resumed */

  g_autoptr(CuratorManifest) m = parse_ok (text, sizeof text - 1, f->root);

  g_assert_cmpuint (m->entries->len, ==, 2);
  assert_entry (m, 0, 2, "cat/1.png", "cat", NULL);
  assert_entry (m, 1, 19, "dog/1.png", "dog", NULL);

  assert_problem (m, 3, "expected 2 fields as in the header, found 1");
  assert_problem (m, 4, "expected 2 fields as in the header, found 3");
  assert_problem (m, 5, "/etc/passwd: absolute paths are not allowed");
  assert_problem (m, 6, "../outside.png: the path leaves the dataset root");
  assert_problem (m, 7, "cat/1.png: listed twice (first on line 2)");
  assert_problem (m, 8, "cat/nope.png: file not found");
  assert_problem (m, 9, "dir: is a folder, not a file");
  assert_problem (m, 10, "link-out.png: symlink points outside the dataset root");
  assert_problem (m, 11, "unexpected text after a closing quote");
  assert_problem (m, 12, "NUL byte");
  assert_problem (m, 13, "the path is empty");
  assert_problem (m, 14, "cat/2.png: the label is not valid UTF-8");
  assert_problem (m, 15, "drive letters");
  assert_problem (m, 16, "new\\x0Aline.png: the path contains a control character (U+000A)");
  assert_problem (m, 18, "a quoted field has no closing quote");
  g_assert_cmpuint (m->problems->len, ==, 15);

  /* Problems are in file order. */
  for (guint i = 1; i < m->problems->len; i++)
    {
      CuratorManifestProblem *a = g_ptr_array_index (m->problems, i - 1);
      CuratorManifestProblem *b = g_ptr_array_index (m->problems, i);
      g_assert_cmpuint (a->line, <, b->line);
    }
}

static void
test_duplicates (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorManifest) m = parse_ok ("file,label\n"
                                           "cat/1.png,cat\n"
                                           "./cat//1.png,cat\n"
                                           "cat\\1.png,dog\n"
                                           "dog/../cat/1.png,cat\n"
                                           "cat/nope.png,cat\n"
                                           "cat/nope.png,cat\n", -1, f->root);

  g_assert_cmpuint (m->entries->len, ==, 1);
  assert_problem (m, 3, "listed twice (first on line 2)");
  assert_problem (m, 4, "listed twice (first on line 2)");
  assert_problem (m, 5, "listed twice (first on line 2)");
  assert_problem (m, 6, "file not found");
  assert_problem (m, 7, "listed twice (first on line 6)");
}

static void
test_labels_and_splits (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorManifest) m = parse_ok ("file,label,split\n"
                                           "cat/1.png,,\n"
                                           "cat/2.png,   ,\"\"\n"
                                           "dog/1.png,\"\",  train \n"
                                           "\"odd, name.png\",猫,test\n"
                                           "\"say \"\"hi\"\".png\",\"a\tb\",test\n", -1, f->root);

  g_assert_cmpuint (m->entries->len, ==, 4);
  assert_entry (m, 0, 2, "cat/1.png", NULL, NULL);
  assert_entry (m, 1, 3, "cat/2.png", NULL, NULL);
  assert_entry (m, 2, 4, "dog/1.png", NULL, "train");
  assert_entry (m, 3, 5, "odd, name.png", "猫", "test");
  assert_problem (m, 6, "the label contains a control character (U+0009)");
}

static void
test_no_root (Fixture *f, gconstpointer data)
{
  /* Without a root only the text is checked. */
  g_autoptr(CuratorManifest) m = parse_ok ("file,label\n"
                                           "no/such/file.png,cat\n"
                                           "../x.png,cat\n", -1, NULL);

  g_assert_cmpuint (m->entries->len, ==, 1);
  assert_entry (m, 0, 2, "no/such/file.png", "cat", NULL);
  assert_problem (m, 3, "leaves the dataset root");
}

static void
test_row_spanning_lines (Fixture *f, gconstpointer data)
{
  /* A stray quote pairs with the next one and the row runs over several
   * lines: the field count is wrong, and the message says where it ends. */
  g_autoptr(CuratorManifest) m = parse_ok ("file,label\n"
                                           "cat/1.png,\"cat\n"
                                           "cat/2.png,cat\n"
                                           "dog/1.png,\"dog\"\n"
                                           "cat/2.png,cat\n", -1, f->root);

  assert_problem (m, 2, "unexpected text after a closing quote");
  assert_entry (m, 0, 5, "cat/2.png", "cat", NULL);

  g_autoptr(CuratorManifest) count = parse_ok ("file,note,label\n"
                                               "cat/1.png,\"a\n,b,c\",cat,x\n"
                                               "cat/2.png,,cat\n", -1, f->root);
  assert_problem (count, 2, "found 4 (the row runs on to line 3: is a quote out of place?)");
  assert_entry (count, 0, 4, "cat/2.png", "cat", NULL);
}

static void
test_unterminated_recovery (Fixture *f, gconstpointer data)
{
  /* The quote opens on line 3 of a row that starts on line 2; reading
   * resumes on line 4. */
  g_autoptr(CuratorManifest) m = parse_ok ("file,note,label\n"
                                           "cat/1.png,\"one\n"
                                           "two\",\"cat\n"
                                           "cat/2.png,,cat\n"
                                           "dog/1.png,,dog\n", -1, f->root);

  assert_problem (m, 2, "a quoted field (opened on line 3) has no closing quote");
  g_assert_cmpuint (m->problems->len, ==, 1);
  g_assert_cmpuint (m->entries->len, ==, 2);
  assert_entry (m, 0, 4, "cat/2.png", "cat", NULL);
  assert_entry (m, 1, 5, "dog/1.png", "dog", NULL);

  /* Many rows, one stray quote: every other row is kept. */
  GString *text = g_string_new ("file,label\n");
  for (guint i = 0; i < 1000; i++)
    g_string_append_printf (text, "%s,%s\n", i == 10 ? "\"cat/1.png" : "cat/1.png", "cat");
  g_autoptr(CuratorManifest) many = parse_ok (text->str, text->len, NULL);
  g_string_free (text, TRUE);
  g_assert_cmpuint (many->problems->len, ==, 999);
  assert_problem (many, 12, "no closing quote");
  assert_entry (many, 0, 2, "cat/1.png", "cat", NULL);
  assert_problem (many, 13, "listed twice (first on line 2)");
}

static void
test_stray_quotes_everywhere (Fixture *f, gconstpointer data)
{
  /* Hostile text: quotes in every position. Reading ends, each problem has
   * a line within the text, and nothing is lost silently: every non-blank
   * row is either an entry or a problem. */
  static const char *const rows[] = { "\"", "\"\"", "\"\"\"", "a\"b", "\"a\"\"", ",\"", "\"\n\"",
                                      "x,\"\"\"\"", "\"\"\"x" };
  GString *text = g_string_new ("file,label\n");
  GRand *rand = g_rand_new_with_seed (7);

  for (guint i = 0; i < 3000; i++)
    g_string_append_printf (text, "%s%s\n", rows[g_rand_int_range (rand, 0, G_N_ELEMENTS (rows))],
                            rows[g_rand_int_range (rand, 0, G_N_ELEMENTS (rows))]);
  g_rand_free (rand);

  guint n_lines = 1;
  for (gsize i = 0; i < text->len; i++)
    n_lines += text->str[i] == '\n';

  g_autoptr(CuratorManifest) m = parse_ok (text->str, text->len, NULL);
  g_string_free (text, TRUE);

  g_assert_cmpuint (m->problems->len + m->entries->len, >, 0);
  for (guint i = 0; i < m->problems->len; i++)
    {
      CuratorManifestProblem *problem = g_ptr_array_index (m->problems, i);
      g_assert_cmpuint (problem->line, >=, 2);
      g_assert_cmpuint (problem->line, <=, n_lines);
    }
}

static void
test_field_limit (Fixture *f, gconstpointer data)
{
  GString *text = g_string_new ("file,label\n");
  g_autofree char *huge = g_strnfill (CURATOR_MANIFEST_MAX_FIELD_BYTES + 1, 'x');
  g_autofree char *largest = g_strnfill (CURATOR_MANIFEST_MAX_FIELD_BYTES, 'y');

  g_string_append_printf (text, "cat/1.png,%s\n", huge);
  g_string_append_printf (text, "cat/2.png,\"%s\"\n", huge);
  g_string_append_printf (text, "dog/1.png,%s\n", largest);

  g_autoptr(CuratorManifest) m = parse_ok (text->str, text->len, f->root);
  g_string_free (text, TRUE);

  assert_problem (m, 2, "a field is longer than 64 KiB");
  assert_problem (m, 3, "a field is longer than 64 KiB");
  g_assert_cmpuint (m->entries->len, ==, 1);
  assert_entry (m, 0, 4, "dog/1.png", largest, NULL);
}

static void
test_read_file (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->tmp, "labels.csv", NULL);

  write_file (path, "file,given_label,true_label\r\ncat/1.png,cat,cat\r\ndog/1.png,cat,dog\r\n", -1);

  g_autoptr(CuratorManifest) m = curator_manifest_read (path, f->root, &error);
  g_assert_no_error (error);
  assert_no_problems (m);
  assert_entry (m, 0, 2, "cat/1.png", "cat", NULL);
  assert_entry (m, 1, 3, "dog/1.png", "cat", NULL);
}

static void
test_read_errors (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = g_build_filename (f->tmp, "missing.csv", NULL);
  g_autoptr(CuratorManifest) m1 = curator_manifest_read (missing, f->root, &error);

  g_assert_null (m1);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_autoptr(CuratorManifest) m2 = curator_manifest_read (f->root, f->root, &error);
  g_assert_null (m2);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);

  /* A FIFO is refused at once, without waiting for a writer. */
  g_autofree char *fifo = g_build_filename (f->tmp, "fifo.csv", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_autoptr(CuratorManifest) m3 = curator_manifest_read (fifo, f->root, &error);
  g_assert_null (m3);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_IO);
  g_clear_error (&error);

  /* A sparse file just over 1 GiB: refused before reading. */
  g_autofree char *big = g_build_filename (f->tmp, "big.csv", NULL);
  int fd = g_open (big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) CURATOR_MANIFEST_MAX_BYTES + 1), ==, 0);
  g_close (fd, NULL);
  g_autoptr(CuratorManifest) m4 = curator_manifest_read (big, f->root, &error);
  g_assert_null (m4);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "larger than 1 GiB"));
  g_clear_error (&error);

  /* Unreadable: only meaningful when not running as root. */
  if (geteuid () != 0)
    {
      g_autofree char *locked = g_build_filename (f->tmp, "locked.csv", NULL);
      write_file (locked, "file\n", -1);
      g_assert_cmpint (g_chmod (locked, 0), ==, 0);
      g_autoptr(CuratorManifest) m5 = curator_manifest_read (locked, f->root, &error);
      g_assert_null (m5);
      g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_IO);
      g_clear_error (&error);
    }
}

static void
test_practice_set (Fixture *f, gconstpointer data)
{
  /* The practice set's labels.csv, when the shared data is present. Only the
   * text is read (root NULL): the images stay packed. */
  const char *shared = g_getenv ("CURATOR_SHARED_DIR");
  g_autofree char *archive = shared != NULL ? g_build_filename (shared, "data",
                                                                "cifar10-test-longtail.tar.gz", NULL)
                                            : NULL;
  if (archive == NULL || !g_file_test (archive, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("CURATOR_SHARED_DIR/data/cifar10-test-longtail.tar.gz not present");
      return;
    }

  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  const char *argv[] = { "tar", "-xzOf", archive, "--wildcards", "*labels.csv", NULL };

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, NULL))
    {
      g_test_skip ("could not unpack labels.csv with tar");
      return;
    }

  g_autoptr(CuratorManifest) m = parse_ok (out, strlen (out), NULL);
  assert_no_problems (m);
  g_assert_cmpuint (m->entries->len, ==, 3405);
  g_assert_cmpstr (m->label_column, ==, "given_label");
  CuratorManifestEntry *first = g_ptr_array_index (m->entries, 0);
  g_assert_nonnull (first->label);
  g_assert_true (g_str_has_prefix (first->file, first->label));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add ("/manifest/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("good", test_good);
  ADD ("blank-lines", test_no_trailing_newline_and_blank_lines);
  ADD ("quoted", test_quoted);
  ADD ("quoted-keeps-spaces", test_quoted_keeps_spaces);
  ADD ("line-endings", test_line_endings);
  ADD ("bom", test_bom);
  ADD ("alias-columns", test_alias_columns);
  ADD ("header-errors", test_header_errors);
  ADD ("problems", test_problems);
  ADD ("duplicates", test_duplicates);
  ADD ("labels-and-splits", test_labels_and_splits);
  ADD ("no-root", test_no_root);
  ADD ("row-spanning-lines", test_row_spanning_lines);
  ADD ("unterminated-recovery", test_unterminated_recovery);
  ADD ("stray-quotes", test_stray_quotes_everywhere);
  ADD ("field-limit", test_field_limit);
  ADD ("read-file", test_read_file);
  ADD ("read-errors", test_read_errors);
  ADD ("practice-set", test_practice_set);
#undef ADD

  return g_test_run ();
}

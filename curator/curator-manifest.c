/* curator-manifest.c: CSV manifests (RFC 4180, read leniently) into entries.
 *
 * The reader is a small state machine over bytes that hands each field to a
 * callback and keeps only the columns it needs, so a hostile file (a million
 * commas on one line, one endless quoted field) costs no more memory than
 * the fields we keep, each capped at CURATOR_MANIFEST_MAX_FIELD_BYTES.
 *
 * Recovery from an unterminated quote: the quoted field that runs to the end
 * of the file is reported, and reading resumes on the line after its opening
 * quote. This costs one extra pass at most: once a quoted field opened at q
 * has run to the end, every quoted field opened after q closes (its opening
 * quote is followed by a non-quote character, which the scan from q read as
 * a closing quote, or it starts a run of quotes the scan from q paired up,
 * so it pairs them the other way and closes inside the run). So no later
 * field can run to the end again, and the whole read stays linear. */
#include "curator-config.h"

#include "curator-manifest.h"
#include "curator-path.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* ---- CSV rows --------------------------------------------------------------- */

typedef struct {
  const char *data;
  gsize       len;
  gsize       pos;
  guint       line;   /* physical line at pos, from 1 */
} CsvReader;

typedef struct {
  guint    line;       /* first line of the row */
  guint    last_line;  /* line the row ends on */
  guint    n_fields;
  gboolean blank;      /* nothing but spaces */
  char    *problem;    /* first thing wrong with its syntax, or NULL */
} CsvRow;

/* @value holds the field, unquoted and trimmed; it may hold NUL bytes (then
 * the row has a problem). */
typedef void (*CsvFieldFunc) (guint index, const GString *value, gpointer user_data);

static void row_problem (CsvRow *row, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
row_problem (CsvRow *row, const char *format, ...)
{
  va_list args;

  if (row->problem != NULL)
    return;
  va_start (args, format);
  row->problem = g_strdup_vprintf (format, args);
  va_end (args);
}

static gboolean
is_delimiter (char c)
{
  return c == ',' || c == '\n' || c == '\r';
}

static gboolean
is_blank (char c)
{
  return c == ' ' || c == '\t';
}

/* At a line break: steps over it (CRLF is one) and counts the line. */
static void
csv_consume_line_break (CsvReader *r)
{
  if (r->data[r->pos] == '\r' && r->pos + 1 < r->len && r->data[r->pos + 1] == '\n')
    r->pos += 2;
  else
    r->pos += 1;
  r->line++;
}

static void
csv_count_lines (CsvReader *r, gsize start, gsize end)
{
  for (gsize i = start; i < end; i++)
    {
      if (r->data[i] == '\n')
        r->line++;
      else if (r->data[i] == '\r' && !(i + 1 < r->len && r->data[i + 1] == '\n'))
        r->line++;
    }
}

static void
field_append (GString *buf, const char *src, gsize n, CsvRow *row)
{
  if (memchr (src, '\0', n) != NULL)
    row_problem (row, "the row contains a NUL byte (is this a text file?)");
  if (buf->len + n > CURATOR_MANIFEST_MAX_FIELD_BYTES)
    {
      row_problem (row, "a field is longer than %u KiB",
                   (guint) (CURATOR_MANIFEST_MAX_FIELD_BYTES >> 10));
      n = CURATOR_MANIFEST_MAX_FIELD_BYTES - MIN (buf->len, CURATOR_MANIFEST_MAX_FIELD_BYTES);
    }
  g_string_append_len (buf, src, n);
}

/* Reads one row, calling @func for each field. FALSE at the end of the data. */
static gboolean
csv_read_row (CsvReader    *r,
              GString      *buf,
              CsvFieldFunc  func,
              gpointer      user_data,
              CsvRow       *row)
{
  const char *d = r->data;
  gboolean quoted = FALSE;

  memset (row, 0, sizeof *row);
  row->line = r->line;
  if (r->pos >= r->len)
    return FALSE;

  for (guint index = 0;; index++)
    {
      g_string_truncate (buf, 0);
      while (r->pos < r->len && is_blank (d[r->pos]))
        r->pos++;
      quoted = r->pos < r->len && d[r->pos] == '"';

      if (quoted)
        {
          gsize open_pos = r->pos;
          guint open_line = r->line;

          r->pos++;
          for (;;)
            {
              if (r->pos >= r->len)
                {
                  /* This explains the lines it swallowed: it wins over any
                   * earlier complaint about the row. */
                  g_free (row->problem);
                  if (open_line == row->line)
                    row->problem = g_strdup ("a quoted field has no closing quote");
                  else
                    row->problem = g_strdup_printf ("a quoted field (opened on line %u) "
                                                    "has no closing quote", open_line);
                  row->n_fields = index + 1;
                  row->last_line = r->line;

                  /* Resume on the line after the opening quote. */
                  r->pos = open_pos;
                  r->line = open_line;
                  while (r->pos < r->len && d[r->pos] != '\n' && d[r->pos] != '\r')
                    r->pos++;
                  if (r->pos < r->len)
                    csv_consume_line_break (r);
                  return TRUE;
                }
              if (d[r->pos] == '"')
                {
                  if (r->pos + 1 < r->len && d[r->pos + 1] == '"')
                    {
                      field_append (buf, "\"", 1, row);
                      r->pos += 2;
                      continue;
                    }
                  r->pos++;
                  break;
                }

              const char *quote = memchr (d + r->pos, '"', r->len - r->pos);
              gsize end = quote != NULL ? (gsize) (quote - d) : r->len;

              csv_count_lines (r, r->pos, end);
              field_append (buf, d + r->pos, end - r->pos, row);
              r->pos = end;
            }

          while (r->pos < r->len && is_blank (d[r->pos]))
            r->pos++;
          if (r->pos < r->len && !is_delimiter (d[r->pos]))
            {
              row_problem (row, "unexpected text after a closing quote "
                                "(a quote inside a quoted field is written \"\")");
              while (r->pos < r->len && !is_delimiter (d[r->pos]))
                r->pos++;
            }
        }
      else
        {
          gsize start = r->pos;

          while (r->pos < r->len && !is_delimiter (d[r->pos]))
            r->pos++;

          gsize end = r->pos;
          while (end > start && is_blank (d[end - 1]))
            end--;
          field_append (buf, d + start, end - start, row);
        }

      if (func != NULL)
        func (index, buf, user_data);
      row->n_fields = index + 1;
      row->last_line = r->line;

      if (r->pos >= r->len)
        break;
      if (d[r->pos] == ',')
        {
          r->pos++;
          continue;
        }
      csv_consume_line_break (r);
      break;
    }

  row->blank = row->n_fields == 1 && buf->len == 0 && !quoted && row->problem == NULL;
  return TRUE;
}

/* ---- header ------------------------------------------------------------------ */

static const char *const file_aliases[] = { "file", "path", "filename", "image", NULL };
static const char *const label_aliases[] = { "label", "given_label", "class", NULL };
static const char *const split_aliases[] = { "split", NULL };

typedef struct {
  const char *const *aliases;  /* best first */
  int                index;    /* -1 = absent */
  guint              rank;     /* of the alias found */
  char              *name;     /* as written */
  gboolean           twice;    /* the chosen name appears twice */
} Column;

typedef struct {
  Column file;
  Column label;
  Column split;
} Header;

static void
column_consider (Column *column, guint index, const char *name, const char *lower)
{
  for (guint rank = 0; column->aliases[rank] != NULL; rank++)
    {
      if (strcmp (lower, column->aliases[rank]) != 0)
        continue;
      if (column->index < 0 || rank < column->rank)
        {
          column->index = (int) index;
          column->rank = rank;
          column->twice = FALSE;
          g_free (column->name);
          column->name = g_strdup (name);
        }
      else if (rank == column->rank)
        column->twice = TRUE;
      return;
    }
}

static void
header_field (guint index, const GString *value, gpointer user_data)
{
  Header *header = user_data;

  if (index > G_MAXINT)
    return;

  g_autofree char *name = g_strstrip (g_strdup (value->str));
  g_autofree char *lower = g_ascii_strdown (name, -1);

  column_consider (&header->file, index, name, lower);
  column_consider (&header->label, index, name, lower);
  column_consider (&header->split, index, name, lower);
}

/* ---- rows --------------------------------------------------------------------- */

typedef struct {
  const Header *header;
  char         *file;
  char         *label;
  char         *split;
} RowValues;

static void
row_field (guint index, const GString *value, gpointer user_data)
{
  RowValues *values = user_data;
  char **slot = NULL;

  if ((int) index == values->header->file.index)
    slot = &values->file;
  else if ((int) index == values->header->label.index)
    slot = &values->label;
  else if ((int) index == values->header->split.index)
    slot = &values->split;
  if (slot == NULL || index > G_MAXINT)
    return;

  g_free (*slot);
  *slot = g_strndup (value->str, value->len);
}

static void
row_values_clear (RowValues *values)
{
  g_clear_pointer (&values->file, g_free);
  g_clear_pointer (&values->label, g_free);
  g_clear_pointer (&values->split, g_free);
}

/* @text for a message: control characters and bytes that are not UTF-8 as
 * \xNN, long text shortened. */
static char *
describe (const char *text)
{
  GString *out = g_string_new (NULL);
  const char *p = text;
  const char *end = text + strlen (text);

  while (p < end)
    {
      const char *valid_end = NULL;

      if (out->len >= 200)
        {
          g_string_append (out, "…");
          break;
        }
      g_utf8_validate_len (p, end - p, &valid_end);
      if (valid_end == p)
        {
          g_string_append_printf (out, "\\x%02X", (guint) (guchar) *p);
          p++;
          continue;
        }

      gunichar c = g_utf8_get_char (p);
      const char *next = g_utf8_next_char (p);

      if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        g_string_append_printf (out, "\\x%02X", (guint) c);
      else
        g_string_append_len (out, p, next - p);
      p = next;
    }
  return g_string_free (out, FALSE);
}

/* NULL when @value (a label or split) is fine as text, else why not. */
static char *
text_problem (const char *what, const char *value)
{
  if (!g_utf8_validate (value, -1, NULL))
    return g_strdup_printf ("the %s is not valid UTF-8 text (save the manifest as UTF-8)", what);
  for (const char *p = value; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        return g_strdup_printf ("the %s contains a control character (U+%04X)", what, (guint) c);
    }
  return NULL;
}

/* Takes @value; NULL when it is empty or only spaces. */
static char *
optional_text (char *value)
{
  if (value == NULL)
    return NULL;
  for (const char *p = value; *p != '\0'; p++)
    if (!is_blank (*p))
      return value;
  g_free (value);
  return NULL;
}

typedef struct {
  CuratorManifest  *manifest;
  CuratorPathRoot  *root;   /* NULL: no file system checks */
  GHashTable       *seen;   /* normalized path -> first line */
} Parse;

static void
add_problem (Parse *parse, guint line, char *message)
{
  CuratorManifestProblem *problem = g_new0 (CuratorManifestProblem, 1);

  problem->line = line;
  problem->message = message;
  g_ptr_array_add (parse->manifest->problems, problem);
}

/* Adds a problem "PATH: WHY" about the row's file. */
static void
add_file_problem (Parse *parse, guint line, const char *file, const char *why)
{
  g_autofree char *shown = describe (file);

  if (shown[0] != '\0')
    add_problem (parse, line, g_strdup_printf ("%s: %s", shown, why));
  else
    add_problem (parse, line, g_strdup (why));
}

static void
add_row (Parse *parse, guint line, RowValues *values)
{
  g_autoptr(GError) local_error = NULL;
  const char *given = values->file != NULL ? values->file : "";
  g_autofree char *file = curator_path_normalize_relative (given, &local_error);

  if (file == NULL)
    {
      add_file_problem (parse, line, given, local_error->message);
      return;
    }

  gpointer first_line = g_hash_table_lookup (parse->seen, file);
  if (first_line != NULL)
    {
      g_autofree char *why = g_strdup_printf ("listed twice (first on line %u)",
                                              GPOINTER_TO_UINT (first_line));
      add_file_problem (parse, line, given, why);
      return;
    }
  g_hash_table_insert (parse->seen, g_strdup (file), GUINT_TO_POINTER (line));

  if (parse->root != NULL)
    {
      g_autofree char *full = curator_path_root_resolve (parse->root, file, &local_error);
      struct stat st;

      if (full == NULL)
        {
          add_file_problem (parse, line, given, local_error->message);
          return;
        }
      if (stat (full, &st) != 0)
        {
          int errsv = errno;
          add_file_problem (parse, line, given, g_strerror (errsv));
          return;
        }
      if (S_ISDIR (st.st_mode))
        {
          add_file_problem (parse, line, given, "is a folder, not a file");
          return;
        }
      if (!S_ISREG (st.st_mode))
        {
          add_file_problem (parse, line, given, "is not a regular file");
          return;
        }
    }

  g_autofree char *label = optional_text (g_steal_pointer (&values->label));
  g_autofree char *split = optional_text (g_steal_pointer (&values->split));
  g_autofree char *why = NULL;

  if (label != NULL && (why = text_problem ("label", label)) != NULL)
    {
      add_file_problem (parse, line, given, why);
      return;
    }
  if (split != NULL && (why = text_problem ("split", split)) != NULL)
    {
      add_file_problem (parse, line, given, why);
      return;
    }

  CuratorManifestEntry *entry = g_new0 (CuratorManifestEntry, 1);
  entry->line = line;
  entry->file = g_steal_pointer (&file);
  entry->label = g_steal_pointer (&label);
  entry->split = g_steal_pointer (&split);
  g_ptr_array_add (parse->manifest->entries, entry);
}

/* ---- public ---------------------------------------------------------------- */

void
curator_manifest_entry_free (CuratorManifestEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->file);
  g_free (entry->label);
  g_free (entry->split);
  g_free (entry);
}

void
curator_manifest_problem_free (CuratorManifestProblem *problem)
{
  if (problem == NULL)
    return;
  g_free (problem->message);
  g_free (problem);
}

void
curator_manifest_free (CuratorManifest *manifest)
{
  if (manifest == NULL)
    return;
  g_clear_pointer (&manifest->entries, g_ptr_array_unref);
  g_clear_pointer (&manifest->problems, g_ptr_array_unref);
  g_free (manifest->file_column);
  g_free (manifest->label_column);
  g_free (manifest->split_column);
  g_free (manifest);
}

static void
header_clear (Header *header)
{
  g_free (header->file.name);
  g_free (header->label.name);
  g_free (header->split.name);
}

CuratorManifest *
curator_manifest_parse (const char  *data,
                        gsize        len,
                        const char  *root,
                        GError     **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len > CURATOR_MANIFEST_MAX_BYTES)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "the manifest is larger than %u GiB",
                   (guint) (CURATOR_MANIFEST_MAX_BYTES >> 30));
      return NULL;
    }

  g_autoptr(CuratorPathRoot) path_root = NULL;
  if (root != NULL)
    {
      path_root = curator_path_root_new (root, error);
      if (path_root == NULL)
        return NULL;
    }

  CsvReader reader = { data, len, 0, 1 };
  g_autoptr(GString) buf = g_string_new (NULL);
  CsvRow row;

  if (len >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    reader.pos = 3;

  /* The header: the first row that is not blank. */
  Header header = {
    { file_aliases, -1, 0, NULL, FALSE },
    { label_aliases, -1, 0, NULL, FALSE },
    { split_aliases, -1, 0, NULL, FALSE },
  };
  gboolean have_header = FALSE;
  guint n_columns = 0;

  while (csv_read_row (&reader, buf, header_field, &header, &row))
    {
      if (row.blank)
        continue;
      have_header = TRUE;
      n_columns = row.n_fields;
      break;
    }

  if (!have_header)
    {
      header_clear (&header);
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "the manifest is empty (it needs a header row with a \"file\" column)");
      return NULL;
    }
  if (row.problem != NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "line %u (the header): %s", row.line, row.problem);
      g_free (row.problem);
      header_clear (&header);
      return NULL;
    }
  if (header.file.index < 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "the manifest has no file column: its first row must be a header "
                   "naming one column \"file\" (or \"path\", \"filename\", \"image\")");
      header_clear (&header);
      return NULL;
    }
  Column *columns[] = { &header.file, &header.label, &header.split };
  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    if (columns[i]->index >= 0 && columns[i]->twice)
      {
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                     "the header names the column \"%s\" twice", columns[i]->name);
        header_clear (&header);
        return NULL;
      }

  g_autoptr(CuratorManifest) manifest = g_new0 (CuratorManifest, 1);
  manifest->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_manifest_entry_free);
  manifest->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_manifest_problem_free);
  manifest->file_column = g_steal_pointer (&header.file.name);
  manifest->label_column = g_steal_pointer (&header.label.name);
  manifest->split_column = g_steal_pointer (&header.split.name);

  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Parse parse = { manifest, path_root, seen };
  RowValues values = { &header, NULL, NULL, NULL };

  while (csv_read_row (&reader, buf, row_field, &values, &row))
    {
      if (row.blank)
        ;
      else if (row.problem != NULL)
        add_problem (&parse, row.line, g_steal_pointer (&row.problem));
      else if (row.n_fields != n_columns)
        {
          if (row.last_line > row.line)
            add_problem (&parse, row.line,
                         g_strdup_printf ("expected %u fields as in the header, found %u "
                                          "(the row runs on to line %u: is a quote out of place?)",
                                          n_columns, row.n_fields, row.last_line));
          else
            add_problem (&parse, row.line,
                         g_strdup_printf ("expected %u fields as in the header, found %u",
                                          n_columns, row.n_fields));
        }
      else
        add_row (&parse, row.line, &values);

      g_free (row.problem);
      row_values_clear (&values);
    }

  header_clear (&header);
  return g_steal_pointer (&manifest);
}

CuratorManifest *
curator_manifest_read (const char  *manifest_path,
                       const char  *root,
                       GError     **error)
{
  g_return_val_if_fail (manifest_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
   * below as not a regular file. */
  int fd = g_open (manifest_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0)
    {
      int errsv = errno;

      if (errsv == ENOENT)
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                     "manifest not found: %s", manifest_path);
      else
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                     "cannot open manifest %s: %s", manifest_path, g_strerror (errsv));
      return NULL;
    }

  struct stat st;
  g_autoptr(GByteArray) bytes = NULL;
  gboolean ok = FALSE;

  if (fstat (fd, &st) != 0)
    {
      int errsv = errno;
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                   "cannot read manifest %s: %s", manifest_path, g_strerror (errsv));
    }
  else if (!S_ISREG (st.st_mode))
    g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                 "manifest %s is not a regular file", manifest_path);
  else if ((guint64) st.st_size > CURATOR_MANIFEST_MAX_BYTES)
    g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                 "manifest %s is larger than %u GiB", manifest_path,
                 (guint) (CURATOR_MANIFEST_MAX_BYTES >> 30));
  else
    {
      /* Read to the end rather than trusting st_size: the file may grow. */
      bytes = g_byte_array_sized_new ((guint) st.st_size + 1);
      ok = TRUE;
      for (;;)
        {
          gsize have = bytes->len;
          gsize chunk = 1 << 20;

          if (have > CURATOR_MANIFEST_MAX_BYTES)
            {
              g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "manifest %s is larger than %u GiB", manifest_path,
                           (guint) (CURATOR_MANIFEST_MAX_BYTES >> 30));
              ok = FALSE;
              break;
            }
          g_byte_array_set_size (bytes, (guint) (have + chunk));

          gssize n = read (fd, bytes->data + have, chunk);
          if (n < 0 && errno == EINTR)
            {
              g_byte_array_set_size (bytes, (guint) have);
              continue;
            }
          if (n < 0)
            {
              int errsv = errno;
              g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                           "cannot read manifest %s: %s", manifest_path, g_strerror (errsv));
              ok = FALSE;
              break;
            }
          g_byte_array_set_size (bytes, (guint) (have + (gsize) n));
          if (n == 0)
            break;
        }
    }
  g_close (fd, NULL);

  if (!ok)
    return NULL;
  return curator_manifest_parse ((const char *) bytes->data, bytes->len, root, error);
}

/* embeddings-parse.c: the .npy, file-list and CSV readers of the embeddings
 * plugin (see embeddings-parse.h). Written to be fuzzed: every length is
 * checked before it is used, sizes are multiplied with overflow checks, and
 * nothing is allocated from a size the bytes claim until the bytes are
 * known to be there. */
#include "embeddings-parse.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (curator-embeddings-error-quark, emb_error)

void
emb_matrix_free (EmbMatrix *m)
{
  if (m == NULL)
    return;
  g_free (m->values);
  if (m->files != NULL)
    g_ptr_array_unref (m->files);
  g_free (m);
}

static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exponent = (h >> 10) & 0x1f;
  guint32 mantissa = h & 0x3ff;
  guint32 x;
  float f;

  if (exponent == 0x1f)
    x = sign | 0x7f800000 | (mantissa << 13);
  else if (exponent == 0)
    {
      /* Zero or subnormal: exact as a float. */
      f = ldexpf ((float) mantissa, -24);
      return sign ? -f : f;
    }
  else
    x = sign | ((exponent + 112) << 23) | (mantissa << 13);
  memcpy (&f, &x, sizeof f);
  return f;
}

/* ---- .npy ------------------------------------------------------------------ */

/* Finds 'key' in the header dict and returns the text after its colon. */
static const char *
header_value (const char *header, const char *key)
{
  g_autofree char *quoted1 = g_strdup_printf ("'%s'", key);
  g_autofree char *quoted2 = g_strdup_printf ("\"%s\"", key);
  const char *p = strstr (header, quoted1);

  if (p == NULL)
    p = strstr (header, quoted2);
  if (p == NULL)
    return NULL;
  p += strlen (quoted1);
  while (*p == ' ')
    p++;
  if (*p != ':')
    return NULL;
  p++;
  while (*p == ' ')
    p++;
  return p;
}

EmbMatrix *
emb_parse_npy (const guint8 *data, gsize len, GError **error)
{
  g_autoptr(EmbMatrix) m = NULL;
  g_autofree char *header = NULL;
  gsize header_len, offset, item, n_values, n_bytes;
  const char *descr, *fortran, *shape;
  char byte_order, type;
  guint64 dims[2];
  int n_dims = 0;
  gboolean swap;

  if (len < 10 || memcmp (data, "\x93NUMPY", 6) != 0)
    {
      g_set_error (error, EMB_ERROR, 0, "not a .npy file (no \\x93NUMPY magic)");
      return NULL;
    }
  if (data[6] == 1)
    {
      header_len = data[8] | ((gsize) data[9] << 8);
      offset = 10;
    }
  else if (data[6] == 2 || data[6] == 3)
    {
      if (len < 12)
        {
          g_set_error (error, EMB_ERROR, 0, "truncated .npy header");
          return NULL;
        }
      header_len = data[8] | ((gsize) data[9] << 8) | ((gsize) data[10] << 16) | ((gsize) data[11] << 24);
      offset = 12;
    }
  else
    {
      g_set_error (error, EMB_ERROR, 0, ".npy format version %u is not one this reads (1, 2, 3)", data[6]);
      return NULL;
    }
  if (header_len > len - offset || header_len > 65536)
    {
      g_set_error (error, EMB_ERROR, 0, "truncated .npy header (%" G_GSIZE_FORMAT " bytes announced)", header_len);
      return NULL;
    }
  header = g_strndup ((const char *) data + offset, header_len);
  if (strlen (header) != header_len)
    {
      g_set_error (error, EMB_ERROR, 0, ".npy header holds a NUL byte");
      return NULL;
    }
  offset += header_len;

  descr = header_value (header, "descr");
  if (descr == NULL || (descr[0] != '\'' && descr[0] != '"') || descr[1] == '\0' ||
      descr[2] == '\0' || descr[3] == '\0' || descr[4] != descr[0])
    {
      g_set_error (error, EMB_ERROR, 0, ".npy header has no dtype this reads ('descr')");
      return NULL;
    }
  byte_order = descr[1];
  type = descr[2];
  if (type != 'f' || (descr[3] != '2' && descr[3] != '4' && descr[3] != '8') ||
      (byte_order != '<' && byte_order != '>' && byte_order != '='))
    {
      g_set_error (error, EMB_ERROR, 0, "unsupported dtype %.4s: embeddings must be float16, float32 or float64",
                   descr + 1);
      return NULL;
    }
  item = descr[3] - '0';
  swap = (byte_order == '>') != (G_BYTE_ORDER == G_BIG_ENDIAN) && byte_order != '=';

  fortran = header_value (header, "fortran_order");
  if (fortran == NULL || !g_str_has_prefix (fortran, "False"))
    {
      g_set_error (error, EMB_ERROR, 0, "the .npy array must be in C order (fortran_order False)");
      return NULL;
    }
  shape = header_value (header, "shape");
  if (shape == NULL || *shape != '(')
    {
      g_set_error (error, EMB_ERROR, 0, ".npy header has no shape");
      return NULL;
    }
  shape++;
  for (;;)
    {
      char *end = NULL;
      guint64 v;

      while (*shape == ' ')
        shape++;
      if (*shape == ')')
        break;
      if (!g_ascii_isdigit (*shape) || n_dims == 2)
        {
          g_set_error (error, EMB_ERROR, 0, "the array must be 2-D (N x D)");
          return NULL;
        }
      v = g_ascii_strtoull (shape, &end, 10);
      if (end == shape || v > G_MAXUINT32)
        {
          g_set_error (error, EMB_ERROR, 0, "bad shape in the .npy header");
          return NULL;
        }
      dims[n_dims++] = v;
      shape = end;
      while (*shape == ' ')
        shape++;
      if (*shape == ',')
        shape++;
    }
  if (n_dims != 2)
    {
      g_set_error (error, EMB_ERROR, 0, "the array must be 2-D (N x D), not %d-D", n_dims);
      return NULL;
    }
  if (dims[1] < 1 || dims[1] > EMB_MAX_DIM)
    {
      g_set_error (error, EMB_ERROR, 0, "embedding dimension %" G_GUINT64_FORMAT " outside 1..%d",
                   dims[1], EMB_MAX_DIM);
      return NULL;
    }
  if (!g_size_checked_mul (&n_values, dims[0], dims[1]) || n_values > EMB_MAX_VALUES ||
      !g_size_checked_mul (&n_bytes, n_values, item))
    {
      g_set_error (error, EMB_ERROR, 0, "array too large (%" G_GUINT64_FORMAT " x %" G_GUINT64_FORMAT ")",
                   dims[0], dims[1]);
      return NULL;
    }
  if (len - offset != n_bytes)
    {
      g_set_error (error, EMB_ERROR, 0, "the .npy data is %" G_GSIZE_FORMAT " bytes; %" G_GUINT64_FORMAT
                   " x %" G_GUINT64_FORMAT " float%" G_GSIZE_FORMAT " needs %" G_GSIZE_FORMAT " (%s)",
                   len - offset, dims[0], dims[1], item * 8, n_bytes,
                   len - offset < n_bytes ? "truncated" : "trailing bytes");
      return NULL;
    }

  m = g_new0 (EmbMatrix, 1);
  m->n_rows = dims[0];
  m->dim = (guint) dims[1];
  m->values = g_new (float, MAX (n_values, 1));
  for (gsize i = 0; i < n_values; i++)
    {
      const guint8 *p = data + offset + i * item;
      guint8 b[8];
      double v;

      for (gsize j = 0; j < item; j++)
        b[j] = swap ? p[item - 1 - j] : p[j];
      if (item == 2)
        {
          guint16 h;
          memcpy (&h, b, 2);
          v = half_to_float (h);
        }
      else if (item == 4)
        {
          float f;
          memcpy (&f, b, 4);
          v = f;
        }
      else
        memcpy (&v, b, 8);
      if (!isfinite (v) || !isfinite ((float) v))
        {
          g_set_error (error, EMB_ERROR, 0, "row %" G_GSIZE_FORMAT ", component %" G_GSIZE_FORMAT
                       " is not a finite float (NaN, Inf or out of float range)",
                       i / m->dim, i % m->dim);
          return NULL;
        }
      m->values[i] = (float) v;
    }
  return g_steal_pointer (&m);
}

/* ---- file list ------------------------------------------------------------- */

char *
emb_normalize_path (const char *path)
{
  while (path[0] == '.' && path[1] == '/')
    path += 2;
  return g_strdup (path);
}

GPtrArray *
emb_parse_file_list (const char *data, gsize len, GError **error)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  gsize start = 0;
  guint line = 0;

  while (start < len)
    {
      const char *nl = memchr (data + start, '\n', len - start);
      gsize end = nl != NULL ? (gsize) (nl - data) : len;
      g_autofree char *raw = g_strndup (data + start, end - start);

      line++;
      if (strlen (raw) != end - start || !g_utf8_validate (raw, -1, NULL))
        {
          g_set_error (error, EMB_ERROR, 0, "file list line %u is not UTF-8 text", line);
          return NULL;
        }
      g_strstrip (raw);
      g_ptr_array_add (files, emb_normalize_path (raw));
      start = end + 1;
    }
  /* Blank lines are allowed only at the end. */
  while (files->len > 0 && *(char *) g_ptr_array_index (files, files->len - 1) == '\0')
    g_ptr_array_remove_index (files, files->len - 1);
  for (guint i = 0; i < files->len; i++)
    if (*(char *) g_ptr_array_index (files, i) == '\0')
      {
        g_set_error (error, EMB_ERROR, 0, "file list line %u is empty", i + 1);
        return NULL;
      }
  return g_steal_pointer (&files);
}

/* ---- CSV --------------------------------------------------------------------- */

/* Splits one line at commas; a field may be double-quoted ("" = quote).
 * NULL on an unterminated quote. */
static GPtrArray *
csv_split (const char *line)
{
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  const char *p = line;

  for (;;)
    {
      GString *field = g_string_new (NULL);

      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '"')
        {
          p++;
          for (;;)
            {
              if (*p == '\0')
                {
                  g_string_free (field, TRUE);
                  return NULL;
                }
              if (*p == '"' && p[1] == '"')
                {
                  g_string_append_c (field, '"');
                  p += 2;
                }
              else if (*p == '"')
                {
                  p++;
                  break;
                }
              else
                g_string_append_c (field, *p++);
            }
          while (*p != '\0' && *p != ',')
            p++;
        }
      else
        {
          while (*p != '\0' && *p != ',')
            g_string_append_c (field, *p++);
          while (field->len > 0 && (field->str[field->len - 1] == ' ' || field->str[field->len - 1] == '\t'))
            g_string_truncate (field, field->len - 1);
        }
      g_ptr_array_add (fields, g_string_free (field, FALSE));
      if (*p != ',')
        break;
      p++;
    }
  return g_steal_pointer (&fields);
}

static gboolean
parse_number (const char *text, float *out)
{
  char *end = NULL;
  double v;

  if (*text == '\0')
    return FALSE;
  v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0')
    return FALSE;
  *out = (float) v;
  return TRUE;
}

EmbMatrix *
emb_parse_csv (const char *data, gsize len, GError **error)
{
  g_autoptr(EmbMatrix) m = g_new0 (EmbMatrix, 1);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (float));
  gsize start = 0;
  guint line = 0;
  gboolean first = TRUE;

  m->files = g_ptr_array_new_with_free_func (g_free);
  if (len >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    start = 3;
  while (start < len)
    {
      const char *nl = memchr (data + start, '\n', len - start);
      gsize end = nl != NULL ? (gsize) (nl - data) : len;
      g_autofree char *raw = g_strndup (data + start, end - start);
      g_autoptr(GPtrArray) fields = NULL;
      g_autofree char *file = NULL;
      gsize n_raw = strlen (raw);
      gboolean has_nul = n_raw != end - start;
      float v;

      line++;
      start = end + 1;
      if (n_raw > 0 && raw[n_raw - 1] == '\r')
        raw[--n_raw] = '\0';
      if (has_nul || !g_utf8_validate (raw, -1, NULL))
        {
          g_set_error (error, EMB_ERROR, 0, "CSV line %u is not UTF-8 text", line);
          return NULL;
        }
      if (*raw == '\0')
        continue;
      fields = csv_split (raw);
      if (fields == NULL)
        {
          g_set_error (error, EMB_ERROR, 0, "CSV line %u has an unterminated quote", line);
          return NULL;
        }
      if (first)
        {
          first = FALSE;
          /* A header: its second field is not a number. */
          if (fields->len >= 2 && !parse_number (g_ptr_array_index (fields, 1), &v))
            continue;
        }
      if (fields->len < 2)
        {
          g_set_error (error, EMB_ERROR, 0, "CSV line %u has no values (file,v1,...,vD)", line);
          return NULL;
        }
      if (m->dim == 0)
        {
          if (fields->len - 1 > EMB_MAX_DIM)
            {
              g_set_error (error, EMB_ERROR, 0, "CSV line %u has more than %d values", line, EMB_MAX_DIM);
              return NULL;
            }
          m->dim = fields->len - 1;
        }
      else if (fields->len - 1 != m->dim)
        {
          g_set_error (error, EMB_ERROR, 0, "CSV line %u has %u values, earlier rows %u",
                       line, fields->len - 1, m->dim);
          return NULL;
        }
      if ((guint64) values->len + m->dim > EMB_MAX_VALUES)
        {
          g_set_error (error, EMB_ERROR, 0, "too many values (over %" G_GUINT64_FORMAT ")", EMB_MAX_VALUES);
          return NULL;
        }
      file = emb_normalize_path (g_ptr_array_index (fields, 0));
      if (*file == '\0')
        {
          /* Also "./": nothing is left once the ./ is dropped. */
          g_set_error (error, EMB_ERROR, 0, "CSV line %u has an empty file name", line);
          return NULL;
        }
      for (guint d = 1; d < fields->len; d++)
        {
          if (!parse_number (g_ptr_array_index (fields, d), &v))
            {
              g_set_error (error, EMB_ERROR, 0, "CSV line %u, value %u is not a number", line, d);
              return NULL;
            }
          if (!isfinite (v))
            {
              g_set_error (error, EMB_ERROR, 0, "CSV line %u, value %u is not a finite float (NaN, Inf or out of range)",
                           line, d);
              return NULL;
            }
          g_array_append_val (values, v);
        }
      g_ptr_array_add (m->files, g_steal_pointer (&file));
    }
  if (m->files->len == 0)
    {
      g_set_error (error, EMB_ERROR, 0, "the CSV holds no embeddings");
      return NULL;
    }
  m->n_rows = m->files->len;
  m->values = (float *) (void *) g_array_free (g_steal_pointer (&values), FALSE);
  return g_steal_pointer (&m);
}

/* curator-embeddings.c: the "embeddings" feature extractor plugin. It brings
 * per-sample vectors computed elsewhere (a pretrained network run on
 * another machine) into Curator's analysis in place of the built-in
 * features:
 *
 *   curator analyze --features embeddings:vectors.npy[,files.txt]
 *   curator analyze --features embeddings:vectors.csv
 *
 * A .npy (N x D float16/32/64, C order) needs a file list with N paths, one
 * per line, in row order; by default the .npy's name with .txt in place of
 * .npy. A CSV has rows file,v1,...,vD. Paths are relative to the dataset
 * root (absolute paths inside the root are accepted) and matched to the
 * samples by path. A sample without a vector is an error that names the
 * first few; a vector whose file is not an analysed sample is a warning.
 * The cache key is a hash of the input files, so the host's feature cache
 * holds these vectors until the files change. */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "curator-plugin.h"
#include "embeddings-parse.h"

#define EMB_MAX_FILE_BYTES (((goffset) 2) << 30)
#define LIST_NAMES 5

typedef struct {
  EmbMatrix  *matrix;
  GHashTable *rows;   /* path -> GUINT_TO_POINTER (row + 1), paths borrowed from matrix->files */
} EmbState;

static void
emb_state_free (gpointer data)
{
  EmbState *state = data;

  if (state == NULL)
    return;
  g_clear_pointer (&state->rows, g_hash_table_unref);
  emb_matrix_free (state->matrix);
  g_free (state);
}

static gboolean
read_file (const char *path, char **contents, gsize *len, GError **error)
{
  GStatBuf st;

  if (g_stat (path, &st) == 0 && st.st_size > EMB_MAX_FILE_BYTES)
    {
      g_set_error (error, EMB_ERROR, 0, "%s is larger than 2 GiB", path);
      return FALSE;
    }
  return g_file_get_contents (path, contents, len, error);
}

/* Reads the matrix and its paths named by @arg. */
static EmbMatrix *
load (const char *arg, GChecksum *checksum, GError **error)
{
  g_autofree char *data = NULL;
  g_autofree char *path = NULL;
  g_autofree char *list_path = NULL;
  const char *comma = strchr (arg, ',');
  g_autoptr(EmbMatrix) m = NULL;
  gsize len = 0;

  path = comma != NULL ? g_strndup (arg, comma - arg) : g_strdup (arg);
  if (!read_file (path, &data, &len, error))
    return NULL;
  g_checksum_update (checksum, (const guchar *) data, len);

  if (g_str_has_suffix (path, ".csv") || g_str_has_suffix (path, ".CSV"))
    {
      if (comma != NULL)
        {
          g_set_error (error, EMB_ERROR, 0, "a CSV carries its own file names: no list after the comma");
          return NULL;
        }
      m = emb_parse_csv (data, len, error);
      if (m == NULL)
        g_prefix_error (error, "%s: ", path);
      return g_steal_pointer (&m);
    }

  m = emb_parse_npy ((const guint8 *) data, len, error);
  if (m == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  g_clear_pointer (&data, g_free);
  if (comma != NULL)
    list_path = g_strdup (comma + 1);
  else if (g_str_has_suffix (path, ".npy"))
    {
      g_autofree char *stem = g_strndup (path, strlen (path) - 4);
      list_path = g_strconcat (stem, ".txt", NULL);
    }
  else
    list_path = g_strconcat (path, ".txt", NULL);
  if (!g_file_test (list_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, EMB_ERROR, 0, "%s needs a file list (one path per row): %s not found; "
                   "name it with embeddings:%s,LIST", path, list_path, path);
      return NULL;
    }
  if (!read_file (list_path, &data, &len, error))
    return NULL;
  g_checksum_update (checksum, (const guchar *) "\n--list--\n", 10);
  g_checksum_update (checksum, (const guchar *) data, len);
  m->files = emb_parse_file_list (data, len, error);
  if (m->files == NULL)
    {
      g_prefix_error (error, "%s: ", list_path);
      return NULL;
    }
  if (m->files->len != m->n_rows)
    {
      g_set_error (error, EMB_ERROR, 0, "%s has %u paths but %s has %" G_GUINT64_FORMAT " rows",
                   list_path, m->files->len, path, m->n_rows);
      return NULL;
    }
  return g_steal_pointer (&m);
}

/* "a, b, c and 7 more" from the first names of @names. */
static char *
name_some (GPtrArray *names)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < names->len && i < LIST_NAMES; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? ", " : "", (const char *) g_ptr_array_index (names, i));
  if (names->len > LIST_NAMES)
    g_string_append_printf (text, " and %u more", names->len - LIST_NAMES);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static int
emb_open (const CuratorPluginContext *ctx, const char *arg, const CuratorPluginSample *samples,
          size_t n_samples, int side, void **state_out, int *dim, char *key, size_t key_size,
          char *error, size_t error_size)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  g_autoptr(GPtrArray) extra = g_ptr_array_new ();
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *root_prefix = NULL;
  EmbState *state;

  if (arg == NULL || *arg == '\0')
    {
      g_strlcpy (error, "embeddings needs a file: embeddings:FILE.npy[,LIST] or embeddings:FILE.csv",
                 error_size);
      return -1;
    }
  state = g_new0 (EmbState, 1);
  state->matrix = load (arg, checksum, &local);
  if (state->matrix == NULL)
    {
      g_strlcpy (error, local->message, error_size);
      emb_state_free (state);
      return -1;
    }

  /* Paths as the project names them: relative to the root. */
  if (ctx->root != NULL)
    root_prefix = g_str_has_suffix (ctx->root, "/") ? g_strdup (ctx->root) : g_strconcat (ctx->root, "/", NULL);
  state->rows = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < state->matrix->files->len; i++)
    {
      char *p = g_ptr_array_index (state->matrix->files, i);

      if (root_prefix != NULL && g_str_has_prefix (p, root_prefix))
        memmove (p, p + strlen (root_prefix), strlen (p + strlen (root_prefix)) + 1);
      guint first = GPOINTER_TO_UINT (g_hash_table_lookup (state->rows, p));

      if (first != 0)
        {
          g_snprintf (error, error_size, "%s is listed twice (rows %u and %u, counting from 1)",
                      p, first, i + 1);
          emb_state_free (state);
          return -1;
        }
      g_hash_table_insert (state->rows, p, GUINT_TO_POINTER (i + 1));
    }
  for (size_t i = 0; i < n_samples; i++)
    {
      g_hash_table_add (wanted, (gpointer) samples[i].path);
      if (!g_hash_table_contains (state->rows, samples[i].path))
        g_ptr_array_add (missing, (gpointer) samples[i].path);
    }
  if (missing->len > 0)
    {
      g_autofree char *names = name_some (missing);

      g_snprintf (error, error_size, "%u of %" G_GSIZE_FORMAT " samples have no embedding: %s",
                  missing->len, (gsize) n_samples, names);
      emb_state_free (state);
      return -1;
    }
  for (guint i = 0; i < state->matrix->files->len; i++)
    if (!g_hash_table_contains (wanted, g_ptr_array_index (state->matrix->files, i)))
      g_ptr_array_add (extra, g_ptr_array_index (state->matrix->files, i));
  if (extra->len > 0 && ctx->warn != NULL)
    {
      g_autofree char *names = name_some (extra);
      g_autofree char *message = g_strdup_printf ("%u embeddings name files that are not analysed samples "
                                                  "(ignored): %s", extra->len, names);
      ctx->warn (ctx->host_data, message);
    }
  g_snprintf (key, key_size, "embeddings-v1;sha256=%s;dim=%u", g_checksum_get_string (checksum),
              state->matrix->dim);
  *dim = (int) state->matrix->dim;
  *state_out = state;
  return 0;
}

static int
emb_extract (void *data, const CuratorPluginSample *samples, size_t n, int flip, float *out,
             char *error, size_t error_size)
{
  EmbState *state = data;
  guint dim = state->matrix->dim;

  for (size_t i = 0; i < n; i++)
    {
      guint row = GPOINTER_TO_UINT (g_hash_table_lookup (state->rows, samples[i].path));

      if (row == 0)
        {
          g_snprintf (error, error_size, "%s has no embedding", samples[i].path);
          return -1;
        }
      memcpy (out + i * dim, state->matrix->values + (gsize) (row - 1) * dim, sizeof (float) * dim);
    }
  return 0;
}

static const CuratorFeaturesTable emb_table = {
  .flags = 0,
  .side = 0,
  .open = emb_open,
  .extract = emb_extract,
  .close = emb_state_free,
};

static const CuratorPluginDescriptor emb_descriptor = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION,
  .id = "embeddings",
  .name = "embeddings computed elsewhere (.npy + file list, or CSV)",
  .version = "1.0",
  .kind = CURATOR_PLUGIN_KIND_FEATURES,
  .table.features = &emb_table,
};

CURATOR_PLUGIN_EXPORT const CuratorPluginDescriptor *
curator_plugin_describe (void)
{
  return &emb_descriptor;
}

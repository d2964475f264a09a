/* fuzz-embeddings.c: libFuzzer harness for the embeddings plugin's readers
 * (plugins/embeddings/embeddings-parse.c): every input goes through the
 * .npy reader, the CSV reader and the file-list reader, and a success must
 * keep the header's promises: a 2-D shape within the bounds, every value
 * finite, one path per CSV row. Any crash, sanitizer report or leak is a
 * finding. */

#include <math.h>
#include <string.h>

#include <glib.h>

#include "embeddings-parse.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_matrix (const EmbMatrix *m, gboolean with_files)
{
  g_assert (m->dim >= 1 && m->dim <= EMB_MAX_DIM);
  g_assert (m->n_rows * m->dim <= EMB_MAX_VALUES);
  for (guint64 i = 0; i < m->n_rows * m->dim; i++)
    g_assert (isfinite (m->values[i]));
  if (with_files)
    {
      g_assert (m->files != NULL && m->files->len == m->n_rows);
      for (guint i = 0; i < m->files->len; i++)
        {
          const char *file = g_ptr_array_index (m->files, i);
          g_assert (file != NULL && *file != '\0' && g_utf8_validate (file, -1, NULL));
        }
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(EmbMatrix) m = emb_parse_npy (data, size, &error);

    if (m != NULL)
      check_matrix (m, FALSE);
    else
      g_assert (error != NULL && error->message != NULL);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(EmbMatrix) m = emb_parse_csv ((const char *) data, size, &error);

    if (m != NULL)
      check_matrix (m, TRUE);
    else
      g_assert (error != NULL && error->message != NULL);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) files = emb_parse_file_list ((const char *) data, size, &error);

    if (files != NULL)
      for (guint i = 0; i < files->len; i++)
        g_assert (*(const char *) g_ptr_array_index (files, i) != '\0');
    else
      g_assert (error != NULL && error->message != NULL);
  }
  return 0;
}

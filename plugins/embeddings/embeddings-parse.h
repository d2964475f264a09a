/* embeddings-parse.h: reading per-sample embeddings computed elsewhere, as
 * the embeddings plugin needs them: a NumPy .npy array (N x D, C order,
 * float16/32/64 of either byte order) with a file list (one path per line),
 * or a CSV of rows file,v1,...,vD (an optional header whose second field is
 * not a number). Pure functions over buffers, so a fuzzer can drive them.
 *
 * Every value must be finite; rows must all have D values; the list must
 * have exactly N paths. Errors are CURATOR_ERROR_INVALID ("embeddings"
 * domain below when not built inside Curator) naming what is wrong and
 * where (row, line, component). Memory is bounded by EMB_MAX_VALUES. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define EMB_MAX_VALUES (((guint64) 1) << 28)   /* 1 GiB of float32 */
#define EMB_MAX_DIM    65536

#define EMB_ERROR (emb_error_quark ())
GQuark emb_error_quark (void);

typedef struct {
  guint64  n_rows;
  guint    dim;
  float   *values;   /* n_rows x dim, row-major */
  GPtrArray *files;  /* (element-type utf8) n_rows paths, or NULL (npy alone) */
} EmbMatrix;

void emb_matrix_free (EmbMatrix *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EmbMatrix, emb_matrix_free)

/* A .npy file's bytes. Files stay NULL. (transfer full) */
EmbMatrix *emb_parse_npy (const guint8 *data, gsize len, GError **error);

/* One path per line (LF or CRLF; blank lines at the end ignored; trimmed).
 * (transfer full) (element-type utf8) */
GPtrArray *emb_parse_file_list (const char *data, gsize len, GError **error);

/* A CSV of file,v1,...,vD rows. (transfer full) */
EmbMatrix *emb_parse_csv (const char *data, gsize len, GError **error);

/* "./a/b.png" -> "a/b.png", backslashes kept. (transfer full) */
char *emb_normalize_path (const char *path);

G_END_DECLS

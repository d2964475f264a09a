/* curator-manifest.h: reading a CSV manifest of a dataset.
 *
 * A manifest lists the dataset's files and their labels, one row per file,
 * paths relative to the dataset root. It is CSV as RFC 4180 describes it,
 * read the way spreadsheets and pandas write it:
 *
 * - A header row is required; columns are found by name, case-insensitively,
 *   ignoring surrounding spaces. The file column is the first present of
 *   "file", "path", "filename", "image"; the label column the first present
 *   of "label", "given_label", "class" (so the practice sets'
 *   file,given_label,true_label reads the given label); "split" is optional.
 *   Other columns are ignored. A manifest without a file column is refused.
 * - Fields may be quoted ("..."), with "" for a quote and commas and line
 *   breaks inside. Line breaks may be LF, CRLF or CR. A UTF-8 byte order mark
 *   is skipped. Blank lines are skipped.
 * - Spaces and tabs around a field are not part of it (spreadsheets and hand
 *   editing leave them); quote the field to keep them.
 * - An empty label means unlabelled; an empty split means none.
 *
 * A bad row never stops the reading: it becomes a problem with its line
 * number (a row with the wrong number of fields, an unterminated quote, a
 * path refused by curator-path.h, a path listed twice, a missing file, a
 * label that is not UTF-8 text...). Line numbers count physical lines from 1
 * (the header); a row that spans lines is numbered by its first line. After
 * an unterminated quote the reading resumes on the line after the quote.
 *
 * Memory is bounded: a manifest over CURATOR_MANIFEST_MAX_BYTES is refused
 * and a field over CURATOR_MANIFEST_MAX_FIELD_BYTES is a problem, never held. */
#pragma once

#include <glib.h>

#include "curator-error.h"

G_BEGIN_DECLS

#define CURATOR_MANIFEST_MAX_BYTES       (((gsize) 1) << 30)  /* 1 GiB */
#define CURATOR_MANIFEST_MAX_FIELD_BYTES (((gsize) 64) << 10)  /* 64 KiB */

typedef struct {
  guint  line;   /* first line of the row */
  char  *file;   /* normalized relative path (curator_path_normalize_relative) */
  char  *label;  /* NULL = unlabelled */
  char  *split;  /* NULL = none given */
} CuratorManifestEntry;

typedef struct {
  guint  line;     /* first line of the row */
  char  *message;  /* for people; names the path when there is one */
} CuratorManifestProblem;

typedef struct {
  GPtrArray *entries;       /* (element-type CuratorManifestEntry) in file order */
  GPtrArray *problems;      /* (element-type CuratorManifestProblem) in file order */
  char      *file_column;   /* header names as written (trimmed); label and split may be NULL */
  char      *label_column;
  char      *split_column;
} CuratorManifest;

void curator_manifest_entry_free   (CuratorManifestEntry   *entry);
void curator_manifest_problem_free (CuratorManifestProblem *problem);
void curator_manifest_free         (CuratorManifest        *manifest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorManifest, curator_manifest_free)

/* Parses @len bytes at @data (need not end in NUL, may contain anything).
 * With a @root, each path must also name a regular file inside it
 * (curator_path_root_resolve); with NULL the file system is not touched.
 * Errors: CURATOR_ERROR_INVALID (more than 1 GiB, no header row, a header
 * that cannot be read, no file column, the file column named twice),
 * NOT_FOUND / INVALID / IO from curator_path_root_new for @root.
 * (transfer full) */
CuratorManifest *curator_manifest_parse (const char  *data,
                                         gsize        len,
                                         const char  *root,
                                         GError     **error);

/* Reads the file at @manifest_path and parses it as above. Errors besides
 * those of curator_manifest_parse: CURATOR_ERROR_NOT_FOUND (no such file),
 * CURATOR_ERROR_IO (not a regular file, unreadable).
 * (transfer full) */
CuratorManifest *curator_manifest_read  (const char  *manifest_path,
                                         const char  *root,
                                         GError     **error);

G_END_DECLS

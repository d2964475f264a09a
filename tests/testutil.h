/* testutil.h: fixtures shared by the index and CLI tests: temporary dataset
 * trees of generated images, written with the project's own encoders. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A fresh temporary folder; tu_rmdir removes it and everything in it. */
char *tu_mkdtemp (void);
void  tu_rmdir (const char *path);

/* Writes a WxH image whose content is determined by @seed (different seeds
 * give clearly different pictures) as PNG or JPEG at ROOT/REL, creating
 * folders. */
void tu_write_png  (const char *root, const char *rel, int width, int height, guint seed);
void tu_write_jpeg (const char *root, const char *rel, int width, int height, guint seed);
/* Writes raw bytes at ROOT/REL. */
void tu_write_bytes (const char *root, const char *rel, const void *data, gsize n);

/* Runs the curator executable ($CURATOR_EXE) with @argv (NULL-terminated,
 * without the program name); returns the exit code, stores stdout/stderr. */
int  tu_run (char **out, char **err, const char *first_arg, ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS

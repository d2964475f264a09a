/* curator-error.h: the one error domain every layer reports in.
 *
 * It lives in db/ because db/ is the lowest layer: curator/, gui/ and plugins/
 * may include db/'s headers, never the other way round, and all of them share
 * this domain (STYLE.md: one domain, codes for what a caller handles). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CURATOR_ERROR (curator_error_quark ())

typedef enum {
  CURATOR_ERROR_FAILED,            /* anything a caller does not handle specially */
  CURATOR_ERROR_NOT_FOUND,         /* no such sample, class, run, file */
  CURATOR_ERROR_CORRUPT_IMAGE,     /* the file is an image of a known kind but cannot be decoded */
  CURATOR_ERROR_UNSUPPORTED_FORMAT,/* not a PNG or JPEG, or a variant we do not read */
  CURATOR_ERROR_DB_TOO_NEW,        /* project written by a newer Curator */
  CURATOR_ERROR_DB,                /* SQLite failed (disk full, I/O, corrupt project) */
  CURATOR_ERROR_BUSY,              /* another process holds the project and would not let go */
  CURATOR_ERROR_PLUGIN_ABI,        /* plugin built for another ABI */
  CURATOR_ERROR_CANCELLED,         /* the user cancelled */
  CURATOR_ERROR_IO,                /* reading or writing a file failed */
  CURATOR_ERROR_INVALID,           /* bad user input: manifest line, option value, path */
} CuratorError;

GQuark curator_error_quark (void);

G_END_DECLS

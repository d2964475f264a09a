/* curator-path.h: the one place that decides whether a path is safe.
 *
 * Paths in a project and in a manifest are relative to the dataset root. A
 * manifest is text written by people and by other tools, so its paths are
 * checked here before anything opens a file: no absolute paths, no way out
 * of the root through "..", and no symbolic link that leads out of it.
 * Names that become output path components (class names, file names in an
 * export) are made safe here too.
 *
 * Rules, and why:
 * - '\\' is read as a separator, like '/': manifests written on Windows are
 *   common and a Linux file name with a backslash in it is rare. Such a file
 *   can still be indexed from the class folders, just not named in a manifest.
 * - Paths are UTF-8 text. A manifest is a text file; a path that is not valid
 *   UTF-8 is almost always a manifest saved in another encoding, and is
 *   refused with a message that says so rather than silently not found.
 * - Control characters (U+0000..U+001F, U+007F..U+009F) are refused: they are
 *   never intended and make file names impossible to show or type.
 * - "." components and repeated or trailing separators are dropped; ".." is
 *   resolved lexically and refused when it would leave the root.
 * - "C:..." (a drive letter), "//server/share" and "scheme://..." are refused
 *   as absolute. A Linux name starting with one letter and a colon is
 *   therefore refused too; such names are rare enough to accept that.
 *
 * Checks against the file system follow symbolic links, so a link that points
 * outside the root is refused. The check and a later open are two steps: a
 * link changed in between is not detected (the dataset is the user's own). */
#pragma once

#include <glib.h>

#include "curator-error.h"

G_BEGIN_DECLS

/* Longest relative path accepted, in bytes (PATH_MAX less the NUL). */
#define CURATOR_PATH_MAX_BYTES 4095
/* Longest single component, in bytes (NAME_MAX on Linux file systems). */
#define CURATOR_PATH_MAX_COMPONENT_BYTES 255

/* Returns @path as a normalized relative path: '/' separated, no "." or ".."
 * components, no empty components, no leading or trailing '/'. Errors
 * (CURATOR_ERROR_INVALID, message for people): empty, too long, not UTF-8,
 * control character, absolute, drive letter, network path, URL, leaving the
 * root, naming the root itself, a component over 255 bytes.
 * (transfer full) */
char *curator_path_normalize_relative (const char  *path,
                                       GError     **error);

/* A dataset root, resolved once for many checks. */
typedef struct {
  char *path;       /* absolute, lexically canonical ("..", "." removed), symlinks kept */
  char *real_path;  /* realpath() of path */
} CuratorPathRoot;

/* Errors: CURATOR_ERROR_NOT_FOUND when @root does not exist, INVALID when it
 * is not a folder, IO when it cannot be read. A relative @root is taken from
 * the current directory. */
CuratorPathRoot *curator_path_root_new  (const char       *root,
                                         GError          **error);
void             curator_path_root_free (CuratorPathRoot  *root);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorPathRoot, curator_path_root_free)

/* Normalizes @relative (as above), joins it to @root and checks with
 * realpath() that what it names exists and lies inside the root once every
 * symbolic link is followed. Returns the joined path, root->path + "/" +
 * normalized (not the resolved one: a link inside the root stays a link).
 * Errors: CURATOR_ERROR_INVALID (bad path; "symlink points outside the
 * dataset root"; a symlink loop), CURATOR_ERROR_NOT_FOUND ("file not found",
 * also for a link to a missing target), CURATOR_ERROR_IO (permission denied
 * and other system errors). It does not check what kind of file it is.
 * (transfer full) */
char *curator_path_root_resolve (const CuratorPathRoot  *root,
                                 const char             *relative,
                                 GError                **error);

/* The same check for a path as it is on disk, found by walking the root's
 * folders: '/' separated and taken byte for byte. No '\\' conversion (a
 * file name may hold a backslash: converting it would check another file),
 * no UTF-8 or control-character rule, no normalization; only an empty or
 * absolute path and ".." components are refused before the file-system
 * check. Use this, not the functions above, for names read from a folder.
 * (transfer full) */
char *curator_path_root_resolve_native (const CuratorPathRoot  *root,
                                        const char             *relative,
                                        GError                **error);

/* curator_path_root_new + curator_path_root_resolve, for one path. */
char *curator_path_resolve_inside (const char  *root,
                                   const char  *relative,
                                   GError     **error);

/* Returns @name made safe as one output path component (a class folder, a
 * file name in an export): invalid UTF-8 bytes, control characters, '/' and
 * '\\' become '_'; leading dots become '_' (so never ".", ".." or a hidden
 * name); an empty name becomes "_"; the result is cut to at most @max_bytes
 * bytes (0 or more than CURATOR_PATH_MAX_COMPONENT_BYTES mean that limit) on
 * a character boundary. A safe name is returned unchanged. Different names
 * can give the same result ("a/b", "a_b"): callers that need distinct names
 * must check. Never fails. (transfer full) */
char *curator_path_sanitize_component (const char *name,
                                       gsize       max_bytes);

G_END_DECLS

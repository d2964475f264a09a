/* curator-path.c: relative-path normalization, root containment, safe names.
 *
 * Everything that turns a path from outside (a manifest line, a command-line
 * argument) into a file to open goes through here, so there is one reading
 * of what "inside the dataset root" means. The rules and their reasons are
 * in curator-path.h. */
#include "curator-config.h"

#include "curator-path.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static gboolean
unichar_is_control (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* "scheme://" with an RFC 3986 scheme of two or more characters (one letter
 * followed by ':' is a drive, reported as such). */
static gboolean
looks_like_url (const char *path)
{
  const char *p = path;

  if (!g_ascii_isalpha (*p))
    return FALSE;
  while (g_ascii_isalnum (*p) || *p == '+' || *p == '-' || *p == '.')
    p++;
  return p - path >= 2 && g_str_has_prefix (p, "://");
}

char *
curator_path_normalize_relative (const char  *path,
                                 GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gsize len = strlen (path);

  if (len == 0)
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "the path is empty");
      return NULL;
    }
  if (len > CURATOR_PATH_MAX_BYTES)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "the path is longer than %d bytes", CURATOR_PATH_MAX_BYTES);
      return NULL;
    }
  if (!g_utf8_validate_len (path, len, NULL))
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "the path is not valid UTF-8 text (save the manifest as UTF-8)");
      return NULL;
    }
  for (const char *p = path; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (unichar_is_control (c))
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "the path contains a control character (U+%04X)", c);
          return NULL;
        }
    }

  g_autofree char *work = g_strdup (path);
  for (char *p = work; *p != '\0'; p++)
    if (*p == '\\')
      *p = '/';

  if (work[0] == '/' && work[1] == '/')
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "network paths (//server/share) are not allowed; "
                           "give the path relative to the dataset root");
      return NULL;
    }
  if (work[0] == '/')
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "absolute paths are not allowed; "
                           "give the path relative to the dataset root");
      return NULL;
    }
  if (looks_like_url (work))
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "URLs are not allowed; give a file path relative to the dataset root");
      return NULL;
    }
  if (g_ascii_isalpha (work[0]) && work[1] == ':')
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "drive letters (C:) are not allowed; "
                           "give the path relative to the dataset root");
      return NULL;
    }

  /* Components are pointers into @work; ".." pops, so a path that pops an
   * empty stack would leave the root. */
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  char *component = work;

  for (;;)
    {
      char *slash = strchr (component, '/');

      if (slash != NULL)
        *slash = '\0';

      if (component[0] == '\0' || strcmp (component, ".") == 0)
        ;
      else if (strcmp (component, "..") == 0)
        {
          if (parts->len == 0)
            {
              g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                                   "the path leaves the dataset root (\"..\")");
              return NULL;
            }
          g_ptr_array_set_size (parts, parts->len - 1);
        }
      else if (strlen (component) > CURATOR_PATH_MAX_COMPONENT_BYTES)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "a path component is longer than %d bytes",
                       CURATOR_PATH_MAX_COMPONENT_BYTES);
          return NULL;
        }
      else
        g_ptr_array_add (parts, component);

      if (slash == NULL)
        break;
      component = slash + 1;
    }

  if (parts->len == 0)
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "the path names the dataset root itself, not a file");
      return NULL;
    }

  /* "x/../c:y" comes out as "c:y": refuse it as the drive path it now looks
   * like, so that a normalized path always normalizes to itself. */
  const char *first = g_ptr_array_index (parts, 0);
  if (g_ascii_isalpha (first[0]) && first[1] == ':')
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "drive letters (C:) are not allowed; "
                           "give the path relative to the dataset root");
      return NULL;
    }

  g_ptr_array_add (parts, NULL);
  return g_strjoinv ("/", (char **) parts->pdata);
}

/* ---- the file system ------------------------------------------------------ */

void
curator_path_root_free (CuratorPathRoot *root)
{
  if (root == NULL)
    return;
  g_free (root->path);
  g_free (root->real_path);
  g_free (root);
}

/* realpath() that returns a g_free-able string and the errno. */
static char *
real_path (const char *path, int *errsv)
{
  char *resolved = realpath (path, NULL);

  if (resolved == NULL)
    {
      *errsv = errno;
      return NULL;
    }
  char *copy = g_strdup (resolved);
  free (resolved);
  return copy;
}

CuratorPathRoot *
curator_path_root_new (const char  *root,
                       GError     **error)
{
  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (root[0] == '\0')
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "the dataset root is empty");
      return NULL;
    }

  g_autoptr(CuratorPathRoot) self = g_new0 (CuratorPathRoot, 1);
  int errsv = 0;

  self->path = g_canonicalize_filename (root, NULL);
  self->real_path = real_path (self->path, &errsv);
  if (self->real_path == NULL)
    {
      if (errsv == ENOENT || errsv == ENOTDIR)
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                     "dataset root not found: %s", self->path);
      else if (errsv == ELOOP)
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                     "dataset root %s: too many levels of symbolic links", self->path);
      else
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                     "dataset root %s: %s", self->path, g_strerror (errsv));
      return NULL;
    }

  struct stat st;
  if (stat (self->real_path, &st) != 0)
    {
      errsv = errno;
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                   "dataset root %s: %s", self->path, g_strerror (errsv));
      return NULL;
    }
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "dataset root %s is not a folder", self->path);
      return NULL;
    }

  return g_steal_pointer (&self);
}

static gboolean
is_inside (const char *real_root, const char *resolved)
{
  gsize n = strlen (real_root);

  /* realpath() never ends in '/' except for "/" itself. */
  if (n == 1 && real_root[0] == '/')
    return resolved[0] == '/';
  return strncmp (resolved, real_root, n) == 0 &&
         (resolved[n] == '/' || resolved[n] == '\0');
}

/* Joins @relative (already checked to stay below the root lexically) to the
 * root and checks where it leads once every link is followed. */
static char *
resolve_checked (const CuratorPathRoot  *root,
                 const char             *relative,
                 GError                **error)
{
  g_autofree char *joined = g_build_filename (root->path, relative, NULL);
  int errsv = 0;
  g_autofree char *resolved = real_path (joined, &errsv);

  if (resolved == NULL)
    {
      struct stat st;

      switch (errsv)
        {
        case ENOENT:
          if (lstat (joined, &st) == 0 && S_ISLNK (st.st_mode))
            g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                                 "file not found (a symbolic link to a missing file)");
          else
            g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                                 "file not found");
          break;
        case ENOTDIR:
          g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                               "file not found (part of the path is a file, not a folder)");
          break;
        case ELOOP:
          g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                               "too many levels of symbolic links (a symlink loop?)");
          break;
        case ENAMETOOLONG:
          g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                               "the path is too long once symbolic links are followed");
          break;
        default:
          g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_IO, g_strerror (errsv));
          break;
        }
      return NULL;
    }

  /* @relative has no "..", so only a symbolic link can lead out. */
  if (!is_inside (root->real_path, resolved))
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "symlink points outside the dataset root");
      return NULL;
    }

  return g_steal_pointer (&joined);
}

char *
curator_path_root_resolve (const CuratorPathRoot  *root,
                           const char             *relative,
                           GError                **error)
{
  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (relative != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *normalized = curator_path_normalize_relative (relative, error);
  if (normalized == NULL)
    return NULL;
  return resolve_checked (root, normalized, error);
}

char *
curator_path_root_resolve_native (const CuratorPathRoot  *root,
                                  const char             *relative,
                                  GError                **error)
{
  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (relative != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (relative[0] == '\0')
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "the path is empty");
      return NULL;
    }
  if (relative[0] == '/')
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "absolute paths are not allowed; "
                           "give the path relative to the dataset root");
      return NULL;
    }
  for (const char *component = relative;;)
    {
      if (component[0] == '.' && component[1] == '.' &&
          (component[2] == '/' || component[2] == '\0'))
        {
          g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                               "the path leaves the dataset root (\"..\")");
          return NULL;
        }
      component = strchr (component, '/');
      if (component == NULL)
        break;
      component++;
    }

  return resolve_checked (root, relative, error);
}

char *
curator_path_resolve_inside (const char  *root,
                             const char  *relative,
                             GError     **error)
{
  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (relative != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(CuratorPathRoot) resolved_root = curator_path_root_new (root, error);
  if (resolved_root == NULL)
    return NULL;
  return curator_path_root_resolve (resolved_root, relative, error);
}

/* ---- output names --------------------------------------------------------- */

char *
curator_path_sanitize_component (const char *name,
                                 gsize       max_bytes)
{
  g_return_val_if_fail (name != NULL, NULL);

  if (max_bytes == 0 || max_bytes > CURATOR_PATH_MAX_COMPONENT_BYTES)
    max_bytes = CURATOR_PATH_MAX_COMPONENT_BYTES;

  GString *out = g_string_sized_new (MIN (strlen (name), max_bytes) + 1);
  const char *p = name;
  const char *end = name + strlen (name);
  gboolean leading = TRUE;

  while (p < end)
    {
      const char *valid_end = NULL;
      char buf[8];
      gsize n_bytes;

      g_utf8_validate_len (p, end - p, &valid_end);
      if (valid_end == p)
        {
          /* An invalid byte: one '_' for it, then carry on after it. */
          buf[0] = '_';
          n_bytes = 1;
          leading = FALSE;
          p++;
        }
      else
        {
          gunichar c = g_utf8_get_char (p);
          const char *next = g_utf8_next_char (p);

          if (unichar_is_control (c) || c == '/' || c == '\\' || (leading && c == '.'))
            {
              buf[0] = '_';
              n_bytes = 1;
            }
          else
            {
              n_bytes = next - p;
              memcpy (buf, p, n_bytes);
            }
          leading = leading && c == '.';
          p = next;
        }

      if (out->len + n_bytes > max_bytes)
        break;
      g_string_append_len (out, buf, n_bytes);
    }

  if (out->len == 0)
    g_string_append_c (out, '_');

  return g_string_free (out, FALSE);
}

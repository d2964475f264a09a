/* curator-plugins.c: the plugin registry and loader, and the glue that runs
 * a feature extractor, importer or exporter for the rest of the core.
 *
 * Loading order matters for safety: the module is opened with
 * G_MODULE_BIND_LOCAL (its symbols never leak into the host's namespace or
 * another plugin's), the entry point is called, and the descriptor's first
 * field, the ABI version, is compared before any other field is read: a
 * module built for another ABI may lay out the rest differently. Only then
 * are the strings and tables checked and init called. */
#include "curator-config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "curator-error.h"
#include "curator-manifest.h"
#include "curator-plugins.h"

#ifndef CURATOR_PLUGIN_DIR
#error "CURATOR_PLUGIN_DIR must be set by the build (curator-config.h)"
#endif

/* Features per extract() call: bounds the pictures held at once. */
#define EXTRACT_CHUNK 1024

struct _CuratorPluginRegistry {
  GPtrArray *plugins;   /* CuratorPlugin */
  GPtrArray *problems;  /* CuratorPluginProblem */
};

static void
plugin_free (gpointer data)
{
  CuratorPlugin *plugin = data;

  g_free (plugin->origin);
  /* Modules stay mapped: a pointer into one (a descriptor string, a table)
   * may still be held by whoever asked the registry. */
  if (plugin->module != NULL)
    g_module_make_resident (plugin->module);
  g_clear_pointer (&plugin->module, g_module_close);
  g_free (plugin);
}

static void
problem_free (gpointer data)
{
  CuratorPluginProblem *problem = data;

  g_free (problem->path);
  g_free (problem->message);
  g_free (problem);
}

const char *
curator_plugin_kind_to_string (CuratorPluginKind kind)
{
  switch (kind)
    {
    case CURATOR_PLUGIN_KIND_FEATURES: return "features";
    case CURATOR_PLUGIN_KIND_IMPORTER: return "importer";
    case CURATOR_PLUGIN_KIND_EXPORTER: return "exporter";
    default: return "unknown";
    }
}

void
curator_plugin_split_spec (const char *spec, char **id_out, char **arg_out)
{
  const char *colon = strchr (spec, ':');

  *id_out = colon != NULL ? g_strndup (spec, colon - spec) : g_strdup (spec);
  *arg_out = colon != NULL ? g_strdup (colon + 1) : NULL;
}

static gboolean
valid_id (const char *id)
{
  if (id == NULL || *id == '\0' || strlen (id) > 64)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-' || *p == '_'))
      return FALSE;
  return TRUE;
}

static gboolean
valid_text (const char *text)
{
  return text != NULL && *text != '\0' && strlen (text) < 256 && g_utf8_validate (text, -1, NULL);
}

/* Everything but the ABI version, which the caller checked first. */
static gboolean
descriptor_check (const CuratorPluginDescriptor *d, GError **error)
{
  const char *what = NULL;

  if (!valid_id (d->id))
    what = "an id that is not [a-z0-9_-]+ (at most 64 characters)";
  else if (!valid_text (d->name))
    what = "no name";
  else if (!valid_text (d->version))
    what = "no version";
  else
    switch (d->kind)
      {
      case CURATOR_PLUGIN_KIND_FEATURES:
        if (d->table.features == NULL || d->table.features->open == NULL ||
            d->table.features->extract == NULL)
          what = "a feature table without open or extract";
        else if (d->table.features->side < 0 || d->table.features->side > 256)
          what = "a picture side outside 0..256";
        break;
      case CURATOR_PLUGIN_KIND_IMPORTER:
        if (d->table.importer == NULL || d->table.importer->list == NULL)
          what = "an importer table without list";
        break;
      case CURATOR_PLUGIN_KIND_EXPORTER:
        if (d->table.exporter == NULL || d->table.exporter->write == NULL)
          what = "an exporter table without write";
        break;
      default:
        what = "an unknown kind";
        break;
      }
  if (what != NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "The plugin describes itself with %s", what);
      return FALSE;
    }
  return TRUE;
}

static const CuratorPlugin *
registry_add (CuratorPluginRegistry *registry, const CuratorPluginDescriptor *d,
              const char *origin, GModule *module, GError **error)
{
  CuratorPlugin *plugin;
  const CuratorPlugin *taken;

  if (!descriptor_check (d, error))
    return NULL;
  taken = curator_plugin_registry_find (registry, d->kind, d->id);
  if (taken != NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "A %s plugin called \"%s\" is already provided by %s", curator_plugin_kind_to_string (d->kind),
                   d->id, taken->origin);
      return NULL;
    }
  if (d->init != NULL)
    {
      char message[CURATOR_PLUGIN_MESSAGE_MAX] = "";

      if (d->init (message, sizeof message) != 0)
        {
          message[sizeof message - 1] = '\0';
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_FAILED, "Plugin \"%s\" failed to start: %s",
                       d->id, *message != '\0' ? message : "no reason given");
          return NULL;
        }
    }
  plugin = g_new0 (CuratorPlugin, 1);
  plugin->descriptor = d;
  plugin->origin = g_strdup (origin);
  plugin->module = module;
  g_ptr_array_add (registry->plugins, plugin);
  return plugin;
}

CuratorPluginRegistry *
curator_plugin_registry_new (void)
{
  static const CuratorPluginDescriptor *const builtins[] = {
    &_curator_builtin_patch,
    &_curator_builtin_colorhog,
    &_curator_builtin_import_imagefolder,
    &_curator_builtin_import_csv,
    &_curator_builtin_export_imagefolder,
    &_curator_builtin_export_csv,
    &_curator_builtin_export_jsonl,
  };
  CuratorPluginRegistry *registry = g_new0 (CuratorPluginRegistry, 1);

  registry->plugins = g_ptr_array_new_with_free_func (plugin_free);
  registry->problems = g_ptr_array_new_with_free_func (problem_free);
  for (gsize i = 0; i < G_N_ELEMENTS (builtins); i++)
    {
      g_autoptr(GError) error = NULL;

      /* A built-in that does not register is a bug in this program. */
      if (registry_add (registry, builtins[i], "built-in", NULL, &error) == NULL)
        g_error ("Built-in plugin %s: %s", builtins[i]->id, error->message);
    }
  return registry;
}

void
curator_plugin_registry_free (CuratorPluginRegistry *registry)
{
  if (registry == NULL)
    return;
  g_ptr_array_unref (registry->plugins);
  g_ptr_array_unref (registry->problems);
  g_free (registry);
}

const CuratorPlugin *
curator_plugin_registry_load_file (CuratorPluginRegistry *registry,
                                   const char            *path,
                                   GError               **error)
{
  g_autofree char *abs = NULL;
  GModule *module;
  gpointer symbol = NULL;
  const CuratorPluginDescriptor *d;
  const CuratorPlugin *plugin;

  g_return_val_if_fail (registry != NULL && path != NULL, NULL);

  abs = g_canonicalize_filename (path, NULL);
  module = g_module_open (abs, G_MODULE_BIND_LOCAL | G_MODULE_BIND_LAZY);
  if (module == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "Cannot load the plugin %s: %s",
                   abs, g_module_error ());
      return NULL;
    }
  if (!g_module_symbol (module, CURATOR_PLUGIN_ENTRY, &symbol) || symbol == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s is not a Curator plugin: it has no %s() entry point", abs, CURATOR_PLUGIN_ENTRY);
      g_module_close (module);
      return NULL;
    }
  d = ((CuratorPluginDescribeFunc) symbol) ();
  if (d == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "%s: %s() returned nothing",
                   abs, CURATOR_PLUGIN_ENTRY);
      g_module_close (module);
      return NULL;
    }
  /* The version first: nothing else in a foreign layout can be trusted. */
  if (d->abi_version != CURATOR_PLUGIN_ABI_VERSION)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_PLUGIN_ABI,
                   "%s was built for plugin ABI %u but this Curator speaks ABI %u; "
                   "rebuild the plugin against this version's curator-plugin.h",
                   abs, d->abi_version, CURATOR_PLUGIN_ABI_VERSION);
      g_module_close (module);
      return NULL;
    }
  plugin = registry_add (registry, d, abs, module, error);
  if (plugin == NULL)
    {
      g_prefix_error (error, "%s: ", abs);
      g_module_close (module);
    }
  return plugin;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

void
curator_plugin_registry_load_dir (CuratorPluginRegistry *registry,
                                  const char            *dir)
{
  g_autoptr(GDir) handle = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_return_if_fail (registry != NULL && dir != NULL);

  handle = g_dir_open (dir, 0, NULL);
  if (handle == NULL)
    return;
  while ((name = g_dir_read_name (handle)) != NULL)
    if (g_str_has_suffix (name, "." G_MODULE_SUFFIX))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      g_autoptr(GError) error = NULL;

      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      if (curator_plugin_registry_load_file (registry, path, &error) == NULL)
        {
          CuratorPluginProblem *problem = g_new0 (CuratorPluginProblem, 1);

          problem->path = g_canonicalize_filename (path, NULL);
          problem->message = g_strdup (error->message);
          g_ptr_array_add (registry->problems, problem);
        }
    }
}

GStrv
curator_plugin_search_path (void)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *env = g_getenv ("CURATOR_PLUGIN_PATH");

  if (env != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);

      for (char **p = parts; *p != NULL; p++)
        if (**p != '\0')
          {
            g_autofree char *dir = g_canonicalize_filename (*p, NULL);

            /* A folder named twice is searched once. */
            if (g_hash_table_add (seen, g_strdup (dir)))
              g_strv_builder_add (builder, dir);
          }
    }
  if (!g_hash_table_contains (seen, CURATOR_PLUGIN_DIR))
    g_strv_builder_add (builder, CURATOR_PLUGIN_DIR);
  return g_strv_builder_end (builder);
}

void
curator_plugin_registry_load_default (CuratorPluginRegistry *registry)
{
  g_auto(GStrv) dirs = curator_plugin_search_path ();

  for (char **d = dirs; *d != NULL; d++)
    curator_plugin_registry_load_dir (registry, *d);
}

CuratorPluginRegistry *
curator_plugins_get_default (void)
{
  static CuratorPluginRegistry *registry;

  if (g_once_init_enter (&registry))
    {
      CuratorPluginRegistry *r = curator_plugin_registry_new ();

      curator_plugin_registry_load_default (r);
      g_once_init_leave (&registry, r);
    }
  return registry;
}

GPtrArray *
curator_plugin_registry_get_plugins (CuratorPluginRegistry *registry)
{
  return registry->plugins;
}

GPtrArray *
curator_plugin_registry_get_problems (CuratorPluginRegistry *registry)
{
  return registry->problems;
}

const CuratorPlugin *
curator_plugin_registry_find (CuratorPluginRegistry *registry,
                              CuratorPluginKind      kind,
                              const char            *id)
{
  for (guint i = 0; i < registry->plugins->len; i++)
    {
      const CuratorPlugin *p = g_ptr_array_index (registry->plugins, i);

      if (p->descriptor->kind == kind && g_strcmp0 (p->descriptor->id, id) == 0)
        return p;
    }
  return NULL;
}

/* ---- the host side of CuratorPluginContext --------------------------------- */

typedef struct {
  CuratorDb *db;
  GPtrArray *warnings;  /* char *, or NULL: to the log */
  const char *plugin_id;
  gconstpointer builtin_data;  /* for a built-in only */
  gboolean unprefixed;         /* warnings without the plugin's id (a built-in importer) */
} Host;

/* A built-in's GError, kept between its failing return and the host's
 * reading of it (_curator_plugin_builtin_fail). Per thread: plugins run on
 * whatever thread calls them. */
static GPrivate builtin_error = G_PRIVATE_INIT ((GDestroyNotify) g_error_free);

int
_curator_plugin_builtin_fail (GError *error, char *message, size_t message_size)
{
  g_return_val_if_fail (error != NULL, -1);

  g_strlcpy (message, error->message, message_size);
  g_private_replace (&builtin_error, error);
  return -1;
}

static void
host_warn (void *host_data, const char *message)
{
  Host *host = host_data;

  if (message == NULL)
    return;
  /* A built-in's messages are Curator's own: no name in front. */
  if (host->warnings != NULL && host->unprefixed)
    g_ptr_array_add (host->warnings, g_strdup (message));
  else if (host->warnings != NULL)
    g_ptr_array_add (host->warnings, g_strdup_printf ("%s: %s", host->plugin_id, message));
  else
    g_warning ("%s: %s", host->plugin_id, message);
}

static char *
host_blob_key (Host *host, const char *key)
{
  return g_strconcat ("plugin:", host->plugin_id, ":", key, NULL);
}

static void *
host_blob_get (void *host_data, const char *key, size_t *size)
{
  Host *host = host_data;
  g_autofree char *full = host_blob_key (host, key);
  g_autoptr(GBytes) blob = host->db != NULL ? curator_db_get_model (host->db, full, NULL, NULL) : NULL;
  gsize n = 0;
  const void *data;
  void *copy;

  if (blob == NULL)
    return NULL;
  data = g_bytes_get_data (blob, &n);
  /* malloc, not g_malloc: the plugin frees it with free(). */
  copy = malloc (MAX (n, 1));
  if (copy == NULL)
    return NULL;
  if (n > 0)
    memcpy (copy, data, n);
  *size = n;
  return copy;
}

static int
host_blob_put (void *host_data, const char *key, const void *data, size_t size)
{
  Host *host = host_data;
  g_autofree char *full = host_blob_key (host, key);
  g_autoptr(GBytes) blob = g_bytes_new (data, size);

  if (host->db == NULL)
    return -1;
  return curator_db_put_model (host->db, full, blob, NULL) ? 0 : -1;
}

gconstpointer
_curator_plugin_context_peek_builtin_data (const CuratorPluginContext *ctx)
{
  /* Only a context made by context_init carries host_warn. */
  if (ctx == NULL || ctx->warn != host_warn || ctx->host_data == NULL)
    return NULL;
  return ((const Host *) ctx->host_data)->builtin_data;
}

static void
context_init (CuratorPluginContext *ctx, Host *host, const char *root)
{
  /* Nothing stale from an earlier call may pass for this one's error. */
  g_private_replace (&builtin_error, NULL);
  *ctx = (CuratorPluginContext) {
    .root = root,
    .host_data = host,
    .warn = host_warn,
    .blob_get = host->db != NULL ? host_blob_get : NULL,
    .blob_put = host->db != NULL ? host_blob_put : NULL,
  };
}

static void
plugin_set_error (GError **error, const CuratorPlugin *plugin, char *message)
{
  if (plugin->module == NULL)
    {
      GError *own = g_private_get (&builtin_error);

      if (own != NULL)
        {
          /* g_private_set does not free the old value: it moves to @error. */
          g_private_set (&builtin_error, NULL);
          g_propagate_error (error, own);
          return;
        }
    }
  message[CURATOR_PLUGIN_MESSAGE_MAX - 1] = '\0';
  g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_FAILED, "%s: %s", plugin->descriptor->id,
               *message != '\0' ? message : "failed without saying why");
}

/* ---- features -------------------------------------------------------------- */

void
curator_plugin_features_report_clear (CuratorPluginFeaturesReport *report)
{
  g_clear_pointer (&report->cache_key, g_free);
  g_clear_pointer (&report->warnings, g_ptr_array_unref);
}

/* Rows from the cache where the blob is exactly dim floats; the others'
 * positions go to @missing. */
static void
features_from_cache (CuratorDb *db, GPtrArray *samples, const char *key, int dim, float *out,
                     GArray *missing)
{
  for (guint i = 0; i < samples->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, i);
      g_autoptr(GBytes) blob = db != NULL ? curator_db_get_features (db, key, s->pixel_hash) : NULL;
      gsize n = 0;
      const void *data = blob != NULL ? g_bytes_get_data (blob, &n) : NULL;

      if (data == NULL || n != sizeof (float) * dim)
        g_array_append_val (missing, i);
      else
        memcpy (out + (gsize) i * dim, data, n);
    }
}

static gboolean
check_finite (const CuratorPlugin *plugin, const float *row, int dim, const char *path, GError **error)
{
  for (int d = 0; d < dim; d++)
    if (!isfinite (row[d]))
      {
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                     "%s gave a value that is not a finite number for %s (component %d)",
                     plugin->descriptor->id, path, d);
        return FALSE;
      }
  return TRUE;
}

gboolean
curator_plugin_features_compute (CuratorPluginRegistry       *registry,
                                 CuratorDb                   *db,
                                 const char                  *spec,
                                 GPtrArray                   *samples,
                                 int                          side,
                                 gboolean                     want_flip,
                                 CuratorPluginPicturesFunc    load,
                                 gpointer                     load_data,
                                 float                      **x_out,
                                 float                      **x_flip_out,
                                 CuratorPluginFeaturesReport *report,
                                 GCancellable                *cancellable,
                                 GError                     **error)
{
  g_autofree char *id = NULL;
  g_autofree char *arg = NULL;
  g_autofree char *root = db != NULL ? curator_db_dup_setting (db, "root") : NULL;
  g_autofree CuratorPluginSample *views = NULL;
  g_autofree guint8 *pixels = NULL;
  g_autofree float *x = NULL;
  g_autofree float *x_flip = NULL;
  g_autofree char *flip_key = NULL;
  g_autoptr(GArray) missing = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) missing_flip = g_array_new (FALSE, FALSE, sizeof (guint));
  char key[1024] = "";
  char message[CURATOR_PLUGIN_MESSAGE_MAX] = "";
  const CuratorPlugin *plugin;
  const CuratorFeaturesTable *table;
  CuratorPluginContext ctx;
  Host host = { db, NULL, NULL, NULL, FALSE };
  void *state = NULL;
  int dim = 0;
  gsize n = samples->len, frame;
  gboolean ok = FALSE, needs_pixels;

  g_return_val_if_fail (spec != NULL && samples != NULL && x_out != NULL && report != NULL, FALSE);
  memset (report, 0, sizeof *report);
  report->warnings = g_ptr_array_new_with_free_func (g_free);
  host.warnings = report->warnings;

  if (registry == NULL)
    registry = curator_plugins_get_default ();
  curator_plugin_split_spec (spec, &id, &arg);
  plugin = curator_plugin_registry_find (registry, CURATOR_PLUGIN_KIND_FEATURES, id);
  if (plugin == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                   "No feature extractor called \"%s\" (see `curator plugins`)", id);
      return FALSE;
    }
  table = plugin->descriptor->table.features;
  host.plugin_id = plugin->descriptor->id;
  context_init (&ctx, &host, root);
  if (table->side > 0)
    side = table->side;
  needs_pixels = (table->flags & (CURATOR_FEATURES_NEEDS_PIXELS | CURATOR_FEATURES_NEEDS_ALL_PIXELS)) != 0;
  want_flip = want_flip && (table->flags & CURATOR_FEATURES_FLIP) != 0;
  frame = (gsize) side * side * 3;

  views = g_new0 (CuratorPluginSample, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (samples, i);

      views[i].path = s->path;
      views[i].pixel_hash = s->pixel_hash;
    }
  if (needs_pixels)
    {
      if (load == NULL)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "%s needs the pictures, which are not available here", id);
          return FALSE;
        }
      pixels = g_try_malloc0 (frame * MAX (n, 1));
      if (pixels == NULL)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_FAILED,
                       "Out of memory for %" G_GSIZE_FORMAT " pictures", n);
          return FALSE;
        }
    }
  if (table->flags & CURATOR_FEATURES_NEEDS_ALL_PIXELS)
    {
      g_autofree guint *all = g_new (guint, MAX (n, 1));

      for (gsize i = 0; i < n; i++)
        {
          all[i] = i;
          views[i].rgb = pixels + frame * i;
        }
      if (!load (load_data, all, n, side, pixels, cancellable, error))
        return FALSE;
    }

  if (table->open (&ctx, arg, views, n, side, &state, &dim, key, sizeof key, message, sizeof message) != 0)
    {
      plugin_set_error (error, plugin, message);
      return FALSE;
    }
  key[sizeof key - 1] = '\0';
  if (dim < 1 || dim > (1 << 20) || *key == '\0')
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_FAILED,
                   "%s opened with %d dimensions and %s key", id, dim, *key != '\0' ? "a" : "no");
      goto out;
    }
  report->dim = dim;
  report->cache_key = g_strdup_printf ("plugin:%s:%s;f32", id, key);
  flip_key = g_strconcat (report->cache_key, ";flip", NULL);
  x = g_try_malloc (sizeof (float) * dim * MAX (n, 1));
  x_flip = want_flip ? g_try_malloc (sizeof (float) * dim * MAX (n, 1)) : NULL;
  if (x == NULL || (want_flip && x_flip == NULL))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_FAILED,
                   "Out of memory for %" G_GSIZE_FORMAT " x %d features", n, dim);
      goto out;
    }
  features_from_cache (db, samples, report->cache_key, dim, x, missing);
  if (x_flip != NULL)
    features_from_cache (db, samples, flip_key, dim, x_flip, missing_flip);
  report->n_cached = n - missing->len;
  report->n_computed = missing->len;

  for (int variant = 0; variant < 2; variant++)
    {
      GArray *list = variant == 0 ? missing : missing_flip;
      float *dest = variant == 0 ? x : x_flip;
      const char *cache_key = variant == 0 ? report->cache_key : flip_key;

      if (dest == NULL)
        continue;
      for (guint start = 0; start < list->len; start += EXTRACT_CHUNK)
        {
          gsize m = MIN (EXTRACT_CHUNK, list->len - start);
          const guint *rows = &g_array_index (list, guint, start);
          g_autofree CuratorPluginSample *batch = g_new (CuratorPluginSample, m);
          g_autofree float *out_rows = g_new (float, m * dim);

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto out;
          if (needs_pixels && !(table->flags & CURATOR_FEATURES_NEEDS_ALL_PIXELS) &&
              !load (load_data, rows, m, side, pixels, cancellable, error))
            goto out;
          for (gsize j = 0; j < m; j++)
            {
              batch[j] = views[rows[j]];
              batch[j].rgb = needs_pixels ? pixels + frame * rows[j] : NULL;
            }
          if (table->extract (state, batch, m, variant, out_rows, message, sizeof message) != 0)
            {
              plugin_set_error (error, plugin, message);
              goto out;
            }
          if (db != NULL && !curator_db_begin (db, error))
            goto out;
          for (gsize j = 0; j < m; j++)
            {
              CuratorDbSample *s = g_ptr_array_index (samples, rows[j]);
              float *row = out_rows + j * dim;
              g_autoptr(GBytes) blob = NULL;

              if (!check_finite (plugin, row, dim, s->path, error))
                {
                  if (db != NULL)
                    curator_db_rollback (db);
                  goto out;
                }
              memcpy (dest + (gsize) rows[j] * dim, row, sizeof (float) * dim);
              blob = g_bytes_new (row, sizeof (float) * dim);
              if (db != NULL && !curator_db_put_features (db, cache_key, s->pixel_hash, blob, error))
                {
                  curator_db_rollback (db);
                  goto out;
                }
            }
          if (db != NULL && !curator_db_commit (db, error))
            goto out;
        }
    }
  report->flip = x_flip != NULL;
  *x_out = g_steal_pointer (&x);
  if (x_flip_out != NULL)
    *x_flip_out = g_steal_pointer (&x_flip);
  ok = TRUE;

out:
  if (table->close != NULL)
    table->close (state);
  return ok;
}

/* ---- importers ------------------------------------------------------------ */

static void
import_entry_free (gpointer data)
{
  CuratorPluginImportEntry *e = data;

  g_free (e->path);
  g_free (e->label);
  g_free (e->split);
  g_free (e);
}

static int
import_emit (void *emit_data, const char *path, const char *label, const char *split)
{
  GPtrArray *entries = emit_data;
  CuratorPluginImportEntry *e;

  if (path == NULL)
    return 0;
  e = g_new0 (CuratorPluginImportEntry, 1);
  e->path = g_strdup (path);
  e->label = label != NULL && *label != '\0' ? g_strdup (label) : NULL;
  e->split = split != NULL && *split != '\0' ? g_strdup (split) : NULL;
  g_ptr_array_add (entries, e);
  return 0;
}

gboolean
curator_plugin_import_each (CuratorPluginRegistry *registry,
                            const char            *spec,
                            const char            *root,
                            CuratorImportEmit      emit,
                            void                  *emit_data,
                            GPtrArray             *problems,
                            GError               **error)
{
  g_autofree char *id = NULL;
  g_autofree char *arg = NULL;
  char message[CURATOR_PLUGIN_MESSAGE_MAX] = "";
  const CuratorPlugin *plugin;
  CuratorPluginContext ctx;
  Host host = { NULL, problems, NULL, NULL, FALSE };

  g_return_val_if_fail (spec != NULL && emit != NULL, FALSE);

  if (registry == NULL)
    registry = curator_plugins_get_default ();
  curator_plugin_split_spec (spec, &id, &arg);
  plugin = curator_plugin_registry_find (registry, CURATOR_PLUGIN_KIND_IMPORTER, id);
  if (plugin == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                   "No importer called \"%s\" (see `curator plugins`)", id);
      return FALSE;
    }
  host.plugin_id = plugin->descriptor->id;
  host.unprefixed = plugin->module == NULL;
  context_init (&ctx, &host, root);
  if (plugin->descriptor->table.importer->list (&ctx, arg, emit, emit_data, message, sizeof message) != 0)
    {
      plugin_set_error (error, plugin, message);
      return FALSE;
    }
  return TRUE;
}

GPtrArray *
curator_plugin_import (CuratorPluginRegistry *registry,
                       const char            *spec,
                       const char            *root,
                       GPtrArray             *problems,
                       GError               **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (import_entry_free);

  if (!curator_plugin_import_each (registry, spec, root, import_emit, entries, problems, error))
    return NULL;
  return g_steal_pointer (&entries);
}

/* A CSV field, quoted when it has to be. */
static void
csv_field (GString *out, const char *value)
{
  if (value == NULL)
    return;
  if (strpbrk (value, ",\"\r\n") == NULL && value[0] != ' ' && value[0] != '\t')
    {
      g_string_append (out, value);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

gboolean
curator_plugin_import_write_manifest (GPtrArray   *entries,
                                      const char  *path,
                                      GError     **error)
{
  g_autoptr(GString) out = g_string_new ("file,label,split\n");
  g_autoptr(GError) local = NULL;

  for (guint i = 0; i < entries->len; i++)
    {
      CuratorPluginImportEntry *e = g_ptr_array_index (entries, i);

      csv_field (out, e->path);
      g_string_append_c (out, ',');
      csv_field (out, e->label);
      g_string_append_c (out, ',');
      csv_field (out, e->split);
      g_string_append_c (out, '\n');
    }
  if (!g_file_set_contents (path, out->str, out->len, &local))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- exporters ------------------------------------------------------------ */

gboolean
curator_plugin_export (CuratorPluginRegistry     *registry,
                       const char                *id,
                       const char                *root,
                       const char                *out_dir,
                       const CuratorExportRecord *records,
                       gsize                      n_records,
                       gconstpointer              builtin_data,
                       GError                   **error)
{
  char message[CURATOR_PLUGIN_MESSAGE_MAX] = "";
  const CuratorPlugin *plugin;
  CuratorPluginContext ctx;
  Host host = { NULL, NULL, NULL, NULL, FALSE };

  if (registry == NULL)
    registry = curator_plugins_get_default ();
  plugin = curator_plugin_registry_find (registry, CURATOR_PLUGIN_KIND_EXPORTER, id);
  if (plugin == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                   "No exporter called \"%s\" (see `curator plugins`)", id);
      return FALSE;
    }
  host.plugin_id = plugin->descriptor->id;
  host.builtin_data = plugin->module == NULL ? builtin_data : NULL;
  context_init (&ctx, &host, root);
  if (plugin->descriptor->table.exporter->write (&ctx, out_dir, records, n_records, message, sizeof message) != 0)
    {
      plugin_set_error (error, plugin, message);
      return FALSE;
    }
  return TRUE;
}

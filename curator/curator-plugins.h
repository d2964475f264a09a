/* curator-plugins.h: the plugin registry: built-in extractors, importers and
 * exporters, and the modules found on disk, all behind the one ABI of
 * curator-plugin.h.
 *
 * Modules are looked for in every folder of $CURATOR_PLUGIN_PATH (colon
 * separated, searched first) and then in the install's plugin folder
 * (CURATOR_PLUGIN_DIR, libdir/curator/plugins). A module that cannot be
 * loaded, has no entry point, was built for another ABI, describes itself
 * badly, repeats an id already registered or fails its init is not
 * registered: it becomes a problem with its path and the reason, and the
 * others load as usual. Built-ins are registered first, so a module cannot
 * replace one. */
#pragma once

#include <gio/gio.h>
#include <gmodule.h>

#include "curator-db.h"
#include "curator-plugin.h"
#include "curator-progress.h"

G_BEGIN_DECLS

typedef struct {
  const CuratorPluginDescriptor *descriptor;  /* borrowed from the module (or static) */
  char                          *origin;      /* "built-in" or the module's absolute path */
  GModule                       *module;      /* NULL for a built-in */
} CuratorPlugin;

typedef struct {
  char *path;     /* the module file */
  char *message;  /* why it was not registered, for people */
} CuratorPluginProblem;

typedef struct _CuratorPluginRegistry CuratorPluginRegistry;

/* A registry holding the built-ins only. (transfer full) */
CuratorPluginRegistry *curator_plugin_registry_new  (void);
void                   curator_plugin_registry_free (CuratorPluginRegistry *registry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorPluginRegistry, curator_plugin_registry_free)

/* Loads one module and registers what it describes. Errors:
 * CURATOR_ERROR_PLUGIN_ABI (built for another ABI: nothing in it is called
 * but the entry point), CURATOR_ERROR_INVALID (not a module, no entry
 * point, a bad descriptor, an id already taken), CURATOR_ERROR_FAILED (its
 * init failed; the message is the plugin's). On error the module is closed
 * again and nothing is registered. (transfer none) */
const CuratorPlugin *curator_plugin_registry_load_file (CuratorPluginRegistry *registry,
                                                        const char            *path,
                                                        GError               **error);

/* Loads every module (*.so) of @dir in name order; failures become problems.
 * A missing folder is not a problem. */
void curator_plugin_registry_load_dir (CuratorPluginRegistry *registry,
                                       const char            *dir);

/* The folders searched: $CURATOR_PLUGIN_PATH's, then CURATOR_PLUGIN_DIR.
 * (transfer full) */
GStrv curator_plugin_search_path (void);

/* curator_plugin_registry_load_dir over curator_plugin_search_path(). */
void curator_plugin_registry_load_default (CuratorPluginRegistry *registry);

/* The process-wide registry: built-ins plus the search path, loaded on the
 * first call (thread-safe) and kept for the life of the process, since a
 * module's code must outlive every use of it. (transfer none) */
CuratorPluginRegistry *curator_plugins_get_default (void);

/* (element-type CuratorPlugin) in registration order. (transfer none) */
GPtrArray *curator_plugin_registry_get_plugins  (CuratorPluginRegistry *registry);
/* (element-type CuratorPluginProblem) (transfer none) */
GPtrArray *curator_plugin_registry_get_problems (CuratorPluginRegistry *registry);

/* The plugin of @kind called @id, or NULL. (transfer none) */
const CuratorPlugin *curator_plugin_registry_find (CuratorPluginRegistry *registry,
                                                   CuratorPluginKind      kind,
                                                   const char            *id);

/* "features", "importer", "exporter". */
const char *curator_plugin_kind_to_string (CuratorPluginKind kind);

/* Splits "NAME" or "NAME:ARG" (ARG may contain ':'). */
void curator_plugin_split_spec (const char *spec, char **id_out, char **arg_out);

/* ---- features through a plugin ------------------------------------------- */

/* Fills @pixels + side*side*3 * which[j] with the picture of sample which[j]
 * for every j, as analysis loads them. */
typedef gboolean (*CuratorPluginPicturesFunc) (gpointer      data,
                                               const guint  *which,
                                               gsize         n_which,
                                               int           side,
                                               guint8       *pixels,
                                               GCancellable *cancellable,
                                               GError      **error);

typedef struct {
  int    dim;         /* values per sample */
  char  *cache_key;   /* the feature-cache key used (transfer full) */
  gsize  n_cached;    /* samples whose features came from the cache */
  gsize  n_computed;  /* samples the extractor computed */
  gboolean flip;      /* *x_flip_out was filled */
  GPtrArray *warnings;/* (element-type utf8) what the extractor told the user, e.g.
                       * vectors for files that are not samples (transfer full) */
} CuratorPluginFeaturesReport;

void curator_plugin_features_report_clear (CuratorPluginFeaturesReport *report);

/* Features of every sample of @samples (CuratorDbSample *) from the
 * extractor named by @spec ("NAME" or "NAME:ARG", registry @registry or the
 * default one when NULL): taken from the project's feature cache when
 * present under the extractor's key, computed and stored otherwise (float32,
 * exact). *x_out gets n x dim floats, row i for sample i; *x_flip_out
 * (when @want_flip and the extractor can mirror; else NULL) those of the
 * mirrored pictures. @side is the picture side when the extractor does not
 * name one. Errors: NOT_FOUND (no such extractor), the extractor's own
 * failure as FAILED/INVALID with its message, CANCELLED. */
gboolean curator_plugin_features_compute (CuratorPluginRegistry       *registry,
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
                                          GError                     **error);

/* ---- importers and exporters through a plugin ------------------------------ */

typedef struct {
  char *path;   /* relative to the root, as the importer gave it */
  char *label;  /* NULL = unlabelled */
  char *split;  /* NULL = none */
} CuratorPluginImportEntry;

/* Runs the importer named by @spec ("NAME" or "NAME:ARG") on @root, calling
 * @emit for every file as the importer finds it (a nonzero return from @emit
 * stops the listing: the importer returns early, this returns TRUE); its
 * warnings are appended to @problems (char *). Errors: NOT_FOUND (no such
 * importer), the importer's failure (a built-in's own error code, FAILED
 * for a module). */
gboolean curator_plugin_import_each (CuratorPluginRegistry *registry,
                                     const char            *spec,
                                     const char            *root,
                                     CuratorImportEmit      emit,
                                     void                  *emit_data,
                                     GPtrArray             *problems,
                                     GError               **error);

/* curator_plugin_import_each collecting the listing: (element-type
 * CuratorPluginImportEntry) in the importer's order. (transfer full) */
GPtrArray *curator_plugin_import (CuratorPluginRegistry *registry,
                                  const char            *spec,
                                  const char            *root,
                                  GPtrArray             *problems,
                                  GError               **error);

/* Writes a CSV manifest (file,label,split) of @entries to @path, which
 * curator_index_run reads with options.manifest: how an importer's listing
 * reaches the indexer. */
gboolean curator_plugin_import_write_manifest (GPtrArray   *entries,
                                               const char  *path,
                                               GError     **error);

/* Runs the exporter called @id over @records in @out_dir. @builtin_data is
 * handed to a built-in exporter only (see
 * _curator_plugin_context_peek_builtin_data); a module never sees it. */
gboolean curator_plugin_export (CuratorPluginRegistry     *registry,
                                const char                *id,
                                const char                *root,
                                const char                *out_dir,
                                const CuratorExportRecord *records,
                                gsize                      n_records,
                                gconstpointer              builtin_data,
                                GError                   **error);

/* ---- built-ins (curator-builtin-*.c) --------------------------------------- */

extern const CuratorPluginDescriptor _curator_builtin_patch;
extern const CuratorPluginDescriptor _curator_builtin_colorhog;
extern const CuratorPluginDescriptor _curator_builtin_import_imagefolder;
extern const CuratorPluginDescriptor _curator_builtin_import_csv;
extern const CuratorPluginDescriptor _curator_builtin_export_imagefolder;
extern const CuratorPluginDescriptor _curator_builtin_export_csv;
extern const CuratorPluginDescriptor _curator_builtin_export_jsonl;

/* What the core passed with the call (curator_plugin_export's
 * @builtin_data) when @ctx is one this host made for a built-in; NULL
 * otherwise. The built-in export layouts need the whole plan (split folder
 * names, the files mode), which the records alone do not carry. */
gconstpointer _curator_plugin_context_peek_builtin_data (const CuratorPluginContext *ctx);

/* How a built-in fails without losing its error code: keeps @error
 * (transfer full) for the host of this thread, copies its message to
 * @message and returns -1, the value to return from the table function.
 * The host then passes the error on as it was, code included. */
int _curator_plugin_builtin_fail (GError *error, char *message, size_t message_size);

G_END_DECLS

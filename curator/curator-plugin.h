/* curator-plugin.h: the one header a Curator plugin includes.
 *
 * A plugin is a shared module (GModule) that exports exactly one symbol,
 * curator_plugin_describe (CURATOR_PLUGIN_ENTRY), returning a pointer to a
 * static CuratorPluginDescriptor. The descriptor's first field is the ABI
 * version the plugin was built against: the loader reads that field before
 * anything else and refuses a module whose version is not
 * CURATOR_PLUGIN_ABI_VERSION, so a plugin built for another ABI is never
 * called. Everything after that field may change when the version does.
 *
 * The ABI is plain C (no GLib types), so a plugin may be written with any
 * toolchain and any libraries. Errors come back as a nonzero return and a
 * message the plugin writes into a caller-supplied buffer; the host adds
 * the plugin's name and shows it. A plugin never aborts the host.
 *
 * Three kinds, each with its function table:
 *   feature extractor  one float vector per sample (from its pixels, or
 *                      from somewhere else such as a file of embeddings)
 *   importer           lists a dataset's files with their labels
 *   exporter           writes an export's manifests in another layout
 *
 * Build a plugin with
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags curator-plugin) \
 *      my-plugin.c -o my-plugin.so
 * and put it in the install's plugin folder or a folder named by
 * $CURATOR_PLUGIN_PATH (colon separated). See plugins/README.md. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every change to the structures or tables below. */
#define CURATOR_PLUGIN_ABI_VERSION 1u

/* The one symbol a plugin exports. */
#define CURATOR_PLUGIN_ENTRY "curator_plugin_describe"

/* Marks the entry point exported even under -fvisibility=hidden. */
#if defined(__GNUC__)
#define CURATOR_PLUGIN_EXPORT __attribute__ ((visibility ("default")))
#else
#define CURATOR_PLUGIN_EXPORT
#endif

/* Size of the buffers plugins write error and warning messages into. */
#define CURATOR_PLUGIN_MESSAGE_MAX 512

typedef enum {
  CURATOR_PLUGIN_KIND_FEATURES = 1,
  CURATOR_PLUGIN_KIND_IMPORTER = 2,
  CURATOR_PLUGIN_KIND_EXPORTER = 3,
} CuratorPluginKind;

/* What the host offers every call: where the dataset is, a way to tell the
 * user something that is not an error (a warning), and a small key/value
 * store in the project for what a plugin learns once and reuses (a
 * dictionary, a model). Any function pointer may be NULL when the host
 * cannot offer it (no project open). */
typedef struct {
  const char *root;      /* dataset root, absolute; may be NULL */
  void       *host_data;
  void      (*warn)      (void *host_data, const char *message);
  /* Returns a malloc'ed copy of the blob stored under @key (*size set) or
   * NULL when there is none; the plugin frees it with free(). */
  void     *(*blob_get)  (void *host_data, const char *key, size_t *size);
  /* Stores @size bytes under @key; 0 on success. */
  int       (*blob_put)  (void *host_data, const char *key, const void *data, size_t size);
} CuratorPluginContext;

/* ---- feature extractors ------------------------------------------------ */

/* One sample as an extractor sees it. */
typedef struct {
  const char    *path;        /* relative to the dataset root, '/' separated */
  const char    *pixel_hash;  /* hex digest of the decoded pixels */
  const uint8_t *rgb;         /* side x side x 3 packed RGB, or NULL when the
                               * extractor did not ask for pixels */
} CuratorPluginSample;

/* The extractor computes features from the pictures: the host loads them
 * (side x side RGB) for the samples it passes to extract(), and, when
 * CURATOR_FEATURES_NEEDS_ALL_PIXELS, for every sample before open(). */
#define CURATOR_FEATURES_NEEDS_PIXELS     (1u << 0)
#define CURATOR_FEATURES_NEEDS_ALL_PIXELS (1u << 1)
/* extract() honours flip (features of the mirrored picture), so the host
 * may use them for flip augmentation. */
#define CURATOR_FEATURES_FLIP             (1u << 2)

typedef struct {
  uint32_t flags;   /* CURATOR_FEATURES_* */
  int      side;    /* picture side the extractor wants, 0 = the host's default */

  /* Prepares one analysis over @n_samples samples. @arg is what followed
   * "NAME:" on the command line (NULL when nothing did). Sets *state (passed
   * back to extract and close), *dim (values per sample, >= 1) and writes a
   * key naming exactly the features it will produce (the algorithm, its
   * parameters and its inputs, e.g. a hash of a file) into @key: the host
   * caches features under it and reuses them while the key is unchanged.
   * Returns 0, or nonzero with a message in @error. */
  int  (*open)    (const CuratorPluginContext *ctx,
                   const char                 *arg,
                   const CuratorPluginSample  *samples,
                   size_t                      n_samples,
                   int                         side,
                   void                      **state,
                   int                        *dim,
                   char                       *key,
                   size_t                      key_size,
                   char                       *error,
                   size_t                      error_size);
  /* Writes @n rows of dim floats to @out (row i for samples[i]); the
   * samples are a subset of those given to open. @flip is 0 unless the
   * extractor has CURATOR_FEATURES_FLIP. 0 or nonzero with a message. */
  int  (*extract) (void                      *state,
                   const CuratorPluginSample *samples,
                   size_t                     n,
                   int                        flip,
                   float                     *out,
                   char                      *error,
                   size_t                     error_size);
  void (*close)   (void *state);
} CuratorFeaturesTable;

/* ---- importers ----------------------------------------------------------- */

/* Called once per file found; @label and @split may be NULL. A nonzero
 * return stops the listing. */
typedef int (*CuratorImportEmit) (void       *emit_data,
                                  const char *path,   /* relative to the root */
                                  const char *label,
                                  const char *split);

typedef struct {
  /* Lists the dataset at ctx->root (described further by @arg, e.g. a
   * manifest file), calling @emit for every file. Problems that do not stop
   * the listing go to ctx->warn. 0 or nonzero with a message. */
  int (*list) (const CuratorPluginContext *ctx,
               const char                 *arg,
               CuratorImportEmit           emit,
               void                       *emit_data,
               char                       *error,
               size_t                      error_size);
} CuratorImporterTable;

/* ---- exporters ------------------------------------------------------------ */

/* One exported file, as the export planned it. */
typedef struct {
  const char *split;     /* "train", "val", "test"... */
  const char *file;      /* path inside the export, '/' separated */
  const char *label;     /* class name */
  const char *source;    /* path relative to the dataset root */
  int64_t     sample_id;
  int         repeat;    /* 0 for the first copy, > 0 for oversampled repeats */
} CuratorExportRecord;

typedef struct {
  /* Writes this layout's manifests into @out_dir (an existing folder that
   * already holds the exported files and Curator's own sources.csv and
   * card). 0 or nonzero with a message. */
  int (*write) (const CuratorPluginContext *ctx,
                const char                 *out_dir,
                const CuratorExportRecord  *records,
                size_t                      n_records,
                char                       *error,
                size_t                      error_size);
} CuratorExporterTable;

/* ---- the descriptor ------------------------------------------------------ */

typedef struct {
  uint32_t          abi_version;  /* CURATOR_PLUGIN_ABI_VERSION: always first */
  const char       *id;           /* short name used on the command line: [a-z0-9_-]+ */
  const char       *name;         /* for people */
  const char       *version;      /* the plugin's own version */
  CuratorPluginKind kind;
  /* Called once after loading, before any table function; 0 on success.
   * A nonzero return (with a message) makes the host skip the plugin. May
   * be NULL. */
  int             (*init) (char *error, size_t error_size);
  union {
    const CuratorFeaturesTable *features;
    const CuratorImporterTable *importer;
    const CuratorExporterTable *exporter;
  } table;
} CuratorPluginDescriptor;

typedef const CuratorPluginDescriptor *(*CuratorPluginDescribeFunc) (void);

/* What a plugin defines (and marks CURATOR_PLUGIN_EXPORT): returns its
 * static descriptor. Declared here so that the definition has a prototype. */
CURATOR_PLUGIN_EXPORT const CuratorPluginDescriptor *curator_plugin_describe (void);

#ifdef __cplusplus
}
#endif

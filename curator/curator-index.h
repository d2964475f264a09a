/* curator-index.h: reading a dataset into the project.
 *
 * A dataset is a root folder laid out as class folders (ROOT/CLASS/..., the
 * torchvision ImageFolder layout; images directly under ROOT or under
 * ROOT/_unlabeled are unlabelled; ROOT/train|val|test/CLASS/... keeps the
 * source's split), or a CSV manifest of paths relative to the root.
 *
 * Indexing is incremental: a file whose size and mtime match what the project
 * holds is not read; one whose size or mtime changed is hashed first and
 * decoded only when its bytes changed; a sample whose file vanished is marked
 * missing, never deleted. Decoding runs on a pool of worker threads; the
 * calling thread alone writes the project, in batched transactions, in path
 * order (so sample ids do not depend on thread timing). Cancelling leaves
 * every written sample complete; the next run picks up where it stopped. */
#pragma once

#include <gio/gio.h>

#include "curator-db.h"
#include "curator-plugin.h"
#include "curator-progress.h"

G_BEGIN_DECLS

typedef struct {
  const char *root;      /* dataset root folder */
  const char *manifest;  /* CSV manifest (file,label[,split]); NULL = walk class folders */
  int         n_threads; /* decoding threads; 0 = one per core */
  gboolean    reread;    /* read and decode every file even when unchanged */
} CuratorIndexOptions;

typedef struct {
  gint64     n_files;      /* files considered */
  gint64     n_added;      /* new samples */
  gint64     n_changed;    /* files whose bytes changed, decoded again */
  gint64     n_unchanged;  /* not decoded (same size and mtime, or same bytes) */
  gint64     n_relabelled; /* given label or split changed without the file changing */
  gint64     n_missing;    /* samples newly marked missing */
  gint64     n_corrupt;    /* files that could not be read or decoded (this run) */
  gint64     n_decoded;    /* files decoded this run */
  GPtrArray *problems;     /* (element-type utf8) one line per problem, for people */
} CuratorIndexReport;

void curator_index_report_clear (CuratorIndexReport *report);

/* Indexes @options->root into @db. FALSE with CURATOR_ERROR_CANCELLED when
 * cancelled (what was written stays written), NOT_FOUND when the root does
 * not exist, INVALID for an unusable manifest. Corrupt files and bad manifest
 * lines are not errors: they land in @report. */
gboolean curator_index_run (CuratorDb                  *db,
                            const CuratorIndexOptions  *options,
                            CuratorIndexReport         *report,
                            GCancellable               *cancellable,
                            CuratorProgressFunc         progress,
                            gpointer                    progress_data,
                            GError                    **error);

/* The walk of class folders described above, as the built-in "imagefolder"
 * importer runs it (curator-builtin-import.c): every candidate of
 * @ctx->root goes to @emit in folder order, problems to @ctx->warn. A
 * picture that is a symbolic link out of the root is listed all the same:
 * curator_index_run checks links again and records it as unreadable. TRUE
 * also when @emit stopped the walk; errors: IO when the root cannot be read.
 * Private to the core. */
gboolean _curator_index_walk (const CuratorPluginContext *ctx,
                              CuratorImportEmit           emit,
                              void                       *emit_data,
                              GError                    **error);

G_END_DECLS

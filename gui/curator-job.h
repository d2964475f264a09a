/* curator-job.h: index, analyze and export as background jobs of the window.
 *
 * A job runs one core call (curator_index_run, curator_analyze_run or
 * curator_export_write) under
 * g_task_run_in_thread, on its OWN connection to the project file (WAL lets
 * the window keep browsing and deciding on its connection meanwhile). The
 * core reports progress on the worker thread; the job keeps the latest
 * fraction and message under a mutex and schedules at most one idle callback,
 * which turns them into notifications of :fraction and :message on the main
 * thread (sysprof's loader does the same). Cancel through the job's
 * GCancellable; the core checks it in every loop. */
#pragma once

#include <gio/gio.h>

#include "curator-export.h"

G_BEGIN_DECLS

typedef enum {
  CURATOR_JOB_INDEX,
  CURATOR_JOB_ANALYZE,
  CURATOR_JOB_EXPORT,
} CuratorJobKind;

#define CURATOR_TYPE_JOB (curator_job_get_type ())
G_DECLARE_FINAL_TYPE (CuratorJob, curator_job, CURATOR, JOB, GObject)

/* Indexes @root (and @manifest, may be NULL) into the project at
 * @project_path, creating the file when it does not exist yet. */
CuratorJob *curator_job_new_index   (const char *project_path, const char *root, const char *manifest);
/* One analysis run with default options. */
CuratorJob *curator_job_new_analyze (const char *project_path);
/* Writes @plan (transfer full); needs no connection to the project: the
 * plan holds everything. */
CuratorJob *curator_job_new_export  (CuratorExportPlan *plan);

CuratorJobKind curator_job_get_kind     (CuratorJob *self);
/* "Indexing", "Analyzing", "Exporting" */
const char    *curator_job_get_title    (CuratorJob *self);
/* 0..1, negative while unknown. */
double         curator_job_get_fraction (CuratorJob *self);
/* (nullable) the core's latest progress message. */
const char    *curator_job_get_message  (CuratorJob *self);
/* Seconds since start. */
double         curator_job_get_elapsed  (CuratorJob *self);
/* (transfer full) "12 s left", "" when not yet known. Extrapolated from
 * the last few seconds, not the whole run: start-up (scanning a folder,
 * loading features) would otherwise skew it for minutes. */
char          *curator_job_dup_eta      (CuratorJob *self);
/* Items done and in all, parsed from the core's "... 12 of 345 ..."
 * messages; FALSE when the current message has no count. */
gboolean       curator_job_get_counts   (CuratorJob *self, guint64 *done, guint64 *total);
/* (transfer full) "1,234 files/s" over the last few seconds while
 * indexing; "" for other jobs, or when it is too early to tell. */
char          *curator_job_dup_rate     (CuratorJob *self);

void     curator_job_start  (CuratorJob          *self,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data);
/* FALSE with the core's error (CURATOR_ERROR_CANCELLED when cancelled). */
gboolean curator_job_finish (CuratorJob          *self,
                             GAsyncResult        *result,
                             GError             **error);
void     curator_job_cancel (CuratorJob          *self);
gboolean curator_job_is_running (CuratorJob      *self);
/* (nullable) After a successful finish: what was done, in a line for people. */
const char *curator_job_get_summary (CuratorJob *self);
/* (nullable) An export job's folder. */
const char *curator_job_get_out     (CuratorJob *self);

G_END_DECLS

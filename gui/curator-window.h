/* curator-window.h: the main window, one project at a time.
 *
 * The window owns the main-thread connection to the project (browsing and
 * decisions), the sample model, the thumbnail loader and at most one
 * background job (index or analyze, each on its own connection, or an
 * export, which needs none). */
#pragma once

#include <gtk/gtk.h>

#include "curator-db.h"
#include "curator-export.h"
#include "curator-sample-model.h"

G_BEGIN_DECLS

#define CURATOR_TYPE_WINDOW (curator_window_get_type ())
G_DECLARE_FINAL_TYPE (CuratorWindow, curator_window, CURATOR, WINDOW, GtkApplicationWindow)

CuratorWindow *curator_window_new (GtkApplication *application);

/* Opens the project at @path (it must exist) in place of the current one. */
gboolean curator_window_open_project (CuratorWindow *self, const char *path, GError **error);
/* Creates (or reuses) the project at @project_path and indexes @folder into
 * it as a background job. */
gboolean curator_window_index_folder (CuratorWindow *self,
                                      const char    *folder,
                                      const char    *project_path,
                                      GError       **error);
/* Writes @plan (transfer full, also on failure) as a background job with
 * progress and Cancel; BUSY while another job runs. */
gboolean curator_window_start_export (CuratorWindow *self, CuratorExportPlan *plan, GError **error);
/* Opens the export dialog over the open project (NULL when none is open).
 * (transfer none) */
GtkWindow *curator_window_show_export (CuratorWindow *self);
/* Responses of the question asked when a folder is dropped: index it into
 * a new project next to it, or ask where to keep the project. */
#define CURATOR_RESPONSE_NEXT_TO_IT    1
#define CURATOR_RESPONSE_CHOOSE_WHERE  2

/* What a drop of @folder does: asks whether to create FOLDER.curator next
 * to it (or reuse it, when it is there) or to choose where, then indexes the
 * folder as a background job. The open project's own dataset folder is
 * indexed again at once. (transfer none) The question, or NULL. */
GtkWindow *curator_window_offer_folder (CuratorWindow *self, const char *folder);

/* Starts an analysis run of the open project as a background job. */
gboolean curator_window_analyze      (CuratorWindow *self, GError **error);
gboolean curator_window_is_busy      (CuratorWindow *self);
/* Cancels the background job and waits (running the main loop) until it
 * has stopped and left the project consistent. */
void     curator_window_stop_job     (CuratorWindow *self);

/* (transfer none) NULL when no project is open. */
CuratorDb          *curator_window_get_db     (CuratorWindow *self);
CuratorSampleModel *curator_window_get_model  (CuratorWindow *self);
GtkSelectionModel  *curator_window_get_selection (CuratorWindow *self);
/* The sample the detail pane shows, 0 for none. */
gint64              curator_window_get_detail_sample (CuratorWindow *self);
/* Selects and focuses the sample at @position of the grid. */
void                curator_window_select_position (CuratorWindow *self, guint position);
/* Batches ask for confirmation first (default TRUE; tests turn it off). */
void                curator_window_set_confirm_batches (CuratorWindow *self, gboolean confirm);
/* TRUE when every cell on screen shows its thumbnail (or knows it has none). */
gboolean            curator_window_thumbnails_settled (CuratorWindow *self);

/* Renders the window as it is now into a PNG at @file. */
gboolean curator_window_save_screenshot (CuratorWindow *self, const char *file, GError **error);
/* The same for any shown toplevel (the charts). */
gboolean curator_save_window_png        (GtkWindow *window, const char *file, GError **error);

G_END_DECLS

/* curator-window.h: the main window, one project at a time.
 *
 * The window owns the main-thread connection to the project (browsing and
 * decisions), the sample model, the thumbnail loader and at most one
 * background job (index or analyze, each on its own connection). */
#pragma once

#include <gtk/gtk.h>

#include "curator-db.h"
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

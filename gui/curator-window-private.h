/* curator-window-private.h: what curator-window.c and curator-window-actions.c share. */
#pragma once

#include "curator-window.h"

#include "curator-charts.h"
#include "curator-detail.h"
#include "curator-job.h"
#include "curator-sidebar.h"
#include "curator-thumbnail-loader.h"

G_BEGIN_DECLS

/* Thumbnail sizes the zoom steps through, px. */
#define CURATOR_THUMB_MIN_PX 64
#define CURATOR_THUMB_MAX_PX_VIEW 256
#define CURATOR_THUMB_STEP_PX 32

struct _CuratorWindow
{
  GtkApplicationWindow parent_instance;

  /* template widgets */
  GtkLabel       *title_label;
  GtkLabel       *subtitle_label;
  GtkWidget      *analyze_button;
  GtkRevealer    *toast_revealer;
  GtkLabel       *toast_label;
  GtkWidget      *toast_undo;
  GtkRevealer    *progress_revealer;
  GtkLabel       *progress_title;
  GtkProgressBar *progress_bar;
  GtkLabel       *progress_label;
  GtkStack       *main_stack;
  CuratorSidebar *sidebar;
  GtkPaned       *paned;
  GtkGridView    *grid;
  GtkStack       *grid_stack;
  GtkLabel       *empty_title;
  GtkLabel       *empty_text;
  CuratorDetail  *detail;
  GMenu          *recent_menu;
  GtkWidget      *recent_box;
  GtkListBox     *recent_list;

  /* owned */
  GSettings              *settings;
  CuratorDb              *db;
  char                   *project_path;
  char                   *root;
  CuratorSampleModel     *model;
  GtkMultiSelection      *selection;
  CuratorThumbnailLoader *loader;
  GPtrArray              *list_items;   /* GtkListItem set up by the factory (borrowed) */
  CuratorJob             *job;
  CuratorCharts          *charts;       /* weak: the open charts window */
  GFileMonitor           *monitor;      /* the project's WAL: other writers (the CLI) */
  guint                   monitor_timeout_id;
  guint                   n_events_seen;
  guint                   toast_timeout_id;
  guint                   columns_idle_id;
  int                     thumb_px;
  gboolean                auto_advance;
  gboolean                show_detail;
  gboolean                confirm_batches;
};

/* curator-window-actions.c */
void _curator_window_class_init_actions (GtkWidgetClass *widget_class);
void _curator_window_update_actions     (CuratorWindow *self);
/* Records @action on the selected samples (@label for RELABEL). */
void _curator_window_decide             (CuratorWindow *self, CuratorAction action, gint64 label);

/* curator-window.c */
void _curator_window_toast              (CuratorWindow *self, gboolean offer_undo,
                                         const char *format, ...) G_GNUC_PRINTF (3, 4);
void _curator_window_set_thumb_px       (CuratorWindow *self, int thumb_px);
void _curator_window_update_title       (CuratorWindow *self);
void _curator_window_after_decisions    (CuratorWindow *self, const gint64 *ids, guint n_ids);
/* Position of the focused/selected sample, or G_MAXUINT. */
guint _curator_window_get_cursor        (CuratorWindow *self);

G_END_DECLS

/* curator-sidebar.h: the window's left column.
 *
 * Search by file name, the review filters with their counts, the classes with
 * their counts (current and given) and hotkeys, and the sort order. It drives
 * the CuratorSampleModel directly and follows its ::counts-changed. */
#pragma once

#include <gtk/gtk.h>

#include "curator-sample-model.h"

G_BEGIN_DECLS

#define CURATOR_TYPE_SIDEBAR (curator_sidebar_get_type ())
G_DECLARE_FINAL_TYPE (CuratorSidebar, curator_sidebar, CURATOR, SIDEBAR, GtkBox)

/* @model is borrowed and must outlive the sidebar's use of it (until set to NULL). */
void curator_sidebar_set_model    (CuratorSidebar *self, CuratorSampleModel *model);
void curator_sidebar_focus_search (CuratorSidebar *self);
/* Selects the filter row (and so sets the model's filter). */
void curator_sidebar_select_filter (CuratorSidebar *self, CuratorSampleFilter filter);

G_END_DECLS

/* curator-export-dialog.h: the export dialog, a form over the core export.
 *
 * The form holds the options of `curator export` (splits, the policy for
 * unreviewed flagged samples, rebalancing and its target, layout, how files
 * are written, seed). Every change re-plans in a worker thread, on its own
 * connection to the project (curator_export_plan_new reads only), and the
 * summary beside the form shows what the plan would write: samples and
 * entries per split and class, what is left out and why, relabels, duplicate
 * groups, leaks, the noise estimated to remain. Export hands the plan to the
 * window, which writes it as a background job with progress and Cancel. */
#pragma once

#include <gtk/gtk.h>

#include "curator-export.h"

G_BEGIN_DECLS

#define CURATOR_TYPE_EXPORT_DIALOG (curator_export_dialog_get_type ())
G_DECLARE_FINAL_TYPE (CuratorExportDialog, curator_export_dialog, CURATOR, EXPORT_DIALOG, GtkWindow)

/* A dialog over the project at @project_path, transient for @parent (a
 * CuratorWindow: Export calls curator_window_start_export on it). The
 * output folder starts as PROJECT-export beside the project file. */
CuratorExportDialog *curator_export_dialog_new (GtkWindow *parent, const char *project_path);

/* Sets a form field by its command-line name, as a person would: "out",
 * "split", "keep-splits" (true/false), "flagged", "rebalance", "target",
 * "layout", "files", "seed". Values are the CLI's (drop, oversample, csv,
 * 80/10/10, 500...). FALSE for an unknown name or value. */
gboolean curator_export_dialog_set_option (CuratorExportDialog *self,
                                           const char          *name,
                                           const char          *value);
/* The options the form says now; FALSE with INVALID and a message for
 * people when a field does not parse. Clear @options afterwards. */
gboolean curator_export_dialog_get_options (CuratorExportDialog  *self,
                                            CuratorExportOptions *options,
                                            GError              **error);
/* TRUE while a plan is being made or waits to be remade after a change. */
gboolean curator_export_dialog_is_planning (CuratorExportDialog *self);
/* (transfer none) (nullable) The plan of the form as it is, NULL while
 * planning or when the options are refused (see the summary). */
const CuratorExportPlan *curator_export_dialog_get_plan (CuratorExportDialog *self);

G_END_DECLS

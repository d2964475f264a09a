/* curator-charts.h: pictures where a picture beats a table.
 *
 * Class counts (as given and as they are now) as bars, and the noise matrix
 * (given label x the label the analysis believes) as a heat map whose cells
 * show the samples behind them in the main window. Drawn with cairo from
 * the sample model; redrawn when its counts change. */
#pragma once

#include <gtk/gtk.h>

#include "curator-sample-model.h"

G_BEGIN_DECLS

#define CURATOR_TYPE_CHARTS (curator_charts_get_type ())
G_DECLARE_FINAL_TYPE (CuratorCharts, curator_charts, CURATOR, CHARTS, GtkWindow)

/* Emits ::cell-activated (given class id, true class id) when a heat-map
 * cell is clicked. @model is borrowed and must outlive the window. */
CuratorCharts *curator_charts_new (GtkWindow *parent, CuratorSampleModel *model);
/* Shows the noise matrix page (else the class counts). */
void           curator_charts_show_matrix (CuratorCharts *self, gboolean matrix);

G_END_DECLS

/* curator-sample-cell.h: one cell of the thumbnail grid.
 *
 * Built once per visible slot in the factory's setup and re-filled in bind:
 * the thumbnail (a placeholder until the loader's ::ready names its key),
 * the current label, and badges for flagged / suggested / duplicate /
 * decided / excluded / unreadable. */
#pragma once

#include <gtk/gtk.h>

#include "curator-sample-model.h"
#include "curator-thumbnail-loader.h"

G_BEGIN_DECLS

#define CURATOR_TYPE_SAMPLE_CELL (curator_sample_cell_get_type ())
G_DECLARE_FINAL_TYPE (CuratorSampleCell, curator_sample_cell, CURATOR, SAMPLE_CELL, GtkWidget)

GtkWidget           *curator_sample_cell_new            (CuratorThumbnailLoader *loader,
                                                         CuratorSampleModel     *model);
/* @item NULL = unbound. */
void                 curator_sample_cell_set_item       (CuratorSampleCell      *self,
                                                         CuratorSampleObject    *item);
CuratorSampleObject *curator_sample_cell_get_item       (CuratorSampleCell      *self);
void                 curator_sample_cell_set_thumb_size (CuratorSampleCell      *self,
                                                         int                     thumb_px);
/* TRUE when the cell shows its real thumbnail (not the placeholder). */
gboolean             curator_sample_cell_has_thumbnail  (CuratorSampleCell      *self);

G_END_DECLS

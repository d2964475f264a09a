/* curator-detail.h: the right-hand pane about the selected sample.
 *
 * The picture large (fit or 1:1, decoded from the original file off the main
 * thread, the thumbnail standing in meanwhile), file path and size, given and
 * current label, the suggestion with its confidence and reason, the review
 * buttons, and the sample's decision history. With several samples selected
 * it says how many and offers the batch actions. */
#pragma once

#include <gtk/gtk.h>

#include "curator-db.h"
#include "curator-sample-model.h"
#include "curator-thumbnail-loader.h"

G_BEGIN_DECLS

#define CURATOR_TYPE_DETAIL (curator_detail_get_type ())
G_DECLARE_FINAL_TYPE (CuratorDetail, curator_detail, CURATOR, DETAIL, GtkBox)

/* All borrowed; the window keeps them alive while set. @root is the
 * dataset folder the sample paths are relative to (may be NULL). */
void   curator_detail_set_context   (CuratorDetail          *self,
                                     CuratorDb              *db,
                                     const char             *root,
                                     CuratorSampleModel     *model,
                                     CuratorThumbnailLoader *loader);
/* @item NULL shows the "nothing selected" page. */
void   curator_detail_show_sample   (CuratorDetail          *self,
                                     CuratorSampleObject    *item);
void   curator_detail_show_selection (CuratorDetail         *self,
                                      guint                  n_selected);
/* The sample shown, 0 when none. */
gint64 curator_detail_get_sample_id (CuratorDetail          *self);
/* TRUE once the full-size picture has replaced the thumbnail. */
gboolean curator_detail_has_full_picture (CuratorDetail     *self);

G_END_DECLS

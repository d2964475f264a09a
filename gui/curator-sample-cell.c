/* curator-sample-cell.c: see curator-sample-cell.h. */
#include "curator-sample-cell.h"

struct _CuratorSampleCell
{
  GtkWidget parent_instance;

  /* children */
  GtkWidget *frame;        /* overlay: picture + badges */
  GtkWidget *picture;
  GtkWidget *badges;       /* box, top right */
  GtkWidget *flagged;
  GtkWidget *duplicate;
  GtkWidget *decided;
  GtkWidget *excluded;
  GtkWidget *corrupt;
  GtkWidget *suggestion;   /* label "→ dog", bottom */
  GtkWidget *label;

  /* borrowed: the window owns them and outlives its cells */
  CuratorThumbnailLoader *loader;
  CuratorSampleModel     *model;

  /* owned */
  CuratorSampleObject    *item;
  char                   *key;      /* requested thumbnail */
  gulong                  changed_id;
  gboolean                has_thumbnail;
};

G_DEFINE_FINAL_TYPE (CuratorSampleCell, curator_sample_cell, GTK_TYPE_WIDGET)

static void
show_placeholder (CuratorSampleCell *self, gboolean broken)
{
  gtk_picture_set_paintable (GTK_PICTURE (self->picture), NULL);
  self->has_thumbnail = FALSE;
  if (broken)
    gtk_widget_add_css_class (self->frame, "broken");
  else
    gtk_widget_remove_css_class (self->frame, "broken");
}

static void
on_ready (CuratorThumbnailLoader *loader, const char *key, GdkTexture *texture, gpointer user_data)
{
  CuratorSampleCell *self = user_data;

  /* called for this cell's own key only (request_full) */
  if (self->key == NULL || g_strcmp0 (key, self->key) != 0)
    return;
  if (texture != NULL)
    {
      gtk_picture_set_paintable (GTK_PICTURE (self->picture), GDK_PAINTABLE (texture));
      self->has_thumbnail = TRUE;
      gtk_widget_remove_css_class (self->frame, "broken");
    }
  else
    show_placeholder (self, TRUE);
}

static void
update (CuratorSampleCell *self)
{
  const CuratorSampleInfo *info = curator_sample_object_get_info (self->item);
  CuratorBadges b = info->badges;
  const char *label = curator_sample_model_get_class_name (self->model, info->current_label);

  gtk_label_set_text (GTK_LABEL (self->label), label);
  /* the tooltip is made when asked for (query_tooltip): setting its text
   * here would cost GTK 4.8 a round trip to the X server per bound cell,
   * a third of each frame while scrolling (tests/bench/gui) */
  if (info->current_label != info->given_label)
    gtk_widget_add_css_class (self->label, "relabelled");
  else
    gtk_widget_remove_css_class (self->label, "relabelled");

  gtk_widget_set_visible (self->flagged, (b & CURATOR_BADGE_FLAGGED) != 0);
  gtk_widget_set_visible (self->duplicate, (b & CURATOR_BADGE_DUPLICATE) != 0);
  gtk_widget_set_visible (self->decided, (b & CURATOR_BADGE_DECIDED) != 0);
  gtk_widget_set_visible (self->excluded, (b & CURATOR_BADGE_EXCLUDED) != 0);
  gtk_widget_set_visible (self->corrupt, (b & CURATOR_BADGE_CORRUPT) != 0);
  if ((b & CURATOR_BADGE_SUGGESTED) && !(b & CURATOR_BADGE_DECIDED))
    {
      g_autofree char *text = g_strdup_printf ("→ %s",
                                               curator_sample_model_get_class_name (self->model, info->suggested_label));
      gtk_label_set_text (GTK_LABEL (self->suggestion), text);
      gtk_widget_set_visible (self->suggestion, TRUE);
    }
  else
    gtk_widget_set_visible (self->suggestion, FALSE);

  if (b & (CURATOR_BADGE_EXCLUDED | CURATOR_BADGE_CORRUPT))
    gtk_widget_add_css_class (GTK_WIDGET (self), "dimmed");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "dimmed");
}

static gboolean
query_tooltip (GtkWidget  *label,
               int         x,
               int         y,
               gboolean    keyboard,
               GtkTooltip *tooltip,
               gpointer    user_data)
{
  CuratorSampleCell *self = user_data;
  const CuratorSampleInfo *info;

  if (self->item == NULL)
    return FALSE;
  info = curator_sample_object_get_info (self->item);
  if (info->current_label != info->given_label)
    {
      g_autofree char *tip = g_strdup_printf ("%s (given: %s)",
                                              curator_sample_model_get_class_name (self->model, info->current_label),
                                              curator_sample_model_get_class_name (self->model, info->given_label));
      gtk_tooltip_set_text (tooltip, tip);
    }
  else
    gtk_tooltip_set_text (tooltip, info->file_name);
  return TRUE;
}

static void
on_item_changed (CuratorSampleObject *item, gpointer user_data)
{
  update (CURATOR_SAMPLE_CELL (user_data));
}

static void
release_thumbnail (CuratorSampleCell *self)
{
  if (self->key != NULL)
    curator_thumbnail_loader_release_full (self->loader, self->key, self);
  g_clear_pointer (&self->key, g_free);
}

void
curator_sample_cell_set_item (CuratorSampleCell *self, CuratorSampleObject *item)
{
  const CuratorSampleInfo *info;
  GdkTexture *texture;

  g_return_if_fail (CURATOR_IS_SAMPLE_CELL (self));

  if (self->item == item)
    return;
  release_thumbnail (self);
  if (self->item != NULL)
    g_clear_signal_handler (&self->changed_id, self->item);
  g_set_object (&self->item, item);
  if (item == NULL)
    {
      show_placeholder (self, FALSE);
      return;
    }
  self->changed_id = g_signal_connect (item, "changed", G_CALLBACK (on_item_changed), self);
  update (self);

  info = curator_sample_object_get_info (item);
  texture = curator_thumbnail_loader_lookup (self->loader, info->pixel_hash);
  if (texture != NULL)
    {
      gtk_picture_set_paintable (GTK_PICTURE (self->picture), GDK_PAINTABLE (texture));
      self->has_thumbnail = TRUE;
      gtk_widget_remove_css_class (self->frame, "broken");
    }
  else
    {
      show_placeholder (self, curator_thumbnail_loader_is_broken (self->loader, info->pixel_hash));
      if (info->pixel_hash != NULL)
        {
          self->key = g_strdup (info->pixel_hash);
          curator_thumbnail_loader_request_full (self->loader, self->key, on_ready, self);
        }
    }
}

CuratorSampleObject *
curator_sample_cell_get_item (CuratorSampleCell *self)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_CELL (self), NULL);
  return self->item;
}

void
curator_sample_cell_set_thumb_size (CuratorSampleCell *self, int thumb_px)
{
  g_return_if_fail (CURATOR_IS_SAMPLE_CELL (self));

  gtk_widget_set_size_request (self->frame, thumb_px, thumb_px);
  gtk_widget_set_size_request (self->label, thumb_px, -1);
}

gboolean
curator_sample_cell_has_thumbnail (CuratorSampleCell *self)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_CELL (self), FALSE);
  return self->has_thumbnail;
}

static gboolean
query_badge_tooltip (GtkWidget *image, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer text)
{
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static GtkWidget *
badge (GtkWidget *box, const char *icon, const char *css, const char *tooltip)
{
  GtkWidget *image = gtk_image_new_from_icon_name (icon);

  gtk_widget_add_css_class (image, "badge");
  gtk_widget_add_css_class (image, css);
  /* not gtk_widget_set_tooltip_text: an X round trip per badge (see update) */
  gtk_widget_set_has_tooltip (image, TRUE);
  g_signal_connect (image, "query-tooltip", G_CALLBACK (query_badge_tooltip), (gpointer) tooltip);
  gtk_widget_set_visible (image, FALSE);
  gtk_box_append (GTK_BOX (box), image);
  return image;
}

static void
curator_sample_cell_dispose (GObject *object)
{
  CuratorSampleCell *self = CURATOR_SAMPLE_CELL (object);

  curator_sample_cell_set_item (self, NULL);
  self->loader = NULL;
  self->model = NULL;
  g_clear_pointer (&self->frame, gtk_widget_unparent);
  g_clear_pointer (&self->label, gtk_widget_unparent);
  G_OBJECT_CLASS (curator_sample_cell_parent_class)->dispose (object);
}

static void
curator_sample_cell_class_init (CuratorSampleCellClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = curator_sample_cell_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "samplecell");
}

static void
curator_sample_cell_init (CuratorSampleCell *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (GTK_WIDGET (self));

  gtk_orientable_set_orientation (GTK_ORIENTABLE (layout), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), 4);

  self->frame = gtk_overlay_new ();
  gtk_widget_add_css_class (self->frame, "thumb");
  gtk_widget_set_overflow (self->frame, GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_halign (self->frame, GTK_ALIGN_CENTER);
  gtk_widget_set_parent (self->frame, GTK_WIDGET (self));

  self->picture = gtk_picture_new ();
  gtk_picture_set_can_shrink (GTK_PICTURE (self->picture), TRUE);
  gtk_picture_set_content_fit (GTK_PICTURE (self->picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_overlay_set_child (GTK_OVERLAY (self->frame), self->picture);

  self->badges = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 2);
  gtk_widget_set_halign (self->badges, GTK_ALIGN_END);
  gtk_widget_set_valign (self->badges, GTK_ALIGN_START);
  gtk_widget_set_margin_top (self->badges, 4);
  gtk_widget_set_margin_end (self->badges, 4);
  gtk_overlay_add_overlay (GTK_OVERLAY (self->frame), self->badges);
  self->flagged = badge (self->badges, "dialog-warning-symbolic", "flagged", "Likely mislabelled");
  self->duplicate = badge (self->badges, "edit-copy-symbolic", "duplicate", "Has a duplicate");
  self->decided = badge (self->badges, "object-select-symbolic", "decided", "Decided by a person");
  self->excluded = badge (self->badges, "action-unavailable-symbolic", "excluded", "Excluded");
  self->corrupt = badge (self->badges, "image-missing-symbolic", "corrupt", "Unreadable or missing file");

  self->suggestion = gtk_label_new (NULL);
  gtk_widget_add_css_class (self->suggestion, "suggestion");
  gtk_label_set_ellipsize (GTK_LABEL (self->suggestion), PANGO_ELLIPSIZE_END);
  gtk_widget_set_halign (self->suggestion, GTK_ALIGN_START);
  gtk_widget_set_valign (self->suggestion, GTK_ALIGN_END);
  gtk_widget_set_margin_start (self->suggestion, 4);
  gtk_widget_set_margin_bottom (self->suggestion, 4);
  gtk_widget_set_margin_end (self->suggestion, 4);
  gtk_widget_set_visible (self->suggestion, FALSE);
  gtk_overlay_add_overlay (GTK_OVERLAY (self->frame), self->suggestion);

  self->label = gtk_label_new (NULL);
  gtk_label_set_ellipsize (GTK_LABEL (self->label), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (self->label, "caption");
  gtk_widget_set_has_tooltip (self->label, TRUE);
  g_signal_connect (self->label, "query-tooltip", G_CALLBACK (query_tooltip), self);
  gtk_widget_set_parent (self->label, GTK_WIDGET (self));
}

GtkWidget *
curator_sample_cell_new (CuratorThumbnailLoader *loader, CuratorSampleModel *model)
{
  CuratorSampleCell *self;

  g_return_val_if_fail (CURATOR_IS_THUMBNAIL_LOADER (loader), NULL);
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (model), NULL);

  self = g_object_new (CURATOR_TYPE_SAMPLE_CELL, NULL);
  self->loader = loader;
  self->model = model;
  curator_sample_cell_set_thumb_size (self, 128);
  return GTK_WIDGET (self);
}

/* curator-detail.c: see curator-detail.h. */
#include "curator-detail.h"

#include "curator-image.h"

/* The full picture is decoded to at most this side: the pane never shows more. */
#define DETAIL_MAX_SIDE 2048

struct _CuratorDetail
{
  GtkBox parent_instance;

  /* template widgets */
  GtkStack          *stack;
  GtkLabel          *multi_title;
  GtkScrolledWindow *picture_scroller;
  GtkPicture        *picture;
  GtkToggleButton   *actual_size;
  GtkLabel          *file_name;
  GtkLabel          *path;
  GtkGrid           *facts;
  GtkWidget         *suggestion_box;
  GtkLabel          *suggestion_title;
  GtkLevelBar       *confidence_bar;
  GtkLabel          *reason;
  GtkWidget         *accept_button;
  GtkButton         *exclude_button;
  GtkListBox        *history;
  GtkWidget         *duplicates_box;
  GtkLabel          *duplicates_title;
  GtkFlowBox        *duplicates;
  GtkWidget         *neighbours_box;
  GtkLabel          *neighbours_title;
  GtkFlowBox        *neighbours;

  /* borrowed */
  CuratorDb              *db;
  CuratorSampleModel     *model;
  CuratorThumbnailLoader *loader;

  /* owned */
  char                *root;
  CuratorSampleObject *item;
  gulong               changed_id;
  gulong               ready_id;
  GCancellable        *load;        /* the full picture being decoded */
  GPtrArray           *wanted;      /* thumbnail keys this pane asked the loader for */
  gboolean             full_picture;
};

G_DEFINE_FINAL_TYPE (CuratorDetail, curator_detail, GTK_TYPE_BOX)

/* Thumbnails the pane shows stay wanted until it shows something else, so
 * that the loader does not skip them as nobody's. */
static void
want_thumbnail (CuratorDetail *self, const char *key)
{
  if (key == NULL || self->loader == NULL)
    return;
  curator_thumbnail_loader_request (self->loader, key);
  g_ptr_array_add (self->wanted, g_strdup (key));
}

static void
release_thumbnails (CuratorDetail *self)
{
  for (guint i = 0; self->loader != NULL && i < self->wanted->len; i++)
    curator_thumbnail_loader_release (self->loader, g_ptr_array_index (self->wanted, i));
  g_ptr_array_set_size (self->wanted, 0);
}

/* ---- the full picture, decoded in a thread --------------------------------- */

static void
decode_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *file = task_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  gsize n_bytes = 0;
  CuratorRgb *rgb;

  if (!g_file_get_contents (file, &data, &n_bytes, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  rgb = curator_image_decode ((const guint8 *) data, n_bytes, DETAIL_MAX_SIDE, NULL, &error);
  if (rgb == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, rgb, (GDestroyNotify) curator_rgb_free);
}

static void
on_decoded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  CuratorRgb *rgb = g_task_propagate_pointer (G_TASK (result), &error);
  CuratorDetail *self;
  g_autoptr(GdkTexture) texture = NULL;

  if (rgb == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("full picture: %s", error->message);
      return;
    }
  self = CURATOR_DETAIL (user_data);
  texture = curator_texture_new_from_rgb (rgb);
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (texture));
  self->full_picture = TRUE;
}

static void
load_full_picture (CuratorDetail *self, const CuratorSampleInfo *info)
{
  g_autoptr(GTask) task = NULL;

  g_cancellable_cancel (self->load);
  g_clear_object (&self->load);
  self->full_picture = FALSE;
  if (self->root == NULL || info->status != CURATOR_SAMPLE_OK)
    return;
  self->load = g_cancellable_new ();
  /* The task has no source object: dispose and a newer sample cancel it, and
   * a cancelled task returns its error before on_decoded looks at the pane. */
  task = g_task_new (NULL, self->load, on_decoded, self);
  g_task_set_check_cancellable (task, TRUE);
  g_task_set_task_data (task, g_build_filename (self->root, info->path, NULL), g_free);
  g_task_run_in_thread (task, decode_in_thread);
}

static void
update_strip (GtkFlowBox *strip, const char *key, GdkTexture *texture)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (strip)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *box = gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (child));
      GtkWidget *picture = gtk_widget_get_first_child (box);

      if (g_strcmp0 (g_object_get_data (G_OBJECT (picture), "thumbnail-key"), key) == 0)
        gtk_picture_set_paintable (GTK_PICTURE (picture), GDK_PAINTABLE (texture));
    }
}

static void
on_thumbnail_ready (CuratorThumbnailLoader *loader, const char *key, GdkTexture *texture, gpointer user_data)
{
  CuratorDetail *self = user_data;

  if (self->item == NULL || texture == NULL)
    return;
  update_strip (self->duplicates, key, texture);
  update_strip (self->neighbours, key, texture);
  if (self->full_picture || g_strcmp0 (key, curator_sample_object_get_info (self->item)->pixel_hash) != 0)
    return;
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (texture));
}

static void
on_actual_size_toggled (GtkToggleButton *button, CuratorDetail *self)
{
  gboolean actual = gtk_toggle_button_get_active (button);

  gtk_picture_set_can_shrink (self->picture, !actual);
  gtk_scrolled_window_set_policy (self->picture_scroller,
                                  actual ? GTK_POLICY_AUTOMATIC : GTK_POLICY_NEVER,
                                  actual ? GTK_POLICY_AUTOMATIC : GTK_POLICY_NEVER);
}

/* ---- facts and history ------------------------------------------------------- */

static void
add_fact (CuratorDetail *self, int row, const char *name, const char *value)
{
  GtkWidget *key = gtk_label_new (name);
  GtkWidget *val = gtk_label_new (value);

  gtk_label_set_xalign (GTK_LABEL (key), 1.0);
  gtk_widget_set_valign (key, GTK_ALIGN_START);
  gtk_widget_add_css_class (key, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (val), 0.0);
  gtk_label_set_wrap (GTK_LABEL (val), TRUE);
  gtk_label_set_selectable (GTK_LABEL (val), TRUE);
  gtk_widget_set_hexpand (val, TRUE);
  gtk_grid_attach (self->facts, key, 0, row, 1, 1);
  gtk_grid_attach (self->facts, val, 1, row, 1, 1);
}

static char *
format_time (gint64 time_us)
{
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  if (when == NULL)
    return g_strdup ("");
  if (g_date_time_get_year (when) == g_date_time_get_year (now)
      && g_date_time_get_day_of_year (when) == g_date_time_get_day_of_year (now))
    return g_date_time_format (when, "%H:%M");
  return g_date_time_format (when, "%Y-%m-%d %H:%M");
}

static char *
describe_event (CuratorDetail *self, const CuratorDbEvent *event, gboolean undone)
{
  const char *old_name = curator_sample_model_get_class_name (self->model, event->old_label);
  const char *new_name = curator_sample_model_get_class_name (self->model, event->new_label);
  const char *what = "";
  g_autofree char *text = NULL;

  switch (event->action)
    {
    case CURATOR_ACTION_RELABEL:
      text = g_strdup_printf ("Relabelled %s → %s", old_name, new_name);
      break;
    case CURATOR_ACTION_ACCEPT:
      text = g_strdup_printf ("Accepted suggestion %s → %s", old_name, new_name);
      break;
    case CURATOR_ACTION_CONFIRM:
      text = g_strdup_printf ("Confirmed %s", new_name);
      break;
    case CURATOR_ACTION_EXCLUDE:
      what = "Excluded";
      break;
    case CURATOR_ACTION_RESTORE:
      what = "Restored";
      break;
    case CURATOR_ACTION_UNDO:
      what = "Undo";
      break;
    default:
      what = "?";
      break;
    }
  if (text == NULL)
    text = g_strdup (what);
  return undone ? g_strdup_printf ("<s>%s</s>", text) : g_markup_escape_text (text, -1);
}

static void
fill_history (CuratorDetail *self, gint64 sample_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GHashTable) reverted = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  GtkWidget *child;
  guint n_shown = 0;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->history))) != NULL)
    gtk_list_box_remove (self->history, child);

  events = self->db != NULL ? curator_db_list_events (self->db, sample_id, &error) : NULL;
  if (events == NULL && error != NULL)
    g_warning ("Cannot read the history of sample %" G_GINT64_FORMAT ": %s", sample_id, error->message);

  /* An undo of an active event strikes it through; undo events themselves
   * are not listed (an undone undo shows its event again). Walk newest
   * first so each undo is known before the event it reverts. */
  for (guint i = events != NULL ? events->len : 0; i-- > 0;)
    {
      const CuratorDbEvent *event = g_ptr_array_index (events, i);
      gboolean undone = g_hash_table_contains (reverted, &event->id);

      if (event->action == CURATOR_ACTION_UNDO)
        {
          if (!undone)
            g_hash_table_add (reverted, g_memdup2 (&event->reverts, sizeof event->reverts));
          continue;
        }
      {
        GtkWidget *row = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
        g_autofree char *markup = describe_event (self, event, undone);
        g_autofree char *when = format_time (event->time_us);
        g_autofree char *meta = g_strdup_printf ("%s · %s%s%s", when, curator_actor_to_string (event->actor),
                                                 event->note != NULL ? " · " : "",
                                                 event->note != NULL ? event->note : "");
        GtkWidget *title = gtk_label_new (NULL);
        GtkWidget *sub = gtk_label_new (meta);

        gtk_label_set_markup (GTK_LABEL (title), markup);
        gtk_label_set_xalign (GTK_LABEL (title), 0.0);
        gtk_label_set_wrap (GTK_LABEL (title), TRUE);
        gtk_label_set_xalign (GTK_LABEL (sub), 0.0);
        gtk_widget_add_css_class (sub, "caption");
        gtk_widget_add_css_class (sub, "dim-label");
        gtk_box_append (GTK_BOX (row), title);
        gtk_box_append (GTK_BOX (row), sub);
        gtk_widget_add_css_class (row, "history-row");
        gtk_list_box_append (self->history, row);
        n_shown++;
      }
    }
  if (n_shown == 0)
    {
      GtkWidget *none = gtk_label_new ("No decisions yet: the label is the one the dataset gave.");

      gtk_label_set_wrap (GTK_LABEL (none), TRUE);
      gtk_label_set_xalign (GTK_LABEL (none), 0.0);
      gtk_widget_add_css_class (none, "dim-label");
      gtk_widget_add_css_class (none, "history-row");
      gtk_list_box_append (self->history, none);
    }
}

#define MAX_DUPLICATES_SHOWN 10
#define MAX_NEIGHBOURS_SHOWN 10
#define STRIP_PX 44

static void
clear_strip (GtkFlowBox *strip)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (strip))) != NULL)
    gtk_flow_box_remove (strip, child);
}

/* One small picture with the class under it. Cached thumbnails show at
 * once; others are asked for and on_thumbnail_ready puts them in. */
static void
add_to_strip (CuratorDetail *self, GtkFlowBox *strip, const CuratorSampleInfo *other, const char *tooltip)
{
  GdkTexture *texture = curator_thumbnail_loader_lookup (self->loader, other->pixel_hash);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *picture = gtk_picture_new_for_paintable (texture != NULL ? GDK_PAINTABLE (texture) : NULL);
  GtkWidget *label = gtk_label_new (curator_sample_model_get_class_name (self->model, other->current_label));

  if (texture == NULL)
    want_thumbnail (self, other->pixel_hash);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_widget_set_size_request (picture, STRIP_PX, STRIP_PX);
  gtk_widget_add_css_class (picture, "strip-thumb");
  g_object_set_data_full (G_OBJECT (picture), "thumbnail-key", g_strdup (other->pixel_hash), g_free);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 6);
  gtk_widget_add_css_class (label, "caption");
  if (other->current_label != curator_sample_object_get_info (self->item)->current_label)
    gtk_widget_add_css_class (label, "other-label");
  gtk_box_append (GTK_BOX (box), picture);
  gtk_box_append (GTK_BOX (box), label);
  gtk_widget_set_tooltip_text (box, tooltip);
  gtk_flow_box_append (strip, box);
}

/* The sample's duplicates: the same pixels, or the run's duplicate group. */
static void
fill_duplicates (CuratorDetail *self, const CuratorSampleInfo *info)
{
  g_autoptr(GPtrArray) twins = curator_sample_model_list_duplicates (self->model, info, MAX_DUPLICATES_SHOWN);
  g_autofree char *title = NULL;

  clear_strip (self->duplicates);
  gtk_widget_set_visible (self->duplicates_box, twins->len > 0);
  if (twins->len == 0)
    return;
  title = g_strdup_printf ("Duplicates (%u%s)", twins->len, twins->len == MAX_DUPLICATES_SHOWN ? " or more" : "");
  gtk_label_set_text (self->duplicates_title, title);
  for (guint i = 0; i < twins->len; i++)
    {
      const CuratorSampleInfo *twin = g_ptr_array_index (twins, i);
      g_autofree char *tip = g_strdup_printf ("%s\n%s", twin->path,
                                              curator_sample_model_get_class_name (self->model, twin->current_label));

      add_to_strip (self, self->duplicates, twin, tip);
    }
}

/* The latest run's nearest neighbours in feature space, nearest first: the
 * neighbours' labels are half of why a label looks wrong. */
static void
fill_neighbours (CuratorDetail *self, const CuratorSampleInfo *info)
{
  const CuratorDbRun *run = curator_sample_model_get_run (self->model);
  g_autoptr(GArray) neighbours = NULL;
  g_autoptr(GError) error = NULL;
  guint n_agree = 0, n_shown = 0;

  clear_strip (self->neighbours);
  if (run != NULL && self->db != NULL)
    neighbours = curator_db_get_neighbours (self->db, run->id, info->id, &error);
  if (neighbours == NULL && error != NULL && !g_error_matches (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND))
    g_debug ("neighbours of %" G_GINT64_FORMAT ": %s", info->id, error->message);
  for (guint i = 0; neighbours != NULL && i < neighbours->len && n_shown < MAX_NEIGHBOURS_SHOWN; i++)
    {
      const CuratorDbNeighbour *n = &g_array_index (neighbours, CuratorDbNeighbour, i);
      const CuratorSampleInfo *other = curator_sample_model_lookup_info (self->model, n->sample_id);
      g_autofree char *tip = NULL;

      if (other == NULL)
        continue;
      tip = g_strdup_printf ("%s\n%s · similarity %.2f", other->path,
                             curator_sample_model_get_class_name (self->model, other->current_label),
                             n->similarity);
      add_to_strip (self, self->neighbours, other, tip);
      n_agree += other->current_label == info->current_label;
      n_shown++;
    }
  gtk_widget_set_visible (self->neighbours_box, n_shown > 0);
  if (n_shown > 0)
    {
      g_autofree char *title = g_strdup_printf ("Nearest neighbours (%u of %u share its label)", n_agree, n_shown);
      gtk_label_set_text (self->neighbours_title, title);
    }
}

static void
fill (CuratorDetail *self)
{
  const CuratorSampleInfo *info = curator_sample_object_get_info (self->item);
  const char *given = curator_sample_model_get_class_name (self->model, info->given_label);
  const char *current = curator_sample_model_get_class_name (self->model, info->current_label);
  g_autofree char *size = NULL;
  g_autofree char *bytes = g_format_size (info->n_bytes);
  g_autofree char *current_text = NULL;
  GtkWidget *child;
  int row = 0;

  /* what this pane wants from the loader is asked for again below */
  release_thumbnails (self);
  if (!self->full_picture && curator_thumbnail_loader_lookup (self->loader, info->pixel_hash) == NULL)
    want_thumbnail (self, info->pixel_hash);

  gtk_label_set_text (self->file_name, info->file_name);
  gtk_label_set_text (self->path, info->path);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->path), info->path);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->facts))) != NULL)
    gtk_grid_remove (self->facts, child);
  if (info->width > 0)
    size = g_strdup_printf ("%d × %d %s, %s", info->width, info->height,
                            info->format != NULL ? info->format : "", bytes);
  else
    size = g_strdup (bytes);
  add_fact (self, row++, "Size", size);
  add_fact (self, row++, "Given", given);
  if (g_strcmp0 (info->label_source, "given") == 0)
    current_text = g_strdup_printf ("%s%s", current, info->verified ? " (confirmed)" : "");
  else
    current_text = g_strdup_printf ("%s (%s%s)", current,
                                    g_strcmp0 (info->label_source, "pseudo") == 0 ? "accepted suggestion" : "chosen by a person",
                                    info->verified ? ", verified" : "");
  add_fact (self, row++, "Label", current_text);
  if (info->status != CURATOR_SAMPLE_OK)
    {
      g_autofree char *status = g_strdup_printf ("%s: %s", curator_sample_status_to_string (info->status),
                                                 info->status_reason != NULL ? info->status_reason : "");
      add_fact (self, row++, "Status", status);
    }
  if (info->excluded)
    add_fact (self, row++, "Excluded", "yes: left out of training and export");
  if (info->has_score)
    {
      g_autofree char *quality = g_strdup_printf ("%.2f (0 = surely wrong, 1 = surely right)",
                                                  info->label_quality);
      add_fact (self, row++, "Quality", quality);
    }

  if (info->badges & CURATOR_BADGE_SUGGESTED)
    {
      g_autofree char *title = g_strdup_printf ("Suggests %s · %.0f%%",
                                                curator_sample_model_get_class_name (self->model, info->suggested_label),
                                                100.0 * info->suggestion_confidence);
      g_autofree char *reason = NULL;

      gtk_label_set_text (self->suggestion_title, title);
      gtk_level_bar_set_value (self->confidence_bar, CLAMP (info->suggestion_confidence, 0.0, 1.0));
      if (info->reason != NULL)
        reason = g_strdup (info->reason);
      else
        reason = g_strdup_printf ("The classifier, trained without this sample, gives “%s” %.0f%% and its label “%s” %.0f%%.",
                                  curator_sample_model_get_class_name (self->model, info->predicted_label),
                                  100.0 * info->p_predicted, current, 100.0 * info->p_label);
      gtk_label_set_text (self->reason, reason);
      gtk_widget_set_visible (self->suggestion_box, TRUE);
      gtk_widget_set_visible (self->accept_button, TRUE);
    }
  else
    {
      if (info->has_score && info->predicted_label != 0 && info->predicted_label == info->current_label)
        {
          g_autofree char *text = g_strdup_printf ("No suggestion: the classifier agrees with “%s” (%.0f%%).",
                                                   current, 100.0 * info->p_predicted);
          gtk_label_set_text (self->suggestion_title, text);
        }
      else if (info->has_score)
        gtk_label_set_text (self->suggestion_title, "No suggestion: the analysis found nothing to change.");
      else
        gtk_label_set_text (self->suggestion_title, "Not analysed yet: run Analyze to get suggestions.");
      gtk_label_set_text (self->reason, info->reason != NULL ? info->reason : "");
      gtk_level_bar_set_value (self->confidence_bar, 0.0);
      gtk_widget_set_visible (GTK_WIDGET (self->reason), info->reason != NULL);
      gtk_widget_set_visible (GTK_WIDGET (self->confidence_bar), FALSE);
      gtk_widget_set_visible (self->suggestion_box, TRUE);
      /* nothing to accept: the button would only say no */
      gtk_widget_set_visible (self->accept_button, FALSE);
      fill_history (self, info->id);
      fill_duplicates (self, info);
      fill_neighbours (self, info);
      gtk_button_set_label (self->exclude_button, info->excluded ? "Restore" : "Exclude");
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->exclude_button),
                                      info->excluded ? "review.restore" : "review.exclude");
      return;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->reason), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->confidence_bar), TRUE);
  gtk_button_set_label (self->exclude_button, info->excluded ? "Restore" : "Exclude");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->exclude_button),
                                  info->excluded ? "review.restore" : "review.exclude");
  fill_history (self, info->id);
  fill_duplicates (self, info);
  fill_neighbours (self, info);
}

static void
on_item_changed (CuratorSampleObject *item, gpointer user_data)
{
  fill (CURATOR_DETAIL (user_data));
}

/* ---- API ---------------------------------------------------------------------- */

static void
drop_item (CuratorDetail *self)
{
  release_thumbnails (self);
  if (self->item != NULL)
    g_clear_signal_handler (&self->changed_id, self->item);
  g_clear_object (&self->item);
  g_cancellable_cancel (self->load);
  g_clear_object (&self->load);
}

void
curator_detail_set_context (CuratorDetail          *self,
                            CuratorDb              *db,
                            const char             *root,
                            CuratorSampleModel     *model,
                            CuratorThumbnailLoader *loader)
{
  g_return_if_fail (CURATOR_IS_DETAIL (self));

  drop_item (self);
  if (self->loader != NULL)
    g_clear_signal_handler (&self->ready_id, self->loader);
  self->db = db;
  self->model = model;
  self->loader = loader;
  g_free (self->root);
  self->root = g_strdup (root);
  if (loader != NULL)
    self->ready_id = g_signal_connect (loader, "ready", G_CALLBACK (on_thumbnail_ready), self);
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

void
curator_detail_show_sample (CuratorDetail *self, CuratorSampleObject *item)
{
  const CuratorSampleInfo *info;
  GdkTexture *thumb;

  g_return_if_fail (CURATOR_IS_DETAIL (self));

  if (item == self->item && item != NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "sample");
      return;
    }
  drop_item (self);
  if (item == NULL || self->model == NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  self->item = g_object_ref (item);
  self->changed_id = g_signal_connect (item, "changed", G_CALLBACK (on_item_changed), self);
  info = curator_sample_object_get_info (item);

  /* the thumbnail at once, the full picture when decoded */
  thumb = curator_thumbnail_loader_lookup (self->loader, info->pixel_hash);
  gtk_picture_set_paintable (self->picture, thumb != NULL ? GDK_PAINTABLE (thumb) : NULL);
  load_full_picture (self, info);
  fill (self);
  gtk_stack_set_visible_child_name (self->stack, "sample");
}

void
curator_detail_show_selection (CuratorDetail *self, guint n_selected)
{
  g_autofree char *title = NULL;

  g_return_if_fail (CURATOR_IS_DETAIL (self));

  drop_item (self);
  title = g_strdup_printf ("%u samples selected", n_selected);
  gtk_label_set_text (self->multi_title, title);
  gtk_stack_set_visible_child_name (self->stack, "multi");
}

gint64
curator_detail_get_sample_id (CuratorDetail *self)
{
  g_return_val_if_fail (CURATOR_IS_DETAIL (self), 0);
  return self->item != NULL ? curator_sample_object_get_id (self->item) : 0;
}

gboolean
curator_detail_has_full_picture (CuratorDetail *self)
{
  g_return_val_if_fail (CURATOR_IS_DETAIL (self), FALSE);
  return self->full_picture;
}

/* ---- GObject -------------------------------------------------------------------- */

static void
curator_detail_dispose (GObject *object)
{
  CuratorDetail *self = CURATOR_DETAIL (object);

  drop_item (self);
  if (self->loader != NULL)
    g_clear_signal_handler (&self->ready_id, self->loader);
  self->loader = NULL;
  self->model = NULL;
  g_clear_pointer (&self->wanted, g_ptr_array_unref);
  self->db = NULL;
  g_clear_pointer (&self->root, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), CURATOR_TYPE_DETAIL);
  G_OBJECT_CLASS (curator_detail_parent_class)->dispose (object);
}

static void
curator_detail_class_init (CuratorDetailClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = curator_detail_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/curator/Curator/curator-detail.ui");
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, stack);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, multi_title);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, picture_scroller);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, picture);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, actual_size);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, file_name);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, path);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, facts);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, suggestion_box);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, suggestion_title);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, confidence_bar);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, reason);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, accept_button);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, exclude_button);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, history);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, duplicates_box);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, duplicates_title);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, duplicates);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, neighbours_box);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, neighbours_title);
  gtk_widget_class_bind_template_child (widget_class, CuratorDetail, neighbours);
  gtk_widget_class_bind_template_callback (widget_class, on_actual_size_toggled);
}

static void
curator_detail_init (CuratorDetail *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_scrolled_window_set_policy (self->picture_scroller, GTK_POLICY_NEVER, GTK_POLICY_NEVER);
  self->wanted = g_ptr_array_new_with_free_func (g_free);
}

/* curator-window-actions.c: keyboard-first review.
 *
 * Every decision goes through curator_db_record_decision on the window's
 * connection; a decision on several selected samples is one batch of the
 * project's log (curator_db_begin_batch): one transaction and one undo step
 * for everyone, the CLI's `curator undo` included. Keys: a hotkey per
 * class relabels, A/Enter accepts the suggestion, C confirms, X excludes,
 * Backspace restores, J/K (and the arrows, natively) move, Ctrl+Z and
 * Ctrl+Shift+Z undo and redo through the project's event log. */
#include "curator-window-private.h"

/* ---- targets ------------------------------------------------------------------ */

/* The selected samples' records, in list order: (transfer full) array of
 * references, so that a pending confirmation outlives a reload. Records,
 * not objects: a batch over 100,000 samples creates no GObject. */
static GPtrArray *
selected_items (CuratorWindow *self)
{
  g_autoptr(GtkBitset) selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_sample_info_unref);
  GtkBitsetIter iter;
  guint position;

  for (gboolean ok = gtk_bitset_iter_init_first (&iter, selected, &position); ok;
       ok = gtk_bitset_iter_next (&iter, &position))
    g_ptr_array_add (items, curator_sample_info_ref ((CuratorSampleInfo *) curator_sample_model_peek_info (self->model, position)));
  return items;
}

/* Whether @action makes sense for this sample; the db refuses the others. */
static gboolean
applies (const CuratorSampleInfo *info, CuratorAction action, gint64 label)
{
  switch (action)
    {
    case CURATOR_ACTION_RELABEL:
      return label != 0 && info->current_label != label && info->status == CURATOR_SAMPLE_OK;
    case CURATOR_ACTION_ACCEPT:
      return (info->badges & CURATOR_BADGE_SUGGESTED) != 0 && info->status == CURATOR_SAMPLE_OK;
    case CURATOR_ACTION_CONFIRM:
      return info->current_label != 0 && info->status == CURATOR_SAMPLE_OK;
    case CURATOR_ACTION_EXCLUDE:
      return !info->excluded;
    case CURATOR_ACTION_RESTORE:
      return info->excluded;
    case CURATOR_ACTION_UNDO:
    default:
      return FALSE;
    }
}

static const char *
past_tense (CuratorAction action)
{
  switch (action)
    {
    case CURATOR_ACTION_RELABEL: return "Relabelled";
    case CURATOR_ACTION_ACCEPT:  return "Accepted the suggestion for";
    case CURATOR_ACTION_CONFIRM: return "Confirmed";
    case CURATOR_ACTION_EXCLUDE: return "Excluded";
    case CURATOR_ACTION_RESTORE: return "Restored";
    case CURATOR_ACTION_UNDO:
    default:                     return "Changed";
    }
}

/* ---- deciding ------------------------------------------------------------------ */

static void
record (CuratorWindow *self, GPtrArray *items, CuratorAction action, gint64 label)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint cursor = _curator_window_get_cursor (self);
  const CuratorSampleInfo *first = NULL;
  guint n_done;

  /* several samples: one batch, so that one undo (here or from the CLI)
   * reverts them all; one sample is a plain decision */
  if (items->len > 1 && curator_db_begin_batch (self->db, &error) == 0)
    goto failed;
  for (guint i = 0; i < items->len; i++)
    {
      const CuratorSampleInfo *info = g_ptr_array_index (items, i);
      gint64 new_label = action == CURATOR_ACTION_ACCEPT ? info->suggested_label : label;

      if (!applies (info, action, label))
        continue;
      if (curator_db_record_decision (self->db, info->id, action, new_label, CURATOR_ACTOR_HUMAN,
                                      0, NULL, &error) == 0)
        {
          if (items->len > 1)
            curator_db_end_batch (self->db, FALSE, NULL);
          goto failed;
        }
      g_array_append_val (ids, info->id);
      if (first == NULL)
        first = info;
    }
  if (items->len > 1 && !curator_db_end_batch (self->db, TRUE, &error))
    goto failed;

  n_done = ids->len;
  if (n_done == 0)
    {
      _curator_window_toast (self, FALSE, "Nothing to do: %s", action == CURATOR_ACTION_ACCEPT
                             ? "no suggestion to accept"
                             : "the selection already is that way");
      return;
    }
  _curator_window_after_decisions (self, (const gint64 *) ids->data, ids->len);

  if (n_done > 1)
    _curator_window_toast (self, TRUE, "%s %u samples", past_tense (action), n_done);
  else if (action == CURATOR_ACTION_RELABEL || action == CURATOR_ACTION_ACCEPT)
    _curator_window_toast (self, TRUE, "%s is now “%s”%s", first->file_name,
                           curator_sample_model_get_class_name (self->model, first->current_label),
                           action == CURATOR_ACTION_ACCEPT ? " (suggestion accepted)" : "");

  /* one sample decided: on to the next, so a review is a run of key presses */
  if (self->auto_advance && items->len == 1 && cursor != G_MAXUINT
      && cursor + 1 < g_list_model_get_n_items (G_LIST_MODEL (self->model)))
    curator_window_select_position (self, cursor + 1);
  return;

failed:
  _curator_window_toast (self, FALSE, "The decision was not recorded: %s", error->message);
}

typedef struct {
  CuratorWindow *self;
  GPtrArray     *items;
  CuratorAction  action;
  gint64         label;
} Pending;

static void
on_confirm_response (GtkDialog *dialog, int response, gpointer user_data)
{
  Pending *pending = user_data;

  if (response == GTK_RESPONSE_ACCEPT && pending->self->db != NULL)
    record (pending->self, pending->items, pending->action, pending->label);
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_ptr_array_unref (pending->items);
  g_object_unref (pending->self);
  g_free (pending);
}

void
_curator_window_decide (CuratorWindow *self, CuratorAction action, gint64 label)
{
  g_autoptr(GPtrArray) items = NULL;
  guint n_apply = 0;

  if (self->db == NULL)
    return;
  items = selected_items (self);
  if (items->len == 0)
    {
      _curator_window_toast (self, FALSE, "Select a sample first");
      return;
    }
  for (guint i = 0; i < items->len; i++)
    n_apply += applies (g_ptr_array_index (items, i), action, label);

  if (items->len > 1 && n_apply > 0 && self->confirm_batches)
    {
      Pending *pending = g_new0 (Pending, 1);
      g_autofree char *what = NULL;
      GtkWidget *dialog;

      if (action == CURATOR_ACTION_RELABEL)
        what = g_strdup_printf ("Relabel %u samples as “%s”?", n_apply,
                                curator_sample_model_get_class_name (self->model, label));
      else
        what = g_strdup_printf ("%s %u samples?",
                                action == CURATOR_ACTION_ACCEPT ? "Accept the suggestions for"
                                : action == CURATOR_ACTION_CONFIRM ? "Confirm the labels of"
                                : action == CURATOR_ACTION_EXCLUDE ? "Exclude" : "Restore",
                                n_apply);
      dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                       GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "%s", what);
      gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                                "%u of the %u selected samples change. One undo (Ctrl+Z) reverts them all.",
                                                n_apply, items->len);
      gtk_dialog_add_buttons (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL,
                              "_Apply", GTK_RESPONSE_ACCEPT, NULL);
      gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
      pending->self = g_object_ref (self);
      pending->items = g_ptr_array_ref (items);
      pending->action = action;
      pending->label = label;
      g_signal_connect (dialog, "response", G_CALLBACK (on_confirm_response), pending);
      gtk_window_present (GTK_WINDOW (dialog));
      return;
    }
  record (self, items, action, label);
}

/* ---- accept every suggestion above a confidence -------------------------------- */

#define ACCEPT_CONFIDENCE_DEFAULT 0.9

/* The shown samples whose suggestion is at least @min_confidence (transfer full). */
static GPtrArray *
confident_items (CuratorWindow *self, double min_confidence)
{
  GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_sample_info_unref);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->model));

  for (guint p = 0; p < n; p++)
    {
      const CuratorSampleInfo *info = curator_sample_model_peek_info (self->model, p);

      if (applies (info, CURATOR_ACTION_ACCEPT, 0) && info->suggestion_confidence >= min_confidence)
        g_ptr_array_add (items, curator_sample_info_ref ((CuratorSampleInfo *) info));
    }
  return items;
}

static void
update_confident_count (GtkSpinButton *spin, GtkLabel *label)
{
  CuratorWindow *self = g_object_get_data (G_OBJECT (spin), "window");
  g_autoptr(GPtrArray) items = confident_items (self, gtk_spin_button_get_value (spin));
  g_autofree char *count = curator_format_count (items->len);
  g_autofree char *text = g_strdup_printf ("%s of the shown samples have a suggestion this sure. "
                                           "One undo (Ctrl+Z) reverts them all.", count);

  gtk_label_set_text (label, text);
}

static void
on_accept_confident_response (GtkDialog *dialog, int response, CuratorWindow *self)
{
  GtkSpinButton *spin = g_object_get_data (G_OBJECT (dialog), "spin");

  if (response == GTK_RESPONSE_ACCEPT && self->db != NULL)
    {
      g_autoptr(GPtrArray) items = confident_items (self, gtk_spin_button_get_value (spin));

      if (items->len > 0)
        {
          gtk_selection_model_unselect_all (GTK_SELECTION_MODEL (self->selection));
          record (self, items, CURATOR_ACTION_ACCEPT, 0);
        }
    }
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
review_accept_confident (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);
  GtkWidget *dialog, *box, *row, *spin, *label;

  if (self->db == NULL)
    return;
  dialog = gtk_dialog_new_with_buttons ("Accept Sure Suggestions", GTK_WINDOW (self),
                                        GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT | GTK_DIALOG_USE_HEADER_BAR,
                                        "_Cancel", GTK_RESPONSE_CANCEL, "_Accept", GTK_RESPONSE_ACCEPT, NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  box = gtk_dialog_get_content_area (GTK_DIALOG (dialog));
  gtk_box_set_spacing (GTK_BOX (box), 12);
  gtk_widget_set_margin_start (box, 24);
  gtk_widget_set_margin_end (box, 24);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  spin = gtk_spin_button_new_with_range (0.5, 1.0, 0.01);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), 2);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), ACCEPT_CONFIDENCE_DEFAULT);
  gtk_box_append (GTK_BOX (row), gtk_label_new_with_mnemonic ("Accept suggestions with a _confidence of at least"));
  gtk_box_append (GTK_BOX (row), spin);
  gtk_box_append (GTK_BOX (box), row);

  label = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 50);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_box_append (GTK_BOX (box), label);

  g_object_set_data (G_OBJECT (spin), "window", self);
  g_object_set_data (G_OBJECT (dialog), "spin", spin);
  g_signal_connect (spin, "value-changed", G_CALLBACK (update_confident_count), label);
  update_confident_count (GTK_SPIN_BUTTON (spin), GTK_LABEL (label));
  g_signal_connect (dialog, "response", G_CALLBACK (on_accept_confident_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- undo and redo --------------------------------------------------------------
 *
 * The project's log undoes one step at a time, the latest of anyone's: a
 * single decision or a whole batch. Should another writer (the CLI) have
 * decided in between, its step is the latest and is what gets undone: the
 * log, not this window, is the truth. */

/* Refreshes the samples of the step just undone or redone: the newest event
 * and, when it belongs to a batch, every event of that batch (the UNDO
 * events of one step share a batch id of their own). Returns their count. */
static guint
refresh_last_step (CuratorWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = curator_db_list_events (self->db, 0, &error);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  const CuratorDbEvent *last;

  if (events == NULL)
    {
      _curator_window_toast (self, FALSE, "Cannot read the decision log: %s", error->message);
      return 0;
    }
  if (events->len == 0)
    return 0;
  last = g_ptr_array_index (events, events->len - 1);
  for (guint i = events->len; i > 0; i--)
    {
      const CuratorDbEvent *event = g_ptr_array_index (events, i - 1);

      if (event != last && (last->batch_id == 0 || event->batch_id != last->batch_id))
        break;
      g_array_append_val (ids, event->sample_id);
    }
  _curator_window_after_decisions (self, (const gint64 *) ids->data, ids->len);
  return ids->len;
}

static void
undo_or_redo (CuratorWindow *self, gboolean redo)
{
  g_autoptr(GError) error = NULL;
  gint64 reverted;
  guint n_done;

  if (self->db == NULL)
    return;
  reverted = redo ? curator_db_redo (self->db, CURATOR_ACTOR_HUMAN, &error)
                  : curator_db_undo (self->db, CURATOR_ACTOR_HUMAN, &error);
  if (reverted < 0)
    {
      _curator_window_toast (self, FALSE, "%s failed: %s", redo ? "Redo" : "Undo", error->message);
      return;
    }
  if (reverted == 0)
    {
      _curator_window_toast (self, FALSE, redo ? "Nothing to redo" : "Nothing to undo");
      return;
    }
  n_done = refresh_last_step (self);
  _curator_window_toast (self, FALSE, "%s %u decision%s", redo ? "Redid" : "Undid", n_done, n_done == 1 ? "" : "s");
}

/* ---- action callbacks ------------------------------------------------------------- */

static void
review_relabel_key (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);
  const char *key = g_variant_get_string (parameter, NULL);
  gint64 class_id;

  if (self->db == NULL)
    return;
  class_id = curator_sample_model_class_for_hotkey (self->model, key);
  if (class_id == 0)
    {
      _curator_window_toast (self, FALSE, "No class has the key “%s”", key);
      return;
    }
  _curator_window_decide (self, CURATOR_ACTION_RELABEL, class_id);
}

static void
review_relabel (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  _curator_window_decide (CURATOR_WINDOW (widget), CURATOR_ACTION_RELABEL, g_variant_get_int64 (parameter));
}

static void
review_simple (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorAction action;

  if (g_str_equal (action_name, "review.accept"))
    action = CURATOR_ACTION_ACCEPT;
  else if (g_str_equal (action_name, "review.confirm"))
    action = CURATOR_ACTION_CONFIRM;
  else if (g_str_equal (action_name, "review.exclude"))
    action = CURATOR_ACTION_EXCLUDE;
  else
    action = CURATOR_ACTION_RESTORE;
  _curator_window_decide (CURATOR_WINDOW (widget), action, 0);
}

static void
review_undo (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  undo_or_redo (CURATOR_WINDOW (widget), FALSE);
}

static void
review_redo (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  undo_or_redo (CURATOR_WINDOW (widget), TRUE);
}

static void
review_move (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);
  int delta = g_variant_get_int32 (parameter);
  guint cursor = _curator_window_get_cursor (self);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->model));

  if (n == 0)
    return;
  if (cursor == G_MAXUINT)
    curator_window_select_position (self, 0);
  else if (delta < 0)
    curator_window_select_position (self, cursor >= (guint) -delta ? cursor + delta : 0);
  else
    curator_window_select_position (self, MIN (cursor + delta, n - 1));
}

static void
view_zoom (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);
  int step = g_str_equal (action_name, "view.zoom-in") ? CURATOR_THUMB_STEP_PX : -CURATOR_THUMB_STEP_PX;

  _curator_window_set_thumb_px (self, self->thumb_px + step);
}

static void
view_search (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  curator_sidebar_focus_search (CURATOR_WINDOW (widget)->sidebar);
}

static void
view_filter (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  curator_sidebar_select_filter (CURATOR_WINDOW (widget)->sidebar, g_variant_get_int32 (parameter));
}

static void
on_chart_cell (CuratorCharts *charts, gint64 given, gint64 believed, CuratorWindow *self)
{
  curator_sidebar_select_filter (self->sidebar, CURATOR_SAMPLE_FILTER_ALL);
  curator_sample_model_set_pair (self->model, given, believed);
  _curator_window_toast (self, FALSE, "Given “%s”, believed “%s”",
                         curator_sample_model_get_class_name (self->model, given),
                         curator_sample_model_get_class_name (self->model, believed));
}

static void
view_charts (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);

  if (self->charts == NULL)
    {
      self->charts = curator_charts_new (GTK_WINDOW (self), self->model);
      g_object_add_weak_pointer (G_OBJECT (self->charts), (gpointer *) &self->charts);
      g_signal_connect_object (self->charts, "cell-activated", G_CALLBACK (on_chart_cell), self, 0);
    }
  curator_charts_show_matrix (self->charts, g_str_equal (action_name, "view.noise-matrix"));
  gtk_window_present (GTK_WINDOW (self->charts));
}

void
_curator_window_update_actions (CuratorWindow *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean open = self->db != NULL;
  gboolean busy = self->job != NULL;
  gboolean has_selection = FALSE;

  if (self->selection != NULL && open)
    {
      g_autoptr(GtkBitset) selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
      has_selection = !gtk_bitset_is_empty (selected);
    }
  gtk_widget_action_set_enabled (widget, "project.reindex", open && !busy && self->root != NULL);
  gtk_widget_action_set_enabled (widget, "project.analyze", open && !busy);
  gtk_widget_action_set_enabled (widget, "project.reload", open);
  gtk_widget_action_set_enabled (widget, "project.export", open && !busy);
  gtk_widget_action_set_enabled (widget, "project.cancel-job", busy);
  gtk_widget_action_set_enabled (widget, "project.new", !busy);
  gtk_widget_action_set_enabled (widget, "project.open", !busy);
  gtk_widget_action_set_enabled (widget, "project.open-recent", !busy);
  gtk_widget_action_set_enabled (widget, "review.accept", has_selection);
  gtk_widget_action_set_enabled (widget, "review.confirm", has_selection);
  gtk_widget_action_set_enabled (widget, "review.exclude", has_selection);
  gtk_widget_action_set_enabled (widget, "review.restore", has_selection);
  gtk_widget_action_set_enabled (widget, "review.relabel", has_selection);
  gtk_widget_action_set_enabled (widget, "review.relabel-key", has_selection);
  gtk_widget_action_set_enabled (widget, "view.charts", open);
  gtk_widget_action_set_enabled (widget, "view.noise-matrix", open);
  gtk_widget_action_set_enabled (widget, "review.accept-confident", open && curator_sample_model_get_run (self->model) != NULL);
  gtk_widget_action_set_enabled (widget, "review.undo", open);
  gtk_widget_action_set_enabled (widget, "review.redo", open);
}

void
_curator_window_class_init_actions (GtkWidgetClass *widget_class)
{
  static const char digits[] = "1234567890";
  static const guint keypad[] = { GDK_KEY_KP_1, GDK_KEY_KP_2, GDK_KEY_KP_3, GDK_KEY_KP_4, GDK_KEY_KP_5,
                                  GDK_KEY_KP_6, GDK_KEY_KP_7, GDK_KEY_KP_8, GDK_KEY_KP_9, GDK_KEY_KP_0 };

  gtk_widget_class_install_action (widget_class, "review.relabel-key", "s", review_relabel_key);
  gtk_widget_class_install_action (widget_class, "review.relabel", "x", review_relabel);
  gtk_widget_class_install_action (widget_class, "review.accept", NULL, review_simple);
  gtk_widget_class_install_action (widget_class, "review.accept-confident", NULL, review_accept_confident);
  gtk_widget_class_install_action (widget_class, "review.confirm", NULL, review_simple);
  gtk_widget_class_install_action (widget_class, "review.exclude", NULL, review_simple);
  gtk_widget_class_install_action (widget_class, "review.restore", NULL, review_simple);
  gtk_widget_class_install_action (widget_class, "review.undo", NULL, review_undo);
  gtk_widget_class_install_action (widget_class, "review.redo", NULL, review_redo);
  gtk_widget_class_install_action (widget_class, "review.move", "i", review_move);
  gtk_widget_class_install_action (widget_class, "view.zoom-in", NULL, view_zoom);
  gtk_widget_class_install_action (widget_class, "view.zoom-out", NULL, view_zoom);
  gtk_widget_class_install_action (widget_class, "view.search", NULL, view_search);
  gtk_widget_class_install_action (widget_class, "view.filter", "i", view_filter);
  gtk_widget_class_install_action (widget_class, "view.charts", NULL, view_charts);
  gtk_widget_class_install_action (widget_class, "view.noise-matrix", NULL, view_charts);

  /* Class hotkeys: 1..9, 0, then letters that are no other command's. */
  for (guint i = 0; i < 10; i++)
    {
      char key[2] = { digits[i], '\0' };

      gtk_widget_class_add_binding_action (widget_class, gdk_unicode_to_keyval (digits[i]), 0,
                                           "review.relabel-key", "s", key);
      gtk_widget_class_add_binding_action (widget_class, keypad[i], 0, "review.relabel-key", "s", key);
    }
  for (const char *p = CURATOR_CLASS_LETTERS; *p != '\0'; p++)
    {
      char key[2] = { *p, '\0' };

      gtk_widget_class_add_binding_action (widget_class, gdk_unicode_to_keyval (*p), 0,
                                           "review.relabel-key", "s", key);
    }

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, 0, "review.accept", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, 0, "review.confirm", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_x, 0, "review.exclude", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_BackSpace, 0, "review.restore", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_j, 0, "review.move", "i", 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_k, 0, "review.move", "i", -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "review.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "review.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "review.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_y, GDK_CONTROL_MASK, "review.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK, "view.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK, "view.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, GDK_CONTROL_MASK, "view.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK, "view.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, GDK_CONTROL_MASK, "view.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "view.search", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "project.open", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "project.new", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "project.export", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "project.reload", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F9, 0, "view.show-detail", NULL);
}

/* curator-window.c: the main window: project lifecycle, grid, selection,
 * background jobs, drag and drop, screenshots. The review actions live in
 * curator-window-actions.c. */
#include "curator-window-private.h"

#include <stdarg.h>
#include <string.h>

#include <glib/gstdio.h>

#include "curator-application.h"
#include "curator-export-dialog.h"
#include "curator-sample-cell.h"

G_DEFINE_FINAL_TYPE (CuratorWindow, curator_window, GTK_TYPE_APPLICATION_WINDOW)

enum { PROP_0, PROP_THUMB_SIZE, PROP_AUTO_ADVANCE, PROP_SHOW_DETAIL, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* ---- toasts ----------------------------------------------------------------- */

static gboolean
hide_toast (gpointer user_data)
{
  CuratorWindow *self = user_data;

  self->toast_timeout_id = 0;
  gtk_revealer_set_reveal_child (self->toast_revealer, FALSE);
  return G_SOURCE_REMOVE;
}

void
_curator_window_toast (CuratorWindow *self, gboolean offer_undo, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  gtk_label_set_text (self->toast_label, text);
  gtk_widget_set_visible (self->toast_undo, offer_undo);
  gtk_revealer_set_reveal_child (self->toast_revealer, TRUE);
  g_clear_handle_id (&self->toast_timeout_id, g_source_remove);
  self->toast_timeout_id = g_timeout_add_seconds (offer_undo ? 5 : 4, hide_toast, self);
}

/* ---- title ------------------------------------------------------------------ */

void
_curator_window_update_title (CuratorWindow *self)
{
  g_autofree char *base = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *all_text = NULL;
  g_autofree char *shown_text = NULL;
  const CuratorDbRun *run;
  guint n_all, n_shown;

  if (self->project_path == NULL)
    {
      gtk_label_set_text (self->title_label, "Curator");
      gtk_widget_set_visible (GTK_WIDGET (self->subtitle_label), FALSE);
      gtk_window_set_title (GTK_WINDOW (self), "Curator");
      return;
    }
  base = g_path_get_basename (self->project_path);
  if (g_str_has_suffix (base, ".curator"))
    base[strlen (base) - strlen (".curator")] = '\0';
  gtk_label_set_text (self->title_label, base);
  gtk_window_set_title (GTK_WINDOW (self), base);

  n_all = curator_sample_model_get_n_samples (self->model);
  n_shown = g_list_model_get_n_items (G_LIST_MODEL (self->model));
  run = curator_sample_model_get_run (self->model);
  all_text = curator_format_count (n_all);
  shown_text = curator_format_count (n_shown);
  if (n_shown == n_all)
    subtitle = g_strdup_printf ("%s samples%s", all_text, run == NULL ? " · not analysed" : "");
  else
    subtitle = g_strdup_printf ("%s of %s samples shown", shown_text, all_text);
  gtk_label_set_text (self->subtitle_label, subtitle);
  gtk_widget_set_visible (GTK_WIDGET (self->subtitle_label), TRUE);

  /* an empty grid says why */
  if (n_shown > 0)
    gtk_stack_set_visible_child_name (self->grid_stack, "grid");
  else
    {
      if (n_all > 0)
        {
          gtk_label_set_text (self->empty_title, "No samples here");
          gtk_label_set_text (self->empty_text, "No sample matches this filter, class and search.");
        }
      else if (self->job != NULL)
        {
          gtk_label_set_text (self->empty_title, "Reading the dataset…");
          gtk_label_set_text (self->empty_text, "The samples appear here when indexing is done.");
        }
      else
        {
          gtk_label_set_text (self->empty_title, "No samples yet");
          gtk_label_set_text (self->empty_text, "Drop a dataset folder (one folder per class) on this window to index it.");
        }
      gtk_stack_set_visible_child_name (self->grid_stack, "empty");
    }
}

/* ---- grid: factory and selection ------------------------------------------------ */

static void
factory_setup (GtkSignalListItemFactory *factory, GtkListItem *list_item, CuratorWindow *self)
{
  GtkWidget *cell = curator_sample_cell_new (self->loader, self->model);

  curator_sample_cell_set_thumb_size (CURATOR_SAMPLE_CELL (cell), self->thumb_px);
  gtk_list_item_set_child (list_item, cell);
  g_ptr_array_add (self->list_items, list_item);
}

static void
factory_bind (GtkSignalListItemFactory *factory, GtkListItem *list_item, CuratorWindow *self)
{
  curator_sample_cell_set_item (CURATOR_SAMPLE_CELL (gtk_list_item_get_child (list_item)),
                                gtk_list_item_get_item (list_item));
}

static void
factory_unbind (GtkSignalListItemFactory *factory, GtkListItem *list_item, CuratorWindow *self)
{
  curator_sample_cell_set_item (CURATOR_SAMPLE_CELL (gtk_list_item_get_child (list_item)), NULL);
}

static void
factory_teardown (GtkSignalListItemFactory *factory, GtkListItem *list_item, CuratorWindow *self)
{
  if (self->list_items != NULL)
    g_ptr_array_remove_fast (self->list_items, list_item);
}

/* GtkGridView 4.8 keeps max-columns x 30 rows of cells alive and lays all
 * of them out in every frame, whatever number of columns fits: with
 * max-columns 40 that was 1,281 cells for 35 on screen, and most of each
 * frame while scrolling (tests/bench/gui). So max-columns follows what can
 * fit: the grid's width over the narrowest cell, plus one. */
#define CELL_EXTRA_PX (2 * 6 + 2 * 3)   /* samplecell padding + child margin, style.css */
#define GRID_PADDING_PX (2 * 12)

static gboolean
update_max_columns (gpointer user_data)
{
  CuratorWindow *self = user_data;
  int width = gtk_widget_get_width (GTK_WIDGET (self->grid));
  guint columns;

  self->columns_idle_id = 0;
  if (width <= 0)
    return G_SOURCE_REMOVE;
  columns = MAX (1, (width - GRID_PADDING_PX) / (self->thumb_px + CELL_EXTRA_PX)) + 1;
  if (gtk_grid_view_get_max_columns (self->grid) != columns)
    gtk_grid_view_set_max_columns (self->grid, columns);
  return G_SOURCE_REMOVE;
}

static void
queue_update_max_columns (CuratorWindow *self)
{
  /* not from inside an allocation: the change lays the grid out again */
  if (self->columns_idle_id == 0)
    self->columns_idle_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, update_max_columns, self, NULL);
}

void
_curator_window_set_thumb_px (CuratorWindow *self, int thumb_px)
{
  thumb_px = CLAMP (thumb_px, CURATOR_THUMB_MIN_PX, CURATOR_THUMB_MAX_PX_VIEW);
  if (thumb_px == self->thumb_px)
    return;
  self->thumb_px = thumb_px;
  for (guint i = 0; i < self->list_items->len; i++)
    {
      GtkWidget *cell = gtk_list_item_get_child (g_ptr_array_index (self->list_items, i));

      if (cell != NULL)
        curator_sample_cell_set_thumb_size (CURATOR_SAMPLE_CELL (cell), thumb_px);
    }
  queue_update_max_columns (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_THUMB_SIZE]);
}

guint
_curator_window_get_cursor (CuratorWindow *self)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  g_autoptr(GtkBitset) selected = NULL;

  /* the focused cell first: it is where arrow keys move from */
  for (guint i = 0; focus != NULL && i < self->list_items->len; i++)
    {
      GtkListItem *item = g_ptr_array_index (self->list_items, i);
      GtkWidget *cell = gtk_list_item_get_child (item);

      GtkWidget *item_widget = cell != NULL ? gtk_widget_get_parent (cell) : NULL;

      if (item_widget != NULL && gtk_list_item_get_item (item) != NULL
          && (focus == item_widget || gtk_widget_is_ancestor (focus, item_widget))
          && gtk_list_item_get_selected (item))
        return gtk_list_item_get_position (item);
    }
  selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  if (gtk_bitset_is_empty (selected))
    return G_MAXUINT;
  return gtk_bitset_get_minimum (selected);
}

void
curator_window_select_position (CuratorWindow *self, guint position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->selection));

  g_return_if_fail (CURATOR_IS_WINDOW (self));

  if (n == 0)
    return;
  position = MIN (position, n - 1);
  gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), position, TRUE);
  /* GTK 4.8 has no gtk_grid_view_scroll_to(): the list's own action scrolls
   * (and creates the item's widget), then the cell is focused so that arrow
   * keys continue from it. */
  gtk_widget_activate_action (GTK_WIDGET (self->grid), "list.scroll-to-item", "u", position);
  for (guint i = 0; i < self->list_items->len; i++)
    {
      GtkListItem *item = g_ptr_array_index (self->list_items, i);
      GtkWidget *cell = gtk_list_item_get_child (item);

      if (cell != NULL && gtk_list_item_get_item (item) != NULL
          && gtk_list_item_get_position (item) == position)
        {
          gtk_widget_grab_focus (gtk_widget_get_parent (cell));
          break;
        }
    }
}

static void
update_detail (CuratorWindow *self)
{
  g_autoptr(GtkBitset) selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  guint64 n = gtk_bitset_get_size (selected);

  if (n == 1)
    {
      g_autoptr(CuratorSampleObject) item =
        g_list_model_get_item (G_LIST_MODEL (self->selection), gtk_bitset_get_nth (selected, 0));
      curator_detail_show_sample (self->detail, item);
    }
  else if (n == 0)
    curator_detail_show_sample (self->detail, NULL);
  else
    curator_detail_show_selection (self->detail, (guint) n);
  _curator_window_update_actions (self);
}

static void
on_selection_changed (GtkSelectionModel *model, guint position, guint n_items, CuratorWindow *self)
{
  update_detail (self);
}

static void
on_replacing (CuratorSampleModel *model, CuratorWindow *self)
{
  gtk_selection_model_unselect_all (GTK_SELECTION_MODEL (self->selection));
}

static void
on_items_changed (GListModel *model, guint position, guint removed, guint added, CuratorWindow *self)
{
  _curator_window_update_title (self);
  /* a new filter or sort: start the review at its first sample */
  if (removed > 0 && added > 0 && position == 0)
    gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), 0, TRUE);
  update_detail (self);
}

gboolean
curator_window_thumbnails_settled (CuratorWindow *self)
{
  guint n_shown = 0;

  g_return_val_if_fail (CURATOR_IS_WINDOW (self), FALSE);

  for (guint i = 0; i < self->list_items->len; i++)
    {
      GtkListItem *item = g_ptr_array_index (self->list_items, i);
      CuratorSampleObject *object = gtk_list_item_get_item (item);
      GtkWidget *cell = gtk_list_item_get_child (item);

      if (object == NULL || cell == NULL || !gtk_widget_get_mapped (cell))
        continue;
      n_shown++;
      if (!curator_sample_cell_has_thumbnail (CURATOR_SAMPLE_CELL (cell))
          && !curator_thumbnail_loader_is_broken (self->loader,
                                                  curator_sample_object_get_info (object)->pixel_hash))
        return FALSE;
    }
  /* cells appear with the first layout after the model fills */
  return n_shown > 0 || g_list_model_get_n_items (G_LIST_MODEL (self->model)) == 0;
}

/* ---- other writers ---------------------------------------------------------------
 *
 * The CLI may decide on the same project while the window is open. Every
 * write lands in the project's WAL file; a change there (debounced) makes the
 * window read the log for events it has not seen and refresh their samples,
 * and reload everything when a newer analysis run appeared. */

static guint
count_events (CuratorWindow *self, GPtrArray **events_out)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *events = curator_db_list_events (self->db, 0, &error);

  if (events == NULL)
    {
      g_debug ("cannot read the decision log: %s", error->message);
      return self->n_events_seen;
    }
  guint n = events->len;
  if (events_out != NULL)
    *events_out = events;
  else
    g_ptr_array_unref (events);
  return n;
}

static void reload (CuratorWindow *self);

static gboolean
check_other_writers (gpointer user_data)
{
  CuratorWindow *self = user_data;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbRun) run = NULL;
  const CuratorDbRun *shown;
  guint n;

  self->monitor_timeout_id = 0;
  if (self->db == NULL || self->job != NULL)
    return G_SOURCE_REMOVE;  /* a job's end reloads anyway */

  run = curator_db_get_run (self->db, 0, &error);
  shown = curator_sample_model_get_run (self->model);
  if ((run != NULL) != (shown != NULL) || (run != NULL && run->id != shown->id))
    {
      reload (self);
      self->n_events_seen = count_events (self, NULL);
      return G_SOURCE_REMOVE;
    }

  n = count_events (self, &events);
  if (events != NULL && n > self->n_events_seen)
    {
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));

      for (guint i = self->n_events_seen; i < n; i++)
        g_array_append_val (ids, ((CuratorDbEvent *) g_ptr_array_index (events, i))->sample_id);
      self->n_events_seen = n;
      _curator_window_after_decisions (self, (const gint64 *) ids->data, ids->len);
    }
  return G_SOURCE_REMOVE;
}

static void
on_project_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event, CuratorWindow *self)
{
  if (event != G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT && event != G_FILE_MONITOR_EVENT_CHANGED
      && event != G_FILE_MONITOR_EVENT_CREATED)
    return;
  if (self->monitor_timeout_id == 0)
    self->monitor_timeout_id = g_timeout_add (300, check_other_writers, self);
}

static void
watch_project (CuratorWindow *self)
{
  g_autofree char *wal = g_strdup_printf ("%s-wal", self->project_path);
  g_autoptr(GFile) file = g_file_new_for_path (wal);
  g_autoptr(GError) error = NULL;

  self->n_events_seen = count_events (self, NULL);
  self->monitor = g_file_monitor_file (file, G_FILE_MONITOR_NONE, NULL, &error);
  if (self->monitor == NULL)
    {
      g_debug ("cannot watch %s: %s; press F5 to see other writers' changes", wal, error->message);
      return;
    }
  g_signal_connect (self->monitor, "changed", G_CALLBACK (on_project_changed), self);
}

/* ---- project lifecycle --------------------------------------------------------- */

static void
close_project (CuratorWindow *self)
{
  if (self->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->monitor, on_project_changed, self);
      g_file_monitor_cancel (self->monitor);
      g_clear_object (&self->monitor);
    }
  g_clear_handle_id (&self->monitor_timeout_id, g_source_remove);
  curator_detail_set_context (self->detail, NULL, NULL, NULL, NULL);
  curator_sample_model_clear (self->model);
  curator_thumbnail_loader_set_db (self->loader, NULL);
  g_clear_pointer (&self->db, curator_db_close);
  g_clear_pointer (&self->project_path, g_free);
  g_clear_pointer (&self->root, g_free);
}

static void
remember_project (CuratorWindow *self, const char *path)
{
  g_autoptr(GPtrArray) recent = NULL;
  g_auto(GStrv) old = NULL;

  if (self->settings == NULL)
    return;
  old = g_settings_get_strv (self->settings, "recent-projects");
  recent = g_ptr_array_new ();
  g_ptr_array_add (recent, (gpointer) path);
  for (guint i = 0; old[i] != NULL && recent->len < 10; i++)
    if (g_strcmp0 (old[i], path) != 0)
      g_ptr_array_add (recent, old[i]);
  g_ptr_array_add (recent, NULL);
  g_settings_set_strv (self->settings, "recent-projects", (const char * const *) recent->pdata);
}

/* The recent projects, in the main menu and on the welcome page; files
 * that have gone are left out. */
static void
on_recent_row_activated (GtkListBox *list, GtkListBoxRow *row, CuratorWindow *self)
{
  const char *path = g_object_get_data (G_OBJECT (row), "path");

  gtk_widget_activate_action (GTK_WIDGET (self), "project.open-recent", "s", path);
}

static char *
path_for_people (const char *path)
{
  const char *home = g_get_home_dir ();
  gsize n = home != NULL ? strlen (home) : 0;

  if (n > 1 && g_str_has_prefix (path, home) && path[n] == '/')
    return g_strdup_printf ("~%s", path + n);
  return g_strdup (path);
}

static void
update_recent (CuratorWindow *self)
{
  g_auto(GStrv) recent = NULL;
  GtkWidget *child;
  guint n_shown = 0;

  g_menu_remove_all (self->recent_menu);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))) != NULL)
    gtk_list_box_remove (self->recent_list, child);
  if (self->settings == NULL)
    return;

  recent = g_settings_get_strv (self->settings, "recent-projects");
  for (guint i = 0; recent[i] != NULL && n_shown < 8; i++)
    {
      g_autofree char *base = g_path_get_basename (recent[i]);
      g_autofree char *dir = g_path_get_dirname (recent[i]);
      g_autofree char *where = path_for_people (dir);
      g_autofree char *menu_label = NULL;
      g_autoptr(GMenuItem) item = NULL;
      GtkWidget *row, *box, *text, *name, *path, *icon;

      if (!g_file_test (recent[i], G_FILE_TEST_IS_REGULAR))
        continue;
      if (g_str_has_suffix (base, ".curator"))
        base[strlen (base) - strlen (".curator")] = '\0';
      /* underscores in names are not mnemonics */
      {
        g_auto(GStrv) parts = g_strsplit (base, "_", -1);
        g_autofree char *escaped = g_strjoinv ("__", parts);

        menu_label = g_strdup_printf ("%s  (%s)", escaped, where);
      }
      item = g_menu_item_new (menu_label, NULL);
      g_menu_item_set_action_and_target_value (item, "project.open-recent", g_variant_new_string (recent[i]));
      g_menu_append_item (self->recent_menu, item);

      row = gtk_list_box_row_new ();
      g_object_set_data_full (G_OBJECT (row), "path", g_strdup (recent[i]), g_free);
      box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
      icon = gtk_image_new_from_icon_name ("folder-symbolic");
      gtk_box_append (GTK_BOX (box), icon);
      text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      name = gtk_label_new (base);
      gtk_label_set_xalign (GTK_LABEL (name), 0.0);
      gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_MIDDLE);
      gtk_widget_add_css_class (name, "heading");
      path = gtk_label_new (where);
      gtk_label_set_xalign (GTK_LABEL (path), 0.0);
      gtk_label_set_ellipsize (GTK_LABEL (path), PANGO_ELLIPSIZE_START);
      gtk_widget_add_css_class (path, "dim-label");
      gtk_widget_add_css_class (path, "caption");
      gtk_box_append (GTK_BOX (text), name);
      gtk_box_append (GTK_BOX (text), path);
      gtk_box_append (GTK_BOX (box), text);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      gtk_widget_set_tooltip_text (row, recent[i]);
      gtk_list_box_append (self->recent_list, row);
      n_shown++;
    }
  gtk_widget_set_visible (self->recent_box, n_shown > 0);
}

gboolean
curator_window_open_project (CuratorWindow *self, const char *path, GError **error)
{
  g_autoptr(CuratorDb) db = NULL;
  g_autofree char *absolute = NULL;

  g_return_val_if_fail (CURATOR_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  absolute = g_canonicalize_filename (path, NULL);
  db = curator_db_open (absolute, FALSE, error);
  if (db == NULL)
    return FALSE;

  close_project (self);
  self->db = g_steal_pointer (&db);
  self->project_path = g_steal_pointer (&absolute);
  self->root = curator_db_dup_setting (self->db, "root");
  curator_thumbnail_loader_set_db (self->loader, self->db);
  curator_detail_set_context (self->detail, self->db, self->root, self->model, self->loader);
  if (!curator_sample_model_load (self->model, self->db, error))
    {
      close_project (self);
      gtk_stack_set_visible_child_name (self->main_stack, "welcome");
      _curator_window_update_title (self);
      _curator_window_update_actions (self);
      return FALSE;
    }
  remember_project (self, self->project_path);
  watch_project (self);
  gtk_stack_set_visible_child_name (self->main_stack, "project");
  _curator_window_update_title (self);
  _curator_window_update_actions (self);
  if (g_list_model_get_n_items (G_LIST_MODEL (self->model)) > 0)
    gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), 0, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->grid));
  return TRUE;
}

static void
reload (CuratorWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->db == NULL)
    return;
  g_free (self->root);
  self->root = curator_db_dup_setting (self->db, "root");
  curator_detail_set_context (self->detail, self->db, self->root, self->model, self->loader);
  if (!curator_sample_model_load (self->model, self->db, &error))
    _curator_window_toast (self, FALSE, "Cannot read the project: %s", error->message);
  _curator_window_update_title (self);
  _curator_window_update_actions (self);
}

void
_curator_window_after_decisions (CuratorWindow *self, const gint64 *ids, guint n_ids)
{
  g_autoptr(GError) error = NULL;

  if (!curator_sample_model_refresh_samples (self->model, self->db, ids, n_ids, &error))
    _curator_window_toast (self, FALSE, "Cannot read the project: %s", error->message);
  _curator_window_update_actions (self);
}

/* ---- background jobs ---------------------------------------------------------- */

static void
on_job_progress (CuratorJob *job, GParamSpec *pspec, CuratorWindow *self)
{
  double fraction = curator_job_get_fraction (job);
  const char *message = curator_job_get_message (job);
  g_autofree char *eta = curator_job_dup_eta (job);
  g_autofree char *rate = curator_job_dup_rate (job);
  g_autoptr(GString) text = g_string_new (message != NULL ? message : "Working");

  if (fraction < 0.0)
    gtk_progress_bar_pulse (self->progress_bar);
  else
    gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  /* indexing counts files in its message ("Indexed 120 of 5000 files");
   * analysis and export show how far the whole job is */
  if (fraction >= 0.0 && curator_job_get_kind (job) != CURATOR_JOB_INDEX)
    g_string_append_printf (text, " · %.0f%%", 100.0 * fraction);
  if (*rate != '\0')
    g_string_append_printf (text, " · %s", rate);
  if (*eta != '\0')
    g_string_append_printf (text, " · %s", eta);
  gtk_label_set_text (self->progress_label, text->str);
}

static void
on_job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(CuratorWindow) self = user_data;
  CuratorJob *job = CURATOR_JOB (source);
  g_autoptr(GError) error = NULL;
  gboolean ok = curator_job_finish (job, result, &error);
  const char *title = curator_job_get_title (job);

  if (self->job != job)
    return;  /* the window was closed meanwhile */
  g_signal_handlers_disconnect_by_func (job, on_job_progress, self);
  g_clear_object (&self->job);
  gtk_revealer_set_reveal_child (self->progress_revealer, FALSE);

  if (ok && curator_job_get_kind (job) == CURATOR_JOB_EXPORT)
    {
      /* an export changes nothing in the project: no reload */
      _curator_window_toast (self, FALSE, "Exported %s", curator_job_get_summary (job));
      _curator_window_update_title (self);
      _curator_window_update_actions (self);
      return;
    }
  if (ok)
    _curator_window_toast (self, FALSE, "%s finished. %s", title, curator_job_get_summary (job));
  else if (g_error_matches (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    _curator_window_toast (self, FALSE, "%s cancelled; what was done so far is kept.", title);
  else
    _curator_window_toast (self, FALSE, "%s failed: %s", title, error->message);
  reload (self);
}

static gboolean
start_job (CuratorWindow *self, CuratorJob *job, GError **error)
{
  if (self->job != NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_BUSY, "%s is still running",
                   curator_job_get_title (self->job));
      return FALSE;
    }
  self->job = g_object_ref (job);
  g_signal_connect (job, "notify::fraction", G_CALLBACK (on_job_progress), self);
  gtk_label_set_text (self->progress_title, curator_job_get_title (job));
  gtk_label_set_text (self->progress_label, "Starting…");
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  gtk_revealer_set_reveal_child (self->progress_revealer, TRUE);
  curator_job_start (job, on_job_done, g_object_ref (self));
  _curator_window_update_title (self);
  _curator_window_update_actions (self);
  return TRUE;
}

gboolean
curator_window_index_folder (CuratorWindow *self, const char *folder, const char *project_path, GError **error)
{
  g_autoptr(CuratorJob) job = NULL;
  g_autofree char *absolute = NULL;

  g_return_val_if_fail (CURATOR_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (folder != NULL && project_path != NULL, FALSE);

  if (self->job != NULL)
    return start_job (self, self->job, error);  /* reports busy */
  absolute = g_canonicalize_filename (project_path, NULL);
  if (g_strcmp0 (absolute, self->project_path) != 0)
    {
      /* create the file now so the window shows the project filling up */
      g_autoptr(CuratorDb) created = curator_db_open (absolute, TRUE, error);

      if (created == NULL)
        return FALSE;
      g_clear_pointer (&created, curator_db_close);
      if (!curator_window_open_project (self, absolute, error))
        return FALSE;
    }
  job = curator_job_new_index (absolute, folder, NULL);
  return start_job (self, job, error);
}

gboolean
curator_window_start_export (CuratorWindow *self, CuratorExportPlan *plan, GError **error)
{
  g_autoptr(CuratorJob) job = NULL;

  g_return_val_if_fail (CURATOR_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (plan != NULL, FALSE);

  if (plan->options.out == NULL)
    {
      curator_export_plan_free (plan);
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "The export has no folder");
      return FALSE;
    }
  job = curator_job_new_export (plan);
  return start_job (self, job, error);
}

GtkWindow *
curator_window_show_export (CuratorWindow *self)
{
  CuratorExportDialog *dialog;

  g_return_val_if_fail (CURATOR_IS_WINDOW (self), NULL);

  if (self->project_path == NULL)
    return NULL;
  dialog = curator_export_dialog_new (GTK_WINDOW (self), self->project_path);
  gtk_window_present (GTK_WINDOW (dialog));
  return GTK_WINDOW (dialog);
}

gboolean
curator_window_analyze (CuratorWindow *self, GError **error)
{
  g_autoptr(CuratorJob) job = NULL;

  g_return_val_if_fail (CURATOR_IS_WINDOW (self), FALSE);

  if (self->project_path == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "No project is open");
      return FALSE;
    }
  job = curator_job_new_analyze (self->project_path);
  return start_job (self, job, error);
}

void
curator_window_stop_job (CuratorWindow *self)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_return_if_fail (CURATOR_IS_WINDOW (self));

  if (self->job == NULL)
    return;
  curator_job_cancel (self->job);
  /* the core checks the cancellable in every loop: this is a short wait */
  while (self->job != NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
curator_window_close_request (GtkWindow *window)
{
  /* a job stopped half way would leave its run marked running */
  curator_window_stop_job (CURATOR_WINDOW (window));
  return GTK_WINDOW_CLASS (curator_window_parent_class)->close_request (window);
}

gboolean
curator_window_is_busy (CuratorWindow *self)
{
  g_return_val_if_fail (CURATOR_IS_WINDOW (self), FALSE);
  return self->job != NULL;
}

/* ---- actions on the project --------------------------------------------------- */

static void
on_open_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  CuratorWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr(GError) error = NULL;

      if (path != NULL && !curator_window_open_project (self, path, &error))
        _curator_window_toast (self, FALSE, "Cannot open %s: %s", path, error->message);
    }
  g_object_unref (dialog);
}

static void
project_open (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new ("Open Project", GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
  g_autoptr(GtkFileFilter) projects = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  gtk_file_filter_set_name (projects, "Curator projects");
  gtk_file_filter_add_pattern (projects, "*.curator");
  gtk_file_filter_set_name (all, "All files");
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), projects);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), all);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
on_save_project_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  CuratorWindow *self = user_data;
  const char *folder = g_object_get_data (G_OBJECT (dialog), "dataset-folder");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr(GError) error = NULL;

      if (path != NULL && !curator_window_index_folder (self, folder, path, &error))
        _curator_window_toast (self, FALSE, "Cannot index %s: %s", folder, error->message);
    }
  g_object_unref (dialog);
}

/* Asks where to keep the project for the dataset at @folder, then indexes it. */
static void
ask_project_for_folder (CuratorWindow *self, const char *folder)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new ("Save the Project As", GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_SAVE, "_Create", "_Cancel");
  g_autofree char *base = g_path_get_basename (folder);
  g_autofree char *name = g_strdup_printf ("%s.curator", base);
  g_autofree char *parent = g_path_get_dirname (folder);
  g_autoptr(GFile) parent_file = g_file_new_for_path (parent);

  g_object_set_data_full (G_OBJECT (dialog), "dataset-folder", g_strdup (folder), g_free);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), parent_file, NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_project_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
on_offer_response (GtkDialog *dialog, int response, CuratorWindow *self)
{
  g_autofree char *folder = g_strdup (g_object_get_data (G_OBJECT (dialog), "folder"));
  g_autofree char *project = g_strdup (g_object_get_data (G_OBJECT (dialog), "project"));
  g_autoptr(GError) error = NULL;

  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == CURATOR_RESPONSE_NEXT_TO_IT)
    {
      if (!curator_window_index_folder (self, folder, project, &error))
        _curator_window_toast (self, FALSE, "Cannot index %s: %s", folder, error->message);
    }
  else if (response == CURATOR_RESPONSE_CHOOSE_WHERE)
    ask_project_for_folder (self, folder);
}

GtkWindow *
curator_window_offer_folder (CuratorWindow *self, const char *folder)
{
  g_autofree char *absolute = NULL;
  g_autofree char *project = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *base = NULL;
  g_autofree char *project_base = NULL;
  g_autofree char *where = NULL;
  g_autoptr(GError) error = NULL;
  gboolean exists, writable;
  GtkWidget *dialog;

  g_return_val_if_fail (CURATOR_IS_WINDOW (self), NULL);
  g_return_val_if_fail (folder != NULL, NULL);

  absolute = g_canonicalize_filename (folder, NULL);
  /* the open project's own folder: read it again, nothing to ask */
  if (self->root != NULL && g_strcmp0 (self->root, absolute) == 0)
    {
      if (!curator_window_index_folder (self, absolute, self->project_path, &error))
        _curator_window_toast (self, FALSE, "Cannot index %s: %s", absolute, error->message);
      return NULL;
    }
  if (self->job != NULL)
    {
      _curator_window_toast (self, FALSE, "%s is still running; drop the folder again when it is done",
                             curator_job_get_title (self->job));
      return NULL;
    }
  project = g_strdup_printf ("%s.curator", absolute);
  parent = g_path_get_dirname (absolute);
  base = g_path_get_basename (absolute);
  project_base = g_path_get_basename (project);
  where = path_for_people (parent);
  exists = g_file_test (project, G_FILE_TEST_IS_REGULAR);
  writable = g_access (parent, W_OK) == 0;

  dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "Index “%s”?", base);
  if (exists)
    gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
      "Its project, %s, is next to it in %s: it is opened and the folder read again "
      "(only what changed is decoded). Indexing runs in the background.", project_base, where);
  else if (writable)
    gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
      "A new project, %s, is created next to it in %s. Indexing runs in the background; "
      "the samples appear when it is done.", project_base, where);
  else
    gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
      "%s cannot be written to: choose where to keep the project.", where);
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL);
  gtk_dialog_add_button (GTK_DIALOG (dialog), "Choose _Where…", CURATOR_RESPONSE_CHOOSE_WHERE);
  if (exists || writable)
    {
      GtkWidget *button = gtk_dialog_add_button (GTK_DIALOG (dialog), exists ? "_Open and Index" : "_Create",
                                                 CURATOR_RESPONSE_NEXT_TO_IT);

      gtk_widget_add_css_class (button, "suggested-action");
      gtk_dialog_set_default_response (GTK_DIALOG (dialog), CURATOR_RESPONSE_NEXT_TO_IT);
    }
  else
    gtk_dialog_set_default_response (GTK_DIALOG (dialog), CURATOR_RESPONSE_CHOOSE_WHERE);
  g_object_set_data_full (G_OBJECT (dialog), "folder", g_strdup (absolute), g_free);
  g_object_set_data_full (G_OBJECT (dialog), "project", g_strdup (project), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (on_offer_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
  return GTK_WINDOW (dialog);
}

static void
on_folder_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  CuratorWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        curator_window_offer_folder (self, path);
    }
  g_object_unref (dialog);
}

static void
project_new (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new ("Choose the Dataset Folder", GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                                              "_Select", "_Cancel");

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_folder_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
project_reindex (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);
  g_autoptr(GError) error = NULL;

  if (self->root == NULL)
    {
      _curator_window_toast (self, FALSE, "This project has no dataset folder yet: drop one on the window");
      return;
    }
  if (!curator_window_index_folder (self, self->root, self->project_path, &error))
    _curator_window_toast (self, FALSE, "Cannot index: %s", error->message);
}

static void
project_analyze (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);
  g_autoptr(GError) error = NULL;

  if (!curator_window_analyze (self, &error))
    _curator_window_toast (self, FALSE, "Cannot analyze: %s", error->message);
}

static void
project_cancel_job (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);

  if (self->job != NULL)
    {
      curator_job_cancel (self->job);
      gtk_label_set_text (self->progress_label, "Cancelling…");
    }
}

static void
project_open_recent (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorWindow *self = CURATOR_WINDOW (widget);
  const char *path = g_variant_get_string (parameter, NULL);
  g_autoptr(GError) error = NULL;

  if (!curator_window_open_project (self, path, &error))
    _curator_window_toast (self, FALSE, "Cannot open %s: %s", path, error->message);
}

static void
project_export (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  curator_window_show_export (CURATOR_WINDOW (widget));
}

static void
project_reload (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  reload (CURATOR_WINDOW (widget));
}

/* ---- drag and drop: a folder is a dataset to index ------------------------------ */

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, CuratorWindow *self)
{
  g_autoptr(GSList) files = NULL;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = gdk_file_list_get_files (g_value_get_boxed (value));
  for (GSList *l = files; l != NULL; l = l->next)
    {
      g_autofree char *path = g_file_get_path (l->data);
      g_autoptr(GError) error = NULL;

      if (path == NULL)
        continue;
      if (g_str_has_suffix (path, ".curator") && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          if (!curator_window_open_project (self, path, &error))
            _curator_window_toast (self, FALSE, "Cannot open %s: %s", path, error->message);
          return TRUE;
        }
      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      curator_window_offer_folder (self, path);
      return TRUE;
    }
  _curator_window_toast (self, FALSE, "Drop a dataset folder (one folder per class) or a .curator project");
  return FALSE;
}

/* ---- screenshots --------------------------------------------------------------- */

gboolean
curator_window_save_screenshot (CuratorWindow *self, const char *file, GError **error)
{
  g_return_val_if_fail (CURATOR_IS_WINDOW (self), FALSE);
  return curator_save_window_png (GTK_WINDOW (self), file, error);
}

gboolean
curator_save_window_png (GtkWindow *window, const char *file, GError **error)
{
  GtkWidget *self = GTK_WIDGET (window);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GtkSnapshot *snapshot;
  GskRenderer *renderer;
  int width, height;

  g_return_val_if_fail (GTK_IS_WINDOW (window), FALSE);

  width = gtk_widget_get_width (self);
  height = gtk_widget_get_height (self);
  renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  if (width <= 0 || height <= 0 || renderer == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "The window is not shown yet");
      return FALSE;
    }
  /* A GtkWidgetPaintable of a toplevel records nothing in GTK 4.8 (its
   * image follows the widget's own redraws, which a root does not report);
   * the window's snapshot vfunc draws its background and every child's
   * render node, which is what is on screen. */
  snapshot = gtk_snapshot_new ();
  /* the vfunc draws the contents; the window's own CSS background is drawn
   * by GTK around it, so it is added here */
  gtk_snapshot_render_background (snapshot, gtk_widget_get_style_context (self),
                                  0, 0, width, height);
  GTK_WIDGET_GET_CLASS (self)->snapshot (self, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "The window drew nothing");
      return FALSE;
    }
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, file))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO, "Cannot write %s", file);
      return FALSE;
    }
  return TRUE;
}

/* ---- accessors ----------------------------------------------------------------- */

CuratorDb *
curator_window_get_db (CuratorWindow *self)
{
  g_return_val_if_fail (CURATOR_IS_WINDOW (self), NULL);
  return self->db;
}

CuratorSampleModel *
curator_window_get_model (CuratorWindow *self)
{
  g_return_val_if_fail (CURATOR_IS_WINDOW (self), NULL);
  return self->model;
}

GtkSelectionModel *
curator_window_get_selection (CuratorWindow *self)
{
  g_return_val_if_fail (CURATOR_IS_WINDOW (self), NULL);
  return GTK_SELECTION_MODEL (self->selection);
}

gint64
curator_window_get_detail_sample (CuratorWindow *self)
{
  g_return_val_if_fail (CURATOR_IS_WINDOW (self), 0);
  return curator_detail_get_sample_id (self->detail);
}

void
curator_window_set_confirm_batches (CuratorWindow *self, gboolean confirm)
{
  g_return_if_fail (CURATOR_IS_WINDOW (self));
  self->confirm_batches = confirm;
}

/* ---- GObject ------------------------------------------------------------------- */

static void
curator_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CuratorWindow *self = CURATOR_WINDOW (object);

  switch (prop_id)
    {
    case PROP_THUMB_SIZE:
      g_value_set_int (value, self->thumb_px);
      break;
    case PROP_AUTO_ADVANCE:
      g_value_set_boolean (value, self->auto_advance);
      break;
    case PROP_SHOW_DETAIL:
      g_value_set_boolean (value, self->show_detail);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
curator_window_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  CuratorWindow *self = CURATOR_WINDOW (object);

  switch (prop_id)
    {
    case PROP_THUMB_SIZE:
      _curator_window_set_thumb_px (self, g_value_get_int (value));
      break;
    case PROP_AUTO_ADVANCE:
      if (self->auto_advance != g_value_get_boolean (value))
        {
          self->auto_advance = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_SHOW_DETAIL:
      if (self->show_detail != g_value_get_boolean (value))
        {
          self->show_detail = g_value_get_boolean (value);
          gtk_widget_set_visible (GTK_WIDGET (self->detail), self->show_detail);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
curator_window_dispose (GObject *object)
{
  CuratorWindow *self = CURATOR_WINDOW (object);

  if (self->job != NULL)
    {
      /* the job's callback holds the window; it finds self->job NULL and stops */
      curator_job_cancel (self->job);
      g_signal_handlers_disconnect_by_func (self->job, on_job_progress, self);
      g_clear_object (&self->job);
    }
  g_clear_handle_id (&self->toast_timeout_id, g_source_remove);
  g_clear_handle_id (&self->columns_idle_id, g_source_remove);
  if (self->charts != NULL)
    gtk_window_destroy (GTK_WINDOW (self->charts));
  if (self->model != NULL)
    {
      curator_sidebar_set_model (self->sidebar, NULL);
      close_project (self);
    }
  if (self->grid != NULL)
    gtk_grid_view_set_model (self->grid, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), CURATOR_TYPE_WINDOW);
  g_clear_object (&self->selection);
  g_clear_object (&self->model);
  g_clear_object (&self->loader);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->list_items, g_ptr_array_unref);
  G_OBJECT_CLASS (curator_window_parent_class)->dispose (object);
}

static void
curator_window_class_init (CuratorWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = curator_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = curator_window_close_request;
  object_class->get_property = curator_window_get_property;
  object_class->set_property = curator_window_set_property;

  properties[PROP_THUMB_SIZE] =
    g_param_spec_int ("thumb-size", NULL, NULL, CURATOR_THUMB_MIN_PX, CURATOR_THUMB_MAX_PX_VIEW, 128,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_AUTO_ADVANCE] =
    g_param_spec_boolean ("auto-advance", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_DETAIL] =
    g_param_spec_boolean ("show-detail", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (CURATOR_TYPE_SIDEBAR);
  g_type_ensure (CURATOR_TYPE_DETAIL);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/curator/Curator/curator-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, title_label);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, analyze_button);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, toast_revealer);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, toast_label);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, toast_undo);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, progress_revealer);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, progress_title);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, progress_label);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, paned);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, grid);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, grid_stack);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, empty_title);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, empty_text);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, detail);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, recent_menu);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, recent_box);
  gtk_widget_class_bind_template_child (widget_class, CuratorWindow, recent_list);

  gtk_widget_class_install_action (widget_class, "project.open", NULL, project_open);
  gtk_widget_class_install_action (widget_class, "project.new", NULL, project_new);
  gtk_widget_class_install_action (widget_class, "project.reindex", NULL, project_reindex);
  gtk_widget_class_install_action (widget_class, "project.analyze", NULL, project_analyze);
  gtk_widget_class_install_action (widget_class, "project.cancel-job", NULL, project_cancel_job);
  gtk_widget_class_install_action (widget_class, "project.reload", NULL, project_reload);
  gtk_widget_class_install_action (widget_class, "project.export", NULL, project_export);
  gtk_widget_class_install_action (widget_class, "project.open-recent", "s", project_open_recent);
  gtk_widget_class_install_property_action (widget_class, "review.auto-advance", "auto-advance");
  gtk_widget_class_install_property_action (widget_class, "view.show-detail", "show-detail");
  _curator_window_class_init_actions (widget_class);
}

static void
curator_window_init (CuratorWindow *self)
{
  GtkListItemFactory *factory;
  GtkEventController *keys;
  GtkDropTarget *drop;
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  self->thumb_px = 128;
  self->auto_advance = TRUE;
  self->show_detail = TRUE;
  self->confirm_batches = TRUE;
  self->list_items = g_ptr_array_new ();
  self->model = curator_sample_model_new ();
  self->loader = curator_thumbnail_loader_new ();

  gtk_widget_init_template (GTK_WIDGET (self));

  self->selection = gtk_multi_selection_new (G_LIST_MODEL (g_object_ref (self->model)));
  g_signal_connect (self->selection, "selection-changed", G_CALLBACK (on_selection_changed), self);
  g_signal_connect_after (self->selection, "items-changed", G_CALLBACK (on_items_changed), self);
  g_signal_connect (self->model, "replacing", G_CALLBACK (on_replacing), self);

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (factory_setup), self);
  g_signal_connect (factory, "bind", G_CALLBACK (factory_bind), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (factory_unbind), self);
  g_signal_connect (factory, "teardown", G_CALLBACK (factory_teardown), self);
  gtk_grid_view_set_factory (self->grid, factory);
  g_object_unref (factory);
  gtk_grid_view_set_model (self->grid, GTK_SELECTION_MODEL (self->selection));
  /* the width the grid gets is its horizontal adjustment's page size */
  g_signal_connect_swapped (gtk_scrollable_get_hadjustment (GTK_SCROLLABLE (self->grid)), "changed",
                            G_CALLBACK (queue_update_max_columns), self);
  curator_sidebar_set_model (self->sidebar, self->model);
  gtk_paned_set_position (self->paned, 860);

  /* Enter accepts the suggestion: caught before the grid's own Enter
   * (activate), and only while the grid has the focus. */
  keys = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (keys),
    gtk_shortcut_new (gtk_alternative_trigger_new (gtk_keyval_trigger_new (GDK_KEY_Return, 0),
                                                   gtk_keyval_trigger_new (GDK_KEY_KP_Enter, 0)),
                      gtk_named_action_new ("review.accept")));
  gtk_widget_add_controller (GTK_WIDGET (self->grid), keys);

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  /* Preferences persist when the schema is installed (or GSETTINGS_SCHEMA_DIR
   * points at the build tree); otherwise the defaults above hold. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, CURATOR_APP_ID, TRUE);
  if (schema != NULL)
    {
      self->settings = g_settings_new (CURATOR_APP_ID);
      g_settings_bind (self->settings, "thumbnail-size", self, "thumb-size", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "auto-advance", self, "auto-advance", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "show-detail", self, "show-detail", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);
      g_signal_connect_swapped (self->settings, "changed::recent-projects", G_CALLBACK (update_recent), self);
    }
  else
    g_warning ("GSettings schema %s is not installed: preferences will not be kept", CURATOR_APP_ID);

  g_signal_connect (self->recent_list, "row-activated", G_CALLBACK (on_recent_row_activated), self);
  update_recent (self);
  _curator_window_update_title (self);
  _curator_window_update_actions (self);
}

CuratorWindow *
curator_window_new (GtkApplication *application)
{
  return g_object_new (CURATOR_TYPE_WINDOW, "application", application, NULL);
}

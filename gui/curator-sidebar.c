/* curator-sidebar.c: see curator-sidebar.h. */
#include "curator-sidebar.h"

#include <string.h>

struct _CuratorSidebar
{
  GtkBox parent_instance;

  /* template widgets */
  GtkSearchEntry *search_entry;
  GtkListBox     *filter_list;
  GtkListBox     *class_list;
  GtkDropDown    *sort_dropdown;

  /* borrowed */
  CuratorSampleModel *model;
  gulong              counts_id;

  /* owned */
  GtkWidget *filter_counts[CURATOR_SAMPLE_N_FILTERS];  /* count labels, children of filter_list */
  gboolean   updating;  /* rebuilding rows: selection changes are not the user's */
};

G_DEFINE_FINAL_TYPE (CuratorSidebar, curator_sidebar, GTK_TYPE_BOX)

static GtkWidget *
make_row (const char *keycap, const char *title, GtkWidget **count_out, GtkWidget **extra_out)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *label = gtk_label_new (title);
  GtkWidget *count = gtk_label_new (NULL);

  if (keycap != NULL)
    {
      GtkWidget *key = gtk_label_new (keycap);

      gtk_widget_add_css_class (key, "keycap");
      gtk_widget_set_valign (key, GTK_ALIGN_CENTER);
      gtk_box_append (GTK_BOX (box), key);
    }
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_box_append (GTK_BOX (box), label);
  if (extra_out != NULL)
    {
      *extra_out = gtk_label_new (NULL);
      gtk_widget_add_css_class (*extra_out, "dim-label");
      gtk_widget_add_css_class (*extra_out, "caption");
      gtk_box_append (GTK_BOX (box), *extra_out);
    }
  gtk_widget_add_css_class (count, "count");
  gtk_widget_add_css_class (count, "numeric");
  gtk_box_append (GTK_BOX (box), count);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  *count_out = count;
  return row;
}

static void
clear_list (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static void
rebuild_classes (CuratorSidebar *self)
{
  gint64 selected = self->model != NULL ? curator_sample_model_get_class (self->model) : 0;
  GtkWidget *select_row = NULL;
  GtkWidget *count, *extra, *row;
  GPtrArray *classes;
  gint64 total = 0;

  self->updating = TRUE;
  clear_list (self->class_list);
  if (self->model == NULL)
    {
      self->updating = FALSE;
      return;
    }

  classes = curator_sample_model_get_classes (self->model);
  for (guint i = 0; i < classes->len; i++)
    total += ((CuratorDbClass *) g_ptr_array_index (classes, i))->n_current;

  row = make_row (NULL, "All classes", &count, NULL);
  g_object_set_data (G_OBJECT (row), "class-id", GINT_TO_POINTER (0));
  {
    g_autofree char *text = curator_format_count (total);
    gtk_label_set_text (GTK_LABEL (count), text);
  }
  gtk_list_box_append (self->class_list, row);
  select_row = row;

  for (guint i = 0; i < classes->len; i++)
    {
      const CuratorDbClass *klass = g_ptr_array_index (classes, i);
      g_autofree char *hotkey = curator_sample_model_dup_hotkey (self->model, klass);
      g_autofree char *current = curator_format_count (klass->n_current);
      g_autofree char *tip = NULL;

      row = make_row (hotkey != NULL ? hotkey : " ", klass->name, &count, &extra);
      /* class ids are small database ids; the data slot keeps them exactly */
      g_object_set_data_full (G_OBJECT (row), "class-id", g_memdup2 (&klass->id, sizeof klass->id), g_free);
      gtk_label_set_text (GTK_LABEL (count), current);
      if (klass->n_given != klass->n_current)
        {
          g_autofree char *given = curator_format_count (klass->n_given);
          g_autofree char *text = g_strdup_printf ("was %s", given);

          gtk_label_set_text (GTK_LABEL (extra), text);
        }
      tip = g_strdup_printf ("%s: %" G_GINT64_FORMAT " now, %" G_GINT64_FORMAT " given%s%s%s",
                             klass->name, klass->n_current, klass->n_given,
                             curator_sample_model_is_minority (self->model, klass->id) ? " (minority class)" : "",
                             hotkey != NULL ? "; press " : "", hotkey != NULL ? hotkey : "");
      gtk_widget_set_tooltip_text (row, tip);
      if (curator_sample_model_is_minority (self->model, klass->id))
        gtk_widget_add_css_class (row, "minority");
      gtk_list_box_append (self->class_list, row);
      if (klass->id == selected)
        select_row = row;
    }
  gtk_list_box_select_row (self->class_list, GTK_LIST_BOX_ROW (select_row));
  self->updating = FALSE;
}

static void
update_counts (CuratorSidebar *self)
{
  for (guint f = 0; f < CURATOR_SAMPLE_N_FILTERS; f++)
    {
      guint n = self->model != NULL ? curator_sample_model_count (self->model, f) : 0;
      g_autofree char *text = curator_format_count (n);

      gtk_label_set_text (GTK_LABEL (self->filter_counts[f]), text);
      /* filters with nothing behind them stay, dimmed, so the list does not jump */
      gtk_widget_set_sensitive (gtk_widget_get_ancestor (self->filter_counts[f], GTK_TYPE_LIST_BOX_ROW),
                                n > 0 || f == CURATOR_SAMPLE_FILTER_ALL);
    }
  rebuild_classes (self);
}

static void
on_counts_changed (CuratorSampleModel *model, gpointer user_data)
{
  update_counts (CURATOR_SIDEBAR (user_data));
}

static void
on_search_changed (GtkSearchEntry *entry, CuratorSidebar *self)
{
  if (self->model != NULL)
    curator_sample_model_set_search (self->model, gtk_editable_get_text (GTK_EDITABLE (entry)));
}

static void
on_filter_selected (GtkListBox *list, GtkListBoxRow *row, CuratorSidebar *self)
{
  if (row == NULL || self->model == NULL || self->updating)
    return;
  curator_sample_model_set_filter (self->model,
                                   GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "filter")));
}

static void
on_class_selected (GtkListBox *list, GtkListBoxRow *row, CuratorSidebar *self)
{
  gint64 *id;

  if (row == NULL || self->model == NULL || self->updating)
    return;
  id = g_object_get_data (G_OBJECT (row), "class-id");
  curator_sample_model_set_class (self->model, id != NULL ? *id : 0);
}

static void
on_sort_changed (GtkDropDown *dropdown, GParamSpec *pspec, CuratorSidebar *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (self->model != NULL && selected < CURATOR_SAMPLE_N_SORTS)
    curator_sample_model_set_sort (self->model, selected);
}

void
curator_sidebar_set_model (CuratorSidebar *self, CuratorSampleModel *model)
{
  g_return_if_fail (CURATOR_IS_SIDEBAR (self));

  if (self->model != NULL)
    g_clear_signal_handler (&self->counts_id, self->model);
  self->model = model;
  if (model != NULL)
    {
      self->counts_id = g_signal_connect (model, "counts-changed", G_CALLBACK (on_counts_changed), self);
      gtk_drop_down_set_selected (self->sort_dropdown, curator_sample_model_get_sort (model));
    }
  update_counts (self);
}

void
curator_sidebar_focus_search (CuratorSidebar *self)
{
  g_return_if_fail (CURATOR_IS_SIDEBAR (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

void
curator_sidebar_select_filter (CuratorSidebar *self, CuratorSampleFilter filter)
{
  GtkListBoxRow *row;

  g_return_if_fail (CURATOR_IS_SIDEBAR (self));

  row = gtk_list_box_get_row_at_index (self->filter_list, filter);
  if (row != NULL)
    gtk_list_box_select_row (self->filter_list, row);
}

static void
curator_sidebar_dispose (GObject *object)
{
  CuratorSidebar *self = CURATOR_SIDEBAR (object);

  if (self->model != NULL)
    g_clear_signal_handler (&self->counts_id, self->model);
  self->model = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), CURATOR_TYPE_SIDEBAR);
  G_OBJECT_CLASS (curator_sidebar_parent_class)->dispose (object);
}

static void
curator_sidebar_class_init (CuratorSidebarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = curator_sidebar_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/curator/Curator/curator-sidebar.ui");
  gtk_widget_class_bind_template_child (widget_class, CuratorSidebar, search_entry);
  gtk_widget_class_bind_template_child (widget_class, CuratorSidebar, filter_list);
  gtk_widget_class_bind_template_child (widget_class, CuratorSidebar, class_list);
  gtk_widget_class_bind_template_child (widget_class, CuratorSidebar, sort_dropdown);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_filter_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_class_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_sort_changed);
}

static void
curator_sidebar_init (CuratorSidebar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->updating = TRUE;
  for (guint f = 0; f < CURATOR_SAMPLE_N_FILTERS; f++)
    {
      GtkWidget *row = make_row (NULL, curator_sample_filter_get_title (f), &self->filter_counts[f], NULL);

      g_object_set_data (G_OBJECT (row), "filter", GUINT_TO_POINTER (f));
      gtk_list_box_append (self->filter_list, row);
    }
  gtk_list_box_select_row (self->filter_list, gtk_list_box_get_row_at_index (self->filter_list, 0));
  self->updating = FALSE;
}

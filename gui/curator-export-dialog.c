/* curator-export-dialog.c: see curator-export-dialog.h.
 *
 * Planning reads the whole project (50,000 samples take a moment), so it
 * runs in a worker on its own connection; a change to the form waits a
 * quarter second for more typing, then plans again. Results of a form that
 * has changed since are dropped (`generation`). The plan shown is the plan
 * written: Export hands exactly that object to the window's job. */
#include "curator-export-dialog.h"

#include <math.h>
#include <string.h>

#include "curator-sample-model.h"
#include "curator-window.h"

/* Wait after a change before planning again: typing "70/15/15" plans once. */
#define REPLAN_DELAY_MS 250

struct _CuratorExportDialog
{
  GtkWindow parent_instance;

  /* template widgets */
  GtkLabel       *out_label;
  GtkEntry       *split_entry;
  GtkSwitch      *keep_switch;
  GtkDropDown    *flagged_dropdown;
  GtkDropDown    *rebalance_dropdown;
  GtkDropDown    *target_dropdown;
  GtkSpinButton  *target_spin;
  GtkDropDown    *layout_dropdown;
  GtkDropDown    *files_dropdown;
  GtkSpinButton  *seed_spin;
  GtkSpinner     *spinner;
  GtkBox         *summary_box;

  /* owned */
  char              *project_path;
  char              *out;
  CuratorExportPlan *plan;
  char              *problem;       /* why there is no plan, for people */
  guint              replan_id;
  guint              generation;    /* bumped by every change of the form */
  gboolean           planning;      /* a worker is running */
};

G_DEFINE_FINAL_TYPE (CuratorExportDialog, curator_export_dialog, GTK_TYPE_WINDOW)

static void schedule_plan (CuratorExportDialog *self);

/* ---- the form ---------------------------------------------------------------- */

gboolean
curator_export_dialog_get_options (CuratorExportDialog *self, CuratorExportOptions *options, GError **error)
{
  const char *splits;

  g_return_val_if_fail (CURATOR_IS_EXPORT_DIALOG (self), FALSE);
  g_return_val_if_fail (options != NULL, FALSE);

  curator_export_options_init (options, self->out);
  splits = gtk_editable_get_text (GTK_EDITABLE (self->split_entry));
  if (*splits != '\0' && !curator_export_options_set_splits (options, splits, error))
    {
      curator_export_options_clear (options);
      return FALSE;
    }
  options->keep_splits = gtk_switch_get_active (self->keep_switch);
  /* the dropdowns list the core's enums in their order */
  options->flagged = gtk_drop_down_get_selected (self->flagged_dropdown);
  options->rebalance = gtk_drop_down_get_selected (self->rebalance_dropdown);
  options->target = gtk_drop_down_get_selected (self->target_dropdown);
  options->target_count = gtk_spin_button_get_value_as_int (self->target_spin);
  options->layout = gtk_drop_down_get_selected (self->layout_dropdown);
  options->files = gtk_drop_down_get_selected (self->files_dropdown);
  options->seed = (guint64) gtk_spin_button_get_value (self->seed_spin);
  return TRUE;
}

static void
set_out (CuratorExportDialog *self, const char *out)
{
  g_autofree char *absolute = g_canonicalize_filename (out, NULL);

  g_free (self->out);
  self->out = g_steal_pointer (&absolute);
  gtk_label_set_text (self->out_label, self->out);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->out_label), self->out);
}

gboolean
curator_export_dialog_set_option (CuratorExportDialog *self, const char *name, const char *value)
{
  g_return_val_if_fail (CURATOR_IS_EXPORT_DIALOG (self), FALSE);
  g_return_val_if_fail (name != NULL && value != NULL, FALSE);

  if (g_str_equal (name, "out"))
    {
      set_out (self, value);
      schedule_plan (self);
    }
  else if (g_str_equal (name, "split"))
    gtk_editable_set_text (GTK_EDITABLE (self->split_entry), value);
  else if (g_str_equal (name, "keep-splits"))
    gtk_switch_set_active (self->keep_switch, g_str_equal (value, "true"));
  else if (g_str_equal (name, "flagged"))
    {
      CuratorExportFlagged v;

      if (!curator_export_flagged_from_string (value, &v))
        return FALSE;
      gtk_drop_down_set_selected (self->flagged_dropdown, v);
    }
  else if (g_str_equal (name, "rebalance"))
    {
      CuratorExportRebalance v;

      if (!curator_export_rebalance_from_string (value, &v))
        return FALSE;
      gtk_drop_down_set_selected (self->rebalance_dropdown, v);
    }
  else if (g_str_equal (name, "target"))
    {
      CuratorExportOptions parsed;
      gboolean ok;

      curator_export_options_init (&parsed, NULL);
      ok = curator_export_options_set_target (&parsed, value, NULL);
      if (ok)
        {
          gtk_drop_down_set_selected (self->target_dropdown, parsed.target);
          if (parsed.target == CURATOR_EXPORT_TARGET_COUNT)
            gtk_spin_button_set_value (self->target_spin, parsed.target_count);
        }
      curator_export_options_clear (&parsed);
      return ok;
    }
  else if (g_str_equal (name, "layout"))
    {
      CuratorExportLayout v;

      if (!curator_export_layout_from_string (value, &v))
        return FALSE;
      gtk_drop_down_set_selected (self->layout_dropdown, v);
    }
  else if (g_str_equal (name, "files"))
    {
      CuratorExportFiles v;

      if (!curator_export_files_from_string (value, &v))
        return FALSE;
      gtk_drop_down_set_selected (self->files_dropdown, v);
    }
  else if (g_str_equal (name, "seed"))
    {
      char *end = NULL;
      guint64 seed = g_ascii_strtoull (value, &end, 10);

      if (end == value || *end != '\0' || seed > G_MAXINT32)
        return FALSE;
      gtk_spin_button_set_value (self->seed_spin, (double) seed);
    }
  else
    return FALSE;
  return TRUE;
}

/* ---- the summary ------------------------------------------------------------- */

static GtkWidget *
add_label (GtkBox *box, const char *text, const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  gtk_box_append (box, label);
  return label;
}

static void
add_cell (GtkGrid *grid, const char *text, int column, int row, gboolean number, const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), number ? 1.0 : 0.0);
  if (!number)
    {
      /* names show whole up to a point, then end in an ellipsis */
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (label), MIN ((int) g_utf8_strlen (text, -1), 16));
      gtk_label_set_max_width_chars (GTK_LABEL (label), 16);
    }
  if (number)
    gtk_widget_add_css_class (label, "numeric");
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  gtk_grid_attach (grid, label, column, row, 1, 1);
}

/* "120" or "120 → 400" when rebalancing changes the entries. */
static char *
format_split_cell (gint64 n_samples, gint64 n_entries)
{
  g_autofree char *samples = curator_format_count (n_samples);

  if (n_entries != n_samples)
    {
      g_autofree char *entries = curator_format_count (n_entries);

      return g_strdup_printf ("%s → %s", samples, entries);
    }
  return g_steal_pointer (&samples);
}

static const char *
drop_in_words (CuratorExportDrop why)
{
  switch (why)
    {
    case CURATOR_EXPORT_DROP_CORRUPT:       return "unreadable";
    case CURATOR_EXPORT_DROP_MISSING:       return "missing from the disk";
    case CURATOR_EXPORT_DROP_EXCLUDED:      return "excluded by a person";
    case CURATOR_EXPORT_DROP_UNLABELLED:    return "without a label";
    case CURATOR_EXPORT_DROP_FLAGGED:       return "flagged as likely mislabelled, not reviewed";
    case CURATOR_EXPORT_DROP_NOT_CONFIDENT: return "flagged, and the suggestion is not sure enough to relabel";
    case CURATOR_EXPORT_DROP_UNDERSAMPLED:  return "left out to undersample the training split";
    default:                                return "left out";
    }
}

static void
render_table (CuratorExportDialog *self, const CuratorExportPlan *plan)
{
  GtkGrid *grid = GTK_GRID (gtk_grid_new ());
  gboolean weights = plan->options.rebalance == CURATOR_EXPORT_REBALANCE_WEIGHTS;
  gboolean noise = plan->run_id != 0;
  gint64 *total_samples = g_new0 (gint64, plan->n_splits);
  gint64 *total_entries = g_new0 (gint64, plan->n_splits);
  gint64 total_given = 0;
  int col, row = 0;

  gtk_grid_set_column_spacing (grid, 18);
  gtk_grid_set_row_spacing (grid, 4);
  gtk_widget_add_css_class (GTK_WIDGET (grid), "export-table");

  col = 0;
  add_cell (grid, "Class", col++, row, FALSE, "dim-label");
  add_cell (grid, "Given", col++, row, TRUE, "dim-label");
  for (guint s = 0; s < plan->n_splits; s++)
    add_cell (grid, plan->splits[s].name, col++, row, TRUE, "dim-label");
  if (weights)
    add_cell (grid, "Weight", col++, row, TRUE, "dim-label");
  if (noise)
    add_cell (grid, "Noise left", col++, row, TRUE, "dim-label");
  row++;

  for (guint c = 0; c < plan->n_classes; c++)
    {
      const CuratorExportClass *k = &plan->classes[c];
      g_autofree char *given = curator_format_count (k->n_given);

      col = 0;
      add_cell (grid, k->label, col++, row, FALSE, NULL);
      add_cell (grid, given, col++, row, TRUE, "dim-label");
      for (guint s = 0; s < plan->n_splits; s++)
        {
          g_autofree char *cell = format_split_cell (k->n_samples[s], k->n_entries[s]);

          add_cell (grid, cell, col++, row, TRUE, k->n_entries[s] != k->n_samples[s] ? "rebalanced" : NULL);
          total_samples[s] += k->n_samples[s];
          total_entries[s] += k->n_entries[s];
        }
      total_given += k->n_given;
      if (weights)
        {
          g_autofree char *w = isnan (k->weight) ? g_strdup ("–") : g_strdup_printf ("%.2f", k->weight);

          add_cell (grid, w, col++, row, TRUE, NULL);
        }
      if (noise)
        {
          g_autofree char *n = isnan (k->noise) ? g_strdup ("–") : g_strdup_printf ("%.0f%%", 100.0 * k->noise);

          add_cell (grid, n, col++, row, TRUE, !isnan (k->noise) && k->noise >= 0.2 ? "warning" : "dim-label");
        }
      row++;
    }

  col = 0;
  {
    g_autofree char *given = curator_format_count (total_given);

    add_cell (grid, "All", col++, row, FALSE, "heading");
    add_cell (grid, given, col++, row, TRUE, "heading");
  }
  for (guint s = 0; s < plan->n_splits; s++)
    {
      g_autofree char *cell = format_split_cell (total_samples[s], total_entries[s]);

      add_cell (grid, cell, col++, row, TRUE, "heading");
    }
  g_free (total_samples);
  g_free (total_entries);
  gtk_box_append (self->summary_box, GTK_WIDGET (grid));
}

static void
render_plan (CuratorExportDialog *self, const CuratorExportPlan *plan)
{
  g_autofree char *headline = NULL;
  g_autofree char *n_out = NULL;
  gint64 n_samples = 0, n_entries = 0;
  gsize by_source[4] = { 0 };
  gint64 n_scored = 0, n_suspect = 0;
  GtkBox *box = self->summary_box;

  for (guint s = 0; s < plan->n_splits; s++)
    {
      n_samples += plan->splits[s].n_samples;
      n_entries += plan->splits[s].n_entries;
    }
  n_out = curator_format_count (n_samples);
  headline = g_strdup_printf ("%s sample%s in %u split%s", n_out, n_samples == 1 ? "" : "s",
                              plan->n_splits, plan->n_splits == 1 ? "" : "s");
  add_label (box, headline, "title-2");
  if (n_entries != n_samples || plan->rebalance_target > 0)
    {
      g_autofree char *entries = curator_format_count (n_entries);
      g_autofree char *target = curator_format_count (plan->rebalance_target);
      g_autofree char *text = NULL;

      if (plan->options.rebalance == CURATOR_EXPORT_REBALANCE_OVERSAMPLE)
        text = g_strdup_printf ("%s entries: the “%s” split is oversampled to %s per class.",
                                entries, plan->splits[plan->train_split].name, target);
      else if (plan->options.rebalance == CURATOR_EXPORT_REBALANCE_UNDERSAMPLE)
        text = g_strdup_printf ("The “%s” split is undersampled to %s per class.",
                                plan->splits[plan->train_split].name, target);
      else
        text = g_strdup_printf ("%s entries after rebalancing.", entries);
      add_label (box, text, "dim-label");
    }
  else if (plan->options.rebalance == CURATOR_EXPORT_REBALANCE_WEIGHTS)
    add_label (box, "Class weights for the training split go to class_weights.json.", "dim-label");
  if (n_samples == 0)
    add_label (box, "Nothing would be exported: see what is left out below.", "error");

  render_table (self, plan);

  /* what is left out, and why */
  if (plan->removals->len > 0)
    {
      g_autofree char *n = curator_format_count (plan->removals->len);
      g_autofree char *title = g_strdup_printf ("Left out: %s", n);

      add_label (box, title, "heading");
      for (guint d = 0; d < CURATOR_EXPORT_N_DROPS; d++)
        if (plan->n_removed_by[d] > 0)
          {
            g_autofree char *count = curator_format_count (plan->n_removed_by[d]);
            g_autofree char *line = g_strdup_printf ("• %s %s", count, drop_in_words (d));

            add_label (box, line, d == CURATOR_EXPORT_DROP_FLAGGED ? "warning" : NULL);
          }
    }

  /* labels that differ from the given ones */
  for (guint i = 0; i < plan->relabels->len; i++)
    {
      const CuratorExportRelabel *r = &g_array_index (plan->relabels, CuratorExportRelabel, i);

      if ((guint) r->source < G_N_ELEMENTS (by_source))
        by_source[r->source]++;
    }
  if (plan->relabels->len > 0 || plan->n_confirmed > 0 || plan->n_flagged_kept > 0)
    {
      add_label (box, "Labels", "heading");
      if (by_source[CURATOR_EXPORT_LABEL_HUMAN] > 0)
        {
          g_autofree char *line = g_strdup_printf ("• %zu relabelled by a person", by_source[CURATOR_EXPORT_LABEL_HUMAN]);
          add_label (box, line, NULL);
        }
      if (by_source[CURATOR_EXPORT_LABEL_ACCEPTED] > 0)
        {
          g_autofree char *line = g_strdup_printf ("• %zu with an accepted suggestion", by_source[CURATOR_EXPORT_LABEL_ACCEPTED]);
          add_label (box, line, NULL);
        }
      if (by_source[CURATOR_EXPORT_LABEL_MODEL] > 0)
        {
          g_autofree char *line = g_strdup_printf ("• %zu pseudo-labels from self-training", by_source[CURATOR_EXPORT_LABEL_MODEL]);
          add_label (box, line, NULL);
        }
      if (by_source[CURATOR_EXPORT_LABEL_POLICY] > 0)
        {
          g_autofree char *line = g_strdup_printf ("• %zu relabelled to a confident suggestion (policy)",
                                                   by_source[CURATOR_EXPORT_LABEL_POLICY]);
          add_label (box, line, NULL);
        }
      if (plan->n_confirmed > 0)
        {
          g_autofree char *line = g_strdup_printf ("• %zu confirmed by a person", plan->n_confirmed);
          add_label (box, line, NULL);
        }
      if (plan->n_flagged_kept > 0)
        {
          g_autofree char *line = g_strdup_printf ("• %zu flagged but kept as labelled (not reviewed)", plan->n_flagged_kept);
          add_label (box, line, "warning");
        }
    }

  /* duplicates and leaks */
  if (plan->n_groups > 0 || plan->n_leaks > 0)
    {
      add_label (box, "Duplicates", "heading");
      if (plan->n_groups > 0)
        {
          g_autofree char *line = g_strdup_printf ("• %zu groups of duplicates (%zu samples), each kept inside one split",
                                                   plan->n_groups, plan->n_grouped);
          add_label (box, line, NULL);
        }
      if (plan->n_leaks > 0)
        {
          g_autofree char *line = g_strdup_printf ("• %zu duplicate pairs sit in different splits the source chose "
                                                   "(listed in README.md)", plan->n_leaks);
          add_label (box, line, "warning");
        }
    }

  for (guint c = 0; c < plan->n_classes; c++)
    {
      n_scored += plan->classes[c].n_scored;
      n_suspect += plan->classes[c].n_suspect;
    }
  if (n_scored > 0)
    {
      g_autofree char *line = g_strdup_printf ("Estimated label noise left: %.1f%% of the scored samples "
                                               "(the classifier's own confusions included, so it runs high).",
                                               100.0 * n_suspect / n_scored);
      add_label (box, line, "dim-label");
    }
  else
    add_label (box, "The project has no analysis yet: nothing is flagged, and no noise estimate.", "dim-label");
}

static void
render (CuratorExportDialog *self)
{
  GtkWidget *child;
  gboolean busy = self->planning || self->replan_id != 0;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->summary_box))) != NULL)
    gtk_box_remove (self->summary_box, child);

  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  if (self->plan != NULL)
    render_plan (self, self->plan);
  else if (self->problem != NULL)
    add_label (self->summary_box, self->problem, "error");
  else
    add_label (self->summary_box, "Working out the split…", "dim-label");

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "export.write",
                                 !busy && self->plan != NULL && self->plan->entries->len > 0);
}

/* ---- planning in a worker ------------------------------------------------------ */

typedef struct {
  char                *project_path;
  CuratorExportOptions options;
  guint                generation;
} PlanTask;

static void
plan_task_free (PlanTask *data)
{
  g_free (data->project_path);
  curator_export_options_clear (&data->options);
  g_free (data);
}

static void
plan_in_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  PlanTask *data = task_data;
  g_autoptr(CuratorDb) db = NULL;
  CuratorExportPlan *plan;
  GError *error = NULL;

  db = curator_db_open (data->project_path, FALSE, &error);
  if (db == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  plan = curator_export_plan_new (db, &data->options, &error);
  if (plan == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, plan, (GDestroyNotify) curator_export_plan_free);
}

static void start_plan (CuratorExportDialog *self);

static void
on_planned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CuratorExportDialog *self = CURATOR_EXPORT_DIALOG (source);
  PlanTask *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  CuratorExportPlan *plan = g_task_propagate_pointer (G_TASK (result), &error);

  self->planning = FALSE;
  /* closed while planning: the task kept the object, not its widgets */
  if (self->summary_box == NULL)
    {
      g_clear_pointer (&plan, curator_export_plan_free);
      return;
    }
  if (data->generation != self->generation)
    {
      /* the form changed meanwhile: this plan is already out of date */
      g_clear_pointer (&plan, curator_export_plan_free);
      if (self->replan_id == 0)
        start_plan (self);
      return;
    }
  g_clear_pointer (&self->plan, curator_export_plan_free);
  g_clear_pointer (&self->problem, g_free);
  self->plan = plan;
  if (plan == NULL)
    self->problem = g_strdup (error->message);
  render (self);
}

static void
start_plan (CuratorExportDialog *self)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  PlanTask *data = g_new0 (PlanTask, 1);

  if (!curator_export_dialog_get_options (self, &data->options, &error))
    {
      g_free (data);
      g_clear_pointer (&self->plan, curator_export_plan_free);
      g_free (self->problem);
      self->problem = g_strdup (error->message);
      render (self);
      return;
    }
  data->project_path = g_strdup (self->project_path);
  data->generation = self->generation;
  self->planning = TRUE;
  task = g_task_new (self, NULL, on_planned, NULL);
  g_task_set_source_tag (task, start_plan);
  g_task_set_task_data (task, data, (GDestroyNotify) plan_task_free);
  g_task_run_in_thread (task, plan_in_thread);
}

static gboolean
replan_timeout (gpointer user_data)
{
  CuratorExportDialog *self = user_data;

  self->replan_id = 0;
  /* one worker at a time; the running one starts the next when it ends */
  if (!self->planning)
    start_plan (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_plan (CuratorExportDialog *self)
{
  self->generation++;
  g_clear_handle_id (&self->replan_id, g_source_remove);
  self->replan_id = g_timeout_add (REPLAN_DELAY_MS, replan_timeout, self);
  render (self);
}

static void
on_form_changed (CuratorExportDialog *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->target_spin),
                            gtk_drop_down_get_selected (self->target_dropdown) == CURATOR_EXPORT_TARGET_COUNT);
  schedule_plan (self);
}

gboolean
curator_export_dialog_is_planning (CuratorExportDialog *self)
{
  g_return_val_if_fail (CURATOR_IS_EXPORT_DIALOG (self), FALSE);
  return self->planning || self->replan_id != 0;
}

const CuratorExportPlan *
curator_export_dialog_get_plan (CuratorExportDialog *self)
{
  g_return_val_if_fail (CURATOR_IS_EXPORT_DIALOG (self), NULL);
  return curator_export_dialog_is_planning (self) ? NULL : self->plan;
}

/* ---- actions ------------------------------------------------------------------- */

static void
write_plan (CuratorExportDialog *self)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  g_autoptr(GError) error = NULL;
  CuratorExportPlan *plan = g_steal_pointer (&self->plan);

  if (!CURATOR_IS_WINDOW (parent) || !curator_window_start_export (CURATOR_WINDOW (parent), plan, &error))
    {
      if (error == NULL)
        g_set_error_literal (&error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "No window to export from");
      GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self),
                                                  GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                                  GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE,
                                                  "Cannot export");

      gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", error->message);
      g_signal_connect (dialog, "response", G_CALLBACK (gtk_window_destroy), NULL);
      gtk_window_present (GTK_WINDOW (dialog));
      /* the window took the plan: make it again for another try */
      schedule_plan (self);
      return;
    }
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
on_replace_response (GtkDialog *dialog, int response, CuratorExportDialog *self)
{
  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == GTK_RESPONSE_ACCEPT && self->plan != NULL)
    {
      /* the core still replaces only an earlier export or an empty folder */
      self->plan->options.force = TRUE;
      write_plan (self);
    }
}

static gboolean
folder_has_entries (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);

  return dir != NULL && g_dir_read_name (dir) != NULL;
}

static void
export_write (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorExportDialog *self = CURATOR_EXPORT_DIALOG (widget);
  GtkWidget *dialog;

  if (curator_export_dialog_is_planning (self) || self->plan == NULL)
    return;
  if (!folder_has_entries (self->out))
    {
      write_plan (self);
      return;
    }
  dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                   "Replace the export in “%s”?", self->out);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            "The folder is replaced only if an earlier Curator export is "
                                            "there, and only once the new one is complete.");
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL,
                          "_Replace", GTK_RESPONSE_ACCEPT, NULL);
  gtk_widget_add_css_class (gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT),
                            "destructive-action");
  g_signal_connect (dialog, "response", G_CALLBACK (on_replace_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_folder_chosen (GtkNativeDialog *chooser, int response, CuratorExportDialog *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        curator_export_dialog_set_option (self, "out", path);
    }
  g_object_unref (chooser);
}

static void
export_choose_folder (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CuratorExportDialog *self = CURATOR_EXPORT_DIALOG (widget);
  /* SAVE: the export is a folder that need not exist yet; a name is typed */
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new ("Export To", GTK_WINDOW (self),
                                                               GTK_FILE_CHOOSER_ACTION_SAVE,
                                                               "_Choose", "_Cancel");
  g_autofree char *parent = g_path_get_dirname (self->out);
  g_autofree char *base = g_path_get_basename (self->out);
  g_autoptr(GFile) parent_file = g_file_new_for_path (parent);

  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), parent_file, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), base);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_folder_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- GObject --------------------------------------------------------------------- */

static void
curator_export_dialog_dispose (GObject *object)
{
  CuratorExportDialog *self = CURATOR_EXPORT_DIALOG (object);

  g_clear_handle_id (&self->replan_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), CURATOR_TYPE_EXPORT_DIALOG);
  G_OBJECT_CLASS (curator_export_dialog_parent_class)->dispose (object);
}

static void
curator_export_dialog_finalize (GObject *object)
{
  CuratorExportDialog *self = CURATOR_EXPORT_DIALOG (object);

  g_free (self->project_path);
  g_free (self->out);
  g_free (self->problem);
  g_clear_pointer (&self->plan, curator_export_plan_free);
  G_OBJECT_CLASS (curator_export_dialog_parent_class)->finalize (object);
}

static void
curator_export_dialog_class_init (CuratorExportDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = curator_export_dialog_dispose;
  object_class->finalize = curator_export_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/curator/Curator/curator-export-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, out_label);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, split_entry);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, keep_switch);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, flagged_dropdown);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, rebalance_dropdown);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, target_dropdown);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, target_spin);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, layout_dropdown);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, files_dropdown);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, spinner);
  gtk_widget_class_bind_template_child (widget_class, CuratorExportDialog, summary_box);

  gtk_widget_class_install_action (widget_class, "export.write", NULL, export_write);
  gtk_widget_class_install_action (widget_class, "export.choose-folder", NULL, export_choose_folder);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "export.write", NULL);
}

static void
curator_export_dialog_init (CuratorExportDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_swapped (self->split_entry, "changed", G_CALLBACK (on_form_changed), self);
  g_signal_connect_swapped (self->keep_switch, "notify::active", G_CALLBACK (on_form_changed), self);
  g_signal_connect_swapped (self->flagged_dropdown, "notify::selected", G_CALLBACK (on_form_changed), self);
  g_signal_connect_swapped (self->rebalance_dropdown, "notify::selected", G_CALLBACK (on_form_changed), self);
  g_signal_connect_swapped (self->target_dropdown, "notify::selected", G_CALLBACK (on_form_changed), self);
  g_signal_connect_swapped (self->target_spin, "value-changed", G_CALLBACK (on_form_changed), self);
  g_signal_connect_swapped (self->layout_dropdown, "notify::selected", G_CALLBACK (on_form_changed), self);
  g_signal_connect_swapped (self->files_dropdown, "notify::selected", G_CALLBACK (on_form_changed), self);
  g_signal_connect_swapped (self->seed_spin, "value-changed", G_CALLBACK (on_form_changed), self);
}

CuratorExportDialog *
curator_export_dialog_new (GtkWindow *parent, const char *project_path)
{
  CuratorExportDialog *self;
  g_autofree char *base = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *out = NULL;

  g_return_val_if_fail (project_path != NULL, NULL);

  self = g_object_new (CURATOR_TYPE_EXPORT_DIALOG, "transient-for", parent,
                       "destroy-with-parent", TRUE, NULL);
  self->project_path = g_strdup (project_path);
  base = g_path_get_basename (project_path);
  if (g_str_has_suffix (base, ".curator"))
    base[strlen (base) - strlen (".curator")] = '\0';
  dir = g_path_get_dirname (project_path);
  out = g_strdup_printf ("%s/%s-export", dir, base);
  set_out (self, out);
  schedule_plan (self);
  return self;
}

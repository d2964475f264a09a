/* test-gui.c: the review window driven the way a person drives it.
 *
 * Each test generates a small dataset of PNG class folders, indexes it with
 * the core API into a fresh project, opens it in a CuratorWindow and works
 * through the window's own key bindings (looked up in its shortcut
 * controllers, so a binding that goes missing fails the test) and actions,
 * then checks the project file. Runs under Xvfb with the cairo renderer;
 * without a display every test reports SKIP. */
#include <gtk/gtk.h>

#include "curator-application.h"
#include "curator-db.h"
#include "curator-export-dialog.h"
#include "curator-index.h"
#include "curator-issues.h"
#include "curator-window.h"
#include "testutil.h"

#define N_PER_CLASS 8
static const char *class_names[] = { "cat", "dog", "eel" };
#define N_CLASSES G_N_ELEMENTS (class_names)

static gboolean have_display;

typedef struct {
  char          *root;      /* temp folder: dataset/ and the project */
  char          *dataset;
  char          *project;
  CuratorWindow *window;
} Fixture;

/* ---- helpers -------------------------------------------------------------- */

/* Runs the main loop until @done says so (bounded, so a hang fails). */
static gboolean
spin_until (gboolean (*done) (gpointer), gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (!done (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

static gboolean
window_settled (gpointer data)
{
  CuratorWindow *window = data;
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));

  return gtk_widget_get_mapped (GTK_WIDGET (window)) && clock != NULL
         && gdk_frame_clock_get_frame_counter (clock) >= 3
         && !curator_window_is_busy (window)
         && curator_window_thumbnails_settled (window);
}

static gboolean
window_idle (gpointer data)
{
  return !curator_window_is_busy (CURATOR_WINDOW (data));
}

typedef struct {
  GtkWidget *widget;
  gint64     target;
} Frames;

static gboolean
frames_done (gpointer data)
{
  Frames *frames = data;
  GdkFrameClock *clock = gtk_widget_get_frame_clock (frames->widget);

  if (gdk_frame_clock_get_frame_counter (clock) >= frames->target)
    return TRUE;
  gtk_widget_queue_draw (frames->widget);
  return FALSE;
}

/* Lets the window lay out and paint @n more frames (after a change). */
static void
wait_frames (CuratorWindow *window, int n)
{
  Frames frames = { GTK_WIDGET (window), 0 };

  frames.target = gdk_frame_clock_get_frame_counter (gtk_widget_get_frame_clock (frames.widget)) + n;
  g_assert_true (spin_until (frames_done, &frames));
}

static void
write_dataset (const char *dataset)
{
  for (guint c = 0; c < N_CLASSES; c++)
    for (guint i = 0; i < N_PER_CLASS; i++)
      {
        g_autofree char *rel = g_strdup_printf ("%s/img%02u.png", class_names[c], i);

        tu_write_png (dataset, rel, 40, 32, 100 * c + i + 1);
      }
}

static void
index_dataset (const char *dataset, const char *project)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) db = curator_db_open (project, TRUE, &error);
  CuratorIndexOptions options = { dataset, NULL, 1, FALSE };
  CuratorIndexReport report = { 0 };

  g_assert_no_error (error);
  g_assert_true (curator_index_run (db, &options, &report, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.n_added, ==, N_CLASSES * N_PER_CLASS);
  curator_index_report_clear (&report);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  if (!have_display)
    return;
  f->root = tu_mkdtemp ();
  f->dataset = g_build_filename (f->root, "dataset", NULL);
  f->project = g_build_filename (f->root, "test.curator", NULL);
  write_dataset (f->dataset);
  if (data == NULL)  /* tests that index through the window pass non-NULL */
    index_dataset (f->dataset, f->project);

  f->window = g_object_ref_sink (curator_window_new (NULL));
  curator_window_set_confirm_batches (f->window, FALSE);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 800);
  if (data == NULL)
    {
      g_assert_true (curator_window_open_project (f->window, f->project, &error));
      g_assert_no_error (error);
    }
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  if (f->window != NULL)
    {
      gtk_window_destroy (GTK_WINDOW (f->window));
      g_clear_object (&f->window);
      /* let GTK finish the unmapping before the next test */
      for (int i = 0; i < 20; i++)
        g_main_context_iteration (NULL, FALSE);
    }
  if (f->root != NULL)
    tu_rmdir (f->root);
  g_free (f->root);
  g_free (f->dataset);
  g_free (f->project);
}

static gboolean
skip_without_display (void)
{
  if (!have_display)
    g_test_skip ("no display (run under Xvfb: DISPLAY is not set or cannot be opened)");
  return !have_display;
}

/* Presses @keyval with @mods the way GTK would dispatch it to the window:
 * finds the window's shortcut for that key and activates its action. Fails
 * when no shortcut has that key. */
static void
press (CuratorWindow *window, guint keyval, GdkModifierType mods)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);

          if (GTK_IS_KEYVAL_TRIGGER (trigger)
              && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == keyval
              && gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger)) == mods)
            {
              g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0,
                                                           GTK_WIDGET (window),
                                                           gtk_shortcut_get_arguments (shortcut)));
              return;
            }
        }
    }
  g_error ("no shortcut for key %s with modifiers %x", gdk_keyval_name (keyval), mods);
}

static CuratorDbSample *
sample_at (Fixture *f, guint position)
{
  g_autoptr(CuratorSampleObject) item =
    g_list_model_get_item (G_LIST_MODEL (curator_window_get_model (f->window)), position);
  g_autoptr(GError) error = NULL;
  CuratorDbSample *sample;

  g_assert_nonnull (item);
  sample = curator_db_get_sample (curator_window_get_db (f->window), curator_sample_object_get_id (item), &error);
  g_assert_no_error (error);
  return sample;
}

static const char *
label_name (Fixture *f, gint64 class_id)
{
  return curator_sample_model_get_class_name (curator_window_get_model (f->window), class_id);
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_open (Fixture *f, gconstpointer data)
{
  CuratorSampleModel *model;

  if (skip_without_display ())
    return;
  model = curator_window_get_model (f->window);
  g_assert_true (spin_until (window_settled, f->window));

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, N_CLASSES * N_PER_CLASS);
  g_assert_cmpuint (curator_sample_model_get_classes (model)->len, ==, N_CLASSES);
  /* no run yet: worst-label-first falls back to index order, which is path order */
  for (guint i = 0; i < N_PER_CLASS; i++)
    {
      g_autoptr(CuratorDbSample) first = sample_at (f, i);
      g_autoptr(CuratorDbSample) later = sample_at (f, N_PER_CLASS + i);

      g_assert_cmpstr (label_name (f, first->current_label), ==, "cat");
      g_assert_cmpstr (label_name (f, later->current_label), ==, "dog");
    }
  /* a model on its own creates objects only when asked, and lets go of
   * the few it made */
  {
    g_autoptr(CuratorSampleModel) alone = curator_sample_model_new ();
    g_autoptr(GError) error = NULL;

    g_assert_true (curator_sample_model_load (alone, curator_window_get_db (f->window), &error));
    g_assert_no_error (error);
    g_assert_nonnull (curator_sample_model_get_object (alone, 3));
    curator_sample_model_clear (alone);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (alone)), ==, 0);
  }
  /* the window opens on the first sample */
  {
    g_autoptr(CuratorDbSample) first = sample_at (f, 0);
    g_assert_cmpint (curator_window_get_detail_sample (f->window), ==, first->id);
  }
}

static void
test_relabel_undo_redo (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorDbSample) before = NULL;
  g_autoptr(CuratorDbSample) after = NULL;
  g_autoptr(CuratorDbSample) undone = NULL;
  g_autoptr(CuratorDbSample) redone = NULL;
  g_autoptr(CuratorDbSample) next = NULL;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));

  curator_window_select_position (f->window, 2);
  before = sample_at (f, 2);
  g_assert_cmpstr (label_name (f, before->current_label), ==, "cat");

  /* "2" is the second class's key: dog */
  press (f->window, GDK_KEY_2, 0);
  after = curator_db_get_sample (curator_window_get_db (f->window), before->id, NULL);
  g_assert_cmpstr (label_name (f, after->current_label), ==, "dog");
  g_assert_true (after->verified);
  g_assert_cmpstr (after->label_source, ==, "human");

  /* auto-advance moved on to the next sample */
  next = sample_at (f, 3);
  g_assert_cmpint (curator_window_get_detail_sample (f->window), ==, next->id);

  press (f->window, GDK_KEY_z, GDK_CONTROL_MASK);
  undone = curator_db_get_sample (curator_window_get_db (f->window), before->id, NULL);
  g_assert_cmpstr (label_name (f, undone->current_label), ==, "cat");
  g_assert_false (undone->verified);

  press (f->window, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK);
  redone = curator_db_get_sample (curator_window_get_db (f->window), before->id, NULL);
  g_assert_cmpstr (label_name (f, redone->current_label), ==, "dog");
  g_assert_true (curator_db_check_integrity (curator_window_get_db (f->window), NULL));
}

static void
test_confirm_exclude_restore (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorDbSample) s = NULL;
  CuratorDb *db;
  gint64 id;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));
  db = curator_window_get_db (f->window);
  g_object_set (f->window, "auto-advance", FALSE, NULL);

  curator_window_select_position (f->window, 4);
  s = sample_at (f, 4);
  id = s->id;
  press (f->window, GDK_KEY_c, 0);
  g_clear_pointer (&s, curator_db_sample_free);
  s = curator_db_get_sample (db, id, NULL);
  g_assert_true (s->verified);

  press (f->window, GDK_KEY_x, 0);
  g_clear_pointer (&s, curator_db_sample_free);
  s = curator_db_get_sample (db, id, NULL);
  g_assert_true (s->excluded);

  press (f->window, GDK_KEY_BackSpace, 0);
  g_clear_pointer (&s, curator_db_sample_free);
  s = curator_db_get_sample (db, id, NULL);
  g_assert_false (s->excluded);
  g_assert_true (s->verified);
}

static void
test_accept (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) classes = NULL;
  g_autoptr(CuratorDbSample) s = NULL;
  g_autoptr(CuratorDbScore) score = curator_db_score_new ();
  CuratorDb *db;
  gint64 class_ids[N_CLASSES];
  gint64 run_id, eel;
  guint position;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));
  db = curator_window_get_db (f->window);

  /* a run that suggests "eel" for the first sample */
  classes = curator_db_list_classes (db, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < N_CLASSES; c++)
    class_ids[c] = ((CuratorDbClass *) g_ptr_array_index (classes, c))->id;
  eel = curator_db_lookup_class (db, "eel");
  run_id = curator_db_begin_run (db, class_ids, N_CLASSES, NULL, NULL, &error);
  g_assert_no_error (error);
  s = sample_at (f, 0);
  score->sample_id = s->id;
  score->predicted_label = eel;
  score->suggested_label = eel;
  score->suggestion_confidence = 0.9;
  score->label_quality = 0.05;
  score->reason = g_strdup ("looks like an eel");
  g_assert_true (curator_db_put_scores (db, run_id, &score, 1, &error));
  g_assert_true (curator_db_finish_run (db, run_id, "done", NULL, NULL, &error));
  g_assert_no_error (error);

  gtk_widget_activate_action (GTK_WIDGET (f->window), "project.reload", NULL);
  g_assert_true (curator_sample_model_find (curator_window_get_model (f->window), s->id, &position));
  /* the only scored sample comes first in worst-label-first order */
  g_assert_cmpuint (position, ==, 0);
  curator_window_select_position (f->window, position);
  press (f->window, GDK_KEY_a, 0);
  g_clear_pointer (&s, curator_db_sample_free);
  s = sample_at (f, 0);
  g_assert_cmpint (s->current_label, ==, eel);
  g_assert_cmpstr (s->label_source, ==, "pseudo");
}

/* A finished run that suggests "eel" for the samples at @positions (in the
 * window's current order) with the given confidences. */
static void
add_run (Fixture *f, const guint *positions, const double *confidences, guint n)
{
  CuratorDb *db = curator_window_get_db (f->window);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) classes = curator_db_list_classes (db, &error);
  g_autoptr(GPtrArray) scores = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_score_free);
  gint64 class_ids[N_CLASSES];
  gint64 eel = curator_db_lookup_class (db, "eel");
  gint64 run_id;

  g_assert_no_error (error);
  for (guint c = 0; c < N_CLASSES; c++)
    class_ids[c] = ((CuratorDbClass *) g_ptr_array_index (classes, c))->id;
  run_id = curator_db_begin_run (db, class_ids, N_CLASSES, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(CuratorDbSample) s = sample_at (f, positions[i]);
      CuratorDbScore *score = curator_db_score_new ();

      score->sample_id = s->id;
      score->predicted_label = score->suggested_label = eel;
      score->suggestion_confidence = confidences[i];
      score->label_quality = 1.0 - confidences[i];
      g_ptr_array_add (scores, score);
    }
  g_assert_true (curator_db_put_scores (db, run_id, (CuratorDbScore **) scores->pdata, scores->len, &error));
  g_assert_true (curator_db_finish_run (db, run_id, "done", NULL, NULL, &error));
  g_assert_no_error (error);
  gtk_widget_activate_action (GTK_WIDGET (f->window), "project.reload", NULL);
}

static void
test_accept_confident (Fixture *f, gconstpointer data)
{
  static const guint positions[] = { 0, 9, 10 };  /* cat, dog, dog */
  static const double confidences[] = { 0.95, 0.92, 0.6 };
  GListModel *toplevels;
  GtkWidget *dialog = NULL;
  CuratorDb *db;
  gint64 ids[3];
  gint64 eel;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));
  db = curator_window_get_db (f->window);
  eel = curator_db_lookup_class (db, "eel");
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CuratorDbSample) s = sample_at (f, positions[i]);
      ids[i] = s->id;
    }
  add_run (f, positions, confidences, 3);

  /* the dialog counts and accepts the suggestions at or above 0.9 */
  gtk_widget_activate_action (GTK_WIDGET (f->window), "review.accept-confident", NULL);
  toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels) && dialog == NULL; i++)
    {
      g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);
      if (GTK_IS_DIALOG (w) && gtk_window_get_transient_for (w) == GTK_WINDOW (f->window))
        dialog = GTK_WIDGET (w);
    }
  g_assert_nonnull (dialog);
  gtk_spin_button_set_value (g_object_get_data (G_OBJECT (dialog), "spin"), 0.9);
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CuratorDbSample) s = curator_db_get_sample (db, ids[i], NULL);
      if (confidences[i] >= 0.9)
        g_assert_cmpint (s->current_label, ==, eel);
      else
        g_assert_cmpint (s->current_label, !=, eel);
    }
  /* one undo reverts the whole batch */
  press (f->window, GDK_KEY_z, GDK_CONTROL_MASK);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CuratorDbSample) s = curator_db_get_sample (db, ids[i], NULL);
      g_assert_cmpint (s->current_label, !=, eel);
    }
}

static void
test_batch (Fixture *f, gconstpointer data)
{
  GtkSelectionModel *selection;
  CuratorDb *db;
  gint64 ids[5];

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));
  db = curator_window_get_db (f->window);
  selection = curator_window_get_selection (f->window);

  /* five samples selected, relabelled with one key, undone with one undo */
  gtk_selection_model_select_range (selection, 0, 5, TRUE);
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(CuratorDbSample) s = sample_at (f, i);
      ids[i] = s->id;
    }
  press (f->window, GDK_KEY_3, 0);
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(CuratorDbSample) s = curator_db_get_sample (db, ids[i], NULL);
      g_assert_cmpstr (label_name (f, s->current_label), ==, "eel");
    }
  press (f->window, GDK_KEY_x, 0);
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(CuratorDbSample) s = curator_db_get_sample (db, ids[i], NULL);
      g_assert_true (s->excluded);
    }

  press (f->window, GDK_KEY_z, GDK_CONTROL_MASK);  /* the exclusions, all five */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(CuratorDbSample) s = curator_db_get_sample (db, ids[i], NULL);
      g_assert_false (s->excluded);
      g_assert_cmpstr (label_name (f, s->current_label), ==, "eel");
    }
  press (f->window, GDK_KEY_z, GDK_CONTROL_MASK);  /* the relabelling, all five */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(CuratorDbSample) s = curator_db_get_sample (db, ids[i], NULL);
      g_assert_cmpstr (label_name (f, s->current_label), ==, "cat");
    }
  g_assert_true (curator_db_check_integrity (db, NULL));
}

static void
test_filters (Fixture *f, gconstpointer data)
{
  CuratorSampleModel *model;
  GListModel *list;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));
  model = curator_window_get_model (f->window);
  list = G_LIST_MODEL (model);

  curator_window_select_position (f->window, 0);
  press (f->window, GDK_KEY_x, 0);  /* exclude one */
  curator_window_select_position (f->window, 9);
  press (f->window, GDK_KEY_c, 0);  /* confirm another */

  gtk_widget_activate_action (GTK_WIDGET (f->window), "view.filter", "i", CURATOR_SAMPLE_FILTER_EXCLUDED);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, 1);
  gtk_widget_activate_action (GTK_WIDGET (f->window), "view.filter", "i", CURATOR_SAMPLE_FILTER_DECIDED);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, 1);
  gtk_widget_activate_action (GTK_WIDGET (f->window), "view.filter", "i", CURATOR_SAMPLE_FILTER_CORRUPT);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, 0);
  gtk_widget_activate_action (GTK_WIDGET (f->window), "view.filter", "i", CURATOR_SAMPLE_FILTER_ALL);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, N_CLASSES * N_PER_CLASS);

  curator_sample_model_set_search (model, "dog/");
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, N_PER_CLASS);
  curator_sample_model_set_search (model, "IMG03");
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, N_CLASSES);
  curator_sample_model_set_search (model, NULL);
  curator_sample_model_set_class (model, curator_db_lookup_class (curator_window_get_db (f->window), "eel"));
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, N_PER_CLASS);
  curator_sample_model_set_class (model, 0);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, N_CLASSES * N_PER_CLASS);
}

static void
test_detail_follows_selection (Fixture *f, gconstpointer data)
{
  g_autoptr(CuratorDbSample) s = NULL;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));

  curator_window_select_position (f->window, 13);
  s = sample_at (f, 13);
  g_assert_cmpint (curator_window_get_detail_sample (f->window), ==, s->id);
  press (f->window, GDK_KEY_j, 0);
  g_clear_pointer (&s, curator_db_sample_free);
  s = sample_at (f, 14);
  g_assert_cmpint (curator_window_get_detail_sample (f->window), ==, s->id);
  press (f->window, GDK_KEY_k, 0);
  press (f->window, GDK_KEY_k, 0);
  g_clear_pointer (&s, curator_db_sample_free);
  s = sample_at (f, 12);
  g_assert_cmpint (curator_window_get_detail_sample (f->window), ==, s->id);
  /* two selected: the pane shows no single sample */
  gtk_selection_model_select_range (curator_window_get_selection (f->window), 0, 2, TRUE);
  g_assert_cmpint (curator_window_get_detail_sample (f->window), ==, 0);
}

static void
test_index_job (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  if (skip_without_display ())
    return;
  /* a folder indexed into a new project as a background job */
  g_assert_true (curator_window_index_folder (f->window, f->dataset, f->project, &error));
  g_assert_no_error (error);
  g_assert_true (curator_window_is_busy (f->window));
  /* a second job waits its turn */
  g_assert_false (curator_window_analyze (f->window, &error));
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_BUSY);
  g_assert_true (spin_until (window_idle, f->window));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (curator_window_get_model (f->window))),
                    ==, N_CLASSES * N_PER_CLASS);
  g_assert_true (spin_until (window_settled, f->window));
}

static void
test_noise_matrix (Fixture *f, gconstpointer data)
{
  CuratorSampleModel *model;
  g_autofree guint *cells = NULL;
  CuratorDb *db;
  gint64 cat, dog;
  guint n_classes = 0;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));
  model = curator_window_get_model (f->window);
  db = curator_window_get_db (f->window);
  cat = curator_db_lookup_class (db, "cat");
  dog = curator_db_lookup_class (db, "dog");

  /* no run: the believed label is the given one, so the matrix is diagonal */
  cells = curator_sample_model_count_pairs (model, &n_classes);
  g_assert_cmpuint (n_classes, ==, N_CLASSES);
  for (guint r = 0; r < n_classes; r++)
    for (guint c = 0; c < n_classes; c++)
      g_assert_cmpuint (cells[r * n_classes + c], ==, r == c ? N_PER_CLASS : 0);

  /* a cell of the heat map opens its samples in the grid */
  gtk_widget_activate_action (GTK_WIDGET (f->window), "view.noise-matrix", NULL);
  {
    GListModel *toplevels = gtk_window_get_toplevels ();
    GtkWindow *charts = NULL;

    for (guint i = 0; i < g_list_model_get_n_items (toplevels) && charts == NULL; i++)
      {
        g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);
        if (gtk_window_get_transient_for (w) == GTK_WINDOW (f->window)
            && g_str_equal (G_OBJECT_TYPE_NAME (w), "CuratorCharts"))
          charts = w;
      }
    g_assert_nonnull (charts);
    g_signal_emit_by_name (charts, "cell-activated", cat, cat);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, N_PER_CLASS);
    g_signal_emit_by_name (charts, "cell-activated", cat, dog);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
    gtk_window_destroy (charts);
  }
}

typedef struct {
  CuratorSampleModel *model;
  gint64              sample_id;
  gint64              label;
} Shown;

static gboolean
label_shown (gpointer data)
{
  Shown *shown = data;
  guint position;
  g_autoptr(CuratorSampleObject) item = NULL;

  if (!curator_sample_model_find (shown->model, shown->sample_id, &position))
    return FALSE;
  item = g_list_model_get_item (G_LIST_MODEL (shown->model), position);
  return curator_sample_object_get_info (item)->current_label == shown->label;
}

static void
test_other_writer (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) other = NULL;
  g_autoptr(CuratorDbSample) s = NULL;
  Shown shown;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));

  /* another connection (as the CLI would be) relabels a sample */
  other = curator_db_open (f->project, FALSE, &error);
  g_assert_no_error (error);
  s = sample_at (f, 6);
  shown.model = curator_window_get_model (f->window);
  shown.sample_id = s->id;
  shown.label = curator_db_lookup_class (other, "eel");
  g_assert_cmpint (curator_db_record_decision (other, s->id, CURATOR_ACTION_RELABEL, shown.label,
                                               CURATOR_ACTOR_CLI, 0, NULL, &error), >, 0);
  g_assert_no_error (error);
  /* the window notices through the project's WAL, without being told */
  g_assert_true (spin_until (label_shown, &shown));
}

typedef struct {
  CuratorSampleModel *model;
  const gint64       *ids;
  guint               n_ids;
  gint64              label;
} AllShown;

/* The window's model (what the cells show) has @label for every sample. */
static gboolean
all_shown (gpointer data)
{
  AllShown *all = data;

  for (guint i = 0; i < all->n_ids; i++)
    {
      Shown one = { all->model, all->ids[i], all->label };

      if (!label_shown (&one))
        return FALSE;
    }
  return TRUE;
}

static void
test_batch_one_step (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDb) other = NULL;
  CuratorDb *db;
  gint64 ids[3];
  gint64 cat, eel;
  AllShown all;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));
  db = curator_window_get_db (f->window);
  cat = curator_db_lookup_class (db, "cat");
  eel = curator_db_lookup_class (db, "eel");
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CuratorDbSample) s = sample_at (f, i);
      ids[i] = s->id;
    }
  all = (AllShown) { curator_window_get_model (f->window), ids, 3, eel };

  /* three relabelled with one key press ... */
  gtk_selection_model_select_range (curator_window_get_selection (f->window), 0, 3, TRUE);
  press (f->window, GDK_KEY_3, 0);
  g_assert_true (all_shown (&all));

  /* ... are one step of the project's log: one undo from another
   * connection (as `curator undo` would be) reverts all three */
  other = curator_db_open (f->project, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (curator_db_undo (other, CURATOR_ACTOR_CLI, &error), >, 0);
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CuratorDbSample) s = curator_db_get_sample (db, ids[i], NULL);
      g_assert_cmpint (s->current_label, ==, cat);
    }
  /* the window notices and every cell shows it */
  all.label = cat;
  g_assert_true (spin_until (all_shown, &all));
  g_clear_pointer (&other, curator_db_close);

  /* redo and undo in the window: one key press each, every cell follows */
  press (f->window, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK);
  all.label = eel;
  g_assert_true (all_shown (&all));
  press (f->window, GDK_KEY_z, GDK_CONTROL_MASK);
  all.label = cat;
  g_assert_true (all_shown (&all));
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CuratorDbSample) s = curator_db_get_sample (db, ids[i], NULL);
      g_assert_cmpint (s->current_label, ==, cat);
      g_assert_false (s->verified);
    }
  /* nothing older to undo: the batch was the only step */
  press (f->window, GDK_KEY_z, GDK_CONTROL_MASK);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CuratorDbSample) s = curator_db_get_sample (db, ids[i], NULL);
      g_assert_cmpint (s->current_label, ==, cat);
    }
  g_assert_true (curator_db_check_integrity (db, NULL));
}

static GtkWindow *
find_question (CuratorWindow *window)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);
      if (GTK_IS_MESSAGE_DIALOG (w) && gtk_window_get_transient_for (w) == GTK_WINDOW (window))
        return w;
    }
  return NULL;
}

static void
test_drop_folder (Fixture *f, gconstpointer data)
{
  g_autoptr(GListModel) controllers = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_auto(GStrv) recent = NULL;
  GtkDropTarget *target = NULL;
  GValue value = G_VALUE_INIT;
  GSList *files;
  GtkWindow *question;
  gboolean handled = FALSE;

  if (skip_without_display ())
    return;
  g_assert_null (curator_window_get_db (f->window));

  /* a dataset folder dropped on the window ... */
  controllers = gtk_widget_observe_controllers (GTK_WIDGET (f->window));
  for (guint i = 0; i < g_list_model_get_n_items (controllers) && target == NULL; i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);
      if (GTK_IS_DROP_TARGET (controller))
        target = GTK_DROP_TARGET (controller);
    }
  g_assert_nonnull (target);
  files = g_slist_prepend (NULL, g_file_new_for_path (f->dataset));
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_list (files));
  g_slist_free_full (files, g_object_unref);
  g_signal_emit_by_name (target, "drop", &value, 0.0, 0.0, &handled);
  g_value_unset (&value);
  g_assert_true (handled);

  /* ... asks, and "Create" indexes it into DATASET.curator next to it, in
   * the background */
  question = find_question (f->window);
  g_assert_nonnull (question);
  gtk_dialog_response (GTK_DIALOG (question), CURATOR_RESPONSE_NEXT_TO_IT);
  g_assert_true (curator_window_is_busy (f->window));
  g_assert_true (spin_until (window_idle, f->window));
  expected = g_strdup_printf ("%s.curator", f->dataset);
  g_assert_true (g_file_test (expected, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr (curator_db_get_path (curator_window_get_db (f->window)), ==, expected);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (curator_window_get_model (f->window))),
                    ==, N_CLASSES * N_PER_CLASS);

  /* and it heads the recent projects */
  settings = g_settings_new (CURATOR_APP_ID);
  recent = g_settings_get_strv (settings, "recent-projects");
  g_assert_cmpstr (recent[0], ==, expected);
}

static void
test_open_recent (Fixture *f, gconstpointer data)
{
  g_autofree char *second = NULL;
  g_autofree char *gone = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_auto(GStrv) recent = NULL;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));
  second = g_build_filename (f->root, "second.curator", NULL);
  index_dataset (f->dataset, second);

  gtk_widget_activate_action (GTK_WIDGET (f->window), "project.open-recent", "s", second);
  g_assert_cmpstr (curator_db_get_path (curator_window_get_db (f->window)), ==, second);
  settings = g_settings_new (CURATOR_APP_ID);
  recent = g_settings_get_strv (settings, "recent-projects");
  g_assert_cmpstr (recent[0], ==, second);
  g_assert_cmpstr (recent[1], ==, f->project);

  /* a project that has gone: the open one stays */
  gone = g_build_filename (f->root, "gone.curator", NULL);
  gtk_widget_activate_action (GTK_WIDGET (f->window), "project.open-recent", "s", gone);
  g_assert_cmpstr (curator_db_get_path (curator_window_get_db (f->window)), ==, second);
  g_assert_false (g_file_test (gone, G_FILE_TEST_EXISTS));
}

static void
test_analyze_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) runs = NULL;
  g_autoptr(CuratorDbRun) done = NULL;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));

  /* Analyze starts in the background; Cancel stops it and leaves no
   * finished run behind */
  gtk_widget_activate_action (GTK_WIDGET (f->window), "project.analyze", NULL);
  g_assert_true (curator_window_is_busy (f->window));
  gtk_widget_activate_action (GTK_WIDGET (f->window), "project.cancel-job", NULL);
  g_assert_true (spin_until (window_idle, f->window));

  done = curator_db_get_run (curator_window_get_db (f->window), 0, &error);
  g_assert_null (done);
  g_assert_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND);
  runs = curator_db_list_runs (curator_window_get_db (f->window), NULL);
  for (guint i = 0; i < runs->len; i++)
    g_assert_cmpstr (((CuratorDbRun *) g_ptr_array_index (runs, i))->status, ==, "cancelled");
  g_assert_true (curator_db_check_integrity (curator_window_get_db (f->window), NULL));
}

/* Files (not folders) under @path, recursively; *@names collects their names. */
static guint
count_files (const char *path, GHashTable *names)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint n = 0;

  if (dir == NULL)
    return 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        n += count_files (child, names);
      else
        {
          n++;
          if (names != NULL)
            g_hash_table_add (names, g_strdup (name));
        }
    }
  return n;
}

static gboolean
dialog_planned (gpointer data)
{
  return !curator_export_dialog_is_planning (CURATOR_EXPORT_DIALOG (data));
}

static void
test_export_dialog (Fixture *f, gconstpointer data)
{
  CuratorDb *db;
  GtkWindow *window;
  CuratorExportDialog *dialog;
  const CuratorExportPlan *plan;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) classes = NULL;
  g_autoptr(GPtrArray) scores = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_score_free);
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *out = NULL;
  g_autofree char *card = NULL;
  g_autofree char *train = NULL;
  g_autofree char *test = NULL;
  g_autofree char *excluded_name = NULL;
  char *flagged_names[3] = { NULL, NULL, NULL };
  gint64 class_ids[N_CLASSES];
  gint64 run_id, target, train_entries, test_entries, n_samples = 0;
  guint train_split;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));
  window = GTK_WINDOW (f->window);
  db = curator_window_get_db (f->window);
  g_object_set (f->window, "auto-advance", FALSE, NULL);

  /* one cat excluded by a person ... */
  curator_window_select_position (f->window, 3);
  press (f->window, GDK_KEY_x, 0);
  {
    g_autoptr(CuratorDbSample) s = sample_at (f, 3);
    g_assert_true (s->excluded);
    excluded_name = g_path_get_basename (s->path);
  }
  /* ... and two dogs flagged by a run, not reviewed */
  classes = curator_db_list_classes (db, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < N_CLASSES; c++)
    class_ids[c] = ((CuratorDbClass *) g_ptr_array_index (classes, c))->id;
  run_id = curator_db_begin_run (db, class_ids, N_CLASSES, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(CuratorDbSample) s = sample_at (f, N_PER_CLASS + 1 + i);
      CuratorDbScore *score = curator_db_score_new ();

      g_assert_cmpstr (label_name (f, s->current_label), ==, "dog");
      flagged_names[i] = g_path_get_basename (s->path);
      score->sample_id = s->id;
      score->predicted_label = score->suggested_label = curator_db_lookup_class (db, "eel");
      score->suggestion_confidence = 0.9;
      score->label_quality = 0.05;
      score->issues = CURATOR_ISSUE_LABEL;
      g_ptr_array_add (scores, score);
    }
  g_assert_true (curator_db_put_scores (db, run_id, (CuratorDbScore **) scores->pdata, scores->len, &error));
  g_assert_true (curator_db_finish_run (db, run_id, "done", NULL, NULL, &error));
  g_assert_no_error (error);
  gtk_widget_activate_action (GTK_WIDGET (f->window), "project.reload", NULL);

  /* Ctrl+E opens the dialog over the project */
  press (f->window, GDK_KEY_e, GDK_CONTROL_MASK);
  {
    GListModel *toplevels = gtk_window_get_toplevels ();

    dialog = NULL;
    for (guint i = 0; i < g_list_model_get_n_items (toplevels) && dialog == NULL; i++)
      {
        g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);
        if (CURATOR_IS_EXPORT_DIALOG (w) && gtk_window_get_transient_for (w) == window)
          dialog = CURATOR_EXPORT_DIALOG (w);
      }
  }
  g_assert_nonnull (dialog);

  /* a split the core cannot parse: no plan, and Export is off */
  g_assert_true (curator_export_dialog_set_option (dialog, "split", "train=lots"));
  g_assert_true (spin_until (dialog_planned, dialog));
  g_assert_null (curator_export_dialog_get_plan (dialog));
  gtk_widget_activate_action (GTK_WIDGET (dialog), "export.write", NULL);
  g_assert_false (curator_window_is_busy (f->window));
  g_assert_false (curator_export_dialog_set_option (dialog, "rebalance", "sideways"));

  out = g_build_filename (f->root, "cleaned", NULL);
  g_assert_true (curator_export_dialog_set_option (dialog, "out", out));
  g_assert_true (curator_export_dialog_set_option (dialog, "split", "train=0.75,test=0.25"));
  g_assert_true (curator_export_dialog_set_option (dialog, "rebalance", "oversample"));
  g_assert_true (curator_export_dialog_set_option (dialog, "layout", "imagefolder"));
  g_assert_true (curator_export_dialog_set_option (dialog, "files", "link"));
  g_assert_true (spin_until (dialog_planned, dialog));
  plan = curator_export_dialog_get_plan (dialog);
  g_assert_nonnull (plan);

  /* the summary's facts: what is left out and why, and the oversampling */
  g_assert_cmpuint (plan->n_splits, ==, 2);
  g_assert_cmpuint (plan->n_removed_by[CURATOR_EXPORT_DROP_EXCLUDED], ==, 1);
  g_assert_cmpuint (plan->n_removed_by[CURATOR_EXPORT_DROP_FLAGGED], ==, 2);
  for (guint s = 0; s < plan->n_splits; s++)
    n_samples += plan->splits[s].n_samples;
  g_assert_cmpint (n_samples, ==, N_CLASSES * N_PER_CLASS - 3);
  train_split = plan->train_split;
  g_assert_cmpstr (plan->splits[train_split].name, ==, "train");
  target = plan->rebalance_target;
  g_assert_cmpint (target, >, 0);
  for (guint c = 0; c < plan->n_classes; c++)
    g_assert_cmpint (plan->classes[c].n_entries[train_split], ==, target);
  train_entries = plan->splits[train_split].n_entries;
  test_entries = plan->splits[1 - train_split].n_entries;
  g_assert_cmpint (train_entries, ==, N_CLASSES * target);

  /* Export: the dialog goes, the window writes in the background */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "export.write", NULL));
  g_assert_true (curator_window_is_busy (f->window));
  g_assert_true (spin_until (window_idle, f->window));

  card = g_build_filename (out, "README.md", NULL);
  g_assert_true (g_file_test (card, G_FILE_TEST_IS_REGULAR));
  train = g_build_filename (out, "train", NULL);
  test = g_build_filename (out, "test", NULL);
  g_assert_cmpuint (count_files (train, names), ==, train_entries);
  g_assert_cmpuint (count_files (test, names), ==, test_entries);
  /* file names repeat across classes: look in each class's own folders */
  {
    g_autoptr(GHashTable) cats = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) dogs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *train_cat = g_build_filename (train, "cat", NULL);
    g_autofree char *test_cat = g_build_filename (test, "cat", NULL);
    g_autofree char *train_dog = g_build_filename (train, "dog", NULL);
    g_autofree char *test_dog = g_build_filename (test, "dog", NULL);

    count_files (train_cat, cats);
    count_files (test_cat, cats);
    count_files (train_dog, dogs);
    count_files (test_dog, dogs);
    /* (oversampling repeats have names of their own) */
    for (guint i = 0; i < N_PER_CLASS; i++)
      {
        g_autofree char *name = g_strdup_printf ("img%02u.png", i);

        g_assert_true (g_hash_table_contains (cats, name) == !g_str_equal (name, excluded_name));
        g_assert_true (g_hash_table_contains (dogs, name) == !g_strv_contains ((const char * const *) flagged_names, name));
      }
  }
  g_free (flagged_names[0]);
  g_free (flagged_names[1]);

  /* a dialog closed while it plans goes quietly */
  {
    GtkWindow *again = curator_window_show_export (f->window);
    gint64 until = g_get_monotonic_time () + 260 * 1000;  /* just past the re-plan delay */

    g_assert_nonnull (again);
    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
    gtk_window_destroy (again);
    until = g_get_monotonic_time () + G_USEC_PER_SEC;
    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
  }
}

static void
save_screenshot (Fixture *f, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_test_build_filename (G_TEST_BUILT, name, NULL);
  g_autoptr(GdkTexture) texture = NULL;

  g_assert_true (curator_window_save_screenshot (f->window, file, &error));
  g_assert_no_error (error);
  texture = gdk_texture_new_from_filename (file, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, gtk_widget_get_width (GTK_WIDGET (f->window)));
  g_assert_cmpint (gdk_texture_get_height (texture), ==, gtk_widget_get_height (GTK_WIDGET (f->window)));
}

static void
test_render (Fixture *f, gconstpointer data)
{
  GtkSettings *settings;

  if (skip_without_display ())
    return;
  g_assert_true (spin_until (window_settled, f->window));
  curator_window_select_position (f->window, 1);
  wait_frames (f->window, 2);
  g_assert_true (spin_until (window_settled, f->window));
  save_screenshot (f, "gui-default.png");

  settings = gtk_settings_get_default ();
  g_object_set (settings, "gtk-application-prefer-dark-theme", TRUE, NULL);
  wait_frames (f->window, 2);
  save_screenshot (f, "gui-dark.png");
  g_object_set (settings, "gtk-application-prefer-dark-theme", FALSE, NULL);
}

int
main (int argc, char *argv[])
{
  g_autofree char *schema_dir = NULL;

  /* the documented GUI test environment, whatever the caller's */
  g_setenv ("GSK_RENDERER", "cairo", TRUE);
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GDK_BACKEND", "x11", FALSE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);

  g_test_init (&argc, &argv, NULL);
  schema_dir = g_test_build_filename (G_TEST_BUILT, "..", "data", NULL);
  g_setenv ("GSETTINGS_SCHEMA_DIR", schema_dir, TRUE);

  have_display = gtk_init_check ();
  if (have_display)
    curator_application_load_css (gdk_display_get_default ());

#define ADD(path, fn, data) \
  g_test_add ("/gui/" path, Fixture, data, fixture_set_up, fn, fixture_tear_down)
  ADD ("open", test_open, NULL);
  ADD ("relabel-undo-redo", test_relabel_undo_redo, NULL);
  ADD ("confirm-exclude-restore", test_confirm_exclude_restore, NULL);
  ADD ("accept", test_accept, NULL);
  ADD ("batch", test_batch, NULL);
  ADD ("accept-confident", test_accept_confident, NULL);
  ADD ("filters", test_filters, NULL);
  ADD ("detail-follows-selection", test_detail_follows_selection, NULL);
  ADD ("noise-matrix", test_noise_matrix, NULL);
  ADD ("other-writer", test_other_writer, NULL);
  ADD ("batch-one-step", test_batch_one_step, NULL);
  ADD ("index-job", test_index_job, "index through the window");
  ADD ("drop-folder", test_drop_folder, "index through the window");
  ADD ("open-recent", test_open_recent, NULL);
  ADD ("analyze-cancel", test_analyze_cancel, NULL);
  ADD ("export-dialog", test_export_dialog, NULL);
  ADD ("render", test_render, NULL);
  return g_test_run ();
}

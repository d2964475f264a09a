/* curator-application.c: see curator-application.h. */
#include "curator-application.h"

#include "curator-charts.h"
#include "curator-config.h"
#include "curator-export-dialog.h"
#include "curator-window.h"

/* Longest wait for thumbnails before a screenshot is taken anyway. */
#define SCREENSHOT_TIMEOUT_US (20 * G_USEC_PER_SEC)

struct _CuratorApplication
{
  GtkApplication parent_instance;

  /* owned: options of this run */
  char    *screenshot;
  int      select_position;   /* -1 = leave as is */
  int      filter;            /* -1 = leave as is */
  gboolean dark;
  gboolean charts;            /* show the noise matrix (and shoot it) */
  gboolean export_dialog;     /* show the export dialog (and shoot it) */
  gboolean during_job;        /* shoot while the background job runs */
  gboolean analyze;           /* start an analysis at once */
  gint64   screenshot_start_us;
};

G_DEFINE_FINAL_TYPE (CuratorApplication, curator_application, GTK_TYPE_APPLICATION)

void
curator_application_load_css (GdkDisplay *display)
{
  static GtkCssProvider *provider;

  if (provider != NULL)
    return;
  provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (provider, "/io/github/curator/Curator/style.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static CuratorWindow *
get_window (CuratorApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (curator_window_new (GTK_APPLICATION (self)));
  return CURATOR_WINDOW (window);
}

/* ---- screenshots ------------------------------------------------------------ */

/* The window to shoot: the charts or the export dialog when asked for,
 * else the main window. */
static GtkWindow *
screenshot_target (CuratorApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  GListModel *toplevels = gtk_window_get_toplevels ();  /* (transfer none) */

  if ((!self->charts && !self->export_dialog) || window == NULL)
    return window;
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) toplevel = g_list_model_get_item (toplevels, i);

      if ((self->charts ? CURATOR_IS_CHARTS (toplevel) : CURATOR_IS_EXPORT_DIALOG (toplevel))
          && gtk_window_get_transient_for (toplevel) == window)
        {
          /* the dialog is shot once its plan is shown */
          if (CURATOR_IS_EXPORT_DIALOG (toplevel)
              && curator_export_dialog_is_planning (CURATOR_EXPORT_DIALOG (toplevel)))
            return NULL;
          return toplevel;  /* GTK keeps its toplevels alive */
        }
    }
  return NULL;
}

static void
screenshot_after_paint (GdkFrameClock *clock, gpointer user_data)
{
  CuratorApplication *self = user_data;
  GtkWindow *window = screenshot_target (self);
  g_autoptr(GError) error = NULL;

  g_signal_handlers_disconnect_by_func (clock, screenshot_after_paint, self);
  if (window != NULL && !curator_save_window_png (window, self->screenshot, &error))
    g_printerr ("curator-gui: %s\n", error->message);
  g_action_group_activate_action (G_ACTION_GROUP (self), "quit", NULL);
}

static gboolean
screenshot_tick (gpointer user_data)
{
  CuratorApplication *self = user_data;
  CuratorWindow *window = CURATOR_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (self)));
  gboolean timed_out = g_get_monotonic_time () - self->screenshot_start_us > SCREENSHOT_TIMEOUT_US;

  GtkWindow *target = screenshot_target (self);
  GdkFrameClock *clock = target != NULL ? gtk_widget_get_frame_clock (GTK_WIDGET (target)) : NULL;

  if (window == NULL)
    return G_SOURCE_REMOVE;
  /* a window that has nothing new to draw paints no frames: ask for some */
  if (target != NULL)
    gtk_widget_queue_draw (GTK_WIDGET (target));
  /* a transient presented before its parent was mapped is shown again */
  if (target != NULL && target != GTK_WINDOW (window) && gtk_widget_get_mapped (GTK_WIDGET (window))
      && !gtk_widget_get_mapped (GTK_WIDGET (target)))
    gtk_window_present (target);
  /* wait for a few painted frames: layout, then the thumbnails' redraw */
  if (!gtk_widget_get_mapped (GTK_WIDGET (window)) || clock == NULL
      || !gtk_widget_get_mapped (GTK_WIDGET (target))
      || gdk_frame_clock_get_frame_counter (clock) < 3
      || (!self->during_job && (curator_window_is_busy (window) || !curator_window_thumbnails_settled (window))
          && !timed_out))
    return G_SOURCE_CONTINUE;
  /* the progress bar, once its rate and time left have something to go on */
  if (self->during_job && curator_window_is_busy (window)
      && g_get_monotonic_time () - self->screenshot_start_us < 6 * G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;
  if (timed_out)
    g_printerr ("curator-gui: thumbnails still loading after %d s; taking the screenshot anyway\n",
                (int) (SCREENSHOT_TIMEOUT_US / G_USEC_PER_SEC));
  /* right after a paint every allocation is current */
  g_signal_connect (clock, "after-paint", G_CALLBACK (screenshot_after_paint), self);
  gtk_widget_queue_draw (GTK_WIDGET (target));
  return G_SOURCE_REMOVE;
}

static void
present (CuratorApplication *self, CuratorWindow *window)
{
  if (self->dark)
    g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
  gtk_window_present (GTK_WINDOW (window));
  if (self->filter >= 0)
    gtk_widget_activate_action (GTK_WIDGET (window), "view.filter", "i", self->filter);
  if (self->select_position >= 0)
    curator_window_select_position (window, self->select_position);
  if (self->charts)
    gtk_widget_activate_action (GTK_WIDGET (window), "view.noise-matrix", NULL);
  if (self->export_dialog)
    gtk_widget_activate_action (GTK_WIDGET (window), "project.export", NULL);
  if (self->analyze)
    gtk_widget_activate_action (GTK_WIDGET (window), "project.analyze", NULL);
  if (self->screenshot != NULL)
    {
      self->screenshot_start_us = g_get_monotonic_time ();
      /* settle a few frames after the last thumbnail arrived */
      g_timeout_add (300, screenshot_tick, self);
    }
}

/* ---- GApplication ----------------------------------------------------------- */

static void
curator_application_activate (GApplication *app)
{
  CuratorApplication *self = CURATOR_APPLICATION (app);
  CuratorWindow *window = get_window (self);
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  /* reopen the last project, as editors reopen the last document */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, CURATOR_APP_ID, TRUE);
  if (schema != NULL && curator_window_get_db (window) == NULL && self->screenshot == NULL)
    {
      g_autoptr(GSettings) settings = g_settings_new (CURATOR_APP_ID);
      g_auto(GStrv) recent = g_settings_get_strv (settings, "recent-projects");

      if (recent[0] != NULL && g_file_test (recent[0], G_FILE_TEST_IS_REGULAR))
        {
          g_autoptr(GError) error = NULL;

          if (!curator_window_open_project (window, recent[0], &error))
            g_message ("Cannot reopen %s: %s", recent[0], error->message);
        }
    }
  present (self, window);
}

static void
curator_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  CuratorApplication *self = CURATOR_APPLICATION (app);
  CuratorWindow *window = get_window (self);
  g_autofree char *path = n_files > 0 ? g_file_get_path (files[0]) : NULL;
  g_autoptr(GError) error = NULL;

  if (path != NULL && g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      /* a dataset folder: index it into FOLDER.curator beside it */
      g_autofree char *project = g_strdup_printf ("%s.curator", path);

      if (!curator_window_index_folder (window, path, project, &error))
        g_printerr ("curator-gui: cannot index %s: %s\n", path, error->message);
    }
  else if (path != NULL && !curator_window_open_project (window, path, &error))
    g_printerr ("curator-gui: cannot open %s: %s\n", path, error->message);
  present (self, window);
}

static void
curator_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *open_accels[] = { "<Control>o", NULL };
  static const char *new_accels[] = { "<Control>n", NULL };
  static const char *undo_accels[] = { "<Control>z", NULL };
  static const char *detail_accels[] = { "F9", NULL };

  G_APPLICATION_CLASS (curator_application_parent_class)->startup (app);

  curator_application_load_css (gdk_display_get_default ());
  gtk_window_set_default_icon_name (CURATOR_APP_ID);
  /* shown in menus; the window's own bindings do the work */
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "project.open", open_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "project.new", new_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "review.undo", undo_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "view.show-detail", detail_accels);
}

static int
curator_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  CuratorApplication *self = CURATOR_APPLICATION (app);

  if (g_variant_dict_lookup (options, "version", "b", NULL))
    {
      g_print ("curator-gui %s\n", CURATOR_VERSION);
      return 0;
    }
  g_variant_dict_lookup (options, "screenshot", "^ay", &self->screenshot);
  g_variant_dict_lookup (options, "dark", "b", &self->dark);
  g_variant_dict_lookup (options, "charts", "b", &self->charts);
  g_variant_dict_lookup (options, "export-dialog", "b", &self->export_dialog);
  g_variant_dict_lookup (options, "during-job", "b", &self->during_job);
  g_variant_dict_lookup (options, "analyze", "b", &self->analyze);
  g_variant_dict_lookup (options, "select", "i", &self->select_position);
  g_variant_dict_lookup (options, "filter", "i", &self->filter);
  if (self->screenshot != NULL)
    {
      /* a one-off rendering: no single-instance handover */
      g_application_set_flags (app, g_application_get_flags (app) | G_APPLICATION_NON_UNIQUE);
    }
  return -1;
}

/* ---- app actions -------------------------------------------------------------- */

static void
app_quit (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (user_data));

  /* every decision is already in the project file: nothing to save; a
   * running job is stopped cleanly first */
  while (windows != NULL)
    {
      GtkWindow *window = windows->data;

      windows = windows->next;
      if (CURATOR_IS_WINDOW (window))
        curator_window_stop_job (CURATOR_WINDOW (window));
      gtk_window_destroy (window);
    }
}

static void
app_about (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  static const char *developers[] = { "The Curator authors", NULL };

  gtk_show_about_dialog (gtk_application_get_active_window (GTK_APPLICATION (user_data)),
                         "program-name", "Curator",
                         "logo-icon-name", CURATOR_APP_ID,
                         "version", CURATOR_VERSION,
                         "comments", "Find and fix mislabelled images in classification datasets",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "authors", developers,
                         NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", app_quit, NULL, NULL, NULL, { 0 } },
  { "about", app_about, NULL, NULL, NULL, { 0 } },
};

/* ---- GObject --------------------------------------------------------------------- */

static void
curator_application_finalize (GObject *object)
{
  CuratorApplication *self = CURATOR_APPLICATION (object);

  g_free (self->screenshot);
  G_OBJECT_CLASS (curator_application_parent_class)->finalize (object);
}

static void
curator_application_class_init (CuratorApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = curator_application_finalize;
  app_class->activate = curator_application_activate;
  app_class->open = curator_application_open;
  app_class->startup = curator_application_startup;
  app_class->handle_local_options = curator_application_handle_local_options;
}

static void
curator_application_init (CuratorApplication *self)
{
  static const GOptionEntry options[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, "Show the version and exit", NULL },
    { "screenshot", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, NULL,
      "Render the window to FILE (PNG) once its thumbnails are in, then quit", "FILE" },
    { "dark", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL, "Use the dark style", NULL },
    { "charts", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL, "Show the noise matrix", NULL },
    { "export-dialog", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL, "Show the export dialog", NULL },
    { "during-job", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
      "Take the screenshot while the background job runs", NULL },
    { "analyze", 0, 0, G_OPTION_ARG_NONE, NULL, "Start an analysis of the project at once", NULL },
    { "select", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, NULL, "Select the sample at this position", "N" },
    { "filter", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, NULL, "Show this review filter (0 = all)", "N" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };

  self->select_position = -1;
  self->filter = -1;
  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), "[PROJECT.curator | DATASET-FOLDER]");
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
}

CuratorApplication *
curator_application_new (void)
{
  return g_object_new (CURATOR_TYPE_APPLICATION,
                       "application-id", CURATOR_APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/curator/Curator",
                       NULL);
}

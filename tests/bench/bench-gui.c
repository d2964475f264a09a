/* bench-gui.c: how fast the review window shows a large project.
 *
 *   bench-gui PROJECT [--step-pages P] [--thumb-size PX]
 *
 * Opens PROJECT in the same CuratorWindow curator-gui shows and measures
 *   1. launch to the first painted frame, and to the first frame in which
 *      every visible cell shows its thumbnail (timed from the start of
 *      main(), so GTK's start-up, the project's loading and the thumbnail
 *      decoding all count);
 *   2. the frames while the grid scrolls from the top to the bottom, P pages
 *      per frame (default 1: a fast fling), moved from a tick callback so
 *      that every frame scrolls. Two figures per frame, from the GdkFrameClock:
 *        work      from before-paint to after-paint (update, layout, paint:
 *                  the main thread's time for the frame);
 *        cpu       the main thread's CPU time over the same span: what the
 *                  frame cost regardless of other programs on a shared
 *                  machine (wall-clock work includes waiting for a core);
 *        interval  between the frame times of consecutive frames (includes
 *                  anything else that held the main loop, e.g. thumbnail
 *                  deliveries; Xvfb paces frames at about 16.7 ms, so this
 *                  cannot go below that).
 *      Median, 99th percentile and maximum of each are printed.
 * Run under Xvfb with GSK_RENDERER=cairo (tests/bench/gui does). */
#include <gtk/gtk.h>
#include <stdlib.h>
#include <time.h>

#include "curator-application.h"
#include "curator-window.h"

typedef struct {
  gint64         start_us;
  CuratorWindow *window;
  GtkWidget     *grid;
  GtkAdjustment *adjustment;
  GdkFrameClock *clock;
  double         step_pages;
  gint64         first_frame_us;
  gint64         first_thumbs_us;
  double         first_frame_cpu_ms;
  double         first_thumbs_cpu_ms;
  gint64         paint_start_us;
  gint64         paint_start_cpu_us;
  gint64         last_frame_time_us;
  gboolean       scrolling;
  gboolean       done;
  guint          tick_id;
  GArray        *work_ms;
  GArray        *cpu_ms;
  GArray        *interval_ms;
  gint64         scroll_start_us;
  gint64         scroll_end_us;
} Bench;

static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static double
process_cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static guint
count_cells (GtkWidget *widget)
{
  guint n = g_str_equal (G_OBJECT_TYPE_NAME (widget), "CuratorSampleCell");

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += count_cells (child);
  return n;
}

static GtkWidget *
find_grid (GtkWidget *widget)
{
  if (GTK_IS_GRID_VIEW (widget))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_grid (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values. */
static double
percentile (GArray *sorted, double p)
{
  guint rank;

  if (sorted->len == 0)
    return 0.0;
  rank = (guint) (p / 100.0 * sorted->len + 0.999999);
  rank = CLAMP (rank, 1, sorted->len);
  return g_array_index (sorted, double, rank - 1);
}

/* @limit_ms: what counts as too long (16 ms of work; for intervals, more
 * than one refresh of about 16.7 ms, i.e. a frame missed). */
static void
print_stats (const char *what, GArray *values, double limit_ms)
{
  guint over = 0;

  g_array_sort (values, compare_double);
  for (guint i = 0; i < values->len; i++)
    over += g_array_index (values, double, i) > limit_ms;
  g_print ("  %-9s median %6.2f ms   p99 %6.2f ms   max %7.2f ms   over %2.0f ms: %u of %u\n",
           what, percentile (values, 50), percentile (values, 99),
           values->len > 0 ? g_array_index (values, double, values->len - 1) : 0.0,
           limit_ms, over, values->len);
}

static gboolean
scroll_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  Bench *b = user_data;
  double value = gtk_adjustment_get_value (b->adjustment);
  double page = gtk_adjustment_get_page_size (b->adjustment);
  double bottom = gtk_adjustment_get_upper (b->adjustment) - page;

  if (value >= bottom)
    {
      b->scroll_end_us = g_get_monotonic_time ();
      b->done = TRUE;
      b->tick_id = 0;
      return G_SOURCE_REMOVE;
    }
  gtk_adjustment_set_value (b->adjustment, MIN (bottom, value + b->step_pages * page));
  return G_SOURCE_CONTINUE;
}

static void
on_before_paint (GdkFrameClock *clock, Bench *b)
{
  b->paint_start_us = g_get_monotonic_time ();
  b->paint_start_cpu_us = thread_cpu_us ();
}

static void
on_after_paint (GdkFrameClock *clock, Bench *b)
{
  gint64 now = g_get_monotonic_time ();
  gint64 frame_time = gdk_frame_clock_get_frame_time (clock);

  if (b->first_frame_us == 0)
    {
      b->first_frame_us = now;
      b->first_frame_cpu_ms = process_cpu_ms ();
    }
  if (b->first_thumbs_us == 0 && b->first_frame_us != 0 && curator_window_thumbnails_settled (b->window)
      && g_list_model_get_n_items (G_LIST_MODEL (curator_window_get_model (b->window))) > 0)
    {
      b->first_thumbs_us = now;
      b->first_thumbs_cpu_ms = process_cpu_ms ();
    }

  if (b->scrolling && !b->done)
    {
      double work = (now - b->paint_start_us) / 1000.0;
      double cpu = (thread_cpu_us () - b->paint_start_cpu_us) / 1000.0;

      g_array_append_val (b->work_ms, work);
      g_array_append_val (b->cpu_ms, cpu);
      if (b->last_frame_time_us != 0)
        {
          double interval = (frame_time - b->last_frame_time_us) / 1000.0;

          g_array_append_val (b->interval_ms, interval);
        }
      b->last_frame_time_us = frame_time;
    }
}

int
main (int argc, char *argv[])
{
  Bench b = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  double step_pages = 1.0;
  int thumb_px = 128;
  gboolean launch_only = FALSE;
  const GOptionEntry entries[] = {
    { "step-pages", 0, 0, G_OPTION_ARG_DOUBLE, &step_pages, "Pages scrolled per frame (default 1)", "P" },
    { "thumb-size", 0, 0, G_OPTION_ARG_INT, &thumb_px, "Thumbnail size in px (default 128)", "PX" },
    { "launch-only", 0, 0, G_OPTION_ARG_NONE, &launch_only, "Stop after the first thumbnails", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  gint64 deadline;

  b.start_us = g_get_monotonic_time ();
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  context = g_option_context_new ("PROJECT - time the review window on a large project");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2 || step_pages <= 0.0)
    {
      g_printerr ("usage: bench-gui PROJECT [--step-pages P] [--thumb-size PX]%s%s\n",
                  error != NULL ? ": " : "", error != NULL ? error->message : "");
      return 2;
    }
  if (!gtk_init_check ())
    {
      g_printerr ("bench-gui: no display (run under xvfb-run)\n");
      return 77;
    }
  curator_application_load_css (gdk_display_get_default ());

  b.step_pages = step_pages;
  b.work_ms = g_array_new (FALSE, FALSE, sizeof (double));
  b.cpu_ms = g_array_new (FALSE, FALSE, sizeof (double));
  b.interval_ms = g_array_new (FALSE, FALSE, sizeof (double));
  b.window = g_object_ref_sink (curator_window_new (NULL));
  g_object_set (b.window, "thumb-size", thumb_px, NULL);
  gtk_window_set_default_size (GTK_WINDOW (b.window), 1280, 820);
  {
    gint64 t0 = g_get_monotonic_time ();
    double cpu0 = process_cpu_ms ();

    g_print ("launch to a window (GTK start-up):  %6.0f ms wall  %6.0f ms cpu\n",
             (t0 - b.start_us) / 1000.0, cpu0);
    if (!curator_window_open_project (b.window, argv[1], &error))
      {
        g_printerr ("bench-gui: %s\n", error->message);
        return 1;
      }
    g_print ("opening the project (%u samples):  %6.0f ms wall  %6.0f ms cpu\n",
             curator_sample_model_get_n_samples (curator_window_get_model (b.window)),
             (g_get_monotonic_time () - t0) / 1000.0, process_cpu_ms () - cpu0);
  }
  gtk_window_present (GTK_WINDOW (b.window));
  b.grid = find_grid (GTK_WIDGET (b.window));
  g_assert (b.grid != NULL);
  b.adjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (b.grid));

  /* 1. launch to first thumbnails */
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (b.first_thumbs_us == 0 && g_get_monotonic_time () < deadline)
    {
      if (b.clock == NULL && (b.clock = gtk_widget_get_frame_clock (GTK_WIDGET (b.window))) != NULL)
        {
          g_signal_connect (b.clock, "before-paint", G_CALLBACK (on_before_paint), &b);
          g_signal_connect_after (b.clock, "after-paint", G_CALLBACK (on_after_paint), &b);
        }
      /* a window with nothing new to draw paints no frames: ask for one */
      if (b.clock != NULL)
        gtk_widget_queue_draw (GTK_WIDGET (b.window));
      g_main_context_iteration (NULL, TRUE);
    }
  if (b.first_thumbs_us == 0)
    {
      g_printerr ("bench-gui: thumbnails not in after 60 s\n");
      return 1;
    }
  g_print ("launch to first painted frame:      %6.0f ms wall  %6.0f ms cpu\n",
           (b.first_frame_us - b.start_us) / 1000.0, b.first_frame_cpu_ms);
  g_print ("launch to first painted thumbnails: %6.0f ms wall  %6.0f ms cpu (all threads); %u cells\n",
           (b.first_thumbs_us - b.start_us) / 1000.0, b.first_thumbs_cpu_ms, count_cells (b.grid));

  if (launch_only)
    return 0;

  /* 2. scroll from top to bottom */
  b.scrolling = TRUE;
  b.scroll_start_us = g_get_monotonic_time ();
  b.tick_id = gtk_widget_add_tick_callback (b.grid, scroll_tick, &b, NULL);
  deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
  while (!b.done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (!b.done)
    {
      g_printerr ("bench-gui: scrolling did not reach the bottom in 300 s\n");
      return 1;
    }
  g_print ("scrolling top to bottom, %.2f page(s) per frame: %u frames in %.1f s (%.0f px per page)\n",
           b.step_pages, b.work_ms->len, (b.scroll_end_us - b.scroll_start_us) / 1e6,
           gtk_adjustment_get_page_size (b.adjustment));
  print_stats ("work", b.work_ms, 16.0);
  print_stats ("cpu", b.cpu_ms, 16.0);
  print_stats ("interval", b.interval_ms, 25.0);

  if (b.tick_id != 0)
    gtk_widget_remove_tick_callback (b.grid, b.tick_id);
  g_signal_handlers_disconnect_by_data (b.clock, &b);
  gtk_window_destroy (GTK_WINDOW (b.window));
  g_object_unref (b.window);
  g_array_unref (b.work_ms);
  g_array_unref (b.cpu_ms);
  g_array_unref (b.interval_ms);
  return 0;
}

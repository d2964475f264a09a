/* curator-job.c: see curator-job.h.
 *
 * `lock` guards `fraction`/`message` written by the worker and `idle_id`;
 * the main thread copies them into `shown_*` before notifying, so property
 * getters never race the worker. The main thread also keeps the last few
 * seconds of progress (`history`) for the rate and the time left. */
#include "curator-job.h"

#include <string.h>

#include "curator-analyze.h"
#include "curator-db.h"
#include "curator-index.h"
#include "curator-sample-model.h"

/* Progress points kept for the rate and the time left, and how far back
 * they reach: long enough to smooth the core's bursts, short enough to
 * follow a change of pace (indexing decodes; analysis trains). */
#define HISTORY_LEN 64
#define HISTORY_WINDOW_US (8 * G_USEC_PER_SEC)

typedef struct {
  gint64  time_us;
  double  fraction;
  guint64 done;       /* G_MAXUINT64 when the message had no count */
} ProgressPoint;

struct _CuratorJob
{
  GObject parent_instance;

  /* owned */
  CuratorJobKind kind;
  char          *project_path;
  char          *root;
  char          *manifest;
  CuratorExportPlan *plan;
  char          *out;
  GCancellable  *cancellable;
  char          *summary;
  gint64         started_us;
  gboolean       running;

  /* main thread copies */
  double         shown_fraction;
  char          *shown_message;
  ProgressPoint  history[HISTORY_LEN];  /* ring, oldest at history_start */
  guint          history_start;
  guint          n_history;

  /* shared with the worker, under lock */
  GMutex         lock;
  double         fraction;
  char          *message;
  guint          idle_id;
};

G_DEFINE_FINAL_TYPE (CuratorJob, curator_job, G_TYPE_OBJECT)

enum { PROP_0, PROP_FRACTION, PROP_MESSAGE, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* ---- progress, worker -> main thread -------------------------------------- */

/* "Indexed 1234 of 10000 files" -> 1234, 10000. */
static gboolean
parse_counts (const char *message, guint64 *done, guint64 *total)
{
  const char *of;
  const char *p;
  char *end = NULL;

  if (message == NULL || (of = strstr (message, " of ")) == NULL)
    return FALSE;
  for (p = of; p > message && g_ascii_isdigit (p[-1]); p--)
    ;
  if (p == of)
    return FALSE;
  *done = g_ascii_strtoull (p, &end, 10);
  if (end != of)
    return FALSE;
  *total = g_ascii_strtoull (of + 4, &end, 10);
  return end != of + 4;
}

static const ProgressPoint *
history_at (CuratorJob *self, guint i)
{
  return &self->history[(self->history_start + i) % HISTORY_LEN];
}

static void
history_add (CuratorJob *self)
{
  ProgressPoint point = { g_get_monotonic_time (), self->shown_fraction, G_MAXUINT64 };
  guint64 total;

  if (!parse_counts (self->shown_message, &point.done, &total))
    point.done = G_MAXUINT64;
  /* a new stage (another message, a count that went back) starts afresh */
  if (self->n_history > 0)
    {
      const ProgressPoint *last = history_at (self, self->n_history - 1);

      if ((last->done == G_MAXUINT64) != (point.done == G_MAXUINT64)
          || (point.done != G_MAXUINT64 && point.done < last->done)
          || point.fraction < last->fraction)
        self->n_history = 0;
    }
  while (self->n_history > 1 && point.time_us - history_at (self, 0)->time_us > HISTORY_WINDOW_US)
    {
      self->history_start = (self->history_start + 1) % HISTORY_LEN;
      self->n_history--;
    }
  if (self->n_history == HISTORY_LEN)
    {
      self->history_start = (self->history_start + 1) % HISTORY_LEN;
      self->n_history--;
    }
  self->history[(self->history_start + self->n_history) % HISTORY_LEN] = point;
  self->n_history++;
}

static gboolean
deliver_progress (gpointer user_data)
{
  CuratorJob *self = user_data;

  g_mutex_lock (&self->lock);
  self->idle_id = 0;
  self->shown_fraction = self->fraction;
  g_free (self->shown_message);
  self->shown_message = g_strdup (self->message);
  g_mutex_unlock (&self->lock);
  history_add (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
  return G_SOURCE_REMOVE;
}

static void
on_progress (double fraction, const char *message, gpointer user_data)
{
  CuratorJob *self = user_data;

  g_mutex_lock (&self->lock);
  self->fraction = fraction;
  if (message != NULL && g_strcmp0 (message, self->message) != 0)
    {
      g_free (self->message);
      self->message = g_strdup (message);
    }
  if (self->idle_id == 0)
    self->idle_id = g_idle_add_full (G_PRIORITY_DEFAULT, deliver_progress,
                                     g_object_ref (self), g_object_unref);
  g_mutex_unlock (&self->lock);
}

/* ---- the worker ------------------------------------------------------------ */

static char *
index_summary (const CuratorIndexReport *r)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT " files: %" G_GINT64_FORMAT " added, %"
                          G_GINT64_FORMAT " changed, %" G_GINT64_FORMAT " unchanged, %"
                          G_GINT64_FORMAT " unreadable, %" G_GINT64_FORMAT " newly missing",
                          r->n_files, r->n_added, r->n_changed, r->n_unchanged,
                          r->n_corrupt, r->n_missing);
}

static void
run_in_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  CuratorJob *self = source_object;
  g_autoptr(CuratorDb) db = NULL;
  GError *error = NULL;
  char *summary = NULL;

  if (self->kind == CURATOR_JOB_EXPORT)
    {
      CuratorExportReport report = { 0 };

      if (curator_export_write (self->plan, &report, cancellable, on_progress, self, &error))
        {
          g_autofree char *samples = curator_format_count (report.n_samples);

          if (report.n_entries != report.n_samples)
            {
              g_autofree char *entries = curator_format_count (report.n_entries);

              summary = g_strdup_printf ("%s samples (%s entries after rebalancing) in %s",
                                         samples, entries, report.out);
            }
          else
            summary = g_strdup_printf ("%s samples in %s", samples, report.out);
        }
      curator_export_report_clear (&report);
      if (summary == NULL)
        g_task_return_error (task, error);
      else
        g_task_return_pointer (task, summary, g_free);
      return;
    }

  db = curator_db_open (self->project_path, self->kind == CURATOR_JOB_INDEX, &error);
  if (db == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  if (self->kind == CURATOR_JOB_INDEX)
    {
      CuratorIndexOptions options = { self->root, self->manifest, 0, FALSE };
      CuratorIndexReport report = { 0 };

      if (curator_index_run (db, &options, &report, cancellable, on_progress, self, &error))
        summary = index_summary (&report);
      curator_index_report_clear (&report);
    }
  else
    {
      CuratorAnalyzeOptions options;
      CuratorAnalyzeReport report = { 0 };

      curator_analyze_options_init_default (&options);
      if (curator_analyze_run (db, &options, &report, cancellable, on_progress, self, &error))
        summary = g_strdup_printf ("Run %" G_GINT64_FORMAT ": %zu samples, out-of-sample accuracy %.1f%%, macro F1 %.3f",
                                   report.run_id, report.n_samples, 100.0 * report.accuracy, report.macro_f1);
    }

  if (summary == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, summary, g_free);
}

void
curator_job_start (CuratorJob *self, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CURATOR_IS_JOB (self));
  g_return_if_fail (!self->running);

  self->running = TRUE;
  self->started_us = g_get_monotonic_time ();
  task = g_task_new (self, self->cancellable, callback, user_data);
  g_task_set_source_tag (task, curator_job_start);
  /* the core checks the cancellable itself and leaves the project consistent */
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, run_in_thread);
}

gboolean
curator_job_finish (CuratorJob *self, GAsyncResult *result, GError **error)
{
  char *summary;

  g_return_val_if_fail (CURATOR_IS_JOB (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  self->running = FALSE;
  summary = g_task_propagate_pointer (G_TASK (result), error);
  if (summary == NULL)
    return FALSE;
  g_free (self->summary);
  self->summary = summary;
  return TRUE;
}

void
curator_job_cancel (CuratorJob *self)
{
  g_return_if_fail (CURATOR_IS_JOB (self));
  g_cancellable_cancel (self->cancellable);
}

gboolean
curator_job_is_running (CuratorJob *self)
{
  g_return_val_if_fail (CURATOR_IS_JOB (self), FALSE);
  return self->running;
}

/* ---- getters ---------------------------------------------------------------- */

CuratorJobKind
curator_job_get_kind (CuratorJob *self)
{
  g_return_val_if_fail (CURATOR_IS_JOB (self), CURATOR_JOB_INDEX);
  return self->kind;
}

const char *
curator_job_get_title (CuratorJob *self)
{
  g_return_val_if_fail (CURATOR_IS_JOB (self), NULL);
  switch (self->kind)
    {
    case CURATOR_JOB_INDEX:   return "Indexing";
    case CURATOR_JOB_ANALYZE: return "Analyzing";
    case CURATOR_JOB_EXPORT:
    default:                  return "Exporting";
    }
}

double
curator_job_get_fraction (CuratorJob *self)
{
  g_return_val_if_fail (CURATOR_IS_JOB (self), -1.0);
  return self->shown_fraction;
}

const char *
curator_job_get_message (CuratorJob *self)
{
  g_return_val_if_fail (CURATOR_IS_JOB (self), NULL);
  return self->shown_message;
}

double
curator_job_get_elapsed (CuratorJob *self)
{
  g_return_val_if_fail (CURATOR_IS_JOB (self), 0.0);
  if (self->started_us == 0)
    return 0.0;
  return (g_get_monotonic_time () - self->started_us) / (double) G_USEC_PER_SEC;
}

char *
curator_job_dup_eta (CuratorJob *self)
{
  const ProgressPoint *first, *last;
  double elapsed, speed, left;

  g_return_val_if_fail (CURATOR_IS_JOB (self), NULL);

  elapsed = curator_job_get_elapsed (self);
  /* too early to extrapolate: the first seconds are start-up */
  if (self->shown_fraction < 0.01 || elapsed < 2.0 || self->shown_fraction >= 1.0 || self->n_history < 2)
    return g_strdup ("");
  first = history_at (self, 0);
  last = history_at (self, self->n_history - 1);
  if (last->time_us - first->time_us < G_USEC_PER_SEC || last->fraction <= first->fraction)
    return g_strdup ("");
  speed = (last->fraction - first->fraction) / ((last->time_us - first->time_us) / (double) G_USEC_PER_SEC);
  left = (1.0 - self->shown_fraction) / speed;
  if (left < 60.0)
    return g_strdup_printf ("%.0f s left", MAX (1.0, left));
  if (left < 3600.0)
    return g_strdup_printf ("%.0f min left", left / 60.0);
  return g_strdup_printf ("%.1f h left", left / 3600.0);
}

gboolean
curator_job_get_counts (CuratorJob *self, guint64 *done, guint64 *total)
{
  guint64 d, t;

  g_return_val_if_fail (CURATOR_IS_JOB (self), FALSE);

  if (!parse_counts (self->shown_message, &d, &t))
    return FALSE;
  if (done != NULL)
    *done = d;
  if (total != NULL)
    *total = t;
  return TRUE;
}

char *
curator_job_dup_rate (CuratorJob *self)
{
  const ProgressPoint *first, *last;
  g_autofree char *count = NULL;
  double seconds;
  const char *unit;

  g_return_val_if_fail (CURATOR_IS_JOB (self), NULL);

  if (self->n_history < 2)
    return g_strdup ("");
  first = history_at (self, 0);
  last = history_at (self, self->n_history - 1);
  seconds = (last->time_us - first->time_us) / (double) G_USEC_PER_SEC;
  /* analysis counts rounds and folds, not items: no rate there */
  if (self->kind != CURATOR_JOB_INDEX || first->done == G_MAXUINT64 || last->done == G_MAXUINT64
      || seconds < 0.5)
    return g_strdup ("");
  count = curator_format_count ((gint64) ((last->done - first->done) / seconds + 0.5));
  unit = "files";
  return g_strdup_printf ("%s %s/s", count, unit);
}

const char *
curator_job_get_summary (CuratorJob *self)
{
  g_return_val_if_fail (CURATOR_IS_JOB (self), NULL);
  return self->summary;
}

const char *
curator_job_get_out (CuratorJob *self)
{
  g_return_val_if_fail (CURATOR_IS_JOB (self), NULL);
  return self->out;
}

/* ---- GObject ---------------------------------------------------------------- */

static void
curator_job_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CuratorJob *self = CURATOR_JOB (object);

  switch (prop_id)
    {
    case PROP_FRACTION:
      g_value_set_double (value, self->shown_fraction);
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, self->shown_message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
curator_job_finalize (GObject *object)
{
  CuratorJob *self = CURATOR_JOB (object);

  /* a pending idle holds a reference, so none is left here */
  g_clear_object (&self->cancellable);
  g_free (self->project_path);
  g_free (self->root);
  g_free (self->manifest);
  g_clear_pointer (&self->plan, curator_export_plan_free);
  g_free (self->out);
  g_free (self->summary);
  g_free (self->shown_message);
  g_free (self->message);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (curator_job_parent_class)->finalize (object);
}

static void
curator_job_class_init (CuratorJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = curator_job_get_property;
  object_class->finalize = curator_job_finalize;

  properties[PROP_FRACTION] = g_param_spec_double ("fraction", NULL, NULL, -1.0, 1.0, -1.0,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_MESSAGE] = g_param_spec_string ("message", NULL, NULL, NULL,
                                                  G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
curator_job_init (CuratorJob *self)
{
  g_mutex_init (&self->lock);
  self->cancellable = g_cancellable_new ();
  self->fraction = self->shown_fraction = -1.0;
}

CuratorJob *
curator_job_new_index (const char *project_path, const char *root, const char *manifest)
{
  CuratorJob *self;

  g_return_val_if_fail (project_path != NULL && root != NULL, NULL);

  self = g_object_new (CURATOR_TYPE_JOB, NULL);
  self->kind = CURATOR_JOB_INDEX;
  self->project_path = g_strdup (project_path);
  self->root = g_strdup (root);
  self->manifest = g_strdup (manifest);
  return self;
}

CuratorJob *
curator_job_new_analyze (const char *project_path)
{
  CuratorJob *self;

  g_return_val_if_fail (project_path != NULL, NULL);

  self = g_object_new (CURATOR_TYPE_JOB, NULL);
  self->kind = CURATOR_JOB_ANALYZE;
  self->project_path = g_strdup (project_path);
  return self;
}

CuratorJob *
curator_job_new_export (CuratorExportPlan *plan)
{
  CuratorJob *self;

  g_return_val_if_fail (plan != NULL && plan->options.out != NULL, NULL);

  self = g_object_new (CURATOR_TYPE_JOB, NULL);
  self->kind = CURATOR_JOB_EXPORT;
  self->project_path = g_strdup (plan->project);
  self->out = g_strdup (plan->options.out);
  self->plan = plan;
  return self;
}

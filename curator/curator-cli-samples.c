/* curator-cli-samples.c: the commands about samples and decisions:
 * ls, show, relabel, confirm, exclude, restore, undo, redo, history.
 * Every decision goes through the event log in db/; nothing here writes a
 * label any other way. */
#include "curator-config.h"

#include <string.h>

#include "curator-cli-private.h"

static char *
format_time (gint64 time_us)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC);

  return t != NULL ? g_date_time_format (t, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

JsonNode *
cli_event_to_json (const CuratorDbEvent *e, GHashTable *names)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *when = format_time (e->time_us);

  json_builder_begin_object (b);
  cli_json_add_int (b, "id", e->id);
  cli_json_add_int (b, "sample", e->sample_id);
  cli_json_add_string (b, "action", curator_action_to_string (e->action));
  cli_json_add_string (b, "old_label", cli_class_name (names, e->old_label));
  cli_json_add_string (b, "new_label", cli_class_name (names, e->new_label));
  cli_json_add_string (b, "actor", curator_actor_to_string (e->actor));
  if (e->run_id > 0)
    cli_json_add_int (b, "run", e->run_id);
  cli_json_add_string (b, "time", when);
  cli_json_add_string (b, "note", e->note);
  if (e->reverts > 0)
    cli_json_add_int (b, "reverts", e->reverts);
  if (e->batch_id > 0)
    cli_json_add_int (b, "batch", e->batch_id);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
print_event (const CuratorDbEvent *e, GHashTable *names)
{
  g_autofree char *when = format_time (e->time_us);
  const char *old_name = cli_class_name (names, e->old_label);
  const char *new_name = cli_class_name (names, e->new_label);

  g_print ("  #%" G_GINT64_FORMAT "  %s  sample %" G_GINT64_FORMAT "  %-8s", e->id, when,
           e->sample_id, curator_action_to_string (e->action));
  if (e->action == CURATOR_ACTION_UNDO)
    g_print (" reverts #%" G_GINT64_FORMAT, e->reverts);
  if (old_name != NULL || new_name != NULL)
    g_print (" %s -> %s", old_name ? old_name : "(none)", new_name ? new_name : "(none)");
  g_print ("  by %s", curator_actor_to_string (e->actor));
  if (e->batch_id > 0)
    g_print (" (batch %" G_GINT64_FORMAT ")", e->batch_id);
  g_print ("%s%s\n", e->note ? ": " : "", e->note ? e->note : "");
}

/* Begins a JSON object with the sample's fields and leaves it open, so that
 * callers can add members (history, scores) before ending it. */
static void
build_sample (JsonBuilder *b, const CuratorDbSample *s, GHashTable *names)
{
  g_autofree char *phash = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", s->phash);

  json_builder_begin_object (b);
  cli_json_add_int (b, "id", s->id);
  cli_json_add_string (b, "file", s->path);
  cli_json_add_string (b, "status", curator_sample_status_to_string (s->status));
  cli_json_add_string (b, "reason", s->reason);
  cli_json_add_string (b, "label", cli_class_name (names, s->current_label));
  cli_json_add_string (b, "given_label", cli_class_name (names, s->given_label));
  cli_json_add_string (b, "label_source", s->label_source);
  cli_json_add_bool (b, "verified", s->verified);
  cli_json_add_bool (b, "excluded", s->excluded);
  cli_json_add_string (b, "split", s->split);
  cli_json_add_string (b, "format", s->format);
  cli_json_add_int (b, "width", s->width);
  cli_json_add_int (b, "height", s->height);
  cli_json_add_int (b, "channels", s->channels);
  cli_json_add_int (b, "bytes", s->n_bytes);
  cli_json_add_string (b, "file_hash", s->file_hash);
  cli_json_add_string (b, "pixel_hash", s->pixel_hash);
  cli_json_add_string (b, "phash", s->pixel_hash != NULL ? phash : NULL);
  json_builder_set_member_name (b, "stats");
  if (s->status == CURATOR_SAMPLE_OK || s->pixel_hash != NULL)
    {
      json_builder_begin_object (b);
      cli_json_add_double (b, "luma_p05", s->luma_p05);
      cli_json_add_double (b, "luma_p50", s->luma_p50);
      cli_json_add_double (b, "luma_p95", s->luma_p95);
      cli_json_add_double (b, "contrast", s->contrast);
      cli_json_add_double (b, "entropy", s->entropy);
      cli_json_add_double (b, "blur", s->blur);
      cli_json_add_bool (b, "is_grey", s->is_grey);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
}

/* Adds the latest run's view of a sample to an open object: the predicted
 * label and the probability of the current label (null without a run), and
 * with @all_probs the whole distribution by class name. */
static void
build_score (JsonBuilder *b, const CuratorDbScore *score, const CuratorDbRun *run,
             GHashTable *names, gboolean all_probs)
{
  cli_json_add_string (b, "predicted", score ? cli_class_name (names, score->predicted_label) : NULL);
  json_builder_set_member_name (b, "p_label");
  if (score != NULL)
    json_builder_add_double_value (b, score->p_label);
  else
    json_builder_add_null_value (b);
  if (!all_probs)
    return;
  json_builder_set_member_name (b, "run");
  if (run != NULL)
    json_builder_add_int_value (b, run->id);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "probabilities");
  if (score == NULL || run == NULL || score->n_probs != run->n_classes)
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_object (b);
  for (int c = 0; c < score->n_probs; c++)
    {
      const char *name = cli_class_name (names, run->class_ids[c]);

      if (name != NULL)
        cli_json_add_double (b, name, score->probs[c]);
    }
  json_builder_end_object (b);
}

/* ---- ls ------------------------------------------------------------------ */

int
cli_cmd_ls (int argc, char **argv)
{
  g_autofree char *class_name = NULL;
  g_autofree char *status_name = NULL;
  const GOptionEntry entries[] = {
    { "class", 'c', 0, G_OPTION_ARG_STRING, &class_name, "Only samples whose current label is CLASS "
      "(\"-\" for unlabelled)", "CLASS" },
    { "status", 's', 0, G_OPTION_ARG_STRING, &status_name, "Only samples with STATUS: ok, corrupt, missing", "STATUS" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- list samples");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) samples = NULL;
  g_autoptr(GHashTable) names = NULL;
  g_autoptr(GHashTable) scores = NULL;
  g_autoptr(CuratorDbRun) run = NULL;
  CuratorDbSampleFilter filter = CURATOR_DB_SAMPLE_FILTER_ALL;
  int code = CLI_EXIT_OK;

  if (!cli_parse (context, entries, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 1)
    {
      code = cli_usage (context, "ls takes options only");
      goto out;
    }
  if (status_name != NULL)
    {
      CuratorSampleStatus status;

      if (!curator_sample_status_from_string (status_name, &status))
        {
          code = cli_usage (context, "unknown status '%s' (ok, corrupt, missing)", status_name);
          goto out;
        }
      filter.status = status;
    }
  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  if (class_name != NULL)
    {
      filter.class_id = strcmp (class_name, "-") == 0 ? -1 : curator_db_lookup_class (db, class_name);
      if (filter.class_id == 0)
        {
          g_printerr ("curator: no class called '%s' (see `curator classes`)\n", class_name);
          code = CLI_EXIT_NOT_FOUND;
          goto out;
        }
    }
  names = cli_class_names (db, &error);
  scores = names != NULL ? cli_latest_scores (db, &run, &error) : NULL;
  samples = scores != NULL ? curator_db_list_samples (db, &filter, &error) : NULL;
  if (samples == NULL)
    {
      code = cli_fail (error);
      goto out;
    }

  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_array (b);
      for (guint i = 0; i < samples->len; i++)
        {
          const CuratorDbSample *s = g_ptr_array_index (samples, i);

          build_sample (b, s, names);
          build_score (b, g_hash_table_lookup (scores, &s->id), run, names, FALSE);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
      goto out;
    }

  for (guint i = 0; i < samples->len; i++)
    {
      const CuratorDbSample *s = g_ptr_array_index (samples, i);
      const char *label = cli_class_name (names, s->current_label);
      const CuratorDbScore *score = g_hash_table_lookup (scores, &s->id);

      g_print ("%8" G_GINT64_FORMAT "  %-16s %-8s %s%s", s->id, label ? label : "-",
               curator_sample_status_to_string (s->status), s->path, s->excluded ? "  [excluded]" : "");
      if (score != NULL && score->predicted_label != s->current_label)
        g_print ("  (predicted %s)", cli_class_name (names, score->predicted_label));
      g_print ("\n");
    }

out:
  cli_common_clear (&common);
  return code;
}

/* ---- show ---------------------------------------------------------------- */

int
cli_cmd_show (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("SAMPLE - everything known about a sample (by id or path)");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbSample) s = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GHashTable) names = NULL;
  g_autoptr(CuratorDbRun) run = NULL;
  g_autoptr(CuratorDbScore) score = NULL;
  int code = CLI_EXIT_OK;

  if (!cli_parse (context, NULL, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 2)
    {
      code = cli_usage (context, "show needs one sample id or path");
      goto out;
    }
  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  s = cli_find_sample (db, argv[1], &code);
  if (s == NULL)
    goto out;
  names = cli_class_names (db, &error);
  events = names != NULL ? curator_db_list_events (db, s->id, &error) : NULL;
  if (events != NULL)
    {
      g_autoptr(GError) no_run = NULL;

      run = curator_db_get_run (db, 0, &no_run);
      if (run != NULL)
        score = curator_db_get_score (db, run->id, s->id, NULL);
      else if (!g_error_matches (no_run, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND))
        {
          code = cli_fail (no_run);
          goto out;
        }
    }
  if (events == NULL)
    {
      code = cli_fail (error);
      goto out;
    }

  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      build_sample (b, s, names);
      build_score (b, score, run, names, TRUE);
      json_builder_set_member_name (b, "history");
      json_builder_begin_array (b);
      for (guint i = 0; i < events->len; i++)
        json_builder_add_value (b, cli_event_to_json (g_ptr_array_index (events, i), names));
      json_builder_end_array (b);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
      goto out;
    }

  {
    const char *label = cli_class_name (names, s->current_label);
    const char *given = cli_class_name (names, s->given_label);

    g_print ("Sample   %" G_GINT64_FORMAT "\n", s->id);
    g_print ("File     %s\n", s->path);
    g_print ("Status   %s%s%s\n", curator_sample_status_to_string (s->status),
             s->reason ? ": " : "", s->reason ? s->reason : "");
    g_print ("Label    %s (%s%s)%s\n", label ? label : "(unlabelled)", s->label_source,
             s->verified ? ", verified" : "", s->excluded ? "  EXCLUDED" : "");
    g_print ("Given    %s\n", given ? given : "(unlabelled)");
    if (s->split != NULL)
      g_print ("Split    %s\n", s->split);
    if (s->pixel_hash != NULL)
      {
        g_print ("Image    %s %dx%d, %d channel%s, %" G_GINT64_FORMAT " bytes\n",
                 s->format ? s->format : "?", s->width, s->height, s->channels,
                 s->channels == 1 ? "" : "s", s->n_bytes);
        g_print ("Luma     p05 %.0f  p50 %.0f  p95 %.0f  contrast %.1f  entropy %.2f bits  blur %.1f%s\n",
                 s->luma_p05, s->luma_p50, s->luma_p95, s->contrast, s->entropy, s->blur,
                 s->is_grey ? "  (grey stored as colour)" : "");
        g_print ("Hashes   file %.16s…  pixels %.16s…  perceptual %016" G_GINT64_MODIFIER "x\n",
                 s->file_hash ? s->file_hash : "", s->pixel_hash, s->phash);
      }
    if (score != NULL && run != NULL && score->n_probs == run->n_classes)
      {
        /* The top classes, most probable first. */
        g_autofree int *order = g_new (int, score->n_probs);

        for (int c = 0; c < score->n_probs; c++)
          order[c] = c;
        for (int a = 0; a < score->n_probs; a++)
          for (int c = a + 1; c < score->n_probs; c++)
            if (score->probs[order[c]] > score->probs[order[a]])
              {
                int swap = order[a];
                order[a] = order[c];
                order[c] = swap;
              }
        g_print ("Run %" G_GINT64_FORMAT "   predicted %s;", run->id,
                 cli_class_name (names, score->predicted_label));
        for (int c = 0; c < MIN (3, score->n_probs); c++)
          g_print (" %s %.2f", cli_class_name (names, run->class_ids[order[c]]), score->probs[order[c]]);
        g_print ("\n");
      }
    g_print ("History  %s\n", events->len == 0 ? "(no decisions)" : "");
    for (guint i = 0; i < events->len; i++)
      print_event (g_ptr_array_index (events, i), names);
  }

out:
  cli_common_clear (&common);
  return code;
}

/* ---- decisions ----------------------------------------------------------- */

/* Records @action for every sample named in argv[1..n_samples] in one
 * transaction: either all are recorded or none. Several samples are one
 * batch, so that one undo takes them all back. */
static int
decide (CliCommon *common, char **samples, int n_samples, CuratorAction action,
        const char *class_name, const char *note)
{
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) events = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 label = 0;
  gint64 batch = 0;
  int code = CLI_EXIT_OK;

  db = cli_open_project (common, FALSE, &code);
  if (db == NULL)
    return code;
  if (class_name != NULL)
    {
      label = curator_db_lookup_class (db, class_name);
      if (label == 0)
        {
          g_printerr ("curator: no class called '%s' (see `curator classes`)\n", class_name);
          return CLI_EXIT_NOT_FOUND;
        }
    }
  if (n_samples > 1)
    {
      batch = curator_db_begin_batch (db, &error);
      if (batch == 0)
        return cli_fail (error);
    }
  else if (!curator_db_begin (db, &error))
    return cli_fail (error);
  for (int i = 0; i < n_samples; i++)
    {
      g_autoptr(CuratorDbSample) s = cli_find_sample (db, samples[i], &code);
      gint64 event = 0;

      if (s != NULL)
        {
          event = curator_db_record_decision (db, s->id, action, label, CURATOR_ACTOR_CLI, 0,
                                              note, &error);
          if (event <= 0)
            {
              g_prefix_error (&error, "sample %" G_GINT64_FORMAT " (%s): ", s->id, s->path);
              code = cli_fail (error);
            }
        }
      if (event <= 0)
        {
          if (batch != 0)
            curator_db_end_batch (db, FALSE, NULL);
          else
            curator_db_rollback (db);
          return code;
        }
      g_array_append_val (events, event);
    }
  if (batch != 0 ? !curator_db_end_batch (db, TRUE, &error) : !curator_db_commit (db, &error))
    return cli_fail (error);

  if (common->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "events");
      json_builder_begin_array (b);
      for (guint i = 0; i < events->len; i++)
        json_builder_add_int_value (b, g_array_index (events, gint64, i));
      json_builder_end_array (b);
      if (batch != 0)
        cli_json_add_int (b, "batch", batch);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
    }
  else if (batch != 0)
    g_print ("%s: %d samples (batch %" G_GINT64_FORMAT ", one step for undo)\n",
             curator_action_to_string (action), n_samples, batch);
  else
    g_print ("%s: 1 sample\n", curator_action_to_string (action));
  return CLI_EXIT_OK;
}

static int
decision_command (int argc, char **argv, CuratorAction action, const char *parameter, const char *summary)
{
  g_autofree char *note = NULL;
  const GOptionEntry entries[] = {
    { "note", 0, 0, G_OPTION_ARG_STRING, &note, "A note kept with the decision", "TEXT" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (parameter);
  CliCommon common = { 0 };
  int code;
  int n_fixed = action == CURATOR_ACTION_RELABEL ? 1 : 0;

  g_option_context_set_summary (context, summary);
  if (!cli_parse (context, entries, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc < 2 + n_fixed)
    code = cli_usage (context, "%s needs %s", curator_action_to_string (action),
                      n_fixed ? "one or more samples and a class" : "one or more samples");
  else
    code = decide (&common, argv + 1, argc - 1 - n_fixed, action,
                   n_fixed ? argv[argc - 1] : NULL, note);
  cli_common_clear (&common);
  return code;
}

int
cli_cmd_relabel (int argc, char **argv)
{
  return decision_command (argc, argv, CURATOR_ACTION_RELABEL, "SAMPLE... CLASS",
                           "Give the samples (ids or paths) the label CLASS, verified by you.");
}

int
cli_cmd_confirm (int argc, char **argv)
{
  return decision_command (argc, argv, CURATOR_ACTION_CONFIRM, "SAMPLE...",
                           "Confirm the samples' current labels are right: they are not flagged again\n"
                           "unless their scores change markedly.");
}

int
cli_cmd_exclude (int argc, char **argv)
{
  return decision_command (argc, argv, CURATOR_ACTION_EXCLUDE, "SAMPLE...",
                           "Leave the samples out of training and export.");
}

int
cli_cmd_restore (int argc, char **argv)
{
  return decision_command (argc, argv, CURATOR_ACTION_RESTORE, "SAMPLE...",
                           "Bring excluded samples back.");
}

/* How many decisions one undo (redo) step took back (re-applied) in
 * human output before the rest is summed up. */
#define MAX_LISTED_DECISIONS 10

/* The decisions that the undo or redo step which reverted event @reverted
 * was about, oldest first (borrowed from @events): for an undo, the
 * decisions it reverted; for a redo, the decisions the reverted UNDOs had
 * taken back. The step is the newest event that reverts @reverted, together
 * with the rest of its batch. */
static GPtrArray *
step_decisions (GPtrArray *events, gint64 reverted, gboolean redo)
{
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GPtrArray) decisions = g_ptr_array_new ();
  const CuratorDbEvent *step = NULL;

  for (guint i = 0; i < events->len; i++)
    {
      CuratorDbEvent *e = g_ptr_array_index (events, i);

      g_hash_table_insert (by_id, &e->id, e);
      if (e->action == CURATOR_ACTION_UNDO && e->reverts == reverted)
        step = e;
    }
  if (step == NULL)
    return g_steal_pointer (&decisions);
  for (guint i = 0; i < events->len; i++)
    {
      const CuratorDbEvent *u = g_ptr_array_index (events, i);
      const CuratorDbEvent *d;

      if (u != step && (step->batch_id == 0 || u->batch_id != step->batch_id))
        continue;
      d = g_hash_table_lookup (by_id, &u->reverts);
      if (redo && d != NULL)
        d = g_hash_table_lookup (by_id, &d->reverts);
      if (d != NULL)
        g_ptr_array_add (decisions, (gpointer) d);
    }
  return g_steal_pointer (&decisions);
}

static int
undo_redo (int argc, char **argv, gboolean redo)
{
  g_autoptr(GOptionContext) context = g_option_context_new (redo ? "- re-apply the last undone decision (or batch)"
                                                                 : "- revert the last decision (or batch)");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) decisions = NULL;
  g_autoptr(GHashTable) names = NULL;
  const CuratorDbEvent *reverted_event = NULL;
  gint64 reverted, batch = 0;
  int code = CLI_EXIT_OK;

  if (!cli_parse (context, NULL, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 1)
    {
      code = cli_usage (context, "%s takes no arguments", redo ? "redo" : "undo");
      goto out;
    }
  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  reverted = redo ? curator_db_redo (db, CURATOR_ACTOR_CLI, &error)
                  : curator_db_undo (db, CURATOR_ACTOR_CLI, &error);
  if (reverted < 0)
    {
      code = cli_fail (error);
      goto out;
    }
  if (reverted == 0)
    {
      if (common.json)
        g_print ("{ \"reverted\" : null }\n");
      else
        g_print ("Nothing to %s\n", redo ? "redo" : "undo");
      goto out;
    }
  names = cli_class_names (db, &error);
  events = names != NULL ? curator_db_list_events (db, 0, &error) : NULL;
  if (events == NULL)
    {
      code = cli_fail (error);
      goto out;
    }
  for (guint i = 0; i < events->len; i++)
    if (((CuratorDbEvent *) g_ptr_array_index (events, i))->id == reverted)
      reverted_event = g_ptr_array_index (events, i);
  decisions = step_decisions (events, reverted, redo);
  if (decisions->len > 0)
    batch = ((CuratorDbEvent *) g_ptr_array_index (decisions, 0))->batch_id;

  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "reverted");
      if (reverted_event != NULL)
        json_builder_add_value (b, cli_event_to_json (reverted_event, names));
      else
        json_builder_add_null_value (b);
      cli_json_add_int (b, "n_decisions", decisions->len);
      if (batch > 0)
        cli_json_add_int (b, "batch", batch);
      json_builder_set_member_name (b, "decisions");
      json_builder_begin_array (b);
      for (guint i = 0; i < decisions->len; i++)
        json_builder_add_value (b, cli_event_to_json (g_ptr_array_index (decisions, i), names));
      json_builder_end_array (b);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
    }
  else
    {
      g_print ("%s %u decision%s", redo ? "Redid" : "Undid", decisions->len,
               decisions->len == 1 ? "" : "s");
      if (batch > 0)
        g_print (" (batch %" G_GINT64_FORMAT ")", batch);
      g_print (":\n");
      for (guint i = 0; i < decisions->len && i < MAX_LISTED_DECISIONS; i++)
        print_event (g_ptr_array_index (decisions, i), names);
      if (decisions->len > MAX_LISTED_DECISIONS)
        g_print ("  ... and %u more\n", decisions->len - MAX_LISTED_DECISIONS);
    }

out:
  cli_common_clear (&common);
  return code;
}

int
cli_cmd_undo (int argc, char **argv)
{
  return undo_redo (argc, argv, FALSE);
}

int
cli_cmd_redo (int argc, char **argv)
{
  return undo_redo (argc, argv, TRUE);
}

int
cli_cmd_history (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("[SAMPLE] - the decision log, oldest first");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GHashTable) names = NULL;
  gint64 sample_id = 0;
  int code = CLI_EXIT_OK;

  if (!cli_parse (context, NULL, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc > 2)
    {
      code = cli_usage (context, "history takes at most one sample");
      goto out;
    }
  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  if (argc == 2)
    {
      g_autoptr(CuratorDbSample) s = cli_find_sample (db, argv[1], &code);

      if (s == NULL)
        goto out;
      sample_id = s->id;
    }
  names = cli_class_names (db, &error);
  events = names != NULL ? curator_db_list_events (db, sample_id, &error) : NULL;
  if (events == NULL)
    {
      code = cli_fail (error);
      goto out;
    }
  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_array (b);
      for (guint i = 0; i < events->len; i++)
        json_builder_add_value (b, cli_event_to_json (g_ptr_array_index (events, i), names));
      json_builder_end_array (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
    }
  else
    for (guint i = 0; i < events->len; i++)
      print_event (g_ptr_array_index (events, i), names);

out:
  cli_common_clear (&common);
  return code;
}

/* curator-cli-issues.c: `curator issues`, `curator accept` and `curator eval`:
 * reading what the latest run flagged, accepting its suggestions in batch,
 * and measuring the flags against a file of true labels.
 *
 * All three read the latest finished run's scores (cli_latest_scores); the
 * issue bits are CuratorIssue (curator-issues.h). */
#include "curator-config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "curator-cli-private.h"
#include "curator-issues.h"
#include "curator-quality.h"

#define ISSUES_DEFAULT_LIMIT 50

/* ---- shared ------------------------------------------------------------------------ */

/* What every command here starts from: the run, its scores by sample id,
 * every sample by id, the class names. */
typedef struct {
  CuratorDbRun *run;
  GHashTable   *scores;    /* gint64 * -> CuratorDbScore */
  GPtrArray    *samples;   /* CuratorDbSample, by id order */
  GHashTable   *by_id;     /* gint64 * -> CuratorDbSample (borrowed from samples) */
  GHashTable   *names;
} RunView;

static void
run_view_clear (RunView *v)
{
  g_clear_pointer (&v->run, curator_db_run_free);
  g_clear_pointer (&v->scores, g_hash_table_unref);
  g_clear_pointer (&v->by_id, g_hash_table_unref);
  g_clear_pointer (&v->samples, g_ptr_array_unref);
  g_clear_pointer (&v->names, g_hash_table_unref);
}

/* FALSE with *code set (and the message printed) on failure or when there
 * is no finished run yet. */
static gboolean
run_view_load (RunView *v, CuratorDb *db, int *code)
{
  g_autoptr(GError) error = NULL;

  memset (v, 0, sizeof *v);
  v->names = cli_class_names (db, &error);
  if (v->names != NULL)
    v->scores = cli_latest_scores (db, &v->run, &error);
  if (v->scores != NULL)
    v->samples = curator_db_list_samples (db, NULL, &error);
  if (v->samples == NULL)
    {
      *code = cli_fail (error);
      return FALSE;
    }
  if (v->run == NULL)
    {
      g_printerr ("curator: no finished analysis yet: run `curator analyze` first\n");
      *code = CLI_EXIT_NOT_FOUND;
      return FALSE;
    }
  v->by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  for (guint i = 0; i < v->samples->len; i++)
    {
      CuratorDbSample *s = g_ptr_array_index (v->samples, i);
      g_hash_table_insert (v->by_id, &s->id, s);
    }
  return TRUE;
}

static void
add_issue_names (JsonBuilder *b, const char *name, guint32 issues)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (int bit = 0; bit < CURATOR_ISSUE_N_BITS; bit++)
    if (issues & (1u << bit))
      json_builder_add_string_value (b, curator_issue_to_string (1u << bit));
  json_builder_end_array (b);
}

/* The run's trust estimate: the stored one, or for a run stored without
 * one, the same computed from its scores. FALSE on a database error. */
static gboolean
run_view_trust (const RunView *v, CuratorDb *db, CuratorIssuesTrust *trust, int *code)
{
  g_autoptr(GError) error = NULL;
  g_autofree CuratorDbScore **list = NULL;
  GHashTableIter iter;
  gpointer value;
  gsize n = 0;

  if (curator_issues_trust_load (db, v->run->id, trust, &error))
    return TRUE;
  if (!g_error_matches (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND))
    {
      *code = cli_fail (error);
      return FALSE;
    }
  list = g_new (CuratorDbScore *, MAX (g_hash_table_size (v->scores), 1));
  g_hash_table_iter_init (&iter, v->scores);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    list[n++] = value;
  curator_issues_trust_from_scores (list, n, (guint) MAX (v->run->n_classes, 2), trust);
  return TRUE;
}

static void
add_trust (JsonBuilder *b, const CuratorIssuesTrust *trust)
{
  g_autofree char *text = curator_issues_trust_describe (trust);

  json_builder_set_member_name (b, "trust");
  json_builder_begin_object (b);
  cli_json_add_int (b, "flagged", (gint64) trust->n_flagged);
  cli_json_add_double (b, "estimated_precision", trust->precision);
  cli_json_add_double (b, "estimated_noise_rate", trust->noise_rate);
  cli_json_add_double (b, "agreement", trust->accuracy);
  cli_json_add_double (b, "confidence", trust->confidence);
  cli_json_add_bool (b, "weak", trust->weak);
  cli_json_add_string (b, "statement", text);
  json_builder_end_object (b);
}

/* Prints @text with its lines folded at spaces to at most @width columns. */
static void
print_wrapped (const char *text, int width)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (int l = 0; lines[l] != NULL; l++)
    {
      g_auto(GStrv) words = g_strsplit (lines[l], " ", -1);
      int column = 0;

      for (int w = 0; words[w] != NULL; w++)
        {
          int len = (int) g_utf8_strlen (words[w], -1);

          if (column > 0 && column + 1 + len > width)
            {
              g_print ("\n");
              column = 0;
            }
          g_print ("%s%s", column == 0 ? "" : " ", words[w]);
          column += (column == 0 ? 0 : 1) + len;
        }
      g_print ("\n");
    }
}

/* ---- issues ------------------------------------------------------------------------ */

/* One flagged sample and where it goes in the list: by tier (label issues,
 * then unlabelled, outliers, duplicates, quality, minority), then by the
 * tier's own measure, then by id. */
typedef struct {
  const CuratorDbSample *sample;
  const CuratorDbScore  *score;
  int    tier;
  double key;
} Entry;

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const Entry *x = a, *y = b;

  if (x->tier != y->tier)
    return x->tier < y->tier ? -1 : 1;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return (x->sample->id > y->sample->id) - (x->sample->id < y->sample->id);
}

static void
place (Entry *e, guint32 issues, double quality_severity)
{
  const CuratorDbScore *s = e->score;

  if (issues & CURATOR_ISSUES_KIND_LABEL)
    {
      e->tier = 0;
      e->key = s->label_quality;
    }
  else if (issues & CURATOR_ISSUE_UNLABELLED)
    {
      e->tier = 1;
      e->key = -s->suggestion_confidence;
    }
  else if (issues & CURATOR_ISSUE_OUTLIER)
    {
      e->tier = 2;
      e->key = -s->outlier_score;
    }
  else if (issues & CURATOR_ISSUES_KIND_DUPLICATE)
    {
      e->tier = 3;
      e->key = (double) s->duplicate_group;
    }
  else if (issues & CURATOR_ISSUES_KIND_QUALITY)
    {
      e->tier = 4;
      e->key = -quality_severity;
    }
  else
    {
      e->tier = 5;
      e->key = s->label_quality;
    }
}

static void
print_minority (CuratorDb *db, const RunView *v, JsonBuilder *b)
{
  g_autoptr(GPtrArray) rows = curator_db_list_run_classes (db, v->run->id, NULL);

  if (b != NULL)
    {
      json_builder_set_member_name (b, "minority_classes");
      json_builder_begin_array (b);
    }
  for (guint i = 0; rows != NULL && i < rows->len; i++)
    {
      const CuratorDbRunClass *row = g_ptr_array_index (rows, i);
      const char *name = cli_class_name (v->names, row->class_id);

      if (!row->minority)
        continue;
      if (b != NULL)
        {
          json_builder_begin_object (b);
          cli_json_add_string (b, "class", name);
          cli_json_add_int (b, "labelled", row->n_labelled);
          cli_json_add_double (b, "estimated", row->n_estimated);
          cli_json_add_double (b, "ratio_to_median", row->ratio_to_median);
          cli_json_add_double (b, "ratio_to_largest", row->ratio_to_largest);
          json_builder_end_object (b);
        }
      else
        g_print ("Minority class %s: %" G_GINT64_FORMAT " labelled, about %.0f truly (%.0f%% of the "
                 "median class, %.0f%% of the largest)\n", name ? name : "?", row->n_labelled,
                 row->n_estimated, 100 * row->ratio_to_median, 100 * row->ratio_to_largest);
    }
  if (b != NULL)
    json_builder_end_array (b);
}

int
cli_cmd_issues (int argc, char **argv)
{
  g_autofree char *kind = NULL;
  g_autofree char *class_name = NULL;
  int limit = -1;
  gboolean decided = FALSE;
  const GOptionEntry entries[] = {
    { "kind", 'k', 0, G_OPTION_ARG_STRING, &kind, "Only this kind: label, outlier, duplicate, quality, "
      "minority, unlabelled, or one issue (dark, blurry, near-duplicate...)", "KIND" },
    { "class", 'c', 0, G_OPTION_ARG_STRING, &class_name, "Only samples whose current label is CLASS", "CLASS" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, "At most N samples (default 50, or all with --json; 0 = all)", "N" },
    { "decided", 0, 0, G_OPTION_ARG_NONE, &decided, "Also samples a person has decided or excluded since", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- what the latest analysis flagged, worst first");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GArray) entries_out = g_array_new (FALSE, FALSE, sizeof (Entry));
  g_autofree float *severities = NULL;
  RunView v = { 0 };
  guint32 mask = ~(guint32) CURATOR_ISSUE_MINORITY;  /* a class's size is not a sample's issue */
  gint64 class_id = 0;
  gsize counts[CURATOR_ISSUE_N_BITS] = { 0 };
  CuratorIssuesTrust trust;
  int code = CLI_EXIT_OK;

  g_option_context_set_description (context,
    "Lists the samples the latest `curator analyze` flagged: label issues first, lowest label\n"
    "quality first, with the suggested label, its confidence and the reason; then unlabelled\n"
    "samples with suggestions, outliers, duplicates and image-quality problems. Samples decided\n"
    "by a person (or excluded) after the run are left out unless --decided.");
  if (!cli_parse (context, entries, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 1)
    {
      code = cli_usage (context, "issues takes options only");
      goto out;
    }
  if (kind != NULL && !curator_issue_mask_from_string (kind, &mask))
    {
      code = cli_usage (context, "unknown kind '%s'", kind);
      goto out;
    }
  if (limit < 0)
    limit = common.json ? 0 : ISSUES_DEFAULT_LIMIT;
  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  if (class_name != NULL && (class_id = curator_db_lookup_class (db, class_name)) == 0)
    {
      g_printerr ("curator: no class called '%s' (see `curator classes`)\n", class_name);
      code = CLI_EXIT_NOT_FOUND;
      goto out;
    }
  if (!run_view_load (&v, db, &code) || !run_view_trust (&v, db, &trust, &code))
    goto out;

  /* Quality severities for ordering, from the statistics of the run's samples. */
  {
    g_autoptr(GPtrArray) scored = g_ptr_array_new ();

    for (guint i = 0; i < v.samples->len; i++)
      {
        CuratorDbSample *s = g_ptr_array_index (v.samples, i);

        if (g_hash_table_contains (v.scores, &s->id))
          g_ptr_array_add (scored, s);
      }
    severities = g_new0 (float, MAX (scored->len, 1) * CURATOR_QUALITY_N_CHECKS);
    curator_quality_measure ((CuratorDbSample *const *) scored->pdata, scored->len, NULL, severities,
                             NULL, NULL);
    for (guint i = 0, j = 0; i < v.samples->len; i++)
      {
        CuratorDbSample *s = g_ptr_array_index (v.samples, i);
        const CuratorDbScore *score = g_hash_table_lookup (v.scores, &s->id);
        guint32 issues;
        Entry e = { s, score, 0, 0 };
        double worst = 0;

        if (score == NULL)
          continue;
        for (int c = 0; c < CURATOR_QUALITY_N_CHECKS; c++)
          worst = MAX (worst, severities[(gsize) j * CURATOR_QUALITY_N_CHECKS + c]);
        j++;
        issues = score->issues & mask;
        if (issues == 0)
          continue;
        if (class_id != 0 && s->current_label != class_id)
          continue;
        if (!decided && (s->verified || s->excluded))
          continue;
        for (int bit = 0; bit < CURATOR_ISSUE_N_BITS; bit++)
          counts[bit] += (issues >> bit) & 1;
        place (&e, issues, worst);
        g_array_append_val (entries_out, e);
      }
  }
  g_array_sort (entries_out, compare_entries);

  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;
      guint shown = limit > 0 ? MIN ((guint) limit, entries_out->len) : entries_out->len;

      json_builder_begin_object (b);
      cli_json_add_int (b, "run", v.run->id);
      cli_json_add_int (b, "total", entries_out->len);
      json_builder_set_member_name (b, "counts");
      json_builder_begin_object (b);
      for (int bit = 0; bit < CURATOR_ISSUE_N_BITS; bit++)
        if (counts[bit] > 0)
          cli_json_add_int (b, curator_issue_to_string (1u << bit), (gint64) counts[bit]);
      json_builder_end_object (b);
      print_minority (db, &v, b);
      add_trust (b, &trust);
      json_builder_set_member_name (b, "samples");
      json_builder_begin_array (b);
      for (guint i = 0; i < shown; i++)
        {
          const Entry *e = &g_array_index (entries_out, Entry, i);
          gboolean labelled = !(e->score->issues & CURATOR_ISSUE_UNLABELLED);

          json_builder_begin_object (b);
          cli_json_add_int (b, "id", e->sample->id);
          cli_json_add_string (b, "file", e->sample->path);
          cli_json_add_string (b, "label", cli_class_name (v.names, e->sample->current_label));
          cli_json_add_string (b, "suggested", cli_class_name (v.names, e->score->suggested_label));
          cli_json_add_double (b, "confidence", e->score->suggested_label != 0 ? e->score->suggestion_confidence : NAN);
          cli_json_add_double (b, "label_quality", labelled ? e->score->label_quality : NAN);
          cli_json_add_double (b, "outlier_score", e->score->outlier_score);
          cli_json_add_int (b, "duplicate_group", e->score->duplicate_group);
          add_issue_names (b, "issues", e->score->issues);
          cli_json_add_string (b, "reason", e->score->reason);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
      goto out;
    }

  {
    g_autoptr(GString) summary = g_string_new (NULL);
    guint shown = limit > 0 ? MIN ((guint) limit, entries_out->len) : entries_out->len;

    for (int bit = 0; bit < CURATOR_ISSUE_N_BITS; bit++)
      if (counts[bit] > 0)
        g_string_append_printf (summary, "%s%" G_GSIZE_FORMAT " %s", summary->len ? ", " : "",
                                counts[bit], curator_issue_to_string (1u << bit));
    g_print ("Run %" G_GINT64_FORMAT ": %u sample%s flagged%s%s\n", v.run->id, entries_out->len,
             entries_out->len == 1 ? "" : "s", summary->len ? ": " : "", summary->str);
    if (kind == NULL || (mask & CURATOR_ISSUES_KIND_LABEL))
      {
        g_autofree char *text = curator_issues_trust_describe (&trust);
        print_wrapped (text, 78);
      }
    if (kind == NULL || (mask & CURATOR_ISSUE_MINORITY))
      print_minority (db, &v, NULL);
    for (guint i = 0; i < shown; i++)
      {
        const Entry *e = &g_array_index (entries_out, Entry, i);
        const char *label = cli_class_name (v.names, e->sample->current_label);
        const char *suggested = cli_class_name (v.names, e->score->suggested_label);
        g_autofree char *kinds = curator_issues_to_string (e->score->issues);

        g_print ("%8" G_GINT64_FORMAT "  %s  %s", e->sample->id, e->sample->path, label ? label : "(unlabelled)");
        if (suggested != NULL)
          g_print (" -> %s (%.2f)", suggested, e->score->suggestion_confidence);
        g_print ("  [%s]\n", kinds);
        if (e->score->reason != NULL)
          g_print ("          %s\n", e->score->reason);
      }
    if (shown < entries_out->len)
      g_print ("... and %u more (--limit 0 for all)\n", entries_out->len - shown);
  }

out:
  run_view_clear (&v);
  cli_common_clear (&common);
  return code;
}

/* ---- accept ------------------------------------------------------------------------ */

int
cli_cmd_accept (int argc, char **argv)
{
  g_autofree char *kind = NULL;
  g_autofree char *class_name = NULL;
  double min_confidence = -1;
  gboolean dry_run = FALSE;
  const GOptionEntry entries[] = {
    { "min-confidence", 'm', 0, G_OPTION_ARG_DOUBLE, &min_confidence,
      "Accept every suggestion at least this confident (0..1)", "X" },
    { "kind", 'k', 0, G_OPTION_ARG_STRING, &kind, "With --min-confidence: which suggestions, "
      "label (default) or unlabelled", "KIND" },
    { "class", 'c', 0, G_OPTION_ARG_STRING, &class_name, "With --min-confidence: only samples labelled CLASS", "CLASS" },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Show what would be accepted, change nothing", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[SAMPLE...] - accept the latest run's suggested labels");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) chosen = g_ptr_array_new ();   /* CuratorDbSample *, borrowed */
  g_autoptr(GArray) events = g_array_new (FALSE, FALSE, sizeof (gint64));
  RunView v = { 0 };
  guint32 mask = CURATOR_ISSUES_KIND_LABEL;
  gint64 class_id = 0;
  guint n_skipped = 0;
  int code = CLI_EXIT_OK;

  g_option_context_set_description (context,
    "Records an ACCEPT decision (the suggested label becomes the sample's label) for each\n"
    "named sample, or with --min-confidence for every flagged sample whose suggestion is at\n"
    "least that confident. All in one transaction. --min-confidence never touches a sample a\n"
    "person has already decided (or excluded): name such a sample to accept its suggestion.");
  if (!cli_parse (context, entries, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if ((argc > 1) == (min_confidence >= 0))
    {
      code = cli_usage (context, "accept needs either samples or --min-confidence");
      goto out;
    }
  if (min_confidence > 1)
    {
      code = cli_usage (context, "--min-confidence is a probability, between 0 and 1");
      goto out;
    }
  if ((kind != NULL || class_name != NULL) && min_confidence < 0)
    {
      code = cli_usage (context, "--kind and --class go with --min-confidence");
      goto out;
    }
  if (kind != NULL && (!curator_issue_mask_from_string (kind, &mask) ||
                       (mask != CURATOR_ISSUES_KIND_LABEL && mask != CURATOR_ISSUE_UNLABELLED)))
    {
      code = cli_usage (context, "--kind must be label or unlabelled");
      goto out;
    }
  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  if (class_name != NULL && (class_id = curator_db_lookup_class (db, class_name)) == 0)
    {
      g_printerr ("curator: no class called '%s' (see `curator classes`)\n", class_name);
      code = CLI_EXIT_NOT_FOUND;
      goto out;
    }
  if (!run_view_load (&v, db, &code))
    goto out;

  if (min_confidence >= 0)
    for (guint i = 0; i < v.samples->len; i++)
      {
        CuratorDbSample *s = g_ptr_array_index (v.samples, i);
        const CuratorDbScore *score = g_hash_table_lookup (v.scores, &s->id);

        if (score == NULL || !(score->issues & mask) || score->suggested_label == 0 ||
            score->suggestion_confidence < min_confidence)
          continue;
        if (class_id != 0 && s->current_label != class_id)
          continue;
        if (s->verified || s->excluded || s->status != CURATOR_SAMPLE_OK ||
            s->current_label == score->suggested_label)
          {
            n_skipped++;
            continue;
          }
        g_ptr_array_add (chosen, s);
      }
  else
    for (int a = 1; a < argc; a++)
      {
        g_autoptr(CuratorDbSample) found = cli_find_sample (db, argv[a], &code);
        CuratorDbSample *s;
        const CuratorDbScore *score;

        if (found == NULL)
          goto out;
        s = g_hash_table_lookup (v.by_id, &found->id);
        score = s != NULL ? g_hash_table_lookup (v.scores, &s->id) : NULL;
        if (score == NULL || score->suggested_label == 0)
          {
            g_printerr ("curator: sample %" G_GINT64_FORMAT " (%s) has no suggestion in run %" G_GINT64_FORMAT "\n",
                        found->id, found->path, v.run->id);
            code = CLI_EXIT_NOT_FOUND;
            goto out;
          }
        if (s->current_label == score->suggested_label)
          {
            n_skipped++;
            continue;
          }
        g_ptr_array_add (chosen, s);
      }

  if (!dry_run && chosen->len > 0)
    {
      /* One batch: one transaction, and one step for `curator undo`. */
      if (curator_db_begin_batch (db, &error) == 0)
        {
          code = cli_fail (error);
          goto out;
        }
      for (guint i = 0; i < chosen->len; i++)
        {
          const CuratorDbSample *s = g_ptr_array_index (chosen, i);
          const CuratorDbScore *score = g_hash_table_lookup (v.scores, &s->id);
          g_autofree char *note = g_strdup_printf ("suggestion of run %" G_GINT64_FORMAT ", confidence %.2f",
                                                   v.run->id, score->suggestion_confidence);
          gint64 event = curator_db_record_decision (db, s->id, CURATOR_ACTION_ACCEPT, score->suggested_label,
                                                     CURATOR_ACTOR_CLI, v.run->id, note, &error);

          if (event <= 0)
            {
              g_prefix_error (&error, "sample %" G_GINT64_FORMAT " (%s): ", s->id, s->path);
              curator_db_end_batch (db, FALSE, NULL);
              code = cli_fail (error);
              goto out;
            }
          g_array_append_val (events, event);
        }
      if (!curator_db_end_batch (db, TRUE, &error))
        {
          code = cli_fail (error);
          goto out;
        }
    }

  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_object (b);
      cli_json_add_int (b, "run", v.run->id);
      json_builder_set_member_name (b, "dry_run");
      json_builder_add_boolean_value (b, dry_run);
      cli_json_add_int (b, "skipped", n_skipped);
      json_builder_set_member_name (b, "accepted");
      json_builder_begin_array (b);
      for (guint i = 0; i < chosen->len; i++)
        {
          const CuratorDbSample *s = g_ptr_array_index (chosen, i);
          const CuratorDbScore *score = g_hash_table_lookup (v.scores, &s->id);

          json_builder_begin_object (b);
          cli_json_add_int (b, "id", s->id);
          cli_json_add_string (b, "file", s->path);
          cli_json_add_string (b, "from", cli_class_name (v.names, s->current_label));
          cli_json_add_string (b, "to", cli_class_name (v.names, score->suggested_label));
          cli_json_add_double (b, "confidence", score->suggestion_confidence);
          if (!dry_run)
            cli_json_add_int (b, "event", g_array_index (events, gint64, i));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
      goto out;
    }
  for (guint i = 0; i < chosen->len && (dry_run || chosen->len <= 20); i++)
    {
      const CuratorDbSample *s = g_ptr_array_index (chosen, i);
      const CuratorDbScore *score = g_hash_table_lookup (v.scores, &s->id);
      const char *from = cli_class_name (v.names, s->current_label);

      g_print ("%8" G_GINT64_FORMAT "  %s  %s -> %s (%.2f)\n", s->id, s->path, from ? from : "(unlabelled)",
               cli_class_name (v.names, score->suggested_label), score->suggestion_confidence);
    }
  g_print ("%s %u suggestion%s of run %" G_GINT64_FORMAT, dry_run ? "Would accept" : "Accepted",
           chosen->len, chosen->len == 1 ? "" : "s", v.run->id);
  if (n_skipped > 0)
    g_print ("; left %u alone (decided by a person, excluded, or already so labelled)", n_skipped);
  g_print ("\n");

out:
  run_view_clear (&v);
  cli_common_clear (&common);
  return code;
}

/* ---- eval -------------------------------------------------------------------------- */

/* Rows of a CSV text (RFC 4180: quotes, "" inside quotes, CRLF), each a
 * NULL-terminated array of trimmed fields. Blank lines are skipped. */
static GPtrArray *
parse_csv (const char *text, gsize len)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GPtrArray) row = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) field = g_string_new (NULL);
  gboolean quoted = FALSE, was_quoted = FALSE;
  gsize i = 0;

  if (len >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
    i = 3;
  for (; i <= len; i++)
    {
      char ch = i < len ? text[i] : '\n';

      if (quoted)
        {
          if (ch == '"' && i + 1 < len && text[i + 1] == '"')
            {
              g_string_append_c (field, '"');
              i++;
            }
          else if (ch == '"')
            quoted = FALSE;
          else if (i < len)
            g_string_append_c (field, ch);
          continue;
        }
      if (ch == '"')
        {
          quoted = was_quoted = TRUE;
          continue;
        }
      if (ch == ',' || ch == '\n' || ch == '\r')
        {
          char *value = g_strdup (field->str);

          if (!was_quoted)
            g_strstrip (value);
          g_ptr_array_add (row, value);
          g_string_truncate (field, 0);
          was_quoted = FALSE;
          if (ch != ',')
            {
              gboolean blank = row->len == 1 && *(char *) g_ptr_array_index (row, 0) == '\0';

              if (ch == '\r' && i + 1 < len && text[i + 1] == '\n')
                i++;
              if (!blank)
                {
                  g_ptr_array_add (row, NULL);
                  g_ptr_array_add (rows, g_ptr_array_steal (row, NULL));
                }
              else
                g_ptr_array_set_size (row, 0);
            }
          continue;
        }
      g_string_append_c (field, ch);
    }
  return rows;
}

static int
column_of (char **header, const char *const *names)
{
  for (int n = 0; names[n] != NULL; n++)
    for (int c = 0; header[c] != NULL; c++)
      if (g_ascii_strcasecmp (header[c], names[n]) == 0)
        return c;
  return -1;
}

/* The sample's label when @time_us came: its given label, then its active
 * relabel/accept decisions made before then (an undo made before then
 * cancels what it reverts). @events are the sample's, oldest first. */
static gint64
label_at (const CuratorDbSample *s, GPtrArray *events, gint64 time_us)
{
  g_autoptr(GHashTable) reverted = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GPtrArray) active = g_ptr_array_new ();
  gint64 label = s->given_label;

  if (events == NULL)
    return s->current_label;
  for (guint e = events->len; e-- > 0;)
    {
      const CuratorDbEvent *ev = g_ptr_array_index (events, e);

      if (ev->time_us >= time_us || g_hash_table_contains (reverted, &ev->id))
        continue;
      if (ev->action == CURATOR_ACTION_UNDO)
        g_hash_table_add (reverted, g_memdup2 (&ev->reverts, sizeof (gint64)));
      else
        g_ptr_array_add (active, (gpointer) ev);
    }
  for (guint e = active->len; e-- > 0;)
    {
      const CuratorDbEvent *ev = g_ptr_array_index (active, e);

      if (ev->action == CURATOR_ACTION_RELABEL || ev->action == CURATOR_ACTION_ACCEPT)
        label = ev->new_label;
    }
  return label;
}

static void
print_percent_or_dash (double value)
{
  if (isfinite (value))
    g_print ("%.3f", value);
  else
    g_print ("-");
}

int
cli_cmd_eval (int argc, char **argv)
{
  static const char *const file_names[] = { "file", "path", "filename", "image", NULL };
  static const char *const truth_names[] = { "true_label", "truth", "true", "true_class", NULL };
  static const char *const label_names[] = { "label", "class", NULL };
  g_autofree char *truth_path = NULL;
  const GOptionEntry entries[] = {
    { "truth", 't', 0, G_OPTION_ARG_FILENAME, &truth_path, "CSV with columns file and true_label "
      "(or file,label: a person's truth); paths relative to the dataset root", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- score the latest run's flags against true labels");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GHashTable) truth_of = g_hash_table_new (g_str_hash, g_str_equal);  /* path -> name (borrowed) */
  g_autoptr(GHashTable) events_of = NULL;   /* sample id -> GPtrArray of its events */
  g_autoptr(GPtrArray) all_events = NULL;
  g_autoptr(CuratorIssuesEval) e = NULL;
  g_autofree char *text = NULL;
  g_autofree gint *labels = NULL, *truth = NULL, *suggested = NULL, *predicted = NULL;
  g_autofree gboolean *flagged = NULL;
  g_autofree double *quality = NULL;
  RunView v = { 0 };
  CuratorIssuesTrust trust;
  gsize len = 0, n = 0, n_unmatched = 0, n_truth_rows = 0;
  int file_col, truth_col, k, code = CLI_EXIT_OK;

  g_option_context_set_description (context,
    "Matches the truth file's rows to samples by path and scores the latest run: the label-issue\n"
    "flags (precision, recall, F1), the label-quality ranking (AUROC; precision among the worst\n"
    "100/250/500/1000), the suggestions on flagged samples, and the classifier's predictions\n"
    "(accuracy, macro-F1). A sample's label is the one it had when the run started.");
  if (!cli_parse (context, entries, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 1 || truth_path == NULL)
    {
      code = cli_usage (context, "eval needs --truth FILE");
      goto out;
    }
  if (!g_file_get_contents (truth_path, &text, &len, &error))
    {
      code = cli_fail (error);
      goto out;
    }
  rows = parse_csv (text, len);
  if (rows->len == 0)
    {
      g_printerr ("curator: %s is empty\n", truth_path);
      code = CLI_EXIT_USAGE;
      goto out;
    }
  {
    char **header = g_ptr_array_index (rows, 0);

    file_col = column_of (header, file_names);
    truth_col = column_of (header, truth_names);
    if (truth_col < 0 && g_strv_length (header) == 2)
      truth_col = column_of (header, label_names);
    if (file_col < 0 || truth_col < 0)
      {
        g_printerr ("curator: %s needs a header with a file column and a true_label column\n", truth_path);
        code = CLI_EXIT_USAGE;
        goto out;
      }
  }
  for (guint r = 1; r < rows->len; r++)
    {
      char **row = g_ptr_array_index (rows, r);
      guint n_fields = g_strv_length (row);

      if ((guint) MAX (file_col, truth_col) >= n_fields || *row[truth_col] == '\0')
        continue;
      g_hash_table_insert (truth_of, row[file_col], row[truth_col]);
      n_truth_rows++;
    }

  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  if (!run_view_load (&v, db, &code))
    goto out;
  all_events = curator_db_list_events (db, 0, &error);
  if (all_events == NULL)
    {
      code = cli_fail (error);
      goto out;
    }
  events_of = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < all_events->len; i++)
    {
      CuratorDbEvent *ev = g_ptr_array_index (all_events, i);
      GPtrArray *list = g_hash_table_lookup (events_of, &ev->sample_id);

      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (events_of, &ev->sample_id, list);
        }
      g_ptr_array_add (list, ev);
    }

  k = v.run->n_classes;
  {
    /* Class id -> position in the run, through a small table. */
    g_autoptr(GHashTable) position = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);

    for (int c = 0; c < k; c++)
      {
        int *p = g_new (int, 1);
        *p = c;
        g_hash_table_insert (position, &v.run->class_ids[c], p);
      }
    labels = g_new (gint, MAX (v.samples->len, 1));
    truth = g_new (gint, MAX (v.samples->len, 1));
    suggested = g_new (gint, MAX (v.samples->len, 1));
    predicted = g_new (gint, MAX (v.samples->len, 1));
    flagged = g_new (gboolean, MAX (v.samples->len, 1));
    quality = g_new (double, MAX (v.samples->len, 1));
    for (guint i = 0; i < v.samples->len; i++)
      {
        const CuratorDbSample *s = g_ptr_array_index (v.samples, i);
        const CuratorDbScore *score = g_hash_table_lookup (v.scores, &s->id);
        const char *true_name;
        gint64 label_id, true_id;
        int *lp, *tp, *sp, *pp;

        if (score == NULL)
          continue;
        true_name = g_hash_table_lookup (truth_of, s->path);
        if (true_name == NULL)
          {
            n_unmatched++;
            continue;
          }
        label_id = label_at (s, g_hash_table_lookup (events_of, &s->id), v.run->started_us);
        true_id = curator_db_lookup_class (db, true_name);
        lp = label_id != 0 ? g_hash_table_lookup (position, &label_id) : NULL;
        tp = true_id != 0 ? g_hash_table_lookup (position, &true_id) : NULL;
        sp = score->suggested_label != 0 ? g_hash_table_lookup (position, &score->suggested_label) : NULL;
        pp = score->predicted_label != 0 ? g_hash_table_lookup (position, &score->predicted_label) : NULL;
        if (lp == NULL || tp == NULL)
          {
            n_unmatched++;   /* unlabelled then, or a true class the run does not know */
            continue;
          }
        labels[n] = *lp;
        truth[n] = *tp;
        suggested[n] = sp != NULL ? *sp : -1;
        predicted[n] = pp != NULL ? *pp : -1;
        flagged[n] = (score->issues & CURATOR_ISSUE_LABEL) != 0;
        quality[n] = score->label_quality;
        n++;
      }
  }
  if (n == 0)
    {
      g_printerr ("curator: no sample of run %" G_GINT64_FORMAT " matches a row of %s\n", v.run->id, truth_path);
      code = CLI_EXIT_NOT_FOUND;
      goto out;
    }
  e = curator_issues_evaluate (labels, truth, flagged, quality, suggested, predicted, n, (guint) k);
  if (!run_view_trust (&v, db, &trust, &code))
    goto out;

  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_object (b);
      cli_json_add_int (b, "run", v.run->id);
      cli_json_add_int (b, "samples", (gint64) e->n_samples);
      cli_json_add_int (b, "unmatched", (gint64) n_unmatched);
      cli_json_add_int (b, "errors", (gint64) e->n_errors);
      cli_json_add_int (b, "flagged", (gint64) e->n_flagged);
      cli_json_add_int (b, "true_positives", (gint64) e->n_flagged_errors);
      cli_json_add_double (b, "precision", e->precision);
      cli_json_add_double (b, "recall", e->recall);
      cli_json_add_double (b, "f1", e->f1);
      cli_json_add_double (b, "auroc", e->auroc);
      cli_json_add_double (b, "estimated_precision", trust.precision);
      cli_json_add_bool (b, "weak", trust.weak);
      json_builder_set_member_name (b, "precision_at");
      json_builder_begin_object (b);
      for (int a = 0; a < CURATOR_ISSUES_EVAL_N_AT; a++)
        {
          g_autofree char *key = g_strdup_printf ("%" G_GSIZE_FORMAT, e->at[a]);
          cli_json_add_double (b, key, e->precision_at[a]);
        }
      json_builder_end_object (b);
      cli_json_add_double (b, "suggestion_accuracy", e->suggestion_accuracy);
      cli_json_add_double (b, "error_suggestion_accuracy", e->error_suggestion_accuracy);
      cli_json_add_double (b, "accuracy", e->accuracy);
      cli_json_add_double (b, "macro_f1", e->macro_f1);
      json_builder_set_member_name (b, "classes");
      json_builder_begin_array (b);
      for (int c = 0; c < k; c++)
        {
          json_builder_begin_object (b);
          cli_json_add_string (b, "class", cli_class_name (v.names, v.run->class_ids[c]));
          cli_json_add_int (b, "samples", (gint64) e->class_samples[c]);
          cli_json_add_int (b, "errors", (gint64) e->class_errors[c]);
          cli_json_add_int (b, "flagged", (gint64) e->class_flagged[c]);
          cli_json_add_int (b, "true_positives", (gint64) e->class_flagged_errors[c]);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
      goto out;
    }

  g_print ("Run %" G_GINT64_FORMAT " against %s: %" G_GSIZE_FORMAT " samples matched (%" G_GSIZE_FORMAT
           " scored samples without a usable truth row; %" G_GSIZE_FORMAT " rows), %" G_GSIZE_FORMAT
           " wrong labels (%.1f%%)\n", v.run->id, truth_path, e->n_samples, n_unmatched, n_truth_rows,
           e->n_errors, 100.0 * e->n_errors / e->n_samples);
  g_print ("Label issues  %" G_GSIZE_FORMAT " flagged, %" G_GSIZE_FORMAT " of them wrong: precision ",
           e->n_flagged, e->n_flagged_errors);
  print_percent_or_dash (e->precision);
  g_print (", recall ");
  print_percent_or_dash (e->recall);
  g_print (", F1 ");
  print_percent_or_dash (e->f1);
  g_print ("\nTrust         estimated precision ");
  print_percent_or_dash (trust.precision);
  g_print (" (measured ");
  print_percent_or_dash (e->precision);
  g_print ("); %s", trust.weak ? "the run warned that its model is too weak to vouch for the flags"
                                : "no warning");
  g_print ("\nRanking       AUROC ");
  print_percent_or_dash (e->auroc);
  g_print ("; precision among the worst");
  for (int a = 0; a < CURATOR_ISSUES_EVAL_N_AT; a++)
    {
      g_print (" %" G_GSIZE_FORMAT ": ", e->at[a]);
      print_percent_or_dash (e->precision_at[a]);
    }
  g_print ("\nSuggestions   right on ");
  print_percent_or_dash (e->error_suggestion_accuracy);
  g_print (" of the %" G_GSIZE_FORMAT " flagged true errors, ", e->n_error_suggestions);
  print_percent_or_dash (e->suggestion_accuracy);
  g_print (" of all %" G_GSIZE_FORMAT " flagged\n", e->n_suggestions);
  g_print ("Classifier    accuracy ");
  print_percent_or_dash (e->accuracy);
  g_print (", macro-F1 ");
  print_percent_or_dash (e->macro_f1);
  g_print (" against the truth\n\n%-20s %8s %8s %8s %10s %8s\n", "class", "samples", "wrong", "flagged",
           "precision", "recall");
  for (int c = 0; c < k; c++)
    {
      const char *name = cli_class_name (v.names, v.run->class_ids[c]);

      g_print ("%-20s %8" G_GSIZE_FORMAT " %8" G_GSIZE_FORMAT " %8" G_GSIZE_FORMAT " ", name ? name : "?",
               e->class_samples[c], e->class_errors[c], e->class_flagged[c]);
      if (e->class_flagged[c] > 0)
        g_print ("%10.3f ", (double) e->class_flagged_errors[c] / e->class_flagged[c]);
      else
        g_print ("%10s ", "-");
      if (e->class_errors[c] > 0)
        g_print ("%8.3f\n", (double) e->class_flagged_errors[c] / e->class_errors[c]);
      else
        g_print ("%8s\n", "-");
    }

out:
  run_view_clear (&v);
  cli_common_clear (&common);
  return code;
}

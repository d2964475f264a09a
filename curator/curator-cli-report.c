/* curator-cli-report.c: `curator report`, the latest analysis summarised for
 * a person: which run, how good its model is, how many samples of each kind
 * it flagged and how far to trust the label flags, the estimated noise
 * matrix, and per class the noise rate, label quality and estimated true
 * size (minority classes marked), then what people have decided since.
 *
 * Everything comes from what the run stored: its metrics, its scores, its
 * per-class rows (curator_db_list_run_classes: counts and the calibrated
 * confident joint, row = given label, column = estimated true label) and
 * its trust estimate. The human form fits an 80-column terminal: the noise
 * matrix is printed as a table for up to REPORT_MAX_MATRIX_CLASSES classes,
 * and as its largest off-diagonal cells in every case. */
#include "curator-config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "curator-cli-private.h"
#include "curator-issues.h"

#define REPORT_MAX_MATRIX_CLASSES 10   /* 12 + 10 x 6 columns = 72 */
#define REPORT_TOP_CONFUSIONS     8

typedef struct {
  const CuratorDbRunClass *row;    /* NULL when the run stored none for the class */
  const char *name;
  double      row_sum;             /* of the joint row */
  double      noise_rate;          /* share of the row estimated to be another class; NaN = unknown */
} ReportClass;

typedef struct {
  guint  given, truth;
  double share;                    /* of the given class's row */
  double count;
} Confusion;

static int
compare_confusions (gconstpointer a, gconstpointer b)
{
  const Confusion *x = a, *y = b;

  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  if (x->given != y->given)
    return x->given < y->given ? -1 : 1;
  return (x->truth > y->truth) - (x->truth < y->truth);
}

static double
metrics_double (const CuratorDbRun *run, const char *member)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;
  JsonObject *o;

  if (run->metrics_json == NULL)
    return NAN;
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, run->metrics_json, -1, NULL))
    return NAN;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NAN;
  o = json_node_get_object (root);
  if (!json_object_has_member (o, member) || json_object_get_null_member (o, member))
    return NAN;
  return json_object_get_double_member (o, member);
}

static char *
format_time (gint64 time_us)
{
  g_autoptr(GDateTime) dt = time_us > 0 ? g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC) : NULL;

  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%d %H:%M") : g_strdup ("-");
}

/* "airplane" -> "airpl" for a column head of @width. */
static char *
column_head (const char *name, int width)
{
  return g_utf8_substring (name, 0, MIN ((glong) width, g_utf8_strlen (name, -1)));
}

static void
print_number_or_dash (double value, int width, int decimals)
{
  if (isfinite (value))
    g_print ("%*.*f", width, decimals, value);
  else
    g_print ("%*s", width, "-");
}

int
cli_cmd_report (int argc, char **argv)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr(GOptionContext) context = g_option_context_new ("- a summary of the latest analysis");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CuratorDbRun) run = NULL;
  g_autoptr(GHashTable) scores = NULL;
  g_autoptr(GHashTable) names = NULL;
  g_autoptr(GPtrArray) samples = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GArray) confusions = g_array_new (FALSE, FALSE, sizeof (Confusion));
  g_autofree ReportClass *classes = NULL;
  g_autofree CuratorDbScore **score_list = NULL;
  g_autofree char *started = NULL;
  g_autofree char *trust_text = NULL;
  CuratorIssuesTrust trust;
  gsize counts[CURATOR_ISSUE_N_BITS] = { 0 };
  gsize n_scored = 0, n_verified = 0, n_excluded = 0, n_flagged_decided = 0, n_label_flagged = 0;
  gsize n_minority = 0, n_minority_samples = 0;
  double accuracy, macro_f1, n_estimated_errors = 0, joint_total = 0;
  gboolean have_joint = FALSE;
  guint k;
  int code = CLI_EXIT_OK;

  g_option_context_set_description (context,
    "Summarises the latest `curator analyze`: the run and its model's accuracy against the\n"
    "current labels; how many samples it flagged of each kind; the estimated precision of the\n"
    "label flags (and a warning when the model is too weak to vouch for them); the estimated\n"
    "noise matrix (given label x true label); per class the estimated noise rate, the mean\n"
    "label quality and the estimated true number of samples, minority classes marked; and how\n"
    "many samples people have decided or excluded.");
  if (!cli_parse (context, entries, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 1)
    {
      code = cli_usage (context, "report takes options only");
      goto out;
    }
  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  names = cli_class_names (db, &error);
  if (names != NULL)
    scores = cli_latest_scores (db, &run, &error);
  if (scores != NULL)
    samples = curator_db_list_samples (db, NULL, &error);
  if (samples == NULL)
    {
      code = cli_fail (error);
      goto out;
    }
  if (run == NULL)
    {
      g_printerr ("curator: no finished analysis yet: run `curator analyze` first\n");
      code = CLI_EXIT_NOT_FOUND;
      goto out;
    }
  rows = curator_db_list_run_classes (db, run->id, &error);
  if (rows == NULL)
    {
      code = cli_fail (error);
      goto out;
    }
  k = (guint) run->n_classes;

  /* Issue counts, and what people did with the samples since. */
  score_list = g_new (CuratorDbScore *, MAX (g_hash_table_size (scores), 1));
  for (guint i = 0; i < samples->len; i++)
    {
      const CuratorDbSample *s = g_ptr_array_index (samples, i);
      CuratorDbScore *score = g_hash_table_lookup (scores, &s->id);

      n_verified += s->verified != 0;
      n_excluded += s->excluded != 0;
      if (score == NULL)
        continue;
      score_list[n_scored++] = score;
      for (int bit = 0; bit < CURATOR_ISSUE_N_BITS; bit++)
        counts[bit] += (score->issues >> bit) & 1;
      n_minority_samples += (score->issues & CURATOR_ISSUE_MINORITY) != 0;
      if (score->issues & CURATOR_ISSUE_LABEL)
        {
          n_label_flagged++;
          n_flagged_decided += s->verified || s->excluded;
        }
    }

  if (!curator_issues_trust_load (db, run->id, &trust, &error))
    {
      if (!g_error_matches (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND))
        {
          code = cli_fail (error);
          goto out;
        }
      g_clear_error (&error);
      curator_issues_trust_from_scores (score_list, n_scored, k, &trust);
    }
  trust_text = curator_issues_trust_describe (&trust);

  accuracy = metrics_double (run, "accuracy");
  macro_f1 = metrics_double (run, "macro_f1");
  if (!isfinite (accuracy))
    accuracy = trust.accuracy;

  /* Per class, in the run's class order. */
  classes = g_new0 (ReportClass, MAX (k, 1));
  for (guint c = 0; c < k; c++)
    {
      classes[c].name = cli_class_name (names, run->class_ids[c]);
      if (classes[c].name == NULL)
        classes[c].name = "?";
      classes[c].noise_rate = NAN;
      for (guint r = 0; r < rows->len; r++)
        {
          const CuratorDbRunClass *row = g_ptr_array_index (rows, r);

          if (row->class_id == run->class_ids[c])
            classes[c].row = row;
        }
    }
  for (guint c = 0; c < k; c++)
    {
      const CuratorDbRunClass *row = classes[c].row;

      if (row == NULL)
        continue;
      if (row->minority)
        n_minority++;
      if (row->joint == NULL || row->n_joint != (int) k)
        continue;
      have_joint = TRUE;
      for (guint t = 0; t < k; t++)
        classes[c].row_sum += row->joint[t];
      joint_total += classes[c].row_sum;
      if (classes[c].row_sum > 0)
        {
          classes[c].noise_rate = 1.0 - row->joint[c] / classes[c].row_sum;
          n_estimated_errors += classes[c].row_sum - row->joint[c];
          for (guint t = 0; t < k; t++)
            if (t != c && row->joint[t] > 0)
              {
                Confusion cf = { c, t, row->joint[t] / classes[c].row_sum, row->joint[t] };
                g_array_append_val (confusions, cf);
              }
        }
    }
  g_array_sort (confusions, compare_confusions);

  if (common.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;

      json_builder_begin_object (b);
      cli_json_add_int (b, "run", run->id);
      cli_json_add_int (b, "started_us", run->started_us);
      cli_json_add_int (b, "finished_us", run->finished_us);
      cli_json_add_int (b, "samples", (gint64) n_scored);
      cli_json_add_int (b, "labelled", (gint64) trust.n_labelled);
      cli_json_add_int (b, "classes", k);
      cli_json_add_double (b, "accuracy", accuracy);
      cli_json_add_double (b, "macro_f1", macro_f1);
      json_builder_set_member_name (b, "counts");
      json_builder_begin_object (b);
      for (int bit = 0; bit < CURATOR_ISSUE_N_BITS; bit++)
        cli_json_add_int (b, curator_issue_to_string (1u << bit), (gint64) counts[bit]);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "trust");
      json_builder_begin_object (b);
      cli_json_add_int (b, "flagged", (gint64) trust.n_flagged);
      cli_json_add_double (b, "estimated_precision", trust.precision);
      cli_json_add_double (b, "estimated_noise_rate", trust.noise_rate);
      cli_json_add_double (b, "agreement", trust.accuracy);
      cli_json_add_double (b, "confidence", trust.confidence);
      cli_json_add_bool (b, "weak", trust.weak);
      cli_json_add_string (b, "statement", trust_text);
      json_builder_end_object (b);
      cli_json_add_double (b, "confident_learning_noise_rate",
                           have_joint && joint_total > 0 ? n_estimated_errors / joint_total : NAN);
      json_builder_set_member_name (b, "noise_matrix");
      if (have_joint)
        {
          /* Rows: given label; columns: estimated true label; counts. */
          json_builder_begin_array (b);
          for (guint c = 0; c < k; c++)
            {
              json_builder_begin_array (b);
              for (guint t = 0; t < k; t++)
                json_builder_add_double_value (b, classes[c].row != NULL && classes[c].row->joint != NULL
                                                  ? classes[c].row->joint[t] : 0.0);
              json_builder_end_array (b);
            }
          json_builder_end_array (b);
        }
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "per_class");
      json_builder_begin_array (b);
      for (guint c = 0; c < k; c++)
        {
          const CuratorDbRunClass *row = classes[c].row;

          json_builder_begin_object (b);
          cli_json_add_string (b, "class", classes[c].name);
          cli_json_add_int (b, "labelled", row != NULL ? row->n_labelled : 0);
          cli_json_add_int (b, "label_issues", row != NULL ? row->n_label_issues : 0);
          cli_json_add_double (b, "noise_rate", classes[c].noise_rate);
          cli_json_add_double (b, "mean_label_quality", row != NULL ? row->mean_label_quality : NAN);
          cli_json_add_double (b, "estimated", row != NULL ? row->n_estimated : NAN);
          cli_json_add_double (b, "ratio_to_largest", row != NULL ? row->ratio_to_largest : NAN);
          cli_json_add_double (b, "ratio_to_median", row != NULL ? row->ratio_to_median : NAN);
          cli_json_add_bool (b, "minority", row != NULL && row->minority);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "decisions");
      json_builder_begin_object (b);
      cli_json_add_int (b, "verified", (gint64) n_verified);
      cli_json_add_int (b, "excluded", (gint64) n_excluded);
      cli_json_add_int (b, "label_issues_decided", (gint64) n_flagged_decided);
      json_builder_end_object (b);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      cli_print_json (node);
      goto out;
    }

  /* ---- for a person ---- */
  started = format_time (run->started_us);
  g_print ("Run %" G_GINT64_FORMAT " of %s: %" G_GSIZE_FORMAT " samples (%" G_GSIZE_FORMAT
           " labelled), %u classes\n", run->id, started, n_scored, trust.n_labelled, k);
  g_print ("Model: out-of-sample accuracy ");
  print_number_or_dash (accuracy, 1, 3);
  g_print (", macro-F1 ");
  print_number_or_dash (macro_f1, 1, 3);
  g_print (" against the current labels\n\n");

  g_print ("Flagged\n");
  for (int bit = 0; bit < CURATOR_ISSUE_N_BITS; bit++)
    if (counts[bit] > 0 && (1u << bit) != CURATOR_ISSUE_MINORITY)
      g_print ("  %-26s %7" G_GSIZE_FORMAT "  %5.1f%%\n", curator_issue_to_string (1u << bit), counts[bit],
               100.0 * counts[bit] / MAX (n_scored, 1));
  if (n_minority_samples > 0)
    g_print ("  %-26s %7" G_GSIZE_FORMAT "  %5.1f%%  (samples of minority classes)\n", "minority",
             n_minority_samples, 100.0 * n_minority_samples / MAX (n_scored, 1));
  {
    /* The trust statement, wrapped at 78 columns. */
    g_auto(GStrv) lines = g_strsplit (trust_text, "\n", -1);

    g_print ("\nHow far to trust the label flags\n");
    for (int l = 0; lines[l] != NULL; l++)
      {
        g_auto(GStrv) words = g_strsplit (lines[l], " ", -1);
        int column = 0;

        for (int w = 0; words[w] != NULL; w++)
          {
            int len = (int) g_utf8_strlen (words[w], -1);

            if (column > 0 && column + 1 + len > 78)
              {
                g_print ("\n");
                column = 0;
              }
            g_print ("%s%s", column == 0 ? "  " : " ", words[w]);
            column += (column == 0 ? 2 : 1) + len;
          }
        g_print ("\n");
      }
  }

  if (have_joint)
    {
      g_print ("\nEstimated noise matrix (confident learning): %.0f of %.0f labels (%.1f%%)\n"
               "look like another class.\n", n_estimated_errors, joint_total,
               joint_total > 0 ? 100.0 * n_estimated_errors / joint_total : 0.0);
      if (k <= REPORT_MAX_MATRIX_CLASSES)
        {
          g_print ("Rows: given label; columns: estimated true label; %% of the row.\n%-11s", "");
          for (guint t = 0; t < k; t++)
            {
              g_autofree char *head = column_head (classes[t].name, 5);
              g_print (" %5s", head);
            }
          g_print ("\n");
          for (guint c = 0; c < k; c++)
            {
              g_autofree char *head = column_head (classes[c].name, 11);

              g_print ("%-11s", head);
              for (guint t = 0; t < k; t++)
                {
                  double share = classes[c].row != NULL && classes[c].row->joint != NULL && classes[c].row_sum > 0
                                 ? 100.0 * classes[c].row->joint[t] / classes[c].row_sum : NAN;

                  if (!isfinite (share))
                    g_print (" %5s", "-");
                  else if (t != c && share < 0.05)
                    g_print (" %5s", ".");
                  else
                    g_print (" %5.1f", share);
                }
              g_print ("\n");
            }
        }
      if (confusions->len > 0)
        {
          g_print ("Largest cells:\n");
          for (guint i = 0; i < MIN (confusions->len, REPORT_TOP_CONFUSIONS); i++)
            {
              const Confusion *cf = &g_array_index (confusions, Confusion, i);
              g_autofree char *text = g_strdup_printf ("truly %s, labelled %s", classes[cf->truth].name,
                                                       classes[cf->given].name);

              g_print ("  %-30s%6.0f%s", text, cf->count, i % 2 == 1 ? "\n" : "");
            }
          if (MIN (confusions->len, REPORT_TOP_CONFUSIONS) % 2 == 1)
            g_print ("\n");
        }
      g_print ("Confident learning counts the model's own confusions as noise too: the\n"
               "trust estimate above is the better guess of how many labels are wrong.\n");
    }

  if (rows->len == 0)
    {
      g_print ("\nThis run stored no per-class figures (it was made by an older curator):\n"
               "run `curator analyze` again for the noise matrix and the minority classes.\n");
      goto decisions;
    }
  g_print ("\n%-14s %8s %7s %6s %7s %9s %6s %6s\n", "class", "labelled", "flagged", "noise", "quality",
           "est.true", "/large", "/med");
  for (guint c = 0; c < k; c++)
    {
      const CuratorDbRunClass *row = classes[c].row;
      g_autofree char *head = column_head (classes[c].name, 14);

      g_print ("%-14s", head);
      if (row == NULL)
        {
          g_print (" %8s\n", "-");
          continue;
        }
      g_print (" %8" G_GINT64_FORMAT " %7" G_GINT64_FORMAT " ", row->n_labelled, row->n_label_issues);
      if (isfinite (classes[c].noise_rate))
        g_print ("%5.1f%%", 100.0 * classes[c].noise_rate);
      else
        g_print ("%6s", "-");
      g_print (" ");
      print_number_or_dash (row->mean_label_quality, 7, 3);
      g_print (" ");
      print_number_or_dash (row->n_estimated, 9, 0);
      g_print (" ");
      print_number_or_dash (row->ratio_to_largest, 6, 2);
      g_print (" ");
      print_number_or_dash (row->ratio_to_median, 6, 2);
      g_print ("%s\n", row->minority ? "  minority" : "");
    }
  g_print ("noise: share of the class's labels estimated to be another class;\n"
           "quality: mean label quality (0 = surely wrong, 1 = surely right);\n"
           "est.true: samples truly of the class once flagged labels take their suggestion;\n"
           "/large, /med: est.true over the largest and the median class's.\n");
  if (n_minority > 0)
    {
      g_print ("\nMinority classes (under half the median class):\n");
      for (guint c = 0; c < k; c++)
        if (classes[c].row != NULL && classes[c].row->minority)
          g_print ("  %s: %" G_GINT64_FORMAT " labelled, about %.0f truly, %.0f%% of the median class, "
                   "%.0f%% of the largest\n", classes[c].name, classes[c].row->n_labelled,
                   classes[c].row->n_estimated, 100.0 * classes[c].row->ratio_to_median,
                   100.0 * classes[c].row->ratio_to_largest);
    }
  else
    g_print ("\nNo minority classes (none under half the median class).\n");

decisions:
  g_print ("\nDecisions: %" G_GSIZE_FORMAT " sample%s decided by a person, %" G_GSIZE_FORMAT
           " excluded;\n%" G_GSIZE_FORMAT " of the run's %" G_GSIZE_FORMAT " label issues decided or excluded.\n",
           n_verified, n_verified == 1 ? "" : "s", n_excluded, n_flagged_decided, n_label_flagged);

out:
  cli_common_clear (&common);
  return code;
}

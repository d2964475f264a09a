/* curator-cli-analyze.c: `curator analyze` and `curator runs`, and the
 * helpers that put a run's scores next to samples in `ls` and `show`. */
#include "curator-config.h"

#include <string.h>

#include "curator-analyze.h"
#include "curator-cli-private.h"

GHashTable *
cli_latest_scores (CuratorDb *db, CuratorDbRun **run_out, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(CuratorDbRun) run = curator_db_get_run (db, 0, &local_error);
  g_autoptr(GPtrArray) scores = NULL;
  GHashTable *by_sample;

  by_sample = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                     (GDestroyNotify) curator_db_score_free);
  if (run == NULL)
    {
      if (!g_error_matches (local_error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          g_hash_table_unref (by_sample);
          return NULL;
        }
      *run_out = NULL;
      return by_sample;   /* no analysis yet: empty */
    }
  scores = curator_db_list_scores (db, run->id, error);
  if (scores == NULL)
    {
      g_hash_table_unref (by_sample);
      return NULL;
    }
  /* The table takes the scores over from the array. */
  g_ptr_array_set_free_func (scores, NULL);
  for (guint i = 0; i < scores->len; i++)
    {
      CuratorDbScore *score = g_ptr_array_index (scores, i);
      g_hash_table_insert (by_sample, &score->sample_id, score);
    }
  *run_out = g_steal_pointer (&run);
  return by_sample;
}

int
cli_cmd_analyze (int argc, char **argv)
{
  CuratorAnalyzeOptions options;
  g_autofree char *model = NULL;
  g_autofree char *features = NULL;
  int folds = 0, side = 0, centroids = 0, pool = 0, epochs = 0, seed = -1, rounds = 0;
  double smoothing = -1, l2 = -1;   /* -1: not given */
  gboolean no_flip = FALSE, no_balance = FALSE, no_color_hog = FALSE, relearn = FALSE;
  const GOptionEntry entries[] = {
    { "folds", 'k', 0, G_OPTION_ARG_INT, &folds, "Cross-validation folds (default 5)", "K" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed (default 1); same seed, same results", "N" },
    { "side", 0, 0, G_OPTION_ARG_INT, &side, "Picture side for features: 32 (default) or 64", "PX" },
    { "centroids", 0, 0, G_OPTION_ARG_INT, &centroids, "Patch dictionary size", "N" },
    { "pool", 0, 0, G_OPTION_ARG_INT, &pool, "Pooling grid: 2 (quadrants) or 3 (default)", "N" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model, "Classifier: logreg or mlp", "KIND" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Training epochs per model (default 6, fewer on large sets, more on small ones)", "N" },
    { "l2", 0, 0, G_OPTION_ARG_DOUBLE, &l2, "L2 strength (default 1e-3; 0 = choose from a grid by held-out validation)", "X" },
    { "smoothing", 0, 0, G_OPTION_ARG_DOUBLE, &smoothing, "Label smoothing (default 0.1)", "X" },
    { "no-flip", 0, 0, G_OPTION_ARG_NONE, &no_flip, "No horizontal-flip augmentation", NULL },
    { "no-balance", 0, 0, G_OPTION_ARG_NONE, &no_balance, "No class-balanced sampling", NULL },
    { "no-color-hog", 0, 0, G_OPTION_ARG_NONE, &no_color_hog, "No colour/gradient histogram features", NULL },
    { "relearn", 0, 0, G_OPTION_ARG_NONE, &relearn, "Learn a new patch dictionary even if one is cached", NULL },
    { "features", 0, 0, G_OPTION_ARG_STRING, &features,
      "Feature extractor in place of the built-in ones, e.g. embeddings:FILE (see `curator plugins`)", "NAME[:ARG]" },
    { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "Self-training rounds (default 2; 1 = none)", "R" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- cross-validated predictions for every sample");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  CuratorAnalyzeReport report;
  GCancellable *cancellable;
  gboolean ok;
  int code = CLI_EXIT_OK;

  g_option_context_set_description (context,
    "Computes features for every readable sample (k-means patch features learned from the\n"
    "dataset itself, plus colour and gradient histograms; cached in the project), trains a\n"
    "classifier with K-fold cross-validation so that every sample's probabilities come from\n"
    "models that never saw its label, and stores them as a new run (see `curator runs`).");
  if (!cli_parse (context, entries, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  curator_analyze_options_init_default (&options);
  if (argc != 1)
    {
      code = cli_usage (context, "analyze takes options only");
      goto out;
    }
  if (folds != 0)
    {
      if (folds < 2 || folds > CURATOR_CLASSIFIER_MAX_FOLDS)
        {
          code = cli_usage (context, "--folds must be between 2 and %d", CURATOR_CLASSIFIER_MAX_FOLDS);
          goto out;
        }
      options.classifier.n_folds = folds;
    }
  if (seed >= 0)
    options.classifier.seed = options.patch.seed = (guint64) seed;
  if (side != 0)
    options.patch.side = side;
  if (centroids != 0)
    options.patch.n_centroids = centroids;
  if (pool != 0)
    options.patch.pool = pool;
  if (epochs != 0)
    {
      /* Exactly N passes: no adjustment to the size of the set. */
      options.classifier.epochs = epochs;
      options.classifier.draws_cap = 0;
      options.classifier.draws_min = 0;
    }
  if (rounds != 0)
    {
      if (rounds < 1 || rounds > 10)
        {
          code = cli_usage (context, "--rounds must be between 1 and 10");
          goto out;
        }
      options.rounds = rounds;
    }
  if (l2 >= 0)
    options.classifier.l2 = l2;
  if (smoothing >= 0)
    options.classifier.label_smoothing = smoothing;
  if (model != NULL && !curator_model_kind_from_string (model, &options.classifier.model))
    {
      code = cli_usage (context, "--model must be logreg or mlp");
      goto out;
    }
  options.flip = !no_flip;
  options.classifier.balance = !no_balance;
  options.color_hog = !no_color_hog;
  options.relearn = relearn;
  options.features = features;
  {
    g_autoptr(GError) invalid = NULL;

    if (!curator_patch_params_validate (&options.patch, &invalid))
      {
        code = cli_usage (context, "%s", invalid->message);
        goto out;
      }
  }

  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  cancellable = cli_interrupt_begin ();
  ok = curator_analyze_run (db, &options, &report, cancellable, cli_progress, NULL, &error);
  cli_progress_done ();
  cli_interrupt_end (cancellable);
  if (!ok)
    {
      code = cli_fail (error);
      goto out;
    }

  if (common.json)
    {
      g_autoptr(CuratorDbRun) run = curator_db_get_run (db, report.run_id, &error);
      g_autofree char *text = NULL;

      if (run == NULL)
        {
          code = cli_fail (error);
          goto out;
        }
      text = g_strdup_printf ("{\"run\":%" G_GINT64_FORMAT ",\"params\":%s,\"timings\":%s,\"metrics\":%s}",
                              run->id, run->params_json, run->timings_json, run->metrics_json);
      {
        g_autoptr(JsonNode) node = json_from_string (text, &error);

        if (node == NULL)
          {
            code = cli_fail (error);
            goto out;
          }
        cli_print_json (node);
      }
      goto out;
    }

  g_print ("Run %" G_GINT64_FORMAT ": %" G_GSIZE_FORMAT " samples (%" G_GSIZE_FORMAT " labelled) in %d classes\n",
           report.run_id, report.n_samples, report.n_labelled, report.n_classes);
  g_print ("Out-of-sample accuracy %.3f, macro-F1 %.3f (against the current labels)\n",
           report.accuracy, report.macro_f1);
  g_print ("Flagged %" G_GSIZE_FORMAT " likely mislabelled; %" G_GSIZE_FORMAT " suggestions"
           " (see `curator issues`)\n", report.n_label_issues, report.n_suggestions);
  if (report.rounds > 1)
    g_print ("Self-training: %d rounds, %" G_GSIZE_FORMAT " confident suggestions trained on in the last\n",
             report.rounds, report.n_pseudo_labels);
  g_print ("Features: %d dimensions, %" G_GSIZE_FORMAT " computed, %" G_GSIZE_FORMAT " from the cache%s\n",
           report.n_dims, report.n_features_computed, report.n_features_cached,
           report.dictionary_cached ? "; dictionary from the cache" : "");
  g_print ("Time: %.1f s (load %.1f, dictionary %.1f, features %.1f, classifier %.1f, issues %.1f, store %.1f)\n",
           report.seconds_total, report.seconds_load, report.seconds_dictionary,
           report.seconds_features, report.seconds_classifier, report.seconds_issues,
           report.seconds_store);

out:
  cli_common_clear (&common);
  return code;
}

int
cli_cmd_runs (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- list analysis runs");
  CliCommon common = { 0 };
  g_autoptr(CuratorDb) db = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) runs = NULL;
  int code = CLI_EXIT_OK;

  if (!cli_parse (context, NULL, &common, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc != 1)
    {
      code = cli_usage (context, "runs takes no arguments");
      goto out;
    }
  db = cli_open_project (&common, FALSE, &code);
  if (db == NULL)
    goto out;
  runs = curator_db_list_runs (db, &error);
  if (runs == NULL)
    {
      code = cli_fail (error);
      goto out;
    }

  if (common.json)
    {
      g_autoptr(GString) text = g_string_new ("[");

      for (guint i = 0; i < runs->len; i++)
        {
          CuratorDbRun *r = g_ptr_array_index (runs, i);

          g_string_append_printf (text, "%s{\"id\":%" G_GINT64_FORMAT ",\"status\":\"%s\","
                                  "\"started_us\":%" G_GINT64_FORMAT ",\"finished_us\":%" G_GINT64_FORMAT ","
                                  "\"params\":%s,\"versions\":%s,\"timings\":%s,\"metrics\":%s}",
                                  i ? "," : "", r->id, r->status, r->started_us, r->finished_us,
                                  r->params_json ? r->params_json : "null", r->versions_json ? r->versions_json : "null",
                                  r->timings_json ? r->timings_json : "null", r->metrics_json ? r->metrics_json : "null");
        }
      g_string_append (text, "]");
      {
        g_autoptr(JsonNode) node = json_from_string (text->str, &error);

        if (node == NULL)
          {
            code = cli_fail (error);
            goto out;
          }
        cli_print_json (node);
      }
      goto out;
    }

  if (runs->len == 0)
    g_print ("No analysis yet: run `curator analyze`\n");
  for (guint i = 0; i < runs->len; i++)
    {
      CuratorDbRun *r = g_ptr_array_index (runs, i);
      g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (r->started_us / G_USEC_PER_SEC);
      g_autofree char *started = when ? g_date_time_format (when, "%Y-%m-%d %H:%M") : g_strdup ("?");
      g_autoptr(JsonNode) metrics = r->metrics_json ? json_from_string (r->metrics_json, NULL) : NULL;
      JsonObject *m = metrics && JSON_NODE_HOLDS_OBJECT (metrics) ? json_node_get_object (metrics) : NULL;

      g_print ("%4" G_GINT64_FORMAT "  %s  %-9s", r->id, started, r->status);
      if (r->finished_us > 0)
        g_print ("  %6.1f s", (r->finished_us - r->started_us) / 1e6);
      if (m != NULL && json_object_has_member (m, "accuracy"))
        g_print ("  %" G_GINT64_FORMAT " samples  accuracy %.3f  macro-F1 %.3f",
                 json_object_get_int_member (m, "samples"),
                 json_object_get_double_member (m, "accuracy"),
                 json_object_get_double_member (m, "macro_f1"));
      g_print ("\n");
    }

out:
  cli_common_clear (&common);
  return code;
}

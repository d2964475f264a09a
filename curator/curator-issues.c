/* curator-issues.c: one run's issues, per sample and per class (the method
 * is described in the header).
 *
 * Measured on the CIFAR-10 practice sets (run 1 of `curator analyze` at
 * commit 8b064ff, classifier accuracy 0.677 against the truth; defaults
 * otherwise: prune_by_noise_rate, self_confidence, k = 10, 128 standardised
 * PCA dimensions whitened to the power 0.5):
 *
 *                         noisy20 (10,000, 19.6% wrong)     clean     long tail (3,405)
 *   knn_weight, gate      F1     P      R      AUROC  P@500  flagged   F1     AUROC
 *   0,   none             0.638  0.516  0.835  0.918  0.946  14.0%     0.502  0.899
 *   0.3, none             0.662  0.552  0.828  0.920  0.936  15.2%     0.557  0.917
 *   0,   p_given < 0.07   0.669  0.753  0.603  0.918  0.946   7.0%     0.623  0.899
 *   0.3, p_given < 0.07   0.668  0.794  0.577  0.920  0.936   4.5%     0.657  0.917
 *
 * The vote helps most where the classifier is weakest (long tail, clean set
 * with the gate); the neighbours alone agree with the true class for 58.8%
 * of samples (the classifier 67.7%). Suggestions on flagged true errors are
 * right 76% of the time (noisy20), 75% (long tail). */
#include "curator-config.h"

#include <math.h>
#include <string.h>

#include "curator-duplicates.h"
#include "curator-error.h"
#include "curator-issues.h"

/* ---- names ------------------------------------------------------------------- */

static const char *const issue_names[CURATOR_ISSUE_N_BITS] = {
  "label", "outlier", "exact-duplicate", "near-duplicate", "duplicate-label-conflict",
  "dark", "overexposed", "blurry", "low-information", "odd-size", "odd-aspect", "grey-as-rgb",
  "minority", "unlabelled",
};

/* Quality check c is issue bit quality_bits[c]. */
static const guint32 quality_bits[CURATOR_QUALITY_N_CHECKS] = {
  CURATOR_ISSUE_DARK, CURATOR_ISSUE_OVEREXPOSED, CURATOR_ISSUE_BLURRY,
  CURATOR_ISSUE_LOW_INFORMATION, CURATOR_ISSUE_ODD_SIZE, CURATOR_ISSUE_ODD_ASPECT,
  CURATOR_ISSUE_GREY_AS_RGB,
};

const char *
curator_issue_to_string (CuratorIssue issue)
{
  for (int b = 0; b < CURATOR_ISSUE_N_BITS; b++)
    if ((guint32) issue == 1u << b)
      return issue_names[b];
  return NULL;
}

gboolean
curator_issue_mask_from_string (const char *name, guint32 *mask)
{
  g_return_val_if_fail (name != NULL && mask != NULL, FALSE);

  if (strcmp (name, "label") == 0)
    *mask = CURATOR_ISSUES_KIND_LABEL;
  else if (strcmp (name, "duplicate") == 0)
    *mask = CURATOR_ISSUES_KIND_DUPLICATE;
  else if (strcmp (name, "quality") == 0)
    *mask = CURATOR_ISSUES_KIND_QUALITY;
  else
    {
      for (int b = 0; b < CURATOR_ISSUE_N_BITS; b++)
        if (strcmp (name, issue_names[b]) == 0)
          {
            *mask = 1u << b;
            return TRUE;
          }
      return FALSE;
    }
  return TRUE;
}

char *
curator_issues_to_string (guint32 issues)
{
  GString *s = g_string_new (NULL);

  for (int b = 0; b < CURATOR_ISSUE_N_BITS; b++)
    if (issues & (1u << b))
      g_string_append_printf (s, "%s%s", s->len ? ", " : "", issue_names[b]);
  return g_string_free (s, FALSE);
}

void
curator_issues_options_init_default (CuratorIssuesOptions *o)
{
  memset (o, 0, sizeof *o);
  o->filter = CURATOR_CL_PRUNE_BY_NOISE_RATE;
  o->rank = CURATOR_CL_RANK_SELF_CONFIDENCE;
  o->knn_k = 10;
  o->knn_weight = 0.3;
  o->project_dims = 128;
  o->standardise = TRUE;
  o->whiten = 0.5;
  o->outlier_iqr = 1.7;
  o->near_duplicate_ratio = 0.1;
  o->phash_radius = CURATOR_PHASH_RADIUS_DEFAULT;
  o->minority_ratio = 0.5;
  o->confirmed_drop = 0.3;
  o->max_given_vs_chance = 0.7;
  curator_quality_thresholds_init_default (&o->quality);
  o->n_threads = 0;
  o->seed = 1;
}

void
curator_issues_result_free (CuratorIssuesResult *r)
{
  if (r == NULL)
    return;
  g_free (r->issues);
  g_free (r->label_quality);
  g_free (r->classifier_quality);
  g_free (r->knn_agreement);
  g_free (r->mixed_probs);
  g_free (r->suggested);
  g_free (r->suggestion_confidence);
  if (r->reasons != NULL)
    for (gsize i = 0; i < r->n_samples; i++)
      g_free (r->reasons[i]);
  g_free (r->reasons);
  g_free (r->outlier_score);
  g_free (r->duplicate_group);
  g_free (r->quality);
  g_clear_pointer (&r->knn, curator_knn_free);
  if (r->near_duplicate_pairs != NULL)
    g_array_unref (r->near_duplicate_pairs);
  g_clear_pointer (&r->cl, curator_cl_result_free);
  g_free (r->classes);
  g_free (r);
}

static double
seconds_since (gint64 start_us)
{
  return (g_get_monotonic_time () - start_us) / (double) G_USEC_PER_SEC;
}

static int
argmax_row (const double *p, guint k)
{
  int best = 0;

  for (guint c = 1; c < k; c++)
    if (p[c] > p[best])
      best = (int) c;
  return best;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* ---- duplicate groups: conflicts and consensus --------------------------------- */

/* For each group whose labelled members carry more than one label, marks
 * them all, and suggests the group's consensus to those labelled otherwise
 * (unless a label issue already brought a suggestion). The consensus is the
 * label a person chose when exactly one was chosen in the group, else the
 * most common label, ties to the larger summed p_mix. Verified members get
 * no suggestion: their label is trusted. */
static void
resolve_conflicts (CuratorIssuesResult *r, const CuratorIssuesInput *in)
{
  gsize n = r->n_samples;
  guint k = r->n_classes, n_groups = r->n_duplicate_groups;
  g_autofree gsize *start = g_new0 (gsize, n_groups + 2);
  g_autofree gsize *members = g_new (gsize, MAX (n, 1));
  g_autofree gsize *fill = NULL;
  g_autofree double *count = g_new (double, k);
  g_autofree double *mass = g_new (double, k);

  if (n_groups == 0)
    return;
  for (gsize i = 0; i < n; i++)
    start[r->duplicate_group[i] + 1]++;
  for (guint g = 1; g <= n_groups + 1; g++)
    start[g] += start[g - 1];
  fill = g_memdup2 (start, sizeof (gsize) * (n_groups + 2));
  for (gsize i = 0; i < n; i++)
    members[fill[r->duplicate_group[i]]++] = i;

  for (guint g = 1; g <= n_groups; g++)
    {
      gint first = -1, verified_label = -1;
      gboolean conflict = FALSE, several_verified = FALSE;
      int consensus = 0;
      double confidence = 0;
      gsize n_members = start[g + 1] - start[g];

      memset (count, 0, sizeof (double) * k);
      memset (mass, 0, sizeof (double) * k);
      for (gsize m = start[g]; m < start[g + 1]; m++)
        {
          gsize i = members[m];
          gint label = in->labels[i];

          for (guint c = 0; c < k; c++)
            mass[c] += r->mixed_probs[i * k + c];
          if (label < 0)
            continue;
          count[label] += 1;
          if (first < 0)
            first = label;
          else if (label != first)
            conflict = TRUE;
          if (in->verified != NULL && in->verified[i])
            {
              if (verified_label >= 0 && verified_label != label)
                several_verified = TRUE;
              verified_label = label;
            }
        }
      if (!conflict)
        continue;
      if (verified_label >= 0 && !several_verified)
        consensus = verified_label;
      else
        for (guint c = 1; c < k; c++)
          if (count[c] > count[consensus] || (count[c] == count[consensus] && mass[c] > mass[consensus]))
            consensus = (int) c;
      confidence = mass[consensus] / n_members;
      for (gsize m = start[g]; m < start[g + 1]; m++)
        {
          gsize i = members[m];

          if (in->labels[i] < 0)
            continue;
          r->issues[i] |= CURATOR_ISSUE_DUPLICATE_LABEL_CONFLICT;
          if (in->labels[i] != consensus && r->suggested[i] < 0 &&
              !(in->verified != NULL && in->verified[i]))
            {
              r->suggested[i] = consensus;
              r->suggestion_confidence[i] = confidence;
            }
        }
    }
}

/* ---- per class ------------------------------------------------------------------- */

static void
class_figures (CuratorIssuesResult *r, const CuratorIssuesInput *in, double minority_ratio)
{
  guint k = r->n_classes;
  g_autofree double *quality_sum = g_new0 (double, k);
  g_autofree double *sorted = g_new (double, k);
  double largest = 0, median;

  r->classes = g_new0 (CuratorIssuesClass, k);
  /* The estimated true count of a class is its count once every label
   * issue's suggestion is taken: noise flows from large classes into small
   * ones, so the given counts of the smallest classes are inflated (on the
   * long-tail practice set the rarest class has 104 labels for 50 true
   * members; this estimate says 58). Confident learning's own prior py
   * times the count is no good here: the class-balanced classifier
   * over-predicts rare classes, and py said 264. */
  for (gsize i = 0; i < r->n_samples; i++)
    {
      gint label = in->labels[i];

      if (label < 0)
        continue;
      r->classes[label].n_labelled++;
      quality_sum[label] += r->label_quality[i];
      if ((r->issues[i] & CURATOR_ISSUE_LABEL) && r->suggested[i] >= 0)
        {
          r->classes[label].n_label_issues++;
          r->classes[r->suggested[i]].n_estimated += 1;
        }
      else
        r->classes[label].n_estimated += 1;
    }
  for (guint c = 0; c < k; c++)
    {
      CuratorIssuesClass *klass = &r->classes[c];

      klass->mean_label_quality = klass->n_labelled > 0 ? quality_sum[c] / klass->n_labelled : NAN;
      sorted[c] = klass->n_estimated;
      largest = MAX (largest, klass->n_estimated);
    }
  qsort (sorted, k, sizeof (double), compare_double);
  median = k % 2 ? sorted[k / 2] : 0.5 * (sorted[k / 2 - 1] + sorted[k / 2]);
  for (guint c = 0; c < k; c++)
    {
      CuratorIssuesClass *klass = &r->classes[c];

      klass->ratio_to_largest = largest > 0 ? klass->n_estimated / largest : NAN;
      klass->ratio_to_median = median > 0 ? klass->n_estimated / median : NAN;
      klass->minority = median > 0 && klass->ratio_to_median < minority_ratio;
    }
  for (gsize i = 0; i < r->n_samples; i++)
    if (in->labels[i] >= 0 && r->classes[in->labels[i]].minority)
      r->issues[i] |= CURATOR_ISSUE_MINORITY;
}

/* ---- reasons --------------------------------------------------------------------- */

static const char *
class_name (const CuratorIssuesInput *in, int c)
{
  return in->class_names != NULL && in->class_names[c] != NULL ? in->class_names[c] : "?";
}

static void
separate (GString *s)
{
  if (s->len > 0)
    g_string_append (s, "; ");
}

/* "the classifier gives 'dog' 0.93 and 'cat' 0.02; 8 of its 10 nearest
 * neighbours are labelled 'dog', 1 'cat'" */
static void
describe_label (GString *s, const CuratorIssuesResult *r, const CuratorIssuesInput *in, gsize i,
                int suggested, const guint *n_per_class)
{
  guint k = r->n_classes;
  const float *p = in->probs + i * k;
  gint label = in->labels[i];
  int top = 0;

  for (guint c = 1; c < k; c++)
    if (p[c] > p[top])
      top = (int) c;
  separate (s);
  g_string_append_printf (s, "the classifier gives '%s' %.2f", class_name (in, top), p[top]);
  if (suggested >= 0 && suggested != top)
    g_string_append_printf (s, ", '%s' %.2f", class_name (in, suggested), p[suggested]);
  if (label >= 0 && label != top)
    g_string_append_printf (s, " and '%s' %.2f", class_name (in, label), p[label]);

  if (r->knn != NULL && n_per_class != NULL && r->knn->k > 0)
    {
      guint voters = 0;
      int most = 0;

      for (guint c = 0; c < k; c++)
        {
          voters += n_per_class[c];
          if (n_per_class[c] > n_per_class[most])
            most = (int) c;
        }
      separate (s);
      if (voters == 0)
        g_string_append_printf (s, "none of its %u nearest neighbours is labelled", r->knn->k);
      else
        {
          int lead = suggested >= 0 && n_per_class[suggested] > 0 ? suggested : most;

          g_string_append_printf (s, "%u of its %u nearest neighbours %s labelled '%s'",
                                  n_per_class[lead], r->knn->k, n_per_class[lead] == 1 ? "is" : "are",
                                  class_name (in, lead));
          if (label >= 0 && label != lead)
            g_string_append_printf (s, ", %u '%s'", n_per_class[label], class_name (in, label));
        }
    }
}

static void
build_reasons (CuratorIssuesResult *r, const CuratorIssuesInput *in, const CuratorIssuesOptions *o,
               const gsize *group_size)
{
  guint k = r->n_classes;
  g_autofree guint *n_per_class = g_new (guint, k);

  r->reasons = g_new0 (char *, MAX (r->n_samples, 1));
  for (gsize i = 0; i < r->n_samples; i++)
    {
      guint32 issues = r->issues[i];
      g_autoptr(GString) s = NULL;
      gint label = in->labels[i];

      if (issues == 0)
        continue;
      s = g_string_new (NULL);
      memset (n_per_class, 0, sizeof (guint) * k);
      if (r->knn != NULL)
        for (guint m = 0; m < r->knn->k; m++)
          {
            gint l = in->labels[r->knn->neighbours[i * r->knn->k + m]];
            if (l >= 0)
              n_per_class[l]++;
          }

      if (issues & CURATOR_ISSUE_UNLABELLED)
        {
          g_string_append (s, "unlabelled");
          describe_label (s, r, in, i, r->suggested[i], n_per_class);
        }
      if (issues & CURATOR_ISSUE_LABEL)
        {
          if (in->verified != NULL && in->verified[i] && in->reference_p_label != NULL)
            g_string_append_printf (s, "decided by a person, but the classifier's probability of '%s' "
                                    "fell from %.2f to %.2f", class_name (in, label),
                                    in->reference_p_label[i], in->probs[i * k + label]);
          describe_label (s, r, in, i, r->suggested[i], n_per_class);
        }
      if (issues & CURATOR_ISSUE_DUPLICATE_LABEL_CONFLICT)
        {
          separate (s);
          g_string_append_printf (s, "its duplicates (group %u) carry other labels", r->duplicate_group[i]);
          if (!(issues & CURATOR_ISSUE_LABEL) && r->suggested[i] >= 0)
            g_string_append_printf (s, "; the group agrees on '%s'", class_name (in, r->suggested[i]));
        }
      if (issues & (CURATOR_ISSUE_DUPLICATE | CURATOR_ISSUE_NEAR_DUPLICATE))
        {
          gsize others = group_size[r->duplicate_group[i]] - 1;

          separate (s);
          g_string_append_printf (s, "%s of %" G_GSIZE_FORMAT " other sample%s (group %u)",
                                  (issues & CURATOR_ISSUE_DUPLICATE) ? "exact copy" : "near duplicate",
                                  others, others == 1 ? "" : "s", r->duplicate_group[i]);
        }
      if (issues & CURATOR_ISSUE_OUTLIER)
        {
          separate (s);
          g_string_append_printf (s, "outlier: mean distance %.2f to its nearest neighbours "
                                  "(threshold %.2f)", r->outlier_score[i], r->outlier_threshold);
        }
      if (in->samples != NULL)
        for (int c = 0; c < CURATOR_QUALITY_N_CHECKS; c++)
          if (issues & quality_bits[c])
            {
              g_autofree char *phrase = curator_quality_describe (c, in->samples[i], &o->quality,
                                                                  &r->quality_context);
              separate (s);
              g_string_append (s, phrase);
            }
      if ((issues & CURATOR_ISSUE_MINORITY) && label >= 0)
        {
          separate (s);
          g_string_append_printf (s, "'%s' is a minority class (about %.0f samples, %.0f%% of the median class)",
                                  class_name (in, label), r->classes[label].n_estimated,
                                  100.0 * r->classes[label].ratio_to_median);
        }
      r->reasons[i] = g_string_free (g_steal_pointer (&s), FALSE);
    }
}

/* ---- how far to trust the label flags (formula in the header) ------------------- */

void
curator_issues_trust_estimate (const double       *p_label,
                               const double       *p_top,
                               const gboolean     *flagged,
                               gsize               n,
                               guint               k,
                               CuratorIssuesTrust *t)
{
  gsize n_agree = 0;
  double top_sum = 0, right_sum = 0, eps, denominator;

  g_return_if_fail (t != NULL && k >= 2);
  g_return_if_fail (n == 0 || (p_label != NULL && p_top != NULL && flagged != NULL));

  memset (t, 0, sizeof *t);
  t->n_classes = k;
  for (gsize i = 0; i < n; i++)
    {
      if (isnan (p_label[i]))
        continue;
      t->n_labelled++;
      top_sum += p_top[i];
      /* The given label is the most probable class (ties count for it, as
       * confident learning never flags those). */
      n_agree += p_label[i] >= p_top[i];
    }
  if (t->n_labelled == 0)
    {
      t->accuracy = t->confidence = t->noise_rate = t->precision = NAN;
      t->weak = TRUE;
      return;
    }
  t->accuracy = (double) n_agree / (double) t->n_labelled;
  t->confidence = top_sum / (double) t->n_labelled;
  denominator = t->confidence - (1.0 - t->confidence) / (k - 1);
  t->noise_rate = denominator > 0 ? CLAMP ((t->confidence - t->accuracy) / denominator, 0.0, 0.9) : 0.9;
  eps = t->noise_rate / (k - 1);

  for (gsize i = 0; i < n; i++)
    {
      double p, p_true, right;

      if (isnan (p_label[i]) || !flagged[i])
        continue;
      t->n_flagged++;
      p = p_label[i];
      p_true = MAX (0.0, (p - eps) / (1.0 - k * eps));
      right = p > 0 ? MIN (1.0, (1.0 - t->noise_rate) * p_true / p) : 0.0;
      right_sum += right;
    }
  t->precision = t->n_flagged > 0 ? 1.0 - right_sum / (double) t->n_flagged : NAN;
  t->weak = (t->n_flagged > 0 && t->precision < CURATOR_ISSUES_TRUST_MIN_PRECISION) ||
            t->confidence < CURATOR_ISSUES_TRUST_MIN_CONFIDENCE ||
            t->n_labelled < (gsize) CURATOR_ISSUES_TRUST_MIN_PER_CLASS * k;
}

char *
curator_issues_trust_describe (const CuratorIssuesTrust *t)
{
  GString *s = g_string_new (NULL);

  g_return_val_if_fail (t != NULL, NULL);

  if (t->n_labelled == 0)
    return g_string_free (s, FALSE);
  if (t->n_flagged > 0)
    g_string_append_printf (s, "Estimated precision of the %" G_GSIZE_FORMAT " label flag%s: %.0f%% "
                            "(about %.0f of them truly mislabelled)", t->n_flagged,
                            t->n_flagged == 1 ? "" : "s", 100.0 * t->precision,
                            t->precision * (double) t->n_flagged);
  else
    g_string_append (s, "No label flags");
  g_string_append_printf (s, "; the model agrees with %.0f%% of the given labels and claims %.0f%% "
                          "accuracy, which suggests about %.0f%% of the labels are wrong",
                          100.0 * t->accuracy, 100.0 * t->confidence, 100.0 * t->noise_rate);
  if (t->weak)
    {
      g_string_append (s, ".\nWarning: the model is too weak to vouch for these flags (");
      if (t->n_labelled < (gsize) CURATOR_ISSUES_TRUST_MIN_PER_CLASS * t->n_classes)
        g_string_append_printf (s, "only %" G_GSIZE_FORMAT " labelled samples for %u classes",
                                t->n_labelled, t->n_classes);
      else if (t->confidence < CURATOR_ISSUES_TRUST_MIN_CONFIDENCE)
        g_string_append_printf (s, "it expects to be right only %.0f%% of the time",
                                100.0 * t->confidence);
      else
        g_string_append (s, "fewer than half of the flags are likely real errors: most look like "
                         "the model's own confusions");
      g_string_append (s, "); check a sample of them by hand before accepting any in bulk");
    }
  g_string_append_c (s, '.');
  return g_string_free (s, FALSE);
}

static char *
trust_key (gint64 run_id)
{
  return g_strdup_printf ("issues-trust:%" G_GINT64_FORMAT, run_id);
}

static gboolean
trust_store (CuratorDb *db, gint64 run_id, const CuratorIssuesTrust *t, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *key = trust_key (run_id);
  g_autofree char *text = NULL;
  g_autoptr(GBytes) blob = NULL;
  gsize len = 0;

  g_key_file_set_uint64 (kf, "trust", "labelled", t->n_labelled);
  g_key_file_set_uint64 (kf, "trust", "flagged", t->n_flagged);
  g_key_file_set_integer (kf, "trust", "classes", (int) t->n_classes);
  g_key_file_set_double (kf, "trust", "accuracy", t->accuracy);
  g_key_file_set_double (kf, "trust", "confidence", t->confidence);
  g_key_file_set_double (kf, "trust", "noise_rate", t->noise_rate);
  g_key_file_set_double (kf, "trust", "precision", t->precision);
  g_key_file_set_boolean (kf, "trust", "weak", t->weak);
  text = g_key_file_to_data (kf, &len, NULL);
  blob = g_bytes_new_take (g_steal_pointer (&text), len);
  return curator_db_put_model (db, key, blob, error);
}

gboolean
curator_issues_trust_load (CuratorDb          *db,
                           gint64              run_id,
                           CuratorIssuesTrust *t,
                           GError            **error)
{
  g_autofree char *key = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  gsize len = 0;
  const char *data;

  g_return_val_if_fail (db != NULL && t != NULL, FALSE);

  key = trust_key (run_id);
  blob = curator_db_get_model (db, key, NULL, error);
  if (blob == NULL)
    {
      if (error == NULL || *error == NULL)
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                     "Run %" G_GINT64_FORMAT " has no trust estimate", run_id);
      return FALSE;
    }
  data = g_bytes_get_data (blob, &len);
  memset (t, 0, sizeof *t);
  if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &local_error))
    goto bad;
  t->n_labelled = g_key_file_get_uint64 (kf, "trust", "labelled", &local_error);
  if (local_error == NULL)
    t->n_flagged = g_key_file_get_uint64 (kf, "trust", "flagged", &local_error);
  if (local_error == NULL)
    t->n_classes = (guint) g_key_file_get_integer (kf, "trust", "classes", &local_error);
  if (local_error == NULL)
    t->accuracy = g_key_file_get_double (kf, "trust", "accuracy", &local_error);
  if (local_error == NULL)
    t->confidence = g_key_file_get_double (kf, "trust", "confidence", &local_error);
  if (local_error == NULL)
    t->noise_rate = g_key_file_get_double (kf, "trust", "noise_rate", &local_error);
  if (local_error == NULL)
    t->precision = g_key_file_get_double (kf, "trust", "precision", &local_error);
  if (local_error == NULL)
    t->weak = g_key_file_get_boolean (kf, "trust", "weak", &local_error);
  if (local_error == NULL)
    return TRUE;
bad:
  g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
               "Run %" G_GINT64_FORMAT "'s trust estimate is unreadable: %s", run_id, local_error->message);
  return FALSE;
}

void
curator_issues_trust_from_scores (CuratorDbScore *const *scores,
                                  gsize                  n,
                                  guint                  k,
                                  CuratorIssuesTrust    *t)
{
  g_autofree double *p_label = g_new (double, MAX (n, 1));
  g_autofree double *p_top = g_new (double, MAX (n, 1));
  g_autofree gboolean *flagged = g_new (gboolean, MAX (n, 1));

  g_return_if_fail (scores != NULL || n == 0);

  for (gsize i = 0; i < n; i++)
    {
      const CuratorDbScore *s = scores[i];
      double top = 0;

      for (int c = 0; c < s->n_probs; c++)
        top = MAX (top, (double) s->probs[c]);
      /* p_label was stored as a float's value: compare like with like. */
      p_label[i] = (s->issues & CURATOR_ISSUE_UNLABELLED) || s->n_probs == 0 ? NAN : s->p_label;
      p_top[i] = top;
      flagged[i] = (s->issues & CURATOR_ISSUE_LABEL) != 0;
    }
  curator_issues_trust_estimate (p_label, p_top, flagged, n, k, t);
}

/* ---- the analysis ---------------------------------------------------------------- */

CuratorIssuesResult *
curator_issues_analyze (const CuratorIssuesInput   *in,
                        const CuratorIssuesOptions *options,
                        GCancellable               *cancellable,
                        GError                    **error)
{
  g_autoptr(CuratorIssuesResult) r = NULL;
  CuratorIssuesOptions defaults;
  const CuratorIssuesOptions *o = options;
  g_autofree double *probs = NULL;
  g_autofree double *votes = NULL;
  g_autofree guint *n_voters = NULL;
  g_autofree guint32 *quality_flags = NULL;
  g_autofree gsize *group_size = NULL;
  g_autoptr(CuratorDuplicates) dups = NULL;
  gint64 t_start = g_get_monotonic_time (), t;
  gsize n;
  guint k;
  double w;

  g_return_val_if_fail (in != NULL, NULL);
  g_return_val_if_fail (in->n_classes >= 2, NULL);
  g_return_val_if_fail (in->n_samples == 0 || (in->probs != NULL && in->labels != NULL), NULL);
  g_return_val_if_fail (in->features == NULL || in->n_dims > 0, NULL);
  g_return_val_if_fail (in->n_samples < G_MAXUINT32, NULL);

  if (o == NULL)
    {
      curator_issues_options_init_default (&defaults);
      o = &defaults;
    }
  n = in->n_samples;
  k = in->n_classes;
  w = CLAMP (o->knn_weight, 0.0, 1.0);
  for (gsize i = 0; i < n; i++)
    g_return_val_if_fail (in->labels[i] < (gint) k, NULL);

  r = g_new0 (CuratorIssuesResult, 1);
  r->n_samples = n;
  r->n_classes = k;
  r->issues = g_new0 (guint32, MAX (n, 1));
  r->label_quality = g_new (double, MAX (n, 1));
  r->classifier_quality = g_new (double, MAX (n, 1));
  r->knn_agreement = g_new (double, MAX (n, 1));
  r->mixed_probs = g_new (double, MAX (n * k, 1));
  r->suggested = g_new (gint, MAX (n, 1));
  r->suggestion_confidence = g_new0 (double, MAX (n, 1));
  r->outlier_score = g_new (double, MAX (n, 1));
  r->outlier_threshold = INFINITY;
  r->quality = g_new0 (float, MAX (n, 1) * CURATOR_QUALITY_N_CHECKS);
  quality_flags = g_new0 (guint32, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      r->suggested[i] = -1;
      r->knn_agreement[i] = NAN;
      r->outlier_score[i] = NAN;
    }

  if (n == 0)
    {
      /* Nothing to look at: an empty answer, not an error. */
      r->reasons = g_new0 (char *, 1);
      r->duplicate_group = g_new0 (guint, 1);
      r->classes = g_new0 (CuratorIssuesClass, k);
      r->near_duplicate_pairs = g_array_new (FALSE, FALSE, sizeof (guint32));
      for (guint c = 0; c < k; c++)
        r->classes[c].mean_label_quality = r->classes[c].ratio_to_largest =
          r->classes[c].ratio_to_median = NAN;
      curator_issues_trust_estimate (NULL, NULL, NULL, 0, k, &r->trust);
      return g_steal_pointer (&r);
    }

  if (in->samples != NULL)
    curator_quality_measure (in->samples, n, &o->quality, r->quality, quality_flags,
                             &r->quality_context);

  /* Neighbours: the caller's graph, or projected and built here. */
  if (in->knn != NULL && in->features != NULL && o->knn_k > 0 && n > 1)
    {
      g_return_val_if_fail (in->knn->n_samples == n && in->knn->k == MIN (o->knn_k, n - 1), NULL);
      r->knn = g_new0 (CuratorKnn, 1);
      r->knn->n_samples = n;
      r->knn->k = in->knn->k;
      r->knn->neighbours = g_memdup2 (in->knn->neighbours, sizeof (guint32) * MAX (n * in->knn->k, 1));
      r->knn->similarities = g_memdup2 (in->knn->similarities, sizeof (float) * MAX (n * in->knn->k, 1));
    }
  else if (in->features != NULL && o->knn_k > 0 && n > 1)
    {
      g_autofree float *projected = NULL;
      gsize dims = MIN ((gsize) MAX (o->project_dims, 1u), in->n_dims);

      t = g_get_monotonic_time ();
      if (o->project_dims > 0)
        projected = curator_pca_project (in->features, n, in->n_dims, dims, o->standardise,
                                         o->whiten, o->seed, cancellable, error);
      else
        {
          /* No projection asked: still centre (and scale), which cosine needs. */
          dims = in->n_dims;
          projected = curator_pca_project (in->features, n, in->n_dims, in->n_dims, o->standardise,
                                           0.0, o->seed, cancellable, error);
        }
      if (projected == NULL)
        return NULL;
      r->seconds_project = seconds_since (t);
      t = g_get_monotonic_time ();
      r->knn = curator_knn_new (projected, n, dims, o->knn_k, o->n_threads, cancellable, error);
      if (r->knn == NULL)
        return NULL;
      r->seconds_knn = seconds_since (t);
    }
  if (r->knn != NULL)
    {
      r->outlier_threshold = curator_knn_outlier_scores (r->knn, o->outlier_iqr, r->outlier_score);
      r->near_duplicate_pairs = curator_knn_near_duplicates (r->knn, o->near_duplicate_ratio,
                                                             &r->near_duplicate_distance);
    }
  else
    r->near_duplicate_pairs = g_array_new (FALSE, FALSE, sizeof (guint32));

  /* Duplicates. */
  {
    g_autofree const char **pixel_hashes = NULL;
    g_autofree guint64 *phashes = NULL;

    if (in->samples != NULL)
      {
        pixel_hashes = g_new (const char *, MAX (n, 1));
        phashes = g_new (guint64, MAX (n, 1));
        for (gsize i = 0; i < n; i++)
          {
            pixel_hashes[i] = in->samples[i]->pixel_hash;
            phashes[i] = in->samples[i]->status == CURATOR_SAMPLE_OK ? in->samples[i]->phash : 0;
          }
      }
    dups = curator_duplicates_find (pixel_hashes, phashes, n, in->samples != NULL ? o->phash_radius : -1,
                                    (const guint32 *) r->near_duplicate_pairs->data,
                                    r->near_duplicate_pairs->len / 2);
    r->duplicate_group = g_steal_pointer (&dups->group);
    r->n_duplicate_groups = dups->n_groups;
    group_size = g_new0 (gsize, r->n_duplicate_groups + 1);
    for (gsize i = 0; i < n; i++)
      group_size[r->duplicate_group[i]]++;
  }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* The neighbours' vote, without the votes of a sample's own duplicates. */
  if (r->knn != NULL)
    {
      votes = g_new (double, n * k);
      n_voters = g_new (guint, n);
      curator_knn_label_votes (r->knn, in->labels, r->duplicate_group, k, votes, n_voters);
    }

  /* p_mix, and confident learning on it. */
  probs = g_new (double, MAX (n * k, 1));
  for (gsize i = 0; i < n * k; i++)
    probs[i] = CLAMP ((double) in->probs[i], 0.0, 1.0);
  for (gsize i = 0; i < n; i++)
    {
      const double *p = probs + i * k;
      double *mix = r->mixed_probs + i * k;
      gboolean vote = votes != NULL && n_voters[i] > 0;

      for (guint c = 0; c < k; c++)
        mix[c] = vote ? (1.0 - w) * p[c] + w * votes[i * k + c] : p[c];
      if (vote && in->labels[i] >= 0)
        r->knn_agreement[i] = votes[i * k + in->labels[i]];
    }
  r->cl = curator_cl_analyze (in->labels, r->mixed_probs, n, k, o->filter, o->rank);
  if (r->cl == NULL ||
      !curator_cl_label_quality (in->labels, probs, n, k, o->rank, r->classifier_quality))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "Confident learning refused the probabilities (not finite or outside [0, 1])");
      return NULL;
    }
  memcpy (r->label_quality, r->cl->label_quality, sizeof (double) * n);

  /* Flags and suggestions. */
  for (gsize i = 0; i < n; i++)
    {
      gint label = in->labels[i];
      const double *mix = r->mixed_probs + i * k;

      if (label < 0)
        {
          int best = argmax_row (mix, k);

          r->issues[i] |= CURATOR_ISSUE_UNLABELLED;
          r->suggested[i] = best;
          r->suggestion_confidence[i] = mix[best];
        }
      else if (r->cl->is_issue[i] && mix[label] < o->max_given_vs_chance / k)
        {
          gboolean trusted = in->verified != NULL && in->verified[i];

          if (trusted && in->reference_p_label != NULL && isfinite (in->reference_p_label[i]) &&
              probs[i * k + label] < in->reference_p_label[i] - o->confirmed_drop)
            trusted = FALSE;
          if (!trusted)
            {
              double best_p = -1;
              int best = -1;

              /* The most probable other class: for the usual filters that
               * is the argmax, which is never the given label. */
              for (guint c = 0; c < k; c++)
                if ((gint) c != label && mix[c] > best_p)
                  {
                    best_p = mix[c];
                    best = (int) c;
                  }
              r->issues[i] |= CURATOR_ISSUE_LABEL;
              r->suggested[i] = best;
              r->suggestion_confidence[i] = best_p;
              r->n_label_issues++;
            }
        }
      if (isfinite (r->outlier_score[i]) && r->outlier_score[i] > r->outlier_threshold)
        r->issues[i] |= CURATOR_ISSUE_OUTLIER;
      if (dups->exact[i])
        r->issues[i] |= CURATOR_ISSUE_DUPLICATE;
      if (dups->near[i])
        r->issues[i] |= CURATOR_ISSUE_NEAR_DUPLICATE;
      for (int c = 0; c < CURATOR_QUALITY_N_CHECKS; c++)
        if (quality_flags[i] & (1u << c))
          r->issues[i] |= quality_bits[c];
    }
  r->n_cl_issues = r->cl->n_issues;

  {
    /* From the classifier's probabilities, not p_mix: the estimate reads
     * them as calibrated, which the neighbours' vote is not. */
    g_autofree double *p_label = g_new (double, n);
    g_autofree double *p_top = g_new (double, n);
    g_autofree gboolean *flagged = g_new (gboolean, n);

    for (gsize i = 0; i < n; i++)
      {
        const double *p = probs + i * k;

        p_top[i] = p[argmax_row (p, k)];
        p_label[i] = in->labels[i] >= 0 ? p[in->labels[i]] : NAN;
        flagged[i] = (r->issues[i] & CURATOR_ISSUE_LABEL) != 0;
      }
    curator_issues_trust_estimate (p_label, p_top, flagged, n, k, &r->trust);
  }

  resolve_conflicts (r, in);
  class_figures (r, in, o->minority_ratio);
  for (gsize i = 0; i < n; i++)
    if (r->suggested[i] >= 0)
      r->n_suggestions++;
  build_reasons (r, in, o, group_size);
  r->seconds_total = seconds_since (t_start);
  return g_steal_pointer (&r);
}

/* ---- with the project ------------------------------------------------------------ */

void
curator_issues_fill_score (const CuratorIssuesResult *r,
                           gsize                      i,
                           const gint64              *class_ids,
                           CuratorDbScore            *score)
{
  g_return_if_fail (r != NULL && i < r->n_samples && class_ids != NULL && score != NULL);

  score->suggested_label = r->suggested[i] >= 0 ? class_ids[r->suggested[i]] : 0;
  score->suggestion_confidence = r->suggested[i] >= 0 ? r->suggestion_confidence[i] : 0.0;
  score->label_quality = r->label_quality[i];
  score->issues = r->issues[i];
  score->outlier_score = r->outlier_score[i];
  score->duplicate_group = r->duplicate_group[i];
  g_free (score->reason);
  score->reason = g_strdup (r->reasons[i]);
}

gboolean
curator_issues_store (CuratorDb                 *db,
                      gint64                     run_id,
                      const gint64              *sample_ids,
                      const gint64              *class_ids,
                      const CuratorIssuesResult *r,
                      GError                   **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_run_class_free);
  guint k = r->n_classes;

  g_return_val_if_fail (db != NULL && r != NULL && class_ids != NULL, FALSE);
  g_return_val_if_fail (sample_ids != NULL || r->n_samples == 0, FALSE);

  if (!curator_db_begin (db, error))
    return FALSE;
  if (r->knn != NULL && r->knn->k > 0)
    {
      guint kn = r->knn->k;
      g_autofree gint64 *ids = g_new (gint64, r->n_samples * kn);

      for (gsize i = 0; i < r->n_samples * kn; i++)
        ids[i] = sample_ids[r->knn->neighbours[i]];
      if (!curator_db_put_neighbours (db, run_id, sample_ids, r->n_samples, ids,
                                      r->knn->similarities, (int) kn, error))
        {
          curator_db_rollback (db);
          return FALSE;
        }
    }
  for (guint c = 0; c < k; c++)
    {
      CuratorDbRunClass *row = curator_db_run_class_new ();
      const CuratorIssuesClass *klass = &r->classes[c];

      row->class_id = class_ids[c];
      row->n_labelled = (gint64) klass->n_labelled;
      row->n_label_issues = (gint64) klass->n_label_issues;
      row->n_estimated = klass->n_estimated;
      row->ratio_to_largest = klass->ratio_to_largest;
      row->ratio_to_median = klass->ratio_to_median;
      row->minority = klass->minority;
      row->mean_label_quality = klass->mean_label_quality;
      if (r->cl != NULL)
        {
          row->n_joint = (int) k;
          row->joint = g_new (float, k);
          for (guint j = 0; j < k; j++)
            row->joint[j] = (float) r->cl->confident_joint[c * k + j];
        }
      g_ptr_array_add (rows, row);
    }
  if (!curator_db_put_run_classes (db, run_id, (CuratorDbRunClass **) rows->pdata, rows->len, error) ||
      !trust_store (db, run_id, &r->trust, error))
    {
      curator_db_rollback (db);
      return FALSE;
    }
  return curator_db_commit (db, error);
}

gboolean
curator_issues_reference_p_label (CuratorDb              *db,
                                  CuratorDbSample *const *samples,
                                  gsize                   n_samples,
                                  gint64                  before_run_id,
                                  double                 *reference,
                                  GError                **error)
{
  g_autoptr(GPtrArray) runs = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GHashTable) decided_at = NULL;   /* sample id -> time of its latest decision */
  g_autoptr(GHashTable) reverted = NULL;     /* event ids reverted by active undos */

  g_return_val_if_fail (db != NULL && reference != NULL, FALSE);
  g_return_val_if_fail (samples != NULL || n_samples == 0, FALSE);

  for (gsize i = 0; i < n_samples; i++)
    reference[i] = NAN;
  runs = curator_db_list_runs (db, error);
  events = runs != NULL ? curator_db_list_events (db, 0, error) : NULL;
  if (events == NULL)
    return FALSE;

  /* Newest first: an event is active unless an active undo reverts it, and
   * an undo can only revert what came before it. */
  decided_at = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  reverted = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (guint e = events->len; e-- > 0;)
    {
      const CuratorDbEvent *ev = g_ptr_array_index (events, e);

      if (g_hash_table_contains (reverted, &ev->id))
        continue;
      if (ev->action == CURATOR_ACTION_UNDO)
        g_hash_table_add (reverted, g_memdup2 (&ev->reverts, sizeof (gint64)));
      else if ((ev->action == CURATOR_ACTION_RELABEL || ev->action == CURATOR_ACTION_ACCEPT ||
                ev->action == CURATOR_ACTION_CONFIRM) && ev->actor != CURATOR_ACTOR_MODEL &&
               !g_hash_table_contains (decided_at, &ev->sample_id))
        g_hash_table_insert (decided_at, g_memdup2 (&ev->sample_id, sizeof (gint64)),
                             g_memdup2 (&ev->time_us, sizeof (gint64)));
    }

  for (gsize i = 0; i < n_samples; i++)
    {
      const CuratorDbSample *s = samples[i];
      const gint64 *when;
      const CuratorDbRun *seen = NULL;
      g_autoptr(CuratorDbScore) score = NULL;
      g_autoptr(GError) local_error = NULL;

      if (!s->verified || s->current_label == 0)
        continue;
      when = g_hash_table_lookup (decided_at, &s->id);
      if (when == NULL)
        continue;
      for (guint r = 0; r < runs->len; r++)
        {
          const CuratorDbRun *run = g_ptr_array_index (runs, r);

          if (g_strcmp0 (run->status, "done") != 0 || run->finished_us > *when ||
              (before_run_id > 0 && run->id >= before_run_id))
            continue;
          if (seen == NULL || run->finished_us >= seen->finished_us)
            seen = run;
        }
      if (seen == NULL)
        continue;
      score = curator_db_get_score (db, seen->id, s->id, &local_error);
      if (score == NULL)
        {
          if (g_error_matches (local_error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND))
            continue;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      for (int c = 0; c < seen->n_classes && c < score->n_probs; c++)
        if (seen->class_ids[c] == s->current_label)
          reference[i] = score->probs[c];
    }
  return TRUE;
}

/* ---- measuring against the truth ------------------------------------------------ */

void
curator_issues_eval_free (CuratorIssuesEval *eval)
{
  if (eval == NULL)
    return;
  g_free (eval->class_samples);
  g_free (eval->class_errors);
  g_free (eval->class_flagged);
  g_free (eval->class_flagged_errors);
  g_free (eval);
}

typedef struct {
  double  key;    /* NaN sorts last */
  gsize   pos;
} Ranked;

static int
compare_ranked (gconstpointer a, gconstpointer b)
{
  const Ranked *x = a, *y = b;
  gboolean nx = isnan (x->key), ny = isnan (y->key);

  if (nx != ny)
    return nx ? 1 : -1;
  if (!nx && x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return (x->pos > y->pos) - (x->pos < y->pos);
}

static double
ratio (gsize a, gsize b)
{
  return b > 0 ? (double) a / (double) b : NAN;
}

CuratorIssuesEval *
curator_issues_evaluate (const gint     *labels,
                         const gint     *truth,
                         const gboolean *flagged,
                         const double   *quality,
                         const gint     *suggested,
                         const gint     *predicted,
                         gsize           n_samples,
                         guint           n_classes)
{
  static const gsize at[CURATOR_ISSUES_EVAL_N_AT] = { 100, 250, 500, 1000 };
  g_autoptr(CuratorIssuesEval) e = g_new0 (CuratorIssuesEval, 1);
  g_autofree Ranked *ranked = g_new (Ranked, MAX (n_samples, 1));
  g_autofree gsize *tp = g_new0 (gsize, n_classes);
  g_autofree gsize *pred_n = g_new0 (gsize, n_classes);
  g_autofree gsize *true_n = g_new0 (gsize, n_classes);
  gsize m = 0, n_correct = 0, n_suggest_right = 0, n_error_suggest_right = 0;
  double rank_sum = 0, f1_sum = 0;
  guint f1_classes = 0;

  g_return_val_if_fail (labels != NULL && truth != NULL && flagged != NULL && quality != NULL, NULL);

  e->n_classes = n_classes;
  e->class_samples = g_new0 (gsize, n_classes);
  e->class_errors = g_new0 (gsize, n_classes);
  e->class_flagged = g_new0 (gsize, n_classes);
  e->class_flagged_errors = g_new0 (gsize, n_classes);

  for (gsize i = 0; i < n_samples; i++)
    {
      gboolean wrong;

      if (labels[i] < 0 || truth[i] < 0 || labels[i] >= (gint) n_classes || truth[i] >= (gint) n_classes)
        continue;
      wrong = labels[i] != truth[i];
      e->n_samples++;
      e->class_samples[labels[i]]++;
      if (wrong)
        {
          e->n_errors++;
          e->class_errors[labels[i]]++;
        }
      if (flagged[i])
        {
          e->n_flagged++;
          e->class_flagged[labels[i]]++;
          if (wrong)
            {
              e->n_flagged_errors++;
              e->class_flagged_errors[labels[i]]++;
            }
          if (suggested != NULL && suggested[i] >= 0)
            {
              e->n_suggestions++;
              n_suggest_right += suggested[i] == truth[i];
              if (wrong)
                {
                  e->n_error_suggestions++;
                  n_error_suggest_right += suggested[i] == truth[i];
                }
            }
        }
      if (predicted != NULL && predicted[i] >= 0 && predicted[i] < (gint) n_classes)
        {
          pred_n[predicted[i]]++;
          true_n[truth[i]]++;
          if (predicted[i] == truth[i])
            {
              n_correct++;
              tp[truth[i]]++;
            }
        }
      else
        true_n[truth[i]]++;
      ranked[m].key = quality[i];
      ranked[m].pos = i;
      m++;
    }

  e->precision = ratio (e->n_flagged_errors, e->n_flagged);
  e->recall = ratio (e->n_flagged_errors, e->n_errors);
  e->f1 = e->n_flagged + e->n_errors > 0
          ? 2.0 * e->n_flagged_errors / (double) (e->n_flagged + e->n_errors) : NAN;
  e->suggestion_accuracy = ratio (n_suggest_right, e->n_suggestions);
  e->error_suggestion_accuracy = ratio (n_error_suggest_right, e->n_error_suggestions);

  /* Worst first; precision among the first N. */
  qsort (ranked, m, sizeof (Ranked), compare_ranked);
  for (int a = 0; a < CURATOR_ISSUES_EVAL_N_AT; a++)
    {
      gsize top = MIN (at[a], m), hits = 0;

      for (gsize r = 0; r < top; r++)
        hits += labels[ranked[r].pos] != truth[ranked[r].pos];
      e->at[a] = at[a];
      e->precision_at[a] = ratio (hits, top);
    }

  /* AUROC (Mann-Whitney): errors should have the lower quality. Ranks run
   * from the highest quality up, ties share their mean rank; NaN ranks as
   * the least suspicious, as in the sort above. */
  for (gsize r = 0; r < m;)
    {
      gsize end = r + 1;
      double mean_rank;

      while (end < m && compare_ranked (&(Ranked) { ranked[r].key, 0 }, &(Ranked) { ranked[end].key, 0 }) == 0)
        end++;
      /* ranked[] is ascending in quality: position r has rank m - r. */
      mean_rank = ((double) (m - r) + (double) (m - end + 1)) / 2.0;
      for (gsize q = r; q < end; q++)
        if (labels[ranked[q].pos] != truth[ranked[q].pos])
          rank_sum += mean_rank;
      r = end;
    }
  if (e->n_errors > 0 && e->n_errors < m)
    {
      double pos = (double) e->n_errors, neg = (double) (m - e->n_errors);
      e->auroc = (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
    }
  else
    e->auroc = NAN;

  if (predicted != NULL && m > 0)
    {
      e->accuracy = (double) n_correct / (double) m;
      for (guint c = 0; c < n_classes; c++)
        if (true_n[c] + pred_n[c] > 0)
          {
            f1_sum += 2.0 * tp[c] / (double) (true_n[c] + pred_n[c]);
            f1_classes++;
          }
      e->macro_f1 = f1_classes > 0 ? f1_sum / f1_classes : NAN;
    }
  else
    e->accuracy = e->macro_f1 = NAN;
  return g_steal_pointer (&e);
}

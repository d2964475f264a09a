/* curator-sample-model.c: see curator-sample-model.h.
 *
 * Storage: `infos` holds one CuratorSampleInfo per sample in id order;
 * `objects` runs parallel to it and is NULL until a view asks for that
 * sample; `visible` lists the indices into `infos` that pass the filter, in
 * sort order, and `position_of` is its inverse (G_MAXUINT = not shown). */
#include "curator-sample-model.h"

#include <string.h>

#if __has_include ("curator-issues.h")
#include "curator-issues.h"
#define HAVE_CURATOR_ISSUES 1
#endif

struct _CuratorSampleModel
{
  GObject parent_instance;

  /* owned */
  GPtrArray    *infos;        /* CuratorSampleInfo, by sample id */
  GPtrArray    *objects;      /* CuratorSampleObject or NULL, parallel to infos */
  GHashTable   *index_of_id;  /* sample id -> index + 1 in infos */
  GArray       *visible;      /* guint indices into infos, in list order */
  GArray       *position_of;  /* guint per info: its position in visible, or G_MAXUINT */
  GPtrArray    *classes;      /* CuratorDbClass */
  GHashTable   *minority;     /* class ids of minority classes (set) */
  GHashTable   *hash_counts;  /* pixel hash -> number of samples sharing it, while loading */
  CuratorDbRun *run;          /* latest finished run, or NULL */
  gboolean      run_has_suggestions;  /* the run wrote suggestions/issues itself */
  char         *search;

  CuratorSampleFilter filter;
  CuratorSampleSort   sort;
  gint64              class_id;
  gint64              pair_given;  /* noise-matrix cell, 0 = none */
  gint64              pair_true;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CuratorSampleModel, curator_sample_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum { SIGNAL_COUNTS_CHANGED, SIGNAL_REPLACING, N_SIGNALS };
static guint signals[N_SIGNALS];

const char *
curator_sample_filter_get_title (CuratorSampleFilter filter)
{
  switch (filter)
    {
    case CURATOR_SAMPLE_FILTER_ALL:        return "All samples";
    case CURATOR_SAMPLE_FILTER_FLAGGED:    return "Likely mislabelled";
    case CURATOR_SAMPLE_FILTER_SUGGESTED:  return "Has a suggestion";
    case CURATOR_SAMPLE_FILTER_OUTLIERS:   return "Outliers";
    case CURATOR_SAMPLE_FILTER_DUPLICATES: return "Duplicates";
    case CURATOR_SAMPLE_FILTER_QUALITY:    return "Image quality";
    case CURATOR_SAMPLE_FILTER_MINORITY:   return "Minority classes";
    case CURATOR_SAMPLE_FILTER_DECIDED:    return "Decided";
    case CURATOR_SAMPLE_FILTER_EXCLUDED:   return "Excluded";
    case CURATOR_SAMPLE_FILTER_CORRUPT:    return "Unreadable";
    case CURATOR_SAMPLE_N_FILTERS:
    default:
      g_return_val_if_reached ("");
    }
}

char *
curator_format_count (gint64 n)
{
  /* thin grouping for readability: 12 345 */
  g_autofree char *digits = g_strdup_printf ("%" G_GINT64_FORMAT, n);
  GString *out = g_string_new (NULL);
  gsize len = strlen (digits);

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0 && g_ascii_isdigit (digits[i]))
        g_string_append (out, "\u2009");
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

/* ---- GListModel ---------------------------------------------------------- */

static GType
model_get_item_type (GListModel *model)
{
  return CURATOR_TYPE_SAMPLE_OBJECT;
}

static guint
model_get_n_items (GListModel *model)
{
  return CURATOR_SAMPLE_MODEL (model)->visible->len;
}

static gpointer
model_get_item (GListModel *model, guint position)
{
  CuratorSampleObject *object = curator_sample_model_get_object (CURATOR_SAMPLE_MODEL (model), position);

  return object != NULL ? g_object_ref (object) : NULL;
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = model_get_item_type;
  iface->get_n_items = model_get_n_items;
  iface->get_item = model_get_item;
}

const CuratorSampleInfo *
curator_sample_model_lookup_info (CuratorSampleModel *self, gint64 sample_id)
{
  guint index_1;

  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), NULL);

  index_1 = GPOINTER_TO_UINT (g_hash_table_lookup (self->index_of_id, &sample_id));
  return index_1 > 0 ? g_ptr_array_index (self->infos, index_1 - 1) : NULL;
}

const CuratorSampleInfo *
curator_sample_model_peek_info (CuratorSampleModel *self, guint position)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), NULL);

  if (position >= self->visible->len)
    return NULL;
  return g_ptr_array_index (self->infos, g_array_index (self->visible, guint, position));
}

CuratorSampleObject *
curator_sample_model_get_object (CuratorSampleModel *self, guint position)
{
  guint index;

  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), NULL);

  if (position >= self->visible->len)
    return NULL;
  index = g_array_index (self->visible, guint, position);
  if (g_ptr_array_index (self->objects, index) == NULL)
    g_ptr_array_index (self->objects, index) = curator_sample_object_new (g_ptr_array_index (self->infos, index));
  return g_ptr_array_index (self->objects, index);
}

/* ---- derived facts -------------------------------------------------------- */

/* Issue bits of the run, when the analysis defines them, become badges. */
static CuratorBadges
badges_from_issues (guint32 issues)
{
  CuratorBadges badges = 0;

#ifdef HAVE_CURATOR_ISSUES
  if (issues & CURATOR_ISSUES_KIND_LABEL)
    badges |= CURATOR_BADGE_FLAGGED;
  if (issues & CURATOR_ISSUE_OUTLIER)
    badges |= CURATOR_BADGE_OUTLIER;
  if (issues & CURATOR_ISSUES_KIND_DUPLICATE)
    badges |= CURATOR_BADGE_DUPLICATE;
  if (issues & CURATOR_ISSUES_KIND_QUALITY)
    badges |= CURATOR_BADGE_QUALITY;
  if (issues & CURATOR_ISSUE_MINORITY)
    badges |= CURATOR_BADGE_MINORITY;
#endif
  return badges;
}

static void
derive_suggestion (CuratorSampleModel *self, CuratorSampleInfo *info)
{
  /* A run from before suggestions existed: the classifier's argmax, when it
   * disagrees with the current label, is the suggestion (cleanlab's
   * predicted_neq_given), with the classifier's probability as confidence. */
  if (self->run_has_suggestions || !info->has_score)
    return;
  if (info->predicted_label != 0 && info->predicted_label != info->current_label)
    {
      info->suggested_label = info->predicted_label;
      info->suggestion_confidence = info->p_predicted;
    }
  else
    {
      info->suggested_label = 0;
      info->suggestion_confidence = 0.0;
    }
}

static CuratorBadges
compute_badges (CuratorSampleModel *self, CuratorSampleInfo *info)
{
  CuratorBadges badges = badges_from_issues (info->issues);

  derive_suggestion (self, info);
  if (info->suggested_label != 0 && info->suggested_label != info->current_label)
    badges |= CURATOR_BADGE_SUGGESTED;
  if (info->verified)
    badges &= ~CURATOR_BADGE_FLAGGED;
  if (info->duplicate_group != 0)
    badges |= CURATOR_BADGE_DUPLICATE;
  if (info->has_twin)
    badges |= CURATOR_BADGE_DUPLICATE;
  if (info->verified)
    badges |= CURATOR_BADGE_DECIDED;
  if (info->excluded)
    badges |= CURATOR_BADGE_EXCLUDED;
  if (info->status != CURATOR_SAMPLE_OK)
    badges |= CURATOR_BADGE_CORRUPT;
  if (!self->run_has_suggestions && info->current_label != 0
      && g_hash_table_contains (self->minority, &info->current_label))
    badges |= CURATOR_BADGE_MINORITY;
  return badges;
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
compute_minority (CuratorSampleModel *self)
{
  g_autofree gint64 *counts = NULL;
  double median;
  guint n = self->classes->len;

  g_hash_table_remove_all (self->minority);
  if (n < 2)
    return;
  counts = g_new (gint64, n);
  for (guint i = 0; i < n; i++)
    counts[i] = ((CuratorDbClass *) g_ptr_array_index (self->classes, i))->n_current;
  qsort (counts, n, sizeof *counts, compare_gint64);
  median = n % 2 ? counts[n / 2] : 0.5 * (counts[n / 2 - 1] + counts[n / 2]);
  for (guint i = 0; i < n; i++)
    {
      CuratorDbClass *klass = g_ptr_array_index (self->classes, i);

      if (klass->n_current < CURATOR_MINORITY_SHARE * median)
        g_hash_table_add (self->minority, g_memdup2 (&klass->id, sizeof klass->id));
    }
}

/* Recomputes every badge; emits ::changed for the objects whose badges moved. */
static void
update_all_badges (CuratorSampleModel *self, gboolean notify)
{
  for (guint i = 0; i < self->infos->len; i++)
    {
      CuratorSampleInfo *info = g_ptr_array_index (self->infos, i);
      CuratorBadges badges = compute_badges (self, info);

      if (badges != info->badges)
        {
          info->badges = badges;
          if (notify && g_ptr_array_index (self->objects, i) != NULL)
            curator_sample_object_changed (g_ptr_array_index (self->objects, i));
        }
    }
}

/* ---- filter and sort ------------------------------------------------------ */

static gboolean
matches_filter (const CuratorSampleInfo *info, CuratorSampleFilter filter)
{
  switch (filter)
    {
    case CURATOR_SAMPLE_FILTER_ALL:        return TRUE;
    case CURATOR_SAMPLE_FILTER_FLAGGED:    return (info->badges & CURATOR_BADGE_FLAGGED) != 0;
    case CURATOR_SAMPLE_FILTER_SUGGESTED:  return (info->badges & CURATOR_BADGE_SUGGESTED) != 0;
    case CURATOR_SAMPLE_FILTER_OUTLIERS:   return (info->badges & CURATOR_BADGE_OUTLIER) != 0;
    case CURATOR_SAMPLE_FILTER_DUPLICATES: return (info->badges & CURATOR_BADGE_DUPLICATE) != 0;
    case CURATOR_SAMPLE_FILTER_QUALITY:    return (info->badges & CURATOR_BADGE_QUALITY) != 0;
    case CURATOR_SAMPLE_FILTER_MINORITY:   return (info->badges & CURATOR_BADGE_MINORITY) != 0;
    case CURATOR_SAMPLE_FILTER_DECIDED:    return (info->badges & CURATOR_BADGE_DECIDED) != 0;
    case CURATOR_SAMPLE_FILTER_EXCLUDED:   return (info->badges & CURATOR_BADGE_EXCLUDED) != 0;
    case CURATOR_SAMPLE_FILTER_CORRUPT:    return (info->badges & CURATOR_BADGE_CORRUPT) != 0;
    case CURATOR_SAMPLE_N_FILTERS:
    default:
      return FALSE;
    }
}

/* The label the analysis believes: its suggestion, else the given label. */
static gint64
estimated_true_label (const CuratorSampleInfo *info)
{
  return (info->badges & CURATOR_BADGE_SUGGESTED) ? info->suggested_label : info->given_label;
}

static gboolean
matches (CuratorSampleModel *self, const CuratorSampleInfo *info)
{
  if (self->pair_given != 0
      && (info->given_label != self->pair_given || estimated_true_label (info) != self->pair_true
          || info->status != CURATOR_SAMPLE_OK || info->excluded))
    return FALSE;
  if (!matches_filter (info, self->filter))
    return FALSE;
  if (self->class_id > 0 && info->current_label != self->class_id)
    return FALSE;
  if (self->class_id < 0 && info->current_label != 0)
    return FALSE;
  if (self->search != NULL && strcasestr (info->path, self->search) == NULL)
    return FALSE;
  return TRUE;
}

static int
compare_positions (gconstpointer a, gconstpointer b, gpointer user_data)
{
  CuratorSampleModel *self = user_data;
  const CuratorSampleInfo *x = g_ptr_array_index (self->infos, *(const guint *) a);
  const CuratorSampleInfo *y = g_ptr_array_index (self->infos, *(const guint *) b);
  int r = 0;

  switch (self->sort)
    {
    case CURATOR_SAMPLE_SORT_LABEL_QUALITY:
      /* decided samples go after the undecided: the queue is what is left */
      if ((x->badges & CURATOR_BADGE_DECIDED) != (y->badges & CURATOR_BADGE_DECIDED))
        return (x->badges & CURATOR_BADGE_DECIDED) ? 1 : -1;
      if (x->has_score != y->has_score)
        return x->has_score ? -1 : 1;
      r = (x->label_quality > y->label_quality) - (x->label_quality < y->label_quality);
      break;
    case CURATOR_SAMPLE_SORT_CONFIDENCE:
      {
        gboolean xs = (x->badges & CURATOR_BADGE_SUGGESTED) != 0;
        gboolean ys = (y->badges & CURATOR_BADGE_SUGGESTED) != 0;

        if (xs != ys)
          return xs ? -1 : 1;
        r = (x->suggestion_confidence < y->suggestion_confidence)
            - (x->suggestion_confidence > y->suggestion_confidence);
      }
      break;
    case CURATOR_SAMPLE_SORT_FILE_NAME:
      r = strcmp (x->file_name, y->file_name);
      if (r == 0)
        r = strcmp (x->path, y->path);
      break;
    case CURATOR_SAMPLE_N_SORTS:
    default:
      break;
    }
  if (r == 0)
    r = (x->id > y->id) - (x->id < y->id);
  return r;
}

static void
apply (CuratorSampleModel *self)
{
  guint old_n = self->visible->len;

  g_signal_emit (self, signals[SIGNAL_REPLACING], 0);

  g_array_set_size (self->visible, 0);
  for (guint i = 0; i < self->infos->len; i++)
    if (matches (self, g_ptr_array_index (self->infos, i)))
      g_array_append_val (self->visible, i);
  g_array_sort_with_data (self->visible, compare_positions, self);

  g_array_set_size (self->position_of, self->infos->len);
  if (self->infos->len > 0)
    memset (self->position_of->data, 0xff, sizeof (guint) * self->infos->len);
  for (guint p = 0; p < self->visible->len; p++)
    g_array_index (self->position_of, guint, g_array_index (self->visible, guint, p)) = p;

  if (old_n > 0 || self->visible->len > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, old_n, self->visible->len);
}

/* ---- loading -------------------------------------------------------------- */

static void
reset_storage (CuratorSampleModel *self)
{
  g_ptr_array_set_size (self->objects, 0);
  g_ptr_array_set_size (self->infos, 0);
  g_hash_table_remove_all (self->index_of_id);
  g_clear_pointer (&self->hash_counts, g_hash_table_unref);
  g_clear_pointer (&self->run, curator_db_run_free);
  g_ptr_array_set_size (self->classes, 0);
  g_hash_table_remove_all (self->minority);
  self->run_has_suggestions = FALSE;
}

static gboolean
load_classes (CuratorSampleModel *self, CuratorDb *db, GError **error)
{
  g_autoptr(GPtrArray) classes = curator_db_list_classes (db, error);

  if (classes == NULL)
    return FALSE;
  g_ptr_array_unref (self->classes);
  self->classes = g_steal_pointer (&classes);
  compute_minority (self);
  return TRUE;
}

gboolean
curator_sample_model_load (CuratorSampleModel *self, CuratorDb *db, GError **error)
{
  g_autoptr(GPtrArray) samples = NULL;
  g_autoptr(GPtrArray) scores = NULL;
  g_autoptr(GError) local_error = NULL;
  guint old_n = self->visible->len;
  gboolean has_quality = FALSE;

  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), FALSE);
  g_return_val_if_fail (db != NULL, FALSE);

  samples = curator_db_list_samples (db, NULL, error);
  if (samples == NULL)
    return FALSE;

  /* Items are new objects now: announce a full replacement. */
  g_signal_emit (self, signals[SIGNAL_REPLACING], 0);
  if (old_n > 0)
    {
      g_array_set_size (self->visible, 0);
      g_list_model_items_changed (G_LIST_MODEL (self), 0, old_n, 0);
    }
  reset_storage (self);
  if (!load_classes (self, db, error))
    return FALSE;

  self->run = curator_db_get_run (db, 0, &local_error);
  if (self->run == NULL && !g_error_matches (local_error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (self->run != NULL)
    {
      scores = curator_db_list_scores (db, self->run->id, error);
      if (scores == NULL)
        return FALSE;
    }

  self->hash_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Both lists are ordered by sample id: walk them together. */
  for (guint i = 0, j = 0; i < samples->len; i++)
    {
      CuratorDbSample *sample = g_ptr_array_index (samples, i);
      CuratorSampleInfo *info = curator_sample_info_new ();
      const CuratorDbScore *score = NULL;

      curator_sample_info_set_sample (info, sample);
      while (scores != NULL && j < scores->len
             && ((CuratorDbScore *) g_ptr_array_index (scores, j))->sample_id < sample->id)
        j++;
      if (scores != NULL && j < scores->len
          && ((CuratorDbScore *) g_ptr_array_index (scores, j))->sample_id == sample->id)
        score = g_ptr_array_index (scores, j);
      curator_sample_info_set_score (info, score);
      if (score != NULL && (score->suggested_label != 0 || score->issues != 0 || score->reason != NULL))
        self->run_has_suggestions = TRUE;
      if (score != NULL && score->label_quality != 0.0)
        has_quality = TRUE;

      g_ptr_array_add (self->infos, info);
      g_ptr_array_add (self->objects, NULL);
      g_hash_table_insert (self->index_of_id, g_memdup2 (&info->id, sizeof info->id),
                           GUINT_TO_POINTER (self->infos->len));
      if (info->pixel_hash != NULL)
        {
          gpointer key, value;

          if (g_hash_table_lookup_extended (self->hash_counts, info->pixel_hash, &key, &value))
            g_hash_table_insert (self->hash_counts, g_strdup (key),
                                 GUINT_TO_POINTER (GPOINTER_TO_UINT (value) + 1));
          else
            g_hash_table_insert (self->hash_counts, g_strdup (info->pixel_hash), GUINT_TO_POINTER (1));
        }
    }

  /* A run without label-quality scores of its own: the probability the
   * classifier gave the label is the quality (self-confidence ranking).
   * Exact duplicates are known once: pixels do not change until a reload. */
  for (guint i = 0; i < self->infos->len; i++)
    {
      CuratorSampleInfo *info = g_ptr_array_index (self->infos, i);

      info->has_twin = info->pixel_hash != NULL
                       && GPOINTER_TO_UINT (g_hash_table_lookup (self->hash_counts, info->pixel_hash)) > 1;

      if (info->has_score && !has_quality)
        info->label_quality = info->p_label;
    }
  g_clear_pointer (&self->hash_counts, g_hash_table_unref);
  update_all_badges (self, FALSE);
  apply (self);
  g_signal_emit (self, signals[SIGNAL_COUNTS_CHANGED], 0);
  return TRUE;
}

void
curator_sample_model_clear (CuratorSampleModel *self)
{
  guint old_n;

  g_return_if_fail (CURATOR_IS_SAMPLE_MODEL (self));

  old_n = self->visible->len;
  g_signal_emit (self, signals[SIGNAL_REPLACING], 0);
  g_array_set_size (self->visible, 0);
  g_array_set_size (self->position_of, 0);
  reset_storage (self);
  if (old_n > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, old_n, 0);
  g_signal_emit (self, signals[SIGNAL_COUNTS_CHANGED], 0);
}

gboolean
curator_sample_model_refresh_samples (CuratorSampleModel *self,
                                      CuratorDb          *db,
                                      const gint64       *ids,
                                      guint               n_ids,
                                      GError            **error)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), FALSE);
  g_return_val_if_fail (db != NULL, FALSE);

  for (guint k = 0; k < n_ids; k++)
    {
      guint index_1 = GPOINTER_TO_UINT (g_hash_table_lookup (self->index_of_id, &ids[k]));
      g_autoptr(CuratorDbSample) sample = NULL;
      CuratorSampleInfo *info;

      if (index_1 == 0)
        continue;
      sample = curator_db_get_sample (db, ids[k], error);
      if (sample == NULL)
        return FALSE;
      info = g_ptr_array_index (self->infos, index_1 - 1);
      curator_sample_info_set_sample (info, sample);
      /* force ::changed below even when the badges stay the same */
      info->badges = ~0u;
    }
  if (!load_classes (self, db, error))
    return FALSE;
  update_all_badges (self, TRUE);
  g_signal_emit (self, signals[SIGNAL_COUNTS_CHANGED], 0);
  return TRUE;
}

/* ---- settings ------------------------------------------------------------- */

void
curator_sample_model_set_filter (CuratorSampleModel *self, CuratorSampleFilter filter)
{
  g_return_if_fail (CURATOR_IS_SAMPLE_MODEL (self));
  g_return_if_fail (filter < CURATOR_SAMPLE_N_FILTERS);

  self->filter = filter;
  self->pair_given = self->pair_true = 0;
  apply (self);
}

CuratorSampleFilter
curator_sample_model_get_filter (CuratorSampleModel *self)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), CURATOR_SAMPLE_FILTER_ALL);
  return self->filter;
}

void
curator_sample_model_set_class (CuratorSampleModel *self, gint64 class_id)
{
  g_return_if_fail (CURATOR_IS_SAMPLE_MODEL (self));

  self->class_id = class_id;
  self->pair_given = self->pair_true = 0;
  apply (self);
}

gint64
curator_sample_model_get_class (CuratorSampleModel *self)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), 0);
  return self->class_id;
}

void
curator_sample_model_set_search (CuratorSampleModel *self, const char *text)
{
  g_return_if_fail (CURATOR_IS_SAMPLE_MODEL (self));

  if (text != NULL && *text == '\0')
    text = NULL;
  if (g_strcmp0 (text, self->search) == 0)
    return;
  g_free (self->search);
  self->search = g_strdup (text);
  apply (self);
}

void
curator_sample_model_set_sort (CuratorSampleModel *self, CuratorSampleSort sort)
{
  g_return_if_fail (CURATOR_IS_SAMPLE_MODEL (self));
  g_return_if_fail (sort < CURATOR_SAMPLE_N_SORTS);

  self->sort = sort;
  apply (self);
}

CuratorSampleSort
curator_sample_model_get_sort (CuratorSampleModel *self)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), CURATOR_SAMPLE_SORT_LABEL_QUALITY);
  return self->sort;
}

void
curator_sample_model_set_pair (CuratorSampleModel *self, gint64 given_label, gint64 true_label)
{
  g_return_if_fail (CURATOR_IS_SAMPLE_MODEL (self));

  self->pair_given = given_label;
  self->pair_true = true_label;
  apply (self);
}

guint *
curator_sample_model_count_pairs (CuratorSampleModel *self, guint *n_classes)
{
  g_autoptr(GHashTable) index_of_class = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, NULL);
  guint n, *counts;

  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), NULL);

  n = self->classes->len;
  for (guint c = 0; c < n; c++)
    {
      CuratorDbClass *klass = g_ptr_array_index (self->classes, c);
      g_hash_table_insert (index_of_class, &klass->id, GUINT_TO_POINTER (c + 1));
    }
  counts = g_new0 (guint, (gsize) MAX (n, 1) * MAX (n, 1));
  for (guint i = 0; i < self->infos->len; i++)
    {
      const CuratorSampleInfo *info = g_ptr_array_index (self->infos, i);
      gint64 estimated = estimated_true_label (info);
      guint row, col;

      if (info->status != CURATOR_SAMPLE_OK || info->excluded || info->given_label == 0 || estimated == 0)
        continue;
      row = GPOINTER_TO_UINT (g_hash_table_lookup (index_of_class, &info->given_label));
      col = GPOINTER_TO_UINT (g_hash_table_lookup (index_of_class, &estimated));
      if (row > 0 && col > 0)
        counts[(gsize) (row - 1) * n + (col - 1)]++;
    }
  if (n_classes != NULL)
    *n_classes = n;
  return counts;
}

void
curator_sample_model_refilter (CuratorSampleModel *self)
{
  g_return_if_fail (CURATOR_IS_SAMPLE_MODEL (self));
  apply (self);
}

/* ---- queries -------------------------------------------------------------- */

guint
curator_sample_model_count (CuratorSampleModel *self, CuratorSampleFilter filter)
{
  guint n = 0;

  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), 0);

  for (guint i = 0; i < self->infos->len; i++)
    n += matches_filter (g_ptr_array_index (self->infos, i), filter);
  return n;
}

guint
curator_sample_model_get_n_samples (CuratorSampleModel *self)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), 0);
  return self->infos->len;
}

GPtrArray *
curator_sample_model_get_classes (CuratorSampleModel *self)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), NULL);
  return self->classes;
}

const CuratorDbClass *
curator_sample_model_lookup_class (CuratorSampleModel *self, gint64 class_id)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), NULL);

  for (guint i = 0; i < self->classes->len; i++)
    {
      const CuratorDbClass *klass = g_ptr_array_index (self->classes, i);

      if (klass->id == class_id)
        return klass;
    }
  return NULL;
}

const char *
curator_sample_model_get_class_name (CuratorSampleModel *self, gint64 class_id)
{
  const CuratorDbClass *klass;

  if (class_id == 0)
    return "unlabelled";
  klass = curator_sample_model_lookup_class (self, class_id);
  return klass != NULL ? klass->name : "?";
}

gboolean
curator_sample_model_is_minority (CuratorSampleModel *self, gint64 class_id)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), FALSE);
  return g_hash_table_contains (self->minority, &class_id);
}

static gboolean
usable_hotkey (const char *key)
{
  return key != NULL && key[0] != '\0' && key[1] == '\0' && g_ascii_isalnum (key[0])
         && strchr (CURATOR_RESERVED_KEYS, g_ascii_tolower (key[0])) == NULL;
}

char *
curator_sample_model_dup_hotkey (CuratorSampleModel *self, const CuratorDbClass *klass)
{
  static const char digits[] = "1234567890";
  guint rank = 0;

  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), NULL);
  g_return_val_if_fail (klass != NULL, NULL);

  if (usable_hotkey (klass->hotkey))
    return g_ascii_strdown (klass->hotkey, -1);

  /* Rank among the classes without a hotkey of their own. */
  for (guint i = 0; i < self->classes->len; i++)
    {
      const CuratorDbClass *other = g_ptr_array_index (self->classes, i);

      if (other == klass)
        break;
      if (!usable_hotkey (other->hotkey))
        rank++;
    }
  if (rank < 10)
    return g_strndup (digits + rank, 1);
  rank -= 10;
  for (const char *p = CURATOR_CLASS_LETTERS; *p != '\0'; p++)
    {
      gboolean taken = FALSE;

      /* a letter another class claimed explicitly is skipped */
      for (guint i = 0; i < self->classes->len && !taken; i++)
        {
          const CuratorDbClass *other = g_ptr_array_index (self->classes, i);

          taken = usable_hotkey (other->hotkey) && g_ascii_tolower (other->hotkey[0]) == *p;
        }
      if (taken)
        continue;
      if (rank == 0)
        return g_strndup (p, 1);
      rank--;
    }
  return NULL;
}

gint64
curator_sample_model_class_for_hotkey (CuratorSampleModel *self, const char *key)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), 0);

  for (guint i = 0; i < self->classes->len; i++)
    {
      const CuratorDbClass *klass = g_ptr_array_index (self->classes, i);
      g_autofree char *hotkey = curator_sample_model_dup_hotkey (self, klass);

      if (hotkey != NULL && g_ascii_strcasecmp (hotkey, key) == 0)
        return klass->id;
    }
  return 0;
}

GPtrArray *
curator_sample_model_list_duplicates (CuratorSampleModel *self, const CuratorSampleInfo *info, guint max_n)
{
  GPtrArray *twins;

  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), NULL);
  g_return_val_if_fail (info != NULL, NULL);

  twins = g_ptr_array_new ();
  if (!(info->badges & CURATOR_BADGE_DUPLICATE))
    return twins;
  /* one pass over the records: a selection change, not a hot path */
  for (guint i = 0; i < self->infos->len && twins->len < max_n; i++)
    {
      CuratorSampleInfo *other = g_ptr_array_index (self->infos, i);

      if (other == info || other->id == info->id)
        continue;
      if ((info->has_twin && g_strcmp0 (other->pixel_hash, info->pixel_hash) == 0)
          || (info->duplicate_group != 0 && other->duplicate_group == info->duplicate_group))
        g_ptr_array_add (twins, other);
    }
  return twins;
}

const CuratorDbRun *
curator_sample_model_get_run (CuratorSampleModel *self)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), NULL);
  return self->run;
}

gboolean
curator_sample_model_find (CuratorSampleModel *self, gint64 sample_id, guint *position)
{
  guint index_1, p;

  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (self), FALSE);

  index_1 = GPOINTER_TO_UINT (g_hash_table_lookup (self->index_of_id, &sample_id));
  if (index_1 == 0 || index_1 - 1 >= self->position_of->len)
    return FALSE;
  p = g_array_index (self->position_of, guint, index_1 - 1);
  if (p == G_MAXUINT)
    return FALSE;
  if (position != NULL)
    *position = p;
  return TRUE;
}

/* ---- GObject -------------------------------------------------------------- */

static void
curator_sample_model_finalize (GObject *object)
{
  CuratorSampleModel *self = CURATOR_SAMPLE_MODEL (object);

  g_clear_pointer (&self->objects, g_ptr_array_unref);
  g_clear_pointer (&self->hash_counts, g_hash_table_unref);
  g_clear_pointer (&self->infos, g_ptr_array_unref);
  g_clear_pointer (&self->index_of_id, g_hash_table_unref);
  g_clear_pointer (&self->visible, g_array_unref);
  g_clear_pointer (&self->position_of, g_array_unref);
  g_clear_pointer (&self->classes, g_ptr_array_unref);
  g_clear_pointer (&self->minority, g_hash_table_unref);
  g_clear_pointer (&self->run, curator_db_run_free);
  g_clear_pointer (&self->search, g_free);
  G_OBJECT_CLASS (curator_sample_model_parent_class)->finalize (object);
}

static void
curator_sample_model_class_init (CuratorSampleModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = curator_sample_model_finalize;

  /* Class counts or badge counts may have changed (load, refresh, clear). */
  signals[SIGNAL_COUNTS_CHANGED] = g_signal_new ("counts-changed", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 0);
  /* The whole list is about to be replaced (filter, sort, load). A selection
   * model over this one should drop its selection first: GtkMultiSelection
   * (4.8) otherwise looks up every added item to carry the selection over,
   * which creates an object per sample. */
  signals[SIGNAL_REPLACING] = g_signal_new ("replacing", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 0);
}

/* Most slots of `objects` stay NULL; GPtrArray calls its free function on
 * every slot, NULL or not. */
static void
unref_if_created (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static void
curator_sample_model_init (CuratorSampleModel *self)
{
  self->infos = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_sample_info_unref);
  self->objects = g_ptr_array_new_with_free_func (unref_if_created);
  self->index_of_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->visible = g_array_new (FALSE, FALSE, sizeof (guint));
  self->position_of = g_array_new (FALSE, FALSE, sizeof (guint));
  self->classes = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_class_free);
  self->minority = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->filter = CURATOR_SAMPLE_FILTER_ALL;
  self->sort = CURATOR_SAMPLE_SORT_LABEL_QUALITY;
}

CuratorSampleModel *
curator_sample_model_new (void)
{
  return g_object_new (CURATOR_TYPE_SAMPLE_MODEL, NULL);
}

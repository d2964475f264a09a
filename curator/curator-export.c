/* curator-export.c: planning and writing an export (see curator-export.h).
 *
 * The file runs in the order the work does: names of things, options, the
 * pure split assignment, the plan (policies, duplicate groups, splits,
 * rebalancing, output names, leaks, noise, weights), then the writer (a
 * temporary folder filled with files, manifests and the card, renamed into
 * place) and the small JSON and CSV writers they share.
 *
 * JSON is written by hand rather than with json-glib: json-glib 1.6 prints
 * 0.1 as 0.10000000000000001 and passes invalid UTF-8 through, and the card
 * must be both readable and valid. */
#include "curator-config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "curator-cl.h"
#include "curator-duplicates.h"
#include "curator-export.h"
#include "curator-issues.h"
#include "curator-path.h"
#include "curator-plugins.h"

/* Longest stem of an output file or folder name, in bytes: leaves room in
 * the 255-byte component for "__rep123456", "~123456" and an extension. */
#define NAME_STEM_MAX_BYTES 200
#define NAME_EXT_MAX_BYTES  16

/* ---- names ---------------------------------------------------------------- */

static const char *const flagged_names[] = { "drop", "keep", "relabel-if-confident" };
static const char *const rebalance_names[] = { "none", "oversample", "undersample", "weights" };
static const char *const layout_names[] = { "imagefolder", "csv", "jsonl" };
static const char *const files_names[] = { "link", "symlink", "copy", "none" };
static const char *const drop_names[] = {
  "corrupt", "missing", "excluded", "unlabelled", "flagged", "not-confident", "undersampled",
};
static const char *const label_source_names[] = { "human", "accepted", "model", "relabel-if-confident" };
static const char *const target_names[] = { "default", "max", "median", "min", "count" };

G_STATIC_ASSERT (G_N_ELEMENTS (drop_names) == CURATOR_EXPORT_N_DROPS);

static const char *
name_of (const char *const *names, guint n, int value)
{
  return value >= 0 && (guint) value < n ? names[value] : NULL;
}

static gboolean
value_of (const char *const *names, guint n, const char *name, int *out)
{
  for (guint i = 0; name != NULL && i < n; i++)
    if (strcmp (names[i], name) == 0)
      {
        *out = (int) i;
        return TRUE;
      }
  return FALSE;
}

#define NAME_FUNCS(type, lower, table)                                           \
  const char *curator_export_##lower##_to_string (type value)                   \
  {                                                                              \
    return name_of (table, G_N_ELEMENTS (table), (int) value);                   \
  }                                                                              \
  gboolean curator_export_##lower##_from_string (const char *name, type *out)    \
  {                                                                              \
    int v;                                                                       \
    if (!value_of (table, G_N_ELEMENTS (table), name, &v))                       \
      return FALSE;                                                              \
    *out = (type) v;                                                             \
    return TRUE;                                                                 \
  }

NAME_FUNCS (CuratorExportFlagged, flagged, flagged_names)
NAME_FUNCS (CuratorExportRebalance, rebalance, rebalance_names)
NAME_FUNCS (CuratorExportLayout, layout, layout_names)
NAME_FUNCS (CuratorExportFiles, files, files_names)

const char *
curator_export_drop_to_string (CuratorExportDrop why)
{
  return name_of (drop_names, G_N_ELEMENTS (drop_names), (int) why);
}

const char *
curator_export_label_source_to_string (CuratorExportLabelSource source)
{
  return name_of (label_source_names, G_N_ELEMENTS (label_source_names), (int) source);
}

/* ---- options -------------------------------------------------------------- */

void
curator_export_options_init (CuratorExportOptions *options, const char *out)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->out = g_strdup (out);
  options->n_splits = 3;
  options->split_names[0] = g_strdup ("train");
  options->split_names[1] = g_strdup ("val");
  options->split_names[2] = g_strdup ("test");
  options->split_fractions[0] = 0.8;
  options->split_fractions[1] = 0.1;
  options->split_fractions[2] = 0.1;
  options->flagged = CURATOR_EXPORT_FLAGGED_DROP;
  options->rebalance = CURATOR_EXPORT_REBALANCE_NONE;
  options->target = CURATOR_EXPORT_TARGET_DEFAULT;
  options->layout = CURATOR_EXPORT_LAYOUT_IMAGEFOLDER;
  options->files = CURATOR_EXPORT_FILES_LINK;
  options->seed = 1;
  options->phash_radius = CURATOR_PHASH_RADIUS_DEFAULT;
  options->flag_mask = CURATOR_ISSUES_KIND_LABEL;
}

void
curator_export_options_clear (CuratorExportOptions *options)
{
  g_return_if_fail (options != NULL);

  g_clear_pointer (&options->out, g_free);
  g_clear_pointer (&options->exporter, g_free);
  for (guint s = 0; s < CURATOR_EXPORT_MAX_SPLITS; s++)
    g_clear_pointer (&options->split_names[s], g_free);
  options->n_splits = 0;
}

static void
options_copy (CuratorExportOptions *dest, const CuratorExportOptions *src)
{
  *dest = *src;
  dest->out = g_strdup (src->out);
  dest->exporter = g_strdup (src->exporter);
  for (guint s = 0; s < CURATOR_EXPORT_MAX_SPLITS; s++)
    dest->split_names[s] = s < src->n_splits ? g_strdup (src->split_names[s]) : NULL;
}

static gboolean
split_name_valid (const char *name)
{
  gsize n = strlen (name);

  if (n == 0 || n > 64 || name[0] == '.')
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.')
      return FALSE;
  return TRUE;
}

static gboolean
parse_fraction (const char *text, double *out)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text));
  char *end = NULL;
  double v;

  if (*trimmed == '\0')
    return FALSE;
  v = g_ascii_strtod (trimmed, &end);
  if (end == trimmed || *end != '\0' || !isfinite (v) || v <= 0)
    return FALSE;
  *out = v;
  return TRUE;
}

gboolean
curator_export_options_set_splits (CuratorExportOptions *options,
                                   const char           *text,
                                   GError              **error)
{
  static const char *const by_count[4][3] = {
    { NULL }, { "train" }, { "train", "test" }, { "train", "val", "test" },
  };
  g_auto(GStrv) parts = NULL;
  char *names[CURATOR_EXPORT_MAX_SPLITS] = { NULL };
  double fractions[CURATOR_EXPORT_MAX_SPLITS] = { 0 };
  gboolean named;
  guint n = 0;
  double sum = 0;

  g_return_val_if_fail (options != NULL, FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  named = strchr (text, '=') != NULL;
  parts = g_strsplit (text, named ? "," : "/", -1);
  n = g_strv_length (parts);
  if (n == 0 || n > CURATOR_EXPORT_MAX_SPLITS || (!named && n > 3))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   named ? "--split: give 1 to %d parts, e.g. train=0.8,val=0.1,test=0.1"
                         : "--split: give 1 to 3 numbers like 80/10/10, or name the parts "
                           "(train=0.7,val=0.1,test=0.1,holdout=0.1; at most %d)",
                   CURATOR_EXPORT_MAX_SPLITS);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      const char *value = parts[i];
      g_autofree char *name = NULL;

      if (named)
        {
          const char *eq = strchr (parts[i], '=');

          if (eq == NULL)
            {
              g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "--split: '%s' is not NAME=FRACTION", parts[i]);
              goto fail;
            }
          name = g_strstrip (g_strndup (parts[i], eq - parts[i]));
          value = eq + 1;
          if (!split_name_valid (name))
            {
              g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "--split: '%s' is not a usable split name (letters, digits, '-', '_', '.'; "
                           "not starting with '.')", name);
              goto fail;
            }
          for (guint j = 0; j < i; j++)
            if (g_ascii_strcasecmp (names[j], name) == 0)
              {
                g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                             "--split: the split '%s' is named twice", name);
                goto fail;
              }
        }
      else
        name = g_strdup (by_count[n][i]);
      if (!parse_fraction (value, &fractions[i]))
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "--split: '%s' is not a positive number", value);
          goto fail;
        }
      names[i] = g_steal_pointer (&name);
      sum += fractions[i];
    }

  for (guint s = 0; s < CURATOR_EXPORT_MAX_SPLITS; s++)
    {
      g_clear_pointer (&options->split_names[s], g_free);
      options->split_names[s] = names[s];
      options->split_fractions[s] = s < n ? fractions[s] / sum : 0;
    }
  options->n_splits = n;
  return TRUE;

fail:
  for (guint s = 0; s < CURATOR_EXPORT_MAX_SPLITS; s++)
    g_free (names[s]);
  return FALSE;
}

gboolean
curator_export_options_set_target (CuratorExportOptions *options,
                                   const char           *text,
                                   GError              **error)
{
  char *end = NULL;
  gint64 n;

  g_return_val_if_fail (options != NULL, FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  if (strcmp (text, "max") == 0)
    options->target = CURATOR_EXPORT_TARGET_MAX;
  else if (strcmp (text, "median") == 0)
    options->target = CURATOR_EXPORT_TARGET_MEDIAN;
  else if (strcmp (text, "min") == 0)
    options->target = CURATOR_EXPORT_TARGET_MIN;
  else
    {
      n = g_ascii_strtoll (text, &end, 10);
      if (end == text || *end != '\0' || n < 1)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "--target: '%s' is not max, median, min or a positive count", text);
          return FALSE;
        }
      options->target = CURATOR_EXPORT_TARGET_COUNT;
      options->target_count = n;
    }
  return TRUE;
}

/* ---- split assignment (pure) ------------------------------------------------ */

void
curator_export_split_targets (gint64        n_samples,
                              const double *fractions,
                              guint         n_splits,
                              gint64       *counts)
{
  double remainder[CURATOR_EXPORT_MAX_SPLITS];
  double sum = 0;
  gint64 assigned = 0;
  guint n_positive = 0;

  g_return_if_fail (n_splits >= 1 && n_splits <= CURATOR_EXPORT_MAX_SPLITS);
  g_return_if_fail (fractions != NULL && counts != NULL && n_samples >= 0);

  for (guint s = 0; s < n_splits; s++)
    if (fractions[s] > 0)
      {
        sum += fractions[s];
        n_positive++;
      }
  for (guint s = 0; s < n_splits; s++)
    {
      /* The epsilon keeps 10 x 0.7 = 6.9999999999999991 from rounding to 6. */
      double quota = fractions[s] > 0 ? (double) n_samples * fractions[s] / sum : 0;
      double whole = floor (quota + 1e-9);

      counts[s] = (gint64) whole;
      remainder[s] = fractions[s] > 0 ? quota - whole : -1.0;
      assigned += counts[s];
    }
  if (n_positive == 0)
    return;
  for (gint64 left = n_samples - assigned; left > 0; left--)
    {
      guint best = G_MAXUINT;

      for (guint s = 0; s < n_splits; s++)
        {
          if (fractions[s] <= 0)
            continue;
          if (best == G_MAXUINT || remainder[s] > remainder[best] + 1e-12 ||
              (fabs (remainder[s] - remainder[best]) <= 1e-12 && fractions[s] > fractions[best]))
            best = s;
        }
      counts[best]++;
      remainder[best] = -1.0;
    }

  /* Every class in every split when there are enough samples: a share
   * that rounds to nothing gets one, taken from the largest split. */
  if (n_samples >= (gint64) n_positive)
    for (guint s = 0; s < n_splits; s++)
      {
        guint largest = 0;

        if (fractions[s] <= 0 || counts[s] > 0)
          continue;
        for (guint t = 1; t < n_splits; t++)
          if (counts[t] > counts[largest])
            largest = t;
        if (counts[largest] <= 1)
          break;
        counts[largest]--;
        counts[s] = 1;
      }
}

typedef struct {
  guint   size;
  guint   first;      /* lowest member position */
  guint32 key;        /* random, from the seed */
  gsize   start;      /* into the member list */
} Unit;

static GRand *
rand_for (guint64 seed, guint32 stream)
{
  guint32 words[3] = { (guint32) seed, (guint32) (seed >> 32), stream };

  return g_rand_new_with_seed_array (words, 3);
}

static int
compare_units (gconstpointer a, gconstpointer b)
{
  const Unit *x = a, *y = b;
  gboolean gx = x->size > 1, gy = y->size > 1;

  if (gx != gy)
    return gx ? -1 : 1;
  if (x->size != y->size)
    return x->size > y->size ? -1 : 1;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->first < y->first ? -1 : (x->first > y->first);
}

static int
compare_gint (gconstpointer a, gconstpointer b)
{
  gint x = *(const gint *) a, y = *(const gint *) b;

  return x < y ? -1 : (x > y);
}

gboolean
curator_export_assign_splits (const gint   *labels,
                              const guint  *groups,
                              gsize         n_samples,
                              guint         n_classes,
                              const double *fractions,
                              guint         n_splits,
                              guint64       seed,
                              gint         *splits)
{
  g_autoptr(GHashTable) unit_of_group = NULL;
  g_autoptr(GArray) units = NULL;
  g_autofree guint *unit_of = NULL;
  g_autofree guint *members = NULL;
  g_autofree guint *fill = NULL;
  g_autofree gint64 *target = NULL;
  g_autofree gint64 *placed = NULL;
  g_autofree gint64 *n_free = NULL;
  g_autofree gint *unit_labels = NULL;
  g_autoptr(GRand) rand = NULL;
  gboolean any_positive = FALSE;

  g_return_val_if_fail (n_samples == 0 || (labels != NULL && splits != NULL), FALSE);
  g_return_val_if_fail (n_samples < G_MAXUINT, FALSE);
  g_return_val_if_fail (n_splits >= 1 && n_splits <= CURATOR_EXPORT_MAX_SPLITS, FALSE);
  g_return_val_if_fail (fractions != NULL, FALSE);
  for (guint s = 0; s < n_splits; s++)
    {
      g_return_val_if_fail (fractions[s] >= 0 && isfinite (fractions[s]), FALSE);
      any_positive = any_positive || fractions[s] > 0;
    }
  for (gsize i = 0; i < n_samples; i++)
    {
      g_return_val_if_fail (labels[i] >= 0 && (guint) labels[i] < n_classes, FALSE);
      g_return_val_if_fail (splits[i] >= -1 && splits[i] < (gint) n_splits, FALSE);
      g_return_val_if_fail (any_positive || splits[i] >= 0, FALSE);
    }
  if (n_samples == 0)
    return TRUE;

  /* Units: a group, or a sample in no group. */
  unit_of_group = g_hash_table_new (g_direct_hash, g_direct_equal);
  units = g_array_new (FALSE, TRUE, sizeof (Unit));
  unit_of = g_new (guint, n_samples);
  for (gsize i = 0; i < n_samples; i++)
    {
      guint g = groups != NULL ? groups[i] : 0;
      gpointer found;

      if (g != 0 && g_hash_table_lookup_extended (unit_of_group, GUINT_TO_POINTER (g), NULL, &found))
        unit_of[i] = GPOINTER_TO_UINT (found);
      else
        {
          Unit u = { 0, (guint) i, 0, 0 };

          unit_of[i] = units->len;
          g_array_append_val (units, u);
          if (g != 0)
            g_hash_table_insert (unit_of_group, GUINT_TO_POINTER (g), GUINT_TO_POINTER (unit_of[i]));
        }
      g_array_index (units, Unit, unit_of[i]).size++;
    }
  members = g_new (guint, n_samples);
  fill = g_new0 (guint, units->len);
  for (gsize u = 0, start = 0; u < units->len; u++)
    {
      g_array_index (units, Unit, u).start = start;
      start += g_array_index (units, Unit, u).size;
    }
  for (gsize i = 0; i < n_samples; i++)
    {
      Unit *u = &g_array_index (units, Unit, unit_of[i]);

      members[u->start + fill[unit_of[i]]++] = (guint) i;
    }

  /* Units with fixed members follow the split most of those have; their
   * free members join it. The rest are free units. */
  n_free = g_new0 (gint64, n_classes);
  for (guint u = 0; u < units->len; u++)
    {
      Unit *unit = &g_array_index (units, Unit, u);
      guint votes[CURATOR_EXPORT_MAX_SPLITS] = { 0 };
      gint chosen = -1;

      for (guint m = 0; m < unit->size; m++)
        {
          gint s = splits[members[unit->start + m]];

          if (s >= 0)
            votes[s]++;
        }
      for (guint s = 0; s < n_splits; s++)
        if (votes[s] > 0 && (chosen < 0 || votes[s] > votes[chosen]))
          chosen = (gint) s;
      if (chosen >= 0)
        {
          for (guint m = 0; m < unit->size; m++)
            if (splits[members[unit->start + m]] < 0)
              splits[members[unit->start + m]] = chosen;
          unit->size = 0;   /* placed */
        }
      else
        for (guint m = 0; m < unit->size; m++)
          n_free[labels[members[unit->start + m]]]++;
    }

  target = g_new0 (gint64, (gsize) n_classes * n_splits);
  placed = g_new0 (gint64, (gsize) n_classes * n_splits);
  for (guint k = 0; k < n_classes; k++)
    if (n_free[k] > 0)
      curator_export_split_targets (n_free[k], fractions, n_splits, target + (gsize) k * n_splits);

  /* Keys are drawn in the order of the units' first members, so they depend
   * only on the inputs and the seed. */
  rand = rand_for (seed, 0x5b1d);
  for (guint u = 0; u < units->len; u++)
    g_array_index (units, Unit, u).key = g_rand_int (rand);
  g_array_sort (units, compare_units);

  unit_labels = g_new (gint, n_samples);
  for (guint u = 0; u < units->len; u++)
    {
      const Unit *unit = &g_array_index (units, Unit, u);
      gint64 best_over = 0, best_need = 0;
      gint best = -1;

      if (unit->size == 0)
        continue;
      for (guint m = 0; m < unit->size; m++)
        unit_labels[m] = labels[members[unit->start + m]];
      if (unit->size > 1)
        qsort (unit_labels, unit->size, sizeof (gint), compare_gint);

      for (guint s = 0; s < n_splits; s++)
        {
          gint64 over = 0, need = 0;

          if (fractions[s] <= 0)
            continue;
          for (guint m = 0; m < unit->size;)
            {
              gint k = unit_labels[m];
              guint run = 0;
              gint64 left = target[(gsize) k * n_splits + s] - placed[(gsize) k * n_splits + s];

              while (m < unit->size && unit_labels[m] == k)
                {
                  run++;
                  m++;
                }
              over += MAX (0, (gint64) run - left);
              need += left;
            }
          if (best < 0 || over < best_over ||
              (over == best_over && need > best_need) ||
              (over == best_over && need == best_need && fractions[s] > fractions[best]))
            {
              best = (gint) s;
              best_over = over;
              best_need = need;
            }
        }
      for (guint m = 0; m < unit->size; m++)
        {
          guint i = members[unit->start + m];

          splits[i] = best;
          placed[(gsize) labels[i] * n_splits + best]++;
        }
    }
  return TRUE;
}

/* ---- JSON and CSV text ------------------------------------------------------ */

typedef struct {
  GString *out;
  guint    depth;
  gboolean need_comma;
  gboolean after_key;
} Jw;

static void
jw_escape (GString *out, const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);

  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) valid; *p != '\0'; p++)
    switch (*p)
      {
      case '"':  g_string_append (out, "\\\""); break;
      case '\\': g_string_append (out, "\\\\"); break;
      case '\n': g_string_append (out, "\\n"); break;
      case '\r': g_string_append (out, "\\r"); break;
      case '\t': g_string_append (out, "\\t"); break;
      default:
        if (*p < 0x20 || *p == 0x7f)
          g_string_append_printf (out, "\\u%04x", *p);
        else
          g_string_append_c (out, (char) *p);
      }
  g_string_append_c (out, '"');
}

static void
jw_prefix (Jw *w)
{
  if (w->after_key)
    {
      w->after_key = FALSE;
      return;
    }
  if (w->need_comma)
    g_string_append_c (w->out, ',');
  if (w->depth > 0)
    {
      g_string_append_c (w->out, '\n');
      for (guint i = 0; i < w->depth; i++)
        g_string_append (w->out, "  ");
    }
}

static void
jw_begin (Jw *w, char bracket)
{
  jw_prefix (w);
  g_string_append_c (w->out, bracket);
  w->depth++;
  w->need_comma = FALSE;
}

static void
jw_end (Jw *w, char bracket)
{
  w->depth--;
  if (w->need_comma)
    {
      g_string_append_c (w->out, '\n');
      for (guint i = 0; i < w->depth; i++)
        g_string_append (w->out, "  ");
    }
  g_string_append_c (w->out, bracket);
  w->need_comma = TRUE;
}

static void
jw_key (Jw *w, const char *key)
{
  jw_prefix (w);
  jw_escape (w->out, key);
  g_string_append (w->out, ": ");
  w->after_key = TRUE;
}

static void
jw_string (Jw *w, const char *value)
{
  jw_prefix (w);
  if (value != NULL)
    jw_escape (w->out, value);
  else
    g_string_append (w->out, "null");
  w->need_comma = TRUE;
}

static void
jw_int (Jw *w, gint64 value)
{
  jw_prefix (w);
  g_string_append_printf (w->out, "%" G_GINT64_FORMAT, value);
  w->need_comma = TRUE;
}

/* Shortest of %.15g and %.17g that reads back exactly; NaN is null. */
static void
format_double (GString *out, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }
  g_ascii_formatd (buf, sizeof buf, "%.15g", value);
  if (g_ascii_strtod (buf, NULL) != value)
    g_ascii_formatd (buf, sizeof buf, "%.17g", value);
  g_string_append (out, buf);
}

static void
jw_double (Jw *w, double value)
{
  jw_prefix (w);
  format_double (w->out, value);
  w->need_comma = TRUE;
}

static void
jw_bool (Jw *w, gboolean value)
{
  jw_prefix (w);
  g_string_append (w->out, value ? "true" : "false");
  w->need_comma = TRUE;
}

#define JW_STR(w, k, v)  G_STMT_START { jw_key (w, k); jw_string (w, v); } G_STMT_END
#define JW_INT(w, k, v)  G_STMT_START { jw_key (w, k); jw_int (w, v); } G_STMT_END
#define JW_DBL(w, k, v)  G_STMT_START { jw_key (w, k); jw_double (w, v); } G_STMT_END
#define JW_BOOL(w, k, v) G_STMT_START { jw_key (w, k); jw_bool (w, v); } G_STMT_END

/* One CSV field: quoted when it holds a separator, a quote, a line break or
 * space at either end (RFC 4180). */
static void
csv_field (GString *out, const char *text)
{
  gsize n = strlen (text);
  gboolean quote = n > 0 && (text[0] == ' ' || text[n - 1] == ' ');

  for (gsize i = 0; i < n && !quote; i++)
    quote = text[i] == ',' || text[i] == '"' || text[i] == '\n' || text[i] == '\r';
  if (!quote)
    {
      g_string_append (out, text);
      return;
    }
  g_string_append_c (out, '"');
  for (gsize i = 0; i < n; i++)
    {
      if (text[i] == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, text[i]);
    }
  g_string_append_c (out, '"');
}

/* Text for a Markdown table cell: valid UTF-8, no line breaks or control
 * characters, '|' escaped. */
static char *
md_cell (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  GString *out = g_string_new (NULL);

  for (const unsigned char *p = (const unsigned char *) valid; *p != '\0'; p++)
    {
      if (*p < 0x20 || *p == 0x7f)
        g_string_append_c (out, ' ');
      else if (*p == '|' || *p == '`' || *p == '*' || *p == '_' || *p == '<' || *p == '[')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) *p);
        }
      else
        g_string_append_c (out, (char) *p);
    }
  return g_string_free (out, FALSE);
}

/* ---- the plan --------------------------------------------------------------- */

static void
entry_clear (gpointer data)
{
  CuratorExportEntry *e = data;

  g_free (e->path);
  g_free (e->source);
  g_free (e->file);
}

static void
removal_clear (gpointer data)
{
  CuratorExportRemoval *r = data;

  g_free (r->path);
  g_free (r->detail);
}

static void
relabel_clear (gpointer data)
{
  g_free (((CuratorExportRelabel *) data)->path);
}

void
curator_export_plan_free (CuratorExportPlan *plan)
{
  if (plan == NULL)
    return;
  curator_export_options_clear (&plan->options);
  g_free (plan->project);
  g_free (plan->root);
  g_free (plan->project_time);
  for (guint k = 0; k < plan->n_classes; k++)
    {
      CuratorExportClass *c = &plan->classes[k];

      g_free (c->name);
      g_free (c->label);
      g_free (c->folder);
      g_free (c->n_given_by_source_split);
      g_free (c->n_samples);
      g_free (c->n_entries);
    }
  g_free (plan->classes);
  for (guint s = 0; s < plan->n_splits; s++)
    {
      g_free (plan->splits[s].name);
      g_free (plan->splits[s].folder);
    }
  g_free (plan->splits);
  g_strfreev (plan->source_splits);
  g_clear_pointer (&plan->entries, g_array_unref);
  g_clear_pointer (&plan->removals, g_array_unref);
  g_clear_pointer (&plan->relabels, g_array_unref);
  g_clear_pointer (&plan->leaks, g_array_unref);
  g_free (plan);
}

/* A name made unique inside one folder. Keys are case-folded so that the
 * export also unpacks onto case-insensitive file systems. */
static gboolean
name_taken (GHashTable *used, const char *name)
{
  g_autofree char *key = g_utf8_casefold (name, -1);

  return g_hash_table_contains (used, key);
}

static void
name_take (GHashTable *used, const char *name)
{
  g_hash_table_add (used, g_utf8_casefold (name, -1));
}

/* @stem + @infix + ("~N" when needed) + @ext, not yet in @used; also checks
 * @also_ext (e.g. ".csv") is free for the same stem when not NULL. */
static char *
unique_name (GHashTable *used, const char *stem, const char *infix, const char *ext,
             const char *also_ext)
{
  for (guint n = 1;; n++)
    {
      g_autofree char *suffix = n == 1 ? g_strdup ("") : g_strdup_printf ("~%u", n);
      g_autofree char *name = g_strconcat (stem, infix, suffix, ext, NULL);
      g_autofree char *other = also_ext != NULL ? g_strconcat (name, also_ext, NULL) : NULL;

      if (name_taken (used, name) || (other != NULL && name_taken (used, other)))
        continue;
      name_take (used, name);
      if (other != NULL)
        name_take (used, other);
      return g_steal_pointer (&name);
    }
}

/* Splits a source file name into a safe stem and a safe extension ("" or
 * ".ext"). */
static void
safe_file_parts (const char *path, char **stem, char **ext)
{
  const char *base = strrchr (path, '/');
  const char *dot;
  g_autofree char *raw_stem = NULL;

  base = base != NULL ? base + 1 : path;
  dot = strrchr (base, '.');
  if (dot != NULL && dot != base && dot[1] != '\0' && strlen (dot + 1) <= NAME_EXT_MAX_BYTES)
    {
      g_autofree char *e = curator_path_sanitize_component (dot + 1, NAME_EXT_MAX_BYTES);

      raw_stem = g_strndup (base, dot - base);
      *ext = g_strconcat (".", e, NULL);
    }
  else
    {
      raw_stem = g_strdup (base);
      *ext = g_strdup ("");
    }
  *stem = curator_path_sanitize_component (raw_stem, NAME_STEM_MAX_BYTES);
}

static char *
format_time_utc (gint64 time_us)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc (time_us / G_USEC_PER_SEC);

  return t != NULL ? g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const CuratorExportEntry *x = a, *y = b;
  int c;

  if (x->split != y->split)
    return x->split < y->split ? -1 : 1;
  if (x->klass != y->klass)
    return x->klass < y->klass ? -1 : 1;
  if (x->file != NULL && y->file != NULL && (c = strcmp (x->file, y->file)) != 0)
    return c;
  if (x->repeat != y->repeat)
    return x->repeat < y->repeat ? -1 : 1;
  if ((c = strcmp (x->path, y->path)) != 0)
    return c;
  return x->sample_id < y->sample_id ? -1 : (x->sample_id > y->sample_id);
}

static int
compare_removals (gconstpointer a, gconstpointer b)
{
  const CuratorExportRemoval *x = a, *y = b;

  if (x->sample_id != y->sample_id)
    return x->sample_id < y->sample_id ? -1 : 1;
  return (int) x->why - (int) y->why;
}

static int
compare_int64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : (x > y);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static gboolean
phash_usable (guint64 h)
{
  return __builtin_popcountll (h) >= CURATOR_PHASH_MIN_BITS;
}

/* What the planner keeps about each sample while it works. */
typedef struct {
  CuratorDbSample *sample;      /* borrowed from the list */
  CuratorDbScore  *score;       /* borrowed, NULL when not scored */
  gint             ok_index;    /* position among OK samples, -1 */
  gint             klass;       /* exported class index, -1 = not exported */
  gint             split;
  guint            group;       /* among exported, 0 = none */
  gint             scored_row;  /* row in the probability matrix, -1 */
} Item;

typedef struct {
  CuratorExportPlan *plan;
  CuratorDb         *db;
  GPtrArray         *samples;
  GHashTable        *class_index;  /* class id -> index + 1 */
  CuratorDbRun      *run;
  GHashTable        *scores;       /* sample id -> CuratorDbScore */
  GHashTable        *run_pos;      /* class id -> run position + 1 */
  Item              *items;
  gsize              n_items;
  /* the latest run's probabilities of the scored samples */
  gsize              n_scored;
  double            *probs;        /* [n_scored * run->n_classes] */
  gint              *scored_item;  /* [n_scored] item index */
  double            *thresholds;   /* [run->n_classes], NULL without */
} Planner;

static void
planner_clear (Planner *p)
{
  g_clear_pointer (&p->samples, g_ptr_array_unref);
  g_clear_pointer (&p->class_index, g_hash_table_unref);
  g_clear_pointer (&p->run, curator_db_run_free);
  g_clear_pointer (&p->scores, g_hash_table_unref);
  g_clear_pointer (&p->run_pos, g_hash_table_unref);
  g_clear_pointer (&p->items, g_free);
  g_clear_pointer (&p->probs, g_free);
  g_clear_pointer (&p->scored_item, g_free);
  g_clear_pointer (&p->thresholds, g_free);
}

static gint
class_index_of (Planner *p, gint64 class_id)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (p->class_index, &class_id)) - 1;
}

static gint
run_pos_of (Planner *p, gint64 class_id)
{
  if (p->run_pos == NULL)
    return -1;
  return GPOINTER_TO_INT (g_hash_table_lookup (p->run_pos, &class_id)) - 1;
}

static gboolean
load_classes (Planner *p, GError **error)
{
  CuratorExportPlan *plan = p->plan;
  g_autoptr(GPtrArray) classes = curator_db_list_classes (p->db, error);
  g_autoptr(GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (classes == NULL)
    return FALSE;
  /* The one name a class folder must not take: a split's metadata file. */
  if (plan->options.layout == CURATOR_EXPORT_LAYOUT_JSONL || g_strcmp0 (plan->options.exporter, "jsonl") == 0)
    name_take (used, "metadata.jsonl");
  p->class_index = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  plan->n_classes = classes->len;
  plan->classes = g_new0 (CuratorExportClass, MAX (classes->len, 1));
  for (guint k = 0; k < classes->len; k++)
    {
      const CuratorDbClass *dbk = g_ptr_array_index (classes, k);
      CuratorExportClass *c = &plan->classes[k];
      g_autofree char *stem = curator_path_sanitize_component (dbk->name, NAME_STEM_MAX_BYTES);

      c->class_id = dbk->id;
      c->name = g_strdup (dbk->name);
      c->label = g_utf8_make_valid (dbk->name, -1);
      c->folder = unique_name (used, stem, "", "", NULL);
      c->weight = c->weight_effective = c->noise = NAN;
      g_hash_table_insert (p->class_index, g_memdup2 (&dbk->id, sizeof dbk->id), GINT_TO_POINTER (k + 1));
    }
  return TRUE;
}

/* The latest finished run and its scores, attached to the items. */
static gboolean
load_run (Planner *p, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) scores = NULL;

  p->run = curator_db_get_run (p->db, 0, &local_error);
  if (p->run == NULL)
    {
      if (g_error_matches (local_error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND))
        return TRUE;   /* never analysed: plain export */
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  p->plan->run_id = p->run->id;
  scores = curator_db_list_scores (p->db, p->run->id, error);
  if (scores == NULL)
    return FALSE;
  p->scores = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                     (GDestroyNotify) curator_db_score_free);
  g_ptr_array_set_free_func (scores, NULL);
  for (guint i = 0; i < scores->len; i++)
    {
      CuratorDbScore *score = g_ptr_array_index (scores, i);

      g_hash_table_insert (p->scores, &score->sample_id, score);
    }
  p->run_pos = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (int j = 0; j < p->run->n_classes; j++)
    g_hash_table_insert (p->run_pos, g_memdup2 (&p->run->class_ids[j], sizeof (gint64)),
                         GINT_TO_POINTER (j + 1));
  for (gsize i = 0; i < p->n_items; i++)
    p->items[i].score = g_hash_table_lookup (p->scores, &p->items[i].sample->id);
  return TRUE;
}

/* The run's probabilities of the OK samples it scored, as a matrix, and the
 * per-class confident thresholds under the labels as they are now (a
 * person's corrections included: they are the best labels we have). */
static gboolean
load_probs (Planner *p, GError **error)
{
  guint k;
  gsize n_rows = 0;
  g_autofree gint *labels = NULL;

  for (gsize i = 0; i < p->n_items; i++)
    p->items[i].scored_row = -1;
  if (p->run == NULL || p->run->n_classes < 2)
    return TRUE;
  k = (guint) p->run->n_classes;
  /* Rows: OK samples with probabilities, in sample order. */
  p->probs = g_new (double, MAX (p->n_items, 1) * k);
  p->scored_item = g_new (gint, MAX (p->n_items, 1));
  labels = g_new (gint, MAX (p->n_items, 1));
  for (gsize i = 0; i < p->n_items; i++)
    {
      Item *item = &p->items[i];
      const CuratorDbSample *s = item->sample;
      gboolean finite = TRUE;

      if (item->score == NULL || item->score->n_probs != (int) k || s->status != CURATOR_SAMPLE_OK)
        continue;
      for (guint j = 0; j < k; j++)
        finite = finite && isfinite (item->score->probs[j]);
      if (!finite)
        continue;
      for (guint j = 0; j < k; j++)
        p->probs[n_rows * k + j] = CLAMP ((double) item->score->probs[j], 0.0, 1.0);
      labels[n_rows] = s->excluded ? -1 : run_pos_of (p, s->current_label);
      p->scored_item[n_rows] = (gint) i;
      item->scored_row = (gint) n_rows;
      n_rows++;
    }
  p->n_scored = n_rows;
  if (n_rows == 0)
    return TRUE;
  p->thresholds = g_new (double, k);
  if (!curator_cl_thresholds (labels, p->probs, n_rows, k, p->thresholds))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_FAILED,
                   "the latest run's probabilities are not usable (run %" G_GINT64_FORMAT ")",
                   p->run->id);
      return FALSE;
    }
  return TRUE;
}

static void
add_removal (CuratorExportPlan *plan, const CuratorDbSample *s, CuratorExportDrop why, char *detail)
{
  CuratorExportRemoval r = { s->id, g_strdup (s->path), s->current_label, why, detail };

  g_array_append_val (plan->removals, r);
  plan->n_removed_by[why]++;
}

static void
add_relabel (CuratorExportPlan *plan, const CuratorDbSample *s, gint64 new_label,
             CuratorExportLabelSource source, double confidence, double threshold)
{
  CuratorExportRelabel r = { s->id, g_strdup (s->path), s->given_label, new_label, source,
                             confidence, threshold };

  g_array_append_val (plan->relabels, r);
}

/* The policies: which samples go out, with which label. */
static void
decide_samples (Planner *p)
{
  CuratorExportPlan *plan = p->plan;
  const CuratorExportOptions *o = &plan->options;

  for (gsize i = 0; i < p->n_items; i++)
    {
      Item *item = &p->items[i];
      const CuratorDbSample *s = item->sample;
      const CuratorDbScore *score = item->score;
      gint64 label = s->current_label;
      gboolean policy_relabel = FALSE;

      item->klass = -1;
      if (s->status == CURATOR_SAMPLE_CORRUPT)
        {
          add_removal (plan, s, CURATOR_EXPORT_DROP_CORRUPT, g_strdup (s->reason));
          continue;
        }
      if (s->status == CURATOR_SAMPLE_MISSING)
        {
          add_removal (plan, s, CURATOR_EXPORT_DROP_MISSING, g_strdup (s->reason));
          continue;
        }
      if (s->excluded)
        {
          add_removal (plan, s, CURATOR_EXPORT_DROP_EXCLUDED, NULL);
          continue;
        }
      if (label == 0 || class_index_of (p, label) < 0)
        {
          add_removal (plan, s, CURATOR_EXPORT_DROP_UNLABELLED, NULL);
          continue;
        }

      /* A person's decision settles the label; only unreviewed flags follow
       * the policy. */
      if (score != NULL && (score->issues & o->flag_mask) != 0 && !s->verified)
        {
          if (o->flagged == CURATOR_EXPORT_FLAGGED_DROP)
            {
              add_removal (plan, s, CURATOR_EXPORT_DROP_FLAGGED, g_strdup (score->reason));
              continue;
            }
          if (o->flagged == CURATOR_EXPORT_FLAGGED_KEEP)
            plan->n_flagged_kept++;
          else
            {
              gint j = run_pos_of (p, score->suggested_label);
              double confidence = NAN, threshold = NAN;

              if (j >= 0 && item->scored_row >= 0 && p->thresholds != NULL)
                {
                  confidence = p->probs[(gsize) item->scored_row * p->run->n_classes + j];
                  threshold = p->thresholds[j];
                }
              if (score->suggested_label == 0 || score->suggested_label == label ||
                  class_index_of (p, score->suggested_label) < 0 ||
                  !(confidence >= threshold))
                {
                  add_removal (plan, s, CURATOR_EXPORT_DROP_NOT_CONFIDENT,
                               isfinite (confidence)
                               ? g_strdup_printf ("suggestion %.3f below its class threshold %.3f",
                                                  confidence, threshold)
                               : g_strdup ("no usable suggestion"));
                  continue;
                }
              label = score->suggested_label;
              policy_relabel = TRUE;
              add_relabel (plan, s, label, CURATOR_EXPORT_LABEL_POLICY, confidence, threshold);
            }
        }

      if (!policy_relabel && label != s->given_label)
        {
          CuratorExportLabelSource source = CURATOR_EXPORT_LABEL_HUMAN;

          if (g_strcmp0 (s->label_source, "pseudo") == 0)
            source = s->verified ? CURATOR_EXPORT_LABEL_ACCEPTED : CURATOR_EXPORT_LABEL_MODEL;
          add_relabel (plan, s, label, source, NAN, NAN);
        }
      else if (!policy_relabel && s->verified && g_strcmp0 (s->label_source, "human") == 0)
        plan->n_confirmed++;
      item->klass = class_index_of (p, label);
    }
}

/* Duplicate groups over every OK sample (a dropped sample still links two
 * exported ones), then numbered among the exported samples only. */
static void
group_samples (Planner *p)
{
  CuratorExportPlan *plan = p->plan;
  g_autofree const char **hashes = NULL;
  g_autofree guint64 *phashes = NULL;
  g_autofree gint *ok_item = NULL;
  g_autoptr(GArray) pairs = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GHashTable) last_in_group = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GHashTable) n_exported = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autofree guint *groups = NULL;
  gsize n_ok = 0;

  hashes = g_new0 (const char *, MAX (p->n_items, 1));
  phashes = g_new0 (guint64, MAX (p->n_items, 1));
  ok_item = g_new (gint, MAX (p->n_items, 1));
  for (gsize i = 0; i < p->n_items; i++)
    {
      Item *item = &p->items[i];
      const CuratorDbScore *score = item->score;

      item->ok_index = -1;
      item->group = 0;
      if (item->sample->status != CURATOR_SAMPLE_OK)
        continue;
      item->ok_index = (gint) n_ok;
      ok_item[n_ok] = (gint) i;
      hashes[n_ok] = item->sample->pixel_hash;
      phashes[n_ok] = item->sample->phash;
      if (score != NULL && score->duplicate_group != 0)
        {
          gpointer last;

          if (g_hash_table_lookup_extended (last_in_group, &score->duplicate_group, NULL, &last))
            {
              guint32 pair[2] = { GPOINTER_TO_UINT (last), (guint32) n_ok };

              g_array_append_vals (pairs, pair, 2);
            }
          g_hash_table_insert (last_in_group, g_memdup2 (&score->duplicate_group, sizeof (gint64)),
                               GUINT_TO_POINTER ((guint) n_ok));
        }
      n_ok++;
    }
  if (n_ok == 0)
    return;
  groups = curator_duplicate_groups ((const char *const *) hashes, phashes, n_ok,
                                     MIN (plan->options.phash_radius, CURATOR_PHASH_MAX_RADIUS),
                                     (const guint32 *) pairs->data, pairs->len / 2, NULL);
  /* Only groups with two or more exported members matter for splitting. */
  for (gsize o = 0; o < n_ok; o++)
    if (groups[o] != 0 && p->items[ok_item[o]].klass >= 0)
      {
        gpointer key = GUINT_TO_POINTER (groups[o]);

        g_hash_table_insert (n_exported, key,
                             GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (n_exported, key)) + 1));
      }
  for (gsize o = 0; o < n_ok; o++)
    {
      Item *item = &p->items[ok_item[o]];
      guint size;

      if (groups[o] == 0 || item->klass < 0)
        continue;
      size = GPOINTER_TO_UINT (g_hash_table_lookup (n_exported, GUINT_TO_POINTER (groups[o])));
      if (size > 1)
        {
          item->group = groups[o];
          plan->n_grouped++;
        }
    }
  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, n_exported);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      if (GPOINTER_TO_UINT (value) > 1)
        plan->n_groups++;
  }
}

static gint
split_index (const CuratorExportPlan *plan, const char *name)
{
  for (guint s = 0; s < plan->n_splits; s++)
    if (strcmp (plan->splits[s].name, name) == 0)
      return (gint) s;
  return -1;
}

/* The splits: the ones asked for, or with --keep-splits the ones the source
 * had (asked ones too while some sample has no source split). */
static void
make_splits (Planner *p)
{
  CuratorExportPlan *plan = p->plan;
  const CuratorExportOptions *o = &plan->options;
  g_autoptr(GPtrArray) kept = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) source = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean any_free = FALSE;
  guint n = 0;

  for (gsize i = 0; i < p->n_items; i++)
    {
      const CuratorDbSample *s = p->items[i].sample;

      if (s->split != NULL && s->status == CURATOR_SAMPLE_OK)
        g_hash_table_add (source, s->split);
      if (p->items[i].klass < 0)
        continue;
      if (!o->keep_splits || s->split == NULL)
        any_free = TRUE;
      else if (!g_hash_table_contains (seen, s->split))
        {
          g_hash_table_add (seen, s->split);
          g_ptr_array_add (kept, s->split);
        }
    }
  {
    g_autofree gpointer *names = g_hash_table_get_keys_as_array (source, &n);

    qsort (names, n, sizeof (char *), compare_strings);
    plan->n_source_splits = n;
    plan->source_splits = g_new0 (char *, n + 1);
    for (guint i = 0; i < n; i++)
      plan->source_splits[i] = g_strdup (names[i]);
  }
  g_ptr_array_sort (kept, compare_strings);

  plan->splits = g_new0 (CuratorExportSplit, o->n_splits + kept->len + 1);
  /* Asked splits first, in the order asked; then kept ones not asked for. */
  for (guint s = 0; s < o->n_splits; s++)
    if (any_free || g_hash_table_contains (seen, o->split_names[s]))
      {
        CuratorExportSplit *split = &plan->splits[plan->n_splits++];

        split->name = g_strdup (o->split_names[s]);
        split->fraction = o->split_fractions[s];
        split->kept = g_hash_table_contains (seen, o->split_names[s]);
      }
  for (guint i = 0; i < kept->len; i++)
    if (split_index (plan, g_ptr_array_index (kept, i)) < 0)
      {
        CuratorExportSplit *split = &plan->splits[plan->n_splits++];

        split->name = g_strdup (g_ptr_array_index (kept, i));
        split->fraction = NAN;
        split->kept = TRUE;
      }
  if (plan->n_splits == 0)
    {
      /* Nothing to export: still name the asked splits for the card. */
      for (guint s = 0; s < o->n_splits; s++)
        {
          plan->splits[s].name = g_strdup (o->split_names[s]);
          plan->splits[s].fraction = o->split_fractions[s];
        }
      plan->n_splits = o->n_splits;
    }

  /* Folder names at the top of OUT: distinct from each other, from
   * SPLIT.csv of the others and from the files Curator writes there. */
  name_take (used, "README.md");
  name_take (used, "curation.json");
  name_take (used, "class_weights.json");
  name_take (used, "labels.csv");
  name_take (used, "sources.csv");
  for (guint s = 0; s < plan->n_splits; s++)
    {
      g_autofree char *stem = curator_path_sanitize_component (plan->splits[s].name, NAME_STEM_MAX_BYTES);

      plan->splits[s].folder = unique_name (used, stem, "", "", ".csv");
    }

  plan->train_split = 0;
  for (guint s = 0; s < plan->n_splits; s++)
    if (g_ascii_strcasecmp (plan->splits[s].name, "train") == 0)
      {
        plan->train_split = s;
        break;
      }
}

/* Before curation: OK samples by given label and by the source's split. */
static void
count_given (Planner *p)
{
  CuratorExportPlan *plan = p->plan;

  for (guint k = 0; k < plan->n_classes; k++)
    plan->classes[k].n_given_by_source_split = g_new0 (gint64, plan->n_source_splits + 1);
  for (gsize i = 0; i < p->n_items; i++)
    {
      const CuratorDbSample *s = p->items[i].sample;
      gint k = class_index_of (p, s->given_label);
      guint where = plan->n_source_splits;

      if (s->status != CURATOR_SAMPLE_OK || k < 0)
        continue;
      for (guint t = 0; s->split != NULL && t < plan->n_source_splits; t++)
        if (strcmp (plan->source_splits[t], s->split) == 0)
          where = t;
      plan->classes[k].n_given++;
      plan->classes[k].n_given_by_source_split[where]++;
    }
}

static gboolean
assign_splits (Planner *p, GError **error)
{
  CuratorExportPlan *plan = p->plan;
  g_autofree gint *labels = NULL;
  g_autofree guint *groups = NULL;
  g_autofree gint *splits = NULL;
  g_autofree gsize *which = NULL;
  double fractions[CURATOR_EXPORT_MAX_SPLITS * 2] = { 0 };
  gsize n = 0;

  labels = g_new (gint, MAX (p->n_items, 1));
  groups = g_new (guint, MAX (p->n_items, 1));
  splits = g_new (gint, MAX (p->n_items, 1));
  which = g_new (gsize, MAX (p->n_items, 1));
  for (gsize i = 0; i < p->n_items; i++)
    {
      const Item *item = &p->items[i];

      if (item->klass < 0)
        continue;
      labels[n] = item->klass;
      groups[n] = item->group;
      splits[n] = plan->options.keep_splits && item->sample->split != NULL
                  ? split_index (plan, item->sample->split) : -1;
      which[n] = i;
      n++;
    }
  for (guint s = 0; s < plan->n_splits; s++)
    fractions[s] = isfinite (plan->splits[s].fraction) ? plan->splits[s].fraction : 0;
  if (!curator_export_assign_splits (labels, groups, n, plan->n_classes, fractions,
                                     plan->n_splits, plan->options.seed, splits))
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_FAILED, "could not assign splits");
      return FALSE;
    }
  for (gsize j = 0; j < n; j++)
    p->items[which[j]].split = splits[j];
  return TRUE;
}

static int
phash_distance (guint64 a, guint64 b)
{
  return __builtin_popcountll (a ^ b);
}

/* Pairs of exported duplicates that ended in different splits: only the
 * source's own splits (--keep-splits) can cause them. Only direct pairs are
 * reported, not samples joined through others. */
static void
find_leaks (Planner *p)
{
  CuratorExportPlan *plan = p->plan;
  g_autoptr(GHashTable) by_group = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                                          (GDestroyNotify) g_array_unref);
  g_autoptr(GArray) order = g_array_new (FALSE, FALSE, sizeof (guint));

  for (gsize i = 0; i < p->n_items; i++)
    {
      const Item *item = &p->items[i];
      GArray *members;
      guint g = item->group;
      guint index = (guint) i;

      if (g == 0)
        continue;
      members = g_hash_table_lookup (by_group, GUINT_TO_POINTER (g));
      if (members == NULL)
        {
          members = g_array_new (FALSE, FALSE, sizeof (guint));
          g_hash_table_insert (by_group, GUINT_TO_POINTER (g), members);
          g_array_append_val (order, g);
        }
      g_array_append_val (members, index);
    }
  for (guint gi = 0; gi < order->len; gi++)
    {
      GArray *members = g_hash_table_lookup (by_group, GUINT_TO_POINTER (g_array_index (order, guint, gi)));
      gboolean spans = FALSE;

      for (guint m = 1; m < members->len && !spans; m++)
        spans = p->items[g_array_index (members, guint, m)].split !=
                p->items[g_array_index (members, guint, 0)].split;
      if (!spans)
        continue;
      for (guint a = 0; a < members->len; a++)
        for (guint b = a + 1; b < members->len; b++)
          {
            const Item *x = &p->items[g_array_index (members, guint, a)];
            const Item *y = &p->items[g_array_index (members, guint, b)];
            CuratorExportLeak leak = { x->sample->id, y->sample->id, (guint) x->split, (guint) y->split,
                                       NULL, -1 };

            if (x->split == y->split)
              continue;
            if (phash_usable (x->sample->phash) && phash_usable (y->sample->phash))
              leak.distance = phash_distance (x->sample->phash, y->sample->phash);
            if (x->sample->pixel_hash != NULL && g_strcmp0 (x->sample->pixel_hash, y->sample->pixel_hash) == 0)
              leak.reason = "exact duplicate";
            else if (leak.distance >= 0 && leak.distance <= plan->options.phash_radius)
              leak.reason = "perceptual-hash near duplicate";
            else if (x->score != NULL && y->score != NULL && x->score->duplicate_group != 0 &&
                     x->score->duplicate_group == y->score->duplicate_group)
              leak.reason = "feature-space near duplicate";
            else
              continue;
            plan->n_leaks++;
            if (plan->leaks->len < CURATOR_EXPORT_MAX_LEAKS)
              g_array_append_val (plan->leaks, leak);
          }
    }
}

static gint64
rebalance_target (const CuratorExportPlan *plan, const gint64 *counts)
{
  const CuratorExportOptions *o = &plan->options;
  g_autofree gint64 *present = g_new (gint64, MAX (plan->n_classes, 1));
  guint n = 0;
  CuratorExportTarget target = o->target;

  for (guint k = 0; k < plan->n_classes; k++)
    if (counts[k] > 0)
      present[n++] = counts[k];
  if (n == 0)
    return 0;
  qsort (present, n, sizeof (gint64), compare_int64);
  if (target == CURATOR_EXPORT_TARGET_DEFAULT)
    target = o->rebalance == CURATOR_EXPORT_REBALANCE_UNDERSAMPLE
             ? CURATOR_EXPORT_TARGET_MIN : CURATOR_EXPORT_TARGET_MAX;
  switch (target)
    {
    case CURATOR_EXPORT_TARGET_MAX:
      return present[n - 1];
    case CURATOR_EXPORT_TARGET_MIN:
      return present[0];
    case CURATOR_EXPORT_TARGET_MEDIAN:
      return n % 2 == 1 ? present[n / 2] : (present[n / 2 - 1] + present[n / 2]) / 2;
    case CURATOR_EXPORT_TARGET_COUNT:
    case CURATOR_EXPORT_TARGET_DEFAULT:
    default:
      return o->target_count;
    }
}

/* Entries of the exported samples, then the training split rebalanced. */
static void
make_entries (Planner *p)
{
  CuratorExportPlan *plan = p->plan;
  const CuratorExportOptions *o = &plan->options;
  guint k_count = plan->n_classes;
  g_autofree gint64 *train = g_new0 (gint64, MAX (k_count, 1));
  g_autoptr(GPtrArray) by_class = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autoptr(GArray) kept = NULL;
  g_autoptr(GArray) entry_item = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint k = 0; k < k_count; k++)
    {
      plan->classes[k].n_samples = g_new0 (gint64, plan->n_splits);
      plan->classes[k].n_entries = g_new0 (gint64, plan->n_splits);
      g_ptr_array_add (by_class, g_array_new (FALSE, FALSE, sizeof (guint)));
    }
  for (gsize i = 0; i < p->n_items; i++)
    {
      const Item *item = &p->items[i];
      CuratorExportEntry e = { 0 };
      guint item_index = (guint) i;

      if (item->klass < 0)
        continue;
      g_array_append_val (entry_item, item_index);
      e.sample_id = item->sample->id;
      e.path = g_strdup (item->sample->path);
      e.source = plan->root != NULL ? g_build_filename (plan->root, item->sample->path, NULL) : NULL;
      e.n_bytes = item->sample->n_bytes;
      e.split = (guint) item->split;
      e.klass = (guint) item->klass;
      plan->classes[e.klass].n_samples[e.split]++;
      plan->splits[e.split].n_samples++;
      if (e.split == plan->train_split)
        {
          guint index = plan->entries->len;

          train[e.klass]++;
          g_array_append_val (g_ptr_array_index (by_class, e.klass), index);
        }
      g_array_append_val (plan->entries, e);
    }

  if (o->rebalance == CURATOR_EXPORT_REBALANCE_OVERSAMPLE ||
      o->rebalance == CURATOR_EXPORT_REBALANCE_UNDERSAMPLE)
    {
      g_autofree gboolean *dropped = g_new0 (gboolean, MAX (plan->entries->len, 1));
      guint n_base = plan->entries->len;

      plan->rebalance_target = rebalance_target (plan, train);
      for (guint k = 0; k < k_count; k++)
        {
          GArray *members = g_ptr_array_index (by_class, k);
          g_autoptr(GRand) rand = rand_for (o->seed, 0x0b5a0000u + k);
          gint64 n_k = members->len;

          if (n_k == 0)
            continue;
          /* Fisher-Yates over the class's training samples in sample order. */
          for (guint m = members->len - 1; m > 0; m--)
            {
              guint r = (guint) g_rand_int_range (rand, 0, (gint32) m + 1);
              guint t = g_array_index (members, guint, m);

              g_array_index (members, guint, m) = g_array_index (members, guint, r);
              g_array_index (members, guint, r) = t;
            }
          if (o->rebalance == CURATOR_EXPORT_REBALANCE_OVERSAMPLE)
            for (gint64 j = 0; j < plan->rebalance_target - n_k; j++)
              {
                const CuratorExportEntry *base =
                  &g_array_index (plan->entries, CuratorExportEntry, g_array_index (members, guint, j % n_k));
                CuratorExportEntry e = *base;

                e.path = g_strdup (base->path);
                e.source = g_strdup (base->source);
                e.repeat = (guint) (1 + j / n_k);
                g_array_append_val (plan->entries, e);
              }
          else
            for (gint64 j = plan->rebalance_target; j < n_k; j++)
              {
                guint index = g_array_index (members, guint, j);
                const Item *item = &p->items[g_array_index (entry_item, guint, index)];

                dropped[index] = TRUE;
                add_removal (plan, item->sample, CURATOR_EXPORT_DROP_UNDERSAMPLED, NULL);
              }
        }
      if (o->rebalance == CURATOR_EXPORT_REBALANCE_UNDERSAMPLE)
        {
          kept = g_array_new (FALSE, FALSE, sizeof (CuratorExportEntry));
          g_array_set_clear_func (kept, entry_clear);
          for (guint i = 0; i < n_base; i++)
            {
              CuratorExportEntry *e = &g_array_index (plan->entries, CuratorExportEntry, i);

              if (dropped[i])
                continue;
              g_array_append_val (kept, *e);
              memset (e, 0, sizeof *e);   /* moved */
            }
          g_array_unref (plan->entries);
          plan->entries = g_steal_pointer (&kept);
        }
    }
  else if (o->rebalance == CURATOR_EXPORT_REBALANCE_WEIGHTS)
    {
      gint64 n_total = 0;
      guint n_present = 0;
      double effective_sum = 0;

      for (guint k = 0; k < k_count; k++)
        if (train[k] > 0)
          {
            n_total += train[k];
            n_present++;
            plan->classes[k].weight_effective =
              (1.0 - CURATOR_EXPORT_WEIGHTS_BETA) / (1.0 - pow (CURATOR_EXPORT_WEIGHTS_BETA, (double) train[k]));
            effective_sum += plan->classes[k].weight_effective;
          }
      for (guint k = 0; k < k_count; k++)
        if (train[k] > 0)
          {
            plan->classes[k].weight = (double) n_total / ((double) n_present * (double) train[k]);
            plan->classes[k].weight_effective *= n_present / effective_sum;
          }
    }

  for (guint i = 0; i < plan->entries->len; i++)
    {
      const CuratorExportEntry *e = &g_array_index (plan->entries, CuratorExportEntry, i);

      plan->classes[e->klass].n_entries[e->split]++;
      plan->splits[e->split].n_entries++;
    }
}

/* File names inside OUT: SPLIT/CLASS/NAME, unique per folder; repeats get
 * "__repN" (imagefolder, jsonl: training code counts files) or share the
 * sample's file (csv: a manifest row per repeat). */
static void
name_entries (Planner *p)
{
  CuratorExportPlan *plan = p->plan;
  const CuratorExportOptions *o = &plan->options;
  g_autoptr(GHashTable) folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) g_hash_table_unref);
  g_autoptr(GHashTable) base_file = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_array_sort (plan->entries, compare_entries);   /* files unset: split, class, repeat, path */
  for (guint i = 0; i < plan->entries->len; i++)
    {
      CuratorExportEntry *e = &g_array_index (plan->entries, CuratorExportEntry, i);
      const CuratorExportSplit *split = &plan->splits[e->split];
      const CuratorExportClass *klass = &plan->classes[e->klass];
      g_autofree char *key = g_strdup_printf ("%u/%" G_GINT64_FORMAT, e->split, e->sample_id);
      g_autofree char *folder = NULL;
      g_autofree char *stem = NULL;
      g_autofree char *ext = NULL;
      g_autofree char *infix = NULL;
      g_autofree char *name = NULL;
      GHashTable *used;

      if (o->files == CURATOR_EXPORT_FILES_NONE)
        {
          e->file = g_strdup (e->source != NULL ? e->source : e->path);
          continue;
        }
      if (e->repeat > 0 && o->layout == CURATOR_EXPORT_LAYOUT_CSV)
        {
          e->file = g_strdup (g_hash_table_lookup (base_file, key));
          continue;
        }
      folder = g_strconcat (split->folder, "/", klass->folder, NULL);
      used = g_hash_table_lookup (folders, folder);
      if (used == NULL)
        {
          used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_insert (folders, g_strdup (folder), used);
        }
      safe_file_parts (e->path, &stem, &ext);
      infix = e->repeat > 0 ? g_strdup_printf ("__rep%u", e->repeat) : g_strdup ("");
      name = unique_name (used, stem, infix, ext, NULL);
      e->file = g_strconcat (folder, "/", name, NULL);
      if (e->repeat == 0)
        g_hash_table_insert (base_file, g_steal_pointer (&key), g_strdup (e->file));
    }
  g_array_sort (plan->entries, compare_entries);   /* manifest order: split, class, file */
}

/* Whether @label's probability, with 1e-6 added, is the highest of @row
 * (cleanlab's num_label_issues leaves such samples out of its count). */
static gboolean
label_is_top (const double *row, guint k, gint label)
{
  double own = row[label] + 1e-6;

  for (guint j = 0; j < k; j++)
    if ((gint) j != label && row[j] > own)
      return FALSE;
  return TRUE;
}

/* What noise is left: among the exported samples the run scored and no
 * person reviewed, those confidently of another class (confident learning's
 * off-diagonal samples under the thresholds above) whose own label is not
 * the most probable: the samples cleanlab's num_label_issues counts. A
 * person's decision counts as clean. */
static gboolean
estimate_noise (Planner *p)
{
  CuratorExportPlan *plan = p->plan;
  guint k;
  g_autofree gint *labels = NULL;
  g_autofree gint64 *joint = NULL;
  g_autofree gboolean *off = NULL;

  if (p->thresholds == NULL || p->n_scored == 0)
    return TRUE;
  k = (guint) p->run->n_classes;
  labels = g_new (gint, p->n_scored);
  joint = g_new0 (gint64, (gsize) k * k);
  off = g_new0 (gboolean, p->n_scored);
  for (gsize r = 0; r < p->n_scored; r++)
    {
      const Item *item = &p->items[p->scored_item[r]];

      labels[r] = -1;
      if (item->klass >= 0 && !item->sample->verified)
        labels[r] = run_pos_of (p, plan->classes[item->klass].class_id);
    }
  if (!curator_cl_confident_joint (labels, p->probs, p->n_scored, k, p->thresholds, FALSE, joint, off))
    return FALSE;
  for (gsize r = 0; r < p->n_scored; r++)
    {
      const Item *item = &p->items[p->scored_item[r]];

      if (item->klass < 0)
        continue;
      plan->classes[item->klass].n_scored++;
      if (labels[r] >= 0 && off[r] && !label_is_top (p->probs + r * k, k, labels[r]))
        plan->classes[item->klass].n_suspect++;
    }
  for (guint c = 0; c < plan->n_classes; c++)
    if (plan->classes[c].n_scored > 0)
      plan->classes[c].noise = (double) plan->classes[c].n_suspect / (double) plan->classes[c].n_scored;
  return TRUE;
}

/* The project's last change: the latest decision, finished run or indexed
 * file. Using it as the card's date keeps two exports of the same project
 * byte-identical. */
static gboolean
project_time (Planner *p, GError **error)
{
  g_autoptr(GPtrArray) events = curator_db_list_events (p->db, 0, error);
  g_autoptr(GPtrArray) runs = NULL;
  gint64 latest = 0;

  if (events == NULL)
    return FALSE;
  runs = curator_db_list_runs (p->db, error);
  if (runs == NULL)
    return FALSE;
  for (guint i = 0; i < events->len; i++)
    latest = MAX (latest, ((CuratorDbEvent *) g_ptr_array_index (events, i))->time_us);
  for (guint i = 0; i < runs->len; i++)
    latest = MAX (latest, ((CuratorDbRun *) g_ptr_array_index (runs, i))->finished_us);
  for (gsize i = 0; i < p->n_items; i++)
    latest = MAX (latest, p->items[i].sample->indexed_us);
  p->plan->project_time = latest > 0 ? format_time_utc (latest) : NULL;
  return TRUE;
}

CuratorExportPlan *
curator_export_plan_new (CuratorDb                  *db,
                         const CuratorExportOptions *options,
                         GError                    **error)
{
  g_autoptr(CuratorExportPlan) plan = NULL;
  Planner p = { 0 };
  CuratorExportPlan *result = NULL;

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (options->n_splits >= 1 && options->n_splits <= CURATOR_EXPORT_MAX_SPLITS, NULL);

  if (options->layout == CURATOR_EXPORT_LAYOUT_IMAGEFOLDER && options->files == CURATOR_EXPORT_FILES_NONE)
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                           "--files none needs --layout csv or jsonl: an imagefolder export is made of its files");
      return NULL;
    }
  if (options->target == CURATOR_EXPORT_TARGET_COUNT && options->target_count < 1)
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "--target must be at least 1");
      return NULL;
    }
  /* Found now, not after every file is written. */
  if (options->exporter != NULL &&
      curator_plugin_registry_find (curator_plugins_get_default (), CURATOR_PLUGIN_KIND_EXPORTER,
                                    options->exporter) == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                   "No exporter called \"%s\" (see `curator plugins`)", options->exporter);
      return NULL;
    }
  for (guint s = 0; s < options->n_splits; s++)
    if (options->split_names[s] == NULL || !(options->split_fractions[s] > 0))
      {
        g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                             "every split needs a name and a fraction above 0");
        return NULL;
      }

  plan = g_new0 (CuratorExportPlan, 1);
  options_copy (&plan->options, options);
  plan->project = g_canonicalize_filename (curator_db_get_path (db), NULL);
  plan->root = curator_db_dup_setting (db, "root");
  plan->entries = g_array_new (FALSE, TRUE, sizeof (CuratorExportEntry));
  g_array_set_clear_func (plan->entries, entry_clear);
  plan->removals = g_array_new (FALSE, TRUE, sizeof (CuratorExportRemoval));
  g_array_set_clear_func (plan->removals, removal_clear);
  plan->relabels = g_array_new (FALSE, TRUE, sizeof (CuratorExportRelabel));
  g_array_set_clear_func (plan->relabels, relabel_clear);
  plan->leaks = g_array_new (FALSE, TRUE, sizeof (CuratorExportLeak));

  if (plan->root == NULL && options->files != CURATOR_EXPORT_FILES_NONE)
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                           "the project has no dataset root yet: index a dataset first");
      return NULL;
    }

  p.plan = plan;
  p.db = db;
  p.samples = curator_db_list_samples (db, NULL, error);
  if (p.samples == NULL)
    goto out;
  p.n_items = p.samples->len;
  p.items = g_new0 (Item, MAX (p.n_items, 1));
  if (!load_classes (&p, error))
    goto out;
  for (gsize i = 0; i < p.n_items; i++)
    p.items[i].sample = g_ptr_array_index (p.samples, i);
  if (!load_run (&p, error) || !load_probs (&p, error) || !project_time (&p, error))
    goto out;

  decide_samples (&p);
  group_samples (&p);
  make_splits (&p);
  count_given (&p);
  if (!assign_splits (&p, error))
    goto out;
  find_leaks (&p);
  make_entries (&p);
  name_entries (&p);
  if (!estimate_noise (&p))
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_FAILED,
                           "could not estimate the remaining noise from the latest run");
      goto out;
    }
  g_array_sort (plan->removals, compare_removals);
  result = g_steal_pointer (&plan);

out:
  planner_clear (&p);
  return result;
}

/* ---- writing ------------------------------------------------------------------ */

void
curator_export_report_clear (CuratorExportReport *report)
{
  if (report == NULL)
    return;
  g_clear_pointer (&report->out, g_free);
  g_clear_pointer (&report->notes, g_ptr_array_unref);
  memset (report, 0, sizeof *report);
}

static gboolean
set_io_error (GError **error, int errsv, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
set_io_error (GError **error, int errsv, const char *format, ...)
{
  va_list args;
  g_autofree char *what = NULL;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CURATOR_ERROR, errsv == ENOENT ? CURATOR_ERROR_NOT_FOUND : CURATOR_ERROR_IO,
               "%s: %s", what, g_strerror (errsv));
  return FALSE;
}

/* rm -rf that never follows a symbolic link out of @path. */
static gboolean
remove_tree (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return errno == ENOENT;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      gboolean ok = TRUE;

      if (dir == NULL)
        return FALSE;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          ok = remove_tree (child) && ok;
        }
      return g_rmdir (path) == 0 && ok;
    }
  return g_unlink (path) == 0;
}

static gboolean
copy_file (const char *from, const char *to, GError **error)
{
  g_autofree char *buffer = NULL;
  int in, out;
  gboolean ok = FALSE;

  in = g_open (from, O_RDONLY | O_CLOEXEC, 0);
  if (in < 0)
    return set_io_error (error, errno, "cannot read %s", from);
  out = g_open (to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0)
    {
      int errsv = errno;

      close (in);
      return set_io_error (error, errsv, "cannot write %s", to);
    }
  buffer = g_malloc (256 * 1024);
  for (;;)
    {
      ssize_t n = read (in, buffer, 256 * 1024);
      ssize_t done = 0;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_io_error (error, errno, "cannot read %s", from);
          goto out;
        }
      if (n == 0)
        break;
      while (done < n)
        {
          ssize_t w = write (out, buffer + done, n - done);

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              set_io_error (error, errno, "cannot write %s", to);
              goto out;
            }
          done += w;
        }
    }
  ok = TRUE;

out:
  close (in);
  if (close (out) != 0 && ok)
    ok = set_io_error (error, errno, "cannot write %s", to);
  return ok;
}

static gboolean
write_text (const char *folder, const char *name, const GString *text, GError **error)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  int fd;
  gsize done = 0;

  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return set_io_error (error, errno, "cannot write %s", path);
  while (done < text->len)
    {
      ssize_t w = write (fd, text->str + done, text->len - done);

      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        {
          int errsv = errno;

          close (fd);
          return set_io_error (error, errsv, "cannot write %s", path);
        }
      done += w;
    }
  if (close (fd) != 0)
    return set_io_error (error, errno, "cannot write %s", path);
  return TRUE;
}

typedef struct {
  const CuratorExportPlan *plan;
  const char              *tmp;
  CuratorExportReport     *report;
  GCancellable            *cancellable;
  CuratorProgressFunc      progress;
  gpointer                 progress_data;
  gint64                   last_progress_us;
} Writer;

static void
writer_progress (Writer *w, double fraction, const char *message, gboolean force)
{
  gint64 now = g_get_monotonic_time ();

  if (w->progress == NULL || (!force && now - w->last_progress_us < 100 * 1000))
    return;
  w->last_progress_us = now;
  w->progress (fraction, message, w->progress_data);
}

/* Checks the source is still the file the project indexed. */
static gboolean
check_source (const CuratorExportEntry *e, GError **error)
{
  GStatBuf st;

  if (e->source == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND, "no source path for %s", e->path);
      return FALSE;
    }
  if (g_stat (e->source, &st) != 0)
    {
      int errsv = errno;

      if (errsv == ENOENT)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                       "source file vanished: %s (index the dataset again)", e->source);
          return FALSE;
        }
      return set_io_error (error, errsv, "cannot read %s", e->source);
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO, "%s is no longer a regular file", e->source);
      return FALSE;
    }
  if (e->n_bytes > 0 && st.st_size != e->n_bytes)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                   "%s changed since it was indexed (%" G_GINT64_FORMAT " bytes, indexed with %"
                   G_GINT64_FORMAT "): index the dataset again", e->source, (gint64) st.st_size, e->n_bytes);
      return FALSE;
    }
  return TRUE;
}

static gboolean
ensure_folder (Writer *w, GHashTable *made, const char *file, GError **error)
{
  g_autofree char *folder = g_path_get_dirname (file);
  g_autofree char *path = NULL;

  if (strcmp (folder, ".") == 0 || g_hash_table_contains (made, folder))
    return TRUE;
  path = g_build_filename (w->tmp, folder, NULL);
  if (g_mkdir_with_parents (path, 0755) != 0)
    return set_io_error (error, errno, "cannot create %s", path);
  g_hash_table_add (made, g_steal_pointer (&folder));
  return TRUE;
}

static gboolean
link_or_copy (Writer *w, const char *from, const char *to, gboolean fallback_allowed, GError **error)
{
  if (linkat (AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW) == 0)
    {
      w->report->n_linked++;
      return TRUE;
    }
  /* Another file system, or one without hard links: copy, and say so. */
  if (fallback_allowed && (errno == EXDEV || errno == EPERM || errno == EMLINK ||
                           errno == ENOTSUP || errno == EOPNOTSUPP))
    {
      if (!copy_file (from, to, error))
        return FALSE;
      w->report->n_copy_fallbacks++;
      return TRUE;
    }
  return set_io_error (error, errno, "cannot link %s to %s", from, to);
}

static gboolean
write_files (Writer *w, GError **error)
{
  const CuratorExportPlan *plan = w->plan;
  CuratorExportFiles mode = plan->options.files;
  g_autoptr(GHashTable) made = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) first_file = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, NULL);
  guint n = plan->entries->len;

  if (mode == CURATOR_EXPORT_FILES_NONE)
    {
      /* Manifests name the sources: they must still be there. */
      for (guint i = 0; i < n; i++)
        {
          const CuratorExportEntry *e = &g_array_index (plan->entries, CuratorExportEntry, i);

          if (e->repeat == 0 && !check_source (e, error))
            return FALSE;
        }
      return TRUE;
    }

  /* Samples first, repeats after, so a repeat can link to its sample's file
   * inside the export (same file system: always a link, never a copy). */
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < n; i++)
      {
        const CuratorExportEntry *e = &g_array_index (plan->entries, CuratorExportEntry, i);
        g_autofree char *to = NULL;
        const CuratorExportEntry *base;

        if ((pass == 0) != (e->repeat == 0))
          continue;
        if (i % 64 == 0 && g_cancellable_is_cancelled (w->cancellable))
          {
            g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED, "export cancelled");
            return FALSE;
          }
        writer_progress (w, 0.9 * (pass * n + i) / (2.0 * MAX (n, 1)), "Writing files", FALSE);
        if (e->repeat == 0)
          g_hash_table_insert (first_file, (gpointer) &e->sample_id, (gpointer) e);
        else if (plan->options.layout == CURATOR_EXPORT_LAYOUT_CSV)
          continue;   /* a manifest row, not a file */
        if (!ensure_folder (w, made, e->file, error))
          return FALSE;
        to = g_build_filename (w->tmp, e->file, NULL);
        base = e->repeat > 0 ? g_hash_table_lookup (first_file, &e->sample_id) : NULL;
        switch (mode)
          {
          case CURATOR_EXPORT_FILES_LINK:
            if (base != NULL)
              {
                g_autofree char *from = g_build_filename (w->tmp, base->file, NULL);

                if (!link_or_copy (w, from, to, FALSE, error))
                  return FALSE;
              }
            else if (!check_source (e, error) || !link_or_copy (w, e->source, to, TRUE, error))
              return FALSE;
            break;
          case CURATOR_EXPORT_FILES_SYMLINK:
            if (!check_source (e, error))
              return FALSE;
            if (symlink (e->source, to) != 0)
              return set_io_error (error, errno, "cannot create the link %s", to);
            w->report->n_symlinked++;
            break;
          case CURATOR_EXPORT_FILES_COPY:
            if (!check_source (e, error) || !copy_file (e->source, to, error))
              return FALSE;
            w->report->n_copied++;
            break;
          case CURATOR_EXPORT_FILES_NONE:
          default:
            g_assert_not_reached ();
          }
      }
  return TRUE;
}

/* The layout's exporter, then options.exporter when it names another: both
 * through the registry, as a module would be called, with the temporary
 * folder as their OUT. */
static gboolean
write_exporters (Writer *w, GError **error)
{
  const CuratorExportPlan *plan = w->plan;
  const char *ids[2] = { curator_export_layout_to_string (plan->options.layout), plan->options.exporter };
  guint n = plan->entries->len;
  g_autofree CuratorExportRecord *records = g_new0 (CuratorExportRecord, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    {
      const CuratorExportEntry *e = &g_array_index (plan->entries, CuratorExportEntry, i);

      records[i] = (CuratorExportRecord) {
        .split = plan->splits[e->split].name,
        .file = e->file,
        .label = plan->classes[e->klass].label,
        .source = e->path,
        .sample_id = e->sample_id,
        .repeat = (int) e->repeat,
      };
    }
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      if (ids[i] == NULL || (i > 0 && strcmp (ids[i], ids[0]) == 0))
        continue;
      if (!curator_plugin_export (NULL, ids[i], plan->root, w->tmp, records, n, plan, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
write_manifests (Writer *w, GError **error)
{
  const CuratorExportPlan *plan = w->plan;
  g_autoptr(GString) sources = g_string_new ("split,file,label,sample,source,repeat\n");

  for (guint i = 0; i < plan->entries->len; i++)
    {
      const CuratorExportEntry *e = &g_array_index (plan->entries, CuratorExportEntry, i);

      csv_field (sources, plan->splits[e->split].name);
      g_string_append_c (sources, ',');
      csv_field (sources, e->file);
      g_string_append_c (sources, ',');
      csv_field (sources, plan->classes[e->klass].label);
      g_string_append_printf (sources, ",%" G_GINT64_FORMAT ",", e->sample_id);
      csv_field (sources, e->path);
      g_string_append_printf (sources, ",%u\n", e->repeat);
    }
  return write_text (w->tmp, "sources.csv", sources, error);
}

gboolean
_curator_export_write_layout (const CuratorExportPlan *plan,
                              CuratorExportLayout      layout,
                              const char              *dir,
                              GError                 **error)
{
  g_return_val_if_fail (plan != NULL && dir != NULL, FALSE);

  switch (layout)
    {
    case CURATOR_EXPORT_LAYOUT_IMAGEFOLDER:
      return TRUE;   /* the folders are the manifest */

    case CURATOR_EXPORT_LAYOUT_CSV:
      {
        g_autoptr(GString) all = g_string_new ("split,file,label\n");

        for (guint s = 0; s < plan->n_splits; s++)
          {
            g_autoptr(GString) one = g_string_new ("file,label\n");
            g_autofree char *name = NULL;

            if (plan->splits[s].n_entries == 0)
              continue;
            for (guint i = 0; i < plan->entries->len; i++)
              {
                const CuratorExportEntry *e = &g_array_index (plan->entries, CuratorExportEntry, i);

                if (e->split != s)
                  continue;
                csv_field (all, plan->splits[s].name);
                g_string_append_c (all, ',');
                csv_field (all, e->file);
                g_string_append_c (all, ',');
                csv_field (all, plan->classes[e->klass].label);
                g_string_append_c (all, '\n');
                csv_field (one, e->file);
                g_string_append_c (one, ',');
                csv_field (one, plan->classes[e->klass].label);
                g_string_append_c (one, '\n');
              }
            name = g_strconcat (plan->splits[s].folder, ".csv", NULL);
            if (!write_text (dir, name, one, error))
              return FALSE;
          }
        return write_text (dir, "labels.csv", all, error);
      }

    case CURATOR_EXPORT_LAYOUT_JSONL:
      for (guint s = 0; s < plan->n_splits; s++)
        {
          g_autoptr(GString) lines = g_string_new (NULL);
          g_autofree char *folder = g_build_filename (dir, plan->splits[s].folder, NULL);
          gsize prefix = strlen (plan->splits[s].folder) + 1;

          if (plan->splits[s].n_entries == 0)
            continue;
          for (guint i = 0; i < plan->entries->len; i++)
            {
              const CuratorExportEntry *e = &g_array_index (plan->entries, CuratorExportEntry, i);
              gboolean inside = plan->options.files != CURATOR_EXPORT_FILES_NONE;

              if (e->split != s)
                continue;
              /* file_name is relative to the metadata file (the split folder). */
              g_string_append (lines, "{\"file_name\": ");
              jw_escape (lines, inside ? e->file + prefix : e->file);
              g_string_append (lines, ", \"label\": ");
              jw_escape (lines, plan->classes[e->klass].label);
              g_string_append (lines, "}\n");
            }
          if (g_mkdir_with_parents (folder, 0755) != 0)
            return set_io_error (error, errno, "cannot create %s", folder);
          if (!write_text (folder, "metadata.jsonl", lines, error))
            return FALSE;
        }
      return TRUE;

    default:
      g_assert_not_reached ();
    }
}

static int
compare_class_folders (gconstpointer a, gconstpointer b, gpointer data)
{
  const CuratorExportPlan *plan = data;

  return strcmp (plan->classes[*(const guint *) a].folder, plan->classes[*(const guint *) b].folder);
}

/* Classes of the training split in the order torchvision's ImageFolder
 * numbers them: folder names sorted. */
static GArray *
train_class_order (const CuratorExportPlan *plan)
{
  GArray *order = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint k = 0; k < plan->n_classes; k++)
    if (isfinite (plan->classes[k].weight))
      g_array_append_val (order, k);
  g_array_sort_with_data (order, compare_class_folders, (gpointer) plan);
  return order;
}

static gboolean
write_weights (Writer *w, GError **error)
{
  const CuratorExportPlan *plan = w->plan;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GArray) order = train_class_order (plan);
  Jw jw = { text, 0, FALSE, FALSE };
  gint64 n_total = 0;

  for (guint i = 0; i < order->len; i++)
    n_total += plan->classes[g_array_index (order, guint, i)].n_entries[plan->train_split];
  jw_begin (&jw, '{');
  JW_STR (&jw, "split", plan->splits[plan->train_split].name);
  JW_INT (&jw, "n_samples", n_total);
  JW_INT (&jw, "n_classes", order->len);
  JW_STR (&jw, "inverse_frequency_formula", "N / (K * n_k)");
  JW_STR (&jw, "effective_number_formula",
          "(1 - beta) / (1 - beta^n_k), scaled so the weights sum to K (Cui et al., CVPR 2019)");
  JW_DBL (&jw, "beta", CURATOR_EXPORT_WEIGHTS_BETA);
  JW_STR (&jw, "order", "class folders sorted by name, as torchvision's ImageFolder numbers them");
  jw_key (&jw, "classes");
  jw_begin (&jw, '[');
  for (guint i = 0; i < order->len; i++)
    {
      const CuratorExportClass *c = &plan->classes[g_array_index (order, guint, i)];

      jw_begin (&jw, '{');
      JW_INT (&jw, "index", i);
      JW_STR (&jw, "name", c->label);
      JW_STR (&jw, "folder", c->folder);
      JW_INT (&jw, "n", c->n_entries[plan->train_split]);
      JW_DBL (&jw, "inverse_frequency", c->weight);
      JW_DBL (&jw, "effective_number", c->weight_effective);
      jw_end (&jw, '}');
    }
  jw_end (&jw, ']');
  jw_key (&jw, "inverse_frequency");
  jw_begin (&jw, '[');
  for (guint i = 0; i < order->len; i++)
    jw_double (&jw, plan->classes[g_array_index (order, guint, i)].weight);
  jw_end (&jw, ']');
  jw_key (&jw, "effective_number");
  jw_begin (&jw, '[');
  for (guint i = 0; i < order->len; i++)
    jw_double (&jw, plan->classes[g_array_index (order, guint, i)].weight_effective);
  jw_end (&jw, ']');
  jw_end (&jw, '}');
  g_string_append_c (text, '\n');
  return write_text (w->tmp, "class_weights.json", text, error);
}

static const char *
class_label (const CuratorExportPlan *plan, gint64 class_id)
{
  for (guint k = 0; k < plan->n_classes; k++)
    if (plan->classes[k].class_id == class_id)
      return plan->classes[k].label;
  return NULL;
}

static const char *const drop_words[] = {
  "corrupt: the file could not be read or decoded",
  "missing: the file vanished after indexing",
  "excluded by a person",
  "unlabelled: no label to train on (label them first)",
  "flagged as a likely label error and not reviewed (--flagged drop)",
  "flagged, and the suggestion was below its class's confident threshold (--flagged relabel-if-confident)",
  "undersampled in the training split (--rebalance undersample)",
};
G_STATIC_ASSERT (G_N_ELEMENTS (drop_words) == CURATOR_EXPORT_N_DROPS);

static const char *const label_source_words[] = {
  "relabelled by a person",
  "a suggestion a person accepted",
  "a pseudo-label accepted by self-training",
  "the run's suggestion, above its class threshold (--flagged relabel-if-confident)",
};

static const char *const flagged_words[] = {
  "dropped",
  "exported with their label as given",
  "exported with the suggested label when the classifier's out-of-sample probability of that "
  "class reaches the class's confident threshold (cleanlab's per-class threshold: the mean "
  "probability of the class over the samples labelled with it, from the latest run, with the "
  "labels as they are now); dropped otherwise",
};

static void
card_json (const CuratorExportPlan *plan, const CuratorExportReport *report, GString *text)
{
  const CuratorExportOptions *o = &plan->options;
  Jw jw = { text, 0, FALSE, FALSE };

  jw_begin (&jw, '{');
  JW_STR (&jw, "tool", "curator");
  JW_STR (&jw, "version", CURATOR_VERSION);
  JW_STR (&jw, "project", plan->project);
  JW_STR (&jw, "dataset_root", plan->root);
  JW_STR (&jw, "project_time", plan->project_time);
  jw_key (&jw, "run");
  if (plan->run_id > 0)
    jw_int (&jw, plan->run_id);
  else
    jw_string (&jw, NULL);
  JW_INT (&jw, "seed", (gint64) o->seed);

  jw_key (&jw, "options");
  jw_begin (&jw, '{');
  jw_key (&jw, "split");
  jw_begin (&jw, '[');
  for (guint s = 0; s < o->n_splits; s++)
    {
      jw_begin (&jw, '{');
      JW_STR (&jw, "name", o->split_names[s]);
      JW_DBL (&jw, "fraction", o->split_fractions[s]);
      jw_end (&jw, '}');
    }
  jw_end (&jw, ']');
  JW_BOOL (&jw, "keep_splits", o->keep_splits);
  JW_STR (&jw, "flagged", curator_export_flagged_to_string (o->flagged));
  JW_STR (&jw, "rebalance", curator_export_rebalance_to_string (o->rebalance));
  JW_STR (&jw, "target", target_names[o->target]);
  if (o->target == CURATOR_EXPORT_TARGET_COUNT)
    JW_INT (&jw, "target_count", o->target_count);
  JW_STR (&jw, "layout", curator_export_layout_to_string (o->layout));
  if (o->exporter != NULL)
    JW_STR (&jw, "exporter", o->exporter);
  JW_STR (&jw, "files", curator_export_files_to_string (o->files));
  JW_INT (&jw, "phash_radius", o->phash_radius);
  {
    g_autofree char *mask = curator_issues_to_string (o->flag_mask);

    JW_STR (&jw, "flagged_issues", mask);
  }
  jw_end (&jw, '}');

  jw_key (&jw, "policies");
  jw_begin (&jw, '{');
  JW_STR (&jw, "corrupt_and_missing", "never exported");
  JW_STR (&jw, "excluded", "dropped");
  JW_STR (&jw, "unlabelled", "not exported");
  JW_STR (&jw, "relabelled_or_accepted", "exported with the new label");
  JW_STR (&jw, "confirmed", "exported with the confirmed label");
  JW_STR (&jw, "unreviewed_flagged", flagged_words[o->flagged]);
  JW_STR (&jw, "splits", "stratified per class by largest remainder; exact, perceptual-hash and "
                         "feature-space duplicates joined into groups that never span two splits");
  JW_STR (&jw, "rebalancing", "training split only; other splits keep the true class distribution");
  jw_end (&jw, '}');

  jw_key (&jw, "splits");
  jw_begin (&jw, '[');
  for (guint s = 0; s < plan->n_splits; s++)
    {
      const CuratorExportSplit *split = &plan->splits[s];

      jw_begin (&jw, '{');
      JW_STR (&jw, "name", split->name);
      JW_STR (&jw, "folder", split->folder);
      JW_DBL (&jw, "fraction", split->fraction);
      JW_BOOL (&jw, "kept_from_source", split->kept);
      JW_BOOL (&jw, "training", s == plan->train_split);
      JW_INT (&jw, "samples", split->n_samples);
      JW_INT (&jw, "entries", split->n_entries);
      jw_end (&jw, '}');
    }
  jw_end (&jw, ']');
  JW_INT (&jw, "rebalance_target", plan->rebalance_target);

  jw_key (&jw, "classes");
  jw_begin (&jw, '[');
  for (guint k = 0; k < plan->n_classes; k++)
    {
      const CuratorExportClass *c = &plan->classes[k];

      jw_begin (&jw, '{');
      JW_STR (&jw, "name", c->label);
      JW_STR (&jw, "folder", c->folder);
      jw_key (&jw, "before");
      jw_begin (&jw, '{');
      JW_INT (&jw, "given", c->n_given);
      if (plan->n_source_splits > 0)
        {
          jw_key (&jw, "by_source_split");
          jw_begin (&jw, '{');
          for (guint t = 0; t < plan->n_source_splits; t++)
            JW_INT (&jw, plan->source_splits[t], c->n_given_by_source_split[t]);
          jw_end (&jw, '}');
          JW_INT (&jw, "without_source_split", c->n_given_by_source_split[plan->n_source_splits]);
        }
      jw_end (&jw, '}');
      jw_key (&jw, "after");
      jw_begin (&jw, '{');
      for (guint s = 0; s < plan->n_splits; s++)
        {
          jw_key (&jw, plan->splits[s].name);
          jw_begin (&jw, '{');
          JW_INT (&jw, "samples", c->n_samples[s]);
          JW_INT (&jw, "entries", c->n_entries[s]);
          jw_end (&jw, '}');
        }
      jw_end (&jw, '}');
      if (o->rebalance == CURATOR_EXPORT_REBALANCE_WEIGHTS)
        {
          JW_DBL (&jw, "weight_inverse_frequency", c->weight);
          JW_DBL (&jw, "weight_effective_number", c->weight_effective);
        }
      jw_key (&jw, "remaining_noise");
      if (isfinite (c->noise))
        {
          jw_begin (&jw, '{');
          JW_DBL (&jw, "estimate", c->noise);
          JW_INT (&jw, "suspect", c->n_suspect);
          JW_INT (&jw, "scored", c->n_scored);
          jw_end (&jw, '}');
        }
      else
        jw_string (&jw, NULL);
      jw_end (&jw, '}');
    }
  jw_end (&jw, ']');
  JW_STR (&jw, "remaining_noise_method",
          plan->run_id > 0
          ? "exported samples the latest run scored and no person reviewed whose probability of another "
            "class reaches that class's confident threshold and exceeds that of their label (cleanlab's "
            "num_label_issues rule), divided by the exported samples the run scored; it counts the "
            "classifier's own confusions too, so a weak classifier makes it high"
          : "none: the project has no finished analysis run");

  jw_key (&jw, "removed_counts");
  jw_begin (&jw, '{');
  for (guint d = 0; d < CURATOR_EXPORT_N_DROPS; d++)
    JW_INT (&jw, drop_names[d], plan->n_removed_by[d]);
  jw_end (&jw, '}');
  jw_key (&jw, "removed");
  jw_begin (&jw, '[');
  for (guint i = 0; i < plan->removals->len; i++)
    {
      const CuratorExportRemoval *r = &g_array_index (plan->removals, CuratorExportRemoval, i);

      jw_begin (&jw, '{');
      JW_INT (&jw, "sample", r->sample_id);
      JW_STR (&jw, "path", r->path);
      JW_STR (&jw, "label", class_label (plan, r->label));
      JW_STR (&jw, "why", drop_names[r->why]);
      if (r->detail != NULL)
        JW_STR (&jw, "detail", r->detail);
      jw_end (&jw, '}');
    }
  jw_end (&jw, ']');

  jw_key (&jw, "relabelled");
  jw_begin (&jw, '[');
  for (guint i = 0; i < plan->relabels->len; i++)
    {
      const CuratorExportRelabel *r = &g_array_index (plan->relabels, CuratorExportRelabel, i);

      jw_begin (&jw, '{');
      JW_INT (&jw, "sample", r->sample_id);
      JW_STR (&jw, "path", r->path);
      JW_STR (&jw, "old", class_label (plan, r->old_label));
      JW_STR (&jw, "new", class_label (plan, r->new_label));
      JW_STR (&jw, "source", curator_export_label_source_to_string (r->source));
      if (r->source == CURATOR_EXPORT_LABEL_POLICY)
        {
          JW_DBL (&jw, "confidence", r->confidence);
          JW_DBL (&jw, "threshold", r->threshold);
        }
      jw_end (&jw, '}');
    }
  jw_end (&jw, ']');
  JW_INT (&jw, "flagged_kept", plan->n_flagged_kept);
  JW_INT (&jw, "confirmed", plan->n_confirmed);

  jw_key (&jw, "duplicates");
  jw_begin (&jw, '{');
  JW_INT (&jw, "groups", plan->n_groups);
  JW_INT (&jw, "samples_in_groups", plan->n_grouped);
  jw_end (&jw, '}');
  JW_INT (&jw, "leaks_total", plan->n_leaks);
  jw_key (&jw, "leaks");
  jw_begin (&jw, '[');
  for (guint i = 0; i < plan->leaks->len; i++)
    {
      const CuratorExportLeak *l = &g_array_index (plan->leaks, CuratorExportLeak, i);

      jw_begin (&jw, '{');
      JW_INT (&jw, "a", l->sample_a);
      JW_INT (&jw, "b", l->sample_b);
      JW_STR (&jw, "split_a", plan->splits[l->split_a].name);
      JW_STR (&jw, "split_b", plan->splits[l->split_b].name);
      JW_STR (&jw, "reason", l->reason);
      if (l->distance >= 0)
        JW_INT (&jw, "phash_distance", l->distance);
      jw_end (&jw, '}');
    }
  jw_end (&jw, ']');

  jw_key (&jw, "files");
  jw_begin (&jw, '{');
  JW_INT (&jw, "hard_links", report->n_linked);
  JW_INT (&jw, "symbolic_links", report->n_symlinked);
  JW_INT (&jw, "copies", report->n_copied);
  JW_INT (&jw, "copies_where_a_link_was_impossible", report->n_copy_fallbacks);
  jw_end (&jw, '}');
  jw_end (&jw, '}');
  g_string_append_c (text, '\n');
}

#define CARD_MAX_ROWS 50

static void
card_markdown (const CuratorExportPlan *plan, const CuratorExportReport *report, GString *md)
{
  const CuratorExportOptions *o = &plan->options;
  gsize n_removed = plan->removals->len;
  g_autofree char *project = md_cell (plan->project);

  g_string_append (md, "# Dataset card\n\n");
  g_string_append_printf (md, "Exported by Curator %s from the project `%s`", CURATOR_VERSION, project);
  if (plan->project_time != NULL)
    g_string_append_printf (md, " as it was at %s (its last change)", plan->project_time);
  g_string_append (md, ".\n");
  if (plan->run_id > 0)
    g_string_append_printf (md, "Flags, suggestions and noise estimates come from analysis run %" G_GINT64_FORMAT ".\n",
                            plan->run_id);
  else
    g_string_append (md, "The project had no finished analysis run: nothing was flagged, and the "
                         "remaining noise is not estimated.\n");

  g_string_append (md, "\n## Options\n\n");
  g_string_append (md, "- split:");
  for (guint s = 0; s < o->n_splits; s++)
    {
      g_string_append_printf (md, "%s %s=", s > 0 ? "," : "", o->split_names[s]);
      format_double (md, o->split_fractions[s]);
    }
  g_string_append_printf (md, "%s\n", o->keep_splits ? " (samples keep the split their source had)" : "");
  g_string_append_printf (md, "- seed: %" G_GUINT64_FORMAT "\n", o->seed);
  g_string_append_printf (md, "- flagged: %s\n", curator_export_flagged_to_string (o->flagged));
  g_string_append_printf (md, "- rebalance: %s", curator_export_rebalance_to_string (o->rebalance));
  if (plan->rebalance_target > 0)
    g_string_append_printf (md, " (target %" G_GINT64_FORMAT " per class, %s)", plan->rebalance_target,
                            target_names[o->target]);
  g_string_append_printf (md, "\n- layout: %s\n- files: %s\n- perceptual-hash radius: %d\n",
                          curator_export_layout_to_string (o->layout),
                          curator_export_files_to_string (o->files), o->phash_radius);
  if (o->exporter != NULL)
    g_string_append_printf (md, "- also written by the exporter: %s\n", o->exporter);

  g_string_append (md, "\n## What was done\n\n");
  g_string_append (md, "- Corrupt and missing files are never exported; samples a person excluded are dropped.\n");
  g_string_append (md, "- Unlabelled samples are not exported: this is a dataset for supervised training.\n");
  g_string_append (md, "- Labels a person chose or accepted are used; confirmed labels are kept.\n");
  g_string_append_printf (md, "- Unreviewed samples flagged as likely label errors are %s.\n", flagged_words[o->flagged]);
  g_string_append (md, "- Splits are stratified per class (largest remainder). Exact duplicates (same pixels), "
                       "perceptual-hash near duplicates and feature-space near duplicates form groups, and a "
                       "group is never split across two splits");
  g_string_append (md, o->keep_splits ? " unless the source's own splits put it there (see the leak report).\n"
                                      : ".\n");
  g_string_append_printf (md, "- Only the training split (%s) is rebalanced; the others keep the true class "
                          "distribution.\n", plan->splits[plan->train_split].name);
  if (o->rebalance == CURATOR_EXPORT_REBALANCE_OVERSAMPLE)
    g_string_append (md, "- Oversampling repeats samples of smaller classes: as extra files named `__repN` "
                         "(hard links to the same bytes, or links/copies as --files says) in imagefolder and "
                         "jsonl layouts, as repeated rows in csv.\n");
  if (o->rebalance == CURATOR_EXPORT_REBALANCE_WEIGHTS)
    g_string_append_printf (md, "- `class_weights.json` holds N/(K n_k) and effective-number weights "
                            "(beta = %g, Cui et al. 2019) for the training split.\n", CURATOR_EXPORT_WEIGHTS_BETA);

  g_string_append (md, "\n## Classes\n\n| class | folder | given |");
  for (guint s = 0; s < plan->n_splits; s++)
    {
      g_autofree char *name = md_cell (plan->splits[s].name);

      g_string_append_printf (md, " %s |", name);
    }
  g_string_append (md, " remaining noise |\n|---|---|---:|");
  for (guint s = 0; s < plan->n_splits; s++)
    g_string_append (md, "---:|");
  g_string_append (md, "---:|\n");
  for (guint k = 0; k < plan->n_classes; k++)
    {
      const CuratorExportClass *c = &plan->classes[k];
      g_autofree char *name = md_cell (c->name);
      g_autofree char *folder = md_cell (c->folder);

      g_string_append_printf (md, "| %s | %s | %" G_GINT64_FORMAT " |", name, folder, c->n_given);
      for (guint s = 0; s < plan->n_splits; s++)
        {
          g_string_append_printf (md, " %" G_GINT64_FORMAT, c->n_samples[s]);
          if (c->n_entries[s] != c->n_samples[s])
            g_string_append_printf (md, " → %" G_GINT64_FORMAT, c->n_entries[s]);
          g_string_append (md, " |");
        }
      if (isfinite (c->noise))
        g_string_append_printf (md, " %.1f%% (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT ") |\n",
                                100.0 * c->noise, c->n_suspect, c->n_scored);
      else
        g_string_append (md, " none |\n");
    }
  g_string_append (md, "\n*given*: samples with this label before curation. Split columns: samples, and "
                       "→ entries after rebalancing where they differ. *remaining noise*: ");
  g_string_append (md, plan->run_id > 0
                   ? "exported samples the latest run scored and no person reviewed that are still confidently "
                     "another class (cleanlab's num_label_issues rule), of those it scored. The classifier's "
                     "own confusions count too: with a weak classifier this runs high.\n"
                   : "none estimated (no analysis run).\n");

  g_string_append_printf (md, "\n## Removed (%" G_GSIZE_FORMAT ")\n\n", n_removed);
  for (guint d = 0; d < CURATOR_EXPORT_N_DROPS; d++)
    if (plan->n_removed_by[d] > 0)
      g_string_append_printf (md, "- %" G_GSIZE_FORMAT " %s\n", plan->n_removed_by[d], drop_words[d]);
  if (n_removed > 0)
    {
      g_string_append (md, "\n| sample | path | label | why |\n|---:|---|---|---|\n");
      for (guint i = 0; i < MIN (n_removed, CARD_MAX_ROWS); i++)
        {
          const CuratorExportRemoval *r = &g_array_index (plan->removals, CuratorExportRemoval, i);
          g_autofree char *path = md_cell (r->path);
          g_autofree char *label = md_cell (class_label (plan, r->label));

          g_string_append_printf (md, "| %" G_GINT64_FORMAT " | %s | %s | %s |\n", r->sample_id, path, label,
                                  drop_names[r->why]);
        }
      if (n_removed > CARD_MAX_ROWS)
        g_string_append_printf (md, "\n…and %" G_GSIZE_FORMAT " more: every one is in curation.json.\n",
                                n_removed - CARD_MAX_ROWS);
    }

  g_string_append_printf (md, "\n## Relabelled (%u)\n\n", plan->relabels->len);
  if (plan->relabels->len > 0)
    {
      g_string_append (md, "| sample | path | old | new | decided by |\n|---:|---|---|---|---|\n");
      for (guint i = 0; i < MIN (plan->relabels->len, CARD_MAX_ROWS); i++)
        {
          const CuratorExportRelabel *r = &g_array_index (plan->relabels, CuratorExportRelabel, i);
          g_autofree char *path = md_cell (r->path);
          g_autofree char *old_label = md_cell (class_label (plan, r->old_label));
          g_autofree char *new_label = md_cell (class_label (plan, r->new_label));

          g_string_append_printf (md, "| %" G_GINT64_FORMAT " | %s | %s | %s | %s |\n", r->sample_id, path,
                                  old_label, new_label, label_source_words[r->source]);
        }
      if (plan->relabels->len > CARD_MAX_ROWS)
        g_string_append_printf (md, "\n…and %u more: every one is in curation.json.\n",
                                plan->relabels->len - CARD_MAX_ROWS);
    }
  if (plan->n_flagged_kept > 0)
    g_string_append_printf (md, "\n%" G_GSIZE_FORMAT " flagged samples nobody reviewed were kept with their "
                            "label (--flagged keep).\n", plan->n_flagged_kept);

  g_string_append_printf (md, "\n## Leak report\n\n%" G_GSIZE_FORMAT " duplicate groups hold %" G_GSIZE_FORMAT
                          " exported samples. ", plan->n_groups, plan->n_grouped);
  if (plan->n_leaks == 0)
    g_string_append (md, "No pair of duplicates is split across two splits.\n");
  else
    {
      g_string_append_printf (md, "%" G_GSIZE_FORMAT " pairs of duplicates sit in different splits "
                              "(the source's own splits, kept with --keep-splits):\n\n"
                              "| sample | split | sample | split | reason |\n|---:|---|---:|---|---|\n",
                              plan->n_leaks);
      for (guint i = 0; i < MIN (plan->leaks->len, CARD_MAX_ROWS); i++)
        {
          const CuratorExportLeak *l = &g_array_index (plan->leaks, CuratorExportLeak, i);

          g_string_append_printf (md, "| %" G_GINT64_FORMAT " | %s | %" G_GINT64_FORMAT " | %s | %s |\n",
                                  l->sample_a, plan->splits[l->split_a].name, l->sample_b,
                                  plan->splits[l->split_b].name, l->reason);
        }
      if (plan->n_leaks > CARD_MAX_ROWS)
        g_string_append (md, "\nThe rest are in curation.json.\n");
    }

  g_string_append (md, "\n## Files\n\n");
  switch (o->files)
    {
    case CURATOR_EXPORT_FILES_LINK:
      g_string_append_printf (md, "%" G_GSIZE_FORMAT " hard links to the source files.", report->n_linked);
      if (report->n_copy_fallbacks > 0)
        g_string_append_printf (md, " %" G_GSIZE_FORMAT " files were copied instead, because a hard link "
                                "was impossible (another file system).", report->n_copy_fallbacks);
      g_string_append (md, " A hard link is the same file: editing it in place edits the source.\n");
      break;
    case CURATOR_EXPORT_FILES_SYMLINK:
      g_string_append_printf (md, "%" G_GSIZE_FORMAT " symbolic links to the source files (absolute paths).\n",
                              report->n_symlinked);
      break;
    case CURATOR_EXPORT_FILES_COPY:
      g_string_append_printf (md, "%" G_GSIZE_FORMAT " copies of the source files.\n", report->n_copied);
      break;
    case CURATOR_EXPORT_FILES_NONE:
    default:
      g_string_append (md, "No image files: the manifests name the source files by absolute path.\n");
      break;
    }
  g_string_append (md, "`sources.csv` maps every exported file to its sample in the project; "
                       "`curation.json` holds all of the above for scripts.\n");
}

static gboolean
write_card (Writer *w, GError **error)
{
  g_autoptr(GString) json = g_string_new (NULL);
  g_autoptr(GString) md = g_string_new (NULL);

  card_json (w->plan, w->report, json);
  card_markdown (w->plan, w->report, md);
  return write_text (w->tmp, "curation.json", json, error) &&
         write_text (w->tmp, "README.md", md, error);
}

/* An earlier export (its curation.json says Curator wrote it) or an empty
 * folder: the only things --force replaces. */
static gboolean
replaceable (const char *out, GError **error)
{
  g_autofree char *card = g_build_filename (out, "curation.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GDir) dir = NULL;
  JsonNode *root;
  GStatBuf st;

  if (g_lstat (out, &st) != 0)
    return set_io_error (error, errno, "cannot look at %s", out);
  if (S_ISDIR (st.st_mode))
    {
      dir = g_dir_open (out, 0, NULL);
      if (dir != NULL && g_dir_read_name (dir) == NULL)
        return TRUE;
      if (json_parser_load_from_file (parser, card, NULL) &&
          (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root) &&
          g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (root), "tool", ""),
                     "curator") == 0)
        return TRUE;
    }
  g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
               "%s exists and is not an earlier Curator export: not replacing it, even with --force", out);
  return FALSE;
}

/* Puts the finished @tmp in place of @out (which exists when @replace). */
static gboolean
commit_export (const char *tmp, const char *out, gboolean replace, GError **error)
{
  if (!replace)
    {
      if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE) == 0)
        return TRUE;
      if (errno != EINVAL && errno != ENOSYS)
        return set_io_error (error, errno, "cannot rename %s to %s", tmp, out);
      /* No RENAME_NOREPLACE here: check, then rename (a small window). */
      if (g_file_test (out, G_FILE_TEST_EXISTS))
        return set_io_error (error, EEXIST, "cannot rename %s to %s", tmp, out);
      if (g_rename (tmp, out) != 0)
        return set_io_error (error, errno, "cannot rename %s to %s", tmp, out);
      return TRUE;
    }

  /* One atomic swap where the file system allows it; the old export then
   * sits at @tmp and is removed by the caller. */
  if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, out, RENAME_EXCHANGE) == 0)
    return TRUE;
  if (errno != EINVAL && errno != ENOSYS)
    return set_io_error (error, errno, "cannot put %s in place of %s", tmp, out);
  {
    g_autofree char *old = g_strconcat (tmp, ".old", NULL);

    if (g_rename (out, old) != 0)
      return set_io_error (error, errno, "cannot move the old %s aside", out);
    if (g_rename (tmp, out) != 0)
      {
        int errsv = errno;

        g_rename (old, out);
        return set_io_error (error, errsv, "cannot rename %s to %s", tmp, out);
      }
    /* The caller removes @tmp: let it find the old export there. */
    if (g_rename (old, tmp) != 0)
      remove_tree (old);
  }
  return TRUE;
}

/* Locks the temporary folder @path for as long as the returned descriptor is
 * open (flock on the folder itself, so nothing extra lands in the export):
 * the mark of a writer still alive. -1 with errno when the folder cannot be
 * opened or someone else holds it. */
static int
lock_temp_folder (const char *path)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0)
    return -1;
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int errsv = errno;

      close (fd);
      errno = errsv;
      return -1;
    }
  return fd;
}

/* Removes the temporary folders of earlier exports to @base that were killed
 * before they could clean up: a folder whose lock can be taken has no live
 * writer. One another export is still writing stays. What cannot be removed
 * becomes a note, never an error: this is tidying, not the export. */
static void
remove_stale_temp_folders (const char *parent, const char *base, CuratorExportReport *report)
{
  g_autofree char *prefix = g_strdup_printf (".%s.curator-tmp-", base);
  g_autoptr(GDir) dir = g_dir_open (parent, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      GStatBuf st;
      int fd;

      if (!g_str_has_prefix (name, prefix))
        continue;
      path = g_build_filename (parent, name, NULL);
      if (g_lstat (path, &st) != 0 || !S_ISDIR (st.st_mode))
        continue;
      fd = lock_temp_folder (path);
      if (fd < 0)
        continue;   /* a live writer, or not ours to open */
      if (remove_tree (path))
        g_ptr_array_add (report->notes,
                         g_strdup_printf ("removed %s, left by an export that was interrupted", path));
      else
        g_ptr_array_add (report->notes,
                         g_strdup_printf ("could not fully remove %s, left by an interrupted export", path));
      close (fd);
    }
}

gboolean
curator_export_write (const CuratorExportPlan *plan,
                      CuratorExportReport     *report,
                      GCancellable            *cancellable,
                      CuratorProgressFunc      progress,
                      gpointer                 progress_data,
                      GError                 **error)
{
  CuratorExportReport local_report = { 0 };
  g_autofree char *out = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp = NULL;
  Writer w = { 0 };
  GStatBuf st;
  gboolean exists, ok;
  int lock_fd = -1;

  g_return_val_if_fail (plan != NULL, FALSE);
  g_return_val_if_fail (plan->options.out != NULL, FALSE);

  if (report == NULL)
    report = &local_report;
  else
    curator_export_report_clear (report);
  report->notes = g_ptr_array_new_with_free_func (g_free);

  out = g_canonicalize_filename (plan->options.out, NULL);
  parent = g_path_get_dirname (out);
  base = g_path_get_basename (out);
  report->out = g_strdup (out);
  if (strcmp (out, "/") == 0 || strcmp (out, parent) == 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID, "cannot export to %s", out);
      goto fail;
    }
  if (plan->entries->len == 0)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "nothing to export: every one of the project's %u samples is left out "
                   "(corrupt, missing, excluded, unlabelled or flagged)", plan->removals->len);
      goto fail;
    }
  if (plan->root != NULL)
    {
      /* An export inside the dataset would be read as data by the next
       * index (OUT/train/CLASS/... as a class called OUT). */
      g_autofree char *root_real = realpath (plan->root, NULL);
      g_autofree char *parent_real = realpath (parent, NULL);
      g_autofree char *out_real = parent_real != NULL ? g_build_filename (parent_real, base, NULL) : NULL;

      if (root_real != NULL && out_real != NULL &&
          (strcmp (out_real, root_real) == 0 ||
           (g_str_has_prefix (out_real, root_real) && out_real[strlen (root_real)] == '/') ||
           (g_str_has_prefix (root_real, out_real) && root_real[strlen (out_real)] == '/')))
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "%s overlaps the dataset folder %s: export somewhere outside it", out, plan->root);
          goto fail;
        }
    }
  exists = g_lstat (out, &st) == 0;
  if (exists && !plan->options.force)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s already exists: use --force to replace an earlier export", out);
      goto fail;
    }
  if (exists && !replaceable (out, error))
    goto fail;
  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      set_io_error (error, errno, "cannot create %s", parent);
      goto fail;
    }

  remove_stale_temp_folders (parent, base, report);
  /* Same folder as OUT: the same file system, so the final rename is atomic. */
  tmp = g_strdup_printf ("%s/.%s.curator-tmp-XXXXXX", parent, base);
  if (g_mkdtemp_full (tmp, 0755) == NULL)
    {
      set_io_error (error, errno, "cannot create the export next to %s", out);
      goto fail;
    }
  /* Held until the end: another export's tidying leaves this folder alone.
   * (An export that tidies between mkdtemp and here sees a folder it may
   * take: the lock fails below and this export stops, never the other.) */
  lock_fd = lock_temp_folder (tmp);
  if (lock_fd < 0)
    {
      set_io_error (error, errno, "cannot lock %s", tmp);
      remove_tree (tmp);
      goto fail;
    }

  w.plan = plan;
  w.tmp = tmp;
  w.report = report;
  w.cancellable = cancellable;
  w.progress = progress;
  w.progress_data = progress_data;
  writer_progress (&w, 0.0, "Writing files", TRUE);
  ok = write_files (&w, error);
  if (ok)
    {
      writer_progress (&w, 0.9, "Writing manifests", TRUE);
      /* Exporters last: curator-plugin.h promises them the files,
       * sources.csv and the card already in place. */
      ok = write_manifests (&w, error) &&
           (plan->options.rebalance != CURATOR_EXPORT_REBALANCE_WEIGHTS || write_weights (&w, error)) &&
           write_card (&w, error) &&
           write_exporters (&w, error);
    }
  if (ok && g_cancellable_set_error_if_cancelled (cancellable, error))
    ok = FALSE;
  if (ok)
    ok = commit_export (tmp, out, exists, error);
  if (!ok)
    {
      remove_tree (tmp);
      goto fail;
    }
  if (exists)
    {
      report->replaced = TRUE;
      if (!remove_tree (tmp))
        g_ptr_array_add (report->notes, g_strdup_printf ("could not remove the replaced export fully: %s", tmp));
    }
  for (guint i = 0; i < plan->entries->len; i++)
    if (g_array_index (plan->entries, CuratorExportEntry, i).repeat == 0)
      report->n_samples++;
  report->n_entries = plan->entries->len;
  if (report->n_copy_fallbacks > 0)
    g_ptr_array_add (report->notes,
                     g_strdup_printf ("%" G_GSIZE_FORMAT " files were copied because a hard link was "
                                      "impossible (the export is on another file system than the dataset)",
                                      report->n_copy_fallbacks));
  writer_progress (&w, 1.0, "Done", TRUE);
  close (lock_fd);
  curator_export_report_clear (&local_report);
  return TRUE;

fail:
  if (lock_fd >= 0)
    close (lock_fd);
  curator_export_report_clear (&local_report);
  return FALSE;
}

gboolean
curator_export_run (CuratorDb                  *db,
                    const CuratorExportOptions *options,
                    CuratorExportReport        *report,
                    CuratorExportPlan         **plan_out,
                    GCancellable               *cancellable,
                    CuratorProgressFunc         progress,
                    gpointer                    progress_data,
                    GError                    **error)
{
  g_autoptr(CuratorExportPlan) plan = curator_export_plan_new (db, options, error);

  if (plan == NULL)
    return FALSE;
  if (!curator_export_write (plan, report, cancellable, progress, progress_data, error))
    return FALSE;
  if (plan_out != NULL)
    *plan_out = g_steal_pointer (&plan);
  return TRUE;
}

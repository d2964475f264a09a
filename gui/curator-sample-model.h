/* curator-sample-model.h: the project's samples as a GListModel.
 *
 * The model reads every sample, the classes and the latest finished run's
 * scores once (load), derives each sample's badges from the whole project
 * (exact duplicates by pixel hash, minority classes, suggestions), and
 * presents the samples that pass the current filter, class, search and sort.
 * Filtering and sorting work on plain records and replace the whole list in
 * one items-changed; GObjects are created only for the positions a view asks
 * for and are kept, so an item keeps its identity across filter changes.
 *
 * After a decision the caller refreshes the touched samples; they stay where
 * they are in the list (a reviewed sample does not jump away under the
 * cursor) until the filter or sort is applied again.
 *
 * Main thread only; the CuratorDb passed in is borrowed for the call. */
#pragma once

#include <gio/gio.h>

#include "curator-db.h"
#include "curator-sample-object.h"

G_BEGIN_DECLS

typedef enum {
  CURATOR_SAMPLE_FILTER_ALL,
  CURATOR_SAMPLE_FILTER_FLAGGED,
  CURATOR_SAMPLE_FILTER_SUGGESTED,
  CURATOR_SAMPLE_FILTER_OUTLIERS,
  CURATOR_SAMPLE_FILTER_DUPLICATES,
  CURATOR_SAMPLE_FILTER_QUALITY,
  CURATOR_SAMPLE_FILTER_MINORITY,
  CURATOR_SAMPLE_FILTER_DECIDED,
  CURATOR_SAMPLE_FILTER_EXCLUDED,
  CURATOR_SAMPLE_FILTER_CORRUPT,
  CURATOR_SAMPLE_N_FILTERS
} CuratorSampleFilter;

/* Title a person reads in the sidebar. */
const char *curator_sample_filter_get_title (CuratorSampleFilter filter);

typedef enum {
  CURATOR_SAMPLE_SORT_LABEL_QUALITY,  /* worst first; samples without a score last */
  CURATOR_SAMPLE_SORT_CONFIDENCE,     /* most confident suggestion first */
  CURATOR_SAMPLE_SORT_FILE_NAME,      /* file name, then path */
  CURATOR_SAMPLE_N_SORTS
} CuratorSampleSort;

/* A minority class holds fewer current samples than this share of the median
 * class (used only while the run carries no minority flags of its own). */
#define CURATOR_MINORITY_SHARE 0.5

#define CURATOR_TYPE_SAMPLE_MODEL (curator_sample_model_get_type ())
G_DECLARE_FINAL_TYPE (CuratorSampleModel, curator_sample_model, CURATOR, SAMPLE_MODEL, GObject)

CuratorSampleModel *curator_sample_model_new (void);

/* Reads everything again from @db and re-applies filter and sort. */
gboolean curator_sample_model_load             (CuratorSampleModel *self,
                                                CuratorDb          *db,
                                                GError            **error);
/* Empties the model (no project). */
void     curator_sample_model_clear            (CuratorSampleModel *self);
/* Re-reads @n_ids samples and the class counts after decisions; their
 * objects emit ::changed; positions do not change. */
gboolean curator_sample_model_refresh_samples  (CuratorSampleModel *self,
                                                CuratorDb          *db,
                                                const gint64       *ids,
                                                guint               n_ids,
                                                GError            **error);

void                curator_sample_model_set_filter (CuratorSampleModel *self, CuratorSampleFilter filter);
CuratorSampleFilter curator_sample_model_get_filter (CuratorSampleModel *self);
/* @class_id: 0 = every class, -1 = unlabelled only. Matches the current label. */
void                curator_sample_model_set_class  (CuratorSampleModel *self, gint64 class_id);
gint64              curator_sample_model_get_class  (CuratorSampleModel *self);
/* Case-insensitive substring of the path; NULL or "" = no search. */
void                curator_sample_model_set_search (CuratorSampleModel *self, const char *text);
void                curator_sample_model_set_sort   (CuratorSampleModel *self, CuratorSampleSort sort);
CuratorSampleSort   curator_sample_model_get_sort   (CuratorSampleModel *self);
/* Applies filter and sort again (reviewed samples that no longer match go). */
void                curator_sample_model_refilter   (CuratorSampleModel *self);

/* Shows only samples given @given_label whose estimated true label is
 * @true_label: the suggestion when there is one, else the given label (a
 * cell of the noise matrix). 0, 0 = no such restriction. */
void                curator_sample_model_set_pair   (CuratorSampleModel *self, gint64 given_label, gint64 true_label);
/* The noise matrix over the classes (in get_classes order): @counts gets
 * n_classes * n_classes cells, row = given label, column = estimated true
 * label, of readable, included, labelled samples. (transfer full) */
guint              *curator_sample_model_count_pairs (CuratorSampleModel *self, guint *n_classes);

/* Number of samples in the whole project matching @filter (ignores class and search). */
guint    curator_sample_model_count         (CuratorSampleModel *self, CuratorSampleFilter filter);
guint    curator_sample_model_get_n_samples (CuratorSampleModel *self);

/* (transfer none) the classes (CuratorDbClass), ordered by position; never NULL. */
GPtrArray            *curator_sample_model_get_classes      (CuratorSampleModel *self);
const CuratorDbClass *curator_sample_model_lookup_class     (CuratorSampleModel *self, gint64 class_id);
/* The class name, "unlabelled" for 0, "?" for an unknown id. */
const char           *curator_sample_model_get_class_name   (CuratorSampleModel *self, gint64 class_id);
gboolean              curator_sample_model_is_minority      (CuratorSampleModel *self, gint64 class_id);
/* The key that relabels to @klass: its own hotkey when it has one, else by
 * position 1..9, 0, then letters not used by other commands. NULL when the
 * class has none (very many classes). (transfer full) */
char                 *curator_sample_model_dup_hotkey       (CuratorSampleModel *self, const CuratorDbClass *klass);
/* The class a key selects; 0 when none. */
gint64                curator_sample_model_class_for_hotkey (CuratorSampleModel *self, const char *key);

/* The other samples with the same pixels, or in the same duplicate group of
 * the latest run, in id order, at most @max_n. (transfer container) of
 * borrowed CuratorSampleInfo. */
GPtrArray            *curator_sample_model_list_duplicates  (CuratorSampleModel *self,
                                                             const CuratorSampleInfo *info,
                                                             guint max_n);

/* (transfer none) The latest finished run, or NULL. */
const CuratorDbRun *curator_sample_model_get_run (CuratorSampleModel *self);

/* Position of the sample with @sample_id in the current list. */
gboolean             curator_sample_model_find       (CuratorSampleModel *self, gint64 sample_id, guint *position);
/* (transfer none) the record of the sample with @sample_id, or NULL. */
const CuratorSampleInfo *curator_sample_model_lookup_info (CuratorSampleModel *self, gint64 sample_id);
/* (transfer none) the record at @position without creating its object; NULL past the end. */
const CuratorSampleInfo *curator_sample_model_peek_info (CuratorSampleModel *self, guint position);
/* (transfer none) the object at @position, created on demand; NULL past the end. */
CuratorSampleObject *curator_sample_model_get_object (CuratorSampleModel *self, guint position);

/* "12 345": digits grouped by thin spaces, for counts people read. */
char *curator_format_count (gint64 n);

/* Letters that are commands and so never class hotkeys. */
#define CURATOR_RESERVED_KEYS "acxjkzhl"
/* Letters handed out to classes after 1..9, 0, in this order. */
#define CURATOR_CLASS_LETTERS "qwertyuiopsdfgvbnm"

G_END_DECLS

/* curator-export.h: writing a cleaned, rebalanced, leak-free split.
 *
 * The end product of curation is a folder someone trains on. The command
 * line (`curator export`) and the GUI's export dialog both call this code,
 * in two steps so that a dialog can show what will happen before anything is
 * written:
 *
 *   plan   reads the project and decides everything: which samples go out
 *          with which label (and why the others do not), the split of each,
 *          the oversampled repeats or undersampled drops of the training
 *          split, every output file name, the class weights, the leak report
 *          and the estimated noise left. Nothing is written.
 *   write  carries a plan out into a temporary folder next to OUT and renames
 *          it into place at the end, so OUT is either the old export or the
 *          new complete one, never half of one.
 *
 * Policies, each recorded in the dataset card (OUT/README.md) and in
 * OUT/curation.json:
 *   - corrupt and missing samples are never exported; excluded ones are
 *     dropped; unlabelled ones are not exported (the export is for
 *     supervised training; label them first).
 *   - a label a person chose (relabel) or accepted (a suggestion) is used;
 *     a confirmed label is kept; a pseudo-label the model accepted during
 *     self-training is used as the label.
 *   - samples the latest run flagged (CURATOR_ISSUES_KIND_LABEL bits) and no
 *     person reviewed (not verified) follow options->flagged:
 *       drop                  left out
 *       keep                  exported with their label
 *       relabel-if-confident  exported with the suggested label when the
 *                             classifier's out-of-sample probability of the
 *                             suggested class reaches that class's confident
 *                             threshold (cleanlab's per-class threshold: the
 *                             mean probability of class j over the samples
 *                             labelled j, curator_cl_thresholds on the
 *                             latest run's probabilities with the labels as
 *                             they are now); otherwise left out.
 * Splits are stratified per class by largest remainder and group-aware:
 * samples joined by exact duplicates (pixel hash), perceptual-hash near
 * duplicates (Hamming distance <= phash_radius) or the latest run's
 * duplicate groups (which add feature-space near duplicates) form one group
 * (union-find, curator_duplicate_groups), and a group is placed whole.
 * Rebalancing touches the training split only (the split named "train",
 * else the first); val and test keep the true class distribution.
 * A layout's manifests are written by the registry exporter of the same
 * name (curator-builtin-export.c), and options->exporter (a module such as
 * plugins/example-exporter, or another layout) adds its own, both into the
 * temporary folder, so they appear with the export or not at all.
 * Every layout also writes OUT/sources.csv (split,file,label,sample,source,
 * repeat; source relative to the dataset root) mapping each exported file
 * back to its sample.
 *
 * The remaining noise per class is estimated from the latest run's
 * probabilities: the share of exported, scored samples no person reviewed
 * that cleanlab's num_label_issues rule would still count. It includes the
 * classifier's own confusions, so with a weak classifier it runs high (on
 * the 600-image Fashion-MNIST demo, 0.26 estimated for 0.14 true).
 *
 * Determinism: the same project, options and seed give byte-identical
 * manifests and card. No wall-clock time is written anywhere: the card's
 * date is the project's own last change (latest event, run or indexing). */
#pragma once

#include <gio/gio.h>

#include "curator-db.h"
#include "curator-progress.h"

G_BEGIN_DECLS

#define CURATOR_EXPORT_MAX_SPLITS 8

/* Beta of the effective-number class weights (Cui et al., CVPR 2019):
 * E_n = (1 - beta^n) / (1 - beta), weight proportional to 1 / E_n. 0.999 is
 * the value the paper recommends for datasets of thousands per class. */
#define CURATOR_EXPORT_WEIGHTS_BETA 0.999

typedef enum {
  CURATOR_EXPORT_FLAGGED_DROP,
  CURATOR_EXPORT_FLAGGED_KEEP,
  CURATOR_EXPORT_FLAGGED_RELABEL_IF_CONFIDENT,
} CuratorExportFlagged;

typedef enum {
  CURATOR_EXPORT_REBALANCE_NONE,
  CURATOR_EXPORT_REBALANCE_OVERSAMPLE,   /* repeat samples of classes under the target */
  CURATOR_EXPORT_REBALANCE_UNDERSAMPLE,  /* leave out samples of classes over the target */
  CURATOR_EXPORT_REBALANCE_WEIGHTS,      /* keep the samples, write class_weights.json */
} CuratorExportRebalance;

typedef enum {
  CURATOR_EXPORT_TARGET_DEFAULT,  /* max for oversample, min for undersample */
  CURATOR_EXPORT_TARGET_MAX,      /* the largest class in the training split */
  CURATOR_EXPORT_TARGET_MEDIAN,   /* the median class (mean of the middle two, rounded down) */
  CURATOR_EXPORT_TARGET_MIN,      /* the smallest non-empty class */
  CURATOR_EXPORT_TARGET_COUNT,    /* options->target_count */
} CuratorExportTarget;

typedef enum {
  CURATOR_EXPORT_LAYOUT_IMAGEFOLDER,  /* OUT/SPLIT/CLASS/file (torchvision, Keras) */
  CURATOR_EXPORT_LAYOUT_CSV,          /* OUT/labels.csv (split,file,label) + OUT/SPLIT.csv (file,label) */
  CURATOR_EXPORT_LAYOUT_JSONL,        /* OUT/SPLIT/metadata.jsonl (Hugging Face imagefolder) */
} CuratorExportLayout;

typedef enum {
  CURATOR_EXPORT_FILES_LINK,     /* hard links; a copy where a link cannot be made (another file system) */
  CURATOR_EXPORT_FILES_SYMLINK,  /* symbolic links to the source files (absolute) */
  CURATOR_EXPORT_FILES_COPY,
  CURATOR_EXPORT_FILES_NONE,     /* manifests only, naming the source files by absolute path */
} CuratorExportFiles;

/* Names for options, the card and the command line; _from_string returns
 * FALSE for an unknown name and leaves *out alone. */
const char *curator_export_flagged_to_string     (CuratorExportFlagged value);
gboolean    curator_export_flagged_from_string   (const char *name, CuratorExportFlagged *out);
const char *curator_export_rebalance_to_string   (CuratorExportRebalance value);
gboolean    curator_export_rebalance_from_string (const char *name, CuratorExportRebalance *out);
const char *curator_export_layout_to_string      (CuratorExportLayout value);
gboolean    curator_export_layout_from_string    (const char *name, CuratorExportLayout *out);
const char *curator_export_files_to_string       (CuratorExportFiles value);
gboolean    curator_export_files_from_string     (const char *name, CuratorExportFiles *out);

typedef struct {
  char   *out;                                   /* the folder to create (owned) */
  guint   n_splits;
  char   *split_names[CURATOR_EXPORT_MAX_SPLITS];/* owned; safe folder names */
  double  split_fractions[CURATOR_EXPORT_MAX_SPLITS]; /* > 0, sum to 1 */
  gboolean keep_splits;          /* samples whose source had a split keep it */
  CuratorExportFlagged   flagged;
  CuratorExportRebalance rebalance;
  CuratorExportTarget    target;
  gint64                 target_count;           /* for CURATOR_EXPORT_TARGET_COUNT */
  CuratorExportLayout    layout;
  CuratorExportFiles     files;
  guint64  seed;
  gboolean force;                /* replace an existing export at OUT */
  int      phash_radius;         /* CURATOR_PHASH_RADIUS_DEFAULT; < 0: no perceptual-hash pairs */
  guint32  flag_mask;            /* issue bits that make a sample "flagged"; CURATOR_ISSUES_KIND_LABEL */
  char    *exporter;             /* owned; NULL, or an exporter of the plugin registry (a module's
                                  * or a built-in layout's id) whose manifests are written too,
                                  * after the layout's own, inside the export before it is
                                  * renamed into place */
} CuratorExportOptions;

/* Defaults: train/val/test 0.8/0.1/0.1, flagged drop, no rebalancing,
 * imagefolder, hard links, seed 1. @out may be NULL (set it later). */
void     curator_export_options_init  (CuratorExportOptions *options, const char *out);
void     curator_export_options_clear (CuratorExportOptions *options);
/* Parses "80/10/10" (2 parts: train/test; 3 parts: train/val/test) or
 * "train=0.8,val=0.1,test=0.1" (any names, up to CURATOR_EXPORT_MAX_SPLITS;
 * numbers are relative: 80,10,10 and 0.8,0.1,0.1 are the same). Names are
 * letters, digits, '-', '_' and '.', not starting with '.'. INVALID with a
 * message for people. */
gboolean curator_export_options_set_splits (CuratorExportOptions *options,
                                            const char           *text,
                                            GError              **error);
/* Parses "max", "median", "min" or a positive count. */
gboolean curator_export_options_set_target (CuratorExportOptions *options,
                                            const char           *text,
                                            GError              **error);

/* ---- the pure part: stratified, group-aware split assignment ---------- */

/* Assigns each of @n_samples samples to one of @n_splits splits.
 * @labels: [n_samples] class 0..n_classes-1.
 * @groups: [n_samples] group number, 0 = in no group (nullable: no groups).
 *   Members of a group always get the same split, except members already
 *   fixed by the caller (see @splits).
 * @fractions: [n_splits] >= 0, not all 0; relative (normalised here).
 * @splits: in: -1 for a sample to assign, or a fixed split (kept as is); a
 *   free member of a group that has fixed members joins the split most of
 *   them have (the lowest split on a tie). out: every sample's split.
 * Free samples are spread per class by largest remainder over the free
 * samples of that class: without groups, every class's count in every split
 * is within one of its exact share, except that a class with at least as
 * many free samples as there are splits of positive fraction gets at least
 * one in each of them. Groups are placed first, largest first, where they
 * overshoot the targets least. Ties and the choice of which samples go
 * where follow @seed. Returns FALSE (with a critical) on bad arguments. */
gboolean curator_export_assign_splits (const gint   *labels,
                                       const guint  *groups,
                                       gsize         n_samples,
                                       guint         n_classes,
                                       const double *fractions,
                                       guint         n_splits,
                                       guint64       seed,
                                       gint         *splits);

/* Largest-remainder targets for one class: @counts[n_splits] sum to
 * @n_samples, each within one of n_samples * fraction (fractions normalised),
 * then raised to at least one for every split of positive fraction when
 * n_samples allows (taken from the largest). Ties go to the larger fraction,
 * then the earlier split. */
void curator_export_split_targets (gint64        n_samples,
                                   const double *fractions,
                                   guint         n_splits,
                                   gint64       *counts);

/* ---- the plan --------------------------------------------------------- */

typedef struct {
  gint64  class_id;
  char   *name;            /* as in the project */
  char   *label;           /* name as valid UTF-8, for manifests */
  char   *folder;          /* safe folder name, distinct among the classes */
  gint64  n_given;         /* OK samples given this label, before curation */
  gint64 *n_given_by_source_split; /* [plan->n_source_splits + 1]; the last
                                    * counts samples the source gave no split */
  gint64 *n_samples;       /* [n_splits] distinct samples exported per split */
  gint64 *n_entries;       /* [n_splits] manifest entries after rebalancing */
  double  weight;          /* N / (K n_k) over the training split; NaN when not written */
  double  weight_effective;/* effective-number weight, normalised to sum K; NaN as above */
  gint64  n_scored;        /* exported samples the latest run scored */
  gint64  n_suspect;       /* of those, unreviewed, confidently another class (confident
                            * learning's off-diagonal) and not most probable as labelled */
  double  noise;           /* n_suspect / n_scored; NaN without a run or scores */
} CuratorExportClass;

typedef struct {
  char   *name;            /* as asked or as the source had it */
  char   *folder;          /* safe name of the folder (and of SPLIT.csv) */
  double  fraction;        /* asked fraction; NaN for a kept source split */
  gboolean kept;           /* a split the source had (--keep-splits) */
  gint64  n_samples, n_entries;
} CuratorExportSplit;

typedef struct {
  gint64      sample_id;
  char       *path;        /* relative to the dataset root */
  char       *source;      /* absolute source path */
  gint64      n_bytes;     /* size the project recorded */
  guint       split;       /* index into plan->splits */
  guint       klass;       /* index into plan->classes */
  guint       repeat;      /* 0: the sample; 1, 2...: an oversampling repeat */
  char       *file;        /* path inside OUT ('/' separated), or the absolute
                            * source with files none */
} CuratorExportEntry;

/* Why a sample is not in the export. */
typedef enum {
  CURATOR_EXPORT_DROP_CORRUPT,
  CURATOR_EXPORT_DROP_MISSING,
  CURATOR_EXPORT_DROP_EXCLUDED,
  CURATOR_EXPORT_DROP_UNLABELLED,
  CURATOR_EXPORT_DROP_FLAGGED,         /* --flagged drop */
  CURATOR_EXPORT_DROP_NOT_CONFIDENT,   /* --flagged relabel-if-confident, below threshold */
  CURATOR_EXPORT_DROP_UNDERSAMPLED,
} CuratorExportDrop;

#define CURATOR_EXPORT_N_DROPS 7

const char *curator_export_drop_to_string (CuratorExportDrop why);

typedef struct {
  gint64            sample_id;
  char             *path;
  gint64            label;      /* current label (class id), 0 = none */
  CuratorExportDrop why;
  char             *detail;     /* e.g. the corrupt reason; may be NULL */
} CuratorExportRemoval;

/* Where an exported label that differs from the given one came from. */
typedef enum {
  CURATOR_EXPORT_LABEL_HUMAN,     /* a person relabelled it */
  CURATOR_EXPORT_LABEL_ACCEPTED,  /* a person accepted the suggestion */
  CURATOR_EXPORT_LABEL_MODEL,     /* self-training accepted a pseudo-label */
  CURATOR_EXPORT_LABEL_POLICY,    /* --flagged relabel-if-confident */
} CuratorExportLabelSource;

const char *curator_export_label_source_to_string (CuratorExportLabelSource source);

typedef struct {
  gint64  sample_id;
  char   *path;
  gint64  old_label;      /* the given label (class id), 0 = none */
  gint64  new_label;
  CuratorExportLabelSource source;
  double  confidence;     /* policy: the probability of the new label; else NaN */
  double  threshold;      /* policy: its class's confident threshold; else NaN */
} CuratorExportRelabel;

/* A pair of exported samples that are duplicates yet in different splits
 * (only possible when --keep-splits keeps the source's choice). */
typedef struct {
  gint64  sample_a, sample_b;   /* a < b */
  guint   split_a, split_b;
  const char *reason;           /* "exact duplicate", "perceptual-hash near duplicate",
                                 * "feature-space near duplicate" */
  int     distance;             /* Hamming distance of the perceptual hashes, -1 if unknown */
} CuratorExportLeak;

typedef struct {
  CuratorExportOptions options;   /* a copy of what was asked (owned) */
  char     *project;              /* absolute path of the project file */
  char     *root;                 /* dataset root, NULL when never indexed */
  char     *project_time;         /* ISO 8601 UTC of the project's last change; NULL if none */
  gint64    run_id;               /* latest finished run used, 0 = none */

  guint               n_classes;
  CuratorExportClass *classes;    /* [n_classes] in the project's order */
  guint               n_splits;
  CuratorExportSplit *splits;     /* [n_splits] */
  guint               train_split;/* which split rebalancing touches */
  guint               n_source_splits;
  char              **source_splits;   /* [n_source_splits] split names the source had, sorted */
  gint64              rebalance_target;/* per-class count aimed at, 0 = none */

  GArray   *entries;              /* CuratorExportEntry, manifest order: split, class, file */
  GArray   *removals;             /* CuratorExportRemoval, by sample id */
  GArray   *relabels;             /* CuratorExportRelabel, by sample id */
  GArray   *leaks;                /* CuratorExportLeak, at most CURATOR_EXPORT_MAX_LEAKS */
  gsize     n_leaks;              /* every leaking pair, also those not listed */
  gsize     n_removed_by[CURATOR_EXPORT_N_DROPS];
  gsize     n_flagged_kept;       /* unreviewed flagged samples exported as labelled (keep) */
  gsize     n_confirmed;          /* exported samples a person confirmed */
  gsize     n_groups;             /* duplicate groups with more than one exported sample */
  gsize     n_grouped;            /* exported samples in such groups */
} CuratorExportPlan;

#define CURATOR_EXPORT_MAX_LEAKS 10000

void curator_export_plan_free (CuratorExportPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorExportPlan, curator_export_plan_free)

/* Decides everything (see the top of this file); reads the project only.
 * INVALID for options that contradict each other (imagefolder with files
 * none, a target count < 1); NOT_FOUND when files are to be written and the
 * project has no dataset root. A plan may export nothing (a preview shows
 * why); writing it is then refused. (transfer full) */
CuratorExportPlan *curator_export_plan_new (CuratorDb                  *db,
                                            const CuratorExportOptions *options,
                                            GError                    **error);

/* ---- writing ---------------------------------------------------------- */

typedef struct {
  char      *out;               /* absolute path of the export */
  gboolean   replaced;          /* an earlier export at OUT was replaced (--force) */
  gsize      n_samples;         /* distinct samples exported */
  gsize      n_entries;         /* manifest entries, repeats included */
  gsize      n_linked;          /* hard links made */
  gsize      n_symlinked;
  gsize      n_copied;          /* copies asked for (--files copy) */
  gsize      n_copy_fallbacks;  /* copies made where a hard link was impossible */
  GPtrArray *notes;             /* sentences for people (char *) */
} CuratorExportReport;

void curator_export_report_clear (CuratorExportReport *report);

/* Writes @plan (INVALID when it exports nothing): the files, the manifests of its layout, class_weights.json
 * (rebalance weights), README.md and curation.json, all in a temporary
 * folder next to OUT that is renamed to OUT at the end. OUT must not be
 * inside the dataset folder nor contain it (INVALID). An existing OUT is
 * INVALID unless options.force; even then only an earlier export (a folder
 * with a curation.json written by Curator) or an empty folder is replaced,
 * never anything else, and only once the new export is complete. Any
 * failure (a source file vanished or changed size: NOT_FOUND / IO; disk
 * full, read-only target: IO; cancelled: CANCELLED) removes the temporary
 * folder and leaves OUT as it was. @report may be NULL. */
gboolean curator_export_write (const CuratorExportPlan *plan,
                               CuratorExportReport     *report,
                               GCancellable            *cancellable,
                               CuratorProgressFunc      progress,
                               gpointer                 progress_data,
                               GError                 **error);

/* The manifests of @layout for @plan, written into @dir (the export's
 * temporary folder): what the built-in exporters of curator-builtin-export.c
 * run. Private to the core. */
gboolean _curator_export_write_layout (const CuratorExportPlan *plan,
                                       CuratorExportLayout      layout,
                                       const char              *dir,
                                       GError                 **error);

/* curator_export_plan_new + curator_export_write; @plan_out (nullable)
 * receives the plan on success. */
gboolean curator_export_run (CuratorDb                  *db,
                             const CuratorExportOptions *options,
                             CuratorExportReport        *report,
                             CuratorExportPlan         **plan_out,
                             GCancellable               *cancellable,
                             CuratorProgressFunc         progress,
                             gpointer                    progress_data,
                             GError                    **error);

G_END_DECLS

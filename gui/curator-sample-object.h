/* curator-sample-object.h: one sample as the grid and the detail pane see it.
 *
 * CuratorSampleInfo is a plain, reference-counted record of what the project
 * says about a sample (its file facts, labels, decisions and the latest run's
 * score) plus the badges the model derived from the whole project. The model
 * keeps one per sample; a CuratorSampleObject wraps one for GListModel and is
 * only created when a view asks for that position, so 100,000 samples cost
 * 100,000 small records, not 100,000 GObjects or widgets.
 *
 * Main thread only. */
#pragma once

#include <glib-object.h>

#include "curator-db.h"

G_BEGIN_DECLS

/* What a cell shows as badges and what the sidebar filters on. */
typedef enum {
  CURATOR_BADGE_FLAGGED   = 1 << 0,  /* likely mislabelled */
  CURATOR_BADGE_SUGGESTED = 1 << 1,  /* the latest run suggests another label */
  CURATOR_BADGE_DUPLICATE = 1 << 2,  /* exact or near copy of another sample */
  CURATOR_BADGE_DECIDED   = 1 << 3,  /* a person relabelled, accepted or confirmed it */
  CURATOR_BADGE_EXCLUDED  = 1 << 4,
  CURATOR_BADGE_CORRUPT   = 1 << 5,  /* corrupt or missing file */
  CURATOR_BADGE_OUTLIER   = 1 << 6,
  CURATOR_BADGE_QUALITY   = 1 << 7,  /* an image-quality problem */
  CURATOR_BADGE_MINORITY  = 1 << 8,  /* its current class is a minority class */
} CuratorBadges;

typedef struct {
  gint64   id;
  char    *path;            /* relative to the dataset root */
  const char *file_name;    /* points into path */
  char    *pixel_hash;      /* thumbnail key; NULL for a file never decoded */
  char    *format;
  gint64   n_bytes;
  int      width, height;
  CuratorSampleStatus status;
  char    *status_reason;
  gint64   given_label;
  gint64   current_label;
  char    *label_source;    /* "given", "human", "pseudo" */
  gboolean verified;
  gboolean excluded;

  /* the latest finished run's score; has_score FALSE when there is none */
  gboolean has_score;
  gint64   predicted_label;
  double   p_predicted;           /* the classifier's probability of predicted_label */
  double   p_label;
  gint64   suggested_label;       /* 0 = no suggestion */
  double   suggestion_confidence;
  double   label_quality;         /* lower = more likely wrong */
  guint32  issues;
  double   outlier_score;
  gint64   duplicate_group;
  char    *reason;

  gboolean has_twin;        /* another sample has the same pixel hash (set by the model) */
  CuratorBadges badges;
} CuratorSampleInfo;

CuratorSampleInfo *curator_sample_info_new   (void);
CuratorSampleInfo *curator_sample_info_ref   (CuratorSampleInfo *info);
void               curator_sample_info_unref (CuratorSampleInfo *info);
/* Replaces the file facts and labels by @sample's (the score is kept). */
void               curator_sample_info_set_sample (CuratorSampleInfo *info, const CuratorDbSample *sample);
/* Replaces the score by @score's (NULL clears it). */
void               curator_sample_info_set_score  (CuratorSampleInfo *info, const CuratorDbScore *score);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorSampleInfo, curator_sample_info_unref)

#define CURATOR_TYPE_SAMPLE_OBJECT (curator_sample_object_get_type ())
G_DECLARE_FINAL_TYPE (CuratorSampleObject, curator_sample_object, CURATOR, SAMPLE_OBJECT, GObject)

CuratorSampleObject     *curator_sample_object_new      (CuratorSampleInfo   *info);
/* (transfer none) Always the object's current state. */
const CuratorSampleInfo *curator_sample_object_get_info (CuratorSampleObject *self);
gint64                   curator_sample_object_get_id   (CuratorSampleObject *self);
/* Called by the model after it changed the info in place: emits ::changed. */
void                     curator_sample_object_changed  (CuratorSampleObject *self);

G_END_DECLS

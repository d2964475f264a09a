/* curator-sample-object.c: see curator-sample-object.h. */
#include "curator-sample-object.h"

#include <string.h>

static void
info_clear (gpointer data)
{
  CuratorSampleInfo *info = data;

  g_free (info->path);
  g_free (info->pixel_hash);
  g_free (info->format);
  g_free (info->status_reason);
  g_free (info->label_source);
  g_free (info->reason);
}

CuratorSampleInfo *
curator_sample_info_new (void)
{
  return g_rc_box_new0 (CuratorSampleInfo);
}

CuratorSampleInfo *
curator_sample_info_ref (CuratorSampleInfo *info)
{
  return g_rc_box_acquire (info);
}

void
curator_sample_info_unref (CuratorSampleInfo *info)
{
  g_rc_box_release_full (info, info_clear);
}

void
curator_sample_info_set_sample (CuratorSampleInfo *info, const CuratorDbSample *sample)
{
  const char *slash;

  g_return_if_fail (info != NULL && sample != NULL);

  info->id = sample->id;
  g_free (info->path);
  info->path = g_strdup (sample->path != NULL ? sample->path : "");
  slash = strrchr (info->path, '/');
  info->file_name = slash != NULL ? slash + 1 : info->path;
  g_free (info->pixel_hash);
  info->pixel_hash = g_strdup (sample->pixel_hash);
  g_free (info->format);
  info->format = g_strdup (sample->format);
  info->n_bytes = sample->n_bytes;
  info->width = sample->width;
  info->height = sample->height;
  info->status = sample->status;
  g_free (info->status_reason);
  info->status_reason = g_strdup (sample->reason);
  info->given_label = sample->given_label;
  info->current_label = sample->current_label;
  g_free (info->label_source);
  info->label_source = g_strdup (sample->label_source != NULL ? sample->label_source : "given");
  info->verified = sample->verified;
  info->excluded = sample->excluded;
}

void
curator_sample_info_set_score (CuratorSampleInfo *info, const CuratorDbScore *score)
{
  g_return_if_fail (info != NULL);

  g_clear_pointer (&info->reason, g_free);
  info->has_score = score != NULL;
  if (score == NULL)
    {
      info->predicted_label = info->suggested_label = info->duplicate_group = 0;
      info->p_label = info->p_predicted = info->suggestion_confidence = info->label_quality = info->outlier_score = 0.0;
      info->issues = 0;
      return;
    }
  info->predicted_label = score->predicted_label;
  info->p_label = score->p_label;
  info->p_predicted = 0.0;
  for (int c = 0; c < score->n_probs; c++)
    info->p_predicted = MAX (info->p_predicted, score->probs[c]);
  info->suggested_label = score->suggested_label;
  info->suggestion_confidence = score->suggestion_confidence;
  info->label_quality = score->label_quality;
  info->issues = score->issues;
  info->outlier_score = score->outlier_score;
  info->duplicate_group = score->duplicate_group;
  info->reason = g_strdup (score->reason);
}

struct _CuratorSampleObject
{
  GObject parent_instance;

  /* owned */
  CuratorSampleInfo *info;
};

G_DEFINE_FINAL_TYPE (CuratorSampleObject, curator_sample_object, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
curator_sample_object_finalize (GObject *object)
{
  CuratorSampleObject *self = CURATOR_SAMPLE_OBJECT (object);

  g_clear_pointer (&self->info, curator_sample_info_unref);
  G_OBJECT_CLASS (curator_sample_object_parent_class)->finalize (object);
}

static void
curator_sample_object_class_init (CuratorSampleObjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = curator_sample_object_finalize;

  /* The labels, decisions or score changed: whoever shows it refreshes. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 0);
}

static void
curator_sample_object_init (CuratorSampleObject *self)
{
}

CuratorSampleObject *
curator_sample_object_new (CuratorSampleInfo *info)
{
  CuratorSampleObject *self;

  g_return_val_if_fail (info != NULL, NULL);

  self = g_object_new (CURATOR_TYPE_SAMPLE_OBJECT, NULL);
  self->info = curator_sample_info_ref (info);
  return self;
}

const CuratorSampleInfo *
curator_sample_object_get_info (CuratorSampleObject *self)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_OBJECT (self), NULL);
  return self->info;
}

gint64
curator_sample_object_get_id (CuratorSampleObject *self)
{
  g_return_val_if_fail (CURATOR_IS_SAMPLE_OBJECT (self), 0);
  return self->info->id;
}

void
curator_sample_object_changed (CuratorSampleObject *self)
{
  g_return_if_fail (CURATOR_IS_SAMPLE_OBJECT (self));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

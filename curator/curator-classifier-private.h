/* curator-classifier-private.h: what the classifier's source files share.
 *
 * curator-classifier.c runs the cross-validation (folds, inner validation,
 * calibration, ensembling); curator-classifier-model.c trains and applies one
 * model on a set of rows; curator-classifier-project.c computes the optional
 * label-free projection. Nothing here is public API. */
#pragma once

#include "curator-classifier.h"

G_BEGIN_DECLS

/* ---- PRNG: splitmix64, one stream per purpose, so that the numbers drawn by
 * one part (say, batch order of fold 3) never depend on how many another part
 * drew. ---- */

typedef struct {
  guint64 state;
} _CuratorRng;

static inline guint64
_curator_mix64 (guint64 z)
{
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* A seed for one purpose: the same (seed, a, b, c) always gives the same stream. */
static inline guint64
_curator_derive_seed (guint64 seed, guint64 a, guint64 b, guint64 c)
{
  guint64 h = _curator_mix64 (seed + G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));
  h = _curator_mix64 (h ^ (a + G_GUINT64_CONSTANT (0x632BE59BD9B4E019)));
  h = _curator_mix64 (h ^ (b + G_GUINT64_CONSTANT (0x8CB92BA72F3D8DD7)));
  h = _curator_mix64 (h ^ (c + G_GUINT64_CONSTANT (0xD1B54A32D192ED03)));
  return h;
}

static inline void
_curator_rng_init (_CuratorRng *rng, guint64 seed)
{
  rng->state = seed;
}

static inline guint64
_curator_rng_next (_CuratorRng *rng)
{
  rng->state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
  return _curator_mix64 (rng->state);
}

/* Uniform in [0, bound), bound > 0 (multiply-shift; the bias is below 2^-32
 * for the sizes we draw). */
static inline guint32
_curator_rng_below (_CuratorRng *rng, guint32 bound)
{
  return (guint32) (((_curator_rng_next (rng) >> 32) * (guint64) bound) >> 32);
}

/* Uniform in [0, 1). */
static inline double
_curator_rng_uniform (_CuratorRng *rng)
{
  return (double) (_curator_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

void _curator_rng_shuffle (_CuratorRng *rng, guint32 *items, gsize n_items);
double _curator_rng_normal (_CuratorRng *rng);

/* ---- data a model trains on or predicts ---- */

typedef struct {
  const float *features;      /* n x n_dims, row major */
  const float *features_flip; /* the same for the mirrored images, or NULL */
  gsize        n_dims;
  int          n_classes;
  const int   *labels;
  const float *weights;       /* or NULL */
  const float *mean;          /* n_dims: this fold's standardisation */
  const float *inv_sd;        /* n_dims */
} _CuratorDataView;

typedef struct {
  CuratorModelKind kind;
  int      hidden;
  double   dropout;
  double   label_smoothing;
  gboolean balance;
  double   balance_power;
  int      epochs;
  int      draws_cap;
  int      draws_min;
  int      batch_size;
  double   learning_rate;
  double   l2;
  guint64  seed;
} _CuratorTrainOptions;

/* Passes over @n_rows training rows a model makes (see draws_cap). */
int _curator_effective_epochs (int epochs, int draws_cap, int draws_min, gsize n_rows);

/* Progress and cancellation, shared by every model of one run and by the
 * worker threads. Work is counted in row-epochs; @done rises towards @total.
 * @failed stops the other workers once one has failed. */
typedef struct {
  GCancellable       *cancellable;
  CuratorProgressFunc func;
  gpointer            data;
  GMutex              lock;    /* guards done and the calls of func */
  double              done;
  double              total;
  gint                failed;  /* atomic */
} _CuratorProgress;

/* Sets CURATOR_ERROR_CANCELLED and returns TRUE when the run was cancelled
 * (or, with no error set, when another worker failed). */
gboolean _curator_progress_cancelled (_CuratorProgress *progress, GError **error);
void     _curator_progress_advance   (_CuratorProgress *progress, double units,
                                      const char *message);

typedef struct _CuratorModel _CuratorModel;

/* Trains on @rows (their labels must be >= 0); @label names the model in
 * progress messages. */
_CuratorModel *_curator_model_train  (const _CuratorTrainOptions *options,
                                      const _CuratorDataView     *view,
                                      const guint32              *rows,
                                      gsize                       n_rows,
                                      _CuratorProgress           *progress,
                                      const char                 *label,
                                      GError                    **error);
/* Writes @n_rows x n_classes logits; with flips, the mean of the logits of
 * the image and of its mirror. (GEMM tiling may make a row's last bits depend
 * on which rows share its batch, so callers keep batch composition
 * independent of labels.) */
void           _curator_model_logits (const _CuratorModel        *model,
                                      const _CuratorDataView     *view,
                                      const guint32              *rows,
                                      gsize                       n_rows,
                                      float                      *logits);
void           _curator_model_free   (_CuratorModel              *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (_CuratorModel, _curator_model_free)

/* Projects @features (and @features_flip if not NULL) onto an orthonormal
 * basis of the top @n_out principal directions of the centred features of all
 * samples (randomised range finder with power iterations). Label-free. The
 * outputs are @n_samples x @n_out, (transfer full). */
gboolean _curator_project_pca (const float   *features,
                               const float   *features_flip,
                               gsize          n_samples,
                               gsize          n_dims,
                               gsize          n_out,
                               guint64        seed,
                               float        **projected_out,
                               float        **projected_flip_out,
                               _CuratorProgress *progress,
                               GError       **error);

G_END_DECLS

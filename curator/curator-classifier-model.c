/* curator-classifier-model.c: training and applying one model.
 *
 * A model is multinomial logistic regression or a one-hidden-layer ReLU MLP
 * on standardised features, trained by mini-batch Adam with a cosine
 * learning-rate schedule on label-smoothed, sample-weighted softmax
 * cross-entropy plus L2 on the weights (not the biases).
 *
 * The heavy work is two or four GEMMs per mini-batch through CBLAS; the rest
 * (softmax, Adam) are single-threaded loops in a fixed order, so a model is a
 * pure function of its options, its rows and their data.
 *
 * Rows are gathered per batch and standardised on the way ((x - mean) *
 * inv_sd), so the caller's feature matrix is never copied or changed. With
 * flips each draw takes the image or its mirror at random; prediction
 * averages the logits of both. */
#include "curator-config.h"

#include <math.h>
#include <string.h>
#include <cblas.h>

#include "curator-classifier-private.h"
#include "curator-error.h"

struct _CuratorModel {
  CuratorModelKind kind;
  gsize  n_dims;
  int    hidden;      /* MLP only */
  int    n_classes;
  gsize  n_params;
  float *params;      /* one block: w1 | b1 | w2 | b2 (logreg: w1 = d x k, b1 = k) */
  float *w1, *b1, *w2, *b2;
};

/* ---- PRNG helpers ---- */

void
_curator_rng_shuffle (_CuratorRng *rng, guint32 *items, gsize n_items)
{
  for (gsize i = n_items; i > 1; i--)
    {
      guint32 j = _curator_rng_below (rng, (guint32) i);
      guint32 t = items[i - 1];
      items[i - 1] = items[j];
      items[j] = t;
    }
}

double
_curator_rng_normal (_CuratorRng *rng)
{
  /* Box-Muller; one of the pair is dropped, which keeps the stream simple. */
  double u1 = _curator_rng_uniform (rng);
  double u2 = _curator_rng_uniform (rng);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

/* ---- progress ---- */

gboolean
_curator_progress_cancelled (_CuratorProgress *progress, GError **error)
{
  if (progress->cancellable != NULL && g_cancellable_is_cancelled (progress->cancellable))
    {
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_CANCELLED,
                           "Training was cancelled");
      return TRUE;
    }
  return g_atomic_int_get (&progress->failed) != 0;
}

void
_curator_progress_advance (_CuratorProgress *progress, double units, const char *message)
{
  g_mutex_lock (&progress->lock);
  progress->done += units;
  if (progress->func != NULL && progress->total > 0)
    progress->func (MIN (1.0, progress->done / progress->total), message, progress->data);
  g_mutex_unlock (&progress->lock);
}

/* ---- the model ---- */

static _CuratorModel *
model_new (CuratorModelKind kind, gsize n_dims, int hidden, int n_classes)
{
  _CuratorModel *model = g_new0 (_CuratorModel, 1);
  gsize k = (gsize) n_classes;

  model->kind = kind;
  model->n_dims = n_dims;
  model->n_classes = n_classes;
  if (kind == CURATOR_MODEL_MLP)
    {
      gsize h = (gsize) hidden;
      model->hidden = hidden;
      model->n_params = n_dims * h + h + h * k + k;
      model->params = g_new0 (float, model->n_params);
      model->w1 = model->params;
      model->b1 = model->w1 + n_dims * h;
      model->w2 = model->b1 + h;
      model->b2 = model->w2 + h * k;
    }
  else
    {
      model->n_params = n_dims * k + k;
      model->params = g_new0 (float, model->n_params);
      model->w1 = model->params;
      model->b1 = model->w1 + n_dims * k;
    }
  return model;
}

void
_curator_model_free (_CuratorModel *model)
{
  if (model == NULL)
    return;
  g_free (model->params);
  g_free (model);
}

/* Copies rows into @out (n_rows x d), standardised; @flip_bits[i] selects the
 * mirrored image for row i (NULL: never). */
static void
gather_rows (const _CuratorDataView *view,
             const guint32          *rows,
             gsize                   n_rows,
             const guint8           *flip_bits,
             float                  *out)
{
  gsize d = view->n_dims;

  for (gsize i = 0; i < n_rows; i++)
    {
      const float *restrict src = (flip_bits != NULL && flip_bits[i])
                                  ? view->features_flip + (gsize) rows[i] * d
                                  : view->features + (gsize) rows[i] * d;
      const float *restrict mean = view->mean;
      const float *restrict inv_sd = view->inv_sd;
      float *restrict dst = out + i * d;
      for (gsize j = 0; j < d; j++)
        dst[j] = (src[j] - mean[j]) * inv_sd[j];
    }
}

/* Logits of a gathered batch; for the MLP also leaves the hidden
 * activations (after ReLU, before dropout) in @hidden_act. */
static void
forward (const _CuratorModel *model,
         const float         *x,
         gsize                n_rows,
         float               *hidden_act,
         float               *logits)
{
  int k = model->n_classes;
  int d = (int) model->n_dims;
  int m = (int) n_rows;

  if (model->kind == CURATOR_MODEL_MLP)
    {
      int h = model->hidden;
      for (gsize i = 0; i < n_rows; i++)
        memcpy (hidden_act + i * (gsize) h, model->b1, sizeof (float) * (gsize) h);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, h, d,
                   1.0f, x, d, model->w1, h, 1.0f, hidden_act, h);
      for (gsize i = 0; i < n_rows * (gsize) h; i++)
        if (hidden_act[i] < 0.0f)
          hidden_act[i] = 0.0f;
      for (gsize i = 0; i < n_rows; i++)
        memcpy (logits + i * (gsize) k, model->b2, sizeof (float) * (gsize) k);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, h,
                   1.0f, hidden_act, h, model->w2, k, 1.0f, logits, k);
    }
  else
    {
      for (gsize i = 0; i < n_rows; i++)
        memcpy (logits + i * (gsize) k, model->b1, sizeof (float) * (gsize) k);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, d,
                   1.0f, x, d, model->w1, k, 1.0f, logits, k);
    }
}

/* In place: row-wise softmax. */
static void
softmax_rows (float *z, gsize n_rows, int k)
{
  for (gsize i = 0; i < n_rows; i++)
    {
      float *row = z + i * (gsize) k;
      float max = row[0];
      double sum = 0.0;
      for (int c = 1; c < k; c++)
        max = MAX (max, row[c]);
      for (int c = 0; c < k; c++)
        {
          row[c] = expf (row[c] - max);
          sum += row[c];
        }
      for (int c = 0; c < k; c++)
        row[c] = (float) (row[c] / sum);
    }
}

/* Column sums of an n_rows x n_cols matrix, in row order. */
static void
column_sums (const float *a, gsize n_rows, gsize n_cols, float *out)
{
  memset (out, 0, sizeof (float) * n_cols);
  for (gsize i = 0; i < n_rows; i++)
    for (gsize j = 0; j < n_cols; j++)
      out[j] += a[i * n_cols + j];
}

/* Draw order for one epoch. Without balancing, a permutation of the rows.
 * With it, class c gets a quota of draws in proportion to n_c^(1 - power)
 * (power 1: every class equally often; 0.5: as the square root of its size),
 * the quotas summing to about n_rows. A class walks through its own shuffled
 * member list, reshuffling when it runs out, so a minority class repeats
 * within the epoch and a majority class is seen in full over successive
 * epochs. */
typedef struct {
  gboolean  balance;
  gsize     n_rows;
  guint32  *rows;          /* copy of the training rows */
  guint32 **members;       /* per class: member rows (NULL for absent classes) */
  gsize    *n_members;
  gsize    *cursor;
  gsize    *quota;
  int       n_classes;
  gsize     epoch_len;
} EpochPlan;

static void
epoch_plan_init (EpochPlan              *plan,
                 const _CuratorDataView *view,
                 const guint32          *rows,
                 gsize                   n_rows,
                 gboolean                balance,
                 double                  power)
{
  int k = view->n_classes;
  double total_weight = 0.0;

  memset (plan, 0, sizeof *plan);
  plan->balance = balance;
  plan->n_rows = n_rows;
  plan->rows = g_memdup2 (rows, sizeof (guint32) * n_rows);
  plan->n_classes = k;
  plan->epoch_len = n_rows;
  if (!balance)
    return;

  plan->members = g_new0 (guint32 *, k);
  plan->n_members = g_new0 (gsize, k);
  plan->cursor = g_new0 (gsize, k);
  plan->quota = g_new0 (gsize, k);
  for (gsize i = 0; i < n_rows; i++)
    plan->n_members[view->labels[rows[i]]]++;
  for (int c = 0; c < k; c++)
    if (plan->n_members[c] > 0)
      {
        plan->members[c] = g_new (guint32, plan->n_members[c]);
        total_weight += pow ((double) plan->n_members[c], 1.0 - power);
        /* Start "exhausted" so the first epoch shuffles. */
        plan->cursor[c] = plan->n_members[c];
      }
  plan->epoch_len = 0;
  for (int c = 0; c < k; c++)
    if (plan->n_members[c] > 0)
      {
        double share = pow ((double) plan->n_members[c], 1.0 - power) / total_weight;
        plan->quota[c] = MAX (1, (gsize) floor (share * (double) n_rows + 0.5));
        plan->epoch_len += plan->quota[c];
        plan->n_members[c] = 0;
      }
  for (gsize i = 0; i < n_rows; i++)
    {
      int c = view->labels[rows[i]];
      plan->members[c][plan->n_members[c]++] = rows[i];
    }
}

static void
epoch_plan_clear (EpochPlan *plan)
{
  g_free (plan->rows);
  if (plan->members != NULL)
    for (int c = 0; c < plan->n_classes; c++)
      g_free (plan->members[c]);
  g_free (plan->members);
  g_free (plan->n_members);
  g_free (plan->cursor);
  g_free (plan->quota);
}

/* Fills @order (plan->epoch_len entries). */
static void
epoch_plan_next (EpochPlan *plan, _CuratorRng *rng, guint32 *order)
{
  if (!plan->balance)
    {
      memcpy (order, plan->rows, sizeof (guint32) * plan->n_rows);
      _curator_rng_shuffle (rng, order, plan->n_rows);
      return;
    }

  gsize at = 0;
  for (int c = 0; c < plan->n_classes; c++)
    {
      if (plan->members[c] == NULL)
        continue;
      for (gsize q = 0; q < plan->quota[c]; q++)
        {
          if (plan->cursor[c] >= plan->n_members[c])
            {
              _curator_rng_shuffle (rng, plan->members[c], plan->n_members[c]);
              plan->cursor[c] = 0;
            }
          order[at++] = plan->members[c][plan->cursor[c]++];
        }
    }
  _curator_rng_shuffle (rng, order, at);
}

static void
init_params (_CuratorModel *model, _CuratorRng *rng)
{
  if (model->kind != CURATOR_MODEL_MLP)
    return; /* logistic regression starts at zero: convex, no symmetry to break */

  gsize d = model->n_dims, h = (gsize) model->hidden, k = (gsize) model->n_classes;
  double s1 = sqrt (2.0 / (double) d); /* He initialisation for ReLU */
  double s2 = sqrt (1.0 / (double) h);
  for (gsize i = 0; i < d * h; i++)
    model->w1[i] = (float) (s1 * _curator_rng_normal (rng));
  for (gsize i = 0; i < h * k; i++)
    model->w2[i] = (float) (s2 * _curator_rng_normal (rng));
}

/* Adam moments and the constants of one step. */
typedef struct {
  float *m, *v;
  double beta1, beta2, eps;
  gint64 t;
} Adam;

/* One Adam step on params[from, to); @decay adds l2 * param to the gradient. */
static void
adam_update (Adam *adam, float *params, const float *grad, gsize from, gsize to,
             double lr, double decay)
{
  double c1 = 1.0 - pow (adam->beta1, (double) adam->t);
  double c2 = 1.0 - pow (adam->beta2, (double) adam->t);
  float step = (float) (lr * sqrt (c2) / c1);
  float b1 = (float) adam->beta1, b2 = (float) adam->beta2;
  float eps = (float) (adam->eps * sqrt (c2));
  float l2 = (float) decay;

  for (gsize i = from; i < to; i++)
    {
      float g = grad[i] + l2 * params[i];
      float m = adam->m[i] = b1 * adam->m[i] + (1.0f - b1) * g;
      float v = adam->v[i] = b2 * adam->v[i] + (1.0f - b2) * g * g;
      params[i] -= step * m / (sqrtf (v) + eps);
    }
}

int
_curator_effective_epochs (int epochs, int draws_cap, int draws_min, gsize n_rows)
{
  if (n_rows == 0)
    return epochs;
  if (draws_cap > 0 && (double) n_rows * epochs > draws_cap)
    return CLAMP ((int) floor ((double) draws_cap / (double) n_rows + 0.5), 1, epochs);
  if (draws_min > 0 && (double) n_rows * epochs < draws_min)
    return MIN ((int) ceil ((double) draws_min / (double) n_rows), 100000);
  return epochs;
}

_CuratorModel *
_curator_model_train (const _CuratorTrainOptions *options,
                      const _CuratorDataView     *view,
                      const guint32              *rows,
                      gsize                       n_rows,
                      _CuratorProgress           *progress,
                      const char                 *label,
                      GError                    **error)
{
  g_autoptr(_CuratorModel) model = NULL;
  gsize d = view->n_dims;
  int k = view->n_classes;
  gsize h = options->kind == CURATOR_MODEL_MLP ? (gsize) options->hidden : 0;
  gsize batch = (gsize) MAX (1, options->batch_size);
  _CuratorRng rng;
  EpochPlan plan;
  Adam adam = { NULL, NULL, 0.9, 0.999, 1e-8, 0 };
  double weight_scale = 1.0;
  gboolean ok = TRUE;

  g_return_val_if_fail (n_rows > 0, NULL);

  model = model_new (options->kind, d, options->hidden, k);
  _curator_rng_init (&rng, options->seed);
  init_params (model, &rng);

  if (view->weights != NULL)
    {
      double sum = 0.0;
      for (gsize i = 0; i < n_rows; i++)
        sum += view->weights[rows[i]];
      weight_scale = sum > 0.0 ? (double) n_rows / sum : 1.0;
    }

  epoch_plan_init (&plan, view, rows, n_rows, options->balance, options->balance_power);

  g_autofree guint32 *order = g_new (guint32, plan.epoch_len);
  g_autofree guint8 *flip_bits = view->features_flip != NULL ? g_new0 (guint8, batch) : NULL;
  g_autofree float *x = g_new (float, batch * d);
  g_autofree float *act = h > 0 ? g_new (float, batch * h) : NULL;
  g_autofree float *dact = h > 0 ? g_new (float, batch * h) : NULL;
  g_autofree float *mask = (h > 0 && options->dropout > 0.0) ? g_new (float, batch * h) : NULL;
  g_autofree float *z = g_new (float, batch * (gsize) k);
  g_autofree float *grad = g_new0 (float, model->n_params);
  g_autofree float *moments = g_new0 (float, 2 * model->n_params);
  adam.m = moments;
  adam.v = moments + model->n_params;

  int epochs = _curator_effective_epochs (options->epochs, options->draws_cap, options->draws_min, n_rows);
  gsize steps_per_epoch = (plan.epoch_len + batch - 1) / batch;
  gint64 total_steps = (gint64) steps_per_epoch * MAX (1, epochs);
  double smooth = options->label_smoothing;
  float off_target = (float) (smooth / k);
  float on_target = (float) (1.0 - smooth + smooth / k);
  float keep = (float) (1.0 - options->dropout);

  for (int epoch = 0; epoch < epochs && ok; epoch++)
    {
      epoch_plan_next (&plan, &rng, order);
      for (gsize start = 0; start < plan.epoch_len; start += batch)
        {
          gsize m = MIN (batch, plan.epoch_len - start);
          const guint32 *brows = order + start;

          if (_curator_progress_cancelled (progress, error))
            {
              ok = FALSE;
              break;
            }

          if (flip_bits != NULL)
            for (gsize i = 0; i < m; i++)
              flip_bits[i] = (guint8) (_curator_rng_next (&rng) >> 63);
          gather_rows (view, brows, m, flip_bits, x);
          forward (model, x, m, act, z);

          if (mask != NULL)
            {
              for (gsize i = 0; i < m * h; i++)
                mask[i] = _curator_rng_uniform (&rng) < options->dropout ? 0.0f : 1.0f / keep;
              for (gsize i = 0; i < m * h; i++)
                act[i] *= mask[i];
              /* The logits must see the dropped units: recompute the output layer. */
              for (gsize i = 0; i < m; i++)
                memcpy (z + i * (gsize) k, model->b2, sizeof (float) * (gsize) k);
              cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) m, k, (int) h,
                           1.0f, act, (int) h, model->w2, k, 1.0f, z, k);
            }

          /* dLoss/dlogits = w (p - target) / m */
          softmax_rows (z, m, k);
          for (gsize i = 0; i < m; i++)
            {
              int y = view->labels[brows[i]];
              float w = (float) (weight_scale / (double) m);
              if (view->weights != NULL)
                w *= view->weights[brows[i]];
              float *row = z + i * (gsize) k;
              for (int c = 0; c < k; c++)
                row[c] = w * (row[c] - (c == y ? on_target : off_target));
            }

          if (model->kind == CURATOR_MODEL_MLP)
            {
              float *gw1 = grad, *gb1 = gw1 + d * h, *gw2 = gb1 + h, *gb2 = gw2 + h * (gsize) k;
              cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) h, k, (int) m,
                           1.0f, act, (int) h, z, k, 0.0f, gw2, k);
              column_sums (z, m, (gsize) k, gb2);
              cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) m, (int) h, k,
                           1.0f, z, k, model->w2, k, 0.0f, dact, (int) h);
              /* ReLU and dropout gates: act is zero exactly where either closed. */
              for (gsize i = 0; i < m * h; i++)
                if (act[i] <= 0.0f)
                  dact[i] = 0.0f;
                else if (mask != NULL)
                  dact[i] *= mask[i];
              cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) d, (int) h, (int) m,
                           1.0f, x, (int) d, dact, (int) h, 0.0f, gw1, (int) h);
              column_sums (dact, m, h, gb1);
            }
          else
            {
              float *gw = grad, *gb = gw + d * (gsize) k;
              cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) d, k, (int) m,
                           1.0f, x, (int) d, z, k, 0.0f, gw, k);
              column_sums (z, m, (gsize) k, gb);
            }

          /* Cosine decay from the initial rate to zero over all steps. */
          adam.t++;
          double lr = options->learning_rate * 0.5
                      * (1.0 + cos (G_PI * (double) (adam.t - 1) / (double) total_steps));
          if (model->kind == CURATOR_MODEL_MLP)
            {
              gsize w1_end = d * h, b1_end = w1_end + h, w2_end = b1_end + h * (gsize) k;
              adam_update (&adam, model->params, grad, 0, w1_end, lr, options->l2);
              adam_update (&adam, model->params, grad, w1_end, b1_end, lr, 0.0);
              adam_update (&adam, model->params, grad, b1_end, w2_end, lr, options->l2);
              adam_update (&adam, model->params, grad, w2_end, model->n_params, lr, 0.0);
            }
          else
            {
              gsize w_end = d * (gsize) k;
              adam_update (&adam, model->params, grad, 0, w_end, lr, options->l2);
              adam_update (&adam, model->params, grad, w_end, model->n_params, lr, 0.0);
            }
        }
      if (ok)
        _curator_progress_advance (progress, (double) n_rows, label);
    }

  epoch_plan_clear (&plan);
  if (!ok)
    return NULL;
  return g_steal_pointer (&model);
}

#define PREDICT_BATCH 512

void
_curator_model_logits (const _CuratorModel    *model,
                       const _CuratorDataView *view,
                       const guint32          *rows,
                       gsize                   n_rows,
                       float                  *logits)
{
  gsize d = view->n_dims;
  gsize k = (gsize) view->n_classes;
  gsize h = model->kind == CURATOR_MODEL_MLP ? (gsize) model->hidden : 0;
  g_autofree float *x = g_new (float, PREDICT_BATCH * d);
  g_autofree float *act = h > 0 ? g_new (float, PREDICT_BATCH * h) : NULL;
  g_autofree float *zf = view->features_flip != NULL ? g_new (float, PREDICT_BATCH * k) : NULL;
  g_autofree guint8 *all_flipped = g_malloc (PREDICT_BATCH);

  memset (all_flipped, 1, PREDICT_BATCH);
  for (gsize start = 0; start < n_rows; start += PREDICT_BATCH)
    {
      gsize m = MIN ((gsize) PREDICT_BATCH, n_rows - start);
      float *z = logits + start * k;

      gather_rows (view, rows + start, m, NULL, x);
      forward (model, x, m, act, z);
      if (zf != NULL)
        {
          gather_rows (view, rows + start, m, all_flipped, x);
          forward (model, x, m, act, zf);
          for (gsize i = 0; i < m * k; i++)
            z[i] = 0.5f * (z[i] + zf[i]);
        }
    }
}

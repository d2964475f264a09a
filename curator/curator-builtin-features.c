/* curator-builtin-features.c: the built-in feature extractors, the k-means
 * patch network and the colour + gradient histograms, described through the
 * same plugin ABI as a module would be (curator-plugin.h), so that
 * `--features patch` and `--features colorhog` run the same path a plugin
 * does. The code behind them is curator-features*.c, unchanged.
 *
 * `patch` learns its dictionary from every picture on first use and keeps it
 * in the project through the host's blob store, keyed by its parameters. */
#include "curator-config.h"

#include <stdlib.h>
#include <string.h>

#include "curator-error.h"
#include "curator-features.h"
#include "curator-plugins.h"

static void
set_message (char *buf, size_t size, const GError *error)
{
  g_strlcpy (buf, error != NULL ? error->message : "failed", size);
}

/* ---- patch --------------------------------------------------------------- */

typedef struct {
  CuratorPatchModel *model;
} PatchState;

/* @arg: empty, or the number of centroids. */
static gboolean
patch_params_from_arg (const char *arg, int side, CuratorPatchParams *params, GError **error)
{
  curator_patch_params_init_default (params);
  params->side = side;
  if (arg != NULL && *arg != '\0')
    {
      gint64 k;

      if (!g_ascii_string_to_signed (arg, 10, 2, 4096, &k, NULL))
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "patch:ARG takes the number of centroids (2..4096), not \"%s\"", arg);
          return FALSE;
        }
      params->n_centroids = (int) k;
    }
  return curator_patch_params_validate (params, error);
}

static int
patch_open (const CuratorPluginContext *ctx, const char *arg, const CuratorPluginSample *samples,
            size_t n_samples, int side, void **state_out, int *dim, char *key, size_t key_size,
            char *error, size_t error_size)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *params_key = NULL;
  g_autofree char *model_key = NULL;
  CuratorPatchParams params;
  PatchState *state;
  CuratorPatchModel *model = NULL;

  if (!patch_params_from_arg (arg, side, &params, &local))
    {
      set_message (error, error_size, local);
      return -1;
    }
  params_key = curator_patch_params_dup_key (&params);
  if (ctx->blob_get != NULL)
    {
      size_t n = 0;
      void *data = ctx->blob_get (ctx->host_data, params_key, &n);

      if (data != NULL)
        {
          g_autoptr(GBytes) blob = g_bytes_new (data, n);

          free (data);
          model = curator_patch_model_deserialize (blob, NULL);
        }
    }
  if (model == NULL)
    {
      g_autofree const guint8 **images = g_new (const guint8 *, MAX (n_samples, 1));

      if (n_samples == 0)
        {
          g_strlcpy (error, "no pictures to learn a dictionary from", error_size);
          return -1;
        }
      for (size_t i = 0; i < n_samples; i++)
        images[i] = samples[i].rgb;
      model = curator_patch_model_train (&params, images, n_samples, NULL, NULL, NULL, &local);
      if (model == NULL)
        {
          set_message (error, error_size, local);
          return -1;
        }
      if (ctx->blob_put != NULL)
        {
          g_autoptr(GBytes) blob = curator_patch_model_serialize (model);
          gsize n = 0;
          const void *data = g_bytes_get_data (blob, &n);

          if (ctx->blob_put (ctx->host_data, params_key, data, n) != 0 && ctx->warn != NULL)
            ctx->warn (ctx->host_data, "could not keep the learned dictionary in the project");
        }
    }
  model_key = curator_patch_model_dup_key (model);
  state = g_new0 (PatchState, 1);
  state->model = model;
  *state_out = state;
  *dim = curator_patch_model_get_dim (model);
  g_strlcpy (key, model_key, key_size);
  return 0;
}

static int
patch_extract (void *data, const CuratorPluginSample *samples, size_t n, int flip, float *out,
               char *error, size_t error_size)
{
  PatchState *state = data;
  g_autofree const guint8 **images = g_new (const guint8 *, MAX (n, 1));
  g_autoptr(GError) local = NULL;

  for (size_t i = 0; i < n; i++)
    images[i] = samples[i].rgb;
  if (!curator_patch_model_extract (state->model, images, n, flip, out, NULL, NULL, NULL, NULL, &local))
    {
      set_message (error, error_size, local);
      return -1;
    }
  return 0;
}

static void
patch_close (void *data)
{
  PatchState *state = data;

  if (state == NULL)
    return;
  curator_patch_model_free (state->model);
  g_free (state);
}

static const CuratorFeaturesTable patch_table = {
  .flags = CURATOR_FEATURES_NEEDS_ALL_PIXELS | CURATOR_FEATURES_FLIP,
  .side = 0,
  .open = patch_open,
  .extract = patch_extract,
  .close = patch_close,
};

const CuratorPluginDescriptor _curator_builtin_patch = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION,
  .id = "patch",
  .name = "k-means patch features (Coates, Lee and Ng 2011)",
  .version = CURATOR_VERSION,
  .kind = CURATOR_PLUGIN_KIND_FEATURES,
  .table.features = &patch_table,
};

/* ---- colour + gradient histograms ------------------------------------------ */

typedef struct {
  int side;
} HogState;

static int
colorhog_open (const CuratorPluginContext *ctx, const char *arg, const CuratorPluginSample *samples,
               size_t n_samples, int side, void **state_out, int *dim, char *key, size_t key_size,
               char *error, size_t error_size)
{
  HogState *state;

  if (arg != NULL && *arg != '\0')
    {
      g_strlcpy (error, "colorhog takes no argument", error_size);
      return -1;
    }
  state = g_new0 (HogState, 1);
  state->side = side;
  *state_out = state;
  *dim = CURATOR_COLOR_HOG_DIM;
  g_snprintf (key, key_size, "%s;side%d", CURATOR_COLOR_HOG_KEY, side);
  return 0;
}

static int
colorhog_extract (void *data, const CuratorPluginSample *samples, size_t n, int flip, float *out,
                  char *error, size_t error_size)
{
  HogState *state = data;
  g_autofree const guint8 **images = g_new (const guint8 *, MAX (n, 1));
  g_autoptr(GError) local = NULL;

  for (size_t i = 0; i < n; i++)
    images[i] = samples[i].rgb;
  if (!curator_color_hog_extract (images, n, state->side, flip, out, NULL, NULL, NULL, &local))
    {
      set_message (error, error_size, local);
      return -1;
    }
  return 0;
}

static const CuratorFeaturesTable colorhog_table = {
  .flags = CURATOR_FEATURES_NEEDS_PIXELS | CURATOR_FEATURES_FLIP,
  .side = 0,
  .open = colorhog_open,
  .extract = colorhog_extract,
  .close = g_free,
};

const CuratorPluginDescriptor _curator_builtin_colorhog = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION,
  .id = "colorhog",
  .name = "colour histogram + HOG-like gradients",
  .version = CURATOR_VERSION,
  .kind = CURATOR_PLUGIN_KIND_FEATURES,
  .table.features = &colorhog_table,
};

/* curator-quality.c: severities of the image-quality checks (thresholds and
 * their reasons are in the header). Pure arithmetic over the statistics the
 * index stored; nothing here decodes a picture. */
#include "curator-config.h"

#include <math.h>
#include <stdlib.h>

#include "curator-quality.h"

static const char *const check_names[CURATOR_QUALITY_N_CHECKS] = {
  "dark", "overexposed", "blurry", "low-information", "odd-size", "odd-aspect", "grey-as-rgb",
};

const char *
curator_quality_check_to_string (CuratorQualityCheck check)
{
  g_return_val_if_fail (check < CURATOR_QUALITY_N_CHECKS, NULL);
  return check_names[check];
}

void
curator_quality_thresholds_init_default (CuratorQualityThresholds *t)
{
  t->dark_p95 = 40;
  t->overexposed_p05 = 215;
  t->blurry_sharpness = 0.02;
  t->blurry_min_contrast = 8;
  t->low_information_entropy = 3;
  t->odd_size_log2_area = 2;
  t->odd_aspect_factor = 2;
}

/* Severity of a measure that is bad when low / high (see the header). */
static double
low_is_bad (double m, double t)
{
  m = MAX (m, 0.0);
  return t + m > 0 ? t / (t + m) : 1.0;
}

static double
high_is_bad (double m, double t)
{
  m = MAX (m, 0.0);
  return t + m > 0 ? m / (m + t) : 0.0;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (double *values, gsize n)
{
  if (n == 0)
    return 0;
  qsort (values, n, sizeof (double), compare_double);
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

static gboolean
has_size (const CuratorDbSample *s)
{
  return s->status == CURATOR_SAMPLE_OK && s->width > 0 && s->height > 0;
}

static double
sharpness (const CuratorDbSample *s)
{
  return s->blur / MAX (s->contrast * s->contrast, 1.0);
}

static double
aspect_distance (const CuratorDbSample *s, const CuratorQualityContext *c)
{
  double a = log ((double) s->width / s->height);

  return MIN (fabs (a), fabs (a - c->median_log_aspect));
}

static void
severities_of (const CuratorDbSample *s, const CuratorQualityThresholds *t,
               const CuratorQualityContext *c, float *out)
{
  for (int check = 0; check < CURATOR_QUALITY_N_CHECKS; check++)
    out[check] = 0;
  if (s->status != CURATOR_SAMPLE_OK)
    return;
  out[CURATOR_QUALITY_DARK] = (float) low_is_bad (s->luma_p95, t->dark_p95);
  out[CURATOR_QUALITY_OVEREXPOSED] = (float) low_is_bad (255.0 - s->luma_p05, 255.0 - t->overexposed_p05);
  if (s->contrast >= t->blurry_min_contrast)
    out[CURATOR_QUALITY_BLURRY] = (float) low_is_bad (sharpness (s), t->blurry_sharpness);
  out[CURATOR_QUALITY_LOW_INFORMATION] = (float) low_is_bad (s->entropy, t->low_information_entropy);
  if (has_size (s) && c->median_area > 0)
    {
      double area = (double) s->width * s->height;

      out[CURATOR_QUALITY_ODD_SIZE] = (float) high_is_bad (fabs (log2 (area / c->median_area)),
                                                           t->odd_size_log2_area);
      out[CURATOR_QUALITY_ODD_ASPECT] = (float) high_is_bad (aspect_distance (s, c),
                                                             log (t->odd_aspect_factor));
    }
  out[CURATOR_QUALITY_GREY_AS_RGB] = s->is_grey && s->channels >= 3 ? 1.0f : 0.0f;
}

void
curator_quality_measure (CuratorDbSample *const         *samples,
                         gsize                           n_samples,
                         const CuratorQualityThresholds *thresholds,
                         float                          *severities,
                         guint32                        *flags,
                         CuratorQualityContext          *context)
{
  CuratorQualityThresholds defaults;
  CuratorQualityContext c = { 0 };
  g_autofree double *areas = g_new (double, MAX (n_samples, 1));
  g_autofree double *widths = g_new (double, MAX (n_samples, 1));
  g_autofree double *heights = g_new (double, MAX (n_samples, 1));
  g_autofree double *aspects = g_new (double, MAX (n_samples, 1));
  gsize m = 0;

  g_return_if_fail (samples != NULL || n_samples == 0);
  g_return_if_fail (severities != NULL);

  if (thresholds == NULL)
    {
      curator_quality_thresholds_init_default (&defaults);
      thresholds = &defaults;
    }
  for (gsize i = 0; i < n_samples; i++)
    if (has_size (samples[i]))
      {
        widths[m] = samples[i]->width;
        heights[m] = samples[i]->height;
        areas[m] = (double) samples[i]->width * samples[i]->height;
        aspects[m] = log ((double) samples[i]->width / samples[i]->height);
        m++;
      }
  c.median_width = (int) median (widths, m);
  c.median_height = (int) median (heights, m);
  c.median_area = median (areas, m);
  c.median_log_aspect = median (aspects, m);

  for (gsize i = 0; i < n_samples; i++)
    {
      float *out = severities + i * CURATOR_QUALITY_N_CHECKS;

      severities_of (samples[i], thresholds, &c, out);
      if (flags != NULL)
        {
          flags[i] = 0;
          for (int check = 0; check < CURATOR_QUALITY_N_CHECKS; check++)
            if (out[check] > 0.5f)
              flags[i] |= 1u << check;
        }
    }
  if (context != NULL)
    *context = c;
}

char *
curator_quality_describe (CuratorQualityCheck             check,
                          const CuratorDbSample          *s,
                          const CuratorQualityThresholds *t,
                          const CuratorQualityContext    *c)
{
  CuratorQualityThresholds defaults;

  g_return_val_if_fail (s != NULL && c != NULL, NULL);

  if (t == NULL)
    {
      curator_quality_thresholds_init_default (&defaults);
      t = &defaults;
    }
  switch (check)
    {
    case CURATOR_QUALITY_DARK:
      return g_strdup_printf ("dark: its brightest 5%% is at %.0f of 255 (threshold %.0f)",
                              s->luma_p95, t->dark_p95);
    case CURATOR_QUALITY_OVEREXPOSED:
      return g_strdup_printf ("overexposed: its darkest 5%% is at %.0f of 255 (threshold %.0f)",
                              s->luma_p05, t->overexposed_p05);
    case CURATOR_QUALITY_BLURRY:
      return g_strdup_printf ("blurry: sharpness %.3f (threshold %.3f)", sharpness (s),
                              t->blurry_sharpness);
    case CURATOR_QUALITY_LOW_INFORMATION:
      return g_strdup_printf ("low information: %.1f bits of brightness entropy (threshold %.1f)",
                              s->entropy, t->low_information_entropy);
    case CURATOR_QUALITY_ODD_SIZE:
      return g_strdup_printf ("odd size: %dx%d where most are about %dx%d", s->width, s->height,
                              c->median_width, c->median_height);
    case CURATOR_QUALITY_ODD_ASPECT:
      return g_strdup_printf ("odd aspect ratio: %dx%d (%.2f:1) where most are %.2f:1", s->width,
                              s->height, (double) s->width / MAX (s->height, 1),
                              exp (c->median_log_aspect));
    case CURATOR_QUALITY_GREY_AS_RGB:
      return g_strdup_printf ("grey picture stored with %d colour channels", s->channels);
    case CURATOR_QUALITY_N_CHECKS:
    default:
      g_return_val_if_reached (NULL);
    }
}

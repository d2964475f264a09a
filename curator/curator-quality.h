/* curator-quality.h: image-quality issues read off the statistics the index
 * already keeps for every sample (CuratorDbSample: luma percentiles,
 * contrast, entropy, Laplacian variance, grey test, size).
 *
 * Each check turns one measure into a severity in [0, 1]: 0 is fine, 0.5 is
 * the threshold, 1 is as bad as it gets; a sample is flagged when the
 * severity is above 0.5. For a measure m that is bad when low, with
 * threshold t, the severity is t / (t + m); for one bad when high, m / (m + t).
 * Severities of different checks are thus comparable enough to sort a list.
 *
 * The luma statistics are measured on the thumbnail (longest side <= 256 px,
 * curator-image.h), so the thresholds below mean the same for small and
 * large pictures. Defaults, and what they flag on the CIFAR-10 practice set
 * (10,000 photos of 32 x 32):
 *
 *   dark             luma_p95 < 40: even the brightest 5% of the picture is
 *                    darker than 40 of 255 (0 of 10,000; the darkest has 49)
 *   overexposed      luma_p05 > 215: even the darkest 5% is brighter than
 *                    215, a washed-out or nearly white picture (2 of 10,000)
 *   blurry           sharpness = blur / contrast^2 < 0.02, where blur is the
 *                    variance of the Laplacian and contrast the standard
 *                    deviation of luma: the share of the picture's variation
 *                    at the finest scale. A Gaussian blur of sigma s pixels
 *                    divides it by roughly s^4; photographs score about 1
 *                    (the lowest of the practice set 0.07). Only pictures
 *                    with contrast >= 8: a flat one is low-information, not
 *                    blurry.
 *   low information  entropy of the luma histogram < 3 bits (of 8): a flat
 *                    or nearly flat picture (1 of 10,000)
 *   odd size         |log2 (area / median area)| > 2: a quarter or less, or
 *                    four times or more, the typical number of pixels
 *   odd aspect       the aspect ratio is more than twice as elongated as
 *                    both a square and the typical (median) aspect ratio of
 *                    the dataset: min (|ln a|, |ln a - ln median|) > ln 2,
 *                    so portrait and landscape photos mixed are fine
 *   grey as RGB      stored with colour channels, but every pixel grey
 *                    (severity 1 or 0; 120 of the practice set)
 *
 * Samples that are not readable (status other than OK) get severity 0. */
#pragma once

#include <glib.h>

#include "curator-db.h"

G_BEGIN_DECLS

typedef enum {
  CURATOR_QUALITY_DARK,
  CURATOR_QUALITY_OVEREXPOSED,
  CURATOR_QUALITY_BLURRY,
  CURATOR_QUALITY_LOW_INFORMATION,
  CURATOR_QUALITY_ODD_SIZE,
  CURATOR_QUALITY_ODD_ASPECT,
  CURATOR_QUALITY_GREY_AS_RGB,
  CURATOR_QUALITY_N_CHECKS
} CuratorQualityCheck;

/* "dark", "overexposed", "blurry", "low-information", "odd-size",
 * "odd-aspect", "grey-as-rgb". */
const char *curator_quality_check_to_string (CuratorQualityCheck check);

typedef struct {
  double dark_p95;                /* 40 */
  double overexposed_p05;         /* 215 */
  double blurry_sharpness;        /* 0.02 */
  double blurry_min_contrast;     /* 8 */
  double low_information_entropy; /* 3 bits */
  double odd_size_log2_area;      /* 2 */
  double odd_aspect_factor;       /* 2 */
} CuratorQualityThresholds;

void curator_quality_thresholds_init_default (CuratorQualityThresholds *thresholds);

/* What "typical" means in this dataset (from the readable samples). */
typedef struct {
  int    median_width, median_height;
  double median_area;
  double median_log_aspect;      /* median of ln (width / height) */
} CuratorQualityContext;

/* Scores every sample: severities[i * CURATOR_QUALITY_N_CHECKS + check] and
 * flags[i] with bit (1 << check) set for each check above 0.5. @flags and
 * @context may be NULL. */
void curator_quality_measure (CuratorDbSample *const         *samples,
                              gsize                           n_samples,
                              const CuratorQualityThresholds *thresholds,
                              float                          *severities,
                              guint32                        *flags,
                              CuratorQualityContext          *context);

/* A phrase for a person: why @sample fails @check, with the numbers, e.g.
 * "dark: its brightest 5% is at 23 of 255 (threshold 40)". (transfer full) */
char *curator_quality_describe (CuratorQualityCheck             check,
                                const CuratorDbSample          *sample,
                                const CuratorQualityThresholds *thresholds,
                                const CuratorQualityContext    *context);

G_END_DECLS

/* test-quality.c: the image-quality checks.
 *
 * Facts: each check fires on statistics past its documented threshold and
 * not on ordinary ones; severities are 0.5 at the threshold and order by
 * badness; size and aspect are judged against the dataset's typical picture
 * (portrait and landscape mixed are fine). And end to end, through the
 * indexer's own measurements (curator_image_facts_from_bytes) of generated
 * pictures: a dark, a washed-out, a blurred, a flat and a grey-as-RGB copy
 * of a sharp scene are each flagged for exactly that, the scene for nothing. */
#include "curator-config.h"

#include <math.h>
#include <string.h>

#include "curator-image.h"
#include "curator-quality.h"

#define N_CHECKS CURATOR_QUALITY_N_CHECKS

/* An ordinary photograph's statistics. */
static CuratorDbSample *
ordinary (int width, int height)
{
  CuratorDbSample *s = curator_db_sample_new ();

  s->status = CURATOR_SAMPLE_OK;
  s->width = width;
  s->height = height;
  s->channels = 3;
  s->luma_p05 = 20;
  s->luma_p50 = 110;
  s->luma_p95 = 220;
  s->contrast = 55;
  s->entropy = 7.2;
  s->blur = 2500;    /* sharpness 0.83 */
  s->is_grey = FALSE;
  return s;
}

static guint32
flags_of (GPtrArray *samples, guint index, float *severity_out)
{
  gsize n = samples->len;
  g_autofree float *severities = g_new (float, n * N_CHECKS);
  g_autofree guint32 *flags = g_new (guint32, n);

  curator_quality_measure ((CuratorDbSample *const *) samples->pdata, n, NULL, severities, flags, NULL);
  if (severity_out != NULL)
    memcpy (severity_out, severities + (gsize) index * N_CHECKS, sizeof (float) * N_CHECKS);
  return flags[index];
}

static void
test_thresholds (void)
{
  g_autoptr(GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_sample_free);
  CuratorDbSample *s;
  float sev[N_CHECKS];

  for (int i = 0; i < 20; i++)
    g_ptr_array_add (samples, ordinary (i % 2 ? 640 : 480, i % 2 ? 480 : 640));
  for (guint i = 0; i < 20; i++)
    g_assert_cmphex (flags_of (samples, i, NULL), ==, 0);

  s = g_ptr_array_index (samples, 0);
  s->luma_p95 = 39;
  g_assert_cmphex (flags_of (samples, 0, sev), ==, 1u << CURATOR_QUALITY_DARK);
  s->luma_p95 = 41;
  g_assert_cmphex (flags_of (samples, 0, sev), ==, 0);
  s->luma_p95 = 40;
  flags_of (samples, 0, sev);
  g_assert_cmpfloat_with_epsilon (sev[CURATOR_QUALITY_DARK], 0.5, 1e-6);
  s->luma_p95 = 220;

  s = g_ptr_array_index (samples, 1);
  s->luma_p05 = 230;
  g_assert_cmphex (flags_of (samples, 1, NULL), ==, 1u << CURATOR_QUALITY_OVEREXPOSED);
  s->luma_p05 = 200;
  g_assert_cmphex (flags_of (samples, 1, NULL), ==, 0);
  s->luma_p05 = 20;

  s = g_ptr_array_index (samples, 2);
  s->blur = 0.01 * 55 * 55;   /* sharpness 0.01 */
  g_assert_cmphex (flags_of (samples, 2, NULL), ==, 1u << CURATOR_QUALITY_BLURRY);
  /* A flat picture is low-information, not blurry. */
  s->contrast = 2;
  s->blur = 0;
  s->entropy = 1.5;
  g_assert_cmphex (flags_of (samples, 2, NULL), ==, 1u << CURATOR_QUALITY_LOW_INFORMATION);
  s->contrast = 55;
  s->blur = 2500;
  s->entropy = 7.2;

  s = g_ptr_array_index (samples, 3);
  s->is_grey = TRUE;
  g_assert_cmphex (flags_of (samples, 3, NULL), ==, 1u << CURATOR_QUALITY_GREY_AS_RGB);
  s->channels = 1;   /* stored as grey: nothing wrong */
  g_assert_cmphex (flags_of (samples, 3, NULL), ==, 0);

  s = g_ptr_array_index (samples, 4);
  s->width = 160;    /* a 16th of the typical area, typical aspect */
  s->height = 120;
  g_assert_cmphex (flags_of (samples, 4, NULL), ==, 1u << CURATOR_QUALITY_ODD_SIZE);
  s->width = 320;    /* a quarter: at the threshold, not beyond */
  s->height = 240;
  g_assert_cmphex (flags_of (samples, 4, NULL), ==, 0);

  s = g_ptr_array_index (samples, 5);
  s->width = 1600;   /* 6.7:1, but the same number of pixels */
  s->height = 240;
  g_assert_cmphex (flags_of (samples, 5, NULL), ==, 1u << CURATOR_QUALITY_ODD_ASPECT);
  s->width = 240;    /* the same strip standing up */
  s->height = 1600;
  g_assert_cmphex (flags_of (samples, 5, NULL), ==, 1u << CURATOR_QUALITY_ODD_ASPECT);

  /* A corrupt sample is judged on nothing. */
  s = g_ptr_array_index (samples, 6);
  s->status = CURATOR_SAMPLE_CORRUPT;
  s->luma_p95 = 0;
  s->entropy = 0;
  g_assert_cmphex (flags_of (samples, 6, NULL), ==, 0);
}

static void
test_severity_orders (void)
{
  g_autoptr(GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_sample_free);
  float a[N_CHECKS], b[N_CHECKS];

  g_ptr_array_add (samples, ordinary (64, 64));
  g_ptr_array_add (samples, ordinary (64, 64));
  ((CuratorDbSample *) g_ptr_array_index (samples, 0))->luma_p95 = 30;
  ((CuratorDbSample *) g_ptr_array_index (samples, 1))->luma_p95 = 5;
  flags_of (samples, 0, a);
  flags_of (samples, 1, b);
  g_assert_cmpfloat (a[CURATOR_QUALITY_DARK], >, 0.5f);
  g_assert_cmpfloat (b[CURATOR_QUALITY_DARK], >, a[CURATOR_QUALITY_DARK]);
  g_assert_cmpfloat (b[CURATOR_QUALITY_DARK], <=, 1.0f);
}

static void
test_names_and_reasons (void)
{
  g_autoptr(CuratorDbSample) s = ordinary (32, 32);
  CuratorQualityContext context = { 32, 32, 1024, 0 };
  g_autofree char *dark = NULL;

  g_assert_cmpstr (curator_quality_check_to_string (CURATOR_QUALITY_LOW_INFORMATION), ==, "low-information");
  g_assert_cmpstr (curator_quality_check_to_string (CURATOR_QUALITY_GREY_AS_RGB), ==, "grey-as-rgb");
  s->luma_p95 = 23;
  dark = curator_quality_describe (CURATOR_QUALITY_DARK, s, NULL, &context);
  g_assert_nonnull (strstr (dark, "23"));
  g_assert_nonnull (strstr (dark, "dark"));
}

/* ---- through the indexer's measurements -------------------------------------- */

/* A sharp scene: shapes of different greys and colours on a textured
 * background. */
static CuratorRgb *
scene (int side, guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  CuratorRgb *image = curator_rgb_new (side, side);

  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        guint8 *p = image->pixels + 3 * (y * side + x);
        int v = 60 + g_rand_int_range (rand, 0, 40);

        if (x > side / 5 && x < side / 2 && y > side / 4 && y < 3 * side / 4)
          v = 200;
        if ((x - 3 * side / 4) * (x - 3 * side / 4) + (y - side / 3) * (y - side / 3) < side * side / 36)
          v = 20;
        p[0] = (guint8) v;
        p[1] = (guint8) CLAMP (v + ((x / 8) % 2 ? 30 : -30), 0, 255);
        p[2] = (guint8) CLAMP (255 - v, 0, 255);
      }
  return image;
}

/* Box blur of radius @r, three passes (about a Gaussian of sigma 1.7 r). */
static void
blur (CuratorRgb *image, int r)
{
  int w = image->width, h = image->height;
  g_autofree guint8 *tmp = g_new (guint8, (gsize) w * h * 3);

  for (int pass = 0; pass < 6; pass++)
    {
      gboolean horizontal = pass % 2 == 0;

      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          for (int c = 0; c < 3; c++)
            {
              int sum = 0, count = 0;

              for (int d = -r; d <= r; d++)
                {
                  int xx = horizontal ? CLAMP (x + d, 0, w - 1) : x;
                  int yy = horizontal ? y : CLAMP (y + d, 0, h - 1);

                  sum += image->pixels[3 * (yy * w + xx) + c];
                  count++;
                }
              tmp[3 * (y * w + x) + c] = (guint8) (sum / count);
            }
      memcpy (image->pixels, tmp, (gsize) w * h * 3);
    }
}

/* Encodes @image as a file would hold it and measures it. The PNG encoder
 * stores a grey picture as grey, so a grey picture "stored as RGB" is
 * written as a colour JPEG (R = G = B survives JPEG exactly). */
static CuratorDbSample *
measured_as (const CuratorRgb *image, gboolean as_rgb_jpeg)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) png = as_rgb_jpeg ? curator_image_encode_jpeg (image, 95, &error)
                                      : curator_image_encode_png (image, &error);
  g_autoptr(CuratorImageFacts) facts = NULL;
  CuratorDbSample *s = curator_db_sample_new ();
  gsize n;
  const guint8 *data;

  g_assert_no_error (error);
  data = g_bytes_get_data (png, &n);
  facts = curator_image_facts_from_bytes (data, n, &error);
  g_assert_no_error (error);
  s->status = CURATOR_SAMPLE_OK;
  s->width = facts->info.width;
  s->height = facts->info.height;
  s->channels = facts->info.channels;
  s->luma_p05 = facts->luma_p05;
  s->luma_p50 = facts->luma_p50;
  s->luma_p95 = facts->luma_p95;
  s->contrast = facts->contrast;
  s->entropy = facts->entropy;
  s->blur = facts->blur;
  s->is_grey = facts->is_grey;
  return s;
}

static CuratorDbSample *
measured (const CuratorRgb *image)
{
  return measured_as (image, FALSE);
}

static void
test_generated_pictures (void)
{
  enum { SHARP, DARK, BRIGHT, BLURRED, FLAT, GREY, N_KINDS };
  const guint32 expected[N_KINDS] = {
    0, 1u << CURATOR_QUALITY_DARK, 1u << CURATOR_QUALITY_OVEREXPOSED, 1u << CURATOR_QUALITY_BLURRY,
    1u << CURATOR_QUALITY_LOW_INFORMATION, 1u << CURATOR_QUALITY_GREY_AS_RGB,
  };
  g_autoptr(GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_sample_free);
  int side = 96;
  gsize n;
  g_autofree float *severities = NULL;
  g_autofree guint32 *flags = NULL;

  /* A few ordinary scenes, so that "typical" is what it should be. */
  for (guint32 seed = 0; seed < 4; seed++)
    {
      g_autoptr(CuratorRgb) image = scene (side, 100 + seed);
      g_ptr_array_add (samples, measured (image));
    }
  for (int kind = 0; kind < N_KINDS; kind++)
    {
      g_autoptr(CuratorRgb) image = scene (side, (guint32) kind);

      for (gsize i = 0; i < (gsize) side * side * 3; i++)
        {
          guint8 *v = &image->pixels[i];

          if (kind == DARK)
            *v = (guint8) (*v / 6);
          else if (kind == BRIGHT)
            *v = (guint8) MIN (215 + *v / 6, 255);
          else if (kind == FLAT)
            *v = (guint8) (i % 3 == 0 ? 128 : i % 3 == 1 ? 100 : 60);  /* one colour */
        }
      if (kind == BLURRED)
        blur (image, 5);
      if (kind == GREY)
        for (gsize p = 0; p < (gsize) side * side; p++)
          image->pixels[3 * p + 1] = image->pixels[3 * p + 2] = image->pixels[3 * p];
      g_ptr_array_add (samples, measured_as (image, kind == GREY));
    }
  n = samples->len;
  severities = g_new (float, n * N_CHECKS);
  flags = g_new (guint32, n);
  curator_quality_measure ((CuratorDbSample *const *) samples->pdata, n, NULL, severities, flags, NULL);
  for (gsize i = 0; i < 4; i++)
    g_assert_cmphex (flags[i], ==, 0);
  for (int kind = 0; kind < N_KINDS; kind++)
    {
      if (g_test_verbose ())
        {
          CuratorDbSample *s = g_ptr_array_index (samples, 4 + kind);
          g_test_message ("kind %d: p05 %.0f p95 %.0f contrast %.1f entropy %.2f blur %.1f -> %x", kind,
                          s->luma_p05, s->luma_p95, s->contrast, s->entropy, s->blur, flags[4 + kind]);
        }
      g_assert_cmphex (flags[4 + kind], ==, expected[kind]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/quality/thresholds", test_thresholds);
  g_test_add_func ("/quality/severity-orders", test_severity_orders);
  g_test_add_func ("/quality/names-and-reasons", test_names_and_reasons);
  g_test_add_func ("/quality/generated-pictures", test_generated_pictures);
  return g_test_run ();
}

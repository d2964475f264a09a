/* curator-image-facts.c: everything the index keeps about one image file.
 *
 * One read, one decode, then hashes, statistics and a thumbnail. A JPEG is
 * decoded at the smallest DCT scale M/8 that still covers the thumbnail
 * (CURATOR_SCALE_COVER_LONG_SIDE), since nothing computed here needs more:
 * a 1024x768 photo decodes at 2/8 straight to its 256x192 thumbnail, for a
 * fraction of a full decode. A picture that already fits the thumbnail is
 * decoded at full size (M = 8). PNG cannot be scaled and is always decoded
 * whole.
 *
 * The luma statistics and the perceptual hash are measured on the thumbnail
 * raster (longest side <= CURATOR_THUMB_MAX_PX), not on the decode: that is
 * far cheaper for large files, and it makes the numbers mean the same for a
 * 300 px and a 3000 px picture of the same scene (the Laplacian's variance,
 * for one, depends strongly on the scale it is taken at). The grey test runs
 * over the whole decoded raster.
 *
 * A small file that fits the thumbnail is its own thumbnail: its bytes are
 * kept as they are, with their format, rather than re-encoded.
 *
 * Error messages do not name the file: the caller knows it and records the
 * reason against the sample. */
#include "curator-config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "curator-error.h"
#include "curator-image.h"
#include "curator-image-private.h"

/* A picture that fits the thumbnail and whose file is no larger than this
 * is stored as its own thumbnail. */
#define THUMB_SOURCE_MAX_BYTES (64 * 1024)
/* Thumbnails this small or smaller are otherwise stored losslessly. */
#define THUMB_PNG_MAX_PX 64
#define THUMB_JPEG_QUALITY 90
#define GREY_TOLERANCE 2
#define PHASH_SIZE 32
#define PHASH_BLOCK 8

void
curator_image_facts_free (CuratorImageFacts *facts)
{
  if (facts == NULL)
    return;
  g_free (facts->file_hash);
  g_free (facts->pixel_hash);
  g_clear_pointer (&facts->thumb, g_bytes_unref);
  g_free (facts->thumb_format);
  g_free (facts);
}

/* ---- hashes ---------------------------------------------------------------- */

static void
put_u32_le (guint8  *out,
            guint32  value)
{
  out[0] = (guint8) value;
  out[1] = (guint8) (value >> 8);
  out[2] = (guint8) (value >> 16);
  out[3] = (guint8) (value >> 24);
}

/* SHA-256 over width and height (u32 little-endian) and the RGB bytes. A
 * raster decoded at scale M/8 gets a prefix first whose leading 0xffffffff
 * would read as a width no full-size raster can have, so the two kinds can
 * never hash the same input. */
static char *
pixel_hash (const CuratorRgb *image,
            int               scale_num)
{
  CuratorSha256 sha;
  guint8 header[8];

  _curator_sha256_init (&sha, TRUE);

  if (scale_num != _CURATOR_JPEG_SCALE_DENOM)
    {
      static const guint8 tag[13] = { 0xff, 0xff, 0xff, 0xff, 'd', 'c', 't', '-', 's', 'c', 'a', 'l', 'e' };
      guint8 scale[8];

      put_u32_le (scale, (guint32) scale_num);
      put_u32_le (scale + 4, _CURATOR_JPEG_SCALE_DENOM);
      _curator_sha256_update (&sha, tag, sizeof tag);
      _curator_sha256_update (&sha, scale, sizeof scale);
    }
  put_u32_le (header, (guint32) image->width);
  put_u32_le (header + 4, (guint32) image->height);
  _curator_sha256_update (&sha, header, sizeof header);
  _curator_sha256_update (&sha, image->pixels, (gsize) image->width * image->height * 3);
  return _curator_sha256_finish_hex (&sha);
}

/* ---- perceptual hash --------------------------------------------------------
 *
 * The DCT hash of phash.org: a 32x32 grey version, its 2D DCT-II, the 8x8
 * lowest frequencies without row and column 0 (which carry the mean and the
 * coarsest gradients that brightness and contrast changes disturb), one bit
 * per coefficient above their median. Only rows 1..8 of the transform are
 * ever needed, so the table holds just those. */

/* cos_t[x][k] = cos(pi (2x + 1) (k + 1) / 64): x-major, so that the inner
 * loops below run over 8 independent frequencies (vectorisable, and no
 * chain of dependent additions). */
typedef struct {
  float cos_t[PHASH_SIZE][PHASH_BLOCK] __attribute__ ((aligned (16)));
} PhashTable;

static const PhashTable *
phash_table (void)
{
  static PhashTable table;
  static gsize ready = 0;

  if (g_once_init_enter (&ready))
    {
      for (int x = 0; x < PHASH_SIZE; x++)
        for (int k = 0; k < PHASH_BLOCK; k++)
          table.cos_t[x][k] = (float) cos (G_PI * (2 * x + 1) * (k + 1) / (2.0 * PHASH_SIZE));
      g_once_init_leave (&ready, 1);
    }
  return &table;
}

/* The k-th smallest of v[0..n-1] (0-based), reordering v so that v[k] holds
 * it with nothing larger before it and nothing smaller after it: Hoare's
 * selection, a few hundred comparisons for 64 values where a sort takes
 * about two thousand. */
static float
select_kth (float *v,
            int    n,
            int    k)
{
  int lo = 0, hi = n - 1;

  while (lo < hi)
    {
      float pivot = v[(lo + hi) / 2];
      int i = lo, j = hi;

      while (i <= j)
        {
          while (v[i] < pivot)
            i++;
          while (v[j] > pivot)
            j--;
          if (i <= j)
            {
              float t = v[i];

              v[i++] = v[j];
              v[j--] = t;
            }
        }
      if (k <= j)
        hi = j;
      else if (k >= i)
        lo = i;
      else
        break;
    }
  return v[k];
}

static guint64
phash_of_luma (const guint8 *luma,
               int           width,
               int           height)
{
  const PhashTable *t = phash_table ();
  guint8 small[PHASH_SIZE * PHASH_SIZE];
  float rows[PHASH_SIZE][PHASH_BLOCK];
  float coeff[PHASH_BLOCK][PHASH_BLOCK] = { { 0 } };
  float values[PHASH_BLOCK * PHASH_BLOCK];
  float low, high, median;
  guint64 hash = 0;

  _curator_resize_u8 (luma, width, height, 1, small, PHASH_SIZE, PHASH_SIZE);

  /* Along each row, then down each of the 8 kept columns. Single precision
   * is plenty (sums of 32 terms below 2^13) and four to a register in SSE;
   * each of the 8 sums is accumulated in the same order in both versions of
   * the loops (and never fused into FMA, which x86-64 lacks as a baseline),
   * so the hash is the same bit for bit. */
  for (int y = 0; y < PHASH_SIZE; y++)
    {
      const guint8 *in = small + y * PHASH_SIZE;
#ifdef __SSE2__
      __m128 acc0 = _mm_setzero_ps (), acc1 = _mm_setzero_ps ();

      for (int x = 0; x < PHASH_SIZE; x++)
        {
          __m128 f = _mm_set1_ps ((float) in[x]);

          acc0 = _mm_add_ps (acc0, _mm_mul_ps (_mm_load_ps (&t->cos_t[x][0]), f));
          acc1 = _mm_add_ps (acc1, _mm_mul_ps (_mm_load_ps (&t->cos_t[x][4]), f));
        }
      _mm_storeu_ps (&rows[y][0], acc0);
      _mm_storeu_ps (&rows[y][4], acc1);
#else
      for (int v = 0; v < PHASH_BLOCK; v++)
        rows[y][v] = 0;
      for (int x = 0; x < PHASH_SIZE; x++)
        for (int v = 0; v < PHASH_BLOCK; v++)
          rows[y][v] += t->cos_t[x][v] * (float) in[x];
#endif
    }
  for (int u = 0; u < PHASH_BLOCK; u++)
    {
#ifdef __SSE2__
      __m128 acc0 = _mm_setzero_ps (), acc1 = _mm_setzero_ps ();

      for (int y = 0; y < PHASH_SIZE; y++)
        {
          __m128 c = _mm_set1_ps (t->cos_t[y][u]);

          acc0 = _mm_add_ps (acc0, _mm_mul_ps (_mm_loadu_ps (&rows[y][0]), c));
          acc1 = _mm_add_ps (acc1, _mm_mul_ps (_mm_loadu_ps (&rows[y][4]), c));
        }
      _mm_storeu_ps (&coeff[u][0], acc0);
      _mm_storeu_ps (&coeff[u][4], acc1);
#else
      for (int y = 0; y < PHASH_SIZE; y++)
        for (int v = 0; v < PHASH_BLOCK; v++)
          coeff[u][v] += t->cos_t[y][u] * rows[y][v];
#endif
    }

  /* The median of the 64: the mean of the 32nd and 33rd smallest. After the
   * selection of the 32nd, the 33rd is the least of those after it. */
  memcpy (values, coeff, sizeof values);
  low = select_kth (values, PHASH_BLOCK * PHASH_BLOCK, 31);
  high = values[32];
  for (int i = 33; i < PHASH_BLOCK * PHASH_BLOCK; i++)
    high = MIN (high, values[i]);
  median = (low + high) / 2;

  for (int u = 0; u < PHASH_BLOCK; u++)
    for (int v = 0; v < PHASH_BLOCK; v++)
      if (coeff[u][v] > median)
        hash |= G_GUINT64_CONSTANT (1) << (u * PHASH_BLOCK + v);
  return hash;
}

/* ---- statistics ---------------------------------------------------------- */

/* Rec. 601 luma in 8.8 fixed point; exact (R=G=B=v gives v). The pointers
 * do not alias: said so, the loop keeps them in registers. */
static void
luma_of_rgb (guint8       *restrict luma,
             const guint8 *restrict rgb,
             gsize                  n_pixels)
{
  for (gsize i = 0; i < n_pixels; i++, rgb += 3)
    luma[i] = (guint8) ((77u * rgb[0] + 150u * rgb[1] + 29u * rgb[2] + 128u) >> 8);
}

static gboolean
raster_is_grey (const CuratorRgb *image)
{
  const guint8 *p = image->pixels;
  gsize n = (gsize) image->width * image->height;

  /* Stops at the first coloured pixel, so colour photos cost next to nothing. */
  for (gsize i = 0; i < n; i++, p += 3)
    if (ABS (p[0] - p[1]) > GREY_TOLERANCE
        || ABS (p[1] - p[2]) > GREY_TOLERANCE
        || ABS (p[0] - p[2]) > GREY_TOLERANCE)
      return FALSE;
  return TRUE;
}

/* c * log2(c) for the counts below CLOG_TABLE_SIZE, which is what a
 * thumbnail's histogram mostly holds (256 log2 calls cost more than the
 * rest of the statistics of a 32x32 image). */
#define CLOG_TABLE_SIZE 1024

static const double *
c_log2_c_table (void)
{
  static double table[CLOG_TABLE_SIZE];
  static gsize ready = 0;

  if (g_once_init_enter (&ready))
    {
      table[0] = 0;
      for (int i = 1; i < CLOG_TABLE_SIZE; i++)
        table[i] = i * log2 ((double) i);
      g_once_init_leave (&ready, 1);
    }
  return table;
}

/* The smallest values at or below which 5%, 50% and 95% of the pixels lie,
 * in one pass. For an integer count, cumulative >= fraction * n is
 * cumulative >= ceil (fraction * n); at least one pixel is always wanted. */
static void
histogram_percentiles (const guint64  histogram[256],
                       guint64        n,
                       double        *p05,
                       double        *p50,
                       double        *p95)
{
  static const double fractions[3] = { 0.05, 0.50, 0.95 };
  double *out[3] = { p05, p50, p95 };
  guint64 want[3];
  guint64 cumulative = 0;
  int next = 0;

  for (int i = 0; i < 3; i++)
    {
      want[i] = (guint64) ceil (fractions[i] * (double) n);
      want[i] = MAX (want[i], 1);
      *out[i] = 255;
    }
  for (int v = 0; v < 256 && next < 3; v++)
    {
      cumulative += histogram[v];
      while (next < 3 && cumulative >= want[next])
        *out[next++] = v;
    }
}

/* Fills the luma statistics of @facts from @luma and returns nothing; the
 * Laplacian is taken over interior pixels only (none when a side < 3). */
static void
luma_statistics (CuratorImageFacts *facts,
                 const guint8      *luma,
                 int                width,
                 int                height)
{
  const double *c_log2_c = c_log2_c_table ();
  guint32 partial[4][256] = { { 0 } };
  guint64 histogram[256];
  guint64 n = (guint64) width * height;
  guint64 sum = 0, sum_sq = 0;
  double entropy = 0;
  guint64 i = 0;

  /* The thumbnail's sides are at most 256, so it has at most 2^16 pixels:
   * the integer moments below (up to 255^2 * n^2) fit in 64 bits and a flat
   * image gives exactly 0. */
  g_assert (width <= CURATOR_THUMB_MAX_PX && height <= CURATOR_THUMB_MAX_PX);

  /* Four histograms filled in turn, then summed: neighbouring pixels often
   * share a value, and one histogram would make each increment wait for
   * the one before. */
  for (; i + 4 <= n; i += 4)
    {
      partial[0][luma[i]]++;
      partial[1][luma[i + 1]]++;
      partial[2][luma[i + 2]]++;
      partial[3][luma[i + 3]]++;
    }
  for (; i < n; i++)
    partial[0][luma[i]]++;
  for (guint v = 0; v < 256; v++)
    histogram[v] = (guint64) partial[0][v] + partial[1][v] + partial[2][v] + partial[3][v];

  /* H = log2(n) - sum(c log2 c) / n over the bin counts c. */
  for (guint v = 0; v < 256; v++)
    {
      guint64 c = histogram[v];

      sum += v * c;
      sum_sq += v * v * c;
      entropy -= c < CLOG_TABLE_SIZE ? c_log2_c[c] : (double) c * log2 ((double) c);
    }
  entropy = entropy / n + log2 ((double) n);
  facts->contrast = sqrt ((double) (sum_sq * n - sum * sum) / ((double) n * n));
  /* One occupied bin gives log2(n) - log2(n), maybe -1e-16: that is 0. */
  facts->entropy = entropy > 1e-9 ? entropy : 0;
  histogram_percentiles (histogram, n, &facts->luma_p05, &facts->luma_p50, &facts->luma_p95);

  facts->blur = 0;
  if (width >= 3 && height >= 3)
    {
      gint64 lap_sum = 0, lap_sum_sq = 0, count = (gint64) (width - 2) * (height - 2);

      for (int y = 1; y < height - 1; y++)
        {
          const guint8 *row = luma + (gsize) y * width;
          const guint8 *up = row - width, *down = row + width;
          /* |lap| <= 1020 and a row has at most 254 of them: 32 bits hold
           * a row's sums, 16 bits each Laplacian, so SSE2 takes 8 at once. */
          gint32 row_sum = 0, row_sum_sq = 0;
          int x = 1;

#ifdef __SSE2__
          {
            const __m128i zero = _mm_setzero_si128 (), ones = _mm_set1_epi16 (1);
            __m128i vsum = zero, vsq = zero;
            gint32 lanes[4];

            for (; x + 8 <= width - 1; x += 8)
              {
#define LOAD8(p) _mm_unpacklo_epi8 (_mm_loadl_epi64 ((const __m128i *) (const void *) (p)), zero)
                __m128i lap = _mm_sub_epi16 (_mm_slli_epi16 (LOAD8 (row + x), 2),
                                             _mm_add_epi16 (_mm_add_epi16 (LOAD8 (row + x - 1), LOAD8 (row + x + 1)),
                                                            _mm_add_epi16 (LOAD8 (up + x), LOAD8 (down + x))));
#undef LOAD8

                vsum = _mm_add_epi32 (vsum, _mm_madd_epi16 (lap, ones));
                vsq = _mm_add_epi32 (vsq, _mm_madd_epi16 (lap, lap));
              }
            _mm_storeu_si128 ((__m128i *) (void *) lanes, vsum);
            row_sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
            _mm_storeu_si128 ((__m128i *) (void *) lanes, vsq);
            row_sum_sq = lanes[0] + lanes[1] + lanes[2] + lanes[3];
          }
#endif
          for (; x < width - 1; x++)
            {
              gint32 lap = 4 * row[x] - row[x - 1] - row[x + 1] - up[x] - down[x];

              row_sum += lap;
              row_sum_sq += lap * lap;
            }
          lap_sum += row_sum;
          lap_sum_sq += row_sum_sq;
        }
      /* In integers first: a flat image gives exactly 0, not rounding noise. */
      facts->blur = (double) (lap_sum_sq * count - lap_sum * lap_sum) / ((double) count * count);
    }
}

/* ---- thumbnail ------------------------------------------------------------ */

static void
thumb_size (int  width,
            int  height,
            int *thumb_width,
            int *thumb_height)
{
  int longest = MAX (width, height);

  if (longest <= CURATOR_THUMB_MAX_PX)
    {
      *thumb_width = width;
      *thumb_height = height;
      return;
    }
  *thumb_width = (int) MAX (1, ((gint64) width * CURATOR_THUMB_MAX_PX + longest / 2) / longest);
  *thumb_height = (int) MAX (1, ((gint64) height * CURATOR_THUMB_MAX_PX + longest / 2) / longest);
}

/* ---- putting it together ---------------------------------------------------- */

/* Computes the facts of @data. @owner, when not NULL, holds @data: a file
 * that is its own thumbnail then shares its memory instead of a copy. */
static CuratorImageFacts *
facts_compute (const guint8  *data,
               gsize          n_bytes,
               GBytes        *owner,
               GError       **error)
{
  g_autoptr (CuratorImageFacts) facts = NULL;
  g_autoptr (CuratorRgb) image = NULL;
  g_autoptr (CuratorRgb) thumb_owned = NULL;
  g_autofree guint8 *luma_heap = NULL;
  guint8 luma_stack[64 * 64];
  guint8 *luma;
  const CuratorRgb *thumb;
  CuratorImageInfo info;
  int scale_num, thumb_w, thumb_h;
  gsize n_thumb;

  image = _curator_image_decode_scaled (data, n_bytes, CURATOR_THUMB_MAX_PX,
                                        CURATOR_SCALE_COVER_LONG_SIDE, &info, &scale_num, error);
  if (image == NULL)
    return NULL;

  facts = g_new0 (CuratorImageFacts, 1);
  facts->info = info;
  facts->file_hash = _curator_sha256_hex (data, n_bytes);
  facts->pixel_hash = pixel_hash (image, scale_num);
  facts->is_grey = raster_is_grey (image);

  /* From the full-size facts, so a scaled decode gives the same thumbnail
   * size as a full one would; never larger than the picture. The scale rule
   * guarantees the decode is at least that large in both directions. */
  thumb_size (info.width, info.height, &thumb_w, &thumb_h);
  g_assert (image->width >= thumb_w && image->height >= thumb_h);
  if (thumb_w == image->width && thumb_h == image->height)
    thumb = image;
  else
    thumb = thumb_owned = curator_rgb_resize (image, thumb_w, thumb_h);
  facts->thumb_width = thumb_w;
  facts->thumb_height = thumb_h;

  n_thumb = (gsize) thumb_w * thumb_h;
  luma = n_thumb <= sizeof luma_stack ? luma_stack : (luma_heap = g_malloc (n_thumb));
  luma_of_rgb (luma, thumb->pixels, n_thumb);
  luma_statistics (facts, luma, thumb_w, thumb_h);
  facts->phash = phash_of_luma (luma, thumb_w, thumb_h);

  if (thumb_w == info.width && thumb_h == info.height && n_bytes <= THUMB_SOURCE_MAX_BYTES)
    {
      /* Its own thumbnail: decoding it gives this very raster (orientation
       * included), and it costs neither an encode nor more room than it
       * takes on disk, usually a third of the lossless PNG. */
      facts->thumb = owner != NULL ? g_bytes_ref (owner) : g_bytes_new (data, n_bytes);
      facts->thumb_format = g_strdup (curator_image_format_to_string (info.format));
    }
  else if (thumb_w <= THUMB_PNG_MAX_PX && thumb_h <= THUMB_PNG_MAX_PX)
    {
      facts->thumb = curator_image_encode_png (thumb, error);
      facts->thumb_format = g_strdup ("png");
    }
  else
    {
      facts->thumb = curator_image_encode_jpeg (thumb, THUMB_JPEG_QUALITY, error);
      facts->thumb_format = g_strdup ("jpeg");
    }
  if (facts->thumb == NULL)
    return NULL;

  return g_steal_pointer (&facts);
}

CuratorImageFacts *
curator_image_facts_from_bytes (const guint8  *data,
                                gsize          n_bytes,
                                GError       **error)
{
  g_return_val_if_fail (data != NULL || n_bytes == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return facts_compute (data, n_bytes, NULL, error);
}

CuratorImageFacts *
curator_image_facts_from_gbytes (GBytes  *bytes,
                                 GError **error)
{
  gsize n_bytes;
  const guint8 *data;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (bytes, &n_bytes);
  return facts_compute (data, n_bytes, bytes, error);
}

char *
curator_image_file_hash (const guint8 *data,
                         gsize         n_bytes)
{
  g_return_val_if_fail (data != NULL || n_bytes == 0, NULL);

  return _curator_sha256_hex (data, n_bytes);
}

/* Reads all of @fd (a regular file of @size bytes); a file that shrank
 * meanwhile gives what is there. */
static guint8 *
read_all (int       fd,
          gsize     size,
          gsize    *n_read,
          GError  **error)
{
  g_autofree guint8 *buffer = g_try_malloc (size);
  gsize done = 0;

  if (buffer == NULL)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                   "not enough memory to read %" G_GSIZE_FORMAT " bytes", size);
      return NULL;
    }
  while (done < size)
    {
      ssize_t n = read (fd, buffer + done, size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                       "cannot read file: %s", g_strerror (saved_errno));
          return NULL;
        }
      if (n == 0)
        break;
      done += (gsize) n;
    }
  *n_read = done;
  return g_steal_pointer (&buffer);
}

GBytes *
curator_image_read_file (const char  *path,
                         gint64      *mtime_us,
                         GError     **error)
{
  guint8 *data;
  struct stat st;
  gsize n_bytes = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
   * writer. It changes nothing for the regular files we go on to read. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, CURATOR_ERROR,
                   saved_errno == ENOENT ? CURATOR_ERROR_NOT_FOUND : CURATOR_ERROR_IO,
                   "cannot open file: %s", g_strerror (saved_errno));
      return NULL;
    }

  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      close (fd);
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                   "cannot read file: %s", g_strerror (saved_errno));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                           S_ISDIR (st.st_mode) ? "is a directory, not a file"
                           : S_ISFIFO (st.st_mode) ? "is a FIFO, not a regular file"
                           : "not a regular file");
      return NULL;
    }
  if (st.st_size > CURATOR_IMAGE_MAX_FILE_BYTES)
    {
      close (fd);
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                   "file is larger than %d MiB",
                   (int) (CURATOR_IMAGE_MAX_FILE_BYTES / (1024 * 1024)));
      return NULL;
    }
  if (st.st_size == 0)
    {
      close (fd);
      g_set_error_literal (error, CURATOR_ERROR, CURATOR_ERROR_CORRUPT_IMAGE, "file is empty");
      return NULL;
    }

  data = read_all (fd, (gsize) st.st_size, &n_bytes, error);
  close (fd);
  if (data == NULL)
    return NULL;
  if (mtime_us != NULL)
    *mtime_us = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
  return g_bytes_new_take (data, n_bytes);
}

CuratorImageFacts *
curator_image_facts_from_file (const char  *path,
                               GError     **error)
{
  g_autoptr (GBytes) bytes = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  bytes = curator_image_read_file (path, NULL, error);
  if (bytes == NULL)
    return NULL;
  return curator_image_facts_from_gbytes (bytes, error);
}

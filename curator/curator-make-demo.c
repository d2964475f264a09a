/* curator-make-demo.c: writes a demo dataset with known label noise.
 *
 *   curator-make-demo OUTDIR [--count N] [--noise F] [--seed S] [--source DIR] [--force]
 *
 * It reads the Fashion-MNIST test set from Debian's dataset-fashion-mnist
 * package (IDX files, gzip), takes a stratified, seeded selection of images,
 * gives a known fraction of them a wrong label (half to a look-alike class,
 * half to a random other class, like the practice sets in ../shared/data),
 * and writes them as OUTDIR/GIVEN-CLASS/fmnist-NNNNN.png (NNNNN = index in
 * the source) with OUTDIR/labels.csv (file,given_label,true_label) holding
 * the truth. The same seed gives the same dataset, byte for byte.
 *
 * The dataset is built in OUTDIR.tmp-XXXXXX and renamed into place, so an
 * OUTDIR is either complete or absent. --force replaces an earlier demo, and
 * only deletes files this program writes: anything else found in the old
 * folder stays, in OUTDIR.old-XXXXXX. */
#include "curator-config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "curator-error.h"
#include "curator-image.h"

#define DEFAULT_SOURCE "/usr/share/datasets/fashion-mnist"
#define IMAGES_FILE    "t10k-images-idx3-ubyte.gz"
#define LABELS_FILE    "t10k-labels-idx1-ubyte.gz"
#define N_CLASSES      10
#define SIDE_PX        28
#define IMAGE_BYTES    (SIDE_PX * SIDE_PX)
#define IDX_IMAGES_MAGIC 2051
#define IDX_LABELS_MAGIC 2049
/* The training set is 47 MB uncompressed; anything much bigger is not ours. */
#define MAX_UNCOMPRESSED_BYTES (((gsize) 64) << 20)
#define CSV_HEADER "file,given_label,true_label\n"

/* Folder names, in Fashion-MNIST's label order. */
static const char *const class_names[N_CLASSES] = {
  "t-shirt", "trouser", "pullover", "dress", "coat",
  "sandal", "shirt", "sneaker", "bag", "ankle-boot",
};

/* The class each one is most easily mistaken for, -1 when none stands out:
 * t-shirt <-> shirt, pullover <-> coat, sneaker <-> ankle boot, and a sandal
 * taken for a sneaker. */
static const int look_alike[N_CLASSES] = { 6, -1, 4, -1, 2, 7, 0, 9, -1, 7 };

typedef struct {
  GBytes       *images;
  GBytes       *labels;
  guint         n_images;
  const guint8 *pixels;       /* n_images * IMAGE_BYTES */
  const guint8 *label_of;     /* n_images */
} Source;

static void
source_clear (Source *source)
{
  g_clear_pointer (&source->images, g_bytes_unref);
  g_clear_pointer (&source->labels, g_bytes_unref);
}

typedef struct {
  guint index;        /* in the source */
  int   true_label;
  int   given_label;
  char *file;         /* relative path in the output */
} Sample;

/* ---- reading the source ----------------------------------------------------- */

static GBytes *
read_gzip (const char *path, GError **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GFileInputStream) raw = g_file_read (file, NULL, &local_error);

  if (raw == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_NOT_FOUND,
                     "%s not found: install dataset-fashion-mnist "
                     "(apt install dataset-fashion-mnist), or give --source DIR", path);
      else
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                     "%s: %s", path, local_error->message);
      return NULL;
    }

  g_autoptr(GZlibDecompressor) decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GInputStream) in = g_converter_input_stream_new (G_INPUT_STREAM (raw),
                                                             G_CONVERTER (decompressor));
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 chunk[64 * 1024];

  for (;;)
    {
      gssize n = g_input_stream_read (in, chunk, sizeof chunk, NULL, &local_error);

      if (n < 0)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                       "%s: not a readable gzip file (%s)", path, local_error->message);
          return NULL;
        }
      if (n == 0)
        break;
      if (out->len + (gsize) n > MAX_UNCOMPRESSED_BYTES)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "%s: larger than any Fashion-MNIST file once uncompressed", path);
          return NULL;
        }
      g_byte_array_append (out, chunk, (guint) n);
    }

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | (guint32) p[3];
}

static gboolean
load_source (const char *dir, Source *source, GError **error)
{
  g_autofree char *images_path = g_build_filename (dir, IMAGES_FILE, NULL);
  g_autofree char *labels_path = g_build_filename (dir, LABELS_FILE, NULL);
  gsize images_len, labels_len;

  source->images = read_gzip (images_path, error);
  if (source->images == NULL)
    return FALSE;
  source->labels = read_gzip (labels_path, error);
  if (source->labels == NULL)
    return FALSE;

  const guint8 *images = g_bytes_get_data (source->images, &images_len);
  const guint8 *labels = g_bytes_get_data (source->labels, &labels_len);

  if (images_len < 16 || read_be32 (images) != IDX_IMAGES_MAGIC)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s: not an IDX image file (magic number is not %d)",
                   images_path, IDX_IMAGES_MAGIC);
      return FALSE;
    }
  guint32 n_images = read_be32 (images + 4);
  guint32 rows = read_be32 (images + 8);
  guint32 cols = read_be32 (images + 12);
  if (rows != SIDE_PX || cols != SIDE_PX)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s: images are %" G_GUINT32_FORMAT "x%" G_GUINT32_FORMAT ", not %dx%d",
                   images_path, cols, rows, SIDE_PX, SIDE_PX);
      return FALSE;
    }
  if ((guint64) images_len != 16 + (guint64) n_images * IMAGE_BYTES)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s: the header says %" G_GUINT32_FORMAT " images but the file holds %"
                   G_GSIZE_FORMAT " bytes", images_path, n_images, images_len);
      return FALSE;
    }

  if (labels_len < 8 || read_be32 (labels) != IDX_LABELS_MAGIC)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s: not an IDX label file (magic number is not %d)",
                   labels_path, IDX_LABELS_MAGIC);
      return FALSE;
    }
  if (read_be32 (labels + 4) != n_images || (guint64) labels_len != 8 + (guint64) n_images)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s: does not hold one label for each of the %" G_GUINT32_FORMAT " images",
                   labels_path, n_images);
      return FALSE;
    }
  for (guint32 i = 0; i < n_images; i++)
    if (labels[8 + i] >= N_CLASSES)
      {
        g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                     "%s: label %u of image %" G_GUINT32_FORMAT " is not a Fashion-MNIST class",
                     labels_path, labels[8 + i], i);
        return FALSE;
      }

  source->n_images = n_images;
  source->pixels = images + 16;
  source->label_of = labels + 8;
  return TRUE;
}

/* ---- choosing and mislabelling -------------------------------------------------- */

static void
shuffle (GRand *rand, guint *items, guint n_items)
{
  for (guint i = n_items; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      guint tmp = items[i - 1];

      items[i - 1] = items[j];
      items[j] = tmp;
    }
}

static int
compare_guint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return x < y ? -1 : x > y;
}

/* N/10 images of each class (the first N%10 classes one more), chosen at
 * random; returned in source order. */
static GArray *
select_stratified (const Source *source, guint n_wanted, GRand *rand, GError **error)
{
  g_autoptr(GArray) chosen = g_array_sized_new (FALSE, FALSE, sizeof (guint), n_wanted);
  GArray *by_class[N_CLASSES];

  for (int c = 0; c < N_CLASSES; c++)
    by_class[c] = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < source->n_images; i++)
    g_array_append_val (by_class[source->label_of[i]], i);

  gboolean ok = TRUE;
  for (int c = 0; c < N_CLASSES && ok; c++)
    {
      guint n_class = n_wanted / N_CLASSES + ((guint) c < n_wanted % N_CLASSES ? 1 : 0);

      if (by_class[c]->len < n_class)
        {
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                       "the source has %u images of class %s, %u are needed for --count %u",
                       by_class[c]->len, class_names[c], n_class, n_wanted);
          ok = FALSE;
          break;
        }
      shuffle (rand, (guint *) (void *) by_class[c]->data, by_class[c]->len);
      g_array_append_vals (chosen, by_class[c]->data, n_class);
    }

  for (int c = 0; c < N_CLASSES; c++)
    g_array_unref (by_class[c]);
  if (!ok)
    return NULL;

  g_array_sort (chosen, compare_guint);
  return g_steal_pointer (&chosen);
}

/* Gives round(noise * n) samples a wrong label: half (rounded down) a
 * look-alike class, drawn from samples whose class has one, the rest a
 * uniformly random other class. */
static void
flip_labels (Sample *samples, guint n_samples, double noise, GRand *rand,
             guint *n_look_alike_out, guint *n_random_out)
{
  guint n_flip = (guint) floor (noise * n_samples + 0.5);
  guint n_look = n_flip / 2;
  guint n_random = n_flip - n_look;
  g_autofree guint *order = g_new (guint, MAX (n_samples, 1));

  for (guint i = 0; i < n_samples; i++)
    order[i] = i;
  shuffle (rand, order, n_samples);

  *n_look_alike_out = 0;
  for (guint k = 0; k < n_samples && *n_look_alike_out < n_look; k++)
    {
      Sample *s = &samples[order[k]];

      if (look_alike[s->true_label] >= 0)
        {
          s->given_label = look_alike[s->true_label];
          (*n_look_alike_out)++;
        }
    }

  /* Too few samples with a look-alike: the rest are random flips. */
  n_random += n_look - *n_look_alike_out;
  *n_random_out = 0;
  for (guint k = 0; k < n_samples && *n_random_out < n_random; k++)
    {
      Sample *s = &samples[order[k]];

      if (s->given_label != s->true_label)
        continue;
      int other = g_rand_int_range (rand, 0, N_CLASSES - 1);
      s->given_label = other >= s->true_label ? other + 1 : other;
      (*n_random_out)++;
    }
}

/* ---- writing ---------------------------------------------------------------------- */

static gboolean
write_bytes (const char *path, const void *data, gsize len, GError **error)
{
  g_autoptr(GError) local_error = NULL;

  /* No fsync or rename per file: the whole folder is published by one
   * rename once it is complete. */
  if (!g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_NONE,
                                 0644, &local_error))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO, "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

static void
append_csv_field (GString *out, const char *value)
{
  if (strpbrk (value, ",\"\r\n") == NULL)
    {
      g_string_append (out, value);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static int
compare_samples_by_file (gconstpointer a, gconstpointer b)
{
  const Sample *x = a, *y = b;

  return strcmp (x->file, y->file);
}

static gboolean
write_dataset (const char *dir, const Source *source, Sample *samples, guint n_samples,
               GError **error)
{
  gboolean made[N_CLASSES] = { FALSE };

  for (guint i = 0; i < n_samples; i++)
    {
      Sample *s = &samples[i];
      const guint8 *grey = source->pixels + (gsize) s->index * IMAGE_BYTES;
      guint8 rgb[IMAGE_BYTES * 3];
      CuratorRgb image = { SIDE_PX, SIDE_PX, rgb };

      if (!made[s->given_label])
        {
          g_autofree char *class_dir = g_build_filename (dir, class_names[s->given_label], NULL);

          if (g_mkdir (class_dir, 0755) != 0)
            {
              int errsv = errno;
              g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                           "%s: %s", class_dir, g_strerror (errsv));
              return FALSE;
            }
          made[s->given_label] = TRUE;
        }

      for (guint p = 0; p < IMAGE_BYTES; p++)
        rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = grey[p];

      g_autoptr(GBytes) png = curator_image_encode_png (&image, error);
      if (png == NULL)
        return FALSE;

      g_autofree char *path = g_build_filename (dir, s->file, NULL);
      gsize len;
      const void *data = g_bytes_get_data (png, &len);
      if (!write_bytes (path, data, len, error))
        return FALSE;
    }

  /* labels.csv in path order, like the practice sets. */
  g_autofree Sample *sorted = g_memdup2 (samples, sizeof (Sample) * MAX (n_samples, 1));
  g_autoptr(GString) csv = g_string_new (CSV_HEADER);

  qsort (sorted, n_samples, sizeof (Sample), compare_samples_by_file);
  for (guint i = 0; i < n_samples; i++)
    {
      append_csv_field (csv, sorted[i].file);
      g_string_append_c (csv, ',');
      append_csv_field (csv, class_names[sorted[i].given_label]);
      g_string_append_c (csv, ',');
      append_csv_field (csv, class_names[sorted[i].true_label]);
      g_string_append_c (csv, '\n');
    }

  g_autofree char *csv_path = g_build_filename (dir, "labels.csv", NULL);
  return write_bytes (csv_path, csv->str, csv->len, error);
}

/* ---- the output folder ------------------------------------------------------------ */

/* Deletes what this program writes in @dir (labels.csv, CLASS/fmnist-*.png,
 * the class folders) and then @dir; anything else stays, and so does @dir.
 * TRUE when @dir is gone. */
static gboolean
remove_demo_tree (const char *dir)
{
  g_autofree char *csv = g_build_filename (dir, "labels.csv", NULL);

  g_unlink (csv);
  for (int c = 0; c < N_CLASSES; c++)
    {
      g_autofree char *class_dir = g_build_filename (dir, class_names[c], NULL);
      g_autoptr(GDir) listing = g_dir_open (class_dir, 0, NULL);
      const char *name;

      if (listing == NULL)
        continue;
      while ((name = g_dir_read_name (listing)) != NULL)
        {
          if (g_str_has_prefix (name, "fmnist-") && g_str_has_suffix (name, ".png"))
            {
              g_autofree char *file = g_build_filename (class_dir, name, NULL);
              g_unlink (file);
            }
        }
      g_rmdir (class_dir);
    }
  return g_rmdir (dir) == 0 || errno == ENOENT;
}

/* An existing OUTDIR may be replaced with --force when it is empty or holds
 * a labels.csv this program wrote. */
static gboolean
check_replaceable (const char *outdir, GError **error)
{
  GStatBuf st;

  if (g_lstat (outdir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s exists and is not a folder: not replacing it", outdir);
      return FALSE;
    }

  g_autoptr(GDir) listing = g_dir_open (outdir, 0, NULL);
  if (listing != NULL && g_dir_read_name (listing) == NULL)
    return TRUE;

  g_autofree char *csv = g_build_filename (outdir, "labels.csv", NULL);
  char head[sizeof CSV_HEADER - 1];
  FILE *fp = g_fopen (csv, "rb");
  gboolean ours = FALSE;

  if (fp != NULL)
    {
      ours = fread (head, 1, sizeof head, fp) == sizeof head &&
             memcmp (head, CSV_HEADER, sizeof head) == 0;
      fclose (fp);
    }
  if (!ours)
    {
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_INVALID,
                   "%s is not a demo dataset written by this program: not replacing it", outdir);
      return FALSE;
    }
  return TRUE;
}

static gboolean
publish (const char *tmp_dir, const char *outdir, gboolean replace, GError **error)
{
  g_autofree char *old_dir = NULL;

  if (replace)
    {
      old_dir = g_strdup_printf ("%s.old-XXXXXX", outdir);
      /* rename() may replace an empty folder: make a unique one to replace. */
      if (g_mkdtemp (old_dir) == NULL || g_rename (outdir, old_dir) != 0)
        {
          int errsv = errno;
          g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                       "cannot move the old %s aside: %s", outdir, g_strerror (errsv));
          if (old_dir != NULL)
            g_rmdir (old_dir);
          return FALSE;
        }
    }

  if (g_rename (tmp_dir, outdir) != 0)
    {
      int errsv = errno;
      g_set_error (error, CURATOR_ERROR, CURATOR_ERROR_IO,
                   "cannot rename %s to %s: %s", tmp_dir, outdir, g_strerror (errsv));
      if (old_dir != NULL)
        g_rename (old_dir, outdir);
      return FALSE;
    }

  if (old_dir != NULL && !remove_demo_tree (old_dir))
    g_printerr ("curator-make-demo: the old %s holds files this program did not write; "
                "they are in %s\n", outdir, old_dir);
  return TRUE;
}

/* ---- main ------------------------------------------------------------------------- */

int
main (int argc, char *argv[])
{
  gint count = 3000;
  double noise = 0.2;
  gint64 seed = 1;
  g_autofree char *source_dir = NULL;
  gboolean force = FALSE;
  g_auto(GStrv) rest = NULL;
  g_autoptr(GError) error = NULL;

  const GOptionEntry entries[] = {
    { "count", 'n', 0, G_OPTION_ARG_INT, &count, "Number of images (default 3000)", "N" },
    { "noise", 0, 0, G_OPTION_ARG_DOUBLE, &noise, "Fraction of labels made wrong (default 0.2)", "F" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "S" },
    { "source", 0, 0, G_OPTION_ARG_FILENAME, &source_dir,
      "Folder with the Fashion-MNIST files (default " DEFAULT_SOURCE ")", "DIR" },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, "Replace an earlier demo dataset in OUTDIR", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, "OUTDIR" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("OUTDIR");

  g_option_context_set_summary (context,
    "Writes a demo image-classification dataset with known label noise, as\n"
    "OUTDIR/CLASS/fmnist-NNNNN.png and OUTDIR/labels.csv (file,given_label,true_label),\n"
    "from Debian's dataset-fashion-mnist package.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("curator-make-demo: %s\n", error->message);
      return 2;
    }
  if (rest == NULL || rest[0] == NULL || rest[1] != NULL)
    {
      g_printerr ("curator-make-demo: give exactly one OUTDIR (see --help)\n");
      return 2;
    }
  if (count < 1)
    {
      g_printerr ("curator-make-demo: --count must be at least 1\n");
      return 2;
    }
  if (!(noise >= 0.0 && noise <= 1.0))
    {
      g_printerr ("curator-make-demo: --noise must be between 0 and 1\n");
      return 2;
    }
  if (seed < 0 || seed > G_MAXUINT32)
    {
      g_printerr ("curator-make-demo: --seed must be between 0 and %u\n", G_MAXUINT32);
      return 2;
    }

  /* Without trailing separators, so that OUTDIR.tmp-* is a sibling. */
  g_autofree char *outdir = g_strdup (rest[0]);
  gsize outdir_len = strlen (outdir);
  while (outdir_len > 1 && outdir[outdir_len - 1] == G_DIR_SEPARATOR)
    outdir[--outdir_len] = '\0';

  GStatBuf st;
  gboolean exists = g_lstat (outdir, &st) == 0;
  if (exists && !force)
    {
      g_printerr ("curator-make-demo: %s already exists (--force replaces an earlier demo dataset)\n",
                  outdir);
      return 1;
    }
  if (exists && !check_replaceable (outdir, &error))
    {
      g_printerr ("curator-make-demo: %s\n", error->message);
      return 1;
    }

  Source source = { 0 };
  if (!load_source (source_dir != NULL ? source_dir : DEFAULT_SOURCE, &source, &error))
    {
      g_printerr ("curator-make-demo: %s\n", error->message);
      source_clear (&source);
      return 1;
    }
  if ((guint) count > source.n_images)
    {
      g_printerr ("curator-make-demo: --count %d is more than the %u images in the source\n",
                  count, source.n_images);
      source_clear (&source);
      return 2;
    }

  GRand *rand = g_rand_new_with_seed ((guint32) seed);
  g_autoptr(GArray) chosen = select_stratified (&source, (guint) count, rand, &error);
  if (chosen == NULL)
    {
      g_printerr ("curator-make-demo: %s\n", error->message);
      g_rand_free (rand);
      source_clear (&source);
      return 1;
    }

  guint n_samples = chosen->len;
  Sample *samples = g_new0 (Sample, n_samples);
  for (guint i = 0; i < n_samples; i++)
    {
      samples[i].index = g_array_index (chosen, guint, i);
      samples[i].true_label = source.label_of[samples[i].index];
      samples[i].given_label = samples[i].true_label;
    }

  guint n_look_alike = 0, n_random = 0;
  flip_labels (samples, n_samples, noise, rand, &n_look_alike, &n_random);
  g_rand_free (rand);

  for (guint i = 0; i < n_samples; i++)
    samples[i].file = g_strdup_printf ("%s/fmnist-%05u.png", class_names[samples[i].given_label],
                                       samples[i].index);

  int status = 0;
  g_autofree char *tmp_dir = g_strdup_printf ("%s.tmp-XXXXXX", outdir);
  g_autofree char *parent = g_path_get_dirname (outdir);
  /* OUTDIR may name folders that do not exist yet. */
  if (g_mkdir_with_parents (parent, 0755) != 0 || g_mkdtemp_full (tmp_dir, 0755) == NULL)
    {
      int errsv = errno;
      g_printerr ("curator-make-demo: cannot create %s: %s\n", tmp_dir, g_strerror (errsv));
      status = 1;
    }
  else if (!write_dataset (tmp_dir, &source, samples, n_samples, &error) ||
           !publish (tmp_dir, outdir, exists, &error))
    {
      g_printerr ("curator-make-demo: %s\n", error->message);
      remove_demo_tree (tmp_dir);
      status = 1;
    }
  else
    {
      int n_classes = 0;
      gboolean seen[N_CLASSES] = { FALSE };

      for (guint i = 0; i < n_samples; i++)
        if (!seen[samples[i].given_label])
          {
            seen[samples[i].given_label] = TRUE;
            n_classes++;
          }
      g_print ("Wrote %u images in %d class folders to %s.\n"
               "%u labels are wrong (%.1f%%): %u changed to a look-alike class, %u to a random one.\n"
               "The truth is in %s/labels.csv (file,given_label,true_label).\n",
               n_samples, n_classes, outdir,
               n_look_alike + n_random, 100.0 * (n_look_alike + n_random) / n_samples,
               n_look_alike, n_random, outdir);
    }

  for (guint i = 0; i < n_samples; i++)
    g_free (samples[i].file);
  g_free (samples);
  source_clear (&source);
  return status;
}

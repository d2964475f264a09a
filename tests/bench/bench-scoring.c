/* bench-scoring.c: how long the scoring takes — everything `curator analyze`
 * does after the out-of-sample probabilities (curator_issues_analyze: PCA,
 * the exact k-NN graph, duplicates, quality, confident learning, classes,
 * reasons) — on synthetic data of a chosen size. Goal (issue 4): 50,000
 * samples in under 10 s.
 *
 * The data: n samples in 10 classes; features are a class centre plus
 * per-sample noise in @dims dimensions (non-negative, like the pooled patch
 * features), probabilities a softmax that favours the given label, 20% of
 * labels flipped; every sample has a distinct pixel hash, a random
 * perceptual hash and ordinary image statistics, except a few planted exact
 * copies. Prints the stage times of a few repeats and the best total.
 *
 *   bench-scoring [--samples 50000] [--dims 3808] [--repeats 3] [--threads 0]
 *
 * Like bench-features it re-executes itself with the OPENBLAS_CORETYPE that
 * curator_blas_suggest_coretype() names (the `curator` program does too). */
#include "curator-config.h"

#include <math.h>
#include <string.h>
#include <sys/resource.h>

#include "curator-features.h"
#include "curator-issues.h"

#define N_CLASSES 10

/* Processor time of the whole process, user + system, in seconds: on a
 * shared machine the wall clock says more about the neighbours. */
static double
cpu_seconds (void)
{
  struct rusage u;

  getrusage (RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static guint64
next_random (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double
uniform (guint64 *state)
{
  return ((next_random (state) >> 11) + 0.5) / 9007199254740992.0;
}

/* The first figure of /proc/loadavg, or "?". (borrowed, static) */
static const char *
load_average (void)
{
  static char text[32];
  g_autofree char *contents = NULL;
  char *space;

  if (!g_file_get_contents ("/proc/loadavg", &contents, NULL, NULL))
    return "?";
  space = strchr (contents, ' ');
  if (space != NULL)
    *space = '\0';
  g_strlcpy (text, contents, sizeof text);
  return text;
}

int
main (int argc, char **argv)
{
  int n_samples = 50000, dims = 3808, repeats = 3, threads = 0, copies = 1;
  const GOptionEntry entries[] = {
    { "samples", 'n', 0, G_OPTION_ARG_INT, &n_samples, "Number of samples (50000)", "N" },
    { "dims", 'd', 0, G_OPTION_ARG_INT, &dims, "Feature dimensions (3808, as analyze's)", "D" },
    { "repeats", 'r', 0, G_OPTION_ARG_INT, &repeats, "Repeats (3)", "R" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (0 = one per processor)", "T" },
    { "copies", 'c', 0, G_OPTION_ARG_INT, &copies, "Store every picture C times (as tests/bench/analyze's "
      "50,000 = the practice set five times)", "C" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- time the scoring after the probabilities");
  g_autoptr(GError) error = NULL;
  g_autofree float *features = NULL;
  g_autofree float *probs = NULL;
  g_autofree float *centres = NULL;
  g_autofree gint *labels = NULL;
  g_autoptr(GPtrArray) samples = NULL;
  const char *class_names[N_CLASSES] = { "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" };
  CuratorIssuesOptions options;
  guint64 rng = 42;
  double best = INFINITY;
  gsize n, d;

  curator_blas_ensure_fast_kernels (argv, TRUE);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  n = (gsize) MAX (n_samples, 2);
  d = (gsize) MAX (dims, 1);

  centres = g_new (float, N_CLASSES * d);
  for (gsize i = 0; i < N_CLASSES * d; i++)
    centres[i] = (float) (uniform (&rng) < 0.2 ? 2.0 * uniform (&rng) : 0.0);
  features = g_new (float, n * d);
  probs = g_new (float, n * N_CLASSES);
  labels = g_new (gint, n);
  samples = g_ptr_array_new_with_free_func ((GDestroyNotify) curator_db_sample_free);
  for (gsize i = 0; i < n; i++)
    {
      int truth = (int) (next_random (&rng) % N_CLASSES);
      int given = uniform (&rng) < 0.2 ? (int) (next_random (&rng) % N_CLASSES) : truth;

      if (copies > 1 && i >= n / (gsize) copies)
        given = labels[i % (n / (gsize) copies)];
      double logits[N_CLASSES], total = 0;
      CuratorDbSample *s = curator_db_sample_new ();
      /* Every 1000th sample is an exact copy of the one before; with
       * --copies C, the samples are C copies of the first n / C. */
      gsize unique = n / (gsize) MAX (copies, 1);
      gsize source = copies > 1 && i >= unique ? i % unique : i % 1000 == 999 ? i - 1 : i;

      labels[i] = given;
      for (gsize j = 0; j < d; j++)
        features[i * d + j] = source != i ? features[source * d + j]
                                          : (float) MAX (0.0, centres[truth * d + j] + uniform (&rng) - 0.6);
      for (int c = 0; c < N_CLASSES; c++)
        {
          logits[c] = 3.0 * uniform (&rng) + (c == truth ? 2.5 : 0.0);
          total += exp (logits[c]);
        }
      for (int c = 0; c < N_CLASSES; c++)
        probs[i * N_CLASSES + c] = (float) (exp (logits[c]) / total);
      s->id = (gint64) i + 1;
      s->path = g_strdup_printf ("c%d/%08" G_GSIZE_FORMAT ".png", given, i);
      s->pixel_hash = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", (guint64) source * 2654435761u + 7);
      s->phash = source != i ? ((CuratorDbSample *) g_ptr_array_index (samples, source))->phash : next_random (&rng);
      s->width = s->height = 32;
      s->channels = 3;
      s->status = CURATOR_SAMPLE_OK;
      s->luma_p05 = 10 + 30 * uniform (&rng);
      s->luma_p50 = 90 + 60 * uniform (&rng);
      s->luma_p95 = 200 + 50 * uniform (&rng);
      s->contrast = 40 + 30 * uniform (&rng);
      s->entropy = 6 + 1.5 * uniform (&rng);
      s->blur = 200 + 2000 * uniform (&rng);
      g_ptr_array_add (samples, s);
    }

  curator_issues_options_init_default (&options);
  options.n_threads = threads;
  g_print ("%" G_GSIZE_FORMAT " samples x %" G_GSIZE_FORMAT " dimensions, %d classes, %u processors\n",
           n, d, N_CLASSES, g_get_num_processors ());
  for (int r = 0; r < MAX (repeats, 1); r++)
    {
      CuratorIssuesInput in = { n, N_CLASSES, class_names, probs, labels, features, d, NULL, NULL,
                                (CuratorDbSample *const *) samples->pdata };
      g_autoptr(CuratorIssuesResult) result = NULL;
      gint64 start = g_get_monotonic_time ();
      double cpu_start = cpu_seconds (), seconds, cpu;

      result = curator_issues_analyze (&in, &options, NULL, &error);
      seconds = (g_get_monotonic_time () - start) / 1e6;
      cpu = cpu_seconds () - cpu_start;
      if (result == NULL)
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      best = MIN (best, seconds);
      g_print ("run %d: %.2f s wall, %.2f s processor time (load average %s); projection %.2f, "
               "k-NN graph %.2f, the rest %.2f; %" G_GSIZE_FORMAT " label issues, %u duplicate groups\n",
               r + 1, seconds, cpu, load_average (),
               result->seconds_project, result->seconds_knn,
               seconds - result->seconds_project - result->seconds_knn, result->n_label_issues,
               result->n_duplicate_groups);
    }
  g_print ("best: %.2f s for %" G_GSIZE_FORMAT " samples\n", best, n);
  return 0;
}

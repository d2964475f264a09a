/* curator-features-private.h: what the curator-features-*.c files share and
 * nobody else needs: a seeded random stream, a deterministic parallel loop
 * over fixed chunks, and switching OpenBLAS to one thread while our own
 * workers run. */
#pragma once

#include "curator-features.h"

G_BEGIN_DECLS

/* Hot loops get one clone per x86 level, picked when the program loads;
 * they are written in blocks of 16 so GCC's -O2 vectoriser takes them
 * (with -fno-math-errno for the square roots: see curator/meson.build). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define _CURATOR_HOT __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define _CURATOR_HOT
#endif

/* SplitMix64 (Steele, Lea and Flood 2014): tiny, fast, and its output is
 * fixed by the seed forever, unlike a library generator that may change. */
typedef struct {
  guint64 state;
} CuratorRng;

static inline void
_curator_rng_init (CuratorRng *rng, guint64 seed, guint64 stream)
{
  rng->state = seed ^ (stream * G_GUINT64_CONSTANT (0xd1342543de82ef95));
}

static inline guint64
_curator_rng_next (CuratorRng *rng)
{
  guint64 z = (rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [0, n) for n < 2^32 (multiply-shift; the bias is < 2^-32). */
static inline guint32
_curator_rng_below (CuratorRng *rng, guint32 n)
{
  return (guint32) (((_curator_rng_next (rng) >> 32) * (guint64) n) >> 32);
}

/* Uniform in [0, 1). */
static inline double
_curator_rng_uniform (CuratorRng *rng)
{
  return (double) (_curator_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Computes chunk @chunk with worker @worker's scratch. Chunks write disjoint
 * outputs, so the result does not depend on which worker ran which. */
typedef void (*CuratorChunkFunc) (gpointer ctx, int worker, gsize chunk);

typedef struct {
  gsize               n_chunks;
  int                 n_workers;     /* <= 0: one per core */
  CuratorChunkFunc    func;
  gpointer            ctx;
  GCancellable       *cancellable;
  CuratorProgressFunc progress;
  gpointer            progress_data;
  double              fraction_from; /* progress goes from here ... */
  double              fraction_to;   /* ... to here over the chunks */
  const char         *message;
} CuratorParallel;

/* How many workers _curator_parallel_run() uses for @requested (<= 0 means
 * one per core) and @n_chunks. */
int _curator_parallel_n_workers (int requested, gsize n_chunks);

/* Runs every chunk on n workers, the calling thread being one of them (and
 * the only one that reports progress). Checks the cancellable before each
 * chunk. Returns FALSE with CURATOR_ERROR_CANCELLED when it was cancelled. */
gboolean _curator_parallel_run (const CuratorParallel *job, GError **error);

/* OpenBLAS to one thread between begin and end (nested calls are counted;
 * the setting found at the outermost begin is restored at its end). Our
 * workers are the parallelism; BLAS threads on top would only fight them,
 * and one thread per product keeps each product's summation order fixed. */
void _curator_blas_single_begin (void);
void _curator_blas_single_end   (void);

/* curator_kmeans () on @n_threads workers (<= 0: one per core). */
gboolean _curator_kmeans (const float         *points,
                          gsize                n_points,
                          int                  dim,
                          int                  n_clusters,
                          int                  max_iterations,
                          guint64              seed,
                          int                  n_threads,
                          float               *centroids,
                          int                 *assignment,
                          GCancellable        *cancellable,
                          CuratorProgressFunc  progress,
                          gpointer             progress_data,
                          GError             **error);

/* TRUE, with CURATOR_ERROR_CANCELLED "@what cancelled", when @cancellable
 * (may be NULL) is cancelled. */
gboolean _curator_check_cancelled (GCancellable *cancellable,
                                   const char   *what,
                                   GError      **error);

G_END_DECLS

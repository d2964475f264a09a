/* curator-duplicates.c: pixel-hash copies, perceptual-hash neighbours by
 * multi-index hashing, and union-find groups (see the header for the why).
 *
 * Identical perceptual hashes are merged first, so the chunk tables hold
 * each distinct hash once and a flood of exact copies costs no comparisons.
 * A pair that agrees on several chunks is found once: it is kept only in the
 * first chunk it agrees on. Union-find roots are always the lowest position
 * of their set, which is what makes the group numbering order-independent of
 * how the unions happened. */
#include "curator-config.h"

#include <stdlib.h>
#include <string.h>

#include "curator-duplicates.h"

static gboolean
phash_usable (guint64 h)
{
  return __builtin_popcountll (h) >= CURATOR_PHASH_MIN_BITS;
}

static int
hamming (guint64 a, guint64 b)
{
  return __builtin_popcountll (a ^ b);
}

typedef struct {
  guint64 key;
  guint32 index;
} Keyed;

static int
compare_keyed (gconstpointer a, gconstpointer b)
{
  const Keyed *p = a, *q = b;

  if (p->key != q->key)
    return p->key < q->key ? -1 : 1;
  return (p->index > q->index) - (p->index < q->index);
}

static int
compare_pair (gconstpointer a, gconstpointer b)
{
  const guint32 *p = a, *q = b;

  if (p[0] != q[0])
    return p[0] < q[0] ? -1 : 1;
  return (p[1] > q[1]) - (p[1] < q[1]);
}

static guint64
chunk_of (guint64 h, int chunk, int n_chunks)
{
  int lo = chunk * 64 / n_chunks;
  int hi = (chunk + 1) * 64 / n_chunks;
  int width = hi - lo;

  return width >= 64 ? h : (h >> lo) & ((G_GUINT64_CONSTANT (1) << width) - 1);
}

/* Pairs of distinct hashes in @uniq (sorted, distinct) within @radius, as
 * positions into @uniq, appended to @out. */
static void
distinct_pairs (const guint64 *uniq, gsize n_uniq, int radius, GArray *out)
{
  int n_chunks = radius + 1;
  g_autofree Keyed *table = g_new (Keyed, MAX (n_uniq, 1));

  for (int c = 0; c < n_chunks; c++)
    {
      for (gsize u = 0; u < n_uniq; u++)
        {
          table[u].key = chunk_of (uniq[u], c, n_chunks);
          table[u].index = (guint32) u;
        }
      qsort (table, n_uniq, sizeof (Keyed), compare_keyed);
      for (gsize start = 0; start < n_uniq;)
        {
          gsize end = start + 1;

          while (end < n_uniq && table[end].key == table[start].key)
            end++;
          for (gsize a = start; a < end; a++)
            for (gsize b = a + 1; b < end; b++)
              {
                guint32 ia = table[a].index, ib = table[b].index;
                gboolean seen = FALSE;

                if (hamming (uniq[ia], uniq[ib]) > radius)
                  continue;
                for (int earlier = 0; earlier < c && !seen; earlier++)
                  seen = chunk_of (uniq[ia], earlier, n_chunks) == chunk_of (uniq[ib], earlier, n_chunks);
                if (!seen)
                  {
                    guint32 pair[2] = { MIN (ia, ib), MAX (ia, ib) };
                    g_array_append_vals (out, pair, 2);
                  }
              }
          start = end;
        }
    }
}

/* The usable hashes, sorted with their positions (by hash, then position),
 * and the distinct values: members of uniq[u] are sorted[first[u] ..
 * first[u + 1]). */
typedef struct {
  Keyed   *sorted;
  gsize    n_sorted;
  guint64 *uniq;
  gsize   *first;   /* [n_uniq + 1] */
  gsize    n_uniq;
} HashIndex;

static void
hash_index_init (HashIndex *hi, const guint64 *phashes, gsize n)
{
  memset (hi, 0, sizeof *hi);
  hi->sorted = g_new (Keyed, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    if (phash_usable (phashes[i]))
      {
        hi->sorted[hi->n_sorted].key = phashes[i];
        hi->sorted[hi->n_sorted].index = (guint32) i;
        hi->n_sorted++;
      }
  qsort (hi->sorted, hi->n_sorted, sizeof (Keyed), compare_keyed);
  hi->uniq = g_new (guint64, MAX (hi->n_sorted, 1));
  hi->first = g_new (gsize, hi->n_sorted + 1);
  for (gsize s = 0; s < hi->n_sorted; s++)
    if (s == 0 || hi->sorted[s].key != hi->sorted[s - 1].key)
      {
        hi->uniq[hi->n_uniq] = hi->sorted[s].key;
        hi->first[hi->n_uniq] = s;
        hi->n_uniq++;
      }
  hi->first[hi->n_uniq] = hi->n_sorted;
}

static void
hash_index_clear (HashIndex *hi)
{
  g_free (hi->sorted);
  g_free (hi->uniq);
  g_free (hi->first);
}

GArray *
curator_phash_pairs (const guint64 *phashes,
                     gsize          n_samples,
                     int            radius)
{
  GArray *pairs = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) upairs = g_array_new (FALSE, FALSE, sizeof (guint32));
  HashIndex hi;

  g_return_val_if_fail (phashes != NULL || n_samples == 0, pairs);
  g_return_val_if_fail (radius >= 0 && radius <= CURATOR_PHASH_MAX_RADIUS, pairs);
  g_return_val_if_fail (n_samples < G_MAXUINT32, pairs);

  hash_index_init (&hi, phashes, n_samples);
  distinct_pairs (hi.uniq, hi.n_uniq, radius, upairs);

  /* Samples sharing a hash, then every member pair of two close hashes. */
  for (gsize u = 0; u < hi.n_uniq; u++)
    for (gsize a = hi.first[u]; a < hi.first[u + 1]; a++)
      for (gsize b = a + 1; b < hi.first[u + 1]; b++)
        {
          guint32 pair[2] = { hi.sorted[a].index, hi.sorted[b].index };
          g_array_append_vals (pairs, pair, 2);
        }
  for (guint p = 0; p < upairs->len; p += 2)
    {
      guint32 ua = g_array_index (upairs, guint32, p), ub = g_array_index (upairs, guint32, p + 1);

      for (gsize a = hi.first[ua]; a < hi.first[ua + 1]; a++)
        for (gsize b = hi.first[ub]; b < hi.first[ub + 1]; b++)
          {
            guint32 i = hi.sorted[a].index, j = hi.sorted[b].index;
            guint32 pair[2] = { MIN (i, j), MAX (i, j) };
            g_array_append_vals (pairs, pair, 2);
          }
    }
  if (pairs->len > 0)
    qsort (pairs->data, pairs->len / 2, 2 * sizeof (guint32), compare_pair);
  hash_index_clear (&hi);
  return pairs;
}

/* ---- union-find --------------------------------------------------------------- */

static guint32
uf_find (guint32 *parent, guint32 i)
{
  while (parent[i] != i)
    {
      parent[i] = parent[parent[i]];  /* path halving */
      i = parent[i];
    }
  return i;
}

/* The lower root becomes the parent: a set's root is its lowest member. */
static void
uf_union (guint32 *parent, guint32 a, guint32 b)
{
  guint32 ra = uf_find (parent, a), rb = uf_find (parent, b);

  if (ra < rb)
    parent[rb] = ra;
  else if (rb < ra)
    parent[ra] = rb;
}

void
curator_duplicates_free (CuratorDuplicates *duplicates)
{
  if (duplicates == NULL)
    return;
  g_free (duplicates->group);
  g_free (duplicates->exact);
  g_free (duplicates->near);
  g_free (duplicates);
}

static gboolean
same_pixels (const char *const *pixel_hashes, guint32 i, guint32 j)
{
  return pixel_hashes != NULL && pixel_hashes[i] != NULL && pixel_hashes[j] != NULL &&
         strcmp (pixel_hashes[i], pixel_hashes[j]) == 0;
}

CuratorDuplicates *
curator_duplicates_find (const char *const *pixel_hashes,
                         const guint64     *phashes,
                         gsize              n_samples,
                         int                phash_radius,
                         const guint32     *extra_pairs,
                         gsize              n_extra_pairs)
{
  g_autoptr(CuratorDuplicates) d = g_new0 (CuratorDuplicates, 1);
  g_autofree guint32 *parent = NULL;
  g_autofree guint32 *size = NULL;
  gsize n = n_samples;

  g_return_val_if_fail (n_samples < G_MAXUINT32, NULL);
  g_return_val_if_fail (extra_pairs != NULL || n_extra_pairs == 0, NULL);
  g_return_val_if_fail (phash_radius <= CURATOR_PHASH_MAX_RADIUS, NULL);

  d->n_samples = n;
  d->group = g_new0 (guint, MAX (n, 1));
  d->exact = g_new0 (gboolean, MAX (n, 1));
  d->near = g_new0 (gboolean, MAX (n, 1));
  parent = g_new (guint32, MAX (n, 1));
  size = g_new0 (guint32, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    parent[i] = (guint32) i;

  if (pixel_hashes != NULL)
    {
      g_autoptr(GHashTable) first = g_hash_table_new (g_str_hash, g_str_equal);

      for (gsize i = 0; i < n; i++)
        {
          gpointer seen;

          if (pixel_hashes[i] == NULL)
            continue;
          if (g_hash_table_lookup_extended (first, pixel_hashes[i], NULL, &seen))
            {
              guint32 j = GPOINTER_TO_UINT (seen);

              d->exact[i] = d->exact[j] = TRUE;
              uf_union (parent, (guint32) i, j);
            }
          else
            g_hash_table_insert (first, (gpointer) pixel_hashes[i], GUINT_TO_POINTER ((guint) i));
        }
    }

  if (phashes != NULL && phash_radius >= 0)
    {
      g_autoptr(GArray) pairs = curator_phash_pairs (phashes, n, phash_radius);

      for (guint p = 0; p < pairs->len; p += 2)
        {
          guint32 i = g_array_index (pairs, guint32, p), j = g_array_index (pairs, guint32, p + 1);

          if (!same_pixels (pixel_hashes, i, j))
            d->near[i] = d->near[j] = TRUE;
          uf_union (parent, i, j);
        }
    }

  for (gsize p = 0; p < n_extra_pairs; p++)
    {
      guint32 i = extra_pairs[2 * p], j = extra_pairs[2 * p + 1];

      g_return_val_if_fail (i < n && j < n, NULL);
      if (i == j)
        continue;
      if (!same_pixels (pixel_hashes, i, j))
        d->near[i] = d->near[j] = TRUE;
      uf_union (parent, i, j);
    }

  for (gsize i = 0; i < n; i++)
    size[uf_find (parent, (guint32) i)]++;
  /* The root is the lowest member, so it is met first. */
  for (gsize i = 0; i < n; i++)
    {
      guint32 root = uf_find (parent, (guint32) i);

      if (size[root] < 2)
        continue;
      if (root == i)
        d->group[i] = ++d->n_groups;
      else
        d->group[i] = d->group[root];
    }
  return g_steal_pointer (&d);
}

guint *
curator_duplicate_groups (const char *const *pixel_hashes,
                          const guint64     *phashes,
                          gsize              n_samples,
                          int                phash_radius,
                          const guint32     *extra_pairs,
                          gsize              n_extra_pairs,
                          guint             *n_groups_out)
{
  g_autoptr(CuratorDuplicates) d = curator_duplicates_find (pixel_hashes, phashes, n_samples,
                                                            phash_radius, extra_pairs, n_extra_pairs);

  if (d == NULL)
    return NULL;
  if (n_groups_out != NULL)
    *n_groups_out = d->n_groups;
  return g_steal_pointer (&d->group);
}

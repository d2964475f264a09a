/* test-duplicates.c: perceptual-hash pairs and duplicate groups.
 *
 * Facts: multi-index hashing finds exactly the pairs a linear scan finds, at
 * every radius; flat hashes are never matched; exact copies, hash neighbours
 * and extra pairs join transitively into groups numbered by their first
 * member; which samples are exact and which near copies is told apart. */
#include "curator-config.h"

#include <string.h>

#include "curator-duplicates.h"

static guint64
random_hash (GRand *rand)
{
  return ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
}

/* Flips @n_bits distinct bits, so the distance is exactly @n_bits. */
static guint64
flip_bits (GRand *rand, guint64 h, int n_bits)
{
  guint64 used = 0;

  for (int b = 0; b < n_bits; b++)
    {
      guint64 bit;

      do
        bit = G_GUINT64_CONSTANT (1) << g_rand_int_range (rand, 0, 64);
      while (used & bit);
      used |= bit;
    }
  return h ^ used;
}

static void
check_against_linear_scan (int radius, guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  gsize n = 1500;
  g_autofree guint64 *h = g_new (guint64, n);
  g_autoptr(GArray) pairs = NULL;
  g_autoptr(GArray) scan = g_array_new (FALSE, FALSE, sizeof (guint32));

  /* Random hashes, copies at every distance 0..8 of earlier ones, exact
   * repeats, and a few flat hashes that must never match. */
  for (gsize i = 0; i < n; i++)
    {
      if (i > 10 && i % 3 == 0)
        h[i] = flip_bits (rand, h[g_rand_int_range (rand, 0, (gint32) i)], (int) (i % 9));
      else
        h[i] = random_hash (rand);
    }
  h[100] = h[101] = 0;
  h[102] = 0x7;   /* 3 bits set: too few to mean anything */
  h[103] = 0x3;

  pairs = curator_phash_pairs (h, n, radius);
  for (gsize i = 0; i < n; i++)
    for (gsize j = i + 1; j < n; j++)
      if (__builtin_popcountll (h[i]) >= CURATOR_PHASH_MIN_BITS &&
          __builtin_popcountll (h[j]) >= CURATOR_PHASH_MIN_BITS &&
          __builtin_popcountll (h[i] ^ h[j]) <= radius)
        {
          guint32 pair[2] = { (guint32) i, (guint32) j };
          g_array_append_vals (scan, pair, 2);
        }
  g_assert_cmpuint (scan->len, >, 0);
  g_assert_cmpuint (pairs->len, ==, scan->len);
  g_assert_cmpmem (pairs->data, pairs->len * sizeof (guint32), scan->data, scan->len * sizeof (guint32));
}

static void
test_phash_matches_linear_scan (void)
{
  for (int radius = 0; radius <= 8; radius++)
    check_against_linear_scan (radius, 10 + (guint32) radius);
}

static void
test_groups (void)
{
  /* 0, 3, 6: same pixels. 1 ~ 4 by perceptual hash (2 bits). 2 - 7 and
   * 7 - 8 by extra pairs (transitively one group). 5 and 9 alone; 9 has
   * the pixels of nobody and a hash far from all. */
  const char *pixels[10] = { "aa", "b1", "c1", "aa", "b2", "e", "aa", "c2", "c3", "z" };
  guint64 ph[10];
  const guint32 extra[] = { 2, 7,  8, 7 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  g_autoptr(CuratorDuplicates) d = NULL;
  g_autofree guint *groups = NULL;
  guint n_groups = 0;

  for (int i = 0; i < 10; i++)
    ph[i] = random_hash (rand);
  ph[4] = ph[1] ^ 0x11;
  d = curator_duplicates_find (pixels, ph, 10, CURATOR_PHASH_RADIUS_DEFAULT, extra, 2);
  g_assert_cmpuint (d->n_groups, ==, 3);
  /* Numbered by first member: {0,3,6} = 1, {1,4} = 2, {2,7,8} = 3. */
  g_assert_cmpuint (d->group[0], ==, 1);
  g_assert_cmpuint (d->group[3], ==, 1);
  g_assert_cmpuint (d->group[6], ==, 1);
  g_assert_cmpuint (d->group[1], ==, 2);
  g_assert_cmpuint (d->group[4], ==, 2);
  g_assert_cmpuint (d->group[2], ==, 3);
  g_assert_cmpuint (d->group[7], ==, 3);
  g_assert_cmpuint (d->group[8], ==, 3);
  g_assert_cmpuint (d->group[5], ==, 0);
  g_assert_cmpuint (d->group[9], ==, 0);
  g_assert_true (d->exact[0] && d->exact[3] && d->exact[6]);
  g_assert_false (d->exact[1] || d->exact[2] || d->exact[5]);
  g_assert_false (d->near[0] || d->near[5] || d->near[9]);
  g_assert_true (d->near[1] && d->near[4] && d->near[2] && d->near[7] && d->near[8]);

  /* The plain function agrees, and without hashes only the extra pairs join. */
  groups = curator_duplicate_groups (pixels, ph, 10, CURATOR_PHASH_RADIUS_DEFAULT, extra, 2, &n_groups);
  g_assert_cmpuint (n_groups, ==, 3);
  g_assert_cmpmem (groups, 10 * sizeof (guint), d->group, 10 * sizeof (guint));
  g_clear_pointer (&groups, g_free);
  groups = curator_duplicate_groups (NULL, NULL, 10, -1, extra, 2, &n_groups);
  g_assert_cmpuint (n_groups, ==, 1);
  g_assert_cmpuint (groups[2], ==, 1);
  g_assert_cmpuint (groups[0], ==, 0);
}

static void
test_same_pixels_are_exact_not_near (void)
{
  /* Two exact copies share their perceptual hash too: they are duplicates,
   * not near duplicates. */
  const char *pixels[3] = { "same", "same", NULL };
  guint64 ph[3] = { 0xf0f0f0f0f0f0f0f0, 0xf0f0f0f0f0f0f0f0, 0x0f0f0f0f0f0f0f0f };
  g_autoptr(CuratorDuplicates) d = curator_duplicates_find (pixels, ph, 3, 4, NULL, 0);

  g_assert_cmpuint (d->n_groups, ==, 1);
  g_assert_true (d->exact[0] && d->exact[1]);
  g_assert_false (d->near[0] || d->near[1]);
  g_assert_cmpuint (d->group[2], ==, 0);
}

static void
test_order_independent_numbering (void)
{
  /* Unions arrive in a different order: the same groups, the same numbers. */
  const guint32 a[] = { 5, 9,  0, 1,  9, 3,  7, 8 };
  const guint32 b[] = { 7, 8,  3, 9,  1, 0,  5, 3 };
  g_autofree guint *ga = curator_duplicate_groups (NULL, NULL, 10, -1, a, 4, NULL);
  g_autofree guint *gb = curator_duplicate_groups (NULL, NULL, 10, -1, b, 4, NULL);

  g_assert_cmpmem (ga, 10 * sizeof (guint), gb, 10 * sizeof (guint));
  g_assert_cmpuint (ga[0], ==, 1);
  g_assert_cmpuint (ga[3], ==, 2);
  g_assert_cmpuint (ga[5], ==, 2);
  g_assert_cmpuint (ga[7], ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/duplicates/phash/linear-scan", test_phash_matches_linear_scan);
  g_test_add_func ("/duplicates/groups", test_groups);
  g_test_add_func ("/duplicates/exact-not-near", test_same_pixels_are_exact_not_near);
  g_test_add_func ("/duplicates/numbering", test_order_independent_numbering);
  return g_test_run ();
}

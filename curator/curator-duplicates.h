/* curator-duplicates.h: exact and near duplicates, joined into groups.
 *
 * Two samples are duplicates when
 *   - their decoded pixels are the same (same pixel hash): exact copies,
 *     whatever the file format or name;
 *   - their 64-bit perceptual hashes differ in at most a few bits: the same
 *     picture re-encoded, resized, lightly edited;
 *   - the caller says so (extra pairs), e.g. feature-space neighbours far
 *     closer than samples usually are (curator_knn_near_duplicates).
 * Duplicates are transitive here: every connected set of such pairs is one
 * group (union-find), so that export can keep a whole group inside one split.
 *
 * Perceptual-hash pairs are found by multi-index hashing (Norouzi, Punjani &
 * Fleet, CVPR 2012): split the 64 bits into radius + 1 chunks; two hashes
 * within the radius agree exactly on at least one chunk (pigeonhole), so only
 * samples sharing a chunk value are compared. With spread hashes that is a
 * few comparisons per sample instead of n.
 *
 * A perceptual hash of 0, or with fewer than CURATOR_PHASH_MIN_BITS bits set,
 * is not matched: the DCT hash sets one bit per coefficient above the median,
 * so a well-formed hash has about 32; a flat picture's coefficients all tie
 * and its hash says nothing about what it shows. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Default Hamming radius, out of 64 bits. Unrelated pictures sit near 32.
 * On the CIFAR-10 test set (10,000 pictures, 50 million pairs) the 12 pairs
 * within 4 bits are all the same photograph (shifted in colour or
 * brightness), while the 5 pairs at 6 bits mix copies and look-alikes
 * (a car and a bird). The hash sets exactly 32 bits (one per coefficient
 * above the median), so distances are even and 4 and 5 are the same. */
#define CURATOR_PHASH_RADIUS_DEFAULT 4
#define CURATOR_PHASH_MAX_RADIUS     16
#define CURATOR_PHASH_MIN_BITS       8

/* Pairs (i, j), i < j, of positions whose hashes are both matchable and
 * differ in at most @radius bits (0 <= @radius <= CURATOR_PHASH_MAX_RADIUS),
 * as consecutive guint32 pairs, sorted, each once. Equal hashes are pairs
 * too. (transfer full) */
GArray *curator_phash_pairs (const guint64 *phashes,
                             gsize          n_samples,
                             int            radius);

typedef struct {
  gsize     n_samples;
  guint    *group;      /* [n_samples] 0 = in no group, else 1..n_groups */
  guint     n_groups;
  gboolean *exact;      /* [n_samples] another sample has the same pixels */
  gboolean *near;       /* [n_samples] a perceptual-hash or extra pair joins it
                         * to a sample whose pixels differ */
} CuratorDuplicates;

void curator_duplicates_free (CuratorDuplicates *duplicates);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CuratorDuplicates, curator_duplicates_free)

/* Groups of duplicates among @n_samples samples.
 * @pixel_hashes: [n_samples] strings, NULL for a sample without one (never
 *   an exact duplicate). May itself be NULL.
 * @phashes: [n_samples] perceptual hashes (see above for which are used),
 *   or NULL; @phash_radius < 0 also turns them off.
 * @extra_pairs: 2 * @n_extra_pairs positions, pairs to join as near
 *   duplicates (may be NULL when there are none).
 * Groups are numbered 1, 2, ... in the order of their first member
 * (lowest position), so the numbering depends only on the inputs.
 * (transfer full) */
CuratorDuplicates *curator_duplicates_find (const char *const *pixel_hashes,
                                            const guint64     *phashes,
                                            gsize              n_samples,
                                            int                phash_radius,
                                            const guint32     *extra_pairs,
                                            gsize              n_extra_pairs);

/* The groups alone, as above: [n_samples] group numbers, 0 = none, and the
 * number of groups in *n_groups_out (nullable). For export. (transfer full) */
guint *curator_duplicate_groups (const char *const *pixel_hashes,
                                 const guint64     *phashes,
                                 gsize              n_samples,
                                 int                phash_radius,
                                 const guint32     *extra_pairs,
                                 gsize              n_extra_pairs,
                                 guint             *n_groups_out);

G_END_DECLS

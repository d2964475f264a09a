/* curator-image-sha256.c: SHA-256 for the file and pixel hashes, fast.
 *
 * Hashing every decoded pixel is the largest single cost of indexing:
 * GChecksum's portable SHA-256 runs at ~150 MB/s, so hashing a 1024x768
 * raster took three times as long as decoding it. x86 CPUs since about 2017
 * (Intel Goldmont / Ice Lake, AMD Zen) have SHA instructions that run the
 * same function ten times faster. This file uses them when the CPU has them
 * and GChecksum otherwise; the digest is SHA-256 either way, which the tests
 * check against GChecksum for many lengths and split points.
 *
 * The block function is the well-known SHA-NI schedule (Intel's "New
 * Instructions Supporting the Secure Hash Algorithm", 2013): the state is
 * kept as ABEF/CDGH lane pairs, sha256rnds2 does two rounds, sha256msg1 and
 * sha256msg2 extend the message schedule four words at a time. */
#include "curator-config.h"

#include <string.h>

#include "curator-image-private.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SHA_NI_CODE 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define HAVE_SHA_NI_CODE 0
#endif

#if HAVE_SHA_NI_CODE

static const guint32 sha256_k[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const guint32 sha256_h0[8] = {
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

__attribute__ ((target ("sha,sse4.1,ssse3")))
static void
sha256_blocks (guint32       state[8],
               const guint8 *data,
               gsize         n_blocks)
{
  const __m128i bswap = _mm_set_epi64x (0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i state0, state1, tmp;

  /* (A B C D) (E F G H) -> (A B E F) (C D G H), lanes high to low. */
  tmp = _mm_shuffle_epi32 (_mm_loadu_si128 ((const __m128i *) &state[0]), 0xb1);
  state1 = _mm_shuffle_epi32 (_mm_loadu_si128 ((const __m128i *) &state[4]), 0x1b);
  state0 = _mm_alignr_epi8 (tmp, state1, 8);
  state1 = _mm_blend_epi16 (state1, tmp, 0xf0);

  for (gsize b = 0; b < n_blocks; b++, data += 64)
    {
      __m128i abef = state0, cdgh = state1;
      __m128i w[16];

#pragma GCC unroll 16
      for (int i = 0; i < 16; i++)
        {
          __m128i msg;

          if (i < 4)
            w[i] = _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *) (data + 16 * i)), bswap);
          else
            {
              /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at once. */
              tmp = _mm_sha256msg1_epu32 (w[i - 4], w[i - 3]);
              tmp = _mm_add_epi32 (tmp, _mm_alignr_epi8 (w[i - 1], w[i - 2], 4));
              w[i] = _mm_sha256msg2_epu32 (tmp, w[i - 1]);
            }
          msg = _mm_add_epi32 (w[i], _mm_loadu_si128 ((const __m128i *) &sha256_k[4 * i]));
          state1 = _mm_sha256rnds2_epu32 (state1, state0, msg);
          state0 = _mm_sha256rnds2_epu32 (state0, state1, _mm_shuffle_epi32 (msg, 0x0e));
        }
      state0 = _mm_add_epi32 (state0, abef);
      state1 = _mm_add_epi32 (state1, cdgh);
    }

  tmp = _mm_shuffle_epi32 (state0, 0x1b);
  state1 = _mm_shuffle_epi32 (state1, 0xb1);
  state0 = _mm_blend_epi16 (tmp, state1, 0xf0);
  state1 = _mm_alignr_epi8 (state1, tmp, 8);
  _mm_storeu_si128 ((__m128i *) &state[0], state0);
  _mm_storeu_si128 ((__m128i *) &state[4], state1);
}

static gboolean
cpu_has_sha (void)
{
  static gsize answer = 0;   /* 0 unknown, 1 no, 2 yes */

  if (g_once_init_enter (&answer))
    {
      unsigned int a, b, c, d;
      gboolean sha = FALSE, sse41 = FALSE, ssse3 = FALSE;

      if (__get_cpuid (1, &a, &b, &c, &d))
        {
          sse41 = (c & bit_SSE4_1) != 0;
          ssse3 = (c & bit_SSSE3) != 0;
        }
      if (__get_cpuid_count (7, 0, &a, &b, &c, &d))
        sha = (b & bit_SHA) != 0;
      g_once_init_leave (&answer, sha && sse41 && ssse3 ? 2 : 1);
    }
  return answer == 2;
}

#endif /* HAVE_SHA_NI_CODE */

void
_curator_sha256_init (CuratorSha256 *sha,
                      gboolean       allow_hardware)
{
  memset (sha, 0, sizeof *sha);
#if HAVE_SHA_NI_CODE
  if (allow_hardware && cpu_has_sha ())
    {
      memcpy (sha->state, sha256_h0, sizeof sha->state);
      return;
    }
#endif
  sha->fallback = g_checksum_new (G_CHECKSUM_SHA256);
}

void
_curator_sha256_update (CuratorSha256 *sha,
                        const guint8  *data,
                        gsize          n_bytes)
{
  if (sha->fallback != NULL)
    {
      /* g_checksum_update takes a gssize. */
      while (n_bytes > 0)
        {
          gsize n = MIN (n_bytes, (gsize) G_MAXSSIZE);

          g_checksum_update (sha->fallback, data, (gssize) n);
          data += n;
          n_bytes -= n;
        }
      return;
    }

#if HAVE_SHA_NI_CODE
  if (n_bytes == 0)
    return;   /* data may be NULL, which memcpy may not see */
  sha->n_total += n_bytes;
  if (sha->n_pending > 0)
    {
      gsize n = MIN (n_bytes, sizeof sha->pending - sha->n_pending);

      memcpy (sha->pending + sha->n_pending, data, n);
      sha->n_pending += n;
      data += n;
      n_bytes -= n;
      if (sha->n_pending < sizeof sha->pending)
        return;
      sha256_blocks (sha->state, sha->pending, 1);
      sha->n_pending = 0;
    }
  if (n_bytes >= 64)
    {
      sha256_blocks (sha->state, data, n_bytes / 64);
      data += n_bytes / 64 * 64;
      n_bytes %= 64;
    }
  memcpy (sha->pending, data, n_bytes);
  sha->n_pending = n_bytes;
#endif
}

char *
_curator_sha256_finish_hex (CuratorSha256 *sha)
{
  char *hex;

  if (sha->fallback != NULL)
    {
      hex = g_strdup (g_checksum_get_string (sha->fallback));
      g_clear_pointer (&sha->fallback, g_checksum_free);
      return hex;
    }

#if HAVE_SHA_NI_CODE
  {
    guint64 n_bits = sha->n_total * 8;
    guint8 tail[128] = { 0 };
    gsize n_tail = sha->n_pending < 56 ? 64 : 128;

    /* 0x80, zeros, the bit length big-endian in the last 8 bytes. */
    memcpy (tail, sha->pending, sha->n_pending);
    tail[sha->n_pending] = 0x80;
    for (int i = 0; i < 8; i++)
      tail[n_tail - 1 - i] = (guint8) (n_bits >> (8 * i));
    sha256_blocks (sha->state, tail, n_tail / 64);

    hex = g_malloc (65);
    for (int i = 0; i < 64; i++)
      hex[i] = "0123456789abcdef"[(sha->state[i / 8] >> (28 - 4 * (i % 8))) & 0xf];
    hex[64] = '\0';
    return hex;
  }
#else
  g_assert_not_reached ();
  return NULL;
#endif
}

char *
_curator_sha256_hex (const guint8 *data,
                     gsize         n_bytes)
{
  CuratorSha256 sha;

  _curator_sha256_init (&sha, TRUE);
  _curator_sha256_update (&sha, data, n_bytes);
  return _curator_sha256_finish_hex (&sha);
}

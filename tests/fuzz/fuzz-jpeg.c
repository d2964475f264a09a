/* fuzz-jpeg.c: libFuzzer harness for the JPEG decode path.
 *
 * Decodes the input whole and scaled, then computes every index fact from
 * it, the way the indexer meets a file. Inputs that do not start with the
 * JPEG SOI marker get it prepended, so that the fuzzer spends its time inside
 * libjpeg-turbo and Curator's JPEG code rather than in format sniffing. Any crash,
 * sanitizer report or leak is a finding; errors are the expected outcome. */

#include <string.h>

#include <glib.h>

#include "curator-image.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const guint8 jpeg_soi[2] = { 0xff, 0xd8 };

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree guint8 *owned = NULL;
  g_autoptr(CuratorRgb) full = NULL;
  g_autoptr(CuratorRgb) scaled = NULL;
  g_autoptr(CuratorImageFacts) facts = NULL;
  CuratorImageInfo info;

  if (size < sizeof jpeg_soi || memcmp (data, jpeg_soi, sizeof jpeg_soi) != 0)
    {
      owned = g_malloc (size + sizeof jpeg_soi);
      memcpy (owned, jpeg_soi, sizeof jpeg_soi);
      if (size > 0)
        memcpy (owned + sizeof jpeg_soi, data, size);
      data = owned;
      size += sizeof jpeg_soi;
    }

  full = curator_image_decode (data, size, 0, &info, NULL);
  if (full != NULL)
    g_assert (full->width > 0 && full->height > 0);
  scaled = curator_image_decode (data, size, 32, NULL, NULL);
  facts = curator_image_facts_from_bytes (data, size, NULL);
  return 0;
}

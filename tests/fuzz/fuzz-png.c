/* fuzz-png.c: libFuzzer harness for the PNG decode path.
 *
 * Decodes the input whole and scaled, then computes every index fact from
 * it, the way the indexer meets a file. Inputs that do not start with the
 * PNG signature get it prepended, so that the fuzzer spends its time inside
 * libpng and Curator's PNG code rather than in format sniffing. Any crash,
 * sanitizer report or leak is a finding; errors are the expected outcome. */

#include <string.h>

#include <glib.h>

#include "curator-image.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const guint8 png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree guint8 *owned = NULL;
  g_autoptr(CuratorRgb) full = NULL;
  g_autoptr(CuratorRgb) scaled = NULL;
  g_autoptr(CuratorImageFacts) facts = NULL;
  CuratorImageInfo info;

  if (size < sizeof png_signature || memcmp (data, png_signature, sizeof png_signature) != 0)
    {
      owned = g_malloc (size + sizeof png_signature);
      memcpy (owned, png_signature, sizeof png_signature);
      if (size > 0)
        memcpy (owned + sizeof png_signature, data, size);
      data = owned;
      size += sizeof png_signature;
    }

  full = curator_image_decode (data, size, 0, &info, NULL);
  if (full != NULL)
    g_assert (full->width > 0 && full->height > 0);
  scaled = curator_image_decode (data, size, 32, NULL, NULL);
  facts = curator_image_facts_from_bytes (data, size, NULL);
  return 0;
}

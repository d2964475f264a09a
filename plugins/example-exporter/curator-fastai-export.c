/* curator-fastai-export.c: an example exporter plugin, written as a model
 * for people who write their own. It adds OUT/fastai.csv (fname,label,
 * is_valid: the columns fastai's ImageDataLoaders.from_csv reads) to an
 * export:
 *
 *   curator export --format fastai OUT
 *
 * It uses nothing but the C library and curator-plugin.h, so it builds out
 * of tree with one line (see plugins/README.md). Everything is static but
 * the entry point, so the plugin exports one symbol. */
#include <stdio.h>
#include <string.h>

#include "curator-plugin.h"

/* Writes @text as one CSV field, quoted when it holds a comma, quote or
 * line break. */
static void
put_field (FILE *out, const char *text)
{
  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      fputs (text, out);
      return;
    }
  fputc ('"', out);
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"')
        fputc ('"', out);
      fputc (*p, out);
    }
  fputc ('"', out);
}

static int
fastai_write (const CuratorPluginContext *ctx, const char *out_dir, const CuratorExportRecord *records,
              size_t n_records, char *error, size_t error_size)
{
  char path[4096];
  FILE *out;
  size_t n_valid = 0;

  if ((size_t) snprintf (path, sizeof path, "%s/fastai.csv", out_dir) >= sizeof path)
    {
      snprintf (error, error_size, "output path too long");
      return -1;
    }
  out = fopen (path, "w");
  if (out == NULL)
    {
      snprintf (error, error_size, "cannot create %s", path);
      return -1;
    }
  fputs ("fname,label,is_valid\n", out);
  for (size_t i = 0; i < n_records; i++)
    {
      const CuratorExportRecord *r = &records[i];
      /* fastai trains on everything not marked valid: a test split stays out. */
      int is_valid = strcmp (r->split, "val") == 0 || strcmp (r->split, "valid") == 0;

      if (strcmp (r->split, "test") == 0)
        continue;
      put_field (out, r->file);
      fputc (',', out);
      put_field (out, r->label);
      fprintf (out, ",%s\n", is_valid ? "True" : "False");
      n_valid += (size_t) is_valid;
    }
  if (fclose (out) != 0)
    {
      snprintf (error, error_size, "cannot write %s", path);
      return -1;
    }
  if (n_valid == 0 && ctx->warn != NULL)
    ctx->warn (ctx->host_data, "no validation split: every row of fastai.csv has is_valid False");
  return 0;
}

static const CuratorExporterTable fastai_table = {
  .write = fastai_write,
};

static const CuratorPluginDescriptor fastai_descriptor = {
  .abi_version = CURATOR_PLUGIN_ABI_VERSION,   /* always first */
  .id = "fastai",
  .name = "fastai CSV (fname,label,is_valid)",
  .version = "1.0",
  .kind = CURATOR_PLUGIN_KIND_EXPORTER,
  .init = NULL,                                 /* nothing to set up */
  .table.exporter = &fastai_table,
};

CURATOR_PLUGIN_EXPORT const CuratorPluginDescriptor *
curator_plugin_describe (void)
{
  return &fastai_descriptor;
}

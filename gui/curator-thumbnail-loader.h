/* curator-thumbnail-loader.h: thumbnails for the grid, decoded off the main thread.
 *
 * The project caches each sample's thumbnail as small PNG/JPEG bytes keyed
 * by pixel hash. A cell asks for a key: a cached texture comes back at once;
 * otherwise the main thread reads the bytes from the project (one indexed
 * lookup), a small pool of worker threads decodes them (newest request
 * first, requests no cell wants any more skipped), and the result comes back
 * through one pending idle callback that turns it into a GdkTexture, keeps it
 * in a size-bounded LRU cache and emits ::ready. Nothing polls. Grid cells
 * do not listen to ::ready: with a few hundred cells alive, every result
 * would invoke every cell's handler (a third of a frame while scrolling 50,000
 * samples, tests/bench/gui); they ask with _request_full and are called back
 * for their own key only.
 *
 * Main thread API; workers never touch GTK or the project. */
#pragma once

#include <gtk/gtk.h>

#include "curator-db.h"
#include "curator-image.h"

G_BEGIN_DECLS

/* Decoded thumbnails kept, in bytes of pixels. */
#define CURATOR_THUMBNAIL_CACHE_BYTES ((gsize) 192 * 1024 * 1024)

#define CURATOR_TYPE_THUMBNAIL_LOADER (curator_thumbnail_loader_get_type ())
G_DECLARE_FINAL_TYPE (CuratorThumbnailLoader, curator_thumbnail_loader, CURATOR, THUMBNAIL_LOADER, GObject)

CuratorThumbnailLoader *curator_thumbnail_loader_new (void);

/* The project to read thumbnails from (borrowed; NULL = none). Changing it
 * empties the cache and forgets pending requests. */
void        curator_thumbnail_loader_set_db   (CuratorThumbnailLoader *self, CuratorDb *db);
/* (transfer none) The cached texture for @key, or NULL. Marks it recently used. */
GdkTexture *curator_thumbnail_loader_lookup   (CuratorThumbnailLoader *self, const char *key);
/* TRUE when @key was tried and has no usable thumbnail. */
gboolean    curator_thumbnail_loader_is_broken (CuratorThumbnailLoader *self, const char *key);
/* Asks for @key to be decoded; ::ready follows (also when it fails, with a
 * NULL texture). Each request is balanced by a release. */
void        curator_thumbnail_loader_request  (CuratorThumbnailLoader *self, const char *key);
/* The caller no longer shows @key. */
void        curator_thumbnail_loader_release  (CuratorThumbnailLoader *self, const char *key);

typedef void (*CuratorThumbnailReadyFunc) (CuratorThumbnailLoader *loader,
                                           const char             *key,
                                           GdkTexture             *texture,  /* NULL: no usable thumbnail */
                                           gpointer                user_data);
/* _request, and @func is called once, when @key's result arrives (before
 * ::ready), unless _release_full with the same @user_data comes first. Not
 * called for a texture already cached: _lookup first. */
void        curator_thumbnail_loader_request_full (CuratorThumbnailLoader    *self,
                                                   const char                *key,
                                                   CuratorThumbnailReadyFunc  func,
                                                   gpointer                   user_data);
/* _release, and forgets @user_data's pending callback for @key. */
void        curator_thumbnail_loader_release_full (CuratorThumbnailLoader    *self,
                                                   const char                *key,
                                                   gpointer                   user_data);

/* Number of decoded textures in the cache (tests, statistics). */
guint       curator_thumbnail_loader_get_n_cached (CuratorThumbnailLoader *self);

/* (transfer full) A texture over @rgb's pixels; consumes @rgb. */
GdkTexture *curator_texture_new_from_rgb (CuratorRgb *rgb);

G_END_DECLS

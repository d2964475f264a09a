/* curator-progress.h: how long work reports how far it got.
 *
 * Every long core call takes an optional GCancellable and an optional
 * progress function. The function is called from the thread that runs the
 * call (never from a worker), at most a few times a second; the GUI turns it
 * into property notifications on the main thread, the CLI into a line on a
 * terminal's stderr. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#ifndef CURATOR_PROGRESS_FUNC_DEFINED
#define CURATOR_PROGRESS_FUNC_DEFINED
/* @fraction is 0..1, or negative when unknown. @message may be NULL. */
typedef void (*CuratorProgressFunc) (double fraction, const char *message, gpointer user_data);
#endif

G_END_DECLS

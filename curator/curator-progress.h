/* curator-progress.h: how long work reports how far it got.
 *
 * Every long core call takes an optional GCancellable and an optional
 * progress function. The function is called at most a few times a second,
 * never twice at once, but not always from the thread that made the call:
 * the classifier reports from its worker threads. So a consumer that touches
 * widgets must hand the values to the main thread (the GUI keeps them under
 * a mutex and schedules one idle callback, as sysprof's loader does); the
 * CLI just writes a line to a terminal's stderr. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#ifndef CURATOR_PROGRESS_FUNC_DEFINED
#define CURATOR_PROGRESS_FUNC_DEFINED
/* @fraction is 0..1, or negative when unknown. @message may be NULL. */
typedef void (*CuratorProgressFunc) (double fraction, const char *message, gpointer user_data);
#endif

G_END_DECLS

/* curator-application.h: the GtkApplication of curator-gui.
 *
 * App-wide actions (quit, about), CSS, accelerators, opening a project given
 * on the command line (or the last one), and a hidden --screenshot FILE
 * option that renders the window once its thumbnails are in and quits: how
 * tests and people look at the GUI without a screen of their own. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CURATOR_APP_ID "io.github.curator.Curator"

#define CURATOR_TYPE_APPLICATION (curator_application_get_type ())
G_DECLARE_FINAL_TYPE (CuratorApplication, curator_application, CURATOR, APPLICATION, GtkApplication)

CuratorApplication *curator_application_new (void);

/* Loads the application's CSS for @display (idempotent). Windows made
 * without the application (tests) call it themselves. */
void curator_application_load_css (GdkDisplay *display);

G_END_DECLS

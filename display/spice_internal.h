/* What the SPICE server's three files share (display/spice.c, spice_core.c,
 * spice_display.c); nothing outside display/ includes this.
 *
 * Threads: everything here runs on the display thread (the console's
 * GMainContext), except the QXL callbacks in spice_display.c, which
 * spice-server's worker thread calls. */
#pragma once

#include <glib.h>
#include <spice.h>

#include "display/console.h"

/* SpiceCoreInterface (timers and fd watches) on a GMainContext.  The
 * interface carries no user data, so there is one per process, as there
 * is one SPICE server per process. */
SpiceCoreInterface *hg_spice_core_new(GMainContext *context);
void hg_spice_core_free(SpiceCoreInterface *core);

/* The QXL "simple display": the console's pixels as copy drawables on
 * one primary surface, plus the guest's cursor (an arrow while it has
 * none). */
typedef struct HgSpiceDisplay HgSpiceDisplay;

/* Adds the QXL interface to server and creates the primary surface at the
 * console's size; listens to the console from now on. */
HgSpiceDisplay *hg_spice_display_new(SpiceServer *server, HgConsole *console);
/* Stops listening; call before spice_server_destroy, then
 * hg_spice_display_free after it (the worker may still hold drawables
 * until the server is gone). */
void hg_spice_display_detach(HgSpiceDisplay *d);
void hg_spice_display_free(HgSpiceDisplay *d);

/* The console: the guest's screen as a surface that a display device
 * publishes and the display servers (VNC, SPICE) and screendump consume.
 *
 * Pixels are always 32-bit XRGB8888 (little-endian: B, G, R, X in memory),
 * whatever the guest's mode: the device converts while rendering, so every
 * consumer reads one format.  Changes are tracked as a list of dirty
 * rectangles; a mode change replaces the surface.
 *
 * Threads: the device renders from its refresh callback, which the console
 * calls about 30 times a second from the display thread, holding
 * machine->device_lock.  Consumers run on the display thread too (listeners
 * are called there) and read pixels under hg_console_lock(). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/machine.h"

typedef struct HgConsole HgConsole;

typedef struct {
	int x, y, width, height;
} HgRect;

typedef struct {
	/* A new surface size (and all of it dirty).  Console lock not held. */
	void (*resized)(void *opaque, int width, int height);
	/* These rectangles changed since the last call.  Console lock not held;
	 * take it to read the pixels. */
	void (*updated)(void *opaque, const HgRect *rects, unsigned n_rects);
	/* The guest moved or changed its hardware cursor (optional). */
	void (*cursor_changed)(void *opaque);
} HgConsoleListener;

/* One console per machine, created by the platform; it starts 640x480 and
 * black, with "no display device" until a device sets a refresh. */
HgConsole *hg_console_new(HgMachine *m);
void hg_console_free(HgConsole *c);

/* ---- device side (device_lock held) ---- */

/* The device's render hook, called from the display thread. */
void hg_console_set_refresh(HgConsole *c, void (*refresh)(void *opaque), void *opaque);
/* Change the mode: the surface becomes width x height, all black, all
 * dirty.  Sizes are clamped to 1..8192. */
void hg_console_resize(HgConsole *c, int width, int height);
/* The pixels to render into: stride is in bytes.  Valid until the next
 * resize; write only from the refresh callback or with the console lock. */
uint32_t *hg_console_pixels(HgConsole *c, int *width, int *height, int *stride);
void hg_console_mark_dirty(HgConsole *c, int x, int y, int width, int height);

/* ---- consumer side ---- */

void hg_console_add_listener(HgConsole *c, const HgConsoleListener *l, void *opaque);
void hg_console_remove_listener(HgConsole *c, void *opaque);
/* Guards the pixels and the size against a concurrent resize. */
void hg_console_lock(HgConsole *c);
void hg_console_unlock(HgConsole *c);
void hg_console_size(HgConsole *c, int *width, int *height);
/* Run the device's refresh now and deliver the dirty rectangles to the
 * listeners (the display thread does this on its timer; call it only
 * there).  Screendump renders first without delivering, so its picture is
 * current and listeners stay on the display thread. */
void hg_console_refresh(HgConsole *c);

/* The surface as a PNG file (the control socket's screendump). */
bool hg_console_screendump(HgConsole *c, const char *path, GError **error);

/* The display thread: its own GMainContext, on which the refresh timer,
 * the VNC and SPICE servers run, so that no client ever waits on a vCPU or
 * the control socket.  hg_console_context() gives servers that context. */
void hg_console_start_thread(HgConsole *c);
void hg_console_stop_thread(HgConsole *c);
GMainContext *hg_console_context(HgConsole *c);

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
 * are called there) and read pixels under hg_console_lock().
 *
 * The cursor: a device with a hardware cursor publishes its shape,
 * position and visibility with hg_console_set_cursor/move/show, from its
 * refresh callback or from any thread (they take the console lock
 * themselves).  The console keeps a copy; listeners hear of changes on the
 * display thread, at most once per refresh, through cursor_changed, and
 * read the state with hg_console_cursor().  The cursor is never painted
 * into the surface: clients draw it, so a screendump shows what the guest
 * drew and nothing else.  Without a device cursor ("no guest cursor"),
 * servers keep what they did before (see vnc.h and spice.h).
 *
 * Saved state: the console has none of its own.  The device that owns a
 * hardware cursor saves its cursor with the rest of its state and
 * publishes it again on load, as it redraws the surface. */
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
	/* The guest's cursor changed shape, moved, or was shown or hidden
	 * (optional).  Console lock not held; hg_console_cursor() says how. */
	void (*cursor_changed)(void *opaque);
} HgConsoleListener;

/* Cursor images are at most this wide and high; larger ones are cropped
 * (the hot spot is kept inside). */
#define HG_CONSOLE_CURSOR_MAX 256

/* The cursor as the console last heard of it (hg_console_cursor). */
typedef struct {
	/* A new one for every hg_console_set_cursor: a consumer that saw
	 * this serial already has the shape and need only look at the
	 * position and visibility. */
	uint32_t serial;
	bool defined; /* the guest has a cursor of its own */
	bool visible; /* shown (hg_console_show_cursor); a new console shows */
	int x, y; /* where the hot spot is, in surface pixels; may be off it */
	int width, height; /* 0 when !defined */
	int hot_x, hot_y; /* inside the image */
	/* Whether pixels holds the image: only when serial differs from the
	 * one the caller asked with. */
	bool has_pixels;
	/* width * height ARGB8888 values, top row first, alpha in the top
	 * byte, not premultiplied (straight alpha, as SPICE's alpha cursors
	 * and GdkPixbuf take it; little-endian memory is B, G, R, A). */
	uint32_t pixels[];
} HgConsoleCursor;

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

/* The guest's cursor image: width x height ARGB8888 pixels, straight
 * (not premultiplied) alpha, top row first (copied; a device whose
 * hardware premultiplies divides first).  Sizes are clamped to
 * 0..HG_CONSOLE_CURSOR_MAX, the hot spot to the image.  NULL pixels or a
 * zero size: no guest cursor, the servers' default again.  These three
 * take the console lock themselves: call them from the refresh callback or
 * from any thread, but not with the console lock held. */
void hg_console_set_cursor(HgConsole *c, int width, int height, int hot_x, int hot_y,
			   const uint32_t *argb);
/* Where the hot spot is, in surface pixels (it may leave the surface). */
void hg_console_move_cursor(HgConsole *c, int x, int y);
void hg_console_show_cursor(HgConsole *c, bool visible);

/* ---- consumer side ---- */

void hg_console_add_listener(HgConsole *c, const HgConsoleListener *l, void *opaque);
void hg_console_remove_listener(HgConsole *c, void *opaque);
/* Guards the pixels and the size against a concurrent resize. */
void hg_console_lock(HgConsole *c);
void hg_console_unlock(HgConsole *c);
void hg_console_size(HgConsole *c, int *width, int *height);
/* A copy of the cursor state (free it with g_free); its pixels only when
 * the shape's serial is not known_serial (pass 0 to always get them).
 * Takes the console lock. */
HgConsoleCursor *hg_console_cursor(HgConsole *c, uint32_t known_serial);
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

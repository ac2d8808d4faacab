/* The console surface, its dirty rectangles, listeners, the display thread
 * and screendump.  See console.h. */
#include "display/console.h"
#include "display/png_writer.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#define CONSOLE_MAX_SIZE 8192
#define CONSOLE_MAX_RECTS 64 /* beyond this, one bounding box */
#define CONSOLE_REFRESH_MS 33

typedef struct {
	const HgConsoleListener *ops;
	void *opaque;
} ConsoleListener;

struct HgConsole {
	HgMachine *machine;
	GMutex lock; /* guards everything below but the thread fields */
	int width, height, stride;
	uint32_t *pixels;
	HgRect dirty[CONSOLE_MAX_RECTS];
	unsigned n_dirty;
	bool resized; /* listeners must hear of the new size first */
	/* The guest's cursor: a state and an image of its own. */
	HgConsoleCursor *cursor; /* pixels always filled in */
	bool cursor_changed; /* listeners have not heard of it yet */
	void (*refresh)(void *opaque);
	void *refresh_data;
	GArray *listeners; /* ConsoleListener */

	GMainContext *context;
	GMainLoop *loop;
	GThread *thread;
	GSource *timer;
};

static void console_alloc(HgConsole *c, int width, int height)
{
	width = CLAMP(width, 1, CONSOLE_MAX_SIZE);
	height = CLAMP(height, 1, CONSOLE_MAX_SIZE);
	g_free(c->pixels);
	c->width = width;
	c->height = height;
	c->stride = width * 4;
	c->pixels = g_malloc0((size_t)c->stride * height);
	c->n_dirty = 0;
	c->resized = true;
}

HgConsole *hg_console_new(HgMachine *m)
{
	HgConsole *c = g_new0(HgConsole, 1);
	c->machine = m;
	g_mutex_init(&c->lock);
	c->listeners = g_array_new(FALSE, FALSE, sizeof(ConsoleListener));
	c->context = g_main_context_new();
	console_alloc(c, 640, 480);
	c->cursor = g_new0(HgConsoleCursor, 1);
	c->cursor->serial = 1;
	c->cursor->visible = true;
	return c;
}

void hg_console_free(HgConsole *c)
{
	if (!c)
		return;
	hg_console_stop_thread(c);
	g_main_context_unref(c->context);
	g_array_unref(c->listeners);
	g_free(c->pixels);
	g_free(c->cursor);
	g_mutex_clear(&c->lock);
	g_free(c);
}

void hg_console_set_refresh(HgConsole *c, void (*refresh)(void *opaque), void *opaque)
{
	c->refresh = refresh;
	c->refresh_data = opaque;
}

void hg_console_resize(HgConsole *c, int width, int height)
{
	g_mutex_lock(&c->lock);
	console_alloc(c, width, height);
	g_mutex_unlock(&c->lock);
}

uint32_t *hg_console_pixels(HgConsole *c, int *width, int *height, int *stride)
{
	*width = c->width;
	*height = c->height;
	*stride = c->stride;
	return c->pixels;
}

static void rect_union(HgRect *a, const HgRect *b)
{
	int x2 = MAX(a->x + a->width, b->x + b->width);
	int y2 = MAX(a->y + a->height, b->y + b->height);
	a->x = MIN(a->x, b->x);
	a->y = MIN(a->y, b->y);
	a->width = x2 - a->x;
	a->height = y2 - a->y;
}

void hg_console_mark_dirty(HgConsole *c, int x, int y, int width, int height)
{
	HgRect r;

	g_mutex_lock(&c->lock);
	/* Clip to the surface; a device's arithmetic may not have. */
	int x2 = MIN(x + width, c->width), y2 = MIN(y + height, c->height);
	x = MAX(x, 0);
	y = MAX(y, 0);
	if (x2 <= x || y2 <= y) {
		g_mutex_unlock(&c->lock);
		return;
	}
	r = (HgRect){x, y, x2 - x, y2 - y};
	if (c->n_dirty < CONSOLE_MAX_RECTS) {
		c->dirty[c->n_dirty++] = r;
	} else {
		rect_union(&c->dirty[0], &r);
		for (unsigned i = 1; i < c->n_dirty; i++)
			rect_union(&c->dirty[0], &c->dirty[i]);
		c->n_dirty = 1;
	}
	g_mutex_unlock(&c->lock);
}

/* ---- the cursor ---- */

static HgConsoleCursor *cursor_alloc(int width, int height)
{
	HgConsoleCursor *cursor =
		g_malloc0(sizeof(*cursor) + (size_t)width * height * sizeof(uint32_t));

	cursor->width = width;
	cursor->height = height;
	return cursor;
}

/* Keep the hot spot's pixel in the image when cropping a big one: the
 * window of at most HG_CONSOLE_CURSOR_MAX starts where it still holds it. */
static int cursor_crop_start(int size, int hot)
{
	if (size <= HG_CONSOLE_CURSOR_MAX || hot < HG_CONSOLE_CURSOR_MAX)
		return 0;
	return MIN(hot - HG_CONSOLE_CURSOR_MAX + 1, size - HG_CONSOLE_CURSOR_MAX);
}

void hg_console_set_cursor(HgConsole *c, int width, int height, int hot_x, int hot_y,
			   const uint32_t *argb)
{
	bool defined = argb && width > 0 && height > 0;
	int x0 = 0, y0 = 0, w = 0, h = 0;
	HgConsoleCursor *cursor, *old;

	if (defined) {
		hot_x = CLAMP(hot_x, 0, width - 1);
		hot_y = CLAMP(hot_y, 0, height - 1);
		x0 = cursor_crop_start(width, hot_x);
		y0 = cursor_crop_start(height, hot_y);
		w = MIN(width, HG_CONSOLE_CURSOR_MAX);
		h = MIN(height, HG_CONSOLE_CURSOR_MAX);
	}
	/* Copied outside the lock, which the servers' reads wait on. */
	cursor = cursor_alloc(w, h);
	cursor->defined = defined;
	if (defined) {
		cursor->hot_x = hot_x - x0;
		cursor->hot_y = hot_y - y0;
		for (int y = 0; y < h; y++)
			memcpy(cursor->pixels + (size_t)y * w, argb + (size_t)(y0 + y) * width + x0,
			       (size_t)w * sizeof(uint32_t));
	}

	g_mutex_lock(&c->lock);
	old = c->cursor;
	cursor->serial = old->serial + 1 ? old->serial + 1 : 1; /* 0 means "none known" */
	cursor->visible = old->visible;
	cursor->x = old->x;
	cursor->y = old->y;
	c->cursor = cursor;
	c->cursor_changed = true;
	g_mutex_unlock(&c->lock);
	g_free(old);
}

void hg_console_move_cursor(HgConsole *c, int x, int y)
{
	g_mutex_lock(&c->lock);
	if (c->cursor->x != x || c->cursor->y != y) {
		c->cursor->x = x;
		c->cursor->y = y;
		c->cursor_changed = true;
	}
	g_mutex_unlock(&c->lock);
}

void hg_console_show_cursor(HgConsole *c, bool visible)
{
	g_mutex_lock(&c->lock);
	if (c->cursor->visible != visible) {
		c->cursor->visible = visible;
		c->cursor_changed = true;
	}
	g_mutex_unlock(&c->lock);
}

HgConsoleCursor *hg_console_cursor(HgConsole *c, uint32_t known_serial)
{
	HgConsoleCursor *copy;
	size_t size;

	g_mutex_lock(&c->lock);
	size = sizeof(*copy);
	if (c->cursor->serial != known_serial)
		size += (size_t)c->cursor->width * c->cursor->height * sizeof(uint32_t);
	copy = g_memdup2(c->cursor, size);
	copy->has_pixels = c->cursor->serial != known_serial;
	g_mutex_unlock(&c->lock);
	return copy;
}

/* ---- listeners ---- */

void hg_console_add_listener(HgConsole *c, const HgConsoleListener *l, void *opaque)
{
	ConsoleListener cl = {l, opaque};
	g_mutex_lock(&c->lock);
	g_array_append_val(c->listeners, cl);
	g_mutex_unlock(&c->lock);
}

void hg_console_remove_listener(HgConsole *c, void *opaque)
{
	g_mutex_lock(&c->lock);
	for (guint i = 0; i < c->listeners->len; i++) {
		if (g_array_index(c->listeners, ConsoleListener, i).opaque == opaque) {
			g_array_remove_index(c->listeners, i);
			break;
		}
	}
	g_mutex_unlock(&c->lock);
}

void hg_console_lock(HgConsole *c)
{
	g_mutex_lock(&c->lock);
}

void hg_console_unlock(HgConsole *c)
{
	g_mutex_unlock(&c->lock);
}

void hg_console_size(HgConsole *c, int *width, int *height)
{
	g_mutex_lock(&c->lock);
	*width = c->width;
	*height = c->height;
	g_mutex_unlock(&c->lock);
}

/* Let the device bring the pixels up to date; the changes it marks wait
 * for the display thread to hand them to the listeners. */
static void console_render(HgConsole *c)
{
	if (c->refresh) {
		g_mutex_lock(&c->machine->device_lock);
		c->refresh(c->refresh_data);
		g_mutex_unlock(&c->machine->device_lock);
	}
}

void hg_console_refresh(HgConsole *c)
{
	HgRect rects[CONSOLE_MAX_RECTS];
	unsigned n;
	bool resized, cursor_changed;
	int width, height;
	g_autoptr(GArray) listeners = NULL;

	console_render(c);
	g_mutex_lock(&c->lock);
	resized = c->resized;
	c->resized = false;
	n = c->n_dirty;
	memcpy(rects, c->dirty, n * sizeof(HgRect));
	c->n_dirty = 0;
	cursor_changed = c->cursor_changed;
	c->cursor_changed = false;
	width = c->width;
	height = c->height;
	listeners = g_array_copy(c->listeners);
	g_mutex_unlock(&c->lock);

	for (guint i = 0; i < listeners->len; i++) {
		ConsoleListener *l = &g_array_index(listeners, ConsoleListener, i);
		if (resized && l->ops->resized)
			l->ops->resized(l->opaque, width, height);
		else if (n && l->ops->updated)
			l->ops->updated(l->opaque, rects, n);
		/* After the picture: a server that recreates its surface on
		 * a resize sends the cursor again for the new one. */
		if (cursor_changed && l->ops->cursor_changed)
			l->ops->cursor_changed(l->opaque);
	}
}

bool hg_console_screendump(HgConsole *c, const char *path, GError **error)
{
	bool ok;

	/* Current pixels, but the listeners still hear of the change from the
	 * display thread, as console.h promises (this runs on the main one). */
	console_render(c);
	g_mutex_lock(&c->lock);
	ok = hg_png_write_xrgb(path, c->pixels, c->width, c->height, c->stride, error);
	g_mutex_unlock(&c->lock);
	return ok;
}

static gboolean console_tick(gpointer data)
{
	hg_console_refresh(data);
	return G_SOURCE_CONTINUE;
}

static gpointer console_thread_main(gpointer data)
{
	HgConsole *c = data;
	g_main_context_push_thread_default(c->context);
	g_main_loop_run(c->loop);
	g_main_context_pop_thread_default(c->context);
	return NULL;
}

void hg_console_start_thread(HgConsole *c)
{
	if (c->thread)
		return;
	c->loop = g_main_loop_new(c->context, FALSE);
	c->timer = g_timeout_source_new(CONSOLE_REFRESH_MS);
	g_source_set_callback(c->timer, console_tick, c, NULL);
	g_source_attach(c->timer, c->context);
	c->thread = g_thread_new("display", console_thread_main, c);
}

static gboolean console_quit_loop(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

void hg_console_stop_thread(HgConsole *c)
{
	GSource *quit;

	if (!c->thread)
		return;
	/* Quit from inside the thread's own loop: a g_main_loop_quit() from
	 * here could come before the thread even entered g_main_loop_run()
	 * and be lost, leaving the join below waiting forever. */
	quit = g_idle_source_new();
	g_source_set_callback(quit, console_quit_loop, c->loop, NULL);
	g_source_attach(quit, c->context);
	g_source_unref(quit);
	g_thread_join(c->thread);
	c->thread = NULL;
	g_source_destroy(c->timer);
	g_source_unref(c->timer);
	g_main_loop_unref(c->loop);
	c->loop = NULL;
}

GMainContext *hg_console_context(HgConsole *c)
{
	return c->context;
}

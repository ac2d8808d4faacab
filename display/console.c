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
	bool resized;
	int width, height;
	g_autoptr(GArray) listeners = NULL;

	console_render(c);
	g_mutex_lock(&c->lock);
	resized = c->resized;
	c->resized = false;
	n = c->n_dirty;
	memcpy(rects, c->dirty, n * sizeof(HgRect));
	c->n_dirty = 0;
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

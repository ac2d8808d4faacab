/* The QXL "simple display": the console's surface served through
 * spice-server's QXL interface without a QXL device.  Every dirty
 * rectangle the console reports becomes one QXL_DRAW_COPY drawable whose
 * bitmap is a copy of those pixels; a mode change destroys the primary
 * surface and creates one of the new size.  The server draws the
 * drawables into the primary surface's memory (ours, used by nobody
 * else) and sends them, compressed as it likes, to the client.
 *
 * Threads: the console listeners and everything that creates commands
 * run on the display thread.  get_command, get_cursor_command and
 * release_resource run on spice-server's worker thread: they touch only
 * the queues, under queue_lock, and free what the server hands back.
 *
 * A client that falls behind makes the worker stop fetching commands;
 * they wait in our queue, which is bounded: past DISPLAY_QUEUE_MAX, the
 * waiting rectangles and the new ones are merged into one, read afresh
 * from the console.  The guest never waits on any of this.
 *
 * The cursor: the guest's (console.h) as QXL_CURSOR_SET with its ARGB
 * image and hot spot, QXL_CURSOR_MOVE and QXL_CURSOR_HIDE; a plain arrow
 * while the guest has none of its own.  Each console change becomes the
 * few commands that take the server from what it was sent to the new
 * state; they wait in a queue of their own, bounded like the drawables'
 * (past CURSOR_QUEUE_MAX, the waiting ones give way to the whole state).
 * spice-server forgets the cursor with the primary surface, so a mode
 * change sends it all again.  In client mouse mode the server passes
 * moves on to clients only when they show a hidden cursor: the client's
 * own pointer is where the guest's is. */
#include "display/spice_internal.h"

#include <stddef.h>
#include <string.h>

#define DISPLAY_QUEUE_MAX 32
#define DISPLAY_MEMSLOT_GROUP 0
#define DISPLAY_SURFACES 1024 /* spice-server's surface table size */
#define CURSOR_QUEUE_MAX 16

/* One command of either kind, allocated with its payload: ext first, so
 * release_resource can tell them apart from the pointer alone. */
typedef struct {
	QXLCommandExt ext;
	HgRect rect;
	QXLDrawable drawable;
	QXLImage image;
	uint8_t pixels[]; /* rect.width * 4 bytes a row, top row first */
} DisplayUpdate;

typedef struct {
	QXLCommandExt ext;
	QXLCursorCmd cmd;
	QXLCursor cursor; /* last: its chunk's pixels follow (QXL_CURSOR_SET) */
} DisplayCursor;
/* The pixels start right after the struct (all of it is packed). */
G_STATIC_ASSERT(sizeof(DisplayCursor) == offsetof(DisplayCursor, cursor) +
						 offsetof(QXLCursor, chunk) +
						 offsetof(QXLDataChunk, data));

struct HgSpiceDisplay {
	QXLInstance qxl; /* first: callbacks get &qxl */
	SpiceServer *server;
	HgConsole *console;
	GMainContext *context; /* the display thread's */

	/* Display thread only. */
	int width, height; /* the primary surface's size */
	uint8_t *surface_memory;
	bool listening;
	uint32_t next_unique;
	/* The cursor as the commands queued so far leave it. */
	uint32_t cursor_serial; /* the console's shape, 0 for none yet */
	bool cursor_visible;
	int cursor_x, cursor_y;

	GMutex queue_lock; /* guards queue and cursor_queue */
	GQueue queue; /* DisplayUpdate *, not yet fetched by the worker */
	GQueue cursor_queue; /* DisplayCursor *, likewise */
};

/* ---- commands (display thread) ---- */

static void rect_union(HgRect *a, const HgRect *b)
{
	int x2 = MAX(a->x + a->width, b->x + b->width);
	int y2 = MAX(a->y + a->height, b->y + b->height);
	a->x = MIN(a->x, b->x);
	a->y = MIN(a->y, b->y);
	a->width = x2 - a->x;
	a->height = y2 - a->y;
}

static QXLRect qxl_rect(int x, int y, int width, int height)
{
	return (QXLRect){.left = x, .top = y, .right = x + width, .bottom = y + height};
}

/* A copy drawable of rect r of the console's pixels (console lock held). */
static DisplayUpdate *update_new(HgSpiceDisplay *d, const HgRect *r, const uint32_t *pixels,
				 int stride)
{
	size_t row = (size_t)r->width * 4;
	DisplayUpdate *u = g_malloc0(sizeof(*u) + row * r->height);
	QXLDrawable *draw = &u->drawable;
	QXLImage *image = &u->image;

	for (int y = 0; y < r->height; y++)
		memcpy(u->pixels + y * row,
		       (const uint8_t *)pixels + (size_t)(r->y + y) * stride + (size_t)r->x * 4,
		       row);
	u->rect = *r;

	draw->release_info.id = (uintptr_t)u;
	draw->surface_id = 0;
	draw->effect = QXL_EFFECT_OPAQUE;
	draw->type = QXL_DRAW_COPY;
	draw->bbox = qxl_rect(r->x, r->y, r->width, r->height);
	draw->clip.type = SPICE_CLIP_TYPE_NONE;
	draw->mm_time = (uint32_t)(g_get_monotonic_time() / 1000);
	for (int i = 0; i < 3; i++)
		draw->surfaces_dest[i] = -1;
	draw->u.copy.src_bitmap = (uintptr_t)image;
	draw->u.copy.src_area = qxl_rect(0, 0, r->width, r->height);
	draw->u.copy.rop_descriptor = SPICE_ROPD_OP_PUT;

	QXL_SET_IMAGE_ID(image, QXL_IMAGE_GROUP_DEVICE, d->next_unique++);
	image->descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
	image->descriptor.width = r->width;
	image->descriptor.height = r->height;
	/* 32BIT is B, G, R, X in memory: the console's XRGB8888. */
	image->bitmap.format = SPICE_BITMAP_FMT_32BIT;
	image->bitmap.flags = QXL_BITMAP_DIRECT | QXL_BITMAP_TOP_DOWN;
	image->bitmap.x = r->width;
	image->bitmap.y = r->height;
	image->bitmap.stride = row;
	image->bitmap.data = (uintptr_t)u->pixels;

	u->ext.cmd.type = QXL_CMD_DRAW;
	u->ext.cmd.data = (uintptr_t)draw;
	u->ext.group_id = DISPLAY_MEMSLOT_GROUP;
	return u;
}

static void display_drop_queue(HgSpiceDisplay *d)
{
	DisplayUpdate *u;

	g_mutex_lock(&d->queue_lock);
	while ((u = g_queue_pop_head(&d->queue)))
		g_free(u);
	g_mutex_unlock(&d->queue_lock);
}

/* A console change heard on another thread (screendump refreshes the
 * console from the main loop), to replay on the display thread. */
typedef enum {
	CHANGE_UPDATED,
	CHANGE_RESIZED,
	CHANGE_CURSOR,
} DisplayChangeKind;

typedef struct {
	HgSpiceDisplay *display;
	DisplayChangeKind kind;
	int width, height;
	unsigned n_rects;
	HgRect rects[];
} DisplayChange;

static void display_resized(void *opaque, int width, int height);
static void display_updated(void *opaque, const HgRect *rects, unsigned n_rects);
static void display_cursor_changed(void *opaque);

static gboolean display_replay_change(gpointer data)
{
	DisplayChange *change = data;

	switch (change->kind) {
	case CHANGE_RESIZED:
		display_resized(change->display, change->width, change->height);
		break;
	case CHANGE_UPDATED:
		display_updated(change->display, change->rects, change->n_rects);
		break;
	case CHANGE_CURSOR:
		display_cursor_changed(change->display);
		break;
	}
	return G_SOURCE_REMOVE;
}

/* spice-server's surface calls belong on the display thread, and so does
 * this file's state: from elsewhere, queue the change for it (in order,
 * ahead of hg_spice_free's own call there). */
static bool display_elsewhere(HgSpiceDisplay *d, DisplayChangeKind kind, int width, int height,
			      const HgRect *rects, unsigned n_rects)
{
	DisplayChange *change;
	GSource *idle;

	if (g_main_context_is_owner(d->context))
		return false;
	change = g_malloc(sizeof(*change) + n_rects * sizeof(HgRect));
	*change = (DisplayChange){d, kind, width, height, n_rects};
	if (n_rects)
		memcpy(change->rects, rects, n_rects * sizeof(HgRect));
	idle = g_idle_source_new();
	g_source_set_priority(idle, G_PRIORITY_DEFAULT);
	g_source_set_callback(idle, display_replay_change, change, g_free);
	g_source_attach(idle, d->context);
	g_source_unref(idle);
	return true;
}

static void display_updated(void *opaque, const HgRect *rects, unsigned n_rects)
{
	HgSpiceDisplay *d = opaque;
	GQueue fresh = G_QUEUE_INIT;
	HgRect merged;
	bool merge;
	int width, height, stride;
	DisplayUpdate *u;

	if (!n_rects || display_elsewhere(d, CHANGE_UPDATED, 0, 0, rects, n_rects))
		return;
	merged = rects[0];
	/* Too much waiting already: one rectangle over all of it replaces
	 * the waiting commands (it is read now, so it is newer than them). */
	g_mutex_lock(&d->queue_lock);
	merge = d->queue.length + n_rects > DISPLAY_QUEUE_MAX;
	if (merge) {
		for (unsigned i = 1; i < n_rects; i++)
			rect_union(&merged, &rects[i]);
		while ((u = g_queue_pop_head(&d->queue))) {
			rect_union(&merged, &u->rect);
			g_free(u);
		}
	}
	g_mutex_unlock(&d->queue_lock);

	hg_console_lock(d->console);
	const uint32_t *pixels = hg_console_pixels(d->console, &width, &height, &stride);
	/* A different size means a resize the listeners have not heard of
	 * yet: it repaints everything, skip these. */
	if (width == d->width && height == d->height) {
		if (merge) {
			g_queue_push_tail(&fresh, update_new(d, &merged, pixels, stride));
		} else {
			for (unsigned i = 0; i < n_rects; i++)
				g_queue_push_tail(&fresh, update_new(d, &rects[i], pixels, stride));
		}
	}
	hg_console_unlock(d->console);

	if (!fresh.length)
		return;
	g_mutex_lock(&d->queue_lock);
	while ((u = g_queue_pop_head(&fresh)))
		g_queue_push_tail(&d->queue, u);
	g_mutex_unlock(&d->queue_lock);
	spice_qxl_wakeup(&d->qxl);
}

/* ---- the cursor (display thread) ---- */

/* A plain arrow, hot spot at its tip: clients show it while the guest has
 * no cursor of its own.  'X' black, '.' white, ' ' transparent. */
static const char *const arrow_shape[] = {
	"X           ", "XX          ", "X.X         ", "X..X        ", "X...X       ",
	"X....X      ", "X.....X     ", "X......X    ", "X.......X   ", "X........X  ",
	"X.........X ", "X......XXXXX", "X...X..X    ", "X..XX..X    ", "X.X  X..X   ",
	"XX   X..X   ", "X     X..X  ", "      X..X  ", "       XX   ",
};

/* The arrow as a console cursor: ARGB, opaque black or white or clear. */
static HgConsoleCursor *arrow_new(void)
{
	const int width = strlen(arrow_shape[0]), height = G_N_ELEMENTS(arrow_shape);
	HgConsoleCursor *arrow = g_malloc0(sizeof(*arrow) + (size_t)width * height * 4);

	arrow->width = width;
	arrow->height = height;
	for (int y = 0; y < height; y++) {
		for (int x = 0; x < width; x++) {
			char p = arrow_shape[y][x];
			uint32_t argb = p == '.' ? 0xffffffff : 0xff000000;
			arrow->pixels[y * width + x] = p == ' ' ? 0 : argb;
		}
	}
	return arrow;
}

static DisplayCursor *cursor_command_new(uint8_t type, size_t pixel_bytes)
{
	DisplayCursor *c = g_malloc0(sizeof(*c) + pixel_bytes);

	c->cmd.release_info.id = (uintptr_t)c;
	c->cmd.type = type;
	c->ext.cmd.type = QXL_CMD_CURSOR;
	c->ext.cmd.data = (uintptr_t)&c->cmd;
	c->ext.group_id = DISPLAY_MEMSLOT_GROUP;
	return c;
}

static QXLPoint16 cursor_point(int x, int y)
{
	return (QXLPoint16){.x = CLAMP(x, G_MININT16, G_MAXINT16),
			    .y = CLAMP(y, G_MININT16, G_MAXINT16)};
}

/* QXL_CURSOR_SET of an ARGB image: SPICE's alpha cursors are B, G, R, A
 * bytes, the console's ARGB8888 in little-endian memory. */
static DisplayCursor *cursor_set_new(HgSpiceDisplay *d, const HgConsoleCursor *shape)
{
	const size_t size = (size_t)shape->width * shape->height * 4;
	DisplayCursor *c = cursor_command_new(QXL_CURSOR_SET, size);

	memcpy((uint8_t *)c + sizeof(*c), shape->pixels, size); /* the chunk's data */
	c->cursor.header.unique = d->next_unique++;
	c->cursor.header.type = SPICE_CURSOR_TYPE_ALPHA;
	c->cursor.header.width = shape->width;
	c->cursor.header.height = shape->height;
	c->cursor.header.hot_spot_x = shape->hot_x;
	c->cursor.header.hot_spot_y = shape->hot_y;
	c->cursor.data_size = size;
	c->cursor.chunk.data_size = size;
	c->cmd.u.set.visible = 1;
	c->cmd.u.set.position = cursor_point(shape->x, shape->y);
	c->cmd.u.set.shape = (uintptr_t)&c->cursor;
	return c;
}

static DisplayCursor *cursor_move_new(int x, int y)
{
	DisplayCursor *c = cursor_command_new(QXL_CURSOR_MOVE, 0);

	c->cmd.u.position = cursor_point(x, y);
	return c;
}

static void cursor_queue_drop(GQueue *queue)
{
	DisplayCursor *c;

	while ((c = g_queue_pop_head(queue)))
		g_free(c);
}

/* The commands that show the cursor as the console has it (now, with its
 * pixels fetched if it came without): its shape, or the arrow, and for
 * the guest's own where it is.  The server keeps the position only from
 * moves, and a move shows the cursor too. */
static void cursor_show_commands(HgSpiceDisplay *d, const HgConsoleCursor *now, GQueue *out)
{
	g_autofree HgConsoleCursor *fetched =
		now->has_pixels ? NULL : hg_console_cursor(d->console, 0);
	const HgConsoleCursor *shape = fetched ? fetched : now;
	g_autofree HgConsoleCursor *arrow = shape->defined ? NULL : arrow_new();

	if (arrow) {
		arrow->x = shape->x;
		arrow->y = shape->y;
	}
	g_queue_push_tail(out, cursor_set_new(d, arrow ? arrow : shape));
	if (shape->defined)
		g_queue_push_tail(out, cursor_move_new(shape->x, shape->y));
}

/* Queue what takes the server from the cursor it was sent to the
 * console's; everything when the server knows nothing (a new surface) or
 * too much waits already. */
static void display_sync_cursor(HgSpiceDisplay *d, bool everything)
{
	g_autofree HgConsoleCursor *now = hg_console_cursor(d->console, d->cursor_serial);
	GQueue fresh = G_QUEUE_INIT;
	bool shape_changed;

	/* What waits would only be overtaken. */
	g_mutex_lock(&d->queue_lock);
	if (everything || d->cursor_queue.length + 2 > CURSOR_QUEUE_MAX) {
		cursor_queue_drop(&d->cursor_queue);
		everything = true;
	}
	g_mutex_unlock(&d->queue_lock);

	shape_changed = everything || now->has_pixels;
	if (now->visible && (shape_changed || !d->cursor_visible))
		cursor_show_commands(d, now, &fresh);
	else if (!now->visible && (everything || d->cursor_visible))
		g_queue_push_tail(&fresh, cursor_command_new(QXL_CURSOR_HIDE, 0));
	else if (now->visible && (now->x != d->cursor_x || now->y != d->cursor_y))
		g_queue_push_tail(&fresh, cursor_move_new(now->x, now->y));
	d->cursor_serial = now->serial;
	d->cursor_visible = now->visible;
	d->cursor_x = now->x;
	d->cursor_y = now->y;
	if (!fresh.length)
		return;

	g_mutex_lock(&d->queue_lock);
	while (fresh.length)
		g_queue_push_tail(&d->cursor_queue, g_queue_pop_head(&fresh));
	g_mutex_unlock(&d->queue_lock);
	spice_qxl_wakeup(&d->qxl);
}

static void display_cursor_changed(void *opaque)
{
	HgSpiceDisplay *d = opaque;

	if (!display_elsewhere(d, CHANGE_CURSOR, 0, 0, NULL, 0))
		display_sync_cursor(d, false);
}

/* ---- the primary surface (display thread) ---- */

static void display_create_surface(HgSpiceDisplay *d, int width, int height)
{
	QXLDevSurfaceCreate surface = {0};

	d->width = width;
	d->height = height;
	d->surface_memory = g_malloc0((size_t)width * height * 4);
	surface.width = width;
	surface.height = height;
	/* Negative: row 0 at the end of the memory, as QEMU's simple display
	 * has it (the server's best-trodden path). */
	surface.stride = -width * 4;
	surface.format = SPICE_SURFACE_FMT_32_xRGB;
	/* "The device has a hardware cursor": without it the server never
	 * offers client (absolute) mouse mode. */
	surface.mouse_mode = 1;
	surface.type = QXL_SURF_TYPE_PRIMARY;
	surface.mem = (uintptr_t)d->surface_memory;
	surface.group_id = DISPLAY_MEMSLOT_GROUP;
	spice_qxl_create_primary_surface(&d->qxl, 0, &surface);
}

static void display_destroy_surface(HgSpiceDisplay *d)
{
	/* Synchronous: the worker has finished with the memory on return.
	 * A client stuck in the middle of a message holds the worker, and so
	 * this thread, until spice-server gives up on it (15 s) and drops it;
	 * QEMU's simple display waits the same way.  The guest never does.
	 * (The async calls would finish the server's own bookkeeping on its
	 * worker thread, racing with the main channel here.) */
	spice_qxl_destroy_primary_surface(&d->qxl, 0);
	g_free(d->surface_memory);
	d->surface_memory = NULL;
}

static void display_resized(void *opaque, int width, int height)
{
	HgSpiceDisplay *d = opaque;
	HgRect all = {0, 0, width, height};

	if (display_elsewhere(d, CHANGE_RESIZED, width, height, NULL, 0))
		return;
	if (width != d->width || height != d->height) {
		display_drop_queue(d);
		display_destroy_surface(d);
		display_create_surface(d, width, height);
		display_sync_cursor(d, true);
	}
	display_updated(d, &all, 1);
}

static const HgConsoleListener display_listener = {
	.resized = display_resized,
	.updated = display_updated,
	.cursor_changed = display_cursor_changed,
};

/* ---- QXLInterface (worker thread unless said otherwise) ---- */

static void qxl_attached_worker(QXLInstance *qin)
{
}

static void qxl_set_compression_level(QXLInstance *qin, int level)
{
}

static void qxl_get_init_info(QXLInstance *qin, QXLDevInitInfo *info)
{
	/* One memory slot spanning the whole address space: the commands'
	 * addresses are our own pointers.  Slot id and generation sit in
	 * the top 16 bits, which user-space pointers leave zero. */
	memset(info, 0, sizeof(*info));
	info->num_memslots_groups = 1;
	info->num_memslots = 1;
	info->memslot_gen_bits = 8;
	info->memslot_id_bits = 8;
	info->internal_groupslot_id = DISPLAY_MEMSLOT_GROUP;
	info->qxl_ram_size = 16 << 20;
	info->n_surfaces = DISPLAY_SURFACES;
}

static int qxl_get_command(QXLInstance *qin, QXLCommandExt *ext)
{
	HgSpiceDisplay *d = (HgSpiceDisplay *)qin;
	DisplayUpdate *u;

	g_mutex_lock(&d->queue_lock);
	u = g_queue_pop_head(&d->queue);
	if (u)
		*ext = u->ext;
	g_mutex_unlock(&d->queue_lock);
	return u != NULL;
}

/* Returns 1 ("notify me") only when nothing waits; display_updated calls
 * spice_qxl_wakeup after queueing anyway. */
static int qxl_req_cmd_notification(QXLInstance *qin)
{
	HgSpiceDisplay *d = (HgSpiceDisplay *)qin;
	bool empty;

	g_mutex_lock(&d->queue_lock);
	empty = g_queue_is_empty(&d->queue);
	g_mutex_unlock(&d->queue_lock);
	return empty;
}

static void qxl_release_resource(QXLInstance *qin, QXLReleaseInfoExt release)
{
	/* Both kinds are one allocation (DisplayUpdate or DisplayCursor). */
	g_free((void *)(uintptr_t)release.info->id);
}

static int qxl_get_cursor_command(QXLInstance *qin, QXLCommandExt *ext)
{
	HgSpiceDisplay *d = (HgSpiceDisplay *)qin;
	DisplayCursor *c;

	g_mutex_lock(&d->queue_lock);
	c = g_queue_pop_head(&d->cursor_queue);
	if (c)
		*ext = c->ext;
	g_mutex_unlock(&d->queue_lock);
	return c != NULL;
}

static int qxl_req_cursor_notification(QXLInstance *qin)
{
	HgSpiceDisplay *d = (HgSpiceDisplay *)qin;
	bool empty;

	g_mutex_lock(&d->queue_lock);
	empty = g_queue_is_empty(&d->cursor_queue);
	g_mutex_unlock(&d->queue_lock);
	return empty;
}

/* The rest belongs to a real QXL device (update-area requests, async I/O,
 * guest driver resources): a simple display never asks for them. */
static void qxl_notify_update(QXLInstance *qin, uint32_t update_id)
{
}

static int qxl_flush_resources(QXLInstance *qin)
{
	return 0;
}

static void qxl_async_complete(QXLInstance *qin, uint64_t cookie)
{
}

static void qxl_update_area_complete(QXLInstance *qin, uint32_t surface_id, QXLRect *updated_rects,
				     uint32_t num_updated_rects)
{
}

static void qxl_set_client_capabilities(QXLInstance *qin, uint8_t client_present,
					uint8_t caps[SPICE_CAPABILITIES_SIZE])
{
}

static const QXLInterface display_qxl_interface = {
	.base.type = SPICE_INTERFACE_QXL,
	.base.description = "hangar console",
	.base.major_version = SPICE_INTERFACE_QXL_MAJOR,
	.base.minor_version = SPICE_INTERFACE_QXL_MINOR,
	.attached_worker = qxl_attached_worker,
	.set_compression_level = qxl_set_compression_level,
	.get_init_info = qxl_get_init_info,
	.get_command = qxl_get_command,
	.req_cmd_notification = qxl_req_cmd_notification,
	.release_resource = qxl_release_resource,
	.get_cursor_command = qxl_get_cursor_command,
	.req_cursor_notification = qxl_req_cursor_notification,
	.notify_update = qxl_notify_update,
	.flush_resources = qxl_flush_resources,
	.async_complete = qxl_async_complete,
	.update_area_complete = qxl_update_area_complete,
	.set_client_capabilities = qxl_set_client_capabilities,
	/* client_monitors_config: none, the guest's size is the guest's. */
};

/* ---- life (display thread) ---- */

HgSpiceDisplay *hg_spice_display_new(SpiceServer *server, HgConsole *console)
{
	HgSpiceDisplay *d = g_new0(HgSpiceDisplay, 1);
	QXLDevMemSlot slot = {
		.slot_group_id = DISPLAY_MEMSLOT_GROUP,
		.virt_end = ~(uintptr_t)0,
	};
	int width, height;

	d->server = server;
	d->console = console;
	d->context = hg_console_context(console);
	g_mutex_init(&d->queue_lock);
	g_queue_init(&d->queue);
	g_queue_init(&d->cursor_queue);
	d->qxl.base.sif = &display_qxl_interface.base;
	d->qxl.id = 0;
	spice_server_add_interface(server, &d->qxl.base);
	spice_qxl_add_memslot(&d->qxl, &slot);

	hg_console_size(console, &width, &height);
	display_create_surface(d, width, height);
	display_sync_cursor(d, true);
	display_updated(d, &(HgRect){0, 0, width, height}, 1);
	hg_console_add_listener(console, &display_listener, d);
	d->listening = true;
	return d;
}

void hg_spice_display_detach(HgSpiceDisplay *d)
{
	if (d && d->listening) {
		hg_console_remove_listener(d->console, d);
		d->listening = false;
	}
}

void hg_spice_display_free(HgSpiceDisplay *d)
{
	if (!d)
		return;
	hg_spice_display_detach(d);
	display_drop_queue(d);
	cursor_queue_drop(&d->cursor_queue);
	g_free(d->surface_memory);
	g_mutex_clear(&d->queue_lock);
	g_free(d);
}

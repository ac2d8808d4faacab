/* The VNC server, libvncserver's side (see vnc.h): a shadow of the console
 * fed with its dirty rectangles, the clients' keyboard and pointer, and
 * QEMU's two RFB extensions.  The network side is vnc_network.c.
 *
 * Protocol: RFC 6143 (RFB 3.8); §7.8.2 DesktopSize (-223) and
 * ExtendedDesktopSize (-308) come from libvncserver.  QEMU's extensions:
 * pseudo-encoding -258 announces the extended key event, client message
 * 255 subtype 0 {u16 down, u32 keysym, u32 keycode}, keycode a PC set-1
 * scancode with the E0 prefix as bit 7 (a qnum); pseudo-encoding -257
 * (pointer type change) tells the client in a rectangle's x whether
 * pointer events are absolute (1) or relative (0, then x and y are
 * 0x7fff + delta).  Absolute means hg_input_has_absolute: the guest drives
 * a tablet.  Clients hear it after their SetEncodings and whenever it
 * changes (the router's absolute listener, and a check before each
 * update and after each pointer event); clients without the encoding
 * send positions, which the router turns into motion for a relative
 * mouse.
 *
 * The guest's cursor: Cursor (RichCursor, -239) and XCursor shapes and
 * PointerPos (-232) positions, from libvncserver, which asks
 * screen->getCursorPtr for the shape.  screen->cursor itself stays NULL:
 * libvncserver paints that one into the frame buffer for clients without
 * cursor shapes, and the picture must stay the guest's.  So those clients
 * see no guest cursor.  A hidden cursor, or none, is the empty shape.
 *
 * Threads: everything here runs on the display thread (see
 * vnc_on_display_thread), but for the relay thread's vnc_notify. */
#include "display/vnc.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <rfb/rfb.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>

#include "display/keysym_to_qnum.h"
#include "display/vnc_network.h"

#define VNC_ENCODING_QEMU_POINTER_TYPE_CHANGE (-257)
#define VNC_ENCODING_QEMU_EXTENDED_KEY_EVENT (-258)
#define VNC_MESSAGE_QEMU 255
#define VNC_QEMU_EXTENDED_KEY_EVENT 0
#define VNC_MESSAGES_PER_WAKEUP 32
/* libvncserver's wait for the rest of a message or for room to write: the
 * relay hands it whole messages and drains it at once, so this only
 * bounds what cannot happen. */
#define VNC_LIBRARY_WAIT_MS 2000

#define QNUM_SHIFT_LEFT 0x2a
#define QNUM_SHIFT_RIGHT 0x36

/* RFB PointerEvent button mask bits */
#define RFB_BUTTONS_LEFT_MIDDLE_RIGHT 0x07 /* the same bits as HG_INPUT_BUTTON_* */
#define RFB_BUTTON_WHEEL_UP 0x08
#define RFB_BUTTON_WHEEL_DOWN 0x10

struct HgVnc {
	HgConsole *console;
	HgInput *input;
	GMainContext *context; /* the display thread's */
	VncNetwork *net;
	char *name;
	/* Display thread. */
	rfbScreenInfoPtr screen;
	uint32_t *shadow; /* the console's pixels as clients last got them */
	int width, height;
	GList *clients; /* VncClient * */
	/* The guest's cursor as clients get it: NULL with none. */
	rfbCursorPtr cursor;
	uint32_t cursor_serial; /* the console's serial of that shape */
	bool cursor_visible;
	int cursor_x, cursor_y; /* the hot spot, as the console has it */
	GMutex wake_lock; /* guards wake: the relay thread sets it ready */
	GSource *wake;
	int absolute_changed; /* atomic: the router's listener saw a change */
	bool stopping; /* the server goes: clients' keys stay as they are */
};

typedef struct {
	HgVnc *vnc;
	VncConn *conn;
	rfbClientPtr rfb;
	GSource *watch; /* libvncserver's socket readable */
	bool pointer_type_change; /* speaks QEMU's pointer type change */
	int told_absolute; /* what it was told: 1 absolute, 0 relative, -1 nothing */
	int last_x, last_y;
	int buttons; /* the last RFB button mask */
	uint8_t pressed[32]; /* bitmap of the qnums this client holds down */
} VncClient;

typedef struct {
	GSource source;
	HgVnc *vnc;
} WakeSource;

/* ---- libvncserver, once per process ---- */

static void vnc_library_log(const char *format, ...)
{
	va_list ap;
	g_autofree char *message = NULL;

	va_start(ap, format);
	message = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_debug("vnc: libvncserver: %s", g_strchomp(message));
}

static rfbBool vnc_extension_new_client(rfbClientPtr cl, void **data);
static rfbBool vnc_extension_enable_encoding(rfbClientPtr cl, void **data, int encoding);
static rfbBool vnc_extension_handle_message(rfbClientPtr cl, void *data,
					    const rfbClientToServerMsg *message);

static int vnc_qemu_encodings[] = {
	VNC_ENCODING_QEMU_EXTENDED_KEY_EVENT,
	VNC_ENCODING_QEMU_POINTER_TYPE_CHANGE,
	0,
};

static rfbProtocolExtension vnc_qemu_extension = {
	.newClient = vnc_extension_new_client,
	.pseudoEncodings = vnc_qemu_encodings,
	.enablePseudoEncoding = vnc_extension_enable_encoding,
	.handleMessage = vnc_extension_handle_message,
};

static void vnc_library_init(void)
{
	static gsize done;

	if (!g_once_init_enter(&done))
		return;
	rfbLog = vnc_library_log;
	rfbErr = vnc_library_log;
	rfbRegisterProtocolExtension(&vnc_qemu_extension);
	/* What rfbInitServer would do: a write to a socket whose reader went
	 * away must fail, not kill the engine. */
	signal(SIGPIPE, SIG_IGN);
	g_once_init_leave(&done, 1);
}

/* ---- the display thread ---- */

typedef struct {
	HgVnc *vnc;
	void (*fn)(HgVnc *v);
	GMutex lock;
	GCond cond;
	bool done;
} DisplayCall;

static gboolean display_call_run(gpointer data)
{
	DisplayCall *call = data;

	call->fn(call->vnc);
	g_mutex_lock(&call->lock);
	call->done = true;
	g_cond_signal(&call->cond);
	g_mutex_unlock(&call->lock);
	return G_SOURCE_REMOVE;
}

/* Run fn on the display thread and wait.  That thread must be running:
 * taking its context from here instead would race with it starting up. */
static void vnc_on_display_thread(HgVnc *v, void (*fn)(HgVnc *v))
{
	DisplayCall call = {.vnc = v, .fn = fn};
	GSource *idle;

	if (g_main_context_is_owner(v->context)) {
		fn(v);
		return;
	}
	g_mutex_init(&call.lock);
	g_cond_init(&call.cond);
	idle = g_idle_source_new();
	g_source_set_callback(idle, display_call_run, &call, NULL);
	g_source_attach(idle, v->context);
	g_source_unref(idle);
	g_mutex_lock(&call.lock);
	while (!call.done)
		g_cond_wait(&call.cond, &call.lock);
	g_mutex_unlock(&call.lock);
	g_mutex_clear(&call.lock);
	g_cond_clear(&call.cond);
}

/* ---- clients ---- */

static bool key_is_down(VncClient *c, unsigned qnum)
{
	return c->pressed[qnum >> 3] & (1u << (qnum & 7));
}

static void vnc_key(VncClient *c, unsigned qnum, bool down)
{
	if (!qnum || qnum > 0xff || (!down && !key_is_down(c, qnum)))
		return;
	if (down)
		c->pressed[qnum >> 3] |= 1u << (qnum & 7);
	else
		c->pressed[qnum >> 3] &= ~(1u << (qnum & 7));
	hg_input_key(c->vnc->input, qnum, down);
}

/* A keysym from a plain KeyEvent: the key that types it on a US keyboard,
 * with Shift pressed or lifted around it when the character needs the
 * other state than the client holds (a client on another layout types
 * '!' or '/' with other modifiers). */
static void vnc_keysym_event(VncClient *c, bool down, uint32_t keysym)
{
	HgKeysymKey key;
	bool left, right;

	if (!hg_keysym_to_qnum(keysym, &key)) {
		g_debug("vnc: keysym 0x%x has no key on a US keyboard", keysym);
		return;
	}
	if (!down) {
		vnc_key(c, key.qnum, false);
		return;
	}
	left = key_is_down(c, QNUM_SHIFT_LEFT);
	right = key_is_down(c, QNUM_SHIFT_RIGHT);
	if (key.shift == HG_KEYSYM_SHIFT_DOWN && !left && !right) {
		vnc_key(c, QNUM_SHIFT_LEFT, true);
		vnc_key(c, key.qnum, true);
		vnc_key(c, QNUM_SHIFT_LEFT, false);
	} else if (key.shift == HG_KEYSYM_SHIFT_UP && (left || right)) {
		vnc_key(c, QNUM_SHIFT_LEFT, false);
		vnc_key(c, QNUM_SHIFT_RIGHT, false);
		vnc_key(c, key.qnum, true);
		if (left)
			vnc_key(c, QNUM_SHIFT_LEFT, true);
		if (right)
			vnc_key(c, QNUM_SHIFT_RIGHT, true);
	} else {
		vnc_key(c, key.qnum, true);
	}
}

static void vnc_kbd_event(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	VncClient *c = cl->clientData;

	if (c)
		vnc_keysym_event(c, down, keysym);
}

/* The scancode as is; a keysym only when the client knew no scancode. */
static void vnc_extended_key_event(VncClient *c, bool down, uint32_t keysym, uint32_t keycode)
{
	unsigned qnum = keycode;

	if ((keycode & 0xff00) == 0xe000) /* a client that kept the E0 prefix */
		qnum = 0x80 | (keycode & 0x7f);
	if (qnum && qnum <= 0xff)
		vnc_key(c, qnum, down);
	else
		vnc_keysym_event(c, down, keysym);
}

static void put_be16(uint8_t *p, unsigned v)
{
	p[0] = v >> 8;
	p[1] = v;
}

/* Only between framebuffer updates: a whole message of its own. */
static void vnc_send_pseudo_rect(rfbClientPtr cl, int encoding, int x, int y, int w, int h)
{
	uint8_t buf[sz_rfbFramebufferUpdateMsg + sz_rfbFramebufferUpdateRectHeader] = {
		rfbFramebufferUpdate, 0, 0, 1}; /* one rectangle */

	put_be16(buf + 4, x);
	put_be16(buf + 6, y);
	put_be16(buf + 8, w);
	put_be16(buf + 10, h);
	put_be16(buf + 12, (uint32_t)encoding >> 16);
	put_be16(buf + 14, (uint32_t)encoding & 0xffff);
	if (cl->sock != RFB_INVALID_SOCKET && rfbWriteExact(cl, (char *)buf, sizeof(buf)) < 0)
		rfbCloseClient(cl);
}

/* Tell a client that speaks the pointer type change whether the guest
 * takes absolute positions now (a tablet) or only motion (a PS/2 mouse). */
static void vnc_tell_pointer_type(VncClient *c)
{
	HgVnc *v = c->vnc;
	int absolute;

	if (!c->pointer_type_change || c->rfb->state != RFB_NORMAL)
		return;
	absolute = hg_input_has_absolute(v->input);
	if (absolute == c->told_absolute)
		return;
	c->told_absolute = absolute;
	vnc_send_pseudo_rect(c->rfb, VNC_ENCODING_QEMU_POINTER_TYPE_CHANGE, absolute, 0, v->width,
			     v->height);
}

static void vnc_ptr_event(int mask, int x, int y, rfbClientPtr cl)
{
	VncClient *c = cl->clientData;
	HgVnc *v;
	int pressed, wheel;
	uint32_t buttons;

	if (!c)
		return;
	v = c->vnc;
	/* Buttons 4 and 5 are the wheel: a press is one notch. */
	pressed = mask & ~c->buttons;
	wheel = (pressed & RFB_BUTTON_WHEEL_UP ? 1 : 0) - (pressed & RFB_BUTTON_WHEEL_DOWN ? 1 : 0);
	buttons = mask & RFB_BUTTONS_LEFT_MIDDLE_RIGHT;
	c->buttons = mask;
	if (c->pointer_type_change && c->told_absolute == 0) {
		hg_input_pointer_rel(v->input, x - 0x7fff, y - 0x7fff, wheel, buttons);
	} else {
		c->last_x = x;
		c->last_y = y;
		hg_input_pointer_abs(v->input, x, y, v->width, v->height, wheel, buttons);
	}
	vnc_tell_pointer_type(c);
}

static rfbBool vnc_extension_new_client(rfbClientPtr cl, void **data)
{
	return TRUE; /* enabled for every client: it handles message 255 */
}

static rfbBool vnc_extension_enable_encoding(rfbClientPtr cl, void **data, int encoding)
{
	VncClient *c = cl->clientData;

	if (!c)
		return FALSE;
	switch (encoding) {
	case VNC_ENCODING_QEMU_EXTENDED_KEY_EVENT:
		/* The client may send extended key events once it sees this. */
		vnc_send_pseudo_rect(cl, encoding, 0, 0, c->vnc->width, c->vnc->height);
		return TRUE;
	case VNC_ENCODING_QEMU_POINTER_TYPE_CHANGE:
		c->pointer_type_change = true;
		c->told_absolute = -1;
		vnc_tell_pointer_type(c);
		return TRUE;
	default:
		return FALSE;
	}
}

static rfbBool vnc_extension_handle_message(rfbClientPtr cl, void *data,
					    const rfbClientToServerMsg *message)
{
	VncClient *c = cl->clientData;
	uint8_t buf[11]; /* after the type: subtype, down, keysym, keycode */

	if (message->type != VNC_MESSAGE_QEMU)
		return FALSE;
	if (rfbReadExact(cl, (char *)buf, sizeof(buf)) <= 0 ||
	    buf[0] != VNC_QEMU_EXTENDED_KEY_EVENT || !c) {
		rfbCloseClient(cl);
		return TRUE;
	}
	vnc_extended_key_event(c, (buf[1] << 8 | buf[2]) != 0,
			       (uint32_t)buf[3] << 24 | buf[4] << 16 | buf[5] << 8 | buf[6],
			       (uint32_t)buf[7] << 24 | buf[8] << 16 | buf[9] << 8 | buf[10]);
	return TRUE;
}

/* libvncserver frees the client after this: release what it held, so that
 * no key stays down in the guest. */
static void vnc_client_gone(rfbClientPtr cl)
{
	VncClient *c = cl->clientData;
	HgVnc *v;

	if (!c)
		return;
	v = c->vnc;
	for (unsigned q = 1; q <= 0xff && !v->stopping; q++)
		vnc_key(c, q, false);
	if ((c->buttons & RFB_BUTTONS_LEFT_MIDDLE_RIGHT) && !v->stopping) {
		if (c->pointer_type_change && c->told_absolute == 0)
			hg_input_pointer_rel(v->input, 0, 0, 0, 0);
		else
			hg_input_pointer_abs(v->input, c->last_x, c->last_y, v->width, v->height, 0,
					     0);
	}
	if (c->watch) {
		g_source_destroy(c->watch);
		g_source_unref(c->watch);
	}
	/* libvncserver 0.9.14 forgets the list of enabled extensions. */
	while (cl->extensions) {
		rfbExtensionData *e = cl->extensions;
		cl->extensions = e->next;
		free(e->data);
		free(e);
	}
	g_debug("vnc: %s client gone", vnc_conn_kind(c->conn));
	v->clients = g_list_remove(v->clients, c);
	vnc_conn_unref(c->conn);
	cl->clientData = NULL;
	g_free(c);
}

/* libvncserver closes a client's socket where it finds an error; free
 * those before the main loop polls again. */
static void vnc_sweep(HgVnc *v)
{
	for (GList *l = v->clients; l;) {
		VncClient *c = l->data;
		l = l->next;
		if (c->rfb->sock == RFB_INVALID_SOCKET)
			rfbClientConnectionGone(c->rfb);
	}
}

/* Send what changed, if the client asked and took the last update: a
 * client that reads slowly gets fewer, larger updates. */
static void vnc_update_client(VncClient *c)
{
	if (c->rfb->sock == RFB_INVALID_SOCKET || c->rfb->state != RFB_NORMAL)
		return;
	vnc_tell_pointer_type(c);
	if (c->rfb->sock == RFB_INVALID_SOCKET || !vnc_conn_output_drained(c->conn, c->rfb->sock))
		return;
	rfbUpdateClient(c->rfb);
}

static void vnc_update_all(HgVnc *v)
{
	for (GList *l = v->clients; l; l = l->next)
		vnc_update_client(l->data);
}

static gboolean vnc_client_readable(int fd, GIOCondition condition, gpointer data)
{
	VncClient *c = data;
	HgVnc *v = c->vnc;

	for (int i = 0; i < VNC_MESSAGES_PER_WAKEUP; i++) {
		int avail = 0;
		rfbProcessClientMessage(c->rfb);
		if (c->rfb->sock == RFB_INVALID_SOCKET || ioctl(fd, FIONREAD, &avail) < 0 ||
		    avail <= 0)
			break;
	}
	vnc_update_client(c);
	vnc_sweep(v); /* may free c and this source */
	return G_SOURCE_CONTINUE;
}

static void vnc_client_attach(HgVnc *v, VncConn *conn)
{
	int fd = vnc_conn_lib_fd(conn);
	rfbClientPtr cl = rfbNewClient(v->screen, fd);
	VncClient *c;

	if (!cl) { /* libvncserver closed the socket */
		vnc_conn_unref(conn);
		return;
	}
	c = g_new0(VncClient, 1);
	c->vnc = v;
	c->conn = conn;
	c->rfb = cl;
	c->told_absolute = -1;
	cl->clientData = c;
	cl->clientGoneHook = vnc_client_gone;
	c->watch = g_unix_fd_source_new(fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(c->watch, G_SOURCE_FUNC(vnc_client_readable), c, NULL);
	g_source_attach(c->watch, v->context);
	v->clients = g_list_prepend(v->clients, c);
	g_debug("vnc: %s client attached", vnc_conn_kind(conn));
}

/* The relay thread has new clients or drained output for us. */
static gboolean vnc_wake_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
	HgVnc *v = ((WakeSource *)source)->vnc;
	VncConn *conn;

	g_source_set_ready_time(source, -1);
	while ((conn = vnc_network_pop_ready(v->net)))
		vnc_client_attach(v, conn);
	for (GList *l = v->clients; l; l = l->next) {
		VncClient *c = l->data;
		if (vnc_conn_take_wakeup(c->conn))
			vnc_update_client(c);
	}
	if (g_atomic_int_compare_and_exchange(&v->absolute_changed, 1, 0))
		for (GList *l = v->clients; l; l = l->next)
			vnc_tell_pointer_type(l->data);
	vnc_sweep(v);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs vnc_wake_funcs = {
	.dispatch = vnc_wake_dispatch,
};

/* Relay thread. */
static void vnc_notify(void *opaque)
{
	HgVnc *v = opaque;

	g_mutex_lock(&v->wake_lock);
	if (v->wake)
		g_source_set_ready_time(v->wake, 0);
	g_mutex_unlock(&v->wake_lock);
}

/* The router, with device_lock held, on any thread: the guest's tablet
 * came or went.  The display thread tells the clients. */
static void vnc_absolute_changed(void *opaque, bool absolute)
{
	HgVnc *v = opaque;

	g_atomic_int_set(&v->absolute_changed, 1);
	vnc_notify(v);
}

/* ---- the guest's cursor ---- */

/* Cursor shapes go out whole from libvncserver's 32 KiB update buffer:
 * header, colours, 32-bit pixels (or the XCursor bitmap) and the mask. */
static bool vnc_cursor_fits(int width, int height)
{
	size_t bitmap = (size_t)(width + 7) / 8 * height;

	return sz_rfbFramebufferUpdateRectHeader + sz_rfbXCursorColors +
		       MAX((size_t)width * height * 4, bitmap) + bitmap <=
	       UPDATE_BUF_SIZE;
}

/* The console's ARGB image as an rfbCursor: colours in the server's
 * format (XRGB, which is the ARGB without its alpha) and a mask where the
 * alpha is at least half.  Larger cursors than fit are scaled down by a
 * whole factor.  GLib allocates with malloc(), so rfbFreeCursor may free
 * it all. */
static rfbCursorPtr vnc_cursor_new(const HgConsoleCursor *shape)
{
	rfbCursorPtr c = g_new0(rfbCursor, 1);
	int scale = 1, width, height, mask_stride;
	uint32_t *colours;

	while (!vnc_cursor_fits((shape->width + scale - 1) / scale,
				(shape->height + scale - 1) / scale))
		scale++;
	width = (shape->width + scale - 1) / scale;
	height = (shape->height + scale - 1) / scale;
	mask_stride = (width + 7) / 8;
	c->cleanup = c->cleanupRichSource = c->cleanupMask = TRUE;
	c->width = width;
	c->height = height;
	c->xhot = shape->hot_x / scale;
	c->yhot = shape->hot_y / scale;
	colours = g_new0(uint32_t, (size_t)width * height);
	c->richSource = (unsigned char *)colours;
	c->mask = g_malloc0((size_t)mask_stride * height);
	for (int y = 0; y < height; y++) {
		for (int x = 0; x < width; x++) {
			uint32_t argb = shape->pixels[(size_t)y * scale * shape->width + x * scale];
			colours[(size_t)y * width + x] = argb & 0xffffff;
			if (argb >> 24 >= 0x80)
				c->mask[y * mask_stride + x / 8] |= 0x80 >> (x & 7);
		}
	}
	return c;
}

static rfbCursorPtr vnc_get_cursor(rfbClientPtr cl)
{
	HgVnc *v = cl->screen->screenData;

	return v->cursor_visible ? v->cursor : NULL;
}

/* PointerPos carries unsigned 16-bit coordinates on the screen. */
static void vnc_place_cursor(HgVnc *v)
{
	rfbScreenInfoPtr s = v->screen;

	s->cursorX = CLAMP(v->cursor_x, 0, v->width - 1);
	s->cursorY = CLAMP(v->cursor_y, 0, v->height - 1);
	for (GList *l = v->clients; l; l = l->next) {
		rfbClientPtr cl = ((VncClient *)l->data)->rfb;
		cl->cursorWasMoved = TRUE;
		/* libvncserver would otherwise send a client without cursor
		 * shapes an empty update, to move a cursor it never paints. */
		if (!cl->enableCursorShapeUpdates) {
			cl->cursorX = s->cursorX;
			cl->cursorY = s->cursorY;
		}
	}
}

/* Take the console's cursor; libvncserver sends what changed with the
 * clients' next updates. */
static void vnc_take_cursor(HgVnc *v)
{
	g_autofree HgConsoleCursor *shape = hg_console_cursor(v->console, v->cursor_serial);
	bool changed = shape->has_pixels || shape->visible != v->cursor_visible;

	if (shape->has_pixels) {
		if (v->cursor)
			rfbFreeCursor(v->cursor);
		v->cursor = shape->defined ? vnc_cursor_new(shape) : NULL;
		v->cursor_serial = shape->serial;
	}
	v->cursor_visible = shape->visible;
	if (changed)
		for (GList *l = v->clients; l; l = l->next)
			((VncClient *)l->data)->rfb->cursorWasChanged = TRUE;
	if (shape->x != v->cursor_x || shape->y != v->cursor_y) {
		v->cursor_x = shape->x;
		v->cursor_y = shape->y;
		vnc_place_cursor(v);
	}
}

/* ---- the screen ---- */

/* The console's XRGB8888, little-endian: blue in the low byte.
 * libvncserver resets the format in rfbNewFramebuffer; it is set again
 * there through setTranslateFunction and after. */
static void vnc_set_server_format(rfbScreenInfoPtr s)
{
	s->serverFormat.bitsPerPixel = 32;
	s->serverFormat.depth = 24;
	s->serverFormat.bigEndian = FALSE;
	s->serverFormat.trueColour = TRUE;
	s->serverFormat.redMax = 255;
	s->serverFormat.greenMax = 255;
	s->serverFormat.blueMax = 255;
	s->serverFormat.redShift = 16;
	s->serverFormat.greenShift = 8;
	s->serverFormat.blueShift = 0;
}

static rfbBool vnc_set_translate_function(rfbClientPtr cl)
{
	vnc_set_server_format(cl->screen);
	return rfbSetTranslateFunction(cl);
}

/* Copy rectangles of the console into the shadow, clipped to both. */
static void vnc_copy_from_console(HgVnc *v, const HgRect *rects, unsigned n_rects)
{
	int cw, ch, stride, w, h;
	const uint8_t *pixels;

	hg_console_lock(v->console);
	pixels = (const uint8_t *)hg_console_pixels(v->console, &cw, &ch, &stride);
	w = MIN(cw, v->width);
	h = MIN(ch, v->height);
	for (unsigned i = 0; i < n_rects; i++) {
		int x0 = CLAMP(rects[i].x, 0, w), y0 = CLAMP(rects[i].y, 0, h);
		int x1 = CLAMP(rects[i].x + rects[i].width, x0, w);
		int y1 = CLAMP(rects[i].y + rects[i].height, y0, h);
		for (int y = y0; y < y1; y++)
			memcpy(v->shadow + (size_t)y * v->width + x0,
			       pixels + (size_t)y * stride + (size_t)x0 * 4, (size_t)(x1 - x0) * 4);
	}
	hg_console_unlock(v->console);
}

static void vnc_console_updated(void *opaque, const HgRect *rects, unsigned n_rects)
{
	HgVnc *v = opaque;

	vnc_copy_from_console(v, rects, n_rects);
	for (unsigned i = 0; i < n_rects; i++) /* corners, the second exclusive */
		rfbMarkRectAsModified(v->screen, rects[i].x, rects[i].y,
				      rects[i].x + rects[i].width, rects[i].y + rects[i].height);
	vnc_update_all(v);
	vnc_sweep(v);
}

static void vnc_console_resized(void *opaque, int width, int height)
{
	HgVnc *v = opaque;
	uint32_t *old = v->shadow;

	v->shadow = g_malloc0((size_t)width * height * 4);
	v->width = width;
	v->height = height;
	vnc_copy_from_console(v, &(HgRect){0, 0, width, height}, 1);
	/* Clients that announced DesktopSize or ExtendedDesktopSize get the
	 * new size first; the others keep theirs and see the part that fits. */
	rfbNewFramebuffer(v->screen, (char *)v->shadow, width, height, 8, 3, 4);
	vnc_set_server_format(v->screen);
	g_free(old);
	vnc_place_cursor(v); /* inside the new size */
	vnc_network_set_output_limit(v->net, (size_t)width * height * 4 * 2 + (4u << 20));
	vnc_update_all(v);
	vnc_sweep(v);
}

static void vnc_console_cursor_changed(void *opaque)
{
	HgVnc *v = opaque;

	vnc_take_cursor(v);
	vnc_update_all(v);
	vnc_sweep(v);
}

static const HgConsoleListener vnc_console_listener = {
	.resized = vnc_console_resized,
	.updated = vnc_console_updated,
	.cursor_changed = vnc_console_cursor_changed,
};

static void vnc_start(HgVnc *v)
{
	int argc = 0;
	rfbScreenInfoPtr s;

	hg_console_size(v->console, &v->width, &v->height);
	v->shadow = g_malloc0((size_t)v->width * v->height * 4);
	s = rfbGetScreen(&argc, NULL, v->width, v->height, 8, 3, 4);
	s->screenData = v;
	s->frameBuffer = (char *)v->shadow;
	s->desktopName = v->name;
	s->alwaysShared = TRUE; /* a new client never disconnects the others */
	s->cursor = NULL; /* none painted into the picture (see the top) */
	s->getCursorPtr = vnc_get_cursor;
	s->port = s->ipv6port = 0; /* the network side listens, not libvncserver */
	s->deferUpdateTime = 0; /* the console's refresh already batches changes */
	s->maxClientWait = VNC_LIBRARY_WAIT_MS;
	s->kbdAddEvent = vnc_kbd_event;
	s->ptrAddEvent = vnc_ptr_event;
	s->setTranslateFunction = vnc_set_translate_function;
	vnc_set_server_format(s);
	v->screen = s;
	vnc_copy_from_console(v, &(HgRect){0, 0, v->width, v->height}, 1);
	vnc_take_cursor(v);
	vnc_network_set_output_limit(v->net, (size_t)v->width * v->height * 4 * 2 + (4u << 20));

	GSource *wake = g_source_new(&vnc_wake_funcs, sizeof(WakeSource));
	((WakeSource *)wake)->vnc = v;
	g_source_attach(wake, v->context);
	g_mutex_lock(&v->wake_lock);
	v->wake = wake;
	g_source_set_ready_time(wake, 0); /* clients that came in meanwhile */
	g_mutex_unlock(&v->wake_lock);
	hg_console_add_listener(v->console, &vnc_console_listener, v);
	hg_input_add_absolute_listener(v->input, vnc_absolute_changed, v);
}

static void vnc_stop(HgVnc *v)
{
	GSource *wake;

	hg_input_remove_absolute_listener(v->input, v);
	hg_console_remove_listener(v->console, v);
	v->stopping = true;
	g_mutex_lock(&v->wake_lock);
	wake = v->wake;
	v->wake = NULL;
	g_mutex_unlock(&v->wake_lock);
	g_source_destroy(wake);
	g_source_unref(wake);
	while (v->clients) {
		VncClient *c = v->clients->data;
		rfbCloseClient(c->rfb);
		rfbClientConnectionGone(c->rfb);
	}
	rfbScreenCleanup(v->screen);
	v->screen = NULL;
	if (v->cursor)
		rfbFreeCursor(v->cursor);
	v->cursor = NULL;
	g_free(v->shadow);
	v->shadow = NULL;
}

HgVnc *hg_vnc_new(HgConsole *console, HgInput *input, const HgVncConfig *config, GError **error)
{
	HgVnc *v;

	if (config->tcp_host && (!config->password || !*config->password)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "VNC over TCP needs a password");
		return NULL;
	}
	vnc_library_init();
	v = g_new0(HgVnc, 1);
	v->console = console;
	v->input = input;
	v->context = hg_console_context(console);
	v->name = g_strdup(config->name ? config->name : "Hangar");
	g_mutex_init(&v->wake_lock);
	VncNetworkConfig nc = {
		.unix_path = config->unix_path,
		.tcp_host = config->tcp_host,
		.tcp_port = config->tcp_port,
		.password = config->password,
		.notify = vnc_notify,
		.opaque = v,
	};
	v->net = vnc_network_new(&nc, error);
	if (!v->net) {
		g_mutex_clear(&v->wake_lock);
		g_free(v->name);
		g_free(v);
		return NULL;
	}
	vnc_on_display_thread(v, vnc_start);
	return v;
}

void hg_vnc_free(HgVnc *v)
{
	if (!v)
		return;
	/* libvncserver's ends close first: the relay then sees them go. */
	vnc_on_display_thread(v, vnc_stop);
	vnc_network_free(v->net);
	g_mutex_clear(&v->wake_lock);
	g_free(v->name);
	g_free(v);
}

bool hg_vnc_add_client(HgVnc *v, int fd, GError **error)
{
	return vnc_network_add_client(v->net, fd, error);
}

bool hg_vnc_parse_address(const char *text, char **host, int *port, GError **error)
{
	g_autofree char *h = NULL;
	const char *port_text;
	guint64 p;

	if (text[0] == '[') { /* [V6ADDR]:PORT */
		const char *end = strchr(text, ']');
		if (!end || end[1] != ':')
			goto bad;
		h = g_strndup(text + 1, end - text - 1);
		port_text = end + 2;
	} else if (strrchr(text, ':')) {
		const char *colon = strrchr(text, ':');
		h = g_strndup(text, colon - text);
		port_text = colon + 1;
	} else {
		port_text = text;
	}
	if (!h || !*h) { /* only a port: loopback */
		g_free(h);
		h = g_strdup("127.0.0.1");
	}
	if (!g_ascii_string_to_unsigned(port_text, 10, 1, 65535, &p, NULL))
		goto bad;
	*host = g_steal_pointer(&h);
	*port = (int)p;
	return true;
bad:
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		    "\"%s\" is not [HOST:]PORT (a port from 1 to 65535)", text);
	return false;
}

char *hg_vnc_read_password(const char *path, GError **error)
{
	g_autofree char *contents = NULL;
	char *password;

	if (!g_file_get_contents(path, &contents, NULL, error))
		return NULL;
	password = g_strndup(contents, strcspn(contents, "\r\n"));
	if (!*password) {
		g_free(password);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the password file %s starts with an empty line", path);
		return NULL;
	}
	if (strlen(password) > 8)
		g_message("vnc: VNC authentication uses the first 8 characters of the "
			  "password in %s",
			  path);
	return password;
}

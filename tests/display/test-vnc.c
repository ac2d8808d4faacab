/* The VNC server (display/vnc*.c) seen from clients: the engine runs in
 * harness mode with --vnc (and --vnc-tcp) and --test-input-log, the test
 * paints the console with console_fill/console_resize and talks RFB to it
 * with a small client of its own (RFC 6143, 32-bit XRGB pixels, Raw
 * encoding, the Cursor and PointerPos pseudo-encodings, the QEMU
 * extensions), drives a guest cursor with console_cursor, and gvnccapture (package gvncviewer; it
 * needs no X display) captures the screen over TCP with a password.
 *
 * Waits are bounded polls, never fixed sleeps, except where the test must
 * show that nothing arrives. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <png.h>
#include <poll.h>
#include <rfb/rfbproto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/harness/pci.h"

#define WAIT_MS 10000
#define ABS_MAX 0x7fff
#define PASSWORD "secret"

#define ENCODING_RAW 0
#define ENCODING_DESKTOP_SIZE (-223)
#define ENCODING_EXT_DESKTOP_SIZE (-308)
#define ENCODING_QEMU_POINTER_TYPE_CHANGE (-257)
#define ENCODING_QEMU_EXTENDED_KEY_EVENT (-258)
#define ENCODING_CURSOR (-239) /* RFC 6143 7.8.1: RichCursor */
#define ENCODING_POINTER_POS (-232)

/* QEMU's pointer type change: relative events are 0x7fff + delta. */
#define POINTER_REL_ZERO 0x7fff

/* The virtio tablet (00:11.0) and the bits of its common configuration
 * (virtio 1.2, 4.1.4.3) that make its driver ready. */
#define TABLET_DEVFN (0x11 << 3)
#define TABLET_BAR0 0xe0020000u
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_STATUS 0x14
#define S_ACK 0x01
#define S_DRIVER 0x02
#define S_DRIVER_OK 0x04
#define S_FEATURES_OK 0x08

#define KEYSYM_SHIFT_L 0xffe1
#define KEYSYM_F1 0xffbe
#define KEYSYM_UP 0xff52
#define KEYSYM_KP_ENTER 0xff8d

/* ---- a small RFB client ---- */

typedef struct {
	int x, y, w, h;
	int32_t encoding;
} Rect;

typedef struct {
	int fd;
	int width, height;
	char *name;
	uint32_t *fb; /* what the server sent, XRGB */
	GArray *rects; /* Rect: the last update's */
	/* The last Cursor pseudo-rectangle (x, y: the hot spot), its XRGB
	 * pixels and its mask (a bit a pixel, rows padded to bytes). */
	Rect cursor;
	uint32_t *cursor_pixels;
	uint8_t *cursor_mask;
	unsigned cursor_shapes, pointer_moves; /* how many came */
	int pointer_x, pointer_y; /* the last PointerPos */
} Rfb;

static void rfb_read(Rfb *c, void *buf, size_t len)
{
	g_assert_cmpuint(hg_test_read_fd(c->fd, buf, len, WAIT_MS), ==, len);
}

static void rfb_write(Rfb *c, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(c->fd, p, len);
		g_assert_cmpint(n, >, 0);
		p += n;
		len -= n;
	}
}

static uint32_t rfb_read_u32(Rfb *c)
{
	uint8_t b[4];
	rfb_read(c, b, 4);
	return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

static uint16_t rfb_read_u16(Rfb *c)
{
	uint8_t b[2];
	rfb_read(c, b, 2);
	return b[0] << 8 | b[1];
}

/* Whether the server closed the connection within timeout_ms (reading
 * and dropping what it sent before). */
static bool rfb_closed_within(Rfb *c, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	char buf[65536];

	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
	}
}

static Rfb *rfb_new(int fd)
{
	Rfb *c = g_new0(Rfb, 1);
	c->fd = fd;
	c->rects = g_array_new(FALSE, FALSE, sizeof(Rect));
	return c;
}

static void rfb_free(Rfb *c)
{
	if (!c)
		return;
	close(c->fd);
	g_array_unref(c->rects);
	g_free(c->cursor_pixels);
	g_free(c->cursor_mask);
	g_free(c->fb);
	g_free(c->name);
	g_free(c);
}

static void rfb_resize(Rfb *c, int width, int height)
{
	c->width = width;
	c->height = height;
	g_free(c->fb);
	c->fb = g_new0(uint32_t, (size_t)width * height);
}

/* The security types the server offers (RFB 3.8). */
static GBytes *rfb_start(Rfb *c)
{
	char version[13] = {0};
	uint8_t n;

	rfb_read(c, version, 12);
	g_assert_cmpstr(version, ==, "RFB 003.008\n");
	rfb_write(c, "RFB 003.008\n", 12);
	rfb_read(c, &n, 1);
	g_assert_cmpuint(n, >, 0);
	uint8_t *types = g_malloc(n);
	rfb_read(c, types, n);
	return g_bytes_new_take(types, n);
}

static void rfb_init(Rfb *c)
{
	uint8_t shared = 1, format[16];

	rfb_write(c, &shared, 1);
	int width = rfb_read_u16(c);
	int height = rfb_read_u16(c);
	rfb_read(c, format, sizeof(format));
	uint32_t len = rfb_read_u32(c);
	g_assert_cmpuint(len, <, 1024);
	c->name = g_malloc0(len + 1);
	rfb_read(c, c->name, len);
	rfb_resize(c, width, height);
}

static Rfb *rfb_connect_unix(const char *path)
{
	Rfb *c = rfb_new(hg_test_connect_unix(path));
	g_autoptr(GBytes) types = rfb_start(c);
	uint8_t none = 1;

	g_assert_cmpuint(g_bytes_get_size(types), ==, 1);
	g_assert_cmpuint(((const uint8_t *)g_bytes_get_data(types, NULL))[0], ==, 1);
	rfb_write(c, &none, 1);
	g_assert_cmpuint(rfb_read_u32(c), ==, 0); /* SecurityResult OK */
	rfb_init(c);
	return c;
}

static int connect_tcp(int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	for (int tries = 0; tries < 3000; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		g_assert_cmpint(fd, >=, 0);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		close(fd);
		g_usleep(10000);
	}
	g_error("cannot connect to port %d", port);
	return -1;
}

/* VNC authentication: the SecurityResult (0 = accepted). */
static uint32_t rfb_authenticate(Rfb *c, const char *password)
{
	g_autoptr(GBytes) types = rfb_start(c);
	uint8_t vnc_auth = 2, challenge[16];
	char key[9] = {0};

	g_assert_cmpuint(g_bytes_get_size(types), ==, 1);
	g_assert_cmpuint(((const uint8_t *)g_bytes_get_data(types, NULL))[0], ==, vnc_auth);
	rfb_write(c, &vnc_auth, 1);
	rfb_read(c, challenge, sizeof(challenge));
	g_strlcpy(key, password, sizeof(key));
	rfbEncryptBytes(challenge, key);
	rfb_write(c, challenge, sizeof(challenge));
	return rfb_read_u32(c);
}

static void rfb_set_pixel_format_xrgb(Rfb *c)
{
	const uint8_t msg[20] = {
		0,  0,	 0, 0, /* SetPixelFormat */
		32, 24,	 0, 1, /* bpp, depth, little-endian, true colour */
		0,  255, 0, 255, 0, 255, /* red, green, blue max */
		16, 8,	 0, /* shifts */
		0,  0,	 0,
	};
	rfb_write(c, msg, sizeof(msg));
}

static void rfb_set_encodings(Rfb *c, const int32_t *encodings, unsigned n)
{
	uint8_t head[4] = {2, 0, n >> 8, n};
	rfb_write(c, head, sizeof(head));
	for (unsigned i = 0; i < n; i++) {
		uint32_t be = GUINT32_TO_BE((uint32_t)encodings[i]);
		rfb_write(c, &be, 4);
	}
}

static void rfb_request(Rfb *c, bool incremental, int x, int y, int w, int h)
{
	uint8_t msg[10] = {3, incremental, x >> 8, x, y >> 8, y, w >> 8, w, h >> 8, h};
	rfb_write(c, msg, sizeof(msg));
}

static void rfb_request_all(Rfb *c, bool incremental)
{
	rfb_request(c, incremental, 0, 0, c->width, c->height);
}

static void rfb_key(Rfb *c, bool down, uint32_t keysym)
{
	uint8_t msg[8] = {4, down, 0, 0, keysym >> 24, keysym >> 16, keysym >> 8, keysym};
	rfb_write(c, msg, sizeof(msg));
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* QEMU's extended key event: message 255, subtype 0. */
static void rfb_qemu_key(Rfb *c, bool down, uint32_t keysym, uint32_t keycode)
{
	uint8_t msg[12] = {255, 0, 0, down};

	put_be32(msg + 4, keysym);
	put_be32(msg + 8, keycode);
	rfb_write(c, msg, sizeof(msg));
}

static void rfb_pointer(Rfb *c, int mask, int x, int y)
{
	uint8_t msg[6] = {5, mask, x >> 8, x, y >> 8, y};
	rfb_write(c, msg, sizeof(msg));
}

static void rfb_read_cursor(Rfb *c, const Rect *r)
{
	size_t pixels = (size_t)r->w * r->h, mask = (size_t)(r->w + 7) / 8 * r->h;

	g_free(c->cursor_pixels);
	g_free(c->cursor_mask);
	c->cursor_pixels = g_new0(uint32_t, pixels + 1);
	c->cursor_mask = g_malloc0(mask + 1);
	rfb_read(c, c->cursor_pixels, pixels * 4);
	rfb_read(c, c->cursor_mask, mask);
	c->cursor = *r;
	c->cursor_shapes++;
}

/* Read server messages up to the next FramebufferUpdate and apply it;
 * false if none came within timeout_ms. */
static bool rfb_read_update_within(Rfb *c, int timeout_ms)
{
	uint8_t type, pad;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	g_array_set_size(c->rects, 0);
	for (;;) {
		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		rfb_read(c, &type, 1);
		if (type == 0)
			break;
		if (type == 2) /* Bell */
			continue;
		g_assert_cmpuint(type, ==, 3); /* ServerCutText */
		uint8_t skip[3];
		rfb_read(c, skip, 3);
		uint32_t len = rfb_read_u32(c);
		g_autofree char *text = g_malloc(len);
		rfb_read(c, text, len);
	}
	rfb_read(c, &pad, 1);
	unsigned n = rfb_read_u16(c);
	for (unsigned i = 0; i < n; i++) {
		Rect r;
		r.x = rfb_read_u16(c);
		r.y = rfb_read_u16(c);
		r.w = rfb_read_u16(c);
		r.h = rfb_read_u16(c);
		r.encoding = (int32_t)rfb_read_u32(c);
		g_array_append_val(c->rects, r);
		switch (r.encoding) {
		case ENCODING_RAW: {
			g_assert_cmpint(r.x + r.w, <=, c->width);
			g_assert_cmpint(r.y + r.h, <=, c->height);
			for (int y = r.y; y < r.y + r.h; y++)
				rfb_read(c, c->fb + (size_t)y * c->width + r.x, (size_t)r.w * 4);
			break;
		}
		case ENCODING_DESKTOP_SIZE:
			rfb_resize(c, r.w, r.h);
			break;
		case ENCODING_EXT_DESKTOP_SIZE: {
			uint8_t screens[4], screen[16];
			rfb_read(c, screens, sizeof(screens));
			for (unsigned s = 0; s < screens[0]; s++)
				rfb_read(c, screen, sizeof(screen));
			rfb_resize(c, r.w, r.h);
			break;
		}
		case ENCODING_CURSOR:
			rfb_read_cursor(c, &r);
			break;
		case ENCODING_POINTER_POS:
			c->pointer_x = r.x;
			c->pointer_y = r.y;
			c->pointer_moves++;
			break;
		case ENCODING_QEMU_EXTENDED_KEY_EVENT:
		case ENCODING_QEMU_POINTER_TYPE_CHANGE:
			break;
		default:
			g_error("unexpected encoding %d", r.encoding);
		}
	}
	return true;
}

static void rfb_read_update(Rfb *c)
{
	g_assert_true(rfb_read_update_within(c, WAIT_MS));
}

static bool rfb_has_rect(Rfb *c, int32_t encoding, Rect *out)
{
	for (guint i = 0; i < c->rects->len; i++) {
		Rect *r = &g_array_index(c->rects, Rect, i);
		if (r->encoding == encoding) {
			if (out)
				*out = *r;
			return true;
		}
	}
	return false;
}

static bool rfb_area_is(Rfb *c, int x, int y, int w, int h, uint32_t xrgb)
{
	for (int j = y; j < y + h; j++)
		for (int i = x; i < x + w; i++)
			if ((c->fb[(size_t)j * c->width + i] & 0xffffff) != xrgb)
				return false;
	return true;
}

/* Ask for updates until the area shows the colour. */
static void rfb_wait_area(Rfb *c, int x, int y, int w, int h, uint32_t xrgb)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
	bool incremental = false;

	while (!rfb_area_is(c, x, y, w, h, xrgb)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		rfb_request_all(c, incremental);
		rfb_read_update(c);
		incremental = true;
	}
}

/* Read updates (asking for the next after each) until done(c, data). */
static void rfb_wait_for(Rfb *c, bool (*done)(Rfb *c, const void *data), const void *data)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

	while (!done(c, data)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		if (rfb_read_update_within(c, 100))
			rfb_request_all(c, true);
	}
}

/* Let changes from before (the console's first refresh) arrive, leaving
 * an incremental request outstanding. */
static void rfb_settle(Rfb *c)
{
	do
		rfb_request_all(c, true);
	while (rfb_read_update_within(c, 300));
}

/* Pixel format, encodings, the whole screen received. */
static void rfb_setup(Rfb *c, const int32_t *encodings, unsigned n)
{
	rfb_set_pixel_format_xrgb(c);
	rfb_set_encodings(c, encodings, n);
	rfb_request_all(c, false);
	rfb_read_update(c);
}

/* ---- the engine ---- */

/* The engine drops INPUT lines until it has accepted the harness client:
 * one reply says it has. */
static void wait_for_harness(HgTest *t)
{
	g_free(hg_test_request(t, "clock_get"));
}

static HgTest *start_engine(void)
{
	HgTest *t = hg_test_start("--vnc", "@DIR@/vnc.sock", "--test-input-log", NULL);
	wait_for_harness(t);
	return t;
}

static char *vnc_path(HgTest *t)
{
	return g_build_filename(hg_test_dir(t), "vnc.sock", NULL);
}

static void fill(HgTest *t, int x, int y, int w, int h, uint32_t xrgb)
{
	g_autofree char *reply =
		hg_test_request(t, "console_fill %d %d %d %d 0x%x", x, y, w, h, xrgb);
	g_assert_cmpstr(reply, ==, "OK");
}

/* Exactly these input events come next (and nothing else). */
static void expect_inputs(HgTest *t, const char *const *events)
{
	GPtrArray *inputs = hg_test_inputs(t);
	gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
	guint n = g_strv_length((char **)events);

	while (inputs->len < n) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_free(hg_test_request(t, "clock_get"));
		g_usleep(2000);
	}
	for (guint i = 0; i < n; i++)
		g_assert_cmpstr(g_ptr_array_index(inputs, i), ==, events[i]);
	g_ptr_array_remove_range(inputs, 0, n);
}

/* No input event arrives for a while. */
static void expect_no_inputs(HgTest *t)
{
	g_usleep(200000);
	g_free(hg_test_request(t, "clock_get"));
	g_assert_cmpuint(hg_test_inputs(t)->len, ==, 0);
}

/* ---- the guest's pointer devices, without --test-input-log ---- */

/* An engine whose guest has only its own devices: the PS/2 mouse, and the
 * virtio tablet, which takes absolute positions once its driver is ready. */
static HgTest *start_engine_without_input_log(void)
{
	return hg_test_start("--vnc", "@DIR@/vnc.sock", NULL);
}

/* The tablet's BAR 0 placed and its common configuration found, as a
 * guest's driver does (virtio 1.2, 4.1.4). */
static uint64_t tablet_common(HgTest *t)
{
	hg_test_pci_writel(t, TABLET_DEVFN, 0x10, TABLET_BAR0);
	hg_test_pci_writew(t, TABLET_DEVFN, 0x04, 0x0006);
	for (uint8_t p = hg_test_pci_readb(t, TABLET_DEVFN, 0x34); p;
	     p = hg_test_pci_readb(t, TABLET_DEVFN, p + 1)) {
		if (hg_test_pci_readb(t, TABLET_DEVFN, p) == 0x09 && /* vendor-specific */
		    hg_test_pci_readb(t, TABLET_DEVFN, p + 3) == 1) { /* common configuration */
			g_assert_cmpuint(hg_test_pci_readb(t, TABLET_DEVFN, p + 4), ==, 0);
			return TABLET_BAR0 + hg_test_pci_readl(t, TABLET_DEVFN, p + 8);
		}
	}
	g_assert_not_reached();
}

/* The driver negotiates VERSION_1 and says DRIVER_OK (3.1.1; queues play
 * no part in whether the router counts the tablet). */
static void tablet_driver_ready(HgTest *t, uint64_t common)
{
	hg_test_writeb(t, common + CC_STATUS, 0);
	hg_test_writeb(t, common + CC_STATUS, S_ACK | S_DRIVER);
	hg_test_writel(t, common + CC_GFSELECT, 1);
	hg_test_writel(t, common + CC_GF, 1); /* VIRTIO_F_VERSION_1, bit 32 */
	hg_test_writeb(t, common + CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	hg_test_writeb(t, common + CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	g_assert_cmphex(hg_test_readb(t, common + CC_STATUS), ==,
			S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* The driver resets its device (status 0): no tablet any more. */
static void tablet_driver_reset(HgTest *t, uint64_t common)
{
	hg_test_writeb(t, common + CC_STATUS, 0);
	g_assert_cmphex(hg_test_readb(t, common + CC_STATUS), ==, 0);
}

/* The PS/2 mouse reports (0xD4: to the mouse; 0xF4: enable). */
static void ps2_mouse_enable(HgTest *t)
{
	hg_test_outb(t, 0x64, 0xd4);
	hg_test_outb(t, 0x60, 0xf4);
	g_assert_cmphex(hg_test_inb(t, 0x60), ==, 0xfa);
}

/* The next 3-byte PS/2 mouse packet, waited for (status: output full from
 * the auxiliary device). */
static void ps2_mouse_packet(HgTest *t, uint8_t packet[3])
{
	gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;

	for (int i = 0; i < 3; i++) {
		while ((hg_test_inb(t, 0x64) & 0x21) != 0x21) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(2000);
		}
		packet[i] = hg_test_inb(t, 0x60);
	}
}

static void expect_ps2_packet(HgTest *t, uint8_t b0, uint8_t b1, uint8_t b2)
{
	uint8_t p[3];

	ps2_mouse_packet(t, p);
	g_assert_cmphex(p[0], ==, b0);
	g_assert_cmphex(p[1], ==, b1);
	g_assert_cmphex(p[2], ==, b2);
}

/* The next server message is a FramebufferUpdate with just the pointer
 * type change; its x (1 absolute, 0 relative). */
static int rfb_read_pointer_type(Rfb *c)
{
	Rect r = {0};

	rfb_read_update(c);
	g_assert_cmpuint(c->rects->len, ==, 1);
	g_assert_true(rfb_has_rect(c, ENCODING_QEMU_POINTER_TYPE_CHANGE, &r));
	g_assert_cmpint(r.y, ==, 0);
	g_assert_cmpint(r.w, ==, c->width);
	g_assert_cmpint(r.h, ==, c->height);
	return r.x;
}

typedef struct {
	HgTest *t;
	char *dir; /* for the password file */
	int port;
} TcpEngine;

static TcpEngine *start_tcp_engine(void)
{
	TcpEngine *e = g_new0(TcpEngine, 1);
	g_autoptr(GError) error = NULL;

	e->dir = g_dir_make_tmp("hangar-vnc-XXXXXX", &error);
	g_assert_no_error(error);
	g_autofree char *password_file = g_build_filename(e->dir, "password", NULL);
	g_file_set_contents(password_file, PASSWORD "\n", -1, &error);
	g_assert_no_error(error);
	e->port = hg_test_free_tcp_port();
	g_autofree char *address = g_strdup_printf("127.0.0.1:%d", e->port);
	e->t = hg_test_start("--vnc", "@DIR@/vnc.sock", "--vnc-tcp", address, "--vnc-password-file",
			     password_file, "--test-input-log", NULL);
	wait_for_harness(e->t);
	return e;
}

static void tcp_engine_quit(TcpEngine *e)
{
	hg_test_quit(e->t);
	hg_test_remove_tree(e->dir);
	g_free(e->dir);
	g_free(e);
}

static const int32_t raw_only[] = {ENCODING_RAW};

/* ---- handshake and screen ---- */

static void test_unix_socket_serves_640x480_without_authentication(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);
	GStatBuf st;

	g_assert_cmpint(c->width, ==, 640);
	g_assert_cmpint(c->height, ==, 480);
	g_assert_cmpstr(c->name, ==, "Hangar");
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 0777, ==, 0600);
	rfb_free(c);
	hg_test_quit(t);
}

static void test_full_update_shows_the_painted_pixels(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	fill(t, 0, 0, 640, 480, 0x336699);
	fill(t, 10, 20, 30, 40, 0xff0000);
	rfb_setup(c, raw_only, 1);
	rfb_wait_area(c, 10, 20, 30, 40, 0xff0000);
	g_assert_true(rfb_area_is(c, 0, 0, 640, 20, 0x336699));
	g_assert_true(rfb_area_is(c, 40, 20, 600, 460, 0x336699));
	g_assert_true(rfb_area_is(c, 0, 60, 640, 420, 0x336699));
	rfb_free(c);
	hg_test_quit(t);
}

static void test_incremental_update_sends_only_the_changed_area(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);
	int area = 0;

	rfb_setup(c, raw_only, 1);
	rfb_settle(c);
	fill(t, 100, 50, 20, 10, 0x00ff00);
	rfb_read_update(c);
	g_assert_cmpuint(c->rects->len, >, 0);
	for (guint i = 0; i < c->rects->len; i++) {
		Rect *r = &g_array_index(c->rects, Rect, i);
		g_assert_cmpint(r->encoding, ==, ENCODING_RAW);
		g_assert_cmpint(r->x, >=, 100);
		g_assert_cmpint(r->y, >=, 50);
		g_assert_cmpint(r->x + r->w, <=, 120);
		g_assert_cmpint(r->y + r->h, <=, 60);
		area += r->w * r->h;
	}
	g_assert_cmpint(area, ==, 200);
	g_assert_true(rfb_area_is(c, 100, 50, 20, 10, 0x00ff00));
	rfb_free(c);
	hg_test_quit(t);
}

static void test_resize_announces_the_new_size(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *plain = rfb_connect_unix(path);
	Rfb *extended = rfb_connect_unix(path);
	const int32_t plain_encodings[] = {ENCODING_RAW, ENCODING_DESKTOP_SIZE};
	const int32_t extended_encodings[] = {ENCODING_RAW, ENCODING_EXT_DESKTOP_SIZE};
	Rect r = {0};

	rfb_setup(plain, plain_encodings, 2);
	rfb_settle(plain);
	rfb_set_pixel_format_xrgb(extended);
	rfb_set_encodings(extended, extended_encodings, 2);
	rfb_settle(extended);

	g_free(hg_test_request(t, "console_resize 800 600"));
	fill(t, 0, 0, 800, 600, 0x123456);
	rfb_read_update(plain);
	g_assert_true(rfb_has_rect(plain, ENCODING_DESKTOP_SIZE, &r));
	g_assert_cmpint(r.w, ==, 800);
	g_assert_cmpint(r.h, ==, 600);
	rfb_wait_area(plain, 0, 0, 800, 600, 0x123456);

	rfb_read_update(extended);
	g_assert_true(rfb_has_rect(extended, ENCODING_EXT_DESKTOP_SIZE, &r));
	g_assert_cmpint(r.w, ==, 800);
	g_assert_cmpint(r.h, ==, 600);
	rfb_wait_area(extended, 0, 0, 800, 600, 0x123456);
	rfb_free(plain);
	rfb_free(extended);
	hg_test_quit(t);
}

/* ---- keyboard ---- */

static void test_keysym_a_presses_scancode_0x1e(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	rfb_key(c, true, 'a');
	rfb_key(c, false, 'a');
	expect_inputs(t, (const char *[]){"key 0x1e down", "key 0x1e up", NULL});
	rfb_free(c);
	hg_test_quit(t);
}

static void test_shifted_letter_comes_from_the_clients_shift(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	rfb_key(c, true, KEYSYM_SHIFT_L);
	rfb_key(c, true, 'A');
	rfb_key(c, false, 'A');
	rfb_key(c, false, KEYSYM_SHIFT_L);
	expect_inputs(t, (const char *[]){"key 0x2a down", "key 0x1e down", "key 0x1e up",
					  "key 0x2a up", NULL});
	rfb_free(c);
	hg_test_quit(t);
}

static void test_function_arrow_and_keypad_keys_have_their_scancodes(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);
	const uint32_t keysyms[] = {KEYSYM_F1, KEYSYM_UP, KEYSYM_KP_ENTER};

	for (unsigned i = 0; i < G_N_ELEMENTS(keysyms); i++) {
		rfb_key(c, true, keysyms[i]);
		rfb_key(c, false, keysyms[i]);
	}
	expect_inputs(t, (const char *[]){"key 0x3b down", "key 0x3b up", "key 0xc8 down",
					  "key 0xc8 up", "key 0x9c down", "key 0x9c up", NULL});
	rfb_free(c);
	hg_test_quit(t);
}

static void test_symbol_sent_without_shift_gets_a_shift(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	rfb_key(c, true, '!');
	rfb_key(c, false, '!');
	expect_inputs(t, (const char *[]){"key 0x2a down", "key 0x02 down", "key 0x2a up",
					  "key 0x02 up", NULL});
	rfb_free(c);
	hg_test_quit(t);
}

static void test_unshifted_symbol_lifts_the_held_shift(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	rfb_key(c, true, KEYSYM_SHIFT_L);
	rfb_key(c, true, '/'); /* another layout's Shift+7 */
	rfb_key(c, false, '/');
	rfb_key(c, false, KEYSYM_SHIFT_L);
	expect_inputs(t, (const char *[]){"key 0x2a down", "key 0x2a up", "key 0x35 down",
					  "key 0x2a down", "key 0x35 up", "key 0x2a up", NULL});
	rfb_free(c);
	hg_test_quit(t);
}

static void test_unknown_keysym_is_dropped(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	rfb_key(c, true, 0xe9); /* eacute: no key on a US keyboard */
	rfb_key(c, false, 0xe9);
	expect_no_inputs(t);
	rfb_key(c, true, 'z');
	expect_inputs(t, (const char *[]){"key 0x2c down", NULL});
	rfb_free(c);
	hg_test_quit(t);
}

static void test_qemu_extended_key_event_passes_the_scancode(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);
	const int32_t encodings[] = {ENCODING_RAW, ENCODING_QEMU_EXTENDED_KEY_EVENT};

	rfb_set_pixel_format_xrgb(c);
	rfb_set_encodings(c, encodings, 2);
	/* The server says it understands, in a pseudo-rectangle. */
	rfb_read_update(c);
	g_assert_true(rfb_has_rect(c, ENCODING_QEMU_EXTENDED_KEY_EVENT, NULL));

	rfb_qemu_key(c, true, 'a', 0x1e);
	rfb_qemu_key(c, false, 'a', 0x1e);
	/* The scancode wins over the keysym: a French 'a' key sends 'q'. */
	rfb_qemu_key(c, true, 'q', 0x1e);
	rfb_qemu_key(c, false, 'q', 0x1e);
	rfb_qemu_key(c, true, KEYSYM_UP, 0xc8); /* E0 48 */
	rfb_qemu_key(c, false, KEYSYM_UP, 0xc8);
	rfb_qemu_key(c, true, 'b', 0); /* no scancode: the keysym */
	rfb_qemu_key(c, false, 'b', 0);
	expect_inputs(t, (const char *[]){"key 0x1e down", "key 0x1e up", "key 0x1e down",
					  "key 0x1e up", "key 0xc8 down", "key 0xc8 up",
					  "key 0x30 down", "key 0x30 up", NULL});
	rfb_free(c);
	hg_test_quit(t);
}

static void test_a_client_that_leaves_releases_its_keys(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	rfb_key(c, true, 'a');
	expect_inputs(t, (const char *[]){"key 0x1e down", NULL});
	rfb_free(c);
	expect_inputs(t, (const char *[]){"key 0x1e up", NULL});
	hg_test_quit(t);
}

/* ---- pointer ---- */

static void test_pointer_position_and_buttons_reach_the_guest(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);
	g_autofree char *center =
		g_strdup_printf("abs %d %d", 320 * ABS_MAX / 639, 240 * ABS_MAX / 479);
	g_autofree char *corner = g_strdup_printf("abs %d %d", ABS_MAX, ABS_MAX);

	rfb_pointer(c, 1, 320, 240); /* left */
	rfb_pointer(c, 0, 320, 240);
	rfb_pointer(c, 2, 639, 479); /* middle */
	rfb_pointer(c, 4, 639, 479); /* right */
	rfb_pointer(c, 0, 639, 479);
	expect_inputs(t, (const char *[]){center, "buttons 0x1", center, "buttons 0x0", corner,
					  "buttons 0x2", corner, "buttons 0x4", corner,
					  "buttons 0x0", NULL});
	rfb_free(c);
	hg_test_quit(t);
}

static void test_buttons_4_and_5_turn_the_wheel(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	rfb_pointer(c, 8, 10, 10); /* press: one notch away from the user */
	expect_inputs(t, (const char *[]){"rel 0 0 1", "abs 512 684", "buttons 0x0", NULL});
	rfb_pointer(c, 0, 10, 10); /* release: no notch */
	expect_inputs(t, (const char *[]){"abs 512 684", "buttons 0x0", NULL});
	rfb_pointer(c, 16, 10, 10);
	expect_inputs(t, (const char *[]){"rel 0 0 -1", "abs 512 684", "buttons 0x0", NULL});
	rfb_pointer(c, 0, 10, 10);
	expect_inputs(t, (const char *[]){"abs 512 684", "buttons 0x0", NULL});
	rfb_free(c);
	hg_test_quit(t);
}

static void test_pointer_type_change_says_absolute_with_a_tablet(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);
	const int32_t encodings[] = {ENCODING_RAW, ENCODING_QEMU_POINTER_TYPE_CHANGE};
	Rect r = {0};

	rfb_set_pixel_format_xrgb(c);
	rfb_set_encodings(c, encodings, 2);
	rfb_read_update(c);
	/* The harness's input log takes absolute positions, as a tablet. */
	g_assert_true(rfb_has_rect(c, ENCODING_QEMU_POINTER_TYPE_CHANGE, &r));
	g_assert_cmpint(r.x, ==, 1);
	rfb_free(c);
	hg_test_quit(t);
}

static const int32_t pointer_type_change[] = {ENCODING_RAW, ENCODING_QEMU_POINTER_TYPE_CHANGE};

/* No tablet driver yet: relative, and the client's 0x7fff + delta events
 * move the PS/2 mouse by delta. */
static void test_pointer_type_change_says_relative_without_a_tablet_driver(void)
{
	HgTest *t = start_engine_without_input_log();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	ps2_mouse_enable(t);
	rfb_set_pixel_format_xrgb(c);
	rfb_set_encodings(c, pointer_type_change, G_N_ELEMENTS(pointer_type_change));
	g_assert_cmpint(rfb_read_pointer_type(c), ==, 0);

	rfb_pointer(c, 0, POINTER_REL_ZERO + 5, POINTER_REL_ZERO - 3); /* right 5, up 3 */
	expect_ps2_packet(t, 0x08, 5, 3); /* PS/2 y grows upwards */
	rfb_pointer(c, 1, POINTER_REL_ZERO, POINTER_REL_ZERO); /* left down, no motion */
	expect_ps2_packet(t, 0x09, 0, 0);
	rfb_pointer(c, 0, POINTER_REL_ZERO - 2, POINTER_REL_ZERO); /* up, left 2 */
	expect_ps2_packet(t, 0x18, 0xfe, 0);
	/* Nothing more came: the position never counted as absolute. */
	g_usleep(100000);
	g_assert_cmphex(hg_test_inb(t, 0x64) & 0x01, ==, 0);
	rfb_free(c);
	hg_test_quit(t);
}

/* The guest's tablet driver is ready before the client comes: absolute. */
static void test_pointer_type_change_says_absolute_with_a_ready_tablet(void)
{
	HgTest *t = start_engine_without_input_log();
	g_autofree char *path = vnc_path(t);
	Rfb *c;

	tablet_driver_ready(t, tablet_common(t));
	c = rfb_connect_unix(path);
	rfb_set_pixel_format_xrgb(c);
	rfb_set_encodings(c, pointer_type_change, G_N_ELEMENTS(pointer_type_change));
	g_assert_cmpint(rfb_read_pointer_type(c), ==, 1);
	rfb_free(c);
	hg_test_quit(t);
}

/* The tablet's driver comes and goes while the client is connected and
 * silent: the client hears each change, once, from the input router (an
 * event another source sends) or with the next screen update; a client
 * that did not ask hears nothing. */
static void test_pointer_type_change_follows_the_tablet_driver(void)
{
	HgTest *t = start_engine_without_input_log();
	g_autofree char *path = vnc_path(t);
	uint64_t common = tablet_common(t);
	Rfb *c = rfb_connect_unix(path);
	Rfb *plain = rfb_connect_unix(path);
	g_autofree char *reply = NULL;

	rfb_setup(plain, raw_only, 1); /* no request left outstanding */
	rfb_set_pixel_format_xrgb(c);
	rfb_set_encodings(c, pointer_type_change, G_N_ELEMENTS(pointer_type_change));
	g_assert_cmpint(rfb_read_pointer_type(c), ==, 0);
	/* The server is idle: what comes next is the router's doing. */
	g_assert_false(rfb_read_update_within(c, 300));

	tablet_driver_ready(t, common);
	reply = hg_test_request(t, "input_abs 10 10 0");
	g_assert_cmpstr(reply, ==, "OK");
	g_assert_cmpint(rfb_read_pointer_type(c), ==, 1);

	tablet_driver_reset(t, common);
	fill(t, 0, 0, 4, 4, 0x123456);
	g_assert_cmpint(rfb_read_pointer_type(c), ==, 0);

	/* Each change once, and nothing to the client that did not ask. */
	g_assert_false(rfb_read_update_within(c, 300));
	g_assert_false(rfb_read_update_within(plain, 0));
	/* Still relative for c: a position far off the screen is motion. */
	ps2_mouse_enable(t);
	rfb_pointer(c, 0, POINTER_REL_ZERO + 1, POINTER_REL_ZERO);
	expect_ps2_packet(t, 0x08, 1, 0);
	rfb_free(plain);
	rfb_free(c);
	hg_test_quit(t);
}

/* A client without the encoding gets no pseudo-rectangle and its
 * positions stay positions: the router moves the PS/2 mouse by the
 * difference. */
static void test_without_pointer_type_change_positions_become_motion(void)
{
	HgTest *t = start_engine_without_input_log();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);
	uint8_t p[3];

	ps2_mouse_enable(t);
	rfb_setup(c, raw_only, 1);
	g_assert_false(rfb_has_rect(c, ENCODING_QEMU_POINTER_TYPE_CHANGE, NULL));
	rfb_pointer(c, 0, 100, 100); /* the first position: no motion yet */
	rfb_pointer(c, 0, 107, 100);
	/* The first event may or may not make a packet of no motion. */
	ps2_mouse_packet(t, p);
	if (p[1] == 0)
		ps2_mouse_packet(t, p);
	g_assert_cmphex(p[0], ==, 0x08);
	g_assert_cmphex(p[1], ==, 7);
	g_assert_cmphex(p[2], ==, 0);
	g_assert_false(rfb_read_update_within(c, 200));
	rfb_free(c);
	hg_test_quit(t);
}

static void test_rfb_3_3_client_is_served_too(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_new(hg_test_connect_unix(path));
	char version[12];

	rfb_read(c, version, sizeof(version));
	rfb_write(c, "RFB 003.003\n", 12);
	g_assert_cmpuint(rfb_read_u32(c), ==, 1); /* the server picks None */
	rfb_init(c);
	g_assert_cmpint(c->width, ==, 640);
	rfb_key(c, true, 'a');
	g_assert_true(hg_test_wait_input(t, "key 0x1e down", WAIT_MS));
	rfb_free(c);
	hg_test_quit(t);
}

/* ---- bad and slow clients ---- */

/* Another client connects, sees the screen and types. */
static void assert_server_works(HgTest *t)
{
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	fill(t, 0, 0, 8, 8, 0xabcdef);
	rfb_setup(c, raw_only, 1);
	rfb_wait_area(c, 0, 0, 8, 8, 0xabcdef);
	rfb_key(c, true, 'x');
	g_assert_true(hg_test_wait_input(t, "key 0x2d down", WAIT_MS));
	rfb_free(c);
}

static void test_garbage_drops_only_that_client(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	char version[12];

	/* Not RFB at all. */
	Rfb *http = rfb_new(hg_test_connect_unix(path));
	rfb_read(http, version, sizeof(version));
	rfb_write(http, "GET / HTTP/1.1\r\n\r\n", 18);
	g_assert_true(rfb_closed_within(http, WAIT_MS));
	rfb_free(http);

	/* A message type the server does not know, after the handshake. */
	Rfb *unknown = rfb_connect_unix(path);
	rfb_write(unknown, "\x42garbage", 8);
	g_assert_true(rfb_closed_within(unknown, WAIT_MS));
	rfb_free(unknown);

	/* A pixel format libvncserver refuses (7 bits per pixel). */
	Rfb *format = rfb_connect_unix(path);
	const uint8_t bad_format[20] = {0, 0, 0, 0, 7, 7, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2};
	rfb_write(format, bad_format, sizeof(bad_format));
	g_assert_true(rfb_closed_within(format, WAIT_MS));
	rfb_free(format);

	/* A QEMU message other than the extended key event. */
	Rfb *qemu = rfb_connect_unix(path);
	rfb_write(qemu, "\xff\x01\x00\x00", 4);
	g_assert_true(rfb_closed_within(qemu, WAIT_MS));
	rfb_free(qemu);

	/* Half a message, then silence: the others go on meanwhile. */
	Rfb *half = rfb_connect_unix(path);
	rfb_write(half, "\x04\x01", 2);
	assert_server_works(t);
	rfb_free(half);

	assert_server_works(t);
	hg_test_quit(t);
}

static void test_a_client_that_stops_reading_delays_nobody(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *stuck = rfb_connect_unix(path);
	Rfb *live = rfb_connect_unix(path);
	int buffer = 4096;

	/* The stuck client asks for many whole screens and reads none. */
	setsockopt(stuck->fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
	rfb_set_pixel_format_xrgb(stuck);
	rfb_set_encodings(stuck, raw_only, 1);
	for (int i = 0; i < 50; i++)
		rfb_request_all(stuck, false);

	rfb_setup(live, raw_only, 1);
	for (int i = 0; i < 20; i++) {
		uint32_t colour = i & 1 ? 0x0000ff : 0xffff00;
		gint64 start = g_get_monotonic_time();
		fill(t, 0, 0, 640, 480, colour);
		rfb_wait_area(live, 0, 0, 640, 480, colour);
		/* The console refreshes every 33 ms; one second is generous
		 * and far below a blocked write's 5 s. */
		g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
	}
	/* It is dropped after 5 s without taking any output. */
	g_usleep(6 * G_USEC_PER_SEC);
	g_assert_true(rfb_closed_within(stuck, WAIT_MS));
	rfb_free(stuck);
	rfb_free(live);
	hg_test_quit(t);
}

/* ---- the guest's cursor ---- */

static const int32_t cursor_encodings[] = {ENCODING_RAW, ENCODING_CURSOR, ENCODING_POINTER_POS};

/* A 13x11 cursor (rows of two mask bytes) whose alpha steps through
 * 0x00, 0x7f, 0x80, 0xff: the mask holds the pixels of at least half. */
#define CURSOR_W 13
#define CURSOR_H 11
#define CURSOR_HOT_X 4
#define CURSOR_HOT_Y 7

static uint32_t cursor_pixel(int x, int y)
{
	static const uint32_t alpha[] = {0x00, 0x7f, 0x80, 0xff};
	return alpha[(x + y) & 3] << 24 | (uint32_t)(x * 16) << 16 | (uint32_t)(y * 16) << 8 | 0x55;
}

static void set_test_cursor(HgTest *t)
{
	uint32_t argb[CURSOR_W * CURSOR_H];

	for (int y = 0; y < CURSOR_H; y++)
		for (int x = 0; x < CURSOR_W; x++)
			argb[y * CURSOR_W + x] = cursor_pixel(x, y);
	hg_test_console_cursor(t, CURSOR_W, CURSOR_H, CURSOR_HOT_X, CURSOR_HOT_Y, argb);
}

static void request_ok(HgTest *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void request_ok(HgTest *t, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *request = NULL;
	g_autofree char *reply = NULL;

	va_start(ap, fmt);
	request = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	reply = hg_test_request(t, "%s", request);
	g_assert_cmpstr(reply, ==, "OK");
}

static bool cursor_has_width(Rfb *c, const void *data)
{
	return c->cursor_shapes && c->cursor.w == GPOINTER_TO_INT(data);
}

static bool pointer_is_at(Rfb *c, const void *data)
{
	const int *at = data;
	return c->pointer_moves && c->pointer_x == at[0] && c->pointer_y == at[1];
}

/* A client that takes cursor shapes and positions, all caught up. */
static Rfb *connect_cursor_client(HgTest *t)
{
	g_autofree char *path = vnc_path(t);
	Rfb *c = rfb_connect_unix(path);

	rfb_setup(c, cursor_encodings, G_N_ELEMENTS(cursor_encodings));
	rfb_settle(c);
	return c;
}

static bool has_full_raw_rect(Rfb *c, const void *data)
{
	Rect r;
	return rfb_has_rect(c, ENCODING_RAW, &r) && r.w == c->width && r.h == c->height;
}

static bool mask_bit(const Rfb *c, int x, int y)
{
	return c->cursor_mask[y * ((c->cursor.w + 7) / 8) + x / 8] & (0x80 >> (x & 7));
}

static void test_cursor_without_a_guest_cursor_the_shape_is_empty(void)
{
	HgTest *t = start_engine();
	Rfb *c = connect_cursor_client(t);

	/* What the client got on announcing the encoding. */
	g_assert_cmpuint(c->cursor_shapes, ==, 1);
	g_assert_cmpint(c->cursor.w, ==, 0);
	g_assert_cmpint(c->cursor.h, ==, 0);
	rfb_free(c);
	hg_test_quit(t);
}

static void test_cursor_shape_arrives_with_its_size_hot_spot_pixels_and_mask(void)
{
	HgTest *t = start_engine();
	Rfb *c = connect_cursor_client(t);

	set_test_cursor(t);
	rfb_wait_for(c, cursor_has_width, GINT_TO_POINTER(CURSOR_W));
	g_assert_cmpint(c->cursor.h, ==, CURSOR_H);
	g_assert_cmpint(c->cursor.x, ==, CURSOR_HOT_X);
	g_assert_cmpint(c->cursor.y, ==, CURSOR_HOT_Y);
	for (int y = 0; y < CURSOR_H; y++) {
		for (int x = 0; x < CURSOR_W; x++) {
			uint32_t want = cursor_pixel(x, y);
			g_assert_cmphex(c->cursor_pixels[y * CURSOR_W + x] & 0xffffff, ==,
					want & 0xffffff);
			g_assert_cmpint(mask_bit(c, x, y), ==, want >> 24 >= 0x80);
		}
	}
	rfb_free(c);
	hg_test_quit(t);
}

static void test_cursor_move_sends_the_pointer_position(void)
{
	HgTest *t = start_engine();
	Rfb *c = connect_cursor_client(t);
	const int at[] = {100, 200}, corner[] = {639, 0};

	set_test_cursor(t);
	rfb_wait_for(c, cursor_has_width, GINT_TO_POINTER(CURSOR_W));
	request_ok(t, "console_cursor_move %d %d", at[0], at[1]);
	rfb_wait_for(c, pointer_is_at, at);
	/* Off the screen: the nearest point on it. */
	request_ok(t, "console_cursor_move %d %d", 5000, -20);
	rfb_wait_for(c, pointer_is_at, corner);
	rfb_free(c);
	hg_test_quit(t);
}

static void test_cursor_hidden_is_an_empty_shape_and_comes_back(void)
{
	HgTest *t = start_engine();
	Rfb *c = connect_cursor_client(t);

	set_test_cursor(t);
	rfb_wait_for(c, cursor_has_width, GINT_TO_POINTER(CURSOR_W));
	request_ok(t, "console_cursor_show 0");
	rfb_wait_for(c, cursor_has_width, GINT_TO_POINTER(0));
	request_ok(t, "console_cursor_show 1");
	rfb_wait_for(c, cursor_has_width, GINT_TO_POINTER(CURSOR_W));
	/* And gone for good when the guest drops its cursor. */
	hg_test_console_cursor(t, 0, 0, 0, 0, NULL);
	rfb_wait_for(c, cursor_has_width, GINT_TO_POINTER(0));
	rfb_free(c);
	hg_test_quit(t);
}

static void test_cursor_a_client_that_comes_later_gets_the_cursor(void)
{
	HgTest *t = start_engine();
	Rfb *first = connect_cursor_client(t);
	const int at[] = {30, 40};

	set_test_cursor(t);
	request_ok(t, "console_cursor_move %d %d", at[0], at[1]);
	rfb_wait_for(first, pointer_is_at, at);

	Rfb *c = connect_cursor_client(t);
	g_assert_cmpint(c->cursor.w, ==, CURSOR_W);
	g_assert_cmpint(c->cursor.x, ==, CURSOR_HOT_X);
	g_assert_true(pointer_is_at(c, at));
	rfb_free(c);
	rfb_free(first);
	hg_test_quit(t);
}

static void test_cursor_too_large_for_one_message_is_scaled_down(void)
{
	HgTest *t = start_engine();
	Rfb *c = connect_cursor_client(t);
	g_autofree uint32_t *argb = g_new(uint32_t, 128 * 128);

	/* Opaque red on the left half, clear on the right. */
	for (int i = 0; i < 128 * 128; i++)
		argb[i] = i % 128 < 64 ? 0xffff0000 : 0;
	hg_test_console_cursor(t, 128, 128, 100, 20, argb);
	rfb_wait_for(c, cursor_has_width, GINT_TO_POINTER(64));
	g_assert_cmpint(c->cursor.h, ==, 64);
	g_assert_cmpint(c->cursor.x, ==, 50);
	g_assert_cmpint(c->cursor.y, ==, 10);
	g_assert_cmphex(c->cursor_pixels[0] & 0xffffff, ==, 0xff0000);
	g_assert_true(mask_bit(c, 31, 63));
	g_assert_false(mask_bit(c, 32, 0));
	rfb_free(c);
	hg_test_quit(t);
}

/* The picture is the guest's: no cursor painted into it, for clients
 * with cursor shapes and without. */
static void test_cursor_is_not_painted_into_the_framebuffer(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = vnc_path(t);
	Rfb *shapes = connect_cursor_client(t);
	Rfb *plain = rfb_connect_unix(path);
	const int at[] = {50, 60};
	g_autofree uint32_t *argb = g_new(uint32_t, 32 * 32);

	rfb_setup(plain, raw_only, 1);
	rfb_settle(plain);
	for (int i = 0; i < 32 * 32; i++)
		argb[i] = 0xffff0000; /* opaque red */
	hg_test_console_cursor(t, 32, 32, 0, 0, argb);
	request_ok(t, "console_cursor_move %d %d", at[0], at[1]);
	rfb_wait_for(shapes, pointer_is_at, at);
	fill(t, 0, 0, 640, 480, 0x336699);
	rfb_wait_area(plain, 0, 0, 640, 480, 0x336699);
	rfb_wait_area(shapes, 0, 0, 640, 480, 0x336699);
	/* Whole-screen updates too, after the cursor has moved again. */
	request_ok(t, "console_cursor_move %d %d", 300, 200);
	rfb_wait_for(shapes, pointer_is_at, (const int[]){300, 200});
	rfb_request_all(plain, false);
	rfb_wait_for(plain, has_full_raw_rect, NULL);
	g_assert_true(rfb_area_is(plain, 0, 0, 640, 480, 0x336699));
	rfb_request_all(shapes, false);
	rfb_wait_for(shapes, has_full_raw_rect, NULL);
	g_assert_true(rfb_area_is(shapes, 0, 0, 640, 480, 0x336699));
	rfb_free(plain);
	rfb_free(shapes);
	hg_test_quit(t);
}

/* ---- TCP ---- */

static void test_tcp_refuses_a_wrong_password(void)
{
	TcpEngine *e = start_tcp_engine();
	Rfb *c = rfb_new(connect_tcp(e->port));

	g_assert_cmpuint(rfb_authenticate(c, "wrong"), ==, 1);
	uint32_t len = rfb_read_u32(c); /* RFB 3.8: the reason */
	g_autofree char *reason = g_malloc0(len + 1);
	rfb_read(c, reason, len);
	g_assert_cmpstr(reason, ==, "Authentication failed");
	g_assert_true(rfb_closed_within(c, WAIT_MS));
	rfb_free(c);
	tcp_engine_quit(e);
}

static void test_tcp_accepts_the_right_password(void)
{
	TcpEngine *e = start_tcp_engine();
	Rfb *c = rfb_new(connect_tcp(e->port));

	g_assert_cmpuint(rfb_authenticate(c, PASSWORD), ==, 0);
	rfb_init(c);
	g_assert_cmpint(c->width, ==, 640);
	fill(e->t, 0, 0, 640, 480, 0x445566);
	rfb_setup(c, raw_only, 1);
	rfb_wait_area(c, 0, 0, 640, 480, 0x445566);
	rfb_key(c, true, 'a');
	g_assert_true(hg_test_wait_input(e->t, "key 0x1e down", WAIT_MS));
	rfb_free(c);
	tcp_engine_quit(e);
}

static void test_tcp_refuses_security_type_none(void)
{
	TcpEngine *e = start_tcp_engine();
	Rfb *c = rfb_new(connect_tcp(e->port));
	g_autoptr(GBytes) types = rfb_start(c);
	uint8_t none = 1;

	rfb_write(c, &none, 1); /* not offered */
	g_assert_cmpuint(rfb_read_u32(c), ==, 1);
	uint32_t len = rfb_read_u32(c);
	g_assert_cmpuint(len, <, 256);
	g_autofree char *reason = g_malloc0(len + 1);
	rfb_read(c, reason, len);
	g_assert_true(rfb_closed_within(c, WAIT_MS));
	rfb_free(c);
	tcp_engine_quit(e);
}

static void test_tcp_needs_a_password_file(void)
{
	const char *engine = g_getenv("HANGAR_ENGINE");
	const char *argv[] = {engine,	   "--test-harness", "/nonexistent/harness.sock",
			      "--vnc-tcp", "5999",	     NULL};
	g_autoptr(GError) error = NULL;
	g_autofree char *err = NULL;
	int status;

	g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
		     &status, &error);
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 2);
	g_assert_nonnull(strstr(err, "--vnc-password-file"));
}

/* ---- a real client: gvnccapture ---- */

/* gvnccapture reads the password from its terminal: give it one. */
static void child_on_pty(gpointer data)
{
	setsid();
	int fd = open(ptsname(GPOINTER_TO_INT(data)), O_RDWR);
	dup2(fd, 0);
	dup2(fd, 1);
	close(fd);
}

static bool png_pixel_is(const png_image *image, const uint8_t *pixels, int x, int y, uint32_t xrgb)
{
	const uint8_t *p = pixels + ((size_t)y * image->width + x) * 4;
	return p[0] == ((xrgb >> 16) & 0xff) && p[1] == ((xrgb >> 8) & 0xff) &&
	       p[2] == (xrgb & 0xff);
}

static void test_gvnccapture_captures_the_painted_screen(void)
{
	g_autofree char *program = g_find_program_in_path("gvnccapture");
	if (!program) {
		g_test_skip("gvnccapture is not installed (package gvncviewer)");
		return;
	}
	TcpEngine *e = start_tcp_engine();
	g_autofree char *png_path = g_build_filename(e->dir, "capture.png", NULL);
	g_autofree char *display = g_strdup_printf("127.0.0.1:%d", e->port - 5900);
	const char *argv[] = {program, display, png_path, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) output = g_string_new(NULL);
	GPid pid;
	int status = -1;

	fill(e->t, 0, 0, 320, 480, 0xff0000);
	fill(e->t, 320, 0, 320, 480, 0x0000ff);
	fill(e->t, 0, 0, 640, 480 / 2, 0x00ff00);
	/* Once a client of our own sees the picture, the server has it. */
	g_autofree char *path = vnc_path(e->t);
	Rfb *c = rfb_connect_unix(path);
	rfb_setup(c, raw_only, 1);
	rfb_wait_area(c, 0, 0, 640, 240, 0x00ff00);
	rfb_wait_area(c, 0, 240, 320, 240, 0xff0000);
	rfb_wait_area(c, 320, 240, 320, 240, 0x0000ff);
	rfb_free(c);

	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	g_assert_cmpint(master, >=, 0);
	g_assert_cmpint(grantpt(master), ==, 0);
	g_assert_cmpint(unlockpt(master), ==, 0);
	g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_on_pty,
		      GINT_TO_POINTER(master), &pid, &error);
	g_assert_no_error(error);

	gint64 deadline = g_get_monotonic_time() + 3 * (gint64)WAIT_MS * 1000;
	while (g_get_monotonic_time() < deadline) {
		struct pollfd p = {.fd = master, .events = POLLIN};
		char buf[512];
		if (poll(&p, 1, 200) > 0) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n > 0)
				g_string_append_len(output, buf, n);
		}
		/* It flushes its terminal's input before reading: repeat. */
		if (strstr(output->str, "Password:") && !strstr(output->str, "Connected"))
			g_assert_cmpint(write(master, PASSWORD "\n", 7), ==, 7);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	close(master);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);

	png_image image = {.version = PNG_IMAGE_VERSION};
	g_assert_true(png_image_begin_read_from_file(&image, png_path));
	image.format = PNG_FORMAT_RGBA;
	g_autofree uint8_t *pixels = g_malloc(PNG_IMAGE_SIZE(image));
	g_assert_true(png_image_finish_read(&image, NULL, pixels, 0, NULL));
	g_assert_cmpuint(image.width, ==, 640);
	g_assert_cmpuint(image.height, ==, 480);
	g_assert_true(png_pixel_is(&image, pixels, 100, 100, 0x00ff00));
	g_assert_true(png_pixel_is(&image, pixels, 100, 400, 0xff0000));
	g_assert_true(png_pixel_is(&image, pixels, 500, 400, 0x0000ff));
	g_assert_true(png_pixel_is(&image, pixels, 639, 479, 0x0000ff));
	tcp_engine_quit(e);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vnc/unix-socket-serves-640x480-without-authentication",
			test_unix_socket_serves_640x480_without_authentication);
	g_test_add_func("/vnc/rfb-3.3-client-is-served-too", test_rfb_3_3_client_is_served_too);
	g_test_add_func("/vnc/update/full-request-shows-the-painted-pixels",
			test_full_update_shows_the_painted_pixels);
	g_test_add_func("/vnc/update/incremental-request-sends-only-the-changed-area",
			test_incremental_update_sends_only_the_changed_area);
	g_test_add_func("/vnc/update/resize-announces-the-new-size",
			test_resize_announces_the_new_size);
	g_test_add_func("/vnc/keyboard/keysym-a-presses-scancode-0x1e",
			test_keysym_a_presses_scancode_0x1e);
	g_test_add_func("/vnc/keyboard/shifted-letter-comes-from-the-clients-shift",
			test_shifted_letter_comes_from_the_clients_shift);
	g_test_add_func("/vnc/keyboard/function-arrow-and-keypad-keys-have-their-scancodes",
			test_function_arrow_and_keypad_keys_have_their_scancodes);
	g_test_add_func("/vnc/keyboard/symbol-sent-without-shift-gets-a-shift",
			test_symbol_sent_without_shift_gets_a_shift);
	g_test_add_func("/vnc/keyboard/unshifted-symbol-lifts-the-held-shift",
			test_unshifted_symbol_lifts_the_held_shift);
	g_test_add_func("/vnc/keyboard/unknown-keysym-is-dropped", test_unknown_keysym_is_dropped);
	g_test_add_func("/vnc/keyboard/qemu-extended-key-event-passes-the-scancode",
			test_qemu_extended_key_event_passes_the_scancode);
	g_test_add_func("/vnc/keyboard/a-client-that-leaves-releases-its-keys",
			test_a_client_that_leaves_releases_its_keys);
	g_test_add_func("/vnc/pointer/position-and-buttons-reach-the-guest",
			test_pointer_position_and_buttons_reach_the_guest);
	g_test_add_func("/vnc/pointer/buttons-4-and-5-turn-the-wheel",
			test_buttons_4_and_5_turn_the_wheel);
	g_test_add_func("/vnc/pointer/pointer-type-change-says-absolute-with-a-tablet",
			test_pointer_type_change_says_absolute_with_a_tablet);
	g_test_add_func("/vnc/pointer/pointer-type-change-says-relative-without-a-tablet-driver",
			test_pointer_type_change_says_relative_without_a_tablet_driver);
	g_test_add_func("/vnc/pointer/pointer-type-change-says-absolute-with-a-ready-tablet",
			test_pointer_type_change_says_absolute_with_a_ready_tablet);
	g_test_add_func("/vnc/pointer/pointer-type-change-follows-the-tablet-driver",
			test_pointer_type_change_follows_the_tablet_driver);
	g_test_add_func("/vnc/pointer/without-pointer-type-change-positions-become-motion",
			test_without_pointer_type_change_positions_become_motion);
	g_test_add_func("/vnc/cursor/without-a-guest-cursor-the-shape-is-empty",
			test_cursor_without_a_guest_cursor_the_shape_is_empty);
	g_test_add_func("/vnc/cursor/shape-arrives-with-its-size-hot-spot-pixels-and-mask",
			test_cursor_shape_arrives_with_its_size_hot_spot_pixels_and_mask);
	g_test_add_func("/vnc/cursor/move-sends-the-pointer-position",
			test_cursor_move_sends_the_pointer_position);
	g_test_add_func("/vnc/cursor/hidden-is-an-empty-shape-and-comes-back",
			test_cursor_hidden_is_an_empty_shape_and_comes_back);
	g_test_add_func("/vnc/cursor/a-client-that-comes-later-gets-the-cursor",
			test_cursor_a_client_that_comes_later_gets_the_cursor);
	g_test_add_func("/vnc/cursor/too-large-for-one-message-is-scaled-down",
			test_cursor_too_large_for_one_message_is_scaled_down);
	g_test_add_func("/vnc/cursor/is-not-painted-into-the-framebuffer",
			test_cursor_is_not_painted_into_the_framebuffer);
	g_test_add_func("/vnc/robustness/garbage-drops-only-that-client",
			test_garbage_drops_only_that_client);
	g_test_add_func("/vnc/robustness/a-client-that-stops-reading-delays-nobody",
			test_a_client_that_stops_reading_delays_nobody);
	g_test_add_func("/vnc/tcp/refuses-a-wrong-password", test_tcp_refuses_a_wrong_password);
	g_test_add_func("/vnc/tcp/accepts-the-right-password", test_tcp_accepts_the_right_password);
	g_test_add_func("/vnc/tcp/refuses-security-type-none", test_tcp_refuses_security_type_none);
	g_test_add_func("/vnc/tcp/needs-a-password-file", test_tcp_needs_a_password_file);
	g_test_add_func("/vnc/client/gvnccapture-captures-the-painted-screen",
			test_gvnccapture_captures_the_painted_screen);
	return g_test_run();
}

/* The SPICE server (display/spice*.c) seen from real SPICE clients: the
 * engine runs in harness mode with --spice and --test-input-log, the test
 * paints the console with console_fill, gives it a guest cursor with
 * console_cursor, and drives a spice-client-glib session (SpiceSession,
 * display, inputs and cursor channels) against it, and
 * spicy-screenshot (package spice-client-gtk; it needs no X display)
 * captures the screen.
 *
 * Waits for the client are bounded loops over the client's GMainContext,
 * never fixed sleeps. */
#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spice-client.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "display/console.h"
#include "display/input.h"
#include "display/spice.h"
#include "engine/machine.h"
#include "tests/harness/harness.h"

#define WAIT_MS 30000 /* busy CI machines */
#define ABS_MAX 0x7fff

#define RED 0xff0000
#define GREEN 0x00ff00
#define BLUE 0x0000ff

static char *self_path; /* this program, to run it as a client process */

/* ---- a spice-client-glib client ---- */

typedef struct {
	SpiceSession *session;
	SpiceMainChannel *main;
	SpiceChannel *display;
	SpiceInputsChannel *inputs;
	SpiceChannel *cursor;
	bool inputs_open;
	/* What the cursor channel said: how often, and the last position. */
	unsigned cursor_shapes, cursor_moves, cursor_hides;
	int cursor_x, cursor_y;
	int main_event; /* last SpiceChannelEvent of the main channel */
	bool auth_failed;
} Client;

static void client_on_channel_event(SpiceChannel *channel, SpiceChannelEvent event, Client *c)
{
	if (event == SPICE_CHANNEL_ERROR_AUTH)
		c->auth_failed = true;
	if (SPICE_IS_MAIN_CHANNEL(channel))
		c->main_event = event;
	if (SPICE_IS_INPUTS_CHANNEL(channel))
		c->inputs_open = event == SPICE_CHANNEL_OPENED;
}

static void client_on_cursor_shape(GObject *channel, GParamSpec *pspec, Client *c)
{
	c->cursor_shapes++;
}

static void client_on_cursor_move(SpiceChannel *channel, int x, int y, Client *c)
{
	c->cursor_moves++;
	c->cursor_x = x;
	c->cursor_y = y;
}

static void client_on_cursor_hide(SpiceChannel *channel, Client *c)
{
	c->cursor_hides++;
}

static void client_on_channel_new(SpiceSession *session, SpiceChannel *channel, Client *c)
{
	int id;

	g_object_get(channel, "channel-id", &id, NULL);
	g_signal_connect(channel, "channel-event", G_CALLBACK(client_on_channel_event), c);
	if (SPICE_IS_MAIN_CHANNEL(channel)) {
		c->main = SPICE_MAIN_CHANNEL(channel);
	} else if (SPICE_IS_DISPLAY_CHANNEL(channel) && id == 0) {
		c->display = channel;
	} else if (SPICE_IS_INPUTS_CHANNEL(channel)) {
		c->inputs = SPICE_INPUTS_CHANNEL(channel);
	} else if (SPICE_IS_CURSOR_CHANNEL(channel) && id == 0) {
		c->cursor = channel;
		g_signal_connect(channel, "notify::cursor", G_CALLBACK(client_on_cursor_shape), c);
		g_signal_connect(channel, "cursor-move", G_CALLBACK(client_on_cursor_move), c);
		g_signal_connect(channel, "cursor-hide", G_CALLBACK(client_on_cursor_hide), c);
	}
	spice_channel_connect(channel);
}

static Client *client_new(void)
{
	Client *c = g_new0(Client, 1);
	c->session = spice_session_new();
	g_signal_connect(c->session, "channel-new", G_CALLBACK(client_on_channel_new), c);
	return c;
}

static Client *client_connect_unix(const char *path)
{
	Client *c = client_new();
	g_object_set(c->session, "unix-path", path, NULL);
	g_assert_true(spice_session_connect(c->session));
	return c;
}

static Client *client_connect_tcp(int port, const char *password)
{
	Client *c = client_new();
	g_autofree char *port_text = g_strdup_printf("%d", port);
	g_object_set(c->session, "host", "127.0.0.1", "port", port_text, NULL);
	if (password)
		g_object_set(c->session, "password", password, NULL);
	g_assert_true(spice_session_connect(c->session));
	return c;
}

static gboolean wake_up(gpointer data)
{
	return G_SOURCE_CONTINUE;
}

/* Run the client's main loop until done(c, data) or timeout_ms. */
static bool client_wait(Client *c, bool (*done)(Client *, const void *), const void *data,
			int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	guint tick = g_timeout_add(10, wake_up, NULL);
	bool ok;

	while (!(ok = done(c, data)) && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(tick);
	return ok;
}

static bool primary_ready(Client *c, const void *data)
{
	SpiceDisplayPrimary p;
	return c->display && spice_display_channel_get_primary(c->display, 0, &p);
}

static bool inputs_ready(Client *c, const void *data)
{
	return c->inputs && c->inputs_open;
}

typedef struct {
	int width, height;
} Size;

static bool primary_has_size(Client *c, const void *data)
{
	const Size *want = data;
	SpiceDisplayPrimary p;
	return c->display && spice_display_channel_get_primary(c->display, 0, &p) &&
	       p.width == want->width && p.height == want->height;
}

typedef struct {
	int x, y;
	uint32_t rgb;
} Pixel;

static uint32_t primary_pixel(Client *c, int x, int y)
{
	SpiceDisplayPrimary p;
	g_assert_true(spice_display_channel_get_primary(c->display, 0, &p));
	g_assert_cmpint(p.format, ==, SPICE_SURFACE_FMT_32_xRGB);
	return *(uint32_t *)(p.data + (size_t)y * p.stride + (size_t)x * 4) & 0xffffff;
}

static bool primary_shows(Client *c, const void *data)
{
	const Pixel *want = data;
	SpiceDisplayPrimary p;

	/* The surface may still have its former size. */
	return c->display && spice_display_channel_get_primary(c->display, 0, &p) &&
	       want->x < p.width && want->y < p.height &&
	       primary_pixel(c, want->x, want->y) == want->rgb;
}

static bool mouse_mode_is(Client *c, const void *data)
{
	int mode = 0;
	if (!c->main)
		return false;
	g_object_get(c->main, "mouse-mode", &mode, NULL);
	return mode == GPOINTER_TO_INT(data);
}

static bool auth_refused(Client *c, const void *data)
{
	return c->auth_failed;
}

static void client_free(Client *c)
{
	/* Channels still linking would see their own disconnect as a broken
	 * link: let them come up first (not for a refused client). */
	if (!c->auth_failed)
		client_wait(c, inputs_ready, NULL, WAIT_MS);
	spice_session_disconnect(c->session);
	/* Let the channels see their sockets close. */
	for (int i = 0; i < 50; i++)
		g_main_context_iteration(NULL, FALSE);
	g_object_unref(c->session);
	g_free(c);
}

static void assert_client_shows(Client *c, int x, int y, uint32_t rgb)
{
	Pixel want = {x, y, rgb};
	if (!client_wait(c, primary_shows, &want, WAIT_MS))
		g_error("pixel (%d,%d) is not %06x", x, y, rgb);
}

/* The client sends from its main loop: keep it running while waiting. */
static void assert_input(HgTest *t, const char *event)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000LL;

	while (!hg_test_wait_input(t, event, 10)) {
		if (g_get_monotonic_time() > deadline)
			g_error("no INPUT %s", event);
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
}

/* ---- helpers ---- */

static char *spice_path(HgTest *t)
{
	return g_build_filename(hg_test_dir(t), "spice.sock", NULL);
}

/* The engine answers the harness only once its services (SPICE among
 * them) are up: one request, and clients can connect. */
static HgTest *wait_for_services(HgTest *t)
{
	g_autofree char *reply = hg_test_request(t, "console_size");
	g_assert_true(g_str_has_prefix(reply, "OK "));
	return t;
}

static HgTest *start_engine(void)
{
	return wait_for_services(
		hg_test_start("--spice", "@DIR@/spice.sock", "--test-input-log", NULL));
}

static void fill(HgTest *t, int x, int y, int w, int h, uint32_t rgb)
{
	g_autofree char *reply =
		hg_test_request(t, "console_fill %d %d %d %d 0x%x", x, y, w, h, rgb);
	g_assert_cmpstr(reply, ==, "OK");
}

static void resize(HgTest *t, int w, int h)
{
	g_autofree char *reply = hg_test_request(t, "console_resize %d %d", w, h);
	g_assert_cmpstr(reply, ==, "OK");
}

/* A client in another process: the test binary run as "--client PATH"
 * connects, prints "ready" once it shows the screen, and then waits to be
 * stopped or killed. */
static int run_client_process(const char *path)
{
	Client *c = client_connect_unix(path);
	if (!client_wait(c, primary_ready, NULL, WAIT_MS))
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		g_main_context_iteration(NULL, TRUE);
}

static GPid spawn_client_process(const char *path)
{
	const char *argv[] = {self_path, "--client", path, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) pending = g_string_new(NULL);
	g_autofree char *line = NULL;
	GPid pid;
	int out;

	g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
				 &pid, NULL, &out, NULL, &error);
	g_assert_no_error(error);
	/* GLib may print its messages to stdout too. */
	while ((line = hg_test_read_line(out, pending, WAIT_MS)) && strcmp(line, "ready") != 0)
		g_clear_pointer(&line, g_free);
	close(out);
	g_assert_cmpstr(line, ==, "ready");
	return pid;
}

static void kill_process(GPid pid)
{
	int status;
	kill(pid, SIGKILL);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
}

/* ---- the unix socket ---- */

static void test_unix_socket_is_private_to_the_user(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	struct stat st;

	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_true(S_ISSOCK(st.st_mode));
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	hg_test_quit(t);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* ---- display ---- */

static void test_display_shows_the_console_pixels(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c;

	fill(t, 10, 20, 100, 50, RED);
	c = client_connect_unix(path);
	assert_client_shows(c, 50, 40, RED);
	g_assert_cmphex(primary_pixel(c, 5, 5), ==, 0);
	g_assert_cmphex(primary_pixel(c, 110, 40), ==, 0);
	/* Changes while connected arrive as updates. */
	fill(t, 600, 400, 40, 80, GREEN);
	assert_client_shows(c, 639, 479, GREEN);
	g_assert_cmphex(primary_pixel(c, 50, 40), ==, RED);
	client_free(c);
	hg_test_quit(t);
}

static void test_display_resize_recreates_the_primary_surface(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);
	Size size = {640, 480};

	g_assert_true(client_wait(c, primary_has_size, &size, WAIT_MS));
	resize(t, 800, 600);
	size = (Size){800, 600};
	g_assert_true(client_wait(c, primary_has_size, &size, WAIT_MS));
	fill(t, 700, 500, 100, 100, BLUE);
	assert_client_shows(c, 799, 599, BLUE);
	g_assert_cmphex(primary_pixel(c, 0, 0), ==, 0);
	client_free(c);
	hg_test_quit(t);
}

/* Many updates while the client cannot keep up: the queue merges them and
 * the client ends on the last picture. */
static void test_display_burst_of_updates_ends_on_the_last_picture(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);

	g_assert_true(client_wait(c, primary_ready, NULL, WAIT_MS));
	for (int i = 0; i < 400; i++)
		fill(t, (i * 7) % 600, (i * 13) % 440, 40, 40, 0x010101 * (i & 0xff));
	fill(t, 0, 0, 640, 480, GREEN);
	assert_client_shows(c, 320, 240, GREEN);
	assert_client_shows(c, 0, 0, GREEN);
	assert_client_shows(c, 639, 479, GREEN);
	client_free(c);
	hg_test_quit(t);
}

/* screendump refreshes the console from the main loop, so the dirty
 * rectangles reach the server's listener there: they must still end up on
 * the client. */
static void test_display_screendump_does_not_steal_updates(void)
{
	HgTest *t = wait_for_services(hg_test_start("--spice", "@DIR@/spice.sock", "--control",
						    "@DIR@/control.sock", NULL));
	g_autofree char *path = spice_path(t);
	g_autofree char *control = g_build_filename(hg_test_dir(t), "control.sock", NULL);
	g_autofree char *png = g_build_filename(hg_test_dir(t), "screen.png", NULL);
	g_autofree char *request = g_strdup_printf(
		"{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"%s\"}}\n", png);
	g_autoptr(GString) pending = g_string_new(NULL);
	Client *c = client_connect_unix(path);
	int fd = hg_test_connect_unix(control);

	g_free(hg_test_read_line(fd, pending, WAIT_MS)); /* the greeting */
	g_assert_true(client_wait(c, primary_ready, NULL, WAIT_MS));
	for (int i = 0; i < 20; i++) {
		g_autofree char *reply = NULL;
		fill(t, i * 16, 0, 16, 16, RED);
		g_assert_cmpint(write(fd, request, strlen(request)), ==, strlen(request));
		reply = hg_test_read_line(fd, pending, WAIT_MS);
		g_assert_nonnull(strstr(reply, "\"return\""));
	}
	for (int i = 0; i < 20; i++)
		assert_client_shows(c, i * 16 + 8, 8, RED);
	/* A mode change that the main loop's refresh hears of first. */
	for (int i = 1; i <= 5; i++) {
		g_autofree char *reply = NULL;
		resize(t, 640 + i * 32, 480 + i * 24);
		fill(t, 0, 0, 16, 16, GREEN);
		g_assert_cmpint(write(fd, request, strlen(request)), ==, strlen(request));
		reply = hg_test_read_line(fd, pending, WAIT_MS);
		g_assert_nonnull(strstr(reply, "\"return\""));
	}
	Size size = {800, 600};
	g_assert_true(client_wait(c, primary_has_size, &size, WAIT_MS));
	assert_client_shows(c, 8, 8, GREEN);
	close(fd);
	client_free(c);
	hg_test_quit(t);
}

/* ---- spicy-screenshot ---- */

/* A binary PPM (P6, maxval 255) into width, height and RGB bytes. */
static guint8 *read_ppm(const char *file, int *width, int *height)
{
	g_autofree char *data = NULL;
	gsize len;
	int maxval, consumed = 0;

	g_assert_true(g_file_get_contents(file, &data, &len, NULL));
	g_assert_cmpint(sscanf(data, "P6 %d %d %d%n", width, height, &maxval, &consumed), ==, 3);
	g_assert_cmpint(maxval, ==, 255);
	consumed++; /* the one whitespace byte after maxval */
	g_assert_cmpuint(len - consumed, ==, (gsize)*width * *height * 3);
	return g_memdup2(data + consumed, len - consumed);
}

static uint32_t ppm_pixel(const guint8 *rgb, int width, int x, int y)
{
	const guint8 *p = rgb + ((size_t)y * width + x) * 3;
	return p[0] << 16 | p[1] << 8 | p[2];
}

static void screenshot(const char *socket, const char *out)
{
	g_autofree char *uri = g_strdup_printf("spice+unix://%s", socket);
	g_autofree char *uri_arg = g_strdup_printf("--uri=%s", uri);
	g_autofree char *out_arg = g_strdup_printf("--out-file=%s", out);
	const char *argv[] = {"spicy-screenshot", uri_arg, out_arg, NULL};
	g_autoptr(GError) error = NULL;
	g_autofree char *err = NULL;
	int status;

	g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
		     NULL, NULL, NULL, &err, &status, &error);
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("spicy-screenshot failed: %s", err);
}

static void test_spicy_screenshot_captures_the_console(void)
{
	g_autofree char *spicy = g_find_program_in_path("spicy-screenshot");
	HgTest *t;
	Client *c;
	int width, height;

	if (!spicy) {
		g_test_skip("spicy-screenshot is missing (package spice-client-gtk)");
		return;
	}
	t = start_engine();
	g_autofree char *path = spice_path(t);
	g_autofree char *shot = g_build_filename(hg_test_dir(t), "shot.ppm", NULL);
	fill(t, 0, 0, 320, 240, RED);
	fill(t, 320, 240, 320, 240, BLUE);
	/* Wait until the server has drawn it, then let the screenshot tool
	 * take the client's place. */
	c = client_connect_unix(path);
	assert_client_shows(c, 639, 479, BLUE);
	client_free(c);

	screenshot(path, shot);
	g_autofree guint8 *rgb = read_ppm(shot, &width, &height);
	g_assert_cmpint(width, ==, 640);
	g_assert_cmpint(height, ==, 480);
	g_assert_cmphex(ppm_pixel(rgb, width, 0, 0), ==, RED);
	g_assert_cmphex(ppm_pixel(rgb, width, 319, 239), ==, RED);
	g_assert_cmphex(ppm_pixel(rgb, width, 320, 240), ==, BLUE);
	g_assert_cmphex(ppm_pixel(rgb, width, 639, 479), ==, BLUE);
	g_assert_cmphex(ppm_pixel(rgb, width, 500, 100), ==, 0);

	resize(t, 1024, 768);
	fill(t, 1000, 700, 24, 68, GREEN);
	c = client_connect_unix(path);
	assert_client_shows(c, 1023, 767, GREEN);
	client_free(c);
	screenshot(path, shot);
	g_autofree guint8 *rgb2 = read_ppm(shot, &width, &height);
	g_assert_cmpint(width, ==, 1024);
	g_assert_cmpint(height, ==, 768);
	g_assert_cmphex(ppm_pixel(rgb2, width, 1023, 767), ==, GREEN);
	g_assert_cmphex(ppm_pixel(rgb2, width, 0, 0), ==, 0);
	hg_test_quit(t);
}

/* ---- the guest's cursor ---- */

/* A 13x11 cursor whose alpha steps through 0x00, 0x7f, 0x80, 0xff: the
 * client gets those as they are (straight alpha). */
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

static void request_ok(HgTest *t, const char *request)
{
	g_autofree char *reply = hg_test_request(t, "%s", request);
	g_assert_cmpstr(reply, ==, "OK");
}

/* The client's last cursor shape (free with g_boxed_free), or NULL. */
static SpiceCursorShape *client_cursor_shape(Client *c)
{
	SpiceCursorShape *shape = NULL;

	if (c->cursor)
		g_object_get(c->cursor, "cursor", &shape, NULL);
	return shape;
}

static bool cursor_shape_is(Client *c, const void *data)
{
	const Size *want = data;
	SpiceCursorShape *shape = client_cursor_shape(c);
	bool is = shape && shape->width == want->width && shape->height == want->height;

	if (shape)
		g_boxed_free(SPICE_TYPE_CURSOR_SHAPE, shape);
	return is;
}

static bool cursor_shapes_more_than(Client *c, const void *data)
{
	return c->cursor_shapes > GPOINTER_TO_UINT(data);
}

static bool cursor_hides_more_than(Client *c, const void *data)
{
	return c->cursor_hides > GPOINTER_TO_UINT(data);
}

static bool cursor_is_at(Client *c, const void *data)
{
	const Pixel *at = data;
	return c->cursor_moves && c->cursor_x == at->x && c->cursor_y == at->y;
}

static const Size test_cursor_size = {CURSOR_W, CURSOR_H};
static const Size arrow_size = {12, 19};

static void test_cursor_without_a_guest_cursor_the_client_gets_the_arrow(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);
	SpiceCursorShape *shape;

	g_assert_true(client_wait(c, cursor_shape_is, &arrow_size, WAIT_MS));
	shape = client_cursor_shape(c);
	g_assert_cmpint(shape->hot_spot_x, ==, 0);
	g_assert_cmpint(shape->hot_spot_y, ==, 0);
	g_assert_cmpint(shape->type, ==, SPICE_CURSOR_TYPE_ALPHA);
	g_boxed_free(SPICE_TYPE_CURSOR_SHAPE, shape);
	client_free(c);
	hg_test_quit(t);
}

static void test_cursor_set_delivers_the_shape_hot_spot_and_pixels(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);
	SpiceCursorShape *shape;
	const guint8 *rgba;

	g_assert_true(client_wait(c, cursor_shape_is, &arrow_size, WAIT_MS));
	set_test_cursor(t);
	g_assert_true(client_wait(c, cursor_shape_is, &test_cursor_size, WAIT_MS));
	shape = client_cursor_shape(c);
	g_assert_cmpint(shape->hot_spot_x, ==, CURSOR_HOT_X);
	g_assert_cmpint(shape->hot_spot_y, ==, CURSOR_HOT_Y);
	/* spice-client-glib hands out R, G, B, A bytes. */
	rgba = shape->data;
	for (int y = 0; y < CURSOR_H; y++) {
		for (int x = 0; x < CURSOR_W; x++) {
			uint32_t want = cursor_pixel(x, y);
			const guint8 *p = rgba + (y * CURSOR_W + x) * 4;
			g_assert_cmphex(p[0], ==, (want >> 16) & 0xff);
			g_assert_cmphex(p[1], ==, (want >> 8) & 0xff);
			g_assert_cmphex(p[2], ==, want & 0xff);
			g_assert_cmphex(p[3], ==, want >> 24);
		}
	}
	g_boxed_free(SPICE_TYPE_CURSOR_SHAPE, shape);
	client_free(c);
	hg_test_quit(t);
}

/* In client mouse mode the client's own pointer is the position: moves
 * go to clients in server mode. */
static void test_cursor_move_reaches_a_client_in_server_mouse_mode(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);
	const Pixel at = {100, 200}, off = {-5, 300};

	g_assert_true(client_wait(c, inputs_ready, NULL, WAIT_MS));
	g_assert_true(
		client_wait(c, mouse_mode_is, GINT_TO_POINTER(SPICE_MOUSE_MODE_CLIENT), WAIT_MS));
	spice_main_channel_request_mouse_mode(c->main, SPICE_MOUSE_MODE_SERVER);
	g_assert_true(
		client_wait(c, mouse_mode_is, GINT_TO_POINTER(SPICE_MOUSE_MODE_SERVER), WAIT_MS));
	set_test_cursor(t);
	g_assert_true(client_wait(c, cursor_shape_is, &test_cursor_size, WAIT_MS));
	request_ok(t, "console_cursor_move 100 200");
	g_assert_true(client_wait(c, cursor_is_at, &at, WAIT_MS));
	request_ok(t, "console_cursor_move -5 300");
	g_assert_true(client_wait(c, cursor_is_at, &off, WAIT_MS));
	client_free(c);
	hg_test_quit(t);
}

static void test_cursor_hide_reaches_the_client_and_show_brings_it_back(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);
	unsigned hides, shapes;

	set_test_cursor(t);
	g_assert_true(client_wait(c, cursor_shape_is, &test_cursor_size, WAIT_MS));
	hides = c->cursor_hides;
	request_ok(t, "console_cursor_show 0");
	g_assert_true(client_wait(c, cursor_hides_more_than, GUINT_TO_POINTER(hides), WAIT_MS));
	shapes = c->cursor_shapes;
	request_ok(t, "console_cursor_show 1");
	g_assert_true(client_wait(c, cursor_shapes_more_than, GUINT_TO_POINTER(shapes), WAIT_MS));
	g_assert_true(cursor_shape_is(c, &test_cursor_size));
	/* Without a guest cursor: the arrow again. */
	hg_test_console_cursor(t, 0, 0, 0, 0, NULL);
	g_assert_true(client_wait(c, cursor_shape_is, &arrow_size, WAIT_MS));
	client_free(c);
	hg_test_quit(t);
}

/* spice-server forgets the cursor with the primary surface. */
static void test_cursor_survives_a_mode_change(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);
	Size size = {800, 600};
	unsigned shapes;

	set_test_cursor(t);
	g_assert_true(client_wait(c, cursor_shape_is, &test_cursor_size, WAIT_MS));
	shapes = c->cursor_shapes;
	resize(t, 800, 600);
	g_assert_true(client_wait(c, primary_has_size, &size, WAIT_MS));
	g_assert_true(client_wait(c, cursor_shapes_more_than, GUINT_TO_POINTER(shapes), WAIT_MS));
	g_assert_true(cursor_shape_is(c, &test_cursor_size));
	client_free(c);
	hg_test_quit(t);
}

static void test_cursor_a_client_that_comes_later_gets_the_cursor(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c;

	/* Once one client has it, the server has it. */
	set_test_cursor(t);
	c = client_connect_unix(path);
	g_assert_true(client_wait(c, cursor_shape_is, &test_cursor_size, WAIT_MS));
	client_free(c);
	c = client_connect_unix(path);
	g_assert_true(client_wait(c, cursor_shape_is, &test_cursor_size, WAIT_MS));
	client_free(c);
	hg_test_quit(t);
}

/* ---- keyboard ---- */

static void test_keyboard_plain_key_reaches_the_guest(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);

	g_assert_true(client_wait(c, inputs_ready, NULL, WAIT_MS));
	spice_inputs_channel_key_press(c->inputs, 0x1e); /* A */
	assert_input(t, "key 0x1e down");
	spice_inputs_channel_key_release(c->inputs, 0x1e);
	assert_input(t, "key 0x1e up");
	client_free(c);
	hg_test_quit(t);
}

static void test_keyboard_e0_key_becomes_qnum_with_high_bit(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);

	g_assert_true(client_wait(c, inputs_ready, NULL, WAIT_MS));
	spice_inputs_channel_key_press(c->inputs, 0x148); /* Up: E0 48 */
	assert_input(t, "key 0xc8 down");
	spice_inputs_channel_key_release(c->inputs, 0x148);
	assert_input(t, "key 0xc8 up");
	/* Both bytes in one message (KEY_SCANCODE): right Ctrl, E0 1D. */
	spice_inputs_channel_key_press_and_release(c->inputs, 0x11d);
	assert_input(t, "key 0x9d down");
	assert_input(t, "key 0x9d up");
	client_free(c);
	hg_test_quit(t);
}

static void test_keyboard_keys_held_by_a_leaving_client_are_released(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);

	g_assert_true(client_wait(c, inputs_ready, NULL, WAIT_MS));
	spice_inputs_channel_key_press(c->inputs, 0x2a); /* left Shift */
	spice_inputs_channel_key_press(c->inputs, 0x11d); /* right Ctrl */
	assert_input(t, "key 0x2a down");
	assert_input(t, "key 0x9d down");
	client_free(c);
	assert_input(t, "key 0x2a up");
	assert_input(t, "key 0x9d up");
	hg_test_quit(t);
}

/* ---- mouse ---- */

static void test_mouse_client_mode_sends_absolute_positions(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);
	g_autofree char *abs =
		g_strdup_printf("abs %d %d", 320 * ABS_MAX / 639, 240 * ABS_MAX / 479);

	/* The harness's input log takes absolute events: client mode. */
	g_assert_true(client_wait(c, inputs_ready, NULL, WAIT_MS));
	g_assert_true(
		client_wait(c, mouse_mode_is, GINT_TO_POINTER(SPICE_MOUSE_MODE_CLIENT), WAIT_MS));
	spice_inputs_channel_position(c->inputs, 320, 240, 0, 0);
	assert_input(t, abs);
	assert_input(t, "buttons 0x0");
	spice_inputs_channel_button_press(c->inputs, SPICE_MOUSE_BUTTON_RIGHT, 0);
	assert_input(t, "buttons 0x4");
	spice_inputs_channel_button_release(c->inputs, SPICE_MOUSE_BUTTON_RIGHT,
					    SPICE_MOUSE_BUTTON_MASK_RIGHT);
	assert_input(t, "buttons 0x0");
	spice_inputs_channel_position(c->inputs, 639, 0, 0, 0);
	assert_input(t, "abs 32767 0");
	client_free(c);
	hg_test_quit(t);
}

static void test_mouse_server_mode_sends_relative_motion(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	Client *c = client_connect_unix(path);

	g_assert_true(client_wait(c, inputs_ready, NULL, WAIT_MS));
	g_assert_true(
		client_wait(c, mouse_mode_is, GINT_TO_POINTER(SPICE_MOUSE_MODE_CLIENT), WAIT_MS));
	spice_main_channel_request_mouse_mode(c->main, SPICE_MOUSE_MODE_SERVER);
	g_assert_true(
		client_wait(c, mouse_mode_is, GINT_TO_POINTER(SPICE_MOUSE_MODE_SERVER), WAIT_MS));
	spice_inputs_channel_motion(c->inputs, 5, -3, 0);
	assert_input(t, "rel 5 -3 0");
	/* The wheel is a button press in SPICE: up is away from the user. */
	spice_inputs_channel_button_press(c->inputs, SPICE_MOUSE_BUTTON_UP, 0);
	assert_input(t, "rel 0 0 1");
	spice_inputs_channel_button_press(c->inputs, SPICE_MOUSE_BUTTON_DOWN, 0);
	assert_input(t, "rel 0 0 -1");
	spice_inputs_channel_button_press(c->inputs, SPICE_MOUSE_BUTTON_LEFT, 0);
	assert_input(t, "buttons 0x1");
	spice_inputs_channel_button_release(c->inputs, SPICE_MOUSE_BUTTON_LEFT,
					    SPICE_MOUSE_BUTTON_MASK_LEFT);
	assert_input(t, "buttons 0x0");
	client_free(c);
	hg_test_quit(t);
}

/* ---- in this process: a guest pointer that comes and goes ---- */

/* A tablet the test switches on and off, standing in for a guest driver
 * that loads (virtio-input) and goes away (reboot); it also takes
 * relative motion, as the PS/2 mouse would. */
typedef struct {
	gint active; /* atomic */
	GAsyncQueue *events; /* char *, "abs X Y" / "rel DX DY W" */
} Tablet;

static bool tablet_active(void *opaque)
{
	Tablet *tablet = opaque;
	return g_atomic_int_get(&tablet->active);
}

static void tablet_event(void *opaque, const HgInputEvent *ev)
{
	Tablet *tablet = opaque;

	if (ev->type == HG_INPUT_ABS)
		g_async_queue_push(tablet->events,
				   g_strdup_printf("abs %d %d", ev->abs.x, ev->abs.y));
	else if (ev->type == HG_INPUT_REL)
		g_async_queue_push(tablet->events, g_strdup_printf("rel %d %d %d", ev->rel.dx,
								   ev->rel.dy, ev->rel.wheel));
}

static const HgInputHandler tablet_handler = {
	.name = "test tablet",
	.caps = HG_INPUT_CAP_ABS | HG_INPUT_CAP_REL,
	.active = tablet_active,
	.event = tablet_event,
};

static void assert_tablet_event(Client *c, Tablet *tablet, const char *want)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000LL;

	for (;;) {
		g_autofree char *ev = NULL;
		while (g_main_context_iteration(NULL, FALSE))
			;
		ev = g_async_queue_timeout_pop(tablet->events, 10000);
		if (ev && strcmp(ev, want) == 0)
			return;
		if (g_get_monotonic_time() > deadline)
			g_error("no %s from the tablet", want);
	}
}

static bool key_modifiers_are(Client *c, const void *data)
{
	int modifiers = -1;
	if (!c->inputs)
		return false;
	g_object_get(c->inputs, "key-modifiers", &modifiers, NULL);
	return modifiers == GPOINTER_TO_INT(data);
}

static void test_mouse_mode_follows_the_guest_absolute_pointer(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("hangar-spice-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "spice.sock", NULL);
	Tablet tablet = {.events = g_async_queue_new_full(g_free)};
	HgMachine *m = hg_machine_new(true, 16 << 20, NULL, &error);
	HgConsole *console;
	HgInput *input;
	HgSpice *spice;
	Client *c;

	g_assert_no_error(error);
	console = hg_console_new(m);
	input = hg_input_new(m);
	hg_input_register(input, &tablet_handler, &tablet);
	hg_console_start_thread(console);
	spice = hg_spice_new(console, input, &(HgSpiceConfig){.unix_path = path}, &error);
	g_assert_no_error(error);

	/* No absolute pointer in the guest: server mode, relative motion. */
	c = client_connect_unix(path);
	g_assert_true(client_wait(c, inputs_ready, NULL, WAIT_MS));
	g_assert_true(
		client_wait(c, mouse_mode_is, GINT_TO_POINTER(SPICE_MOUSE_MODE_SERVER), WAIT_MS));
	spice_inputs_channel_motion(c->inputs, 3, 4, 0);
	assert_tablet_event(c, &tablet, "rel 3 4 0");

	/* The guest's tablet driver starts: the client is offered client
	 * mode and takes it. */
	g_atomic_int_set(&tablet.active, 1);
	g_assert_true(
		client_wait(c, mouse_mode_is, GINT_TO_POINTER(SPICE_MOUSE_MODE_CLIENT), WAIT_MS));
	spice_inputs_channel_position(c->inputs, 639, 479, 0, 0);
	assert_tablet_event(c, &tablet, "abs 32767 32767");

	/* And stops: back to server mode. */
	g_atomic_int_set(&tablet.active, 0);
	g_assert_true(
		client_wait(c, mouse_mode_is, GINT_TO_POINTER(SPICE_MOUSE_MODE_SERVER), WAIT_MS));
	spice_inputs_channel_motion(c->inputs, -2, 1, 0);
	assert_tablet_event(c, &tablet, "rel -2 1 0");

	/* The guest's keyboard LEDs reach the client. */
	hg_input_set_leds(input, 4); /* caps lock */
	g_assert_true(client_wait(c, key_modifiers_are, GINT_TO_POINTER(SPICE_INPUTS_CAPS_LOCK),
				  WAIT_MS));

	client_free(c);
	hg_spice_free(spice);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	hg_console_stop_thread(console);
	hg_console_free(console);
	hg_input_free(input);
	hg_machine_free(m);
	g_async_queue_unref(tablet.events);
	g_rmdir(dir);
}

/* ---- clients that misbehave ---- */

static void test_clients_abrupt_disconnect_leaves_the_server_working(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	GPid pid = spawn_client_process(path);
	Client *c;

	/* Stop it reading, fill its socket with a picture that compresses
	 * badly, then kill it: every channel closes mid-session, the
	 * display channel in the middle of a message (EPIPE, not SIGPIPE). */
	kill(pid, SIGSTOP);
	for (int y = 0; y < 480; y += 8)
		for (int x = 0; x < 640; x += 8)
			fill(t, x, y, 8, 8, g_random_int() & 0xffffff);
	kill_process(pid);
	fill(t, 0, 0, 64, 64, GREEN);
	c = client_connect_unix(path);
	assert_client_shows(c, 10, 10, GREEN);
	g_assert_true(client_wait(c, inputs_ready, NULL, WAIT_MS));
	spice_inputs_channel_key_press(c->inputs, 0x1c);
	assert_input(t, "key 0x1c down");
	client_free(c);
	hg_test_quit(t);
}

/* A client that stops reading (SIGSTOP) while the screen keeps changing:
 * the harness (standing in for the guest) never waits, and a new client
 * gets the latest picture. */
static void test_clients_stuck_client_never_stalls_the_guest(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	GPid pid = spawn_client_process(path);
	gint64 start;
	Client *c;

	kill(pid, SIGSTOP);
	start = g_get_monotonic_time();
	for (int i = 0; i < 300; i++)
		fill(t, 0, 0, 640, 480, 0x010203 * (i & 0x3f));
	/* 300 full-screen paints are quick when nobody waits on the client;
	 * the bound is loose for slow machines. */
	g_assert_cmpint(g_get_monotonic_time() - start, <, 20 * G_USEC_PER_SEC);
	fill(t, 0, 0, 640, 480, BLUE);
	c = client_connect_unix(path);
	assert_client_shows(c, 320, 240, BLUE);
	client_free(c);
	kill_process(pid);
	hg_test_quit(t);
}

/* A mode change while a client is stuck in the middle of a message: the
 * server waits for that client (spice-server gives it 15 s, then drops
 * it), the guest does not, and the next client gets the new mode. */
static void test_clients_mode_change_with_a_stuck_client_never_stalls_the_guest(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	GPid pid = spawn_client_process(path);
	Size size = {1024, 768};
	gint64 start;
	Client *c;

	kill(pid, SIGSTOP);
	/* Pictures that compress badly, until the stuck client's socket is
	 * full and the server is in the middle of sending it one. */
	for (int frame = 0; frame < 3; frame++)
		for (int y = 0; y < 480; y += 8)
			for (int x = 0; x < 640; x += 8)
				fill(t, x, y, 8, 8, g_random_int() & 0xffffff);
	resize(t, 1024, 768);
	start = g_get_monotonic_time();
	for (int i = 0; i < 200; i++) {
		fill(t, 0, 0, 1024, 768, 0x010203 * (i & 0x3f));
		g_usleep(1000);
	}
	g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_USEC_PER_SEC);
	fill(t, 0, 0, 1024, 768, RED);
	c = client_connect_unix(path);
	g_assert_true(client_wait(c, primary_has_size, &size, WAIT_MS));
	assert_client_shows(c, 1000, 700, RED);
	client_free(c);
	kill_process(pid);
	hg_test_quit(t);
}

static void test_clients_garbage_connection_is_dropped(void)
{
	HgTest *t = start_engine();
	g_autofree char *path = spice_path(t);
	int fd = hg_test_connect_unix(path);
	guint8 junk[4096], reply[4096];
	gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000LL;
	bool closed = false;
	Client *c;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = g_random_int();
	/* The server may close before reading all of it. */
	(void)!write(fd, junk, sizeof(junk));
	while (!closed && g_get_monotonic_time() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		/* An error reply may come first; the end of the stream must. */
		if (poll(&p, 1, 100) > 0 && read(fd, reply, sizeof(reply)) <= 0)
			closed = true;
	}
	g_assert_true(closed);
	close(fd);

	fill(t, 0, 0, 8, 8, RED);
	c = client_connect_unix(path);
	assert_client_shows(c, 4, 4, RED);
	client_free(c);
	hg_test_quit(t);
}

/* ---- TCP and the ticket ---- */

static void test_tcp_client_without_the_ticket_is_refused(void)
{
	int port = hg_test_free_tcp_port();
	g_autofree char *dir = g_dir_make_tmp("hangar-spice-XXXXXX", NULL);
	g_autofree char *ticket = g_build_filename(dir, "ticket", NULL);
	g_autofree char *addr = g_strdup_printf("127.0.0.1:%d", port);
	HgTest *t;
	Client *c;

	/* The engine reads the file at start: it must exist before. */
	g_assert_true(g_file_set_contents(ticket, "s3cret\n", -1, NULL));
	t = wait_for_services(
		hg_test_start("--spice-tcp", addr, "--spice-password-file", ticket, NULL));
	c = client_connect_tcp(port, NULL);
	g_assert_true(client_wait(c, auth_refused, NULL, WAIT_MS));
	client_free(c);
	c = client_connect_tcp(port, "wrong");
	g_assert_true(client_wait(c, auth_refused, NULL, WAIT_MS));
	client_free(c);

	c = client_connect_tcp(port, "s3cret");
	fill(t, 0, 0, 16, 16, RED);
	assert_client_shows(c, 8, 8, RED);
	g_assert_false(c->auth_failed);
	client_free(c);
	hg_test_quit(t);
	g_unlink(ticket);
	g_rmdir(dir);
}

static int run_engine(const char *const *args)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	int status;

	g_ptr_array_add(argv, (char *)g_getenv("HANGAR_ENGINE"));
	for (; *args; args++)
		g_ptr_array_add(argv, (char *)*args);
	g_ptr_array_add(argv, NULL);
	g_spawn_sync(NULL, (char **)argv->pdata, NULL,
		     G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL,
		     NULL, &status, &error);
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_tcp_needs_a_password_file(void)
{
	const char *without[] = {"--spice-tcp", "127.0.0.1:5930", NULL};
	const char *bad_address[] = {"--spice-tcp", "127.0.0.1", "--spice-password-file",
				     "/nonexistent", NULL};
	const char *missing_file[] = {"--test-harness",
				      "/nonexistent/harness.sock",
				      "--spice-tcp",
				      "127.0.0.1:5930",
				      "--spice-password-file",
				      "/nonexistent/ticket",
				      NULL};

	g_assert_cmpint(run_engine(without), ==, 2);
	g_assert_cmpint(run_engine(bad_address), ==, 2);
	g_assert_cmpint(run_engine(missing_file), ==, 4);
}

/* spice-client-glib warns about connections the tests break on purpose
 * (a replaced client, a refused ticket): those stay warnings. */
static gboolean fatal_log(const char *domain, GLogLevelFlags level, const char *message,
			  gpointer data)
{
	return !(g_strcmp0(domain, "GSpice") == 0 && (level & G_LOG_LEVEL_WARNING));
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--client") == 0)
		return run_client_process(argv[2]);
	self_path = g_canonicalize_filename(argv[0], NULL);
	g_test_init(&argc, &argv, NULL);
	g_test_log_set_fatal_handler(fatal_log, NULL);
	g_test_add_func("/spice/unix-socket/is-private-to-the-user",
			test_unix_socket_is_private_to_the_user);
	g_test_add_func("/spice/display/shows-the-console-pixels",
			test_display_shows_the_console_pixels);
	g_test_add_func("/spice/display/resize-recreates-the-primary-surface",
			test_display_resize_recreates_the_primary_surface);
	g_test_add_func("/spice/display/burst-of-updates-ends-on-the-last-picture",
			test_display_burst_of_updates_ends_on_the_last_picture);
	g_test_add_func("/spice/display/screendump-does-not-steal-updates",
			test_display_screendump_does_not_steal_updates);
	g_test_add_func("/spice/display/spicy-screenshot-captures-the-console",
			test_spicy_screenshot_captures_the_console);
	g_test_add_func("/spice/cursor/without-a-guest-cursor-the-client-gets-the-arrow",
			test_cursor_without_a_guest_cursor_the_client_gets_the_arrow);
	g_test_add_func("/spice/cursor/set-delivers-the-shape-hot-spot-and-pixels",
			test_cursor_set_delivers_the_shape_hot_spot_and_pixels);
	g_test_add_func("/spice/cursor/move-reaches-a-client-in-server-mouse-mode",
			test_cursor_move_reaches_a_client_in_server_mouse_mode);
	g_test_add_func("/spice/cursor/hide-reaches-the-client-and-show-brings-it-back",
			test_cursor_hide_reaches_the_client_and_show_brings_it_back);
	g_test_add_func("/spice/cursor/survives-a-mode-change", test_cursor_survives_a_mode_change);
	g_test_add_func("/spice/cursor/a-client-that-comes-later-gets-the-cursor",
			test_cursor_a_client_that_comes_later_gets_the_cursor);
	g_test_add_func("/spice/keyboard/plain-key-reaches-the-guest",
			test_keyboard_plain_key_reaches_the_guest);
	g_test_add_func("/spice/keyboard/e0-key-becomes-qnum-with-high-bit",
			test_keyboard_e0_key_becomes_qnum_with_high_bit);
	g_test_add_func("/spice/keyboard/keys-held-by-a-leaving-client-are-released",
			test_keyboard_keys_held_by_a_leaving_client_are_released);
	g_test_add_func("/spice/mouse/client-mode-sends-absolute-positions",
			test_mouse_client_mode_sends_absolute_positions);
	g_test_add_func("/spice/mouse/server-mode-sends-relative-motion",
			test_mouse_server_mode_sends_relative_motion);
	g_test_add_func("/spice/mouse/mode-follows-the-guest-absolute-pointer",
			test_mouse_mode_follows_the_guest_absolute_pointer);
	g_test_add_func("/spice/clients/abrupt-disconnect-leaves-the-server-working",
			test_clients_abrupt_disconnect_leaves_the_server_working);
	g_test_add_func("/spice/clients/stuck-client-never-stalls-the-guest",
			test_clients_stuck_client_never_stalls_the_guest);
	g_test_add_func("/spice/clients/mode-change-with-a-stuck-client-never-stalls-the-guest",
			test_clients_mode_change_with_a_stuck_client_never_stalls_the_guest);
	g_test_add_func("/spice/clients/garbage-connection-is-dropped",
			test_clients_garbage_connection_is_dropped);
	g_test_add_func("/spice/tcp/client-without-the-ticket-is-refused",
			test_tcp_client_without_the_ticket_is_refused);
	g_test_add_func("/spice/tcp/needs-a-password-file", test_tcp_needs_a_password_file);
	return g_test_run();
}

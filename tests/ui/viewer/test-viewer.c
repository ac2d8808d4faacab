/* The VM page's viewer and serial console (ui/vm/hangar-viewer.c,
 * ui/vm/hangar-serial-view.c) against a real engine, under Xvfb.
 *
 * The engine boots the vbe-pattern guest (direct kernel boot), which draws a
 * gradient over the whole 640x480 screen, says "pattern drawn" on COM1 and
 * waits for a byte.  The serial view must show that line; each viewer, in a
 * window smaller than the guest's screen (so it scales), must show what the
 * engine's screendump shows: both are brought down to 64x48 and compared
 * with a tolerance, the viewer's from the pixels it put on the X screen.
 *
 * The serial view's text handling is checked against a socket of the test's
 * own.  Waits are bounded loops over the main context, never fixed sleeps. */
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <string.h>
#include <unistd.h>

#include "library/vm/control_client.h"
#include "ui/vm/hangar-serial-view.h"
#include "ui/vm/hangar-viewer.h"

#define WAIT_MS 90000 /* busy CI machines; the guest's CPL0 code is emulated under kvm_pvm */
#define VM_ID "test-viewer"
#define COMPARE_W 64
#define COMPARE_H 48

typedef struct {
	char *runtime_dir; /* $XDG_RUNTIME_DIR for the engine and the test */
	char *vm_dir;
	GSubprocess *engine;
	HangarControlClient *control;
	GdkPixbuf *screendump;
} Engine;

static Engine *engine; /* one engine for the guest tests, started on first use */

static gboolean wait_until(gboolean (*done)(gpointer), gpointer data, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (!done(data)) {
		if (g_get_monotonic_time() > deadline)
			return FALSE;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	return TRUE;
}

static gboolean timeout_passed(gpointer data)
{
	return FALSE;
}

/* Lets the main loop run for a while (redraws reaching the X server). */
static void run_for(guint ms)
{
	wait_until(timeout_passed, NULL, ms);
}

/* ---- the engine ---- */

static char *guest_path(const char *name)
{
	const char *dir = g_getenv("HANGAR_GUEST_DIR");
	g_autofree char *file = g_strdup_printf("guest-%s.elf", name);

	return g_build_filename(dir ? dir : ".", file, NULL);
}

static gboolean control_connected(gpointer data)
{
	Engine *e = data;
	g_autofree char *path = g_build_filename(e->vm_dir, "control.sock", NULL);

	if (!g_subprocess_get_identifier(e->engine))
		return TRUE; /* it exited: the test fails below */
	e->control = hangar_control_client_connect_sync(path, NULL, NULL);
	return e->control != NULL;
}

/* NULL (and the test skipped) where the guest cannot run. */
static Engine *engine_get(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *kernel = NULL;
	g_autofree char *serial = NULL;
	const char *engine_path = g_getenv("HANGAR_ENGINE");
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	Engine *e;

	if (engine)
		return engine;
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		g_test_skip("/dev/kvm is not usable here");
		return NULL;
	}
	kernel = guest_path("vbe-pattern");
	if (!engine_path || !g_file_test(kernel, G_FILE_TEST_EXISTS)) {
		g_test_skip("HANGAR_ENGINE or the vbe-pattern guest is missing");
		return NULL;
	}

	e = g_new0(Engine, 1);
	e->runtime_dir = g_dir_make_tmp("hangar-test-viewer-XXXXXX", &error);
	g_assert_no_error(error);
	e->vm_dir = g_build_filename(e->runtime_dir, "hangar", VM_ID, NULL);
	g_assert_cmpint(g_mkdir_with_parents(e->vm_dir, 0700), ==, 0);
	serial = g_strdup_printf("unix:%s/serial.sock", e->vm_dir);

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_subprocess_launcher_setenv(launcher, "XDG_RUNTIME_DIR", e->runtime_dir, TRUE);
	e->engine = g_subprocess_launcher_spawn(launcher, &error, engine_path, "--kernel", kernel,
						"--debug-exit", "--memory", "64", "--vm-id", VM_ID,
						"--serial", serial, NULL);
	g_assert_no_error(error);
	g_assert_true(wait_until(control_connected, e, WAIT_MS));
	if (!e->control)
		g_error("the engine exited before its control socket answered (its stderr is "
			"above)");
	engine = e;
	return e;
}

static void engine_free(Engine *e)
{
	if (!e)
		return;
	if (e->control) {
		g_autoptr(JsonObject) reply =
			hangar_control_client_execute_sync(e->control, "quit", NULL, NULL, NULL);
		g_object_unref(e->control);
	}
	g_subprocess_wait(e->engine, NULL, NULL);
	g_object_unref(e->engine);
	g_clear_object(&e->screendump);
	/* The sockets and exit.json; the folders are then empty. */
	{
		g_autoptr(GDir) dir = g_dir_open(e->vm_dir, 0, NULL);
		const char *name;

		while (dir && (name = g_dir_read_name(dir))) {
			g_autofree char *path = g_build_filename(e->vm_dir, name, NULL);
			g_unlink(path);
		}
	}
	g_rmdir(e->vm_dir);
	{
		g_autofree char *hangar = g_build_filename(e->runtime_dir, "hangar", NULL);
		g_rmdir(hangar);
	}
	g_rmdir(e->runtime_dir);
	g_free(e->vm_dir);
	g_free(e->runtime_dir);
	g_free(e);
}

static GdkPixbuf *engine_screendump(Engine *e)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = g_build_filename(e->runtime_dir, "screendump.png", NULL);
	g_autoptr(JsonObject) arguments = json_object_new();
	g_autoptr(JsonObject) reply = NULL;
	GdkPixbuf *pixbuf;

	json_object_set_string_member(arguments, "filename", path);
	reply = hangar_control_client_execute_sync(e->control, "screendump", arguments, NULL,
						   &error);
	g_assert_no_error(error);
	pixbuf = gdk_pixbuf_new_from_file(path, &error);
	g_assert_no_error(error);
	g_unlink(path);
	return pixbuf;
}

/* ---- comparing screens ---- */

/* Mean absolute difference per channel (0..255) of the two images brought
 * down to COMPARE_W x COMPARE_H. */
static double compare_scaled(GdkPixbuf *a, GdkPixbuf *b, int *max_diff)
{
	g_autoptr(GdkPixbuf) sa =
		gdk_pixbuf_scale_simple(a, COMPARE_W, COMPARE_H, GDK_INTERP_BILINEAR);
	g_autoptr(GdkPixbuf) sb =
		gdk_pixbuf_scale_simple(b, COMPARE_W, COMPARE_H, GDK_INTERP_BILINEAR);
	const guint8 *pa = gdk_pixbuf_read_pixels(sa), *pb = gdk_pixbuf_read_pixels(sb);
	int na = gdk_pixbuf_get_n_channels(sa), nb = gdk_pixbuf_get_n_channels(sb);
	int ra = gdk_pixbuf_get_rowstride(sa), rb = gdk_pixbuf_get_rowstride(sb);
	guint64 sum = 0;

	*max_diff = 0;
	for (int y = 0; y < COMPARE_H; y++) {
		for (int x = 0; x < COMPARE_W; x++) {
			for (int c = 0; c < 3; c++) {
				int d = abs(pa[y * ra + x * na + c] - pb[y * rb + x * nb + c]);

				sum += (guint64)d;
				*max_diff = MAX(*max_diff, d);
			}
		}
	}
	return (double)sum / (COMPARE_W * COMPARE_H * 3);
}

/* What the display widget put on the X screen, without the letterbox
 * borders: the guest's aspect ratio centred in the widget. */
static GdkPixbuf *widget_pixels(GtkWidget *widget, int guest_w, int guest_h)
{
	GtkAllocation alloc;
	int x, y, w, h;
	GtkWidget *toplevel = gtk_widget_get_toplevel(widget);

	gtk_widget_get_allocation(widget, &alloc);
	gtk_widget_translate_coordinates(widget, toplevel, 0, 0, &x, &y);
	if ((double)alloc.width / alloc.height > (double)guest_w / guest_h) {
		w = (int)(alloc.height * (double)guest_w / guest_h);
		h = alloc.height;
	} else {
		w = alloc.width;
		h = (int)(alloc.width * (double)guest_h / guest_w);
	}
	x += (alloc.width - w) / 2;
	y += (alloc.height - h) / 2;
	/* A pixel in from each edge: scaling blends the border into them. */
	return gdk_pixbuf_get_from_window(gtk_widget_get_window(toplevel), x + 1, y + 1, w - 2,
					  h - 2);
}

/* ---- the serial view against the guest ---- */

typedef struct {
	HangarSerialView *view;
	const char *needle;
} SerialWait;

static gboolean serial_has(gpointer data)
{
	SerialWait *w = data;
	g_autofree char *text = hangar_serial_view_get_text(w->view);

	return strstr(text, w->needle) != NULL;
}

static void test_serial_shows_guest_output(void)
{
	Engine *e = engine_get();
	GtkWidget *window;
	SerialWait wait;
	g_autofree char *path = NULL;

	if (!e)
		return;
	window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
	wait.view = HANGAR_SERIAL_VIEW(hangar_serial_view_new());
	wait.needle = "pattern drawn";
	gtk_container_add(GTK_CONTAINER(window), GTK_WIDGET(wait.view));
	gtk_widget_show(window);

	path = g_build_filename(e->vm_dir, "serial.sock", NULL);
	hangar_serial_view_connect(wait.view, path);
	g_assert_true(wait_until(serial_has, &wait, WAIT_MS));
	g_assert_true(hangar_serial_view_is_connected(wait.view));

	/* The screen is complete now: keep its screendump for the viewers. */
	e->screendump = engine_screendump(e);
	g_assert_cmpint(gdk_pixbuf_get_width(e->screendump), ==, 640);
	g_assert_cmpint(gdk_pixbuf_get_height(e->screendump), ==, 480);

	/* Let go of the console: the guest keeps waiting for its byte, and the
	 * screen stays as it is for the viewers. */
	hangar_serial_view_disconnect(wait.view, NULL);
	gtk_widget_destroy(window);
}

/* ---- the viewers against the guest ---- */

typedef struct {
	gboolean connected;
	char *reason, *detail;
} ViewerEvents;

static void on_connected(HangarViewer *viewer, ViewerEvents *ev)
{
	ev->connected = TRUE;
}

static void on_disconnected(HangarViewer *viewer, const char *reason, const char *detail,
			    ViewerEvents *ev)
{
	ev->reason = g_strdup(reason);
	ev->detail = g_strdup(detail);
}

static gboolean viewer_settled(gpointer data)
{
	ViewerEvents *ev = data;

	return ev->connected || ev->reason;
}

typedef struct {
	HangarViewer *viewer;
	GdkPixbuf *expected;
	double mean;
	int max;
} Match;

static gboolean viewer_pixbuf_matches(gpointer data)
{
	Match *m = data;
	g_autoptr(GdkPixbuf) pixbuf = hangar_viewer_get_pixbuf(m->viewer);

	if (!pixbuf || gdk_pixbuf_get_width(pixbuf) != 640 || gdk_pixbuf_get_height(pixbuf) != 480)
		return FALSE;
	m->mean = compare_scaled(pixbuf, m->expected, &m->max);
	return m->mean < 4.0;
}

static void check_viewer(HgDisplayProtocol protocol)
{
	Engine *e = engine;
	GtkWidget *window, *viewer_widget;
	HangarViewer *viewer;
	ViewerEvents ev = {0};
	Match match = {0};
	g_autofree char *path = NULL;
	g_autoptr(GdkPixbuf) shown = NULL;
	GList *children;
	double mean;
	int max;

	if (!e || !e->screendump) {
		g_test_skip("the engine did not come up (see the serial test)");
		return;
	}
	window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
	/* Another size and shape than the guest's screen: it scales and
	 * letterboxes.  SpiceDisplay asks for at least 640x480 when scaling,
	 * so SPICE scales up; VNC scales down. */
	if (protocol == HG_DISPLAY_SPICE)
		gtk_window_set_default_size(GTK_WINDOW(window), 900, 600);
	else
		gtk_window_set_default_size(GTK_WINDOW(window), 400, 340);
	gtk_window_move(GTK_WINDOW(window), 0, 0);
	viewer_widget = hangar_viewer_new();
	viewer = HANGAR_VIEWER(viewer_widget);
	gtk_container_add(GTK_CONTAINER(window), viewer_widget);
	g_signal_connect(viewer, "connected", G_CALLBACK(on_connected), &ev);
	g_signal_connect(viewer, "disconnected", G_CALLBACK(on_disconnected), &ev);
	gtk_widget_show_all(window);

	path = g_build_filename(e->vm_dir, protocol == HG_DISPLAY_VNC ? "vnc.sock" : "spice.sock",
				NULL);
	hangar_viewer_connect(viewer, protocol, path);
	g_assert_true(hangar_viewer_is_open(viewer));
	g_assert_true(wait_until(viewer_settled, &ev, WAIT_MS));
	if (ev.reason)
		g_error("viewer disconnected: %s (%s)", ev.reason, ev.detail);
	g_assert_true(hangar_viewer_is_connected(viewer));

	/* What the viewer received is the guest's screen... */
	match.viewer = viewer;
	match.expected = e->screendump;
	if (!wait_until(viewer_pixbuf_matches, &match, WAIT_MS))
		g_error("the viewer's pixbuf differs from the screendump: mean %.1f, max %d",
			match.mean, match.max);

	/* ...and what it put on the screen is that, scaled. */
	run_for(500);
	children = gtk_container_get_children(GTK_CONTAINER(viewer));
	g_assert_nonnull(children);
	{
		GtkRequisition min, nat;
		GtkAllocation alloc;

		gtk_widget_get_preferred_size(GTK_WIDGET(children->data), &min, &nat);
		gtk_widget_get_allocation(GTK_WIDGET(children->data), &alloc);
		g_test_message("display widget: minimum %dx%d, natural %dx%d, allocated %dx%d",
			       min.width, min.height, nat.width, nat.height, alloc.width,
			       alloc.height);
	}
	shown = widget_pixels(GTK_WIDGET(children->data), 640, 480);
	g_list_free(children);
	g_assert_nonnull(shown);
	if (g_getenv("HANGAR_TEST_SAVE_DIR")) {
		g_autofree char *name =
			g_strdup_printf("%s/viewer-%s.png", g_getenv("HANGAR_TEST_SAVE_DIR"),
					hg_display_protocol_to_string(protocol));
		gdk_pixbuf_save(shown, name, "png", NULL, NULL);
	}
	mean = compare_scaled(shown, e->screendump, &max);
	g_test_message("%s: rendered %dx%d, mean difference %.2f, max %d",
		       hg_display_protocol_to_string(protocol), gdk_pixbuf_get_width(shown),
		       gdk_pixbuf_get_height(shown), mean, max);
	g_assert_cmpint(gdk_pixbuf_get_width(shown), !=, 638); /* scaled, not 1:1 */
	g_assert_cmpfloat(mean, <, 6.0);
	g_assert_cmpint(max, <, 64);

	hangar_viewer_disconnect(viewer);
	g_assert_false(hangar_viewer_is_open(viewer));
	run_for(100);
	g_assert_null(ev.reason); /* a disconnect asked for is not reported */
	gtk_widget_destroy(window);
}

static void test_spice_viewer_shows_guest_screen(void)
{
	check_viewer(HG_DISPLAY_SPICE);
}

static void test_vnc_viewer_shows_guest_screen(void)
{
	check_viewer(HG_DISPLAY_VNC);
}

/* ---- without an engine ---- */

static void check_refused(HgDisplayProtocol protocol)
{
	g_autofree char *dir = g_dir_make_tmp("hangar-test-viewer-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "nobody.sock", NULL);
	GtkWidget *viewer = hangar_viewer_new();
	ViewerEvents ev = {0};

	g_object_ref_sink(viewer);
	g_signal_connect(viewer, "connected", G_CALLBACK(on_connected), &ev);
	g_signal_connect(viewer, "disconnected", G_CALLBACK(on_disconnected), &ev);
	hangar_viewer_connect(HANGAR_VIEWER(viewer), protocol, path);
	g_assert_true(wait_until(viewer_settled, &ev, 10000));
	g_assert_false(ev.connected);
	g_assert_nonnull(ev.reason);
	g_assert_nonnull(ev.detail);
	/* The developer's detail names the socket. */
	g_assert_nonnull(strstr(ev.detail, path));
	g_assert_false(hangar_viewer_is_open(HANGAR_VIEWER(viewer)));
	g_object_unref(viewer);
	g_rmdir(dir);
	g_free(ev.reason);
	g_free(ev.detail);
}

static void test_spice_viewer_reports_missing_socket(void)
{
	check_refused(HG_DISPLAY_SPICE);
}

static void test_vnc_viewer_reports_missing_socket(void)
{
	check_refused(HG_DISPLAY_VNC);
}

/* A serial "engine" of the test's own: one accepted connection. */
typedef struct {
	GSocketService *service;
	GSocketConnection *connection;
	GString *received;
	guint8 buffer[256];
} FakeSerial;

static void fake_on_read(GObject *source, GAsyncResult *result, gpointer data)
{
	FakeSerial *f = data;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, NULL);

	if (n <= 0)
		return;
	g_string_append_len(f->received, (const char *)f->buffer, n);
	g_input_stream_read_async(G_INPUT_STREAM(source), f->buffer, sizeof(f->buffer),
				  G_PRIORITY_DEFAULT, NULL, fake_on_read, f);
}

static gboolean fake_on_incoming(GSocketService *service, GSocketConnection *connection,
				 GObject *source, gpointer data)
{
	FakeSerial *f = data;

	f->connection = g_object_ref(connection);
	g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(connection)), f->buffer,
				  sizeof(f->buffer), G_PRIORITY_DEFAULT, NULL, fake_on_read, f);
	return TRUE;
}

static gboolean fake_connected(gpointer data)
{
	FakeSerial *f = data;

	return f->connection != NULL;
}

static void fake_write(FakeSerial *f, const char *data, gsize length)
{
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(f->connection));

	g_assert_true(g_output_stream_write_all(out, data, length, NULL, NULL, NULL));
}

typedef struct {
	FakeSerial *fake;
	const char *expected;
} ReceivedWait;

static gboolean fake_received(gpointer data)
{
	ReceivedWait *w = data;

	return g_str_equal(w->fake->received->str, w->expected);
}

static void test_serial_strips_escapes_and_sends_lines(void)
{
	g_autofree char *dir = g_dir_make_tmp("hangar-test-serial-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "serial.sock", NULL);
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(path);
	g_autoptr(GError) error = NULL;
	FakeSerial fake = {0};
	GtkWidget *view = hangar_serial_view_new();
	SerialWait wait = {HANGAR_SERIAL_VIEW(view), "end"};
	ReceivedWait received = {&fake, "ls -l\r"};
	g_autofree char *text = NULL;
	g_autoptr(GString) many = g_string_new(NULL);
	int lines;
	/* Split inside an escape sequence and inside "é" (0xc3 0xa9). */
	static const char chunk1[] = "\x1b[1;31mred\x1b[0m plain\r\ncaf\xc3";
	static const char chunk2[] = "\xa9 \x1b]0;title\x07ok\rnext\tcol\bl\x01\n\xff!\nend";

	g_object_ref_sink(view);
	fake.received = g_string_new(NULL);
	fake.service = g_socket_service_new();
	g_socket_listener_add_address(G_SOCKET_LISTENER(fake.service), address,
				      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL,
				      &error);
	g_assert_no_error(error);
	g_signal_connect(fake.service, "incoming", G_CALLBACK(fake_on_incoming), &fake);
	g_socket_service_start(fake.service);

	hangar_serial_view_connect(HANGAR_SERIAL_VIEW(view), path);
	g_assert_true(wait_until(fake_connected, &fake, 10000));
	fake_write(&fake, chunk1, sizeof(chunk1) - 1);
	run_for(50);
	fake_write(&fake, chunk2, sizeof(chunk2) - 1);
	g_assert_true(wait_until(serial_has, &wait, 10000));
	text = hangar_serial_view_get_text(HANGAR_SERIAL_VIEW(view));
	g_assert_cmpstr(text, ==, "red plain\ncafé ok\nnext\tcol\n\xef\xbf\xbd!\nend");

	/* A line typed in the entry goes out with "\r". */
	hangar_serial_view_send(HANGAR_SERIAL_VIEW(view), "ls -l\r", 6);
	g_assert_true(wait_until(fake_received, &received, 10000));

	/* The view keeps the last lines, not all of them. */
	for (int i = 0; i < HANGAR_SERIAL_VIEW_MAX_LINES + 1000; i++)
		g_string_append_printf(many, "line %d\r\n", i);
	g_string_append(many, "last\r\n");
	fake_write(&fake, many->str, many->len);
	wait.needle = "last\n";
	g_assert_true(wait_until(serial_has, &wait, 30000));
	g_clear_pointer(&text, g_free);
	text = hangar_serial_view_get_text(HANGAR_SERIAL_VIEW(view));
	lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	g_assert_cmpint(lines, <=, HANGAR_SERIAL_VIEW_MAX_LINES + 500);
	g_assert_cmpint(lines, >=, HANGAR_SERIAL_VIEW_MAX_LINES);
	g_assert_false(g_str_has_prefix(text, "red"));

	/* The peer going away is shown, not fatal. */
	g_io_stream_close(G_IO_STREAM(fake.connection), NULL, NULL);
	while (hangar_serial_view_is_connected(HANGAR_SERIAL_VIEW(view)))
		g_main_context_iteration(NULL, TRUE);

	g_socket_service_stop(fake.service);
	g_socket_listener_close(G_SOCKET_LISTENER(fake.service));
	g_object_unref(fake.service);
	g_object_unref(fake.connection);
	g_string_free(fake.received, TRUE);
	g_object_unref(view);
	g_unlink(path);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	int status;

	gtk_test_init(&argc, &argv, NULL);

	g_test_add_func("/serial-view/strips-escapes-and-sends-lines-with-cr",
			test_serial_strips_escapes_and_sends_lines);
	g_test_add_func("/viewer/spice/reports-a-missing-socket",
			test_spice_viewer_reports_missing_socket);
	g_test_add_func("/viewer/vnc/reports-a-missing-socket",
			test_vnc_viewer_reports_missing_socket);
	g_test_add_func("/serial-view/shows-the-guests-output", test_serial_shows_guest_output);
	g_test_add_func("/viewer/spice/shows-the-guests-screen-scaled",
			test_spice_viewer_shows_guest_screen);
	g_test_add_func("/viewer/vnc/shows-the-guests-screen-scaled",
			test_vnc_viewer_shows_guest_screen);

	status = g_test_run();
	engine_free(engine);
	return status;
}

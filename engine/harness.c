/* The device test harness server (docs/test-harness.md).  Runs on the main
 * thread; each request takes the device lock around the device access, so
 * devices see exactly the calls a vCPU would make. */
#include "engine/harness.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "display/console.h"
#include "display/input.h"
#include "engine/state.h"

#define HARNESS_LINE_MAX (4u << 20)
#define HARNESS_MEMREAD_MAX (1u << 20)

struct HgHarness {
	HgMachine *machine;
	GSocketService *service;
	GSocketConnection *connection;
	GDataInputStream *in;
	GOutputStream *out;
	GCancellable *cancel;
	char *path;
	void (*on_quit)(void *);
	void *on_quit_data;
	GMutex send_lock; /* lines also come from the display thread */
	HgConsole *console;
	HgInput *input;
};

static void harness_send(HgHarness *h, const char *line)
{
	g_mutex_lock(&h->send_lock);
	if (h->out) {
		g_output_stream_write_all(h->out, line, strlen(line), NULL, NULL, NULL);
		g_output_stream_write_all(h->out, "\n", 1, NULL, NULL, NULL);
	}
	g_mutex_unlock(&h->send_lock);
}

static bool parse_u64(const char *s, uint64_t *out);

/* --test-input-log: every input event the guest would get, as a line. */
static void harness_input_event(void *opaque, const HgInputEvent *ev)
{
	char line[96];

	switch (ev->type) {
	case HG_INPUT_KEY:
		g_snprintf(line, sizeof(line), "INPUT key 0x%02x %s", ev->key.qnum,
			   ev->key.down ? "down" : "up");
		break;
	case HG_INPUT_REL:
		g_snprintf(line, sizeof(line), "INPUT rel %d %d %d", ev->rel.dx, ev->rel.dy,
			   ev->rel.wheel);
		break;
	case HG_INPUT_ABS:
		g_snprintf(line, sizeof(line), "INPUT abs %d %d", ev->abs.x, ev->abs.y);
		break;
	case HG_INPUT_BUTTONS:
		g_snprintf(line, sizeof(line), "INPUT buttons 0x%x", ev->buttons);
		break;
	default:
		return; /* SYNC */
	}
	harness_send(opaque, line);
}

static const HgInputHandler harness_input_handler = {
	.name = "test-input-log",
	.caps = HG_INPUT_CAP_KEYBOARD | HG_INPUT_CAP_REL | HG_INPUT_CAP_ABS,
	.event = harness_input_event,
};

void hg_harness_attach_display(HgHarness *h, HgConsole *console, HgInput *input,
			       bool log_input)
{
	h->console = console;
	h->input = input;
	if (log_input)
		hg_input_register(input, &harness_input_handler, h);
}

/* Paint a rectangle of the console in one colour, as a display device
 * would: lets display-server tests check pixels without a GPU. */
static char *harness_console_fill(HgHarness *h, char **argv, unsigned argc)
{
	uint64_t v[5];
	int width, height, stride;

	if (!h->console || argc != 6)
		return g_strdup("ERR usage: console_fill X Y W H XRGB");
	for (unsigned i = 0; i < 5; i++)
		if (!parse_u64(argv[i + 1], &v[i]))
			return g_strdup("ERR bad number");
	hg_console_lock(h->console);
	uint32_t *px = hg_console_pixels(h->console, &width, &height, &stride);
	for (uint64_t y = v[1]; y < v[1] + v[3] && y < (uint64_t)height; y++)
		for (uint64_t x = v[0]; x < v[0] + v[2] && x < (uint64_t)width; x++)
			px[y * (stride / 4) + x] = (uint32_t)v[4];
	hg_console_unlock(h->console);
	hg_console_mark_dirty(h->console, (int)MIN(v[0], (uint64_t)width),
			      (int)MIN(v[1], (uint64_t)height), (int)MIN(v[2], (uint64_t)width),
			      (int)MIN(v[3], (uint64_t)height));
	return g_strdup("OK");
}

/* A hardware cursor as a display device would publish it, so that the
 * display servers' cursor paths can be tested without a GPU:
 * console_cursor W H HOTX HOTY [HEX] (HEX: W*H pixels of 8 hex digits,
 * AARRGGBB, top row first; W or H 0: no guest cursor),
 * console_cursor_move X Y, console_cursor_show 0|1. */
static bool parse_int(const char *s, int *out);

static bool cursor_pixels_decode(const char *hex, size_t n, uint32_t *out)
{
	if (strlen(hex) != n * 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint32_t v = 0;
		for (int d = 0; d < 8; d++) {
			int digit = g_ascii_xdigit_value(hex[i * 8 + d]);
			if (digit < 0)
				return false;
			v = v << 4 | digit;
		}
		out[i] = v;
	}
	return true;
}

static char *harness_console_cursor_set(HgHarness *h, char **argv, unsigned argc)
{
	int v[4];
	g_autofree uint32_t *pixels = NULL;

	for (unsigned i = 0; i < 4 && i + 1 < argc; i++)
		if (!parse_int(argv[i + 1], &v[i]))
			return g_strdup_printf("ERR bad number \"%s\"", argv[i + 1]);
	if ((argc != 5 && argc != 6) || v[0] < 0 || v[1] < 0 || v[0] > HG_CONSOLE_CURSOR_MAX ||
	    v[1] > HG_CONSOLE_CURSOR_MAX)
		return g_strdup_printf(
			"ERR usage: console_cursor W H HOTX HOTY HEX (W, H at most %d)",
			HG_CONSOLE_CURSOR_MAX);
	if (v[0] && v[1]) {
		pixels = g_new(uint32_t, (size_t)v[0] * v[1]);
		if (argc != 6 || !cursor_pixels_decode(argv[5], (size_t)v[0] * v[1], pixels))
			return g_strdup("ERR console_cursor wants W*H pixels of 8 hex digits");
	}
	hg_console_set_cursor(h->console, v[0], v[1], v[2], v[3], pixels);
	return g_strdup("OK");
}

static char *harness_console_cursor(HgHarness *h, const char *cmd, char **argv, unsigned argc)
{
	int x, y, visible;

	if (!h->console)
		return g_strdup("ERR no console");
	if (strcmp(cmd, "console_cursor") == 0)
		return harness_console_cursor_set(h, argv, argc);
	if (strcmp(cmd, "console_cursor_move") == 0) {
		if (argc != 3 || !parse_int(argv[1], &x) || !parse_int(argv[2], &y))
			return g_strdup("ERR usage: console_cursor_move X Y");
		hg_console_move_cursor(h->console, x, y);
		return g_strdup("OK");
	}
	if (strcmp(cmd, "console_cursor_show") == 0) {
		if (argc != 2 || !parse_int(argv[1], &visible) || (visible != 0 && visible != 1))
			return g_strdup("ERR usage: console_cursor_show 0|1");
		hg_console_show_cursor(h->console, visible);
		return g_strdup("OK");
	}
	return g_strdup_printf("ERR unknown request \"%s\"", cmd);
}

/* Input as a display server would send it, through the input router:
 * input_key QNUM 0|1, input_abs X Y BUTTONS [WHEEL] (pixels of a 640x480
 * screen), input_rel DX DY WHEEL BUTTONS. */
#define HARNESS_ABS_WIDTH 640
#define HARNESS_ABS_HEIGHT 480

static bool parse_int(const char *s, int *out)
{
	char *end;
	gint64 v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = g_ascii_strtoll(s, &end, 0);
	if (errno || *end || v < G_MININT || v > G_MAXINT)
		return false;
	*out = (int)v;
	return true;
}

static char *harness_input(HgHarness *h, const char *cmd, char **argv, unsigned argc)
{
	int v[4] = {0};

	if (!h->input)
		return g_strdup("ERR no input router");
	for (unsigned i = 1; i < argc && i <= 4; i++)
		if (!parse_int(argv[i], &v[i - 1]))
			return g_strdup_printf("ERR bad number \"%s\"", argv[i]);
	if (strcmp(cmd, "input_key") == 0) {
		if (argc != 3 || v[0] <= 0 || v[0] > 0xff || (v[1] != 0 && v[1] != 1))
			return g_strdup("ERR usage: input_key QNUM 0|1");
		hg_input_key(h->input, v[0], v[1]);
	} else if (strcmp(cmd, "input_abs") == 0) {
		if (argc != 4 && argc != 5)
			return g_strdup("ERR usage: input_abs X Y BUTTONS [WHEEL]");
		hg_input_pointer_abs(h->input, v[0], v[1], HARNESS_ABS_WIDTH, HARNESS_ABS_HEIGHT,
				     v[3], v[2]);
	} else {
		if (argc != 5)
			return g_strdup("ERR usage: input_rel DX DY WHEEL BUTTONS");
		hg_input_pointer_rel(h->input, v[0], v[1], v[2], v[3]);
	}
	return g_strdup("OK");
}

static void harness_irq_observer(HgMachine *m, unsigned gsi, bool level, void *data)
{
	char line[32];
	g_snprintf(line, sizeof(line), "IRQ %s %u", level ? "raise" : "lower", gsi);
	harness_send(data, line);
}

static void harness_msi_observer(HgMachine *m, uint64_t address, uint32_t data, void *opaque)
{
	char line[64];
	g_snprintf(line, sizeof(line), "MSI 0x%" G_GINT64_MODIFIER "x 0x%x", address, data);
	harness_send(opaque, line);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s)
		return false;
	errno = 0;
	*out = g_ascii_strtoull(s, &end, 0);
	return errno == 0 && *end == '\0';
}

static int access_size(char suffix)
{
	switch (suffix) {
	case 'b':
		return 1;
	case 'w':
		return 2;
	case 'l':
		return 4;
	case 'q':
		return 8;
	}
	return 0;
}

static bool hex_decode(const char *hex, GByteArray *out)
{
	size_t n = strlen(hex);
	if (n % 2)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		int hi = g_ascii_xdigit_value(hex[i]), lo = g_ascii_xdigit_value(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		uint8_t b = hi << 4 | lo;
		g_byte_array_append(out, &b, 1);
	}
	return true;
}

/* Returns the reply; *quit set when the client asked to end. */
static char *harness_execute(HgHarness *h, char **argv, bool *quit)
{
	HgMachine *m = h->machine;
	unsigned argc = g_strv_length(argv);
	const char *cmd = argc ? argv[0] : "";
	uint64_t a = 0, b = 0;
	size_t len = strlen(cmd);
	int size;

	/* Before the check below: cursor positions may be negative. */
	if (g_str_has_prefix(cmd, "console_cursor"))
		return harness_console_cursor(h, cmd, argv, argc);
	if (argc >= 2 && !parse_u64(argv[1], &a) && strcmp(cmd, "memwrite") != 0 &&
	    strcmp(cmd, "save") != 0)
		return g_strdup_printf("ERR bad number \"%s\"", argv[1]);

	if ((g_str_has_prefix(cmd, "out") || g_str_has_prefix(cmd, "in")) &&
	    (size = access_size(cmd[len - 1])) && size <= 4 &&
	    len == (cmd[0] == 'o' ? 4u : 3u)) {
		if (a > 0xffff)
			return g_strdup("ERR port out of range");
		if (cmd[0] == 'o') {
			if (argc != 3 || !parse_u64(argv[2], &b))
				return g_strdup("ERR usage: outX PORT VALUE");
			g_mutex_lock(&m->device_lock);
			hg_address_space_write(&m->pio, a, size, b);
			g_mutex_unlock(&m->device_lock);
			return g_strdup("OK");
		}
		if (argc != 2)
			return g_strdup("ERR usage: inX PORT");
		g_mutex_lock(&m->device_lock);
		b = hg_address_space_read(&m->pio, a, size);
		g_mutex_unlock(&m->device_lock);
		return g_strdup_printf("OK 0x%" G_GINT64_MODIFIER "x", b);
	}
	if ((g_str_has_prefix(cmd, "read") || g_str_has_prefix(cmd, "write")) &&
	    len == (cmd[0] == 'r' ? 5u : 6u) && (size = access_size(cmd[len - 1]))) {
		void *ram = hg_memory_ptr(&m->memory, a, size);
		if (cmd[0] == 'w') {
			if (argc != 3 || !parse_u64(argv[2], &b))
				return g_strdup("ERR usage: writeX ADDR VALUE");
			g_mutex_lock(&m->device_lock);
			if (ram)
				memcpy(ram, &b, size);
			else
				hg_address_space_write(&m->mmio, a, size, b);
			g_mutex_unlock(&m->device_lock);
			return g_strdup("OK");
		}
		if (argc != 2)
			return g_strdup("ERR usage: readX ADDR");
		g_mutex_lock(&m->device_lock);
		if (ram)
			memcpy(&b, ram, size);
		else
			b = hg_address_space_read(&m->mmio, a, size);
		g_mutex_unlock(&m->device_lock);
		return g_strdup_printf("OK 0x%" G_GINT64_MODIFIER "x", b);
	}
	if (strcmp(cmd, "memread") == 0) {
		if (argc != 3 || !parse_u64(argv[2], &b) || b > HARNESS_MEMREAD_MAX)
			return g_strdup("ERR usage: memread ADDR LEN (LEN at most 1 MiB)");
		g_autofree uint8_t *buf = g_malloc(b ? b : 1);
		if (!hg_memory_read(&m->memory, a, buf, b))
			return g_strdup("ERR range outside guest RAM");
		GString *s = g_string_sized_new(3 + 2 * b);
		g_string_append(s, "OK ");
		for (uint64_t i = 0; i < b; i++)
			g_string_append_printf(s, "%02x", buf[i]);
		return g_string_free(s, FALSE);
	}
	if (strcmp(cmd, "memwrite") == 0) {
		g_autoptr(GByteArray) bytes = g_byte_array_new();
		if (argc != 3 || !parse_u64(argv[1], &a) || !hex_decode(argv[2], bytes))
			return g_strdup("ERR usage: memwrite ADDR HEX");
		if (!hg_memory_write(&m->memory, a, bytes->data, bytes->len))
			return g_strdup("ERR range outside guest RAM");
		return g_strdup("OK");
	}
	if (strcmp(cmd, "memset") == 0) {
		uint64_t value;
		if (argc != 4 || !parse_u64(argv[2], &b) || !parse_u64(argv[3], &value))
			return g_strdup("ERR usage: memset ADDR LEN BYTE");
		void *p = hg_memory_ptr(&m->memory, a, b);
		if (!p)
			return g_strdup("ERR range outside guest RAM");
		memset(p, (int)value, b);
		return g_strdup("OK");
	}
	if (strcmp(cmd, "clock_step") == 0) {
		if (argc == 1) {
			/* To the next timer, if any. */
			uint64_t next = UINT64_MAX;
			for (guint i = 0; i < m->timers->len; i++) {
				HgTimer *t = g_ptr_array_index(m->timers, i);
				if (t->armed && t->deadline_ns < next)
					next = t->deadline_ns;
			}
			a = next == UINT64_MAX ? 0 : next - MIN(next, m->harness_clock_ns);
		}
		hg_clock_step(m, a);
		return g_strdup_printf("OK %" G_GUINT64_FORMAT, hg_clock_ns(m));
	}
	if (strcmp(cmd, "clock_get") == 0)
		return g_strdup_printf("OK %" G_GUINT64_FORMAT, hg_clock_ns(m));
	if (strcmp(cmd, "irq_get") == 0) {
		if (argc != 2 || a >= HG_NUM_GSIS)
			return g_strdup("ERR usage: irq_get GSI (0-23)");
		return g_strdup_printf("OK %d", m->irq_levels[a]);
	}
	if (strcmp(cmd, "save") == 0) {
		g_autoptr(GError) error = NULL;
		if (argc != 2)
			return g_strdup("ERR usage: save DIR");
		if (!hg_state_save(m, argv[1], &error))
			return g_strdup_printf("ERR %s", error->message);
		return g_strdup("OK");
	}
	if (strcmp(cmd, "console_fill") == 0)
		return harness_console_fill(h, argv, argc);
	if (strcmp(cmd, "console_resize") == 0) {
		uint64_t w, hh;
		if (!h->console || argc != 3 || !parse_u64(argv[1], &w) || !parse_u64(argv[2], &hh) ||
		    w > 8192 || hh > 8192)
			return g_strdup("ERR usage: console_resize W H");
		hg_console_resize(h->console, (int)w, (int)hh);
		return g_strdup("OK");
	}
	if (strcmp(cmd, "console_size") == 0) {
		int w, hh;
		if (!h->console)
			return g_strdup("ERR no console");
		hg_console_size(h->console, &w, &hh);
		return g_strdup_printf("OK %dx%d", w, hh);
	}
	if (strcmp(cmd, "input_key") == 0 || strcmp(cmd, "input_abs") == 0 ||
	    strcmp(cmd, "input_rel") == 0)
		return harness_input(h, cmd, argv, argc);
	if (strcmp(cmd, "quit") == 0) {
		*quit = true;
		return g_strdup("OK");
	}
	return g_strdup_printf("ERR unknown request \"%s\"", cmd);
}

static void harness_read_line(HgHarness *h);

static void harness_close(HgHarness *h)
{
	g_clear_object(&h->in);
	h->out = NULL;
	g_clear_object(&h->connection);
	if (h->on_quit)
		h->on_quit(h->on_quit_data);
}

static void harness_line_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	HgHarness *h = data;
	g_autoptr(GError) error = NULL;
	gsize len;
	g_autofree char *line =
		g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), res, &len, &error);
	bool quit = false;

	if (!line) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			harness_close(h);
		return;
	}
	if (len > HARNESS_LINE_MAX) {
		harness_send(h, "ERR request too long");
	} else {
		g_auto(GStrv) argv = g_strsplit_set(g_strstrip(line), " \t", -1);
		g_autofree char *reply = harness_execute(h, argv, &quit);
		harness_send(h, reply);
	}
	if (quit)
		harness_close(h);
	else
		harness_read_line(h);
}

static void harness_read_line(HgHarness *h)
{
	g_data_input_stream_read_line_async(h->in, G_PRIORITY_DEFAULT, h->cancel,
					    harness_line_ready, h);
}

static gboolean harness_incoming(GSocketService *service, GSocketConnection *conn,
				 GObject *source, gpointer data)
{
	HgHarness *h = data;

	if (h->connection)
		return FALSE; /* one client at a time */
	h->connection = g_object_ref(conn);
	h->in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
	g_data_input_stream_set_newline_type(h->in, G_DATA_STREAM_NEWLINE_TYPE_LF);
	h->out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	harness_read_line(h);
	return TRUE;
}

HgHarness *hg_harness_new(HgMachine *m, const char *path, void (*on_quit)(void *), void *data,
			  GError **error)
{
	HgHarness *h = g_new0(HgHarness, 1);
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);

	h->machine = m;
	h->path = g_strdup(path);
	h->on_quit = on_quit;
	h->on_quit_data = data;
	h->cancel = g_cancellable_new();
	g_mutex_init(&h->send_lock);
	h->service = g_socket_service_new();
	unlink(path);
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(h->service), addr,
					   G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL,
					   NULL, error)) {
		hg_harness_free(h);
		return NULL;
	}
	chmod(path, 0600);
	g_signal_connect(h->service, "incoming", G_CALLBACK(harness_incoming), h);
	m->irq_observer = harness_irq_observer;
	m->msi_observer = harness_msi_observer;
	m->irq_observer_data = h;
	return h;
}

void hg_harness_free(HgHarness *h)
{
	if (!h)
		return;
	g_cancellable_cancel(h->cancel);
	if (h->input) {
		/* Display servers may still deliver input after this. */
		g_mutex_lock(&h->machine->device_lock);
		hg_input_unregister(h->input, h);
		g_mutex_unlock(&h->machine->device_lock);
	}
	h->machine->irq_observer = NULL;
	h->machine->msi_observer = NULL;
	g_socket_service_stop(h->service);
	g_socket_listener_close(G_SOCKET_LISTENER(h->service));
	g_clear_object(&h->service);
	g_clear_object(&h->in);
	g_clear_object(&h->connection);
	g_clear_object(&h->cancel);
	unlink(h->path);
	g_free(h->path);
	g_free(h);
}

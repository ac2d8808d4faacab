/* The SPICE server: set-up on the display thread, spice.sock, clients
 * handed over, keyboard and mouse.  The display is spice_display.c, the
 * event loop glue spice_core.c.  See spice.h. */
#include "display/spice.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <signal.h>
#include <spice/protocol.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "display/spice_internal.h"

/* How often the server looks at the guest's pointer devices (to offer or
 * withdraw client mouse mode) and its keyboard LEDs. */
#define SPICE_POLL_MS 100
#define SPICE_PAUSE_QNUM 0xc6 /* qnum of Pause (E1 1D 45 in set 1) */

struct HgSpice {
	HgConsole *console;
	HgInput *input;
	GMainContext *context;
	SpiceServer *server;
	SpiceCoreInterface *core;
	HgSpiceDisplay *display;

	/* Instances the server holds pointers to; they lead back here. */
	SpiceKbdInstance keyboard;
	SpiceMouseInstance mouse;
	SpiceTabletInstance tablet;

	/* Display thread only. */
	bool tablet_attached; /* client mouse mode on offer */
	bool key_extended; /* an E0 prefix came */
	int pause_bytes_left; /* of an E1 sequence (Pause) */
	unsigned leds;
	int tablet_width, tablet_height; /* the server's logical size */
	int tablet_x, tablet_y;

	char *unix_path;
	int listen_fd;
	GSource *listen_source;
	GSource *poll_source;
};

static HgSpice *spice_of_keyboard(SpiceKbdInstance *sin)
{
	return (HgSpice *)((char *)sin - offsetof(HgSpice, keyboard));
}

static HgSpice *spice_of_mouse(SpiceMouseInstance *sin)
{
	return (HgSpice *)((char *)sin - offsetof(HgSpice, mouse));
}

static HgSpice *spice_of_tablet(SpiceTabletInstance *sin)
{
	return (HgSpice *)((char *)sin - offsetof(HgSpice, tablet));
}

/* ---- running things on the display thread ---- */

typedef struct {
	void (*func)(void *data);
	void *data;
	GMutex lock;
	GCond cond;
	bool done;
} DisplayCall;

static gboolean display_call_dispatch(gpointer data)
{
	DisplayCall *call = data;

	call->func(call->data);
	g_mutex_lock(&call->lock);
	call->done = true;
	g_cond_signal(&call->cond);
	g_mutex_unlock(&call->lock);
	return G_SOURCE_REMOVE;
}

/* spice-server binds its objects to the thread that made them: run func
 * where the display loop runs, and wait for it.  Taking the context here
 * instead would race with a display thread still starting up. */
static void run_on_display_thread(GMainContext *context, void (*func)(void *), void *data)
{
	DisplayCall call = {.func = func, .data = data};
	GSource *idle;

	if (g_main_context_is_owner(context)) {
		func(data);
		return;
	}
	g_mutex_init(&call.lock);
	g_cond_init(&call.cond);
	idle = g_idle_source_new();
	g_source_set_priority(idle, G_PRIORITY_DEFAULT);
	g_source_set_callback(idle, display_call_dispatch, &call, NULL);
	g_source_attach(idle, context);
	g_source_unref(idle);
	g_mutex_lock(&call.lock);
	while (!call.done)
		g_cond_wait(&call.cond, &call.lock);
	g_mutex_unlock(&call.lock);
	g_mutex_clear(&call.lock);
	g_cond_clear(&call.cond);
}

/* ---- keyboard ---- */

/* SPICE clients send PC set-1 bytes: E0-prefixed codes become qnum
 * 0x80 | code, bit 7 is the break (release); Pause is the E1 sequence
 * E1 1D 45 on press and E1 9D C5 on release. */
static void spice_kbd_push_scan(SpiceKbdInstance *sin, uint8_t byte)
{
	HgSpice *s = spice_of_keyboard(sin);
	bool down = !(byte & 0x80);
	uint16_t qnum = byte & 0x7f;

	if (s->pause_bytes_left) {
		if (--s->pause_bytes_left == 0)
			hg_input_key(s->input, SPICE_PAUSE_QNUM, down);
		return;
	}
	if (byte == 0xe1) {
		s->pause_bytes_left = 2;
		s->key_extended = false;
		return;
	}
	if (byte == 0xe0) {
		s->key_extended = true;
		return;
	}
	if (s->key_extended) {
		s->key_extended = false;
		/* E0 2A and E0 36 are the fake shifts some keyboards wrap
		 * around Print Screen and the keypad: no key of their own. */
		if (qnum == 0x2a || qnum == 0x36)
			return;
		qnum |= 0x80;
	}
	hg_input_key(s->input, qnum, down);
}

/* SPICE's modifier bits (scroll 0, num 1, caps 2) are the console's. */
static uint8_t spice_kbd_get_leds(SpiceKbdInstance *sin)
{
	return hg_input_leds(spice_of_keyboard(sin)->input) & 7;
}

static const SpiceKbdInterface spice_kbd_interface = {
	.base.type = SPICE_INTERFACE_KEYBOARD,
	.base.description = "hangar keyboard",
	.base.major_version = SPICE_INTERFACE_KEYBOARD_MAJOR,
	.base.minor_version = SPICE_INTERFACE_KEYBOARD_MINOR,
	.push_scan_freg = spice_kbd_push_scan,
	.get_leds = spice_kbd_get_leds,
};

/* ---- mouse (server mode) and tablet (client mode) ---- */

/* spice-server hands buttons over as left 1, right 2, middle 4. */
static uint32_t spice_buttons(uint32_t state)
{
	return (state & 1 ? HG_INPUT_BUTTON_LEFT : 0) | (state & 2 ? HG_INPUT_BUTTON_RIGHT : 0) |
	       (state & 4 ? HG_INPUT_BUTTON_MIDDLE : 0);
}

/* dz counts wheel steps towards the user; the console's wheel is positive
 * away from the user. */
static void spice_mouse_motion(SpiceMouseInstance *sin, int dx, int dy, int dz, uint32_t state)
{
	hg_input_pointer_rel(spice_of_mouse(sin)->input, dx, dy, -dz, spice_buttons(state));
}

static void spice_mouse_buttons(SpiceMouseInstance *sin, uint32_t state)
{
	hg_input_pointer_rel(spice_of_mouse(sin)->input, 0, 0, 0, spice_buttons(state));
}

static const SpiceMouseInterface spice_mouse_interface = {
	.base.type = SPICE_INTERFACE_MOUSE,
	.base.description = "hangar relative pointer",
	.base.major_version = SPICE_INTERFACE_MOUSE_MAJOR,
	.base.minor_version = SPICE_INTERFACE_MOUSE_MINOR,
	.motion = spice_mouse_motion,
	.buttons = spice_mouse_buttons,
};

static void spice_tablet_send(HgSpice *s, int wheel, uint32_t state)
{
	int width = s->tablet_width, height = s->tablet_height;

	if (width <= 0 || height <= 0)
		hg_console_size(s->console, &width, &height);
	hg_input_pointer_abs(s->input, s->tablet_x, s->tablet_y, width, height, wheel,
			     spice_buttons(state));
}

/* The primary surface's size: positions come in its pixels. */
static void spice_tablet_set_logical_size(SpiceTabletInstance *sin, int width, int height)
{
	HgSpice *s = spice_of_tablet(sin);
	s->tablet_width = width;
	s->tablet_height = height;
}

static void spice_tablet_position(SpiceTabletInstance *sin, int x, int y, uint32_t state)
{
	HgSpice *s = spice_of_tablet(sin);
	s->tablet_x = x;
	s->tablet_y = y;
	spice_tablet_send(s, 0, state);
}

static void spice_tablet_wheel(SpiceTabletInstance *sin, int dz, uint32_t state)
{
	spice_tablet_send(spice_of_tablet(sin), -dz, state);
}

static void spice_tablet_buttons(SpiceTabletInstance *sin, uint32_t state)
{
	spice_tablet_send(spice_of_tablet(sin), 0, state);
}

static const SpiceTabletInterface spice_tablet_interface = {
	.base.type = SPICE_INTERFACE_TABLET,
	.base.description = "hangar absolute pointer",
	.base.major_version = SPICE_INTERFACE_TABLET_MAJOR,
	.base.minor_version = SPICE_INTERFACE_TABLET_MINOR,
	.set_logical_size = spice_tablet_set_logical_size,
	.position = spice_tablet_position,
	.wheel = spice_tablet_wheel,
	.buttons = spice_tablet_buttons,
};

/* Client mode needs a tablet interface: attach it while the guest drives
 * an absolute pointer and take it away when not, which sends clients back
 * to server (relative) mode.  Also pass LED changes on. */
static gboolean spice_poll(gpointer data)
{
	HgSpice *s = data;
	bool absolute = hg_input_has_absolute(s->input);
	unsigned leds = hg_input_leds(s->input) & 7;

	if (absolute && !s->tablet_attached)
		spice_server_add_interface(s->server, &s->tablet.base);
	else if (!absolute && s->tablet_attached)
		spice_server_remove_interface(&s->tablet.base);
	s->tablet_attached = absolute;
	if (leds != s->leds) {
		s->leds = leds;
		spice_server_kbd_leds(&s->keyboard, leds);
	}
	return G_SOURCE_CONTINUE;
}

/* ---- spice.sock ---- */

static gboolean spice_accept(gint fd, GIOCondition condition, gpointer data)
{
	HgSpice *s = data;
	int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (client < 0)
		return G_SOURCE_CONTINUE; /* EAGAIN, or the peer left already */
	/* The socket's mode is the authentication: skip the ticket. */
	if (spice_server_add_client(s->server, client, 1) < 0) {
		g_debug("spice: the server refused a client from %s", s->unix_path);
		close(client);
	}
	return G_SOURCE_CONTINUE;
}

static bool spice_listen_unix(HgSpice *s, const char *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;
	bool ok;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "SPICE socket path too long: %s", path);
		return false;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(path);
	/* Created 0600 from the start: no window where others could connect. */
	mode_t old_umask = umask(0177);
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	umask(old_umask);
	if (!ok || listen(fd, 8) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot listen on %s: %s", path, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	s->listen_fd = fd;
	s->unix_path = g_strdup(path);
	s->listen_source = g_unix_fd_source_new(fd, G_IO_IN);
	g_source_set_callback(s->listen_source, G_SOURCE_FUNC(spice_accept), s, NULL);
	g_source_attach(s->listen_source, s->context);
	return true;
}

/* ---- life ---- */

typedef struct {
	HgSpice *spice;
	const HgSpiceConfig *config;
	GError **error;
	bool ok;
} SpiceStart;

static void spice_start(void *data)
{
	SpiceStart *start = data;
	const HgSpiceConfig *config = start->config;
	HgSpice *s = start->spice;

	if (config->unix_path && !spice_listen_unix(s, config->unix_path, start->error))
		return;
	s->core = hg_spice_core_new(s->context);
	s->server = spice_server_new();
	if (config->tcp_host) {
		spice_server_set_addr(s->server, config->tcp_host, 0);
		spice_server_set_port(s->server, config->tcp_port);
		spice_server_set_ticket(s->server, config->ticket, 0, 0, 0);
	}
	if (config->name)
		spice_server_set_name(s->server, config->name);
	if (config->uuid)
		spice_server_set_uuid(s->server, config->uuid);
	if (spice_server_init(s->server, s->core) < 0) {
		/* spice_server_destroy is not safe on a half-initialised
		 * server: leave it, and the core it may point at, to the exit
		 * that follows. */
		s->server = NULL;
		s->core = NULL;
		if (config->tcp_host)
			g_set_error(start->error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cannot listen for SPICE on %s port %d", config->tcp_host,
				    config->tcp_port);
		else
			g_set_error(start->error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cannot start the SPICE server");
		return;
	}
	s->keyboard.base.sif = &spice_kbd_interface.base;
	s->mouse.base.sif = &spice_mouse_interface.base;
	s->tablet.base.sif = &spice_tablet_interface.base;
	spice_server_add_interface(s->server, &s->keyboard.base);
	spice_server_add_interface(s->server, &s->mouse.base);
	s->display = hg_spice_display_new(s->server, s->console);
	spice_poll(s);
	spice_server_vm_start(s->server);

	s->poll_source = g_timeout_source_new(SPICE_POLL_MS);
	g_source_set_callback(s->poll_source, spice_poll, s, NULL);
	g_source_attach(s->poll_source, s->context);
	start->ok = true;
}

HgSpice *hg_spice_new(HgConsole *console, HgInput *input, const HgSpiceConfig *config,
		      GError **error)
{
	HgSpice *s;
	SpiceStart start = {.config = config, .error = error};

	if (config->tcp_host && (!config->ticket || !*config->ticket)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "SPICE over TCP needs a ticket (password)");
		return NULL;
	}
	/* spice-server writes to client sockets with plain write(): a client
	 * gone mid-message must be an EPIPE, not the end of the engine. */
	signal(SIGPIPE, SIG_IGN);
	s = g_new0(HgSpice, 1);
	s->console = console;
	s->input = input;
	s->context = g_main_context_ref(hg_console_context(console));
	s->listen_fd = -1;
	start.spice = s;
	run_on_display_thread(s->context, spice_start, &start);
	if (!start.ok) {
		hg_spice_free(s);
		return NULL;
	}
	return s;
}

static void spice_stop(void *data)
{
	HgSpice *s = data;

	if (s->poll_source) {
		g_source_destroy(s->poll_source);
		g_source_unref(s->poll_source);
	}
	if (s->listen_source) {
		g_source_destroy(s->listen_source);
		g_source_unref(s->listen_source);
	}
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->unix_path);
	}
	hg_spice_display_detach(s->display);
	if (s->server)
		spice_server_destroy(s->server);
	hg_spice_display_free(s->display);
	hg_spice_core_free(s->core);
}

void hg_spice_free(HgSpice *s)
{
	if (!s)
		return;
	run_on_display_thread(s->context, spice_stop, s);
	g_main_context_unref(s->context);
	g_free(s->unix_path);
	g_free(s);
}

typedef struct {
	HgSpice *spice;
	int fd;
	int result;
} SpiceAddClient;

static void spice_add_client_now(void *data)
{
	SpiceAddClient *add = data;
	add->result = spice_server_add_client(add->spice->server, add->fd, 1);
}

bool hg_spice_add_client(HgSpice *s, int fd, GError **error)
{
	SpiceAddClient add = {.spice = s, .fd = fd};

	run_on_display_thread(s->context, spice_add_client_now, &add);
	if (add.result < 0) {
		close(fd);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the SPICE server did not take the connection");
		return false;
	}
	return true;
}

/* ---- options ---- */

bool hg_spice_parse_address(const char *text, char **host, int *port, GError **error)
{
	const char *colon = strrchr(text, ':');
	g_autofree char *name = NULL;
	guint64 number;

	if (!colon || !g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &number, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"%s\" is not HOST:PORT (a port from 1 to 65535)", text);
		return false;
	}
	name = g_strndup(text, colon - text);
	if (name[0] == '[') {
		size_t len = strlen(name);
		if (len < 2 || name[len - 1] != ']') {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "\"%s\": an IPv6 address goes in brackets, [::1]:5900", text);
			return false;
		}
		memmove(name, name + 1, len - 2);
		name[len - 2] = '\0';
	}
	*host = g_steal_pointer(&name);
	*port = (int)number;
	return true;
}

char *hg_spice_read_ticket(const char *path, GError **error)
{
	g_autofree char *contents = NULL;

	if (!g_file_get_contents(path, &contents, NULL, error))
		return NULL;
	contents[strcspn(contents, "\r\n")] = '\0';
	if (!*contents || strlen(contents) > SPICE_MAX_PASSWORD_LENGTH) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: the SPICE password must be 1 to %d bytes on the first line", path,
			    SPICE_MAX_PASSWORD_LENGTH);
		return NULL;
	}
	return g_steal_pointer(&contents);
}

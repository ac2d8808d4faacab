#include "engine/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define PENDING_OUTPUT_LIMIT (1u << 20) /* kept for a socket client that is not there yet */
#define INPUT_BUFFER 4096
#define ESCAPE_CHAR 0x01 /* Ctrl-A, as in QEMU's -nographic */
/* The output log is rotated at this size: FILE becomes FILE.old, so the
 * last 128-256 KiB are kept whatever the guest prints. */
#define LOG_ROTATE_SIZE (128 * 1024)

typedef enum { CHARDEV_NONE, CHARDEV_STDIO, CHARDEV_FILE, CHARDEV_UNIX } ChardevKind;

struct HgChardev {
	ChardevKind kind;
	int out_fd; /* -1 when nothing to write to */
	int in_fd; /* -1 when no input */
	int listen_fd;
	char *socket_path;
	guint listen_watch;
	guint in_watch;
	guint out_watch; /* while pending output waits for the socket; out_lock */

	GMutex out_lock; /* guards out_fd writes, pending and the log */
	GByteArray *pending;
	uint64_t dropped;
	/* unix:PATH,log=FILE: a copy of the output that outlives the engine
	 * (the app shows its last lines when an engine dies). */
	int log_fd;
	char *log_path;
	size_t log_size;
	/* The UART hands over a byte per vCPU exit: the log is written a
	 * line at a time, not a syscall per byte (a crash loses at most the
	 * line being printed). */
	uint8_t log_line[256];
	size_t log_line_len;

	uint8_t input[INPUT_BUFFER];
	size_t input_len;
	bool escape_seen;
	int accept_scheduled; /* atomic: an idle will deliver input */
	bool tty_raw;
	struct termios saved_tty;

	const HgChardevHandlers *handlers;
	void *handler_data;
	void (*quit)(void *);
	void *quit_data;
	bool wait_for_client; /* unix:PATH,wait */
	void (*connected)(void *);
	void *connected_data;
};

static struct termios *restore_tty_at_exit;

static void chardev_restore_tty(void)
{
	if (restore_tty_at_exit)
		tcsetattr(STDIN_FILENO, TCSANOW, restore_tty_at_exit);
}

static void chardev_deliver_input(HgChardev *chr)
{
	size_t room, n;

	if (!chr->handlers || !chr->input_len)
		return;
	room = chr->handlers->can_receive(chr->handler_data);
	n = MIN(room, chr->input_len);
	if (!n)
		return;
	chr->handlers->receive(chr->handler_data, chr->input, n);
	memmove(chr->input, chr->input + n, chr->input_len - n);
	chr->input_len -= n;
}

/* Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A; the rest passes through. */
static size_t chardev_filter_escape(HgChardev *chr, uint8_t *buf, size_t len)
{
	size_t out = 0;

	if (chr->kind != CHARDEV_STDIO || !chr->tty_raw)
		return len;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];
		if (chr->escape_seen) {
			chr->escape_seen = false;
			if (c == 'x' || c == 'X') {
				if (chr->quit)
					chr->quit(chr->quit_data);
				continue;
			}
			if (c != ESCAPE_CHAR)
				continue;
		} else if (c == ESCAPE_CHAR) {
			chr->escape_seen = true;
			continue;
		}
		buf[out++] = c;
	}
	return out;
}

static void chardev_client_gone(HgChardev *chr);

static gboolean chardev_input_ready(int fd, GIOCondition cond, gpointer data)
{
	HgChardev *chr = data;
	ssize_t n;

	if (chr->input_len == INPUT_BUFFER) {
		/* The device is full; stop polling until it accepts input. */
		chr->in_watch = 0;
		return G_SOURCE_REMOVE;
	}
	n = read(fd, chr->input + chr->input_len, INPUT_BUFFER - chr->input_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		chr->in_watch = 0;
		if (chr->kind == CHARDEV_UNIX)
			chardev_client_gone(chr);
		return G_SOURCE_REMOVE;
	}
	chr->input_len += chardev_filter_escape(chr, chr->input + chr->input_len, n);
	chardev_deliver_input(chr);
	return G_SOURCE_CONTINUE;
}

static void chardev_watch_input(HgChardev *chr)
{
	if (chr->in_fd >= 0 && !chr->in_watch)
		chr->in_watch = g_unix_fd_add(chr->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					      chardev_input_ready, chr);
}

static gboolean chardev_accept_input_idle(gpointer data)
{
	HgChardev *chr = data;

	g_atomic_int_set(&chr->accept_scheduled, 0);
	chardev_deliver_input(chr);
	if (chr->input_len < INPUT_BUFFER)
		chardev_watch_input(chr);
	return G_SOURCE_REMOVE;
}

/* Called by a device (often on a vCPU thread, device lock held): input is
 * handed over later on the main thread, which takes the lock itself. */
void hg_chardev_accept_input(HgChardev *chr)
{
	if (!chr || !chr->input_len)
		return;
	if (g_atomic_int_compare_and_exchange(&chr->accept_scheduled, 0, 1))
		g_idle_add(chardev_accept_input_idle, chr);
}

/* Writes what it can without blocking a socket peer; returns how many
 * bytes went out.  out_lock held. */
static size_t chardev_write_some_locked(HgChardev *chr, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = chr->kind == CHARDEV_UNIX
				    ? send(chr->out_fd, buf + done, len - done,
					   MSG_DONTWAIT | MSG_NOSIGNAL)
				    : write(chr->out_fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += n;
	}
	return done;
}

static gboolean chardev_output_ready(int fd, GIOCondition cond, gpointer data);

/* Send what is kept for the socket client, and keep a watch while some is
 * left.  out_lock held. */
static void chardev_drain_pending_locked(HgChardev *chr)
{
	if (chr->out_fd < 0 || !chr->pending->len)
		return;
	size_t n = chardev_write_some_locked(chr, chr->pending->data, chr->pending->len);
	g_byte_array_remove_range(chr->pending, 0, n);
	if (chr->pending->len && !chr->out_watch)
		chr->out_watch = g_unix_fd_add(chr->out_fd, G_IO_OUT, chardev_output_ready, chr);
}

static gboolean chardev_output_ready(int fd, GIOCondition cond, gpointer data)
{
	HgChardev *chr = data;
	bool more;

	g_mutex_lock(&chr->out_lock);
	size_t n = chardev_write_some_locked(chr, chr->pending->data, chr->pending->len);
	g_byte_array_remove_range(chr->pending, 0, n);
	more = chr->pending->len > 0;
	if (!more)
		chr->out_watch = 0;
	g_mutex_unlock(&chr->out_lock);
	return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static int chardev_open_log(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
}

/* Writes the collected line to the log, rotating it when it is full.  A
 * failing log is dropped: it must never stop the guest's output. */
static void chardev_log_flush_locked(HgChardev *chr)
{
	size_t len = chr->log_line_len;

	chr->log_line_len = 0;
	if (chr->log_fd < 0 || len == 0)
		return;
	if (chr->log_size + len > LOG_ROTATE_SIZE) {
		g_autofree char *old = g_strconcat(chr->log_path, ".old", NULL);

		close(chr->log_fd);
		rename(chr->log_path, old);
		chr->log_fd = chardev_open_log(chr->log_path);
		chr->log_size = 0;
		if (chr->log_fd < 0)
			return;
	}
	if (write(chr->log_fd, chr->log_line, len) != (ssize_t)len) {
		close(chr->log_fd);
		chr->log_fd = -1;
		return;
	}
	chr->log_size += len;
}

static void chardev_log_locked(HgChardev *chr, const uint8_t *buf, size_t len)
{
	if (chr->log_fd < 0)
		return;
	for (size_t i = 0; i < len; i++) {
		chr->log_line[chr->log_line_len++] = buf[i];
		if (buf[i] == '\n' || chr->log_line_len == sizeof(chr->log_line))
			chardev_log_flush_locked(chr);
	}
}

void hg_chardev_write(HgChardev *chr, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	if (!chr || chr->kind == CHARDEV_NONE)
		return;
	g_mutex_lock(&chr->out_lock);
	chardev_log_locked(chr, buf, len);
	if (chr->out_fd >= 0 && chr->pending->len == 0)
		done = chardev_write_some_locked(chr, buf, len);
	if (done < len) {
		/* No client, or it is not reading: keep the output for later,
		 * bounded, like a UART with no flow control that loses what
		 * nobody takes. */
		if (chr->kind == CHARDEV_UNIX && chr->pending->len + (len - done) <= PENDING_OUTPUT_LIMIT) {
			g_byte_array_append(chr->pending, buf + done, len - done);
			chardev_drain_pending_locked(chr);
		} else {
			chr->dropped += len - done;
		}
	}
	g_mutex_unlock(&chr->out_lock);
}

static void chardev_flush_pending(HgChardev *chr)
{
	g_mutex_lock(&chr->out_lock);
	chardev_drain_pending_locked(chr);
	g_mutex_unlock(&chr->out_lock);
}

static void chardev_client_gone(HgChardev *chr)
{
	g_mutex_lock(&chr->out_lock);
	if (chr->out_watch) {
		g_source_remove(chr->out_watch);
		chr->out_watch = 0;
	}
	if (chr->out_fd >= 0)
		close(chr->out_fd);
	chr->out_fd = chr->in_fd = -1;
	g_mutex_unlock(&chr->out_lock);
	chr->input_len = 0;
}

static gboolean chardev_accept_client(int fd, GIOCondition cond, gpointer data)
{
	HgChardev *chr = data;
	int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (client < 0)
		return G_SOURCE_CONTINUE;
	if (chr->out_fd >= 0) {
		/* One client at a time, like a real serial line. */
		static const char busy[] = "hangar: serial console already in use\r\n";
		(void)!write(client, busy, sizeof(busy) - 1);
		close(client);
		return G_SOURCE_CONTINUE;
	}
	g_mutex_lock(&chr->out_lock);
	chr->out_fd = chr->in_fd = client;
	g_mutex_unlock(&chr->out_lock);
	chardev_flush_pending(chr);
	chardev_watch_input(chr);
	if (chr->wait_for_client) {
		chr->wait_for_client = false;
		if (chr->connected)
			chr->connected(chr->connected_data);
	}
	return G_SOURCE_CONTINUE;
}

static int chardev_listen_unix(const char *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "socket path too long: %s", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 4) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot listen on %s: %s", path, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void chardev_make_tty_raw(HgChardev *chr)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &chr->saved_tty) < 0)
		return;
	raw = chr->saved_tty;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR; /* keep the host's own messages readable */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return;
	chr->tty_raw = true;
	restore_tty_at_exit = &chr->saved_tty;
	atexit(chardev_restore_tty);
}

HgChardev *hg_chardev_new(const char *spec, GError **error)
{
	g_autofree HgChardev *chr = g_new0(HgChardev, 1);

	chr->out_fd = chr->in_fd = chr->listen_fd = chr->log_fd = -1;
	g_mutex_init(&chr->out_lock);
	chr->pending = g_byte_array_new();
	if (!spec || strcmp(spec, "none") == 0) {
		chr->kind = CHARDEV_NONE;
	} else if (strcmp(spec, "stdio") == 0) {
		chr->kind = CHARDEV_STDIO;
		chr->out_fd = STDOUT_FILENO;
		chr->in_fd = STDIN_FILENO;
		chardev_make_tty_raw(chr);
		chardev_watch_input(chr);
	} else if (g_str_has_prefix(spec, "file:")) {
		chr->kind = CHARDEV_FILE;
		chr->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (chr->out_fd < 0) {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
				    "cannot open %s: %s", spec + 5, g_strerror(errno));
			g_byte_array_unref(chr->pending);
			return NULL;
		}
	} else if (g_str_has_prefix(spec, "unix:")) {
		g_auto(GStrv) parts = g_strsplit(spec + 5, ",", -1);
		g_autofree char *path = g_strdup(parts[0]);
		chr->kind = CHARDEV_UNIX;
		for (char **option = parts + 1; *option; option++) {
			if (strcmp(*option, "wait") == 0) {
				chr->wait_for_client = true;
			} else if (g_str_has_prefix(*option, "log=") && (*option)[4]) {
				g_free(chr->log_path);
				chr->log_path = g_strdup(*option + 4);
			} else {
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					    "unknown option \"%s\" in \"%s\" (unix:PATH takes wait and "
					    "log=FILE)", *option, spec);
				g_free(chr->log_path);
				g_byte_array_unref(chr->pending);
				return NULL;
			}
		}
		if (chr->log_path && (chr->log_fd = chardev_open_log(chr->log_path)) < 0) {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
				    "cannot open %s: %s", chr->log_path, g_strerror(errno));
			g_free(chr->log_path);
			g_byte_array_unref(chr->pending);
			return NULL;
		}
		chr->listen_fd = chardev_listen_unix(path, error);
		if (chr->listen_fd < 0) {
			if (chr->log_fd >= 0)
				close(chr->log_fd);
			g_free(chr->log_path);
			g_byte_array_unref(chr->pending);
			return NULL;
		}
		chr->socket_path = g_steal_pointer(&path);
		chr->listen_watch = g_unix_fd_add(chr->listen_fd, G_IO_IN, chardev_accept_client,
						  chr);
	} else {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "unknown serial backend \"%s\" (use stdio, file:PATH, unix:PATH or none)",
			    spec);
		g_byte_array_unref(chr->pending);
		return NULL;
	}
	return g_steal_pointer(&chr);
}

void hg_chardev_free(HgChardev *chr)
{
	if (!chr)
		return;
	if (chr->in_watch)
		g_source_remove(chr->in_watch);
	if (chr->listen_watch)
		g_source_remove(chr->listen_watch);
	if (chr->out_watch)
		g_source_remove(chr->out_watch);
	if (chr->kind == CHARDEV_UNIX || chr->kind == CHARDEV_FILE) {
		if (chr->out_fd >= 0)
			close(chr->out_fd);
	}
	if (chr->listen_fd >= 0) {
		close(chr->listen_fd);
		unlink(chr->socket_path);
	}
	chardev_log_flush_locked(chr);
	if (chr->log_fd >= 0)
		close(chr->log_fd);
	g_free(chr->log_path);
	if (chr->tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &chr->saved_tty);
		restore_tty_at_exit = NULL;
	}
	g_free(chr->socket_path);
	g_byte_array_unref(chr->pending);
	g_mutex_clear(&chr->out_lock);
	g_free(chr);
}

void hg_chardev_set_handlers(HgChardev *chr, const HgChardevHandlers *h, void *opaque)
{
	chr->handlers = h;
	chr->handler_data = opaque;
}

bool hg_chardev_waiting_for_client(HgChardev *chr)
{
	return chr && chr->wait_for_client;
}

void hg_chardev_set_connect_handler(HgChardev *chr, void (*connected)(void *), void *opaque)
{
	chr->connected = connected;
	chr->connected_data = opaque;
}

void hg_chardev_set_quit_handler(HgChardev *chr, void (*quit)(void *), void *opaque)
{
	chr->quit = quit;
	chr->quit_data = opaque;
}

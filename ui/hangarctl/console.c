/* hangarctl console: the terminal (or a pair of pipes) on a running VM's
 * COM1, through the engine's serial.sock.
 *
 * The engine serves one client at a time and keeps up to 1 MiB of output
 * for a client that is not there yet (engine/chardev.c), so the first
 * console sees the boot messages.  A plain poll() loop rather than a main
 * loop: three file descriptors, and every way out must restore the
 * terminal. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "ui/hangarctl/hangarctl.h"

#define QUIT_KEY 0x1d /* Ctrl-], as telnet and virsh console */
#define BUFFER_SIZE 4096
/* The engine's answer to a second client, then it closes the connection. */
#define BUSY_TEXT "hangar: serial console already in use\r\n"

static struct termios saved_termios;
static bool termios_saved;
static int signal_pipe[2] = {-1, -1};

static void restore_terminal(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
	termios_saved = false;
}

/* Async-signal-safe: the loop sees the byte and ends, restoring the
 * terminal on its way out. */
static void on_signal(int signo)
{
	int saved_errno = errno;
	char c = (char)signo;

	(void)!write(signal_pipe[1], &c, 1);
	errno = saved_errno;
}

static void install_signal_handlers(void)
{
	static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	struct sigaction action = {.sa_handler = on_signal};

	sigemptyset(&action.sa_mask);
	for (size_t i = 0; i < G_N_ELEMENTS(signals); i++)
		sigaction(signals[i], &action, NULL);
	/* A closed stdout (the reader of a pipe left) shows as EPIPE. */
	signal(SIGPIPE, SIG_IGN);
}

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

static int connect_serial(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int saved_errno = errno;

		close(fd);
		errno = saved_errno;
		return -1;
	}
	return fd;
}

/* The engine's first words may be its refusal; a refusal is followed by
 * the connection closing, which a busy guest's output is not. */
static bool is_busy_refusal(int fd, const char *buf, size_t len)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char probe;

	if (len != strlen(BUSY_TEXT) || memcmp(buf, BUSY_TEXT, len))
		return false;
	if (poll(&pfd, 1, 1000) <= 0)
		return false;
	return recv(fd, &probe, 1, MSG_PEEK) == 0;
}

typedef enum {
	END_QUIT_KEY,
	END_CLOSED,
	END_STDOUT_CLOSED,
	END_SIGNAL,
	END_TIMEOUT,
	END_BUSY,
	END_ERROR,
} ConsoleEnd;

static ConsoleEnd relay(int sock, bool tty, int timeout_s)
{
	gint64 deadline =
		timeout_s > 0 ? g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC : 0;
	bool stdin_open = true, first = true;
	char buf[BUFFER_SIZE];

	for (;;) {
		struct pollfd fds[3] = {
			{.fd = sock, .events = POLLIN},
			{.fd = signal_pipe[0], .events = POLLIN},
			{.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
		};
		int wait_ms = -1;
		ssize_t n;

		if (deadline) {
			gint64 left = deadline - g_get_monotonic_time();

			if (left <= 0)
				return END_TIMEOUT;
			wait_ms = (int)MIN(left / 1000 + 1, G_MAXINT);
		}
		if (poll(fds, G_N_ELEMENTS(fds), wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			return END_ERROR;
		}
		if (fds[1].revents)
			return END_SIGNAL;
		if (fds[0].revents) {
			n = recv(sock, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return END_CLOSED;
			if (first && is_busy_refusal(sock, buf, n))
				return END_BUSY;
			first = false;
			if (!write_all(STDOUT_FILENO, buf, n))
				return END_STDOUT_CLOSED;
		}
		if (fds[2].revents) {
			char *quit;

			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* A script's input ended; its output may not have. */
				if (tty)
					return END_QUIT_KEY;
				stdin_open = false;
				continue;
			}
			quit = tty ? memchr(buf, QUIT_KEY, n) : NULL;
			if (quit)
				n = quit - buf;
			if (n && !write_all(sock, buf, n))
				return END_CLOSED;
			if (quit)
				return END_QUIT_KEY;
		}
	}
}

int hgctl_cmd_console(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("console");
	int timeout = 0;
	const GOptionEntry entries[] = {
		{"timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
		 N_("End the console after SEC seconds (0, the default: never)"), N_("SEC")},
		{NULL},
	};
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, entries);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autofree char *path = NULL;
	int exit_code = HGCTL_EXIT_OK;
	bool tty;
	ConsoleEnd end;
	HgVmState state;
	int sock;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 1, 1))
		return HGCTL_EXIT_USAGE;
	if (timeout < 0)
		return hgctl_fail_usage(_("--timeout must not be negative"));
	if (!(lib = hgctl_open_library(&exit_code)))
		return exit_code;
	if (!(entry = hgctl_lookup_vm(lib, argv[1], true, &exit_code)))
		return exit_code;
	state = hg_vm_probe_state(entry->id);
	if (state != HG_VM_STATE_RUNNING && state != HG_VM_STATE_PAUSED)
		return hgctl_fail(HGCTL_EXIT_STATE, "not-running", _("VM \"%s\" is not running"),
				  hgctl_vm_label(entry));
	path = hg_vm_runtime_file(entry->id, "serial.sock");
	sock = connect_serial(path);
	if (sock < 0) {
		if (errno == ECONNREFUSED && hg_vm_probe_state(entry->id) == HG_VM_STATE_STOPPED)
			return hgctl_fail(HGCTL_EXIT_STATE, "not-running",
					  _("VM \"%s\" is not running"), hgctl_vm_label(entry));
		return hgctl_fail(HGCTL_EXIT_FAILED, "io",
				  _("cannot connect to the serial console of VM \"%s\" (%s): %s"),
				  hgctl_vm_label(entry), path, g_strerror(errno));
	}

	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		close(sock);
		return hgctl_fail(HGCTL_EXIT_FAILED, "io", "%s", g_strerror(errno));
	}
	install_signal_handlers();
	tty = isatty(STDIN_FILENO);
	if (tty && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
		struct termios raw = saved_termios;

		termios_saved = true;
		/* Restored on every exit path, even one this file forgets. */
		atexit(restore_terminal);
		fprintf(stderr, _("Connected to the serial console of VM \"%s\"; Ctrl-] quits.\n"),
			hgctl_vm_label(entry));
		cfmakeraw(&raw);
		/* Guests that end lines with a bare \n (the guest-kit ones) stay
		 * readable; a \r\n guest costs one extra \r.  As the engine's
		 * own stdio console does. */
		raw.c_oflag |= OPOST | ONLCR;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	}

	end = relay(sock, tty, timeout);
	restore_terminal();
	close(sock);

	switch (end) {
	case END_BUSY:
		return hgctl_fail(HGCTL_EXIT_FAILED, "busy",
				  _("the serial console of VM \"%s\" is in use by another client"),
				  hgctl_vm_label(entry));
	case END_ERROR:
		return hgctl_fail(HGCTL_EXIT_FAILED, "io", "%s", g_strerror(errno));
	case END_CLOSED:
		if (tty)
			fprintf(stderr,
				_("\nThe serial console of VM \"%s\" closed: the VM "
				  "stopped.\n"),
				hgctl_vm_label(entry));
		return HGCTL_EXIT_OK;
	case END_QUIT_KEY:
		if (tty)
			fputs("\n", stderr);
		return HGCTL_EXIT_OK;
	case END_STDOUT_CLOSED:
	case END_SIGNAL:
	case END_TIMEOUT:
		return HGCTL_EXIT_OK;
	}
	return HGCTL_EXIT_OK;
}

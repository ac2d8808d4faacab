/* hangarctl's commands on running VMs: start, stop, pause, resume, reset,
 * screenshot.  All but start talk to the engine over its control socket
 * (docs/control-protocol.md). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ui/hangarctl/hangarctl.h"
#include "library/vm/control_client.h"

#define POLL_INTERVAL_US (100 * 1000)
#define DEFAULT_STOP_TIMEOUT_S 60
/* quit is answered before the engine exits; it is gone soon after. */
#define FORCE_STOP_TIMEOUT_S 10

static bool state_is_up(HgVmState state)
{
	return state == HG_VM_STATE_RUNNING || state == HG_VM_STATE_PAUSED;
}

static int fail_not_running(const HgVmEntry *entry)
{
	return hgctl_fail(HGCTL_EXIT_STATE, "not-running", _("VM \"%s\" is not running"),
			  hgctl_vm_label(entry));
}

/* A connection to a running VM's engine; NULL (the error printed, exit code
 * set) when it is not running. */
static HangarControlClient *connect_engine(const HgVmEntry *entry, int *exit_code)
{
	g_autofree char *socket_path = hg_vm_runtime_file(entry->id, "control.sock");
	g_autoptr(GError) error = NULL;
	HangarControlClient *client;

	if (!state_is_up(hg_vm_probe_state(entry->id))) {
		*exit_code = fail_not_running(entry);
		return NULL;
	}
	client = hangar_control_client_connect_sync(socket_path, NULL, &error);
	if (!client) {
		/* It may have stopped between the probe and now. */
		if (!state_is_up(hg_vm_probe_state(entry->id)))
			*exit_code = fail_not_running(entry);
		else
			*exit_code = hgctl_fail(HGCTL_EXIT_FAILED, "engine",
						_("cannot connect to VM \"%s\": %s"),
						hgctl_vm_label(entry), error->message);
	}
	return client;
}

static bool execute(HangarControlClient *client, const HgVmEntry *entry, const char *command,
		    JsonObject *arguments, JsonObject **result, int *exit_code)
{
	g_autoptr(GError) error = NULL;
	JsonObject *reply =
		hangar_control_client_execute_sync(client, command, arguments, NULL, &error);

	if (!reply) {
		*exit_code = hgctl_fail(HGCTL_EXIT_FAILED, "engine", _("VM \"%s\": %s: %s"),
					hgctl_vm_label(entry), command, error->message);
		return false;
	}
	if (result)
		*result = reply;
	else
		json_object_unref(reply);
	return true;
}

/* Looks up the VM and connects to its engine: the start of every command
 * here but start. */
static HangarControlClient *open_running_vm(const char *id_or_name, HgVmLibrary **lib,
					    HgVmEntry **entry, int *exit_code)
{
	*lib = hgctl_open_library(exit_code);
	if (!*lib)
		return NULL;
	*entry = hgctl_lookup_vm(*lib, id_or_name, true, exit_code);
	if (!*entry)
		return NULL;
	return connect_engine(*entry, exit_code);
}

/* The result of a state change: the VM as info shows it, or a line. */
static void print_vm_result(const HgVmEntry *entry, const char *message)
{
	HgVmState state = hg_vm_probe_state(entry->id);

	if (hgctl_globals.json)
		hgctl_print_json(hgctl_vm_to_json(entry, state));
	else
		printf("%s\n", message);
}

/* A pidfd for the VM's engine, found through its control socket (the
 * listener's credentials are the engine's), or -1.  Engines run in their
 * own session, so hangarctl is not their parent and cannot wait for them;
 * a pidfd turns readable when the engine has exited, which is after it
 * wrote exit.json, while the control socket goes quiet before that. */
static int open_engine_pidfd(const HgVmEntry *entry)
{
	g_autofree char *path = hg_vm_runtime_file(entry->id, "control.sock");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct ucred cred;
	socklen_t length = sizeof(cred);
	int fd, pidfd = -1;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -1;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* While connected the engine is alive, so its pid is not reused
	 * before the pidfd holds it. */
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0 && cred.pid > 0)
		pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
	close(fd);
	return pidfd;
}

/* Until the engine is gone: on its pidfd when there is one, else by asking
 * its control socket every POLL_INTERVAL_US. */
static bool wait_until_stopped(const HgVmEntry *entry, int pidfd, int timeout_s)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;

	if (pidfd >= 0) {
		for (;;) {
			struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
			gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
			int n = poll(&pfd, 1, (int)CLAMP(left_ms, 0, G_MAXINT));

			if (n > 0)
				return true;
			if (n == 0)
				return false;
			if (errno != EINTR)
				break;
		}
	}
	while (state_is_up(hg_vm_probe_state(entry->id))) {
		if (g_get_monotonic_time() >= deadline)
			return false;
		g_usleep(POLL_INTERVAL_US);
	}
	return true;
}

/* ---- start ---- */

typedef struct {
	GMainLoop *loop;
	int wait_status;
	char *reason;
} StartWait;

static void on_engine_exit(const char *vm_id, int wait_status, const char *reason,
			   gpointer user_data)
{
	StartWait *wait = user_data;

	wait->wait_status = wait_status;
	wait->reason = g_strdup(reason);
	g_main_loop_quit(wait->loop);
}

static int report_engine_exit(const HgVmEntry *entry, const StartWait *wait)
{
	bool clean = WIFEXITED(wait->wait_status) && WEXITSTATUS(wait->wait_status) == 0;
	const char *label = hgctl_vm_label(entry);

	if (hgctl_globals.json) {
		JsonObject *object = hgctl_vm_to_json(entry, hg_vm_probe_state(entry->id));
		JsonObject *exit = json_object_new();

		if (WIFEXITED(wait->wait_status))
			json_object_set_int_member(exit, "status", WEXITSTATUS(wait->wait_status));
		else if (WIFSIGNALED(wait->wait_status))
			json_object_set_int_member(exit, "signal", WTERMSIG(wait->wait_status));
		json_object_set_boolean_member(exit, "clean", clean);
		json_object_set_string_member(exit, "reason", wait->reason ? wait->reason : "");
		json_object_set_object_member(object, "exit", exit);
		hgctl_print_json(object);
	} else if (clean) {
		printf(_("VM \"%s\" stopped: %s\n"), label, wait->reason ? wait->reason : "");
	} else {
		fprintf(stderr, _("hangarctl: VM \"%s\" ended badly: %s\n"), label,
			wait->reason ? wait->reason : "");
	}
	return clean ? HGCTL_EXIT_OK : HGCTL_EXIT_FAILED;
}

int hgctl_cmd_start(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("start");
	gboolean paused = FALSE, wait = FALSE;
	const GOptionEntry entries[] = {
		{"paused", 0, 0, G_OPTION_ARG_NONE, &paused,
		 N_("Start paused (resume runs the guest)"), NULL},
		{"wait", 0, 0, G_OPTION_ARG_NONE, &wait,
		 N_("Wait until the VM's engine exits and report how it ended"), NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, entries);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GSubprocess) engine = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *message = NULL;
	StartWait start_wait = {0};
	int exit_code = HGCTL_EXIT_OK;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 1, 1))
		return HGCTL_EXIT_USAGE;
	if (!(lib = hgctl_open_library(&exit_code)))
		return exit_code;
	if (!(entry = hgctl_lookup_vm(lib, argv[1], true, &exit_code)))
		return exit_code;
	engine = hg_engine_start(entry, paused, NULL, &error);
	if (!engine) {
		if (g_error_matches(error, HG_VM_ERROR, HG_VM_ERROR_RUNNING))
			return hgctl_fail(HGCTL_EXIT_STATE, "running",
					  _("VM \"%s\" is already running"), hgctl_vm_label(entry));
		return hgctl_fail_error(error);
	}
	message = g_strdup_printf(paused ? _("Started VM \"%s\", paused") : _("Started VM \"%s\""),
				  hgctl_vm_label(entry));
	if (!wait) {
		/* The engine lives in its own session: leaving it is enough. */
		print_vm_result(entry, message);
		return HGCTL_EXIT_OK;
	}
	if (!hgctl_globals.json) {
		printf("%s\n", message);
		fflush(stdout);
	}
	start_wait.loop = g_main_loop_new(NULL, FALSE);
	hg_engine_watch(engine, entry->id, on_engine_exit, &start_wait);
	g_main_loop_run(start_wait.loop);
	g_main_loop_unref(start_wait.loop);
	exit_code = report_engine_exit(entry, &start_wait);
	g_free(start_wait.reason);
	return exit_code;
}

/* ---- stop ---- */

static bool send_stop(HangarControlClient *client, const HgVmEntry *entry, bool force,
		      int *exit_code)
{
	if (force) {
		if (!execute(client, entry, "quit", NULL, NULL, exit_code))
			return false;
	} else {
		/* A paused guest cannot see the power button. */
		if (hg_vm_probe_state(entry->id) == HG_VM_STATE_PAUSED &&
		    !execute(client, entry, "cont", NULL, NULL, exit_code))
			return false;
		if (!execute(client, entry, "system_powerdown", NULL, NULL, exit_code))
			return false;
	}
	/* Let go of our connection, so it does not count against the
	 * engine's clients while we wait. */
	hangar_control_client_close(client);
	return true;
}

bool hgctl_force_stop(const HgVmEntry *entry, int *exit_code)
{
	g_autoptr(HangarControlClient) client = connect_engine(entry, exit_code);
	int pidfd;
	bool stopped;

	if (!client)
		return false;
	pidfd = open_engine_pidfd(entry);
	stopped = send_stop(client, entry, true, exit_code) &&
		  wait_until_stopped(entry, pidfd, FORCE_STOP_TIMEOUT_S);
	if (pidfd >= 0)
		close(pidfd);
	if (!stopped && *exit_code == HGCTL_EXIT_OK)
		*exit_code = hgctl_fail(HGCTL_EXIT_FAILED, "timeout",
					_("VM \"%s\" did not exit within %d s"),
					hgctl_vm_label(entry), FORCE_STOP_TIMEOUT_S);
	return stopped;
}

int hgctl_cmd_stop(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("stop");
	gboolean force = FALSE;
	int timeout = DEFAULT_STOP_TIMEOUT_S;
	const GOptionEntry entries[] = {
		{"force", 0, 0, G_OPTION_ARG_NONE, &force,
		 N_("End the engine at once instead of asking the guest"), NULL},
		{"timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
		 N_("How long to wait for the guest to power off (default 60)"), N_("SEC")},
		{NULL},
	};
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, entries);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(HangarControlClient) client = NULL;
	g_autofree char *message = NULL;
	int exit_code = HGCTL_EXIT_OK;
	int pidfd;
	bool stopped;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 1, 1))
		return HGCTL_EXIT_USAGE;
	if (timeout < 0)
		return hgctl_fail_usage(_("--timeout must not be negative"));
	client = open_running_vm(argv[1], &lib, &entry, &exit_code);
	if (!client)
		return exit_code;
	/* Before the engine is asked to go, while it surely is there. */
	pidfd = open_engine_pidfd(entry);
	if (force)
		timeout = MAX(timeout, FORCE_STOP_TIMEOUT_S);
	stopped = send_stop(client, entry, force, &exit_code) &&
		  wait_until_stopped(entry, pidfd, timeout);
	if (pidfd >= 0)
		close(pidfd);
	if (exit_code != HGCTL_EXIT_OK)
		return exit_code;
	if (!stopped) {
		if (force)
			return hgctl_fail(HGCTL_EXIT_FAILED, "timeout",
					  _("VM \"%s\" did not exit within %d s"),
					  hgctl_vm_label(entry), timeout);
		return hgctl_fail(HGCTL_EXIT_FAILED, "timeout",
				  _("VM \"%s\" did not power off within %d s; its guest may "
				    "ignore the power button (stop --force ends it at once)"),
				  hgctl_vm_label(entry), timeout);
	}
	message = g_strdup_printf(_("Stopped VM \"%s\""), hgctl_vm_label(entry));
	print_vm_result(entry, message);
	return HGCTL_EXIT_OK;
}

/* ---- pause, resume, reset ---- */

/* One control command on a running VM, then the VM's state. */
static int simple_command(const char *name, int argc, char **argv, const char *execute_name,
			  const char *done_format)
{
	const HgctlCommand *command = hgctl_find_command(name);
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, NULL);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(HangarControlClient) client = NULL;
	g_autofree char *message = NULL;
	int exit_code = HGCTL_EXIT_OK;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 1, 1))
		return HGCTL_EXIT_USAGE;
	client = open_running_vm(argv[1], &lib, &entry, &exit_code);
	if (!client)
		return exit_code;
	if (!execute(client, entry, execute_name, NULL, NULL, &exit_code))
		return exit_code;
	hangar_control_client_close(client);
	message = g_strdup_printf(done_format, hgctl_vm_label(entry));
	print_vm_result(entry, message);
	return HGCTL_EXIT_OK;
}

/* Pausing a paused VM and resuming a running one succeed: the VM ends in
 * the state asked for, which is what a script wants to know. */
int hgctl_cmd_pause(int argc, char **argv)
{
	return simple_command("pause", argc, argv, "stop", _("Paused VM \"%s\""));
}

int hgctl_cmd_resume(int argc, char **argv)
{
	return simple_command("resume", argc, argv, "cont", _("Resumed VM \"%s\""));
}

int hgctl_cmd_reset(int argc, char **argv)
{
	return simple_command("reset", argc, argv, "system_reset", _("Reset VM \"%s\""));
}

/* ---- screenshot ---- */

int hgctl_cmd_screenshot(int argc, char **argv)
{
	const HgctlCommand *command = hgctl_find_command("screenshot");
	g_autoptr(GOptionContext) context = hgctl_option_context_new(command, NULL);
	g_autoptr(HgVmLibrary) lib = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(HangarControlClient) client = NULL;
	g_autoptr(JsonObject) arguments = json_object_new();
	g_autofree char *file = NULL;
	int exit_code = HGCTL_EXIT_OK;

	if (!hgctl_parse_options(context, command, &argc, &argv))
		return HGCTL_EXIT_USAGE;
	if (!hgctl_expect_arguments(command, argc, 2, 2))
		return HGCTL_EXIT_USAGE;
	/* The engine runs in another folder: give it an absolute path. */
	file = g_canonicalize_filename(argv[2], NULL);
	client = open_running_vm(argv[1], &lib, &entry, &exit_code);
	if (!client)
		return exit_code;
	json_object_set_string_member(arguments, "filename", file);
	if (!execute(client, entry, "screendump", arguments, NULL, &exit_code))
		return exit_code;
	if (hgctl_globals.json) {
		JsonObject *object = json_object_new();

		json_object_set_string_member(object, "id", entry->id);
		json_object_set_string_member(object, "name", entry->config->name);
		json_object_set_string_member(object, "file", file);
		hgctl_print_json(object);
	} else {
		printf(_("Saved the screen of VM \"%s\" to %s\n"), hgctl_vm_label(entry), file);
	}
	return HGCTL_EXIT_OK;
}

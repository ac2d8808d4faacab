/* The real engine, started through vm_runtime and driven through the
 * control client: the guest-kit demo guest (tests/guests/demo.c), booted as
 * a direct-kernel VM, keeps running and prints on COM1.  Needs /dev/kvm;
 * the cases that need no engine run anyway. */
#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "library/vm/control_client.h"
#include "library/vm/vm_library.h"
#include "library/vm/vm_runtime.h"

static char *tmp_root;
static char *guest_path;
static HgVmLibrary *lib;

static bool kvm_usable(void)
{
	if (access("/dev/kvm", R_OK | W_OK) == 0)
		return true;
	g_test_skip("/dev/kvm is missing or not writable: the engine cannot run a VM here");
	return false;
}

static HgVmEntry *create_demo_vm(const char *name)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new(name);
	g_autoptr(GError) error = NULL;
	HgVmEntry *entry;

	config->kernel = g_strdup(guest_path);
	config->memory_mib = 64;
	entry = hg_vm_library_create(lib, config, &error);
	g_assert_no_error(error);
	return entry;
}

static void on_wait_done(GObject *source, GAsyncResult *result, gpointer data)
{
	gboolean *done = data;
	g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL);
	*done = TRUE;
}

static gboolean on_timeout(gpointer data)
{
	gboolean *timed_out = data;
	*timed_out = TRUE;
	return G_SOURCE_REMOVE;
}

/* The engine's wait status, or fails after timeout_s. */
static int wait_engine(GSubprocess *engine, unsigned timeout_s)
{
	gboolean done = FALSE, timed_out = FALSE;
	guint timer = g_timeout_add_seconds(timeout_s, on_timeout, &timed_out);

	g_subprocess_wait_async(engine, NULL, on_wait_done, &done);
	while (!done && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (!timed_out)
		g_source_remove(timer);
	g_assert_false(timed_out);
	return g_subprocess_get_status(engine);
}

static void on_event(HangarControlClient *client, const char *name, JsonObject *data,
		     gint64 timestamp_us, gpointer user_data)
{
	GPtrArray *events = user_data;
	g_assert_nonnull(data);
	g_assert_cmpint(timestamp_us, >, 0);
	g_ptr_array_add(events, g_strdup(name));
}

static const char *query_status(HangarControlClient *client)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) ret =
		hangar_control_client_execute_sync(client, "query-status", NULL, NULL, &error);
	static char status[32];

	g_assert_no_error(error);
	g_strlcpy(status, json_object_get_string_member(ret, "status"), sizeof(status));
	return status;
}

static void execute_ok(HangarControlClient *client, const char *command, JsonObject *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) ret =
		hangar_control_client_execute_sync(client, command, args, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(ret);
}

static bool events_contain(GPtrArray *events, const char *name)
{
	for (guint i = 0; i < events->len; i++)
		if (strcmp(g_ptr_array_index(events, i), name) == 0)
			return true;
	return false;
}

/* Reads COM1's socket until text shows up (the engine keeps what the guest
 * printed before anyone connected). */
static void read_serial_until(const char *vm_id, const char *text)
{
	g_autofree char *path = hg_vm_runtime_file(vm_id, "serial.sock");
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(path);
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocket) socket =
		g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, &error);
	g_autoptr(GString) seen = g_string_new(NULL);
	gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

	g_assert_no_error(error);
	g_assert_true(g_socket_connect(socket, address, NULL, &error));
	g_socket_set_timeout(socket, 1);
	while (!strstr(seen->str, text) && g_get_monotonic_time() < deadline) {
		char buffer[4096];
		g_autoptr(GError) local = NULL;
		gssize n = g_socket_receive(socket, buffer, sizeof(buffer), NULL, &local);
		if (n > 0)
			g_string_append_len(seen, buffer, n);
		else if (n == 0)
			break;
	}
	g_test_message("serial: %.200s", seen->str);
	g_assert_nonnull(strstr(seen->str, text));
}

static void test_lifecycle(void)
{
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GSubprocess) engine = NULL;
	g_autoptr(HangarControlClient) client = NULL;
	g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autofree char *control = NULL, *png = NULL, *png_data = NULL, *exit_json = NULL;
	g_autofree char *exit_text = NULL;
	gsize png_length;
	int status;

	if (!kvm_usable())
		return;
	entry = create_demo_vm("Demo");
	engine = hg_engine_start(entry, false, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(engine);
	g_assert_cmpint(hg_vm_probe_state(entry->id), ==, HG_VM_STATE_RUNNING);

	control = hg_vm_runtime_file(entry->id, "control.sock");
	client = hangar_control_client_connect_sync(control, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(hangar_control_client_get_engine_version(client), ==, HANGAR_VERSION);
	g_signal_connect(client, "event", G_CALLBACK(on_event), events);
	g_assert_cmpstr(query_status(client), ==, "running");

	execute_ok(client, "stop", NULL);
	g_assert_cmpstr(query_status(client), ==, "paused");
	g_assert_true(events_contain(events, "STOP"));
	g_assert_cmpint(hg_vm_probe_state(entry->id), ==, HG_VM_STATE_PAUSED);
	execute_ok(client, "cont", NULL);
	g_assert_cmpstr(query_status(client), ==, "running");
	g_assert_true(events_contain(events, "RESUME"));
	g_assert_cmpint(hg_vm_probe_state(entry->id), ==, HG_VM_STATE_RUNNING);

	/* An unknown command is an error of its own class. */
	g_assert_null(hangar_control_client_execute_sync(client, "fly", NULL, NULL, &error));
	g_assert_error(error, HG_CONTROL_ERROR, HG_CONTROL_ERROR_COMMAND_NOT_FOUND);
	g_clear_error(&error);

	png = g_build_filename(tmp_root, "screen.png", NULL);
	{
		g_autoptr(JsonObject) args = json_object_new();
		json_object_set_string_member(args, "filename", png);
		execute_ok(client, "screendump", args);
	}
	g_assert_true(g_file_get_contents(png, &png_data, &png_length, NULL));
	g_assert_cmpuint(png_length, >, 8);
	g_assert_true(memcmp(png_data, "\x89PNG\r\n\x1a\n", 8) == 0);

	read_serial_until(entry->id, "CPU vendor");

	execute_ok(client, "quit", NULL);
	status = wait_engine(engine, 30);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	exit_json = hg_vm_runtime_file(entry->id, "exit.json");
	g_assert_true(g_file_get_contents(exit_json, &exit_text, NULL, NULL));
	g_test_message("exit.json: %s", exit_text);
	g_assert_nonnull(strstr(exit_text, "\"status\":0"));
	g_assert_cmpint(hg_vm_probe_state(entry->id), ==, HG_VM_STATE_STOPPED);
	g_assert_false(hg_vm_last_exit(entry->id, &status, NULL));
	g_assert_true(hg_vm_library_delete(lib, entry, HG_VM_DELETE_FILES, &error));
	g_assert_no_error(error);
}

typedef struct {
	GMainLoop *loop;
	char *reason;
	int wait_status;
	bool exited, closed, status_seen;
} KillState;

static void on_engine_exit(const char *vm_id, int wait_status, const char *reason, gpointer data)
{
	KillState *s = data;
	s->exited = true;
	s->wait_status = wait_status;
	s->reason = g_strdup(reason);
	if (s->closed)
		g_main_loop_quit(s->loop);
}

static void on_closed(HangarControlClient *client, gpointer data)
{
	KillState *s = data;
	s->closed = true;
	if (s->exited)
		g_main_loop_quit(s->loop);
}

static void on_connected(GObject *source, GAsyncResult *result, gpointer data)
{
	HangarControlClient **client = data;
	g_autoptr(GError) error = NULL;

	*client = hangar_control_client_connect_finish(result, &error);
	g_assert_no_error(error);
}

static void on_status(GObject *source, GAsyncResult *result, gpointer data)
{
	KillState *s = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) ret =
		hangar_control_client_execute_finish(HANGAR_CONTROL_CLIENT(source), result, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(json_object_get_string_member(ret, "status"), ==, "running");
	s->status_seen = true;
}

static void on_closed_call_failed(GObject *source, GAsyncResult *result, gpointer data)
{
	bool *failed = data;
	g_autoptr(GError) error = NULL;

	g_assert_null(hangar_control_client_execute_finish(HANGAR_CONTROL_CLIENT(source), result,
							   &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED);
	*failed = true;
}

static gboolean on_kill_timeout(gpointer data)
{
	KillState *s = data;
	g_main_loop_quit(s->loop);
	return G_SOURCE_REMOVE;
}

static void test_killed_engine(void)
{
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GSubprocess) engine = NULL;
	g_autoptr(HangarControlClient) client = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *control = NULL, *exit_text = NULL, *exit_json = NULL, *reason = NULL;
	KillState s = {0};
	int status;

	if (!kvm_usable())
		return;
	entry = create_demo_vm("Doomed");
	engine = hg_engine_start(entry, false, NULL, &error);
	g_assert_no_error(error);
	s.loop = g_main_loop_new(NULL, FALSE);
	hg_engine_watch(engine, entry->id, on_engine_exit, &s);

	control = hg_vm_runtime_file(entry->id, "control.sock");
	hangar_control_client_connect_async(control, NULL, on_connected, &client);
	while (!client)
		g_main_context_iteration(NULL, TRUE);
	g_signal_connect(client, "closed", G_CALLBACK(on_closed), &s);
	hangar_control_client_execute_async(client, "query-status", NULL, NULL, on_status, &s);
	while (!s.status_seen)
		g_main_context_iteration(NULL, TRUE);

	/* The guest's serial output is kept in serial.log, for the crash
	 * report, whether or not anyone is connected to serial.sock. */
	gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	g_autofree char *serial = NULL;
	while (!(serial = hg_vm_serial_tail(entry->id, 50)) || !strstr(serial, "CPU vendor")) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_clear_pointer(&serial, g_free);
		g_usleep(50000);
	}

	g_subprocess_send_signal(engine, SIGKILL);
	guint timer = g_timeout_add_seconds(20, on_kill_timeout, &s);
	g_main_loop_run(s.loop);
	g_source_remove(timer);
	g_assert_true(s.exited);
	g_assert_true(s.closed);
	g_assert_true(hangar_control_client_is_closed(client));
	g_test_message("watch: %s", s.reason);
	g_assert_true(WIFSIGNALED(s.wait_status) && WTERMSIG(s.wait_status) == SIGKILL);
	g_assert_nonnull(strstr(s.reason, "killed by signal 9"));

	/* A call on the closed client fails at once. */
	bool failed = false;
	hangar_control_client_execute_async(client, "query-status", NULL, NULL,
					    on_closed_call_failed, &failed);
	while (!failed)
		g_main_context_iteration(NULL, TRUE);

	exit_json = hg_vm_runtime_file(entry->id, "exit.json");
	g_assert_true(g_file_get_contents(exit_json, &exit_text, NULL, NULL));
	g_test_message("exit.json: %s", exit_text);
	g_assert_nonnull(strstr(exit_text, "\"signal\":9"));
	g_assert_cmpint(hg_vm_probe_state(entry->id), ==, HG_VM_STATE_CRASHED);
	g_assert_true(hg_vm_last_exit(entry->id, &status, &reason));
	g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	g_assert_nonnull(strstr(reason, "killed by signal 9"));
	g_clear_pointer(&serial, g_free);
	serial = hg_vm_serial_tail(entry->id, 50);
	g_assert_nonnull(serial);
	g_assert_nonnull(strstr(serial, "CPU vendor"));
	g_assert_null(strchr(serial, '\x1b'));
	g_assert_null(strchr(serial, '\r'));
	g_free(s.reason);
	g_main_loop_unref(s.loop);
	g_assert_true(hg_vm_library_delete(lib, entry, HG_VM_DELETE_FILES, &error));
}

static void test_add_display_client(void)
{
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GSubprocess) engine = NULL;
	g_autoptr(HangarControlClient) client = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *control = NULL;
	char greeting[13] = {0};
	gsize got = 0;
	int sv[2];

	if (!kvm_usable())
		return;
	entry = create_demo_vm("Viewer");
	engine = hg_engine_start(entry, true, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(hg_vm_probe_state(entry->id), ==, HG_VM_STATE_PAUSED);
	control = hg_vm_runtime_file(entry->id, "control.sock");
	client = hangar_control_client_connect_sync(control, NULL, &error);
	g_assert_no_error(error);

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	g_assert_true(
		hangar_control_client_add_display_client_sync(client, "vnc", sv[0], NULL, &error));
	g_assert_no_error(error);
	close(sv[0]);
	while (got < 12) {
		struct pollfd pfd = {.fd = sv[1], .events = POLLIN};
		g_assert_cmpint(poll(&pfd, 1, 10000), ==, 1);
		ssize_t n = read(sv[1], greeting + got, 12 - got);
		g_assert_cmpint(n, >, 0);
		got += n;
	}
	g_assert_cmpstr(greeting, ==, "RFB 003.008\n");
	close(sv[1]);

	/* An unknown protocol is the engine's error, and the client goes on. */
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	g_assert_false(
		hangar_control_client_add_display_client_sync(client, "rdp", sv[0], NULL, &error));
	g_assert_error(error, HG_CONTROL_ERROR, HG_CONTROL_ERROR_GENERIC);
	g_clear_error(&error);
	close(sv[0]);
	close(sv[1]);
	g_assert_cmpstr(query_status(client), ==, "paused");

	execute_ok(client, "quit", NULL);
	g_assert_cmpint(wait_engine(engine, 30), ==, 0);
	g_assert_true(hg_vm_library_delete(lib, entry, HG_VM_DELETE_FILES, &error));
}

static void test_engine_exits_at_start(void)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new("Not a kernel");
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *bogus = g_build_filename(tmp_root, "bogus-kernel", NULL);

	if (!kvm_usable())
		return;
	g_assert_true(g_file_set_contents(bogus, "this is not a kernel", -1, NULL));
	config->kernel = g_strdup(bogus);
	config->memory_mib = 64;
	entry = hg_vm_library_create(lib, config, &error);
	g_assert_no_error(error);
	g_assert_null(hg_engine_start(entry, false, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_ENGINE);
	g_test_message("%s", error->message);
	/* The plain-words exit and the engine's own last words. */
	g_assert_nonnull(strstr(error->message, "status 4"));
	g_assert_nonnull(strstr(error->message, "hangar-engine:"));
	g_assert_cmpint(hg_vm_probe_state(entry->id), ==, HG_VM_STATE_CRASHED);
	g_clear_error(&error);
	g_assert_true(hg_vm_library_delete(lib, entry, HG_VM_DELETE_FILES, &error));
}

static void test_missing_disk_is_named(void)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new("No disk");
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) argv = NULL;

	hg_vm_config_add_disk(config, "missing.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
	entry = hg_vm_library_create(lib, config, &error);
	g_assert_no_error(error);
	g_assert_null(hg_engine_argv(entry, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "missing.img"));
	g_clear_error(&error);
	g_assert_null(hg_engine_start(entry, false, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "missing.img"));
	g_clear_error(&error);

	/* Made (raw, by its name) and recorded, the command line has it, and
	 * the empty CD-ROM drive too. */
	g_assert_true(hg_vm_library_create_disk(lib, entry, "missing.img", 1 << 20, &error));
	hg_vm_disk_set_format(g_ptr_array_index(entry->config->disks, 0), "raw");
	hg_vm_config_add_disk(entry->config, NULL, HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM)
		->boot_index = 0;
	argv = hg_engine_argv(entry, &error);
	g_assert_no_error(error);
	g_autofree char *line = g_strjoinv(" ", argv);
	g_test_message("%s", line);
	g_autofree char *drive = g_strdup_printf(
		"--drive=file=%s/missing.img,format=raw,if=virtio,media=disk", entry->dir);
	g_assert_nonnull(strstr(line, drive));
	g_assert_nonnull(strstr(line, "--drive=if=sata,media=cdrom,readonly=on,bootindex=0"));
	g_assert_nonnull(strstr(line, "--vm-id no-disk"));
	g_assert_nonnull(strstr(line, "--serial=unix:"));
	g_assert_true(hg_vm_library_delete(lib, entry, HG_VM_DELETE_FILES, &error));
}

/* Every image on the command line comes with its format, so the engine
 * never probes one; a file that is not in its recorded format stops the
 * start before any engine runs. */
static void test_command_line_gives_every_format(void)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new("Formats");
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) argv = NULL;
	g_autofree char *iso = g_build_filename(tmp_root, "formats.iso", NULL);
	g_autofree char *fake = NULL, *line = NULL, *qcow2 = NULL, *raw = NULL, *disc = NULL;
	HgVmDisk *cdrom;

	g_assert_true(g_file_set_contents(iso, "QFI\xfb not a qcow2 image, a disc", -1, NULL));
	hg_vm_config_add_disk(config, "disk.qcow2", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
	hg_vm_disk_set_format(
		hg_vm_config_add_disk(config, "data.img", HG_DISK_BUS_SATA, HG_DISK_MEDIA_DISK),
		"raw");
	cdrom = hg_vm_config_add_disk(config, iso, HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM);
	cdrom->boot_index = 0;
	/* create_with_disk records the format of the disk it makes. */
	entry = hg_vm_library_create_with_disk(lib, config, "disk.qcow2", 1 << 20, &error);
	g_assert_no_error(error);
	g_assert_true(hg_vm_library_create_disk(lib, entry, "data.img", 1 << 20, &error));
	argv = hg_engine_argv(entry, &error);
	g_assert_no_error(error);
	line = g_strjoinv(" ", argv);
	g_test_message("%s", line);
	qcow2 = g_strdup_printf("--drive=file=%s/disk.qcow2,format=qcow2,if=virtio,", entry->dir);
	raw = g_strdup_printf("--drive=file=%s/data.img,format=raw,if=sata,", entry->dir);
	disc = g_strdup_printf("--drive=file=%s,format=raw,if=sata,media=cdrom", iso);
	g_assert_nonnull(strstr(line, qcow2));
	g_assert_nonnull(strstr(line, raw));
	g_assert_nonnull(strstr(line, disc));
	for (char **arg = argv; *arg; arg++)
		if (g_str_has_prefix(*arg, "--drive=file="))
			g_assert_nonnull(strstr(*arg, ",format="));

	/* Recorded qcow2, the file is raw (replaced by hand, say): refused
	 * with the reason, and no engine is started to probe it. */
	fake = g_build_filename(entry->dir, "disk.qcow2", NULL);
	g_assert_true(g_file_set_contents(fake, "", 0, NULL));
	g_assert_cmpint(truncate(fake, 1 << 20), ==, 0);
	g_clear_pointer(&argv, g_strfreev);
	g_assert_null(hg_engine_argv(entry, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, fake));
	g_assert_nonnull(strstr(error->message, "(\"qcow2\")"));
	g_assert_nonnull(strstr(error->message, "raw data"));
	g_clear_error(&error);
	g_assert_null(hg_engine_start(entry, false, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_cmpint(hg_vm_probe_state(entry->id), ==, HG_VM_STATE_STOPPED);
	g_clear_error(&error);
	g_assert_true(hg_vm_library_delete(lib, entry, HG_VM_DELETE_FILES, &error));
	g_unlink(iso);
}

static void test_garbage_engine_path(void)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new("No engine");
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *saved = g_strdup(g_getenv("HANGAR_ENGINE"));
	static const char *const garbage[] = {"/nonexistent/hangar-engine", "/etc/hostname"};

	config->kernel = g_strdup(guest_path);
	entry = hg_vm_library_create(lib, config, &error);
	g_assert_no_error(error);
	for (unsigned i = 0; i < G_N_ELEMENTS(garbage); i++) {
		g_setenv("HANGAR_ENGINE", garbage[i], TRUE);
		g_assert_null(hg_engine_start(entry, false, NULL, &error));
		g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_ENGINE);
		g_test_message("%s", error->message);
		g_assert_nonnull(strstr(error->message, garbage[i]));
		g_clear_error(&error);
	}
	if (saved)
		g_setenv("HANGAR_ENGINE", saved, TRUE);
	else
		g_unsetenv("HANGAR_ENGINE");
	g_assert_true(hg_vm_library_delete(lib, entry, HG_VM_DELETE_FILES, &error));
}

typedef struct {
	GSocket *listener;
	const char *after_greeting; /* sent once a request arrives */
	gsize length;
} BadEngine;

static gpointer bad_engine_serve(gpointer data)
{
	BadEngine *bad = data;
	static const char greeting[] = "{\"greeting\": {\"version\": \"9\", \"protocol\": 1}}\n";
	g_autoptr(GSocket) client = g_socket_accept(bad->listener, NULL, NULL);
	char buffer[4096];

	g_assert_nonnull(client);
	g_socket_send(client, greeting, sizeof(greeting) - 1, NULL, NULL);
	if (g_socket_receive(client, buffer, sizeof(buffer), NULL, NULL) > 0) {
		gsize sent = 0;
		while (sent < bad->length) {
			gssize n = g_socket_send(client, bad->after_greeting + sent,
						 bad->length - sent, NULL, NULL);
			if (n <= 0)
				break; /* the client hung up: it saw enough */
			sent += n;
		}
	}
	return NULL;
}

/* An engine that says something outside the protocol: the call fails with
 * HG_CONTROL_ERROR_PROTOCOL and the client closes. */
static void check_protocol_error(const char *what, const char *text, gsize length)
{
	g_autofree char *path = g_build_filename(tmp_root, "bad.sock", NULL);
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(path);
	g_autoptr(HangarControlClient) client = NULL;
	g_autoptr(GError) error = NULL;
	BadEngine bad = {.after_greeting = text, .length = length};
	GThread *server;

	g_unlink(path);
	bad.listener = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, &error);
	g_assert_true(g_socket_bind(bad.listener, address, TRUE, &error));
	g_assert_true(g_socket_listen(bad.listener, &error));
	server = g_thread_new("bad-engine", bad_engine_serve, &bad);
	client = hangar_control_client_connect_sync(path, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(hangar_control_client_get_engine_version(client), ==, "9");
	g_assert_null(
		hangar_control_client_execute_sync(client, "query-status", NULL, NULL, &error));
	g_test_message("%s: %s", what, error->message);
	g_assert_error(error, HG_CONTROL_ERROR, HG_CONTROL_ERROR_PROTOCOL);
	g_assert_true(hangar_control_client_is_closed(client));
	g_clear_error(&error);
	g_assert_null(
		hangar_control_client_execute_sync(client, "query-status", NULL, NULL, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED);
	g_thread_join(server);
	g_object_unref(bad.listener);
	g_unlink(path);
}

static void test_protocol_errors_close_the_client(void)
{
	static const char not_json[] = "this is not json\n";
	static const char not_object[] = "[1, 2]\n";
	static const char wrong_id[] = "{\"id\": 7, \"return\": {}}\n";
	gsize huge_length = (16u << 20) + 4096;
	g_autofree char *huge = g_malloc(huge_length);

	check_protocol_error("not JSON", not_json, sizeof(not_json) - 1);
	check_protocol_error("not an object", not_object, sizeof(not_object) - 1);
	check_protocol_error("wrong id", wrong_id, sizeof(wrong_id) - 1);
	memset(huge, 'x', huge_length);
	check_protocol_error("a line over 16 MiB", huge, huge_length);
}

int main(int argc, char **argv)
{
	g_autofree char *data_home = NULL, *runtime = NULL;
	g_autoptr(GError) error = NULL;
	const char *guest_dir = g_getenv("HANGAR_GUEST_DIR");
	int status;

	tmp_root = g_dir_make_tmp("hangar-engine-run-XXXXXX", NULL);
	g_assert_nonnull(tmp_root);
	data_home = g_build_filename(tmp_root, "data", NULL);
	runtime = g_build_filename(tmp_root, "run", NULL);
	g_mkdir(data_home, 0700);
	g_mkdir(runtime, 0700);
	g_setenv("XDG_DATA_HOME", data_home, TRUE);
	g_setenv("XDG_RUNTIME_DIR", runtime, TRUE);
	guest_path = g_build_filename(guest_dir ? guest_dir : ".", "guest-demo.elf", NULL);

	g_test_init(&argc, &argv, NULL);
	lib = hg_vm_library_open(NULL, &error);
	g_assert_no_error(error);
	g_test_add_func("/engine-run/missing-disk-is-named", test_missing_disk_is_named);
	g_test_add_func("/engine-run/command-line-gives-every-image-its-format",
			test_command_line_gives_every_format);
	g_test_add_func("/engine-run/garbage-engine-path-fails-cleanly", test_garbage_engine_path);
	g_test_add_func("/control-client/protocol-errors-close-the-client",
			test_protocol_errors_close_the_client);
	g_test_add_func("/engine-run/start-probe-control-serial-quit", test_lifecycle);
	g_test_add_func("/engine-run/killed-engine-is-reported-and-closes-clients",
			test_killed_engine);
	g_test_add_func("/engine-run/add-client-passes-a-vnc-socket", test_add_display_client);
	g_test_add_func("/engine-run/engine-exiting-at-start-says-why", test_engine_exits_at_start);
	status = g_test_run();
	hg_vm_library_free(lib);
	g_free(guest_path);
	/* The folders are small; an engine left by a failed case may still
	 * hold its runtime folder, so only a best-effort cleanup. */
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp_root);
	(void)!system(cmd);
	g_free(tmp_root);
	return status;
}

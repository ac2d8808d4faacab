/* Running VMs: the runtime folder, the state probe, the engine's command
 * line, starting and supervising the engine process (vm_runtime.h). */
#include "library/vm/vm_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "library/block/block.h"

#ifndef HANGAR_BINDIR
#error "HANGAR_BINDIR must be defined by the build (library/meson.build)"
#endif

#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_VARS_TEMPLATE "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define OVMF_VARS_NAME "OVMF_VARS.fd"

/* A probe is a greeting and one reply from an engine's main loop; an engine
 * that cannot give them in this time is busy, not gone. */
#define PROBE_TIMEOUT_MS 2000
#define START_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define START_POLL_US (20 * 1000)
#define LOG_TAIL_READ_MAX (64 * 1024)
#define START_FAILURE_LOG_LINES 10

const char *hg_vm_state_to_string(HgVmState state)
{
	switch (state) {
	case HG_VM_STATE_STOPPED:
		return "stopped";
	case HG_VM_STATE_RUNNING:
		return "running";
	case HG_VM_STATE_PAUSED:
		return "paused";
	case HG_VM_STATE_CRASHED:
		return "crashed";
	}
	return "unknown";
}

char *hg_vm_runtime_dir(const char *vm_id)
{
	return g_build_filename(g_get_user_runtime_dir(), "hangar", vm_id, NULL);
}

char *hg_vm_runtime_file(const char *vm_id, const char *name)
{
	return g_build_filename(g_get_user_runtime_dir(), "hangar", vm_id, name, NULL);
}

/* ---- the state probe ---- */

typedef enum {
	PROBE_NO_ENGINE, /* nothing listens */
	PROBE_BUSY, /* something listens but gave no usable answer */
	PROBE_RUNNING,
	PROBE_PAUSED,
} ProbeResult;

/* Reads until two lines (greeting, reply) have arrived, EOF, or the
 * deadline.  Returns the bytes read. */
static GString *probe_read_lines(int fd, gint64 deadline)
{
	GString *buf = g_string_new(NULL);
	unsigned newlines = 0;

	while (newlines < 2 && buf->len < 65536) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		char chunk[4096];
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			newlines += chunk[i] == '\n';
		g_string_append_len(buf, chunk, n);
	}
	return buf;
}

static ProbeResult probe_control_socket(const char *vm_id)
{
	g_autofree char *path = hg_vm_runtime_file(vm_id, "control.sock");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	static const char request[] = "{\"id\": 1, \"execute\": \"query-status\"}\n";
	gint64 deadline = g_get_monotonic_time() + PROBE_TIMEOUT_MS * 1000;
	ProbeResult result = PROBE_BUSY;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return PROBE_NO_ENGINE;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return PROBE_BUSY;
	/* ENOENT: never started or cleaned up; ECONNREFUSED: a stale socket
	 * left by an engine that was killed. */
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		result = errno == ENOENT || errno == ECONNREFUSED ? PROBE_NO_ENGINE : PROBE_BUSY;
		close(fd);
		return result;
	}
	if (send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(request) - 1) {
		g_autoptr(GString) lines = probe_read_lines(fd, deadline);
		g_auto(GStrv) split = g_strsplit(lines->str, "\n", 3);
		for (char **line = split; *line; line++) {
			g_autoptr(JsonParser) parser = json_parser_new();
			JsonNode *root;
			JsonObject *ret;
			if (!**line || !json_parser_load_from_data(parser, *line, -1, NULL))
				continue;
			root = json_parser_get_root(parser);
			if (!JSON_NODE_HOLDS_OBJECT(root) ||
			    !json_object_has_member(json_node_get_object(root), "return"))
				continue;
			ret = json_object_get_object_member(json_node_get_object(root), "return");
			if (ret &&
			    g_strcmp0(json_object_get_string_member_with_default(ret, "status", ""),
				      "paused") == 0)
				result = PROBE_PAUSED;
			else
				result = PROBE_RUNNING;
		}
	}
	close(fd);
	return result;
}

static bool read_exit_file(const char *vm_id, int *wait_status, char **reason)
{
	g_autofree char *path = hg_vm_runtime_file(vm_id, "exit.json");
	g_autofree char *text = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *obj;
	gsize length;

	if (!g_file_get_contents(path, &text, &length, NULL) || length > 65536 ||
	    !json_parser_load_from_data(parser, text, length, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
		return false;
	obj = json_node_get_object(json_parser_get_root(parser));
	if (json_object_has_member(obj, "signal")) {
		gint64 sig = json_object_get_int_member_with_default(obj, "signal", 0);
		*wait_status = sig > 0 && sig < 128 ? (int)sig : SIGKILL;
	} else {
		gint64 status = json_object_get_int_member_with_default(obj, "status", 0);
		*wait_status = (int)(status & 0xff) << 8;
	}
	if (reason)
		*reason = g_strdup(json_object_get_string_member_with_default(obj, "reason", ""));
	return true;
}

bool hg_vm_last_exit(const char *vm_id, int *wait_status, char **reason)
{
	int status = 0;
	g_autofree char *why = NULL;

	if (!read_exit_file(vm_id, &status, &why))
		status = 0;
	if (wait_status)
		*wait_status = status;
	if (status == 0)
		return false;
	if (reason)
		*reason = g_steal_pointer(&why);
	return true;
}

HgVmState hg_vm_probe_state(const char *vm_id)
{
	switch (probe_control_socket(vm_id)) {
	case PROBE_RUNNING:
	case PROBE_BUSY:
		return HG_VM_STATE_RUNNING;
	case PROBE_PAUSED:
		return HG_VM_STATE_PAUSED;
	case PROBE_NO_ENGINE:
		break;
	}
	return hg_vm_last_exit(vm_id, NULL, NULL) ? HG_VM_STATE_CRASHED : HG_VM_STATE_STOPPED;
}

/* ---- the engine's command line ---- */

char *hg_engine_path(void)
{
	const char *env = g_getenv("HANGAR_ENGINE");
	g_autofree char *self = NULL;

	if (env && *env)
		return g_strdup(env);
	/* Running uninstalled: hangarctl in build/ui/hangarctl/, the app in
	 * build/ui/, the engine in build/engine/. */
	self = g_file_read_link("/proc/self/exe", NULL);
	if (self) {
		g_autofree char *dir = g_path_get_dirname(self);
		static const char *const relative[] = {"../engine/hangar-engine",
						       "../../engine/hangar-engine"};
		for (unsigned i = 0; i < G_N_ELEMENTS(relative); i++) {
			g_autofree char *path = g_build_filename(dir, relative[i], NULL);
			g_autofree char *canonical = g_canonicalize_filename(path, NULL);
			if (g_file_test(canonical, G_FILE_TEST_IS_REGULAR) &&
			    g_file_test(canonical, G_FILE_TEST_IS_EXECUTABLE))
				return g_steal_pointer(&canonical);
		}
	}
	return g_build_filename(HANGAR_BINDIR, "hangar-engine", NULL);
}

static bool require_file(const char *path, const char *what, GError **error)
{
	if (g_file_test(path, G_FILE_TEST_EXISTS))
		return true;
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND, "%s %s does not exist", what, path);
	return false;
}

/* The engine opens a disk as its recorded format; a file that is not that
 * (replaced, or changed outside Hangar) is refused here with the reason,
 * not used as another format.  The content is only compared: it never
 * chooses the format. */
static bool disk_format_matches(const HgVmDisk *disk, const char *path, unsigned index,
				GError **error)
{
	g_autoptr(GError) local = NULL;
	const char *found;

	/* A disc is always raw (vm_config.h); its content never mattered. */
	if (disk->media == HG_DISK_MEDIA_CDROM)
		return true;
	if (!disk->format) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "disks[%u] (%s) has no recorded format: starting the VM records it "
			    "(hg_vm_entry_record_disk_formats)",
			    index, path);
		return false;
	}
	found = hg_block_probe_format(path, &local);
	if (!found) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "%s", local->message);
		return false;
	}
	if (strcmp(found, disk->format) == 0)
		return true;
	g_set_error(
		error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
		"the disk image %s is not in the format vm.json records for it (\"%s\"): its "
		"content reads as %s.  It was replaced or changed outside Hangar; if the file is "
		"right, correct disks[%u].format in vm.json",
		path, disk->format, strcmp(found, "raw") == 0 ? "raw data" : found, index);
	return false;
}

GStrv hg_engine_argv(const HgVmEntry *entry, GError **error)
{
	const HgVmConfig *config = entry->config;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *serial = NULL, *serial_log = NULL;

	if (!config) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN, "%s cannot be started: %s",
			    entry->id, entry->error ? entry->error->message : "it is broken");
		return NULL;
	}
	if (!hg_vm_config_validate(config, error))
		return NULL;
	g_ptr_array_add(argv, hg_engine_path());
	g_ptr_array_add(argv, g_strdup("--vm-id"));
	g_ptr_array_add(argv, g_strdup(entry->id));
	g_ptr_array_add(argv, g_strdup_printf("--memory=%u", config->memory_mib));
	g_ptr_array_add(argv, g_strdup_printf("--cpus=%u", config->cpus));
	g_ptr_array_add(argv, g_strdup_printf("--uuid=%s", config->uuid));
	serial = hg_vm_runtime_file(entry->id, "serial.sock");
	serial_log = hg_vm_runtime_file(entry->id, "serial.log");
	/* serial.log keeps the guest's last output for a crash report. */
	g_ptr_array_add(argv, g_strdup_printf("--serial=unix:%s,log=%s", serial, serial_log));
	if (config->boot_menu)
		g_ptr_array_add(argv, g_strdup("--boot-menu"));

	if (config->kernel) {
		g_autofree char *kernel = hg_vm_entry_resolve(entry, config->kernel);
		if (!require_file(kernel, "the kernel", error))
			return NULL;
		g_ptr_array_add(argv, g_strdup_printf("--kernel=%s", kernel));
		if (config->initrd) {
			g_autofree char *initrd = hg_vm_entry_resolve(entry, config->initrd);
			if (!require_file(initrd, "the initrd", error))
				return NULL;
			g_ptr_array_add(argv, g_strdup_printf("--initrd=%s", initrd));
		}
		if (config->append)
			g_ptr_array_add(argv, g_strdup_printf("--append=%s", config->append));
	} else if (config->firmware == HG_FIRMWARE_UEFI) {
		g_autofree char *vars = g_build_filename(entry->dir, OVMF_VARS_NAME, NULL);
		if (!require_file(OVMF_CODE, "the UEFI firmware (package ovmf)", error))
			return NULL;
		/* hg_engine_start makes the VM's copy from the template. */
		if (!g_file_test(vars, G_FILE_TEST_EXISTS) &&
		    !require_file(OVMF_VARS_TEMPLATE,
				  "the UEFI variable store template (package ovmf)", error))
			return NULL;
		g_ptr_array_add(argv, g_strdup("--firmware=" OVMF_CODE));
		g_ptr_array_add(argv, g_strdup_printf("--firmware-vars=%s", vars));
	}
	/* BIOS: the engine's default SeaBIOS. */

	for (guint i = 0; i < config->disks->len; i++) {
		const HgVmDisk *d = g_ptr_array_index(config->disks, i);
		g_autoptr(GString) spec = g_string_new(NULL);
		if (d->path) {
			g_autofree char *path = hg_vm_entry_resolve(entry, d->path);
			if (!require_file(path,
					  d->media == HG_DISK_MEDIA_CDROM ? "the CD-ROM image"
									  : "the disk image",
					  error) ||
			    !disk_format_matches(d, path, i, error))
				return NULL;
			/* Never probed by the engine (docs/vm-config.md). */
			g_string_append_printf(spec, "file=%s,format=%s,", path,
					       d->media == HG_DISK_MEDIA_CDROM ? "raw" : d->format);
		}
		/* No file= is the engine's empty CD-ROM drive (tray closed, no
		 * medium); blockdev-change-medium fills it. */
		g_string_append_printf(spec, "if=%s,media=%s", hg_disk_bus_to_string(d->bus),
				       hg_disk_media_to_string(d->media));
		if (d->read_only)
			g_string_append(spec, ",readonly=on");
		if (d->boot_index >= 0)
			g_string_append_printf(spec, ",bootindex=%d", d->boot_index);
		g_ptr_array_add(argv, g_strdup_printf("--drive=%s", spec->str));
	}
	g_ptr_array_add(argv, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

/* ---- exits ---- */

char *hg_engine_describe_exit(int wait_status)
{
	int status;

	if (WIFSIGNALED(wait_status))
		return g_strdup_printf("killed by signal %d (%s)", WTERMSIG(wait_status),
				       g_strsignal(WTERMSIG(wait_status)));
	if (!WIFEXITED(wait_status))
		return g_strdup_printf("ended in an unknown way (wait status 0x%x)", wait_status);
	status = WEXITSTATUS(wait_status);
	switch (status) {
	case 0:
		return g_strdup("powered off");
	case 2:
		return g_strdup("the engine was given a bad command line (status 2)");
	case 4:
		return g_strdup("the machine could not be set up (status 4): /dev/kvm, guest "
				"RAM, the firmware or kernel, a disk image or a socket");
	case 6:
		return g_strdup("the guest hit an instruction KVM cannot run (status 6)");
	case 8:
		return g_strdup("the guest reset itself while rebooting was turned off "
				"(status 8)");
	case 10:
		return g_strdup("the saved state could not be restored (status 10)");
	case 126:
	case 127:
		/* What a shell reports for a program it cannot run; no
		 * engine run from the library uses debug-exit. */
		return g_strdup_printf("the engine program could not be run (status %d)", status);
	}
	if (status & 1)
		return g_strdup_printf("the test guest ended through debug-exit with value %d "
				       "(status %d)",
				       status >> 1, status);
	return g_strdup_printf("the engine exited with status %d", status);
}

/* The last n_lines of a file (reading at most LOG_TAIL_READ_MAX from its
 * end), as valid UTF-8; NULL when it cannot be read or is empty. */
static char *file_tail(const char *path, unsigned n_lines)
{
	g_autofree char *text = NULL;
	struct stat st;
	ssize_t n;
	int fd;
	char *start, *end;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	/* Only the end of a long log is read. */
	gsize want = MIN((guint64)st.st_size, LOG_TAIL_READ_MAX);
	text = g_malloc(want + 1);
	n = pread(fd, text, want, st.st_size - want);
	close(fd);
	if (n <= 0)
		return NULL;
	text[n] = '\0';
	end = text + n;
	while (end > text && end[-1] == '\n')
		*--end = '\0';
	start = end;
	for (unsigned lines = 0; start > text; start--) {
		if (start[-1] == '\n' && ++lines == n_lines)
			break;
	}
	if (n_lines == 0)
		return g_strdup("");
	return g_utf8_make_valid(start, -1);
}

char *hg_vm_log_tail(const char *vm_id, unsigned n_lines)
{
	g_autofree char *path = hg_vm_runtime_file(vm_id, "engine.log");

	return file_tail(path, n_lines);
}

/* Terminal output as plain lines: escape sequences (ESC [ ... final byte,
 * and two-byte ones like ESC c) and control characters other than newline
 * and tab are dropped, "\r\n" becomes "\n". */
static char *strip_terminal_codes(const char *text)
{
	GString *plain = g_string_new(NULL);

	for (const char *p = text; *p; p++) {
		if (*p == '\x1b') {
			if (p[1] == '[') {
				p += 2;
				while (*p && !(*p >= 0x40 && *p <= 0x7e))
					p++;
			} else if (p[1]) {
				p++;
			}
			if (!*p)
				break;
			continue;
		}
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
			continue;
		g_string_append_c(plain, *p);
	}
	return g_string_free(plain, FALSE);
}

char *hg_vm_serial_tail(const char *vm_id, unsigned n_lines)
{
	g_autofree char *path = hg_vm_runtime_file(vm_id, "serial.log");
	g_autofree char *old_path = g_strconcat(path, ".old", NULL);
	g_autofree char *current = file_tail(path, n_lines);
	g_autofree char *joined = NULL;
	unsigned have = 0;

	if (current)
		for (const char *p = current; *p; p++)
			have += *p == '\n';
	/* Just rotated: the rest comes from the previous file. */
	if (have + 1 < n_lines) {
		g_autofree char *older = file_tail(old_path, n_lines - have - 1);

		if (older)
			joined = g_strjoin("\n", older, current ? current : "", NULL);
	}
	if (!joined && !current)
		return NULL;
	return strip_terminal_codes(joined ? joined : current);
}

/* The reason exit.json gives for a run that ended at the engine's own
 * hand, or NULL. */
static char *engine_reason(const char *vm_id)
{
	int status;
	char *reason = NULL;

	if (!read_exit_file(vm_id, &status, &reason))
		return NULL;
	if (reason && !*reason) {
		g_free(reason);
		return NULL;
	}
	return reason;
}

static char *describe_with_reason(const char *vm_id, int wait_status)
{
	g_autofree char *text = hg_engine_describe_exit(wait_status);
	g_autofree char *reason = WIFEXITED(wait_status) ? engine_reason(vm_id) : NULL;

	if (reason)
		return g_strdup_printf("%s: %s", text, reason);
	return g_steal_pointer(&text);
}

/* Writes exit.json for a run the engine could not record itself: killed by
 * a signal, or gone before it knew its vm-id. */
static void record_exit(const char *vm_id, int wait_status)
{
	g_autofree char *path = hg_vm_runtime_file(vm_id, "exit.json");
	g_autofree char *dir = hg_vm_runtime_dir(vm_id);
	g_autofree char *reason = hg_engine_describe_exit(wait_status);
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;
	int status;

	if (!WIFSIGNALED(wait_status) && read_exit_file(vm_id, &status, NULL))
		return;
	json_builder_begin_object(b);
	if (WIFSIGNALED(wait_status)) {
		json_builder_set_member_name(b, "signal");
		json_builder_add_int_value(b, WTERMSIG(wait_status));
	} else {
		json_builder_set_member_name(b, "status");
		json_builder_add_int_value(b, WEXITSTATUS(wait_status));
	}
	json_builder_set_member_name(b, "reason");
	json_builder_add_string_value(b, reason);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	if (g_mkdir_with_parents(dir, 0700) < 0 ||
	    !g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL))
		g_warning("cannot record how the engine of %s ended in %s", vm_id, path);
}

/* ---- starting ---- */

static void engine_child_setup(gpointer data)
{
	/* Its own session: the engine outlives the app or hangarctl that
	 * started it, and a Ctrl-C in their terminal does not reach it. */
	setsid();
}

/* The VM's copy of the UEFI variable store, made from the template when
 * missing; written to a temporary name first so a crash leaves none. */
static bool ensure_uefi_vars(const HgVmEntry *entry, GError **error)
{
	g_autofree char *vars = g_build_filename(entry->dir, OVMF_VARS_NAME, NULL);
	g_autofree char *contents = NULL;
	g_autoptr(GError) local = NULL;
	gsize length;

	if (entry->config->firmware != HG_FIRMWARE_UEFI || entry->config->kernel ||
	    g_file_test(vars, G_FILE_TEST_EXISTS))
		return true;
	if (!g_file_get_contents(OVMF_VARS_TEMPLATE, &contents, &length, &local) ||
	    !g_file_set_contents_full(vars, contents, length,
				      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
				      0600, &local)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO,
			    "cannot make the UEFI variable store %s: %s", vars, local->message);
		return false;
	}
	return true;
}

static bool prepare_runtime_dir(const char *vm_id, GError **error)
{
	g_autofree char *dir = hg_vm_runtime_dir(vm_id);
	static const char *const stale[] = {"control.sock", "spice.sock",	 "vnc.sock",
					    "serial.sock",  "serial.log.old", "exit.json"};

	if (g_mkdir_with_parents(dir, 0700) < 0 || g_chmod(dir, 0700) < 0) {
		int saved = errno;
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot create %s: %s", dir,
			    g_strerror(saved));
		return false;
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(stale); i++) {
		g_autofree char *path = g_build_filename(dir, stale[i], NULL);
		g_unlink(path);
	}
	return true;
}

typedef struct {
	bool done;
} WaitFlag;

static void on_start_wait_done(GObject *source, GAsyncResult *result, gpointer data)
{
	WaitFlag *flag = data;
	g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL);
	flag->done = true;
}

static GSubprocess *spawn_engine(const HgVmEntry *entry, GStrv argv, GError **error)
{
	g_autofree char *log_path = hg_vm_runtime_file(entry->id, "engine.log");
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GError) local = NULL;
	GSubprocess *engine;
	int log_fd, log_fd2;

	/* Checked here, so that a wrong $HANGAR_ENGINE is named as such
	 * rather than run by a shell as a script. */
	if (!g_file_test(argv[0], G_FILE_TEST_IS_REGULAR) ||
	    !g_file_test(argv[0], G_FILE_TEST_IS_EXECUTABLE)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_ENGINE,
			    "cannot run the engine %s: %s (set HANGAR_ENGINE to hangar-engine, or "
			    "install it)",
			    argv[0],
			    g_file_test(argv[0], G_FILE_TEST_EXISTS) ? "not an executable file"
								     : "no such file");
		return NULL;
	}

	log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		int saved = errno;
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot open %s: %s", log_path,
			    g_strerror(saved));
		return NULL;
	}
	log_fd2 = dup(log_fd);
	if (log_fd2 < 0) {
		int saved = errno;
		close(log_fd);
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot open %s: %s", log_path,
			    g_strerror(saved));
		return NULL;
	}
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_subprocess_launcher_take_stdout_fd(launcher, log_fd);
	g_subprocess_launcher_take_stderr_fd(launcher, log_fd2);
	g_subprocess_launcher_set_child_setup(launcher, engine_child_setup, NULL, NULL);
	/* The engine's own files are relative to nothing: run it in the VM's
	 * folder so that a core dump lands there, not in the caller's. */
	g_subprocess_launcher_set_cwd(launcher, entry->dir);
	engine = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv, &local);
	if (!engine)
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_ENGINE, "cannot run the engine %s: %s",
			    argv[0], local->message);
	return engine;
}

static GSubprocess *engine_start(const HgVmEntry *given, bool paused, const char *restore_dir,
				 GCancellable *cancellable, GError **error)
{
	g_autoptr(HgVmEntry) entry = NULL;
	g_auto(GStrv) argv = NULL;
	g_autoptr(GSubprocess) engine = NULL;
	g_autoptr(GMainContext) context = NULL;
	g_autoptr(GCancellable) wait_cancel = NULL;
	WaitFlag exited = {false};
	gint64 deadline;
	HgVmState state;
	bool answered = false;

	if (!given->config) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN, "%s cannot be started: %s",
			    given->id, given->error ? given->error->message : "it is broken");
		return NULL;
	}
	entry = hg_vm_entry_copy(given);
	state = hg_vm_probe_state(entry->id);
	if (state == HG_VM_STATE_RUNNING || state == HG_VM_STATE_PAUSED) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_RUNNING, "%s is already running",
			    entry->config->name);
		return NULL;
	}
	/* A vm.json from before formats were recorded gets them now, once,
	 * before anything opens its disks. */
	if (!hg_vm_entry_record_disk_formats(entry, error))
		return NULL;
	argv = hg_engine_argv(entry, error);
	if (!argv)
		return NULL;
	if (paused || restore_dir) {
		gsize n = g_strv_length(argv);
		argv = g_renew(char *, argv, n + 3);
		if (paused)
			argv[n++] = g_strdup("--paused");
		if (restore_dir)
			argv[n++] = g_strdup_printf("--restore=%s", restore_dir);
		argv[n] = NULL;
	}
	if (!prepare_runtime_dir(entry->id, error) || !ensure_uefi_vars(entry, error))
		return NULL;
	engine = spawn_engine(entry, argv, error);
	if (!engine)
		return NULL;

	/* Watch for an early exit on a private context, so that waiting here
	 * dispatches nothing of the caller's. */
	context = g_main_context_new();
	wait_cancel = g_cancellable_new();
	g_main_context_push_thread_default(context);
	g_subprocess_wait_async(engine, wait_cancel, on_start_wait_done, &exited);
	deadline = g_get_monotonic_time() + START_TIMEOUT_US;
	while (!exited.done && g_get_monotonic_time() < deadline &&
	       !g_cancellable_is_cancelled(cancellable)) {
		while (g_main_context_iteration(context, FALSE))
			;
		if (exited.done)
			break;
		ProbeResult probe = probe_control_socket(entry->id);
		if (probe == PROBE_RUNNING || probe == PROBE_PAUSED) {
			answered = true;
			break;
		}
		g_usleep(START_POLL_US);
	}
	if (!exited.done && !answered)
		g_subprocess_force_exit(engine);
	if (!exited.done && answered)
		g_cancellable_cancel(wait_cancel);
	while (!exited.done)
		g_main_context_iteration(context, TRUE);
	g_main_context_pop_thread_default(context);

	if (answered)
		return g_steal_pointer(&engine);

	if (g_cancellable_set_error_if_cancelled(cancellable, error))
		return NULL;
	int wait_status = g_subprocess_get_status(engine);
	g_autofree char *tail = hg_vm_log_tail(entry->id, START_FAILURE_LOG_LINES);
	if (g_get_monotonic_time() >= deadline && WIFSIGNALED(wait_status) &&
	    WTERMSIG(wait_status) == SIGKILL) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_ENGINE,
			    "the engine did not answer on its control socket within %d s and was "
			    "stopped%s%s",
			    (int)(START_TIMEOUT_US / G_USEC_PER_SEC), tail ? "\n" : "",
			    tail ? tail : "");
		record_exit(entry->id, wait_status);
		return NULL;
	}
	record_exit(entry->id, wait_status);
	g_autofree char *description = hg_engine_describe_exit(wait_status);
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_ENGINE, "the engine exited: %s%s%s",
		    description, tail && *tail ? "\n" : "", tail ? tail : "");
	return NULL;
}

GSubprocess *hg_engine_start(const HgVmEntry *entry, bool paused, GCancellable *cancellable,
			     GError **error)
{
	return engine_start(entry, paused, NULL, cancellable, error);
}

GSubprocess *hg_engine_start_restore(const HgVmEntry *entry, const char *restore_dir, bool paused,
				     GCancellable *cancellable, GError **error)
{
	return engine_start(entry, paused, restore_dir, cancellable, error);
}

/* ---- supervising ---- */

typedef struct {
	char *vm_id;
	HgEngineExitFunc on_exit;
	gpointer user_data;
} WatchData;

static void on_engine_exited(GObject *source, GAsyncResult *result, gpointer data)
{
	WatchData *watch = data;
	GSubprocess *engine = G_SUBPROCESS(source);
	int wait_status;

	g_subprocess_wait_finish(engine, result, NULL);
	wait_status = g_subprocess_get_status(engine);
	record_exit(watch->vm_id, wait_status);
	if (watch->on_exit) {
		g_autofree char *reason = describe_with_reason(watch->vm_id, wait_status);
		watch->on_exit(watch->vm_id, wait_status, reason, watch->user_data);
	}
	g_free(watch->vm_id);
	g_free(watch);
}

void hg_engine_watch(GSubprocess *engine, const char *vm_id, HgEngineExitFunc on_exit,
		     gpointer user_data)
{
	WatchData *watch = g_new0(WatchData, 1);

	watch->vm_id = g_strdup(vm_id);
	watch->on_exit = on_exit;
	watch->user_data = user_data;
	/* The pending wait holds a reference to engine until it exits. */
	g_subprocess_wait_async(engine, NULL, on_engine_exited, watch);
}

/* hangarctl end to end: the real binary ($HANGARCTL) on a library and a
 * runtime folder of the test's own, its JSON output read with json-glib,
 * its exit codes checked against docs/hangarctl.md.  The guest cases boot
 * the guest-kit demo ($HANGAR_DEMO_GUEST) through "hangarctl start" and
 * need a writable /dev/kvm; they skip, saying so, without one.
 *
 * The cases run in the order they are added and share one library, like a
 * user's session: create, then look, then change, then delete. */
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hangarctl-test-util.h"

/* The demo boots in a few seconds even where guest CPL0 code is emulated. */
#define GUEST_OUTPUT_TIMEOUT_MS 120000

static char *test_dir; /* everything the test makes */
static char *demo_id; /* the demo VM, once started */

static char *vm_dir(const char *name)
{
	return g_build_filename(library_root, "vms", name, NULL);
}

/* ---- usage ---- */

static void test_usage_no_command(void)
{
	g_assert_cmpint(ctl_run(NULL, NULL, NULL, NULL, NULL), ==, EXIT_USAGE);
}

static void test_usage_unknown_command(void)
{
	g_autoptr(JsonObject) object = NULL;

	g_assert_cmpint(ctl("fly"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl_json(&object, "fly", NULL), ==, EXIT_USAGE);
	assert_json_error(object, "usage");
}

static void test_usage_bad_option(void)
{
	g_autoptr(JsonObject) object = NULL;

	g_assert_cmpint(ctl("list", "--no-such-option"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl_json(&object, "create", "x", "--memory", "lots", NULL), ==, EXIT_USAGE);
	assert_json_error(object, "usage");
}

static void test_usage_wrong_argument_count(void)
{
	g_assert_cmpint(ctl("info"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl("rename", "a"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl("list", "extra"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl("screenshot", "vm"), ==, EXIT_USAGE);
}

static void test_usage_bad_values(void)
{
	g_assert_cmpint(ctl("create", "x", "--disk-size", "twenty"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl("create", "x", "--disk-size", "20"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl("create", "x", "--memory", "1"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl("create", "x", "--cpus", "1000"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl("create", "x", "--firmware", "coreboot"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl("create", "x", "--display", "rdp"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl("create", "x", "--append", "quiet"), ==, EXIT_USAGE);
	g_assert_cmpint(ctl("delete", "x", "--trash", "--files", "--yes"), ==, EXIT_USAGE);
}

static void test_usage_help(void)
{
	g_autofree char *out = NULL;
	g_autofree char *command_out = NULL;

	g_assert_cmpint(ctl_run(NULL, &out, NULL, "--help", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "screenshot"));
	g_assert_nonnull(strstr(out, "console"));
	g_assert_nonnull(strstr(out, "no such VM"));
	g_assert_cmpint(ctl_run(NULL, &command_out, NULL, "stop", "--help", NULL), ==, 0);
	g_assert_nonnull(strstr(command_out, "--force"));
	g_assert_nonnull(strstr(command_out, "--timeout"));
	g_assert_nonnull(strstr(command_out, "--json"));
}

/* ---- the library at rest ---- */

static void test_create_prints_the_vm(void)
{
	g_autoptr(JsonObject) vm = NULL;
	g_autofree char *disk = NULL;
	JsonArray *disks;
	JsonObject *d;
	struct stat st;

	g_assert_cmpint(ctl_json(&vm, "create", "Test VM", "--memory", "256", "--cpus", "2",
				 "--disk-size", "1G", "--display", "vnc", NULL),
			==, 0);
	g_assert_cmpstr(json_object_get_string_member(vm, "name"), ==, "Test VM");
	g_assert_cmpstr(json_object_get_string_member(vm, "state"), ==, "stopped");
	g_assert_cmpint(json_object_get_int_member(vm, "memory-mib"), ==, 256);
	g_assert_cmpint(json_object_get_int_member(vm, "cpus"), ==, 2);
	g_assert_cmpstr(json_object_get_string_member(vm, "display"), ==, "vnc");
	g_assert_cmpstr(json_object_get_string_member(vm, "firmware"), ==, "bios");
	disks = json_object_get_array_member(vm, "disks");
	g_assert_cmpuint(json_array_get_length(disks), ==, 1);
	d = json_array_get_object_element(disks, 0);
	g_assert_cmpstr(json_object_get_string_member(d, "bus"), ==, "virtio");
	g_assert_cmpstr(json_object_get_string_member(d, "format"), ==, "qcow2");
	disk = g_strdup(json_object_get_string_member(d, "file"));
	g_assert_true(g_str_has_suffix(disk, "/disk.qcow2"));
	/* A new qcow2 image: metadata only, 1 GiB as qemu-img sees it. */
	g_assert_cmpint(g_stat(disk, &st), ==, 0);
	g_assert_cmpint((gint64)st.st_blocks * 512, <, 1 << 20);
	g_autofree char *info = NULL;
	const char *info_argv[] = {"qemu-img", "info", "--output=json", disk, NULL};
	g_assert_true(g_spawn_sync(NULL, (char **)info_argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
				   NULL, &info, NULL, NULL, NULL));
	g_assert_nonnull(strstr(info, "\"format\": \"qcow2\""));
	g_assert_nonnull(strstr(info, "\"virtual-size\": 1073741824"));
}

static void test_create_refuses_a_taken_name(void)
{
	g_autoptr(JsonObject) object = NULL;

	g_assert_cmpint(ctl_json(&object, "create", "Test VM", "--disk-size", "0", NULL), ==,
			EXIT_FAILED);
	assert_json_error(object, "exists");
}

static void test_create_missing_image_fails(void)
{
	g_assert_cmpint(ctl("create", "y", "--iso", "/nonexistent/x.iso"), ==, EXIT_FAILED);
}

/* --disk records the format the image has now (the engine is always given
 * it); an image a VM could only read is refused, pointing at import. */
static void test_create_disk_records_its_format(void)
{
	g_autofree char *raw = g_build_filename(test_dir, "in-place.img", NULL);
	g_autofree char *vmdk = g_build_filename(test_dir, "in-place.vmdk", NULL);
	g_autoptr(JsonObject) vm = NULL, refused = NULL;
	JsonObject *d;

	g_assert_true(g_file_set_contents(raw, "", 0, NULL));
	g_assert_cmpint(truncate(raw, 1 << 20), ==, 0);
	g_assert_cmpint(ctl_json(&vm, "create", "In place", "--disk", raw, NULL), ==, 0);
	d = json_array_get_object_element(json_object_get_array_member(vm, "disks"), 0);
	g_assert_cmpstr(json_object_get_string_member(d, "file"), ==, raw);
	g_assert_cmpstr(json_object_get_string_member(d, "format"), ==, "raw");

	g_assert_true(g_file_set_contents(vmdk, "KDMV", 4, NULL));
	g_assert_cmpint(truncate(vmdk, 1 << 20), ==, 0);
	g_assert_cmpint(ctl_json(&refused, "create", "VMDK in place", "--disk", vmdk, NULL), ==,
			EXIT_FAILED);
	assert_json_error(refused, "unsupported");
	g_assert_cmpint(ctl("delete", "In place", "--files", "--yes"), ==, 0);
	g_assert_true(g_file_test(raw, G_FILE_TEST_EXISTS));
}

/* An ISO 9660 image carrying a volume id, made by xorriso; NULL (the test
 * skipped) without it. */
static char *make_iso(const char *name, const char *volume_id)
{
	g_autofree char *xorriso = g_find_program_in_path("xorriso");
	g_autofree char *content = g_build_filename(test_dir, "iso-content", NULL);
	g_autofree char *readme = g_build_filename(content, "README.TXT", NULL);
	g_autofree char *iso = g_build_filename(test_dir, name, NULL);
	g_autoptr(GError) error = NULL;
	int status = 0;

	if (!xorriso) {
		g_test_skip("xorriso is missing (package xorriso): no ISO to create a VM from");
		return NULL;
	}
	g_assert_cmpint(g_mkdir_with_parents(content, 0700), ==, 0);
	g_assert_true(g_file_set_contents(readme, "hangarctl test media\n", -1, NULL));
	g_assert_true(g_spawn_sync(NULL,
				   (char *[]){xorriso, "-as", "mkisofs", "-quiet", "-V",
					      (char *)volume_id, "-o", iso, content, NULL},
				   NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
				   NULL, NULL, NULL, NULL, &status, &error));
	g_assert_no_error(error);
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	return g_steal_pointer(&iso);
}

/* The OS on the ISO chooses what the command line does not; the CD-ROM
 * boots before the new disk. */
static void test_create_from_iso_uses_the_os(void)
{
	g_autofree char *iso = make_iso("debian.iso", "Debian 12.8.0 amd64 2");
	g_autoptr(JsonObject) vm = NULL;
	JsonArray *disks;
	JsonObject *cdrom, *disk;

	if (!iso)
		return;
	g_assert_cmpint(ctl_json(&vm, "create", "Installer", "--iso", iso, "--cpus", "1",
				 "--disk-size", "4G", NULL),
			==, 0);
	g_assert_cmpstr(json_object_get_string_member(vm, "os-id"), ==, "debian12");
	g_assert_cmpint(json_object_get_int_member(vm, "memory-mib"), ==, 2048);
	/* Given on the command line: it wins over the OS's 2. */
	g_assert_cmpint(json_object_get_int_member(vm, "cpus"), ==, 1);
	disks = json_object_get_array_member(vm, "disks");
	g_assert_cmpuint(json_array_get_length(disks), ==, 2);
	cdrom = json_array_get_object_element(disks, 0);
	disk = json_array_get_object_element(disks, 1);
	g_assert_cmpstr(json_object_get_string_member(cdrom, "media"), ==, "cdrom");
	g_assert_cmpstr(json_object_get_string_member(cdrom, "bus"), ==, "sata");
	g_assert_cmpstr(json_object_get_string_member(cdrom, "file"), ==, iso);
	g_assert_cmpint(json_object_get_int_member(cdrom, "boot-index"), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(disk, "media"), ==, "disk");
	g_assert_cmpstr(json_object_get_string_member(disk, "bus"), ==, "virtio");
	g_assert_cmpint(json_object_get_int_member(disk, "boot-index"), ==, 1);
	/* The image was used in place: deleting the VM leaves it. */
	g_assert_cmpint(ctl("delete", "Installer", "--files", "--yes"), ==, 0);
	g_assert_true(g_file_test(iso, G_FILE_TEST_EXISTS));
}

static void test_list_shows_the_vms(void)
{
	g_autoptr(JsonObject) list = NULL;
	g_autofree char *out = NULL;
	JsonArray *vms;
	JsonObject *vm;

	g_assert_cmpint(ctl_json(&list, "list", NULL), ==, 0);
	vms = json_object_get_array_member(list, "vms");
	g_assert_cmpuint(json_array_get_length(vms), ==, 1);
	vm = json_array_get_object_element(vms, 0);
	g_assert_cmpstr(json_object_get_string_member(vm, "name"), ==, "Test VM");
	g_assert_cmpstr(json_object_get_string_member(vm, "state"), ==, "stopped");
	g_assert_cmpint(json_object_get_int_member(vm, "cpus"), ==, 2);

	/* Human form: a table, the global options after the command too. */
	g_assert_cmpint(ctl_run(NULL, &out, NULL, "list", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "NAME"));
	g_assert_nonnull(strstr(out, "Test VM"));
	g_assert_nonnull(strstr(out, "256 MiB"));
}

static void test_info_shows_config_state_and_runtime(void)
{
	g_autoptr(JsonObject) by_name = NULL;
	g_autoptr(JsonObject) by_id = NULL;
	g_autofree char *out = NULL;
	JsonObject *runtime;
	const char *id;

	g_assert_cmpint(ctl_json(&by_name, "info", "Test VM", NULL), ==, 0);
	id = json_object_get_string_member(by_name, "id");
	g_assert_cmpint(ctl_json(&by_id, "info", id, NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(by_id, "name"), ==, "Test VM");
	g_assert_cmpstr(json_object_get_string_member(by_id, "uuid"), ==,
			json_object_get_string_member(by_name, "uuid"));
	runtime = json_object_get_object_member(by_id, "runtime");
	g_assert_true(g_str_has_suffix(json_object_get_string_member(runtime, "control"),
				       "/control.sock"));
	g_assert_true(g_str_has_prefix(json_object_get_string_member(runtime, "dir"),
				       g_getenv("XDG_RUNTIME_DIR")));
	g_assert_true(json_object_has_member(by_id, "last-exit"));

	g_assert_cmpint(ctl_run(NULL, &out, NULL, "info", "test vm", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "256 MiB"));
	g_assert_nonnull(strstr(out, "control.sock"));
}

static void test_rename_keeps_the_id(void)
{
	g_autoptr(JsonObject) before = NULL;
	g_autoptr(JsonObject) after = NULL;
	g_autoptr(JsonObject) missing = NULL;

	g_assert_cmpint(ctl_json(&before, "info", "Test VM", NULL), ==, 0);
	g_assert_cmpint(ctl_json(&after, "rename", "Test VM", "Renamed VM", NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(after, "name"), ==, "Renamed VM");
	g_assert_cmpstr(json_object_get_string_member(after, "id"), ==,
			json_object_get_string_member(before, "id"));
	g_assert_cmpint(ctl_json(&missing, "info", "Test VM", NULL), ==, EXIT_NO_VM);
}

static void test_duplicate_makes_a_new_vm(void)
{
	g_autoptr(JsonObject) original = NULL;
	g_autoptr(JsonObject) copy = NULL;
	g_autoptr(JsonObject) list = NULL;

	g_assert_cmpint(ctl_json(&original, "info", "Renamed VM", NULL), ==, 0);
	g_assert_cmpint(ctl_json(&copy, "duplicate", "Renamed VM", "Copy VM", NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(copy, "name"), ==, "Copy VM");
	g_assert_cmpstr(json_object_get_string_member(copy, "id"), !=,
			json_object_get_string_member(original, "id"));
	g_assert_cmpstr(json_object_get_string_member(copy, "uuid"), !=,
			json_object_get_string_member(original, "uuid"));
	g_assert_cmpint(json_object_get_int_member(copy, "memory-mib"), ==, 256);
	g_assert_cmpint(ctl_json(&list, "list", NULL), ==, 0);
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(list, "vms")), ==, 2);
}

static void test_unknown_vm_exits_3(void)
{
	g_autoptr(JsonObject) object = NULL;

	g_assert_cmpint(ctl_json(&object, "info", "no-such-vm", NULL), ==, EXIT_NO_VM);
	assert_json_error(object, "no-such-vm");
	g_assert_cmpint(ctl("start", "no-such-vm"), ==, EXIT_NO_VM);
	g_assert_cmpint(ctl("stop", "no-such-vm"), ==, EXIT_NO_VM);
	g_assert_cmpint(ctl("console", "no-such-vm"), ==, EXIT_NO_VM);
	g_assert_cmpint(ctl("rename", "no-such-vm", "z"), ==, EXIT_NO_VM);
	g_assert_cmpint(ctl("delete", "no-such-vm", "--yes"), ==, EXIT_NO_VM);
}

/* Names are unique, but a folder copied by hand can repeat one: hangarctl
 * then asks for the id rather than guessing. */
static void test_ambiguous_name_exits_2(void)
{
	g_autofree char *dir = vm_dir("twin");
	g_autofree char *copy_dir = vm_dir("twin-copy");
	g_autofree char *config = g_build_filename(dir, "vm.json", NULL);
	g_autofree char *copy_config = g_build_filename(copy_dir, "vm.json", NULL);
	g_autofree char *text = NULL;
	g_autoptr(JsonObject) object = NULL;
	g_autoptr(JsonObject) by_id = NULL;

	g_assert_cmpint(ctl("create", "Twin", "--disk-size", "0"), ==, 0);
	g_assert_true(g_file_get_contents(config, &text, NULL, NULL));
	g_assert_cmpint(g_mkdir_with_parents(copy_dir, 0700), ==, 0);
	g_assert_true(g_file_set_contents(copy_config, text, -1, NULL));

	g_assert_cmpint(ctl_json(&object, "info", "Twin", NULL), ==, EXIT_USAGE);
	assert_json_error(object, "ambiguous");
	g_assert_cmpint(ctl_json(&by_id, "info", "twin-copy", NULL), ==, 0);
	g_assert_cmpint(ctl("delete", "twin-copy", "--files", "--yes"), ==, 0);
	g_assert_cmpint(ctl("delete", "Twin", "--files", "--yes"), ==, 0);
}

static void test_broken_vm_is_listed_and_info_exits_5(void)
{
	g_autofree char *dir = vm_dir("broken-vm");
	g_autofree char *config = g_build_filename(dir, "vm.json", NULL);
	g_autoptr(JsonObject) list = NULL;
	g_autoptr(JsonObject) info = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *out = NULL;
	g_autofree char *err = NULL;
	JsonArray *vms;
	bool found = false;

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	g_file_set_contents(config, "{\"name\": \"Broken\", \"memory-mib\": ", -1, &error);
	g_assert_no_error(error);

	g_assert_cmpint(ctl_json(&list, "list", NULL), ==, 0);
	vms = json_object_get_array_member(list, "vms");
	for (guint i = 0; i < json_array_get_length(vms); i++) {
		JsonObject *vm = json_array_get_object_element(vms, i);

		if (strcmp(json_object_get_string_member(vm, "id"), "broken-vm"))
			continue;
		found = true;
		g_assert_cmpstr(json_object_get_string_member(vm, "state"), ==, "broken");
		g_assert_cmpuint(strlen(json_object_get_string_member(vm, "reason")), >, 0);
	}
	g_assert_true(found);
	g_assert_cmpint(ctl_run(NULL, &out, NULL, "list", NULL), ==, 0);
	g_assert_nonnull(strstr(out, "broken-vm"));

	g_assert_cmpint(ctl_json(&info, "info", "broken-vm", NULL), ==, EXIT_BROKEN);
	assert_json_error(info, "broken");
	g_assert_cmpint(ctl_run(NULL, NULL, &err, "start", "broken-vm", NULL), ==, EXIT_BROKEN);
	g_assert_nonnull(strstr(err, "broken"));
	/* Left untouched by all of that. */
	g_assert_true(g_file_test(config, G_FILE_TEST_EXISTS));
	/* And deleted only when asked. */
	g_assert_cmpint(ctl("delete", "broken-vm", "--files", "--yes"), ==, 0);
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
}

static void test_stopped_vm_commands_exit_4(void)
{
	g_autoptr(JsonObject) object = NULL;
	g_autofree char *png = g_build_filename(test_dir, "never.png", NULL);

	g_assert_cmpint(ctl_json(&object, "stop", "Copy VM", NULL), ==, EXIT_STATE);
	assert_json_error(object, "not-running");
	g_assert_cmpint(ctl("stop", "Copy VM", "--force"), ==, EXIT_STATE);
	g_assert_cmpint(ctl("pause", "Copy VM"), ==, EXIT_STATE);
	g_assert_cmpint(ctl("resume", "Copy VM"), ==, EXIT_STATE);
	g_assert_cmpint(ctl("reset", "Copy VM"), ==, EXIT_STATE);
	g_assert_cmpint(ctl("screenshot", "Copy VM", png), ==, EXIT_STATE);
	g_assert_cmpint(ctl("console", "Copy VM"), ==, EXIT_STATE);
}

static void test_delete_needs_yes_without_a_terminal(void)
{
	g_autofree char *dir = NULL;
	g_autoptr(JsonObject) info = NULL;
	g_autoptr(JsonObject) object = NULL;

	g_assert_cmpint(ctl_json(&info, "info", "Copy VM", NULL), ==, 0);
	dir = g_strdup(json_object_get_string_member(info, "dir"));
	/* stdin is a pipe here, even one that says yes. */
	g_assert_cmpint(ctl_run("y\n", NULL, NULL, "delete", "Copy VM", "--files", NULL), ==,
			EXIT_USAGE);
	g_assert_true(g_file_test(dir, G_FILE_TEST_IS_DIR));
	g_assert_cmpint(ctl_json(&object, "delete", "Copy VM", "--files", "--yes", NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(object, "deleted"), ==, "files");
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
	g_assert_cmpint(ctl("info", "Copy VM"), ==, EXIT_NO_VM);
}

/* ---- a running guest ---- */

/* Whatever failed above, no engine outlives the test: engines run in their
 * own session, so nothing else would end them.  A failed assertion aborts,
 * so the SIGABRT handler does it too, with only fork, exec and waitpid. */
static char *cleanup_argv[7];

static void stop_leftover_engines(void)
{
	pid_t pid;

	if (!cleanup_argv[0])
		return;
	pid = fork();
	if (pid == 0) {
		execv(cleanup_argv[0], cleanup_argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void on_abort(int signo)
{
	stop_leftover_engines();
	signal(SIGABRT, SIG_DFL);
	raise(SIGABRT);
}

static void arm_cleanup(const char *vm_id)
{
	char **a = cleanup_argv;

	*a++ = g_strdup(g_getenv("HANGARCTL"));
	*a++ = "--library";
	*a++ = library_root;
	*a++ = "stop";
	*a++ = g_strdup(vm_id);
	*a++ = "--force";
	*a = NULL;
	signal(SIGABRT, on_abort);
}

static bool have_kvm(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		g_test_skip("/dev/kvm is missing or not writable: no guest can run here");
		return false;
	}
	return true;
}

static bool demo_started(void)
{
	if (!have_kvm())
		return false;
	if (!demo_id) {
		g_test_skip("the demo VM did not start (see /hangarctl/guest/start)");
		return false;
	}
	return true;
}

/* Reads fd into got until it holds needle or the time is up. */
static bool read_until(int fd, GString *got, const char *needle, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (!strstr(got->str, needle)) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		char buf[4096];
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return false;
		g_string_append_len(got, buf, n);
	}
	return true;
}

static void test_guest_start(void)
{
	g_autoptr(JsonObject) vm = NULL;
	g_autoptr(JsonObject) again = NULL;
	const char *guest = g_getenv("HANGAR_DEMO_GUEST");

	if (!have_kvm())
		return;
	g_assert_nonnull(guest);
	g_assert_cmpint(ctl_json(&vm, "create", "Demo", "--kernel", guest, "--memory", "64", NULL),
			==, 0);
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(vm, "disks")), ==, 0);
	g_clear_pointer(&vm, json_object_unref);
	g_assert_cmpint(ctl_json(&vm, "start", "Demo", NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(vm, "state"), ==, "running");
	demo_id = g_strdup(json_object_get_string_member(vm, "id"));
	arm_cleanup(demo_id);

	g_assert_cmpint(ctl_json(&again, "start", "Demo", NULL), ==, EXIT_STATE);
	assert_json_error(again, "running");
}

static void test_guest_delete_refused_while_running(void)
{
	g_autofree char *dir = NULL;

	if (!demo_started())
		return;
	dir = vm_dir(demo_id);
	g_assert_cmpint(ctl("delete", demo_id, "--files", "--yes"), ==, EXIT_STATE);
	g_assert_true(g_file_test(dir, G_FILE_TEST_IS_DIR));
}

static void test_guest_pause_and_resume(void)
{
	g_autoptr(JsonObject) paused = NULL;
	g_autoptr(JsonObject) resumed = NULL;
	g_autofree char *state = NULL;

	if (!demo_started())
		return;
	g_assert_cmpint(ctl_json(&paused, "pause", demo_id, NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(paused, "state"), ==, "paused");
	state = vm_state(demo_id);
	g_assert_cmpstr(state, ==, "paused");
	/* Pausing a paused VM leaves it so, and says so. */
	g_assert_cmpint(ctl("pause", demo_id), ==, 0);
	g_assert_cmpint(ctl_json(&resumed, "resume", demo_id, NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(resumed, "state"), ==, "running");
	g_free(state);
	state = vm_state(demo_id);
	g_assert_cmpstr(state, ==, "running");
}

static void test_guest_screenshot_is_a_png(void)
{
	static const guint8 png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	g_autofree char *file = g_build_filename(test_dir, "screen.png", NULL);
	g_autofree char *contents = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) object = NULL;
	gsize length;

	if (!demo_started())
		return;
	g_assert_cmpint(ctl_json(&object, "screenshot", demo_id, file, NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(object, "file"), ==, file);
	g_file_get_contents(file, &contents, &length, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(length, >, sizeof(png_signature));
	g_assert_cmpmem(contents, sizeof(png_signature), png_signature, sizeof(png_signature));
}

/* A console on pipes, as a script would run it. */
typedef struct {
	GSubprocess *proc;
	int in_fd, out_fd;
	GString *got;
} Console;

static void console_open(Console *c, GSubprocessFlags extra_flags)
{
	const char *args[] = {"console", demo_id, NULL};

	c->proc = ctl_spawnv(
		G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE | extra_flags, args);
	c->in_fd = g_unix_output_stream_get_fd(
		G_UNIX_OUTPUT_STREAM(g_subprocess_get_stdin_pipe(c->proc)));
	c->out_fd = g_unix_input_stream_get_fd(
		G_UNIX_INPUT_STREAM(g_subprocess_get_stdout_pipe(c->proc)));
	c->got = g_string_new(NULL);
}

static void console_expect(Console *c, const char *needle)
{
	if (!read_until(c->out_fd, c->got, needle, GUEST_OUTPUT_TIMEOUT_MS))
		g_error("the console never showed \"%s\"; it showed:\n%s", needle, c->got->str);
}

/* SIGTERM is how a script ends a console; it exits 0. */
static void console_close(Console *c)
{
	g_autoptr(GError) error = NULL;

	g_subprocess_send_signal(c->proc, SIGTERM);
	g_subprocess_wait(c->proc, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(wait_status_to_exit(c->proc), ==, 0);
	g_object_unref(c->proc);
	g_string_free(c->got, TRUE);
}

static void test_guest_console_relays_serial(void)
{
	Console c;
	Console busy;
	static const char line[] = "hello hangarctl\r";

	if (!demo_started())
		return;
	console_open(&c, G_SUBPROCESS_FLAGS_NONE);
	/* The engine kept the boot output for its first console. */
	console_expect(&c, "Hangar demo guest");
	console_expect(&c, "Type a line");
	g_assert_cmpint(write(c.in_fd, line, strlen(line)), ==, (ssize_t)strlen(line));
	console_expect(&c, "you typed: hello hangarctl");

	/* One console at a time, like a serial line. */
	console_open(&busy, G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_assert_true(g_subprocess_wait(busy.proc, NULL, NULL));
	g_assert_cmpint(wait_status_to_exit(busy.proc), ==, EXIT_FAILED);
	g_object_unref(busy.proc);
	g_string_free(busy.got, TRUE);

	console_close(&c);
}

static void test_guest_reset_reboots(void)
{
	g_autoptr(JsonObject) object = NULL;
	Console c;

	if (!demo_started())
		return;
	g_assert_cmpint(ctl_json(&object, "reset", demo_id, NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(object, "state"), ==, "running");
	/* The kernel was loaded again and greets once more. */
	console_open(&c, G_SUBPROCESS_FLAGS_NONE);
	console_expect(&c, "Hangar demo guest");
	console_close(&c);
}

static void test_guest_stop_times_out_without_acpi(void)
{
	g_autoptr(JsonObject) object = NULL;

	if (!demo_started())
		return;
	/* The demo has no ACPI: it never sees the power button. */
	g_assert_cmpint(ctl_json(&object, "stop", demo_id, "--timeout", "1", NULL), ==,
			EXIT_FAILED);
	assert_json_error(object, "timeout");
}

static void test_guest_stop_force(void)
{
	g_autoptr(JsonObject) object = NULL;
	g_autoptr(JsonObject) again = NULL;
	g_autofree char *state = NULL;
	JsonObject *last_exit;

	if (!demo_started())
		return;
	g_assert_cmpint(ctl_json(&object, "stop", demo_id, "--force", NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(object, "state"), ==, "stopped");
	state = vm_state(demo_id);
	g_assert_cmpstr(state, ==, "stopped");
	last_exit = json_object_get_object_member(object, "last-exit");
	g_assert_nonnull(last_exit);
	g_assert_cmpint(json_object_get_int_member(last_exit, "status"), ==, 0);

	g_assert_cmpint(ctl_json(&again, "stop", demo_id, NULL), ==, EXIT_STATE);
	assert_json_error(again, "not-running");
}

/* start --wait blocks until the engine ends and reports that end. */
static void test_guest_start_wait_reports_the_end(void)
{
	const char *args[] = {"--json", "start", demo_id, "--wait", NULL};
	g_autoptr(GSubprocess) waiter = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) object = NULL;
	g_autofree char *out = NULL;
	gint64 deadline;
	JsonObject *exit_object;

	if (!demo_started())
		return;
	waiter = ctl_spawnv(G_SUBPROCESS_FLAGS_STDOUT_PIPE, args);
	deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	for (;;) {
		g_autofree char *state = vm_state(demo_id);

		if (!strcmp(state, "running"))
			break;
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(100 * 1000);
	}
	/* Still waiting while the VM runs. */
	g_usleep(300 * 1000);
	g_assert_false(g_subprocess_get_identifier(waiter) == NULL);

	g_assert_cmpint(ctl("stop", demo_id, "--force"), ==, 0);
	g_subprocess_communicate_utf8(waiter, NULL, NULL, &out, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(wait_status_to_exit(waiter), ==, 0);
	object = parse_object(out);
	exit_object = json_object_get_object_member(object, "exit");
	g_assert_nonnull(exit_object);
	g_assert_cmpint(json_object_get_int_member(exit_object, "status"), ==, 0);
	g_assert_true(json_object_get_boolean_member(exit_object, "clean"));
	g_assert_cmpstr(json_object_get_string_member(object, "state"), ==, "stopped");
}

static void test_guest_start_paused(void)
{
	g_autoptr(JsonObject) vm = NULL;
	g_autofree char *state = NULL;

	if (!demo_started())
		return;
	g_assert_cmpint(ctl_json(&vm, "start", demo_id, "--paused", NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(vm, "state"), ==, "paused");
	state = vm_state(demo_id);
	g_assert_cmpstr(state, ==, "paused");
	g_assert_cmpint(ctl("stop", demo_id, "--force"), ==, 0);
}

static void test_guest_delete_files_removes_the_folder(void)
{
	g_autofree char *dir = NULL;
	g_autoptr(JsonObject) object = NULL;

	if (!demo_started())
		return;
	dir = vm_dir(demo_id);
	g_assert_true(g_file_test(dir, G_FILE_TEST_IS_DIR));
	g_assert_cmpint(ctl_json(&object, "delete", demo_id, "--files", "--yes", NULL), ==, 0);
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
	/* The guest image was used in place and is still there. */
	g_assert_true(g_file_test(g_getenv("HANGAR_DEMO_GUEST"), G_FILE_TEST_EXISTS));
	g_clear_pointer(&demo_id, g_free);
	g_clear_pointer(&cleanup_argv[0], g_free);
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *runtime = NULL;
	g_autofree char *data = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	if (!g_getenv("HANGARCTL")) {
		g_printerr("HANGARCTL must name the hangarctl binary\n");
		return 1;
	}
	test_dir = g_dir_make_tmp("hangarctl-test-XXXXXX", &error);
	g_assert_no_error(error);
	library_root = g_build_filename(test_dir, "library", NULL);
	runtime = g_build_filename(test_dir, "run", NULL);
	data = g_build_filename(test_dir, "data", NULL);
	g_mkdir_with_parents(runtime, 0700);
	g_mkdir_with_parents(data, 0700);
	/* hangarctl and the engines it starts inherit these: nothing of the
	 * user's own library or runtime folder is touched. */
	g_setenv("XDG_RUNTIME_DIR", runtime, TRUE);
	g_setenv("XDG_DATA_HOME", data, TRUE);
	g_unsetenv("HANGAR_LIBRARY");
	g_setenv("LC_ALL", "C", TRUE);

	g_test_add_func("/hangarctl/usage/no-command-exits-2", test_usage_no_command);
	g_test_add_func("/hangarctl/usage/unknown-command-exits-2", test_usage_unknown_command);
	g_test_add_func("/hangarctl/usage/bad-option-exits-2", test_usage_bad_option);
	g_test_add_func("/hangarctl/usage/wrong-argument-count-exits-2",
			test_usage_wrong_argument_count);
	g_test_add_func("/hangarctl/usage/bad-values-exit-2", test_usage_bad_values);
	g_test_add_func("/hangarctl/usage/help-lists-commands-and-exit-codes", test_usage_help);
	g_test_add_func("/hangarctl/create/prints-the-vm-as-json", test_create_prints_the_vm);
	g_test_add_func("/hangarctl/create/refuses-a-taken-name", test_create_refuses_a_taken_name);
	g_test_add_func("/hangarctl/create/missing-image-fails", test_create_missing_image_fails);
	g_test_add_func("/hangarctl/create/disk-records-its-format",
			test_create_disk_records_its_format);
	g_test_add_func("/hangarctl/create/from-iso-uses-the-os", test_create_from_iso_uses_the_os);
	g_test_add_func("/hangarctl/list/shows-the-vms", test_list_shows_the_vms);
	g_test_add_func("/hangarctl/info/shows-config-state-and-runtime",
			test_info_shows_config_state_and_runtime);
	g_test_add_func("/hangarctl/rename/keeps-the-id", test_rename_keeps_the_id);
	g_test_add_func("/hangarctl/duplicate/makes-a-new-vm", test_duplicate_makes_a_new_vm);
	g_test_add_func("/hangarctl/lookup/unknown-vm-exits-3", test_unknown_vm_exits_3);
	g_test_add_func("/hangarctl/lookup/ambiguous-name-exits-2", test_ambiguous_name_exits_2);
	g_test_add_func("/hangarctl/broken/listed-with-reason-and-info-exits-5",
			test_broken_vm_is_listed_and_info_exits_5);
	g_test_add_func("/hangarctl/state/stopped-vm-commands-exit-4",
			test_stopped_vm_commands_exit_4);
	g_test_add_func("/hangarctl/delete/needs-yes-without-a-terminal",
			test_delete_needs_yes_without_a_terminal);
	g_test_add_func("/hangarctl/guest/start", test_guest_start);
	g_test_add_func("/hangarctl/guest/delete-refused-while-running",
			test_guest_delete_refused_while_running);
	g_test_add_func("/hangarctl/guest/pause-and-resume", test_guest_pause_and_resume);
	g_test_add_func("/hangarctl/guest/screenshot-is-a-png", test_guest_screenshot_is_a_png);
	g_test_add_func("/hangarctl/guest/console-relays-serial", test_guest_console_relays_serial);
	g_test_add_func("/hangarctl/guest/reset-reboots", test_guest_reset_reboots);
	g_test_add_func("/hangarctl/guest/stop-times-out-without-acpi",
			test_guest_stop_times_out_without_acpi);
	g_test_add_func("/hangarctl/guest/stop-force", test_guest_stop_force);
	g_test_add_func("/hangarctl/guest/start-wait-reports-the-end",
			test_guest_start_wait_reports_the_end);
	g_test_add_func("/hangarctl/guest/start-paused", test_guest_start_paused);
	g_test_add_func("/hangarctl/guest/delete-files-removes-the-folder",
			test_guest_delete_files_removes_the_folder);

	ret = g_test_run();
	stop_leftover_engines();
	if (!g_getenv("HANGARCTL_TEST_KEEP")) {
		g_autofree char *command = g_strdup_printf("rm -rf '%s'", test_dir);

		/* Only the folder this test made; a plain rm keeps it short. */
		if (system(command) != 0)
			g_printerr("cannot remove %s\n", test_dir);
	}
	return ret;
}

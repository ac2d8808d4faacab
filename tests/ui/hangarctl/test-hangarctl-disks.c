/* hangarctl's disk commands end to end (snapshot-*, clone, convert,
 * import): the real binary on a library of the test's own, the images
 * checked with qemu-img.  The live cases boot the guest-kit demo and need
 * /dev/kvm. */
#include <glib/gstdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hangarctl-test-util.h"

static char *test_dir;

/* `qemu-img ARGS...`'s output; asserts it succeeded. */
static char *qemu_img(const char *first, ...) G_GNUC_NULL_TERMINATED;
static char *qemu_img(const char *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	char *out = NULL;
	int status;
	va_list ap;

	g_ptr_array_add(argv, "qemu-img");
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		g_ptr_array_add(argv, (char *)a);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL,
				   NULL, &out, NULL, &status, &error));
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("qemu-img %s failed:\n%s", first, out);
	return out;
}

/* The file of the VM's first disk, from info --json. */
static char *disk_file(const char *vm)
{
	g_autoptr(JsonObject) info = NULL;
	JsonArray *disks;

	g_assert_cmpint(ctl_json(&info, "info", vm, NULL), ==, 0);
	disks = json_object_get_array_member(info, "disks");
	for (guint i = 0; i < json_array_get_length(disks); i++) {
		JsonObject *d = json_array_get_object_element(disks, i);
		if (strcmp(json_object_get_string_member(d, "media"), "disk") == 0)
			return g_strdup(json_object_get_string_member(d, "file"));
	}
	g_assert_not_reached();
}

static JsonObject *find_snapshot(JsonObject *list, const char *name)
{
	JsonArray *snaps = json_object_get_array_member(list, "snapshots");

	for (guint i = 0; i < json_array_get_length(snaps); i++) {
		JsonObject *s = json_array_get_object_element(snaps, i);
		if (strcmp(json_object_get_string_member(s, "name"), name) == 0)
			return s;
	}
	return NULL;
}

static const char *parent_of(JsonObject *list, const char *name)
{
	JsonObject *s = find_snapshot(list, name);

	g_assert_nonnull(s);
	return json_object_get_string_member_with_default(s, "parent", NULL);
}

/* ---- convert, offline snapshots ---- */

static void test_raw_disk_refused_then_converted(void)
{
	g_autofree char *raw = g_build_filename(test_dir, "outside.img", NULL);
	g_autoptr(JsonObject) refused = NULL, converted = NULL, again = NULL, snap = NULL;
	g_autofree char *disk = NULL, *info = NULL;

	/* An image used in place, with some data in it. */
	g_free(qemu_img("create", "-f", "raw", raw, "8M", NULL));
	g_autofree char *io = g_strdup_printf("write -P 0x5a 1M 64k");
	const char *io_argv[] = {"qemu-io", "-f", "raw", "-c", io, raw, NULL};
	g_assert_true(g_spawn_sync(NULL, (char **)io_argv, NULL, G_SPAWN_SEARCH_PATH |
				   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, NULL, NULL));
	g_assert_cmpint(ctl("create", "Raw", "--disk", raw, "--memory", "64"), ==, 0);

	g_assert_cmpint(ctl_json(&refused, "snapshot-create", "Raw", "first", NULL), ==,
			EXIT_STATE);
	assert_json_error(refused, "unsupported");

	g_assert_cmpint(ctl_json(&converted, "convert", "Raw", NULL), ==, 0);
	g_assert_cmpint(json_object_get_int_member(converted, "converted"), ==, 1);
	disk = disk_file("Raw");
	g_assert_true(g_str_has_suffix(disk, ".qcow2"));
	/* The image used in place is left alone, and the copy equals it. */
	g_assert_true(g_file_test(raw, G_FILE_TEST_IS_REGULAR));
	g_free(qemu_img("compare", raw, disk, NULL));
	info = qemu_img("check", disk, NULL);

	g_assert_cmpint(ctl_json(&again, "convert", "Raw", NULL), ==, 0);
	g_assert_cmpint(json_object_get_int_member(again, "converted"), ==, 0);
	g_assert_cmpint(ctl_json(&snap, "snapshot-create", "Raw", "first", NULL), ==, 0);
	g_assert_false(json_object_get_boolean_member(snap, "live"));
}

static void test_offline_tree_revert_rename_delete(void)
{
	g_autoptr(JsonObject) s1 = NULL, s2 = NULL, s3 = NULL, list = NULL, list2 = NULL;
	g_autoptr(JsonObject) missing = NULL, reverted = NULL, renamed = NULL, deleted = NULL;
	g_autofree char *disk = NULL, *qemu_list = NULL;

	g_assert_cmpint(ctl("create", "Tree", "--disk-size", "16M", "--memory", "64"), ==, 0);
	g_assert_cmpint(ctl_json(&s1, "snapshot-create", "Tree", "Installed", "--description",
				 "fresh from the installer", NULL),
			==, 0);
	g_assert_cmpstr(json_object_get_string_member(s1, "id"), ==, "1");
	g_assert_cmpint(ctl_json(&s2, "snapshot-create", "Tree", "Updated", NULL), ==, 0);
	g_assert_cmpint(ctl_json(&reverted, "snapshot-revert", "Tree", "Installed", NULL), ==,
			0);
	g_assert_cmpstr(json_object_get_string_member(reverted, "state"), ==, "stopped");
	g_assert_cmpint(ctl_json(&s3, "snapshot-create", "Tree", "Other branch", NULL), ==, 0);

	g_assert_cmpint(ctl_json(&list, "snapshot-list", "Tree", NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(list, "current"), ==, "3");
	g_assert_null(parent_of(list, "Installed"));
	g_assert_cmpstr(parent_of(list, "Updated"), ==, "1");
	g_assert_cmpstr(parent_of(list, "Other branch"), ==, "1");
	g_assert_cmpstr(json_object_get_string_member(find_snapshot(list, "Installed"),
						      "description"),
			==, "fresh from the installer");

	/* qemu-img sees the disks' part of each. */
	disk = disk_file("Tree");
	qemu_list = qemu_img("snapshot", "-l", disk, NULL);
	g_assert_nonnull(strstr(qemu_list, "hangar-1"));
	g_assert_nonnull(strstr(qemu_list, "hangar-2"));
	g_assert_nonnull(strstr(qemu_list, "hangar-3"));

	g_assert_cmpint(ctl_json(&missing, "snapshot-revert", "Tree", "Nope", NULL), ==,
			EXIT_FAILED);
	assert_json_error(missing, "not-found");
	g_assert_cmpint(ctl_json(&renamed, "snapshot-rename", "Tree", "2", "Patched", NULL), ==,
			0);
	g_assert_cmpstr(json_object_get_string_member(renamed, "name"), ==, "Patched");

	g_assert_cmpint(ctl_json(&deleted, "snapshot-delete", "Tree", "Installed", NULL), ==, 0);
	g_assert_cmpint(ctl_json(&list2, "snapshot-list", "Tree", NULL), ==, 0);
	g_assert_null(find_snapshot(list2, "Installed"));
	g_assert_null(parent_of(list2, "Patched"));
	g_assert_null(parent_of(list2, "Other branch"));
	g_free(qemu_list);
	qemu_list = qemu_img("snapshot", "-l", disk, NULL);
	g_assert_null(strstr(qemu_list, "hangar-1"));
	g_free(qemu_img("check", disk, NULL));

	/* The human form draws the tree. */
	g_autofree char *text = NULL;
	g_assert_cmpint(ctl_run(NULL, &text, NULL, "snapshot-list", "Tree", NULL), ==, 0);
	g_assert_nonnull(strstr(text, "Patched"));
	g_assert_nonnull(strstr(text, "you are here"));
}

/* ---- clones ---- */

static void test_full_and_linked_clones(void)
{
	g_autoptr(JsonObject) full = NULL, linked = NULL, in_use = NULL, snap_in_use = NULL;
	g_autoptr(JsonObject) list = NULL;
	g_autofree char *source_disk = NULL, *full_disk = NULL, *linked_disk = NULL;
	g_autofree char *info = NULL;

	g_assert_cmpint(ctl("create", "Parent", "--disk-size", "16M", "--memory", "64"), ==, 0);
	source_disk = disk_file("Parent");
	const char *io_argv[] = {"qemu-io", "-c", "write -P 0x33 0 128k", source_disk, NULL};
	g_assert_true(g_spawn_sync(NULL, (char **)io_argv, NULL, G_SPAWN_SEARCH_PATH |
				   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, NULL, NULL));
	g_assert_cmpint(ctl("snapshot-create", "Parent", "Golden"), ==, 0);
	/* The parent moves on after the snapshot; clones of it do not. */
	const char *io2_argv[] = {"qemu-io", "-c", "write -P 0x44 0 128k", source_disk, NULL};
	g_assert_true(g_spawn_sync(NULL, (char **)io2_argv, NULL, G_SPAWN_SEARCH_PATH |
				   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, NULL, NULL));

	g_assert_cmpint(ctl_json(&full, "clone", "Parent", "Full copy", "--snapshot", "Golden",
				 NULL),
			==, 0);
	g_assert_cmpint(ctl_json(&linked, "clone", "Parent", "Linked copy", "--snapshot",
				 "Golden", "--linked", NULL),
			==, 0);
	full_disk = disk_file("Full copy");
	linked_disk = disk_file("Linked copy");
	g_free(qemu_img("compare", full_disk, linked_disk, NULL));
	const char *read_argv[] = {"qemu-io", "-c", "read -P 0x33 0 128k", linked_disk, NULL};
	int status;
	g_assert_true(g_spawn_sync(NULL, (char **)read_argv, NULL, G_SPAWN_SEARCH_PATH |
				   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
				   NULL));
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	info = qemu_img("info", linked_disk, NULL);
	g_assert_nonnull(strstr(info, "backing file:"));
	g_assert_nonnull(strstr(info, "base-"));
	g_free(qemu_img("check", linked_disk, NULL));
	/* A clone has its own identity and no snapshots. */
	g_assert_cmpstr(json_object_get_string_member(full, "uuid"), !=,
			json_object_get_string_member(linked, "uuid"));
	g_assert_cmpint(ctl_json(&list, "snapshot-list", "Linked copy", NULL), ==, 0);
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(list, "snapshots")),
			 ==, 0);

	/* The parent and the snapshot stay while the linked clone needs them. */
	g_assert_cmpint(ctl_json(&in_use, "delete", "Parent", "--files", "--yes", NULL), ==,
			EXIT_STATE);
	assert_json_error(in_use, "in-use");
	g_assert_nonnull(strstr(json_object_get_string_member(
					json_object_get_object_member(in_use, "error"), "message"),
				"Linked copy"));
	g_assert_cmpint(ctl_json(&snap_in_use, "snapshot-delete", "Parent", "Golden", NULL), ==,
			EXIT_STATE);
	assert_json_error(snap_in_use, "in-use");
	g_assert_cmpint(ctl("delete", "Linked copy", "--files", "--yes"), ==, 0);
	g_assert_cmpint(ctl("snapshot-delete", "Parent", "Golden"), ==, 0);
	g_assert_cmpint(ctl("delete", "Parent", "--files", "--yes"), ==, 0);
	/* The full clone never depended on it. */
	g_free(qemu_img("check", full_disk, NULL));
}

static void test_linked_clone_without_snapshot_takes_one(void)
{
	g_autoptr(JsonObject) list = NULL;

	g_assert_cmpint(ctl("create", "Template", "--disk-size", "16M", "--memory", "64"), ==, 0);
	g_assert_cmpint(ctl("clone", "Template", "Worker", "--linked"), ==, 0);
	g_assert_cmpint(ctl_json(&list, "snapshot-list", "Template", NULL), ==, 0);
	g_assert_nonnull(find_snapshot(list, "Base of Worker"));
}

/* ---- import ---- */

static void test_import_modes_and_refusals(void)
{
	g_autofree char *raw = g_build_filename(test_dir, "Appliance.img", NULL);
	g_autofree char *gz = g_build_filename(test_dir, "packed.img.gz", NULL);
	g_autoptr(JsonObject) copied = NULL, in_place = NULL, bad_mode = NULL, packed = NULL;
	g_autoptr(JsonObject) cut = NULL;
	g_autofree char *disk = NULL;

	g_free(qemu_img("create", "-f", "raw", raw, "8M", NULL));
	const char *io_argv[] = {"qemu-io", "-f", "raw", "-c", "write -P 0x7e 2M 64k", raw, NULL};
	g_assert_true(g_spawn_sync(NULL, (char **)io_argv, NULL, G_SPAWN_SEARCH_PATH |
				   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, NULL, NULL));
	g_assert_cmpint(ctl_json(&copied, "import", raw, NULL), ==, 0);
	g_assert_cmpstr(json_object_get_string_member(copied, "name"), ==, "Appliance");
	disk = disk_file("Appliance");
	g_assert_true(g_str_has_suffix(disk, "/disk.qcow2"));
	g_free(qemu_img("compare", raw, disk, NULL));

	g_assert_cmpint(ctl_json(&in_place, "import", raw, "--name", "Shared", "--mode",
				 "in-place", NULL),
			==, 0);
	g_autofree char *shared = disk_file("Shared");
	g_assert_cmpstr(shared, ==, raw);

	g_assert_cmpint(ctl_json(&bad_mode, "import", raw, "--mode", "move", NULL), ==,
			EXIT_USAGE);
	assert_json_error(bad_mode, "usage");
	/* A compressed image can only be copied; one cut short is named. */
	g_autofree char *gzip_cmd = g_strdup_printf("gzip -c '%s' > '%s'", raw, gz);
	g_assert_cmpint(system(gzip_cmd), ==, 0);
	g_assert_cmpint(ctl_json(&packed, "import", gz, "--mode", "in-place", NULL), ==,
			EXIT_STATE);
	assert_json_error(packed, "unsupported");
	g_assert_true(g_file_set_contents(gz, "\x1f\x8b\x08\0\0\0\0\0", 8, NULL));
	g_assert_cmpint(ctl_json(&cut, "import", gz, NULL), ==, 1);
	assert_json_error(cut, "invalid");
}

/* ---- live ---- */

static bool have_kvm(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		g_test_skip("/dev/kvm is missing or not writable: no guest can run here");
		return false;
	}
	return true;
}

static void test_live_snapshot_and_forced_revert(void)
{
	g_autoptr(JsonObject) snap = NULL, refused = NULL, reverted = NULL, deleted = NULL;
	const char *guest = g_getenv("HANGAR_DEMO_GUEST");

	if (!have_kvm())
		return;
	g_assert_cmpint(ctl("create", "Live", "--kernel", guest, "--append", "stay", "--memory",
			    "64", "--disk-size", "16M"),
			==, 0);
	g_assert_cmpint(ctl("start", "Live"), ==, 0);
	g_assert_cmpint(ctl_json(&snap, "snapshot-create", "Live", "Running", NULL), ==, 0);
	g_assert_true(json_object_get_boolean_member(snap, "live"));
	g_assert_false(json_object_get_null_member(snap, "screen"));
	g_autofree char *state = vm_state("Live");
	g_assert_cmpstr(state, ==, "running");

	g_assert_cmpint(ctl_json(&refused, "snapshot-revert", "Live", "Running", NULL), ==,
			EXIT_STATE);
	assert_json_error(refused, "running");
	g_assert_cmpint(ctl_json(&reverted, "snapshot-revert", "Live", "Running", "--force",
				 NULL),
			==, 0);
	g_assert_cmpstr(json_object_get_string_member(reverted, "state"), ==, "running");
	/* Deleting while it runs goes through the engine. */
	g_assert_cmpint(ctl_json(&deleted, "snapshot-delete", "Live", "Running", NULL), ==, 0);
	g_assert_cmpint(ctl("stop", "Live", "--force"), ==, 0);
	g_autofree char *disk = disk_file("Live");
	g_autofree char *qemu_list = qemu_img("snapshot", "-l", disk, NULL);
	g_assert_null(strstr(qemu_list, "hangar-1"));
	g_free(qemu_img("check", disk, NULL));
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *runtime = NULL, *data = NULL, *cmd = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	test_dir = g_dir_make_tmp("hangarctl-disks-XXXXXX", &error);
	g_assert_no_error(error);
	library_root = g_build_filename(test_dir, "library", NULL);
	runtime = g_build_filename(test_dir, "run", NULL);
	data = g_build_filename(test_dir, "data", NULL);
	g_mkdir_with_parents(runtime, 0700);
	g_mkdir_with_parents(data, 0700);
	g_setenv("XDG_RUNTIME_DIR", runtime, TRUE);
	g_setenv("XDG_DATA_HOME", data, TRUE);
	g_unsetenv("HANGAR_LIBRARY");
	g_setenv("LC_ALL", "C", TRUE);

	g_test_add_func("/hangarctl/snapshot/raw-disk-refused-then-converted",
			test_raw_disk_refused_then_converted);
	g_test_add_func("/hangarctl/snapshot/offline-tree-revert-rename-delete",
			test_offline_tree_revert_rename_delete);
	g_test_add_func("/hangarctl/clone/full-and-linked", test_full_and_linked_clones);
	g_test_add_func("/hangarctl/clone/linked-without-snapshot-takes-one",
			test_linked_clone_without_snapshot_takes_one);
	g_test_add_func("/hangarctl/import/modes-and-refusals", test_import_modes_and_refusals);
	g_test_add_func("/hangarctl/snapshot/live-snapshot-and-forced-revert",
			test_live_snapshot_and_forced_revert);
	ret = g_test_run();
	/* A failed live case may leave its engine: end it before the folder goes. */
	ctl("stop", "Live", "--force");
	cmd = g_strdup_printf("rm -rf '%s'", test_dir);
	(void)!system(cmd);
	return ret;
}

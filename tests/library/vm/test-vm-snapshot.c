/* VM snapshots (library/vm/vm_snapshot.c) on a temporary XDG root: the
 * tree file and its broken forms, offline snapshots of a stopped VM's qcow2
 * disk (checked against qemu-img), revert of disks and configuration,
 * delete and the tree's reshaping, and live snapshots through a running
 * engine (the guest-kit demo), which need /dev/kvm. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "library/block/block.h"
#include "library/vm/control_client.h"
#include "library/vm/vm_library.h"
#include "library/vm/vm_runtime.h"
#include "library/vm/vm_snapshot.h"

#define DISK_SIZE (8u << 20)

static char *tmp_root;
static char *guest_path;
static HgVmLibrary *lib;
static unsigned vm_counter;

/* A stopped VM with one virtio disk: qcow2 (disk.qcow2) or raw (disk.img). */
static HgVmEntry *create_vm(bool qcow2, const char *kernel)
{
	g_autofree char *name = g_strdup_printf("Snap %u", ++vm_counter);
	g_autoptr(HgVmConfig) config = hg_vm_config_new(name);
	g_autoptr(GError) error = NULL;
	HgVmEntry *entry;
	const char *disk = qcow2 ? "disk.qcow2" : "disk.img";

	config->memory_mib = 64;
	config->kernel = g_strdup(kernel);
	if (kernel)
		config->append = g_strdup("stay");
	hg_vm_config_add_disk(config, disk, HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
	entry = hg_vm_library_create(lib, config, &error);
	g_assert_no_error(error);
	g_autofree char *path = hg_vm_entry_resolve(entry, disk);
	if (qcow2) {
		g_assert_true(hg_block_create_qcow2(path, DISK_SIZE, NULL, 16, &error));
	} else {
		g_assert_true(hg_vm_library_create_disk(lib, entry, disk, DISK_SIZE, &error));
	}
	g_assert_no_error(error);
	return entry;
}

static char *disk_path(const HgVmEntry *entry)
{
	HgVmDisk *disk = g_ptr_array_index(entry->config->disks, 0);
	return hg_vm_entry_resolve(entry, disk->path);
}

/* Fills the disk's first sector with one byte value, or checks it. */
static void write_sector(const HgVmEntry *entry, guint8 value)
{
	g_autofree char *path = disk_path(entry);
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(path, false, &error);
	guint8 buf[512];
	struct iovec iov = {buf, sizeof(buf)};

	g_assert_no_error(error);
	memset(buf, value, sizeof(buf));
	g_assert_cmpint(hg_block_writev(blk, 0, &iov, 1), ==, 0);
	g_assert_cmpint(hg_block_flush(blk), ==, 0);
	hg_block_close(blk);
}

static guint8 read_sector(const HgVmEntry *entry)
{
	g_autofree char *path = disk_path(entry);
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(path, true, &error);
	guint8 buf[512];
	struct iovec iov = {buf, sizeof(buf)};

	g_assert_no_error(error);
	g_assert_cmpint(hg_block_readv(blk, 0, &iov, 1), ==, 0);
	hg_block_close(blk);
	for (unsigned i = 1; i < sizeof(buf); i++)
		g_assert_cmpuint(buf[i], ==, buf[0]);
	return buf[0];
}

/* qemu-img's view: the output of `qemu-img ARGS...`, and its exit status. */
static char *qemu_img(int *status, const char *arg, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree char *out = NULL;
	g_autoptr(GError) error = NULL;
	va_list ap;

	g_ptr_array_add(argv, "qemu-img");
	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *))
		g_ptr_array_add(argv, (char *)a);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL,
				   NULL, &out, NULL, status, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&out);
}

static void assert_image_clean(const HgVmEntry *entry)
{
	g_autofree char *path = disk_path(entry);
	int status;
	g_autofree char *out = qemu_img(&status, "check", path, NULL);

	if (!g_spawn_check_wait_status(status, NULL))
		g_error("qemu-img check %s:\n%s", path, out);
}

static bool qemu_lists(const HgVmEntry *entry, const char *snapshot)
{
	g_autofree char *path = disk_path(entry);
	int status;
	g_autofree char *out = qemu_img(&status, "snapshot", "-l", path, NULL);
	g_autofree char *word = g_strdup_printf(" %s ", snapshot);

	g_assert_true(g_spawn_check_wait_status(status, NULL));
	return strstr(out, word) != NULL;
}

static HgVmSnapshot *take(const HgVmEntry *entry, const char *name)
{
	g_autoptr(GError) error = NULL;
	HgVmSnapshot *snap = hg_vm_snapshot_take(lib, entry, name, NULL, &error);

	g_assert_no_error(error);
	g_assert_nonnull(snap);
	return snap;
}

static HgVmSnapshotTree *load_tree(const HgVmEntry *entry)
{
	g_autoptr(GError) error = NULL;
	HgVmSnapshotTree *tree = hg_vm_snapshots_load(entry, &error);

	g_assert_no_error(error);
	return tree;
}

/* ---- offline ---- */

static void test_no_snapshots_yet(void)
{
	g_autoptr(HgVmEntry) entry = create_vm(true, NULL);
	g_autoptr(HgVmSnapshotTree) tree = load_tree(entry);
	g_autoptr(GError) error = NULL;

	g_assert_cmpuint(tree->snapshots->len, ==, 0);
	g_assert_null(tree->current);
	g_assert_null(hg_vm_snapshot_tree_find(tree, "1", &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND);
}

static void test_raw_disk_is_refused_and_nothing_written(void)
{
	g_autoptr(HgVmEntry) entry = create_vm(false, NULL);
	g_autoptr(GError) error = NULL;
	g_autofree char *tree_file = g_build_filename(entry->dir, "snapshots.json", NULL);
	g_autofree char *dir = g_build_filename(entry->dir, "snapshots", NULL);

	g_assert_null(hg_vm_snapshot_take(lib, entry, "First", NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED);
	g_assert_nonnull(strstr(error->message, "disk.img"));
	g_assert_false(g_file_test(tree_file, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
}

static void test_bad_names_are_refused(void)
{
	g_autoptr(HgVmEntry) entry = create_vm(true, NULL);
	g_autofree char *long_name = g_strnfill(201, 'x');
	const char *bad[] = {"", "two\nlines", "tab\there", "\x01", long_name};

	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_assert_null(hg_vm_snapshot_take(lib, entry, bad[i], NULL, &error));
		g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	}
	g_assert_false(qemu_lists(entry, "hangar-1"));
}

static void test_offline_take_revert_delete(void)
{
	g_autoptr(HgVmEntry) entry = create_vm(true, NULL);
	g_autoptr(HgVmSnapshot) s1 = NULL, s2 = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	bool live = true;

	write_sector(entry, 0x11);
	s1 = take(entry, "Clean install");
	g_assert_cmpstr(s1->id, ==, "1");
	g_assert_false(s1->live);
	g_assert_null(s1->parent);
	g_assert_true(qemu_lists(entry, "hangar-1"));
	write_sector(entry, 0x22);
	s2 = take(entry, "Updated");
	g_assert_cmpstr(s2->parent, ==, "1");
	write_sector(entry, 0x33);

	g_assert_true(hg_vm_snapshot_revert(lib, entry, "Clean install", &live, &error));
	g_assert_no_error(error);
	g_assert_false(live);
	g_assert_cmpuint(read_sector(entry), ==, 0x11);
	tree = load_tree(entry);
	g_assert_cmpstr(tree->current, ==, "1");
	g_clear_pointer(&tree, hg_vm_snapshot_tree_free);

	g_assert_true(hg_vm_snapshot_revert(lib, entry, "2", &live, &error));
	g_assert_cmpuint(read_sector(entry), ==, 0x22);
	assert_image_clean(entry);

	g_assert_true(hg_vm_snapshot_delete(lib, entry, "2", &error));
	g_assert_no_error(error);
	g_assert_false(qemu_lists(entry, "hangar-2"));
	g_assert_true(qemu_lists(entry, "hangar-1"));
	/* The present content stays what it was. */
	g_assert_cmpuint(read_sector(entry), ==, 0x22);
	tree = load_tree(entry);
	g_assert_cmpuint(tree->snapshots->len, ==, 1);
	/* The current snapshot went: its parent is the current one now. */
	g_assert_cmpstr(tree->current, ==, "1");
	g_autofree char *dir2 = g_build_filename(entry->dir, "snapshots", "2", NULL);
	g_assert_false(g_file_test(dir2, G_FILE_TEST_EXISTS));
	assert_image_clean(entry);
}

static void test_revert_then_take_makes_a_branch(void)
{
	g_autoptr(HgVmEntry) entry = create_vm(true, NULL);
	g_autoptr(HgVmSnapshot) s1 = take(entry, "Base");
	g_autoptr(HgVmSnapshot) s2 = take(entry, "Left");
	g_autoptr(HgVmSnapshot) s3 = NULL;
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	g_autoptr(GPtrArray) children = NULL;
	g_autoptr(GError) error = NULL;
	bool live;

	g_assert_true(hg_vm_snapshot_revert(lib, entry, "Base", &live, &error));
	s3 = take(entry, "Right");
	g_assert_cmpstr(s3->parent, ==, "1");
	tree = load_tree(entry);
	children = hg_vm_snapshot_tree_children(tree, "1");
	g_assert_cmpuint(children->len, ==, 2);
	g_assert_cmpstr(((HgVmSnapshot *)children->pdata[0])->name, ==, "Left");
	g_assert_cmpstr(((HgVmSnapshot *)children->pdata[1])->name, ==, "Right");
	g_clear_pointer(&tree, hg_vm_snapshot_tree_free);

	/* Deleting the fork's root hangs both branches from the top. */
	g_assert_true(hg_vm_snapshot_delete(lib, entry, "Base", &error));
	tree = load_tree(entry);
	g_clear_pointer(&children, g_ptr_array_unref);
	children = hg_vm_snapshot_tree_children(tree, NULL);
	g_assert_cmpuint(children->len, ==, 2);
	g_assert_cmpstr(tree->current, ==, "3");
	/* Ids are never reused. */
	g_autoptr(HgVmSnapshot) s4 = take(entry, "Again");
	g_assert_cmpstr(s4->id, ==, "4");
	assert_image_clean(entry);
}

static void test_revert_restores_the_configuration(void)
{
	g_autoptr(HgVmEntry) entry = create_vm(true, NULL);
	g_autoptr(HgVmSnapshot) s1 = take(entry, "Small");
	g_autoptr(GError) error = NULL;
	bool live;

	entry->config->memory_mib = 512;
	g_assert_true(hg_vm_library_save(lib, entry, &error));
	g_assert_true(hg_vm_library_rename(lib, entry, "Renamed since", &error));
	g_assert_true(hg_vm_snapshot_revert(lib, entry, "1", &live, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(entry->config->memory_mib, ==, 64);
	/* The name is the VM's, not the snapshot's. */
	g_assert_cmpstr(entry->config->name, ==, "Renamed since");
	g_autoptr(HgVmEntry) again = hg_vm_library_lookup(lib, entry->id, &error);
	g_assert_cmpuint(again->config->memory_mib, ==, 64);
	g_assert_cmpstr(again->config->name, ==, "Renamed since");
}

/* A snapshot taken before formats were recorded: reverting to it keeps
 * the formats recorded since (the images are the same), so nothing reads
 * them from the content again. */
static void test_revert_to_an_old_snapshot_keeps_formats(void)
{
	g_autoptr(HgVmEntry) entry = create_vm(true, NULL);
	g_autoptr(HgVmSnapshot) s1 = take(entry, "Before formats");
	g_autoptr(HgVmEntry) again = NULL;
	g_autoptr(GError) error = NULL;
	HgVmDisk *disk = g_ptr_array_index(entry->config->disks, 0);
	bool live;

	g_assert_null(disk->format);
	g_assert_true(hg_vm_entry_record_disk_formats(entry, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(disk->format, ==, "qcow2");
	g_assert_true(hg_vm_snapshot_revert(lib, entry, "1", &live, &error));
	g_assert_no_error(error);
	disk = g_ptr_array_index(entry->config->disks, 0);
	g_assert_cmpstr(disk->format, ==, "qcow2");
	again = hg_vm_library_lookup(lib, entry->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(((HgVmDisk *)g_ptr_array_index(again->config->disks, 0))->format, ==,
			"qcow2");
}

/* A disk recorded raw is raw, whatever its content says: no snapshot is
 * written into a qcow2 header that sits in a raw disk. */
static void test_disk_recorded_raw_is_refused_whatever_it_holds(void)
{
	g_autoptr(HgVmEntry) entry = create_vm(true, NULL);
	g_autoptr(GError) error = NULL;

	hg_vm_disk_set_format(g_ptr_array_index(entry->config->disks, 0), "raw");
	g_assert_true(hg_vm_library_save(lib, entry, &error));
	g_assert_null(hg_vm_snapshot_take(lib, entry, "First", NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED);
	g_assert_nonnull(strstr(error->message, "disk.qcow2"));
	g_assert_false(qemu_lists(entry, "hangar-1"));
}

static void test_rename_and_describe(void)
{
	g_autoptr(HgVmEntry) entry = create_vm(true, NULL);
	g_autoptr(HgVmSnapshot) s1 = take(entry, "Same");
	g_autoptr(HgVmSnapshot) s2 = take(entry, "Same");
	g_autoptr(HgVmSnapshotTree) tree = NULL;
	g_autoptr(GError) error = NULL;
	HgVmSnapshot *found;

	tree = load_tree(entry);
	g_assert_null(hg_vm_snapshot_tree_find(tree, "Same", &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_AMBIGUOUS);
	g_clear_error(&error);
	g_clear_pointer(&tree, hg_vm_snapshot_tree_free);
	g_assert_true(hg_vm_snapshot_set_info(lib, entry, "2", "Other", "after the updates",
					      &error));
	g_assert_no_error(error);
	g_assert_false(hg_vm_snapshot_set_info(lib, entry, "1", "bad\nname", NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	tree = load_tree(entry);
	found = hg_vm_snapshot_tree_find(tree, "Other", NULL);
	g_assert_nonnull(found);
	g_assert_cmpstr(found->description, ==, "after the updates");
	g_assert_cmpstr(hg_vm_snapshot_tree_find(tree, "Same", NULL)->id, ==, "1");
}

/* Every broken snapshots.json is an error naming the file; none crashes. */
static void test_broken_tree_files(void)
{
	static const char *const cases[] = {
		"",
		"not json",
		"[]",
		"{\"snapshots\": []}",
		"{\"next-id\": 0, \"snapshots\": []}",
		"{\"next-id\": 2, \"snapshots\": {}}",
		"{\"next-id\": 2, \"snapshots\": [1]}",
		"{\"next-id\": 2, \"snapshots\": [{\"id\": \"1\", \"name\": \"a\"}]}",
		"{\"next-id\": 2, \"snapshots\": [{\"id\": \"5\", \"name\": \"a\", \"created\": 1}]}",
		"{\"next-id\": 9, \"snapshots\": [{\"id\": \"01\", \"name\": \"a\", \"created\": 1}]}",
		"{\"next-id\": 9, \"snapshots\": [{\"id\": \"1\", \"name\": \"a\", \"created\": 1},"
		" {\"id\": \"1\", \"name\": \"b\", \"created\": 1}]}",
		"{\"next-id\": 9, \"snapshots\": [{\"id\": \"1\", \"name\": \"a\", \"created\": 1,"
		" \"parent\": \"2\"}, {\"id\": \"2\", \"name\": \"b\", \"created\": 1}]}",
		"{\"next-id\": 9, \"snapshots\": [{\"id\": \"1\", \"name\": \"a\", \"created\": 1,"
		" \"parent\": \"1\"}]}",
		"{\"next-id\": 9, \"current\": \"3\", \"snapshots\": [{\"id\": \"1\", \"name\": "
		"\"a\", \"created\": 1}]}",
		"{\"next-id\": 9, \"snapshots\": [{\"id\": \"1\", \"name\": \"a\\u0001\", "
		"\"created\": 1}]}",
		"{\"next-id\": 9, \"snapshots\": [{\"id\": \"1\", \"name\": \"a\", \"created\": "
		"\"yesterday\"}]}",
		"{\"next-id\": 9, \"snapshots\": [{\"id\": \"1\", \"name\": \"a\", \"created\": 1,"
		" \"live\": \"yes\"}]}",
	};
	g_autoptr(HgVmEntry) entry = create_vm(true, NULL);
	g_autofree char *path = g_build_filename(entry->dir, "snapshots.json", NULL);

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(HgVmSnapshotTree) tree = NULL;
		g_assert_true(g_file_set_contents(path, cases[i], -1, NULL));
		tree = hg_vm_snapshots_load(entry, &error);
		if (tree)
			g_error("case %u was accepted: %s", i, cases[i]);
		g_assert_true(error->domain == HG_VM_ERROR);
		g_assert_nonnull(strstr(error->message, "snapshots.json"));
		/* And taking a snapshot refuses too, rather than overwrite it. */
		g_clear_error(&error);
		g_assert_null(hg_vm_snapshot_take(lib, entry, "x", NULL, &error));
		g_assert_nonnull(error);
	}
	g_assert_false(qemu_lists(entry, "hangar-1"));
}

/* ---- live, through the engine ---- */

static bool kvm_usable(void)
{
	if (access("/dev/kvm", R_OK | W_OK) == 0)
		return true;
	g_test_skip("/dev/kvm is missing or not writable: the engine cannot run a VM here");
	return false;
}

static void stop_engine(const HgVmEntry *entry, GSubprocess *engine)
{
	g_autofree char *control = hg_vm_runtime_file(entry->id, "control.sock");
	g_autoptr(GError) error = NULL;
	g_autoptr(HangarControlClient) client =
		hangar_control_client_connect_sync(control, NULL, &error);
	g_autoptr(JsonObject) reply = NULL;

	g_assert_no_error(error);
	reply = hangar_control_client_execute_sync(client, "quit", NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_wait(engine, NULL, &error));
}

static void test_live_take_revert_delete(void)
{
	g_autoptr(HgVmEntry) entry = NULL;
	g_autoptr(GSubprocess) engine = NULL, restored = NULL;
	g_autoptr(HgVmSnapshot) s1 = NULL, s2 = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = NULL, *state = NULL, *ram = NULL, *screen = NULL, *saved = NULL;
	bool live = false;

	if (!kvm_usable())
		return;
	entry = create_vm(true, guest_path);
	engine = hg_engine_start(entry, false, NULL, &error);
	g_assert_no_error(error);

	s1 = take(entry, "Running");
	g_assert_true(s1->live);
	g_assert_cmpint(hg_vm_probe_state(entry->id), ==, HG_VM_STATE_RUNNING);
	dir = g_build_filename(entry->dir, "snapshots", "1", NULL);
	state = g_build_filename(dir, "state", NULL);
	ram = g_build_filename(dir, "ram", NULL);
	saved = g_build_filename(dir, "vm.json", NULL);
	g_assert_true(g_file_test(state, G_FILE_TEST_IS_REGULAR));
	g_assert_true(g_file_test(ram, G_FILE_TEST_IS_REGULAR));
	g_assert_true(g_file_test(saved, G_FILE_TEST_IS_REGULAR));
	screen = hg_vm_snapshot_screen(entry, s1);
	g_assert_nonnull(screen);

	/* A second one, deleted again while the engine runs: the engine
	 * owns the image then. */
	s2 = take(entry, "Doomed");
	g_assert_cmpstr(s2->parent, ==, "1");
	g_assert_true(hg_vm_snapshot_delete(lib, entry, "Doomed", &error));
	g_assert_no_error(error);

	/* Revert is refused while it runs. */
	g_assert_false(hg_vm_snapshot_revert(lib, entry, "1", &live, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_RUNNING);
	g_clear_error(&error);
	stop_engine(entry, engine);
	g_assert_true(qemu_lists(entry, "hangar-1"));
	g_assert_false(qemu_lists(entry, "hangar-2"));
	assert_image_clean(entry);

	g_assert_true(hg_vm_snapshot_revert(lib, entry, "Running", &live, &error));
	g_assert_no_error(error);
	g_assert_true(live);
	restored = hg_engine_start_restore(entry, dir, false, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(restored);
	g_assert_cmpint(hg_vm_probe_state(entry->id), ==, HG_VM_STATE_RUNNING);
	stop_engine(entry, restored);
}

int main(int argc, char **argv)
{
	g_autofree char *data_home = NULL, *runtime = NULL;
	g_autoptr(GError) error = NULL;
	const char *guest_dir = g_getenv("HANGAR_GUEST_DIR");
	int status;

	tmp_root = g_dir_make_tmp("hangar-vm-snapshot-XXXXXX", NULL);
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
	g_test_add_func("/vm-snapshot/no-snapshots-yet", test_no_snapshots_yet);
	g_test_add_func("/vm-snapshot/raw-disk-is-refused-and-nothing-written",
			test_raw_disk_is_refused_and_nothing_written);
	g_test_add_func("/vm-snapshot/bad-names-are-refused", test_bad_names_are_refused);
	g_test_add_func("/vm-snapshot/offline-take-revert-delete", test_offline_take_revert_delete);
	g_test_add_func("/vm-snapshot/revert-then-take-makes-a-branch",
			test_revert_then_take_makes_a_branch);
	g_test_add_func("/vm-snapshot/revert-restores-the-configuration",
			test_revert_restores_the_configuration);
	g_test_add_func("/vm-snapshot/rename-and-describe", test_rename_and_describe);
	g_test_add_func("/vm-snapshot/format/revert-to-an-old-snapshot-keeps-recorded-formats",
			test_revert_to_an_old_snapshot_keeps_formats);
	g_test_add_func("/vm-snapshot/format/disk-recorded-raw-is-refused-whatever-it-holds",
			test_disk_recorded_raw_is_refused_whatever_it_holds);
	g_test_add_func("/vm-snapshot/broken-tree-files", test_broken_tree_files);
	g_test_add_func("/vm-snapshot/live-take-revert-delete", test_live_take_revert_delete);
	status = g_test_run();
	hg_vm_library_free(lib);
	g_free(guest_path);
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp_root);
	(void)!system(cmd);
	g_free(tmp_root);
	return status;
}

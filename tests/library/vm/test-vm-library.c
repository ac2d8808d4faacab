/* The VM library on a temporary XDG root: create, list, lookup, rename,
 * duplicate (sparse files stay sparse), delete, broken folders listed and
 * left alone, hidden staging folders ignored and kept. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <gio/gunixsocketaddress.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "library/block/block.h"
#include "library/vm/vm_clone.h"
#include "library/vm/vm_library.h"
#include "library/vm/vm_runtime.h"

static char *tmp_root; /* XDG_DATA_HOME and XDG_RUNTIME_DIR live in here */

typedef struct {
	char *root; /* the library root: a fresh folder per test */
	HgVmLibrary *lib;
} Fixture;

static void fixture_set_up(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	f->root = g_build_filename(tmp_root, "lib-XXXXXX", NULL);
	g_assert_nonnull(g_mkdtemp(f->root));
	f->lib = hg_vm_library_open(f->root, &error);
	g_assert_no_error(error);
}

static void remove_all(const char *path)
{
	g_autoptr(GDir) dir = NULL;
	const char *name;
	GStatBuf st;

	if (g_lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		g_unlink(path);
		return;
	}
	g_chmod(path, 0700);
	dir = g_dir_open(path, 0, NULL);
	while (dir && (name = g_dir_read_name(dir))) {
		g_autofree char *child = g_build_filename(path, name, NULL);
		remove_all(child);
	}
	g_rmdir(path);
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
	hg_vm_library_free(f->lib);
	remove_all(f->root);
	g_free(f->root);
}

static HgVmEntry *create_vm(Fixture *f, const char *name)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new(name);
	g_autoptr(GError) error = NULL;
	HgVmEntry *entry = hg_vm_library_create(f->lib, config, &error);

	g_assert_no_error(error);
	g_assert_nonnull(entry);
	return entry;
}

static void test_open_default_root(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmLibrary) lib = hg_vm_library_open(NULL, &error);
	g_autofree char *expected = g_build_filename(g_get_user_data_dir(), "hangar", NULL);
	g_autofree char *vms = g_build_filename(expected, "vms", NULL);
	GStatBuf st;

	g_assert_no_error(error);
	/* Never the real home: main() pointed XDG_DATA_HOME at a temp dir. */
	g_assert_true(g_str_has_prefix(expected, tmp_root));
	g_assert_cmpstr(hg_vm_library_root(lib), ==, expected);
	g_assert_cmpint(g_stat(vms, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);
}

static void test_create_list_lookup(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmEntry) a = create_vm(f, "Work Debian");
	g_autoptr(HgVmEntry) b = create_vm(f, "alpha");
	g_autoptr(HgVmEntry) c = create_vm(f, "Work  Debian!");
	g_autoptr(HgVmEntry) d = create_vm(f, "日本語");
	g_autoptr(GPtrArray) list = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmConfig) dup = hg_vm_config_new("work debian");

	g_assert_cmpstr(a->id, ==, "work-debian");
	g_assert_cmpstr(b->id, ==, "alpha");
	/* The same id from another name is made unique. */
	g_assert_cmpstr(c->id, ==, "work-debian-2");
	g_assert_cmpstr(d->id, ==, "vm");

	list = hg_vm_library_list(f->lib);
	g_assert_cmpuint(list->len, ==, 4);
	/* By case-folded name. */
	g_assert_cmpstr(((HgVmEntry *)g_ptr_array_index(list, 0))->config->name, ==, "alpha");
	g_assert_cmpstr(((HgVmEntry *)g_ptr_array_index(list, 1))->config->name, ==,
			"Work  Debian!");
	for (guint i = 0; i < list->len; i++)
		g_assert_null(((HgVmEntry *)g_ptr_array_index(list, i))->error);

	/* Names are unique, case-insensitively. */
	g_assert_null(hg_vm_library_create(f->lib, dup, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS);
	g_clear_error(&error);

	g_autoptr(HgVmEntry) by_id = hg_vm_library_lookup(f->lib, "work-debian-2", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(by_id->config->name, ==, "Work  Debian!");
	g_autoptr(HgVmEntry) by_name = hg_vm_library_lookup(f->lib, "Work Debian", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(by_name->id, ==, "work-debian");
	g_autoptr(HgVmEntry) by_folded = hg_vm_library_lookup(f->lib, "ALPHA", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(by_folded->id, ==, "alpha");
	g_assert_null(hg_vm_library_lookup(f->lib, "nothing", &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND);
	g_clear_error(&error);

	/* The config on disk is the one given. */
	g_autofree char *json = g_build_filename(a->dir, "vm.json", NULL);
	g_autoptr(HgVmConfig) loaded = hg_vm_config_load(json, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(loaded->uuid, ==, a->config->uuid);
}

static void test_lookup_ambiguous(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmEntry) a = create_vm(f, "Twin VM");
	g_autoptr(HgVmEntry) b = create_vm(f, "other");
	g_autoptr(GError) error = NULL;

	/* Made by hand (or by an older version): two VMs with one name. */
	g_free(b->config->name);
	b->config->name = g_strdup("Twin VM");
	g_autofree char *json = g_build_filename(b->dir, "vm.json", NULL);
	g_assert_true(hg_vm_config_save(b->config, json, &error));
	g_assert_null(hg_vm_library_lookup(f->lib, "Twin VM", &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_AMBIGUOUS);
	g_clear_error(&error);
	/* The id still finds each. */
	g_autoptr(HgVmEntry) found = hg_vm_library_lookup(f->lib, "other", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(found->id, ==, "other");
}

static void test_rename(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmEntry) a = create_vm(f, "first");
	g_autoptr(HgVmEntry) b = create_vm(f, "second");
	g_autoptr(GError) error = NULL;

	g_assert_true(hg_vm_library_rename(f->lib, a, "Renamed", &error));
	g_assert_no_error(error);
	g_assert_cmpstr(a->config->name, ==, "Renamed");
	/* The id, and so the folder, stays. */
	g_autoptr(HgVmEntry) again = hg_vm_library_lookup(f->lib, "Renamed", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(again->id, ==, "first");
	/* Its own name in another case is fine; another VM's is not. */
	g_assert_true(hg_vm_library_rename(f->lib, a, "RENAMED", &error));
	g_assert_false(hg_vm_library_rename(f->lib, a, "Second", &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_false(hg_vm_library_rename(f->lib, a, "bad\tname", &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_cmpstr(a->config->name, ==, "RENAMED");
}

static void test_create_with_disk_and_create_disk(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new("with disk");
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) e = NULL;
	g_autofree char *disk = NULL, *second = NULL;
	GStatBuf st;

	hg_vm_config_add_disk(config, "disk.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
	e = hg_vm_library_create_with_disk(f->lib, config, "disk.img", 1ull << 30, &error);
	g_assert_no_error(error);
	/* The disk it made is recorded with the format it was made in. */
	g_assert_cmpstr(((HgVmDisk *)g_ptr_array_index(e->config->disks, 0))->format, ==, "raw");
	g_autoptr(HgVmEntry) reloaded = hg_vm_library_lookup(f->lib, e->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(((HgVmDisk *)g_ptr_array_index(reloaded->config->disks, 0))->format, ==,
			"raw");
	disk = hg_vm_entry_resolve(e, "disk.img");
	g_assert_cmpint(g_stat(disk, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 1ll << 30);
	g_assert_cmpint(st.st_blocks, <, 64); /* sparse */
	g_assert_cmpstr(hg_vm_entry_resolve(e, NULL), ==, NULL);
	g_autofree char *abs = hg_vm_entry_resolve(e, "/srv/a.iso");
	g_assert_cmpstr(abs, ==, "/srv/a.iso");

	g_assert_true(hg_vm_library_create_disk(f->lib, e, "second.img", 4096, &error));
	g_assert_no_error(error);
	g_assert_false(hg_vm_library_create_disk(f->lib, e, "second.img", 4096, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_false(hg_vm_library_create_disk(f->lib, e, "../escape.img", 4096, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_clear_error(&error);
	second = g_build_filename(f->root, "escape.img", NULL);
	g_assert_false(g_file_test(second, G_FILE_TEST_EXISTS));
}

static void write_at(const char *path, off_t offset, gsize length, char fill)
{
	g_autofree char *buffer = g_malloc(length);
	int fd = open(path, O_WRONLY);

	g_assert_cmpint(fd, >=, 0);
	memset(buffer, fill, length);
	g_assert_cmpint(pwrite(fd, buffer, length, offset), ==, (gssize)length);
	close(fd);
}

/* ---- disk formats ---- */

/* A VM folder as a Hangar from before formats were recorded left it: the
 * given disks (each "path:bus"), no "format" anywhere. */
static HgVmEntry *create_old_vm(Fixture *f, const char *name, const char *const *disks)
{
	g_autoptr(HgVmEntry) made = create_vm(f, name);
	g_autoptr(GString) json = g_string_new(NULL);
	g_autofree char *path = g_build_filename(made->dir, "vm.json", NULL);
	g_autoptr(GError) error = NULL;
	HgVmEntry *entry;

	g_string_append_printf(json,
			       "{\"name\": \"%s\", \"uuid\": \"%s\", \"memory-mib\": 64, "
			       "\"cpus\": 1, \"disks\": [",
			       name, made->config->uuid);
	for (unsigned i = 0; disks[i]; i++) {
		g_auto(GStrv) parts = g_strsplit(disks[i], ":", 2);
		g_string_append_printf(json, "%s{\"path\": \"%s\", \"bus\": \"%s\"}", i ? ", " : "",
				       parts[0], parts[1]);
	}
	g_string_append(json, "]}");
	g_assert_true(g_file_set_contents(path, json->str, -1, NULL));
	entry = hg_vm_library_lookup(f->lib, made->id, &error);
	g_assert_no_error(error);
	return entry;
}

static const char *disk_format(const HgVmEntry *entry, guint i)
{
	return ((HgVmDisk *)g_ptr_array_index(entry->config->disks, i))->format;
}

static void test_old_formats_recorded_once(Fixture *f, gconstpointer data)
{
	static const char *const disks[] = {"disk.img:virtio", "data.qcow2:sata", NULL};
	g_autoptr(HgVmEntry) entry = create_old_vm(f, "Old", disks);
	g_autoptr(HgVmEntry) other = NULL, reloaded = NULL, again = NULL;
	g_autofree char *raw = g_build_filename(entry->dir, "disk.img", NULL);
	g_autofree char *qcow2 = g_build_filename(entry->dir, "data.qcow2", NULL);
	g_autofree char *json = g_build_filename(entry->dir, "vm.json", NULL);
	g_autofree char *before = NULL, *after = NULL;
	g_autoptr(GError) error = NULL;
	GStrv argv;

	g_assert_true(g_file_set_contents(raw, "", 0, NULL));
	g_assert_cmpint(truncate(raw, 1 << 20), ==, 0);
	g_assert_true(hg_block_create_qcow2(qcow2, 1 << 20, NULL, 16, &error));
	g_assert_null(disk_format(entry, 0));
	g_assert_null(disk_format(entry, 1));

	/* Unrecorded, no command line is made: the engine would probe. */
	g_assert_null(hg_engine_argv(entry, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "no recorded format"));
	g_clear_error(&error);

	/* Another program renames the VM meanwhile: entry is stale, and
	 * recording its formats must not undo the rename. */
	other = hg_vm_library_lookup(f->lib, entry->id, &error);
	g_assert_no_error(error);
	g_assert_true(hg_vm_library_rename(f->lib, other, "Old renamed", &error));
	g_assert_true(hg_vm_entry_record_disk_formats(entry, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(disk_format(entry, 0), ==, "raw");
	g_assert_cmpstr(disk_format(entry, 1), ==, "qcow2");
	reloaded = hg_vm_library_lookup(f->lib, entry->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(reloaded->config->name, ==, "Old renamed");
	g_assert_cmpstr(disk_format(reloaded, 0), ==, "raw");
	g_assert_cmpstr(disk_format(reloaded, 1), ==, "qcow2");
	argv = hg_engine_argv(reloaded, &error);
	g_assert_no_error(error);
	g_strfreev(argv);

	/* Recorded, the content never decides again: a qcow2 header written
	 * into the raw disk (what its guest would write) leaves it raw, and
	 * the start refuses the file rather than open it as qcow2. */
	write_at(raw, 0, 1, 'Q');
	write_at(raw, 1, 1, 'F');
	write_at(raw, 2, 1, 'I');
	write_at(raw, 3, 1, (char)0xfb);
	g_assert_cmpstr(hg_block_probe_format(raw, NULL), ==, "qcow2");
	g_assert_true(g_file_get_contents(json, &before, NULL, NULL));
	again = hg_vm_library_lookup(f->lib, entry->id, &error);
	g_assert_no_error(error);
	g_assert_true(hg_vm_entry_record_disk_formats(again, &error));
	g_assert_cmpstr(disk_format(again, 0), ==, "raw");
	g_assert_true(g_file_get_contents(json, &after, NULL, NULL));
	g_assert_cmpstr(before, ==, after);
	g_assert_null(hg_engine_argv(again, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, raw));
	g_assert_nonnull(strstr(error->message, "(\"raw\")"));
	g_assert_nonnull(strstr(error->message, "reads as qcow2"));
}

static void test_old_writable_import_format_refused(Fixture *f, gconstpointer data)
{
	static const char *const disks[] = {"disk.vmdk:sata", NULL};
	g_autoptr(HgVmEntry) entry = create_old_vm(f, "Old VMDK", disks);
	g_autofree char *vmdk = g_build_filename(entry->dir, "disk.vmdk", NULL);
	g_autofree char *json = g_build_filename(entry->dir, "vm.json", NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(vmdk, "KDMV", 4, NULL));
	g_assert_cmpint(truncate(vmdk, 1 << 20), ==, 0);
	g_assert_false(hg_vm_entry_record_disk_formats(entry, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, "vmdk"));
	g_assert_nonnull(strstr(error->message, "import"));
	g_assert_true(g_file_get_contents(json, &text, NULL, NULL));
	g_assert_null(strstr(text, "format"));
	/* A missing image is named, and nothing recorded either. */
	g_clear_error(&error);
	g_unlink(vmdk);
	g_assert_false(hg_vm_entry_record_disk_formats(entry, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, vmdk));
}

/* convert goes by the recorded format: a raw disk whose content is a
 * qcow2 image becomes a qcow2 disk holding those bytes as data. */
static void test_convert_goes_by_the_recorded_format(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new("Looks qcow2");
	g_autoptr(HgVmEntry) entry = NULL, reloaded = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *raw = NULL, *converted = NULL;
	HgBlockBackend *blk;
	char head[4];
	struct iovec iov = {head, sizeof(head)};
	GStatBuf st;

	hg_vm_disk_set_format(
		hg_vm_config_add_disk(config, "disk.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK),
		"raw");
	entry = hg_vm_library_create(f->lib, config, &error);
	g_assert_no_error(error);
	raw = g_build_filename(entry->dir, "disk.img", NULL);
	g_assert_true(hg_block_create_qcow2(raw, 1 << 20, NULL, 16, &error));
	g_assert_cmpint(g_stat(raw, &st), ==, 0);

	g_assert_cmpint(hg_vm_convert_disks(f->lib, entry, NULL, NULL, NULL, &error), ==, 1);
	g_assert_no_error(error);
	reloaded = hg_vm_library_lookup(f->lib, entry->id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(((HgVmDisk *)g_ptr_array_index(reloaded->config->disks, 0))->path, ==,
			"disk.qcow2");
	g_assert_cmpstr(disk_format(reloaded, 0), ==, "qcow2");
	converted = g_build_filename(entry->dir, "disk.qcow2", NULL);
	blk = hg_block_open_format(converted, "qcow2", true, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(hg_block_size(blk), ==, (guint64)st.st_size);
	g_assert_cmpint(hg_block_readv(blk, 0, &iov, 1), ==, 0);
	g_assert_cmpmem(head, 4, "QFI\xfb", 4);
	hg_block_close(blk);
}

static void test_duplicate_keeps_sparse_files(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new("original");
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) e = NULL, copy = NULL;
	g_autofree char *disk = NULL, *copied = NULL, *a = NULL, *b = NULL;
	gsize la, lb;
	GStatBuf s1, s2;

	hg_vm_config_add_disk(config, "disk.img", HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK)
		->boot_index = 0;
	hg_vm_config_add_disk(config, NULL, HG_DISK_BUS_SATA, HG_DISK_MEDIA_CDROM);
	e = hg_vm_library_create_with_disk(f->lib, config, "disk.img", 256ull << 20, &error);
	g_assert_no_error(error);
	disk = hg_vm_entry_resolve(e, "disk.img");
	write_at(disk, 0, 4096, 'a');
	write_at(disk, 100 << 20, 1 << 20, 'b');
	write_at(disk, (256 << 20) - 4096, 4096, 'c');

	copy = hg_vm_library_duplicate(f->lib, e, "copy", NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(copy);
	g_assert_cmpstr(copy->id, ==, "copy");
	g_assert_cmpstr(copy->config->name, ==, "copy");
	g_assert_cmpstr(copy->config->uuid, !=, e->config->uuid);
	g_assert_cmpuint(copy->config->disks->len, ==, 2);

	copied = hg_vm_entry_resolve(copy, "disk.img");
	g_assert_cmpint(g_stat(disk, &s1), ==, 0);
	g_assert_cmpint(g_stat(copied, &s2), ==, 0);
	g_assert_cmpint(s1.st_size, ==, s2.st_size);
	g_test_message("blocks: original %ld, copy %ld", (long)s1.st_blocks, (long)s2.st_blocks);
	g_assert_cmpint(s2.st_blocks, <=, s1.st_blocks + 64);
	g_assert_cmpint(s2.st_blocks * 512, <, 8 << 20);
	g_assert_true(g_file_get_contents(disk, &a, &la, NULL));
	g_assert_true(g_file_get_contents(copied, &b, &lb, NULL));
	g_assert_cmpuint(la, ==, lb);
	g_assert_true(memcmp(a, b, la) == 0);

	/* The copy's vm.json is its own. */
	g_autofree char *json = g_build_filename(copy->dir, "vm.json", NULL);
	g_autoptr(HgVmConfig) loaded = hg_vm_config_load(json, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(loaded->name, ==, "copy");
	g_assert_cmpstr(loaded->uuid, ==, copy->config->uuid);

	/* Name taken. */
	g_assert_null(hg_vm_library_duplicate(f->lib, e, "Copy", NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS);
}

static void test_duplicate_refuses_shared_writable_image(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new("in place");
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) e = NULL, copy = NULL;
	g_autoptr(GPtrArray) list = NULL;

	hg_vm_config_add_disk(config, "/srv/images/shared.img", HG_DISK_BUS_VIRTIO,
			      HG_DISK_MEDIA_DISK);
	e = hg_vm_library_create(f->lib, config, &error);
	g_assert_no_error(error);
	g_assert_null(hg_vm_library_duplicate(f->lib, e, "copy", NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "/srv/images/shared.img"));
	g_clear_error(&error);

	/* Read-only, it may be shared. */
	((HgVmDisk *)g_ptr_array_index(e->config->disks, 0))->read_only = true;
	g_assert_true(hg_vm_library_save(f->lib, e, &error));
	copy = hg_vm_library_duplicate(f->lib, e, "copy", NULL, &error);
	g_assert_no_error(error);
	list = hg_vm_library_list(f->lib);
	g_assert_cmpuint(list->len, ==, 2);
}

static unsigned count_hidden(const char *root, const char *prefix)
{
	g_autofree char *vms = g_build_filename(root, "vms", NULL);
	g_autoptr(GDir) dir = g_dir_open(vms, 0, NULL);
	const char *name;
	unsigned n = 0;

	while (dir && (name = g_dir_read_name(dir)))
		n += g_str_has_prefix(name, prefix);
	return n;
}

static void test_duplicate_cancelled_leaves_nothing(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new("big");
	g_autoptr(GError) error = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(HgVmEntry) e = NULL;
	g_autoptr(GPtrArray) list = NULL;
	g_autofree char *disk = NULL;

	e = hg_vm_library_create_with_disk(f->lib, config, "disk.img", 16 << 20, &error);
	g_assert_no_error(error);
	disk = hg_vm_entry_resolve(e, "disk.img");
	write_at(disk, 0, 1 << 20, 'x');
	g_cancellable_cancel(cancellable);
	g_assert_null(hg_vm_library_duplicate(f->lib, e, "copy", cancellable, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	list = hg_vm_library_list(f->lib);
	g_assert_cmpuint(list->len, ==, 1);
	/* The staging folder went too: only a crash leaves one. */
	g_assert_cmpuint(count_hidden(f->root, ".new-"), ==, 0);
}

static void test_delete_files(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new("doomed");
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) e = NULL;
	g_autoptr(GPtrArray) list = NULL;
	g_autofree char *outside = g_build_filename(f->root, "outside.img", NULL);
	g_autofree char *link = NULL;

	/* An image used in place, linked from the folder: never touched. */
	g_assert_true(g_file_set_contents(outside, "keep me", -1, NULL));
	hg_vm_config_add_disk(config, outside, HG_DISK_BUS_VIRTIO, HG_DISK_MEDIA_DISK);
	e = hg_vm_library_create_with_disk(f->lib, config, "disk.img", 1 << 20, &error);
	g_assert_no_error(error);
	link = g_build_filename(e->dir, "link.img", NULL);
	g_assert_cmpint(symlink(outside, link), ==, 0);
	g_autofree char *sub = g_build_filename(e->dir, "snapshots", NULL);
	g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);

	g_assert_true(hg_vm_library_delete(f->lib, e, HG_VM_DELETE_FILES, &error));
	g_assert_no_error(error);
	g_assert_false(g_file_test(e->dir, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(outside, G_FILE_TEST_IS_REGULAR));
	list = hg_vm_library_list(f->lib);
	g_assert_cmpuint(list->len, ==, 0);
	g_assert_cmpuint(count_hidden(f->root, ".delete-"), ==, 0);

	g_assert_false(hg_vm_library_delete(f->lib, e, HG_VM_DELETE_FILES, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_NOT_FOUND);
}

static void test_delete_to_trash(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmEntry) e = create_vm(f, "to the trash");
	g_autoptr(GError) error = NULL;
	g_autofree char *trash = g_build_filename(g_get_user_data_dir(), "Trash", NULL);

	/* XDG_DATA_HOME is a temp dir, so the trash GIO picks for a file on
	 * the home's filesystem is there, not in the real home. */
	if (hg_vm_library_delete(f->lib, e, HG_VM_DELETE_TO_TRASH, &error)) {
		g_autoptr(GPtrArray) list = hg_vm_library_list(f->lib);
		g_assert_false(g_file_test(e->dir, G_FILE_TEST_EXISTS));
		g_assert_cmpuint(list->len, ==, 0);
		g_test_message("trashed into GIO's trash (%s when on the home's filesystem)",
			       trash);
		return;
	}
	/* No trash here: the error says so, and nothing was deleted. */
	g_test_message("no trash: %s", error->message);
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_IO);
	g_assert_nonnull(strstr(error->message, "trash"));
	g_assert_true(g_file_test(e->dir, G_FILE_TEST_IS_DIR));
}

typedef struct {
	const char *name;
	const char *contents; /* NULL: no vm.json; "<dir>": vm.json is a folder */
	const char *reason; /* in the error message */
} BrokenFolder;

static const BrokenFolder broken_folders[] = {
	{"empty-json", "", "empty"},
	{"truncated-json", "{\"name\": \"half\", \"uuid\": \"6f1c1f3e-9d7a", "not valid JSON"},
	{"garbage",
	 "\x7f"
	 "ELF\x01\x02 garbage \xff\xfe",
	 "UTF-8"},
	{"missing-json", NULL, "vm.json is missing"},
	{"invalid-member",
	 "{\"name\": \"x\", \"uuid\": \"6f1c1f3e-9d7a-4b8e-a3b0-2c4d5e6f7a8b\", "
	 "\"memory-mib\": 1, \"cpus\": 1}",
	 "\"memory-mib\""},
	{"unreadable", "<unreadable>", ""},
};

typedef struct {
	char *path;
	char *bytes;
	gsize length;
	gint64 mtime;
} Snapshot;

static void snapshot_take(Snapshot *s, const char *path)
{
	GStatBuf st;

	s->path = g_strdup(path);
	s->bytes = NULL;
	s->length = 0;
	s->mtime = -1;
	if (g_lstat(path, &st) == 0) {
		s->mtime = (gint64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		if (S_ISREG(st.st_mode) && (st.st_mode & 0400))
			g_file_get_contents(path, &s->bytes, &s->length, NULL);
	}
}

static void snapshot_check(const Snapshot *s)
{
	Snapshot now;

	snapshot_take(&now, s->path);
	g_assert_cmpint(now.mtime, ==, s->mtime);
	g_assert_cmpuint(now.length, ==, s->length);
	if (s->bytes)
		g_assert_true(memcmp(now.bytes, s->bytes, s->length) == 0);
	g_free(now.path);
	g_free(now.bytes);
}

static void test_broken_folders_listed_and_untouched(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmEntry) good = create_vm(f, "good");
	g_autofree char *vms = g_build_filename(f->root, "vms", NULL);
	g_autofree char *staging = g_build_filename(vms, ".new-leftover", NULL);
	g_autofree char *staging_json = g_build_filename(staging, "vm.json", NULL);
	Snapshot snaps[G_N_ELEMENTS(broken_folders) * 2 + 2];
	unsigned n_snaps = 0;
	g_autoptr(GPtrArray) list = NULL;
	g_autoptr(GError) error = NULL;
	bool root_user = geteuid() == 0;

	for (unsigned i = 0; i < G_N_ELEMENTS(broken_folders); i++) {
		const BrokenFolder *b = &broken_folders[i];
		g_autofree char *dir = g_build_filename(vms, b->name, NULL);
		g_autofree char *json = g_build_filename(dir, "vm.json", NULL);
		g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
		if (b->contents && strcmp(b->contents, "<unreadable>") == 0) {
			g_assert_true(g_file_set_contents(json, "{}", -1, NULL));
			/* root reads a mode-000 file anyway: a vm.json that is
			 * a folder cannot be read by anyone. */
			if (root_user) {
				g_unlink(json);
				g_assert_cmpint(g_mkdir(json, 0700), ==, 0);
			} else {
				g_assert_cmpint(g_chmod(json, 0), ==, 0);
			}
		} else if (b->contents) {
			g_assert_true(g_file_set_contents(json, b->contents, -1, NULL));
		}
		snapshot_take(&snaps[n_snaps++], dir);
		snapshot_take(&snaps[n_snaps++], json);
	}
	/* A crash mid-creation left this. */
	g_assert_cmpint(g_mkdir(staging, 0700), ==, 0);
	g_assert_true(g_file_set_contents(staging_json, "{\"half", -1, NULL));
	snapshot_take(&snaps[n_snaps++], staging);
	snapshot_take(&snaps[n_snaps++], staging_json);
	/* mtimes are compared: make any write show. */
	g_usleep(20000);

	list = hg_vm_library_list(f->lib);
	g_assert_cmpuint(list->len, ==, G_N_ELEMENTS(broken_folders) + 1);
	for (guint i = 0; i < list->len; i++) {
		HgVmEntry *e = g_ptr_array_index(list, i);
		if (strcmp(e->id, "good") == 0) {
			g_assert_nonnull(e->config);
			g_assert_null(e->error);
			continue;
		}
		g_assert_null(e->config);
		g_assert_error(e->error, HG_VM_ERROR, HG_VM_ERROR_BROKEN);
		g_test_message("%s: %s", e->id, e->error->message);
		for (unsigned j = 0; j < G_N_ELEMENTS(broken_folders); j++)
			if (strcmp(broken_folders[j].name, e->id) == 0)
				g_assert_nonnull(
					strstr(e->error->message, broken_folders[j].reason));
	}

	/* Everything else still works around them, and touches none. */
	g_autoptr(HgVmEntry) found = hg_vm_library_lookup(f->lib, "garbage", &error);
	g_assert_no_error(error);
	g_assert_nonnull(found->error);
	g_assert_false(hg_vm_library_save(f->lib, found, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN);
	g_clear_error(&error);
	g_assert_false(hg_vm_library_rename(f->lib, found, "fixed", &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN);
	g_clear_error(&error);
	g_assert_null(hg_vm_library_duplicate(f->lib, found, "fixed", NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_BROKEN);
	g_clear_error(&error);
	g_autoptr(HgVmEntry) other = create_vm(f, "another");
	g_assert_true(hg_vm_library_rename(f->lib, good, "still good", &error));
	g_autoptr(HgVmEntry) copy =
		hg_vm_library_duplicate(f->lib, good, "good copy", NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&list, g_ptr_array_unref);
	list = hg_vm_library_list(f->lib);
	g_assert_cmpuint(list->len, ==, G_N_ELEMENTS(broken_folders) + 3);

	for (unsigned i = 0; i < n_snaps; i++) {
		snapshot_check(&snaps[i]);
		g_free(snaps[i].path);
		g_free(snaps[i].bytes);
	}
	g_assert_true(g_file_test(staging_json, G_FILE_TEST_IS_REGULAR));

	/* An explicit delete removes a broken folder. */
	g_autoptr(HgVmEntry) truncated = hg_vm_library_lookup(f->lib, "truncated-json", &error);
	g_assert_no_error(error);
	g_assert_true(hg_vm_library_delete(f->lib, truncated, HG_VM_DELETE_FILES, &error));
	g_assert_no_error(error);
	g_assert_false(g_file_test(truncated->dir, G_FILE_TEST_EXISTS));
}

typedef struct {
	GSocket *listener;
	gint stop;
} FakeEngine;

/* Answers every probe as a paused engine would. */
static gpointer fake_engine_serve(gpointer data)
{
	FakeEngine *fake = data;
	static const char greeting[] =
		"{\"greeting\": {\"version\": \"0.1.0\", \"protocol\": 1}}\n";
	static const char reply[] = "{\"id\": 1, \"return\": {\"status\": \"paused\", "
				    "\"running\": false}}\n";

	while (!g_atomic_int_get(&fake->stop)) {
		g_autoptr(GSocket) client = g_socket_accept(fake->listener, NULL, NULL);
		char buffer[256];
		if (!client)
			continue; /* the 100 ms timeout: check stop */
		g_socket_set_timeout(client, 2);
		g_socket_send(client, greeting, sizeof(greeting) - 1, NULL, NULL);
		if (g_socket_receive(client, buffer, sizeof(buffer), NULL, NULL) > 0)
			g_socket_send(client, reply, sizeof(reply) - 1, NULL, NULL);
	}
	return NULL;
}

static void test_running_vm_refused(Fixture *f, gconstpointer data)
{
	g_autoptr(HgVmEntry) e = create_vm(f, "busy");
	g_autoptr(GError) error = NULL;
	g_autofree char *rundir = hg_vm_runtime_dir(e->id);
	g_autofree char *sock_path = hg_vm_runtime_file(e->id, "control.sock");
	g_autofree char *exit_path = hg_vm_runtime_file(e->id, "exit.json");
	g_autoptr(GSocketAddress) address = NULL;
	FakeEngine fake = {0};
	GThread *server;
	int status = 0;
	g_autofree char *reason = NULL;

	g_assert_true(g_str_has_prefix(rundir, tmp_root));
	g_assert_cmpint(hg_vm_probe_state(e->id), ==, HG_VM_STATE_STOPPED);
	g_assert_cmpint(g_mkdir_with_parents(rundir, 0700), ==, 0);
	fake.listener = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, &error);
	g_assert_no_error(error);
	address = g_unix_socket_address_new(sock_path);
	g_assert_true(g_socket_bind(fake.listener, address, TRUE, &error));
	g_assert_true(g_socket_listen(fake.listener, &error));
	g_socket_set_blocking(fake.listener, FALSE);
	server = g_thread_new("fake-engine", fake_engine_serve, &fake);

	g_assert_cmpint(hg_vm_probe_state(e->id), ==, HG_VM_STATE_PAUSED);
	g_assert_false(hg_vm_library_delete(f->lib, e, HG_VM_DELETE_FILES, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_RUNNING);
	g_clear_error(&error);
	g_assert_null(hg_vm_library_duplicate(f->lib, e, "copy", NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_RUNNING);
	g_clear_error(&error);
	g_assert_null(hg_engine_start(e, false, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_RUNNING);
	g_clear_error(&error);
	g_assert_true(g_file_test(e->dir, G_FILE_TEST_IS_DIR));

	g_atomic_int_set(&fake.stop, 1);
	g_thread_join(server);
	g_socket_close(fake.listener, NULL);
	g_object_unref(fake.listener);
	/* The socket file stays, as after a killed engine: stale, stopped. */
	g_assert_true(g_file_test(sock_path, G_FILE_TEST_EXISTS));
	g_assert_cmpint(hg_vm_probe_state(e->id), ==, HG_VM_STATE_STOPPED);

	/* exit.json tells a crash from a power-off. */
	g_assert_true(g_file_set_contents(exit_path, "{\"status\": 6, \"reason\": \"KVM said no\"}",
					  -1, NULL));
	g_assert_cmpint(hg_vm_probe_state(e->id), ==, HG_VM_STATE_CRASHED);
	g_assert_true(hg_vm_last_exit(e->id, &status, &reason));
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 6);
	g_assert_cmpstr(reason, ==, "KVM said no");
	g_assert_true(
		g_file_set_contents(exit_path, "{\"status\": 0, \"reason\": \"quit\"}", -1, NULL));
	g_assert_cmpint(hg_vm_probe_state(e->id), ==, HG_VM_STATE_STOPPED);
	g_assert_false(hg_vm_last_exit(e->id, &status, NULL));

	g_assert_true(hg_vm_library_delete(f->lib, e, HG_VM_DELETE_FILES, &error));
	g_assert_no_error(error);
}

static void test_describe_exit(void)
{
	g_autofree char *off = hg_engine_describe_exit(0);
	g_autofree char *killed = hg_engine_describe_exit(SIGKILL);
	g_autofree char *kvm = hg_engine_describe_exit(6 << 8);
	g_autofree char *setup = hg_engine_describe_exit(4 << 8);
	g_autofree char *debug = hg_engine_describe_exit(3 << 8);

	g_assert_cmpstr(off, ==, "powered off");
	g_assert_cmpstr(killed, ==, "killed by signal 9 (Killed)");
	g_assert_cmpstr(kvm, ==, "the guest hit an instruction KVM cannot run (status 6)");
	g_assert_nonnull(strstr(setup, "status 4"));
	g_assert_nonnull(strstr(debug, "debug-exit with value 1"));
}

int main(int argc, char **argv)
{
	g_autofree char *data_home = NULL, *runtime = NULL;

	/* Before anything asks GLib for the XDG folders (it caches them). */
	tmp_root = g_dir_make_tmp("hangar-vm-library-XXXXXX", NULL);
	g_assert_nonnull(tmp_root);
	data_home = g_build_filename(tmp_root, "data", NULL);
	runtime = g_build_filename(tmp_root, "runtime", NULL);
	g_mkdir(data_home, 0700);
	g_mkdir(runtime, 0700);
	g_setenv("XDG_DATA_HOME", data_home, TRUE);
	g_setenv("XDG_RUNTIME_DIR", runtime, TRUE);

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vm-library/open-makes-vms-under-xdg-data-home", test_open_default_root);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
	ADD("/vm-library/create-list-and-lookup", test_create_list_lookup);
	ADD("/vm-library/lookup-refuses-an-ambiguous-name", test_lookup_ambiguous);
	ADD("/vm-library/rename-keeps-the-id", test_rename);
	ADD("/vm-library/create-disk-is-sparse-and-stays-inside",
	    test_create_with_disk_and_create_disk);
	ADD("/vm-library/duplicate-keeps-sparse-files-sparse", test_duplicate_keeps_sparse_files);
	ADD("/vm-library/duplicate-refuses-a-shared-writable-image",
	    test_duplicate_refuses_shared_writable_image);
	ADD("/vm-library/cancelled-duplicate-leaves-nothing",
	    test_duplicate_cancelled_leaves_nothing);
	ADD("/vm-library/delete-files-leaves-images-outside", test_delete_files);
	ADD("/vm-library/delete-to-trash-or-says-why-not", test_delete_to_trash);
	ADD("/vm-library/broken-folders-are-listed-and-untouched",
	    test_broken_folders_listed_and_untouched);
	ADD("/vm-library/running-vm-is-not-deleted-or-duplicated", test_running_vm_refused);
	ADD("/vm-library/format/old-vm-json-gets-formats-recorded-once",
	    test_old_formats_recorded_once);
	ADD("/vm-library/format/old-writable-vmdk-is-refused-not-recorded",
	    test_old_writable_import_format_refused);
	ADD("/vm-library/format/convert-goes-by-the-recorded-format",
	    test_convert_goes_by_the_recorded_format);
#undef ADD
	g_test_add_func("/vm-runtime/describe-exit-in-plain-words", test_describe_exit);

	int status = g_test_run();
	remove_all(tmp_root);
	g_free(tmp_root);
	return status;
}

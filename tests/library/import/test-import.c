/* Import of disk images (library/import): what a file is by its content,
 * the VM an image becomes (copied, in place, as an overlay; checked with
 * qemu-img), the firmware read from a partition table, and failures and
 * cancels that leave the library as it was. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "library/import/import.h"
#include "library/import/import_os.h"
#include "library/vm/vm_library.h"
#include "tests/library/import/import-test-util.h"

/* ---- identify ---- */

static void assert_kind(const char *path, HgImportKind want, const char *want_format)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *format = NULL;
	HgImportKind kind;

	g_assert_true(hg_import_identify(path, &kind, &format, &error));
	g_assert_no_error(error);
	g_assert_cmpint(kind, ==, want);
	g_assert_cmpstr(format, ==, want_format);
}

static void test_identify_by_content(void)
{
	g_autofree char *raw = make_raw("named.iso"); /* the name says nothing */
	g_autofree char *qcow2 = work_file("image.img");
	g_autofree char *iso = work_file("media.bin");
	g_autofree char *gz = work_file("disk.qcow2");
	g_autofree char *tar = work_file("appliance.ova");
	g_autofree char *tar_member = work_file("member.txt");
	g_autofree char *text = work_file("notes.raw");
	g_autofree char *empty = work_file("empty.img");
	g_autofree guint8 *iso_bytes = g_malloc0(0x9000);
	g_autoptr(GError) error = NULL;
	HgImportKind kind;

	assert_kind(raw, HG_IMPORT_KIND_DISK, "raw");
	g_free(qemu("qemu-img", "create", "-q", "-f", "qcow2", qcow2, "1G", NULL));
	assert_kind(qcow2, HG_IMPORT_KIND_DISK, "qcow2");
	memcpy(iso_bytes + 0x8001, "CD001", 5);
	g_assert_true(g_file_set_contents(iso, (char *)iso_bytes, 0x9000, NULL));
	assert_kind(iso, HG_IMPORT_KIND_ISO, "iso");
	g_assert_true(g_file_set_contents(gz, "\x1f\x8b\x08\0\0\0\0\0", 8, NULL));
	assert_kind(gz, HG_IMPORT_KIND_COMPRESSED, "gzip");
	g_assert_true(g_file_set_contents(tar_member, "hello", -1, NULL));
	g_autofree char *tar_cmd = g_strdup_printf("tar -C '%s' -cf '%s' member.txt", work, tar);
	g_assert_cmpint(system(tar_cmd), ==, 0);
	assert_kind(tar, HG_IMPORT_KIND_ARCHIVE, "tar");

	/* Not a disk: an odd size, or nothing at all. */
	g_assert_true(g_file_set_contents(text, "just some notes\n", -1, NULL));
	g_assert_false(hg_import_identify(text, &kind, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "512-byte"));
	g_clear_error(&error);
	g_assert_true(g_file_set_contents(empty, "", 0, NULL));
	g_assert_false(hg_import_identify(empty, &kind, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_false(hg_import_identify(work, &kind, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
}

/* ---- import ---- */

static void test_raw_copied_as_qcow2(void)
{
	g_autofree char *raw = make_raw("Web Server.img");
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) entry = hg_import_disk_image(lib, raw, NULL, NULL, NULL, NULL, &error);
	g_autofree char *disk = NULL, *info = NULL;
	HgVmDisk *d;

	g_assert_no_error(error);
	g_assert_cmpstr(entry->config->name, ==, "Web Server");
	g_assert_cmpuint(entry->config->memory_mib, ==, 2048);
	g_assert_cmpint(entry->config->firmware, ==, HG_FIRMWARE_BIOS);
	d = g_ptr_array_index(entry->config->disks, 0);
	g_assert_cmpstr(d->path, ==, "disk.qcow2");
	g_assert_cmpint(d->bus, ==, HG_DISK_BUS_SATA);
	g_assert_cmpint(d->boot_index, ==, 0);
	disk = vm_disk(entry);
	g_free(qemu("qemu-img", "compare", raw, disk, NULL));
	info = qemu("qemu-img", "check", disk, NULL);
	/* The library lists it like any other VM. */
	g_autoptr(HgVmEntry) again = hg_vm_library_lookup(lib, "Web Server", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(again->id, ==, entry->id);
}

static void test_in_place_and_overlay(void)
{
	g_autofree char *raw = make_raw("shared.img");
	g_autofree char *qcow2 = work_file("base.qcow2");
	g_autoptr(GError) error = NULL;
	HgImportOptions in_place = {"In place", HG_IMPORT_IN_PLACE};
	HgImportOptions overlay = {"Overlay", HG_IMPORT_OVERLAY};
	g_autoptr(HgVmEntry) a = NULL, b = NULL;
	g_autofree char *overlay_disk = NULL, *info = NULL;

	a = hg_import_disk_image(lib, raw, &in_place, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(((HgVmDisk *)a->config->disks->pdata[0])->path, ==, raw);

	g_free(qemu("qemu-img", "convert", "-O", "qcow2", raw, qcow2, NULL));
	b = hg_import_disk_image(lib, qcow2, &overlay, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	overlay_disk = vm_disk(b);
	info = qemu("qemu-img", "info", overlay_disk, NULL);
	g_assert_nonnull(strstr(info, qcow2));
	g_free(qemu("qemu-img", "compare", raw, overlay_disk, NULL));
}

/* A protective MBR, a GPT header and partition entries of the given types. */
static char *make_gpt(const char *name, bool esp, bool bios_boot)
{
	static const guint8 esp_type[16] = {0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
					    0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b};
	static const guint8 bios_type[16] = {0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6f, 0x6e,
					     0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49};
	char *path = work_file(name);
	gsize size = 4 << 20;
	g_autofree guint8 *img = g_malloc0(size);
	guint64 lba = GUINT64_TO_LE(2);
	guint32 count = GUINT32_TO_LE(128), entry_size = GUINT32_TO_LE(128);
	unsigned n = 0;

	img[446 + 4] = 0xee;
	img[510] = 0x55;
	img[511] = 0xaa;
	memcpy(img + 512, "EFI PART", 8);
	memcpy(img + 512 + 72, &lba, 8);
	memcpy(img + 512 + 80, &count, 4);
	memcpy(img + 512 + 84, &entry_size, 4);
	if (bios_boot)
		memcpy(img + 1024 + 128 * n++, bios_type, 16);
	if (esp)
		memcpy(img + 1024 + 128 * n++, esp_type, 16);
	g_assert_true(g_file_set_contents(path, (char *)img, size, NULL));
	return path;
}

static void test_firmware_from_the_partition_table(void)
{
	g_autofree char *uefi = make_gpt("uefi.img", true, false);
	g_autofree char *hybrid = make_gpt("hybrid.img", true, true);
	g_autofree char *plain = make_raw("mbr.img");
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) a = hg_import_disk_image(lib, uefi, NULL, NULL, NULL, NULL, &error);
	g_autoptr(HgVmEntry) b = hg_import_disk_image(lib, hybrid, NULL, NULL, NULL, NULL, &error);
	g_autoptr(HgVmEntry) c = hg_import_disk_image(lib, plain, NULL, NULL, NULL, NULL, &error);

	g_assert_no_error(error);
	g_assert_cmpint(a->config->firmware, ==, HG_FIRMWARE_UEFI);
	/* A BIOS boot partition means GRUB for BIOS is there too. */
	g_assert_cmpint(b->config->firmware, ==, HG_FIRMWARE_BIOS);
	g_assert_cmpint(c->config->firmware, ==, HG_FIRMWARE_BIOS);
}

static void test_refusals_leave_nothing(void)
{
	g_autofree char *raw = make_raw("twice.img");
	g_autofree char *gz = work_file("packed.img.gz");
	g_autofree char *vmdk = work_file("vmware.vmdk");
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) first = hg_import_disk_image(lib, raw, NULL, NULL, NULL, NULL, &error);
	g_autoptr(GPtrArray) before = hg_vm_library_list(lib);
	HgImportOptions in_place_vmdk = {"VMware", HG_IMPORT_IN_PLACE};

	g_assert_no_error(error);
	/* The name is taken now. */
	g_assert_null(hg_import_disk_image(lib, raw, NULL, NULL, NULL, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_true(g_file_set_contents(gz, "\x1f\x8b\x08\0\0\0\0\0", 8, NULL));
	g_assert_null(hg_import_disk_image(lib, gz, NULL, NULL, NULL, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "header is truncated"));
	g_clear_error(&error);
	/* A format that can only be copied, asked to be used in place (or one
	 * this version does not read at all). */
	g_free(qemu("qemu-img", "convert", "-O", "vmdk", raw, vmdk, NULL));
	g_assert_null(hg_import_disk_image(lib, vmdk, &in_place_vmdk, NULL, NULL, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED);
	g_assert_true(strstr(error->message, "VMDK") || strstr(error->message, "vmdk"));
	g_clear_error(&error);

	/* An encrypted image: named as such.  (Its header says AES, crypt_method
	 * 1 at byte 32: qemu-img's LUKS creation times its key derivation and
	 * fails on a busy machine, "Unable to get accurate CPU usage".) */
	g_autofree char *encrypted = work_file("secret.qcow2");
	static const guint8 aes[4] = {0, 0, 0, 1};
	g_autoptr(GError) set_error = NULL;
	g_free(qemu("qemu-img", "create", "-q", "-f", "qcow2", encrypted, "16M", NULL));
	{
		g_autoptr(GFile) file = g_file_new_for_path(encrypted);
		g_autoptr(GFileIOStream) io = g_file_open_readwrite(file, NULL, &set_error);
		g_assert_no_error(set_error);
		g_assert_true(g_seekable_seek(G_SEEKABLE(io), 32, G_SEEK_SET, NULL, &set_error));
		g_assert_true(
			g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(io)),
						  aes, sizeof(aes), NULL, NULL, &set_error));
		g_assert_no_error(set_error);
	}
	g_assert_null(hg_import_disk_image(lib, encrypted, NULL, NULL, NULL, NULL, &error));
	g_assert_nonnull(error);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, "encrypted"));
	g_clear_error(&error);

	g_autoptr(GPtrArray) after = hg_vm_library_list(lib);
	g_assert_cmpuint(after->len, ==, before->len);
	g_assert_cmpuint(hidden_folders(), ==, 0);
}

/* Every format and variant qemu-img writes imports to a VM whose disk
 * compares equal to the source. */
static void test_every_format_imports(void)
{
	static const char *const variants[][3] = {
		{"vmdk", "subformat=monolithicSparse", "vmdk"},
		{"vmdk", "subformat=streamOptimized", "vmdk"},
		{"vmdk", "subformat=monolithicFlat", "vmdk"},
		{"vmdk", "subformat=twoGbMaxExtentSparse", "vmdk"},
		{"vdi", "static=off", "vdi"},
		{"vdi", "static=on", "vdi"},
		{"vpc", "subformat=dynamic", "vhd"},
		{"vpc", "subformat=fixed", "vhd"},
		{"vhdx", "subformat=dynamic", "vhdx"},
		{"vhdx", "subformat=fixed", "vhdx"},
		{"qcow2", "compat=0.10", "qcow2"},
	};
	g_autofree char *raw = make_raw("every-format.img");

	for (unsigned i = 0; i < G_N_ELEMENTS(variants); i++) {
		g_autofree char *dir = g_strdup_printf("variant-%u", i);
		g_autofree char *folder = work_file(dir);
		g_autofree char *file = g_strdup_printf("%s/image-%u.%s", dir, i, variants[i][2]);
		g_autofree char *image = work_file(file);
		g_autoptr(GError) error = NULL;
		g_autoptr(HgVmEntry) entry = NULL;
		g_autofree char *disk = NULL;

		g_mkdir(folder, 0700);
		g_free(qemu("qemu-img", "convert", "-f", "raw", "-O", variants[i][0], "-o",
			    variants[i][1], raw, image, NULL));
		entry = hg_import_disk_image(lib, image, NULL, NULL, NULL, NULL, &error);
		g_assert_no_error(error);
		g_test_message("%s %s: imported as \"%s\"", variants[i][0], variants[i][1],
			       entry->config->name);
		disk = vm_disk(entry);
		g_free(qemu("qemu-img", "compare", raw, disk, NULL));
	}
}

/* As the app imports: a taken name gets a number. */
static void test_unique_names(void)
{
	g_autofree char *raw = make_raw("again.img");
	HgImportOptions unique = {NULL, HG_IMPORT_COPY, true};
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) first =
		hg_import_disk_image(lib, raw, &unique, NULL, NULL, NULL, &error);
	g_autoptr(HgVmEntry) second =
		hg_import_disk_image(lib, raw, &unique, NULL, NULL, NULL, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(first->config->name, ==, "again");
	g_assert_cmpstr(second->config->name, ==, "again 2");
}

/* A qcow2 image naming a host file as backing file is not followed. */
static void test_backing_file_outside_is_refused(void)
{
	g_autofree char *evil = work_file("evil.qcow2");
	g_autofree char *dir = work_file("set");
	g_autofree char *base = work_file("set/base.qcow2");
	g_autofree char *top = work_file("set/top.qcow2");
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) entry = NULL;

	g_assert_true(hg_block_create_qcow2(evil, 1 << 20, "/etc/passwd", 16, &error));
	g_assert_null(hg_import_disk_image(lib, evil, NULL, NULL, NULL, NULL, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED);
	g_assert_nonnull(strstr(error->message, "/etc/passwd"));
	g_clear_error(&error);
	g_assert_cmpuint(hidden_folders(), ==, 0);

	/* A chain shipped together, relative names: fine. */
	g_mkdir(dir, 0700);
	g_assert_true(hg_block_create_qcow2(base, 1 << 20, NULL, 16, &error));
	g_assert_true(hg_block_create_qcow2(top, 0, "base.qcow2", 16, &error));
	entry = hg_import_disk_image(lib, top, NULL, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(entry);
}

static void cancel_at_once(guint64 done, guint64 total, gpointer data)
{
	g_cancellable_cancel(data);
}

static void test_cancel_leaves_nothing(void)
{
	g_autofree char *raw = make_raw("cancelled.img");
	g_autoptr(GCancellable) cancel = g_cancellable_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) before = hg_vm_library_list(lib);

	g_assert_null(hg_import_disk_image(lib, raw, NULL, cancel, cancel_at_once, cancel, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_autoptr(GPtrArray) after = hg_vm_library_list(lib);
	g_assert_cmpuint(after->len, ==, before->len);
	g_assert_cmpuint(hidden_folders(), ==, 0);
}

/* ---- compressed images and archives ---- */

static void test_compressed_images_stream_into_qcow2(void)
{
	static const char *const tools[][2] = {
		{"gzip", "gz"}, {"xz", "xz"}, {"zstd -q", "zst"}, {"bzip2", "bz2"}};

	for (unsigned i = 0; i < G_N_ELEMENTS(tools); i++) {
		g_autofree char *raw_name = g_strdup_printf("packed-%s.img", tools[i][1]);
		g_autofree char *raw = make_raw(raw_name);
		g_autofree char *packed = g_strdup_printf("%s.%s", raw, tools[i][1]);
		g_autoptr(GError) error = NULL;
		g_autoptr(HgVmEntry) entry = NULL;
		g_autofree char *disk = NULL;
		HgImportKind kind;

		sh("%s -c '%s' > '%s'", tools[i][0], raw, packed);
		g_assert_true(hg_import_identify(packed, &kind, NULL, &error));
		g_assert_cmpint(kind, ==, HG_IMPORT_KIND_COMPRESSED);
		entry = hg_import_disk_image(lib, packed, NULL, NULL, NULL, NULL, &error);
		g_assert_no_error(error);
		/* Named after the file, up to its first dot. */
		g_autofree char *want = g_strndup(raw_name, strchr(raw_name, '.') - raw_name);
		g_assert_cmpstr(entry->config->name, ==, want);
		disk = vm_disk(entry);
		g_free(qemu("qemu-img", "compare", raw, disk, NULL));
		g_free(qemu("qemu-img", "check", disk, NULL));
	}
}

/* A disk whose first sector is zeroes (a file system without a partition
 * table, a blank disk), compressed: libarchive alone takes such a stream
 * for an empty tar (a zero block ends one). */
static void test_compressed_disk_starting_with_zeroes(void)
{
	static const char *const tools[][2] = {
		{"gzip", "gz"}, {"xz", "xz"}, {"zstd -q", "zst"}, {"bzip2", "bz2"}};
	g_autofree char *blank = work_file("blank.img");
	g_autofree char *blank_gz = work_file("blank.img.gz");
	g_autofree char *empty_tar_gz = work_file("nothing.tar.gz");
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) blank_entry = NULL;
	g_autofree char *blank_disk = NULL;

	for (unsigned i = 0; i < G_N_ELEMENTS(tools); i++) {
		g_autofree char *raw_name = g_strdup_printf("file-system-%s.img", tools[i][1]);
		g_autofree char *raw = work_file(raw_name);
		g_autofree char *packed = g_strdup_printf("%s.%s", raw, tools[i][1]);
		g_autoptr(HgVmEntry) entry = NULL;
		g_autofree char *disk = NULL;

		g_free(qemu("qemu-img", "create", "-q", "-f", "raw", raw, "8M", NULL));
		/* Where ext4 has its superblock, and data further on. */
		g_free(qemu("qemu-io", "-f", "raw", "-c", "write -P 0x53 1k 1k", "-c",
			    "write -P 0x44 5M 64k", raw, NULL));
		sh("%s -c '%s' > '%s'", tools[i][0], raw, packed);
		entry = hg_import_disk_image(lib, packed, NULL, NULL, NULL, NULL, &error);
		g_assert_no_error(error);
		disk = vm_disk(entry);
		g_free(qemu("qemu-img", "compare", raw, disk, NULL));
	}
	g_free(qemu("qemu-img", "create", "-q", "-f", "raw", blank, "1M", NULL));
	sh("gzip -c '%s' > '%s'", blank, blank_gz);
	blank_entry = hg_import_disk_image(lib, blank_gz, NULL, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	blank_disk = vm_disk(blank_entry);
	g_free(qemu("qemu-img", "compare", blank, blank_disk, NULL));
	/* A .tar.gz with nothing in it is still refused, as what it holds
	 * (a few zero blocks) is no disk either. */
	sh("tar -czf '%s' --files-from /dev/null", empty_tar_gz);
	assert_refused(empty_tar_gz, HG_VM_ERROR_INVALID, "not a disk image");
}

static void test_tar_of_disks(void)
{
	g_autofree char *dir = work_file("bundle");
	g_autofree char *tar = work_file("bundle.tar.gz");
	g_autofree char *first = NULL, *second = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) entry = NULL;

	g_mkdir(dir, 0700);
	first = make_raw("bundle/a-system.img");
	second = make_raw("bundle/b-data.img");
	sh("qemu-io -f raw -c 'write -P 0x44 1M 64k' '%s' > /dev/null", second);
	g_assert_true(g_file_set_contents(work_file("bundle/README"), "read me\n", -1, NULL));
	sh("tar -C '%s' -czf '%s' README a-system.img b-data.img", dir, tar);
	entry = hg_import_disk_image(lib, tar, NULL, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(entry->config->name, ==, "bundle");
	g_assert_cmpuint(entry->config->disks->len, ==, 2);
	HgVmDisk *disk0 = entry->config->disks->pdata[0], *disk1 = entry->config->disks->pdata[1];
	g_autofree char *d0 = hg_vm_entry_resolve(entry, disk0->path);
	g_autofree char *d1 = hg_vm_entry_resolve(entry, disk1->path);
	g_free(qemu("qemu-img", "compare", first, d0, NULL));
	g_free(qemu("qemu-img", "compare", second, d1, NULL));
	g_assert_cmpint(disk0->boot_index, ==, 0);
}

static void test_zip_of_a_disk(void)
{
	g_autofree char *raw = make_raw("zipped.img");
	g_autofree char *zip = work_file("zipped.zip");
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autofree char *disk = NULL;

	sh("cd '%s' && zip -q '%s' zipped.img", work, zip);
	entry = hg_import_disk_image(lib, zip, NULL, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(entry->config->disks->len, ==, 1);
	disk = vm_disk(entry);
	g_free(qemu("qemu-img", "compare", raw, disk, NULL));
}

static void test_hostile_and_broken_archives(void)
{
	g_autofree char *raw = make_raw("victim.img");
	g_autofree char *dotdot = work_file("dotdot.tar");
	g_autofree char *absolute = work_file("absolute.tar");
	g_autofree char *link = work_file("link.tar");
	g_autofree char *truncated = work_file("truncated.img.xz");
	g_autofree char *empty = work_file("nothing.tar");
	g_autofree char *qcow2_inside = work_file("inside.tar");
	g_autofree char *q = work_file("inside.qcow2");

	/* Names tar would not write: made with Python's tarfile. */
	sh("/usr/bin/python3 -c \"import tarfile,sys; t=tarfile.open(sys.argv[1],'w'); "
	   "t.add(sys.argv[2], arcname='../evil.img'); t.close()\" '%s' '%s'",
	   dotdot, raw);
	assert_refused(dotdot, HG_VM_ERROR_INVALID, "..");
	/* (tarfile's add() strips a leading slash; a TarInfo keeps it.) */
	sh("/usr/bin/python3 -c \"import tarfile,sys; t=tarfile.open(sys.argv[1],'w'); "
	   "f=open(sys.argv[2],'rb'); i=tarfile.TarInfo('/etc/evil.img'); "
	   "i.size=8<<20; t.addfile(i, f); t.close()\" '%s' '%s'",
	   absolute, raw);
	assert_refused(absolute, HG_VM_ERROR_INVALID, "absolute");
	sh("/usr/bin/python3 -c \"import tarfile,sys; t=tarfile.open(sys.argv[1],'w'); "
	   "i=tarfile.TarInfo('disk.img'); i.type=tarfile.SYMTYPE; i.linkname='/etc/passwd'; "
	   "t.addfile(i); t.close()\" '%s'",
	   link);
	assert_refused(link, HG_VM_ERROR_INVALID, "link");
	/* (The whole xz is about 1.4 kB.) */
	sh("xz -c '%s' | head -c 600 > '%s'", raw, truncated);
	assert_refused(truncated, HG_VM_ERROR_INVALID, "truncated");
	g_assert_true(g_file_set_contents(work_file("note.txt"), "only a note\n", -1, NULL));
	sh("tar -C '%s' -cf '%s' note.txt", work, empty);
	assert_refused(empty, HG_VM_ERROR_INVALID, "no disk image");
	g_free(qemu("qemu-img", "create", "-q", "-f", "qcow2", q, "1G", NULL));
	sh("tar -C '%s' -cf '%s' inside.qcow2", work, qcow2_inside);
	assert_refused(qcow2_inside, HG_VM_ERROR_UNSUPPORTED, "QCOW2");
	/* Text, compressed: not a disk. */
	g_autofree char *text_gz = work_file("notes.txt.gz");
	g_autofree char *note = work_file("note.txt");
	sh("gzip -c '%s' > '%s'", note, text_gz);
	assert_refused(text_gz, HG_VM_ERROR_INVALID, "not a disk image");
}

static void cancel_after_first(guint64 done, guint64 total, gpointer data)
{
	g_cancellable_cancel(data);
}

static void test_archive_cancel_leaves_nothing(void)
{
	g_autofree char *raw = make_raw("stopped.img");
	g_autofree char *gz = g_strconcat(raw, ".gz", NULL);
	g_autoptr(GCancellable) cancel = g_cancellable_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) before = hg_vm_library_list(lib);

	sh("gzip -c '%s' > '%s'", raw, gz);
	g_assert_null(
		hg_import_disk_image(lib, gz, NULL, cancel, cancel_after_first, cancel, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_autoptr(GPtrArray) after = hg_vm_library_list(lib);
	g_assert_cmpuint(after->len, ==, before->len);
	g_assert_cmpuint(hidden_folders(), ==, 0);
}

/* What VMware and VirtualBox write as OS type and description. */
static void test_os_from_appliance_names(void)
{
	static const char *const cases[][3] = {
		{"debian12_64Guest", NULL, "debian12"},
		{"Debian11_64", NULL, "debian11"},
		{"Debian_64", "Debian GNU/Linux 12 (64-bit)", "debian12"},
		{"windows9_64Guest", NULL, "win10"},
		{"windows2019srvNext_64Guest", NULL, "win2k22"},
		{"Windows11_64", NULL, "win11"},
		{NULL, "Microsoft Windows 10 Pro (64-bit)", "win10"},
		{"Ubuntu22_LTS_64", NULL, "ubuntu22.04"},
		{"otherGuest", "Ubuntu 20.04.6 LTS", "ubuntu20.04"},
		{"freebsd13_64Guest", NULL, "freebsd13.0"},
		{"ArchLinux_64", NULL, "archlinux"},
		{"rhel9_64Guest", NULL, "rhel9.0"},
		/* Nothing the database knows: no guess. */
		{"otherLinux64Guest", "My appliance", NULL},
		{"Windows95", NULL, NULL},
		{NULL, NULL, NULL},
		{"", "", NULL},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(HgOsGuess) guess = hg_import_guess_os(cases[i][0], cases[i][1]);
		g_test_message("%s / %s -> %s", cases[i][0], cases[i][1],
			       guess ? guess->short_id : "(none)");
		if (cases[i][2]) {
			g_assert_nonnull(guess);
			g_assert_cmpstr(guess->short_id, ==, cases[i][2]);
		} else {
			g_assert_null(guess);
		}
	}
}

int main(int argc, char **argv)
{
	int status;

	g_test_init(&argc, &argv, NULL);
	import_test_init("hangar-import");
	g_test_add_func("/import/identify-by-content", test_identify_by_content);
	g_test_add_func("/import/raw-copied-as-qcow2", test_raw_copied_as_qcow2);
	g_test_add_func("/import/in-place-and-overlay", test_in_place_and_overlay);
	g_test_add_func("/import/firmware-from-the-partition-table",
			test_firmware_from_the_partition_table);
	g_test_add_func("/import/refusals-leave-nothing", test_refusals_leave_nothing);
	g_test_add_func("/import/cancel-leaves-nothing", test_cancel_leaves_nothing);
	g_test_add_func("/import/unique-names", test_unique_names);
	g_test_add_func("/import/every-format-imports", test_every_format_imports);
	g_test_add_func("/import/backing-file-outside-is-refused",
			test_backing_file_outside_is_refused);
	g_test_add_func("/import/compressed-images-stream-into-qcow2",
			test_compressed_images_stream_into_qcow2);
	g_test_add_func("/import/compressed-disk-starting-with-zeroes",
			test_compressed_disk_starting_with_zeroes);
	g_test_add_func("/import/tar-of-disks", test_tar_of_disks);
	g_test_add_func("/import/zip-of-a-disk", test_zip_of_a_disk);
	g_test_add_func("/import/hostile-and-broken-archives", test_hostile_and_broken_archives);
	g_test_add_func("/import/archive-cancel-leaves-nothing",
			test_archive_cancel_leaves_nothing);
	g_test_add_func("/import/os-from-appliance-names", test_os_from_appliance_names);
	status = g_test_run();
	import_test_finish();
	return status;
}

/* Importing files as VMs (import.h). */
#include "library/import/import.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "library/import/import_private.h"
#include "library/vm/vm_library_private.h"

#define IMPORT_DISK_NAME "disk.qcow2"
#define IMPORT_MEMORY_MIB 2048
#define IMPORT_CPUS 2

static bool import_error(GError **error, int code, const char *path, const char *why)
{
	g_autofree char *base = g_path_get_basename(path);

	g_set_error(error, HG_VM_ERROR, code, "%s: %s", base, why);
	return false;
}

/* ---- what a file is ---- */

typedef struct {
	HgImportKind kind;
	const char *name;
	gsize offset;
	const char *magic;
	gsize length;
} Magic;

static const Magic magics[] = {
	{HG_IMPORT_KIND_COMPRESSED, "gzip", 0, "\x1f\x8b", 2},
	{HG_IMPORT_KIND_COMPRESSED, "xz", 0,
	 "\xfd"
	 "7zXZ\0",
	 6},
	{HG_IMPORT_KIND_COMPRESSED, "zstd", 0, "\x28\xb5\x2f\xfd", 4},
	{HG_IMPORT_KIND_COMPRESSED, "bzip2", 0, "BZh", 3},
	{HG_IMPORT_KIND_ARCHIVE, "zip", 0, "PK\x03\x04", 4},
	{HG_IMPORT_KIND_ARCHIVE, "tar", 257, "ustar", 5},
	/* ISO 9660's primary volume descriptor at sector 16. */
	{HG_IMPORT_KIND_ISO, "iso", 0x8001, "CD001", 5},
};

/* Disk formats by magic: for the message when the image layer does not
 * read one (it then takes it for raw, which it is not), and to tell disks
 * in archives. */
static const Magic disk_magics[] = {
	{HG_IMPORT_KIND_DISK, "QCOW2", 0, "QFI\xfb", 4},
	{HG_IMPORT_KIND_DISK, "VMDK", 0, "KDMV", 4},
	{HG_IMPORT_KIND_DISK, "VMDK", 0, "# Disk DescriptorFile", 21},
	{HG_IMPORT_KIND_DISK, "VDI", 0x40, "\x7f\x10\xda\xbe", 4},
	{HG_IMPORT_KIND_DISK, "VHD", 0, "conectix", 8},
	{HG_IMPORT_KIND_DISK, "VHDX", 0, "vhdxfile", 8},
};

bool hg_import_looks_like_ovf(const guint8 *head, gsize length)
{
	/* XML whose first element is an Envelope in an OVF namespace. */
	return length > 16 && memmem(head, length, "Envelope", 8) &&
	       memmem(head, length, "schemas.dmtf.org/ovf/envelope", 29) &&
	       (memcmp(head, "<?xml", 5) == 0 || memcmp(head, "<Envelope", 9) == 0 ||
		memcmp(head, "\xef\xbb\xbf<?xml", 8) == 0);
}

const char *hg_import_disk_magic(const guint8 *head, gsize length)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(disk_magics); i++) {
		const Magic *m = &disk_magics[i];
		if (length >= m->offset + m->length &&
		    memcmp(head + m->offset, m->magic, m->length) == 0)
			return m->name;
	}
	return NULL;
}

bool hg_import_identify(const char *path, HgImportKind *kind, char **format, GError **error)
{
	guint8 head[0x8010] = {0};
	g_autoptr(GError) local = NULL;
	HgBlockBackend *blk;
	struct stat st;
	ssize_t got;
	int fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);

	if (format)
		*format = NULL;
	if (fd < 0) {
		g_set_error(error, HG_VM_ERROR,
			    errno == ENOENT ? HG_VM_ERROR_NOT_FOUND : HG_VM_ERROR_IO,
			    "cannot open %s: %s", path, g_strerror(errno));
		return false;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return import_error(error, HG_VM_ERROR_INVALID, path, "not a regular file");
	}
	got = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (got <= 0)
		return import_error(error, HG_VM_ERROR_INVALID, path,
				    "the file is empty or unreadable: not a disk image");
	for (unsigned i = 0; i < G_N_ELEMENTS(magics); i++) {
		const Magic *m = &magics[i];
		if ((gsize)got >= m->offset + m->length &&
		    memcmp(head + m->offset, m->magic, m->length) == 0) {
			*kind = m->kind;
			if (format)
				*format = g_strdup(m->name);
			return true;
		}
	}
	if (hg_import_looks_like_ovf(head, got)) {
		*kind = HG_IMPORT_KIND_OVF;
		if (format)
			*format = g_strdup("ovf");
		return true;
	}
	/* Everything else is for the image layer to recognise. */
	blk = hg_block_open(path, true, &local);
	if (!blk) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s", local->message);
		return false;
	}
	if (strcmp(hg_block_format(blk), "raw") == 0 && hg_import_disk_magic(head, got)) {
		g_autofree char *why = g_strdup_printf("a %s image, which this version cannot read",
						       hg_import_disk_magic(head, got));
		hg_block_close(blk);
		return import_error(error, HG_VM_ERROR_UNSUPPORTED, path, why);
	}
	if (strcmp(hg_block_format(blk), "raw") == 0 && (st.st_size == 0 || st.st_size % 512)) {
		hg_block_close(blk);
		return import_error(error, HG_VM_ERROR_INVALID, path,
				    "not a disk image: no known format, and its size is not a "
				    "whole number of 512-byte sectors");
	}
	*kind = HG_IMPORT_KIND_DISK;
	if (format)
		*format = g_strdup(hg_block_format(blk));
	hg_block_close(blk);
	return true;
}

/* ---- the firmware a disk wants ---- */

/* GPT partition type GUIDs, as stored (mixed-endian). */
static const guint8 efi_system_partition[16] = {0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
						0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b};
static const guint8 bios_boot_partition[16] = {0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6f, 0x6e,
					       0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49};

HgFirmware hg_import_guess_firmware(HgBlockBackend *disk)
{
	/* The protective MBR, the GPT header and 128 entries of 128 bytes. */
	g_autofree guint8 *buf = g_malloc0(34 * 512);
	struct iovec iov = {buf, 34 * 512};
	bool esp = false, bios_boot = false;
	guint32 entries, entry_size;
	guint64 entries_lba;

	if (hg_block_size(disk) < 34 * 512 || hg_block_readv(disk, 0, &iov, 1) < 0)
		return HG_FIRMWARE_BIOS;
	if (buf[510] != 0x55 || buf[511] != 0xaa || buf[446 + 4] != 0xee ||
	    memcmp(buf + 512, "EFI PART", 8) != 0)
		return HG_FIRMWARE_BIOS;
	memcpy(&entries_lba, buf + 512 + 72, 8);
	memcpy(&entries, buf + 512 + 80, 4);
	memcpy(&entry_size, buf + 512 + 84, 4);
	entries_lba = GUINT64_FROM_LE(entries_lba);
	entries = GUINT32_FROM_LE(entries);
	entry_size = GUINT32_FROM_LE(entry_size);
	/* Only the usual layout is looked at: entries right after the header. */
	if (entries_lba != 2 || entry_size < 128 || entry_size > 512)
		return HG_FIRMWARE_BIOS;
	for (guint32 i = 0; i < entries && 1024 + (i + 1) * entry_size <= 34 * 512; i++) {
		const guint8 *type = buf + 1024 + i * entry_size;
		esp = esp || memcmp(type, efi_system_partition, 16) == 0;
		bios_boot = bios_boot || memcmp(type, bios_boot_partition, 16) == 0;
	}
	return esp && !bios_boot ? HG_FIRMWARE_UEFI : HG_FIRMWARE_BIOS;
}

/* ---- the VM ---- */

#define IMPORT_MAX_NAME_SUFFIX 99

char *hg_import_vm_name(const char *path, const HgImportOptions *options)
{
	g_autofree char *base = NULL;
	char *dot;

	if (options && options->name)
		return g_strdup(options->name);
	base = g_path_get_basename(path);
	/* "debian-12.qcow2" -> "debian-12"; "disk.raw.xz" -> "disk". */
	dot = strchr(base, '.');
	if (dot && dot != base)
		*dot = '\0';
	return g_steal_pointer(&base);
}

bool hg_import_check_name(HgVmLibrary *lib, const char *name, GError **error)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new(name);

	return hg_vm_config_validate(config, error) &&
	       hg_vm_library_name_is_free(lib, name, NULL, error);
}

char *hg_import_choose_name(HgVmLibrary *lib, const char *name, const HgImportOptions *options,
			    GError **error)
{
	g_autoptr(GError) local = NULL;

	if (hg_import_check_name(lib, name, &local))
		return g_strdup(name);
	/* "debian-12" taken: "debian-12 2", "debian-12 3", ... */
	for (unsigned n = 2; options && options->unique_name && n <= IMPORT_MAX_NAME_SUFFIX &&
			     g_error_matches(local, HG_VM_ERROR, HG_VM_ERROR_EXISTS);
	     n++) {
		g_autofree char *numbered = g_strdup_printf("%s %u", name, n);
		g_clear_error(&local);
		if (hg_import_check_name(lib, numbered, &local))
			return g_steal_pointer(&numbered);
	}
	g_propagate_error(error, g_steal_pointer(&local));
	return NULL;
}

char *hg_import_make_staging(HgVmLibrary *lib, GError **error)
{
	return hg_vm_library_make_hidden(lib, ".new", error);
}

void hg_import_remove_staging(const char *staging)
{
	hg_vm_remove_tree(staging, NULL);
}

/* Within what a VM here may have: an appliance may ask for anything. */
static void apply_hints(HgVmConfig *config, const HgImportHints *hints)
{
	if (hints->cpus)
		config->cpus = CLAMP(hints->cpus, 1, HG_VM_CPUS_MAX);
	if (hints->memory_mib)
		config->memory_mib = (unsigned)CLAMP(hints->memory_mib, HG_VM_MEMORY_MIN_MIB,
						     HG_VM_MEMORY_MAX_MIB);
	if (hints->efi)
		config->firmware = HG_FIRMWARE_UEFI;
	if (hints->os && hints->os->known) {
		g_free(config->os_id);
		g_free(config->os_name);
		config->os_id = g_strdup(hints->os->short_id);
		config->os_name = g_strdup(hints->os->name);
	}
}

HgVmEntry *hg_import_publish(HgVmLibrary *lib, const char *staging, const char *name,
			     GPtrArray *disks, const char *const *formats,
			     const HgImportHints *hints, GError **error)
{
	g_autoptr(HgVmConfig) config = hg_vm_config_new(name);
	g_autofree char *json = g_build_filename(staging, "vm.json", NULL);
	g_autofree char *id = NULL;
	HgVmEntry *entry;

	config->memory_mib = IMPORT_MEMORY_MIB;
	config->cpus = IMPORT_CPUS;
	for (guint i = 0; i < disks->len; i++) {
		const char *path = g_ptr_array_index(disks, i);
		HgVmDisk *disk =
			hg_vm_config_add_disk(config, path, HG_DISK_BUS_SATA, HG_DISK_MEDIA_DISK);
		hg_vm_disk_set_format(disk, formats ? formats[i] : "qcow2");
		if (i == 0) {
			g_autofree char *full = g_path_is_absolute(path)
							? g_strdup(path)
							: g_build_filename(staging, path, NULL);
			HgBlockBackend *blk = hg_block_open_format(full, disk->format, true, NULL);
			disk->boot_index = 0;
			if (blk) {
				config->firmware = hg_import_guess_firmware(blk);
				hg_block_close(blk);
			}
		}
	}
	if (hints)
		apply_hints(config, hints);
	if (!hg_vm_config_save(config, json, error))
		return NULL;
	id = hg_vm_library_publish(lib, staging, name, error);
	if (!id)
		return NULL;
	entry = g_new0(HgVmEntry, 1);
	entry->id = g_steal_pointer(&id);
	entry->dir = g_build_filename(hg_vm_library_root(lib), "vms", entry->id, NULL);
	entry->config = g_steal_pointer(&config);
	return entry;
}

/* ---- a disk image becomes a VM ---- */

void hg_import_note(const HgImportOptions *options, const char *format, ...)
{
	va_list ap;

	if (!options || !options->notes)
		return;
	va_start(ap, format);
	g_ptr_array_add(options->notes, g_strdup_vprintf(format, ap));
	va_end(ap);
}

bool hg_import_convert_failed(GError **error, GError *local)
{
	if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_propagate_error(error, local);
		return false;
	}
	g_set_error(error, HG_VM_ERROR,
		    g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ? HG_VM_ERROR_IO
									    : HG_VM_ERROR_INVALID,
		    "%s", local->message);
	g_error_free(local);
	return false;
}

/* An image from elsewhere may name any host file as its backing file, and
 * its copy would then carry that file's content into the guest (an SSH
 * key, say).  Only backing files beside the image, or below its folder,
 * are followed, as a set of images shipped together has them. */
bool hg_import_backing_file_acceptable(const char *path, GError **error)
{
	g_autofree char *absolute = g_canonicalize_filename(path, NULL);
	g_autofree char *dir = g_path_get_dirname(absolute);
	g_autofree char *prefix = g_strconcat(dir, "/", NULL);
	g_autoptr(GError) local = NULL;
	g_autofree char *backing = hg_block_read_backing_path(absolute, &local);
	g_autofree char *resolved = NULL;

	if (local) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s", local->message);
		return false;
	}
	if (!backing)
		return true;
	resolved = g_canonicalize_filename(backing, NULL);
	if (g_str_has_prefix(resolved, prefix))
		return true;
	g_autofree char *why = g_strdup_printf(
		"it names %s as its backing file, outside its own folder: refused, since an "
		"image from elsewhere could read host files that way",
		backing);
	return import_error(error, HG_VM_ERROR_UNSUPPORTED, path, why);
}

/* The disk in the staging folder, as the mode says; returns the path the
 * configuration names (relative, or the image itself). */
static char *import_disk(const char *path, const char *format, HgImportMode mode,
			 const char *staging, HgBlockBackend *src, GCancellable *cancellable,
			 HgBlockProgressFunc progress, gpointer user_data, GError **error)
{
	g_autofree char *target = g_build_filename(staging, IMPORT_DISK_NAME, NULL);
	g_autofree char *absolute = g_canonicalize_filename(path, NULL);
	g_autoptr(GError) local = NULL;
	bool writable_format = strcmp(format, "raw") == 0 || strcmp(format, "qcow2") == 0;

	if (mode != HG_IMPORT_COPY && !writable_format) {
		/* The image layer's names are QEMU's; "vpc" is VHD to a user. */
		g_autofree char *shown =
			strcmp(format, "vpc") == 0 ? g_strdup("VHD") : g_ascii_strup(format, -1);
		g_autofree char *why = g_strdup_printf(
			"a %s image can only be copied (it is converted to qcow2)", shown);
		import_error(error, HG_VM_ERROR_UNSUPPORTED, path, why);
		return NULL;
	}
	switch (mode) {
	case HG_IMPORT_IN_PLACE:
		if (strchr(absolute, ',')) {
			import_error(error, HG_VM_ERROR_INVALID, path,
				     "an image used in place cannot have a ',' in its path");
			return NULL;
		}
		return g_steal_pointer(&absolute);
	case HG_IMPORT_OVERLAY:
		if (!hg_block_create_qcow2(target, 0, absolute, 16, &local))
			break;
		return g_strdup(IMPORT_DISK_NAME);
	case HG_IMPORT_COPY:
		if (!hg_block_convert(src, target, HG_BLOCK_FORMAT_QCOW2, cancellable, progress,
				      user_data, &local))
			break;
		return g_strdup(IMPORT_DISK_NAME);
	}
	hg_import_convert_failed(error, g_steal_pointer(&local));
	return NULL;
}

HgVmEntry *hg_import_disk_image(HgVmLibrary *lib, const char *path, const HgImportOptions *options,
				GCancellable *cancellable, HgBlockProgressFunc progress,
				gpointer user_data, GError **error)
{
	g_autofree char *format = NULL, *name = NULL, *staging = NULL, *disk_path = NULL;
	g_autofree char *base_name = NULL;
	g_autoptr(GPtrArray) disks = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) local = NULL;
	HgBlockBackend *src;
	HgImportKind kind;
	HgVmEntry *entry = NULL;

	if (!hg_import_identify(path, &kind, &format, error))
		return NULL;
	if (kind == HG_IMPORT_KIND_ISO) {
		import_error(error, HG_VM_ERROR_UNSUPPORTED, path,
			     "an installer ISO: create a VM that boots from it instead");
		return NULL;
	}
	if (kind == HG_IMPORT_KIND_ARCHIVE || kind == HG_IMPORT_KIND_COMPRESSED)
		return hg_import_archive(lib, path, kind, options, cancellable, progress, user_data,
					 error);
	if (kind == HG_IMPORT_KIND_OVF)
		return hg_import_ovf_folder(lib, path, options, cancellable, progress, user_data,
					    error);
	base_name = hg_import_vm_name(path, options);
	name = hg_import_choose_name(lib, base_name, options, error);
	if (!name || !hg_import_backing_file_acceptable(path, error))
		return NULL;
	src = hg_block_open(path, true, &local);
	if (!src) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s", local->message);
		return NULL;
	}
	staging = hg_import_make_staging(lib, error);
	if (staging)
		disk_path = import_disk(path, format, options ? options->mode : HG_IMPORT_COPY,
					staging, src, cancellable, progress, user_data, error);
	hg_block_close(src);
	if (disk_path) {
		/* Used in place, the image keeps the format found above; the
		 * overlay or copy the import made is qcow2. */
		const char *formats[] = {options && options->mode == HG_IMPORT_IN_PLACE ? format
											: "qcow2"};
		g_ptr_array_add(disks, g_steal_pointer(&disk_path));
		entry = hg_import_publish(lib, staging, name, disks, formats, NULL, error);
	}
	if (!entry && staging)
		hg_import_remove_staging(staging);
	return entry;
}

/* Importing compressed images and archives, streamed (import_private.h).
 *
 * libarchive reads the file front to back (archive_reader.c): a compressed
 * single image (gzip, xz, zstd, bzip2), a tar or zip entry by entry.  An
 * archive whose first file is an OVF descriptor is an OVA (import_ova.c).
 * Otherwise every entry that is a disk (a raw image, a streamOptimized
 * VMDK) goes straight into a growing qcow2 in the new VM's staging folder,
 * in archive order; small files (a README, a manifest) are passed over.
 * Nothing is unpacked to a temporary copy first. */
#include <string.h>
#include <sys/statvfs.h>

#include "library/import/archive_reader.h"
#include "library/import/import_private.h"
#include "library/import/stream_disk.h"

/* An entry smaller than this is not a disk (a README, a manifest). */
#define MIN_DISK_ENTRY (64u << 10)

char *hg_import_disk_file_name(guint n)
{
	return n == 0 ? g_strdup("disk.qcow2") : g_strdup_printf("disk-%u.qcow2", n + 1);
}

/* Whether the current entry is worth reading as a disk: small files and
 * files that are not whole sectors are not raw disks (unless their size
 * is not known yet, as in a compressed stream). */
static bool entry_may_be_disk(HgArchiveReader *r)
{
	gint64 size = hg_archive_reader_size(r);
	const char *format;

	/* A disk format is a disk (refused if it cannot be streamed). */
	if (hg_archive_reader_classify(r, &format) != HG_ARCHIVE_ENTRY_RAW)
		return true;
	return size < 0 || (size >= MIN_DISK_ENTRY && size % 512 == 0);
}

/* Every disk from the current entry on, to staging in order. */
static bool read_disks(HgArchiveReader *r, const char *staging, GPtrArray *disks, GError **error)
{
	int more = 1;

	for (; more > 0; more = hg_archive_reader_next(r, error)) {
		const char *format;
		bool not_a_disk;

		if (hg_archive_reader_classify(r, &format) == HG_ARCHIVE_ENTRY_OVF)
			return hg_archive_reader_fail(
				r, error,
				"an OVF descriptor that is not the archive's first file "
				"(in an OVA it comes first)");
		if (!entry_may_be_disk(r))
			continue;
		if (disks->len == HG_IMPORT_MAX_DISKS)
			return hg_archive_reader_fail(
				r, error, "one disk too many (a VM has at most %u here)",
				HG_IMPORT_MAX_DISKS);
		g_autofree char *name = hg_import_disk_file_name(disks->len);
		g_autofree char *target = g_build_filename(staging, name, NULL);
		if (!hg_archive_reader_write_disk(r, target, HG_STREAM_DISK_MAX, MIN_DISK_ENTRY,
						  &not_a_disk, error))
			return false;
		if (not_a_disk && r->single)
			return hg_archive_reader_fail(
				r, error,
				"what it holds is not a disk image (too small, or not a whole "
				"number of 512-byte sectors)");
		if (!not_a_disk)
			g_ptr_array_add(disks, g_steal_pointer(&name));
	}
	if (more < 0)
		return false;
	if (disks->len == 0) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s: no disk image in it",
			    r->base);
		return false;
	}
	return true;
}

/* The disks will take at least what the file does (data compresses); the
 * rest is watched while they are written (stream_disk.c). */
static bool check_space(HgVmLibrary *lib, HgArchiveReader *r, GError **error)
{
	struct statvfs fs;
	guint64 available;

	if (statvfs(hg_vm_library_root(lib), &fs) < 0)
		return true;
	available = (guint64)fs.f_bavail * fs.f_frsize;
	if (available >= r->file_size)
		return true;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
		    "%s: not enough free space in %s (%" G_GUINT64_FORMAT " MiB free, at least "
		    "%" G_GUINT64_FORMAT " MiB needed)",
		    r->base, hg_vm_library_root(lib), available >> 20, r->file_size >> 20);
	return false;
}

HgVmEntry *hg_import_archive(HgVmLibrary *lib, const char *path, HgImportKind kind,
			     const HgImportOptions *options, GCancellable *cancellable,
			     HgBlockProgressFunc progress, gpointer user_data, GError **error)
{
	g_autoptr(GPtrArray) disks = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *name = NULL;
	g_autofree char *staging = NULL;
	HgImportHints hints = {0};
	HgArchiveReader r;
	HgVmEntry *entry = NULL;
	const char *format;
	bool ova, read;
	int first;

	if (options && options->mode != HG_IMPORT_COPY) {
		g_autofree char *base = g_path_get_basename(path);
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED,
			    "%s: a disk in an archive or a compressed file can only be copied",
			    base);
		return NULL;
	}
	if (!hg_archive_reader_open(&r, path, kind, cancellable, progress, user_data, error) ||
	    !check_space(lib, &r, error))
		goto out;
	first = hg_archive_reader_next(&r, error);
	if (first < 0)
		goto out;
	if (first == 0) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s: the archive is empty",
			    r.base);
		goto out;
	}
	ova = !r.single && hg_archive_reader_classify(&r, &format) == HG_ARCHIVE_ENTRY_OVF;
	if (!ova) {
		g_autofree char *base_name = hg_import_vm_name(path, options);
		name = hg_import_choose_name(lib, base_name, options, error);
		if (!name)
			goto out;
	}
	staging = hg_import_make_staging(lib, error);
	if (!staging)
		goto out;
	read = ova ? hg_import_ova(lib, &r, options, staging, disks, &name, &hints, error)
		   : read_disks(&r, staging, disks, error);
	if (read)
		entry = hg_import_publish(lib, staging, name, disks, NULL, &hints, error);
	if (!entry)
		hg_import_remove_staging(staging);
out:
	if (hints.os)
		hg_os_guess_free(hints.os);
	hg_archive_reader_close(&r);
	return entry;
}

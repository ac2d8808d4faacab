/* An OVF descriptor with its disk images beside it becomes a VM
 * (import_private.h): what ovftool and VMware write when not asked for an
 * OVA.  The files are in the descriptor's folder (its hrefs are plain
 * names, ovf.c), so each disk is opened by the image layer (any format it
 * reads: VMDK streamOptimized or sparse, raw, ...) and copied to qcow2 in
 * the staging folder, checked like any imported image; one the descriptor
 * marks compressed is streamed through libarchive, as in an OVA. */
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "library/block/block.h"
#include "library/import/archive_reader.h"
#include "library/import/import_private.h"
#include "library/import/ovf.h"

static HgOvf *read_descriptor(const char *path, GError **error)
{
	g_autofree char *xml = NULL;
	g_autofree char *base = g_path_get_basename(path);
	GError *local = NULL;
	GStatBuf st;
	gsize length;
	HgOvf *ovf;

	if (g_stat(path, &st) == 0 && st.st_size > HG_OVF_MAX_BYTES) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "%s: an OVF descriptor of more than %u MiB", base,
			    HG_OVF_MAX_BYTES >> 20);
		return NULL;
	}
	if (!g_file_get_contents(path, &xml, &length, &local)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "%s", local->message);
		g_error_free(local);
		return NULL;
	}
	ovf = hg_ovf_parse(xml, length, &local);
	if (!ovf) {
		g_set_error(error, local->domain, local->code, "%s: %s", base, local->message);
		g_error_free(local);
	}
	return ovf;
}

/* Progress over all the disks: each convert reports its own. */
typedef struct {
	HgBlockProgressFunc progress;
	gpointer user_data;
	guint64 before, total;
} Progress;

static void disk_progress(guint64 done, guint64 total, gpointer user_data)
{
	Progress *p = user_data;

	if (p->progress)
		p->progress(p->before + done, p->total, p->user_data);
}

/* Is the disk's file where the descriptor says?  (Size for progress.) */
static bool file_present(const char *dir, const HgOvfDisk *disk, guint64 *size, GError **error)
{
	g_autofree char *path = g_build_filename(dir, disk->file->href, NULL);
	GStatBuf st;

	if (g_stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		*size = st.st_size;
		return true;
	}
	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
		    "the OVF descriptor references \"%s\", which is not in its folder (or not a "
		    "file)",
		    disk->file->href);
	return false;
}

/* A file the descriptor marks compressed (ovf:compression): decompressed
 * as a stream, as in an OVA. */
static bool stream_compressed_disk(const char *dir, const HgOvfDisk *disk, const char *target,
				   GCancellable *cancellable, Progress *progress, GError **error)
{
	g_autofree char *path = g_build_filename(dir, disk->file->href, NULL);
	HgArchiveReader r;
	bool not_a_disk = false;
	bool written = hg_archive_reader_open(&r, path, HG_IMPORT_KIND_COMPRESSED, cancellable,
					      disk_progress, progress, error);

	if (written && archive_filter_code(r.a, 0) == ARCHIVE_FILTER_NONE)
		written = hg_archive_reader_fail(&r, error,
						 "not compressed, though the OVF says it is");
	written = written && hg_archive_reader_next(&r, error) > 0 &&
		  hg_archive_reader_write_disk(&r, target, hg_import_ovf_disk_max_bytes(disk), 512,
					       &not_a_disk, error);
	if (written && not_a_disk)
		written = hg_archive_reader_fail(&r, error, "not a disk image (not whole sectors)");
	hg_archive_reader_close(&r);
	return written;
}

static HgBlockBackend *open_disk(const char *dir, const HgOvfDisk *disk, GError **error)
{
	g_autofree char *path = g_build_filename(dir, disk->file->href, NULL);
	g_autoptr(GError) local = NULL;
	HgBlockBackend *blk;

	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "the OVF descriptor references \"%s\", which is not in its folder "
			    "(or not a file)",
			    disk->file->href);
		return NULL;
	}
	if (!hg_import_backing_file_acceptable(path, error))
		return NULL;
	blk = hg_block_open(path, true, &local);
	if (!blk)
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s", local->message);
	return blk;
}

/* Each disk to staging as disk.qcow2, disk-2.qcow2, ... */
static bool copy_disks(const char *dir, const HgOvf *ovf, const char *staging, GPtrArray *disks,
		       GCancellable *cancellable, Progress *progress, GError **error)
{
	g_autoptr(GPtrArray) sources =
		g_ptr_array_new_with_free_func((GDestroyNotify)hg_block_close);
	g_autoptr(GError) local = NULL;

	g_autofree guint64 *work = g_new0(guint64, ovf->disks->len);

	/* All looked at first: a missing or broken one fails before any copy.
	 * Progress counts an image's virtual size, a compressed file's size. */
	for (guint i = 0; i < ovf->disks->len; i++) {
		const HgOvfDisk *disk = g_ptr_array_index(ovf->disks, i);
		HgBlockBackend *blk = NULL;
		if (disk->file && disk->file->compression) {
			if (!file_present(dir, disk, &work[i], error))
				return false;
		} else if (disk->file) {
			if (!(blk = open_disk(dir, disk, error)))
				return false;
			work[i] = hg_block_size(blk);
		}
		g_ptr_array_add(sources, blk);
		progress->total += work[i];
	}
	for (guint i = 0; i < ovf->disks->len; i++) {
		const HgOvfDisk *disk = g_ptr_array_index(ovf->disks, i);
		HgBlockBackend *blk = g_ptr_array_index(sources, i);
		g_autofree char *name = hg_import_disk_file_name(i);
		g_autofree char *target = g_build_filename(staging, name, NULL);
		if (!disk->file) {
			if (!hg_import_make_empty_disk(disk, target, error))
				return false;
		} else if (!blk) {
			if (!stream_compressed_disk(dir, disk, target, cancellable, progress,
						    error))
				return false;
		} else if (!hg_block_convert(blk, target, HG_BLOCK_FORMAT_QCOW2, cancellable,
					     disk_progress, progress, &local)) {
			return hg_import_convert_failed(error, g_steal_pointer(&local));
		}
		progress->before += work[i];
		g_ptr_array_add(disks, g_steal_pointer(&name));
	}
	return true;
}

HgVmEntry *hg_import_ovf_folder(HgVmLibrary *lib, const char *path, const HgImportOptions *options,
				GCancellable *cancellable, HgBlockProgressFunc progress,
				gpointer user_data, GError **error)
{
	g_autoptr(HgOvf) ovf = read_descriptor(path, error);
	g_autoptr(GPtrArray) disks = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *name = NULL, *staging = NULL;
	Progress p = {progress, user_data, 0, 0};
	HgImportHints hints = {0};
	HgVmEntry *entry = NULL;

	if (!ovf)
		return NULL;
	if (options && options->mode != HG_IMPORT_COPY) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED,
			    "%s: an appliance's disks can only be copied", base);
		return NULL;
	}
	if (!hg_import_ovf_disks_acceptable(ovf, base, error))
		return NULL;
	name = hg_import_name_from_ovf(lib, path, options, ovf, error);
	if (!name)
		return NULL;
	staging = hg_import_make_staging(lib, error);
	if (!staging)
		return NULL;
	if (copy_disks(dir, ovf, staging, disks, cancellable, &p, error)) {
		hg_import_hints_from_ovf(ovf, &hints);
		entry = hg_import_publish(lib, staging, name, disks, NULL, &hints, error);
		if (hints.os)
			hg_os_guess_free(hints.os);
	}
	if (!entry)
		hg_import_remove_staging(staging);
	return entry;
}

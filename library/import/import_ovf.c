/* An OVF descriptor with its disk images beside it becomes a VM
 * (import_private.h): what ovftool and VMware write when not asked for an
 * OVA.  The files are in the descriptor's folder (its hrefs are plain
 * names, ovf.c), so each disk is opened by the image layer (any format it
 * reads: VMDK streamOptimized or sparse, raw, ...) and copied to qcow2 in
 * the staging folder, checked like any imported image; one the descriptor
 * marks compressed is streamed through libarchive, as in an OVA.  A
 * manifest beside the descriptor is checked: each file it lists is read
 * for its digest on another thread while it is converted. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <string.h>

#include "library/block/block.h"
#include "library/import/archive_reader.h"
#include "library/import/import_private.h"
#include "library/import/ova_manifest.h"
#include "library/import/ovf.h"

static HgOvf *read_descriptor(const char *path, GBytes **bytes, GError **error)
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
		return NULL;
	}
	*bytes = g_bytes_new_take(g_steal_pointer(&xml), length);
	return ovf;
}

/* The manifest beside the descriptor ("web.ovf" -> "web.mf"), if any; the
 * descriptor checked against it at once.  *manifest NULL: none. */
static bool read_manifest(const char *path, GBytes *xml, HgOvaManifest **manifest, GError **error)
{
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *stem =
		g_strndup(path, strlen(path) - (g_str_has_suffix(path, ".ovf") ? 4 : 0));
	g_autofree char *mf = g_strconcat(stem, ".mf", NULL);
	g_autofree char *text = NULL;
	GError *local = NULL;
	GChecksumType type;
	const char *want;
	GStatBuf st;
	gsize length;

	*manifest = NULL;
	if (g_stat(mf, &st) != 0)
		return true;
	if (!S_ISREG(st.st_mode) || st.st_size > HG_OVA_MANIFEST_MAX_BYTES ||
	    !g_file_get_contents(mf, &text, &length, NULL)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "%s: its manifest cannot be read (not a file, or too large)", base);
		return false;
	}
	*manifest = hg_ova_manifest_parse(text, length, &local);
	if (!*manifest) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s: %s", base,
			    local->message);
		g_error_free(local);
		return false;
	}
	if (hg_ova_manifest_lookup(*manifest, base, &type, &want)) {
		gsize size;
		const guint8 *data = g_bytes_get_data(xml, &size);
		g_autofree char *hex = g_compute_checksum_for_data(type, data, size);
		if (g_ascii_strcasecmp(hex, want) != 0) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
				    "%s: its content does not match the manifest's digest (damaged "
				    "or altered?)",
				    base);
			return false;
		}
	}
	return true;
}

/* A file's digest, read on its own thread while the disk is converted. */
typedef struct {
	char *path;
	GChecksumType type;
	GThread *thread;
} FileDigest;

static gpointer file_digest_run(gpointer data)
{
	FileDigest *d = data;
	g_autoptr(GChecksum) checksum = g_checksum_new(d->type);
	g_autofree guint8 *buffer = g_malloc(1 << 20);
	int fd = g_open(d->path, O_RDONLY | O_CLOEXEC, 0);
	ssize_t n = -1;

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buffer, 1 << 20)) > 0)
		g_checksum_update(checksum, buffer, n);
	close(fd);
	return n == 0 ? g_strdup(g_checksum_get_string(checksum)) : NULL;
}

static FileDigest *file_digest_start(const char *path, GChecksumType type)
{
	FileDigest *d = g_new0(FileDigest, 1);

	d->path = g_strdup(path);
	d->type = type;
	d->thread = g_thread_new("hangar-digest", file_digest_run, d);
	return d;
}

/* Waits for the digest: does it match want? */
static bool file_digest_matches(FileDigest *d, const char *want)
{
	g_autofree char *hex = g_thread_join(d->thread);
	bool matches = hex && g_ascii_strcasecmp(hex, want) == 0;

	g_free(d->path);
	g_free(d);
	return matches;
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
static bool copy_disk(const char *dir, const HgOvfDisk *disk, HgBlockBackend *blk,
		      const char *target, GCancellable *cancellable, Progress *progress,
		      GError **error)
{
	g_autoptr(GError) local = NULL;

	if (!disk->file)
		return hg_import_make_empty_disk(disk, target, error);
	if (!blk)
		return stream_compressed_disk(dir, disk, target, cancellable, progress, error);
	if (!hg_block_convert(blk, target, HG_BLOCK_FORMAT_QCOW2, cancellable, disk_progress,
			      progress, &local))
		return hg_import_convert_failed(error, g_steal_pointer(&local));
	return true;
}

static bool copy_disks(const char *dir, const HgOvf *ovf, const HgOvaManifest *manifest,
		       const char *staging, GPtrArray *disks, GCancellable *cancellable,
		       Progress *progress, GError **error)
{
	g_autoptr(GPtrArray) sources =
		g_ptr_array_new_with_free_func((GDestroyNotify)hg_block_close);

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
		GChecksumType type;
		const char *want = NULL;
		FileDigest *digest = NULL;
		bool copied;

		if (disk->file && manifest &&
		    hg_ova_manifest_lookup(manifest, disk->file->href, &type, &want)) {
			g_autofree char *file = g_build_filename(dir, disk->file->href, NULL);
			digest = file_digest_start(file, type);
		}
		copied = copy_disk(dir, disk, blk, target, cancellable, progress, error);
		if (digest && !file_digest_matches(digest, want) && copied) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
				    "\"%s\": its content does not match the manifest's digest "
				    "(damaged or altered?)",
				    disk->file->href);
			copied = false;
		}
		if (!copied)
			return false;
		progress->before += work[i];
		g_ptr_array_add(disks, g_steal_pointer(&name));
	}
	return true;
}

HgVmEntry *hg_import_ovf_folder(HgVmLibrary *lib, const char *path, const HgImportOptions *options,
				GCancellable *cancellable, HgBlockProgressFunc progress,
				gpointer user_data, GError **error)
{
	g_autoptr(GBytes) xml = NULL;
	g_autoptr(HgOvf) ovf = read_descriptor(path, &xml, error);
	g_autoptr(HgOvaManifest) manifest = NULL;
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
	if (!hg_import_ovf_disks_acceptable(ovf, base, error) ||
	    !read_manifest(path, xml, &manifest, error))
		return NULL;
	name = hg_import_name_from_ovf(lib, path, options, ovf, error);
	if (!name)
		return NULL;
	staging = hg_import_make_staging(lib, error);
	if (!staging)
		return NULL;
	if (copy_disks(dir, ovf, manifest, staging, disks, cancellable, &p, error)) {
		hg_import_hints_from_ovf(ovf, options, &hints);
		entry = hg_import_publish(lib, staging, name, disks, NULL, &hints, error);
		if (hints.os)
			hg_os_guess_free(hints.os);
	}
	if (!entry)
		hg_import_remove_staging(staging);
	return entry;
}

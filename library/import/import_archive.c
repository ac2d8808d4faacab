/* Importing compressed images and archives, streamed (import_private.h).
 *
 * libarchive reads the file front to back: a compressed single image
 * (gzip, xz, zstd, bzip2) through its "raw" format, a tar or zip entry by
 * entry.  Each disk found goes straight into a growing qcow2 in the new
 * VM's staging folder (stream_disk.c): nothing is unpacked to a temporary
 * copy first.  Entry names are only read, never used to write anything;
 * entries with absolute names, ".." or links are still refused by name,
 * since an archive that has them is not one to trust. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "library/import/import_private.h"
#include "library/import/stream_disk.h"

#define PEEK_BYTES 4096u
#define STREAM_READ_BYTES (1u << 20)
/* An entry smaller than this is not a disk (a README, a manifest). */
#define MIN_DISK_ENTRY (64u << 10)
#define MAX_DISKS 12u

typedef struct {
	struct archive *a;
	bool single; /* a compressed file: one stream, no archive entries */
	const char *path; /* the file imported */
	guint64 file_size;
	GCancellable *cancellable;
	HgBlockProgressFunc progress;
	gpointer user_data;
} Reader;

static bool archive_fail(GError **error, Reader *r, const char *what)
{
	g_autofree char *base = g_path_get_basename(r->path);

	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s: %s: %s", base, what,
		    archive_error_string(r->a) ? archive_error_string(r->a) : "unreadable");
	return false;
}

static bool entry_refused(GError **error, Reader *r, const char *name, const char *why)
{
	g_autofree char *base = g_path_get_basename(r->path);

	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s: the entry \"%s\" %s; refused",
		    base, name, why);
	return false;
}

/* Absolute names, "..", links: refused, whatever they would have been. */
static bool entry_acceptable(Reader *r, struct archive_entry *entry, GError **error)
{
	const char *name = archive_entry_pathname(entry);
	g_auto(GStrv) parts = NULL;

	if (!name || !*name)
		return entry_refused(error, r, "", "has no name");
	if (name[0] == '/')
		return entry_refused(error, r, name, "has an absolute name");
	parts = g_strsplit(name, "/", -1);
	for (char **p = parts; *p; p++)
		if (strcmp(*p, "..") == 0)
			return entry_refused(error, r, name,
					     "leads out of the archive with \"..\"");
	if (archive_entry_hardlink(entry) || archive_entry_symlink(entry) ||
	    archive_entry_filetype(entry) == AE_IFLNK)
		return entry_refused(error, r, name, "is a link");
	return true;
}

static bool archive_refused_not_disk(GError **error, Reader *r)
{
	g_autofree char *base = g_path_get_basename(r->path);

	g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
		    "%s: what it holds is not a disk image (too small, or not a whole number of "
		    "512-byte sectors)",
		    base);
	return false;
}

static void report(Reader *r)
{
	if (r->progress && r->file_size)
		r->progress(MIN((guint64)archive_filter_bytes(r->a, -1), r->file_size),
			    r->file_size, r->user_data);
}

/* The rest of the current entry into disk, with the first bytes already
 * read (head).  Only archive_read_data is used: mixing it with
 * archive_read_data_block drops what the first left in libarchive's
 * buffer.  It also fills the holes of sparse tar entries with zeroes,
 * which the disk then skips. */
static bool stream_entry(Reader *r, HgStreamDisk *disk, const void *head, size_t head_len,
			 GError **error)
{
	g_autofree guint8 *buffer = g_malloc(STREAM_READ_BYTES);
	la_ssize_t n;

	if (head_len && !hg_stream_disk_write(disk, head, head_len, error))
		return false;
	while ((n = archive_read_data(r->a, buffer, STREAM_READ_BYTES)) > 0) {
		if (g_cancellable_set_error_if_cancelled(r->cancellable, error))
			return false;
		if (!hg_stream_disk_write(disk, buffer, (size_t)n, error))
			return false;
		report(r);
	}
	if (n < 0)
		return archive_fail(error, r, "the data cannot be read (truncated or corrupt?)");
	return true;
}

/* The first bytes of the current entry (fewer when it is shorter). */
static gssize peek_entry(Reader *r, guint8 *head, GError **error)
{
	gssize got = 0;

	while (got < PEEK_BYTES) {
		la_ssize_t n = archive_read_data(r->a, head + got, PEEK_BYTES - got);
		if (n < 0) {
			archive_fail(error, r, "the data cannot be read (truncated or corrupt?)");
			return -1;
		}
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

/* What an entry holds: a raw disk to stream, something to refuse, or
 * something to skip (small files, text). */
typedef enum { ENTRY_SKIP, ENTRY_RAW_DISK, ENTRY_REFUSED } EntryKind;

static EntryKind classify(struct archive_entry *entry, const guint8 *head, gssize len,
			  const char **why)
{
	const char *format = hg_import_disk_magic(head, (gsize)len);
	la_int64_t size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : -1;
	const char *name = archive_entry_pathname(entry);

	if (format) {
		*why = format;
		return ENTRY_REFUSED;
	}
	if (name &&
	    (g_str_has_suffix(name, ".ovf") || (len > 5 && memmem(head, len, "<Envelope", 9)))) {
		*why = "OVF";
		return ENTRY_REFUSED;
	}
	if (size >= 0 && (size < MIN_DISK_ENTRY || size % 512))
		return ENTRY_SKIP;
	return ENTRY_RAW_DISK;
}

static char *disk_file_name(guint n)
{
	return n == 0 ? g_strdup("disk.qcow2") : g_strdup_printf("disk-%u.qcow2", n + 1);
}

/* Reads every entry; raw disks go to staging, in order. */
static bool read_entries(Reader *r, const char *staging, GPtrArray *disks, GError **error)
{
	struct archive_entry *entry;
	guint8 head[PEEK_BYTES];
	int status;

	while ((status = archive_read_next_header(r->a, &entry)) == ARCHIVE_OK) {
		const char *why = NULL;
		gssize len;

		r->single = archive_format(r->a) == ARCHIVE_FORMAT_RAW;

		if (g_cancellable_set_error_if_cancelled(r->cancellable, error))
			return false;
		if (!entry_acceptable(r, entry, error))
			return false;
		if (archive_entry_filetype(entry) != AE_IFREG)
			continue;
		len = peek_entry(r, head, error);
		if (len < 0)
			return false;
		switch (classify(entry, head, len, &why)) {
		case ENTRY_SKIP:
			continue;
		case ENTRY_REFUSED: {
			g_autofree char *base = g_path_get_basename(r->path);
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED,
				    "%s: \"%s\" is %s %s, which cannot be imported from an archive "
				    "or a compressed file yet",
				    base, archive_entry_pathname(entry),
				    strcmp(why, "OVF") == 0 ? "an" : "a", why);
			return false;
		}
		case ENTRY_RAW_DISK:
			break;
		}
		if (disks->len == MAX_DISKS)
			return entry_refused(error, r, archive_entry_pathname(entry),
					     "is one disk too many (a VM has at most 12 here)");
		g_autofree char *name = disk_file_name(disks->len);
		g_autofree char *target = g_build_filename(staging, name, NULL);
		HgStreamDisk *disk = hg_stream_disk_new(target, HG_STREAM_DISK_MAX, error);
		if (!disk)
			return false;
		if (!stream_entry(r, disk, head, (size_t)len, error)) {
			hg_stream_disk_abort(disk);
			return false;
		}
		/* A compressed stream says its size only at the end: a text file
		 * packed with gzip is not a disk either. */
		if (hg_stream_disk_length(disk) < MIN_DISK_ENTRY ||
		    hg_stream_disk_length(disk) % 512) {
			hg_stream_disk_abort(disk);
			if (r->single)
				return archive_refused_not_disk(error, r);
			continue;
		}
		if (!hg_stream_disk_finish(disk, error))
			return false;
		g_ptr_array_add(disks, g_steal_pointer(&name));
	}
	if (status != ARCHIVE_EOF)
		return archive_fail(error, r, "the archive cannot be read (truncated or corrupt?)");
	if (disks->len == 0) {
		g_autofree char *base = g_path_get_basename(r->path);
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s: no disk image in it",
			    base);
		return false;
	}
	return true;
}

HgVmEntry *hg_import_archive(HgVmLibrary *lib, const char *path, HgImportKind kind,
			     const HgImportOptions *options, GCancellable *cancellable,
			     HgBlockProgressFunc progress, gpointer user_data, GError **error)
{
	g_autoptr(GPtrArray) disks = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *name = hg_import_vm_name(path, options);
	g_autofree char *staging = NULL;
	Reader r = {.path = path,
		    .cancellable = cancellable,
		    .progress = progress,
		    .user_data = user_data};
	GStatBuf st;
	HgVmEntry *entry = NULL;
	int fd;

	if (options && options->mode != HG_IMPORT_COPY) {
		g_autofree char *base = g_path_get_basename(path);
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_UNSUPPORTED,
			    "%s: a disk in an archive or a compressed file can only be copied",
			    base);
		return NULL;
	}
	if (!hg_import_check_name(lib, name, error))
		return NULL;
	fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0 || fstat(fd, &st) < 0) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot open %s: %s", path,
			    g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	r.file_size = st.st_size;
	r.a = archive_read_new();
	archive_read_support_filter_all(r.a);
	archive_read_support_format_tar(r.a);
	archive_read_support_format_zip_streamable(r.a);
	/* A compressed file that is not a tar (.tar.gz) is one stream,
	 * whatever it holds: libarchive's "raw" format, which bids lowest. */
	if (kind == HG_IMPORT_KIND_COMPRESSED)
		archive_read_support_format_raw(r.a);
	if (archive_read_open_fd(r.a, fd, 64 << 10) != ARCHIVE_OK) {
		archive_fail(error, &r, "cannot be opened");
		goto out;
	}
	/* The magic said compressed, yet no decompressor took it: its header
	 * is cut short or damaged (the raw format would pass it on as is). */
	if (kind == HG_IMPORT_KIND_COMPRESSED &&
	    archive_filter_code(r.a, 0) == ARCHIVE_FILTER_NONE) {
		g_autofree char *base = g_path_get_basename(path);
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "%s: the compressed file's header is truncated or corrupt", base);
		goto out;
	}
	staging = hg_import_make_staging(lib, error);
	if (!staging)
		goto out;
	if (read_entries(&r, staging, disks, error))
		entry = hg_import_publish(lib, staging, name, disks, error);
	if (!entry)
		hg_import_remove_staging(staging);
out:
	archive_read_free(r.a);
	close(fd);
	return entry;
}

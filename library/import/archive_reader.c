/* Archives and compressed files read front to back (archive_reader.h).
 *
 * Only archive_read_data is used: mixing it with archive_read_data_block
 * drops what the first left in libarchive's buffer.  It also fills the
 * holes of sparse tar entries with zeroes, which the disk then skips. */
#include "library/import/archive_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "library/import/digest_thread.h"
#include "library/import/import_private.h"
#include "library/import/stream_disk.h"
#include "library/import/stream_vmdk.h"

#define STREAM_READ_BYTES (1u << 20)

bool hg_archive_reader_fail(HgArchiveReader *r, GError **error, const char *format, ...)
{
	g_autofree char *what = NULL;
	va_list ap;

	va_start(ap, format);
	what = g_strdup_vprintf(format, ap);
	va_end(ap);
	if (r->entry && !r->single)
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s: \"%s\": %s", r->base,
			    hg_archive_reader_name(r), what);
	else
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID, "%s: %s", r->base, what);
	return false;
}

static bool libarchive_fail(HgArchiveReader *r, GError **error, const char *what)
{
	const char *detail = archive_error_string(r->a);

	return hg_archive_reader_fail(r, error, "%s: %s", what, detail ? detail : "unreadable");
}

/* libarchive on r->fd, read from its start. */
static bool open_archive(HgArchiveReader *r, GError **error)
{
	if (lseek(r->fd, 0, SEEK_SET) < 0) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot read %s: %s", r->path,
			    g_strerror(errno));
		return false;
	}
	r->a = archive_read_new();
	archive_read_support_filter_all(r->a);
	if (!r->raw_only) {
		archive_read_support_format_tar(r->a);
		archive_read_support_format_zip_streamable(r->a);
	}
	/* A compressed file that is not a tar (.tar.gz) is one stream,
	 * whatever it holds: libarchive's "raw" format, which bids lowest. */
	if (r->compressed)
		archive_read_support_format_raw(r->a);
	if (archive_read_open_fd(r->a, r->fd, 64 << 10) != ARCHIVE_OK)
		return libarchive_fail(r, error, "cannot be opened");
	/* The magic said compressed, yet no decompressor took it: its header
	 * is cut short or damaged (the raw format would pass it on as is). */
	if (r->compressed && archive_filter_code(r->a, 0) == ARCHIVE_FILTER_NONE)
		return hg_archive_reader_fail(
			r, error, "the compressed file's header is truncated or corrupt");
	return true;
}

bool hg_archive_reader_open(HgArchiveReader *r, const char *path, HgImportKind kind,
			    GCancellable *cancellable, HgBlockProgressFunc progress,
			    gpointer user_data, GError **error)
{
	GStatBuf st;

	*r = (HgArchiveReader){.fd = -1,
			       .path = path,
			       .base = g_path_get_basename(path),
			       .cancellable = cancellable,
			       .progress = progress,
			       .user_data = user_data};
	r->fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (r->fd < 0 || fstat(r->fd, &st) < 0) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_IO, "cannot open %s: %s", path,
			    g_strerror(errno));
		return false;
	}
	r->file_size = st.st_size;
	r->compressed = kind == HG_IMPORT_KIND_COMPRESSED;
	return open_archive(r, error);
}

static gssize read_some(HgArchiveReader *r, void *buffer, gsize length, GError **error);

/* What a nested reader reads: the outer entry's peeked head, then the
 * rest of it. */
struct NestedSource {
	HgArchiveReader *outer;
	gsize head_pos;
	GError *error;
	guint8 buffer[64 << 10];
};

static la_ssize_t nested_read(struct archive *a, void *data, const void **block)
{
	struct NestedSource *src = data;
	HgArchiveReader *outer = src->outer;
	gssize n;

	if (src->head_pos < outer->head_length) {
		*block = outer->head + src->head_pos;
		n = outer->head_length - src->head_pos;
		src->head_pos = outer->head_length;
		return n;
	}
	g_clear_error(&src->error);
	n = read_some(outer, src->buffer, sizeof(src->buffer), &src->error);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", src->error->message);
		return -1;
	}
	*block = src->buffer;
	return n;
}

bool hg_archive_reader_open_nested(HgArchiveReader *inner, HgArchiveReader *outer, const char *what,
				   GError **error)
{
	*inner = (HgArchiveReader){.fd = -1,
				   .path = outer->path,
				   .base = g_strdup_printf("%s: \"%s\"", outer->base, what),
				   .cancellable = outer->cancellable};
	inner->nested = g_new0(struct NestedSource, 1);
	inner->nested->outer = outer;
	inner->a = archive_read_new();
	archive_read_support_filter_all(inner->a);
	archive_read_support_format_raw(inner->a);
	if (archive_read_open(inner->a, inner->nested, NULL, nested_read, NULL) != ARCHIVE_OK) {
		/* An error of the outer archive (cancel, truncation) comes first. */
		if (inner->nested->error) {
			g_propagate_error(error, g_steal_pointer(&inner->nested->error));
			return false;
		}
		return libarchive_fail(inner, error, "cannot be opened");
	}
	if (archive_filter_code(inner->a, 0) == ARCHIVE_FILTER_NONE)
		return hg_archive_reader_fail(inner, error,
					      "not compressed, though the OVF says it is");
	return true;
}

void hg_archive_reader_close(HgArchiveReader *r)
{
	g_clear_pointer(&r->digest, hg_digest_thread_cancel);
	if (r->a)
		archive_read_free(r->a);
	if (r->fd >= 0)
		close(r->fd);
	g_free(r->base);
	if (r->nested)
		g_clear_error(&r->nested->error);
	g_clear_pointer(&r->nested, g_free);
	r->a = NULL;
	r->fd = -1;
	r->base = NULL;
}

const char *hg_archive_reader_name(HgArchiveReader *r)
{
	const char *name = r->entry ? archive_entry_pathname(r->entry) : NULL;

	return name ? name : "";
}

gint64 hg_archive_reader_size(HgArchiveReader *r)
{
	if (r->single || !archive_entry_size_is_set(r->entry))
		return -1;
	return archive_entry_size(r->entry);
}

static bool entry_refused(HgArchiveReader *r, GError **error, const char *why)
{
	return hg_archive_reader_fail(r, error, "%s; refused", why);
}

/* Absolute names, "..", links: refused, whatever they would have been. */
static bool entry_acceptable(HgArchiveReader *r, GError **error)
{
	const char *name = hg_archive_reader_name(r);
	g_auto(GStrv) parts = NULL;

	if (!*name)
		return entry_refused(r, error, "an entry has no name");
	if (name[0] == '/')
		return entry_refused(r, error, "the entry has an absolute name");
	parts = g_strsplit(name, "/", -1);
	for (char **p = parts; *p; p++)
		if (strcmp(*p, "..") == 0)
			return entry_refused(r, error,
					     "the entry leads out of the archive with \"..\"");
	if (archive_entry_hardlink(r->entry) || archive_entry_symlink(r->entry) ||
	    archive_entry_filetype(r->entry) == AE_IFLNK)
		return entry_refused(r, error, "the entry is a link");
	return true;
}

static void report(HgArchiveReader *r)
{
	if (r->progress && r->file_size)
		r->progress(MIN((guint64)archive_filter_bytes(r->a, -1), r->file_size),
			    r->file_size, r->user_data);
}

static gssize read_some(HgArchiveReader *r, void *buffer, gsize length, GError **error)
{
	la_ssize_t n;

	if (g_cancellable_set_error_if_cancelled(r->cancellable, error))
		return -1;
	n = archive_read_data(r->a, buffer, length);
	if (n < 0 && r->nested && r->nested->error) {
		/* The outer archive's own error (cancel, truncation) says more. */
		g_propagate_error(error, g_steal_pointer(&r->nested->error));
		return -1;
	}
	if (n < 0) {
		libarchive_fail(r, error, "the data cannot be read (truncated or corrupt?)");
		return -1;
	}
	if (r->digest && n > 0)
		hg_digest_thread_update(r->digest, buffer, n);
	report(r);
	return n;
}

int hg_archive_reader_next(HgArchiveReader *r, GError **error)
{
	int status;

	for (;;) {
		if (g_cancellable_set_error_if_cancelled(r->cancellable, error))
			return -1;
		status = archive_read_next_header(r->a, &r->entry);
		if (status == ARCHIVE_EOF && r->compressed && !r->raw_only && !r->entry_seen) {
			/* libarchive takes a stream whose first 512 bytes are
			 * zeroes for an empty tar (that is its end mark): a raw
			 * disk that starts so (a file system without a partition
			 * table, a blank disk), compressed.  An empty archive
			 * makes no VM: the file is read again as one stream. */
			archive_read_free(r->a);
			r->a = NULL;
			r->raw_only = true;
			if (!open_archive(r, error))
				return -1;
			continue;
		}
		if (status == ARCHIVE_EOF) {
			r->entry = NULL;
			return 0;
		}
		if (status != ARCHIVE_OK) {
			r->entry = NULL;
			libarchive_fail(r, error,
					"the archive cannot be read (truncated or corrupt?)");
			return -1;
		}
		r->entry_seen = true;
		r->single = archive_format(r->a) == ARCHIVE_FORMAT_RAW;
		if (!entry_acceptable(r, error))
			return -1;
		if (archive_entry_filetype(r->entry) == AE_IFREG)
			break;
	}
	g_clear_pointer(&r->digest, hg_digest_thread_cancel);
	r->head_length = 0;
	while (r->head_length < sizeof(r->head)) {
		gssize n = read_some(r, r->head + r->head_length, sizeof(r->head) - r->head_length,
				     error);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		r->head_length += n;
	}
	return 1;
}

gssize hg_archive_reader_read(HgArchiveReader *r, void *buffer, gsize length, GError **error)
{
	return read_some(r, buffer, length, error);
}

void hg_archive_reader_digest_start(HgArchiveReader *r, GChecksumType type)
{
	g_clear_pointer(&r->digest, hg_digest_thread_cancel);
	r->digest = hg_digest_thread_new(type);
	hg_digest_thread_update(r->digest, r->head, r->head_length);
}

char *hg_archive_reader_digest_finish(HgArchiveReader *r, GError **error)
{
	guint8 buffer[65536];
	gssize n;
	char *hex;

	g_return_val_if_fail(r->digest, NULL);
	while ((n = read_some(r, buffer, sizeof(buffer), error)) > 0)
		;
	if (n < 0)
		return NULL;
	hex = hg_digest_thread_finish(r->digest);
	r->digest = NULL;
	return hex;
}

HgArchiveEntryKind hg_archive_reader_classify(HgArchiveReader *r, const char **format)
{
	const char *name = hg_archive_reader_name(r);

	*format = NULL;
	if (hg_stream_vmdk_detect(r->head, r->head_length))
		return HG_ARCHIVE_ENTRY_STREAM_VMDK;
	*format = hg_import_disk_magic(r->head, r->head_length);
	if (*format)
		return HG_ARCHIVE_ENTRY_OTHER_FORMAT;
	if (g_str_has_suffix(name, ".ovf") ||
	    (r->head_length > 9 && memmem(r->head, r->head_length, "<Envelope", 9)) ||
	    (r->head_length > 9 && memmem(r->head, r->head_length, ":Envelope", 9)))
		return HG_ARCHIVE_ENTRY_OVF;
	return HG_ARCHIVE_ENTRY_RAW;
}

static gssize vmdk_read(gpointer user_data, void *buffer, gsize length, GError **error)
{
	return read_some(user_data, buffer, length, error);
}

/* The stream reader's errors name no file: they get the entry's names,
 * and HG_VM_ERROR codes. */
static bool vmdk_failed(HgArchiveReader *r, GError **error, GError *local)
{
	if (local->domain == G_IO_ERROR &&
	    (local->code == G_IO_ERROR_CANCELLED || local->code == G_IO_ERROR_NO_SPACE)) {
		g_propagate_error(error, local);
		return false;
	}
	if (local->domain == HG_VM_ERROR) {
		g_propagate_error(error, local);
		return false;
	}
	hg_archive_reader_fail(r, error, "%s", local->message);
	if (local->domain == G_IO_ERROR && local->code == G_IO_ERROR_NOT_SUPPORTED)
		(*error)->code = HG_VM_ERROR_UNSUPPORTED;
	g_error_free(local);
	return false;
}

static bool write_raw(HgArchiveReader *r, const char *target, guint64 max_bytes,
		      guint64 min_raw_bytes, bool *not_a_disk, GError **error)
{
	g_autofree guint8 *buffer = g_malloc(STREAM_READ_BYTES);
	HgStreamDisk *disk = hg_stream_disk_new(target, max_bytes, error);
	gssize n;

	if (!disk)
		return false;
	if (r->head_length && !hg_stream_disk_write(disk, r->head, r->head_length, error))
		goto fail;
	while ((n = read_some(r, buffer, STREAM_READ_BYTES, error)) > 0)
		if (!hg_stream_disk_write(disk, buffer, (size_t)n, error))
			goto fail;
	if (n < 0)
		goto fail;
	/* A compressed stream says its size only at the end: a text file
	 * packed with gzip is not a disk either. */
	if (hg_stream_disk_length(disk) < min_raw_bytes || hg_stream_disk_length(disk) % 512) {
		hg_stream_disk_abort(disk);
		*not_a_disk = true;
		return true;
	}
	return hg_stream_disk_finish(disk, error);
fail:
	hg_stream_disk_abort(disk);
	return false;
}

bool hg_archive_reader_write_disk(HgArchiveReader *r, const char *target, guint64 max_bytes,
				  guint64 min_raw_bytes, bool *not_a_disk, GError **error)
{
	const char *format;
	GError *local = NULL;

	*not_a_disk = false;
	switch (hg_archive_reader_classify(r, &format)) {
	case HG_ARCHIVE_ENTRY_STREAM_VMDK:
		if (!hg_stream_vmdk_import(r->head, r->head_length, vmdk_read, r, target, max_bytes,
					   r->cancellable, &local))
			return vmdk_failed(r, error, local);
		return true;
	case HG_ARCHIVE_ENTRY_RAW:
		return write_raw(r, target, max_bytes, min_raw_bytes, not_a_disk, error);
	case HG_ARCHIVE_ENTRY_OTHER_FORMAT:
		hg_archive_reader_fail(r, error,
				       "a %s image, which cannot be imported from an archive or a "
				       "compressed file (only raw disks and streamOptimized VMDKs "
				       "can: extract it first)",
				       format);
		break;
	case HG_ARCHIVE_ENTRY_OVF:
		hg_archive_reader_fail(r, error, "an OVF descriptor where a disk was expected");
		break;
	}
	(*error)->code = HG_VM_ERROR_UNSUPPORTED;
	return false;
}

/* A qcow2 disk that grows as a stream is written into it (stream_disk.h). */
#include "library/import/stream_disk.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "library/block/block.h"

#define STREAM_CLUSTER_BITS 16
#define STREAM_BLOCK (1u << STREAM_CLUSTER_BITS) /* zero detection: a qcow2 cluster */
#define STREAM_BUFFER (1u << 20)
#define STREAM_INITIAL_SIZE (1ull << 30)
/* Free space is looked at every so many bytes written, and a margin kept. */
#define STREAM_SPACE_CHECK_EVERY (256ull << 20)
#define STREAM_SPACE_MARGIN (64ull << 20)

struct HgStreamDisk {
	char *path;
	char *dir;
	HgBlockBackend *blk;
	guint64 max_length; /* writes past it fail: the maximum, or the size set */
	bool size_set; /* the final size is max_length */
	guint8 *buffer; /* the bytes from offset buffered ... */
	size_t buffered; /* ... this many */
	guint64 offset; /* of the buffer's first byte in the disk */
	/* Nothing at or past this was ever written out: it reads as zeroes,
	 * so zero blocks there need not be written. */
	guint64 flushed_end;
	guint64 written_since_check;
};

HgStreamDisk *hg_stream_disk_new(const char *path, guint64 max_length, GError **error)
{
	HgStreamDisk *disk;
	HgBlockBackend *blk;

	if (!hg_block_create_qcow2(path, STREAM_INITIAL_SIZE, NULL, STREAM_CLUSTER_BITS, error))
		return NULL;
	blk = hg_block_open(path, false, error);
	if (!blk) {
		g_unlink(path);
		return NULL;
	}
	disk = g_new0(HgStreamDisk, 1);
	disk->path = g_strdup(path);
	disk->dir = g_path_get_dirname(path);
	disk->blk = blk;
	disk->max_length = MIN(max_length, HG_STREAM_DISK_MAX);
	disk->buffer = g_malloc(STREAM_BUFFER);
	return disk;
}

static bool block_is_zero(const guint8 *p, size_t len)
{
	static const guint8 zeroes[16];

	if (len <= sizeof(zeroes))
		return memcmp(p, zeroes, len) == 0;
	return memcmp(p, zeroes, sizeof(zeroes)) == 0 &&
	       memcmp(p, p + sizeof(zeroes), len - sizeof(zeroes)) == 0;
}

static bool stream_error(GError **error, int err, HgStreamDisk *disk)
{
	g_set_error(error, G_IO_ERROR,
		    err == ENOSPC || err == EFBIG ? G_IO_ERROR_NO_SPACE
						  : g_io_error_from_errno(err),
		    "cannot write %s: %s", disk->path, g_strerror(err));
	return false;
}

/* Stops before the file system is full, not when a write fails there. */
static bool check_space(HgStreamDisk *disk, GError **error)
{
	struct statvfs fs;

	disk->written_since_check = 0;
	if (statvfs(disk->dir, &fs) < 0)
		return true;
	if ((guint64)fs.f_bavail * fs.f_frsize >= STREAM_SPACE_MARGIN)
		return true;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
		    "%s is nearly full: the disk being imported does not fit", disk->dir);
	return false;
}

/* What a block of the buffer needs: to be written, nothing (zeroes where
 * nothing was written yet) or zeroing (zeroes over a range written before). */
typedef enum { BLOCK_DATA, BLOCK_SKIP, BLOCK_ZERO } BlockKind;

/* The buffer's block at pos: its kind and length.  Blocks are aligned in
 * the disk, so that a skipped one is a whole qcow2 cluster when it can be. */
static BlockKind buffer_block(HgStreamDisk *disk, size_t pos, size_t *len)
{
	guint64 at = disk->offset + pos;

	*len = MIN(STREAM_BLOCK - at % STREAM_BLOCK, disk->buffered - pos);
	if (!block_is_zero(disk->buffer + pos, *len))
		return BLOCK_DATA;
	return at >= disk->flushed_end ? BLOCK_SKIP : BLOCK_ZERO;
}

/* Writes the buffer at its offset, block by block (see BlockKind), growing
 * the image first when it goes past its end. */
static bool flush_buffer(HgStreamDisk *disk, GError **error)
{
	guint64 end = disk->offset + disk->buffered;
	size_t pos = 0;

	if (disk->buffered == 0)
		return true;
	if (end > hg_block_size(disk->blk)) {
		guint64 size = hg_block_size(disk->blk);
		while (size < end)
			size *= 2;
		if (!hg_block_resize(disk->blk, MIN(size, HG_STREAM_DISK_MAX), error))
			return false;
	}
	while (pos < disk->buffered) {
		size_t start = pos, n;
		BlockKind kind = buffer_block(disk, pos, &n);
		int r = 0;

		/* The run of blocks of the same kind. */
		for (pos += n; pos < disk->buffered && buffer_block(disk, pos, &n) == kind;)
			pos += n;
		if (kind == BLOCK_DATA) {
			struct iovec iov = {disk->buffer + start, pos - start};
			r = hg_block_writev(disk->blk, disk->offset + start, &iov, 1);
			disk->written_since_check += pos - start;
		} else if (kind == BLOCK_ZERO) {
			r = hg_block_write_zeroes(disk->blk, disk->offset + start, pos - start,
						  true);
		}
		if (r < 0)
			return stream_error(error, -r, disk);
	}
	disk->flushed_end = MAX(disk->flushed_end, end);
	disk->offset = end;
	disk->buffered = 0;
	if (disk->written_since_check >= STREAM_SPACE_CHECK_EVERY)
		return check_space(disk, error);
	return true;
}

/* "16 TiB", "4 MiB", "1000 bytes". */
static char *size_words(guint64 bytes)
{
	static const char *const units[] = {"TiB", "GiB", "MiB", "KiB"};

	for (unsigned i = 0; i < G_N_ELEMENTS(units); i++) {
		unsigned shift = 40 - 10 * i;
		if (bytes && bytes % (G_GUINT64_CONSTANT(1) << shift) == 0)
			return g_strdup_printf("%" G_GUINT64_FORMAT " %s", bytes >> shift,
					       units[i]);
	}
	return g_strdup_printf("%" G_GUINT64_FORMAT " bytes", bytes);
}

static bool too_long(HgStreamDisk *disk, GError **error)
{
	g_autofree char *limit = size_words(disk->max_length);

	if (disk->size_set)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "data past the disk's end (%s): refused", limit);
	else
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the image expands to more than %s: refused (a corrupt or hostile "
			    "file?)",
			    limit);
	return false;
}

bool hg_stream_disk_write(HgStreamDisk *disk, const void *data, size_t len, GError **error)
{
	const guint8 *p = data;

	if (disk->offset + disk->buffered > disk->max_length ||
	    len > disk->max_length - disk->offset - disk->buffered)
		return too_long(disk, error);
	while (len) {
		size_t n = MIN(len, STREAM_BUFFER - disk->buffered);
		memcpy(disk->buffer + disk->buffered, p, n);
		disk->buffered += n;
		p += n;
		len -= n;
		if (disk->buffered == STREAM_BUFFER && !flush_buffer(disk, error))
			return false;
	}
	return true;
}

bool hg_stream_disk_write_at(HgStreamDisk *disk, guint64 offset, const void *data, size_t len,
			     GError **error)
{
	if (offset != disk->offset + disk->buffered) {
		if (offset > disk->max_length)
			return too_long(disk, error);
		if (!flush_buffer(disk, error))
			return false;
		disk->offset = offset;
	}
	return hg_stream_disk_write(disk, data, len, error);
}

guint64 hg_stream_disk_length(HgStreamDisk *disk)
{
	return MAX(disk->flushed_end, disk->offset + disk->buffered);
}

bool hg_stream_disk_set_size(HgStreamDisk *disk, guint64 size, GError **error)
{
	if (size % 512 || size < hg_stream_disk_length(disk) || size > disk->max_length) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "a disk size of %" G_GUINT64_FORMAT
			    " bytes is not whole sectors, or below what is written, or above "
			    "the limit of %" G_GUINT64_FORMAT,
			    size, disk->max_length);
		return false;
	}
	disk->max_length = size;
	disk->size_set = true;
	return true;
}

static void stream_disk_free(HgStreamDisk *disk)
{
	if (disk->blk)
		hg_block_close(disk->blk);
	g_free(disk->buffer);
	g_free(disk->path);
	g_free(disk->dir);
	g_free(disk);
}

bool hg_stream_disk_finish(HgStreamDisk *disk, GError **error)
{
	guint64 length = hg_stream_disk_length(disk);
	/* A disk is whole sectors: a short tail reads as zeroes. */
	guint64 size = disk->size_set ? disk->max_length : (length + 511) / 512 * 512;
	int r;

	if (size == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the image is empty");
		hg_stream_disk_abort(disk);
		return false;
	}
	if (!flush_buffer(disk, error) || !hg_block_resize(disk->blk, size, error)) {
		hg_stream_disk_abort(disk);
		return false;
	}
	r = hg_block_flush(disk->blk);
	if (r < 0) {
		stream_error(error, -r, disk);
		hg_stream_disk_abort(disk);
		return false;
	}
	stream_disk_free(disk);
	return true;
}

void hg_stream_disk_abort(HgStreamDisk *disk)
{
	g_autofree char *path = g_strdup(disk->path);

	stream_disk_free(disk);
	g_unlink(path);
}

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
	guint8 *buffer; /* the bytes from offset buffered ... */
	size_t buffered; /* ... this many */
	guint64 offset; /* of the buffer's first byte in the disk */
	guint64 written_since_check;
};

HgStreamDisk *hg_stream_disk_new(const char *path, GError **error)
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

/* Writes the buffer's non-zero blocks at its offset, growing the image
 * first when they go past its end. */
static bool flush_buffer(HgStreamDisk *disk, GError **error)
{
	guint64 end = disk->offset + disk->buffered;
	size_t pos = 0;

	if (end > hg_block_size(disk->blk)) {
		guint64 size = hg_block_size(disk->blk);
		while (size < end)
			size *= 2;
		if (!hg_block_resize(disk->blk, MIN(size, HG_STREAM_DISK_MAX), error))
			return false;
	}
	while (pos < disk->buffered) {
		size_t start, n;
		while (pos < disk->buffered &&
		       block_is_zero(disk->buffer + pos, MIN(STREAM_BLOCK, disk->buffered - pos)))
			pos += MIN(STREAM_BLOCK, disk->buffered - pos);
		start = pos;
		while (pos < disk->buffered &&
		       !block_is_zero(disk->buffer + pos, MIN(STREAM_BLOCK, disk->buffered - pos)))
			pos += MIN(STREAM_BLOCK, disk->buffered - pos);
		n = pos - start;
		if (n) {
			struct iovec iov = {disk->buffer + start, n};
			int r = hg_block_writev(disk->blk, disk->offset + start, &iov, 1);
			if (r < 0)
				return stream_error(error, -r, disk);
			disk->written_since_check += n;
		}
	}
	disk->offset = end;
	disk->buffered = 0;
	if (disk->written_since_check >= STREAM_SPACE_CHECK_EVERY)
		return check_space(disk, error);
	return true;
}

bool hg_stream_disk_write(HgStreamDisk *disk, const void *data, size_t len, GError **error)
{
	const guint8 *p = data;

	while (len) {
		size_t n = MIN(len, STREAM_BUFFER - disk->buffered);
		if (disk->offset + disk->buffered + n > HG_STREAM_DISK_MAX) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the image expands to more than %" G_GUINT64_FORMAT
				    " TiB: refused (a corrupt or hostile file?)",
				    HG_STREAM_DISK_MAX >> 40);
			return false;
		}
		memcpy(disk->buffer + disk->buffered, p, n);
		disk->buffered += n;
		p += n;
		len -= n;
		if (disk->buffered == STREAM_BUFFER && !flush_buffer(disk, error))
			return false;
	}
	return true;
}

guint64 hg_stream_disk_length(HgStreamDisk *disk)
{
	return disk->offset + disk->buffered;
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
	guint64 size = (length + 511) / 512 * 512;
	int r;

	if (length == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the image is empty");
		hg_stream_disk_abort(disk);
		return false;
	}
	/* The tail padded to the sector, in the buffer (which then ends on a
	 * sector too, so it has room). */
	memset(disk->buffer + disk->buffered, 0, size - length);
	disk->buffered += size - length;
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

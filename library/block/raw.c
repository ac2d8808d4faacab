/* Raw image files (and block devices).  Discard punches holes; writing
 * zeroes uses FALLOC_FL_ZERO_RANGE or punches a hole when unmapping is
 * allowed, and falls back to writing zeroes where the file system can't.
 *
 * Formats are found from the content, so a guest that wrote qcow2's magic
 * to the start of its raw disk (or a VHD footer to its end...) would turn
 * the disk into an image of that format on the next open, and the header
 * it wrote could name any host file as a backing file.  Like QEMU with
 * probed raw images, writes that would make the file probe as another
 * format are refused. */
#include "library/block/block_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	int fd;
} RawImage;

static bool raw_open(HgBlockBackend *blk, int fd, HgBlockChain *chain, GError **error)
{
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot stat %s: %s",
			    blk->path, g_strerror(errno));
		return false;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			size = 0;
	} else if (S_ISREG(st.st_mode)) {
		size = st.st_size;
	} else {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s is neither a file nor a block device", blk->path);
		return false;
	}
	RawImage *raw = g_new0(RawImage, 1);
	raw->fd = fd;
	blk->state = raw;
	blk->size = size;
	return true;
}

static void raw_close(HgBlockBackend *blk)
{
	RawImage *raw = blk->state;

	close(raw->fd);
	g_free(raw);
}

static int raw_readv(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	RawImage *raw = blk->state;
	return hg_block_fd_transfer(raw->fd, offset, iov, iovcnt, false);
}

/* Copies the part of a write that falls into [at, at + len) of the file
 * over buf (which holds the file's bytes there). */
static void overlay_write(uint8_t *buf, uint64_t at, size_t len, uint64_t offset,
			  const struct iovec *iov, int iovcnt, uint64_t write_len)
{
	uint64_t from = MAX(at, offset), to = MIN(at + len, offset + write_len);

	if (from < to)
		hg_block_iov_to_buffer(iov, iovcnt, from - offset, buf + (from - at), to - from);
}

/* Would this write make the file look like another format (qcow2's magic
 * at the start, a VDI signature, a VHD footer at the end...)?  Then the
 * next open would read the guest's bytes as image metadata: refused, as
 * QEMU refuses the qcow2 case for probed raw images. */
static bool raw_write_changes_format(HgBlockBackend *blk, RawImage *raw, uint64_t offset,
				     const struct iovec *iov, int iovcnt)
{
	uint8_t head[HG_BLOCK_PROBE_HEAD] = {0}, tail[HG_BLOCK_PROBE_TAIL] = {0};
	uint64_t len = hg_block_iov_length(iov, iovcnt);
	uint64_t tail_at = blk->size >= sizeof(tail) ? blk->size - sizeof(tail) : 0;
	bool in_head = offset < sizeof(head);
	bool in_tail = blk->size >= sizeof(tail) && offset + len > tail_at;

	if (len == 0 || (!in_head && !in_tail))
		return false;
	(void)hg_block_fd_pread(raw->fd, 0, head, MIN(sizeof(head), blk->size));
	if (blk->size >= sizeof(tail))
		(void)hg_block_fd_pread(raw->fd, tail_at, tail, sizeof(tail));
	overlay_write(head, 0, sizeof(head), offset, iov, iovcnt, len);
	overlay_write(tail, tail_at, sizeof(tail), offset, iov, iovcnt, len);
	return hg_block_probe_bytes(head, MIN(sizeof(head), blk->size),
				    blk->size >= sizeof(tail) ? tail : NULL) != &hg_block_raw_driver;
}

static int raw_writev(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	RawImage *raw = blk->state;

	if (raw_write_changes_format(blk, raw, offset, iov, iovcnt))
		return -EPERM;
	return hg_block_fd_transfer(raw->fd, offset, iov, iovcnt, true);
}

static int raw_flush(HgBlockBackend *blk)
{
	RawImage *raw = blk->state;
	return fdatasync(raw->fd) < 0 ? -errno : 0;
}

static int write_zero_bytes(RawImage *raw, uint64_t offset, uint64_t len)
{
	static const uint8_t zeroes[65536];

	while (len) {
		struct iovec iov = {(void *)zeroes, MIN(len, sizeof(zeroes))};
		int r = hg_block_fd_transfer(raw->fd, offset, &iov, 1, true);
		if (r < 0)
			return r;
		offset += iov.iov_len;
		len -= iov.iov_len;
	}
	return 0;
}

static int raw_discard(HgBlockBackend *blk, uint64_t offset, uint64_t len)
{
	RawImage *raw = blk->state;

	/* Discard is advisory: where holes cannot be punched, do nothing. */
	if (fallocate(raw->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	return 0;
}

static int raw_write_zeroes(HgBlockBackend *blk, uint64_t offset, uint64_t len, bool may_unmap)
{
	RawImage *raw = blk->state;

	if (may_unmap &&
	    fallocate(raw->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len) == 0)
		return 0;
	if (fallocate(raw->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, len) == 0)
		return 0;
	return write_zero_bytes(raw, offset, len);
}

/* The file system knows its holes (SEEK_DATA); one that does not says the
 * whole file is data, which is right too. */
static uint64_t raw_next_data(HgBlockBackend *blk, uint64_t offset)
{
	RawImage *raw = blk->state;
	off_t data = lseek(raw->fd, (off_t)offset, SEEK_DATA);

	if (data < 0)
		return errno == ENXIO ? blk->size : offset;
	return (uint64_t)data;
}

/* Whether [from, to) holds a non-zero byte: only the file system's data
 * extents are read, so a hole costs nothing and a block that the new end
 * cuts through counts only for its bytes past the end. */
static int raw_has_data(RawImage *raw, uint64_t from, uint64_t to, bool *found)
{
	g_autofree uint8_t *buf = g_malloc(1 << 20);
	uint64_t pos = from;

	*found = false;
	while (pos < to) {
		off_t data = lseek(raw->fd, (off_t)pos, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		if ((uint64_t)data >= to)
			return 0;
		off_t hole = lseek(raw->fd, data, SEEK_HOLE);
		uint64_t end = hole < 0 ? to : MIN((uint64_t)hole, to);
		for (pos = data; pos < end;) {
			size_t len = MIN(end - pos, 1 << 20);
			int r = hg_block_fd_pread(raw->fd, pos, buf, len);
			if (r < 0)
				return r;
			for (size_t i = 0; i < len; i++) {
				if (buf[i]) {
					*found = true;
					return 0;
				}
			}
			pos += len;
		}
	}
	return 0;
}

/* Files only: a block device's size is its own.  Growing makes a hole at
 * the end, which reads as zeroes. */
static bool raw_resize(HgBlockBackend *blk, uint64_t size, GError **error)
{
	RawImage *raw = blk->state;
	struct stat st;
	bool data = false;
	int r = 0;

	if (fstat(raw->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: only image files can be resized, not block devices", blk->path);
		return false;
	}
	if (size > (uint64_t)G_MAXINT64) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: %" G_GUINT64_FORMAT " bytes is too big for a file", blk->path,
			    size);
		return false;
	}
	if (size < blk->size)
		r = raw_has_data(raw, size, blk->size, &data);
	if (r == 0 && data) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: cannot shrink to %" G_GUINT64_FORMAT
			    " bytes: there is data past that",
			    blk->path, size);
		return false;
	}
	if (r == 0 && ftruncate(raw->fd, (off_t)size) < 0)
		r = -errno;
	if (r == 0) {
		blk->size = size;
		if (fdatasync(raw->fd) < 0)
			r = -errno;
	}
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "%s: cannot resize: %s",
			    blk->path, g_strerror(-r));
		return false;
	}
	return true;
}

static uint64_t raw_allocated_bytes(HgBlockBackend *blk)
{
	RawImage *raw = blk->state;
	return hg_block_fd_allocated_bytes(raw->fd);
}

const HgBlockDriver hg_block_raw_driver = {
	.format_name = "raw",
	.open = raw_open,
	.close = raw_close,
	.readv = raw_readv,
	.writev = raw_writev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.allocated_bytes = raw_allocated_bytes,
	.next_data = raw_next_data,
	.resize = raw_resize,
};

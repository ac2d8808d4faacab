/* Raw image files (and block devices).  Discard punches holes; writing
 * zeroes uses FALLOC_FL_ZERO_RANGE or punches a hole when unmapping is
 * allowed, and falls back to writing zeroes where the file system can't. */
#include "library/block/block.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

struct HgBlockBackend {
	int fd;
	char *path;
	uint64_t size;
	bool read_only;
};

HgBlockBackend *hg_block_open(const char *path, bool read_only, GError **error)
{
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	struct stat st;
	HgBlockBackend *blk;
	uint64_t size;

	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot open %s: %s",
			    path, g_strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot stat %s: %s",
			    path, g_strerror(errno));
		close(fd);
		return NULL;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			size = 0;
	} else if (S_ISREG(st.st_mode)) {
		size = st.st_size;
	} else {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s is neither a file nor a block device", path);
		close(fd);
		return NULL;
	}
	blk = g_new0(HgBlockBackend, 1);
	blk->fd = fd;
	blk->path = g_strdup(path);
	blk->size = size;
	blk->read_only = read_only;
	return blk;
}

void hg_block_close(HgBlockBackend *blk)
{
	if (!blk)
		return;
	close(blk->fd);
	g_free(blk->path);
	g_free(blk);
}

uint64_t hg_block_size(HgBlockBackend *blk)
{
	return blk->size;
}

bool hg_block_is_read_only(HgBlockBackend *blk)
{
	return blk->read_only;
}

const char *hg_block_path(HgBlockBackend *blk)
{
	return blk->path;
}

static uint64_t iov_length(const struct iovec *iov, int iovcnt)
{
	uint64_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	return len;
}

static bool range_ok(HgBlockBackend *blk, uint64_t offset, uint64_t len)
{
	return offset <= blk->size && len <= blk->size - offset;
}

/* preadv/pwritev may move less than asked; go on until done.  The iovec
 * array is copied so it can be advanced; up to 256 entries (what storage
 * devices send: virtio-blk's seg_max + 2) stay on the worker's stack, so
 * the I/O path allocates nothing. */
static int block_transfer(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov,
			  int iovcnt, bool write)
{
	struct iovec stack[256];
	struct iovec *v = iovcnt <= (int)G_N_ELEMENTS(stack) ? stack : g_new(struct iovec, iovcnt);
	int i = 0, r = 0;

	memcpy(v, iov, iovcnt * sizeof(*v));
	while (i < iovcnt) {
		if (v[i].iov_len == 0) {
			i++;
			continue;
		}
		int batch = MIN(iovcnt - i, IOV_MAX);
		ssize_t n = write ? pwritev(blk->fd, v + i, batch, offset)
				  : preadv(blk->fd, v + i, batch, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO; /* 0: the file shrank under us */
			break;
		}
		offset += n;
		while (n > 0) {
			size_t step = MIN((size_t)n, v[i].iov_len);
			v[i].iov_base = (uint8_t *)v[i].iov_base + step;
			v[i].iov_len -= step;
			n -= step;
			if (v[i].iov_len == 0)
				i++;
		}
	}
	if (v != stack)
		g_free(v);
	return r;
}

int hg_block_readv(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	if (!range_ok(blk, offset, iov_length(iov, iovcnt)))
		return -EIO;
	return block_transfer(blk, offset, iov, iovcnt, false);
}

int hg_block_writev(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	if (blk->read_only)
		return -EROFS;
	if (!range_ok(blk, offset, iov_length(iov, iovcnt)))
		return -EIO;
	return block_transfer(blk, offset, iov, iovcnt, true);
}

int hg_block_flush(HgBlockBackend *blk)
{
	if (blk->read_only)
		return 0;
	return fdatasync(blk->fd) < 0 ? -errno : 0;
}

static int write_zero_bytes(HgBlockBackend *blk, uint64_t offset, uint64_t len)
{
	static const uint8_t zeroes[65536];

	while (len) {
		struct iovec iov = {(void *)zeroes, MIN(len, sizeof(zeroes))};
		int r = block_transfer(blk, offset, &iov, 1, true);
		if (r < 0)
			return r;
		offset += iov.iov_len;
		len -= iov.iov_len;
	}
	return 0;
}

int hg_block_discard(HgBlockBackend *blk, uint64_t offset, uint64_t len)
{
	if (blk->read_only)
		return -EROFS;
	if (!range_ok(blk, offset, len))
		return -EIO;
	/* Discard is advisory: where holes cannot be punched, do nothing. */
	if (fallocate(blk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	return 0;
}

int hg_block_write_zeroes(HgBlockBackend *blk, uint64_t offset, uint64_t len, bool may_unmap)
{
	if (blk->read_only)
		return -EROFS;
	if (!range_ok(blk, offset, len))
		return -EIO;
	if (may_unmap &&
	    fallocate(blk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len) == 0)
		return 0;
	if (fallocate(blk->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, len) == 0)
		return 0;
	return write_zero_bytes(blk, offset, len);
}

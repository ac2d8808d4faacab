/* The image layer's front: format detection, the checks every format
 * shares (range, read-only), dispatch to the format drivers, and the
 * iovec and file helpers the drivers use. */
#include "library/block/block_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const HgBlockDriver *const block_drivers[] = {
	&hg_block_raw_driver,
	&hg_block_qcow2_driver,
	&hg_block_vdi_driver,
	&hg_block_vhd_driver,
	&hg_block_vhdx_driver,
	&hg_block_vmdk_driver,
};

static const HgBlockDriver *block_driver_by_name(const char *name)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(block_drivers); i++)
		if (strcmp(block_drivers[i]->format_name, name) == 0)
			return block_drivers[i];
	return NULL;
}

/* The content decides; everything that is nothing else is raw. */
const HgBlockDriver *hg_block_probe_bytes(const uint8_t *head, size_t len, const uint8_t *tail)
{
	if (len >= 4 && memcmp(head, "QFI\xfb", 4) == 0)
		return &hg_block_qcow2_driver;
	/* VDI: the signature 0xbeda107f at 0x40, little-endian. */
	if (len >= 0x44 && memcmp(head + 0x40, "\x7f\x10\xda\xbe", 4) == 0)
		return &hg_block_vdi_driver;
	if (len >= 8 && memcmp(head, "vhdxfile", 8) == 0)
		return &hg_block_vhdx_driver;
	if (len >= 4 && memcmp(head, "KDMV", 4) == 0)
		return &hg_block_vmdk_driver;
	if (hg_block_vhd_probe(head, len, tail))
		return &hg_block_vhd_driver;
	return &hg_block_raw_driver;
}

static const HgBlockDriver *block_driver_probe(int fd)
{
	uint8_t head[HG_BLOCK_PROBE_HEAD], tail[HG_BLOCK_PROBE_TAIL];
	ssize_t got = pread(fd, head, sizeof(head), 0);
	size_t len = got > 0 ? (size_t)got : 0;
	bool have_tail = false;
	const HgBlockDriver *driver;
	struct stat st;

	/* One more read for the formats whose mark ends the file (fixed VHD). */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= (off_t)sizeof(tail))
		have_tail =
			hg_block_fd_pread(fd, st.st_size - sizeof(tail), tail, sizeof(tail)) == 0;
	driver = hg_block_probe_bytes(head, len, have_tail ? tail : NULL);
	/* A VMDK descriptor is small text, told by parsing it. */
	if (driver == &hg_block_raw_driver && hg_block_vmdk_probe(fd))
		return &hg_block_vmdk_driver;
	return driver;
}

bool hg_block_format_known(const char *name)
{
	return name && block_driver_by_name(name);
}

const char *hg_block_probe_format(const char *path, GError **error)
{
	const HgBlockDriver *driver;
	struct stat st;
	/* O_NONBLOCK: a FIFO must not hang the probe; it is refused below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot open %s: %s",
			    path, g_strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
			    "%s is neither a file nor a block device", path);
		close(fd);
		return NULL;
	}
	driver = block_driver_probe(fd);
	close(fd);
	return driver->format_name;
}

HgBlockBackend *hg_block_open_in_chain(const char *path, const char *format, bool read_only,
				       HgBlockChain *chain, GError **error)
{
	const HgBlockDriver *driver;
	HgBlockFileId id;
	struct stat st;
	HgBlockBackend *blk;
	int fd;

	if (chain->depth > HG_BLOCK_MAX_CHAIN_DEPTH) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: the backing chain is deeper than %u images", path,
			    HG_BLOCK_MAX_CHAIN_DEPTH);
		return NULL;
	}
	/* O_NONBLOCK: a FIFO (named by a hostile backing file) must not hang
	 * the open; it is refused below, and files drop the flag. */
	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
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
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
			    "%s is neither a file nor a block device", path);
		close(fd);
		return NULL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	for (unsigned i = 0; i < chain->visited->len; i++) {
		HgBlockFileId *seen = &g_array_index(chain->visited, HgBlockFileId, i);
		if (seen->dev == id.dev && seen->ino == id.ino) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: the backing chain loops back to an image already in it",
				    path);
			close(fd);
			return NULL;
		}
	}
	g_array_append_val(chain->visited, id);

	if (format) {
		driver = block_driver_by_name(format);
		if (!driver) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "%s: unsupported image format \"%s\"", path, format);
			close(fd);
			return NULL;
		}
	} else {
		driver = block_driver_probe(fd);
	}
	blk = g_new0(HgBlockBackend, 1);
	blk->driver = driver;
	blk->path = g_strdup(path);
	blk->read_only = read_only;
	if (!driver->open(blk, fd, chain, error)) {
		close(fd);
		g_free(blk->path);
		g_free(blk);
		return NULL;
	}
	return blk;
}

HgBlockBackend *hg_block_open_format(const char *path, const char *format, bool read_only,
				     GError **error)
{
	HgBlockChain chain = {0, g_array_new(FALSE, FALSE, sizeof(HgBlockFileId))};
	HgBlockBackend *blk = NULL;

	if (format && !block_driver_by_name(format))
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: \"%s\" is not an image format this version knows", path, format);
	else
		blk = hg_block_open_in_chain(path, format, read_only, &chain, error);
	g_array_unref(chain.visited);
	return blk;
}

HgBlockBackend *hg_block_open(const char *path, bool read_only, GError **error)
{
	return hg_block_open_format(path, NULL, read_only, error);
}

void hg_block_close(HgBlockBackend *blk)
{
	if (!blk)
		return;
	blk->driver->close(blk);
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

const char *hg_block_format(HgBlockBackend *blk)
{
	return blk->driver->format_name;
}

uint64_t hg_block_next_data(HgBlockBackend *blk, uint64_t offset)
{
	if (offset >= blk->size || !blk->driver->next_data)
		return MIN(offset, blk->size);
	return MIN(blk->driver->next_data(blk, offset), blk->size);
}

uint64_t hg_block_allocated_bytes(HgBlockBackend *blk)
{
	return blk->driver->allocated_bytes(blk);
}

static bool range_ok(HgBlockBackend *blk, uint64_t offset, uint64_t len)
{
	return offset <= blk->size && len <= blk->size - offset;
}

int hg_block_readv(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	if (!range_ok(blk, offset, hg_block_iov_length(iov, iovcnt)))
		return -EIO;
	return blk->driver->readv(blk, offset, iov, iovcnt);
}

int hg_block_writev(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	if (blk->read_only)
		return -EROFS;
	if (!range_ok(blk, offset, hg_block_iov_length(iov, iovcnt)))
		return -EIO;
	return blk->driver->writev(blk, offset, iov, iovcnt);
}

int hg_block_flush(HgBlockBackend *blk)
{
	if (blk->read_only)
		return 0;
	return blk->driver->flush(blk);
}

int hg_block_discard(HgBlockBackend *blk, uint64_t offset, uint64_t len)
{
	if (blk->read_only)
		return -EROFS;
	if (!range_ok(blk, offset, len))
		return -EIO;
	if (len == 0)
		return 0;
	return blk->driver->discard(blk, offset, len);
}

int hg_block_write_zeroes(HgBlockBackend *blk, uint64_t offset, uint64_t len, bool may_unmap)
{
	if (blk->read_only)
		return -EROFS;
	if (!range_ok(blk, offset, len))
		return -EIO;
	if (len == 0)
		return 0;
	return blk->driver->write_zeroes(blk, offset, len, may_unmap);
}

bool hg_block_resize(HgBlockBackend *blk, uint64_t size, GError **error)
{
	if (!blk->driver->resize) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: %s images cannot be resized", blk->path, blk->driver->format_name);
		return false;
	}
	if (blk->read_only) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_READ_ONLY,
			    "%s: the image is open read-only", blk->path);
		return false;
	}
	if (size == blk->size)
		return true;
	return blk->driver->resize(blk, size, error);
}

/* Internal snapshots: the checks all formats share, then the driver. */
static bool snapshot_supported(HgBlockBackend *blk, const void *hook, GError **error)
{
	if (!hook) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: %s images have no internal snapshots", blk->path,
			    blk->driver->format_name);
		return false;
	}
	return true;
}

static bool snapshot_changeable(HgBlockBackend *blk, const void *hook, GError **error)
{
	if (!snapshot_supported(blk, hook, error))
		return false;
	if (blk->read_only) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_READ_ONLY,
			    "%s: the image is open read-only", blk->path);
		return false;
	}
	return true;
}

void hg_block_snapshot_free(HgBlockSnapshot *snap)
{
	if (!snap)
		return;
	g_free(snap->id);
	g_free(snap->name);
	g_free(snap);
}

GPtrArray *hg_block_snapshot_list(HgBlockBackend *blk, GError **error)
{
	if (!snapshot_supported(blk, blk->driver->snapshot_list, error))
		return NULL;
	return blk->driver->snapshot_list(blk, error);
}

HgBlockSnapshot *hg_block_snapshot_create(HgBlockBackend *blk, const char *name,
					  guint64 vm_clock_ns, GError **error)
{
	if (!snapshot_changeable(blk, blk->driver->snapshot_create, error))
		return NULL;
	return blk->driver->snapshot_create(blk, name, vm_clock_ns, error);
}

bool hg_block_snapshot_apply(HgBlockBackend *blk, const char *id_or_name, GError **error)
{
	if (!snapshot_changeable(blk, blk->driver->snapshot_apply, error))
		return false;
	return blk->driver->snapshot_apply(blk, id_or_name, error);
}

bool hg_block_snapshot_delete(HgBlockBackend *blk, const char *id_or_name, GError **error)
{
	if (!snapshot_changeable(blk, blk->driver->snapshot_delete, error))
		return false;
	return blk->driver->snapshot_delete(blk, id_or_name, error);
}

HgBlockBackend *hg_block_open_snapshot(const char *path, const char *id_or_name, GError **error)
{
	HgBlockBackend *blk = hg_block_open(path, true, error);

	if (!blk)
		return NULL;
	if (!snapshot_supported(blk, blk->driver->snapshot_show, error) ||
	    !blk->driver->snapshot_show(blk, id_or_name, error)) {
		hg_block_close(blk);
		return NULL;
	}
	return blk;
}

uint64_t hg_block_iov_length(const struct iovec *iov, int iovcnt)
{
	uint64_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	return len;
}

int hg_block_iov_slice(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len,
		       struct iovec *out, int out_max)
{
	int n = 0;

	for (int i = 0; i < iovcnt && len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		if (n == out_max)
			return -1;
		size_t take = MIN(iov[i].iov_len - skip, len);
		out[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

/* Walks [skip, skip + len) of iov, calling step for each piece. */
#define IOV_FOR_EACH(iov, iovcnt, skip, len, base, piece, done, body)                              \
	do {                                                                                       \
		uint64_t skip_ = (skip), left_ = (len), done = 0;                                  \
		for (int i_ = 0; i_ < (iovcnt) && left_; i_++) {                                   \
			if (skip_ >= (iov)[i_].iov_len) {                                          \
				skip_ -= (iov)[i_].iov_len;                                        \
				continue;                                                          \
			}                                                                          \
			uint8_t *base = (uint8_t *)(iov)[i_].iov_base + skip_;                     \
			size_t piece = MIN((iov)[i_].iov_len - skip_, left_);                      \
			body;                                                                      \
			done += piece;                                                             \
			left_ -= piece;                                                            \
			skip_ = 0;                                                                 \
		}                                                                                  \
	} while (0)

void hg_block_iov_to_buffer(const struct iovec *iov, int iovcnt, uint64_t skip, void *buf,
			    uint64_t len)
{
	IOV_FOR_EACH(iov, iovcnt, skip, len, base, piece, done,
		     memcpy((uint8_t *)buf + done, base, piece));
}

void hg_block_iov_from_buffer(const struct iovec *iov, int iovcnt, uint64_t skip, const void *buf,
			      uint64_t len)
{
	IOV_FOR_EACH(iov, iovcnt, skip, len, base, piece, done,
		     memcpy(base, (const uint8_t *)buf + done, piece));
}

void hg_block_iov_memset(const struct iovec *iov, int iovcnt, uint64_t skip, int c, uint64_t len)
{
	IOV_FOR_EACH(iov, iovcnt, skip, len, base, piece, done, {
		(void)done;
		memset(base, c, piece);
	});
}

/* preadv/pwritev may move less than asked; go on until done.  The iovec
 * array is copied so it can be advanced; up to 256 entries (what storage
 * devices send: virtio-blk's seg_max + 2) stay on the worker's stack, so
 * the I/O path allocates nothing. */
int hg_block_fd_transfer(int fd, uint64_t offset, const struct iovec *iov, int iovcnt, bool write)
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
		ssize_t n = write ? pwritev(fd, v + i, batch, offset)
				  : preadv(fd, v + i, batch, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO; /* 0: the file ends here */
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

int hg_block_fd_pread(int fd, uint64_t offset, void *buf, size_t len)
{
	struct iovec iov = {buf, len};
	return hg_block_fd_transfer(fd, offset, &iov, 1, false);
}

int hg_block_fd_pwrite(int fd, uint64_t offset, const void *buf, size_t len)
{
	struct iovec iov = {(void *)buf, len};
	return hg_block_fd_transfer(fd, offset, &iov, 1, true);
}

uint64_t hg_block_fd_allocated_bytes(int fd)
{
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st) < 0)
		return 0;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, &size) == 0 ? size : 0;
	return (uint64_t)st.st_blocks * 512;
}

char *hg_block_read_backing_path(const char *path, GError **error)
{
	uint8_t header[20];
	uint64_t offset;
	uint32_t length;
	g_autofree char *name = NULL, *dir = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot open %s: %s",
			    path, g_strerror(errno));
		return NULL;
	}
	/* qcow2: backing_file_offset at byte 8, backing_file_size at 16. */
	if (hg_block_fd_pread(fd, 0, header, sizeof(header)) < 0 ||
	    memcmp(header, "QFI\xfb", 4) != 0) {
		close(fd);
		return NULL;
	}
	memcpy(&offset, header + 8, 8);
	memcpy(&length, header + 16, 4);
	offset = GUINT64_FROM_BE(offset);
	length = GUINT32_FROM_BE(length);
	if (offset == 0 || length == 0) {
		close(fd);
		return NULL;
	}
	name = length < PATH_MAX ? g_malloc0(length + 1) : NULL;
	if (!name || hg_block_fd_pread(fd, offset, name, length) < 0 || strlen(name) != length) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: the backing file name is unreadable", path);
		close(fd);
		return NULL;
	}
	close(fd);
	if (g_path_is_absolute(name))
		return g_steal_pointer(&name);
	dir = g_path_get_dirname(path);
	return g_build_filename(dir, name, NULL);
}

int hg_block_fd_read_into(int fd, uint64_t file_offset, const struct iovec *iov, int iovcnt,
			  uint64_t skip, uint64_t len)
{
	struct iovec stack[64];
	struct iovec *part =
		iovcnt <= (int)G_N_ELEMENTS(stack) ? stack : g_new(struct iovec, iovcnt);
	int n = hg_block_iov_slice(iov, iovcnt, skip, len, part, MAX(iovcnt, 1));
	int r = n < 0 ? -EIO : hg_block_fd_transfer(fd, file_offset, part, n, false);

	if (part != stack)
		g_free(part);
	return r;
}

void hg_block_read_run_init(HgBlockReadRun *run, int fd, const struct iovec *iov, int iovcnt)
{
	*run = (HgBlockReadRun){.fd = fd, .iov = iov, .iovcnt = iovcnt};
}

int hg_block_read_run_add(HgBlockReadRun *run, uint64_t file_offset, uint64_t skip, uint64_t len)
{
	int r = 0;

	if (run->len && run->file + run->len == file_offset && run->skip + run->len == skip) {
		run->len += len;
		return 0;
	}
	r = hg_block_read_run_finish(run);
	run->file = file_offset;
	run->skip = skip;
	run->len = len;
	return r;
}

int hg_block_read_run_finish(HgBlockReadRun *run)
{
	int r = 0;

	if (run->len)
		r = hg_block_fd_read_into(run->fd, run->file, run->iov, run->iovcnt, run->skip,
					  run->len);
	run->len = 0;
	return r;
}

int hg_block_read_blocks(int fd, unsigned block_bits, HgBlockLocateFunc locate, const void *state,
			 uint64_t offset, const struct iovec *iov, int iovcnt)
{
	uint64_t len = hg_block_iov_length(iov, iovcnt), done = 0;
	uint64_t block_mask = (1ull << block_bits) - 1;
	HgBlockReadRun run;
	int r = 0;

	hg_block_read_run_init(&run, fd, iov, iovcnt);
	while (done < len && r == 0) {
		uint64_t pos = offset + done;
		uint64_t n = MIN(block_mask + 1 - (pos & block_mask), len - done);
		uint64_t at;

		if (locate(state, pos >> block_bits, &at))
			r = hg_block_read_run_add(&run, at + (pos & block_mask), done, n);
		else
			hg_block_iov_memset(iov, iovcnt, done, 0, n);
		done += n;
	}
	if (r == 0)
		r = hg_block_read_run_finish(&run);
	return r;
}

bool hg_block_read_only_open(HgBlockBackend *blk, int fd, const char *format, struct stat *st,
			     GError **error)
{
	if (!blk->read_only) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_READ_ONLY,
			    "%s: %s images are opened read-only: convert to qcow2 to write",
			    blk->path, format);
		return false;
	}
	if (st && fstat(fd, st) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot stat %s: %s",
			    blk->path, g_strerror(errno));
		return false;
	}
	return true;
}

int hg_block_read_only_writev(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov,
			      int iovcnt)
{
	(void)blk, (void)offset, (void)iov, (void)iovcnt;
	return -EROFS;
}

int hg_block_read_only_discard(HgBlockBackend *blk, uint64_t offset, uint64_t len)
{
	(void)blk, (void)offset, (void)len;
	return -EROFS;
}

int hg_block_read_only_write_zeroes(HgBlockBackend *blk, uint64_t offset, uint64_t len,
				    bool may_unmap)
{
	(void)blk, (void)offset, (void)len, (void)may_unmap;
	return -EROFS;
}

int hg_block_read_only_flush(HgBlockBackend *blk)
{
	(void)blk;
	return 0;
}

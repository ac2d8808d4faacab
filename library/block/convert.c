/* hg_block_convert: an image's content copied into a new raw or qcow2
 * image, a chunk at a time, through the backends on both sides (so any
 * source format and backing chain reads as the guest sees it).  Blocks that
 * read as zeroes are not written: holes in a raw file, unallocated clusters
 * in qcow2.
 *
 * The result appears at dst_path only complete and synced: it is written
 * as ".NAME.XXXXXX" in the same folder (same file system, so the rename is
 * atomic) and renamed without replacing at the end; a failure or cancel
 * removes it.  Only a crash mid-way can leave that hidden file behind. */
#include "library/block/block_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define CONVERT_CHUNK (1u << 20)
#define CONVERT_QCOW2_CLUSTER_BITS 16
/* Zero detection: a qcow2 cluster (the unit it allocates), a file system
 * block for raw (the unit a hole can be). */
#define CONVERT_RAW_BLOCK 4096u

typedef struct {
	HgBlockBackend *src;
	const char *dst_path;
	HgBlockFormat format;
	char *dir;
	char *tmp_path; /* while it exists */
	HgBlockBackend *dst;
	size_t block; /* the zero-detection unit */
} Convert;

/* The first 16 bytes are zero and every byte equals the one 16 before it:
 * two memcmp calls, which libc vectorises, instead of a loop. */
static bool block_is_zero(const uint8_t *p, size_t len)
{
	static const uint8_t zeroes[16];

	if (len <= sizeof(zeroes))
		return memcmp(p, zeroes, len) == 0;
	return memcmp(p, zeroes, sizeof(zeroes)) == 0 &&
	       memcmp(p, p + sizeof(zeroes), len - sizeof(zeroes)) == 0;
}

static void set_write_error(Convert *c, int err, GError **error)
{
	if (err == ENOSPC || err == EFBIG)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "cannot write %s: %s",
			    c->dst_path,
			    err == ENOSPC ? "no space left on its file system"
					  : "the file is too large for its file system (or the "
					    "file-size limit)");
	else if (err == EPERM && c->format == HG_BLOCK_FORMAT_RAW)
		/* raw.c refuses it: the file would open as qcow2 afterwards. */
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "cannot write %s: the disk's content carries another image format's "
			    "mark (qcow2's magic at its start, a VHD footer at its end...), so a "
			    "raw copy would be taken for such an image",
			    c->dst_path);
	else
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot write %s: %s",
			    c->dst_path, g_strerror(err));
}

/* The estimate: the source's allocated space (at most its size), and for
 * qcow2 its L2 tables (8 bytes per 64 KiB cluster of the disk), refcounts
 * (2 bytes per cluster written) and the first few clusters. */
static bool check_space(Convert *c, GError **error)
{
	uint64_t size = hg_block_size(c->src);
	uint64_t needed = MIN(hg_block_allocated_bytes(c->src), size);
	struct statvfs sv;

	if (c->format == HG_BLOCK_FORMAT_QCOW2)
		needed += (size >> 13) + (needed >> 15) + (4u << CONVERT_QCOW2_CLUSTER_BITS);
	if (statvfs(c->dir, &sv) < 0) {
		int err = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot create %s: %s",
			    c->dst_path, g_strerror(err));
		return false;
	}
	uint64_t available = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (needed > available) {
		g_autofree char *need_text = g_format_size(needed);
		g_autofree char *avail_text = g_format_size(available);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "not enough space for %s: it needs about %s, %s has %s free",
			    c->dst_path, need_text, c->dir, avail_text);
		return false;
	}
	return true;
}

static bool create_raw(Convert *c, const char *path, uint64_t size, GError **error)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int err = 0;

	if (fd < 0) {
		err = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot create %s (as %s): %s", c->dst_path, path, g_strerror(err));
		return false;
	}
	if (ftruncate(fd, size) < 0)
		err = errno;
	close(fd);
	if (err) {
		unlink(path);
		g_set_error(error, G_IO_ERROR,
			    err == EFBIG ? G_IO_ERROR_NO_SPACE : g_io_error_from_errno(err),
			    "cannot make %s %" G_GUINT64_FORMAT " bytes long: %s", c->dst_path,
			    size, g_strerror(err));
		return false;
	}
	return true;
}

/* A fresh name next to dst_path, created empty (raw) or as an empty qcow2
 * image; O_EXCL on both, so a name someone else took is skipped. */
static bool create_tmp(Convert *c, GError **error)
{
	g_autofree char *base = g_path_get_basename(c->dst_path);
	uint64_t size = hg_block_size(c->src);

	for (unsigned attempt = 0; attempt < 100; attempt++) {
		g_autoptr(GError) create_error = NULL;
		g_autofree char *name =
			g_strdup_printf(".%s.%06x", base, g_random_int() & 0xffffff);
		g_autofree char *path = g_build_filename(c->dir, name, NULL);
		bool ok = c->format == HG_BLOCK_FORMAT_QCOW2
				  ? hg_block_create_qcow2(path, size, NULL,
							  CONVERT_QCOW2_CLUSTER_BITS, &create_error)
				  : create_raw(c, path, size, &create_error);
		if (ok) {
			c->tmp_path = g_steal_pointer(&path);
			c->dst = hg_block_open(c->tmp_path, false, error);
			return c->dst != NULL;
		}
		if (g_error_matches(create_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
			continue;
		if (c->format == HG_BLOCK_FORMAT_QCOW2) /* its message names only path */
			g_prefix_error(&create_error, "%s: ", c->dst_path);
		g_propagate_error(error, g_steal_pointer(&create_error));
		return false;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
		    "cannot find a free temporary name for %s in %s", base, c->dir);
	return false;
}

/* Writes the runs of non-zero blocks of one chunk read at offset. */
static int write_nonzero_runs(Convert *c, uint64_t offset, uint8_t *buf, size_t len)
{
	size_t pos = 0, run_start = 0;
	bool in_run = false;

	while (pos < len) {
		size_t n = MIN(c->block, len - pos);
		bool zero = block_is_zero(buf + pos, n);
		if (!zero && !in_run) {
			run_start = pos;
			in_run = true;
		}
		pos += n;
		if (in_run && (zero || pos == len)) {
			size_t end = zero ? pos - n : pos;
			struct iovec iov = {buf + run_start, end - run_start};
			int r = hg_block_writev(c->dst, offset + run_start, &iov, 1);
			if (r < 0)
				return r;
			in_run = false;
		}
	}
	return 0;
}

static bool copy_content(Convert *c, GCancellable *cancellable, HgBlockProgressFunc progress,
			 gpointer user_data, GError **error)
{
	uint64_t size = hg_block_size(c->src);
	g_autofree uint8_t *buf = g_malloc(CONVERT_CHUNK);

	for (uint64_t offset = 0; offset < size;) {
		if (g_cancellable_set_error_if_cancelled(cancellable, error))
			return false;
		/* Holes the source knows of are skipped, not read and checked:
		 * the destination has them already.  Whole blocks only, so a
		 * run never starts inside one. */
		uint64_t data = hg_block_next_data(c->src, offset) / c->block * c->block;
		if (data > offset) {
			offset = data;
			if (progress)
				progress(offset, size, user_data);
			continue;
		}
		size_t len = MIN(CONVERT_CHUNK, size - offset);
		struct iovec iov = {buf, len};
		int r = hg_block_readv(c->src, offset, &iov, 1);
		if (r < 0) {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r),
				    "cannot read %s at offset %" G_GUINT64_FORMAT ": %s",
				    hg_block_path(c->src), offset, g_strerror(-r));
			return false;
		}
		r = write_nonzero_runs(c, offset, buf, len);
		if (r < 0) {
			set_write_error(c, -r, error);
			return false;
		}
		offset += len;
		if (progress)
			progress(offset, size, user_data);
	}
	return !g_cancellable_set_error_if_cancelled(cancellable, error);
}

/* Everything on disk under the temporary name, then the rename, which
 * fails rather than replace a dst_path that appeared meanwhile. */
static bool commit(Convert *c, GError **error)
{
	int r = hg_block_flush(c->dst);
	if (r < 0) {
		set_write_error(c, -r, error);
		return false;
	}
	hg_block_close(g_steal_pointer(&c->dst));
	int fd = open(c->tmp_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		set_write_error(c, errno, error);
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);

	/* File systems without RENAME_NOREPLACE: a hard link also refuses
	 * to replace. */
	int err = 0;
	if (renameat2(AT_FDCWD, c->tmp_path, AT_FDCWD, c->dst_path, RENAME_NOREPLACE) < 0) {
		err = errno;
		if (err == EINVAL)
			err = link(c->tmp_path, c->dst_path) == 0 ? 0 : errno;
		if (err == 0)
			unlink(c->tmp_path);
	}
	if (err) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot rename the finished copy to %s: %s", c->dst_path,
			    g_strerror(err));
		return false;
	}
	g_clear_pointer(&c->tmp_path, g_free);
	/* The new name durable too; the data already is, so a failure here
	 * is not worth failing the whole copy for. */
	fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return true;
}

bool hg_block_convert(HgBlockBackend *src, const char *dst_path, HgBlockFormat format,
		      GCancellable *cancellable, HgBlockProgressFunc progress, gpointer user_data,
		      GError **error)
{
	Convert c = {
		.src = src,
		.dst_path = dst_path,
		.format = format,
		.dir = g_path_get_dirname(dst_path),
		.block = format == HG_BLOCK_FORMAT_QCOW2 ? 1u << CONVERT_QCOW2_CLUSTER_BITS
							 : CONVERT_RAW_BLOCK,
	};
	struct stat st;
	bool ok = false;

	if (format != HG_BLOCK_FORMAT_RAW && format != HG_BLOCK_FORMAT_QCOW2)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "unknown image format %d for %s", format, dst_path);
	else if (lstat(dst_path, &st) == 0)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s already exists", dst_path);
	else
		ok = check_space(&c, error) && create_tmp(&c, error) &&
		     copy_content(&c, cancellable, progress, user_data, error) && commit(&c, error);

	hg_block_close(c.dst);
	if (c.tmp_path)
		unlink(c.tmp_path);
	g_free(c.tmp_path);
	g_free(c.dir);
	return ok;
}

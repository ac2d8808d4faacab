/* The qcow2 driver: open (header checks, backing file, repair of a dirty
 * image), close, and the calls block.c makes.  The work is in the
 * qcow2_*.c files: qcow2_header.c, qcow2_refcount.c, qcow2_cache.c,
 * qcow2_cluster.c, qcow2_compress.c, qcow2_resize.c, and for internal
 * snapshots qcow2_snapshot.c, qcow2_snapshot_table.c, qcow2_commit.c.
 *
 * A version 3 image opened for writing carries the dirty bit until it is
 * closed cleanly, though refcounts are kept exact: after a crash, the next
 * open (Hangar's, or QEMU's) rebuilds the refcounts, which removes the
 * clusters that the crash leaked.  Version 2 has no such bit: leaks stay
 * until `qemu-img check -r leaks`. */
#include "library/block/qcow2.h"

#include <errno.h>
#include <gio/gio.h>
#include <unistd.h>

static void qcow2_free(HgQcow2 *q)
{
	hg_block_close(q->backing);
	hg_qcow2_cache_free(q->l2_cache);
	hg_qcow2_cache_free(q->refblock_cache);
	hg_qcow2_compress_free(q);
	g_free(q->l1);
	g_free(q->refcount_table);
	g_free(q->pending_frees);
	g_free(q->bounce);
	g_free(q->compressed);
	g_free(q->decompressed);
	hg_qcow2_snapshots_free(q->snapshots, q->nb_snapshots);
	g_free(q->backing_name);
	g_free(q->backing_format);
	g_mutex_clear(&q->metadata_lock);
	g_rw_lock_clear(&q->host_cluster_lock);
	g_free(q);
}

static bool qcow2_open_backing(HgQcow2 *q, HgBlockChain *chain, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(q->path);
	g_autofree char *path = g_path_is_absolute(q->backing_name)
					? g_strdup(q->backing_name)
					: g_build_filename(dir, q->backing_name, NULL);
	HgBlockChain backing_chain = {chain->depth + 1, chain->visited};
	g_autoptr(GError) backing_error = NULL;

	q->backing = hg_block_open_in_chain(path, q->backing_format, true, &backing_chain,
					    &backing_error);
	if (!q->backing) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: cannot open its backing file: %s", q->path,
			    backing_error->message);
		return false;
	}
	return true;
}

/* Metadata caches: enough L2 tables to map the whole disk when that is
 * small, at most 32 MiB of them; a few refcount blocks. */
static void qcow2_make_caches(HgQcow2 *q)
{
	uint64_t l2_tables =
		CLAMP((uint64_t)q->l1_size, 8, MAX(8, (32ull << 20) / q->cluster_size));
	uint64_t refblocks =
		CLAMP(q->refcount_table_entries, 4, MAX(4, (4ull << 20) / q->cluster_size));

	q->l2_cache = hg_qcow2_cache_new(q, l2_tables);
	q->refblock_cache = hg_qcow2_cache_new(q, refblocks);
}

/* The writes a read-write open makes, once every check has passed. */
static bool qcow2_open_for_writing(HgQcow2 *q, GError **error)
{
	int r = 0;

	if (q->incompatible & QCOW2_INCOMPAT_CORRUPT) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: the image is marked corrupt; it can only be opened read-only "
			    "(qemu-img check -r all repairs it)",
			    q->path);
		return false;
	}
	if (!(q->incompatible & QCOW2_INCOMPAT_DIRTY) &&
	    !hg_qcow2_check_metadata_refcounts(q, error))
		return false;
	/* Bitmaps (autoclear bit 0) are not kept up to date here: the
	 * spec asks to clear what is not understood before writing. */
	if (q->autoclear)
		r = hg_qcow2_write_autoclear(q, 0);
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "%s: cannot write: %s",
			    q->path, g_strerror(-r));
		return false;
	}
	if ((q->incompatible & QCOW2_INCOMPAT_DIRTY) && !hg_qcow2_rebuild_refcounts(q, error))
		return false;
	if (q->version >= 3) {
		r = hg_qcow2_write_incompatible(q, q->incompatible | QCOW2_INCOMPAT_DIRTY);
		if (r == 0 && fdatasync(q->fd) < 0)
			r = -errno;
		if (r < 0) {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r),
				    "%s: cannot write: %s", q->path, g_strerror(-r));
			return false;
		}
		q->dirty_bit_ours = true;
	}
	return true;
}

static bool qcow2_open(HgBlockBackend *blk, int fd, HgBlockChain *chain, GError **error)
{
	HgQcow2 *q = g_new0(HgQcow2, 1);

	q->fd = fd;
	q->read_only = blk->read_only;
	q->path = blk->path;
	g_mutex_init(&q->metadata_lock);
	g_rw_lock_init(&q->host_cluster_lock);
	if (!hg_qcow2_read_header(q, error))
		goto fail;
	q->l1 = g_new0(uint64_t, MAX(1, q->l1_size));
	if (hg_block_fd_pread(fd, q->l1_offset, q->l1, (uint64_t)q->l1_size * 8) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: cannot read the L1 table", q->path);
		goto fail;
	}
	for (uint32_t i = 0; i < q->l1_size; i++)
		q->l1[i] = GUINT64_FROM_BE(q->l1[i]);
	if (!hg_qcow2_refcount_open(q, error))
		goto fail;
	qcow2_make_caches(q);
	q->pending_frees = g_new(HgQcow2PendingFree, QCOW2_PENDING_FREES_MAX);
	q->bounce = g_malloc(q->cluster_size);
	q->compressed = g_malloc(2 * q->cluster_size);
	q->decompressed = g_malloc(q->cluster_size);
	if (q->backing_name && !qcow2_open_backing(q, chain, error))
		goto fail;
	if (!q->read_only && !qcow2_open_for_writing(q, error))
		goto fail;
	blk->state = q;
	blk->size = q->size;
	return true;
fail:
	q->fd = -1; /* the caller closes it */
	qcow2_free(q);
	return false;
}

static void qcow2_close(HgBlockBackend *blk)
{
	HgQcow2 *q = blk->state;

	if (!q->read_only) {
		g_mutex_lock(&q->metadata_lock);
		int r = hg_qcow2_flush_metadata(q);
		if (r == 0 && q->dirty_bit_ours) {
			r = hg_qcow2_write_incompatible(q, q->incompatible & ~QCOW2_INCOMPAT_DIRTY);
			if (r == 0 && fdatasync(q->fd) < 0)
				r = -errno;
		}
		g_mutex_unlock(&q->metadata_lock);
		if (r < 0)
			g_warning("%s: closing left the image dirty (%s); the next open repairs it",
				  q->path, g_strerror(-r));
	}
	close(q->fd);
	qcow2_free(q);
}

static int qcow2_readv(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	return hg_qcow2_readv(blk->state, offset, iov, iovcnt);
}

static int qcow2_writev(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	return hg_qcow2_writev(blk->state, offset, iov, iovcnt);
}

static int qcow2_flush(HgBlockBackend *blk)
{
	HgQcow2 *q = blk->state;

	g_mutex_lock(&q->metadata_lock);
	int r = hg_qcow2_flush_metadata(q);
	g_mutex_unlock(&q->metadata_lock);
	return r;
}

static int qcow2_discard(HgBlockBackend *blk, uint64_t offset, uint64_t len)
{
	return hg_qcow2_discard(blk->state, offset, len, false, true);
}

static int qcow2_write_zeroes(HgBlockBackend *blk, uint64_t offset, uint64_t len, bool may_unmap)
{
	return hg_qcow2_discard(blk->state, offset, len, true, may_unmap);
}

static uint64_t qcow2_allocated_bytes(HgBlockBackend *blk)
{
	HgQcow2 *q = blk->state;
	uint64_t bytes = hg_block_fd_allocated_bytes(q->fd);

	return q->backing ? bytes + hg_block_allocated_bytes(q->backing) : bytes;
}

const HgBlockDriver hg_block_qcow2_driver = {
	.format_name = "qcow2",
	.open = qcow2_open,
	.close = qcow2_close,
	.readv = qcow2_readv,
	.writev = qcow2_writev,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.snapshot_list = hg_qcow2_snapshot_list,
	.snapshot_create = hg_qcow2_snapshot_create,
	.snapshot_apply = hg_qcow2_snapshot_apply,
	.snapshot_delete = hg_qcow2_snapshot_delete,
	.snapshot_show = hg_qcow2_snapshot_show,
	.allocated_bytes = qcow2_allocated_bytes,
	.resize = hg_qcow2_resize,
};

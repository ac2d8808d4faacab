/* Switching a qcow2 image to new metadata in one step, for the snapshot
 * changes (qcow2_snapshot.c): the active L1 table, the virtual size, the
 * snapshot table and every refcount change together.
 *
 * Why not change the tables in place, as ordinary writes do: a snapshot
 * moves refcounts between 1 and more, and the COPIED flag of the active
 * tables must follow (the spec's "Snapshots"; qemu-img check calls any
 * disagreement corruption, dirty bit or not).  A refcount and its flag live
 * in different clusters, so no order of in-place writes survives a crash
 * between them.  Instead the new state is written beside the old one, in
 * clusters the old one leaves free:
 *  - a new active L1 table, pointing to fresh copies of the active L2
 *    tables whose COPIED flags match the new counts;
 *  - the new snapshot table, when it changes;
 *  - new refcount blocks and a new refcount table, counting exactly what
 *    the new state uses (a count from scratch, as the repair does);
 * then, after a sync, one 48-byte write of header bytes 24-71 (size, L1,
 * refcount table, snapshot table: all adjacent) switches to it.  A crash
 * before that write leaves the old image, untouched; after it, the new one,
 * with no leaks: what only the old state used has count 0 there.
 *
 * Callers hold metadata_lock and no I/O runs (block.h). */
#include "library/block/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/falloc.h>
#include <unistd.h>

#define HEADER_SIZE_OFFSET 24
#define HEADER_SWITCH_BYTES 48

typedef struct {
	HgQcow2 *q;
	HgQcow2Counter counter; /* the new state's counts */
	uint8_t *old_used; /* per cluster below old_clusters: counted in the old state */
	uint64_t old_clusters;
	uint64_t cursor; /* where single clusters are looked for next */
} Commit;

static bool commit_io_error(Commit *c, int r, const char *what)
{
	g_set_error(c->counter.error, G_IO_ERROR, g_io_error_from_errno(-r),
		    "%s: cannot write the new %s: %s", c->q->path, what, g_strerror(-r));
	return false;
}

/* Which clusters the old state counts: those are not to be touched. */
static int commit_read_old_counts(Commit *c)
{
	HgQcow2 *q = c->q;
	uint64_t per_block = 1ull << q->refblock_bits;
	g_autofree uint8_t *block = g_malloc(q->cluster_size);

	c->old_used = g_try_malloc0(MAX(1, c->old_clusters));
	if (!c->old_used)
		return -ENOMEM;
	c->old_used[0] = 1; /* the header, whatever its count says */
	for (uint64_t b = 0; b < q->refcount_table_entries; b++) {
		uint64_t first = b * per_block;
		if (!q->refcount_table[b] || first >= c->old_clusters)
			continue;
		int r = hg_block_fd_pread(q->fd, q->refcount_table[b], block, q->cluster_size);
		if (r < 0)
			return r;
		for (uint64_t i = 0; i < per_block && first + i < c->old_clusters; i++)
			if (hg_qcow2_refblock_read(q, block, i))
				c->old_used[first + i] = 1;
	}
	return 0;
}

static bool commit_free(Commit *c, uint64_t cluster)
{
	return (cluster >= c->old_clusters || !c->old_used[cluster]) &&
	       (cluster >= c->counter.clusters || c->counter.counts[cluster] == 0);
}

/* count free clusters in a row, counted once in the new state. */
static bool commit_place(Commit *c, uint64_t count, bool single, uint64_t *offset)
{
	HgQcow2 *q = c->q;
	uint64_t max_cluster = (1ull << 56) >> q->cluster_bits;
	uint64_t start = single ? c->cursor : 0, run = 0;

	for (uint64_t i = start; run < count; i++) {
		if (i >= max_cluster) {
			g_set_error(c->counter.error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
				    "%s: the image is full", q->path);
			return false;
		}
		if (commit_free(c, i)) {
			run++;
		} else {
			run = 0;
			start = i + 1;
		}
	}
	if (start + count > c->counter.clusters) {
		uint64_t old = c->counter.clusters;
		c->counter.clusters = start + count;
		c->counter.counts =
			g_realloc_n(c->counter.counts, c->counter.clusters, sizeof(uint32_t));
		memset(c->counter.counts + old, 0, (c->counter.clusters - old) * sizeof(uint32_t));
	}
	for (uint64_t i = start; i < start + count; i++)
		c->counter.counts[i] = 1;
	if (single)
		c->cursor = start + count;
	*offset = start << q->cluster_bits;
	return true;
}

/* What the new state references, but for its own new tables. */
static bool commit_count(Commit *c, const HgQcow2View *v, uint8_t *l2)
{
	HgQcow2 *q = c->q;

	if (!hg_qcow2_counter_add(&c->counter, 0, q->cluster_size, "header"))
		return false;
	if (!v->new_table && !hg_qcow2_counter_add(&c->counter, q->snapshots_offset,
						   q->snapshots_bytes, "snapshot table"))
		return false;
	for (uint32_t s = 0; s < v->nb_snapshots; s++) {
		const HgQcow2Snapshot *snap = &v->snapshots[s];
		g_autofree uint64_t *l1 = g_new(uint64_t, MAX(1, snap->l1_size));
		if (!hg_qcow2_counter_add(&c->counter, snap->l1_offset, (uint64_t)snap->l1_size * 8,
					  "snapshot L1 table"))
			return false;
		if (hg_block_fd_pread(q->fd, snap->l1_offset, l1, (uint64_t)snap->l1_size * 8) < 0)
			return commit_io_error(c, -EIO, "snapshot count");
		for (uint32_t i = 0; i < snap->l1_size; i++)
			l1[i] = GUINT64_FROM_BE(l1[i]);
		if (!hg_qcow2_counter_walk_l1(&c->counter, l1, snap->l1_size, true, l2))
			return false;
	}
	/* The active L2 tables are replaced by copies: their clusters are
	 * counted, the tables themselves not. */
	return hg_qcow2_counter_walk_l1(&c->counter, v->l1, v->l1_size, false, l2);
}

/* An active L2 table's copy: COPIED exactly where the new count is 1. */
static void commit_fix_flags(Commit *c, uint8_t *l2)
{
	HgQcow2 *q = c->q;

	for (uint64_t j = 0; j < qcow2_l2_entries(q); j++) {
		uint64_t e = qcow2_be64(l2 + j * 8) & ~QCOW2_OFLAG_COPIED;
		uint64_t host = e & QCOW2_OFFSET_MASK;
		if (!(e & QCOW2_OFLAG_COMPRESSED) && host &&
		    c->counter.counts[host >> q->cluster_bits] == 1)
			e |= QCOW2_OFLAG_COPIED;
		qcow2_put_be64(l2 + j * 8, e);
	}
}

/* Refcount blocks and table for the new state: enough blocks to count
 * every cluster up to the end, including themselves and the table. */
static bool commit_place_refcounts(Commit *c, uint64_t **table, uint64_t *table_offset,
				   uint64_t *table_clusters)
{
	HgQcow2 *q = c->q;
	uint64_t per_block = 1ull << q->refblock_bits, cs = q->cluster_size;
	uint64_t end = c->counter.clusters, blocks = (end + per_block - 1) / per_block, clusters;

	for (;;) {
		clusters = MAX(1, (blocks * 8 + cs - 1) / cs);
		uint64_t worst = (end + clusters + blocks + per_block - 1) / per_block;
		if (worst <= blocks)
			break;
		blocks = worst;
	}
	if (clusters * cs > QCOW2_MAX_REFTABLE_BYTES) {
		g_set_error(c->counter.error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "%s: the refcount table would grow too big", q->path);
		return false;
	}
	if (!commit_place(c, clusters, false, table_offset))
		return false;
	*table = g_malloc0(clusters * cs);
	*table_clusters = clusters;
	for (uint64_t b = 0; b < blocks; b++)
		if (!commit_place(c, 1, true, &(*table)[b]))
			return false;
	g_assert((c->counter.clusters + per_block - 1) / per_block <= blocks);
	return true;
}

static int commit_write_refcounts(Commit *c, const uint64_t *table, uint64_t entries)
{
	HgQcow2 *q = c->q;
	uint64_t per_block = 1ull << q->refblock_bits;
	g_autofree uint8_t *block = g_malloc(q->cluster_size);

	for (uint64_t b = 0; b < entries && table[b]; b++) {
		memset(block, 0, q->cluster_size);
		for (uint64_t i = 0; i < per_block; i++) {
			uint64_t cluster = b * per_block + i;
			if (cluster < c->counter.clusters)
				hg_qcow2_refblock_write(q, block, i, c->counter.counts[cluster]);
		}
		int r = hg_block_fd_pwrite(q->fd, table[b], block, q->cluster_size);
		if (r < 0)
			return r;
	}
	return 0;
}

static int commit_write_table(HgQcow2 *q, uint64_t offset, const uint64_t *host, uint64_t entries,
			      uint64_t bytes)
{
	g_autofree uint64_t *be = g_malloc0(bytes);

	for (uint64_t i = 0; i < entries; i++)
		be[i] = GUINT64_TO_BE(host[i]);
	return hg_block_fd_pwrite(q->fd, offset, be, bytes);
}

static int commit_switch_header(HgQcow2 *q, const HgQcow2View *v, uint64_t l1_offset,
				uint64_t table_offset, uint32_t table_clusters,
				uint64_t snapshots_offset)
{
	uint8_t h[HEADER_SWITCH_BYTES] = {0};

	qcow2_put_be64(h, v->size);
	/* h[8..11]: crypt_method, 0 (encrypted images are refused). */
	qcow2_put_be32(h + 12, v->l1_size);
	qcow2_put_be64(h + 16, l1_offset);
	qcow2_put_be64(h + 24, table_offset);
	qcow2_put_be32(h + 32, table_clusters);
	qcow2_put_be32(h + 36, v->nb_snapshots);
	qcow2_put_be64(h + 40, snapshots_offset);
	int r = hg_block_fd_pwrite(q->fd, HEADER_SIZE_OFFSET, h, sizeof(h));
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	return r;
}

/* Clusters only the old state used go back to the host file system; a
 * free tail is cut off. */
static void commit_release_old(Commit *c)
{
	HgQcow2 *q = c->q;
	uint64_t run_start = 0, run = 0, last_used = 0;

	for (uint64_t i = 0; i <= c->old_clusters; i++) {
		bool release = i < c->old_clusters && c->old_used[i] &&
			       (i >= c->counter.clusters || c->counter.counts[i] == 0);
		if (release) {
			if (!run)
				run_start = i;
			run++;
			continue;
		}
		if (run)
			(void)!fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					 run_start << q->cluster_bits, run << q->cluster_bits);
		run = 0;
	}
	for (uint64_t i = 0; i < c->counter.clusters; i++)
		if (c->counter.counts[i])
			last_used = i;
	uint64_t end = (last_used + 1) << q->cluster_bits;
	if (end < q->file_end && ftruncate(q->fd, end) == 0)
		q->file_end = end;
}

bool hg_qcow2_commit(HgQcow2 *q, HgQcow2View *v, GError **error)
{
	uint64_t cs = q->cluster_size;
	Commit c = {.q = q, .counter = {q, 0, NULL, "cannot change the snapshots", error}};
	g_autofree uint8_t *l2 = g_malloc(cs);
	g_autofree uint64_t *l1 = g_new0(uint64_t, MAX(1, v->l1_size));
	g_autofree uint64_t *table = NULL;
	g_autofree uint8_t *snapshot_bytes = NULL;
	uint64_t l1_offset, table_offset, table_clusters, snapshots_offset = 0, snapshots_len = 0;
	bool ok = false;
	int r;

	/* Everything on disk and no frees waiting: the file is the old state. */
	r = hg_qcow2_flush_metadata(q);
	c.old_clusters = (q->file_end + cs - 1) >> q->cluster_bits;
	c.counter.clusters = c.old_clusters;
	c.counter.counts = g_try_new0(uint32_t, MAX(1, c.old_clusters));
	if (r == 0)
		r = c.counter.counts ? commit_read_old_counts(&c) : -ENOMEM;
	if (r < 0) {
		commit_io_error(&c, r, "refcounts");
		goto out;
	}
	if (!commit_count(&c, v, l2))
		goto out;

	/* Places: the contiguous tables first, while holes are big. */
	uint64_t l1_bytes = MAX(8, (uint64_t)v->l1_size * 8);
	if (!commit_place(&c, (l1_bytes + cs - 1) / cs, false, &l1_offset))
		goto out;
	if (v->new_table) {
		snapshot_bytes = hg_qcow2_snapshot_table_bytes(v->snapshots, v->nb_snapshots,
							       &snapshots_len);
		if (snapshots_len > QCOW2_MAX_SNAPSHOT_TABLE_BYTES) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
				    "%s: the snapshot table would grow too big", q->path);
			goto out;
		}
		if (snapshots_len &&
		    !commit_place(&c, (snapshots_len + cs - 1) / cs, false, &snapshots_offset))
			goto out;
	} else {
		snapshots_offset = q->snapshots_offset;
		snapshots_len = q->snapshots_bytes;
	}
	for (uint32_t i = 0; i < v->l1_size; i++)
		if ((v->l1[i] & QCOW2_OFFSET_MASK) && !commit_place(&c, 1, true, &l1[i]))
			goto out;
	if (!commit_place_refcounts(&c, &table, &table_offset, &table_clusters))
		goto out;
	uint64_t table_entries = table_clusters * cs / 8;

	/* The new state, beside the old one. */
	for (uint32_t i = 0; i < v->l1_size && r == 0; i++) {
		if (!l1[i])
			continue;
		r = hg_block_fd_pread(q->fd, v->l1[i] & QCOW2_OFFSET_MASK, l2, cs);
		if (r < 0)
			break;
		commit_fix_flags(&c, l2);
		r = hg_block_fd_pwrite(q->fd, l1[i], l2, cs);
		l1[i] |= QCOW2_OFLAG_COPIED; /* a copy has count 1 */
	}
	if (r == 0)
		r = commit_write_table(q, l1_offset, l1, v->l1_size,
				       (l1_bytes + cs - 1) & ~(cs - 1));
	if (r == 0 && v->new_table && snapshots_len) {
		g_autofree uint8_t *padded = g_malloc0((snapshots_len + cs - 1) & ~(cs - 1));
		memcpy(padded, snapshot_bytes, snapshots_len);
		r = hg_block_fd_pwrite(q->fd, snapshots_offset, padded,
				       (snapshots_len + cs - 1) & ~(cs - 1));
	}
	if (r == 0)
		r = commit_write_refcounts(&c, table, table_entries);
	if (r == 0)
		r = commit_write_table(q, table_offset, table, table_entries, table_clusters * cs);
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	if (r < 0) {
		commit_io_error(&c, r, "tables");
		goto out;
	}
	q->file_end = MAX(q->file_end, c.counter.clusters * cs);

	/* The switch. */
	r = commit_switch_header(q, v, l1_offset, table_offset, table_clusters, snapshots_offset);
	if (r < 0) {
		/* The header may or may not have changed: no more writes from
		 * here on; the next open finds out which state it is. */
		commit_io_error(&c, r, "header");
		q->read_only = true;
		goto out;
	}
	g_free(q->l1);
	q->l1 = g_steal_pointer(&l1);
	q->l1_size = v->l1_size;
	q->l1_offset = l1_offset;
	q->size = v->size;
	g_free(q->refcount_table);
	q->refcount_table = g_steal_pointer(&table);
	q->refcount_table_entries = table_entries;
	q->refcount_table_offset = table_offset;
	q->refcount_table_clusters = table_clusters;
	if (v->new_table) {
		hg_qcow2_snapshots_free(q->snapshots, q->nb_snapshots);
		q->snapshots = g_steal_pointer(&v->snapshots);
		q->nb_snapshots = v->nb_snapshots;
		q->snapshots_offset = snapshots_offset;
		q->snapshots_bytes = snapshots_len;
	}
	hg_qcow2_cache_forget_all(q->l2_cache);
	hg_qcow2_cache_forget_all(q->refblock_cache);
	q->free_cluster_hint = 0;
	q->decompressed_entry = 0;
	commit_release_old(&c);
	ok = true;
out:
	g_free(c.counter.counts);
	g_free(c.old_used);
	return ok;
}

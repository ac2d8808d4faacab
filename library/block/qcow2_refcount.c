/* qcow2 refcounts: the refcount table and blocks, cluster allocation and
 * freeing, the barrier that makes frees safe, and the repair that rebuilds
 * every refcount from the tables (the spec's "Host cluster management").
 * Callers hold metadata_lock.
 *
 * Kept exact, in this order (see also qcow2_cluster.c):
 *  - a cluster is counted (refcount block, in the cache) before anything
 *    points to it, and the L2 cache depends on the refcount cache, so the
 *    count reaches the disk first;
 *  - a new refcount block is written and synced before the refcount table
 *    entry that points to it; a new refcount table and its blocks before
 *    the header that points to them;
 *  - a cluster is uncounted only after the table that pointed to it has
 *    been written without the pointer and synced: frees wait in
 *    pending_frees until the next barrier (hg_qcow2_barrier).
 * A crash at any point can so leave clusters counted that nothing uses
 * (leaks, which the repair on the next open of a version 3 image removes,
 * the dirty bit being set while the image is open), never a cluster in use
 * with a count too low. */
#include "library/block/qcow2.h"

#include <errno.h>
#include <gio/gio.h>
#include <linux/falloc.h>
#include <fcntl.h>
#include <unistd.h>

static uint64_t refblock_entries(HgQcow2 *q)
{
	return 1ull << q->refblock_bits;
}

uint64_t hg_qcow2_refblock_read(HgQcow2 *q, const uint8_t *block, uint64_t i)
{
	switch (q->refcount_order) {
	case 0:
	case 1:
	case 2: {
		unsigned bits = 1u << q->refcount_order;
		uint64_t bit = i * bits;
		return (block[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
	}
	case 3:
		return block[i];
	case 4:
		return qcow2_be16(block + i * 2);
	case 5:
		return qcow2_be32(block + i * 4);
	default:
		return qcow2_be64(block + i * 8);
	}
}

void hg_qcow2_refblock_write(HgQcow2 *q, uint8_t *block, uint64_t i, uint64_t value)
{
	switch (q->refcount_order) {
	case 0:
	case 1:
	case 2: {
		unsigned bits = 1u << q->refcount_order;
		uint64_t bit = i * bits;
		uint8_t mask = ((1u << bits) - 1) << (bit % 8);
		block[bit / 8] = (block[bit / 8] & ~mask) | ((value << (bit % 8)) & mask);
		break;
	}
	case 3:
		block[i] = value;
		break;
	case 4: {
		uint16_t v = GUINT16_TO_BE(value);
		memcpy(block + i * 2, &v, 2);
		break;
	}
	case 5:
		qcow2_put_be32(block + i * 4, value);
		break;
	default:
		qcow2_put_be64(block + i * 8, value);
		break;
	}
}

bool hg_qcow2_refcount_open(HgQcow2 *q, GError **error)
{
	uint64_t bytes = (uint64_t)q->refcount_table_clusters << q->cluster_bits;

	q->refcount_table_entries = bytes / 8;
	q->refcount_table = g_malloc(bytes);
	if (hg_block_fd_pread(q->fd, q->refcount_table_offset, q->refcount_table, bytes) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: cannot read the refcount table", q->path);
		return false;
	}
	for (uint64_t i = 0; i < q->refcount_table_entries; i++) {
		uint64_t e = GUINT64_FROM_BE(q->refcount_table[i]);
		q->refcount_table[i] = e;
		if (e == 0 || q->read_only)
			continue;
		if ((e & QCOW2_REFTABLE_RESERVED) || (e & (q->cluster_size - 1)) ||
		    e + q->cluster_size > q->file_end) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: refcount block %" G_GUINT64_FORMAT
				    " is unaligned or outside the file",
				    q->path, i);
			return false;
		}
	}
	return true;
}

/* The refcount block of block_index: *table NULL when it does not exist
 * (every count in it is 0). */
static int refblock_get(HgQcow2 *q, uint64_t block_index, void **table)
{
	*table = NULL;
	if (block_index >= q->refcount_table_entries || q->refcount_table[block_index] == 0)
		return 0;
	uint64_t offset = q->refcount_table[block_index];
	if ((offset & QCOW2_REFTABLE_RESERVED) || offset + q->cluster_size > q->file_end)
		return -EIO;
	return hg_qcow2_cache_get(q->refblock_cache, offset, table);
}

int hg_qcow2_refcount_get(HgQcow2 *q, uint64_t cluster, uint64_t *refcount)
{
	void *block;
	int r = refblock_get(q, cluster >> q->refblock_bits, &block);

	*refcount = 0;
	if (r < 0 || !block)
		return r;
	*refcount = hg_qcow2_refblock_read(q, block, cluster & (refblock_entries(q) - 1));
	hg_qcow2_cache_put(q->refblock_cache, block);
	return 0;
}

/* A bigger refcount table, placed with the refcount blocks that count it
 * in fresh space past everything the old table covers. */
static int refcount_table_grow(HgQcow2 *q, uint64_t min_entries)
{
	uint64_t cs = q->cluster_size, per_block = refblock_entries(q);
	uint64_t entries_per_cluster = cs / 8;
	uint64_t new_entries = MAX(min_entries + 1, q->refcount_table_entries * 2);
	uint64_t end_cluster = (q->file_end + cs - 1) >> q->cluster_bits;
	uint64_t start, first_block, blocks, table_clusters;

	for (;;) {
		new_entries = (new_entries + entries_per_cluster - 1) & ~(entries_per_cluster - 1);
		table_clusters = new_entries / entries_per_cluster;
		start = MAX(end_cluster, q->refcount_table_entries * per_block);
		start = (start + per_block - 1) & ~(per_block - 1);
		first_block = start / per_block;
		blocks = 1;
		while ((blocks + table_clusters + per_block - 1) / per_block > blocks)
			blocks++;
		if (first_block + blocks <= new_entries)
			break;
		new_entries = first_block + blocks;
	}
	if (table_clusters * cs > QCOW2_MAX_REFTABLE_BYTES)
		return -EFBIG;

	g_autofree uint64_t *table = g_malloc0(table_clusters * cs);
	g_autofree uint8_t *block = g_malloc(cs);
	uint64_t used = blocks + table_clusters;
	int r;

	for (uint64_t i = 0; i < q->refcount_table_entries; i++)
		table[i] = GUINT64_TO_BE(q->refcount_table[i]);
	for (uint64_t b = 0; b < blocks; b++) {
		uint64_t first = (first_block + b) * per_block;
		memset(block, 0, cs);
		for (uint64_t c = first; c < first + per_block && c < start + used; c++)
			hg_qcow2_refblock_write(q, block, c - first, 1);
		r = hg_block_fd_pwrite(q->fd, (start + b) * cs, block, cs);
		if (r < 0)
			return r;
		table[first_block + b] = GUINT64_TO_BE((start + b) * cs);
	}
	uint64_t table_offset = (start + blocks) * cs;
	r = hg_block_fd_pwrite(q->fd, table_offset, table, table_clusters * cs);
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	if (r == 0)
		r = hg_qcow2_write_refcount_table_location(q, table_offset, table_clusters);
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	if (r < 0)
		return r;

	uint64_t old_offset = q->refcount_table_offset, old_clusters = q->refcount_table_clusters;
	g_free(q->refcount_table);
	q->refcount_table = g_steal_pointer(&table);
	for (uint64_t i = 0; i < new_entries; i++)
		q->refcount_table[i] = GUINT64_FROM_BE(q->refcount_table[i]);
	q->refcount_table_entries = new_entries;
	q->refcount_table_offset = table_offset;
	q->refcount_table_clusters = table_clusters;
	q->file_end = MAX(q->file_end, (start + used) * cs);
	/* Nothing points to the old table any more (the header is synced). */
	for (uint64_t i = 0; i < old_clusters; i++) {
		r = hg_qcow2_refcount_change(q, (old_offset >> q->cluster_bits) + i, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A missing refcount block goes to the first cluster of the range it
 * covers: with no block, every cluster there has refcount 0 and is free,
 * and the block counts itself. */
static int refblock_create(HgQcow2 *q, uint64_t block_index)
{
	uint64_t cs = q->cluster_size;
	int r;

	if (block_index >= q->refcount_table_entries) {
		r = refcount_table_grow(q, block_index);
		if (r < 0)
			return r;
		if (q->refcount_table[block_index])
			return 0;
	}
	uint64_t cluster = block_index << q->refblock_bits;
	if (cluster == 0)
		return -EIO; /* the header's own block is missing: corrupt */
	void *block;
	r = hg_qcow2_cache_get_empty(q->refblock_cache, cluster * cs, &block);
	if (r < 0)
		return r;
	hg_qcow2_refblock_write(q, block, 0, 1);
	r = hg_block_fd_pwrite(q->fd, cluster * cs, block, cs);
	hg_qcow2_cache_put(q->refblock_cache, block);
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	if (r < 0) {
		hg_qcow2_cache_forget(q->refblock_cache, cluster * cs);
		return r;
	}
	q->file_end = MAX(q->file_end, (cluster + 1) * cs);
	uint8_t be[8];
	qcow2_put_be64(be, cluster * cs);
	r = hg_block_fd_pwrite(q->fd, q->refcount_table_offset + block_index * 8, be, 8);
	if (r < 0)
		return r;
	q->refcount_table[block_index] = cluster * cs;
	return 0;
}

int hg_qcow2_refcount_change(HgQcow2 *q, uint64_t cluster, int delta)
{
	uint64_t block_index = cluster >> q->refblock_bits;
	void *block;
	int r = refblock_get(q, block_index, &block);

	if (r < 0)
		return r;
	if (!block) {
		if (delta < 0)
			return -EIO;
		r = refblock_create(q, block_index);
		if (r == 0)
			r = refblock_get(q, block_index, &block);
		if (r < 0)
			return r;
		if (!block)
			return -EIO;
	}
	uint64_t i = cluster & (refblock_entries(q) - 1);
	uint64_t old = hg_qcow2_refblock_read(q, block, i);
	if ((delta < 0 && old < (uint64_t)-delta) ||
	    (delta > 0 && q->refcount_max - old < (uint64_t)delta)) {
		hg_qcow2_cache_put(q->refblock_cache, block);
		return -EIO; /* a count would go below 0 or overflow: corrupt */
	}
	hg_qcow2_refblock_write(q, block, i, old + delta);
	hg_qcow2_cache_mark_dirty(q->refblock_cache, block);
	hg_qcow2_cache_put(q->refblock_cache, block);
	if (old + delta == 0 && cluster < q->free_cluster_hint)
		q->free_cluster_hint = cluster;
	return 0;
}

/* count contiguous clusters, counted once each; their offset in *offset. */
int hg_qcow2_alloc_clusters(HgQcow2 *q, uint64_t count, uint64_t *offset)
{
	uint64_t max_cluster = (1ull << 56) >> q->cluster_bits;
	int r;

again:;
	uint64_t start = q->free_cluster_hint, c = start;
	bool hint_free = true;
	while (c - start < count) {
		uint64_t rc;
		if (c >= max_cluster)
			return -EFBIG;
		r = hg_qcow2_refcount_get(q, c, &rc);
		if (r < 0)
			return r;
		if (rc) {
			if (hint_free && c == q->free_cluster_hint)
				q->free_cluster_hint = c + 1;
			else
				hint_free = false;
			start = c + 1;
		} else {
			hint_free = false;
		}
		c++;
	}
	/* Blocks first: one created inside [start, start + count) takes that
	 * cluster, so look again. */
	for (uint64_t b = start >> q->refblock_bits; b <= (start + count - 1) >> q->refblock_bits;
	     b++) {
		if (b < q->refcount_table_entries && q->refcount_table[b])
			continue;
		r = refblock_create(q, b);
		if (r < 0)
			return r;
		goto again;
	}
	for (uint64_t i = 0; i < count; i++) {
		r = hg_qcow2_refcount_change(q, start + i, 1);
		if (r < 0)
			return r;
	}
	if (start == q->free_cluster_hint)
		q->free_cluster_hint = start + count;
	*offset = start << q->cluster_bits;
	q->file_end = MAX(q->file_end, (start + count) << q->cluster_bits);
	return 0;
}

void hg_qcow2_pending_free(HgQcow2 *q, uint64_t offset, uint64_t clusters)
{
	if (q->pending_count == QCOW2_PENDING_FREES_MAX && hg_qcow2_barrier(q) < 0) {
		/* Cannot make the removal durable: leak the clusters rather
		 * than free them too early. */
		return;
	}
	if (q->pending_count == QCOW2_PENDING_FREES_MAX)
		return;
	q->pending_frees[q->pending_count].offset = offset;
	q->pending_frees[q->pending_count].clusters = clusters;
	q->pending_count++;
}

/* Every table written and synced; then the waiting frees can be counted:
 * nothing on disk points to those clusters any more.  In-flight data
 * transfers to them finish first (host_cluster_lock). */
int hg_qcow2_barrier(HgQcow2 *q)
{
	int r = hg_qcow2_cache_write_back(q->l2_cache);
	if (r == 0)
		r = hg_qcow2_cache_write_back(q->refblock_cache);
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	if (r < 0 || q->pending_count == 0)
		return r;

	g_rw_lock_writer_lock(&q->host_cluster_lock);
	for (unsigned i = 0; i < q->pending_count && r == 0; i++) {
		HgQcow2PendingFree *f = &q->pending_frees[i];
		uint64_t first = f->offset >> q->cluster_bits;
		for (uint64_t c = first; c < first + f->clusters && r == 0; c++) {
			uint64_t rc;
			r = hg_qcow2_refcount_change(q, c, -1);
			if (r == 0)
				r = hg_qcow2_refcount_get(q, c, &rc);
			if (r == 0 && rc == 0) {
				hg_qcow2_cache_forget(q->l2_cache, c << q->cluster_bits);
				/* Give the space back to the host file system. */
				(void)!fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						 c << q->cluster_bits, q->cluster_size);
			}
		}
	}
	q->pending_count = 0;
	q->decompressed_entry = 0;
	g_rw_lock_writer_unlock(&q->host_cluster_lock);
	return r;
}

/* What a guest flush needs: everything on disk, frees applied and their
 * counts written too. */
int hg_qcow2_flush_metadata(HgQcow2 *q)
{
	int r = hg_qcow2_barrier(q);
	if (r == 0)
		r = hg_qcow2_cache_write_back(q->refblock_cache);
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	return r;
}

/* Before writing: the structures the header points to must be counted, or
 * allocation would hand them out again. */
bool hg_qcow2_check_metadata_refcounts(HgQcow2 *q, GError **error)
{
	struct {
		const char *what;
		uint64_t offset, bytes;
	} parts[] = {
		{"header", 0, 1},
		{"L1 table", q->l1_offset, (uint64_t)q->l1_size * 8},
		{"refcount table", q->refcount_table_offset,
		 (uint64_t)q->refcount_table_clusters << q->cluster_bits},
		{"snapshot table", q->snapshots_offset, q->snapshots_bytes},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(parts); i++) {
		if (parts[i].bytes == 0)
			continue;
		uint64_t first = parts[i].offset >> q->cluster_bits;
		uint64_t last = (parts[i].offset + parts[i].bytes - 1) >> q->cluster_bits;
		for (uint64_t c = first; c <= last; c++) {
			uint64_t rc;
			if (hg_qcow2_refcount_get(q, c, &rc) < 0 || rc == 0) {
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "%s: the %s is not counted in the refcounts "
					    "(corrupt image; qemu-img check -r all repairs it)",
					    q->path, parts[i].what);
				return false;
			}
		}
	}
	return true;
}

/* Counting every reference from the tables, as the repair below and the
 * snapshot changes (qcow2_commit.c) do. */
G_GNUC_PRINTF(2, 3)
static bool counter_error(HgQcow2Counter *c, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(c->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s: %s", c->q->path,
		    c->doing, message);
	return false;
}

bool hg_qcow2_counter_add(HgQcow2Counter *c, uint64_t offset, uint64_t bytes, const char *what)
{
	HgQcow2 *q = c->q;

	if (bytes == 0)
		return true;
	uint64_t first = offset >> q->cluster_bits;
	uint64_t last = (offset + bytes - 1) >> q->cluster_bits;
	if (offset + bytes < offset || last >= c->clusters)
		return counter_error(c, "a %s lies outside the file", what);
	for (uint64_t i = first; i <= last; i++) {
		if (c->counts[i] == UINT32_MAX || c->counts[i] >= q->refcount_max)
			return counter_error(c,
					     "cluster %" G_GUINT64_FORMAT
					     " is used more often than a refcount can say",
					     i);
		c->counts[i]++;
	}
	return true;
}

bool hg_qcow2_counter_walk_l1(HgQcow2Counter *c, const uint64_t *l1, uint32_t l1_size,
			      bool count_tables, uint8_t *l2)
{
	HgQcow2 *q = c->q;

	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t l2_offset = l1[i] & QCOW2_OFFSET_MASK;
		if (!l2_offset)
			continue;
		if ((l1[i] & QCOW2_L1E_RESERVED) || (l2_offset & (q->cluster_size - 1)))
			return counter_error(c, "L1 entry %u is invalid", i);
		if (count_tables &&
		    !hg_qcow2_counter_add(c, l2_offset, q->cluster_size, "L2 table"))
			return false;
		if (l2_offset + q->cluster_size > q->file_end ||
		    hg_block_fd_pread(q->fd, l2_offset, l2, q->cluster_size) < 0)
			return counter_error(c, "cannot read an L2 table");
		for (uint64_t j = 0; j < qcow2_l2_entries(q); j++) {
			uint64_t e = qcow2_be64(l2 + j * 8);
			if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t host, bytes;
				hg_qcow2_compressed_range(q, e, &host, &bytes);
				if (host >= q->file_end)
					return counter_error(c, "a compressed cluster lies "
								"outside the file");
				bytes = MIN(bytes, q->file_end - host);
				if (!hg_qcow2_counter_add(c, host, bytes, "compressed cluster"))
					return false;
				continue;
			}
			uint64_t host = e & QCOW2_OFFSET_MASK;
			if (!host)
				continue;
			if ((e & QCOW2_L2E_RESERVED) || (host & (q->cluster_size - 1)))
				return counter_error(c, "an L2 entry is invalid");
			if (!hg_qcow2_counter_add(c, host, q->cluster_size, "data cluster"))
				return false;
		}
	}
	return true;
}

/* Refcount repair: count every reference from the tables, then rewrite the
 * refcount blocks and the COPIED flags to match.  Runs on open, before any
 * other write, when the dirty bit says the counts may be wrong. */
static bool rebuild_count(HgQcow2Counter *rb, uint8_t *l2)
{
	HgQcow2 *q = rb->q;

	if (!hg_qcow2_counter_add(rb, 0, q->cluster_size, "header") ||
	    !hg_qcow2_counter_add(rb, q->l1_offset, (uint64_t)q->l1_size * 8, "L1 table") ||
	    !hg_qcow2_counter_add(rb, q->refcount_table_offset,
				  (uint64_t)q->refcount_table_clusters << q->cluster_bits,
				  "refcount table") ||
	    !hg_qcow2_counter_add(rb, q->snapshots_offset, q->snapshots_bytes, "snapshot table"))
		return false;
	for (uint64_t i = 0; i < q->refcount_table_entries; i++)
		if (q->refcount_table[i] &&
		    !hg_qcow2_counter_add(rb, q->refcount_table[i], q->cluster_size,
					  "refcount block"))
			return false;
	if (!hg_qcow2_counter_walk_l1(rb, q->l1, q->l1_size, true, l2))
		return false;
	for (uint32_t s = 0; s < q->nb_snapshots; s++) {
		HgQcow2Snapshot *snap = &q->snapshots[s];
		g_autofree uint64_t *l1 = g_new(uint64_t, MAX(1, snap->l1_size));
		if (!hg_qcow2_counter_add(rb, snap->l1_offset, (uint64_t)snap->l1_size * 8,
					  "snapshot L1 table"))
			return false;
		if (hg_block_fd_pread(q->fd, snap->l1_offset, l1, (uint64_t)snap->l1_size * 8) < 0)
			return counter_error(rb, "cannot read a snapshot's L1 table");
		for (uint32_t i = 0; i < snap->l1_size; i++)
			l1[i] = GUINT64_FROM_BE(l1[i]);
		if (!hg_qcow2_counter_walk_l1(rb, l1, snap->l1_size, true, l2))
			return false;
	}
	return true;
}

/* A refcount block counted more than once (two table entries, or also an
 * L2 table or data) would be overwritten by another's counts below:
 * cluster 0 could then look free and be handed out. */
static bool rebuild_check_blocks_unshared(HgQcow2Counter *rb)
{
	HgQcow2 *q = rb->q;

	for (uint64_t b = 0; b < q->refcount_table_entries; b++)
		if (q->refcount_table[b] &&
		    rb->counts[q->refcount_table[b] >> q->cluster_bits] != 1)
			return counter_error(rb,
					     "refcount block %" G_GUINT64_FORMAT
					     " shares its cluster with other metadata or data",
					     b);
	return true;
}

/* Counted clusters with no refcount block get new blocks past the end of
 * the file (which count themselves). */
static bool rebuild_add_missing_blocks(HgQcow2Counter *rb, uint64_t *new_blocks)
{
	HgQcow2 *q = rb->q;
	uint64_t file_clusters = rb->clusters;

	*new_blocks = 0;
	for (uint64_t c = 0; c < rb->clusters; c++) {
		uint64_t b = c >> q->refblock_bits;
		if (!rb->counts[c] || (b < q->refcount_table_entries && q->refcount_table[b]))
			continue;
		if (b >= q->refcount_table_entries)
			return counter_error(rb, "the refcount table is too small");
		uint64_t block = file_clusters + (*new_blocks)++;
		rb->clusters = block + 1;
		rb->counts = g_realloc_n(rb->counts, rb->clusters, sizeof(uint32_t));
		rb->counts[block] = 1;
		q->refcount_table[b] = block << q->cluster_bits;
	}
	return true;
}

static bool rebuild_fix_copied_flags(HgQcow2Counter *rb, uint8_t *l2)
{
	HgQcow2 *q = rb->q;

	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t l2_offset = q->l1[i] & QCOW2_OFFSET_MASK;
		if (!l2_offset)
			continue;
		uint64_t want = rb->counts[l2_offset >> q->cluster_bits] == 1
					? l2_offset | QCOW2_OFLAG_COPIED
					: l2_offset;
		if (want != q->l1[i]) {
			uint8_t be[8];
			qcow2_put_be64(be, want);
			if (hg_block_fd_pwrite(q->fd, q->l1_offset + i * 8ull, be, 8) < 0)
				return counter_error(rb, "cannot write the L1 table");
			q->l1[i] = want;
		}
		if (hg_block_fd_pread(q->fd, l2_offset, l2, q->cluster_size) < 0)
			return counter_error(rb, "cannot read an L2 table");
		bool changed = false;
		for (uint64_t j = 0; j < qcow2_l2_entries(q); j++) {
			uint64_t e = qcow2_be64(l2 + j * 8), fixed = e;
			uint64_t host = e & QCOW2_OFFSET_MASK;
			if (e & QCOW2_OFLAG_COMPRESSED)
				fixed = e & ~QCOW2_OFLAG_COPIED;
			else if (!host)
				fixed = e & ~QCOW2_OFLAG_COPIED;
			else if (rb->counts[host >> q->cluster_bits] == 1)
				fixed = e | QCOW2_OFLAG_COPIED;
			else
				fixed = e & ~QCOW2_OFLAG_COPIED;
			if (fixed != e) {
				qcow2_put_be64(l2 + j * 8, fixed);
				changed = true;
			}
		}
		if (changed && hg_block_fd_pwrite(q->fd, l2_offset, l2, q->cluster_size) < 0)
			return counter_error(rb, "cannot write an L2 table");
	}
	return true;
}

bool hg_qcow2_rebuild_refcounts(HgQcow2 *q, GError **error)
{
	uint64_t cs = q->cluster_size, per_block = refblock_entries(q), new_blocks;
	HgQcow2Counter rb = {q, (q->file_end + cs - 1) >> q->cluster_bits, NULL,
			     "cannot repair the refcounts", error};
	g_autofree uint8_t *l2 = g_malloc(cs);
	g_autofree uint8_t *block = g_malloc(cs);
	bool ok = false;

	rb.counts = g_try_new0(uint32_t, MAX(1, rb.clusters));
	if (!rb.counts)
		return counter_error(&rb, "out of memory");
	if (!rebuild_count(&rb, l2) || !rebuild_check_blocks_unshared(&rb) ||
	    !rebuild_add_missing_blocks(&rb, &new_blocks))
		goto out;
	for (uint64_t b = 0; b < q->refcount_table_entries; b++) {
		if (!q->refcount_table[b])
			continue;
		memset(block, 0, cs);
		for (uint64_t i = 0; i < per_block; i++) {
			uint64_t c = b * per_block + i;
			if (c < rb.clusters)
				hg_qcow2_refblock_write(q, block, i, rb.counts[c]);
		}
		if (hg_block_fd_pwrite(q->fd, q->refcount_table[b], block, cs) < 0) {
			counter_error(&rb, "cannot write a refcount block");
			goto out;
		}
	}
	if (new_blocks) {
		/* The blocks are on disk: now the table may point to them. */
		g_autofree uint64_t *table = g_new(uint64_t, q->refcount_table_entries);
		for (uint64_t i = 0; i < q->refcount_table_entries; i++)
			table[i] = GUINT64_TO_BE(q->refcount_table[i]);
		if (fdatasync(q->fd) < 0 ||
		    hg_block_fd_pwrite(q->fd, q->refcount_table_offset, table,
				       q->refcount_table_entries * 8) < 0) {
			counter_error(&rb, "cannot write the refcount table");
			goto out;
		}
		q->file_end = MAX(q->file_end, rb.clusters * cs);
	}
	if (!rebuild_fix_copied_flags(&rb, l2))
		goto out;
	if (fdatasync(q->fd) < 0) {
		counter_error(&rb, "cannot sync the image");
		goto out;
	}
	hg_qcow2_cache_forget_all(q->refblock_cache);
	hg_qcow2_cache_forget_all(q->l2_cache);
	q->free_cluster_hint = 0;
	ok = true;
out:
	g_free(rb.counts);
	return ok;
}

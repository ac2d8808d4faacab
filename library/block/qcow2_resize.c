/* Resizing a qcow2 image (hg_block_resize): the virtual size in the
 * header, the active L1 table when it must map more, and on shrinking the
 * tables past the new end (the spec's "Header" and "Cluster mapping").
 * Internal snapshots keep their own L1 tables, sizes and counts: nothing
 * here touches them.
 *
 * Crash safety follows qcow2_commit.c: new metadata is written beside the
 * old, then one header write switches to it.
 * Growing:
 *  1. An L1 table too short for the new size: its last cluster's free tail
 *     takes the new entries (zeroes) when it has room; else a new, longer
 *     table is allocated, written, and its refcounts written and synced.
 *     Nothing points to the new entries or table yet.  (A table longer than
 *     a refcount block's span, which small clusters make, goes in through
 *     hg_qcow2_commit instead, which lays out the refcounts anew.)
 *  2. Where the new part would not read as zeroes (a backing file longer
 *     than the old size, a last cluster cut by the old end, entries left
 *     past it by another program), the header first switches to the new
 *     L1 table with the old size, then the range is zeroed and flushed...
 *  3. ...then one 24-byte write of header bytes 24-47 (size, crypt method,
 *     L1 size, L1 offset) switches to the new size.  A crash before it
 *     leaves the old image (and leaked clusters), after it the new one.
 *  4. The old L1 table is uncounted at a barrier after the switch.
 * Shrinking is refused when a cluster past the new end maps data, or when
 * the backing file's data would show there; otherwise the new size is
 * written first (one write), so nothing past it is visible any more, and
 * only then are the L1 entries past the end cleared and what their tables
 * held freed at a barrier.  A crash between leaks clusters, no more.  The
 * L1 table keeps its length: qcow2 allows it to map more than the disk.
 *
 * Threads: no I/O runs meanwhile (block.h); the tables are still changed
 * under metadata_lock, which is dropped around the zeroing and the reads
 * that go through qcow2_cluster.c (they take it themselves). */
#include "library/block/qcow2.h"

#include <errno.h>
#include <gio/gio.h>
#include <unistd.h>

#define HEADER_SIZE_OFFSET 24
#define HEADER_SIZE_AND_L1_BYTES 24

static uint64_t l2_span_bits(const HgQcow2 *q)
{
	return q->cluster_bits + q->l2_bits;
}

static uint64_t l1_entries_for(const HgQcow2 *q, uint64_t size)
{
	return (size + (1ull << l2_span_bits(q)) - 1) >> l2_span_bits(q);
}

static uint64_t round_up(uint64_t value, uint64_t alignment)
{
	return (value + alignment - 1) & ~(alignment - 1);
}

static bool resize_io_error(HgQcow2 *q, int r, const char *doing, GError **error)
{
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "%s: cannot %s: %s", q->path,
		    doing, g_strerror(-r));
	return false;
}

/* What a cluster past an end holds, as far as resizing cares. */
typedef enum {
	ENTRY_UNALLOCATED, /* reads from the backing file, or zeroes */
	ENTRY_ZERO, /* reads as zeroes, may still hold a cluster */
	ENTRY_DATA, /* data, compressed data, or an entry that makes no sense */
} EntryKind;

static EntryKind entry_kind(const HgQcow2 *q, uint64_t e)
{
	if (e == 0)
		return ENTRY_UNALLOCATED;
	if (e & QCOW2_OFLAG_COMPRESSED)
		return ENTRY_DATA;
	if ((e & QCOW2_OFLAG_ZERO) && q->version >= 3 && !(e & QCOW2_L2E_RESERVED))
		return ENTRY_ZERO;
	return ENTRY_DATA;
}

/* The L2 table an L1 entry points to, from the cache (under
 * metadata_lock); NULL without an error when there is none. */
static int l2_table_get(HgQcow2 *q, uint64_t l1e, void **table)
{
	uint64_t offset = l1e & QCOW2_OFFSET_MASK;

	*table = NULL;
	if (!offset)
		return 0;
	if ((l1e & QCOW2_L1E_RESERVED) || offset < q->cluster_size ||
	    offset + q->cluster_size > q->file_end)
		return -EIO;
	return hg_qcow2_cache_get(q->l2_cache, offset, table);
}

static uint64_t l2_entry_at(const HgQcow2 *q, const void *table, uint64_t guest)
{
	uint64_t i = (guest >> q->cluster_bits) & (qcow2_l2_entries(q) - 1);
	return qcow2_be64((const uint8_t *)table + i * 8);
}

/* One write of header bytes 24-47, then a sync. */
static int write_size_and_l1(HgQcow2 *q, uint64_t size, uint32_t l1_size, uint64_t l1_offset)
{
	uint8_t h[HEADER_SIZE_AND_L1_BYTES] = {0};

	qcow2_put_be64(h, size);
	/* h[8..11]: crypt_method, 0 (encrypted images are refused on open). */
	qcow2_put_be32(h + 12, l1_size);
	qcow2_put_be64(h + 16, l1_offset);
	int r = hg_block_fd_pwrite(q->fd, HEADER_SIZE_OFFSET, h, sizeof(h));
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	return r;
}

/* A snapshot without the disk size in its extra data has "the image's
 * size" (the spec): resizing would resize the snapshot too. */
static bool snapshots_record_their_size(HgQcow2 *q, GError **error)
{
	for (uint32_t i = 0; i < q->nb_snapshots; i++) {
		if (qcow2_be32(q->snapshots[i].entry + 36) < 16) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "%s: snapshot %s does not record its disk size, so the "
				    "image cannot be resized",
				    q->path, q->snapshots[i].id);
			return false;
		}
	}
	return true;
}

/* Clusters an entry holds, uncounted at the next barrier; entries that
 * make no sense point to nothing that may be freed. */
static void release_entry(HgQcow2 *q, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t host, bytes;
		hg_qcow2_compressed_range(q, e, &host, &bytes);
		if (host < q->cluster_size || host >= q->file_end)
			return;
		bytes = MIN(bytes, q->file_end - host);
		uint64_t first = host >> q->cluster_bits;
		uint64_t last = (host + bytes - 1) >> q->cluster_bits;
		hg_qcow2_pending_free(q, first << q->cluster_bits, last - first + 1);
		return;
	}
	uint64_t host = e & QCOW2_OFFSET_MASK;
	if (!host || (e & QCOW2_L2E_RESERVED) || (host & (q->cluster_size - 1)) ||
	    host < q->cluster_size || host >= q->file_end)
		return;
	hg_qcow2_pending_free(q, host, 1);
}

/* Shrinking ---------------------------------------------------------- */

typedef struct {
	bool data; /* a cluster past the end maps data */
	bool backing_shows; /* an unallocated one shows the backing file's data */
	bool partial_holds_clusters; /* the L2 table cut by the end holds clusters past it */
} ShrinkScan;

/* The clusters wholly past size, up to the old size: under metadata_lock.
 * [backing_from, backing_to): where the backing file may hold data. */
static int shrink_scan(HgQcow2 *q, uint64_t size, uint64_t old_size, uint64_t backing_from,
		       uint64_t backing_to, ShrinkScan *scan)
{
	uint64_t cs = q->cluster_size, end = round_up(old_size, cs);
	uint64_t partial_end = l1_entries_for(q, size) << l2_span_bits(q);

	memset(scan, 0, sizeof(*scan));
	for (uint64_t g = round_up(size, cs); g < end && !scan->data && !scan->backing_shows;) {
		uint64_t l1_index = g >> l2_span_bits(q);
		uint64_t span_end = MIN((l1_index + 1) << l2_span_bits(q), end);
		void *table;
		int r = l1_index < q->l1_size ? l2_table_get(q, q->l1[l1_index], &table) : -EIO;

		if (r < 0)
			return r;
		if (!table) {
			scan->backing_shows = g < backing_to && backing_from < span_end;
			g = span_end;
			continue;
		}
		for (; g < span_end; g += cs) {
			uint64_t e = l2_entry_at(q, table, g);
			EntryKind kind = entry_kind(q, e);
			if (kind == ENTRY_DATA) {
				scan->data = true;
				break;
			}
			if (kind == ENTRY_UNALLOCATED && g < backing_to && backing_from < g + cs) {
				scan->backing_shows = true;
				break;
			}
			if (g < partial_end && (e & QCOW2_OFFSET_MASK))
				scan->partial_holds_clusters = true;
		}
		hg_qcow2_cache_put(q->l2_cache, table);
	}
	return 0;
}

/* Whether the bytes [size, end of its cluster) read as zeroes: the cluster
 * the new end cuts through stays, and so does its tail. */
static int shrink_tail_is_zero(HgQcow2 *q, uint64_t size, uint64_t old_size, bool *zero)
{
	uint64_t to = MIN(round_up(size, q->cluster_size), old_size);
	g_autofree uint8_t *buf = NULL;

	*zero = true;
	if (to <= size)
		return 0;
	buf = g_malloc(to - size);
	struct iovec iov = {buf, to - size};
	int r = hg_qcow2_readv(q, size, &iov, 1);
	for (uint64_t i = 0; r == 0 && i < to - size; i++) {
		if (buf[i]) {
			*zero = false;
			break;
		}
	}
	return r;
}

/* The L2 tables wholly past the new end leave the L1 table, with what
 * they hold: the entry is cleared (written through) before any cluster is
 * queued, so no barrier can uncount a cluster still reachable on disk. */
static int shrink_drop_tables(HgQcow2 *q, uint64_t size)
{
	for (uint64_t i = l1_entries_for(q, size); i < q->l1_size; i++) {
		uint64_t l2_offset = q->l1[i] & QCOW2_OFFSET_MASK;
		void *table;
		int r = l2_table_get(q, q->l1[i], &table);

		if (r < 0)
			return r;
		if (!table)
			continue;
		uint8_t zero[8] = {0};
		r = hg_block_fd_pwrite(q->fd, q->l1_offset + i * 8, zero, 8);
		if (r < 0) {
			hg_qcow2_cache_put(q->l2_cache, table);
			return r;
		}
		q->l1[i] = 0;
		/* The table stays cached (and counted) until the barrier. */
		for (uint64_t j = 0; j < qcow2_l2_entries(q); j++)
			release_entry(q, qcow2_be64((uint8_t *)table + j * 8));
		hg_qcow2_cache_put(q->l2_cache, table);
		hg_qcow2_pending_free(q, l2_offset, 1);
	}
	return 0;
}

static bool qcow2_shrink(HgBlockBackend *blk, HgQcow2 *q, uint64_t size, GError **error)
{
	uint64_t old_size = q->size, cs = q->cluster_size;
	uint64_t backing_to = q->backing ? MIN(old_size, hg_block_size(q->backing)) : 0;
	uint64_t backing_from = round_up(size, cs);
	ShrinkScan scan;
	bool tail_zero;
	int r;

	/* Unlocked: it reads through qcow2_cluster.c. */
	r = shrink_tail_is_zero(q, size, old_size, &tail_zero);
	if (r < 0)
		return resize_io_error(q, r, "read the image", error);
	if (backing_from < backing_to)
		backing_from = hg_block_next_data(q->backing, backing_from);

	g_mutex_lock(&q->metadata_lock);
	r = hg_qcow2_flush_metadata(q);
	if (r == 0)
		r = shrink_scan(q, size, old_size, backing_from, backing_to, &scan);
	if (r < 0) {
		g_mutex_unlock(&q->metadata_lock);
		return resize_io_error(q, r, "read the image's tables", error);
	}
	if (!tail_zero || scan.data || scan.backing_shows) {
		g_mutex_unlock(&q->metadata_lock);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: cannot shrink to %" G_GUINT64_FORMAT " bytes: %s", q->path, size,
			    scan.backing_shows ? "the backing file's data shows past that"
					       : "there is data past that");
		return false;
	}
	r = write_size_and_l1(q, size, q->l1_size, q->l1_offset);
	if (r < 0) {
		/* The header may or may not have changed: no more writes; the
		 * next open finds out which size it has. */
		q->read_only = true;
		g_mutex_unlock(&q->metadata_lock);
		return resize_io_error(q, r, "write the header", error);
	}
	q->size = size;
	blk->size = size;
	r = shrink_drop_tables(q, size);
	g_mutex_unlock(&q->metadata_lock);

	/* The table the end cuts through: zero entries that still hold a
	 * cluster give it back (discard copies a table shared with a
	 * snapshot first). */
	uint64_t partial_from = round_up(size, cs);
	uint64_t partial_end = l1_entries_for(q, size) << l2_span_bits(q);
	if (r == 0 && scan.partial_holds_clusters && partial_from < partial_end)
		r = hg_qcow2_discard(q, partial_from, partial_end - partial_from, false, true);

	g_mutex_lock(&q->metadata_lock);
	if (r == 0)
		r = hg_qcow2_flush_metadata(q);
	g_mutex_unlock(&q->metadata_lock);
	/* The size has changed; only space may be left unreturned. */
	if (r < 0)
		return resize_io_error(q, r, "free the clusters past the new end", error);
	return true;
}

/* Growing ------------------------------------------------------------ */

typedef struct {
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t *l1; /* host order, l1_size entries */
	uint64_t fresh_clusters; /* a new table's clusters at l1_offset; 0 in place */
	bool by_commit; /* the new table goes in through hg_qcow2_commit */
} NewL1;

/* The L1 table for entries; under metadata_lock, nothing switched yet. */
static int grow_prepare_l1(HgQcow2 *q, uint64_t entries, NewL1 *n)
{
	uint64_t cs = q->cluster_size, max_entries = QCOW2_MAX_L1_BYTES / 8;
	uint64_t capacity = MIN(round_up((uint64_t)q->l1_size * 8, cs) / 8, max_entries);
	int r = 0;

	/* n->l1 stays NULL when the present table will do: the zeroing may
	 * still change that one, so it is not copied. */
	memset(n, 0, sizeof(*n));
	if (entries <= q->l1_size)
		return 0;
	n->l1_offset = q->l1_offset;

	uint64_t last_rc = 0;
	if (q->l1_size && entries <= capacity)
		r = hg_qcow2_refcount_get(
			q, (q->l1_offset >> q->cluster_bits) + ((uint64_t)q->l1_size * 8 - 1) / cs,
			&last_rc);
	if (r < 0)
		return r;
	if (last_rc == 1) {
		/* The last cluster's tail: the table's own, unused. */
		g_autofree uint8_t *zeroes = g_malloc0((entries - q->l1_size) * 8);
		n->l1 = g_new0(uint64_t, entries);
		memcpy(n->l1, q->l1, (uint64_t)q->l1_size * 8);
		n->l1_size = entries;
		return hg_block_fd_pwrite(q->fd, q->l1_offset + (uint64_t)q->l1_size * 8, zeroes,
					  (entries - q->l1_size) * 8);
	}

	/* A new table, with room to grow by half again before the next. */
	uint64_t want = MIN(MAX(entries, (uint64_t)q->l1_size * 3 / 2), max_entries);
	uint64_t clusters = round_up(want * 8, cs) / cs;
	want = MIN(clusters * cs / 8, max_entries);
	n->l1 = g_new0(uint64_t, want);
	memcpy(n->l1, q->l1, (uint64_t)q->l1_size * 8);
	n->l1_size = want;
	/* The allocator puts a missing refcount block at the start of the
	 * clusters it counts, so it finds no run as long as a block's span
	 * where the file has yet to grow (small clusters): then the new state
	 * is laid out whole, refcounts included (qcow2_commit.c). */
	if (clusters >= (1ull << q->refblock_bits)) {
		n->by_commit = true;
		return 0;
	}
	r = hg_qcow2_alloc_clusters(q, clusters, &n->l1_offset);
	if (r < 0)
		return r;
	n->fresh_clusters = clusters;

	g_autofree uint64_t *be = g_malloc0(clusters * cs);
	for (uint64_t i = 0; i < want; i++)
		be[i] = GUINT64_TO_BE(n->l1[i]);
	r = hg_block_fd_pwrite(q->fd, n->l1_offset, be, clusters * cs);
	/* Counted on disk before the header may point to it. */
	if (r == 0)
		r = hg_qcow2_cache_write_back(q->refblock_cache);
	return r;
}

/* The in-memory state follows a header that now names n's table. */
static void grow_take_l1(HgQcow2 *q, NewL1 *n)
{
	uint64_t old_offset = q->l1_offset, old_bytes = (uint64_t)q->l1_size * 8;

	g_free(q->l1);
	q->l1 = g_steal_pointer(&n->l1);
	q->l1_size = n->l1_size;
	q->l1_offset = n->l1_offset;
	if (n->fresh_clusters && old_bytes)
		hg_qcow2_pending_free(q, old_offset,
				      round_up(old_bytes, q->cluster_size) >> q->cluster_bits);
	n->fresh_clusters = 0;
}

/* Switches to n's table with the given size: one header write, or a
 * commit.  The table is q's afterwards.  0, or -1 with error set. */
static int grow_switch(HgQcow2 *q, NewL1 *n, uint64_t size, GError **error)
{
	if (n->by_commit) {
		HgQcow2View v = {n->l1, n->l1_size, size, q->snapshots, q->nb_snapshots, false};
		if (!hg_qcow2_commit(q, &v, error))
			return -1;
		g_clear_pointer(&n->l1, g_free);
		n->by_commit = false;
		return 0;
	}
	int r = write_size_and_l1(q, size, n->l1_size, n->l1_offset);
	if (r < 0) {
		/* The header may or may not have changed: no more writes;
		 * the next open finds out which state it is. */
		q->read_only = true;
		n->fresh_clusters = 0;
		resize_io_error(q, r, "write the header", error);
		return -1;
	}
	grow_take_l1(q, n);
	return 0;
}

/* Where, past the old size, the image would not read as zeroes: up to
 * what is returned.  Under metadata_lock. */
static int grow_zero_end(HgQcow2 *q, uint64_t size, uint64_t *zero_end)
{
	uint64_t old_size = q->size, cs = q->cluster_size;
	uint64_t mapped_to = MIN(size, (uint64_t)q->l1_size << l2_span_bits(q));

	*zero_end = old_size;
	if (q->backing && hg_block_size(q->backing) > old_size)
		*zero_end = MIN(size, hg_block_size(q->backing));
	/* Entries from the old end on: the cluster it cuts through when it
	 * maps data, any entry (left by another program) past it. */
	for (uint64_t g = old_size & ~(cs - 1); g < mapped_to;) {
		uint64_t l1_index = g >> l2_span_bits(q);
		uint64_t span_end = MIN((l1_index + 1) << l2_span_bits(q), mapped_to);
		void *table;
		int r = l2_table_get(q, q->l1[l1_index], &table);

		if (r < 0)
			return r;
		if (!table) {
			g = span_end;
			continue;
		}
		for (; g < span_end; g += cs) {
			uint64_t e = l2_entry_at(q, table, g);
			bool cut = g < old_size;
			if ((cut && entry_kind(q, e) == ENTRY_DATA) || (!cut && e != 0))
				*zero_end = MAX(*zero_end, MIN(size, g + cs));
		}
		hg_qcow2_cache_put(q->l2_cache, table);
	}
	return 0;
}

static bool qcow2_grow(HgBlockBackend *blk, HgQcow2 *q, uint64_t size, GError **error)
{
	uint64_t old_size = q->size, zero_end = old_size;
	NewL1 n = {0};
	bool ok = false;
	int r;

	g_mutex_lock(&q->metadata_lock);
	/* Everything on disk and no frees waiting: the file is the old state. */
	r = hg_qcow2_flush_metadata(q);
	if (r == 0)
		r = grow_zero_end(q, size, &zero_end);
	if (r == 0)
		r = grow_prepare_l1(q, l1_entries_for(q, size), &n);
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	if (r < 0) {
		resize_io_error(q, r, "write the new L1 table", error);
		goto fail;
	}

	if (zero_end > old_size) {
		/* The bigger table first, still with the old size. */
		if (n.l1 && grow_switch(q, &n, old_size, error) < 0)
			goto fail;
		/* Discard treats the last cluster as whole only at the end of
		 * the disk: let it see the new size, which no one else does. */
		q->size = size;
		g_mutex_unlock(&q->metadata_lock);
		r = hg_qcow2_discard(q, old_size, zero_end - old_size, true, true);
		g_mutex_lock(&q->metadata_lock);
		q->size = old_size;
		if (r == 0)
			r = hg_qcow2_flush_metadata(q);
		if (r < 0) {
			resize_io_error(q, r, "zero the new part", error);
			goto fail;
		}
	}
	if (n.l1) {
		if (grow_switch(q, &n, size, error) < 0)
			goto fail;
	} else {
		r = write_size_and_l1(q, size, q->l1_size, q->l1_offset);
		if (r < 0) {
			q->read_only = true;
			resize_io_error(q, r, "write the header", error);
			goto fail;
		}
	}
	q->size = size;
	blk->size = size;
	ok = true;
	/* The old table's clusters go back now; failing that only leaks. */
	r = hg_qcow2_flush_metadata(q);
	if (r < 0)
		g_warning("%s: the old L1 table was not freed (%s); the next open repairs it",
			  q->path, g_strerror(-r));
	goto out;

fail:
	if (n.fresh_clusters) /* never pointed to: uncount it */
		hg_qcow2_pending_free(q, n.l1_offset, n.fresh_clusters);
out:
	g_free(n.l1);
	blk->size = q->size;
	g_mutex_unlock(&q->metadata_lock);
	return ok;
}

bool hg_qcow2_resize(HgBlockBackend *blk, uint64_t size, GError **error)
{
	HgQcow2 *q = blk->state;

	if (q->read_only) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_READ_ONLY,
			    "%s: the image no longer takes writes after a failed header write",
			    q->path);
		return false;
	}
	if (size > (1ull << 62) || l1_entries_for(q, size) * 8 > QCOW2_MAX_L1_BYTES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: %" G_GUINT64_FORMAT
			    " bytes is more than an image with %" G_GUINT64_FORMAT
			    "-byte clusters can hold",
			    q->path, size, q->cluster_size);
		return false;
	}
	if (!snapshots_record_their_size(q, error))
		return false;
	if (size < q->size)
		return qcow2_shrink(blk, q, size, error);
	if (size > q->size)
		return qcow2_grow(blk, q, size, error);
	return true;
}

/* qcow2 cluster mapping: guest offset to host offset through the L1 and L2
 * tables, and the reads, writes, discards and zero writes built on it (the
 * spec's "Cluster mapping").
 *
 * Write ordering, so that a crash (kill -9 or power loss) at any point
 * leaves an image whose only flaw is leaked clusters:
 *  1. A new data cluster is counted first (refcount block in the cache),
 *     its data written, then its L2 entry set in the cached L2 table, and
 *     the L2 cache made to depend on the refcount cache: no L2 table is
 *     written back before the refcount blocks have been written and synced.
 *  2. A new L2 table (fresh, or a copy of one shared with a snapshot) is
 *     counted, written and synced together with the refcount blocks before
 *     the L1 entry (written through, never cached) points to it.
 *  3. A cluster that an entry stops pointing to (overwritten compressed or
 *     shared cluster, discard, zero write, a copied L2 table) is uncounted
 *     only at the next barrier, after the L2 tables and L1 entries without
 *     it are on disk (qcow2_refcount.c, hg_qcow2_barrier).
 *  4. Clusters with a refcount above 1 (shared with an internal snapshot)
 *     are never written in place: data clusters and L2 tables are copied
 *     first, so a snapshot keeps its content and its counts stay right.
 * Guest data itself is durable only after a flush, as on a real disk.
 *
 * Threads: everything here runs under metadata_lock except moving data to
 * or from clusters that are already mapped (the common case, an overwrite
 * or a read), which happens after the lock is dropped, with
 * host_cluster_lock held for reading.  Writes that allocate do their data
 * I/O under metadata_lock so that two of them never fill one new cluster
 * twice. */
#include "library/block/qcow2.h"

#include <errno.h>

#define STACK_IOVECS 256

typedef enum {
	MAP_UNALLOCATED, /* reads from the backing file, or zeroes */
	MAP_ZERO,
	MAP_DATA,
	MAP_COMPRESSED,
} MapKind;

typedef struct {
	MapKind kind;
	uint64_t bytes; /* from the guest offset, all of this kind */
	uint64_t host; /* MAP_DATA: host offset of the guest offset */
	bool writable; /* MAP_DATA: refcount 1 (COPIED) all along */
	uint64_t entry; /* MAP_COMPRESSED: the L2 entry */
} Mapping;

void hg_qcow2_compressed_range(const HgQcow2 *q, uint64_t entry, uint64_t *host, uint64_t *bytes)
{
	unsigned x = 62 - (q->cluster_bits - 8);
	uint64_t sectors = (entry >> x) & ((1ull << (q->cluster_bits - 8)) - 1);

	*host = entry & ((1ull << x) - 1);
	*bytes = (sectors + 1) * 512 - (*host & 511);
}

static uint64_t l1_index_of(HgQcow2 *q, uint64_t guest)
{
	return guest >> (q->cluster_bits + q->l2_bits);
}

static uint64_t l2_index_of(HgQcow2 *q, uint64_t guest)
{
	return (guest >> q->cluster_bits) & (qcow2_l2_entries(q) - 1);
}

static uint64_t l2_entry(const void *table, uint64_t i)
{
	return qcow2_be64((const uint8_t *)table + i * 8);
}

static void l2_set_entry(void *table, uint64_t i, uint64_t e)
{
	qcow2_put_be64((uint8_t *)table + i * 8, e);
}

static bool l2_offset_valid(HgQcow2 *q, uint64_t l1e)
{
	uint64_t off = l1e & QCOW2_OFFSET_MASK;
	return !(l1e & QCOW2_L1E_RESERVED) && off >= q->cluster_size &&
	       off + q->cluster_size <= q->file_end;
}

/* The L2 table for reading; *table NULL when unallocated. */
static int l2_table_for_read(HgQcow2 *q, uint64_t l1_index, void **table)
{
	uint64_t e = q->l1[l1_index];

	*table = NULL;
	if ((e & QCOW2_OFFSET_MASK) == 0)
		return 0;
	if (!l2_offset_valid(q, e))
		return -EIO;
	return hg_qcow2_cache_get(q->l2_cache, e & QCOW2_OFFSET_MASK, table);
}

static int l1_write_entry(HgQcow2 *q, uint64_t l1_index, uint64_t e)
{
	uint8_t be[8];

	qcow2_put_be64(be, e);
	int r = hg_block_fd_pwrite(q->fd, q->l1_offset + l1_index * 8, be, 8);
	if (r == 0)
		q->l1[l1_index] = e;
	return r;
}

/* The L2 table for changing: allocated when missing, copied when shared
 * with a snapshot (ordering rule 2). */
static int l2_table_for_write(HgQcow2 *q, uint64_t l1_index, void **table)
{
	uint64_t e = q->l1[l1_index], old = e & QCOW2_OFFSET_MASK, fresh, rc = 0;
	void *old_table = NULL;
	int r;

	if (old) {
		if (!l2_offset_valid(q, e))
			return -EIO;
		if (e & QCOW2_OFLAG_COPIED)
			return hg_qcow2_cache_get(q->l2_cache, old, table);
		r = hg_qcow2_refcount_get(q, old >> q->cluster_bits, &rc);
		if (r < 0)
			return r;
		if (rc == 0)
			return -EIO;
		if (rc == 1) {
			r = l1_write_entry(q, l1_index, old | QCOW2_OFLAG_COPIED);
			return r < 0 ? r : hg_qcow2_cache_get(q->l2_cache, old, table);
		}
	}
	r = hg_qcow2_alloc_clusters(q, 1, &fresh);
	if (r < 0)
		return r;
	r = hg_qcow2_cache_get_empty(q->l2_cache, fresh, table);
	if (r < 0)
		return r;
	if (old) {
		r = hg_qcow2_cache_get(q->l2_cache, old, &old_table);
		if (r < 0)
			goto fail;
		memcpy(*table, old_table, q->cluster_size);
		hg_qcow2_cache_put(q->l2_cache, old_table);
	}
	r = hg_block_fd_pwrite(q->fd, fresh, *table, q->cluster_size);
	if (r == 0)
		r = hg_qcow2_cache_write_back(q->refblock_cache);
	if (r == 0 && fdatasync(q->fd) < 0)
		r = -errno;
	if (r == 0)
		r = l1_write_entry(q, l1_index, fresh | QCOW2_OFLAG_COPIED);
	if (r < 0)
		goto fail;
	if (old)
		hg_qcow2_pending_free(q, old, 1);
	return 0;
fail:
	hg_qcow2_cache_put(q->l2_cache, *table);
	hg_qcow2_cache_forget(q->l2_cache, fresh);
	*table = NULL;
	return r; /* the new cluster leaks: its count is on its way to disk */
}

/* What an L2 entry says, checked. */
static int classify(HgQcow2 *q, uint64_t e, MapKind *kind)
{
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t host, bytes;
		hg_qcow2_compressed_range(q, e, &host, &bytes);
		if (host < q->cluster_size || host >= q->file_end)
			return -EIO;
		*kind = MAP_COMPRESSED;
		return 0;
	}
	if (e & QCOW2_L2E_RESERVED)
		return -EIO;
	uint64_t host = e & QCOW2_OFFSET_MASK;
	if (e & QCOW2_OFLAG_ZERO) {
		if (q->version < 3 || (host & (q->cluster_size - 1)) ||
		    (host && host >= q->file_end))
			return -EIO;
		*kind = MAP_ZERO;
		return 0;
	}
	if (!host) {
		*kind = MAP_UNALLOCATED;
		return (e & QCOW2_OFLAG_COPIED) ? -EIO : 0;
	}
	if ((host & (q->cluster_size - 1)) || host >= q->file_end)
		return -EIO;
	*kind = MAP_DATA;
	return 0;
}

/* Maps [guest, guest + max) as far as one kind (and, for data, contiguous
 * host clusters) goes, within one L2 table. */
static int map_range(HgQcow2 *q, uint64_t guest, uint64_t max, Mapping *m)
{
	uint64_t cs = q->cluster_size, in_cluster = guest & (cs - 1);
	uint64_t l2_index = l2_index_of(q, guest);
	void *table;
	int r = l2_table_for_read(q, l1_index_of(q, guest), &table);

	memset(m, 0, sizeof(*m));
	if (r < 0)
		return r;
	if (!table) {
		uint64_t span_left = (qcow2_l2_entries(q) - l2_index) * cs - in_cluster;
		m->kind = MAP_UNALLOCATED;
		m->bytes = MIN(max, span_left);
		return 0;
	}
	uint64_t e = l2_entry(table, l2_index);
	r = classify(q, e, &m->kind);
	if (r < 0)
		goto out;
	m->bytes = MIN(max, cs - in_cluster);
	if (m->kind == MAP_COMPRESSED) {
		m->entry = e;
		goto out;
	}
	if (m->kind == MAP_DATA) {
		m->host = (e & QCOW2_OFFSET_MASK) + in_cluster;
		m->writable = e & QCOW2_OFLAG_COPIED;
	}
	for (uint64_t i = l2_index + 1; i < qcow2_l2_entries(q) && m->bytes < max; i++) {
		uint64_t next = l2_entry(table, i);
		MapKind kind;
		if (classify(q, next, &kind) < 0 || kind != m->kind || kind == MAP_COMPRESSED)
			break;
		if (kind == MAP_DATA &&
		    ((next & QCOW2_OFFSET_MASK) != (e & QCOW2_OFFSET_MASK) + (i - l2_index) * cs ||
		     !!(next & QCOW2_OFLAG_COPIED) != m->writable))
			break;
		m->bytes += MIN(cs, max - m->bytes);
	}
out:
	hg_qcow2_cache_put(q->l2_cache, table);
	return r;
}

/* A compressed cluster, decompressed into q->decompressed (kept for the
 * next read of the same cluster). */
static int read_compressed(HgQcow2 *q, uint64_t entry)
{
	uint64_t host, bytes;

	if (q->decompressed_entry == entry)
		return 0;
	hg_qcow2_compressed_range(q, entry, &host, &bytes);
	if (host >= q->file_end)
		return -EIO;
	/* The last sectors may lie past the end of the file. */
	bytes = MIN(bytes, q->file_end - host);
	int r = hg_block_fd_pread(q->fd, host, q->compressed, bytes);
	if (r == 0)
		r = hg_qcow2_decompress(q, q->compressed, bytes, q->decompressed, q->cluster_size);
	q->decompressed_entry = r == 0 ? entry : 0;
	return r;
}

/* Guest bytes with no cluster of their own: the backing file's, zeroes
 * past its end or without one. */
static int read_backing(HgQcow2 *q, uint64_t guest, const struct iovec *iov, int iovcnt,
			uint64_t skip, uint64_t len)
{
	uint64_t backing_size = q->backing ? hg_block_size(q->backing) : 0;
	uint64_t from_backing = guest < backing_size ? MIN(len, backing_size - guest) : 0;

	if (from_backing) {
		struct iovec stack[STACK_IOVECS];
		struct iovec *sub = stack;
		int n = hg_block_iov_slice(iov, iovcnt, skip, from_backing, sub, STACK_IOVECS);
		if (n < 0) {
			sub = g_new(struct iovec, iovcnt);
			n = hg_block_iov_slice(iov, iovcnt, skip, from_backing, sub, iovcnt);
		}
		int r = hg_block_readv(q->backing, guest, sub, n);
		if (sub != stack)
			g_free(sub);
		if (r < 0)
			return r;
	}
	hg_block_iov_memset(iov, iovcnt, skip + from_backing, 0, len - from_backing);
	return 0;
}

/* Data at host offsets: the part past the end of the file reads as zeroes
 * (QEMU may leave a last cluster short). */
static int transfer_data(HgQcow2 *q, uint64_t host, const struct iovec *iov, int iovcnt,
			 uint64_t skip, uint64_t len, bool write, uint64_t file_end)
{
	struct iovec stack[STACK_IOVECS];
	struct iovec *sub = stack;
	uint64_t in_file = write ? len : (host < file_end ? MIN(len, file_end - host) : 0);
	int r = 0;

	if (in_file) {
		int n = hg_block_iov_slice(iov, iovcnt, skip, in_file, sub, STACK_IOVECS);
		if (n < 0) {
			sub = g_new(struct iovec, iovcnt);
			n = hg_block_iov_slice(iov, iovcnt, skip, in_file, sub, iovcnt);
		}
		r = hg_block_fd_transfer(q->fd, host, sub, n, write);
		if (sub != stack)
			g_free(sub);
	}
	if (r == 0 && in_file < len)
		hg_block_iov_memset(iov, iovcnt, skip + in_file, 0, len - in_file);
	return r;
}

int hg_qcow2_readv(HgQcow2 *q, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	uint64_t total = hg_block_iov_length(iov, iovcnt), done = 0;

	while (done < total) {
		uint64_t guest = offset + done;
		Mapping m;
		int r;

		g_mutex_lock(&q->metadata_lock);
		r = map_range(q, guest, total - done, &m);
		if (r < 0) {
			g_mutex_unlock(&q->metadata_lock);
			return r;
		}
		switch (m.kind) {
		case MAP_DATA: {
			uint64_t file_end = q->file_end;
			g_rw_lock_reader_lock(&q->host_cluster_lock);
			g_mutex_unlock(&q->metadata_lock);
			r = transfer_data(q, m.host, iov, iovcnt, done, m.bytes, false, file_end);
			g_rw_lock_reader_unlock(&q->host_cluster_lock);
			break;
		}
		case MAP_COMPRESSED:
			r = read_compressed(q, m.entry);
			if (r == 0)
				hg_block_iov_from_buffer(
					iov, iovcnt, done,
					q->decompressed + (guest & (q->cluster_size - 1)), m.bytes);
			g_mutex_unlock(&q->metadata_lock);
			break;
		case MAP_ZERO:
			g_mutex_unlock(&q->metadata_lock);
			hg_block_iov_memset(iov, iovcnt, done, 0, m.bytes);
			break;
		case MAP_UNALLOCATED:
			g_mutex_unlock(&q->metadata_lock);
			r = read_backing(q, guest, iov, iovcnt, done, m.bytes);
			break;
		}
		if (r < 0)
			return r;
		done += m.bytes;
	}
	return 0;
}

/* The old content of a whole guest cluster, for the part of a new cluster
 * that a write does not cover. */
static int cow_fill(HgQcow2 *q, uint64_t guest_cluster, uint64_t e, uint8_t *buf)
{
	struct iovec iov = {buf, q->cluster_size};
	MapKind kind;
	int r = classify(q, e, &kind);

	if (r < 0)
		return r;
	switch (kind) {
	case MAP_COMPRESSED:
		r = read_compressed(q, e);
		if (r == 0)
			memcpy(buf, q->decompressed, q->cluster_size);
		return r;
	case MAP_DATA:
		return transfer_data(q, e & QCOW2_OFFSET_MASK, &iov, 1, 0, q->cluster_size, false,
				     q->file_end);
	case MAP_ZERO:
		memset(buf, 0, q->cluster_size);
		return 0;
	default:
		return read_backing(q, guest_cluster, &iov, 1, 0, q->cluster_size);
	}
}

/* The cluster an entry held, to uncount at the next barrier. */
static void release_entry(HgQcow2 *q, uint64_t e)
{
	MapKind kind;

	/* An entry that makes no sense points to nothing we may free. */
	if (classify(q, e, &kind) < 0 || kind == MAP_UNALLOCATED)
		return;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t host, bytes;
		hg_qcow2_compressed_range(q, e, &host, &bytes);
		bytes = MIN(bytes, q->file_end - host);
		uint64_t first = host >> q->cluster_bits;
		uint64_t last = (host + bytes - 1) >> q->cluster_bits;
		hg_qcow2_pending_free(q, first << q->cluster_bits, last - first + 1);
	} else if (e & QCOW2_OFFSET_MASK) {
		hg_qcow2_pending_free(q, e & QCOW2_OFFSET_MASK, 1);
	}
}

/* The write's part from guest on that needs new clusters: as many
 * contiguous new clusters as the run of such entries in this L2 table,
 * filled from the old content where the write is partial, then mapped.
 * Under metadata_lock.  *written 0 means "look again" (a flag fixed). */
static int write_allocating(HgQcow2 *q, uint64_t guest, uint64_t len, const struct iovec *iov,
			    int iovcnt, uint64_t skip, uint64_t *written)
{
	uint64_t cs = q->cluster_size, l2_index = l2_index_of(q, guest);
	uint64_t first_cluster = guest & ~(cs - 1), end = guest + len;
	uint64_t count = 0, host;
	void *table;
	int r = l2_table_for_write(q, l1_index_of(q, guest), &table);

	*written = 0;
	if (r < 0)
		return r;
	uint64_t e = l2_entry(table, l2_index);
	MapKind kind;
	r = classify(q, e, &kind);
	if (r < 0)
		goto out;
	if (kind == MAP_DATA) {
		uint64_t rc;
		r = hg_qcow2_refcount_get(q, (e & QCOW2_OFFSET_MASK) >> q->cluster_bits, &rc);
		if (r < 0)
			goto out;
		if (rc == 0) {
			r = -EIO;
			goto out;
		}
		if (rc == 1 || (e & QCOW2_OFLAG_COPIED)) {
			/* Not shared after all: only the flag was missing. */
			l2_set_entry(table, l2_index, e | QCOW2_OFLAG_COPIED);
			hg_qcow2_cache_mark_dirty(q->l2_cache, table);
			goto out;
		}
	}
	/* The run: this cluster, and the following ones in the write that
	 * hold no data cluster of their own. */
	count = 1;
	while (l2_index + count < qcow2_l2_entries(q) && first_cluster + count * cs < end) {
		MapKind next;
		if (classify(q, l2_entry(table, l2_index + count), &next) < 0 || next == MAP_DATA)
			break;
		count++;
	}
	r = hg_qcow2_alloc_clusters(q, count, &host);
	if (r < 0)
		goto out;

	/* Data: partial first and last clusters through the bounce buffer,
	 * the whole ones between straight from the guest's buffers. */
	uint64_t run_start = 0, run_len = 0; /* whole clusters not yet written */
	for (uint64_t k = 0; k < count && r == 0; k++) {
		uint64_t g = first_cluster + k * cs;
		uint64_t from = MAX(g, guest), to = MIN(g + cs, end);
		if (from == g && to == g + cs) {
			if (!run_len)
				run_start = k;
			run_len += cs;
			continue;
		}
		if (run_len) {
			r = transfer_data(q, host + run_start * cs, iov, iovcnt,
					  skip + (first_cluster + run_start * cs - guest), run_len,
					  true, 0);
			run_len = 0;
			if (r < 0)
				break;
		}
		r = cow_fill(q, g, l2_entry(table, l2_index + k), q->bounce);
		if (r < 0)
			break;
		hg_block_iov_to_buffer(iov, iovcnt, skip + (from - guest), q->bounce + (from - g),
				       to - from);
		r = hg_block_fd_pwrite(q->fd, host + k * cs, q->bounce, cs);
	}
	if (r == 0 && run_len)
		r = transfer_data(q, host + run_start * cs, iov, iovcnt,
				  skip + (first_cluster + run_start * cs - guest), run_len, true,
				  0);
	if (r < 0) {
		/* Nothing points to the new clusters: uncount them later. */
		hg_qcow2_pending_free(q, host, count);
		goto out;
	}
	/* Before the table changes: a barrier inside release_entry may write
	 * it back, and the new clusters' counts must reach the disk first. */
	hg_qcow2_cache_depends_on(q->l2_cache, q->refblock_cache);
	hg_qcow2_cache_mark_dirty(q->l2_cache, table);
	for (uint64_t k = 0; k < count; k++) {
		release_entry(q, l2_entry(table, l2_index + k));
		l2_set_entry(table, l2_index + k, (host + k * cs) | QCOW2_OFLAG_COPIED);
	}
	*written = MIN(end, first_cluster + count * cs) - guest;
out:
	hg_qcow2_cache_put(q->l2_cache, table);
	return r;
}

/* Metadata is never a data cluster; an image that says otherwise is
 * corrupt, and writing there would make it worse. */
static bool overlaps_metadata(HgQcow2 *q, uint64_t host, uint64_t len)
{
	uint64_t reftable_bytes = (uint64_t)q->refcount_table_clusters << q->cluster_bits;

	return host < q->cluster_size ||
	       (host < q->l1_offset + q->l1_size * 8ull && q->l1_offset < host + len) ||
	       (host < q->refcount_table_offset + reftable_bytes &&
		q->refcount_table_offset < host + len);
}

int hg_qcow2_writev(HgQcow2 *q, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	uint64_t total = hg_block_iov_length(iov, iovcnt), done = 0;

	while (done < total) {
		uint64_t guest = offset + done, written = 0;
		Mapping m;
		int r;

		g_mutex_lock(&q->metadata_lock);
		r = map_range(q, guest, total - done, &m);
		if (r == 0 && m.kind == MAP_DATA && m.writable) {
			if (overlaps_metadata(q, m.host, m.bytes)) {
				g_mutex_unlock(&q->metadata_lock);
				return -EIO;
			}
			g_rw_lock_reader_lock(&q->host_cluster_lock);
			g_mutex_unlock(&q->metadata_lock);
			r = transfer_data(q, m.host, iov, iovcnt, done, m.bytes, true, 0);
			g_rw_lock_reader_unlock(&q->host_cluster_lock);
			if (r < 0)
				return r;
			done += m.bytes;
			continue;
		}
		if (r == 0)
			r = write_allocating(q, guest, total - done, iov, iovcnt, done, &written);
		g_mutex_unlock(&q->metadata_lock);
		if (r < 0)
			return r;
		done += written;
	}
	return 0;
}

static const uint8_t zero_buffer[65536];

/* Writes zeroes the ordinary way (partial clusters). */
static int write_zero_bytes(HgQcow2 *q, uint64_t offset, uint64_t len)
{
	struct iovec iov[32];

	while (len) {
		int n = 0;
		uint64_t chunk = 0;
		while (n < (int)G_N_ELEMENTS(iov) && chunk < len) {
			iov[n].iov_base = (void *)zero_buffer;
			iov[n].iov_len = MIN(sizeof(zero_buffer), len - chunk);
			chunk += iov[n].iov_len;
			n++;
		}
		int r = hg_qcow2_writev(q, offset, iov, n);
		if (r < 0)
			return r;
		offset += chunk;
		len -= chunk;
	}
	return 0;
}

/* Whole clusters [first, first + count * cs): unmapped (reading zeroes,
 * or the backing file where a discard allows it). */
static int unmap_clusters(HgQcow2 *q, uint64_t first, uint64_t count, bool zero)
{
	uint64_t cs = q->cluster_size;
	/* Version 3 says "zero" with a flag; without a backing file an
	 * unallocated cluster reads as zero too. */
	uint64_t target = (q->backing && q->version >= 3) ? QCOW2_OFLAG_ZERO : 0;
	int r = 0;

	if (q->backing && q->version < 3) {
		/* Discard may leave the data; zeroes must be written. */
		return zero ? write_zero_bytes(q, first, count * cs) : 0;
	}
	g_mutex_lock(&q->metadata_lock);
	for (uint64_t done = 0; done < count && r == 0;) {
		uint64_t guest = first + done * cs;
		uint64_t l1_index = l1_index_of(q, guest), l2_index = l2_index_of(q, guest);
		uint64_t here = MIN(count - done, qcow2_l2_entries(q) - l2_index);
		void *table;

		if (target == 0 && (q->l1[l1_index] & QCOW2_OFFSET_MASK) == 0) {
			done += here; /* no L2 table: unallocated already */
			continue;
		}
		r = l2_table_for_write(q, l1_index, &table);
		if (r < 0)
			break;
		for (uint64_t i = l2_index; i < l2_index + here; i++) {
			uint64_t e = l2_entry(table, i);
			if (e == target)
				continue;
			/* Dirty before a barrier in release_entry may run. */
			hg_qcow2_cache_mark_dirty(q->l2_cache, table);
			release_entry(q, e);
			l2_set_entry(table, i, target);
		}
		hg_qcow2_cache_put(q->l2_cache, table);
		done += here;
	}
	g_mutex_unlock(&q->metadata_lock);
	return r;
}

int hg_qcow2_discard(HgQcow2 *q, uint64_t offset, uint64_t len, bool zero, bool may_unmap)
{
	uint64_t cs = q->cluster_size, end = offset + len;
	uint64_t first = (offset + cs - 1) & ~(cs - 1), last = end & ~(cs - 1);
	int r = 0;

	/* The last cluster of an image whose size is not a multiple of the
	 * cluster size counts as whole. */
	if (end == q->size)
		last = (end + cs - 1) & ~(cs - 1);
	if (first >= last) {
		/* Within one cluster: a discard may do nothing. */
		return zero ? write_zero_bytes(q, offset, len) : 0;
	}
	if (zero && offset < first)
		r = write_zero_bytes(q, offset, first - offset);
	if (r == 0)
		r = unmap_clusters(q, first, (last - first) / cs, zero);
	if (r == 0 && zero && last < end)
		r = write_zero_bytes(q, last, end - last);
	(void)may_unmap; /* zeroes are always unmapped: the flag is cheaper than data */
	return r;
}

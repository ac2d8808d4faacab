/* qcow2 inside the image layer: the state of one open image and what the
 * qcow2_*.c files call in each other.  The format: QEMU's
 * docs/interop/qcow2.txt ("the spec" in these files).
 *
 * Threads: any number of threads may call in at once (engine/block_queue.c
 * runs several workers on one backend).  metadata_lock guards the tables
 * (L1, L2 and refcount caches, refcount table), cluster allocation, the
 * frees waiting for a barrier, the bounce and compression buffers.  Data
 * moves to and from mapped clusters outside it where it can; such a
 * transfer holds host_cluster_lock for reading so that no cluster is
 * reused for something else while it is in flight (qcow2_cluster.c). */
#pragma once

#include "library/block/block_driver.h"

#include <string.h>
#include <zlib.h>

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32u << 20) /* QEMU's limits, so both open the same images */
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_SNAPSHOT_TABLE_BYTES (64u << 20)
#define QCOW2_MAX_BACKING_NAME 1023

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTENDED_L2 (1ull << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

#define QCOW2_HEADER_INCOMPAT_OFFSET 72
#define QCOW2_HEADER_AUTOCLEAR_OFFSET 88
#define QCOW2_HEADER_REFTABLE_OFFSET 48 /* refcount_table_offset, then _clusters */

/* L1 entries, L2 entries and refcount table entries. */
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO (1ull << 0)
#define QCOW2_L1E_RESERVED 0x7f000000000001ffull
#define QCOW2_L2E_RESERVED 0x3f000000000001feull
#define QCOW2_REFTABLE_RESERVED 0x1ffull

enum {
	QCOW2_COMPRESSION_ZLIB = 0,
	QCOW2_COMPRESSION_ZSTD = 1,
};

typedef struct HgQcow2Cache HgQcow2Cache;

/* One entry of the snapshot table (the spec's "Snapshots"). */
typedef struct {
	uint64_t l1_offset;
	uint32_t l1_size;
	char *id;
	char *name;
	uint32_t date_sec;
	uint32_t date_nsec;
	uint64_t vm_clock_ns;
	uint64_t vm_state_size; /* the 64-bit extra field when present */
	uint64_t disk_size; /* the image's size when the extra field is absent */
	/* The entry as on disk without its padding, written back as it is:
	 * extra data this code does not know stays. */
	uint8_t *entry;
	uint32_t entry_len;
} HgQcow2Snapshot;

typedef struct {
	uint64_t offset; /* of the first cluster */
	uint64_t clusters;
} HgQcow2PendingFree;

typedef struct HgQcow2 {
	int fd;
	bool read_only;
	const char *path; /* the backend's */

	/* The header, host byte order; fixed once open except where noted. */
	uint32_t version;
	uint32_t cluster_bits;
	uint64_t cluster_size;
	uint32_t l2_bits; /* log2 of the entries in an L2 table */
	uint64_t size;
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t refcount_table_offset; /* changes when the table grows */
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t snapshots_bytes; /* the table's length, found by parsing it */
	uint64_t incompatible;
	uint64_t compatible;
	uint64_t autoclear;
	uint32_t refcount_order;
	uint32_t refblock_bits; /* log2 of the entries in a refcount block */
	uint64_t refcount_max;
	uint32_t header_length;
	uint32_t compression_type;
	char *backing_name;
	char *backing_format;
	HgQcow2Snapshot *snapshots;
	bool dirty_bit_ours; /* we set the dirty bit on open and clear it on close */

	HgBlockBackend *backing;

	GMutex metadata_lock;
	uint64_t *l1; /* host byte order */
	uint64_t *refcount_table; /* host byte order */
	uint64_t refcount_table_entries;
	HgQcow2Cache *l2_cache;
	HgQcow2Cache *refblock_cache;
	uint64_t free_cluster_hint; /* no free cluster below this index */
	uint64_t file_end; /* bytes */
	HgQcow2PendingFree *pending_frees;
	unsigned pending_count;
	uint8_t *bounce; /* one cluster */
	uint8_t *compressed; /* the compressed bytes of one cluster */
	uint8_t *decompressed; /* the last cluster decompressed... */
	uint64_t decompressed_entry; /* ...and its L2 entry, 0 for none */
	z_stream inflate;
	bool inflate_ready;
	void *zstd; /* ZSTD_DCtx */

	GRWLock host_cluster_lock;
} HgQcow2;

#define QCOW2_PENDING_FREES_MAX 1024

static inline uint64_t qcow2_offset_to_cluster(const HgQcow2 *q, uint64_t offset)
{
	return offset >> q->cluster_bits;
}

static inline uint64_t qcow2_l2_entries(const HgQcow2 *q)
{
	return 1ull << q->l2_bits;
}

/* qcow2_header.c */
bool hg_qcow2_read_header(HgQcow2 *q, GError **error);
int hg_qcow2_write_incompatible(HgQcow2 *q, uint64_t features);
int hg_qcow2_write_autoclear(HgQcow2 *q, uint64_t features);
int hg_qcow2_write_refcount_table_location(HgQcow2 *q, uint64_t offset, uint32_t clusters);

/* qcow2_snapshot_table.c: the snapshot table, parsed and checked on open
 * (q->snapshots), written out, searched. */
#define QCOW2_SNAPSHOT_NAME_MAX 255 /* QEMU keeps names in 256-byte buffers */
bool hg_qcow2_snapshot_table_read(HgQcow2 *q, GError **error);
void hg_qcow2_snapshots_free(HgQcow2Snapshot *snapshots, uint32_t count);
HgQcow2Snapshot *hg_qcow2_snapshots_copy(const HgQcow2Snapshot *snapshots, uint32_t count,
					 uint32_t room);
bool hg_qcow2_snapshot_fill(HgQcow2Snapshot *snap, uint64_t l1_offset, uint32_t l1_size,
			    const char *id, const char *name, uint64_t vm_clock_ns,
			    uint64_t disk_size, GError **error);
uint8_t *hg_qcow2_snapshot_table_bytes(const HgQcow2Snapshot *snapshots, uint32_t count,
				       uint64_t *bytes);
bool hg_qcow2_snapshot_table_usable(HgQcow2 *q, GError **error);
int hg_qcow2_snapshot_find(HgQcow2 *q, const char *id_or_name);
char *hg_qcow2_snapshot_next_id(HgQcow2 *q);
uint64_t *hg_qcow2_snapshot_read_l1(HgQcow2 *q, const HgQcow2Snapshot *snap, uint32_t *l1_size,
				    GError **error);

/* qcow2_commit.c: switching to new metadata in one header write (see
 * there).  The new active L1 table is given by its entries (host order;
 * its L2 tables are copied); new_table: snapshots become the snapshot
 * table (taken on success), else the present one stays. */
typedef struct {
	const uint64_t *l1;
	uint32_t l1_size;
	uint64_t size;
	HgQcow2Snapshot *snapshots;
	uint32_t nb_snapshots;
	bool new_table;
} HgQcow2View;
bool hg_qcow2_commit(HgQcow2 *q, HgQcow2View *v, GError **error);

/* qcow2_resize.c: the driver's resize call. */
bool hg_qcow2_resize(HgBlockBackend *blk, uint64_t size, GError **error);

/* qcow2_snapshot.c: the driver's snapshot calls. */
GPtrArray *hg_qcow2_snapshot_list(HgBlockBackend *blk, GError **error);
HgBlockSnapshot *hg_qcow2_snapshot_create(HgBlockBackend *blk, const char *name,
					  guint64 vm_clock_ns, GError **error);
bool hg_qcow2_snapshot_apply(HgBlockBackend *blk, const char *id_or_name, GError **error);
bool hg_qcow2_snapshot_delete(HgBlockBackend *blk, const char *id_or_name, GError **error);
bool hg_qcow2_snapshot_show(HgBlockBackend *blk, const char *id_or_name, GError **error);

/* qcow2_cache.c: tables one cluster big (L2 tables, refcount blocks) kept
 * in their on-disk byte order.  A table from get stays put until put;
 * dirty tables are written back before eviction, after the cache they
 * depend on has been flushed. */
HgQcow2Cache *hg_qcow2_cache_new(HgQcow2 *q, unsigned tables);
void hg_qcow2_cache_free(HgQcow2Cache *c);
int hg_qcow2_cache_get(HgQcow2Cache *c, uint64_t offset, void **table);
int hg_qcow2_cache_get_empty(HgQcow2Cache *c, uint64_t offset, void **table);
void hg_qcow2_cache_put(HgQcow2Cache *c, void *table);
void hg_qcow2_cache_mark_dirty(HgQcow2Cache *c, void *table);
void hg_qcow2_cache_depends_on(HgQcow2Cache *c, HgQcow2Cache *dependency);
int hg_qcow2_cache_write_back(HgQcow2Cache *c);
void hg_qcow2_cache_forget(HgQcow2Cache *c, uint64_t offset);
void hg_qcow2_cache_forget_all(HgQcow2Cache *c);

/* qcow2_refcount.c */
uint64_t hg_qcow2_refblock_read(HgQcow2 *q, const uint8_t *block, uint64_t i);
void hg_qcow2_refblock_write(HgQcow2 *q, uint8_t *block, uint64_t i, uint64_t value);
bool hg_qcow2_refcount_open(HgQcow2 *q, GError **error);
int hg_qcow2_refcount_get(HgQcow2 *q, uint64_t cluster, uint64_t *refcount);
int hg_qcow2_refcount_change(HgQcow2 *q, uint64_t cluster, int delta);
int hg_qcow2_alloc_clusters(HgQcow2 *q, uint64_t count, uint64_t *offset);
void hg_qcow2_pending_free(HgQcow2 *q, uint64_t offset, uint64_t clusters);
int hg_qcow2_barrier(HgQcow2 *q);
int hg_qcow2_flush_metadata(HgQcow2 *q);
bool hg_qcow2_check_metadata_refcounts(HgQcow2 *q, GError **error);
bool hg_qcow2_rebuild_refcounts(HgQcow2 *q, GError **error);
/* Counting references from scratch (the repair, the snapshot changes):
 * counts[] covers clusters [0, clusters); an error message starts with
 * doing. */
typedef struct {
	HgQcow2 *q;
	uint64_t clusters;
	uint32_t *counts;
	const char *doing;
	GError **error;
} HgQcow2Counter;
bool hg_qcow2_counter_add(HgQcow2Counter *c, uint64_t offset, uint64_t bytes, const char *what);
/* Counts what an L1 table (host order) reaches: its L2 tables when
 * count_tables, and their clusters.  l2: a cluster of scratch space. */
bool hg_qcow2_counter_walk_l1(HgQcow2Counter *c, const uint64_t *l1, uint32_t l1_size,
			      bool count_tables, uint8_t *l2);

/* qcow2_cluster.c */
int hg_qcow2_readv(HgQcow2 *q, uint64_t offset, const struct iovec *iov, int iovcnt);
int hg_qcow2_writev(HgQcow2 *q, uint64_t offset, const struct iovec *iov, int iovcnt);
int hg_qcow2_discard(HgQcow2 *q, uint64_t offset, uint64_t len, bool zero, bool may_unmap);
void hg_qcow2_compressed_range(const HgQcow2 *q, uint64_t entry, uint64_t *host, uint64_t *bytes);

/* qcow2_compress.c */
int hg_qcow2_decompress(HgQcow2 *q, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len);
void hg_qcow2_compress_free(HgQcow2 *q);

/* Big-endian access. */
static inline uint64_t qcow2_be64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return GUINT64_FROM_BE(v);
}

static inline uint32_t qcow2_be32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return GUINT32_FROM_BE(v);
}

static inline uint16_t qcow2_be16(const void *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return GUINT16_FROM_BE(v);
}

static inline void qcow2_put_be64(void *p, uint64_t v)
{
	v = GUINT64_TO_BE(v);
	memcpy(p, &v, 8);
}

static inline void qcow2_put_be32(void *p, uint32_t v)
{
	v = GUINT32_TO_BE(v);
	memcpy(p, &v, 4);
}

/* A small cache of one-cluster metadata tables (L2 tables, refcount
 * blocks) for qcow2.  Tables stay in their on-disk (big-endian) form, so a
 * write-back is a plain pwrite.  Callers hold the image's metadata_lock.
 *
 * Ordering: a cache may depend on another ("write that one first"): before
 * any of its dirty tables is written, the other cache is written back and
 * the file synced.  qcow2_cluster.c makes the L2 cache depend on the
 * refcount cache whenever an L2 entry starts pointing to a newly counted
 * cluster. */
#include "library/block/qcow2.h"

#include <errno.h>
#include <unistd.h>

typedef struct {
	uint64_t offset; /* 0: unused */
	uint64_t last_use;
	unsigned pins;
	bool dirty;
} CacheEntry;

struct HgQcow2Cache {
	HgQcow2 *q;
	unsigned count;
	CacheEntry *entries;
	uint8_t *tables; /* count clusters */
	uint64_t use_clock;
	HgQcow2Cache *dependency;
};

HgQcow2Cache *hg_qcow2_cache_new(HgQcow2 *q, unsigned tables)
{
	HgQcow2Cache *c = g_new0(HgQcow2Cache, 1);

	c->q = q;
	c->count = tables;
	c->entries = g_new0(CacheEntry, tables);
	c->tables = g_malloc(tables * q->cluster_size);
	return c;
}

void hg_qcow2_cache_free(HgQcow2Cache *c)
{
	if (!c)
		return;
	g_free(c->entries);
	g_free(c->tables);
	g_free(c);
}

static uint8_t *cache_table(HgQcow2Cache *c, unsigned i)
{
	return c->tables + (size_t)i * c->q->cluster_size;
}

static unsigned cache_index(HgQcow2Cache *c, const void *table)
{
	return ((const uint8_t *)table - c->tables) / c->q->cluster_size;
}

static int cache_flush_dependency(HgQcow2Cache *c)
{
	HgQcow2Cache *dep = c->dependency;

	if (!dep)
		return 0;
	int r = hg_qcow2_cache_write_back(dep);
	if (r == 0 && fdatasync(c->q->fd) < 0)
		r = -errno;
	if (r == 0)
		c->dependency = NULL;
	return r;
}

static int cache_write_entry(HgQcow2Cache *c, unsigned i)
{
	CacheEntry *e = &c->entries[i];

	if (!e->dirty)
		return 0;
	int r = cache_flush_dependency(c);
	if (r < 0)
		return r;
	r = hg_block_fd_pwrite(c->q->fd, e->offset, cache_table(c, i), c->q->cluster_size);
	if (r < 0)
		return r;
	e->dirty = false;
	if (e->offset + c->q->cluster_size > c->q->file_end)
		c->q->file_end = e->offset + c->q->cluster_size;
	return 0;
}

int hg_qcow2_cache_write_back(HgQcow2Cache *c)
{
	for (unsigned i = 0; i < c->count; i++) {
		int r = cache_write_entry(c, i);
		if (r < 0)
			return r;
	}
	return 0;
}

void hg_qcow2_cache_depends_on(HgQcow2Cache *c, HgQcow2Cache *dependency)
{
	c->dependency = dependency;
}

/* Finds offset, or a slot for it (the least recently used unpinned one,
 * written back first). */
static int cache_lookup(HgQcow2Cache *c, uint64_t offset, bool *hit, unsigned *index)
{
	int victim = -1;

	for (unsigned i = 0; i < c->count; i++) {
		CacheEntry *e = &c->entries[i];
		if (e->offset == offset) {
			*hit = true;
			*index = i;
			return 0;
		}
		if (e->pins == 0 &&
		    (victim < 0 || e->offset == 0 ||
		     (c->entries[victim].offset && e->last_use < c->entries[victim].last_use)))
			victim = i;
	}
	if (victim < 0)
		return -ENOMEM; /* every table pinned: a bug, not an I/O error */
	int r = cache_write_entry(c, victim);
	if (r < 0)
		return r;
	c->entries[victim].offset = 0;
	*hit = false;
	*index = victim;
	return 0;
}

static int cache_get(HgQcow2Cache *c, uint64_t offset, bool read, void **table)
{
	bool hit;
	unsigned i;
	int r;

	g_assert(offset != 0);
	r = cache_lookup(c, offset, &hit, &i);
	if (r < 0)
		return r;
	if (!hit) {
		if (read) {
			r = hg_block_fd_pread(c->q->fd, offset, cache_table(c, i),
					      c->q->cluster_size);
			if (r < 0)
				return r;
		} else {
			memset(cache_table(c, i), 0, c->q->cluster_size);
		}
		c->entries[i].offset = offset;
		c->entries[i].dirty = false;
	}
	c->entries[i].pins++;
	c->entries[i].last_use = ++c->use_clock;
	*table = cache_table(c, i);
	return 0;
}

int hg_qcow2_cache_get(HgQcow2Cache *c, uint64_t offset, void **table)
{
	return cache_get(c, offset, true, table);
}

/* A table about to be filled by the caller (a new one): zeroed, not read. */
int hg_qcow2_cache_get_empty(HgQcow2Cache *c, uint64_t offset, void **table)
{
	int r = cache_get(c, offset, false, table);
	if (r == 0)
		memset(*table, 0, c->q->cluster_size);
	return r;
}

void hg_qcow2_cache_put(HgQcow2Cache *c, void *table)
{
	CacheEntry *e = &c->entries[cache_index(c, table)];
	g_assert(e->pins > 0);
	e->pins--;
}

void hg_qcow2_cache_mark_dirty(HgQcow2Cache *c, void *table)
{
	c->entries[cache_index(c, table)].dirty = true;
}

/* The cluster at offset is no longer this kind of table (freed): drop it
 * without writing it. */
void hg_qcow2_cache_forget(HgQcow2Cache *c, uint64_t offset)
{
	for (unsigned i = 0; i < c->count; i++) {
		if (c->entries[i].offset == offset && c->entries[i].pins == 0) {
			c->entries[i].offset = 0;
			c->entries[i].dirty = false;
		}
	}
}

void hg_qcow2_cache_forget_all(HgQcow2Cache *c)
{
	for (unsigned i = 0; i < c->count; i++) {
		c->entries[i].offset = 0;
		c->entries[i].dirty = false;
	}
}

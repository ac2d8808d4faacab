/* qcow2 internal snapshots: list, create, apply, delete, and showing one
 * read-only (the spec's "Snapshots").  Each change is a new metadata state
 * switched to in one header write (qcow2_commit.c), so a crash leaves the
 * image before or after it, never between.
 *
 * create: the present active L1 table becomes the snapshot's, as it is;
 *   the active one is a copy (with copies of its L2 tables).
 * apply: the active L1 table becomes a copy of the snapshot's, and the
 *   virtual size the snapshot's (QEMU does the same).
 * delete: the entry leaves the table; what only it used is freed.
 * The refcounts of all three come from counting the new state.
 *
 * Threads: the caller keeps all I/O off the image meanwhile (block.h); the
 * tables are still changed under metadata_lock. */
#include "library/block/qcow2.h"

#include <gio/gio.h>
#include <string.h>

static HgBlockSnapshot *snapshot_public(const HgQcow2Snapshot *snap)
{
	HgBlockSnapshot *pub = g_new0(HgBlockSnapshot, 1);

	pub->id = g_strdup(snap->id);
	pub->name = g_strdup(snap->name);
	pub->date_sec = snap->date_sec;
	pub->date_nsec = snap->date_nsec;
	pub->vm_clock_ns = snap->vm_clock_ns;
	pub->vm_state_size = snap->vm_state_size;
	pub->disk_size = snap->disk_size;
	return pub;
}

/* The snapshot called id_or_name, under metadata_lock; -1 and an error. */
static int snapshot_lookup(HgQcow2 *q, const char *id_or_name, GError **error)
{
	if (!hg_qcow2_snapshot_table_usable(q, error))
		return -1;
	int i = hg_qcow2_snapshot_find(q, id_or_name);
	if (i < 0)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no snapshot \"%s\"",
			    q->path, id_or_name);
	return i;
}

GPtrArray *hg_qcow2_snapshot_list(HgBlockBackend *blk, GError **error)
{
	HgQcow2 *q = blk->state;
	GPtrArray *list = NULL;

	g_mutex_lock(&q->metadata_lock);
	if (hg_qcow2_snapshot_table_usable(q, error)) {
		list = g_ptr_array_new_with_free_func((GDestroyNotify)hg_block_snapshot_free);
		for (uint32_t i = 0; i < q->nb_snapshots; i++)
			g_ptr_array_add(list, snapshot_public(&q->snapshots[i]));
	}
	g_mutex_unlock(&q->metadata_lock);
	return list;
}

static HgBlockSnapshot *snapshot_create_locked(HgQcow2 *q, const char *name, guint64 vm_clock_ns,
					       GError **error)
{
	if (!hg_qcow2_snapshot_table_usable(q, error))
		return NULL;
	if (hg_qcow2_snapshot_find(q, name) >= 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "%s: there is a snapshot called \"%s\" already", q->path, name);
		return NULL;
	}
	if (q->refcount_max < 2) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: 1-bit refcounts cannot count the clusters a snapshot shares",
			    q->path);
		return NULL;
	}
	if (q->nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "%s: the image has %u snapshots, as many as it can", q->path,
			    q->nb_snapshots);
		return NULL;
	}
	g_autofree char *id = hg_qcow2_snapshot_next_id(q);
	HgQcow2Snapshot *table = hg_qcow2_snapshots_copy(q->snapshots, q->nb_snapshots, 1);
	HgQcow2View v = {q->l1, q->l1_size, q->size, table, q->nb_snapshots + 1, true};

	if (!hg_qcow2_snapshot_fill(&table[q->nb_snapshots], q->l1_offset, q->l1_size, id, name,
				    vm_clock_ns, q->size, error) ||
	    !hg_qcow2_commit(q, &v, error)) {
		hg_qcow2_snapshots_free(v.snapshots, v.nb_snapshots);
		return NULL;
	}
	return snapshot_public(&q->snapshots[q->nb_snapshots - 1]);
}

HgBlockSnapshot *hg_qcow2_snapshot_create(HgBlockBackend *blk, const char *name,
					  guint64 vm_clock_ns, GError **error)
{
	HgQcow2 *q = blk->state;

	g_mutex_lock(&q->metadata_lock);
	HgBlockSnapshot *snap = snapshot_create_locked(q, name, vm_clock_ns, error);
	g_mutex_unlock(&q->metadata_lock);
	return snap;
}

static bool snapshot_apply_locked(HgQcow2 *q, const char *id_or_name, GError **error)
{
	int i = snapshot_lookup(q, id_or_name, error);
	if (i < 0)
		return false;
	const HgQcow2Snapshot *snap = &q->snapshots[i];
	uint32_t l1_size;
	g_autofree uint64_t *l1 = hg_qcow2_snapshot_read_l1(q, snap, &l1_size, error);
	if (!l1)
		return false;
	HgQcow2View v = {l1, l1_size, snap->disk_size, q->snapshots, q->nb_snapshots, false};
	return hg_qcow2_commit(q, &v, error);
}

bool hg_qcow2_snapshot_apply(HgBlockBackend *blk, const char *id_or_name, GError **error)
{
	HgQcow2 *q = blk->state;

	g_mutex_lock(&q->metadata_lock);
	bool ok = snapshot_apply_locked(q, id_or_name, error);
	blk->size = q->size;
	g_mutex_unlock(&q->metadata_lock);
	return ok;
}

static bool snapshot_delete_locked(HgQcow2 *q, const char *id_or_name, GError **error)
{
	int i = snapshot_lookup(q, id_or_name, error);
	if (i < 0)
		return false;
	HgQcow2Snapshot *table = hg_qcow2_snapshots_copy(q->snapshots, q->nb_snapshots, 0);
	HgQcow2View v = {q->l1, q->l1_size, q->size, table, q->nb_snapshots - 1, true};

	/* The copy without entry i: its strings go now, the rest moves up. */
	g_free(table[i].id);
	g_free(table[i].name);
	g_free(table[i].entry);
	memmove(&table[i], &table[i + 1], (q->nb_snapshots - i - 1) * sizeof(*table));
	if (!hg_qcow2_commit(q, &v, error)) {
		hg_qcow2_snapshots_free(v.snapshots, v.nb_snapshots);
		return false;
	}
	return true;
}

bool hg_qcow2_snapshot_delete(HgBlockBackend *blk, const char *id_or_name, GError **error)
{
	HgQcow2 *q = blk->state;

	g_mutex_lock(&q->metadata_lock);
	bool ok = snapshot_delete_locked(q, id_or_name, error);
	g_mutex_unlock(&q->metadata_lock);
	return ok;
}

/* A read-only backend shows a snapshot: its L1 table becomes the active
 * one in memory only (nothing is written on a read-only backend, and the
 * backing chain applies as before). */
bool hg_qcow2_snapshot_show(HgBlockBackend *blk, const char *id_or_name, GError **error)
{
	HgQcow2 *q = blk->state;
	uint32_t l1_size;
	bool ok = false;

	g_assert(q->read_only);
	g_mutex_lock(&q->metadata_lock);
	int i = snapshot_lookup(q, id_or_name, error);
	uint64_t *l1 =
		i < 0 ? NULL : hg_qcow2_snapshot_read_l1(q, &q->snapshots[i], &l1_size, error);
	if (l1) {
		g_free(q->l1);
		q->l1 = l1;
		q->l1_size = l1_size;
		q->size = q->snapshots[i].disk_size;
		blk->size = q->size;
		hg_qcow2_cache_forget_all(q->l2_cache);
		q->decompressed_entry = 0;
		ok = true;
	}
	g_mutex_unlock(&q->metadata_lock);
	return ok;
}

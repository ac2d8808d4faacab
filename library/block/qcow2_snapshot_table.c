/* The qcow2 snapshot table (the spec's "Snapshots"): parsed and checked on
 * open, made into bytes again for a new table, searched by id or name.
 *
 * An entry: 40 fixed bytes, extra data (extra_len bytes), the id, the name,
 * padding to 8 bytes.  The extra data holds the 64-bit VM state size, the
 * disk's size then (both required from version 3 on) and the icount; what
 * follows is unknown here and kept: each entry is kept as read and written
 * back byte for byte.  Nothing is trusted: every length is checked against
 * the file before it is used, and a failed check fails the open. */
#include "library/block/qcow2.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_FIXED 40
#define EXTRA_MAX 1024
#define EXTRA_WRITTEN 24 /* vm_state_size_large, disk_size, icount */

G_GNUC_PRINTF(3, 4)
static bool table_error(HgQcow2 *q, GError **error, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a valid qcow2 image: %s",
		    q->path, message);
	return false;
}

static bool in_file(HgQcow2 *q, uint64_t offset, uint64_t len)
{
	return offset <= q->file_end && len <= q->file_end - offset;
}

static bool aligned(HgQcow2 *q, uint64_t offset)
{
	return (offset & (q->cluster_size - 1)) == 0;
}

/* The L1 entries a virtual size needs. */
static uint64_t l1_entries_for(HgQcow2 *q, uint64_t size)
{
	uint64_t span_bits = q->cluster_bits + q->l2_bits;
	return (size + (1ull << span_bits) - 1) >> span_bits;
}

/* The fields of a complete entry; the lengths inside were checked. */
static void snapshot_parse(HgQcow2 *q, HgQcow2Snapshot *snap)
{
	const uint8_t *e = snap->entry;
	uint32_t id_len = qcow2_be16(e + 12), name_len = qcow2_be16(e + 14);
	uint32_t extra_len = qcow2_be32(e + 36);
	const uint8_t *extra = e + ENTRY_FIXED;

	snap->l1_offset = qcow2_be64(e);
	snap->l1_size = qcow2_be32(e + 8);
	snap->date_sec = qcow2_be32(e + 16);
	snap->date_nsec = qcow2_be32(e + 20);
	snap->vm_clock_ns = qcow2_be64(e + 24);
	snap->vm_state_size = extra_len >= 8 ? qcow2_be64(extra) : qcow2_be32(e + 32);
	snap->disk_size = extra_len >= 16 ? qcow2_be64(extra + 8) : q->size;
	snap->id = g_strndup((const char *)extra + extra_len, id_len);
	snap->name = g_strndup((const char *)extra + extra_len + id_len, name_len);
}

static bool snapshot_read(HgQcow2 *q, uint32_t i, uint64_t pos, HgQcow2Snapshot *snap,
			  uint64_t *entry_len, GError **error)
{
	uint8_t fixed[ENTRY_FIXED];

	if (pos - q->snapshots_offset + ENTRY_FIXED > QCOW2_MAX_SNAPSHOT_TABLE_BYTES ||
	    !in_file(q, pos, ENTRY_FIXED) || hg_block_fd_pread(q->fd, pos, fixed, ENTRY_FIXED) < 0)
		return table_error(q, error, "snapshot %u lies outside the file", i);
	uint32_t id_len = qcow2_be16(fixed + 12), name_len = qcow2_be16(fixed + 14);
	uint32_t extra_len = qcow2_be32(fixed + 36);
	if (extra_len > EXTRA_MAX)
		return table_error(q, error, "snapshot %u has %u bytes of extra data", i,
				   extra_len);
	/* QEMU leaves out the padding of the last entry at the end of the
	 * file. */
	uint64_t used = (uint64_t)ENTRY_FIXED + extra_len + id_len + name_len;
	*entry_len = (used + 7) & ~7ull;
	if (pos - q->snapshots_offset + *entry_len > QCOW2_MAX_SNAPSHOT_TABLE_BYTES ||
	    !in_file(q, pos, used))
		return table_error(q, error, "snapshot %u lies outside the file", i);
	snap->entry = g_malloc(used);
	snap->entry_len = used;
	memcpy(snap->entry, fixed, ENTRY_FIXED);
	if (hg_block_fd_pread(q->fd, pos + ENTRY_FIXED, snap->entry + ENTRY_FIXED,
			      used - ENTRY_FIXED) < 0)
		return table_error(q, error, "snapshot %u lies outside the file", i);
	snapshot_parse(q, snap);
	if (!aligned(q, snap->l1_offset) || snap->l1_offset == 0 ||
	    (uint64_t)snap->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
	    !in_file(q, snap->l1_offset, (uint64_t)snap->l1_size * 8) ||
	    (snap->l1_size && snap->l1_offset < q->cluster_size))
		return table_error(q, error, "snapshot %u's L1 table is invalid", i);
	if (snap->disk_size > (1ull << 62) ||
	    l1_entries_for(q, snap->disk_size) * 8 > QCOW2_MAX_L1_BYTES)
		return table_error(q, error,
				   "snapshot %u's disk size %" G_GUINT64_FORMAT " is too big", i,
				   snap->disk_size);
	return true;
}

bool hg_qcow2_snapshot_table_read(HgQcow2 *q, GError **error)
{
	uint64_t pos = q->snapshots_offset, entry_len = 0;

	if (q->nb_snapshots == 0)
		return true;
	if (q->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return table_error(q, error, "%u snapshots, more than %u", q->nb_snapshots,
				   QCOW2_MAX_SNAPSHOTS);
	if (!aligned(q, q->snapshots_offset) || q->snapshots_offset < q->cluster_size ||
	    !in_file(q, q->snapshots_offset, ENTRY_FIXED))
		return table_error(q, error,
				   "the snapshot table is unaligned, overlaps the header "
				   "or lies outside the file");
	/* Entries are added as they are read: a failure frees those. */
	uint32_t count = q->nb_snapshots;
	q->nb_snapshots = 0;
	q->snapshots = g_new0(HgQcow2Snapshot, count);
	for (uint32_t i = 0; i < count; i++) {
		q->nb_snapshots++;
		if (!snapshot_read(q, i, pos, &q->snapshots[i], &entry_len, error))
			return false;
		pos += entry_len;
	}
	q->snapshots_bytes = pos - q->snapshots_offset;
	return true;
}

void hg_qcow2_snapshots_free(HgQcow2Snapshot *snapshots, uint32_t count)
{
	if (!snapshots)
		return;
	for (uint32_t i = 0; i < count; i++) {
		g_free(snapshots[i].id);
		g_free(snapshots[i].name);
		g_free(snapshots[i].entry);
	}
	g_free(snapshots);
}

/* A deep copy with room for more entries after the count. */
HgQcow2Snapshot *hg_qcow2_snapshots_copy(const HgQcow2Snapshot *snapshots, uint32_t count,
					 uint32_t room)
{
	HgQcow2Snapshot *copy = g_new0(HgQcow2Snapshot, MAX(1, count + room));

	for (uint32_t i = 0; i < count; i++) {
		copy[i] = snapshots[i];
		copy[i].id = g_strdup(snapshots[i].id);
		copy[i].name = g_strdup(snapshots[i].name);
		copy[i].entry = g_memdup2(snapshots[i].entry, snapshots[i].entry_len);
	}
	return copy;
}

/* A new entry as QEMU writes one: 24 bytes of extra data, icount -1 (not
 * recorded), no VM state. */
bool hg_qcow2_snapshot_fill(HgQcow2Snapshot *snap, uint64_t l1_offset, uint32_t l1_size,
			    const char *id, const char *name, uint64_t vm_clock_ns,
			    uint64_t disk_size, GError **error)
{
	size_t id_len = strlen(id), name_len = strlen(name);
	gint64 now = g_get_real_time();

	if (name_len == 0 || name_len > QCOW2_SNAPSHOT_NAME_MAX ||
	    !g_utf8_validate(name, -1, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "a snapshot name is 1 to %u bytes of UTF-8", QCOW2_SNAPSHOT_NAME_MAX);
		return false;
	}
	memset(snap, 0, sizeof(*snap));
	snap->entry_len = ENTRY_FIXED + EXTRA_WRITTEN + id_len + name_len;
	snap->entry = g_malloc0(snap->entry_len);
	uint8_t *e = snap->entry;
	qcow2_put_be64(e, l1_offset);
	qcow2_put_be32(e + 8, l1_size);
	e[12] = id_len >> 8;
	e[13] = id_len;
	e[14] = name_len >> 8;
	e[15] = name_len;
	qcow2_put_be32(e + 16, now / G_USEC_PER_SEC);
	qcow2_put_be32(e + 20, (now % G_USEC_PER_SEC) * 1000);
	qcow2_put_be64(e + 24, vm_clock_ns);
	qcow2_put_be32(e + 36, EXTRA_WRITTEN);
	qcow2_put_be64(e + ENTRY_FIXED + 8, disk_size);
	qcow2_put_be64(e + ENTRY_FIXED + 16, UINT64_MAX);
	memcpy(e + ENTRY_FIXED + EXTRA_WRITTEN, id, id_len);
	memcpy(e + ENTRY_FIXED + EXTRA_WRITTEN + id_len, name, name_len);
	snap->l1_offset = l1_offset;
	snap->l1_size = l1_size;
	snap->id = g_strdup(id);
	snap->name = g_strdup(name);
	snap->date_sec = qcow2_be32(e + 16);
	snap->date_nsec = qcow2_be32(e + 20);
	snap->vm_clock_ns = vm_clock_ns;
	snap->disk_size = disk_size;
	return true;
}

/* The entries with their padding, in a buffer of whole clusters' worth
 * the caller writes; NULL for none. */
uint8_t *hg_qcow2_snapshot_table_bytes(const HgQcow2Snapshot *snapshots, uint32_t count,
				       uint64_t *bytes)
{
	uint64_t len = 0;

	for (uint32_t i = 0; i < count; i++)
		len += (snapshots[i].entry_len + 7) & ~7u;
	*bytes = len;
	if (len == 0)
		return NULL;
	uint8_t *table = g_malloc0(len);
	uint64_t pos = 0;
	for (uint32_t i = 0; i < count; i++) {
		memcpy(table + pos, snapshots[i].entry, snapshots[i].entry_len);
		pos += (snapshots[i].entry_len + 7) & ~7u;
	}
	return table;
}

/* Two entries with one id make "apply 3" ambiguous: the image still opens
 * (its disk is fine), but its snapshots are left alone. */
bool hg_qcow2_snapshot_table_usable(HgQcow2 *q, GError **error)
{
	g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);

	for (uint32_t i = 0; i < q->nb_snapshots; i++) {
		if (!g_hash_table_add(ids, q->snapshots[i].id)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: the snapshot table is invalid: two snapshots have the "
				    "id \"%s\"",
				    q->path, q->snapshots[i].id);
			return false;
		}
	}
	return true;
}

/* By id first, then by name, as qemu-img does; -1 when neither. */
int hg_qcow2_snapshot_find(HgQcow2 *q, const char *id_or_name)
{
	for (uint32_t i = 0; i < q->nb_snapshots; i++)
		if (strcmp(q->snapshots[i].id, id_or_name) == 0)
			return i;
	for (uint32_t i = 0; i < q->nb_snapshots; i++)
		if (strcmp(q->snapshots[i].name, id_or_name) == 0)
			return i;
	return -1;
}

/* One more than the highest numeric id, as QEMU picks them. */
char *hg_qcow2_snapshot_next_id(HgQcow2 *q)
{
	uint64_t max = 0;

	for (uint32_t i = 0; i < q->nb_snapshots; i++)
		max = MAX(max, g_ascii_strtoull(q->snapshots[i].id, NULL, 10));
	return g_strdup_printf("%" G_GUINT64_FORMAT, max + 1);
}

/* A snapshot's L1 table in host order, zero-padded to cover its disk size
 * (an L1 table that maps less leaves the rest unallocated). */
uint64_t *hg_qcow2_snapshot_read_l1(HgQcow2 *q, const HgQcow2Snapshot *snap, uint32_t *l1_size,
				    GError **error)
{
	uint32_t size = MAX(snap->l1_size, l1_entries_for(q, snap->disk_size));
	g_autofree uint64_t *l1 = g_new0(uint64_t, MAX(1, size));

	if (hg_block_fd_pread(q->fd, snap->l1_offset, l1, (uint64_t)snap->l1_size * 8) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s: cannot read snapshot %s's L1 table", q->path, snap->id);
		return NULL;
	}
	for (uint32_t i = 0; i < snap->l1_size; i++)
		l1[i] = GUINT64_FROM_BE(l1[i]);
	*l1_size = size;
	return g_steal_pointer(&l1);
}

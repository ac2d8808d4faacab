/* Broken qcow2 images: each is refused on open with a clear error (or, for
 * a bad L2 entry, fails the access with -EIO), nothing crashes, and the
 * file is never written.  The corpus is made here from a good image by
 * changing a field or two; random byte changes follow. */
#include "qcow2-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLUSTER 65536ull

typedef struct {
	char *dir;
	char *path;
} Fixture;

/* A good image: 8 MiB, 64 KiB clusters, data at guest offset 0 (so an L2
 * table and a data cluster exist). */
static void fixture_set_up(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	f->dir = qt_make_dir();
	f->path = g_build_filename(f->dir, "img.qcow2", NULL);
	g_assert_true(hg_block_create_qcow2(f->path, 8 << 20, NULL, 16, &error));
	HgBlockBackend *blk = qt_open(f->path, false);
	uint8_t buf[4096];
	memset(buf, 0xab, sizeof(buf));
	struct iovec iov = {buf, sizeof(buf)};
	g_assert_cmpint(hg_block_writev(blk, 0, &iov, 1), ==, 0);
	hg_block_close(blk);
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
	qt_remove_dir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

static void put32(const char *path, uint64_t offset, uint32_t value)
{
	int fd = open(path, O_WRONLY);
	value = GUINT32_TO_BE(value);
	g_assert_cmpint(pwrite(fd, &value, 4, offset), ==, 4);
	close(fd);
}

static void put64(const char *path, uint64_t offset, uint64_t value)
{
	int fd = open(path, O_WRONLY);
	value = GUINT64_TO_BE(value);
	g_assert_cmpint(pwrite(fd, &value, 8, offset), ==, 8);
	close(fd);
}

static uint64_t get64(const char *path, uint64_t offset)
{
	int fd = open(path, O_RDONLY);
	uint64_t value;
	g_assert_cmpint(pread(fd, &value, 8, offset), ==, 8);
	close(fd);
	return GUINT64_FROM_BE(value);
}

static void put_bytes(const char *path, uint64_t offset, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);
	g_assert_cmpint(pwrite(fd, bytes, len, offset), ==, (ssize_t)len);
	close(fd);
}

/* Neither read-write nor read-only opens; the message names the file;
 * the file is as it was. */
static void assert_refused(const char *path, const char *expect)
{
	g_autofree char *before = qt_file_hash(path);
	for (int ro = 0; ro < 2; ro++) {
		g_autoptr(GError) error = NULL;
		HgBlockBackend *blk = hg_block_open(path, ro, &error);
		g_assert_null(blk);
		g_assert_nonnull(error);
		g_assert_nonnull(strstr(error->message, path));
		if (expect && !strstr(error->message, expect))
			g_error("\"%s\" does not say \"%s\"", error->message, expect);
		g_test_message("%s", error->message);
	}
	g_autofree char *after = qt_file_hash(path);
	g_assert_cmpstr(before, ==, after);
}

typedef struct {
	const char *name;
	uint64_t offset;
	unsigned width; /* 4 or 8 */
	uint64_t value;
	const char *expect;
} FieldCase;

static const FieldCase field_cases[] = {
	{"version-1", 4, 4, 1, "version 1"},
	{"version-4", 4, 4, 4, "version 4"},
	{"cluster-bits-8", 20, 4, 8, "cluster_bits"},
	{"cluster-bits-22", 20, 4, 22, "cluster_bits"},
	{"cluster-bits-huge", 20, 4, 0xffffffff, "cluster_bits"},
	{"size-overflow", 24, 8, 1ull << 63, "virtual size"},
	{"size-beyond-l1", 24, 8, 1ull << 40, "L1 table is too small"},
	{"encrypted", 32, 4, 2, "encrypted"},
	{"l1-size-huge", 36, 4, 0x7fffffff, "L1 table"},
	{"l1-beyond-end-of-file", 40, 8, 1ull << 40, "L1 table"},
	{"l1-unaligned", 40, 8, 3 * CLUSTER + 512, "L1 table"},
	{"refcount-table-over-header", 48, 8, 0, "refcount table"},
	{"refcount-table-beyond-end-of-file", 48, 8, 1ull << 40, "refcount table"},
	{"refcount-table-unaligned", 48, 8, CLUSTER + 8, "refcount table"},
	{"refcount-table-huge", 56, 4, 0xffffffff, "refcount table"},
	{"refcount-table-empty", 56, 4, 0, "refcount table"},
	{"snapshot-count-huge", 60, 4, 0x7fffffff, "snapshots"},
	{"unknown-incompatible-feature", 72, 8, 1ull << 10, "feature"},
	{"extended-l2-entries", 72, 8, 1ull << 4, "feature"},
	{"external-data-file", 72, 8, 1ull << 2, "feature"},
	{"compression-bit-without-type", 72, 8, 1ull << 3, "compression"},
	{"refcount-order-7", 96, 4, 7, "refcount_order"},
	{"header-length-short", 100, 4, 96, "header_length"},
	{"header-length-unaligned", 100, 4, 113, "header_length"},
	{"header-length-past-cluster", 100, 4, 1 << 20, "header_length"},
	{"backing-name-too-long", 16, 4, 5000, "backing file name"},
};

static void test_bad_field(Fixture *f, gconstpointer data)
{
	const FieldCase *c = data;
	if (c->offset == 16)
		put64(f->path, 8, 512); /* the backing name's offset, then its length */
	if (c->width == 4)
		put32(f->path, c->offset, c->value);
	else
		put64(f->path, c->offset, c->value);
	assert_refused(f->path, c->expect);
}

/* Formats come from the content: without qcow2's magic, a file is raw. */
static void test_bad_magic_is_raw(Fixture *f, gconstpointer data)
{
	put32(f->path, 0, 0x514649fa);
	g_autofree char *before = qt_file_hash(f->path);
	HgBlockBackend *blk = qt_open(f->path, true);
	g_assert_cmpstr(hg_block_format(blk), ==, "raw");
	hg_block_close(blk);
	g_autofree char *after = qt_file_hash(f->path);
	g_assert_cmpstr(before, ==, after);
}

static void test_backing_name_outside_header_cluster(Fixture *f, gconstpointer data)
{
	put64(f->path, 8, CLUSTER - 10);
	put32(f->path, 16, 100);
	assert_refused(f->path, "backing file name");
}

static void test_header_extension_length_lies(Fixture *f, gconstpointer data)
{
	put32(f->path, 112, 0x11111111);
	put32(f->path, 116, 0xffff0000);
	assert_refused(f->path, "header extension");
}

static void test_snapshot_table_lies_about_sizes(Fixture *f, gconstpointer data)
{
	/* One entry past the data, claiming a gigabyte of extra data. */
	uint8_t entry[48] = {0};
	uint64_t table = 8 * CLUSTER;
	*(uint64_t *)entry = GUINT64_TO_BE(3 * CLUSTER);
	*(uint32_t *)(entry + 8) = GUINT32_TO_BE(1);
	*(uint16_t *)(entry + 12) = GUINT16_TO_BE(1);
	*(uint16_t *)(entry + 14) = GUINT16_TO_BE(1);
	*(uint32_t *)(entry + 36) = GUINT32_TO_BE(1u << 30);
	put_bytes(f->path, table, entry, sizeof(entry));
	put32(f->path, 60, 1);
	put64(f->path, 64, table);
	assert_refused(f->path, "snapshot 0");
	/* The count says more entries than the file holds. */
	*(uint32_t *)(entry + 36) = 0;
	put_bytes(f->path, table, entry, sizeof(entry));
	put32(f->path, 60, 5000);
	assert_refused(f->path, "snapshot");
}

/* One crafted snapshot table entry at a new cluster at the end of the
 * file, the file ending right after the bytes given. */
typedef struct {
	const char *name;
	uint64_t l1_offset; /* 0: the active L1 table's; 1: offset 0 */
	uint32_t l1_size;
	uint16_t id_len, name_len;
	uint32_t extra_len;
	uint64_t disk_size; /* in the extra data when extra_len >= 16 */
	uint64_t table_offset; /* 0: the new cluster */
	const char *expect;
} EntryCase;

static const EntryCase entry_cases[] = {
	{"snapshot-name-runs-past-the-file", 0, 1, 1, 200, 0, 0, 0, "snapshot 0 lies outside"},
	{"snapshot-id-runs-past-the-file", 0, 1, 0xffff, 1, 0, 0, 0, "snapshot 0 lies outside"},
	{"snapshot-extra-data-too-big", 0, 1, 1, 1, 4096, 0, 0, "extra data"},
	{"snapshot-extra-data-runs-past-the-file", 0, 1, 1, 1, 1000, 0, 0,
	 "snapshot 0 lies outside"},
	{"snapshot-l1-outside-the-file", 1ull << 40, 1, 1, 1, 0, 0, 0, "L1 table is invalid"},
	{"snapshot-l1-unaligned", CLUSTER + 8, 1, 1, 1, 0, 0, 0, "L1 table is invalid"},
	{"snapshot-l1-over-the-header", 1, 0, 1, 1, 0, 0, 0, "L1 table is invalid"},
	{"snapshot-l1-huge", 0, 0x7fffffff, 1, 1, 0, 0, 0, "L1 table is invalid"},
	{"snapshot-disk-size-huge", 0, 1, 1, 1, 16, 1ull << 63, 0, "disk size"},
	{"snapshot-table-unaligned", 0, 1, 1, 1, 0, 0, CLUSTER + 8, "snapshot table"},
	{"snapshot-table-over-the-header", 0, 1, 1, 1, 0, 0, 512, "snapshot table"},
};

static void test_bad_snapshot_entry(Fixture *f, gconstpointer data)
{
	const EntryCase *c = data;
	GStatBuf st;
	g_assert_cmpint(g_stat(f->path, &st), ==, 0);
	uint64_t table =
		c->table_offset ? c->table_offset : (st.st_size + CLUSTER - 1) & ~(CLUSTER - 1);
	uint64_t l1_offset = c->l1_offset == 1 ? 0
			     : c->l1_offset    ? c->l1_offset
					       : get64(f->path, 40);
	uint8_t entry[64] = {0};

	*(uint64_t *)entry = GUINT64_TO_BE(l1_offset);
	*(uint32_t *)(entry + 8) = GUINT32_TO_BE(c->l1_size);
	*(uint16_t *)(entry + 12) = GUINT16_TO_BE(c->id_len);
	*(uint16_t *)(entry + 14) = GUINT16_TO_BE(c->name_len);
	*(uint32_t *)(entry + 36) = GUINT32_TO_BE(c->extra_len);
	if (c->extra_len >= 16)
		*(uint64_t *)(entry + 48) = GUINT64_TO_BE(c->disk_size);
	entry[40 + MIN(c->extra_len, 16)] = '1';
	if (!c->table_offset)
		put_bytes(f->path, table, entry, sizeof(entry));
	put32(f->path, 60, 1);
	put64(f->path, 64, table);
	assert_refused(f->path, c->expect);
}

/* Two snapshots with one id: the disk opens (and reads), but the
 * snapshots are refused as a whole, and nothing is written. */
static void test_duplicate_snapshot_ids(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = qt_open(f->path, false);
	for (int i = 0; i < 2; i++) {
		HgBlockSnapshot *snap = hg_block_snapshot_create(blk, i ? "b" : "a", 0, &error);
		g_assert_no_error(error);
		hg_block_snapshot_free(snap);
	}
	hg_block_close(blk);
	/* Entry 0: 40 + 24 + "1" + "a", padded to 72; entry 1's id after
	 * its 64 bytes. */
	uint64_t table = get64(f->path, 64);
	put_bytes(f->path, table + 72 + 64, "1", 1);
	g_autofree char *before = qt_file_hash(f->path);

	for (int ro = 1; ro >= 0; ro--) {
		blk = qt_open(f->path, ro);
		g_assert_null(hg_block_snapshot_list(blk, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_nonnull(strstr(error->message, "two snapshots have the id \"1\""));
		g_clear_error(&error);
		uint8_t buf[4096];
		struct iovec iov = {buf, sizeof(buf)};
		g_assert_cmpint(hg_block_readv(blk, 0, &iov, 1), ==, 0);
		g_assert_cmpuint(buf[0], ==, 0xab);
		if (!ro) {
			g_assert_null(hg_block_snapshot_create(blk, "c", 0, &error));
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
			g_clear_error(&error);
			g_assert_false(hg_block_snapshot_apply(blk, "1", &error));
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
			g_clear_error(&error);
			g_assert_false(hg_block_snapshot_delete(blk, "b", &error));
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
			g_clear_error(&error);
		}
		hg_block_close(blk);
	}
	g_assert_null(hg_block_open_snapshot(f->path, "1", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_autofree char *after = qt_file_hash(f->path);
	g_assert_cmpstr(before, ==, after);
}

static void test_backing_chain_loops(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *a = g_build_filename(f->dir, "a.qcow2", NULL);
	g_autofree char *b = g_build_filename(f->dir, "b.qcow2", NULL);

	/* b -> img.qcow2 -> b, then a -> b. */
	g_assert_true(hg_block_create_qcow2(b, 0, "img.qcow2", 16, &error));
	g_assert_true(hg_block_create_qcow2(a, 0, "b.qcow2", 16, &error));
	put_bytes(f->path, 1024, "b.qcow2", 7);
	put64(f->path, 8, 1024);
	put32(f->path, 16, 7);
	g_autofree char *hash_img = qt_file_hash(f->path), *hash_b = qt_file_hash(b);
	assert_refused(a, "loops");
	assert_refused(f->path, "loops");
	g_autofree char *after_img = qt_file_hash(f->path), *after_b = qt_file_hash(b);
	g_assert_cmpstr(hash_img, ==, after_img);
	g_assert_cmpstr(hash_b, ==, after_b);
	/* An image that is its own backing file. */
	put_bytes(f->path, 1024, "img.qcow2", 9);
	put32(f->path, 16, 9);
	assert_refused(f->path, "loops");
}

/* A backing file name that leads to a FIFO: refused at once, never an
 * open() that waits for a writer. */
static void test_backing_file_is_a_fifo(Fixture *f, gconstpointer data)
{
	g_autofree char *fifo = g_build_filename(f->dir, "pipe", NULL);
	g_autofree char *a = g_build_filename(f->dir, "a.qcow2", NULL);
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	g_assert_true(hg_block_create_qcow2(a, 1 << 20, NULL, 16, &error));
	put_bytes(a, 1024, "pipe", 4);
	put64(a, 8, 1024);
	put32(a, 16, 4);
	assert_refused(a, "neither a file nor a block device");
}

static void test_truncated_file(Fixture *f, gconstpointer data)
{
	g_assert_cmpint(truncate(f->path, 50), ==, 0);
	assert_refused(f->path, "too short");
}

/* An L2 entry past the end of the file: the image opens, that cluster
 * fails with -EIO, the rest reads, and a read-only open writes nothing. */
static void test_l2_entry_past_end_of_file(Fixture *f, gconstpointer data)
{
	uint64_t l1_offset = get64(f->path, 40);
	uint64_t l2_offset = get64(f->path, l1_offset) & 0x00fffffffffffe00ull;
	g_assert_cmpuint(l2_offset, !=, 0);
	put64(f->path, l2_offset, (1ull << 40) | (1ull << 63));
	g_autofree char *before = qt_file_hash(f->path);

	HgBlockBackend *blk = qt_open(f->path, true);
	uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};
	g_assert_cmpint(hg_block_readv(blk, 0, &iov, 1), ==, -EIO);
	g_assert_cmpint(hg_block_readv(blk, 1 << 20, &iov, 1), ==, 0);
	hg_block_close(blk);
	g_autofree char *after = qt_file_hash(f->path);
	g_assert_cmpstr(before, ==, after);

	blk = qt_open(f->path, false);
	g_assert_cmpint(hg_block_writev(blk, 100, &iov, 1), ==, -EIO);
	g_assert_cmpint(hg_block_readv(blk, 0, &iov, 1), ==, -EIO);
	g_assert_cmpint(hg_block_writev(blk, 1 << 20, &iov, 1), ==, 0);
	hg_block_close(blk);
}

/* Found by fuzzing read-write opens: a dirty image whose refcount table
 * names one refcount block twice.  The repair on open wrote the second
 * entry's (zero) counts over the first's, cluster 0 looked free, and the
 * first write allocated it (an assertion).  Now the repair refuses it,
 * before writing; read-only opens, which repair nothing, still work. */
static void test_dirty_image_with_shared_refcount_block(Fixture *f, gconstpointer data)
{
	uint64_t reftable = get64(f->path, 48);
	put64(f->path, reftable + 5 * 8, get64(f->path, reftable));
	put64(f->path, 72, 1); /* dirty */
	g_autofree char *before = qt_file_hash(f->path);

	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(f->path, false, &error);
	g_assert_null(blk);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "shares its cluster"));
	g_autofree char *after = qt_file_hash(f->path);
	g_assert_cmpstr(before, ==, after);
	blk = qt_open(f->path, true);
	hg_block_close(blk);
}

/* Random byte changes in the metadata: an error or a working image, never
 * a crash; read-only opens never write. */
static void test_random_damage(Fixture *f, gconstpointer data)
{
	g_autofree char *pristine = NULL;
	gsize len;
	uint64_t rng = 31337;
	g_autofree char *copy = g_build_filename(f->dir, "damaged.qcow2", NULL);
	unsigned opened = 0;

	g_assert_true(g_file_get_contents(f->path, &pristine, &len, NULL));
	for (unsigned i = 0; i < 400; i++) {
		g_autofree char *damaged = g_memdup2(pristine, len);
		unsigned changes = 1 + qt_random_below(&rng, 4);
		for (unsigned j = 0; j < changes; j++) {
			/* The header mostly, sometimes the tables (clusters 1-4). */
			uint64_t where = qt_random_below(&rng, 3)
						 ? qt_random_below(&rng, 128)
						 : qt_random_below(&rng, 5 * CLUSTER);
			damaged[where] ^= 1u << qt_random_below(&rng, 8);
		}
		g_assert_true(g_file_set_contents(copy, damaged, len, NULL));
		g_autofree char *before = qt_file_hash(copy);
		g_autoptr(GError) error = NULL;
		HgBlockBackend *blk = hg_block_open(copy, true, &error);
		if (blk) {
			opened++;
			uint8_t buf[65536];
			for (uint64_t off = 0; off < MIN(hg_block_size(blk), 1 << 20);
			     off += sizeof(buf)) {
				struct iovec iov = {buf,
						    MIN(sizeof(buf), hg_block_size(blk) - off)};
				(void)hg_block_readv(blk, off, &iov, 1);
			}
			hg_block_close(blk);
		} else {
			g_assert_nonnull(error);
		}
		g_autofree char *after = qt_file_hash(copy);
		g_assert_cmpstr(before, ==, after);
	}
	g_test_message("%u of 400 damaged images still opened", opened);
}

/* The same for the snapshot table: damaged entries are refused on open or
 * show snapshots that read without crashing; nothing is written. */
static void test_random_snapshot_table_damage(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *pristine = NULL;
	g_autofree char *copy = g_build_filename(f->dir, "damaged.qcow2", NULL);
	uint64_t rng = 4711;
	gsize len;
	unsigned opened = 0;

	HgBlockBackend *blk = qt_open(f->path, false);
	for (int i = 0; i < 3; i++) {
		g_autofree char *name = g_strdup_printf("snapshot-%d", i);
		HgBlockSnapshot *snap = hg_block_snapshot_create(blk, name, i, &error);
		g_assert_no_error(error);
		hg_block_snapshot_free(snap);
	}
	hg_block_close(blk);
	uint64_t table = get64(f->path, 64);
	g_assert_true(g_file_get_contents(f->path, &pristine, &len, NULL));
	for (unsigned i = 0; i < 300; i++) {
		g_autofree char *damaged = g_memdup2(pristine, len);
		unsigned changes = 1 + qt_random_below(&rng, 3);
		for (unsigned j = 0; j < changes; j++)
			damaged[table + qt_random_below(&rng, 3 * 96)] ^=
				1u << qt_random_below(&rng, 8);
		g_assert_true(g_file_set_contents(copy, damaged, len, NULL));
		g_autofree char *before = qt_file_hash(copy);
		g_clear_error(&error);
		blk = hg_block_open(copy, true, &error);
		if (!blk)
			continue;
		opened++;
		g_autoptr(GPtrArray) list = hg_block_snapshot_list(blk, NULL);
		hg_block_close(blk);
		for (unsigned k = 0; list && k < list->len; k++) {
			HgBlockSnapshot *snap = list->pdata[k];
			HgBlockBackend *view = hg_block_open_snapshot(copy, snap->id, NULL);
			if (!view)
				continue;
			uint8_t buf[65536];
			for (uint64_t off = 0; off < MIN(hg_block_size(view), 1 << 20);
			     off += sizeof(buf)) {
				struct iovec iov = {buf,
						    MIN(sizeof(buf), hg_block_size(view) - off)};
				(void)hg_block_readv(view, off, &iov, 1);
			}
			hg_block_close(view);
		}
		g_autofree char *after = qt_file_hash(copy);
		g_assert_cmpstr(before, ==, after);
	}
	g_test_message("%u of 300 damaged snapshot tables still opened", opened);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (unsigned i = 0; i < G_N_ELEMENTS(field_cases); i++) {
		g_autofree char *name =
			g_strdup_printf("/qcow2/broken/refused/%s", field_cases[i].name);
		g_test_add(name, Fixture, &field_cases[i], fixture_set_up, test_bad_field,
			   fixture_tear_down);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(entry_cases); i++) {
		g_autofree char *name =
			g_strdup_printf("/qcow2/broken/refused/%s", entry_cases[i].name);
		g_test_add(name, Fixture, &entry_cases[i], fixture_set_up, test_bad_snapshot_entry,
			   fixture_tear_down);
	}
	g_test_add("/qcow2/broken/duplicate-snapshot-ids-refuse-the-snapshots", Fixture, NULL,
		   fixture_set_up, test_duplicate_snapshot_ids, fixture_tear_down);
	g_test_add("/qcow2/broken/random-snapshot-table-damage-never-crashes-or-writes", Fixture,
		   NULL, fixture_set_up, test_random_snapshot_table_damage, fixture_tear_down);
	g_test_add("/qcow2/broken/bad-magic-is-a-raw-image", Fixture, NULL, fixture_set_up,
		   test_bad_magic_is_raw, fixture_tear_down);
	g_test_add("/qcow2/broken/refused/backing-name-outside-header-cluster", Fixture, NULL,
		   fixture_set_up, test_backing_name_outside_header_cluster, fixture_tear_down);
	g_test_add("/qcow2/broken/refused/header-extension-length-lies", Fixture, NULL,
		   fixture_set_up, test_header_extension_length_lies, fixture_tear_down);
	g_test_add("/qcow2/broken/refused/snapshot-table-lies-about-sizes", Fixture, NULL,
		   fixture_set_up, test_snapshot_table_lies_about_sizes, fixture_tear_down);
	g_test_add("/qcow2/broken/refused/backing-chain-loops", Fixture, NULL, fixture_set_up,
		   test_backing_chain_loops, fixture_tear_down);
	g_test_add("/qcow2/broken/refused/backing-file-is-a-fifo", Fixture, NULL, fixture_set_up,
		   test_backing_file_is_a_fifo, fixture_tear_down);
	g_test_add("/qcow2/broken/refused/truncated-file", Fixture, NULL, fixture_set_up,
		   test_truncated_file, fixture_tear_down);
	g_test_add("/qcow2/broken/l2-entry-past-end-of-file-fails-that-cluster", Fixture, NULL,
		   fixture_set_up, test_l2_entry_past_end_of_file, fixture_tear_down);
	g_test_add("/qcow2/broken/refused/dirty-image-with-shared-refcount-block", Fixture, NULL,
		   fixture_set_up, test_dirty_image_with_shared_refcount_block, fixture_tear_down);
	g_test_add("/qcow2/broken/random-damage-never-crashes-or-writes", Fixture, NULL,
		   fixture_set_up, test_random_damage, fixture_tear_down);
	return g_test_run();
}

/* qcow2 internal snapshots made by Hangar and by qemu-img, each side
 * reading, applying and deleting the other's; random operations against a
 * model; compressed clusters; space given back; read-only views; kill -9
 * in the middle of snapshot changes; the errors. */
#include "qcow2-test-util.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1ull << 20)

static void write_random(HgBlockBackend *blk, uint8_t *model, uint64_t offset, uint64_t len,
			 uint64_t *rng)
{
	qt_random_fill(rng, model + offset, len);
	struct iovec iov = {model + offset, len};
	g_assert_cmpint(hg_block_writev(blk, offset, &iov, 1), ==, 0);
}

static void save_raw(const char *path, const uint8_t *content, uint64_t len)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(g_file_set_contents(path, (const char *)content, len, &error));
}

static HgBlockSnapshot *create_ok(HgBlockBackend *blk, const char *name)
{
	g_autoptr(GError) error = NULL;
	HgBlockSnapshot *snap = hg_block_snapshot_create(blk, name, 0, &error);
	g_assert_no_error(error);
	g_assert_nonnull(snap);
	return snap;
}

static void apply_ok(HgBlockBackend *blk, const char *id_or_name)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(hg_block_snapshot_apply(blk, id_or_name, &error));
	g_assert_no_error(error);
}

static void delete_ok(HgBlockBackend *blk, const char *id_or_name)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(hg_block_snapshot_delete(blk, id_or_name, &error));
	g_assert_no_error(error);
}

static GPtrArray *list_ok(HgBlockBackend *blk)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *list = hg_block_snapshot_list(blk, &error);
	g_assert_no_error(error);
	g_assert_nonnull(list);
	return list;
}

/* `qemu-img snapshot -l`, as "id name" lines. */
static char *qemu_snapshot_list(const char *image)
{
	g_autofree char *output = NULL;
	g_assert_cmpint(qt_run(&output, "qemu-img snapshot -l '%s'", image), ==, 0);
	g_auto(GStrv) lines = g_strsplit(output, "\n", -1);
	GString *out = g_string_new(NULL);
	for (unsigned i = 0; lines[i]; i++) {
		g_auto(GStrv) words = g_strsplit_set(g_strstrip(lines[i]), " \t", -1);
		unsigned n = 0;
		const char *w[2] = {NULL, NULL};
		for (unsigned j = 0; words[j] && n < 2; j++)
			if (*words[j])
				w[n++] = words[j];
		if (n < 2 || strcmp(w[0], "Snapshot") == 0 || strcmp(w[0], "ID") == 0)
			continue;
		g_string_append_printf(out, "%s %s\n", w[0], w[1]);
	}
	return g_string_free(out, FALSE);
}

/* A snapshot's content as raw, through qemu-img. */
static void qemu_snapshot_to_raw(const char *image, const char *name, const char *raw)
{
	g_unlink(raw);
	qt_run_ok("qemu-img convert -f qcow2 -O raw -l snapshot.name=%s '%s' '%s'", name, image,
		  raw);
}

static void assert_snapshot_content(const char *image, const char *id_or_name,
				    const uint8_t *expected, uint64_t len)
{
	g_autoptr(GError) error = NULL;
	HgBlockBackend *view = hg_block_open_snapshot(image, id_or_name, &error);
	g_assert_no_error(error);
	qt_assert_content(view, expected, len);
	hg_block_close(view);
}

/* Hangar's snapshots as qemu-img sees them: listed with the same ids and
 * names, a clean check, and applied by qemu-img to the content taken. */
static void test_hangar_snapshots_in_qemu(QtFixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autoptr(GError) error = NULL;
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	g_autofree char *copy = qt_in_dir(f, "copy.qcow2");
	const uint64_t size = 8 * MIB;
	uint64_t rng = 1;
	g_autofree uint8_t *model = g_malloc0(size);
	const char *names[] = {"first", "second"};

	g_assert_true(hg_block_create_qcow2(image, size, NULL, 12, &error));
	HgBlockBackend *blk = qt_open(image, false);
	write_random(blk, model, 0, 3 * MIB, &rng);
	g_autoptr(HgBlockSnapshot) first = create_ok(blk, "first");
	g_assert_cmpstr(first->id, ==, "1");
	g_assert_cmpuint(first->disk_size, ==, size);
	g_autofree char *raw1 = qt_in_dir(f, "first.raw");
	save_raw(raw1, model, size);
	write_random(blk, model, MIB + 100, 3 * MIB, &rng);
	g_assert_cmpint(hg_block_discard(blk, 0, 512 * 1024), ==, 0);
	memset(model, 0, 512 * 1024);
	g_autoptr(HgBlockSnapshot) second = create_ok(blk, "second");
	g_assert_cmpstr(second->id, ==, "2");
	g_autofree char *raw2 = qt_in_dir(f, "second.raw");
	save_raw(raw2, model, size);
	write_random(blk, model, 6 * MIB, MIB, &rng);
	write_random(blk, model, 2 * MIB, 4096, &rng);
	hg_block_close(blk);
	g_autofree char *raw_now = qt_in_dir(f, "now.raw");
	save_raw(raw_now, model, size);

	g_autofree char *listed = qemu_snapshot_list(image);
	g_assert_cmpstr(listed, ==, "1 first\n2 second\n");
	qt_assert_check_clean(image);
	qt_assert_images_equal(image, raw_now);
	const char *raws[] = {raw1, raw2};
	for (unsigned i = 0; i < 2; i++) {
		g_unlink(copy);
		qt_run_ok("cp '%s' '%s'", image, copy);
		qt_run_ok("qemu-img snapshot -a %s '%s'", names[i], copy);
		qt_assert_images_equal(copy, raws[i]);
		qt_assert_check_clean(copy);
	}
}

/* qemu-img's snapshots as Hangar sees them. */
static void test_qemu_snapshots_in_hangar(QtFixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	g_autofree char *raw1 = qt_in_dir(f, "s1.raw");
	g_autofree char *raw2 = qt_in_dir(f, "s2.raw");

	qt_run_ok("qemu-img create -q -f qcow2 '%s' 4M", image);
	qt_run_ok("qemu-io -c 'write -P 0x11 0 1M' '%s'", image);
	qt_run_ok("qemu-img snapshot -c s1 '%s'", image);
	qt_run_ok("qemu-io -c 'write -P 0x22 512k 1M' '%s'", image);
	qt_run_ok("qemu-img snapshot -c s2 '%s'", image);
	qt_run_ok("qemu-io -c 'write -P 0x33 3M 64k' -c 'discard 0 64k' '%s'", image);
	qemu_snapshot_to_raw(image, "s1", raw1);
	qemu_snapshot_to_raw(image, "s2", raw2);
	g_autofree char *s1 = NULL, *s2 = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(raw1, &s1, &len, NULL));
	g_assert_true(g_file_get_contents(raw2, &s2, &len, NULL));

	HgBlockBackend *blk = qt_open(image, false);
	g_autoptr(GPtrArray) list = list_ok(blk);
	g_assert_cmpuint(list->len, ==, 2);
	HgBlockSnapshot *a = list->pdata[0], *b = list->pdata[1];
	g_assert_cmpstr(a->id, ==, "1");
	g_assert_cmpstr(a->name, ==, "s1");
	g_assert_cmpstr(b->id, ==, "2");
	g_assert_cmpstr(b->name, ==, "s2");
	g_assert_cmpuint(a->disk_size, ==, 4 * MIB);
	g_assert_cmpint(a->date_sec, >, 1600000000);
	g_assert_cmpuint(a->vm_state_size, ==, 0);

	apply_ok(blk, "s1");
	qt_assert_content(blk, (uint8_t *)s1, 4 * MIB);
	apply_ok(blk, "2");
	qt_assert_content(blk, (uint8_t *)s2, 4 * MIB);
	delete_ok(blk, "s2");
	hg_block_close(blk);
	qt_assert_check_clean(image);
	g_autofree char *listed = qemu_snapshot_list(image);
	g_assert_cmpstr(listed, ==, "1 s1\n");
	qt_assert_images_equal(image, raw2);

	/* A new one takes the id after the highest. */
	blk = qt_open(image, false);
	g_autoptr(HgBlockSnapshot) c = create_ok(blk, "s3");
	g_assert_cmpstr(c->id, ==, "2");
	delete_ok(blk, "s1");
	hg_block_close(blk);
	qt_assert_check_clean(image);
	qt_run_ok("qemu-img snapshot -d s3 '%s'", image);
	qt_assert_check_clean(image);
	qt_assert_images_equal(image, raw2);
}

/* Random writes, discards and snapshot changes, each checked against a
 * model of the disk and of every snapshot; qemu-img check clean between
 * rounds (exact refcounts, COPIED flags right). */
static void test_random_operations(QtFixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autoptr(GError) error = NULL;
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	const uint64_t size = 4 * MIB;
	uint64_t rng = GPOINTER_TO_UINT(data);
	g_autofree uint8_t *model = g_malloc0(size);
	GHashTable *snaps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	unsigned next_name = 0;

	g_assert_true(hg_block_create_qcow2(image, size, NULL, 12, &error));
	HgBlockBackend *blk = qt_open(image, false);
	for (unsigned round = 0; round < 8; round++) {
		for (unsigned step = 0; step < 12; step++) {
			unsigned op = qt_random_below(&rng, 10);
			uint64_t off = qt_random_below(&rng, size);
			uint64_t want = 1 + qt_random_below(&rng, 256 * 1024);
			uint64_t len = MIN(size - off, want); /* MIN evaluates twice */
			if (op < 5) {
				write_random(blk, model, off, len, &rng);
			} else if (op == 5) {
				g_assert_cmpint(hg_block_write_zeroes(blk, off, len, true), ==, 0);
				memset(model + off, 0, len);
			} else if (op == 6) {
				off &= ~4095ull;
				len = MIN(size - off, (len + 4095) & ~4095ull);
				g_assert_cmpint(hg_block_discard(blk, off, len), ==, 0);
				memset(model + off, 0, len);
			} else if (op == 7 && g_hash_table_size(snaps) < 4) {
				g_autofree char *name = g_strdup_printf("snap%u", next_name++);
				g_autoptr(HgBlockSnapshot) s = create_ok(blk, name);
				g_hash_table_insert(snaps, g_strdup(name), g_memdup2(model, size));
			} else if (op >= 8 && g_hash_table_size(snaps)) {
				g_autofree char **keys =
					(char **)g_hash_table_get_keys_as_array(snaps, NULL);
				const char *name =
					keys[qt_random_below(&rng, g_hash_table_size(snaps))];
				if (op == 8) {
					apply_ok(blk, name);
					memcpy(model, g_hash_table_lookup(snaps, name), size);
				} else {
					delete_ok(blk, name);
					g_hash_table_remove(snaps, name);
				}
				qt_assert_content(blk, model, size);
			}
		}
		qt_assert_content(blk, model, size);
		hg_block_close(blk);
		qt_assert_check_clean(image);
		GHashTableIter it;
		gpointer name, content;
		g_hash_table_iter_init(&it, snaps);
		while (g_hash_table_iter_next(&it, &name, &content))
			assert_snapshot_content(image, name, content, size);
		blk = qt_open(image, false);
	}
	hg_block_close(blk);
	g_hash_table_unref(snaps);
}

/* Compressed clusters count once per L2 entry; a snapshot shares them and
 * an overwrite copies them. */
static void test_compressed_clusters(QtFixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *raw = qt_in_dir(f, "source.raw");
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	const uint64_t size = 2 * MIB;
	g_autofree uint8_t *model = g_malloc(size);
	uint64_t rng = 7;

	/* Compressible: runs of repeated bytes. */
	for (uint64_t i = 0; i < size; i += 256)
		memset(model + i, qt_random_below(&rng, 256), 256);
	save_raw(raw, model, size);
	qt_run_ok("qemu-img convert -c -f raw -O qcow2 '%s' '%s'", raw, image);
	g_autofree uint8_t *before = g_memdup2(model, size);

	HgBlockBackend *blk = qt_open(image, false);
	g_autoptr(HgBlockSnapshot) s = create_ok(blk, "packed");
	write_random(blk, model, 1000, 70000, &rng);
	write_random(blk, model, MIB, 4096, &rng);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	assert_snapshot_content(image, "packed", before, size);

	blk = qt_open(image, false);
	qt_assert_content(blk, model, size);
	apply_ok(blk, "packed");
	qt_assert_content(blk, before, size);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	qt_assert_images_equal(image, raw);
	blk = qt_open(image, false);
	delete_ok(blk, "packed");
	hg_block_close(blk);
	qt_assert_check_clean(image);
	qt_assert_images_equal(image, raw);
}

static uint64_t disk_usage(const char *path)
{
	GStatBuf st;
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	return (uint64_t)st.st_blocks * 512;
}

/* Deleting a snapshot frees what only it used: no leaks, and the file
 * takes less space. */
static void test_delete_returns_space(QtFixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autoptr(GError) error = NULL;
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	const uint64_t size = 8 * MIB;
	g_autofree uint8_t *model = g_malloc0(size);
	uint64_t rng = 3;

	g_assert_true(hg_block_create_qcow2(image, size, NULL, 16, &error));
	HgBlockBackend *blk = qt_open(image, false);
	write_random(blk, model, 0, size, &rng);
	g_autoptr(HgBlockSnapshot) s = create_ok(blk, "old");
	write_random(blk, model, 0, size, &rng);
	g_assert_cmpint(hg_block_flush(blk), ==, 0);
	uint64_t with_snapshot = disk_usage(image);
	delete_ok(blk, "old");
	uint64_t without = disk_usage(image);
	g_test_message("%" G_GUINT64_FORMAT " bytes used with the snapshot, %" G_GUINT64_FORMAT
		       " without",
		       with_snapshot, without);
	g_assert_cmpuint(without + size - MIB, <=, with_snapshot);
	qt_assert_content(blk, model, size);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	g_autofree char *output = NULL;
	qt_run(&output, "qemu-img check '%s'", image);
	g_assert_null(strstr(output, "leaked"));
}

/* A read-only view of a snapshot, beside the image open for writing. */
static void test_open_snapshot_reads_old_content(QtFixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	const uint64_t size = 4 * MIB;
	g_autofree uint8_t *model = g_malloc0(size);
	uint64_t rng = 5;

	g_assert_true(hg_block_create_qcow2(image, size, NULL, 16, &error));
	HgBlockBackend *blk = qt_open(image, false);
	write_random(blk, model, 0, 2 * MIB, &rng);
	g_autoptr(HgBlockSnapshot) s = create_ok(blk, "then");
	g_autofree uint8_t *then = g_memdup2(model, size);
	write_random(blk, model, MIB, 2 * MIB, &rng);
	g_assert_cmpint(hg_block_flush(blk), ==, 0);

	HgBlockBackend *view = hg_block_open_snapshot(image, "then", &error);
	g_assert_no_error(error);
	g_assert_true(hg_block_is_read_only(view));
	qt_assert_content(view, then, size);
	uint8_t byte = 0;
	struct iovec iov = {&byte, 1};
	g_assert_cmpint(hg_block_writev(view, 0, &iov, 1), ==, -EROFS);
	hg_block_close(view);
	qt_assert_content(blk, model, size);
	hg_block_close(blk);

	g_assert_null(hg_block_open_snapshot(image, "never", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

/* A snapshot keeps the disk size it was taken at; applying it brings that
 * size back, as in QEMU. */
static void test_apply_restores_disk_size(QtFixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autoptr(GError) error = NULL;
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	g_autofree char *raw = qt_in_dir(f, "small.raw");
	const uint64_t size = 2 * MIB;
	g_autofree uint8_t *model = g_malloc0(size);
	uint64_t rng = 9;

	g_assert_true(hg_block_create_qcow2(image, size, NULL, 9, &error));
	HgBlockBackend *blk = qt_open(image, false);
	write_random(blk, model, 0, size, &rng);
	g_autoptr(HgBlockSnapshot) s = create_ok(blk, "small");
	hg_block_close(blk);
	save_raw(raw, model, size);
	/* 512-byte clusters: 64 MiB needs a bigger L1 table. */
	qt_run_ok("qemu-img resize -q '%s' 64M", image);
	qt_run_ok("qemu-io -c 'write -P 0x44 60M 1M' '%s'", image);

	blk = qt_open(image, false);
	g_assert_cmpuint(hg_block_size(blk), ==, 64 * MIB);
	assert_snapshot_content(image, "small", model, size);
	apply_ok(blk, "small");
	g_assert_cmpuint(hg_block_size(blk), ==, size);
	qt_assert_content(blk, model, size);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	qt_assert_images_equal(image, raw);
}

/* Version 2 images (compat=0.10) have snapshots too. */
static void test_version_2_image(QtFixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	g_autofree char *copy = qt_in_dir(f, "copy.qcow2");
	g_autofree char *raw = qt_in_dir(f, "v2.raw");
	const uint64_t size = 2 * MIB;
	g_autofree uint8_t *model = g_malloc0(size);
	uint64_t rng = 11;

	qt_run_ok("qemu-img create -q -f qcow2 -o compat=0.10 '%s' 2M", image);
	HgBlockBackend *blk = qt_open(image, false);
	write_random(blk, model, 0, MIB, &rng);
	g_autoptr(HgBlockSnapshot) s = create_ok(blk, "v2");
	save_raw(raw, model, size);
	write_random(blk, model, 4096, MIB, &rng);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	qt_run_ok("cp '%s' '%s'", image, copy);
	qt_run_ok("qemu-img snapshot -a v2 '%s'", copy);
	qt_assert_images_equal(copy, raw);
	blk = qt_open(image, false);
	apply_ok(blk, "v2");
	delete_ok(blk, "1");
	hg_block_close(blk);
	qt_assert_check_clean(image);
	qt_assert_images_equal(image, raw);
}

static void test_errors(QtFixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	g_autofree char *raw = qt_in_dir(f, "disk.raw");

	g_assert_true(hg_block_create_qcow2(image, MIB, NULL, 16, &error));
	HgBlockBackend *blk = qt_open(image, false);
	g_autoptr(HgBlockSnapshot) s = create_ok(blk, "taken");
	g_assert_null(hg_block_snapshot_create(blk, "taken", 0, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_null(hg_block_snapshot_create(blk, "", 0, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_autofree char *long_name = g_strnfill(256, 'n');
	g_assert_null(hg_block_snapshot_create(blk, long_name, 0, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(hg_block_snapshot_apply(blk, "nothing", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(hg_block_snapshot_delete(blk, "7", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	hg_block_close(blk);

	g_autofree char *before = qt_file_hash(image);
	blk = qt_open(image, true);
	g_assert_null(hg_block_snapshot_create(blk, "more", 0, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
	g_clear_error(&error);
	g_assert_false(hg_block_snapshot_delete(blk, "taken", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
	g_clear_error(&error);
	g_autoptr(GPtrArray) list = list_ok(blk);
	g_assert_cmpuint(list->len, ==, 1);
	hg_block_close(blk);
	g_autofree char *after = qt_file_hash(image);
	g_assert_cmpstr(before, ==, after);

	g_assert_true(g_file_set_contents(raw, "raw disk", 8, NULL));
	blk = qt_open(raw, false);
	g_assert_null(hg_block_snapshot_list(blk, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
	g_clear_error(&error);
	g_assert_null(hg_block_snapshot_create(blk, "x", 0, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
	g_clear_error(&error);
	g_assert_false(hg_block_snapshot_apply(blk, "x", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
	g_clear_error(&error);
	g_assert_false(hg_block_snapshot_delete(blk, "x", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
	g_clear_error(&error);
	hg_block_close(blk);
	g_assert_null(hg_block_open_snapshot(raw, "x", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
}

/* 1-bit refcounts cannot count a shared cluster: the snapshot is refused
 * and the image left as it was. */
static void test_one_bit_refcounts_refuse(QtFixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autoptr(GError) error = NULL;
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");

	qt_run_ok("qemu-img create -q -f qcow2 -o refcount_bits=1 '%s' 1M", image);
	qt_run_ok("qemu-io -c 'write -P 0x55 0 64k' '%s'", image);
	HgBlockBackend *blk = qt_open(image, false);
	g_assert_null(hg_block_snapshot_create(blk, "no", 0, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
	g_test_message("%s", error->message);
	g_autoptr(GPtrArray) list = list_ok(blk);
	g_assert_cmpuint(list->len, ==, 0);
	hg_block_close(blk);
	qt_assert_check_clean(image);
}

/* kill -9 at random moments of a writer that takes, applies and deletes
 * snapshots: qemu-img check finds at most leaks (status 3: what ordinary
 * writes may leave), never corruption; Hangar's next open repairs those. */
static void crash_child(const char *image, uint64_t seed)
{
	const uint64_t size = 2 * MIB;
	g_autofree uint8_t *buf = g_malloc(64 * 1024);
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(image, false, &error);
	unsigned next = 0;

	if (!blk)
		_exit(2);
	for (;;) {
		unsigned op = qt_random_below(&seed, 6);
		g_autoptr(GPtrArray) list = hg_block_snapshot_list(blk, NULL);
		if (!list)
			_exit(3);
		if (op < 3 || list->len == 0) {
			uint64_t len = 1 + qt_random_below(&seed, 64 * 1024);
			uint64_t off = qt_random_below(&seed, size - len);
			qt_random_fill(&seed, buf, 64 * 1024);
			struct iovec iov = {buf, len};
			if (hg_block_writev(blk, off, &iov, 1) < 0)
				_exit(4);
		}
		HgBlockSnapshot *pick =
			list->len ? list->pdata[qt_random_below(&seed, list->len)] : NULL;
		bool ok = true;
		if (op == 3 && list->len < 4) {
			g_autofree char *name =
				g_strdup_printf("c%u-%" G_GUINT64_FORMAT, next++, qt_random(&seed));
			HgBlockSnapshot *s = hg_block_snapshot_create(blk, name, 0, NULL);
			ok = s != NULL;
			hg_block_snapshot_free(s);
		} else if (op == 4 && pick) {
			ok = hg_block_snapshot_apply(blk, pick->id, NULL);
		} else if (op == 5 && pick && list->len > 1) {
			ok = hg_block_snapshot_delete(blk, pick->id, NULL);
		}
		if (!ok)
			_exit(5);
	}
}

static void test_kill_during_snapshot_changes(QtFixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autoptr(GError) error = NULL;
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	uint64_t rng = 424242;
	unsigned leaks = 0, with_snapshots = 0;

	g_assert_true(hg_block_create_qcow2(image, 2 * MIB, NULL, 12, &error));
	for (unsigned round = 0; round < 20; round++) {
		uint64_t seed = qt_random(&rng);
		pid_t pid = fork();
		g_assert_cmpint(pid, >=, 0);
		if (pid == 0)
			crash_child(image, seed);
		g_usleep(20000 + qt_random_below(&rng, 200000));
		g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
		int status;
		g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
		if (!WIFSIGNALED(status))
			g_error("round %u: the writer stopped by itself (status %d)", round,
				WEXITSTATUS(status));

		g_autofree char *output = NULL;
		int check = qt_qemu_img_check(image, &output);
		if (check != 0 && check != 3)
			g_error("round %u: qemu-img check status %d after kill -9:\n%s", round,
				check, output);
		leaks += check == 3;
		HgBlockBackend *blk = qt_open(image, false);
		g_autoptr(GPtrArray) list = list_ok(blk);
		with_snapshots += list->len > 0;
		hg_block_close(blk);
		qt_assert_check_clean(image);
	}
	g_test_message("20 kills, %u left leaks to repair, %u found snapshots", leaks,
		       with_snapshots);
	g_assert_cmpuint(with_snapshots, >, 5);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, fn, data)                                                                        \
	g_test_add("/qcow2/snapshot/" name, QtFixture, data, qt_fixture_set_up, fn,                \
		   qt_fixture_tear_down)
	ADD("hangar-snapshots-are-listed-checked-and-applied-by-qemu-img",
	    test_hangar_snapshots_in_qemu, NULL);
	ADD("qemu-img-snapshots-are-listed-applied-and-deleted", test_qemu_snapshots_in_hangar,
	    NULL);
	ADD("random-operations-match-a-model/seed-1", test_random_operations, GUINT_TO_POINTER(1));
	ADD("random-operations-match-a-model/seed-2", test_random_operations, GUINT_TO_POINTER(2));
	ADD("compressed-clusters-are-shared-and-copied", test_compressed_clusters, NULL);
	ADD("delete-returns-space", test_delete_returns_space, NULL);
	ADD("open-snapshot-reads-old-content", test_open_snapshot_reads_old_content, NULL);
	ADD("apply-restores-the-snapshot-disk-size", test_apply_restores_disk_size, NULL);
	ADD("version-2-images", test_version_2_image, NULL);
	ADD("errors", test_errors, NULL);
	ADD("one-bit-refcounts-refuse-snapshots", test_one_bit_refcounts_refuse, NULL);
	ADD("kill-9-during-snapshot-changes-leaves-no-corruption",
	    test_kill_during_snapshot_changes, NULL);
	return g_test_run();
}

/* hg_block_resize: raw files grow sparse and shrink only over holes or
 * zeroes; qcow2 images grow within their L1 table, into its last cluster
 * and onto a new one, keep internal snapshots and backing files right,
 * shrink only when nothing past the new end holds data, grow in steps as
 * the import's streaming writer does, and survive kill -9 mid-resize.
 * QEMU's tools are the oracle: qemu-io reads, qemu-img check and info. */
#include "qcow2-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define TIB ((uint64_t)1 << 40)

typedef QtFixture Fixture;

static void resize_ok(HgBlockBackend *blk, uint64_t size)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(hg_block_resize(blk, size, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(hg_block_size(blk), ==, size);
}

static void resize_refused(HgBlockBackend *blk, uint64_t size, gint code)
{
	g_autoptr(GError) error = NULL;
	uint64_t before = hg_block_size(blk);
	g_assert_false(hg_block_resize(blk, size, &error));
	g_assert_error(error, G_IO_ERROR, code);
	g_assert_cmpuint(hg_block_size(blk), ==, before);
}

static void fill(HgBlockBackend *blk, uint64_t offset, uint64_t len, uint8_t byte)
{
	g_autofree uint8_t *buf = g_malloc(len);
	memset(buf, byte, len);
	struct iovec iov = {buf, len};
	g_assert_cmpint(hg_block_writev(blk, offset, &iov, 1), ==, 0);
}

static void assert_bytes(HgBlockBackend *blk, uint64_t offset, uint64_t len, uint8_t byte)
{
	g_autofree uint8_t *buf = g_malloc(len);
	struct iovec iov = {buf, len};
	g_assert_cmpint(hg_block_readv(blk, offset, &iov, 1), ==, 0);
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != byte)
			g_error("byte %" G_GUINT64_FORMAT ": 0x%02x, expected 0x%02x", offset + i,
				buf[i], byte);
}

/* qemu-io reads [offset, offset + len) as byte. */
static void assert_qemu_reads(const char *image, uint64_t offset, uint64_t len, uint8_t byte)
{
	g_autofree char *output = NULL;
	int status = qt_run(&output,
			    "qemu-io -r -f qcow2 -c 'read -P 0x%02x %" G_GUINT64_FORMAT
			    " %" G_GUINT64_FORMAT "' '%s'",
			    byte, offset, len, image);
	if (status != 0 || strstr(output, "failed") || strstr(output, "error"))
		g_error("qemu-io read of %s at %" G_GUINT64_FORMAT ": status %d\n%s", image, offset,
			status, output);
}

static uint64_t qemu_virtual_size(const char *image)
{
	g_autofree char *output = NULL;
	g_assert_cmpint(qt_run(&output, "qemu-img info --output=json '%s'", image), ==, 0);
	const char *field = strstr(output, "\"virtual-size\":");
	g_assert_nonnull(field);
	return g_ascii_strtoull(field + strlen("\"virtual-size\":"), NULL, 10);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	return st.st_size;
}

static uint64_t file_blocks(const char *path)
{
	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	return st.st_blocks * 512;
}

static void create_qcow2(const char *path, uint64_t size, const char *backing, unsigned bits)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(hg_block_create_qcow2(path, size, backing, bits, &error));
	g_assert_no_error(error);
}

/* raw ----------------------------------------------------------------- */

static void make_raw(const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, size), ==, 0);
	close(fd);
}

static void test_raw_grow(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.raw");

	make_raw(image, 4 * MIB);
	HgBlockBackend *blk = qt_open(image, false);
	fill(blk, 0, 4 * MIB, 0x5a);
	resize_ok(blk, 64 * MIB + 1000);
	assert_bytes(blk, 0, 4 * MIB, 0x5a);
	assert_bytes(blk, 4 * MIB, 60 * MIB + 1000, 0);
	fill(blk, 64 * MIB, 1000, 0x11);
	hg_block_close(blk);
	g_assert_cmpuint(file_size(image), ==, 64 * MIB + 1000);
	/* Sparse: the new part takes no space. */
	g_assert_cmpuint(file_blocks(image), <, 8 * MIB);
	blk = qt_open(image, true);
	g_assert_cmpuint(hg_block_size(blk), ==, 64 * MIB + 1000);
	assert_bytes(blk, 64 * MIB, 1000, 0x11);
	hg_block_close(blk);
}

static void test_raw_shrink_refused_over_data(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.raw");

	make_raw(image, 16 * MIB);
	HgBlockBackend *blk = qt_open(image, false);
	fill(blk, 0, MIB, 0x33);
	fill(blk, 12 * MIB + 7, 1, 0x01);
	g_autofree char *before = qt_file_hash(image);
	resize_refused(blk, 8 * MIB, G_IO_ERROR_NOT_SUPPORTED);
	/* Even one byte just past the new end counts. */
	resize_refused(blk, 12 * MIB + 7, G_IO_ERROR_NOT_SUPPORTED);
	g_autofree char *after = qt_file_hash(image);
	g_assert_cmpstr(before, ==, after);
	g_assert_cmpuint(file_size(image), ==, 16 * MIB);
	/* Right after it, the rest is zero. */
	resize_ok(blk, 12 * MIB + 8);
	assert_bytes(blk, 12 * MIB + 7, 1, 0x01);
	hg_block_close(blk);
}

static void test_raw_shrink_over_hole(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.raw");

	make_raw(image, 32 * MIB);
	HgBlockBackend *blk = qt_open(image, false);
	fill(blk, 0, 2 * MIB, 0x44);
	/* Written zeroes are not data either. */
	fill(blk, 20 * MIB, MIB, 0);
	resize_ok(blk, 2 * MIB + 512);
	assert_bytes(blk, 0, 2 * MIB, 0x44);
	assert_bytes(blk, 2 * MIB, 512, 0);
	hg_block_close(blk);
	g_assert_cmpuint(file_size(image), ==, 2 * MIB + 512);
}

/* qcow2: growing ------------------------------------------------------- */

typedef struct {
	unsigned cluster_bits;
	uint64_t from, to;
} GrowCase;

static void test_qcow2_grow(Fixture *f, gconstpointer data)
{
	const GrowCase *c = data;
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");

	QT_SKIP_WITHOUT_QEMU();
	create_qcow2(image, c->from, NULL, c->cluster_bits);
	HgBlockBackend *blk = qt_open(image, false);
	fill(blk, 0, 3 * MIB, 0xa1);
	fill(blk, c->from - 4096, 4096, 0xa2);
	resize_ok(blk, c->to);
	assert_bytes(blk, 0, 3 * MIB, 0xa1);
	assert_bytes(blk, c->from - 4096, 4096, 0xa2);
	assert_bytes(blk, c->from, MIB, 0);
	assert_bytes(blk, c->to - MIB, MIB, 0);
	fill(blk, c->from, 8192, 0xa3);
	fill(blk, c->to / 2 + 12345, 5000, 0xa4);
	fill(blk, c->to - 4096, 4096, 0xa5);
	hg_block_close(blk);

	qt_assert_check_clean(image);
	g_assert_cmpuint(qemu_virtual_size(image), ==, c->to);
	assert_qemu_reads(image, 0, 3 * MIB, 0xa1);
	assert_qemu_reads(image, c->from - 4096, 4096, 0xa2);
	assert_qemu_reads(image, c->from, 8192, 0xa3);
	assert_qemu_reads(image, c->from + 8192, 64 * KIB, 0);
	assert_qemu_reads(image, c->to / 2 + 12345, 5000, 0xa4);
	assert_qemu_reads(image, c->to - 4096, 4096, 0xa5);
	assert_qemu_reads(image, c->to - 8192, 4096, 0);

	/* Hangar reads it back the same after reopening. */
	blk = qt_open(image, false);
	g_assert_cmpuint(hg_block_size(blk), ==, c->to);
	assert_bytes(blk, c->from, 8192, 0xa3);
	assert_bytes(blk, c->to - 4096, 4096, 0xa5);
	hg_block_close(blk);
	qt_assert_check_clean(image);
}

/* An image qemu-img made, with its size not a multiple of the cluster
 * size: the last cluster's tail must read as zeroes after growing, and
 * qemu-img resize (shrink) leaves what it leaves. */
static void test_qcow2_grow_qemu_image(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");

	QT_SKIP_WITHOUT_QEMU();
	qt_run_ok("qemu-img create -q -f qcow2 -o cluster_size=65536 '%s' 10M", image);
	qt_run_ok("qemu-io -f qcow2 -c 'write -P 0x61 0 10M' '%s'", image);
	qt_run_ok("qemu-img resize -q -f qcow2 --shrink '%s' %" G_GUINT64_FORMAT, image,
		  5 * MIB + 512);
	HgBlockBackend *blk = qt_open(image, false);
	g_assert_cmpuint(hg_block_size(blk), ==, 5 * MIB + 512);
	resize_ok(blk, 20 * MIB);
	assert_bytes(blk, 0, 5 * MIB + 512, 0x61);
	assert_bytes(blk, 5 * MIB + 512, 15 * MIB - 512, 0);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	assert_qemu_reads(image, 5 * MIB + 512, 15 * MIB - 512, 0);
	assert_qemu_reads(image, 0, 5 * MIB + 512, 0x61);
}

/* Version 2 (no zero flag: zeroes over a longer backing file are written
 * as data) and an empty image made by qemu-img (no L1 table at all). */
static void test_qcow2_version_2_and_empty(Fixture *f, gconstpointer data)
{
	g_autofree char *base = qt_in_dir(f, "base.qcow2");
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	g_autofree char *empty = qt_in_dir(f, "empty.qcow2");

	QT_SKIP_WITHOUT_QEMU();
	qt_run_ok("qemu-img create -q -f qcow2 -o compat=0.10 '%s' 8M", base);
	qt_run_ok("qemu-io -f qcow2 -c 'write -P 0x71 0 8M' '%s'", base);
	qt_run_ok("qemu-img create -q -f qcow2 -o compat=0.10 -b base.qcow2 -F qcow2 '%s' 2M",
		  image);
	HgBlockBackend *blk = qt_open(image, false);
	resize_ok(blk, 16 * MIB);
	assert_bytes(blk, 0, 2 * MIB, 0x71);
	assert_bytes(blk, 2 * MIB, 14 * MIB, 0);
	resize_refused(blk, MIB, G_IO_ERROR_NOT_SUPPORTED); /* the backing file shows */
	resize_ok(blk, 10 * MIB); /* zeroes were written: allocated, refused */
	hg_block_close(blk);
	g_assert_cmpint(qt_qemu_img_check(image, NULL), ==, 0);
	g_assert_cmpuint(qemu_virtual_size(image), ==, 10 * MIB);
	assert_qemu_reads(image, 0, 2 * MIB, 0x71);
	assert_qemu_reads(image, 2 * MIB, 8 * MIB, 0);

	qt_run_ok("qemu-img create -q -f qcow2 '%s' 0", empty);
	blk = qt_open(empty, false);
	g_assert_cmpuint(hg_block_size(blk), ==, 0);
	resize_ok(blk, 3 * MIB);
	fill(blk, 3 * MIB - 512, 512, 0x72);
	resize_refused(blk, 0, G_IO_ERROR_NOT_SUPPORTED);
	g_assert_cmpint(hg_block_discard(blk, 0, 3 * MIB), ==, 0);
	resize_ok(blk, 0);
	resize_ok(blk, MIB);
	hg_block_close(blk);
	qt_assert_check_clean(empty);
	assert_qemu_reads(empty, 0, MIB, 0);
}

static HgBlockSnapshot *find_snapshot(GPtrArray *list, const char *name)
{
	for (unsigned i = 0; i < list->len; i++) {
		HgBlockSnapshot *s = list->pdata[i];
		if (strcmp(s->name, name) == 0)
			return s;
	}
	g_error("no snapshot %s", name);
}

static void test_qcow2_grow_keeps_snapshots(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	g_autofree char *copy = qt_in_dir(f, "copy.qcow2");
	g_autoptr(GError) error = NULL;

	QT_SKIP_WITHOUT_QEMU();
	/* 4 KiB clusters: the L1 table (1 GiB a cluster) moves. */
	create_qcow2(image, 64 * MIB, NULL, 12);
	HgBlockBackend *blk = qt_open(image, false);
	fill(blk, 0, MIB, 0xb1);
	fill(blk, 63 * MIB, MIB, 0xb2);
	g_autoptr(HgBlockSnapshot) snap = hg_block_snapshot_create(blk, "before", 0, &error);
	g_assert_no_error(error);
	fill(blk, 0, 4096, 0xb3);
	resize_ok(blk, 8 * GIB);
	fill(blk, 63 * MIB, 4096, 0xb4);
	fill(blk, 5 * GIB, MIB, 0xb5);
	g_autoptr(GPtrArray) list = hg_block_snapshot_list(blk, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(find_snapshot(list, "before")->disk_size, ==, 64 * MIB);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	g_assert_cmpuint(qemu_virtual_size(image), ==, 8 * GIB);
	assert_qemu_reads(image, 0, 4096, 0xb3);
	assert_qemu_reads(image, 4096, MIB - 4096, 0xb1);
	assert_qemu_reads(image, 5 * GIB, MIB, 0xb5);

	/* qemu-img applies the snapshot: its size and content come back. */
	qt_run_ok("cp --sparse=always '%s' '%s'", image, copy);
	qt_run_ok("qemu-img snapshot -a before '%s'", copy);
	qt_assert_check_clean(copy);
	g_assert_cmpuint(qemu_virtual_size(copy), ==, 64 * MIB);
	assert_qemu_reads(copy, 0, MIB, 0xb1);
	assert_qemu_reads(copy, 63 * MIB, MIB, 0xb2);

	/* So does Hangar, and the image can grow again after it. */
	blk = qt_open(image, false);
	g_assert_true(hg_block_snapshot_apply(blk, "before", &error));
	g_assert_no_error(error);
	g_assert_cmpuint(hg_block_size(blk), ==, 64 * MIB);
	assert_bytes(blk, 0, MIB, 0xb1);
	assert_bytes(blk, 63 * MIB, MIB, 0xb2);
	resize_ok(blk, 2 * GIB);
	assert_bytes(blk, 64 * MIB, MIB, 0);
	hg_block_close(blk);
	qt_assert_check_clean(image);
}

static void test_qcow2_grow_over_longer_backing(Fixture *f, gconstpointer data)
{
	g_autofree char *base = qt_in_dir(f, "base.raw");
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	g_autofree char *image2 = qt_in_dir(f, "disk2.qcow2");

	QT_SKIP_WITHOUT_QEMU();
	make_raw(base, 16 * MIB);
	HgBlockBackend *b = qt_open(base, false);
	fill(b, 0, 16 * MIB, 0xc1);
	hg_block_close(b);

	/* The overlay is shorter than its backing file: growing must not
	 * show the backing file's bytes past the old end. */
	create_qcow2(image, 4 * MIB + 512, "base.raw", 16);
	HgBlockBackend *blk = qt_open(image, false);
	fill(blk, 4 * MIB - 100, 200, 0xc2); /* the last cluster, partly */
	resize_ok(blk, 32 * MIB);
	assert_bytes(blk, 0, 4 * MIB - 100, 0xc1);
	assert_bytes(blk, 4 * MIB - 100, 200, 0xc2);
	assert_bytes(blk, 4 * MIB + 100, 412, 0xc1);
	assert_bytes(blk, 4 * MIB + 512, 28 * MIB - 512, 0);
	fill(blk, 20 * MIB, 4096, 0xc3);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	g_assert_cmpuint(qemu_virtual_size(image), ==, 32 * MIB);
	assert_qemu_reads(image, 0, 4 * MIB - 100, 0xc1);
	assert_qemu_reads(image, 4 * MIB + 512, 16 * MIB - 512, 0);
	assert_qemu_reads(image, 20 * MIB, 4096, 0xc3);
	assert_qemu_reads(image, 20 * MIB + 4096, 12 * MIB - 4096, 0);

	/* An overlay that maps nothing yet: the zeroes need new L2 tables. */
	g_autofree char *image3 = qt_in_dir(f, "disk3.qcow2");
	create_qcow2(image3, MIB, "base.raw", 16);
	blk = qt_open(image3, false);
	resize_ok(blk, 32 * MIB);
	assert_bytes(blk, 0, MIB, 0xc1);
	assert_bytes(blk, MIB, 31 * MIB, 0);
	hg_block_close(blk);
	qt_assert_check_clean(image3);
	assert_qemu_reads(image3, MIB, 31 * MIB, 0);

	/* Shrinking over the backing file's data is refused; where the
	 * overlay says zero it is not. */
	create_qcow2(image2, 0, "base.raw", 16);
	blk = qt_open(image2, false);
	resize_refused(blk, 8 * MIB, G_IO_ERROR_NOT_SUPPORTED);
	g_assert_cmpint(hg_block_write_zeroes(blk, 8 * MIB, 8 * MIB, true), ==, 0);
	resize_ok(blk, 8 * MIB);
	assert_bytes(blk, 0, 8 * MIB, 0xc1);
	resize_ok(blk, 12 * MIB);
	assert_bytes(blk, 8 * MIB, 4 * MIB, 0);
	hg_block_close(blk);
	qt_assert_check_clean(image2);
	assert_qemu_reads(image2, 8 * MIB, 4 * MIB, 0);
	assert_qemu_reads(image2, 0, 8 * MIB, 0xc1);
}

/* qcow2: shrinking ----------------------------------------------------- */

static void test_qcow2_shrink_refused_over_data(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");

	QT_SKIP_WITHOUT_QEMU();
	create_qcow2(image, 64 * MIB, NULL, 16);
	HgBlockBackend *blk = qt_open(image, false);
	fill(blk, 0, MIB, 0xd1);
	fill(blk, 40 * MIB, 512, 0xd2);
	hg_block_flush(blk);
	g_autofree char *before = qt_file_hash(image);
	resize_refused(blk, 32 * MIB, G_IO_ERROR_NOT_SUPPORTED);
	resize_refused(blk, 40 * MIB, G_IO_ERROR_NOT_SUPPORTED);
	/* The cluster the new end cuts through, with data past the end. */
	resize_refused(blk, 512 * KIB, G_IO_ERROR_NOT_SUPPORTED);
	g_autofree char *after = qt_file_hash(image);
	g_assert_cmpstr(before, ==, after);
	assert_bytes(blk, 40 * MIB, 512, 0xd2);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	g_assert_cmpuint(qemu_virtual_size(image), ==, 64 * MIB);
}

static void test_qcow2_shrink_over_zeroes(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");

	QT_SKIP_WITHOUT_QEMU();
	/* 4 KiB clusters: 2 MiB an L2 table, so whole tables go. */
	create_qcow2(image, 64 * MIB, NULL, 12);
	HgBlockBackend *blk = qt_open(image, false);
	fill(blk, 0, MIB, 0xe1);
	fill(blk, 9 * MIB, 16 * MIB, 0xe2);
	fill(blk, 60 * MIB, 4 * MIB, 0xe3);
	hg_block_close(blk);
	/* Zero clusters that keep their allocation, as QEMU makes them. */
	qt_run_ok("qemu-io -f qcow2 -c 'write -z %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
		  "' -c 'write -z %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "' '%s'",
		  9 * MIB, 16 * MIB, 60 * MIB, 4 * MIB, image);
	qt_assert_check_clean(image);
	uint64_t blocks_before = file_blocks(image);

	blk = qt_open(image, false);
	/* 9 MiB + 1.5 KiB: inside an L2 table, inside a cluster. */
	resize_ok(blk, 9 * MIB + 1536);
	assert_bytes(blk, 0, MIB, 0xe1);
	assert_bytes(blk, MIB, 8 * MIB + 1536, 0);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	g_assert_cmpuint(qemu_virtual_size(image), ==, 9 * MIB + 1536);
	g_assert_cmpuint(file_blocks(image), <, blocks_before - 16 * MIB);

	/* And it grows back to zeroes. */
	blk = qt_open(image, false);
	resize_ok(blk, 128 * MIB);
	assert_bytes(blk, 9 * MIB, 119 * MIB, 0);
	fill(blk, 100 * MIB, 4096, 0xe4);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	assert_qemu_reads(image, 9 * MIB, 91 * MIB, 0);
	assert_qemu_reads(image, 100 * MIB, 4096, 0xe4);
}

static void test_qcow2_shrink_with_snapshot(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	g_autoptr(GError) error = NULL;

	QT_SKIP_WITHOUT_QEMU();
	create_qcow2(image, 64 * MIB, NULL, 12);
	HgBlockBackend *blk = qt_open(image, false);
	fill(blk, 0, MIB, 0xf1);
	fill(blk, 40 * MIB, MIB, 0xf2);
	g_autoptr(HgBlockSnapshot) snap = hg_block_snapshot_create(blk, "full", 0, &error);
	g_assert_no_error(error);
	/* The snapshot's data past the end is the snapshot's business. */
	resize_refused(blk, 16 * MIB, G_IO_ERROR_NOT_SUPPORTED);
	g_assert_cmpint(hg_block_discard(blk, 16 * MIB, 48 * MIB), ==, 0);
	resize_ok(blk, 16 * MIB);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	g_assert_cmpuint(qemu_virtual_size(image), ==, 16 * MIB);

	blk = qt_open(image, false);
	g_assert_true(hg_block_snapshot_apply(blk, "full", &error));
	g_assert_no_error(error);
	g_assert_cmpuint(hg_block_size(blk), ==, 64 * MIB);
	assert_bytes(blk, 40 * MIB, MIB, 0xf2);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	assert_qemu_reads(image, 40 * MIB, MIB, 0xf2);
}

/* The import's pattern: a qcow2 that grows by doubling while data
 * streams in, each step written at its end. */
static void test_qcow2_grows_in_steps(Fixture *f, gconstpointer data)
{
	unsigned bits = GPOINTER_TO_UINT(data);
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");

	QT_SKIP_WITHOUT_QEMU();
	create_qcow2(image, GIB, NULL, bits);
	HgBlockBackend *blk = qt_open(image, false);
	unsigned step = 0;
	for (uint64_t size = GIB; size <= 64 * GIB; size *= 2, step++) {
		if (size > GIB)
			resize_ok(blk, size);
		fill(blk, size - 64 * KIB, 64 * KIB, 0x10 + step);
		fill(blk, size / 2 + 4096 * step, 4096, 0x80 + step);
	}
	step = 0;
	for (uint64_t size = GIB; size <= 64 * GIB; size *= 2, step++)
		assert_bytes(blk, size - 64 * KIB, 64 * KIB, 0x10 + step);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	g_assert_cmpuint(qemu_virtual_size(image), ==, 64 * GIB);
	step = 0;
	for (uint64_t size = GIB; size <= 64 * GIB; size *= 2, step++) {
		assert_qemu_reads(image, size - 64 * KIB, 64 * KIB, 0x10 + step);
		if (size > GIB)
			assert_qemu_reads(image, size / 2 + 4096 * step, 4096, 0x80 + step);
	}
}

/* Errors ------------------------------------------------------------ */

static void test_read_only_refused(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	g_autofree char *raw = qt_in_dir(f, "disk.raw");

	create_qcow2(image, 8 * MIB, NULL, 16);
	make_raw(raw, 8 * MIB);
	HgBlockBackend *blk = qt_open(image, true);
	resize_refused(blk, 16 * MIB, G_IO_ERROR_READ_ONLY);
	hg_block_close(blk);
	blk = qt_open(raw, true);
	resize_refused(blk, 16 * MIB, G_IO_ERROR_READ_ONLY);
	hg_block_close(blk);
	g_assert_cmpuint(file_size(raw), ==, 8 * MIB);

	/* Too big for the clusters: 512-byte ones map 128 GiB at most. */
	g_autofree char *small = qt_in_dir(f, "small.qcow2");
	create_qcow2(small, 8 * MIB, NULL, 9);
	blk = qt_open(small, false);
	resize_refused(blk, TIB, G_IO_ERROR_INVALID_ARGUMENT);
	resize_ok(blk, 8 * MIB); /* no change */
	hg_block_close(blk);
}

/* Crash safety -------------------------------------------------------- */

G_GNUC_NORETURN static void crash_child(const char *image, uint64_t seed)
{
	HgBlockBackend *blk = hg_block_open(image, false, NULL);
	uint8_t buf[8192];

	if (!blk)
		_exit(2);
	for (;;) {
		uint64_t size = hg_block_size(blk);
		/* Log-uniform between 1 MiB and 16 GiB. */
		uint64_t target = MIB << qt_random_below(&seed, 15);
		target += qt_random_below(&seed, target) & ~511ull;
		if (target < size && hg_block_write_zeroes(blk, target, size - target, true) < 0)
			_exit(3);
		if (!hg_block_resize(blk, target, NULL))
			_exit(4);
		qt_random_fill(&seed, buf, sizeof(buf));
		struct iovec iov = {buf, sizeof(buf)};
		if (hg_block_writev(blk, target - sizeof(buf), &iov, 1) < 0 ||
		    hg_block_writev(blk, qt_random_below(&seed, target - sizeof(buf)), &iov, 1) < 0)
			_exit(5);
	}
}

/* 4 KiB clusters: the L1 table moves every few GiB.  512-byte ones: it
 * soon outgrows a refcount block's span and goes in by commit. */
static void test_kill_during_resizes(Fixture *f, gconstpointer data)
{
	unsigned bits = GPOINTER_TO_UINT(data);
	g_autofree char *image = qt_in_dir(f, "disk.qcow2");
	uint64_t rng = 777 + bits;
	unsigned leaks = 0;
	g_autoptr(GHashTable) sizes = g_hash_table_new(g_int64_hash, g_int64_equal);
	gint64 seen[12];

	QT_SKIP_WITHOUT_QEMU();
	create_qcow2(image, 4 * MIB, NULL, bits);
	for (unsigned round = 0; round < 12; round++) {
		uint64_t seed = qt_random(&rng);
		pid_t pid = fork();
		g_assert_cmpint(pid, >=, 0);
		if (pid == 0)
			crash_child(image, seed);
		g_usleep(30000 + qt_random_below(&rng, 250000));
		g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
		int status;
		g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
		if (!WIFSIGNALED(status))
			g_error("round %u: the child stopped by itself (status %d)", round,
				WEXITSTATUS(status));

		g_autofree char *output = NULL;
		int check = qt_qemu_img_check(image, &output);
		if (check != 0 && check != 3)
			g_error("round %u: qemu-img check status %d after kill -9:\n%s", round,
				check, output);
		leaks += check == 3;
		HgBlockBackend *blk = qt_open(image, false);
		g_assert_cmpuint(hg_block_size(blk), ==, qemu_virtual_size(image));
		seen[round] = hg_block_size(blk);
		g_hash_table_add(sizes, &seen[round]);
		hg_block_close(blk);
		qt_assert_check_clean(image);
	}
	g_test_message("12 kills, %u left leaks to repair, %u different sizes found", leaks,
		       g_hash_table_size(sizes));
	/* The children did resize (each starts from its own random size). */
	g_assert_cmpuint(g_hash_table_size(sizes), >, 6);
}

int main(int argc, char **argv)
{
	static const GrowCase grow_cases[] = {
		{16, 64 * MIB, 512 * MIB}, /* the L1 table has the entry already */
		{16, 64 * MIB, 4 * TIB}, /* it grows into its cluster's tail */
		{16, 64 * MIB, 16 * TIB}, /* a new table of four clusters */
		{12, 64 * MIB, 64 * GIB}, /* a new table, many clusters */
		{9, 8 * MIB, 16 * GIB}, /* 512-byte clusters */
	};

	g_test_init(&argc, &argv, NULL);
#define ADD(name, fn, data)                                                                        \
	g_test_add("/block/resize/" name, Fixture, data, qt_fixture_set_up, fn,                    \
		   qt_fixture_tear_down)
	ADD("raw/grow-keeps-content-and-reads-zeroes", test_raw_grow, NULL);
	ADD("raw/shrink-is-refused-over-data", test_raw_shrink_refused_over_data, NULL);
	ADD("raw/shrink-over-a-hole-shortens-the-file", test_raw_shrink_over_hole, NULL);
	for (unsigned i = 0; i < G_N_ELEMENTS(grow_cases); i++) {
		const GrowCase *c = &grow_cases[i];
		g_autofree char *name = g_strdup_printf(
			"/block/resize/qcow2/grow-keeps-content/%u-bit-clusters/%" G_GUINT64_FORMAT
			"-to-%" G_GUINT64_FORMAT "-mib",
			c->cluster_bits, c->from / MIB, c->to / MIB);
		g_test_add(name, Fixture, c, qt_fixture_set_up, test_qcow2_grow,
			   qt_fixture_tear_down);
	}
	ADD("qcow2/grow-zeroes-the-tail-of-a-qemu-image", test_qcow2_grow_qemu_image, NULL);
	ADD("qcow2/grow-keeps-internal-snapshots", test_qcow2_grow_keeps_snapshots, NULL);
	ADD("qcow2/grow-hides-a-longer-backing-file", test_qcow2_grow_over_longer_backing, NULL);
	ADD("qcow2/version-2-and-empty-images", test_qcow2_version_2_and_empty, NULL);
	ADD("qcow2/shrink-is-refused-over-data", test_qcow2_shrink_refused_over_data, NULL);
	ADD("qcow2/shrink-over-zeroes-frees-clusters", test_qcow2_shrink_over_zeroes, NULL);
	ADD("qcow2/shrink-leaves-a-snapshot-whole", test_qcow2_shrink_with_snapshot, NULL);
	ADD("qcow2/grows-in-steps/64k-clusters", test_qcow2_grows_in_steps, GUINT_TO_POINTER(16));
	ADD("qcow2/grows-in-steps/4k-clusters", test_qcow2_grows_in_steps, GUINT_TO_POINTER(12));
	ADD("read-only-and-too-big-are-refused", test_read_only_refused, NULL);
	ADD("qcow2/kill-9-while-resizing-leaves-no-corruption/4k-clusters",
	    test_kill_during_resizes, GUINT_TO_POINTER(12));
	ADD("qcow2/kill-9-while-resizing-leaves-no-corruption/512-byte-clusters",
	    test_kill_during_resizes, GUINT_TO_POINTER(9));
	return g_test_run();
}

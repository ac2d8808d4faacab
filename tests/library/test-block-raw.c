/* Raw block backends: transfers with scatter/gather and short-transfer
 * handling, range checks, read-only refusal, flush, discard and zeroing. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "library/block/block.h"

typedef struct {
	char *dir;
	char *path;
} Fixture;

static void fixture_set_up(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("hangar-block-XXXXXX", NULL);
	f->path = g_build_filename(f->dir, "disk.img", NULL);
	g_autofree uint8_t *content = g_malloc(1 << 20);
	for (unsigned i = 0; i < 1 << 20; i++)
		content[i] = (uint8_t)(i * 7 + i / 4096);
	g_assert_true(g_file_set_contents(f->path, (char *)content, 1 << 20, NULL));
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
	g_unlink(f->path);
	g_rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

static HgBlockBackend *open_disk(Fixture *f, bool read_only)
{
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(f->path, read_only, &error);
	g_assert_no_error(error);
	return blk;
}

static void test_size_and_path(Fixture *f, gconstpointer data)
{
	HgBlockBackend *blk = open_disk(f, true);
	g_assert_cmpuint(hg_block_size(blk), ==, 1 << 20);
	g_assert_cmpstr(hg_block_path(blk), ==, f->path);
	g_assert_true(hg_block_is_read_only(blk));
	hg_block_close(blk);
}

static void test_scatter_gather_round_trip(Fixture *f, gconstpointer data)
{
	HgBlockBackend *blk = open_disk(f, false);
	uint8_t a[100], b[3000], c[1], out[3101];
	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	c[0] = 0xcc;
	struct iovec w[] = {{a, sizeof(a)}, {NULL, 0}, {b, sizeof(b)}, {c, 1}};
	g_assert_cmpint(hg_block_writev(blk, 4095, w, 4), ==, 0);
	struct iovec r[] = {{out, 50}, {out + 50, 3051}};
	g_assert_cmpint(hg_block_readv(blk, 4095, r, 2), ==, 0);
	g_assert_cmpmem(out, 100, a, 100);
	g_assert_cmpmem(out + 100, 3000, b, 3000);
	g_assert_cmphex(out[3100], ==, 0xcc);
	hg_block_close(blk);
}

static void test_many_iovecs(Fixture *f, gconstpointer data)
{
	HgBlockBackend *blk = open_disk(f, false);
	enum { N = 2000 }; /* more than IOV_MAX batches and the stack copy */
	struct iovec *iov = g_new(struct iovec, N);
	uint8_t *buf = g_malloc(N * 3);
	for (unsigned i = 0; i < N * 3; i++)
		buf[i] = i;
	for (unsigned i = 0; i < N; i++)
		iov[i] = (struct iovec){buf + 3 * i, 3};
	g_assert_cmpint(hg_block_writev(blk, 512, iov, N), ==, 0);
	uint8_t *back = g_malloc(N * 3);
	struct iovec one = {back, N * 3};
	g_assert_cmpint(hg_block_readv(blk, 512, &one, 1), ==, 0);
	g_assert_cmpmem(back, N * 3, buf, N * 3);
	g_free(iov);
	g_free(buf);
	g_free(back);
	hg_block_close(blk);
}

static void test_transfers_past_the_end_fail(Fixture *f, gconstpointer data)
{
	HgBlockBackend *blk = open_disk(f, false);
	uint8_t buf[512];
	struct iovec iov = {buf, sizeof(buf)};
	g_assert_cmpint(hg_block_readv(blk, (1 << 20) - 256, &iov, 1), ==, -EIO);
	g_assert_cmpint(hg_block_writev(blk, UINT64_MAX - 10, &iov, 1), ==, -EIO);
	g_assert_cmpint(hg_block_discard(blk, 1 << 20, 1), ==, -EIO);
	g_assert_cmpint(hg_block_write_zeroes(blk, 4096, UINT64_MAX, false), ==, -EIO);
	g_assert_cmpint(hg_block_readv(blk, (1 << 20) - 512, &iov, 1), ==, 0);
	hg_block_close(blk);
}

static void test_read_only_refuses_writes(Fixture *f, gconstpointer data)
{
	HgBlockBackend *blk = open_disk(f, true);
	uint8_t buf[512] = {0};
	struct iovec iov = {buf, sizeof(buf)};
	g_assert_cmpint(hg_block_writev(blk, 0, &iov, 1), ==, -EROFS);
	g_assert_cmpint(hg_block_discard(blk, 0, 4096), ==, -EROFS);
	g_assert_cmpint(hg_block_write_zeroes(blk, 0, 4096, true), ==, -EROFS);
	g_assert_cmpint(hg_block_flush(blk), ==, 0);
	hg_block_close(blk);
}

static void assert_zero_range(Fixture *f, uint64_t offset, uint64_t len)
{
	g_autofree char *content = NULL;
	gsize size;
	g_assert_true(g_file_get_contents(f->path, &content, &size, NULL));
	g_assert_cmpuint(size, ==, 1 << 20);
	for (uint64_t i = offset; i < offset + len; i++)
		if (content[i])
			g_error("byte %" G_GUINT64_FORMAT " is not zero", i);
	g_assert_cmpint(content[offset - 1], !=, 0); /* neighbours untouched */
	g_assert_cmpint((uint8_t)content[offset + len], ==, (uint8_t)((offset + len) * 7 + (offset + len) / 4096));
}

static void test_write_zeroes_zeroes_exactly_the_range(Fixture *f, gconstpointer data)
{
	HgBlockBackend *blk = open_disk(f, false);
	g_assert_cmpint(hg_block_write_zeroes(blk, 8193, 10000, false), ==, 0);
	assert_zero_range(f, 8193, 10000);
	g_assert_cmpint(hg_block_write_zeroes(blk, 65536, 65536, true), ==, 0);
	assert_zero_range(f, 65536, 65536);
	hg_block_close(blk);
}

static void test_discard_keeps_the_size(Fixture *f, gconstpointer data)
{
	HgBlockBackend *blk = open_disk(f, false);
	struct stat st;
	g_assert_cmpint(hg_block_discard(blk, 0, 1 << 20), ==, 0);
	g_assert_cmpint(hg_block_flush(blk), ==, 0);
	g_assert_cmpint(stat(f->path, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 1 << 20);
	hg_block_close(blk);
}

static void test_open_errors_are_clear(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_assert_null(hg_block_open("/nonexistent/disk.img", false, &error));
	g_assert_nonnull(strstr(error->message, "/nonexistent/disk.img"));
	g_clear_error(&error);
	g_assert_null(hg_block_open(f->dir, false, &error));
	g_assert_nonnull(error);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
	ADD("/block/raw/size-and-path", test_size_and_path);
	ADD("/block/raw/scatter-gather-round-trip", test_scatter_gather_round_trip);
	ADD("/block/raw/thousands-of-iovecs", test_many_iovecs);
	ADD("/block/raw/transfers-past-the-end-fail", test_transfers_past_the_end_fail);
	ADD("/block/raw/read-only-refuses-writes", test_read_only_refuses_writes);
	ADD("/block/raw/write-zeroes-zeroes-exactly-the-range",
	    test_write_zeroes_zeroes_exactly_the_range);
	ADD("/block/raw/discard-keeps-the-size", test_discard_keeps_the_size);
	ADD("/block/raw/open-errors-are-clear", test_open_errors_are_clear);
	return g_test_run();
}

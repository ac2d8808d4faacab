/* qcow2 images made and written by Hangar: random writes, discards and zero
 * writes against a raw reference, with and without a backing file, several
 * threads at once, refcount table growth, backing chains, and the repair
 * after a crash.  Where qemu-img is installed, every image written here must
 * also pass `qemu-img check` and compare equal to the reference. */
#include "qcow2-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1ull << 20)

typedef QtFixture Fixture;

static char *make_qcow2(Fixture *f, const char *name, uint64_t size, const char *backing,
			unsigned cluster_bits)
{
	g_autoptr(GError) error = NULL;
	char *path = g_build_filename(f->dir, name, NULL);
	g_assert_true(hg_block_create_qcow2(path, size, backing, cluster_bits, &error));
	g_assert_no_error(error);
	return path;
}

static char *make_raw(Fixture *f, const char *name, const uint8_t *content, uint64_t size)
{
	char *path = g_build_filename(f->dir, name, NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, size), ==, 0);
	if (content)
		g_assert_cmpint(pwrite(fd, content, size, 0), ==, (ssize_t)size);
	close(fd);
	return path;
}

static void test_create_opens_empty(Fixture *f, gconstpointer data)
{
	g_autofree char *path = make_qcow2(f, "a.qcow2", 64 * MIB, NULL, 16);
	HgBlockBackend *blk = qt_open(path, false);
	g_assert_cmpuint(hg_block_size(blk), ==, 64 * MIB);
	g_assert_cmpstr(hg_block_format(blk), ==, "qcow2");
	g_autofree uint8_t *zero = g_malloc0(64 * MIB);
	qt_assert_content(blk, zero, 64 * MIB);
	hg_block_close(blk);
	g_autoptr(GError) error = NULL;
	g_assert_false(hg_block_create_qcow2(path, MIB, NULL, 16, &error));
	g_assert_nonnull(error);
	if (qt_have_qemu())
		qt_assert_check_clean(path);
}

/* One random operation on both the image and the reference. */
static void random_op(uint64_t *rng, HgBlockBackend *img, HgBlockBackend *ref, uint64_t cluster,
		      uint64_t base, uint64_t span, uint8_t *buf)
{
	uint64_t kind = qt_random_below(rng, 100);
	uint64_t max_len = MIN(MIN(span, MAX(3 * cluster, 256 * 1024)), 4 * MIB);
	uint64_t len, offset;

	if (qt_random_below(rng, 2))
		len = 1 + qt_random_below(rng, max_len);
	else
		len = (1 + qt_random_below(rng, 8)) * 512;
	len = MIN(len, span);
	offset = base + qt_random_below(rng, span - len + 1);
	if (qt_random_below(rng, 2))
		offset &= ~511ull;
	if (kind < 65) {
		qt_random_fill(rng, buf, len);
		/* Up to three pieces, as a scatter list. */
		uint64_t cut1 = qt_random_below(rng, len + 1), cut2 = qt_random_below(rng, len + 1);
		uint64_t a = MIN(cut1, cut2), b = MAX(cut1, cut2);
		struct iovec iov[3] = {{buf, a}, {buf + a, b - a}, {buf + b, len - b}};
		g_assert_cmpint(hg_block_writev(img, offset, iov, 3), ==, 0);
		g_assert_cmpint(hg_block_writev(ref, offset, iov, 3), ==, 0);
	} else if (kind < 78) {
		/* Discard is advisory: whole clusters, where it acts. */
		uint64_t first = (offset + cluster - 1) & ~(cluster - 1);
		uint64_t end = (offset + len) & ~(cluster - 1);
		if (first < end) {
			g_assert_cmpint(hg_block_discard(img, first, end - first), ==, 0);
			g_assert_cmpint(hg_block_write_zeroes(ref, first, end - first, true), ==,
					0);
		}
	} else if (kind < 92) {
		bool unmap = qt_random_below(rng, 2);
		g_assert_cmpint(hg_block_write_zeroes(img, offset, len, unmap), ==, 0);
		g_assert_cmpint(hg_block_write_zeroes(ref, offset, len, unmap), ==, 0);
	} else if (kind < 97) {
		struct iovec iov = {buf, len};
		g_autofree uint8_t *other = g_malloc(len);
		struct iovec oiov = {other, len};
		g_assert_cmpint(hg_block_readv(img, offset, &iov, 1), ==, 0);
		g_assert_cmpint(hg_block_readv(ref, offset, &oiov, 1), ==, 0);
		g_assert_true(memcmp(buf, other, len) == 0);
	} else {
		g_assert_cmpint(hg_block_flush(img), ==, 0);
	}
}

static void assert_same(HgBlockBackend *img, HgBlockBackend *ref)
{
	g_autofree uint8_t *expected = qt_read_all(ref);
	qt_assert_content(img, expected, hg_block_size(ref));
}

typedef struct {
	unsigned cluster_bits;
	uint64_t size;
	unsigned ops;
	bool backing;
} RandomCase;

static void test_random_io_matches_raw(Fixture *f, gconstpointer data)
{
	const RandomCase *c = data;
	uint64_t rng = 0x5eed0000 + c->cluster_bits + (c->backing ? 100 : 0);
	g_autofree uint8_t *buf = g_malloc(4 * MIB);
	g_autofree char *backing = NULL;
	g_autofree uint8_t *base = g_malloc0(c->size);

	if (c->backing) {
		/* A backing file a little shorter than the image: past its end
		 * the image reads zeroes. */
		qt_random_fill(&rng, base, c->size - 3 * 4096);
		backing = make_raw(f, "base.raw", base, c->size - 3 * 4096);
	}
	g_autofree char *path =
		make_qcow2(f, "img.qcow2", c->size, backing ? "base.raw" : NULL, c->cluster_bits);
	g_autofree char *ref_path = make_raw(f, "ref.raw", base, c->size);
	HgBlockBackend *img = qt_open(path, false), *ref = qt_open(ref_path, false);

	for (unsigned i = 0; i < c->ops; i++) {
		random_op(&rng, img, ref, 1ull << c->cluster_bits, 0, c->size, buf);
		if (i == c->ops / 2) {
			/* Reopen half way: what is on disk is what counts. */
			hg_block_close(img);
			img = qt_open(path, false);
		}
	}
	assert_same(img, ref);
	hg_block_close(img);
	hg_block_close(ref);
	if (qt_have_qemu()) {
		qt_assert_check_clean(path);
		qt_assert_images_equal(path, ref_path);
	}
	img = qt_open(path, true);
	ref = qt_open(ref_path, true);
	assert_same(img, ref);
	hg_block_close(img);
	hg_block_close(ref);
}

/* 512-byte clusters: the first refcount table covers 8 MiB, so filling
 * 24 MiB makes it grow (twice). */
static void test_refcount_table_grows(Fixture *f, gconstpointer data)
{
	const uint64_t size = 24 * MIB;
	g_autofree char *path = make_qcow2(f, "img.qcow2", size, NULL, 9);
	g_autofree uint8_t *content = g_malloc(size);
	uint64_t rng = 42;
	qt_random_fill(&rng, content, size);
	HgBlockBackend *img = qt_open(path, false);

	for (uint64_t off = 0; off < size; off += 256 * 1024) {
		struct iovec iov = {content + off, 256 * 1024};
		g_assert_cmpint(hg_block_writev(img, off, &iov, 1), ==, 0);
	}
	qt_assert_content(img, content, size);
	hg_block_close(img);
	img = qt_open(path, true);
	qt_assert_content(img, content, size);
	hg_block_close(img);
	if (qt_have_qemu())
		qt_assert_check_clean(path);
}

typedef struct {
	HgBlockBackend *img;
	uint8_t *expected; /* the whole disk; each thread owns its region */
	uint64_t base, span, cluster;
	uint64_t seed;
} Worker;

static gpointer worker_run(gpointer data)
{
	Worker *w = data;
	uint64_t rng = w->seed;
	g_autofree uint8_t *buf = g_malloc(256 * 1024);

	for (unsigned i = 0; i < 600; i++) {
		uint64_t len = 1 + qt_random_below(&rng, MIN(w->span, 3 * w->cluster));
		uint64_t off = w->base + qt_random_below(&rng, w->span - len + 1);
		uint64_t kind = qt_random_below(&rng, 10);
		if (kind < 7) {
			qt_random_fill(&rng, buf, len);
			struct iovec iov = {buf, len};
			g_assert_cmpint(hg_block_writev(w->img, off, &iov, 1), ==, 0);
			memcpy(w->expected + off, buf, len);
		} else if (kind < 8) {
			g_assert_cmpint(hg_block_write_zeroes(w->img, off, len, true), ==, 0);
			memset(w->expected + off, 0, len);
		} else if (kind < 9) {
			struct iovec iov = {buf, len};
			g_assert_cmpint(hg_block_readv(w->img, off, &iov, 1), ==, 0);
			g_assert_true(memcmp(buf, w->expected + off, len) == 0);
		} else {
			g_assert_cmpint(hg_block_flush(w->img), ==, 0);
		}
	}
	return NULL;
}

/* Regions that do not end on cluster boundaries: neighbours share
 * clusters, so allocation races are exercised too. */
static void test_concurrent_writers(Fixture *f, gconstpointer data)
{
	const unsigned threads = 4;
	const uint64_t size = 8 * MIB, cluster = 4096;
	g_autofree char *path = make_qcow2(f, "img.qcow2", size, NULL, 12);
	g_autofree uint8_t *expected = g_malloc0(size);
	HgBlockBackend *img = qt_open(path, false);
	Worker workers[4];
	GThread *t[4];

	for (unsigned i = 0; i < threads; i++) {
		uint64_t base = i * (size / threads) + (i ? 1000 : 0);
		uint64_t end = (i + 1 == threads) ? size : (i + 1) * (size / threads) + 1000;
		workers[i] = (Worker){img, expected, base, end - base, cluster, 1000 + i};
		t[i] = g_thread_new("writer", worker_run, &workers[i]);
	}
	for (unsigned i = 0; i < threads; i++)
		g_thread_join(t[i]);
	qt_assert_content(img, expected, size);
	hg_block_close(img);
	img = qt_open(path, true);
	qt_assert_content(img, expected, size);
	hg_block_close(img);
	if (qt_have_qemu())
		qt_assert_check_clean(path);
}

static void test_read_only_refuses_writes(Fixture *f, gconstpointer data)
{
	g_autofree char *path = make_qcow2(f, "img.qcow2", MIB, NULL, 16);
	g_autofree char *before = qt_file_hash(path);
	HgBlockBackend *img = qt_open(path, true);
	uint8_t buf[512] = {1};
	struct iovec iov = {buf, sizeof(buf)};
	g_assert_cmpint(hg_block_writev(img, 0, &iov, 1), ==, -EROFS);
	g_assert_cmpint(hg_block_discard(img, 0, 65536), ==, -EROFS);
	g_assert_cmpint(hg_block_readv(img, MIB - 256, &iov, 1), ==, -EIO);
	hg_block_close(img);
	g_autofree char *after = qt_file_hash(path);
	g_assert_cmpstr(before, ==, after);
}

/* Each layer writes its own 4 KiB block; the top sees them all. */
static void test_backing_chain_reads_every_layer(Fixture *f, gconstpointer data)
{
	const unsigned layers = 10;
	g_autofree char *prev = NULL;

	for (unsigned i = 0; i < layers; i++) {
		g_autofree char *name = g_strdup_printf("layer%u.qcow2", i);
		g_autofree char *path = make_qcow2(f, name, MIB, prev, 16);
		HgBlockBackend *blk = qt_open(path, false);
		uint8_t block[4096];
		memset(block, 0x10 + i, sizeof(block));
		struct iovec iov = {block, sizeof(block)};
		g_assert_cmpint(hg_block_writev(blk, i * 65536 + 100, &iov, 1), ==, 0);
		hg_block_close(blk);
		g_free(prev);
		prev = g_steal_pointer(&name);
	}
	g_autofree char *top = g_build_filename(f->dir, prev, NULL);
	HgBlockBackend *blk = qt_open(top, true);
	g_autofree uint8_t *all = qt_read_all(blk);
	for (unsigned i = 0; i < layers; i++)
		for (unsigned j = 0; j < 4096; j++)
			g_assert_cmpuint(all[i * 65536 + 100 + j], ==, 0x10 + i);
	g_assert_cmpuint(all[99], ==, 0);
	hg_block_close(blk);
	if (qt_have_qemu())
		qt_assert_check_clean(top);
}

static void test_backing_chain_too_deep_is_refused(Fixture *f, gconstpointer data)
{
	g_autofree char *prev = NULL;
	g_autoptr(GError) error = NULL;

	for (unsigned i = 0; i < 66; i++) {
		g_autofree char *name = g_strdup_printf("l%u.qcow2", i);
		g_autofree char *path = g_build_filename(f->dir, name, NULL);
		/* hg_block_create_qcow2 opens the backing chain to find its
		 * size; past the limit that fails, which is right.  Make
		 * the deepest ones with a known size. */
		g_clear_error(&error);
		if (!hg_block_create_qcow2(path, MIB, prev, 16, &error)) {
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
			g_assert_nonnull(strstr(error->message, "deeper"));
			return;
		}
		g_free(prev);
		prev = g_steal_pointer(&name);
	}
	g_autofree char *top = g_build_filename(f->dir, prev, NULL);
	g_assert_null(hg_block_open(top, true, &error));
	g_assert_nonnull(strstr(error->message, "deeper"));
}

/* A child process writes and is killed at a random moment; the image is
 * then repaired on open (dirty bit), checks clean, and holds at least
 * everything flushed before the kill. */
static void test_killed_writer_leaves_repairable_image(Fixture *f, gconstpointer data)
{
	const uint64_t size = 16 * MIB;
	g_autofree char *path = make_qcow2(f, "img.qcow2", size, NULL, 12);
	g_autofree uint8_t *flushed = g_malloc(MIB);
	uint64_t rng = 7;
	qt_random_fill(&rng, flushed, MIB);

	for (unsigned round = 0; round < 6; round++) {
		int pipefd[2];
		g_assert_cmpint(pipe(pipefd), ==, 0);
		pid_t pid = fork();
		g_assert_cmpint(pid, >=, 0);
		if (pid == 0) {
			close(pipefd[0]);
			HgBlockBackend *img = hg_block_open(path, false, NULL);
			if (!img)
				_exit(2);
			struct iovec iov = {flushed, MIB};
			if (hg_block_writev(img, 0, &iov, 1) < 0 || hg_block_flush(img) < 0)
				_exit(3);
			(void)!write(pipefd[1], "k", 1);
			uint64_t crng = 100 + round;
			g_autofree uint8_t *buf = g_malloc(65536);
			for (;;) {
				uint64_t len = 1 + qt_random_below(&crng, 65536);
				uint64_t off = MIB + qt_random_below(&crng, size - MIB - len);
				struct iovec b = {buf, len};
				switch (qt_random_below(&crng, 4)) {
				case 0:
				case 1:
					qt_random_fill(&crng, buf, len);
					hg_block_writev(img, off, &b, 1);
					break;
				case 2:
					hg_block_discard(img, off, len);
					break;
				default:
					hg_block_write_zeroes(img, off, len, true);
				}
			}
		}
		close(pipefd[1]);
		char c;
		g_assert_cmpint(read(pipefd[0], &c, 1), ==, 1);
		close(pipefd[0]);
		g_usleep(20000 + 30000 * round);
		kill(pid, SIGKILL);
		int status;
		g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
		if (qt_have_qemu()) {
			g_autofree char *output = NULL;
			int check = qt_qemu_img_check(path, &output);
			/* Leaks at most: never corruption. */
			if (check != 0 && check != 3)
				g_error("after kill -9: qemu-img check status %d\n%s", check,
					output);
			g_test_message("round %u: qemu-img check after kill -9: status %d", round,
				       check);
		}
		HgBlockBackend *img = qt_open(path, false); /* repairs */
		g_autofree uint8_t *head = g_malloc(MIB);
		struct iovec iov = {head, MIB};
		g_assert_cmpint(hg_block_readv(img, 0, &iov, 1), ==, 0);
		g_assert_true(memcmp(head, flushed, MIB) == 0);
		hg_block_close(img);
		if (qt_have_qemu())
			qt_assert_check_clean(path);
	}
}

static const RandomCase random_cases[] = {
	{9, 4 * MIB, 3000, false},  {12, 16 * MIB, 3000, false}, {16, 64 * MIB, 3000, false},
	{21, 64 * MIB, 600, false}, {16, 32 * MIB, 3000, true},	 {9, 4 * MIB, 2000, true},
};

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/qcow2/create/opens-empty-and-refuses-to-overwrite", Fixture, NULL,
		   qt_fixture_set_up, test_create_opens_empty, qt_fixture_tear_down);
	for (unsigned i = 0; i < G_N_ELEMENTS(random_cases); i++) {
		const RandomCase *c = &random_cases[i];
		g_autofree char *name = g_strdup_printf(
			"/qcow2/random-io/matches-raw-reference/%u-byte-clusters%s",
			1u << c->cluster_bits, c->backing ? "-with-backing-file" : "");
		g_test_add(name, Fixture, c, qt_fixture_set_up, test_random_io_matches_raw,
			   qt_fixture_tear_down);
	}
	g_test_add("/qcow2/refcount/table-grows-when-the-image-does", Fixture, NULL, qt_fixture_set_up,
		   test_refcount_table_grows, qt_fixture_tear_down);
	g_test_add("/qcow2/threads/concurrent-writers-keep-their-data", Fixture, NULL,
		   qt_fixture_set_up, test_concurrent_writers, qt_fixture_tear_down);
	g_test_add("/qcow2/read-only/refuses-writes-and-leaves-the-file", Fixture, NULL,
		   qt_fixture_set_up, test_read_only_refuses_writes, qt_fixture_tear_down);
	g_test_add("/qcow2/backing/chain-reads-every-layer", Fixture, NULL, qt_fixture_set_up,
		   test_backing_chain_reads_every_layer, qt_fixture_tear_down);
	g_test_add("/qcow2/backing/chain-deeper-than-64-is-refused", Fixture, NULL, qt_fixture_set_up,
		   test_backing_chain_too_deep_is_refused, qt_fixture_tear_down);
	g_test_add("/qcow2/crash/killed-writer-leaves-a-repairable-image", Fixture, NULL,
		   qt_fixture_set_up, test_killed_writer_leaves_repairable_image, qt_fixture_tear_down);
	return g_test_run();
}

/* qcow2 against the oracle: images made by qemu-img and written by qemu-io
 * read the same through Hangar as through `qemu-img convert -O raw`;
 * compressed clusters (zlib and zstd); backing chains; an internal snapshot
 * that survives Hangar's writes; an image left dirty with lazy refcounts
 * repaired on open; header extensions Hangar does not know kept. */
#include "qcow2-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define MIB (1ull << 20)

typedef QtFixture Fixture;

/* Hangar's view of image equals qemu's (converted to raw). */
static void assert_reads_like_qemu(Fixture *f, const char *image)
{
	g_autofree char *raw = qt_in_dir(f, "qemu-view.raw");
	g_autofree char *content = NULL;
	gsize len;

	unlink(raw);
	qt_run_ok("qemu-img convert -O raw '%s' '%s'", image, raw);
	g_assert_true(g_file_get_contents(raw, &content, &len, NULL));
	HgBlockBackend *blk = qt_open(image, true);
	qt_assert_content(blk, (uint8_t *)content, len);
	hg_block_close(blk);
}

/* Patterns, zero writes and discards at odd places, through qemu-io. */
static void qemu_io_patterns(const char *image, uint64_t size, const char *format)
{
	qt_run_ok("qemu-io -f %s -c 'write -P 0xab 0 64k' -c 'write -P 0x12 %" G_GUINT64_FORMAT
		  " 3584' -c 'write -P 0x34 %" G_GUINT64_FORMAT
		  " 1M' -c 'write -z %" G_GUINT64_FORMAT " 8k' -c 'discard %" G_GUINT64_FORMAT
		  " 64k' -c 'write -P 0xee %" G_GUINT64_FORMAT " 512' '%s'",
		  format, size / 3 + 512, size / 2 - 4096, size / 2, size / 4, size - 512, image);
}

typedef struct {
	const char *compat;
	unsigned cluster_size;
} QemuCase;

static void test_reads_qemu_images(Fixture *f, gconstpointer data)
{
	const QemuCase *c = data;
	g_autofree char *image = qt_in_dir(f, "img.qcow2");
	uint64_t size = 32 * MIB;

	QT_SKIP_WITHOUT_QEMU();
	qt_run_ok(
		"qemu-img create -q -f qcow2 -o compat=%s,cluster_size=%u '%s' %" G_GUINT64_FORMAT,
		c->compat, c->cluster_size, image, size);
	qemu_io_patterns(image, size, "qcow2");
	assert_reads_like_qemu(f, image);
	/* And after Hangar wrote to it, qemu still agrees and finds it clean. */
	HgBlockBackend *blk = qt_open(image, false);
	uint8_t buf[5000];
	memset(buf, 0x77, sizeof(buf));
	struct iovec iov = {buf, sizeof(buf)};
	g_assert_cmpint(hg_block_writev(blk, size / 2 - 100, &iov, 1), ==, 0);
	g_assert_cmpint(hg_block_writev(blk, 123456, &iov, 1), ==, 0);
	g_assert_cmpint(hg_block_discard(blk, 0, 2 * MIB), ==, 0);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	assert_reads_like_qemu(f, image);
}

static void make_compressible(uint8_t *buf, uint64_t size)
{
	uint64_t rng = 99;
	for (uint64_t i = 0; i < size; i += 4096) {
		/* Text-like runs, some random blocks, some zero blocks. */
		uint64_t kind = qt_random_below(&rng, 4);
		for (uint64_t j = 0; j < 4096 && i + j < size; j++)
			buf[i + j] = kind == 0	 ? 0
				     : kind == 1 ? (uint8_t)qt_random(&rng)
						 : (uint8_t)("hangar qcow2 "[j % 13] + kind);
	}
}

typedef struct {
	const char *options;
	unsigned cluster_size;
} CompressedCase;

static void test_reads_compressed(Fixture *f, gconstpointer data)
{
	const CompressedCase *c = data;
	const uint64_t size = 8 * MIB;
	g_autofree char *src = qt_in_dir(f, "src.raw"), *image = qt_in_dir(f, "img.qcow2");
	g_autofree uint8_t *content = g_malloc(size);

	QT_SKIP_WITHOUT_QEMU();
	make_compressible(content, size);
	g_assert_true(g_file_set_contents(src, (char *)content, size, NULL));
	qt_run_ok("qemu-img convert -c -f raw -O qcow2 -o cluster_size=%u%s '%s' '%s'",
		  c->cluster_size, c->options, src, image);
	HgBlockBackend *blk = qt_open(image, true);
	qt_assert_content(blk, content, size);
	hg_block_close(blk);
	/* Overwriting parts of compressed clusters copies them out. */
	blk = qt_open(image, false);
	uint8_t buf[3000];
	memset(buf, 0x5a, sizeof(buf));
	struct iovec iov = {buf, sizeof(buf)};
	g_assert_cmpint(hg_block_writev(blk, 70000, &iov, 1), ==, 0);
	memcpy(content + 70000, buf, sizeof(buf));
	g_assert_cmpint(hg_block_write_zeroes(blk, 1 * MIB, 300000, false), ==, 0);
	memset(content + MIB, 0, 300000);
	qt_assert_content(blk, content, size);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	g_assert_true(g_file_set_contents(src, (char *)content, size, NULL));
	qt_assert_images_equal(image, src);
}

static void test_reads_backing_chains(Fixture *f, gconstpointer data)
{
	g_autofree char *raw = qt_in_dir(f, "base.raw"), *mid = qt_in_dir(f, "mid.qcow2"),
			*top = qt_in_dir(f, "top.qcow2");
	const uint64_t size = 16 * MIB;

	QT_SKIP_WITHOUT_QEMU();
	qt_run_ok("qemu-img create -q -f raw '%s' %" G_GUINT64_FORMAT, raw, size);
	qemu_io_patterns(raw, size, "raw");
	qt_run_ok("qemu-img create -q -f qcow2 -o compat=0.10 -b base.raw -F raw '%s'", mid);
	qt_run_ok("qemu-io -f qcow2 -c 'write -P 0x61 100k 200k' -c 'write -P 0x62 8M 4k' '%s'",
		  mid);
	qt_run_ok("qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 '%s'", top);
	qt_run_ok("qemu-io -f qcow2 -c 'write -P 0x63 150k 10k' -c 'write -z 8M 512' "
		  "-c 'discard 0 64k' '%s'",
		  top);
	assert_reads_like_qemu(f, top);
	assert_reads_like_qemu(f, mid);
}

static void test_writes_keep_internal_snapshot(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "img.qcow2"), *old = qt_in_dir(f, "old.raw"),
			*ref = qt_in_dir(f, "ref.raw"), *copy = qt_in_dir(f, "copy.qcow2");
	const uint64_t size = 16 * MIB;

	QT_SKIP_WITHOUT_QEMU();
	qt_run_ok("qemu-img create -q -f qcow2 -o cluster_size=4096 '%s' %" G_GUINT64_FORMAT, image,
		  size);
	qemu_io_patterns(image, size, "qcow2");
	qt_run_ok("qemu-img convert -O raw '%s' '%s'", image, old);
	qt_run_ok("qemu-img snapshot -c before '%s'", image);
	qt_run_ok("qemu-img convert -O raw '%s' '%s'", image, ref);

	HgBlockBackend *blk = qt_open(image, false), *reference = qt_open(ref, false);
	uint64_t rng = 2024;
	g_autofree uint8_t *buf = g_malloc(64 * 1024);
	for (unsigned i = 0; i < 1500; i++) {
		uint64_t len = 1 + qt_random_below(&rng, 64 * 1024);
		uint64_t off = qt_random_below(&rng, size - len);
		uint64_t kind = qt_random_below(&rng, 10);
		if (kind < 7) {
			qt_random_fill(&rng, buf, len);
			struct iovec iov = {buf, len};
			g_assert_cmpint(hg_block_writev(blk, off, &iov, 1), ==, 0);
			g_assert_cmpint(hg_block_writev(reference, off, &iov, 1), ==, 0);
		} else if (kind < 9) {
			g_assert_cmpint(hg_block_write_zeroes(blk, off, len, true), ==, 0);
			g_assert_cmpint(hg_block_write_zeroes(reference, off, len, true), ==, 0);
		} else {
			uint64_t first = (off + 4095) & ~4095ull, end = (off + len) & ~4095ull;
			if (first < end) {
				g_assert_cmpint(hg_block_discard(blk, first, end - first), ==, 0);
				g_assert_cmpint(
					hg_block_write_zeroes(reference, first, end - first, true),
					==, 0);
			}
		}
	}
	hg_block_close(blk);
	hg_block_close(reference);
	qt_assert_check_clean(image);
	qt_assert_images_equal(image, ref);
	qt_run_ok("cp '%s' '%s'", image, copy);
	qt_run_ok("qemu-img snapshot -a before '%s'", copy);
	qt_assert_check_clean(copy);
	qt_assert_images_equal(copy, old);
	g_autofree char *list = NULL;
	g_assert_cmpint(qt_run(&list, "qemu-img snapshot -l '%s'", image), ==, 0);
	g_assert_nonnull(strstr(list, "before"));
}

/* qemu-io with lazy refcounts, killed after writing: the dirty bit is set
 * and the refcounts are stale.  Hangar's open repairs them. */
static void test_dirty_lazy_refcounts_repaired(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "img.qcow2"), *output = NULL;

	QT_SKIP_WITHOUT_QEMU();
	qt_run_ok("qemu-img create -q -f qcow2 -o lazy_refcounts=on,cluster_size=4096 '%s' 16M",
		  image);
	qt_run(NULL,
	       "qemu-io -f qcow2 -c 'write -P 0xab 0 256k' -c 'write -P 0xcd 5M 100k' "
	       "-c 'sigraise 9' '%s'",
	       image);
	int status = qt_qemu_img_check(image, &output);
	g_assert_cmpint(status, !=, 0); /* stale refcounts, as intended */
	HgBlockBackend *blk = qt_open(image, false);
	uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};
	g_assert_cmpint(hg_block_readv(blk, 5 * MIB + 4096, &iov, 1), ==, 0);
	for (unsigned i = 0; i < sizeof(buf); i++)
		g_assert_cmpuint(buf[i], ==, 0xcd);
	hg_block_close(blk);
	qt_assert_check_clean(image);
	qt_run_ok("qemu-io -f qcow2 -c 'read -P 0xab 0 256k' -c 'read -P 0xcd 5M 100k' '%s'",
		  image);
}

/* An extension type nobody knows, put in by hand before the end marker:
 * still there, byte for byte, after Hangar wrote to the image. */
static void test_unknown_header_extension_kept(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "img.qcow2");
	const uint8_t ext[16] = {0x12, 0x34, 0x56, 0x78, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
	uint8_t header[4096];

	QT_SKIP_WITHOUT_QEMU();
	qt_run_ok("qemu-img create -q -f qcow2 '%s' 8M", image);
	int fd = open(image, O_RDWR);
	g_assert_cmpint(pread(fd, header, sizeof(header), 0), ==, sizeof(header));
	uint32_t header_length = GUINT32_FROM_BE(*(uint32_t *)(header + 100));
	/* Find the end marker and put the new extension there. */
	uint32_t pos = header_length;
	while (GUINT32_FROM_BE(*(uint32_t *)(header + pos)) != 0)
		pos += 8 + ((GUINT32_FROM_BE(*(uint32_t *)(header + pos + 4)) + 7) & ~7u);
	memmove(header + pos + sizeof(ext), header + pos, 8);
	memcpy(header + pos, ext, sizeof(ext));
	g_assert_cmpint(pwrite(fd, header, sizeof(header), 0), ==, sizeof(header));
	close(fd);
	qt_assert_check_clean(image);

	HgBlockBackend *blk = qt_open(image, false);
	uint8_t payload[70000];
	memset(payload, 3, sizeof(payload));
	struct iovec iov = {payload, sizeof(payload)};
	g_assert_cmpint(hg_block_writev(blk, 1000, &iov, 1), ==, 0);
	hg_block_close(blk);
	uint8_t after[4096];
	fd = open(image, O_RDONLY);
	g_assert_cmpint(pread(fd, after, sizeof(after), 0), ==, sizeof(after));
	close(fd);
	g_assert_true(memcmp(after + pos, ext, sizeof(ext)) == 0);
	g_assert_true(memcmp(after + 104, header + 104, pos + 24 - 104) == 0);
	qt_assert_check_clean(image);
	qt_run_ok("qemu-io -f qcow2 -c 'read -P 3 1000 70000' '%s'", image);
}

static const QemuCase qemu_cases[] = {
	{"0.10", 512},	{"0.10", 65536},  {"1.1", 512},	     {"1.1", 4096},
	{"1.1", 65536}, {"1.1", 2097152}, {"0.10", 2097152},
};

static const CompressedCase compressed_cases[] = {
	{"", 65536},
	{"", 4096},
	{",compression_type=zstd", 65536},
	{",compression_type=zstd", 2097152},
};

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (unsigned i = 0; i < G_N_ELEMENTS(qemu_cases); i++) {
		g_autofree char *name =
			g_strdup_printf("/qcow2/qemu/reads-and-writes-qemu-images/compat-%s/%u",
					qemu_cases[i].compat, qemu_cases[i].cluster_size);
		g_test_add(name, Fixture, &qemu_cases[i], qt_fixture_set_up, test_reads_qemu_images,
			   qt_fixture_tear_down);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(compressed_cases); i++) {
		const CompressedCase *c = &compressed_cases[i];
		g_autofree char *name = g_strdup_printf(
			"/qcow2/qemu/reads-compressed-clusters/%s/%u",
			strstr(c->options, "zstd") ? "zstd" : "zlib", c->cluster_size);
		g_test_add(name, Fixture, c, qt_fixture_set_up, test_reads_compressed,
			   qt_fixture_tear_down);
	}
	g_test_add("/qcow2/qemu/reads-backing-chains", Fixture, NULL, qt_fixture_set_up,
		   test_reads_backing_chains, qt_fixture_tear_down);
	g_test_add("/qcow2/qemu/writes-keep-an-internal-snapshot", Fixture, NULL, qt_fixture_set_up,
		   test_writes_keep_internal_snapshot, qt_fixture_tear_down);
	g_test_add("/qcow2/qemu/dirty-lazy-refcounts-are-repaired-on-open", Fixture, NULL,
		   qt_fixture_set_up, test_dirty_lazy_refcounts_repaired, qt_fixture_tear_down);
	g_test_add("/qcow2/qemu/unknown-header-extensions-are-kept", Fixture, NULL, qt_fixture_set_up,
		   test_unknown_header_extension_kept, qt_fixture_tear_down);
	return g_test_run();
}

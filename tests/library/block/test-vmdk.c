/* The VMDK driver against qemu-img: every variant qemu-img writes
 * (monolithicSparse, monolithicFlat, twoGbMaxExtentSparse and -Flat,
 * streamOptimized, also with its grain directory at the end) made from a
 * raw image holding random data at scattered places reads byte for byte
 * like the raw image, and hg_block_convert's qcow2 copy compares equal to
 * it (qemu-img compare).  Hand-written descriptors cover ZERO extents,
 * offsets into flat files, subfolders, ESX's VMFS extents and the
 * spellings other tools use; the image is never writable. */
#include "qcow2-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

typedef QtFixture Fixture;

static void write_at(int fd, uint64_t offset, const void *buf, size_t len)
{
	g_assert_cmpint(pwrite(fd, buf, len, offset), ==, (ssize_t)len);
}

/* A sparse raw image of size bytes with random data at random places and
 * at the places that matter: the first and last bytes, around grain (64
 * KiB) and 2 GiB extent boundaries, and a run of zeroes written inside
 * data (which a sparse VMDK may leave unallocated). */
static void make_raw(const char *path, uint64_t size, uint64_t seed)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	g_autofree uint8_t *buf = g_malloc(512 * KIB);
	uint64_t rng = seed;

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, size), ==, 0);
	for (unsigned i = 0; i < 40; i++) {
		size_t len = 1 + qt_random_below(&rng, 300 * KIB);
		uint64_t at = qt_random_below(&rng, size - len);
		qt_random_fill(&rng, buf, len);
		write_at(fd, at, buf, len);
	}
	const uint64_t fixed[] = {0, 64 * KIB - 700, 2 * GIB - 5000, 4 * GIB - 300, size - 3000};
	for (unsigned i = 0; i < G_N_ELEMENTS(fixed); i++) {
		if (fixed[i] + 10 * KIB > size)
			continue;
		qt_random_fill(&rng, buf, 10 * KIB);
		write_at(fd, fixed[i], buf, 10 * KIB);
	}
	qt_random_fill(&rng, buf, 3000);
	write_at(fd, size - 3000, buf, 3000);
	qt_random_fill(&rng, buf, 512 * KIB);
	write_at(fd, size / 3, buf, 512 * KIB);
	memset(buf, 0, 200 * KIB);
	write_at(fd, size / 3 + 100 * KIB, buf, 200 * KIB);
	close(fd);
}

/* Reads all of blk in pieces of varying length and offset (not only whole
 * sectors), each through three iovec entries, and compares with raw. */
static void assert_reads_like_raw(HgBlockBackend *blk, const char *raw_path)
{
	int fd = open(raw_path, O_RDONLY);
	uint64_t size = lseek(fd, 0, SEEK_END), offset = 0, rng = 7;
	g_autofree uint8_t *want = g_malloc(4 * MIB);
	g_autofree uint8_t *got = g_malloc(4 * MIB);

	g_assert_cmpuint(hg_block_size(blk), ==, size);
	while (offset < size) {
		uint64_t len = MIN(size - offset, 1 + qt_random_below(&rng, 4 * MIB));
		size_t a = qt_random_below(&rng, len + 1), b = qt_random_below(&rng, len - a + 1);
		struct iovec iov[3] = {{got, a}, {got + a, b}, {got + a + b, len - a - b}};

		memset(got, 0x5a, len);
		g_assert_cmpint(pread(fd, want, len, offset), ==, (ssize_t)len);
		g_assert_cmpint(hg_block_readv(blk, offset, iov, 3), ==, 0);
		if (memcmp(got, want, len) != 0) {
			for (uint64_t i = 0; i < len; i++)
				if (got[i] != want[i])
					g_error("byte %" G_GUINT64_FORMAT
						": got 0x%02x, expected 0x%02x",
						offset + i, got[i], want[i]);
		}
		offset += len;
	}
	close(fd);
}

/* hg_block_convert to qcow2, and qemu-img compare with the raw source. */
static void assert_converts_like_raw(Fixture *f, HgBlockBackend *blk, const char *raw_path)
{
	g_autofree char *qcow2 = qt_in_dir(f, "converted.qcow2");
	g_autoptr(GError) error = NULL;

	g_assert_true(
		hg_block_convert(blk, qcow2, HG_BLOCK_FORMAT_QCOW2, NULL, NULL, NULL, &error));
	g_assert_no_error(error);
	qt_assert_images_equal(raw_path, qcow2);
}

typedef struct {
	const char *subformat;
	uint64_t size;
} VariantCase;

static void test_reads_qemu_variant(Fixture *f, gconstpointer data)
{
	const VariantCase *c = data;
	g_autofree char *raw = qt_in_dir(f, "source.raw");
	g_autofree char *image = qt_in_dir(f, "disk.vmdk");
	g_autofree char *hash = NULL;

	QT_SKIP_WITHOUT_QEMU();
	make_raw(raw, c->size, c->size ^ 0x5eed);
	qt_run_ok("qemu-img convert -f raw -O vmdk -o subformat=%s '%s' '%s'", c->subformat, raw,
		  image);
	hash = qt_file_hash(image);
	HgBlockBackend *blk = qt_open(image, true);
	g_assert_cmpstr(hg_block_format(blk), ==, "vmdk");
	assert_reads_like_raw(blk, raw);
	assert_converts_like_raw(f, blk, raw);
	hg_block_close(blk);
	g_autofree char *after = qt_file_hash(image);
	g_assert_cmpstr(after, ==, hash);
}

static uint64_t get_le64(const char *path, uint64_t offset)
{
	uint64_t value = 0;
	int fd = open(path, O_RDONLY);
	g_assert_cmpint(pread(fd, &value, 8, offset), ==, 8);
	close(fd);
	return GUINT64_FROM_LE(value);
}

/* Rewrites a streamOptimized file of qemu-img's the way a streaming writer
 * (VMware's ovftool, VirtualBox) lays it out: the header's gdOffset is
 * GD_AT_END, and the file ends with a footer marker, a copy of the header
 * with the real gdOffset, and the end-of-stream marker. */
void vmdk_test_move_gd_to_footer(const char *path);
void vmdk_test_move_gd_to_footer(const char *path)
{
	int fd = open(path, O_RDWR);
	uint8_t header[512], marker[512] = {0}, eos[512] = {0};
	uint64_t size = lseek(fd, 0, SEEK_END), gd_at_end = G_MAXUINT64;
	uint32_t footer_type = GUINT32_TO_LE(3);
	uint64_t one = GUINT64_TO_LE(1);

	g_assert_cmpint(pread(fd, header, 512, 0), ==, 512);
	/* qemu-img ends the file with an end-of-stream marker: replace it. */
	g_assert_cmpint(pread(fd, eos, 512, size - 512), ==, 512);
	for (unsigned i = 0; i < 512; i++)
		g_assert_cmpuint(eos[i], ==, 0);
	memcpy(marker, &one, 8);
	memcpy(marker + 12, &footer_type, 4);
	write_at(fd, size - 512, marker, 512);
	write_at(fd, size, header, 512);
	write_at(fd, size + 512, eos, 512);
	write_at(fd, 56, &gd_at_end, 8);
	close(fd);
}

static void test_reads_stream_with_footer(Fixture *f, gconstpointer data)
{
	g_autofree char *raw = qt_in_dir(f, "source.raw");
	g_autofree char *image = qt_in_dir(f, "disk.vmdk");

	QT_SKIP_WITHOUT_QEMU();
	make_raw(raw, 24 * MIB + 512, 11);
	qt_run_ok("qemu-img convert -f raw -O vmdk -o subformat=streamOptimized '%s' '%s'", raw,
		  image);
	vmdk_test_move_gd_to_footer(image);
	g_assert_cmpuint(get_le64(image, 56), ==, G_MAXUINT64);
	HgBlockBackend *blk = qt_open(image, true);
	assert_reads_like_raw(blk, raw);
	hg_block_close(blk);
}

/* Zeroed-grain GTEs (value 1): qemu-io's zero writes make them. */
static void test_reads_zeroed_grains(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.vmdk");
	g_autofree char *raw = qt_in_dir(f, "qemu-view.raw");

	QT_SKIP_WITHOUT_QEMU();
	qt_run_ok("qemu-img create -q -f vmdk -o zeroed_grain=on '%s' 8M", image);
	qt_run_ok("qemu-io -f vmdk -c 'write -P 0xab 0 2M' -c 'write -z 64k 256k' -c 'write -z 3M "
		  "1M' "
		  "-c 'write -P 0xcd 3200k 8k' '%s'",
		  image);
	qt_run_ok("qemu-img convert -O raw '%s' '%s'", image, raw);
	HgBlockBackend *blk = qt_open(image, true);
	assert_reads_like_raw(blk, raw);
	hg_block_close(blk);
}

static void test_refuses_writing(Fixture *f, gconstpointer data)
{
	g_autofree char *image = qt_in_dir(f, "disk.vmdk");
	g_autofree char *hash = NULL;
	g_autoptr(GError) error = NULL;
	uint8_t buf[512] = {1};
	struct iovec iov = {buf, sizeof(buf)};

	QT_SKIP_WITHOUT_QEMU();
	qt_run_ok("qemu-img create -q -f vmdk '%s' 1M", image);
	hash = qt_file_hash(image);
	g_assert_null(hg_block_open(image, false, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
	g_assert_nonnull(strstr(error->message, "convert to qcow2 to write"));

	HgBlockBackend *blk = qt_open(image, true);
	g_assert_true(hg_block_is_read_only(blk));
	g_assert_cmpint(hg_block_writev(blk, 0, &iov, 1), ==, -EROFS);
	g_assert_cmpint(hg_block_discard(blk, 0, 512), ==, -EROFS);
	g_assert_cmpint(hg_block_write_zeroes(blk, 0, 512, true), ==, -EROFS);
	g_assert_cmpint(hg_block_flush(blk), ==, 0);
	g_assert_cmpuint(hg_block_allocated_bytes(blk), >, 0);
	hg_block_close(blk);
	g_autofree char *after = qt_file_hash(image);
	g_assert_cmpstr(after, ==, hash);
}

static void write_file(const char *path, const void *data, size_t len)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(g_file_set_contents(path, data, len, &error));
}

static void fill_pattern(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

/* FLAT with an offset, ZERO, FLAT in a subfolder, VMFS: written by hand,
 * with CRLF line ends and an unquoted createType as other tools write. */
static void test_reads_hand_written_descriptor(Fixture *f, gconstpointer data)
{
	g_autofree char *a = qt_in_dir(f, "a-flat.vmdk");
	g_autofree char *sub = qt_in_dir(f, "sub");
	g_autofree char *b = qt_in_dir(f, "sub/b flat.vmdk");
	g_autofree char *desc = qt_in_dir(f, "disk.vmdk");
	g_autofree uint8_t *a_data = g_malloc(64 * KIB), *b_data = g_malloc(32 * KIB);
	g_autofree uint8_t *want = g_malloc0(64 * KIB + 128 * KIB + 32 * KIB + 16 * KIB);
	const char *text = "# Disk DescriptorFile\r\n"
			   "version=1\r\n"
			   "CID=12345678\r\n"
			   "parentCID=ffffffff\r\n"
			   "createType=vmfs\r\n"
			   "\r\n"
			   "# Extent description\r\n"
			   "RW 96 FLAT \"a-flat.vmdk\" 32\r\n"
			   "RW 256 ZERO\r\n"
			   "RDONLY 64 FLAT \"sub/b flat.vmdk\" 0\r\n"
			   "RW 32 VMFS \"a-flat.vmdk\"\r\n"
			   "\r\n"
			   "ddb.adapterType = \"lsilogic\"\r\n";

	fill_pattern(a_data, 64 * KIB, 3);
	fill_pattern(b_data, 32 * KIB, 99);
	g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
	write_file(a, a_data, 64 * KIB);
	write_file(b, b_data, 32 * KIB);
	write_file(desc, text, strlen(text));
	memcpy(want, a_data + 16 * KIB, 48 * KIB);
	memcpy(want + 48 * KIB + 128 * KIB, b_data, 32 * KIB);
	memcpy(want + 48 * KIB + 128 * KIB + 32 * KIB, a_data, 16 * KIB);

	HgBlockBackend *blk = qt_open(desc, true);
	g_assert_cmpstr(hg_block_format(blk), ==, "vmdk");
	qt_assert_content(blk, want, 48 * KIB + 128 * KIB + 32 * KIB + 16 * KIB);
	hg_block_close(blk);
}

/* A descriptor without the "# Disk DescriptorFile" line, and with a
 * byte-order mark, is still found. */
static void test_probes_descriptor_without_comment(Fixture *f, gconstpointer data)
{
	g_autofree char *flat = qt_in_dir(f, "x.bin");
	g_autofree char *desc = qt_in_dir(f, "x.vmdk");
	const char *text =
		"\xef\xbb\xbf\n# written by a tool\nversion = 1\ncreateType=\"monolithicFlat\"\n"
		"RW 8 FLAT \"x.bin\" 0\n";
	uint8_t content[4096];

	fill_pattern(content, sizeof(content), 1);
	write_file(flat, content, sizeof(content));
	write_file(desc, text, strlen(text));
	HgBlockBackend *blk = qt_open(desc, true);
	g_assert_cmpstr(hg_block_format(blk), ==, "vmdk");
	qt_assert_content(blk, content, sizeof(content));
	hg_block_close(blk);
}

/* A raw disk that starts with descriptor text is a raw disk when it is
 * larger than a descriptor can be. */
static void test_large_text_file_stays_raw(Fixture *f, gconstpointer data)
{
	g_autofree char *path = qt_in_dir(f, "disk.raw");
	g_autofree char *content = g_malloc0(128 * KIB);
	const char *text = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
			   "RW 8 FLAT \"/etc/passwd\" 0\n";

	memcpy(content, text, strlen(text));
	write_file(path, content, 128 * KIB);
	HgBlockBackend *blk = qt_open(path, true);
	g_assert_cmpstr(hg_block_format(blk), ==, "raw");
	hg_block_close(blk);
}

/* Files written from the specification by another writer than QEMU's
 * (the fuzzer's seed script: 8-sector grains, 16-entry grain tables, a
 * streamOptimized file with grain-table and directory markers and its
 * grain directory in the footer) read as qemu-img reads them. */
static void test_reads_seed_script_images(Fixture *f, gconstpointer data)
{
	g_autofree char *script =
		g_test_build_filename(G_TEST_DIST, "..", "..", "fuzz", "make-vmdk-seeds.py", NULL);
	g_autofree char *python = g_find_program_in_path("python3");
	const char *names[] = {"sparse.vmdk", "stream.vmdk"};

	QT_SKIP_WITHOUT_QEMU();
	if (!python || !g_file_test(script, G_FILE_TEST_EXISTS)) {
		g_test_skip("python3 or tests/fuzz/make-vmdk-seeds.py is missing");
		return;
	}
	qt_run_ok("'%s' '%s' '%s'", python, script, f->dir);
	for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *image = qt_in_dir(f, names[i]);
		g_autofree char *raw = qt_in_dir(f, "qemu-view.raw");
		unlink(raw);
		qt_run_ok("qemu-img convert -f vmdk -O raw '%s' '%s'", image, raw);
		HgBlockBackend *blk = qt_open(image, true);
		assert_reads_like_raw(blk, raw);
		hg_block_close(blk);
	}
}

typedef struct {
	HgBlockBackend *blk;
	const uint8_t *want;
	uint64_t size;
	uint64_t seed;
} ReaderThread;

static gpointer reader_thread(gpointer data)
{
	ReaderThread *t = data;
	g_autofree uint8_t *got = g_malloc(256 * KIB);
	uint64_t rng = t->seed;

	for (unsigned i = 0; i < 300; i++) {
		uint64_t len = 1 + qt_random_below(&rng, 256 * KIB);
		uint64_t at = qt_random_below(&rng, t->size - len);
		struct iovec iov = {got, len};
		g_assert_cmpint(hg_block_readv(t->blk, at, &iov, 1), ==, 0);
		g_assert_true(memcmp(got, t->want + at, len) == 0);
	}
	return NULL;
}

/* Several threads reading one image at once (the grain-table cache and the
 * decompression buffer are shared) all get the right bytes. */
static void test_reads_from_several_threads(Fixture *f, gconstpointer data)
{
	const char *subformat = data;
	g_autofree char *raw = qt_in_dir(f, "source.raw");
	g_autofree char *image = qt_in_dir(f, "disk.vmdk");
	g_autofree char *want = NULL;
	ReaderThread threads[4];
	GThread *running[4];
	gsize size;

	QT_SKIP_WITHOUT_QEMU();
	make_raw(raw, 48 * MIB, 5);
	qt_run_ok("qemu-img convert -f raw -O vmdk -o subformat=%s '%s' '%s'", subformat, raw,
		  image);
	g_assert_true(g_file_get_contents(raw, &want, &size, NULL));
	HgBlockBackend *blk = qt_open(image, true);
	for (unsigned i = 0; i < G_N_ELEMENTS(threads); i++) {
		threads[i] = (ReaderThread){blk, (const uint8_t *)want, size, 100 + i};
		running[i] = g_thread_new("reader", reader_thread, &threads[i]);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(threads); i++)
		g_thread_join(running[i]);
	hg_block_close(blk);
}

int main(int argc, char **argv)
{
	static const VariantCase variants[] = {
		{"monolithicSparse", 40 * MIB + 3584},
		{"monolithicFlat", 40 * MIB + 3584},
		{"streamOptimized", 40 * MIB + 3584},
		{"twoGbMaxExtentSparse", 4 * GIB + 3 * MIB + 1536},
		{"twoGbMaxExtentFlat", 4 * GIB + 3 * MIB + 1536},
	};

	g_test_init(&argc, &argv, NULL);
#define TEST(path, fn) g_test_add(path, Fixture, NULL, qt_fixture_set_up, fn, qt_fixture_tear_down)
	for (unsigned i = 0; i < G_N_ELEMENTS(variants); i++) {
		g_autofree char *path = g_strdup_printf("/vmdk/qemu/%s-reads-like-its-source",
							variants[i].subformat);
		g_test_add(path, Fixture, &variants[i], qt_fixture_set_up, test_reads_qemu_variant,
			   qt_fixture_tear_down);
	}
	TEST("/vmdk/qemu/stream-with-grain-directory-in-footer", test_reads_stream_with_footer);
	TEST("/vmdk/qemu/zeroed-grains-read-as-zeroes", test_reads_zeroed_grains);
	TEST("/vmdk/qemu/spec-written-images-read-as-qemu-reads-them",
	     test_reads_seed_script_images);
	g_test_add("/vmdk/threads/stream-optimized", Fixture, "streamOptimized", qt_fixture_set_up,
		   test_reads_from_several_threads, qt_fixture_tear_down);
	g_test_add("/vmdk/threads/monolithic-sparse", Fixture, "monolithicSparse",
		   qt_fixture_set_up, test_reads_from_several_threads, qt_fixture_tear_down);
	TEST("/vmdk/open/refuses-writing", test_refuses_writing);
	TEST("/vmdk/descriptor/zero-extents-offsets-subfolders-and-vmfs",
	     test_reads_hand_written_descriptor);
	TEST("/vmdk/descriptor/found-without-its-first-comment",
	     test_probes_descriptor_without_comment);
	TEST("/vmdk/probe/large-text-file-stays-raw", test_large_text_file_stays_raw);
	return g_test_run();
}

/* Broken and refused VMDK images: each is refused on open with a clear
 * error (or, for a bad grain table entry or compressed grain, fails the
 * read with -EIO), nothing crashes or allocates without bound, and no file
 * is ever written.  The corpus is made from good qemu-img images by
 * changing a field or two, and from hand-written descriptors; random byte
 * changes follow. */
#include "qcow2-test-util.h"

#include "library/block/block_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define KIB 1024ull
#define MIB (1024ull * KIB)

typedef QtFixture Fixture;

static uint64_t get_le(const char *path, uint64_t offset, unsigned bytes)
{
	uint8_t raw[8] = {0};
	uint64_t value = 0;
	int fd = open(path, O_RDONLY);

	g_assert_cmpint(pread(fd, raw, bytes, offset), ==, bytes);
	close(fd);
	for (unsigned i = 0; i < bytes; i++)
		value |= (uint64_t)raw[i] << (8 * i);
	return value;
}

static void put_le(const char *path, uint64_t offset, unsigned bytes, uint64_t value)
{
	uint8_t raw[8];
	int fd = open(path, O_WRONLY);

	for (unsigned i = 0; i < bytes; i++)
		raw[i] = (uint8_t)(value >> (8 * i));
	g_assert_cmpint(pwrite(fd, raw, bytes, offset), ==, bytes);
	close(fd);
}

static void write_text(const char *path, const char *text)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(g_file_set_contents(path, text, -1, &error));
}

/* Opening fails with this code and a message naming the problem; the file
 * is unchanged. */
static void assert_open_fails(const char *path, GIOErrorEnum code, const char *words)
{
	g_autofree char *before = qt_file_hash(path);
	g_autofree char *after = NULL;
	g_autoptr(GError) error = NULL;
	HgBlockBackend *blk = hg_block_open(path, true, &error);

	if (blk)
		g_error("%s opened (as %s); expected an error about \"%s\"", path,
			hg_block_format(blk), words);
	g_assert_error(error, G_IO_ERROR, (gint)code);
	if (!strstr(error->message, words))
		g_error("error \"%s\" does not say \"%s\"", error->message, words);
	g_test_message("refused: %s", error->message);
	after = qt_file_hash(path);
	g_assert_cmpstr(before, ==, after);
}

/* Opens, and reading the first bytes fails with -EIO. */
static void assert_read_fails(const char *path, uint64_t offset)
{
	uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};
	HgBlockBackend *blk = qt_open(path, true);

	g_assert_cmpstr(hg_block_format(blk), ==, "vmdk");
	g_assert_cmpint(hg_block_readv(blk, offset, &iov, 1), ==, -EIO);
	hg_block_close(blk);
}

/* A monolithicSparse image of 4 MiB with data in its first grain. */
static char *make_sparse(Fixture *f)
{
	char *path = qt_in_dir(f, "sparse.vmdk");
	qt_run_ok("qemu-img create -q -f vmdk '%s' 4M", path);
	qt_run_ok("qemu-io -f vmdk -c 'write -P 0xab 0 128k' '%s'", path);
	return path;
}

/* A streamOptimized image of 4 MiB with data in its first grains. */
static char *make_stream(Fixture *f)
{
	g_autofree char *raw = qt_in_dir(f, "source.raw");
	char *path = qt_in_dir(f, "stream.vmdk");
	qt_run_ok("qemu-img create -q -f raw '%s' 4M", raw);
	qt_run_ok("qemu-io -f raw -c 'write -P 0xab 0 128k' '%s'", raw);
	qt_run_ok("qemu-img convert -f raw -O vmdk -o subformat=streamOptimized '%s' '%s'", raw,
		  path);
	return path;
}

/* The byte offset of grain 0's GTE. */
static uint64_t first_gte_at(const char *path)
{
	uint64_t gd = get_le(path, 56, 8) * 512;
	return get_le(path, gd, 4) * 512;
}

#define SPARSE_CASE(name, ...)                                                                     \
	static void test_##name(Fixture *f, gconstpointer data)                                    \
	{                                                                                          \
		QT_SKIP_WITHOUT_QEMU();                                                            \
		g_autofree char *path = make_sparse(f);                                            \
		__VA_ARGS__;                                                                       \
	}

SPARSE_CASE(truncated_header, {
	g_assert_cmpint(truncate(path, 100), ==, 0);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "shorter than a VMDK sparse header");
})

SPARSE_CASE(bad_version, {
	put_le(path, 4, 4, 4);
	assert_open_fails(path, G_IO_ERROR_NOT_SUPPORTED, "version 4");
})

SPARSE_CASE(grain_size_zero, {
	put_le(path, 20, 8, 0);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "grain size of 0 sectors");
})

SPARSE_CASE(grain_size_huge, {
	put_le(path, 20, 8, 1ull << 40);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "grain size");
})

SPARSE_CASE(grain_size_not_power_of_two, {
	put_le(path, 20, 8, 100);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "grain size");
})

SPARSE_CASE(grain_tables_of_zero_entries, {
	put_le(path, 44, 4, 0);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "entries per grain table");
})

/* Tiny grains and tables make a huge grain directory: refused, not
 * allocated. */
SPARSE_CASE(grain_directory_too_large, {
	put_le(path, 12, 8, 1ull << 37);
	put_le(path, 20, 8, 1);
	put_le(path, 44, 4, 1);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "grain directory would take");
})

SPARSE_CASE(capacity_huge, {
	put_le(path, 12, 8, G_MAXUINT64 / 512);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "above 128 TiB");
})

SPARSE_CASE(grain_directory_past_eof, {
	put_le(path, 56, 8, 1ull << 30);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "grain directory");
})

SPARSE_CASE(grain_table_past_eof, {
	put_le(path, get_le(path, 56, 8) * 512, 4, 0xfffffff0);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "grain table 0");
})

SPARSE_CASE(grain_past_eof, {
	put_le(path, first_gte_at(path), 4, 0x7fffffff);
	assert_read_fails(path, 0);
})

SPARSE_CASE(unknown_compression, {
	put_le(path, 77, 2, 2);
	assert_open_fails(path, G_IO_ERROR_NOT_SUPPORTED, "compression algorithm 2");
})

SPARSE_CASE(text_mode_transfer, {
	put_le(path, 75, 2, 0x0a0a);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "text-mode transfer");
})

SPARSE_CASE(embedded_descriptor_huge, {
	put_le(path, 36, 8, 1ull << 20);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "embedded descriptor");
})

/* A split disk's piece opened alone: it has no descriptor. */
SPARSE_CASE(extent_without_descriptor, {
	put_le(path, 28, 8, 0);
	assert_open_fails(path, G_IO_ERROR_NOT_SUPPORTED, "one piece of a split disk");
})

/* The embedded descriptor's size disagrees with the header's capacity. */
SPARSE_CASE(embedded_size_mismatch, {
	put_le(path, 12, 8, get_le(path, 12, 8) * 2);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "the sparse header");
})

/* A bad magic is not VMDK at all: the file is a raw disk, unless the
 * caller insists, when it is refused. */
SPARSE_CASE(bad_magic, {
	HgBlockChain chain = {0, g_array_new(FALSE, FALSE, sizeof(HgBlockFileId))};
	g_autoptr(GError) error = NULL;
	put_le(path, 0, 4, 0x12345678);
	HgBlockBackend *blk = qt_open(path, true);
	g_assert_cmpstr(hg_block_format(blk), ==, "raw");
	hg_block_close(blk);
	g_assert_null(hg_block_open_in_chain(path, "vmdk", true, &chain, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_array_unref(chain.visited);
})

#define STREAM_CASE(name, ...)                                                                     \
	static void test_##name(Fixture *f, gconstpointer data)                                    \
	{                                                                                          \
		QT_SKIP_WITHOUT_QEMU();                                                            \
		g_autofree char *path = make_stream(f);                                            \
		__VA_ARGS__;                                                                       \
	}

STREAM_CASE(compressed_size_huge, {
	put_le(path, get_le(path, first_gte_at(path), 4) * 512 + 8, 4, 0x7fffffff);
	assert_read_fails(path, 0);
})

STREAM_CASE(compressed_size_short, {
	uint64_t marker = get_le(path, first_gte_at(path), 4) * 512;
	put_le(path, marker + 8, 4, get_le(path, marker + 8, 4) - 16);
	assert_read_fails(path, 0);
})

STREAM_CASE(compressed_data_damaged, {
	uint64_t marker = get_le(path, first_gte_at(path), 4) * 512;
	put_le(path, marker + 12, 8, 0x0123456789abcdefull);
	assert_read_fails(path, 0);
})

/* A GTE that points at another grain's marker. */
STREAM_CASE(grain_marker_of_another_grain, {
	uint64_t gte = first_gte_at(path);
	put_le(path, gte, 4, get_le(path, gte + 4, 4));
	assert_read_fails(path, 0);
})

/* The grain directory "at the end", but no footer there. */
STREAM_CASE(footer_missing, {
	put_le(path, 56, 8, G_MAXUINT64);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "footer");
})

static void test_absolute_extent_path(Fixture *f, gconstpointer data)
{
	g_autofree char *path = qt_in_dir(f, "disk.vmdk");
	write_text(path, "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
			 "RW 8 FLAT \"/etc/passwd\" 0\n");
	assert_open_fails(path, G_IO_ERROR_PERMISSION_DENIED, "absolute path");
}

static void test_dot_dot_extent_path(Fixture *f, gconstpointer data)
{
	g_autofree char *path = qt_in_dir(f, "disk.vmdk");
	write_text(path, "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
			 "RW 8 FLAT \"sub/../../x-flat.vmdk\" 0\n");
	assert_open_fails(path, G_IO_ERROR_PERMISSION_DENIED, "\"..\"");
}

static void test_missing_extent(Fixture *f, gconstpointer data)
{
	g_autofree char *path = qt_in_dir(f, "disk.vmdk");
	write_text(path, "# Disk DescriptorFile\nversion=1\ncreateType=\"twoGbMaxExtentFlat\"\n"
			 "RW 8 FLAT \"disk-f001.vmdk\" 0\n");
	assert_open_fails(path, G_IO_ERROR_NOT_FOUND, "disk-f001.vmdk");
}

static void test_flat_extent_too_short(Fixture *f, gconstpointer data)
{
	g_autofree char *path = qt_in_dir(f, "disk.vmdk");
	g_autofree char *flat = qt_in_dir(f, "disk-flat.vmdk");
	write_text(flat, "short");
	write_text(path, "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
			 "RW 8 FLAT \"disk-flat.vmdk\" 0\n");
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "shorter than");
}

/* A split sparse extent smaller than the descriptor says. */
static void test_extent_sizes_disagree(Fixture *f, gconstpointer data)
{
	g_autofree char *path = qt_in_dir(f, "split.vmdk");
	g_autofree char *text = NULL;

	QT_SKIP_WITHOUT_QEMU();
	qt_run_ok("qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse '%s' 4M", path);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_nonnull(strstr(text, "RW 8192 SPARSE"));
	memcpy(strstr(text, "RW 8192 SPARSE"), "RW 8193", 7);
	write_text(path, text);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "holds 8192 sectors");
}

/* Several MB of descriptor: too large to be probed as one (a raw disk),
 * and refused when opened as VMDK explicitly. */
static void test_descriptor_of_several_mb(Fixture *f, gconstpointer data)
{
	g_autofree char *path = qt_in_dir(f, "disk.vmdk");
	GString *text = g_string_new("# Disk DescriptorFile\nversion=1\ncreateType=\"vmfs\"\n");
	HgBlockChain chain = {0, g_array_new(FALSE, FALSE, sizeof(HgBlockFileId))};
	g_autoptr(GError) error = NULL;

	while (text->len < 3 * MIB)
		g_string_append(text, "ddb.comment = \"padding padding padding padding\"\n");
	write_text(path, text->str);
	g_string_free(text, TRUE);
	HgBlockBackend *blk = qt_open(path, true);
	g_assert_cmpstr(hg_block_format(blk), ==, "raw");
	hg_block_close(blk);
	g_assert_null(hg_block_open_in_chain(path, "vmdk", true, &chain, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "at most"));
	g_array_unref(chain.visited);
}

static void test_too_many_extents(Fixture *f, gconstpointer data)
{
	g_autofree char *path = qt_in_dir(f, "disk.vmdk");
	GString *text = g_string_new("# Disk DescriptorFile\ncreateType=\"monolithicFlat\"\n");

	for (unsigned i = 0; i < 5000; i++)
		g_string_append(text, "RW 1 ZERO\n");
	write_text(path, text->str);
	g_string_free(text, TRUE);
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "more than 4096 extents");
}

static void test_binary_garbage(Fixture *f, gconstpointer data)
{
	g_autofree char *path = qt_in_dir(f, "disk.vmdk");
	uint8_t garbage[2048];
	uint64_t rng = 42;

	memcpy(garbage, "# Disk DescriptorFile\n", 22);
	qt_random_fill(&rng, garbage + 22, sizeof(garbage) - 22);
	garbage[22] = 0x01; /* a control byte, then anything */
	g_assert_true(g_file_set_contents(path, (char *)garbage, sizeof(garbage), NULL));
	assert_open_fails(path, G_IO_ERROR_INVALID_DATA, "binary data");
}

typedef struct {
	const char *text;
	GIOErrorEnum code;
	const char *words;
} DescriptorCase;

static const DescriptorCase descriptor_cases[] = {
	{"createType=\"monolithicLumpy\"\nRW 8 ZERO\n", G_IO_ERROR_NOT_SUPPORTED,
	 "unknown VMDK createType \"monolithicLumpy\""},
	{"createType=\"vmfsSparse\"\nRW 8 VMFSSPARSE \"x-delta.vmdk\"\n", G_IO_ERROR_INVALID_DATA,
	 "VMFSSPARSE extents"},
	{"createType=\"vmfsSparse\"\nRW 8 ZERO\n", G_IO_ERROR_NOT_SUPPORTED, "COWD"},
	{"createType=\"seSparse\"\nRW 8 ZERO\n", G_IO_ERROR_NOT_SUPPORTED, "space-efficient"},
	{"createType=\"fullDevice\"\nRW 8 ZERO\n", G_IO_ERROR_NOT_SUPPORTED, "raw host device"},
	{"createType=\"monolithicFlat\"\nRW 8 SESPARSE \"x.vmdk\"\n", G_IO_ERROR_INVALID_DATA,
	 "SESPARSE"},
	{"createType=\"monolithicFlat\"\nRW 8 LUMPY \"x.vmdk\"\n", G_IO_ERROR_INVALID_DATA,
	 "unknown extent type \"LUMPY\""},
	{"encryption.keySafe = \"vmware:key/list/...\"\ncreateType=\"monolithicSparse\"\n",
	 G_IO_ERROR_INVALID_DATA, "encrypted"},
	{"createType=\"monolithicSparse\"\nparentCID=12345678\nparentFileNameHint=\"base.vmdk\"\n"
	 "RW 8 ZERO\n",
	 G_IO_ERROR_NOT_SUPPORTED, "snapshot (delta) disk"},
	{"version=4\ncreateType=\"monolithicFlat\"\nRW 8 ZERO\n", G_IO_ERROR_INVALID_DATA,
	 "descriptor version \"4\""},
	{"createType=\"monolithicFlat\"\nNOACCESS 8 ZERO\n", G_IO_ERROR_INVALID_DATA, "NOACCESS"},
	{"createType=\"monolithicFlat\"\nRW 0 ZERO\n", G_IO_ERROR_INVALID_DATA, "extent size"},
	{"createType=\"monolithicFlat\"\nRW 99999999999999999999 ZERO\n", G_IO_ERROR_INVALID_DATA,
	 "extent size"},
	{"createType=\"monolithicFlat\"\nRW 274877906944 ZERO\nRW 1 ZERO\n",
	 G_IO_ERROR_INVALID_DATA, "more than 128 TiB"},
	{"createType=\"monolithicFlat\"\nRW 8 FLAT x-flat.vmdk\n", G_IO_ERROR_INVALID_DATA,
	 "must be quoted"},
	{"createType=\"monolithicFlat\"\nRW 8 FLAT \"x-flat.vmdk\n", G_IO_ERROR_INVALID_DATA,
	 "no closing quote"},
	{"createType=\"monolithicFlat\"\nRW 8 FLAT \"x-flat.vmdk\" -5\n", G_IO_ERROR_INVALID_DATA,
	 "bad extent offset"},
	{"createType=\"monolithicFlat\"\n", G_IO_ERROR_INVALID_DATA, "no extents"},
	{"RW 8 ZERO\n", G_IO_ERROR_INVALID_DATA, "no createType"},
	{"createType=\"monolithicFlat\"\nthis is not a descriptor\n", G_IO_ERROR_INVALID_DATA,
	 "neither a setting nor an extent"},
};

static void test_refused_descriptor(Fixture *f, gconstpointer data)
{
	const DescriptorCase *c = data;
	g_autofree char *path = qt_in_dir(f, "disk.vmdk");
	g_autofree char *text = g_strconcat("# Disk DescriptorFile\n", c->text, NULL);

	write_text(path, text);
	assert_open_fails(path, c->code, c->words);
}

/* Random byte changes in the metadata of good images (header, embedded
 * descriptor, GD, GTs, and for streamOptimized the grain markers): open
 * and read everything; failing is fine, crashing is not.  Run under
 * sanitizers, this finds what the cases above miss. */
/* Reads the whole disk (at most 64 MiB of it), ignoring errors. */
static void read_everything(HgBlockBackend *blk)
{
	g_autofree uint8_t *buf = g_malloc(MIB);
	uint64_t size = MIN(hg_block_size(blk), 64 * MIB);

	for (uint64_t off = 0; off < size; off += MIB) {
		struct iovec iov = {buf, MIN(MIB, size - off)};
		(void)hg_block_readv(blk, off, &iov, 1);
	}
}

static void mutate_and_read(const char *good, const char *work, uint64_t span, uint64_t seed)
{
	g_autofree char *content = NULL;
	gsize len;
	uint64_t rng = seed;

	g_assert_true(g_file_get_contents(good, &content, &len, NULL));
	span = MIN(span, len);
	for (unsigned round = 0; round < 300; round++) {
		g_autofree char *copy = g_memdup2(content, len);
		unsigned changes = 1 + qt_random_below(&rng, 4);
		for (unsigned i = 0; i < changes; i++)
			copy[qt_random_below(&rng, span)] = (char)qt_random(&rng);
		g_assert_true(g_file_set_contents(work, copy, len, NULL));
		HgBlockBackend *blk = hg_block_open(work, true, NULL);
		if (!blk)
			continue;
		read_everything(blk);
		hg_block_close(blk);
	}
}

static void test_random_changes(Fixture *f, gconstpointer data)
{
	g_autofree char *work = qt_in_dir(f, "mutated.vmdk");

	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *sparse = make_sparse(f);
	g_autofree char *stream = make_stream(f);
	mutate_and_read(sparse, work, 64 * KIB, 1);
	mutate_and_read(stream, work, 16 * KIB, 2);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define TEST(path, fn) g_test_add(path, Fixture, NULL, qt_fixture_set_up, fn, qt_fixture_tear_down)
	TEST("/vmdk-broken/sparse/truncated-header", test_truncated_header);
	TEST("/vmdk-broken/sparse/bad-magic-is-not-vmdk", test_bad_magic);
	TEST("/vmdk-broken/sparse/version-4", test_bad_version);
	TEST("/vmdk-broken/sparse/grain-size-zero", test_grain_size_zero);
	TEST("/vmdk-broken/sparse/grain-size-huge", test_grain_size_huge);
	TEST("/vmdk-broken/sparse/grain-size-not-a-power-of-two", test_grain_size_not_power_of_two);
	TEST("/vmdk-broken/sparse/grain-tables-of-zero-entries", test_grain_tables_of_zero_entries);
	TEST("/vmdk-broken/sparse/grain-directory-too-large", test_grain_directory_too_large);
	TEST("/vmdk-broken/sparse/capacity-huge", test_capacity_huge);
	TEST("/vmdk-broken/sparse/grain-directory-past-eof", test_grain_directory_past_eof);
	TEST("/vmdk-broken/sparse/grain-table-past-eof", test_grain_table_past_eof);
	TEST("/vmdk-broken/sparse/grain-past-eof-fails-the-read", test_grain_past_eof);
	TEST("/vmdk-broken/sparse/unknown-compression", test_unknown_compression);
	TEST("/vmdk-broken/sparse/text-mode-transfer", test_text_mode_transfer);
	TEST("/vmdk-broken/sparse/embedded-descriptor-huge", test_embedded_descriptor_huge);
	TEST("/vmdk-broken/sparse/extent-without-descriptor", test_extent_without_descriptor);
	TEST("/vmdk-broken/sparse/embedded-size-mismatch", test_embedded_size_mismatch);
	TEST("/vmdk-broken/stream/compressed-size-huge", test_compressed_size_huge);
	TEST("/vmdk-broken/stream/compressed-size-short", test_compressed_size_short);
	TEST("/vmdk-broken/stream/compressed-data-damaged", test_compressed_data_damaged);
	TEST("/vmdk-broken/stream/grain-marker-of-another-grain",
	     test_grain_marker_of_another_grain);
	TEST("/vmdk-broken/stream/footer-missing", test_footer_missing);
	TEST("/vmdk-broken/descriptor/absolute-extent-path", test_absolute_extent_path);
	TEST("/vmdk-broken/descriptor/dot-dot-extent-path", test_dot_dot_extent_path);
	TEST("/vmdk-broken/descriptor/missing-extent", test_missing_extent);
	TEST("/vmdk-broken/descriptor/flat-extent-too-short", test_flat_extent_too_short);
	TEST("/vmdk-broken/descriptor/extent-sizes-disagree", test_extent_sizes_disagree);
	TEST("/vmdk-broken/descriptor/several-mb", test_descriptor_of_several_mb);
	TEST("/vmdk-broken/descriptor/too-many-extents", test_too_many_extents);
	TEST("/vmdk-broken/descriptor/binary-garbage", test_binary_garbage);
	for (unsigned i = 0; i < G_N_ELEMENTS(descriptor_cases); i++) {
		g_autofree char *path = g_strdup_printf("/vmdk-broken/descriptor/refused-%u", i);
		g_test_add(path, Fixture, &descriptor_cases[i], qt_fixture_set_up,
			   test_refused_descriptor, qt_fixture_tear_down);
	}
	TEST("/vmdk-broken/random-changes-never-crash", test_random_changes);
	return g_test_run();
}

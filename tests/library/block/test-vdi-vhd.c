/* The import formats, read-only: VDI (dynamic, fixed, written out of order,
 * zero blocks), VHD (dynamic, fixed, with and without force_size, sector
 * bitmaps with clear bits) and VHDX (dynamic, fixed) made by qemu-img from
 * a raw image holding random data at scattered offsets; each is read back
 * byte for byte, through several iovecs, and converted to qcow2 (checked
 * with qemu-img compare).
 * Then a corpus of broken images: each is refused on open with a clear
 * message, and the file is never written. */
#include "qcow2-test-util.h"

#include "library/block/block_driver.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB ((uint64_t)1 << 20)
/* Not a multiple of VDI's 1 MiB blocks, VHD's 2 MiB ones or a CHS
 * geometry, so the last block is partial and qemu-img rounds VHD up. */
#define RAW_SIZE (40 * MIB + 3 * 512)

typedef QtFixture Fixture;

/* Random data at scattered places, some across block boundaries, the first
 * and last bytes; the rest holes.  Returns the content. */
static uint8_t *make_raw_source(const char *path, uint64_t seed)
{
	uint8_t *content = g_malloc0(RAW_SIZE);
	uint64_t rng = seed;
	const struct {
		uint64_t offset, len;
	} pieces[] = {
		{0, 4096},
		{MIB - 700, 1400}, /* across VDI's first block boundary */
		{2 * MIB - 512, 1024}, /* across VHD's */
		{5 * MIB + 3, 3 * MIB + 17}, /* several whole blocks */
		{17 * MIB + 4096, 512},
		{RAW_SIZE - 3 * 512 - 100, 3 * 512 + 100}, /* the end */
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(pieces); i++)
		qt_random_fill(&rng, content + pieces[i].offset, pieces[i].len);
	for (unsigned i = 0; i < 20; i++) {
		uint64_t offset = qt_random_below(&rng, RAW_SIZE - 8192);
		qt_random_fill(&rng, content + offset, 1 + qt_random_below(&rng, 8192));
	}
	/* Written as the data it is, holes left unwritten. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, RAW_SIZE), ==, 0);
	for (uint64_t off = 0; off < RAW_SIZE; off += 4096) {
		uint64_t len = MIN(4096, RAW_SIZE - off);
		bool zero = true;
		for (uint64_t i = 0; i < len && zero; i++)
			zero = content[off + i] == 0;
		if (!zero)
			g_assert_cmpint(pwrite(fd, content + off, len, off), ==, (ssize_t)len);
	}
	close(fd);
	return content;
}

typedef struct {
	const char *name;
	const char *qemu_format;
	const char *options; /* for qemu-img convert -o, or NULL */
	const char *format; /* hg_block_format's */
	bool exact_size; /* else rounded up, the rest zeroes */
	/* QEMU (7.2) sizes a fixed VHD as its whole file: the footer shows
	 * as the last sector, so qemu-img compare with it fails there. */
	bool qemu_sees_footer;
} ImportCase;

static const ImportCase import_cases[] = {
	{"vdi-dynamic", "vdi", NULL, "vdi", true},
	{"vdi-fixed", "vdi", "static=on", "vdi", true},
	{"vhd-dynamic", "vpc", "subformat=dynamic", "vpc", false},
	{"vhd-fixed", "vpc", "subformat=fixed", "vpc", false, true},
	{"vhd-dynamic-force-size", "vpc", "subformat=dynamic,force_size=on", "vpc", true},
	{"vhd-fixed-force-size", "vpc", "subformat=fixed,force_size=on", "vpc", true, true},
	{"vhdx-dynamic", "vhdx", "subformat=dynamic", "vhdx", true},
	{"vhdx-dynamic-1m-blocks", "vhdx", "subformat=dynamic,block_size=1M", "vhdx", true},
	{"vhdx-fixed", "vhdx", "subformat=fixed", "vhdx", true},
};

/* The image reads as expected: the raw content, zeroes beyond. */
static void assert_reads_as(HgBlockBackend *blk, const uint8_t *content, uint64_t raw_size)
{
	g_autofree uint8_t *got = qt_read_all(blk);
	uint64_t size = hg_block_size(blk);

	g_assert_cmpuint(size, >=, raw_size);
	for (uint64_t i = 0; i < size; i++) {
		uint8_t expected = i < raw_size ? content[i] : 0;
		if (got[i] != expected)
			g_error("byte %" G_GUINT64_FORMAT ": got 0x%02x, expected 0x%02x", i,
				got[i], expected);
	}
}

/* Random ranges, each read into three iovecs of odd lengths. */
static void assert_scattered_reads(HgBlockBackend *blk, const uint8_t *content, uint64_t raw_size)
{
	static uint8_t buf[3 * MIB];
	uint64_t rng = 42;

	for (unsigned i = 0; i < 200; i++) {
		uint64_t len = 1 + qt_random_below(&rng, i % 10 == 0 ? sizeof(buf) : 20000);
		uint64_t offset = qt_random_below(&rng, raw_size - len);
		uint64_t a = qt_random_below(&rng, len), b = a + qt_random_below(&rng, len - a);
		struct iovec iov[3] = {{buf, a}, {buf + a, b - a}, {buf + b, len - b}};
		memset(buf, 0x5a, len);
		g_assert_cmpint(hg_block_readv(blk, offset, iov, 3), ==, 0);
		if (memcmp(buf, content + offset, len) != 0)
			g_error("a read of %" G_GUINT64_FORMAT " bytes at %" G_GUINT64_FORMAT
				" differs",
				len, offset);
	}
}

static char *convert_with_qemu(Fixture *f, const ImportCase *c, const char *raw)
{
	char *image = qt_in_dir(f, c->name);
	qt_run_ok("qemu-img convert -f raw -O %s %s%s '%s' '%s'", c->qemu_format,
		  c->options ? "-o " : "", c->options ? c->options : "", raw, image);
	return image;
}

static void test_import_reads_and_converts(Fixture *f, gconstpointer data)
{
	const ImportCase *c = data;
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *raw = qt_in_dir(f, "source.raw");
	g_autofree char *qcow2 = qt_in_dir(f, "imported.qcow2");
	g_autofree uint8_t *content = make_raw_source(raw, 1);
	g_autofree char *image = convert_with_qemu(f, c, raw);
	g_autofree char *hash = qt_file_hash(image);
	g_autoptr(GError) error = NULL;

	HgBlockBackend *blk = qt_open(image, true);
	g_assert_cmpstr(hg_block_format(blk), ==, c->format);
	if (c->exact_size)
		g_assert_cmpuint(hg_block_size(blk), ==, RAW_SIZE);
	assert_reads_as(blk, content, RAW_SIZE);
	assert_scattered_reads(blk, content, RAW_SIZE);
	g_assert_true(
		hg_block_convert(blk, qcow2, HG_BLOCK_FORMAT_QCOW2, NULL, NULL, NULL, &error));
	g_assert_no_error(error);
	hg_block_close(blk);

	qt_assert_images_equal(raw, qcow2);
	if (!c->qemu_sees_footer)
		qt_assert_images_equal(image, qcow2);
	qt_assert_check_clean(qcow2);
	g_autofree char *after = qt_file_hash(image);
	g_assert_cmpstr(hash, ==, after);
}

static void test_refuses_read_write(Fixture *f, gconstpointer data)
{
	const ImportCase *c = data;
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *raw = qt_in_dir(f, "source.raw");
	qt_run_ok("qemu-img create -q -f raw '%s' 4M", raw);
	g_autofree char *image = convert_with_qemu(f, c, raw);
	g_autoptr(GError) error = NULL;

	g_assert_null(hg_block_open(image, false, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
	g_assert_nonnull(strstr(error->message, "opened read-only: convert to qcow2 to write"));
}

/* qemu-io writes blocks in an order of its own: slots out of order. */
static void test_vdi_written_out_of_order(Fixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *image = qt_in_dir(f, "shuffled.vdi");
	g_autofree uint8_t *content = g_malloc0(16 * MIB);
	g_autofree char *commands = NULL;
	GString *cmd = g_string_new(NULL);
	const unsigned order[] = {9, 2, 14, 0, 7, 3, 15, 8};

	for (unsigned i = 0; i < G_N_ELEMENTS(order); i++) {
		uint64_t offset = order[i] * MIB + 1000 * i;
		memset(content + offset, 0x10 + i, 300000);
		g_string_append_printf(cmd, " -c 'write -P 0x%x %" G_GUINT64_FORMAT " 300000'",
				       0x10 + i, offset);
	}
	commands = g_string_free(cmd, false);
	qt_run_ok("qemu-img create -q -f vdi '%s' 16M", image);
	qt_run_ok("qemu-io -f vdi %s '%s'", commands, image);

	HgBlockBackend *blk = qt_open(image, true);
	assert_reads_as(blk, content, 16 * MIB);
	assert_scattered_reads(blk, content, 16 * MIB);
	hg_block_close(blk);
}

/* Patching images: little- and big-endian fields, VHD checksums. */
static void put_bytes(const char *path, uint64_t offset, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(pwrite(fd, bytes, len, offset), ==, (ssize_t)len);
	close(fd);
}

static void get_bytes(const char *path, uint64_t offset, void *bytes, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(pread(fd, bytes, len, offset), ==, (ssize_t)len);
	close(fd);
}

static void put_le32(const char *path, uint64_t offset, uint32_t v)
{
	v = GUINT32_TO_LE(v);
	put_bytes(path, offset, &v, 4);
}

static void put_le64(const char *path, uint64_t offset, uint64_t v)
{
	v = GUINT64_TO_LE(v);
	put_bytes(path, offset, &v, 8);
}

static void put_be32(const char *path, uint64_t offset, uint32_t v)
{
	v = GUINT32_TO_BE(v);
	put_bytes(path, offset, &v, 4);
}

static void put_be64(const char *path, uint64_t offset, uint64_t v)
{
	v = GUINT64_TO_BE(v);
	put_bytes(path, offset, &v, 8);
}

static uint32_t get_be32(const char *path, uint64_t offset)
{
	uint32_t v;
	get_bytes(path, offset, &v, 4);
	return GUINT32_FROM_BE(v);
}

static uint32_t get_le32(const char *path, uint64_t offset)
{
	uint32_t v;
	get_bytes(path, offset, &v, 4);
	return GUINT32_FROM_LE(v);
}

static uint32_t le32_of(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return GUINT32_FROM_LE(v);
}

static uint64_t le64_of(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return GUINT64_FROM_LE(v);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	return st.st_size;
}

/* Recomputes the checksum of the structure of len bytes at offset. */
static void fix_checksum(const char *path, uint64_t offset, size_t len, size_t checksum_at)
{
	uint8_t buf[1024];
	uint32_t sum = 0;

	get_bytes(path, offset, buf, len);
	for (size_t i = 0; i < len; i++)
		if (i < checksum_at || i >= checksum_at + 4)
			sum += buf[i];
	put_be32(path, offset + checksum_at, ~sum);
}

/* A dynamic VHD's two footers, fields changed in both, checksums fixed. */
static void vhd_footers_put_be32(const char *path, uint64_t field, uint32_t v)
{
	uint64_t tail = file_size(path) - 512;
	put_be32(path, field, v);
	put_be32(path, tail + field, v);
	fix_checksum(path, 0, 512, 64);
	fix_checksum(path, tail, 512, 64);
}

static void vhd_footers_put_be64(const char *path, uint64_t field, uint64_t v)
{
	uint64_t tail = file_size(path) - 512;
	put_be64(path, field, v);
	put_be64(path, tail + field, v);
	fix_checksum(path, 0, 512, 64);
	fix_checksum(path, tail, 512, 64);
}

/* qemu-img puts the dynamic header at 512 and the BAT at 1536. */
#define VHD_DYN 512
#define VHD_BAT 1536

static void vhd_dyn_put_be32(const char *path, uint64_t field, uint32_t v)
{
	put_be32(path, VHD_DYN + field, v);
	fix_checksum(path, VHD_DYN, 1024, 36);
}

static void vhd_dyn_put_be64(const char *path, uint64_t field, uint64_t v)
{
	put_be64(path, VHD_DYN + field, v);
	fix_checksum(path, VHD_DYN, 1024, 36);
}

/* A small image with data in a few blocks, made by qemu-img. */
static char *make_small(Fixture *f, const char *name, const char *format, const char *options)
{
	g_autofree char *raw = qt_in_dir(f, "small.raw");
	char *image = qt_in_dir(f, name);
	qt_run_ok("qemu-img create -q -f raw '%s' 6M", raw);
	qt_run_ok("qemu-io -f raw -c 'write -P 0xab 0 64k' -c 'write -P 0xcd 2M 1M' "
		  "-c 'write -P 0xef 5M 4k' '%s'",
		  raw);
	qt_run_ok("qemu-img convert -f raw -O %s %s%s '%s' '%s'", format, options ? "-o " : "",
		  options ? options : "", raw, image);
	return image;
}

/* Clear bits in a VHD block's sector bitmap: those sectors read as zeroes,
 * the others keep their data, and a read across them is split right. */
static void test_vhd_sector_bitmap(Fixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *image = make_small(f, "bitmap.vhd", "vpc", "subformat=dynamic");
	uint32_t block1 = get_be32(image, VHD_BAT + 4); /* 2M..4M: 0xcd at 2M..3M */
	uint8_t bits[2] = {0x5f, 0x0f}; /* sectors 0, 2, 8-11 absent */
	static uint8_t buf[64 * 1024];
	struct iovec iov = {buf, sizeof(buf)};

	g_assert_cmpuint(block1, !=, 0xffffffff);
	put_bytes(image, (uint64_t)block1 * 512, bits, sizeof(bits));
	HgBlockBackend *blk = qt_open(image, true);
	g_assert_cmpint(hg_block_readv(blk, 2 * MIB - 1024, &iov, 1), ==, 0);
	for (unsigned i = 0; i < sizeof(buf); i++) {
		int sector = ((int)i - 1024) / 512;
		bool absent =
			i < 1024 || sector == 0 || sector == 2 || (sector >= 8 && sector < 12);
		g_assert_cmphex(buf[i], ==, absent ? 0 : 0xcd);
	}
	hg_block_close(blk);
}

/* A VDI block map entry 0xfffffffe: the block reads as zeroes. */
static void test_vdi_zero_block(Fixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *image = make_small(f, "zero.vdi", "vdi", NULL);
	uint32_t map = get_le32(image, 0x154);
	g_autofree uint8_t *buf = g_malloc(MIB);
	struct iovec iov = {buf, MIB};

	put_le32(image, map + 2 * 4, 0xfffffffe);
	HgBlockBackend *blk = qt_open(image, true);
	g_assert_cmpint(hg_block_readv(blk, 2 * MIB, &iov, 1), ==, 0);
	for (unsigned i = 0; i < MIB; i++)
		g_assert_cmphex(buf[i], ==, 0);
	g_assert_cmpint(hg_block_readv(blk, 0, &iov, 1), ==, 0);
	g_assert_cmphex(buf[0], ==, 0xab);
	hg_block_close(blk);
}

/* Broken images: a patch applied to a small good one, the error expected. */
typedef struct {
	const char *name;
	const char *format; /* qemu-img's */
	const char *options;
	void (*patch)(const char *path);
	const char *message; /* in the error */
} BrokenCase;

static void vdi_truncate_header(const char *p)
{
	g_assert_cmpint(truncate(p, 0x100), ==, 0);
}
static void vdi_truncate_data(const char *p)
{
	g_assert_cmpint(truncate(p, file_size(p) - 4096), ==, 0);
}
static void vdi_bad_version(const char *p)
{
	put_le32(p, 0x44, 0x00020001);
}
static void vdi_differencing(const char *p)
{
	put_le32(p, 0x4c, 4);
}
static void vdi_unknown_type(const char *p)
{
	put_le32(p, 0x4c, 9);
}
static void vdi_header_size_small(const char *p)
{
	put_le32(p, 0x48, 16);
}
static void vdi_header_size_huge(const char *p)
{
	put_le32(p, 0x48, 0xfffffff0);
}
static void vdi_block_size_zero(const char *p)
{
	put_le32(p, 0x178, 0);
}
static void vdi_block_size_huge(const char *p)
{
	put_le32(p, 0x178, 0x80000000);
}
static void vdi_block_size_odd(const char *p)
{
	put_le32(p, 0x178, 3 * 512);
}
static void vdi_extra_huge(const char *p)
{
	put_le32(p, 0x17c, 0xffffffff);
}
static void vdi_disk_size_overflow(const char *p)
{
	put_le64(p, 0x170, UINT64_MAX);
}
static void vdi_disk_size_zero(const char *p)
{
	put_le64(p, 0x170, 0);
}
static void vdi_too_few_blocks(const char *p)
{
	put_le32(p, 0x180, 2);
}
static void vdi_too_many_blocks(const char *p)
{
	put_le32(p, 0x180, 0xffffffff);
}
static void vdi_map_outside(const char *p)
{
	put_le32(p, 0x154, 0xfffffff0);
}
static void vdi_data_outside(const char *p)
{
	put_le32(p, 0x158, 0xfffffff0);
}
static void vdi_entry_past_end(const char *p)
{
	put_le32(p, get_le32(p, 0x154) + 4, 0x7ffffff);
}
static void vdi_entry_huge(const char *p)
{
	put_le32(p, get_le32(p, 0x154), 0xfffffffd);
}

static void vhd_bad_checksum(const char *p)
{
	uint64_t tail = file_size(p) - 512;
	put_be32(p, 64, 0x12345678);
	put_be32(p, tail + 64, 0x12345678);
}
static void vhd_differencing(const char *p)
{
	vhd_footers_put_be32(p, 60, 4);
}
static void vhd_unknown_type(const char *p)
{
	uint64_t tail = file_size(p) - 512;
	put_be32(p, 60, 7);
	fix_checksum(p, 0, 512, 64);
	g_assert_cmpint(truncate(p, tail), ==, 0); /* the head copy alone */
}
static void vhd_bad_version(const char *p)
{
	vhd_footers_put_be32(p, 12, 0x00020000);
}
static void vhd_disk_size_overflow(const char *p)
{
	vhd_footers_put_be64(p, 48, UINT64_MAX);
}
static void vhd_header_outside(const char *p)
{
	vhd_footers_put_be64(p, 16, UINT64_MAX - 100);
}
static void vhd_header_cookie(const char *p)
{
	put_bytes(p, VHD_DYN, "cxspArse", 8);
}
static void vhd_header_checksum(const char *p)
{
	put_be32(p, VHD_DYN + 36, 0x12345678);
}
static void vhd_block_size_zero(const char *p)
{
	vhd_dyn_put_be32(p, 32, 0);
}
static void vhd_block_size_huge(const char *p)
{
	vhd_dyn_put_be32(p, 32, 0x80000000);
}
static void vhd_block_size_odd(const char *p)
{
	vhd_dyn_put_be32(p, 32, 3 << 20);
}
static void vhd_bat_outside(const char *p)
{
	vhd_dyn_put_be64(p, 16, file_size(p) - 4);
}
static void vhd_bat_too_small(const char *p)
{
	vhd_dyn_put_be32(p, 28, 1);
}
static void vhd_bat_larger_than_file(const char *p)
{
	vhd_footers_put_be64(p, 48, (uint64_t)1 << 45);
	vhd_dyn_put_be32(p, 28, 1 << 24);
}
static void vhd_entry_past_end(const char *p)
{
	put_be32(p, VHD_BAT + 4, 0x7fffffff);
}
static void vhd_truncated(const char *p)
{
	g_assert_cmpint(truncate(p, file_size(p) - 1536), ==, 0);
}
static void vhd_fixed_larger_than_file(const char *p)
{
	uint64_t tail = file_size(p) - 512;
	put_be64(p, tail + 48, tail + 512);
	fix_checksum(p, tail, 512, 64);
}
static void vhd_fixed_differencing(const char *p)
{
	uint64_t tail = file_size(p) - 512;
	put_be32(p, tail + 60, 4);
	fix_checksum(p, tail, 512, 64);
}

/* VHDX: CRC-32C checksums, the two headers, the region table and the
 * metadata items as qemu-img lays them out. */
static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

static void vhdx_fix_crc(const char *path, uint64_t offset, size_t len)
{
	g_autofree uint8_t *buf = g_malloc(len);
	get_bytes(path, offset, buf, len);
	memset(buf + 4, 0, 4);
	put_le32(path, offset + 4, crc32c(buf, len));
}

static void vhdx_headers_put(const char *path, uint64_t field, const void *bytes, size_t len)
{
	for (uint64_t h = 64 * 1024; h <= 128 * 1024; h += 64 * 1024) {
		put_bytes(path, h + field, bytes, len);
		vhdx_fix_crc(path, h, 4096);
	}
}

/* The file offset of a region (by the first byte of its GUID: 0x66 BAT,
 * 0x06 metadata). */
static uint64_t vhdx_region(const char *path, uint8_t guid0)
{
	uint8_t t[16 + 32 * 4];
	get_bytes(path, 192 * 1024, t, sizeof(t));
	for (unsigned i = 0; i < le32_of(t + 8) && i < 4; i++)
		if (t[16 + 32 * i] == guid0)
			return le64_of(t + 16 + 32 * i + 16);
	g_assert_not_reached();
}

/* The file offset of a metadata item's value (by its GUID's first byte:
 * 0x37 file parameters, 0x24 disk size). */
static uint64_t vhdx_item(const char *path, uint8_t guid0)
{
	uint64_t meta = vhdx_region(path, 0x06);
	uint8_t t[32 + 32 * 8];
	get_bytes(path, meta, t, sizeof(t));
	for (unsigned i = 0; i < 8; i++)
		if (t[32 + 32 * i] == guid0)
			return meta + le32_of(t + 32 + 32 * i + 16);
	g_assert_not_reached();
}

static void vhdx_log_pending(const char *p)
{
	static const uint8_t guid[16] = "hangar-log-guid";
	uint8_t log_offset[8];
	uint8_t entry[64] = "loge";
	get_bytes(p, 64 * 1024 + 72, log_offset, 8);
	memcpy(entry + 32, guid, 16);
	put_bytes(p, le64_of(log_offset) + 8192, entry, sizeof(entry));
	vhdx_headers_put(p, 48, guid, 16);
}
static void vhdx_headers_bad(const char *p)
{
	put_le32(p, 64 * 1024 + 4, 1);
	put_le32(p, 128 * 1024 + 4, 1);
}
static void vhdx_version_2(const char *p)
{
	uint16_t v = GUINT16_TO_LE(2);
	vhdx_headers_put(p, 66, &v, 2);
}
static void vhdx_regions_bad(const char *p)
{
	put_le32(p, 192 * 1024 + 4, 1);
	put_le32(p, 256 * 1024 + 4, 1);
}
static void vhdx_unknown_required_region(const char *p)
{
	for (uint64_t t = 192 * 1024; t <= 256 * 1024; t += 64 * 1024) {
		put_le32(p, t + 8, 3);
		put_bytes(p, t + 16 + 64, "unknown region..", 16);
		put_le32(p, t + 16 + 64 + 28, 1);
		vhdx_fix_crc(p, t, 64 * 1024);
	}
}
static void vhdx_block_size_zero(const char *p)
{
	put_le32(p, vhdx_item(p, 0x37), 0);
}
static void vhdx_block_size_odd(const char *p)
{
	put_le32(p, vhdx_item(p, 0x37), 3 << 20);
}
static void vhdx_differencing(const char *p)
{
	put_le32(p, vhdx_item(p, 0x37) + 4, 2);
}
static void vhdx_disk_size_huge(const char *p)
{
	put_le64(p, vhdx_item(p, 0x24), UINT64_MAX);
}
static void vhdx_bat_too_small(const char *p)
{
	put_le64(p, vhdx_item(p, 0x24), (uint64_t)1 << 45);
}
static void vhdx_entry_past_end(const char *p)
{
	put_le64(p, vhdx_region(p, 0x66), ((uint64_t)1 << 40) | 6);
}
static void vhdx_entry_partial(const char *p)
{
	put_le64(p, vhdx_region(p, 0x66), (8 << 20) | 7);
}
/* Cut a MiB into the first block's data. */
static void vhdx_truncated(const char *p)
{
	uint64_t entry;
	get_bytes(p, vhdx_region(p, 0x66), &entry, 8);
	entry = GUINT64_FROM_LE(entry);
	g_assert_cmpuint(entry & 7, ==, 6);
	g_assert_cmpint(truncate(p, (entry & ~(uint64_t)0xfffff) + MIB), ==, 0);
}
static void vhdx_truncated_headers(const char *p)
{
	g_assert_cmpint(truncate(p, 200 * 1024), ==, 0);
}

static const BrokenCase broken_cases[] = {
	{"vdi/truncated-header", "vdi", NULL, vdi_truncate_header, "shorter than a VDI header"},
	{"vdi/truncated-data", "vdi", NULL, vdi_truncate_data, "past the end of the file"},
	{"vdi/version-2.1", "vdi", NULL, vdi_bad_version, "VDI version 2.1 is not supported"},
	{"vdi/differencing", "vdi", NULL, vdi_differencing, "differencing VDI image"},
	{"vdi/unknown-type", "vdi", NULL, vdi_unknown_type, "unknown image type 9"},
	{"vdi/header-size-small", "vdi", NULL, vdi_header_size_small, "header size 16"},
	{"vdi/header-size-huge", "vdi", NULL, vdi_header_size_huge, "header size"},
	{"vdi/block-size-zero", "vdi", NULL, vdi_block_size_zero, "block size 0 is not"},
	{"vdi/block-size-huge", "vdi", NULL, vdi_block_size_huge, "block size 2147483648"},
	{"vdi/block-size-not-power-of-two", "vdi", NULL, vdi_block_size_odd, "block size 1536"},
	{"vdi/extra-bytes-huge", "vdi", NULL, vdi_extra_huge, "extra bytes per block"},
	{"vdi/disk-size-overflow", "vdi", NULL, vdi_disk_size_overflow, "disk size"},
	{"vdi/disk-size-zero", "vdi", NULL, vdi_disk_size_zero, "disk size 0"},
	{"vdi/too-few-blocks", "vdi", NULL, vdi_too_few_blocks, "it needs 6"},
	{"vdi/too-many-blocks", "vdi", NULL, vdi_too_many_blocks, "4294967295 blocks"},
	{"vdi/block-map-outside", "vdi", NULL, vdi_map_outside, "the block map"},
	{"vdi/data-outside", "vdi", NULL, vdi_data_outside, "the data area"},
	{"vdi/entry-past-end", "vdi", NULL, vdi_entry_past_end, "block 1 is at"},
	{"vdi/entry-huge", "vdi", NULL, vdi_entry_huge, "block 0 is at"},
	{"vdi/fixed-truncated", "vdi", "static=on", vdi_truncate_data, "block 5 is at"},
	{"vhd/bad-checksum", "vpc", "subformat=dynamic", vhd_bad_checksum, "checksum"},
	{"vhd/differencing", "vpc", "subformat=dynamic", vhd_differencing,
	 "differencing VHD image"},
	{"vhd/unknown-type", "vpc", "subformat=dynamic", vhd_unknown_type, "unknown disk type 7"},
	{"vhd/version-2.0", "vpc", "subformat=dynamic", vhd_bad_version,
	 "VHD version 2.0 is not supported"},
	{"vhd/disk-size-overflow", "vpc", "subformat=dynamic", vhd_disk_size_overflow, "disk size"},
	{"vhd/header-outside", "vpc", "subformat=dynamic", vhd_header_outside, "header's offset"},
	{"vhd/header-cookie", "vpc", "subformat=dynamic", vhd_header_cookie, "cxsparse"},
	{"vhd/header-checksum", "vpc", "subformat=dynamic", vhd_header_checksum,
	 "header's checksum"},
	{"vhd/block-size-zero", "vpc", "subformat=dynamic", vhd_block_size_zero,
	 "block size 0 is not"},
	{"vhd/block-size-huge", "vpc", "subformat=dynamic", vhd_block_size_huge,
	 "block size 2147483648"},
	{"vhd/block-size-not-power-of-two", "vpc", "subformat=dynamic", vhd_block_size_odd,
	 "block size 3145728"},
	{"vhd/bat-outside", "vpc", "subformat=dynamic", vhd_bat_outside, "the BAT"},
	{"vhd/bat-too-small", "vpc", "subformat=dynamic", vhd_bat_too_small, "the BAT has 1"},
	{"vhd/bat-larger-than-file", "vpc", "subformat=dynamic", vhd_bat_larger_than_file,
	 "the BAT"},
	{"vhd/entry-past-end", "vpc", "subformat=dynamic", vhd_entry_past_end, "block 1 is at"},
	{"vhd/truncated", "vpc", "subformat=dynamic", vhd_truncated, "past the end of the file"},
	{"vhd/fixed-larger-than-file", "vpc", "subformat=fixed", vhd_fixed_larger_than_file,
	 "do not fit before the footer"},
	{"vhd/fixed-differencing", "vpc", "subformat=fixed", vhd_fixed_differencing,
	 "differencing VHD image"},
	{"vhdx/log-to-replay", "vhdx", NULL, vhdx_log_pending, "log holds writes"},
	{"vhdx/headers-bad-checksum", "vhdx", NULL, vhdx_headers_bad, "neither header"},
	{"vhdx/version-2", "vhdx", NULL, vhdx_version_2, "VHDX version 2 is not supported"},
	{"vhdx/region-tables-bad-checksum", "vhdx", NULL, vhdx_regions_bad, "neither region table"},
	{"vhdx/unknown-required-region", "vhdx", NULL, vhdx_unknown_required_region,
	 "required region"},
	{"vhdx/block-size-zero", "vhdx", NULL, vhdx_block_size_zero, "block size 0 is not"},
	{"vhdx/block-size-not-power-of-two", "vhdx", NULL, vhdx_block_size_odd,
	 "block size 3145728"},
	{"vhdx/differencing", "vhdx", NULL, vhdx_differencing, "differencing VHDX image"},
	{"vhdx/disk-size-overflow", "vhdx", NULL, vhdx_disk_size_huge, "disk size"},
	{"vhdx/bat-too-small", "vhdx", NULL, vhdx_bat_too_small, "the BAT region"},
	{"vhdx/entry-past-end", "vhdx", NULL, vhdx_entry_past_end, "block 0 is at"},
	{"vhdx/entry-partially-present", "vhdx", NULL, vhdx_entry_partial, "block 0 has state 7"},
	{"vhdx/fixed-truncated", "vhdx", "subformat=fixed", vhdx_truncated, "outside the file"},
	{"vhdx/truncated-headers", "vhdx", NULL, vhdx_truncated_headers,
	 "shorter than the VHDX headers"},
};

static void test_broken_is_refused(Fixture *f, gconstpointer data)
{
	const BrokenCase *c = data;
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *image = make_small(f, "broken", c->format, c->options);
	g_autoptr(GError) error = NULL;

	c->patch(image);
	g_autofree char *hash = qt_file_hash(image);
	g_assert_null(hg_block_open(image, true, &error));
	g_assert_nonnull(error);
	if (!strstr(error->message, c->message))
		g_error("expected \"%s\" in: %s", c->message, error->message);
	g_test_message("%s", error->message);
	g_autofree char *after = qt_file_hash(image);
	g_assert_cmpstr(hash, ==, after);
}

/* Without a valid footer a file is raw: a fixed VHD with a bad checksum,
 * a VDI without its signature (which the VDI driver, asked by name,
 * refuses). */
static void test_unrecognised_is_raw(Fixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *vhd = make_small(f, "fixed.vhd", "vpc", "subformat=fixed");
	g_autofree char *vdi = make_small(f, "plain.vdi", "vdi", NULL);
	g_autoptr(GError) error = NULL;
	uint64_t tail = file_size(vhd) - 512;

	put_be32(vhd, tail + 64, get_be32(vhd, tail + 64) ^ 1);
	HgBlockBackend *blk = qt_open(vhd, true);
	g_assert_cmpstr(hg_block_format(blk), ==, "raw");
	hg_block_close(blk);

	put_le32(vdi, 0x40, 0xbeda1070);
	blk = qt_open(vdi, true);
	g_assert_cmpstr(hg_block_format(blk), ==, "raw");
	hg_block_close(blk);
	HgBlockChain chain = {0, g_array_new(FALSE, FALSE, sizeof(HgBlockFileId))};
	g_assert_null(hg_block_open_in_chain(vdi, "vdi", true, &chain, &error));
	g_array_unref(chain.visited);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "no VDI signature"));
}

/* A dynamic VHD whose last footer is gone opens from the copy at its
 * start. */
static void test_vhd_without_last_footer(Fixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *image = make_small(f, "nofooter.vhd", "vpc", "subformat=dynamic");
	uint8_t zero[512] = {0};
	uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};

	put_bytes(image, file_size(image) - 512, zero, sizeof(zero));
	HgBlockBackend *blk = qt_open(image, true);
	g_assert_cmpstr(hg_block_format(blk), ==, "vpc");
	g_assert_cmpint(hg_block_readv(blk, 5 * MIB, &iov, 1), ==, 0);
	g_assert_cmphex(buf[4095], ==, 0xef);
	hg_block_close(blk);
}

/* A LogGuid with no log entry carrying it: nothing to replay, it opens. */
static void test_vhdx_log_guid_without_entries(Fixture *f, gconstpointer data)
{
	QT_SKIP_WITHOUT_QEMU();
	g_autofree char *image = make_small(f, "clean.vhdx", "vhdx", NULL);
	static const uint8_t guid[16] = "hangar-log-guid";
	uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};

	vhdx_headers_put(image, 48, guid, 16);
	HgBlockBackend *blk = qt_open(image, true);
	g_assert_cmpint(hg_block_readv(blk, 5 * MIB, &iov, 1), ==, 0);
	g_assert_cmphex(buf[4095], ==, 0xef);
	hg_block_close(blk);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (unsigned i = 0; i < G_N_ELEMENTS(import_cases); i++) {
		const ImportCase *c = &import_cases[i];
		g_autofree char *name =
			g_strdup_printf("/block/import/%s/reads-as-source-and-converts", c->name);
		g_test_add(name, Fixture, c, qt_fixture_set_up, test_import_reads_and_converts,
			   qt_fixture_tear_down);
		g_autofree char *rw =
			g_strdup_printf("/block/import/%s/refuses-read-write", c->name);
		g_test_add(rw, Fixture, c, qt_fixture_set_up, test_refuses_read_write,
			   qt_fixture_tear_down);
	}
	g_test_add("/block/import/vdi-written-out-of-order/reads-as-written", Fixture, NULL,
		   qt_fixture_set_up, test_vdi_written_out_of_order, qt_fixture_tear_down);
	g_test_add("/block/import/vdi-zero-block/reads-as-zeroes", Fixture, NULL, qt_fixture_set_up,
		   test_vdi_zero_block, qt_fixture_tear_down);
	g_test_add("/block/import/vhd-sector-bitmap/clear-bits-read-as-zeroes", Fixture, NULL,
		   qt_fixture_set_up, test_vhd_sector_bitmap, qt_fixture_tear_down);
	g_test_add("/block/import/vhd-without-last-footer/opens-from-first", Fixture, NULL,
		   qt_fixture_set_up, test_vhd_without_last_footer, qt_fixture_tear_down);
	g_test_add("/block/import/vhdx-log-guid-without-entries/opens", Fixture, NULL,
		   qt_fixture_set_up, test_vhdx_log_guid_without_entries, qt_fixture_tear_down);
	g_test_add("/block/import/unrecognised/opens-as-raw", Fixture, NULL, qt_fixture_set_up,
		   test_unrecognised_is_raw, qt_fixture_tear_down);
	for (unsigned i = 0; i < G_N_ELEMENTS(broken_cases); i++) {
		g_autofree char *name =
			g_strdup_printf("/block/import/broken/%s-is-refused", broken_cases[i].name);
		g_test_add(name, Fixture, &broken_cases[i], qt_fixture_set_up,
			   test_broken_is_refused, qt_fixture_tear_down);
	}
	return g_test_run();
}

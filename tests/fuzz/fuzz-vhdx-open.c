/* libFuzzer target for the VHDX parser.  A VHDX image is 4 MiB or more
 * (headers at 64 and 128 KiB, the log, metadata and BAT regions at MiB
 * offsets), mostly zeroes, and every header and region table carries a
 * CRC-32C: raw inputs of that size would leave libFuzzer nothing to do.
 * So an input describes the file instead:
 *   byte 0: flags; bit 0 set: the checksums of both headers and both
 *           region tables are made right after the pages are laid out
 *           (so mutations reach the fields behind them);
 *   then records: u8 page (64 KiB units), u16 length (little-endian),
 *           that many bytes written at the page's start.
 * The file ends after the last byte written, rounded up to 1 MiB (VHDX
 * places its regions and blocks on MiB boundaries).  Each
 * file is opened read-only and, when it opens, a few ranges are read.
 * Refusing is the usual outcome; crashing, leaking or hanging is a bug.
 * Seeds: make-vhdx-seeds.py. */
#include "library/block/block.h"
#include "tests/fuzz/fuzz-util.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE (64u * 1024u)
#define MIB (1024u * 1024u)
#define FIX_CHECKSUMS 1u
#define HEADER_SIZE (4u * 1024u)
#define REGION_TABLE_SIZE (64u * 1024u)

static char *input_path;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_dir_init("vhdx");
	input_path = fuzz_file("input.vhdx");
	return 0;
}

/* CRC-32C (Castagnoli), bitwise: the harness's own, so that a bug in the
 * driver's is not hidden by sharing it. */
static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

/* Rewrites the checksum at +4 of the structure at offset (if it was
 * written at all). */
static void fix_checksum(int fd, off_t offset, size_t len)
{
	static uint8_t buf[REGION_TABLE_SIZE];
	uint32_t crc;

	if (pread(fd, buf, len, offset) != (ssize_t)len)
		return;
	memset(buf + 4, 0, 4);
	crc = GUINT32_TO_LE(crc32c(buf, len));
	if (pwrite(fd, &crc, 4, offset + 4) != 4)
		abort();
}

static void write_file(const uint8_t *data, size_t size)
{
	int fd = open(input_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint8_t flags = size ? data[0] : 0;
	off_t end = 0;
	size_t pos = 1;

	if (fd < 0)
		abort();
	while (pos + 3 <= size) {
		off_t at = (off_t)data[pos] * PAGE;
		size_t len = MIN((size_t)(data[pos + 1] | data[pos + 2] << 8), size - pos - 3);
		if (pwrite(fd, data + pos + 3, len, at) != (ssize_t)len)
			abort();
		end = MAX(end, at + (off_t)len);
		pos += 3 + len;
	}
	if (ftruncate(fd, (end + MIB - 1) / MIB * MIB) < 0)
		abort();
	if (flags & FIX_CHECKSUMS) {
		fix_checksum(fd, 1 * PAGE, HEADER_SIZE);
		fix_checksum(fd, 2 * PAGE, HEADER_SIZE);
		fix_checksum(fd, 3 * PAGE, REGION_TABLE_SIZE);
		fix_checksum(fd, 4 * PAGE, REGION_TABLE_SIZE);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;
	HgBlockBackend *blk;

	write_file(data, size);
	blk = hg_block_open(input_path, true, &error);
	if (!blk) {
		g_clear_error(&error);
		return 0;
	}
	fuzz_read_some(blk);
	hg_block_close(blk);
	return 0;
}

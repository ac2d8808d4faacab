/* libFuzzer target for the VHD parser: each input is written to a file in
 * a private folder and opened read-only (probe at both ends, footer,
 * dynamic header, BAT and its entries); an image that opens has a few
 * ranges read (sector bitmaps, runs of present sectors).  Refusing an input
 * is the usual outcome; crashing, leaking or hanging on one is a bug.
 *
 * A mutation almost always breaks a checksum, which stops the parser at
 * the first check, so the input's checksums are made right before it is
 * written: the footers at both ends and the dynamic header the first
 * footer names (when their cookies are there).  Bad checksums are the
 * unit tests' business (test-vdi-vhd.c).  Seeds: make-vdi-vhd-seeds.sh. */
#include "library/block/block.h"
#include "tests/fuzz/fuzz-util.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *input_path;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_dir_init("vhd");
	input_path = fuzz_file("input.vhd");
	return 0;
}

static void fix_checksum(uint8_t *p, size_t len, size_t checksum_at)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < len; i++)
		if (i < checksum_at || i >= checksum_at + 4)
			sum += p[i];
	sum = GUINT32_TO_BE(~sum);
	memcpy(p + checksum_at, &sum, 4);
}

static void fix_checksums(uint8_t *p, size_t size)
{
	uint64_t dyn;

	if (size < 512)
		return;
	if (memcmp(p + size - 512, "conectix", 8) == 0)
		fix_checksum(p + size - 512, 512, 64);
	if (memcmp(p, "conectix", 8) != 0)
		return;
	fix_checksum(p, 512, 64);
	memcpy(&dyn, p + 16, 8);
	dyn = GUINT64_FROM_BE(dyn);
	if (dyn <= size && size - dyn >= 1024 && memcmp(p + dyn, "cxsparse", 8) == 0)
		fix_checksum(p + dyn, 1024, 36);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;
	uint8_t *copy = g_memdup2(data, size);

	fix_checksums(copy, size);
	fuzz_write_file(input_path, copy, size);
	g_free(copy);
	HgBlockBackend *blk = hg_block_open(input_path, true, &error);
	if (!blk) {
		g_clear_error(&error);
		return 0;
	}
	fuzz_read_some(blk);
	hg_block_close(blk);
	return 0;
}

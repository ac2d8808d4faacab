/* libFuzzer target for the VMDK driver: each input is written to a file in
 * a private folder and opened read-only (the probe, the sparse header, a
 * streamOptimized footer, the grain directory, the descriptor and the
 * extents it names); an image that opens has a few ranges read (grain
 * tables, compressed grains, flat and zero extents).  Refusing an input is
 * the usual outcome; crashing, leaking or hanging on one is a bug.
 *
 * The folder also holds the extent files the seed descriptors name
 * (make-vmdk-seeds.py): "flat.bin", 64 KiB of data, and "extent-s001.vmdk",
 * a sparse extent of 128 sectors (8-sector grains, 16 entries per grain
 * table) built below, so those seeds open all the way. */
#include "library/block/block.h"
#include "tests/fuzz/fuzz-util.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *input_path;
static char *flat_path;
static char *extent_path;

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Header in sector 0, the grain directory in 1, the grain table in 2,
 * grains 0, 2 and 5 in sectors 3, 11 and 19; grain 7 is a zeroed grain. */
static void make_sparse_extent(uint8_t *file, size_t size)
{
	memset(file, 0, size);
	memcpy(file, "KDMV", 4);
	put_le32(file + 4, 2); /* version */
	put_le32(file + 8, 1 | 4); /* newline test, zeroed-grain GTEs */
	put_le64(file + 12, 128); /* capacity */
	put_le64(file + 20, 8); /* grain size */
	put_le32(file + 44, 16); /* GTEs per GT */
	put_le64(file + 56, 1); /* GD offset */
	put_le64(file + 64, 3); /* overhead */
	memcpy(file + 73, "\n \r\n", 4);
	put_le32(file + 512, 2);
	put_le32(file + 1024 + 0 * 4, 3);
	put_le32(file + 1024 + 2 * 4, 11);
	put_le32(file + 1024 + 5 * 4, 19);
	put_le32(file + 1024 + 7 * 4, 1);
	for (size_t i = 3 * 512; i < size; i++)
		file[i] = (uint8_t)(i * 13 + (i >> 9));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static uint8_t flat[65536], extent[27 * 512];

	fuzz_dir_init("vmdk");
	input_path = fuzz_file("input.vmdk");
	flat_path = fuzz_file("flat.bin");
	extent_path = fuzz_file("extent-s001.vmdk");
	for (size_t i = 0; i < sizeof(flat); i++)
		flat[i] = (uint8_t)(i * 31 + (i >> 9));
	fuzz_write_file(flat_path, flat, sizeof(flat));
	make_sparse_extent(extent, sizeof(extent));
	fuzz_write_file(extent_path, extent, sizeof(extent));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;

	fuzz_write_file(input_path, data, size);
	HgBlockBackend *blk = hg_block_open(input_path, true, &error);
	if (!blk) {
		g_clear_error(&error);
		return 0;
	}
	fuzz_read_some(blk);
	hg_block_close(blk);
	return 0;
}

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

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *fuzz_dir;
static char *input_path;
static char *flat_path;
static char *extent_path;

static void remove_fuzz_dir(void)
{
	unlink(input_path);
	unlink(flat_path);
	unlink(extent_path);
	rmdir(fuzz_dir);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	while (size) {
		ssize_t n = write(fd, data, size);
		if (n <= 0)
			abort();
		data += n;
		size -= n;
	}
	close(fd);
}

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

	fuzz_dir = g_dir_make_tmp("hangar-fuzz-vmdk-XXXXXX", NULL);
	if (!fuzz_dir)
		abort();
	input_path = g_build_filename(fuzz_dir, "input.vmdk", NULL);
	flat_path = g_build_filename(fuzz_dir, "flat.bin", NULL);
	extent_path = g_build_filename(fuzz_dir, "extent-s001.vmdk", NULL);
	for (size_t i = 0; i < sizeof(flat); i++)
		flat[i] = (uint8_t)(i * 31 + (i >> 9));
	write_file(flat_path, flat, sizeof(flat));
	make_sparse_extent(extent, sizeof(extent));
	write_file(extent_path, extent, sizeof(extent));
	atexit(remove_fuzz_dir);
	return 0;
}

/* The first and last sectors, a few in between at odd places, and one
 * longer read spanning many grains and extents. */
static void read_some(HgBlockBackend *blk)
{
	static uint8_t buf[256 * 1024];
	uint64_t size = hg_block_size(blk);
	const uint64_t starts[] = {0, size / 3, size / 2 + 512, size - MIN(size, 4096),
				   size - MIN(size, 700)};

	for (unsigned i = 0; i < G_N_ELEMENTS(starts); i++) {
		uint64_t len = MIN(i == 0 ? sizeof(buf) : 4096, size - starts[i]);
		struct iovec iov[2] = {{buf, len / 3}, {buf + len / 3, len - len / 3}};
		(void)hg_block_readv(blk, starts[i], iov, 2);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;

	write_file(input_path, data, size);
	HgBlockBackend *blk = hg_block_open(input_path, true, &error);
	if (!blk) {
		g_clear_error(&error);
		return 0;
	}
	read_some(blk);
	hg_block_close(blk);
	return 0;
}

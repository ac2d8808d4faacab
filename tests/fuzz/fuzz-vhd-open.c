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

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *fuzz_dir;
static char *input_path;

static void remove_fuzz_dir(void)
{
	unlink(input_path);
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

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_dir = g_dir_make_tmp("hangar-fuzz-vhd-XXXXXX", NULL);
	if (!fuzz_dir)
		abort();
	input_path = g_build_filename(fuzz_dir, "input.vhd", NULL);
	atexit(remove_fuzz_dir);
	return 0;
}

/* The start (256 KiB: many small blocks or sectors), the end, a few odd places. */
static void read_some(HgBlockBackend *blk)
{
	static uint8_t buf[256 * 1024];
	uint64_t size = hg_block_size(blk);
	const uint64_t starts[] = {0, size / 3, size / 2 + 512, size - MIN(size, 4096),
				   size - MIN(size, 512)};

	for (unsigned i = 0; i < G_N_ELEMENTS(starts); i++) {
		uint64_t len = MIN(i == 0 ? sizeof(buf) : 4096, size - starts[i]);
		struct iovec iov[2] = {{buf, len / 3}, {buf + len / 3, len - len / 3}};
		(void)hg_block_readv(blk, starts[i], iov, 2);
	}
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
	write_file(input_path, copy, size);
	g_free(copy);
	HgBlockBackend *blk = hg_block_open(input_path, true, &error);
	if (!blk) {
		g_clear_error(&error);
		return 0;
	}
	read_some(blk);
	hg_block_close(blk);
	return 0;
}

/* libFuzzer target for the VDI parser: each input is written to a file in
 * a private folder and opened read-only (probe, header checks, the block
 * map and its entries); an image that opens has a few ranges read (free,
 * zero and allocated blocks, runs of consecutive slots).  Refusing an
 * input is the usual outcome; crashing, leaking or hanging on one is a
 * bug.  Seeds: make-vdi-vhd-seeds.sh. */
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
	fuzz_dir = g_dir_make_tmp("hangar-fuzz-vdi-XXXXXX", NULL);
	if (!fuzz_dir)
		abort();
	input_path = g_build_filename(fuzz_dir, "input.vdi", NULL);
	atexit(remove_fuzz_dir);
	return 0;
}

/* The start (256 KiB: many small blocks), the end, a few odd places. */
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

/* libFuzzer target for the VDI parser: each input is written to a file in
 * a private folder and opened read-only (probe, header checks, the block
 * map and its entries); an image that opens has a few ranges read (free,
 * zero and allocated blocks, runs of consecutive slots).  Refusing an
 * input is the usual outcome; crashing, leaking or hanging on one is a
 * bug.  Seeds: make-vdi-vhd-seeds.sh. */
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
	fuzz_dir_init("vdi");
	input_path = fuzz_file("input.vdi");
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

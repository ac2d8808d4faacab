/* libFuzzer target for the qcow2 parser: each input is written to a file
 * in a private folder and opened read-only (the header, its extensions,
 * the backing name, the snapshot table, L1 and refcount table checks); an
 * image that opens has a few ranges read (L1/L2 walks, compressed clusters,
 * the backing file).  Refusing an input is the usual outcome; crashing,
 * leaking or hanging on one is a bug.
 *
 * The folder also holds "base.raw", the backing file the seed corpus names
 * (make-qcow2-seeds.sh), so those seeds open all the way. */
#include "library/block/block.h"
#include "tests/fuzz/fuzz-util.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *input_path;
static char *base_path;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static uint8_t base[65536];

	fuzz_dir_init("qcow2");
	input_path = fuzz_file("input.qcow2");
	base_path = fuzz_file("base.raw");
	for (size_t i = 0; i < sizeof(base); i++)
		base[i] = (uint8_t)(i * 31 + (i >> 9));
	fuzz_write_file(base_path, base, sizeof(base));
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

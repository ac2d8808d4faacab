/* libFuzzer target for the streamOptimized VMDK stream reader
 * (library/import/stream_vmdk.c): each input is handed over as a stream,
 * in pieces of a few odd sizes, and imported into a qcow2 image in a
 * private folder.  Refusing an input is the usual outcome; crashing,
 * leaking, hanging, or leaving the image behind after a refusal is a bug.
 * The capacity limit is small (256 MiB) so that the inputs that open write
 * little; the folder is in /dev/shm when there is one.  Seeds: make-stream-vmdk-seeds.sh. */
#include "library/import/stream_vmdk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_MAX_CAPACITY (256ull << 20)

static char *fuzz_dir;
static char *target_path;

typedef struct {
	const uint8_t *data;
	size_t size, position;
	unsigned reads;
} Input;

/* Piece sizes cycle through a few odd ones, a whole sector among them. */
static gssize input_read(gpointer user_data, void *buffer, gsize length, GError **error)
{
	static const size_t pieces[] = {1000, 1, 512, 4093, 77};
	Input *in = user_data;
	size_t piece = pieces[in->reads++ % G_N_ELEMENTS(pieces)];
	size_t n = MIN(MIN(length, piece), in->size - in->position);

	memcpy(buffer, in->data + in->position, n);
	in->position += n;
	return n;
}

static void remove_fuzz_dir(void)
{
	unlink(target_path);
	rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char in_memory[] = "/dev/shm/hangar-fuzz-stream-vmdk-XXXXXX";

	/* Every image that imports is synced: on a real disk that is most
	 * of the time (about 100 inputs a second against 600 in memory). */
	fuzz_dir = g_mkdtemp(in_memory) ? g_strdup(in_memory)
					: g_dir_make_tmp("hangar-fuzz-stream-vmdk-XXXXXX", NULL);
	if (!fuzz_dir)
		abort();
	target_path = g_build_filename(fuzz_dir, "disk.qcow2", NULL);
	atexit(remove_fuzz_dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;
	Input in = {data, size, 0, 0};
	/* The first sector as the head, as an archive reader that detected
	 * the format hands it over, when the input says it is one. */
	size_t head = hg_stream_vmdk_detect(data, size) ? MIN(size, 512) : 0;

	in.position = head;
	if (hg_stream_vmdk_import(data, head, input_read, &in, target_path, FUZZ_MAX_CAPACITY, NULL,
				  &error)) {
		if (unlink(target_path) < 0)
			abort();
		return 0;
	}
	if (!error || access(target_path, F_OK) == 0)
		abort();
	g_error_free(error);
	return 0;
}

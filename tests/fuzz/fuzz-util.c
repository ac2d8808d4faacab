/* What the image-format fuzz targets share (fuzz-util.h). */
#include "tests/fuzz/fuzz-util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char *fuzz_dir;
static GPtrArray *fuzz_files;

static void fuzz_dir_remove(void)
{
	for (guint i = 0; i < fuzz_files->len; i++)
		unlink(g_ptr_array_index(fuzz_files, i));
	rmdir(fuzz_dir);
}

void fuzz_dir_init(const char *name)
{
	g_autofree char *template = g_strdup_printf("hangar-fuzz-%s-XXXXXX", name);

	fuzz_dir = g_dir_make_tmp(template, NULL);
	if (!fuzz_dir)
		abort();
	fuzz_files = g_ptr_array_new();
	atexit(fuzz_dir_remove);
}

char *fuzz_file(const char *name)
{
	char *path = g_build_filename(fuzz_dir, name, NULL);

	g_ptr_array_add(fuzz_files, path);
	return path;
}

void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
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

void fuzz_read_some(HgBlockBackend *blk)
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

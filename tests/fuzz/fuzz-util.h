/* What the image-format fuzz targets share: a private folder whose files
 * are removed at exit, writing an input to a file, and reading a few
 * ranges of an image that opened. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "library/block/block.h"

/* Makes the folder "hangar-fuzz-NAME-XXXXXX" (aborts if it cannot). */
void fuzz_dir_init(const char *name);
/* The path of file name in it, removed at exit; the target keeps it. */
char *fuzz_file(const char *name);
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);
/* The start (256 KiB: many small blocks), the end and a few odd places,
 * each through two iovecs. */
void fuzz_read_some(HgBlockBackend *blk);

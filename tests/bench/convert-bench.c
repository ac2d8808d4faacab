/* hg_block_convert as a command, for bench-convert.py:
 *   convert-bench SRC DST [qcow2|raw]
 * (qcow2 by default).  Exit status 0 when the copy is complete. */
#include "library/block/block.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	HgBlockFormat format = HG_BLOCK_FORMAT_QCOW2;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s SRC DST [qcow2|raw]\n", argv[0]);
		return 2;
	}
	if (argc == 4 && strcmp(argv[3], "raw") == 0)
		format = HG_BLOCK_FORMAT_RAW;
	HgBlockBackend *src = hg_block_open(argv[1], true, &error);
	if (!src || !hg_block_convert(src, argv[2], format, NULL, NULL, NULL, &error)) {
		fprintf(stderr, "%s\n", error->message);
		hg_block_close(src);
		return 1;
	}
	hg_block_close(src);
	return 0;
}

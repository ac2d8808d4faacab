/* libFuzzer target for the OVF descriptor parser (library/import/ovf.c):
 * each input is parsed as a descriptor, straight from memory.  Refusing an
 * input is the usual outcome; crashing, leaking, hanging or using much
 * memory (an entity bomb getting through) on one is a bug.  A descriptor
 * that parses is checked for what ovf.h promises: File names are plain,
 * every disk's File is one of the descriptor's, numbers within limits. */
#include "library/import/ovf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const HgOvf *ovf)
{
	if (!ovf->name || !*ovf->name || ovf->cpus > HG_OVF_MAX_CPUS ||
	    ovf->memory_mib > HG_OVF_MAX_MEMORY_MIB)
		abort();
	for (guint i = 0; i < ovf->files->len; i++) {
		const HgOvfFile *file = g_ptr_array_index(ovf->files, i);

		if (!file->id || !file->href || !*file->href || strchr(file->href, '/') ||
		    strchr(file->href, '\\') || strcmp(file->href, ".") == 0 ||
		    strcmp(file->href, "..") == 0 || file->size < -1)
			abort();
	}
	for (guint i = 0; i < ovf->disks->len; i++) {
		const HgOvfDisk *disk = g_ptr_array_index(ovf->disks, i);
		bool found = !disk->file;

		for (guint j = 0; j < ovf->files->len && !found; j++)
			found = g_ptr_array_index(ovf->files, j) == disk->file;
		if (!found || !disk->disk_id || disk->capacity_bytes > G_MAXINT64)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;
	HgOvf *ovf = hg_ovf_parse((const char *)data, size, &error);

	if (!ovf) {
		if (!error || !error->message || !*error->message)
			abort();
		g_clear_error(&error);
		return 0;
	}
	check(ovf);
	hg_ovf_free(ovf);
	return 0;
}

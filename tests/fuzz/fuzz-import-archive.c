/* libFuzzer target for the whole import path (hg_import_disk_image,
 * library/import/): each input is written to a file and imported into a
 * private library, as a user's drop would be.  What the file is comes from
 * its content, so one target reaches every way in: a tar or zip of disks,
 * an OVA (descriptor, manifest digests on the digest thread, raw and
 * streamOptimized disks, ovf:compression through a nested reader), a
 * compressed image (gzip, xz, zstd, bzip2), an .ovf whose disks are beside
 * it, a plain disk image.
 *
 * Refusing an input is the usual outcome; crashing, leaking, hanging, a
 * refusal without a message, or partial files left behind (a hidden
 * staging folder, a VM that appears though the import failed) is a bug.
 * A VM that does import must read back whole from the library, and is
 * deleted with its files before the next input.
 *
 * Time: a compressed stream of zeroes costs what decompressing it does
 * (2 s a GiB for gzip, xz and bzip2 here, 4 s in this build; the import
 * writes nothing for zeroes), and bzip2 packs a GiB of them in 800 bytes:
 * an input near the length limit that the fuzzer makes into such a bomb
 * runs past the timeout.  That is what the import does with a real sparse
 * image too (cancel stops it), not something this target hides.
 * Seeds: make-import-archive-seeds.sh. */
#include "library/import/import.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sanitizer/lsan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "library/os/os_detect.h"
#include "library/vm/vm_library_private.h"

/* fuzz_dir/home (HOME and the XDG folders), fuzz_dir/library (the
 * library, its VMs in vms/), fuzz_dir/input.ova (the current input; the
 * name says nothing, the content decides), and beside it the disks an
 * input that is an .ovf may reference (FIXTURE_*; the seed package.ovf
 * does). */
#define FIXTURE_RAW "disk.img" /* 64 KiB, data in its first 4 KiB */
#define FIXTURE_QCOW2 "disk.qcow2" /* 1 MiB, empty */

static char *fuzz_dir;
static char *input_path;
static char *vms_dir;
static HgVmLibrary *lib;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void remove_fuzz_dir(void)
{
	g_clear_pointer(&lib, hg_vm_library_free);
	hg_vm_remove_tree(fuzz_dir, NULL);
}

/* Before anything caches them (GLib reads them once): nothing the import
 * does may touch the real home. */
static void set_home(const char *home)
{
	static const char *const xdg[][2] = {
		{"XDG_DATA_HOME", "data"},	{"XDG_CONFIG_HOME", "config"},
		{"XDG_CACHE_HOME", "cache"},	{"XDG_STATE_HOME", "state"},
		{"XDG_RUNTIME_DIR", "runtime"},
	};

	if (g_mkdir(home, 0700) < 0)
		abort();
	g_setenv("HOME", home, TRUE);
	for (unsigned i = 0; i < G_N_ELEMENTS(xdg); i++) {
		g_autofree char *dir = g_build_filename(home, xdg[i][1], NULL);
		if (g_mkdir(dir, 0700) < 0)
			abort();
		g_setenv(xdg[i][0], dir, TRUE);
	}
}

static void make_fixtures(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *raw = g_build_filename(fuzz_dir, FIXTURE_RAW, NULL);
	g_autofree char *qcow2 = g_build_filename(fuzz_dir, FIXTURE_QCOW2, NULL);
	g_autofree char *data = g_malloc0(64 << 10);

	memset(data, 0x11, 4 << 10);
	if (!g_file_set_contents(raw, data, 64 << 10, &error) ||
	    !hg_block_create_qcow2(qcow2, 1 << 20, NULL, 16, &error)) {
		fprintf(stderr, "fuzz-import-archive: %s\n", error->message);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *home = NULL, *root = NULL;
	g_autoptr(HgOsGuess) known = NULL;

	fuzz_dir = g_dir_make_tmp("hangar-fuzz-import-XXXXXX", &error);
	if (!fuzz_dir) {
		fprintf(stderr, "fuzz-import-archive: %s\n", error->message);
		abort();
	}
	atexit(remove_fuzz_dir);
	home = g_build_filename(fuzz_dir, "home", NULL);
	set_home(home);
	root = g_build_filename(fuzz_dir, "library", NULL);
	lib = hg_vm_library_open(root, &error);
	if (!lib) {
		fprintf(stderr, "fuzz-import-archive: %s\n", error->message);
		abort();
	}
	vms_dir = g_build_filename(root, "vms", NULL);
	input_path = g_build_filename(fuzz_dir, "input.ova", NULL);
	make_fixtures();
	/* The osinfo database loads on first use, in about a second: here,
	 * rather than in the first input that names an OS.  libosinfo's
	 * loader leaks a few small blocks of its own as it reads it (freed
	 * loader or not): not the import's, so not counted. */
	__lsan_disable();
	known = hg_os_lookup("debian12", NULL);
	__lsan_enable();
	return 0;
}

static void write_input(const uint8_t *data, size_t size)
{
	int fd = g_open(input_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t done = 0;

	if (fd < 0)
		abort();
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0)
			abort();
		done += n;
	}
	close(fd);
}

/* After an import, whatever its outcome, and the delete of the VM it made:
 * the library is empty again.  A hidden folder is a staging folder the
 * import left (or a delete's); anything else a VM that should not be. */
static void check_library_empty(const char *outcome)
{
	g_autoptr(GDir) dir = g_dir_open(vms_dir, 0, NULL);
	const char *name;

	if (!dir)
		abort();
	while ((name = g_dir_read_name(dir))) {
		fprintf(stderr, "fuzz-import-archive: %s left %s in the library (%s)\n", outcome,
			name, name[0] == '.' ? "a staging folder" : "a VM");
		abort();
	}
}

/* What an import publishes, the library reads back whole (not listed as
 * broken), and every disk is a file of its own folder (a copy). */
static void check_imported(const HgVmEntry *entry)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) listed = hg_vm_library_lookup(lib, entry->id, &error);

	if (!listed) {
		fprintf(stderr, "fuzz-import-archive: the imported VM is not there: %s\n",
			error->message);
		abort();
	}
	if (!listed->config) {
		fprintf(stderr, "fuzz-import-archive: the imported VM reads back broken: %s\n",
			listed->error->message);
		abort();
	}
	if (!listed->config->disks->len)
		abort();
	for (guint i = 0; i < listed->config->disks->len; i++) {
		const HgVmDisk *disk = g_ptr_array_index(listed->config->disks, i);
		g_autofree char *path = hg_vm_entry_resolve(listed, disk->path);
		if (!disk->path || g_path_is_absolute(disk->path) ||
		    !g_file_test(path, G_FILE_TEST_IS_REGULAR))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	HgImportOptions options = {NULL, HG_IMPORT_COPY, true};
	GError *error = NULL;
	HgVmEntry *entry;

	write_input(data, size);
	entry = hg_import_disk_image(lib, input_path, &options, NULL, NULL, NULL, &error);
	if (entry) {
		if (error || !entry->config)
			abort();
		check_imported(entry);
		if (!hg_vm_library_delete(lib, entry, HG_VM_DELETE_FILES, &error)) {
			fprintf(stderr,
				"fuzz-import-archive: the imported VM cannot be deleted: %s\n",
				error->message);
			abort();
		}
		hg_vm_entry_free(entry);
		check_library_empty("an import");
	} else {
		if (!error || !error->message || !*error->message)
			abort();
		g_error_free(error);
		check_library_empty("a refused import");
	}
	return 0;
}

/* What the import tests share (import-test-util.h). */
#include "tests/library/import/import-test-util.h"

#include <stdlib.h>
#include <string.h>

char *work;
HgVmLibrary *lib;

void import_test_init(const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *template = g_strdup_printf("%s-XXXXXX", name);
	g_autofree char *root = NULL;

	work = g_dir_make_tmp(template, &error);
	g_assert_no_error(error);
	root = g_build_filename(work, "library", NULL);
	lib = hg_vm_library_open(root, &error);
	g_assert_no_error(error);
}

void import_test_finish(void)
{
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", work);

	hg_vm_library_free(lib);
	(void)!system(cmd);
	g_free(work);
}

/* `qemu-img ARGS...`, asserting success; its output. */
char *qemu(const char *tool, const char *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	char *out = NULL;
	int status;
	va_list ap;

	g_ptr_array_add(argv, (char *)tool);
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		g_ptr_array_add(argv, (char *)a);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL,
				   NULL, &out, NULL, &status, &error));
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("%s %s failed:\n%s", tool, first, out);
	return out;
}

char *work_file(const char *name)
{
	return g_build_filename(work, name, NULL);
}

/* An 8 MiB raw image with data at a few places and holes between. */
char *make_raw(const char *name)
{
	char *path = work_file(name);

	g_free(qemu("qemu-img", "create", "-q", "-f", "raw", path, "8M", NULL));
	g_free(qemu("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 64k", "-c",
		    "write -P 0x22 3M 128k", "-c", "write -P 0x33 8128k 64k", path, NULL));
	return path;
}

char *vm_disk(const HgVmEntry *entry)
{
	HgVmDisk *disk = g_ptr_array_index(entry->config->disks, 0);
	return hg_vm_entry_resolve(entry, disk->path);
}

unsigned hidden_folders(void)
{
	g_autofree char *vms = g_build_filename(hg_vm_library_root(lib), "vms", NULL);
	g_autoptr(GDir) dir = g_dir_open(vms, 0, NULL);
	const char *name;
	unsigned n = 0;

	while (dir && (name = g_dir_read_name(dir)))
		n += name[0] == '.';
	return n;
}

void sh(const char *format, ...)
{
	va_list ap;
	g_autofree char *cmd = NULL;

	va_start(ap, format);
	cmd = g_strdup_vprintf(format, ap);
	va_end(ap);
	if (system(cmd) != 0)
		g_error("failed: %s", cmd);
}

/* Each refused archive leaves the library as it was. */
void assert_refused(const char *path, int code, const char *words)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) before = hg_vm_library_list(lib);
	g_autoptr(HgVmEntry) entry =
		hg_import_disk_image(lib, path, NULL, NULL, NULL, NULL, &error);
	g_autoptr(GPtrArray) after = hg_vm_library_list(lib);

	g_test_message("refused? %s: %s", path, error ? error->message : "(no error)");
	g_assert_null(entry);
	g_assert_error(error, HG_VM_ERROR, code);
	if (!strstr(error->message, words))
		g_error("\"%s\" does not say \"%s\"", error->message, words);
	g_assert_cmpuint(after->len, ==, before->len);
	g_assert_cmpuint(hidden_folders(), ==, 0);
}

/* An imported image boots: the tests' GRUB image (tests/boot/grub.iso, a
 * hybrid disk whose grub.cfg prints HANGAR-GRUB-OK on COM1 and powers off)
 * is packed as a user would get it (an OVA, an .xz), imported into a library, and started
 * through vm_runtime with the VM's own configuration, under SeaBIOS.
 * Needs /dev/kvm and Debian's seabios; the packing needs qemu-img and xz. */
#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "library/import/import.h"
#include "library/vm/vm_library.h"
#include "library/vm/vm_runtime.h"

/* GRUB under SeaBIOS on kvm_pvm (tests/boot/test-firmware.c). */
#define GRUB_TIMEOUT_S 400

static char *work;
static HgVmLibrary *lib;

static bool can_boot(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		g_test_skip("/dev/kvm is missing or not writable: the engine cannot run a VM");
		return false;
	}
	if (!g_file_test("/usr/share/seabios/bios-256k.bin", G_FILE_TEST_EXISTS)) {
		g_test_skip("needs Debian's seabios package (/usr/share/seabios/bios-256k.bin)");
		return false;
	}
	return true;
}

static char *grub_image(void)
{
	const char *dir = g_getenv("HANGAR_BOOT_IMAGES");

	g_assert_nonnull(dir);
	return g_build_filename(dir, "grub.iso", NULL);
}

static char *work_file(const char *name)
{
	return g_build_filename(work, name, NULL);
}

static void sh(const char *format, ...) G_GNUC_PRINTF(1, 2);
static void sh(const char *format, ...)
{
	g_autofree char *cmd = NULL;
	va_list ap;

	va_start(ap, format);
	cmd = g_strdup_vprintf(format, ap);
	va_end(ap);
	if (system(cmd) != 0)
		g_error("failed: %s", cmd);
}

/* COM1 of a running VM, read until text shows up or the engine exits. */
static bool serial_shows(const char *vm_id, const char *text, GString *seen)
{
	g_autofree char *path = hg_vm_runtime_file(vm_id, "serial.sock");
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(path);
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocket) socket =
		g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, &error);
	gint64 deadline = g_get_monotonic_time() + GRUB_TIMEOUT_S * G_USEC_PER_SEC;

	g_assert_no_error(error);
	g_assert_true(g_socket_connect(socket, address, NULL, &error));
	g_socket_set_timeout(socket, 1);
	while (!strstr(seen->str, text) && g_get_monotonic_time() < deadline) {
		char buffer[4096];
		g_autoptr(GError) local = NULL;
		gssize n = g_socket_receive(socket, buffer, sizeof(buffer), NULL, &local);
		if (n > 0)
			g_string_append_len(seen, buffer, n);
		else if (n == 0)
			break;
	}
	return strstr(seen->str, text) != NULL;
}

/* Imports packed, checks its disk against the GRUB image, boots it. */
static void import_and_boot(const char *packed)
{
	g_autofree char *grub = grub_image();
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) entry =
		hg_import_disk_image(lib, packed, NULL, NULL, NULL, NULL, &error);
	g_autoptr(GSubprocess) engine = NULL;
	g_autoptr(GString) seen = g_string_new(NULL);
	HgVmDisk *disk;
	g_autofree char *disk_path = NULL, *compare = NULL;

	g_assert_no_error(error);
	g_assert_cmpuint(entry->config->disks->len, ==, 1);
	disk = g_ptr_array_index(entry->config->disks, 0);
	g_assert_cmpint(disk->boot_index, ==, 0);
	disk_path = hg_vm_entry_resolve(entry, disk->path);
	compare = g_strdup_printf("qemu-img compare -q '%s' '%s'", grub, disk_path);
	sh("%s", compare);
	/* The image is hybrid (BIOS and UEFI): import's guess from its
	 * partition tables is BIOS; it is forced here anyway, since OVMF
	 * cannot start on kvm_pvm (FACTS.md). */
	entry->config->firmware = HG_FIRMWARE_BIOS;
	entry->config->memory_mib = 256;
	g_assert_true(hg_vm_library_save(lib, entry, &error));
	g_assert_no_error(error);

	engine = hg_engine_start(entry, false, NULL, &error);
	g_assert_no_error(error);
	if (!serial_shows(entry->id, "HANGAR-GRUB-OK", seen))
		g_error("no HANGAR-GRUB-OK on COM1; it shows:\n%s", seen->str);
	/* GRUB's halt powers off through ACPI: the engine ends on its own. */
	g_assert_true(g_subprocess_wait(engine, NULL, &error));
	g_assert_no_error(error);
	g_assert_true(g_subprocess_get_if_exited(engine));
	g_assert_cmpint(g_subprocess_get_exit_status(engine), ==, 0);
}

/* An OVA, as VMware or VirtualBox export it: the OVF, then the disk as a
 * streamOptimized VMDK, read as a stream. */
static void test_ova_boots(void)
{
	g_autofree char *grub = grub_image();
	g_autofree char *vmdk = work_file("grub-appliance-disk1.vmdk");
	g_autofree char *ova = work_file("grub-appliance.ova");
	g_autofree char *script =
		g_test_build_filename(G_TEST_DIST, "library", "import", "make-ova.py", NULL);

	if (!can_boot())
		return;
	sh("qemu-img convert -f raw -O vmdk -o subformat=streamOptimized '%s' '%s'", grub, vmdk);
	sh("python3 '%s' '%s' --name grub-appliance --cpus 1 --memory-mib 256 --disk '%s'", script,
	   ova, vmdk);
	import_and_boot(ova);
}

static void test_xz_raw_boots(void)
{
	g_autofree char *grub = grub_image();
	g_autofree char *xz = work_file("grub-disk.img.xz");

	if (!can_boot())
		return;
	sh("xz -T2 -c '%s' > '%s'", grub, xz);
	import_and_boot(xz);
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *data_home = NULL, *runtime = NULL, *cmd = NULL;
	int status;

	work = g_dir_make_tmp("hangar-import-boot-XXXXXX", &error);
	g_assert_no_error(error);
	data_home = work_file("data");
	runtime = work_file("run");
	g_mkdir(data_home, 0700);
	g_mkdir(runtime, 0700);
	g_setenv("XDG_DATA_HOME", data_home, TRUE);
	g_setenv("XDG_RUNTIME_DIR", runtime, TRUE);

	g_test_init(&argc, &argv, NULL);
	lib = hg_vm_library_open(NULL, &error);
	g_assert_no_error(error);
	g_test_add_func("/import-boot/ova-reaches-grub", test_ova_boots);
	g_test_add_func("/import-boot/xz-raw-reaches-grub", test_xz_raw_boots);
	status = g_test_run();
	hg_vm_library_free(lib);
	/* An engine left by a failed case may still hold its runtime folder. */
	cmd = g_strdup_printf("rm -rf '%s'", work);
	(void)!system(cmd);
	return status;
}

/* Real firmware on the engine: Debian's SeaBIOS POSTs and boots the tests'
 * own boot sectors from virtio-blk, SATA and an AHCI CD-ROM (El Torito),
 * follows the configured boot order and boot menu, and boots a GRUB ISO
 * whose script prints a marker and powers off through ACPI.  OVMF boots the
 * same ISO where KVM is hardware-backed (FACTS.md: it cannot start on
 * kvm_pvm). */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tests/engine/guest-runner.h"
#include "tests/harness/harness.h"

#define BOOT_TIMEOUT_MS 120000
#define GRUB_TIMEOUT_MS 400000

static char *image(const char *name)
{
	const char *dir = g_getenv("HANGAR_BOOT_IMAGES");
	g_assert_nonnull(dir);
	return g_build_filename(dir, name, NULL);
}

static bool require_seabios(void)
{
	if (!guest_require_kvm())
		return false;
	if (!g_file_test("/usr/share/seabios/bios-256k.bin", G_FILE_TEST_EXISTS)) {
		g_test_skip("needs Debian's seabios package (/usr/share/seabios/bios-256k.bin)");
		return false;
	}
	return true;
}

/* Boot with the given --drive options; expect marker, then ACPI power-off
 * (exit status 0). */
static void boot_expecting(const char *const *extra, const char *marker, int timeout_ms)
{
	GuestRun *r = guest_run_startv(NULL, extra);
	int status;

	if (!guest_run_wait_output(r, marker, timeout_ms))
		g_error("no \"%s\" on the console; it shows:\n%s", marker, r->serial->str);
	status = guest_run_wait_exit(r, 30000);
	if (status != 0)
		g_error("expected an ACPI power-off (exit 0), got %d; console:\n%s", status,
			r->serial->str);
	guest_run_free(r);
}

/* A boot that must print marker and then power off: its drives as
 * "IMAGE:OPTIONS", IMAGE one of the images tests/boot/meson.build makes. */
typedef struct {
	const char *marker;
	int timeout_ms;
	const char *memory_mib;
	const char *drives[3];
} BootCase;

static const BootCase boot_from_virtio_blk = {
	"HANGAR-BOOT-OK disk-a drive 80", BOOT_TIMEOUT_MS, "128", {"disk-a.img:if=virtio"}};
static const BootCase boot_from_sata_disk = {
	"HANGAR-BOOT-OK disk-a drive 80", BOOT_TIMEOUT_MS, "128", {"disk-a.img:if=sata"}};
static const BootCase boot_el_torito_from_ahci_cdrom = {
	"HANGAR-BOOT-OK disk-a drive e", BOOT_TIMEOUT_MS, "128", {"boot-a.iso:media=cdrom"}};
static const BootCase boot_first_disk_by_default = {
	"HANGAR-BOOT-OK disk-a", BOOT_TIMEOUT_MS, "128",
	{"disk-a.img:if=virtio", "disk-b.img:if=virtio"}};
/* disk-b on SATA first, over disk-a on virtio. */
static const BootCase boot_by_bootindex = {
	"HANGAR-BOOT-OK disk-b", BOOT_TIMEOUT_MS, "128",
	{"disk-a.img:if=virtio,bootindex=2", "disk-b.img:if=sata,bootindex=1"}};
static const BootCase boot_grub_from_ahci_cdrom = {
	"HANGAR-GRUB-OK", GRUB_TIMEOUT_MS, "256", {"grub.iso:media=cdrom"}};
static const BootCase boot_grub_from_virtio_blk = {
	"HANGAR-GRUB-OK", GRUB_TIMEOUT_MS, "256", {"grub.iso:if=virtio,readonly=on"}};

/* --drive arguments for "IMAGE:OPTIONS" specs, appended to args. */
static void add_drives(GPtrArray *args, const char *const *specs, unsigned n)
{
	for (unsigned i = 0; i < n && specs[i]; i++) {
		g_auto(GStrv) parts = g_strsplit(specs[i], ":", 2);
		g_autofree char *path = image(parts[0]);
		g_ptr_array_add(args, g_strdup("--drive"));
		g_ptr_array_add(args, g_strdup_printf("file=%s,%s", path, parts[1]));
	}
}

static void test_boot_case(gconstpointer data)
{
	const BootCase *bc = data;
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);

	if (!require_seabios())
		return;
	g_ptr_array_add(args, g_strdup("--memory"));
	g_ptr_array_add(args, g_strdup(bc->memory_mib));
	add_drives(args, bc->drives, G_N_ELEMENTS(bc->drives));
	g_ptr_array_add(args, NULL);
	boot_expecting((const char *const *)args->pdata, bc->marker, bc->timeout_ms);
}

static void test_boot_menu_picks_another_device(void)
{
	if (!require_seabios())
		return;
	static const char *const drives[] = {"disk-a.img:if=virtio", "disk-b.img:if=virtio"};
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(args, g_strdup("--memory"));
	g_ptr_array_add(args, g_strdup("128"));
	add_drives(args, drives, G_N_ELEMENTS(drives));
	g_ptr_array_add(args, g_strdup("--boot-menu"));
	g_ptr_array_add(args, g_strdup("--boot-menu-wait"));
	g_ptr_array_add(args, g_strdup("20000"));
	g_ptr_array_add(args, NULL);
	GuestRun *r = guest_run_startv(NULL, (const char *const *)args->pdata);

	g_assert_true(guest_run_wait_output(r, "Press ESC for boot menu", BOOT_TIMEOUT_MS));
	g_assert_cmpint(write(r->serial_fd, "\x1b", 1), ==, 1);
	g_assert_true(guest_run_wait_output(r, "Select boot device", BOOT_TIMEOUT_MS));
	/* The menu lists both disks; the second virtio disk is entry 2. */
	g_assert_true(guest_run_wait_output(r, "2. ", 10000));
	g_usleep(200000);
	g_assert_cmpint(write(r->serial_fd, "2", 1), ==, 1);
	if (!guest_run_wait_output(r, "HANGAR-BOOT-OK disk-b", BOOT_TIMEOUT_MS))
		g_error("the menu choice did not boot disk-b; console:\n%s", r->serial->str);
	g_assert_cmpint(guest_run_wait_exit(r, 30000), ==, 0);
	guest_run_free(r);
}

static void test_ovmf_boots_grub_iso(void)
{
	if (strcmp(hg_test_kvm_kind(), "hardware") != 0) {
		g_test_skip("needs hardware-backed KVM: OVMF stops at its first FPU instruction "
			    "under kvm_pvm (FACTS.md); the flash, fw_cfg and ACPI contracts it "
			    "relies on are covered by harness tests");
		return;
	}
	const char *code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
	const char *vars_template = "/usr/share/OVMF/OVMF_VARS_4M.fd";
	if (!g_file_test(code, G_FILE_TEST_EXISTS)) {
		g_test_skip("needs Debian's ovmf package");
		return;
	}
	g_autofree char *dir = g_dir_make_tmp("hangar-ovmf-XXXXXX", NULL);
	g_autofree char *vars = g_build_filename(dir, "vars.fd", NULL);
	g_autofree char *contents = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(vars_template, &contents, &len, NULL));
	g_assert_true(g_file_set_contents(vars, contents, len, NULL));
	g_autofree char *iso = image("grub.iso");
	g_autofree char *drive = g_strdup_printf("file=%s,media=cdrom", iso);
	const char *extra[] = {"--memory", "512", "--firmware", code, "--firmware-vars", vars,
			       "--drive", drive, NULL};
	boot_expecting(extra, "HANGAR-GRUB-OK", GRUB_TIMEOUT_MS);
	hg_test_remove_tree(dir);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_data_func("/seabios/boots-from-virtio-blk", &boot_from_virtio_blk,
			     test_boot_case);
	g_test_add_data_func("/seabios/boots-from-sata-disk", &boot_from_sata_disk, test_boot_case);
	g_test_add_data_func("/seabios/boots-el-torito-from-ahci-cdrom",
			     &boot_el_torito_from_ahci_cdrom, test_boot_case);
	g_test_add_data_func("/seabios/default-order-boots-the-first-disk",
			     &boot_first_disk_by_default, test_boot_case);
	g_test_add_data_func("/seabios/boot-order-follows-bootindex", &boot_by_bootindex,
			     test_boot_case);
	g_test_add_func("/seabios/boot-menu-picks-another-device",
			test_boot_menu_picks_another_device);
	g_test_add_data_func("/seabios/grub-iso-from-ahci-cdrom-prints-and-powers-off",
			     &boot_grub_from_ahci_cdrom, test_boot_case);
	g_test_add_data_func("/seabios/grub-iso-from-virtio-blk-prints-and-powers-off",
			     &boot_grub_from_virtio_blk, test_boot_case);
	g_test_add_func("/ovmf/grub-iso-from-ahci-cdrom", test_ovmf_boots_grub_iso);
	return g_test_run();
}

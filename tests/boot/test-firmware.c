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

static void test_boots_from_virtio_blk(void)
{
	if (!require_seabios())
		return;
	g_autofree char *disk = image("disk-a.img");
	g_autofree char *drive = g_strdup_printf("file=%s,if=virtio", disk);
	const char *extra[] = {"--memory", "128", "--drive", drive, NULL};
	boot_expecting(extra, "HANGAR-BOOT-OK disk-a drive 80", BOOT_TIMEOUT_MS);
}

static void test_boots_from_sata_disk(void)
{
	if (!require_seabios())
		return;
	g_autofree char *disk = image("disk-a.img");
	g_autofree char *drive = g_strdup_printf("file=%s,if=sata", disk);
	const char *extra[] = {"--memory", "128", "--drive", drive, NULL};
	boot_expecting(extra, "HANGAR-BOOT-OK disk-a drive 80", BOOT_TIMEOUT_MS);
}

static void test_boots_el_torito_from_ahci_cdrom(void)
{
	if (!require_seabios())
		return;
	g_autofree char *iso = image("boot-a.iso");
	g_autofree char *drive = g_strdup_printf("file=%s,media=cdrom", iso);
	const char *extra[] = {"--memory", "128", "--drive", drive, NULL};
	boot_expecting(extra, "HANGAR-BOOT-OK disk-a drive e", BOOT_TIMEOUT_MS);
}

static void test_default_order_boots_the_first_disk(void)
{
	if (!require_seabios())
		return;
	g_autofree char *a = image("disk-a.img");
	g_autofree char *b = image("disk-b.img");
	g_autofree char *da = g_strdup_printf("file=%s,if=virtio", a);
	g_autofree char *db = g_strdup_printf("file=%s,if=virtio", b);
	const char *extra[] = {"--memory", "128", "--drive", da, "--drive", db, NULL};
	boot_expecting(extra, "HANGAR-BOOT-OK disk-a", BOOT_TIMEOUT_MS);
}

static void test_boot_order_follows_bootindex(void)
{
	if (!require_seabios())
		return;
	g_autofree char *a = image("disk-a.img");
	g_autofree char *b = image("disk-b.img");
	/* disk-b on SATA first, over disk-a on virtio. */
	g_autofree char *da = g_strdup_printf("file=%s,if=virtio,bootindex=2", a);
	g_autofree char *db = g_strdup_printf("file=%s,if=sata,bootindex=1", b);
	const char *extra[] = {"--memory", "128", "--drive", da, "--drive", db, NULL};
	boot_expecting(extra, "HANGAR-BOOT-OK disk-b", BOOT_TIMEOUT_MS);
}

static void test_boot_menu_picks_another_device(void)
{
	if (!require_seabios())
		return;
	g_autofree char *a = image("disk-a.img");
	g_autofree char *b = image("disk-b.img");
	g_autofree char *da = g_strdup_printf("file=%s,if=virtio", a);
	g_autofree char *db = g_strdup_printf("file=%s,if=virtio", b);
	const char *extra[] = {"--memory",	 "128", "--drive", da, "--drive", db,
			       "--boot-menu", "--boot-menu-wait", "20000", NULL};
	GuestRun *r = guest_run_startv(NULL, extra);

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

static void test_grub_iso_from_ahci_cdrom(void)
{
	if (!require_seabios())
		return;
	g_autofree char *iso = image("grub.iso");
	g_autofree char *drive = g_strdup_printf("file=%s,media=cdrom", iso);
	const char *extra[] = {"--memory", "256", "--drive", drive, NULL};
	boot_expecting(extra, "HANGAR-GRUB-OK", GRUB_TIMEOUT_MS);
}

static void test_grub_iso_from_virtio_blk(void)
{
	if (!require_seabios())
		return;
	g_autofree char *iso = image("grub.iso");
	g_autofree char *drive = g_strdup_printf("file=%s,if=virtio,readonly=on", iso);
	const char *extra[] = {"--memory", "256", "--drive", drive, NULL};
	boot_expecting(extra, "HANGAR-GRUB-OK", GRUB_TIMEOUT_MS);
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
	g_test_add_func("/seabios/boots-from-virtio-blk", test_boots_from_virtio_blk);
	g_test_add_func("/seabios/boots-from-sata-disk", test_boots_from_sata_disk);
	g_test_add_func("/seabios/boots-el-torito-from-ahci-cdrom",
			test_boots_el_torito_from_ahci_cdrom);
	g_test_add_func("/seabios/default-order-boots-the-first-disk",
			test_default_order_boots_the_first_disk);
	g_test_add_func("/seabios/boot-order-follows-bootindex", test_boot_order_follows_bootindex);
	g_test_add_func("/seabios/boot-menu-picks-another-device",
			test_boot_menu_picks_another_device);
	g_test_add_func("/seabios/grub-iso-from-ahci-cdrom-prints-and-powers-off",
			test_grub_iso_from_ahci_cdrom);
	g_test_add_func("/seabios/grub-iso-from-virtio-blk-prints-and-powers-off",
			test_grub_iso_from_virtio_blk);
	g_test_add_func("/ovmf/grub-iso-from-ahci-cdrom", test_ovmf_boots_grub_iso);
	return g_test_run();
}

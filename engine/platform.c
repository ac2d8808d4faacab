#include "engine/platform.h"
#include "engine/firmware_config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "devices/platform/debug_exit.h"
#include "devices/platform/debugcon.h"
#include "devices/platform/fw_cfg.h"
#include "devices/platform/i8042.h"
#include "devices/platform/pflash_cfi01.h"
#include "devices/platform/rtc_cmos.h"
#include "devices/platform/uart16550.h"
#include "devices/display/std_vga.h"
#include "devices/pci/i440fx.h"
#include "devices/pci/piix3.h"
#include "devices/pci/piix4_pm.h"
#include "devices/pci/testdev.h"
#include "devices/storage/ahci.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_input.h"
#include "display/console.h"
#include "display/input.h"
#include "library/block/block.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ 4
#define DEBUG_EXIT_PORT 0xf4
#define DEBUGCON_PORT 0x402

void hg_fw_cfg_option_free(HgFwCfgOption *o)
{
	g_free(o->name);
	g_free(o->file);
	g_free(o->string);
	g_free(o);
}

void hg_machine_config_init(HgMachineConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ram_mib = 256;
	cfg->n_vcpus = 1;
	cfg->fw_cfg_files = g_ptr_array_new_with_free_func((GDestroyNotify)hg_fw_cfg_option_free);
	cfg->drives = g_ptr_array_new_with_free_func((GDestroyNotify)hg_drive_option_free);
}

void hg_drive_option_free(HgDriveOption *d)
{
	g_free(d->file);
	g_free(d->format);
	g_free(d);
}

static bool drive_fail(GError **error, const char *text, const char *why)
{
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--drive \"%s\": %s", text,
		    why);
	return false;
}

bool hg_drive_option_parse(const char *text, HgDriveOption **out, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(text, ",", -1);
	g_autoptr(GPtrArray) seen = g_ptr_array_new();
	HgDriveOption *d = g_new0(HgDriveOption, 1);
	bool bus_given = false;

	d->boot_index = -1;
	for (char **p = parts; *p; p++) {
		char *eq = strchr(*p, '=');
		if (!eq) {
			hg_drive_option_free(d);
			return drive_fail(error, text, "expected key=value parts");
		}
		*eq = '\0';
		const char *key = *p, *value = eq + 1;
		gint64 index;
		if (strcmp(key, "file") == 0 && *value) {
			g_free(d->file);
			d->file = g_strdup(value);
		} else if (strcmp(key, "if") == 0 && strcmp(value, "virtio") == 0) {
			d->bus = HG_DRIVE_BUS_VIRTIO;
			bus_given = true;
		} else if (strcmp(key, "if") == 0 && strcmp(value, "sata") == 0) {
			d->bus = HG_DRIVE_BUS_SATA;
			bus_given = true;
		} else if (strcmp(key, "media") == 0 && strcmp(value, "disk") == 0) {
			d->media = HG_DRIVE_MEDIA_DISK;
		} else if (strcmp(key, "media") == 0 && strcmp(value, "cdrom") == 0) {
			d->media = HG_DRIVE_MEDIA_CDROM;
		} else if (strcmp(key, "bootindex") == 0 && g_ascii_string_to_signed(
								     value, 10, 0, 999, &index, NULL)) {
			d->boot_index = (int)index;
		} else if (strcmp(key, "format") == 0 && hg_block_format_known(value)) {
			g_free(d->format);
			d->format = g_strdup(value);
		} else if (strcmp(key, "readonly") == 0 &&
			   (strcmp(value, "on") == 0 || strcmp(value, "off") == 0)) {
			d->read_only = strcmp(value, "on") == 0;
		} else {
			g_autofree char *why = g_strdup_printf("bad part \"%s=%s\"", key, value);
			hg_drive_option_free(d);
			return drive_fail(error, text, why);
		}
	}
	if (d->media == HG_DRIVE_MEDIA_CDROM) {
		if (bus_given && d->bus != HG_DRIVE_BUS_SATA) {
			hg_drive_option_free(d);
			return drive_fail(error, text, "a CD-ROM drive is on the SATA (AHCI) bus");
		}
		if (d->format && strcmp(d->format, "raw") != 0) {
			hg_drive_option_free(d);
			return drive_fail(error, text, "a CD-ROM drive's image is raw");
		}
		d->bus = HG_DRIVE_BUS_SATA;
		d->read_only = true;
	} else if (!d->file) {
		hg_drive_option_free(d);
		return drive_fail(error, text, "a disk needs file=PATH");
	}
	*out = d;
	return true;
}

void hg_machine_config_clear(HgMachineConfig *cfg)
{
	g_free(cfg->serial);
	g_free(cfg->debugcon);
	g_free(cfg->firmware_vars);
	g_ptr_array_unref(cfg->fw_cfg_files);
	g_ptr_array_unref(cfg->drives);
	hg_boot_config_clear(&cfg->boot);
	memset(cfg, 0, sizeof(*cfg));
}

bool hg_fw_cfg_option_parse(const char *text, HgFwCfgOption **out, GError **error)
{
	g_autoptr(GPtrArray) parts = g_ptr_array_new();
	HgFwCfgOption *o = g_new0(HgFwCfgOption, 1);
	const char *p = text;

	/* Split on commas, except that string= runs to the end of the option so
	 * that the text may hold commas (QEMU would need ",," there). */
	while (p && *p) {
		if (g_str_has_prefix(p, "string=")) {
			g_free(o->string);
			o->string = g_strdup(p + 7);
			break;
		}
		const char *comma = strchr(p, ',');
		g_autofree char *part = comma ? g_strndup(p, comma - p) : g_strdup(p);
		if (g_str_has_prefix(part, "name=")) {
			g_free(o->name);
			o->name = g_strdup(part + 5);
		} else if (g_str_has_prefix(part, "file=")) {
			g_free(o->file);
			o->file = g_strdup(part + 5);
		} else {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--fw-cfg: unknown part \"%s\" (expected name=, file= or "
				    "string=)",
				    part);
			hg_fw_cfg_option_free(o);
			return false;
		}
		p = comma ? comma + 1 : NULL;
	}
	if (!o->name || !*o->name || (!o->file == !o->string)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--fw-cfg \"%s\": give name=NAME and exactly one of file=PATH or "
			    "string=TEXT",
			    text);
		hg_fw_cfg_option_free(o);
		return false;
	}
	if (strlen(o->name) >= 56) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--fw-cfg: name \"%s\" is longer than 55 bytes", o->name);
		hg_fw_cfg_option_free(o);
		return false;
	}
	*out = o;
	return true;
}

static bool platform_add_fw_cfg_files(HgMachineConfig *cfg, HgDevice *fw_cfg, GError **error)
{
	for (guint i = 0; i < cfg->fw_cfg_files->len; i++) {
		HgFwCfgOption *o = g_ptr_array_index(cfg->fw_cfg_files, i);
		g_autofree char *data = NULL;
		gsize len;

		if (o->file) {
			if (!g_file_get_contents(o->file, &data, &len, error))
				return false;
		} else {
			data = g_strdup(o->string);
			len = strlen(o->string);
		}
		if (!hg_fw_cfg_add_file(fw_cfg, o->name, data, len, error))
			return false;
	}
	return true;
}

/* The PIIX3 ISA bridge (00:01.0) and PIIX4 power management (00:01.3). */
static bool platform_create_chipset(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p,
				    GError **error)
{
	if (!hg_piix3_create(m, p->pci_bus, HG_PCI_DEVFN(HG_SLOT_PIIX, 0), error))
		return false;
	p->power_management =
		hg_piix4_pm_create(m, p->pci_bus, HG_PCI_DEVFN(HG_SLOT_PIIX, 3), error);
	return p->power_management != NULL;
}

/* One virtio-blk function per if=virtio drive, at slots 4, 5, ... in
 * command-line order (a restore builds the same ids at the same slots). */
static bool platform_create_virtio_disks(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p,
					 GError **error)
{
	unsigned n = 0;

	for (guint i = 0; i < cfg->drives->len; i++) {
		HgDriveOption *d = g_ptr_array_index(cfg->drives, i);
		unsigned slot = HG_SLOT_VIRTIO_BLK_FIRST + n;
		HgBlockBackend *blk;

		if (d->bus != HG_DRIVE_BUS_VIRTIO)
			continue;
		if (slot >= HG_SLOT_VIRTIO_INPUT_KBD) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "too many virtio disks: PCI slots run out at %s", d->file);
			return false;
		}
		blk = hg_block_open_format(d->file, d->format, d->read_only, error);
		if (!blk)
			return false;
		g_ptr_array_add(p->block_backends, blk);
		g_autofree char *id = g_strdup_printf("virtio-blk%u", n);
		g_autofree char *serial = g_strdup_printf("hangar-vd%u", n);
		if (!hg_virtio_blk_create(m, p->pci_bus, HG_PCI_DEVFN(slot, 0), id, blk, serial,
					  error))
			return false;
		n++;
	}
	return true;
}

/* Disks and CD-ROMs from --drive: virtio-blk from slot 4 on, one AHCI
 * controller at slot 3 for every SATA drive. */
/* The AHCI controller at 00:03.0 when any if=sata drive is given, its
 * drives on ports 0, 1, ... in command-line order.  Disk images join
 * p->block_backends; a CD-ROM drive owns its medium, which the control
 * socket can change. */
static bool platform_create_sata_drives(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p,
					GError **error)
{
	HgDevice *ahci = NULL;
	unsigned port = 0;

	for (guint i = 0; i < cfg->drives->len; i++) {
		HgDriveOption *d = g_ptr_array_index(cfg->drives, i);
		HgBlockBackend *blk;

		if (d->bus != HG_DRIVE_BUS_SATA)
			continue;
		if (port >= HG_AHCI_PORTS) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "too many SATA drives: the AHCI controller has %u ports",
				    HG_AHCI_PORTS);
			return false;
		}
		if (!ahci) {
			ahci = hg_ahci_create(m, p->pci_bus, HG_PCI_DEVFN(HG_SLOT_AHCI, 0), error);
			if (!ahci)
				return false;
		}
		if (d->media == HG_DRIVE_MEDIA_CDROM) {
			if (!hg_ahci_attach_cdrom(ahci, port, d->file, error))
				return false;
		} else {
			blk = hg_block_open_format(d->file, d->format, d->read_only, error);
			if (!blk)
				return false;
			g_ptr_array_add(p->block_backends, blk);
			if (!hg_ahci_attach_disk(ahci, port, blk, error))
				return false;
		}
		port++;
	}
	return true;
}

static bool platform_create_storage(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p,
				    GError **error)
{
	if (!platform_create_virtio_disks(m, cfg, p, error))
		return false;
	if (!platform_create_sata_drives(m, cfg, p, error))
		return false;
	return true;
}

/* The UEFI variable store (--firmware-vars) lies directly below the firmware
 * image, as QEMU's pflash1 below pflash0: it ends where the image begins, 4 GiB
 * minus the image's size (the test harness maps no image but keeps the same
 * layout for a --firmware it is given).  With no image (--kernel boots
 * without one; the harness has none by default) it ends at 0xFFC84000, where
 * OVMF_CODE_4M.fd would begin, so OVMF_VARS_4M.fd lands at 0xFFC00000 either
 * way.  Image and store must fit in the top 16 MiB, below which KVM keeps its
 * identity map and TSS. */
#define FIRMWARE_AREA_END 0x100000000ULL
#define FIRMWARE_AREA_START 0xFF000000ULL
#define OVMF_CODE_4M_SIZE 0x37c000

static bool platform_create_firmware_vars(HgMachine *m, HgMachineConfig *cfg, GError **error)
{
	uint64_t end = FIRMWARE_AREA_END - OVMF_CODE_4M_SIZE;
	HgDevice *vars;
	GStatBuf st;

	if (!cfg->firmware_vars)
		return true;
	if (cfg->boot.firmware && !cfg->boot.kernel) {
		if (g_stat(cfg->boot.firmware, &st) < 0) {
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s",
				    cfg->boot.firmware, g_strerror(errno));
			return false;
		}
		end = FIRMWARE_AREA_END - MIN((uint64_t)st.st_size, FIRMWARE_AREA_END);
	}
	vars = hg_pflash_cfi01_create(m, "firmware-vars", cfg->firmware_vars, end, error);
	if (!vars)
		return false;
	if (hg_pflash_cfi01_base(vars) < FIRMWARE_AREA_START) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s: firmware image and UEFI variable store together exceed the 16 MiB "
			    "below 4 GiB",
			    cfg->firmware_vars);
		return false;
	}
	return true;
}

/* The CMOS RTC at 0x70, with the memory size and CPU count bytes SeaBIOS
 * reads when fw_cfg does not say. */
static bool platform_create_rtc(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p,
				GError **error)
{
	uint64_t low = MIN(m->memory.size, HG_PCI_HOLE_START);

	p->rtc = hg_rtc_cmos_create(m, "rtc",
				    cfg->rtc_base_set ? cfg->rtc_base_us : g_get_real_time());
	if (!p->rtc) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "the RTC's ports 0x70-0x71 are taken, or its start time is not in the "
			    "years 0000-9999");
		return false;
	}
	hg_rtc_cmos_set_memory_size(p->rtc, low, m->memory.size - low);
	hg_rtc_cmos_set_cpu_count(p->rtc, cfg->n_vcpus);
	return true;
}

/* The display device (std-VGA at 00:02.0), publishing to p->console. */
static bool platform_create_display(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p,
				    GError **error)
{
	return hg_std_vga_create(m, p->pci_bus, HG_PCI_DEVFN(HG_SLOT_VGA, 0), p->console,
				 cfg->vga_memory_mib ? (uint64_t)cfg->vga_memory_mib << 20
						     : HG_STD_VGA_VRAM_SIZE,
				 p->fw_cfg, error) != NULL;
}

/* Keyboard and pointer devices beyond the i8042's PS/2 pair (virtio-input),
 * registered with p->input.  After the i8042 (created first, in
 * hg_platform_create): the router prefers handlers registered later, so a
 * guest that drives virtio-input gets its keys and absolute pointer there. */
static bool platform_create_input_devices(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p,
					  GError **error)
{
	if (!hg_virtio_input_create(m, p->pci_bus, HG_PCI_DEVFN(HG_SLOT_VIRTIO_INPUT_KBD, 0),
				    "virtio-keyboard", HG_VIRTIO_INPUT_KEYBOARD, p->input, error))
		return false;
	return hg_virtio_input_create(m, p->pci_bus, HG_PCI_DEVFN(HG_SLOT_VIRTIO_INPUT_TABLET, 0),
				      "virtio-tablet", HG_VIRTIO_INPUT_TABLET, p->input,
				      error) != NULL;
}

bool hg_platform_create(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p, GError **error)
{
	memset(p, 0, sizeof(*p));
	p->block_backends = g_ptr_array_new_with_free_func((GDestroyNotify)hg_block_close);
	/* Before the devices: display and input devices attach to these. */
	p->console = hg_console_new(m);
	p->input = hg_input_new(m);
	p->serial = hg_chardev_new(cfg->serial ? cfg->serial : "none", error);
	if (!p->serial)
		return false;
	if (cfg->debugcon) {
		p->debugcon = hg_chardev_new(cfg->debugcon, error);
		if (!p->debugcon)
			return false;
	}
	p->com1 = hg_uart16550_create(m, "com1", COM1_BASE, COM1_IRQ, p->serial);
	p->fw_cfg = hg_fw_cfg_create(m, "fw-cfg");
	if (!p->com1 || !p->fw_cfg) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "the platform's COM1 or fw_cfg ports are taken");
		return false;
	}
	hg_fw_cfg_set_machine_info(p->fw_cfg, m->memory.size, cfg->n_vcpus, cfg->n_vcpus);
	if (!platform_add_fw_cfg_files(cfg, p->fw_cfg, error) ||
	    !hg_firmware_config_add(m, cfg, p->fw_cfg, error))
		return false;
	p->host_bridge = hg_i440fx_create(m, "i440fx", &p->pci_bus, error);
	if (!p->host_bridge)
		return false;
	/* Before the virtio-input devices, which win over it once driven. */
	hg_i8042_create(m, "i8042", p->input);
	if (!platform_create_chipset(m, cfg, p, error) || !platform_create_display(m, cfg, p, error) ||
	    !platform_create_storage(m, cfg, p, error) ||
	    !platform_create_input_devices(m, cfg, p, error))
		return false;
	if (cfg->test_pci_device &&
	    !hg_pci_testdev_create(m, p->pci_bus, HG_PCI_DEVFN(HG_SLOT_TESTDEV, 0), error))
		return false;
	if (!platform_create_firmware_vars(m, cfg, error))
		return false;
	if (!platform_create_rtc(m, cfg, p, error))
		return false;
	/* Always there: firmware probes it and it costs nothing when unused;
	 * with no backend its output is dropped. */
	hg_debugcon_create(m, "debugcon", DEBUGCON_PORT, p->debugcon);
	if (cfg->debug_exit)
		hg_debug_exit_create(m, "debug-exit", DEBUG_EXIT_PORT);
	return true;
}

void hg_platform_destroy(HgPlatform *p)
{
	hg_chardev_free(p->serial);
	hg_chardev_free(p->debugcon);
	if (p->block_backends)
		g_ptr_array_unref(p->block_backends);
	hg_console_free(p->console);
	hg_input_free(p->input);
	memset(p, 0, sizeof(*p));
}

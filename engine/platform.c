#include "engine/platform.h"

#include <gio/gio.h>
#include <string.h>

#include "devices/platform/debug_exit.h"
#include "devices/platform/debugcon.h"
#include "devices/platform/fw_cfg.h"
#include "devices/platform/i8042.h"
#include "devices/platform/uart16550.h"
#include "devices/pci/i440fx.h"
#include "devices/pci/testdev.h"
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

	for (char **p = parts; *p; p++) {
		char *eq = strchr(*p, '=');
		if (!eq) {
			hg_drive_option_free(d);
			return drive_fail(error, text, "expected key=value parts");
		}
		*eq = '\0';
		const char *key = *p, *value = eq + 1;
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
	return true;
}

/* Disks and CD-ROMs from --drive: virtio-blk from slot 4 on, one AHCI
 * controller at slot 3 for every SATA drive. */
static bool platform_create_storage(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p,
				    GError **error)
{
	return true;
}

bool hg_platform_create(HgMachine *m, HgMachineConfig *cfg, HgPlatform *p, GError **error)
{
	memset(p, 0, sizeof(*p));
	p->block_backends = g_ptr_array_new_with_free_func((GDestroyNotify)hg_block_close);
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
	if (!platform_add_fw_cfg_files(cfg, p->fw_cfg, error))
		return false;
	p->host_bridge = hg_i440fx_create(m, "i440fx", &p->pci_bus, error);
	if (!p->host_bridge)
		return false;
	if (!platform_create_chipset(m, cfg, p, error) || !platform_create_storage(m, cfg, p, error))
		return false;
	if (cfg->test_pci_device &&
	    !hg_pci_testdev_create(m, p->pci_bus, HG_PCI_DEVFN(HG_SLOT_TESTDEV, 0), error))
		return false;
	hg_i8042_create(m, "i8042");
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
	memset(p, 0, sizeof(*p));
}

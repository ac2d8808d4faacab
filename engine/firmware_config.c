/* fw_cfg files for SeaBIOS and OVMF (FACTS.md lists the ones SeaBIOS 1.16
 * reads).  Paths in "bootorder" follow SeaBIOS's matching (src/boot.c):
 * a PCI function as /pci@i0cf8/NAME@SLOT[,FN] with NAME free, an ATA
 * drive behind it as /drive@PORT/disk@0. */
#include "engine/firmware_config.h"

#include <gio/gio.h>
#include <string.h>

#include "devices/acpi/firmware_tables.h"
#include "devices/platform/fw_cfg.h"

#define COM1_PORT 0x3f8

typedef struct __attribute__((packed)) {
	uint64_t address;
	uint64_t length;
	uint32_t type;
} E820Record;

char *hg_firmware_drive_path(HgMachineConfig *cfg, unsigned n)
{
	unsigned virtio_index = 0, sata_port = 0;
	HgDriveOption *target = g_ptr_array_index(cfg->drives, n);

	/* Slots and ports go in command-line order within each bus. */
	for (unsigned i = 0; i < n; i++) {
		HgDriveOption *d = g_ptr_array_index(cfg->drives, i);
		if (d->bus == HG_DRIVE_BUS_VIRTIO)
			virtio_index++;
		else
			sata_port++;
	}
	if (target->bus == HG_DRIVE_BUS_VIRTIO)
		return g_strdup_printf("/pci@i0cf8/scsi@%x/disk@0,0",
				       HG_SLOT_VIRTIO_BLK_FIRST + virtio_index);
	return g_strdup_printf("/pci@i0cf8/ahci@%x/drive@%x/disk@0", HG_SLOT_AHCI, sata_port);
}

static bool add_e820(HgMachine *m, HgDevice *fw_cfg, GError **error)
{
	HgGuestMemory *mem = &m->memory;
	E820Record records[4];
	unsigned n = 0;

	/* RAM as RAM, and KVM's identity-map/TSS pages as reserved; the
	 * firmware adds its own reservations (EBDA, BIOS area) itself. */
	records[n++] = (E820Record){0, mem->low_end, 1};
	records[n++] = (E820Record){0xfeffc000, 0x4000, 2};
	if (mem->high_size)
		records[n++] = (E820Record){HG_HIGH_RAM_START, mem->high_size, 1};
	return hg_fw_cfg_add_file(fw_cfg, "etc/e820", records, n * sizeof(E820Record), error);
}

/* g_array_sort_with_data hands pointers to the elements (drive indexes). */
static gint compare_boot_index(gconstpointer a, gconstpointer b, gpointer data)
{
	HgMachineConfig *cfg = data;
	HgDriveOption *da = g_ptr_array_index(cfg->drives, *(const guint *)a);
	HgDriveOption *db = g_ptr_array_index(cfg->drives, *(const guint *)b);
	if (da->boot_index != db->boot_index)
		return da->boot_index - db->boot_index;
	return (gint)*(const guint *)a - (gint)*(const guint *)b; /* command-line order */
}

static bool add_bootorder(HgMachineConfig *cfg, HgDevice *fw_cfg, GError **error)
{
	g_autoptr(GArray) order = g_array_new(FALSE, FALSE, sizeof(guint));
	g_autoptr(GString) text = g_string_new(NULL);

	for (guint i = 0; i < cfg->drives->len; i++) {
		HgDriveOption *d = g_ptr_array_index(cfg->drives, i);
		if (d->boot_index >= 0)
			g_array_append_val(order, i);
	}
	if (!order->len)
		return true; /* the firmware's own order: disks, then CD-ROMs */
	g_array_sort_with_data(order, compare_boot_index, cfg);
	for (guint i = 0; i < order->len; i++) {
		g_autofree char *path = hg_firmware_drive_path(cfg, g_array_index(order, guint, i));
		g_string_append_printf(text, "%s%s", i ? "\n" : "", path);
	}
	/* SeaBIOS reads it as a NUL-terminated string. */
	return hg_fw_cfg_add_file(fw_cfg, "bootorder", text->str, text->len + 1, error);
}

static bool add_u64_file(HgDevice *fw_cfg, const char *name, uint64_t value, GError **error)
{
	uint64_t le = GUINT64_TO_LE(value);
	return hg_fw_cfg_add_file(fw_cfg, name, &le, sizeof(le), error);
}

static bool add_u16_file(HgDevice *fw_cfg, const char *name, uint16_t value, GError **error)
{
	uint16_t le = GUINT16_TO_LE(value);
	return hg_fw_cfg_add_file(fw_cfg, name, &le, sizeof(le), error);
}

/* UEFI images begin with a firmware volume: "_FVH" at offset 40 of its
 * header (PI specification, EFI_FIRMWARE_VOLUME_HEADER.Signature). */
static bool firmware_is_uefi(const char *path)
{
	g_autoptr(GFile) file = g_file_new_for_path(path);
	g_autoptr(GFileInputStream) in = g_file_read(file, NULL, NULL);
	char header[64];
	gsize len = 0;

	if (!in || !g_input_stream_read_all(G_INPUT_STREAM(in), header, sizeof(header), &len,
					    NULL, NULL) ||
	    len < 44)
		return false;
	return memcmp(header + 40, "_FVH", 4) == 0;
}

/* ACPI and SMBIOS tables, for firmware to install (a --kernel boot has no
 * firmware to do so, and gets none yet). */
static bool add_acpi_and_smbios(HgMachine *m, HgMachineConfig *cfg, HgDevice *fw_cfg,
				GError **error)
{
	HgAcpiMachine acpi;
	HgSmbiosInfo smbios;
	g_autoptr(GPtrArray) files = NULL;
	uint64_t low = m->memory.low_end;

	if (!cfg->boot.firmware || cfg->boot.kernel)
		return true;
	hg_acpi_machine_init_pc(&acpi, cfg->n_vcpus, low, m->memory.size - low);
	/* SeaBIOS moves the PIIX4 PM block to 0x600 once it sees a table
	 * loader; OVMF programs 0xB000.  The tables must say where it will
	 * be, since they are built before the firmware runs. */
	if (!firmware_is_uefi(cfg->boot.firmware))
		acpi.pm_io_base = HG_ACPI_PM_IO_BASE_SEABIOS;
	hg_smbios_info_init(&smbios);
	memcpy(smbios.uuid, cfg->uuid, sizeof(smbios.uuid));
	files = hg_firmware_tables_build(&acpi, &smbios, error);
	if (!files)
		return false;
	for (guint i = 0; i < files->len; i++) {
		HgFirmwareFile *f = g_ptr_array_index(files, i);
		gsize size;
		const void *data = g_bytes_get_data(f->data, &size);
		if (!hg_fw_cfg_add_file(fw_cfg, f->name, data, size, error))
			return false;
	}
	return true;
}

bool hg_firmware_config_add(HgMachine *m, HgMachineConfig *cfg, HgDevice *fw_cfg,
			    GError **error)
{
	return add_e820(m, fw_cfg, error) && add_bootorder(cfg, fw_cfg, error) &&
	       add_acpi_and_smbios(m, cfg, fw_cfg, error) &&
	       add_u64_file(fw_cfg, "etc/show-boot-menu", cfg->boot_menu, error) &&
	       (!cfg->boot_menu ||
		add_u16_file(fw_cfg, "etc/boot-menu-wait", cfg->boot_menu_wait_ms, error)) &&
	       /* SeaBIOS mirrors its screen to COM1 too ("split mode" beside the
		* VGA): the serial console shows POST and the boot menu. */
	       add_u16_file(fw_cfg, "etc/sercon-port", COM1_PORT, error);
}

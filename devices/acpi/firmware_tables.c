/* The fw_cfg files of the machine's ACPI and SMBIOS tables. */
#include "devices/acpi/firmware_tables.h"

#include "devices/acpi/table_loader.h"

void hg_firmware_file_free(HgFirmwareFile *file)
{
	if (!file)
		return;
	g_free(file->name);
	g_bytes_unref(file->data);
	g_free(file);
}

static void add_file(GPtrArray *files, const char *name, GBytes *data)
{
	HgFirmwareFile *file = g_new0(HgFirmwareFile, 1);

	file->name = g_strdup(name);
	file->data = data; /* the reference moves here */
	g_ptr_array_add(files, file);
}

GPtrArray *hg_firmware_tables_build(const HgAcpiMachine *m, const HgSmbiosInfo *smbios,
				    GError **error)
{
	g_autoptr(GPtrArray) files =
		g_ptr_array_new_with_free_func((GDestroyNotify)hg_firmware_file_free);
	HgAcpiBlobs acpi;
	GBytes *anchor, *tables;

	if (!hg_acpi_build(m, &acpi, error))
		return NULL;
	if (!hg_smbios_build(m, smbios, &anchor, &tables, error)) {
		hg_acpi_blobs_clear(&acpi);
		return NULL;
	}
	add_file(files, HG_ACPI_RSDP_FILE, g_steal_pointer(&acpi.rsdp));
	add_file(files, HG_ACPI_TABLES_FILE, g_steal_pointer(&acpi.tables));
	add_file(files, HG_TABLE_LOADER_FILE, g_steal_pointer(&acpi.loader));
	add_file(files, HG_SMBIOS_ANCHOR_FILE, anchor);
	add_file(files, HG_SMBIOS_TABLES_FILE, tables);
	return g_steal_pointer(&files);
}

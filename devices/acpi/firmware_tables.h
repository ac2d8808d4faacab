/* Everything the platform hands to firmware about the machine's tables:
 * the ACPI blobs with their loader script and the SMBIOS entry point and
 * structures, as named fw_cfg files.  The platform builds the machine
 * description, calls hg_firmware_tables_build() once while it builds the
 * machine, and adds each file with hg_fw_cfg_add_file(). */
#pragma once

#include <glib.h>

#include "devices/acpi/acpi_tables.h"
#include "devices/acpi/smbios.h"

typedef struct {
	char *name; /* e.g. "etc/acpi/tables" */
	GBytes *data;
} HgFirmwareFile;

void hg_firmware_file_free(HgFirmwareFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgFirmwareFile, hg_firmware_file_free)

/* The five files: etc/acpi/rsdp, etc/acpi/tables, etc/table-loader,
 * etc/smbios/smbios-anchor, etc/smbios/smbios-tables.  Returns a
 * GPtrArray of HgFirmwareFile * that frees them, or NULL with an error for
 * a description that cannot be built (no CPUs, absurd RAM, ...). */
GPtrArray *hg_firmware_tables_build(const HgAcpiMachine *m, const HgSmbiosInfo *smbios,
				    GError **error);

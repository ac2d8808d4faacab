/* SMBIOS 3.0 tables of the PC for the fw_cfg files "etc/smbios/smbios-anchor"
 * (the 24-byte "_SM3_" entry point, its table address left 0) and
 * "etc/smbios/smbios-tables" (the structures), as QEMU hands them over.
 *
 * SeaBIOS 1.16 (smbios_romfile_setup) takes them when the anchor is exactly
 * a 2.1 or a 3.0 entry point and the tables file is exactly as long as the
 * anchor says; it then places the tables, fills in the address and copies
 * the entry point to the F segment.  OVMF (DetectSmbiosVersionLib) checks
 * the same (size 24, "_SM3_", major 3, maximum size == file size) and
 * installs each structure through its SMBIOS protocol.  Both add a BIOS
 * Information (type 0) structure of their own only when the tables have
 * none, so a type 0 here replaces the firmware's. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/acpi/acpi_tables.h"

#define HG_SMBIOS_ANCHOR_FILE "etc/smbios/smbios-anchor"
#define HG_SMBIOS_TABLES_FILE "etc/smbios/smbios-tables"
#define HG_SMBIOS_ANCHOR_LENGTH 24

/* Strings may be NULL or empty for "not specified". */
typedef struct {
	/* Type 0, BIOS Information: only if bios_vendor is set.  Leaving it
	 * to the firmware keeps its own name and version there. */
	const char *bios_vendor;
	const char *bios_version;
	const char *bios_date; /* "MM/DD/YYYY" */

	/* Type 1, System Information, and type 3, System Enclosure. */
	const char *manufacturer;
	const char *product;
	const char *version;
	const char *serial;
	const char *family;
	uint8_t uuid[16]; /* in the order the UUID is printed (RFC 4122) */

	/* Type 4, Processor Information, one per socket; the CPUs are split
	 * evenly, one thread per core (as the engine's CPUID reports). */
	unsigned n_sockets; /* 0 is taken as 1 */
	uint32_t cpuid_signature; /* CPUID.01H:EAX, 0 if unknown */
	uint32_t cpuid_features; /* CPUID.01H:EDX */
	const char *cpu_manufacturer;
	uint16_t cpu_speed_mhz; /* 0 if unknown */
} HgSmbiosInfo;

/* Hangar's strings: "Hangar", "Hangar Virtual Machine", the version; no
 * type 0; one socket; a zero UUID (the caller sets the VM's). */
void hg_smbios_info_init(HgSmbiosInfo *info);

/* Types 0 (if asked), 1, 3, 4 (per socket), 16, 17 (one per 16 GiB of RAM,
 * as QEMU), 19 (low and high RAM), 32, 127.  RAM sizes must be whole MiB. */
bool hg_smbios_build(const HgAcpiMachine *m, const HgSmbiosInfo *info, GBytes **anchor,
		     GBytes **tables, GError **error);

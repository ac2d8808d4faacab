/* The DSDT's AML body (the definition block without its table header):
 * the PCI host bridge and its interrupt routing, the PIIX3 ISA devices,
 * the CPUs, \_GPE and \_S5.  Used by acpi_tables.c; the machine has been
 * checked (hg_acpi_machine_check) before. */
#pragma once

#include <glib.h>

#include "devices/acpi/acpi_tables.h"

GByteArray *hg_acpi_dsdt_body(const HgAcpiMachine *m);

/* ACPI tables of Hangar's i440FX/PIIX PC, handed to firmware as QEMU does:
 * the fw_cfg files "etc/acpi/tables" (FACS, DSDT, FADT, MADT, RSDT, XSDT),
 * "etc/acpi/rsdp" (the RSDP) and "etc/table-loader" (the linker/loader
 * script that places them, fills in their pointers and checksums).  SeaBIOS
 * and OVMF run the script; neither builds tables of its own then.
 *
 * The platform constants below are the single source of truth for the
 * device models that implement what the tables promise (PIIX4 PM, the
 * reset port, the RTC); see the comment of each. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define HG_ACPI_TABLES_FILE "etc/acpi/tables"
#define HG_ACPI_RSDP_FILE "etc/acpi/rsdp"

#define HG_ACPI_OEM_ID "HANGAR" /* 6 characters */
#define HG_ACPI_OEM_TABLE_ID "HANGARPC" /* 8 characters */

#define HG_ACPI_MAX_CPUS 4096 /* APIC IDs 0..4095; CPU objects C000..CFFF */
#define HG_ACPI_MAX_RAM (1ULL << 44) /* 16 TiB: anything above is a mistake */

/* Interrupt controllers: xAPIC of every CPU, one IOAPIC with GSIs 0-23. */
#define HG_ACPI_LAPIC_ADDRESS 0xfee00000u
#define HG_ACPI_IOAPIC_ADDRESS 0xfec00000u
#define HG_ACPI_IOAPIC_GSI_BASE 0

/* PIIX4 power management (00:01.3), its I/O block where PMBA (config 0x40)
 * puts it, as QEMU's piix4-pm: PM1a_EVT at +0 (4 bytes: PM1 status, PM1
 * enable; power button fixed event), PM1a_CNT at +4 (2 bytes), PM_TMR at +8
 * (4 bytes, a 24-bit counter at 3.579545 MHz: TMR_VAL_EXT is clear).  The PM
 * model must report SCI_EN = 1 in PM1_CNT from reset: SMI_CMD is 0, so the
 * tables say the machine is always in ACPI mode and nobody will enable it.
 * Sleep: only S5, SLP_TYP 0 (QEMU's PIIX4 value), so SLP_EN with SLP_TYP 0
 * must power off.  GPE0 at 0xafe0: 2 bytes of status, 2 of enable.
 *
 * The firmware programs PMBA, and the FADT must name the same base:
 *  - SeaBIOS (src/fw/paravirt.c qemu_cfg_init) moves it to 0x600 whenever
 *    "etc/table-loader" exists, and writes PMBA in pci_setup;
 *  - OVMF (PlatformPei, AcpiTimerLib) writes 0xb000 (PIIX4_PMBA_VALUE)
 *    unless PMREGMISC.PMIOSE is already set, in which case it keeps PMBA;
 *  - a kernel booted directly finds PMBA as the engine left it.
 * QEMU copes by building its tables when the firmware reads them, after
 * PMBA is set; Hangar's are built before, so the platform says which. */
#define HG_ACPI_PM_IO_BASE 0xb000 /* OVMF's; the default */
#define HG_ACPI_PM_IO_BASE_SEABIOS 0x0600
#define HG_ACPI_PM_IO_SIZE 64
#define HG_ACPI_PM1_EVT_LENGTH 4
#define HG_ACPI_PM1_CNT_OFFSET 0x04
#define HG_ACPI_PM1_CNT_LENGTH 2
#define HG_ACPI_PM_TMR_OFFSET 0x08
#define HG_ACPI_PM_TMR_LENGTH 4
#define HG_ACPI_GPE0_BASE 0xafe0
#define HG_ACPI_GPE0_LENGTH 4
#define HG_ACPI_SCI_IRQ 9
#define HG_ACPI_SLP_TYP_S5 0

/* Reset: writing 0x06 to the PIIX3 reset control register, port 0xcf9,
 * must reset the machine (FADT RESET_REG, RESET_REG_SUP set). */
#define HG_ACPI_RESET_PORT 0xcf9
#define HG_ACPI_RESET_VALUE 0x06

/* The RTC's CMOS byte holding the century (FADT CENTURY). */
#define HG_ACPI_RTC_CENTURY 0x32

/* PCI interrupts: PIIX3 PIRQRC[A-D] in its configuration space at
 * 0x60-0x63 (00:01.0; bit 7 set = disabled, bits 3-0 = ISA IRQ).  Device
 * d, pin p (0 = INTA) is wired to PIRQ[(d + p - 1) & 3], the swizzle QEMU's
 * PIIX3 and SeaBIOS use; except 00:01 INTA (the PM function), which is the
 * SCI, IRQ 9, as in QEMU's DSDT.  The links may take IRQ 5, 10 or 11, each
 * level-triggered, active high (MADT interrupt source overrides). */
#define HG_ACPI_PIRQ_CONFIG_OFFSET 0x60
#define HG_ACPI_PCI_MMIO32_END 0xfebfffffu /* the IOAPIC follows */

/* What the tables describe.  hg_acpi_machine_init_pc() fills the defaults
 * from the CPU count and the RAM layout; the platform may then adjust. */
typedef struct {
	unsigned n_cpus; /* 1..HG_ACPI_MAX_CPUS, APIC IDs 0..n_cpus-1 */
	uint16_t pm_io_base; /* PIIX4 PMBA as the firmware will program it */
	uint64_t ram_below_4g; /* bytes of RAM from address 0 */
	uint64_t ram_above_4g; /* bytes of RAM from 4 GiB */
	uint8_t ioapic_id; /* 0 as in QEMU: KVM's IOAPIC ID register resets to 0 */
	/* The host bridge's memory windows (DSDT \_SB.PCI0._CRS): 32-bit from
	 * pci_mmio32_start to HG_ACPI_PCI_MMIO32_END, 64-bit [start, start +
	 * size) when size is not 0.  Firmware places BARs in them. */
	uint64_t pci_mmio32_start;
	uint64_t pci_mmio64_start;
	uint64_t pci_mmio64_size;
} HgAcpiMachine;

/* PM I/O at HG_ACPI_PM_IO_BASE (set HG_ACPI_PM_IO_BASE_SEABIOS for SeaBIOS).
 * The 32-bit window starts at the end of low RAM.  The 64-bit one starts
 * above high RAM, 1 GiB aligned (SeaBIOS 1.16.2 puts 64-bit BARs right
 * after RAM), and ends 32 GiB past the next 32 GiB boundary, which covers
 * OVMF's 32 GiB aperture that it aligns to its own size. */
void hg_acpi_machine_init_pc(HgAcpiMachine *m, unsigned n_cpus, uint64_t ram_below_4g,
			     uint64_t ram_above_4g);

/* Checks the description: CPU count, RAM sizes, windows. */
bool hg_acpi_machine_check(const HgAcpiMachine *m, GError **error);

typedef struct {
	GBytes *tables; /* HG_ACPI_TABLES_FILE */
	GBytes *rsdp; /* HG_ACPI_RSDP_FILE */
	GBytes *loader; /* HG_TABLE_LOADER_FILE */
} HgAcpiBlobs;

bool hg_acpi_build(const HgAcpiMachine *m, HgAcpiBlobs *out, GError **error);
void hg_acpi_blobs_clear(HgAcpiBlobs *blobs);

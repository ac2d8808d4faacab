/* ACPI tables of the PC and the loader script that links them.
 * Specification: ACPI 6.0 Errata A, section 5.2 ("ACPI System Description
 * Tables"): 5.2.5.3 RSDP, 5.2.6 table header, 5.2.7 RSDT, 5.2.8 XSDT,
 * 5.2.9 FADT (revision 6), 5.2.10 FACS (version 2), 5.2.11.1 DSDT,
 * 5.2.12 MADT (revision 4), 5.2.3.2 Generic Address Structure.
 *
 * Layout of "etc/acpi/tables", as QEMU's: the FACS first (it must be 64-byte
 * aligned and the blob is allocated with that alignment), then DSDT, FADT,
 * MADT, RSDT, XSDT.  Every pointer field holds the offset of its target in
 * its blob and has an ADD_POINTER command; every checksum byte is 0 and has
 * an ADD_CHECKSUM command after the pointers inside its range, so firmware
 * computes it over the final addresses.
 *
 * How the firmware consume this (checked in their sources):
 *  - SeaBIOS 1.16 (romfile_loader.c) allocates and patches in place, then
 *    finds the RSDP by scanning the F segment and uses the RSDT (not the
 *    XSDT) to find the FADT: PM timer and RESET_REG for its own use.
 *  - OVMF (QemuFwCfgAcpi.c) runs the commands, then for each ADD_POINTER
 *    whose target looks like a table (FACS by signature, others by length
 *    and a zero checksum) installs that table once through
 *    EFI_ACPI_TABLE_PROTOCOL, which builds its own RSDP/RSDT/XSDT; our RSDT
 *    and XSDT are recognised and skipped.  So every table must be reached by
 *    a pointer, and a table's checksum must be right once the first pass is
 *    over. */
#include "devices/acpi/acpi_tables.h"

#include <gio/gio.h>
#include <string.h>

#include "devices/acpi/dsdt.h"
#include "devices/acpi/table_loader.h"

#define HEADER_LENGTH 36
#define HEADER_LENGTH_OFFSET 4
#define HEADER_CHECKSUM_OFFSET 9
#define CREATOR_ID "HNGR"
#define CREATOR_REVISION 1
#define OEM_REVISION 1

#define RSDP_LENGTH 36
#define RSDP_CHECKSUM_OFFSET 8
#define RSDP_V1_LENGTH 20 /* what the first checksum covers */
#define RSDP_RSDT_OFFSET 16
#define RSDP_XSDT_OFFSET 24
#define RSDP_EXTENDED_CHECKSUM_OFFSET 32

#define FACS_LENGTH 64
#define FACS_ALIGNMENT 64

/* FADT (5.2.9, Table 5-33) */
#define FADT_REVISION 6
#define FADT_MINOR_VERSION 0
#define FADT_LENGTH 276
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_X_DSDT 140

#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_SLP_BUTTON (1u << 5) /* no fixed-feature sleep button */
#define FADT_FIX_RTC (1u << 6) /* no RTC wake status in PM1 */
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_FORCE_APIC_CLUSTER_MODEL (1u << 18)
#define IAPC_LEGACY_DEVICES (1u << 0)
#define IAPC_8042 (1u << 1)
#define LATENCY_C2_UNSUPPORTED 0x0fff /* > 100 us */
#define LATENCY_C3_UNSUPPORTED 0x0fff /* > 1000 us */

/* Generic Address Structure (5.2.3.2) */
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2
#define GAS_ACCESS_DWORD 3

/* MADT (5.2.12) */
#define MADT_REVISION 4
#define MADT_PCAT_COMPAT (1u << 0)
#define MADT_LOCAL_APIC 0
#define MADT_IO_APIC 1
#define MADT_INTERRUPT_OVERRIDE 2
#define MADT_LOCAL_APIC_NMI 4
#define MADT_LOCAL_X2APIC 9
#define MADT_LOCAL_X2APIC_NMI 10
#define MADT_ENABLED (1u << 0)
#define MPS_INTI_CONFORMS 0x0
#define MPS_INTI_ACTIVE_HIGH 0x1
#define MPS_INTI_LEVEL (0x3 << 2)
#define XAPIC_ID_LIMIT 255 /* 0xff is the broadcast ID */
#define ALL_PROCESSORS_UID 0xff
#define ALL_PROCESSORS_X2APIC_UID 0xffffffffu
#define LINT1 1

#define GIB (1ULL << 30)

/* The ISA interrupts that PCI links may take (level, active high). */
static const uint8_t pci_isa_irqs[] = {5, 9, 10, 11};

static void put_le(GByteArray *b, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++) {
		uint8_t byte = (uint8_t)(v >> (8 * i));

		g_byte_array_append(b, &byte, 1);
	}
}

static void put_chars(GByteArray *b, const char *s, size_t len)
{
	g_assert(strlen(s) == len);
	g_byte_array_append(b, (const uint8_t *)s, (guint)len);
}

static void put_zeros(GByteArray *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		put_le(b, 0, 1);
}

static void set_le(GByteArray *b, guint offset, uint64_t v, unsigned size)
{
	g_assert(offset + size <= b->len);
	for (unsigned i = 0; i < size; i++)
		b->data[offset + i] = (uint8_t)(v >> (8 * i));
}

static void put_gas(GByteArray *b, uint8_t access, uint8_t bit_width, uint64_t io_port)
{
	put_le(b, io_port ? GAS_SYSTEM_IO : 0, 1);
	put_le(b, io_port ? bit_width : 0, 1);
	put_le(b, 0, 1); /* bit offset */
	put_le(b, io_port ? access : 0, 1);
	put_le(b, io_port, 8);
}

/* Appends a table header (5.2.6) with length and checksum still 0. */
static guint table_begin(GByteArray *b, const char *signature, uint8_t revision)
{
	guint start = b->len;

	put_chars(b, signature, 4);
	put_le(b, 0, 4); /* length */
	put_le(b, revision, 1);
	put_le(b, 0, 1); /* checksum, computed by the firmware */
	put_chars(b, HG_ACPI_OEM_ID, 6);
	put_chars(b, HG_ACPI_OEM_TABLE_ID, 8);
	put_le(b, OEM_REVISION, 4);
	put_chars(b, CREATOR_ID, 4);
	put_le(b, CREATOR_REVISION, 4);
	return start;
}

static void table_end(GByteArray *b, guint start)
{
	set_le(b, start + HEADER_LENGTH_OFFSET, b->len - start, 4);
}

static uint32_t table_length(GByteArray *b, guint start)
{
	return b->data[start + 4] | b->data[start + 5] << 8 | b->data[start + 6] << 16 |
	       (uint32_t)b->data[start + 7] << 24;
}

/* Version 2; the OS owns everything in it. */
static guint build_facs(GByteArray *b)
{
	guint start = b->len;

	g_assert(start % FACS_ALIGNMENT == 0);
	put_chars(b, "FACS", 4);
	put_le(b, FACS_LENGTH, 4);
	put_le(b, 0, 4); /* hardware signature */
	put_le(b, 0, 4); /* firmware waking vector */
	put_le(b, 0, 4); /* global lock */
	put_le(b, 0, 4); /* flags: no S4BIOS, no 64-bit wake */
	put_le(b, 0, 8); /* X firmware waking vector */
	put_le(b, 2, 1); /* version */
	put_zeros(b, 3);
	put_le(b, 0, 4); /* OSPM flags */
	put_zeros(b, 24);
	g_assert(b->len - start == FACS_LENGTH);
	return start;
}

static guint build_dsdt(GByteArray *b, const HgAcpiMachine *m)
{
	g_autoptr(GByteArray) body = hg_acpi_dsdt_body(m);
	/* Revision 2: integers are 64-bit in the definition block. */
	guint start = table_begin(b, "DSDT", 2);

	g_byte_array_append(b, body->data, body->len);
	table_end(b, start);
	return start;
}

static uint32_t fadt_flags(const HgAcpiMachine *m)
{
	uint32_t flags =
		FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC | FADT_RESET_REG_SUP;

	/* As QEMU: more than 8 xAPICs cannot all be addressed in flat
	 * logical mode. */
	if (m->n_cpus > 8)
		flags |= FADT_FORCE_APIC_CLUSTER_MODEL;
	return flags;
}

/* FADT revision 6 (Table 5-33).  Power button: fixed feature (PWR_BUTTON
 * clear), its status and enable bits in PM1.  The FACS goes in
 * FIRMWARE_CTRL only: the specification wants X_FIRMWARE_CTRL zero when
 * FIRMWARE_CTRL is set (and QEMU does the same); the DSDT goes in both
 * DSDT and X_DSDT, which may hold the same address. */
static guint build_fadt(GByteArray *b, const HgAcpiMachine *m, guint facs, guint dsdt)
{
	guint start = table_begin(b, "FACP", FADT_REVISION);
	const uint32_t pm1a_evt = m->pm_io_base;
	const uint32_t pm1a_cnt = m->pm_io_base + HG_ACPI_PM1_CNT_OFFSET;
	const uint32_t pm_tmr = m->pm_io_base + HG_ACPI_PM_TMR_OFFSET;

	put_le(b, facs, 4); /* FIRMWARE_CTRL */
	put_le(b, dsdt, 4); /* DSDT */
	put_le(b, 0, 1); /* reserved (ACPI 1.0 INT_MODEL) */
	put_le(b, 0, 1); /* preferred PM profile: unspecified */
	put_le(b, HG_ACPI_SCI_IRQ, 2); /* SCI_INT */
	put_le(b, 0, 4); /* SMI_CMD: no SMM, always in ACPI mode */
	put_le(b, 0, 1); /* ACPI_ENABLE */
	put_le(b, 0, 1); /* ACPI_DISABLE */
	put_le(b, 0, 1); /* S4BIOS_REQ */
	put_le(b, 0, 1); /* PSTATE_CNT */
	put_le(b, pm1a_evt, 4); /* PM1a_EVT_BLK */
	put_le(b, 0, 4); /* PM1b_EVT_BLK */
	put_le(b, pm1a_cnt, 4); /* PM1a_CNT_BLK */
	put_le(b, 0, 4); /* PM1b_CNT_BLK */
	put_le(b, 0, 4); /* PM2_CNT_BLK */
	put_le(b, pm_tmr, 4); /* PM_TMR_BLK */
	put_le(b, HG_ACPI_GPE0_BASE, 4); /* GPE0_BLK */
	put_le(b, 0, 4); /* GPE1_BLK */
	put_le(b, HG_ACPI_PM1_EVT_LENGTH, 1);
	put_le(b, HG_ACPI_PM1_CNT_LENGTH, 1);
	put_le(b, 0, 1); /* PM2_CNT_LEN */
	put_le(b, HG_ACPI_PM_TMR_LENGTH, 1);
	put_le(b, HG_ACPI_GPE0_LENGTH, 1);
	put_le(b, 0, 1); /* GPE1_BLK_LEN */
	put_le(b, 0, 1); /* GPE1_BASE */
	put_le(b, 0, 1); /* CST_CNT: no _CST */
	put_le(b, LATENCY_C2_UNSUPPORTED, 2); /* P_LVL2_LAT */
	put_le(b, LATENCY_C3_UNSUPPORTED, 2); /* P_LVL3_LAT */
	put_le(b, 0, 2); /* FLUSH_SIZE */
	put_le(b, 0, 2); /* FLUSH_STRIDE */
	put_le(b, 0, 1); /* DUTY_OFFSET */
	put_le(b, 0, 1); /* DUTY_WIDTH */
	put_le(b, 0, 1); /* DAY_ALRM: no RTC day alarm */
	put_le(b, 0, 1); /* MON_ALRM */
	put_le(b, HG_ACPI_RTC_CENTURY, 1); /* CENTURY */
	put_le(b, IAPC_LEGACY_DEVICES | IAPC_8042, 2); /* IAPC_BOOT_ARCH */
	put_le(b, 0, 1); /* reserved */
	put_le(b, fadt_flags(m), 4);
	put_gas(b, GAS_ACCESS_BYTE, 8, HG_ACPI_RESET_PORT); /* RESET_REG */
	put_le(b, HG_ACPI_RESET_VALUE, 1);
	put_le(b, 0, 2); /* ARM_BOOT_ARCH */
	put_le(b, FADT_MINOR_VERSION, 1);
	put_le(b, 0, 8); /* X_FIRMWARE_CTRL */
	put_le(b, dsdt, 8); /* X_DSDT */
	put_gas(b, GAS_ACCESS_WORD, HG_ACPI_PM1_EVT_LENGTH * 8, pm1a_evt);
	put_gas(b, 0, 0, 0); /* X_PM1b_EVT_BLK */
	put_gas(b, GAS_ACCESS_WORD, HG_ACPI_PM1_CNT_LENGTH * 8, pm1a_cnt);
	put_gas(b, 0, 0, 0); /* X_PM1b_CNT_BLK */
	put_gas(b, 0, 0, 0); /* X_PM2_CNT_BLK */
	put_gas(b, GAS_ACCESS_DWORD, HG_ACPI_PM_TMR_LENGTH * 8, pm_tmr);
	put_gas(b, GAS_ACCESS_BYTE, HG_ACPI_GPE0_LENGTH * 8, HG_ACPI_GPE0_BASE);
	put_gas(b, 0, 0, 0); /* X_GPE1_BLK */
	put_gas(b, 0, 0, 0); /* SLEEP_CONTROL_REG: hardware-reduced only */
	put_gas(b, 0, 0, 0); /* SLEEP_STATUS_REG */
	put_le(b, 0, 8); /* hypervisor vendor identity */
	table_end(b, start);
	g_assert(b->len - start == FADT_LENGTH);
	return start;
}

static void put_interrupt_override(GByteArray *b, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	put_le(b, MADT_INTERRUPT_OVERRIDE, 1);
	put_le(b, 10, 1);
	put_le(b, 0, 1); /* bus: ISA */
	put_le(b, irq, 1);
	put_le(b, gsi, 4);
	put_le(b, flags, 2);
}

/* APIC IDs and ACPI processor UIDs both run 0..n_cpus-1, the DSDT's
 * processor objects carry the same UIDs.  IDs from 255 on need x2APIC
 * structures, and their NMI an x2APIC NMI structure. */
static guint build_madt(GByteArray *b, const HgAcpiMachine *m)
{
	guint start = table_begin(b, "APIC", MADT_REVISION);

	put_le(b, HG_ACPI_LAPIC_ADDRESS, 4);
	put_le(b, MADT_PCAT_COMPAT, 4); /* dual 8259s present */
	for (unsigned i = 0; i < m->n_cpus; i++) {
		if (i < XAPIC_ID_LIMIT) {
			put_le(b, MADT_LOCAL_APIC, 1);
			put_le(b, 8, 1);
			put_le(b, i, 1); /* processor UID */
			put_le(b, i, 1); /* APIC ID */
			put_le(b, MADT_ENABLED, 4);
		} else {
			put_le(b, MADT_LOCAL_X2APIC, 1);
			put_le(b, 16, 1);
			put_le(b, 0, 2); /* reserved */
			put_le(b, i, 4); /* x2APIC ID */
			put_le(b, MADT_ENABLED, 4);
			put_le(b, i, 4); /* processor UID */
		}
	}

	put_le(b, MADT_IO_APIC, 1);
	put_le(b, 12, 1);
	put_le(b, m->ioapic_id, 1);
	put_le(b, 0, 1); /* reserved */
	put_le(b, HG_ACPI_IOAPIC_ADDRESS, 4);
	put_le(b, HG_ACPI_IOAPIC_GSI_BASE, 4);

	/* The PIT's IRQ 0 is wired to IOAPIC pin 2; the SCI and the PCI links
	 * are level-triggered, active high, not ISA-like edges. */
	put_interrupt_override(b, 0, 2, MPS_INTI_CONFORMS);
	for (unsigned i = 0; i < G_N_ELEMENTS(pci_isa_irqs); i++)
		put_interrupt_override(b, pci_isa_irqs[i], pci_isa_irqs[i],
				       MPS_INTI_ACTIVE_HIGH | MPS_INTI_LEVEL);

	/* NMI arrives on LINT1 of every processor. */
	put_le(b, MADT_LOCAL_APIC_NMI, 1);
	put_le(b, 6, 1);
	put_le(b, ALL_PROCESSORS_UID, 1);
	put_le(b, MPS_INTI_CONFORMS, 2);
	put_le(b, LINT1, 1);
	if (m->n_cpus > XAPIC_ID_LIMIT) {
		put_le(b, MADT_LOCAL_X2APIC_NMI, 1);
		put_le(b, 12, 1);
		put_le(b, MPS_INTI_CONFORMS, 2);
		put_le(b, ALL_PROCESSORS_X2APIC_UID, 4);
		put_le(b, LINT1, 1);
		put_zeros(b, 3);
	}
	table_end(b, start);
	return start;
}

/* RSDT (4-byte entries) or XSDT (8-byte entries) listing the tables. */
static guint build_root_table(GByteArray *b, const char *signature, unsigned entry_size,
			      const guint *tables, unsigned n_tables)
{
	guint start = table_begin(b, signature, 1);

	for (unsigned i = 0; i < n_tables; i++)
		put_le(b, tables[i], entry_size);
	table_end(b, start);
	return start;
}

/* Revision 2, pointing at both the RSDT (for SeaBIOS and ACPI 1.0 readers)
 * and the XSDT. */
static GByteArray *build_rsdp(guint rsdt, guint xsdt)
{
	GByteArray *b = g_byte_array_new();

	put_chars(b, "RSD PTR ", 8);
	put_le(b, 0, 1); /* checksum of the first 20 bytes */
	put_chars(b, HG_ACPI_OEM_ID, 6);
	put_le(b, 2, 1); /* revision */
	put_le(b, rsdt, 4);
	put_le(b, RSDP_LENGTH, 4);
	put_le(b, xsdt, 8);
	put_le(b, 0, 1); /* extended checksum */
	put_zeros(b, 3);
	g_assert(b->len == RSDP_LENGTH);
	return b;
}

static void checksum_table(HgTableLoader *loader, GByteArray *tables, guint start)
{
	hg_table_loader_add_checksum(loader, HG_ACPI_TABLES_FILE, start + HEADER_CHECKSUM_OFFSET,
				     start, table_length(tables, start));
}

static void link_root_table(HgTableLoader *loader, GByteArray *tables, guint root,
			    unsigned entry_size, unsigned n_entries)
{
	for (unsigned i = 0; i < n_entries; i++)
		hg_table_loader_add_pointer(loader, HG_ACPI_TABLES_FILE,
					    root + HEADER_LENGTH + i * entry_size,
					    (uint8_t)entry_size, HG_ACPI_TABLES_FILE);
	checksum_table(loader, tables, root);
}

static uint64_t align_up(uint64_t v, uint64_t alignment)
{
	return (v + alignment - 1) & ~(alignment - 1);
}

void hg_acpi_machine_init_pc(HgAcpiMachine *m, unsigned n_cpus, uint64_t ram_below_4g,
			     uint64_t ram_above_4g)
{
	uint64_t top = (4 * GIB) + ram_above_4g;

	memset(m, 0, sizeof(*m));
	m->n_cpus = n_cpus;
	m->pm_io_base = HG_ACPI_PM_IO_BASE;
	m->ram_below_4g = ram_below_4g;
	m->ram_above_4g = ram_above_4g;
	m->ioapic_id = 0;
	m->pci_mmio32_start = ram_below_4g;
	m->pci_mmio64_start = align_up(top, GIB);
	m->pci_mmio64_size = align_up(top, 32 * GIB) + 32 * GIB - m->pci_mmio64_start;
}

static bool machine_fail(GError **error, const char *message)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "ACPI tables: %s", message);
	return false;
}

bool hg_acpi_machine_check(const HgAcpiMachine *m, GError **error)
{
	uint64_t end64;

	if (m->n_cpus < 1 || m->n_cpus > HG_ACPI_MAX_CPUS)
		return machine_fail(error, "the CPU count must be between 1 and 4096");
	/* PMBA bits 15:6; clear of the legacy ports below 0x400, of the
	 * PCI configuration ports and of the GPE0 block. */
	if (m->pm_io_base % HG_ACPI_PM_IO_SIZE || m->pm_io_base < 0x400 ||
	    (m->pm_io_base <= 0xcff && m->pm_io_base + HG_ACPI_PM_IO_SIZE > 0xcf8) ||
	    (m->pm_io_base <= HG_ACPI_GPE0_BASE + HG_ACPI_GPE0_LENGTH - 1 &&
	     m->pm_io_base + HG_ACPI_PM_IO_SIZE > HG_ACPI_GPE0_BASE))
		return machine_fail(error, "the PM I/O base must be 64-byte aligned, from 0x400, "
					   "clear of 0xcf8-0xcff and of the GPE0 block");
	if (m->ram_below_4g < (1u << 20))
		return machine_fail(error, "less than 1 MiB of RAM below 4 GiB");
	if (m->ram_below_4g > HG_ACPI_PCI_MMIO32_END)
		return machine_fail(error, "RAM below 4 GiB reaches the IOAPIC");
	if (m->ram_below_4g > m->pci_mmio32_start)
		return machine_fail(error, "RAM below 4 GiB overlaps the PCI window");
	if (m->pci_mmio32_start >= HG_ACPI_PCI_MMIO32_END)
		return machine_fail(error, "the 32-bit PCI window is empty");
	if (m->ram_above_4g > HG_ACPI_MAX_RAM ||
	    m->ram_below_4g + m->ram_above_4g > HG_ACPI_MAX_RAM)
		return machine_fail(error, "more than 16 TiB of RAM");
	if (m->pci_mmio64_size) {
		end64 = m->pci_mmio64_start + m->pci_mmio64_size;
		if (m->pci_mmio64_start < (4 * GIB) + m->ram_above_4g ||
		    end64 < m->pci_mmio64_start || end64 > (1ULL << 52))
			return machine_fail(error, "the 64-bit PCI window overlaps RAM or "
						   "lies beyond 52 address bits");
	}
	return true;
}

bool hg_acpi_build(const HgAcpiMachine *m, HgAcpiBlobs *out, GError **error)
{
	g_autoptr(GByteArray) tables = g_byte_array_new();
	g_autoptr(GByteArray) rsdp = NULL;
	g_autoptr(HgTableLoader) loader = NULL;
	guint facs, dsdt, fadt, madt, rsdt, xsdt;
	guint listed[2];
	GBytes *script;

	memset(out, 0, sizeof(*out));
	if (!hg_acpi_machine_check(m, error))
		return false;

	facs = build_facs(tables);
	dsdt = build_dsdt(tables, m);
	fadt = build_fadt(tables, m, facs, dsdt);
	madt = build_madt(tables, m);
	listed[0] = fadt;
	listed[1] = madt;
	rsdt = build_root_table(tables, "RSDT", 4, listed, G_N_ELEMENTS(listed));
	xsdt = build_root_table(tables, "XSDT", 8, listed, G_N_ELEMENTS(listed));
	rsdp = build_rsdp(rsdt, xsdt);

	loader = hg_table_loader_new();
	hg_table_loader_allocate(loader, HG_ACPI_RSDP_FILE, rsdp->len, 16,
				 HG_TABLE_LOADER_ZONE_FSEG);
	hg_table_loader_allocate(loader, HG_ACPI_TABLES_FILE, tables->len, FACS_ALIGNMENT,
				 HG_TABLE_LOADER_ZONE_HIGH);

	checksum_table(loader, tables, dsdt);
	hg_table_loader_add_pointer(loader, HG_ACPI_TABLES_FILE, fadt + FADT_FIRMWARE_CTRL, 4,
				    HG_ACPI_TABLES_FILE);
	hg_table_loader_add_pointer(loader, HG_ACPI_TABLES_FILE, fadt + FADT_DSDT, 4,
				    HG_ACPI_TABLES_FILE);
	hg_table_loader_add_pointer(loader, HG_ACPI_TABLES_FILE, fadt + FADT_X_DSDT, 8,
				    HG_ACPI_TABLES_FILE);
	checksum_table(loader, tables, fadt);
	checksum_table(loader, tables, madt);
	link_root_table(loader, tables, rsdt, 4, G_N_ELEMENTS(listed));
	link_root_table(loader, tables, xsdt, 8, G_N_ELEMENTS(listed));

	hg_table_loader_add_pointer(loader, HG_ACPI_RSDP_FILE, RSDP_RSDT_OFFSET, 4,
				    HG_ACPI_TABLES_FILE);
	hg_table_loader_add_pointer(loader, HG_ACPI_RSDP_FILE, RSDP_XSDT_OFFSET, 8,
				    HG_ACPI_TABLES_FILE);
	/* The first checksum lies inside the extended one's range: first. */
	hg_table_loader_add_checksum(loader, HG_ACPI_RSDP_FILE, RSDP_CHECKSUM_OFFSET, 0,
				     RSDP_V1_LENGTH);
	hg_table_loader_add_checksum(loader, HG_ACPI_RSDP_FILE, RSDP_EXTENDED_CHECKSUM_OFFSET, 0,
				     RSDP_LENGTH);

	script = hg_table_loader_finish(loader, error);
	if (!script)
		return false;
	out->loader = script;
	out->tables = g_bytes_new(tables->data, tables->len);
	out->rsdp = g_bytes_new(rsdp->data, rsdp->len);
	return true;
}

void hg_acpi_blobs_clear(HgAcpiBlobs *blobs)
{
	g_clear_pointer(&blobs->tables, g_bytes_unref);
	g_clear_pointer(&blobs->rsdp, g_bytes_unref);
	g_clear_pointer(&blobs->loader, g_bytes_unref);
}

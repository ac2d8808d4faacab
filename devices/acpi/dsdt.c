/* The DSDT of the i440FX/PIIX PC.  In ASL it reads:
 *
 *   Scope (\_SB) {
 *     Device (PCI0) {                  PNP0A03, _UID 0, _BBN 0
 *       _CRS: buses 0-255, I/O 0-0xcf7 and 0xd00-0xffff (0xcf8-0xcff is the
 *             bridge's own), VGA memory 0xa0000-0xbffff, the 32-bit window
 *             up to 0xfebfffff, the 64-bit window if any
 *       _PRT: slots 1-31, pins A-D -> \_SB.LNKA-LNKD by the PIIX3 swizzle,
 *             00:01 INTA (the PM function) -> \_SB.LNKS (the SCI, IRQ 9)
 *       Device (ISA) {                 00:01.0, PIRQRC[A-D] as PRQ0-PRQ3
 *         RTC (PNP0B00), KBD (PNP0303), MOU (PNP0F13), COM1 (PNP0501) } }
 *     IQST, IQCR: a PIRQRC value as _STA and as an interrupt resource
 *     Device (LNKA..LNKD)              PNP0C0F over PRQ0-PRQ3, IRQ 5, 10, 11
 *     Device (LNKS)                    PNP0C0F, IRQ 9 only
 *     C000, C001, ...                  Processor () below UID 255, ACPI0007 above
 *   }
 *   Scope (\_GPE) { Name (_HID, "ACPI0006") }
 *   Name (\_S5, Package () {0, 0, 0, 0})
 *
 * This is the layout of QEMU's PIIX4 DSDT, which the guest operating
 * systems and both firmware have been run against for years.  SeaBIOS parses
 * the DSDT itself (src/fw/dsdt_parser.c) to find devices such as the PS/2
 * keyboard: outside method bodies it only knows Name, Scope, Device,
 * Method, Buffer, Package, OperationRegion, Field, Processor and integers up
 * to DWordConst, so the generator keeps to those there; and it reads at least
 * one term in every scope or device, so none is empty. */
#include "devices/acpi/dsdt.h"

#include "devices/acpi/aml.h"

#define PCI_SLOTS 32
#define PIRQ_LINKS 4
#define PIRQ_DISABLED 0x80 /* PIRQRC bit 7: routing disabled */
#define PIRQ_IRQ_MASK 0x0f
#define CPU_UID_XAPIC_LIMIT 255 /* Processor () takes a byte; 255 is "all" */

/* _STA values (6.3.7): present, enabled, functioning; or present and
 * functioning but not enabled (a link whose routing is off). */
#define STA_LINK_ENABLED 0x0b
#define STA_LINK_DISABLED 0x09

/* Extended interrupt descriptor: the first interrupt number sits after tag
 * (1), length (2), flags (1) and count (1). */
#define INTERRUPT_NUMBER_OFFSET 5

static const char *const pirq_field[PIRQ_LINKS] = {
	"\\_SB.PCI0.ISA.PRQ0",
	"\\_SB.PCI0.ISA.PRQ1",
	"\\_SB.PCI0.ISA.PRQ2",
	"\\_SB.PCI0.ISA.PRQ3",
};
static const char *const pirq_link[PIRQ_LINKS] = {"LNKA", "LNKB", "LNKC", "LNKD"};
static const uint32_t pirq_irqs[] = {5, 10, 11};

static void add_name(HgAml *scope, const char *name, HgAml *value)
{
	hg_aml_append(scope, hg_aml_name_decl(name, value));
}

static HgAml *pci_host_resources(const HgAcpiMachine *m)
{
	HgAml *rt = hg_aml_resource_template();

	hg_aml_append(rt, hg_aml_word_bus_number(0x00, 0xff));
	hg_aml_append(rt, hg_aml_io(0x0cf8, 0x0cf8, 0x01, 0x08));
	hg_aml_append(rt, hg_aml_word_io(0x0000, 0x0cf7));
	hg_aml_append(rt, hg_aml_word_io(0x0d00, 0xffff));
	hg_aml_append(rt, hg_aml_dword_memory(0x000a0000, 0x000bffff, HG_AML_CACHEABLE, true));
	hg_aml_append(rt, hg_aml_dword_memory((uint32_t)m->pci_mmio32_start, HG_ACPI_PCI_MMIO32_END,
					      HG_AML_NON_CACHEABLE, true));
	if (m->pci_mmio64_size)
		hg_aml_append(rt, hg_aml_qword_memory(m->pci_mmio64_start,
						      m->pci_mmio64_start + m->pci_mmio64_size - 1,
						      HG_AML_CACHEABLE, true));
	return rt;
}

/* Package () { Package () { 0xSSSSFFFF, pin, link, 0 }, ... } (6.2.13) */
static HgAml *pci_routing_table(void)
{
	HgAml *prt = hg_aml_package();

	for (unsigned slot = 1; slot < PCI_SLOTS; slot++) {
		for (unsigned pin = 0; pin < PIRQ_LINKS; pin++) {
			HgAml *entry = hg_aml_package();
			g_autofree char *link = NULL;

			if (slot == 1 && pin == 0)
				link = g_strdup("\\_SB.LNKS");
			else
				link = g_strdup_printf("\\_SB.%s",
						       pirq_link[(slot + pin - 1) % PIRQ_LINKS]);
			hg_aml_append(entry, hg_aml_int(((uint64_t)slot << 16) | 0xffff));
			hg_aml_append(entry, hg_aml_int(pin));
			hg_aml_append(entry, hg_aml_name(link));
			hg_aml_append(entry, hg_aml_int(0));
			hg_aml_append(prt, entry);
		}
	}
	return prt;
}

static HgAml *isa_device(const char *name, const char *hid, unsigned uid, HgAml *resources)
{
	HgAml *dev = hg_aml_device(name);

	add_name(dev, "_HID", hg_aml_eisaid(hid));
	if (uid)
		add_name(dev, "_UID", hg_aml_int(uid));
	add_name(dev, "_CRS", resources);
	return dev;
}

static HgAml *isa_bridge(void)
{
	HgAml *isa = hg_aml_device("ISA");
	HgAml *field, *rt;

	add_name(isa, "_ADR", hg_aml_int(0x00010000));
	hg_aml_append(isa, hg_aml_operation_region("P40C", HG_AML_PCI_CONFIG,
						   hg_aml_int(HG_ACPI_PIRQ_CONFIG_OFFSET),
						   hg_aml_int(PIRQ_LINKS)));
	field = hg_aml_field("P40C", HG_AML_BYTE_ACC, HG_AML_NO_LOCK, HG_AML_PRESERVE);
	for (unsigned i = 0; i < PIRQ_LINKS; i++) {
		char unit[5];

		g_snprintf(unit, sizeof(unit), "PRQ%u", i);
		hg_aml_field_unit(field, unit, 8);
	}
	hg_aml_append(isa, field);

	rt = hg_aml_resource_template();
	hg_aml_append(rt, hg_aml_io(0x0070, 0x0070, 0x01, 0x02));
	hg_aml_append(rt, hg_aml_irq_no_flags(8));
	hg_aml_append(isa, isa_device("RTC", "PNP0B00", 0, rt));

	rt = hg_aml_resource_template();
	hg_aml_append(rt, hg_aml_io(0x0060, 0x0060, 0x01, 0x01));
	hg_aml_append(rt, hg_aml_io(0x0064, 0x0064, 0x01, 0x01));
	hg_aml_append(rt, hg_aml_irq_no_flags(1));
	hg_aml_append(isa, isa_device("KBD", "PNP0303", 0, rt));

	rt = hg_aml_resource_template();
	hg_aml_append(rt, hg_aml_irq_no_flags(12));
	hg_aml_append(isa, isa_device("MOU", "PNP0F13", 0, rt));

	rt = hg_aml_resource_template();
	hg_aml_append(rt, hg_aml_io(0x03f8, 0x03f8, 0x01, 0x08));
	hg_aml_append(rt, hg_aml_irq_no_flags(4));
	hg_aml_append(isa, isa_device("COM1", "PNP0501", 1, rt));
	return isa;
}

static HgAml *pci_host_bridge(const HgAcpiMachine *m)
{
	HgAml *pci0 = hg_aml_device("PCI0");

	/* No _ADR: a device has _HID or _ADR, not both (6.1); the root
	 * bridge is found by its _HID, its bus by _BBN. */
	add_name(pci0, "_HID", hg_aml_eisaid("PNP0A03"));
	add_name(pci0, "_UID", hg_aml_int(0));
	add_name(pci0, "_BBN", hg_aml_int(0));
	add_name(pci0, "_CRS", pci_host_resources(m));
	add_name(pci0, "_PRT", pci_routing_table());
	hg_aml_append(pci0, isa_bridge());
	return pci0;
}

static HgAml *link_interrupt(const uint32_t *irqs, unsigned n_irqs)
{
	HgAml *rt = hg_aml_resource_template();

	hg_aml_append(rt, hg_aml_interrupt(HG_AML_LEVEL, HG_AML_ACTIVE_HIGH, true, irqs, n_irqs));
	return rt;
}

/* Method (IQST, 1) { If (And (Arg0, 0x80)) { Return (0x09) } Return (0x0b) } */
static HgAml *link_status_method(void)
{
	HgAml *method = hg_aml_method("IQST", 1, false);
	HgAml *disabled = hg_aml_if(hg_aml_and(hg_aml_arg(0), hg_aml_int(PIRQ_DISABLED), NULL));

	hg_aml_append(disabled, hg_aml_return(hg_aml_int(STA_LINK_DISABLED)));
	hg_aml_append(method, disabled);
	hg_aml_append(method, hg_aml_return(hg_aml_int(STA_LINK_ENABLED)));
	return method;
}

/* Method (IQCR, 1, Serialized) {
 *   Name (PRR0, ResourceTemplate () { Interrupt (...) { 0 } })
 *   CreateDWordField (PRR0, 5, PRRI)
 *   If (LNot (And (Arg0, 0x80))) { Store (And (Arg0, 0x0f), PRRI) }
 *   Return (PRR0) }
 * A disabled link reports interrupt 0, as QEMU's does. */
static HgAml *link_current_method(void)
{
	HgAml *method = hg_aml_method("IQCR", 1, true);
	const uint32_t none = 0;
	HgAml *enabled;

	add_name(method, "PRR0", link_interrupt(&none, 1));
	hg_aml_append(method,
		      hg_aml_create_dword_field(hg_aml_name("PRR0"),
						hg_aml_int(INTERRUPT_NUMBER_OFFSET), "PRRI"));
	enabled =
		hg_aml_if(hg_aml_lnot(hg_aml_and(hg_aml_arg(0), hg_aml_int(PIRQ_DISABLED), NULL)));
	hg_aml_append(enabled,
		      hg_aml_store(hg_aml_and(hg_aml_arg(0), hg_aml_int(PIRQ_IRQ_MASK), NULL),
				   hg_aml_name("PRRI")));
	hg_aml_append(method, enabled);
	hg_aml_append(method, hg_aml_return(hg_aml_name("PRR0")));
	return method;
}

static HgAml *call1(const char *method, HgAml *arg)
{
	HgAml *call = hg_aml_call(method);

	hg_aml_append(call, arg);
	return call;
}

static HgAml *pirq_link_device(unsigned i)
{
	HgAml *dev = hg_aml_device(pirq_link[i]);
	HgAml *method;

	add_name(dev, "_HID", hg_aml_eisaid("PNP0C0F"));
	add_name(dev, "_UID", hg_aml_int(i));
	add_name(dev, "_PRS", link_interrupt(pirq_irqs, G_N_ELEMENTS(pirq_irqs)));

	method = hg_aml_method("_STA", 0, false);
	hg_aml_append(method, hg_aml_return(call1("IQST", hg_aml_name(pirq_field[i]))));
	hg_aml_append(dev, method);

	method = hg_aml_method("_DIS", 0, false);
	hg_aml_append(method, hg_aml_or(hg_aml_name(pirq_field[i]), hg_aml_int(PIRQ_DISABLED),
					hg_aml_name(pirq_field[i])));
	hg_aml_append(dev, method);

	method = hg_aml_method("_CRS", 0, false);
	hg_aml_append(method, hg_aml_return(call1("IQCR", hg_aml_name(pirq_field[i]))));
	hg_aml_append(dev, method);

	/* Method (_SRS, 1) { CreateDWordField (Arg0, 5, PRRI)
	 *                    Store (PRRI, PRQn) } */
	method = hg_aml_method("_SRS", 1, false);
	hg_aml_append(method, hg_aml_create_dword_field(
				      hg_aml_arg(0), hg_aml_int(INTERRUPT_NUMBER_OFFSET), "PRRI"));
	hg_aml_append(method, hg_aml_store(hg_aml_name("PRRI"), hg_aml_name(pirq_field[i])));
	hg_aml_append(dev, method);
	return dev;
}

/* The PM function's interrupt is the SCI: fixed, nothing to set. */
static HgAml *sci_link_device(void)
{
	HgAml *dev = hg_aml_device("LNKS");
	const uint32_t sci = HG_ACPI_SCI_IRQ;
	HgAml *method;

	add_name(dev, "_HID", hg_aml_eisaid("PNP0C0F"));
	add_name(dev, "_UID", hg_aml_int(PIRQ_LINKS));
	add_name(dev, "_PRS", link_interrupt(&sci, 1));

	method = hg_aml_method("_STA", 0, false);
	hg_aml_append(method, hg_aml_return(hg_aml_int(STA_LINK_ENABLED)));
	hg_aml_append(dev, method);
	hg_aml_append(dev, hg_aml_method("_DIS", 0, false));
	method = hg_aml_method("_CRS", 0, false);
	hg_aml_append(method, hg_aml_return(hg_aml_name("_PRS")));
	hg_aml_append(dev, method);
	hg_aml_append(dev, hg_aml_method("_SRS", 1, false));
	return dev;
}

/* ACPI processor UIDs equal the APIC IDs and the MADT's UIDs.  Processor ()
 * is deprecated since ACPI 6.0 but is what QEMU's PC declares and what
 * every Windows understands; its ID is a byte, so CPUs from UID 255 on
 * (x2APIC in the MADT) are ACPI0007 processor devices. */
static HgAml *cpu_object(unsigned uid)
{
	char name[5];
	HgAml *dev;

	g_snprintf(name, sizeof(name), "C%03X", uid);
	if (uid < CPU_UID_XAPIC_LIMIT)
		return hg_aml_processor(name, (uint8_t)uid, 0, 0);
	dev = hg_aml_device(name);
	add_name(dev, "_HID", hg_aml_string("ACPI0007"));
	add_name(dev, "_UID", hg_aml_int(uid));
	return dev;
}

GByteArray *hg_acpi_dsdt_body(const HgAcpiMachine *m)
{
	HgAml *root = hg_aml_block();
	HgAml *sb = hg_aml_scope("\\_SB");
	HgAml *gpe, *s5;

	hg_aml_append(sb, pci_host_bridge(m));
	hg_aml_append(sb, link_status_method());
	hg_aml_append(sb, link_current_method());
	for (unsigned i = 0; i < PIRQ_LINKS; i++)
		hg_aml_append(sb, pirq_link_device(i));
	hg_aml_append(sb, sci_link_device());
	for (unsigned i = 0; i < m->n_cpus; i++)
		hg_aml_append(sb, cpu_object(i));
	hg_aml_append(root, sb);

	/* No GPE handlers yet.  Not left empty: SeaBIOS's parser reads one
	 * term past an empty scope; QEMU puts the GPE block's _HID here too. */
	gpe = hg_aml_scope("\\_GPE");
	add_name(gpe, "_HID", hg_aml_string("ACPI0006"));
	hg_aml_append(root, gpe);

	/* SLP_TYPa, SLP_TYPb, reserved, reserved (7.4.2) */
	s5 = hg_aml_package();
	for (int i = 0; i < 4; i++)
		hg_aml_append(s5, hg_aml_int(i < 2 ? HG_ACPI_SLP_TYP_S5 : 0));
	add_name(root, "\\_S5", s5);

	return hg_aml_steal_bytes(root);
}

/* PIIX3 PCI-to-ISA bridge, function 0 (Intel 82371SB PIIX3 datasheet, order
 * 290550: 2.2 PCI-to-ISA bridge configuration registers, 4.1.5 reset control
 * register).  8086:7000, class 0x060100, multi-function with the PIIX4 power
 * management function at .3.
 *
 * What is modelled:
 *   - PIRQRC[A:D] (0x60-0x63): the PCI core's PIRQ router.  Bit 7 disables
 *     the route, bits 3:0 name the ISA IRQ; 3-7, 9-12, 14 and 15 are valid,
 *     the reserved codes (0-2, 8, 13) route nowhere.
 *   - The registers firmware and operating systems write, stored with their
 *     datasheet reset values and no further effect: IORT (0x4C), XBCS
 *     (0x4E), TOM (0x69), MSTAT (0x6A), MBIRQ0 (0x70), MBDMA (0x76), PCSC
 *     (0x78), APICBASE (0x80), DLC (0x82, Linux sets passive release).
 *     Everything else above the header reads as zero, including the SMI
 *     registers (0xA0-0xAF): there is no SMM.
 *   - The reset control register at port 0xCF9 (byte access only): a write
 *     with RST_CPU (bit 2) resets the machine; SYS_RST (bit 1) and FULL_RST
 *     (bit 3) are stored and read back.  The ACPI FADT's RESET_REG points
 *     here with 0x06.
 *
 * Not here: the 8259 PICs, the 8254 PIT and ELCR (0x4D0/0x4D1) belong to
 * KVM's in-kernel irqchip and PIT (Linux arch/x86/kvm/i8259.c registers the
 * ELCR ports beside the PICs); the DMA controllers are absent.
 *
 * Threads: port and configuration handlers run on vCPU threads (or the
 * harness), reset/save/load on the main thread; always with
 * machine->device_lock held. */
#include "devices/pci/piix3.h"

#define PIIX3_PIRQRC 0x60
#define PIIX3_PIRQ_COUNT 4
#define PIIX3_PIRQRC_DISABLE 0x80
#define PIIX3_PIRQRC_IRQ 0x0f
/* ISA IRQs a PIRQ may drive: 3-7, 9-12, 14, 15. */
#define PIIX3_PIRQ_VALID_IRQS 0xdef8

#define PIIX3_RESET_CONTROL_PORT 0xcf9
#define RCR_SYS_RST 0x02
#define RCR_RST_CPU 0x04
#define RCR_FULL_RST 0x08
#define RCR_STORED (RCR_SYS_RST | RCR_FULL_RST)

/* PCICMD: I/O, memory and bus master are hardwired on (the bridge always
 * claims ISA cycles); special cycles and SERR# are writable.  PCISTS:
 * medium DEVSEL timing. */
#define PIIX3_COMMAND 0x0007
#define PIIX3_STATUS 0x0200

typedef struct {
	uint8_t offset;
	uint8_t reset;
	uint8_t wmask;
} Piix3Register;

static const Piix3Register piix3_registers[] = {
	{0x4c, 0x4d, 0xff}, /* IORT: ISA I/O recovery timer */
	{0x4e, 0x03, 0xff}, /* XBCS: X-bus chip select (RTC, keyboard, BIOS) */
	{0x4f, 0x00, 0xff}, /* XBCS, high byte */
	{0x60, 0x80, 0x8f}, /* PIRQRC[A]; bits 6:4 reserved */
	{0x61, 0x80, 0x8f}, /* PIRQRC[B] */
	{0x62, 0x80, 0x8f}, /* PIRQRC[C] */
	{0x63, 0x80, 0x8f}, /* PIRQRC[D] */
	{0x69, 0x02, 0xff}, /* TOM: top of memory */
	{0x6a, 0x00, 0xff}, /* MSTAT: miscellaneous status */
	{0x6b, 0x00, 0xff}, /* MSTAT, high byte */
	{0x70, 0x80, 0xff}, /* MBIRQ0: motherboard device IRQ route */
	{0x76, 0x0c, 0xff}, /* MBDMA0: motherboard device DMA */
	{0x77, 0x0c, 0xff}, /* MBDMA1 */
	{0x78, 0x02, 0xff}, /* PCSC: programmable chip select */
	{0x79, 0x00, 0xff}, /* PCSC, high byte */
	{0x80, 0x00, 0xff}, /* APICBASE: I/O APIC base relocation */
	{0x82, 0x00, 0xff}, /* DLC: deterministic latency control */
};

typedef struct {
	HgPciDevice pci;
	uint8_t reset_control;
} Piix3;

/* The PCI core asks where PIRQ A-D go. */
static int piix3_route_pirq(void *opaque, unsigned pirq)
{
	Piix3 *p = opaque;
	uint8_t route = p->pci.config[PIIX3_PIRQRC + pirq];
	unsigned irq = route & PIIX3_PIRQRC_IRQ;

	if (route & PIIX3_PIRQRC_DISABLE || !(PIIX3_PIRQ_VALID_IRQS & (1u << irq)))
		return -1;
	return (int)irq;
}

static void piix3_config_written(HgPciDevice *pd, unsigned offset, unsigned size, uint32_t value)
{
	if (offset < PIIX3_PIRQRC + PIIX3_PIRQ_COUNT && PIIX3_PIRQRC < offset + size)
		hg_pci_bus_pirq_routing_changed(pd->bus);
}

static uint64_t reset_control_read(void *opaque, uint64_t offset, unsigned size)
{
	Piix3 *p = opaque;
	return size == 1 ? p->reset_control : ~0ull;
}

static void reset_control_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	Piix3 *p = opaque;

	if (size != 1)
		return;
	p->reset_control = value & RCR_STORED;
	if (value & RCR_RST_CPU)
		hg_machine_request(p->pci.dev.machine, HG_GUEST_REQUEST_RESET, 0, "0xcf9 reset");
}

static const HgIoOps reset_control_ops = {.read = reset_control_read, .write = reset_control_write};

static void piix3_reset(HgDevice *dev)
{
	Piix3 *p = (Piix3 *)dev;

	hg_pci_device_reset(&p->pci);
	hg_pci_set_word(&p->pci, HG_PCI_COMMAND, PIIX3_COMMAND);
	hg_pci_set_word(&p->pci, HG_PCI_STATUS, PIIX3_STATUS);
	for (unsigned i = 0; i < G_N_ELEMENTS(piix3_registers); i++)
		p->pci.config[piix3_registers[i].offset] = piix3_registers[i].reset;
	p->reset_control = 0;
	if (p->pci.bus)
		hg_pci_bus_pirq_routing_changed(p->pci.bus);
}

static GVariant *piix3_save(HgDevice *dev)
{
	Piix3 *p = (Piix3 *)dev;
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	hg_pci_device_save(&p->pci, &b);
	g_variant_builder_add(&b, "{sv}", "reset-control", g_variant_new_byte(p->reset_control));
	return g_variant_builder_end(&b);
}

static bool piix3_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	Piix3 *p = (Piix3 *)dev;
	uint8_t reset_control;

	if (!hg_pci_device_load(&p->pci, r, error) ||
	    !hg_record_u8(r, "reset-control", &reset_control, error)) {
		if (error && *error && !g_str_has_prefix((*error)->message, dev->id))
			g_prefix_error(error, "%s: ", dev->id);
		return false;
	}
	if (reset_control & ~RCR_STORED) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: reset-control has bits that are never stored", dev->id);
		return false;
	}
	p->reset_control = reset_control;
	/* The devices behind the bridge load after it and re-assert their
	 * INTx on the routes set here. */
	hg_pci_bus_pirq_routing_changed(p->pci.bus);
	return true;
}

static void piix3_destroy(HgDevice *dev)
{
	Piix3 *p = (Piix3 *)dev;

	hg_address_space_unregister(&dev->machine->pio, PIIX3_RESET_CONTROL_PORT);
	/* The bus outlives this function (the host bridge owns it and goes
	 * last); leave it no route into freed memory. */
	if (p->pci.bus && p->pci.bus->route_pirq_data == p) {
		p->pci.bus->route_pirq = NULL;
		p->pci.bus->route_pirq_data = NULL;
	}
	hg_pci_device_finalize(&p->pci);
	g_free(p);
}

const HgDeviceClass hg_piix3_class = {
	.name = "piix3-isa-bridge",
	.bus = "pci",
	.state_version = 1,
	.reset = piix3_reset,
	.save = piix3_save,
	.load = piix3_load,
	.destroy = piix3_destroy,
};

HgDevice *hg_piix3_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, GError **error)
{
	Piix3 *p = g_new0(Piix3, 1);

	hg_pci_device_init(&p->pci, &hg_piix3_class, m, "piix3", 0x8086, 0x7000, 0x060100, 0x00, 0);
	p->pci.wmask[HG_PCI_COMMAND] = 0x08; /* special cycle enable */
	p->pci.wmask[HG_PCI_COMMAND + 1] = 0x01; /* SERR# enable */
	for (unsigned i = 0; i < G_N_ELEMENTS(piix3_registers); i++)
		p->pci.wmask[piix3_registers[i].offset] = piix3_registers[i].wmask;
	p->pci.config_written = piix3_config_written;
	piix3_reset(&p->pci.dev);
	if (!hg_address_space_register(&m->pio, PIIX3_RESET_CONTROL_PORT, 1, &reset_control_ops, p,
				       p->pci.dev.id)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "port 0x%x is taken",
			    PIIX3_RESET_CONTROL_PORT);
		hg_pci_device_finalize(&p->pci);
		g_free(p->pci.dev.id);
		g_free(p);
		return NULL;
	}
	if (!hg_pci_bus_plug(bus, &p->pci, devfn, error)) {
		hg_address_space_unregister(&m->pio, PIIX3_RESET_CONTROL_PORT);
		hg_pci_device_finalize(&p->pci);
		g_free(p->pci.dev.id);
		g_free(p);
		return NULL;
	}
	hg_pci_bus_set_pirq_router(bus, piix3_route_pirq, p);
	return &p->pci.dev;
}

/* PCI core: configuration space semantics, BAR decoding, INTx, MSI, MSI-X.
 * PCI Local Bus Specification 3.0: 6.1 (config space), 6.2.2-6.2.5 (command,
 * status, BARs and their sizing), 6.7 (capabilities list), 6.8.1 (MSI),
 * 6.8.2 (MSI-X).  See pci.h for the model. */
#include "devices/pci/pci.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/kvm.h"

#define BAR_IO_FLAG 0x1
#define BAR_MEM_TYPE_64 0x4
#define BAR_MEM_PREFETCH 0x8

/* MSI capability layout (6.8.1). */
#define MSI_CONTROL 2
#define MSI_CONTROL_ENABLE 0x0001
#define MSI_CONTROL_64BIT 0x0080
#define MSI_ADDRESS_LO 4
#define MSI_ADDRESS_HI 8

/* MSI-X (6.8.2). */
#define MSIX_CONTROL 2
#define MSIX_CONTROL_ENABLE 0x8000
#define MSIX_CONTROL_FUNCTION_MASK 0x4000
#define MSIX_TABLE 4
#define MSIX_PBA 8
#define MSIX_ENTRY_SIZE 16
#define MSIX_ENTRY_VECTOR_CONTROL 12
#define MSIX_VECTOR_MASKED 0x1
#define MSIX_MAX_VECTORS 2048

static bool ranges_overlap(unsigned a, unsigned alen, unsigned b, unsigned blen)
{
	return a < b + blen && b < a + alen;
}

static void pci_capabilities_written(HgPciDevice *pd, unsigned offset, unsigned size);

HgPciBus *hg_pci_bus_new(HgMachine *m)
{
	HgPciBus *bus = g_new0(HgPciBus, 1);
	bus->machine = m;
	for (unsigned i = 0; i < 4; i++)
		bus->routed_irq[i] = -1;
	return bus;
}

void hg_pci_bus_free(HgPciBus *bus)
{
	g_free(bus);
}

void hg_pci_bus_set_pirq_router(HgPciBus *bus, HgPciPirqRoute route, void *opaque)
{
	bus->route_pirq = route;
	bus->route_pirq_data = opaque;
	hg_pci_bus_pirq_routing_changed(bus);
}

/* An ISA IRQ is high while any PIRQ routed to it is asserted (level,
 * shared, as PCI interrupts are). */
static void pci_bus_update_irq(HgPciBus *bus, int irq)
{
	bool level = false;

	if (irq < 0)
		return;
	for (unsigned p = 0; p < 4; p++)
		if (bus->routed_irq[p] == irq && bus->pirq_asserted[p])
			level = true;
	hg_irq_set_level(bus->machine, irq, level);
}

void hg_pci_bus_pirq_routing_changed(HgPciBus *bus)
{
	for (unsigned p = 0; p < 4; p++) {
		int old = bus->routed_irq[p];
		int now = bus->route_pirq ? bus->route_pirq(bus->route_pirq_data, p) : -1;
		if (now >= HG_NUM_GSIS)
			now = -1;
		if (old == now)
			continue;
		bus->routed_irq[p] = now;
		pci_bus_update_irq(bus, old);
		pci_bus_update_irq(bus, now);
	}
}

/* The PIIX wiring of slots to PIRQs, which SeaBIOS, OVMF and the DSDT's
 * _PRT assume: slot s, pin INTx (0 = INTA) -> PIRQ (s - 1 + INTx) % 4. */
static unsigned pci_device_pirq(HgPciDevice *pd)
{
	unsigned intx = pd->config[HG_PCI_INTERRUPT_PIN] - 1;
	return ((pd->devfn >> 3) + 3 + intx) & 3;
}

void hg_pci_set_intx(HgPciDevice *pd, bool level)
{
	HgPciBus *bus = pd->bus;
	bool drive;
	uint16_t status;

	if (!bus || !pd->config[HG_PCI_INTERRUPT_PIN])
		return;
	pd->intx_level = level;
	/* Status.Interrupt shows the device's request even when masked. */
	status = hg_pci_get_word(pd, HG_PCI_STATUS);
	hg_pci_set_word(pd, HG_PCI_STATUS, level ? status | HG_PCI_STATUS_INTERRUPT
						 : status & ~HG_PCI_STATUS_INTERRUPT);
	drive = level && !(hg_pci_get_word(pd, HG_PCI_COMMAND) & HG_PCI_COMMAND_INTX_DISABLE);
	unsigned pirq = pci_device_pirq(pd);
	if (drive == pd->intx_counted)
		return;
	pd->intx_counted = drive;
	if (drive)
		bus->pirq_asserted[pirq]++;
	else
		bus->pirq_asserted[pirq]--;
	pci_bus_update_irq(bus, bus->routed_irq[pirq]);
}

/* ---- BARs ---- */

static uint64_t pci_bar_address(HgPciDevice *pd, unsigned n)
{
	uint32_t lo = hg_pci_get_long(pd, HG_PCI_BAR0 + 4 * n);
	HgPciBar *bar = &pd->bars[n];

	if (bar->type == HG_PCI_BAR_IO)
		return lo & ~0x3u;
	if (bar->type == HG_PCI_BAR_MEM64)
		return (lo & ~0xfull) | (uint64_t)hg_pci_get_long(pd, HG_PCI_BAR0 + 4 * n + 4) << 32;
	return lo & ~0xfu;
}

static void pci_bar_unmap(HgPciDevice *pd, unsigned n)
{
	HgPciBar *bar = &pd->bars[n];
	HgMachine *m = pd->dev.machine;

	if (!bar->mapped)
		return;
	hg_address_space_unregister(bar->type == HG_PCI_BAR_IO ? &m->pio : &m->mmio,
				    bar->mapped_at);
	bar->mapped = false;
}

static void pci_bar_moved(HgPciDevice *pd, unsigned n)
{
	HgPciBar *bar = &pd->bars[n];

	if (pd->bar_moved)
		pd->bar_moved(pd, n, bar->mapped, bar->mapped ? bar->mapped_at : 0);
}

/* Decode each BAR where the command register and its address say; an
 * address that overlaps something else stays undecoded (the guest's
 * mistake, logged at debug level). */
static void pci_update_mappings(HgPciDevice *pd)
{
	uint16_t command = hg_pci_get_word(pd, HG_PCI_COMMAND);
	HgMachine *m = pd->dev.machine;

	for (unsigned n = 0; n < HG_PCI_NUM_BARS; n++) {
		HgPciBar *bar = &pd->bars[n];
		bool io = bar->type == HG_PCI_BAR_IO;
		bool was_mapped = bar->mapped;
		uint64_t was_at = bar->mapped_at;
		bool enabled;
		uint64_t addr;

		if (!bar->size)
			continue;
		addr = pci_bar_address(pd, n);
		enabled = (command & (io ? HG_PCI_COMMAND_IO : HG_PCI_COMMAND_MEMORY)) && addr &&
			  addr + bar->size - 1 > addr && (!io || addr + bar->size <= 0x10000);
		if (bar->mapped && (!enabled || addr != bar->mapped_at))
			pci_bar_unmap(pd, n);
		if (enabled && !bar->mapped) {
			if (hg_address_space_register(io ? &m->pio : &m->mmio, addr, bar->size,
						      bar->ops, bar->opaque, pd->dev.id)) {
				bar->mapped = true;
				bar->mapped_at = addr;
			} else {
				g_debug("%s: BAR%u at 0x%" G_GINT64_MODIFIER "x overlaps; not decoded",
					pd->dev.id, n, addr);
			}
		}
		if (bar->mapped != was_mapped || (bar->mapped && bar->mapped_at != was_at))
			pci_bar_moved(pd, n);
	}
}

void hg_pci_register_bar(HgPciDevice *pd, unsigned n, HgPciBarType type, bool prefetchable,
			 uint64_t size, const HgIoOps *ops, void *opaque)
{
	HgPciBar *bar = &pd->bars[n];
	unsigned off = HG_PCI_BAR0 + 4 * n;
	uint64_t mask;
	uint32_t flags;

	g_assert(n < HG_PCI_NUM_BARS && size && (size & (size - 1)) == 0);
	g_assert(type != HG_PCI_BAR_MEM64 || n + 1 < HG_PCI_NUM_BARS);
	if (type == HG_PCI_BAR_IO && size < 4)
		size = 4;
	if (type != HG_PCI_BAR_IO && size < 16)
		size = 16;
	*bar = (HgPciBar){type, prefetchable, size, ops, opaque, 0, false};
	flags = type == HG_PCI_BAR_IO ? BAR_IO_FLAG
				      : (type == HG_PCI_BAR_MEM64 ? BAR_MEM_TYPE_64 : 0) |
						(prefetchable ? BAR_MEM_PREFETCH : 0);
	mask = ~(size - 1);
	hg_pci_set_long(pd, off, flags);
	/* Sizing (6.2.5.1): writing all ones reads back the size mask; the
	 * flag bits are read-only. */
	pd->wmask[off] = (uint8_t)(mask & (type == HG_PCI_BAR_IO ? 0xfc : 0xf0));
	pd->wmask[off + 1] = (uint8_t)(mask >> 8);
	pd->wmask[off + 2] = (uint8_t)(mask >> 16);
	pd->wmask[off + 3] = (uint8_t)(mask >> 24);
	if (type == HG_PCI_BAR_IO) {
		/* I/O space is 64 KiB: upper bits read as zero. */
		pd->wmask[off + 2] = pd->wmask[off + 3] = 0;
	}
	if (type == HG_PCI_BAR_MEM64) {
		pd->bars[n + 1] = (HgPciBar){HG_PCI_BAR_NONE};
		for (unsigned i = 0; i < 4; i++)
			pd->wmask[off + 4 + i] = (uint8_t)(mask >> (32 + 8 * i));
	}
}

/* ---- configuration space ---- */

void hg_pci_device_init(HgPciDevice *pd, const HgDeviceClass *klass, HgMachine *m,
			const char *id, uint16_t vendor, uint16_t device, uint32_t class_code,
			uint8_t revision, uint8_t interrupt_pin)
{
	hg_device_init(&pd->dev, klass, m, id);
	memset(pd->config, 0, sizeof(pd->config));
	memset(pd->wmask, 0, sizeof(pd->wmask));
	memset(pd->w1cmask, 0, sizeof(pd->w1cmask));
	hg_pci_set_word(pd, HG_PCI_VENDOR_ID, vendor);
	hg_pci_set_word(pd, HG_PCI_DEVICE_ID, device);
	pd->config[HG_PCI_REVISION] = revision;
	pd->config[HG_PCI_CLASS_PROG] = class_code & 0xff;
	pd->config[HG_PCI_CLASS_PROG + 1] = (class_code >> 8) & 0xff;
	pd->config[HG_PCI_CLASS_PROG + 2] = (class_code >> 16) & 0xff;
	pd->config[HG_PCI_INTERRUPT_PIN] = interrupt_pin;
	/* Command: I/O, memory, bus master, SERR#, INTx disable are writable;
	 * status: the error bits are write-1-to-clear. */
	hg_pci_set_word(pd, HG_PCI_COMMAND, 0);
	pd->wmask[HG_PCI_COMMAND] = 0x47; /* IO, MEM, MASTER, PARITY (bit 6) */
	pd->wmask[HG_PCI_COMMAND + 1] = 0x05; /* SERR (bit 8), INTX_DISABLE (bit 10) */
	pd->w1cmask[HG_PCI_STATUS + 1] = 0xf9; /* parity, target/master aborts, SERR, DPE */
	pd->wmask[0x0c] = 0xff; /* cache line size */
	pd->wmask[0x0d] = 0xff; /* latency timer */
	pd->wmask[HG_PCI_INTERRUPT_LINE] = 0xff;
	pd->next_capability = 0x40;
}

bool hg_pci_bus_plug(HgPciBus *bus, HgPciDevice *pd, uint8_t devfn, GError **error)
{
	if (bus->devices[devfn]) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "PCI %02x.%x is taken by %s; %s cannot go there", devfn >> 3,
			    devfn & 7, bus->devices[devfn]->dev.id, pd->dev.id);
		return false;
	}
	pd->bus = bus;
	pd->devfn = devfn;
	bus->devices[devfn] = pd;
	/* A multi-function device says so in function 0's header type. */
	if (devfn & 7) {
		HgPciDevice *f0 = bus->devices[devfn & ~7];
		if (f0)
			f0->config[HG_PCI_HEADER_TYPE] |= 0x80;
	} else {
		for (unsigned fn = 1; fn < 8; fn++)
			if (bus->devices[devfn | fn])
				pd->config[HG_PCI_HEADER_TYPE] |= 0x80;
	}
	hg_machine_add_device(bus->machine, &pd->dev);
	return true;
}

uint8_t hg_pci_add_capability(HgPciDevice *pd, uint8_t id, uint8_t len)
{
	uint8_t at = pd->next_capability;

	g_assert(at + len <= HG_PCI_CONFIG_SIZE && len >= 2);
	pd->config[at] = id;
	pd->config[at + 1] = pd->config[HG_PCI_CAPABILITY_LIST];
	pd->config[HG_PCI_CAPABILITY_LIST] = at;
	hg_pci_set_word(pd, HG_PCI_STATUS,
			hg_pci_get_word(pd, HG_PCI_STATUS) | HG_PCI_STATUS_CAP_LIST);
	pd->next_capability = (at + len + 3) & ~3;
	return at;
}

uint32_t hg_pci_bus_config_read(HgPciBus *bus, uint8_t devfn, unsigned offset, unsigned size)
{
	HgPciDevice *pd = bus->devices[devfn];
	uint32_t value = 0;

	if (!pd || offset + size > HG_PCI_CONFIG_SIZE)
		return size == 4 ? 0xffffffff : (1u << (8 * size)) - 1;
	if (pd->config_read && pd->config_read(pd, offset, size, &value))
		return value;
	memcpy(&value, pd->config + offset, size);
	return value;
}

void hg_pci_bus_config_write(HgPciBus *bus, uint8_t devfn, unsigned offset, unsigned size,
			     uint32_t value)
{
	HgPciDevice *pd = bus->devices[devfn];
	uint16_t old_command;

	if (!pd || offset + size > HG_PCI_CONFIG_SIZE)
		return;
	old_command = hg_pci_get_word(pd, HG_PCI_COMMAND);
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = value >> (8 * i);
		unsigned o = offset + i;
		pd->config[o] = (pd->config[o] & ~pd->wmask[o]) | (b & pd->wmask[o]);
		pd->config[o] &= ~(b & pd->w1cmask[o]);
	}
	if (ranges_overlap(offset, size, HG_PCI_COMMAND, 2) ||
	    ranges_overlap(offset, size, HG_PCI_BAR0, 4 * HG_PCI_NUM_BARS))
		pci_update_mappings(pd);
	if ((old_command ^ hg_pci_get_word(pd, HG_PCI_COMMAND)) & HG_PCI_COMMAND_INTX_DISABLE)
		hg_pci_set_intx(pd, pd->intx_level);
	pci_capabilities_written(pd, offset, size);
	if (pd->config_written)
		pd->config_written(pd, offset, size, value);
}

/* ---- MSI ---- */

bool hg_pci_add_msi(HgPciDevice *pd, unsigned vectors_log2, bool bits64)
{
	uint8_t cap = hg_pci_add_capability(pd, HG_PCI_CAP_ID_MSI, bits64 ? 14 : 10);
	uint16_t control = (vectors_log2 & 7) << 1 | (bits64 ? MSI_CONTROL_64BIT : 0);

	pd->msi_cap = cap;
	hg_pci_set_word(pd, cap + MSI_CONTROL, control);
	pd->wmask[cap + MSI_CONTROL] = 0x71; /* enable, multiple message enable */
	for (unsigned i = 0; i < 4; i++)
		pd->wmask[cap + MSI_ADDRESS_LO + i] = i ? 0xff : 0xfc;
	if (bits64)
		memset(pd->wmask + cap + MSI_ADDRESS_HI, 0xff, 4);
	memset(pd->wmask + cap + (bits64 ? 12 : 8), 0xff, 2);
	return true;
}

bool hg_pci_msi_enabled(HgPciDevice *pd)
{
	return pd->msi_cap && (hg_pci_get_word(pd, pd->msi_cap + MSI_CONTROL) & MSI_CONTROL_ENABLE);
}

static void pci_msi_send(HgPciDevice *pd, unsigned vector)
{
	uint8_t cap = pd->msi_cap;
	uint16_t control = hg_pci_get_word(pd, cap + MSI_CONTROL);
	bool bits64 = control & MSI_CONTROL_64BIT;
	unsigned count = 1u << ((control >> 4) & 7);
	uint64_t address = hg_pci_get_long(pd, cap + MSI_ADDRESS_LO);
	uint16_t data = hg_pci_get_word(pd, cap + (bits64 ? 12 : 8));

	if (vector >= count)
		return;
	if (bits64)
		address |= (uint64_t)hg_pci_get_long(pd, cap + MSI_ADDRESS_HI) << 32;
	/* Multiple messages: the low bits of data carry the vector (6.8.3.4). */
	data = (data & ~(count - 1)) | vector;
	hg_machine_send_msi(pd->dev.machine, address, data);
}

/* ---- MSI-X ---- */

bool hg_pci_add_msix(HgPciDevice *pd, uint16_t vectors, unsigned table_bar,
		     uint32_t table_offset, unsigned pba_bar, uint32_t pba_offset)
{
	uint8_t cap;

	g_assert(vectors >= 1 && vectors <= MSIX_MAX_VECTORS);
	g_assert(!(table_offset & 7) && !(pba_offset & 7));
	cap = hg_pci_add_capability(pd, HG_PCI_CAP_ID_MSIX, 12);
	pd->msix_cap = cap;
	pd->msix_vectors = vectors;
	pd->msix_table = g_malloc0(vectors * MSIX_ENTRY_SIZE);
	pd->msix_pending = g_new0(uint64_t, (vectors + 63) / 64);
	for (unsigned v = 0; v < vectors; v++)
		pd->msix_table[v][MSIX_ENTRY_VECTOR_CONTROL] = MSIX_VECTOR_MASKED;
	hg_pci_set_word(pd, cap + MSIX_CONTROL, vectors - 1);
	pd->wmask[cap + MSIX_CONTROL + 1] = 0xc0; /* enable, function mask */
	hg_pci_set_long(pd, cap + MSIX_TABLE, table_offset | table_bar);
	hg_pci_set_long(pd, cap + MSIX_PBA, pba_offset | pba_bar);
	return true;
}

bool hg_pci_msix_enabled(HgPciDevice *pd)
{
	return pd->msix_cap &&
	       (hg_pci_get_word(pd, pd->msix_cap + MSIX_CONTROL) & MSIX_CONTROL_ENABLE);
}

static bool msix_vector_masked(HgPciDevice *pd, unsigned v)
{
	uint16_t control = hg_pci_get_word(pd, pd->msix_cap + MSIX_CONTROL);
	return (control & MSIX_CONTROL_FUNCTION_MASK) ||
	       (pd->msix_table[v][MSIX_ENTRY_VECTOR_CONTROL] & MSIX_VECTOR_MASKED);
}

static void msix_message(HgPciDevice *pd, unsigned v, uint64_t *address, uint32_t *data)
{
	uint32_t lo, hi;

	memcpy(&lo, pd->msix_table[v], 4);
	memcpy(&hi, pd->msix_table[v] + 4, 4);
	memcpy(data, pd->msix_table[v] + 8, 4);
	*address = (uint64_t)hi << 32 | lo;
}

static void msix_send(HgPciDevice *pd, unsigned v)
{
	uint64_t address;
	uint32_t data;

	msix_message(pd, v, &address, &data);
	hg_machine_send_msi(pd->dev.machine, address, data);
}

/* ---- MSI-X through irqfds ----
 *
 * A wanted vector keeps its MSI route from the first time it is enabled and
 * unmasked until the device stops using it; the irqfd is bound only while
 * the vector is enabled and unmasked, so that a masked vector's interrupts
 * take the pending-bit path.  Any failure (routing table full) leaves the
 * vector on KVM_SIGNAL_MSI, which works the same, only slower. */

static void msix_irqfd_unbind(HgPciDevice *pd, HgPciMsixIrqfd *f)
{
	if (!f->bound)
		return;
	hg_kvm_remove_irqfd(pd->dev.machine->kvm, f->gsi, f->fd);
	f->bound = false;
}

static void msix_irqfd_sync(HgPciDevice *pd, unsigned v)
{
	HgKvm *kvm = pd->dev.machine->kvm;
	HgPciMsixIrqfd *f;
	uint64_t address, count;
	uint32_t data;
	int err;

	if (!pd->msix_irqfds || v >= pd->msix_vectors)
		return;
	f = &pd->msix_irqfds[v];
	if (!f->wanted || !hg_pci_msix_enabled(pd) || msix_vector_masked(pd, v)) {
		msix_irqfd_unbind(pd, f);
		if (!f->wanted && f->gsi >= 0) {
			hg_kvm_msi_route_remove(kvm, f->gsi);
			f->gsi = -1;
		}
		return;
	}
	msix_message(pd, v, &address, &data);
	if (f->gsi < 0) {
		err = hg_kvm_msi_route_add(kvm, address, data);
		if (err >= 0)
			f->gsi = err;
	} else {
		err = hg_kvm_msi_route_update(kvm, f->gsi, address, data);
	}
	if (err < 0) {
		/* The route would send a stale message: deliver by hand. */
		g_debug("%s: MSI-X vector %u: no MSI route (%s); signalled by ioctl", pd->dev.id,
			v, g_strerror(-err));
		msix_irqfd_unbind(pd, f);
		return;
	}
	if (f->bound)
		return;
	if (f->fd < 0)
		f->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->fd < 0)
		return;
	/* KVM injects at once when the eventfd is already signalled. */
	(void)!read(f->fd, &count, sizeof(count));
	f->bound = hg_kvm_add_irqfd(kvm, f->gsi, f->fd);
	if (!f->bound)
		g_debug("%s: MSI-X vector %u: KVM_IRQFD: %s", pd->dev.id, v, g_strerror(errno));
}

static void msix_irqfd_sync_all(HgPciDevice *pd)
{
	for (unsigned v = 0; pd->msix_irqfds && v < pd->msix_vectors; v++)
		msix_irqfd_sync(pd, v);
}

void hg_pci_msix_use_irqfd(HgPciDevice *pd, unsigned vector, bool use)
{
	if (!pd->dev.machine->kvm || !pd->msix_cap || vector >= pd->msix_vectors)
		return;
	if (!pd->msix_irqfds) {
		if (!use)
			return;
		pd->msix_irqfds = g_new0(HgPciMsixIrqfd, pd->msix_vectors);
		for (unsigned v = 0; v < pd->msix_vectors; v++)
			pd->msix_irqfds[v].fd = pd->msix_irqfds[v].gsi = -1;
	}
	pd->msix_irqfds[vector].wanted = use;
	msix_irqfd_sync(pd, vector);
}

/* Through the irqfd when bound; false leaves it to msix_send. */
static bool msix_irqfd_signal(HgPciDevice *pd, unsigned v)
{
	uint64_t one = 1;

	if (!pd->msix_irqfds || !pd->msix_irqfds[v].bound)
		return false;
	return write(pd->msix_irqfds[v].fd, &one, sizeof(one)) == sizeof(one);
}

/* Deliver what became unmasked while pending (6.8.2.9). */
static void msix_deliver_pending(HgPciDevice *pd)
{
	if (!hg_pci_msix_enabled(pd))
		return;
	for (unsigned v = 0; v < pd->msix_vectors; v++) {
		uint64_t bit = 1ull << (v % 64);
		if ((pd->msix_pending[v / 64] & bit) && !msix_vector_masked(pd, v)) {
			pd->msix_pending[v / 64] &= ~bit;
			msix_send(pd, v);
		}
	}
}

uint64_t hg_msix_table_read(HgPciDevice *pd, uint64_t offset, unsigned size)
{
	uint64_t value = 0;

	if (!pd->msix_cap || (size != 4 && size != 8) || offset % size ||
	    offset + size > (uint64_t)pd->msix_vectors * MSIX_ENTRY_SIZE)
		return 0;
	memcpy(&value, (uint8_t *)pd->msix_table + offset, size);
	return value;
}

void hg_msix_table_write(HgPciDevice *pd, uint64_t offset, unsigned size, uint64_t value)
{
	if (!pd->msix_cap || (size != 4 && size != 8) || offset % size ||
	    offset + size > (uint64_t)pd->msix_vectors * MSIX_ENTRY_SIZE)
		return;
	for (unsigned i = 0; i < size; i += 4) {
		uint64_t o = offset + i;
		uint32_t dword = value >> (8 * i);
		uint8_t *entry = pd->msix_table[o / MSIX_ENTRY_SIZE];
		unsigned field = o % MSIX_ENTRY_SIZE;
		if (field == 0)
			dword &= ~3u; /* message address is dword aligned */
		if (field == MSIX_ENTRY_VECTOR_CONTROL)
			dword &= MSIX_VECTOR_MASKED; /* the other bits are reserved */
		memcpy(entry + field, &dword, 4);
	}
	msix_irqfd_sync(pd, offset / MSIX_ENTRY_SIZE);
	msix_deliver_pending(pd);
}

uint64_t hg_msix_pba_read(HgPciDevice *pd, uint64_t offset, unsigned size)
{
	uint64_t value = 0;
	size_t len = (pd->msix_vectors + 63) / 64 * 8;

	if (!pd->msix_cap || (size != 4 && size != 8) || offset % size || offset + size > len)
		return 0;
	memcpy(&value, (uint8_t *)pd->msix_pending + offset, size);
	return value;
}

void hg_pci_notify(HgPciDevice *pd, unsigned vector)
{
	if (hg_pci_msix_enabled(pd)) {
		if (vector >= pd->msix_vectors)
			return;
		if (msix_vector_masked(pd, vector))
			pd->msix_pending[vector / 64] |= 1ull << (vector % 64);
		else if (!msix_irqfd_signal(pd, vector))
			msix_send(pd, vector);
		return;
	}
	if (hg_pci_msi_enabled(pd))
		pci_msi_send(pd, vector);
}

/* Config writes that touch the MSI-X control word may unmask vectors. */
static void pci_capabilities_written(HgPciDevice *pd, unsigned offset, unsigned size)
{
	if (pd->msix_cap && ranges_overlap(offset, size, pd->msix_cap + MSIX_CONTROL, 2)) {
		msix_irqfd_sync_all(pd);
		msix_deliver_pending(pd);
	}
}

/* ---- reset, save, load ---- */

void hg_pci_device_reset(HgPciDevice *pd)
{
	for (unsigned n = 0; n < HG_PCI_NUM_BARS; n++) {
		if (!pd->bars[n].mapped)
			continue;
		pci_bar_unmap(pd, n);
		pci_bar_moved(pd, n);
	}
	hg_pci_set_intx(pd, false);
	hg_pci_set_word(pd, HG_PCI_COMMAND, 0);
	hg_pci_set_word(pd, HG_PCI_STATUS,
			hg_pci_get_word(pd, HG_PCI_STATUS) & HG_PCI_STATUS_CAP_LIST);
	pd->config[0x0c] = pd->config[0x0d] = 0;
	pd->config[HG_PCI_INTERRUPT_LINE] = 0;
	for (unsigned n = 0; n < HG_PCI_NUM_BARS; n++) {
		unsigned off = HG_PCI_BAR0 + 4 * n;
		/* Keep the read-only type bits, clear the address. */
		for (unsigned i = 0; i < 4; i++)
			pd->config[off + i] &= ~pd->wmask[off + i];
	}
	if (pd->msi_cap) {
		uint8_t cap = pd->msi_cap;
		for (unsigned o = cap + 2; o < cap + 14u && o < HG_PCI_CONFIG_SIZE; o++)
			pd->config[o] &= ~pd->wmask[o];
	}
	if (pd->msix_cap) {
		pd->config[pd->msix_cap + MSIX_CONTROL + 1] &= ~0xc0;
		memset(pd->msix_table, 0, pd->msix_vectors * MSIX_ENTRY_SIZE);
		for (unsigned v = 0; v < pd->msix_vectors; v++)
			pd->msix_table[v][MSIX_ENTRY_VECTOR_CONTROL] = MSIX_VECTOR_MASKED;
		memset(pd->msix_pending, 0, (pd->msix_vectors + 63) / 64 * 8);
		msix_irqfd_sync_all(pd); /* all masked now: unbound */
	}
}

void hg_pci_device_finalize(HgPciDevice *pd)
{
	for (unsigned v = 0; pd->msix_irqfds && v < pd->msix_vectors; v++) {
		HgPciMsixIrqfd *f = &pd->msix_irqfds[v];
		f->wanted = false;
		msix_irqfd_sync(pd, v);
		if (f->fd >= 0)
			close(f->fd);
	}
	g_free(pd->msix_irqfds);
	g_free(pd->msix_table);
	g_free(pd->msix_pending);
	pd->msix_irqfds = NULL;
	pd->msix_table = NULL;
	pd->msix_pending = NULL;
}

void hg_pci_device_save(HgPciDevice *pd, GVariantBuilder *b)
{
	g_variant_builder_add(b, "{sv}", "pci-config",
			      hg_bytes_variant(pd->config, sizeof(pd->config)));
	g_variant_builder_add(b, "{sv}", "pci-intx-level", g_variant_new_boolean(pd->intx_level));
	if (pd->msix_cap) {
		g_variant_builder_add(b, "{sv}", "msix-table",
				      hg_bytes_variant(pd->msix_table,
						       pd->msix_vectors * MSIX_ENTRY_SIZE));
		g_variant_builder_add(b, "{sv}", "msix-pending",
				      hg_bytes_variant(pd->msix_pending,
						       (pd->msix_vectors + 63) / 64 * 8));
	}
}

bool hg_pci_device_load(HgPciDevice *pd, GVariantDict *r, GError **error)
{
	uint8_t config[HG_PCI_CONFIG_SIZE];
	bool intx;

	if (!hg_record_bytes(r, "pci-config", config, sizeof(config), error) ||
	    !hg_record_bool(r, "pci-intx-level", &intx, error))
		return false;
	/* What the guest cannot write must be what this device is: a record
	 * of another device or another configuration is refused. */
	for (unsigned o = 0; o < HG_PCI_CONFIG_SIZE; o++) {
		uint8_t fixed = ~pd->wmask[o] & ~pd->w1cmask[o];
		if (o == HG_PCI_STATUS || o == HG_PCI_HEADER_TYPE)
			continue; /* interrupt status; multi-function bit */
		if ((config[o] ^ pd->config[o]) & fixed) {
			g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
				    "%s: saved PCI config differs in read-only byte 0x%02x",
				    pd->dev.id, o);
			return false;
		}
	}
	if (pd->msix_cap) {
		if (!hg_record_bytes(r, "msix-table", pd->msix_table,
				     pd->msix_vectors * MSIX_ENTRY_SIZE, error) ||
		    !hg_record_bytes(r, "msix-pending", pd->msix_pending,
				     (pd->msix_vectors + 63) / 64 * 8, error))
			return false;
	}
	memcpy(pd->config, config, sizeof(config));
	msix_irqfd_sync_all(pd);
	pci_update_mappings(pd);
	for (unsigned n = 0; n < HG_PCI_NUM_BARS; n++)
		if (pd->bars[n].size)
			pci_bar_moved(pd, n);
	pd->intx_counted = false;
	hg_pci_set_intx(pd, intx);
	return true;
}

/* Conventional PCI: a bus, its devices' configuration space, BARs that the
 * guest sizes and moves, INTx through the chipset's PIRQ routing, MSI and
 * MSI-X (PCI Local Bus Specification 3.0, chapter 6; MSI/MSI-X: 6.8).
 *
 * A PCI device model embeds HgPciDevice first (which embeds HgDevice), sets
 * its identity with hg_pci_device_init, registers BARs, and plugs itself in
 * with hg_pci_bus_plug.  The core handles the header's generic behaviour:
 * read-only and write-1-to-clear bits (per-byte masks), BAR sizing and
 * mapping into the machine's address spaces when the command register
 * enables decoding, the capability list, the interrupt pin and line.
 *
 * Threads: everything here runs with machine->device_lock held. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"

#define HG_PCI_CONFIG_SIZE 256
#define HG_PCI_NUM_BARS 6
#define HG_PCI_DEVFN(slot, fn) ((uint8_t)(((slot) << 3) | (fn)))

/* Header registers (PCI 3.0, 6.2). */
#define HG_PCI_VENDOR_ID 0x00
#define HG_PCI_DEVICE_ID 0x02
#define HG_PCI_COMMAND 0x04
#define HG_PCI_STATUS 0x06
#define HG_PCI_REVISION 0x08
#define HG_PCI_CLASS_PROG 0x09
#define HG_PCI_HEADER_TYPE 0x0e
#define HG_PCI_BAR0 0x10
#define HG_PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define HG_PCI_SUBSYSTEM_ID 0x2e
#define HG_PCI_ROM_ADDRESS 0x30
#define HG_PCI_CAPABILITY_LIST 0x34
#define HG_PCI_INTERRUPT_LINE 0x3c
#define HG_PCI_INTERRUPT_PIN 0x3d

#define HG_PCI_COMMAND_IO 0x0001
#define HG_PCI_COMMAND_MEMORY 0x0002
#define HG_PCI_COMMAND_MASTER 0x0004
#define HG_PCI_COMMAND_INTX_DISABLE 0x0400
#define HG_PCI_STATUS_INTERRUPT 0x0008
#define HG_PCI_STATUS_CAP_LIST 0x0010

#define HG_PCI_CAP_ID_MSI 0x05
#define HG_PCI_CAP_ID_VENDOR 0x09
#define HG_PCI_CAP_ID_MSIX 0x11

typedef enum {
	HG_PCI_BAR_NONE,
	HG_PCI_BAR_IO,
	HG_PCI_BAR_MEM32,
	HG_PCI_BAR_MEM64, /* takes this BAR and the next */
} HgPciBarType;

typedef struct {
	HgPciBarType type;
	bool prefetchable;
	uint64_t size; /* a power of two; 0 = unused */
	const HgIoOps *ops; /* offset is relative to the BAR */
	void *opaque;
	uint64_t mapped_at; /* valid while mapped */
	bool mapped;
} HgPciBar;

typedef struct HgPciBus HgPciBus;
typedef struct HgPciDevice HgPciDevice;

/* An MSI-X vector delivered through KVM: an eventfd bound (irqfd) to an
 * MSI route that carries the vector's address and data. */
typedef struct {
	int fd; /* eventfd, -1 until first needed */
	int gsi; /* MSI route while wanted, else -1 */
	bool wanted; /* the device uses this vector */
	bool bound; /* irqfd assigned: enabled and unmasked */
} HgPciMsixIrqfd;

struct HgPciDevice {
	HgDevice dev;
	HgPciBus *bus;
	uint8_t devfn;
	uint8_t config[HG_PCI_CONFIG_SIZE];
	uint8_t wmask[HG_PCI_CONFIG_SIZE]; /* bits the guest may write */
	uint8_t w1cmask[HG_PCI_CONFIG_SIZE]; /* bits a written 1 clears */
	HgPciBar bars[HG_PCI_NUM_BARS];
	uint8_t next_capability; /* where the next capability goes */

	/* Device hooks, optional: run after the core applied a config write
	 * (offset/size/value as the guest wrote them), or to override reads. */
	void (*config_written)(HgPciDevice *pd, unsigned offset, unsigned size, uint32_t value);
	bool (*config_read)(HgPciDevice *pd, unsigned offset, unsigned size, uint32_t *value);
	/* A BAR's decoding changed: mapped at address, or no longer mapped
	 * (command register, BAR write, reset).  Also called once for every
	 * BAR after hg_pci_device_load, moved or not, so a BAR may be
	 * reported twice: act on the state given.  For what lives beside the
	 * address-space registration: ioeventfds, memory slots. */
	void (*bar_moved)(HgPciDevice *pd, unsigned bar, bool mapped, uint64_t address);

	/* INTx: the level the device asks for, and whether it is counted on
	 * its PIRQ now (not when Command.InterruptDisable masks it). */
	bool intx_level;
	bool intx_counted;

	/* MSI capability (0 if absent). */
	uint8_t msi_cap;
	/* MSI-X (msix_cap 0 if absent); table and PBA live in a BAR the
	 * device routes to hg_msix_table_read/write and hg_msix_pba_read. */
	uint8_t msix_cap;
	uint16_t msix_vectors;
	uint8_t (*msix_table)[16];
	uint64_t *msix_pending; /* one bit per vector */
	HgPciMsixIrqfd *msix_irqfds; /* per vector; NULL unless asked for under KVM */
};

/* The chipset's INTx routing: PIRQ A-D to an ISA IRQ, or -1 when disabled. */
typedef int (*HgPciPirqRoute)(void *opaque, unsigned pirq);

struct HgPciBus {
	HgMachine *machine;
	HgPciDevice *devices[256]; /* by devfn */
	unsigned pirq_asserted[4]; /* how many devices drive each PIRQ */
	HgPciPirqRoute route_pirq;
	void *route_pirq_data;
	int routed_irq[4]; /* what each PIRQ drives now */
};

HgPciBus *hg_pci_bus_new(HgMachine *m);
void hg_pci_bus_free(HgPciBus *bus);
void hg_pci_bus_set_pirq_router(HgPciBus *bus, HgPciPirqRoute route, void *opaque);
/* The router's registers changed: move asserted PIRQs to their new IRQs. */
void hg_pci_bus_pirq_routing_changed(HgPciBus *bus);

/* Configuration space access, as the host bridge forwards it; absent
 * functions read all ones. */
uint32_t hg_pci_bus_config_read(HgPciBus *bus, uint8_t devfn, unsigned offset, unsigned size);
void hg_pci_bus_config_write(HgPciBus *bus, uint8_t devfn, unsigned offset, unsigned size,
			     uint32_t value);

/* Identity and header defaults (header type 0, interrupt pin, masks). */
void hg_pci_device_init(HgPciDevice *pd, const HgDeviceClass *klass, HgMachine *m,
			const char *id, uint16_t vendor, uint16_t device, uint32_t class_code,
			uint8_t revision, uint8_t interrupt_pin);
bool hg_pci_bus_plug(HgPciBus *bus, HgPciDevice *pd, uint8_t devfn, GError **error);
void hg_pci_register_bar(HgPciDevice *pd, unsigned n, HgPciBarType type, bool prefetchable,
			 uint64_t size, const HgIoOps *ops, void *opaque);
/* Reserve len bytes of capability structure with the given ID; returns its
 * offset (header written, next pointer linked). */
uint8_t hg_pci_add_capability(HgPciDevice *pd, uint8_t id, uint8_t len);

/* Generic reset of the header: command, status, BAR addresses, MSI/MSI-X
 * state; unmaps BARs, lowers INTx.  Device reset functions call it. */
void hg_pci_device_reset(HgPciDevice *pd);
/* Frees what the core allocated (MSI-X table, irqfds); device destroy
 * calls it. */
void hg_pci_device_finalize(HgPciDevice *pd);

/* Interrupts. */
void hg_pci_set_intx(HgPciDevice *pd, bool level);
bool hg_pci_add_msi(HgPciDevice *pd, unsigned vectors_log2, bool bits64);
bool hg_pci_msi_enabled(HgPciDevice *pd);
bool hg_pci_add_msix(HgPciDevice *pd, uint16_t vectors, unsigned table_bar,
		     uint32_t table_offset, unsigned pba_bar, uint32_t pba_offset);
bool hg_pci_msix_enabled(HgPciDevice *pd);
uint64_t hg_msix_table_read(HgPciDevice *pd, uint64_t offset, unsigned size);
void hg_msix_table_write(HgPciDevice *pd, uint64_t offset, unsigned size, uint64_t value);
uint64_t hg_msix_pba_read(HgPciDevice *pd, uint64_t offset, unsigned size);
/* Signal vector: MSI-X if enabled, else MSI if enabled (vector < count),
 * else nothing (a device with INTx uses hg_pci_set_intx). */
void hg_pci_notify(HgPciDevice *pd, unsigned vector);
/* Under KVM, deliver MSI-X vector through an irqfd while it is enabled and
 * unmasked, instead of a KVM_SIGNAL_MSI per interrupt: the device says which
 * vectors it uses, the core keeps an MSI route and the irqfd binding in step
 * with the table, the masks and the enable bit, and hg_pci_notify writes the
 * eventfd.  Masked vectors keep the pending-bit path.  No-op without KVM. */
void hg_pci_msix_use_irqfd(HgPciDevice *pd, unsigned vector, bool use);

/* Save/load of the PCI part of a device: config space, masks are static,
 * MSI-X table and pending bits.  BAR mappings are rebuilt on load. */
void hg_pci_device_save(HgPciDevice *pd, GVariantBuilder *record);
bool hg_pci_device_load(HgPciDevice *pd, GVariantDict *record, GError **error);

static inline uint16_t hg_pci_get_word(const HgPciDevice *pd, unsigned offset)
{
	return pd->config[offset] | pd->config[offset + 1] << 8;
}

static inline uint32_t hg_pci_get_long(const HgPciDevice *pd, unsigned offset)
{
	return hg_pci_get_word(pd, offset) | (uint32_t)hg_pci_get_word(pd, offset + 2) << 16;
}

static inline void hg_pci_set_word(HgPciDevice *pd, unsigned offset, uint16_t v)
{
	pd->config[offset] = v;
	pd->config[offset + 1] = v >> 8;
}

static inline void hg_pci_set_long(HgPciDevice *pd, unsigned offset, uint32_t v)
{
	hg_pci_set_word(pd, offset, v);
	hg_pci_set_word(pd, offset + 2, v >> 16);
}

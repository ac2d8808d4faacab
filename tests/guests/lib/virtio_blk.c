// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The guest kit's virtio-blk driver. It finds 1af4:1042 at 00:04.0 through configuration
 * mechanism #1 (ports 0xCF8/0xCFC), places BAR0 and BAR1, reads the virtio capabilities
 * (virtio 1.2, 4.1.4), points MSI-X table entry 0 at this CPU's LAPIC (PCI 3.0, 6.8.2; Intel SDM
 * Vol. 3A, "Message Signalled Interrupts"), and initialises the device (3.1.1) with VERSION_1
 * (plus what the guest asks for) and one 8-entry split virtqueue (2.7) whose MSI-X vector is 0.
 *
 * Every wait is "sti; hlt" until the MSI arrives, bounded by TSC time; a periodic LAPIC timer,
 * armed only while a request is outstanding, wakes the HLT so that a lost interrupt is a FAIL,
 * not a hang (and so that nothing ticks while the guest works at CPL3 between requests).
 * Everything runs at CPL0, which kvm_pvm emulates slowly: few instructions per request, no
 * loops over bytes.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest.h"
#include "lapic.h"
#include "pic.h"
#include "trap.h"
#include "tsc.h"
#include "virtio_blk.h"
#include "x86.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_SLOT 4
#define PCI_ID_VIRTIO_BLK 0x10421AF4u /* device << 16 | vendor */
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_BAR0 0x10
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CAP_ID_VENDOR 0x09
#define PCI_CAP_ID_MSIX 0x11
#define MSIX_CONTROL_ENABLE (1u << 15)

/* Virtio PCI capability types and common configuration (4.1.4.3). */
#define VIRTIO_CAP_COMMON 1
#define VIRTIO_CAP_NOTIFY 2
#define CC_DEVICE_FEATURE_SELECT 0x00
#define CC_DEVICE_FEATURE 0x04
#define CC_DRIVER_FEATURE_SELECT 0x08
#define CC_DRIVER_FEATURE 0x0C
#define CC_DEVICE_STATUS 0x14
#define CC_QUEUE_SELECT 0x16
#define CC_QUEUE_SIZE 0x18
#define CC_QUEUE_MSIX_VECTOR 0x1A
#define CC_QUEUE_ENABLE 0x1C
#define CC_QUEUE_NOTIFY_OFF 0x1E
#define CC_QUEUE_DESC 0x20
#define CC_QUEUE_DRIVER 0x28
#define CC_QUEUE_DEVICE 0x30
#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define FEATURE_HIGH_VERSION_1 (1u << 0) /* bit 32 */

#define QUEUE_SIZE 8
#define DESC_F_NEXT 1
#define DESC_F_WRITE 2

#define WAKE_INITIAL_COUNT 625000 /* 10 ms at KVM's 1 GHz APIC bus, divided by 16 */
#define REQUEST_TIMEOUT_US 5000000

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[QUEUE_SIZE];
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct {
		uint32_t id;
		uint32_t len;
	} ring[QUEUE_SIZE];
};

struct blk_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct virtq_desc desc[QUEUE_SIZE] __attribute__((aligned(16)));
static struct virtq_avail avail __attribute__((aligned(2)));
static volatile struct virtq_used used __attribute__((aligned(4)));
static struct blk_header header;
static volatile uint8_t request_status;

static volatile unsigned int msi_count;
static volatile uint8_t *common;
static volatile uint16_t *notify;
static uint16_t last_used;

static uint32_t pci_read(unsigned int offset)
{
	outl(PCI_CONFIG_ADDRESS, 0x80000000u | PCI_SLOT << 11 | (offset & 0xFC));
	return inl(PCI_CONFIG_DATA) >> (8 * (offset & 3));
}

static void pci_write(unsigned int offset, uint32_t value)
{
	outl(PCI_CONFIG_ADDRESS, 0x80000000u | PCI_SLOT << 11 | offset);
	outl(PCI_CONFIG_DATA, value);
}

static void cc_write8(unsigned int offset, uint8_t value)
{
	*(volatile uint8_t *)(common + offset) = value;
}

static void cc_write16(unsigned int offset, uint16_t value)
{
	*(volatile uint16_t *)(common + offset) = value;
}

static void cc_write32(unsigned int offset, uint32_t value)
{
	*(volatile uint32_t *)(common + offset) = value;
}

static void cc_write64(unsigned int offset, uint64_t value)
{
	cc_write32(offset, (uint32_t)value);
	cc_write32(offset + 4, (uint32_t)(value >> 32));
}

static uint8_t cc_read8(unsigned int offset)
{
	return *(volatile uint8_t *)(common + offset);
}

static uint16_t cc_read16(unsigned int offset)
{
	return *(volatile uint16_t *)(common + offset);
}

static uint32_t cc_read32(unsigned int offset)
{
	return *(volatile uint32_t *)(common + offset);
}

static void blk_interrupt(struct trap_frame *frame)
{
	(void)frame;
	msi_count++;
	lapic_eoi();
}

static void wake_tick(struct trap_frame *frame)
{
	(void)frame;
	lapic_eoi();
}

/* The capabilities name where the common configuration and notify regions are (4.1.4). */
static void find_regions(uint32_t *msix_table)
{
	uint32_t bar_base[2] = {VIRTIO_BLK_BAR0_ADDRESS, VIRTIO_BLK_BAR1_ADDRESS};
	uint32_t notify_off_multiplier = 0, notify_base = 0;
	uint8_t at = pci_read(PCI_CAPABILITY_LIST) & 0xFC;

	*msix_table = 0;
	for (int guard = 0; at && guard < 16; guard++) {
		uint32_t head = pci_read(at);
		uint8_t bar = pci_read(at + 4) & 0xFF;

		if ((head & 0xFF) == PCI_CAP_ID_VENDOR && bar < 2) {
			uint8_t type = head >> 24;
			uint32_t offset = pci_read(at + 8);

			if (type == VIRTIO_CAP_COMMON)
				common = (volatile uint8_t *)(uintptr_t)(bar_base[bar] + offset);
			if (type == VIRTIO_CAP_NOTIFY) {
				notify_base = bar_base[bar] + offset;
				notify_off_multiplier = pci_read(at + 16);
			}
		}
		if ((head & 0xFF) == PCI_CAP_ID_MSIX) {
			uint32_t table = pci_read(at + 4);
			if ((table & 7) < 2)
				*msix_table = bar_base[table & 7] + (table & ~7u);
			/* Table entry 0 first (still masked), then enable. */
			pci_write(at, head | MSIX_CONTROL_ENABLE << 16);
		}
		at = (head >> 8) & 0xFC;
	}
	if (!common || !notify_base || !*msix_table)
		guest_fail("virtio capabilities incomplete (common %p notify 0x%x msi-x 0x%x)",
			   (void *)common, notify_base, *msix_table);
	cc_write16(CC_QUEUE_SELECT, 0);
	notify_base += cc_read16(CC_QUEUE_NOTIFY_OFF) * notify_off_multiplier;
	notify = (volatile uint16_t *)(uintptr_t)notify_base;
}

/* MSI-X entry 0: this CPU's LAPIC (physical destination), fixed delivery, VIRTIO_BLK_VECTOR. */
static void msix_setup(uint32_t table)
{
	volatile uint32_t *entry = (volatile uint32_t *)(uintptr_t)table;

	entry[0] = LAPIC_BASE | lapic_id() << 12;
	entry[1] = 0;
	entry[2] = VIRTIO_BLK_VECTOR;
	entry[3] = 0; /* unmasked */
}

static uint32_t device_setup(uint32_t wanted_features)
{
	uint32_t features;
	uint8_t status;
	uint16_t size;

	cc_write8(CC_DEVICE_STATUS, 0);
	cc_write8(CC_DEVICE_STATUS, STATUS_ACKNOWLEDGE);
	cc_write8(CC_DEVICE_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
	cc_write32(CC_DEVICE_FEATURE_SELECT, 1);
	if (!(cc_read32(CC_DEVICE_FEATURE) & FEATURE_HIGH_VERSION_1))
		guest_fail("device does not offer VIRTIO_F_VERSION_1");
	cc_write32(CC_DEVICE_FEATURE_SELECT, 0);
	features = cc_read32(CC_DEVICE_FEATURE) & wanted_features;
	cc_write32(CC_DRIVER_FEATURE_SELECT, 0);
	cc_write32(CC_DRIVER_FEATURE, features);
	cc_write32(CC_DRIVER_FEATURE_SELECT, 1);
	cc_write32(CC_DRIVER_FEATURE, FEATURE_HIGH_VERSION_1);
	cc_write8(CC_DEVICE_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
	status = cc_read8(CC_DEVICE_STATUS);
	if (!(status & STATUS_FEATURES_OK))
		guest_fail("FEATURES_OK refused (status 0x%x)", status);

	cc_write16(CC_QUEUE_SELECT, 0);
	size = cc_read16(CC_QUEUE_SIZE);
	if (size < QUEUE_SIZE)
		guest_fail("queue 0 holds %u entries, fewer than %u", size, QUEUE_SIZE);
	cc_write16(CC_QUEUE_SIZE, QUEUE_SIZE);
	cc_write16(CC_QUEUE_MSIX_VECTOR, 0);
	if (cc_read16(CC_QUEUE_MSIX_VECTOR) != 0)
		guest_fail("MSI-X vector 0 not accepted for queue 0");
	cc_write64(CC_QUEUE_DESC, (uintptr_t)desc);
	cc_write64(CC_QUEUE_DRIVER, (uintptr_t)&avail);
	cc_write64(CC_QUEUE_DEVICE, (uintptr_t)&used);
	cc_write16(CC_QUEUE_ENABLE, 1);
	cc_write8(CC_DEVICE_STATUS,
		  STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
	return features;
}

uint32_t virtio_blk_init(uint32_t features)
{
	const char *why;
	uint32_t msix_table;

	if (pci_read(0) != PCI_ID_VIRTIO_BLK)
		guest_fail("00:04.0 is 0x%x, not virtio-blk 1af4:1042", pci_read(0));
	pci_write(PCI_BAR0, VIRTIO_BLK_BAR0_ADDRESS);
	pci_write(PCI_BAR0 + 4, VIRTIO_BLK_BAR1_ADDRESS);
	pci_write(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

	pic_disable();
	if (!lapic_enable(&why))
		guest_fail("%s", why);
	trap_set_handler(VIRTIO_BLK_VECTOR, blk_interrupt, 0);
	trap_set_handler(VIRTIO_BLK_WAKE_VECTOR, wake_tick, 0);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_TIMER_DIVIDE, LAPIC_TIMER_DIVIDE_BY_16);

	find_regions(&msix_table);
	msix_setup(msix_table);
	return device_setup(features);
}

/* One request (header, data if any, status), one notification, one MSI. */
void virtio_blk_request(uint32_t type, uint64_t sector, void *buffer, uint32_t len,
			struct virtio_blk_timing *timing)
{
	unsigned int before = msi_count;
	unsigned int n = 0;
	uint64_t start, notified, timeout = tsc_from_us(REQUEST_TIMEOUT_US);

	header = (struct blk_header){.type = type, .sector = sector};
	request_status = 0xFF;
	desc[n++] = (struct virtq_desc){(uintptr_t)&header, sizeof(header), DESC_F_NEXT, 1};
	if (len)
		desc[n++] = (struct virtq_desc){
			(uintptr_t)buffer, len,
			DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? DESC_F_WRITE : 0), 2};
	desc[n] = (struct virtq_desc){(uintptr_t)&request_status, 1, DESC_F_WRITE, 0};
	avail.ring[avail.idx % QUEUE_SIZE] = 0;
	__asm__ volatile("" ::: "memory"); /* x86 keeps stores in order */
	avail.idx++;
	__asm__ volatile("" ::: "memory");

	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_TIMER_PERIODIC | VIRTIO_BLK_WAKE_VECTOR);
	lapic_write(LAPIC_TIMER_INITIAL, WAKE_INITIAL_COUNT);
	start = rdtsc();
	*notify = 0; /* the queue's index (4.1.4.4) */
	notified = rdtsc();
	while (msi_count == before) {
		if (rdtsc() - start > timeout)
			guest_fail("no MSI-X interrupt within %u ms (used idx %u, status 0x%x)",
				   REQUEST_TIMEOUT_US / 1000, used.idx, request_status);
		interrupts_enable_and_halt();
	}
	if (timing) {
		timing->notify_cycles = notified - start;
		timing->total_cycles = rdtsc() - start;
	}
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	if (used.idx != (uint16_t)(last_used + 1) || used.ring[last_used % QUEUE_SIZE].id != 0)
		guest_fail("used ring: idx %u, head %u after request %u", used.idx,
			   used.ring[last_used % QUEUE_SIZE].id, last_used);
	last_used++;
	if (request_status != 0)
		guest_fail("request type %u sector %lu: status %u", type, sector, request_status);
}

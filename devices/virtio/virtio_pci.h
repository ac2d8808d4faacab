/* The modern virtio-over-PCI transport (virtio 1.2, 4.1), reusable by every
 * virtio device type: vendor capabilities, common configuration (feature
 * selection, device status, queue setup), ISR with INTx, notify region,
 * device configuration with its generation, MSI-X with 1 + nqueues
 * vectors, the PCI configuration access window, reset and save/load.
 *
 * A device type embeds HgVirtioPci first, calls hg_virtio_pci_init with
 * its ops, and plugs itself in with hg_pci_bus_plug.  Its class reset,
 * save and load call hg_virtio_pci_reset/_save/_load.
 *
 * BAR0 (32-bit memory, 16 KiB): common configuration at 0x0000, ISR at
 * 0x1000, device configuration at 0x2000, notifications at 0x3000 (queue n
 * at 0x3000 + 4n).  BAR1 (32-bit memory, 4 KiB): MSI-X table at 0, PBA at
 * 0x800.  Vector 0 is meant for configuration changes, 1 + n for queue n,
 * but the driver maps them as it likes.
 *
 * Fast paths under KVM (as QEMU, kvmtool and Firecracker do it): while the
 * device is DRIVER_OK and BAR0 is decoded, each enabled queue's notify
 * address has an ioeventfd, watched on the main loop, so a driver's notify
 * costs no exit to userspace on the vCPU thread; the MSI-X vectors the
 * driver assigned go through irqfds (hg_pci_msix_use_irqfd).  The MMIO
 * notify and KVM_SIGNAL_MSI paths stay: for the harness (no KVM), as the
 * fallback when KVM refuses, and with HANGAR_NO_FAST_PATHS=1 in the
 * engine's environment, a debugging switch that turns the fast paths off.
 *
 * Threads: everything runs with the machine's device lock held: BAR and
 * config space accesses on a vCPU thread (or the harness), deferred queue
 * kicks and ioeventfd notifications on the main loop. */
#pragma once

#include "devices/pci/pci.h"
#include "devices/virtio/virtqueue.h"

#define HG_VIRTIO_PCI_VENDOR 0x1af4
#define HG_VIRTIO_PCI_DEVICE_BASE 0x1040 /* + virtio device ID: modern only */

/* Device status (2.1). */
#define HG_VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define HG_VIRTIO_STATUS_DRIVER 0x02
#define HG_VIRTIO_STATUS_DRIVER_OK 0x04
#define HG_VIRTIO_STATUS_FEATURES_OK 0x08
#define HG_VIRTIO_STATUS_NEEDS_RESET 0x40
#define HG_VIRTIO_STATUS_FAILED 0x80

/* Transport feature bits (6). */
#define HG_VIRTIO_F_INDIRECT_DESC 28
#define HG_VIRTIO_F_EVENT_IDX 29
#define HG_VIRTIO_F_VERSION_1 32

#define HG_VIRTIO_NO_VECTOR 0xffff
#define HG_VIRTIO_ISR_QUEUE 0x1
#define HG_VIRTIO_ISR_CONFIG 0x2

#define HG_VIRTIO_PCI_MAX_QUEUES 64

typedef struct HgVirtioPci HgVirtioPci;

typedef struct {
	/* Device-specific configuration (4.1.4.6): copy size bytes at offset
	 * (offset + size <= config_size) into data, little-endian. */
	void (*get_config)(HgVirtioPci *vp, unsigned offset, void *data, unsigned size);
	/* A driver write to it; NULL when it is read-only. */
	void (*set_config)(HgVirtioPci *vp, unsigned offset, const void *data, unsigned size);
	/* FEATURES_OK: may refuse a combination the transport let through
	 * (a subset of the offered bits, with VERSION_1).  NULL: accept. */
	bool (*features_ok)(HgVirtioPci *vp, uint64_t features);
	/* Queue n has new buffers: the driver notified it, DRIVER_OK was
	 * just set, or a deferred kick ran.  Only called while the queue is
	 * ready (hg_virtio_pci_queue_ready). */
	void (*queue_notify)(HgVirtioPci *vp, unsigned queue);
	/* The device resets (status 0 or machine reset): end every request
	 * in flight.  The transport resets its own state afterwards. */
	void (*reset)(HgVirtioPci *vp);
} HgVirtioOps;

typedef struct {
	HgVirtq vq;
	uint16_t max_size;
	bool enabled;
	uint16_t msix_vector;
} HgVirtioQueue;

/* A queue's notify ioeventfd (fast paths only). */
typedef struct {
	HgVirtioPci *vp;
	unsigned queue;
	int fd; /* eventfd, for the device's lifetime */
	guint watch; /* main loop */
	uint64_t addr; /* assigned in KVM at this address; 0 = not assigned */
	unsigned len; /* as assigned: 0 = any access size */
} HgVirtioNotifier;

struct HgVirtioPci {
	HgPciDevice pci;
	const HgVirtioOps *ops;

	uint64_t device_features;
	uint64_t driver_features; /* as written; checked at FEATURES_OK */
	uint32_t device_feature_select;
	uint32_t driver_feature_select;
	uint8_t status;
	uint8_t isr;
	uint16_t config_vector;
	uint8_t config_generation;
	bool config_changed; /* bump the generation at the next config read */
	uint16_t queue_select;

	unsigned n_queues;
	HgVirtioQueue queues[HG_VIRTIO_PCI_MAX_QUEUES];
	unsigned config_size;

	uint8_t pci_cfg_cap; /* VIRTIO_PCI_CAP_PCI_CFG window in config space */
	uint64_t kick_pending; /* queues to kick from the main loop */
	guint kick_source;

	bool fast_paths; /* KVM, and not HANGAR_NO_FAST_PATHS */
	HgVirtioNotifier *notifiers; /* n_queues of them with fast_paths */
};

/* Identity, capabilities and BARs.  class_code as for hg_pci_device_init;
 * subsystem is the PCI subsystem device ID (vendor 1af4). */
void hg_virtio_pci_init(HgVirtioPci *vp, const HgDeviceClass *klass, const HgVirtioOps *ops,
			HgMachine *m, const char *id, uint16_t virtio_device_id,
			uint32_t class_code, uint16_t subsystem, unsigned n_queues,
			uint16_t queue_max_size, unsigned config_size, uint64_t device_features);
/* Frees what init and the PCI core allocated; the device frees itself. */
void hg_virtio_pci_finalize(HgVirtioPci *vp);

/* Machine reset: the device's ops->reset, then transport and PCI header. */
void hg_virtio_pci_reset(HgVirtioPci *vp);

static inline bool hg_virtio_pci_has_feature(const HgVirtioPci *vp, unsigned bit)
{
	return (vp->status & HG_VIRTIO_STATUS_FEATURES_OK) && (vp->driver_features >> bit) & 1;
}

/* DRIVER_OK set, no NEEDS_RESET, queue n enabled with mapped rings. */
bool hg_virtio_pci_queue_ready(HgVirtioPci *vp, unsigned n);
static inline HgVirtq *hg_virtio_pci_vq(HgVirtioPci *vp, unsigned n)
{
	return &vp->queues[n].vq;
}

/* Used buffers were pushed on queue n: interrupt the driver unless the
 * ring says not to (MSI-X vector, else ISR bit 0 and INTx). */
void hg_virtio_pci_notify_queue(HgVirtioPci *vp, unsigned n);
/* The device configuration changed: new generation, config interrupt. */
void hg_virtio_pci_config_changed(HgVirtioPci *vp);
/* The guest broke the protocol (why is logged at debug level): set
 * DEVICE_NEEDS_RESET, tell a running driver, stop serving queues. */
void hg_virtio_pci_set_needs_reset(HgVirtioPci *vp, const char *why);
/* Run ops->queue_notify for queue n from the main loop soon (a device that
 * stopped for lack of request slots, or after a restore). */
void hg_virtio_pci_kick_later(HgVirtioPci *vp, unsigned n);

/* Save/load of the transport (with the PCI part): call from the device's
 * save and load.  Load checks every value a guest could not have set. */
void hg_virtio_pci_save(HgVirtioPci *vp, GVariantBuilder *record);
bool hg_virtio_pci_load(HgVirtioPci *vp, GVariantDict *record, GError **error);

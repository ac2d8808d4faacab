/* Virtio over PCI, modern interface only: virtio 1.2, 4.1 (capabilities
 * 4.1.4, common configuration 4.1.4.3, notifications 4.1.4.4, ISR 4.1.4.5,
 * device configuration 4.1.4.6, PCI configuration access 4.1.4.9, MSI-X
 * vector configuration 4.1.5.1.2), device status 2.1 and reset 2.4,
 * feature negotiation 2.2 and 3.1.  See virtio_pci.h for the layout. */
#include "devices/virtio/virtio_pci.h"

#include <endian.h>
#include <errno.h>
#include <glib-unix.h>
#include <stdarg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/kvm.h"

#define VIRTIO_BAR 0
#define VIRTIO_BAR_SIZE 0x4000
#define MSIX_BAR 1
#define MSIX_BAR_SIZE 0x1000
#define MSIX_PBA_OFFSET 0x800

#define COMMON_OFFSET 0x0000
#define COMMON_SIZE 0x38
#define ISR_OFFSET 0x1000
#define DEVICE_OFFSET 0x2000
#define NOTIFY_OFFSET 0x3000
#define NOTIFY_MULTIPLIER 4
#define REGION_SIZE 0x1000

/* Vendor capability types (4.1.4). */
#define CAP_COMMON_CFG 1
#define CAP_NOTIFY_CFG 2
#define CAP_ISR_CFG 3
#define CAP_DEVICE_CFG 4
#define CAP_PCI_CFG 5
#define CAP_LEN 16
#define CAP_NOTIFY_LEN 20
#define CAP_PCI_CFG_LEN 20
#define CAP_BAR 4
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_PCI_CFG_DATA 16

/* Common configuration fields (4.1.4.3). */
#define CC_DEVICE_FEATURE_SELECT 0x00
#define CC_DEVICE_FEATURE 0x04
#define CC_DRIVER_FEATURE_SELECT 0x08
#define CC_DRIVER_FEATURE 0x0c
#define CC_CONFIG_MSIX_VECTOR 0x10
#define CC_NUM_QUEUES 0x12
#define CC_DEVICE_STATUS 0x14
#define CC_CONFIG_GENERATION 0x15
#define CC_QUEUE_SELECT 0x16
#define CC_QUEUE_SIZE 0x18
#define CC_QUEUE_MSIX_VECTOR 0x1a
#define CC_QUEUE_ENABLE 0x1c
#define CC_QUEUE_NOTIFY_OFF 0x1e
#define CC_QUEUE_DESC 0x20
#define CC_QUEUE_DRIVER 0x28
#define CC_QUEUE_DEVICE 0x30

#define STATUS_KNOWN                                                                               \
	(HG_VIRTIO_STATUS_ACKNOWLEDGE | HG_VIRTIO_STATUS_DRIVER | HG_VIRTIO_STATUS_DRIVER_OK |     \
	 HG_VIRTIO_STATUS_FEATURES_OK | HG_VIRTIO_STATUS_NEEDS_RESET | HG_VIRTIO_STATUS_FAILED)

static inline void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static HgVirtioQueue *selected_queue(HgVirtioPci *vp)
{
	return vp->queue_select < vp->n_queues ? &vp->queues[vp->queue_select] : NULL;
}

static uint16_t valid_vector(HgVirtioPci *vp, uint64_t v)
{
	/* A mapping that cannot be made reads back as NO_VECTOR (4.1.5.1.2.1). */
	return v < vp->pci.msix_vectors ? (uint16_t)v : HG_VIRTIO_NO_VECTOR;
}

/* ---- interrupts ---- */

static void virtio_pci_interrupt(HgVirtioPci *vp, uint8_t isr_bit, uint16_t vector)
{
	if (hg_pci_msix_enabled(&vp->pci)) {
		/* With MSI-X the ISR is unused, except that the configuration
		 * bit is set before a configuration change notification. */
		if (isr_bit == HG_VIRTIO_ISR_CONFIG)
			vp->isr |= isr_bit;
		if (vector != HG_VIRTIO_NO_VECTOR)
			hg_pci_notify(&vp->pci, vector);
		return;
	}
	vp->isr |= isr_bit;
	hg_pci_set_intx(&vp->pci, true);
}

void hg_virtio_pci_notify_queue(HgVirtioPci *vp, unsigned n)
{
	HgVirtioQueue *q = &vp->queues[n];

	if (hg_virtq_should_notify(&q->vq))
		virtio_pci_interrupt(vp, HG_VIRTIO_ISR_QUEUE, q->msix_vector);
}

void hg_virtio_pci_config_changed(HgVirtioPci *vp)
{
	vp->config_changed = true;
	if (vp->status & HG_VIRTIO_STATUS_DRIVER_OK)
		virtio_pci_interrupt(vp, HG_VIRTIO_ISR_CONFIG, vp->config_vector);
}

void hg_virtio_pci_set_needs_reset(HgVirtioPci *vp, const char *why)
{
	if (vp->status & HG_VIRTIO_STATUS_NEEDS_RESET)
		return;
	/* Logged once per reset cycle: a guest cannot flood the log. */
	g_debug("%s: needs reset: %s", vp->pci.dev.id, why);
	vp->status |= HG_VIRTIO_STATUS_NEEDS_RESET;
	if (vp->status & HG_VIRTIO_STATUS_DRIVER_OK)
		virtio_pci_interrupt(vp, HG_VIRTIO_ISR_CONFIG, vp->config_vector);
}

/* ---- queues ---- */

bool hg_virtio_pci_queue_ready(HgVirtioPci *vp, unsigned n)
{
	return n < vp->n_queues && (vp->status & HG_VIRTIO_STATUS_DRIVER_OK) &&
	       !(vp->status & HG_VIRTIO_STATUS_NEEDS_RESET) && vp->queues[n].enabled &&
	       hg_virtq_mapped(&vp->queues[n].vq);
}

static void virtio_pci_apply_features(HgVirtioPci *vp)
{
	for (unsigned n = 0; n < vp->n_queues; n++) {
		vp->queues[n].vq.event_idx = hg_virtio_pci_has_feature(vp, HG_VIRTIO_F_EVENT_IDX);
		vp->queues[n].vq.indirect =
			hg_virtio_pci_has_feature(vp, HG_VIRTIO_F_INDIRECT_DESC);
	}
}

/* What a notification does, whichever way it came (MMIO write, ioeventfd,
 * deferred kick). */
static void virtio_pci_queue_kick(HgVirtioPci *vp, unsigned n)
{
	if (hg_virtio_pci_queue_ready(vp, n))
		vp->ops->queue_notify(vp, n);
}

static gboolean virtio_pci_kick_run(gpointer data)
{
	HgVirtioPci *vp = data;
	HgMachine *m = vp->pci.dev.machine;
	uint64_t pending;

	g_mutex_lock(&m->device_lock);
	vp->kick_source = 0;
	pending = vp->kick_pending;
	vp->kick_pending = 0;
	for (unsigned n = 0; n < vp->n_queues; n++)
		if (pending >> n & 1)
			virtio_pci_queue_kick(vp, n);
	g_mutex_unlock(&m->device_lock);
	return G_SOURCE_REMOVE;
}

void hg_virtio_pci_kick_later(HgVirtioPci *vp, unsigned n)
{
	if (n >= vp->n_queues)
		return;
	vp->kick_pending |= 1ull << n;
	if (!vp->kick_source)
		vp->kick_source = g_idle_add(virtio_pci_kick_run, vp);
}

/* ---- fast paths: ioeventfd for notifications, irqfd for MSI-X ---- */

/* HANGAR_NO_FAST_PATHS=1 (debugging): notifications and interrupts all go
 * through userspace, as in the harness.  Read once per process. */
static bool virtio_pci_fast_paths_disabled(void)
{
	static gsize once;
	static bool disabled;

	if (g_once_init_enter(&once)) {
		const char *v = g_getenv("HANGAR_NO_FAST_PATHS");
		disabled = v && *v && strcmp(v, "0") != 0;
		g_once_init_leave(&once, 1);
	}
	return disabled;
}

/* Main loop: the guest wrote the queue's notify address. */
static gboolean virtio_pci_notifier_ready(int fd, GIOCondition condition, gpointer data)
{
	HgVirtioNotifier *nt = data;
	HgMachine *m = nt->vp->pci.dev.machine;
	uint64_t count;

	(void)!read(fd, &count, sizeof(count));
	g_mutex_lock(&m->device_lock);
	virtio_pci_queue_kick(nt->vp, nt->queue);
	g_mutex_unlock(&m->device_lock);
	return G_SOURCE_CONTINUE;
}

static void virtio_pci_notifier_unassign(HgVirtioPci *vp, HgVirtioNotifier *nt)
{
	if (!nt->addr)
		return;
	hg_kvm_remove_ioeventfd(vp->pci.dev.machine->kvm, nt->addr, nt->len, false, nt->fd);
	nt->addr = 0;
}

/* Each queue's notify address is its own (multiplier 4), so no datamatch:
 * any write there is the notification, of any size, as on the MMIO path
 * (drivers write 16 bits, 4.1.4.4).  Without KVM_CAP_IOEVENTFD_ANY_LENGTH
 * the 16-bit writes are caught and others take the MMIO path. */
static void virtio_pci_notifier_assign(HgVirtioPci *vp, HgVirtioNotifier *nt, uint64_t addr)
{
	HgKvm *kvm = vp->pci.dev.machine->kvm;

	if (nt->fd < 0)
		return;
	if (hg_kvm_add_ioeventfd(kvm, addr, 0, false, nt->fd)) {
		nt->len = 0;
	} else if (hg_kvm_add_ioeventfd(kvm, addr, 2, false, nt->fd)) {
		nt->len = 2;
	} else {
		g_debug("%s: queue %u: no ioeventfd at 0x%" G_GINT64_MODIFIER "x: %s",
			vp->pci.dev.id, nt->queue, addr, g_strerror(errno));
		return;
	}
	nt->addr = addr;
}

/* Put each queue's ioeventfd where the state says: at its notify address
 * while DRIVER_OK, the queue enabled and BAR0 decoded; nowhere otherwise. */
static void virtio_pci_update_notifiers(HgVirtioPci *vp)
{
	HgPciBar *bar = &vp->pci.bars[VIRTIO_BAR];

	if (!vp->notifiers)
		return;
	for (unsigned n = 0; n < vp->n_queues; n++) {
		HgVirtioNotifier *nt = &vp->notifiers[n];
		uint64_t want = 0;

		if ((vp->status & HG_VIRTIO_STATUS_DRIVER_OK) && vp->queues[n].enabled &&
		    bar->mapped)
			want = bar->mapped_at + NOTIFY_OFFSET + NOTIFY_MULTIPLIER * n;
		if (nt->addr == want)
			continue;
		virtio_pci_notifier_unassign(vp, nt);
		if (want)
			virtio_pci_notifier_assign(vp, nt, want);
	}
}

static void virtio_pci_bar_moved(HgPciDevice *pd, unsigned bar, bool mapped, uint64_t address)
{
	if (bar == VIRTIO_BAR)
		virtio_pci_update_notifiers((HgVirtioPci *)pd);
}

/* The vectors the driver assigned (configuration, queues) go through
 * irqfds; the PCI core follows their masks and messages. */
static void virtio_pci_update_vectors(HgVirtioPci *vp)
{
	if (!vp->fast_paths)
		return;
	for (unsigned v = 0; v < vp->pci.msix_vectors; v++) {
		bool use = v == vp->config_vector;
		for (unsigned n = 0; n < vp->n_queues && !use; n++)
			use = v == vp->queues[n].msix_vector;
		hg_pci_msix_use_irqfd(&vp->pci, v, use);
	}
}

static void virtio_pci_fast_paths_init(HgVirtioPci *vp)
{
	vp->fast_paths = vp->pci.dev.machine->kvm && !virtio_pci_fast_paths_disabled();
	if (!vp->fast_paths)
		return;
	vp->notifiers = g_new0(HgVirtioNotifier, vp->n_queues);
	for (unsigned n = 0; n < vp->n_queues; n++) {
		HgVirtioNotifier *nt = &vp->notifiers[n];
		nt->vp = vp;
		nt->queue = n;
		nt->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (nt->fd >= 0)
			nt->watch = g_unix_fd_add(nt->fd, G_IO_IN, virtio_pci_notifier_ready, nt);
	}
	vp->pci.bar_moved = virtio_pci_bar_moved;
}

static void virtio_pci_fast_paths_finalize(HgVirtioPci *vp)
{
	for (unsigned n = 0; vp->notifiers && n < vp->n_queues; n++) {
		HgVirtioNotifier *nt = &vp->notifiers[n];
		virtio_pci_notifier_unassign(vp, nt);
		if (nt->watch)
			g_source_remove(nt->watch);
		if (nt->fd >= 0)
			close(nt->fd);
	}
	g_free(vp->notifiers);
	vp->notifiers = NULL;
}

/* queue_enable = 1 (4.1.4.3.2): the size must be a power of two the device
 * supports, else the queue stays disabled.  Rings outside RAM put the
 * device in "needs reset". */
static void virtio_pci_queue_enable(HgVirtioPci *vp, HgVirtioQueue *q)
{
	uint16_t size = q->vq.size;

	if (q->enabled)
		return;
	if (size == 0 || (size & (size - 1)) || size > q->max_size) {
		g_debug("%s: queue %u: size %u refused", vp->pci.dev.id, vp->queue_select, size);
		return;
	}
	hg_virtq_reset(&q->vq);
	if (!hg_virtq_map(&q->vq, &vp->pci.dev.machine->memory)) {
		hg_virtio_pci_set_needs_reset(vp, "queue rings misaligned or outside RAM");
		return;
	}
	q->enabled = true;
	virtio_pci_apply_features(vp);
	virtio_pci_update_notifiers(vp);
}

/* ---- reset ---- */

static void virtio_pci_reset_transport(HgVirtioPci *vp)
{
	vp->status = 0;
	vp->driver_features = 0;
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->config_vector = HG_VIRTIO_NO_VECTOR;
	vp->isr = 0;
	vp->queue_select = 0;
	vp->kick_pending = 0;
	for (unsigned n = 0; n < vp->n_queues; n++) {
		HgVirtioQueue *q = &vp->queues[n];
		hg_virtq_reset(&q->vq);
		q->vq.size = q->max_size;
		q->vq.desc_addr = q->vq.avail_addr = q->vq.used_addr = 0;
		q->vq.event_idx = q->vq.indirect = false;
		q->enabled = false;
		q->msix_vector = HG_VIRTIO_NO_VECTOR;
	}
	hg_pci_set_intx(&vp->pci, false);
	virtio_pci_update_notifiers(vp);
	virtio_pci_update_vectors(vp);
}

static void virtio_pci_device_reset(HgVirtioPci *vp)
{
	if (vp->ops->reset)
		vp->ops->reset(vp);
	virtio_pci_reset_transport(vp);
}

void hg_virtio_pci_reset(HgVirtioPci *vp)
{
	virtio_pci_device_reset(vp);
	hg_pci_device_reset(&vp->pci);
}

/* ---- common configuration ---- */

static bool virtio_pci_features_acceptable(HgVirtioPci *vp, uint64_t features)
{
	if (features & ~vp->device_features)
		return false;
	if (!(features >> HG_VIRTIO_F_VERSION_1 & 1))
		return false; /* no legacy interface here */
	return !vp->ops->features_ok || vp->ops->features_ok(vp, features);
}

static void virtio_pci_write_status(HgVirtioPci *vp, uint8_t value)
{
	uint8_t old = vp->status, now;

	if (value == 0) {
		virtio_pci_device_reset(vp);
		return;
	}
	/* The driver only adds bits (2.1.1); NEEDS_RESET is the device's. */
	now = old | (value & STATUS_KNOWN & ~HG_VIRTIO_STATUS_NEEDS_RESET);
	if ((now & HG_VIRTIO_STATUS_FEATURES_OK) && !(old & HG_VIRTIO_STATUS_FEATURES_OK)) {
		if (virtio_pci_features_acceptable(vp, vp->driver_features)) {
			vp->status = now; /* has_feature looks at the status */
			virtio_pci_apply_features(vp);
		} else {
			g_debug("%s: features 0x%" G_GINT64_MODIFIER "x refused", vp->pci.dev.id,
				vp->driver_features);
			now &= ~HG_VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if (!(now & HG_VIRTIO_STATUS_FEATURES_OK))
		now &= ~HG_VIRTIO_STATUS_DRIVER_OK; /* modern devices negotiate first */
	vp->status = now;
	if ((now & HG_VIRTIO_STATUS_DRIVER_OK) && !(old & HG_VIRTIO_STATUS_DRIVER_OK)) {
		for (unsigned n = 0; n < vp->n_queues; n++)
			virtio_pci_queue_kick(vp, n);
		virtio_pci_update_notifiers(vp);
	}
}

static uint64_t common_read(HgVirtioPci *vp, uint64_t offset, unsigned size)
{
	uint8_t cc[COMMON_SIZE] = {0};
	HgVirtioQueue *q = selected_queue(vp);
	uint64_t value = 0;

	if (offset >= COMMON_SIZE)
		return 0;
	put32(cc + CC_DEVICE_FEATURE_SELECT, vp->device_feature_select);
	if (vp->device_feature_select < 2)
		put32(cc + CC_DEVICE_FEATURE,
		      vp->device_features >> (32 * vp->device_feature_select));
	put32(cc + CC_DRIVER_FEATURE_SELECT, vp->driver_feature_select);
	if (vp->driver_feature_select < 2)
		put32(cc + CC_DRIVER_FEATURE,
		      vp->driver_features >> (32 * vp->driver_feature_select));
	put16(cc + CC_CONFIG_MSIX_VECTOR, vp->config_vector);
	put16(cc + CC_NUM_QUEUES, vp->n_queues);
	cc[CC_DEVICE_STATUS] = vp->status;
	cc[CC_CONFIG_GENERATION] = vp->config_generation;
	put16(cc + CC_QUEUE_SELECT, vp->queue_select);
	if (q) {
		put16(cc + CC_QUEUE_SIZE, q->vq.size);
		put16(cc + CC_QUEUE_MSIX_VECTOR, q->msix_vector);
		put16(cc + CC_QUEUE_ENABLE, q->enabled);
		put16(cc + CC_QUEUE_NOTIFY_OFF, vp->queue_select);
		put64(cc + CC_QUEUE_DESC, q->vq.desc_addr);
		put64(cc + CC_QUEUE_DRIVER, q->vq.avail_addr);
		put64(cc + CC_QUEUE_DEVICE, q->vq.used_addr);
	}
	memcpy(&value, cc + offset, MIN(size, COMMON_SIZE - offset));
	return le64toh(value);
}

/* A 64-bit queue address, written whole or as two 32-bit halves (4.1.3.1). */
static void write_address(uint64_t *field, uint64_t offset, unsigned size, uint64_t value)
{
	if (size == 8 && !(offset & 7))
		*field = value;
	else if (size == 4 && (offset & 4))
		*field = (*field & 0xffffffffull) | value << 32;
	else if (size == 4)
		*field = (*field & ~0xffffffffull) | (uint32_t)value;
}

static void common_write(HgVirtioPci *vp, uint64_t offset, unsigned size, uint64_t value)
{
	HgVirtioQueue *q = selected_queue(vp);
	bool queue_writable = q && !q->enabled;

	if (offset >= CC_QUEUE_DESC && offset < COMMON_SIZE) {
		if (queue_writable) {
			uint64_t *fields[] = {&q->vq.desc_addr, &q->vq.avail_addr,
					      &q->vq.used_addr};
			write_address(fields[(offset - CC_QUEUE_DESC) / 8], offset, size, value);
		}
		return;
	}
	switch (offset) {
	case CC_DEVICE_FEATURE_SELECT:
		if (size == 4)
			vp->device_feature_select = value;
		break;
	case CC_DRIVER_FEATURE_SELECT:
		if (size == 4)
			vp->driver_feature_select = value;
		break;
	case CC_DRIVER_FEATURE:
		/* Features are fixed once FEATURES_OK is set. */
		if (size == 4 && vp->driver_feature_select < 2 &&
		    !(vp->status & HG_VIRTIO_STATUS_FEATURES_OK)) {
			unsigned shift = 32 * vp->driver_feature_select;
			vp->driver_features = (vp->driver_features & ~(0xffffffffull << shift)) |
					      (value & 0xffffffffull) << shift;
		}
		break;
	case CC_CONFIG_MSIX_VECTOR:
		if (size == 2) {
			vp->config_vector = valid_vector(vp, value);
			virtio_pci_update_vectors(vp);
		}
		break;
	case CC_DEVICE_STATUS:
		if (size == 1)
			virtio_pci_write_status(vp, value);
		break;
	case CC_QUEUE_SELECT:
		if (size == 2)
			vp->queue_select = value;
		break;
	case CC_QUEUE_SIZE:
		if (size == 2 && queue_writable)
			q->vq.size = value;
		break;
	case CC_QUEUE_MSIX_VECTOR:
		if (size == 2 && q) {
			q->msix_vector = valid_vector(vp, value);
			virtio_pci_update_vectors(vp);
		}
		break;
	case CC_QUEUE_ENABLE:
		/* Writing 0 is forbidden to drivers (reset is the way). */
		if (size == 2 && q && value == 1)
			virtio_pci_queue_enable(vp, q);
		break;
	default:
		break; /* read-only fields, odd sizes: ignored */
	}
}

/* ---- the virtio BAR ---- */

static uint64_t virtio_bar_read(void *opaque, uint64_t offset, unsigned size)
{
	HgVirtioPci *vp = opaque;

	if (offset < COMMON_OFFSET + REGION_SIZE)
		return common_read(vp, offset - COMMON_OFFSET, size);
	if (offset == ISR_OFFSET) {
		/* Reading clears the ISR and lowers INTx (4.1.4.5). */
		uint8_t isr = vp->isr;
		vp->isr = 0;
		hg_pci_set_intx(&vp->pci, false);
		return isr;
	}
	if (offset >= DEVICE_OFFSET && offset < DEVICE_OFFSET + REGION_SIZE) {
		uint64_t rel = offset - DEVICE_OFFSET, value = 0;
		if (rel + size > vp->config_size)
			return 0;
		if (vp->config_changed) {
			vp->config_generation++;
			vp->config_changed = false;
		}
		vp->ops->get_config(vp, rel, &value, size);
		return le64toh(value);
	}
	return 0;
}

static void virtio_bar_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	HgVirtioPci *vp = opaque;

	if (offset < COMMON_OFFSET + REGION_SIZE) {
		common_write(vp, offset - COMMON_OFFSET, size, value);
	} else if (offset >= DEVICE_OFFSET && offset < DEVICE_OFFSET + REGION_SIZE) {
		uint64_t rel = offset - DEVICE_OFFSET, le = htole64(value);
		if (vp->ops->set_config && rel + size <= vp->config_size)
			vp->ops->set_config(vp, rel, &le, size);
	} else if (offset >= NOTIFY_OFFSET && offset < NOTIFY_OFFSET + REGION_SIZE) {
		uint64_t rel = offset - NOTIFY_OFFSET;
		unsigned n = rel / NOTIFY_MULTIPLIER;
		/* The queue is known from the address; the value (its index)
		 * adds nothing without VIRTIO_F_NOTIFICATION_DATA. */
		if (rel % NOTIFY_MULTIPLIER == 0)
			virtio_pci_queue_kick(vp, n);
	}
}

static uint64_t msix_bar_read(void *opaque, uint64_t offset, unsigned size)
{
	HgVirtioPci *vp = opaque;

	if (offset >= MSIX_PBA_OFFSET)
		return hg_msix_pba_read(&vp->pci, offset - MSIX_PBA_OFFSET, size);
	return hg_msix_table_read(&vp->pci, offset, size);
}

static void msix_bar_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	HgVirtioPci *vp = opaque;

	if (offset < MSIX_PBA_OFFSET)
		hg_msix_table_write(&vp->pci, offset, size, value);
}

static const HgIoOps virtio_bar_ops = {.read = virtio_bar_read, .write = virtio_bar_write};
static const HgIoOps msix_bar_ops = {.read = msix_bar_read, .write = msix_bar_write};

/* ---- PCI configuration access window (4.1.4.9) ---- */

static bool pci_cfg_window(HgVirtioPci *vp, unsigned *bar, uint32_t *offset, uint32_t *len)
{
	uint8_t cap = vp->pci_cfg_cap;

	*bar = vp->pci.config[cap + CAP_BAR];
	*offset = hg_pci_get_long(&vp->pci, cap + CAP_OFFSET);
	*len = hg_pci_get_long(&vp->pci, cap + CAP_LENGTH);
	if (*len != 1 && *len != 2 && *len != 4)
		return false;
	if (*offset % *len)
		return false;
	if (*bar == VIRTIO_BAR)
		return *offset + *len <= VIRTIO_BAR_SIZE;
	if (*bar == MSIX_BAR)
		return *offset + *len <= MSIX_BAR_SIZE;
	return false;
}

static bool touches_window_data(HgVirtioPci *vp, unsigned offset, unsigned size)
{
	unsigned data = vp->pci_cfg_cap + CAP_PCI_CFG_DATA;
	return offset < data + 4 && data < offset + size;
}

static bool virtio_pci_config_read(HgPciDevice *pd, unsigned offset, unsigned size, uint32_t *value)
{
	HgVirtioPci *vp = (HgVirtioPci *)pd;
	unsigned bar;
	uint32_t off, len;

	if (touches_window_data(vp, offset, size) && pci_cfg_window(vp, &bar, &off, &len)) {
		uint32_t v = bar == VIRTIO_BAR ? virtio_bar_read(vp, off, len)
					       : msix_bar_read(vp, off, len);
		for (unsigned i = 0; i < len; i++)
			pd->config[vp->pci_cfg_cap + CAP_PCI_CFG_DATA + i] = v >> (8 * i);
	}
	return false; /* the core reads the (refreshed) bytes */
}

static void virtio_pci_config_written(HgPciDevice *pd, unsigned offset, unsigned size,
				      uint32_t value)
{
	HgVirtioPci *vp = (HgVirtioPci *)pd;
	unsigned bar;
	uint32_t off, len, v = 0;

	/* MSI-X on: INTx must not stay asserted behind it. */
	if (hg_pci_msix_enabled(pd))
		hg_pci_set_intx(pd, false);
	if (!touches_window_data(vp, offset, size) || !pci_cfg_window(vp, &bar, &off, &len))
		return;
	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)pd->config[vp->pci_cfg_cap + CAP_PCI_CFG_DATA + i] << (8 * i);
	if (bar == VIRTIO_BAR)
		virtio_bar_write(vp, off, len, v);
	else
		msix_bar_write(vp, off, len, v);
}

/* ---- creation ---- */

static uint8_t add_virtio_cap(HgVirtioPci *vp, uint8_t type, uint8_t len, uint8_t bar,
			      uint32_t offset, uint32_t length)
{
	HgPciDevice *pd = &vp->pci;
	uint8_t at = hg_pci_add_capability(pd, HG_PCI_CAP_ID_VENDOR, len);

	pd->config[at + 2] = len;
	pd->config[at + 3] = type;
	pd->config[at + CAP_BAR] = bar;
	hg_pci_set_long(pd, at + CAP_OFFSET, offset);
	hg_pci_set_long(pd, at + CAP_LENGTH, length);
	return at;
}

void hg_virtio_pci_init(HgVirtioPci *vp, const HgDeviceClass *klass, const HgVirtioOps *ops,
			HgMachine *m, const char *id, uint16_t virtio_device_id,
			uint32_t class_code, uint16_t subsystem, unsigned n_queues,
			uint16_t queue_max_size, unsigned config_size, uint64_t device_features)
{
	HgPciDevice *pd = &vp->pci;
	uint8_t at;

	g_assert(n_queues >= 1 && n_queues <= HG_VIRTIO_PCI_MAX_QUEUES);
	g_assert(queue_max_size && !(queue_max_size & (queue_max_size - 1)) &&
		 queue_max_size <= HG_VIRTQ_MAX_SIZE);
	g_assert(config_size <= REGION_SIZE);
	/* Revision 1: a modern-only device (4.1.2.1). */
	hg_pci_device_init(pd, klass, m, id, HG_VIRTIO_PCI_VENDOR,
			   HG_VIRTIO_PCI_DEVICE_BASE + virtio_device_id, class_code, 0x01, 1);
	hg_pci_set_word(pd, HG_PCI_SUBSYSTEM_VENDOR_ID, HG_VIRTIO_PCI_VENDOR);
	hg_pci_set_word(pd, HG_PCI_SUBSYSTEM_ID, subsystem);
	vp->ops = ops;
	vp->n_queues = n_queues;
	vp->config_size = config_size;
	vp->device_features = device_features | 1ull << HG_VIRTIO_F_VERSION_1 |
			      1ull << HG_VIRTIO_F_INDIRECT_DESC | 1ull << HG_VIRTIO_F_EVENT_IDX;
	for (unsigned n = 0; n < n_queues; n++)
		vp->queues[n].max_size = queue_max_size;

	hg_pci_register_bar(pd, VIRTIO_BAR, HG_PCI_BAR_MEM32, false, VIRTIO_BAR_SIZE,
			    &virtio_bar_ops, vp);
	hg_pci_register_bar(pd, MSIX_BAR, HG_PCI_BAR_MEM32, false, MSIX_BAR_SIZE, &msix_bar_ops,
			    vp);
	/* Listed in the reverse order of adding: MSI-X, common, notify, ISR,
	 * device, then the configuration access window. */
	at = add_virtio_cap(vp, CAP_PCI_CFG, CAP_PCI_CFG_LEN, 0, 0, 0);
	vp->pci_cfg_cap = at;
	pd->wmask[at + CAP_BAR] = 0xff;
	memset(pd->wmask + at + CAP_OFFSET, 0xff, 4);
	memset(pd->wmask + at + CAP_LENGTH, 0xff, 4);
	memset(pd->wmask + at + CAP_PCI_CFG_DATA, 0xff, 4);
	if (config_size)
		add_virtio_cap(vp, CAP_DEVICE_CFG, CAP_LEN, VIRTIO_BAR, DEVICE_OFFSET, config_size);
	add_virtio_cap(vp, CAP_ISR_CFG, CAP_LEN, VIRTIO_BAR, ISR_OFFSET, 1);
	at = add_virtio_cap(vp, CAP_NOTIFY_CFG, CAP_NOTIFY_LEN, VIRTIO_BAR, NOTIFY_OFFSET,
			    NOTIFY_MULTIPLIER * n_queues);
	hg_pci_set_long(pd, at + CAP_LEN, NOTIFY_MULTIPLIER);
	add_virtio_cap(vp, CAP_COMMON_CFG, CAP_LEN, VIRTIO_BAR, COMMON_OFFSET, COMMON_SIZE);
	hg_pci_add_msix(pd, 1 + n_queues, MSIX_BAR, 0, MSIX_BAR, MSIX_PBA_OFFSET);
	pd->config_read = virtio_pci_config_read;
	pd->config_written = virtio_pci_config_written;
	virtio_pci_fast_paths_init(vp);
	virtio_pci_reset_transport(vp);
}

void hg_virtio_pci_finalize(HgVirtioPci *vp)
{
	if (vp->kick_source)
		g_source_remove(vp->kick_source);
	vp->kick_source = 0;
	virtio_pci_fast_paths_finalize(vp);
	hg_pci_device_finalize(&vp->pci);
}

/* ---- save and load ---- */

void hg_virtio_pci_save(HgVirtioPci *vp, GVariantBuilder *b)
{
	GVariantBuilder queues;

	hg_pci_device_save(&vp->pci, b);
	g_variant_builder_add(b, "{sv}", "virtio-device-features",
			      g_variant_new_uint64(vp->device_features));
	g_variant_builder_add(b, "{sv}", "virtio-driver-features",
			      g_variant_new_uint64(vp->driver_features));
	g_variant_builder_add(b, "{sv}", "virtio-device-feature-select",
			      g_variant_new_uint32(vp->device_feature_select));
	g_variant_builder_add(b, "{sv}", "virtio-driver-feature-select",
			      g_variant_new_uint32(vp->driver_feature_select));
	g_variant_builder_add(b, "{sv}", "virtio-status", g_variant_new_byte(vp->status));
	g_variant_builder_add(b, "{sv}", "virtio-isr", g_variant_new_byte(vp->isr));
	g_variant_builder_add(b, "{sv}", "virtio-config-vector",
			      g_variant_new_uint16(vp->config_vector));
	g_variant_builder_add(b, "{sv}", "virtio-config-generation",
			      g_variant_new_byte(vp->config_generation));
	g_variant_builder_add(b, "{sv}", "virtio-config-changed",
			      g_variant_new_boolean(vp->config_changed));
	g_variant_builder_add(b, "{sv}", "virtio-queue-select",
			      g_variant_new_uint16(vp->queue_select));
	g_variant_builder_init(&queues, G_VARIANT_TYPE("aa{sv}"));
	for (unsigned n = 0; n < vp->n_queues; n++) {
		HgVirtioQueue *q = &vp->queues[n];
		GVariantBuilder e;
		g_variant_builder_init(&e, G_VARIANT_TYPE_VARDICT);
		g_variant_builder_add(&e, "{sv}", "size", g_variant_new_uint16(q->vq.size));
		g_variant_builder_add(&e, "{sv}", "enabled", g_variant_new_boolean(q->enabled));
		g_variant_builder_add(&e, "{sv}", "msix-vector",
				      g_variant_new_uint16(q->msix_vector));
		g_variant_builder_add(&e, "{sv}", "desc", g_variant_new_uint64(q->vq.desc_addr));
		g_variant_builder_add(&e, "{sv}", "driver", g_variant_new_uint64(q->vq.avail_addr));
		g_variant_builder_add(&e, "{sv}", "device", g_variant_new_uint64(q->vq.used_addr));
		g_variant_builder_add(&e, "{sv}", "last-avail-idx",
				      g_variant_new_uint16(q->vq.last_avail_idx));
		g_variant_builder_add(&e, "{sv}", "used-idx", g_variant_new_uint16(q->vq.used_idx));
		g_variant_builder_add(&e, "{sv}", "signalled-used",
				      g_variant_new_uint16(q->vq.signalled_used));
		g_variant_builder_add(&e, "{sv}", "signalled-used-valid",
				      g_variant_new_boolean(q->vq.signalled_used_valid));
		g_variant_builder_add_value(&queues, g_variant_builder_end(&e));
	}
	g_variant_builder_add(b, "{sv}", "virtio-queues", g_variant_builder_end(&queues));
}

static bool G_GNUC_PRINTF(2, 3) load_fail(GError **error, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	g_autofree char *why = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error_literal(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD, why);
	return false;
}

static bool virtio_pci_load_queue(HgVirtioPci *vp, unsigned n, GVariantDict *r, GError **error)
{
	HgVirtioQueue *q = &vp->queues[n];
	uint16_t vector;

	if (!hg_record_u16(r, "size", &q->vq.size, error) ||
	    !hg_record_bool(r, "enabled", &q->enabled, error) ||
	    !hg_record_u16(r, "msix-vector", &vector, error) ||
	    !hg_record_u64(r, "desc", &q->vq.desc_addr, error) ||
	    !hg_record_u64(r, "driver", &q->vq.avail_addr, error) ||
	    !hg_record_u64(r, "device", &q->vq.used_addr, error) ||
	    !hg_record_u16(r, "last-avail-idx", &q->vq.last_avail_idx, error) ||
	    !hg_record_u16(r, "used-idx", &q->vq.used_idx, error) ||
	    !hg_record_u16(r, "signalled-used", &q->vq.signalled_used, error) ||
	    !hg_record_bool(r, "signalled-used-valid", &q->vq.signalled_used_valid, error))
		return false;
	if (vector != HG_VIRTIO_NO_VECTOR && vector >= vp->pci.msix_vectors)
		return load_fail(error, "queue %u: MSI-X vector out of range", n);
	q->msix_vector = vector;
	if (!q->enabled)
		return true;
	if (q->vq.size > q->max_size)
		return load_fail(error, "queue %u: size larger than the device offers", n);
	if (!hg_virtq_map(&q->vq, &vp->pci.dev.machine->memory))
		return load_fail(error, "queue %u: rings misaligned or outside RAM", n);
	return true;
}

bool hg_virtio_pci_load(HgVirtioPci *vp, GVariantDict *r, GError **error)
{
	uint64_t device_features;
	uint16_t vector;
	g_autoptr(GVariant) queues = NULL;

	if (!hg_pci_device_load(&vp->pci, r, error) ||
	    !hg_record_u64(r, "virtio-device-features", &device_features, error) ||
	    !hg_record_u64(r, "virtio-driver-features", &vp->driver_features, error) ||
	    !hg_record_u32(r, "virtio-device-feature-select", &vp->device_feature_select, error) ||
	    !hg_record_u32(r, "virtio-driver-feature-select", &vp->driver_feature_select, error) ||
	    !hg_record_u8(r, "virtio-status", &vp->status, error) ||
	    !hg_record_u8(r, "virtio-isr", &vp->isr, error) ||
	    !hg_record_u16(r, "virtio-config-vector", &vector, error) ||
	    !hg_record_u8(r, "virtio-config-generation", &vp->config_generation, error) ||
	    !hg_record_bool(r, "virtio-config-changed", &vp->config_changed, error) ||
	    !hg_record_u16(r, "virtio-queue-select", &vp->queue_select, error))
		return false;
	if (device_features != vp->device_features)
		return load_fail(error, "virtio features differ from this device's");
	if (vp->status & ~STATUS_KNOWN)
		return load_fail(error, "virtio status has unknown bits (%u)", vp->status);
	if ((vp->status & HG_VIRTIO_STATUS_DRIVER_OK) &&
	    !(vp->status & HG_VIRTIO_STATUS_FEATURES_OK))
		return load_fail(error, "virtio status DRIVER_OK without FEATURES_OK (%u)",
				 vp->status);
	if ((vp->status & HG_VIRTIO_STATUS_FEATURES_OK) &&
	    !virtio_pci_features_acceptable(vp, vp->driver_features))
		return load_fail(error, "virtio driver features not acceptable");
	if (vp->isr & ~(HG_VIRTIO_ISR_QUEUE | HG_VIRTIO_ISR_CONFIG))
		return load_fail(error, "virtio ISR has unknown bits (%u)", vp->isr);
	if (vector != HG_VIRTIO_NO_VECTOR && vector >= vp->pci.msix_vectors)
		return load_fail(error, "virtio config MSI-X vector out of range (%u)", vector);
	vp->config_vector = vector;
	queues = g_variant_dict_lookup_value(r, "virtio-queues", G_VARIANT_TYPE("aa{sv}"));
	if (!queues || g_variant_n_children(queues) != vp->n_queues)
		return load_fail(error, "virtio queue records missing or not %u", vp->n_queues);
	for (unsigned n = 0; n < vp->n_queues; n++) {
		g_autoptr(GVariant) child = g_variant_get_child_value(queues, n);
		g_auto(GVariantDict) q = G_VARIANT_DICT_INIT(child);
		if (!virtio_pci_load_queue(vp, n, &q, error))
			return false;
	}
	virtio_pci_apply_features(vp);
	virtio_pci_update_notifiers(vp);
	virtio_pci_update_vectors(vp);
	/* Nothing was in flight when the state was saved; whatever the driver
	 * queued meanwhile is picked up from last_avail_idx. */
	for (unsigned n = 0; n < vp->n_queues; n++)
		if (hg_virtio_pci_queue_ready(vp, n))
			hg_virtio_pci_kick_later(vp, n);
	return true;
}

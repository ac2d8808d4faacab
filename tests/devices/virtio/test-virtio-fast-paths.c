/* The virtio transport's fast paths under KVM (devices/virtio/virtio_pci.c,
 * the MSI-X irqfds of devices/pci/pci.c): a virtio-blk on a machine with
 * KVM and one vCPU that never runs, driven from here the way a driver's
 * MMIO and configuration writes would drive it.  What KVM holds is probed
 * from outside: an ioeventfd is at an address when KVM refuses a second one
 * there (EEXIST), and an MSI reached the LAPIC when its IRR shows the
 * vector.  Needs /dev/kvm; the harness tests cover the same device without
 * KVM. */
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_pci.h"
#include "engine/kvm.h"
#include "engine/machine.h"
#include "engine/vcpu.h"

#define DEVFN HG_PCI_DEVFN(4, 0)
#define BAR0_ADDRESS 0xE0000000u
#define BAR0_MOVED 0xE0200000u
#define BAR1_ADDRESS 0xE0100000u
#define NOTIFY_OFFSET 0x3000 /* queue 0 */
#define MSIX_CONTROL_ENABLE 0x8000
#define MSIX_CONTROL_FUNCTION_MASK 0x4000
#define MSI_ADDRESS_APIC0 0xFEE00000u
#define FIRST_MSI_GSI 24

/* Common configuration (virtio 1.2, 4.1.4.3). */
#define CC_DRIVER_FEATURE_SELECT 0x08
#define CC_DRIVER_FEATURE 0x0C
#define CC_DEVICE_STATUS 0x14
#define CC_QUEUE_SELECT 0x16
#define CC_QUEUE_SIZE 0x18
#define CC_QUEUE_MSIX_VECTOR 0x1A
#define CC_QUEUE_ENABLE 0x1C
#define CC_QUEUE_DESC 0x20
#define CC_QUEUE_DRIVER 0x28
#define CC_QUEUE_DEVICE 0x30
#define STATUS_DRIVER_OK_ALL 0x0F /* ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK */

/* A GET_ID request in guest RAM. */
#define RING_DESC 0x10000
#define RING_AVAIL 0x11000
#define RING_USED 0x12000
#define REQ_HEADER 0x13000
#define REQ_DATA 0x13100
#define REQ_STATUS 0x13200
#define QUEUE_SIZE 8

#define LAPIC_SVR 0xF0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_IRR 0x200

typedef struct {
	HgMachine *m;
	HgPciBus *bus;
	HgBlockBackend *backend;
	HgVirtioPci *vp;
	char *image;
} Fixture;

static bool fast_paths_expected(void)
{
	if (strcmp(hg_kvm_kind(), "absent") == 0) {
		g_test_skip("needs /dev/kvm (absent or not accessible here)");
		return false;
	}
	if (g_getenv("HANGAR_NO_FAST_PATHS")) {
		g_test_skip("HANGAR_NO_FAST_PATHS is set: the fast paths are off");
		return false;
	}
	return true;
}

static void fixture_set_up(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	int fd;

	if (!fast_paths_expected())
		return;
	f->m = hg_machine_new(false, 16 << 20, NULL, &error);
	g_assert_no_error(error);
	f->m->vcpus[0] = hg_vcpu_new(f->m, 0, &error); /* brings the irqchip */
	g_assert_no_error(error);
	f->m->n_vcpus = 1;
	fd = g_file_open_tmp("hangar-fast-paths-XXXXXX.img", &f->image, &error);
	g_assert_no_error(error);
	g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
	close(fd);
	f->backend = hg_block_open(f->image, false, &error);
	g_assert_no_error(error);
	f->bus = hg_pci_bus_new(f->m);
	f->vp = (HgVirtioPci *)hg_virtio_blk_create(f->m, f->bus, DEVFN, "virtio-blk0", f->backend,
						    "fast-paths", &error);
	g_assert_no_error(error);
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
	if (!f->m)
		return;
	hg_machine_free(f->m);
	hg_pci_bus_free(f->bus);
	hg_block_close(f->backend);
	g_unlink(f->image);
	g_free(f->image);
}

static void config_write(Fixture *f, unsigned offset, unsigned size, uint32_t value)
{
	hg_pci_bus_config_write(f->bus, DEVFN, offset, size, value);
}

static void common_write(Fixture *f, unsigned offset, unsigned size, uint64_t value)
{
	hg_address_space_write(&f->m->mmio, f->vp->pci.bars[0].mapped_at + offset, size, value);
}

static void msix_entry_write(Fixture *f, unsigned vector, unsigned field, uint32_t value)
{
	hg_address_space_write(&f->m->mmio, BAR1_ADDRESS + 16 * vector + field, 4, value);
}

static void msix_control(Fixture *f, uint16_t bits)
{
	config_write(f, f->vp->pci.msix_cap + 2, 2, bits);
}

static void driver_ok(Fixture *f)
{
	config_write(f, HG_PCI_BAR0, 4, BAR0_ADDRESS);
	config_write(f, HG_PCI_BAR0 + 4, 4, BAR1_ADDRESS);
	config_write(f, HG_PCI_COMMAND, 2, HG_PCI_COMMAND_MEMORY | HG_PCI_COMMAND_MASTER);
	common_write(f, CC_DEVICE_STATUS, 1, 0x03);
	common_write(f, CC_DRIVER_FEATURE_SELECT, 4, 1);
	common_write(f, CC_DRIVER_FEATURE, 4, 1); /* VIRTIO_F_VERSION_1 */
	common_write(f, CC_DEVICE_STATUS, 1, 0x0B);
	common_write(f, CC_QUEUE_SELECT, 2, 0);
	common_write(f, CC_QUEUE_SIZE, 2, QUEUE_SIZE);
	common_write(f, CC_QUEUE_DESC, 8, RING_DESC);
	common_write(f, CC_QUEUE_DRIVER, 8, RING_AVAIL);
	common_write(f, CC_QUEUE_DEVICE, 8, RING_USED);
	common_write(f, CC_QUEUE_ENABLE, 2, 1);
	common_write(f, CC_DEVICE_STATUS, 1, STATUS_DRIVER_OK_ALL);
	g_assert_cmphex(f->vp->status, ==, STATUS_DRIVER_OK_ALL);
}

/* KVM allows one ioeventfd per address (any length covers all). */
static bool ioeventfd_at(Fixture *f, uint64_t address)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	bool taken;

	if (hg_kvm_add_ioeventfd(f->m->kvm, address, 0, false, fd)) {
		g_assert_true(hg_kvm_remove_ioeventfd(f->m->kvm, address, 0, false, fd));
		taken = false;
	} else {
		g_assert_cmpint(errno, ==, EEXIST);
		taken = true;
	}
	close(fd);
	return taken;
}

static void test_notify_ioeventfd_follows_the_device(Fixture *f, gconstpointer data)
{
	if (!f->m)
		return;
	g_assert_false(ioeventfd_at(f, BAR0_ADDRESS + NOTIFY_OFFSET));
	driver_ok(f);
	g_assert_true(ioeventfd_at(f, BAR0_ADDRESS + NOTIFY_OFFSET));

	/* The guest moves BAR0: the ioeventfd moves with it. */
	config_write(f, HG_PCI_BAR0, 4, BAR0_MOVED);
	g_assert_false(ioeventfd_at(f, BAR0_ADDRESS + NOTIFY_OFFSET));
	g_assert_true(ioeventfd_at(f, BAR0_MOVED + NOTIFY_OFFSET));

	/* Memory decoding off, then on again. */
	config_write(f, HG_PCI_COMMAND, 2, HG_PCI_COMMAND_MASTER);
	g_assert_false(ioeventfd_at(f, BAR0_MOVED + NOTIFY_OFFSET));
	config_write(f, HG_PCI_COMMAND, 2, HG_PCI_COMMAND_MEMORY | HG_PCI_COMMAND_MASTER);
	g_assert_true(ioeventfd_at(f, BAR0_MOVED + NOTIFY_OFFSET));

	/* Driver reset, then machine reset. */
	common_write(f, CC_DEVICE_STATUS, 1, 0);
	g_assert_false(ioeventfd_at(f, BAR0_MOVED + NOTIFY_OFFSET));
	driver_ok(f);
	g_assert_true(ioeventfd_at(f, BAR0_ADDRESS + NOTIFY_OFFSET));
	hg_machine_reset_devices(f->m);
	g_assert_false(ioeventfd_at(f, BAR0_ADDRESS + NOTIFY_OFFSET));
}

static void put_descriptor(Fixture *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			   uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	g_assert_true(hg_memory_write(&f->m->memory, RING_DESC + 16 * i, d, sizeof(d)));
}

static uint16_t used_idx(Fixture *f)
{
	uint16_t idx;
	g_assert_true(hg_memory_read(&f->m->memory, RING_USED + 2, &idx, 2));
	return idx;
}

/* What KVM does on a notify write: signal the eventfd.  The main loop then
 * runs the queue. */
static void test_notify_eventfd_runs_the_queue(Fixture *f, gconstpointer data)
{
	uint32_t header[4] = {8 /* VIRTIO_BLK_T_GET_ID */, 0, 0, 0};
	uint16_t avail[3] = {0, 1, 0}; /* flags, idx, ring[0] = head 0 */
	uint64_t one = 1;
	char id[21] = {0};
	uint8_t status = 0xff;
	gint64 deadline;

	if (!f->m)
		return;
	driver_ok(f);
	hg_memory_write(&f->m->memory, REQ_HEADER, header, sizeof(header));
	put_descriptor(f, 0, REQ_HEADER, 16, 1, 1);
	put_descriptor(f, 1, REQ_DATA, 20, 1 | 2, 2);
	put_descriptor(f, 2, REQ_STATUS, 1, 2, 0);
	hg_memory_write(&f->m->memory, RING_AVAIL, avail, sizeof(avail));

	g_assert_nonnull(f->vp->notifiers);
	g_assert_cmpint(write(f->vp->notifiers[0].fd, &one, sizeof(one)), ==, sizeof(one));
	g_assert_cmpuint(used_idx(f), ==, 0); /* nothing happens before the main loop runs */
	deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (used_idx(f) == 0 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(used_idx(f), ==, 1);
	hg_memory_read(&f->m->memory, REQ_STATUS, &status, 1);
	hg_memory_read(&f->m->memory, REQ_DATA, id, 20);
	g_assert_cmpuint(status, ==, 0);
	g_assert_cmpstr(id, ==, "fast-paths");
}

static void lapic_enable(Fixture *f)
{
	struct kvm_lapic_state s;
	uint32_t svr;

	g_assert_cmpint(ioctl(f->m->vcpus[0]->fd, KVM_GET_LAPIC, &s), ==, 0);
	memcpy(&svr, s.regs + LAPIC_SVR, 4);
	svr |= LAPIC_SVR_ENABLE;
	memcpy(s.regs + LAPIC_SVR, &svr, 4);
	memset(s.regs + LAPIC_IRR, 0, 0x80); /* IRR: 8 registers, 16 bytes apart */
	g_assert_cmpint(ioctl(f->m->vcpus[0]->fd, KVM_SET_LAPIC, &s), ==, 0);
}

static bool lapic_has_vector(Fixture *f, unsigned vector)
{
	struct kvm_lapic_state s;
	uint32_t irr;

	/* An irqfd may inject from a kernel worker: give it a moment. */
	for (int i = 0; i < 1000; i++) {
		g_assert_cmpint(ioctl(f->m->vcpus[0]->fd, KVM_GET_LAPIC, &s), ==, 0);
		memcpy(&irr, s.regs + LAPIC_IRR + vector / 32 * 0x10, 4);
		if (irr & 1u << (vector % 32))
			return true;
		g_usleep(1000);
	}
	return false;
}

static bool msix_pending(Fixture *f, unsigned vector)
{
	return f->vp->pci.msix_pending[vector / 64] >> (vector % 64) & 1;
}

static void test_msix_vector_uses_an_irqfd_while_unmasked(Fixture *f, gconstpointer data)
{
	HgPciMsixIrqfd *irqfd;

	if (!f->m)
		return;
	lapic_enable(f);
	driver_ok(f);
	msix_entry_write(f, 1, 0, MSI_ADDRESS_APIC0);
	msix_entry_write(f, 1, 8, 0x45);
	msix_entry_write(f, 1, 12, 0); /* unmasked */
	common_write(f, CC_QUEUE_MSIX_VECTOR, 2, 1);
	irqfd = &f->vp->pci.msix_irqfds[1];
	g_assert_true(irqfd->wanted);
	g_assert_false(irqfd->bound); /* MSI-X still off */
	msix_control(f, MSIX_CONTROL_ENABLE);
	g_assert_true(irqfd->bound);
	g_assert_cmpint(irqfd->gsi, >=, FIRST_MSI_GSI);
	g_assert_false(f->vp->pci.msix_irqfds[0].wanted); /* no configuration vector */
	g_assert_cmpuint(hg_kvm_msi_route_count(f->m->kvm), ==, 1);
	hg_pci_notify(&f->vp->pci, 1);
	g_assert_true(lapic_has_vector(f, 0x45));

	/* Masked: no irqfd, the pending bit instead (PCI 3.0, 6.8.2.9). */
	msix_entry_write(f, 1, 12, 1);
	g_assert_false(irqfd->bound);
	hg_pci_notify(&f->vp->pci, 1);
	g_assert_true(msix_pending(f, 1));
	/* A new message while masked; unmasking delivers the pending one with
	 * it and binds the irqfd to the updated route. */
	msix_entry_write(f, 1, 8, 0x46);
	msix_entry_write(f, 1, 12, 0);
	g_assert_false(msix_pending(f, 1));
	g_assert_true(lapic_has_vector(f, 0x46));
	g_assert_true(irqfd->bound);
	lapic_enable(f); /* clears the IRR */
	hg_pci_notify(&f->vp->pci, 1);
	g_assert_true(lapic_has_vector(f, 0x46));

	/* The function mask unbinds every vector. */
	msix_control(f, MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK);
	g_assert_false(irqfd->bound);
	hg_pci_notify(&f->vp->pci, 1);
	g_assert_true(msix_pending(f, 1));
	msix_control(f, MSIX_CONTROL_ENABLE);
	g_assert_true(irqfd->bound);
	g_assert_false(msix_pending(f, 1));

	/* The driver resets the device: its vectors are given up. */
	common_write(f, CC_DEVICE_STATUS, 1, 0);
	g_assert_false(irqfd->bound);
	g_assert_cmpint(irqfd->gsi, ==, -1);
	g_assert_cmpuint(hg_kvm_msi_route_count(f->m->kvm), ==, 0);
}

static void test_load_rebuilds_the_fast_paths(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) record = NULL;
	HgDevice *dev;

	if (!f->m)
		return;
	dev = &f->vp->pci.dev;
	driver_ok(f);
	msix_entry_write(f, 1, 0, MSI_ADDRESS_APIC0);
	msix_entry_write(f, 1, 8, 0x45);
	msix_entry_write(f, 1, 12, 0);
	common_write(f, CC_QUEUE_MSIX_VECTOR, 2, 1);
	msix_control(f, MSIX_CONTROL_ENABLE);
	record = g_variant_ref_sink(hg_device_save(dev));

	hg_machine_reset_devices(f->m);
	g_assert_false(ioeventfd_at(f, BAR0_ADDRESS + NOTIFY_OFFSET));
	g_assert_false(f->vp->pci.msix_irqfds[1].bound);
	g_assert_cmpuint(hg_kvm_msi_route_count(f->m->kvm), ==, 0);

	g_assert_true(hg_device_load(dev, record, &error));
	g_assert_no_error(error);
	g_assert_true(ioeventfd_at(f, BAR0_ADDRESS + NOTIFY_OFFSET));
	g_assert_true(f->vp->pci.msix_irqfds[1].bound);
	g_assert_cmpuint(hg_kvm_msi_route_count(f->m->kvm), ==, 1);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/virtio-fast-paths/notify-ioeventfd-follows-driver-ok-bar-and-reset", Fixture,
		   NULL, fixture_set_up, test_notify_ioeventfd_follows_the_device,
		   fixture_tear_down);
	g_test_add("/virtio-fast-paths/notify-eventfd-runs-the-queue-on-the-main-loop", Fixture,
		   NULL, fixture_set_up, test_notify_eventfd_runs_the_queue, fixture_tear_down);
	g_test_add("/virtio-fast-paths/msix-vector-uses-an-irqfd-while-unmasked", Fixture, NULL,
		   fixture_set_up, test_msix_vector_uses_an_irqfd_while_unmasked,
		   fixture_tear_down);
	g_test_add("/virtio-fast-paths/load-rebuilds-ioeventfd-and-irqfd", Fixture, NULL,
		   fixture_set_up, test_load_rebuilds_the_fast_paths, fixture_tear_down);
	return g_test_run();
}

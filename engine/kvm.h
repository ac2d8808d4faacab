/* The VM-wide side of /dev/kvm: the VM, its memory slots, the in-kernel
 * irqchip and PIT, the clock, and the ioeventfd/irqfd hooks that fast device
 * paths use. */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/memory.h"

#define HG_KVM_MAX_SLOTS 512 /* ours to number; KVM allows far more */

struct HgKvm {
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	bool software_kvm; /* kvm_pvm: supervisor code is emulated, slowly */
	struct kvm_cpuid2 *supported_cpuid;
	uint32_t n_msrs; /* MSRs that KVM_GET_MSRS accepts, probed once */
	uint32_t *msr_indices;
	int xsave_size; /* bytes for KVM_GET_XSAVE(2) */
	uint64_t slots_used[HG_KVM_MAX_SLOTS / 64]; /* memory slot numbers in use */
	bool irqchip_created;
	struct HgKvmRoutes *routes; /* GSI routing, made on first MSI route */
};

typedef struct HgKvm HgKvm;

/* Which /dev/kvm this is, without opening it: "hardware", "kvm_pvm" or
 * "absent".  Tests use it to decide what they can run. */
const char *hg_kvm_kind(void);

/* The VM without its irqchip: map memory, then hg_kvm_create_irqchip. */
HgKvm *hg_kvm_new(GError **error);
/* The in-kernel PIC/IOAPIC/LAPIC and PIT; once, before the first vCPU. */
bool hg_kvm_create_irqchip(HgKvm *kvm, GError **error);
void hg_kvm_free(HgKvm *kvm);
/* Learn which MSRs this host really saves, on the first vCPU created. */
void hg_kvm_probe_msrs(HgKvm *kvm, int vcpu_fd);

/* Map every RAM region into the VM. */
bool hg_kvm_map_ram(HgKvm *kvm, HgGuestMemory *mem, GError **error);
/* Map host memory at gpa; read_only makes guest writes exit as MMIO. */
bool hg_kvm_map_host(HgKvm *kvm, uint64_t gpa, void *host, uint64_t size, bool read_only,
		     GError **error);
/* The same for memory that may move or go away (a PCI BAR backed by host
 * memory): flags are KVM_MEM_READONLY and KVM_MEM_LOG_DIRTY_PAGES.  Returns
 * the slot number, or -1 with error set (e.g. the range overlaps a slot). */
int hg_kvm_map_host_slot(HgKvm *kvm, uint64_t gpa, void *host, uint64_t size, uint32_t flags,
			 GError **error);
void hg_kvm_unmap_slot(HgKvm *kvm, int slot);
/* For a slot mapped with KVM_MEM_LOG_DIRTY_PAGES: which of its 4 KiB pages
 * the guest wrote since the last call, one bit per page in 64-bit words
 * (bitmap must hold the whole slot).  KVM clears its log as it reports. */
bool hg_kvm_get_dirty_log(HgKvm *kvm, int slot, uint64_t *bitmap);

bool hg_kvm_irq_line(HgKvm *kvm, unsigned gsi, bool level);
bool hg_kvm_signal_msi(HgKvm *kvm, uint64_t address, uint32_t data);
/* The fast paths for later devices: an eventfd signalled when the guest
 * writes addr (pio or mmio), and an eventfd that raises gsi. */
bool hg_kvm_add_ioeventfd(HgKvm *kvm, uint64_t addr, unsigned len, bool pio, int fd);
bool hg_kvm_remove_ioeventfd(HgKvm *kvm, uint64_t addr, unsigned len, bool pio, int fd);
bool hg_kvm_add_irqfd(HgKvm *kvm, unsigned gsi, int fd);
bool hg_kvm_remove_irqfd(HgKvm *kvm, unsigned gsi, int fd);

/* MSI routes, for irqfds that deliver a message: KVM's GSI routing table
 * holds the irqchip's own routes (GSIs 0-23, kept in every table set here)
 * plus one entry per route from GSI 24 up, within KVM_CAP_IRQ_ROUTING's
 * limit.  An irqfd bound to the returned GSI sends (address, data); an
 * update takes effect for the irqfds already bound.  Returns the GSI, or
 * -ENOSPC (table full), -ENOTSUP, or KVM's error.  Any thread. */
int hg_kvm_msi_route_add(HgKvm *kvm, uint64_t address, uint32_t data);
int hg_kvm_msi_route_update(HgKvm *kvm, unsigned gsi, uint64_t address, uint32_t data);
/* Unbind the route's irqfds first. */
void hg_kvm_msi_route_remove(HgKvm *kvm, unsigned gsi);
/* How many MSI routes are in use (tests). */
unsigned hg_kvm_msi_route_count(HgKvm *kvm);

/* VM-wide state for save/restore: PIC, IOAPIC, PIT, kvmclock.  Returns a
 * floating a{sv}. */
GVariant *hg_kvm_save_vm_state(HgKvm *kvm, GError **error);
bool hg_kvm_load_vm_state(HgKvm *kvm, GVariant *record, GError **error);

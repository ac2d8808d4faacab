#include "engine/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/device.h"

/* Below the firmware, where QEMU puts them too; Intel VT needs both. */
#define KVM_IDENTITY_MAP_ADDR 0xFEFFC000
#define KVM_TSS_ADDR 0xFEFFD000

typedef struct HgKvmRoutes HgKvmRoutes;
static void kvm_routes_free(HgKvmRoutes *r);

const char *hg_kvm_kind(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		return "absent";
	if (g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_EXISTS))
		return "kvm_pvm";
	return "hardware";
}

static bool kvm_fail(GError **error, const char *what)
{
	int saved = errno;
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "KVM: %s: %s", what,
		    g_strerror(saved));
	return false;
}

static struct kvm_cpuid2 *kvm_get_supported_cpuid(int kvm_fd)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + n * sizeof(c->entries[0]));
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		g_free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

/* KVM lists MSRs it knows; some of those still fail on this host (FACTS.md),
 * so each is tried once here and only the ones that read back are saved. */
void hg_kvm_probe_msrs(HgKvm *kvm, int vcpu_fd)
{
	if (kvm->msr_indices)
		return;
	struct kvm_msr_list probe = {.nmsrs = 0};
	struct kvm_msr_list *list;
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry entry;
	} one;

	if (ioctl(kvm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return;
	list = g_malloc0(sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	list->nmsrs = probe.nmsrs;
	if (ioctl(kvm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		g_free(list);
		return;
	}
	kvm->msr_indices = g_new(uint32_t, list->nmsrs);
	for (uint32_t i = 0; i < list->nmsrs; i++) {
		memset(&one, 0, sizeof(one));
		one.head.nmsrs = 1;
		one.entry.index = list->indices[i];
		if (ioctl(vcpu_fd, KVM_GET_MSRS, &one) == 1)
			kvm->msr_indices[kvm->n_msrs++] = list->indices[i];
	}
	g_free(list);
}

HgKvm *hg_kvm_new(GError **error)
{
	g_autofree HgKvm *kvm = g_new0(HgKvm, 1);

	kvm->vm_fd = -1;
	kvm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->kvm_fd < 0) {
		kvm_fail(error, "cannot open /dev/kvm");
		return NULL;
	}
	if (ioctl(kvm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "KVM: unexpected API version");
		goto fail;
	}
	kvm->software_kvm = strcmp(hg_kvm_kind(), "kvm_pvm") == 0;
	kvm->vcpu_mmap_size = ioctl(kvm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	kvm->supported_cpuid = kvm_get_supported_cpuid(kvm->kvm_fd);
	if (kvm->vcpu_mmap_size <= 0 || !kvm->supported_cpuid) {
		kvm_fail(error, "cannot query vCPU size or CPUID");
		goto fail;
	}
	kvm->xsave_size = ioctl(kvm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	if (kvm->xsave_size < (int)sizeof(struct kvm_xsave))
		kvm->xsave_size = sizeof(struct kvm_xsave);

	kvm->vm_fd = ioctl(kvm->kvm_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		kvm_fail(error, "cannot create a VM");
		goto fail;
	}
	if (ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){KVM_IDENTITY_MAP_ADDR}) < 0 &&
	    errno != EINVAL && errno != ENOTTY)
		g_debug("KVM_SET_IDENTITY_MAP_ADDR: %s", g_strerror(errno));
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 && errno != EINVAL)
		g_debug("KVM_SET_TSS_ADDR: %s", g_strerror(errno));
	return g_steal_pointer(&kvm);
fail:
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	close(kvm->kvm_fd);
	g_free(kvm->supported_cpuid);
	return NULL;
}

/* Memory slots registered after the irqchip and PIT exist each wait for an
 * SRCU grace period in the kernel (1-2 jiffies, several ms: measured by
 * tests/bench/bench-start.py), so the engine maps RAM and firmware first
 * and creates these afterwards, just before the first vCPU. */
bool hg_kvm_create_irqchip(HgKvm *kvm, GError **error)
{
	struct kvm_pit_config pit = {.flags = 0};

	if (kvm->irqchip_created)
		return true;
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return kvm_fail(error, "cannot create the in-kernel irqchip");
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return kvm_fail(error, "cannot create the in-kernel PIT");
	/* Lost PIT ticks are dropped, as an 8259 drops an edge on a line
	 * whose IRR bit is still set, instead of KVM's default of queueing
	 * them and injecting them back to back once IRQ 0 is acknowledged.
	 * Under kvm_pvm, real-mode and 32-bit supervisor code runs in the
	 * host's emulator, so firmware and boot loaders (GRUB) spend seconds
	 * with IF=0; the queue grows by 18.2 ticks a second, and while it
	 * drains IRQ 0, the 8259's highest priority, is always pending, so
	 * the keyboard's IRQ 1 waits: GRUB answered a key 10-24 s late
	 * (tests/display/test-clients-grub.c; QEMU+KVM here with its default
	 * lost_tick_policy took 79-83 s, 0.4-1.2 s with "discard").  Hardware
	 * KVM keeps the default. */
	if (kvm->software_kvm) {
		struct kvm_reinject_control reinject = {.pit_reinject = 0};
		if (ioctl(kvm->vm_fd, KVM_REINJECT_CONTROL, &reinject) < 0)
			g_debug("KVM_REINJECT_CONTROL: %s", g_strerror(errno));
	}
	kvm->irqchip_created = true;
	return true;
}

void hg_kvm_free(HgKvm *kvm)
{
	if (!kvm)
		return;
	close(kvm->vm_fd);
	close(kvm->kvm_fd);
	g_free(kvm->supported_cpuid);
	g_free(kvm->msr_indices);
	kvm_routes_free(kvm->routes);
	g_free(kvm);
}

int hg_kvm_map_host_slot(HgKvm *kvm, uint64_t gpa, void *host, uint64_t size, uint32_t flags,
			 GError **error)
{
	struct kvm_userspace_memory_region region = {
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};
	unsigned slot = 0;

	while (slot < HG_KVM_MAX_SLOTS && (kvm->slots_used[slot / 64] & (1ull << (slot % 64))))
		slot++;
	if (slot == HG_KVM_MAX_SLOTS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "KVM: no free memory slot");
		return -1;
	}
	region.slot = slot;
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		kvm_fail(error, "cannot map guest memory");
		return -1;
	}
	kvm->slots_used[slot / 64] |= 1ull << (slot % 64);
	return (int)slot;
}

void hg_kvm_unmap_slot(HgKvm *kvm, int slot)
{
	/* A size of zero deletes the slot. */
	struct kvm_userspace_memory_region region = {.slot = (uint32_t)slot};

	if (slot < 0 || slot >= HG_KVM_MAX_SLOTS ||
	    !(kvm->slots_used[slot / 64] & (1ull << (slot % 64))))
		return;
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		g_warning("KVM: cannot delete memory slot %d: %s", slot, g_strerror(errno));
	kvm->slots_used[slot / 64] &= ~(1ull << (slot % 64));
}

bool hg_kvm_get_dirty_log(HgKvm *kvm, int slot, uint64_t *bitmap)
{
	struct kvm_dirty_log log = {.slot = (uint32_t)slot, .dirty_bitmap = bitmap};

	return ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) == 0;
}

bool hg_kvm_map_host(HgKvm *kvm, uint64_t gpa, void *host, uint64_t size, bool read_only,
		     GError **error)
{
	return hg_kvm_map_host_slot(kvm, gpa, host, size, read_only ? KVM_MEM_READONLY : 0,
				    error) >= 0;
}

bool hg_kvm_map_ram(HgKvm *kvm, HgGuestMemory *mem, GError **error)
{
	for (unsigned i = 0; i < mem->n_regions; i++) {
		HgRamRegion *r = &mem->regions[i];
		if (!hg_kvm_map_host(kvm, r->guest_phys, r->host, r->size, false, error))
			return false;
	}
	return true;
}

bool hg_kvm_irq_line(HgKvm *kvm, unsigned gsi, bool level)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = level};
	return ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) == 0;
}

bool hg_kvm_signal_msi(HgKvm *kvm, uint64_t address, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)address,
		.address_hi = (uint32_t)(address >> 32),
		.data = data,
	};
	/* 0: the guest had the vector masked; > 0: delivered. */
	return ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) >= 0;
}

static bool kvm_ioeventfd(HgKvm *kvm, uint64_t addr, unsigned len, bool pio, int fd,
			  bool remove)
{
	struct kvm_ioeventfd ev = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (remove ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
	};
	return ioctl(kvm->vm_fd, KVM_IOEVENTFD, &ev) == 0;
}

bool hg_kvm_add_ioeventfd(HgKvm *kvm, uint64_t addr, unsigned len, bool pio, int fd)
{
	return kvm_ioeventfd(kvm, addr, len, pio, fd, false);
}

bool hg_kvm_remove_ioeventfd(HgKvm *kvm, uint64_t addr, unsigned len, bool pio, int fd)
{
	return kvm_ioeventfd(kvm, addr, len, pio, fd, true);
}

bool hg_kvm_add_irqfd(HgKvm *kvm, unsigned gsi, int fd)
{
	struct kvm_irqfd irqfd = {.fd = fd, .gsi = gsi};
	return ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) == 0;
}

bool hg_kvm_remove_irqfd(HgKvm *kvm, unsigned gsi, int fd)
{
	struct kvm_irqfd irqfd = {.fd = fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN};
	return ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) == 0;
}

/* ---- GSI routing ----
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so each table set here
 * starts with what KVM_CREATE_IRQCHIP installed (kvm_setup_default_irq_routing,
 * arch/x86/kvm/irq_comm.c): GSIs 0-15 to the 8259 pin of that number and the
 * IOAPIC pin of that number, GSIs 16-23 to the IOAPIC only.  MSI routes take
 * GSIs from 24 up; KVM refuses GSI numbers and tables beyond its limit. */

#define ROUTES_FIRST_MSI_GSI 24
#define ROUTES_IRQCHIP_ENTRIES (24 + 16)

struct HgKvmRoutes {
	GMutex lock; /* guards everything below and the table in KVM */
	unsigned max_entries; /* KVM_CAP_IRQ_ROUTING */
	unsigned n_slots; /* msi[] and used[], by gsi - 24; grows */
	unsigned n_used;
	struct kvm_irq_routing_msi *msi;
	bool *used;
};

static HgKvmRoutes *kvm_routes(HgKvm *kvm)
{
	static GMutex create_lock;
	HgKvmRoutes *r;

	g_mutex_lock(&create_lock);
	r = kvm->routes;
	if (!r) {
		int max = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
		r = g_new0(HgKvmRoutes, 1);
		g_mutex_init(&r->lock);
		r->max_entries = max > ROUTES_IRQCHIP_ENTRIES ? max : 0;
		kvm->routes = r;
	}
	g_mutex_unlock(&create_lock);
	return r;
}

static void kvm_routes_free(HgKvmRoutes *r)
{
	if (!r)
		return;
	g_mutex_clear(&r->lock);
	g_free(r->msi);
	g_free(r->used);
	g_free(r);
}

static void routes_add_irqchip(struct kvm_irq_routing_entry *e, unsigned gsi, unsigned chip,
			       unsigned pin)
{
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = {.irqchip = chip, .pin = pin},
	};
}

/* Hand KVM the whole table; lock held. */
static int routes_commit(HgKvm *kvm, HgKvmRoutes *r)
{
	unsigned n = 0;
	g_autofree struct kvm_irq_routing *table = g_malloc0(
		sizeof(*table) + (ROUTES_IRQCHIP_ENTRIES + r->n_used) * sizeof(table->entries[0]));

	for (unsigned gsi = 0; gsi < 24; gsi++) {
		routes_add_irqchip(&table->entries[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < 16)
			routes_add_irqchip(&table->entries[n++], gsi,
					   gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
					   gsi % 8);
	}
	for (unsigned i = 0; i < r->n_slots; i++) {
		if (!r->used[i])
			continue;
		table->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = ROUTES_FIRST_MSI_GSI + i,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = r->msi[i],
		};
	}
	table->nr = n;
	if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, table) < 0)
		return -errno;
	return 0;
}

static struct kvm_irq_routing_msi routes_msi(uint64_t address, uint32_t data)
{
	return (struct kvm_irq_routing_msi){
		.address_lo = (uint32_t)address,
		.address_hi = (uint32_t)(address >> 32),
		.data = data,
	};
}

int hg_kvm_msi_route_add(HgKvm *kvm, uint64_t address, uint32_t data)
{
	HgKvmRoutes *r = kvm_routes(kvm);
	unsigned i;
	int err;

	if (!r->max_entries)
		return -ENOTSUP;
	g_mutex_lock(&r->lock);
	if (ROUTES_IRQCHIP_ENTRIES + r->n_used >= r->max_entries) {
		g_mutex_unlock(&r->lock);
		return -ENOSPC;
	}
	for (i = 0; i < r->n_slots && r->used[i]; i++)
		;
	if (i == r->n_slots) {
		unsigned grown = MAX(16u, r->n_slots * 2);
		r->msi = g_renew(struct kvm_irq_routing_msi, r->msi, grown);
		r->used = g_renew(bool, r->used, grown);
		memset(r->used + r->n_slots, 0, (grown - r->n_slots) * sizeof(bool));
		r->n_slots = grown;
	}
	r->msi[i] = routes_msi(address, data);
	r->used[i] = true;
	r->n_used++;
	err = routes_commit(kvm, r);
	if (err < 0) {
		r->used[i] = false;
		r->n_used--;
	}
	g_mutex_unlock(&r->lock);
	return err < 0 ? err : (int)(ROUTES_FIRST_MSI_GSI + i);
}

static bool routes_slot(HgKvmRoutes *r, unsigned gsi, unsigned *slot)
{
	*slot = gsi - ROUTES_FIRST_MSI_GSI;
	return gsi >= ROUTES_FIRST_MSI_GSI && *slot < r->n_slots && r->used[*slot];
}

int hg_kvm_msi_route_update(HgKvm *kvm, unsigned gsi, uint64_t address, uint32_t data)
{
	HgKvmRoutes *r = kvm_routes(kvm);
	struct kvm_irq_routing_msi old, now = routes_msi(address, data);
	unsigned i;
	int err = 0;

	g_mutex_lock(&r->lock);
	if (!routes_slot(r, gsi, &i)) {
		err = -ENOENT;
	} else if (memcmp(&r->msi[i], &now, sizeof(now)) != 0) {
		old = r->msi[i];
		r->msi[i] = now;
		err = routes_commit(kvm, r);
		if (err < 0)
			r->msi[i] = old;
	}
	g_mutex_unlock(&r->lock);
	return err;
}

void hg_kvm_msi_route_remove(HgKvm *kvm, unsigned gsi)
{
	HgKvmRoutes *r = kvm_routes(kvm);
	unsigned i;
	int err;

	g_mutex_lock(&r->lock);
	if (routes_slot(r, gsi, &i)) {
		r->used[i] = false;
		r->n_used--;
		/* Should KVM refuse, the stale entry has no irqfd left: harmless,
		 * and the next table set drops it. */
		err = routes_commit(kvm, r);
		if (err < 0)
			g_debug("KVM_SET_GSI_ROUTING: %s", g_strerror(-err));
	}
	g_mutex_unlock(&r->lock);
}

unsigned hg_kvm_msi_route_count(HgKvm *kvm)
{
	HgKvmRoutes *r = kvm_routes(kvm);
	unsigned n;

	g_mutex_lock(&r->lock);
	n = r->n_used;
	g_mutex_unlock(&r->lock);
	return n;
}

static const char *const irqchip_names[] = {"pic-master", "pic-slave", "ioapic"};

GVariant *hg_kvm_save_vm_state(HgKvm *kvm, GError **error)
{
	GVariantBuilder b;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = {0};

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	for (unsigned i = 0; i < G_N_ELEMENTS(irqchip_names); i++) {
		struct kvm_irqchip chip = {.chip_id = i};
		if (ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0) {
			g_variant_builder_clear(&b);
			kvm_fail(error, "cannot read the irqchip");
			return NULL;
		}
		g_variant_builder_add(&b, "{sv}", irqchip_names[i],
				      hg_bytes_variant(&chip.chip, sizeof(chip.chip)));
	}
	if (ioctl(kvm->vm_fd, KVM_GET_PIT2, &pit) < 0 ||
	    ioctl(kvm->vm_fd, KVM_GET_CLOCK, &clock) < 0) {
		g_variant_builder_clear(&b);
		kvm_fail(error, "cannot read the PIT or the clock");
		return NULL;
	}
	g_variant_builder_add(&b, "{sv}", "pit", hg_bytes_variant(&pit, sizeof(pit)));
	g_variant_builder_add(&b, "{sv}", "kvmclock", g_variant_new_uint64(clock.clock));
	return g_variant_builder_end(&b);
}

bool hg_kvm_load_vm_state(HgKvm *kvm, GVariant *record, GError **error)
{
	g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT(record);
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = {0};

	for (unsigned i = 0; i < G_N_ELEMENTS(irqchip_names); i++) {
		struct kvm_irqchip chip = {.chip_id = i};
		if (!hg_record_bytes(&dict, irqchip_names[i], &chip.chip, sizeof(chip.chip),
				     error))
			return false;
		if (ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return kvm_fail(error, "cannot restore the irqchip");
	}
	if (!hg_record_bytes(&dict, "pit", &pit, sizeof(pit), error) ||
	    !hg_record_u64(&dict, "kvmclock", (uint64_t *)&clock.clock, error))
		return false;
	if (ioctl(kvm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return kvm_fail(error, "cannot restore the PIT");
	if (ioctl(kvm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return kvm_fail(error, "cannot restore kvmclock");
	return true;
}

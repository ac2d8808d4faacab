/* The engine's GSI routing manager (engine/kvm.c), called directly: MSI
 * routes come and go, the irqchip's own routes survive every table set,
 * and an irqfd bound to an MSI route delivers its message to the LAPIC.
 * Needs /dev/kvm (software KVM is enough). */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "engine/kvm.h"
#include "engine/machine.h"
#include "engine/vcpu.h"

#define FIRST_MSI_GSI 24
#define IRQCHIP_ROUTES (24 + 16) /* IOAPIC pins 0-23, 8259 pins 0-15 */
#define MSI_ADDRESS_APIC0 0xFEE00000u /* physical destination 0 */

/* Local APIC registers (Intel SDM Vol. 3A, "Local APIC Register Address Map"). */
#define LAPIC_SVR 0xF0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_IRR 0x200

static bool require_kvm(void)
{
	if (strcmp(hg_kvm_kind(), "absent") == 0) {
		g_test_skip("needs /dev/kvm (absent or not accessible here)");
		return false;
	}
	return true;
}

static HgMachine *machine_with_vcpus(unsigned n)
{
	g_autoptr(GError) error = NULL;
	HgMachine *m = hg_machine_new(false, 16 << 20, NULL, &error);
	g_assert_no_error(error);
	m->n_vcpus = n;
	for (unsigned i = 0; i < n; i++) {
		m->vcpus[i] = hg_vcpu_new(m, i, &error);
		g_assert_no_error(error);
	}
	return m;
}

static void test_msi_routes_are_added_updated_and_removed(void)
{
	if (!require_kvm())
		return;
	HgMachine *m = machine_with_vcpus(1); /* the first vCPU brings the irqchip */
	int a = hg_kvm_msi_route_add(m->kvm, MSI_ADDRESS_APIC0, 0x40);
	int b = hg_kvm_msi_route_add(m->kvm, MSI_ADDRESS_APIC0, 0x41);

	g_assert_cmpint(a, ==, FIRST_MSI_GSI);
	g_assert_cmpint(b, ==, FIRST_MSI_GSI + 1);
	g_assert_cmpuint(hg_kvm_msi_route_count(m->kvm), ==, 2);
	g_assert_cmpint(hg_kvm_msi_route_update(m->kvm, a, MSI_ADDRESS_APIC0, 0x50), ==, 0);
	/* The same message again is not a new table. */
	g_assert_cmpint(hg_kvm_msi_route_update(m->kvm, a, MSI_ADDRESS_APIC0, 0x50), ==, 0);
	g_assert_cmpint(hg_kvm_msi_route_update(m->kvm, 5, MSI_ADDRESS_APIC0, 0x50), ==, -ENOENT);
	g_assert_cmpint(hg_kvm_msi_route_update(m->kvm, b + 1, MSI_ADDRESS_APIC0, 0), ==, -ENOENT);
	hg_kvm_msi_route_remove(m->kvm, a);
	g_assert_cmpuint(hg_kvm_msi_route_count(m->kvm), ==, 1);
	g_assert_cmpint(hg_kvm_msi_route_update(m->kvm, a, MSI_ADDRESS_APIC0, 0x50), ==, -ENOENT);
	/* The lowest free GSI is used again. */
	g_assert_cmpint(hg_kvm_msi_route_add(m->kvm, MSI_ADDRESS_APIC0, 0x42), ==, a);
	hg_kvm_msi_route_remove(m->kvm, a);
	hg_kvm_msi_route_remove(m->kvm, b);
	hg_kvm_msi_route_remove(m->kvm, b); /* twice: nothing happens */
	g_assert_cmpuint(hg_kvm_msi_route_count(m->kvm), ==, 0);
	hg_machine_free(m);
}

static uint32_t irqchip_irr(HgMachine *m, unsigned chip_id)
{
	struct kvm_irqchip chip = {.chip_id = chip_id};

	g_assert_cmpint(ioctl(m->kvm->vm_fd, KVM_GET_IRQCHIP, &chip), ==, 0);
	return chip_id == KVM_IRQCHIP_IOAPIC ? chip.chip.ioapic.irr : chip.chip.pic.irr;
}

/* Asserting gsi reaches the IOAPIC pin of that number and, below 16, the
 * 8259 pin: each latches it in its IRR (the pins are masked after reset,
 * so nothing is delivered further). */
static void assert_irqchip_route(HgMachine *m, unsigned gsi)
{
	g_assert_true(hg_kvm_irq_line(m->kvm, gsi, true));
	g_assert_true(irqchip_irr(m, KVM_IRQCHIP_IOAPIC) & 1u << gsi);
	if (gsi < 16) {
		unsigned chip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		g_assert_true(irqchip_irr(m, chip) & 1u << (gsi % 8));
	}
	g_assert_true(hg_kvm_irq_line(m->kvm, gsi, false));
	g_assert_false(irqchip_irr(m, KVM_IRQCHIP_IOAPIC) & 1u << gsi);
}

/* What the checks above would see if a table lost the irqchip routes: a
 * table of one MSI route, set by hand, leaves the IOAPIC's IRR alone. */
static void test_irqchip_checks_notice_a_missing_route(void)
{
	if (!require_kvm())
		return;
	HgMachine *m = machine_with_vcpus(1);
	g_autofree struct kvm_irq_routing *table =
		g_malloc0(sizeof(*table) + sizeof(table->entries[0]));

	table->nr = 1;
	table->entries[0] = (struct kvm_irq_routing_entry){
		.gsi = FIRST_MSI_GSI,
		.type = KVM_IRQ_ROUTING_MSI,
		.u.msi = {.address_lo = MSI_ADDRESS_APIC0, .data = 0x40},
	};
	g_assert_cmpint(ioctl(m->kvm->vm_fd, KVM_SET_GSI_ROUTING, table), ==, 0);
	g_assert_true(hg_kvm_irq_line(m->kvm, 4, true));
	g_assert_false(irqchip_irr(m, KVM_IRQCHIP_IOAPIC) & 1u << 4);
	g_assert_false(irqchip_irr(m, KVM_IRQCHIP_PIC_MASTER) & 1u << 4);
	hg_machine_free(m);
}

static void test_irqchip_routes_stay_after_a_table_set(void)
{
	static const unsigned gsis[] = {1, 4, 7, 9, 12, 15, 16, 19, 23};

	if (!require_kvm())
		return;
	HgMachine *m = machine_with_vcpus(1);
	int gsi = hg_kvm_msi_route_add(m->kvm, MSI_ADDRESS_APIC0, 0x40);

	g_assert_cmpint(gsi, >=, FIRST_MSI_GSI);
	for (unsigned i = 0; i < G_N_ELEMENTS(gsis); i++)
		assert_irqchip_route(m, gsis[i]);
	hg_kvm_msi_route_remove(m->kvm, gsi);
	for (unsigned i = 0; i < G_N_ELEMENTS(gsis); i++)
		assert_irqchip_route(m, gsis[i]);
	hg_machine_free(m);
}

static uint32_t lapic_reg(struct kvm_lapic_state *s, unsigned offset)
{
	uint32_t v;
	memcpy(&v, s->regs + offset, 4);
	return v;
}

static bool lapic_irr_has(HgVcpu *vcpu, unsigned vector)
{
	struct kvm_lapic_state s;

	g_assert_cmpint(ioctl(vcpu->fd, KVM_GET_LAPIC, &s), ==, 0);
	return lapic_reg(&s, LAPIC_IRR + vector / 32 * 0x10) & 1u << (vector % 32);
}

/* irqfd injection may be deferred to a kernel worker: wait a little. */
static bool wait_for_irr(HgVcpu *vcpu, unsigned vector)
{
	for (int i = 0; i < 1000; i++) {
		if (lapic_irr_has(vcpu, vector))
			return true;
		g_usleep(1000);
	}
	return false;
}

static void signal_eventfd(int fd)
{
	uint64_t one = 1;
	g_assert_cmpint(write(fd, &one, sizeof(one)), ==, sizeof(one));
}

static void test_irqfd_on_an_msi_route_raises_the_vector(void)
{
	if (!require_kvm())
		return;
	HgMachine *m = machine_with_vcpus(1);
	HgVcpu *vcpu = m->vcpus[0];
	struct kvm_lapic_state s;
	uint32_t svr;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	/* A software-enabled LAPIC accepts fixed interrupts. */
	g_assert_cmpint(ioctl(vcpu->fd, KVM_GET_LAPIC, &s), ==, 0);
	svr = lapic_reg(&s, LAPIC_SVR) | LAPIC_SVR_ENABLE;
	memcpy(s.regs + LAPIC_SVR, &svr, 4);
	g_assert_cmpint(ioctl(vcpu->fd, KVM_SET_LAPIC, &s), ==, 0);
	g_assert_false(lapic_irr_has(vcpu, 0x40));

	int gsi = hg_kvm_msi_route_add(m->kvm, MSI_ADDRESS_APIC0, 0x40);
	g_assert_cmpint(gsi, >=, FIRST_MSI_GSI);
	g_assert_true(hg_kvm_add_irqfd(m->kvm, gsi, fd));
	signal_eventfd(fd);
	g_assert_true(wait_for_irr(vcpu, 0x40));

	/* The guest rewrote the message: the bound irqfd follows. */
	g_assert_cmpint(hg_kvm_msi_route_update(m->kvm, gsi, MSI_ADDRESS_APIC0, 0x51), ==, 0);
	g_assert_false(lapic_irr_has(vcpu, 0x51));
	signal_eventfd(fd);
	g_assert_true(wait_for_irr(vcpu, 0x51));

	/* Unbound, the eventfd is only an eventfd. */
	g_assert_true(hg_kvm_remove_irqfd(m->kvm, gsi, fd));
	hg_kvm_msi_route_remove(m->kvm, gsi);
	signal_eventfd(fd);
	close(fd);
	hg_machine_free(m);
}

static void test_routes_stop_at_kvms_limit(void)
{
	if (!require_kvm())
		return;
	HgMachine *m = machine_with_vcpus(1); /* the first vCPU brings the irqchip */
	int limit = ioctl(m->kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
	int n = 0, err;

	g_assert_cmpint(limit, >, IRQCHIP_ROUTES);
	while ((err = hg_kvm_msi_route_add(m->kvm, MSI_ADDRESS_APIC0, 0x40 + n % 0x80)) >= 0) {
		g_assert_cmpint(err, ==, FIRST_MSI_GSI + n);
		n++;
		g_assert_cmpint(n, <=, limit);
	}
	g_assert_cmpint(err, ==, -ENOSPC);
	g_assert_cmpint(n, ==, limit - IRQCHIP_ROUTES);
	/* Full, the irqchip routes are still there. */
	assert_irqchip_route(m, 4);
	hg_kvm_msi_route_remove(m->kvm, FIRST_MSI_GSI + 7);
	g_assert_cmpint(hg_kvm_msi_route_add(m->kvm, MSI_ADDRESS_APIC0, 0x40), ==,
			FIRST_MSI_GSI + 7);
	hg_machine_free(m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kvm-routing/msi-routes-are-added-updated-and-removed",
			test_msi_routes_are_added_updated_and_removed);
	g_test_add_func("/kvm-routing/irqchip-routes-stay-after-a-table-set",
			test_irqchip_routes_stay_after_a_table_set);
	g_test_add_func("/kvm-routing/irqchip-checks-notice-a-missing-route",
			test_irqchip_checks_notice_a_missing_route);
	g_test_add_func("/kvm-routing/irqfd-on-an-msi-route-raises-the-vector",
			test_irqfd_on_an_msi_route_raises_the_vector);
	g_test_add_func("/kvm-routing/routes-stop-at-kvms-limit", test_routes_stop_at_kvms_limit);
	return g_test_run();
}

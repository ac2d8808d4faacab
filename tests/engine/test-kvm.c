/* The engine's KVM layer, called directly: VM and vCPU creation, CPUID,
 * MSR probing, state round trips and the ioeventfd/irqfd hooks that later
 * devices use.  Needs /dev/kvm (software KVM is enough). */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "engine/kvm.h"
#include "engine/machine.h"
#include "engine/vcpu.h"

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

static void test_kind_matches_loaded_module(void)
{
	const char *kind = hg_kvm_kind();
	if (g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_EXISTS) && access("/dev/kvm", W_OK) == 0)
		g_assert_cmpstr(kind, ==, "kvm_pvm");
	else
		g_assert_true(strcmp(kind, "hardware") == 0 || strcmp(kind, "absent") == 0);
}

static struct kvm_cpuid_entry2 *find_leaf(struct kvm_cpuid2 *c, uint32_t fn, uint32_t index)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static void test_cpuid_names_the_hypervisor_and_apic_ids(void)
{
	if (!require_kvm())
		return;
	HgMachine *m = machine_with_vcpus(3);
	for (unsigned v = 0; v < 3; v++) {
		g_autofree struct kvm_cpuid2 *c =
			g_malloc0(sizeof(*c) + 256 * sizeof(struct kvm_cpuid_entry2));
		c->nent = 256;
		g_assert_cmpint(ioctl(m->vcpus[v]->fd, KVM_GET_CPUID2, c), ==, 0);
		struct kvm_cpuid_entry2 *leaf1 = find_leaf(c, 1, 0);
		g_assert_nonnull(leaf1);
		g_assert_cmpuint(leaf1->ecx >> 31, ==, 1); /* hypervisor present */
		g_assert_cmpuint(leaf1->ebx >> 24, ==, v); /* initial APIC ID */
		g_assert_cmpuint((leaf1->ebx >> 16) & 0xff, ==, 3);
	}
	hg_machine_free(m);
}

static void test_msrs_are_probed(void)
{
	if (!require_kvm())
		return;
	HgMachine *m = machine_with_vcpus(1);
	g_assert_cmpuint(m->kvm->n_msrs, >, 4);
	/* STAR (0xC0000081), the SYSCALL target, is one every x86-64 KVM saves
	 * (EFER travels with the special registers instead). */
	bool star = false;
	for (uint32_t i = 0; i < m->kvm->n_msrs; i++)
		star |= m->kvm->msr_indices[i] == 0xC0000081;
	g_assert_true(star);
	hg_machine_free(m);
}

static void test_vcpu_state_round_trips(void)
{
	if (!require_kvm())
		return;
	g_autoptr(GError) error = NULL;
	HgMachine *m = machine_with_vcpus(1);
	struct kvm_regs regs;
	g_assert_cmpint(ioctl(m->vcpus[0]->fd, KVM_GET_REGS, &regs), ==, 0);
	regs.rax = 0x1234;
	regs.r15 = 0xfeedface;
	g_assert_cmpint(ioctl(m->vcpus[0]->fd, KVM_SET_REGS, &regs), ==, 0);
	g_autoptr(GVariant) saved = g_variant_ref_sink(hg_vcpu_save_state(m->vcpus[0], &error));
	g_assert_no_error(error);
	/* Back to power-on, then the saved state again. */
	g_assert_true(hg_vcpu_load_state(m->vcpus[0], m->vcpus[0]->power_on_state, &error));
	g_assert_cmpint(ioctl(m->vcpus[0]->fd, KVM_GET_REGS, &regs), ==, 0);
	g_assert_cmphex(regs.r15, ==, 0);
	g_assert_true(hg_vcpu_load_state(m->vcpus[0], saved, &error));
	g_assert_no_error(error);
	g_assert_cmpint(ioctl(m->vcpus[0]->fd, KVM_GET_REGS, &regs), ==, 0);
	g_assert_cmphex(regs.rax, ==, 0x1234);
	g_assert_cmphex(regs.r15, ==, 0xfeedface);
	hg_machine_free(m);
}

static void test_vcpu_state_rejects_incomplete_records(void)
{
	if (!require_kvm())
		return;
	g_autoptr(GError) error = NULL;
	HgMachine *m = machine_with_vcpus(1);
	GVariantDict d;
	g_variant_dict_init(&d, m->vcpus[0]->power_on_state);
	g_variant_dict_remove(&d, "lapic");
	g_autoptr(GVariant) broken = g_variant_ref_sink(g_variant_dict_end(&d));
	g_assert_false(hg_vcpu_load_state(m->vcpus[0], broken, &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
	g_variant_dict_init(&d, m->vcpus[0]->power_on_state);
	g_variant_dict_insert(&d, "regs", "s", "not registers");
	g_autoptr(GVariant) mistyped = g_variant_ref_sink(g_variant_dict_end(&d));
	g_assert_false(hg_vcpu_load_state(m->vcpus[0], mistyped, &error));
	g_assert_nonnull(error);
	hg_machine_free(m);
}

static void test_vm_state_round_trips(void)
{
	if (!require_kvm())
		return;
	g_autoptr(GError) error = NULL;
	HgMachine *m = machine_with_vcpus(1);
	g_autoptr(GVariant) vm = g_variant_ref_sink(hg_kvm_save_vm_state(m->kvm, &error));
	g_assert_no_error(error);
	g_assert_true(hg_kvm_load_vm_state(m->kvm, vm, &error));
	g_assert_no_error(error);
	hg_machine_free(m);
}

static void test_irqfd_and_ioeventfd_hooks(void)
{
	if (!require_kvm())
		return;
	HgMachine *m = machine_with_vcpus(1);
	int irq = eventfd(0, EFD_CLOEXEC), io = eventfd(0, EFD_CLOEXEC);
	g_assert_true(hg_kvm_add_irqfd(m->kvm, 10, irq));
	g_assert_true(hg_kvm_remove_irqfd(m->kvm, 10, irq));
	g_assert_true(hg_kvm_add_ioeventfd(m->kvm, 0xc050, 2, true, io));
	/* The same registration twice is refused by KVM. */
	g_assert_false(hg_kvm_add_ioeventfd(m->kvm, 0xc050, 2, true, io));
	g_assert_true(hg_kvm_remove_ioeventfd(m->kvm, 0xc050, 2, true, io));
	g_assert_true(hg_kvm_add_ioeventfd(m->kvm, 0xfe000000, 4, false, io));
	g_assert_true(hg_kvm_remove_ioeventfd(m->kvm, 0xfe000000, 4, false, io));
	close(irq);
	close(io);
	hg_machine_free(m);
}

static void test_64_vcpus_can_be_created(void)
{
	if (!require_kvm())
		return;
	HgMachine *m = machine_with_vcpus(64);
	g_assert_cmpuint(m->n_vcpus, ==, 64);
	hg_machine_free(m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kvm/kind-matches-the-loaded-module", test_kind_matches_loaded_module);
	g_test_add_func("/kvm/cpuid-names-the-hypervisor-and-apic-ids",
			test_cpuid_names_the_hypervisor_and_apic_ids);
	g_test_add_func("/kvm/msrs-are-probed", test_msrs_are_probed);
	g_test_add_func("/kvm/vcpu-state-round-trips", test_vcpu_state_round_trips);
	g_test_add_func("/kvm/vcpu-state-rejects-incomplete-records",
			test_vcpu_state_rejects_incomplete_records);
	g_test_add_func("/kvm/vm-state-round-trips", test_vm_state_round_trips);
	g_test_add_func("/kvm/irqfd-and-ioeventfd-hooks", test_irqfd_and_ioeventfd_hooks);
	g_test_add_func("/kvm/64-vcpus-can-be-created", test_64_vcpus_can_be_created);
	return g_test_run();
}

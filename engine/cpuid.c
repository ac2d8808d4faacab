/* CPUID for each vCPU: KVM_GET_SUPPORTED_CPUID, which already hides what
 * KVM cannot virtualize, adjusted for topology (Intel SDM vol. 2A, CPUID
 * leaves 01H, 04H, 0BH, 1FH) and with the hypervisor bit set, so guests know
 * to use kvmclock and paravirtual features. */
#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "engine/kvm.h"
#include "engine/vcpu.h"

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)

static void cpuid_adjust_entry(struct kvm_cpuid_entry2 *e, unsigned apic_id, unsigned n_vcpus)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) | ((n_vcpus & 0xff) << 16);
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (n_vcpus > 1)
			e->edx |= CPUID_1_EDX_HTT;
		else
			e->edx &= ~CPUID_1_EDX_HTT;
		break;
	case 4:
		/* One core per vCPU, one thread per core, one package. */
		e->eax = (e->eax & 0x3ff) | ((n_vcpus - 1) << 26);
		break;
	case 6: /* thermal and power management: nothing to manage */
	case 0xa: /* architectural PMU: not offered */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0xb:
	case 0x1f: {
		/* Level 0: SMT (1 thread), level 1: cores (n_vcpus). */
		unsigned shift = n_vcpus > 1 ? g_bit_storage(n_vcpus - 1) : 0;
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = (1 << 8) | 0;
		} else if (e->index == 1) {
			e->eax = shift;
			e->ebx = n_vcpus;
			e->ecx = (2 << 8) | 1;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		e->edx = apic_id;
		break;
	}
	}
}

/* Leaves 0x80000002-4 hold the brand string; some KVMs (kvm_pvm) report
 * them empty, and guests then show a blank CPU name. */
static void cpuid_fill_brand(struct kvm_cpuid2 *c)
{
	static const char brand[48] = "Hangar Virtual CPU";
	struct kvm_cpuid_entry2 *leaf[3] = {NULL};

	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function >= 0x80000002 && c->entries[i].function <= 0x80000004)
			leaf[c->entries[i].function - 0x80000002] = &c->entries[i];
	for (unsigned i = 0; i < 3; i++)
		if (!leaf[i] || leaf[i]->eax || leaf[i]->ebx || leaf[i]->ecx || leaf[i]->edx)
			return; /* the host's own name is there: keep it */
	for (unsigned i = 0; i < 3; i++) {
		memcpy(&leaf[i]->eax, brand + 16 * i, 4);
		memcpy(&leaf[i]->ebx, brand + 16 * i + 4, 4);
		memcpy(&leaf[i]->ecx, brand + 16 * i + 8, 4);
		memcpy(&leaf[i]->edx, brand + 16 * i + 12, 4);
	}
}

bool hg_vcpu_set_cpuid(HgVcpu *vcpu, GError **error)
{
	HgKvm *kvm = vcpu->machine->kvm;
	struct kvm_cpuid2 *src = kvm->supported_cpuid;
	size_t size = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	g_autofree struct kvm_cpuid2 *c = g_memdup2(src, size);

	for (unsigned i = 0; i < c->nent; i++)
		cpuid_adjust_entry(&c->entries[i], vcpu->index, vcpu->machine->n_vcpus);
	cpuid_fill_brand(c);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "KVM: cannot set CPUID of vCPU %u: %s", vcpu->index, g_strerror(errno));
		return false;
	}
	return true;
}

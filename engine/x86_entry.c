/* The CPU state a loader hands over: long mode for Linux's 64-bit boot
 * protocol (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol") and
 * ELF64 kernels, 32-bit protected mode for multiboot v1 (Multiboot
 * Specification 0.6.96, section 3.2, "Machine state"). */
#include <errno.h>
#include <gio/gio.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "engine/boot.h"
#include "engine/kvm.h"
#include "engine/vcpu.h"

#define CR0_PE (1u << 0)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)

#define PTE_PRESENT 1ULL
#define PTE_WRITABLE 2ULL
#define PTE_LARGE (1ULL << 7)

/* GDT: null, 64-bit code (0x08), data (0x10), 32-bit code (0x18), TSS (0x20). */
static const uint64_t boot_gdt[] = {
	0,
	0x00af9b000000ffffULL,
	0x00cf93000000ffffULL,
	0x00cf9b000000ffffULL,
	0x00008b0000000fffULL,
};

static struct kvm_segment segment_from_gdt(uint16_t selector)
{
	uint64_t d = boot_gdt[selector >> 3];
	struct kvm_segment s = {
		.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24),
		.limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16)),
		.selector = selector,
		.type = (d >> 40) & 0xf,
		.present = (d >> 47) & 1,
		.dpl = (d >> 45) & 3,
		.db = (d >> 54) & 1,
		.s = (d >> 44) & 1,
		.l = (d >> 53) & 1,
		.g = (d >> 55) & 1,
	};
	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	return s;
}

static bool x86_set_state(HgMachine *m, struct kvm_sregs *sregs, struct kvm_regs *regs,
			  GError **error)
{
	HgVcpu *bsp = m->vcpus[0];

	if (ioctl(bsp->fd, KVM_SET_SREGS, sregs) < 0 || ioctl(bsp->fd, KVM_SET_REGS, regs) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "KVM: cannot set the boot CPU state: %s", g_strerror(errno));
		return false;
	}
	return true;
}

static bool x86_write_gdt(HgMachine *m, struct kvm_sregs *sregs, GError **error)
{
	if (!hg_memory_write(&m->memory, HG_BOOT_GDT, boot_gdt, sizeof(boot_gdt))) {
		g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_TOO_BIG,
			    "guest RAM too small for the boot GDT");
		return false;
	}
	sregs->gdt.base = HG_BOOT_GDT;
	sregs->gdt.limit = sizeof(boot_gdt) - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->tr = segment_from_gdt(0x20);
	sregs->ldt = (struct kvm_segment){.type = 2, .present = 1, .limit = 0xffff};
	return true;
}

/* Identity map of the first 4 GiB with 2 MiB pages: enough for a kernel to
 * set up its own. */
static bool x86_write_page_tables(HgMachine *m, GError **error)
{
	uint64_t *pml4 = hg_memory_ptr(&m->memory, HG_BOOT_PML4, 0x6000);

	if (!pml4) {
		g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_TOO_BIG,
			    "guest RAM too small for the boot page tables");
		return false;
	}
	uint64_t *pdpt = pml4 + 512;
	uint64_t *pd = pml4 + 1024;
	memset(pml4, 0, 0x6000);
	pml4[0] = (HG_BOOT_PML4 + 0x1000) | PTE_PRESENT | PTE_WRITABLE;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (HG_BOOT_PML4 + 0x2000 + i * 0x1000) | PTE_PRESENT | PTE_WRITABLE;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE;
	return true;
}

bool hg_x86_enter_long_mode(HgMachine *m, uint64_t rip, uint64_t rsi, GError **error)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rflags = 2, .rip = rip, .rsi = rsi, .rsp = HG_BOOT_STACK_TOP};
	struct kvm_segment data = segment_from_gdt(0x10);

	if (ioctl(m->vcpus[0]->fd, KVM_GET_SREGS, &sregs) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "KVM: cannot read the boot CPU state: %s", g_strerror(errno));
		return false;
	}
	if (!x86_write_gdt(m, &sregs, error) || !x86_write_page_tables(m, error))
		return false;
	sregs.cs = segment_from_gdt(0x08);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr3 = HG_BOOT_PML4;
	sregs.cr4 |= CR4_PAE;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs.efer |= EFER_LME | EFER_LMA;
	return x86_set_state(m, &sregs, &regs, error);
}

bool hg_x86_enter_protected_mode(HgMachine *m, uint32_t eip, uint32_t eax, uint32_t ebx,
				 GError **error)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rflags = 2, .rip = eip, .rax = eax, .rbx = ebx};
	struct kvm_segment data = segment_from_gdt(0x10);

	if (ioctl(m->vcpus[0]->fd, KVM_GET_SREGS, &sregs) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "KVM: cannot read the boot CPU state: %s", g_strerror(errno));
		return false;
	}
	if (!x86_write_gdt(m, &sregs, error))
		return false;
	sregs.cs = segment_from_gdt(0x18);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 = CR0_PE | CR0_ET;
	sregs.efer = 0;
	return x86_set_state(m, &sregs, &regs, error);
}

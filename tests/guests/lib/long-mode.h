/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The switch from 32-bit protected mode (paging off) to 64-bit mode, shared by the multiboot
 * entry and the AP trampoline. Assembly only. Expects our GDT loaded and flat 32-bit segments.
 *
 * Intel SDM Vol. 3A, "Initializing IA-32e Mode": set CR4.PAE, load CR3 with the PML4, set
 * EFER.LME, then set CR0.PG; the CPU is then in compatibility mode and a far jump to a code
 * segment with L=1 enters 64-bit mode. Everything here runs in the host's instruction emulator
 * on kvm_pvm, so it is kept to a dozen instructions.
 */
#ifndef GUEST_LONG_MODE_H
#define GUEST_LONG_MODE_H

.macro ENTER_LONG_MODE target
	movl	%cr4, %eax
	orl	$X86_CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$boot_pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(X86_CR0_PG | X86_CR0_PE), %eax
	movl	%eax, %cr0
	ljmp	$GDT_KERNEL_CODE64, $\target
.endm

#endif

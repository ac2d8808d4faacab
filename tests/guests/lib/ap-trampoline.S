/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Application processor start-up. ap-start.c copies the bytes between ap_trampoline_start and
 * ap_trampoline_end to AP_TRAMPOLINE_BASE; a SIPI with vector AP_TRAMPOLINE_VECTOR starts the
 * AP there in real mode with CS = 0x0800, IP = 0 (Intel SDM Vol. 3A, "MP Initialization
 * Protocol Algorithm"). It goes to protected mode, then to long mode with the BSP's GDT and
 * page tables (SDM Vol. 3A, "Switching to Protected Mode" and "Initializing IA-32e Mode"), and
 * jumps to ap_long_mode_entry in the image proper.
 *
 * The copy runs at a different address than it was linked for, so addresses inside it are
 * written as AP_TRAMPOLINE_BASE + offset; addresses outside it (GDT, page tables, 64-bit entry)
 * are absolute and below 4 GiB.
 */
#include "x86.h"
#include "layout.h"
#include "long-mode.inc"

#define TRAMPOLINE_ADDRESS(label) (AP_TRAMPOLINE_BASE + ((label) - ap_trampoline_start))

	.section .rodata
	.code16
	.globl	ap_trampoline_start
ap_trampoline_start:
	cli
	xorw	%ax, %ax
	movw	%ax, %ds
	lgdtl	TRAMPOLINE_ADDRESS(ap_gdt_pointer)
	movl	%cr0, %eax
	orl	$X86_CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$GDT_KERNEL_CODE32, $TRAMPOLINE_ADDRESS(ap_protected_mode)

	.code32
ap_protected_mode:
	movw	$GDT_KERNEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	ENTER_LONG_MODE ap_long_mode_entry

	/* Real mode can only address the first 64 KiB with DS = 0: keep a pointer copy here. */
	.balign	4
ap_gdt_pointer:
	.word	GDT_SIZE - 1
	.long	gdt
	.globl	ap_trampoline_end
ap_trampoline_end:

	.text
	.code64
ap_long_mode_entry:
	movw	$GDT_KERNEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	movq	ap_boot_stack_top(%rip), %rsp
	xorl	%ebp, %ebp
	call	ap_start_c
1:	cli
	hlt
	jmp	1b

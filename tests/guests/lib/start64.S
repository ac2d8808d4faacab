/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * First 64-bit code of every guest, reached by a far jump from the multiboot entry or the ELF64
 * entry: load the data segments and the boot stack, then run C.
 */
#include "layout.h"

	.text
	.code64
	.globl	long_mode_entry
long_mode_entry:
	movw	$GDT_KERNEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	movq	$boot_stack_top, %rsp
	xorl	%ebp, %ebp
	call	guest_start
1:	cli
	hlt
	jmp	1b

	.bss
	.balign	16
boot_stack:
	.skip	BOOT_STACK_SIZE
	.globl	boot_stack_top
boot_stack_top:

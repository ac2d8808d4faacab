/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Entry point for guests built as plain ELF64 executables. The loader enters here already in
 * 64-bit mode with identity-mapped paging of at least the first 1 GiB, interrupts off and an
 * undefined RSP. We take over with our own GDT and page tables at once, so that everything after
 * this point (selectors in IDT gates, user pages, the LAPIC mapping) is the same as for the
 * multiboot guests. Assumes 4-level paging (CR4.LA57 clear), which any loader of ours uses.
 */
#include "x86.h"
#include "layout.h"

	.text
	.code64
	.globl	elf64_entry
elf64_entry:
	cli
	movq	$boot_stack_top, %rsp
	lgdt	gdt_pointer
	movq	$boot_pml4, %rax
	movq	%rax, %cr3
	/* Reload CS from our GDT: a far return is the only way to do that in 64-bit mode. */
	pushq	$GDT_KERNEL_CODE64
	pushq	$long_mode_entry
	lretq

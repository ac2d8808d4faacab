/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one GDT all guests and all CPUs use (Intel SDM Vol. 3A, "Segment Descriptors"; the 64-bit
 * TSS descriptor is "TSS Descriptor in 64-bit mode"). It lives in .data because the CPU writes
 * the accessed bits and LTR sets the TSS busy bit. Slot order matches lib/layout.h.
 */
#include "layout.h"

	.data
	.balign	16
	.globl	gdt
gdt:
	.quad	0			/* null */
	.quad	0x00af9a000000ffff	/* kernel code: 64-bit (L=1), DPL 0 */
	.quad	0x00cf92000000ffff	/* kernel data: flat, writable */
	.quad	0x00cf9a000000ffff	/* kernel code: 32-bit flat, for the AP trampoline */
	.quad	0x00cff2000000ffff	/* user data: flat, writable, DPL 3 */
	.quad	0x00affa000000ffff	/* user code: 64-bit (L=1), DPL 3 */
	.quad	0, 0			/* TSS: base known only at run time, see trap_init() */
gdt_end:
	.if	gdt_end - gdt != GDT_SIZE
	.error	"GDT size disagrees with layout.h"
	.endif

	/*
	 * 10-byte operand for LGDT in 64-bit mode; 32-bit mode reads the first 6 bytes, which is
	 * the same limit and the low half of the base (below 4 GiB).
	 */
	.balign	8
	.globl	gdt_pointer
gdt_pointer:
	.word	GDT_SIZE - 1
	.quad	gdt

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Identity map of the first 4 GiB with 2 MiB pages (Intel SDM Vol. 3A, "4-Level Paging"),
 * built by the assembler rather than by a loop: code before 64-bit CPL3 runs in the host's
 * emulator on kvm_pvm, so a table-filling loop would cost real time, this costs none. 2 MiB
 * pages need no CPUID check (1 GiB pages would need pdpe1gb).
 *
 * Every level has U/S set so that CPL3 code (lib/user.S) can reach all of it; the guests have
 * nothing to protect from themselves. The last GiB holds the PC's MMIO hole (LAPIC at
 * 0xFEE00000, IOAPIC), so it is mapped uncached.
 */
#include "x86.h"

#define TABLE_FLAGS	(PTE_PRESENT | PTE_WRITE | PTE_USER)
#define RAM_FLAGS	(TABLE_FLAGS | PTE_LARGE)
#define MMIO_FLAGS	(RAM_FLAGS | PTE_PWT | PTE_PCD)
#define MMIO_START	0xC0000000

	.data
	.balign	4096
	.globl	boot_pml4
boot_pml4:
	.quad	boot_pdpt + TABLE_FLAGS
	.fill	511, 8, 0

boot_pdpt:
	.quad	boot_pd + 0x0000 + TABLE_FLAGS
	.quad	boot_pd + 0x1000 + TABLE_FLAGS
	.quad	boot_pd + 0x2000 + TABLE_FLAGS
	.quad	boot_pd + 0x3000 + TABLE_FLAGS
	.fill	508, 8, 0

	/* Four page directories back to back: 2048 entries of 2 MiB. */
boot_pd:
	.set	address, 0
	.rept	2048
	.if	address < MMIO_START
	.quad	address | RAM_FLAGS
	.else
	.quad	address | MMIO_FLAGS
	.endif
	.set	address, address + 0x200000
	.endr

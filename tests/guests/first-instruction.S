/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * first-instruction: the start-up benchmark's guest (tests/bench/bench-start.py). Its first
 * instructions write one byte, '!', to COM1's transmit register (no UART set-up: the VMM passes
 * it on at once) and then 0 to QEMU's isa-debug-exit port 0xF4, so a VMM given --debug-exit
 * ends with status 1 as soon as the guest runs at all. The time from spawning the VMM to that
 * byte is start-up to the first guest instructions; to the VMM's exit, start-up and teardown.
 *
 * A multiboot v1 kernel without the guest kit's library: just the header (Multiboot
 * Specification 0.6.96, 3.1.1; no flags, so the loader places the image from the ELF program
 * headers) and a 32-bit entry point, linked with lib/guest.ld like the other guests.
 */
#define MULTIBOOT_HEADER_MAGIC	0x1BADB002
#define MULTIBOOT_HEADER_FLAGS	0
#define DEBUG_EXIT_PORT		0xF4
#define COM1			0x3F8

	.section .multiboot, "a"
	.balign	4
	.long	MULTIBOOT_HEADER_MAGIC
	.long	MULTIBOOT_HEADER_FLAGS
	.long	-(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

	.section .text.boot32, "ax"
	.code32
	.globl	multiboot_entry
multiboot_entry:
	movw	$COM1, %dx
	movb	$'!', %al
	outb	%al, %dx
	xorl	%eax, %eax
	outb	%al, $DEBUG_EXIT_PORT
	/* No exit port: stay here quietly. */
1:	cli
	hlt
	jmp	1b

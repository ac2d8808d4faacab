/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Multiboot v1 header and 32-bit entry point.
 *
 * The header must lie 4-byte aligned within the first 8 KiB of the file (Multiboot
 * Specification 0.6.96, 3.1.1 "The layout of Multiboot header"); the linker script puts this
 * section first. Flag bit 16 stays clear, so the loader places the image from our ELF program
 * headers (3.1.3). The loader enters with EAX = 0x2BADB002, EBX = the boot information, flat
 * 32-bit segments, paging and interrupts off, and no usable stack (3.2 "Machine state").
 */
#include "x86.h"
#include "layout.h"
#include "long-mode.inc"

#define MULTIBOOT_HEADER_MAGIC	0x1BADB002
/* Bit 1: ask for mem_lower/mem_upper in the boot information. */
#define MULTIBOOT_HEADER_FLAGS	0x00000002

	.section .multiboot, "a"
	.balign	4
	.long	MULTIBOOT_HEADER_MAGIC
	.long	MULTIBOOT_HEADER_FLAGS
	.long	-(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

	.section .text.boot32, "ax"
	.code32
	.globl	multiboot_entry
multiboot_entry:
	/* No stack yet: keep what the loader handed over in memory for guest C code. */
	movl	%eax, boot_loader_magic
	movl	%ebx, boot_loader_info
	lgdt	gdt_pointer
	ENTER_LONG_MODE long_mode_entry

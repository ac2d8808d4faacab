/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checks of the loader's work that hello64 and elf64-hello share. */
#ifndef GUEST_ENTRY_CHECK_H
#define GUEST_ENTRY_CHECK_H

#include <stdint.h>

#include "lib/x86.h"

/* Code-segment descriptor bit L: 64-bit code (Intel SDM Vol. 3A, "Segment Descriptors"). */
#define DESCRIPTOR_L (1ull << 53)

struct gdt_register {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/*
 * Returns NULL when EFER.LMA is set (long mode active, SDM Vol. 3A, "IA32_EFER MSR") and the
 * current code segment has L=1 (64-bit mode, not compatibility mode), else what is wrong.
 * CS.L is read from the GDT that GDTR names; LAR would be shorter, but kvm_pvm's instruction
 * emulator, which runs all CPL0 code there, does not implement LAR.
 */
static inline const char *long_mode_problem(void)
{
	struct gdt_register gdtr;
	uint16_t cs = read_cs();
	uint64_t descriptor;

	if (!(rdmsr(MSR_EFER) & EFER_LMA))
		return "EFER.LMA is clear";
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	if ((cs & 4) || (cs | 7) > gdtr.limit)
		return "CS selector does not name a GDT entry";
	descriptor = *(const volatile uint64_t *)(uintptr_t)(gdtr.base + (cs & ~7));
	if (!(descriptor & DESCRIPTOR_L))
		return "CS.L is clear: compatibility mode, not 64-bit mode";
	return 0;
}

/*
 * The loader must clear what an ELF segment has beyond its file contents (.bss: p_memsz past
 * p_filesz). The library relies on it (the TSS I/O bitmap, the handler table), so say so
 * plainly instead of failing strangely later. One page of .bss is sampled.
 */
static inline const char *bss_problem(void)
{
	static volatile uint64_t probe[512];

	for (unsigned int i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		if (probe[i])
			return ".bss was not zeroed by the loader";
	}
	return 0;
}

#endif

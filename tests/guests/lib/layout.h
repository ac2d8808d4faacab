/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixed layout shared by the assembly and C parts of the guest kit: GDT selectors, stack sizes
 * and the AP trampoline address. Included from .S files, so constants only.
 */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

/* GDT slots (lib/gdt.S). Selectors with RPL 3 are used for the CPL3 drop (lib/user.S). */
#define GDT_KERNEL_CODE64 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_KERNEL_CODE32 0x18 /* only the AP trampoline's protected-mode step uses it */
#define GDT_USER_DATA 0x20
#define GDT_USER_CODE64 0x28
#define GDT_TSS 0x30 /* a 64-bit TSS descriptor takes two slots */
#define GDT_ENTRIES 8
#define GDT_SIZE (GDT_ENTRIES * 8)

#define SELECTOR_RPL3 3

#define BOOT_STACK_SIZE 16384
#define TRAP_STACK_SIZE 8192
#define USER_STACK_SIZE 16384

/*
 * Real-mode code must sit below 1 MiB on a 4 KiB boundary for a SIPI; vector 0x08 starts the
 * AP at 0x0800:0000 (Intel SDM Vol. 3A, "MP Initialization Protocol Algorithm").
 */
#define AP_TRAMPOLINE_BASE 0x8000
#define AP_TRAMPOLINE_VECTOR (AP_TRAMPOLINE_BASE >> 12)

#endif

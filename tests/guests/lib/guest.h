/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The contract between a guest and its test: every guest defines guest_name and guest_main(),
 * prints what it checked on COM1 and ends with guest_pass() or guest_fail(). The verdict leaves
 * through QEMU's isa-debug-exit semantics on port 0xF4: the VMM's exit status is
 * (code << 1) | 1.
 */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdint.h>
#include <stdnoreturn.h>

#define GUEST_EXIT_PASS 0  /* process status 1 */
#define GUEST_EXIT_FAIL 1  /* status 3: a check failed or timed out */
#define GUEST_EXIT_CRASH 2 /* status 5: unexpected exception or interrupt */

/* Defined by each guest, e.g. const char guest_name[] = "hello64"; */
extern const char guest_name[];

/* Defined by each guest; called at CPL0 in 64-bit mode once the library is set up. */
void guest_main(void);

/* What the loader passed in EAX and EBX (multiboot guests only; zero for ELF64 guests). */
extern uint32_t boot_loader_magic;
extern uint32_t boot_loader_info;

/* Prints "PASS: <name>" and exits with GUEST_EXIT_PASS. */
noreturn void guest_pass(void);
/* Prints "FAIL: <name>: <reason>" and exits with GUEST_EXIT_FAIL. */
noreturn void guest_fail(const char *format, ...) __attribute__((format(printf, 1, 2)));
noreturn void guest_exit(uint8_t code);

#endif

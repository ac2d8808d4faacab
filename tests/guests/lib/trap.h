/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IDT, TSS and interrupt dispatch. trap_init() installs a catch-all for exceptions 0-31 that
 * prints FAIL with the faulting RIP and exits with GUEST_EXIT_CRASH; other vectors have no gate
 * until trap_set_handler(), so a stray interrupt shows up as a #NP naming its vector.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdint.h>
#include <stdnoreturn.h>

/* Saved by lib/isr.S; the last five words are the CPU's own frame. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*trap_handler_fn)(struct trap_frame *frame);

/* Sets up this CPU's TSS and the shared IDT; called once by the BSP before guest_main(). */
void trap_init(void);
/* Loads the shared IDT on an AP. */
void trap_load_idt(void);
/*
 * dpl 3 lets CPL3 code raise the vector with INT n. Note kvm_pvm delivers only INT3 that way:
 * any other INT n at CPL3 arrives as #UD.
 */
void trap_set_handler(uint8_t vector, trap_handler_fn handler, unsigned int dpl);
/* Prints FAIL with what the frame shows and exits with GUEST_EXIT_CRASH. */
noreturn void trap_report_unexpected(const struct trap_frame *frame);

#endif

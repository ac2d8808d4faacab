// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdbool.h>
#include <stdnoreturn.h>

#include "layout.h"
#include "trap.h"
#include "user.h"

#define VECTOR_BREAKPOINT 3

/* lib/user.S */
uint64_t user_enter(user_fn fn, uint64_t arg, void *stack_top);
noreturn void user_resume_kernel(uint64_t result);
extern const char user_trampoline_return[];

static uint8_t user_stack[USER_STACK_SIZE] __attribute__((aligned(16)));

/* The callback has returned to the trampoline's INT3: go back into user_run(). */
static void user_breakpoint(struct trap_frame *frame)
{
	if ((frame->cs & 3) == 3 && frame->rip == (uint64_t)user_trampoline_return)
		user_resume_kernel(frame->rax);
	trap_report_unexpected(frame);
}

uint64_t user_run(user_fn fn, uint64_t arg)
{
	static bool gate_installed;

	if (!gate_installed) {
		trap_set_handler(VECTOR_BREAKPOINT, user_breakpoint, 3);
		gate_installed = true;
	}
	return user_enter(fn, arg, user_stack + sizeof(user_stack));
}

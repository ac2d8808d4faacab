// SPDX-License-Identifier: GPL-2.0-or-later
#include "guest.h"
#include "print.h"
#include "x86.h"

/* QEMU's isa-debug-exit at iobase 0xf4; the engine provides the same port. */
#define DEBUG_EXIT_PORT 0xF4

noreturn void guest_exit(uint8_t code)
{
	outb(DEBUG_EXIT_PORT, code);
	/*
	 * Still running: the VMM has no exit port. Stay quiet so the test times out on the
	 * verdict line already printed. HLT is privileged, so CPL3 callers spin instead.
	 */
	if (current_privilege_level() != 0) {
		for (;;)
			cpu_relax();
	}
	for (;;)
		__asm__ volatile("cli; hlt");
}

noreturn void guest_pass(void)
{
	print("PASS: %s\n", guest_name);
	guest_exit(GUEST_EXIT_PASS);
}

noreturn void guest_fail(const char *format, ...)
{
	va_list args;

	print("FAIL: %s: ", guest_name);
	va_start(args, format);
	vprint(format, args);
	va_end(args);
	print("\n");
	guest_exit(GUEST_EXIT_FAIL);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * elf64-hello: the engine's ELF64 loader entered us in 64-bit mode (lib/elf64-entry.S). No
 * multiboot here, so there is no loader magic to check.
 */
#include "lib/guest.h"
#include "lib/print.h"
#include "entry-check.h"

const char guest_name[] = "elf64-hello";

void guest_main(void)
{
	const char *problem = long_mode_problem();

	if (!problem)
		problem = bss_problem();
	if (problem)
		guest_fail("%s", problem);
	print("hello from elf64\n");
	guest_pass();
}

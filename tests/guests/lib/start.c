// SPDX-License-Identifier: GPL-2.0-or-later
/* First C code of every guest, called from lib/start64.S on the boot stack. */
#include "guest.h"
#include "serial.h"
#include "trap.h"
#include "tsc.h"

uint32_t boot_loader_magic;
uint32_t boot_loader_info;

void guest_start(void);

void guest_start(void)
{
	serial_init();
	trap_init();
	tsc_init();
	guest_main();
	guest_fail("guest_main() returned without a verdict");
}

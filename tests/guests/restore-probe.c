// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * restore-probe: the restore benchmark's guest (tests/bench/bench-save-restore.py). It prints
 * "probe ready, flag at 0x300000", then spins at CPL3 reading a 64-bit flag at that fixed
 * physical address; as soon as the flag is non-zero it prints "flag seen" and writes 0 to the
 * debug-exit port (status 1).
 *
 * The benchmark saves the machine while the probe spins with the flag clear, writes a non-zero
 * value into the saved RAM image at the flag's offset (below 3 GiB guest-physical addresses
 * and RAM file offsets are the same), and times a restore: the probe sees the flag on its next
 * loop iteration, so spawning the VMM to the first byte of "flag seen" measures restore to
 * running, and to the VMM's exit, restore, resume and teardown.
 *
 * The flag is not part of the image: RAM at 3 MiB is outside the guest's load range (1 MiB,
 * under 100 KiB) and zero when the machine starts, and it is identity-mapped and user-accessible
 * like all of the first 4 GiB. The spin runs at CPL3 so that it executes natively on kvm_pvm;
 * the ready line is printed from there too, right before the loop, so that a save taken after
 * it finds the guest in the loop, not in emulated CPL0 code.
 */
#include "lib/guest.h"
#include "lib/print.h"
#include "lib/user.h"
#include "lib/x86.h"

/* Also in tests/bench/bench-save-restore.py (which reads it from the ready line). */
#define PROBE_FLAG_ADDRESS 0x300000ul

const char guest_name[] = "restore-probe";

static uint64_t wait_for_flag(uint64_t address)
{
	volatile uint64_t *flag = (volatile uint64_t *)address;

	print("probe ready, flag at 0x%lx\n", address);
	while (*flag == 0)
		cpu_relax();
	print("flag seen\n");
	guest_exit(GUEST_EXIT_PASS);
}

void guest_main(void)
{
	user_run(wait_for_flag, PROBE_FLAG_ADDRESS);
	guest_fail("the flag loop returned");
}

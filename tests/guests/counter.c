// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * counter: prints "count 1", "count 2", ... about 25 times a second for the save/restore tests,
 * which check that the count goes on after a restore instead of starting again.
 *
 * The loop runs at CPL3 through user_run(): on kvm_pvm only 64-bit CPL3 code runs natively, and
 * a delay loop at CPL0 would spend its time in the host's instruction emulator (and its state
 * there) instead of in plain guest execution. The pause is measured in TSC cycles, which keep
 * the same pace whatever executes the guest; a TSC that jumps at a restore only cuts one pause
 * short.
 */
#include "lib/guest.h"
#include "lib/print.h"
#include "lib/tsc.h"
#include "lib/user.h"

#define LAST_COUNT 100000
#define LINE_INTERVAL_US 40000

const char guest_name[] = "counter";

static uint64_t count_lines(uint64_t last)
{
	for (uint64_t n = 1; n <= last; n++) {
		print("count %lu\n", n);
		tsc_delay_us(LINE_INTERVAL_US);
	}
	return last;
}

void guest_main(void)
{
	print("counter: one line every %u ms of tsc time, up to %u\n", LINE_INTERVAL_US / 1000,
	      LAST_COUNT);
	user_run(count_lines, LAST_COUNT);
	guest_pass();
}

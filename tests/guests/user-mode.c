// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * user-mode: the CPL3 helper works, and CPL3 code runs at native speed. 10^8 loop iterations
 * take a fraction of a second natively but hours in kvm_pvm's emulator, so finishing at all
 * within the test's time limit shows the loop ran at CPL3 natively.
 */
#include "lib/guest.h"
#include "lib/print.h"
#include "lib/tsc.h"
#include "lib/user.h"
#include "lib/x86.h"

#define ITERATIONS 100000000ull
#define LOOP_RESULT_CPL_MISMATCH 1

const char guest_name[] = "user-mode";

static uint64_t sum_below(uint64_t count)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < count; i++) {
		sum += i;
		/* Hides the loop from the optimiser, which would fold it into a formula. */
		__asm__ volatile("" : "+r"(sum));
	}
	return sum;
}

static uint64_t user_work(uint64_t iterations)
{
	uint64_t start, cycles, sum;

	if (current_privilege_level() != 3)
		return LOOP_RESULT_CPL_MISMATCH;
	print("running at cpl %u\n", current_privilege_level());
	start = rdtsc();
	sum = sum_below(iterations);
	cycles = rdtsc() - start;
	print("%lu iterations in %lu ms of tsc time\n", iterations, tsc_to_us(cycles) / 1000);
	return sum;
}

void guest_main(void)
{
	uint64_t expected = ITERATIONS * (ITERATIONS - 1) / 2;
	uint64_t sum = user_run(user_work, ITERATIONS);

	if (sum == LOOP_RESULT_CPL_MISMATCH)
		guest_fail("user_run() did not run its callback at CPL3");
	if (sum != expected)
		guest_fail("loop sum %lu, expected %lu", sum, expected);
	if (current_privilege_level() != 0)
		guest_fail("back from user_run() at cpl %u, not 0", current_privilege_level());
	print("back at cpl 0, loop sum %lu\n", sum);
	guest_pass();
}

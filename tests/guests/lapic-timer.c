// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lapic-timer: the LAPIC timer in periodic mode delivers interrupts, and they wake HLT
 * (Intel SDM Vol. 3A, "APIC Timer").
 *
 * A guest waiting in HLT for an interrupt that never comes would hang rather than fail, so:
 * the first tick is awaited by polling with a TSC bound, which proves interrupts are delivered
 * at all; after that each HLT is entered only while the current-count register shows the
 * timer armed, so a timer that stops after some ticks is a FAIL too.
 */
#include <stdbool.h>

#include "lib/guest.h"
#include "lib/lapic.h"
#include "lib/pic.h"
#include "lib/print.h"
#include "lib/trap.h"
#include "lib/tsc.h"
#include "lib/x86.h"

#define TIMER_VECTOR 0x40
#define TICKS_WANTED 10
/*
 * KVM's LAPIC timer counts at 1 GHz; divided by 16, 625000 counts are 10 ms, so ten ticks take
 * 0.1 s. Bus clocks ten times slower still finish in a second.
 */
#define TIMER_INITIAL_COUNT 625000
#define FIRST_TICK_TIMEOUT_US 2000000
#define ALL_TICKS_TIMEOUT_US 5000000

const char guest_name[] = "lapic-timer";

static volatile unsigned int ticks;

static void timer_interrupt(struct trap_frame *frame)
{
	(void)frame;
	ticks++;
	lapic_eoi();
}

static void wait_first_tick(void)
{
	uint64_t start = rdtsc();
	uint64_t timeout = tsc_from_us(FIRST_TICK_TIMEOUT_US);

	interrupts_enable();
	while (ticks == 0) {
		if (rdtsc() - start > timeout) {
			interrupts_disable();
			guest_fail("no timer interrupt within %u ms (current count %u)",
				   FIRST_TICK_TIMEOUT_US / 1000, lapic_read(LAPIC_TIMER_CURRENT));
		}
		cpu_relax();
	}
	interrupts_disable();
}

void guest_main(void)
{
	const char *why;
	uint64_t start, elapsed;

	pic_disable();
	if (!lapic_enable(&why))
		guest_fail("%s", why);
	trap_set_handler(TIMER_VECTOR, timer_interrupt, 0);

	lapic_write(LAPIC_TIMER_DIVIDE, LAPIC_TIMER_DIVIDE_BY_16);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	start = rdtsc();
	lapic_write(LAPIC_TIMER_INITIAL, TIMER_INITIAL_COUNT);

	wait_first_tick();
	while (ticks < TICKS_WANTED) {
		if (rdtsc() - start > tsc_from_us(ALL_TICKS_TIMEOUT_US))
			guest_fail("only %u timer interrupts within %u ms", ticks,
				   ALL_TICKS_TIMEOUT_US / 1000);
		/* In periodic mode the count reloads at zero; zero here means it stopped. */
		if (lapic_read(LAPIC_TIMER_CURRENT) == 0)
			guest_fail("timer stopped after %u interrupts (periodic mode not kept)",
				   ticks);
		interrupts_enable_and_halt();
	}
	elapsed = rdtsc() - start;
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_TIMER_INITIAL, 0);

	print("lapic timer ticks: %u\n", ticks);
	print("%u ticks in %lu us of tsc time\n", TICKS_WANTED, tsc_to_us(elapsed));
	guest_pass();
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vbe-bench: the display benchmark's guest (tests/bench/bench-display.py). Like vbe-pattern it
 * puts the std-VGA's BAR0 at 0xE0000000 and sets a VBE linear mode through the DISPI ports,
 * here 1920x1080x32, then draws at CPL3 (natively on kvm_pvm) and paces itself with the TSC
 * (RDTSC spins at CPL3: no VM exits, so the VMM's own CPU time is the display work).
 *
 * Each step ends with a line on COM1 and a wait (up to 120 s) for any byte from the script:
 *   "mode set"     the mode is set and the screen filled once
 *   "full done"    FULL_UPDATES repaints of the whole screen, each a new colour, 100 ms apart
 *   "small done"   SMALL_UPDATES changes of a 16x16 square at (1000, 500), 100 ms apart
 * then PASS. Before each of the last two lines the guest idles 1 s so that every update has
 * been sent before the line.
 */
#include "lib/guest.h"
#include "lib/print.h"
#include "lib/tsc.h"
#include "lib/user.h"
#include "lib/vbe.h"
#include "lib/x86.h"

#define FRAMEBUFFER 0xe0000000ul
#define WIDTH 1920
#define HEIGHT 1080
#define FULL_UPDATES 20
#define SMALL_UPDATES 20
#define SQUARE_X 1000
#define SQUARE_Y 500
#define SQUARE 16
#define PACE_US 100000
#define SETTLE_US 1000000

const char guest_name[] = "vbe-bench";

/* A byte from the benchmark on COM1 starts the next phase.  Polled every
 * millisecond: each poll is a VM exit, i.e. VMM CPU time it would count. */
static int wait_for_byte(void)
{
	return serial_wait_for_byte(120 * 1000 * 1000, 1000);
}

static void fill(uint32_t colour)
{
	uint64_t *fb = (uint64_t *)FRAMEBUFFER;
	uint64_t two = (uint64_t)colour << 32 | colour;

	for (unsigned i = 0; i < WIDTH * HEIGHT / 2; i++)
		fb[i] = two;
	__asm__ volatile("" : : : "memory");
}

static void square(uint32_t colour)
{
	volatile uint32_t *fb = (volatile uint32_t *)FRAMEBUFFER;

	for (unsigned y = SQUARE_Y; y < SQUARE_Y + SQUARE; y++)
		for (unsigned x = SQUARE_X; x < SQUARE_X + SQUARE; x++)
			fb[y * WIDTH + x] = colour;
}

static uint64_t draw(uint64_t arg __attribute__((unused)))
{
	uint64_t start;

	start = rdtsc();
	fill(0x204060);
	print("mode set (fill in %lu us)\n", tsc_to_us(rdtsc() - start));
	if (!wait_for_byte())
		return 0;
	for (unsigned i = 0; i < FULL_UPDATES; i++) {
		fill(0x010101u * (i * 8 + 16) ^ 0x400000u * (i & 1));
		tsc_delay_us(PACE_US);
	}
	tsc_delay_us(SETTLE_US);
	print("full done\n");
	if (!wait_for_byte())
		return 0;
	for (unsigned i = 0; i < SMALL_UPDATES; i++) {
		square(i & 1 ? 0x204060 : 0xffffff);
		tsc_delay_us(PACE_US);
	}
	tsc_delay_us(SETTLE_US);
	print("small done\n");
	return wait_for_byte();
}

void guest_main(void)
{
	vbe_set_linear_mode(FRAMEBUFFER, WIDTH, HEIGHT);
	if (!user_run(draw, 0))
		guest_fail("no byte from the benchmark within 120 s");
	guest_pass();
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vbe-pattern: draws into the std-VGA's linear framebuffer as a driver
 * without firmware would (Linux's bochs-drm): it puts BAR0 at 0xE0000000,
 * sets 640x480x32 through the DISPI ports and writes pixels at CPL3, so
 * that under KVM they go straight into the framebuffer's memory slot.
 *
 * Steps, each ending with a line on COM1 and a wait (up to 60 s) for any
 * byte from the test, which takes a screendump in between:
 *   "pattern drawn"  every pixel (x, y) = x * 255 / 639 << 16 | y * 255 / 479 << 8 | 0x40
 *   "square drawn"   an 8x8 white square at (300, 200)
 * then PASS.  The square reaches the screen only through the dirty log of
 * the framebuffer slot (or through a line comparison when there is none).
 */
#include "lib/guest.h"
#include "lib/print.h"
#include "lib/tsc.h"
#include "lib/user.h"
#include "lib/vbe.h"
#include "lib/x86.h"

#define FRAMEBUFFER 0xe0000000ul
#define WIDTH 640
#define HEIGHT 480

const char guest_name[] = "vbe-pattern";

/* A byte from the test on COM1 says it took its screendump. */
static int wait_for_byte(void)
{
	return serial_wait_for_byte(60 * 1000 * 1000, 0);
}

static uint64_t draw_pattern(uint64_t arg __attribute__((unused)))
{
	volatile uint32_t *fb = (volatile uint32_t *)FRAMEBUFFER;

	for (unsigned y = 0; y < HEIGHT; y++)
		for (unsigned x = 0; x < WIDTH; x++)
			fb[y * WIDTH + x] = (x * 255 / (WIDTH - 1)) << 16 |
					    (y * 255 / (HEIGHT - 1)) << 8 | 0x40;
	print("pattern drawn\n");
	if (!wait_for_byte())
		return 0;
	for (unsigned y = 200; y < 208; y++)
		for (unsigned x = 300; x < 308; x++)
			fb[y * WIDTH + x] = 0xffffff;
	print("square drawn\n");
	return wait_for_byte();
}

void guest_main(void)
{
	vbe_set_linear_mode(FRAMEBUFFER, WIDTH, HEIGHT);
	if (!user_run(draw_pattern, 0))
		guest_fail("no byte from the test within 60 s");
	guest_pass();
}

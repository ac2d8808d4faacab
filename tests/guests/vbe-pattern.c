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
#include "lib/x86.h"

#define VGA_CONFIG_ADDRESS (0x80000000u | (2u << 11)) /* bus 0, device 2, function 0 */
#define FRAMEBUFFER 0xe0000000ul
#define WIDTH 640
#define HEIGHT 480
#define COM1 0x3f8
#define UART_LSR 5
#define LSR_DATA_READY 0x01

const char guest_name[] = "vbe-pattern";

static inline void outw(uint16_t port, uint16_t value)
{
	__asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t value)
{
	__asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t value;

	__asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static void pci_write(unsigned reg, uint32_t value)
{
	outl(0xcf8, VGA_CONFIG_ADDRESS | reg);
	outl(0xcfc, value);
}

static uint32_t pci_read(unsigned reg)
{
	outl(0xcf8, VGA_CONFIG_ADDRESS | reg);
	return inl(0xcfc);
}

static void dispi_write(uint16_t index, uint16_t value)
{
	outw(0x1ce, index);
	outw(0x1cf, value);
}

static uint64_t wait_for_byte(void)
{
	uint64_t end = rdtsc() + tsc_from_us(60 * 1000 * 1000);

	while (!(inb(COM1 + UART_LSR) & LSR_DATA_READY)) {
		if (rdtsc() > end)
			return 0;
		cpu_relax();
	}
	inb(COM1);
	return 1;
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
	pci_write(0x10, (uint32_t)FRAMEBUFFER);
	pci_write(0x04, 0x0003); /* I/O and memory decoding */
	if ((pci_read(0x00) & 0xffff) != 0x1234)
		guest_fail("no std-VGA at 00:02.0 (id %x)", pci_read(0x00));
	/* As bochs-drm: colour ports, unblank, then the mode. */
	outb(0x3c2, 0x01);
	inb(0x3da);
	outb(0x3c0, 0x20);
	dispi_write(4, 0); /* ENABLE */
	dispi_write(3, 32); /* BPP */
	dispi_write(1, WIDTH); /* XRES */
	dispi_write(2, HEIGHT); /* YRES */
	dispi_write(5, 0); /* BANK */
	dispi_write(4, 0x41); /* ENABLED | LFB_ENABLED */
	if (!user_run(draw_pattern, 0))
		guest_fail("no byte from the test within 60 s");
	guest_pass();
}

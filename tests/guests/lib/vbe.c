// SPDX-License-Identifier: GPL-2.0-or-later
#include "lib/vbe.h"

#include "lib/guest.h"
#include "lib/tsc.h"
#include "lib/x86.h"

#define VGA_CONFIG_ADDRESS (0x80000000u | (2u << 11)) /* bus 0, device 2, function 0 */
#define COM1 0x3f8
#define UART_LSR 5
#define LSR_DATA_READY 0x01

/* Bochs DISPI registers (index port 0x1ce, data port 0x1cf). */
#define DISPI_XRES 1
#define DISPI_YRES 2
#define DISPI_BPP 3
#define DISPI_ENABLE 4
#define DISPI_BANK 5
#define DISPI_ENABLED 0x01
#define DISPI_LFB_ENABLED 0x40

static void vga_pci_write(unsigned reg, uint32_t value)
{
	outl(0xcf8, VGA_CONFIG_ADDRESS | reg);
	outl(0xcfc, value);
}

static uint32_t vga_pci_read(unsigned reg)
{
	outl(0xcf8, VGA_CONFIG_ADDRESS | reg);
	return inl(0xcfc);
}

static void dispi_write(uint16_t index, uint16_t value)
{
	outw(0x1ce, index);
	outw(0x1cf, value);
}

void vbe_set_linear_mode(uint64_t framebuffer, unsigned width, unsigned height)
{
	vga_pci_write(0x10, (uint32_t)framebuffer);
	vga_pci_write(0x04, 0x0003); /* I/O and memory decoding */
	if ((vga_pci_read(0x00) & 0xffff) != 0x1234)
		guest_fail("no std-VGA at 00:02.0 (id %x)", vga_pci_read(0x00));
	/* As bochs-drm: colour ports, unblank, then the mode. */
	outb(0x3c2, 0x01);
	inb(0x3da);
	outb(0x3c0, 0x20);
	dispi_write(DISPI_ENABLE, 0);
	dispi_write(DISPI_BPP, 32);
	dispi_write(DISPI_XRES, width);
	dispi_write(DISPI_YRES, height);
	dispi_write(DISPI_BANK, 0);
	dispi_write(DISPI_ENABLE, DISPI_ENABLED | DISPI_LFB_ENABLED);
}

int serial_wait_for_byte(uint64_t timeout_us, uint64_t poll_us)
{
	uint64_t end = rdtsc() + tsc_from_us(timeout_us);

	while (!(inb(COM1 + UART_LSR) & LSR_DATA_READY)) {
		if (rdtsc() > end)
			return 0;
		if (poll_us)
			tsc_delay_us(poll_us);
		else
			cpu_relax();
	}
	inb(COM1);
	return 1;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * COM1 output by polling, the guests' only report channel. Register map: the National
 * Semiconductor PC16550D datasheet. Works at CPL0 and at CPL3 with IOPL=3.
 */
#include "serial.h"
#include "x86.h"

#define COM1 0x3F8
#define UART_THR 0 /* transmit holding register; divisor latch low with DLAB */
#define UART_IER 1 /* interrupt enable; divisor latch high with DLAB */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define MCR_DTR_RTS 0x03 /* OUT2 stays clear: no UART interrupts reach the PIC */
#define LSR_THRE 0x20

/*
 * A UART whose LSR never shows THRE would hang every guest silently; after this many polls the
 * byte is written anyway, so output comes out slowly instead of not at all.
 */
#define THRE_POLL_LIMIT 4096

void serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_THR, 1); /* divisor 1: 115200 baud */
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

void serial_putc(char c)
{
	for (int i = 0; i < THRE_POLL_LIMIT; i++) {
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	}
	outb(COM1 + UART_THR, (uint8_t)c);
}

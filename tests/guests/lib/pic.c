// SPDX-License-Identifier: GPL-2.0-or-later
/* Intel 8259A datasheet: initialization command words ICW1-ICW4, then OCW1 (the mask). */
#include "pic.h"
#include "x86.h"

#define PIC_MASTER_COMMAND 0x20
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_COMMAND 0xA0
#define PIC_SLAVE_DATA 0xA1

#define ICW1_INIT_WITH_ICW4 0x11
#define ICW4_8086 0x01
#define OCW2_NON_SPECIFIC_EOI 0x20

void pic_disable(void)
{
	outb(PIC_MASTER_COMMAND, ICW1_INIT_WITH_ICW4);
	outb(PIC_SLAVE_COMMAND, ICW1_INIT_WITH_ICW4);
	outb(PIC_MASTER_DATA, PIC_MASTER_VECTOR);
	outb(PIC_SLAVE_DATA, PIC_SLAVE_VECTOR);
	outb(PIC_MASTER_DATA, 1 << 2); /* slave on IRQ2 */
	outb(PIC_SLAVE_DATA, 2);       /* slave identity */
	outb(PIC_MASTER_DATA, ICW4_8086);
	outb(PIC_SLAVE_DATA, ICW4_8086);
	outb(PIC_MASTER_DATA, 0xFF);
	outb(PIC_SLAVE_DATA, 0xFF);
}

void pic_unmask(unsigned int irq)
{
	uint16_t port = irq < 8 ? PIC_MASTER_DATA : PIC_SLAVE_DATA;

	outb(port, inb(port) & ~(1u << (irq & 7)));
	if (irq >= 8) /* the slave reaches the CPU through the master's IRQ2 */
		outb(PIC_MASTER_DATA, inb(PIC_MASTER_DATA) & ~(1u << 2));
}

void pic_eoi(unsigned int irq)
{
	if (irq >= 8)
		outb(PIC_SLAVE_COMMAND, OCW2_NON_SPECIFIC_EOI);
	outb(PIC_MASTER_COMMAND, OCW2_NON_SPECIFIC_EOI);
}

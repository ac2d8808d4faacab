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
#define PIC_MASTER_VECTOR 0x20
#define PIC_SLAVE_VECTOR 0x28

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

/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef GUEST_PIC_H
#define GUEST_PIC_H

/* Where pic_disable() puts the lines: IRQ n arrives on vector PIC_MASTER_VECTOR + n. */
#define PIC_MASTER_VECTOR 0x20
#define PIC_SLAVE_VECTOR 0x28

/*
 * Moves the legacy 8259 pair off the exception vectors and masks every line. Needed before
 * STI: firmware (SeaBIOS before a multiboot boot) leaves IRQ0 on vector 8 and unmasked, and
 * the PIT keeps ticking.
 */
void pic_disable(void);
/* Clears IRQ irq's mask bit (0-15; the slave's also clears the master's IRQ2). */
void pic_unmask(unsigned int irq);
/* Non-specific EOI for IRQ irq, to both chips for the slave's lines. */
void pic_eoi(unsigned int irq);

#endif

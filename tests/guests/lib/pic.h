/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef GUEST_PIC_H
#define GUEST_PIC_H

/*
 * Moves the legacy 8259 pair off the exception vectors and masks every line. Needed before
 * STI: firmware (SeaBIOS before a multiboot boot) leaves IRQ0 on vector 8 and unmasked, and
 * the PIT keeps ticking.
 */
void pic_disable(void);

#endif

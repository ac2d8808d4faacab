/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

void serial_init(void);
void serial_putc(char c);

#endif

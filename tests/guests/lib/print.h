/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef GUEST_PRINT_H
#define GUEST_PRINT_H

#include <stdarg.h>

/*
 * A small printf to COM1: %s %c %d %u %x %p %% with an optional 'l' (64-bit). No width or
 * padding. '\n' goes out as a bare LF so tests can match whole lines.
 */
void print(const char *format, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char *format, va_list args);

#endif

// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdbool.h>
#include <stdint.h>

#include "print.h"
#include "serial.h"

static void print_string(const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		serial_putc(*s++);
}

static void print_unsigned(uint64_t value, unsigned int base)
{
	char digits[20]; /* 2^64 has 20 decimal digits */
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[value % base];
		value /= base;
	} while (value);
	while (n)
		serial_putc(digits[--n]);
}

void vprint(const char *format, va_list args)
{
	for (const char *p = format; *p; p++) {
		if (*p != '%') {
			serial_putc(*p);
			continue;
		}
		bool is_long = false;

		p++;
		if (*p == 'l') {
			is_long = true;
			p++;
		}
		switch (*p) {
		case 's':
			print_string(va_arg(args, const char *));
			break;
		case 'c':
			serial_putc((char)va_arg(args, int));
			break;
		case 'd': {
			int64_t value = is_long ? va_arg(args, long) : va_arg(args, int);

			if (value < 0) {
				serial_putc('-');
				print_unsigned(-(uint64_t)value, 10);
			} else {
				print_unsigned((uint64_t)value, 10);
			}
			break;
		}
		case 'u':
			print_unsigned(
			    is_long ? va_arg(args, unsigned long) : va_arg(args, unsigned int), 10);
			break;
		case 'x':
			print_unsigned(
			    is_long ? va_arg(args, unsigned long) : va_arg(args, unsigned int), 16);
			break;
		case 'p':
			print_string("0x");
			print_unsigned((uintptr_t)va_arg(args, void *), 16);
			break;
		case '%':
			serial_putc('%');
			break;
		case '\0':
			return;
		default:
			serial_putc('%');
			serial_putc(*p);
			break;
		}
	}
}

void print(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vprint(format, args);
	va_end(args);
}

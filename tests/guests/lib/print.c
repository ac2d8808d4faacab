// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdbool.h>
#include <stdint.h>

#include "print.h"
#include "serial.h"

void (*print_mirror_putc)(char c);
void (*print_mirror_done)(void);

static void put(char c)
{
	serial_putc(c);
	if (print_mirror_putc)
		print_mirror_putc(c);
}

static void print_string(const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put(*s++);
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
		put(digits[--n]);
}

static void print_formatted(const char *format, va_list args)
{
	for (const char *p = format; *p; p++) {
		if (*p != '%') {
			put(*p);
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
			put((char)va_arg(args, int));
			break;
		case 'd': {
			int64_t value = is_long ? va_arg(args, long) : va_arg(args, int);

			if (value < 0) {
				put('-');
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
			put('%');
			break;
		case '\0':
			return;
		default:
			put('%');
			put(*p);
			break;
		}
	}
}

void vprint(const char *format, va_list args)
{
	print_formatted(format, args);
	if (print_mirror_done)
		print_mirror_done();
}

void print(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vprint(format, args);
	va_end(args);
}

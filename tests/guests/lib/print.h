/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef GUEST_PRINT_H
#define GUEST_PRINT_H

#include <stdarg.h>
#include <stdbool.h>

/*
 * A small printf to COM1: %s %c %d %u %x %p %% with an optional 'l' (64-bit). No width or
 * padding. '\n' goes out as a bare LF so tests can match whole lines.
 */
void print(const char *format, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char *format, va_list args);

/*
 * Opt-in: print also to the VGA text screen, for guests whose output should show in a display
 * client. The first call sets the text mode up (lib/vga_text.h). False when there is no VGA;
 * printing then stays on COM1 alone. Defined in lib/vga_text.c, which only the guests that
 * list it in meson.build link (the demo), so the others' images stay as they were.
 */
bool print_mirror_to_vga(bool on);

/* Where print() writes besides COM1, a character at a time, and what it calls after each
 * print(); both NULL unless print_mirror_to_vga() set them. */
extern void (*print_mirror_putc)(char c);
extern void (*print_mirror_done)(void);

#endif

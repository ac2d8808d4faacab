/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VGA's 80x25 text screen at 0xB8000 as a console: light grey on black, scrolling, with the
 * hardware cursor after the last character. For guests that want their report on the screen
 * too (the demo, through print_mirror_to_vga()).
 *
 * With --kernel there is no VGA BIOS, and the std-VGA comes out of reset blank: every register,
 * the DAC and video memory zero, no font (the text renderer draws the glyphs from plane 2, as
 * the hardware does). vga_text_init() therefore does what the BIOS's mode 3 set would: the
 * register tables of mode 3 (IBM VGA Technical Reference; FreeVGA), the 16 colours in the DAC,
 * and lib/vga_font.h into plane 2.
 *
 * Costs on kvm_pvm (every access to the window or the ports is an exit): the set-up is about
 * 800 exits; a character is one; a new line costs 20 plus the start address, since scrolling
 * moves the CRTC start address through the 32 KiB of text memory instead of copying the
 * screen (a copy of 24 rows every 180 lines). Works at CPL0 and CPL3.
 */
#ifndef GUEST_VGA_TEXT_H
#define GUEST_VGA_TEXT_H

#include <stdbool.h>

/* Mode 3 set, the font loaded and the screen cleared; false (and nothing touched beyond a
 * probe) when there is no VGA: its misc output register does not read back. */
bool vga_text_init(void);
/* One character: '\n' new line, '\r' back to column 0, '\b' one column left, '\t' to the next
 * multiple of 8; other control characters are dropped. Long lines wrap (when the 81st
 * character comes: a line of exactly 80 and its '\n' take one row). */
void vga_text_putc(char c);
/* Moves the hardware cursor to where the next character goes (two port writes: call it once a
 * print rather than once a character). */
void vga_text_show_cursor(void);

#endif

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * VGA text console (see vga_text.h). Register meanings: IBM VGA Technical Reference and
 * FreeVGA (sequencer, CRTC, graphics controller, attribute controller, DAC); the values are
 * the standard BIOS mode 3 (80x25 characters of 9x16 pixels, 720x400, colour, text memory at
 * 0xB8000 in odd/even mode: character bytes in plane 0, attributes in plane 1, font in plane 2).
 */
#include "vga_text.h"

#include <stdint.h>

#include "print.h"
#include "vga_font.h"
#include "x86.h"

#define VGA_AC_INDEX 0x3C0 /* attribute controller: index and data through one flip-flop */
#define VGA_MISC_WRITE 0x3C2
#define VGA_SEQ_INDEX 0x3C4
#define VGA_DAC_WRITE_INDEX 0x3C8
#define VGA_DAC_DATA 0x3C9
#define VGA_MISC_READ 0x3CC
#define VGA_GC_INDEX 0x3CE
#define VGA_CRTC_INDEX 0x3D4 /* colour addressing: misc output bit 0 set */
#define VGA_INPUT_STATUS_1 0x3DA /* reading it resets the attribute flip-flop */

#define VGA_AC_PALETTE_ENABLE 0x20 /* index bit 5: the display reads the palette (unblanks) */

#define SEQ_MAP_MASK 0x02
#define SEQ_MEMORY_MODE 0x04
#define GC_READ_MAP 0x04
#define GC_MODE 0x05
#define GC_MISC 0x06
#define CRTC_START_HIGH 0x0C
#define CRTC_START_LOW 0x0D
#define CRTC_CURSOR_HIGH 0x0E
#define CRTC_CURSOR_LOW 0x0F
#define CRTC_VERTICAL_RETRACE_END 0x11
#define CRTC_PROTECT 0x80 /* CR11 bit 7: CR00-CR07 read-only */

#define FONT_WINDOW 0xA0000 /* plane 2 while it is mapped for the font load */
#define FONT_GLYPH_BYTES 32 /* a character's slot in plane 2; 16 lines used */
#define TEXT_WINDOW 0xB8000

#define COLUMNS 80
#define ROWS 25
/* 32 KiB of text memory at 0xB8000: 16384 cells, 204 whole rows to scroll through. */
#define MEMORY_ROWS (0x8000 / 2 / COLUMNS)
#define ATTRIBUTE 0x07 /* light grey on black */
#define BLANK ((uint16_t)(ATTRIBUTE << 8 | ' '))
#define BLANK4 (BLANK * 0x0001000100010001ull)
#define TAB 8

/* Four cells (or eight font bytes) at once, whatever the array's declared type. */
typedef uint64_t __attribute__((may_alias, aligned(1))) quad;

/* Mode 3, as the VGA BIOS sets it. */
#define MISC_MODE3 0x67 /* colour ports, 28.322 MHz clock (720 pixels), RAM enabled */
static const uint8_t sequencer_mode3[] = {0x03, 0x00, 0x03, 0x00, 0x02};
static const uint8_t crtc_mode3[] = {
	0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
	0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF,
};
static const uint8_t graphics_mode3[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF};
static const uint8_t attribute_mode3[] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A,
	0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x0C, 0x00, 0x0F, 0x08, 0x00,
};

/* The 16 text colours (6-bit DAC values) at the DAC entries the attribute palette names. */
static const struct {
	uint8_t index, red, green, blue;
} dac_colours[16] = {
	{0x00, 0x00, 0x00, 0x00}, {0x01, 0x00, 0x00, 0x2A}, {0x02, 0x00, 0x2A, 0x00},
	{0x03, 0x00, 0x2A, 0x2A}, {0x04, 0x2A, 0x00, 0x00}, {0x05, 0x2A, 0x00, 0x2A},
	{0x14, 0x2A, 0x15, 0x00}, {0x07, 0x2A, 0x2A, 0x2A}, {0x38, 0x15, 0x15, 0x15},
	{0x39, 0x15, 0x15, 0x3F}, {0x3A, 0x15, 0x3F, 0x15}, {0x3B, 0x15, 0x3F, 0x3F},
	{0x3C, 0x3F, 0x15, 0x15}, {0x3D, 0x3F, 0x15, 0x3F}, {0x3E, 0x3F, 0x3F, 0x15},
	{0x3F, 0x3F, 0x3F, 0x3F},
};

/*
 * What text memory holds, row by row: the console never reads the window back (a read is an
 * exit too) and copies from here when the start address has to go back to the top.
 */
static uint16_t shadow[MEMORY_ROWS][COLUMNS] __attribute__((aligned(8)));
static unsigned int top; /* memory row shown as the screen's first */
static unsigned int row, column; /* cursor, on the screen; column 80: the row is full */
static bool ready;

/* One port write for index and data: the low byte goes to the index port, the high byte to
 * the data port after it. */
static void write_indexed(uint16_t port, uint8_t index, uint8_t value)
{
	outw(port, (uint16_t)(value << 8 | index));
}

static volatile quad *window_row(unsigned int memory_row)
{
	return (volatile quad *)(uintptr_t)(TEXT_WINDOW + memory_row * COLUMNS * 2);
}

/* Four cells a write. */
static void store_row(unsigned int memory_row)
{
	volatile quad *to = window_row(memory_row);
	const quad *from = (const quad *)shadow[memory_row];

	for (unsigned int i = 0; i < COLUMNS / 4; i++)
		to[i] = from[i];
}

static void clear_row(unsigned int memory_row)
{
	quad *cells = (quad *)shadow[memory_row];

	for (unsigned int i = 0; i < COLUMNS / 4; i++)
		cells[i] = BLANK4;
	store_row(memory_row);
}

static void set_start(void)
{
	unsigned int start = top * COLUMNS;

	write_indexed(VGA_CRTC_INDEX, CRTC_START_HIGH, (uint8_t)(start >> 8));
	write_indexed(VGA_CRTC_INDEX, CRTC_START_LOW, (uint8_t)start);
}

static void set_mode3(void)
{
	inb(VGA_INPUT_STATUS_1);
	outb(VGA_AC_INDEX, 0); /* palette source off: blank while the registers change */
	for (unsigned int i = 0; i < sizeof(sequencer_mode3); i++)
		write_indexed(VGA_SEQ_INDEX, (uint8_t)i, sequencer_mode3[i]);
	write_indexed(VGA_CRTC_INDEX, CRTC_VERTICAL_RETRACE_END, 0); /* unprotect CR00-CR07 */
	for (unsigned int i = 0; i < sizeof(crtc_mode3); i++)
		write_indexed(VGA_CRTC_INDEX, (uint8_t)i, crtc_mode3[i]);
	for (unsigned int i = 0; i < sizeof(graphics_mode3); i++)
		write_indexed(VGA_GC_INDEX, (uint8_t)i, graphics_mode3[i]);
	inb(VGA_INPUT_STATUS_1);
	for (unsigned int i = 0; i < sizeof(attribute_mode3); i++) {
		outb(VGA_AC_INDEX, (uint8_t)i);
		outb(VGA_AC_INDEX, attribute_mode3[i]);
	}
	for (unsigned int i = 0; i < sizeof(dac_colours) / sizeof(dac_colours[0]); i++) {
		if (i == 0 || dac_colours[i].index != dac_colours[i - 1].index + 1)
			outb(VGA_DAC_WRITE_INDEX, dac_colours[i].index);
		outb(VGA_DAC_DATA, dac_colours[i].red);
		outb(VGA_DAC_DATA, dac_colours[i].green);
		outb(VGA_DAC_DATA, dac_colours[i].blue);
	}
}

/* Plane 2 alone, addressed sequentially at 0xA0000 (as the BIOS loads fonts), then back. */
static void load_font(void)
{
	write_indexed(VGA_SEQ_INDEX, SEQ_MAP_MASK, 0x04);
	write_indexed(VGA_SEQ_INDEX, SEQ_MEMORY_MODE, 0x07); /* sequential, no odd/even */
	write_indexed(VGA_GC_INDEX, GC_READ_MAP, 0x02);
	write_indexed(VGA_GC_INDEX, GC_MODE, 0x00);
	write_indexed(VGA_GC_INDEX, GC_MISC, 0x04); /* 0xA0000, 64 KiB */
	for (unsigned int ch = 0; ch < VGA_FONT_COUNT; ch++) {
		uintptr_t glyph = FONT_WINDOW + (VGA_FONT_FIRST + ch) * FONT_GLYPH_BYTES;
		volatile quad *to = (volatile quad *)glyph;
		const quad *from = (const quad *)vga_font[ch];

		to[0] = from[0];
		to[1] = from[1];
	}
	write_indexed(VGA_SEQ_INDEX, SEQ_MAP_MASK, sequencer_mode3[SEQ_MAP_MASK]);
	write_indexed(VGA_SEQ_INDEX, SEQ_MEMORY_MODE, sequencer_mode3[SEQ_MEMORY_MODE]);
	write_indexed(VGA_GC_INDEX, GC_READ_MAP, graphics_mode3[GC_READ_MAP]);
	write_indexed(VGA_GC_INDEX, GC_MODE, graphics_mode3[GC_MODE]);
	write_indexed(VGA_GC_INDEX, GC_MISC, graphics_mode3[GC_MISC]);
}

bool vga_text_init(void)
{
	if (ready)
		return true;
	outb(VGA_MISC_WRITE, MISC_MODE3);
	if (inb(VGA_MISC_READ) != MISC_MODE3)
		return false; /* an unclaimed port reads as 0xFF */
	set_mode3();
	load_font();
	top = row = column = 0;
	for (unsigned int r = 0; r < ROWS; r++)
		clear_row(r);
	set_start();
	ready = true;
	vga_text_show_cursor();
	inb(VGA_INPUT_STATUS_1);
	outb(VGA_AC_INDEX, VGA_AC_PALETTE_ENABLE); /* the picture on */
	return true;
}

/*
 * The cursor leaves the last row: move the start address on by a row and clear the row that
 * comes into view. At the end of text memory, the 24 rows that stay are copied to the top and
 * the start goes back there.
 */
static void new_line(void)
{
	column = 0;
	if (row < ROWS - 1) {
		row++;
		return;
	}
	if (top + ROWS < MEMORY_ROWS) {
		top++;
	} else {
		for (unsigned int r = 0; r < ROWS - 1; r++) {
			quad *to = (quad *)shadow[r];
			const quad *from = (const quad *)shadow[top + 1 + r];

			for (unsigned int i = 0; i < COLUMNS / 4; i++)
				to[i] = from[i];
			store_row(r);
		}
		top = 0;
	}
	clear_row(top + ROWS - 1);
	set_start();
}

void vga_text_putc(char c)
{
	unsigned int memory_row = top + row;

	if (!ready)
		return;
	switch (c) {
	case '\n':
		new_line();
		return;
	case '\r':
		column = 0;
		return;
	case '\b':
		if (column == COLUMNS)
			column--;
		if (column)
			column--;
		return;
	case '\t':
		if (column == COLUMNS)
			new_line();
		column = (column + TAB) / TAB * TAB;
		return;
	default:
		break;
	}
	if ((unsigned char)c < ' ' || (unsigned char)c > '~')
		return;
	if (column == COLUMNS) { /* a full row wraps only once more follows */
		new_line();
		memory_row = top + row;
	}
	shadow[memory_row][column] = (uint16_t)(ATTRIBUTE << 8 | (uint8_t)c);
	((volatile uint16_t *)window_row(memory_row))[column] = shadow[memory_row][column];
	column++;
}

void vga_text_show_cursor(void)
{
	unsigned int at = (top + row) * COLUMNS + (column < COLUMNS ? column : COLUMNS - 1);

	if (!ready)
		return;
	write_indexed(VGA_CRTC_INDEX, CRTC_CURSOR_HIGH, (uint8_t)(at >> 8));
	write_indexed(VGA_CRTC_INDEX, CRTC_CURSOR_LOW, (uint8_t)at);
}

bool print_mirror_to_vga(bool on)
{
	if (on && !vga_text_init())
		return false;
	print_mirror_putc = on ? vga_text_putc : 0;
	print_mirror_done = on ? vga_text_show_cursor : 0;
	return true;
}

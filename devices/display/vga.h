/* The VGA core shared by the files of the std-VGA device (std_vga.c): the
 * legacy registers and planar memory (vga.c), the Bochs VBE "DISPI"
 * extension (vbe.c) and the rendering into the console (vga_render.c).
 *
 * Video memory is one buffer, the linear framebuffer that PCI BAR0 shows.
 * The legacy VGA planes live interleaved at its start: byte p of the 32-bit
 * word at offset 4 * o is plane p's byte o, so a display fetch of the four
 * planes is one load.  Legacy modes use the first 256 KiB (64 KiB a plane);
 * the DISPI modes use all of it, linearly (or, at 4 bpp, as larger planes).
 *
 * Threads: registers and memory are touched by vCPU threads (port and MMIO
 * handlers) and by the display thread (hg_vga_refresh), always with
 * machine->device_lock held.  Guest writes through a KVM memory slot reach
 * the framebuffer at any time; the renderer only reads it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "display/console.h"

#define VGA_PLANE_SIZE 0x10000u /* legacy: 64 KiB a plane */
#define VGA_PAGE_SHIFT 12
#define VGA_PAGE_SIZE (1u << VGA_PAGE_SHIFT)
#define VGA_MAX_WIDTH 8192 /* the console's limit, and VBE_DISPI_MAX_XRES */

#define VGA_SR_COUNT 5
#define VGA_GR_COUNT 9
#define VGA_CR_COUNT 0x19
#define VGA_AR_COUNT 0x15

/* Sequencer (FreeVGA "Sequencer Registers"). */
#define VGA_SR_CLOCKING 0x01
#define VGA_SR_CLOCKING_8DOT 0x01
#define VGA_SR_CLOCKING_SCREEN_OFF 0x20
#define VGA_SR_MAP_MASK 0x02
#define VGA_SR_CHAR_MAP 0x03
#define VGA_SR_MEMORY_MODE 0x04
#define VGA_SR_MEMORY_ODD_EVEN_OFF 0x04
#define VGA_SR_MEMORY_CHAIN4 0x08

/* Graphics controller. */
#define VGA_GR_SET_RESET 0x00
#define VGA_GR_ENABLE_SET_RESET 0x01
#define VGA_GR_COLOR_COMPARE 0x02
#define VGA_GR_DATA_ROTATE 0x03
#define VGA_GR_READ_MAP 0x04
#define VGA_GR_MODE 0x05
#define VGA_GR_MODE_READ_COMPARE 0x08
#define VGA_GR_MODE_ODD_EVEN 0x10
#define VGA_GR_MODE_INTERLEAVE 0x20
#define VGA_GR_MODE_256 0x40
#define VGA_GR_MISC 0x06
#define VGA_GR_MISC_GRAPHICS 0x01
#define VGA_GR_COLOR_DONT_CARE 0x07
#define VGA_GR_BIT_MASK 0x08

/* CRT controller. */
#define VGA_CR_H_DISPLAY_END 0x01
#define VGA_CR_OVERFLOW 0x07
#define VGA_CR_MAX_SCAN_LINE 0x09
#define VGA_CR_CURSOR_START 0x0a
#define VGA_CR_CURSOR_END 0x0b
#define VGA_CR_START_HIGH 0x0c
#define VGA_CR_START_LOW 0x0d
#define VGA_CR_CURSOR_HIGH 0x0e
#define VGA_CR_CURSOR_LOW 0x0f
#define VGA_CR_V_RETRACE_END 0x11
#define VGA_CR_V_RETRACE_END_PROTECT 0x80
#define VGA_CR_V_DISPLAY_END 0x12
#define VGA_CR_OFFSET 0x13
#define VGA_CR_UNDERLINE 0x14
#define VGA_CR_UNDERLINE_DWORD 0x40
#define VGA_CR_MODE 0x17
#define VGA_CR_MODE_BYTE 0x40

/* Attribute controller. */
#define VGA_AR_INDEX_PAS 0x20 /* palette address source: 0 blanks the screen */
#define VGA_AR_MODE 0x10
#define VGA_AR_MODE_GRAPHICS 0x01
#define VGA_AR_MODE_LINE_GRAPHICS 0x04
#define VGA_AR_MODE_BLINK 0x08
#define VGA_AR_MODE_P54 0x80
#define VGA_AR_PLANE_ENABLE 0x12
#define VGA_AR_COLOR_SELECT 0x14

/* Misc output. */
#define VGA_MISC_COLOR 0x01 /* CRTC at 0x3D4, input status 1 at 0x3DA */

/* Bochs VBE "DISPI" (Bochs vbe.h; QEMU's std-VGA implements the same). */
enum {
	VBE_DISPI_INDEX_ID,
	VBE_DISPI_INDEX_XRES,
	VBE_DISPI_INDEX_YRES,
	VBE_DISPI_INDEX_BPP,
	VBE_DISPI_INDEX_ENABLE,
	VBE_DISPI_INDEX_BANK,
	VBE_DISPI_INDEX_VIRT_WIDTH,
	VBE_DISPI_INDEX_VIRT_HEIGHT,
	VBE_DISPI_INDEX_X_OFFSET,
	VBE_DISPI_INDEX_Y_OFFSET,
	VBE_DISPI_INDEX_VIDEO_MEMORY_64K,
	VBE_DISPI_INDEX_COUNT,
};
#define VBE_DISPI_ID0 0xb0c0
#define VBE_DISPI_ID5 0xb0c5
#define VBE_DISPI_ENABLED 0x01
#define VBE_DISPI_GETCAPS 0x02
#define VBE_DISPI_8BIT_DAC 0x20
#define VBE_DISPI_LFB_ENABLED 0x40
#define VBE_DISPI_NOCLEARMEM 0x80
#define VBE_DISPI_MAX_XRES 8192 /* the console's limit */
#define VBE_DISPI_MAX_YRES 8192
#define VBE_DISPI_MAX_BPP 32
#define VBE_DISPI_IOPORT_INDEX 0x1ce
#define VBE_DISPI_BANK_SIZE 0x10000u

/* A DISPI mode as the renderer and the memory window use it. */
typedef struct {
	unsigned width, height, bpp; /* bpp 4 is planar */
	unsigned bytes_per_line; /* per plane at 4 bpp */
	uint64_t start; /* first visible byte (per plane at 4 bpp) */
} HgVbeMode;

/* What the screen shows, derived from the registers at each refresh; a
 * change of any field redraws everything. */
typedef enum {
	VGA_SHOW_BLANK,
	VGA_SHOW_TEXT,
	VGA_SHOW_GRAPHICS, /* planar, CGA-interleaved or 256-colour, from the planes */
	VGA_SHOW_LINEAR, /* DISPI 8-32 bpp */
} HgVgaShowKind;

typedef enum {
	VGA_SHIFT_PLANAR, /* 4 planes, 1 bit each: 8 pixels a fetch */
	VGA_SHIFT_INTERLEAVE, /* CGA: 2-bit pixels from plane pairs */
	VGA_SHIFT_256, /* one byte a pixel from each plane: 4 pixels a fetch */
} HgVgaShift;

typedef struct {
	HgVgaShowKind kind;
	int width, height; /* the surface */
	/* Text and planar graphics: CRTC addressing.  Addresses count in
	 * character clocks; "shift" turns them into plane offsets (0 byte,
	 * 1 word, 2 double-word mode). */
	uint32_t start; /* start address */
	uint32_t line_offset; /* added per character row */
	unsigned shift;
	unsigned cga_bits; /* CR17 bits 0-1 clear: row scan substitutes address bits 13/14 */
	uint32_t plane_mask; /* plane offsets wrap here */
	unsigned columns; /* character clocks a line */
	unsigned scan_lines_per_row; /* max scan line + 1 */
	unsigned line_repeat; /* graphics: each line shown this often (collapsed) */
	HgVgaShift shift_mode;
	/* Text. */
	unsigned char_width, char_height, rows;
	unsigned double_width, double_height; /* 1 or 2 */
	uint32_t font_offset[2]; /* in plane 2: attribute bit 3 clear, set */
	bool blink_enabled, line_graphics;
	unsigned underline_line;
	/* Linear. */
	HgVbeMode vbe;
} HgVgaShow;

typedef struct HgVga HgVga;

/* One range of legacy ports: its handler's offsets count from base. */
typedef struct {
	HgVga *vga;
	uint16_t base;
} HgVgaPorts;

struct HgVga {
	HgMachine *machine;
	HgConsole *console;

	/* Video memory: a memfd so that it can be a KVM memory slot. */
	int vram_fd;
	uint8_t *vram;
	uint64_t vram_size; /* a power of two, at least 256 KiB */
	uint64_t *dirty; /* one bit a page: written since the last refresh */
	int lfb_slot; /* KVM memory slot of the framebuffer BAR, or -1 */
	uint64_t *kvm_log; /* the slot's dirty log, fetched at each refresh */
	bool kvm_log_failed; /* said once */

	/* Legacy registers (FreeVGA; IBM VGA Technical Reference). */
	uint8_t misc;
	uint8_t feature;
	uint8_t video_enable; /* port 0x3C3 */
	uint8_t sr_index, sr[VGA_SR_COUNT];
	uint8_t gr_index, gr[VGA_GR_COUNT];
	uint8_t cr_index, cr[VGA_CR_COUNT];
	uint8_t ar_index, ar[VGA_AR_COUNT];
	bool ar_flip_flop; /* next 0x3C0 write is data */
	uint8_t input_status; /* retrace bits, toggled on each read */
	uint32_t latch; /* the four plane bytes of the last read */
	uint8_t dac[256][3];
	uint8_t dac_latch[3];
	uint8_t dac_read_index, dac_write_index, dac_component;
	uint8_t dac_state; /* 0: last index write was 0x3C8, 3: 0x3C7 */
	uint8_t dac_pixel_mask;

	/* DISPI. */
	uint16_t vbe_index;
	uint16_t vbe[VBE_DISPI_INDEX_COUNT];

	/* Rendering (display thread): what the console shows now. */
	HgVgaShow shown;
	uint32_t shown_palette[256];
	bool redraw; /* everything, at the next refresh */
	uint32_t *text_cells; /* char | attribute | cursor/blink state, a cell */
	unsigned text_cells_count;
	uint8_t text_fonts[2][256 * 32]; /* the fonts last drawn with */
	uint32_t *line; /* one converted line, VGA_MAX_WIDTH pixels */

	HgVgaPorts ports[5];
};

/* ---- vga.c ---- */

bool hg_vga_init(HgVga *s, HgMachine *m, HgConsole *console, uint64_t vram_size, GError **error);
void hg_vga_finalize(HgVga *s);
void hg_vga_reset(HgVga *s);
/* Ports 0x3B4-0x3DA, DISPI 0x1CE-0x1CF and the 0xA0000-0xBFFFF window. */
bool hg_vga_register_legacy(HgVga *s, const char *owner);
uint8_t hg_vga_port_read(HgVga *s, uint16_t port);
void hg_vga_port_write(HgVga *s, uint16_t port, uint8_t value);
/* The window at 0xA0000; addr is relative to it. */
uint8_t hg_vga_mem_read(HgVga *s, uint32_t addr);
void hg_vga_mem_write(HgVga *s, uint32_t addr, uint8_t value);
void hg_vga_mark_dirty(HgVga *s, uint64_t offset, uint64_t len);
/* Zero [offset, offset + len) of video memory (page-aligned runs are
 * returned to the host). */
void hg_vga_clear_vram(HgVga *s, uint64_t offset, uint64_t len);
void hg_vga_save(HgVga *s, GVariantBuilder *b);
bool hg_vga_load(HgVga *s, GVariantDict *r, GError **error);

/* ---- vbe.c ---- */

uint16_t hg_vbe_read(HgVga *s, unsigned index);
void hg_vbe_write(HgVga *s, unsigned index, uint16_t value);
bool hg_vbe_enabled(const HgVga *s);
/* The current DISPI mode; false when DISPI is off. */
bool hg_vbe_mode(const HgVga *s, HgVbeMode *mode);
/* Whether saved DISPI registers describe a mode this memory can show. */
bool hg_vbe_registers_valid(const HgVga *s, const uint16_t *regs);

/* ---- vga_render.c ---- */

/* The console's refresh callback (display thread, device lock held). */
void hg_vga_refresh(void *opaque);
/* Redraw all at the next refresh (mode, memory or mapping changed). */
void hg_vga_invalidate(HgVga *s);
/* The surface the registers describe now, for tests of the geometry. */
void hg_vga_compute_show(HgVga *s, HgVgaShow *show);

/* The std-VGA through the harness: PCI identity, the legacy register files,
 * planar memory and its write and read modes, text, planar and 256-colour
 * rendering, the Bochs VBE (DISPI) modes, the MMIO BAR, dirty tracking and
 * save/restore.  No VGA BIOS runs here: the tests program the registers
 * with the IBM VGA's mode tables themselves, load a font of their own, and
 * judge the picture from the control socket's screendump, decoded with
 * libpng. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "devices/display/vga_damage.h"
#include "tests/devices/display/png-image.h"
#include "tests/harness/harness.h"
#include "tests/harness/pci.h"
#include "tests/harness/saved_state.h"

#define VGA_DEVFN (2 << 3)
#define LFB 0xe0000000ull
#define MMIO 0xe1000000ull
#define VRAM_SIZE (16u << 20)

typedef struct {
	HgTest *t;
	int control;
	GString *pending;
	unsigned shots;
} Vga;

/* ---- engine, control socket, screendump ---- */

static Vga *vga_start_with(const char *restore_dir)
{
	Vga *v = g_new0(Vga, 1);
	g_autofree char *path = NULL;
	g_autofree char *greeting = NULL;

	if (restore_dir)
		v->t = hg_test_start("--control", "@DIR@/c.sock", "--restore", restore_dir, NULL);
	else
		v->t = hg_test_start("--control", "@DIR@/c.sock", NULL);
	path = g_build_filename(hg_test_dir(v->t), "c.sock", NULL);
	v->control = hg_test_connect_unix(path);
	v->pending = g_string_new(NULL);
	greeting = hg_test_read_line(v->control, v->pending, 10000);
	g_assert_nonnull(greeting);
	return v;
}

static Vga *vga_start(void)
{
	return vga_start_with(NULL);
}

static void vga_quit(Vga *v)
{
	close(v->control);
	g_string_free(v->pending, TRUE);
	hg_test_quit(v->t);
	g_free(v);
}

static Image *screendump(Vga *v)
{
	g_autofree char *path = g_strdup_printf("%s/shot%u.png", hg_test_dir(v->t), v->shots++);
	g_autofree char *request = g_strdup_printf(
		"{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"%s\"}}\n", path);
	g_autofree char *reply = NULL;

	g_assert_cmpint(write(v->control, request, strlen(request)), ==, (ssize_t)strlen(request));
	do {
		g_free(reply);
		reply = hg_test_read_line(v->control, v->pending, 10000);
		g_assert_nonnull(reply);
	} while (strstr(reply, "\"event\""));
	g_assert_nonnull(strstr(reply, "\"return\""));
	return image_load_png(path);
}

static uint32_t pixel(const Image *im, int x, int y)
{
	return image_pixel(im, x, y);
}

static void console_size(Vga *v, int *width, int *height)
{
	g_autofree char *reply = hg_test_request(v->t, "console_size");
	g_assert_cmpint(sscanf(reply, "OK %dx%d", width, height), ==, 2);
}

/* ---- registers ---- */

static void seq_write(HgTest *t, uint8_t i, uint8_t v)
{
	hg_test_outb(t, 0x3c4, i);
	hg_test_outb(t, 0x3c5, v);
}

static uint8_t seq_read(HgTest *t, uint8_t i)
{
	hg_test_outb(t, 0x3c4, i);
	return hg_test_inb(t, 0x3c5);
}

static void gr_write(HgTest *t, uint8_t i, uint8_t v)
{
	hg_test_outb(t, 0x3ce, i);
	hg_test_outb(t, 0x3cf, v);
}

static uint8_t gr_read(HgTest *t, uint8_t i)
{
	hg_test_outb(t, 0x3ce, i);
	return hg_test_inb(t, 0x3cf);
}

static void cr_write(HgTest *t, uint8_t i, uint8_t v)
{
	hg_test_outb(t, 0x3d4, i);
	hg_test_outb(t, 0x3d5, v);
}

static uint8_t cr_read(HgTest *t, uint8_t i)
{
	hg_test_outb(t, 0x3d4, i);
	return hg_test_inb(t, 0x3d5);
}

static void ar_write(HgTest *t, uint8_t i, uint8_t v)
{
	hg_test_inb(t, 0x3da); /* flip-flop to "address" */
	hg_test_outb(t, 0x3c0, i);
	hg_test_outb(t, 0x3c0, v);
}

static uint8_t ar_read(HgTest *t, uint8_t i)
{
	hg_test_inb(t, 0x3da);
	hg_test_outb(t, 0x3c0, i);
	return hg_test_inb(t, 0x3c1);
}

/* Screen on: the attribute controller's palette address source. */
static void unblank(HgTest *t)
{
	hg_test_inb(t, 0x3da);
	hg_test_outb(t, 0x3c0, 0x20);
}

static void dac_write(HgTest *t, uint8_t index, uint8_t r, uint8_t g, uint8_t b)
{
	hg_test_outb(t, 0x3c8, index);
	hg_test_outb(t, 0x3c9, r);
	hg_test_outb(t, 0x3c9, g);
	hg_test_outb(t, 0x3c9, b);
}

static uint32_t rgb6(uint8_t r, uint8_t g, uint8_t b)
{
	return (uint32_t)((r << 2) | (r >> 4)) << 16 | (uint32_t)((g << 2) | (g >> 4)) << 8 |
	       (uint32_t)((b << 2) | (b >> 4));
}

/* Sixteen distinct colours in DAC entries 0-15 (the attribute palette
 * below is the identity, so text colour n is entry n). */
static void dac_colour(unsigned i, uint8_t *r, uint8_t *g, uint8_t *b)
{
	*r = (uint8_t)(i * 4);
	*g = (uint8_t)(63 - i * 4);
	*b = (uint8_t)((i * 23) % 64);
}

static uint32_t colour(unsigned i)
{
	uint8_t r, g, b;
	dac_colour(i, &r, &g, &b);
	return rgb6(r, g, b);
}

static void load_dac(HgTest *t)
{
	for (unsigned i = 0; i < 16; i++) {
		uint8_t r, g, b;
		dac_colour(i, &r, &g, &b);
		dac_write(t, (uint8_t)i, r, g, b);
	}
}

/* The IBM VGA BIOS's parameter tables for modes 03h, 12h and 13h (the
 * attribute palette made the identity). */
typedef struct {
	uint8_t misc;
	uint8_t sr[5];
	uint8_t cr[25];
	uint8_t gr[9];
	uint8_t ar[21];
} Mode;

static const Mode mode_03 = {
	0x67,
	{0x03, 0x00, 0x03, 0x00, 0x02},
	{0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00,
	 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff},
	{0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff},
	{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x0c, 0x00, 0x0f, 0x08, 0x00},
};

static const Mode mode_12 = {
	0xe3,
	{0x03, 0x01, 0x0f, 0x00, 0x06},
	{0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00, 0x00,
	 0x00, 0x00, 0x00, 0xea, 0x8c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff},
	{0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff},
	{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x01, 0x00, 0x0f, 0x00, 0x00},
};

static const Mode mode_13 = {
	0x63,
	{0x03, 0x01, 0x0f, 0x00, 0x0e},
	{0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00,
	 0x00, 0x00, 0x00, 0x9c, 0x0e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff},
	{0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff},
	{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x41, 0x00, 0x0f, 0x00, 0x00},
};

static void set_mode(HgTest *t, const Mode *m)
{
	hg_test_outb(t, 0x3c2, m->misc);
	for (uint8_t i = 0; i < 5; i++)
		seq_write(t, i, m->sr[i]);
	cr_write(t, 0x11, cr_read(t, 0x11) & 0x7f); /* unprotect CR00-CR07 */
	for (uint8_t i = 0; i < 25; i++)
		cr_write(t, i, m->cr[i]);
	for (uint8_t i = 0; i < 9; i++)
		gr_write(t, i, m->gr[i]);
	for (uint8_t i = 0; i < 21; i++)
		ar_write(t, i, m->ar[i]);
	load_dac(t);
	unblank(t);
}

/* ---- text ---- */

/* Our font: a pattern per character and line that the checks recompute. */
static uint8_t glyph_row(uint8_t ch, unsigned line)
{
	return (uint8_t)((ch * 37u + line * 11u) ^ (line & 1 ? 0xa5 : 0x3c));
}

/* Fonts live in plane 2: reach it in planar, sequential mode, then go
 * back to text mode's odd/even addressing. */
static void load_font(HgTest *t, const char *chars, unsigned font_offset)
{
	seq_write(t, 0x02, 0x04);
	seq_write(t, 0x04, 0x06);
	gr_write(t, 0x04, 0x02);
	gr_write(t, 0x05, 0x00);
	gr_write(t, 0x06, 0x04);
	for (const char *c = chars; *c; c++) {
		uint8_t ch = (uint8_t)*c;
		for (unsigned line = 0; line < 16; line += 4) {
			uint32_t v = 0;
			for (unsigned i = 0; i < 4; i++)
				v |= (uint32_t)glyph_row(ch, line + i) << (8 * i);
			hg_test_writel(t, 0xa0000 + font_offset + ch * 32u + line, v);
		}
	}
	seq_write(t, 0x02, 0x03);
	seq_write(t, 0x04, 0x02);
	gr_write(t, 0x04, 0x00);
	gr_write(t, 0x05, 0x10);
	gr_write(t, 0x06, 0x0e);
}

static void put_text(HgTest *t, unsigned cell, const char *text, uint8_t attr)
{
	for (const char *c = text; *c; c++, cell++)
		hg_test_writew(t, 0xb8000 + 2 * cell, (uint16_t)(attr << 8 | (uint8_t)*c));
}

/* Check cell (column, row) of a 9x16 80x25 screen: the glyph in fg on bg,
 * with lines from cursor_from to cursor_to (inclusive) solid fg. */
static void check_cell(const Image *im, unsigned column, unsigned row, uint8_t ch, uint32_t fg,
		       uint32_t bg, int cursor_from, int cursor_to)
{
	for (unsigned line = 0; line < 16; line++) {
		uint8_t bits = glyph_row(ch, line);
		bool cursor = (int)line >= cursor_from && (int)line <= cursor_to;
		for (unsigned x = 0; x < 9; x++) {
			bool on = x < 8 && (bits & (0x80 >> x));
			uint32_t want = cursor || on ? fg : bg;
			uint32_t got = pixel(im, (int)(column * 9 + x), (int)(row * 16 + line));
			if (got != want)
				g_error("cell %u,%u line %u x %u: 0x%06x, expected 0x%06x", column,
					row, line, x, got, want);
		}
	}
}

static Vga *text_screen(void)
{
	Vga *v = vga_start();
	set_mode(v->t, &mode_03);
	load_font(v->t, "HELO !", 0);
	/* Clear the screen to spaces on black, cursor hidden. */
	for (unsigned i = 0; i < 80 * 25; i++)
		hg_test_writew(v->t, 0xb8000 + 2 * i, 0x0720);
	cr_write(v->t, 0x0a, 0x20);
	return v;
}

/* ---- PCI and DISPI helpers ---- */

static void program_bars(HgTest *t)
{
	hg_test_pci_writel(t, VGA_DEVFN, 0x10, (uint32_t)LFB);
	hg_test_pci_writel(t, VGA_DEVFN, 0x18, (uint32_t)MMIO);
	hg_test_pci_writew(t, VGA_DEVFN, 0x04, 0x0003);
}

static void dispi_write(HgTest *t, uint16_t index, uint16_t value)
{
	hg_test_outw(t, 0x1ce, index);
	hg_test_outw(t, 0x1cf, value);
}

static uint16_t dispi_read(HgTest *t, uint16_t index)
{
	hg_test_outw(t, 0x1ce, index);
	return hg_test_inw(t, 0x1cf);
}

enum {
	ID,
	XRES,
	YRES,
	BPP,
	ENABLE,
	BANK,
	VIRT_WIDTH,
	VIRT_HEIGHT,
	X_OFFSET,
	Y_OFFSET,
	VIDEO_MEMORY_64K,
};
#define ENABLED 0x01
#define GETCAPS 0x02
#define LFB_ENABLED 0x40
#define NOCLEARMEM 0x80

/* As bochs-drm sets a mode. */
static void vbe_set_mode(HgTest *t, uint16_t width, uint16_t height, uint16_t bpp)
{
	hg_test_outb(t, 0x3c2, 0x01);
	unblank(t);
	dispi_write(t, ENABLE, 0);
	dispi_write(t, BPP, bpp);
	dispi_write(t, XRES, width);
	dispi_write(t, YRES, height);
	dispi_write(t, BANK, 0);
	dispi_write(t, ENABLE, ENABLED | LFB_ENABLED);
}

static Vga *vbe_screen(uint16_t width, uint16_t height, uint16_t bpp)
{
	Vga *v = vga_start();
	program_bars(v->t);
	vbe_set_mode(v->t, width, height, bpp);
	return v;
}

/* ---- tests: PCI ---- */

static void test_pci_identity_and_bars(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	g_assert_cmphex(hg_test_pci_readl(t, VGA_DEVFN, 0x00), ==, 0x11111234);
	g_assert_cmphex(hg_test_pci_readl(t, VGA_DEVFN, 0x08) >> 8, ==, 0x030000);
	g_assert_cmphex(hg_test_pci_readl(t, VGA_DEVFN, 0x2c), ==, 0x11001af4);
	g_assert_cmphex(hg_test_pci_readb(t, VGA_DEVFN, 0x3d), ==, 0); /* no interrupt */
	/* BAR0: 16 MiB prefetchable memory; BAR2: 4 KiB memory; the rest absent. */
	static const struct {
		unsigned reg;
		uint32_t sized;
	} bars[] = {{0x10, 0xff000008}, {0x14, 0}, {0x18, 0xfffff000},
		    {0x1c, 0},		{0x20, 0}, {0x24, 0}};
	for (unsigned i = 0; i < G_N_ELEMENTS(bars); i++) {
		hg_test_pci_writel(t, VGA_DEVFN, bars[i].reg, 0xffffffff);
		g_assert_cmphex(hg_test_pci_readl(t, VGA_DEVFN, bars[i].reg), ==, bars[i].sized);
	}
	program_bars(t);
	/* The framebuffer is memory behind BAR0. */
	hg_test_writel(t, LFB + 0x123458, 0xcafe1234);
	g_assert_cmphex(hg_test_readl(t, LFB + 0x123458), ==, 0xcafe1234);
	g_assert_cmphex(dispi_read(t, VIDEO_MEMORY_64K), ==, VRAM_SIZE >> 16);
	vga_quit(v);
}

/* ---- tests: register files ---- */

static void test_registers_read_back(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	hg_test_outb(t, 0x3c2, 0x67);
	g_assert_cmphex(hg_test_inb(t, 0x3cc), ==, 0x67);
	/* Sequencer: reserved bits read as zero. */
	seq_write(t, 0x02, 0x0a);
	seq_write(t, 0x04, 0xff);
	g_assert_cmphex(seq_read(t, 0x02), ==, 0x0a);
	g_assert_cmphex(seq_read(t, 0x04), ==, 0x0e);
	g_assert_cmphex(hg_test_inb(t, 0x3c4), ==, 0x04);
	/* Graphics controller: each register's defined bits. */
	static const uint8_t gr_bits[9] = {0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff};
	for (uint8_t i = 0; i < 9; i++)
		gr_write(t, i, (uint8_t)(0xa5 + i));
	for (uint8_t i = 0; i < 9; i++)
		g_assert_cmphex(gr_read(t, i), ==, (0xa5 + i) & gr_bits[i]);
	gr_write(t, 0x05, 0xff);
	g_assert_cmphex(gr_read(t, 0x05), ==, 0x7b);
	/* CRTC, every register. */
	for (uint8_t i = 0; i < 25; i++)
		cr_write(t, i, (uint8_t)(0x40 + i));
	for (uint8_t i = 0; i < 25; i++)
		g_assert_cmphex(cr_read(t, i), ==, 0x40 + i);
	/* Beyond the standard registers nothing is stored (a Cirrus probe
	 * must not find its unlock value). */
	seq_write(t, 0x06, 0x12);
	g_assert_cmphex(seq_read(t, 0x06), ==, 0);
	cr_write(t, 0x27, 0x55);
	g_assert_cmphex(cr_read(t, 0x27), ==, 0);
	g_assert_cmphex(cr_read(t, 0x07), ==, 0x47);
	/* A word write is index then data, as on the ISA bus. */
	hg_test_outw(t, 0x3c4, 0x0502);
	g_assert_cmphex(seq_read(t, 0x02), ==, 0x05);
	/* Attribute controller. */
	for (uint8_t i = 0; i < 16; i++)
		ar_write(t, i, (uint8_t)(0x30 + i));
	ar_write(t, 0x10, 0x41);
	ar_write(t, 0x14, 0x0f);
	for (uint8_t i = 0; i < 16; i++)
		g_assert_cmphex(ar_read(t, i), ==, 0x30 + i);
	g_assert_cmphex(ar_read(t, 0x10), ==, 0x41);
	g_assert_cmphex(ar_read(t, 0x14), ==, 0x0f);
	vga_quit(v);
}

static void test_crtc_protect_bit_guards_cr00_to_cr07(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	hg_test_outb(t, 0x3c2, 0x01);
	cr_write(t, 0x00, 0x5f);
	cr_write(t, 0x07, 0x0f);
	cr_write(t, 0x11, 0x8e); /* protect on */
	cr_write(t, 0x00, 0x12);
	cr_write(t, 0x06, 0x34);
	cr_write(t, 0x07, 0xf0);
	cr_write(t, 0x08, 0x05);
	g_assert_cmphex(cr_read(t, 0x00), ==, 0x5f);
	g_assert_cmphex(cr_read(t, 0x06), ==, 0x00);
	/* CR07 takes only its line compare bit 8 (bit 4). */
	g_assert_cmphex(cr_read(t, 0x07), ==, 0x1f);
	g_assert_cmphex(cr_read(t, 0x08), ==, 0x05);
	cr_write(t, 0x11, 0x0e); /* protect off */
	cr_write(t, 0x00, 0x12);
	g_assert_cmphex(cr_read(t, 0x00), ==, 0x12);
	vga_quit(v);
}

static void test_crtc_ports_follow_misc_output(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	hg_test_outb(t, 0x3c2, 0x00); /* monochrome: 0x3B4 */
	hg_test_outb(t, 0x3b4, 0x0c);
	hg_test_outb(t, 0x3b5, 0x12);
	g_assert_cmphex(hg_test_inb(t, 0x3b5), ==, 0x12);
	g_assert_cmphex(hg_test_inb(t, 0x3d5), ==, 0xff);
	hg_test_outb(t, 0x3c2, 0x01); /* colour: 0x3D4 */
	g_assert_cmphex(hg_test_inb(t, 0x3b4), ==, 0xff);
	hg_test_outb(t, 0x3d4, 0x0c);
	g_assert_cmphex(hg_test_inb(t, 0x3d5), ==, 0x12);
	/* Input status 1 moves along: retrace bits toggle read to read. */
	uint8_t a = hg_test_inb(t, 0x3da), b = hg_test_inb(t, 0x3da);
	g_assert_cmphex(a ^ b, ==, 0x09);
	g_assert_cmphex(hg_test_inb(t, 0x3ba), ==, 0xff);
	vga_quit(v);
}

static void test_attribute_flip_flop_resets_on_input_status_read(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	hg_test_outb(t, 0x3c2, 0x01);
	hg_test_inb(t, 0x3da);
	hg_test_outb(t, 0x3c0, 0x05); /* index 5 */
	hg_test_outb(t, 0x3c0, 0x15); /* data */
	hg_test_outb(t, 0x3c0, 0x06); /* index 6 */
	/* Without the reset the next write would be data for index 6 ... */
	hg_test_inb(t, 0x3da);
	hg_test_outb(t, 0x3c0, 0x07); /* ... with it, an index */
	hg_test_outb(t, 0x3c0, 0x2a);
	g_assert_cmphex(hg_test_inb(t, 0x3c0), ==, 0x07);
	g_assert_cmphex(ar_read(t, 0x05), ==, 0x15);
	g_assert_cmphex(ar_read(t, 0x06), ==, 0x00);
	g_assert_cmphex(ar_read(t, 0x07), ==, 0x2a);
	vga_quit(v);
}

static void test_dac_auto_increments(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	hg_test_outb(t, 0x3c8, 0x10);
	g_assert_cmphex(hg_test_inb(t, 0x3c7), ==, 0x00); /* write mode */
	for (uint8_t i = 0; i < 6; i++)
		hg_test_outb(t, 0x3c9, (uint8_t)(0x3a + i));
	g_assert_cmphex(hg_test_inb(t, 0x3c8), ==, 0x12); /* two entries on */
	hg_test_outb(t, 0x3c9, 0xff); /* 6 bits a component */
	hg_test_outb(t, 0x3c9, 0x40);
	hg_test_outb(t, 0x3c9, 0x01);
	hg_test_outb(t, 0x3c7, 0x10);
	g_assert_cmphex(hg_test_inb(t, 0x3c7), ==, 0x03); /* read mode */
	for (uint8_t i = 0; i < 6; i++)
		g_assert_cmphex(hg_test_inb(t, 0x3c9), ==, 0x3a + i);
	g_assert_cmphex(hg_test_inb(t, 0x3c9), ==, 0x3f);
	g_assert_cmphex(hg_test_inb(t, 0x3c9), ==, 0x00);
	g_assert_cmphex(hg_test_inb(t, 0x3c9), ==, 0x01);
	hg_test_outb(t, 0x3c6, 0x0f);
	g_assert_cmphex(hg_test_inb(t, 0x3c6), ==, 0x0f);
	vga_quit(v);
}

/* ---- tests: planar memory ---- */

/* Graphics, planar, A0000 64K; all planes enabled; write mode given. */
static void planar_setup(HgTest *t, uint8_t mode)
{
	hg_test_outb(t, 0x3c2, 0x63);
	seq_write(t, 0x02, 0x0f);
	seq_write(t, 0x04, 0x06);
	gr_write(t, 0x05, mode);
	gr_write(t, 0x06, 0x05);
	gr_write(t, 0x08, 0xff);
}

static uint8_t plane_byte(HgTest *t, unsigned plane, uint32_t offset)
{
	gr_write(t, 0x04, (uint8_t)plane);
	return hg_test_readb(t, 0xa0000 + offset);
}

static void test_write_mode_0(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	planar_setup(t, 0x00);
	hg_test_writeb(t, 0xa0000 + 10, 0x5a); /* all planes 0x5a */
	for (unsigned p = 0; p < 4; p++)
		g_assert_cmphex(plane_byte(t, p, 10), ==, 0x5a);
	/* Set/reset on planes 0 and 2 (set 0, reset 2), the data elsewhere. */
	gr_write(t, 0x00, 0x01);
	gr_write(t, 0x01, 0x05);
	hg_test_writeb(t, 0xa0000 + 11, 0x33);
	g_assert_cmphex(plane_byte(t, 0, 11), ==, 0xff);
	g_assert_cmphex(plane_byte(t, 1, 11), ==, 0x33);
	g_assert_cmphex(plane_byte(t, 2, 11), ==, 0x00);
	g_assert_cmphex(plane_byte(t, 3, 11), ==, 0x33);
	/* Rotate by 4, XOR with the latches (loaded by a read), bit mask 0xf0. */
	gr_write(t, 0x01, 0x00);
	gr_write(t, 0x03, 0x18 | 4);
	gr_write(t, 0x08, 0xf0);
	hg_test_readb(t, 0xa0000 + 10); /* latches: 0x5a in every plane */
	hg_test_writeb(t, 0xa0000 + 10, 0x0f); /* rotated: 0xf0 */
	for (unsigned p = 0; p < 4; p++)
		g_assert_cmphex(plane_byte(t, p, 10), ==, ((0x5a ^ 0xf0) & 0xf0) | (0x5a & 0x0f));
	/* The map mask keeps planes out. */
	gr_write(t, 0x03, 0x00);
	gr_write(t, 0x08, 0xff);
	seq_write(t, 0x02, 0x02);
	hg_test_writeb(t, 0xa0000 + 12, 0x77);
	g_assert_cmphex(plane_byte(t, 0, 12), ==, 0x00);
	g_assert_cmphex(plane_byte(t, 1, 12), ==, 0x77);
	vga_quit(v);
}

static void test_write_mode_1_copies_latches(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	planar_setup(t, 0x00);
	gr_write(t, 0x01, 0x0f);
	gr_write(t, 0x00, 0x05); /* planes 0 and 2 all ones */
	hg_test_writeb(t, 0xa0000 + 100, 0);
	gr_write(t, 0x01, 0x00);
	gr_write(t, 0x05, 0x01);
	hg_test_readb(t, 0xa0000 + 100);
	hg_test_writeb(t, 0xa0000 + 200, 0x12); /* the data does not matter */
	g_assert_cmphex(plane_byte(t, 0, 200), ==, 0xff);
	g_assert_cmphex(plane_byte(t, 1, 200), ==, 0x00);
	g_assert_cmphex(plane_byte(t, 2, 200), ==, 0xff);
	g_assert_cmphex(plane_byte(t, 3, 200), ==, 0x00);
	vga_quit(v);
}

static void test_write_modes_2_and_3(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	/* Mode 2: the data's low bits are a colour for the bit mask's pixels. */
	planar_setup(t, 0x02);
	gr_write(t, 0x08, 0x81);
	hg_test_writeb(t, 0xa0000 + 5, 0x0a);
	g_assert_cmphex(plane_byte(t, 0, 5), ==, 0x00);
	g_assert_cmphex(plane_byte(t, 1, 5), ==, 0x81);
	g_assert_cmphex(plane_byte(t, 2, 5), ==, 0x00);
	g_assert_cmphex(plane_byte(t, 3, 5), ==, 0x81);
	/* Mode 3: set/reset is the colour, the rotated data ANDs the mask. */
	gr_write(t, 0x05, 0x03);
	gr_write(t, 0x00, 0x06);
	gr_write(t, 0x08, 0x3c);
	hg_test_readb(t, 0xa0000 + 6);
	hg_test_writeb(t, 0xa0000 + 6, 0x0f); /* mask 0x3c & 0x0f = 0x0c */
	g_assert_cmphex(plane_byte(t, 0, 6), ==, 0x00);
	g_assert_cmphex(plane_byte(t, 1, 6), ==, 0x0c);
	g_assert_cmphex(plane_byte(t, 2, 6), ==, 0x0c);
	g_assert_cmphex(plane_byte(t, 3, 6), ==, 0x00);
	vga_quit(v);
}

static void test_read_mode_1_compares_colours(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	planar_setup(t, 0x02);
	/* Pixels 0-3 colour 5, pixels 4-7 colour 12. */
	gr_write(t, 0x08, 0xf0);
	hg_test_writeb(t, 0xa0000 + 40, 5);
	gr_write(t, 0x08, 0x0f);
	hg_test_readb(t, 0xa0000 + 40); /* latches keep pixels 0-3 */
	hg_test_writeb(t, 0xa0000 + 40, 12);
	gr_write(t, 0x05, 0x08); /* read mode 1 */
	gr_write(t, 0x07, 0x0f);
	gr_write(t, 0x02, 5);
	g_assert_cmphex(hg_test_readb(t, 0xa0000 + 40), ==, 0xf0);
	gr_write(t, 0x02, 12);
	g_assert_cmphex(hg_test_readb(t, 0xa0000 + 40), ==, 0x0f);
	/* Colour don't care: compare plane 2 only (5 and 12 both have it). */
	gr_write(t, 0x07, 0x04);
	gr_write(t, 0x02, 4);
	g_assert_cmphex(hg_test_readb(t, 0xa0000 + 40), ==, 0xff);
	vga_quit(v);
}

static void test_chain4_and_odd_even_addressing(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	/* Chain-4: plane (address & 3) at offset (address & ~3). */
	planar_setup(t, 0x00);
	seq_write(t, 0x04, 0x0e);
	hg_test_writel(t, 0xa0000 + 0x100, 0x44332211);
	g_assert_cmphex(hg_test_readl(t, 0xa0000 + 0x100), ==, 0x44332211);
	seq_write(t, 0x04, 0x06);
	for (unsigned p = 0; p < 4; p++)
		g_assert_cmphex(plane_byte(t, p, 0x100), ==, 0x11 * (p + 1));
	/* Odd/even: even addresses to plane 0, odd to plane 1, offset & ~1. */
	seq_write(t, 0x04, 0x02);
	seq_write(t, 0x02, 0x03);
	hg_test_writew(t, 0xa0000 + 0x200, 0x7741);
	seq_write(t, 0x04, 0x06);
	g_assert_cmphex(plane_byte(t, 0, 0x200), ==, 0x41);
	g_assert_cmphex(plane_byte(t, 1, 0x200), ==, 0x77);
	g_assert_cmphex(plane_byte(t, 0, 0x201), ==, 0x00);
	gr_write(t, 0x05, 0x10); /* odd/even reads */
	gr_write(t, 0x04, 0x00);
	g_assert_cmphex(hg_test_readw(t, 0xa0000 + 0x200), ==, 0x7741);
	vga_quit(v);
}

static void test_memory_map_select_opens_the_window(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	planar_setup(t, 0x00);
	gr_write(t, 0x06, 0x0d); /* B8000-BFFFF */
	hg_test_writeb(t, 0xb8000 + 3, 0x99);
	hg_test_writeb(t, 0xa0000 + 3, 0x11); /* outside: dropped */
	g_assert_cmphex(hg_test_readb(t, 0xa0000 + 3), ==, 0xff);
	g_assert_cmphex(hg_test_readb(t, 0xb8000 + 3), ==, 0x99);
	gr_write(t, 0x06, 0x09); /* B0000-B7FFF */
	g_assert_cmphex(hg_test_readb(t, 0xb8000 + 3), ==, 0xff);
	g_assert_cmphex(hg_test_readb(t, 0xb0000 + 3), ==, 0x99);
	gr_write(t, 0x06, 0x01); /* A0000-BFFFF, 128 KiB */
	g_assert_cmphex(hg_test_readb(t, 0xa0000 + 3), ==, 0x99);
	vga_quit(v);
}

/* ---- tests: text mode ---- */

static void test_text_renders_characters_in_palette_colours(void)
{
	Vga *v = text_screen();
	int width, height;

	put_text(v->t, 0, "HELLO", 0x1e);
	put_text(v->t, 80 * 3 + 10, "OH", 0x4a);
	g_autoptr(Image) im = screendump(v);
	g_assert_cmpint(im->width, ==, 720);
	g_assert_cmpint(im->height, ==, 400);
	console_size(v, &width, &height);
	g_assert_cmpint(width, ==, 720);
	g_assert_cmpint(height, ==, 400);
	for (unsigned i = 0; i < 5; i++)
		check_cell(im, i, 0, (uint8_t) "HELLO"[i], colour(0xe), colour(0x1), -1, -1);
	check_cell(im, 10, 3, 'O', colour(0xa), colour(0x4), -1, -1);
	check_cell(im, 11, 3, 'H', colour(0xa), colour(0x4), -1, -1);
	check_cell(im, 5, 0, ' ', colour(0x7), colour(0x0), -1, -1);
	vga_quit(v);
}

static void test_text_cursor_is_drawn_where_the_crtc_says(void)
{
	Vga *v = text_screen();
	HgTest *t = v->t;

	put_text(t, 80 * 2, "HELLO", 0x2c);
	cr_write(t, 0x0a, 0x0d);
	cr_write(t, 0x0b, 0x0e);
	cr_write(t, 0x0e, 0x00);
	cr_write(t, 0x0f, 80 * 2 + 3);
	g_autoptr(Image) im = screendump(v);
	check_cell(im, 3, 2, 'L', colour(0xc), colour(0x2), 13, 14);
	check_cell(im, 4, 2, 'O', colour(0xc), colour(0x2), -1, -1);
	/* Moved: the old cell loses it. */
	cr_write(t, 0x0f, 80 * 2 + 4);
	g_autoptr(Image) moved = screendump(v);
	check_cell(moved, 3, 2, 'L', colour(0xc), colour(0x2), -1, -1);
	check_cell(moved, 4, 2, 'O', colour(0xc), colour(0x2), 13, 14);
	/* Cursor start after its end: no cursor. */
	cr_write(t, 0x0a, 0x0f);
	g_autoptr(Image) none = screendump(v);
	check_cell(none, 4, 2, 'O', colour(0xc), colour(0x2), -1, -1);
	vga_quit(v);
}

static void test_text_cursor_and_characters_blink_with_the_clock(void)
{
	Vga *v = text_screen();
	HgTest *t = v->t;

	put_text(t, 0, "HE", 0x9e); /* bit 7: blink (AR10 bit 3 is set) */
	put_text(t, 2, "L", 0x1e);
	cr_write(t, 0x0a, 0x0e);
	cr_write(t, 0x0b, 0x0f);
	cr_write(t, 0x0f, 2);
	g_autoptr(Image) on = screendump(v);
	check_cell(on, 0, 0, 'H', colour(0xe), colour(0x1), -1, -1);
	check_cell(on, 2, 0, 'L', colour(0xe), colour(0x1), 14, 15);
	/* 150 ms on: the cursor is off, characters still on. */
	hg_test_clock_step(t, 150000000);
	g_autoptr(Image) cursor_off = screendump(v);
	check_cell(cursor_off, 0, 0, 'H', colour(0xe), colour(0x1), -1, -1);
	check_cell(cursor_off, 2, 0, 'L', colour(0xe), colour(0x1), -1, -1);
	/* 300 ms: blinking characters are background only. */
	hg_test_clock_step(t, 150000000);
	g_autoptr(Image) hidden = screendump(v);
	for (unsigned line = 0; line < 16; line++)
		for (unsigned x = 0; x < 18; x++)
			g_assert_cmphex(pixel(hidden, (int)x, (int)line), ==, colour(0x1));
	check_cell(hidden, 2, 0, 'L', colour(0xe), colour(0x1), 14, 15);
	/* Blink off: bit 7 makes the background bright instead. */
	ar_write(t, 0x10, 0x04);
	unblank(t);
	g_autoptr(Image) bright = screendump(v);
	check_cell(bright, 0, 0, 'H', colour(0xe), colour(0x9), -1, -1);
	vga_quit(v);
}

static void test_text_80x50_and_40_columns(void)
{
	Vga *v = text_screen();
	HgTest *t = v->t;

	cr_write(t, 0x09, 0x47); /* 8-line characters: 50 rows */
	put_text(t, 80 * 49 + 79, "H", 0x1e);
	g_autoptr(Image) im = screendump(v);
	g_assert_cmpint(im->width, ==, 720);
	g_assert_cmpint(im->height, ==, 400);
	for (unsigned line = 0; line < 8; line++)
		for (unsigned x = 0; x < 8; x++)
			g_assert_cmphex(pixel(im, (int)(79 * 9 + x), (int)(49 * 8 + line)), ==,
					(glyph_row('H', line) & (0x80 >> x)) ? colour(0xe)
									     : colour(0x1));
	/* 40 columns: half the character clocks at half the dot clock. */
	cr_write(t, 0x09, 0x4f);
	cr_write(t, 0x11, cr_read(t, 0x11) & 0x7f); /* CR01 is protected */
	cr_write(t, 0x01, 0x27);
	cr_write(t, 0x13, 0x14);
	seq_write(t, 0x01, 0x08);
	put_text(t, 39, "E", 0x1e);
	g_autoptr(Image) wide = screendump(v);
	g_assert_cmpint(wide->width, ==, 720);
	g_assert_cmpint(wide->height, ==, 400);
	for (unsigned line = 0; line < 16; line++)
		for (unsigned x = 0; x < 16; x++)
			g_assert_cmphex(pixel(wide, (int)(39 * 18 + x), (int)line), ==,
					(glyph_row('E', line) & (0x80 >> (x / 2))) ? colour(0xe)
										   : colour(0x1));
	vga_quit(v);
}

/* ---- tests: graphics from the planes ---- */

static void test_mode_13h_pixel(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	set_mode(t, &mode_13);
	dac_write(t, 200, 63, 20, 0);
	hg_test_writeb(t, 0xa0000 + 20 * 320 + 10, 200);
	hg_test_writeb(t, 0xa0000 + 199 * 320 + 319, 7);
	g_autoptr(Image) im = screendump(v);
	g_assert_cmpint(im->width, ==, 320);
	g_assert_cmpint(im->height, ==, 200);
	g_assert_cmphex(pixel(im, 10, 20), ==, rgb6(63, 20, 0));
	g_assert_cmphex(pixel(im, 11, 20), ==, colour(0));
	g_assert_cmphex(pixel(im, 319, 199), ==, colour(7));
	/* The pixel mask applies to the DAC index. */
	hg_test_outb(t, 0x3c6, 0x0f);
	g_autoptr(Image) masked = screendump(v);
	g_assert_cmphex(pixel(masked, 10, 20), ==, colour(200 & 0x0f));
	vga_quit(v);
}

static void test_planar_16_colours_640x480(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	set_mode(t, &mode_12);
	/* Write mode 2: one byte a colour for the pixels in the bit mask. */
	gr_write(t, 0x05, 0x02);
	gr_write(t, 0x08, 0x80);
	hg_test_writeb(t, 0xa0000 + 100 * 80 + 2, 9); /* pixel (16, 100) */
	gr_write(t, 0x08, 0x01);
	hg_test_writeb(t, 0xa0000 + 479 * 80 + 79, 14); /* pixel (639, 479) */
	g_autoptr(Image) im = screendump(v);
	g_assert_cmpint(im->width, ==, 640);
	g_assert_cmpint(im->height, ==, 480);
	g_assert_cmphex(pixel(im, 16, 100), ==, colour(9));
	g_assert_cmphex(pixel(im, 17, 100), ==, colour(0));
	g_assert_cmphex(pixel(im, 639, 479), ==, colour(14));
	/* The attribute palette maps colours: 9 shows entry 3 now. */
	ar_write(t, 9, 3);
	unblank(t);
	g_autoptr(Image) remapped = screendump(v);
	g_assert_cmphex(pixel(remapped, 16, 100), ==, colour(3));
	vga_quit(v);
}

static void test_blank_until_the_palette_is_enabled(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;
	int width, height;

	set_mode(t, &mode_13);
	hg_test_writeb(t, 0xa0000, 15);
	g_autoptr(Image) shown = screendump(v);
	g_assert_cmphex(pixel(shown, 0, 0), ==, colour(15));
	/* Address source back to the CPU: the screen goes black, keeping its size. */
	hg_test_inb(t, 0x3da);
	hg_test_outb(t, 0x3c0, 0x00);
	g_autoptr(Image) im = screendump(v);
	g_assert_cmpint(im->width, ==, 320);
	g_assert_cmphex(pixel(im, 0, 0), ==, 0);
	unblank(t);
	g_autoptr(Image) back = screendump(v);
	g_assert_cmphex(pixel(back, 0, 0), ==, colour(15));
	console_size(v, &width, &height);
	g_assert_cmpint(height, ==, 200);
	vga_quit(v);
}

/* ---- tests: VBE ---- */

static void test_vbe_1024x768x32_shows_framebuffer_writes(void)
{
	Vga *v = vbe_screen(1024, 768, 32);
	HgTest *t = v->t;
	int width, height;

	hg_test_writel(t, LFB + (100 * 1024 + 200) * 4, 0x00123456);
	hg_test_writel(t, LFB + (767 * 1024 + 1023) * 4, 0x00fedcba);
	g_autoptr(Image) im = screendump(v);
	g_assert_cmpint(im->width, ==, 1024);
	g_assert_cmpint(im->height, ==, 768);
	console_size(v, &width, &height);
	g_assert_cmpint(width, ==, 1024);
	g_assert_cmpint(height, ==, 768);
	g_assert_cmphex(pixel(im, 200, 100), ==, 0x123456);
	g_assert_cmphex(pixel(im, 201, 100), ==, 0);
	g_assert_cmphex(pixel(im, 1023, 767), ==, 0xfedcba);
	g_assert_cmphex(dispi_read(t, XRES), ==, 1024);
	g_assert_cmphex(dispi_read(t, BPP), ==, 32);
	vga_quit(v);
}

static void test_vbe_depths_convert_to_xrgb(void)
{
	Vga *v = vbe_screen(64, 8, 16);
	HgTest *t = v->t;

	/* 16 bpp, 5:6:5: full red, half green, a little blue. */
	hg_test_writew(t, LFB + 2 * 3, (uint16_t)(0x1f << 11 | 0x20 << 5 | 0x01));
	g_autoptr(Image) im16 = screendump(v);
	g_assert_cmphex(pixel(im16, 3, 0), ==, 0xff8208);
	/* 15 bpp, 5:5:5. */
	vbe_set_mode(t, 64, 8, 15);
	hg_test_writew(t, LFB + 2 * 5, (uint16_t)(0x10 << 10 | 0x1f << 5 | 0x00));
	g_autoptr(Image) im15 = screendump(v);
	g_assert_cmphex(pixel(im15, 5, 0), ==, 0x84ff00);
	/* 24 bpp: B, G, R. */
	vbe_set_mode(t, 64, 8, 24);
	hg_test_writeb(t, LFB + 3 * 7, 0x11);
	hg_test_writeb(t, LFB + 3 * 7 + 1, 0x22);
	hg_test_writeb(t, LFB + 3 * 7 + 2, 0x33);
	g_autoptr(Image) im24 = screendump(v);
	g_assert_cmphex(pixel(im24, 7, 0), ==, 0x332211);
	/* 8 bpp: through the DAC. */
	vbe_set_mode(t, 64, 8, 8);
	dac_write(t, 0x80, 10, 20, 30);
	hg_test_writeb(t, LFB + 64 + 9, 0x80);
	g_autoptr(Image) im8 = screendump(v);
	g_assert_cmphex(pixel(im8, 9, 1), ==, rgb6(10, 20, 30));
	/* ... and with the 8-bit DAC. */
	dispi_write(t, ENABLE, ENABLED | LFB_ENABLED | 0x20);
	dac_write(t, 0x80, 0xab, 0xcd, 0xef);
	g_autoptr(Image) im8bit = screendump(v);
	g_assert_cmphex(pixel(im8bit, 9, 1), ==, 0xabcdef);
	vga_quit(v);
}

static void test_vbe_banked_window_reaches_the_framebuffer(void)
{
	Vga *v = vbe_screen(1024, 768, 32);
	HgTest *t = v->t;

	dispi_write(t, BANK, 3);
	g_assert_cmphex(dispi_read(t, BANK), ==, 3);
	hg_test_writel(t, 0xa0000 + 0x40, 0x00abcdef);
	g_assert_cmphex(hg_test_readl(t, LFB + 3 * 0x10000 + 0x40), ==, 0xabcdef);
	g_assert_cmphex(hg_test_readl(t, 0xa0000 + 0x40), ==, 0xabcdef);
	/* Byte 3 * 64K + 0x40 is pixel 49168: line 48, column 16. */
	g_autoptr(Image) im = screendump(v);
	g_assert_cmphex(pixel(im, 16, 48), ==, 0xabcdef);
	/* A bank past the end of memory is refused. */
	dispi_write(t, BANK, 256);
	g_assert_cmphex(dispi_read(t, BANK), ==, 3);
	vga_quit(v);
}

static void test_vbe_virtual_width_and_offsets_pan(void)
{
	Vga *v = vbe_screen(640, 480, 32);
	HgTest *t = v->t;

	dispi_write(t, VIRT_WIDTH, 2048);
	g_assert_cmphex(dispi_read(t, VIRT_WIDTH), ==, 2048);
	g_assert_cmphex(dispi_read(t, VIRT_HEIGHT), ==, VRAM_SIZE / (2048 * 4));
	hg_test_writel(t, LFB + (10 * 2048 + 1500) * 4, 0x0000ff00);
	hg_test_writel(t, LFB + (600 * 2048 + 5) * 4, 0x00ff0000);
	g_autoptr(Image) before = screendump(v);
	g_assert_cmphex(pixel(before, 5, 10), ==, 0);
	dispi_write(t, X_OFFSET, 1000);
	g_autoptr(Image) panned = screendump(v);
	g_assert_cmphex(pixel(panned, 500, 10), ==, 0x00ff00);
	dispi_write(t, X_OFFSET, 0);
	dispi_write(t, Y_OFFSET, 500);
	g_autoptr(Image) scrolled = screendump(v);
	g_assert_cmphex(pixel(scrolled, 5, 100), ==, 0xff0000);
	/* Offsets past the end of memory are kept inside it. */
	dispi_write(t, Y_OFFSET, 0xffff);
	g_autoptr(Image) clamped = screendump(v);
	g_assert_cmpint(clamped->height, ==, 480);
	vga_quit(v);
}

static void test_vbe_getcaps_reports_maximums(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	dispi_write(t, ID, 0xb0c0);
	g_assert_cmphex(dispi_read(t, ID), ==, 0xb0c0);
	dispi_write(t, ID, 0xb0c5);
	g_assert_cmphex(dispi_read(t, ID), ==, 0xb0c5);
	dispi_write(t, ID, 0x1234);
	g_assert_cmphex(dispi_read(t, ID), ==, 0xb0c5);
	dispi_write(t, XRES, 800);
	dispi_write(t, ENABLE, GETCAPS);
	g_assert_cmpuint(dispi_read(t, XRES), >=, 2560);
	g_assert_cmpuint(dispi_read(t, YRES), >=, 1600);
	g_assert_cmphex(dispi_read(t, BPP), ==, 32);
	dispi_write(t, ENABLE, 0);
	g_assert_cmphex(dispi_read(t, XRES), ==, 800);
	/* 2560x1600 at 32 bpp fits the default 16 MiB. */
	program_bars(t);
	vbe_set_mode(t, 2560, 1600, 32);
	g_assert_cmphex(dispi_read(t, ENABLE) & ENABLED, ==, ENABLED);
	hg_test_writel(t, LFB + (1599ull * 2560 + 2559) * 4, 0x00445566);
	g_autoptr(Image) im = screendump(v);
	g_assert_cmpint(im->width, ==, 2560);
	g_assert_cmphex(pixel(im, 2559, 1599), ==, 0x445566);
	vga_quit(v);
}

static void test_vbe_bad_values_are_refused(void)
{
	Vga *v = vbe_screen(800, 600, 32);
	HgTest *t = v->t;
	int width, height;

	dispi_write(t, XRES, 0);
	dispi_write(t, BPP, 7);
	dispi_write(t, BPP, 0xffff);
	dispi_write(t, YRES, 9000);
	dispi_write(t, VIRT_WIDTH, 0xffff);
	g_assert_cmphex(dispi_read(t, XRES), ==, 800);
	g_assert_cmphex(dispi_read(t, YRES), ==, 600);
	g_assert_cmphex(dispi_read(t, BPP), ==, 32);
	g_assert_cmphex(dispi_read(t, VIRT_WIDTH), ==, 800);
	/* Valid alone, but larger than memory with the enabled mode. */
	dispi_write(t, XRES, 8000);
	g_assert_cmphex(dispi_read(t, XRES), ==, 800);
	dispi_write(t, VIRT_WIDTH, 8000);
	g_assert_cmphex(dispi_read(t, VIRT_WIDTH), ==, 800);
	g_autoptr(Image) im = screendump(v);
	console_size(v, &width, &height);
	g_assert_cmpint(width, ==, 800);
	g_assert_cmpint(height, ==, 600);
	/* A mode that does not fit is not enabled. */
	dispi_write(t, ENABLE, 0);
	dispi_write(t, XRES, 8192);
	dispi_write(t, YRES, 8192);
	dispi_write(t, ENABLE, ENABLED | LFB_ENABLED);
	g_assert_cmphex(dispi_read(t, ENABLE) & ENABLED, ==, 0);
	/* Nor at 4 bpp with a width that is not a multiple of 8. */
	dispi_write(t, XRES, 801);
	dispi_write(t, YRES, 600);
	dispi_write(t, BPP, 4);
	dispi_write(t, ENABLE, ENABLED);
	g_assert_cmphex(dispi_read(t, ENABLE) & ENABLED, ==, 0);
	/* Beyond the last index nothing answers. */
	dispi_write(t, 0x20, 0x1234);
	g_assert_cmphex(dispi_read(t, 0x20), ==, 0);
	vga_quit(v);
}

static void test_vbe_mode_set_clears_unless_noclearmem(void)
{
	Vga *v = vbe_screen(320, 200, 32);
	HgTest *t = v->t;

	hg_test_writel(t, LFB + 40, 0x11223344);
	vbe_set_mode(t, 320, 200, 32);
	g_assert_cmphex(hg_test_readl(t, LFB + 40), ==, 0);
	hg_test_writel(t, LFB + 40, 0x11223344);
	dispi_write(t, ENABLE, 0);
	dispi_write(t, ENABLE, ENABLED | NOCLEARMEM);
	g_assert_cmphex(hg_test_readl(t, LFB + 40), ==, 0x11223344);
	vga_quit(v);
}

static void test_vbe_mmio_bar_mirrors_the_registers(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;
	uint8_t sum = 0;

	program_bars(t);
	/* EDID at 0: header, checksum, a 1024x768 preferred mode. */
	g_assert_cmphex(hg_test_readl(t, MMIO + 0), ==, 0xffffff00);
	g_assert_cmphex(hg_test_readl(t, MMIO + 4), ==, 0x00ffffff);
	for (unsigned i = 0; i < 128; i++)
		sum += hg_test_readb(t, MMIO + i);
	g_assert_cmphex(sum, ==, 0);
	g_assert_cmphex(hg_test_readb(t, MMIO + 54 + 2), ==, 0x00);
	g_assert_cmphex(hg_test_readb(t, MMIO + 54 + 4) >> 4, ==, 0x4); /* 0x400 wide */
	/* DISPI at 0x500 + index * 2. */
	g_assert_cmphex(hg_test_readw(t, MMIO + 0x500 + 2 * ID), ==, 0xb0c5);
	hg_test_writew(t, MMIO + 0x500 + 2 * XRES, 1280);
	g_assert_cmphex(dispi_read(t, XRES), ==, 1280);
	g_assert_cmphex(hg_test_readw(t, MMIO + 0x500 + 2 * VIDEO_MEMORY_64K), ==, 256);
	/* VGA ports at 0x400 + port - 0x3C0. */
	hg_test_writeb(t, MMIO + 0x400 + 0x02, 0x01); /* misc output */
	hg_test_writew(t, MMIO + 0x400 + 0x14, 0x3a0c); /* CRTC index 0x0c, data 0x3a */
	g_assert_cmphex(cr_read(t, 0x0c), ==, 0x3a);
	g_assert_cmphex(hg_test_readb(t, MMIO + 0x400 + 0x0c), ==, 0x01);
	/* QEMU's extended registers: size 8, little-endian framebuffer. */
	g_assert_cmphex(hg_test_readl(t, MMIO + 0x600), ==, 8);
	g_assert_cmphex(hg_test_readl(t, MMIO + 0x604), ==, 0x1e1e1e1e);
	hg_test_writel(t, MMIO + 0x604, 0xbebebebe);
	g_assert_cmphex(hg_test_readl(t, MMIO + 0x604), ==, 0x1e1e1e1e);
	vga_quit(v);
}

static void test_vbe_planar_4_bpp_uses_the_planes(void)
{
	Vga *v = vga_start();
	HgTest *t = v->t;

	/* As SeaBIOS sets VBE mode 0x102 (800x600x4): mode 12h's registers,
	 * then DISPI at 4 bpp. */
	program_bars(t);
	set_mode(t, &mode_12);
	dispi_write(t, BPP, 4);
	dispi_write(t, XRES, 800);
	dispi_write(t, YRES, 600);
	dispi_write(t, ENABLE, ENABLED);
	gr_write(t, 0x05, 0x02);
	gr_write(t, 0x08, 0x80);
	hg_test_writeb(t, 0xa0000 + 599 * 100 + 99, 12); /* pixel (792, 599) */
	g_autoptr(Image) im = screendump(v);
	g_assert_cmpint(im->width, ==, 800);
	g_assert_cmpint(im->height, ==, 600);
	g_assert_cmphex(pixel(im, 792, 599), ==, colour(12));
	g_assert_cmphex(pixel(im, 793, 599), ==, colour(0));
	vga_quit(v);
}

/* ---- tests: dirty tracking ---- */

static void test_dirty_one_pixel_changes_only_that_pixel(void)
{
	Vga *v = vbe_screen(800, 600, 32);
	HgTest *t = v->t;

	for (unsigned i = 0; i < 64; i++)
		hg_test_writel(t, LFB + (i * 800 + i) * 4, 0x00808080);
	g_autoptr(Image) a = screendump(v);
	hg_test_writel(t, LFB + (300 * 800 + 400) * 4, 0x00ff00ff);
	g_autoptr(Image) b = screendump(v);
	unsigned differ = 0;
	for (int i = 0; i < 800 * 600; i++)
		differ += a->pixels[i] != b->pixels[i];
	g_assert_cmpuint(differ, ==, 1);
	g_assert_cmphex(pixel(b, 400, 300), ==, 0xff00ff);
	/* Text mode: a changed cell, and only it. */
	vga_quit(v);
	v = text_screen();
	put_text(v->t, 0, "HELLO", 0x1e);
	g_autoptr(Image) c = screendump(v);
	put_text(v->t, 81, "E", 0x1e);
	g_autoptr(Image) d = screendump(v);
	differ = 0;
	for (int y = 0; y < 400; y++)
		for (int x = 0; x < 720; x++)
			if (pixel(c, x, y) != pixel(d, x, y)) {
				g_assert_cmpint(x / 9, ==, 1);
				g_assert_cmpint(y / 16, ==, 1);
				differ++;
			}
	g_assert_cmpuint(differ, >, 0);
	vga_quit(v);
}

static void test_dirty_range_helper(void)
{
	uint64_t bitmap[4] = {0};

	bitmap[1] = 1ull << 3; /* page 67 */
	g_assert_false(hg_vga_range_dirty(bitmap, 0, 4096 * 67));
	g_assert_true(hg_vga_range_dirty(bitmap, 0, 4096 * 67 + 1));
	g_assert_true(hg_vga_range_dirty(bitmap, 4096 * 67 + 4095, 1));
	g_assert_false(hg_vga_range_dirty(bitmap, 4096 * 68, 4096 * 60));
	g_assert_true(hg_vga_range_dirty(bitmap, 4096 * 10, 4096 * 128));
	bitmap[3] = 1ull << 63; /* page 255, the last */
	g_assert_true(hg_vga_range_dirty(bitmap, 4096 * 255, 4096));
	g_assert_false(hg_vga_range_dirty(bitmap, 4096 * 192, 4096 * 63));
}

static void test_dirty_rows_gather_into_rectangles(void)
{
	uint32_t a[16] = {0}, b[16] = {0};
	int first = -1, last = -1;
	HgVgaDamage d = {0};
	HgRect r;

	g_assert_false(hg_vga_row_diff(a, b, 16, &first, &last));
	b[5] = 1;
	b[9] = 2;
	g_assert_true(hg_vga_row_diff(a, b, 16, &first, &last));
	g_assert_cmpint(first, ==, 5);
	g_assert_cmpint(last, ==, 9);
	/* Lines 3 and 4 join; 6 starts another; the union of their spans. */
	g_assert_false(hg_vga_damage_add(&d, 3, 5, 9, &r));
	g_assert_false(hg_vga_damage_add(&d, 4, 2, 6, &r));
	g_assert_true(hg_vga_damage_add(&d, 6, 0, 0, &r));
	g_assert_cmpint(r.x, ==, 2);
	g_assert_cmpint(r.y, ==, 3);
	g_assert_cmpint(r.width, ==, 8);
	g_assert_cmpint(r.height, ==, 2);
	g_assert_true(hg_vga_damage_finish(&d, &r));
	g_assert_cmpint(r.x, ==, 0);
	g_assert_cmpint(r.y, ==, 6);
	g_assert_cmpint(r.width, ==, 1);
	g_assert_cmpint(r.height, ==, 1);
	g_assert_false(hg_vga_damage_finish(&d, &r));
}

/* ---- tests: save and restore ---- */

static void test_state_vbe_mode_pixels_and_dac_survive_restore(void)
{
	Vga *v = vbe_screen(640, 480, 8);
	HgTest *t = v->t;
	g_autofree char *dir = g_build_filename(hg_test_dir(t), "saved", NULL);
	int width, height;

	dac_write(t, 1, 63, 0, 0);
	dac_write(t, 2, 0, 63, 30);
	for (unsigned i = 0; i < 200; i++)
		hg_test_writeb(t, LFB + i * 641, (uint8_t)(1 + i % 2));
	hg_test_writeb(t, LFB + 479 * 640 + 639, 2);
	dispi_write(t, BANK, 2);
	g_autoptr(Image) before = screendump(v);
	hg_test_save(t, dir);

	Vga *r = vga_start_with(dir);
	g_autoptr(Image) after = screendump(r);
	g_assert_cmpint(after->width, ==, before->width);
	g_assert_cmpint(after->height, ==, before->height);
	g_assert_cmpmem(after->pixels, (size_t)after->width * after->height * 4, before->pixels,
			(size_t)before->width * before->height * 4);
	console_size(r, &width, &height);
	g_assert_cmpint(width, ==, 640);
	g_assert_cmpint(height, ==, 480);
	g_assert_cmphex(dispi_read(r->t, BANK), ==, 2);
	g_assert_cmphex(hg_test_readb(r->t, LFB + 479 * 640 + 639), ==, 2);
	/* The DAC came too: a new pixel in colour 1 is red. */
	hg_test_writeb(r->t, LFB + 5, 1);
	g_autoptr(Image) more = screendump(r);
	g_assert_cmphex(pixel(more, 5, 0), ==, 0xff0000);
	vga_quit(r);
	vga_quit(v);
}

static void test_state_text_mode_survives_restore(void)
{
	Vga *v = text_screen();
	HgTest *t = v->t;
	g_autofree char *dir = g_build_filename(hg_test_dir(t), "saved", NULL);

	put_text(t, 0, "HELLO", 0x1e);
	g_autoptr(Image) before = screendump(v);
	hg_test_save(t, dir);
	Vga *r = vga_start_with(dir);
	g_autoptr(Image) after = screendump(r);
	g_assert_cmpint(after->width, ==, 720);
	g_assert_cmpmem(after->pixels, 720 * 400 * 4, before->pixels, 720 * 400 * 4);
	vga_quit(r);
	vga_quit(v);
}

static void test_state_load_rejects_a_corrupt_record(void)
{
	static const struct {
		const char *key;
		const char *value; /* GVariant text, NULL removes the key */
		const char *why;
	} cases[] = {
		{"vram-size", "uint64 8388608", "video memory"},
		{"vram-pages", "@au [1, 1]", "vram-pages"},
		{"vram-pages", "@au [99999]", "vram-pages"},
		{"vram-data", "@ay [1, 2, 3]", "vram-data"},
		{"dac-component", "byte 3", "component"},
		{"vbe", "@ay [0,0, 0,0, 0,0, 32,0, 1,0, 0,0, 0,0, 0,0, 0,0, 0,0, 0,0]", "DISPI"},
		{"cr", "@ay [1, 2, 3]", "\"cr\""},
		{"misc", NULL, "lacks \"misc\""},
	};
	Vga *v = vbe_screen(640, 480, 32);
	g_autofree char *dir = g_build_filename(hg_test_dir(v->t), "saved", NULL);

	hg_test_writel(v->t, LFB + 8, 0x00ffffff);
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		hg_test_save(v->t, dir);
		hg_test_edit_saved_record_text(dir, "vga", cases[c].key, cases[c].value);
		hg_test_expect_restore_refused(dir, NULL, "vga", cases[c].why);
	}
	vga_quit(v);
}

/* --vga-memory sets the framebuffer BAR's size (and DISPI's 64 KiB count). */
static void test_framebuffer_size_follows_the_option(void)
{
	HgTest *t = hg_test_start("--vga-memory", "4", NULL);
	const uint8_t vga = (2 << 3) | 0;

	hg_test_pci_writel(t, vga, 0x10, 0xffffffff);
	g_assert_cmphex(hg_test_pci_readl(t, vga, 0x10) & ~0xfu, ==, 0xffc00000);
	hg_test_outw(t, 0x1ce, 0x0a); /* VBE_DISPI_INDEX_VIDEO_MEMORY_64K */
	g_assert_cmpuint(hg_test_inw(t, 0x1cf), ==, 64);
	hg_test_quit(t);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vga/pci/framebuffer-size-follows-the-option",
			test_framebuffer_size_follows_the_option);
	g_test_add_func("/vga/pci/is-a-std-vga-with-framebuffer-and-register-bars",
			test_pci_identity_and_bars);
	g_test_add_func("/vga/registers/read-back-with-reserved-bits-clear",
			test_registers_read_back);
	g_test_add_func("/vga/registers/crtc-protect-bit-guards-cr00-to-cr07",
			test_crtc_protect_bit_guards_cr00_to_cr07);
	g_test_add_func("/vga/registers/crtc-ports-follow-the-misc-output-colour-bit",
			test_crtc_ports_follow_misc_output);
	g_test_add_func("/vga/registers/attribute-flip-flop-resets-on-input-status-read",
			test_attribute_flip_flop_resets_on_input_status_read);
	g_test_add_func("/vga/dac/read-and-write-indexes-auto-increment", test_dac_auto_increments);
	g_test_add_func("/vga/memory/write-mode-0-set-reset-rotate-logical-op-bit-mask",
			test_write_mode_0);
	g_test_add_func("/vga/memory/write-mode-1-copies-the-latches",
			test_write_mode_1_copies_latches);
	g_test_add_func("/vga/memory/write-modes-2-and-3-paint-colours", test_write_modes_2_and_3);
	g_test_add_func("/vga/memory/read-mode-1-compares-colours",
			test_read_mode_1_compares_colours);
	g_test_add_func("/vga/memory/chain-4-and-odd-even-addressing",
			test_chain4_and_odd_even_addressing);
	g_test_add_func("/vga/memory/memory-map-select-opens-the-window",
			test_memory_map_select_opens_the_window);
	g_test_add_func("/vga/text/renders-characters-in-palette-colours",
			test_text_renders_characters_in_palette_colours);
	g_test_add_func("/vga/text/cursor-is-drawn-where-the-crtc-says",
			test_text_cursor_is_drawn_where_the_crtc_says);
	g_test_add_func("/vga/text/cursor-and-characters-blink-with-the-clock",
			test_text_cursor_and_characters_blink_with_the_clock);
	g_test_add_func("/vga/text/80x50-and-40-columns", test_text_80x50_and_40_columns);
	g_test_add_func("/vga/graphics/mode-13h-pixel-through-the-dac", test_mode_13h_pixel);
	g_test_add_func("/vga/graphics/planar-16-colours-640x480", test_planar_16_colours_640x480);
	g_test_add_func("/vga/graphics/blank-until-the-palette-is-enabled",
			test_blank_until_the_palette_is_enabled);
	g_test_add_func("/vga/vbe/1024x768x32-shows-framebuffer-writes",
			test_vbe_1024x768x32_shows_framebuffer_writes);
	g_test_add_func("/vga/vbe/depths-convert-to-xrgb", test_vbe_depths_convert_to_xrgb);
	g_test_add_func("/vga/vbe/banked-window-reaches-the-framebuffer",
			test_vbe_banked_window_reaches_the_framebuffer);
	g_test_add_func("/vga/vbe/virtual-width-and-offsets-pan",
			test_vbe_virtual_width_and_offsets_pan);
	g_test_add_func("/vga/vbe/getcaps-reports-maximums", test_vbe_getcaps_reports_maximums);
	g_test_add_func("/vga/vbe/bad-values-are-refused", test_vbe_bad_values_are_refused);
	g_test_add_func("/vga/vbe/mode-set-clears-memory-unless-noclearmem",
			test_vbe_mode_set_clears_unless_noclearmem);
	g_test_add_func("/vga/vbe/mmio-bar-mirrors-the-registers",
			test_vbe_mmio_bar_mirrors_the_registers);
	g_test_add_func("/vga/vbe/planar-4-bpp-uses-the-planes",
			test_vbe_planar_4_bpp_uses_the_planes);
	g_test_add_func("/vga/dirty/one-pixel-write-changes-only-that-pixel",
			test_dirty_one_pixel_changes_only_that_pixel);
	g_test_add_func("/vga/dirty/range-helper-finds-dirty-pages", test_dirty_range_helper);
	g_test_add_func("/vga/dirty/changed-rows-gather-into-rectangles",
			test_dirty_rows_gather_into_rectangles);
	g_test_add_func("/vga/state/vbe-mode-pixels-and-dac-survive-restore",
			test_state_vbe_mode_pixels_and_dac_survive_restore);
	g_test_add_func("/vga/state/text-mode-survives-restore",
			test_state_text_mode_survives_restore);
	g_test_add_func("/vga/state/load-rejects-a-corrupt-record",
			test_state_load_rejects_a_corrupt_record);
	return g_test_run();
}

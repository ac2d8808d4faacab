/* Drawing the VGA's picture into the console, only where it changed.
 *
 * At each refresh (display thread, device lock held) the registers give a
 * "show": blank, text, planar/CGA/256-colour graphics from the planes, or a
 * DISPI linear mode.  A show or surface size different from the last one
 * redraws everything.  Otherwise:
 *   - text compares each cell (character, attribute, cursor and blink
 *     state) and the fonts with what it drew last, and redraws changed
 *     cells;
 *   - graphics render only the lines whose memory lies in a page written
 *     since the last refresh (the device's own bitmap for writes through
 *     its handlers, ORed with KVM's dirty log of the framebuffer slot), and
 *     of those only report the span that differs from the console's pixels.
 * A palette change redraws every line or cell; the comparison keeps the
 * reported rectangles to what really changed.
 *
 * Display addressing (FreeVGA, CRTC registers): the CRTC counts character
 * clocks from the start address, adding twice the offset register a row;
 * byte, word and double-word modes shift the count left 0, 1 or 2 bits to
 * reach plane offsets, and with CR17 bits 0/1 clear the row scan counter
 * replaces offset bits 13/14 (the CGA's interleaved lines). */
#include "devices/display/vga.h"

#include <string.h>

#include "devices/display/vga_damage.h"
#include "engine/kvm.h"

/* Blink rates: the cursor every 16 frames, blinking characters every 32,
 * at about 60 Hz. */
#define CURSOR_HALF_PERIOD_NS 133333333ull
#define BLINK_HALF_PERIOD_NS 266666667ull
/* The smallest legacy picture shown (a CGA 40x25 screen is 320x200). */
#define VGA_MIN_WIDTH 64
#define VGA_MIN_HEIGHT 16

void hg_vga_invalidate(HgVga *s)
{
	s->redraw = true;
}

static uint8_t expand6(uint8_t v)
{
	return (uint8_t)((v << 2) | (v >> 4));
}

static uint32_t vga_dac_color(HgVga *s, uint8_t index)
{
	const uint8_t *c = s->dac[index];

	if (s->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC)
		return (uint32_t)c[0] << 16 | c[1] << 8 | c[2];
	return (uint32_t)expand6(c[0] & 0x3f) << 16 | expand6(c[1] & 0x3f) << 8 |
	       expand6(c[2] & 0x3f);
}

/* A 4-bit colour through the colour plane enable, the attribute palette
 * and the colour select register to a DAC index. */
static uint8_t vga_attribute_color(HgVga *s, unsigned value)
{
	uint8_t entry = s->ar[value & s->ar[VGA_AR_PLANE_ENABLE] & 0x0f];
	uint8_t select = s->ar[VGA_AR_COLOR_SELECT];
	uint8_t index;

	if (s->ar[VGA_AR_MODE] & VGA_AR_MODE_P54)
		index = (entry & 0x0f) | (select & 0x03) << 4;
	else
		index = entry & 0x3f;
	return (uint8_t)(index | (select & 0x0c) << 4);
}

static void vga_build_palette(HgVga *s, const HgVgaShow *show, uint32_t *palette)
{
	memset(palette, 0, 256 * sizeof(uint32_t));
	if (show->kind == VGA_SHOW_LINEAR && show->vbe.bpp != 8)
		return; /* direct colour */
	if (show->kind == VGA_SHOW_LINEAR ||
	    (show->kind == VGA_SHOW_GRAPHICS && show->shift_mode == VGA_SHIFT_256)) {
		for (unsigned i = 0; i < 256; i++)
			palette[i] = vga_dac_color(s, (uint8_t)(i & s->dac_pixel_mask));
		return;
	}
	for (unsigned i = 0; i < 16; i++)
		palette[i] = vga_dac_color(s, vga_attribute_color(s, i) & s->dac_pixel_mask);
}

/* Font number (character map select, 3 bits) to its place in plane 2. */
static uint32_t vga_font_offset(unsigned map)
{
	return (map & 3) * 0x4000 + ((map & 4) ? 0x2000 : 0);
}

void hg_vga_compute_show(HgVga *s, HgVgaShow *d)
{
	const uint8_t *cr = s->cr;
	unsigned lines, scan_lines, columns;

	memset(d, 0, sizeof(*d));
	d->kind = VGA_SHOW_BLANK;
	if (!(s->ar_index & VGA_AR_INDEX_PAS))
		return;
	if (hg_vbe_mode(s, &d->vbe)) {
		d->width = (int)d->vbe.width;
		d->height = (int)d->vbe.height;
		if (d->vbe.bpp != 4) {
			d->kind = VGA_SHOW_LINEAR;
			return;
		}
		/* Planar DISPI modes: the planes, addressed linearly. */
		d->kind = VGA_SHOW_GRAPHICS;
		d->shift_mode = VGA_SHIFT_PLANAR;
		d->start = (uint32_t)d->vbe.start;
		d->line_offset = d->vbe.bytes_per_line;
		d->cga_bits = 3;
		d->plane_mask = (uint32_t)(s->vram_size / 4 - 1);
		d->columns = d->vbe.width / 8;
		d->scan_lines_per_row = d->line_repeat = 1;
		return;
	}
	if (s->sr[VGA_SR_CLOCKING] & VGA_SR_CLOCKING_SCREEN_OFF)
		return;
	columns = cr[VGA_CR_H_DISPLAY_END] + 1u;
	/* Vertical display end: 10 bits, 8 and 9 in the overflow register. */
	lines = cr[VGA_CR_V_DISPLAY_END] | (cr[VGA_CR_OVERFLOW] & 0x02) << 7 |
		(cr[VGA_CR_OVERFLOW] & 0x40) << 3;
	lines++;
	scan_lines = (cr[VGA_CR_MAX_SCAN_LINE] & 0x1f) + 1u;
	d->columns = columns;
	d->start = (uint32_t)cr[VGA_CR_START_HIGH] << 8 | cr[VGA_CR_START_LOW];
	d->line_offset = cr[VGA_CR_OFFSET] * 2u;
	if (cr[VGA_CR_UNDERLINE] & VGA_CR_UNDERLINE_DWORD)
		d->shift = 2;
	else if (cr[VGA_CR_MODE] & VGA_CR_MODE_BYTE)
		d->shift = 0;
	else
		d->shift = 1;
	d->cga_bits = cr[VGA_CR_MODE] & 3;
	d->plane_mask = VGA_PLANE_SIZE - 1;
	d->scan_lines_per_row = scan_lines;
	if (!(s->gr[VGA_GR_MISC] & VGA_GR_MISC_GRAPHICS)) {
		uint8_t map = s->sr[VGA_SR_CHAR_MAP];
		d->kind = VGA_SHOW_TEXT;
		d->char_width = (s->sr[VGA_SR_CLOCKING] & VGA_SR_CLOCKING_8DOT) ? 8 : 9;
		d->double_width = (s->sr[VGA_SR_CLOCKING] & 0x08) ? 2 : 1;
		d->double_height = (cr[VGA_CR_MAX_SCAN_LINE] & 0x80) ? 2 : 1;
		d->char_height = scan_lines;
		d->rows = lines / (scan_lines * d->double_height);
		d->width = (int)(columns * d->char_width * d->double_width);
		d->height = (int)(d->rows * d->char_height * d->double_height);
		/* Attribute bit 3 clear takes map B (bits 4,1,0), set map A
		 * (bits 5,3,2). */
		d->font_offset[0] = vga_font_offset((map >> 2 & 4) | (map & 3));
		d->font_offset[1] = vga_font_offset((map >> 3 & 4) | (map >> 2 & 3));
		d->blink_enabled = s->ar[VGA_AR_MODE] & VGA_AR_MODE_BLINK;
		d->line_graphics = s->ar[VGA_AR_MODE] & VGA_AR_MODE_LINE_GRAPHICS;
		d->underline_line = cr[VGA_CR_UNDERLINE] & 0x1f;
	} else {
		d->kind = VGA_SHOW_GRAPHICS;
		if (s->gr[VGA_GR_MODE] & VGA_GR_MODE_256)
			d->shift_mode = VGA_SHIFT_256;
		else if (s->gr[VGA_GR_MODE] & VGA_GR_MODE_INTERLEAVE)
			d->shift_mode = VGA_SHIFT_INTERLEAVE;
		else
			d->shift_mode = VGA_SHIFT_PLANAR;
		if (cr[VGA_CR_MAX_SCAN_LINE] & 0x80)
			lines /= 2;
		/* A row of several scan lines shows one line several times,
		 * unless the CGA substitution makes them different lines. */
		d->line_repeat = d->cga_bits == 3 ? scan_lines : 1;
		d->width = (int)(columns * (d->shift_mode == VGA_SHIFT_256 ? 4 : 8));
		d->height = (int)(lines / d->line_repeat);
	}
	/* Timings this far off would give a monitor no picture: registers
	 * still at zero, or half programmed. */
	if (d->width < VGA_MIN_WIDTH || d->height < VGA_MIN_HEIGHT || d->width > VGA_MAX_WIDTH ||
	    d->height > VGA_MAX_WIDTH)
		d->kind = VGA_SHOW_BLANK;
}

/* A character clock's count to its offset in the planes. */
static uint32_t vga_plane_address(const HgVgaShow *d, uint32_t count, unsigned row_scan)
{
	uint32_t a = count << d->shift;

	if (!(d->cga_bits & 1))
		a = (a & ~(1u << 13)) | (row_scan & 1) << 13;
	if (!(d->cga_bits & 2))
		a = (a & ~(1u << 14)) | (row_scan & 2) << 13;
	return a & d->plane_mask;
}

static void vga_emit(HgVga *s, const HgRect *r)
{
	hg_console_mark_dirty(s->console, r->x, r->y, r->width, r->height);
}

/* s->line holds line y as it should look: copy what differs from the
 * console's row and note it. */
static void vga_commit_line(HgVga *s, HgVgaDamage *damage, uint32_t *row, int width, int y)
{
	int first, last;
	HgRect closed;

	if (!hg_vga_row_diff(s->line, row, width, &first, &last))
		return;
	memcpy(row + first, s->line + first, (size_t)(last - first + 1) * 4);
	if (hg_vga_damage_add(damage, y, first, last, &closed))
		vga_emit(s, &closed);
}

static void vga_finish_damage(HgVga *s, HgVgaDamage *damage)
{
	HgRect closed;
	if (hg_vga_damage_finish(damage, &closed))
		vga_emit(s, &closed);
}

/* ---- graphics from the planes ---- */

/* Line y's first character clock count and row scan. */
static uint32_t vga_graphics_line_start(const HgVgaShow *d, unsigned y, unsigned *row_scan)
{
	unsigned scan = y * d->line_repeat;

	*row_scan = scan % d->scan_lines_per_row;
	return d->start + scan / d->scan_lines_per_row * d->line_offset;
}

static void vga_graphics_line(HgVga *s, const HgVgaShow *d, uint32_t count, unsigned row_scan,
			      const uint32_t *palette)
{
	uint32_t *out = s->line;

	for (unsigned k = 0; k < d->columns; k++) {
		const uint8_t *c =
			s->vram + (uint64_t)vga_plane_address(d, count + k, row_scan) * 4;
		switch (d->shift_mode) {
		case VGA_SHIFT_PLANAR:
			for (int bit = 7; bit >= 0; bit--)
				*out++ = palette[((c[0] >> bit) & 1) | ((c[1] >> bit) & 1) << 1 |
						 ((c[2] >> bit) & 1) << 2 |
						 ((c[3] >> bit) & 1) << 3];
			break;
		case VGA_SHIFT_INTERLEAVE:
			/* Two bits a pixel: four from planes 0 and 2, four from 1 and 3. */
			for (unsigned half = 0; half < 2; half++)
				for (int shift = 6; shift >= 0; shift -= 2)
					*out++ = palette[((c[half] >> shift) & 3) |
							 ((c[half + 2] >> shift) & 3) << 2];
			break;
		case VGA_SHIFT_256:
			for (unsigned p = 0; p < 4; p++)
				*out++ = palette[c[p]];
			break;
		}
	}
}

/* Whether the planes line y reads were written since the last refresh. */
static bool vga_graphics_line_dirty(HgVga *s, const HgVgaShow *d, uint32_t count, unsigned row_scan)
{
	uint32_t first = vga_plane_address(d, count, row_scan);
	uint32_t last = vga_plane_address(d, count + d->columns - 1, row_scan);

	if (last < first)
		return true; /* wraps around the planes */
	return hg_vga_range_dirty(s->dirty, (uint64_t)first * 4, (uint64_t)(last - first + 1) * 4);
}

static void vga_render_graphics(HgVga *s, const HgVgaShow *d, const uint32_t *palette, bool all)
{
	int width, height, stride;
	uint32_t *pixels = hg_console_pixels(s->console, &width, &height, &stride);
	HgVgaDamage damage = {0};

	for (int y = 0; y < d->height && y < height; y++) {
		unsigned row_scan;
		uint32_t count = vga_graphics_line_start(d, (unsigned)y, &row_scan);
		if (!all && !vga_graphics_line_dirty(s, d, count, row_scan))
			continue;
		vga_graphics_line(s, d, count, row_scan, palette);
		vga_commit_line(s, &damage, (uint32_t *)((uint8_t *)pixels + (size_t)y * stride),
				MIN(d->width, width), y);
	}
	vga_finish_damage(s, &damage);
}

/* ---- DISPI linear modes ---- */

static uint8_t expand5(unsigned v)
{
	return (uint8_t)((v << 3) | (v >> 2));
}

static void vga_linear_line(HgVga *s, const HgVbeMode *m, const uint8_t *src,
			    const uint32_t *palette)
{
	uint32_t *out = s->line;

	switch (m->bpp) {
	case 8:
		for (unsigned x = 0; x < m->width; x++)
			out[x] = palette[src[x]];
		break;
	case 15:
		for (unsigned x = 0; x < m->width; x++) {
			unsigned v = src[2 * x] | src[2 * x + 1] << 8;
			out[x] = (uint32_t)expand5((v >> 10) & 0x1f) << 16 |
				 expand5((v >> 5) & 0x1f) << 8 | expand5(v & 0x1f);
		}
		break;
	case 16:
		for (unsigned x = 0; x < m->width; x++) {
			unsigned v = src[2 * x] | src[2 * x + 1] << 8, g = (v >> 5) & 0x3f;
			out[x] = (uint32_t)expand5(v >> 11) << 16 |
				 (uint32_t)((g << 2) | (g >> 4)) << 8 | expand5(v & 0x1f);
		}
		break;
	case 24:
		for (unsigned x = 0; x < m->width; x++)
			out[x] = (uint32_t)src[3 * x + 2] << 16 | src[3 * x + 1] << 8 | src[3 * x];
		break;
	default:
		for (unsigned x = 0; x < m->width; x++)
			out[x] = (uint32_t)src[4 * x + 2] << 16 | src[4 * x + 1] << 8 | src[4 * x];
		break;
	}
}

static void vga_render_linear(HgVga *s, const HgVbeMode *m, const uint32_t *palette, bool all)
{
	int width, height, stride;
	uint32_t *pixels = hg_console_pixels(s->console, &width, &height, &stride);
	uint64_t line_bytes = (uint64_t)m->width * ((m->bpp + 7) / 8);
	HgVgaDamage damage = {0};

	for (unsigned y = 0; y < m->height && (int)y < height; y++) {
		uint64_t at = m->start + (uint64_t)y * m->bytes_per_line;
		if (!all && !hg_vga_range_dirty(s->dirty, at, line_bytes))
			continue;
		vga_linear_line(s, m, s->vram + at, palette);
		vga_commit_line(s, &damage, (uint32_t *)((uint8_t *)pixels + (size_t)y * stride),
				MIN((int)m->width, width), (int)y);
	}
	vga_finish_damage(s, &damage);
}

/* ---- text ---- */

#define CELL_CURSOR (1u << 16)
#define CELL_HIDDEN (1u << 17) /* a blinking character in its off phase */

static void vga_text_fonts(HgVga *s, const HgVgaShow *d, uint8_t fonts[2][256 * 32])
{
	for (unsigned f = 0; f < 2; f++)
		for (unsigned i = 0; i < 256 * 32; i++)
			fonts[f][i] = s->vram[(uint64_t)(d->font_offset[f] + i) * 4 + 2];
}

static void vga_draw_cell(HgVga *s, const HgVgaShow *d, uint32_t *pixels, int stride, unsigned row,
			  unsigned column, uint32_t cell, const uint32_t *palette,
			  unsigned cursor_start, unsigned cursor_end)
{
	uint8_t ch = cell & 0xff, attr = (cell >> 8) & 0xff;
	const uint8_t *glyph = s->text_fonts[(attr & 0x08) ? 1 : 0] + ch * 32u;
	uint32_t fg = palette[attr & 0x0f];
	uint32_t bg = palette[(attr >> 4) & (d->blink_enabled ? 0x07 : 0x0f)];
	uint32_t shown_fg = (cell & CELL_HIDDEN) ? bg : fg;
	bool ninth = d->line_graphics && ch >= 0xc0 && ch <= 0xdf;
	unsigned cw = d->char_width * d->double_width;
	unsigned x0 = column * cw, y0 = row * d->char_height * d->double_height;

	for (unsigned line = 0; line < d->char_height; line++) {
		uint8_t bits = glyph[line];
		bool cursor = (cell & CELL_CURSOR) && line >= cursor_start && line <= cursor_end;
		bool underline = (attr & 0x77) == 0x01 && line == d->underline_line;
		uint32_t *out = (uint32_t *)((uint8_t *)pixels +
					     (size_t)(y0 + line * d->double_height) * stride) +
				x0;

		for (unsigned x = 0; x < d->char_width; x++) {
			bool on = x < 8 ? (bits & (0x80 >> x)) : (ninth && (bits & 1));
			uint32_t color = cursor ? fg : (on || underline) ? shown_fg : bg;
			for (unsigned dx = 0; dx < d->double_width; dx++)
				*out++ = color;
		}
		if (d->double_height == 2)
			memcpy((uint8_t *)out - cw * 4 + stride, (uint8_t *)out - cw * 4, cw * 4);
	}
}

static void vga_render_text(HgVga *s, const HgVgaShow *d, const uint32_t *palette, bool all)
{
	int width, height, stride;
	uint32_t *pixels = hg_console_pixels(s->console, &width, &height, &stride);
	unsigned n = d->rows * d->columns;
	uint8_t fonts[2][256 * 32];
	const uint8_t *cr = s->cr;
	uint64_t now = hg_clock_ns(s->machine);
	bool cursor_phase = (now / CURSOR_HALF_PERIOD_NS) % 2 == 0;
	bool blink_phase = (now / BLINK_HALF_PERIOD_NS) % 2 == 0;
	unsigned cursor_start = cr[VGA_CR_CURSOR_START] & 0x1f;
	unsigned cursor_end = cr[VGA_CR_CURSOR_END] & 0x1f;
	uint32_t cursor = ((uint32_t)cr[VGA_CR_CURSOR_HIGH] << 8 | cr[VGA_CR_CURSOR_LOW]) +
			  ((cr[VGA_CR_CURSOR_END] >> 5) & 3);
	bool cursor_shown = !(cr[VGA_CR_CURSOR_START] & 0x20) && cursor_start <= cursor_end &&
			    cursor_start < d->char_height && cursor_phase;
	unsigned cw = d->char_width * d->double_width, ch = d->char_height * d->double_height;

	if ((int)(d->columns * cw) > width || (int)(d->rows * ch) > height)
		return; /* the resize did not take: never write outside */
	vga_text_fonts(s, d, fonts);
	if (memcmp(fonts, s->text_fonts, sizeof(fonts)) != 0) {
		memcpy(s->text_fonts, fonts, sizeof(fonts));
		all = true;
	}
	if (s->text_cells_count != n) {
		g_free(s->text_cells);
		s->text_cells = g_new0(uint32_t, n);
		s->text_cells_count = n;
		all = true;
	}
	for (unsigned row = 0; row < d->rows; row++) {
		int first = -1, last = -1;
		for (unsigned column = 0; column < d->columns; column++) {
			uint32_t count = d->start + row * d->line_offset + column;
			const uint8_t *c = s->vram + (uint64_t)vga_plane_address(d, count, 0) * 4;
			uint32_t cell = c[0] | c[1] << 8;
			if (cursor_shown && count == cursor)
				cell |= CELL_CURSOR;
			if (d->blink_enabled && (c[1] & 0x80) && !blink_phase)
				cell |= CELL_HIDDEN;
			if (!all && cell == s->text_cells[row * d->columns + column])
				continue;
			s->text_cells[row * d->columns + column] = cell;
			vga_draw_cell(s, d, pixels, stride, row, column, cell, palette,
				      cursor_start, cursor_end);
			if (first < 0)
				first = (int)column;
			last = (int)column;
		}
		if (first >= 0)
			hg_console_mark_dirty(s->console, first * (int)cw, (int)(row * ch),
					      (last - first + 1) * (int)cw, (int)ch);
	}
}

/* ---- the refresh ---- */

static void vga_collect_kvm_dirty(HgVga *s)
{
	size_t words = (s->vram_size / VGA_PAGE_SIZE + 63) / 64;

	if (s->lfb_slot < 0 || !s->machine->kvm)
		return;
	if (!hg_kvm_get_dirty_log(s->machine->kvm, s->lfb_slot, s->kvm_log)) {
		/* Without a log every line is a candidate; the comparison with
		 * the console still reports only what changed. */
		if (!s->kvm_log_failed)
			g_message("vga: no KVM dirty log for the framebuffer; comparing lines "
				  "instead");
		s->kvm_log_failed = true;
		memset(s->dirty, 0xff, words * 8);
		return;
	}
	for (size_t i = 0; i < words; i++)
		s->dirty[i] |= s->kvm_log[i];
}

static void vga_paint_black(HgVga *s)
{
	int width, height, stride;
	uint8_t *pixels = (uint8_t *)hg_console_pixels(s->console, &width, &height, &stride);

	for (int y = 0; y < height; y++)
		memset(pixels + (size_t)y * stride, 0, (size_t)width * 4);
	hg_console_mark_dirty(s->console, 0, 0, width, height);
}

void hg_vga_refresh(void *opaque)
{
	HgVga *s = opaque;
	HgVgaShow show;
	uint32_t palette[256];
	bool all = s->redraw;
	int width, height;

	vga_collect_kvm_dirty(s);
	hg_vga_compute_show(s, &show);
	/* Blank touches the console only when it becomes blank: a machine
	 * whose VGA was never set up leaves the surface to others (the
	 * harness paints it for display-server tests). */
	if (show.kind == VGA_SHOW_BLANK) {
		if (s->shown.kind != VGA_SHOW_BLANK)
			vga_paint_black(s);
		goto done;
	}
	hg_console_size(s->console, &width, &height);
	if (width != show.width || height != show.height) {
		hg_console_resize(s->console, show.width, show.height);
		all = true;
	}
	if (memcmp(&show, &s->shown, sizeof(show)) != 0)
		all = true;
	vga_build_palette(s, &show, palette);
	if (memcmp(palette, s->shown_palette, sizeof(palette)) != 0)
		all = true;
	switch (show.kind) {
	case VGA_SHOW_TEXT:
		vga_render_text(s, &show, palette, all);
		break;
	case VGA_SHOW_GRAPHICS:
		vga_render_graphics(s, &show, palette, all);
		break;
	case VGA_SHOW_LINEAR:
		vga_render_linear(s, &show.vbe, palette, all);
		break;
	default:
		break;
	}
	memcpy(s->shown_palette, palette, sizeof(palette));
done:
	memcpy(&s->shown, &show, sizeof(show)); /* padding too: it is compared */
	s->redraw = false;
	memset(s->dirty, 0, (s->vram_size / VGA_PAGE_SIZE + 63) / 64 * 8);
}

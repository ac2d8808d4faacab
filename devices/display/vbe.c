/* The Bochs VBE "DISPI" interface: an index/data register pair (ports
 * 0x1CE/0x1CF, and at 0x500 in the std-VGA's MMIO BAR) that sets linear
 * modes of 8, 15, 16, 24 and 32 bits a pixel (and planar 4-bit ones), a
 * 64 KiB bank of the framebuffer at 0xA0000, a virtual screen wider and
 * taller than the visible one, and the start of the visible part in it.
 * Registers as in Bochs' vbe.h and as SeaBIOS's vgasrc/bochsvga.c, Linux's
 * bochs-drm and OVMF's QemuVideoDxe program them:
 *
 *   0 ID           VBE_DISPI_ID0-ID5 written are kept; reads give the last
 *   1 XRES         1-8192 (a multiple of 8 at 4 bpp)
 *   2 YRES         1-8192
 *   3 BPP          4, 8, 15, 16, 24, 32 (0 means 8)
 *   4 ENABLE       ENABLED, GETCAPS (XRES/YRES/BPP read their maximum),
 *                  8BIT_DAC, LFB_ENABLED, NOCLEARMEM; turning ENABLED on sets
 *                  the virtual width to XRES, the offsets to 0 and clears
 *                  the visible memory unless NOCLEARMEM
 *   5 BANK         64 KiB bank at 0xA0000
 *   6 VIRT_WIDTH   at least XRES takes effect
 *   7 VIRT_HEIGHT  reads the lines that fit in memory while enabled
 *   8/9 X/Y_OFFSET the visible part's corner; clamped so that it stays in
 *                  memory
 *   10 VIDEO_MEMORY_64K  the framebuffer's size in 64 KiB (read-only)
 *
 * A write that would leave the enabled mode outside video memory, or that
 * names an unsupported size or depth, is refused: the register keeps its
 * value and the screen its mode. */
#include "devices/display/vga.h"

#include <string.h>

static bool vbe_bpp_supported(unsigned bpp)
{
	return bpp == 4 || bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

static unsigned vbe_effective_bpp(const uint16_t *r)
{
	return r[VBE_DISPI_INDEX_BPP] ? r[VBE_DISPI_INDEX_BPP] : 8;
}

/* Bytes a line of width pixels takes; per plane at 4 bpp. */
static uint64_t vbe_line_bytes(unsigned bpp, unsigned width)
{
	return bpp == 4 ? width / 8 : (uint64_t)width * ((bpp + 7) / 8);
}

/* What a mode may use: planes of a quarter of memory at 4 bpp. */
static uint64_t vbe_capacity(const HgVga *s, unsigned bpp)
{
	return bpp == 4 ? s->vram_size / 4 : s->vram_size;
}

/* Whether the registers describe a mode that fits (when enabled), with a
 * bank inside memory either way. */
bool hg_vbe_registers_valid(const HgVga *s, const uint16_t *r)
{
	unsigned bpp = vbe_effective_bpp(r);
	unsigned xres = r[VBE_DISPI_INDEX_XRES], yres = r[VBE_DISPI_INDEX_YRES];
	unsigned width = MAX(r[VBE_DISPI_INDEX_VIRT_WIDTH], xres);

	if ((uint64_t)r[VBE_DISPI_INDEX_BANK] * VBE_DISPI_BANK_SIZE >= s->vram_size)
		return false;
	if (!(r[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED))
		return true;
	if (!vbe_bpp_supported(bpp) || xres == 0 || xres > VBE_DISPI_MAX_XRES || yres == 0 ||
	    yres > VBE_DISPI_MAX_YRES || width > VBE_DISPI_MAX_XRES || (bpp == 4 && xres % 8))
		return false;
	return vbe_line_bytes(bpp, width) * yres <= vbe_capacity(s, bpp);
}

bool hg_vbe_enabled(const HgVga *s)
{
	return s->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

bool hg_vbe_mode(const HgVga *s, HgVbeMode *mode)
{
	const uint16_t *r = s->vbe;
	unsigned width, x;
	uint64_t visible, x_bytes, last_start, y;

	if (!hg_vbe_enabled(s))
		return false;
	mode->bpp = vbe_effective_bpp(r);
	mode->width = r[VBE_DISPI_INDEX_XRES];
	mode->height = r[VBE_DISPI_INDEX_YRES];
	width = MAX(r[VBE_DISPI_INDEX_VIRT_WIDTH], mode->width);
	mode->bytes_per_line = (unsigned)vbe_line_bytes(mode->bpp, width);
	/* The visible part stays inside the virtual screen and memory: the
	 * registers were checked to fit at offset 0, so y only ever shrinks. */
	x = MIN(r[VBE_DISPI_INDEX_X_OFFSET], width - mode->width);
	x_bytes = vbe_line_bytes(mode->bpp, x);
	visible = (uint64_t)mode->bytes_per_line * (mode->height - 1) +
		  vbe_line_bytes(mode->bpp, mode->width);
	last_start = vbe_capacity(s, mode->bpp) - visible;
	y = r[VBE_DISPI_INDEX_Y_OFFSET];
	if (y * mode->bytes_per_line + x_bytes > last_start)
		y = (last_start - x_bytes) / mode->bytes_per_line;
	mode->start = y * mode->bytes_per_line + x_bytes;
	return true;
}

uint16_t hg_vbe_read(HgVga *s, unsigned index)
{
	const uint16_t *r = s->vbe;
	bool caps = r[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS;
	HgVbeMode mode;

	switch (index) {
	case VBE_DISPI_INDEX_XRES:
		return caps ? VBE_DISPI_MAX_XRES : r[index];
	case VBE_DISPI_INDEX_YRES:
		return caps ? VBE_DISPI_MAX_YRES : r[index];
	case VBE_DISPI_INDEX_BPP:
		return caps ? VBE_DISPI_MAX_BPP : r[index];
	case VBE_DISPI_INDEX_VIRT_WIDTH:
		return hg_vbe_mode(s, &mode) ? MAX(r[index], r[VBE_DISPI_INDEX_XRES]) : r[index];
	case VBE_DISPI_INDEX_VIRT_HEIGHT:
		if (!hg_vbe_mode(s, &mode))
			return r[index];
		return (uint16_t)MIN(vbe_capacity(s, mode.bpp) / mode.bytes_per_line, 0xffffu);
	case VBE_DISPI_INDEX_VIDEO_MEMORY_64K:
		return (uint16_t)MIN(s->vram_size / VBE_DISPI_BANK_SIZE, 0xffffu);
	default:
		return index < VBE_DISPI_INDEX_COUNT ? r[index] : 0;
	}
}

/* Turning the mode on: the virtual screen starts as wide as the visible
 * one at its corner, and its memory is cleared unless asked not to. */
static void vbe_enable(HgVga *s, uint16_t *r)
{
	HgVbeMode mode;

	r[VBE_DISPI_INDEX_VIRT_WIDTH] = r[VBE_DISPI_INDEX_XRES];
	r[VBE_DISPI_INDEX_X_OFFSET] = r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
	memcpy(s->vbe, r, sizeof(s->vbe));
	hg_vbe_mode(s, &mode);
	if (!(r[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_NOCLEARMEM)) {
		uint64_t len = (uint64_t)mode.bytes_per_line * mode.height;
		hg_vga_clear_vram(s, 0, mode.bpp == 4 ? len * 4 : len);
	}
}

void hg_vbe_write(HgVga *s, unsigned index, uint16_t value)
{
	uint16_t r[VBE_DISPI_INDEX_COUNT];
	bool was_enabled = hg_vbe_enabled(s);

	memcpy(r, s->vbe, sizeof(r));
	switch (index) {
	case VBE_DISPI_INDEX_ID:
		if (value >= VBE_DISPI_ID0 && value <= VBE_DISPI_ID5)
			s->vbe[index] = value;
		return;
	case VBE_DISPI_INDEX_XRES:
		if (value == 0 || value > VBE_DISPI_MAX_XRES)
			goto refused;
		break;
	case VBE_DISPI_INDEX_YRES:
		if (value == 0 || value > VBE_DISPI_MAX_YRES)
			goto refused;
		break;
	case VBE_DISPI_INDEX_BPP:
		if (value && !vbe_bpp_supported(value))
			goto refused;
		break;
	case VBE_DISPI_INDEX_ENABLE:
		value &= VBE_DISPI_ENABLED | VBE_DISPI_GETCAPS | VBE_DISPI_8BIT_DAC |
			 VBE_DISPI_LFB_ENABLED | VBE_DISPI_NOCLEARMEM;
		break;
	case VBE_DISPI_INDEX_VIRT_WIDTH:
	case VBE_DISPI_INDEX_VIRT_HEIGHT:
		if (value > VBE_DISPI_MAX_XRES)
			goto refused;
		break;
	case VBE_DISPI_INDEX_BANK:
	case VBE_DISPI_INDEX_X_OFFSET:
	case VBE_DISPI_INDEX_Y_OFFSET:
		break;
	default:
		return; /* VIDEO_MEMORY_64K is read-only; beyond it nothing */
	}
	r[index] = value;
	if (index == VBE_DISPI_INDEX_ENABLE && (value & VBE_DISPI_ENABLED) && !was_enabled) {
		/* The offsets and virtual width are reset before the check. */
		r[VBE_DISPI_INDEX_VIRT_WIDTH] = r[VBE_DISPI_INDEX_XRES];
		r[VBE_DISPI_INDEX_X_OFFSET] = r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
		if (!hg_vbe_registers_valid(s, r))
			goto refused;
		vbe_enable(s, r);
		hg_vga_invalidate(s);
		return;
	}
	if (!hg_vbe_registers_valid(s, r))
		goto refused;
	memcpy(s->vbe, r, sizeof(r));
	if (index == VBE_DISPI_INDEX_ENABLE && was_enabled != hg_vbe_enabled(s))
		hg_vga_invalidate(s);
	return;
refused:
	g_debug("vga: DISPI register %u = 0x%04x refused", index, value);
}

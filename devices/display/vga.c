/* The legacy VGA: its register files and the planar memory behind the
 * 0xA0000-0xBFFFF window.  References: IBM VGA Technical Reference (XGA/VGA
 * "Video Subsystem"), and FreeVGA's register pages: general registers (misc
 * output, input status, feature control), sequencer (map mask, character
 * map select, memory mode: odd/even and chain-4), graphics controller
 * (set/reset, data rotate and logical operation, read map select, graphics
 * mode: write modes 0-3 and read modes 0-1, memory map select, bit mask),
 * CRT controller (write protect in CR11), attribute controller (address /
 * data flip-flop reset by reading input status 1, palette address source)
 * and the DAC (6-bit entries, read and write indexes with auto-increment).
 *
 * The window's CPU addressing follows the hardware: chain-4 takes plane
 * (address & 3) at offset (address & ~3), odd/even plane (address & 1) at
 * offset (address & ~1), planar mode the address itself; the renderer's
 * byte/word/double-word address shifts undo this (vga_render.c).  When the
 * DISPI extension is on, the window is a 64 KiB bank of the linear
 * framebuffer instead (vbe.c). */
#include "devices/display/vga.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define VGA_WINDOW_BASE 0xa0000
#define VGA_WINDOW_SIZE 0x20000

/* Writable bits; reserved bits read as zero. */
static const uint8_t sr_mask[VGA_SR_COUNT] = {0x03, 0x3d, 0x0f, 0x3f, 0x0e};
static const uint8_t gr_mask[VGA_GR_COUNT] = {0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff};
static const uint8_t ar_mask[VGA_AR_COUNT] = {
	0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f,
	0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0xef, 0xff, 0x3f, 0x0f, 0x0f,
};

bool hg_vga_init(HgVga *s, HgMachine *m, HgConsole *console, uint64_t vram_size, GError **error)
{
	g_assert(vram_size >= 4 * VGA_PLANE_SIZE && (vram_size & (vram_size - 1)) == 0);
	s->machine = m;
	s->console = console;
	s->lfb_slot = -1;
	s->vram_size = vram_size;
	s->vram_fd = memfd_create("hangar-vram", MFD_CLOEXEC);
	if (s->vram_fd < 0 || ftruncate(s->vram_fd, vram_size) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot create video memory: %s", g_strerror(errno));
		return false;
	}
	s->vram = mmap(NULL, vram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       s->vram_fd, 0);
	if (s->vram == MAP_FAILED) {
		s->vram = NULL;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot map video memory: %s", g_strerror(errno));
		return false;
	}
	s->dirty = g_new0(uint64_t, (vram_size / VGA_PAGE_SIZE + 63) / 64);
	s->kvm_log = g_new0(uint64_t, (vram_size / VGA_PAGE_SIZE + 63) / 64);
	s->line = g_new0(uint32_t, VGA_MAX_WIDTH);
	return true;
}

void hg_vga_finalize(HgVga *s)
{
	if (s->vram)
		munmap(s->vram, s->vram_size);
	if (s->vram_fd >= 0)
		close(s->vram_fd);
	s->vram = NULL;
	s->vram_fd = -1;
	g_free(s->dirty);
	g_free(s->kvm_log);
	g_free(s->text_cells);
	g_free(s->line);
	s->dirty = NULL;
	s->kvm_log = NULL;
	s->text_cells = NULL;
	s->line = NULL;
}

void hg_vga_mark_dirty(HgVga *s, uint64_t offset, uint64_t len)
{
	if (!len || offset >= s->vram_size)
		return;
	len = MIN(len, s->vram_size - offset);
	for (uint64_t page = offset >> VGA_PAGE_SHIFT; page <= (offset + len - 1) >> VGA_PAGE_SHIFT;
	     page++)
		s->dirty[page / 64] |= 1ull << (page % 64);
}

void hg_vga_clear_vram(HgVga *s, uint64_t offset, uint64_t len)
{
	uint64_t first, last;

	if (offset >= s->vram_size)
		return;
	len = MIN(len, s->vram_size - offset);
	first = (offset + VGA_PAGE_SIZE - 1) & ~(uint64_t)(VGA_PAGE_SIZE - 1);
	last = (offset + len) & ~(uint64_t)(VGA_PAGE_SIZE - 1);
	/* Whole pages go back to the host: cheap for 16 MiB, and an idle
	 * framebuffer costs no memory. */
	if (first < last && fallocate(s->vram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, first,
				      last - first) == 0) {
		memset(s->vram + offset, 0, first - offset);
		memset(s->vram + last, 0, offset + len - last);
	} else {
		memset(s->vram + offset, 0, len);
	}
	hg_vga_mark_dirty(s, offset, len);
}

void hg_vga_reset(HgVga *s)
{
	s->misc = 0;
	s->feature = 0;
	s->video_enable = 0;
	s->sr_index = s->gr_index = s->cr_index = s->ar_index = 0;
	memset(s->sr, 0, sizeof(s->sr));
	memset(s->gr, 0, sizeof(s->gr));
	memset(s->cr, 0, sizeof(s->cr));
	memset(s->ar, 0, sizeof(s->ar));
	s->ar_flip_flop = false;
	s->input_status = 0;
	s->latch = 0;
	memset(s->dac, 0, sizeof(s->dac));
	memset(s->dac_latch, 0, sizeof(s->dac_latch));
	s->dac_read_index = s->dac_write_index = s->dac_component = 0;
	s->dac_state = 0;
	s->dac_pixel_mask = 0xff;
	s->vbe_index = 0;
	memset(s->vbe, 0, sizeof(s->vbe));
	s->vbe[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
	hg_vga_clear_vram(s, 0, s->vram_size);
	hg_vga_invalidate(s);
}

/* ---- ports ---- */

/* The CRTC and input status 1 answer at 0x3Dx with a colour display (misc
 * output bit 0), at 0x3Bx with a monochrome one; the other set is silent. */
static bool vga_port_absent(HgVga *s, uint16_t port)
{
	bool color = s->misc & VGA_MISC_COLOR;
	if (port >= 0x3b0 && port < 0x3c0)
		return color;
	if (port >= 0x3d0 && port < 0x3e0)
		return !color;
	return false;
}

static uint8_t vga_dac_mask(HgVga *s)
{
	return (s->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC) ? 0xff : 0x3f;
}

uint8_t hg_vga_port_read(HgVga *s, uint16_t port)
{
	uint8_t v;

	if (vga_port_absent(s, port))
		return 0xff;
	switch (port) {
	case 0x3c0:
		return s->ar_index;
	case 0x3c1:
		return (s->ar_index & 0x1f) < VGA_AR_COUNT ? s->ar[s->ar_index & 0x1f] : 0;
	case 0x3c2:
		return 0; /* input status 0: no switch sense, no retrace interrupt */
	case 0x3c3:
		return s->video_enable;
	case 0x3c4:
		return s->sr_index;
	case 0x3c5:
		return s->sr_index < VGA_SR_COUNT ? s->sr[s->sr_index] : 0;
	case 0x3c6:
		return s->dac_pixel_mask;
	case 0x3c7:
		return s->dac_state;
	case 0x3c8:
		return s->dac_write_index;
	case 0x3c9:
		v = s->dac[s->dac_read_index][s->dac_component];
		if (++s->dac_component == 3) {
			s->dac_component = 0;
			s->dac_read_index++;
		}
		return v;
	case 0x3ca:
		return s->feature;
	case 0x3cc:
		return s->misc;
	case 0x3ce:
		return s->gr_index;
	case 0x3cf:
		return s->gr_index < VGA_GR_COUNT ? s->gr[s->gr_index] : 0;
	case 0x3b4:
	case 0x3d4:
		return s->cr_index;
	case 0x3b5:
	case 0x3d5:
		return s->cr_index < VGA_CR_COUNT ? s->cr[s->cr_index] : 0;
	case 0x3ba:
	case 0x3da:
		/* Reading input status 1 sends the attribute flip-flop back to
		 * "address".  Retrace and display-disable alternate on every
		 * read, so that any wait for a retrace edge ends. */
		s->ar_flip_flop = false;
		s->input_status ^= 0x09;
		return s->input_status;
	default:
		return 0xff;
	}
}

static void vga_crtc_write(HgVga *s, uint8_t value)
{
	uint8_t i = s->cr_index;

	if (i >= VGA_CR_COUNT)
		return;
	/* CR11 bit 7 protects CR00-CR07, but for CR07's line compare bit 8. */
	if ((s->cr[VGA_CR_V_RETRACE_END] & VGA_CR_V_RETRACE_END_PROTECT) && i <= VGA_CR_OVERFLOW) {
		if (i == VGA_CR_OVERFLOW)
			s->cr[i] = (s->cr[i] & ~0x10) | (value & 0x10);
		return;
	}
	s->cr[i] = value;
}

void hg_vga_port_write(HgVga *s, uint16_t port, uint8_t value)
{
	if (vga_port_absent(s, port))
		return;
	switch (port) {
	case 0x3c0:
		if (!s->ar_flip_flop) {
			s->ar_index = value & 0x3f;
		} else if ((s->ar_index & 0x1f) < VGA_AR_COUNT) {
			unsigned i = s->ar_index & 0x1f;
			s->ar[i] = value & ar_mask[i];
		}
		s->ar_flip_flop = !s->ar_flip_flop;
		break;
	case 0x3c2:
		s->misc = value;
		break;
	case 0x3c3:
		s->video_enable = value & 1;
		break;
	case 0x3c4:
		s->sr_index = value;
		break;
	case 0x3c5:
		if (s->sr_index < VGA_SR_COUNT)
			s->sr[s->sr_index] = value & sr_mask[s->sr_index];
		break;
	case 0x3c6:
		s->dac_pixel_mask = value;
		break;
	case 0x3c7:
		s->dac_read_index = value;
		s->dac_component = 0;
		s->dac_state = 3;
		break;
	case 0x3c8:
		s->dac_write_index = value;
		s->dac_component = 0;
		s->dac_state = 0;
		break;
	case 0x3c9:
		s->dac_latch[s->dac_component] = value & vga_dac_mask(s);
		if (++s->dac_component == 3) {
			memcpy(s->dac[s->dac_write_index], s->dac_latch, 3);
			s->dac_component = 0;
			s->dac_write_index++;
		}
		break;
	case 0x3ce:
		s->gr_index = value;
		break;
	case 0x3cf:
		if (s->gr_index < VGA_GR_COUNT)
			s->gr[s->gr_index] = value & gr_mask[s->gr_index];
		break;
	case 0x3b4:
	case 0x3d4:
		s->cr_index = value;
		break;
	case 0x3b5:
	case 0x3d5:
		vga_crtc_write(s, value);
		break;
	case 0x3ba:
	case 0x3da:
		s->feature = value;
		break;
	default:
		break;
	}
}

/* Wider accesses are consecutive byte ports (outw 0x3C4 writes index and
 * data), as the ISA bus splits them. */
static uint64_t vga_ioport_read(void *opaque, uint64_t offset, unsigned size)
{
	HgVgaPorts *r = opaque;
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)hg_vga_port_read(r->vga, (uint16_t)(r->base + offset + i))
		     << (8 * i);
	return v;
}

static void vga_ioport_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	HgVgaPorts *r = opaque;
	for (unsigned i = 0; i < size; i++)
		hg_vga_port_write(r->vga, (uint16_t)(r->base + offset + i),
				  (uint8_t)(value >> (8 * i)));
}

static const HgIoOps vga_ioport_ops = {.read = vga_ioport_read, .write = vga_ioport_write};

/* ---- the memory window ---- */

/* Where addr (relative to 0xA0000) falls in the window that GR06's memory
 * map select opens; false outside it. */
static bool vga_window_offset(HgVga *s, uint32_t addr, uint32_t *offset)
{
	switch ((s->gr[VGA_GR_MISC] >> 2) & 3) {
	case 0:
		*offset = addr;
		return addr < 0x20000;
	case 1:
		*offset = addr;
		return addr < 0x10000;
	case 2:
		*offset = addr - 0x10000;
		return addr >= 0x10000 && addr < 0x18000;
	default:
		*offset = addr - 0x18000;
		return addr >= 0x18000 && addr < 0x20000;
	}
}

/* Plane offsets: 64 KiB a plane for the legacy modes; at DISPI 4 bpp the
 * bank selects 64 KiB steps within planes as large as memory allows. */
static uint32_t vga_plane_offset(HgVga *s, uint32_t offset)
{
	if (hg_vbe_enabled(s)) {
		uint64_t o = (uint64_t)s->vbe[VBE_DISPI_INDEX_BANK] * VBE_DISPI_BANK_SIZE + offset;
		return (uint32_t)(o & (s->vram_size / 4 - 1));
	}
	return offset & (VGA_PLANE_SIZE - 1);
}

static void vga_load_latch(HgVga *s, uint32_t o)
{
	const uint8_t *cell = s->vram + (uint64_t)o * 4;
	s->latch = cell[0] | cell[1] << 8 | cell[2] << 16 | (uint32_t)cell[3] << 24;
}

static uint8_t vga_latch_byte(HgVga *s, unsigned plane)
{
	return (uint8_t)(s->latch >> (8 * plane));
}

static bool vbe_linear_window(HgVga *s)
{
	return hg_vbe_enabled(s) && s->vbe[VBE_DISPI_INDEX_BPP] != 4;
}

uint8_t hg_vga_mem_read(HgVga *s, uint32_t addr)
{
	uint32_t offset, o;
	uint8_t diff = 0;

	if (vbe_linear_window(s)) {
		uint64_t at = (uint64_t)s->vbe[VBE_DISPI_INDEX_BANK] * VBE_DISPI_BANK_SIZE + addr;
		return addr < VBE_DISPI_BANK_SIZE && at < s->vram_size ? s->vram[at] : 0xff;
	}
	if (!vga_window_offset(s, addr, &offset))
		return 0xff;
	if (s->sr[VGA_SR_MEMORY_MODE] & VGA_SR_MEMORY_CHAIN4) {
		o = vga_plane_offset(s, offset & ~3u);
		vga_load_latch(s, o);
		return vga_latch_byte(s, offset & 3);
	}
	if (s->gr[VGA_GR_MODE] & VGA_GR_MODE_ODD_EVEN) {
		o = vga_plane_offset(s, offset & ~1u);
		vga_load_latch(s, o);
		return vga_latch_byte(s, (s->gr[VGA_GR_READ_MAP] & 2) | (offset & 1));
	}
	o = vga_plane_offset(s, offset);
	vga_load_latch(s, o);
	if (!(s->gr[VGA_GR_MODE] & VGA_GR_MODE_READ_COMPARE))
		return vga_latch_byte(s, s->gr[VGA_GR_READ_MAP] & 3);
	/* Read mode 1: a 1 for each pixel whose colour, over the planes that
	 * "colour don't care" selects, equals the colour compare value. */
	for (unsigned p = 0; p < 4; p++) {
		if (!(s->gr[VGA_GR_COLOR_DONT_CARE] & (1u << p)))
			continue;
		diff |= vga_latch_byte(s, p) ^ ((s->gr[VGA_GR_COLOR_COMPARE] >> p) & 1 ? 0xff : 0);
	}
	return (uint8_t)~diff;
}

static uint8_t vga_logical_op(HgVga *s, uint8_t data, uint8_t latch)
{
	switch ((s->gr[VGA_GR_DATA_ROTATE] >> 3) & 3) {
	case 1:
		return data & latch;
	case 2:
		return data | latch;
	case 3:
		return data ^ latch;
	default:
		return data;
	}
}

/* Write modes 0-3 (graphics mode register bits 0-1) through set/reset, the
 * data rotator, the logical unit and the bit mask, into the planes that the
 * map mask enables. */
static void vga_planar_write(HgVga *s, uint32_t o, uint8_t value)
{
	unsigned mode = s->gr[VGA_GR_MODE] & 3;
	unsigned rotate = s->gr[VGA_GR_DATA_ROTATE] & 7;
	uint8_t rotated = (uint8_t)((value >> rotate) | (value << ((8 - rotate) & 7)));
	uint8_t *cell = s->vram + (uint64_t)o * 4;

	for (unsigned p = 0; p < 4; p++) {
		uint8_t latch = vga_latch_byte(s, p);
		uint8_t set_reset = (s->gr[VGA_GR_SET_RESET] >> p) & 1 ? 0xff : 0;
		uint8_t mask = s->gr[VGA_GR_BIT_MASK];
		uint8_t data;

		if (!(s->sr[VGA_SR_MAP_MASK] & (1u << p)))
			continue;
		switch (mode) {
		case 0:
			data = (s->gr[VGA_GR_ENABLE_SET_RESET] >> p) & 1 ? set_reset : rotated;
			break;
		case 1:
			cell[p] = latch; /* the latches, as they are */
			continue;
		case 2:
			data = (value >> p) & 1 ? 0xff : 0;
			break;
		default:
			data = set_reset;
			mask &= rotated;
			break;
		}
		data = vga_logical_op(s, data, latch);
		cell[p] = (data & mask) | (latch & ~mask);
	}
	hg_vga_mark_dirty(s, (uint64_t)o * 4, 4);
}

void hg_vga_mem_write(HgVga *s, uint32_t addr, uint8_t value)
{
	uint8_t map_mask = s->sr[VGA_SR_MAP_MASK];
	uint32_t offset, o;

	if (vbe_linear_window(s)) {
		uint64_t at = (uint64_t)s->vbe[VBE_DISPI_INDEX_BANK] * VBE_DISPI_BANK_SIZE + addr;
		if (addr < VBE_DISPI_BANK_SIZE && at < s->vram_size) {
			s->vram[at] = value;
			hg_vga_mark_dirty(s, at, 1);
		}
		return;
	}
	if (!vga_window_offset(s, addr, &offset))
		return;
	if (s->sr[VGA_SR_MEMORY_MODE] & VGA_SR_MEMORY_CHAIN4) {
		unsigned plane = offset & 3;
		o = vga_plane_offset(s, offset & ~3u);
		if (map_mask & (1u << plane)) {
			s->vram[(uint64_t)o * 4 + plane] = value;
			hg_vga_mark_dirty(s, (uint64_t)o * 4, 4);
		}
		return;
	}
	if (!(s->sr[VGA_SR_MEMORY_MODE] & VGA_SR_MEMORY_ODD_EVEN_OFF)) {
		/* Odd/even: even addresses reach planes 0 and 2, odd ones 1 and 3. */
		uint8_t planes = map_mask & ((offset & 1) ? 0x0a : 0x05);
		o = vga_plane_offset(s, offset & ~1u);
		for (unsigned p = 0; p < 4; p++)
			if (planes & (1u << p))
				s->vram[(uint64_t)o * 4 + p] = value;
		hg_vga_mark_dirty(s, (uint64_t)o * 4, 4);
		return;
	}
	vga_planar_write(s, vga_plane_offset(s, offset), value);
}

static uint64_t vga_window_read(void *opaque, uint64_t offset, unsigned size)
{
	HgVga *s = opaque;
	uint64_t v = 0;
	for (unsigned i = 0; i < size && offset + i < VGA_WINDOW_SIZE; i++)
		v |= (uint64_t)hg_vga_mem_read(s, (uint32_t)(offset + i)) << (8 * i);
	return v;
}

static void vga_window_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	HgVga *s = opaque;
	for (unsigned i = 0; i < size && offset + i < VGA_WINDOW_SIZE; i++)
		hg_vga_mem_write(s, (uint32_t)(offset + i), (uint8_t)(value >> (8 * i)));
}

static const HgIoOps vga_window_ops = {.read = vga_window_read, .write = vga_window_write};

/* ---- DISPI ports ---- */

static uint64_t vbe_port_read(void *opaque, uint64_t offset, unsigned size)
{
	HgVga *s = opaque;
	return offset == 0 ? s->vbe_index : hg_vbe_read(s, s->vbe_index);
}

static void vbe_port_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	HgVga *s = opaque;
	if (offset == 0)
		s->vbe_index = (uint16_t)value;
	else
		hg_vbe_write(s, s->vbe_index, (uint16_t)value);
}

static const HgIoOps vbe_port_ops = {.read = vbe_port_read, .write = vbe_port_write};

bool hg_vga_register_legacy(HgVga *s, const char *owner)
{
	HgMachine *m = s->machine;
	/* The ports a VGA decodes, and nothing in between (0x3BC is a parallel
	 * port on some machines). */
	static const struct {
		uint16_t port, len;
	} ranges[G_N_ELEMENTS(s->ports)] = {
		{0x3b4, 2}, {0x3ba, 1}, {0x3c0, 16}, {0x3d4, 2}, {0x3da, 1},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(ranges); i++) {
		s->ports[i] = (HgVgaPorts){s, ranges[i].port};
		if (!hg_address_space_register(&m->pio, ranges[i].port, ranges[i].len,
					       &vga_ioport_ops, &s->ports[i], owner))
			return false;
	}
	return hg_address_space_register(&m->pio, VBE_DISPI_IOPORT_INDEX, 2, &vbe_port_ops, s,
					 owner) &&
	       hg_address_space_register(&m->mmio, VGA_WINDOW_BASE, VGA_WINDOW_SIZE,
					 &vga_window_ops, s, owner);
}

/* ---- save and load ---- */

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[VGA_PAGE_SIZE];
	return memcmp(p, zero, VGA_PAGE_SIZE) == 0;
}

/* Video memory goes in as its non-zero pages: an idle 16 MiB framebuffer
 * costs a few bytes. */
static void vga_save_vram(HgVga *s, GVariantBuilder *b)
{
	GVariantBuilder pages;
	g_autoptr(GByteArray) data = g_byte_array_new();

	g_variant_builder_init(&pages, G_VARIANT_TYPE("au"));
	for (uint64_t page = 0; page < s->vram_size / VGA_PAGE_SIZE; page++) {
		const uint8_t *p = s->vram + page * VGA_PAGE_SIZE;
		if (page_is_zero(p))
			continue;
		g_variant_builder_add(&pages, "u", (uint32_t)page);
		g_byte_array_append(data, p, VGA_PAGE_SIZE);
	}
	g_variant_builder_add(b, "{sv}", "vram-size", g_variant_new_uint64(s->vram_size));
	g_variant_builder_add(b, "{sv}", "vram-pages", g_variant_builder_end(&pages));
	g_variant_builder_add(b, "{sv}", "vram-data", hg_bytes_variant(data->data, data->len));
}

void hg_vga_save(HgVga *s, GVariantBuilder *b)
{
	g_variant_builder_add(b, "{sv}", "misc", g_variant_new_byte(s->misc));
	g_variant_builder_add(b, "{sv}", "feature", g_variant_new_byte(s->feature));
	g_variant_builder_add(b, "{sv}", "video-enable", g_variant_new_byte(s->video_enable));
	g_variant_builder_add(b, "{sv}", "sr-index", g_variant_new_byte(s->sr_index));
	g_variant_builder_add(b, "{sv}", "sr", hg_bytes_variant(s->sr, sizeof(s->sr)));
	g_variant_builder_add(b, "{sv}", "gr-index", g_variant_new_byte(s->gr_index));
	g_variant_builder_add(b, "{sv}", "gr", hg_bytes_variant(s->gr, sizeof(s->gr)));
	g_variant_builder_add(b, "{sv}", "cr-index", g_variant_new_byte(s->cr_index));
	g_variant_builder_add(b, "{sv}", "cr", hg_bytes_variant(s->cr, sizeof(s->cr)));
	g_variant_builder_add(b, "{sv}", "ar-index", g_variant_new_byte(s->ar_index));
	g_variant_builder_add(b, "{sv}", "ar", hg_bytes_variant(s->ar, sizeof(s->ar)));
	g_variant_builder_add(b, "{sv}", "ar-flip-flop", g_variant_new_boolean(s->ar_flip_flop));
	g_variant_builder_add(b, "{sv}", "input-status", g_variant_new_byte(s->input_status));
	g_variant_builder_add(b, "{sv}", "latch", g_variant_new_uint32(s->latch));
	g_variant_builder_add(b, "{sv}", "dac", hg_bytes_variant(s->dac, sizeof(s->dac)));
	g_variant_builder_add(b, "{sv}", "dac-latch",
			      hg_bytes_variant(s->dac_latch, sizeof(s->dac_latch)));
	g_variant_builder_add(b, "{sv}", "dac-read-index", g_variant_new_byte(s->dac_read_index));
	g_variant_builder_add(b, "{sv}", "dac-write-index", g_variant_new_byte(s->dac_write_index));
	g_variant_builder_add(b, "{sv}", "dac-component", g_variant_new_byte(s->dac_component));
	g_variant_builder_add(b, "{sv}", "dac-state", g_variant_new_byte(s->dac_state));
	g_variant_builder_add(b, "{sv}", "dac-pixel-mask", g_variant_new_byte(s->dac_pixel_mask));
	g_variant_builder_add(b, "{sv}", "vbe-index", g_variant_new_uint16(s->vbe_index));
	g_variant_builder_add(b, "{sv}", "vbe", hg_bytes_variant(s->vbe, sizeof(s->vbe)));
	vga_save_vram(s, b);
}

static bool vga_bad_record(GError **error, const char *why)
{
	g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD, "%s", why);
	return false;
}

static bool vga_load_vram(HgVga *s, GVariantDict *r, GError **error)
{
	uint64_t size;
	g_autoptr(GVariant) pages = NULL;
	g_autoptr(GVariant) data = NULL;
	const uint32_t *index;
	const uint8_t *bytes;
	gsize n_pages, n_bytes;

	if (!hg_record_u64(r, "vram-size", &size, error))
		return false;
	if (size != s->vram_size) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "saved video memory has %" G_GUINT64_FORMAT
			    " bytes, this device %" G_GUINT64_FORMAT,
			    size, s->vram_size);
		return false;
	}
	pages = g_variant_dict_lookup_value(r, "vram-pages", G_VARIANT_TYPE("au"));
	data = g_variant_dict_lookup_value(r, "vram-data", G_VARIANT_TYPE_BYTESTRING);
	if (!pages || !data)
		return vga_bad_record(error, "state record lacks \"vram-pages\" (au) or "
					     "\"vram-data\" (ay)");
	index = g_variant_get_fixed_array(pages, &n_pages, sizeof(uint32_t));
	bytes = g_variant_get_fixed_array(data, &n_bytes, 1);
	for (gsize i = 0; i < n_pages; i++) {
		if (index[i] >= s->vram_size / VGA_PAGE_SIZE || (i && index[i] <= index[i - 1]))
			return vga_bad_record(error, "\"vram-pages\" lists a page twice, out of "
						     "order or outside video memory");
	}
	if (n_bytes != n_pages * VGA_PAGE_SIZE)
		return vga_bad_record(error, "\"vram-data\" does not hold one page for each of "
					     "\"vram-pages\"");
	for (gsize i = 0; i < n_pages; i++)
		memcpy(s->vram + (uint64_t)index[i] * VGA_PAGE_SIZE, bytes + i * VGA_PAGE_SIZE,
		       VGA_PAGE_SIZE);
	return true;
}

bool hg_vga_load(HgVga *s, GVariantDict *r, GError **error)
{
	uint16_t vbe[VBE_DISPI_INDEX_COUNT];
	uint8_t dac_component, dac_state;

	if (!hg_record_u8(r, "misc", &s->misc, error) ||
	    !hg_record_u8(r, "feature", &s->feature, error) ||
	    !hg_record_u8(r, "video-enable", &s->video_enable, error) ||
	    !hg_record_u8(r, "sr-index", &s->sr_index, error) ||
	    !hg_record_bytes(r, "sr", s->sr, sizeof(s->sr), error) ||
	    !hg_record_u8(r, "gr-index", &s->gr_index, error) ||
	    !hg_record_bytes(r, "gr", s->gr, sizeof(s->gr), error) ||
	    !hg_record_u8(r, "cr-index", &s->cr_index, error) ||
	    !hg_record_bytes(r, "cr", s->cr, sizeof(s->cr), error) ||
	    !hg_record_u8(r, "ar-index", &s->ar_index, error) ||
	    !hg_record_bytes(r, "ar", s->ar, sizeof(s->ar), error) ||
	    !hg_record_bool(r, "ar-flip-flop", &s->ar_flip_flop, error) ||
	    !hg_record_u8(r, "input-status", &s->input_status, error) ||
	    !hg_record_u32(r, "latch", &s->latch, error) ||
	    !hg_record_bytes(r, "dac", s->dac, sizeof(s->dac), error) ||
	    !hg_record_bytes(r, "dac-latch", s->dac_latch, sizeof(s->dac_latch), error) ||
	    !hg_record_u8(r, "dac-read-index", &s->dac_read_index, error) ||
	    !hg_record_u8(r, "dac-write-index", &s->dac_write_index, error) ||
	    !hg_record_u8(r, "dac-component", &dac_component, error) ||
	    !hg_record_u8(r, "dac-state", &dac_state, error) ||
	    !hg_record_u8(r, "dac-pixel-mask", &s->dac_pixel_mask, error) ||
	    !hg_record_u16(r, "vbe-index", &s->vbe_index, error) ||
	    !hg_record_bytes(r, "vbe", vbe, sizeof(vbe), error))
		return false;
	if (dac_component > 2 || (dac_state != 0 && dac_state != 3))
		return vga_bad_record(error,
				      "the DAC's component counter or state is out of range");
	if (!hg_vbe_registers_valid(s, vbe))
		return vga_bad_record(error, "the DISPI registers describe a mode that this video "
					     "memory cannot show");
	s->dac_component = dac_component;
	s->dac_state = dac_state;
	memcpy(s->vbe, vbe, sizeof(vbe));
	if (!vga_load_vram(s, r, error))
		return false;
	hg_vga_invalidate(s);
	return true;
}

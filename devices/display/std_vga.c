/* The std-VGA PCI function, laid out as QEMU's (hw/display/vga-pci.c's
 * documented interface, which bochs-drm and QemuVideoDxe rely on):
 *
 *   BAR0  prefetchable memory, the framebuffer (video memory, 16 MiB)
 *   BAR2  4 KiB of registers: 0x000 EDID (128 bytes, then zeros to 0x3FF)
 *                             0x400 VGA ports 0x3C0-0x3DF, a byte each
 *                             0x500 DISPI registers, 16 bits at index * 2
 *                             0x600 QEMU extended: size (8), byte order
 *                                   (0x1e1e1e1e, little-endian; fixed)
 *
 * Under KVM the framebuffer is a memory slot wherever BAR0 is decoded, so
 * guest writes never exit; the slot's dirty log tells the renderer what
 * changed.  Without KVM (the test harness) or if the slot cannot be made,
 * BAR0's handlers read and write the same memory and note dirty pages. */
#include "devices/display/std_vga.h"

#include <errno.h>
#include <string.h>

#include "devices/display/vga.h"
#include "devices/platform/fw_cfg.h"
#include "engine/kvm.h"

#define STD_VGA_VENDOR 0x1234
#define STD_VGA_DEVICE 0x1111
#define STD_VGA_CLASS 0x030000 /* display, VGA-compatible */
#define STD_VGA_REVISION 0x02
/* QEMU's defaults for every PCI function (Red Hat, "QEMU"). */
#define STD_VGA_SUBSYSTEM_VENDOR 0x1af4
#define STD_VGA_SUBSYSTEM 0x1100

#define MMIO_BAR_SIZE 0x1000
#define MMIO_EDID 0x000
#define MMIO_EDID_SIZE 0x400
#define MMIO_VGA_PORTS 0x400
#define MMIO_VGA_PORTS_SIZE 0x20
#define MMIO_DISPI 0x500
#define MMIO_QEXT 0x600
#define MMIO_QEXT_SIZE 8
#define QEXT_BYTEORDER_LITTLE 0x1e1e1e1e

/* SeaBIOS deploys a fw_cfg file of this name as the option ROM of the PCI
 * device with that vendor and device, and starts it with the device's
 * bus/device/function (src/optionroms.c, lookup_hardcode): the VGA BIOS then
 * finds BAR0 and reports the right framebuffer address for VBE modes.  A
 * ROM under "vgaroms/" would run without it and assume 0xE0000000. */
#define STD_VGA_BIOS_FILE "pci1234,1111.rom"

#define EDID_SIZE 128

typedef struct {
	HgPciDevice pci;
	HgVga vga;
	uint64_t lfb_at; /* where the KVM slot maps the framebuffer */
	uint8_t edid[EDID_SIZE];
} StdVga;

/* ---- EDID (VESA E-EDID 1.4): a 1024x768 monitor ---- */

static void edid_put_chromaticity(uint8_t *e)
{
	/* sRGB primaries and D65 white, in 10-bit fixed point. */
	static const uint16_t xy[8] = {655, 338, 307, 614, 154, 61, 320, 337};

	e[25] = (uint8_t)((xy[0] & 3) << 6 | (xy[1] & 3) << 4 | (xy[2] & 3) << 2 | (xy[3] & 3));
	e[26] = (uint8_t)((xy[4] & 3) << 6 | (xy[5] & 3) << 4 | (xy[6] & 3) << 2 | (xy[7] & 3));
	for (unsigned i = 0; i < 8; i++)
		e[27 + i] = (uint8_t)(xy[i] >> 2);
}

/* The VESA DMT timing of 1024x768 at 60 Hz: 65 MHz, 1344x806 total. */
static void edid_put_preferred_timing(uint8_t *d)
{
	const unsigned clock_10khz = 6500, h_active = 1024, h_blank = 320, v_active = 768,
		       v_blank = 38, h_sync_offset = 24, h_sync_width = 136, v_sync_offset = 3,
		       v_sync_width = 6, width_mm = 310, height_mm = 233;

	d[0] = clock_10khz & 0xff;
	d[1] = clock_10khz >> 8;
	d[2] = h_active & 0xff;
	d[3] = h_blank & 0xff;
	d[4] = (uint8_t)((h_active >> 8) << 4 | h_blank >> 8);
	d[5] = v_active & 0xff;
	d[6] = v_blank & 0xff;
	d[7] = (uint8_t)((v_active >> 8) << 4 | v_blank >> 8);
	d[8] = h_sync_offset;
	d[9] = h_sync_width;
	d[10] = (uint8_t)(v_sync_offset << 4 | v_sync_width);
	d[11] = 0;
	d[12] = width_mm & 0xff;
	d[13] = height_mm & 0xff;
	d[14] = (uint8_t)((width_mm >> 8) << 4 | height_mm >> 8);
	d[15] = d[16] = 0;
	d[17] = 0x18; /* digital separate sync, both polarities negative */
}

static void edid_put_text(uint8_t *d, uint8_t tag, const char *text)
{
	size_t n = strlen(text);

	memset(d, 0, 18);
	d[3] = tag;
	memset(d + 5, ' ', 13);
	memcpy(d + 5, text, MIN(n, (size_t)12));
	d[5 + MIN(n, (size_t)12)] = '\n';
}

static void std_vga_build_edid(uint8_t *e)
{
	static const uint8_t header[8] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
	/* Manufacturer "HGR": three letters of five bits, A = 1. */
	uint16_t maker = ('H' - '@') << 10 | ('G' - '@') << 5 | ('R' - '@');
	uint8_t *range = e + 90;
	uint8_t sum = 0;

	memset(e, 0, EDID_SIZE);
	memcpy(e, header, sizeof(header));
	e[8] = maker >> 8;
	e[9] = maker & 0xff;
	e[10] = 0x01; /* product code */
	e[16] = 1; /* week */
	e[17] = 2026 - 1990;
	e[18] = 1; /* version 1.4 */
	e[19] = 4;
	e[20] = 0xa0; /* digital input, 8 bits a primary */
	e[21] = 31; /* cm */
	e[22] = 23;
	e[23] = 120; /* gamma 2.2 */
	e[24] = 0x06; /* sRGB default, preferred timing is native */
	edid_put_chromaticity(e);
	e[35] = 0x21; /* established: 640x480@60, 800x600@60 */
	e[36] = 0x08; /* 1024x768@60 */
	for (unsigned i = 38; i < 54; i++)
		e[i] = 0x01; /* no standard timings */
	edid_put_preferred_timing(e + 54);
	edid_put_text(e + 72, 0xfc, "Hangar VGA");
	/* Range limits: 50-125 Hz, 30-160 kHz, up to 250 MHz. */
	memset(range, 0, 18);
	range[3] = 0xfd;
	range[5] = 50;
	range[6] = 125;
	range[7] = 30;
	range[8] = 160;
	range[9] = 25;
	range[10] = 0x01;
	range[11] = 0x0a;
	memset(range + 12, ' ', 6);
	edid_put_text(e + 108, 0xff, "0001");
	for (unsigned i = 0; i < EDID_SIZE - 1; i++)
		sum += e[i];
	e[127] = (uint8_t)-sum;
}

/* ---- BAR0: the framebuffer, when no KVM slot covers it ---- */

static uint64_t lfb_read(void *opaque, uint64_t offset, unsigned size)
{
	StdVga *v = opaque;
	uint64_t value = 0;

	if (offset >= v->vga.vram_size || size > v->vga.vram_size - offset)
		return 0;
	memcpy(&value, v->vga.vram + offset, size);
	return value;
}

static void lfb_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	StdVga *v = opaque;

	if (offset >= v->vga.vram_size || size > v->vga.vram_size - offset)
		return;
	memcpy(v->vga.vram + offset, &value, size);
	hg_vga_mark_dirty(&v->vga, offset, size);
}

static const HgIoOps lfb_ops = {.read = lfb_read, .write = lfb_write};

/* ---- BAR2: EDID, VGA ports, DISPI, QEMU extended registers ---- */

static uint16_t dispi_mmio_read(StdVga *v, uint64_t offset)
{
	return hg_vbe_read(&v->vga, (unsigned)(offset - MMIO_DISPI) / 2);
}

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	StdVga *v = opaque;
	uint64_t value = 0;

	for (unsigned i = 0; i < size; i++) {
		uint64_t o = offset + i;
		uint8_t byte = 0;
		if (o < MMIO_EDID + EDID_SIZE) {
			byte = v->edid[o];
		} else if (o >= MMIO_VGA_PORTS && o < MMIO_VGA_PORTS + MMIO_VGA_PORTS_SIZE) {
			byte = hg_vga_port_read(&v->vga, (uint16_t)(0x3c0 + o - MMIO_VGA_PORTS));
		} else if (o >= MMIO_DISPI && o < MMIO_DISPI + 2 * VBE_DISPI_INDEX_COUNT) {
			byte = (uint8_t)(dispi_mmio_read(v, o & ~1ull) >> (8 * (o & 1)));
		} else if (o >= MMIO_QEXT && o < MMIO_QEXT + MMIO_QEXT_SIZE) {
			uint32_t reg = o < MMIO_QEXT + 4 ? MMIO_QEXT_SIZE : QEXT_BYTEORDER_LITTLE;
			byte = (uint8_t)(reg >> (8 * (o & 3)));
		}
		value |= (uint64_t)byte << (8 * i);
	}
	return value;
}

static void mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	StdVga *v = opaque;

	for (unsigned i = 0; i < size; i++) {
		uint64_t o = offset + i;
		if (o >= MMIO_VGA_PORTS && o < MMIO_VGA_PORTS + MMIO_VGA_PORTS_SIZE) {
			hg_vga_port_write(&v->vga, (uint16_t)(0x3c0 + o - MMIO_VGA_PORTS),
					  (uint8_t)(value >> (8 * i)));
		} else if (o >= MMIO_DISPI && o < MMIO_DISPI + 2 * VBE_DISPI_INDEX_COUNT) {
			/* A register takes its 16 bits at once: from a 16-bit (or
			 * wider) access, or a byte merged into its current value. */
			unsigned index = (unsigned)(o - MMIO_DISPI) / 2;
			uint16_t reg;
			if (!(o & 1) && i + 1 < size) {
				reg = (uint16_t)(value >> (8 * i));
				i++;
			} else {
				uint16_t old = v->vga.vbe[index];
				uint8_t byte = (uint8_t)(value >> (8 * i));
				reg = (o & 1) ? (uint16_t)((old & 0x00ff) | byte << 8)
					      : (uint16_t)((old & 0xff00) | byte);
			}
			hg_vbe_write(&v->vga, index, reg);
		}
		/* EDID and the extended registers are read-only; the byte
		 * order stays little-endian. */
	}
}

static const HgIoOps mmio_ops = {.read = mmio_read, .write = mmio_write};

/* ---- the framebuffer as a KVM memory slot ---- */

static void std_vga_bar_moved(HgPciDevice *pd, unsigned bar, bool mapped, uint64_t address)
{
	StdVga *v = (StdVga *)pd;
	HgKvm *kvm = pd->dev.machine->kvm;
	g_autoptr(GError) error = NULL;

	if (bar != 0 || !kvm)
		return;
	if (v->vga.lfb_slot >= 0 && mapped && address == v->lfb_at)
		return;
	if (v->vga.lfb_slot >= 0) {
		hg_kvm_unmap_slot(kvm, v->vga.lfb_slot);
		v->vga.lfb_slot = -1;
	}
	if (mapped) {
		v->vga.lfb_slot = hg_kvm_map_host_slot(kvm, address, v->vga.vram, v->vga.vram_size,
						       KVM_MEM_LOG_DIRTY_PAGES, &error);
		if (v->vga.lfb_slot < 0)
			g_debug("%s: framebuffer at 0x%" G_GINT64_MODIFIER
				"x stays MMIO (no KVM slot: %s)",
				pd->dev.id, address, error->message);
		v->lfb_at = address;
	}
	/* The old slot's log is gone: draw everything again. */
	hg_vga_invalidate(&v->vga);
}

/* ---- the VGA BIOS ---- */

static bool std_vga_add_bios(HgDevice *fw_cfg, GError **error)
{
	g_autofree char *data = NULL;
	g_autoptr(GError) local = NULL;
	gsize len;

	if (!g_file_get_contents(HG_STD_VGA_BIOS_PATH, &data, &len, &local)) {
		g_printerr("hangar-engine: no VGA BIOS (%s); the firmware's screen stays blank "
			   "and SeaBIOS uses the serial console\n",
			   local->message);
		return true;
	}
	return hg_fw_cfg_add_file(fw_cfg, STD_VGA_BIOS_FILE, data, len, error);
}

/* ---- device ---- */

static void std_vga_reset(HgDevice *dev)
{
	StdVga *v = (StdVga *)dev;
	hg_pci_device_reset(&v->pci);
	hg_vga_reset(&v->vga);
}

static GVariant *std_vga_save(HgDevice *dev)
{
	StdVga *v = (StdVga *)dev;
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	hg_pci_device_save(&v->pci, &b);
	hg_vga_save(&v->vga, &b);
	return g_variant_builder_end(&b);
}

static bool std_vga_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	StdVga *v = (StdVga *)dev;
	g_autoptr(GError) local = NULL;

	if (!hg_vga_load(&v->vga, r, &local)) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD, "%s: %s", dev->id,
			    local->message);
		return false;
	}
	return hg_pci_device_load(&v->pci, r, error);
}

static void std_vga_destroy(HgDevice *dev)
{
	StdVga *v = (StdVga *)dev;

	if (v->vga.lfb_slot >= 0 && dev->machine->kvm)
		hg_kvm_unmap_slot(dev->machine->kvm, v->vga.lfb_slot);
	if (v->vga.console)
		hg_console_set_refresh(v->vga.console, NULL, NULL);
	hg_vga_finalize(&v->vga);
	hg_pci_device_finalize(&v->pci);
	g_free(v);
}

const HgDeviceClass hg_std_vga_class = {
	.name = "std-vga",
	.bus = "pci",
	.state_version = 1,
	.reset = std_vga_reset,
	.save = std_vga_save,
	.load = std_vga_load,
	.destroy = std_vga_destroy,
};

HgDevice *hg_std_vga_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, HgConsole *console,
			    uint64_t vram_size, HgDevice *fw_cfg, GError **error)
{
	StdVga *v = g_new0(StdVga, 1);

	v->vga.vram_fd = -1;
	v->vga.lfb_slot = -1;
	hg_pci_device_init(&v->pci, &hg_std_vga_class, m, "vga", STD_VGA_VENDOR, STD_VGA_DEVICE,
			   STD_VGA_CLASS, STD_VGA_REVISION, 0);
	hg_pci_set_word(&v->pci, HG_PCI_SUBSYSTEM_VENDOR_ID, STD_VGA_SUBSYSTEM_VENDOR);
	hg_pci_set_word(&v->pci, HG_PCI_SUBSYSTEM_ID, STD_VGA_SUBSYSTEM);
	if (!hg_vga_init(&v->vga, m, console, vram_size, error))
		goto fail;
	hg_pci_register_bar(&v->pci, 0, HG_PCI_BAR_MEM32, true, vram_size, &lfb_ops, v);
	hg_pci_register_bar(&v->pci, 2, HG_PCI_BAR_MEM32, false, MMIO_BAR_SIZE, &mmio_ops, v);
	v->pci.bar_moved = std_vga_bar_moved;
	std_vga_build_edid(v->edid);
	hg_vga_reset(&v->vga);
	if (!hg_vga_register_legacy(&v->vga, v->pci.dev.id)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "the VGA ports 0x3B4-0x3DA, 0x1CE-0x1CF or its window 0xA0000-0xBFFFF "
			    "are taken");
		goto fail;
	}
	if (fw_cfg && !std_vga_add_bios(fw_cfg, error))
		goto fail;
	if (!hg_pci_bus_plug(bus, &v->pci, devfn, error))
		goto fail;
	hg_console_set_refresh(console, hg_vga_refresh, &v->vga);
	return &v->pci.dev;
fail:
	v->vga.console = NULL;
	g_free(v->pci.dev.id);
	std_vga_destroy(&v->pci.dev);
	return NULL;
}

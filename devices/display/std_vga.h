/* QEMU's "standard VGA" (PCI 1234:1111, class VGA): a VGA with the Bochs
 * VBE DISPI extension, its framebuffer in BAR0 and its registers in BAR2.
 * The device that SeaBIOS's VGA BIOS, Linux's bochs-drm, OVMF's
 * QemuVideoDxe and Windows' basic display driver all know. */
#pragma once

#include "devices/device.h"
#include "devices/pci/pci.h"
#include "display/console.h"

#define HG_STD_VGA_VRAM_SIZE (16u << 20) /* default; a power of two, >= 256 KiB */
/* Debian's seabios package; the engine runs without it (no VGA BIOS). */
#define HG_STD_VGA_BIOS_PATH "/usr/share/seabios/vgabios-stdvga.bin"

/* Plugs the device in at devfn, claims the legacy VGA ports and window,
 * publishes to console and, given fw_cfg, offers the VGA BIOS to SeaBIOS. */
HgDevice *hg_std_vga_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, HgConsole *console,
			    uint64_t vram_size, HgDevice *fw_cfg, GError **error);

/* Getting the guest's first instruction into place: firmware mapped below
 * 4 GiB, or a kernel loaded straight into RAM (Linux bzImage through the
 * 64-bit boot protocol, ELF64, multiboot v1), with vCPU 0 set up to enter it.
 * hg_boot_load runs at start and again at every reset, after the vCPUs got
 * their power-on state back. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/machine.h"

typedef struct {
	char *kernel; /* bzImage, ELF64 or multiboot v1; or NULL */
	char *initrd;
	char *cmdline;
	char *firmware; /* a BIOS/UEFI image, when no kernel is given */
	/* filled in by hg_boot_prepare */
	uint8_t *firmware_image;
	uint64_t firmware_size;
} HgBootConfig;

/* Once per engine: read and map firmware (read-only, ending at 4 GiB). */
bool hg_boot_prepare(HgMachine *m, HgBootConfig *cfg, GError **error);
/* At start and on reset: load into RAM and point vCPU 0 at the entry. */
bool hg_boot_load(HgMachine *m, HgBootConfig *cfg, GError **error);
void hg_boot_config_clear(HgBootConfig *cfg);

/* ---- shared by the loaders (boot_*.c) ---- */

/* Fixed places in low RAM for the structures the loaders build. */
#define HG_BOOT_GDT 0x500
#define HG_BOOT_ZERO_PAGE 0x7000 /* Linux boot_params / multiboot info */
#define HG_BOOT_STACK_TOP 0x8ff0
#define HG_BOOT_PML4 0x9000 /* + PDPT at 0xa000, 4 PDs at 0xb000-0xefff */
#define HG_BOOT_CMDLINE 0x20000
#define HG_BOOT_CMDLINE_MAX 0x10000
#define HG_BOOT_KERNEL_ADDR 0x100000

typedef struct {
	uint64_t addr, size;
	uint32_t type; /* 1 RAM, 2 reserved */
} HgE820Entry;

#define HG_E820_MAX 8
/* The memory map for this machine's RAM; returns the number of entries. */
unsigned hg_e820_build(HgMachine *m, HgE820Entry *entries);

/* vCPU 0 starts at rip in 64-bit mode with identity-mapped 4 GiB (2 MiB
 * pages), flat segments, interrupts off; rsi as given (Linux: boot_params). */
bool hg_x86_enter_long_mode(HgMachine *m, uint64_t rip, uint64_t rsi, GError **error);
/* vCPU 0 starts at eip in 32-bit protected mode, paging off (multiboot). */
bool hg_x86_enter_protected_mode(HgMachine *m, uint32_t eip, uint32_t eax, uint32_t ebx,
				 GError **error);

bool hg_boot_load_linux(HgMachine *m, HgBootConfig *cfg, const uint8_t *image, size_t size,
			GError **error);
bool hg_boot_load_elf64(HgMachine *m, HgBootConfig *cfg, const uint8_t *image, size_t size,
			GError **error);
bool hg_boot_load_multiboot(HgMachine *m, HgBootConfig *cfg, const uint8_t *image, size_t size,
			    GError **error);
/* Offset of a multiboot v1 header in the image's first 8 KiB, or -1. */
long hg_multiboot_find_header(const uint8_t *image, size_t size);

#define HG_BOOT_ERROR (hg_boot_error_quark())
GQuark hg_boot_error_quark(void);
enum { HG_BOOT_ERROR_BAD_IMAGE, HG_BOOT_ERROR_TOO_BIG };

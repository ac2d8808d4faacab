/* Linux bzImage through the 64-bit boot protocol, as Firecracker does:
 * setup header copied into a zero page (boot_params), the protected-mode
 * kernel at 1 MiB, initrd near the top of low RAM, e820 map, and entry at
 * load address + 0x200 in long mode with RSI = boot_params
 * (Documentation/arch/x86/boot.rst). */
#include <string.h>

#include "engine/boot.h"

/* Offsets into boot_params / the setup header. */
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_SECTS 0x1f1
#define BP_HEADER_START 0x1f1
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END_PTR 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_E820_TABLE 0x2d0

#define LOADFLAGS_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x1
#define LOADER_TYPE_UNDEFINED 0xff

static uint32_t get32(const uint8_t *p, size_t off)
{
	uint32_t v;
	memcpy(&v, p + off, 4);
	return v;
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static bool linux_fail(GError **error, const char *file, const char *why)
{
	g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_BAD_IMAGE, "%s: %s", file, why);
	return false;
}

static bool linux_load_initrd(HgMachine *m, HgBootConfig *cfg, uint8_t *zero_page,
			      uint64_t kernel_end, GError **error)
{
	g_autofree char *data = NULL;
	gsize size;
	uint64_t max = get32(zero_page, BP_INITRD_ADDR_MAX);
	uint64_t top = MIN(m->memory.low_end, max + 1);
	uint64_t at;

	if (!g_file_get_contents(cfg->initrd, &data, &size, error))
		return false;
	if (size > top || ((top - size) & ~0xfffULL) < kernel_end) {
		g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_TOO_BIG,
			    "%s: %zu bytes do not fit in guest RAM beside the kernel; give the "
			    "guest more memory",
			    cfg->initrd, (size_t)size);
		return false;
	}
	at = (top - size) & ~0xfffULL;
	hg_memory_write(&m->memory, at, data, size);
	put32(zero_page, BP_RAMDISK_IMAGE, (uint32_t)at);
	put32(zero_page, BP_RAMDISK_SIZE, (uint32_t)size);
	return true;
}

bool hg_boot_load_linux(HgMachine *m, HgBootConfig *cfg, const uint8_t *image, size_t size,
			GError **error)
{
	uint8_t *zero_page = hg_memory_ptr(&m->memory, HG_BOOT_ZERO_PAGE, 4096);
	unsigned setup_sects = image[BP_SETUP_SECTS] ? image[BP_SETUP_SECTS] : 4;
	size_t setup_size = (setup_sects + 1) * 512;
	size_t header_end = 0x202 + image[0x201];
	uint16_t version;
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	HgE820Entry e820[HG_E820_MAX];
	unsigned n;

	memcpy(&version, image + BP_VERSION, 2);
	if (version < 0x20c || size < 0x240)
		return linux_fail(error, cfg->kernel,
				  "boot protocol older than 2.12; a 64-bit entry is not offered");
	if (!(image[BP_XLOADFLAGS] & XLF_KERNEL_64))
		return linux_fail(error, cfg->kernel, "not a 64-bit kernel (XLF_KERNEL_64 unset)");
	if (setup_size >= size || header_end > setup_size)
		return linux_fail(error, cfg->kernel, "setup header runs past the file");
	if (!zero_page)
		return linux_fail(error, cfg->kernel, "guest RAM too small");

	memset(zero_page, 0, 4096);
	memcpy(zero_page + BP_HEADER_START, image + BP_HEADER_START, header_end - BP_HEADER_START);
	zero_page[BP_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
	zero_page[BP_LOADFLAGS] |= LOADFLAGS_CAN_USE_HEAP;
	zero_page[BP_HEAP_END_PTR] = 0x00;
	zero_page[BP_HEAP_END_PTR + 1] = 0xfe;

	if (strlen(cmdline) >= MIN((size_t)HG_BOOT_CMDLINE_MAX,
				   (size_t)get32(zero_page, BP_CMDLINE_SIZE) + 1))
		return linux_fail(error, cfg->kernel, "kernel command line too long");
	hg_memory_write(&m->memory, HG_BOOT_CMDLINE, cmdline, strlen(cmdline) + 1);
	put32(zero_page, BP_CMD_LINE_PTR, HG_BOOT_CMDLINE);

	uint8_t *kernel = hg_memory_ptr(&m->memory, HG_BOOT_KERNEL_ADDR, size - setup_size);
	if (!kernel) {
		g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_TOO_BIG,
			    "%s: the kernel does not fit in guest RAM", cfg->kernel);
		return false;
	}
	memcpy(kernel, image + setup_size, size - setup_size);

	if (cfg->initrd &&
	    !linux_load_initrd(m, cfg, zero_page, HG_BOOT_KERNEL_ADDR + size - setup_size, error))
		return false;

	n = hg_e820_build(m, e820);
	zero_page[BP_E820_ENTRIES] = n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = zero_page + BP_E820_TABLE + i * 20;
		memcpy(e, &e820[i].addr, 8);
		memcpy(e + 8, &e820[i].size, 8);
		memcpy(e + 16, &e820[i].type, 4);
	}
	return hg_x86_enter_long_mode(m, HG_BOOT_KERNEL_ADDR + 0x200, HG_BOOT_ZERO_PAGE, error);
}

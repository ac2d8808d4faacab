/* Picks the loader by content, maps firmware, and builds the memory map. */
#include "engine/boot.h"

#include <string.h>
#include <sys/mman.h>

#include "engine/kvm.h"

G_DEFINE_QUARK(hg-boot-error-quark, hg_boot_error)

#define FIRMWARE_MAX (16u << 20)
#define BIOS_SHADOW_BASE 0xE0000 /* where the last 128 KiB of a BIOS also appear */
#define BIOS_SHADOW_SIZE 0x20000

unsigned hg_e820_build(HgMachine *m, HgE820Entry *e)
{
	HgGuestMemory *mem = &m->memory;
	uint64_t low_end = mem->low_end;
	unsigned n = 0;

	e[n++] = (HgE820Entry){0, 0x9fc00, 1};
	e[n++] = (HgE820Entry){0x9fc00, 0x400, 2}; /* EBDA */
	e[n++] = (HgE820Entry){0xf0000, 0x10000, 2}; /* BIOS area */
	if (low_end > HG_BOOT_KERNEL_ADDR)
		e[n++] = (HgE820Entry){HG_BOOT_KERNEL_ADDR, low_end - HG_BOOT_KERNEL_ADDR, 1};
	e[n++] = (HgE820Entry){0xfeffc000, 0x4000, 2}; /* KVM's identity map and TSS */
	if (mem->high_size)
		e[n++] = (HgE820Entry){HG_HIGH_RAM_START, mem->high_size, 1};
	return n;
}

bool hg_boot_prepare(HgMachine *m, HgBootConfig *cfg, GError **error)
{
	g_autofree char *data = NULL;
	gsize size;

	if (!cfg->firmware || cfg->kernel)
		return true;
	if (!g_file_get_contents(cfg->firmware, &data, &size, error))
		return false;
	if (size == 0 || size > FIRMWARE_MAX || size % 4096) {
		g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_BAD_IMAGE,
			    "%s: a firmware image must be a whole number of 4 KiB pages, at most "
			    "16 MiB (it has %zu bytes)",
			    cfg->firmware, (size_t)size);
		return false;
	}
	cfg->firmware_image = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0);
	if (cfg->firmware_image == MAP_FAILED) {
		cfg->firmware_image = NULL;
		g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_TOO_BIG, "cannot map firmware");
		return false;
	}
	memcpy(cfg->firmware_image, data, size);
	cfg->firmware_size = size;
	/* Read-only: the guest's writes to ROM exit as MMIO and are dropped. */
	if (m->kvm && !hg_kvm_map_host(m->kvm, 0x100000000ULL - size, cfg->firmware_image, size,
				       true, error))
		return false;
	return true;
}

static bool boot_load_firmware(HgMachine *m, HgBootConfig *cfg, GError **error)
{
	/* The reset vector fetch goes to the top of 4 GiB; the BIOS also expects
	 * its last 128 KiB at 0xE0000.  Until the platform models PAM shadowing,
	 * that copy lives in (writable) RAM and is refreshed at every reset. */
	uint64_t shadow = MIN(cfg->firmware_size, BIOS_SHADOW_SIZE);
	if (!hg_memory_write(&m->memory, BIOS_SHADOW_BASE + BIOS_SHADOW_SIZE - shadow,
			     cfg->firmware_image + cfg->firmware_size - shadow, shadow)) {
		g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_TOO_BIG,
			    "guest RAM too small for the BIOS area");
		return false;
	}
	return true; /* vCPU 0's power-on state already points at 0xFFFFFFF0 */
}

bool hg_boot_load(HgMachine *m, HgBootConfig *cfg, GError **error)
{
	g_autofree char *image = NULL;
	gsize size;

	if (!cfg->kernel) {
		if (cfg->firmware_image)
			return boot_load_firmware(m, cfg, error);
		return true; /* nothing to boot: the harness, or a blank machine */
	}
	if (!g_file_get_contents(cfg->kernel, &image, &size, error))
		return false;
	const uint8_t *p = (const uint8_t *)image;
	if (size >= 0x206 && memcmp(p + 0x202, "HdrS", 4) == 0)
		return hg_boot_load_linux(m, cfg, p, size, error);
	if (size >= 64 && memcmp(p, "\177ELF", 4) == 0 && p[4] == 2 /* ELFCLASS64 */)
		return hg_boot_load_elf64(m, cfg, p, size, error);
	if (hg_multiboot_find_header(p, size) >= 0)
		return hg_boot_load_multiboot(m, cfg, p, size, error);
	g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_BAD_IMAGE,
		    "%s: not a Linux bzImage, an ELF64 kernel or a multiboot kernel", cfg->kernel);
	return false;
}

void hg_boot_config_clear(HgBootConfig *cfg)
{
	g_free(cfg->kernel);
	g_free(cfg->initrd);
	g_free(cfg->cmdline);
	g_free(cfg->firmware);
	if (cfg->firmware_image)
		munmap(cfg->firmware_image, cfg->firmware_size);
	memset(cfg, 0, sizeof(*cfg));
}

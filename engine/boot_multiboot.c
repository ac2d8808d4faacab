/* Multiboot v1 kernels (Multiboot Specification 0.6.96): the header in the
 * first 8 KiB, ELF32 segments (or the a.out kludge addresses), a multiboot
 * information structure with memory map, command line and the initrd as a
 * module, and entry in 32-bit protected mode with EAX = 0x2BADB002. */
#include <elf.h>
#include <string.h>

#include "engine/boot.h"

#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_SEARCH_LIMIT 8192
#define MB_FLAG_AOUT_KLUDGE (1u << 16)
#define MB_FLAG_VIDEO (1u << 2)

#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

/* Layout inside the zero page area (HG_BOOT_ZERO_PAGE .. +4 KiB). */
#define MBI_ADDR HG_BOOT_ZERO_PAGE
#define MBI_MMAP_ADDR (HG_BOOT_ZERO_PAGE + 0x100)
#define MBI_MODS_ADDR (HG_BOOT_ZERO_PAGE + 0x400)
#define MBI_LOADER_ADDR (HG_BOOT_ZERO_PAGE + 0x480)

typedef struct {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
} MultibootHeader;

typedef struct __attribute__((packed)) {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} MultibootInfo;

typedef struct __attribute__((packed)) {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} MultibootMmapEntry;

long hg_multiboot_find_header(const uint8_t *image, size_t size)
{
	size_t limit = MIN(size, (size_t)MB_SEARCH_LIMIT);

	for (size_t off = 0; off + 12 <= limit; off += 4) {
		uint32_t w[3];
		memcpy(w, image + off, sizeof(w));
		if (w[0] == MB_HEADER_MAGIC && (uint32_t)(w[0] + w[1] + w[2]) == 0)
			return (long)off;
	}
	return -1;
}

static bool mb_fail(GError **error, const char *kernel, const char *why)
{
	g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_BAD_IMAGE, "%s: %s", kernel, why);
	return false;
}

static bool mb_copy(HgMachine *m, uint64_t gpa, const void *src, uint64_t len, uint64_t memsz,
		    const char *kernel, GError **error)
{
	uint8_t *dst = hg_memory_ptr(&m->memory, gpa, memsz);
	if (!dst) {
		g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_TOO_BIG,
			    "%s: 0x%" G_GINT64_MODIFIER "x+%" G_GUINT64_FORMAT
			    " does not fit in guest RAM",
			    kernel, gpa, memsz);
		return false;
	}
	memcpy(dst, src, len);
	memset(dst + len, 0, memsz - len);
	return true;
}

static bool mb_load_elf32(HgMachine *m, const char *kernel, const uint8_t *image, size_t size,
			  uint32_t *entry, uint64_t *end, GError **error)
{
	Elf32_Ehdr eh;

	if (size < sizeof(eh))
		return mb_fail(error, kernel, "truncated ELF header");
	memcpy(&eh, image, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS32 ||
	    eh.e_machine != EM_386 || eh.e_phentsize != sizeof(Elf32_Phdr) ||
	    eh.e_phoff > size || (uint64_t)eh.e_phnum * sizeof(Elf32_Phdr) > size - eh.e_phoff)
		return mb_fail(error, kernel, "multiboot header without the a.out kludge needs an "
					      "i386 ELF32 image");
	*end = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf32_Phdr ph;
		memcpy(&ph, image + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > size ||
		    ph.p_filesz > size - ph.p_offset)
			return mb_fail(error, kernel, "ELF segment lies outside the file");
		if (!mb_copy(m, ph.p_paddr, image + ph.p_offset, ph.p_filesz, ph.p_memsz, kernel,
			     error))
			return false;
		*end = MAX(*end, (uint64_t)ph.p_paddr + ph.p_memsz);
	}
	*entry = eh.e_entry;
	return true;
}

static bool mb_load_aout_kludge(HgMachine *m, const char *kernel, const uint8_t *image,
				size_t size, long hdr_off, const MultibootHeader *h,
				uint32_t *entry, uint64_t *end, GError **error)
{
	uint64_t file_off, load_end, bss_end;

	if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > (uint64_t)hdr_off)
		return mb_fail(error, kernel, "multiboot header addresses are inconsistent");
	file_off = hdr_off - (h->header_addr - h->load_addr);
	load_end = h->load_end_addr ? h->load_end_addr : h->load_addr + (size - file_off);
	bss_end = h->bss_end_addr ? h->bss_end_addr : load_end;
	if (load_end < h->load_addr || bss_end < load_end ||
	    load_end - h->load_addr > size - file_off)
		return mb_fail(error, kernel, "multiboot load addresses lie outside the file");
	if (!mb_copy(m, h->load_addr, image + file_off, load_end - h->load_addr,
		     bss_end - h->load_addr, kernel, error))
		return false;
	*entry = h->entry_addr;
	*end = bss_end;
	return true;
}

bool hg_boot_load_multiboot(HgMachine *m, HgBootConfig *cfg, const uint8_t *image, size_t size,
			    GError **error)
{
	long hdr_off = hg_multiboot_find_header(image, size);
	MultibootHeader h = {0};
	MultibootInfo mbi = {0};
	HgE820Entry e820[HG_E820_MAX];
	unsigned n = hg_e820_build(m, e820);
	uint32_t entry;
	uint64_t kernel_end;
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";

	memcpy(&h, image + hdr_off, MIN(sizeof(h), size - hdr_off));
	if (h.flags & MB_FLAG_AOUT_KLUDGE) {
		if (size - hdr_off < sizeof(h))
			return mb_fail(error, cfg->kernel, "truncated multiboot header");
		if (!mb_load_aout_kludge(m, cfg->kernel, image, size, hdr_off, &h, &entry,
					 &kernel_end, error))
			return false;
	} else if (!mb_load_elf32(m, cfg->kernel, image, size, &entry, &kernel_end, error)) {
		return false;
	}

	for (unsigned i = 0; i < n; i++) {
		MultibootMmapEntry me = {sizeof(me) - 4, e820[i].addr, e820[i].size, e820[i].type};
		hg_memory_write(&m->memory, MBI_MMAP_ADDR + i * sizeof(me), &me, sizeof(me));
	}
	mbi.flags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME;
	mbi.mem_lower = 639;
	mbi.mem_upper = (uint32_t)((m->memory.low_end - 0x100000) / 1024);
	mbi.mmap_addr = MBI_MMAP_ADDR;
	mbi.mmap_length = n * sizeof(MultibootMmapEntry);
	mbi.cmdline = HG_BOOT_CMDLINE;
	if (strlen(cmdline) >= HG_BOOT_CMDLINE_MAX)
		return mb_fail(error, cfg->kernel, "command line too long");
	hg_memory_write(&m->memory, HG_BOOT_CMDLINE, cmdline, strlen(cmdline) + 1);
	mbi.boot_loader_name = MBI_LOADER_ADDR;
	hg_memory_write(&m->memory, MBI_LOADER_ADDR, "hangar", 7);

	if (cfg->initrd) {
		g_autofree char *initrd = NULL;
		gsize initrd_size;
		uint32_t mod[4];
		uint64_t at = (kernel_end + 0xfff) & ~0xfffULL;
		if (!g_file_get_contents(cfg->initrd, &initrd, &initrd_size, error))
			return false;
		if (!mb_copy(m, at, initrd, initrd_size, initrd_size, cfg->initrd, error))
			return false;
		mod[0] = at;
		mod[1] = at + initrd_size;
		mod[2] = 0;
		mod[3] = 0;
		hg_memory_write(&m->memory, MBI_MODS_ADDR, mod, sizeof(mod));
		mbi.flags |= MBI_MODS;
		mbi.mods_count = 1;
		mbi.mods_addr = MBI_MODS_ADDR;
	}
	if (!hg_memory_write(&m->memory, MBI_ADDR, &mbi, sizeof(mbi)))
		return mb_fail(error, cfg->kernel, "guest RAM too small");
	return hg_x86_enter_protected_mode(m, entry, MB_BOOT_MAGIC, MBI_ADDR, error);
}

/* ELF64 kernels (test guests, kvm-unit-tests-style images): PT_LOAD
 * segments copied to their physical addresses, entered in long mode.
 * Every offset and size comes from the file, so each is checked. */
#include <elf.h>
#include <string.h>

#include "engine/boot.h"

static bool elf_range_ok(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

bool hg_boot_load_elf64(HgMachine *m, HgBootConfig *cfg, const uint8_t *image, size_t size,
			GError **error)
{
	Elf64_Ehdr eh;

	memcpy(&eh, image, sizeof(eh));
	if (size < sizeof(eh) || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !elf_range_ok(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), size)) {
		g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_BAD_IMAGE,
			    "%s: not a valid little-endian x86-64 ELF file", cfg->kernel);
		return false;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, image + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || !elf_range_ok(ph.p_offset, ph.p_filesz, size)) {
			g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_BAD_IMAGE,
				    "%s: segment %u lies outside the file", cfg->kernel, i);
			return false;
		}
		uint8_t *dst = hg_memory_ptr(&m->memory, ph.p_paddr, ph.p_memsz);
		if (!dst) {
			g_set_error(error, HG_BOOT_ERROR, HG_BOOT_ERROR_TOO_BIG,
				    "%s: segment %u (0x%" G_GINT64_MODIFIER "x, %" G_GUINT64_FORMAT
				    " bytes) does not fit in guest RAM",
				    cfg->kernel, i, (uint64_t)ph.p_paddr, (uint64_t)ph.p_memsz);
			return false;
		}
		memcpy(dst, image + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	return hg_x86_enter_long_mode(m, eh.e_entry, 0, error);
}

/* Guest RAM: one memfd (or, after a restore, a privately mapped RAM file)
 * laid out PC-style: RAM from 0 up to the PCI hole at 3 GiB, the rest above
 * 4 GiB, and no RAM in the legacy VGA window 0xA0000-0xBFFFF, which belongs
 * to the display device (its bytes in the backing file go unused, so file
 * offsets stay equal to guest addresses below 4 GiB).  Devices touch guest memory only through the bounds-checked
 * accessors below; a guest-supplied address is never dereferenced directly. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define HG_PCI_HOLE_START 0xC0000000ULL /* 3 GiB: low RAM ends here */
#define HG_HIGH_RAM_START 0x100000000ULL /* 4 GiB: the rest of RAM */
#define HG_VGA_WINDOW_START 0xA0000ULL
#define HG_VGA_WINDOW_END 0xC0000ULL

typedef struct {
	uint64_t guest_phys; /* where the guest sees it */
	uint64_t size;
	uint64_t file_offset; /* offset in the backing fd */
	uint8_t *host; /* host mapping of the region */
} HgRamRegion;

typedef struct {
	int fd; /* memfd, or the RAM file after a restore */
	uint64_t size; /* total RAM in bytes */
	uint8_t *base; /* one mapping of the whole backing fd */
	bool private_mapping; /* restored: MAP_PRIVATE of a saved file */
	unsigned n_regions;
	HgRamRegion regions[3];
	uint64_t low_end; /* RAM below 4 GiB ends here (at most 3 GiB) */
	uint64_t high_size; /* RAM from 4 GiB up */
} HgGuestMemory;

/* Create anonymous guest RAM of size bytes (memfd, MAP_SHARED). */
bool hg_memory_init(HgGuestMemory *mem, uint64_t size, GError **error);
/* Map a saved RAM file privately; pages are read lazily on first touch. */
bool hg_memory_init_from_file(HgGuestMemory *mem, const char *path, uint64_t size,
			      GError **error);
void hg_memory_destroy(HgGuestMemory *mem);

/* The host pointer for [gpa, gpa+len) if it lies inside one RAM region,
 * else NULL.  len == 0 is treated as 1. */
void *hg_memory_ptr(HgGuestMemory *mem, uint64_t gpa, uint64_t len);
/* Copy between guest and host; false (and nothing copied) if any byte of
 * the range falls outside RAM. */
bool hg_memory_read(HgGuestMemory *mem, uint64_t gpa, void *buf, uint64_t len);
bool hg_memory_write(HgGuestMemory *mem, uint64_t gpa, const void *buf, uint64_t len);

/* Write all of RAM to path, skipping holes so the file stays sparse. */
bool hg_memory_save(HgGuestMemory *mem, const char *path, GError **error);

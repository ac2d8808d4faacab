/* Port I/O and MMIO dispatch.  Devices register ranges with handlers; the
 * vCPU exit path (or the test harness) looks the address up and calls them.
 * An access that no device claims reads as all ones and writes are dropped,
 * as on an ISA bus with nothing there (FACTS.md). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct {
	/* offset is relative to the range base; size is 1, 2, 4 or 8. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
} HgIoOps;

typedef struct {
	uint64_t base;
	uint64_t len;
	const HgIoOps *ops;
	void *opaque;
	const char *owner; /* device name, for diagnostics */
} HgIoRange;

typedef struct {
	const char *name; /* "pio" or "mmio" */
	unsigned n_ranges;
	unsigned capacity;
	HgIoRange *ranges; /* sorted by base, never overlapping */
} HgAddressSpace;

void hg_address_space_init(HgAddressSpace *as, const char *name);
void hg_address_space_destroy(HgAddressSpace *as);
/* Fails (returns false) if the range overlaps one already registered. */
bool hg_address_space_register(HgAddressSpace *as, uint64_t base, uint64_t len,
			       const HgIoOps *ops, void *opaque, const char *owner);
void hg_address_space_unregister(HgAddressSpace *as, uint64_t base);
/* Dispatch; the caller holds the machine's device lock. */
uint64_t hg_address_space_read(HgAddressSpace *as, uint64_t addr, unsigned size);
void hg_address_space_write(HgAddressSpace *as, uint64_t addr, unsigned size, uint64_t value);

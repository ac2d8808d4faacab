#include "engine/address_space.h"

#include <glib.h>
#include <string.h>

void hg_address_space_init(HgAddressSpace *as, const char *name)
{
	memset(as, 0, sizeof(*as));
	as->name = name;
}

void hg_address_space_destroy(HgAddressSpace *as)
{
	g_free(as->ranges);
	memset(as, 0, sizeof(*as));
}

bool hg_address_space_register(HgAddressSpace *as, uint64_t base, uint64_t len,
			       const HgIoOps *ops, void *opaque, const char *owner)
{
	unsigned i;

	if (len == 0 || base + len - 1 < base)
		return false;
	for (i = 0; i < as->n_ranges; i++) {
		HgIoRange *r = &as->ranges[i];
		if (base <= r->base + r->len - 1 && r->base <= base + len - 1) {
			/* A guest moving BARs on top of each other gets here:
			 * its mistake, so debug level only (STYLE.md). */
			g_debug("%s: %s at 0x%" G_GINT64_MODIFIER "x overlaps %s", as->name,
				owner, base, r->owner);
			return false;
		}
		if (r->base > base)
			break;
	}
	if (as->n_ranges == as->capacity) {
		as->capacity = as->capacity ? as->capacity * 2 : 16;
		as->ranges = g_renew(HgIoRange, as->ranges, as->capacity);
	}
	memmove(&as->ranges[i + 1], &as->ranges[i], (as->n_ranges - i) * sizeof(HgIoRange));
	as->ranges[i] = (HgIoRange){base, len, ops, opaque, owner};
	as->n_ranges++;
	return true;
}

void hg_address_space_unregister(HgAddressSpace *as, uint64_t base)
{
	for (unsigned i = 0; i < as->n_ranges; i++) {
		if (as->ranges[i].base == base) {
			memmove(&as->ranges[i], &as->ranges[i + 1],
				(as->n_ranges - i - 1) * sizeof(HgIoRange));
			as->n_ranges--;
			return;
		}
	}
}

static HgIoRange *address_space_find(HgAddressSpace *as, uint64_t addr)
{
	unsigned lo = 0, hi = as->n_ranges;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		HgIoRange *r = &as->ranges[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

uint64_t hg_address_space_read(HgAddressSpace *as, uint64_t addr, unsigned size)
{
	HgIoRange *r = address_space_find(as, addr);
	uint64_t ones = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;

	if (!r || !r->ops->read)
		return ones;
	return r->ops->read(r->opaque, addr - r->base, size) & ones;
}

void hg_address_space_write(HgAddressSpace *as, uint64_t addr, unsigned size, uint64_t value)
{
	HgIoRange *r = address_space_find(as, addr);

	if (r && r->ops->write)
		r->ops->write(r->opaque, addr - r->base, size, value);
}

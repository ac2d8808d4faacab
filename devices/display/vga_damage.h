/* Finding what changed on the screen, as pure functions that the renderer
 * (vga_render.c) and the tests (tests/devices/display/test-vga.c) share:
 * whether a range of video memory touches a dirty page, where two rows of
 * pixels differ, and how changed lines gather into rectangles. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "display/console.h"

/* Whether any 4 KiB page of [offset, offset + len) has its bit set (one bit
 * a page, 64 to a word).  len > 0. */
static inline bool hg_vga_range_dirty(const uint64_t *bitmap, uint64_t offset, uint64_t len)
{
	uint64_t first = offset >> 12, last = (offset + len - 1) >> 12;

	for (uint64_t page = first; page <= last; page++) {
		if (!(page % 64) && page + 63 <= last) {
			if (bitmap[page / 64])
				return true;
			page += 63;
			continue;
		}
		if (bitmap[page / 64] & (1ull << (page % 64)))
			return true;
	}
	return false;
}

/* The first and last column where rows a and b differ; false if equal. */
static inline bool hg_vga_row_diff(const uint32_t *a, const uint32_t *b, int width, int *first,
				   int *last)
{
	int x0 = 0, x1 = width - 1;

	if (width <= 0 || memcmp(a, b, (size_t)width * 4) == 0)
		return false;
	while (a[x0] == b[x0])
		x0++;
	while (a[x1] == b[x1])
		x1--;
	*first = x0;
	*last = x1;
	return true;
}

/* Changed lines, top to bottom, gather into one rectangle while they are
 * consecutive; a gap closes it. */
typedef struct {
	bool open;
	int x0, x1; /* inclusive */
	int y0, y1; /* y1 exclusive */
} HgVgaDamage;

/* Line y changed in columns x0..x1.  Returns true and fills *closed when
 * this ends the rectangle gathered so far. */
static inline bool hg_vga_damage_add(HgVgaDamage *d, int y, int x0, int x1, HgRect *closed)
{
	bool emitted = false;

	if (d->open && y == d->y1) {
		d->x0 = x0 < d->x0 ? x0 : d->x0;
		d->x1 = x1 > d->x1 ? x1 : d->x1;
		d->y1 = y + 1;
		return false;
	}
	if (d->open) {
		*closed = (HgRect){d->x0, d->y0, d->x1 - d->x0 + 1, d->y1 - d->y0};
		emitted = true;
	}
	*d = (HgVgaDamage){true, x0, x1, y, y + 1};
	return emitted;
}

/* The last rectangle, if one is open. */
static inline bool hg_vga_damage_finish(HgVgaDamage *d, HgRect *closed)
{
	if (!d->open)
		return false;
	*closed = (HgRect){d->x0, d->y0, d->x1 - d->x0 + 1, d->y1 - d->y0};
	d->open = false;
	return true;
}

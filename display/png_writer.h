/* A PNG encoder for screendumps: 8-bit RGB, no interlace, zlib-compressed
 * IDAT chunks (PNG specification, 2nd edition, sections 5 and 11).  Written
 * on zlib, which the engine has loaded anyway, rather than libpng, which
 * with libm costs every engine about 0.4 MiB of resident memory for a
 * feature used now and then (tests/bench/bench-memory.py). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Write width x height XRGB8888 pixels (stride in bytes) to path, through a
 * temporary file renamed into place. */
bool hg_png_write_xrgb(const char *path, const uint32_t *pixels, int width, int height,
		       int stride, GError **error);

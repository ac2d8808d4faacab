#include "display/png_writer.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define IDAT_CHUNK 65536

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* One chunk: length, type, data, CRC of type and data (5.3). */
static bool write_chunk(FILE *f, const char *type, const uint8_t *data, uint32_t len)
{
	uint8_t head[8], tail[4];
	uLong crc = crc32(0, (const Bytef *)type, 4);

	put_be32(head, len);
	memcpy(head + 4, type, 4);
	if (len)
		crc = crc32(crc, data, len);
	put_be32(tail, (uint32_t)crc);
	return fwrite(head, 1, 8, f) == 8 && (len == 0 || fwrite(data, 1, len, f) == len) &&
	       fwrite(tail, 1, 4, f) == 4;
}

/* Deflate the filtered scanlines (filter type 0 each) into IDAT chunks. */
static bool write_image_data(FILE *f, const uint32_t *pixels, int width, int height,
			     int stride)
{
	z_stream z;
	g_autofree uint8_t *row = g_malloc(1 + 3 * (size_t)width);
	g_autofree uint8_t *out = g_malloc(IDAT_CHUNK);
	bool ok = true;

	memset(&z, 0, sizeof(z));
	if (deflateInit(&z, 6) != Z_OK)
		return false;
	for (int y = 0; y <= height && ok; y++) {
		int flush = y == height ? Z_FINISH : Z_NO_FLUSH;
		if (y < height) {
			const uint32_t *src =
				(const uint32_t *)((const uint8_t *)pixels + (size_t)y * stride);
			row[0] = 0; /* filter: none */
			for (int x = 0; x < width; x++) {
				row[1 + 3 * x] = src[x] >> 16;
				row[2 + 3 * x] = src[x] >> 8;
				row[3 + 3 * x] = src[x];
			}
			z.next_in = row;
			z.avail_in = 1 + 3 * (uInt)width;
		}
		int r;
		do {
			z.next_out = out;
			z.avail_out = IDAT_CHUNK;
			r = deflate(&z, flush);
			uint32_t produced = IDAT_CHUNK - z.avail_out;
			if (produced && !write_chunk(f, "IDAT", out, produced))
				ok = false;
		} while (ok && (z.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END)));
	}
	deflateEnd(&z);
	return ok;
}

bool hg_png_write_xrgb(const char *path, const uint32_t *pixels, int width, int height,
		       int stride, GError **error)
{
	static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
	uint8_t ihdr[13];
	FILE *f = fopen(tmp, "wb");
	bool ok;

	if (!f) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create %s: %s",
			    tmp, g_strerror(errno));
		return false;
	}
	put_be32(ihdr, width);
	put_be32(ihdr + 4, height);
	ihdr[8] = 8; /* bit depth */
	ihdr[9] = 2; /* colour type: RGB */
	ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filtering, no interlace */
	ok = fwrite(signature, 1, 8, f) == 8 && write_chunk(f, "IHDR", ihdr, sizeof(ihdr)) &&
	     write_image_data(f, pixels, width, height, stride) && write_chunk(f, "IEND", NULL, 0);
	if (fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, path) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write the PNG %s", path);
		remove(tmp);
		return false;
	}
	return true;
}

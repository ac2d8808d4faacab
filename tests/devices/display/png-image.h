/* Screenshots for the display tests: a PNG (the control socket's
 * screendump) decoded with libpng into XRGB pixels. */
#pragma once

#include <glib.h>
#include <png.h>
#include <stdint.h>

typedef struct {
	int width, height;
	uint32_t *pixels; /* XRGB, row after row */
} Image;

static inline void image_free(Image *im)
{
	g_free(im->pixels);
	g_free(im);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Image, image_free)

static inline Image *image_load_png(const char *path)
{
	png_image png = {.version = PNG_IMAGE_VERSION};
	Image *im = g_new0(Image, 1);

	g_assert_true(png_image_begin_read_from_file(&png, path));
	png.format = PNG_FORMAT_BGRA;
	im->width = (int)png.width;
	im->height = (int)png.height;
	im->pixels = g_new(uint32_t, (size_t)im->width * im->height);
	g_assert_true(png_image_finish_read(&png, NULL, im->pixels, 0, NULL));
	for (size_t i = 0; i < (size_t)im->width * im->height; i++)
		im->pixels[i] &= 0xffffff;
	return im;
}

static inline uint32_t image_pixel(const Image *im, int x, int y)
{
	g_assert_cmpint(x, >=, 0);
	g_assert_cmpint(y, >=, 0);
	g_assert_cmpint(x, <, im->width);
	g_assert_cmpint(y, <, im->height);
	return im->pixels[(size_t)y * im->width + x];
}

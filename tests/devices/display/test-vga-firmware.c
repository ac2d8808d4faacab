/* The std-VGA under KVM: SeaBIOS runs Debian's VGA BIOS on it and its POST
 * text shows on the screen; and a test guest draws into the framebuffer's
 * KVM memory slot, whose dirty log brings every change to the screen. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tests/devices/display/png-image.h"
#include "tests/engine/guest-runner.h"
#include "tests/harness/harness.h"

#define BIOS_TIMEOUT_MS 120000

static Image *screendump(GuestRun *r, const char *name)
{
	g_autofree char *path = g_build_filename(r->dir, name, NULL);
	g_autofree char *request = g_strdup_printf(
		"{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"%s\"}}", path);
	g_autofree char *reply = guest_run_control(r, request);

	g_assert_nonnull(strstr(reply, "\"return\""));
	return image_load_png(path);
}

static void test_seabios_post_text_appears_on_screen(void)
{
	if (!guest_require_kvm())
		return;
	if (!g_file_test("/usr/share/seabios/bios-256k.bin", G_FILE_TEST_EXISTS) ||
	    !g_file_test("/usr/share/seabios/vgabios-stdvga.bin", G_FILE_TEST_EXISTS)) {
		g_test_skip("needs Debian's seabios package (bios-256k.bin, vgabios-stdvga.bin)");
		return;
	}
	GuestRun *r = guest_run_start("--memory", "64", NULL);
	unsigned lit = 0;

	/* SeaBIOS mirrors its screen to COM1 (sercon split mode): when the
	 * serial side says it gave up booting, the screen says so too. */
	if (!guest_run_wait_output(r, "No bootable device", BIOS_TIMEOUT_MS))
		g_error("SeaBIOS did not finish; COM1 shows:\n%s", r->serial->str);
	g_autoptr(Image) im = screendump(r, "post.png");
	/* Text mode 3: 80x25 characters of 9x16. */
	g_assert_cmpint(im->width, ==, 720);
	g_assert_cmpint(im->height, ==, 400);
	/* The first line ("SeaBIOS (version ...)") is light grey on black,
	 * attribute 0x07 through the VGA BIOS's palette; the last lines are
	 * empty. */
	for (int y = 0; y < 16; y++)
		for (int x = 0; x < 720; x++) {
			uint32_t p = image_pixel(im, x, y);
			if (p == 0)
				continue;
			g_assert_cmphex(p, ==, 0xaaaaaa);
			lit++;
		}
	g_assert_cmpuint(lit, >, 200);
	for (int y = 300; y < 400; y++)
		for (int x = 0; x < 720; x++)
			g_assert_cmphex(image_pixel(im, x, y), ==, 0);
	guest_run_free(r);
}

static uint32_t pattern(unsigned x, unsigned y)
{
	return (x * 255 / 639) << 16 | (y * 255 / 479) << 8 | 0x40;
}

static void test_guest_framebuffer_writes_reach_the_screen(void)
{
	if (!guest_require_kvm())
		return;
	g_autofree char *kernel = guest_path("vbe-pattern");
	GuestRun *r = guest_run_start("--kernel", kernel, "--debug-exit", "--memory", "64", NULL);

	if (!guest_run_wait_output(r, "pattern drawn", BIOS_TIMEOUT_MS))
		g_error("the guest did not draw; COM1 shows:\n%s", r->serial->str);
	g_autoptr(Image) im = screendump(r, "pattern.png");
	g_assert_cmpint(im->width, ==, 640);
	g_assert_cmpint(im->height, ==, 480);
	for (unsigned y = 0; y < 480; y += 7)
		for (unsigned x = 0; x < 640; x += 13)
			g_assert_cmphex(image_pixel(im, (int)x, (int)y), ==, pattern(x, y));
	g_assert_cmpint(write(r->serial_fd, "n", 1), ==, 1);

	/* A small change after the picture was drawn: only the slot's dirty
	 * log can bring it. */
	if (!guest_run_wait_output(r, "square drawn", 60000))
		g_error("the guest did not draw the square; COM1 shows:\n%s", r->serial->str);
	g_autoptr(Image) square = screendump(r, "square.png");
	for (int y = 198; y < 210; y++)
		for (int x = 298; x < 310; x++) {
			bool inside = x >= 300 && x < 308 && y >= 200 && y < 208;
			g_assert_cmphex(image_pixel(square, x, y), ==,
					inside ? 0xffffff : pattern((unsigned)x, (unsigned)y));
		}
	g_assert_cmpint(write(r->serial_fd, "n", 1), ==, 1);
	g_assert_cmpint(guest_run_wait_exit(r, 60000), ==, 1); /* debug-exit: pass */
	g_assert_nonnull(strstr(r->serial->str, "PASS: vbe-pattern"));
	guest_run_free(r);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vga/seabios/post-text-appears-on-screen",
			test_seabios_post_text_appears_on_screen);
	g_test_add_func("/vga/guest/framebuffer-writes-reach-the-screen",
			test_guest_framebuffer_writes_reach_the_screen);
	return g_test_run();
}

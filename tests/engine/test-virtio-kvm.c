/* The virtio fast paths under KVM: the virtio-blk test guest
 * (tests/guests/virtio-blk.c) drives the engine's virtio-blk with MSI-X
 * interrupts, once with ioeventfd and irqfd (the default) and once with
 * HANGAR_NO_FAST_PATHS=1 (MMIO exits and KVM_SIGNAL_MSI); both must pass,
 * and the sector the guest wrote must be in the image afterwards.  The
 * guest's timing line is passed on as a test message.
 *
 * Which path a notification took is not visible from here: the guest sees
 * the same device either way, and KVM refuses its statistics ioctls from
 * any process but the engine (EIO for a foreign mm).  The registrations
 * themselves are checked in tests/devices/virtio/test-virtio-fast-paths.c. */
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "tests/engine/guest-runner.h"

#define GUEST_TIMEOUT_MS 120000
#define DEBUG_EXIT_PASS 1 /* (0 << 1) | 1 */
#define SECTOR_WORDS 64
#define SECTOR0_MAGIC 0x5649525430000000ull /* as tests/guests/virtio-blk.c */
#define SECTOR1_MAGIC 0x5649525431000000ull
#define IMAGE_SIZE (1 << 20)

static char *make_image(const char *dir)
{
	g_autofree uint8_t *image = g_malloc0(IMAGE_SIZE);
	char *path = g_build_filename(dir, "disk.img", NULL);

	for (unsigned i = 0; i < SECTOR_WORDS; i++) {
		uint64_t word = GUINT64_TO_LE(SECTOR0_MAGIC | i);
		memcpy(image + 8 * i, &word, 8);
	}
	g_assert_true(g_file_set_contents(path, (char *)image, IMAGE_SIZE, NULL));
	return path;
}

static void assert_sector1_written(const char *path)
{
	g_autofree char *image = NULL;
	gsize len;

	g_assert_true(g_file_get_contents(path, &image, &len, NULL));
	g_assert_cmpuint(len, ==, IMAGE_SIZE);
	for (unsigned i = 0; i < SECTOR_WORDS; i++) {
		uint64_t word;
		memcpy(&word, image + 512 + 8 * i, 8);
		g_assert_cmphex(GUINT64_FROM_LE(word), ==, SECTOR1_MAGIC | i);
	}
}

static void run_virtio_blk_guest(bool fast_paths)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("hangar-virtio-kvm-XXXXXX", &error);
	g_autofree char *kernel = guest_path("virtio-blk");
	g_autofree char *image = NULL;
	g_autofree char *drive = NULL;
	const char *timing;
	int status;

	if (!guest_require_kvm())
		return;
	g_assert_no_error(error);
	image = make_image(dir);
	drive = g_strdup_printf("file=%s,if=virtio", image);
	if (!fast_paths)
		g_setenv("HANGAR_NO_FAST_PATHS", "1", TRUE);
	GuestRun *r = guest_run_start("--kernel", kernel, "--debug-exit", "--memory", "64",
				      "--drive", drive, NULL);
	g_unsetenv("HANGAR_NO_FAST_PATHS");
	status = guest_run_wait_exit(r, GUEST_TIMEOUT_MS);
	if (status != DEBUG_EXIT_PASS || !strstr(r->serial->str, "PASS: virtio-blk"))
		g_printerr("guest virtio-blk (fast paths %s): exit %d, serial:\n%s\n",
			   fast_paths ? "on" : "off", status, r->serial->str);
	g_assert_cmpint(status, ==, DEBUG_EXIT_PASS);
	g_assert_nonnull(strstr(r->serial->str, "PASS: virtio-blk"));
	assert_sector1_written(image);
	timing = strstr(r->serial->str, " reads: ");
	if (timing)
		g_test_message("fast paths %s: %.*s", fast_paths ? "on" : "off",
			       (int)strcspn(timing + 1, "\n"), timing + 1);
	guest_run_free(r);
	g_unlink(image);
	g_rmdir(dir);
}

static void test_blk_with_fast_paths(void)
{
	run_virtio_blk_guest(true);
}

static void test_blk_without_fast_paths(void)
{
	run_virtio_blk_guest(false);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/virtio-kvm/blk/works-with-ioeventfd-and-irqfd", test_blk_with_fast_paths);
	g_test_add_func("/virtio-kvm/blk/works-without-fast-paths", test_blk_without_fast_paths);
	return g_test_run();
}

/* A real Linux guest: Debian's kernel and a busybox initramfs, built by
 * tools/build-linux-demo.sh and found through $HANGAR_LINUX_KERNEL and
 * $HANGAR_LINUX_INITRD, booted by the engine through the 64-bit boot
 * protocol.
 *
 * On a software KVM (kvm_pvm) the kernel's supervisor code is emulated
 * instruction by instruction, so only the start of the boot is checked
 * there; the full boot to init runs where KVM is hardware-backed. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/engine/guest-runner.h"
#include "tests/harness/harness.h"

/* The kernel's first line, printed from start_kernel(). */
#define START_KERNEL_MARKER "Linux version"
/* Printed by the demo guest's /init with hangar.test=1. */
#define INIT_MARKER "HANGAR-LINUX-INIT-OK"
#define START_KERNEL_TIMEOUT_MS 300000
#define BOOT_TIMEOUT_MS 120000
#define EXIT_GUEST_RESET 8 /* docs/exit-codes.md */

typedef struct {
	char *kernel;
	char *initrd;
} LinuxImages;

static void linux_images_clear(LinuxImages *img)
{
	g_clear_pointer(&img->kernel, g_free);
	g_clear_pointer(&img->initrd, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(LinuxImages, linux_images_clear)

/* One image from the environment; NULL (and a skip) if it is not there. */
static char *image_from_env(const char *var)
{
	const char *path = g_getenv(var);
	g_autofree char *why = NULL;

	if (!path || !*path)
		why = g_strdup_printf(
		    "$%s is not set: build the demo guest with "
		    "'tools/build-linux-demo.sh DIR' and set "
		    "HANGAR_LINUX_KERNEL=DIR/vmlinuz HANGAR_LINUX_INITRD=DIR/initrd.img "
		    "(meson test --suite linux does both)",
		    var);
	else if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
		why = g_strdup_printf("%s=%s does not exist: build the demo guest with "
				      "'tools/build-linux-demo.sh DIR'",
				      var, path);
	if (why) {
		g_test_skip(why);
		return NULL;
	}
	return g_strdup(path);
}

/* The kernel and initrd, or false after marking the test skipped. */
static bool linux_images(LinuxImages *img)
{
	img->kernel = image_from_env("HANGAR_LINUX_KERNEL");
	if (!img->kernel)
		return false;
	img->initrd = image_from_env("HANGAR_LINUX_INITRD");
	return img->initrd != NULL;
}

static GuestRun *boot_linux(const LinuxImages *img, const char *append, bool no_reboot)
{
	/* NULL-terminated: the last slot stays NULL. */
	const char *args[10] = {"--kernel", img->kernel, "--initrd", img->initrd,
				"--append", append,	 "--memory", "512"};

	if (no_reboot)
		args[8] = "--no-reboot";
	g_test_message("booting %s with initrd %s, command line '%s'", img->kernel, img->initrd,
		       append);
	return guest_run_startv(NULL, args);
}

static char *describe_exit(const GuestRun *r)
{
	if (!r->exited)
		return g_strdup("still running");
	if (WIFEXITED(r->status))
		return g_strdup_printf("exited with status %d", WEXITSTATUS(r->status));
	if (WIFSIGNALED(r->status))
		return g_strdup_printf("killed by signal %d", WTERMSIG(r->status));
	return g_strdup_printf("wait status 0x%x", r->status);
}

static void print_serial(const GuestRun *r, const char *what)
{
	g_autofree char *how = describe_exit(r);

	g_printerr("%s; engine %s; serial output (%zu bytes):\n%s\n", what, how, r->serial->len,
		   r->serial->str);
}

static double seconds_since(gint64 start)
{
	return (g_get_monotonic_time() - start) / 1e6;
}

/* Needs only /dev/kvm: the bzImage loader, boot_params, the 64-bit entry
 * and the UART under a real kernel, up to its first printk. */
static void test_bzimage_reaches_start_kernel(void)
{
	g_auto(LinuxImages) img = {0};

	if (!guest_require_kvm() || !linux_images(&img))
		return;

	gint64 start = g_get_monotonic_time();
	GuestRun *r =
	    boot_linux(&img, "console=ttyS0 earlyprintk=serial,ttyS0,115200 hangar.test=1", false);
	bool seen = guest_run_wait_output(r, START_KERNEL_MARKER, START_KERNEL_TIMEOUT_MS);
	double secs = seconds_since(start);

	if (!seen)
		print_serial(r, r->exited ? "the engine ended before the kernel's first message"
					  : "no 'Linux version' on COM1 in time");
	g_assert_true(seen);
	g_test_message("'%s' on COM1 after %.1f s (%s KVM)", START_KERNEL_MARKER, secs,
		       hg_test_kvm_kind());
	/* Keep the line, for whoever reads the log. */
	const char *line = strstr(r->serial->str, START_KERNEL_MARKER);
	g_test_message("%.*s", (int)strcspn(line, "\r\n"), line);
	guest_run_free(r);
}

/* The whole boot to the initramfs's /init, which resets the machine: the
 * engine, given --no-reboot, then exits with status 8. */
static void test_boots_to_init_and_resets_cleanly(void)
{
	g_auto(LinuxImages) img = {0};

	if (!guest_require_kvm())
		return;
	if (strcmp(hg_test_kvm_kind(), "hardware") != 0) {
		g_test_skip(
		    "needs hardware-backed KVM: /dev/kvm here is kvm_pvm, where a full Linux "
		    "boot takes minutes (FACTS.md)");
		return;
	}
	if (!linux_images(&img))
		return;

	gint64 start = g_get_monotonic_time();
	GuestRun *r = boot_linux(&img, "console=ttyS0 hangar.test=1", true);
	bool seen = guest_run_wait_output(r, INIT_MARKER, BOOT_TIMEOUT_MS);
	int left_ms = BOOT_TIMEOUT_MS - (int)(seconds_since(start) * 1000);
	int status = guest_run_wait_exit(r, MAX(left_ms, 5000));
	double secs = seconds_since(start);

	if (!seen || status != EXIT_GUEST_RESET)
		print_serial(r, seen ? "init ran but the engine did not end with the guest's reset"
				     : "no " INIT_MARKER " on COM1 in time");
	g_assert_true(seen);
	g_assert_cmpint(status, ==, EXIT_GUEST_RESET);
	g_test_message("init reached and the guest reset after %.1f s", secs);
	guest_run_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/linux/bzimage/reaches-start-kernel", test_bzimage_reaches_start_kernel);
	g_test_add_func("/linux/boots-to-init-and-resets-cleanly",
			test_boots_to_init_and_resets_cleanly);
	return g_test_run();
}

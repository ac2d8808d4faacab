/* A real Linux guest: Debian's kernel and a busybox initramfs, built by
 * tools/build-linux-demo.sh and found through $HANGAR_LINUX_KERNEL and
 * $HANGAR_LINUX_INITRD, booted by the engine through the 64-bit boot
 * protocol.
 *
 * On a software KVM (kvm_pvm) the kernel's supervisor code runs in the
 * host's instruction emulator, about a million instructions a second: the
 * kernel's own XZ decompressor, which runs before start_kernel(), then
 * writes about 11 KiB of its 63 MiB output a second, so even the kernel's
 * first message is more than an hour away. There the tests check instead
 * that the decompressor runs and writes exactly what the host's xz makes of
 * the same payload (vmlinux-head.bin, made beside the kernel by the same
 * script); the boot to start_kernel() and to init runs where KVM is
 * hardware-backed. */
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/engine/guest-runner.h"
#include "tests/harness/harness.h"

/* The kernel's first line, printed from start_kernel(). */
#define START_KERNEL_MARKER "Linux version"
/* Printed by the demo guest's /init with hangar.test=1. */
#define INIT_MARKER "HANGAR-LINUX-INIT-OK"
#define START_KERNEL_TIMEOUT_MS 300000
#define BOOT_TIMEOUT_MS 120000
#define EXIT_GUEST_RESET 8 /* docs/exit-codes.md */
/* The decompressor check: how long, how often to look, how much must match
 * (non-zero bytes: the first 2 MiB of vmlinux are mostly zero padding). */
#define DECOMPRESS_TIMEOUT_MS 240000
#define DECOMPRESS_POLL_MS 15000
#define DECOMPRESS_MIN_NONZERO (64 * 1024)
/* The kernel's physical alignment (CONFIG_PHYSICAL_ALIGN): where the
 * decompressor may put its output, KASLR or not. */
#define KERNEL_ALIGN (2u << 20)

#define APPEND_EARLY "console=ttyS0 earlyprintk=serial,ttyS0,115200 hangar.test=1"

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

/* Fail the test with the engine's state and everything COM1 said. The
 * engine is ended first: left running, it would keep the test's output
 * pipes open and the test runner waiting until its timeout. */
static void fail_with_serial(GuestRun *r, const char *what)
{
	guest_run_kill(r);
	g_autofree char *how = describe_exit(r);
	g_printerr("%s; engine %s; serial output (%zu bytes):\n%s\n", what, how, r->serial->len,
		   r->serial->str);
	g_test_fail_printf("%s; engine %s", what, how);
}

static double seconds_since(gint64 start)
{
	return (g_get_monotonic_time() - start) / 1e6;
}

static bool kvm_is_software(void)
{
	return strcmp(hg_test_kvm_kind(), "kvm_pvm") == 0;
}

/* The bound for the kernel's first message. On kvm_pvm the test runs only
 * when $HANGAR_LINUX_START_KERNEL_TIMEOUT (seconds) asks for it. */
static bool start_kernel_timeout(int *timeout_ms)
{
	const char *env = g_getenv("HANGAR_LINUX_START_KERNEL_TIMEOUT");
	guint64 secs;

	if (env && *env) {
		if (!g_ascii_string_to_unsigned(env, 10, 1, G_MAXINT / 1000, &secs, NULL))
			g_error("HANGAR_LINUX_START_KERNEL_TIMEOUT=%s: want seconds", env);
		*timeout_ms = (int)secs * 1000;
		return true;
	}
	*timeout_ms = START_KERNEL_TIMEOUT_MS;
	if (kvm_is_software()) {
		g_test_skip("on kvm_pvm the kernel's XZ decompressor alone takes over an hour "
			    "(measured: about 11 KiB/s of its 63 MiB output); "
			    "/linux/bzimage/runs-the-kernel-decompressor checks the boot path "
			    "here. Set HANGAR_LINUX_START_KERNEL_TIMEOUT=SECONDS to run it anyway");
		return false;
	}
	return true;
}

/* The bzImage loader, boot_params, the 64-bit entry and the UART under a
 * real kernel, up to its first printk. */
static void test_bzimage_reaches_start_kernel(void)
{
	g_auto(LinuxImages) img = {0};
	int timeout_ms;

	if (!guest_require_kvm() || !start_kernel_timeout(&timeout_ms) || !linux_images(&img))
		return;

	gint64 start = g_get_monotonic_time();
	GuestRun *r = boot_linux(&img, APPEND_EARLY, false);
	bool seen = guest_run_wait_output(r, START_KERNEL_MARKER, timeout_ms);
	double secs = seconds_since(start);

	if (!seen) {
		bool exited = r->exited;
		g_autofree char *what = g_strdup_printf(
			exited ? "the engine ended before the kernel's first message (after %.1f s)"
			       : "no '" START_KERNEL_MARKER "' on COM1 within %.0f s",
			secs);
		fail_with_serial(r, what);
	} else {
		const char *line = strstr(r->serial->str, START_KERNEL_MARKER);
		g_test_message("'%s' on COM1 after %.1f s (%s KVM): %.*s", START_KERNEL_MARKER,
			       secs, hg_test_kvm_kind(), (int)strcspn(line, "\r\n"), line);
	}
	guest_run_free(r);
}

/* What the saved guest RAM holds of the decompressor's output. */
typedef struct {
	guint64 addr; /* where the output starts */
	gsize matched; /* bytes equal to the reference from there on */
	gsize nonzero; /* how many of them are not zero */
} DecompressedPrefix;

/* Look for the start of the decompressed kernel (its ELF header) at each
 * possible load address in a saved RAM image, and measure how far it
 * agrees with the reference. */
static DecompressedPrefix find_decompressed_prefix(const char *ram_path, GBytes *reference)
{
	DecompressedPrefix best = {0};
	gsize ref_len;
	const guint8 *ref = g_bytes_get_data(reference, &ref_len);
	int fd = open(ram_path, O_RDONLY | O_CLOEXEC);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpuint(ref_len, >=, 64);
	off_t size = lseek(fd, 0, SEEK_END);
	g_autofree guint8 *buf = g_malloc(ref_len);
	for (off_t at = 0; at + 64 <= size; at += KERNEL_ALIGN) {
		if (pread(fd, buf, 64, at) != 64 || memcmp(buf, ref, 64) != 0)
			continue;
		ssize_t n = pread(fd, buf, ref_len, at);
		DecompressedPrefix p = {.addr = (guint64)at};
		while (n > 0 && p.matched < (gsize)n && buf[p.matched] == ref[p.matched])
			p.nonzero += ref[p.matched++] != 0;
		if (p.nonzero > best.nonzero)
			best = p;
	}
	close(fd);
	return best;
}

/* Read COM1 for ms milliseconds; false if the engine exited meanwhile. */
static bool run_for(GuestRun *r, int ms)
{
	/* A needle that never comes: the wait reads until the bound. */
	guest_run_wait_output(r, "\x01\x02never\x03", ms);
	return !r->exited;
}

static bool control_ok(GuestRun *r, const char *request)
{
	g_autofree char *reply = guest_run_control(r, request);
	if (!strstr(reply, "\"return\"")) {
		g_printerr("control request %s: %s\n", request, reply);
		return false;
	}
	return true;
}

static void remove_saved_state(const char *dir)
{
	g_autofree char *ram = g_build_filename(dir, "ram", NULL);
	g_autofree char *state = g_build_filename(dir, "state", NULL);
	unlink(ram);
	unlink(state);
	rmdir(dir);
}

/* For kvm_pvm, where the kernel's first message is out of reach: the
 * engine loaded the bzImage, entered its 64-bit entry point with usable
 * boot_params, and the kernel's decompressor is writing the kernel. Every
 * DECOMPRESS_POLL_MS the guest is saved (save-state) and its RAM compared
 * with the reference from tools/build-linux-demo.sh. */
static void test_bzimage_runs_the_kernel_decompressor(void)
{
	g_auto(LinuxImages) img = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) reference = NULL;

	if (!guest_require_kvm())
		return;
	if (!kvm_is_software()) {
		g_test_skip("with hardware-backed KVM the decompressor finishes before it can be "
			    "watched; /linux/bzimage/reaches-start-kernel covers it");
		return;
	}
	if (!linux_images(&img))
		return;
	/* Made by tools/build-linux-demo.sh beside the kernel. */
	g_autofree char *kernel_dir = g_path_get_dirname(img.kernel);
	g_autofree char *ref_path = g_build_filename(kernel_dir, "vmlinux-head.bin", NULL);
	g_autofree char *ref_data = NULL;
	gsize ref_len = 0;
	if (!g_file_get_contents(ref_path, &ref_data, &ref_len, &error) || ref_len < 64) {
		g_autofree char *why = g_strdup_printf(
			"no reference for the decompressed kernel (%s): rebuild with "
			"'tools/build-linux-demo.sh DIR'",
			error ? error->message : "empty: the kernel's payload is not xz or gzip");
		g_test_skip(why);
		return;
	}
	reference = g_bytes_new_take(g_steal_pointer(&ref_data), ref_len);

	gint64 start = g_get_monotonic_time();
	GuestRun *r = boot_linux(&img, APPEND_EARLY, false);
	g_autofree char *state_dir = g_build_filename(r->dir, "linux-state", NULL);
	g_assert_null(strpbrk(state_dir, "\"\\"));
	DecompressedPrefix p = {0};

	for (int round = 1;; round++) {
		if (!run_for(r, DECOMPRESS_POLL_MS)) {
			fail_with_serial(r, "the engine ended while the kernel was decompressing");
			break;
		}
		g_autofree char *save = g_strdup_printf("{\"id\": %d, \"execute\": \"save-state\", "
							"\"arguments\": {\"path\": \"%s\"}}",
							round, state_dir);
		if (!control_ok(r, save)) {
			fail_with_serial(r, "save-state failed");
			break;
		}
		g_autofree char *ram = g_build_filename(state_dir, "ram", NULL);
		p = find_decompressed_prefix(ram, reference);
		remove_saved_state(state_dir);
		double secs = seconds_since(start);
		g_test_message("after %.0f s: %zu bytes of the kernel (%zu not zero) at "
			       "%#" G_GINT64_MODIFIER "x",
			       secs, p.matched, p.nonzero, p.addr);
		if (p.nonzero >= DECOMPRESS_MIN_NONZERO)
			break;
		if (secs * 1000 > DECOMPRESS_TIMEOUT_MS) {
			g_autofree char *what = g_strdup_printf(
				"the decompressor wrote only %zu non-zero bytes of the kernel in "
				"%.0f s (want %u)",
				p.nonzero, secs, DECOMPRESS_MIN_NONZERO);
			fail_with_serial(r, what);
			break;
		}
		g_autofree char *cont =
			g_strdup_printf("{\"id\": %d, \"execute\": \"cont\"}", round);
		if (!control_ok(r, cont)) {
			fail_with_serial(r, "cont failed");
			break;
		}
	}
	guest_run_free(r);
}

/* The whole boot to the initramfs's /init, which resets the machine: the
 * engine, given --no-reboot, then exits with status 8. */
static void test_boots_to_init_and_resets_cleanly(void)
{
	g_auto(LinuxImages) img = {0};

	if (!guest_require_kvm())
		return;
	if (kvm_is_software()) {
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

	if (!seen)
		fail_with_serial(r, "no " INIT_MARKER " on COM1 in time");
	else if (status != EXIT_GUEST_RESET)
		fail_with_serial(r, "init ran, but the engine did not exit with status 8 "
				    "(guest reset under --no-reboot)");
	else
		g_test_message("init reached and the guest reset after %.1f s", secs);
	guest_run_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/linux/bzimage/reaches-start-kernel", test_bzimage_reaches_start_kernel);
	g_test_add_func("/linux/bzimage/runs-the-kernel-decompressor",
			test_bzimage_runs_the_kernel_decompressor);
	g_test_add_func("/linux/boots-to-init-and-resets-cleanly",
			test_boots_to_init_and_resets_cleanly);
	return g_test_run();
}

/* Real VNC and SPICE clients against real firmware on the engine (issue 4's
 * acceptance): SeaBIOS's POST text and a GRUB menu captured by gvnccapture
 * (package gvncviewer) and spicy-screenshot (spice-client-gtk) equal the
 * engine's own screendump, taken while the guest is paused; and keys sent
 * over VNC (QEMU extended key events) and over SPICE (spice-client-glib's
 * inputs channel) move the GRUB menu's selection and boot the second entry,
 * which prints its marker on COM1 and powers off through ACPI.
 *
 * The GRUB menu ISO is tests/boot/make-grub-menu-iso.sh's: the menu is drawn
 * on the VGA text console and on COM1, so the test knows when it is up.
 * Waits are bounded polls, never fixed sleeps. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_SPICE_CLIENT_GLIB
#include <spice-client.h>
#endif

#include "tests/devices/display/png-image.h"
#include "tests/engine/guest-runner.h"
#include "tests/harness/harness.h"

#define BOOT_TIMEOUT_MS 120000
#define GRUB_TIMEOUT_MS 300000
#define WAIT_MS 30000
/* How long a key may take before the test gives up: a guard against a
 * hang, not a speed check (timings are reported, not asserted).  Measured
 * under kvm_pvm: Down moves the highlight within 0.2 s and Enter's marker
 * follows 1.1-4.0 s later.  While KVM reinjected lost PIT ticks (its
 * default; the engine turns that off under kvm_pvm, engine/kvm.c) the
 * backlog of IRQ 0 held the keyboard's IRQ 1 back for 10-60 s;
 * tests/guests/pit-lost-ticks.c checks the setting itself. */
#define KEY_RESPONSE_MS 120000
#define PASSWORD "secret"

#define KEYSYM_DOWN 0xff54
#define KEYSYM_RETURN 0xff0d
#define QNUM_DOWN 0xd0 /* E0 50 */
#define QNUM_ENTER 0x1c

/* ---- the machine ---- */

typedef struct {
	GuestRun *r;
	char *dir;
	int vnc_port;
	char *vnc_sock, *spice_sock;
} Vm;

static char *boot_image(const char *name)
{
	const char *dir = g_getenv("HANGAR_BOOT_IMAGES");
	g_assert_nonnull(dir);
	return g_build_filename(dir, name, NULL);
}

static bool require_seabios(void)
{
	if (!guest_require_kvm())
		return false;
	if (!g_file_test("/usr/share/seabios/bios-256k.bin", G_FILE_TEST_EXISTS)) {
		g_test_skip("needs Debian's seabios package (/usr/share/seabios/bios-256k.bin)");
		return false;
	}
	return true;
}

static bool require_program(const char *program, const char *package)
{
	g_autofree char *path = g_find_program_in_path(program);
	if (path)
		return true;
	g_autofree char *why = g_strdup_printf("%s is not installed (package %s)", program, package);
	g_test_skip(why);
	return false;
}

/* The engine with COM1, the control socket, VNC (unix socket, and TCP with
 * a password for gvnccapture) and SPICE (unix socket), plus extra. */
static Vm *vm_start(const char *const *extra)
{
	Vm *vm = g_new0(Vm, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);

	vm->dir = g_dir_make_tmp("hangar-clients-XXXXXX", &error);
	g_assert_no_error(error);
	g_autofree char *password_file = g_build_filename(vm->dir, "password", NULL);
	g_file_set_contents(password_file, PASSWORD "\n", -1, &error);
	g_assert_no_error(error);
	vm->vnc_port = hg_test_free_tcp_port();
	vm->vnc_sock = g_build_filename(vm->dir, "vnc.sock", NULL);
	vm->spice_sock = g_build_filename(vm->dir, "spice.sock", NULL);
	g_ptr_array_add(args, g_strdup_printf("--vnc=%s", vm->vnc_sock));
	g_ptr_array_add(args, g_strdup_printf("--vnc-tcp=127.0.0.1:%d", vm->vnc_port));
	g_ptr_array_add(args, g_strdup_printf("--vnc-password-file=%s", password_file));
	g_ptr_array_add(args, g_strdup_printf("--spice=%s", vm->spice_sock));
	for (const char *const *a = extra; *a; a++)
		g_ptr_array_add(args, g_strdup(*a));
	g_ptr_array_add(args, NULL);
	vm->r = guest_run_startv(vm->dir, (const char *const *)args->pdata);
	return vm;
}

static void vm_free(Vm *vm)
{
	guest_run_free(vm->r);
	hg_test_remove_tree(vm->dir);
	g_free(vm->dir);
	g_free(vm->vnc_sock);
	g_free(vm->spice_sock);
	g_free(vm);
}

static void vm_control(Vm *vm, const char *request)
{
	g_autofree char *reply = guest_run_control(vm->r, request);
	if (!strstr(reply, "\"return\""))
		g_error("%s: %s", request, reply);
}

static Image *screendump(Vm *vm, const char *name)
{
	g_autofree char *path = g_build_filename(vm->dir, name, NULL);
	g_autofree char *request = g_strdup_printf(
		"{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"%s\"}}", path);
	vm_control(vm, request);
	return image_load_png(path);
}

static bool image_is_black(const Image *im)
{
	for (size_t i = 0; i < (size_t)im->width * im->height; i++)
		if (im->pixels[i])
			return false;
	return true;
}

static bool images_equal(const Image *a, const Image *b)
{
	return a->width == b->width && a->height == b->height &&
	       memcmp(a->pixels, b->pixels, (size_t)a->width * a->height * 4) == 0;
}

/* Pixel rows y0 to y1 - 1 of two same-sized pictures. */
static bool rows_equal(const Image *a, const Image *b, int y0, int y1)
{
	if (a->width != b->width || a->height != b->height || a->height < y1)
		return false;
	return memcmp(a->pixels + (size_t)y0 * a->width, b->pixels + (size_t)y0 * b->width,
		      (size_t)(y1 - y0) * a->width * 4) == 0;
}

static char *describe_difference(const Image *a, const Image *b)
{
	if (a->width != b->width || a->height != b->height)
		return g_strdup_printf("%dx%d against %dx%d", a->width, a->height, b->width,
				       b->height);
	int x0 = a->width, y0 = a->height, x1 = -1, y1 = -1;
	unsigned n = 0;
	uint32_t pa = 0, pb = 0;
	for (int y = 0; y < a->height; y++)
		for (int x = 0; x < a->width; x++) {
			size_t i = (size_t)y * a->width + x;
			if (a->pixels[i] == b->pixels[i])
				continue;
			if (!n) {
				pa = a->pixels[i];
				pb = b->pixels[i];
			}
			n++;
			x0 = MIN(x0, x);
			y0 = MIN(y0, y);
			x1 = MAX(x1, x);
			y1 = MAX(y1, y);
		}
	return g_strdup_printf("%u pixels differ within (%d,%d)-(%d,%d), first %06x against %06x",
			       n, x0, y0, x1, y1, pa, pb);
}

/* Poll screendumps until the VGA shows text mode 3 (720x400) with
 * something on it. */
static Image *wait_for_text_screen(Vm *vm, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		Image *im = screendump(vm, "poll.png");
		if (im->width == 720 && im->height == 400 && !image_is_black(im))
			return im;
		image_free(im);
		if (g_get_monotonic_time() > deadline)
			g_error("no text on the screen after %d ms; COM1 shows:\n%s", timeout_ms,
				vm->r->serial->str);
		g_usleep(100000);
	}
}

/* ---- gvnccapture: TCP with the password on its terminal ---- */

static void child_on_pty(gpointer data)
{
	setsid();
	int fd = open(ptsname(GPOINTER_TO_INT(data)), O_RDWR);
	dup2(fd, 0);
	dup2(fd, 1);
	close(fd);
}

static Image *vnc_capture(Vm *vm, const char *name)
{
	g_autofree char *program = g_find_program_in_path("gvnccapture");
	g_autofree char *png = g_build_filename(vm->dir, name, NULL);
	g_autofree char *display = g_strdup_printf("127.0.0.1:%d", vm->vnc_port - 5900);
	const char *argv[] = {program, display, png, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) output = g_string_new(NULL);
	GPid pid;
	int status = -1;
	bool exited = false;

	g_assert_cmpint(vm->vnc_port, >, 5900);
	g_unlink(png);
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	g_assert_cmpint(master, >=, 0);
	g_assert_cmpint(grantpt(master), ==, 0);
	g_assert_cmpint(unlockpt(master), ==, 0);
	g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_on_pty,
		      GINT_TO_POINTER(master), &pid, &error);
	g_assert_no_error(error);

	gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
	while (g_get_monotonic_time() < deadline) {
		struct pollfd p = {.fd = master, .events = POLLIN};
		char buf[512];
		if (poll(&p, 1, 200) > 0) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n > 0)
				g_string_append_len(output, buf, n);
		}
		/* It flushes its terminal's input before reading: repeat. */
		if (strstr(output->str, "Password:") && !strstr(output->str, "Connected"))
			g_assert_cmpint(write(master, PASSWORD "\n", 7), ==, 7);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			break;
		}
	}
	close(master);
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		g_error("gvnccapture did not finish; it printed:\n%s", output->str);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_error("gvnccapture failed (status %d):\n%s", status, output->str);
	return image_load_png(png);
}

/* ---- spicy-screenshot over the unix socket ---- */

static Image *spice_capture(Vm *vm, const char *name)
{
	g_autofree char *ppm = g_build_filename(vm->dir, name, NULL);
	g_autofree char *uri_arg = g_strdup_printf("--uri=spice+unix://%s", vm->spice_sock);
	g_autofree char *out_arg = g_strdup_printf("--out-file=%s", ppm);
	const char *argv[] = {"timeout", "60", "spicy-screenshot", uri_arg, out_arg, NULL};
	g_autoptr(GError) error = NULL;
	g_autofree char *err = NULL;
	g_autofree char *data = NULL;
	int status, width, height, maxval, consumed = 0;
	gsize len;

	g_unlink(ppm);
	g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
		     NULL, NULL, NULL, &err, &status, &error);
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("spicy-screenshot failed (status %d): %s", status, err);
	g_assert_true(g_file_get_contents(ppm, &data, &len, NULL));
	g_assert_cmpint(sscanf(data, "P6 %d %d %d%n", &width, &height, &maxval, &consumed), ==, 3);
	g_assert_cmpint(maxval, ==, 255);
	consumed++; /* the one whitespace byte after maxval */
	g_assert_cmpuint(len - consumed, ==, (gsize)width * height * 3);

	Image *im = g_new0(Image, 1);
	const guint8 *rgb = (const guint8 *)data + consumed;
	im->width = width;
	im->height = height;
	im->pixels = g_new(uint32_t, (size_t)width * height);
	for (size_t i = 0; i < (size_t)width * height; i++)
		im->pixels[i] = rgb[3 * i] << 16 | rgb[3 * i + 1] << 8 | rgb[3 * i + 2];
	return im;
}

typedef Image *(*CaptureFn)(Vm *vm, const char *name);

/* Pause the guest and compare the client's capture with screendumps taken
 * just before and after it: the text cursor blinks by the clock even while
 * the guest is paused, so the capture must equal one of the two (a try
 * where the cursor flipped twice is repeated).  Leaves the guest paused;
 * returns the matching picture. */
static Image *assert_capture_matches_screendump(Vm *vm, CaptureFn capture, const char *client)
{
	g_autofree char *last = NULL;

	vm_control(vm, "{\"execute\":\"stop\"}");
	for (int attempt = 0; attempt < 5; attempt++) {
		Image *before = screendump(vm, "before.png");
		Image *shot = capture(vm, "capture");
		Image *after = screendump(vm, "after.png");
		bool same = images_equal(shot, before) || images_equal(shot, after);
		g_free(last);
		last = describe_difference(shot, before);
		image_free(before);
		image_free(after);
		if (same) {
			g_test_message("%s capture equals screendump (%dx%d), try %d", client,
				       shot->width, shot->height, attempt + 1);
			return shot;
		}
		image_free(shot);
	}
	g_error("%s's capture never equalled the screendump: %s", client, last);
	return NULL;
}

/* ---- SeaBIOS POST ---- */

static void post_matches_screendump(CaptureFn capture, const char *client)
{
	g_autofree char *disk = boot_image("disk-a.img");
	g_autofree char *drive = g_strdup_printf("file=%s,if=virtio", disk);
	/* The boot menu prompt holds the POST screen still for a minute. */
	const char *extra[] = {"--memory", "128", "--drive", drive,
			       "--boot-menu", "--boot-menu-wait", "60000", NULL};
	Vm *vm = vm_start(extra);

	if (!guest_run_wait_output(vm->r, "Press ESC for boot menu", BOOT_TIMEOUT_MS))
		g_error("SeaBIOS did not reach its boot menu prompt; COM1 shows:\n%s",
			vm->r->serial->str);
	g_autoptr(Image) text = wait_for_text_screen(vm, WAIT_MS);
	g_autoptr(Image) shot = assert_capture_matches_screendump(vm, capture, client);
	g_assert_cmpint(shot->width, ==, 720);
	g_assert_cmpint(shot->height, ==, 400);
	/* The banner's line is lit, light grey on black. */
	unsigned lit = 0;
	for (int x = 0; x < 720; x++)
		for (int y = 0; y < 16; y++)
			lit += image_pixel(shot, x, y) == 0xaaaaaa;
	g_assert_cmpuint(lit, >, 200);
	vm_control(vm, "{\"execute\":\"quit\"}");
	g_assert_cmpint(guest_run_wait_exit(vm->r, WAIT_MS), ==, 0);
	vm_free(vm);
}

static void test_vnc_seabios_post_matches_screendump(void)
{
	if (!require_seabios() || !require_program("gvnccapture", "gvncviewer"))
		return;
	post_matches_screendump(vnc_capture, "gvnccapture");
}

static void test_spice_seabios_post_matches_screendump(void)
{
	if (!require_seabios() || !require_program("spicy-screenshot", "spice-client-gtk"))
		return;
	post_matches_screendump(spice_capture, "spicy-screenshot");
}

/* ---- the GRUB menu ---- */

typedef struct {
	void *(*connect)(Vm *vm);
	void (*key)(void *client, bool down, unsigned scancode);
	void (*disconnect)(void *client);
} KeySender;

static void press(const KeySender *ks, void *client, unsigned scancode)
{
	ks->key(client, true, scancode);
	ks->key(client, false, scancode);
}

/* Boot the menu ISO from the AHCI CD-ROM; once the menu is up, the client's
 * capture equals screendump; Down moves the highlight (the screen changes)
 * and Enter boots entry two. */
static void grub_menu_follows_keys(CaptureFn capture, const char *client, const KeySender *ks)
{
	g_autofree char *iso = boot_image("grub-menu.iso");
	g_autofree char *drive = g_strdup_printf("file=%s,media=cdrom", iso);
	const char *extra[] = {"--memory", "256", "--drive", drive, NULL};
	gint64 start = g_get_monotonic_time();
	Vm *vm = vm_start(extra);

	/* GRUB draws the menu on COM1 too; the help line comes after the
	 * entries. */
	if (!guest_run_wait_output(vm->r, "Hangar entry two", GRUB_TIMEOUT_MS) ||
	    !guest_run_wait_output(vm->r, "is highlighted", WAIT_MS))
		g_error("no GRUB menu on COM1; it shows:\n%s", vm->r->serial->str);
	g_test_message("GRUB menu up after %.1f s",
		       (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC);
	g_autoptr(Image) text = wait_for_text_screen(vm, WAIT_MS);
	g_autoptr(Image) menu = assert_capture_matches_screendump(vm, capture, client);
	g_assert_cmpint(menu->width, ==, 720);
	g_assert_cmpint(menu->height, ==, 400);
	vm_control(vm, "{\"execute\":\"cont\"}");

	void *c = ks->connect(vm);
	press(ks, c, QNUM_DOWN);
	gint64 down = g_get_monotonic_time();
	/* The highlight moves: the entries' text rows (5 and 6 from 1,
	 * 16 pixels each) change. */
	gint64 deadline = down + (gint64)KEY_RESPONSE_MS * 1000;
	for (;;) {
		g_autoptr(Image) now = screendump(vm, "poll.png");
		if (!rows_equal(now, menu, 4 * 16, 6 * 16))
			break;
		if (g_get_monotonic_time() > deadline)
			g_error("Down over %s did not change the screen within %d ms; COM1 shows:\n%s",
				client, KEY_RESPONSE_MS, vm->r->serial->str);
		g_usleep(100000);
	}
	g_test_message("the highlight moved %.1f s after Down",
		       (double)(g_get_monotonic_time() - down) / G_USEC_PER_SEC);
	press(ks, c, QNUM_ENTER);
	gint64 enter = g_get_monotonic_time();
	if (!guest_run_wait_output(vm->r, "HANGAR-GRUB-ENTRY-2", KEY_RESPONSE_MS) ||
	    strstr(vm->r->serial->str, "HANGAR-GRUB-ENTRY-1"))
		g_error("Down, Enter over %s did not boot entry two within %d ms; COM1 shows:\n%s",
			client, KEY_RESPONSE_MS, vm->r->serial->str);
	g_test_message("entry two's marker %.1f s after Enter",
		       (double)(g_get_monotonic_time() - enter) / G_USEC_PER_SEC);
	ks->disconnect(c);
	int status = guest_run_wait_exit(vm->r, WAIT_MS);
	if (status != 0)
		g_error("expected an ACPI power-off (exit 0), got %d; COM1 shows:\n%s", status,
			vm->r->serial->str);
	g_test_message("entry two powered off after %.1f s",
		       (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC);
	vm_free(vm);
}

/* A minimal RFB client on the unix socket (no authentication) that sends
 * QEMU extended key events. */
static void rfb_read(int fd, void *buf, size_t len)
{
	g_assert_cmpuint(hg_test_read_fd(fd, buf, len, WAIT_MS), ==, len);
}

static void rfb_write(int fd, const void *buf, size_t len)
{
	g_assert_cmpint(write(fd, buf, len), ==, (ssize_t)len);
}

static void *vnc_keys_connect(Vm *vm)
{
	int fd = hg_test_connect_unix(vm->vnc_sock);
	char version[13] = {0};
	uint8_t n, types[16], none = 1, shared = 1, init[24], result[4];

	rfb_read(fd, version, 12);
	g_assert_cmpstr(version, ==, "RFB 003.008\n");
	rfb_write(fd, "RFB 003.008\n", 12);
	rfb_read(fd, &n, 1);
	g_assert_cmpuint(n, >, 0);
	g_assert_cmpuint(n, <=, sizeof(types));
	rfb_read(fd, types, n);
	g_assert_nonnull(memchr(types, 1, n));
	rfb_write(fd, &none, 1);
	rfb_read(fd, result, 4);
	g_assert_cmpmem(result, 4, "\0\0\0\0", 4);
	rfb_write(fd, &shared, 1);
	rfb_read(fd, init, sizeof(init)); /* size, pixel format, name length */
	uint32_t name_len = (uint32_t)init[20] << 24 | init[21] << 16 | init[22] << 8 | init[23];
	g_assert_cmpuint(name_len, <, 1024);
	g_autofree char *name = g_malloc(name_len + 1);
	rfb_read(fd, name, name_len);
	/* SetEncodings: Raw and the QEMU extended key event (-258). */
	const uint8_t encodings[] = {2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfe};
	rfb_write(fd, encodings, sizeof(encodings));
	return GINT_TO_POINTER(fd + 1);
}

static void vnc_key(void *client, bool down, unsigned scancode)
{
	int fd = GPOINTER_TO_INT(client) - 1;
	uint32_t keysym = scancode == QNUM_DOWN ? KEYSYM_DOWN : KEYSYM_RETURN;
	uint8_t msg[12] = {255, 0, 0, down,
			   keysym >> 24, keysym >> 16, keysym >> 8, keysym,
			   0, 0, 0, scancode};
	rfb_write(fd, msg, sizeof(msg));
}

static void vnc_keys_disconnect(void *client)
{
	close(GPOINTER_TO_INT(client) - 1);
}

static const KeySender vnc_keys = {vnc_keys_connect, vnc_key, vnc_keys_disconnect};

static void test_vnc_keys_move_the_grub_menu(void)
{
	if (!require_seabios() || !require_program("gvnccapture", "gvncviewer"))
		return;
	grub_menu_follows_keys(vnc_capture, "gvnccapture", &vnc_keys);
}

#ifdef HAVE_SPICE_CLIENT_GLIB
/* A spice-client-glib session; keys go through its inputs channel as PC
 * scancodes (0x100 | code for the E0 ones). */
typedef struct {
	SpiceSession *session;
	SpiceInputsChannel *inputs;
	bool inputs_open;
} SpiceKeys;

static void spice_on_channel_event(SpiceChannel *channel, SpiceChannelEvent event, SpiceKeys *k)
{
	if (SPICE_IS_INPUTS_CHANNEL(channel))
		k->inputs_open = event == SPICE_CHANNEL_OPENED;
}

static void spice_on_channel_new(SpiceSession *session, SpiceChannel *channel, SpiceKeys *k)
{
	g_signal_connect(channel, "channel-event", G_CALLBACK(spice_on_channel_event), k);
	if (SPICE_IS_INPUTS_CHANNEL(channel))
		k->inputs = SPICE_INPUTS_CHANNEL(channel);
	spice_channel_connect(channel);
}

static gboolean wake_up(gpointer data)
{
	return G_SOURCE_CONTINUE;
}

static void spice_iterate(SpiceKeys *k, bool (*done)(SpiceKeys *), int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	guint tick = g_timeout_add(10, wake_up, NULL);

	while (!(done && done(k)) && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(tick);
}

static bool spice_inputs_ready(SpiceKeys *k)
{
	return k->inputs && k->inputs_open;
}

static void *spice_keys_connect(Vm *vm)
{
	SpiceKeys *k = g_new0(SpiceKeys, 1);

	k->session = spice_session_new();
	g_signal_connect(k->session, "channel-new", G_CALLBACK(spice_on_channel_new), k);
	g_object_set(k->session, "unix-path", vm->spice_sock, NULL);
	g_assert_true(spice_session_connect(k->session));
	spice_iterate(k, spice_inputs_ready, WAIT_MS);
	if (!spice_inputs_ready(k))
		g_error("the SPICE inputs channel did not open");
	return k;
}

static void spice_key(void *client, bool down, unsigned scancode)
{
	SpiceKeys *k = client;
	guint code = scancode == QNUM_DOWN ? 0x150 : scancode;

	if (down)
		spice_inputs_channel_key_press(k->inputs, code);
	else
		spice_inputs_channel_key_release(k->inputs, code);
	/* Let the channel send it now. */
	spice_iterate(k, NULL, 50);
}

static void spice_keys_disconnect(void *client)
{
	SpiceKeys *k = client;

	spice_session_disconnect(k->session);
	for (int i = 0; i < 50; i++)
		g_main_context_iteration(NULL, FALSE);
	g_object_unref(k->session);
	g_free(k);
}

static const KeySender spice_keys = {spice_keys_connect, spice_key, spice_keys_disconnect};
#endif

static void test_spice_keys_move_the_grub_menu(void)
{
#ifdef HAVE_SPICE_CLIENT_GLIB
	if (!require_seabios() || !require_program("spicy-screenshot", "spice-client-gtk"))
		return;
	grub_menu_follows_keys(spice_capture, "spicy-screenshot", &spice_keys);
#else
	g_test_skip("built without spice-client-glib (libspice-client-glib-2.0-dev)");
#endif
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/clients/vnc/seabios-post-matches-screendump",
			test_vnc_seabios_post_matches_screendump);
	g_test_add_func("/clients/spice/seabios-post-matches-screendump",
			test_spice_seabios_post_matches_screendump);
	g_test_add_func("/clients/vnc/keys-move-the-grub-menu", test_vnc_keys_move_the_grub_menu);
	g_test_add_func("/clients/spice/keys-move-the-grub-menu",
			test_spice_keys_move_the_grub_menu);
	return g_test_run();
}

/* The small platform ports: isa-debug-exit (0xf4), the 0x402 debug console,
 * the i8042 reset line and port 0x92, and what an unclaimed port reads. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"

static int run_until_exit(const char *port_request, const char *const *extra)
{
	const char *engine = g_getenv("HANGAR_ENGINE");
	g_autofree char *dir = g_dir_make_tmp("hangar-ports-XXXXXX", NULL);
	g_autofree char *sock = g_build_filename(dir, "h.sock", NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	GPid pid;
	int status;

	g_ptr_array_add(argv, (char *)engine);
	g_ptr_array_add(argv, "--test-harness");
	g_ptr_array_add(argv, sock);
	for (; extra && *extra; extra++)
		g_ptr_array_add(argv, (char *)*extra);
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
				    NULL, NULL, &pid, NULL));
	int fd = hg_test_connect_unix(sock);
	g_autofree char *line = g_strconcat(port_request, "\n", NULL);
	g_assert_cmpint(write(fd, line, strlen(line)), ==, (ssize_t)strlen(line));
	/* The engine exits on its own; the harness socket then closes. */
	char buf[256];
	while (hg_test_read_fd(fd, buf, sizeof(buf), 10000) > 0)
		;
	close(fd);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_unlink(sock);
	g_rmdir(dir);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_debug_exit_status_is_value_shifted_or_one(void)
{
	const char *extra[] = {"--debug-exit", NULL};
	g_assert_cmpint(run_until_exit("outb 0xf4 0x00", extra), ==, 1);
	g_assert_cmpint(run_until_exit("outb 0xf4 0x02", extra), ==, 5);
	g_assert_cmpint(run_until_exit("outl 0xf4 0x21", extra), ==, 0x43);
}

static void test_debug_exit_is_absent_without_the_option(void)
{
	HgTest *t = hg_test_startv(NULL);
	hg_test_outb(t, 0xf4, 0x02);
	g_assert_cmphex(hg_test_inb(t, 0xf4), ==, 0xff);
	hg_test_quit(t);
}

static void test_debugcon_reads_e9_and_passes_bytes_on(void)
{
	HgTest *t = hg_test_start("--debugcon", "file:@DIR@/debugcon.txt", NULL);
	g_autofree char *path = g_build_filename(hg_test_dir(t), "debugcon.txt", NULL);
	g_autofree char *text = NULL;
	g_assert_cmphex(hg_test_inb(t, 0x402), ==, 0xe9);
	for (const char *p = "firmware says hi\n"; *p; p++)
		hg_test_outb(t, 0x402, *p);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "firmware says hi\n");
	hg_test_quit(t);
}

static void test_i8042_pulse_reset_exits_with_no_reboot(void)
{
	const char *extra[] = {"--no-reboot", NULL};
	g_assert_cmpint(run_until_exit("outb 0x64 0xfe", extra), ==, 8);
}

static void test_port_92_reset_exits_with_no_reboot(void)
{
	const char *extra[] = {"--no-reboot", NULL};
	g_assert_cmpint(run_until_exit("outb 0x92 0x03", extra), ==, 8);
}

static void test_i8042_reset_without_no_reboot_resets_devices(void)
{
	HgTest *t = hg_test_start("--serial", "none", NULL);
	hg_test_outb(t, 0x3f9, 0x0f); /* COM1 IER: reset clears it (the scratch register keeps) */
	g_assert_cmphex(hg_test_inb(t, 0x3f9), ==, 0x0f);
	hg_test_outb(t, 0x64, 0xfe);
	/* The reset runs from the main loop, between harness requests. */
	for (int i = 0; i < 100 && hg_test_inb(t, 0x3f9) != 0; i++)
		g_usleep(10000);
	g_assert_cmphex(hg_test_inb(t, 0x3f9), ==, 0);
	hg_test_quit(t);
}

static void test_i8042_status_says_ready(void)
{
	HgTest *t = hg_test_startv(NULL);
	uint8_t status = hg_test_inb(t, 0x64);
	g_assert_cmphex(status & 0x03, ==, 0); /* no output waiting, input buffer empty */
	hg_test_outb(t, 0x92, 0x02);
	g_assert_cmphex(hg_test_inb(t, 0x92), ==, 0x02);
	hg_test_quit(t);
}

static void test_unclaimed_ports_read_all_ones(void)
{
	HgTest *t = hg_test_startv(NULL);
	g_assert_cmphex(hg_test_inb(t, 0x200), ==, 0xff);
	g_assert_cmphex(hg_test_inw(t, 0x200), ==, 0xffff);
	g_assert_cmphex(hg_test_inl(t, 0xcfc), ==, 0xffffffff);
	hg_test_outl(t, 0x200, 0x12345678); /* dropped, harmlessly */
	hg_test_quit(t);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/debug-exit/status-is-value-shifted-or-one",
			test_debug_exit_status_is_value_shifted_or_one);
	g_test_add_func("/debug-exit/absent-without-the-option",
			test_debug_exit_is_absent_without_the_option);
	g_test_add_func("/debugcon/reads-e9-and-passes-bytes-on",
			test_debugcon_reads_e9_and_passes_bytes_on);
	g_test_add_func("/i8042/pulse-reset-exits-with-no-reboot",
			test_i8042_pulse_reset_exits_with_no_reboot);
	g_test_add_func("/i8042/port-92-reset-exits-with-no-reboot",
			test_port_92_reset_exits_with_no_reboot);
	g_test_add_func("/i8042/reset-without-no-reboot-resets-devices",
			test_i8042_reset_without_no_reboot_resets_devices);
	g_test_add_func("/i8042/status-says-ready", test_i8042_status_says_ready);
	g_test_add_func("/isa/unclaimed-ports-read-all-ones", test_unclaimed_ports_read_all_ones);
	return g_test_run();
}

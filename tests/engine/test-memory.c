/* Guest RAM layout through the harness: low RAM up to the PCI hole at
 * 3 GiB, the rest above 4 GiB, and no RAM in between. */
#include <signal.h>

#include "tests/harness/harness.h"

#define GIB (1ULL << 30)

static void test_small_ram_is_all_low(void)
{
	HgTest *t = hg_test_start("--memory", "64", NULL);
	hg_test_writeq(t, 64 * 1024 * 1024 - 8, 0x1122334455667788ULL);
	g_assert_cmphex(hg_test_readq(t, 64 * 1024 * 1024 - 8), ==, 0x1122334455667788ULL);
	g_autofree char *r = hg_test_request(t, "memread 0x%x 16", 64 * 1024 * 1024 - 8);
	g_assert_true(g_str_has_prefix(r, "ERR"));
	hg_test_quit(t);
}

static void test_vga_window_is_not_ram(void)
{
	HgTest *t = hg_test_start("--memory", "64", NULL);
	hg_test_writel(t, 0x9fffc, 0x11111111);
	hg_test_writel(t, 0xc0000, 0x22222222);
	g_assert_cmphex(hg_test_readl(t, 0x9fffc), ==, 0x11111111);
	g_assert_cmphex(hg_test_readl(t, 0xc0000), ==, 0x22222222);
	/* The window is the display device's (MMIO), not guest RAM. */
	g_autofree char *r1 = hg_test_request(t, "memread 0xa0000 4");
	g_assert_true(g_str_has_prefix(r1, "ERR"));
	g_autofree char *r2 = hg_test_request(t, "memread 0xbfffc 4");
	g_assert_true(g_str_has_prefix(r2, "ERR"));
	g_autofree char *r = hg_test_request(t, "memread 0x9fffc 8");
	g_assert_true(g_str_has_prefix(r, "ERR")); /* runs into the window */
	hg_test_quit(t);
}

static void test_ram_beyond_3g_continues_above_4g(void)
{
	/* 5 GiB: 3 GiB low, 2 GiB from 4 GiB up.  Untouched pages cost nothing. */
	HgTest *t = hg_test_start("--memory", "5120", NULL);
	hg_test_writel(t, 3 * GIB - 4, 0xaabbccdd);
	g_assert_cmphex(hg_test_readl(t, 3 * GIB - 4), ==, 0xaabbccdd);
	hg_test_writel(t, 4 * GIB, 0x01020304);
	g_assert_cmphex(hg_test_readl(t, 4 * GIB), ==, 0x01020304);
	hg_test_writel(t, 6 * GIB - 4, 0x05060708);
	g_assert_cmphex(hg_test_readl(t, 6 * GIB - 4), ==, 0x05060708);
	/* The PCI hole and past the end are not RAM: reads float high. */
	g_assert_cmphex(hg_test_readl(t, 3 * GIB + 0x1000), ==, 0xffffffff);
	g_assert_cmphex(hg_test_readl(t, 6 * GIB), ==, 0xffffffff);
	g_autofree char *r = hg_test_request(t, "memread 0x%llx 8", 3 * GIB - 4);
	g_assert_true(g_str_has_prefix(r, "ERR")); /* straddles the hole */
	hg_test_quit(t);
}

static void test_high_ram_survives_save_and_restore(void)
{
	HgTest *t = hg_test_start("--memory", "4608", NULL);
	g_autofree char *dir = g_build_filename(hg_test_dir(t), "saved", NULL);
	hg_test_writeq(t, 4 * GIB + 0x12340, 0xdeadbeefcafef00dULL);
	hg_test_writeq(t, 0x500000, 0x0123456789abcdefULL);
	hg_test_save(t, dir);
	HgTest *r = hg_test_start("--restore", dir, NULL);
	g_assert_cmphex(hg_test_readq(r, 4 * GIB + 0x12340), ==, 0xdeadbeefcafef00dULL);
	g_assert_cmphex(hg_test_readq(r, 0x500000), ==, 0x0123456789abcdefULL);
	/* A restored machine writes to its private copy, never the saved file. */
	hg_test_writeq(r, 0x500000, 0);
	hg_test_quit(r);
	HgTest *again = hg_test_start("--restore", dir, NULL);
	g_assert_cmphex(hg_test_readq(again, 0x500000), ==, 0x0123456789abcdefULL);
	hg_test_quit(again);
	hg_test_quit(t);
}

static void test_harness_rejects_malformed_requests(void)
{
	const char *bad[] = {"outb", "outb 0x3f8", "outb 0x10000 1", "inb zz", "readq",
			     "memread 0 99999999", "memwrite 0 abc", "memwrite 0 zz",
			     "memset 0 1", "irq_get 99", "frobnicate", "writeq 0x1000 -"};
	HgTest *t = hg_test_startv(NULL);
	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *r = hg_test_request(t, "%s", bad[i]);
		if (!g_str_has_prefix(r, "ERR"))
			g_error("\"%s\" answered \"%s\"", bad[i], r);
	}
	g_autofree char *ok = hg_test_request(t, "clock_get");
	g_assert_true(g_str_has_prefix(ok, "OK"));
	hg_test_quit(t);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/memory/small-ram-is-all-low", test_small_ram_is_all_low);
	g_test_add_func("/memory/vga-window-is-not-ram", test_vga_window_is_not_ram);
	g_test_add_func("/memory/ram-beyond-3g-continues-above-4g",
			test_ram_beyond_3g_continues_above_4g);
	g_test_add_func("/memory/high-ram-survives-save-and-restore",
			test_high_ram_survives_save_and_restore);
	g_test_add_func("/harness/rejects-malformed-requests",
			test_harness_rejects_malformed_requests);
	return g_test_run();
}

/* The PCI core and the i440FX host bridge through the harness: mechanism #1
 * config access, header semantics, BAR sizing and decoding, INTx status,
 * MSI and MSI-X, capabilities, save/restore.  The PCI test device
 * (devices/pci/testdev.c, --test-pci-device) stands in for a real device. */
#include <signal.h>

#include "tests/harness/harness.h"
#include "tests/harness/pci.h"

#define TESTDEV_DEVFN ((0x1f << 3) | 0)

static HgTest *start(void)
{
	return hg_test_start("--test-pci-device", NULL);
}

/* Place BAR0 at 0xe0000000, BAR1 at 0xc000, BAR2 at 0x8_0000_0000, and
 * enable decoding (and bus mastering, which MSI needs). */
static void program_bars(HgTest *t)
{
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x10, 0xe0000000);
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x14, 0xc000);
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x18, 0x00000000);
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x1c, 0x8);
	hg_test_pci_writew(t, TESTDEV_DEVFN, 0x04, 0x0007);
}

static void test_host_bridge_identity(void)
{
	HgTest *t = hg_test_startv(NULL);
	g_assert_cmphex(hg_test_pci_readl(t, 0, 0x00), ==, 0x12378086);
	g_assert_cmphex(hg_test_pci_readl(t, 0, 0x08) >> 8, ==, 0x060000);
	g_assert_cmphex(hg_test_pci_readb(t, 0, 0x0e) & 0x7f, ==, 0); /* header type 0 */
	hg_test_quit(t);
}

static void test_absent_functions_read_all_ones(void)
{
	HgTest *t = start();
	g_assert_cmphex(hg_test_pci_readl(t, (3 << 3), 0x00), ==, 0xffffffff);
	g_assert_cmphex(hg_test_pci_readw(t, (3 << 3), 0x02), ==, 0xffff);
	/* Bus 1 does not exist. */
	hg_test_outl(t, 0xcf8, 0x80010000);
	g_assert_cmphex(hg_test_inl(t, 0xcfc), ==, 0xffffffff);
	/* Enable bit clear: no configuration cycle. */
	hg_test_outl(t, 0xcf8, 0x00000000);
	g_assert_cmphex(hg_test_inl(t, 0xcfc), ==, 0xffffffff);
	hg_test_quit(t);
}

static void test_config_address_register(void)
{
	HgTest *t = start();
	hg_test_outl(t, 0xcf8, 0x80fffffd);
	g_assert_cmphex(hg_test_inl(t, 0xcf8), ==, 0x80fffffc); /* low bits reserved */
	/* A byte access to 0xcf8 is not a CONFIG_ADDRESS access. */
	hg_test_outb(t, 0xcf8, 0x12);
	g_assert_cmphex(hg_test_inl(t, 0xcf8), ==, 0x80fffffc);
	hg_test_quit(t);
}

static void test_read_only_fields_ignore_writes(void)
{
	HgTest *t = start();
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x00, 0);
	g_assert_cmphex(hg_test_pci_readl(t, TESTDEV_DEVFN, 0x00), ==, 0x5a4e1234);
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x08, 0);
	g_assert_cmphex(hg_test_pci_readl(t, TESTDEV_DEVFN, 0x08), ==, 0xff000001);
	g_assert_cmphex(hg_test_pci_readb(t, TESTDEV_DEVFN, 0x3d), ==, 1); /* INTA */
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x3c, 0xffffff0b);
	g_assert_cmphex(hg_test_pci_readb(t, TESTDEV_DEVFN, 0x3c), ==, 0x0b); /* line is writable */
	g_assert_cmphex(hg_test_pci_readb(t, TESTDEV_DEVFN, 0x3d), ==, 1);
	hg_test_quit(t);
}

static void test_bar_sizing(void)
{
	HgTest *t = start();
	for (unsigned bar = 0; bar < 6; bar++)
		hg_test_pci_writel(t, TESTDEV_DEVFN, 0x10 + 4 * bar, 0xffffffff);
	g_assert_cmphex(hg_test_pci_readl(t, TESTDEV_DEVFN, 0x10), ==, 0xfffff000);
	g_assert_cmphex(hg_test_pci_readl(t, TESTDEV_DEVFN, 0x14), ==, 0x0000ff01);
	/* BAR2: 64-bit, prefetchable. */
	g_assert_cmphex(hg_test_pci_readl(t, TESTDEV_DEVFN, 0x18), ==, 0xffffe00c);
	g_assert_cmphex(hg_test_pci_readl(t, TESTDEV_DEVFN, 0x1c), ==, 0xffffffff);
	g_assert_cmphex(hg_test_pci_readl(t, TESTDEV_DEVFN, 0x20), ==, 0); /* unused */
	hg_test_quit(t);
}

static void test_memory_bar_decoded_only_when_enabled(void)
{
	HgTest *t = start();
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x10, 0xe0000000);
	hg_test_writel(t, 0xe0000000, 0x1234);
	g_assert_cmphex(hg_test_readl(t, 0xe0000000), ==, 0xffffffff); /* not decoded */
	hg_test_pci_writew(t, TESTDEV_DEVFN, 0x04, 0x0002);
	hg_test_writel(t, 0xe0000000, 0x1234);
	g_assert_cmphex(hg_test_readl(t, 0xe0000000), ==, 0x1234);
	hg_test_pci_writew(t, TESTDEV_DEVFN, 0x04, 0x0000);
	g_assert_cmphex(hg_test_readl(t, 0xe0000000), ==, 0xffffffff);
	hg_test_quit(t);
}

static void test_io_bar_decoded_only_when_enabled(void)
{
	HgTest *t = start();
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x14, 0xc000);
	hg_test_pci_writew(t, TESTDEV_DEVFN, 0x04, 0x0002); /* memory only */
	g_assert_cmphex(hg_test_inl(t, 0xc000), ==, 0xffffffff);
	hg_test_pci_writew(t, TESTDEV_DEVFN, 0x04, 0x0001);
	hg_test_outl(t, 0xc000, 0xabcd);
	g_assert_cmphex(hg_test_inl(t, 0xc000), ==, 0xabcd);
	hg_test_quit(t);
}

static void test_moving_a_bar_moves_the_registers(void)
{
	HgTest *t = start();
	program_bars(t);
	hg_test_writel(t, 0xe0000000, 0x55);
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x10, 0xe1000000);
	g_assert_cmphex(hg_test_readl(t, 0xe0000000), ==, 0xffffffff);
	g_assert_cmphex(hg_test_readl(t, 0xe1000000), ==, 0x55);
	hg_test_quit(t);
}

static void test_64_bit_bar_above_4g(void)
{
	HgTest *t = start();
	program_bars(t);
	/* BAR2 at 8 GiB holds the MSI-X table: vector 0's data word. */
	hg_test_writel(t, 0x800000008ULL, 0x4041);
	g_assert_cmphex(hg_test_readl(t, 0x800000008ULL), ==, 0x4041);
	g_assert_cmphex(hg_test_readl(t, 0x00000008ULL), ==, 0); /* RAM, untouched */
	hg_test_quit(t);
}

static void test_intx_sets_status_and_disable_masks_the_line(void)
{
	HgTest *t = start();
	program_bars(t);
	hg_test_writel(t, 0xe0000004, 1);
	g_assert_cmphex(hg_test_pci_readw(t, TESTDEV_DEVFN, 0x06) & 0x08, ==, 0x08);
	hg_test_writel(t, 0xe0000004, 0);
	g_assert_cmphex(hg_test_pci_readw(t, TESTDEV_DEVFN, 0x06) & 0x08, ==, 0);
	hg_test_quit(t);
}

static void test_status_error_bits_are_write_one_to_clear(void)
{
	HgTest *t = start();
	/* Nothing sets them yet; writing ones must not set them either. */
	hg_test_pci_writew(t, TESTDEV_DEVFN, 0x06, 0xffff);
	g_assert_cmphex(hg_test_pci_readw(t, TESTDEV_DEVFN, 0x06) & 0xf900, ==, 0);
	hg_test_quit(t);
}

/* Walk the capability list: the IDs in order. */
static void test_capability_list(void)
{
	HgTest *t = start();
	g_assert_cmphex(hg_test_pci_readw(t, TESTDEV_DEVFN, 0x06) & 0x10, ==, 0x10);
	uint8_t ptr = hg_test_pci_readb(t, TESTDEV_DEVFN, 0x34);
	uint8_t ids[4] = {0};
	unsigned n = 0;
	while (ptr && n < 4) {
		g_assert_cmpuint(ptr, >=, 0x40);
		ids[n++] = hg_test_pci_readb(t, TESTDEV_DEVFN, ptr);
		ptr = hg_test_pci_readb(t, TESTDEV_DEVFN, ptr + 1);
	}
	g_assert_cmpuint(n, ==, 2);
	g_assert_cmphex(ids[0], ==, 0x11); /* MSI-X, added last, listed first */
	g_assert_cmphex(ids[1], ==, 0x05); /* MSI */
	hg_test_quit(t);
}

static void test_msi_is_sent_when_enabled(void)
{
	HgTest *t = start();
	program_bars(t);
	uint8_t msi = hg_test_pci_find_capability(t, TESTDEV_DEVFN, 0x05);
	hg_test_pci_writel(t, TESTDEV_DEVFN, msi + 4, 0xfee00000);
	hg_test_pci_writel(t, TESTDEV_DEVFN, msi + 8, 0);
	hg_test_pci_writew(t, TESTDEV_DEVFN, msi + 12, 0x4040);
	hg_test_writel(t, 0xe0000008, 0); /* notify vector 0: MSI disabled, nothing */
	g_assert_cmpuint(hg_test_msi_count(t), ==, 0);
	/* Enable with 4 messages (MME = 2). */
	hg_test_pci_writew(t, TESTDEV_DEVFN, msi + 2, 0x0021);
	hg_test_writel(t, 0xe0000008, 3);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 1);
	g_assert_cmphex(hg_test_msi_get(t, 0).address, ==, 0xfee00000);
	g_assert_cmphex(hg_test_msi_get(t, 0).data, ==, 0x4043);
	hg_test_writel(t, 0xe0000008, 4); /* beyond the enabled count */
	g_assert_cmpuint(hg_test_msi_count(t), ==, 1);
	hg_test_quit(t);
}

static void msix_program_vector(HgTest *t, unsigned v, uint32_t data)
{
	uint64_t entry = 0x800000000ULL + 16 * v;
	hg_test_writel(t, entry + 0, 0xfee01000);
	hg_test_writel(t, entry + 4, 0);
	hg_test_writel(t, entry + 8, data);
}

static void test_msix_masked_vector_is_held_pending(void)
{
	HgTest *t = start();
	program_bars(t);
	uint8_t msix = hg_test_pci_find_capability(t, TESTDEV_DEVFN, 0x11);
	/* Table size N - 1: 4 vectors. */
	g_assert_cmphex(hg_test_pci_readw(t, TESTDEV_DEVFN, msix + 2) & 0x7ff, ==, 3);
	hg_test_pci_writew(t, TESTDEV_DEVFN, msix + 2, 0x8000); /* enable */
	msix_program_vector(t, 1, 0x51);
	/* Vectors start masked: the message waits in the PBA. */
	hg_test_writel(t, 0xe0000008, 1);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 0);
	g_assert_cmphex(hg_test_readl(t, 0x800001000ULL), ==, 0x2);
	/* Unmasking delivers it and clears the pending bit. */
	hg_test_writel(t, 0x800000000ULL + 16 + 12, 0);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 1);
	g_assert_cmphex(hg_test_msi_get(t, 0).address, ==, 0xfee01000);
	g_assert_cmphex(hg_test_msi_get(t, 0).data, ==, 0x51);
	g_assert_cmphex(hg_test_readl(t, 0x800001000ULL), ==, 0);
	/* MSI-X wins over MSI when both are enabled. */
	hg_test_writel(t, 0xe0000008, 1);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 2);
	hg_test_quit(t);
}

static void test_msix_function_mask(void)
{
	HgTest *t = start();
	program_bars(t);
	uint8_t msix = hg_test_pci_find_capability(t, TESTDEV_DEVFN, 0x11);
	msix_program_vector(t, 0, 0x61);
	hg_test_writel(t, 0x800000000ULL + 12, 0);
	hg_test_pci_writew(t, TESTDEV_DEVFN, msix + 2, 0xc000); /* enable + function mask */
	hg_test_writel(t, 0xe0000008, 0);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 0);
	hg_test_pci_writew(t, TESTDEV_DEVFN, msix + 2, 0x8000);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 1);
	g_assert_cmphex(hg_test_msi_get(t, 0).data, ==, 0x61);
	hg_test_quit(t);
}

static void test_msix_table_ignores_bad_accesses(void)
{
	HgTest *t = start();
	program_bars(t);
	hg_test_writeb(t, 0x800000008ULL, 0x77); /* byte access: ignored */
	g_assert_cmphex(hg_test_readl(t, 0x800000008ULL), ==, 0);
	hg_test_writel(t, 0x800000040ULL, 0x99); /* past the 4 entries */
	g_assert_cmphex(hg_test_readl(t, 0x800000040ULL), ==, 0);
	hg_test_writel(t, 0x80000000cULL, 0xfffffffe); /* reserved control bits */
	g_assert_cmphex(hg_test_readl(t, 0x80000000cULL), ==, 0);
	hg_test_quit(t);
}

static void test_state_survives_save_and_restore(void)
{
	HgTest *t = start();
	g_autofree char *dir = g_build_filename(hg_test_dir(t), "saved", NULL);
	program_bars(t);
	uint8_t msix = hg_test_pci_find_capability(t, TESTDEV_DEVFN, 0x11);
	hg_test_pci_writew(t, TESTDEV_DEVFN, msix + 2, 0x8000);
	msix_program_vector(t, 2, 0x72);
	hg_test_writel(t, 0xe0000008, 2); /* pending: still masked */
	hg_test_writel(t, 0xe0000000, 0xcafe);
	hg_test_outl(t, 0xc000, 0xbeef);
	hg_test_save(t, dir);

	HgTest *r = hg_test_start("--test-pci-device", "--restore", dir, NULL);
	g_assert_cmphex(hg_test_readl(r, 0xe0000000), ==, 0xcafe); /* BAR0 decoded again */
	g_assert_cmphex(hg_test_inl(r, 0xc000), ==, 0xbeef);
	g_assert_cmphex(hg_test_readl(r, 0x800001000ULL), ==, 0x4); /* still pending */
	hg_test_writel(r, 0x800000000ULL + 32 + 12, 0);
	g_assert_cmpuint(hg_test_msi_count(r), ==, 1);
	g_assert_cmphex(hg_test_msi_get(r, 0).data, ==, 0x72);
	hg_test_quit(r);
	hg_test_quit(t);
}

static void test_reset_clears_bars_and_command(void)
{
	HgTest *t = start();
	program_bars(t);
	hg_test_outb(t, 0x64, 0xfe); /* machine reset through the i8042 */
	for (int i = 0; i < 100 && hg_test_pci_readw(t, TESTDEV_DEVFN, 0x04); i++)
		g_usleep(10000);
	g_assert_cmphex(hg_test_pci_readw(t, TESTDEV_DEVFN, 0x04), ==, 0);
	g_assert_cmphex(hg_test_pci_readl(t, TESTDEV_DEVFN, 0x10), ==, 0);
	g_assert_cmphex(hg_test_pci_readl(t, TESTDEV_DEVFN, 0x18), ==, 0xc); /* type bits stay */
	g_assert_cmphex(hg_test_readl(t, 0xe0000000), ==, 0xffffffff);
	hg_test_quit(t);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pci/host-bridge/is-an-i440fx", test_host_bridge_identity);
	g_test_add_func("/pci/config/absent-functions-read-all-ones",
			test_absent_functions_read_all_ones);
	g_test_add_func("/pci/config/address-register-takes-only-dword-writes",
			test_config_address_register);
	g_test_add_func("/pci/config/read-only-fields-ignore-writes",
			test_read_only_fields_ignore_writes);
	g_test_add_func("/pci/bar/sizing-reads-back-the-size-mask", test_bar_sizing);
	g_test_add_func("/pci/bar/memory-decoded-only-when-enabled",
			test_memory_bar_decoded_only_when_enabled);
	g_test_add_func("/pci/bar/io-decoded-only-when-enabled",
			test_io_bar_decoded_only_when_enabled);
	g_test_add_func("/pci/bar/moving-a-bar-moves-the-registers",
			test_moving_a_bar_moves_the_registers);
	g_test_add_func("/pci/bar/64-bit-bar-above-4g", test_64_bit_bar_above_4g);
	g_test_add_func("/pci/intx/status-bit-follows-the-device",
			test_intx_sets_status_and_disable_masks_the_line);
	g_test_add_func("/pci/status/error-bits-are-write-one-to-clear",
			test_status_error_bits_are_write_one_to_clear);
	g_test_add_func("/pci/capabilities/list-links-msix-then-msi", test_capability_list);
	g_test_add_func("/pci/msi/sent-when-enabled-with-vector-in-data",
			test_msi_is_sent_when_enabled);
	g_test_add_func("/pci/msix/masked-vector-is-held-pending",
			test_msix_masked_vector_is_held_pending);
	g_test_add_func("/pci/msix/function-mask-holds-every-vector", test_msix_function_mask);
	g_test_add_func("/pci/msix/table-ignores-bad-accesses",
			test_msix_table_ignores_bad_accesses);
	g_test_add_func("/pci/state/survives-save-and-restore", test_state_survives_save_and_restore);
	g_test_add_func("/pci/reset/clears-bars-and-command", test_reset_clears_bars_and_command);
	return g_test_run();
}

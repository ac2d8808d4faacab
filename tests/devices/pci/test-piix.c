/* The PIIX3 ISA bridge (00:01.0) and PIIX4 power management (00:01.3)
 * through the harness: identity, PIRQ routing with the PCI test device
 * (--test-pci-device at 00:1f.0, INTA), the 0xCF9 reset, the PM
 * I/O block (decode, PM timer, TMR_STS and the SCI on IRQ 9, the power
 * button over the control socket, S5), GPE0 and APM storage, save/restore. */
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/harness/pci.h"
#include "tests/harness/saved_state.h"

#define ISA_DEVFN ((1 << 3) | 0)
#define PM_DEVFN ((1 << 3) | 3)
#define TESTDEV_DEVFN ((0x1f << 3) | 0)
#define TESTDEV_BAR0 0xe0000000u
#define TESTDEV_INTX (TESTDEV_BAR0 + 0x04)
/* The PIRQ that the test device's INTA drives: the PIIX wiring that
 * SeaBIOS, OVMF, QEMU and the DSDT use, (slot - 1 + INTx) & 3 = C for
 * slot 31 pin A. */
#define TESTDEV_PIRQ 2
#define TESTDEV_PIRQRC (0x60 + TESTDEV_PIRQ)
#define OTHER_PIRQRC (0x60 + ((TESTDEV_PIRQ + 1) & 3))

#define PM_BASE 0xb000
#define PM1_STS (PM_BASE + 0)
#define PM1_EN (PM_BASE + 2)
#define PM1_CNT (PM_BASE + 4)
#define PM_TMR (PM_BASE + 8)
#define TMR_BIT 0x0001
#define PWRBTN_BIT 0x0100
#define SCI_EN 0x0001
#define SLP_EN 0x2000
#define SLP_TYP(n) ((n) << 10)
#define GPE0_BLK 0xafe0
#define SCI_IRQ 9

#define PM_TIMER_HZ 3579545ull
#define NS_PER_SECOND 1000000000ull

/* PMBA = 0xb000 and PMIOSE, as SeaBIOS and OVMF program them. */
static void pm_io_enable(HgTest *t)
{
	hg_test_pci_writel(t, PM_DEVFN, 0x40, PM_BASE | 1);
	hg_test_pci_writeb(t, PM_DEVFN, 0x80, 0x01);
}

/* The first machine-clock time at which the PM timer has made its k-th
 * bit-23 toggle (k * 2^23 ticks). */
static uint64_t toggle_ns(uint64_t k)
{
	return (k * (1ull << 23) * NS_PER_SECOND + PM_TIMER_HZ - 1) / PM_TIMER_HZ;
}

static bool any_isa_irq_high(HgTest *t)
{
	for (unsigned irq = 0; irq < 16; irq++)
		if (hg_test_irq_level(t, irq))
			return true;
	return false;
}

/* ---- the control socket ---- */

typedef struct {
	int fd;
	GString *pending;
} Control;

static JsonObject *parse_object(const char *line)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) error = NULL;

	g_assert_nonnull(line);
	g_assert_true(json_parser_load_from_data(p, line, -1, &error));
	g_assert_no_error(error);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)));
	return json_object_ref(json_node_get_object(json_parser_get_root(p)));
}

static void control_open(Control *c, const char *path)
{
	c->fd = hg_test_connect_unix(path);
	c->pending = g_string_new(NULL);
	g_autofree char *greeting = hg_test_read_line(c->fd, c->pending, 10000);
	g_autoptr(JsonObject) o = parse_object(greeting);
	g_assert_true(json_object_has_member(o, "greeting"));
}

static void control_close(Control *c)
{
	close(c->fd);
	g_string_free(c->pending, TRUE);
}

/* Send a request; return its reply, skipping events. */
static JsonObject *control_execute(Control *c, const char *request)
{
	g_autofree char *line = g_strconcat(request, "\n", NULL);

	g_assert_cmpint(write(c->fd, line, strlen(line)), ==, (ssize_t)strlen(line));
	for (;;) {
		g_autofree char *reply = hg_test_read_line(c->fd, c->pending, 10000);
		JsonObject *o = parse_object(reply);
		if (!json_object_has_member(o, "event"))
			return o;
		json_object_unref(o);
	}
}

/* The data of the SHUTDOWN event, skipping everything before it. */
static JsonObject *control_wait_shutdown(Control *c)
{
	for (;;) {
		g_autofree char *line = hg_test_read_line(c->fd, c->pending, 10000);
		g_autoptr(JsonObject) o = parse_object(line);
		if (json_object_has_member(o, "event") &&
		    strcmp(json_object_get_string_member(o, "event"), "SHUTDOWN") == 0)
			return json_object_ref(json_object_get_object_member(o, "data"));
	}
}

static HgTest *start_with_control(Control *c)
{
	HgTest *t = hg_test_start("--control", "@DIR@/c.sock", NULL);
	g_autofree char *path = g_build_filename(hg_test_dir(t), "c.sock", NULL);
	control_open(c, path);
	return t;
}

static void press_power_button(Control *c)
{
	g_autoptr(JsonObject) r = control_execute(c, "{\"execute\":\"system_powerdown\"}");
	g_assert_true(json_object_has_member(r, "return"));
}

/* ---- an engine that is expected to end by itself ---- */

/* Runs an engine with the harness and a control socket, sends the harness
 * requests, and waits for it to exit on its own.  Returns the exit status;
 * *reason gets the SHUTDOWN event's reason. */
static int run_until_exit(const char *const *requests, const char *const *extra, char **reason)
{
	const char *engine = g_getenv("HANGAR_ENGINE");
	g_autofree char *dir = g_dir_make_tmp("hangar-piix-XXXXXX", NULL);
	g_autofree char *harness_sock = g_build_filename(dir, "h.sock", NULL);
	g_autofree char *control_sock = g_build_filename(dir, "c.sock", NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GString) harness_pending = g_string_new(NULL);
	Control control;
	GPid pid;
	int status, harness;

	g_assert_nonnull(engine);
	g_ptr_array_add(argv, (char *)engine);
	g_ptr_array_add(argv, "--test-harness");
	g_ptr_array_add(argv, harness_sock);
	g_ptr_array_add(argv, "--control");
	g_ptr_array_add(argv, control_sock);
	for (; extra && *extra; extra++)
		g_ptr_array_add(argv, (char *)*extra);
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
				    NULL, NULL, &pid, NULL));
	control_open(&control, control_sock);
	harness = hg_test_connect_unix(harness_sock);
	for (; *requests; requests++) {
		g_autofree char *line = g_strconcat(*requests, "\n", NULL);
		g_assert_cmpint(write(harness, line, strlen(line)), ==, (ssize_t)strlen(line));
		for (;;) {
			g_autofree char *reply = hg_test_read_line(harness, harness_pending, 10000);
			g_assert_nonnull(reply);
			if (g_str_has_prefix(reply, "OK"))
				break;
			g_assert_false(g_str_has_prefix(reply, "ERR"));
		}
	}
	g_autoptr(JsonObject) data = control_wait_shutdown(&control);
	*reason = g_strdup(json_object_get_string_member(data, "reason"));
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_cmpint(json_object_get_int_member(data, "exit-status"), ==, WEXITSTATUS(status));
	control_close(&control);
	close(harness);
	hg_test_remove_tree(dir);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Harness lines that enable the PM I/O block at 0xb000. */
#define PM_IO_ENABLE_REQUESTS                                                                      \
	"outl 0xcf8 0x80000b40", "outl 0xcfc 0xb001", "outl 0xcf8 0x80000b80", "outb 0xcfc 0x01"

/* ---- identity ---- */

static void test_isa_bridge_identity(void)
{
	HgTest *t = hg_test_startv(NULL);
	g_assert_cmphex(hg_test_pci_readl(t, ISA_DEVFN, 0x00), ==, 0x70008086);
	g_assert_cmphex(hg_test_pci_readl(t, ISA_DEVFN, 0x08) >> 8, ==, 0x060100);
	g_assert_cmphex(hg_test_pci_readb(t, ISA_DEVFN, 0x0e), ==, 0x80); /* multi-function */
	g_assert_cmphex(hg_test_pci_readb(t, ISA_DEVFN, 0x3d), ==, 0); /* no interrupt pin */
	g_assert_cmphex(hg_test_pci_readw(t, ISA_DEVFN, 0x04), ==, 0x0007);
	g_assert_cmphex(hg_test_pci_readw(t, ISA_DEVFN, 0x06), ==, 0x0200);
	/* Functions 1, 2, 4-7 are absent. */
	g_assert_cmphex(hg_test_pci_readl(t, (1 << 3) | 1, 0x00), ==, 0xffffffff);
	g_assert_cmphex(hg_test_pci_readl(t, (1 << 3) | 2, 0x00), ==, 0xffffffff);
	hg_test_quit(t);
}

static void test_pm_identity(void)
{
	HgTest *t = hg_test_startv(NULL);
	g_assert_cmphex(hg_test_pci_readl(t, PM_DEVFN, 0x00), ==, 0x71138086);
	g_assert_cmphex(hg_test_pci_readl(t, PM_DEVFN, 0x08), ==, 0x06800003);
	g_assert_cmphex(hg_test_pci_readb(t, PM_DEVFN, 0x0e), ==, 0x00);
	g_assert_cmphex(hg_test_pci_readb(t, PM_DEVFN, 0x3d), ==, 1);
	g_assert_cmphex(hg_test_pci_readw(t, PM_DEVFN, 0x06), ==, 0x0280);
	g_assert_cmphex(hg_test_pci_readl(t, PM_DEVFN, 0x40), ==, 0x00000001); /* PMBA: I/O space */
	g_assert_cmphex(hg_test_pci_readl(t, PM_DEVFN, 0x90), ==, 0x00000001); /* SMBBA */
	/* The device IDs read-only; PMBA keeps bit 0 and takes bits 15:6. */
	hg_test_pci_writel(t, PM_DEVFN, 0x00, 0);
	g_assert_cmphex(hg_test_pci_readl(t, PM_DEVFN, 0x00), ==, 0x71138086);
	hg_test_pci_writel(t, PM_DEVFN, 0x40, 0xffffffff);
	g_assert_cmphex(hg_test_pci_readl(t, PM_DEVFN, 0x40), ==, 0x0000ffc1);
	hg_test_quit(t);
}

static void test_isa_bridge_power_on_register_values(void)
{
	HgTest *t = hg_test_startv(NULL);
	g_assert_cmphex(hg_test_pci_readl(t, ISA_DEVFN, 0x60), ==, 0x80808080); /* PIRQRC A-D */
	g_assert_cmphex(hg_test_pci_readb(t, ISA_DEVFN, 0x4c), ==, 0x4d); /* IORT */
	g_assert_cmphex(hg_test_pci_readw(t, ISA_DEVFN, 0x4e), ==, 0x0003); /* XBCS */
	g_assert_cmphex(hg_test_pci_readb(t, ISA_DEVFN, 0x69), ==, 0x02); /* TOM */
	g_assert_cmphex(hg_test_pci_readb(t, ISA_DEVFN, 0x70), ==, 0x80); /* MBIRQ0 */
	g_assert_cmphex(hg_test_pci_readw(t, ISA_DEVFN, 0x76), ==, 0x0c0c); /* MBDMA */
	g_assert_cmphex(hg_test_pci_readw(t, ISA_DEVFN, 0x78), ==, 0x0002); /* PCSC */
	/* Stored as written... */
	hg_test_pci_writeb(t, ISA_DEVFN, 0x82, 0x02); /* DLC passive release, as Linux sets */
	g_assert_cmphex(hg_test_pci_readb(t, ISA_DEVFN, 0x82), ==, 0x02);
	hg_test_pci_writeb(t, ISA_DEVFN, 0x69, 0xf2);
	g_assert_cmphex(hg_test_pci_readb(t, ISA_DEVFN, 0x69), ==, 0xf2);
	/* ...PIRQRC's reserved bits 6:4 read zero, and the SMI block is absent. */
	hg_test_pci_writeb(t, ISA_DEVFN, 0x60, 0xff);
	g_assert_cmphex(hg_test_pci_readb(t, ISA_DEVFN, 0x60), ==, 0x8f);
	hg_test_pci_writel(t, ISA_DEVFN, 0xa0, 0xffffffff);
	g_assert_cmphex(hg_test_pci_readl(t, ISA_DEVFN, 0xa0), ==, 0);
	hg_test_quit(t);
}

/* ---- PIRQ routing ---- */

static HgTest *start_with_testdev_intx_asserted(void)
{
	HgTest *t = hg_test_start("--test-pci-device", NULL);
	hg_test_pci_writel(t, TESTDEV_DEVFN, 0x10, TESTDEV_BAR0);
	hg_test_pci_writew(t, TESTDEV_DEVFN, 0x04, 0x0002);
	hg_test_writel(t, TESTDEV_INTX, 1);
	return t;
}

static void test_pirq_irq_rises_only_once_routed_and_falls_when_disabled(void)
{
	HgTest *t = start_with_testdev_intx_asserted();

	/* The device's PIRQ is disabled at power-on: no line moves. */
	g_assert_false(any_isa_irq_high(t));
	g_assert_cmpuint(hg_test_irq_raised_count(t, 11), ==, 0);
	hg_test_pci_writeb(t, ISA_DEVFN, OTHER_PIRQRC, 11); /* not this device's */
	g_assert_false(any_isa_irq_high(t));
	hg_test_pci_writeb(t, ISA_DEVFN, TESTDEV_PIRQRC, 11);
	g_assert_true(hg_test_irq_level(t, 11));
	/* Moving the route moves the level. */
	hg_test_pci_writeb(t, ISA_DEVFN, TESTDEV_PIRQRC, 5);
	g_assert_false(hg_test_irq_level(t, 11));
	g_assert_true(hg_test_irq_level(t, 5));
	/* Disabling the route drops it, and the route remembers its IRQ. */
	hg_test_pci_writeb(t, ISA_DEVFN, TESTDEV_PIRQRC, 0x85);
	g_assert_false(any_isa_irq_high(t));
	hg_test_pci_writeb(t, ISA_DEVFN, TESTDEV_PIRQRC, 0x05);
	g_assert_true(hg_test_irq_level(t, 5));
	/* The device lowering INTx lowers the IRQ. */
	hg_test_writel(t, TESTDEV_INTX, 0);
	g_assert_false(hg_test_irq_level(t, 5));
	hg_test_quit(t);
}

static void test_pirq_reserved_irq_codes_route_nowhere(void)
{
	static const uint8_t reserved[] = {0, 1, 2, 8, 13};
	HgTest *t = start_with_testdev_intx_asserted();

	for (unsigned i = 0; i < G_N_ELEMENTS(reserved); i++) {
		hg_test_pci_writeb(t, ISA_DEVFN, TESTDEV_PIRQRC, reserved[i]);
		g_assert_false(any_isa_irq_high(t));
	}
	for (unsigned irq = 3; irq < 16; irq++) {
		bool valid = irq != 8 && irq != 13;
		hg_test_pci_writeb(t, ISA_DEVFN, TESTDEV_PIRQRC, irq);
		g_assert_cmpint(hg_test_irq_level(t, irq), ==, valid);
	}
	hg_test_quit(t);
}

static void test_pirq_two_pirqs_on_one_irq_share_the_line(void)
{
	HgTest *t = start_with_testdev_intx_asserted();

	/* A dword write sets all four routes at once: every PIRQ on IRQ 10. */
	hg_test_pci_writel(t, ISA_DEVFN, 0x60, 0x0a0a0a0a);
	g_assert_true(hg_test_irq_level(t, 10));
	/* The others stay on 10 but are not asserted: moving the device's
	 * PIRQ away lowers 10. */
	hg_test_pci_writeb(t, ISA_DEVFN, TESTDEV_PIRQRC, 11);
	g_assert_false(hg_test_irq_level(t, 10));
	g_assert_true(hg_test_irq_level(t, 11));
	hg_test_pci_writeb(t, ISA_DEVFN, TESTDEV_PIRQRC, 10);
	g_assert_true(hg_test_irq_level(t, 10));
	g_assert_false(hg_test_irq_level(t, 11));
	hg_test_quit(t);
}

/* IRQ 9 is shared: the SCI going low must not drop a PCI interrupt that
 * the guest routed there. */
static void test_pirq_on_irq_9_survives_sci_updates(void)
{
	HgTest *t = start_with_testdev_intx_asserted();

	hg_test_pci_writeb(t, ISA_DEVFN, TESTDEV_PIRQRC, SCI_IRQ);
	g_assert_true(hg_test_irq_level(t, SCI_IRQ));
	pm_io_enable(t);
	hg_test_outw(t, PM1_STS, 0xffff);
	g_assert_cmphex(hg_test_inw(t, PM1_STS), ==, 0);
	hg_test_outb(t, GPE0_BLK + 2, 0x01);
	g_assert_true(hg_test_irq_level(t, SCI_IRQ));
	g_assert_cmpuint(hg_test_irq_raised_count(t, SCI_IRQ), ==, 1);
	hg_test_quit(t);
}

/* ---- the reset control register ---- */

static void test_reset_control_rst_cpu_resets_the_machine(void)
{
	const char *const requests[] = {"outb 0xcf9 0x06", NULL};
	const char *const extra[] = {"--no-reboot", NULL};
	g_autofree char *reason = NULL;

	g_assert_cmpint(run_until_exit(requests, extra, &reason), ==, 8);
	g_assert_cmpstr(reason, ==, "0xcf9 reset");
}

static void test_reset_control_stores_reset_type_and_takes_only_bytes(void)
{
	HgTest *t = hg_test_start("--no-reboot", NULL);
	g_assert_cmphex(hg_test_inb(t, 0xcf9), ==, 0x00);
	hg_test_outb(t, 0xcf9, 0x02); /* SYS_RST: what Linux writes first */
	g_assert_cmphex(hg_test_inb(t, 0xcf9), ==, 0x02);
	hg_test_outb(t, 0xcf9, 0xf8); /* FULL_RST kept, the reserved bits not */
	g_assert_cmphex(hg_test_inb(t, 0xcf9), ==, 0x08);
	/* Word and dword accesses are not reset control accesses. */
	hg_test_outw(t, 0xcf9, 0x0606);
	g_assert_cmphex(hg_test_inb(t, 0xcf9), ==, 0x08);
	g_assert_cmphex(hg_test_inw(t, 0xcf9), ==, 0xffff);
	/* CONFIG_ADDRESS beside it is unaffected. */
	hg_test_outl(t, 0xcf8, 0x80000000);
	g_assert_cmphex(hg_test_inl(t, 0xcf8), ==, 0x80000000);
	g_assert_cmphex(hg_test_inb(t, 0xcf9), ==, 0x08);
	hg_test_quit(t);
}

static void test_reset_control_reset_restores_power_on_routing(void)
{
	HgTest *t = start_with_testdev_intx_asserted();

	hg_test_pci_writeb(t, ISA_DEVFN, TESTDEV_PIRQRC, 11);
	pm_io_enable(t);
	g_assert_true(hg_test_irq_level(t, 11));
	hg_test_outb(t, 0xcf9, 0x06);
	/* The reset runs from the main loop, between harness requests. */
	for (int i = 0; i < 100 && hg_test_pci_readb(t, ISA_DEVFN, TESTDEV_PIRQRC) != 0x80; i++)
		g_usleep(10000);
	g_assert_cmphex(hg_test_pci_readb(t, ISA_DEVFN, TESTDEV_PIRQRC), ==, 0x80);
	g_assert_false(any_isa_irq_high(t));
	g_assert_cmphex(hg_test_inb(t, 0xcf9), ==, 0);
	g_assert_cmphex(hg_test_pci_readl(t, PM_DEVFN, 0x40), ==, 0x00000001);
	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, 0xffff); /* PM I/O undecoded */
	g_assert_cmphex(hg_test_pci_readb(t, PM_DEVFN, 0x5b) & 0x02, ==, 0x02); /* APMC_EN again */
	hg_test_quit(t);
}

/* ---- power management configuration ---- */

static void test_pm_apmc_en_is_preset(void)
{
	HgTest *t = hg_test_startv(NULL);
	g_assert_cmphex(hg_test_pci_readb(t, PM_DEVFN, 0x5b) & 0x02, ==, 0x02);
	g_assert_cmphex(hg_test_pci_readl(t, PM_DEVFN, 0x58) & (1u << 25), ==, 1u << 25);
	/* SeaBIOS's check reads the dword; writing it back keeps it. */
	hg_test_pci_writel(t, PM_DEVFN, 0x58, hg_test_pci_readl(t, PM_DEVFN, 0x58) | 1);
	g_assert_cmphex(hg_test_pci_readl(t, PM_DEVFN, 0x58), ==, (1u << 25) | 1);
	hg_test_quit(t);
}

static void test_pm_io_decoded_only_with_pmba_and_pmiose(void)
{
	HgTest *t = hg_test_startv(NULL);

	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, 0xffff);
	hg_test_pci_writel(t, PM_DEVFN, 0x40, PM_BASE | 1);
	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, 0xffff); /* PMIOSE still clear */
	hg_test_pci_writeb(t, PM_DEVFN, 0x80, 0x01);
	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, SCI_EN);
	/* Moving PMBA moves the block. */
	hg_test_pci_writel(t, PM_DEVFN, 0x40, 0x6001);
	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, 0xffff);
	g_assert_cmphex(hg_test_inw(t, 0x6004), ==, SCI_EN);
	/* PMIOSE off: gone. */
	hg_test_pci_writeb(t, PM_DEVFN, 0x80, 0x00);
	g_assert_cmphex(hg_test_inw(t, 0x6004), ==, 0xffff);
	/* The rest of the 64-byte block reads zero while decoded. */
	hg_test_pci_writeb(t, PM_DEVFN, 0x80, 0x01);
	g_assert_cmphex(hg_test_inl(t, 0x6010), ==, 0);
	g_assert_cmphex(hg_test_inb(t, 0x603f), ==, 0);
	g_assert_cmphex(hg_test_inb(t, 0x6040), ==, 0xff);
	hg_test_quit(t);
}

static void test_pm_smbus_ports_read_all_ones(void)
{
	HgTest *t = hg_test_startv(NULL);
	/* What SeaBIOS writes: SMBBA 0xb100, host enable.  There is no
	 * controller, so the enable does not stick. */
	hg_test_pci_writel(t, PM_DEVFN, 0x90, 0xb101);
	hg_test_pci_writeb(t, PM_DEVFN, 0xd2, 0x09);
	g_assert_cmphex(hg_test_pci_readl(t, PM_DEVFN, 0x90), ==, 0xb101);
	g_assert_cmphex(hg_test_pci_readb(t, PM_DEVFN, 0xd2), ==, 0x08);
	hg_test_pci_writew(t, PM_DEVFN, 0x04, 0x0001);
	for (unsigned port = 0xb100; port < 0xb110; port++)
		g_assert_cmphex(hg_test_inb(t, port), ==, 0xff);
	hg_test_quit(t);
}

/* ---- the PM timer ---- */

static void test_pm_timer_counts_3579545_per_second(void)
{
	HgTest *t = hg_test_startv(NULL);
	pm_io_enable(t);

	g_assert_cmphex(hg_test_inl(t, PM_TMR), ==, 0);
	hg_test_clock_step(t, 123456789);
	uint32_t before = hg_test_inl(t, PM_TMR);
	g_assert_cmpuint(before, ==, 123456789ull * PM_TIMER_HZ / NS_PER_SECOND);
	for (int s = 0; s < 3; s++) {
		hg_test_clock_step(t, NS_PER_SECOND);
		uint32_t after = hg_test_inl(t, PM_TMR);
		uint32_t delta = (after - before) & 0xffffff;
		g_assert_cmpuint(delta, >=, PM_TIMER_HZ - 1);
		g_assert_cmpuint(delta, <=, PM_TIMER_HZ + 1);
		before = after;
	}
	/* Narrow reads see the same count. */
	g_assert_cmphex(hg_test_inw(t, PM_TMR), ==, before & 0xffff);
	g_assert_cmphex(hg_test_inb(t, PM_TMR + 2), ==, (before >> 16) & 0xff);
	g_assert_cmphex(hg_test_inb(t, PM_TMR + 3), ==, 0);
	/* Read-only. */
	hg_test_outl(t, PM_TMR, 0);
	g_assert_cmphex(hg_test_inl(t, PM_TMR), ==, before);
	hg_test_quit(t);
}

static void test_pm_timer_wraps_at_24_bits(void)
{
	HgTest *t = hg_test_startv(NULL);
	pm_io_enable(t);

	hg_test_clock_step(t, 4 * NS_PER_SECOND); /* 14318180 ticks */
	uint32_t high = hg_test_inl(t, PM_TMR);
	g_assert_cmphex(high, ==, 4 * PM_TIMER_HZ);
	hg_test_clock_step(t, NS_PER_SECOND); /* 17897725 = 2^24 + 1120509 */
	uint32_t wrapped = hg_test_inl(t, PM_TMR);
	g_assert_cmphex(wrapped, ==, 5 * PM_TIMER_HZ - (1u << 24));
	g_assert_cmpuint(wrapped, <, high);
	hg_test_quit(t);
}

static void test_pm_timer_carry_sets_tmr_sts_and_sci_when_enabled(void)
{
	HgTest *t = hg_test_startv(NULL);
	pm_io_enable(t);
	hg_test_outw(t, PM1_EN, TMR_BIT);

	hg_test_clock_step(t, toggle_ns(1) - 1);
	g_assert_cmphex(hg_test_inw(t, PM1_STS) & TMR_BIT, ==, 0);
	g_assert_false(hg_test_irq_level(t, SCI_IRQ));
	/* Bit 23 goes 0 -> 1: carry, SCI. */
	hg_test_clock_step(t, 1);
	g_assert_true(hg_test_irq_level(t, SCI_IRQ));
	g_assert_cmphex(hg_test_inl(t, PM_TMR), ==, 1u << 23);
	g_assert_cmphex(hg_test_inw(t, PM1_STS) & TMR_BIT, ==, TMR_BIT);
	/* Clearing the status lowers the SCI until the next toggle, 1 -> 0. */
	hg_test_outw(t, PM1_STS, TMR_BIT);
	g_assert_false(hg_test_irq_level(t, SCI_IRQ));
	g_assert_cmphex(hg_test_inw(t, PM1_STS) & TMR_BIT, ==, 0);
	uint64_t now = hg_test_clock_step(t, 0);
	hg_test_clock_step(t, toggle_ns(2) - 1 - now);
	g_assert_false(hg_test_irq_level(t, SCI_IRQ));
	hg_test_clock_step(t, 1);
	g_assert_true(hg_test_irq_level(t, SCI_IRQ));
	g_assert_cmphex(hg_test_inl(t, PM_TMR), ==, 0); /* 2^24 wrapped */
	/* Disabling TMR_EN lowers the SCI; the status stays. */
	hg_test_outw(t, PM1_EN, 0);
	g_assert_false(hg_test_irq_level(t, SCI_IRQ));
	g_assert_cmphex(hg_test_inw(t, PM1_STS) & TMR_BIT, ==, TMR_BIT);
	g_assert_cmpuint(hg_test_irq_raised_count(t, SCI_IRQ), ==, 2);
	hg_test_quit(t);
}

static void test_pm_timer_carry_without_tmr_en_sets_status_only(void)
{
	HgTest *t = hg_test_startv(NULL);
	pm_io_enable(t);

	hg_test_clock_step(t, toggle_ns(1));
	g_assert_false(hg_test_irq_level(t, SCI_IRQ));
	g_assert_cmphex(hg_test_inw(t, PM1_STS) & TMR_BIT, ==, TMR_BIT);
	/* Enabling TMR_EN with the carry pending raises the SCI at once. */
	hg_test_outw(t, PM1_EN, TMR_BIT);
	g_assert_true(hg_test_irq_level(t, SCI_IRQ));
	hg_test_quit(t);
}

/* ---- PM1 status and control ---- */

static void test_pm_status_bits_are_write_one_to_clear(void)
{
	Control c;
	HgTest *t = start_with_control(&c);
	pm_io_enable(t);

	press_power_button(&c);
	hg_test_clock_step(t, toggle_ns(1));
	g_assert_cmphex(hg_test_inw(t, PM1_STS), ==, PWRBTN_BIT | TMR_BIT);
	hg_test_outw(t, PM1_STS, 0); /* zeros change nothing */
	g_assert_cmphex(hg_test_inw(t, PM1_STS), ==, PWRBTN_BIT | TMR_BIT);
	hg_test_outb(t, PM1_STS + 1, PWRBTN_BIT >> 8); /* the high byte alone */
	g_assert_cmphex(hg_test_inw(t, PM1_STS), ==, TMR_BIT);
	hg_test_outw(t, PM1_STS, 0xffff);
	g_assert_cmphex(hg_test_inw(t, PM1_STS), ==, 0);
	/* PM1_EN keeps only its defined bits. */
	hg_test_outw(t, PM1_EN, 0xffff);
	g_assert_cmphex(hg_test_inw(t, PM1_EN), ==, 0x0521);
	/* A dword write at +0 reaches status and enable together. */
	hg_test_outl(t, PM1_STS, 0x01000000);
	g_assert_cmphex(hg_test_inw(t, PM1_EN), ==, 0x0100);
	control_close(&c);
	hg_test_quit(t);
}

static void test_pm_sci_en_reads_one(void)
{
	HgTest *t = hg_test_startv(NULL);
	pm_io_enable(t);

	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, SCI_EN);
	hg_test_outw(t, PM1_CNT, 0x0000); /* an OS's ACPI disable */
	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, SCI_EN);
	/* OVMF's read-modify-write of SCI_EN. */
	hg_test_outw(t, PM1_CNT, hg_test_inw(t, PM1_CNT) | SCI_EN);
	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, SCI_EN);
	/* BM_RLD is stored; GBL_RLS and SLP_EN read back zero. */
	hg_test_outw(t, PM1_CNT, 0x0006);
	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, 0x0003);
	hg_test_quit(t);
}

static void test_pm_s5_powers_off_with_exit_status_0(void)
{
	/* SLP_TYP 0 (the DSDT's \_S5) with SLP_EN. */
	const char *const requests[] = {PM_IO_ENABLE_REQUESTS, "outw 0xb004 0x2000", NULL};
	g_autofree char *reason = NULL;

	g_assert_cmpint(run_until_exit(requests, NULL, &reason), ==, 0);
	g_assert_cmpstr(reason, ==, "ACPI S5");
}

static void test_pm_s5_by_bytes_powers_off(void)
{
	/* SLP_TYP and SLP_EN share the high byte: a byte write is enough. */
	const char *const requests[] = {PM_IO_ENABLE_REQUESTS, "outb 0xb005 0x20", NULL};
	g_autofree char *reason = NULL;

	g_assert_cmpint(run_until_exit(requests, NULL, &reason), ==, 0);
	g_assert_cmpstr(reason, ==, "ACPI S5");
}

static void test_pm_s3_sleep_type_is_ignored(void)
{
	HgTest *t = hg_test_start("--no-reboot", NULL);
	pm_io_enable(t);

	hg_test_outw(t, PM1_CNT, SLP_TYP(1) | SLP_EN);
	hg_test_outw(t, PM1_CNT, SLP_TYP(1) | SLP_EN); /* logged once, ignored twice */
	/* Still running after the main loop had its turn. */
	g_usleep(50000);
	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, SLP_TYP(1) | SCI_EN);
	/* SLP_TYP without SLP_EN is only stored, even for S5. */
	hg_test_outw(t, PM1_CNT, SLP_TYP(0));
	g_usleep(50000);
	g_assert_cmphex(hg_test_inw(t, PM1_CNT), ==, SCI_EN);
	hg_test_quit(t);
}

/* ---- the power button ---- */

static void test_pm_power_button_raises_sci_when_enabled(void)
{
	Control c;
	HgTest *t = start_with_control(&c);
	pm_io_enable(t);
	hg_test_outw(t, PM1_EN, PWRBTN_BIT);

	press_power_button(&c);
	g_assert_cmphex(hg_test_inw(t, PM1_STS) & PWRBTN_BIT, ==, PWRBTN_BIT);
	g_assert_true(hg_test_irq_level(t, SCI_IRQ));
	/* The OS acknowledges the event. */
	hg_test_outw(t, PM1_STS, PWRBTN_BIT);
	g_assert_false(hg_test_irq_level(t, SCI_IRQ));
	g_assert_cmphex(hg_test_inw(t, PM1_STS) & PWRBTN_BIT, ==, 0);
	control_close(&c);
	hg_test_quit(t);
}

static void test_pm_power_button_without_pwrbtn_en_only_sets_status(void)
{
	Control c;
	HgTest *t = start_with_control(&c);
	pm_io_enable(t);

	press_power_button(&c);
	g_assert_false(hg_test_irq_level(t, SCI_IRQ));
	g_assert_cmphex(hg_test_inw(t, PM1_STS) & PWRBTN_BIT, ==, PWRBTN_BIT);
	/* Nobody listening: the machine keeps running. */
	g_autoptr(JsonObject) r = control_execute(&c, "{\"execute\":\"query-status\"}");
	g_assert_true(json_object_has_member(r, "return"));
	/* An OS that enables the event later sees the pending press. */
	hg_test_outw(t, PM1_EN, PWRBTN_BIT);
	g_assert_true(hg_test_irq_level(t, SCI_IRQ));
	control_close(&c);
	hg_test_quit(t);
}

/* ---- GPE0 and APM ---- */

static void test_pm_gpe0_block_stores_enables(void)
{
	HgTest *t = hg_test_startv(NULL);

	/* Fixed at 0xafe0, decoded without PMBA. */
	g_assert_cmphex(hg_test_inl(t, GPE0_BLK), ==, 0);
	hg_test_outb(t, GPE0_BLK + 2, 0x5a);
	hg_test_outb(t, GPE0_BLK + 3, 0xa5);
	g_assert_cmphex(hg_test_inw(t, GPE0_BLK + 2), ==, 0xa55a);
	g_assert_cmphex(hg_test_inl(t, GPE0_BLK), ==, 0xa55a0000);
	/* No source sets a status bit, and writing ones does not either. */
	hg_test_outw(t, GPE0_BLK, 0xffff);
	g_assert_cmphex(hg_test_inw(t, GPE0_BLK), ==, 0);
	g_assert_false(hg_test_irq_level(t, SCI_IRQ));
	g_assert_cmphex(hg_test_inb(t, GPE0_BLK + 4), ==, 0xff); /* 4 bytes only */
	hg_test_quit(t);
}

static void test_pm_apm_ports_are_storage(void)
{
	HgTest *t = hg_test_startv(NULL);

	g_assert_cmphex(hg_test_inw(t, 0xb2), ==, 0);
	/* SeaBIOS's SMM start-up writes these; nothing waits on an SMI. */
	hg_test_outb(t, 0xb3, 0x01);
	hg_test_outb(t, 0xb2, 0x00);
	g_assert_cmphex(hg_test_inb(t, 0xb3), ==, 0x01);
	hg_test_outb(t, 0xb2, 0xf1);
	g_assert_cmphex(hg_test_inb(t, 0xb2), ==, 0xf1);
	g_assert_cmphex(hg_test_inw(t, 0xb2), ==, 0x01f1);
	g_assert_false(any_isa_irq_high(t));
	hg_test_quit(t);
}

/* ---- save and restore ---- */

static void test_state_save_mid_timer_and_load_in_fresh_engine(void)
{
	HgTest *a = hg_test_start("--test-pci-device", NULL);
	g_autofree char *dir = g_build_filename(hg_test_dir(a), "saved", NULL);

	pm_io_enable(a);
	hg_test_outw(a, PM1_EN, TMR_BIT | PWRBTN_BIT);
	hg_test_outb(a, GPE0_BLK + 2, 0x03);
	hg_test_outb(a, 0xb3, 0x42);
	hg_test_outb(a, 0xcf9, 0x02);
	hg_test_pci_writeb(a, ISA_DEVFN, TESTDEV_PIRQRC, 11);
	hg_test_pci_writel(a, TESTDEV_DEVFN, 0x10, TESTDEV_BAR0);
	hg_test_pci_writew(a, TESTDEV_DEVFN, 0x04, 0x0002);
	hg_test_writel(a, TESTDEV_INTX, 1);
	g_assert_true(hg_test_irq_level(a, 11));
	hg_test_clock_step(a, 1500000000); /* halfway to the first carry */
	uint32_t timer = hg_test_inl(a, PM_TMR);
	hg_test_save(a, dir);

	HgTest *b = hg_test_start("--test-pci-device", "--restore", dir, NULL);
	/* The PM block is decoded again and the timer continues from the
	 * saved clock. */
	g_assert_cmphex(hg_test_inl(b, PM_TMR), ==, timer);
	g_assert_cmphex(hg_test_inw(b, PM1_EN), ==, TMR_BIT | PWRBTN_BIT);
	g_assert_cmphex(hg_test_inw(b, PM1_STS), ==, 0);
	g_assert_cmphex(hg_test_inb(b, GPE0_BLK + 2), ==, 0x03);
	g_assert_cmphex(hg_test_inb(b, 0xb3), ==, 0x42);
	g_assert_cmphex(hg_test_inb(b, 0xcf9), ==, 0x02);
	g_assert_cmphex(hg_test_pci_readb(b, PM_DEVFN, 0x5b) & 0x02, ==, 0x02);
	/* The route and the device's INTx came back together. */
	g_assert_true(hg_test_irq_level(b, 11));
	/* The carry comes when it would have come. */
	g_assert_false(hg_test_irq_level(b, SCI_IRQ));
	uint64_t now = hg_test_clock_step(b, 0);
	g_assert_cmpuint(now, ==, 1500000000);
	hg_test_clock_step(b, toggle_ns(1) - 1 - now);
	g_assert_false(hg_test_irq_level(b, SCI_IRQ));
	hg_test_clock_step(b, 1);
	g_assert_true(hg_test_irq_level(b, SCI_IRQ));
	g_assert_cmphex(hg_test_inw(b, PM1_STS), ==, TMR_BIT);
	hg_test_quit(b);
	hg_test_quit(a);
}

static void test_state_sci_level_survives_restore(void)
{
	Control c;
	HgTest *a = start_with_control(&c);
	g_autofree char *dir = g_build_filename(hg_test_dir(a), "saved", NULL);

	pm_io_enable(a);
	hg_test_outw(a, PM1_EN, PWRBTN_BIT);
	press_power_button(&c);
	g_assert_true(hg_test_irq_level(a, SCI_IRQ));
	hg_test_save(a, dir);

	HgTest *b = hg_test_start("--restore", dir, NULL);
	g_assert_true(hg_test_irq_level(b, SCI_IRQ));
	g_assert_cmphex(hg_test_inw(b, PM1_STS), ==, PWRBTN_BIT);
	hg_test_outw(b, PM1_STS, PWRBTN_BIT);
	g_assert_false(hg_test_irq_level(b, SCI_IRQ));
	hg_test_quit(b);
	control_close(&c);
	hg_test_quit(a);
}

static void test_state_load_rejects_corrupt_record(void)
{
	static const struct {
		const char *device;
		const char *key;
		const char *value; /* GVariant text, NULL to remove the key */
		const char *why;
	} cases[] = {
		{"piix4-pm", "pm1-en", "uint16 0xffff", "PM1_EN has reserved bits"},
		{"piix4-pm", "pm1-sts", "uint16 0x0002", "PM1_STS has reserved bits"},
		{"piix4-pm", "pm1-cnt", "uint16 0x2000", "PM1_CNT has bits"},
		{"piix4-pm", "pm1-sts", "uint32 0", "\"pm1-sts\" has type u"},
		{"piix4-pm", "timer-seen", NULL, "lacks \"timer-seen\""},
		{"piix4-pm", "pci-config", "@ay [1, 2, 3]", "\"pci-config\" has 3 bytes"},
		{"piix3", "reset-control", "byte 0x04", "never stored"},
		{"piix3", "reset-control", NULL, "lacks \"reset-control\""},
	};
	HgTest *a = hg_test_startv(NULL);
	g_autofree char *dir = g_build_filename(hg_test_dir(a), "saved", NULL);

	pm_io_enable(a);
	hg_test_clock_step(a, 1000000);
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		hg_test_save(a, dir);
		hg_test_edit_saved_record_text(dir, cases[c].device, cases[c].key, cases[c].value);
		hg_test_expect_restore_refused(dir, NULL, cases[c].device, cases[c].why);
	}
	hg_test_quit(a);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/piix/isa-bridge/is-a-multi-function-piix3", test_isa_bridge_identity);
	g_test_add_func("/piix/pm/is-a-piix4-pm-function", test_pm_identity);
	g_test_add_func("/piix/isa-bridge/registers-start-at-datasheet-values",
			test_isa_bridge_power_on_register_values);
	g_test_add_func("/piix/pirq/irq-rises-only-once-routed-and-falls-when-disabled",
			test_pirq_irq_rises_only_once_routed_and_falls_when_disabled);
	g_test_add_func("/piix/pirq/reserved-irq-codes-route-nowhere",
			test_pirq_reserved_irq_codes_route_nowhere);
	g_test_add_func("/piix/pirq/two-pirqs-on-one-irq-share-the-line",
			test_pirq_two_pirqs_on_one_irq_share_the_line);
	g_test_add_func("/piix/pirq/pci-interrupt-on-irq-9-survives-sci-updates",
			test_pirq_on_irq_9_survives_sci_updates);
	g_test_add_func("/piix/reset-control/rst-cpu-resets-the-machine",
			test_reset_control_rst_cpu_resets_the_machine);
	g_test_add_func("/piix/reset-control/stores-reset-type-and-takes-only-bytes",
			test_reset_control_stores_reset_type_and_takes_only_bytes);
	g_test_add_func("/piix/reset-control/reset-restores-power-on-routing",
			test_reset_control_reset_restores_power_on_routing);
	g_test_add_func("/piix/pm/apmc-en-is-preset-so-seabios-skips-smm",
			test_pm_apmc_en_is_preset);
	g_test_add_func("/piix/pm/io-decoded-only-with-pmba-and-pmiose",
			test_pm_io_decoded_only_with_pmba_and_pmiose);
	g_test_add_func("/piix/pm/smbus-is-disabled-and-its-ports-read-all-ones",
			test_pm_smbus_ports_read_all_ones);
	g_test_add_func("/piix/pm/timer-counts-3579545-per-second",
			test_pm_timer_counts_3579545_per_second);
	g_test_add_func("/piix/pm/timer-wraps-at-24-bits", test_pm_timer_wraps_at_24_bits);
	g_test_add_func("/piix/pm/timer-carry-sets-tmr-sts-and-sci-when-enabled",
			test_pm_timer_carry_sets_tmr_sts_and_sci_when_enabled);
	g_test_add_func("/piix/pm/timer-carry-without-tmr-en-sets-status-only",
			test_pm_timer_carry_without_tmr_en_sets_status_only);
	g_test_add_func("/piix/pm/status-bits-are-write-one-to-clear",
			test_pm_status_bits_are_write_one_to_clear);
	g_test_add_func("/piix/pm/sci-en-reads-one", test_pm_sci_en_reads_one);
	g_test_add_func("/piix/pm/s5-powers-off-with-exit-status-0",
			test_pm_s5_powers_off_with_exit_status_0);
	g_test_add_func("/piix/pm/s5-by-byte-write-powers-off", test_pm_s5_by_bytes_powers_off);
	g_test_add_func("/piix/pm/s3-sleep-type-is-ignored", test_pm_s3_sleep_type_is_ignored);
	g_test_add_func("/piix/pm/power-button-raises-sci-when-enabled",
			test_pm_power_button_raises_sci_when_enabled);
	g_test_add_func("/piix/pm/power-button-without-pwrbtn-en-only-sets-status",
			test_pm_power_button_without_pwrbtn_en_only_sets_status);
	g_test_add_func("/piix/pm/gpe0-block-stores-enables", test_pm_gpe0_block_stores_enables);
	g_test_add_func("/piix/pm/apm-ports-are-storage", test_pm_apm_ports_are_storage);
	g_test_add_func("/piix/state/save-mid-timer-and-load-in-fresh-engine",
			test_state_save_mid_timer_and_load_in_fresh_engine);
	g_test_add_func("/piix/state/sci-level-survives-restore",
			test_state_sci_level_survives_restore);
	g_test_add_func("/piix/state/load-rejects-corrupt-record",
			test_state_load_rejects_corrupt_record);
	return g_test_run();
}

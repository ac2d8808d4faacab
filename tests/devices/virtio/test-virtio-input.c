/* virtio-input keyboard (00:10.0) and tablet (00:11.0) through the harness,
 * driven by a small virtio driver written here: identity, the selector
 * configuration, events into posted event queue buffers with MSI-X, LEDs
 * through the status queue, routing against the PS/2 devices, events held
 * while no buffers are posted, save and restore.  Input comes in as a
 * display server sends it (input_key, input_abs). */
#include <linux/input-event-codes.h>
#include <signal.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/harness/pci.h"
#include "tests/harness/saved_state.h"

#define KBD_DEVFN (0x10 << 3)
#define TABLET_DEVFN (0x11 << 3)

/* Common configuration (virtio 1.2, 4.1.4.3). */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_MSIX 0x10
#define CC_NUMQ 0x12
#define CC_STATUS 0x14
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_MSIX 0x1a
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOFF 0x1e
#define CC_Q_DESC 0x20
#define CC_Q_AVAIL 0x28
#define CC_Q_USED 0x30

#define S_ACK 0x01
#define S_DRIVER 0x02
#define S_DRIVER_OK 0x04
#define S_FEATURES_OK 0x08
#define F_VERSION_1 (1ull << 32)
#define D_WRITE 2

/* struct virtio_input_config (5.8.4). */
#define CFG_SELECT 0
#define CFG_SUBSEL 1
#define CFG_SIZE 2
#define CFG_U 8
#define SEL_ID_NAME 0x01
#define SEL_ID_SERIAL 0x02
#define SEL_ID_DEVIDS 0x03
#define SEL_PROP_BITS 0x10
#define SEL_EV_BITS 0x11
#define SEL_ABS_INFO 0x12

#define QSIZE 8
#define EVENTQ 0
#define STATUSQ 1
#define MSI_DATA_BASE 0x50 /* + vector */

typedef struct {
	HgTest *t;
	uint8_t devfn;
	uint64_t bar0, bar1;
	uint64_t common, isr, device, notify;
	uint32_t notify_mul;
	uint64_t ram; /* rings and buffers of this driver */
	uint16_t notify_off[2];
	uint16_t avail_idx[2];
	uint16_t used_seen[2];
	unsigned posted; /* event buffers posted so far */
} Drv;

typedef struct {
	uint16_t type, code;
	int32_t value;
} Event;

static uint64_t ring_desc(const Drv *d, unsigned q)
{
	return d->ram + q * 0x10000;
}

static uint64_t ring_avail(const Drv *d, unsigned q)
{
	return ring_desc(d, q) + 0x1000;
}

static uint64_t ring_used(const Drv *d, unsigned q)
{
	return ring_desc(d, q) + 0x2000;
}

static uint64_t buffer(const Drv *d, unsigned q, unsigned i)
{
	return d->ram + 0x40000 + q * 0x1000 + 8 * i;
}

#define COMMON_R(d, w, off) hg_test_read##w((d)->t, (d)->common + (off))
#define COMMON_W(d, w, off, v) hg_test_write##w((d)->t, (d)->common + (off), (v))

/* BARs programmed, capabilities found. */
static void drv_open(Drv *d, HgTest *t, uint8_t devfn)
{
	bool kbd = devfn == KBD_DEVFN;

	memset(d, 0, sizeof(*d));
	d->t = t;
	d->devfn = devfn;
	d->bar0 = kbd ? 0xe0000000ull : 0xe0020000ull;
	d->bar1 = d->bar0 + 0x10000;
	d->ram = kbd ? 0x100000 : 0x200000;
	hg_test_pci_writel(t, devfn, 0x10, (uint32_t)d->bar0);
	hg_test_pci_writel(t, devfn, 0x14, (uint32_t)d->bar1);
	hg_test_pci_writew(t, devfn, 0x04, 0x0006);
	for (uint8_t p = hg_test_pci_readb(t, devfn, 0x34); p;
	     p = hg_test_pci_readb(t, devfn, p + 1)) {
		uint64_t base, at;
		if (hg_test_pci_readb(t, devfn, p) != 0x09)
			continue;
		base = hg_test_pci_readb(t, devfn, p + 4) == 0 ? d->bar0 : d->bar1;
		at = base + hg_test_pci_readl(t, devfn, p + 8);
		switch (hg_test_pci_readb(t, devfn, p + 3)) {
		case 1:
			d->common = at;
			break;
		case 2:
			d->notify = at;
			d->notify_mul = hg_test_pci_readl(t, devfn, p + 16);
			break;
		case 3:
			d->isr = at;
			break;
		case 4:
			d->device = at;
			break;
		}
	}
	g_assert_cmpuint(d->common, !=, 0);
	g_assert_cmpuint(d->device, !=, 0);
	g_assert_cmpuint(d->notify, !=, 0);
}

static void drv_setup_queue(Drv *d, unsigned q)
{
	g_autofree char *r =
		hg_test_request(d->t, "memset 0x%" G_GINT64_MODIFIER "x 0x3000 0", ring_desc(d, q));
	g_assert_cmpstr(r, ==, "OK");
	COMMON_W(d, w, CC_Q_SELECT, q);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_SIZE), ==, 64);
	COMMON_W(d, w, CC_Q_SIZE, QSIZE);
	COMMON_W(d, l, CC_Q_DESC, (uint32_t)ring_desc(d, q));
	COMMON_W(d, l, CC_Q_DESC + 4, 0);
	COMMON_W(d, l, CC_Q_AVAIL, (uint32_t)ring_avail(d, q));
	COMMON_W(d, l, CC_Q_AVAIL + 4, 0);
	COMMON_W(d, l, CC_Q_USED, (uint32_t)ring_used(d, q));
	COMMON_W(d, l, CC_Q_USED + 4, 0);
	COMMON_W(d, w, CC_Q_MSIX, 1 + q);
	COMMON_W(d, w, CC_Q_ENABLE, 1);
	d->notify_off[q] = COMMON_R(d, w, CC_Q_NOFF);
	d->avail_idx[q] = d->used_seen[q] = 0;
}

/* 3.1.1 with MSI-X (vector 0 configuration, 1 + n queue n), both queues. */
static void drv_init(Drv *d)
{
	uint8_t msix = hg_test_pci_find_capability(d->t, d->devfn, 0x11);

	hg_test_pci_writew(d->t, d->devfn, msix + 2, 0x8000);
	for (unsigned v = 0; v < 3; v++) {
		hg_test_writel(d->t, d->bar1 + 16 * v, 0xfee00000);
		hg_test_writel(d->t, d->bar1 + 16 * v + 4, 0);
		hg_test_writel(d->t, d->bar1 + 16 * v + 8, MSI_DATA_BASE + v);
		hg_test_writel(d->t, d->bar1 + 16 * v + 12, 0);
	}
	COMMON_W(d, b, CC_STATUS, 0);
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER);
	COMMON_W(d, l, CC_DFSELECT, 1);
	g_assert_cmphex(COMMON_R(d, l, CC_DF) & 1, ==, 1); /* VERSION_1 */
	COMMON_W(d, l, CC_GFSELECT, 0);
	COMMON_W(d, l, CC_GF, 0);
	COMMON_W(d, l, CC_GFSELECT, 1);
	COMMON_W(d, l, CC_GF, (uint32_t)(F_VERSION_1 >> 32));
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	g_assert_cmphex(COMMON_R(d, b, CC_STATUS), ==, S_ACK | S_DRIVER | S_FEATURES_OK);
	COMMON_W(d, w, CC_MSIX, 0);
	g_assert_cmpuint(COMMON_R(d, w, CC_NUMQ), ==, 2);
	drv_setup_queue(d, EVENTQ);
	drv_setup_queue(d, STATUSQ);
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	hg_test_msi_clear(d->t);
}

static void drv_put_desc(Drv *d, unsigned q, unsigned i, uint64_t addr, uint32_t len,
			 uint16_t flags)
{
	uint8_t raw[16] = {0};

	memcpy(raw, &addr, 8);
	memcpy(raw + 8, &len, 4);
	memcpy(raw + 12, &flags, 2);
	hg_test_memwrite(d->t, ring_desc(d, q) + 16 * i, raw, sizeof(raw));
}

static void drv_offer(Drv *d, unsigned q, uint16_t head)
{
	hg_test_writew(d->t, ring_avail(d, q) + 4 + 2 * (d->avail_idx[q] % QSIZE), head);
	d->avail_idx[q]++;
	hg_test_writew(d->t, ring_avail(d, q) + 2, d->avail_idx[q]);
}

static void drv_kick(Drv *d, unsigned q)
{
	hg_test_writew(d->t, d->notify + d->notify_off[q] * d->notify_mul, q);
}

/* Post n more 8-byte event buffers (descriptor i uses buffer i) and kick. */
static void drv_post_events(Drv *d, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		unsigned i = d->posted++ % QSIZE;
		drv_put_desc(d, EVENTQ, i, buffer(d, EVENTQ, i), 8, D_WRITE);
		drv_offer(d, EVENTQ, i);
	}
	drv_kick(d, EVENTQ);
}

static uint16_t drv_used_idx(Drv *d, unsigned q)
{
	return hg_test_readw(d->t, ring_used(d, q) + 2);
}

/* Events used since the last call, oldest first (at most max). */
static unsigned drv_take_events(Drv *d, Event *out, unsigned max)
{
	uint16_t used = drv_used_idx(d, EVENTQ);
	unsigned n = 0;

	while (d->used_seen[EVENTQ] != used) {
		uint64_t e = ring_used(d, EVENTQ) + 4 + 8 * (d->used_seen[EVENTQ] % QSIZE);
		uint32_t id = hg_test_readl(d->t, e), len = hg_test_readl(d->t, e + 4);
		uint8_t raw[8];

		g_assert_cmpuint(len, ==, 8);
		g_assert_cmpuint(n, <, max);
		hg_test_memread(d->t, buffer(d, EVENTQ, id), raw, 8);
		memcpy(&out[n].type, raw, 2);
		memcpy(&out[n].code, raw + 2, 2);
		memcpy(&out[n].value, raw + 4, 4);
		n++;
		d->used_seen[EVENTQ]++;
	}
	return n;
}

static void expect_events(Drv *d, const Event *want, unsigned n)
{
	Event got[64];
	unsigned have = drv_take_events(d, got, G_N_ELEMENTS(got));

	g_assert_cmpuint(have, ==, n);
	for (unsigned i = 0; i < n; i++) {
		g_test_message("event %u: want %u %u %d, got %u %u %d", i, want[i].type,
			       want[i].code, want[i].value, got[i].type, got[i].code, got[i].value);
		g_assert_cmpuint(got[i].type, ==, want[i].type);
		g_assert_cmpuint(got[i].code, ==, want[i].code);
		g_assert_cmpint(got[i].value, ==, want[i].value);
	}
}

#define EXPECT_EVENTS(d, ...)                                                                      \
	do {                                                                                       \
		const Event e_[] = {__VA_ARGS__};                                                  \
		expect_events(d, e_, G_N_ELEMENTS(e_));                                            \
	} while (0)
#define SYN                                                                                        \
	{                                                                                          \
		EV_SYN, SYN_REPORT, 0                                                              \
	}

/* Select a configuration item; returns its size, the union in u. */
static uint8_t drv_config(Drv *d, uint8_t select, uint8_t subsel, uint8_t *u)
{
	hg_test_writeb(d->t, d->device + CFG_SELECT, select);
	hg_test_writeb(d->t, d->device + CFG_SUBSEL, subsel);
	for (unsigned i = 0; i < 128; i++)
		u[i] = hg_test_readb(d->t, d->device + CFG_U + i);
	return hg_test_readb(d->t, d->device + CFG_SIZE);
}

static bool bit_set(const uint8_t *bitmap, unsigned bit)
{
	return bitmap[bit / 8] & (1 << (bit % 8));
}

static void request_ok(HgTest *t, const char *line)
{
	g_autofree char *reply = hg_test_request(t, "%s", line);
	g_assert_cmpstr(reply, ==, "OK");
}

static void key(HgTest *t, unsigned qnum, bool down)
{
	g_autofree char *reply = hg_test_request(t, "input_key 0x%x %d", qnum, down);
	g_assert_cmpstr(reply, ==, "OK");
}

/* ---- identity and configuration ---- */

static void test_identity_of_both_devices(void)
{
	HgTest *t = hg_test_startv(NULL);

	g_assert_cmphex(hg_test_pci_readl(t, KBD_DEVFN, 0x00), ==, 0x10521af4);
	g_assert_cmphex(hg_test_pci_readl(t, TABLET_DEVFN, 0x00), ==, 0x10521af4);
	g_assert_cmphex(hg_test_pci_readl(t, KBD_DEVFN, 0x08), ==, 0x09000001);
	g_assert_cmphex(hg_test_pci_readl(t, TABLET_DEVFN, 0x08), ==, 0x09020001);
	g_assert_cmphex(hg_test_pci_readl(t, KBD_DEVFN, 0x2c), ==, 0x11001af4);
	g_assert_cmphex(hg_test_pci_readl(t, TABLET_DEVFN, 0x2c), ==, 0x11001af4);
	hg_test_quit(t);
}

static void test_config_names_serials_and_ids(void)
{
	HgTest *t = hg_test_startv(NULL);
	Drv kbd, tablet;
	uint8_t u[128];
	uint8_t size;

	drv_open(&kbd, t, KBD_DEVFN);
	drv_open(&tablet, t, TABLET_DEVFN);
	size = drv_config(&kbd, SEL_ID_NAME, 0, u);
	g_assert_cmpuint(size, ==, strlen("Hangar Virtio Keyboard"));
	g_assert_cmpmem(u, size, "Hangar Virtio Keyboard", size);
	size = drv_config(&tablet, SEL_ID_NAME, 0, u);
	g_assert_cmpmem(u, size, "Hangar Virtio Tablet", strlen("Hangar Virtio Tablet"));
	size = drv_config(&kbd, SEL_ID_SERIAL, 0, u);
	g_assert_cmpmem(u, size, "hangar-keyboard", strlen("hangar-keyboard"));
	g_assert_cmpuint(drv_config(&kbd, SEL_ID_DEVIDS, 0, u), ==, 8);
	g_assert_cmphex(u[0] | u[1] << 8, ==, 0x0006); /* BUS_VIRTUAL */
	g_assert_cmphex(u[2] | u[3] << 8, ==, 0x0627);
	g_assert_cmphex(u[4] | u[5] << 8, ==, 0x0001);
	drv_config(&tablet, SEL_ID_DEVIDS, 0, u);
	g_assert_cmphex(u[4] | u[5] << 8, ==, 0x0003);
	/* Unknown selectors, and subsel where none applies: size 0. */
	g_assert_cmpuint(drv_config(&kbd, 0x7f, 0, u), ==, 0);
	g_assert_cmpuint(drv_config(&kbd, SEL_ID_NAME, 1, u), ==, 0);
	g_assert_cmpuint(drv_config(&tablet, SEL_PROP_BITS, 0, u), ==, 0);
	/* The selector reads back; the size is the device's to write. */
	hg_test_writeb(t, kbd.device + CFG_SIZE, 99);
	g_assert_cmpuint(hg_test_readb(t, kbd.device + CFG_SELECT), ==, SEL_ID_NAME);
	g_assert_cmpuint(hg_test_readb(t, kbd.device + CFG_SUBSEL), ==, 1);
	g_assert_cmpuint(hg_test_readb(t, kbd.device + CFG_SIZE), ==, 0);
	hg_test_quit(t);
}

static void test_config_keyboard_event_bits(void)
{
	HgTest *t = hg_test_startv(NULL);
	Drv kbd;
	uint8_t u[128];

	drv_open(&kbd, t, KBD_DEVFN);
	g_assert_cmpuint(drv_config(&kbd, SEL_EV_BITS, EV_KEY, u), >, KEY_PAUSE / 8);
	g_assert_true(bit_set(u, KEY_A));
	g_assert_true(bit_set(u, KEY_UP));
	g_assert_true(bit_set(u, KEY_PAUSE));
	g_assert_true(bit_set(u, KEY_LEFTMETA));
	g_assert_false(bit_set(u, KEY_RESERVED));
	g_assert_false(bit_set(u, BTN_LEFT));
	g_assert_cmpuint(drv_config(&kbd, SEL_EV_BITS, EV_REP, u), ==, 1);
	g_assert_cmpuint(drv_config(&kbd, SEL_EV_BITS, EV_LED, u), ==, 1);
	g_assert_cmphex(u[0], ==, 1 << LED_NUML | 1 << LED_CAPSL | 1 << LED_SCROLLL);
	g_assert_cmpuint(drv_config(&kbd, SEL_EV_BITS, EV_ABS, u), ==, 0);
	g_assert_cmpuint(drv_config(&kbd, SEL_EV_BITS, EV_REL, u), ==, 0);
	g_assert_cmpuint(drv_config(&kbd, SEL_ABS_INFO, ABS_X, u), ==, 0);
	hg_test_quit(t);
}

static void test_config_tablet_event_bits_and_abs_info(void)
{
	HgTest *t = hg_test_startv(NULL);
	Drv tablet;
	uint8_t u[128];
	uint32_t min, max;

	drv_open(&tablet, t, TABLET_DEVFN);
	g_assert_cmpuint(drv_config(&tablet, SEL_EV_BITS, EV_ABS, u), ==, 1);
	g_assert_cmphex(u[0], ==, 1 << ABS_X | 1 << ABS_Y);
	for (unsigned axis = ABS_X; axis <= ABS_Y; axis++) {
		g_assert_cmpuint(drv_config(&tablet, SEL_ABS_INFO, axis, u), ==, 20);
		memcpy(&min, u, 4);
		memcpy(&max, u + 4, 4);
		g_assert_cmpuint(min, ==, 0);
		g_assert_cmpuint(max, ==, 0x7fff);
	}
	g_assert_cmpuint(drv_config(&tablet, SEL_ABS_INFO, ABS_Z, u), ==, 0);
	g_assert_cmpuint(drv_config(&tablet, SEL_EV_BITS, EV_KEY, u), ==, BTN_EXTRA / 8 + 1);
	for (unsigned b = BTN_LEFT; b <= BTN_EXTRA; b++)
		g_assert_true(bit_set(u, b));
	g_assert_false(bit_set(u, KEY_A));
	g_assert_cmpuint(drv_config(&tablet, SEL_EV_BITS, EV_REL, u), ==, 2);
	g_assert_true(bit_set(u, REL_WHEEL));
	g_assert_false(bit_set(u, REL_X));
	g_assert_cmpuint(drv_config(&tablet, SEL_EV_BITS, EV_LED, u), ==, 0);
	hg_test_quit(t);
}

/* ---- events ---- */

static void test_keyboard_key_arrives_as_ev_key_and_syn_with_msi(void)
{
	HgTest *t = hg_test_startv(NULL);
	Drv kbd;

	drv_open(&kbd, t, KBD_DEVFN);
	drv_init(&kbd);
	drv_post_events(&kbd, QSIZE);
	key(t, 0x1e, true);
	EXPECT_EVENTS(&kbd, {EV_KEY, KEY_A, 1}, SYN);
	g_assert_cmpuint(hg_test_msi_count(t), >=, 1);
	g_assert_cmphex(hg_test_msi_get(t, 0).data, ==, MSI_DATA_BASE + 1);
	key(t, 0x1e, true); /* a repeat is another key-down */
	key(t, 0xc8, false);
	EXPECT_EVENTS(&kbd, {EV_KEY, KEY_A, 1}, SYN, {EV_KEY, KEY_UP, 0}, SYN);
	hg_test_quit(t);
}

static void test_tablet_absolute_event_is_scaled(void)
{
	HgTest *t = hg_test_startv(NULL);
	Drv tablet;

	drv_open(&tablet, t, TABLET_DEVFN);
	drv_init(&tablet);
	drv_post_events(&tablet, QSIZE);
	request_ok(t, "input_abs 639 0 1");
	EXPECT_EVENTS(&tablet, {EV_ABS, ABS_X, 0x7fff}, {EV_ABS, ABS_Y, 0}, {EV_KEY, BTN_LEFT, 1},
		      SYN);
	drv_post_events(&tablet, 4);
	request_ok(t, "input_abs 320 240 0x18 2");
	EXPECT_EVENTS(&tablet, {EV_REL, REL_WHEEL, 2}, {EV_ABS, ABS_X, 320 * 0x7fff / 639},
		      {EV_ABS, ABS_Y, 240 * 0x7fff / 479}, {EV_KEY, BTN_LEFT, 0},
		      {EV_KEY, BTN_SIDE, 1}, {EV_KEY, BTN_EXTRA, 1}, SYN);
	hg_test_quit(t);
}

static uint8_t ps2_status(HgTest *t)
{
	return hg_test_inb(t, 0x64);
}

static void test_routing_prefers_virtio_once_driver_ok(void)
{
	HgTest *t = hg_test_startv(NULL);
	Drv kbd, tablet;

	/* The PS/2 mouse reports, the tablet has no driver: motion. */
	hg_test_outb(t, 0x64, 0xd4);
	hg_test_outb(t, 0x60, 0xf4);
	g_assert_cmphex(hg_test_inb(t, 0x60), ==, 0xfa);
	request_ok(t, "input_abs 100 100 0");
	request_ok(t, "input_abs 110 100 0");
	g_assert_cmphex(ps2_status(t) & 0x21, ==, 0x21);
	g_assert_cmphex(hg_test_inb(t, 0x60), ==, 0x08);
	g_assert_cmphex(hg_test_inb(t, 0x60), ==, 10);
	g_assert_cmphex(hg_test_inb(t, 0x60), ==, 0);
	key(t, 0x1e, true);
	g_assert_cmphex(ps2_status(t) & 0x21, ==, 0x01);
	g_assert_cmphex(hg_test_inb(t, 0x60), ==, 0x1c); /* set 2, untranslated */

	/* Drivers loaded: the virtio devices get it all. */
	drv_open(&tablet, t, TABLET_DEVFN);
	drv_init(&tablet);
	drv_post_events(&tablet, QSIZE);
	drv_open(&kbd, t, KBD_DEVFN);
	drv_init(&kbd);
	drv_post_events(&kbd, QSIZE);
	request_ok(t, "input_abs 0 479 0");
	EXPECT_EVENTS(&tablet, {EV_ABS, ABS_X, 0}, {EV_ABS, ABS_Y, 0x7fff}, SYN);
	key(t, 0x1e, false);
	EXPECT_EVENTS(&kbd, {EV_KEY, KEY_A, 0}, SYN);
	g_assert_cmphex(ps2_status(t) & 0x01, ==, 0);

	/* A driver that resets its device gives the keys back to PS/2. */
	COMMON_W(&kbd, b, CC_STATUS, 0);
	key(t, 0x1e, true);
	g_assert_cmphex(ps2_status(t) & 0x21, ==, 0x01);
	g_assert_cmphex(hg_test_inb(t, 0x60), ==, 0x1c);
	hg_test_quit(t);
}

static void test_keyboard_led_status_reaches_the_device_state(void)
{
	HgTest *t = hg_test_startv(NULL);
	g_autofree char *dir = g_build_filename(hg_test_dir(t), "saved", NULL);
	const uint16_t leds[][2] = {{LED_CAPSL, 1}, {LED_NUML, 1}, {LED_CAPSL, 0}};
	Drv kbd;
	uint8_t saved;

	drv_open(&kbd, t, KBD_DEVFN);
	drv_init(&kbd);
	for (unsigned i = 0; i < G_N_ELEMENTS(leds); i++) {
		uint8_t raw[8] = {EV_LED, 0, leds[i][0], 0, leds[i][1], 0, 0, 0};
		hg_test_memwrite(t, buffer(&kbd, STATUSQ, i), raw, sizeof(raw));
		drv_put_desc(&kbd, STATUSQ, i, buffer(&kbd, STATUSQ, i), 8, 0);
		drv_offer(&kbd, STATUSQ, i);
	}
	drv_kick(&kbd, STATUSQ);
	g_assert_cmpuint(drv_used_idx(&kbd, STATUSQ), ==, 3);
	g_assert_cmphex(hg_test_msi_get(t, hg_test_msi_count(t) - 1).data, ==, MSI_DATA_BASE + 2);
	hg_test_save(t, dir);
	g_autoptr(GVariant) record = hg_test_saved_record(dir, "virtio-keyboard");
	g_assert_true(g_variant_lookup(record, "input-leds", "y", &saved));
	g_assert_cmphex(saved, ==, 0x02); /* num lock, in hg_input_set_leds bits */
	hg_test_quit(t);
}

static void test_events_wait_for_buffers_and_are_bounded(void)
{
	HgTest *t = hg_test_startv(NULL);
	Drv kbd;
	Event got[QSIZE];
	unsigned total = 0, n;

	drv_open(&kbd, t, KBD_DEVFN);
	drv_init(&kbd);
	for (unsigned i = 0; i < 3; i++)
		key(t, 0x10 + i, true);
	g_assert_cmpuint(drv_used_idx(&kbd, EVENTQ), ==, 0);
	drv_post_events(&kbd, 6);
	EXPECT_EVENTS(&kbd, {EV_KEY, KEY_Q, 1}, SYN, {EV_KEY, KEY_W, 1}, SYN, {EV_KEY, KEY_E, 1},
		      SYN);
	/* 100 reports of two events: 64 fit the 128 the device holds. */
	for (unsigned i = 0; i < 100; i++)
		key(t, 0x1e, i % 2 == 0);
	do {
		drv_post_events(&kbd, QSIZE);
		n = drv_take_events(&kbd, got, QSIZE);
		for (unsigned i = 0; i < n; i++) {
			unsigned at = total + i;
			g_assert_cmpuint(got[i].type, ==, at % 2 ? EV_SYN : EV_KEY);
			if (at % 2 == 0)
				g_assert_cmpint(got[i].value, ==, (at / 2) % 2 == 0);
		}
		total += n;
	} while (n == QSIZE);
	g_assert_cmpuint(total, ==, 128);
	hg_test_quit(t);
}

/* ---- save and restore ---- */

static void test_state_restore_delivers_pending_events(void)
{
	HgTest *a = hg_test_startv(NULL);
	g_autofree char *dir = g_build_filename(hg_test_dir(a), "saved", NULL);
	Drv kbd, restored;

	drv_open(&kbd, a, KBD_DEVFN);
	drv_init(&kbd);
	key(a, 0x1e, true);
	key(a, 0x30, true);
	hg_test_save(a, dir);
	restored = kbd;
	restored.t = hg_test_start("--restore", dir, NULL);
	g_assert_cmphex(COMMON_R(&restored, b, CC_STATUS), ==,
			S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	drv_post_events(&restored, QSIZE);
	EXPECT_EVENTS(&restored, {EV_KEY, KEY_A, 1}, SYN, {EV_KEY, KEY_B, 1}, SYN);
	/* Still the keyboard the router picks. */
	key(restored.t, 0x1e, false);
	EXPECT_EVENTS(&restored, {EV_KEY, KEY_A, 0}, SYN);
	hg_test_quit(restored.t);
	hg_test_quit(a);
}

static void test_state_load_rejects_corrupt_record(void)
{
	static const struct {
		const char *key, *value, *why;
	} cases[] = {
		{"input-pending", "@ay [1, 2, 3]", "not whole"},
		{"input-leds", "byte 8", "LEDs have unknown bits"},
		{"input-buttons", "uint32 0x40", "buttons have unknown bits"},
		{"input-select", "uint16 1", "\"input-select\" has type q"},
		{"virtio-status", "byte 0x10", "unknown bits"},
	};
	HgTest *t = hg_test_startv(NULL);
	g_autofree char *dir = g_build_filename(hg_test_dir(t), "saved", NULL);
	Drv kbd;

	drv_open(&kbd, t, KBD_DEVFN);
	drv_init(&kbd);
	key(t, 0x1e, true);
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		hg_test_save(t, dir);
		hg_test_edit_saved_record_text(dir, "virtio-keyboard", cases[c].key,
					       cases[c].value);
		hg_test_expect_restore_refused(dir, NULL, "virtio-keyboard", cases[c].why);
	}
	hg_test_quit(t);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/virtio-input/pci/identity-of-both-devices",
			test_identity_of_both_devices);
	g_test_add_func("/virtio-input/config/names-serials-and-ids",
			test_config_names_serials_and_ids);
	g_test_add_func("/virtio-input/config/keyboard-event-bits",
			test_config_keyboard_event_bits);
	g_test_add_func("/virtio-input/config/tablet-event-bits-and-abs-info",
			test_config_tablet_event_bits_and_abs_info);
	g_test_add_func("/virtio-input/keyboard/key-arrives-as-ev-key-and-syn-with-msi",
			test_keyboard_key_arrives_as_ev_key_and_syn_with_msi);
	g_test_add_func("/virtio-input/tablet/absolute-event-is-scaled",
			test_tablet_absolute_event_is_scaled);
	g_test_add_func("/virtio-input/routing/prefers-virtio-once-driver-ok",
			test_routing_prefers_virtio_once_driver_ok);
	g_test_add_func("/virtio-input/keyboard/led-status-reaches-the-device-state",
			test_keyboard_led_status_reaches_the_device_state);
	g_test_add_func("/virtio-input/events/wait-for-buffers-and-are-bounded",
			test_events_wait_for_buffers_and_are_bounded);
	g_test_add_func("/virtio-input/state/restore-delivers-pending-events",
			test_state_restore_delivers_pending_events);
	g_test_add_func("/virtio-input/state/load-rejects-corrupt-record",
			test_state_load_rejects_corrupt_record);
	return g_test_run();
}

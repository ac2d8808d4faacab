/* virtio-blk over modern virtio-pci through the harness, driven by a small
 * virtio driver written here: PCI configuration through 0xCF8/0xCFC, BARs,
 * the vendor capabilities, feature negotiation, one split queue in guest
 * RAM, notifications by MMIO and completions polled from the used ring
 * (they arrive asynchronously from the engine's block workers). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/harness/pci.h"
#include "tests/harness/saved_state.h"

#define BLK_DEVFN (4 << 3)
#define PIIX3_DEVFN (1 << 3)
#define BAR0_ADDR 0xe0000000ull
#define BAR1_ADDR 0xe0010000ull
#define DISK_SIZE (8u << 20)
#define DISK_SECTORS (DISK_SIZE / 512)
#define OUTSIDE_RAM 0x20000000ull /* the harness has 256 MiB */

/* Guest RAM used by the driver. */
#define RING_DESC 0x10000
#define RING_AVAIL 0x14000
#define RING_USED 0x18000
#define HDR_AREA 0x20000
#define STATUS_AREA 0x28000
#define TABLE_AREA 0x30000
#define DATA_AREA 0x100000

/* Common configuration (virtio 1.2, 4.1.4.3). */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_MSIX 0x10
#define CC_NUMQ 0x12
#define CC_STATUS 0x14
#define CC_GENERATION 0x15
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
#define S_NEEDS_RESET 0x40

#define F_SIZE_MAX (1ull << 1)
#define F_SEG_MAX (1ull << 2)
#define F_GEOMETRY (1ull << 4)
#define F_RO (1ull << 5)
#define F_BLK_SIZE (1ull << 6)
#define F_FLUSH (1ull << 9)
#define F_TOPOLOGY (1ull << 10)
#define F_DISCARD (1ull << 13)
#define F_WRITE_ZEROES (1ull << 14)
#define F_INDIRECT (1ull << 28)
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)
#define F_BASIC (F_VERSION_1 | F_BLK_SIZE | F_FLUSH | F_SEG_MAX)

#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define ST_OK 0
#define ST_IOERR 1
#define ST_UNSUPP 2

#define MSI_CONFIG_DATA 0x40
#define MSI_QUEUE_DATA 0x41

typedef struct {
	HgTest *t;
	char *dir; /* the disk images live here, outside the engine's directory */
	char *image;
	char *drive; /* the --drive argument */
	uint64_t common, isr, device, notify;
	uint32_t notify_mul;
	uint8_t msix_cap;
	uint16_t qsize;
	uint16_t notify_off;
	uint16_t avail_idx; /* entries offered so far */
	uint16_t next_desc;
} Drv;

typedef struct {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
} Seg;

/* ---- disk images ---- */

static uint8_t pattern_byte(uint64_t offset)
{
	return (uint8_t)(offset / 512 * 31 + offset % 251 + 1);
}

static char *make_image(const char *dir, const char *name)
{
	char *path = g_build_filename(dir, name, NULL);
	g_autofree uint8_t *data = g_malloc(DISK_SIZE);
	g_autoptr(GError) error = NULL;

	for (uint64_t i = 0; i < DISK_SIZE; i++)
		data[i] = pattern_byte(i);
	g_assert_true(g_file_set_contents(path, (char *)data, DISK_SIZE, &error));
	return path;
}

static void read_image(const char *path, uint64_t offset, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(pread(fd, buf, len, offset), ==, (ssize_t)len);
	close(fd);
}

/* ---- the driver ---- */

static void drv_find_capabilities(Drv *d)
{
	HgTest *t = d->t;

	for (uint8_t p = hg_test_pci_readb(t, BLK_DEVFN, 0x34); p;
	     p = hg_test_pci_readb(t, BLK_DEVFN, p + 1)) {
		uint8_t id = hg_test_pci_readb(t, BLK_DEVFN, p);
		if (id == 0x11) {
			d->msix_cap = p;
			continue;
		}
		if (id != 0x09)
			continue;
		uint8_t type = hg_test_pci_readb(t, BLK_DEVFN, p + 3);
		uint8_t bar = hg_test_pci_readb(t, BLK_DEVFN, p + 4);
		uint32_t offset = hg_test_pci_readl(t, BLK_DEVFN, p + 8);
		uint64_t base = bar == 0 ? BAR0_ADDR : BAR1_ADDR;
		g_assert_cmpuint(bar, <=, 1);
		switch (type) {
		case 1:
			d->common = base + offset;
			break;
		case 2:
			d->notify = base + offset;
			d->notify_mul = hg_test_pci_readl(t, BLK_DEVFN, p + 16);
			break;
		case 3:
			d->isr = base + offset;
			break;
		case 4:
			d->device = base + offset;
			break;
		}
	}
	g_assert_cmpuint(d->common, !=, 0);
	g_assert_cmpuint(d->notify, !=, 0);
	g_assert_cmpuint(d->isr, !=, 0);
	g_assert_cmpuint(d->device, !=, 0);
	g_assert_cmpuint(d->msix_cap, !=, 0);
}

static void drv_program_bars(Drv *d)
{
	hg_test_pci_writel(d->t, BLK_DEVFN, 0x10, (uint32_t)BAR0_ADDR);
	hg_test_pci_writel(d->t, BLK_DEVFN, 0x14, (uint32_t)BAR1_ADDR);
	hg_test_pci_writew(d->t, BLK_DEVFN, 0x04, 0x0006); /* memory, bus master */
}

static void drv_launch(Drv *d, const char *restore_dir)
{
	const char *args[] = {"--drive", d->drive, restore_dir ? "--restore" : NULL, restore_dir,
			      NULL};
	d->t = hg_test_startv(args);
}

/* A fresh image and engine; extra is appended to the --drive option. */
static Drv *drv_start(const char *extra)
{
	Drv *d = g_new0(Drv, 1);
	g_autoptr(GError) error = NULL;

	d->dir = g_dir_make_tmp("hangar-virtio-blk-XXXXXX", &error);
	g_assert_no_error(error);
	d->image = make_image(d->dir, "disk.img");
	d->drive = g_strdup_printf("file=%s,if=virtio%s", d->image, extra ? extra : "");
	drv_launch(d, NULL);
	drv_program_bars(d);
	drv_find_capabilities(d);
	return d;
}

static void drv_stop(Drv *d)
{
	hg_test_quit(d->t);
	hg_test_remove_tree(d->dir);
	g_free(d->dir);
	g_free(d->image);
	g_free(d->drive);
	g_free(d);
}

#define COMMON_R(d, w, off) hg_test_read##w((d)->t, (d)->common + (off))
#define COMMON_W(d, w, off, v) hg_test_write##w((d)->t, (d)->common + (off), (v))

static uint8_t drv_status(Drv *d)
{
	return COMMON_R(d, b, CC_STATUS);
}

static uint64_t drv_device_features(Drv *d)
{
	COMMON_W(d, l, CC_DFSELECT, 0);
	uint64_t lo = COMMON_R(d, l, CC_DF);
	COMMON_W(d, l, CC_DFSELECT, 1);
	return lo | (uint64_t)COMMON_R(d, l, CC_DF) << 32;
}

static void drv_write_features(Drv *d, uint64_t features)
{
	COMMON_W(d, l, CC_GFSELECT, 0);
	COMMON_W(d, l, CC_GF, (uint32_t)features);
	COMMON_W(d, l, CC_GFSELECT, 1);
	COMMON_W(d, l, CC_GF, (uint32_t)(features >> 32));
}

/* Reset, ACKNOWLEDGE, DRIVER, features; true when FEATURES_OK stuck. */
static bool drv_negotiate(Drv *d, uint64_t features)
{
	COMMON_W(d, b, CC_STATUS, 0);
	g_assert_cmphex(drv_status(d), ==, 0);
	COMMON_W(d, b, CC_STATUS, S_ACK);
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER);
	drv_write_features(d, features);
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return drv_status(d) & S_FEATURES_OK;
}

static void drv_memset(Drv *d, uint64_t addr, unsigned len, uint8_t byte)
{
	g_autofree char *r =
		hg_test_request(d->t, "memset 0x%" G_GINT64_MODIFIER "x %u %u", addr, len, byte);
	g_assert_cmpstr(r, ==, "OK");
}

static void drv_set_queue_addresses(Drv *d, uint64_t desc, uint64_t avail, uint64_t used)
{
	COMMON_W(d, l, CC_Q_DESC, (uint32_t)desc);
	COMMON_W(d, l, CC_Q_DESC + 4, (uint32_t)(desc >> 32));
	COMMON_W(d, l, CC_Q_AVAIL, (uint32_t)avail);
	COMMON_W(d, l, CC_Q_AVAIL + 4, (uint32_t)(avail >> 32));
	COMMON_W(d, l, CC_Q_USED, (uint32_t)used);
	COMMON_W(d, l, CC_Q_USED + 4, (uint32_t)(used >> 32));
}

/* Queue 0 with qsize entries at the fixed ring addresses. */
static void drv_setup_queue(Drv *d, uint16_t qsize)
{
	drv_memset(d, RING_DESC, 0xc000, 0);
	COMMON_W(d, w, CC_Q_SELECT, 0);
	COMMON_W(d, w, CC_Q_SIZE, qsize);
	drv_set_queue_addresses(d, RING_DESC, RING_AVAIL, RING_USED);
	COMMON_W(d, w, CC_Q_MSIX, 1);
	COMMON_W(d, w, CC_Q_ENABLE, 1);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_ENABLE), ==, 1);
	d->notify_off = COMMON_R(d, w, CC_Q_NOFF);
	d->qsize = qsize;
	d->avail_idx = 0;
	d->next_desc = 0;
}

/* MSI-X on, vector 0 for configuration changes, 1 for the queue. */
static void drv_enable_msix(Drv *d)
{
	hg_test_pci_writew(d->t, BLK_DEVFN, d->msix_cap + 2, 0x8000);
	for (unsigned v = 0; v < 2; v++) {
		hg_test_writel(d->t, BAR1_ADDR + 16 * v, 0xfee00000);
		hg_test_writel(d->t, BAR1_ADDR + 16 * v + 4, 0);
		hg_test_writel(d->t, BAR1_ADDR + 16 * v + 8, MSI_CONFIG_DATA + v);
		hg_test_writel(d->t, BAR1_ADDR + 16 * v + 12, 0);
	}
}

/* The whole of 3.1.1 with MSI-X. */
static void drv_init(Drv *d, uint64_t features, uint16_t qsize)
{
	drv_enable_msix(d);
	g_assert_true(drv_negotiate(d, features));
	COMMON_W(d, w, CC_MSIX, 0);
	g_assert_cmpuint(COMMON_R(d, w, CC_MSIX), ==, 0);
	drv_setup_queue(d, qsize);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_MSIX), ==, 1);
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	g_assert_cmphex(drv_status(d), ==, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	hg_test_msi_clear(d->t);
}

static void drv_put_desc(Drv *d, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
			 uint16_t flags, uint16_t next)
{
	uint8_t raw[16];
	memcpy(raw, &addr, 8);
	memcpy(raw + 8, &len, 4);
	memcpy(raw + 12, &flags, 2);
	memcpy(raw + 14, &next, 2);
	hg_test_memwrite(d->t, table + 16 * i, raw, sizeof(raw));
}

static void drv_offer(Drv *d, uint16_t head)
{
	hg_test_writew(d->t, RING_AVAIL + 4 + 2 * (d->avail_idx % d->qsize), head);
	d->avail_idx++;
	hg_test_writew(d->t, RING_AVAIL + 2, d->avail_idx);
}

static void drv_kick(Drv *d)
{
	hg_test_writew(d->t, d->notify + d->notify_off * d->notify_mul, 0);
}

/* Lay segs out as a chain of ring descriptors; returns the head. */
static uint16_t drv_chain(Drv *d, const Seg *segs, unsigned n)
{
	uint16_t head = d->next_desc;

	for (unsigned i = 0; i < n; i++) {
		unsigned idx = (head + i) % d->qsize, next = (head + i + 1) % d->qsize;
		drv_put_desc(d, RING_DESC, idx, segs[i].addr, segs[i].len,
			     segs[i].flags | (i + 1 < n ? D_NEXT : 0), next);
	}
	d->next_desc = (head + n) % d->qsize;
	return head;
}

static uint16_t drv_used_idx(Drv *d)
{
	return hg_test_readw(d->t, RING_USED + 2);
}

/* Poll the used ring (completions are asynchronous), at most 5 s. */
static void drv_wait_used(Drv *d, uint16_t target)
{
	for (int i = 0; i < 5000; i++) {
		if (drv_used_idx(d) == target)
			return;
		g_usleep(1000);
	}
	g_error("used index stayed at %u, expected %u", drv_used_idx(d), target);
}

static uint64_t hdr_addr(uint16_t slot)
{
	return HDR_AREA + 16 * (slot % 512);
}

static uint64_t status_addr(uint16_t slot)
{
	return STATUS_AREA + (slot % 512);
}

static void drv_write_header(Drv *d, uint16_t slot, uint32_t type, uint64_t sector)
{
	uint8_t h[16] = {0};
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	hg_test_memwrite(d->t, hdr_addr(slot), h, sizeof(h));
	hg_test_writeb(d->t, status_addr(slot), 0xff);
}

/* One request: header, data (device-writable if data_in), status.  Returns
 * the status byte once the device used the chain. */
static uint8_t drv_request(Drv *d, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
			   bool data_in)
{
	uint16_t slot = d->avail_idx;
	Seg segs[3];
	unsigned n = 0;

	drv_write_header(d, slot, type, sector);
	segs[n++] = (Seg){hdr_addr(slot), 16, 0};
	if (len)
		segs[n++] = (Seg){data, len, data_in ? D_WRITE : 0};
	segs[n++] = (Seg){status_addr(slot), 1, D_WRITE};
	drv_offer(d, drv_chain(d, segs, n));
	drv_kick(d);
	drv_wait_used(d, d->avail_idx);
	return hg_test_readb(d->t, status_addr(slot));
}

static uint8_t drv_read(Drv *d, uint64_t sector, uint64_t data, uint32_t len)
{
	return drv_request(d, T_IN, sector, data, len, true);
}

static uint8_t drv_write(Drv *d, uint64_t sector, uint64_t data, uint32_t len)
{
	return drv_request(d, T_OUT, sector, data, len, false);
}

/* A discard / write zeroes request with one segment. */
static uint8_t drv_dwz(Drv *d, uint32_t type, uint64_t sector, uint32_t sectors, uint32_t flags,
		       unsigned n_segments)
{
	uint8_t seg[32];

	for (unsigned i = 0; i < 2; i++) {
		memcpy(seg + 16 * i, &sector, 8);
		memcpy(seg + 16 * i + 8, &sectors, 4);
		memcpy(seg + 16 * i + 12, &flags, 4);
	}
	hg_test_memwrite(d->t, DATA_AREA, seg, sizeof(seg));
	return drv_request(d, type, 0, DATA_AREA, 16 * n_segments, false);
}

static void expect_needs_reset(Drv *d)
{
	g_assert_cmphex(drv_status(d) & S_NEEDS_RESET, ==, S_NEEDS_RESET);
	/* A running driver hears of it through the configuration vector. */
	g_assert_cmpuint(hg_test_msi_count(d->t), >=, 1);
	g_assert_cmphex(hg_test_msi_get(d->t, hg_test_msi_count(d->t) - 1).data, ==,
			MSI_CONFIG_DATA);
	g_assert_cmpuint(hg_test_readb(d->t, d->isr) & 2, ==, 2);
}

/* After "needs reset": the device still serves a driver that starts over. */
static void expect_recovers(Drv *d)
{
	uint8_t buf[512], want[512];

	drv_init(d, F_BASIC, 16);
	g_assert_cmpuint(drv_read(d, 3, DATA_AREA, 512), ==, ST_OK);
	hg_test_memread(d->t, DATA_AREA, buf, sizeof(buf));
	read_image(d->image, 3 * 512, want, sizeof(want));
	g_assert_cmpmem(buf, sizeof(buf), want, sizeof(want));
}

/* ---- identity and configuration ---- */

static void test_identity_and_capabilities(void)
{
	Drv *d = drv_start(NULL);
	HgTest *t = d->t;
	unsigned found[256] = {0};

	g_assert_cmphex(hg_test_pci_readl(t, BLK_DEVFN, 0x00), ==, 0x10421af4);
	g_assert_cmphex(hg_test_pci_readb(t, BLK_DEVFN, 0x08), >=, 1); /* modern: revision 1+ */
	g_assert_cmphex(hg_test_pci_readl(t, BLK_DEVFN, 0x08) >> 8, ==, 0x018000);
	/* Subsystem 1af4:1100, as QEMU gives it and the Windows virtio drivers match. */
	g_assert_cmphex(hg_test_pci_readl(t, BLK_DEVFN, 0x2c), ==, 0x11001af4);
	g_assert_cmphex(hg_test_pci_readb(t, BLK_DEVFN, 0x3d), ==, 1);
	for (uint8_t p = hg_test_pci_readb(t, BLK_DEVFN, 0x34); p;
	     p = hg_test_pci_readb(t, BLK_DEVFN, p + 1)) {
		if (hg_test_pci_readb(t, BLK_DEVFN, p) != 0x09)
			continue;
		uint8_t type = hg_test_pci_readb(t, BLK_DEVFN, p + 3);
		uint8_t len = hg_test_pci_readb(t, BLK_DEVFN, p + 2);
		uint32_t length = hg_test_pci_readl(t, BLK_DEVFN, p + 12);
		g_assert_cmpuint(type, >=, 1);
		g_assert_cmpuint(type, <=, 5);
		found[type]++;
		g_assert_cmpuint(len, >=, type == 2 || type == 5 ? 20 : 16);
		if (type == 1)
			g_assert_cmpuint(length, >=, 0x38);
		if (type == 2)
			g_assert_cmpuint(length, >=, 2);
		if (type == 4)
			g_assert_cmpuint(length, >=, 60);
	}
	for (unsigned type = 1; type <= 5; type++)
		g_assert_cmpuint(found[type], ==, 1);
	g_assert_cmpuint(d->notify_mul, ==, 4);
	/* MSI-X: 1 + 1 queue vectors. */
	g_assert_cmphex(hg_test_pci_readw(t, BLK_DEVFN, d->msix_cap + 2) & 0x7ff, ==, 1);
	g_assert_cmpuint(COMMON_R(d, w, CC_NUMQ), ==, 1);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_SIZE), ==, 256);
	g_assert_cmphex(COMMON_R(d, w, CC_MSIX), ==, 0xffff);
	g_assert_cmphex(COMMON_R(d, w, CC_Q_MSIX), ==, 0xffff);
	uint64_t f = drv_device_features(d);
	g_assert_cmphex(f & F_VERSION_1, ==, F_VERSION_1);
	g_assert_cmphex(f & (F_INDIRECT | F_EVENT_IDX | F_FLUSH | F_BLK_SIZE | F_SEG_MAX |
			     F_SIZE_MAX | F_DISCARD | F_WRITE_ZEROES | F_TOPOLOGY),
			==,
			F_INDIRECT | F_EVENT_IDX | F_FLUSH | F_BLK_SIZE | F_SEG_MAX | F_SIZE_MAX |
				F_DISCARD | F_WRITE_ZEROES | F_TOPOLOGY);
	g_assert_cmphex(f & F_RO, ==, 0);
	/* Feature words past the second read as zero. */
	COMMON_W(d, l, CC_DFSELECT, 2);
	g_assert_cmphex(COMMON_R(d, l, CC_DF), ==, 0);
	drv_stop(d);
}

static void test_bars_size_as_32_bit_memory(void)
{
	Drv *d = drv_start(NULL);

	/* As firmware does: decoding off while the BARs read back sizes. */
	hg_test_pci_writew(d->t, BLK_DEVFN, 0x04, 0);
	hg_test_pci_writel(d->t, BLK_DEVFN, 0x10, 0xffffffff);
	hg_test_pci_writel(d->t, BLK_DEVFN, 0x14, 0xffffffff);
	g_assert_cmphex(hg_test_pci_readl(d->t, BLK_DEVFN, 0x10), ==, 0xffffc000);
	g_assert_cmphex(hg_test_pci_readl(d->t, BLK_DEVFN, 0x14), ==, 0xfffff000);
	g_assert_cmphex(hg_test_pci_readl(d->t, BLK_DEVFN, 0x18), ==, 0);
	drv_stop(d);
}

static void test_config_space_describes_the_disk(void)
{
	Drv *d = drv_start(NULL);
	uint64_t dev = d->device;
	uint64_t capacity = hg_test_readl(d->t, dev + 4);

	capacity = capacity << 32 | hg_test_readl(d->t, dev + 0);
	g_assert_cmpuint(capacity, ==, DISK_SECTORS);
	g_assert_cmpuint(hg_test_readl(d->t, dev + 8), ==, 1u << 20); /* size_max */
	g_assert_cmpuint(hg_test_readl(d->t, dev + 12), ==, 254); /* seg_max */
	g_assert_cmpuint(hg_test_readw(d->t, dev + 16), ==, DISK_SECTORS / (16 * 63));
	g_assert_cmpuint(hg_test_readb(d->t, dev + 18), ==, 16);
	g_assert_cmpuint(hg_test_readb(d->t, dev + 19), ==, 63);
	g_assert_cmpuint(hg_test_readl(d->t, dev + 20), ==, 512); /* blk_size */
	g_assert_cmpuint(hg_test_readb(d->t, dev + 24), ==, 0); /* physical_block_exp */
	g_assert_cmpuint(hg_test_readw(d->t, dev + 26), ==, 1); /* min_io_size */
	g_assert_cmpuint(hg_test_readl(d->t, dev + 36), ==, 0x3fffff); /* max_discard_sectors */
	g_assert_cmpuint(hg_test_readl(d->t, dev + 40), ==, 1); /* max_discard_seg */
	g_assert_cmpuint(hg_test_readl(d->t, dev + 44), ==, 8); /* discard alignment */
	g_assert_cmpuint(hg_test_readl(d->t, dev + 48), ==, 0x3fffff);
	g_assert_cmpuint(hg_test_readl(d->t, dev + 52), ==, 1);
	g_assert_cmpuint(hg_test_readb(d->t, dev + 56), ==, 1); /* write_zeroes_may_unmap */
	/* Past the structure: nothing. */
	g_assert_cmpuint(hg_test_readl(d->t, dev + 60), ==, 0);
	/* The generation stays put while nothing changes. */
	uint8_t gen = COMMON_R(d, b, CC_GENERATION);
	hg_test_readl(d->t, dev);
	g_assert_cmpuint(COMMON_R(d, b, CC_GENERATION), ==, gen);
	drv_stop(d);
}

static void test_pci_config_window_reaches_the_common_configuration(void)
{
	Drv *d = drv_start(NULL);
	HgTest *t = d->t;
	uint8_t cap = 0;

	for (uint8_t p = hg_test_pci_readb(t, BLK_DEVFN, 0x34); p;
	     p = hg_test_pci_readb(t, BLK_DEVFN, p + 1))
		if (hg_test_pci_readb(t, BLK_DEVFN, p) == 0x09 &&
		    hg_test_pci_readb(t, BLK_DEVFN, p + 3) == 5)
			cap = p;
	g_assert_cmpuint(cap, !=, 0);
	/* Read num_queues (2 bytes at 0x12), then write device_status. */
	hg_test_pci_writeb(t, BLK_DEVFN, cap + 4, 0);
	hg_test_pci_writel(t, BLK_DEVFN, cap + 8, (uint32_t)(d->common - BAR0_ADDR) + CC_NUMQ);
	hg_test_pci_writel(t, BLK_DEVFN, cap + 12, 2);
	g_assert_cmpuint(hg_test_pci_readw(t, BLK_DEVFN, cap + 16), ==, 1);
	hg_test_pci_writel(t, BLK_DEVFN, cap + 8, (uint32_t)(d->common - BAR0_ADDR) + CC_STATUS);
	hg_test_pci_writel(t, BLK_DEVFN, cap + 12, 1);
	hg_test_pci_writeb(t, BLK_DEVFN, cap + 16, S_ACK);
	g_assert_cmphex(drv_status(d), ==, S_ACK);
	/* A bad window (length 3) does nothing. */
	hg_test_pci_writel(t, BLK_DEVFN, cap + 12, 3);
	hg_test_pci_writeb(t, BLK_DEVFN, cap + 16, 0);
	g_assert_cmphex(drv_status(d), ==, S_ACK);
	drv_stop(d);
}

static void test_one_function_per_virtio_drive(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("hangar-virtio-blk-XXXXXX", &error);
	g_autofree char *a = make_image(dir, "a.img");
	g_autofree char *b = make_image(dir, "b.img");
	g_autofree char *da = g_strdup_printf("file=%s,if=virtio", a);
	g_autofree char *db = g_strdup_printf("file=%s,if=virtio,readonly=on", b);
	const char *args[] = {"--drive", da, "--drive", db, NULL};
	HgTest *t = hg_test_startv(args);

	g_assert_cmphex(hg_test_pci_readl(t, 4 << 3, 0), ==, 0x10421af4);
	g_assert_cmphex(hg_test_pci_readl(t, 5 << 3, 0), ==, 0x10421af4);
	g_assert_cmphex(hg_test_pci_readl(t, 6 << 3, 0), ==, 0xffffffff);
	hg_test_quit(t);
	hg_test_remove_tree(dir);
}

/* ---- feature negotiation and status ---- */

static void test_version_1_is_required(void)
{
	Drv *d = drv_start(NULL);

	g_assert_false(drv_negotiate(d, F_BLK_SIZE | F_FLUSH));
	/* DRIVER_OK cannot jump the negotiation either. */
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	g_assert_cmphex(drv_status(d) & S_DRIVER_OK, ==, 0);
	g_assert_true(drv_negotiate(d, F_VERSION_1));
	drv_stop(d);
}

static void test_unknown_features_are_refused(void)
{
	Drv *d = drv_start(NULL);

	/* Bit 0 (the legacy BARRIER) and bit 34 (RING_PACKED) are not offered. */
	g_assert_false(drv_negotiate(d, F_VERSION_1 | 1));
	g_assert_false(drv_negotiate(d, F_VERSION_1 | 1ull << 34));
	g_assert_true(drv_negotiate(d, F_VERSION_1 | F_DISCARD));
	/* Fixed once accepted. */
	drv_write_features(d, F_VERSION_1);
	COMMON_W(d, l, CC_GFSELECT, 0);
	g_assert_cmphex(COMMON_R(d, l, CC_GF), ==, (uint32_t)F_DISCARD);
	drv_stop(d);
}

static void test_status_bits_only_accumulate_until_reset(void)
{
	Drv *d = drv_start(NULL);

	drv_init(d, F_BASIC, 16);
	COMMON_W(d, b, CC_STATUS, S_ACK); /* clearing is not the driver's to do */
	g_assert_cmphex(drv_status(d), ==, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	COMMON_W(d, b, CC_STATUS, S_NEEDS_RESET | S_ACK); /* nor is NEEDS_RESET */
	g_assert_cmphex(drv_status(d) & S_NEEDS_RESET, ==, 0);
	drv_stop(d);
}

static void test_reset_clears_status_features_and_queues(void)
{
	Drv *d = drv_start(NULL);

	drv_init(d, F_BASIC | F_EVENT_IDX, 16);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	COMMON_W(d, b, CC_STATUS, 0);
	g_assert_cmphex(drv_status(d), ==, 0);
	COMMON_W(d, l, CC_GFSELECT, 0);
	g_assert_cmphex(COMMON_R(d, l, CC_GF), ==, 0);
	COMMON_W(d, l, CC_GFSELECT, 1);
	g_assert_cmphex(COMMON_R(d, l, CC_GF), ==, 0);
	g_assert_cmphex(COMMON_R(d, w, CC_MSIX), ==, 0xffff);
	COMMON_W(d, w, CC_Q_SELECT, 0);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_ENABLE), ==, 0);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_SIZE), ==, 256);
	g_assert_cmphex(COMMON_R(d, w, CC_Q_MSIX), ==, 0xffff);
	g_assert_cmphex(COMMON_R(d, l, CC_Q_DESC), ==, 0);
	/* And the device starts over from index 0. */
	drv_init(d, F_BASIC, 16);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	g_assert_cmpuint(drv_used_idx(d), ==, 1);
	drv_stop(d);
}

static void test_msix_vectors_out_of_range_read_as_no_vector(void)
{
	Drv *d = drv_start(NULL);

	COMMON_W(d, w, CC_MSIX, 2);
	g_assert_cmphex(COMMON_R(d, w, CC_MSIX), ==, 0xffff);
	COMMON_W(d, w, CC_Q_MSIX, 1);
	g_assert_cmphex(COMMON_R(d, w, CC_Q_MSIX), ==, 1);
	COMMON_W(d, w, CC_Q_MSIX, 0x7ff);
	g_assert_cmphex(COMMON_R(d, w, CC_Q_MSIX), ==, 0xffff);
	drv_stop(d);
}

/* ---- queue setup ---- */

static bool try_queue_size(Drv *d, uint16_t size)
{
	g_assert_true(drv_negotiate(d, F_BASIC));
	COMMON_W(d, w, CC_Q_SELECT, 0);
	COMMON_W(d, w, CC_Q_SIZE, size);
	drv_set_queue_addresses(d, RING_DESC, RING_AVAIL, RING_USED);
	COMMON_W(d, w, CC_Q_ENABLE, 1);
	return COMMON_R(d, w, CC_Q_ENABLE) == 1;
}

static void test_queue_size_must_be_a_supported_power_of_two(void)
{
	Drv *d = drv_start(NULL);

	g_assert_false(try_queue_size(d, 100));
	g_assert_false(try_queue_size(d, 0));
	g_assert_false(try_queue_size(d, 2048));
	g_assert_false(try_queue_size(d, 512)); /* beyond the offered 256 */
	g_assert_cmphex(drv_status(d) & S_NEEDS_RESET, ==, 0);
	g_assert_true(try_queue_size(d, 64));
	/* Enabled: its configuration no longer changes. */
	COMMON_W(d, w, CC_Q_SIZE, 32);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_SIZE), ==, 64);
	COMMON_W(d, l, CC_Q_DESC, 0x50000);
	g_assert_cmphex(COMMON_R(d, l, CC_Q_DESC), ==, RING_DESC);
	/* Writing 0 to queue_enable does not disable it. */
	COMMON_W(d, w, CC_Q_ENABLE, 0);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_ENABLE), ==, 1);
	/* Queues beyond num_queues do not exist. */
	COMMON_W(d, w, CC_Q_SELECT, 1);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_SIZE), ==, 0);
	COMMON_W(d, w, CC_Q_ENABLE, 1);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_ENABLE), ==, 0);
	drv_stop(d);
}

static void test_queue_may_be_set_up_before_features_ok(void)
{
	/* SeaBIOS enables its queue before negotiating features. */
	Drv *d = drv_start(NULL);

	COMMON_W(d, b, CC_STATUS, 0);
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER);
	drv_setup_queue(d, 128);
	drv_write_features(d, F_VERSION_1 | F_BLK_SIZE);
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	g_assert_cmpuint(drv_read(d, 1, DATA_AREA, 512), ==, ST_OK);
	drv_stop(d);
}

/* ---- I/O ---- */

static void test_write_then_read_round_trips_through_the_image(void)
{
	Drv *d = drv_start(NULL);
	uint8_t data[1024], file[1024], back[2048], want[2048];

	drv_init(d, F_BASIC, 16);
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = i * 13 + 7;
	hg_test_memwrite(d->t, DATA_AREA, data, sizeof(data));
	g_assert_cmpuint(drv_write(d, 10, DATA_AREA, sizeof(data)), ==, ST_OK);
	read_image(d->image, 10 * 512, file, sizeof(file));
	g_assert_cmpmem(file, sizeof(file), data, sizeof(data));
	/* The used length counts the writable bytes: the status only. */
	g_assert_cmpuint(hg_test_readl(d->t, RING_USED + 4 + 4), ==, 1);

	g_assert_cmpuint(drv_read(d, 9, DATA_AREA + 0x10000, sizeof(back)), ==, ST_OK);
	hg_test_memread(d->t, DATA_AREA + 0x10000, back, sizeof(back));
	read_image(d->image, 9 * 512, want, sizeof(want));
	g_assert_cmpmem(back, sizeof(back), want, sizeof(want));
	g_assert_cmpmem(back + 512, sizeof(data), data, sizeof(data));
	g_assert_cmpuint(hg_test_readl(d->t, RING_USED + 4 + 8 + 4), ==, sizeof(back) + 1);
	drv_stop(d);
}

static void test_framing_is_free(void)
{
	/* Header and data in one descriptor; the read's data split in three,
	 * the last of which also holds the status byte (2.7.4). */
	Drv *d = drv_start(NULL);
	uint8_t out[16 + 512], back[1024], want[1024];
	uint32_t type = T_OUT;
	uint64_t sector = 20;

	drv_init(d, F_BASIC, 16);
	memset(out, 0, 16);
	memcpy(out, &type, 4);
	memcpy(out + 8, &sector, 8);
	for (unsigned i = 0; i < 512; i++)
		out[16 + i] = 0xa0 ^ i;
	hg_test_memwrite(d->t, DATA_AREA, out, sizeof(out));
	Seg w[] = {{DATA_AREA, sizeof(out), 0}, {STATUS_AREA, 1, D_WRITE}};
	hg_test_writeb(d->t, STATUS_AREA, 0xff);
	drv_offer(d, drv_chain(d, w, 2));
	drv_kick(d);
	drv_wait_used(d, 1);
	g_assert_cmpuint(hg_test_readb(d->t, STATUS_AREA), ==, ST_OK);

	drv_write_header(d, 1, T_IN, 20);
	Seg r[] = {{hdr_addr(1), 16, 0},
		   {DATA_AREA + 0x1000, 100, D_WRITE},
		   {DATA_AREA + 0x2000, 412, D_WRITE},
		   {DATA_AREA + 0x3000, 513, D_WRITE}};
	drv_offer(d, drv_chain(d, r, 4));
	drv_kick(d);
	drv_wait_used(d, 2);
	g_assert_cmpuint(hg_test_readb(d->t, DATA_AREA + 0x3000 + 512), ==, ST_OK);
	hg_test_memread(d->t, DATA_AREA + 0x1000, back, 100);
	hg_test_memread(d->t, DATA_AREA + 0x2000, back + 100, 412);
	hg_test_memread(d->t, DATA_AREA + 0x3000, back + 512, 512);
	read_image(d->image, 20 * 512, want, sizeof(want));
	g_assert_cmpmem(back, sizeof(back), want, sizeof(want));
	g_assert_cmpmem(back, 512, out + 16, 512);
	drv_stop(d);
}

static void test_many_requests_in_flight_complete(void)
{
	Drv *d = drv_start(NULL);
	uint8_t buf[512], want[512];

	drv_init(d, F_BASIC, 64);
	/* 20 reads offered, one kick. */
	for (unsigned i = 0; i < 20; i++) {
		uint16_t slot = d->avail_idx;
		drv_write_header(d, slot, T_IN, 100 + i);
		Seg s[] = {{hdr_addr(slot), 16, 0},
			   {DATA_AREA + 512 * i, 512, D_WRITE},
			   {status_addr(slot), 1, D_WRITE}};
		drv_offer(d, drv_chain(d, s, 3));
	}
	drv_kick(d);
	drv_wait_used(d, 20);
	for (unsigned i = 0; i < 20; i++) {
		g_assert_cmpuint(hg_test_readb(d->t, status_addr(i)), ==, ST_OK);
		hg_test_memread(d->t, DATA_AREA + 512 * i, buf, sizeof(buf));
		read_image(d->image, (100 + i) * 512, want, sizeof(want));
		g_assert_cmpmem(buf, sizeof(buf), want, sizeof(want));
	}
	drv_stop(d);
}

static void test_repeated_heads_beyond_the_ring_all_complete(void)
{
	/* One chain offered over and over: more requests than the device has
	 * slots for can be in flight; it waits for completions, then goes on. */
	Drv *d = drv_start(NULL);

	drv_init(d, F_BASIC, 256);
	drv_write_header(d, 0, T_IN, 7);
	Seg s[] = {{hdr_addr(0), 16, 0}, {DATA_AREA, 65536, D_WRITE}, {status_addr(0), 1, D_WRITE}};
	uint16_t head = drv_chain(d, s, 3);
	for (unsigned i = 0; i < 256; i++)
		drv_offer(d, head);
	drv_kick(d);
	/* Every ring slot holds the head already: just move the index. */
	d->avail_idx += 200;
	hg_test_writew(d->t, RING_AVAIL + 2, d->avail_idx);
	drv_kick(d);
	drv_wait_used(d, 456);
	g_assert_cmpuint(hg_test_readb(d->t, status_addr(0)), ==, ST_OK);
	g_assert_cmphex(drv_status(d) & S_NEEDS_RESET, ==, 0);
	drv_stop(d);
}

static void test_flush_completes(void)
{
	Drv *d = drv_start(NULL);

	drv_init(d, F_BASIC, 16);
	g_assert_cmpuint(drv_request(d, T_FLUSH, 0, 0, 0, false), ==, ST_OK);
	drv_stop(d);
}

static bool file_system_punches_holes(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "probe", NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	static const uint8_t block[65536] = {1};
	bool ok;

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, block, sizeof(block)), ==, sizeof(block));
	ok = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 32768) == 0 &&
	     lseek(fd, 0, SEEK_HOLE) == 0;
	close(fd);
	unlink(path);
	return ok;
}

static void assert_image_zero(const char *image, uint64_t offset, size_t len)
{
	g_autofree uint8_t *buf = g_malloc(len);
	read_image(image, offset, buf, len);
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			g_error("byte 0x%" G_GINT64_MODIFIER "x of the image is 0x%02x", offset + i,
				buf[i]);
}

static void test_discard_punches_a_hole(void)
{
	Drv *d = drv_start(NULL);
	uint8_t before[512], after[512];

	drv_init(d, F_BASIC | F_DISCARD, 16);
	/* 64 KiB from 64 KiB: sectors 128-255. */
	g_assert_cmpuint(drv_dwz(d, T_DISCARD, 128, 128, 0, 1), ==, ST_OK);
	assert_image_zero(d->image, 128 * 512, 128 * 512);
	read_image(d->image, 127 * 512, before, 512);
	read_image(d->image, 256 * 512, after, 512);
	g_assert_cmpuint(before[0], ==, pattern_byte(127 * 512)); /* neighbours kept */
	g_assert_cmpuint(after[0], ==, pattern_byte(256 * 512));
	if (file_system_punches_holes(d->dir)) {
		int fd = open(d->image, O_RDONLY | O_CLOEXEC);
		g_assert_cmpint(lseek(fd, 0, SEEK_HOLE), ==, 128 * 512);
		close(fd);
	} else {
		g_test_message("the file system here cannot punch holes: contents checked only");
	}
	drv_stop(d);
}

static void test_write_zeroes_zeroes_the_range(void)
{
	Drv *d = drv_start(NULL);
	uint8_t after[512];

	drv_init(d, F_BASIC | F_WRITE_ZEROES, 16);
	g_assert_cmpuint(drv_dwz(d, T_WRITE_ZEROES, 300, 3, 0, 1), ==, ST_OK);
	assert_image_zero(d->image, 300 * 512, 3 * 512);
	g_assert_cmpuint(drv_dwz(d, T_WRITE_ZEROES, 400, 16, 1, 1), ==, ST_OK); /* may unmap */
	assert_image_zero(d->image, 400 * 512, 16 * 512);
	read_image(d->image, 303 * 512, after, 512);
	g_assert_cmpuint(after[0], ==, pattern_byte(303 * 512));
	drv_stop(d);
}

static void test_discard_and_write_zeroes_check_their_limits(void)
{
	Drv *d = drv_start(NULL);

	drv_init(d, F_BASIC | F_DISCARD | F_WRITE_ZEROES, 16);
	g_assert_cmpuint(drv_dwz(d, T_DISCARD, 8, 8, 1, 1), ==, ST_UNSUPP); /* unmap on discard */
	g_assert_cmpuint(drv_dwz(d, T_WRITE_ZEROES, 8, 8, 2, 1), ==, ST_UNSUPP); /* unknown */
	g_assert_cmpuint(drv_dwz(d, T_DISCARD, 8, 8, 0, 2), ==, ST_UNSUPP); /* max_seg 1 */
	g_assert_cmpuint(drv_dwz(d, T_WRITE_ZEROES, DISK_SECTORS - 4, 8, 0, 1), ==, ST_IOERR);
	g_assert_cmpuint(drv_dwz(d, T_DISCARD, 0, 0x400000, 0, 1), ==, ST_IOERR);
	g_assert_cmpuint(drv_request(d, T_DISCARD, 0, DATA_AREA, 8, false), ==, ST_IOERR);
	g_assert_cmpuint(drv_dwz(d, T_DISCARD, 0, 0, 0, 1), ==, ST_OK); /* nothing to do */
	drv_stop(d);
}

static void test_read_only_disk_rejects_writes(void)
{
	Drv *d = drv_start(",readonly=on");
	uint8_t data[512] = {0x55}, file[512];
	uint64_t f = drv_device_features(d);

	g_assert_cmphex(f & F_RO, ==, F_RO);
	g_assert_cmphex(f & (F_DISCARD | F_WRITE_ZEROES), ==, 0);
	drv_init(d, F_BASIC | F_RO, 16);
	hg_test_memwrite(d->t, DATA_AREA, data, sizeof(data));
	g_assert_cmpuint(drv_write(d, 0, DATA_AREA, 512), ==, ST_IOERR);
	read_image(d->image, 0, file, sizeof(file));
	g_assert_cmpuint(file[0], ==, pattern_byte(0));
	g_assert_cmpuint(drv_dwz(d, T_DISCARD, 0, 8, 0, 1), ==, ST_UNSUPP);
	g_assert_cmpuint(drv_dwz(d, T_WRITE_ZEROES, 0, 8, 0, 1), ==, ST_UNSUPP);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	g_assert_cmpuint(drv_request(d, T_FLUSH, 0, 0, 0, false), ==, ST_OK);
	drv_stop(d);
}

/* format=raw (what the library always gives): the image is what the guest
 * sees, a qcow2 header in it included.  It is never opened as qcow2, whose
 * header could name any host file as its backing file. */
static void test_format_raw_is_never_probed(void)
{
	Drv *d = g_new0(Drv, 1);
	g_autoptr(GError) error = NULL;
	uint8_t buf[512];
	int fd;

	d->dir = g_dir_make_tmp("hangar-virtio-blk-XXXXXX", &error);
	g_assert_no_error(error);
	d->image = make_image(d->dir, "disk.img");
	fd = open(d->image, O_WRONLY | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(pwrite(fd, "QFI\xfb", 4, 0), ==, 4);
	close(fd);
	d->drive = g_strdup_printf("file=%s,if=virtio,format=raw", d->image);
	drv_launch(d, NULL);
	drv_program_bars(d);
	drv_find_capabilities(d);
	drv_init(d, F_BASIC, 16);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	hg_test_memread(d->t, DATA_AREA, buf, sizeof(buf));
	g_assert_cmpmem(buf, 4, "QFI\xfb", 4);
	g_assert_cmpuint(buf[4], ==, pattern_byte(4));
	drv_stop(d);
}

/* format=qcow2 on a file that is not one: the engine does not start, and
 * says why; it never falls back to another format. */
static void test_format_qcow2_on_a_raw_image_is_refused(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("hangar-virtio-blk-XXXXXX", &error);
	g_autofree char *image = make_image(dir, "disk.img");
	g_autofree char *drive = g_strdup_printf("file=%s,if=virtio,format=qcow2", image);
	g_autofree char *err = NULL;
	const char *args[] = {"--drive", drive, NULL};

	g_assert_cmpint(hg_test_run_engine_expect_exit(args, &err), ==, 4);
	g_test_message("the engine said: %s", err);
	g_assert_nonnull(strstr(err, image));
	g_assert_nonnull(strstr(err, "not a valid qcow2 image"));
	hg_test_remove_tree(dir);
}

static void test_beyond_capacity_is_an_io_error(void)
{
	Drv *d = drv_start(NULL);

	drv_init(d, F_BASIC, 16);
	g_assert_cmpuint(drv_read(d, DISK_SECTORS - 1, DATA_AREA, 1024), ==, ST_IOERR);
	g_assert_cmpuint(drv_write(d, DISK_SECTORS, DATA_AREA, 512), ==, ST_IOERR);
	g_assert_cmpuint(drv_read(d, 1ull << 60, DATA_AREA, 512), ==, ST_IOERR);
	g_assert_cmpuint(drv_read(d, UINT64_MAX, DATA_AREA, 512), ==, ST_IOERR);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 100), ==, ST_IOERR); /* not whole sectors */
	g_assert_cmpuint(drv_read(d, DISK_SECTORS - 1, DATA_AREA, 512), ==, ST_OK);
	drv_stop(d);
}

static void test_get_id_returns_the_serial(void)
{
	Drv *d = drv_start(NULL);
	char id[24];

	drv_init(d, F_BASIC, 16);
	drv_memset(d, DATA_AREA, sizeof(id), 0xaa);
	g_assert_cmpuint(drv_request(d, T_GET_ID, 0, DATA_AREA, 20, true), ==, ST_OK);
	hg_test_memread(d->t, DATA_AREA, id, sizeof(id));
	g_assert_cmpstr(id, ==, "hangar-vd0");
	for (unsigned i = strlen("hangar-vd0"); i < 20; i++)
		g_assert_cmpuint(id[i], ==, 0); /* NUL padded */
	g_assert_cmphex((uint8_t)id[20], ==, 0xaa); /* nothing past the buffer */
	drv_stop(d);
}

static void test_unknown_request_types_are_unsupported(void)
{
	Drv *d = drv_start(NULL);

	drv_init(d, F_BASIC, 16);
	g_assert_cmpuint(drv_request(d, 2, 0, DATA_AREA, 512, true), ==, ST_UNSUPP); /* SCSI */
	g_assert_cmpuint(drv_request(d, 10, 0, DATA_AREA, 8, true), ==, ST_UNSUPP); /* lifetime */
	g_assert_cmpuint(drv_request(d, 14, 0, DATA_AREA, 16, false), ==, ST_UNSUPP);
	g_assert_cmpuint(drv_request(d, 0x80000000u, 0, 0, 0, false), ==, ST_UNSUPP);
	drv_stop(d);
}

/* ---- ring features ---- */

static void test_indirect_descriptors(void)
{
	Drv *d = drv_start(NULL);
	uint8_t back[1024], want[1024];

	drv_init(d, F_BASIC | F_INDIRECT, 16);
	drv_write_header(d, 0, T_IN, 40);
	drv_put_desc(d, TABLE_AREA, 0, hdr_addr(0), 16, D_NEXT, 3);
	drv_put_desc(d, TABLE_AREA, 3, DATA_AREA, 512, D_NEXT | D_WRITE, 1);
	drv_put_desc(d, TABLE_AREA, 1, DATA_AREA + 0x1000, 512, D_NEXT | D_WRITE, 2);
	drv_put_desc(d, TABLE_AREA, 2, status_addr(0), 1, D_WRITE, 0);
	drv_put_desc(d, RING_DESC, 5, TABLE_AREA, 4 * 16, D_INDIRECT, 0);
	drv_offer(d, 5);
	drv_kick(d);
	drv_wait_used(d, 1);
	g_assert_cmpuint(hg_test_readb(d->t, status_addr(0)), ==, ST_OK);
	g_assert_cmpuint(hg_test_readl(d->t, RING_USED + 4), ==, 5); /* the head */
	hg_test_memread(d->t, DATA_AREA, back, 512);
	hg_test_memread(d->t, DATA_AREA + 0x1000, back + 512, 512);
	read_image(d->image, 40 * 512, want, sizeof(want));
	g_assert_cmpmem(back, sizeof(back), want, sizeof(want));
	drv_stop(d);
}

static void test_event_index_suppresses_interrupts(void)
{
	Drv *d = drv_start(NULL);
	uint16_t qsize = 16;
	uint64_t used_event = RING_AVAIL + 4 + 2 * qsize;
	uint64_t avail_event = RING_USED + 4 + 8 * qsize;

	drv_init(d, F_BASIC | F_EVENT_IDX, qsize);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	g_assert_cmpuint(hg_test_msi_count(d->t), ==, 1); /* the first always goes */
	g_assert_cmphex(hg_test_msi_get(d->t, 0).data, ==, MSI_QUEUE_DATA);
	/* "Tell me when entry 2 is used." */
	hg_test_writew(d->t, used_event, 2);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK); /* entry 1 */
	g_assert_cmpuint(hg_test_msi_count(d->t), ==, 1);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK); /* entry 2 */
	g_assert_cmpuint(hg_test_msi_count(d->t), ==, 2);
	/* The device asks to be kicked at the next entry. */
	g_assert_cmpuint(hg_test_readw(d->t, avail_event), ==, 3);
	drv_stop(d);
}

static void test_no_interrupt_flag_without_event_index(void)
{
	Drv *d = drv_start(NULL);

	drv_init(d, F_BASIC, 16);
	hg_test_writew(d->t, RING_AVAIL, 1); /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	g_assert_cmpuint(hg_test_msi_count(d->t), ==, 0);
	hg_test_writew(d->t, RING_AVAIL, 0);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	g_assert_cmpuint(hg_test_msi_count(d->t), ==, 1);
	drv_stop(d);
}

static void test_masked_msix_vector_is_held_pending(void)
{
	Drv *d = drv_start(NULL);

	drv_init(d, F_BASIC, 16);
	hg_test_writel(d->t, BAR1_ADDR + 16 + 12, 1); /* mask the queue vector */
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	g_assert_cmpuint(hg_test_msi_count(d->t), ==, 0);
	g_assert_cmphex(hg_test_readl(d->t, BAR1_ADDR + 0x800), ==, 2);
	hg_test_writel(d->t, BAR1_ADDR + 16 + 12, 0);
	g_assert_cmpuint(hg_test_msi_count(d->t), ==, 1);
	drv_stop(d);
}

static void test_intx_and_isr_without_msix(void)
{
	Drv *d = drv_start(NULL);
	bool routed = hg_test_pci_readl(d->t, PIIX3_DEVFN, 0) == 0x70008086;

	/* Slot 4, INTA: PIRQ (4 - 1 + 0) & 3 = D (the PIIX wiring), to IRQ 11. */
	if (routed)
		hg_test_pci_writeb(d->t, PIIX3_DEVFN, 0x60 + 3, 11);
	g_assert_true(drv_negotiate(d, F_BASIC));
	drv_setup_queue(d, 16);
	COMMON_W(d, b, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	g_assert_cmpuint(hg_test_msi_count(d->t), ==, 0);
	g_assert_cmphex(hg_test_pci_readw(d->t, BLK_DEVFN, 0x06) & 0x08, ==, 0x08);
	if (routed)
		g_assert_true(hg_test_irq_level(d->t, 11));
	g_assert_cmphex(hg_test_readb(d->t, d->isr), ==, 1); /* queue interrupt */
	g_assert_cmphex(hg_test_pci_readw(d->t, BLK_DEVFN, 0x06) & 0x08, ==, 0);
	if (routed)
		g_assert_false(hg_test_irq_level(d->t, 11));
	g_assert_cmphex(hg_test_readb(d->t, d->isr), ==, 0); /* read clears */
	/* Interrupt Disable masks the line but not the status. */
	hg_test_pci_writew(d->t, BLK_DEVFN, 0x04, 0x0406);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	g_assert_cmphex(hg_test_pci_readw(d->t, BLK_DEVFN, 0x06) & 0x08, ==, 0x08);
	if (routed)
		g_assert_false(hg_test_irq_level(d->t, 11));
	g_assert_cmphex(hg_test_readb(d->t, d->isr), ==, 1);
	drv_stop(d);
}

/* ---- hostile drivers ---- */

/* Offer head and kick; the device must refuse it without using it. */
static void offer_bad_chain(Drv *d, uint16_t head)
{
	drv_offer(d, head);
	drv_kick(d);
	expect_needs_reset(d);
	g_assert_cmpuint(drv_used_idx(d), ==, 0);
}

static Drv *start_hostile(uint64_t features)
{
	Drv *d = drv_start(NULL);
	drv_init(d, F_BASIC | features, 16);
	drv_write_header(d, 0, T_IN, 0);
	return d;
}

static void test_descriptor_loop_needs_reset(void)
{
	Drv *d = start_hostile(0);

	drv_put_desc(d, RING_DESC, 0, hdr_addr(0), 16, D_NEXT, 1);
	drv_put_desc(d, RING_DESC, 1, DATA_AREA, 512, D_NEXT | D_WRITE, 2);
	drv_put_desc(d, RING_DESC, 2, status_addr(0), 1, D_NEXT | D_WRITE, 1);
	offer_bad_chain(d, 0);
	/* A needs-reset device ignores further kicks. */
	drv_kick(d);
	g_assert_cmpuint(drv_used_idx(d), ==, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_next_index_out_of_range_needs_reset(void)
{
	Drv *d = start_hostile(0);

	drv_put_desc(d, RING_DESC, 0, hdr_addr(0), 16, D_NEXT, 16);
	offer_bad_chain(d, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_head_index_out_of_range_needs_reset(void)
{
	Drv *d = start_hostile(0);

	offer_bad_chain(d, 0xffff);
	expect_recovers(d);
	drv_stop(d);
}

static void test_chain_longer_than_the_queue_needs_reset(void)
{
	Drv *d = start_hostile(F_INDIRECT);

	/* 18 descriptors through an indirect table, for a 16-entry queue. */
	drv_put_desc(d, TABLE_AREA, 0, hdr_addr(0), 16, D_NEXT, 1);
	for (unsigned i = 1; i < 17; i++)
		drv_put_desc(d, TABLE_AREA, i, DATA_AREA + 512 * i, 512, D_NEXT | D_WRITE, i + 1);
	drv_put_desc(d, TABLE_AREA, 17, status_addr(0), 1, D_WRITE, 0);
	drv_put_desc(d, RING_DESC, 0, TABLE_AREA, 18 * 16, D_INDIRECT, 0);
	offer_bad_chain(d, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_buffer_outside_ram_needs_reset(void)
{
	Drv *d = start_hostile(0);

	drv_put_desc(d, RING_DESC, 0, hdr_addr(0), 16, D_NEXT, 1);
	drv_put_desc(d, RING_DESC, 1, OUTSIDE_RAM, 512, D_NEXT | D_WRITE, 2);
	drv_put_desc(d, RING_DESC, 2, status_addr(0), 1, D_WRITE, 0);
	offer_bad_chain(d, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_buffer_in_mmio_needs_reset(void)
{
	/* The device's own BAR is not RAM either. */
	Drv *d = start_hostile(0);

	drv_put_desc(d, RING_DESC, 0, hdr_addr(0), 16, D_NEXT, 1);
	drv_put_desc(d, RING_DESC, 1, BAR0_ADDR, 512, D_NEXT | D_WRITE, 2);
	drv_put_desc(d, RING_DESC, 2, status_addr(0), 1, D_WRITE, 0);
	offer_bad_chain(d, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_huge_length_needs_reset(void)
{
	Drv *d = start_hostile(0);

	drv_put_desc(d, RING_DESC, 0, hdr_addr(0), 16, D_NEXT, 1);
	drv_put_desc(d, RING_DESC, 1, DATA_AREA, 0xffffffffu, D_NEXT | D_WRITE, 2);
	drv_put_desc(d, RING_DESC, 2, status_addr(0), 1, D_WRITE, 0);
	offer_bad_chain(d, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_ring_outside_ram_needs_reset(void)
{
	Drv *d = drv_start(NULL);

	drv_enable_msix(d);
	g_assert_true(drv_negotiate(d, F_BASIC));
	COMMON_W(d, w, CC_Q_SELECT, 0);
	COMMON_W(d, w, CC_Q_SIZE, 16);
	drv_set_queue_addresses(d, RING_DESC, RING_AVAIL, OUTSIDE_RAM);
	COMMON_W(d, w, CC_Q_ENABLE, 1);
	g_assert_cmpuint(COMMON_R(d, w, CC_Q_ENABLE), ==, 0);
	g_assert_cmphex(drv_status(d) & S_NEEDS_RESET, ==, S_NEEDS_RESET);
	/* A ring straddling the end of RAM, and a misaligned one. */
	g_assert_true(drv_negotiate(d, F_BASIC));
	drv_set_queue_addresses(d, (256u << 20) - 0x80, RING_AVAIL, RING_USED);
	COMMON_W(d, w, CC_Q_ENABLE, 1);
	g_assert_cmphex(drv_status(d) & S_NEEDS_RESET, ==, S_NEEDS_RESET);
	g_assert_true(drv_negotiate(d, F_BASIC));
	drv_set_queue_addresses(d, RING_DESC + 8, RING_AVAIL, RING_USED);
	COMMON_W(d, w, CC_Q_ENABLE, 1);
	g_assert_cmphex(drv_status(d) & S_NEEDS_RESET, ==, S_NEEDS_RESET);
	expect_recovers(d);
	drv_stop(d);
}

static void test_status_in_a_read_only_descriptor_needs_reset(void)
{
	Drv *d = start_hostile(0);

	/* No device-writable byte at all. */
	drv_put_desc(d, RING_DESC, 0, hdr_addr(0), 16, D_NEXT, 1);
	drv_put_desc(d, RING_DESC, 1, status_addr(0), 1, 0, 0);
	offer_bad_chain(d, 0);
	g_assert_cmphex(hg_test_readb(d->t, status_addr(0)), ==, 0xff); /* untouched */
	expect_recovers(d);
	drv_stop(d);
}

static void test_readable_after_writable_needs_reset(void)
{
	Drv *d = start_hostile(0);

	drv_put_desc(d, RING_DESC, 0, hdr_addr(0), 16, D_NEXT, 1);
	drv_put_desc(d, RING_DESC, 1, DATA_AREA, 512, D_NEXT | D_WRITE, 2);
	drv_put_desc(d, RING_DESC, 2, status_addr(0), 1, 0, 0);
	offer_bad_chain(d, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_short_header_needs_reset(void)
{
	Drv *d = start_hostile(0);

	drv_put_desc(d, RING_DESC, 0, hdr_addr(0), 8, D_NEXT, 1);
	drv_put_desc(d, RING_DESC, 1, status_addr(0), 1, D_WRITE, 0);
	offer_bad_chain(d, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_nested_indirect_needs_reset(void)
{
	Drv *d = start_hostile(F_INDIRECT);

	drv_put_desc(d, TABLE_AREA, 0, hdr_addr(0), 16, D_NEXT, 1);
	drv_put_desc(d, TABLE_AREA, 1, TABLE_AREA + 0x100, 32, D_INDIRECT, 0);
	drv_put_desc(d, RING_DESC, 0, TABLE_AREA, 2 * 16, D_INDIRECT, 0);
	offer_bad_chain(d, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_indirect_without_the_feature_needs_reset(void)
{
	Drv *d = start_hostile(0);

	drv_put_desc(d, TABLE_AREA, 0, hdr_addr(0), 16, D_NEXT, 1);
	drv_put_desc(d, TABLE_AREA, 1, status_addr(0), 1, D_WRITE, 0);
	drv_put_desc(d, RING_DESC, 0, TABLE_AREA, 2 * 16, D_INDIRECT, 0);
	offer_bad_chain(d, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_avail_index_far_ahead_needs_reset(void)
{
	Drv *d = start_hostile(0);

	hg_test_writew(d->t, RING_AVAIL + 2, 1000);
	drv_kick(d);
	expect_needs_reset(d);
	g_assert_cmpuint(drv_used_idx(d), ==, 0);
	expect_recovers(d);
	drv_stop(d);
}

static void test_garbage_in_every_register_leaves_the_engine_alive(void)
{
	Drv *d = drv_start(NULL);
	uint32_t seed = 12345;

	drv_init(d, F_BASIC | F_INDIRECT | F_EVENT_IDX, 16);
	for (unsigned i = 0; i < 400; i++) {
		seed = seed * 1103515245 + 12345;
		unsigned off = (seed >> 8) % 0x4000;
		unsigned size = 1u << ((seed >> 4) % 3);
		if (off == (d->common - BAR0_ADDR) + CC_STATUS && size == 1)
			continue; /* keep the device running */
		g_autofree char *r = hg_test_request(
			d->t, "write%c 0x%" G_GINT64_MODIFIER "x 0x%x", "bwl"[(seed >> 4) % 3],
			(uint64_t)(BAR0_ADDR + (off & ~(size - 1))), seed ^ (seed >> 16));
		g_assert_cmpstr(r, ==, "OK");
		if (i % 16 == 0)
			drv_kick(d);
	}
	/* Still answering. */
	g_assert_cmphex(hg_test_pci_readl(d->t, BLK_DEVFN, 0), ==, 0x10421af4);
	hg_test_msi_clear(d->t);
	expect_recovers(d);
	drv_stop(d);
}

/* ---- save and restore ---- */

static void test_state_save_and_restore_continue_the_ring(void)
{
	Drv *a = drv_start(NULL);
	Drv b;
	g_autofree char *state = g_build_filename(a->dir, "saved", NULL);
	uint8_t data[512], back[512];

	drv_init(a, F_BASIC | F_EVENT_IDX | F_INDIRECT, 16);
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = 0x5a ^ i;
	hg_test_memwrite(a->t, DATA_AREA, data, sizeof(data));
	g_assert_cmpuint(drv_write(a, 50, DATA_AREA, 512), ==, ST_OK);
	g_assert_cmpuint(drv_read(a, 51, DATA_AREA + 0x1000, 512), ==, ST_OK);
	/* One request offered but not kicked: the restored device finds it. */
	uint16_t slot = a->avail_idx;
	drv_write_header(a, slot, T_IN, 50);
	Seg s[] = {{hdr_addr(slot), 16, 0},
		   {DATA_AREA + 0x2000, 512, D_WRITE},
		   {status_addr(slot), 1, D_WRITE}};
	drv_offer(a, drv_chain(a, s, 3));
	hg_test_save(a->t, state);

	b = *a;
	drv_launch(&b, state);
	drv_wait_used(&b, 3);
	g_assert_cmpuint(hg_test_readb(b.t, status_addr(slot)), ==, ST_OK);
	hg_test_memread(b.t, DATA_AREA + 0x2000, back, sizeof(back));
	g_assert_cmpmem(back, sizeof(back), data, sizeof(data));
	g_assert_cmphex(drv_status(&b), ==, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	/* The same queue, without setting it up again: index 3 comes next. */
	hg_test_msi_clear(b.t);
	hg_test_writew(b.t, RING_AVAIL + 4 + 2 * 16, 3); /* used_event: entry 3 */
	g_assert_cmpuint(drv_read(&b, 50, DATA_AREA + 0x3000, 512), ==, ST_OK);
	g_assert_cmpuint(drv_used_idx(&b), ==, 4);
	g_assert_cmpuint(hg_test_msi_count(b.t), ==, 1); /* MSI-X survived */
	g_assert_cmphex(hg_test_msi_get(b.t, 0).data, ==, MSI_QUEUE_DATA);
	hg_test_quit(b.t);
	drv_stop(a);
}

/* The saved queue 0 record with key set to value (GVariant text), in the
 * array that the record's "virtio-queues" holds. */
static GVariant *edited_queues(const char *dir, const char *key, const char *value)
{
	g_autoptr(GVariant) blk = hg_test_saved_record(dir, "virtio-blk0");
	g_auto(GVariantDict) rec = G_VARIANT_DICT_INIT(blk);
	g_autoptr(GVariant) queues =
		g_variant_dict_lookup_value(&rec, "virtio-queues", G_VARIANT_TYPE("aa{sv}"));
	g_autoptr(GVariant) q0 = g_variant_get_child_value(queues, 0);
	g_auto(GVariantDict) q = G_VARIANT_DICT_INIT(q0);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) parsed = g_variant_parse(NULL, value, NULL, NULL, &error);
	GVariant *one;

	g_assert_no_error(error);
	g_variant_dict_insert_value(&q, key, parsed);
	one = g_variant_dict_end(&q);
	return g_variant_new_array(G_VARIANT_TYPE_VARDICT, &one, 1);
}

static void test_state_load_rejects_corrupt_record(void)
{
	static const struct {
		const char *key;
		const char *value; /* GVariant text; NULL removes the key */
		const char *why;
	} cases[] = {
		{"virtio-status", "byte 0x10", "unknown bits"},
		{"virtio-status", "byte 0x07", "DRIVER_OK without FEATURES_OK"},
		{"virtio-isr", "byte 4", "ISR has unknown bits"},
		{"virtio-config-vector", "uint16 7", "out of range"},
		{"virtio-driver-features", "uint64 1", "not acceptable"},
		{"virtio-device-features", "uint64 0x100000000", "features differ"},
		{"virtio-queues", NULL, "virtio queue records"},
		{"blk-config", "@ay [1, 2, 3]", "\"blk-config\" has 3 bytes"},
		{"virtio-status", "uint32 1", "\"virtio-status\" has type u"},
	};
	Drv *d = drv_start(NULL);
	g_autofree char *dir = g_build_filename(d->dir, "saved", NULL);
	const char *extra[] = {"--drive", d->drive, NULL};

	drv_init(d, F_BASIC, 16);
	g_assert_cmpuint(drv_read(d, 0, DATA_AREA, 512), ==, ST_OK);
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		hg_test_save(d->t, dir);
		hg_test_edit_saved_record_text(dir, "virtio-blk0", cases[c].key, cases[c].value);
		hg_test_expect_restore_refused(dir, extra, "virtio-blk0", cases[c].why);
	}
	/* Queue records: rings outside RAM, a size the device never offers. */
	static const struct {
		const char *key, *value, *why;
	} queue_cases[] = {
		{"device", "uint64 0x20000000", "outside RAM"},
		{"size", "uint16 512", "size larger"},
		{"msix-vector", "uint16 9", "vector out of range"},
	};
	for (size_t c = 0; c < G_N_ELEMENTS(queue_cases); c++) {
		GVariant *queues;

		hg_test_save(d->t, dir);
		queues = edited_queues(dir, queue_cases[c].key, queue_cases[c].value);
		hg_test_edit_saved_record(dir, "virtio-blk0", "virtio-queues", queues);
		hg_test_expect_restore_refused(dir, extra, NULL, queue_cases[c].why);
	}
	drv_stop(d);
}

static void test_restore_refuses_a_disk_of_another_size(void)
{
	Drv *d = drv_start(NULL);
	g_autofree char *dir = g_build_filename(d->dir, "saved", NULL);
	g_autofree char *other = g_build_filename(d->dir, "other.img", NULL);
	g_autofree char *drive = g_strdup_printf("file=%s,if=virtio", other);
	const char *extra[] = {"--drive", drive, NULL};
	g_autoptr(GError) error = NULL;

	drv_init(d, F_BASIC, 16);
	hg_test_save(d->t, dir);
	g_assert_true(g_file_set_contents(other, "small", 5, &error));
	hg_test_expect_restore_refused(dir, extra, NULL, "size or limits differ");
	drv_stop(d);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/virtio-blk/pci/identity-and-capabilities",
			test_identity_and_capabilities);
	g_test_add_func("/virtio-blk/pci/bars-size-as-32-bit-memory",
			test_bars_size_as_32_bit_memory);
	g_test_add_func("/virtio-blk/pci/config-window-reaches-the-common-configuration",
			test_pci_config_window_reaches_the_common_configuration);
	g_test_add_func("/virtio-blk/pci/one-function-per-virtio-drive",
			test_one_function_per_virtio_drive);
	g_test_add_func("/virtio-blk/config/describes-the-disk",
			test_config_space_describes_the_disk);
	g_test_add_func("/virtio-blk/features/version-1-is-required", test_version_1_is_required);
	g_test_add_func("/virtio-blk/features/unknown-features-are-refused",
			test_unknown_features_are_refused);
	g_test_add_func("/virtio-blk/status/bits-only-accumulate-until-reset",
			test_status_bits_only_accumulate_until_reset);
	g_test_add_func("/virtio-blk/status/reset-clears-status-features-and-queues",
			test_reset_clears_status_features_and_queues);
	g_test_add_func("/virtio-blk/msix/vectors-out-of-range-read-as-no-vector",
			test_msix_vectors_out_of_range_read_as_no_vector);
	g_test_add_func("/virtio-blk/msix/masked-vector-is-held-pending",
			test_masked_msix_vector_is_held_pending);
	g_test_add_func("/virtio-blk/queue/size-must-be-a-supported-power-of-two",
			test_queue_size_must_be_a_supported_power_of_two);
	g_test_add_func("/virtio-blk/queue/may-be-set-up-before-features-ok",
			test_queue_may_be_set_up_before_features_ok);
	g_test_add_func("/virtio-blk/io/write-then-read-round-trips-through-the-image",
			test_write_then_read_round_trips_through_the_image);
	g_test_add_func("/virtio-blk/io/framing-is-free", test_framing_is_free);
	g_test_add_func("/virtio-blk/io/many-requests-in-flight-complete",
			test_many_requests_in_flight_complete);
	g_test_add_func("/virtio-blk/io/repeated-heads-beyond-the-ring-all-complete",
			test_repeated_heads_beyond_the_ring_all_complete);
	g_test_add_func("/virtio-blk/io/flush-completes", test_flush_completes);
	g_test_add_func("/virtio-blk/io/discard-punches-a-hole", test_discard_punches_a_hole);
	g_test_add_func("/virtio-blk/io/write-zeroes-zeroes-the-range",
			test_write_zeroes_zeroes_the_range);
	g_test_add_func("/virtio-blk/io/discard-and-write-zeroes-check-their-limits",
			test_discard_and_write_zeroes_check_their_limits);
	g_test_add_func("/virtio-blk/io/read-only-disk-rejects-writes",
			test_read_only_disk_rejects_writes);
	g_test_add_func("/virtio-blk/format/raw-image-with-a-qcow2-header-reads-as-raw",
			test_format_raw_is_never_probed);
	g_test_add_func("/virtio-blk/format/qcow2-on-a-raw-image-is-refused-at-start",
			test_format_qcow2_on_a_raw_image_is_refused);
	g_test_add_func("/virtio-blk/io/beyond-capacity-is-an-io-error",
			test_beyond_capacity_is_an_io_error);
	g_test_add_func("/virtio-blk/io/get-id-returns-the-serial", test_get_id_returns_the_serial);
	g_test_add_func("/virtio-blk/io/unknown-request-types-are-unsupported",
			test_unknown_request_types_are_unsupported);
	g_test_add_func("/virtio-blk/ring/indirect-descriptors", test_indirect_descriptors);
	g_test_add_func("/virtio-blk/ring/event-index-suppresses-interrupts",
			test_event_index_suppresses_interrupts);
	g_test_add_func("/virtio-blk/ring/no-interrupt-flag-without-event-index",
			test_no_interrupt_flag_without_event_index);
	g_test_add_func("/virtio-blk/intx/isr-and-intx-without-msix",
			test_intx_and_isr_without_msix);
	g_test_add_func("/virtio-blk/hostile/descriptor-loop-needs-reset",
			test_descriptor_loop_needs_reset);
	g_test_add_func("/virtio-blk/hostile/next-index-out-of-range-needs-reset",
			test_next_index_out_of_range_needs_reset);
	g_test_add_func("/virtio-blk/hostile/head-index-out-of-range-needs-reset",
			test_head_index_out_of_range_needs_reset);
	g_test_add_func("/virtio-blk/hostile/chain-longer-than-the-queue-needs-reset",
			test_chain_longer_than_the_queue_needs_reset);
	g_test_add_func("/virtio-blk/hostile/buffer-outside-ram-needs-reset",
			test_buffer_outside_ram_needs_reset);
	g_test_add_func("/virtio-blk/hostile/buffer-in-mmio-needs-reset",
			test_buffer_in_mmio_needs_reset);
	g_test_add_func("/virtio-blk/hostile/huge-length-needs-reset",
			test_huge_length_needs_reset);
	g_test_add_func("/virtio-blk/hostile/ring-outside-ram-needs-reset",
			test_ring_outside_ram_needs_reset);
	g_test_add_func("/virtio-blk/hostile/status-in-a-read-only-descriptor-needs-reset",
			test_status_in_a_read_only_descriptor_needs_reset);
	g_test_add_func("/virtio-blk/hostile/readable-after-writable-needs-reset",
			test_readable_after_writable_needs_reset);
	g_test_add_func("/virtio-blk/hostile/short-header-needs-reset",
			test_short_header_needs_reset);
	g_test_add_func("/virtio-blk/hostile/nested-indirect-needs-reset",
			test_nested_indirect_needs_reset);
	g_test_add_func("/virtio-blk/hostile/indirect-without-the-feature-needs-reset",
			test_indirect_without_the_feature_needs_reset);
	g_test_add_func("/virtio-blk/hostile/avail-index-far-ahead-needs-reset",
			test_avail_index_far_ahead_needs_reset);
	g_test_add_func("/virtio-blk/hostile/garbage-in-every-register-leaves-the-engine-alive",
			test_garbage_in_every_register_leaves_the_engine_alive);
	g_test_add_func("/virtio-blk/state/save-and-restore-continue-the-ring",
			test_state_save_and_restore_continue_the_ring);
	g_test_add_func("/virtio-blk/state/load-rejects-corrupt-record",
			test_state_load_rejects_corrupt_record);
	g_test_add_func("/virtio-blk/state/restore-refuses-a-disk-of-another-size",
			test_restore_refuses_a_disk_of_another_size);
	return g_test_run();
}

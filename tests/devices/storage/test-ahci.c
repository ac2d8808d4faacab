/* The AHCI controller and the ATA disk through the harness, with the tiny
 * driver of ahci-driver.h: PCI identity, HBA and port registers, resets,
 * ATA commands against an image file, NCQ, hostile command lists and
 * PRDTs, interrupts, and save/restore. */
#include <signal.h>

#include "tests/devices/storage/ahci-driver.h"
#include "tests/harness/saved_state.h"

#define DISK_SECTORS 2048 /* 1 MiB */
#define DISK_SIZE (DISK_SECTORS * 512)

typedef struct {
	char *dir;
	char *disk;
	char *iso;
	char *disk_arg;
} Images;

static Images *images_new(bool read_only)
{
	Images *im = g_new0(Images, 1);

	im->dir = test_image_dir();
	im->disk = make_image(im->dir, "disk.img", DISK_SIZE, 0x11);
	im->iso = make_image(im->dir, "cd.iso", 16 * 2048, 0x22);
	im->disk_arg =
		g_strdup_printf("file=%s,if=sata%s", im->disk, read_only ? ",readonly=on" : "");
	return im;
}

static void images_free(Images *im)
{
	hg_test_remove_tree(im->dir);
	g_free(im->dir);
	g_free(im->disk);
	g_free(im->iso);
	g_free(im->disk_arg);
	g_free(im);
}

/* An engine with the disk on port 0 and the port started. */
static HgTest *start_with_disk(Images *im)
{
	const char *args[] = {"--drive", im->disk_arg, NULL};
	HgTest *t = ahci_start_argv(args);

	ahci_port_start(t, 0);
	return t;
}

static void fill_pattern(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 13 + seed);
}

static void assert_image_bytes(const char *path, uint64_t offset, const uint8_t *expect, size_t len)
{
	g_autofree char *data = NULL;
	gsize size;

	g_assert_true(g_file_get_contents(path, &data, &size, NULL));
	g_assert_cmpuint(size, >=, offset + len);
	g_assert_cmpmem(data + offset, len, expect, len);
}

static void assert_image_pattern_in_ram(HgTest *t, uint64_t address, uint64_t image_offset,
					size_t len, uint8_t seed)
{
	g_autofree uint8_t *got = g_malloc(len);
	g_autofree uint8_t *expect = g_malloc(len);

	hg_test_memread(t, address, got, len);
	for (size_t i = 0; i < len; i++)
		expect[i] = image_byte(image_offset + i, seed);
	g_assert_cmpmem(got, len, expect, len);
}

/* ---- identity and registers ---- */

static void test_pci_identity(void)
{
	Images *im = images_new(false);
	const char *args[] = {"--drive", im->disk_arg, NULL};
	HgTest *t = hg_test_startv(args);

	g_assert_cmphex(hg_test_pci_readl(t, AHCI_DEVFN, 0x00), ==, 0x29228086);
	g_assert_cmphex(hg_test_pci_readl(t, AHCI_DEVFN, 0x08) >> 8, ==, 0x010601);
	g_assert_cmphex(hg_test_pci_readb(t, AHCI_DEVFN, 0x3d), ==, 1); /* INTA */
	hg_test_pci_writel(t, AHCI_DEVFN, 0x24, 0xffffffff);
	/* ABAR: 4 KiB of 32-bit memory. */
	g_assert_cmphex(hg_test_pci_readl(t, AHCI_DEVFN, 0x24), ==, 0xfffff000);
	/* The capability list holds MSI. */
	uint8_t cap = hg_test_pci_readb(t, AHCI_DEVFN, 0x34);
	g_assert_cmphex(cap, !=, 0);
	g_assert_cmphex(hg_test_pci_readb(t, AHCI_DEVFN, cap), ==, 0x05);
	hg_test_quit(t);
	images_free(im);
}

static void test_no_sata_drive_no_controller(void)
{
	HgTest *t = hg_test_startv(NULL);

	g_assert_cmphex(hg_test_pci_readl(t, AHCI_DEVFN, 0x00), ==, 0xffffffff);
	hg_test_quit(t);
}

static void test_hba_capabilities(void)
{
	Images *im = images_new(false);
	const char *args[] = {"--drive", im->disk_arg, NULL};
	HgTest *t = ahci_start_argv(args);
	uint32_t cap = hba_readl(t, HBA_CAP);

	g_assert_true(cap & (1u << 31)); /* 64-bit addressing */
	g_assert_true(cap & (1u << 30)); /* native command queuing */
	g_assert_cmpuint(cap & 0x1f, ==, 5); /* six ports */
	g_assert_cmpuint((cap >> 8) & 0x1f, ==, 31); /* 32 slots */
	g_assert_cmphex(hba_readl(t, HBA_VS), ==, 0x00010301);
	g_assert_cmphex(hba_readl(t, HBA_PI), ==, 0x3f);
	g_assert_cmphex(hba_readl(t, HBA_GHC), ==, 0x80000000); /* AE, no IE */
	hba_writel(t, HBA_GHC, 0); /* AE is fixed on (CAP.SAM) */
	g_assert_cmphex(hba_readl(t, HBA_GHC), ==, 0x80000000);
	hg_test_quit(t);
	images_free(im);
}

static void test_port_signatures(void)
{
	Images *im = images_new(false);
	g_autofree char *cd = g_strdup_printf("file=%s,if=sata,media=cdrom", im->iso);
	const char *args[] = {"--drive", im->disk_arg, "--drive", cd, NULL};
	HgTest *t = ahci_start_argv(args);

	g_assert_cmphex(port_readl(t, 0, PxSIG), ==, 0x00000101);
	g_assert_cmphex(port_readl(t, 0, PxSSTS), ==, 0x133);
	g_assert_cmphex(port_readl(t, 0, PxTFD) & 0x88, ==, 0); /* not busy */
	g_assert_cmphex(port_readl(t, 1, PxSIG), ==, 0xeb140101);
	g_assert_cmphex(port_readl(t, 1, PxSSTS) & 0xf, ==, 3);
	g_assert_cmphex(port_readl(t, 2, PxSSTS), ==, 0); /* nothing there */
	g_assert_cmphex(port_readl(t, 2, PxSIG), ==, 0xffffffff);
	g_assert_cmphex(port_readl(t, 5, PxSSTS), ==, 0);
	hg_test_quit(t);
	images_free(im);
}

static void test_comreset_posts_the_signature(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	uint8_t fis[20];

	/* Stop the engine, wipe the FIS area, pull COMRESET. */
	port_writel(t, 0, PxCMD, CMD_FRE);
	hg_test_memwrite(t, MEM_FB(0), (uint8_t[256]){0}, 256);
	port_writel(t, 0, PxSCTL, 1);
	g_assert_cmphex(port_readl(t, 0, PxSSTS) & 0xf, ==, 0); /* link down */
	g_assert_cmphex(port_readl(t, 0, PxTFD) & 0x80, ==, 0x80); /* busy */
	port_writel(t, 0, PxSCTL, 0);
	g_assert_cmphex(port_readl(t, 0, PxSSTS), ==, 0x133);
	g_assert_cmphex(port_readl(t, 0, PxTFD), ==, 0x150);
	ahci_read_fis(t, 0, 0x40, fis, sizeof(fis));
	g_assert_cmphex(fis[0], ==, 0x34);
	g_assert_cmphex(fis[12], ==, 1); /* count */
	g_assert_cmphex(fis[4], ==, 1); /* LBA low */
	g_assert_cmphex(fis[5], ==, 0);
	g_assert_cmphex(fis[6], ==, 0);
	hg_test_quit(t);
	images_free(im);
}

static void test_hba_reset(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	uint8_t fis[20];

	port_writel(t, 0, PxIE, 0xffffffff);
	hba_writel(t, HBA_GHC, 0x80000002);
	hg_test_memwrite(t, MEM_FB(0), (uint8_t[256]){0}, 256);
	hba_writel(t, HBA_GHC, 0x80000001); /* HR */
	g_assert_cmphex(hba_readl(t, HBA_GHC), ==, 0x80000000); /* HR done, IE cleared */
	g_assert_cmphex(port_readl(t, 0, PxCMD) & (CMD_ST | CMD_FRE | CMD_CR | CMD_FR), ==, 0);
	g_assert_cmphex(port_readl(t, 0, PxIE), ==, 0);
	g_assert_cmphex(port_readl(t, 0, PxCLB), ==, MEM_CLB(0)); /* kept (10.4.3) */
	g_assert_cmphex(port_readl(t, 0, PxSIG), ==, 0x101);
	/* The signature FIS waits for FIS receive. */
	ahci_read_fis(t, 0, 0x40, fis, sizeof(fis));
	g_assert_cmphex(fis[0], ==, 0);
	port_writel(t, 0, PxCMD, CMD_FRE);
	g_assert_cmphex(port_readl(t, 0, PxCMD) & CMD_FR, ==, CMD_FR);
	ahci_read_fis(t, 0, 0x40, fis, sizeof(fis));
	g_assert_cmphex(fis[0], ==, 0x34);
	g_assert_cmphex(fis[2], ==, 0x50);
	hg_test_quit(t);
	images_free(im);
}

static void test_stop_clears_issue_and_running(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);

	g_assert_cmphex(port_readl(t, 0, PxCMD) & (CMD_CR | CMD_FR), ==, CMD_CR | CMD_FR);
	port_writel(t, 0, PxCMD, CMD_FRE);
	g_assert_cmphex(port_readl(t, 0, PxCMD) & CMD_CR, ==, 0);
	port_writel(t, 0, PxCMD, 0);
	g_assert_cmphex(port_readl(t, 0, PxCMD) & CMD_FR, ==, 0);
	/* PxCI cannot be set while the engine is stopped. */
	port_writel(t, 0, PxCI, 1);
	g_assert_cmphex(port_readl(t, 0, PxCI), ==, 0);
	hg_test_quit(t);
	images_free(im);
}

/* ---- ATA commands ---- */

static void test_identify_device(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};
	uint16_t id[256];
	uint8_t fis[20];
	char model[41];
	uint8_t sum = 0;

	ahci_fis_ata(&c, 0xec, 0, 0);
	ahci_one_buffer(&c, MEM_DATA, 512);
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & (IS_PSS | IS_ERRORS), ==, IS_PSS);
	g_assert_cmpuint(ahci_prdbc(t, 0, 0), ==, 512);
	ahci_read_fis(t, 0, 0x20, fis, sizeof(fis));
	g_assert_cmphex(fis[0], ==, 0x5f);
	g_assert_cmphex(fis[15], ==, 0x50); /* E_Status */
	g_assert_cmphex(port_readl(t, 0, PxTFD) & 0xff, ==, 0x50);
	hg_test_memread(t, MEM_DATA, id, sizeof(id));
	for (int i = 0; i < 20; i++) {
		model[2 * i] = id[27 + i] >> 8;
		model[2 * i + 1] = id[27 + i] & 0xff;
	}
	model[40] = 0;
	g_assert_cmpstr(g_strchomp(model), ==, "HANGAR HARDDISK");
	g_assert_cmpuint(id[100] | (uint32_t)id[101] << 16, ==, DISK_SECTORS);
	g_assert_cmpuint(id[60] | (uint32_t)id[61] << 16, ==, DISK_SECTORS);
	g_assert_true(id[83] & (1 << 10)); /* 48-bit */
	g_assert_true(id[83] & (1 << 13)); /* FLUSH CACHE EXT */
	g_assert_true(id[76] & (1 << 8)); /* NCQ */
	g_assert_cmpuint(id[75] & 0x1f, ==, 31); /* queue depth 32 */
	g_assert_true(id[85] & (1 << 5)); /* write cache on */
	g_assert_true(id[88] & 0x7f); /* UDMA modes */
	g_assert_cmphex(id[10] >> 8, ==, 'H'); /* serial */
	g_assert_cmphex(id[255] & 0xff, ==, 0xa5);
	for (int i = 0; i < 256; i++)
		sum += (id[i] & 0xff) + (id[i] >> 8);
	g_assert_cmpuint(sum, ==, 0);
	hg_test_quit(t);
	images_free(im);
}

static void test_dma_round_trip(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};
	uint8_t out[4096], fis[20];

	/* Read 8 sectors from LBA 100: the image's bytes. */
	ahci_fis_ata(&c, 0x25, 100, 8);
	ahci_one_buffer(&c, MEM_DATA, 4096);
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & (IS_DHRS | IS_ERRORS), ==, IS_DHRS);
	g_assert_cmphex(port_readl(t, 0, PxCI), ==, 0);
	g_assert_cmpuint(ahci_prdbc(t, 0, 0), ==, 4096);
	ahci_read_fis(t, 0, 0x40, fis, sizeof(fis));
	g_assert_cmphex(fis[0], ==, 0x34);
	g_assert_cmphex(fis[1] & 0x40, ==, 0x40);
	g_assert_cmphex(fis[2], ==, 0x50);
	assert_image_pattern_in_ram(t, MEM_DATA, 100 * 512, 4096, 0x11);

	/* Write 8 sectors at LBA 2040 (the last ones) with WRITE DMA EXT,
	 * then 1 with 28-bit WRITE DMA at LBA 7; the file has them. */
	fill_pattern(out, sizeof(out), 0x5a);
	hg_test_memwrite(t, MEM_DATA + 0x10000, out, sizeof(out));
	ahci_fis_ata(&c, 0x35, 2040, 8);
	ahci_one_buffer(&c, MEM_DATA + 0x10000, 4096);
	c.write = true;
	g_assert_cmphex(ahci_run(t, 0, 1, &c) & (IS_DHRS | IS_ERRORS), ==, IS_DHRS);
	assert_image_bytes(im->disk, 2040 * 512, out, 4096);
	ahci_fis_ata(&c, 0xca, 7, 1);
	ahci_one_buffer(&c, MEM_DATA + 0x10000, 512);
	g_assert_cmphex(ahci_run(t, 0, 2, &c) & (IS_DHRS | IS_ERRORS), ==, IS_DHRS);
	assert_image_bytes(im->disk, 7 * 512, out, 512);

	/* And read back what was written, with 28-bit READ DMA. */
	hg_test_memwrite(t, MEM_DATA, (uint8_t[512]){0}, 512);
	ahci_fis_ata(&c, 0xc8, 7, 1);
	ahci_one_buffer(&c, MEM_DATA, 512);
	c.write = false;
	g_assert_cmphex(ahci_run(t, 0, 3, &c) & IS_ERRORS, ==, 0);
	uint8_t back[512];
	hg_test_memread(t, MEM_DATA, back, sizeof(back));
	g_assert_cmpmem(back, 512, out, 512);
	hg_test_quit(t);
	images_free(im);
}

static void test_pio_read_sectors(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};

	ahci_fis_ata(&c, 0x24, 3, 2); /* READ SECTORS EXT */
	ahci_one_buffer(&c, MEM_DATA, 1024);
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & (IS_PSS | IS_ERRORS), ==, IS_PSS);
	assert_image_pattern_in_ram(t, MEM_DATA, 3 * 512, 1024, 0x11);
	hg_test_quit(t);
	images_free(im);
}

/* Odd-sized pieces scattered over RAM, more pieces than one request
 * takes: every byte lands where its PRD says. */
static void test_scatter_gather(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	static const uint32_t sizes[] = {512, 6, 1018, 2048, 100, 412, 4094, 2};
	AhciCommand c = {0};
	uint64_t addr = MEM_DATA, offset = 0;

	ahci_fis_ata(&c, 0x25, 10, 16);
	c.n_prd = G_N_ELEMENTS(sizes);
	for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
		c.prd[i] = (AhciPrd){addr, sizes[i], i == G_N_ELEMENTS(sizes) - 1};
		addr += sizes[i] + 0x1000 + 2 * i;
	}
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & (IS_DHRS | IS_DPS | IS_ERRORS), ==,
			IS_DHRS | IS_DPS);
	g_assert_cmpuint(ahci_prdbc(t, 0, 0), ==, 16 * 512);
	for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
		assert_image_pattern_in_ram(t, c.prd[i].address, 10 * 512 + offset, sizes[i], 0x11);
		offset += sizes[i];
	}

	/* 300 pieces of 4 bytes... built by hand: one long PRDT. */
	uint64_t table = 0x80000;
	uint32_t n = 300;
	g_autofree uint8_t *prdt = g_malloc0(0x80 + 16 * n);
	AhciCommand big = {0};
	ahci_fis_ata(&big, 0x25, 20, 3); /* 1536 bytes = 300 * 4 + 336 */
	memcpy(prdt, big.cfis, 20);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = i == n - 1 ? 340 : 4;
		uint32_t e[4] = {(uint32_t)(MEM_DATA + 0x40000 + 8 * i), 0, 0, len - 1};
		memcpy(prdt + 0x80 + 16 * i, e, 16);
	}
	hg_test_memwrite(t, table, prdt, 0x80 + 16 * n);
	uint32_t header[8] = {n << 16 | 5, 0, (uint32_t)table, 0};
	hg_test_memwrite(t, MEM_CLB(0) + 32 * 4, header, sizeof(header));
	port_writel(t, 0, PxCI, 1 << 4);
	g_assert_cmphex(ahci_wait(t, 0, 1 << 4) & IS_ERRORS, ==, 0);
	g_assert_cmpuint(ahci_prdbc(t, 0, 4), ==, 1536);
	for (uint32_t i = 0; i < n; i += 37)
		assert_image_pattern_in_ram(t, MEM_DATA + 0x40000 + 8 * i, 20 * 512 + 4 * i, 4,
					    0x11);
	hg_test_quit(t);
	images_free(im);
}

static void test_ncq_several_slots(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	uint8_t out[8 * 512], sdb[8];
	uint32_t all = 0;

	fill_pattern(out, sizeof(out), 0x77);
	hg_test_memwrite(t, MEM_DATA + 0x80000, out, sizeof(out));
	port_writel(t, 0, PxIE, 0xffffffff);
	/* Slots 0-5 read, 6 and 9 write, all at once. */
	for (unsigned s = 0; s < 10; s++) {
		AhciCommand c = {0};
		if (s == 7 || s == 8)
			continue;
		bool write = s == 6 || s == 9;
		ahci_fis_ncq(&c, write, write ? 1000 + (s - 6) * 8 : 64 * s, 8, s);
		if (write)
			ahci_one_buffer(&c, MEM_DATA + 0x80000, 4096);
		else
			ahci_one_buffer(&c, MEM_DATA + s * 0x1000, 4096);
		c.write = write;
		ahci_issue(t, 0, s, &c);
		all |= 1u << s;
	}
	/* Queued commands leave PxCI as soon as the drive takes them. */
	g_assert_cmphex(port_readl(t, 0, PxCI), ==, 0);
	uint32_t is = ahci_wait(t, 0, all);
	g_assert_cmphex(is & IS_ERRORS, ==, 0);
	g_assert_cmphex(is & IS_SDBS, ==, IS_SDBS);
	g_assert_cmphex(port_readl(t, 0, PxSACT), ==, 0);
	ahci_read_fis(t, 0, 0x58, sdb, sizeof(sdb));
	g_assert_cmphex(sdb[0], ==, 0xa1);
	g_assert_cmphex(sdb[1] & 0x40, ==, 0x40);
	g_assert_cmphex(sdb[2], ==, 0x50);
	for (unsigned s = 0; s < 6; s++)
		assert_image_pattern_in_ram(t, MEM_DATA + s * 0x1000, 64 * s * 512, 4096, 0x11);
	assert_image_bytes(im->disk, 1000 * 512, out, 4096);
	assert_image_bytes(im->disk, 1024 * 512, out, 4096);
	hg_test_quit(t);
	images_free(im);
}

static void test_ncq_error_is_reported_in_log_10h(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};
	uint8_t log[512], sdb[8];

	ahci_fis_ncq(&c, false, DISK_SECTORS - 1, 8, 3);
	ahci_one_buffer(&c, MEM_DATA, 4096);
	ahci_issue(t, 0, 3, &c);
	uint32_t is = ahci_wait(t, 0, 1 << 3);
	g_assert_cmphex(is & (IS_TFES | IS_SDBS), ==, IS_TFES | IS_SDBS);
	g_assert_cmphex(port_readl(t, 0, PxSACT), ==, 1 << 3); /* still active */
	ahci_read_fis(t, 0, 0x58, sdb, sizeof(sdb));
	g_assert_cmphex(sdb[2] & 1, ==, 1);
	g_assert_cmphex(sdb[3] & 0x10, ==, 0x10); /* IDNF */
	ahci_recover(t, 0);
	g_assert_cmphex(port_readl(t, 0, PxSACT), ==, 0);
	/* READ LOG EXT, log 10h: which tag failed, and how. */
	ahci_fis_ata(&c, 0x2f, 0x10, 1);
	ahci_one_buffer(&c, MEM_DATA, 512);
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & IS_ERRORS, ==, 0);
	hg_test_memread(t, MEM_DATA, log, sizeof(log));
	g_assert_cmphex(log[0], ==, 3); /* tag 3, NQ clear */
	g_assert_cmphex(log[2], ==, 0x41);
	g_assert_cmphex(log[3] & 0x10, ==, 0x10);
	uint8_t sum = 0;
	for (int i = 0; i < 512; i++)
		sum += log[i];
	g_assert_cmpuint(sum, ==, 0);
	hg_test_quit(t);
	images_free(im);
}

static void test_flush(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};

	ahci_fis_ata(&c, 0xea, 0, 0);
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & (IS_DHRS | IS_ERRORS), ==, IS_DHRS);
	ahci_fis_ata(&c, 0xe7, 0, 0);
	g_assert_cmphex(ahci_run(t, 0, 1, &c) & (IS_DHRS | IS_ERRORS), ==, IS_DHRS);
	/* With the write cache off a write still lands (and is flushed). */
	ahci_fis_ata(&c, 0xef, 0, 0);
	c.cfis[3] = 0x82;
	g_assert_cmphex(ahci_run(t, 0, 2, &c) & IS_ERRORS, ==, 0);
	uint8_t out[512];
	fill_pattern(out, sizeof(out), 9);
	hg_test_memwrite(t, MEM_DATA, out, sizeof(out));
	ahci_fis_ata(&c, 0x35, 5, 1);
	ahci_one_buffer(&c, MEM_DATA, 512);
	c.write = true;
	g_assert_cmphex(ahci_run(t, 0, 3, &c) & IS_ERRORS, ==, 0);
	assert_image_bytes(im->disk, 5 * 512, out, 512);
	hg_test_quit(t);
	images_free(im);
}

static void assert_task_file_error(HgTest *t, unsigned slot, uint32_t is, uint8_t error_bits)
{
	uint8_t fis[20];

	g_assert_cmphex(is & (IS_TFES | IS_DHRS), ==, IS_TFES | IS_DHRS);
	g_assert_cmphex(port_readl(t, 0, PxTFD) & 0x01, ==, 0x01);
	g_assert_cmphex((port_readl(t, 0, PxTFD) >> 8) & error_bits, ==, error_bits);
	g_assert_cmphex(port_readl(t, 0, PxCI), ==, 1u << slot); /* left for software */
	ahci_read_fis(t, 0, 0x40, fis, sizeof(fis));
	g_assert_cmphex(fis[2], ==, 0x41);
	g_assert_cmphex(fis[3] & error_bits, ==, error_bits);
}

static void test_read_only_disk_aborts_writes(void)
{
	Images *im = images_new(true);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};
	uint8_t out[512] = {1, 2, 3};

	hg_test_memwrite(t, MEM_DATA, out, sizeof(out));
	ahci_fis_ata(&c, 0x35, 0, 1);
	ahci_one_buffer(&c, MEM_DATA, 512);
	c.write = true;
	assert_task_file_error(t, 0, ahci_run(t, 0, 0, &c), 0x04);
	/* The port waits for recovery; a read then works. */
	ahci_recover(t, 0);
	g_assert_cmphex(port_readl(t, 0, PxCI), ==, 0);
	ahci_fis_ata(&c, 0x25, 0, 1);
	c.write = false;
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & IS_ERRORS, ==, 0);
	assert_image_pattern_in_ram(t, MEM_DATA, 0, 512, 0x11);
	hg_test_quit(t);
	images_free(im);
}

static void test_beyond_capacity_is_idnf(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};

	ahci_fis_ata(&c, 0x25, DISK_SECTORS - 1, 2);
	ahci_one_buffer(&c, MEM_DATA, 1024);
	assert_task_file_error(t, 0, ahci_run(t, 0, 0, &c), 0x10);
	hg_test_quit(t);
	images_free(im);
}

static void test_unknown_command_is_aborted(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};

	ahci_fis_ata(&c, 0xb0, 0, 0); /* SMART: not supported */
	assert_task_file_error(t, 0, ahci_run(t, 0, 0, &c), 0x04);
	ahci_recover(t, 0);
	ahci_fis_ata(&c, 0xa1, 0, 0); /* IDENTIFY PACKET DEVICE: not a packet device */
	ahci_one_buffer(&c, MEM_DATA, 512);
	assert_task_file_error(t, 1, ahci_run(t, 0, 1, &c), 0x04);
	hg_test_quit(t);
	images_free(im);
}

static void test_read_native_max_address(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};
	uint8_t fis[20];

	ahci_fis_ata(&c, 0x27, 0, 0);
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & IS_ERRORS, ==, 0);
	ahci_read_fis(t, 0, 0x40, fis, sizeof(fis));
	g_assert_cmpuint(fis[4] | fis[5] << 8 | fis[6] << 16, ==, DISK_SECTORS - 1);
	hg_test_quit(t);
	images_free(im);
}

static void test_trim(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};
	uint8_t ranges[512] = {0};
	uint8_t zero[1024] = {0};

	ranges[0] = 16; /* LBA 16, 2 sectors */
	ranges[6] = 2;
	hg_test_memwrite(t, MEM_DATA, ranges, sizeof(ranges));
	ahci_fis_ata(&c, 0x06, 0, 1);
	c.cfis[3] = 1; /* TRIM */
	ahci_one_buffer(&c, MEM_DATA, 512);
	c.write = true;
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & IS_ERRORS, ==, 0);
	/* Punched where the file system can; the size stays. */
	g_autofree char *data = NULL;
	gsize size;
	g_assert_true(g_file_get_contents(im->disk, &data, &size, NULL));
	g_assert_cmpuint(size, ==, DISK_SIZE);
	if (memcmp(data + 16 * 512, zero, sizeof(zero)) != 0)
		g_test_message("discard left the data (no hole punching here)");
	hg_test_quit(t);
	images_free(im);
}

/* ---- hostile command lists ---- */

static void assert_alive(HgTest *t)
{
	g_assert_cmphex(hba_readl(t, HBA_VS), ==, 0x00010301);
}

static void test_prdt_outside_ram(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};

	port_writel(t, 0, PxIE, IS_HBFS);
	ahci_fis_ata(&c, 0x25, 0, 8);
	c.n_prd = 2;
	c.prd[0] = (AhciPrd){MEM_DATA, 2048, false};
	c.prd[1] = (AhciPrd){0xfee00000ULL, 2048, false}; /* the APIC, not RAM */
	uint32_t is = ahci_run(t, 0, 0, &c);
	g_assert_cmphex(is & IS_HBFS, ==, IS_HBFS);
	g_assert_cmphex(hba_readl(t, HBA_IS), ==, 1);
	assert_alive(t);
	/* Nothing runs until software restarts the port. */
	AhciCommand ok = {0};
	ahci_fis_ata(&ok, 0x25, 0, 1);
	ahci_one_buffer(&ok, MEM_DATA, 512);
	ahci_issue(t, 0, 1, &ok);
	g_usleep(20000);
	g_assert_cmphex(port_readl(t, 0, PxCI) & 2, ==, 2);
	ahci_recover(t, 0);
	g_assert_cmphex(ahci_run(t, 0, 1, &ok) & IS_ERRORS, ==, 0);
	/* A PRD that starts in RAM and runs past its end. */
	AhciCommand edge = {0};
	ahci_fis_ata(&edge, 0x25, 0, 8);
	ahci_one_buffer(&edge, (256ULL << 20) - 1024, 4096);
	g_assert_cmphex(ahci_run(t, 0, 2, &edge) & IS_HBFS, ==, IS_HBFS);
	hg_test_quit(t);
	images_free(im);
}

static void test_command_table_outside_ram(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};
	uint32_t header[8] = {5, 0, 0xfebf0000, 0}; /* the table at the ABAR itself */

	hg_test_memwrite(t, MEM_CLB(0), header, sizeof(header));
	port_writel(t, 0, PxCI, 1);
	g_assert_cmphex(ahci_wait(t, 0, 1) & IS_HBFS, ==, IS_HBFS);
	assert_alive(t);
	/* A command list outside RAM as well. */
	ahci_recover(t, 0);
	port_writel(t, 0, PxCMD, CMD_FRE);
	port_writel(t, 0, PxCLBU, 0x100);
	port_writel(t, 0, PxCMD, CMD_FRE | CMD_ST);
	port_writel(t, 0, PxCI, 1);
	g_assert_cmphex(ahci_wait(t, 0, 1) & IS_HBFS, ==, IS_HBFS);
	/* A FIS area outside RAM: the result cannot be posted. */
	ahci_recover(t, 0);
	port_writel(t, 0, PxCMD, CMD_FRE);
	port_writel(t, 0, PxCLBU, 0);
	port_writel(t, 0, PxFBU, 0x100);
	port_writel(t, 0, PxCMD, CMD_FRE | CMD_ST);
	ahci_fis_ata(&c, 0xe7, 0, 0);
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & IS_HBFS, ==, IS_HBFS);
	assert_alive(t);
	hg_test_quit(t);
	images_free(im);
}

static void test_huge_prd_count_with_tiny_ram(void)
{
	Images *im = images_new(false);
	const char *args[] = {"--memory", "2", "--drive", im->disk_arg, NULL};
	HgTest *t = ahci_start_argv(args);
	AhciCommand c = {0};

	ahci_port_start(t, 0);
	/* PRDTL 65535 (1 MiB of entries) in 2 MiB of RAM, the table near the
	 * end: the first entries are fine, the rest lie beyond RAM. */
	c.table = 0x1ff000;
	ahci_fis_ata(&c, 0x25, 0, 8);
	c.n_prd = 65535;
	for (unsigned i = 0; i < 16; i++)
		c.prd[i] = (AhciPrd){MEM_DATA + 512 * i, 512, false};
	/* 8 sectors fit in the first 8 entries. */
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & IS_ERRORS, ==, 0);
	assert_image_pattern_in_ram(t, MEM_DATA, 0, 4096, 0x11);
	/* 1000 sectors need entries past the end of RAM. */
	ahci_fis_ata(&c, 0x25, 0, 1000);
	for (unsigned i = 0; i < 16; i++)
		c.prd[i] = (AhciPrd){MEM_DATA, 512, false};
	g_assert_cmphex(ahci_run(t, 0, 1, &c) & IS_HBFS, ==, IS_HBFS);
	assert_alive(t);
	hg_test_quit(t);
	images_free(im);
}

static void test_short_prdt_is_an_overflow(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};

	ahci_fis_ata(&c, 0x25, 0, 4); /* 2048 bytes, no PRD at all */
	c.n_prd = 0;
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & IS_OFS, ==, IS_OFS);
	ahci_recover(t, 0);
	ahci_fis_ata(&c, 0x25, 0, 4); /* 2048 bytes into 1 KiB */
	ahci_one_buffer(&c, MEM_DATA, 1024);
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & IS_OFS, ==, IS_OFS);
	assert_alive(t);
	hg_test_quit(t);
	images_free(im);
}

static void test_non_data_command_ignores_prds(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};

	/* SeaBIOS sends TEST UNIT READY with a 4 MiB PRD at 0; a non-data
	 * command never touches it. */
	ahci_fis_ata(&c, 0xe7, 0, 0);
	ahci_one_buffer(&c, 0xfff00000ULL, 4u << 20);
	g_assert_cmphex(ahci_run(t, 0, 0, &c) & IS_ERRORS, ==, 0);
	hg_test_quit(t);
	images_free(im);
}

/* ---- interrupts ---- */

static void msi_enable(HgTest *t)
{
	uint8_t cap = hg_test_pci_find_capability(t, AHCI_DEVFN, 0x05);

	hg_test_pci_writel(t, AHCI_DEVFN, cap + 4, 0xfee00000);
	hg_test_pci_writel(t, AHCI_DEVFN, cap + 8, 0);
	hg_test_pci_writew(t, AHCI_DEVFN, cap + 12, 0x4041);
	hg_test_pci_writew(t, AHCI_DEVFN, cap + 2, 0x0001);
}

static void test_interrupts_follow_ie_bits(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};

	msi_enable(t);
	ahci_fis_ata(&c, 0xe7, 0, 0);
	/* PxIE clear: status only. */
	port_writel(t, 0, PxIE, 0);
	hba_writel(t, HBA_GHC, 0x80000002);
	ahci_run(t, 0, 0, &c);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 0);
	g_assert_cmphex(hba_readl(t, HBA_IS), ==, 0);
	/* PxIE set, GHC.IE clear: IS shows it, no message. */
	port_writel(t, 0, PxIE, IS_DHRS);
	hba_writel(t, HBA_GHC, 0x80000000);
	ahci_issue(t, 0, 1, &c);
	ahci_wait(t, 0, 2);
	g_assert_cmphex(hba_readl(t, HBA_IS), ==, 1);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 0);
	/* Turning GHC.IE on with IS pending sends one. */
	hba_writel(t, HBA_GHC, 0x80000002);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 1);
	g_assert_cmphex(hg_test_msi_get(t, 0).data, ==, 0x4041);
	/* Clearing IS while PxIS still holds the bit asks again. */
	hba_writel(t, HBA_IS, 1);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 2);
	port_writel(t, 0, PxIS, 0xffffffff);
	hba_writel(t, HBA_IS, 1);
	g_assert_cmphex(hba_readl(t, HBA_IS), ==, 0);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 2);
	/* The next completion: one message. */
	ahci_issue(t, 0, 2, &c);
	ahci_wait(t, 0, 4);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 3);
	hg_test_quit(t);
	images_free(im);
}

static void test_intx_status_follows_pending_interrupts(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};

	port_writel(t, 0, PxIE, IS_DHRS);
	hba_writel(t, HBA_GHC, 0x80000002);
	ahci_fis_ata(&c, 0xe7, 0, 0);
	ahci_issue(t, 0, 0, &c);
	ahci_wait(t, 0, 1);
	g_assert_cmphex(hg_test_pci_readw(t, AHCI_DEVFN, 0x06) & 0x08, ==, 0x08);
	port_writel(t, 0, PxIS, 0xffffffff);
	g_assert_cmphex(hg_test_pci_readw(t, AHCI_DEVFN, 0x06) & 0x08, ==, 0x08); /* IS still set */
	hba_writel(t, HBA_IS, 1);
	g_assert_cmphex(hg_test_pci_readw(t, AHCI_DEVFN, 0x06) & 0x08, ==, 0);
	/* With MSI on, INTx stays quiet. */
	msi_enable(t);
	ahci_issue(t, 0, 1, &c);
	ahci_wait(t, 0, 2);
	g_assert_cmphex(hg_test_pci_readw(t, AHCI_DEVFN, 0x06) & 0x08, ==, 0);
	g_assert_cmpuint(hg_test_msi_count(t), ==, 1);
	hg_test_quit(t);
	images_free(im);
}

static void test_no_commands_without_bus_mastering(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	AhciCommand c = {0};

	hg_test_pci_writew(t, AHCI_DEVFN, 0x04, 0x0002);
	ahci_fis_ata(&c, 0xe7, 0, 0);
	ahci_issue(t, 0, 0, &c);
	g_usleep(20000);
	g_assert_cmphex(port_readl(t, 0, PxCI), ==, 1);
	hg_test_pci_writew(t, AHCI_DEVFN, 0x04, 0x0006);
	g_assert_cmphex(ahci_wait(t, 0, 1) & IS_ERRORS, ==, 0);
	hg_test_quit(t);
	images_free(im);
}

/* ---- save and restore ---- */

static void test_save_mid_operation_and_restore(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	g_autofree char *dir = g_build_filename(im->dir, "saved", NULL);
	const char *args[] = {"--drive", im->disk_arg, "--restore", dir, NULL};
	AhciCommand c = {0};
	uint8_t fis_before[256], fis_after[256];

	msi_enable(t);
	port_writel(t, 0, PxIE, IS_DHRS | IS_SDBS | IS_TFES);
	hba_writel(t, HBA_GHC, 0x80000002);
	/* Queued reads in flight, one of them completed before the save. */
	for (unsigned s = 0; s < 6; s++) {
		ahci_fis_ncq(&c, false, 128 * s, 64, s);
		ahci_one_buffer(&c, MEM_DATA + s * 0x8000, 64 * 512);
		ahci_issue(t, 0, s, &c);
		if (s == 0)
			ahci_wait(t, 0, 1);
	}
	hg_test_save(t, dir);
	/* The save waited for the I/O: every completion is in the record. */
	g_assert_cmphex(port_readl(t, 0, PxSACT), ==, 0);
	g_assert_cmphex(port_readl(t, 0, PxCI), ==, 0);
	uint32_t is = port_readl(t, 0, PxIS), hba_is = hba_readl(t, HBA_IS);
	g_assert_cmphex(is & IS_SDBS, ==, IS_SDBS);
	hg_test_memread(t, MEM_FB(0), fis_before, sizeof(fis_before));
	/* A failed command waits in PxCI, saved with its error state. */
	ahci_fis_ata(&c, 0x25, DISK_SECTORS, 1);
	ahci_one_buffer(&c, MEM_DATA, 512);
	ahci_issue(t, 0, 7, &c);
	ahci_wait(t, 0, 1 << 7);
	g_autofree char *dir2 = g_build_filename(im->dir, "saved-error", NULL);
	hg_test_save(t, dir2);
	hg_test_quit(t);

	HgTest *r = hg_test_startv(args);
	g_assert_cmphex(port_readl(r, 0, PxIS), ==, is);
	g_assert_cmphex(hba_readl(r, HBA_IS), ==, hba_is);
	g_assert_cmphex(port_readl(r, 0, PxCMD) & (CMD_ST | CMD_CR | CMD_FRE | CMD_FR), ==,
			CMD_ST | CMD_CR | CMD_FRE | CMD_FR);
	hg_test_memread(r, MEM_FB(0), fis_after, sizeof(fis_after));
	g_assert_cmpmem(fis_before, sizeof(fis_before), fis_after, sizeof(fis_after));
	for (unsigned s = 0; s < 6; s++)
		assert_image_pattern_in_ram(r, MEM_DATA + s * 0x8000, 128 * s * 512, 64 * 512,
					    0x11);
	/* Pending status still asks for an interrupt once software clears IS. */
	hba_writel(r, HBA_IS, 1);
	g_assert_cmpuint(hg_test_msi_count(r), ==, 1);
	/* And the port goes on working. */
	port_writel(r, 0, PxIS, 0xffffffff);
	hba_writel(r, HBA_IS, 1);
	ahci_fis_ata(&c, 0x25, 5, 1);
	ahci_one_buffer(&c, MEM_DATA, 512);
	g_assert_cmphex(ahci_run(r, 0, 9, &c) & IS_ERRORS, ==, 0);
	assert_image_pattern_in_ram(r, MEM_DATA, 5 * 512, 512, 0x11);
	g_assert_cmpuint(hg_test_msi_count(r), ==, 2);
	hg_test_quit(r);

	const char *args2[] = {"--drive", im->disk_arg, "--restore", dir2, NULL};
	r = hg_test_startv(args2);
	g_assert_cmphex(port_readl(r, 0, PxCI), ==, 1 << 7);
	g_assert_cmphex(port_readl(r, 0, PxIS) & IS_TFES, ==, IS_TFES);
	g_assert_cmphex(port_readl(r, 0, PxTFD) & 0x1, ==, 1);
	ahci_recover(r, 0);
	g_assert_cmphex(port_readl(r, 0, PxCI), ==, 0);
	hg_test_quit(r);
	images_free(im);
}

/* A transfer over a PRDT of thousands of entries goes to the image in many
 * requests, each submitted when the last completes; a save right after
 * the issue must still wait for all of them. */
static void test_save_waits_for_a_long_scatter_list(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	g_autofree char *dir = g_build_filename(im->dir, "saved", NULL);
	const char *args[] = {"--drive", im->disk_arg, "--restore", dir, NULL};
	const uint32_t n = 2000;
	uint64_t table = 0x400000, data = 0x800000;
	g_autofree uint8_t *prdt = g_malloc0(0x80 + 16 * n);
	AhciCommand c = {0};

	ahci_fis_ata(&c, 0x25, 0, n);
	memcpy(prdt, c.cfis, 20);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t e[4] = {(uint32_t)(data + 512 * i), 0, 0, 511};
		memcpy(prdt + 0x80 + 16 * i, e, 16);
	}
	hg_test_memwrite(t, table, prdt, 0x80 + 16 * n);
	uint32_t header[8] = {n << 16 | 5, 0, (uint32_t)table, 0};
	hg_test_memwrite(t, MEM_CLB(0), header, sizeof(header));
	port_writel(t, 0, PxCI, 1);
	hg_test_save(t, dir);
	g_assert_cmphex(port_readl(t, 0, PxCI), ==, 0);
	hg_test_quit(t);

	HgTest *r = hg_test_startv(args);
	g_assert_cmphex(port_readl(r, 0, PxCI), ==, 0);
	g_assert_cmphex(port_readl(r, 0, PxIS) & (IS_DHRS | IS_ERRORS), ==, IS_DHRS);
	g_assert_cmpuint(ahci_prdbc(r, 0, 0), ==, n * 512);
	assert_image_pattern_in_ram(r, data, 0, n * 512, 0x11);
	hg_test_quit(r);
	images_free(im);
}

static void test_load_rejects_a_corrupt_record(void)
{
	Images *im = images_new(false);
	HgTest *t = start_with_disk(im);
	g_autofree char *dir = g_build_filename(im->dir, "saved", NULL);
	const char *extra[] = {"--drive", im->disk_arg, NULL};
	const char *cd_instead[] = {"--drive", "if=sata,media=cdrom", NULL};

	hg_test_save(t, dir);
	hg_test_quit(t);
	/* A different drive on the port: refused, saying why. */
	hg_test_expect_restore_refused(dir, cd_instead, NULL, "port 0");
	/* A register of the wrong type. */
	hg_test_edit_saved_record(dir, "ahci", "port0-ci", g_variant_new_string("oops"));
	hg_test_expect_restore_refused(dir, extra, NULL, "port0-ci");
	/* The drive's record without its fields. */
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "kind", g_variant_new_string("ata-disk"));
	hg_test_edit_saved_record(dir, "ahci", "port0-ci", g_variant_new_uint32(0));
	hg_test_edit_saved_record(dir, "ahci", "port0-drive", g_variant_builder_end(&b));
	hg_test_expect_restore_refused(dir, extra, NULL, NULL);
	images_free(im);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ahci/pci/is-an-ich9-ahci-function", test_pci_identity);
	g_test_add_func("/ahci/pci/absent-without-sata-drives", test_no_sata_drive_no_controller);
	g_test_add_func("/ahci/hba/capabilities-say-ncq-64-bit-six-ports-32-slots",
			test_hba_capabilities);
	g_test_add_func("/ahci/port/signatures-tell-disk-cdrom-and-empty", test_port_signatures);
	g_test_add_func("/ahci/port/comreset-posts-the-signature-fis",
			test_comreset_posts_the_signature);
	g_test_add_func("/ahci/hba/reset-clears-registers-and-signature-waits-for-fre",
			test_hba_reset);
	g_test_add_func("/ahci/port/stop-clears-command-running",
			test_stop_clears_issue_and_running);
	g_test_add_func("/ahci/disk/identify-device-reports-model-capacity-and-ncq",
			test_identify_device);
	g_test_add_func("/ahci/disk/dma-reads-and-writes-round-trip-through-the-image",
			test_dma_round_trip);
	g_test_add_func("/ahci/disk/pio-read-ends-with-a-pio-setup-fis", test_pio_read_sectors);
	g_test_add_func("/ahci/dma/scatter-gather-follows-every-prd", test_scatter_gather);
	g_test_add_func("/ahci/ncq/several-slots-complete-with-set-device-bits",
			test_ncq_several_slots);
	g_test_add_func("/ahci/ncq/an-error-is-reported-in-log-10h",
			test_ncq_error_is_reported_in_log_10h);
	g_test_add_func("/ahci/disk/flush-completes-and-write-through-lands", test_flush);
	g_test_add_func("/ahci/disk/read-only-disk-aborts-writes",
			test_read_only_disk_aborts_writes);
	g_test_add_func("/ahci/disk/beyond-capacity-fails-with-idnf", test_beyond_capacity_is_idnf);
	g_test_add_func("/ahci/disk/unknown-command-is-aborted", test_unknown_command_is_aborted);
	g_test_add_func("/ahci/disk/read-native-max-address-is-the-last-sector",
			test_read_native_max_address);
	g_test_add_func("/ahci/disk/trim-discards-ranges", test_trim);
	g_test_add_func("/ahci/dma/rejects-prdt-outside-ram", test_prdt_outside_ram);
	g_test_add_func("/ahci/dma/rejects-command-table-list-and-fis-area-outside-ram",
			test_command_table_outside_ram);
	g_test_add_func("/ahci/dma/huge-prd-count-with-tiny-ram-is-safe",
			test_huge_prd_count_with_tiny_ram);
	g_test_add_func("/ahci/dma/short-or-empty-prdt-is-an-overflow",
			test_short_prdt_is_an_overflow);
	g_test_add_func("/ahci/dma/non-data-command-ignores-its-prds",
			test_non_data_command_ignores_prds);
	g_test_add_func("/ahci/irq/msi-follows-ie-bits-and-is-clears",
			test_interrupts_follow_ie_bits);
	g_test_add_func("/ahci/irq/intx-status-follows-pending-interrupts",
			test_intx_status_follows_pending_interrupts);
	g_test_add_func("/ahci/pci/no-commands-without-bus-mastering",
			test_no_commands_without_bus_mastering);
	g_test_add_func("/ahci/state/save-mid-operation-and-restore-continues",
			test_save_mid_operation_and_restore);
	g_test_add_func("/ahci/state/save-waits-for-a-long-scatter-list",
			test_save_waits_for_a_long_scatter_list);
	g_test_add_func("/ahci/state/load-rejects-a-corrupt-record",
			test_load_rejects_a_corrupt_record);
	return g_test_run();
}

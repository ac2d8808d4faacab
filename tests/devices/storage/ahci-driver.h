/* A tiny AHCI driver for the harness tests (test-ahci.c, test-atapi.c): PCI
 * set-up through 0xCF8/0xCFC, command lists, tables and PRDTs built in
 * guest RAM, completion polled on PxCI/PxIS.  Everything the device reads
 * is written by the test, so each test can break exactly one thing. */
#pragma once

#include <string.h>

#include "tests/harness/harness.h"
#include "tests/harness/pci.h"

#define AHCI_DEVFN (3 << 3)
#define AHCI_ABAR 0xfebf0000ULL

/* Guest memory the driver uses (fits in 2 MiB of RAM). */
#define MEM_CLB(port) (0x10000ULL + (port)*0x400)
#define MEM_FB(port) (0x20000ULL + (port)*0x100)
#define MEM_TABLE(port, slot) (0x40000ULL + ((port)*32 + (slot)) * 0x200)
#define MEM_DATA 0x100000ULL

/* Registers. */
#define HBA_CAP 0x00
#define HBA_GHC 0x04
#define HBA_IS 0x08
#define HBA_PI 0x0c
#define HBA_VS 0x10
#define PxCLB 0x00
#define PxCLBU 0x04
#define PxFB 0x08
#define PxFBU 0x0c
#define PxIS 0x10
#define PxIE 0x14
#define PxCMD 0x18
#define PxTFD 0x20
#define PxSIG 0x24
#define PxSSTS 0x28
#define PxSCTL 0x2c
#define PxSERR 0x30
#define PxSACT 0x34
#define PxCI 0x38

#define IS_DHRS (1u << 0)
#define IS_PSS (1u << 1)
#define IS_SDBS (1u << 3)
#define IS_DPS (1u << 5)
#define IS_OFS (1u << 24)
#define IS_IFS (1u << 27)
#define IS_HBFS (1u << 29)
#define IS_TFES (1u << 30)
#define IS_ERRORS (IS_TFES | IS_HBFS | IS_IFS | IS_OFS)

#define CMD_ST (1u << 0)
#define CMD_FRE (1u << 4)
#define CMD_FR (1u << 14)
#define CMD_CR (1u << 15)

static inline uint32_t hba_readl(HgTest *t, unsigned reg)
{
	return hg_test_readl(t, AHCI_ABAR + reg);
}

static inline void hba_writel(HgTest *t, unsigned reg, uint32_t v)
{
	hg_test_writel(t, AHCI_ABAR + reg, v);
}

static inline uint32_t port_readl(HgTest *t, unsigned port, unsigned reg)
{
	return hba_readl(t, 0x100 + port * 0x80 + reg);
}

static inline void port_writel(HgTest *t, unsigned port, unsigned reg, uint32_t v)
{
	hba_writel(t, 0x100 + port * 0x80 + reg, v);
}

/* BAR5 at AHCI_ABAR, memory decoding and bus mastering on. */
static inline void ahci_pci_enable(HgTest *t)
{
	hg_test_pci_writel(t, AHCI_DEVFN, 0x24, (uint32_t)AHCI_ABAR);
	hg_test_pci_writew(t, AHCI_DEVFN, 0x04, 0x0006);
}

/* What a driver does before its first command on a port. */
static inline void ahci_port_start(HgTest *t, unsigned port)
{
	port_writel(t, port, PxCLB, (uint32_t)MEM_CLB(port));
	port_writel(t, port, PxCLBU, 0);
	port_writel(t, port, PxFB, (uint32_t)MEM_FB(port));
	port_writel(t, port, PxFBU, 0);
	port_writel(t, port, PxSERR, 0xffffffff);
	port_writel(t, port, PxIS, 0xffffffff);
	port_writel(t, port, PxCMD, CMD_FRE);
	port_writel(t, port, PxCMD, CMD_FRE | CMD_ST);
}

static inline HgTest *ahci_start_argv(const char *const *args)
{
	HgTest *t = hg_test_startv(args);
	ahci_pci_enable(t);
	return t;
}

typedef struct {
	uint64_t address;
	uint32_t length;
	bool interrupt;
} AhciPrd;

typedef struct {
	uint8_t cfis[20];
	uint8_t acmd[16];
	bool write;
	bool atapi;
	uint32_t n_prd; /* PRDTL as written to the header */
	AhciPrd prd[16]; /* the first min(n_prd, 16) are written */
	uint64_t table; /* 0: MEM_TABLE(port, slot) */
} AhciCommand;

static inline void ahci_fis_ata(AhciCommand *c, uint8_t command, uint64_t lba, uint16_t count)
{
	memset(c->cfis, 0, sizeof(c->cfis));
	c->cfis[0] = 0x27;
	c->cfis[1] = 0x80;
	c->cfis[2] = command;
	c->cfis[4] = lba;
	c->cfis[5] = lba >> 8;
	c->cfis[6] = lba >> 16;
	c->cfis[7] = 0x40;
	c->cfis[8] = lba >> 24;
	c->cfis[9] = lba >> 32;
	c->cfis[10] = lba >> 40;
	c->cfis[12] = count;
	c->cfis[13] = count >> 8;
}

/* READ/WRITE FPDMA QUEUED: the count goes in features, the tag in count. */
static inline void ahci_fis_ncq(AhciCommand *c, bool write, uint64_t lba, uint16_t count,
				unsigned tag)
{
	ahci_fis_ata(c, write ? 0x61 : 0x60, lba, 0);
	c->cfis[3] = count;
	c->cfis[11] = count >> 8;
	c->cfis[12] = tag << 3;
}

static inline void ahci_fis_packet(AhciCommand *c, const uint8_t *cdb, size_t len, bool dma)
{
	memset(c->cfis, 0, sizeof(c->cfis));
	c->cfis[0] = 0x27;
	c->cfis[1] = 0x80;
	c->cfis[2] = 0xa0;
	c->cfis[3] = dma ? 1 : 0;
	c->cfis[5] = 0x00; /* byte count limit 0x800 for PIO */
	c->cfis[6] = 0x08;
	memset(c->acmd, 0, sizeof(c->acmd));
	memcpy(c->acmd, cdb, len);
	c->atapi = true;
}

static inline void ahci_one_buffer(AhciCommand *c, uint64_t address, uint32_t length)
{
	c->n_prd = 1;
	c->prd[0] = (AhciPrd){address, length, false};
}

/* Build the slot's header and table in guest RAM and set PxCI (and PxSACT
 * for a queued command). */
static inline void ahci_issue(HgTest *t, unsigned port, unsigned slot, const AhciCommand *c)
{
	uint64_t table = c->table ? c->table : MEM_TABLE(port, slot);
	uint32_t header[8] = {0};
	uint8_t buf[0x80 + 16 * 16] = {0};
	uint32_t n = MIN(c->n_prd, 16u);
	bool queued = c->cfis[2] == 0x60 || c->cfis[2] == 0x61;

	header[0] = (c->n_prd << 16) | (c->atapi ? 1 << 5 : 0) | (c->write ? 1 << 6 : 0) | 5;
	header[2] = (uint32_t)table;
	header[3] = (uint32_t)(table >> 32);
	memcpy(buf, c->cfis, sizeof(c->cfis));
	memcpy(buf + 0x40, c->acmd, sizeof(c->acmd));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t prd[4] = {(uint32_t)c->prd[i].address, (uint32_t)(c->prd[i].address >> 32),
				   0,
				   (c->prd[i].length - 1) | (c->prd[i].interrupt ? 1u << 31 : 0)};
		memcpy(buf + 0x80 + 16 * i, prd, 16);
	}
	hg_test_memwrite(t, table, buf, 0x80 + 16 * n);
	hg_test_memwrite(t, MEM_CLB(port) + 32 * slot, header, sizeof(header));
	if (queued)
		port_writel(t, port, PxSACT, 1u << slot);
	port_writel(t, port, PxCI, 1u << slot);
}

/* Wait (at most 5 s) until none of the slots in mask is issued or active,
 * or an error stops the port; returns PxIS. */
static inline uint32_t ahci_wait(HgTest *t, unsigned port, uint32_t mask)
{
	for (int i = 0; i < 5000; i++) {
		/* Issue state first: a completion between the two reads then
		 * shows in PxIS too. */
		uint32_t busy = (port_readl(t, port, PxCI) | port_readl(t, port, PxSACT)) & mask;
		uint32_t is = port_readl(t, port, PxIS);
		if (!busy || (is & IS_ERRORS))
			return is;
		g_usleep(1000);
	}
	g_error("AHCI port %u: slots 0x%x did not complete", port, mask);
	return 0;
}

/* Issue, wait, and return PxIS (then cleared). */
static inline uint32_t ahci_run(HgTest *t, unsigned port, unsigned slot, const AhciCommand *c)
{
	uint32_t is;

	ahci_issue(t, port, slot, c);
	is = ahci_wait(t, port, 1u << slot);
	port_writel(t, port, PxIS, is);
	return is;
}

/* Error recovery as AHCI 6.2.2.1 asks: stop, clear errors, start again. */
static inline void ahci_recover(HgTest *t, unsigned port)
{
	port_writel(t, port, PxCMD, CMD_FRE);
	for (int i = 0; i < 5000 && (port_readl(t, port, PxCMD) & CMD_CR); i++)
		g_usleep(1000);
	g_assert_cmphex(port_readl(t, port, PxCMD) & CMD_CR, ==, 0);
	port_writel(t, port, PxSERR, 0xffffffff);
	port_writel(t, port, PxIS, 0xffffffff);
	port_writel(t, port, PxCMD, CMD_FRE | CMD_ST);
}

/* The Register FIS, PIO Setup FIS and Set Device Bits FIS last received. */
static inline void ahci_read_fis(HgTest *t, unsigned port, unsigned offset, uint8_t *fis,
				 size_t len)
{
	hg_test_memread(t, MEM_FB(port) + offset, fis, len);
}

static inline uint32_t ahci_prdbc(HgTest *t, unsigned port, unsigned slot)
{
	return hg_test_readl(t, MEM_CLB(port) + 32 * slot + 4);
}

/* ---- files ---- */

/* A private directory for images, made before the engine starts. */
static inline char *test_image_dir(void)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_dir_make_tmp("hangar-ahci-XXXXXX", &error);
	g_assert_no_error(error);
	return dir;
}

/* A file of size bytes where byte i is pattern(i, seed). */
static inline uint8_t image_byte(uint64_t i, uint8_t seed)
{
	return (uint8_t)((i >> 9) * 7 + (i & 0x1ff) * 3 + seed);
}

static inline char *make_image(const char *dir, const char *name, uint64_t size, uint8_t seed)
{
	g_autoptr(GError) error = NULL;
	char *path = g_build_filename(dir, name, NULL);
	g_autofree uint8_t *data = g_malloc(size);

	for (uint64_t i = 0; i < size; i++)
		data[i] = image_byte(i, seed);
	g_file_set_contents(path, (const char *)data, size, &error);
	g_assert_no_error(error);
	return path;
}

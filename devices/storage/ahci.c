/* The AHCI host bus adapter: an ICH9-style SATA controller with six ports.
 *
 * Specification: Serial ATA AHCI 1.3.1.
 *   2.1-2.3  PCI header, ABAR (BAR5), MSI capability
 *   3.1      generic host control: CAP, GHC, IS, PI, VS, CAP2
 *   3.3      port registers: PxCLB/FB, PxIS/IE, PxCMD, PxTFD, PxSIG,
 *            PxSSTS/SCTL/SERR (SStatus, SControl, SError), PxSACT, PxCI
 *   4.2.1    received FIS area: DMA setup 00h, PIO setup 20h, D2H
 *            register 40h, set device bits 58h, unknown 60h
 *   4.2.2/3  command list (32-byte headers) and command table (CFIS at 00h,
 *            ACMD at 40h, PRDT at 80h, 16-byte entries, DBC + 1 bytes)
 *   5.3      port state machine: what a command's FISes do to PxTFD, PxCI,
 *            PxSACT and PxIS; a command with ERR set stays in PxCI
 *   6.1/6.2  errors: HBFS, OFS and TFES stop the port until software clears
 *            PxCMD.ST, which clears PxCI and PxSACT
 *   10.4     HBA reset (GHC.HR) and port reset (COMRESET through
 *            PxSCTL.DET): a drive answers with its signature FIS
 *
 * Model choices:
 * - The link is up from power-on on every port with a drive (no staggered
 *   spin-up, CAP.SSS = 0): PxSSTS reads 133h (device, 6 Gb/s, active).
 *   After any reset the drive's signature goes to PxSIG and PxTFD at once;
 *   its Register FIS is posted when FIS receive is (or becomes) enabled.
 * - Commands run when software sets their PxCI bit (vCPU thread): the
 *   header, the command table and each PRD entry are read through the
 *   bounds-checked guest memory helpers as the transfer needs them, never
 *   trusted; anything outside RAM is a host bus fatal error (PxIS.HBFS)
 *   that stops the port and nothing else.  Data moves straight between
 *   the image and guest RAM (iovecs onto RAM, at most HG_SATA_IOV_MAX per
 *   request, a longer PRDT in several requests).
 * - A drive takes one non-queued command at a time, or up to 32 queued
 *   ones; the two kinds never overlap (a non-queued command waits).
 * - Interrupts: IS.IPS[n] is set when a bit enabled in PxIE becomes set in
 *   PxIS; INTx follows GHC.IE && IS != 0.  With MSI (one vector) a message
 *   goes out whenever an IS bit goes from 0 to 1, including the moment
 *   software clears an IS bit whose port still has enabled status pending.
 * - No DMA (and so no commands, FISes or MSI) while the PCI command
 *   register's bus master bit is clear.
 * - Save/load: the engine drains block I/O before a save, so no command is
 *   in flight in a record; what survives is the registers (PxCI bits that
 *   wait for a stopped port included) and each drive's own state.
 *
 * Threads: register accesses arrive on vCPU threads, block completions on
 * the main thread, the control socket's media commands on the main
 * thread; always with the machine's device lock held. */
#include "devices/storage/ahci.h"

#include <string.h>

#include "devices/storage/ata_disk.h"
#include "devices/storage/atapi.h"
#include "devices/storage/sata.h"

#define AHCI_SLOTS 32
#define ABAR_SIZE 0x1000

/* Generic host control (3.1). */
#define HBA_CAP 0x00
#define HBA_GHC 0x04
#define HBA_IS 0x08
#define HBA_PI 0x0c
#define HBA_VS 0x10
#define HBA_CCC_CTL 0x14
#define HBA_CAP2 0x24
#define HBA_BOHC 0x28
#define PORT_BASE 0x100
#define PORT_STRIDE 0x80

#define CAP_S64A (1u << 31)
#define CAP_SNCQ (1u << 30)
#define CAP_SAM (1u << 18)
#define CAP_SCLO (1u << 24)
#define CAP_ISS_GEN3 (3u << 20)
#define CAP_VALUE                                                                                  \
	(CAP_S64A | CAP_SNCQ | CAP_SCLO | CAP_ISS_GEN3 | CAP_SAM | (AHCI_SLOTS - 1) << 8 |         \
	 (HG_AHCI_PORTS - 1))
#define AHCI_VERSION 0x00010301 /* 1.3.1 */

#define GHC_HR (1u << 0)
#define GHC_IE (1u << 1)
#define GHC_AE (1u << 31)

/* Port registers (3.3). */
enum {
	PxCLB = 0x00,
	PxCLBU = 0x04,
	PxFB = 0x08,
	PxFBU = 0x0c,
	PxIS = 0x10,
	PxIE = 0x14,
	PxCMD = 0x18,
	PxTFD = 0x20,
	PxSIG = 0x24,
	PxSSTS = 0x28,
	PxSCTL = 0x2c,
	PxSERR = 0x30,
	PxSACT = 0x34,
	PxCI = 0x38,
};

/* PxIS / PxIE (3.3.5, 3.3.6). */
#define PxIS_DHRS (1u << 0)
#define PxIS_PSS (1u << 1)
#define PxIS_SDBS (1u << 3)
#define PxIS_DPS (1u << 5)
#define PxIS_OFS (1u << 24)
#define PxIS_IFS (1u << 27)
#define PxIS_HBFS (1u << 29)
#define PxIS_TFES (1u << 30)
#define PxIS_MASK 0xfdc000ffu /* implemented status bits */

/* PxCMD (3.3.7). */
#define PxCMD_ST (1u << 0)
#define PxCMD_SUD (1u << 1)
#define PxCMD_POD (1u << 2)
#define PxCMD_CLO (1u << 3)
#define PxCMD_FRE (1u << 4)
#define PxCMD_CCS_SHIFT 8
#define PxCMD_CCS_MASK (0x1fu << 8)
#define PxCMD_FR (1u << 14)
#define PxCMD_CR (1u << 15)
#define PxCMD_ATAPI (1u << 24)
#define PxCMD_DLAE (1u << 25)
#define PxCMD_WRITABLE (PxCMD_ST | PxCMD_FRE | PxCMD_ATAPI | PxCMD_DLAE)

#define SSTS_LINK_UP 0x133 /* active, Gen3, device present with PHY up */
#define SCTL_DET_MASK 0xf
#define SCTL_DET_COMRESET 0x1

#define TFD_IDLE_NO_DEVICE 0x7f

/* Received FIS area offsets (4.2.1). */
#define RFIS_PIO_SETUP 0x20
#define RFIS_D2H 0x40
#define RFIS_SDB 0x58

/* Command header (4.2.2). */
#define HEADER_SIZE 32
#define HEADER_CFL_MASK 0x1f
#define HEADER_ATAPI (1u << 5)
#define HEADER_CLEAR_BUSY (1u << 10)
#define TABLE_ACMD 0x40
#define TABLE_PRDT 0x80
#define PRD_SIZE 16
#define PRD_DBC_MASK 0x3fffff
#define PRD_INTERRUPT (1u << 31)

#define ATA_READ_FPDMA_QUEUED 0x60
#define ATA_WRITE_FPDMA_QUEUED 0x61
#define FIS_CONTROL_SRST 0x04

typedef struct AhciHba AhciHba;
typedef struct AhciPort AhciPort;

typedef struct {
	HgSataCommand cmd; /* first: the transport's callbacks get this */
	AhciPort *port;
	/* Where the transfer is in the PRDT. */
	uint64_t table;
	uint32_t prd_count;
	uint32_t prd_index;
	uint32_t prd_offset;
	bool prd_interrupt; /* a PRD with its I bit was used up */
} AhciSlot;

struct AhciPort {
	AhciHba *hba;
	unsigned index;
	HgSataDrive *drive; /* NULL: nothing attached */
	AhciSlot *slots; /* AHCI_SLOTS, with a drive */

	uint32_t clb, clbu, fb, fbu, is, ie, cmd, tfd, sig, ssts, sctl, serr, sact, ci;

	uint32_t busy; /* slots whose command the drive has */
	uint32_t busy_queued; /* the queued ones among them */
	bool stopped; /* error: nothing runs until software clears ST */
	bool signature_pending; /* reset FIS to post once FRE is set */
	bool running; /* ahci_port_run is on the stack */
};

struct AhciHba {
	HgPciDevice pci;
	uint32_t ghc;
	uint32_t is;
	AhciPort ports[HG_AHCI_PORTS];
};

const HgDeviceClass hg_ahci_class;

static void ahci_port_run(AhciPort *p);

static HgGuestMemory *ahci_memory(AhciPort *p)
{
	return &p->hba->pci.dev.machine->memory;
}

static bool ahci_bus_master(AhciHba *h)
{
	return hg_pci_get_word(&h->pci, HG_PCI_COMMAND) & HG_PCI_COMMAND_MASTER;
}

/* ---- interrupts ---- */

/* fresh: an IS bit went from 0 to 1 (an edge for MSI). */
static void ahci_update_irq(AhciHba *h, bool fresh)
{
	bool pending = (h->ghc & GHC_IE) && h->is;

	if (hg_pci_msi_enabled(&h->pci)) {
		hg_pci_set_intx(&h->pci, false);
		if (pending && fresh && ahci_bus_master(h))
			hg_pci_notify(&h->pci, 0);
	} else {
		hg_pci_set_intx(&h->pci, pending);
	}
}

/* Set IS bits for ports with enabled status pending; true if any is new. */
static bool ahci_collect_is(AhciHba *h)
{
	bool fresh = false;

	for (unsigned i = 0; i < HG_AHCI_PORTS; i++) {
		AhciPort *p = &h->ports[i];
		if ((p->is & p->ie) && !(h->is & (1u << i))) {
			h->is |= 1u << i;
			fresh = true;
		}
	}
	return fresh;
}

static void ahci_port_raise(AhciPort *p, uint32_t bits)
{
	p->is |= bits;
	ahci_update_irq(p->hba, ahci_collect_is(p->hba));
}

/* A host-side error: report it and stop the port until software clears
 * PxCMD.ST (6.2.2). */
static void ahci_port_fatal(AhciPort *p, uint32_t bits)
{
	g_debug("%s: port %u stops on error PxIS 0x%08x", p->hba->pci.dev.id, p->index, bits);
	p->stopped = true;
	ahci_port_raise(p, bits);
}

/* ---- FIS posting ---- */

static bool ahci_port_post_fis(AhciPort *p, unsigned offset, const uint8_t *fis, size_t len)
{
	uint64_t base = (uint64_t)p->fbu << 32 | p->fb;

	if (!(p->cmd & PxCMD_FRE))
		return true; /* not received: only the registers change */
	if (!hg_memory_write(ahci_memory(p), base + offset, fis, len)) {
		ahci_port_fatal(p, PxIS_HBFS);
		return false;
	}
	return true;
}

static void ahci_port_post_signature(AhciPort *p)
{
	uint8_t fis[20] = {0};
	uint32_t sig = p->sig;

	fis[0] = HG_FIS_REG_D2H;
	fis[2] = p->tfd & 0xff;
	fis[3] = p->tfd >> 8;
	fis[12] = sig & 0xff; /* sector count */
	fis[4] = sig >> 8; /* LBA low */
	fis[5] = sig >> 16; /* LBA mid */
	fis[6] = sig >> 24; /* LBA high */
	p->signature_pending = false;
	ahci_port_post_fis(p, RFIS_D2H, fis, sizeof(fis));
}

/* ---- resets ---- */

/* Commands the drive still has end without a result; their slots stay
 * busy until the block queue gives them back. */
static void ahci_port_cancel(AhciPort *p)
{
	for (unsigned s = 0; s < AHCI_SLOTS; s++)
		if (p->busy & (1u << s))
			p->slots[s].cmd.cancelled = true;
}

static void ahci_port_check_stopped(AhciPort *p)
{
	if (!(p->cmd & PxCMD_ST) && !p->busy)
		p->cmd &= ~PxCMD_CR;
}

/* The drive's answer to COMRESET or an HBA reset: a Register FIS with its
 * signature (10.4.2). */
static void ahci_port_link_reset(AhciPort *p)
{
	ahci_port_cancel(p);
	if (!p->drive) {
		p->ssts = 0;
		p->sig = 0xffffffff;
		p->tfd = TFD_IDLE_NO_DEVICE;
		return;
	}
	p->drive->ops->reset(p->drive);
	p->ssts = SSTS_LINK_UP;
	p->sig = p->drive->ops->signature;
	/* Error 01h: diagnostics passed; a packet device shows status 00h. */
	p->tfd = 0x0100 | (p->sig == HG_ATAPI_SIGNATURE ? 0x00 : HG_ATA_STATUS_OK);
	p->signature_pending = true;
	if (p->cmd & PxCMD_FRE)
		ahci_port_post_signature(p);
}

static void ahci_port_stop(AhciPort *p)
{
	p->ci = 0;
	p->sact = 0;
	p->stopped = false;
	p->cmd &= ~PxCMD_CCS_MASK;
	ahci_port_cancel(p);
	ahci_port_check_stopped(p);
}

static void ahci_port_hba_reset(AhciPort *p)
{
	p->cmd = (p->cmd & PxCMD_CR) | PxCMD_SUD | PxCMD_POD;
	ahci_port_stop(p);
	p->is = p->ie = 0;
	p->serr = 0;
	p->sctl = 0;
	p->cmd &= ~PxCMD_FR;
	ahci_port_link_reset(p);
}

static void ahci_hba_reset(AhciHba *h)
{
	for (unsigned i = 0; i < HG_AHCI_PORTS; i++)
		ahci_port_hba_reset(&h->ports[i]);
	h->ghc = GHC_AE;
	h->is = 0;
	ahci_update_irq(h, false);
}

/* ---- the scatter list (HgSataTransport) ---- */

static AhciSlot *to_slot(HgSataCommand *cmd)
{
	return (AhciSlot *)cmd;
}

static int ahci_map(HgSataCommand *cmd, uint64_t max, struct iovec *iov, int n, uint64_t *bytes)
{
	AhciSlot *slot = to_slot(cmd);
	AhciPort *p = slot->port;
	HgGuestMemory *mem = ahci_memory(p);
	int count = 0;

	*bytes = 0;
	while (max && count < n && slot->prd_index < slot->prd_count) {
		uint32_t prd[4];
		uint64_t address, size, take;
		void *host;

		if (!hg_memory_read(mem,
				    slot->table + TABLE_PRDT + (uint64_t)slot->prd_index * PRD_SIZE,
				    prd, sizeof(prd)))
			goto host_error;
		/* DBA bit 0 is reserved (word alignment); DBC is size - 1. */
		address =
			((uint64_t)GUINT32_FROM_LE(prd[1]) << 32 | GUINT32_FROM_LE(prd[0])) & ~1ull;
		size = (GUINT32_FROM_LE(prd[3]) & PRD_DBC_MASK) + 1;
		take = MIN(size - slot->prd_offset, max);
		host = hg_memory_ptr(mem, address + slot->prd_offset, take);
		if (!host)
			goto host_error;
		iov[count].iov_base = host;
		iov[count].iov_len = take;
		count++;
		*bytes += take;
		max -= take;
		slot->prd_offset += take;
		if (slot->prd_offset == size) {
			if (GUINT32_FROM_LE(prd[3]) & PRD_INTERRUPT)
				slot->prd_interrupt = true;
			slot->prd_index++;
			slot->prd_offset = 0;
		}
	}
	return count;

host_error:
	g_debug("%s: port %u slot %u: PRD %u outside guest RAM", p->hba->pci.dev.id, p->index,
		cmd->tag, slot->prd_index);
	cmd->host_error = true;
	ahci_port_fatal(p, PxIS_HBFS);
	return -1;
}

static void ahci_command_complete(HgSataCommand *cmd);

static const HgSataTransport ahci_transport = {
	.map = ahci_map,
	.complete = ahci_command_complete,
};

/* ---- command completion ---- */

static void ahci_fis_put_lba(uint8_t *fis, uint64_t lba)
{
	fis[4] = lba;
	fis[5] = lba >> 8;
	fis[6] = lba >> 16;
	fis[8] = lba >> 24;
	fis[9] = lba >> 32;
	fis[10] = lba >> 40;
}

static void ahci_command_complete(HgSataCommand *cmd)
{
	AhciSlot *slot = to_slot(cmd);
	AhciPort *p = slot->port;
	uint32_t bit = 1u << cmd->tag;
	uint32_t irq = 0;
	uint8_t fis[20] = {0};
	uint64_t header = ((uint64_t)p->clbu << 32 | p->clb) + cmd->tag * HEADER_SIZE;
	uint32_t prdbc = GUINT32_TO_LE((uint32_t)MIN(cmd->transferred, UINT32_MAX));

	p->busy &= ~bit;
	p->busy_queued &= ~bit;
	if (cmd->cancelled) {
		ahci_port_check_stopped(p);
		ahci_port_run(p);
		return;
	}
	if (cmd->host_error)
		return; /* the port stopped on HBFS */
	if (cmd->overflow) {
		/* The drive had more data than the PRDT described (6.1.2). */
		ahci_port_fatal(p, PxIS_OFS);
		return;
	}
	if (!hg_memory_write(ahci_memory(p), header + 4, &prdbc, sizeof(prdbc))) {
		ahci_port_fatal(p, PxIS_HBFS);
		return;
	}
	switch (cmd->end) {
	case HG_SATA_END_D2H:
		fis[0] = HG_FIS_REG_D2H;
		fis[1] = 0x40; /* interrupt */
		fis[2] = cmd->status;
		fis[3] = cmd->error;
		ahci_fis_put_lba(fis, cmd->lba);
		fis[7] = cmd->fis[7];
		fis[12] = cmd->count;
		p->tfd = (uint32_t)cmd->error << 8 | cmd->status;
		if (!ahci_port_post_fis(p, RFIS_D2H, fis, 20))
			return;
		irq |= PxIS_DHRS;
		break;
	case HG_SATA_END_PIO_IN:
		fis[0] = HG_FIS_PIO_SETUP;
		fis[1] = 0x40 | 0x20; /* interrupt, device to host */
		fis[2] = cmd->status | HG_ATA_STATUS_DRQ; /* as the data phase began */
		fis[3] = cmd->error;
		ahci_fis_put_lba(fis, cmd->lba);
		fis[7] = cmd->fis[7];
		fis[12] = cmd->count;
		fis[15] = cmd->status; /* E_Status: what the registers hold after it */
		fis[16] = cmd->transferred;
		fis[17] = cmd->transferred >> 8;
		p->tfd = (uint32_t)cmd->error << 8 | cmd->status;
		if (!ahci_port_post_fis(p, RFIS_PIO_SETUP, fis, 20))
			return;
		irq |= PxIS_PSS;
		break;
	case HG_SATA_END_SDB: {
		uint32_t active = cmd->status & HG_ATA_STATUS_ERR ? 0 : GUINT32_TO_LE(bit);
		fis[0] = HG_FIS_SET_DEVICE_BITS;
		fis[1] = 0x40;
		fis[2] = cmd->status & 0x77;
		fis[3] = cmd->error;
		memcpy(fis + 4, &active, 4);
		p->tfd = (p->tfd & 0x88) | (cmd->status & 0x77) | (uint32_t)cmd->error << 8;
		if (!ahci_port_post_fis(p, RFIS_SDB, fis, 8))
			return;
		if (active)
			p->sact &= ~bit;
		irq |= PxIS_SDBS;
		break;
	}
	}
	if (cmd->status & HG_ATA_STATUS_ERR) {
		/* The failed command stays in PxCI for software to find (5.3.8). */
		irq |= PxIS_TFES;
		p->stopped = true;
	} else if (!cmd->queued) {
		p->ci &= ~bit;
	}
	if (slot->prd_interrupt)
		irq |= PxIS_DPS;
	ahci_port_raise(p, irq);
	ahci_port_run(p);
}

/* ---- command issue ---- */

static bool ahci_port_can_run(AhciPort *p)
{
	return p->drive && (p->cmd & PxCMD_ST) && !p->stopped && (p->ssts & SCTL_DET_MASK) == 3 &&
	       ahci_bus_master(p->hba);
}

/* A Register FIS with C = 0 only writes the Device Control register: the
 * software reset of ATA8-ACS 11.4 (SRST set, then cleared). */
static void ahci_port_control_fis(AhciPort *p, unsigned s, const uint8_t *cfis)
{
	if (!(cfis[15] & FIS_CONTROL_SRST)) {
		p->drive->ops->reset(p->drive);
		p->sig = p->drive->ops->signature;
		p->tfd = 0x0100 | (p->sig == HG_ATAPI_SIGNATURE ? 0x00 : HG_ATA_STATUS_OK);
		ahci_port_post_signature(p);
	} else {
		p->tfd |= HG_ATA_STATUS_BSY;
	}
	p->ci &= ~(1u << s);
}

/* Fetch the command in slot s and hand it to the drive.  False when it
 * must wait (or the port stopped). */
static bool ahci_port_start_command(AhciPort *p, unsigned s)
{
	HgGuestMemory *mem = ahci_memory(p);
	AhciSlot *slot = &p->slots[s];
	HgSataCommand *cmd = &slot->cmd;
	uint32_t header[4];
	uint8_t table[TABLE_ACMD + 16];
	uint64_t list = (uint64_t)p->clbu << 32 | p->clb;
	uint32_t bit = 1u << s;
	bool queued;

	if (p->busy & ~p->busy_queued)
		return false; /* a non-queued command is running */
	if (!hg_memory_read(mem, list + s * HEADER_SIZE, header, sizeof(header))) {
		ahci_port_fatal(p, PxIS_HBFS);
		return false;
	}
	slot->table = ((uint64_t)GUINT32_FROM_LE(header[3]) << 32 | GUINT32_FROM_LE(header[2])) &
		      ~0x7full;
	if (!hg_memory_read(mem, slot->table, table, sizeof(table))) {
		ahci_port_fatal(p, PxIS_HBFS);
		return false;
	}
	if (table[0] != HG_FIS_REG_H2D) {
		/* Nothing a drive would accept: an interface error. */
		ahci_port_fatal(p, PxIS_IFS);
		return false;
	}
	if (!(table[1] & 0x80)) {
		ahci_port_control_fis(p, s, table);
		return true;
	}
	queued = table[2] == ATA_READ_FPDMA_QUEUED || table[2] == ATA_WRITE_FPDMA_QUEUED;
	if (!queued && p->busy)
		return false; /* queued commands first run out */

	memset(cmd, 0, offsetof(HgSataCommand, iov));
	memcpy(cmd->fis, table, sizeof(cmd->fis));
	memcpy(cmd->packet, table + TABLE_ACMD, sizeof(cmd->packet));
	cmd->tag = s;
	cmd->queued = queued;
	cmd->transport = &ahci_transport;
	cmd->drive = p->drive;
	cmd->end = queued ? HG_SATA_END_SDB : HG_SATA_END_D2H;
	slot->prd_count = GUINT32_FROM_LE(header[0]) >> 16;
	slot->prd_index = 0;
	slot->prd_offset = 0;
	slot->prd_interrupt = false;

	p->busy |= bit;
	p->cmd = (p->cmd & ~PxCMD_CCS_MASK) | s << PxCMD_CCS_SHIFT;
	if (queued) {
		/* The drive takes the command at once: a Register FIS without
		 * interrupt clears BSY, and the HBA clears PxCI (5.3.8). */
		uint8_t fis[20] = {HG_FIS_REG_D2H, 0, HG_ATA_STATUS_OK};
		p->busy_queued |= bit;
		p->tfd = (p->tfd & 0xff00) | HG_ATA_STATUS_OK;
		p->ci &= ~bit;
		if (!ahci_port_post_fis(p, RFIS_D2H, fis, sizeof(fis))) {
			p->busy &= ~bit;
			p->busy_queued &= ~bit;
			return false;
		}
	}
	p->drive->ops->execute(p->drive, cmd);
	return true;
}

static void ahci_port_run(AhciPort *p)
{
	if (p->running)
		return; /* the loop below picks up what changed */
	p->running = true;
	while (ahci_port_can_run(p)) {
		uint32_t pending = p->ci & ~p->busy;
		if (!pending || !ahci_port_start_command(p, __builtin_ctz(pending)))
			break;
	}
	p->running = false;
}

/* ---- registers ---- */

static void ahci_port_write_cmd(AhciPort *p, uint32_t value)
{
	uint32_t old = p->cmd;

	p->cmd = (old & ~PxCMD_WRITABLE) | (value & PxCMD_WRITABLE);
	if (p->cmd & PxCMD_FRE) {
		p->cmd |= PxCMD_FR;
		if (!(old & PxCMD_FRE) && p->signature_pending)
			ahci_port_post_signature(p);
	} else {
		p->cmd &= ~PxCMD_FR;
	}
	if (value & PxCMD_CLO) /* command list override: forget BSY and DRQ */
		p->tfd &= ~(HG_ATA_STATUS_BSY | HG_ATA_STATUS_DRQ);
	if ((p->cmd & PxCMD_ST) && !(old & PxCMD_ST)) {
		p->cmd = (p->cmd & ~PxCMD_CCS_MASK) | PxCMD_CR;
		ahci_port_run(p);
	} else if (!(p->cmd & PxCMD_ST) && (old & PxCMD_ST)) {
		ahci_port_stop(p);
	}
}

static void ahci_port_write_sctl(AhciPort *p, uint32_t value)
{
	uint32_t old = p->sctl;

	p->sctl = value & 0xfff;
	if ((value & SCTL_DET_MASK) == SCTL_DET_COMRESET) {
		/* COMRESET asserted: the link is down, the drive busy. */
		p->ssts = 0;
		p->tfd = (p->tfd & 0xff00) | HG_ATA_STATUS_BSY;
		ahci_port_cancel(p);
	} else if ((old & SCTL_DET_MASK) == SCTL_DET_COMRESET && (value & SCTL_DET_MASK) == 0) {
		ahci_port_link_reset(p);
	} else if ((value & SCTL_DET_MASK) == 4) {
		p->ssts = 4; /* interface offline */
	}
}

static uint32_t ahci_port_read(AhciPort *p, unsigned reg)
{
	switch (reg) {
	case PxCLB:
		return p->clb;
	case PxCLBU:
		return p->clbu;
	case PxFB:
		return p->fb;
	case PxFBU:
		return p->fbu;
	case PxIS:
		return p->is;
	case PxIE:
		return p->ie;
	case PxCMD:
		return p->cmd;
	case PxTFD:
		return p->tfd;
	case PxSIG:
		return p->sig;
	case PxSSTS:
		return p->ssts;
	case PxSCTL:
		return p->sctl;
	case PxSERR:
		return p->serr;
	case PxSACT:
		return p->sact;
	case PxCI:
		return p->ci;
	}
	return 0;
}

/* mask: the bits the guest wrote (a narrow access writes fewer). */
static void ahci_port_write(AhciPort *p, unsigned reg, uint32_t value, uint32_t mask)
{
	uint32_t merged = (ahci_port_read(p, reg) & ~mask) | (value & mask);
	AhciHba *h = p->hba;

	switch (reg) {
	case PxCLB:
		p->clb = merged & ~0x3ffu;
		break;
	case PxCLBU:
		p->clbu = merged;
		break;
	case PxFB:
		p->fb = merged & ~0xffu;
		break;
	case PxFBU:
		p->fbu = merged;
		break;
	case PxIS:
		p->is &= ~(value & mask);
		ahci_update_irq(h, false);
		break;
	case PxIE:
		p->ie = merged & PxIS_MASK;
		ahci_update_irq(h, ahci_collect_is(h));
		break;
	case PxCMD:
		ahci_port_write_cmd(p, merged);
		break;
	case PxSCTL:
		ahci_port_write_sctl(p, merged);
		break;
	case PxSERR:
		p->serr &= ~(value & mask);
		break;
	case PxSACT:
		if (p->cmd & PxCMD_ST)
			p->sact |= value & mask;
		break;
	case PxCI:
		if (p->cmd & PxCMD_ST) {
			p->ci |= value & mask;
			ahci_port_run(p);
		}
		break;
	}
}

static uint32_t ahci_read_dword(AhciHba *h, uint32_t offset)
{
	if (offset >= PORT_BASE) {
		unsigned port = (offset - PORT_BASE) / PORT_STRIDE;
		if (port >= HG_AHCI_PORTS)
			return 0;
		return ahci_port_read(&h->ports[port], (offset - PORT_BASE) % PORT_STRIDE);
	}
	switch (offset) {
	case HBA_CAP:
		return CAP_VALUE;
	case HBA_GHC:
		return h->ghc;
	case HBA_IS:
		return h->is;
	case HBA_PI:
		return (1u << HG_AHCI_PORTS) - 1;
	case HBA_VS:
		return AHCI_VERSION;
	}
	return 0; /* CCC, enclosure management, CAP2, BOHC: absent (CAP and CAP2 advertise none of them) */
}

static void ahci_write_dword(AhciHba *h, uint32_t offset, uint32_t value, uint32_t mask)
{
	if (offset >= PORT_BASE) {
		unsigned port = (offset - PORT_BASE) / PORT_STRIDE;
		if (port < HG_AHCI_PORTS)
			ahci_port_write(&h->ports[port], (offset - PORT_BASE) % PORT_STRIDE, value,
					mask);
		return;
	}
	switch (offset) {
	case HBA_GHC: {
		uint32_t old = h->ghc;
		value = (h->ghc & ~mask) | (value & mask);
		if (value & GHC_HR) {
			ahci_hba_reset(h); /* done at once: HR reads back 0 */
			return;
		}
		h->ghc = GHC_AE | (value & GHC_IE); /* AE is fixed: CAP.SAM */
		ahci_update_irq(h, !(old & GHC_IE) && (h->ghc & GHC_IE) && h->is);
		break;
	}
	case HBA_IS:
		h->is &= ~(value & mask);
		/* A port whose enabled status is still set asks again. */
		ahci_update_irq(h, ahci_collect_is(h));
		break;
	}
}

static uint64_t ahci_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	AhciHba *h = opaque;
	unsigned shift = (offset & 3) * 8;

	if (size == 8 && !(offset & 7))
		return ahci_read_dword(h, offset) | (uint64_t)ahci_read_dword(h, offset + 4) << 32;
	if ((offset & 3) + size > 4)
		return ~0ull >> (64 - 8 * size); /* straddles registers */
	return (ahci_read_dword(h, offset & ~3u) >> shift) & (0xffffffffu >> (32 - 8 * size));
}

static void ahci_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	AhciHba *h = opaque;
	unsigned shift = (offset & 3) * 8;
	uint32_t mask;

	if (size == 8 && !(offset & 7)) {
		ahci_write_dword(h, offset, value, 0xffffffff);
		ahci_write_dword(h, offset + 4, value >> 32, 0xffffffff);
		return;
	}
	if ((offset & 3) + size > 4)
		return;
	mask = (0xffffffffu >> (32 - 8 * size)) << shift;
	ahci_write_dword(h, offset & ~3u, (uint32_t)value << shift, mask);
}

static const HgIoOps ahci_mmio_ops = {.read = ahci_mmio_read, .write = ahci_mmio_write};

/* Bus mastering or MSI may have been switched on: deliver what waits. */
static void ahci_config_written(HgPciDevice *pd, unsigned offset, unsigned size, uint32_t value)
{
	AhciHba *h = (AhciHba *)pd;

	ahci_update_irq(h, false);
	for (unsigned i = 0; i < HG_AHCI_PORTS; i++)
		ahci_port_run(&h->ports[i]);
}

/* ---- device ---- */

static void ahci_reset(HgDevice *dev)
{
	AhciHba *h = (AhciHba *)dev;

	hg_pci_device_reset(&h->pci);
	for (unsigned i = 0; i < HG_AHCI_PORTS; i++) {
		AhciPort *p = &h->ports[i];
		p->clb = p->clbu = p->fb = p->fbu = 0;
		p->cmd &= ~PxCMD_FRE;
	}
	ahci_hba_reset(h);
}

#define PORT_REGISTERS(X)                                                                          \
	X(clb)                                                                                     \
	X(clbu) X(fb) X(fbu) X(is) X(ie) X(cmd) X(tfd) X(sig) X(ssts) X(sctl) X(serr) X(sact) X(ci)

static void ahci_save_u32(GVariantBuilder *b, unsigned port, const char *name, uint32_t v)
{
	g_autofree char *key = g_strdup_printf("port%u-%s", port, name);
	g_variant_builder_add(b, "{sv}", key, g_variant_new_uint32(v));
}

static GVariant *ahci_save(HgDevice *dev)
{
	AhciHba *h = (AhciHba *)dev;
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	hg_pci_device_save(&h->pci, &b);
	g_variant_builder_add(&b, "{sv}", "ghc", g_variant_new_uint32(h->ghc));
	g_variant_builder_add(&b, "{sv}", "is", g_variant_new_uint32(h->is));
	for (unsigned i = 0; i < HG_AHCI_PORTS; i++) {
		AhciPort *p = &h->ports[i];
		g_autofree char *stopped = g_strdup_printf("port%u-stopped", i);
		g_autofree char *pending = g_strdup_printf("port%u-signature-pending", i);
		g_autofree char *drive = g_strdup_printf("port%u-drive", i);
		GVariantBuilder d;

#define SAVE_REGISTER(name) ahci_save_u32(&b, i, #name, p->name);
		PORT_REGISTERS(SAVE_REGISTER)
#undef SAVE_REGISTER
		g_variant_builder_add(&b, "{sv}", stopped, g_variant_new_boolean(p->stopped));
		g_variant_builder_add(&b, "{sv}", pending,
				      g_variant_new_boolean(p->signature_pending));
		g_variant_builder_init(&d, G_VARIANT_TYPE_VARDICT);
		g_variant_builder_add(&d, "{sv}", "kind",
				      g_variant_new_string(p->drive ? p->drive->ops->kind : ""));
		if (p->drive)
			p->drive->ops->save(p->drive, &d);
		g_variant_builder_add(&b, "{sv}", drive, g_variant_builder_end(&d));
	}
	return g_variant_builder_end(&b);
}

static bool ahci_load_port(AhciHba *h, AhciPort *p, GVariantDict *r, GError **error)
{
	g_autofree char *stopped = g_strdup_printf("port%u-stopped", p->index);
	g_autofree char *pending = g_strdup_printf("port%u-signature-pending", p->index);
	g_autofree char *drive_key = g_strdup_printf("port%u-drive", p->index);
	g_autoptr(GVariant) drive = NULL;
	const char *kind = NULL;
	uint32_t cmd;

#define LOAD_REGISTER(name)                                                                        \
	{                                                                                          \
		g_autofree char *key = g_strdup_printf("port%u-%s", p->index, #name);              \
		if (!hg_record_u32(r, key, &p->name, error))                                       \
			return false;                                                              \
	}
	PORT_REGISTERS(LOAD_REGISTER)
#undef LOAD_REGISTER
	if (!hg_record_bool(r, stopped, &p->stopped, error) ||
	    !hg_record_bool(r, pending, &p->signature_pending, error))
		return false;
	drive = g_variant_dict_lookup_value(r, drive_key, G_VARIANT_TYPE_VARDICT);
	if (!drive || !g_variant_lookup(drive, "kind", "&s", &kind) ||
	    strcmp(kind, p->drive ? p->drive->ops->kind : "") != 0) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: port %u held %s when saved, now %s", h->pci.dev.id, p->index,
			    kind && *kind ? kind : "nothing",
			    p->drive ? p->drive->ops->kind : "nothing");
		return false;
	}
	if (p->drive) {
		g_auto(GVariantDict) d = G_VARIANT_DICT_INIT(drive);
		if (!p->drive->ops->load(p->drive, &d, error))
			return false;
	}
	/* Keep what the guest cannot write consistent; nothing is in flight
	 * after a load, so the engine runs exactly when it is started. */
	cmd = p->cmd & (PxCMD_WRITABLE | PxCMD_CCS_MASK);
	cmd |= PxCMD_SUD | PxCMD_POD;
	if (cmd & PxCMD_ST)
		cmd |= PxCMD_CR;
	if (cmd & PxCMD_FRE)
		cmd |= PxCMD_FR;
	p->cmd = cmd;
	p->clb &= ~0x3ffu;
	p->fb &= ~0xffu;
	p->is &= PxIS_MASK;
	p->ie &= PxIS_MASK;
	p->sctl &= 0xfff;
	p->busy = p->busy_queued = 0;
	return true;
}

static bool ahci_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	AhciHba *h = (AhciHba *)dev;

	if (!hg_pci_device_load(&h->pci, r, error) || !hg_record_u32(r, "ghc", &h->ghc, error) ||
	    !hg_record_u32(r, "is", &h->is, error))
		return false;
	h->ghc = GHC_AE | (h->ghc & GHC_IE);
	h->is &= (1u << HG_AHCI_PORTS) - 1;
	for (unsigned i = 0; i < HG_AHCI_PORTS; i++)
		if (!ahci_load_port(h, &h->ports[i], r, error))
			return false;
	ahci_update_irq(h, false);
	return true;
}

static void ahci_destroy(HgDevice *dev)
{
	AhciHba *h = (AhciHba *)dev;

	for (unsigned i = 0; i < HG_AHCI_PORTS; i++) {
		AhciPort *p = &h->ports[i];
		if (p->drive)
			p->drive->ops->destroy(p->drive);
		g_free(p->slots);
	}
	hg_pci_device_finalize(&h->pci);
	g_free(h);
}

const HgDeviceClass hg_ahci_class = {
	.name = "ahci",
	.bus = "pci",
	.state_version = 1,
	.reset = ahci_reset,
	.save = ahci_save,
	.load = ahci_load,
	.destroy = ahci_destroy,
};

HgDevice *hg_ahci_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, GError **error)
{
	AhciHba *h = g_new0(AhciHba, 1);

	/* ICH9's AHCI function: SATA controller, AHCI 1.0 programming interface. */
	hg_pci_device_init(&h->pci, &hg_ahci_class, m, "ahci", 0x8086, 0x2922, 0x010601, 0x02, 1);
	hg_pci_register_bar(&h->pci, 5, HG_PCI_BAR_MEM32, false, ABAR_SIZE, &ahci_mmio_ops, h);
	hg_pci_add_msi(&h->pci, 0, true);
	h->pci.config_written = ahci_config_written;
	for (unsigned i = 0; i < HG_AHCI_PORTS; i++) {
		h->ports[i].hba = h;
		h->ports[i].index = i;
	}
	ahci_hba_reset(h);
	if (!hg_pci_bus_plug(bus, &h->pci, devfn, error)) {
		ahci_destroy(&h->pci.dev);
		return NULL;
	}
	return &h->pci.dev;
}

static bool ahci_attach(HgDevice *dev, unsigned port, HgSataDrive *drive, GError **error)
{
	AhciHba *h = (AhciHba *)dev;
	AhciPort *p;

	g_assert(dev->klass == &hg_ahci_class);
	if (port >= HG_AHCI_PORTS || h->ports[port].drive) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "AHCI port %u is taken or does not exist (ports 0-%u)", port,
			    HG_AHCI_PORTS - 1);
		drive->ops->destroy(drive);
		return false;
	}
	p = &h->ports[port];
	p->drive = drive;
	p->slots = g_new0(AhciSlot, AHCI_SLOTS);
	for (unsigned s = 0; s < AHCI_SLOTS; s++)
		p->slots[s].port = p;
	ahci_port_link_reset(p);
	return true;
}

static char *ahci_drive_name(unsigned port)
{
	return g_strdup_printf("sata%u", port);
}

bool hg_ahci_attach_disk(HgDevice *dev, unsigned port, HgBlockBackend *backend, GError **error)
{
	g_autofree char *name = ahci_drive_name(port);

	return ahci_attach(dev, port, hg_ata_disk_new(dev->machine, name, backend), error);
}

bool hg_ahci_attach_cdrom(HgDevice *dev, unsigned port, const char *path, GError **error)
{
	g_autofree char *name = ahci_drive_name(port);
	HgSataDrive *drive = hg_atapi_cdrom_new(dev->machine, name, path, error);

	return drive && ahci_attach(dev, port, drive, error);
}

/* ---- control socket ---- */

static HgSataDrive *ahci_find_cdrom(HgMachine *m, const char *name, GError **error)
{
	HgDevice *dev = hg_machine_find_device(m, "ahci");
	AhciHba *h = dev && dev->klass == &hg_ahci_class ? (AhciHba *)dev : NULL;

	for (unsigned i = 0; h && i < HG_AHCI_PORTS; i++) {
		HgSataDrive *d = h->ports[i].drive;
		if (!d || strcmp(d->id, name) != 0)
			continue;
		if (!hg_atapi_is_cdrom(d)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "%s is a disk, not a CD/DVD-ROM drive", name);
			return NULL;
		}
		return d;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no SATA drive named \"%s\"", name);
	return NULL;
}

bool hg_ahci_change_medium(HgMachine *m, const char *name, const char *path, GError **error)
{
	HgSataDrive *d;
	bool ok;

	g_mutex_lock(&m->device_lock);
	d = ahci_find_cdrom(m, name, error);
	ok = d && hg_atapi_change_medium(d, path, error);
	g_mutex_unlock(&m->device_lock);
	return ok;
}

bool hg_ahci_eject(HgMachine *m, const char *name, bool force, GError **error)
{
	HgSataDrive *d;
	bool ok;

	g_mutex_lock(&m->device_lock);
	d = ahci_find_cdrom(m, name, error);
	ok = d && hg_atapi_eject(d, force, error);
	g_mutex_unlock(&m->device_lock);
	return ok;
}

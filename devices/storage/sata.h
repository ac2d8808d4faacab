/* A SATA drive as the host bus adapter sees it: the contract between the
 * AHCI controller (ahci.c) and the drives behind its ports (ata_disk.c,
 * atapi.c).
 *
 * The HBA fetches a command from guest memory, fills an HgSataCommand (the
 * Register Host-to-Device FIS, the ATAPI packet, its slot) and hands it to
 * the drive's execute().  The drive moves data only through the helpers
 * below, which walk the HBA's scatter list over guest RAM (bounds-checked,
 * never a guest-sized allocation), and ends every command with exactly one
 * hg_sata_complete(): at once, or from a block I/O completion.  The HBA
 * turns the result into the FIS the specification asks for.
 *
 * Serial ATA Revision 3.x, 10.3 (FIS types); ATA8-ACS for the status and
 * error register bits.
 *
 * Threads: execute() runs on a vCPU thread (a port register write), block
 * completions on the main thread; both with the machine's device lock held.
 * Ownership: a command (and its block request and iovecs) belongs to the HBA
 * while idle, to the drive from execute() to hg_sata_complete(), and to the
 * block queue while a request is submitted. */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "engine/block_queue.h"

/* ATA status register (ATA8-ACS 6.2) and error register (6.3) bits. */
#define HG_ATA_STATUS_BSY 0x80
#define HG_ATA_STATUS_DRDY 0x40
#define HG_ATA_STATUS_DF 0x20
#define HG_ATA_STATUS_DSC 0x10
#define HG_ATA_STATUS_DRQ 0x08
#define HG_ATA_STATUS_ERR 0x01
#define HG_ATA_STATUS_OK (HG_ATA_STATUS_DRDY | HG_ATA_STATUS_DSC)

#define HG_ATA_ERROR_ICRC 0x80
#define HG_ATA_ERROR_UNC 0x40
#define HG_ATA_ERROR_IDNF 0x10
#define HG_ATA_ERROR_ABRT 0x04

/* FIS types (SATA 3.x 10.3). */
#define HG_FIS_REG_H2D 0x27
#define HG_FIS_REG_D2H 0x34
#define HG_FIS_PIO_SETUP 0x5f
#define HG_FIS_SET_DEVICE_BITS 0xa1

/* Pieces of guest memory one block request covers; longer scatter lists
 * are transferred in several requests, one after the other. */
#define HG_SATA_IOV_MAX 256
/* Bytes a drive can build or read in one go (IDENTIFY data, SCSI
 * replies, TRIM ranges, log pages). */
#define HG_SATA_SCRATCH 512

/* How the drive ends a command, which picks the FIS the HBA posts. */
typedef enum {
	HG_SATA_END_D2H, /* Register Device-to-Host FIS: most commands */
	HG_SATA_END_PIO_IN, /* PIO Setup FIS with E_Status: ATA PIO data-in */
	HG_SATA_END_SDB, /* Set Device Bits FIS: native command queuing */
} HgSataEnd;

typedef struct HgSataCommand HgSataCommand;
typedef struct HgSataDrive HgSataDrive;

/* What the HBA offers the helpers: the command's scatter list. */
typedef struct {
	/* Map up to max bytes of the data buffer, from where the previous
	 * call stopped, into at most n iovecs.  Returns the number of iovecs
	 * and their total in *bytes (0 when the buffer is exhausted), or -1
	 * when the scatter list leaves guest RAM: the HBA has then reported
	 * a host bus error and set cmd->host_error. */
	int (*map)(HgSataCommand *cmd, uint64_t max, struct iovec *iov, int n, uint64_t *bytes);
	/* The command is over (hg_sata_complete). */
	void (*complete)(HgSataCommand *cmd);
} HgSataTransport;

struct HgSataCommand {
	/* Filled by the HBA. */
	uint8_t fis[20]; /* the Register Host-to-Device FIS */
	uint8_t packet[16]; /* ATAPI command packet (ACMD) */
	unsigned tag; /* command slot */
	bool queued; /* READ/WRITE FPDMA QUEUED */
	bool cancelled; /* the HBA stopped or reset the port: no result */
	bool host_error; /* the scatter list left guest RAM: no result */
	bool overflow; /* the drive had more data than the scatter list */
	const HgSataTransport *transport;
	HgSataDrive *drive;

	/* The result, filled by the drive before hg_sata_complete. */
	HgSataEnd end;
	uint8_t status;
	uint8_t error;
	uint8_t count; /* sector count field (ATAPI interrupt reason, ...) */
	uint64_t lba; /* LBA fields of the result FIS */
	uint64_t transferred; /* bytes moved, for the command header's PRDBC */

	/* Block I/O in progress (hg_sata_block_io). */
	HgBlockQueue *queue;
	HgBlockRequest request;
	struct iovec iov[HG_SATA_IOV_MAX];
	uint64_t io_offset; /* next byte on the medium */
	uint64_t io_left; /* bytes still to move */
	void (*io_done)(HgSataCommand *cmd, int result);
	unsigned step; /* the drive's progress through a multi-request command */

	uint8_t scratch[HG_SATA_SCRATCH];
};

/* A drive model: a struct of operations plus its state (kvmtool style). */
typedef struct {
	const char *kind; /* "ata-disk", "atapi-cdrom" */
	uint32_t signature; /* PxSIG after reset (AHCI 3.3.9) */
	/* Power-on or COMRESET: back to the state after a hardware reset. */
	void (*reset)(HgSataDrive *d);
	void (*execute)(HgSataDrive *d, HgSataCommand *cmd);
	void (*save)(HgSataDrive *d, GVariantBuilder *record);
	bool (*load)(HgSataDrive *d, GVariantDict *record, GError **error);
	void (*destroy)(HgSataDrive *d);
} HgSataDriveOps;

struct HgSataDrive {
	const HgSataDriveOps *ops;
	char *id; /* "sata0" .. "sata5": the port's name for the control socket */
	HgMachine *machine;
};

/* The fields of the command FIS (SATA 3.x 10.3.4). */
static inline uint8_t hg_sata_fis_command(const HgSataCommand *c)
{
	return c->fis[2];
}

static inline uint16_t hg_sata_fis_features(const HgSataCommand *c)
{
	return c->fis[3] | c->fis[11] << 8;
}

static inline uint16_t hg_sata_fis_count(const HgSataCommand *c)
{
	return c->fis[12] | c->fis[13] << 8;
}

static inline uint64_t hg_sata_fis_lba48(const HgSataCommand *c)
{
	return (uint64_t)c->fis[4] | (uint64_t)c->fis[5] << 8 | (uint64_t)c->fis[6] << 16 |
	       (uint64_t)c->fis[8] << 24 | (uint64_t)c->fis[9] << 32 | (uint64_t)c->fis[10] << 40;
}

static inline uint32_t hg_sata_fis_lba28(const HgSataCommand *c)
{
	return c->fis[4] | c->fis[5] << 8 | c->fis[6] << 16 | (uint32_t)(c->fis[7] & 0x0f) << 24;
}

/* Results.  Each sets end (D2H, or SDB for a queued command), status and
 * error; a PIO data-in command then sets end = HG_SATA_END_PIO_IN. */
void hg_sata_set_ok(HgSataCommand *cmd);
void hg_sata_set_error(HgSataCommand *cmd, uint8_t error);

/* Copy between a host buffer and the command's scatter list; at most len
 * bytes, fewer when the list is shorter.  Returns the bytes copied (also
 * added to cmd->transferred), or -1 on a host bus error. */
int64_t hg_sata_copy_to_guest(HgSataCommand *cmd, const void *buf, size_t len);
int64_t hg_sata_copy_from_guest(HgSataCommand *cmd, void *buf, size_t len);

/* Move len bytes between the medium at offset and the scatter list,
 * through queue, in as many requests as the list needs.  done runs once,
 * with 0 or a negative errno (-EFAULT: host bus error; -ENOSPC: the list
 * is shorter than len, cmd->overflow is set). */
void hg_sata_block_io(HgSataCommand *cmd, HgBlockQueue *queue, HgBlockOp op, uint64_t offset,
		      uint64_t len, void (*done)(HgSataCommand *cmd, int result));
/* One request without data (flush, discard). */
void hg_sata_block_request(HgSataCommand *cmd, HgBlockQueue *queue, HgBlockOp op, uint64_t offset,
			   uint64_t len, void (*done)(HgSataCommand *cmd, int result));

void hg_sata_complete(HgSataCommand *cmd);

/* IDENTIFY data helpers (ATA8-ACS 7.16): an ATA string (two characters
 * per word, first in the high byte, space padded) and the integrity word
 * 255 (signature A5h, checksum). */
void hg_ata_identify_string(uint16_t *words, const char *text, unsigned n_words);
void hg_ata_identify_checksum(uint16_t *words);

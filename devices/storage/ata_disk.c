/* An ATA disk behind a SATA port: the ATA command set a firmware, a boot
 * loader or an operating system sends a hard disk.
 *
 * Specification: ATA/ATAPI Command Set (ATA8-ACS, T13/1699-D), with the
 * serial ATA commands of SATA 3.x chapter 13:
 *   7.16  IDENTIFY DEVICE (data in table 22; words cited where set below)
 *   7.21/7.25/7.26  READ DMA (EXT), READ SECTORS (EXT), READ MULTIPLE (EXT)
 *   7.58-7.63  WRITE DMA (EXT, FUA EXT), WRITE SECTORS (EXT), WRITE MULTIPLE
 *   SATA 13.6  READ/WRITE FPDMA QUEUED (native command queuing)
 *   7.14/7.15  FLUSH CACHE (EXT)
 *   7.48  SET FEATURES: 02h/82h write cache, 03h transfer mode, AAh/55h
 *         read look-ahead
 *   7.47  SET MULTIPLE MODE
 *   7.28/7.29  READ NATIVE MAX ADDRESS (EXT)
 *   7.10  DATA SET MANAGEMENT (TRIM)
 *   7.24  READ LOG EXT / READ LOG DMA EXT: the log directory and the NCQ
 *         command error log (SATA 13.7.4, log 10h)
 * Anything else is aborted (ABRT in the error register).  A transfer
 * outside the disk fails with IDNF; a write to a read-only disk with ABRT.
 *
 * Model choices: 512-byte logical sectors; the disk reports itself as a
 * non-rotating device (word 217) with a volatile write cache that is on
 * after a reset and honoured: with the cache off, or with FUA, a write
 * completes only after a flush.  Reads and writes go through the engine's
 * block queue, so the vCPU that issued them never waits on the image. */
#include "devices/storage/ata_disk.h"

#include <errno.h>
#include <string.h>

#include "devices/device.h"

#define SECTOR_SIZE 512
#define MAX_MULTIPLE 16 /* sectors per DRQ block for READ/WRITE MULTIPLE */
#define NCQ_DEPTH 32
#define LBA28_MAX 0x0fffffffULL
#define XFER_MODE_UDMA6 0x46
#define DSM_MAX_BLOCKS 1 /* 512-byte blocks of TRIM ranges per command */

enum {
	ATA_NOP = 0x00,
	ATA_DATA_SET_MANAGEMENT = 0x06,
	ATA_RECALIBRATE = 0x10,
	ATA_READ_SECTORS = 0x20,
	ATA_READ_SECTORS_NORETRY = 0x21,
	ATA_READ_SECTORS_EXT = 0x24,
	ATA_READ_DMA_EXT = 0x25,
	ATA_READ_NATIVE_MAX_EXT = 0x27,
	ATA_READ_MULTIPLE_EXT = 0x29,
	ATA_READ_LOG_EXT = 0x2f,
	ATA_WRITE_SECTORS = 0x30,
	ATA_WRITE_SECTORS_NORETRY = 0x31,
	ATA_WRITE_SECTORS_EXT = 0x34,
	ATA_WRITE_DMA_EXT = 0x35,
	ATA_WRITE_MULTIPLE_EXT = 0x39,
	ATA_WRITE_DMA_FUA_EXT = 0x3d,
	ATA_READ_VERIFY = 0x40,
	ATA_READ_VERIFY_NORETRY = 0x41,
	ATA_READ_VERIFY_EXT = 0x42,
	ATA_READ_LOG_DMA_EXT = 0x47,
	ATA_READ_FPDMA_QUEUED = 0x60,
	ATA_WRITE_FPDMA_QUEUED = 0x61,
	ATA_SEEK = 0x70,
	ATA_EXECUTE_DEVICE_DIAGNOSTIC = 0x90,
	ATA_INITIALIZE_DEVICE_PARAMETERS = 0x91,
	ATA_READ_MULTIPLE = 0xc4,
	ATA_WRITE_MULTIPLE = 0xc5,
	ATA_SET_MULTIPLE_MODE = 0xc6,
	ATA_READ_DMA = 0xc8,
	ATA_READ_DMA_NORETRY = 0xc9,
	ATA_WRITE_DMA = 0xca,
	ATA_WRITE_DMA_NORETRY = 0xcb,
	ATA_WRITE_MULTIPLE_FUA_EXT = 0xce,
	ATA_STANDBY_IMMEDIATE = 0xe0,
	ATA_IDLE_IMMEDIATE = 0xe1,
	ATA_STANDBY = 0xe2,
	ATA_IDLE = 0xe3,
	ATA_CHECK_POWER_MODE = 0xe5,
	ATA_SLEEP = 0xe6,
	ATA_FLUSH_CACHE = 0xe7,
	ATA_FLUSH_CACHE_EXT = 0xea,
	ATA_IDENTIFY_DEVICE = 0xec,
	ATA_SET_FEATURES = 0xef,
	ATA_READ_NATIVE_MAX = 0xf8,
};

/* SET FEATURES subcommands (7.48, table 42). */
enum {
	FEATURE_ENABLE_WRITE_CACHE = 0x02,
	FEATURE_SET_TRANSFER_MODE = 0x03,
	FEATURE_DISABLE_READ_LOOK_AHEAD = 0x55,
	FEATURE_DISABLE_REVERT_TO_DEFAULTS = 0x66,
	FEATURE_DISABLE_WRITE_CACHE = 0x82,
	FEATURE_ENABLE_READ_LOOK_AHEAD = 0xaa,
	FEATURE_ENABLE_REVERT_TO_DEFAULTS = 0xcc,
};

#define LOG_DIRECTORY 0x00
#define LOG_NCQ_COMMAND_ERROR 0x10

typedef struct {
	HgSataDrive drive;
	HgBlockBackend *backend; /* the caller's */
	HgBlockQueue *queue;
	uint64_t sectors;
	bool read_only;
	char serial[21];

	/* Settings a reset returns to their defaults. */
	bool write_cache;
	bool look_ahead;
	uint8_t transfer_mode; /* as SET FEATURES 03h took it */
	uint8_t multiple_count;

	/* The NCQ command error log (log 10h), valid until read. */
	bool ncq_error_valid;
	uint8_t ncq_error[20]; /* tag, status, error and the command's fields */
} AtaDisk;

static AtaDisk *to_disk(HgSataDrive *d)
{
	return (AtaDisk *)d;
}

static void ata_disk_reset(HgSataDrive *d)
{
	AtaDisk *disk = to_disk(d);

	disk->write_cache = true;
	disk->look_ahead = true;
	disk->transfer_mode = XFER_MODE_UDMA6;
	disk->multiple_count = MAX_MULTIPLE;
	disk->ncq_error_valid = false;
	memset(disk->ncq_error, 0, sizeof(disk->ncq_error));
}

/* ---- IDENTIFY DEVICE ---- */

static void ata_disk_identify(AtaDisk *disk, uint16_t *w)
{
	uint64_t sectors = disk->sectors;
	uint64_t lba28 = MIN(sectors, LBA28_MAX);
	/* A CHS geometry for old callers (SeaBIOS reports it): 16 heads, 63
	 * sectors per track, as many cylinders as fit, at most 16383. */
	uint32_t cylinders = MIN(sectors / (16 * 63), 16383);
	uint8_t mode = disk->transfer_mode;

	memset(w, 0, 512);
	w[0] = 0x0040; /* ATA device, fixed */
	w[1] = cylinders;
	w[3] = 16;
	w[6] = 63;
	hg_ata_identify_string(w + 10, disk->serial, 10);
	hg_ata_identify_string(w + 23, "1.0", 4);
	hg_ata_identify_string(w + 27, "HANGAR HARDDISK", 20);
	w[47] = 0x8000 | MAX_MULTIPLE;
	w[49] = (1 << 11) | (1 << 9) | (1 << 8); /* IORDY, LBA, DMA */
	w[50] = 0x4000;
	w[53] = 0x0007; /* words 54-58, 64-70 and 88 are valid */
	w[54] = cylinders;
	w[55] = 16;
	w[56] = 63;
	w[57] = (uint16_t)(cylinders * 16 * 63);
	w[58] = (uint16_t)((cylinders * 16 * 63) >> 16);
	w[59] = disk->multiple_count ? 0x0100 | disk->multiple_count : 0;
	w[60] = (uint16_t)lba28;
	w[61] = (uint16_t)(lba28 >> 16);
	w[63] = 0x0007 | ((mode & 0xf8) == 0x20 ? 0x100 << (mode & 7) : 0); /* MWDMA 0-2 */
	w[64] = 0x0003; /* PIO 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[75] = NCQ_DEPTH - 1;
	w[76] = (1 << 8) | (1 << 3) | (1 << 2) | (1 << 1); /* NCQ; 6, 3, 1.5 Gb/s */
	w[77] = 3 << 1; /* negotiated at 6 Gb/s */
	w[80] = 0x01f0; /* ATA-4 to ATA8-ACS */
	/* 82-87: NOP, look-ahead, write cache, power management; 48-bit,
	 * FLUSH CACHE (EXT); general purpose logging. */
	w[82] = (1 << 14) | (1 << 6) | (1 << 5) | (1 << 3);
	w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10);
	w[84] = (1 << 14) | (1 << 5);
	w[85] = (1 << 14) | (disk->look_ahead ? 1 << 6 : 0) | (disk->write_cache ? 1 << 5 : 0) |
		(1 << 3);
	w[86] = (1 << 13) | (1 << 12) | (1 << 10);
	w[87] = (1 << 14) | (1 << 5);
	w[88] = 0x007f | ((mode & 0xf8) == 0x40 ? 0x100 << (mode & 7) : 0); /* UDMA 0-6 */
	w[100] = (uint16_t)sectors;
	w[101] = (uint16_t)(sectors >> 16);
	w[102] = (uint16_t)(sectors >> 32);
	w[103] = (uint16_t)(sectors >> 48);
	if (!disk->read_only)
		w[105] = DSM_MAX_BLOCKS;
	w[106] = 0x4000; /* one logical sector per physical sector */
	if (!disk->read_only)
		w[169] = 1; /* DATA SET MANAGEMENT with TRIM */
	w[217] = 1; /* non-rotating medium */
	w[222] = 0x1020; /* serial ATA, SATA 3.0 */
	hg_ata_identify_checksum(w);
}

/* ---- completions ---- */

/* End a command with an error; a queued one also fills log 10h, which
 * software reads to learn which command failed (SATA 13.7.4). */
static void ata_disk_fail(AtaDisk *disk, HgSataCommand *cmd, uint8_t error)
{
	hg_sata_set_error(cmd, error);
	if (cmd->queued) {
		disk->ncq_error_valid = true;
		memset(disk->ncq_error, 0, sizeof(disk->ncq_error));
		disk->ncq_error[0] = cmd->tag & 0x1f;
		disk->ncq_error[2] = cmd->status;
		disk->ncq_error[3] = cmd->error;
		memcpy(disk->ncq_error + 4, cmd->fis + 4, 7); /* LBA and device */
		disk->ncq_error[12] = cmd->fis[3]; /* NCQ keeps the count in features */
		disk->ncq_error[13] = cmd->fis[11];
	}
	hg_sata_complete(cmd);
}

static void ata_disk_finish_io(HgSataCommand *cmd, int result, bool write, bool pio_in)
{
	AtaDisk *disk = to_disk(cmd->drive);

	if (result == 0) {
		hg_sata_set_ok(cmd);
		if (pio_in)
			cmd->end = HG_SATA_END_PIO_IN;
		hg_sata_complete(cmd);
		return;
	}
	if (result == -EIO)
		g_debug("%s: I/O error near sector %" G_GUINT64_FORMAT, cmd->drive->id,
			cmd->io_offset / SECTOR_SIZE);
	/* A failed medium access is UNC on a read; anything else (a short
	 * scatter list, a cancelled command, a failed write) aborts. */
	ata_disk_fail(disk, cmd, result == -EIO && !write ? HG_ATA_ERROR_UNC : HG_ATA_ERROR_ABRT);
}

static void ata_disk_flush_after_write_done(HgSataCommand *cmd, int result)
{
	ata_disk_finish_io(cmd, result, true, false);
}

static void ata_disk_write_done(HgSataCommand *cmd, int result)
{
	AtaDisk *disk = to_disk(cmd->drive);

	/* step 1: forced unit access, or the cache is off: flush first. */
	if (result == 0 && cmd->step && !cmd->cancelled) {
		hg_sata_block_request(cmd, disk->queue, HG_BLOCK_FLUSH, 0, 0,
				      ata_disk_flush_after_write_done);
		return;
	}
	ata_disk_finish_io(cmd, result, true, false);
}

static void ata_disk_read_done(HgSataCommand *cmd, int result)
{
	ata_disk_finish_io(cmd, result, false, cmd->step);
}

/* ---- reads and writes ---- */

typedef enum { XFER_PIO, XFER_DMA, XFER_NCQ } XferKind;

static void ata_disk_read_write(AtaDisk *disk, HgSataCommand *cmd, uint64_t lba, uint32_t count,
				bool write, XferKind kind, bool fua)
{
	if (lba > disk->sectors || count > disk->sectors - lba) {
		ata_disk_fail(disk, cmd, HG_ATA_ERROR_IDNF | HG_ATA_ERROR_ABRT);
		return;
	}
	if (write && disk->read_only) {
		ata_disk_fail(disk, cmd, HG_ATA_ERROR_ABRT);
		return;
	}
	/* step: for a write, flush before completing; for a read, whether it
	 * ends with the PIO Setup FIS carrying the final status (ATA8-ACS
	 * PIO data-in protocol) rather than a Register FIS. */
	if (write)
		cmd->step = fua || !disk->write_cache;
	else
		cmd->step = kind == XFER_PIO;
	hg_sata_block_io(cmd, disk->queue, write ? HG_BLOCK_WRITE : HG_BLOCK_READ,
			 lba * SECTOR_SIZE, (uint64_t)count * SECTOR_SIZE,
			 write ? ata_disk_write_done : ata_disk_read_done);
}

/* 28-bit commands count 0 as 256 sectors, 48-bit ones as 65536. */
static uint32_t count28(HgSataCommand *cmd)
{
	return cmd->fis[12] ? cmd->fis[12] : 256;
}

static uint32_t count48(HgSataCommand *cmd)
{
	uint16_t n = hg_sata_fis_count(cmd);
	return n ? n : 65536;
}

static void ata_disk_queued(AtaDisk *disk, HgSataCommand *cmd, bool write)
{
	uint16_t n = hg_sata_fis_features(cmd); /* NCQ moves the count here */

	ata_disk_read_write(disk, cmd, hg_sata_fis_lba48(cmd), n ? n : 65536, write, XFER_NCQ,
			    cmd->fis[7] & 0x80);
}

/* ---- other commands ---- */

static void ata_disk_flush_done(HgSataCommand *cmd, int result)
{
	if (result == 0)
		hg_sata_set_ok(cmd);
	else
		hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
	hg_sata_complete(cmd);
}

static void ata_disk_set_features(AtaDisk *disk, HgSataCommand *cmd)
{
	uint8_t count = cmd->fis[12];

	switch (cmd->fis[3]) {
	case FEATURE_ENABLE_WRITE_CACHE:
		disk->write_cache = true;
		break;
	case FEATURE_DISABLE_WRITE_CACHE:
		disk->write_cache = false;
		break;
	case FEATURE_ENABLE_READ_LOOK_AHEAD:
		disk->look_ahead = true;
		break;
	case FEATURE_DISABLE_READ_LOOK_AHEAD:
		disk->look_ahead = false;
		break;
	case FEATURE_ENABLE_REVERT_TO_DEFAULTS:
	case FEATURE_DISABLE_REVERT_TO_DEFAULTS:
		break;
	case FEATURE_SET_TRANSFER_MODE:
		/* PIO default (00h/01h), PIO flow control 3-4, multiword DMA
		 * 0-2, Ultra DMA 0-6 (table 43). */
		if (count <= 0x01 || (count >= 0x08 && count <= 0x0c) ||
		    (count >= 0x20 && count <= 0x22) || (count >= 0x40 && count <= 0x46)) {
			disk->transfer_mode = count;
			break;
		}
		hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
		return;
	default:
		hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
		return;
	}
	hg_sata_set_ok(cmd);
}

static void ata_disk_trim_next(HgSataCommand *cmd, int result)
{
	AtaDisk *disk = to_disk(cmd->drive);
	unsigned entries = DSM_MAX_BLOCKS * SECTOR_SIZE / 8;

	if (result < 0) {
		hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
		hg_sata_complete(cmd);
		return;
	}
	/* The range list is in the scratch buffer; step is the next entry. */
	while (cmd->step < entries) {
		const uint8_t *e = cmd->scratch + 8 * cmd->step++;
		uint64_t lba = 0;
		uint16_t len = e[6] | e[7] << 8;
		for (int i = 5; i >= 0; i--)
			lba = lba << 8 | e[i];
		if (len == 0)
			continue;
		if (lba > disk->sectors || len > disk->sectors - lba) {
			hg_sata_set_error(cmd, HG_ATA_ERROR_IDNF | HG_ATA_ERROR_ABRT);
			hg_sata_complete(cmd);
			return;
		}
		hg_sata_block_request(cmd, disk->queue, HG_BLOCK_DISCARD, lba * SECTOR_SIZE,
				      (uint64_t)len * SECTOR_SIZE, ata_disk_trim_next);
		return;
	}
	hg_sata_set_ok(cmd);
	hg_sata_complete(cmd);
}

static void ata_disk_data_set_management(AtaDisk *disk, HgSataCommand *cmd)
{
	uint16_t blocks = hg_sata_fis_count(cmd);

	if (!(hg_sata_fis_features(cmd) & 1) || disk->read_only || blocks > DSM_MAX_BLOCKS) {
		hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
		hg_sata_complete(cmd);
		return;
	}
	memset(cmd->scratch, 0, sizeof(cmd->scratch));
	if (hg_sata_copy_from_guest(cmd, cmd->scratch, (size_t)blocks * SECTOR_SIZE) < 0) {
		hg_sata_complete(cmd);
		return;
	}
	cmd->step = 0;
	ata_disk_trim_next(cmd, 0);
}

static void ata_disk_read_log(AtaDisk *disk, HgSataCommand *cmd, bool dma)
{
	uint8_t log = cmd->fis[4];
	uint16_t page = cmd->fis[5] | cmd->fis[9] << 8;
	uint16_t *words = (uint16_t *)cmd->scratch;

	memset(cmd->scratch, 0, SECTOR_SIZE);
	if (hg_sata_fis_count(cmd) != 1 || page != 0 ||
	    (log != LOG_DIRECTORY && log != LOG_NCQ_COMMAND_ERROR)) {
		hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
		return;
	}
	if (log == LOG_DIRECTORY) {
		words[0] = 0x0001; /* version */
		words[LOG_NCQ_COMMAND_ERROR] = 1; /* one page */
	} else {
		uint8_t sum = 0;
		if (disk->ncq_error_valid)
			memcpy(cmd->scratch, disk->ncq_error, sizeof(disk->ncq_error));
		else
			cmd->scratch[0] = 0x80; /* NQ: no queued command failed */
		for (unsigned i = 0; i < SECTOR_SIZE - 1; i++)
			sum += cmd->scratch[i];
		cmd->scratch[SECTOR_SIZE - 1] = (uint8_t)-sum;
		disk->ncq_error_valid = false;
	}
	hg_sata_copy_to_guest(cmd, cmd->scratch, SECTOR_SIZE);
	hg_sata_set_ok(cmd);
	if (!dma)
		cmd->end = HG_SATA_END_PIO_IN;
}

static void ata_disk_execute(HgSataDrive *d, HgSataCommand *cmd)
{
	AtaDisk *disk = to_disk(d);
	uint8_t command = hg_sata_fis_command(cmd);
	uint64_t max_lba;

	cmd->count = 0;
	switch (command) {
	case ATA_READ_DMA:
	case ATA_READ_DMA_NORETRY:
		ata_disk_read_write(disk, cmd, hg_sata_fis_lba28(cmd), count28(cmd), false,
				    XFER_DMA, false);
		return;
	case ATA_WRITE_DMA:
	case ATA_WRITE_DMA_NORETRY:
		ata_disk_read_write(disk, cmd, hg_sata_fis_lba28(cmd), count28(cmd), true, XFER_DMA,
				    false);
		return;
	case ATA_READ_DMA_EXT:
		ata_disk_read_write(disk, cmd, hg_sata_fis_lba48(cmd), count48(cmd), false,
				    XFER_DMA, false);
		return;
	case ATA_WRITE_DMA_EXT:
	case ATA_WRITE_DMA_FUA_EXT:
		ata_disk_read_write(disk, cmd, hg_sata_fis_lba48(cmd), count48(cmd), true, XFER_DMA,
				    command == ATA_WRITE_DMA_FUA_EXT);
		return;
	case ATA_READ_SECTORS:
	case ATA_READ_SECTORS_NORETRY:
	case ATA_READ_MULTIPLE:
		ata_disk_read_write(disk, cmd, hg_sata_fis_lba28(cmd), count28(cmd), false,
				    XFER_PIO, false);
		return;
	case ATA_READ_SECTORS_EXT:
	case ATA_READ_MULTIPLE_EXT:
		ata_disk_read_write(disk, cmd, hg_sata_fis_lba48(cmd), count48(cmd), false,
				    XFER_PIO, false);
		return;
	case ATA_WRITE_SECTORS:
	case ATA_WRITE_SECTORS_NORETRY:
	case ATA_WRITE_MULTIPLE:
		ata_disk_read_write(disk, cmd, hg_sata_fis_lba28(cmd), count28(cmd), true, XFER_PIO,
				    false);
		return;
	case ATA_WRITE_SECTORS_EXT:
	case ATA_WRITE_MULTIPLE_EXT:
	case ATA_WRITE_MULTIPLE_FUA_EXT:
		ata_disk_read_write(disk, cmd, hg_sata_fis_lba48(cmd), count48(cmd), true, XFER_PIO,
				    command == ATA_WRITE_MULTIPLE_FUA_EXT);
		return;
	case ATA_READ_FPDMA_QUEUED:
	case ATA_WRITE_FPDMA_QUEUED:
		if (!cmd->queued) {
			ata_disk_fail(disk, cmd, HG_ATA_ERROR_ABRT);
			return;
		}
		ata_disk_queued(disk, cmd, command == ATA_WRITE_FPDMA_QUEUED);
		return;
	case ATA_FLUSH_CACHE:
	case ATA_FLUSH_CACHE_EXT:
		hg_sata_block_request(cmd, disk->queue, HG_BLOCK_FLUSH, 0, 0, ata_disk_flush_done);
		return;
	case ATA_DATA_SET_MANAGEMENT:
		ata_disk_data_set_management(disk, cmd);
		return;
	case ATA_IDENTIFY_DEVICE:
		ata_disk_identify(disk, (uint16_t *)cmd->scratch);
		hg_sata_copy_to_guest(cmd, cmd->scratch, SECTOR_SIZE);
		hg_sata_set_ok(cmd);
		cmd->end = HG_SATA_END_PIO_IN;
		break;
	case ATA_SET_FEATURES:
		ata_disk_set_features(disk, cmd);
		break;
	case ATA_SET_MULTIPLE_MODE:
		/* 0 turns it off; otherwise a power of two up to our maximum. */
		if (cmd->fis[12] <= MAX_MULTIPLE && !(cmd->fis[12] & (cmd->fis[12] - 1))) {
			disk->multiple_count = cmd->fis[12];
			hg_sata_set_ok(cmd);
		} else {
			hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
		}
		break;
	case ATA_READ_NATIVE_MAX:
	case ATA_READ_NATIVE_MAX_EXT:
		max_lba = disk->sectors ? disk->sectors - 1 : 0;
		if (command == ATA_READ_NATIVE_MAX)
			max_lba = MIN(max_lba, LBA28_MAX - 1);
		hg_sata_set_ok(cmd);
		cmd->lba = max_lba;
		break;
	case ATA_READ_LOG_EXT:
	case ATA_READ_LOG_DMA_EXT:
		ata_disk_read_log(disk, cmd, command == ATA_READ_LOG_DMA_EXT);
		break;
	case ATA_READ_VERIFY:
	case ATA_READ_VERIFY_NORETRY:
	case ATA_READ_VERIFY_EXT: {
		bool ext = command == ATA_READ_VERIFY_EXT;
		uint64_t lba = ext ? hg_sata_fis_lba48(cmd) : hg_sata_fis_lba28(cmd);
		uint32_t n = ext ? count48(cmd) : count28(cmd);
		if (lba > disk->sectors || n > disk->sectors - lba)
			hg_sata_set_error(cmd, HG_ATA_ERROR_IDNF | HG_ATA_ERROR_ABRT);
		else
			hg_sata_set_ok(cmd);
		break;
	}
	case ATA_CHECK_POWER_MODE:
		hg_sata_set_ok(cmd);
		cmd->count = 0xff; /* active or idle */
		break;
	case ATA_EXECUTE_DEVICE_DIAGNOSTIC:
		/* The signature again, with diagnostic code 01h: no error. */
		hg_sata_set_ok(cmd);
		cmd->error = 0x01;
		cmd->count = 0x01;
		cmd->lba = 0x01;
		break;
	case ATA_RECALIBRATE:
	case ATA_SEEK:
	case ATA_INITIALIZE_DEVICE_PARAMETERS:
	case ATA_STANDBY_IMMEDIATE:
	case ATA_IDLE_IMMEDIATE:
	case ATA_STANDBY:
	case ATA_IDLE:
	case ATA_SLEEP:
		hg_sata_set_ok(cmd);
		break;
	case ATA_NOP: /* always aborts (7.17) */
	default:
		g_debug("%s: ATA command 0x%02x aborted", d->id, command);
		hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
		break;
	}
	hg_sata_complete(cmd);
}

/* ---- state ---- */

static void ata_disk_save(HgSataDrive *d, GVariantBuilder *b)
{
	AtaDisk *disk = to_disk(d);

	g_variant_builder_add(b, "{sv}", "write-cache", g_variant_new_boolean(disk->write_cache));
	g_variant_builder_add(b, "{sv}", "look-ahead", g_variant_new_boolean(disk->look_ahead));
	g_variant_builder_add(b, "{sv}", "transfer-mode", g_variant_new_byte(disk->transfer_mode));
	g_variant_builder_add(b, "{sv}", "multiple-count",
			      g_variant_new_byte(disk->multiple_count));
	g_variant_builder_add(b, "{sv}", "ncq-error-valid",
			      g_variant_new_boolean(disk->ncq_error_valid));
	g_variant_builder_add(b, "{sv}", "ncq-error",
			      hg_bytes_variant(disk->ncq_error, sizeof(disk->ncq_error)));
	g_variant_builder_add(b, "{sv}", "sectors", g_variant_new_uint64(disk->sectors));
}

static bool ata_disk_load(HgSataDrive *d, GVariantDict *r, GError **error)
{
	AtaDisk *disk = to_disk(d);
	uint64_t sectors;

	if (!hg_record_bool(r, "write-cache", &disk->write_cache, error) ||
	    !hg_record_bool(r, "look-ahead", &disk->look_ahead, error) ||
	    !hg_record_u8(r, "transfer-mode", &disk->transfer_mode, error) ||
	    !hg_record_u8(r, "multiple-count", &disk->multiple_count, error) ||
	    !hg_record_bool(r, "ncq-error-valid", &disk->ncq_error_valid, error) ||
	    !hg_record_bytes(r, "ncq-error", disk->ncq_error, sizeof(disk->ncq_error), error) ||
	    !hg_record_u64(r, "sectors", &sectors, error))
		return false;
	if (disk->multiple_count > MAX_MULTIPLE) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: multiple count %u out of range", d->id, disk->multiple_count);
		return false;
	}
	if (sectors != disk->sectors) {
		/* The guest knows the old size; a different image would be
		 * read at the wrong places. */
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: the disk had %" G_GUINT64_FORMAT " sectors when saved, the image "
			    "%s has %" G_GUINT64_FORMAT,
			    d->id, sectors, hg_block_path(disk->backend), disk->sectors);
		return false;
	}
	return true;
}

static void ata_disk_destroy(HgSataDrive *d)
{
	AtaDisk *disk = to_disk(d);

	hg_block_queue_free(disk->queue);
	g_free(d->id);
	g_free(disk);
}

static const HgSataDriveOps ata_disk_ops = {
	.kind = "ata-disk",
	.signature = HG_ATA_DISK_SIGNATURE,
	.reset = ata_disk_reset,
	.execute = ata_disk_execute,
	.save = ata_disk_save,
	.load = ata_disk_load,
	.destroy = ata_disk_destroy,
};

HgSataDrive *hg_ata_disk_new(HgMachine *m, const char *id, HgBlockBackend *backend)
{
	AtaDisk *disk = g_new0(AtaDisk, 1);

	disk->drive.ops = &ata_disk_ops;
	disk->drive.id = g_strdup(id);
	disk->drive.machine = m;
	disk->backend = backend;
	disk->queue = hg_block_queue_new(m, backend);
	disk->sectors = hg_block_size(backend) / SECTOR_SIZE;
	disk->read_only = hg_block_is_read_only(backend);
	/* Stable across restarts of the same image: the guest names disks
	 * by it (/dev/disk/by-id). */
	g_snprintf(disk->serial, sizeof(disk->serial), "HG%08X-%s",
		   g_str_hash(hg_block_path(backend)), id);
	ata_disk_reset(&disk->drive);
	return &disk->drive;
}

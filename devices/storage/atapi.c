/* An ATAPI CD/DVD-ROM drive: the PACKET command set installers, El Torito
 * boot and operating systems use, over 2048-byte sectors of an ISO image.
 *
 * Specifications:
 *   ATA8-ACS 7.17/7.18  PACKET, IDENTIFY PACKET DEVICE (table 26); a
 *         packet device aborts IDENTIFY DEVICE with its signature.
 *   SPC-4  TEST UNIT READY, REQUEST SENSE (fixed format, 4.5.3), INQUIRY
 *         (6.4, VPD pages 00h and 80h), PREVENT ALLOW MEDIUM REMOVAL;
 *         unit attention (5.13).
 *   MMC-6  READ CAPACITY (6.23), READ (10)/(12) (6.19/6.20), READ CD
 *         user data (6.21), READ TOC/PMA/ATIP formats 0, 1, 2 (6.26),
 *         GET CONFIGURATION (6.6; features 0000h profile list, 0001h core,
 *         0002h morphing, 0003h removable medium, 0010h random readable,
 *         001Eh CD read, 001Fh DVD read), GET EVENT STATUS NOTIFICATION
 *         (6.7, media class, polled), MODE SENSE (10) with pages 01h and 2Ah
 *         (7.3, 7.8), START STOP UNIT (6.39), READ DISC INFORMATION (6.22),
 *         MECHANISM STATUS (6.11), SET CD SPEED (6.37).
 * Sense data used: 02/3A/01-02 medium not present (tray closed, open),
 * 06/28/00 medium may have changed (after an insert), 05/20/00 invalid
 * command, 05/24/00 invalid field in CDB, 05/21/00 LBA out of range,
 * 05/53/02 medium removal prevented, 03/11/00 unrecovered read error.
 *
 * Model choices: the tray and the medium are separate, as on a real drive
 * (and as QEMU does it): START STOP UNIT opens and closes the tray but the
 * medium stays in it, while the control socket's eject takes the medium
 * out.  A medium larger than a CD (400,000 sectors) is a DVD-ROM for
 * GET CONFIGURATION.  Data moves by DMA or PIO alike; over AHCI the two
 * differ only in FISes, and every command ends with a Register FIS whose
 * sector count holds the interrupt reason (I/O and C/D set). */
#include "devices/storage/atapi.h"

#include <errno.h>
#include <string.h>

#include "devices/device.h"
#include "library/block/block.h"

#define CD_SECTOR_SIZE 2048
#define CD_MAX_SECTORS 400000 /* above this, the medium is a DVD */

/* ATA commands a packet device takes. */
enum {
	ATA_DEVICE_RESET = 0x08,
	ATA_EXECUTE_DEVICE_DIAGNOSTIC = 0x90,
	ATA_PACKET = 0xa0,
	ATA_IDENTIFY_PACKET_DEVICE = 0xa1,
	ATA_STANDBY_IMMEDIATE = 0xe0,
	ATA_IDLE_IMMEDIATE = 0xe1,
	ATA_CHECK_POWER_MODE = 0xe5,
	ATA_SLEEP = 0xe6,
	ATA_FLUSH_CACHE = 0xe7,
	ATA_IDENTIFY_DEVICE = 0xec,
	ATA_SET_FEATURES = 0xef,
};

/* SCSI/MMC operation codes. */
enum {
	SCSI_TEST_UNIT_READY = 0x00,
	SCSI_REQUEST_SENSE = 0x03,
	SCSI_INQUIRY = 0x12,
	SCSI_START_STOP_UNIT = 0x1b,
	SCSI_PREVENT_ALLOW = 0x1e,
	SCSI_READ_CAPACITY = 0x25,
	SCSI_READ_10 = 0x28,
	SCSI_SEEK_10 = 0x2b,
	SCSI_READ_TOC = 0x43,
	SCSI_GET_CONFIGURATION = 0x46,
	SCSI_GET_EVENT_STATUS = 0x4a,
	SCSI_READ_DISC_INFORMATION = 0x51,
	SCSI_MODE_SELECT_10 = 0x55,
	SCSI_MODE_SENSE_10 = 0x5a,
	SCSI_READ_12 = 0xa8,
	SCSI_SET_CD_SPEED = 0xbb,
	SCSI_MECHANISM_STATUS = 0xbd,
	SCSI_READ_CD = 0xbe,
};

enum {
	SENSE_NONE = 0x00,
	SENSE_NOT_READY = 0x02,
	SENSE_MEDIUM_ERROR = 0x03,
	SENSE_ILLEGAL_REQUEST = 0x05,
	SENSE_UNIT_ATTENTION = 0x06,
};

#define ASC_MEDIUM_NOT_PRESENT 0x3a
#define ASC_MEDIUM_CHANGED 0x28
#define ASC_INVALID_OPCODE 0x20
#define ASC_INVALID_FIELD 0x24
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_REMOVAL_PREVENTED 0x53
#define ASC_UNRECOVERED_READ 0x11
#define ASC_SAVING_NOT_SUPPORTED 0x39

/* GET EVENT STATUS NOTIFICATION media event codes (MMC-6 table 146). */
enum {
	MEDIA_EVENT_NONE = 0,
	MEDIA_EVENT_EJECT_REQUEST = 1,
	MEDIA_EVENT_NEW_MEDIA = 2,
	MEDIA_EVENT_MEDIA_REMOVAL = 3,
};

/* The interrupt reason at the end of a packet command: I/O and C/D. */
#define ATAPI_IREASON_STATUS 0x03

typedef struct {
	HgSataDrive drive;
	char serial[21];

	/* The medium: its image and block queue, or none. */
	HgBlockBackend *medium;
	HgBlockQueue *queue;
	uint64_t sectors; /* of 2048 bytes */
	bool tray_open;
	bool locked; /* PREVENT ALLOW MEDIUM REMOVAL */

	/* Sense data of the last failed command, reported by REQUEST SENSE. */
	uint8_t sense_key, asc, ascq;
	bool unit_attention; /* MEDIUM CHANGED waits for the next command */
	uint8_t media_event; /* for GET EVENT STATUS NOTIFICATION */
	uint8_t transfer_mode;
} Atapi;

static Atapi *to_atapi(HgSataDrive *d)
{
	return (Atapi *)d;
}

static bool atapi_medium_ready(Atapi *a)
{
	return a->medium && !a->tray_open;
}

static bool atapi_is_dvd(Atapi *a)
{
	return a->sectors > CD_MAX_SECTORS;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint16_t get_be16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* Minutes, seconds, frames: LBA 0 is 00:02:00 (MMC-6 4.2.3.2). */
static void put_msf(uint8_t *p, uint32_t lba)
{
	lba += 150;
	p[0] = 0;
	p[1] = lba / (75 * 60);
	p[2] = (lba / 75) % 60;
	p[3] = lba % 75;
}

static void put_address(uint8_t *p, uint32_t lba, bool msf)
{
	if (msf)
		put_msf(p, lba);
	else
		put_be32(p, lba);
}

/* ---- medium ---- */

static void atapi_close_medium(Atapi *a)
{
	if (!a->medium)
		return;
	/* A read in flight would lose its completion with the queue. */
	hg_machine_drain_io(a->drive.machine);
	hg_block_queue_free(a->queue);
	hg_block_close(a->medium);
	a->queue = NULL;
	a->medium = NULL;
	a->sectors = 0;
}

static bool atapi_open_medium(Atapi *a, const char *path, GError **error)
{
	/* A disc is its bytes: never probed, so an "ISO" cannot be an image
	 * that reads other host files (a qcow2 backing file, VMDK extents). */
	HgBlockBackend *blk = hg_block_open_format(path, "raw", true, error);

	if (!blk)
		return false;
	atapi_close_medium(a);
	a->medium = blk;
	a->queue = hg_block_queue_new(a->drive.machine, blk);
	a->sectors = hg_block_size(blk) / CD_SECTOR_SIZE;
	return true;
}

/* ---- results ---- */

static void atapi_good(HgSataCommand *cmd)
{
	hg_sata_set_ok(cmd);
	cmd->count = ATAPI_IREASON_STATUS;
}

/* CHECK CONDITION: the sense key goes to the error register's upper nibble
 * (ATA8-ACS 7.18.5), the details wait for REQUEST SENSE. */
static void atapi_check_condition(Atapi *a, HgSataCommand *cmd, uint8_t key, uint8_t asc,
				  uint8_t ascq)
{
	a->sense_key = key;
	a->asc = asc;
	a->ascq = ascq;
	hg_sata_set_error(cmd, key << 4 | (key == SENSE_ILLEGAL_REQUEST ? HG_ATA_ERROR_ABRT : 0));
	cmd->count = ATAPI_IREASON_STATUS;
}

static void atapi_not_ready(Atapi *a, HgSataCommand *cmd)
{
	atapi_check_condition(a, cmd, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT,
			      a->tray_open ? 0x02 : 0x01);
}

static void atapi_invalid_field(Atapi *a, HgSataCommand *cmd)
{
	atapi_check_condition(a, cmd, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

/* Send a reply of len bytes, cut to the allocation length. */
static void atapi_reply(Atapi *a, HgSataCommand *cmd, const void *data, size_t len,
			size_t allocation)
{
	hg_sata_copy_to_guest(cmd, data, MIN(len, allocation));
	atapi_good(cmd);
}

/* ---- IDENTIFY PACKET DEVICE ---- */

static void atapi_identify(Atapi *a, uint16_t *w)
{
	uint8_t mode = a->transfer_mode;

	memset(w, 0, 512);
	/* Packet device, CD-ROM, removable, DRQ within 50 us, 12-byte packets. */
	w[0] = 0x8000 | 0x05 << 8 | 1 << 7 | 2 << 5;
	hg_ata_identify_string(w + 10, a->serial, 10);
	hg_ata_identify_string(w + 23, "1.0", 4);
	hg_ata_identify_string(w + 27, "HANGAR DVD-ROM", 20);
	w[49] = (1 << 11) | (1 << 9) | (1 << 8); /* IORDY, LBA, DMA */
	w[50] = 0x4000;
	w[53] = 0x0006; /* words 64-70 and 88 valid */
	w[63] = 0x0007 | ((mode & 0xf8) == 0x20 ? 0x100 << (mode & 7) : 0);
	w[64] = 0x0003;
	w[65] = w[66] = w[67] = w[68] = 120;
	w[76] = (1 << 3) | (1 << 2) | (1 << 1);
	w[80] = 0x01f0;
	/* NOP, DEVICE RESET, PACKET, power management. */
	w[82] = (1 << 14) | (1 << 9) | (1 << 4) | (1 << 3);
	w[83] = 1 << 14;
	w[84] = 1 << 14;
	w[85] = w[82];
	w[87] = 1 << 14;
	w[88] = 0x007f | ((mode & 0xf8) == 0x40 ? 0x100 << (mode & 7) : 0);
	w[222] = 0x1020;
	hg_ata_identify_checksum(w);
}

/* ---- packet commands ---- */

static void atapi_read_done(HgSataCommand *cmd, int result)
{
	Atapi *a = to_atapi(cmd->drive);

	if (result == 0)
		atapi_good(cmd);
	else if (result == -EIO)
		atapi_check_condition(a, cmd, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
	else
		atapi_check_condition(a, cmd, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
	hg_sata_complete(cmd);
}

/* Returns true when the command went to the block queue. */
static bool atapi_read(Atapi *a, HgSataCommand *cmd, uint32_t lba, uint32_t count)
{
	if ((uint64_t)lba + count > a->sectors) {
		atapi_check_condition(a, cmd, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
		return false;
	}
	if (count == 0) {
		atapi_good(cmd);
		return false;
	}
	hg_sata_block_io(cmd, a->queue, HG_BLOCK_READ, (uint64_t)lba * CD_SECTOR_SIZE,
			 (uint64_t)count * CD_SECTOR_SIZE, atapi_read_done);
	return true;
}

static void atapi_request_sense(Atapi *a, HgSataCommand *cmd, const uint8_t *cdb)
{
	uint8_t buf[18] = {0};

	if (a->sense_key == SENSE_NONE && a->unit_attention) {
		a->sense_key = SENSE_UNIT_ATTENTION;
		a->asc = ASC_MEDIUM_CHANGED;
		a->ascq = 0;
		a->unit_attention = false;
	}
	buf[0] = 0x70; /* current error, fixed format */
	buf[2] = a->sense_key;
	buf[7] = 10; /* additional sense length */
	buf[12] = a->asc;
	buf[13] = a->ascq;
	a->sense_key = a->asc = a->ascq = 0;
	atapi_reply(a, cmd, buf, sizeof(buf), cdb[4]);
}

static void atapi_inquiry(Atapi *a, HgSataCommand *cmd, const uint8_t *cdb)
{
	uint8_t buf[36] = {0};
	size_t allocation = get_be16(cdb + 3);

	if (cdb[1] & 1) { /* vital product data */
		size_t len;
		buf[0] = 0x05;
		buf[1] = cdb[2];
		if (cdb[2] == 0x00) { /* supported pages */
			buf[3] = 2;
			buf[4] = 0x00;
			buf[5] = 0x80;
			len = 6;
		} else if (cdb[2] == 0x80) { /* unit serial number */
			buf[3] = 20;
			memcpy(buf + 4, a->serial, 20);
			len = 24;
		} else {
			atapi_invalid_field(a, cmd);
			return;
		}
		atapi_reply(a, cmd, buf, len, allocation);
		return;
	}
	if (cdb[2]) {
		atapi_invalid_field(a, cmd);
		return;
	}
	buf[0] = 0x05; /* CD/DVD device */
	buf[1] = 0x80; /* removable medium */
	buf[2] = 0x05; /* SPC-3 */
	buf[3] = 0x02; /* response data format 2 */
	buf[4] = sizeof(buf) - 5;
	memcpy(buf + 8, "HANGAR  ", 8);
	memcpy(buf + 16, "HANGAR DVD-ROM  ", 16);
	memcpy(buf + 32, "1.0 ", 4);
	atapi_reply(a, cmd, buf, sizeof(buf), allocation);
}

static void atapi_read_capacity(Atapi *a, HgSataCommand *cmd)
{
	uint8_t buf[8];

	put_be32(buf, a->sectors ? (uint32_t)MIN(a->sectors - 1, UINT32_MAX) : 0);
	put_be32(buf + 4, CD_SECTOR_SIZE);
	atapi_reply(a, cmd, buf, sizeof(buf), sizeof(buf));
}

/* READ TOC/PMA/ATIP: one data track from LBA 0, lead-out after the medium. */
static void atapi_read_toc(Atapi *a, HgSataCommand *cmd, const uint8_t *cdb)
{
	bool msf = cdb[1] & 0x02;
	uint8_t format = cdb[2] & 0x0f;
	uint8_t track = cdb[6];
	uint32_t leadout = (uint32_t)MIN(a->sectors, UINT32_MAX - 150);
	uint8_t buf[48] = {0};
	size_t len = 4;

	if (format == 0 && (cdb[9] >> 6)) /* the old SFF-8020 place */
		format = cdb[9] >> 6;
	switch (format) {
	case 0: /* TOC */
		if (track > 1 && track != 0xaa) {
			atapi_invalid_field(a, cmd);
			return;
		}
		buf[2] = 1; /* first track */
		buf[3] = 1; /* last track */
		if (track <= 1) {
			buf[len + 1] = 0x14; /* ADR 1, data track */
			buf[len + 2] = 1;
			put_address(buf + len + 4, 0, msf);
			len += 8;
		}
		buf[len + 1] = 0x14;
		buf[len + 2] = 0xaa; /* lead-out */
		put_address(buf + len + 4, leadout, msf);
		len += 8;
		break;
	case 1: /* session information */
		buf[2] = 1;
		buf[3] = 1;
		buf[5] = 0x14;
		buf[6] = 1;
		put_address(buf + 8, 0, msf);
		len = 12;
		break;
	case 2: { /* raw TOC: points A0h, A1h, A2h and track 1, always MSF */
		static const uint8_t points[] = {0xa0, 0xa1, 0xa2, 0x01};
		buf[2] = 1;
		buf[3] = 1;
		for (unsigned i = 0; i < G_N_ELEMENTS(points); i++) {
			uint8_t *d = buf + len;
			d[0] = 1; /* session */
			d[1] = 0x14;
			d[3] = points[i];
			if (points[i] == 0xa0 || points[i] == 0xa1)
				d[8] = 1; /* first / last track number */
			else if (points[i] == 0xa2)
				put_msf(d + 7, leadout);
			else
				put_msf(d + 7, 0);
			len += 11;
		}
		break;
	}
	default:
		atapi_invalid_field(a, cmd);
		return;
	}
	put_be16(buf, len - 2);
	atapi_reply(a, cmd, buf, len, get_be16(cdb + 7));
}

/* Adds one feature descriptor; returns its length. */
static size_t config_feature(uint8_t *p, uint16_t code, uint8_t version, bool current,
			     const uint8_t *data, uint8_t len)
{
	put_be16(p, code);
	p[2] = version << 2 | 1 << 1 /* persistent */ | current;
	p[3] = len;
	memcpy(p + 4, data, len);
	return 4 + len;
}

static void atapi_get_configuration(Atapi *a, HgSataCommand *cmd, const uint8_t *cdb)
{
	uint8_t rt = cdb[1] & 0x03;
	uint16_t start = get_be16(cdb + 2);
	bool ready = atapi_medium_ready(a);
	bool dvd = ready && atapi_is_dvd(a);
	uint8_t buf[160] = {0};
	size_t len = 8;
	uint16_t profile = !ready ? 0x0000 : dvd ? 0x0010 : 0x0008;
	struct {
		uint16_t code;
		uint8_t version;
		bool current;
		uint8_t data[8];
		uint8_t len;
	} features[] = {
		/* Profile list: DVD-ROM, CD-ROM; the flag marks the current. */
		{0x0000, 0, true, {0x00, 0x10, dvd, 0, 0x00, 0x08, ready && !dvd, 0}, 8},
		{0x0001, 2, true, {0, 0, 0, 2 /* ATAPI */, 0, 0, 0, 0}, 8},
		{0x0002, 1, true, {0}, 4},
		/* Tray loading, eject, lock. */
		{0x0003, 0, true, {0x29, 0, 0, 0}, 4},
		{0x0010, 0, ready, {0, 0, CD_SECTOR_SIZE >> 8, 0, 0, dvd ? 16 : 1, 0, 0}, 8},
		{0x001e, 2, ready && !dvd, {0}, 4},
		{0x001f, 0, dvd, {0}, 4},
	};

	if (rt == 3) {
		atapi_invalid_field(a, cmd);
		return;
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(features); i++) {
		if (features[i].code < start)
			continue;
		if (rt == 1 && !features[i].current)
			continue;
		if (rt == 2 && features[i].code != start)
			continue;
		len += config_feature(buf + len, features[i].code, features[i].version,
				      features[i].current, features[i].data, features[i].len);
	}
	put_be32(buf, len - 4);
	put_be16(buf + 6, profile);
	atapi_reply(a, cmd, buf, len, get_be16(cdb + 7));
}

static void atapi_get_event_status(Atapi *a, HgSataCommand *cmd, const uint8_t *cdb)
{
	uint8_t buf[8] = {0};
	size_t len;

	if (!(cdb[1] & 1)) { /* only polled operation */
		atapi_invalid_field(a, cmd);
		return;
	}
	buf[3] = 1 << 4; /* supported classes: media */
	if (cdb[4] & (1 << 4)) {
		put_be16(buf, 6);
		buf[2] = 4; /* media class */
		buf[4] = a->media_event;
		buf[5] = (atapi_medium_ready(a) ? 0x02 : 0) | (a->tray_open ? 0x01 : 0);
		a->media_event = MEDIA_EVENT_NONE;
		len = 8;
	} else {
		put_be16(buf, 2);
		buf[2] = 0x80; /* no event available */
		len = 4;
	}
	atapi_reply(a, cmd, buf, len, get_be16(cdb + 7));
}

static size_t mode_page_error_recovery(uint8_t *p, bool changeable)
{
	memset(p, 0, 12);
	p[0] = 0x01;
	p[1] = 0x0a;
	if (!changeable)
		p[3] = 5; /* read retry count */
	return 12;
}

static size_t mode_page_capabilities(Atapi *a, uint8_t *p, bool changeable)
{
	memset(p, 0, 22);
	p[0] = 0x2a;
	p[1] = 0x14;
	if (changeable)
		return 22;
	p[2] = 0x3b; /* reads CD-R, CD-RW, DVD-ROM, DVD-R, DVD-RAM */
	p[4] = 0x71; /* audio play, mode 2 form 1 and 2, multi-session */
	p[6] = 0x29 | (a->locked ? 0x02 : 0); /* tray, eject, lock (and its state) */
	put_be16(p + 8, 7056); /* maximum read speed, kB/s */
	put_be16(p + 12, 512); /* buffer, KiB */
	put_be16(p + 14, 7056); /* current read speed */
	return 22;
}

static void atapi_mode_sense(Atapi *a, HgSataCommand *cmd, const uint8_t *cdb)
{
	uint8_t control = cdb[2] >> 6, page = cdb[2] & 0x3f;
	bool changeable = control == 1;
	uint8_t buf[64] = {0};
	size_t len = 8;

	if (control == 3) {
		atapi_check_condition(a, cmd, SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0);
		return;
	}
	if (page != 0x01 && page != 0x2a && page != 0x3f) {
		atapi_invalid_field(a, cmd);
		return;
	}
	if (page == 0x01 || page == 0x3f)
		len += mode_page_error_recovery(buf + len, changeable);
	if (page == 0x2a || page == 0x3f)
		len += mode_page_capabilities(a, buf + len, changeable);
	put_be16(buf, len - 2);
	atapi_reply(a, cmd, buf, len, get_be16(cdb + 7));
}

static void atapi_start_stop(Atapi *a, HgSataCommand *cmd, const uint8_t *cdb)
{
	bool load_eject = cdb[4] & 0x02, start = cdb[4] & 0x01;

	if ((cdb[4] >> 4) || !load_eject) { /* power conditions, spindle: nothing to do */
		atapi_good(cmd);
		return;
	}
	if (!start) {
		if (a->locked) {
			atapi_check_condition(a, cmd, SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED,
					      0x02);
			return;
		}
		if (!a->tray_open && a->medium)
			a->media_event = MEDIA_EVENT_MEDIA_REMOVAL;
		a->tray_open = true;
	} else if (a->tray_open) {
		a->tray_open = false;
		if (a->medium) {
			a->media_event = MEDIA_EVENT_NEW_MEDIA;
			a->unit_attention = true;
		}
	}
	atapi_good(cmd);
}

static void atapi_read_disc_information(Atapi *a, HgSataCommand *cmd, const uint8_t *cdb)
{
	uint8_t buf[34] = {0};

	if (cdb[1] & 0x07) { /* only standard disc information */
		atapi_invalid_field(a, cmd);
		return;
	}
	put_be16(buf, sizeof(buf) - 2);
	buf[2] = 0x0e; /* last session complete, disc finalized */
	buf[3] = 1; /* first track */
	buf[4] = 1; /* sessions */
	buf[5] = 1; /* first track in last session */
	buf[6] = 1; /* last track in last session */
	memset(buf + 16, 0xff, 8); /* lead-in, lead-out: none (finalized) */
	atapi_reply(a, cmd, buf, sizeof(buf), get_be16(cdb + 7));
}

static void atapi_mechanism_status(Atapi *a, HgSataCommand *cmd, const uint8_t *cdb)
{
	uint8_t buf[8] = {0};

	buf[1] = a->tray_open ? 0x10 : 0; /* idle; door open */
	atapi_reply(a, cmd, buf, sizeof(buf), get_be16(cdb + 8));
}

/* Commands that work without a medium, and ones a pending unit attention
 * does not fail (SPC-4 5.13; MMC-6 lets GET CONFIGURATION and GET EVENT
 * STATUS NOTIFICATION through so that hosts can poll). */
static bool atapi_needs_medium(uint8_t op)
{
	switch (op) {
	case SCSI_TEST_UNIT_READY:
	case SCSI_READ_CAPACITY:
	case SCSI_READ_10:
	case SCSI_READ_12:
	case SCSI_READ_CD:
	case SCSI_SEEK_10:
	case SCSI_READ_TOC:
	case SCSI_READ_DISC_INFORMATION:
		return true;
	}
	return false;
}

static bool atapi_allows_unit_attention(uint8_t op)
{
	return op == SCSI_INQUIRY || op == SCSI_REQUEST_SENSE || op == SCSI_GET_CONFIGURATION ||
	       op == SCSI_GET_EVENT_STATUS;
}

/* Returns true when the command went to the block queue. */
static bool atapi_packet(Atapi *a, HgSataCommand *cmd)
{
	const uint8_t *cdb = cmd->packet;
	uint8_t op = cdb[0];

	if (a->unit_attention && !atapi_allows_unit_attention(op)) {
		a->unit_attention = false;
		atapi_check_condition(a, cmd, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
		return false;
	}
	if (atapi_needs_medium(op) && !atapi_medium_ready(a)) {
		atapi_not_ready(a, cmd);
		return false;
	}
	switch (op) {
	case SCSI_TEST_UNIT_READY:
	case SCSI_SEEK_10:
	case SCSI_SET_CD_SPEED:
	case SCSI_MODE_SELECT_10:
		atapi_good(cmd);
		break;
	case SCSI_REQUEST_SENSE:
		atapi_request_sense(a, cmd, cdb);
		break;
	case SCSI_INQUIRY:
		atapi_inquiry(a, cmd, cdb);
		break;
	case SCSI_START_STOP_UNIT:
		atapi_start_stop(a, cmd, cdb);
		break;
	case SCSI_PREVENT_ALLOW:
		a->locked = cdb[4] & 0x01;
		atapi_good(cmd);
		break;
	case SCSI_READ_CAPACITY:
		atapi_read_capacity(a, cmd);
		break;
	case SCSI_READ_10:
		return atapi_read(a, cmd, get_be32(cdb + 2), get_be16(cdb + 7));
	case SCSI_READ_12:
		return atapi_read(a, cmd, get_be32(cdb + 2), get_be32(cdb + 6));
	case SCSI_READ_CD: {
		uint8_t sector_type = (cdb[1] >> 2) & 0x07;
		uint32_t count = cdb[6] << 16 | cdb[7] << 8 | cdb[8];
		/* User data of mode 1 (or any) sectors only; no headers, sub-channels. */
		if ((sector_type != 0 && sector_type != 2) || (cdb[9] != 0x10 && cdb[9] != 0) ||
		    cdb[10]) {
			atapi_invalid_field(a, cmd);
			break;
		}
		return atapi_read(a, cmd, get_be32(cdb + 2), cdb[9] ? count : 0);
	}
	case SCSI_READ_TOC:
		atapi_read_toc(a, cmd, cdb);
		break;
	case SCSI_GET_CONFIGURATION:
		atapi_get_configuration(a, cmd, cdb);
		break;
	case SCSI_GET_EVENT_STATUS:
		atapi_get_event_status(a, cmd, cdb);
		break;
	case SCSI_MODE_SENSE_10:
		atapi_mode_sense(a, cmd, cdb);
		break;
	case SCSI_READ_DISC_INFORMATION:
		atapi_read_disc_information(a, cmd, cdb);
		break;
	case SCSI_MECHANISM_STATUS:
		atapi_mechanism_status(a, cmd, cdb);
		break;
	default:
		g_debug("%s: packet command 0x%02x not supported", a->drive.id, op);
		atapi_check_condition(a, cmd, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
		break;
	}
	return false;
}

/* The device signature in the result registers (ATA8-ACS 9.12). */
static void atapi_set_signature(HgSataCommand *cmd)
{
	cmd->count = 0x01;
	cmd->lba = 0xeb1401;
}

static void atapi_execute(HgSataDrive *d, HgSataCommand *cmd)
{
	Atapi *a = to_atapi(d);
	uint8_t command = hg_sata_fis_command(cmd);

	cmd->count = 0;
	switch (command) {
	case ATA_PACKET:
		if (atapi_packet(a, cmd))
			return;
		break;
	case ATA_IDENTIFY_PACKET_DEVICE:
		atapi_identify(a, (uint16_t *)cmd->scratch);
		hg_sata_copy_to_guest(cmd, cmd->scratch, 512);
		hg_sata_set_ok(cmd);
		cmd->end = HG_SATA_END_PIO_IN;
		break;
	case ATA_IDENTIFY_DEVICE:
		/* Not an ATA disk: abort, and say what we are. */
		hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
		atapi_set_signature(cmd);
		break;
	case ATA_DEVICE_RESET:
	case ATA_EXECUTE_DEVICE_DIAGNOSTIC:
		hg_sata_set_ok(cmd);
		cmd->status = 0;
		cmd->error = 0x01;
		atapi_set_signature(cmd);
		break;
	case ATA_SET_FEATURES:
		if (cmd->fis[3] == 0x03) {
			a->transfer_mode = cmd->fis[12];
			hg_sata_set_ok(cmd);
		} else {
			hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
		}
		break;
	case ATA_CHECK_POWER_MODE:
		hg_sata_set_ok(cmd);
		cmd->count = 0xff;
		break;
	case ATA_STANDBY_IMMEDIATE:
	case ATA_IDLE_IMMEDIATE:
	case ATA_SLEEP:
	case ATA_FLUSH_CACHE:
		hg_sata_set_ok(cmd);
		break;
	default:
		g_debug("%s: ATA command 0x%02x aborted", d->id, command);
		hg_sata_set_error(cmd, HG_ATA_ERROR_ABRT);
		break;
	}
	hg_sata_complete(cmd);
}

/* A hardware reset (COMRESET): the drive forgets its sense data and lets
 * go of the tray (SPC-4: the prevent state ends with a reset); the medium
 * and the tray stay where they are. */
static void atapi_reset(HgSataDrive *d)
{
	Atapi *a = to_atapi(d);

	a->sense_key = a->asc = a->ascq = 0;
	a->locked = false;
	a->transfer_mode = 0x42; /* UDMA 2 */
}

/* ---- control socket ---- */

bool hg_atapi_change_medium(HgSataDrive *d, const char *path, GError **error)
{
	Atapi *a = to_atapi(d);

	if (a->locked && atapi_medium_ready(a)) {
		a->media_event = MEDIA_EVENT_EJECT_REQUEST;
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
			    "%s: the guest has locked the tray; eject with \"force\" first", d->id);
		return false;
	}
	if (!atapi_open_medium(a, path, error))
		return false;
	a->tray_open = false;
	a->media_event = MEDIA_EVENT_NEW_MEDIA;
	a->unit_attention = true;
	return true;
}

bool hg_atapi_eject(HgSataDrive *d, bool force, GError **error)
{
	Atapi *a = to_atapi(d);

	if (a->locked && !force) {
		/* Ask the guest to let go; it may eject itself. */
		a->media_event = MEDIA_EVENT_EJECT_REQUEST;
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
			    "%s: the guest has locked the tray (use \"force\" to eject anyway)",
			    d->id);
		return false;
	}
	if (a->medium)
		a->media_event = MEDIA_EVENT_MEDIA_REMOVAL;
	atapi_close_medium(a);
	a->tray_open = true;
	return true;
}

/* ---- state ---- */

static void atapi_save(HgSataDrive *d, GVariantBuilder *b)
{
	Atapi *a = to_atapi(d);

	g_variant_builder_add(b, "{sv}", "medium",
			      g_variant_new_string(a->medium ? hg_block_path(a->medium) : ""));
	g_variant_builder_add(b, "{sv}", "medium-sectors", g_variant_new_uint64(a->sectors));
	g_variant_builder_add(b, "{sv}", "tray-open", g_variant_new_boolean(a->tray_open));
	g_variant_builder_add(b, "{sv}", "locked", g_variant_new_boolean(a->locked));
	g_variant_builder_add(b, "{sv}", "sense-key", g_variant_new_byte(a->sense_key));
	g_variant_builder_add(b, "{sv}", "asc", g_variant_new_byte(a->asc));
	g_variant_builder_add(b, "{sv}", "ascq", g_variant_new_byte(a->ascq));
	g_variant_builder_add(b, "{sv}", "unit-attention",
			      g_variant_new_boolean(a->unit_attention));
	g_variant_builder_add(b, "{sv}", "media-event", g_variant_new_byte(a->media_event));
	g_variant_builder_add(b, "{sv}", "transfer-mode", g_variant_new_byte(a->transfer_mode));
}

static bool atapi_load(HgSataDrive *d, GVariantDict *r, GError **error)
{
	Atapi *a = to_atapi(d);
	const char *medium = NULL;
	uint64_t sectors;

	if (!g_variant_dict_lookup(r, "medium", "&s", &medium)) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: state record lacks the medium", d->id);
		return false;
	}
	if (!hg_record_u64(r, "medium-sectors", &sectors, error) ||
	    !hg_record_bool(r, "tray-open", &a->tray_open, error) ||
	    !hg_record_bool(r, "locked", &a->locked, error) ||
	    !hg_record_u8(r, "sense-key", &a->sense_key, error) ||
	    !hg_record_u8(r, "asc", &a->asc, error) || !hg_record_u8(r, "ascq", &a->ascq, error) ||
	    !hg_record_bool(r, "unit-attention", &a->unit_attention, error) ||
	    !hg_record_u8(r, "media-event", &a->media_event, error) ||
	    !hg_record_u8(r, "transfer-mode", &a->transfer_mode, error))
		return false;
	if (a->sense_key > 0x0f || a->media_event > MEDIA_EVENT_MEDIA_REMOVAL) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: sense key or media event out of range", d->id);
		return false;
	}
	/* The medium the guest saw: reopen it if the command line gave
	 * another (a medium changed at run time). */
	if (!*medium) {
		atapi_close_medium(a);
	} else if (!a->medium || strcmp(medium, hg_block_path(a->medium)) != 0) {
		g_autoptr(GError) local = NULL;
		if (!atapi_open_medium(a, medium, &local)) {
			g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
				    "%s: cannot reopen the saved medium: %s", d->id,
				    local->message);
			return false;
		}
	}
	if (a->sectors != sectors) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: the medium %s had %" G_GUINT64_FORMAT
			    " sectors when saved, now %" G_GUINT64_FORMAT,
			    d->id, medium, sectors, a->sectors);
		return false;
	}
	return true;
}

static void atapi_destroy(HgSataDrive *d)
{
	Atapi *a = to_atapi(d);

	hg_block_queue_free(a->queue);
	hg_block_close(a->medium);
	g_free(d->id);
	g_free(a);
}

static const HgSataDriveOps atapi_ops = {
	.kind = "atapi-cdrom",
	.signature = HG_ATAPI_SIGNATURE,
	.reset = atapi_reset,
	.execute = atapi_execute,
	.save = atapi_save,
	.load = atapi_load,
	.destroy = atapi_destroy,
};

bool hg_atapi_is_cdrom(HgSataDrive *d)
{
	return d && d->ops == &atapi_ops;
}

HgSataDrive *hg_atapi_cdrom_new(HgMachine *m, const char *id, const char *path, GError **error)
{
	Atapi *a = g_new0(Atapi, 1);

	a->drive.ops = &atapi_ops;
	a->drive.id = g_strdup(id);
	a->drive.machine = m;
	g_snprintf(a->serial, sizeof(a->serial), "HGCD-%-15s", id);
	if (path && !atapi_open_medium(a, path, error)) {
		atapi_destroy(&a->drive);
		return NULL;
	}
	atapi_reset(&a->drive);
	return &a->drive;
}

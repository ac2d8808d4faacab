/* CFI parallel NOR flash, Intel/Sharp command set, byte wide: the UEFI
 * variable store (OVMF_VARS) that OVMF expects directly below its code.
 *
 * Specifications:
 *  - JEDEC JESD68 / Intel AP-646 "Common Flash Interface": the query
 *    structure read after 0x98 ("QRY" at 0x10, primary command set 0001 at
 *    0x13, system interface at 0x1B, device geometry at 0x27: size 2^n,
 *    interface code, write buffer 2^n, erase block regions) and the primary
 *    Intel extended query table ("PRI" at the address given at 0x15).
 *  - Intel StrataFlash (J3) datasheet, "Device Commands", "Read Status
 *    Register", "Clear Status Register", "Byte/Word Program", "Block Erase",
 *    "Write to Buffer", "Block Lock/Unlock", "Program/Erase Suspend", and
 *    "Status Register" (SR7 ready, SR5 erase error, SR4 program error, SR5
 *    with SR4 a command sequence error, SR3 VPP, SR1 block locked; 0x80
 *    after power-on and reset).
 * Where OVMF relies on QEMU's pflash_cfi01 rather than on the datasheet,
 * this model follows QEMU (OvmfPkg/QemuFlashFvbServicesRuntimeDxe/
 * QemuFlash.c was written against it):
 *  - Clear Status (0x50) clears the whole register, SR7 included, and
 *    returns to read-array mode.  OVMF's probe writes 0x50 and then 0x70 and
 *    takes a status of exactly 0x00 for "flash"; 0x80 would make it keep
 *    its variables in RAM.  SR7 is set again by the next operation.
 *  - After a program or an erase the chip stays in read-status mode until
 *    the next command (the datasheet agrees); OVMF ends a run of byte
 *    programs with 0xFF but leaves an erase in read-status mode.
 *  - Writes are one bus cycle of the access width: a command is the low
 *    byte, program data is every byte (a 16-bit write programs two bytes),
 *    the write-to-buffer count is the whole value.  Reads behave as byte
 *    cycles at consecutive addresses, little-endian, in every mode (status
 *    appears in every byte of a wide status read).
 * Choices where the datasheet leaves room:
 *  - Operations complete at once: SR7 is never seen clear because of one,
 *    and suspend (0xB0) and resume (0xD0 on its own) have nothing to act on;
 *    they only switch to read-status mode.
 *  - Programming only clears bits (new = old & data), as on NOR flash;
 *    asking for a 0 -> 1 change is not an error, the bit just stays 0.
 *    An erase sets the addressed 4 KiB block to 0xFF; it acts on the confirm
 *    cycle's address (QEMU erases on the setup cycle).
 *  - A command byte the set does not define returns to read-array mode and
 *    leaves the status alone (real parts reserve them; QEMU does this).
 *  - Erase, lock or write-to-buffer setup followed by the wrong second cycle
 *    is a command sequence error (SR5 | SR4), in read-status mode.
 *  - Write to buffer: 0xE8 (SR7 set: the buffer is free), count N-1 (at most
 *    255: the buffer is 2^8 bytes, CFI 0x2A), N bytes of data within the
 *    256-byte-aligned window of the first data write, then 0xD0.  A count
 *    too large is a sequence error; data outside the window or past N bytes
 *    makes the confirm fail with SR4 and write nothing.  The data is staged
 *    and reaches the array, and the file, only on the confirm.
 *  - Blocks never lock: 0x60 with 0x01, 0xD0 or 0x2F is accepted and does
 *    nothing, and the lock status at block base + 2 in identifier mode reads
 *    0.  The identifier is Intel (0x89) and device 0x18 (28F128J3, as QEMU's
 *    Arm virt flash says; QEMU's PC flash reports zeros).
 *  - The CFI device size is the smallest power of two that holds the file
 *    (0x84000 bytes -> 2^20); the erase block region gives the exact size.
 *
 * Persistence: the file's contents are kept in memory for reads; every
 * program, erase and buffer write is written to the file (pwrite) before it
 * completes, in the order the guest issued them, so the file always holds
 * what the guest would read back, and a crashed or killed engine loses
 * nothing (the kernel has every write).  fdatasync runs on the main thread,
 * never on a vCPU thread: one second after the first write not yet synced
 * (batched: OVMF programs one byte per command, and a sync per byte would
 * make a variable write take seconds), on save, and when the device goes
 * away.  So a host crash can lose up to the last second of writes.
 * A write that fails sets SR4 (SR5 for an erase) and leaves the contents as
 * they were.  An open file description lock keeps a second engine out.
 *
 * Threads: the MMIO handlers run with machine->device_lock held (a vCPU
 * thread, or the harness on the main thread); the sync timeout runs on the
 * main thread and takes device_lock for the state it shares. */
#include "devices/platform/pflash_cfi01.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PFLASH_BUFFER_SHIFT 8
#define PFLASH_BUFFER_SIZE (1u << PFLASH_BUFFER_SHIFT)
#define PFLASH_NO_WINDOW UINT64_MAX
#define PFLASH_SYNC_DELAY_MS 1000

#define PFLASH_MANUFACTURER_INTEL 0x89
#define PFLASH_DEVICE_CODE 0x18

/* Commands (the first bus cycle's low byte). */
#define CMD_PROGRAM_ALTERNATE 0x10
#define CMD_ERASE_SETUP 0x20
#define CMD_PROGRAM 0x40
#define CMD_CLEAR_STATUS 0x50
#define CMD_LOCK_SETUP 0x60
#define CMD_READ_STATUS 0x70
#define CMD_READ_IDENTIFIER 0x90
#define CMD_READ_QUERY 0x98
#define CMD_SUSPEND 0xb0
#define CMD_CONFIRM 0xd0 /* erase and buffer confirm, resume, unlock */
#define CMD_WRITE_TO_BUFFER 0xe8
#define CMD_READ_ARRAY 0xff
/* Second cycles of 0x60. */
#define LOCK_SET 0x01
#define LOCK_CLEAR 0xd0
#define LOCK_DOWN 0x2f

/* Status register. */
#define SR_READY 0x80 /* SR7 */
#define SR_ERASE_ERROR 0x20 /* SR5 */
#define SR_PROGRAM_ERROR 0x10 /* SR4 */
#define SR_SEQUENCE_ERROR (SR_ERASE_ERROR | SR_PROGRAM_ERROR)
/* No VPP pin (SR3), no suspends (SR6, SR2), no locks (SR1). */
#define SR_BITS_USED (SR_READY | SR_ERASE_ERROR | SR_PROGRAM_ERROR)

/* CFI query table: the ID string and system interface, geometry with one
 * erase block region, then the Intel extended table (version 1.0: features,
 * suspend functions, block status mask, optimum voltages, protection
 * fields), ending at 0x3F. */
#define CFI_EXTENDED_TABLE 0x31
#define CFI_TABLE_SIZE 0x40

typedef enum {
	/* Reads show the array, the status, the identifier or the query table;
	 * the next write is a command. */
	PFLASH_READ_ARRAY,
	PFLASH_READ_STATUS,
	PFLASH_READ_IDENTIFIER,
	PFLASH_READ_QUERY,
	/* Inside a command: reads show the status; the next write is its
	 * second cycle (data, confirm, count). */
	PFLASH_PROGRAM_SETUP,
	PFLASH_ERASE_SETUP,
	PFLASH_LOCK_SETUP,
	PFLASH_BUFFER_COUNT,
	PFLASH_BUFFER_DATA,
	PFLASH_BUFFER_CONFIRM,
	PFLASH_N_MODES,
} PflashMode;

typedef struct {
	HgDevice dev;

	/* Configuration, fixed once created. */
	char *path;
	int fd;
	uint64_t base;
	uint64_t size; /* a whole number of blocks */
	uint8_t *contents; /* the file's bytes */
	uint8_t *erased_block; /* HG_PFLASH_BLOCK_SIZE bytes of 0xFF */
	uint8_t query[CFI_TABLE_SIZE];

	/* Guest-visible state. */
	PflashMode mode;
	uint8_t status;
	uint32_t buffer_remaining; /* bytes the write to buffer still expects */
	uint64_t buffer_window; /* its aligned window, or PFLASH_NO_WINDOW */
	bool buffer_failed; /* data outside the window or beyond the count */
	uint8_t buffer[PFLASH_BUFFER_SIZE]; /* the window as the confirm will leave it */

	/* Durability; sync_source is guarded by device_lock. */
	guint sync_source;
	bool io_error_reported;
	gint64 last_complaint_us; /* rate limit for guest-error messages */
} Pflash;

static Pflash *pflash_from_dev(HgDevice *dev)
{
	return (Pflash *)dev;
}

/* A guest's mistake: debug level, at most once a second. */
static void G_GNUC_PRINTF(2, 3) pflash_guest_error(Pflash *s, const char *fmt, ...)
{
	gint64 now = g_get_monotonic_time();
	g_autofree char *msg = NULL;
	va_list ap;

	if (s->last_complaint_us && now - s->last_complaint_us < G_USEC_PER_SEC)
		return;
	s->last_complaint_us = now;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_debug("%s: %s", s->dev.id, msg);
}

/* ---- The file ---- */

static void pflash_sync(Pflash *s)
{
	if (fdatasync(s->fd) < 0 && !s->io_error_reported) {
		s->io_error_reported = true;
		g_warning("%s: cannot sync %s: %s", s->dev.id, s->path, g_strerror(errno));
	}
}

static gboolean pflash_sync_timeout(gpointer data)
{
	Pflash *s = data;

	g_mutex_lock(&s->dev.machine->device_lock);
	s->sync_source = 0;
	g_mutex_unlock(&s->dev.machine->device_lock);
	pflash_sync(s);
	return G_SOURCE_REMOVE;
}

/* Writes len bytes at offset to the file and then to the array; false (and
 * nothing changed in the array) when the file refused them. */
static bool pflash_store(Pflash *s, uint64_t offset, const uint8_t *bytes, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(s->fd, bytes + done, len - done, offset + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!s->io_error_reported) {
				s->io_error_reported = true;
				g_warning("%s: cannot write %s: %s", s->dev.id, s->path,
					  n < 0 ? g_strerror(errno) : "no progress");
			}
			return false;
		}
		done += n;
	}
	memcpy(s->contents + offset, bytes, len);
	if (!s->sync_source)
		s->sync_source = g_timeout_add(PFLASH_SYNC_DELAY_MS, pflash_sync_timeout, s);
	return true;
}

/* ---- Operations ---- */

static void pflash_sequence_error(Pflash *s, const char *what, uint8_t value)
{
	pflash_guest_error(s, "%s followed by 0x%02x: command sequence error", what, value);
	s->status |= SR_READY | SR_SEQUENCE_ERROR;
	s->mode = PFLASH_READ_STATUS;
}

static void pflash_program(Pflash *s, uint64_t offset, unsigned size, uint64_t value)
{
	uint8_t bytes[8];

	s->status |= SR_READY;
	if (size > s->size - offset) {
		pflash_guest_error(s,
				   "program of %u bytes at 0x%" G_GINT64_MODIFIER "x runs past "
				   "the end",
				   size, offset);
		s->status |= SR_PROGRAM_ERROR;
		return;
	}
	for (unsigned i = 0; i < size; i++)
		bytes[i] = s->contents[offset + i] & (uint8_t)(value >> (8 * i));
	if (!pflash_store(s, offset, bytes, size))
		s->status |= SR_PROGRAM_ERROR;
}

static void pflash_erase(Pflash *s, uint64_t offset)
{
	uint64_t block = offset & ~(uint64_t)(HG_PFLASH_BLOCK_SIZE - 1);

	s->status |= SR_READY;
	if (!pflash_store(s, block, s->erased_block, HG_PFLASH_BLOCK_SIZE))
		s->status |= SR_ERASE_ERROR;
}

static void pflash_buffer_reset(Pflash *s)
{
	s->buffer_remaining = 0;
	s->buffer_window = PFLASH_NO_WINDOW;
	s->buffer_failed = false;
	memset(s->buffer, 0xff, sizeof(s->buffer));
}

static void pflash_buffer_count(Pflash *s, uint64_t value)
{
	if (value >= PFLASH_BUFFER_SIZE) {
		pflash_guest_error(s,
				   "write to buffer of %" G_GUINT64_FORMAT " bytes, the buffer "
				   "holds %u",
				   value + 1, PFLASH_BUFFER_SIZE);
		pflash_buffer_reset(s);
		pflash_sequence_error(s, "write to buffer", (uint8_t)value);
		return;
	}
	s->buffer_remaining = value + 1;
	s->mode = PFLASH_BUFFER_DATA;
}

static void pflash_buffer_data(Pflash *s, uint64_t offset, unsigned size, uint64_t value)
{
	if (s->buffer_window == PFLASH_NO_WINDOW) {
		/* The size is a whole number of blocks, so the window fits. */
		s->buffer_window = offset & ~(uint64_t)(PFLASH_BUFFER_SIZE - 1);
		memcpy(s->buffer, s->contents + s->buffer_window, PFLASH_BUFFER_SIZE);
	}
	if (size > s->buffer_remaining || offset < s->buffer_window ||
	    offset + size > s->buffer_window + PFLASH_BUFFER_SIZE) {
		pflash_guest_error(s,
				   "write to buffer: %u bytes at 0x%" G_GINT64_MODIFIER "x "
				   "outside the window at 0x%" G_GINT64_MODIFIER "x or the count",
				   size, offset, s->buffer_window);
		s->buffer_failed = true;
	} else {
		for (unsigned i = 0; i < size; i++)
			s->buffer[offset - s->buffer_window + i] &= (uint8_t)(value >> (8 * i));
	}
	s->buffer_remaining -= MIN(size, s->buffer_remaining);
	if (s->buffer_remaining == 0)
		s->mode = PFLASH_BUFFER_CONFIRM;
}

static void pflash_buffer_confirm(Pflash *s, uint8_t cmd)
{
	if (cmd != CMD_CONFIRM) {
		pflash_buffer_reset(s);
		pflash_sequence_error(s, "write to buffer", cmd);
		return;
	}
	s->status |= SR_READY;
	if (s->buffer_failed || !pflash_store(s, s->buffer_window, s->buffer, PFLASH_BUFFER_SIZE))
		s->status |= SR_PROGRAM_ERROR;
	pflash_buffer_reset(s);
	s->mode = PFLASH_READ_STATUS;
}

/* A write while no command is under way: the start of the next one. */
static void pflash_command(Pflash *s, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_ARRAY:
		s->mode = PFLASH_READ_ARRAY;
		break;
	case CMD_READ_STATUS:
	case CMD_SUSPEND: /* nothing is ever in progress to suspend or resume */
	case CMD_CONFIRM:
		s->mode = PFLASH_READ_STATUS;
		break;
	case CMD_READ_IDENTIFIER:
		s->mode = PFLASH_READ_IDENTIFIER;
		break;
	case CMD_READ_QUERY:
		s->mode = PFLASH_READ_QUERY;
		break;
	case CMD_CLEAR_STATUS:
		s->status = 0; /* SR7 too: see the top of the file */
		s->mode = PFLASH_READ_ARRAY;
		break;
	case CMD_PROGRAM:
	case CMD_PROGRAM_ALTERNATE:
		s->mode = PFLASH_PROGRAM_SETUP;
		break;
	case CMD_ERASE_SETUP:
		s->mode = PFLASH_ERASE_SETUP;
		break;
	case CMD_LOCK_SETUP:
		s->mode = PFLASH_LOCK_SETUP;
		break;
	case CMD_WRITE_TO_BUFFER:
		s->status |= SR_READY; /* read as XSR7: the buffer is free */
		pflash_buffer_reset(s);
		s->mode = PFLASH_BUFFER_COUNT;
		break;
	default:
		pflash_guest_error(s, "unknown command 0x%02x, back to read array", cmd);
		s->mode = PFLASH_READ_ARRAY;
		break;
	}
}

/* ---- MMIO ---- */

/* Every access exits to here: there is no KVM memory slot over the flash.
 * The fast path to add is QEMU's "ROMD": a read-only slot over the contents
 * while in read-array mode, dropped on the first write (a command).  It can
 * wait: OVMF reads its variables mostly at start-up and through its runtime
 * cache afterwards, so these exits are few. */
static uint8_t pflash_read_byte(Pflash *s, uint64_t offset)
{
	if (offset >= s->size)
		return 0xff; /* a wide access past the end: nothing answers there */
	switch (s->mode) {
	case PFLASH_READ_ARRAY:
		return s->contents[offset];
	case PFLASH_READ_IDENTIFIER:
		/* 0 manufacturer, 1 device; block base + 2, the lock status, and
		 * everything else read 0. */
		if (offset == 0)
			return PFLASH_MANUFACTURER_INTEL;
		return offset == 1 ? PFLASH_DEVICE_CODE : 0;
	case PFLASH_READ_QUERY:
		return offset < CFI_TABLE_SIZE ? s->query[offset] : 0;
	default:
		return s->status;
	}
}

static uint64_t pflash_read(void *opaque, uint64_t offset, unsigned size)
{
	Pflash *s = opaque;
	uint64_t value = 0;

	for (unsigned i = 0; i < size; i++)
		value |= (uint64_t)pflash_read_byte(s, offset + i) << (8 * i);
	return value;
}

static void pflash_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	Pflash *s = opaque;
	uint8_t cmd = value & 0xff;

	switch (s->mode) {
	case PFLASH_PROGRAM_SETUP:
		pflash_program(s, offset, size, value);
		s->mode = PFLASH_READ_STATUS;
		break;
	case PFLASH_ERASE_SETUP:
		if (cmd != CMD_CONFIRM) {
			pflash_sequence_error(s, "block erase setup", cmd);
			break;
		}
		pflash_erase(s, offset);
		s->mode = PFLASH_READ_STATUS;
		break;
	case PFLASH_LOCK_SETUP:
		if (cmd != LOCK_SET && cmd != LOCK_CLEAR && cmd != LOCK_DOWN) {
			pflash_sequence_error(s, "block lock setup", cmd);
			break;
		}
		s->status |= SR_READY; /* accepted; blocks stay unlocked */
		s->mode = PFLASH_READ_STATUS;
		break;
	case PFLASH_BUFFER_COUNT:
		pflash_buffer_count(s, value);
		break;
	case PFLASH_BUFFER_DATA:
		pflash_buffer_data(s, offset, size, value);
		break;
	case PFLASH_BUFFER_CONFIRM:
		pflash_buffer_confirm(s, cmd);
		break;
	default:
		pflash_command(s, cmd);
		break;
	}
}

static const HgIoOps pflash_ops = {.read = pflash_read, .write = pflash_write};

/* ---- CFI query table ---- */

static void pflash_fill_query_table(Pflash *s)
{
	uint8_t *q = s->query;
	uint32_t blocks = s->size / HG_PFLASH_BLOCK_SIZE;
	unsigned size_shift = 0;

	while ((1ull << size_shift) < s->size)
		size_shift++;
	memset(q, 0, CFI_TABLE_SIZE);
	/* Identification: "QRY", primary command set 0001 and its extended
	 * table, no alternate set (0x17-0x1A stay 0). */
	q[0x10] = 'Q';
	q[0x11] = 'R';
	q[0x12] = 'Y';
	q[0x13] = 0x01;
	q[0x15] = CFI_EXTENDED_TABLE;
	/* System interface: Vcc 2.7-3.6 V, no Vpp pin; typical times 2^n
	 * (16 us byte, 256 us buffer, 1 s block erase, no chip erase) and
	 * maxima 2^4 times those.  Nothing waits that long here. */
	q[0x1b] = 0x27;
	q[0x1c] = 0x36;
	q[0x1f] = 4;
	q[0x20] = 8;
	q[0x21] = 10;
	q[0x23] = 4;
	q[0x24] = 4;
	q[0x25] = 4;
	/* Geometry: size 2^n, x8-only asynchronous interface (0x0000), write
	 * buffer 2^n bytes, one region of uniform blocks (count - 1, then the
	 * block size in units of 256 bytes). */
	q[0x27] = size_shift;
	q[0x2a] = PFLASH_BUFFER_SHIFT;
	q[0x2c] = 1;
	q[0x2d] = (blocks - 1) & 0xff;
	q[0x2e] = (blocks - 1) >> 8;
	q[0x2f] = (HG_PFLASH_BLOCK_SIZE >> 8) & 0xff;
	q[0x30] = HG_PFLASH_BLOCK_SIZE >> 16;
	/* Intel extended table 1.0: no optional features (chip erase, suspend,
	 * locking, page or synchronous reads), nothing after suspend, no block
	 * status bits, Vcc optimum 3.3 V, no Vpp, no protection registers. */
	q[0x31] = 'P';
	q[0x32] = 'R';
	q[0x33] = 'I';
	q[0x34] = '1';
	q[0x35] = '0';
	q[0x3d] = 0x33;
}

/* ---- Device class ---- */

static void pflash_reset(HgDevice *dev)
{
	Pflash *s = pflash_from_dev(dev);

	s->mode = PFLASH_READ_ARRAY;
	s->status = SR_READY;
	pflash_buffer_reset(s);
}

static GVariant *pflash_save(HgDevice *dev)
{
	Pflash *s = pflash_from_dev(dev);
	GVariantBuilder b;

	/* The contents live in the file; a saved machine needs them on disk. */
	pflash_sync(s);
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "size", g_variant_new_uint64(s->size));
	g_variant_builder_add(&b, "{sv}", "mode", g_variant_new_byte(s->mode));
	g_variant_builder_add(&b, "{sv}", "status", g_variant_new_byte(s->status));
	g_variant_builder_add(&b, "{sv}", "buffer-remaining",
			      g_variant_new_uint32(s->buffer_remaining));
	g_variant_builder_add(&b, "{sv}", "buffer-window", g_variant_new_uint64(s->buffer_window));
	g_variant_builder_add(&b, "{sv}", "buffer-failed", g_variant_new_boolean(s->buffer_failed));
	g_variant_builder_add(&b, "{sv}", "buffer", hg_bytes_variant(s->buffer, sizeof(s->buffer)));
	return g_variant_builder_end(&b);
}

static bool G_GNUC_PRINTF(3, 4) pflash_load_fail(Pflash *s, GError **error, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD, "%s: %s", s->dev.id, msg);
	return false;
}

static bool pflash_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	Pflash *s = pflash_from_dev(dev);
	uint64_t size, window;
	uint32_t remaining;
	uint8_t mode, status;
	bool failed;

	if (!hg_record_u64(r, "size", &size, error) || !hg_record_u8(r, "mode", &mode, error) ||
	    !hg_record_u8(r, "status", &status, error) ||
	    !hg_record_u32(r, "buffer-remaining", &remaining, error) ||
	    !hg_record_u64(r, "buffer-window", &window, error) ||
	    !hg_record_bool(r, "buffer-failed", &failed, error) ||
	    !hg_record_bytes(r, "buffer", s->buffer, sizeof(s->buffer), error)) {
		g_prefix_error(error, "%s: ", s->dev.id);
		return false;
	}
	if (size != s->size)
		return pflash_load_fail(s, error,
					"%s has %" G_GUINT64_FORMAT " bytes, the saved machine's "
					"variable store had %" G_GUINT64_FORMAT,
					s->path, s->size, size);
	if (mode >= PFLASH_N_MODES)
		return pflash_load_fail(s, error, "mode %u is not a flash mode", mode);
	if (status & ~SR_BITS_USED)
		return pflash_load_fail(s, error, "status 0x%02x has bits this flash never sets",
					status);
	if (remaining > PFLASH_BUFFER_SIZE)
		return pflash_load_fail(s, error,
					"buffer-remaining %u is more than the %u-byte "
					"buffer",
					remaining, PFLASH_BUFFER_SIZE);
	if (window != PFLASH_NO_WINDOW && (window % PFLASH_BUFFER_SIZE || window >= s->size))
		return pflash_load_fail(s, error,
					"buffer-window 0x%" G_GINT64_MODIFIER "x is not a "
					"buffer-aligned offset in the flash",
					window);
	if ((mode == PFLASH_BUFFER_DATA) != (remaining != 0) ||
	    (mode == PFLASH_BUFFER_CONFIRM && window == PFLASH_NO_WINDOW))
		return pflash_load_fail(s, error,
					"write to buffer progress disagrees with "
					"mode %u",
					mode);
	s->mode = mode;
	s->status = status;
	s->buffer_remaining = remaining;
	s->buffer_window = window;
	s->buffer_failed = failed;
	return true;
}

static void pflash_destroy(HgDevice *dev)
{
	Pflash *s = pflash_from_dev(dev);

	if (s->sync_source)
		g_source_remove(s->sync_source);
	if (s->fd >= 0) {
		pflash_sync(s);
		close(s->fd);
	}
	g_free(s->contents);
	g_free(s->erased_block);
	g_free(s->path);
	g_free(s);
}

const HgDeviceClass hg_pflash_cfi01_class = {
	.name = "pflash-cfi01",
	.bus = "system",
	.state_version = 1,
	.reset = pflash_reset,
	.save = pflash_save,
	.load = pflash_load,
	.destroy = pflash_destroy,
};

static bool pflash_open(Pflash *s, GError **error)
{
	struct stat st;
	struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	s->fd = open(s->path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
			    e == EACCES || e == EPERM || e == EROFS
				    ? "%s: the UEFI variable store is read-only to this engine: %s"
				    : "%s: cannot open the UEFI variable store: %s",
			    s->path, g_strerror(e));
		return false;
	}
	if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s: the UEFI variable store must be a regular file", s->path);
		return false;
	}
	/* Root opens anything read-write; the permission bits still say what
	 * the owner meant. */
	if (!(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_ACCES,
			    "%s: the UEFI variable store is read-only (its permissions allow no "
			    "writing); give a writable copy of OVMF_VARS",
			    s->path);
		return false;
	}
	if (st.st_size == 0 || st.st_size > HG_PFLASH_MAX_SIZE ||
	    st.st_size % HG_PFLASH_BLOCK_SIZE) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s: a UEFI variable store must be a whole number of %u-byte blocks, "
			    "at most 16 MiB (it has %lld bytes)",
			    s->path, HG_PFLASH_BLOCK_SIZE, (long long)st.st_size);
		return false;
	}
	if (fcntl(s->fd, F_OFD_SETLK, &lock) < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "%s: the UEFI variable store is in use by another engine (%s)", s->path,
			    g_strerror(errno));
		return false;
	}
	s->size = st.st_size;
	s->contents = g_malloc(s->size);
	for (size_t done = 0; done < s->size;) {
		ssize_t n = pread(s->fd, s->contents + done, s->size - done, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: cannot read: %s",
				    s->path, n < 0 ? g_strerror(errno) : "file shrank");
			return false;
		}
		done += n;
	}
	return true;
}

HgDevice *hg_pflash_cfi01_create(HgMachine *m, const char *id, const char *path, uint64_t end,
				 GError **error)
{
	Pflash *s = g_new0(Pflash, 1);

	hg_device_init(&s->dev, &hg_pflash_cfi01_class, m, id);
	s->fd = -1;
	s->path = g_strdup(path);
	if (!pflash_open(s, error))
		goto fail;
	if (s->size > end) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s: the UEFI variable store does not fit below 0x%" G_GINT64_MODIFIER
			    "x",
			    path, end);
		goto fail;
	}
	s->base = end - s->size;
	s->erased_block = g_malloc(HG_PFLASH_BLOCK_SIZE);
	memset(s->erased_block, 0xff, HG_PFLASH_BLOCK_SIZE);
	pflash_fill_query_table(s);
	pflash_reset(&s->dev);
	if (!hg_address_space_register(&m->mmio, s->base, s->size, &pflash_ops, s, id)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
			    "%s: the UEFI variable store at 0x%" G_GINT64_MODIFIER "x overlaps "
			    "another device",
			    path, s->base);
		goto fail;
	}
	hg_machine_add_device(m, &s->dev);
	return &s->dev;
fail:
	hg_device_free(&s->dev);
	return NULL;
}

uint64_t hg_pflash_cfi01_base(HgDevice *dev)
{
	return pflash_from_dev(dev)->base;
}

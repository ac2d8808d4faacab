/* Hyper-V's VHDX images, read-only: fixed and dynamic ones are imported
 * (converted to qcow2 by hg_block_convert) or used as a read-only backing
 * file, never written.
 *
 * From Microsoft's [MS-VHDX], all fields little-endian:
 * - 2.1 the file type identifier "vhdxfile" at 0; two headers (2.2.2) at
 *   64 and 128 KiB, "head", a CRC-32C of their 4 KiB (the checksum field
 *   taken as zero), the current one being the valid one with the higher
 *   sequence number; the region table (2.2.3) at 192 KiB (its copy at
 *   256 KiB), "regi", a CRC-32C of its 64 KiB, naming the BAT's and the
 *   metadata's regions by GUID.  A region marked required that is not
 *   known is refused, as the spec asks.
 * - 2.3 the log: when the current header's LogGuid is not zero the log may
 *   hold writes that were not yet made to the file; an image whose log has
 *   an entry with that GUID would need a replay (which writes), so it is
 *   refused: Hyper-V (or qemu-img check -r all) replays it when it opens
 *   the image.
 * - 2.6 the metadata table, "metadata": the block size and whether the
 *   disk has a parent (file parameters), the disk's size, the logical
 *   sector size.  Differencing disks (has parent) are refused.
 * - 2.5 the BAT: u64 entries, the state in bits 0-2 and the offset in MiB
 *   in bits 20-63; after each chunk of payload block entries (the chunk
 *   ratio: 2^23 sectors' worth of blocks) comes a sector bitmap entry,
 *   unused by fixed and dynamic disks.  Payload states: fully present (6)
 *   reads from the file; not present (0), undefined (1), zero (2) and
 *   unmapped (3) read as zeroes (2.5.1.1 lets a reader return zeroes for
 *   all four); partially present (7) exists only in differencing disks. */
#include "library/block/byte_order.h"
#include "library/block/block_driver.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB 1024u
#define MIB (1024u * 1024u)
#define VHDX_HEADER1 (64 * KIB)
#define VHDX_HEADER2 (128 * KIB)
#define VHDX_HEADER_SIZE (4 * KIB)
#define VHDX_REGION_TABLE (192 * KIB)
#define VHDX_REGION_TABLE_SIZE (64 * KIB)
#define VHDX_MAX_REGIONS 2047u
#define VHDX_METADATA_TABLE_SIZE (64 * KIB)
#define VHDX_MAX_METADATA_ENTRIES 2047u
#define VHDX_LOG_SECTOR (4 * KIB)
#define VHDX_MAX_LOG (1024u * MIB)
/* The spec's limits: blocks of 1 to 256 MiB, disks up to 64 TiB. */
#define VHDX_MIN_BLOCK_SIZE MIB
#define VHDX_MAX_BLOCK_SIZE (256u * MIB)
#define VHDX_MAX_DISK_SIZE (1ull << 46)
#define VHDX_STATE_MASK 7u
#define VHDX_PAYLOAD_NOT_PRESENT 0
#define VHDX_PAYLOAD_UNDEFINED 1
#define VHDX_PAYLOAD_ZERO 2
#define VHDX_PAYLOAD_UNMAPPED 3
#define VHDX_PAYLOAD_FULLY_PRESENT 6
#define VHDX_OFFSET_MASK (~(uint64_t)(MIB - 1))

/* GUIDs as they lie in the file (the first three fields little-endian). */
static const uint8_t guid_bat[16] = {0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
				     0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08};
static const uint8_t guid_metadata[16] = {0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
					  0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e};
static const uint8_t guid_file_parameters[16] = {0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
						 0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b};
static const uint8_t guid_disk_size[16] = {0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
					   0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8};
static const uint8_t guid_logical_sector[16] = {0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9, 0x09, 0x47,
						0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f};
static const uint8_t guid_physical_sector[16] = {0xc7, 0x48, 0xa3, 0xcd, 0x5d, 0x44, 0x71, 0x44,
						 0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56};
static const uint8_t guid_disk_id[16] = {0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45,
					 0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46};
static const uint8_t guid_parent_locator[16] = {0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
						0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c};

typedef struct {
	int fd;
	uint64_t *bat; /* in host order; payload entries only, sector bitmap ones left out */
	uint64_t blocks;
	unsigned block_bits;
} VhdxImage;

typedef struct {
	uint64_t file_size;
	uint64_t bat_offset, metadata_offset;
	uint32_t bat_length, metadata_length;
	uint32_t block_size, logical_sector;
	uint64_t disk_size;
} VhdxLayout;

/* CRC-32C (Castagnoli, reflected 0x82f63b78), the checksum field read as
 * zero. */
static uint32_t vhdx_crc32c(const uint8_t *p, size_t len, size_t checksum_at)
{
	static uint32_t table[256];
	static gsize table_ready;
	uint32_t crc = 0xffffffffu;

	if (g_once_init_enter(&table_ready)) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
		g_once_init_leave(&table_ready, 1);
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t byte = i >= checksum_at && i < checksum_at + 4 ? 0 : p[i];
		crc = table[(crc ^ byte) & 0xff] ^ (crc >> 8);
	}
	return ~crc;
}

G_GNUC_PRINTF(3, 4)
static bool vhdx_error(HgBlockBackend *blk, GError **error, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a valid VHDX image: %s",
		    blk->path, message);
	return false;
}

static bool vhdx_read(HgBlockBackend *blk, int fd, uint64_t offset, void *buf, size_t len,
		      const char *what, GError **error)
{
	int r = hg_block_fd_pread(fd, offset, buf, len);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r),
			    "cannot read %s of %s: %s", what, blk->path, g_strerror(-r));
		return false;
	}
	return true;
}

static bool in_file(const VhdxLayout *l, uint64_t offset, uint64_t len)
{
	return offset <= l->file_size && len <= l->file_size - offset;
}

/* A log entry carrying the header's LogGuid: writes that may be missing
 * from the file.  Entries start on 4 KiB boundaries of the log. */
static bool vhdx_log_has_entries(HgBlockBackend *blk, int fd, const VhdxLayout *l,
				 const uint8_t *header, bool *pending, GError **error)
{
	static const uint8_t zero_guid[16];
	uint64_t log_offset = hg_le64_at(header + 72);
	uint32_t log_length = hg_le32_at(header + 68);
	uint8_t sector[64];

	*pending = false;
	if (memcmp(header + 48, zero_guid, 16) == 0)
		return true;
	if (log_length > VHDX_MAX_LOG || log_length % MIB || log_offset % MIB ||
	    !in_file(l, log_offset, log_length))
		return vhdx_error(blk, error,
				  "the log (%u bytes at %" G_GUINT64_FORMAT
				  ") is not whole MiB inside the file",
				  log_length, log_offset);
	for (uint64_t at = 0; at < log_length; at += VHDX_LOG_SECTOR) {
		if (!vhdx_read(blk, fd, log_offset + at, sector, sizeof(sector), "the log", error))
			return false;
		if (memcmp(sector, "loge", 4) == 0 && memcmp(sector + 32, header + 48, 16) == 0) {
			*pending = true;
			return true;
		}
	}
	return true;
}

/* The current header (2.2.2.1): valid, the higher sequence number. */
static bool vhdx_read_header(HgBlockBackend *blk, int fd, uint8_t *header, GError **error)
{
	uint8_t h[2][VHDX_HEADER_SIZE];
	bool valid[2];
	const uint64_t at[2] = {VHDX_HEADER1, VHDX_HEADER2};

	for (int i = 0; i < 2; i++) {
		if (!vhdx_read(blk, fd, at[i], h[i], VHDX_HEADER_SIZE, "a header", error))
			return false;
		valid[i] = memcmp(h[i], "head", 4) == 0 &&
			   hg_le32_at(h[i] + 4) == vhdx_crc32c(h[i], VHDX_HEADER_SIZE, 4);
	}
	if (!valid[0] && !valid[1])
		return vhdx_error(blk, error,
				  "neither header is valid (signature \"head\", "
				  "CRC-32C)");
	int cur = !valid[0] || (valid[1] && hg_le64_at(h[1] + 8) > hg_le64_at(h[0] + 8));
	memcpy(header, h[cur], VHDX_HEADER_SIZE);
	if (hg_le16_at(header + 66) != 1) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: VHDX version %u is not supported (only 1)", blk->path,
			    hg_le16_at(header + 66));
		return false;
	}
	return true;
}

/* The region table: where the BAT and the metadata are. */
static bool vhdx_read_regions(HgBlockBackend *blk, int fd, VhdxLayout *l, GError **error)
{
	g_autofree uint8_t *t = g_malloc(VHDX_REGION_TABLE_SIZE);
	uint32_t count;
	bool have_bat = false, have_metadata = false;

	if (!vhdx_read(blk, fd, VHDX_REGION_TABLE, t, VHDX_REGION_TABLE_SIZE, "the region table",
		       error))
		return false;
	if (memcmp(t, "regi", 4) != 0 ||
	    hg_le32_at(t + 4) != vhdx_crc32c(t, VHDX_REGION_TABLE_SIZE, 4)) {
		/* The copy: the table's writer may have stopped mid-way. */
		if (!vhdx_read(blk, fd, VHDX_REGION_TABLE + VHDX_REGION_TABLE_SIZE, t,
			       VHDX_REGION_TABLE_SIZE, "the region table", error))
			return false;
		if (memcmp(t, "regi", 4) != 0 ||
		    hg_le32_at(t + 4) != vhdx_crc32c(t, VHDX_REGION_TABLE_SIZE, 4))
			return vhdx_error(blk, error,
					  "neither region table is valid (signature \"regi\", "
					  "CRC-32C)");
	}
	count = hg_le32_at(t + 8);
	if (count > VHDX_MAX_REGIONS)
		return vhdx_error(blk, error, "%u regions (at most %u)", count, VHDX_MAX_REGIONS);
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = t + 16 + 32 * i;
		uint64_t offset = hg_le64_at(e + 16);
		uint32_t length = hg_le32_at(e + 24);
		bool required = hg_le32_at(e + 28) & 1;

		if (memcmp(e, guid_bat, 16) == 0 && !have_bat) {
			have_bat = true;
			l->bat_offset = offset;
			l->bat_length = length;
		} else if (memcmp(e, guid_metadata, 16) == 0 && !have_metadata) {
			have_metadata = true;
			l->metadata_offset = offset;
			l->metadata_length = length;
		} else if (required) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "%s: the VHDX image has a required region that Hangar does "
				    "not know (or one twice)",
				    blk->path);
			return false;
		}
	}
	if (!have_bat || !have_metadata)
		return vhdx_error(blk, error, "the region table names no %s region",
				  have_bat ? "metadata" : "BAT");
	if (l->bat_offset % MIB || l->metadata_offset % MIB || l->bat_offset < MIB ||
	    l->metadata_offset < MIB || !in_file(l, l->bat_offset, l->bat_length) ||
	    !in_file(l, l->metadata_offset, l->metadata_length) ||
	    l->metadata_length < VHDX_METADATA_TABLE_SIZE)
		return vhdx_error(blk, error,
				  "the BAT (%u bytes at %" G_GUINT64_FORMAT
				  ") or the metadata (%u bytes at %" G_GUINT64_FORMAT
				  ") is not MiB-aligned inside the file",
				  l->bat_length, l->bat_offset, l->metadata_length,
				  l->metadata_offset);
	return true;
}

/* One metadata item's value, checked to lie inside the metadata region. */
static bool vhdx_item(HgBlockBackend *blk, int fd, const VhdxLayout *l, const uint8_t *entry,
		      void *value, uint32_t len, GError **error)
{
	uint32_t offset = hg_le32_at(entry + 16), length = hg_le32_at(entry + 20);

	if (length < len || offset < VHDX_METADATA_TABLE_SIZE || offset > l->metadata_length ||
	    length > l->metadata_length - offset)
		return vhdx_error(blk, error,
				  "a metadata item (%u bytes at %u) is outside the metadata region",
				  length, offset);
	return vhdx_read(blk, fd, l->metadata_offset + offset, value, len, "the metadata", error);
}

static bool vhdx_read_metadata(HgBlockBackend *blk, int fd, VhdxLayout *l, GError **error)
{
	g_autofree uint8_t *t = g_malloc(VHDX_METADATA_TABLE_SIZE);
	uint8_t v[8];
	uint32_t flags = 0;
	uint16_t count;
	unsigned found = 0;

	if (!vhdx_read(blk, fd, l->metadata_offset, t, VHDX_METADATA_TABLE_SIZE,
		       "the metadata table", error))
		return false;
	if (memcmp(t, "metadata", 8) != 0)
		return vhdx_error(blk, error, "no metadata table (\"metadata\")");
	count = hg_le16_at(t + 10);
	if (count > VHDX_MAX_METADATA_ENTRIES)
		return vhdx_error(blk, error, "%u metadata items (at most %u)", count,
				  VHDX_MAX_METADATA_ENTRIES);
	for (uint16_t i = 0; i < count; i++) {
		const uint8_t *e = t + 32 + 32 * i;
		bool required = hg_le32_at(e + 24) & 4;

		if (memcmp(e, guid_file_parameters, 16) == 0) {
			if (!vhdx_item(blk, fd, l, e, v, 8, error))
				return false;
			l->block_size = hg_le32_at(v);
			flags = hg_le32_at(v + 4);
			found |= 1;
		} else if (memcmp(e, guid_disk_size, 16) == 0) {
			if (!vhdx_item(blk, fd, l, e, v, 8, error))
				return false;
			l->disk_size = hg_le64_at(v);
			found |= 2;
		} else if (memcmp(e, guid_logical_sector, 16) == 0) {
			if (!vhdx_item(blk, fd, l, e, v, 4, error))
				return false;
			l->logical_sector = hg_le32_at(v);
			found |= 4;
		} else if (memcmp(e, guid_parent_locator, 16) == 0) {
			flags |= 2;
		} else if (required && memcmp(e, guid_physical_sector, 16) != 0 &&
			   memcmp(e, guid_disk_id, 16) != 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "%s: the VHDX image has a required metadata item that "
				    "Hangar does not know",
				    blk->path);
			return false;
		}
	}
	if (flags & 2) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s is a differencing VHDX image: it holds only the changes to its "
			    "parent image, which Hangar does not open; merge it into its parent "
			    "first (Hyper-V's Edit Disk, or qemu-img convert) and import the "
			    "result",
			    blk->path);
		return false;
	}
	if (found != 7)
		return vhdx_error(blk, error, "the metadata lacks the %s",
				  !(found & 1)	 ? "file parameters"
				  : !(found & 2) ? "virtual disk size"
						 : "logical sector size");
	if (l->block_size < VHDX_MIN_BLOCK_SIZE || l->block_size > VHDX_MAX_BLOCK_SIZE ||
	    (l->block_size & (l->block_size - 1)))
		return vhdx_error(blk, error,
				  "block size %u is not a power of two from 1 MiB to 256 MiB",
				  l->block_size);
	if (l->logical_sector != 512 && l->logical_sector != 4096)
		return vhdx_error(blk, error, "logical sector size %u (512 or 4096)",
				  l->logical_sector);
	if (l->disk_size == 0 || l->disk_size > VHDX_MAX_DISK_SIZE)
		return vhdx_error(blk, error,
				  "disk size %" G_GUINT64_FORMAT " is outside 1 byte..64 TiB",
				  l->disk_size);
	return true;
}

/* The BAT's payload entries; each fully present block inside the file. */
static bool vhdx_read_bat(HgBlockBackend *blk, VhdxImage *vhdx, const VhdxLayout *l, GError **error)
{
	/* Blocks per chunk: 2^23 sectors; at least 16 (4 KiB sectors and
	 * 256 MiB blocks), so no division by zero. */
	uint64_t chunk_ratio = ((uint64_t)l->logical_sector << 23) / l->block_size;
	uint64_t entries, block_size = l->block_size;
	g_autofree uint64_t *raw = NULL;

	vhdx->block_bits = g_bit_nth_lsf(l->block_size, -1);
	vhdx->blocks = (l->disk_size + block_size - 1) >> vhdx->block_bits;
	entries = vhdx->blocks + (vhdx->blocks - 1) / chunk_ratio;
	if (entries * 8 > l->bat_length)
		return vhdx_error(blk, error,
				  "the BAT region (%u bytes) is smaller than the %" G_GUINT64_FORMAT
				  " entries the disk needs",
				  l->bat_length, entries);
	/* At most 2^26 payload blocks (64 TiB in 1 MiB blocks): 512 MiB,
	 * and never more than the file holds. */
	raw = g_try_new(uint64_t, entries);
	vhdx->bat = g_try_new(uint64_t, vhdx->blocks);
	if (!raw || !vhdx->bat) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "%s: no memory for a BAT of %" G_GUINT64_FORMAT " entries", blk->path,
			    entries);
		return false;
	}
	if (!vhdx_read(blk, vhdx->fd, l->bat_offset, raw, entries * 8, "the BAT", error))
		return false;
	for (uint64_t i = 0; i < vhdx->blocks; i++) {
		uint64_t entry = GUINT64_FROM_LE(raw[i + i / chunk_ratio]);
		unsigned state = entry & VHDX_STATE_MASK;
		uint64_t at = entry & VHDX_OFFSET_MASK;
		uint64_t used = MIN(block_size, l->disk_size - (i << vhdx->block_bits));

		vhdx->bat[i] = entry;
		if (state <= VHDX_PAYLOAD_UNMAPPED)
			continue;
		if (state != VHDX_PAYLOAD_FULLY_PRESENT)
			return vhdx_error(blk, error, "block %" G_GUINT64_FORMAT " has state %u", i,
					  state);
		if (at < MIB || !in_file(l, at, used))
			return vhdx_error(blk, error,
					  "block %" G_GUINT64_FORMAT " is at %" G_GUINT64_FORMAT
					  ", outside the file (%" G_GUINT64_FORMAT " bytes)",
					  i, at, l->file_size);
	}
	return true;
}

static bool vhdx_open(HgBlockBackend *blk, int fd, HgBlockChain *chain, GError **error)
{
	uint8_t header[VHDX_HEADER_SIZE], id[8];
	VhdxLayout layout = {0};
	struct stat st;
	bool pending;

	(void)chain;
	if (!hg_block_read_only_open(blk, fd, "VHDX", &st, error))
		return false;
	layout.file_size = st.st_size;
	if (layout.file_size < VHDX_REGION_TABLE + 2 * VHDX_REGION_TABLE_SIZE)
		return vhdx_error(blk, error,
				  "the file is shorter than the VHDX headers (320 KiB)");
	if (!vhdx_read(blk, fd, 0, id, sizeof(id), "the identifier", error))
		return false;
	if (memcmp(id, "vhdxfile", 8) != 0)
		return vhdx_error(blk, error, "no identifier (\"vhdxfile\") at its start");
	if (!vhdx_read_header(blk, fd, header, error) ||
	    !vhdx_log_has_entries(blk, fd, &layout, header, &pending, error))
		return false;
	if (pending) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: the VHDX image's log holds writes not yet made to the file (it "
			    "was not closed cleanly); open it once in Hyper-V, or run qemu-img "
			    "check -r all on it, to replay them, then import it",
			    blk->path);
		return false;
	}
	if (!vhdx_read_regions(blk, fd, &layout, error) ||
	    !vhdx_read_metadata(blk, fd, &layout, error))
		return false;
	VhdxImage *vhdx = g_new0(VhdxImage, 1);
	vhdx->fd = fd;
	if (!vhdx_read_bat(blk, vhdx, &layout, error)) {
		g_free(vhdx->bat);
		g_free(vhdx);
		return false;
	}
	blk->state = vhdx;
	blk->size = layout.disk_size;
	return true;
}

static void vhdx_close(HgBlockBackend *blk)
{
	VhdxImage *vhdx = blk->state;

	close(vhdx->fd);
	g_free(vhdx->bat);
	g_free(vhdx);
}

/* Where block index lies in the file; blocks not fully present read as zeroes. */
static bool vhdx_locate(const void *state, uint64_t index, uint64_t *file_offset)
{
	const VhdxImage *vhdx = state;
	uint64_t entry = vhdx->bat[index];

	if ((entry & VHDX_STATE_MASK) != VHDX_PAYLOAD_FULLY_PRESENT)
		return false;
	*file_offset = entry & VHDX_OFFSET_MASK;
	return true;
}

static int vhdx_readv(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	VhdxImage *vhdx = blk->state;

	return hg_block_read_blocks(vhdx->fd, vhdx->block_bits, vhdx_locate, vhdx, offset, iov,
				    iovcnt);
}

static uint64_t vhdx_allocated_bytes(HgBlockBackend *blk)
{
	VhdxImage *vhdx = blk->state;
	return hg_block_fd_allocated_bytes(vhdx->fd);
}

const HgBlockDriver hg_block_vhdx_driver = {
	.format_name = "vhdx",
	.open = vhdx_open,
	.close = vhdx_close,
	.readv = vhdx_readv,
	.writev = hg_block_read_only_writev,
	.flush = hg_block_read_only_flush,
	.discard = hg_block_read_only_discard,
	.write_zeroes = hg_block_read_only_write_zeroes,
	.allocated_bytes = vhdx_allocated_bytes,
};

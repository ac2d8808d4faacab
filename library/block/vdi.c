/* VirtualBox disk images (VDI), read-only: images are imported (converted
 * to qcow2 by hg_block_convert) or used as a read-only backing file, never
 * written.
 *
 * The layout, from VirtualBox's VDI header (version 1.1), little-endian:
 *   0x000  64 bytes of text ("<<< Oracle VM VirtualBox Disk Image >>>\n",
 *          "<<< Sun xVM ...", "<<< innotek ...", "<<< QEMU ..."): not checked
 *   0x040  signature 0xbeda107f            0x044  version (major << 16 | minor)
 *   0x048  header size (from 0x48)         0x04c  image type (1 dynamic,
 *          2 fixed, 3 undo, 4 differencing)
 *   0x154  block map offset                0x158  data offset
 *   0x170  disk size (u64)                 0x178  block size
 *   0x17c  per-block extra bytes (before each block's data)
 *   0x180  blocks in the image             0x184  blocks allocated
 * The block map holds one u32 per block: the index of its slot in the data
 * area (slot i at data offset + i * (extra + block size), its data after
 * the extra bytes), 0xffffffff for a block never written, 0xfffffffe for a
 * block that reads as zeroes.  Fixed images have every block allocated, in
 * order, so a long read is one pread.
 *
 * Nothing in the file is trusted: sizes are checked against limits and
 * every allocated entry against the file's size on open, so reads only
 * meet holes, zeroes and data inside the file. */
#include "library/block/byte_order.h"
#include "library/block/block_driver.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VDI_SIGNATURE 0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_HEADER_START 0x48
/* VirtualBox's version 1.1 header, 0x48 to 0x1c8; "1.1 plus" adds the
 * logical geometry, 16 bytes more. */
#define VDI_MIN_HEADER_SIZE 0x180u
#define VDI_TYPE_DYNAMIC 1
#define VDI_TYPE_FIXED 2
#define VDI_TYPE_UNDO 3
#define VDI_TYPE_DIFFERENCING 4
#define VDI_BLOCK_FREE 0xffffffffu
#define VDI_BLOCK_ZERO 0xfffffffeu
/* Limits that keep a hostile header from costing much: 512 bytes to
 * 256 MiB blocks (VirtualBox makes 1 MiB ones), disks up to 64 TiB, a
 * block map of at most 2^26 entries (256 MiB: 64 TiB of 1 MiB blocks). */
#define VDI_MIN_BLOCK_SIZE 512u
#define VDI_MAX_BLOCK_SIZE (256u << 20)
#define VDI_MAX_DISK_SIZE (1ull << 46)
#define VDI_MAX_BLOCKS (1u << 26)

typedef struct {
	int fd;
	uint32_t *map; /* in host order */
	uint32_t blocks;
	unsigned block_bits;
	uint64_t data_offset; /* of slot 0's data: the data area plus the extra bytes */
	uint64_t slot_size; /* extra bytes + block size */
} VdiImage;

G_GNUC_PRINTF(3, 4)
static bool vdi_error(HgBlockBackend *blk, GError **error, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a valid VDI image: %s",
		    blk->path, message);
	return false;
}

static void vdi_free(VdiImage *vdi)
{
	g_free(vdi->map);
	g_free(vdi);
}

/* The header's fields that matter here, checked; fills vdi and *disk_size. */
static bool vdi_read_header(HgBlockBackend *blk, VdiImage *vdi, uint64_t file_size,
			    uint64_t *disk_size, uint64_t *map_offset, GError **error)
{
	uint8_t h[VDI_HEADER_START + VDI_MIN_HEADER_SIZE];
	uint32_t version, header_size, type, block_size, extra, data_offset;
	int r;

	if (file_size < sizeof(h))
		return vdi_error(blk, error, "the file is shorter than a VDI header (%zu bytes)",
				 sizeof(h));
	r = hg_block_fd_pread(vdi->fd, 0, h, sizeof(h));
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "cannot read %s: %s",
			    blk->path, g_strerror(-r));
		return false;
	}
	if (hg_le32_at(h + 0x40) != VDI_SIGNATURE)
		return vdi_error(blk, error, "no VDI signature at offset 0x40");
	version = hg_le32_at(h + 0x44);
	if (version != VDI_VERSION_1_1) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: VDI version %u.%u is not supported (only 1.1, what VirtualBox "
			    "has written since 2008)",
			    blk->path, version >> 16, version & 0xffff);
		return false;
	}
	header_size = hg_le32_at(h + 0x48);
	type = hg_le32_at(h + 0x4c);
	*map_offset = hg_le32_at(h + 0x154);
	data_offset = hg_le32_at(h + 0x158);
	*disk_size = hg_le64_at(h + 0x170);
	block_size = hg_le32_at(h + 0x178);
	extra = hg_le32_at(h + 0x17c);
	vdi->blocks = hg_le32_at(h + 0x180);

	if (type == VDI_TYPE_DIFFERENCING || type == VDI_TYPE_UNDO) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s is a %s VDI image: it holds only the changes to its parent "
			    "image, which Hangar does not open; import the image VirtualBox "
			    "shows as the disk's current state after merging (or cloning) it "
			    "there",
			    blk->path, type == VDI_TYPE_UNDO ? "undo" : "differencing");
		return false;
	}
	if (type != VDI_TYPE_DYNAMIC && type != VDI_TYPE_FIXED)
		return vdi_error(blk, error, "unknown image type %u", type);
	if (header_size < VDI_MIN_HEADER_SIZE || header_size > file_size - VDI_HEADER_START)
		return vdi_error(blk, error, "header size %u is outside %u..the file's size",
				 header_size, VDI_MIN_HEADER_SIZE);
	if (block_size < VDI_MIN_BLOCK_SIZE || block_size > VDI_MAX_BLOCK_SIZE ||
	    (block_size & (block_size - 1)))
		return vdi_error(blk, error,
				 "block size %u is not a power of two from %u bytes to %u MiB",
				 block_size, VDI_MIN_BLOCK_SIZE, VDI_MAX_BLOCK_SIZE >> 20);
	if (extra > block_size)
		return vdi_error(blk, error, "%u extra bytes per block (more than a block)", extra);
	if (*disk_size == 0 || *disk_size > VDI_MAX_DISK_SIZE)
		return vdi_error(blk, error,
				 "disk size %" G_GUINT64_FORMAT " is outside 1 byte..64 TiB",
				 *disk_size);
	vdi->block_bits = g_bit_nth_lsf(block_size, -1);
	uint64_t needed = (*disk_size + block_size - 1) >> vdi->block_bits;
	if (vdi->blocks < needed || vdi->blocks > VDI_MAX_BLOCKS)
		return vdi_error(blk, error,
				 "%u blocks of %u bytes for a disk of %" G_GUINT64_FORMAT
				 " bytes (it needs %" G_GUINT64_FORMAT ", at most %u)",
				 vdi->blocks, block_size, *disk_size, needed, VDI_MAX_BLOCKS);
	if (*map_offset < VDI_HEADER_START + (uint64_t)header_size || *map_offset > file_size ||
	    (uint64_t)vdi->blocks * 4 > file_size - *map_offset)
		return vdi_error(blk, error,
				 "the block map (%u entries at %" G_GUINT64_FORMAT
				 ") is not between the header and the end of the file",
				 vdi->blocks, *map_offset);
	if (data_offset < VDI_HEADER_START + (uint64_t)header_size || data_offset > file_size)
		return vdi_error(blk, error,
				 "the data area (at %u) is not between the header and the end "
				 "of the file",
				 data_offset);
	vdi->slot_size = (uint64_t)extra + block_size;
	vdi->data_offset = (uint64_t)data_offset + extra;
	return true;
}

/* Reads the block map; every allocated entry must name a slot inside the
 * file (for the last block, the part of it inside the disk). */
static bool vdi_read_map(HgBlockBackend *blk, VdiImage *vdi, uint64_t file_size, uint64_t disk_size,
			 uint64_t map_offset, GError **error)
{
	uint64_t block_size = 1ull << vdi->block_bits;
	int r;

	vdi->map = g_try_new(uint32_t, MAX(vdi->blocks, 1));
	if (!vdi->map) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "%s: no memory for a block map of %u entries", blk->path, vdi->blocks);
		return false;
	}
	r = hg_block_fd_pread(vdi->fd, map_offset, vdi->map, (size_t)vdi->blocks * 4);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r),
			    "cannot read the block map of %s: %s", blk->path, g_strerror(-r));
		return false;
	}
	for (uint32_t i = 0; i < vdi->blocks; i++) {
		uint32_t entry = GUINT32_FROM_LE(vdi->map[i]);
		vdi->map[i] = entry;
		if (entry == VDI_BLOCK_FREE || entry == VDI_BLOCK_ZERO)
			continue;
		uint64_t start = (uint64_t)i << vdi->block_bits;
		uint64_t used = start < disk_size ? MIN(block_size, disk_size - start) : 0;
		/* At most 2^32 slots of at most 512 MiB: no overflow. */
		uint64_t at = vdi->data_offset + entry * vdi->slot_size;
		if (at > file_size || used > file_size - at)
			return vdi_error(blk, error,
					 "block %u is at %" G_GUINT64_FORMAT
					 ", past the end of the file (%" G_GUINT64_FORMAT " bytes)",
					 i, at, file_size);
	}
	return true;
}

static bool vdi_open(HgBlockBackend *blk, int fd, HgBlockChain *chain, GError **error)
{
	uint64_t disk_size = 0, map_offset = 0;
	struct stat st;

	(void)chain;
	if (!hg_block_read_only_open(blk, fd, "VDI", &st, error))
		return false;
	VdiImage *vdi = g_new0(VdiImage, 1);
	vdi->fd = fd;
	if (!vdi_read_header(blk, vdi, st.st_size, &disk_size, &map_offset, error) ||
	    !vdi_read_map(blk, vdi, st.st_size, disk_size, map_offset, error)) {
		vdi_free(vdi);
		return false;
	}
	blk->state = vdi;
	blk->size = disk_size;
	return true;
}

static void vdi_close(HgBlockBackend *blk)
{
	VdiImage *vdi = blk->state;

	close(vdi->fd);
	vdi_free(vdi);
}

/* Where block index lies in the file; free and zero blocks read as zeroes. */
static bool vdi_locate(const void *state, uint64_t index, uint64_t *file_offset)
{
	const VdiImage *vdi = state;
	uint32_t entry = vdi->map[index];

	if (entry == VDI_BLOCK_FREE || entry == VDI_BLOCK_ZERO)
		return false;
	*file_offset = vdi->data_offset + entry * vdi->slot_size;
	return true;
}

static int vdi_readv(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	VdiImage *vdi = blk->state;

	return hg_block_read_blocks(vdi->fd, vdi->block_bits, vdi_locate, vdi, offset, iov, iovcnt);
}

static uint64_t vdi_allocated_bytes(HgBlockBackend *blk)
{
	VdiImage *vdi = blk->state;
	return hg_block_fd_allocated_bytes(vdi->fd);
}

const HgBlockDriver hg_block_vdi_driver = {
	.format_name = "vdi",
	.open = vdi_open,
	.close = vdi_close,
	.readv = vdi_readv,
	.writev = hg_block_read_only_writev,
	.flush = hg_block_read_only_flush,
	.discard = hg_block_read_only_discard,
	.write_zeroes = hg_block_read_only_write_zeroes,
	.allocated_bytes = vdi_allocated_bytes,
};

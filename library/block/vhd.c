/* Virtual PC / Hyper-V disk images (VHD), read-only: images are imported
 * (converted to qcow2 by hg_block_convert) or used as a read-only backing
 * file, never written.  The format is named "vpc", as QEMU names it, so a
 * qcow2 overlay on a VHD records a backing format that qemu-img knows.
 *
 * From Microsoft's "Virtual Hard Disk Image Format Specification" (1.0),
 * all fields big-endian:
 * - the footer, 512 bytes at the end of the file ("Hard Disk Footer
 *   Format"): cookie "conectix", version 1.0 at 12, the dynamic header's
 *   offset at 16, current size at 48, CHS geometry at 56, disk type at 60
 *   (2 fixed, 3 dynamic, 4 differencing), checksum at 64: the ones'
 *   complement of the sum of the footer's bytes, the checksum's own left
 *   out.  Dynamic disks keep a copy of it in their first 512 bytes.
 * - fixed disks: the data, then the footer.
 * - dynamic disks ("Dynamic Disk Header Format"): the 1024-byte header
 *   "cxsparse" with the BAT's offset at 16, version 1.0 at 24, its number
 *   of entries at 28, the block size at 32 and a checksum at 36 made like
 *   the footer's; the BAT holds a sector number per block, 0xffffffff for
 *   a block never written.  A block starts with a bitmap, a bit per sector
 *   (most significant bit first) rounded up to whole sectors, then the
 *   data; a clear bit means the sector was never written: it reads as
 *   zeroes.
 * - differencing disks need their parent: refused.
 *
 * The size is the footer's current size, not the CHS geometry's product:
 * Hyper-V sets the two apart, and qemu-img (unless -o force_size=on) makes
 * the current size the geometry's, rounding the size asked for up.
 *
 * Images older than Virtual PC 2004 have a 511-byte footer: not handled
 * (they open as raw). */
#include "library/block/byte_order.h"
#include "library/block/block_driver.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VHD_SECTOR 512u
#define VHD_FOOTER_SIZE 512u
#define VHD_DYNAMIC_HEADER_SIZE 1024u
#define VHD_VERSION_1_0 0x00010000u
#define VHD_TYPE_FIXED 2
#define VHD_TYPE_DYNAMIC 3
#define VHD_TYPE_DIFFERENCING 4
#define VHD_BLOCK_FREE 0xffffffffu
/* Limits that keep a hostile header from costing much: blocks of 4 KiB to
 * 256 MiB (Hyper-V and QEMU make 2 MiB ones, Virtual PC 512 KiB), disks up
 * to 64 TiB (the spec stops at 2040 GiB), a BAT of at most 2^26 entries
 * (256 MiB). */
#define VHD_MIN_BLOCK_SIZE 4096u
#define VHD_MAX_BLOCK_SIZE (256u << 20)
#define VHD_MAX_DISK_SIZE (1ull << 46)
#define VHD_MAX_BAT_ENTRIES (1u << 26)
/* Bitmaps are read at most this many bytes at a time (4096 sectors). */
#define VHD_BITMAP_CHUNK 512u

typedef struct {
	int fd;
	bool dynamic;
	/* Dynamic disks: */
	uint32_t *bat; /* in host order, in sectors */
	uint32_t bat_entries; /* the disk's blocks */
	unsigned block_bits;
	uint32_t bitmap_size; /* bytes before each block's data */
} VhdImage;

/* The ones' complement of the byte sum, the 4 checksum bytes left out. */
static uint32_t vhd_checksum(const uint8_t *p, size_t len, size_t checksum_at)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < len; i++)
		if (i < checksum_at || i >= checksum_at + 4)
			sum += p[i];
	return ~sum;
}

static bool footer_valid(const uint8_t *f)
{
	uint32_t type = hg_be32_at(f + 60);
	return memcmp(f, "conectix", 8) == 0 && hg_be32_at(f + 64) == vhd_checksum(f, 512, 64) &&
	       type >= VHD_TYPE_FIXED && type <= VHD_TYPE_DIFFERENCING;
}

bool hg_block_vhd_probe(const uint8_t *head, size_t head_len, const uint8_t *tail)
{
	if (head_len >= 8 && memcmp(head, "conectix", 8) == 0)
		return true;
	/* A fixed disk: its footer ends the file, with a checksum, so a raw
	 * disk is not taken for one by chance. */
	return tail && footer_valid(tail);
}

G_GNUC_PRINTF(3, 4)
static bool vhd_error(HgBlockBackend *blk, GError **error, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a valid VHD image: %s",
		    blk->path, message);
	return false;
}

static bool vhd_read_error(HgBlockBackend *blk, int r, const char *what, GError **error)
{
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "cannot read %s of %s: %s", what,
		    blk->path, g_strerror(-r));
	return false;
}

static void vhd_free(VhdImage *vhd)
{
	g_free(vhd->bat);
	g_free(vhd);
}

/* The footer to trust: the one ending the file; for a dynamic disk whose
 * last footer is damaged or missing (a writer stopped while it was
 * moving it), the copy at the start. */
static bool vhd_read_footer(HgBlockBackend *blk, VhdImage *vhd, uint64_t file_size, uint8_t *footer,
			    GError **error)
{
	uint8_t head[VHD_FOOTER_SIZE];
	int r;

	if (file_size < VHD_FOOTER_SIZE)
		return vhd_error(blk, error, "the file is shorter than a footer (512 bytes)");
	r = hg_block_fd_pread(vhd->fd, file_size - VHD_FOOTER_SIZE, footer, VHD_FOOTER_SIZE);
	if (r < 0)
		return vhd_read_error(blk, r, "the footer", error);
	if (footer_valid(footer))
		return true;
	r = hg_block_fd_pread(vhd->fd, 0, head, sizeof(head));
	if (r < 0)
		return vhd_read_error(blk, r, "the footer", error);
	if (memcmp(head, "conectix", 8) == 0 && footer_valid(head) &&
	    hg_be32_at(head + 60) != VHD_TYPE_FIXED) {
		memcpy(footer, head, VHD_FOOTER_SIZE);
		return true;
	}
	/* Say what is wrong with the copy a reader would expect. */
	const uint8_t *f = memcmp(footer, "conectix", 8) == 0 ? footer : head;
	if (memcmp(f, "conectix", 8) != 0)
		return vhd_error(blk, error, "no footer (\"conectix\") at its end or start");
	if (hg_be32_at(f + 64) != vhd_checksum(f, 512, 64))
		return vhd_error(blk, error,
				 "the footer's checksum is 0x%08x, its content sums to 0x%08x",
				 hg_be32_at(f + 64), vhd_checksum(f, 512, 64));
	return vhd_error(blk, error, "unknown disk type %u", hg_be32_at(f + 60));
}

/* The dynamic disk header and the BAT; every allocated block (its bitmap
 * and the part of its data inside the disk) must lie inside the file. */
static bool vhd_open_dynamic(HgBlockBackend *blk, VhdImage *vhd, uint64_t file_size,
			     uint64_t disk_size, uint64_t header_offset, GError **error)
{
	uint8_t h[VHD_DYNAMIC_HEADER_SIZE];
	uint64_t bat_offset;
	uint32_t version, entries, block_size;
	int r;

	if (header_offset < VHD_FOOTER_SIZE || header_offset > file_size ||
	    file_size - header_offset < sizeof(h))
		return vhd_error(blk, error,
				 "the dynamic disk header's offset %" G_GUINT64_FORMAT
				 " is outside the file",
				 header_offset);
	r = hg_block_fd_pread(vhd->fd, header_offset, h, sizeof(h));
	if (r < 0)
		return vhd_read_error(blk, r, "the dynamic disk header", error);
	if (memcmp(h, "cxsparse", 8) != 0)
		return vhd_error(blk, error,
				 "no dynamic disk header (\"cxsparse\") at %" G_GUINT64_FORMAT,
				 header_offset);
	if (hg_be32_at(h + 36) != vhd_checksum(h, sizeof(h), 36))
		return vhd_error(blk, error,
				 "the dynamic disk header's checksum is 0x%08x, its content sums "
				 "to 0x%08x",
				 hg_be32_at(h + 36), vhd_checksum(h, sizeof(h), 36));
	version = hg_be32_at(h + 24);
	if (version >> 16 != VHD_VERSION_1_0 >> 16) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: VHD dynamic disk header version %u.%u is not supported (only 1.x)",
			    blk->path, version >> 16, version & 0xffff);
		return false;
	}
	bat_offset = hg_be64_at(h + 16);
	entries = hg_be32_at(h + 28);
	block_size = hg_be32_at(h + 32);
	if (block_size < VHD_MIN_BLOCK_SIZE || block_size > VHD_MAX_BLOCK_SIZE ||
	    (block_size & (block_size - 1)))
		return vhd_error(blk, error,
				 "block size %u is not a power of two from %u KiB to %u MiB",
				 block_size, VHD_MIN_BLOCK_SIZE >> 10, VHD_MAX_BLOCK_SIZE >> 20);
	vhd->block_bits = g_bit_nth_lsf(block_size, -1);
	uint64_t needed = (disk_size + block_size - 1) >> vhd->block_bits;
	if (entries < needed)
		return vhd_error(blk, error,
				 "the BAT has %u entries, a disk of %" G_GUINT64_FORMAT
				 " bytes needs %" G_GUINT64_FORMAT,
				 entries, disk_size, needed);
	if (needed > VHD_MAX_BAT_ENTRIES)
		return vhd_error(blk, error, "%" G_GUINT64_FORMAT " blocks are more than %u",
				 needed, VHD_MAX_BAT_ENTRIES);
	/* Only the entries the disk uses are read. */
	vhd->bat_entries = needed;
	if (bat_offset > file_size || needed * 4 > file_size - bat_offset)
		return vhd_error(blk, error,
				 "the BAT (%" G_GUINT64_FORMAT " entries at %" G_GUINT64_FORMAT
				 ") ends past the end of the file",
				 needed, bat_offset);
	/* A bit per sector, rounded up to whole sectors. */
	vhd->bitmap_size = ((block_size / VHD_SECTOR / 8) + VHD_SECTOR - 1) & ~(VHD_SECTOR - 1);

	vhd->bat = g_try_new(uint32_t, MAX(needed, 1));
	if (!vhd->bat) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "%s: no memory for a BAT of %" G_GUINT64_FORMAT " entries", blk->path,
			    needed);
		return false;
	}
	r = hg_block_fd_pread(vhd->fd, bat_offset, vhd->bat, needed * 4);
	if (r < 0)
		return vhd_read_error(blk, r, "the BAT", error);
	for (uint32_t i = 0; i < vhd->bat_entries; i++) {
		uint32_t entry = GUINT32_FROM_BE(vhd->bat[i]);
		vhd->bat[i] = entry;
		if (entry == VHD_BLOCK_FREE)
			continue;
		uint64_t start = (uint64_t)i << vhd->block_bits;
		uint64_t used = vhd->bitmap_size + MIN(block_size, disk_size - start);
		uint64_t at = (uint64_t)entry * VHD_SECTOR;
		if (at > file_size || used > file_size - at)
			return vhd_error(blk, error,
					 "block %u is at %" G_GUINT64_FORMAT
					 ", past the end of the file (%" G_GUINT64_FORMAT " bytes)",
					 i, at, file_size);
	}
	return true;
}

static bool vhd_open(HgBlockBackend *blk, int fd, HgBlockChain *chain, GError **error)
{
	uint8_t footer[VHD_FOOTER_SIZE];
	uint64_t disk_size;
	uint32_t version, type;
	struct stat st;

	(void)chain;
	if (!hg_block_read_only_open(blk, fd, "VHD", &st, error))
		return false;
	VhdImage *vhd = g_new0(VhdImage, 1);
	vhd->fd = fd;
	if (!vhd_read_footer(blk, vhd, st.st_size, footer, error))
		goto fail;
	version = hg_be32_at(footer + 12);
	type = hg_be32_at(footer + 60);
	disk_size = hg_be64_at(footer + 48);
	if (version >> 16 != VHD_VERSION_1_0 >> 16) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: VHD version %u.%u is not supported (only 1.x)", blk->path,
			    version >> 16, version & 0xffff);
		goto fail;
	}
	if (type == VHD_TYPE_DIFFERENCING) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s is a differencing VHD image: it holds only the changes to its "
			    "parent image, which Hangar does not open; merge it into its parent "
			    "first (Hyper-V's Edit Disk, or qemu-img convert) and import the "
			    "result",
			    blk->path);
		goto fail;
	}
	if (disk_size == 0 || disk_size > VHD_MAX_DISK_SIZE) {
		vhd_error(blk, error, "disk size %" G_GUINT64_FORMAT " is outside 1 byte..64 TiB",
			  disk_size);
		goto fail;
	}
	if (type == VHD_TYPE_FIXED) {
		if (disk_size > (uint64_t)st.st_size - VHD_FOOTER_SIZE) {
			vhd_error(blk, error,
				  "the disk's %" G_GUINT64_FORMAT
				  " bytes do not fit before the footer (the file has "
				  "%" G_GUINT64_FORMAT ")",
				  disk_size, (uint64_t)st.st_size);
			goto fail;
		}
	} else {
		vhd->dynamic = true;
		if (!vhd_open_dynamic(blk, vhd, st.st_size, disk_size, hg_be64_at(footer + 16),
				      error))
			goto fail;
	}
	blk->state = vhd;
	blk->size = disk_size;
	return true;
fail:
	vhd_free(vhd);
	return false;
}

static void vhd_close(HgBlockBackend *blk)
{
	VhdImage *vhd = blk->state;

	close(vhd->fd);
	vhd_free(vhd);
}

/* [pos, pos + len) inside one allocated block whose bitmap starts at
 * bitmap_at, into iov at skip: runs of present sectors are one read each,
 * absent ones zeroes. */
static int vhd_read_in_block(VhdImage *vhd, uint64_t bitmap_at, uint64_t pos, uint64_t len,
			     const struct iovec *iov, int iovcnt, uint64_t skip)
{
	uint8_t bitmap[VHD_BITMAP_CHUNK];
	uint64_t block_mask = (1ull << vhd->block_bits) - 1;
	uint64_t data_at = bitmap_at + vhd->bitmap_size;
	uint64_t run_start = 0, run_len = 0; /* in the block, and in iov from skip */
	uint64_t done = 0, bitmap_first = UINT64_MAX;
	int r = 0;

	while (done < len && r == 0) {
		uint64_t in_block = (pos + done) & block_mask;
		uint64_t sector = in_block / VHD_SECTOR;
		uint64_t n = MIN(VHD_SECTOR - in_block % VHD_SECTOR, len - done);

		/* The bitmap bytes for the next 4096 sectors. */
		if (bitmap_first == UINT64_MAX || sector / 8 >= bitmap_first + sizeof(bitmap)) {
			bitmap_first = sector / 8;
			uint64_t want = MIN(sizeof(bitmap), vhd->bitmap_size - bitmap_first);
			r = hg_block_fd_pread(vhd->fd, bitmap_at + bitmap_first, bitmap, want);
			if (r < 0)
				break;
		}
		bool present = bitmap[sector / 8 - bitmap_first] & (0x80 >> (sector % 8));
		if (present) {
			if (run_len && run_start + run_len == in_block) {
				run_len += n;
			} else {
				run_start = in_block;
				run_len = n;
			}
		} else {
			if (run_len)
				r = hg_block_fd_read_into(vhd->fd, data_at + run_start, iov, iovcnt,
							  skip + done - run_len, run_len);
			run_len = 0;
			hg_block_iov_memset(iov, iovcnt, skip + done, 0, n);
		}
		done += n;
	}
	if (r == 0 && run_len)
		r = hg_block_fd_read_into(vhd->fd, data_at + run_start, iov, iovcnt,
					  skip + done - run_len, run_len);
	return r;
}

static int vhd_readv(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	VhdImage *vhd = blk->state;
	uint64_t len = hg_block_iov_length(iov, iovcnt), done = 0;
	int r = 0;

	if (!vhd->dynamic)
		return hg_block_fd_transfer(vhd->fd, offset, iov, iovcnt, false);
	uint64_t block_mask = (1ull << vhd->block_bits) - 1;
	while (done < len && r == 0) {
		uint64_t pos = offset + done;
		uint64_t n = MIN(block_mask + 1 - (pos & block_mask), len - done);
		uint32_t entry = vhd->bat[pos >> vhd->block_bits];

		if (entry == VHD_BLOCK_FREE)
			hg_block_iov_memset(iov, iovcnt, done, 0, n);
		else
			r = vhd_read_in_block(vhd, (uint64_t)entry * VHD_SECTOR, pos, n, iov,
					      iovcnt, done);
		done += n;
	}
	return r;
}

static uint64_t vhd_allocated_bytes(HgBlockBackend *blk)
{
	VhdImage *vhd = blk->state;
	return hg_block_fd_allocated_bytes(vhd->fd);
}

const HgBlockDriver hg_block_vhd_driver = {
	.format_name = "vpc",
	.open = vhd_open,
	.close = vhd_close,
	.readv = vhd_readv,
	.writev = hg_block_read_only_writev,
	.flush = hg_block_read_only_flush,
	.discard = hg_block_read_only_discard,
	.write_zeroes = hg_block_read_only_write_zeroes,
	.allocated_bytes = vhd_allocated_bytes,
};

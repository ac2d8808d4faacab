/* Hosted sparse extents (Virtual Disk Format 5.0, "Hosted Sparse Extents"
 * and "Stream-Optimized Compressed Sparse Extents"): a 512-byte header
 * ("KDMV"), a grain directory (GD) of 32-bit sector numbers of grain
 * tables (GT), each GT entry (GTE) the sector of one grain: 0 not
 * allocated (reads as zeroes: parent disks are refused), 1 a zeroed grain.
 *
 * streamOptimized files compress every grain (deflate, behind a 12-byte
 * grain marker holding its LBA and compressed size) and, written as a
 * stream, put the GD at the end: the header's gdOffset is GD_AT_END and the
 * real one is in the footer, a copy of the header 1024 bytes before the
 * end of the file (after the footer marker, before the end-of-stream
 * marker).
 *
 * Everything the file says is checked before it is used: the header and
 * every GD entry on open (clear errors), GT entries and grain markers on
 * read (-EIO).  A few recently used GTs are cached; reads of contiguous
 * uncompressed grains are one preadv. */
#include "library/block/byte_order.h"
#include "library/block/vmdk.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SPARSE_MAGIC 0x564d444bu /* "KDMV" read little-endian */
#define SPARSE_GD_AT_END 0xffffffffffffffffull
#define SPARSE_FLAG_NEWLINE_TEST (1u << 0)
#define SPARSE_FLAG_ZEROED_GRAIN (1u << 2)
#define SPARSE_FLAG_COMPRESSED (1u << 16)
#define SPARSE_FLAG_MARKERS (1u << 17)
#define SPARSE_COMPRESS_NONE 0
#define SPARSE_COMPRESS_DEFLATE 1
#define SPARSE_MARKER_FOOTER 3
#define SPARSE_GRAIN_MARKER_BYTES 12 /* lba (u64), size (u32), then the data */
/* Grains of up to 1 MiB (VMware's are 64 KiB), GTs of up to 4096 entries
 * (VMware's have 512), a GD of up to 64 MiB (a 128 TiB disk in 64 KiB
 * grains needs 16 MiB). */
#define SPARSE_MAX_GRAIN_SECTORS 2048u
#define SPARSE_MAX_GTES_PER_GT 4096u
#define SPARSE_MAX_GD_BYTES (64u << 20)
#define SPARSE_GT_CACHE_SLOTS 32u
#define DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))

typedef struct {
	uint32_t version;
	uint32_t flags;
	uint64_t capacity;
	uint64_t grain_sectors;
	uint64_t descriptor_offset;
	uint64_t descriptor_sectors;
	uint32_t gtes_per_gt;
	uint64_t gd_offset;
	uint16_t compress_algorithm;
} SparseHeader;

typedef struct {
	uint32_t gd_index; /* valid when table is not NULL */
	uint64_t last_use;
	uint32_t *table; /* gtes_per_gt entries, host order */
} GtSlot;

struct VmdkSparse {
	int fd;
	char *path;
	uint64_t file_size;
	SparseHeader header;
	uint64_t grain_bytes;
	uint32_t *gd; /* host order; each entry checked on open */
	uint64_t gd_entries;

	GMutex lock; /* guards what follows: the GT cache and decompression */
	GtSlot gt_cache[SPARSE_GT_CACHE_SLOTS];
	uint64_t use_clock;
	z_stream inflater;
	bool inflater_ready;
	uint8_t *compressed; /* a grain marker and its data */
	size_t compressed_max;
	uint8_t *grain; /* the last grain decompressed ... */
	uint64_t grain_index; /* ... which is this one, UINT64_MAX for none */
};

static void header_decode(const uint8_t *raw, SparseHeader *h)
{
	h->version = hg_le32_at(raw + 4);
	h->flags = hg_le32_at(raw + 8);
	h->capacity = hg_le64_at(raw + 12);
	h->grain_sectors = hg_le64_at(raw + 20);
	h->descriptor_offset = hg_le64_at(raw + 28);
	h->descriptor_sectors = hg_le64_at(raw + 36);
	h->gtes_per_gt = hg_le32_at(raw + 44);
	h->gd_offset = hg_le64_at(raw + 56);
	h->compress_algorithm = (uint16_t)(raw[77] | raw[78] << 8);
}

static bool invalid(VmdkSparse *s, GError **error, const char *format, ...) G_GNUC_PRINTF(3, 4);

static bool invalid(VmdkSparse *s, GError **error, const char *format, ...)
{
	va_list args;
	g_autofree char *what = NULL;

	va_start(args, format);
	what = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", s->path, what);
	return false;
}

static bool unsupported(VmdkSparse *s, GError **error, const char *what)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: %s", s->path, what);
	return false;
}

/* Is [sector, sector + count) inside the file? */
static bool sectors_in_file(VmdkSparse *s, uint64_t sector, uint64_t count)
{
	uint64_t sectors = s->file_size / VMDK_SECTOR;
	return sector <= sectors && count <= sectors - sector;
}

static bool header_check(VmdkSparse *s, const uint8_t *raw, GError **error)
{
	SparseHeader *h = &s->header;

	if (hg_le32_at(raw) != SPARSE_MAGIC)
		return invalid(s, error, "not a VMDK sparse extent (no KDMV magic)");
	header_decode(raw, h);
	if (h->version < 1 || h->version > 3) {
		g_autofree char *what = g_strdup_printf(
			"VMDK sparse extent version %u is not supported (1 to 3 are)", h->version);
		return unsupported(s, error, what);
	}
	/* The newline test: a transfer in text mode (FTP ASCII) rewrites
	 * line ends, and these bytes show it. */
	if ((h->flags & SPARSE_FLAG_NEWLINE_TEST) &&
	    (raw[73] != '\n' || raw[74] != ' ' || raw[75] != '\r' || raw[76] != '\n'))
		return invalid(s, error,
			       "the file's line-end test bytes are changed: it was damaged by a "
			       "text-mode transfer");
	if (h->compress_algorithm != SPARSE_COMPRESS_NONE &&
	    h->compress_algorithm != SPARSE_COMPRESS_DEFLATE) {
		g_autofree char *what =
			g_strdup_printf("VMDK compression algorithm %u is not supported (only "
					"deflate is)",
					h->compress_algorithm);
		return unsupported(s, error, what);
	}
	if ((h->flags & SPARSE_FLAG_COMPRESSED) && h->compress_algorithm != SPARSE_COMPRESS_DEFLATE)
		return invalid(s, error, "compressed grains without a compression algorithm");
	if (h->grain_sectors == 0 || h->grain_sectors > SPARSE_MAX_GRAIN_SECTORS ||
	    (h->grain_sectors & (h->grain_sectors - 1)))
		return invalid(s, error,
			       "grain size of %" G_GUINT64_FORMAT
			       " sectors (a power of two up to %u is expected)",
			       h->grain_sectors, SPARSE_MAX_GRAIN_SECTORS);
	if (h->gtes_per_gt == 0 || h->gtes_per_gt > SPARSE_MAX_GTES_PER_GT)
		return invalid(s, error, "%u entries per grain table (1 to %u are allowed)",
			       h->gtes_per_gt, SPARSE_MAX_GTES_PER_GT);
	if (h->capacity > VMDK_MAX_SECTORS)
		return invalid(s, error,
			       "capacity of %" G_GUINT64_FORMAT " sectors (above 128 TiB)",
			       h->capacity);
	if (h->descriptor_offset != 0 &&
	    (h->descriptor_sectors > VMDK_MAX_DESCRIPTOR_BYTES / VMDK_SECTOR ||
	     !sectors_in_file(s, h->descriptor_offset, h->descriptor_sectors)))
		return invalid(s, error,
			       "the embedded descriptor is outside the file or too large");
	s->grain_bytes = h->grain_sectors * VMDK_SECTOR;
	return true;
}

/* A streamOptimized file's footer: the header again, with the GD's place. */
static bool footer_read(VmdkSparse *s, GError **error)
{
	uint8_t raw[3 * VMDK_SECTOR];
	SparseHeader footer;

	if (s->file_size < 4 * VMDK_SECTOR || s->file_size % VMDK_SECTOR ||
	    hg_block_fd_pread(s->fd, s->file_size - sizeof(raw), raw, sizeof(raw)) < 0)
		return invalid(s, error,
			       "the grain directory is at the end, but the file ends "
			       "without a footer (truncated?)");
	if (hg_le32_at(raw + 8) != 0 || hg_le32_at(raw + 12) != SPARSE_MARKER_FOOTER ||
	    hg_le32_at(raw + VMDK_SECTOR) != SPARSE_MAGIC)
		return invalid(s, error,
			       "the grain directory is at the end, but the footer is "
			       "missing or damaged (truncated?)");
	header_decode(raw + VMDK_SECTOR, &footer);
	if (footer.capacity != s->header.capacity ||
	    footer.grain_sectors != s->header.grain_sectors ||
	    footer.gtes_per_gt != s->header.gtes_per_gt || footer.flags != s->header.flags ||
	    footer.gd_offset == SPARSE_GD_AT_END)
		return invalid(s, error, "the footer does not match the header");
	s->header.gd_offset = footer.gd_offset;
	return true;
}

static bool gd_load(VmdkSparse *s, GError **error)
{
	SparseHeader *h = &s->header;
	uint64_t span = h->grain_sectors * h->gtes_per_gt; /* sectors per GT */
	uint64_t gt_sectors = DIV_ROUND_UP((uint64_t)h->gtes_per_gt * 4, VMDK_SECTOR);
	uint64_t bytes;

	if (h->gd_offset == SPARSE_GD_AT_END && !footer_read(s, error))
		return false;
	s->gd_entries = DIV_ROUND_UP(h->capacity, span);
	bytes = s->gd_entries * 4;
	if (bytes > SPARSE_MAX_GD_BYTES)
		return invalid(s, error,
			       "the grain directory would take %" G_GUINT64_FORMAT
			       " bytes (grains or grain tables too small for the size)",
			       bytes);
	if (s->gd_entries == 0)
		return true;
	if (h->gd_offset == 0 ||
	    !sectors_in_file(s, h->gd_offset, DIV_ROUND_UP(bytes, VMDK_SECTOR)))
		return invalid(s, error,
			       "the grain directory (sector %" G_GUINT64_FORMAT
			       ") is outside the file",
			       h->gd_offset);
	s->gd = g_malloc(bytes);
	if (hg_block_fd_pread(s->fd, h->gd_offset * VMDK_SECTOR, s->gd, bytes) < 0)
		return invalid(s, error, "cannot read the grain directory");
	for (uint64_t i = 0; i < s->gd_entries; i++) {
		s->gd[i] = GUINT32_FROM_LE(s->gd[i]);
		if (s->gd[i] != 0 && !sectors_in_file(s, s->gd[i], gt_sectors))
			return invalid(s, error,
				       "grain table %" G_GUINT64_FORMAT " (sector %u) is outside "
				       "the file",
				       i, s->gd[i]);
	}
	return true;
}

VmdkSparse *hg_vmdk_sparse_open(int fd, const char *path, GError **error)
{
	VmdkSparse *s = g_new0(VmdkSparse, 1);
	uint8_t raw[VMDK_SECTOR];
	struct stat st;

	s->fd = -1;
	s->path = g_strdup(path);
	g_mutex_init(&s->lock);
	s->grain_index = UINT64_MAX;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		invalid(s, error, "not a regular file");
		goto fail;
	}
	s->file_size = st.st_size;
	if (hg_block_fd_pread(fd, 0, raw, sizeof(raw)) < 0) {
		invalid(s, error, "the file is shorter than a VMDK sparse header");
		goto fail;
	}
	s->fd = fd;
	if (!header_check(s, raw, error) || !gd_load(s, error)) {
		s->fd = -1;
		goto fail;
	}
	return s;
fail:
	hg_vmdk_sparse_free(s);
	return NULL;
}

void hg_vmdk_sparse_free(VmdkSparse *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	for (unsigned i = 0; i < SPARSE_GT_CACHE_SLOTS; i++)
		g_free(s->gt_cache[i].table);
	if (s->inflater_ready)
		inflateEnd(&s->inflater);
	g_free(s->compressed);
	g_free(s->grain);
	g_free(s->gd);
	g_free(s->path);
	g_mutex_clear(&s->lock);
	g_free(s);
}

uint64_t hg_vmdk_sparse_capacity(VmdkSparse *s)
{
	return s->header.capacity;
}

int hg_vmdk_sparse_fd(VmdkSparse *s)
{
	return s->fd;
}

char *hg_vmdk_sparse_read_descriptor(VmdkSparse *s, size_t *len, GError **error)
{
	uint64_t bytes = s->header.descriptor_sectors * VMDK_SECTOR;
	g_autofree char *text = NULL;

	if (s->header.descriptor_offset == 0 || bytes == 0)
		return NULL;
	text = g_malloc(bytes + 1);
	if (hg_block_fd_pread(s->fd, s->header.descriptor_offset * VMDK_SECTOR, text, bytes) < 0) {
		invalid(s, error, "cannot read the embedded descriptor");
		return NULL;
	}
	text[bytes] = '\0';
	*len = bytes;
	return g_steal_pointer(&text);
}

/* The GT holding gd_index, from the cache or read into the least recently
 * used slot; NULL (and -EIO) when it cannot be read.  Called locked. */
static const uint32_t *gt_get(VmdkSparse *s, uint32_t gd_index, int *err)
{
	GtSlot *slot = &s->gt_cache[0];
	size_t bytes = (size_t)s->header.gtes_per_gt * 4;

	for (unsigned i = 0; i < SPARSE_GT_CACHE_SLOTS; i++) {
		GtSlot *c = &s->gt_cache[i];
		if (c->table && c->gd_index == gd_index) {
			c->last_use = ++s->use_clock;
			return c->table;
		}
		if (!c->table || (slot->table && c->last_use < slot->last_use))
			slot = c;
	}
	if (!slot->table)
		slot->table = g_malloc(bytes);
	slot->gd_index = gd_index;
	*err = hg_block_fd_pread(s->fd, (uint64_t)s->gd[gd_index] * VMDK_SECTOR, slot->table,
				 bytes);
	if (*err < 0) {
		g_clear_pointer(&slot->table, g_free);
		*err = -EIO;
		return NULL;
	}
	for (uint32_t i = 0; i < s->header.gtes_per_gt; i++)
		slot->table[i] = GUINT32_FROM_LE(slot->table[i]);
	slot->last_use = ++s->use_clock;
	return slot->table;
}

/* The GTE of a grain: 0 (not allocated), 1 (zeroed) or a sector. */
static int gte_get(VmdkSparse *s, uint64_t grain, uint32_t *gte)
{
	uint64_t gd_index = grain / s->header.gtes_per_gt;
	const uint32_t *table;
	int err = 0;

	if (gd_index >= s->gd_entries)
		return -EIO;
	if (s->gd[gd_index] == 0) {
		*gte = 0;
		return 0;
	}
	g_mutex_lock(&s->lock);
	table = gt_get(s, gd_index, &err);
	if (table)
		*gte = table[grain % s->header.gtes_per_gt];
	g_mutex_unlock(&s->lock);
	return err;
}

/* 1 is the zeroed-grain GTE (version 2 with flag bit 2); no grain can
 * start at sector 1, where the header's first sector ends, so it reads as
 * zeroes whatever the flags say. */
static bool gte_is_zero(uint32_t gte)
{
	return gte <= 1;
}

/* Decompresses the grain at sector gte into s->grain.  Called locked. */
static int grain_inflate(VmdkSparse *s, uint64_t grain, uint32_t gte)
{
	uint64_t at = (uint64_t)gte * VMDK_SECTOR;
	uint32_t size;
	int r;

	if (!s->grain) {
		s->compressed_max = SPARSE_GRAIN_MARKER_BYTES + compressBound(s->grain_bytes);
		s->compressed = g_malloc(s->compressed_max);
		s->grain = g_malloc(s->grain_bytes);
	}
	if (!s->inflater_ready) {
		memset(&s->inflater, 0, sizeof(s->inflater));
		if (inflateInit(&s->inflater) != Z_OK)
			return -ENOMEM;
		s->inflater_ready = true;
	}
	s->grain_index = UINT64_MAX;
	r = hg_block_fd_pread(s->fd, at, s->compressed, SPARSE_GRAIN_MARKER_BYTES);
	if (r < 0)
		return -EIO;
	/* The marker names the grain it holds: a GTE pointing elsewhere is
	 * caught here rather than read as the wrong data. */
	size = hg_le32_at(s->compressed + 8);
	if (hg_le64_at(s->compressed) != grain * s->header.grain_sectors || size == 0 ||
	    size > s->compressed_max - SPARSE_GRAIN_MARKER_BYTES)
		return -EIO;
	r = hg_block_fd_pread(s->fd, at + SPARSE_GRAIN_MARKER_BYTES,
			      s->compressed + SPARSE_GRAIN_MARKER_BYTES, size);
	if (r < 0)
		return -EIO;
	/* zlib's format, as VMware and QEMU write it. */
	inflateReset(&s->inflater);
	s->inflater.next_in = s->compressed + SPARSE_GRAIN_MARKER_BYTES;
	s->inflater.avail_in = size;
	s->inflater.next_out = s->grain;
	s->inflater.avail_out = s->grain_bytes;
	r = inflate(&s->inflater, Z_FINISH);
	if (r != Z_STREAM_END)
		return -EIO;
	/* A short last grain: the rest of it is past the disk's end. */
	memset(s->grain + s->inflater.total_out, 0, s->grain_bytes - s->inflater.total_out);
	s->grain_index = grain;
	return 0;
}

static int read_compressed(VmdkSparse *s, uint64_t grain, uint32_t gte, uint64_t in_grain,
			   const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len)
{
	int r = 0;

	g_mutex_lock(&s->lock);
	if (s->grain_index != grain)
		r = grain_inflate(s, grain, gte);
	if (r == 0)
		hg_block_iov_from_buffer(iov, iovcnt, skip, s->grain + in_grain, len);
	g_mutex_unlock(&s->lock);
	return r;
}

int hg_vmdk_sparse_readv(VmdkSparse *s, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	uint64_t len = hg_block_iov_length(iov, iovcnt), done = 0;
	bool compressed = s->header.flags & SPARSE_FLAG_COMPRESSED;

	while (done < len) {
		uint64_t pos = offset + done;
		uint64_t grain = pos / s->grain_bytes, in_grain = pos % s->grain_bytes;
		uint64_t run = MIN(s->grain_bytes - in_grain, len - done);
		uint32_t gte, next;
		int r = gte_get(s, grain, &gte);

		if (r < 0)
			return r;
		if (!gte_is_zero(gte) && compressed) {
			r = read_compressed(s, grain, gte, in_grain, iov, iovcnt, done, run);
			if (r < 0)
				return r;
			done += run;
			continue;
		}
		/* Extend the run over the following grains of the same kind:
		 * zeroes, or data stored right after this grain's. */
		for (uint64_t g = grain + 1; done + run < len; g++) {
			uint64_t expect = gte + (g - grain) * s->header.grain_sectors;
			r = gte_get(s, g, &next);
			if (r < 0)
				return r;
			if (gte_is_zero(gte) ? !gte_is_zero(next) : next != expect)
				break;
			run += MIN(s->grain_bytes, len - done - run);
		}
		if (gte_is_zero(gte))
			hg_block_iov_memset(iov, iovcnt, done, 0, run);
		else if ((r = hg_block_fd_read_into(s->fd, (uint64_t)gte * VMDK_SECTOR + in_grain,
						    iov, iovcnt, done, run)) < 0)
			return r;
		done += run;
	}
	return 0;
}

/* A streamOptimized VMDK read as a stream (stream_vmdk.h).
 *
 * VMware's "Virtual Disk Format 1.1", "Stream-Optimized Compressed Sparse
 * Extents": a 512-byte sparse header ("KDMV"), the embedded descriptor,
 * then, from the header's overHead sector on, a run of markers, each
 * starting on a sector:
 *   - a grain: its LBA (u64, in sectors), the compressed size (u32, not 0)
 *     and that many bytes of zlib data, padded to the sector;
 *   - metadata: a sector holding a count of sectors (u64), 0 (u32) and a
 *     type (u32): 0 end of stream, 1 grain table, 2 grain directory, 3
 *     footer (the header again), followed by that many sectors.
 * The grains hold all the data, so the tables are skipped.  Zero grains
 * are simply absent: the new disk reads as zeroes where nothing is written.
 *
 * qemu-img writes the same markers but keeps its grain directory and
 * tables in the header area, as a monolithicSparse file does, and ends
 * without an end-of-stream marker when the disk is empty or its last grain
 * does not compress (its files are padded to a whole grain otherwise, and
 * a zero sector reads as the marker).  Those tables arrive before the
 * grains, so they are read on the way: they name the last grain, and a
 * stream that ends past it is complete.  Without them (VMware's layout, its
 * directory at the end), only the end-of-stream marker says so. */
#include "library/block/byte_order.h"
#include "library/import/stream_vmdk.h"

#include <string.h>
#include <zlib.h>

#include "library/import/stream_disk.h"

#define SECTOR 512u
#define SPARSE_MAGIC 0x564d444bu /* "KDMV" read little-endian */
#define SPARSE_GD_AT_END 0xffffffffffffffffull
#define SPARSE_FLAG_NEWLINE_TEST (1u << 0)
#define SPARSE_FLAG_COMPRESSED (1u << 16)
#define SPARSE_FLAG_MARKERS (1u << 17)
#define SPARSE_COMPRESS_DEFLATE 1
#define GRAIN_MARKER_BYTES 12 /* lba (u64), size (u32), then the data */
enum { MARKER_EOS, MARKER_GT, MARKER_GD, MARKER_FOOTER };
/* The random-access driver's limits (library/block/vmdk_sparse.c), so that
 * both read the same files: grains of up to 1 MiB (VMware's are 64 KiB),
 * grain tables of up to 4096 entries (VMware's have 512), a descriptor of
 * up to 1 MiB, a header area (overHead) below 128 TiB. */
#define MAX_GRAIN_SECTORS 2048u
#define MAX_GTES_PER_GT 4096u
#define MAX_DESCRIPTOR_SECTORS 2048u
#define MAX_OVERHEAD_SECTORS (1ull << 38)
/* Grain tables in the header area are only looked at when the directory
 * is this small (a 16 TiB disk in 64 KiB grains needs 2 MiB). */
#define MAX_FRONT_GD_BYTES (64u << 20)
#define READ_BUFFER (256u << 10)
#define DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))

typedef struct {
	/* The stream: what is left of the caller's head, then read's. */
	HgStreamReadFunc read;
	gpointer user_data;
	GCancellable *cancellable;
	const guint8 *next; /* unread bytes ... */
	gsize available; /* ... this many */
	guint8 *buffer; /* READ_BUFFER bytes for read */
	guint64 position; /* bytes consumed */

	/* From the header. */
	guint64 capacity; /* in sectors */
	guint64 grain_sectors;
	guint32 gtes_per_gt;
	guint64 descriptor_offset, descriptor_sectors;
	guint64 gd_offset;
	guint64 overhead;
	gsize grain_bytes;
	gsize compressed_max; /* the most a grain's zlib data may take */
	guint64 gt_sectors; /* one grain table's */
	guint64 gd_sectors;

	/* The grain tables of the header area (qemu-img's layout), when read:
	 * the last grain they name, 0 for none. */
	bool tables_read;
	guint64 last_grain_sector;

	z_stream inflater;
	bool inflater_ready;
	guint8 *compressed;
	guint8 *grain; /* grain_bytes and 1 more, to catch one that inflates beyond */
	HgStreamDisk *disk;
} Reader;

static bool fail(GError **error, int code, const char *format, ...) G_GNUC_PRINTF(3, 4);

static bool fail(GError **error, int code, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	g_propagate_error(error, g_error_new_valist(G_IO_ERROR, code, format, args));
	va_end(args);
	return false;
}

/* ---- the stream ---- */

static bool source_refill(Reader *r, GError **error)
{
	gssize n;

	if (g_cancellable_set_error_if_cancelled(r->cancellable, error))
		return false;
	n = r->read(r->user_data, r->buffer, READ_BUFFER, error);
	if (n < 0)
		return false;
	if ((gsize)n > READ_BUFFER)
		return fail(error, G_IO_ERROR_FAILED,
			    "the VMDK stream's reader returned %" G_GSSIZE_FORMAT " bytes for %u",
			    n, READ_BUFFER);
	r->next = r->buffer;
	r->available = n;
	return true;
}

/* Takes up to len bytes into to (skips them when to is NULL); *got is
 * fewer only at the end of the stream. */
static bool source_take(Reader *r, void *to, guint64 len, guint64 *got, GError **error)
{
	guint8 *p = to;

	*got = 0;
	while (*got < len) {
		gsize n;
		if (r->available == 0) {
			if (!source_refill(r, error))
				return false;
			if (r->available == 0)
				break;
		}
		n = (gsize)MIN((guint64)r->available, len - *got);
		if (p) {
			memcpy(p, r->next, n);
			p += n;
		}
		r->next += n;
		r->available -= n;
		r->position += n;
		*got += n;
	}
	return true;
}

static bool truncated(Reader *r, GError **error, const char *where)
{
	return fail(error, G_IO_ERROR_INVALID_DATA,
		    "the VMDK stream is truncated: it ends %s (after %" G_GUINT64_FORMAT " bytes)",
		    where, r->position);
}

/* Exactly len bytes, else "truncated ... where". */
static bool source_read(Reader *r, void *to, guint64 len, const char *where, GError **error)
{
	guint64 got;

	if (!source_take(r, to, len, &got, error))
		return false;
	return got == len || truncated(r, error, where);
}

/* Skips to the stream's byte offset, which must not be behind. */
static bool source_skip_to(Reader *r, guint64 offset, const char *where, GError **error)
{
	g_assert(offset >= r->position);
	return source_read(r, NULL, offset - r->position, where, error);
}

/* ---- the header area ---- */

static bool header_parse(Reader *r, const guint8 *raw, guint64 max_capacity, GError **error)
{
	guint32 version = hg_le32_at(raw + 4), flags = hg_le32_at(raw + 8);
	guint16 compress = (guint16)(raw[77] | raw[78] << 8);
	guint64 gd_entries, limit = MIN(max_capacity, HG_STREAM_DISK_MAX);

	r->capacity = hg_le64_at(raw + 12);
	r->grain_sectors = hg_le64_at(raw + 20);
	r->descriptor_offset = hg_le64_at(raw + 28);
	r->descriptor_sectors = hg_le64_at(raw + 36);
	r->gtes_per_gt = hg_le32_at(raw + 44);
	r->gd_offset = hg_le64_at(raw + 56);
	r->overhead = hg_le64_at(raw + 64);

	if (hg_le32_at(raw) != SPARSE_MAGIC)
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "not a VMDK sparse extent (no KDMV magic)");
	if (version < 1 || version > 3)
		return fail(error, G_IO_ERROR_NOT_SUPPORTED,
			    "VMDK sparse extent version %u is not supported (1 to 3 are)", version);
	/* A transfer in text mode (FTP ASCII) rewrites line ends, and these
	 * bytes show it. */
	if ((flags & SPARSE_FLAG_NEWLINE_TEST) &&
	    (raw[73] != '\n' || raw[74] != ' ' || raw[75] != '\r' || raw[76] != '\n'))
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's line-end test bytes are changed: it was damaged by a "
			    "text-mode transfer");
	if (!(flags & SPARSE_FLAG_COMPRESSED) || !(flags & SPARSE_FLAG_MARKERS))
		return fail(error, G_IO_ERROR_NOT_SUPPORTED,
			    "the VMDK is not streamOptimized (its grains are not compressed "
			    "behind markers), so it cannot be read as a stream");
	if (compress != SPARSE_COMPRESS_DEFLATE)
		return fail(error, G_IO_ERROR_NOT_SUPPORTED,
			    "VMDK compression algorithm %u is not supported (only deflate, 1, is)",
			    compress);
	if (r->grain_sectors == 0 || r->grain_sectors > MAX_GRAIN_SECTORS ||
	    (r->grain_sectors & (r->grain_sectors - 1)))
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's grain size of %" G_GUINT64_FORMAT
			    " sectors is not a power of two up to %u",
			    r->grain_sectors, MAX_GRAIN_SECTORS);
	if (r->gtes_per_gt == 0 || r->gtes_per_gt > MAX_GTES_PER_GT)
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK has %u entries per grain table (1 to %u are allowed)",
			    r->gtes_per_gt, MAX_GTES_PER_GT);
	if (r->capacity == 0)
		return fail(error, G_IO_ERROR_INVALID_DATA, "the VMDK's capacity is 0 sectors");
	if (r->capacity > limit / SECTOR)
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's capacity of %" G_GUINT64_FORMAT
			    " sectors is above the limit of %" G_GUINT64_FORMAT
			    " bytes: refused (a corrupt or hostile file?)",
			    r->capacity, limit);
	if (r->overhead == 0 || r->overhead > MAX_OVERHEAD_SECTORS)
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's header area of %" G_GUINT64_FORMAT " sectors is absurd",
			    r->overhead);
	/* The grains start at overHead: a descriptor past it would hide some. */
	if (r->descriptor_offset != 0 &&
	    (r->descriptor_sectors > MAX_DESCRIPTOR_SECTORS || r->descriptor_offset > r->overhead ||
	     r->descriptor_sectors > r->overhead - r->descriptor_offset))
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's embedded descriptor (%" G_GUINT64_FORMAT
			    " sectors at sector %" G_GUINT64_FORMAT
			    ") is too large or not within the header area (%" G_GUINT64_FORMAT
			    " sectors)",
			    r->descriptor_sectors, r->descriptor_offset, r->overhead);
	r->grain_bytes = r->grain_sectors * SECTOR;
	r->compressed_max = compressBound(r->grain_bytes);
	r->gt_sectors = DIV_ROUND_UP((guint64)r->gtes_per_gt * 4, SECTOR);
	gd_entries = DIV_ROUND_UP(r->capacity, r->grain_sectors * r->gtes_per_gt);
	r->gd_sectors = DIV_ROUND_UP(gd_entries * 4, SECTOR);
	return true;
}

/* The createType the descriptor names, if it names one, must be
 * streamOptimized (OVF Tool leaves out the quotes). */
static bool descriptor_check(const char *text, gsize len, GError **error)
{
	g_autofree char *copy = g_strndup(text, len);
	g_auto(GStrv) lines = g_strsplit(copy, "\n", -1);

	for (char **line = lines; *line; line++) {
		char *p = g_strstrip(*line), *value;
		if (!g_str_has_prefix(p, "createType"))
			continue;
		p = g_strchug(p + strlen("createType"));
		if (*p != '=')
			continue;
		value = g_strstrip(p + 1);
		if (value[0] == '"') {
			value++;
			if (*value && value[strlen(value) - 1] == '"')
				value[strlen(value) - 1] = '\0';
		}
		if (g_ascii_strcasecmp(value, "streamOptimized") == 0)
			return true;
		g_autofree char *shown = g_strescape(value, NULL);
		return fail(error, G_IO_ERROR_NOT_SUPPORTED,
			    "the VMDK's descriptor says createType \"%.64s\", not streamOptimized",
			    shown);
	}
	return true;
}

static bool descriptor_read(Reader *r, GError **error)
{
	gsize bytes = r->descriptor_sectors * SECTOR;
	g_autofree char *text = NULL;

	if (r->descriptor_offset == 0 || bytes == 0)
		return true;
	text = g_malloc(bytes);
	if (!source_skip_to(r, r->descriptor_offset * SECTOR, "before its descriptor", error) ||
	    !source_read(r, text, bytes, "inside its descriptor", error))
		return false;
	return descriptor_check(text, strnlen(text, bytes), error);
}

static int compare_u32(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
	return x < y ? -1 : x > y;
}

/* The grain directory and tables in the header area (qemu-img's layout),
 * read on the way to the grains for the last grain they name.  Anything
 * unusual about them (and VMware's layout, whose directory comes at the
 * end) only means they are not used: the stream then needs its
 * end-of-stream marker. */
static bool front_tables_read(Reader *r, GError **error)
{
	g_autoptr(GArray) tables = g_array_new(false, false, sizeof(guint32));
	guint64 gd_bytes = r->gd_sectors * SECTOR, got;
	guint8 chunk[4096];
	guint32 last = 0;

	if (r->gd_offset == 0 || r->gd_offset > r->overhead ||
	    r->gd_sectors > r->overhead - r->gd_offset || gd_bytes > MAX_FRONT_GD_BYTES ||
	    r->gd_offset * SECTOR < r->position)
		return true;
	if (!source_skip_to(r, r->gd_offset * SECTOR, "inside its header area", error))
		return false;
	for (guint64 done = 0; done < gd_bytes; done += got) {
		got = MIN(sizeof(chunk), gd_bytes - done);
		if (!source_read(r, chunk, got, "inside its grain directory", error))
			return false;
		for (guint64 i = 0; i < got; i += 4) {
			guint32 gt = hg_le32_at(chunk + i);
			if (gt != 0)
				g_array_append_val(tables, gt);
		}
	}
	g_array_sort(tables, compare_u32);
	for (guint i = 0; i < tables->len; i++) {
		guint32 gt = g_array_index(tables, guint32, i);
		gsize gt_bytes = (gsize)r->gtes_per_gt * 4;
		if (i > 0 && gt == g_array_index(tables, guint32, i - 1))
			continue;
		if ((guint64)gt * SECTOR < r->position || gt + r->gt_sectors > r->overhead)
			return true;
		for (gsize done = 0; done < gt_bytes; done += got) {
			if (!source_skip_to(r, (guint64)gt * SECTOR + done,
					    "inside its header area", error))
				return false;
			got = MIN(sizeof(chunk), gt_bytes - done);
			if (!source_read(r, chunk, got, "inside a grain table", error))
				return false;
			/* 0 is no grain, 1 a zeroed one (version 2). */
			for (guint64 e = 0; e < got; e += 4)
				last = MAX(last, hg_le32_at(chunk + e));
		}
	}
	r->tables_read = true;
	r->last_grain_sector = last > 1 ? last : 0;
	return true;
}

static bool header_area_read(Reader *r, GError **error)
{
	if (!descriptor_read(r, error) || !front_tables_read(r, error))
		return false;
	/* The grains start at overHead, after the header area. */
	return source_skip_to(r, r->overhead * SECTOR, "inside its header area", error);
}

/* ---- the markers ---- */

static bool grain_inflate(Reader *r, guint64 lba, gsize size, gsize *length, GError **error)
{
	int z;

	*length = 0;
	if (!r->inflater_ready) {
		if (inflateInit(&r->inflater) != Z_OK)
			return fail(error, G_IO_ERROR_FAILED, "zlib cannot start");
		r->inflater_ready = true;
	}
	inflateReset(&r->inflater);
	r->inflater.next_in = r->compressed;
	r->inflater.avail_in = size;
	r->inflater.next_out = r->grain;
	r->inflater.avail_out = r->grain_bytes + 1;
	z = inflate(&r->inflater, Z_FINISH);
	*length = r->inflater.total_out;
	if (*length > r->grain_bytes)
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's grain for sector %" G_GUINT64_FORMAT
			    " inflates to more than the grain size (%zu bytes)",
			    lba, r->grain_bytes);
	if (z == Z_MEM_ERROR)
		return fail(error, G_IO_ERROR_FAILED, "zlib is out of memory");
	if (z != Z_STREAM_END)
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's grain for sector %" G_GUINT64_FORMAT
			    " holds corrupt compressed data (%s)",
			    lba,
			    z == Z_BUF_ERROR  ? "it stops short"
			    : r->inflater.msg ? r->inflater.msg
					      : "zlib error");
	return true;
}

/* A grain marker's data; marker holds its first bytes, already read. */
static bool grain_read(Reader *r, const guint8 *marker, GError **error)
{
	guint64 lba = hg_le64_at(marker), at = r->position - GRAIN_MARKER_BYTES, got;
	gsize size = hg_le32_at(marker + 8), padding, length, write_length;
	guint64 start, disk_end = r->capacity * SECTOR;

	if (size > r->compressed_max)
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's grain marker at byte %" G_GUINT64_FORMAT
			    " claims %zu compressed bytes (a grain of %zu bytes takes at most %zu)",
			    at, size, r->grain_bytes, r->compressed_max);
	if (lba % r->grain_sectors)
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's grain at byte %" G_GUINT64_FORMAT
			    " is for sector %" G_GUINT64_FORMAT ", not on a grain boundary",
			    at, lba);
	if (lba >= r->capacity)
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's grain at byte %" G_GUINT64_FORMAT
			    " is for sector %" G_GUINT64_FORMAT
			    ", past the disk's end (%" G_GUINT64_FORMAT " sectors)",
			    at, lba, r->capacity);
	if (!source_read(r, r->compressed, size, "inside a grain", error))
		return false;
	/* The padding to the sector; a last grain without it is let be. */
	padding = (SECTOR - (GRAIN_MARKER_BYTES + size) % SECTOR) % SECTOR;
	if (!source_take(r, NULL, padding, &got, error) ||
	    !grain_inflate(r, lba, size, &length, error))
		return false;
	start = lba * SECTOR;
	write_length = MIN((guint64)r->grain_bytes, disk_end - start);
	/* The last grain of a disk whose size is not whole grains may be
	 * inflated whole: the part past the end must be zeroes. */
	if (length > write_length) {
		for (gsize i = write_length; i < length; i++)
			if (r->grain[i])
				return fail(error, G_IO_ERROR_INVALID_DATA,
					    "the VMDK's grain for sector %" G_GUINT64_FORMAT
					    " holds data past the disk's end (%" G_GUINT64_FORMAT
					    " sectors)",
					    lba, r->capacity);
		length = write_length;
	}
	/* A short grain is zeroes to its end: written whole, so that a grain
	 * sent twice leaves only the last one's data. */
	memset(r->grain + length, 0, write_length - length);
	return hg_stream_disk_write_at(r->disk, start, r->grain, write_length, error);
}

/* The stream ended (at a marker's place) without an end-of-stream marker. */
static bool stream_end(Reader *r, GError **error)
{
	if (r->tables_read && r->position > r->last_grain_sector * SECTOR)
		return true;
	return truncated(r, error, "without an end-of-stream marker");
}

/* A metadata marker (sector) at byte at: skips its sectors; *end at the
 * end-of-stream marker. */
static bool metadata_skip(Reader *r, const guint8 *sector, guint64 at, bool *end, GError **error)
{
	static const char *const names[] = {"end-of-stream", "grain table", "grain directory",
					    "footer"};
	guint64 sectors = hg_le64_at(sector);
	guint32 type = hg_le32_at(sector + 12);
	guint64 most;

	switch (type) {
	case MARKER_EOS:
		if (r->tables_read && at <= r->last_grain_sector * SECTOR)
			return fail(error, G_IO_ERROR_INVALID_DATA,
				    "the VMDK stream ends (end-of-stream marker at byte "
				    "%" G_GUINT64_FORMAT ") before the grain at sector "
				    "%" G_GUINT64_FORMAT " its grain tables name: truncated?",
				    at, r->last_grain_sector);
		*end = true;
		return true;
	case MARKER_GT:
		most = r->gt_sectors;
		break;
	case MARKER_GD:
		most = r->gd_sectors;
		break;
	case MARKER_FOOTER:
		most = 1;
		break;
	default:
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK stream has a marker of unknown type %u at byte "
			    "%" G_GUINT64_FORMAT,
			    type, at);
	}
	if (sectors > most)
		return fail(error, G_IO_ERROR_INVALID_DATA,
			    "the VMDK's %s marker at byte %" G_GUINT64_FORMAT
			    " claims %" G_GUINT64_FORMAT " sectors (at most %" G_GUINT64_FORMAT
			    " for this disk)",
			    names[type], at, sectors, most);
	/* The tables repeat what the grains said; the footer's header copy
	 * only adds where the directory is. */
	return source_read(r, NULL, sectors * SECTOR, "inside a metadata marker's sectors", error);
}

static bool markers_read(Reader *r, GError **error)
{
	guint8 marker[SECTOR];
	bool end = false;

	while (!end) {
		guint64 at = r->position, got;

		if (!source_take(r, marker, GRAIN_MARKER_BYTES, &got, error))
			return false;
		if (got == 0)
			return stream_end(r, error);
		if (got < GRAIN_MARKER_BYTES)
			return truncated(r, error, "inside a marker");
		if (hg_le32_at(marker + 8) != 0) {
			if (!grain_read(r, marker, error))
				return false;
			continue;
		}
		if (!source_read(r, marker + GRAIN_MARKER_BYTES, SECTOR - GRAIN_MARKER_BYTES,
				 "inside a marker", error) ||
		    !metadata_skip(r, marker, at, &end, error))
			return false;
	}
	return true;
}

/* ---- the whole ---- */

bool hg_stream_vmdk_detect(const guint8 *head, gsize length)
{
	guint32 flags;

	if (length < 80 || hg_le32_at(head) != SPARSE_MAGIC)
		return false;
	flags = hg_le32_at(head + 8);
	return (flags & SPARSE_FLAG_COMPRESSED) && (flags & SPARSE_FLAG_MARKERS) &&
	       (head[77] | head[78] << 8) == SPARSE_COMPRESS_DEFLATE;
}

static void reader_clear(Reader *r)
{
	if (r->inflater_ready)
		inflateEnd(&r->inflater);
	g_free(r->buffer);
	g_free(r->compressed);
	g_free(r->grain);
}

bool hg_stream_vmdk_import(const void *head, gsize head_length, HgStreamReadFunc read,
			   gpointer user_data, const char *target, guint64 max_capacity,
			   GCancellable *cancellable, GError **error)
{
	Reader r = {.read = read,
		    .user_data = user_data,
		    .cancellable = cancellable,
		    .next = head,
		    .available = head ? head_length : 0};
	guint8 header[SECTOR];
	bool ok;

	r.buffer = g_malloc(READ_BUFFER);
	if (!source_read(&r, header, sizeof(header), "inside its header", error) ||
	    !header_parse(&r, header, max_capacity, error)) {
		reader_clear(&r);
		return false;
	}
	r.compressed = g_malloc(r.compressed_max);
	r.grain = g_malloc(r.grain_bytes + 1);
	r.disk = hg_stream_disk_new(target, r.capacity * SECTOR, error);
	ok = r.disk && hg_stream_disk_set_size(r.disk, r.capacity * SECTOR, error) &&
	     header_area_read(&r, error) && markers_read(&r, error);
	if (ok)
		ok = hg_stream_disk_finish(r.disk, error); /* removes it on failure */
	else if (r.disk)
		hg_stream_disk_abort(r.disk);
	reader_clear(&r);
	return ok;
}

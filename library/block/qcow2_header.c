/* qcow2 headers: reading and checking the header, its extensions and the
 * backing file name on open (then the snapshot table, in
 * qcow2_snapshot_table.c); the few fields written afterwards (feature bits,
 * the refcount table's location); and creating a new image.  The spec's
 * "Header" and "Header extensions".
 *
 * Nothing here trusts the file: every offset and length is checked against
 * the file's size and the first cluster before it is used, and a check that
 * fails is an error on open, before anything is written. */
#include "library/block/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXT_END 0x00000000u
#define EXT_BACKING_FORMAT 0xe2792acau
#define EXT_FEATURE_NAMES 0x6803f857u
#define EXT_BITMAPS 0x23852875u
#define EXT_ENCRYPTION 0x0537be77u
#define EXT_DATA_FILE 0x44415441u

#define V2_HEADER_LENGTH 72
#define V3_MIN_HEADER_LENGTH 104
#define QCOW2_KNOWN_INCOMPAT                                                                       \
	(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION)

G_GNUC_PRINTF(3, 4)
static bool header_error(HgQcow2 *q, GError **error, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a valid qcow2 image: %s",
		    q->path, message);
	return false;
}

/* [offset, offset + len) lies inside the file (and does not wrap). */
static bool in_file(HgQcow2 *q, uint64_t offset, uint64_t len)
{
	return offset <= q->file_end && len <= q->file_end - offset;
}

static bool aligned(HgQcow2 *q, uint64_t offset)
{
	return (offset & (q->cluster_size - 1)) == 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* A feature's name from the image's own table, for the error message. */
static char *feature_name(const uint8_t *names, uint32_t len, unsigned type, unsigned bit)
{
	for (uint32_t i = 0; names && i + 48 <= len; i += 48)
		if (names[i] == type && names[i + 1] == bit)
			return g_strndup((const char *)names + i + 2, 46);
	return g_strdup_printf("bit %u", bit);
}

static bool read_extensions(HgQcow2 *q, const uint8_t *cluster, uint64_t end, GError **error)
{
	uint64_t pos = q->version == 2 ? V2_HEADER_LENGTH : q->header_length;
	const uint8_t *names = NULL;
	uint32_t names_len = 0;
	uint32_t seen_backing_format = 0;
	bool ended = false;

	while (pos + 8 <= end) {
		uint32_t type = qcow2_be32(cluster + pos);
		uint32_t len = qcow2_be32(cluster + pos + 4);

		if (type == EXT_END) {
			ended = true;
			break;
		}
		if (len > end - pos - 8)
			return header_error(q, error,
					    "header extension 0x%08x claims %u bytes, more than "
					    "the header cluster holds",
					    type, len);
		const uint8_t *data = cluster + pos + 8;
		switch (type) {
		case EXT_BACKING_FORMAT:
			if (seen_backing_format++)
				return header_error(q, error, "two backing format extensions");
			if (len == 0 || len > 63 || memchr(data, 0, len))
				return header_error(q, error, "bad backing format name");
			q->backing_format = g_strndup((const char *)data, len);
			break;
		case EXT_FEATURE_NAMES:
			names = data;
			names_len = len;
			break;
		case EXT_DATA_FILE:
		case EXT_ENCRYPTION:
		case EXT_BITMAPS:
		default:
			/* Encryption and data files are refused by their header
			 * fields; bitmaps are not kept (their autoclear bit is
			 * cleared before writing); others are left as they are:
			 * the header is never rewritten as a whole. */
			break;
		}
		pos += 8 + (((uint64_t)len + 7) & ~7ull);
	}
	if (!ended && pos < end && q->version == 3)
		return header_error(q, error, "the header extensions run past the header cluster");

	uint64_t unknown = q->incompatible & ~QCOW2_KNOWN_INCOMPAT;
	if (unknown ||
	    (q->incompatible & (QCOW2_INCOMPAT_DATA_FILE | QCOW2_INCOMPAT_EXTENDED_L2))) {
		uint64_t bits = unknown | (q->incompatible &
					   (QCOW2_INCOMPAT_DATA_FILE | QCOW2_INCOMPAT_EXTENDED_L2));
		unsigned bit = __builtin_ctzll(bits);
		g_autofree char *name = feature_name(names, names_len, 0, bit);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: unsupported qcow2 feature: %s", q->path, name);
		return false;
	}
	return true;
}

bool hg_qcow2_read_header(HgQcow2 *q, GError **error)
{
	uint8_t h[V3_MIN_HEADER_LENGTH + 8] = {0};
	struct stat st;

	if (fstat(q->fd, &st) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot stat %s: %s",
			    q->path, g_strerror(errno));
		return false;
	}
	q->file_end = st.st_size;
	if (!in_file(q, 0, V2_HEADER_LENGTH) ||
	    hg_block_fd_pread(q->fd, 0, h, MIN(sizeof(h), q->file_end)) < 0)
		return header_error(q, error, "the file is too short for a header");
	if (qcow2_be32(h) != QCOW2_MAGIC)
		return header_error(q, error, "bad magic");
	q->version = qcow2_be32(h + 4);
	if (q->version != 2 && q->version != 3) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: qcow2 version %u is not supported (2 and 3 are)", q->path,
			    q->version);
		return false;
	}
	uint64_t backing_offset = qcow2_be64(h + 8);
	uint32_t backing_len = qcow2_be32(h + 16);
	q->cluster_bits = qcow2_be32(h + 20);
	q->size = qcow2_be64(h + 24);
	uint32_t crypt_method = qcow2_be32(h + 32);
	q->l1_size = qcow2_be32(h + 36);
	q->l1_offset = qcow2_be64(h + 40);
	q->refcount_table_offset = qcow2_be64(h + 48);
	q->refcount_table_clusters = qcow2_be32(h + 56);
	q->nb_snapshots = qcow2_be32(h + 60);
	q->snapshots_offset = qcow2_be64(h + 64);
	if (q->version == 3) {
		q->incompatible = qcow2_be64(h + 72);
		q->compatible = qcow2_be64(h + 80);
		q->autoclear = qcow2_be64(h + 88);
		q->refcount_order = qcow2_be32(h + 96);
		q->header_length = qcow2_be32(h + 100);
	} else {
		q->refcount_order = 4;
		q->header_length = V2_HEADER_LENGTH;
	}

	if (q->cluster_bits < QCOW2_MIN_CLUSTER_BITS || q->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return header_error(q, error, "cluster_bits %u is outside %u..%u", q->cluster_bits,
				    QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
	q->cluster_size = 1ull << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	if (q->version == 3) {
		if (q->header_length < V3_MIN_HEADER_LENGTH || q->header_length % 8 ||
		    q->header_length > q->cluster_size)
			return header_error(q, error, "bad header_length %u", q->header_length);
		if (q->refcount_order > 6)
			return header_error(q, error, "refcount_order %u is above 6",
					    q->refcount_order);
		if (q->header_length > 104)
			q->compression_type = h[104];
	}
	if (q->compression_type > QCOW2_COMPRESSION_ZSTD)
		return header_error(q, error, "unknown compression type %u", q->compression_type);
	if ((q->compression_type != 0) != !!(q->incompatible & QCOW2_INCOMPAT_COMPRESSION))
		return header_error(q, error, "the compression type and its feature bit disagree");
	if (crypt_method != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: encrypted qcow2 images are not supported", q->path);
		return false;
	}
	q->refcount_max =
		q->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << q->refcount_order)) - 1;
	q->refblock_bits = q->cluster_bits + 3 - q->refcount_order;

	/* The virtual size: what the L1 table can map, and no more than
	 * what offsets can say. */
	if (q->size > (1ull << 62))
		return header_error(q, error, "the virtual size %" G_GUINT64_FORMAT " is too big",
				    q->size);
	uint64_t l2_span_bits = q->cluster_bits + q->l2_bits;
	uint64_t l1_needed = (q->size + (1ull << l2_span_bits) - 1) >> l2_span_bits;
	if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return header_error(q, error, "the L1 table (%u entries) is too big", q->l1_size);
	if (q->l1_size < l1_needed)
		return header_error(q, error, "the L1 table is too small for the virtual size");
	if (q->l1_size && (!aligned(q, q->l1_offset) || q->l1_offset == 0 ||
			   !in_file(q, q->l1_offset, (uint64_t)q->l1_size * 8)))
		return header_error(q, error, "the L1 table is unaligned or outside the file");

	uint64_t reftable_bytes = (uint64_t)q->refcount_table_clusters << q->cluster_bits;
	if (q->refcount_table_clusters == 0 || reftable_bytes > QCOW2_MAX_REFTABLE_BYTES)
		return header_error(q, error, "bad refcount table size (%u clusters)",
				    q->refcount_table_clusters);
	if (!aligned(q, q->refcount_table_offset) || q->refcount_table_offset == 0 ||
	    !in_file(q, q->refcount_table_offset, reftable_bytes))
		return header_error(q, error,
				    "the refcount table overlaps the header, is unaligned or lies "
				    "outside the file");
	if (ranges_overlap(q->l1_offset, (uint64_t)q->l1_size * 8, q->refcount_table_offset,
			   reftable_bytes))
		return header_error(q, error, "the L1 table and the refcount table overlap");

	/* The rest of the first cluster: extensions and the backing name. */
	uint64_t first = MIN(q->cluster_size, q->file_end);
	g_autofree uint8_t *cluster = g_malloc0(q->cluster_size);
	if (hg_block_fd_pread(q->fd, 0, cluster, first) < 0)
		return header_error(q, error, "cannot read the header cluster");
	uint64_t ext_end = first;
	if (backing_offset) {
		if (backing_len == 0 || backing_len > QCOW2_MAX_BACKING_NAME ||
		    backing_offset < (q->version == 2 ? V2_HEADER_LENGTH : q->header_length) ||
		    backing_offset > first || backing_len > first - backing_offset)
			return header_error(q, error,
					    "the backing file name (%u bytes at %" G_GUINT64_FORMAT
					    ") does not fit in the header cluster",
					    backing_len, backing_offset);
		if (memchr(cluster + backing_offset, 0, backing_len))
			return header_error(q, error, "the backing file name holds a zero byte");
		q->backing_name = g_strndup((const char *)cluster + backing_offset, backing_len);
		ext_end = backing_offset;
	}
	if (!read_extensions(q, cluster, ext_end, error))
		return false;
	if (q->backing_format && !q->backing_name)
		g_clear_pointer(&q->backing_format, g_free);
	return hg_qcow2_snapshot_table_read(q, error);
}

/* Header fields written after open: one pwrite each, never the whole header,
 * so that whatever this code does not know is kept as it is. */
int hg_qcow2_write_incompatible(HgQcow2 *q, uint64_t features)
{
	uint8_t be[8];

	qcow2_put_be64(be, features);
	int r = hg_block_fd_pwrite(q->fd, QCOW2_HEADER_INCOMPAT_OFFSET, be, 8);
	if (r == 0)
		q->incompatible = features;
	return r;
}

int hg_qcow2_write_autoclear(HgQcow2 *q, uint64_t features)
{
	uint8_t be[8];

	qcow2_put_be64(be, features);
	int r = hg_block_fd_pwrite(q->fd, QCOW2_HEADER_AUTOCLEAR_OFFSET, be, 8);
	if (r == 0)
		q->autoclear = features;
	return r;
}

int hg_qcow2_write_refcount_table_location(HgQcow2 *q, uint64_t offset, uint32_t clusters)
{
	uint8_t be[12];

	qcow2_put_be64(be, offset);
	qcow2_put_be32(be + 8, clusters);
	return hg_block_fd_pwrite(q->fd, QCOW2_HEADER_REFTABLE_OFFSET, be, sizeof(be));
}

/* New images: a version 3 header, the refcount table, the refcount blocks
 * covering the metadata, then the (zero) L1 table; the rest is allocated
 * on the first writes. */
bool hg_block_create_qcow2(const char *path, uint64_t size, const char *backing_path,
			   unsigned cluster_bits, GError **error)
{
	g_autofree char *backing_format = NULL;
	uint64_t cs, l1_entries, l1_clusters, rt_clusters, rb_count, meta, total;
	int fd;

	if (cluster_bits < QCOW2_MIN_CLUSTER_BITS || cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "cluster_bits %u is outside %u..%u", cluster_bits,
			    QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
		return false;
	}
	cs = 1ull << cluster_bits;
	if (backing_path) {
		if (strlen(backing_path) > QCOW2_MAX_BACKING_NAME) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "the backing file name is longer than %u bytes",
				    QCOW2_MAX_BACKING_NAME);
			return false;
		}
		g_autofree char *dir = g_path_get_dirname(path);
		g_autofree char *resolved = g_path_is_absolute(backing_path)
						    ? g_strdup(backing_path)
						    : g_build_filename(dir, backing_path, NULL);
		HgBlockBackend *backing = hg_block_open(resolved, true, error);
		if (!backing)
			return false;
		if (size == 0)
			size = hg_block_size(backing);
		backing_format = g_strdup(hg_block_format(backing));
		hg_block_close(backing);
	}
	if (size == 0 || size > (1ull << 62)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "bad size %" G_GUINT64_FORMAT " for a qcow2 image", size);
		return false;
	}
	uint64_t l2_span = 1ull << (cluster_bits + cluster_bits - 3);
	l1_entries = (size + l2_span - 1) / l2_span;
	if (l1_entries * 8 > QCOW2_MAX_L1_BYTES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%" G_GUINT64_FORMAT
			    " bytes need bigger clusters than %" G_GUINT64_FORMAT,
			    size, cs);
		return false;
	}
	l1_clusters = MAX(1, (l1_entries * 8 + cs - 1) / cs);
	/* 16-bit refcounts: cs / 2 clusters per refcount block. */
	uint64_t per_block = cs / 2;
	rb_count = 1;
	rt_clusters = 1;
	for (;;) {
		meta = 1 + rt_clusters + rb_count + l1_clusters;
		uint64_t need_rb = (meta + per_block - 1) / per_block;
		uint64_t need_rt = MAX(1, (need_rb * 8 + cs - 1) / cs);
		if (need_rb <= rb_count && need_rt <= rt_clusters)
			break;
		rb_count = MAX(rb_count, need_rb);
		rt_clusters = MAX(rt_clusters, need_rt);
	}
	if (rt_clusters * cs > QCOW2_MAX_REFTABLE_BYTES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "the image needs bigger clusters");
		return false;
	}
	total = meta * cs;

	g_autofree uint8_t *header = g_malloc0(cs);
	qcow2_put_be32(header, QCOW2_MAGIC);
	qcow2_put_be32(header + 4, 3);
	qcow2_put_be32(header + 20, cluster_bits);
	qcow2_put_be64(header + 24, size);
	qcow2_put_be32(header + 36, l1_entries);
	qcow2_put_be64(header + 40, (1 + rt_clusters + rb_count) * cs);
	qcow2_put_be64(header + 48, cs);
	qcow2_put_be32(header + 56, rt_clusters);
	qcow2_put_be32(header + 96, 4);
	qcow2_put_be32(header + 100, 112);
	uint64_t pos = 112;
	if (backing_path) {
		size_t flen = strlen(backing_format), blen = strlen(backing_path);
		qcow2_put_be32(header + pos, EXT_BACKING_FORMAT);
		qcow2_put_be32(header + pos + 4, flen);
		memcpy(header + pos + 8, backing_format, flen);
		pos += 8 + ((flen + 7) & ~7ull);
		pos += 8; /* the end of the extensions: type 0, length 0 */
		if (pos + blen > cs) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "the backing file name does not fit in a %" G_GUINT64_FORMAT
				    "-byte header cluster",
				    cs);
			return false;
		}
		memcpy(header + pos, backing_path, blen);
		qcow2_put_be64(header + 8, pos);
		qcow2_put_be32(header + 16, blen);
	}

	g_autofree uint8_t *meta_buf = g_malloc0((rt_clusters + rb_count) * cs);
	for (uint64_t i = 0; i < rb_count; i++)
		qcow2_put_be64(meta_buf + i * 8, (1 + rt_clusters + i) * cs);
	uint8_t *blocks = meta_buf + rt_clusters * cs;
	for (uint64_t c = 0; c < meta; c++) {
		uint8_t *e = blocks + c * 2;
		e[0] = 0;
		e[1] = 1;
	}

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create %s: %s",
			    path, g_strerror(errno));
		return false;
	}
	int r = hg_block_fd_pwrite(fd, 0, header, cs);
	if (r == 0)
		r = hg_block_fd_pwrite(fd, cs, meta_buf, (rt_clusters + rb_count) * cs);
	if (r == 0 && ftruncate(fd, total) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "cannot write %s: %s",
			    path, g_strerror(-r));
		unlink(path);
		return false;
	}
	return true;
}

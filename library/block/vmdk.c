/* The VMDK driver, read-only, for importing disks made by VMware products,
 * VirtualBox or qemu-img (they are then copied to qcow2 by
 * hg_block_convert).  This file opens the image and dispatches reads to
 * its extents; vmdk_descriptor.c parses the text descriptor,
 * vmdk_sparse.c reads hosted sparse extents.
 *
 * Two ways in, told apart by content (block.c asks hg_block_vmdk_probe):
 *   - a sparse file with its descriptor inside (monolithicSparse,
 *     streamOptimized): the file is the disk's only extent, and no other
 *     file is opened whatever its descriptor names;
 *   - a descriptor file (monolithicFlat, twoGbMaxExtentSparse/Flat, ESX's
 *     vmfs): its extents are files named relative to its folder.  Only
 *     names in that folder or below it are followed (no absolute paths, no
 *     ".."): VMware writes them so, and a descriptor must not reach other
 *     files of the host.
 * Snapshot deltas (a parent disk), encrypted disks, ESX's sparse and raw
 * device extents are refused with the reason.
 *
 * Writes are refused at open: the image stays as the other product left
 * it, and Hangar's copy is the one that changes. */
#include "library/block/vmdk.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	VmdkExtentKind kind;
	uint64_t start; /* on the disk, in bytes */
	uint64_t length;
	int fd; /* FLAT; -1 otherwise */
	uint64_t file_offset; /* FLAT, in bytes */
	VmdkSparse *sparse; /* SPARSE */
} VmdkExtent;

typedef struct {
	VmdkExtent *extents; /* in disk order, back to back */
	unsigned count;
} HgVmdk;

static void vmdk_free(HgVmdk *v)
{
	for (unsigned i = 0; i < v->count; i++) {
		if (v->extents[i].fd >= 0)
			close(v->extents[i].fd);
		hg_vmdk_sparse_free(v->extents[i].sparse);
	}
	g_free(v->extents);
	g_free(v);
}

static HgVmdk *vmdk_new(unsigned count)
{
	HgVmdk *v = g_new0(HgVmdk, 1);

	v->extents = g_new0(VmdkExtent, count);
	for (unsigned i = 0; i < count; i++)
		v->extents[i].fd = -1;
	return v;
}

/* monolithicSparse and streamOptimized: fd is a sparse extent whose
 * descriptor must describe it alone. */
static HgVmdk *vmdk_open_monolithic(const char *path, int fd, GError **error)
{
	g_auto(VmdkDescriptor) desc = {0};
	g_autofree char *text = NULL;
	VmdkSparse *sparse;
	const VmdkExtentLine *line;
	size_t len = 0;
	HgVmdk *v;

	sparse = hg_vmdk_sparse_open(fd, path, error);
	if (!sparse) {
		close(fd);
		return NULL;
	}
	text = hg_vmdk_sparse_read_descriptor(sparse, &len, error);
	if (!text) {
		if (error && !*error)
			g_set_error(
				error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				"%s: a VMDK sparse extent without a descriptor: it is one piece "
				"of a split disk; open the descriptor file that lists it",
				path);
		hg_vmdk_sparse_free(sparse);
		return NULL;
	}
	if (!hg_vmdk_descriptor_parse(text, len, path, &desc, error)) {
		hg_vmdk_sparse_free(sparse);
		return NULL;
	}
	line = &g_array_index(desc.extents, VmdkExtentLine, 0);
	if ((strcmp(desc.create_type, "monolithicSparse") != 0 &&
	     strcmp(desc.create_type, "streamOptimized") != 0) ||
	    desc.extents->len != 1 || line->kind != VMDK_EXTENT_SPARSE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: the descriptor inside a sparse file must describe that file "
			    "alone (one SPARSE extent, monolithicSparse or streamOptimized), "
			    "not %.64s with %u extents",
			    path, desc.create_type, desc.extents->len);
		hg_vmdk_sparse_free(sparse);
		return NULL;
	}
	if (line->sectors != hg_vmdk_sparse_capacity(sparse)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: the descriptor gives %" G_GUINT64_FORMAT
			    " sectors, the sparse header %" G_GUINT64_FORMAT,
			    path, line->sectors, hg_vmdk_sparse_capacity(sparse));
		hg_vmdk_sparse_free(sparse);
		return NULL;
	}
	v = vmdk_new(1);
	v->count = 1;
	v->extents[0].kind = VMDK_EXTENT_SPARSE;
	v->extents[0].length = line->sectors * VMDK_SECTOR;
	v->extents[0].sparse = sparse;
	return v;
}

/* Only names inside the descriptor's folder (see the top of the file). */
static bool extent_name_check(const char *path, const char *name, GError **error)
{
	g_auto(GStrv) parts = NULL;
	const char *why = NULL;

	if (g_path_is_absolute(name))
		why = "an absolute path";
	else if (strchr(name, '\\'))
		why = "a Windows path";
	else {
		parts = g_strsplit(name, "/", -1);
		for (unsigned i = 0; parts[i]; i++)
			if (strcmp(parts[i], "..") == 0)
				why = "a path out of the descriptor's folder (\"..\")";
	}
	if (why) {
		g_set_error(
			error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			"%s: the extent \"%.200s\" is %s; only files in the descriptor's folder "
			"or below it are opened",
			path, name, why);
		return false;
	}
	return true;
}

static bool extent_open(const char *path, const char *dir, const VmdkExtentLine *line,
			VmdkExtent *extent, GError **error)
{
	g_autofree char *file = NULL;
	struct stat st;
	int fd;

	extent->kind = line->kind;
	extent->file_offset = line->file_offset * VMDK_SECTOR;
	if (line->kind == VMDK_EXTENT_ZERO)
		return true;
	if (!extent_name_check(path, line->file_name, error))
		return false;
	file = g_build_filename(dir, line->file_name, NULL);
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
			    "%s: cannot open its extent %s: %s", path, file, g_strerror(saved));
		return false;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: its extent %s is not a regular file", path, file);
		close(fd);
		return false;
	}
	if (line->kind == VMDK_EXTENT_FLAT) {
		extent->fd = fd;
		if ((uint64_t)st.st_size / VMDK_SECTOR < line->file_offset + line->sectors) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: its extent %s is shorter than the %" G_GUINT64_FORMAT
				    " sectors the descriptor gives (truncated?)",
				    path, file, line->file_offset + line->sectors);
			return false;
		}
		return true;
	}
	extent->sparse = hg_vmdk_sparse_open(fd, file, error);
	if (!extent->sparse) {
		close(fd);
		return false;
	}
	if (hg_vmdk_sparse_capacity(extent->sparse) != line->sectors) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: its extent %s holds %" G_GUINT64_FORMAT
			    " sectors, the descriptor gives %" G_GUINT64_FORMAT,
			    path, file, hg_vmdk_sparse_capacity(extent->sparse), line->sectors);
		return false;
	}
	return true;
}

/* A descriptor file and the extents it lists. */
static HgVmdk *vmdk_open_descriptor(const char *path, int fd, GError **error)
{
	g_auto(VmdkDescriptor) desc = {0};
	g_autofree char *text = NULL;
	g_autofree char *dir = g_path_get_dirname(path);
	struct stat st;
	uint64_t start = 0;
	HgVmdk *v;
	int r;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > VMDK_MAX_DESCRIPTOR_BYTES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: neither a VMDK sparse file nor a descriptor (at most %u bytes)",
			    path, VMDK_MAX_DESCRIPTOR_BYTES);
		close(fd);
		return NULL;
	}
	text = g_malloc(st.st_size + 1);
	r = hg_block_fd_pread(fd, 0, text, st.st_size);
	close(fd);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "%s: cannot read: %s",
			    path, g_strerror(-r));
		return NULL;
	}
	/* qemu-img pads descriptor files with NULs to a sector; anything
	 * after them is not a descriptor's. */
	for (size_t i = strnlen(text, st.st_size); i < (size_t)st.st_size; i++) {
		if (text[i] != '\0') {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: binary data in a VMDK descriptor file", path);
			return NULL;
		}
	}
	if (!hg_vmdk_descriptor_parse(text, st.st_size, path, &desc, error))
		return NULL;
	v = vmdk_new(desc.extents->len);
	for (unsigned i = 0; i < desc.extents->len; i++) {
		const VmdkExtentLine *line = &g_array_index(desc.extents, VmdkExtentLine, i);
		VmdkExtent *extent = &v->extents[i];

		v->count = i + 1;
		if (!extent_open(path, dir, line, extent, error)) {
			vmdk_free(v);
			return NULL;
		}
		extent->start = start;
		extent->length = line->sectors * VMDK_SECTOR;
		start += extent->length;
	}
	return v;
}

static bool vmdk_open(HgBlockBackend *blk, int fd, HgBlockChain *chain, GError **error)
{
	uint8_t magic[4] = {0};
	HgVmdk *v;
	int own_fd;

	(void)chain;
	if (!hg_block_read_only_open(blk, fd, "VMDK", NULL, error))
		return false;
	/* The caller closes fd on failure: work on a copy, closed by the
	 * paths below, and close fd only on success. */
	own_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own_fd < 0) {
		int saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s: %s", blk->path,
			    g_strerror(saved));
		return false;
	}
	(void)hg_block_fd_pread(own_fd, 0, magic, sizeof(magic));
	if (memcmp(magic, "KDMV", 4) == 0)
		v = vmdk_open_monolithic(blk->path, own_fd, error);
	else
		v = vmdk_open_descriptor(blk->path, own_fd, error);
	if (!v)
		return false;
	close(fd);
	blk->state = v;
	blk->size = v->count ? v->extents[v->count - 1].start + v->extents[v->count - 1].length : 0;
	return true;
}

static void vmdk_close(HgBlockBackend *blk)
{
	vmdk_free(blk->state);
}

/* The extent holding byte offset (which is below the disk's size). */
static VmdkExtent *extent_at(HgVmdk *v, uint64_t offset)
{
	unsigned low = 0, high = v->count - 1;

	while (low < high) {
		unsigned mid = low + (high - low + 1) / 2;
		if (v->extents[mid].start <= offset)
			low = mid;
		else
			high = mid - 1;
	}
	return &v->extents[low];
}

static int vmdk_readv(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	HgVmdk *v = blk->state;
	uint64_t len = hg_block_iov_length(iov, iovcnt), done = 0;

	while (done < len) {
		VmdkExtent *e = extent_at(v, offset + done);
		uint64_t in_extent = offset + done - e->start;
		uint64_t piece = MIN(e->length - in_extent, len - done);
		int r = 0;

		switch (e->kind) {
		case VMDK_EXTENT_ZERO:
			hg_block_iov_memset(iov, iovcnt, done, 0, piece);
			break;
		case VMDK_EXTENT_FLAT:
			r = hg_block_fd_read_into(e->fd, e->file_offset + in_extent, iov, iovcnt,
						  done, piece);
			break;
		case VMDK_EXTENT_SPARSE:
			if (done == 0 && piece == len) {
				r = hg_vmdk_sparse_readv(e->sparse, in_extent, iov, iovcnt);
			} else {
				struct iovec stack[256];
				struct iovec *slice = iovcnt <= (int)G_N_ELEMENTS(stack)
							      ? stack
							      : g_new(struct iovec, iovcnt);
				int n = hg_block_iov_slice(iov, iovcnt, done, piece, slice, iovcnt);
				r = n < 0 ? -EIO
					  : hg_vmdk_sparse_readv(e->sparse, in_extent, slice, n);
				if (slice != stack)
					g_free(slice);
			}
			break;
		}
		if (r < 0)
			return r;
		done += piece;
	}
	return 0;
}

static uint64_t vmdk_allocated_bytes(HgBlockBackend *blk)
{
	HgVmdk *v = blk->state;
	uint64_t total = 0;

	for (unsigned i = 0; i < v->count; i++) {
		VmdkExtent *e = &v->extents[i];
		if (e->kind == VMDK_EXTENT_FLAT)
			total += hg_block_fd_allocated_bytes(e->fd);
		else if (e->kind == VMDK_EXTENT_SPARSE)
			total += hg_block_fd_allocated_bytes(hg_vmdk_sparse_fd(e->sparse));
	}
	return total;
}

bool hg_block_vmdk_probe(int fd)
{
	g_autofree uint8_t *head = NULL;
	uint8_t magic[4];
	struct stat st;

	if (hg_block_fd_pread(fd, 0, magic, 4) == 0 && memcmp(magic, "KDMV", 4) == 0)
		return true;
	/* A descriptor is small text; a larger file (a raw disk that happens
	 * to start with such text) is never taken for one. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 8 ||
	    (uint64_t)st.st_size >= VMDK_PROBE_DESCRIPTOR_MAX_BYTES)
		return false;
	head = g_malloc(st.st_size);
	if (hg_block_fd_pread(fd, 0, head, st.st_size) < 0)
		return false;
	return hg_vmdk_descriptor_probe(head, st.st_size);
}

const HgBlockDriver hg_block_vmdk_driver = {
	.format_name = "vmdk",
	.open = vmdk_open,
	.close = vmdk_close,
	.readv = vmdk_readv,
	.writev = hg_block_read_only_writev,
	.flush = hg_block_read_only_flush,
	.discard = hg_block_read_only_discard,
	.write_zeroes = hg_block_read_only_write_zeroes,
	.allocated_bytes = vmdk_allocated_bytes,
};

/* Block backends: a disk image as the engine's storage devices see it.
 * Raw and qcow2 (versions 2 and 3, with backing chains); the import formats
 * VDI, VHD and VHDX, read-only (vdi.c, vhd.c, vhdx.c).  hg_block_open finds
 * the format from the content (magics, a VHD footer), never from the name.  Synchronous calls, safe from any
 * thread and from several threads at once (pread/pwrite-style, no shared
 * file offset); engine/block_queue.c runs them off the vCPU threads. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct HgBlockBackend HgBlockBackend;

HgBlockBackend *hg_block_open(const char *path, bool read_only, GError **error);
/* The same with the format given ("raw", "qcow2", ...) instead of probed:
 * for files whose content must not decide, like an ISO from anywhere,
 * which could otherwise carry a qcow2 header naming any host file as its
 * backing file. */
HgBlockBackend *hg_block_open_format(const char *path, const char *format, bool read_only,
				     GError **error);
/* Is name a format this version knows ("raw", "qcow2", "vmdk", "vdi",
 * "vpc", "vhdx")? */
bool hg_block_format_known(const char *name);
/* The format path's content names, from its first bytes (and a fixed VHD's
 * footer, a VMDK descriptor's text) alone: nothing else is opened, no
 * backing file followed.  "raw" when it names none.  For checking a format
 * recorded elsewhere against the file, and for the one recording of it
 * (docs/vm-config.md); what opens a VM's disk is the recorded format, never
 * this. */
const char *hg_block_probe_format(const char *path, GError **error);
void hg_block_close(HgBlockBackend *blk);
uint64_t hg_block_size(HgBlockBackend *blk);
bool hg_block_is_read_only(HgBlockBackend *blk);
const char *hg_block_path(HgBlockBackend *blk);
/* "raw", "qcow2", or one of the import formats, always read-only: "vmdk",
 * "vdi", "vpc" (VHD: QEMU's name, which qcow2 overlays record as their
 * backing format) and "vhdx". */
const char *hg_block_format(HgBlockBackend *blk);
/* The host space the image's files take, backing files included: an
 * estimate of how much data it holds (compressed clusters count at their
 * compressed size, metadata and clusters kept by snapshots count too). */
uint64_t hg_block_allocated_bytes(HgBlockBackend *blk);
/* Where the next data at or after offset may start: everything in between
 * reads as zeroes (a hole in a raw file).  offset itself when the format
 * cannot tell, or when offset is data; the size when only holes follow. */
uint64_t hg_block_next_data(HgBlockBackend *blk, uint64_t offset);

/* Each returns 0 or a negative errno.  A transfer past the end of the image
 * is -EIO; a write to a read-only backend is -EROFS. */
int hg_block_readv(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt);
int hg_block_writev(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt);
int hg_block_flush(HgBlockBackend *blk);
/* Deallocate (discard) or zero a range; either may unmap when allowed. */
int hg_block_discard(HgBlockBackend *blk, uint64_t offset, uint64_t len);
int hg_block_write_zeroes(HgBlockBackend *blk, uint64_t offset, uint64_t len, bool may_unmap);

/* Creates a qcow2 (version 3) image at path, which must not exist yet.
 * size 0 with a backing file takes the backing file's size.  backing_path
 * (NULL for none) is stored as given: a relative one is found from the new
 * image's folder, as qemu-img does.  cluster_bits: 9 (512 bytes) to 21
 * (2 MiB); 16 (64 KiB) is QEMU's default. */
bool hg_block_create_qcow2(const char *path, uint64_t size, const char *backing_path,
			   unsigned cluster_bits, GError **error);

/* Internal snapshots, stored in the image itself (qcow2's snapshot table),
 * so qemu-img lists and applies them too.  Other formats fail with
 * G_IO_ERROR_NOT_SUPPORTED.  A snapshot is named by its id ("1", "2", ...:
 * the table's unique id) or by its name, the id tried first, as qemu-img
 * does.  None of these may run while another thread does I/O on blk; the
 * engine calls them with its I/O drained and its vCPUs parked. */
typedef struct {
	char *id;
	char *name;
	gint64 date_sec; /* when it was taken, unix seconds ... */
	guint32 date_nsec; /* ... and nanoseconds */
	guint64 vm_clock_ns; /* the guest's clock then; 0 when not recorded */
	guint64 vm_state_size; /* bytes of VM state QEMU saved inside the image; Hangar's is 0 */
	guint64 disk_size; /* the disk's size then */
} HgBlockSnapshot;

void hg_block_snapshot_free(HgBlockSnapshot *snap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgBlockSnapshot, hg_block_snapshot_free)
/* In table order; a GPtrArray of HgBlockSnapshot * that frees them. */
GPtrArray *hg_block_snapshot_list(HgBlockBackend *blk, GError **error);
/* Takes the disk's present content as a new snapshot; name (1 to 255 bytes
 * of UTF-8, else G_IO_ERROR_INVALID_ARGUMENT) must not be taken as a name
 * or an id (G_IO_ERROR_EXISTS).  The id is one above the highest, as QEMU
 * picks them.  Durable when it returns, as are apply and delete: each is
 * one switch of the image's header, so a crash leaves it before or after. */
HgBlockSnapshot *hg_block_snapshot_create(HgBlockBackend *blk, const char *name,
					  guint64 vm_clock_ns, GError **error);
/* The disk's content becomes the snapshot's again (the snapshot stays),
 * and its size the snapshot's size (hg_block_size changes if the image was
 * resized since). */
bool hg_block_snapshot_apply(HgBlockBackend *blk, const char *id_or_name, GError **error);
/* Removes a snapshot; clusters only it used are freed. */
bool hg_block_snapshot_delete(HgBlockBackend *blk, const char *id_or_name, GError **error);
/* A read-only backend showing a snapshot's content (to copy it out, e.g.
 * as the base of a linked clone); the image itself is opened read-only. */
HgBlockBackend *hg_block_open_snapshot(const char *path, const char *id_or_name, GError **error);

/* Copies src's content into a new image at dst_path (which must not
 * exist), block by block: all-zero blocks stay unallocated, so a sparse
 * source stays sparse.  The result is written under a temporary name and
 * renamed when complete; a failure or cancel removes it.  progress (may be
 * NULL) is called from the calling thread with bytes done and total.
 *
 * The copy is what the guest sees: a backing chain is flattened into a
 * standalone image.  qcow2 results are version 3 with 64 KiB clusters.
 * Errors: G_IO_ERROR_EXISTS when dst_path exists (it is left alone);
 * G_IO_ERROR_NO_SPACE before anything is written when the folder's free
 * space is below an estimate from hg_block_allocated_bytes, and when a
 * write fails for lack of space (ENOSPC, EFBIG); G_IO_ERROR_CANCELLED
 * (checked between 1 MiB chunks); G_IO_ERROR_NOT_SUPPORTED for a raw copy
 * of a disk whose content starts with qcow2's magic (it would open as
 * qcow2, see raw.c).  The temporary file is ".NAME.XXXXXX" beside
 * dst_path; only a crash can leave one behind. */
typedef enum { HG_BLOCK_FORMAT_RAW, HG_BLOCK_FORMAT_QCOW2 } HgBlockFormat;
typedef void (*HgBlockProgressFunc)(guint64 done, guint64 total, gpointer user_data);
bool hg_block_convert(HgBlockBackend *src, const char *dst_path, HgBlockFormat format,
		      GCancellable *cancellable, HgBlockProgressFunc progress, gpointer user_data,
		      GError **error);

/* The backing file an image names, as a path (a relative name resolved
 * from the image's folder, as the image layer opens it); NULL without an
 * error when the image has none (raw, or qcow2 without one).  Reads the
 * header only: cheap enough to ask of every image in a library. */
char *hg_block_read_backing_path(const char *path, GError **error);

/* Changes the disk's size.  Growing keeps the content and reads the new
 * part as zeroes; shrinking is refused (G_IO_ERROR_NOT_SUPPORTED) when any
 * data lies past the new end, and otherwise returns the space.  qcow2 and
 * raw; other formats G_IO_ERROR_NOT_SUPPORTED.  No I/O may run meanwhile.
 * (The import streams images of unknown size into a growing qcow2.) */
bool hg_block_resize(HgBlockBackend *blk, uint64_t size, GError **error);

/* Block backends: a disk image as the engine's storage devices see it.
 * Raw and qcow2 (versions 2 and 3, with backing chains); the import formats
 * join here (issue 7).  hg_block_open finds the format from the content
 * (qcow2's magic), never from the name.  Synchronous calls, safe from any
 * thread and from several threads at once (pread/pwrite-style, no shared
 * file offset); engine/block_queue.c runs them off the vCPU threads. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct HgBlockBackend HgBlockBackend;

HgBlockBackend *hg_block_open(const char *path, bool read_only, GError **error);
void hg_block_close(HgBlockBackend *blk);
uint64_t hg_block_size(HgBlockBackend *blk);
bool hg_block_is_read_only(HgBlockBackend *blk);
const char *hg_block_path(HgBlockBackend *blk);
/* "raw" or "qcow2". */
const char *hg_block_format(HgBlockBackend *blk);

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

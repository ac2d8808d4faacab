/* Block backends: a disk image as the engine's storage devices see it.
 * Raw images for now; qcow2 and the import formats join here (issue 6, 7).
 * Synchronous calls, safe from any thread (pread/pwrite-style, no shared
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

/* Each returns 0 or a negative errno.  A transfer past the end of the image
 * is -EIO; a write to a read-only backend is -EROFS. */
int hg_block_readv(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt);
int hg_block_writev(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt);
int hg_block_flush(HgBlockBackend *blk);
/* Deallocate (discard) or zero a range; either may unmap when allowed. */
int hg_block_discard(HgBlockBackend *blk, uint64_t offset, uint64_t len);
int hg_block_write_zeroes(HgBlockBackend *blk, uint64_t offset, uint64_t len, bool may_unmap);

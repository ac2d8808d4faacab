/* Inside the image layer: what a format driver provides, and the helpers
 * the drivers share.  block.c checks ranges and read-only refusal before it
 * calls a driver, so drivers see only in-range requests. */
#pragma once

#include <sys/stat.h>

#include "library/block/block.h"

#include <sys/types.h>

typedef struct HgBlockDriver HgBlockDriver;

/* The images met while opening one chain (an image and its backing files):
 * loops are found by device and inode, and the depth is bounded. */
#define HG_BLOCK_MAX_CHAIN_DEPTH 64

typedef struct {
	unsigned depth; /* 0 for the image asked for, 1 for its backing file, ... */
	GArray *visited; /* of HgBlockFileId */
} HgBlockChain;

typedef struct {
	dev_t dev;
	ino_t ino;
} HgBlockFileId;

struct HgBlockBackend {
	const HgBlockDriver *driver;
	void *state; /* the driver's */
	char *path;
	uint64_t size; /* what the guest sees */
	bool read_only;
};

struct HgBlockDriver {
	const char *format_name;
	/* Takes fd (open, O_RDONLY or O_RDWR as blk->read_only says); on
	 * success sets blk->size and blk->state.  On failure the caller
	 * closes fd. */
	bool (*open)(HgBlockBackend *blk, int fd, HgBlockChain *chain, GError **error);
	void (*close)(HgBlockBackend *blk);
	int (*readv)(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt);
	int (*writev)(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov, int iovcnt);
	int (*flush)(HgBlockBackend *blk);
	int (*discard)(HgBlockBackend *blk, uint64_t offset, uint64_t len);
	int (*write_zeroes)(HgBlockBackend *blk, uint64_t offset, uint64_t len, bool may_unmap);
	/* Internal snapshots (block.h); NULL for formats without them.
	 * block.c refuses changes on read-only backends first.
	 * snapshot_show: a read-only backend shows the snapshot instead of
	 * the disk's present content. */
	GPtrArray *(*snapshot_list)(HgBlockBackend *blk, GError **error);
	HgBlockSnapshot *(*snapshot_create)(HgBlockBackend *blk, const char *name,
					    guint64 vm_clock_ns, GError **error);
	bool (*snapshot_apply)(HgBlockBackend *blk, const char *id_or_name, GError **error);
	bool (*snapshot_delete)(HgBlockBackend *blk, const char *id_or_name, GError **error);
	bool (*snapshot_show)(HgBlockBackend *blk, const char *id_or_name, GError **error);
	/* See hg_block_allocated_bytes. */
	uint64_t (*allocated_bytes)(HgBlockBackend *blk);
	/* See hg_block_next_data; NULL: every byte may be data. */
	uint64_t (*next_data)(HgBlockBackend *blk, uint64_t offset);
	/* See hg_block_resize; NULL: the size is fixed.  Called on a
	 * writable backend with a size that differs from blk->size; sets
	 * blk->size. */
	bool (*resize)(HgBlockBackend *blk, uint64_t size, GError **error);
};

extern const HgBlockDriver hg_block_raw_driver;
extern const HgBlockDriver hg_block_qcow2_driver;
/* The import formats, read-only. */
extern const HgBlockDriver hg_block_vdi_driver;
extern const HgBlockDriver hg_block_vhd_driver;
extern const HgBlockDriver hg_block_vhdx_driver;
/* A VHD: its footer's copy at the start (head: the file's first bytes), or
 * a valid footer in its last 512 bytes (a fixed disk; one more pread). */
bool hg_block_vhd_probe(const uint8_t *head, size_t head_len, const uint8_t *tail);

/* The format a file's bytes say it is: head is its first bytes (at least
 * HG_BLOCK_PROBE_HEAD when the file is that long), tail its last 512 (NULL
 * when shorter).  Pure: raw.c asks it what a write would turn a raw disk
 * into. */
#define HG_BLOCK_PROBE_HEAD 0x44
#define HG_BLOCK_PROBE_TAIL 512
const HgBlockDriver *hg_block_probe_bytes(const uint8_t *head, size_t head_len,
					  const uint8_t *tail);
extern const HgBlockDriver hg_block_vmdk_driver;
/* Is fd a VMDK sparse file or descriptor? (vmdk.c) */
bool hg_block_vmdk_probe(int fd);

/* Opens one image of a chain; format NULL probes the content. */
HgBlockBackend *hg_block_open_in_chain(const char *path, const char *format, bool read_only,
				       HgBlockChain *chain, GError **error);

/* The iovec helpers.  hg_block_iov_slice fills out[] (at most out_max
 * entries) with the part [skip, skip + len) of iov and returns the count,
 * or -1 when out_max is too small. */
uint64_t hg_block_iov_length(const struct iovec *iov, int iovcnt);
int hg_block_iov_slice(const struct iovec *iov, int iovcnt, uint64_t skip, uint64_t len,
		       struct iovec *out, int out_max);
void hg_block_iov_to_buffer(const struct iovec *iov, int iovcnt, uint64_t skip, void *buf,
			    uint64_t len);
void hg_block_iov_from_buffer(const struct iovec *iov, int iovcnt, uint64_t skip, const void *buf,
			      uint64_t len);
void hg_block_iov_memset(const struct iovec *iov, int iovcnt, uint64_t skip, int c, uint64_t len);

/* preadv/pwritev until done (short transfers, EINTR); 0 or -errno, -EIO
 * when the file ends first. */
int hg_block_fd_transfer(int fd, uint64_t offset, const struct iovec *iov, int iovcnt, bool write);
/* pread/pwrite of one buffer, the same way. */
int hg_block_fd_pread(int fd, uint64_t offset, void *buf, size_t len);
int hg_block_fd_pwrite(int fd, uint64_t offset, const void *buf, size_t len);
/* The host space a file takes (st_blocks); a block device's size. */
uint64_t hg_block_fd_allocated_bytes(int fd);
/* Reads fd's bytes [file_offset, + len) into [skip, skip + len) of iov. */
int hg_block_fd_read_into(int fd, uint64_t file_offset, const struct iovec *iov, int iovcnt,
			  uint64_t skip, uint64_t len);

/* A read of an image's blocks gathered into runs: pieces that follow each
 * other both in the request and in the file become one read.  Pieces are
 * added in request order; every call returns 0 or the -errno of a read. */
typedef struct {
	int fd;
	const struct iovec *iov;
	int iovcnt;
	uint64_t file, skip, len; /* the pending run: file offset, request offset, length */
} HgBlockReadRun;
void hg_block_read_run_init(HgBlockReadRun *run, int fd, const struct iovec *iov, int iovcnt);
int hg_block_read_run_add(HgBlockReadRun *run, uint64_t file_offset, uint64_t skip, uint64_t len);
int hg_block_read_run_finish(HgBlockReadRun *run);

/* A read of an image made of fixed-size blocks, each in the file or
 * reading as zeroes: locate gives the file offset of block number index,
 * or false for zeroes.  Blocks that follow each other in the file are read
 * as one (HgBlockReadRun). */
typedef bool (*HgBlockLocateFunc)(const void *state, uint64_t index, uint64_t *file_offset);
int hg_block_read_blocks(int fd, unsigned block_bits, HgBlockLocateFunc locate, const void *state,
			 uint64_t offset, const struct iovec *iov, int iovcnt);

/* The start of a read-only format's open: refuses a writable open
 * ("FORMAT images are opened read-only: convert to qcow2 to write") and,
 * when st is not NULL, stats fd. */
bool hg_block_read_only_open(HgBlockBackend *blk, int fd, const char *format, struct stat *st,
			     GError **error);

/* The callbacks of a read-only format (import formats): writes, discards
 * and zeroing fail with -EROFS; flush has nothing to do. */
int hg_block_read_only_writev(HgBlockBackend *blk, uint64_t offset, const struct iovec *iov,
			      int iovcnt);
int hg_block_read_only_discard(HgBlockBackend *blk, uint64_t offset, uint64_t len);
int hg_block_read_only_write_zeroes(HgBlockBackend *blk, uint64_t offset, uint64_t len,
				    bool may_unmap);
int hg_block_read_only_flush(HgBlockBackend *blk);

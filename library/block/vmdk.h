/* Inside the VMDK driver (read-only): what vmdk.c, vmdk_descriptor.c and
 * vmdk_sparse.c share.  The format is VMware's "Virtual Disk Format 5.0"
 * technical note: a text descriptor lists the disk's extents (raw files,
 * hosted sparse files, zero ranges), and hosted sparse files map grains
 * through a grain directory and grain tables. */
#pragma once

#include "library/block/block_driver.h"

#define VMDK_SECTOR 512u
/* Limits for what files may claim, so that a broken or hostile image
 * cannot make the driver allocate much or loop long.  A descriptor is a
 * few hundred bytes (about 40 more per extent); 4096 extents are a split
 * disk of 8 TiB in 2 GiB pieces (each an open file). */
#define VMDK_MAX_DESCRIPTOR_BYTES (1u << 20)
#define VMDK_MAX_EXTENTS 4096u
/* 128 TiB: above what VMware creates (62 TiB). */
#define VMDK_MAX_SECTORS (1ull << 38)
/* What block.c probes as a descriptor file: text this small. */
#define VMDK_PROBE_DESCRIPTOR_MAX_BYTES (64u * 1024)

/* The descriptor, as parsed. */
typedef enum {
	VMDK_EXTENT_FLAT, /* FLAT and VMFS: a raw file from an offset */
	VMDK_EXTENT_SPARSE, /* a hosted sparse file (KDMV) */
	VMDK_EXTENT_ZERO, /* reads as zeroes, no file */
} VmdkExtentKind;

typedef struct {
	VmdkExtentKind kind;
	uint64_t sectors;
	char *file_name; /* relative to the descriptor's folder; NULL for ZERO */
	uint64_t file_offset; /* in sectors, FLAT only */
} VmdkExtentLine;

typedef struct {
	unsigned version;
	char *create_type;
	GArray *extents; /* of VmdkExtentLine */
} VmdkDescriptor;

/* Parses text (len bytes, not NUL-terminated; it ends at the first NUL)
 * into desc; where names the file in errors.  Refuses what the driver
 * cannot read (unknown createType, other extent types, encrypted disks,
 * snapshot deltas, unsafe extent names), saying why. */
bool hg_vmdk_descriptor_parse(const char *text, size_t len, const char *where, VmdkDescriptor *desc,
			      GError **error);
void hg_vmdk_descriptor_clear(VmdkDescriptor *desc);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(VmdkDescriptor, hg_vmdk_descriptor_clear)
/* Does this start like a descriptor file?  For probing small files. */
bool hg_vmdk_descriptor_probe(const uint8_t *head, size_t len);

/* A hosted sparse extent file (monolithicSparse, twoGbMaxExtentSparse's
 * pieces, streamOptimized).  Safe for reads from several threads. */
typedef struct VmdkSparse VmdkSparse;

/* Checks the header (and a streamOptimized footer) and the grain
 * directory; takes fd on success. */
VmdkSparse *hg_vmdk_sparse_open(int fd, const char *path, GError **error);
void hg_vmdk_sparse_free(VmdkSparse *sparse);
uint64_t hg_vmdk_sparse_capacity(VmdkSparse *sparse); /* in sectors */
int hg_vmdk_sparse_fd(VmdkSparse *sparse);
/* The embedded descriptor, NULL (without error) when there is none. */
char *hg_vmdk_sparse_read_descriptor(VmdkSparse *sparse, size_t *len, GError **error);
/* Reads [offset, offset + length of iov) of the extent, in bytes: 0 or
 * -errno (-EIO for anything the file gets wrong). */
int hg_vmdk_sparse_readv(VmdkSparse *sparse, uint64_t offset, const struct iovec *iov, int iovcnt);

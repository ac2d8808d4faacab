/* Split virtqueues, the device's side (virtio 1.2, 2.7): a bounds-checked
 * walker over the driver's descriptor chains and the used ring with its
 * notification suppression.
 *
 * The rings live in guest RAM and the guest is hostile.  hg_virtq_map
 * checks the three ring areas against guest memory once; every descriptor
 * is read once into a local copy (the driver may change it meanwhile) and
 * every buffer it names is mapped with hg_memory_ptr.  A chain that loops,
 * runs past its table, points outside RAM, puts device-readable buffers
 * after device-writable ones or nests indirect tables is refused with an
 * error the device turns into "needs reset".
 *
 * Threads: the caller serialises all calls on one queue (the device lock). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "engine/memory.h"

/* The largest queue this code accepts (the PCI transport's devices may
 * offer less). */
#define HG_VIRTQ_MAX_SIZE 1024

#define HG_VIRTQ_DESC_F_NEXT 1
#define HG_VIRTQ_DESC_F_WRITE 2
#define HG_VIRTQ_DESC_F_INDIRECT 4
#define HG_VIRTQ_AVAIL_F_NO_INTERRUPT 1

typedef struct {
	/* What the driver configured (through the transport). */
	uint16_t size;
	uint64_t desc_addr, avail_addr, used_addr;
	/* Negotiated features that change how the ring is used. */
	bool event_idx; /* VIRTIO_F_EVENT_IDX */
	bool indirect; /* VIRTIO_F_INDIRECT_DESC */

	/* The device's position: the next avail entry to take, the next used
	 * entry to fill, and the used index at the last notification. */
	uint16_t last_avail_idx;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;

	/* Host views of the rings, NULL until hg_virtq_map succeeds. */
	HgGuestMemory *mem;
	uint8_t *desc;
	uint8_t *avail;
	uint8_t *used;
} HgVirtq;

/* One descriptor chain, as host memory: the device-readable segments
 * first (n_out), then the device-writable ones (n_in).  The caller owns
 * iov (capacity entries) and may trim the segments in place. */
typedef struct {
	uint16_t head;
	unsigned n_out, n_in;
	uint64_t out_len, in_len; /* bytes in each part */
	unsigned capacity;
	struct iovec *iov;
} HgVirtqElem;

typedef enum {
	HG_VIRTQ_OK,
	HG_VIRTQ_EMPTY, /* nothing available */
	HG_VIRTQ_ERR_NOT_MAPPED, /* rings were never mapped */
	HG_VIRTQ_ERR_AVAIL_IDX, /* avail idx ran more than a ring ahead */
	HG_VIRTQ_ERR_HEAD, /* head index outside the descriptor table */
	HG_VIRTQ_ERR_NEXT, /* next index outside its table */
	HG_VIRTQ_ERR_TOO_LONG, /* more descriptors than the queue size: a loop */
	HG_VIRTQ_ERR_ADDRESS, /* a buffer or table outside RAM */
	HG_VIRTQ_ERR_ORDER, /* device-readable after device-writable */
	HG_VIRTQ_ERR_INDIRECT, /* malformed or unnegotiated indirect table */
	HG_VIRTQ_ERR_NESTED, /* an indirect descriptor inside a table */
} HgVirtqError;

const char *hg_virtq_error_string(HgVirtqError err);

/* Check size (a power of two up to HG_VIRTQ_MAX_SIZE), alignment and that
 * each ring lies in RAM; on success the queue is usable.  Leaves the
 * indices alone (a restore maps a queue that is already running). */
bool hg_virtq_map(HgVirtq *vq, HgGuestMemory *mem);
void hg_virtq_unmap(HgVirtq *vq);
static inline bool hg_virtq_mapped(const HgVirtq *vq)
{
	return vq->desc != NULL;
}

/* Back to the state after reset: unmapped, indices zero. */
void hg_virtq_reset(HgVirtq *vq);

/* Is there an avail entry the device has not taken? */
bool hg_virtq_avail_pending(HgVirtq *vq);

/* Take the next available chain into elem.  HG_VIRTQ_OK: elem is filled
 * and last_avail_idx moved on.  Errors leave the queue where it was. */
HgVirtqError hg_virtq_pop(HgVirtq *vq, HgVirtqElem *elem);

/* Walk the chain starting at head (exposed for unit tests). */
HgVirtqError hg_virtq_walk(HgVirtq *vq, uint16_t head, HgVirtqElem *elem);

/* Return a chain to the driver with len bytes written. */
void hg_virtq_push(HgVirtq *vq, uint16_t head, uint32_t len);

/* After pushes: should the driver be notified (2.7.10)?  Honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with VIRTIO_F_EVENT_IDX. */
bool hg_virtq_should_notify(HgVirtq *vq);

/* With VIRTIO_F_EVENT_IDX, ask the driver to notify for the next avail
 * entry (avail_event = last_avail_idx).  Returns true when entries arrived
 * meanwhile, so the caller keeps going instead of waiting for a kick that
 * will not come. */
bool hg_virtq_enable_notify(HgVirtq *vq);

/* Byte-stream helpers over a segment list. */
size_t hg_iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len);
size_t hg_iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf,
		       size_t len);
/* Drop the first bytes of a segment list in place; returns the new count
 * and moves *iov to the first remaining segment. */
unsigned hg_iov_discard_front(struct iovec **iov, unsigned n, size_t bytes);

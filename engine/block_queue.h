/* Asynchronous block I/O for storage devices: requests are submitted from a
 * vCPU thread (device lock held) and run on worker threads, so a slow disk
 * never stalls a vCPU; completions run on the main thread with the device
 * lock held.  hg_machine_drain_io() waits for everything in flight (before
 * save, reset or quit).
 *
 * Ownership: the request (and the memory its iovecs point to, usually
 * guest RAM) belongs to the queue from submit until its complete callback
 * has run; the device allocates requests up front (no allocation per I/O). */
#pragma once

#include <stdint.h>
#include <sys/uio.h>

#include "engine/machine.h"
#include "library/block/block.h"

typedef enum {
	HG_BLOCK_READ,
	HG_BLOCK_WRITE,
	HG_BLOCK_FLUSH,
	HG_BLOCK_DISCARD,
	HG_BLOCK_WRITE_ZEROES, /* may_unmap says whether holes are fine */
} HgBlockOp;

typedef struct HgBlockRequest HgBlockRequest;
struct HgBlockRequest {
	HgBlockOp op;
	uint64_t offset;
	uint64_t len; /* DISCARD and WRITE_ZEROES */
	bool may_unmap;
	struct iovec *iov; /* READ and WRITE */
	int iovcnt;
	/* result: 0 or a negative errno; device lock held, main thread (or
	 * the thread draining). */
	void (*complete)(HgBlockRequest *req, int result);
	void *opaque;
	/* the queue's */
	int result;
	HgBlockRequest *next_done;
};

typedef struct HgBlockQueue HgBlockQueue;

HgBlockQueue *hg_block_queue_new(HgMachine *m, HgBlockBackend *backend);
/* Drains, then frees the queue (not the backend). */
void hg_block_queue_free(HgBlockQueue *q);
void hg_block_queue_submit(HgBlockQueue *q, HgBlockRequest *req);
unsigned hg_block_queue_in_flight(HgBlockQueue *q);

/* Wait for every request of every queue of the machine and run their
 * completions here.  Call with the device lock held. */
void hg_machine_drain_io(HgMachine *m);

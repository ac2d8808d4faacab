/* virtio-blk: virtio 1.2, 5.2 (feature bits 5.2.3, configuration 5.2.4,
 * requests 5.2.6), on the modern PCI transport (virtio_pci.c).
 *
 * One request queue.  The notify handler (vCPU thread, device lock held)
 * takes chains off the ring, checks them and submits them to the disk's
 * HgBlockQueue; the block queue's completions (main loop, device lock held)
 * write the status byte, push the used entry and interrupt the driver.
 * Requests are preallocated, one per queue entry, each with room for a
 * chain as long as the queue: nothing is allocated per I/O and nothing in
 * proportion to what the guest asks for.
 *
 * The request is a byte stream, framed however the driver likes (2.7.4):
 * a 16-byte header at the start of the device-readable part, the status
 * byte at the end of the device-writable part, data in between. */
#include "devices/virtio/virtio_blk.h"

#include <endian.h>
#include <string.h>

#include "engine/block_queue.h"

#define VIRTIO_ID_BLOCK 2
#define BLK_QUEUE_SIZE 256
#define BLK_SEG_MAX (BLK_QUEUE_SIZE - 2) /* room for header and status */
#define BLK_SIZE_MAX (1u << 20)
#define SECTOR_SIZE 512
#define BLK_MAX_DISCARD_SECTORS 0x3fffffu /* 2 GiB - 512 per request */
#define BLK_DISCARD_ALIGNMENT 8 /* sectors: 4 KiB, a typical hole size */
#define BLK_MAX_WRITE_ZEROES_SECTORS 0x3fffffu
#define BLK_SERIAL_LEN 20

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* struct virtio_blk_config (5.2.4). */
#define CFG_CAPACITY 0
#define CFG_SIZE_MAX 8
#define CFG_SEG_MAX 12
#define CFG_CYLINDERS 16
#define CFG_HEADS 18
#define CFG_SECTORS 19
#define CFG_BLK_SIZE 20
#define CFG_PHYSICAL_BLOCK_EXP 24
#define CFG_ALIGNMENT_OFFSET 25
#define CFG_MIN_IO_SIZE 26
#define CFG_OPT_IO_SIZE 28
#define CFG_WRITEBACK 32
#define CFG_NUM_QUEUES 34
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_SECTOR_ALIGNMENT 44
#define CFG_MAX_WRITE_ZEROES_SECTORS 48
#define CFG_MAX_WRITE_ZEROES_SEG 52
#define CFG_WRITE_ZEROES_MAY_UNMAP 56
#define CONFIG_SIZE 60

/* Requests (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define REQ_HEADER_SIZE 16
#define DWZ_SEGMENT_SIZE 16 /* struct virtio_blk_discard_write_zeroes */
#define DWZ_FLAG_UNMAP 1

typedef struct VirtioBlk VirtioBlk;
typedef struct BlkRequest BlkRequest;

struct BlkRequest {
	HgBlockRequest block;
	VirtioBlk *blk;
	HgVirtqElem elem;
	uint8_t *status; /* in guest RAM: the chain's last writable byte */
	uint32_t used_len;
	BlkRequest *next_free;
};

struct VirtioBlk {
	HgVirtioPci vp;
	HgBlockBackend *backend; /* the platform's */
	HgBlockQueue *queue;
	bool read_only;
	uint64_t capacity; /* in 512-byte sectors */
	uint8_t config[CONFIG_SIZE];
	char serial[BLK_SERIAL_LEN]; /* NUL-padded, no terminator at 20 */

	BlkRequest *requests; /* BLK_QUEUE_SIZE of them */
	struct iovec *iovecs; /* BLK_QUEUE_SIZE for each request */
	BlkRequest *free_requests;
	unsigned in_flight;
	bool stalled; /* stopped with entries left: no free request */
};

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

/* ---- completion ---- */

static void blk_complete(VirtioBlk *b, BlkRequest *req, uint8_t status)
{
	HgVirtq *vq = hg_virtio_pci_vq(&b->vp, 0);

	*req->status = status;
	/* Reset drains first, so the rings are still there; be sure anyway. */
	if (hg_virtq_mapped(vq)) {
		hg_virtq_push(vq, req->elem.head, req->used_len);
		hg_virtio_pci_notify_queue(&b->vp, 0);
	}
	req->next_free = b->free_requests;
	b->free_requests = req;
	b->in_flight--;
}

/* Block queue completion: main loop (or a drain), device lock held. */
static void blk_block_done(HgBlockRequest *block, int result)
{
	BlkRequest *req = block->opaque;
	VirtioBlk *b = req->blk;

	if (result < 0)
		g_debug("%s: %s failed: %s", b->vp.pci.dev.id, hg_block_path(b->backend),
			g_strerror(-result));
	blk_complete(b, req, result == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
	if (b->stalled) {
		/* Not from here: a drain must not start new requests. */
		b->stalled = false;
		hg_virtio_pci_kick_later(&b->vp, 0);
	}
}

static void blk_submit(VirtioBlk *b, BlkRequest *req, HgBlockOp op, uint64_t offset, uint64_t len,
		       struct iovec *iov, unsigned iovcnt, bool may_unmap)
{
	req->block = (HgBlockRequest){
		.op = op,
		.offset = offset,
		.len = len,
		.may_unmap = may_unmap,
		.iov = iov,
		.iovcnt = iovcnt,
		.complete = blk_block_done,
		.opaque = req,
	};
	hg_block_queue_submit(b->queue, &req->block);
}

static bool blk_range_ok(VirtioBlk *b, uint64_t sector, uint64_t sectors)
{
	return sector <= b->capacity && sectors <= b->capacity - sector;
}

/* ---- requests ---- */

static void blk_read_write(VirtioBlk *b, BlkRequest *req, bool write, uint64_t sector,
			   struct iovec *iov, unsigned n, uint64_t len)
{
	if (write && b->read_only) {
		blk_complete(b, req, VIRTIO_BLK_S_IOERR); /* and nothing written */
		return;
	}
	if (len % SECTOR_SIZE || !blk_range_ok(b, sector, len / SECTOR_SIZE)) {
		blk_complete(b, req, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (len == 0) {
		blk_complete(b, req, VIRTIO_BLK_S_OK);
		return;
	}
	blk_submit(b, req, write ? HG_BLOCK_WRITE : HG_BLOCK_READ, sector * SECTOR_SIZE, 0, iov, n,
		   false);
}

/* VIRTIO_BLK_T_DISCARD and _WRITE_ZEROES: segments in the readable data
 * (5.2.6); max_discard_seg and max_write_zeroes_seg are 1. */
static void blk_discard_write_zeroes(VirtioBlk *b, BlkRequest *req, bool discard, struct iovec *out,
				     unsigned n_out, uint64_t len)
{
	unsigned feature = discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
	uint32_t max_sectors = discard ? BLK_MAX_DISCARD_SECTORS : BLK_MAX_WRITE_ZEROES_SECTORS;
	uint8_t seg[DWZ_SEGMENT_SIZE];
	uint64_t sector;
	uint32_t sectors, flags;

	if (!(b->vp.device_features >> feature & 1)) {
		blk_complete(b, req, VIRTIO_BLK_S_UNSUPP);
		return;
	}
	if (len == 0 || len % DWZ_SEGMENT_SIZE) {
		blk_complete(b, req, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (len / DWZ_SEGMENT_SIZE > 1) {
		blk_complete(b, req, VIRTIO_BLK_S_UNSUPP);
		return;
	}
	hg_iov_to_buf(out, n_out, 0, seg, sizeof(seg));
	memcpy(&sector, seg, 8);
	memcpy(&sectors, seg + 8, 4);
	memcpy(&flags, seg + 12, 4);
	sector = le64toh(sector);
	sectors = le32toh(sectors);
	flags = le32toh(flags);
	/* Unknown flags, or unmap on a discard: UNSUPP (5.2.6.2). */
	if ((flags & ~DWZ_FLAG_UNMAP) || (discard && (flags & DWZ_FLAG_UNMAP))) {
		blk_complete(b, req, VIRTIO_BLK_S_UNSUPP);
		return;
	}
	if (sectors > max_sectors || !blk_range_ok(b, sector, sectors)) {
		blk_complete(b, req, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (sectors == 0) {
		blk_complete(b, req, VIRTIO_BLK_S_OK);
		return;
	}
	blk_submit(b, req, discard ? HG_BLOCK_DISCARD : HG_BLOCK_WRITE_ZEROES, sector * SECTOR_SIZE,
		   (uint64_t)sectors * SECTOR_SIZE, NULL, 0, flags & DWZ_FLAG_UNMAP);
}

/* Returns false when the chain cannot be a request at all (no header, no
 * status byte): the driver broke the protocol. */
static bool blk_handle_request(VirtioBlk *b, BlkRequest *req)
{
	HgVirtqElem *e = &req->elem;
	uint8_t header[REQ_HEADER_SIZE];
	struct iovec *out = e->iov, *in = e->iov + e->n_out, *last;
	unsigned n_out, n_in = e->n_in;
	uint64_t out_len, in_len;
	uint32_t type;
	uint64_t sector;

	if (e->out_len < REQ_HEADER_SIZE || e->in_len < 1)
		return false;
	hg_iov_to_buf(e->iov, e->n_out, 0, header, sizeof(header));
	memcpy(&type, header, 4);
	memcpy(&sector, header + 8, 8);
	type = le32toh(type);
	sector = le64toh(sector);
	/* The status byte is the last writable byte; data comes before it. */
	last = &in[n_in - 1];
	req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	if (--last->iov_len == 0)
		n_in--;
	in_len = e->in_len - 1;
	n_out = hg_iov_discard_front(&out, e->n_out, REQ_HEADER_SIZE);
	out_len = e->out_len - REQ_HEADER_SIZE;
	req->used_len = MIN(e->in_len, UINT32_MAX);

	switch (type) {
	case VIRTIO_BLK_T_IN:
		blk_read_write(b, req, false, sector, in, n_in, in_len);
		break;
	case VIRTIO_BLK_T_OUT:
		blk_read_write(b, req, true, sector, out, n_out, out_len);
		break;
	case VIRTIO_BLK_T_FLUSH:
		blk_submit(b, req, HG_BLOCK_FLUSH, 0, 0, NULL, 0, false);
		break;
	case VIRTIO_BLK_T_GET_ID:
		hg_iov_from_buf(in, n_in, 0, b->serial, MIN(in_len, BLK_SERIAL_LEN));
		blk_complete(b, req, VIRTIO_BLK_S_OK);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		blk_discard_write_zeroes(b, req, type == VIRTIO_BLK_T_DISCARD, out, n_out, out_len);
		break;
	default:
		blk_complete(b, req, VIRTIO_BLK_S_UNSUPP);
		break;
	}
	return true;
}

static void blk_process_queue(VirtioBlk *b)
{
	HgVirtioPci *vp = &b->vp;
	HgVirtq *vq = hg_virtio_pci_vq(vp, 0);
	unsigned budget = vq->size;

	while (hg_virtio_pci_queue_ready(vp, 0)) {
		BlkRequest *req = b->free_requests;
		HgVirtqError err;

		if (budget-- == 0) {
			/* A driver feeding the ring from another vCPU as fast as
			 * requests fail must not keep the device lock forever. */
			hg_virtio_pci_kick_later(vp, 0);
			return;
		}
		if (!req) {
			/* More in flight than the ring holds: only a driver that
			 * repeats heads gets here.  A completion resumes. */
			b->stalled = true;
			return;
		}
		err = hg_virtq_pop(vq, &req->elem);
		if (err == HG_VIRTQ_EMPTY) {
			if (hg_virtq_enable_notify(vq))
				continue;
			return;
		}
		if (err != HG_VIRTQ_OK) {
			hg_virtio_pci_set_needs_reset(vp, hg_virtq_error_string(err));
			return;
		}
		b->free_requests = req->next_free;
		b->in_flight++;
		if (!blk_handle_request(b, req)) {
			req->next_free = b->free_requests;
			b->free_requests = req;
			b->in_flight--;
			hg_virtio_pci_set_needs_reset(vp, "request without header or status byte");
			return;
		}
	}
}

/* ---- transport hooks ---- */

static void blk_get_config(HgVirtioPci *vp, unsigned offset, void *data, unsigned size)
{
	VirtioBlk *b = (VirtioBlk *)vp;
	memcpy(data, b->config + offset, size);
}

static void blk_queue_notify(HgVirtioPci *vp, unsigned queue)
{
	blk_process_queue((VirtioBlk *)vp);
}

static void blk_virtio_reset(HgVirtioPci *vp)
{
	VirtioBlk *b = (VirtioBlk *)vp;

	/* No DMA after reset: wait for what is in flight (its completions
	 * still find the rings). */
	if (b->in_flight)
		hg_machine_drain_io(vp->pci.dev.machine);
	b->stalled = false;
}

static const HgVirtioOps blk_virtio_ops = {
	.get_config = blk_get_config,
	.queue_notify = blk_queue_notify,
	.reset = blk_virtio_reset,
};

/* ---- configuration ---- */

static void blk_build_config(VirtioBlk *b)
{
	uint8_t *c = b->config;
	uint64_t cylinders = b->capacity / (16 * 63);

	memset(c, 0, sizeof(b->config));
	put64(c + CFG_CAPACITY, b->capacity);
	put32(c + CFG_SIZE_MAX, BLK_SIZE_MAX);
	put32(c + CFG_SEG_MAX, BLK_SEG_MAX);
	/* A CHS geometry for BIOS INT 13h users (SeaBIOS reads it). */
	put16(c + CFG_CYLINDERS, CLAMP(cylinders, 2, 16383));
	c[CFG_HEADS] = 16;
	c[CFG_SECTORS] = 63;
	put32(c + CFG_BLK_SIZE, SECTOR_SIZE);
	c[CFG_PHYSICAL_BLOCK_EXP] = 0;
	c[CFG_ALIGNMENT_OFFSET] = 0;
	put16(c + CFG_MIN_IO_SIZE, 1);
	put32(c + CFG_OPT_IO_SIZE, 0);
	c[CFG_WRITEBACK] = 0;
	put16(c + CFG_NUM_QUEUES, 1);
	put32(c + CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS);
	put32(c + CFG_MAX_DISCARD_SEG, 1);
	put32(c + CFG_DISCARD_SECTOR_ALIGNMENT, BLK_DISCARD_ALIGNMENT);
	put32(c + CFG_MAX_WRITE_ZEROES_SECTORS, BLK_MAX_WRITE_ZEROES_SECTORS);
	put32(c + CFG_MAX_WRITE_ZEROES_SEG, 1);
	c[CFG_WRITE_ZEROES_MAY_UNMAP] = 1;
}

/* ---- device class ---- */

static void blk_reset(HgDevice *dev)
{
	hg_virtio_pci_reset((HgVirtioPci *)dev);
}

static GVariant *blk_save(HgDevice *dev)
{
	VirtioBlk *b = (VirtioBlk *)dev;
	GVariantBuilder builder;

	g_variant_builder_init(&builder, G_VARIANT_TYPE_VARDICT);
	hg_virtio_pci_save(&b->vp, &builder);
	g_variant_builder_add(&builder, "{sv}", "blk-config",
			      hg_bytes_variant(b->config, sizeof(b->config)));
	return g_variant_builder_end(&builder);
}

static bool blk_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	VirtioBlk *b = (VirtioBlk *)dev;
	uint8_t config[CONFIG_SIZE];

	if (!hg_virtio_pci_load(&b->vp, r, error) ||
	    !hg_record_bytes(r, "blk-config", config, sizeof(config), error)) {
		g_prefix_error(error, "%s: ", dev->id);
		return false;
	}
	if (memcmp(config, b->config, sizeof(config)) != 0) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: the disk's size or limits differ from the saved ones", dev->id);
		return false;
	}
	return true;
}

static void blk_destroy(HgDevice *dev)
{
	VirtioBlk *b = (VirtioBlk *)dev;

	hg_block_queue_free(b->queue);
	hg_virtio_pci_finalize(&b->vp);
	g_free(b->requests);
	g_free(b->iovecs);
	g_free(b);
}

static const HgDeviceClass hg_virtio_blk_class = {
	.name = "virtio-blk",
	.bus = "pci",
	.state_version = 1,
	.reset = blk_reset,
	.save = blk_save,
	.load = blk_load,
	.destroy = blk_destroy,
};

HgDevice *hg_virtio_blk_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, const char *id,
			       HgBlockBackend *backend, const char *serial, GError **error)
{
	VirtioBlk *b = g_new0(VirtioBlk, 1);
	uint64_t features = 1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_BLK_F_SEG_MAX |
			    1ull << VIRTIO_BLK_F_GEOMETRY | 1ull << VIRTIO_BLK_F_BLK_SIZE |
			    1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_TOPOLOGY;

	b->backend = backend;
	b->read_only = hg_block_is_read_only(backend);
	b->capacity = hg_block_size(backend) / SECTOR_SIZE;
	if (b->read_only)
		features |= 1ull << VIRTIO_BLK_F_RO;
	else
		features |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	if (serial)
		memcpy(b->serial, serial, MIN(strlen(serial), sizeof(b->serial)));
	blk_build_config(b);
	hg_virtio_pci_init(&b->vp, &hg_virtio_blk_class, &blk_virtio_ops, m, id, VIRTIO_ID_BLOCK,
			   0x018000, 0x1100, 1, BLK_QUEUE_SIZE, CONFIG_SIZE, features);

	b->requests = g_new0(BlkRequest, BLK_QUEUE_SIZE);
	b->iovecs = g_new0(struct iovec, (size_t)BLK_QUEUE_SIZE * BLK_QUEUE_SIZE);
	for (unsigned i = BLK_QUEUE_SIZE; i > 0; i--) {
		BlkRequest *req = &b->requests[i - 1];
		req->blk = b;
		req->elem.iov = b->iovecs + (size_t)(i - 1) * BLK_QUEUE_SIZE;
		req->elem.capacity = BLK_QUEUE_SIZE;
		req->next_free = b->free_requests;
		b->free_requests = req;
	}
	b->queue = hg_block_queue_new(m, backend);
	if (!hg_pci_bus_plug(bus, &b->vp.pci, devfn, error)) {
		char *dev_id = b->vp.pci.dev.id;
		blk_destroy(&b->vp.pci.dev);
		g_free(dev_id);
		return NULL;
	}
	return &b->vp.pci.dev;
}

/* Split virtqueues: virtio 1.2, 2.7 (descriptor table 2.7.5, indirect
 * descriptors 2.7.5.3, available ring 2.7.6, used ring 2.7.8, notification
 * suppression 2.7.7 and 2.7.10).  See virtqueue.h. */
#include "devices/virtio/virtqueue.h"

#include <endian.h>
#include <string.h>

#define DESC_SIZE 16
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING 4
#define USED_ELEM_SIZE 8

typedef struct {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} VirtqDesc;

const char *hg_virtq_error_string(HgVirtqError err)
{
	switch (err) {
	case HG_VIRTQ_OK:
		return "ok";
	case HG_VIRTQ_EMPTY:
		return "empty";
	case HG_VIRTQ_ERR_NOT_MAPPED:
		return "rings are not mapped";
	case HG_VIRTQ_ERR_AVAIL_IDX:
		return "avail index ran more than a ring ahead";
	case HG_VIRTQ_ERR_HEAD:
		return "head index outside the descriptor table";
	case HG_VIRTQ_ERR_NEXT:
		return "next index outside the descriptor table";
	case HG_VIRTQ_ERR_TOO_LONG:
		return "chain longer than the queue (a loop?)";
	case HG_VIRTQ_ERR_ADDRESS:
		return "buffer outside guest RAM";
	case HG_VIRTQ_ERR_ORDER:
		return "device-readable buffer after a device-writable one";
	case HG_VIRTQ_ERR_INDIRECT:
		return "malformed indirect descriptor";
	case HG_VIRTQ_ERR_NESTED:
		return "indirect descriptor inside an indirect table";
	}
	return "unknown error";
}

/* The driver writes the rings concurrently: read each field once, with a
 * compiler barrier so the local copy is what the checks and uses see. */
static uint16_t ring_load16(const uint8_t *p, bool acquire)
{
	uint16_t v =
		__atomic_load_n((const uint16_t *)p, acquire ? __ATOMIC_ACQUIRE : __ATOMIC_RELAXED);
	return le16toh(v);
}

static void ring_store16(uint8_t *p, uint16_t v, bool release)
{
	__atomic_store_n((uint16_t *)p, htole16(v), release ? __ATOMIC_RELEASE : __ATOMIC_RELAXED);
}

static void desc_read(const uint8_t *p, VirtqDesc *d)
{
	uint8_t raw[DESC_SIZE];

	memcpy(raw, p, sizeof(raw));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(&d->addr, raw, 8);
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + 12, 2);
	memcpy(&d->next, raw + 14, 2);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

static uint64_t avail_size(uint16_t size)
{
	return AVAIL_RING + 2ull * size + 2; /* + used_event */
}

static uint64_t used_size(uint16_t size)
{
	return USED_RING + (uint64_t)USED_ELEM_SIZE * size + 2; /* + avail_event */
}

bool hg_virtq_map(HgVirtq *vq, HgGuestMemory *mem)
{
	uint16_t size = vq->size;

	hg_virtq_unmap(vq);
	if (size == 0 || (size & (size - 1)) || size > HG_VIRTQ_MAX_SIZE)
		return false;
	if ((vq->desc_addr & 15) || (vq->avail_addr & 1) || (vq->used_addr & 3))
		return false;
	uint8_t *desc = hg_memory_ptr(mem, vq->desc_addr, (uint64_t)DESC_SIZE * size);
	uint8_t *avail = hg_memory_ptr(mem, vq->avail_addr, avail_size(size));
	uint8_t *used = hg_memory_ptr(mem, vq->used_addr, used_size(size));
	if (!desc || !avail || !used)
		return false;
	vq->mem = mem;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	return true;
}

void hg_virtq_unmap(HgVirtq *vq)
{
	vq->mem = NULL;
	vq->desc = vq->avail = vq->used = NULL;
}

void hg_virtq_reset(HgVirtq *vq)
{
	hg_virtq_unmap(vq);
	vq->last_avail_idx = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
}

bool hg_virtq_avail_pending(HgVirtq *vq)
{
	if (!vq->desc)
		return false;
	return ring_load16(vq->avail + AVAIL_IDX, true) != vq->last_avail_idx;
}

HgVirtqError hg_virtq_walk(HgVirtq *vq, uint16_t head, HgVirtqElem *elem)
{
	const uint8_t *table = vq->desc;
	unsigned table_size = vq->size;
	unsigned idx = head;
	unsigned count = 0;
	bool in_indirect = false, seen_writable = false;

	if (!vq->desc)
		return HG_VIRTQ_ERR_NOT_MAPPED;
	elem->head = head;
	elem->n_out = elem->n_in = 0;
	elem->out_len = elem->in_len = 0;
	if (head >= vq->size)
		return HG_VIRTQ_ERR_HEAD;
	for (;;) {
		VirtqDesc d;

		/* A chain may not be longer than the queue (2.7.5.3.1), which
		 * also ends any loop, in the ring or in an indirect table. */
		if (++count > vq->size)
			return HG_VIRTQ_ERR_TOO_LONG;
		desc_read(table + (size_t)idx * DESC_SIZE, &d);
		if (d.flags & HG_VIRTQ_DESC_F_INDIRECT) {
			if (in_indirect)
				return HG_VIRTQ_ERR_NESTED;
			if (!vq->indirect || (d.flags & HG_VIRTQ_DESC_F_NEXT) || d.len == 0 ||
			    d.len % DESC_SIZE || d.len / DESC_SIZE > HG_VIRTQ_MAX_SIZE)
				return HG_VIRTQ_ERR_INDIRECT;
			table = hg_memory_ptr(vq->mem, d.addr, d.len);
			if (!table)
				return HG_VIRTQ_ERR_ADDRESS;
			table_size = d.len / DESC_SIZE;
			idx = 0;
			in_indirect = true;
			count--; /* the table pointer is no buffer */
			continue;
		}
		bool writable = d.flags & HG_VIRTQ_DESC_F_WRITE;
		if (!writable && seen_writable)
			return HG_VIRTQ_ERR_ORDER;
		seen_writable |= writable;
		if (d.len) {
			void *p = hg_memory_ptr(vq->mem, d.addr, d.len);
			if (!p)
				return HG_VIRTQ_ERR_ADDRESS;
			if (elem->n_out + elem->n_in >= elem->capacity)
				return HG_VIRTQ_ERR_TOO_LONG;
			elem->iov[elem->n_out + elem->n_in] =
				(struct iovec){.iov_base = p, .iov_len = d.len};
			if (writable) {
				elem->n_in++;
				elem->in_len += d.len;
			} else {
				elem->n_out++;
				elem->out_len += d.len;
			}
		}
		if (!(d.flags & HG_VIRTQ_DESC_F_NEXT))
			return HG_VIRTQ_OK;
		idx = d.next;
		if (idx >= table_size)
			return HG_VIRTQ_ERR_NEXT;
	}
}

HgVirtqError hg_virtq_pop(HgVirtq *vq, HgVirtqElem *elem)
{
	uint16_t avail_idx, head;
	HgVirtqError err;

	if (!vq->desc)
		return HG_VIRTQ_ERR_NOT_MAPPED;
	avail_idx = ring_load16(vq->avail + AVAIL_IDX, true);
	if (avail_idx == vq->last_avail_idx)
		return HG_VIRTQ_EMPTY;
	if ((uint16_t)(avail_idx - vq->last_avail_idx) > vq->size)
		return HG_VIRTQ_ERR_AVAIL_IDX;
	head = ring_load16(vq->avail + AVAIL_RING + 2 * (vq->last_avail_idx % vq->size), false);
	err = hg_virtq_walk(vq, head, elem);
	if (err == HG_VIRTQ_OK)
		vq->last_avail_idx++;
	return err;
}

void hg_virtq_push(HgVirtq *vq, uint16_t head, uint32_t len)
{
	uint8_t *elem = vq->used + USED_RING + (size_t)USED_ELEM_SIZE * (vq->used_idx % vq->size);
	uint32_t id_le = htole32(head), len_le = htole32(len);

	memcpy(elem, &id_le, 4);
	memcpy(elem + 4, &len_le, 4);
	vq->used_idx++;
	/* The entry before the index that publishes it (2.7.8.2). */
	ring_store16(vq->used + USED_IDX, vq->used_idx, true);
}

bool hg_virtq_should_notify(HgVirtq *vq)
{
	uint16_t old, now = vq->used_idx, event;
	bool valid;

	if (!vq->desc)
		return false;
	/* The used index must be visible before the driver's suppression
	 * fields are read, or both sides could decide not to act. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(ring_load16(vq->avail + AVAIL_FLAGS, false) &
			 HG_VIRTQ_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	vq->signalled_used = now;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	event = ring_load16(vq->avail + AVAIL_RING + 2 * vq->size, false);
	/* vring_need_event: did the used index pass used_event since the last
	 * notification? */
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

bool hg_virtq_enable_notify(HgVirtq *vq)
{
	if (!vq->desc || !vq->event_idx)
		return false;
	ring_store16(vq->used + USED_RING + (size_t)USED_ELEM_SIZE * vq->size, vq->last_avail_idx,
		     false);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return hg_virtq_avail_pending(vq);
}

size_t hg_iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		size_t step = MIN(iov[i].iov_len - offset, len - done);
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + offset, step);
		done += step;
		offset = 0;
	}
	return done;
}

size_t hg_iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf,
		       size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		size_t step = MIN(iov[i].iov_len - offset, len - done);
		memcpy((uint8_t *)iov[i].iov_base + offset, (const uint8_t *)buf + done, step);
		done += step;
		offset = 0;
	}
	return done;
}

unsigned hg_iov_discard_front(struct iovec **iov, unsigned n, size_t bytes)
{
	struct iovec *v = *iov;

	while (n && bytes >= v->iov_len) {
		bytes -= v->iov_len;
		v++;
		n--;
	}
	if (n && bytes) {
		v->iov_base = (uint8_t *)v->iov_base + bytes;
		v->iov_len -= bytes;
	}
	*iov = v;
	return n;
}

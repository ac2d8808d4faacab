/* Unit tests of the split virtqueue walker (devices/virtio/virtqueue.c)
 * against real guest memory (engine/memory.c), without an engine: ring
 * layouts written by hand, hostile ones included. */
#include <string.h>

#include "devices/virtio/virtqueue.h"

#define RAM_SIZE (16u << 20)
#define QSIZE 8
#define DESC_ADDR 0x1000
#define AVAIL_ADDR 0x2000
#define USED_ADDR 0x3000
#define BUF_ADDR 0x10000
#define TABLE_ADDR 0x20000

typedef struct {
	HgGuestMemory mem;
	HgVirtq vq;
	struct iovec iov[64];
	HgVirtqElem elem;
} Fixture;

static void fixture_set_up(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(hg_memory_init(&f->mem, RAM_SIZE, &error));
	g_assert_no_error(error);
	memset(&f->vq, 0, sizeof(f->vq));
	f->vq.size = QSIZE;
	f->vq.desc_addr = DESC_ADDR;
	f->vq.avail_addr = AVAIL_ADDR;
	f->vq.used_addr = USED_ADDR;
	f->vq.indirect = true;
	g_assert_true(hg_virtq_map(&f->vq, &f->mem));
	f->elem = (HgVirtqElem){.capacity = G_N_ELEMENTS(f->iov), .iov = f->iov};
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
	hg_memory_destroy(&f->mem);
}

static void put_desc(Fixture *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *p = hg_memory_ptr(&f->mem, table + 16 * i, 16);
	g_assert_nonnull(p);
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void put16(Fixture *f, uint64_t gpa, uint16_t v)
{
	g_assert_true(hg_memory_write(&f->mem, gpa, &v, 2));
}

static uint16_t get16(Fixture *f, uint64_t gpa)
{
	uint16_t v;
	g_assert_true(hg_memory_read(&f->mem, gpa, &v, 2));
	return v;
}

static uint32_t get32(Fixture *f, uint64_t gpa)
{
	uint32_t v;
	g_assert_true(hg_memory_read(&f->mem, gpa, &v, 4));
	return v;
}

/* Make head available as entry n (avail idx becomes n + 1). */
static void offer(Fixture *f, uint16_t n, uint16_t head)
{
	put16(f, AVAIL_ADDR + 4 + 2 * (n % QSIZE), head);
	put16(f, AVAIL_ADDR + 2, n + 1);
}

static void test_map_refuses_bad_sizes_alignment_and_addresses(Fixture *f, gconstpointer d)
{
	HgVirtq vq = f->vq;

	vq.size = 6;
	g_assert_false(hg_virtq_map(&vq, &f->mem));
	vq.size = 0;
	g_assert_false(hg_virtq_map(&vq, &f->mem));
	vq.size = 2048;
	g_assert_false(hg_virtq_map(&vq, &f->mem));
	vq.size = QSIZE;
	vq.desc_addr = DESC_ADDR + 8;
	g_assert_false(hg_virtq_map(&vq, &f->mem));
	vq.desc_addr = DESC_ADDR;
	vq.used_addr = USED_ADDR + 2;
	g_assert_false(hg_virtq_map(&vq, &f->mem));
	vq.used_addr = RAM_SIZE - 8; /* runs past the end of RAM */
	g_assert_false(hg_virtq_map(&vq, &f->mem));
	g_assert_false(hg_virtq_mapped(&vq));
	vq.used_addr = USED_ADDR;
	g_assert_true(hg_virtq_map(&vq, &f->mem));
}

static void test_pop_on_an_empty_ring_gives_nothing(Fixture *f, gconstpointer d)
{
	g_assert_false(hg_virtq_avail_pending(&f->vq));
	g_assert_cmpint(hg_virtq_pop(&f->vq, &f->elem), ==, HG_VIRTQ_EMPTY);
}

static void test_chain_splits_readable_and_writable(Fixture *f, gconstpointer d)
{
	put_desc(f, DESC_ADDR, 3, BUF_ADDR, 16, HG_VIRTQ_DESC_F_NEXT, 5);
	put_desc(f, DESC_ADDR, 5, BUF_ADDR + 0x100, 512,
		 HG_VIRTQ_DESC_F_NEXT | HG_VIRTQ_DESC_F_WRITE, 0);
	put_desc(f, DESC_ADDR, 0, BUF_ADDR + 0x400, 1, HG_VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0, 3);
	g_assert_true(hg_virtq_avail_pending(&f->vq));
	g_assert_cmpint(hg_virtq_pop(&f->vq, &f->elem), ==, HG_VIRTQ_OK);
	g_assert_cmpuint(f->elem.head, ==, 3);
	g_assert_cmpuint(f->elem.n_out, ==, 1);
	g_assert_cmpuint(f->elem.n_in, ==, 2);
	g_assert_cmpuint(f->elem.out_len, ==, 16);
	g_assert_cmpuint(f->elem.in_len, ==, 513);
	g_assert_true(f->iov[0].iov_base == hg_memory_ptr(&f->mem, BUF_ADDR, 16));
	g_assert_true(f->iov[2].iov_base == hg_memory_ptr(&f->mem, BUF_ADDR + 0x400, 1));
	g_assert_cmpuint(f->vq.last_avail_idx, ==, 1);
	g_assert_cmpint(hg_virtq_pop(&f->vq, &f->elem), ==, HG_VIRTQ_EMPTY);
}

static void test_zero_length_descriptors_are_skipped(Fixture *f, gconstpointer d)
{
	/* Even one pointing nowhere: no byte of it is touched. */
	put_desc(f, DESC_ADDR, 0, 0xfffffffff000ull, 0, HG_VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, DESC_ADDR, 1, BUF_ADDR, 8, 0, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_OK);
	g_assert_cmpuint(f->elem.n_out, ==, 1);
}

static void test_walk_rejects_a_loop(Fixture *f, gconstpointer d)
{
	put_desc(f, DESC_ADDR, 0, BUF_ADDR, 16, HG_VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, DESC_ADDR, 1, BUF_ADDR, 16, HG_VIRTQ_DESC_F_NEXT, 0);
	offer(f, 0, 0);
	g_assert_cmpint(hg_virtq_pop(&f->vq, &f->elem), ==, HG_VIRTQ_ERR_TOO_LONG);
	g_assert_cmpuint(f->vq.last_avail_idx, ==, 0);
	/* A descriptor pointing at itself. */
	put_desc(f, DESC_ADDR, 2, BUF_ADDR, 16, HG_VIRTQ_DESC_F_NEXT, 2);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 2, &f->elem), ==, HG_VIRTQ_ERR_TOO_LONG);
}

static void test_walk_rejects_indices_outside_the_table(Fixture *f, gconstpointer d)
{
	put_desc(f, DESC_ADDR, 0, BUF_ADDR, 16, HG_VIRTQ_DESC_F_NEXT, QSIZE);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_NEXT);
	offer(f, 0, QSIZE + 3);
	g_assert_cmpint(hg_virtq_pop(&f->vq, &f->elem), ==, HG_VIRTQ_ERR_HEAD);
}

static void test_walk_rejects_buffers_outside_ram(Fixture *f, gconstpointer d)
{
	put_desc(f, DESC_ADDR, 0, RAM_SIZE - 4, 8, 0, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_ADDRESS);
	put_desc(f, DESC_ADDR, 0, BUF_ADDR, 0xffffffffu, 0, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_ADDRESS);
	put_desc(f, DESC_ADDR, 0, 0xfffffffffffffff0ull, 0x20, 0, 0); /* wraps */
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_ADDRESS);
}

static void test_walk_rejects_readable_after_writable(Fixture *f, gconstpointer d)
{
	put_desc(f, DESC_ADDR, 0, BUF_ADDR, 16, HG_VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, DESC_ADDR, 1, BUF_ADDR, 16, HG_VIRTQ_DESC_F_NEXT | HG_VIRTQ_DESC_F_WRITE, 2);
	put_desc(f, DESC_ADDR, 2, BUF_ADDR, 1, 0, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_ORDER);
}

static void test_walk_follows_an_indirect_table(Fixture *f, gconstpointer d)
{
	/* One direct descriptor, then the table (2.7.5.3.2 allows it). */
	put_desc(f, DESC_ADDR, 0, BUF_ADDR, 16, HG_VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, DESC_ADDR, 1, TABLE_ADDR, 3 * 16, HG_VIRTQ_DESC_F_INDIRECT, 0);
	put_desc(f, TABLE_ADDR, 0, BUF_ADDR + 0x100, 4, HG_VIRTQ_DESC_F_NEXT, 2);
	put_desc(f, TABLE_ADDR, 2, BUF_ADDR + 0x200, 512,
		 HG_VIRTQ_DESC_F_NEXT | HG_VIRTQ_DESC_F_WRITE, 1);
	put_desc(f, TABLE_ADDR, 1, BUF_ADDR + 0x400, 1, HG_VIRTQ_DESC_F_WRITE, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_OK);
	g_assert_cmpuint(f->elem.n_out, ==, 2);
	g_assert_cmpuint(f->elem.n_in, ==, 2);
	g_assert_cmpuint(f->elem.out_len, ==, 20);
	g_assert_cmpuint(f->elem.in_len, ==, 513);
}

static void test_walk_rejects_bad_indirect_tables(Fixture *f, gconstpointer d)
{
	put_desc(f, TABLE_ADDR, 0, BUF_ADDR, 16, 0, 0);
	/* Nested. */
	put_desc(f, TABLE_ADDR, 1, TABLE_ADDR, 16, HG_VIRTQ_DESC_F_INDIRECT, 0);
	put_desc(f, DESC_ADDR, 0, TABLE_ADDR + 16, 16, HG_VIRTQ_DESC_F_INDIRECT, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_NESTED);
	/* Length not a multiple of 16, zero, or beyond RAM. */
	put_desc(f, DESC_ADDR, 0, TABLE_ADDR, 24, HG_VIRTQ_DESC_F_INDIRECT, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_INDIRECT);
	put_desc(f, DESC_ADDR, 0, TABLE_ADDR, 0, HG_VIRTQ_DESC_F_INDIRECT, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_INDIRECT);
	put_desc(f, DESC_ADDR, 0, RAM_SIZE - 16, 32, HG_VIRTQ_DESC_F_INDIRECT, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_ADDRESS);
	/* INDIRECT with NEXT. */
	put_desc(f, DESC_ADDR, 0, TABLE_ADDR, 16, HG_VIRTQ_DESC_F_INDIRECT | HG_VIRTQ_DESC_F_NEXT,
		 1);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_INDIRECT);
	/* Not negotiated. */
	put_desc(f, DESC_ADDR, 0, TABLE_ADDR, 16, HG_VIRTQ_DESC_F_INDIRECT, 0);
	f->vq.indirect = false;
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_INDIRECT);
}

static void test_indirect_chain_may_not_exceed_the_queue_size(Fixture *f, gconstpointer d)
{
	unsigned n = QSIZE + 1;

	for (unsigned i = 0; i < n; i++)
		put_desc(f, TABLE_ADDR, i, BUF_ADDR, 16, i + 1 < n ? HG_VIRTQ_DESC_F_NEXT : 0,
			 i + 1);
	put_desc(f, DESC_ADDR, 0, TABLE_ADDR, 16 * n, HG_VIRTQ_DESC_F_INDIRECT, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_TOO_LONG);
	/* Exactly the queue size is fine. */
	put_desc(f, TABLE_ADDR, QSIZE - 1, BUF_ADDR, 16, 0, 0);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_OK);
	g_assert_cmpuint(f->elem.n_out, ==, QSIZE);
	/* A loop inside the table. */
	put_desc(f, TABLE_ADDR, 3, BUF_ADDR, 16, HG_VIRTQ_DESC_F_NEXT, 1);
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_TOO_LONG);
}

static void test_walk_stops_at_the_callers_capacity(Fixture *f, gconstpointer d)
{
	for (unsigned i = 0; i < 4; i++)
		put_desc(f, DESC_ADDR, i, BUF_ADDR, 16, i < 3 ? HG_VIRTQ_DESC_F_NEXT : 0, i + 1);
	f->elem.capacity = 3;
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_ERR_TOO_LONG);
	f->elem.capacity = 4;
	g_assert_cmpint(hg_virtq_walk(&f->vq, 0, &f->elem), ==, HG_VIRTQ_OK);
}

static void test_avail_index_may_not_run_a_ring_ahead(Fixture *f, gconstpointer d)
{
	put_desc(f, DESC_ADDR, 0, BUF_ADDR, 16, 0, 0);
	put16(f, AVAIL_ADDR + 2, QSIZE + 1);
	g_assert_cmpint(hg_virtq_pop(&f->vq, &f->elem), ==, HG_VIRTQ_ERR_AVAIL_IDX);
	put16(f, AVAIL_ADDR + 2, QSIZE);
	g_assert_cmpint(hg_virtq_pop(&f->vq, &f->elem), ==, HG_VIRTQ_OK);
}

static void test_push_publishes_the_entry_and_index(Fixture *f, gconstpointer d)
{
	for (unsigned i = 0; i < QSIZE + 2; i++)
		hg_virtq_push(&f->vq, i % QSIZE, 100 + i);
	g_assert_cmpuint(get16(f, USED_ADDR + 2), ==, QSIZE + 2);
	/* Entries wrap: slot 1 holds the 10th. */
	g_assert_cmpuint(get32(f, USED_ADDR + 4 + 8 * 1), ==, (QSIZE + 1) % QSIZE);
	g_assert_cmpuint(get32(f, USED_ADDR + 4 + 8 * 1 + 4), ==, 100 + QSIZE + 1);
}

static void test_no_interrupt_flag_suppresses_notification(Fixture *f, gconstpointer d)
{
	hg_virtq_push(&f->vq, 0, 1);
	g_assert_true(hg_virtq_should_notify(&f->vq));
	put16(f, AVAIL_ADDR, HG_VIRTQ_AVAIL_F_NO_INTERRUPT);
	hg_virtq_push(&f->vq, 0, 1);
	g_assert_false(hg_virtq_should_notify(&f->vq));
}

static void test_event_index_decides_notification(Fixture *f, gconstpointer d)
{
	uint64_t used_event = AVAIL_ADDR + 4 + 2 * QSIZE;

	f->vq.event_idx = true;
	put16(f, AVAIL_ADDR, HG_VIRTQ_AVAIL_F_NO_INTERRUPT); /* ignored with event idx */
	put16(f, used_event, 2);
	hg_virtq_push(&f->vq, 0, 1);
	g_assert_true(hg_virtq_should_notify(&f->vq)); /* the first always goes */
	hg_virtq_push(&f->vq, 0, 1); /* used idx 2: used_event 2 not yet written */
	g_assert_false(hg_virtq_should_notify(&f->vq));
	hg_virtq_push(&f->vq, 0, 1); /* entry 2 written: notify */
	g_assert_true(hg_virtq_should_notify(&f->vq));
	hg_virtq_push(&f->vq, 0, 1);
	g_assert_false(hg_virtq_should_notify(&f->vq));
	/* Two at once across the event. */
	put16(f, used_event, 5);
	hg_virtq_push(&f->vq, 0, 1);
	hg_virtq_push(&f->vq, 0, 1);
	g_assert_true(hg_virtq_should_notify(&f->vq));
	/* Nothing new: nothing to say. */
	g_assert_false(hg_virtq_should_notify(&f->vq));
}

static void test_enable_notify_writes_avail_event(Fixture *f, gconstpointer d)
{
	uint64_t avail_event = USED_ADDR + 4 + 8 * QSIZE;

	g_assert_false(hg_virtq_enable_notify(&f->vq)); /* no event idx: nothing */
	f->vq.event_idx = true;
	put_desc(f, DESC_ADDR, 0, BUF_ADDR, 16, 0, 0);
	offer(f, 0, 0);
	g_assert_true(hg_virtq_enable_notify(&f->vq)); /* work is waiting */
	g_assert_cmpuint(get16(f, avail_event), ==, 0);
	g_assert_cmpint(hg_virtq_pop(&f->vq, &f->elem), ==, HG_VIRTQ_OK);
	g_assert_false(hg_virtq_enable_notify(&f->vq));
	g_assert_cmpuint(get16(f, avail_event), ==, 1);
}

static void test_iov_helpers(void)
{
	uint8_t a[3] = {1, 2, 3}, b[4] = {4, 5, 6, 7}, out[5];
	struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}}, *p = iov;

	g_assert_cmpuint(hg_iov_to_buf(iov, 2, 2, out, 4), ==, 4);
	g_assert_cmpmem(out, 4, ((uint8_t[]){3, 4, 5, 6}), 4);
	g_assert_cmpuint(hg_iov_to_buf(iov, 2, 6, out, 4), ==, 1);
	g_assert_cmpuint(hg_iov_from_buf(iov, 2, 1, (uint8_t[]){9, 9, 9}, 3), ==, 3);
	g_assert_cmpmem(a, 3, ((uint8_t[]){1, 9, 9}), 3);
	g_assert_cmpuint(b[0], ==, 9);
	g_assert_cmpuint(hg_iov_discard_front(&p, 2, 4), ==, 1);
	g_assert_true(p == &iov[1]);
	g_assert_cmpuint(p->iov_len, ==, 3);
	g_assert_cmpuint(hg_iov_discard_front(&p, 1, 3), ==, 0);
}

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ADD("/virtqueue/map/refuses-bad-sizes-alignment-and-addresses",
	    test_map_refuses_bad_sizes_alignment_and_addresses);
	ADD("/virtqueue/pop/empty-ring-gives-nothing", test_pop_on_an_empty_ring_gives_nothing);
	ADD("/virtqueue/walk/splits-readable-and-writable",
	    test_chain_splits_readable_and_writable);
	ADD("/virtqueue/walk/skips-zero-length-descriptors",
	    test_zero_length_descriptors_are_skipped);
	ADD("/virtqueue/walk/rejects-a-loop", test_walk_rejects_a_loop);
	ADD("/virtqueue/walk/rejects-indices-outside-the-table",
	    test_walk_rejects_indices_outside_the_table);
	ADD("/virtqueue/walk/rejects-buffers-outside-ram", test_walk_rejects_buffers_outside_ram);
	ADD("/virtqueue/walk/rejects-readable-after-writable",
	    test_walk_rejects_readable_after_writable);
	ADD("/virtqueue/walk/follows-an-indirect-table", test_walk_follows_an_indirect_table);
	ADD("/virtqueue/walk/rejects-bad-indirect-tables", test_walk_rejects_bad_indirect_tables);
	ADD("/virtqueue/walk/indirect-chain-may-not-exceed-the-queue-size",
	    test_indirect_chain_may_not_exceed_the_queue_size);
	ADD("/virtqueue/walk/stops-at-the-callers-capacity",
	    test_walk_stops_at_the_callers_capacity);
	ADD("/virtqueue/pop/avail-index-may-not-run-a-ring-ahead",
	    test_avail_index_may_not_run_a_ring_ahead);
	ADD("/virtqueue/used/push-publishes-the-entry-and-index",
	    test_push_publishes_the_entry_and_index);
	ADD("/virtqueue/notify/no-interrupt-flag-suppresses",
	    test_no_interrupt_flag_suppresses_notification);
	ADD("/virtqueue/notify/event-index-decides", test_event_index_decides_notification);
	ADD("/virtqueue/notify/enable-notify-writes-avail-event",
	    test_enable_notify_writes_avail_event);
	g_test_add_func("/virtqueue/iov/helpers", test_iov_helpers);
	return g_test_run();
}

/* Disk throughput through the engine's block path, for bench-qcow2-io.py:
 *   qcow2-io-bench [-w] [-c COUNT] [-d DEPTH] [-s SIZE] [-S STEP] [-o OFFSET]
 *                  [-p PATTERN] IMAGE
 *   qcow2-io-bench -C SIZE IMAGE
 *
 * The second form only creates an empty qcow2 image of SIZE bytes with
 * hg_block_create_qcow2 (64 KiB clusters), and exits.
 *
 * The same requests, in the same order, as `qemu-img bench` with the same
 * options: COUNT requests of SIZE bytes (reads, or writes of bytes PATTERN
 * with -w), DEPTH in flight, the first at OFFSET and each next one STEP
 * bytes further, modulo the image size (so a STEP that is an odd multiple
 * of SIZE, with a power-of-two image, visits the image in a scattered
 * order without repeating an offset).
 *
 * The requests go where a storage device's go: an HgBlockQueue
 * (engine/block_queue.c) of a machine in harness mode (no KVM: the queue
 * only needs the machine's device lock), whose worker threads call
 * hg_block_readv/writev on the image, and whose completions run on the
 * main loop with the device lock held.  Each completion submits the next
 * request, as a device refilling its ring would.  The buffers are the
 * machine's guest RAM, one SIZE slot per request in flight.
 *
 * Timed from the first submission to the last completion, nothing flushed
 * (as qemu-img bench, which flushes only on close); the image is opened
 * and closed outside that time.  Prints "Run completed in S seconds." and
 * exits 0, or 1 when a request failed. */
#include "engine/block_queue.h"
#include "engine/machine.h"
#include "library/block/block.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	HgBlockRequest req;
	struct iovec iov;
} Slot;

typedef struct {
	GMainLoop *loop;
	HgBlockQueue *queue;
	bool write;
	uint64_t image_size;
	uint64_t size;
	uint64_t step;
	uint64_t next_offset;
	uint64_t to_submit;
	uint64_t in_flight;
	int error;
	gint64 end_us;
} Bench;

static void submit(Bench *b, Slot *slot)
{
	slot->req.op = b->write ? HG_BLOCK_WRITE : HG_BLOCK_READ;
	slot->req.offset = b->next_offset;
	b->next_offset = (b->next_offset + b->step) % b->image_size;
	b->to_submit--;
	b->in_flight++;
	hg_block_queue_submit(b->queue, &slot->req);
}

/* Main thread, device lock held. */
static void complete(HgBlockRequest *req, int result)
{
	Slot *slot = (Slot *)req;
	Bench *b = req->opaque;

	b->in_flight--;
	if (result < 0 && !b->error)
		b->error = result;
	if (b->to_submit && !b->error)
		submit(b, slot);
	if (!b->in_flight) {
		b->end_us = g_get_monotonic_time();
		g_main_loop_quit(b->loop);
	}
}

static uint64_t parse_size(const char *text)
{
	char *end;
	uint64_t v = g_ascii_strtoull(text, &end, 0);

	switch (g_ascii_tolower(*end)) {
	case 'k':
		return v << 10;
	case 'm':
		return v << 20;
	case 'g':
		return v << 30;
	case '\0':
		return v;
	}
	fprintf(stderr, "qcow2-io-bench: bad size %s\n", text);
	exit(2);
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	Bench b = {0};
	uint64_t count = 75000, depth = 64, offset = 0; /* qemu-img bench's defaults */
	uint64_t create = 0;
	int pattern = 0;
	int opt;

	b.size = 4096;
	b.step = 0;
	while ((opt = getopt(argc, argv, "wc:d:s:S:o:p:C:")) != -1) {
		switch (opt) {
		case 'C':
			create = parse_size(optarg);
			break;
		case 'w':
			b.write = true;
			break;
		case 'c':
			count = parse_size(optarg);
			break;
		case 'd':
			depth = parse_size(optarg);
			break;
		case 's':
			b.size = parse_size(optarg);
			break;
		case 'S':
			b.step = parse_size(optarg);
			break;
		case 'o':
			offset = parse_size(optarg);
			break;
		case 'p':
			pattern = (int)strtol(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || !count || !depth || !b.size)
		goto usage;
	if (create) {
		if (!hg_block_create_qcow2(argv[optind], create, NULL, 16, &error)) {
			fprintf(stderr, "qcow2-io-bench: %s\n", error->message);
			return 1;
		}
		return 0;
	}
	if (!b.step)
		b.step = b.size;
	depth = MIN(depth, count);

	HgBlockBackend *blk = hg_block_open(argv[optind], !b.write, &error);
	if (!blk) {
		fprintf(stderr, "qcow2-io-bench: %s\n", error->message);
		return 1;
	}
	b.image_size = hg_block_size(blk);
	if (b.image_size < b.size || offset > b.image_size - b.size) {
		fprintf(stderr, "qcow2-io-bench: the image is too small\n");
		return 2;
	}
	/* Guest RAM holds the buffers, as it does for a device. */
	HgMachine *m = hg_machine_new(true, MAX(depth * b.size, 1 << 20), NULL, &error);
	if (!m) {
		fprintf(stderr, "qcow2-io-bench: %s\n", error->message);
		return 1;
	}
	memset(m->memory.base, pattern, depth * b.size);
	b.loop = g_main_loop_new(NULL, FALSE);
	b.queue = hg_block_queue_new(m, blk);
	b.next_offset = offset;
	b.to_submit = count;
	Slot *slots = g_new0(Slot, depth);
	for (uint64_t i = 0; i < depth; i++) {
		slots[i].iov.iov_base = m->memory.base + i * b.size;
		slots[i].iov.iov_len = b.size;
		slots[i].req.iov = &slots[i].iov;
		slots[i].req.iovcnt = 1;
		slots[i].req.complete = complete;
		slots[i].req.opaque = &b;
	}

	printf("Sending %" G_GUINT64_FORMAT " %s requests, %" G_GUINT64_FORMAT
	       " bytes each, %" G_GUINT64_FORMAT
	       " in parallel (starting at offset %" G_GUINT64_FORMAT
	       ", step size %" G_GUINT64_FORMAT ")\n",
	       count, b.write ? "write" : "read", b.size, depth, offset, b.step);
	gint64 start = g_get_monotonic_time();
	g_mutex_lock(&m->device_lock);
	for (uint64_t i = 0; i < depth; i++)
		submit(&b, &slots[i]);
	g_mutex_unlock(&m->device_lock);
	g_main_loop_run(b.loop);
	printf("Run completed in %.6f seconds.\n", (b.end_us - start) / 1e6);

	hg_block_queue_free(b.queue);
	hg_block_close(blk);
	hg_machine_free(m);
	g_main_loop_unref(b.loop);
	g_free(slots);
	if (b.error) {
		fprintf(stderr, "qcow2-io-bench: a request failed: %s\n", g_strerror(-b.error));
		return 1;
	}
	return 0;

usage:
	fprintf(stderr,
		"usage: %s [-w] [-c COUNT] [-d DEPTH] [-s SIZE] [-S STEP] [-o OFFSET] "
		"[-p PATTERN] IMAGE\n       %s -C SIZE IMAGE\n",
		argv[0], argv[0]);
	return 2;
}

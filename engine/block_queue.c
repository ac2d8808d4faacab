/* Worker threads for block I/O (a GThreadPool), completions through an
 * eventfd watched by the main loop.  liburing can replace the workers
 * behind this same interface when the qcow2 benchmarks ask for it. */
#include "engine/block_queue.h"

#include <errno.h>
#include <glib-unix.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BLOCK_WORKERS 4

struct HgBlockQueue {
	HgMachine *machine;
	HgBlockBackend *backend;
	GThreadPool *pool;
	int done_fd; /* eventfd: completions are waiting */
	guint done_watch;

	GMutex lock; /* guards done and in_flight */
	GCond idle;
	HgBlockRequest *done; /* completed, not yet reported (LIFO; order is free) */
	unsigned in_flight; /* submitted, not yet completed by a worker */
};

static GPtrArray *all_queues; /* of every machine; engines have one machine */

static void block_worker(gpointer data, gpointer user_data)
{
	HgBlockRequest *req = data;
	HgBlockQueue *q = user_data;
	HgBlockBackend *blk = q->backend;
	int r;

	switch (req->op) {
	case HG_BLOCK_READ:
		r = hg_block_readv(blk, req->offset, req->iov, req->iovcnt);
		break;
	case HG_BLOCK_WRITE:
		r = hg_block_writev(blk, req->offset, req->iov, req->iovcnt);
		break;
	case HG_BLOCK_FLUSH:
		r = hg_block_flush(blk);
		break;
	case HG_BLOCK_DISCARD:
		r = hg_block_discard(blk, req->offset, req->len);
		break;
	case HG_BLOCK_WRITE_ZEROES:
		r = hg_block_write_zeroes(blk, req->offset, req->len, req->may_unmap);
		break;
	default:
		r = -EINVAL;
	}
	req->result = r;
	g_mutex_lock(&q->lock);
	req->next_done = q->done;
	q->done = req;
	q->in_flight--;
	g_cond_broadcast(&q->idle);
	g_mutex_unlock(&q->lock);
	uint64_t one = 1;
	(void)!write(q->done_fd, &one, sizeof(one));
}

/* Report completed requests; device lock held. */
static void block_queue_report(HgBlockQueue *q)
{
	HgBlockRequest *list;

	g_mutex_lock(&q->lock);
	list = q->done;
	q->done = NULL;
	g_mutex_unlock(&q->lock);
	while (list) {
		HgBlockRequest *req = list;
		list = req->next_done;
		req->complete(req, req->result);
	}
}

static gboolean block_queue_done_ready(int fd, GIOCondition cond, gpointer data)
{
	HgBlockQueue *q = data;
	uint64_t count;

	(void)!read(fd, &count, sizeof(count));
	g_mutex_lock(&q->machine->device_lock);
	block_queue_report(q);
	g_mutex_unlock(&q->machine->device_lock);
	return G_SOURCE_CONTINUE;
}

HgBlockQueue *hg_block_queue_new(HgMachine *m, HgBlockBackend *backend)
{
	HgBlockQueue *q = g_new0(HgBlockQueue, 1);

	q->machine = m;
	q->backend = backend;
	g_mutex_init(&q->lock);
	g_cond_init(&q->idle);
	q->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->pool = g_thread_pool_new(block_worker, q, BLOCK_WORKERS, FALSE, NULL);
	q->done_watch = g_unix_fd_add(q->done_fd, G_IO_IN, block_queue_done_ready, q);
	if (!all_queues)
		all_queues = g_ptr_array_new();
	g_ptr_array_add(all_queues, q);
	return q;
}

static void block_queue_drain(HgBlockQueue *q)
{
	/* A completion may submit the next part of a longer transfer (a
	 * device's scatter list split over several requests): go on until
	 * the queue is idle, so that nothing is in flight afterwards. */
	for (;;) {
		bool idle;

		g_mutex_lock(&q->lock);
		while (q->in_flight)
			g_cond_wait(&q->idle, &q->lock);
		idle = !q->done;
		g_mutex_unlock(&q->lock);
		if (idle)
			break;
		block_queue_report(q);
	}
}

void hg_block_queue_free(HgBlockQueue *q)
{
	if (!q)
		return;
	g_thread_pool_free(q->pool, FALSE, TRUE); /* waits for the workers */
	q->done = NULL; /* nobody is left to tell */
	g_source_remove(q->done_watch);
	close(q->done_fd);
	g_ptr_array_remove(all_queues, q);
	g_mutex_clear(&q->lock);
	g_cond_clear(&q->idle);
	g_free(q);
}

void hg_block_queue_submit(HgBlockQueue *q, HgBlockRequest *req)
{
	g_mutex_lock(&q->lock);
	q->in_flight++;
	g_mutex_unlock(&q->lock);
	g_thread_pool_push(q->pool, req, NULL);
}

unsigned hg_block_queue_in_flight(HgBlockQueue *q)
{
	unsigned n;
	g_mutex_lock(&q->lock);
	n = q->in_flight;
	g_mutex_unlock(&q->lock);
	return n;
}

void hg_machine_drain_io(HgMachine *m)
{
	for (guint i = 0; all_queues && i < all_queues->len; i++) {
		HgBlockQueue *q = g_ptr_array_index(all_queues, i);
		if (q->machine == m)
			block_queue_drain(q);
	}
}

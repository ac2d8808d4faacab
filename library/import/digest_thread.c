/* A digest on another thread (digest_thread.h). */
#include "library/import/digest_thread.h"

struct HgDigestThread {
	GChecksum *checksum;
	GThread *thread;
	GAsyncQueue *chunks; /* GBytes *, then the end mark */
	GAsyncQueue *tokens; /* one per chunk that may wait */
};

/* Pushed after the last chunk. */
static const char end_mark_storage;
#define END_MARK ((gpointer)&end_mark_storage)
#define TOKEN GINT_TO_POINTER(1)

static gpointer digest_run(gpointer data)
{
	HgDigestThread *digest = data;
	gpointer item;

	while ((item = g_async_queue_pop(digest->chunks)) != END_MARK) {
		gsize length;
		const guint8 *bytes = g_bytes_get_data(item, &length);
		g_checksum_update(digest->checksum, bytes, length);
		g_bytes_unref(item);
		g_async_queue_push(digest->tokens, TOKEN);
	}
	return NULL;
}

HgDigestThread *hg_digest_thread_new(GChecksumType type)
{
	HgDigestThread *digest = g_new0(HgDigestThread, 1);

	digest->checksum = g_checksum_new(type);
	digest->chunks = g_async_queue_new();
	digest->tokens = g_async_queue_new();
	for (unsigned i = 0; i < HG_DIGEST_THREAD_QUEUE; i++)
		g_async_queue_push(digest->tokens, TOKEN);
	digest->thread = g_thread_new("hangar-digest", digest_run, digest);
	return digest;
}

void hg_digest_thread_update(HgDigestThread *digest, const void *data, gsize length)
{
	if (!length)
		return;
	g_async_queue_pop(digest->tokens);
	g_async_queue_push(digest->chunks, g_bytes_new(data, length));
}

static void digest_stop(HgDigestThread *digest)
{
	g_async_queue_push(digest->chunks, END_MARK);
	g_thread_join(digest->thread);
	g_async_queue_unref(digest->chunks);
	g_async_queue_unref(digest->tokens);
}

char *hg_digest_thread_finish(HgDigestThread *digest)
{
	char *hex;

	digest_stop(digest);
	hex = g_strdup(g_checksum_get_string(digest->checksum));
	g_checksum_free(digest->checksum);
	g_free(digest);
	return hex;
}

void hg_digest_thread_cancel(HgDigestThread *digest)
{
	g_free(hg_digest_thread_finish(digest));
}

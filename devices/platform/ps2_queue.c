/* The byte queue of a PS/2 device (see ps2.h). */
#include "devices/platform/ps2.h"

#include <string.h>

#include "devices/device.h"

void ps2_queue_clear(Ps2Queue *q)
{
	memset(q, 0, sizeof(*q));
}

unsigned ps2_queue_room(const Ps2Queue *q)
{
	return PS2_QUEUE_SIZE - q->count;
}

static uint8_t *queue_at(Ps2Queue *q, unsigned i)
{
	return &q->data[(q->head + i) % PS2_QUEUE_SIZE];
}

bool ps2_queue_put_input(Ps2Queue *q, const uint8_t *bytes, unsigned n)
{
	if (n > ps2_queue_room(q))
		return false;
	for (unsigned i = 0; i < n; i++)
		*queue_at(q, q->count++) = bytes[i];
	return true;
}

void ps2_queue_put_reply(Ps2Queue *q, uint8_t byte)
{
	if (q->replies == PS2_QUEUE_SIZE)
		return; /* a host that never reads: the oldest replies stay */
	if (q->count == PS2_QUEUE_SIZE)
		q->count--; /* the newest input byte goes */
	for (unsigned i = q->count; i > q->replies; i--)
		*queue_at(q, i) = *queue_at(q, i - 1);
	*queue_at(q, q->replies) = byte;
	q->replies++;
	q->count++;
}

bool ps2_queue_get(Ps2Queue *q, uint8_t *byte)
{
	if (!q->count)
		return false;
	*byte = q->data[q->head];
	q->head = (q->head + 1) % PS2_QUEUE_SIZE;
	q->count--;
	if (q->replies)
		q->replies--;
	return true;
}

void ps2_queue_drop_input(Ps2Queue *q)
{
	q->count = q->replies;
}

/* Saved oldest first, so the layout in the ring does not matter. */
void ps2_queue_save(const Ps2Queue *q, const char *prefix, GVariantBuilder *b)
{
	uint8_t bytes[PS2_QUEUE_SIZE];
	g_autofree char *queue_key = g_strconcat(prefix, "-queue", NULL);
	g_autofree char *replies_key = g_strconcat(prefix, "-queue-replies", NULL);

	for (unsigned i = 0; i < q->count; i++)
		bytes[i] = q->data[(q->head + i) % PS2_QUEUE_SIZE];
	g_variant_builder_add(b, "{sv}", queue_key, hg_bytes_variant(bytes, q->count));
	g_variant_builder_add(b, "{sv}", replies_key, g_variant_new_byte(q->replies));
}

bool ps2_queue_load(Ps2Queue *q, const char *prefix, GVariantDict *r, GError **error)
{
	g_autofree char *queue_key = g_strconcat(prefix, "-queue", NULL);
	g_autofree char *replies_key = g_strconcat(prefix, "-queue-replies", NULL);
	size_t n;
	uint8_t replies;

	ps2_queue_clear(q);
	if (!hg_record_bytes_max(r, queue_key, q->data, PS2_QUEUE_SIZE, &n, error) ||
	    !hg_record_u8(r, replies_key, &replies, error))
		return false;
	if (replies > n) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: more replies (%u) than queued bytes (%zu)", replies_key, replies,
			    n);
		return false;
	}
	q->count = n;
	q->replies = replies;
	return true;
}

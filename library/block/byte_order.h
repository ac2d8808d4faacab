/* Little- and big-endian fields read from image headers, at any alignment
 * (the image formats' structures are packed). */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t hg_le16_at(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return GUINT16_FROM_LE(v);
}

static inline uint32_t hg_le32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return GUINT32_FROM_LE(v);
}

static inline uint64_t hg_le64_at(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return GUINT64_FROM_LE(v);
}

static inline uint32_t hg_be32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return GUINT32_FROM_BE(v);
}

static inline uint64_t hg_be64_at(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return GUINT64_FROM_BE(v);
}

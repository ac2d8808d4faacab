/* A digest computed on another thread while the caller goes on reading
 * and writing: an appliance's disks are checked against its manifest at no
 * cost in time where a second CPU is free (GLib's SHA-256 runs at about
 * the speed a VMDK inflates).  At most HG_DIGEST_THREAD_QUEUE chunks wait:
 * a producer faster than the digest waits for it. */
#pragma once

#include <glib.h>

#define HG_DIGEST_THREAD_QUEUE 32u

typedef struct HgDigestThread HgDigestThread;

HgDigestThread *hg_digest_thread_new(GChecksumType type);
/* Copies data (any length) for the digest. */
void hg_digest_thread_update(HgDigestThread *digest, const void *data, gsize length);
/* Waits for the digest of everything given and frees digest: hex. */
char *hg_digest_thread_finish(HgDigestThread *digest);
/* Stops and frees it, the digest unwanted. */
void hg_digest_thread_cancel(HgDigestThread *digest);

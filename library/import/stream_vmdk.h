/* A streamOptimized VMDK read front to back (an OVA's disks, which sit in
 * a tar whose entries can only be read in order) and written as a qcow2
 * image.  Nothing is seeked: the grains are inflated as they arrive and
 * written where they belong; the grain tables are not needed for that.
 * Every field the stream holds is checked before it is used, and the
 * disk's capacity is checked against a limit before anything is written. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <stdbool.h>

/* Reads up to length bytes of the stream into buffer: the count (1 to
 * length; fewer than asked is fine anywhere), 0 at the end of the stream,
 * -1 with error set. */
typedef gssize (*HgStreamReadFunc)(gpointer user_data, void *buffer, gsize length, GError **error);

/* Do the first bytes (a sector is enough) start a streamOptimized VMDK: a
 * KDMV sparse header whose flags say compressed grains behind markers,
 * compressed with deflate?  The version is left to the import, which names
 * what it does not support. */
bool hg_stream_vmdk_detect(const guint8 *head, gsize length);

/* Reads the whole stream and writes the disk at target (a new qcow2 file;
 * it must not exist), as large as the header's capacity.  head (may be
 * NULL when head_length is 0) holds the stream's first bytes when the
 * caller already read them to detect it; read gives the rest.  A capacity
 * above max_capacity bytes (at most HG_STREAM_DISK_MAX, stream_disk.h) is
 * refused before target is created.  On any failure
 * (G_IO_ERROR_INVALID_DATA for a broken stream, _NOT_SUPPORTED for other
 * VMDK variants, _CANCELLED, or read's own error) target is removed, if it
 * was created.  The stream is read up to its end-of-stream marker, not
 * past it. */
bool hg_stream_vmdk_import(const void *head, gsize head_length, HgStreamReadFunc read,
			   gpointer user_data, const char *target, guint64 max_capacity,
			   GCancellable *cancellable, GError **error);

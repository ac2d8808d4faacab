/* A disk written front to back from a stream whose length is not known in
 * advance (a decompressing reader, an archive entry): a qcow2 image that
 * grows as data arrives.  Blocks of zeroes are not written, so a sparse
 * image stays sparse however it was packed; the free space is watched as
 * it fills, and an image that expands past HG_STREAM_DISK_MAX is stopped
 * (a decompression bomb, or not a disk). */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <stdbool.h>

#define HG_STREAM_DISK_MAX (G_GUINT64_CONSTANT(16) << 40)

typedef struct HgStreamDisk HgStreamDisk;

/* Creates path (which must not exist) as an empty qcow2 image. */
HgStreamDisk *hg_stream_disk_new(const char *path, GError **error);
/* Appends len bytes. */
bool hg_stream_disk_write(HgStreamDisk *disk, const void *data, size_t len, GError **error);
/* The bytes written so far. */
guint64 hg_stream_disk_length(HgStreamDisk *disk);
/* The disk's size becomes the bytes written, rounded up to a whole sector;
 * everything is synced and closed.  An empty stream is an error. */
bool hg_stream_disk_finish(HgStreamDisk *disk, GError **error);
/* Closes and removes the image (after an error or a cancel). */
void hg_stream_disk_abort(HgStreamDisk *disk);

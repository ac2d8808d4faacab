/* A disk written front to back from a stream whose length is not known in
 * advance (a decompressing reader, an archive entry): a qcow2 image that
 * grows as data arrives.  Blocks of zeroes are not written, so a sparse
 * image stays sparse however it was packed; the free space is watched as
 * it fills, and an image that expands past its maximum length is stopped
 * (a decompression bomb, or not a disk).
 *
 * Formats that place their data themselves (a streamOptimized VMDK's
 * grains) write at offsets instead: mostly ascending, where they cost what
 * appends do, but any order works. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <stdbool.h>

/* The usual maximum length: far above any real disk. */
#define HG_STREAM_DISK_MAX (G_GUINT64_CONSTANT(16) << 40)

typedef struct HgStreamDisk HgStreamDisk;

/* Creates path (which must not exist) as an empty qcow2 image that takes
 * at most max_length bytes of disk (HG_STREAM_DISK_MAX, or less). */
HgStreamDisk *hg_stream_disk_new(const char *path, guint64 max_length, GError **error);
/* Appends len bytes after the last ones written. */
bool hg_stream_disk_write(HgStreamDisk *disk, const void *data, size_t len, GError **error);
/* Writes len bytes at offset; what follows appends after them.  A range
 * written twice holds the last data written there, zeroes included. */
bool hg_stream_disk_write_at(HgStreamDisk *disk, guint64 offset, const void *data, size_t len,
			     GError **error);
/* The end of the furthest bytes written so far. */
guint64 hg_stream_disk_length(HgStreamDisk *disk);
/* Fixes the disk's final size (a multiple of 512, at most the maximum
 * length, not below what is written): finish gives it this size however
 * much was written, and writes past it fail from now on. */
bool hg_stream_disk_set_size(HgStreamDisk *disk, guint64 size, GError **error);
/* The disk's size becomes the one set, else the bytes written rounded up
 * to a whole sector; everything is synced and closed.  An empty stream
 * (nothing written, no size set) is an error.  On failure the image is
 * removed, as by abort. */
bool hg_stream_disk_finish(HgStreamDisk *disk, GError **error);
/* Closes and removes the image (after an error or a cancel). */
void hg_stream_disk_abort(HgStreamDisk *disk);

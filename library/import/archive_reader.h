/* A compressed file or an archive read front to back through libarchive,
 * entry by entry, for import (import_archive.c, import_ova.c).
 *
 * Entry names are only read, never used to write anything; entries with
 * absolute names, ".." or links are still refused by name, since an
 * archive that has them is not one to trust.  Errors are HG_VM_ERROR
 * (INVALID, UNSUPPORTED, IO) naming the file and the entry, or
 * G_IO_ERROR_CANCELLED / _NO_SPACE. */
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include "library/import/import_private.h"

/* What is peeked of each entry to tell what it holds. */
#define HG_ARCHIVE_PEEK_BYTES 4096u

struct HgArchiveReader {
	struct archive *a;
	int fd;
	const char *path; /* the file imported */
	char *base; /* its name, for messages */
	guint64 file_size;
	bool single; /* a compressed file: one stream, no archive entries */
	bool compressed; /* opened as HG_IMPORT_KIND_COMPRESSED */
	bool raw_only; /* ... and read with libarchive's raw format alone */
	bool entry_seen; /* next found a header (an entry, or passed one over) */
	GCancellable *cancellable;
	HgBlockProgressFunc progress;
	gpointer user_data;
	/* The current entry and its first bytes. */
	struct archive_entry *entry;
	guint8 head[HG_ARCHIVE_PEEK_BYTES];
	gsize head_length;
	struct HgDigestThread *digest; /* of the current entry's bytes, when asked for */
	struct NestedSource *nested; /* hg_archive_reader_open_nested's */
};

/* Opens path; kind (HG_IMPORT_KIND_ARCHIVE or _COMPRESSED) says whether a
 * stream that is not an archive is one disk (for a compressed file, one
 * that reads as an empty archive is one too).  Free with
 * hg_archive_reader_close (also after a failed open). */
bool hg_archive_reader_open(HgArchiveReader *r, const char *path, HgImportKind kind,
			    GCancellable *cancellable, HgBlockProgressFunc progress,
			    gpointer user_data, GError **error);
void hg_archive_reader_close(HgArchiveReader *r);
/* Opens inner on the current entry of outer, decompressed (an OVA's
 * ovf:compression): one stream, read through outer (its progress and
 * digest go on), named "what" in messages.  An entry that is not
 * compressed fails. */
bool hg_archive_reader_open_nested(HgArchiveReader *inner, HgArchiveReader *outer, const char *what,
				   GError **error);

/* The next regular file (other types are passed over), its first bytes
 * peeked: 1, 0 at the end of the archive, -1 with error set (a refused
 * name or link, a broken archive, cancel). */
int hg_archive_reader_next(HgArchiveReader *r, GError **error);
const char *hg_archive_reader_name(HgArchiveReader *r);
/* The size the archive gives the entry, or -1 (a compressed stream). */
gint64 hg_archive_reader_size(HgArchiveReader *r);

/* Reads up to length more bytes of the current entry (after the head):
 * the count, 0 at its end, -1 with error set.  Reports progress. */
gssize hg_archive_reader_read(HgArchiveReader *r, void *buffer, gsize length, GError **error);

/* Digests the current entry's bytes from its start, as they are read. */
void hg_archive_reader_digest_start(HgArchiveReader *r, GChecksumType type);
/* Reads what is left of the entry and returns its digest (hex), or NULL
 * with error set. */
char *hg_archive_reader_digest_finish(HgArchiveReader *r, GError **error);

/* What the current entry holds, from its first bytes. */
typedef enum {
	HG_ARCHIVE_ENTRY_RAW, /* no known mark: a raw disk, if anything */
	HG_ARCHIVE_ENTRY_STREAM_VMDK, /* a streamOptimized VMDK */
	HG_ARCHIVE_ENTRY_OTHER_FORMAT, /* an image format that needs random access */
	HG_ARCHIVE_ENTRY_OVF, /* an OVF descriptor (XML) */
} HgArchiveEntryKind;
HgArchiveEntryKind hg_archive_reader_classify(HgArchiveReader *r, const char **format);

/* The current entry written to target as a qcow2 image: a raw disk or a
 * streamOptimized VMDK, told apart by its first bytes.  Anything else is
 * HG_VM_ERROR_UNSUPPORTED.  For a raw stream that turns out shorter than
 * min_raw_bytes or not whole sectors, *not_a_disk is set and nothing is
 * left (no error).  On failure target is removed. */
bool hg_archive_reader_write_disk(HgArchiveReader *r, const char *target, guint64 max_bytes,
				  guint64 min_raw_bytes, bool *not_a_disk, GError **error);

/* Sets error to HG_VM_ERROR_INVALID: "FILE: ENTRY: what". */
bool hg_archive_reader_fail(HgArchiveReader *r, GError **error, const char *format, ...)
	G_GNUC_PRINTF(3, 4);

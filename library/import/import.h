/* Import: a file from elsewhere becomes a ready-to-run VM in the library.
 *
 * What a file is comes from its content (magic numbers), never its name:
 * an installer ISO (for the create wizard), a disk image the image layer
 * opens (raw, qcow2, and the read-only import formats), or an archive or
 * compressed file.  A disk image becomes a VM with defaults that suit it
 * (firmware from its partition table: UEFI when it boots from an EFI
 * system partition only) and its disk as the first boot device on SATA,
 * which every OS drives without extra drivers.
 *
 * The VM is made in a hidden staging folder and appears in the library
 * only when complete; a failure or cancel removes every partial file.  The
 * disk copy checks free space first (hg_block_convert). */
#pragma once

#include <gio/gio.h>
#include <glib.h>

#include "library/block/block.h"
#include "library/vm/vm_library.h"

typedef enum {
	HG_IMPORT_KIND_DISK, /* a disk image the image layer opens */
	HG_IMPORT_KIND_ISO, /* an ISO 9660 image: installation media */
	HG_IMPORT_KIND_ARCHIVE, /* tar (OVA), zip */
	HG_IMPORT_KIND_COMPRESSED, /* gzip, xz, zstd, bzip2 */
	HG_IMPORT_KIND_OVF, /* an OVF descriptor, its disks in the same folder */
} HgImportKind;

/* Looks at the file's first bytes.  *format (may be NULL) is the image
 * layer's format name for a disk ("raw", "qcow2", ...), or the archive or
 * compression name ("gzip", "tar", ...); free it.  An error when the file
 * cannot be read, is empty, or is not plausibly a disk (a raw image whose
 * size is not a whole number of 512-byte sectors). */
bool hg_import_identify(const char *path, HgImportKind *kind, char **format, GError **error);

typedef enum {
	HG_IMPORT_COPY, /* a qcow2 copy in the VM's folder (any format) */
	HG_IMPORT_IN_PLACE, /* the image where it is (raw and qcow2 only) */
	HG_IMPORT_OVERLAY, /* a qcow2 overlay whose backing file is the image (qcow2, raw) */
} HgImportMode;

typedef struct {
	const char *name; /* NULL: from the file's name ("debian.qcow2" -> "debian") */
	HgImportMode mode;
	bool unique_name; /* a name that is taken gets " 2", " 3"... (else: an error) */
	/* When not NULL: what the import could not carry over (an appliance's
	 * network adapters, a manifest it could not check), one sentence each
	 * (char *, the array's to free), for the user. */
	GPtrArray *notes;
} HgImportOptions;

/* The VM a file becomes: a disk image (as options say), or the raw disk
 * images in a compressed file or a tar/zip archive (streamed into qcow2,
 * copy mode only; other formats inside are refused for now).  An ISO is
 * refused: it is installation media for the create wizard.  progress (may
 * be NULL) is called from the calling thread while disks are written (for
 * archives: bytes of the file read). */
HgVmEntry *hg_import_disk_image(HgVmLibrary *lib, const char *path, const HgImportOptions *options,
				GCancellable *cancellable, HgBlockProgressFunc progress,
				gpointer user_data, GError **error);

/* The firmware a disk boots with, from its partition table: UEFI when it
 * has a GPT with an EFI system partition and no BIOS boot partition, else
 * BIOS. */
HgFirmware hg_import_guess_firmware(HgBlockBackend *disk);

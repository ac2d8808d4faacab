/* HangarImport: one file being imported as a VM, as the app runs it.
 *
 * Lives on the main thread; the work (telling what the file is, then
 * hg_import_disk_image) happens in GTask threads with their own
 * HgVmLibrary (vm_library.h: one per thread).  The steps:
 *
 *   CHECKING  the file's first bytes are read (hg_import_identify);
 *   ASKING    a raw or qcow2 image, which can also be used in place or
 *             under an overlay: waiting for hangar_import_start with the
 *             mode the user chose;
 *   WORKING   the VM is being made (the disk copied), with progress;
 *   DONE      the VM is in the library (hangar_import_get_vm_id);
 *   FAILED    nothing was made: hangar_import_get_error says why;
 *   CANCELLED nothing was made.
 *
 * Any other file (another disk format, and the ones the library refuses:
 * archives, compressed images, ISOs) goes from CHECKING straight on to a
 * copy, so that the library's own message says why it cannot be imported.
 * The VM is named after the file; a name taken gets " 2", " 3"... */
#pragma once

#include <gio/gio.h>

#include "library/import/import.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_IMPORT (hangar_import_get_type())
G_DECLARE_FINAL_TYPE(HangarImport, hangar_import, HANGAR, IMPORT, GObject)

typedef enum {
	HANGAR_IMPORT_CHECKING,
	HANGAR_IMPORT_ASKING,
	HANGAR_IMPORT_WORKING,
	HANGAR_IMPORT_DONE,
	HANGAR_IMPORT_FAILED,
	HANGAR_IMPORT_CANCELLED,
} HangarImportState;

/* Signal "changed": the state or the progress changed. */

/* Starts checking file at once.  library_root: the library's folder. */
HangarImport *hangar_import_new(const char *library_root, GFile *file);
/* From ASKING: make the VM with the disk used as mode says. */
void hangar_import_start(HangarImport *import, HgImportMode mode);
/* Stops the work (the library removes what was made); CANCELLED when the
 * thread has stopped, or at once before the work started. */
void hangar_import_cancel(HangarImport *import);

GFile *hangar_import_get_file(HangarImport *import);
/* The file's name as the user knows it ("debian-12.qcow2"). */
const char *hangar_import_get_display_name(HangarImport *import);
HangarImportState hangar_import_get_state(HangarImport *import);
/* The image's format ("raw", "qcow2", ...) once checked, else NULL. */
const char *hangar_import_get_format(HangarImport *import);
HgImportMode hangar_import_get_mode(HangarImport *import);
/* Bytes of the disk done and in all, while WORKING (0 of 0 before the copy
 * reports). */
void hangar_import_get_progress(HangarImport *import, guint64 *done, guint64 *total);
/* Bytes a second over the last few seconds, or 0 while there are too few
 * reports to tell. */
double hangar_import_get_rate(HangarImport *import);
const char *hangar_import_get_error(HangarImport *import);
const char *hangar_import_get_vm_id(HangarImport *import);
/* When DONE: what the import could not carry over (an appliance's network
 * adapters...), for the user, or NULL. */
const char *hangar_import_get_notes(HangarImport *import);

G_END_DECLS

/* What library/import's files share (not for the app). */
#pragma once

#include "library/import/import.h"

/* The disk format a file's first bytes name ("QCOW2", "VMDK", "VDI", "VHD",
 * "VHDX"), or NULL (raw, or not a disk). */
const char *hg_import_disk_magic(const guint8 *head, gsize length);

/* The new VM's name: the option, else the file's name without extensions. */
char *hg_import_vm_name(const char *path, const HgImportOptions *options);
/* HG_VM_ERROR_INVALID or _EXISTS when name cannot be the new VM's. */
bool hg_import_check_name(HgVmLibrary *lib, const char *name, GError **error);
/* A hidden staging folder in the library, and its removal. */
char *hg_import_make_staging(HgVmLibrary *lib, GError **error);
void hg_import_remove_staging(const char *staging);
/* Writes vm.json into staging (the import defaults; disks: paths, the first
 * boots; firmware from the first disk's partition table) and publishes the
 * folder.  On failure the caller removes staging.  Every disk is a qcow2
 * image the import made; hg_import_publish_formats gives each disk's format
 * (formats[i] for disks[i]: an image used in place keeps its own). */
HgVmEntry *hg_import_publish(HgVmLibrary *lib, const char *staging, const char *name,
			     GPtrArray *disks, GError **error);
HgVmEntry *hg_import_publish_formats(HgVmLibrary *lib, const char *staging, const char *name,
				     GPtrArray *disks, const char *const *formats, GError **error);

/* import_archive.c: a compressed image or an archive of raw disk images. */
HgVmEntry *hg_import_archive(HgVmLibrary *lib, const char *path, HgImportKind kind,
			     const HgImportOptions *options, GCancellable *cancellable,
			     HgBlockProgressFunc progress, gpointer user_data, GError **error);

/* What library/import's files share (not for the app). */
#pragma once

#include "library/import/import.h"
#include "library/import/ovf.h"
#include "library/os/os_detect.h"

/* The disk format a file's first bytes name ("QCOW2", "VMDK", "VDI", "VHD",
 * "VHDX"), or NULL (raw, or not a disk). */
const char *hg_import_disk_magic(const guint8 *head, gsize length);

/* Is this the start of an OVF descriptor (XML, an OVF Envelope)? */
bool hg_import_looks_like_ovf(const guint8 *head, gsize length);
/* An image copy's error (local, taken) as import reports it: cancel as
 * is, a full disk HG_VM_ERROR_IO, the rest HG_VM_ERROR_INVALID.  False. */
bool hg_import_convert_failed(GError **error, GError *local);
/* Adds a note for the user to options->notes, when asked for. */
void hg_import_note(const HgImportOptions *options, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* HG_VM_ERROR_UNSUPPORTED when the image at path names a backing file
 * outside its own folder. */
bool hg_import_backing_file_acceptable(const char *path, GError **error);

/* The new VM's name: the option, else the file's name without extensions. */
char *hg_import_vm_name(const char *path, const HgImportOptions *options);
/* HG_VM_ERROR_INVALID or _EXISTS when name cannot be the new VM's. */
bool hg_import_check_name(HgVmLibrary *lib, const char *name, GError **error);
/* name, or with options->unique_name and name taken, "name 2", "name 3"...:
 * the new VM's name, or NULL with hg_import_check_name's error. */
char *hg_import_choose_name(HgVmLibrary *lib, const char *name, const HgImportOptions *options,
			    GError **error);
/* A hidden staging folder in the library, and its removal. */
char *hg_import_make_staging(HgVmLibrary *lib, GError **error);
void hg_import_remove_staging(const char *staging);
/* What an appliance says about its VM (import_ova.c); zero and NULL keep
 * the import defaults. */
typedef struct {
	guint cpus;
	guint64 memory_mib;
	bool efi; /* UEFI; else the firmware is guessed from the first disk */
	HgOsGuess *os; /* owned by the caller */
} HgImportHints;

/* Writes vm.json into staging (the import defaults, or what hints (may be
 * NULL) say; disks: paths, the first boots; unless hints say UEFI, the
 * firmware comes from the first disk's partition table) and publishes the
 * folder.  formats[i] is disks[i]'s format (an image used in place keeps
 * its own); NULL: every disk is a qcow2 image the import made.  On failure
 * the caller removes staging. */
HgVmEntry *hg_import_publish(HgVmLibrary *lib, const char *staging, const char *name,
			     GPtrArray *disks, const char *const *formats,
			     const HgImportHints *hints, GError **error);

/* import_archive.c: a compressed image or an archive of disk images. */
HgVmEntry *hg_import_archive(HgVmLibrary *lib, const char *path, HgImportKind kind,
			     const HgImportOptions *options, GCancellable *cancellable,
			     HgBlockProgressFunc progress, gpointer user_data, GError **error);

/* import_ova.c: the VM of an OVA whose current entry (the first) is its OVF
 * descriptor.  Reads the rest of the archive: the disks the OVF names go
 * to staging as disk.qcow2, disk-2.qcow2, ... in the OVF's order (their
 * names added to disks); *name is the VM's name (the option's, else the
 * OVF's, checked against the library); hints what the OVF says. */
typedef struct HgArchiveReader HgArchiveReader;
bool hg_import_ova(HgVmLibrary *lib, HgArchiveReader *r, const HgImportOptions *options,
		   const char *staging, GPtrArray *disks, char **name, HgImportHints *hints,
		   GError **error);

/* import_ovf.c: an OVF descriptor and the disk images beside it. */
HgVmEntry *hg_import_ovf_folder(HgVmLibrary *lib, const char *path, const HgImportOptions *options,
				GCancellable *cancellable, HgBlockProgressFunc progress,
				gpointer user_data, GError **error);
/* What an OVF says of the VM, and its name (import_ova.c); whether its
 * disks make a VM here (at least one, at most HG_IMPORT_MAX_DISKS). */
bool hg_import_ovf_disks_acceptable(const HgOvf *ovf, const char *base, GError **error);
/* The most a disk of the descriptor may expand to: its capacity (and a
 * little), so that a small appliance cannot fill the host's disk. */
guint64 hg_import_ovf_disk_max_bytes(const HgOvfDisk *disk);
/* An OVF disk without a file: an empty qcow2 image of its capacity. */
bool hg_import_make_empty_disk(const HgOvfDisk *disk, const char *target, GError **error);
void hg_import_hints_from_ovf(const HgOvf *ovf, const HgImportOptions *options,
			      HgImportHints *hints);
char *hg_import_name_from_ovf(HgVmLibrary *lib, const char *path, const HgImportOptions *options,
			      const HgOvf *ovf, GError **error);

/* The file name of the VM's disk n (0: "disk.qcow2", 1: "disk-2.qcow2"). */
char *hg_import_disk_file_name(guint n);
/* The most disks an imported VM gets. */
#define HG_IMPORT_MAX_DISKS 12u

/* The VM library: one folder per VM under $XDG_DATA_HOME/hangar/vms/.
 *
 *   vms/<vm-id>/vm.json        the configuration (vm_config.h)
 *   vms/<vm-id>/disk.img ...   disks the VM owns (relative paths in vm.json)
 *   vms/<vm-id>/OVMF_VARS.fd   the UEFI variable store (UEFI VMs)
 *
 * The vm-id is the folder's name: made from the VM's first name (lowercase
 * letters, digits and '-'), made unique, and never changed by a rename, so
 * the engine's runtime folder ($XDG_RUNTIME_DIR/hangar/<vm-id>/) stays put.
 *
 * A folder that cannot be loaded (vm.json missing, corrupt, half-written,
 * invalid) is listed as broken, with the reason, and left untouched: never
 * rewritten, never deleted by anything but an explicit delete.  A VM being
 * created lives in a hidden ".new-*" folder until it is complete, so a crash
 * mid-creation never shows a half-made VM (and the next open leaves the
 * hidden folder alone).
 *
 * Not thread-safe: one HgVmLibrary per thread. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <stdbool.h>

#include "library/vm/vm_config.h"

typedef struct HgVmLibrary HgVmLibrary;

typedef struct {
	char *id; /* the folder's name */
	char *dir; /* its full path */
	HgVmConfig *config; /* NULL when broken */
	GError *error; /* why it is broken; NULL otherwise */
} HgVmEntry;

void hg_vm_entry_free(HgVmEntry *entry);
HgVmEntry *hg_vm_entry_copy(const HgVmEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgVmEntry, hg_vm_entry_free)
/* A disk's path made absolute (relative ones are inside entry->dir);
 * NULL for an empty drive. */
char *hg_vm_entry_resolve(const HgVmEntry *entry, const char *path);

/* root: the folder that holds vms/ (NULL: $XDG_DATA_HOME/hangar).  Creates
 * root/vms (mode 0700) when missing. */
HgVmLibrary *hg_vm_library_open(const char *root, GError **error);
void hg_vm_library_free(HgVmLibrary *lib);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgVmLibrary, hg_vm_library_free)
const char *hg_vm_library_root(HgVmLibrary *lib);

/* Every VM folder, broken ones included, sorted by name (case-folded;
 * broken ones by id).  Reads the folders again on every call.  A GPtrArray
 * of HgVmEntry * that frees them. */
GPtrArray *hg_vm_library_list(HgVmLibrary *lib);
/* By vm-id first, then by exact name, then by case-insensitive name;
 * HG_VM_ERROR_AMBIGUOUS when a name matches several.  Broken entries are
 * returned too (check entry->error). */
HgVmEntry *hg_vm_library_lookup(HgVmLibrary *lib, const char *id_or_name, GError **error);

/* A new VM folder holding config (copied).  The name must be unique
 * (HG_VM_ERROR_EXISTS, compared case-insensitively).  Disks with relative
 * paths are not checked here: make them with hg_vm_library_create_disk, or
 * use create_with_disk, which makes one sparse disk (disk_name, a plain file
 * name, of disk_size bytes) in the hidden staging folder, so that the VM
 * appears complete with its disk or not at all. */
HgVmEntry *hg_vm_library_create(HgVmLibrary *lib, const HgVmConfig *config, GError **error);
HgVmEntry *hg_vm_library_create_with_disk(HgVmLibrary *lib, const HgVmConfig *config,
					  const char *disk_name, guint64 disk_size, GError **error);
/* A new disk image of size bytes, name relative to the VM's folder: qcow2
 * when the name ends in ".qcow2", else a sparse raw file; refuses to
 * overwrite.  Checks free space against nothing: both start nearly empty.
 * The caller records the format in its disk (hg_vm_disk_set_format).
 * (create_with_disk makes its disk the same way, and sets the format of
 * the configuration's disks whose path is disk_name.) */
bool hg_vm_library_create_disk(HgVmLibrary *lib, const HgVmEntry *entry, const char *name,
			       guint64 size, GError **error);
/* Records the format of every disk of entry that has none (a vm.json
 * written before Hangar recorded formats, vm_config.h): read once from the
 * image's first bytes (hg_block_probe_format), set in entry->config and
 * saved to vm.json, so that the content never decides again.  vm.json is
 * read afresh and only those formats change in it, so a stale
 * entry->config never undoes newer settings.  hg_engine_start calls it
 * before each start.  Errors: HG_VM_ERROR_NOT_FOUND for a missing image,
 * HG_VM_ERROR_UNSUPPORTED for an image a VM cannot write (VMDK, VDI, ...:
 * import it), HG_VM_ERROR_IO. */
bool hg_vm_entry_record_disk_formats(HgVmEntry *entry, GError **error);
/* Writes entry->config (validated first) atomically. */
bool hg_vm_library_save(HgVmLibrary *lib, const HgVmEntry *entry, GError **error);
/* Changes the name (unique in the library), not the vm-id. */
bool hg_vm_library_rename(HgVmLibrary *lib, HgVmEntry *entry, const char *new_name, GError **error);
/* A full copy under new_name: the folder's files copied (sparse files stay
 * sparse), a new UUID; absolute (in-place) disk paths stay shared only when
 * read-only, else the copy is refused (HG_VM_ERROR_INVALID with the reason).
 * Refused while the VM runs.  Built in a hidden folder, renamed when done. */
HgVmEntry *hg_vm_library_duplicate(HgVmLibrary *lib, const HgVmEntry *entry, const char *new_name,
				   GCancellable *cancellable, GError **error);

typedef enum {
	HG_VM_DELETE_TO_TRASH, /* the folder goes to the desktop's trash (g_file_trash) */
	HG_VM_DELETE_FILES, /* the folder and the files in it are deleted */
} HgVmDeleteMode;
/* Refused while the VM's engine runs (HG_VM_ERROR_RUNNING).  Files outside
 * the folder (images used in place) are never touched. */
bool hg_vm_library_delete(HgVmLibrary *lib, const HgVmEntry *entry, HgVmDeleteMode mode,
			  GError **error);

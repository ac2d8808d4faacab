/* Whole-VM disk operations: turning raw disks into qcow2 (so the VM can
 * take snapshots), full clones and linked clones.
 *
 * A linked clone's disks are qcow2 overlays whose backing file is a frozen
 * copy of the parent's disk at a snapshot: vms/<parent>/snapshots/<id>/
 * base-<n>.qcow2, made once (the first linked clone of that snapshot pays
 * for the copy) and shared by every later one.  A qcow2 backing file cannot
 * name an internal snapshot, so the copy is what lets the parent go on
 * changing, reverting and taking snapshots.  While any VM's disk uses such
 * a base, the parent VM and that snapshot refuse deletion. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <stdbool.h>

#include "library/block/block.h"
#include "library/vm/vm_library.h"

/* Converts every writable raw disk of a stopped VM to qcow2 beside it
 * (disk.img -> disk.qcow2), points vm.json at the new file and removes the
 * old one when it was inside the VM's folder (an image used in place is
 * left untouched: the VM uses the copy in its folder from now on).
 * progress covers all disks together.  Returns how many were converted
 * (0: nothing to do), or -1 on error; a failed or cancelled conversion
 * leaves the VM as it was. */
int hg_vm_convert_disks(HgVmLibrary *lib, HgVmEntry *entry, GCancellable *cancellable,
			HgBlockProgressFunc progress, gpointer user_data, GError **error);

typedef enum {
	HG_VM_CLONE_FULL, /* independent copies of the disks */
	HG_VM_CLONE_LINKED, /* overlays on a frozen copy of the snapshot's disks */
} HgVmCloneMode;

/* A new VM named new_name (a new UUID, otherwise the configuration of the
 * source: the snapshot's when one is given).  snapshot: an id or name of
 * the source's snapshots, or NULL for the VM as it is now (it must be
 * stopped; a linked clone needs a snapshot).  CD-ROMs keep their images;
 * snapshots are not carried over (the clone starts without any). */
HgVmEntry *hg_vm_library_clone(HgVmLibrary *lib, const HgVmEntry *source, const char *snapshot,
			       const char *new_name, HgVmCloneMode mode, GCancellable *cancellable,
			       HgBlockProgressFunc progress, gpointer user_data, GError **error);

/* The names of the VMs whose disks are backed by files in entry's folder
 * (linked clones), or, with snapshot_id, by that snapshot's bases.  An
 * empty array when none. */
GPtrArray *hg_vm_library_dependents(HgVmLibrary *lib, const HgVmEntry *entry,
				    const char *snapshot_id);

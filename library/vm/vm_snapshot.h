/* A VM's snapshots: the tree in snapshots.json and the files of each.
 *
 *   vms/<vm-id>/snapshots.json           the tree (below), written atomically
 *   vms/<vm-id>/snapshots/<id>/vm.json   the configuration when it was taken
 *   vms/<vm-id>/snapshots/<id>/state, ram    live snapshots: the machine
 *   vms/<vm-id>/snapshots/<id>/screen.png    live snapshots: the screen then
 *   vms/<vm-id>/snapshots/<id>/OVMF_VARS.fd  UEFI VMs: the variable store
 *
 * The disks' part is an internal snapshot named "hangar-<id>" in every
 * writable qcow2 disk, so qemu-img lists the same snapshots.  A live
 * snapshot is taken by the running engine (control command snapshot-save);
 * an offline one, of a stopped VM, here.  Revert happens at rest: the disks
 * are rolled back, the configuration and UEFI variables restored, and a
 * live snapshot's machine continues through the engine's --restore.
 *
 * Snapshots form a tree: each has the snapshot the VM was at (the
 * "current" one) as its parent, so a revert followed by a new snapshot
 * starts a branch.  docs/vm-config.md describes snapshots.json. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <stdbool.h>

#include "library/vm/vm_library.h"

typedef struct {
	char *id; /* "1", "2", ...: never reused within a VM */
	char *name;
	char *description; /* "" when none */
	char *parent; /* id, or NULL for a root */
	gint64 created; /* unix seconds */
	bool live; /* the running machine was saved: revert resumes it */
} HgVmSnapshot;

typedef struct {
	GPtrArray *snapshots; /* of HgVmSnapshot *, oldest first */
	char *current; /* the snapshot the VM's present state grew from, or NULL */
	guint64 next_id;
} HgVmSnapshotTree;

void hg_vm_snapshot_tree_free(HgVmSnapshotTree *tree);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgVmSnapshotTree, hg_vm_snapshot_tree_free)

/* The tree of a VM; an empty one when it has never had a snapshot.  A
 * broken snapshots.json is an HG_VM_ERROR_PARSE/_INVALID error. */
HgVmSnapshotTree *hg_vm_snapshots_load(const HgVmEntry *entry, GError **error);
/* By id, then by name (HG_VM_ERROR_AMBIGUOUS when names repeat);
 * HG_VM_ERROR_NOT_FOUND otherwise. */
HgVmSnapshot *hg_vm_snapshot_tree_find(const HgVmSnapshotTree *tree, const char *id_or_name,
				       GError **error);
/* Direct children of id (NULL: the roots), oldest first; a GPtrArray of
 * borrowed pointers. */
GPtrArray *hg_vm_snapshot_tree_children(const HgVmSnapshotTree *tree, const char *id);

/* snapshots/<id> in the VM's folder, and the internal disk snapshot's
 * name. */
char *hg_vm_snapshot_dir(const HgVmEntry *entry, const HgVmSnapshot *snap);
char *hg_vm_snapshot_disk_name(const HgVmSnapshot *snap);
/* The screen when a live snapshot was taken; NULL when there is none. */
char *hg_vm_snapshot_screen(const HgVmEntry *entry, const HgVmSnapshot *snap);

/* Takes a snapshot: live through the engine when the VM runs (or is
 * paused), else offline (disks only).  Every writable disk must be qcow2,
 * else HG_VM_ERROR_UNSUPPORTED names the first that is not (convert it with
 * hg_vm_convert_disks).  Returns the new snapshot (a copy). */
HgVmSnapshot *hg_vm_snapshot_take(HgVmLibrary *lib, const HgVmEntry *entry, const char *name,
				  const char *description, GError **error);
/* Puts the VM back where the snapshot was taken: disks, configuration
 * (the VM keeps its present name) and UEFI variables.  Refused while the
 * VM runs (HG_VM_ERROR_RUNNING).  *live says whether the machine itself
 * was saved: then start it with hg_engine_start_restore on
 * hg_vm_snapshot_dir to continue where it was. */
bool hg_vm_snapshot_revert(HgVmLibrary *lib, HgVmEntry *entry, const char *id_or_name,
			   bool *live, GError **error);
/* Removes a snapshot and returns its space; its children move up to its
 * parent.  Works while the VM runs (the engine deletes the disk part). */
bool hg_vm_snapshot_delete(HgVmLibrary *lib, const HgVmEntry *entry, const char *id_or_name,
			   GError **error);
/* Renames and/or describes (NULL leaves a field as it is). */
bool hg_vm_snapshot_set_info(HgVmLibrary *lib, const HgVmEntry *entry, const char *id_or_name,
			     const char *name, const char *description, GError **error);

void hg_vm_snapshot_free(HgVmSnapshot *snap);
HgVmSnapshot *hg_vm_snapshot_copy(const HgVmSnapshot *snap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgVmSnapshot, hg_vm_snapshot_free)

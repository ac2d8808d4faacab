/* The snapshot operations on a HangarVm, as the app runs them: each is
 * async, does the library's (slow, synchronous) work in a thread with its
 * own HgVmLibrary, and completes on the main thread.
 *
 * Revert is the one with steps on both sides: a running VM is forced off
 * first (the caller has asked the user), the disks are rolled back in the
 * thread, the VM takes the configuration it had then, and a live snapshot's
 * machine continues in an engine HangarVm starts and supervises as it does
 * any other (hangar_vm_start_restore).
 *
 * The completion callback is where the caller reloads the tree; the panel
 * also follows snapshots.json, so changes made elsewhere (hangarctl) show. */
#pragma once

#include <gio/gio.h>

#include "library/vm/vm_snapshot.h"
#include "ui/hangar-vm.h"

G_BEGIN_DECLS

/* Live when the VM runs or is paused, else disks only.  Returns the new
 * snapshot (free with hg_vm_snapshot_free). */
void hangar_snapshot_take_async(HangarVm *vm, const char *name, const char *description,
				GCancellable *cancellable, GAsyncReadyCallback callback,
				gpointer user_data);
HgVmSnapshot *hangar_snapshot_take_finish(HangarVm *vm, GAsyncResult *result, GError **error);

/* Forces a running VM off first (the present state is lost); after a live
 * snapshot the VM runs again from it (*live), else it stays stopped. */
void hangar_snapshot_revert_async(HangarVm *vm, const char *snapshot_id, GCancellable *cancellable,
				  GAsyncReadyCallback callback, gpointer user_data);
gboolean hangar_snapshot_revert_finish(HangarVm *vm, GAsyncResult *result, gboolean *live,
				       GError **error);

/* Its children move up to its parent. */
void hangar_snapshot_delete_async(HangarVm *vm, const char *snapshot_id, GCancellable *cancellable,
				  GAsyncReadyCallback callback, gpointer user_data);
gboolean hangar_snapshot_delete_finish(HangarVm *vm, GAsyncResult *result, GError **error);

/* name and/or description; NULL leaves one as it is. */
void hangar_snapshot_rename_async(HangarVm *vm, const char *snapshot_id, const char *name,
				  const char *description, GCancellable *cancellable,
				  GAsyncReadyCallback callback, gpointer user_data);
gboolean hangar_snapshot_rename_finish(HangarVm *vm, GAsyncResult *result, GError **error);

/* Converts a stopped VM's raw disks to qcow2 (hg_vm_convert_disks), so that
 * it can take snapshots; the VM takes the new configuration.  progress
 * (may be NULL) is called on the main thread with the fraction done, a
 * few times a second; progress_object (a GObject, kept alive meanwhile)
 * is its user data. */
typedef void (*HangarSnapshotProgressFunc)(gdouble fraction, gpointer progress_object);
void hangar_snapshot_convert_async(HangarVm *vm, HangarSnapshotProgressFunc progress,
				   gpointer progress_object, GCancellable *cancellable,
				   GAsyncReadyCallback callback, gpointer user_data);
/* The number of disks converted, or -1 with error set. */
int hangar_snapshot_convert_finish(HangarVm *vm, GAsyncResult *result, GError **error);

/* A new VM from snapshot snapshot_id (hg_vm_library_clone): linked (qcow2
 * overlays on a copy of the snapshot's disks shared by all its linked
 * clones) or full.  progress as for convert.  Returns the new VM's id. */
void hangar_snapshot_clone_async(HangarVm *vm, const char *snapshot_id, const char *new_name,
				 gboolean linked, HangarSnapshotProgressFunc progress,
				 gpointer progress_object, GCancellable *cancellable,
				 GAsyncReadyCallback callback, gpointer user_data);
char *hangar_snapshot_clone_finish(HangarVm *vm, GAsyncResult *result, GError **error);

G_END_DECLS

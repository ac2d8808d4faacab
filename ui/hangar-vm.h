/* HangarVm: one VM of the library as the app sees it — its configuration,
 * its engine (started, reattached or gone), its state and its thumbnail.
 *
 * Lives on the main thread.  The engine runs in its own process (started in
 * its own session, so it outlives the app); HangarVm talks to it through an
 * async HangarControlClient and follows its events.  Everything the user can
 * do to a VM goes through here, so the library page, the VM page and the
 * quit dialog all see one state. */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

#include "library/vm/control_client.h"
#include "library/vm/vm_library.h"
#include "library/vm/vm_runtime.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_VM (hangar_vm_get_type())
G_DECLARE_FINAL_TYPE(HangarVm, hangar_vm, HANGAR, VM, GObject)

/* Properties (all read-only, notify on change):
 *   "id"         string   the vm-id (folder name)
 *   "name"       string   the user's name for it
 *   "os-name"    string   "Debian 12", or NULL
 *   "state"      int      an HgVmState
 *   "busy"       boolean  an operation (start, shut down...) is under way
 *   "problem"    string   why it is broken or why its engine last ended badly
 *                         (with the log's last lines), or NULL
 *   "thumbnail"  GdkPixbuf  the screen a few seconds ago (running VMs), or NULL
 * Signals:
 *   "error" (const char *summary, const char *detail): an operation failed;
 *     the window shows it where the user acted. */

HangarVm *hangar_vm_new(HgVmLibrary *library, const HgVmEntry *entry);

const char *hangar_vm_get_id(HangarVm *vm);
const char *hangar_vm_get_name(HangarVm *vm);
const char *hangar_vm_get_os_name(HangarVm *vm);
HgVmState hangar_vm_get_state(HangarVm *vm);
gboolean hangar_vm_is_active(HangarVm *vm); /* running or paused */
gboolean hangar_vm_is_broken(HangarVm *vm);
gboolean hangar_vm_get_busy(HangarVm *vm);
const char *hangar_vm_get_problem(HangarVm *vm);
/* The state in words for the user ("Running", "Crashed", "Cannot be
 * loaded"...) and a CSS class for it ("vm-state-running"...). */
const char *hangar_vm_describe_state(HangarVm *vm);
const char *hangar_vm_get_state_css_class(HangarVm *vm);
GdkPixbuf *hangar_vm_get_thumbnail(HangarVm *vm);
/* The entry as loaded (its config is NULL when broken). */
const HgVmEntry *hangar_vm_get_entry(HangarVm *vm);
/* The folder of the library it belongs to: a worker thread opens its own
 * HgVmLibrary there (one per thread). */
const char *hangar_vm_get_library_root(HangarVm *vm);
/* The engine's control connection, NULL while stopped. */
HangarControlClient *hangar_vm_get_control(HangarVm *vm);
/* A file in the VM's runtime folder ("spice.sock", "vnc.sock",
 * "serial.sock"). */
char *hangar_vm_get_runtime_file(HangarVm *vm, const char *name);

/* How often the thumbnail of a running VM is refreshed (the
 * "thumbnail-interval" setting). */
void hangar_vm_set_thumbnail_interval(HangarVm *vm, guint seconds);
/* The library re-read the folder: take the new entry (name, config). */
void hangar_vm_update_entry(HangarVm *vm, const HgVmEntry *entry);
/* Look for an engine left running by an earlier app (control.sock) and
 * attach to it. */
void hangar_vm_reattach(HangarVm *vm);

/* The operations.  Each returns at once; failures are emitted as "error"
 * and the state follows the engine's events. */
void hangar_vm_start(HangarVm *vm);
/* Starts the engine continuing a saved machine (a live snapshot's folder,
 * after hg_vm_snapshot_revert said so) instead of booting. */
void hangar_vm_start_restore(HangarVm *vm, const char *restore_dir);
void hangar_vm_pause(HangarVm *vm);
void hangar_vm_resume(HangarVm *vm);
void hangar_vm_shut_down(HangarVm *vm); /* ACPI power button */
void hangar_vm_force_off(HangarVm *vm);  /* the engine quits: like pulling the plug */
void hangar_vm_reset(HangarVm *vm);
/* The guest's screen as a PNG file (screendump), async. */
void hangar_vm_screenshot_async(HangarVm *vm, const char *path, GCancellable *cancellable,
				GAsyncReadyCallback callback, gpointer user_data);
gboolean hangar_vm_screenshot_finish(HangarVm *vm, GAsyncResult *result, GError **error);
/* Save a changed configuration (validated); TRUE if it applies only after
 * the next start (*needs_restart). */
gboolean hangar_vm_save_config(HangarVm *vm, const HgVmConfig *config, gboolean *needs_restart,
			       GError **error);

G_END_DECLS

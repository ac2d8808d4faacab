/* The snapshots panel: one VM's snapshot tree beside its screen, with a
 * thumbnail of each live snapshot and a mark on the one the VM is at, and
 * the buttons to take a snapshot, revert to one, rename and delete.  The
 * VM page shows it with its "Snapshots" toggle. */
#pragma once

#include <gtk/gtk.h>

#include "ui/hangar-vm.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_SNAPSHOTS_PANEL (hangar_snapshots_panel_get_type())
G_DECLARE_FINAL_TYPE(HangarSnapshotsPanel, hangar_snapshots_panel, HANGAR, SNAPSHOTS_PANEL, GtkBox)

GtkWidget *hangar_snapshots_panel_new(void);
/* Shows vm's snapshots (NULL: none).  The tree is read again whenever
 * snapshots.json changes, whoever changed it. */
void hangar_snapshots_panel_set_vm(HangarSnapshotsPanel *panel, HangarVm *vm);

G_END_DECLS

/* "Clone…" from a snapshot: asks for the new VM's name and the kind of
 * clone (linked or full), then makes it with a progress bar, and closes
 * when the new VM is in the library (which shows it by itself). */
#pragma once

#include <gtk/gtk.h>

#include "ui/hangar-vm.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_CLONE_DIALOG (hangar_clone_dialog_get_type())
G_DECLARE_FINAL_TYPE(HangarCloneDialog, hangar_clone_dialog, HANGAR, CLONE_DIALOG, GtkDialog)

/* Signal "cloned" (const char *new_vm_id): the clone exists. */
HangarCloneDialog *hangar_clone_dialog_new(GtkWindow *parent, HangarVm *vm,
					   const char *snapshot_id, const char *snapshot_name);

G_END_DECLS

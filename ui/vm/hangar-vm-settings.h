/* Per-VM settings: name, memory, CPUs, firmware, boot order, disks and
 * CD-ROMs (attach or eject an ISO while the VM runs), display protocol.
 * Changes that need a restart say so. */
#pragma once

#include <gtk/gtk.h>

#include "ui/hangar-vm.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_VM_SETTINGS (hangar_vm_settings_get_type())
G_DECLARE_FINAL_TYPE(HangarVmSettings, hangar_vm_settings, HANGAR, VM_SETTINGS, GtkDialog)

HangarVmSettings *hangar_vm_settings_new(GtkWindow *parent, HangarVm *vm);

/* What "Choose ISO…" (iso_path) and "Eject" (NULL) do once a file is
 * chosen, for the n-th drive of the list as shown (boot order, from 0);
 * FALSE when that drive is not a CD-ROM drive.  While the VM runs the disc
 * changes at once through the control socket and the configuration is
 * saved; otherwise the change waits for Save.  For drag and drop and tests. */
gboolean hangar_vm_settings_set_disc(HangarVmSettings *settings, unsigned n, const char *iso_path);

G_END_DECLS

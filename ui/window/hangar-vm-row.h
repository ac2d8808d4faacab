/* One VM in the library's list: a small thumbnail, name, system, state and quick buttons,
 * and a menu of what can be done with it. */
#pragma once

#include <gtk/gtk.h>

#include "ui/hangar-vm.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_VM_ROW (hangar_vm_row_get_type())
G_DECLARE_FINAL_TYPE(HangarVmRow, hangar_vm_row, HANGAR, VM_ROW, GtkListBoxRow)

HangarVmRow *hangar_vm_row_new(HangarVm *vm);
HangarVm *hangar_vm_row_get_vm(HangarVmRow *row);

G_END_DECLS

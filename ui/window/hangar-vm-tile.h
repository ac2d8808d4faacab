/* One VM in the library's grid: its live thumbnail, name, system and state,
 * and a menu of what can be done with it. */
#pragma once

#include <gtk/gtk.h>

#include "ui/hangar-vm.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_VM_TILE (hangar_vm_tile_get_type())
G_DECLARE_FINAL_TYPE(HangarVmTile, hangar_vm_tile, HANGAR, VM_TILE, GtkBox)

HangarVmTile *hangar_vm_tile_new(HangarVm *vm);
HangarVm *hangar_vm_tile_get_vm(HangarVmTile *tile);

G_END_DECLS

/* The actions on one VM that the library's tiles and rows offer, as a
 * "vm" action group (vm.open, vm.start, vm.pause, vm.resume, vm.shut-down,
 * vm.force-off, vm.reset, vm.rename, vm.duplicate, vm.delete), enabled as
 * the VM's state allows, and the menu that lists them.  Rename, duplicate
 * and delete ask first, in dialogs on the widget's window. */
#pragma once

#include <gtk/gtk.h>

#include "ui/hangar-vm.h"

G_BEGIN_DECLS

/* Inserts the group into owner as "vm"; it lives as long as owner. */
void hangar_vm_actions_install(GtkWidget *owner, HangarVm *vm);
GMenuModel *hangar_vm_actions_menu(void);
/* Gives button the menu, built when it is first opened. */
void hangar_vm_actions_attach_menu(GtkMenuButton *button);
/* The VM's state in label, coloured by its CSS class; for a running VM the
 * system name too ("Debian 12 · Running"). */
void hangar_vm_actions_show_state(GtkLabel *label, HangarVm *vm, gboolean with_os);
/* The thumbnail scaled to fit width x height, or the placeholder icon. */
void hangar_vm_actions_show_thumbnail(GtkImage *image, HangarVm *vm, int width, int height);

G_END_DECLS

/* The VM page: one VM's screen in an embedded viewer (SPICE or VNC, as the
 * VM's configuration says), with its controls — pause/resume, shut down,
 * force off, reset, key combinations, fullscreen, screenshot, serial
 * console, settings.  The window shows it when the user opens a VM. */
#pragma once

#include <gtk/gtk.h>

#include "ui/hangar-vm.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_VM_PAGE (hangar_vm_page_get_type())
G_DECLARE_FINAL_TYPE(HangarVmPage, hangar_vm_page, HANGAR, VM_PAGE, GtkBox)

GtkWidget *hangar_vm_page_new(void);
/* Shows vm (NULL: none; the viewer disconnects).  Connects the viewer when
 * the VM runs, and again whenever it starts. */
void hangar_vm_page_set_vm(HangarVmPage *page, HangarVm *vm);
HangarVm *hangar_vm_page_get_vm(HangarVmPage *page);

G_END_DECLS

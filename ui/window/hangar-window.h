/* The main window: the VM library (grid or list, with search), and one VM's
 * page when the user opens it.  Files dropped on the library, or chosen
 * with Import… (the "win.import" action), are opened as the application
 * opens files (`hangar FILE`): installation discs in the create wizard,
 * disk images imported (hangar_window_import). */
#pragma once

#include <gtk/gtk.h>

#include "ui/hangar-application.h"
#include "ui/hangar-vm.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_WINDOW (hangar_window_get_type())
G_DECLARE_FINAL_TYPE(HangarWindow, hangar_window, HANGAR, WINDOW, GtkApplicationWindow)

HangarWindow *hangar_window_new(HangarApplication *app);
void hangar_window_show_vm(HangarWindow *window, HangarVm *vm);
void hangar_window_show_library(HangarWindow *window);
/* An error bar at the top of the window: a plain summary, and the detail a
 * developer needs (selectable). */
void hangar_window_show_error(HangarWindow *window, const char *summary, const char *detail);
/* Imports a disk image as a new VM, with its progress at the top of the
 * library page, which the window then shows. */
void hangar_window_import(HangarWindow *window, GFile *file);

G_END_DECLS
